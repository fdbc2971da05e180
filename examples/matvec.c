/* matvec: y = A x as a task graph of row blocks (the seed's MPI example,
 * where each rank owned a block of rows, ported to weft).
 *
 *               +-> rows_0     -+
 *   generate ---+-> rows_1     -+--> check
 *               +-> ...        -+
 *               +-> rows_{B-1} -+
 *
 * - generate fills the n x n matrix A and the vector x from a fixed
 *   pseudo-random sequence (xorshift64*, seed 42), so every run computes
 *   the same product;
 * - rows_b computes y[lo, hi) for its block of rows and hands the slice
 *   back as the node's result bytes (weft_node_set_result), the way a rank
 *   sent its slice to the root;
 * - check reads the B slices as its inputs (weft_node_input, in the order
 *   the edges were added: block 0 first), computes the same product
 *   serially and compares. Each y[i] is summed over j in the same order by
 *   the same function in both, so the results must be bitwise equal: the
 *   largest difference must be exactly 0, and then matvec prints "OK".
 *
 * Usage: matvec [N [BLOCKS [THREADS]]]   (defaults 2000, 16, 0 = weft's
 * default worker count) */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft.h>

#define EXAMPLE_NAME "matvec"
#include "example_util.h"

#define MAX_N 20000
#define MAX_BLOCKS 4096

typedef struct mv_job {
    int n, nblocks;
    double *a, *x;     /* generate: n * n row-major, n */
    double max_diff;   /* check: largest |y - y_serial| */
    double checksum;   /* check: the sum of y */
    int bad_inputs;    /* check: slices of the wrong length */
} mv_job;

typedef struct mv_block {
    mv_job *job;
    int lo, hi; /* rows [lo, hi) */
} mv_block;

/* Uniform in [-1, 1), from xorshift64* (Vigna). */
static double next_value(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    uint64_t r = *s * 0x2545f4914f6cdd1dULL;
    return (double)(r >> 11) * 0x1p-52 - 1.0;
}

/* Row i of A times x, summed left to right: the one definition both the
 * graph and the serial check use. */
static double row_dot(const double *row, const double *x, int n)
{
    double s = 0.0;
    for (int j = 0; j < n; j++)
        s += row[j] * x[j];
    return s;
}

static int generate_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    mv_job *job = arg;
    size_t n = (size_t)job->n;
    job->a = malloc(n * n * sizeof *job->a);
    job->x = malloc(n * sizeof *job->x);
    if (!job->a || !job->x)
        return WEFT_ENOMEM;
    uint64_t s = 42;
    for (size_t k = 0; k < n * n; k++)
        job->a[k] = next_value(&s);
    for (size_t j = 0; j < n; j++)
        job->x[j] = next_value(&s);
    return 0;
}

static int rows_node(weft_node_ctx_t *ctx, void *arg)
{
    mv_block *b = arg;
    const mv_job *job = b->job;
    int m = b->hi - b->lo;
    double *y = malloc((m ? (size_t)m : 1) * sizeof *y);
    if (!y)
        return WEFT_ENOMEM;
    for (int i = b->lo; i < b->hi; i++)
        y[i - b->lo] = row_dot(job->a + (size_t)i * (size_t)job->n, job->x, job->n);
    int rc = weft_node_set_result(ctx, y, (size_t)m * sizeof *y);
    free(y);
    return rc;
}

static int check_node(weft_node_ctx_t *ctx, void *arg)
{
    mv_job *job = arg;
    int n = job->n;
    double max_diff = 0.0, sum = 0.0;
    size_t nin = weft_node_input_count(ctx);
    int row = 0;
    for (size_t b = 0; b < nin; b++) {
        size_t len;
        const double *y = weft_node_input(ctx, b, &len);
        int lo = (int)((int64_t)b * n / job->nblocks);
        int hi = (int)((int64_t)(b + 1) * n / job->nblocks);
        if (lo != row || len != (size_t)(hi - lo) * sizeof *y) {
            job->bad_inputs++;
            continue;
        }
        for (int i = lo; i < hi; i++) {
            double serial = row_dot(job->a + (size_t)i * (size_t)n, job->x, n);
            double d = fabs(y[i - lo] - serial);
            if (d > max_diff || d != d)
                max_diff = d;
            sum += y[i - lo];
        }
        row = hi;
    }
    if (row != n)
        job->bad_inputs++;
    job->max_diff = max_diff;
    job->checksum = sum;
    return job->bad_inputs || max_diff != 0.0;
}

