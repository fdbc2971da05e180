/* Suite "parallel": weft_parallel_for coverage (every index exactly once,
 * chunks within the grain), argument errors, failing chunks, nesting;
 * weft_map; weft_reduce with user combines (including a non-commutative
 * one, to check the documented left-to-right order); weft_reduce_double and
 * weft_reduce_int64 against serial loops. */
#include "weft_test.h"

#include <pthread.h>

/* ------------------------------------------------------------------ */
/* parallel_for                                                        */

struct wt_cover {
    int64_t begin, end, grain;
    atomic_int *hits;     /* end - begin entries */
    atomic_long calls;    /* chunks seen */
    atomic_int bad_chunk; /* empty, out of range or over the grain */
    int64_t fail_index;   /* the chunk holding it returns 3; INT64_MIN: none */
};

static int wt_cover_fn(void *ctx, int64_t b, int64_t e)
{
    struct wt_cover *c = ctx;
    int rc = 0;
    atomic_fetch_add(&c->calls, 1);
    if (b >= e || b < c->begin || e > c->end || e - b > c->grain) {
        atomic_fetch_add(&c->bad_chunk, 1);
        return 0;
    }
    for (int64_t i = b; i < e; i++) {
        atomic_fetch_add_explicit(&c->hits[i - c->begin], 1, memory_order_relaxed);
        if (i == c->fail_index)
            rc = 3;
    }
    return rc;
}

static void wt_cover_init(struct wt_cover *c, int64_t begin, int64_t end, int64_t grain)
{
    c->begin = begin;
    c->end = end;
    c->grain = grain;
    c->hits = calloc((size_t)(end - begin) + 1, sizeof *c->hits);
    ck_assert_ptr_nonnull(c->hits);
    atomic_init(&c->calls, 0);
    atomic_init(&c->bad_chunk, 0);
    c->fail_index = INT64_MIN;
}

static void wt_cover_check(struct wt_cover *c)
{
    int64_t n = c->end - c->begin;
    ck_assert_int_eq(wt_ld(&c->bad_chunk), 0);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(wt_ld(&c->hits[i]) == 1, "index %lld hit %d times (grain %lld)",
                      (long long)(c->begin + i), atomic_load(&c->hits[i]), (long long)c->grain);
    /* At least ceil(n / grain) chunks. */
    ck_assert_int_ge(wt_ldl(&c->calls), (n + c->grain - 1) / c->grain);
    free(c->hits);
}

/* Runs weft_parallel_for over [begin, end) with the grain, asserting that
 * it succeeds and covers every index exactly once (wt_cover_check);
 * returns the number of chunks. */
static long wt_cover_run(weft_runtime_t *rt, int64_t begin, int64_t end, int64_t grain)
{
    struct wt_cover c;
    wt_cover_init(&c, begin, end, grain);
    ck_assert_int_eq(weft_parallel_for(rt, begin, end, grain, wt_cover_fn, &c), 0);
    wt_cover_check(&c);
    return wt_ldl(&c.calls);
}

START_TEST(test_for_covers_every_index)
{
    const int64_t grains[] = {1, 7, 64, 1000, 100003, 100004, 5000000};
    const int64_t begin = 1000, end = 1000 + 100003; /* prime length */
    weft_runtime_t *rt = wt_runtime(2);
    for (size_t k = 0; k < sizeof grains / sizeof grains[0]; k++)
        wt_cover_run(rt, begin, end, grains[k]);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_for_grain_larger_than_range)
{
    weft_runtime_t *rt = wt_runtime(2);
    ck_assert_int_eq(wt_cover_run(rt, 0, 10, 1000), 1); /* one chunk, the whole range */
    wt_destroy(rt);
}
END_TEST

