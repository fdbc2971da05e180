// bench_common.hpp: the machinery that tools/bench.cpp and
// tools/bench_graph.cpp share (header-only, C++17): error exits, timing and
// medians, peak-memory measurement through /proc/self/clear_refs, one run
// per forked child reporting through a pipe, the options every benchmark
// takes (--threads, --reps, --libs, --in-process, --help), the oneTBB arena
// and OpenMP team of exactly n threads, and key=value output.
//
// A program that includes this header defines, in namespace wb:
//   extern const char prog_name[] = "bench";  // prefix of every message
//   void usage(FILE *out);                    // its --help text
// Measurement and isolation are described at the top of tools/bench.cpp.

#ifndef WEFT_TOOLS_BENCH_COMMON_HPP
#define WEFT_TOOLS_BENCH_COMMON_HPP

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <omp.h>
#include <sys/wait.h>
#include <unistd.h>
#include <tbb/global_control.h>
#include <tbb/scalable_allocator.h>
#include <tbb/task_arena.h>
#include <tbb/version.h>

#include <weft.h>

namespace wb {

// Defined by the program (see the top of this file).
extern const char prog_name[];
void usage(FILE *out);

// ------------------------------------------------------------------------
// Errors

// A weft call failed: exit status 2.
[[noreturn]] inline void die(const char *what, int rc)
{
    std::fprintf(stderr, "%s: error: %s: %s (%s)\n", prog_name, what, weft_err_name(rc),
                 weft_strerror(rc));
    std::fflush(stdout);
    std::_Exit(2); // may be on a worker thread: no destructors, no atexit
}

inline void check(int rc, const char *what)
{
    if (rc != 0)
        die(what, rc);
}

// A library computed a wrong result: exit status 1.
[[noreturn]] inline void wrong(const std::string &msg)
{
    std::fprintf(stderr, "%s: error: wrong result: %s\n", prog_name, msg.c_str());
    std::fflush(stdout);
    std::_Exit(1);
}

// A system call failed (errno says why): exit status 2.
[[noreturn]] inline void sys_die(const char *what)
{
    std::fprintf(stderr, "%s: error: %s: %s\n", prog_name, what, std::strerror(errno));
    std::exit(2);
}

// ------------------------------------------------------------------------
// Time

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The median of v; 0 when v is empty.
inline double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// ------------------------------------------------------------------------
// Memory

// One "VmXXX:   1234 kB" field of /proc/self/status, in KiB; -1 if absent.
inline long status_kib(const char *field)
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
inline bool reset_peak_rss()
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
inline void release_cached_memory()
{
    scalable_allocation_command(TBBMALLOC_CLEAN_ALL_BUFFERS, nullptr);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

// Folds one run's memory growth into the largest so far; -1 (cannot be
// measured) in either stays -1.
inline void fold_peak(double &peak_mib, double growth_mib)
{
    if (growth_mib < 0 || peak_mib < 0)
        peak_mib = -1;
    else
        peak_mib = std::max(peak_mib, growth_mib);
}

// ------------------------------------------------------------------------
// Measuring one run

// Runs prepare() untimed, then run() with the peak resident set reset
// before it and read after it. run() returns the program's sample type S,
// a plain struct with a double growth_mib that is set here: the run's
// growth of the resident set in MiB, or -1 when it cannot be measured.
template <class P, class R> auto measure_here(P &&prepare, R &&run) -> decltype(run())
{
    prepare();
    bool can = reset_peak_rss();
    long base = status_kib("VmRSS");
    auto s = run();
    long peak = status_kib("VmHWM");
    s.growth_mib = -1;
    if (can && base >= 0 && peak >= 0)
        s.growth_mib = (double)std::max(0L, peak - base) / 1024.0;
    return s;
}

inline bool write_all(int fd, const void *buf, size_t len)
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

inline size_t read_all(int fd, void *buf, size_t len)
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

// Measures one run (see measure_here), by default in a child process forked
// for it, or in this process with in_process. run() checks its own result
// and calls wrong() (exit status 1) when it is wrong; a child's failure ends
// this process with the child's exit status.
template <class P, class R>
auto measure(bool in_process, P &&prepare, R &&run) -> decltype(run())
{
    using S = decltype(run());
    static_assert(std::is_trivially_copyable<S>::value, "a sample goes through a pipe");
    if (in_process) {
        S s = measure_here(prepare, run);
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
        S s = measure_here(prepare, run);
        std::fflush(stdout);
        _exit(write_all(fds[1], &s, sizeof s) ? 0 : 2); // skip exit handlers
    }
    close(fds[1]);
    S s{};
    size_t got = read_all(fds[0], &s, sizeof s);
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            sys_die("waitpid");
    if (WIFSIGNALED(st)) {
        std::fprintf(stderr, "%s: error: the measured run died of signal %d (%s)\n", prog_name,
                     WTERMSIG(st), strsignal(WTERMSIG(st)));
        std::exit(2);
    }
    if (WEXITSTATUS(st) != 0)
        std::exit(WEXITSTATUS(st)); // the child said why
    if (got != sizeof s) {
        std::fprintf(stderr, "%s: error: no result from the measured run\n", prog_name);
        std::exit(2);
    }
    return s;
}

// ------------------------------------------------------------------------
// The libraries, each with exactly `threads` threads

// A weft runtime of `threads` workers.
inline weft_runtime_t *weft_start(int threads)
{
    weft_runtime_t *rt;
    check(weft_runtime_create(threads, &rt), "weft_runtime_create");
    if (weft_runtime_workers(rt) != threads)
        wrong("weft runtime has " + std::to_string(weft_runtime_workers(rt)) +
              " workers, asked for " + std::to_string(threads));
    return rt;
}

// Runs fn inside a fresh oneTBB arena of exactly `threads` threads.
template <class F> void in_tbb_arena(int threads, F &&fn)
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
    arena.execute(fn);
}

// Called inside an OpenMP parallel region: checks the team's size.
inline void check_omp_team(int threads)
{
    if (omp_get_num_threads() != threads)
        wrong("OpenMP team has " + std::to_string(omp_get_num_threads()) +
              " threads, asked for " + std::to_string(threads));
}

// ------------------------------------------------------------------------
// Command line

enum Lib { WEFT, TBB, OMP, NLIBS };
inline const char *const lib_names[NLIBS] = {"weft", "tbb", "omp"};

// The options every benchmark program takes; its own Options derive from it.
struct CommonOptions {
    std::vector<int> threads{1, 2};
    int reps = 5;
    bool libs[NLIBS] = {true, true, true};
    bool in_process = false;
};

// Calls run(k) o.reps times for each library k chosen with --libs,
// interleaved (weft, tbb, omp, weft, tbb, omp, ...) so that a noisy
// neighbour hurts all of them alike.
template <class F> void for_each_run(const CommonOptions &o, F &&run)
{
    for (int rep = 0; rep < o.reps; rep++)
        for (int k = 0; k < NLIBS; k++)
            if (o.libs[k])
                run(k);
}

// Prints the message and the usage text to stderr and exits with status 2.
[[noreturn]] inline void bad_usage(const std::string &msg)
{
    std::fprintf(stderr, "%s: %s\n", prog_name, msg.c_str());
    usage(stderr);
    std::exit(2);
}

// The comma-separated items of s ("" is one empty item).
inline std::vector<std::string> split(const std::string &s)
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

inline bool parse_long(const std::string &s, long lo, long hi, long &out)
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

// The value v of option `opt`, a whole number in lo..hi, or a usage error.
inline long option_long(const std::string &opt, const std::string &v, long lo, long hi)
{
    long x;
    if (!parse_long(v, lo, hi, x))
        bad_usage("bad " + opt + ": " + v);
    return x;
}

// Sets chosen[k] for each name in the comma-separated list v (and clears
// the others); an unknown name is a usage error "unknown <what>: <name>".
inline void choose(const std::string &v, const char *const names[], int n, bool chosen[],
                   const char *what)
{
    std::fill(chosen, chosen + n, false);
    for (const auto &s : split(v)) {
        int k = 0;
        while (k < n && s != names[k])
            k++;
        if (k == n)
            bad_usage(std::string("unknown ") + what + ": " + s);
        chosen[k] = true;
    }
}

// Parses the command line into o: --help, --in-process, --threads, --reps
// and --libs here; every other "--option value" goes to
// option(name, value), which returns false for one it does not know.
template <class F> void parse_args(int argc, char **argv, CommonOptions &o, F &&option)
{
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
        if (a == "--threads") {
            o.threads.clear();
            for (const auto &t : split(v)) {
                long x;
                if (!parse_long(t, 1, WEFT_MAX_WORKERS, x))
                    bad_usage("bad thread count: " + t);
                o.threads.push_back((int)x);
            }
        } else if (a == "--reps") {
            o.reps = (int)option_long(a, v, 1, 1000);
        } else if (a == "--libs") {
            choose(v, lib_names, NLIBS, o.libs, "library");
        } else if (!option(a, v)) {
            bad_usage("unknown option: " + a);
        }
    }
}

