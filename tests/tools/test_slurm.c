/* test_slurm: weftd --slurm's parsers (dist/slurm.c): Slurm hostlists with
 * exact expansions and exact errors, tasks-per-node specs, and the step
 * layouts and addresses read from a table of variables (no Slurm needed).
 * Prints "test_slurm: N passed, M failed"; exits 1 on a failure. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurm.h"
#include "weft.h"

static int passed, failed;

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        if (cond) {                                                                         \
            passed++;                                                                       \
        } else {                                                                            \
            failed++;                                                                       \
            fprintf(stderr, "FAILED %s:%d: ", __FILE__, __LINE__);                          \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

/* Expands list and compares with the space-separated expected hosts. */
static void expands(const char *list, const char *expected) {
    char **hosts, err[300];
    size_t n;
    int rc = ds_hostlist_expand(list, &hosts, &n, err, sizeof err);
    CHECK(rc == 0, "'%s': rc %d (%s)", list, rc, err);
    if (rc) return;
    char got[4096] = "";
    size_t at = 0;
    for (size_t i = 0; i < n && at < sizeof got - 300; i++)
        at += (size_t)snprintf(got + at, sizeof got - at, "%s%s", i ? " " : "", hosts[i]);
    CHECK(!strcmp(got, expected), "'%s' expanded to '%s', expected '%s'", list, got, expected);
    ds_hostlist_free(hosts, n);
}

static void refuses(const char *list, int code, const char *message) {
    char **hosts = (char **)1, err[600];
    size_t n = 99;
    int rc = ds_hostlist_expand(list, &hosts, &n, err, sizeof err);
    CHECK(rc == code, "'%s': rc %d, expected %d", list, rc, code);
    CHECK(!strcmp(err, message), "'%s': message '%s', expected '%s'", list, err, message);
    CHECK(hosts == NULL && n == 0, "'%s': output not cleared", list);
}

static void hostlists(void) {
    expands("node1", "node1");
    expands("node[01-03,07]", "node01 node02 node03 node07");
    expands("node[1-3],login", "node1 node2 node3 login");
    expands("n[8-11]", "n8 n9 n10 n11");
    expands("n[008-010]", "n008 n009 n010");
    expands("n[9-10]x", "n9x n10x");
    expands("rack[1-2]-n[1-2]", "rack1-n1 rack1-n2 rack2-n1 rack2-n2");
    expands("a[0],b[5-5]", "a0 b5");
    expands("127.0.0.[1-3]", "127.0.0.1 127.0.0.2 127.0.0.3");
    expands("[1-2]", "1 2");
    expands("gpu[1,3-4],cpu[01-02,10]", "gpu1 gpu3 gpu4 cpu01 cpu02 cpu10");
    /* the largest list allowed, and one more */
    char **hosts, err[300];
    size_t n;
    CHECK(ds_hostlist_expand("n[1-65536]", &hosts, &n, err, sizeof err) == 0 && n == 65536 &&
              !strcmp(hosts[65535], "n65536"),
          "65536 hosts: %s", err);
    if (n == 65536) ds_hostlist_free(hosts, n);

    refuses("", WEFT_EINVAL, "hostlist: an empty entry");
    refuses("a,,b", WEFT_EINVAL, "hostlist: an empty entry");
    refuses("a,", WEFT_EINVAL, "hostlist: an empty entry");
    refuses("n[1-3", WEFT_EINVAL, "hostlist: unclosed or nested '[' in 'n[1-3'");
    refuses("n[1-[2]]", WEFT_EINVAL, "hostlist: unclosed or nested '[' in 'n[1-[2]]'");
    refuses("n1-3]", WEFT_EINVAL, "hostlist: ']' without '[' in 'n1-3]'");
    refuses("n[]", WEFT_EINVAL, "hostlist: empty brackets in 'n[]'");
    refuses("n[1,]", WEFT_EINVAL, "hostlist: empty range in 'n[1,]'");
    refuses("n[,1]", WEFT_EINVAL, "hostlist: empty range in 'n[,1]'");
    refuses("n[3-1]", WEFT_EINVAL, "hostlist: range '3-1' in 'n[3-1]' runs backwards");
    refuses("n[a-b]", WEFT_EINVAL, "hostlist: 'a-b' in 'n[a-b]' is not a number or a range N-M");
    refuses("n[1-]", WEFT_EINVAL, "hostlist: '1-' in 'n[1-]' is not a number or a range N-M");
    refuses("n[1-2-3]", WEFT_EINVAL,
            "hostlist: '1-2-3' in 'n[1-2-3]' is not a number or a range N-M");
    refuses("n[1234567890]", WEFT_EINVAL,
            "hostlist: '1234567890' in 'n[1234567890]' is not a number or a range N-M");
    refuses("n[1-65537]", WEFT_ERANGE, "hostlist: 'n[1-65537]' makes more than 65536 hosts");
    refuses("a[1-40000],b[1-40000]", WEFT_ERANGE, "hostlist: more than 65536 hosts");
    char longname[300];
    memset(longname, 'x', 256);
    longname[256] = 0;
    char msg[400];
    snprintf(msg, sizeof msg, "hostlist: a host name of '%s' is longer than 255 bytes", longname);
    refuses(longname, WEFT_ERANGE, msg);
}