START_TEST(test_for_negative_and_single)
{
    weft_runtime_t *rt = wt_runtime(3);
    wt_cover_run(rt, -5000, 5000, 3);
    ck_assert_int_eq(wt_cover_run(rt, 41, 42, 1), 1);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_for_one_worker)
{
    weft_runtime_t *rt = wt_runtime(1);
    wt_cover_run(rt, 0, 20000, 16);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_for_empty_range)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_cover c;
    wt_cover_init(&c, 5, 5, 1);
    ck_assert_int_eq(weft_parallel_for(rt, 5, 5, 1, wt_cover_fn, &c), 0);
    ck_assert_int_eq(weft_parallel_for(rt, -3, -3, 100, wt_cover_fn, &c), 0);
    ck_assert_int_eq(wt_ldl(&c.calls), 0);
    free(c.hits);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_for_errors)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_cover c;
    wt_cover_init(&c, 0, 100, 100);
    WT_ASSERT_RC(weft_parallel_for(rt, 0, 100, 0, wt_cover_fn, &c), WEFT_EINVAL);
    WT_ASSERT_RC(weft_parallel_for(rt, 0, 100, -1, wt_cover_fn, &c), WEFT_EINVAL);
    WT_ASSERT_RC(weft_parallel_for(rt, 0, 100, INT64_MIN, wt_cover_fn, &c), WEFT_EINVAL);
    WT_ASSERT_RC(weft_parallel_for(rt, 100, 0, 10, wt_cover_fn, &c), WEFT_EINVAL);
    WT_ASSERT_RC(weft_parallel_for(rt, 1, 0, 10, wt_cover_fn, &c), WEFT_EINVAL);
    WT_ASSERT_RC(weft_parallel_for(rt, 0, 100, 10, NULL, &c), WEFT_EINVAL);
    WT_ASSERT_RC(weft_parallel_for(NULL, 0, 100, 10, wt_cover_fn, &c), WEFT_EINVAL);
    ck_assert_int_eq(wt_ldl(&c.calls), 0);
    free(c.hits);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_for_failing_chunk)
{
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_cover c;
    wt_cover_init(&c, 0, 10000, 10);
    c.fail_index = 500;
    WT_ASSERT_RC(weft_parallel_for(rt, 0, 10000, 10, wt_cover_fn, &c), WEFT_ETASK);
    wt_cover_check(&c); /* the other chunks still ran, each once */
    /* The runtime is fine afterwards. */
    wt_cover_run(rt, 0, 10000, 10);
    wt_destroy(rt);
}
END_TEST

/* Nested: each outer index runs an inner parallel_for over 1000 indices. */
enum { WT_OUTER = 16, WT_INNER = 1000 };
static atomic_int wt_nested_hits[WT_OUTER][WT_INNER];
static atomic_int wt_nested_errors;

static int wt_inner_fn(void *ctx, int64_t b, int64_t e)
{
    int64_t o = (int64_t)(intptr_t)ctx;
    for (int64_t i = b; i < e; i++)
        atomic_fetch_add(&wt_nested_hits[o][i], 1);
    return 0;
}

static int wt_outer_fn(void *ctx, int64_t b, int64_t e)
{
    weft_runtime_t *rt = ctx;
    if (weft_current_runtime() != rt)
        atomic_fetch_add(&wt_nested_errors, 1);
    for (int64_t o = b; o < e; o++)
        if (weft_parallel_for(rt, 0, WT_INNER, 10, wt_inner_fn, (void *)(intptr_t)o) != 0)
            atomic_fetch_add(&wt_nested_errors, 1);
    return 0;
}

static void wt_check_nested(void)
{
    ck_assert_int_eq(wt_ld(&wt_nested_errors), 0);
    for (int o = 0; o < WT_OUTER; o++)
        for (int i = 0; i < WT_INNER; i++)
            ck_assert_int_eq(wt_ld(&wt_nested_hits[o][i]), 1);
}

START_TEST(test_for_nested)
{
    weft_runtime_t *rt = wt_runtime(2);
    ck_assert_int_eq(weft_parallel_for(rt, 0, WT_OUTER, 1, wt_outer_fn, rt), 0);
    wt_check_nested();
    wt_destroy(rt);
}
END_TEST

static int wt_for_in_task(void *arg, void **result)
{
    weft_runtime_t *rt = arg;
    (void)result;
    return weft_parallel_for(rt, 0, WT_OUTER, 2, wt_outer_fn, rt);
}

