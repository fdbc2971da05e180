/* builtin.c: weft's built-in named tasks, which every binding and every
 * node daemon registers (weft_tasks_register_builtin), so that graph files
 * and remote work can name them anywhere:
 *   weft.echo        result = the argument bytes (or, without any, the
 *                    first input's), unchanged
 *   weft.sum_primes  the sum of the primes below N (ASCII decimal)
 *   weft.sum         the sum of the decimal numbers in argument and inputs
 *   weft.hash        a 64-bit FNV-1a hash of the argument and the inputs
 *                    (each with its length), as 16 hex digits: a tiny task
 *                    whose result depends on every byte it was given, for
 *                    checking that a graph ran the same anywhere */
#include <stdio.h>

#include "gr.h"


/* Reads an unsigned decimal number (surrounding blanks allowed). */
static int parse_u64(const void *data, size_t len, uint64_t *out) {
    const char *s = data, *e = s + len;
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) e--;
    if (s == e) return WEFT_EINVAL;
    uint64_t v = 0;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9') return WEFT_EINVAL;
        if (v > (UINT64_MAX - 9) / 10) return WEFT_ERANGE;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static int set_u64_result(weft_node_ctx_t *ctx, uint64_t v) {
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return weft_node_set_result(ctx, buf, (size_t)n);
}

static int is_prime(uint64_t n) {
    if (n < 2) return 0;
    if (n < 4) return 1;
    if (n % 2 == 0) return 0;
    for (uint64_t i = 3; i * i <= n; i += 2)
        if (n % i == 0) return 0;
    return 1;
}

#define GR_SUM_PRIMES_MAX 100000000ull

/* "weft.sum_primes": the sum of the primes below N, N being the argument
 * bytes (ASCII decimal), or the first input when the argument is empty.
 * Result: the sum in ASCII decimal. N above 10^8: WEFT_ERANGE. */
static int sum_primes_task(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    size_t len;
    const void *a = weft_node_arg(ctx, &len);
    if (!a || !len) a = weft_node_input(ctx, 0, &len);
    uint64_t n;
    int rc = a ? parse_u64(a, len, &n) : WEFT_EINVAL;
    if (rc) return rc;
    if (n > GR_SUM_PRIMES_MAX) return WEFT_ERANGE;
    uint64_t sum = 0;
    for (uint64_t x = 2; x < n; x++)
        if (is_prime(x)) sum += x;
    return set_u64_result(ctx, sum);
}

/* "weft.sum": the sum of the decimal numbers in the argument (blank
 * separated, may be empty) and in every input that stored one. */
static int sum_task(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    uint64_t sum = 0;
    size_t ni = weft_node_input_count(ctx);
    for (size_t i = 0; i <= ni; i++) {
        size_t len;
        const char *d = i == 0 ? weft_node_arg(ctx, &len) : weft_node_input(ctx, i - 1, &len);
        if (!d) continue;
        const char *e = d + len;
        while (d < e) {
            while (d < e && (*d == ' ' || *d == '\t' || *d == '\n' || *d == '\r')) d++;
            const char *w = d;
            while (d < e && !(*d == ' ' || *d == '\t' || *d == '\n' || *d == '\r')) d++;
            if (d == w) break;
            uint64_t v;
            int rc = parse_u64(w, (size_t)(d - w), &v);
            if (rc) return rc;
            sum += v;
        }
    }
    return set_u64_result(ctx, sum);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static int hash_task(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t ni = weft_node_input_count(ctx);
    for (size_t i = 0; i <= ni; i++) {
        size_t len;
        const void *d = i == 0 ? weft_node_arg(ctx, &len) : weft_node_input(ctx, i - 1, &len);
        uint64_t l = d ? len : 0;
        unsigned char le[8]; /* the same on every machine */
        for (int k = 0; k < 8; k++) le[k] = (unsigned char)(l >> (8 * k));
        h = fnv(h, le, sizeof le);
        if (d) h = fnv(h, d, len);
    }
    static const char hex[] = "0123456789abcdef";
    char buf[16];
    for (int k = 0; k < 16; k++) buf[k] = hex[(h >> (60 - 4 * k)) & 15];
    return weft_node_set_result(ctx, buf, 16);
}

/* "weft.echo": the argument bytes back, or the first input's when the
 * argument is empty; no bytes at all give an empty result. */
static int echo_task(weft_node_ctx_t *ctx, void *unused) {
    (void)unused;
    size_t len;
    const void *a = weft_node_arg(ctx, &len);
    if (!a || !len) a = weft_node_input(ctx, 0, &len);
    return a && len ? weft_node_set_result(ctx, a, len) : 0;
}

int weft_tasks_register_builtin(void) {
    int rc = weft_task_register("weft.echo", echo_task, NULL);
    if (!rc) rc = weft_task_register("weft.sum_primes", sum_primes_task, NULL);
    if (!rc) rc = weft_task_register("weft.sum", sum_task, NULL);
    if (!rc) rc = weft_task_register("weft.hash", hash_task, NULL);
    return rc;
}