static void tasks_per_node(void) {
    int out[8] = {0};
    char err[200];
    CHECK(ds_slurm_tasks_per_node("2(x3),1", 4, out, err, sizeof err) == 0 && out[0] == 2 &&
              out[1] == 2 && out[2] == 2 && out[3] == 1,
          "2(x3),1: %s", err);
    CHECK(ds_slurm_tasks_per_node("4", 1, out, err, sizeof err) == 0 && out[0] == 4, "4: %s",
          err);
    CHECK(ds_slurm_tasks_per_node("1(x2)", 3, out, err, sizeof err) == WEFT_EINVAL &&
              !strcmp(err, "tasks per node: '1(x2)' names 2 hosts, not 3"),
          "too few hosts: %s", err);
    CHECK(ds_slurm_tasks_per_node("1(x4)", 3, out, err, sizeof err) == WEFT_EINVAL &&
              !strcmp(err, "tasks per node: '1(x4)' names more than 3 hosts"),
          "too many hosts: %s", err);
    CHECK(ds_slurm_tasks_per_node("2(3)", 3, out, err, sizeof err) == WEFT_EINVAL &&
              !strcmp(err, "tasks per node: '2(3)': expected (xK)"),
          "bad repeat: %s", err);
    CHECK(ds_slurm_tasks_per_node("0,1", 2, out, err, sizeof err) == WEFT_EINVAL &&
              !strcmp(err, "tasks per node: '0,1': expected N or N(xK), ..."),
          "zero: %s", err);
    CHECK(ds_slurm_tasks_per_node("1;1", 2, out, err, sizeof err) == WEFT_EINVAL &&
              !strcmp(err, "tasks per node: '1;1': unexpected ';'"),
          "separator: %s", err);
}

/* A table of variables: "NAME=value" strings, NULL-terminated. */
static const char *table_get(const char *name, void *data) {
    size_t len = strlen(name);
    for (const char *const *v = data; *v; v++)
        if (!strncmp(*v, name, len) && (*v)[len] == '=') return *v + len + 1;
    return NULL;
}

static void layout_is(const char *const *env, const char *base_host, int base,
                      const char *expected) {
    ds_slurm_t s;
    char err[600];
    int rc = ds_slurm_read(table_get, (void *)env, &s, err, sizeof err);
    CHECK(rc == 0, "layout: rc %d: %s", rc, err);
    if (rc) return;
    char got[2048] = "";
    size_t at = 0;
    for (int r = 0; r < s.ntasks; r++) {
        char addr[300];
        CHECK(ds_slurm_addr(&s, r, base_host, base, addr, sizeof addr) == 0, "addr of %d", r);
        at += (size_t)snprintf(got + at, sizeof got - at, "%s%s", r ? "," : "", addr);
    }
    CHECK(!strcmp(got, expected), "layout '%s', expected '%s'", got, expected);
    ds_slurm_free(&s);
}

static void layout_fails(const char *const *env, const char *message) {
    ds_slurm_t s;
    char err[600];
    int rc = ds_slurm_read(table_get, (void *)env, &s, err, sizeof err);
    CHECK(rc == WEFT_EINVAL, "expected WEFT_EINVAL, got %d", rc);
    CHECK(!strcmp(err, message), "message '%s', expected '%s'", err, message);
}

