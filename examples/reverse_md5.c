/* reverse_md5: Parallel Python's reverse_md5.py on weft.
 *
 * Finds the integer x in [0, N) whose decimal string has a given MD5 digest
 * by brute force, as 128 jobs over consecutive slices of the range. The
 * first job to find it publishes x and raises a shared atomic flag; every
 * other job checks the flag as it goes and returns early, so the search
 * stops soon after the answer is known instead of hashing the whole range
 * (pp's version lets the remaining jobs run to the end).
 *
 * Usage: reverse_md5 [HASH [N [WORKERS]]]
 *   HASH     32 hex digits (default: the MD5 of "1234567")
 *   N        end of the range searched, 1..2^62 (default 20000000)
 *   WORKERS  weft worker count, 0 = default (default 0)
 *
 * Prints "Reverse md5 for HASH is X" and exits 0, or says it was not found
 * and exits 1 (as grep does for no match); 2 on errors.
 *
 * MD5 comes from OpenSSL's libcrypto through the EVP interface (the
 * low-level MD5() is deprecated in OpenSSL 3). Each job keeps one digest
 * context and reuses it for every candidate. */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include <weft.h>

#define NPARTS 128
#define DEFAULT_N INT64_C(20000000)
#define DEFAULT_SECRET "1234567"
#define MD5_LEN 16
#define CHECK_EVERY 256 /* candidates between two looks at the stop flag */

typedef struct search {
    const EVP_MD *md;            /* MD5, shared read-only by every job */
    unsigned char target[MD5_LEN];
    atomic_int stop;             /* 1 once found, or once a job failed */
    _Atomic int64_t found;       /* the answer, -1 until found */
    atomic_int early;            /* jobs that returned before their end */
} search_t;

typedef struct slice {
    search_t *s;
    int64_t start, end; /* candidates [start, end) */
} slice_t;

/* Task: hashes the decimal strings of its slice. Returns 1 if libcrypto
 * failed (which also stops the other jobs). */