START_TEST(test_for_inside_task)
{
    weft_runtime_t *rt = wt_runtime(2);
    wt_job_run(rt, wt_for_in_task, rt);
    wt_check_nested();
    wt_destroy(rt);
}
END_TEST

struct wt_for_thread {
    weft_runtime_t *rt;
    struct wt_cover c;
    int rc;
};

static void *wt_for_thread_main(void *arg)
{
    struct wt_for_thread *t = arg;
    t->rc = weft_parallel_for(t->rt, t->c.begin, t->c.end, t->c.grain, wt_cover_fn, &t->c);
    return NULL;
}

START_TEST(test_for_from_several_threads)
{
    enum { T = 4 };
    weft_runtime_t *rt = wt_runtime(2);
    static struct wt_for_thread t[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        t[i].rt = rt;
        wt_cover_init(&t[i].c, i * 1000, i * 1000 + 50000, 1 + 13 * i);
        ck_assert_int_eq(pthread_create(&th[i], NULL, wt_for_thread_main, &t[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(t[i].rc, 0);
        wt_cover_check(&t[i].c);
    }
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* map                                                                 */

static int wt_square_fn(void *ctx, const void *in, void *out)
{
    int64_t v;
    (void)ctx;
    memcpy(&v, in, sizeof v);
    v *= v;
    memcpy(out, &v, sizeof v);
    return 0;
}

static int wt_half_fn(void *ctx, const void *in, void *out)
{
    int32_t v;
    double d;
    (void)ctx;
    memcpy(&v, in, sizeof v);
    d = v / 2.0;
    memcpy(out, &d, sizeof d);
    return v == *(const int32_t *)ctx ? 1 : 0; /* fails on one chosen value */
}

START_TEST(test_map_squares)
{
    enum { N = 100007 };
    weft_runtime_t *rt = wt_runtime(2);
    int64_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    const size_t grains[] = {1, 64, 5000, 1000000};
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    for (int64_t i = 0; i < N; i++)
        in[i] = i - 50000;
    for (size_t k = 0; k < sizeof grains / sizeof grains[0]; k++) {
        memset(out, 0xab, N * sizeof *out);
        ck_assert_int_eq(weft_map(rt, in, sizeof *in, out, sizeof *out, N, grains[k],
                                  wt_square_fn, NULL),
                         0);
        for (int64_t i = 0; i < N; i++)
            ck_assert_int_eq(out[i], in[i] * in[i]);
    }
    free(in);
    free(out);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_map_different_sizes_and_failure)
{
    enum { N = 10000 };
    weft_runtime_t *rt = wt_runtime(2);
    int32_t in[N];
    static double out[N];
    int32_t never = -1, fail_at = 7777;
    for (int i = 0; i < N; i++)
        in[i] = i;
    ck_assert_int_eq(weft_map(rt, in, sizeof in[0], out, sizeof out[0], N, 100, wt_half_fn, &never),
                     0);
    for (int i = 0; i < N; i++)
        ck_assert(out[i] == i / 2.0);
    WT_ASSERT_RC(weft_map(rt, in, sizeof in[0], out, sizeof out[0], N, 100, wt_half_fn, &fail_at),
                 WEFT_ETASK);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_map_errors_and_empty)
{
    weft_runtime_t *rt = wt_runtime(2);
    int64_t in[4] = {1, 2, 3, 4}, out[4] = {0, 0, 0, 0};
    WT_ASSERT_RC(weft_map(rt, in, 0, out, sizeof out[0], 4, 1, wt_square_fn, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_map(rt, in, sizeof in[0], out, 0, 4, 1, wt_square_fn, NULL), WEFT_EINVAL);
    WT_ASSERT_RC(weft_map(rt, in, sizeof in[0], out, sizeof out[0], 4, 0, wt_square_fn, NULL),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_map(rt, NULL, sizeof in[0], out, sizeof out[0], 4, 1, wt_square_fn, NULL),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_map(rt, in, sizeof in[0], NULL, sizeof out[0], 4, 1, wt_square_fn, NULL),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_map(rt, in, sizeof in[0], out, sizeof out[0], 4, 1, NULL, NULL), WEFT_EINVAL);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(out[i], 0);
    /* No elements: nothing to do, NULL arrays allowed. */
    ck_assert_int_eq(weft_map(rt, NULL, sizeof in[0], NULL, sizeof out[0], 0, 1, wt_square_fn, NULL),
                     0);
    ck_assert_int_eq(weft_map(rt, in, sizeof in[0], out, sizeof out[0], 0, 1, wt_square_fn, NULL), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(out[i], 0);
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* reduce                                                              */

struct wt_sumcount {
    int64_t sum;
    int64_t count;
};

static void wt_sumcount_combine(void *ctx, void *acc, const void *value)
{
    struct wt_sumcount *a = acc;
    const struct wt_sumcount *v = value;
    (void)ctx;
    a->sum += v->sum;
    a->count += v->count;
}

START_TEST(test_reduce_struct)
{
    enum { N = 100003 };
    weft_runtime_t *rt = wt_runtime(2);
    struct wt_sumcount *data = malloc(N * sizeof *data);
    const struct wt_sumcount identity = {0, 0};
    const size_t grains[] = {1, 10, 4096, 1000000};
    int64_t expect = 0;
    ck_assert_ptr_nonnull(data);
    for (int64_t i = 0; i < N; i++) {
        data[i].sum = i * 3 - 7;
        data[i].count = 1;
        expect += data[i].sum;
    }
    for (size_t k = 0; k < sizeof grains / sizeof grains[0]; k++) {
        struct wt_sumcount r = {-1, -1};
        ck_assert_int_eq(weft_reduce(rt, data, N, sizeof *data, grains[k], &identity,
                                     wt_sumcount_combine, NULL, &r),
                         0);
        ck_assert_int_eq(r.sum, expect);
        ck_assert_int_eq(r.count, N);
    }
    free(data);
    wt_destroy(rt);
}
END_TEST

/* 2x2 matrices modulo a prime: associative but not commutative, so the
 * parallel result equals the serial left-to-right product only if weft
 * keeps the order it documents. */
#define WT_P 1000000007LL

struct wt_mat {
    int64_t a, b, c, d;
};

static void wt_mat_mul(struct wt_mat *acc, const struct wt_mat *v)
{
    struct wt_mat r;
    r.a = (acc->a * v->a + acc->b * v->c) % WT_P;
    r.b = (acc->a * v->b + acc->b * v->d) % WT_P;
    r.c = (acc->c * v->a + acc->d * v->c) % WT_P;
    r.d = (acc->c * v->b + acc->d * v->d) % WT_P;
    *acc = r;
}

static void wt_mat_combine(void *ctx, void *acc, const void *value)
{
    atomic_fetch_add((atomic_long *)ctx, 1);
    wt_mat_mul(acc, value);
}

START_TEST(test_reduce_order_non_commutative)
{
    enum { N = 20011 };
    weft_runtime_t *rt = wt_runtime(2);
    static struct wt_mat data[N];
    const struct wt_mat identity = {1, 0, 0, 1};
    struct wt_mat expect = identity;
    const size_t grains[] = {1, 3, 100, 7000, 50000};
    uint64_t h = 12345;
    for (int i = 0; i < N; i++) {
        h = wt_mix64(h);
        data[i].a = (int64_t)(h % 1000);
        data[i].b = (int64_t)((h >> 10) % 1000);
        data[i].c = (int64_t)((h >> 20) % 1000);
        data[i].d = (int64_t)((h >> 30) % 1000);
        wt_mat_mul(&expect, &data[i]);
    }
    for (size_t k = 0; k < sizeof grains / sizeof grains[0]; k++) {
        struct wt_mat r = {-1, -1, -1, -1};
        atomic_long calls;
        atomic_init(&calls, 0);
        ck_assert_int_eq(weft_reduce(rt, data, N, sizeof data[0], grains[k], &identity,
                                     wt_mat_combine, &calls, &r),
                         0);
        ck_assert_msg(r.a == expect.a && r.b == expect.b && r.c == expect.c && r.d == expect.d,
                      "grain %zu: product differs from the serial left-to-right one", grains[k]);
        ck_assert_int_ge(wt_ldl(&calls), N); /* every element folded in */
    }
    wt_destroy(rt);
}
END_TEST

/* The identity really seeds each chunk: with max over int64 and identity
 * INT64_MIN the result is the maximum, with identity 1000 it is clamped. */
static void wt_max_combine(void *ctx, void *acc, const void *value)
{
    int64_t *a = acc;
    const int64_t *v = value;
    (void)ctx;
    if (*v > *a)
        *a = *v;
}

START_TEST(test_reduce_identity)
{
    enum { N = 5000 };
    weft_runtime_t *rt = wt_runtime(2);
    int64_t data[N];
    int64_t id_low = INT64_MIN, id_high = 1000, r = 0;
    for (int i = 0; i < N; i++)
        data[i] = -(int64_t)i - 1; /* all negative; max is -1 */
    ck_assert_int_eq(weft_reduce(rt, data, N, sizeof data[0], 64, &id_low, wt_max_combine, NULL, &r),
                     0);
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(weft_reduce(rt, data, N, sizeof data[0], 64, &id_high, wt_max_combine, NULL, &r),
                     0);
    ck_assert_int_eq(r, 1000);
    /* No elements: the identity. */
    r = 0;
    ck_assert_int_eq(weft_reduce(rt, data, 0, sizeof data[0], 64, &id_high, wt_max_combine, NULL, &r),
                     0);
    ck_assert_int_eq(r, 1000);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_reduce_errors)
{
    weft_runtime_t *rt = wt_runtime(2);
    static unsigned char big[2 * 4097];
    static unsigned char big_id[4097], big_out[4097];
    int64_t data[4] = {1, 2, 3, 4}, id = 0, r = 77;
    WT_ASSERT_RC(weft_reduce(rt, data, 4, 0, 1, &id, wt_max_combine, NULL, &r), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce(rt, data, 4, sizeof data[0], 0, &id, wt_max_combine, NULL, &r),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce(rt, NULL, 4, sizeof data[0], 1, &id, wt_max_combine, NULL, &r),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce(rt, data, 4, sizeof data[0], 1, NULL, wt_max_combine, NULL, &r),
                 WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce(rt, data, 4, sizeof data[0], 1, &id, NULL, NULL, &r), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce(rt, data, 4, sizeof data[0], 1, &id, wt_max_combine, NULL, NULL),
                 WEFT_EINVAL);
    ck_assert_int_eq(r, 77);
    WT_ASSERT_RC(weft_reduce(rt, big, 2, 4097, 1, big_id, wt_max_combine, NULL, big_out),
                 WEFT_ERANGE);
    wt_destroy(rt);
}
END_TEST

static void wt_big_combine(void *ctx, void *acc, const void *value)
{
    unsigned char *a = acc;
    const unsigned char *v = value;
    (void)ctx;
    for (int i = 0; i < 4096; i++)
        a[i] = (unsigned char)(a[i] + v[i]);
}

START_TEST(test_reduce_max_elem_size)
{
    enum { N = 300 };
    weft_runtime_t *rt = wt_runtime(2);
    static unsigned char data[N][4096], id[4096], out[4096];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 4096; j++)
            data[i][j] = (unsigned char)(i + j);
    ck_assert_int_eq(weft_reduce(rt, data, N, 4096, 7, id, wt_big_combine, NULL, out), 0);
    for (int j = 0; j < 4096; j++) {
        unsigned char e = 0;
        for (int i = 0; i < N; i++)
            e = (unsigned char)(e + data[i][j]);
        ck_assert_uint_eq(out[j], e);
    }
    wt_destroy(rt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* reduce_double / reduce_int64                                        */

START_TEST(test_reduce_double_ops)
{
    const size_t sizes[] = {1, 2, 3, 1000, 262147};
    weft_runtime_t *rt = wt_runtime(2);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        double *d = malloc(n * sizeof *d);
        double sum = 0, mn, mx, r;
        uint64_t h = 99 + k;
        ck_assert_ptr_nonnull(d);
        for (size_t i = 0; i < n; i++) {
            h = wt_mix64(h);
            /* Integers and halves: every partial sum is exact in a double,
             * so the order of addition cannot change the total. */
            d[i] = (double)((int64_t)(h % 2000001) - 1000000) / 2.0;
            sum += d[i];
        }
        mn = mx = d[0];
        for (size_t i = 1; i < n; i++) {
            if (d[i] < mn)
                mn = d[i];
            if (d[i] > mx)
                mx = d[i];
        }
        r = -12345.0;
        ck_assert_int_eq(weft_reduce_double(rt, d, n, WEFT_OP_SUM, &r), 0);
        ck_assert_msg(r == sum, "n=%zu: sum %.17g, expected %.17g", n, r, sum);
        ck_assert_int_eq(weft_reduce_double(rt, d, n, WEFT_OP_MIN, &r), 0);
        ck_assert(r == mn);
        ck_assert_int_eq(weft_reduce_double(rt, d, n, WEFT_OP_MAX, &r), 0);
        ck_assert(r == mx);
        free(d);
    }
    wt_destroy(rt);
}
END_TEST

START_TEST(test_reduce_int64_ops)
{
    const size_t sizes[] = {1, 2, 999, 500009};
    weft_runtime_t *rt = wt_runtime(2);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        int64_t *d = malloc(n * sizeof *d);
        int64_t sum = 0, mn = INT64_MAX, mx = INT64_MIN, r;
        uint64_t h = 7 + k;
        ck_assert_ptr_nonnull(d);
        for (size_t i = 0; i < n; i++) {
            h = wt_mix64(h);
            d[i] = (int64_t)(h % 2000000000001ull) - 1000000000000ll; /* +-1e12 */
            sum += d[i];
            if (d[i] < mn)
                mn = d[i];
            if (d[i] > mx)
                mx = d[i];
        }
        r = 12345;
        ck_assert_int_eq(weft_reduce_int64(rt, d, n, WEFT_OP_SUM, &r), 0);
        ck_assert_int_eq(r, sum);
        ck_assert_int_eq(weft_reduce_int64(rt, d, n, WEFT_OP_MIN, &r), 0);
        ck_assert_int_eq(r, mn);
        ck_assert_int_eq(weft_reduce_int64(rt, d, n, WEFT_OP_MAX, &r), 0);
        ck_assert_int_eq(r, mx);
        free(d);
    }
    wt_destroy(rt);
}
END_TEST

START_TEST(test_reduce_extremes)
{
    weft_runtime_t *rt = wt_runtime(2);
    int64_t d[3] = {INT64_MAX, INT64_MIN, 0}, r = 0;
    double x[3] = {-1e300, 1e300, -0.5}, rd = 0;
    ck_assert_int_eq(weft_reduce_int64(rt, d, 3, WEFT_OP_MIN, &r), 0);
    ck_assert_int_eq(r, INT64_MIN);
    ck_assert_int_eq(weft_reduce_int64(rt, d, 3, WEFT_OP_MAX, &r), 0);
    ck_assert_int_eq(r, INT64_MAX);
    ck_assert_int_eq(weft_reduce_double(rt, x, 3, WEFT_OP_MIN, &rd), 0);
    ck_assert(rd == -1e300);
    ck_assert_int_eq(weft_reduce_double(rt, x, 3, WEFT_OP_MAX, &rd), 0);
    ck_assert(rd == 1e300);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_reduce_empty)
{
    weft_runtime_t *rt = wt_runtime(2);
    double d[1] = {5.0}, rd = 99.0;
    int64_t i[1] = {5}, ri = 99;
    ck_assert_int_eq(weft_reduce_double(rt, d, 0, WEFT_OP_SUM, &rd), 0);
    ck_assert(rd == 0.0);
    ck_assert_int_eq(weft_reduce_int64(rt, i, 0, WEFT_OP_SUM, &ri), 0);
    ck_assert_int_eq(ri, 0);
    WT_ASSERT_RC(weft_reduce_double(rt, d, 0, WEFT_OP_MIN, &rd), WEFT_ERANGE);
    WT_ASSERT_RC(weft_reduce_double(rt, d, 0, WEFT_OP_MAX, &rd), WEFT_ERANGE);
    WT_ASSERT_RC(weft_reduce_int64(rt, i, 0, WEFT_OP_MIN, &ri), WEFT_ERANGE);
    WT_ASSERT_RC(weft_reduce_int64(rt, i, 0, WEFT_OP_MAX, &ri), WEFT_ERANGE);
    wt_destroy(rt);
}
END_TEST

START_TEST(test_reduce_bad_op)
{
    weft_runtime_t *rt = wt_runtime(2);
    double d[2] = {1, 2}, rd = 0;
    int64_t i[2] = {1, 2}, ri = 0;
    WT_ASSERT_RC(weft_reduce_double(rt, d, 2, (weft_op_t)3, &rd), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce_double(rt, d, 2, (weft_op_t)-1, &rd), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce_int64(rt, i, 2, (weft_op_t)3, &ri), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce_double(rt, NULL, 2, WEFT_OP_SUM, &rd), WEFT_EINVAL);
    WT_ASSERT_RC(weft_reduce_int64(rt, i, 2, WEFT_OP_SUM, NULL), WEFT_EINVAL);
    wt_destroy(rt);
}
END_TEST

static int wt_reduce_in_task(void *arg, void **result)
{
    const int64_t *d = arg;
    int64_t r = 0;
    int rc = weft_reduce_int64(weft_current_runtime(), d, 100000, WEFT_OP_SUM, &r);
    (void)result;
    if (rc != 0)
        return rc;
    return r == 100000LL * 99999 / 2 ? 0 : 1;
}

START_TEST(test_reduce_inside_task)
{
    weft_runtime_t *rt = wt_runtime(2);
    static int64_t d[100000];
    weft_job_t *jobs[4];
    for (int i = 0; i < 100000; i++)
        d[i] = i;
    for (int j = 0; j < 4; j++)
        ck_assert_int_eq(weft_submit(rt, wt_reduce_in_task, d, NULL, &jobs[j]), 0);
    for (int j = 0; j < 4; j++) {
        int status = -1;
        ck_assert_int_eq(weft_job_wait(jobs[j], &status, NULL), 0);
        ck_assert_int_eq(status, 0);
        ck_assert_int_eq(weft_job_free(jobs[j]), 0);
    }
    wt_destroy(rt);
}
END_TEST

static Suite *parallel_suite(void)
{
    Suite *s = suite_create("parallel");
    TCase *tc = wt_tcase(s, "for", WT_TIMEOUT_S);
    tcase_add_test(tc, test_for_covers_every_index);
    tcase_add_test(tc, test_for_grain_larger_than_range);
    tcase_add_test(tc, test_for_negative_and_single);
    tcase_add_test(tc, test_for_one_worker);
    tcase_add_test(tc, test_for_empty_range);
    tcase_add_test(tc, test_for_errors);
    tcase_add_test(tc, test_for_failing_chunk);
    tcase_add_test(tc, test_for_nested);
    tcase_add_test(tc, test_for_inside_task);
    tcase_add_test(tc, test_for_from_several_threads);

    tc = wt_tcase(s, "map", WT_TIMEOUT_S);
    tcase_add_test(tc, test_map_squares);
    tcase_add_test(tc, test_map_different_sizes_and_failure);
    tcase_add_test(tc, test_map_errors_and_empty);

    tc = wt_tcase(s, "reduce", WT_TIMEOUT_S);
    tcase_add_test(tc, test_reduce_struct);
    tcase_add_test(tc, test_reduce_order_non_commutative);
    tcase_add_test(tc, test_reduce_identity);
    tcase_add_test(tc, test_reduce_errors);
    tcase_add_test(tc, test_reduce_max_elem_size);
    tcase_add_test(tc, test_reduce_double_ops);
    tcase_add_test(tc, test_reduce_int64_ops);
    tcase_add_test(tc, test_reduce_extremes);
    tcase_add_test(tc, test_reduce_empty);
    tcase_add_test(tc, test_reduce_bad_op);
    tcase_add_test(tc, test_reduce_inside_task);
    return s;
}

int main(void)
{
    return wt_run_suite(parallel_suite());
}
