// bench: weft against oneTBB's task_group and OpenMP tasks, side by side in
// one run of one process.
//
// Benchmarks (each at every thread count given with --threads):
//
//   fib    fib(n) with one task per call down to n < 2, the classic
//          fork-join stress test of task creation and joining:
//            weft:   each call makes a group (weft_group_create), spawns
//                    fib(n-1) into it (weft_spawn), computes fib(n-2) inline,
//                    waits (weft_group_wait) and frees the group;
//            oneTBB: tbb::task_group g; g.run(fib(n-1)); fib(n-2); g.wait();
//            OpenMP: #pragma omp task shared(x) for fib(n-1), fib(n-2)
//                    inline, #pragma omp taskwait, inside parallel + single.
//   tasks  N tasks that do nothing but increment their own counter, all
//          created by one producer thread, then waited for:
//            weft:   weft_spawn into one group, then weft_group_wait, either
//                    from one task running on a worker (--weft-producer task,
//                    the default: spawns from a worker go to its own deque)
//                    or from the main thread (--weft-producer main);
//            oneTBB: task_group::run from the main thread inside the arena
//                    (arena.execute), then wait;
//            OpenMP: one thread in a single region creates the tasks, then
//                    taskwait.
//          Task i increments counters[i] (one byte each): afterwards every
//          counter must be exactly 1 (each task ran, and ran once).
//          Each library in the form it is fastest at: weft's main-thread
//          form (every spawn goes through the shared injection queue) was
//          2 to 6 times slower than the task form on a 2-CPU machine. Note
//          what the libraries do with so many tasks: weft and oneTBB queue
//          all of them (memory grows with N when the producer outruns the
//          thieves), while libgomp runs a task at once in a team of one
//          thread and, in larger teams, has the creating thread run new
//          tasks itself once 64 per thread are queued. So OpenMP's figure
//          is mostly inline execution, which is also why its memory stays
//          flat.
//
// Every run of every library has its own runtime with exactly the requested
// number of threads doing the work: weft_runtime_create(n) (n workers; the
// main thread only sleeps in the wait), tbb::task_arena(n) entered with
// arena.execute (the main thread plus n-1 workers; a tbb::global_control
// raises TBB's process-wide limit when n exceeds the CPU count), and OpenMP
// num_threads(n) (the main thread plus n-1 team threads). Creating and
// destroying the runtime is not timed; the computation and the final wait
// are (for OpenMP, from inside the single region, once the team is up).
// Repetitions are interleaved (weft, tbb, omp, weft, tbb, omp, ...) so that
// a noisy neighbour hurts all three alike; each reported time is the median
// of --reps runs.
//
// Isolation: by default every run happens in a child process forked for it
// from the single-threaded main process (which never starts any library's
// threads itself), and the child reports its time and memory through a pipe
// and exits. So every run of every library starts from the same state:
// no thread pool, allocator cache or task pool left by an earlier run,
// whether of the same library or another one (oneTBB, for one, keeps every
// task object it ever allocated in a per-thread pool, which would make the
// memory of its later runs look free, and libgomp's team keeps spinning for
// a while after a region). Page faults on fresh memory are therefore paid in
// every run, as a program's first run pays them. --in-process runs all in
// this process instead (for debuggers); its memory figures are then lower
// bounds, for the reason just given.
//
// Memory: just before a run (after the untimed preparation, e.g. clearing the
// counters), the process's peak resident set (VmHWM in /proc/self/status) is
// reset to its current resident set by writing "5" to /proc/self/clear_refs,
// and the current resident set (VmRSS) is read as the baseline. After the
// run, with the library's runtime already destroyed, VmHWM is read again. The
// run's growth is VmHWM - baseline: the most memory the process had resident
// at any moment of the run (runtime creation with its thread stacks, the
// work, teardown) beyond what it had when the run began. <lib>_peak_mib is
// the largest growth over the repetitions, in MiB. The counters array of the
// tasks benchmark is allocated and touched by the main process before any
// run, so it is in every baseline. Where /proc/self/clear_refs cannot be
// written the peaks are printed as "na".
//
// Output: one line per measurement, key=value pairs, e.g.
//   bench=fib n=30 threads=2 reps=5 weft_s=0.101 tbb_s=0.224 omp_s=0.270
//   weft_tbb=0.45 weft_omp=0.37 weft_peak_mib=12.0 tbb_peak_mib=...
// (on one line). weft_tbb and weft_omp are weft's median time divided by
// the other's: below 1 weft is faster. Lines starting with '#' are comments.
// Exit status: 0; 1 when a result was wrong; 2 on a usage or runtime error.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <omp.h>
#include <tbb/task_group.h>

