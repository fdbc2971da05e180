/* weft_stats.h: the one statistics schema of every binding, named after
 * weft_stats_t and weft_worker_stats_t (weft/runtime.h): a runtime's
 * statistics are a table (Python: a dict) with the fields below, plus
 * "nworkers" (entries of "workers"), "active_workers" (the current worker
 * count) and "workers", a list of one table per worker slot with the
 * per-worker fields below and "id" (the slot, from 0). Each binding turns
 * weft_stats_get's answer into its own values with these lists, so the
 * two never differ. X(field, kind): kind is U64, DBL or BOOL. */
#ifndef WEFT_BINDINGS_STATS_H
#define WEFT_BINDINGS_STATS_H

#define WEFT_STATS_FIELDS(X)                                                                  \
    X(tasks_submitted, U64)                                                                   \
    X(tasks_run, U64)                                                                         \
    X(tasks_stolen, U64)                                                                      \
    X(tasks_failed, U64)                                                                      \
    X(busy_s, DBL)                                                                            \
    X(wall_s, DBL)

#define WEFT_WORKER_STATS_FIELDS(X)                                                           \
    X(tasks_run, U64)                                                                         \
    X(tasks_stolen, U64)                                                                      \
    X(busy_s, DBL)                                                                            \
    X(active, BOOL)

#endif
