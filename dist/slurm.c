/* slurm.c: Slurm hostlists and job step layouts for `weftd --slurm`
 * (see slurm.h). Pure functions over strings: no Slurm library, no I/O. */
#define _POSIX_C_SOURCE 200809L
#include "slurm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

static int fail(char *err, size_t errsz, int rc, const char *fmt, ...) {
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* One bracket's ranges, expanded lazily: values lo[i]..hi[i] printed with
 * width[i] digits at least. */
typedef struct range_set {
    size_t n;
    unsigned long lo[64], hi[64];
    int width[64];
    unsigned long long total; /* values in all ranges */
} range_set;

/* One entry: literal pieces around its brackets. pieces[k] precedes
 * sets[k]; pieces[nsets] follows the last. */
typedef struct entry {
    const char *pieces[17];
    size_t piece_len[17];
    range_set sets[16];
    size_t nsets;
} entry;

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Parses the bound [p, e): digits only, at most 9 of them (zeros count). */
static int parse_bound(const char *p, const char *e, unsigned long *v) {
    if (p == e || e - p > 9) return -1;
    unsigned long x = 0;
    for (; p < e; p++) {
        if (!is_digit(*p)) return -1;
        x = x * 10 + (unsigned long)(*p - '0');
    }
    *v = x;
    return 0;
}

/* Parses the inside of a bracket [p, e) into r. */
static int parse_ranges(const char *p, const char *e, range_set *r, const char *entry_text,
                        size_t entry_len, char *err, size_t errsz) {
    r->n = 0;
    r->total = 0;
    if (p == e)
        return fail(err, errsz, WEFT_EINVAL, "hostlist: empty brackets in '%.*s'",
                    (int)entry_len, entry_text);
    while (p <= e) {
        const char *comma = memchr(p, ',', (size_t)(e - p));
        const char *end = comma ? comma : e;
        const char *dash = memchr(p, '-', (size_t)(end - p));
        unsigned long lo, hi;
        if (p == end)
            return fail(err, errsz, WEFT_EINVAL, "hostlist: empty range in '%.*s'",
                        (int)entry_len, entry_text);
        if (parse_bound(p, dash ? dash : end, &lo) ||
            (dash && parse_bound(dash + 1, end, &hi)))
            return fail(err, errsz, WEFT_EINVAL,
                        "hostlist: '%.*s' in '%.*s' is not a number or a range N-M",
                        (int)(end - p), p, (int)entry_len, entry_text);
        if (!dash) hi = lo;
        if (lo > hi)
            return fail(err, errsz, WEFT_EINVAL, "hostlist: range '%.*s' in '%.*s' runs backwards",
                        (int)(end - p), p, (int)entry_len, entry_text);
        if (r->n == 64)
            return fail(err, errsz, WEFT_ERANGE, "hostlist: more than 64 ranges in one bracket");
        r->lo[r->n] = lo;
        r->hi[r->n] = hi;
        r->width[r->n] = (int)((dash ? dash : end) - p);
        r->total += hi - lo + 1;
        r->n++;
        if (!comma) break;
        p = comma + 1;
        if (p == e)
            return fail(err, errsz, WEFT_EINVAL, "hostlist: empty range in '%.*s'",
                        (int)entry_len, entry_text);
    }
    return 0;
}

/* Parses one entry [p, e) into en; *count gets the hosts it makes. */
static int parse_entry(const char *p, const char *e, entry *en, unsigned long long *count,
                       char *err, size_t errsz) {
    const char *text = p;
    size_t len = (size_t)(e - p);
    memset(en, 0, sizeof *en);
    *count = 1;
    if (p == e) return fail(err, errsz, WEFT_EINVAL, "hostlist: an empty entry");
    const char *piece = p;
    while (p < e) {
        if (*p == ']')
            return fail(err, errsz, WEFT_EINVAL, "hostlist: ']' without '[' in '%.*s'", (int)len,
                        text);
        if (*p != '[') {
            p++;
            continue;
        }
        const char *close = p + 1;
        while (close < e && *close != ']' && *close != '[') close++;
        if (close == e || *close == '[')
            return fail(err, errsz, WEFT_EINVAL, "hostlist: unclosed or nested '[' in '%.*s'",
                        (int)len, text);
        if (en->nsets == 16)
            return fail(err, errsz, WEFT_ERANGE, "hostlist: more than 16 brackets in '%.*s'",
                        (int)len, text);
        en->pieces[en->nsets] = piece;
        en->piece_len[en->nsets] = (size_t)(p - piece);
        int rc = parse_ranges(p + 1, close, &en->sets[en->nsets], text, len, err, errsz);
        if (rc) return rc;
        *count *= en->sets[en->nsets].total;
        if (*count > DS_HOSTLIST_MAX)
            return fail(err, errsz, WEFT_ERANGE, "hostlist: '%.*s' makes more than %d hosts",
                        (int)len, text, DS_HOSTLIST_MAX);
        en->nsets++;
        p = piece = close + 1;
    }
    en->pieces[en->nsets] = piece;
    en->piece_len[en->nsets] = (size_t)(e - piece);
    return 0;
}

/* The idx-th value of r, printed into buf. */
static int range_value(const range_set *r, unsigned long long idx, char *buf, size_t size) {
    for (size_t i = 0; i < r->n; i++) {
        unsigned long long span = r->hi[i] - r->lo[i] + 1;
        if (idx < span) return snprintf(buf, size, "%0*lu", r->width[i], r->lo[i] + (unsigned long)idx);
        idx -= span;
    }
    return -1;
}

/* Host number idx of entry en (the last bracket varies fastest). */
static int entry_host(const entry *en, unsigned long long idx, char *out, size_t size) {
    unsigned long long pick[16];
    for (size_t k = en->nsets; k-- > 0;) {
        pick[k] = idx % en->sets[k].total;
        idx /= en->sets[k].total;
    }
    size_t at = 0;
    for (size_t k = 0; k <= en->nsets; k++) {
        if (at + en->piece_len[k] >= size) return -1;
        memcpy(out + at, en->pieces[k], en->piece_len[k]);
        at += en->piece_len[k];
        if (k == en->nsets) break;
        char num[16];
        int n = range_value(&en->sets[k], pick[k], num, sizeof num);
        if (n < 0 || at + (size_t)n >= size) return -1;
        memcpy(out + at, num, (size_t)n);
        at += (size_t)n;
    }
    out[at] = 0;
    return 0;
}

void ds_hostlist_free(char **hosts, size_t count) {
    if (!hosts) return;
    for (size_t i = 0; i < count; i++) free(hosts[i]);
    free(hosts);
}

int ds_hostlist_expand(const char *list, char ***hosts, size_t *count, char *err, size_t errsz) {
    if (err && errsz) err[0] = 0;
    if (!list || !hosts || !count) return fail(err, errsz, WEFT_EINVAL, "hostlist: no list");
    *hosts = NULL;
    *count = 0;
    /* pass 1: parse every entry and count; pass 2: expand */
    size_t total = 0, cap = 0;
    char **out = NULL;
    for (int pass = 0; pass < 2; pass++) {
        const char *p = list;
        size_t at = 0;
        for (;;) {
            const char *e = p;
            int depth = 0;
            while (*e && (depth || *e != ',')) {
                if (*e == '[') depth++;
                else if (*e == ']' && depth) depth--;
                e++;
            }
            entry en;
            unsigned long long n;
            int rc = parse_entry(p, e, &en, &n, err, errsz);
            if (rc) {
                ds_hostlist_free(out, at);
                return rc;
            }
            if (pass == 0) {
                total += (size_t)n;
                if (total > DS_HOSTLIST_MAX)
                    return fail(err, errsz, WEFT_ERANGE, "hostlist: more than %d hosts",
                                DS_HOSTLIST_MAX);
            } else {
                for (unsigned long long i = 0; i < n; i++) {
                    char name[DS_HOSTNAME_MAX + 1];
                    if (entry_host(&en, i, name, sizeof name)) {
                        ds_hostlist_free(out, at);
                        return fail(err, errsz, WEFT_ERANGE,
                                    "hostlist: a host name of '%.*s' is longer than %d bytes",
                                    (int)(e - p), p, DS_HOSTNAME_MAX);
                    }
                    if (!(out[at] = strdup(name))) {
                        ds_hostlist_free(out, at);
                        return fail(err, errsz, WEFT_ENOMEM, "hostlist: out of memory");
                    }
                    at++;
                }
            }
            if (!*e) break;
            p = e + 1;
        }
        if (pass == 0) {
            cap = total;
            if (!(out = calloc(cap ? cap : 1, sizeof *out)))
                return fail(err, errsz, WEFT_ENOMEM, "hostlist: out of memory");
        }
    }
    *hosts = out;
    *count = total;
    return 0;
}

int ds_slurm_tasks_per_node(const char *spec, int nnodes, int *out, char *err, size_t errsz) {
    if (!spec || !*spec) return fail(err, errsz, WEFT_EINVAL, "tasks per node: empty");
    int at = 0;
    const char *p = spec;
    for (;;) {
        char *end;
        long n = strtol(p, &end, 10);
        if (end == p || !is_digit(*p) || n < 1 || n > 1000000)
            return fail(err, errsz, WEFT_EINVAL, "tasks per node: '%s': expected N or N(xK), ...",
                        spec);
        long times = 1;
        p = end;
        if (*p == '(') {
            if (p[1] != 'x' || !is_digit(p[2]))
                return fail(err, errsz, WEFT_EINVAL, "tasks per node: '%s': expected (xK)", spec);
            times = strtol(p + 2, &end, 10);
            if (*end != ')' || times < 1)
                return fail(err, errsz, WEFT_EINVAL, "tasks per node: '%s': expected (xK)", spec);
            p = end + 1;
        }
        if (times > nnodes - at)
            return fail(err, errsz, WEFT_EINVAL, "tasks per node: '%s' names more than %d hosts",
                        spec, nnodes);
        for (long i = 0; i < times; i++) out[at++] = (int)n;
        if (!*p) break;
        if (*p != ',')
            return fail(err, errsz, WEFT_EINVAL, "tasks per node: '%s': unexpected '%c'", spec,
                        *p);
        p++;
    }
    if (at != nnodes)
        return fail(err, errsz, WEFT_EINVAL, "tasks per node: '%s' names %d hosts, not %d", spec,
                    at, nnodes);
    return 0;
}

/* The first of names that is set (and not empty), its name in *which. */
static const char *first_set(const char *(*get)(const char *, void *), void *data,
                             const char *const *names, const char **which) {
    for (; *names; names++) {
        const char *v = get(*names, data);
        if (v && *v) {
            *which = *names;
            return v;
        }
    }
    return NULL;
}

static int parse_count(const char *var, const char *v, long lo, long hi, int *out, char *err,
                       size_t errsz) {
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < lo || n > hi)
        return fail(err, errsz, WEFT_EINVAL, "%s='%s': expected a number in %ld..%ld", var, v, lo,
                    hi);
    *out = (int)n;
    return 0;
}

