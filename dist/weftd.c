/* weftd: the weft node daemon. Runs a weft runtime and serves the named
 * tasks of its plugins and weft's built-in tasks to authenticated clients
 * (dist/PROTOCOL.md). See `weftd --help` and dist/README.md.
 *
 * Plugins: --load FILE.so loads FILE (weft_plugin_load) and calls its
 *     int weft_plugin_init(void);
 * which registers tasks with weft_task_register and returns 0 (nonzero
 * stops weftd with an error). examples/plugin/ is one.
 *
 * Signals: SIGTERM and SIGINT drain (running tasks finish and their
 * results go out, new ones are refused so clients send them elsewhere)
 * and exit 0; a second one exits at once. SIGHUP reopens the log file.
 *
 * Slurm: `srun weftd --slurm [options] [-- COMMAND ARGS...]` runs one weftd
 * per task of the step (dist/slurm.h reads the layout, dist/LAUNCH.md shows
 * it). With a COMMAND, rank 0 is the client: it runs COMMAND with
 * WEFT_NODES set to the other ranks' host:port (and WEFT_SECRET_FILE to
 * --secret-file) and exits with its status; the other ranks serve. Without
 * one, every rank serves and rank 0 prints "nodes LIST" on stdout. A
 * serving rank stops by itself once it served a client and none has been
 * connected for --slurm-linger seconds. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "slurm.h"
#include "weft.h"
#include "weftd_python.h"

#define MAX_PLUGINS 64

typedef struct config {
    char listen[300];
    char secret[4096];
    char log_file[4096];
    char *plugins[MAX_PLUGINS];
    int nplugins;
    int workers;
    int log_level;
    int max_unauth;
    double handshake_timeout, dead_after;
    size_t max_bytes;
    int print_port;
    char announce[300], announce_if[64], announce_host[256];
    double announce_interval;
    int listen_set;       /* --listen given (Slurm: its host and base port win) */
    int slurm;            /* --slurm */
    double slurm_linger;  /* --slurm-linger */
    char **slurm_cmd;     /* after "--": rank 0's command, or NULL */
    int python;                /* --python N: Python worker processes (weftd_python.c) */
    char python_exe[4096];
} config_t;

static weft_server_t *g_server;
static volatile sig_atomic_t g_signals;
static FILE *g_log;
static config_t g_cfg;

static void usage(FILE *out) {
    fprintf(out,
            "usage: weftd [options]\n"
            "Serves weft's registered tasks to clients over authenticated, encrypted TCP.\n"
            "\n"
            "  --listen HOST:PORT     address to listen on (default 127.0.0.1:%d; port 0: any\n"
            "                         free port). An address outside loopback needs a key of\n"
            "                         your own (--secret-file, WEFT_SECRET_FILE or a systemd\n"
            "                         credential), else weftd refuses to start.\n"
            "  --secret-file FILE     key file (>= 32 bytes, mode 0600). Default: WEFT_SECRET_FILE,\n"
            "                         $CREDENTIALS_DIRECTORY/weft-secret, else the user key\n"
            "                         ~/.config/weft/secret (made when missing)\n"
            "  --workers N            worker threads (0: automatic, the default)\n"
            "  --load FILE.so         load a plugin: calls its weft_plugin_init() (repeatable)\n"
            "  --config FILE          read options from FILE (\"key = value\" lines, the long\n"
            "                         option names without dashes; flags given here win)\n"
            "  --log-level LEVEL      error, warn, info (default) or debug\n"
            "  --log-file FILE        log there instead of stderr (SIGHUP reopens it)\n"
            "  --max-unauth N         connections authenticating at once (default 64)\n"
            "  --handshake-timeout S  seconds a client has to authenticate (default 5)\n"
            "  --dead-after S         a silent client is dropped after S seconds (default 10)\n"
            "  --max-bytes N          longest argument accepted (default 1 GiB)\n"
            "  --print-port           print \"port N\" on stdout once listening\n"
            "  --announce ADDR:PORT   send discovery beacons there by UDP (off by default): an\n"
            "                         IPv4 unicast, broadcast or multicast address, e.g.\n"
            "                         239.255.77.1:%d; TTL 1. Beacons carry this node's port,\n"
            "                         address, time and an HMAC under a key derived from the\n"
            "                         secret; clients only take them as hints (see\n"
            "                         dist/PROTOCOL.md). Outside loopback needs a key of yours\n"
            "  --announce-if IFNAME   interface to send beacons on (multicast, broadcast)\n"
            "  --announce-interval S  seconds between beacons (default 1)\n"
            "  --announce-host ADDR   IP address put in beacons (default: the listen address,\n"
            "                         or none for 0.0.0.0: clients use the source address)\n"
            "  --slurm [-- COMMAND ARGS...]\n"
            "                         run as one task of a Slurm job step (srun weftd --slurm):\n"
            "                         the step's layout comes from SLURM_PROCID, SLURM_NTASKS,\n"
            "                         SLURM_STEP_NODELIST (or SLURM_JOB_NODELIST, hostlist\n"
            "                         syntax node[01-03]), SLURM_STEP_NUM_NODES and\n"
            "                         SLURM_STEP_TASKS_PER_NODE. Each rank listens on its host\n"
            "                         at the --listen port (default %d) plus its index on\n"
            "                         that host (--listen HOST:PORT: on HOST instead). With\n"
            "                         COMMAND, rank 0 runs it with WEFT_NODES set to the\n"
            "                         other ranks' addresses and exits with its status; the\n"
            "                         others serve. Without, every rank serves and rank 0\n"
            "                         prints \"nodes LIST\" on stdout\n"
            "  --slurm-linger S       with --slurm: a serving rank that has served a client\n"
            "                         exits 0 once no client was connected for S seconds\n"
            "                         (default 10; 0: never)\n"
            "  --python N             run Python jobs (weft.Runtime(nodes=...)) in N worker\n"
            "                         processes (python -m weft._procworker; weft must be\n"
            "                         importable there, e.g. through PYTHONPATH)\n"
            "  --python-exe PATH      the Python of those processes (default: python3)\n"
            "  --help, --version\n",
            WEFT_DIST_PORT, WEFT_DIST_DISCOVER_PORT, WEFT_DIST_PORT);
}

