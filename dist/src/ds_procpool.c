/* ds_procpool.c: worker processes as local weft nodes (weft_procpool_*).
 *
 * The pool makes a private directory (mkdtemp: 0700) holding an ephemeral
 * key (0600) and one Unix socket path per child, starts the children, and
 * runs a cluster over "unix:DIR/wN.sock". Everything that touches the
 * children happens on one watcher thread:
 *
 * - it forks them (so PR_SET_PDEATHSIG, which fires when the thread that
 *   forked the child ends, is tied to the pool's life, not to whichever
 *   application thread called create);
 * - every WATCH_MS it reaps the exited ones with waitpid(pid, WNOHANG) (one
 *   pid at a time: never waitpid(-1), which would steal the application's
 *   own children), removes the stale socket file and schedules a restart
 *   after the child's backoff;
 * - at free it sends SIGTERM, waits term_grace_s, sends SIGKILL to the
 *   rest and reaps each one.
 *
 * Between fork and exec the child calls only async-signal-safe functions
 * (prctl, getppid, sigaction, sigprocmask, dup2, execvp, _exit): the
 * parent may be multithreaded (a Python interpreter), and anything that
 * takes a lock there could deadlock on a lock held by another thread at
 * the fork. The argument vectors are therefore built before the fork.
 *
 * Signals go through a pidfd taken right after the fork (pidfd_open,
 * Linux 5.3+), never through the bare pid: where the application ignores
 * SIGCHLD, the kernel reaps a child that exits at once, its pid is free,
 * and on a busy machine (pid_max 32768) another process may get it; a
 * kill(pid) then would hit that stranger (it did: a test process in a CI
 * run). The pidfd stays bound to our child: it polls readable once the
 * child has exited, and signals sent through it to an exited child fail
 * with ESRCH. Without pidfds (older kernels) the pool falls back to the
 * pid, as before.
 *
 * Rejected: a SIGCHLD handler (a library must not take the process's
 * signal dispositions). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ds.h"

#define WATCH_MS 10
#define QUICK_DEATH_NS ((int64_t)5 * 1000000000) /* dying sooner doubles the backoff */
#define MAX_CHILDREN 256

/* The atomics here are seq_cst: they are read rarely (tests, errors) and
 * only ever publish a value, never guard other memory. */
typedef struct pp_child {
    atomic_int pid;      /* 0: not running (watcher writes, anyone reads) */
    int pidfd;           /* bound to the running child, or -1 (watcher only) */
    int64_t started;     /* wf_now_ns at fork */
    int64_t restart_at;  /* when pid is 0: start again at this time */
    double backoff;
    atomic_int exits;    /* times it exited (watcher writes; create reads) */
    atomic_int last_status; /* waitpid status of the last exit */
    char sock[108];      /* socket path */
    char **argv;         /* its argument vector (built before any fork) */
} pp_child_t;

struct weft_procpool {
    int n;
    weft_procpool_opts_t o;
    weft_cluster_t *c;
    char dir[96];
    char key[128];
    pp_child_t *ch;
    pid_t self;
    int devnull;
    int efd;             /* eventfd: wakes the watcher to stop */
    pthread_t th;
    int th_started;
    atomic_int stop;
    atomic_uint_fast64_t restarts;
    /* the first start, reported to create */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int first_done, first_err;
    char first_detail[WEFT_DETAIL_MAX];
};

static int64_t ns_of_s(double s) { return (int64_t)(s * 1e9); }

void weft_procpool_opts_init(weft_procpool_opts_t *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->start_timeout_s = 30;
    o->restart_min_s = 0.05;
    o->restart_max_s = 2;
    o->term_grace_s = 2;
}

static int bad_s(double s) { return !(s >= 0) || s > 1e9; }

/* Starts child i. Watcher thread only. 0, or the errno of fork. */
static int spawn(weft_procpool_t *p, int i) {
    pp_child_t *k = &p->ch[i];
    pid_t parent = p->self;
    pid_t pid = fork();
    if (pid < 0) return errno;
    if (pid == 0) {
        /* the child: async-signal-safe calls only (see the top) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1); /* the parent died before prctl */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGINT, &sa, NULL); /* Ctrl-C is the parent's */
        sa.sa_handler = SIG_DFL;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGCHLD, &sa, NULL);
        sigaction(SIGPIPE, &sa, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (p->devnull >= 0) dup2(p->devnull, 0);
        execvp(k->argv[0], k->argv);
        _exit(127);
    }
    k->started = wf_now_ns();
#ifdef SYS_pidfd_open
    k->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
    k->pidfd = -1;