int main(int argc, char **argv)
{
    int n = 2000, nblocks = 16, nthreads = 0;
    if (argc > 4 || (argc > 1 && example_parse_int(argv[1], 1, MAX_N, &n) != 0) ||
        (argc > 2 && example_parse_int(argv[2], 1, MAX_BLOCKS, &nblocks) != 0) ||
        (argc > 3 && example_parse_int(argv[3], 0, WEFT_MAX_WORKERS, &nthreads) != 0)) {
        fprintf(stderr,
                "usage: %s [N [BLOCKS [THREADS]]]\n"
                "  N 1..%d (default 2000), BLOCKS 1..%d (default 16; at most N),\n"
                "  THREADS 0..%d (default 0: weft's default)\n",
                argv[0], MAX_N, MAX_BLOCKS, WEFT_MAX_WORKERS);
        return EXIT_FAILURE;
    }
    if (nblocks > n)
        nblocks = n;

    mv_job job = {.n = n, .nblocks = nblocks};
    mv_block *blocks = calloc((size_t)nblocks, sizeof *blocks);
    if (!blocks)
        return example_fail("allocating", WEFT_ENOMEM);

    int rc;
    weft_graph_t *g;
    weft_node_t gen, check;
    if ((rc = weft_graph_create("matvec", &g)) != 0)
        return example_fail("weft_graph_create", rc);
    if ((rc = weft_graph_add(g, "generate", generate_node, &job, &gen)) != 0 ||
        (rc = weft_graph_add(g, "check", check_node, &job, &check)) != 0)
        return example_fail("weft_graph_add", rc);
    for (int b = 0; b < nblocks; b++) {
        char name[32];
        snprintf(name, sizeof name, "rows_%d", b);
        blocks[b] = (mv_block){&job, (int)((int64_t)b * n / nblocks),
                               (int)((int64_t)(b + 1) * n / nblocks)};
        weft_node_t v;
        if ((rc = weft_graph_add(g, name, rows_node, &blocks[b], &v)) != 0 ||
            (rc = weft_graph_precede(g, gen, v)) != 0 ||
            (rc = weft_graph_precede(g, v, check)) != 0) /* check's input b */
            return example_fail("building the graph", rc);
    }

    weft_runtime_t *rt;
    if ((rc = weft_runtime_create(nthreads, &rt)) != 0)
        return example_fail("weft_runtime_create", rc);
    printf("y = A x with A %d x %d in %d row blocks on %d worker%s\n", n, n, nblocks,
           weft_runtime_workers(rt), weft_runtime_workers(rt) == 1 ? "" : "s");

    int status = EXIT_SUCCESS;
    weft_run_t *run;
    rc = weft_graph_run(g, rt, NULL, &run);
    if (job.bad_inputs)
        fprintf(stderr, "matvec: error: check found %d missing or malformed row slices\n",
                job.bad_inputs);
    if (rc != 0 && rc != WEFT_ETASK) {
        status = example_fail("weft_graph_run", rc);
    } else {
        printf("sum of y: %.17g\n", job.checksum);
        printf("max abs difference from the serial product: %g\n", job.max_diff);
        if (rc == 0) {
            printf("OK\n");
        } else {
            weft_run_counts_t c;
            if (weft_run_counts(run, &c) == 0 && c.first_failed != check)
                fprintf(stderr, "matvec: error: node '%s' failed: %d\n",
                        weft_graph_node_name(g, c.first_failed), c.first_code);
            else
                fprintf(stderr, "matvec: error: results differ from the serial product\n");
            status = EXIT_FAILURE;
        }
    }
    if (run && (rc = weft_run_free(run)) != 0)
        status = example_fail("weft_run_free", rc);
    if ((rc = weft_runtime_destroy(rt)) != 0)
        status = example_fail("weft_runtime_destroy", rc);
    if ((rc = weft_graph_free(g)) != 0)
        status = example_fail("weft_graph_free", rc);
    free(job.a);
    free(job.x);
    free(blocks);
    return example_done(status);
}