void ds_slurm_free(ds_slurm_t *s) {
    if (!s) return;
    ds_hostlist_free(s->hosts, s->nhosts);
    free(s->tasks);
    free(s->host_of);
    free(s->local_of);
    memset(s, 0, sizeof *s);
}

int ds_slurm_read(const char *(*get)(const char *name, void *data), void *data, ds_slurm_t *s,
                  char *err, size_t errsz) {
    static const char *const lists[] = {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST",
                                        "SLURM_NODELIST", NULL};
    static const char *const ntasks_v[] = {"SLURM_NTASKS", "SLURM_STEP_NUM_TASKS", NULL};
    static const char *const nnodes_v[] = {"SLURM_STEP_NUM_NODES", "SLURM_JOB_NUM_NODES",
                                           "SLURM_NNODES", NULL};
    static const char *const tpn_v[] = {"SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE",
                                        NULL};
    static const char *const rank_v[] = {"SLURM_PROCID", NULL};
    memset(s, 0, sizeof *s);
    if (err && errsz) err[0] = 0;
    const char *which, *v;
    int rc, nnodes = -1;
    if (!(v = first_set(get, data, rank_v, &which)))
        return fail(err, errsz, WEFT_EINVAL, "SLURM_PROCID is not set: not a Slurm task "
                                             "(start weftd --slurm with srun)");
    if ((rc = parse_count(which, v, 0, DS_HOSTLIST_MAX * 64L, &s->rank, err, errsz))) return rc;
    if (!(v = first_set(get, data, ntasks_v, &which)))
        return fail(err, errsz, WEFT_EINVAL, "SLURM_NTASKS is not set");
    if ((rc = parse_count(which, v, 1, DS_HOSTLIST_MAX * 64L, &s->ntasks, err, errsz))) return rc;
    if (s->rank >= s->ntasks)
        return fail(err, errsz, WEFT_EINVAL, "SLURM_PROCID=%d, but the step has %d tasks",
                    s->rank, s->ntasks);
    if (!(v = first_set(get, data, lists, &which)))
        return fail(err, errsz, WEFT_EINVAL,
                    "none of SLURM_STEP_NODELIST, SLURM_JOB_NODELIST, SLURM_NODELIST is set");
    s->nodelist_var = which;
    char why[300];
    if ((rc = ds_hostlist_expand(v, &s->hosts, &s->nhosts, why, sizeof why))) {
        fail(err, errsz, rc, "%s: %s", which, why);
        return rc;
    }
    if (s->nhosts == 0) {
        ds_slurm_free(s);
        return fail(err, errsz, WEFT_EINVAL, "%s names no host", which);
    }
    if ((v = first_set(get, data, nnodes_v, &which))) {
        if ((rc = parse_count(which, v, 1, DS_HOSTLIST_MAX, &nnodes, err, errsz))) {
            ds_slurm_free(s);
            return rc;
        }
        if ((size_t)nnodes != s->nhosts) {
            rc = fail(err, errsz, WEFT_EINVAL, "%s=%d, but %s lists %zu hosts", which, nnodes,
                      s->nodelist_var, s->nhosts);
            ds_slurm_free(s);
            return rc;
        }
    }
    int n = (int)s->nhosts;
    s->tasks = calloc((size_t)n, sizeof *s->tasks);
    s->host_of = calloc((size_t)s->ntasks, sizeof *s->host_of);
    s->local_of = calloc((size_t)s->ntasks, sizeof *s->local_of);
    if (!s->tasks || !s->host_of || !s->local_of) {
        ds_slurm_free(s);
        return fail(err, errsz, WEFT_ENOMEM, "out of memory");
    }
    if ((v = first_set(get, data, tpn_v, &which))) {
        if ((rc = ds_slurm_tasks_per_node(v, n, s->tasks, why, sizeof why))) {
            fail(err, errsz, rc, "%s: %s", which, why);
            ds_slurm_free(s);
            return rc;
        }
    } else {
        which = "block layout";
        for (int i = 0; i < n; i++) s->tasks[i] = s->ntasks / n + (i < s->ntasks % n);
    }
    long sum = 0;
    for (int i = 0; i < n; i++) sum += s->tasks[i];
    if (sum != s->ntasks) {
        rc = fail(err, errsz, WEFT_EINVAL, "%s places %ld tasks, but SLURM_NTASKS is %d", which,
                  sum, s->ntasks);
        ds_slurm_free(s);
        return rc;
    }
    int r = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < s->tasks[i]; k++, r++) {
            s->host_of[r] = i;
            s->local_of[r] = k;
        }
    return 0;
}

int ds_slurm_addr(const ds_slurm_t *s, int rank, const char *host_override, int base_port,
                  char *out, size_t size) {
    if (!s || rank < 0 || rank >= s->ntasks || !out) return WEFT_EINVAL;
    int port = base_port + s->local_of[rank];
    if (base_port < 1 || port > 65535) return WEFT_EINVAL;
    const char *host = host_override ? host_override : s->hosts[s->host_of[rank]];
    int v6 = strchr(host, ':') != NULL;
    int n = snprintf(out, size, v6 ? "[%s]:%d" : "%s:%d", host, port);
    return n < 0 || (size_t)n >= size ? WEFT_ERANGE : 0;
}
