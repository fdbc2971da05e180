/* callback: Parallel Python's callback.py on weft.
 *
 * Sums 1 - 1/2 + 1/3 - ... over x in [1, 20000000) as 128 jobs. No job
 * handles are kept: each job's callback adds its partial sum to one shared
 * accumulator. Callbacks run on worker threads, several at once, so the
 * accumulator is protected by a mutex (pp's Sum class with its lock). The
 * main thread waits for the group the jobs were counted in; weft runs every
 * callback before it releases a waiter of the group, so the total is final
 * when weft_group_wait returns.
 *
 * Usage: callback [WORKERS]    (WORKERS 0 or absent: weft's default)
 *
 * Prints the sum (to 12 decimals, which do not depend on the order the
 * callbacks ran in), ln 2 and their difference (about -2.5e-8). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft.h>

#define EXAMPLE_NAME "callback"
#include "example_util.h"
#include "part_sum.h"

typedef struct accumulator {
    pthread_mutex_t lock; /* guards the fields below */
    double value;         /* sum of the partial sums delivered so far */
    int count;            /* callbacks run */
    int failed;           /* callbacks that saw a failed task */
} accumulator_t;

/* Task: runs on a worker thread. */
static int part_sum_task(void *arg, void **result)
{
    part_sum_slice_t *s = arg;
    s->partial = part_sum(s->start, s->end);
    *result = s; /* handed to the callback */
    return 0;
}

/* Callback: runs on the worker that completed the task, possibly at the same
 * time as other callbacks on other workers. */
static void add_partial(void *data, int status, void *result)
{
    accumulator_t *acc = data;
    const part_sum_slice_t *s = result;
    pthread_mutex_lock(&acc->lock);
    if (status != 0 || s == NULL)
        acc->failed++;
    else
        acc->value += s->partial;
    acc->count++;
    pthread_mutex_unlock(&acc->lock);
}

int main(int argc, char **argv)
{
    weft_runtime_t *rt = example_start(argc, argv);
    if (!rt)
        return EXIT_FAILURE;

    weft_group_t *group;
    int rc = weft_group_create(rt, "part_sum", &group);
    if (rc != 0)
        return example_fail("weft_group_create", rc);

    static part_sum_slice_t slices[PART_SUM_PARTS];
    accumulator_t acc = {.value = 0.0, .count = 0, .failed = 0};
    pthread_mutex_init(&acc.lock, NULL);
    weft_submit_opts_t opts = {
        .group = group, .callback = add_partial, .callback_data = &acc};
    for (int i = 0; i < PART_SUM_PARTS; i++) {
        slices[i] = part_sum_slice(i);
        rc = weft_submit(rt, part_sum_task, &slices[i], &opts, NULL);
        if (rc != 0)
            return example_fail("weft_submit", rc);
    }

    int status = EXIT_SUCCESS;
    rc = weft_group_wait(group);
    if (rc != 0)
        status = example_fail("weft_group_wait", rc);

    pthread_mutex_lock(&acc.lock); /* every callback has run; lock anyway */
    double total = acc.value;
    int count = acc.count, failed = acc.failed;
    pthread_mutex_unlock(&acc.lock);

    if (count != PART_SUM_PARTS || failed != 0) {
        fprintf(stderr, "callback: error: %d callbacks ran, %d failed (want %d, 0)\n",
                count, failed, PART_SUM_PARTS);
        status = EXIT_FAILURE;
    }
    printf("Callbacks run: %d of %d\n", count, PART_SUM_PARTS);
    printf("Partial sum is %.12f\n", total);
    printf("ln 2 is %.12f\n", log(2.0));
    printf("Difference ln 2 - sum is %.6e\n", log(2.0) - total);

    rc = weft_group_free(group);
    if (rc != 0)
        status = example_fail("weft_group_free", rc);
    status = example_stats_destroy(rt, status);
    pthread_mutex_destroy(&acc.lock);
    return example_done(status);
}
