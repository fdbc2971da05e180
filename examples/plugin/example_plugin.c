/* An example weftd plugin: a shared library with one function,
 *
 *     int weft_plugin_init(void);
 *
 * that weftd calls once after loading it (weftd --load ./libweft_example_plugin.so).
 * It registers the plugin's tasks by name and returns 0, or a nonzero
 * weft code to stop weftd with an error. Clients then run the tasks by
 * name: weft_cluster_submit(c, "example.upper", "abc", 3, NULL, &job).
 *
 * A task is a graph node function (weft/graph.h): it reads its argument
 * bytes with weft_node_arg, stores its result bytes with
 * weft_node_set_result, and returns 0 (or nonzero to fail: the client
 * gets WEFT_ETASK with that status; it is not retried).
 *
 * Build: cc -shared -fPIC example_plugin.c $(pkg-config --cflags --libs weft) -o libweft_example_plugin.so */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft.h>

#if defined(__GNUC__)
#define PLUGIN_API __attribute__((visibility("default")))
#else
#define PLUGIN_API
#endif

/* "example.upper": the argument in upper case. */
static int upper(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    size_t n;
    const char *a = weft_node_arg(ctx, &n);
    char *out = malloc(n ? n : 1);
    if (!out) return WEFT_ENOMEM;
    for (size_t i = 0; i < n; i++) out[i] = (a[i] >= 'a' && a[i] <= 'z') ? (char)(a[i] - 32) : a[i];
    int rc = weft_node_set_result(ctx, out, n);
    free(out);
    return rc;
}

/* "example.sleep_echo": sleeps (the first 4 argument bytes, a little-endian
 * count of microseconds), then returns the whole argument: a task that
 * takes a known time without using the CPU, for tests of failures. */
static int sleep_echo(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    size_t n;
    const unsigned char *a = weft_node_arg(ctx, &n);
    if (n < 4) return WEFT_EINVAL;
    unsigned us = (unsigned)a[0] | (unsigned)a[1] << 8 | (unsigned)a[2] << 16 | (unsigned)a[3] << 24;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    return weft_node_set_result(ctx, a, n);
}

/* "example.sleep_hash": sleeps (as sleep_echo: the first 4 argument bytes,
 * microseconds), then stores weft.hash's result for its argument and
 * inputs: a graph node that takes a known time and whose result depends
 * on everything before it, for tests of graphs that lose nodes. */
static int sleep_hash(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    size_t n;
    const unsigned char *a = weft_node_arg(ctx, &n);
    if (n < 4) return WEFT_EINVAL;
    unsigned us = (unsigned)a[0] | (unsigned)a[1] << 8 | (unsigned)a[2] << 16 | (unsigned)a[3] << 24;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    weft_node_fn hash;
    void *harg;
    int rc = weft_task_lookup("weft.hash", &hash, &harg);
    return rc ? rc : hash(ctx, harg);
}

/* "example.fail": fails with the status given as ASCII decimal. */
static int fail(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    size_t n;
    const char *a = weft_node_arg(ctx, &n);
    char buf[16] = {0};
    memcpy(buf, a, n < 15 ? n : 15);
    int v = atoi(buf);
    return v ? v : 1;
}

PLUGIN_API int weft_plugin_init(void);
PLUGIN_API int weft_plugin_init(void) {
    int rc = weft_task_register("example.upper", upper, NULL);
    if (!rc) rc = weft_task_register("example.sleep_echo", sleep_echo, NULL);
    if (!rc) rc = weft_task_register("example.fail", fail, NULL);
    if (!rc) rc = weft_task_register("example.sleep_hash", sleep_hash, NULL);
    return rc;
}
