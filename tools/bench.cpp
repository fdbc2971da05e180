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

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <omp.h>
#include <sys/wait.h>
#include <unistd.h>
#include <tbb/scalable_allocator.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#include <tbb/version.h>

#include <weft.h>

namespace {

// ------------------------------------------------------------------------
// Helpers

[[noreturn]] void die(const char *what, int rc)
{
    std::fprintf(stderr, "bench: error: %s: %s (%s)\n", what, weft_err_name(rc),
                 weft_strerror(rc));
    std::fflush(stdout);
    std::_Exit(2); // may be on a worker thread: no destructors, no atexit
}

inline void check(int rc, const char *what)
{
    if (rc != 0)
        die(what, rc);
}

[[noreturn]] void wrong(const std::string &msg)
{
    std::fprintf(stderr, "bench: error: wrong result: %s\n", msg.c_str());
    std::fflush(stdout);
    std::_Exit(1);
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// One "VmXXX:   1234 kB" field of /proc/self/status, in KiB; -1 if absent.
long status_kib(const char *field)
{
    FILE *f = std::fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    size_t len = std::strlen(field);
    while (std::fgets(line, sizeof line, f)) {
        if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
            kib = std::strtol(line + len + 1, nullptr, 10);
            break;
        }
    }
    std::fclose(f);
    return kib;
}

// Resets VmHWM to the current resident set (Linux 4.0 and later).
bool reset_peak_rss()
{
    FILE *f = std::fopen("/proc/self/clear_refs", "w");
    if (!f)
        return false;
    bool ok = std::fputs("5", f) >= 0;
    ok = (std::fclose(f) == 0) && ok;
    return ok;
}

// Hands memory that allocators keep cached after a run back to the system,
// so that less of it sits in the next run's baseline (--in-process only):
// tbbmalloc (used by weft and, for some of its memory, by oneTBB) and
// glibc's malloc (used by libgomp). oneTBB's per-thread task pools are not
// released by this: they stay with the main thread.
void release_cached_memory()
{
    scalable_allocation_command(TBBMALLOC_CLEAN_ALL_BUFFERS, nullptr);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

// One run's time (as returned by its function) and memory growth as
// described at the top of this file (-1 if it cannot be measured).
struct Sample {
    double seconds;
    double growth_mib;
};

// Runs prepare() untimed, then run() with the peak resident set reset
// before it and read after it.
template <class P, class R> Sample measure_here(P &&prepare, R &&run)
{
    prepare();
    bool can = reset_peak_rss();
    long base = status_kib("VmRSS");
    double s = run();
    long peak = status_kib("VmHWM");
    Sample out{s, -1.0};
    if (can && base >= 0 && peak >= 0)
        out.growth_mib = (double)std::max(0L, peak - base) / 1024.0;
    return out;
}

bool write_all(int fd, const void *buf, size_t len)
{
    const char *p = static_cast<const char *>(buf);
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

size_t read_all(int fd, void *buf, size_t len)
{
    char *p = static_cast<char *>(buf);
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

[[noreturn]] void sys_die(const char *what)
{
    std::fprintf(stderr, "bench: error: %s: %s\n", what, std::strerror(errno));
    std::exit(2);
}

// Measures one run, by default in a child process forked for it (see the top
// of this file), or in this process with in_process. run() checks its own
// result and calls wrong() (exit status 1) when it is wrong; a child's
// failure ends this process with the child's exit status.
template <class P, class R> Sample measure(bool in_process, P &&prepare, R &&run)
{
    if (in_process) {
        Sample s = measure_here(prepare, run);
        release_cached_memory();
        // Let spinning threads of the library just measured (libgomp's
        // team spins after a region, oneTBB's workers before they sleep)
        // park, so they do not take CPU from the next run.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return s;
    }
    std::fflush(stdout); // or the child would print our buffered output too
    std::fflush(stderr);
    int fds[2];
    if (pipe(fds) != 0)
        sys_die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        sys_die("fork");
    if (pid == 0) {
        close(fds[0]);
        Sample s = measure_here(prepare, run);
        std::fflush(stdout);
        _exit(write_all(fds[1], &s, sizeof s) ? 0 : 2); // skip exit handlers
    }
    close(fds[1]);
    Sample s{};
    size_t got = read_all(fds[0], &s, sizeof s);
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            sys_die("waitpid");
    if (WIFSIGNALED(st)) {
        std::fprintf(stderr, "bench: error: the measured run died of signal %d (%s)\n",
                     WTERMSIG(st), strsignal(WTERMSIG(st)));
        std::exit(2);
    }
    if (WEXITSTATUS(st) != 0)
        std::exit(WEXITSTATUS(st)); // the child said why
    if (got != sizeof s) {
        std::fprintf(stderr, "bench: error: no result from the measured run\n");
        std::exit(2);
    }
    return s;
}

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

weft_runtime_t *weft_start(int threads)
{
    weft_runtime_t *rt;
    check(weft_runtime_create(threads, &rt), "weft_runtime_create");
    if (weft_runtime_workers(rt) != threads)
        wrong("weft runtime has " + std::to_string(weft_runtime_workers(rt)) +
              " workers, asked for " + std::to_string(threads));
    return rt;
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
template <class F> double in_tbb_arena(int threads, F &&fn)
{
    // TBB caps every arena at its process-wide limit, by default the CPU
    // count: lift it for the duration of the run so that n threads run.
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                              (size_t)threads);
    tbb::task_arena arena(threads);
    arena.initialize(); // not timed
    if (arena.max_concurrency() != threads)
        wrong("tbb arena has concurrency " + std::to_string(arena.max_concurrency()) +
              ", asked for " + std::to_string(threads));
    double s = 0;
    arena.execute([&] {
        auto t0 = Clock::now();
        fn();
        s = seconds_since(t0);
    });
    return s;
}

double run_tbb_fib(int threads, int n, long &result)
{
    return in_tbb_arena(threads, [&] { result = tbb_fib(n); });
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

void check_omp_team(int threads)
{
    if (omp_get_num_threads() != threads)
        wrong("OpenMP team has " + std::to_string(omp_get_num_threads()) +
              " threads, asked for " + std::to_string(threads));
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
    return in_tbb_arena(threads, [&] {
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

enum Lib { WEFT, TBB, OMP, NLIBS };
const char *const lib_names[NLIBS] = {"weft", "tbb", "omp"};

struct Options {
    std::vector<int> threads{1, 2};
    int reps = 5;
    int fib_n = 30;
    long ntasks = 10000000;
    bool bench_fib = true, bench_tasks = true;
    bool libs[NLIBS] = {true, true, true};
    bool weft_from_task = true;
    bool in_process = false;
};

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

std::vector<std::string> split(const std::string &s)
{
    std::vector<std::string> out;
    size_t pos = 0;
    while (true) {
        size_t comma = s.find(',', pos);
        out.push_back(s.substr(pos, comma == std::string::npos ? std::string::npos
                                                               : comma - pos));
        if (comma == std::string::npos)
            break;
        pos = comma + 1;
    }
    return out;
}

bool parse_long(const std::string &s, long lo, long hi, long &out)
{
    if (s.empty())
        return false;
    char *end;
    errno = 0;
    long v = std::strtol(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    out = v;
    return true;
}

[[noreturn]] void bad_usage(const std::string &msg)
{
    std::fprintf(stderr, "bench: %s\n", msg.c_str());
    usage(stderr);
    std::exit(2);
}

Options parse(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            usage(stdout);
            std::exit(0);
        }
        if (a == "--in-process") {
            o.in_process = true;
            continue;
        }
        if (i + 1 >= argc)
            bad_usage("missing value or unknown option: " + a);
        std::string v = argv[++i];
        long x;
        if (a == "--threads") {
            o.threads.clear();
            for (const auto &t : split(v)) {
                if (!parse_long(t, 1, WEFT_MAX_WORKERS, x))
                    bad_usage("bad thread count: " + t);
                o.threads.push_back((int)x);
            }
        } else if (a == "--reps") {
            if (!parse_long(v, 1, 1000, x))
                bad_usage("bad --reps: " + v);
            o.reps = (int)x;
        } else if (a == "--fib") {
            if (!parse_long(v, 1, 45, x))
                bad_usage("bad --fib: " + v);
            o.fib_n = (int)x;
        } else if (a == "--tasks") {
            if (!parse_long(v, 1, 1000000000L, x))
                bad_usage("bad --tasks: " + v);
            o.ntasks = x;
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
        } else if (a == "--libs") {
            std::fill(o.libs, o.libs + NLIBS, false);
            for (const auto &l : split(v)) {
                int k = 0;
                while (k < NLIBS && l != lib_names[k])
                    k++;
                if (k == NLIBS)
                    bad_usage("unknown library: " + l);
                o.libs[k] = true;
            }
        } else if (a == "--weft-producer") {
            if (v != "task" && v != "main")
                bad_usage("bad --weft-producer: " + v);
            o.weft_from_task = v == "task";
        } else {
            bad_usage("unknown option: " + a);
        }
    }
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
    if (s.growth_mib < 0 || r.peak_mib < 0)
        r.peak_mib = -1;
    else
        r.peak_mib = std::max(r.peak_mib, s.growth_mib);
}

void print_line(const std::string &head, const Options &o, const Result res[NLIBS])
{
    std::string line = head;
    char buf[96];
    double med[NLIBS] = {0, 0, 0};
    for (int k = 0; k < NLIBS; k++) {
        if (!o.libs[k])
            continue;
        med[k] = median(res[k].times);
        std::snprintf(buf, sizeof buf, " %s_s=%.6f", lib_names[k], med[k]);
        line += buf;
    }
    for (int k = TBB; k < NLIBS; k++) {
        if (!o.libs[WEFT] || !o.libs[k] || med[k] <= 0)
            continue;
        std::snprintf(buf, sizeof buf, " weft_%s=%.2f", lib_names[k], med[WEFT] / med[k]);
        line += buf;
    }
    for (int k = 0; k < NLIBS; k++) {
        if (!o.libs[k])
            continue;
        if (res[k].peak_mib < 0)
            std::snprintf(buf, sizeof buf, " %s_peak_mib=na", lib_names[k]);
        else
            std::snprintf(buf, sizeof buf, " %s_peak_mib=%.1f", lib_names[k],
                          res[k].peak_mib);
        line += buf;
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

void bench_fib(const Options &o, int threads)
{
    const long want = fib_serial(o.fib_n);
    Result res[NLIBS];
    for (int rep = 0; rep < o.reps; rep++) {
        for (int k = 0; k < NLIBS; k++) {
            if (!o.libs[k])
                continue;
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
                return sec;
            });
            add_sample(res[k], s);
        }
    }
    char head[128];
    std::snprintf(head, sizeof head, "bench=fib n=%d threads=%d reps=%d result=%ld",
                  o.fib_n, threads, o.reps, want);
    print_line(head, o, res);
}

void bench_tasks(const Options &o, int threads, unsigned char *counters)
{
    Result res[NLIBS];
    for (int rep = 0; rep < o.reps; rep++) {
        for (int k = 0; k < NLIBS; k++) {
            if (!o.libs[k])
                continue;
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
                    return sec;
                });
            add_sample(res[k], s);
        }
    }
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
    std::printf("# bench: weft %s, oneTBB %s, OpenMP %d (libgomp), %d CPUs "
                "(weft_cpu_count), reps=%d, %s\n",
                weft_version(), TBB_runtime_version(), _OPENMP, weft_cpu_count(), o.reps,
                o.in_process ? "all runs in this process" : "each run in its own process");
    if (!reset_peak_rss())
        std::printf("# bench: /proc/self/clear_refs not writable: peaks are 'na'\n");
    std::fflush(stdout);

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
