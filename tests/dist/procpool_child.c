/* procpool_child: the worker program of test_dist_procpool. A weft node
 * as a process pool starts it (argv, then --weft-listen unix:PATH
 * --weft-secret-file KEY), serving weft's built-in tasks (weft.echo, ...)
 * and three of its own:
 *   pp.pid    result: this process's pid, in decimal
 *   pp.exit   _exit(status) where status is the argument in decimal
 *   pp.sleep  sleeps for the argument's milliseconds, then echoes it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"

static long arg_num(weft_node_ctx_t *ctx) {
    size_t n = 0;
    const char *a = weft_node_arg(ctx, &n);
    char buf[32];
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, a ? a : "", n);
    buf[n] = 0;
    return strtol(buf, NULL, 10);
}

static int t_pid(weft_node_ctx_t *ctx, void *u) {
    (void)u;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d", (int)getpid());
    return weft_node_set_result(ctx, buf, (size_t)n);
}

static int t_exit(weft_node_ctx_t *ctx, void *u) {
    (void)u;
    _exit((int)arg_num(ctx));
}

static int t_sleep(weft_node_ctx_t *ctx, void *u) {
    (void)u;
    long ms = arg_num(ctx);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
    size_t n = 0;
    const void *a = weft_node_arg(ctx, &n);
    return weft_node_set_result(ctx, a, n);
}

int main(int argc, char **argv) {
    const char *listen = NULL, *key = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--weft-listen")) listen = argv[++i];
        else if (!strcmp(argv[i], "--weft-secret-file")) key = argv[++i];
    }
    if (!listen || !key) {
        fprintf(stderr, "procpool_child: --weft-listen and --weft-secret-file expected\n");
        return 2;
    }
    weft_task_register("pp.pid", t_pid, NULL);
    weft_task_register("pp.exit", t_exit, NULL);
    weft_task_register("pp.sleep", t_sleep, NULL);
    weft_server_opts_t o;
    weft_server_opts_init(&o);
    o.listen = listen;
    o.secret_file = key;
    o.workers = 1;
    o.log_level = WEFT_LOG_ERROR;
    int rc = weft_serve(&o);
    if (rc) fprintf(stderr, "procpool_child: %s: %s\n", weft_strerror(rc), weft_error_detail());
    return rc ? 1 : 0;
}