#include <weft.h>

#include "bench_common.hpp"

namespace wb {

extern const char prog_name[] = "bench";

void usage(FILE *out)
{
    std::fprintf(out,
        "usage: bench [options]\n"
        "Times weft against oneTBB task_group and OpenMP tasks in one process and\n"
        "prints one key=value line per benchmark and thread count.\n"
        "\n"
        "  --threads LIST      comma-separated thread counts (default 1,2)\n"
        "  --reps N            repetitions per library; medians are printed (default 5)\n"
        "  --fib N             n of the fib benchmark, 1..45 (default 30)\n"
        "  --tasks N           tasks of the tasks benchmark (default 10000000)\n"
        "  --bench LIST        benchmarks to run: fib,tasks (default both)\n"
        "  --libs LIST         libraries to run: weft,tbb,omp (default all)\n"
        "  --weft-producer P   where weft's tasks benchmark spawns from: task (a\n"
        "                      task on a worker, default) or main (the main thread)\n"
        "  --in-process        run every measurement in this process instead of a\n"
        "                      child forked for it (memory figures then exclude what\n"
        "                      earlier runs left resident)\n"
        "  --help              this text\n"
        "\n"
        "Keys: <lib>_s is the median time in seconds, weft_tbb and weft_omp are\n"
        "weft's time over the other's (below 1: weft faster), <lib>_peak_mib the\n"
        "largest growth of the resident set over a run (see the top of bench.cpp).\n"
        "Exit status: 0 ok, 1 wrong result, 2 usage or runtime error.\n");
}

} // namespace wb

namespace {

using namespace wb;

// One run's time (as returned by its function) and memory growth as
// described at the top of this file (-1 if it cannot be measured).
struct Sample {
    double seconds;
    double growth_mib;
};

// ------------------------------------------------------------------------
// fib

long fib_serial(int n)
{
    long a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        long c = a + b;
        a = b;
        b = c;
    }
    return a;
}

// weft

struct WeftFib {
    weft_runtime_t *rt;
    int n;
    long result;
};

long weft_fib(weft_runtime_t *rt, int n);

int weft_fib_task(void *arg, void **)
{
    auto *a = static_cast<WeftFib *>(arg);
    a->result = weft_fib(a->rt, a->n);
    return 0;
}

long weft_fib(weft_runtime_t *rt, int n)
{
    if (n < 2)
        return n;
    weft_group_t *g;
    check(weft_group_create(rt, nullptr, &g), "weft_group_create");
    WeftFib child{rt, n - 1, 0};
    check(weft_spawn(g, weft_fib_task, &child), "weft_spawn");
    long y = weft_fib(rt, n - 2);
    check(weft_group_wait(g), "weft_group_wait");
    check(weft_group_free(g), "weft_group_free");
    return child.result + y;
}

double run_weft_fib(int threads, int n, long &result)
{
    weft_runtime_t *rt = weft_start(threads);
    WeftFib root{rt, n, -1};
    auto t0 = Clock::now();
    weft_job_t *job;
    check(weft_submit(rt, weft_fib_task, &root, nullptr, &job), "weft_submit");
    check(weft_job_wait(job, nullptr, nullptr), "weft_job_wait");
    double s = seconds_since(t0);
    check(weft_job_free(job), "weft_job_free");
    check(weft_runtime_destroy(rt), "weft_runtime_destroy");
    result = root.result;
    return s;
}

// oneTBB

long tbb_fib(int n)
{
    if (n < 2)
        return n;
    long x, y;
    tbb::task_group g;
    g.run([&x, n] { x = tbb_fib(n - 1); });
    y = tbb_fib(n - 2);
    g.wait();
    return x + y;
}

// Runs fn inside a fresh arena of exactly `threads` threads; returns its time.
template <class F> double timed_in_tbb_arena(int threads, F &&fn)
{
    double s = 0;
    in_tbb_arena(threads, [&] {
        auto t0 = Clock::now();
        fn();
        s = seconds_since(t0);
    });
    return s;
}