static void layouts(void) {
    const char *a[] = {"SLURM_PROCID=2", "SLURM_NTASKS=5", "SLURM_STEP_NODELIST=node[01-02],gpu7",
                       "SLURM_STEP_NUM_NODES=3", "SLURM_STEP_TASKS_PER_NODE=2(x2),1",
                       "SLURM_JOB_NODELIST=ignored[1-9]", NULL};
    layout_is(a, NULL, 7117, "node01:7117,node01:7118,node02:7117,node02:7118,gpu7:7117");
    layout_is(a, "0.0.0.0", 9000, "0.0.0.0:9000,0.0.0.0:9001,0.0.0.0:9000,0.0.0.0:9001,0.0.0.0:9000");
    ds_slurm_t s;
    char err[600];
    CHECK(ds_slurm_read(table_get, (void *)a, &s, err, sizeof err) == 0 && s.rank == 2 &&
              s.host_of[2] == 1 && s.local_of[2] == 0 &&
              !strcmp(s.nodelist_var, "SLURM_STEP_NODELIST"),
          "rank 2's place: %s", err);
    char addr[300];
    CHECK(ds_slurm_addr(&s, 5, NULL, 7117, addr, sizeof addr) == WEFT_EINVAL, "rank 5");
    CHECK(ds_slurm_addr(&s, 1, NULL, 65535, addr, sizeof addr) == WEFT_EINVAL, "port 65536");
    CHECK(ds_slurm_addr(&s, 1, "::1", 7117, addr, sizeof addr) == 0 && !strcmp(addr, "[::1]:7118"),
          "v6: %s", addr);
    ds_slurm_free(&s);
    /* the job's list when the step's is unset; block layout without a spec */
    const char *b[] = {"SLURM_PROCID=0", "SLURM_NTASKS=5", "SLURM_JOB_NODELIST=h[1-3]",
                       "SLURM_JOB_NUM_NODES=3", NULL};
    layout_is(b, NULL, 100, "h1:100,h1:101,h2:100,h2:101,h3:100");
    const char *c[] = {"SLURM_PROCID=0", "SLURM_NTASKS=3", "SLURM_NODELIST=127.0.0.[1-3]", NULL};
    layout_is(c, NULL, 7117, "127.0.0.1:7117,127.0.0.2:7117,127.0.0.3:7117");

    const char *e1[] = {"SLURM_NTASKS=3", "SLURM_NODELIST=h[1-3]", NULL};
    layout_fails(e1, "SLURM_PROCID is not set: not a Slurm task (start weftd --slurm with srun)");
    const char *e2[] = {"SLURM_PROCID=3", "SLURM_NTASKS=3", "SLURM_NODELIST=h[1-3]", NULL};
    layout_fails(e2, "SLURM_PROCID=3, but the step has 3 tasks");
    const char *e3[] = {"SLURM_PROCID=0", "SLURM_NTASKS=3", NULL};
    layout_fails(e3, "none of SLURM_STEP_NODELIST, SLURM_JOB_NODELIST, SLURM_NODELIST is set");
    const char *e4[] = {"SLURM_PROCID=0", "SLURM_NTASKS=3", "SLURM_STEP_NODELIST=h[1-3]",
                        "SLURM_STEP_NUM_NODES=2", NULL};
    layout_fails(e4, "SLURM_STEP_NUM_NODES=2, but SLURM_STEP_NODELIST lists 3 hosts");
    const char *e5[] = {"SLURM_PROCID=0", "SLURM_NTASKS=4", "SLURM_STEP_NODELIST=h[1-3]",
                        "SLURM_STEP_TASKS_PER_NODE=1(x3)", NULL};
    layout_fails(e5, "SLURM_STEP_TASKS_PER_NODE places 3 tasks, but SLURM_NTASKS is 4");
    const char *e6[] = {"SLURM_PROCID=0", "SLURM_NTASKS=3", "SLURM_STEP_NODELIST=h[3-1]", NULL};
    layout_fails(e6, "SLURM_STEP_NODELIST: hostlist: range '3-1' in 'h[3-1]' runs backwards");
    const char *e7[] = {"SLURM_PROCID=x", "SLURM_NTASKS=3", NULL};
    layout_fails(e7, "SLURM_PROCID='x': expected a number in 0..4194304");
    const char *e8[] = {"SLURM_PROCID=0", "SLURM_NTASKS=2", "SLURM_STEP_NODELIST=h[1-2]",
                        "SLURM_STEP_TASKS_PER_NODE=2(x1)", NULL};
    layout_fails(e8, "SLURM_STEP_TASKS_PER_NODE: tasks per node: '2(x1)' names 1 hosts, not 2");
}

int main(void) {
    hostlists();
    tasks_per_node();
    layouts();
    printf("test_slurm: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
