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
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft.h>

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

static int parse_workers(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > WEFT_MAX_WORKERS)
        return -1;
    *out = (int)v;
    return 0;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "callback: error: %s: %s (%s)\n", what, weft_err_name(rc),
            weft_strerror(rc));
    return EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    int nworkers = 0;
    if (argc > 2 || (argc == 2 && parse_workers(argv[1], &nworkers) != 0)) {
        fprintf(stderr, "usage: %s [WORKERS]   (0..%d, 0 = default)\n", argv[0],
                WEFT_MAX_WORKERS);
        return EXIT_FAILURE;
    }

    weft_runtime_t *rt;
    int rc = weft_runtime_create(nworkers, &rt);
    if (rc != 0)
        return fail("weft_runtime_create", rc);
    printf("Starting weft %s with %d workers\n", weft_version(),
           weft_runtime_workers(rt));

    weft_group_t *group;
    rc = weft_group_create(rt, "part_sum", &group);
    if (rc != 0)
        return fail("weft_group_create", rc);

    static part_sum_slice_t slices[PART_SUM_PARTS];
    accumulator_t acc = {.value = 0.0, .count = 0, .failed = 0};
    pthread_mutex_init(&acc.lock, NULL);
    weft_submit_opts_t opts = {
        .group = group, .callback = add_partial, .callback_data = &acc};
    for (int i = 0; i < PART_SUM_PARTS; i++) {
        slices[i] = part_sum_slice(i);
        rc = weft_submit(rt, part_sum_task, &slices[i], &opts, NULL);
        if (rc != 0)
            return fail("weft_submit", rc);
    }

    int status = EXIT_SUCCESS;
    rc = weft_group_wait(group);
    if (rc != 0)
        status = fail("weft_group_wait", rc);

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
        status = fail("weft_group_free", rc);
    rc = weft_stats_print(rt, stdout);
    if (rc != 0)
        status = fail("weft_stats_print", rc);
    rc = weft_runtime_destroy(rt);
    if (rc != 0)
        status = fail("weft_runtime_destroy", rc);
    pthread_mutex_destroy(&acc.lock);
    if (status == EXIT_SUCCESS)
        printf("callback: done\n");
    return status;
}