static int level_of(const char *s) {
    if (!strcmp(s, "error")) return WEFT_LOG_ERROR;
    if (!strcmp(s, "warn")) return WEFT_LOG_WARN;
    if (!strcmp(s, "info")) return WEFT_LOG_INFO;
    if (!strcmp(s, "debug")) return WEFT_LOG_DEBUG;
    return -1;
}

static int parse_num(const char *key, const char *v, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi)) {
        fprintf(stderr, "weftd: %s: '%s' is not a number in [%g, %g]\n", key, v, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

/* One option (from the command line or the config file). */
static int set_option(config_t *c, const char *key, const char *v) {
    double d;
    if (!strcmp(key, "listen")) {
        snprintf(c->listen, sizeof c->listen, "%s", v);
        c->listen_set = 1;
    } else if (!strcmp(key, "secret-file")) {
        snprintf(c->secret, sizeof c->secret, "%s", v);
    } else if (!strcmp(key, "log-file")) {
        snprintf(c->log_file, sizeof c->log_file, "%s", v);
    } else if (!strcmp(key, "load")) {
        if (c->nplugins == MAX_PLUGINS) {
            fprintf(stderr, "weftd: at most %d plugins\n", MAX_PLUGINS);
            return -1;
        }
        c->plugins[c->nplugins++] = strdup(v);
    } else if (!strcmp(key, "workers")) {
        if (parse_num(key, v, 0, WEFT_MAX_WORKERS, &d)) return -1;
        c->workers = (int)d;
    } else if (!strcmp(key, "log-level")) {
        if ((c->log_level = level_of(v)) < 0) {
            fprintf(stderr, "weftd: log-level: '%s': use error, warn, info or debug\n", v);
            return -1;
        }
    } else if (!strcmp(key, "max-unauth")) {
        if (parse_num(key, v, 1, 100000, &d)) return -1;
        c->max_unauth = (int)d;
    } else if (!strcmp(key, "handshake-timeout")) {
        if (parse_num(key, v, 0.001, 3600, &c->handshake_timeout)) return -1;
    } else if (!strcmp(key, "dead-after")) {
        if (parse_num(key, v, 0.01, 86400, &c->dead_after)) return -1;
    } else if (!strcmp(key, "announce")) {
        snprintf(c->announce, sizeof c->announce, "%s", v);
    } else if (!strcmp(key, "announce-if")) {
        snprintf(c->announce_if, sizeof c->announce_if, "%s", v);
    } else if (!strcmp(key, "announce-host")) {
        snprintf(c->announce_host, sizeof c->announce_host, "%s", v);
    } else if (!strcmp(key, "announce-interval")) {
        if (parse_num(key, v, 0.01, 3600, &c->announce_interval)) return -1;
    } else if (!strcmp(key, "slurm-linger")) {
        if (parse_num(key, v, 0, 86400, &c->slurm_linger)) return -1;
    } else if (!strcmp(key, "python")) {
        if (parse_num(key, v, 0, 256, &d)) return -1;
        c->python = (int)d;
    } else if (!strcmp(key, "python-exe")) {
        snprintf(c->python_exe, sizeof c->python_exe, "%s", v);
    } else if (!strcmp(key, "max-bytes")) {
        if (parse_num(key, v, 1, (double)((size_t)1 << 40), &d)) return -1;
        c->max_bytes = (size_t)d;
    } else {
        fprintf(stderr, "weftd: unknown option '%s'\n", key);
        return -1;
    }
    return 0;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) *--e = 0;
    return s;
}

static int read_config(config_t *c, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "weftd: config %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[4200];
    int no = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        no++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "weftd: config %s line %d: expected key = value\n", path, no);
            rc = -1;
            break;
        }
        *eq = 0;
        char *k = trim(s), *v = trim(eq + 1);
        if (set_option(c, k, v)) {
            fprintf(stderr, "weftd: (config %s line %d)\n", path, no);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

static void on_signal(int sig) {
    if (!g_server) return;
    if (sig == SIGHUP) {
        weft_server_reopen_log(g_server);
        return;
    }
    g_signals++;
    weft_server_stop(g_server, g_signals == 1);
}

static void log_line(void *data, int level, const char *line) {
    (void)data;
    if (!strcmp(line, "reopen")) {
        if (g_cfg.log_file[0]) {
            FILE *f = fopen(g_cfg.log_file, "a");
            if (f) {
                if (g_log && g_log != stderr) fclose(g_log);
                g_log = f;
                setvbuf(g_log, NULL, _IOLBF, 0);
            }
        }
        return;
    }
    static const char *names[] = {"error", "warn", "info", "debug"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(g_log ? g_log : stderr, "%s.%03ldZ weftd[%d] %s: %s\n", when, ts.tv_nsec / 1000000,
            (int)getpid(), names[level & 3], line);
}

/* ------------------------------------------------------------------ */
/* Slurm (--slurm): the step's layout, rank 0's command, lingering     */

static const char *env_get(const char *name, void *data) {
    (void)data;
    return getenv(name);
}

/* Splits "host:port" / "[v6]:port" / "host" into host and port (0 when
 * none is given). 0, or -1 with a message. */
static int split_listen(const char *listen, char *host, size_t size, int *port) {
    const char *colon = strrchr(listen, ':'), *h = listen, *he;
    *port = 0;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || (close[1] && close[1] != ':')) goto bad;
        h = listen + 1;
        he = close;
        colon = close[1] ? close + 1 : NULL;
    } else if (colon && strchr(listen, ':') != colon) {
        goto bad; /* a bare IPv6 address: needs brackets */
    } else {
        he = colon ? colon : listen + strlen(listen);
    }
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || p < 1 || p > 65535) goto bad;
        *port = (int)p;
    }
    if ((size_t)(he - h) >= size) goto bad;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = 0;
    return 0;
