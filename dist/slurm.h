/* slurm.h: what `weftd --slurm` reads from a Slurm job step's environment.
 * Part of weftd (and its unit test), not of libweft.
 *
 * A step started by `srun weftd --slurm ...` runs one weftd per task.
 * Every task works out the same picture from the variables Slurm sets:
 * the step's hosts (SLURM_STEP_NODELIST, else SLURM_JOB_NODELIST, else
 * SLURM_NODELIST, in Slurm's compressed hostlist syntax), the task count
 * (SLURM_NTASKS, else SLURM_STEP_NUM_TASKS), the host count
 * (SLURM_STEP_NUM_NODES, else SLURM_JOB_NUM_NODES, else SLURM_NNODES; it
 * must match the list), how many tasks each host runs
 * (SLURM_STEP_TASKS_PER_NODE, else SLURM_TASKS_PER_NODE: "2(x3),1"; when
 * neither is set, Slurm's block layout: the first ntasks % nnodes hosts run
 * one task more) and its own rank (SLURM_PROCID). Tasks are laid out in
 * blocks (Slurm's default distribution): ranks 0..k-1 on the first host,
 * and so on. Task r listens on its host at base port + its index on that
 * host, so every task can name every other one's address. */
#ifndef WEFT_DIST_SLURM_H
#define WEFT_DIST_SLURM_H

#include <stddef.h>

/* Most hosts a hostlist may expand to, and the longest host name. */
#define DS_HOSTLIST_MAX 65536
#define DS_HOSTNAME_MAX 255

/* Expands a Slurm hostlist ("node[01-03,07],login1", "rack[1-2]-n[1-2]")
 * into *hosts (an array of *count strings; free with ds_hostlist_free).
 * Syntax: comma-separated entries; an entry is text with bracketed ranges
 * ("[1-3,7]", "[01-10]": the lower bound's digits set the width, zeros
 * kept), several brackets give every combination, in order. Returns 0, or
 * WEFT_EINVAL (malformed: empty entry or range, unbalanced or nested
 * brackets, a bound that is not a number, lower above upper), WEFT_ERANGE
 * (over DS_HOSTLIST_MAX hosts or a name over DS_HOSTNAME_MAX bytes) or
 * WEFT_ENOMEM, with a message in err. */
int ds_hostlist_expand(const char *list, char ***hosts, size_t *count, char *err, size_t errsz);
void ds_hostlist_free(char **hosts, size_t count);

/* Parses a tasks-per-node spec ("2(x3),1") for nnodes hosts into
 * out[0..nnodes). Returns 0, or WEFT_EINVAL (malformed, a count below 1,
 * or not exactly nnodes hosts) with a message in err. */
int ds_slurm_tasks_per_node(const char *spec, int nnodes, int *out, char *err, size_t errsz);

typedef struct ds_slurm {
    int rank, ntasks;
    char **hosts;        /* the step's hosts, in order */
    size_t nhosts;
    int *tasks;          /* tasks per host */
    int *host_of;        /* per rank: its host's index */
    int *local_of;       /* per rank: its index among its host's tasks */
    const char *nodelist_var; /* which variable gave the hosts */
} ds_slurm_t;

/* Reads the step's layout through get(name, data) (getenv, or a test's
 * table; NULL: unset). Returns 0, or WEFT_EINVAL / WEFT_ERANGE /
 * WEFT_ENOMEM with a message in err that names the variable. */
int ds_slurm_read(const char *(*get)(const char *name, void *data), void *data, ds_slurm_t *s,
                  char *err, size_t errsz);
void ds_slurm_free(ds_slurm_t *s);

/* The address of rank's weftd: "host:port" (or "[host]:port" for an IPv6
 * literal), with host the rank's host, or host_override when not NULL,
 * and port base_port + its index on its host. Returns 0, or WEFT_EINVAL
 * (bad rank, port over 65535) or WEFT_ERANGE (does not fit). */
int ds_slurm_addr(const ds_slurm_t *s, int rank, const char *host_override, int base_port,
                  char *out, size_t size);

#endif