double run_tbb_fib(int threads, int n, long &result)
{
    return timed_in_tbb_arena(threads, [&] { result = tbb_fib(n); });
}

// OpenMP

long omp_fib(int n)
{
    if (n < 2)
        return n;
    long x, y;
#pragma omp task shared(x) firstprivate(n)
    x = omp_fib(n - 1);
    y = omp_fib(n - 2);
#pragma omp taskwait
    return x + y;
}

double run_omp_fib(int threads, int n, long &result)
{
    double s = 0;
#pragma omp parallel num_threads(threads) shared(s, result, n, threads)
#pragma omp single
    {
        check_omp_team(threads);
        auto t0 = Clock::now(); // the team is up: time the work only
        result = omp_fib(n);
        s = seconds_since(t0);
    }
    return s;
}

// ------------------------------------------------------------------------
// tasks: every task increments its own one-byte counter

int weft_count_task(void *arg, void **)
{
    ++*static_cast<unsigned char *>(arg);
    return 0;
}

struct WeftProducer {
    weft_runtime_t *rt;
    unsigned char *counters;
    long ntasks;
    int status;
};

// Spawns every counting task into one group and waits for them.
int weft_produce(WeftProducer *p)
{
    weft_group_t *g;
    int rc = weft_group_create(p->rt, nullptr, &g);
    if (rc != 0)
        return rc;
    for (long i = 0; i < p->ntasks; i++) {
        rc = weft_spawn(g, weft_count_task, &p->counters[i]);
        if (rc != 0)
            break;
    }
    int wrc = weft_group_wait(g);
    int frc = weft_group_free(g);
    return rc != 0 ? rc : wrc != 0 ? wrc : frc;
}

int weft_producer_task(void *arg, void **)
{
    auto *p = static_cast<WeftProducer *>(arg);
    p->status = weft_produce(p);
    return 0;
}

double run_weft_tasks(int threads, unsigned char *counters, long ntasks, bool from_task)
{
    weft_runtime_t *rt = weft_start(threads);
    WeftProducer p{rt, counters, ntasks, -1};
    auto t0 = Clock::now();
    if (from_task) {
        weft_job_t *job;
        check(weft_submit(rt, weft_producer_task, &p, nullptr, &job), "weft_submit");
        check(weft_job_wait(job, nullptr, nullptr), "weft_job_wait");
        check(weft_job_free(job), "weft_job_free");
    } else {
        p.status = weft_produce(&p);
    }
    double s = seconds_since(t0);
    check(p.status, "weft_spawn/weft_group_wait");
    check(weft_runtime_destroy(rt), "weft_runtime_destroy");
    return s;
}

double run_tbb_tasks(int threads, unsigned char *counters, long ntasks)
{
    return timed_in_tbb_arena(threads, [&] {
        tbb::task_group g;
        for (long i = 0; i < ntasks; i++) {
            unsigned char *c = &counters[i];
            g.run([c] { ++*c; });
        }
        g.wait();
    });
}

double run_omp_tasks(int threads, unsigned char *counters, long ntasks)
{
    double s = 0;
#pragma omp parallel num_threads(threads) shared(s, counters, ntasks, threads)
#pragma omp single
    {
        check_omp_team(threads);
        auto t0 = Clock::now();
        for (long i = 0; i < ntasks; i++) {
#pragma omp task firstprivate(i) shared(counters)
            ++counters[i];
        }
#pragma omp taskwait
        s = seconds_since(t0);
    }
    return s;
}

void check_counters(const char *lib, const unsigned char *counters, long ntasks)
{
    for (long i = 0; i < ntasks; i++)
        if (counters[i] != 1)
            wrong(std::string(lib) + " tasks: task " + std::to_string(i) + " ran " +
                  std::to_string(counters[i]) + " times");
}

// ------------------------------------------------------------------------
// Command line

struct Options : CommonOptions {
    int fib_n = 30;
    long ntasks = 10000000;
    bool bench_fib = true, bench_tasks = true;
    bool weft_from_task = true;
};