bad:
    fprintf(stderr, "weftd: --slurm: --listen '%s': expected HOST:PORT with PORT 1..65535\n",
            listen);
    return -1;
}

static volatile pid_t g_child;

static void forward_signal(int sig) {
    if (g_child > 0) kill(g_child, sig);
}

/* Rank 0: runs the command with WEFT_NODES (and WEFT_SECRET_FILE) set;
 * returns weftd's exit status: the command's, 128 + its signal, or 127
 * when it could not be run. */
static int slurm_client(config_t *c, const ds_slurm_t *sl, const char *host, int base) {
    size_t cap = (size_t)sl->ntasks * 280 + 1, at = 0;
    char *nodes = malloc(cap), addr[300];
    if (!nodes) {
        fprintf(stderr, "weftd: out of memory\n");
        return 1;
    }
    nodes[0] = 0;
    for (int r = 1; r < sl->ntasks; r++) {
        if (ds_slurm_addr(sl, r, host, base, addr, sizeof addr)) {
            fprintf(stderr, "weftd: --slurm: rank %d: port %d + %d is over 65535\n", r, base,
                    sl->local_of[r]);
            free(nodes);
            return 2;
        }
        at += (size_t)snprintf(nodes + at, cap - at, "%s%s", at ? "," : "", addr);
    }
    setenv("WEFT_NODES", nodes, 1);
    if (c->secret[0]) setenv("WEFT_SECRET_FILE", c->secret, 1);
    char line[600];
    snprintf(line, sizeof line, "slurm rank 0 of %d (%s): running %.100s with WEFT_NODES=%.300s%s",
             sl->ntasks, sl->nodelist_var, c->slurm_cmd[0], nodes,
             sl->ntasks == 1 ? " (no other rank: the command runs without nodes)" : "");
    if (c->log_level >= WEFT_LOG_INFO) log_line(NULL, WEFT_LOG_INFO, line);
    free(nodes);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "weftd: --slurm: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        execvp(c->slurm_cmd[0], c->slurm_cmd);
        fprintf(stderr, "weftd: --slurm: cannot run '%s': %s\n", c->slurm_cmd[0],
                strerror(errno));
        _exit(127);
    }
    g_child = pid;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "weftd: --slurm: waitpid: %s\n", strerror(errno));
            return 1;
        }
    g_child = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Works out this rank's part. Returns -1 when this rank serves (c->listen
 * is then its own address), else the exit status of weftd (rank 0's
 * command ran, or an error). */