#endif
    atomic_store(&k->pid, (int)pid);
    return 0;
}

/* Sends sig to child k, through its pidfd when it has one. */
static void child_signal(pp_child_t *k, int sig) {
    int pid = atomic_load(&k->pid);
    if (pid <= 0) return;
#ifdef SYS_pidfd_send_signal
    if (k->pidfd >= 0) {
        syscall(SYS_pidfd_send_signal, k->pidfd, sig, NULL, 0);
        return;
    }
#endif
    kill(pid, sig);
}

/* Has child k exited? 1, 0, or -1 when it cannot tell (no pidfd). */
static int child_exited(const pp_child_t *k) {
    if (k->pidfd < 0) return -1;
    struct pollfd pf = {.fd = k->pidfd, .events = POLLIN};
    return poll(&pf, 1, 0) > 0;
}

/* Reaps child i if it exited; schedules its restart. Watcher thread. */
static void reap(weft_procpool_t *p, int i, int restart) {
    pp_child_t *k = &p->ch[i];
    int pid = atomic_load(&k->pid), st = 0;
    if (pid <= 0) return;
    int ex = child_exited(k);
    if (ex == 0) return; /* running */
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r < 0 && errno == ECHILD && (ex == 1 || kill(pid, 0) != 0)) {
        /* reaped by someone else (SIGCHLD set to SIG_IGN by the
         * application): gone, status unknown */
        st = 0;
    } else if (r != pid) {
        return;
    }
    if (k->pidfd >= 0) close(k->pidfd);
    k->pidfd = -1;
    atomic_store(&k->pid, 0);
    atomic_store(&k->last_status, st);
    atomic_fetch_add(&k->exits, 1);
    unlink(k->sock); /* the next one binds afresh */
    int64_t now = wf_now_ns();
    if (now - k->started < QUICK_DEATH_NS) {
        k->backoff *= 2;
        if (k->backoff > p->o.restart_max_s) k->backoff = p->o.restart_max_s;
    } else {
        k->backoff = p->o.restart_min_s;
    }
    k->restart_at = now + ns_of_s(k->backoff);
    if (restart) atomic_fetch_add(&p->restarts, 1);
    if (p->o.on_exit) p->o.on_exit(p->o.on_exit_data, i, pid, st, restart);
}

/* Stops every child: SIGTERM, grace, SIGKILL, reaped. Watcher thread. */
static void stop_all(weft_procpool_t *p) {
    for (int i = 0; i < p->n; i++) child_signal(&p->ch[i], SIGTERM);
    int64_t until = wf_now_ns() + ns_of_s(p->o.term_grace_s);
    for (;;) {
        int left = 0;
        for (int i = 0; i < p->n; i++) {
            reap(p, i, 0);
            if (atomic_load(&p->ch[i].pid) > 0) left++;
        }
        if (!left || wf_now_ns() >= until) break;
        usleep(2000);
    }
    for (int i = 0; i < p->n; i++) {
        pp_child_t *k = &p->ch[i];
        int pid = atomic_load(&k->pid);
        if (pid <= 0) continue;
        child_signal(k, SIGKILL);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        if (k->pidfd >= 0) close(k->pidfd);
        k->pidfd = -1;
        atomic_store(&k->pid, 0);
        unlink(k->sock);
    }
}

static void *watcher(void *arg) {
    weft_procpool_t *p = arg;
    int err = 0, bad = -1;
    for (int i = 0; i < p->n && !err; i++)
        if ((err = spawn(p, i)) != 0) bad = i;
    pthread_mutex_lock(&p->mu);
    p->first_done = 1;
    p->first_err = err;
    if (err)
        snprintf(p->first_detail, sizeof p->first_detail, "cannot start worker process %d: %s",
                 bad, strerror(err));
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    while (!err && !atomic_load(&p->stop)) {
        struct pollfd pf = {.fd = p->efd, .events = POLLIN};
        poll(&pf, 1, WATCH_MS);
        if (atomic_load(&p->stop)) break;
        int64_t now = wf_now_ns();
        for (int i = 0; i < p->n; i++) {
            reap(p, i, 1);
            pp_child_t *k = &p->ch[i];
            if (atomic_load(&k->pid) == 0 && now >= k->restart_at && spawn(p, i) != 0)
                k->restart_at = now + ns_of_s(p->o.restart_max_s); /* fork failed: later */
        }
    }
    stop_all(p);
    return NULL;
}