Options parse(int argc, char **argv)
{
    Options o;
    parse_args(argc, argv, o, [&o](const std::string &a, const std::string &v) {
        if (a == "--fib") {
            o.fib_n = (int)option_long(a, v, 1, 45);
        } else if (a == "--tasks") {
            o.ntasks = option_long(a, v, 1, 1000000000L);
        } else if (a == "--bench") {
            o.bench_fib = o.bench_tasks = false;
            for (const auto &b : split(v)) {
                if (b == "fib")
                    o.bench_fib = true;
                else if (b == "tasks")
                    o.bench_tasks = true;
                else
                    bad_usage("unknown benchmark: " + b);
            }
        } else if (a == "--weft-producer") {
            if (v != "task" && v != "main")
                bad_usage("bad --weft-producer: " + v);
            o.weft_from_task = v == "task";
        } else {
            return false;
        }
        return true;
    });
    return o;
}

// ------------------------------------------------------------------------
// Reporting

struct Result {
    std::vector<double> times;
    double peak_mib = 0; // largest growth; -1 once any run could not tell
};

void add_sample(Result &r, const Sample &s)
{
    r.times.push_back(s.seconds);
    fold_peak(r.peak_mib, s.growth_mib);
}

void print_line(const std::string &head, const Options &o, const Result res[NLIBS])
{
    std::string line = head;
    double med[NLIBS] = {0, 0, 0};
    for (int k = 0; k < NLIBS; k++) {
        if (!o.libs[k])
            continue;
        med[k] = median(res[k].times);
        append(line, " %s_s=%.6f", lib_names[k], med[k]);
    }
    for (int k = TBB; k < NLIBS; k++)
        if (o.libs[WEFT] && o.libs[k] && med[k] > 0)
            append(line, " weft_%s=%.2f", lib_names[k], med[WEFT] / med[k]);
    append_peaks(line, o, res);
    print_flush(line);
}

void bench_fib(const Options &o, int threads)
{
    const long want = fib_serial(o.fib_n);
    Result res[NLIBS];
    for_each_run(o, [&](int k) {
        Sample s = measure(o.in_process, [] {}, [&] {
            long got = -1;
            double sec;
            switch (k) {
            case WEFT: sec = run_weft_fib(threads, o.fib_n, got); break;
            case TBB: sec = run_tbb_fib(threads, o.fib_n, got); break;
            default: sec = run_omp_fib(threads, o.fib_n, got); break;
            }
            if (got != want)
                wrong(std::string(lib_names[k]) + " fib(" + std::to_string(o.fib_n) +
                      ") = " + std::to_string(got) + ", want " + std::to_string(want));
            return Sample{sec, -1};
        });
        add_sample(res[k], s);
    });
    char head[128];
    std::snprintf(head, sizeof head, "bench=fib n=%d threads=%d reps=%d result=%ld",
                  o.fib_n, threads, o.reps, want);
    print_line(head, o, res);
}

void bench_tasks(const Options &o, int threads, unsigned char *counters)
{
    Result res[NLIBS];
    for_each_run(o, [&](int k) {
        Sample s = measure(
            o.in_process, [&] { std::memset(counters, 0, (size_t)o.ntasks); },
            [&] {
                double sec;
                switch (k) {
                case WEFT:
                    sec = run_weft_tasks(threads, counters, o.ntasks, o.weft_from_task);
                    break;
                case TBB: sec = run_tbb_tasks(threads, counters, o.ntasks); break;
                default: sec = run_omp_tasks(threads, counters, o.ntasks); break;
                }
                check_counters(lib_names[k], counters, o.ntasks);
                return Sample{sec, -1};
            });
        add_sample(res[k], s);
    });
    char head[160];
    std::snprintf(head, sizeof head,
                  "bench=tasks n=%ld threads=%d reps=%d weft_producer=%s", o.ntasks,
                  threads, o.reps, o.weft_from_task ? "task" : "main");
    print_line(head, o, res);
}

} // namespace

int main(int argc, char **argv)
{
    Options o = parse(argc, argv);
    wb::print_preamble(o);

    // Allocated and touched before any run, so it is in every baseline.
    std::vector<unsigned char> counters(o.bench_tasks ? (size_t)o.ntasks : 0, 1);

    for (int threads : o.threads) {
        if (o.bench_fib)
            bench_fib(o, threads);
        if (o.bench_tasks)
            bench_tasks(o, threads, counters.data());
    }
    return 0;
}