static int md5_task(void *arg, void **result)
{
    (void)result;
    const slice_t *sl = arg;
    search_t *s = sl->s;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        atomic_store_explicit(&s->stop, 1, memory_order_relaxed);
        return 1;
    }
    int status = 0;
    for (int64_t x = sl->start; x < sl->end; x++) {
        /* relaxed: the flag only says "stop"; the answer itself is read by
         * the main thread after weft_group_wait, which orders everything. */
        if ((x - sl->start) % CHECK_EVERY == 0 &&
            atomic_load_explicit(&s->stop, memory_order_relaxed)) {
            atomic_fetch_add_explicit(&s->early, 1, memory_order_relaxed);
            break;
        }
        char text[24];
        int len = snprintf(text, sizeof text, "%" PRId64, x);
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int dlen = 0;
        if (EVP_DigestInit_ex(ctx, s->md, NULL) != 1 ||
            EVP_DigestUpdate(ctx, text, (size_t)len) != 1 ||
            EVP_DigestFinal_ex(ctx, digest, &dlen) != 1 || dlen != MD5_LEN) {
            atomic_store_explicit(&s->stop, 1, memory_order_relaxed);
            status = 1;
            break;
        }
        if (memcmp(digest, s->target, MD5_LEN) == 0) {
            int64_t none = -1; /* first finder wins (a second is a collision) */
            atomic_compare_exchange_strong(&s->found, &none, x);
            atomic_store_explicit(&s->stop, 1, memory_order_relaxed);
            break;
        }
    }
    EVP_MD_CTX_free(ctx);
    return status;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int parse_hash(const char *hex, unsigned char out[MD5_LEN])
{
    if (strlen(hex) != 2 * MD5_LEN)
        return -1;
    for (int i = 0; i < MD5_LEN; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return 0;
}

static int parse_int64(const char *str, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(str, &end, 10);
    if (errno != 0 || end == str || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static void to_hex(const unsigned char *d, char out[2 * MD5_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < MD5_LEN; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * MD5_LEN] = '\0';
}

static int weft_fail(const char *what, int rc)
{
    fprintf(stderr, "reverse_md5: error: %s: %s (%s)\n", what, weft_err_name(rc),
            weft_strerror(rc));
    return 2;
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [HASH [N [WORKERS]]]\n"
            "  HASH     MD5 to reverse, 32 hex digits (default: md5 of \"%s\")\n"
            "  N        search the integers [0, N), 1..2^62 (default %" PRId64 ")\n"
            "  WORKERS  worker threads, 0..%d, 0 = default\n",
            argv0, DEFAULT_SECRET, DEFAULT_N, WEFT_MAX_WORKERS);
    return 2;
}

int main(int argc, char **argv)
{
    static search_t s;
    int64_t n = DEFAULT_N, nworkers = 0;
    if (argc > 4)
        return usage(argv[0]);

    int have_hash = argc >= 2;
    if (have_hash && parse_hash(argv[1], s.target) != 0)
        return usage(argv[0]);
    if (argc >= 3 && parse_int64(argv[2], 1, INT64_C(1) << 62, &n) != 0)
        return usage(argv[0]);
    if (argc >= 4 && parse_int64(argv[3], 0, WEFT_MAX_WORKERS, &nworkers) != 0)
        return usage(argv[0]);

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    /* Fetch once: EVP_md5() would make every init look the provider up. */
    EVP_MD *fetched = EVP_MD_fetch(NULL, "MD5", NULL);
    s.md = fetched;
#else
    s.md = EVP_md5();
#endif
    if (s.md == NULL) {
        fprintf(stderr, "reverse_md5: error: libcrypto offers no MD5\n");
        return 2;
    }
    if (!have_hash) {
        unsigned int dlen = 0;
        if (EVP_Digest(DEFAULT_SECRET, strlen(DEFAULT_SECRET), s.target, &dlen, s.md,
                       NULL) != 1 ||
            dlen != MD5_LEN) {
            fprintf(stderr, "reverse_md5: error: EVP_Digest failed\n");
            return 2;
        }
    }

    atomic_init(&s.stop, 0);
    atomic_init(&s.found, -1);
    atomic_init(&s.early, 0);
    char hex[2 * MD5_LEN + 1];
    to_hex(s.target, hex);

    weft_runtime_t *rt;
    int rc = weft_runtime_create((int)nworkers, &rt);
    if (rc != 0)
        return weft_fail("weft_runtime_create", rc);
    printf("Starting weft %s with %d workers\n", weft_version(),
           weft_runtime_workers(rt));
    printf("Searching [0, %" PRId64 ") for the number whose md5 is %s\n", n, hex);

    weft_group_t *group;
    rc = weft_group_create(rt, "md5", &group);
    if (rc != 0)
        return weft_fail("weft_group_create", rc);
    static slice_t slices[NPARTS];
    const int64_t step = n / NPARTS + 1;
    int status = 0, submitted = 0;
    for (int i = 0; i < NPARTS; i++) {
        int64_t start = (int64_t)i * step, end = start + step;
        if (start >= n)
            break;
        slices[i] = (slice_t){.s = &s, .start = start, .end = end < n ? end : n};
        rc = weft_spawn(group, md5_task, &slices[i]);
        if (rc != 0) {
            atomic_store(&s.stop, 1); /* let what was submitted end quickly */
            status = weft_fail("weft_spawn", rc);
            break;
        }
        submitted++;
    }

    rc = weft_group_wait(group); /* orders every job's writes before our reads */
    uint64_t failed = 0;
    weft_group_failures(group, &failed, NULL);
    if (rc != 0 || failed != 0) {
        fprintf(stderr, "reverse_md5: error: %" PRIu64 " jobs failed (%s)\n", failed,
                weft_err_name(rc));
        status = 2;
    }
    int64_t found = atomic_load(&s.found);
    if (status == 0) {
        if (found >= 0) {
            printf("Reverse md5 for %s is %" PRId64 "\n", hex, found);
        } else {
            printf("Reverse md5 for %s: not found in [0, %" PRId64 ")\n", hex, n);
            status = 1;
        }
        printf("Jobs: %d, of which %d stopped early\n", submitted,
               atomic_load(&s.early));
    }

    rc = weft_group_free(group);
    if (rc != 0)
        status = weft_fail("weft_group_free", rc);
    rc = weft_stats_print(rt, stdout);
    if (rc != 0)
        status = weft_fail("weft_stats_print", rc);
    rc = weft_runtime_destroy(rt);
    if (rc != 0)
        status = weft_fail("weft_runtime_destroy", rc);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    EVP_MD_free(fetched);
#endif
    if (status != 2) /* found or not, everything worked */
        printf("reverse_md5: done\n");
    return status;
}