/* Frees what create made; the watcher has stopped (or never ran). */
static void pool_release(weft_procpool_t *p) {
    if (p->ch) {
        for (int i = 0; i < p->n; i++) {
            if (p->ch[i].sock[0]) unlink(p->ch[i].sock);
            if (p->ch[i].argv) {
                for (char **a = p->ch[i].argv; *a; a++) free(*a);
                free(p->ch[i].argv);
            }
        }
        free(p->ch);
    }
    if (p->key[0]) unlink(p->key);
    if (p->dir[0]) rmdir(p->dir);
    if (p->devnull >= 0) close(p->devnull);
    if (p->efd >= 0) close(p->efd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

static const char *pick_dir(const weft_procpool_opts_t *o) {
    if (o->dir_parent) return o->dir_parent;
    const char *d = getenv("XDG_RUNTIME_DIR");
    if (d && *d && access(d, W_OK | X_OK) == 0 && strlen(d) < 60) return d;
    d = getenv("TMPDIR");
    if (d && *d && access(d, W_OK | X_OK) == 0 && strlen(d) < 60) return d;
    return "/tmp";
}

/* How child i ended, for an error message. */
static void describe_exit(pp_child_t *k, char *out, size_t size) {
    int exits = atomic_load(&k->exits);
    if (!exits) {
        snprintf(out, size, "running, not connected");
        return;
    }
    int st = atomic_load(&k->last_status);
    if (WIFEXITED(st))
        snprintf(out, size, "exited with status %d (%d time%s)", WEXITSTATUS(st), exits,
                 exits == 1 ? "" : "s");
    else if (WIFSIGNALED(st))
        snprintf(out, size, "killed by signal %d (%d time%s)", WTERMSIG(st), exits,
                 exits == 1 ? "" : "s");
    else
        snprintf(out, size, "ended (%d times)", exits);
}

int weft_procpool_create(const char *const *argv, int n, const weft_procpool_opts_t *opts,
                         weft_procpool_t **out) {
    if (!out) return WEFT_EINVAL;
    *out = NULL;
    weft_procpool_opts_t o;
    if (opts) o = *opts;
    else weft_procpool_opts_init(&o);
    if (!argv || !argv[0] || !argv[0][0]) {
        wf_set_detail("process pool: argv must name a program");
        return WEFT_EINVAL;
    }
    if (n < 1 || n > MAX_CHILDREN) {
        wf_set_detail("process pool: %d processes asked for; 1..%d", n, MAX_CHILDREN);
        return WEFT_EINVAL;
    }
    if (bad_s(o.start_timeout_s) || bad_s(o.restart_min_s) || bad_s(o.restart_max_s) ||
        bad_s(o.term_grace_s) || o.restart_min_s > o.restart_max_s) {
        wf_set_detail("process pool: options out of range");
        return WEFT_EINVAL;
    }
    size_t argc = 0;
    while (argv[argc]) argc++;
    weft_procpool_t *p = calloc(1, sizeof *p);
    if (!p) return WEFT_ENOMEM;
    p->n = n;
    p->o = o;
    p->self = getpid();
    p->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int rc = 0;
    const char *parent = pick_dir(&o);
    if (p->efd < 0) {
        wf_set_detail("process pool: eventfd: %s", strerror(errno));
        rc = WEFT_ESYSTEM;
    } else if (snprintf(p->dir, sizeof p->dir, "%s/weft-pool-XXXXXX", parent) >=
               (int)sizeof p->dir - 12) {
        p->dir[0] = 0;
        wf_set_detail("process pool: directory %s: path too long for Unix sockets", parent);
        rc = WEFT_EINVAL;
    } else if (!mkdtemp(p->dir)) {
        wf_set_detail("process pool: cannot make a directory in %s: %s", parent, strerror(errno));
        p->dir[0] = 0;
        rc = WEFT_EIO;
    }
    if (!rc) {
        snprintf(p->key, sizeof p->key, "%s/key", p->dir);
        rc = weft_dist_key_create(p->key);
        if (rc) p->key[0] = 0;
    }
    if (!rc && !(p->ch = calloc((size_t)n, sizeof *p->ch))) rc = WEFT_ENOMEM;
    for (int i = 0; !rc && i < n; i++) p->ch[i].pidfd = -1;
    for (int i = 0; !rc && i < n; i++) {
        pp_child_t *k = &p->ch[i];
        int w = snprintf(k->sock, sizeof k->sock, "%s/w%d.sock", p->dir, i);
        if (w < 0 || (size_t)w >= sizeof k->sock) { /* cannot happen: the dir is short */
            wf_set_detail("process pool: socket path too long");
            rc = WEFT_EINVAL;
            break;
        }
        k->backoff = o.restart_min_s;
        char listen[128];
        snprintf(listen, sizeof listen, "unix:%s", k->sock);
        k->argv = calloc(argc + 5, sizeof *k->argv);
        if (!k->argv) {
            rc = WEFT_ENOMEM;
            break;
        }
        for (size_t a = 0; a < argc; a++)
            if (!(k->argv[a] = strdup(argv[a]))) rc = WEFT_ENOMEM;
        const char *extra[4] = {"--weft-listen", listen, "--weft-secret-file", p->key};
        for (size_t a = 0; a < 4; a++)
            if (!(k->argv[argc + a] = strdup(extra[a]))) rc = WEFT_ENOMEM;
    }
    if (!rc) {
        weft_cluster_opts_t co;
        if (o.cluster) {
            co = *o.cluster;
        } else {
            weft_cluster_opts_init(&co);
            co.backoff_min_s = 0.01;
            co.backoff_max_s = 0.1;
        }
        co.secret_file = p->key;
        co.local_workers = 0;
        const char **nodes = calloc((size_t)n, sizeof *nodes);
        char (*names)[128] = calloc((size_t)n, sizeof *names);
        if (!nodes || !names) rc = WEFT_ENOMEM;
        for (int i = 0; !rc && i < n; i++) {
            snprintf(names[i], sizeof names[i], "unix:%s", p->ch[i].sock);
            nodes[i] = names[i];
        }
        if (!rc) rc = weft_cluster_create(nodes, (size_t)n, &co, &p->c);
        free(nodes);
        free(names);
    }
    if (!rc) {
        if (pthread_create(&p->th, NULL, watcher, p)) {
            wf_set_detail("process pool: cannot start the watcher thread");
            rc = WEFT_ESYSTEM;
        } else {
            p->th_started = 1;
            pthread_mutex_lock(&p->mu);
            while (!p->first_done) pthread_cond_wait(&p->cv, &p->mu);
            if (p->first_err) {
                rc = WEFT_ESYSTEM;
                wf_set_detail("process pool: %s", p->first_detail);
            }
            pthread_mutex_unlock(&p->mu);
        }
    }
    if (!rc && o.start_timeout_s > 0) {
        /* wait for every child; give up early on one that cannot start */
        int64_t until = wf_now_ns() + ns_of_s(o.start_timeout_s);
        for (;;) {
            int w = weft_cluster_wait_nodes(p->c, (size_t)n, 0.05);
            if (w == 0) break;
            int hopeless = -1;
            for (int i = 0; i < n; i++)
                if (atomic_load(&p->ch[i].exits) >= 3) hopeless = i;
            if (hopeless >= 0 || wf_now_ns() >= until) {
                char how[160];
                int i = hopeless >= 0 ? hopeless : 0;
                for (int k = 0; hopeless < 0 && k < n; k++)
                    if (atomic_load(&p->ch[k].exits)) i = k;
                describe_exit(&p->ch[i], how, sizeof how);
                wf_set_detail("process pool: worker process %d (%.200s) did not come up%s: %s", i,
                              argv[0], hopeless >= 0 ? "" : " in time", how);
                rc = WEFT_ETIMEDOUT;
                break;
            }
        }
    }
    if (rc) {
        char detail[WEFT_DETAIL_MAX];
        snprintf(detail, sizeof detail, "%s", weft_error_detail());
        weft_procpool_free(p);
        wf_set_detail("%s", detail);
        return rc;
    }
    *out = p;
    return 0;
}

weft_cluster_t *weft_procpool_cluster(weft_procpool_t *p) { return p ? p->c : NULL; }

int weft_procpool_size(const weft_procpool_t *p) { return p ? p->n : WEFT_EINVAL; }

int weft_procpool_pid(weft_procpool_t *p, int i) {
    if (!p || i < 0 || i >= p->n) return WEFT_EINVAL;
    return atomic_load(&p->ch[i].pid);
}

uint64_t weft_procpool_restarts(weft_procpool_t *p) { return p ? atomic_load(&p->restarts) : 0; }

const char *weft_procpool_dir(const weft_procpool_t *p) { return p ? p->dir : ""; }

int weft_procpool_free(weft_procpool_t *p) {
    if (!p) return WEFT_EINVAL;
    if (p->c) {
        int rc = weft_cluster_free(p->c);
        if (rc == WEFT_EPERM) return rc; /* from a callback: nothing was done */
        p->c = NULL;
    }
    if (p->th_started) {
        atomic_store(&p->stop, 1);
        uint64_t one = 1;
        ssize_t w = write(p->efd, &one, sizeof one);
        (void)w;
        pthread_join(p->th, NULL);
    }
    pool_release(p);
    return 0;
}