static int slurm_setup(config_t *c) {
    ds_slurm_t sl;
    char err[600], host[256] = "";
    int base = WEFT_DIST_PORT, rc;
    if ((rc = ds_slurm_read(env_get, NULL, &sl, err, sizeof err))) {
        fprintf(stderr, "weftd: --slurm: %s\n", err);
        return 2;
    }
    if (c->listen_set) {
        int port;
        if (split_listen(c->listen, host, sizeof host, &port)) {
            ds_slurm_free(&sl);
            return 2;
        }
        if (port) base = port;
    }
    const char *override = host[0] ? host : NULL;
    if (sl.rank == 0 && c->slurm_cmd) {
        rc = slurm_client(c, &sl, override, base);
        ds_slurm_free(&sl);
        return rc;
    }
    if (ds_slurm_addr(&sl, sl.rank, override, base, c->listen, sizeof c->listen)) {
        fprintf(stderr, "weftd: --slurm: rank %d: port %d + %d is over 65535\n", sl.rank, base,
                sl.local_of[sl.rank]);
        ds_slurm_free(&sl);
        return 2;
    }
    if (sl.rank == 0) { /* no command: every rank serves, rank 0 says where */
        printf("nodes ");
        for (int r = 0; r < sl.ntasks; r++) {
            char addr[300];
            ds_slurm_addr(&sl, r, override, base, addr, sizeof addr);
            printf("%s%s", r ? "," : "", addr);
        }
        printf("\n");
        fflush(stdout);
    }
    char line[600];
    snprintf(line, sizeof line, "slurm rank %d of %d (host %d of %zu, task %d there): serving on %s",
             sl.rank, sl.ntasks, sl.host_of[sl.rank] + 1, sl.nhosts, sl.local_of[sl.rank] + 1,
             c->listen);
    if (c->log_level >= WEFT_LOG_INFO) log_line(NULL, WEFT_LOG_INFO, line);
    ds_slurm_free(&sl);
    return -1;
}

static volatile int g_linger_quit;
static pthread_mutex_t g_linger_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_linger_cv = PTHREAD_COND_INITIALIZER;

/* Stops the server once it has served a client and none has been
 * connected for slurm_linger seconds. Polls the counts every 0.1 s. */
static void *linger_main(void *arg) {
    weft_server_t *s = arg;
    double idle = 0;
    pthread_mutex_lock(&g_linger_mu);
    while (!g_linger_quit) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&g_linger_cv, &g_linger_mu, &ts);
        if (g_linger_quit) break;
        weft_server_stats_t st;
        if (weft_server_stats(s, &st) || !st.authenticated) continue;
        idle = st.clients_now ? 0 : idle + 0.1;
        if (idle + 1e-9 >= g_cfg.slurm_linger) {
            char line[128];
            snprintf(line, sizeof line, "slurm: no client for %g s: stopping", g_cfg.slurm_linger);
            if (g_cfg.log_level >= WEFT_LOG_INFO) log_line(NULL, WEFT_LOG_INFO, line);
            weft_server_stop(s, 1);
            break;
        }
    }
    pthread_mutex_unlock(&g_linger_mu);
    return NULL;
}

