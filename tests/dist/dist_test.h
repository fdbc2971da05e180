/* dist_test.h: helpers of the dist suites: weftd processes on loopback
 * (port 0, the daemon prints the port it got), each in its own process
 * group, always stopped by the test (also when it fails: an atexit hook
 * and Check's fork mode end the group), and a key file per test. */
#ifndef DIST_TEST_H
#define DIST_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"

#define DT_MAX_PROCS 32

typedef struct dt_proc {
    pid_t pid;
    int port;
    char addr[64];
} dt_proc_t;

static pid_t dt_pids[DT_MAX_PROCS];
static int dt_npids;
static char dt_dir[256];

static inline double dt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void dt_kill_all(void) {
    for (int i = 0; i < dt_npids; i++)
        if (dt_pids[i] > 0) {
            kill(-dt_pids[i], SIGKILL);
            waitpid(dt_pids[i], NULL, 0);
            dt_pids[i] = 0;
        }
    dt_npids = 0;
}

/* A fresh directory with a key file; WEFT_SECRET_FILE points at it, so
 * the test's clients and the daemons it starts share the key. */
static inline void dt_setup_key(void) {
    snprintf(dt_dir, sizeof dt_dir, "/tmp/weft-dist-test-%d-XXXXXX", (int)getpid());
    if (!mkdtemp(dt_dir)) abort();
    char path[320];
    snprintf(path, sizeof path, "%s/secret", dt_dir);
    if (weft_dist_key_create(path)) abort();
    setenv("WEFT_SECRET_FILE", path, 1);
    setenv("XDG_CONFIG_HOME", dt_dir, 1); /* never the user's own key */
    static int hooked;
    if (!hooked) {
        hooked = 1;
        atexit(dt_kill_all);
    }
}

/* Starts weftd with extra arguments (NULL-terminated); waits for "port N". */
static inline int dt_start(dt_proc_t *p, const char *const *extra) {
    int fds[2];
    if (pipe(fds)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setpgid(0, 0);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        const char *argv[40];
        int n = 0;
        argv[n++] = WEFTD_PATH;
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
        argv[n++] = "--print-port";
        argv[n++] = "--log-level";
        argv[n++] = getenv("DT_LOG") ? getenv("DT_LOG") : "error";
        for (int i = 0; extra && extra[i] && n < 38; i++) argv[n++] = extra[i];
        argv[n] = NULL;
        execv(WEFTD_PATH, (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid);
    close(fds[1]);
    if (dt_npids < DT_MAX_PROCS) dt_pids[dt_npids++] = pid;
    p->pid = pid;
    p->port = 0;
    char buf[64];
    size_t got = 0;
    double end = dt_now() + 20;
    while (dt_now() < end && got < sizeof buf - 1) {
        struct pollfd pf = {fds[0], POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0) continue;
        ssize_t r = read(fds[0], buf + got, sizeof buf - 1 - got);
        if (r <= 0) break;
        got += (size_t)r;
        buf[got] = 0;
        if (strchr(buf, '\n')) break;
    }
    close(fds[0]);
    buf[got] = 0;
    if (sscanf(buf, "port %d", &p->port) != 1) return -1;
    snprintf(p->addr, sizeof p->addr, "127.0.0.1:%d", p->port);
    return 0;
}

/* Starts weftd again on the same port (after a kill). */
static inline int dt_restart(dt_proc_t *p, const char *const *extra) {
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", p->port);
    const char *args[40];
    int n = 0;
    for (int i = 0; extra && extra[i] && n < 36; i++) args[n++] = extra[i];
    args[n++] = "--listen";
    args[n++] = listen;
    args[n] = NULL;
    int port = p->port;
    for (int tries = 0; tries < 50; tries++) {
        if (dt_start(p, args) == 0 && p->port == port) return 0;
        usleep(100000);
    }
    return -1;
}

static inline void dt_forget(pid_t pid) {
    for (int i = 0; i < dt_npids; i++)
        if (dt_pids[i] == pid) dt_pids[i] = 0;
}

static inline void dt_kill(dt_proc_t *p, int sig) {
    kill(-p->pid, sig);
    if (sig == SIGKILL || sig == SIGTERM) {
        waitpid(p->pid, NULL, 0);
        dt_forget(p->pid);
    }
}

/* Test scale: WEFT_TEST_SCALE (default 1). */
static inline double dt_scale(void) {
    const char *s = getenv("WEFT_TEST_SCALE");
    double v = s ? atof(s) : 1.0;
    return v > 0 ? v : 1.0;
}

#endif
