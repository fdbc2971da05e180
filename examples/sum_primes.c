/* sum_primes: Parallel Python's sum_primes.py on weft.
 *
 * Computes the sum of the primes below 100000, 100100, ..., 100700 as eight
 * jobs, waits for each job through its handle, prints one line per input in
 * submission order and then the runtime's statistics (pp's print_stats).
 *
 * Usage: sum_primes [WORKERS]    (WORKERS 0 or absent: weft's default)
 *
 * Each task writes its sum into its argument struct and also hands a pointer
 * to that struct back as its result, so the main thread reads the value the
 * way pp's job() returns it. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft.h>

#define EXAMPLE_NAME "sum_primes"
#include "example_util.h"

#define NINPUTS 8

typedef struct prime_job {
    uint64_t below; /* input: sum the primes p < below */
    uint64_t sum;   /* output: written by the task */
} prime_job_t;

/* Trial division up to floor(sqrt(n)), as pp's isprime does (it stops at
 * ceil(sqrt(n)), which tests one extra divisor and changes nothing). */
static int is_prime(uint64_t n)
{
    if (n < 2)
        return 0;
    if (n < 4)
        return 1;
    if (n % 2 == 0)
        return 0;
    for (uint64_t i = 3; i * i <= n; i += 2)
        if (n % i == 0)
            return 0;
    return 1;
}

/* Task: runs on a worker thread. */
static int sum_primes_task(void *arg, void **result)
{
    prime_job_t *pj = arg;
    uint64_t sum = 0;
    for (uint64_t x = 2; x < pj->below; x++)
        if (is_prime(x))
            sum += x;
    pj->sum = sum;
    *result = pj; /* read back through weft_job_wait */
    return 0;
}

int main(int argc, char **argv)
{
    weft_runtime_t *rt = example_start(argc, argv);
    if (!rt)
        return EXIT_FAILURE;

    int rc;
    prime_job_t inputs[NINPUTS];
    weft_job_t *jobs[NINPUTS];
    for (int i = 0; i < NINPUTS; i++) {
        inputs[i].below = 100000u + 100u * (uint64_t)i;
        inputs[i].sum = 0;
        rc = weft_submit(rt, sum_primes_task, &inputs[i], NULL, &jobs[i]);
        if (rc != 0)
            return example_fail("weft_submit", rc);
    }

    int status = EXIT_SUCCESS;
    for (int i = 0; i < NINPUTS; i++) {
        int task_status = 0;
        void *res = NULL;
        rc = weft_job_wait(jobs[i], &task_status, &res);
        if (rc != 0 || res != &inputs[i]) {
            fprintf(stderr, "sum_primes: error: job %d: %s, status %d\n", i,
                    weft_err_name(rc), task_status);
            status = EXIT_FAILURE;
        } else {
            const prime_job_t *pj = res;
            printf("Sum of primes below %" PRIu64 " is %" PRIu64 "\n", pj->below,
                   pj->sum);
        }
        rc = weft_job_free(jobs[i]);
        if (rc != 0)
            status = example_fail("weft_job_free", rc);
    }

    return example_done(example_stats_destroy(rt, status));
}