int main(int argc, char **argv) {
    config_t *c = &g_cfg;
    memset(c, 0, sizeof *c);
    c->log_level = WEFT_LOG_INFO;
    c->max_unauth = 64;
    c->handshake_timeout = 5;
    c->dead_after = 10;
    c->max_bytes = WEFT_DIST_MAX_BYTES;
    c->announce_interval = 1;
    c->slurm_linger = 10;
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:%d", WEFT_DIST_PORT);
    /* first the config file, then every flag over it */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break; /* the Slurm command's own arguments */
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("weftd %s (weft protocol %d)\n", weft_version(), WEFT_DIST_PROTOCOL);
            return 0;
        }
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "weftd: --config needs a file\n");
                return 2;
            }
            if (read_config(c, argv[i + 1])) return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strcmp(a, "--print-port")) {
            c->print_port = 1;
            continue;
        }
        if (!strcmp(a, "--slurm")) {
            c->slurm = 1;
            continue;
        }
        if (!strcmp(a, "--")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "weftd: '--' needs a command after it\n");
                return 2;
            }
            c->slurm_cmd = argv + i + 1;
            break;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "weftd: unexpected argument '%s' (see --help)\n", a);
            return 2;
        }
        const char *key = a + 2, *eq = strchr(key, '=');
        char k[64];
        const char *v;
        if (eq) {
            snprintf(k, sizeof k, "%.*s", (int)(eq - key), key);
            v = eq + 1;
        } else {
            if (i + 1 >= argc) {
                fprintf(stderr, "weftd: %s needs a value (see --help)\n", a);
                return 2;
            }
            snprintf(k, sizeof k, "%s", key);
            v = argv[++i];
        }
        if (set_option(c, k, v)) return 2;
    }
    if (c->slurm_cmd && !c->slurm) {
        fprintf(stderr, "weftd: a command after '--' needs --slurm\n");
        return 2;
    }
    if (c->slurm) {
        int rc = slurm_setup(c);
        if (rc >= 0) return rc;
    }
    if (c->log_file[0]) {
        g_log = fopen(c->log_file, "a");
        if (!g_log) {
            fprintf(stderr, "weftd: log file %s: %s\n", c->log_file, strerror(errno));
            return 1;
        }
        setvbuf(g_log, NULL, _IOLBF, 0);
    }
    weft_tasks_register_builtin();
    for (int i = 0; i < c->nplugins; i++) {
        int rc = weft_plugin_load(c->plugins[i]); /* the loader every tool shares */
        if (rc) {
            const char *why = weft_error_detail();
            fprintf(stderr, "weftd: %s\n", *why ? why : weft_strerror(rc));
            return 1;
        }
    }
    if (c->python > 0) {
        int prc = weftd_python_start(c->python, c->python_exe);
        if (prc) {
            fprintf(stderr, "weftd: --python: %s: %s\n", weft_strerror(prc), weft_error_detail());
            return 1;
        }
    }
    weft_server_opts_t o;
    weft_server_opts_init(&o);
    o.listen = c->listen;
    o.secret_file = c->secret[0] ? c->secret : NULL;
    o.workers = c->workers;
    o.log_level = c->log_level;
    o.log = log_line;
    o.max_unauth = c->max_unauth;
    o.handshake_timeout_s = c->handshake_timeout;
    o.dead_after_s = c->dead_after;
    o.max_bytes = c->max_bytes;
    o.announce = c->announce[0] ? c->announce : NULL;
    o.announce_if = c->announce_if[0] ? c->announce_if : NULL;
    o.announce_host = c->announce_host[0] ? c->announce_host : NULL;
    o.announce_interval_s = c->announce_interval;
    int rc = weft_server_create(&o, &g_server);
    if (rc) {
        fprintf(stderr, "weftd: cannot start: %s: %s\n", weft_strerror(rc), weft_error_detail());
        weftd_python_stop();
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (c->announce[0]) {
        char line[512];
        snprintf(line, sizeof line, "announcing port %d to %.300s every %g s", weft_server_port(g_server),
                 c->announce, c->announce_interval);
        if (c->log_level >= WEFT_LOG_INFO) log_line(NULL, WEFT_LOG_INFO, line);
    }
    if (c->print_port) {
        printf("port %d\n", weft_server_port(g_server));
        fflush(stdout);
    }
    pthread_t linger;
    int lingering = c->slurm && c->slurm_linger > 0 &&
                    pthread_create(&linger, NULL, linger_main, g_server) == 0;
    rc = weft_server_run(g_server);
    if (lingering) {
        pthread_mutex_lock(&g_linger_mu);
        g_linger_quit = 1;
        pthread_cond_signal(&g_linger_cv);
        pthread_mutex_unlock(&g_linger_mu);
        pthread_join(linger, NULL);
    }
    weft_server_t *s = g_server;
    g_server = NULL;
    weft_server_free(s);
    weftd_python_stop(); /* after the server: its deferred nodes need the pool */
    for (int i = 0; i < c->nplugins; i++) free(c->plugins[i]);
    if (g_log && g_log != stderr) fclose(g_log);
    return rc ? 1 : 0;
}
