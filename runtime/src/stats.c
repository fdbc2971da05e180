/* stats.c: per-worker counters, snapshots and pp-style print_stats.
 * Workers only ever add to their own counters; a reset records a baseline
 * that later snapshots subtract, so no thread writes another's counters. */
#include <stdlib.h>
#include <string.h>

#include "wf.h"

static unsigned long long ld(atomic_ullong *c) {
    return atomic_load_explicit(c, memory_order_relaxed);
}

int weft_stats_get(weft_runtime_t *rt, weft_stats_t *st) {
    if (!st) return WEFT_EINVAL;
    memset(st, 0, sizeof *st);
    if (!wf_rt_valid(rt)) return WEFT_EINVAL;
    int n = atomic_load_explicit(&rt->nslots, memory_order_acquire);
    st->workers = wf_calloc(n > 0 ? (size_t)n : 1, sizeof *st->workers);
    if (!st->workers) return WEFT_ENOMEM;
    st->nworkers = n;
    int target = atomic_load(&rt->target);
    int64_t now = wf_now_ns();
    pthread_mutex_lock(&rt->ctl);
    for (int i = 0; i < n; i++) {
        wf_worker *w = rt->workers[i];
        wf_wstats *b = &rt->stats_base[i];
        weft_worker_stats_t *o = &st->workers[i];
        if (!w) continue;
        unsigned long long busy = ld(&w->st.busy_ns) - ld(&b->busy_ns);
        long long since = atomic_load_explicit(&w->busy_since, memory_order_relaxed);
        if (since && now > since) busy += (unsigned long long)(now - since); /* ongoing stretch */
        o->tasks_run = ld(&w->st.run) - ld(&b->run);
        o->tasks_stolen = ld(&w->st.stolen) - ld(&b->stolen);
        o->busy_s = (double)busy / 1e9;
        o->active = i < target && atomic_load(&w->slot_state) == WF_SLOT_RUNNING;
        st->tasks_run += o->tasks_run;
        st->tasks_stolen += o->tasks_stolen;
        st->busy_s += o->busy_s;
        st->tasks_submitted += ld(&w->st.submitted) - ld(&b->submitted);
        st->tasks_failed += ld(&w->st.failed) - ld(&b->failed);
    }
    st->tasks_submitted += ld(&rt->ext_submitted) - rt->base_submitted;
    st->tasks_failed += ld(&rt->ext_failed) - rt->base_failed;
    pthread_mutex_unlock(&rt->ctl);
    st->wall_s = (double)(now - atomic_load(&rt->t0_ns)) / 1e9;
    return 0;
}

void weft_stats_release(weft_stats_t *st) {
    if (!st) return;
    wf_free(st->workers);
    st->workers = NULL;
    st->nworkers = 0;
}

int weft_stats_reset(weft_runtime_t *rt) {
    if (!wf_rt_valid(rt)) return WEFT_EINVAL;
    pthread_mutex_lock(&rt->ctl);
    int n = atomic_load_explicit(&rt->nslots, memory_order_acquire);
    int64_t now = wf_now_ns();
    for (int i = 0; i < n; i++) {
        wf_worker *w = rt->workers[i];
        wf_wstats *b = &rt->stats_base[i];
        if (!w) continue;
        atomic_store(&b->run, ld(&w->st.run));
        atomic_store(&b->stolen, ld(&w->st.stolen));
        atomic_store(&b->submitted, ld(&w->st.submitted));
        atomic_store(&b->failed, ld(&w->st.failed));
        unsigned long long busy = ld(&w->st.busy_ns);
        long long since = atomic_load_explicit(&w->busy_since, memory_order_relaxed);
        if (since && now > since) busy += (unsigned long long)(now - since);
        atomic_store(&b->busy_ns, busy);
    }
    rt->base_submitted = ld(&rt->ext_submitted);
    rt->base_failed = ld(&rt->ext_failed);
    atomic_store(&rt->t0_ns, now);
    pthread_mutex_unlock(&rt->ctl);
    return 0;
}

int weft_stats_print(weft_runtime_t *rt, FILE *out) {
    weft_stats_t st;
    int rc = weft_stats_get(rt, &st);
    if (rc) return rc;
    if (!out) out = stdout;
    int active = 0;
    for (int i = 0; i < st.nworkers; i++) active += st.workers[i].active;
    fprintf(out, "weft execution statistics: %d active workers, %.3f s wall time\n", active,
            st.wall_s);
    fprintf(out, " worker |    tasks run | %% of all |       stolen |  busy s | busy %%\n");
    for (int i = 0; i < st.nworkers; i++) {
        weft_worker_stats_t *w = &st.workers[i];
        fprintf(out, " %6d | %12llu | %7.2f%% | %12llu | %7.3f | %5.1f%%%s\n", i,
                (unsigned long long)w->tasks_run,
                st.tasks_run ? 100.0 * (double)w->tasks_run / (double)st.tasks_run : 0.0,
                (unsigned long long)w->tasks_stolen, w->busy_s,
                st.wall_s > 0 ? 100.0 * w->busy_s / st.wall_s : 0.0, w->active ? "" : " (retired)");
    }
    fprintf(out, "  Total | %12llu | %7.2f%% | %12llu | %7.3f |\n", (unsigned long long)st.tasks_run,
            st.tasks_run ? 100.0 : 0.0, (unsigned long long)st.tasks_stolen, st.busy_s);
    fprintf(out, "tasks submitted: %llu, failed: %llu, time per task: %.3f us\n",
            (unsigned long long)st.tasks_submitted, (unsigned long long)st.tasks_failed,
            st.tasks_run ? 1e6 * st.busy_s / (double)st.tasks_run : 0.0);
    int bad = ferror(out);
    weft_stats_release(&st);
    return bad ? WEFT_EIO : 0;
}

int weft_stats_print_buf(weft_runtime_t *rt, weft_buf_t *out) {
    if (!out) return WEFT_EINVAL;
    FILE *f = wf_buf_open(out);
    if (!f) return WEFT_ENOMEM;
    return wf_buf_close(f, out, weft_stats_print(rt, f));
}