// ------------------------------------------------------------------------
// Output

// The first lines: versions, CPUs and how runs are isolated.
inline void print_preamble(const CommonOptions &o)
{
    std::printf("# %s: weft %s, oneTBB %s, OpenMP %d (libgomp), %d CPUs "
                "(weft_cpu_count), reps=%d, %s\n",
                prog_name, weft_version(), TBB_runtime_version(), _OPENMP, weft_cpu_count(),
                o.reps,
                o.in_process ? "all runs in this process" : "each run in its own process");
    if (!reset_peak_rss())
        std::printf("# %s: /proc/self/clear_refs not writable: peaks are 'na'\n", prog_name);
    std::fflush(stdout);
}

// Appends printf-formatted text (at most 127 bytes) to line.
inline void append(std::string &line, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
inline void append(std::string &line, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    line += buf;
}

// Appends " <lib>_peak_mib=..." for each library run, from res[k].peak_mib
// ("na" when it is -1: unknown).
template <class R>
void append_peaks(std::string &line, const CommonOptions &o, const R res[NLIBS])
{
    for (int k = 0; k < NLIBS; k++) {
        if (!o.libs[k])
            continue;
        if (res[k].peak_mib < 0)
            append(line, " %s_peak_mib=na", lib_names[k]);
        else
            append(line, " %s_peak_mib=%.1f", lib_names[k], res[k].peak_mib);
    }
}

// Prints one output line and flushes it (a forked child must not repeat it).
inline void print_flush(const std::string &line)
{
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

} // namespace wb

#endif
