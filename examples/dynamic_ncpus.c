/* dynamic_ncpus: Parallel Python's dynamic_ncpus.py on weft.
 *
 * One runtime; before each round the worker count is changed at run time
 * with weft_runtime_set_workers (pp's set_ncpus) to 1, 2, 4, 8, 16 and back
 * to 1. Each round sums 1 - 1/2 + 1/3 - ... over x in [1, 20000000) as 128
 * jobs, adds the partial sums in submission order (so every round gives the
 * same double, bit for bit) and prints the worker count, the sum, its
 * difference from ln 2 and the time the round took.
 *
 * Usage: dynamic_ncpus        (no arguments)
 *
 * Exits nonzero if a round's worker count or sum differs from what it must
 * be. More workers than CPUs is allowed; such rounds are simply not faster. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft.h>

#define EXAMPLE_NAME "dynamic_ncpus"
#include "example_util.h"
#include "part_sum.h"

static int part_sum_task(void *arg, void **result)
{
    part_sum_slice_t *s = arg;
    s->partial = part_sum(s->start, s->end);
    *result = s;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One round: submits the slices, waits for the jobs in order, sums. */
static int run_round(weft_runtime_t *rt, double *total)
{
    static part_sum_slice_t slices[PART_SUM_PARTS];
    weft_job_t *jobs[PART_SUM_PARTS];
    int rc;
    for (int i = 0; i < PART_SUM_PARTS; i++) {
        slices[i] = part_sum_slice(i);
        rc = weft_submit(rt, part_sum_task, &slices[i], NULL, &jobs[i]);
        if (rc != 0) {
            for (int j = 0; j < i; j++) { /* let the rest finish, then quit */
                weft_job_wait(jobs[j], NULL, NULL);
                weft_job_free(jobs[j]);
            }
            return example_fail("weft_submit", rc);
        }
    }
    int status = EXIT_SUCCESS;
    double sum = 0.0;
    for (int i = 0; i < PART_SUM_PARTS; i++) {
        void *res = NULL;
        rc = weft_job_wait(jobs[i], NULL, &res);
        if (rc != 0 || res != &slices[i])
            status = example_fail("weft_job_wait", rc != 0 ? rc : WEFT_EINVAL);
        else
            sum += slices[i].partial;
        rc = weft_job_free(jobs[i]);
        if (rc != 0)
            status = example_fail("weft_job_free", rc);
    }
    *total = sum;
    return status;
}

int main(int argc, char **argv)
{
    static const int rounds[] = {1, 2, 4, 8, 16, 1};
    const int nrounds = (int)(sizeof rounds / sizeof rounds[0]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s   (no arguments)\n", argv[0]);
        return EXIT_FAILURE;
    }

    weft_runtime_t *rt;
    int rc = weft_runtime_create(1, &rt);
    if (rc != 0)
        return example_fail("weft_runtime_create", rc);
    printf("Starting weft %s; %d CPUs available\n", weft_version(), weft_cpu_count());

    int status = EXIT_SUCCESS;
    double first = 0.0;
    for (int r = 0; r < nrounds && status == EXIT_SUCCESS; r++) {
        rc = weft_runtime_set_workers(rt, rounds[r]);
        if (rc != 0) {
            status = example_fail("weft_runtime_set_workers", rc);
            break;
        }
        int now = weft_runtime_workers(rt);
        if (now != rounds[r]) {
            fprintf(stderr, "dynamic_ncpus: error: asked for %d workers, runtime has %d\n",
                    rounds[r], now);
            status = EXIT_FAILURE;
            break;
        }
        double t0 = now_s(), sum = 0.0;
        status = run_round(rt, &sum);
        double elapsed = now_s() - t0;
        if (status != EXIT_SUCCESS)
            break;
        printf("Workers: %2d  partial sum is %.12f  diff = %.6e  time %.3f s\n", now, sum,
               log(2.0) - sum, elapsed);
        if (r == 0) {
            first = sum;
        } else if (memcmp(&first, &sum, sizeof sum) != 0) {
            fprintf(stderr, "dynamic_ncpus: error: round %d sum %.17g differs from %.17g\n",
                    r, sum, first);
            status = EXIT_FAILURE;
        }
    }

    return example_done(example_stats_destroy(rt, status));
}
