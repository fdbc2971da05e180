/* CPU count: affinity mask, lowered by a cgroup CPU quota. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft/runtime.h"

static int affinity_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* CPUs allowed by a quota file pair, or 0 when unlimited or unreadable. */
static int quota_cpus(long long quota, long long period) {
    if (quota <= 0 || period <= 0) return 0;
    long long n = (quota + period - 1) / period; /* a partial CPU counts as one */
    return n < 1 ? 1 : (n > 1 << 20 ? 1 << 20 : (int)n);
}

/* cgroup v2: "max 100000" or "200000 100000" in cpu.max. */
static int cgroup2_cpus(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char q[32] = {0};
    long long period = 0;
    int ok = fscanf(f, "%31s %lld", q, &period) == 2;
    fclose(f);
    if (!ok || strcmp(q, "max") == 0) return 0;
    return quota_cpus(atoll(q), period);
}

static int cgroup_cpus(void) {
    /* The process's own cgroup v2 directory, from /proc/self/cgroup ("0::/x"). */
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[512];
    int n = 0;
    if (f) {
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "0::", 3) == 0) {
                char path[640];
                line[strcspn(line, "\n")] = 0;
                snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", line + 3);
                n = cgroup2_cpus(path);
                break;
            }
        }
        fclose(f);
    }
    if (n == 0) n = cgroup2_cpus("/sys/fs/cgroup/cpu.max");
    if (n == 0) { /* cgroup v1 */
        FILE *fq = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r");
        FILE *fp = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r");
        long long q = 0, p = 0;
        if (fq && fp && fscanf(fq, "%lld", &q) == 1 && fscanf(fp, "%lld", &p) == 1)
            n = quota_cpus(q, p);
        if (fq) fclose(fq);
        if (fp) fclose(fp);
    }
    return n;
}

int weft_cpu_count(void) {
    int n = affinity_cpus();
    int q = cgroup_cpus();
    if (q > 0 && q < n) n = q;
    return n;
}

int weft_default_workers(void) {
    const char *env = getenv("WEFT_NUM_THREADS");
    if (env && *env) {
        char *end = NULL;
        errno = 0;
        long v = strtol(env, &end, 10);
        while (end && (*end == ' ' || *end == '\n' || *end == '\t')) end++;
        if (errno == 0 && end && *end == 0 && v >= 1 && v <= WEFT_MAX_WORKERS) return (int)v;
    }
    int n = weft_cpu_count();
    return n > WEFT_MAX_WORKERS ? WEFT_MAX_WORKERS : n;
}
