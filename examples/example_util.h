/* example_util.h: what the examples share: reporting a failed weft call,
 * parsing a whole-number argument, starting a runtime from an optional
 * [WORKERS] argument, and the common end (statistics, teardown, the "done"
 * line the tests look for).
 *
 * An example defines EXAMPLE_NAME, its program name as a string, before it
 * includes this header: every message starts with "EXAMPLE_NAME: ". */
#ifndef WEFT_EXAMPLES_EXAMPLE_UTIL_H
#define WEFT_EXAMPLES_EXAMPLE_UTIL_H

#ifndef EXAMPLE_NAME
#error "define EXAMPLE_NAME, the program's name, before including example_util.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft.h>

/* Reports the failed weft call `what` and its error code rc on stderr;
 * returns EXIT_FAILURE, so that `return example_fail(...)` ends main. */
static inline int example_fail(const char *what, int rc)
{
    fprintf(stderr, EXAMPLE_NAME ": error: %s: %s (%s)\n", what, weft_err_name(rc),
            weft_strerror(rc));
    return EXIT_FAILURE;
}

/* Parses s, a whole decimal number in [lo, hi], into *out: 0, or -1 (and
 * *out untouched) when s is empty, has anything else in it, or is out of
 * range. */
static inline int example_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* For the examples whose only argument is [WORKERS] (0 or absent: weft's
 * default): parses it, creates the runtime and prints "Starting weft
 * VERSION with N workers". NULL, after printing the usage or the error,
 * when it cannot. */
static inline weft_runtime_t *example_start(int argc, char **argv)
{
    int nworkers = 0;
    if (argc > 2 || (argc == 2 && example_parse_int(argv[1], 0, WEFT_MAX_WORKERS,
                                                    &nworkers) != 0)) {
        fprintf(stderr, "usage: %s [WORKERS]   (0..%d, 0 = default)\n", argv[0],
                WEFT_MAX_WORKERS);
        return NULL;
    }
    weft_runtime_t *rt;
    int rc = weft_runtime_create(nworkers, &rt);
    if (rc != 0) {
        example_fail("weft_runtime_create", rc);
        return NULL;
    }
    printf("Starting weft %s with %d workers\n", weft_version(),
           weft_runtime_workers(rt));
    return rt;
}

/* Prints the runtime's statistics to stdout and destroys the runtime;
 * returns status, or EXIT_FAILURE when either of the two fails. */
static inline int example_stats_destroy(weft_runtime_t *rt, int status)
{
    int rc = weft_stats_print(rt, stdout);
    if (rc != 0)
        status = example_fail("weft_stats_print", rc);
    rc = weft_runtime_destroy(rt);
    if (rc != 0)
        status = example_fail("weft_runtime_destroy", rc);
    return status;
}

/* Prints "EXAMPLE_NAME: done" when status is EXIT_SUCCESS (the last line,
 * printed only when everything, teardown included, worked); returns
 * status. */
static inline int example_done(int status)
{
    if (status == EXIT_SUCCESS)
        printf(EXAMPLE_NAME ": done\n");
    return status;
}

#endif
