/* test_plugin.c: a plugin of named tasks for the tools' tests (weft-run
 * --load): registers
 *   test.upper  the argument bytes (or else the first input's) in upper case
 *   test.concat the inputs' bytes one after another, in edge order
 *   test.fail   fails with the decimal number in its argument bytes (7 if none)
 *   test.sleep  sleeps the milliseconds in its argument bytes, then succeeds
 * Built with TEST_PLUGIN_BAD_INIT, its init fails (WEFT_ENOMEM). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft.h"

static int upper(weft_node_ctx_t *ctx, void *arg) {
    (void)arg;
    size_t len;
    const char *a = weft_node_arg(ctx, &len);
    if (!a || !len) a = weft_node_input(ctx, 0, &len);
    if (!a || !len) return 0;
    char *s = malloc(len);
    if (!s) return WEFT_ENOMEM;
    for (size_t i = 0; i < len; i++) s[i] = (char)toupper((unsigned char)a[i]);
    int rc = weft_node_set_result(ctx, s, len);
    free(s);
    return rc;
}

static int concat(weft_node_ctx_t *ctx, void *arg) {
    (void)arg;
    size_t n = weft_node_input_count(ctx), total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        weft_node_input(ctx, i, &len);
        total += len;
    }
    char *s = malloc(total ? total : 1);
    if (!s) return WEFT_ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const void *d = weft_node_input(ctx, i, &len);
        if (len) memcpy(s + at, d, len);
        at += len;
    }
    int rc = weft_node_set_result(ctx, s, total);
    free(s);
    return rc;
}

static int fail(weft_node_ctx_t *ctx, void *arg) {
    (void)arg;
    size_t len;
    const char *a = weft_node_arg(ctx, &len);
    char buf[16] = "7";
    if (a && len && len < sizeof buf) {
        memcpy(buf, a, len);
        buf[len] = 0;
    }
    return atoi(buf);
}

static int sleep_ms(weft_node_ctx_t *ctx, void *arg) {
    (void)arg;
    size_t len;
    const char *a = weft_node_arg(ctx, &len);
    char buf[16] = "0";
    if (a && len && len < sizeof buf) {
        memcpy(buf, a, len);
        buf[len] = 0;
    }
    long ms = atol(buf);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 0;
}

int weft_plugin_init(void);
int weft_plugin_init(void) {
    int rc = weft_task_register("test.upper", upper, NULL);
    if (!rc) rc = weft_task_register("test.concat", concat, NULL);
    if (!rc) rc = weft_task_register("test.fail", fail, NULL);
    if (!rc) rc = weft_task_register("test.sleep", sleep_ms, NULL);
#ifdef TEST_PLUGIN_BAD_INIT
    if (!rc) rc = WEFT_ENOMEM; /* fails after registering its tasks */
#endif
    return rc;
}
