// bench_graph: weft's task graphs against oneTBB's flow graph and OpenMP
// task dependences, side by side in one run of one program.
//
// Graphs (each at every thread count given with --threads; every library
// builds and runs exactly the same graph):
//
//   wavefront  a W x W grid (default 1000 x 1000: a million nodes, 1,998,000
//              edges); node (i, j) runs after its upper neighbour (i-1, j)
//              and its left neighbour (i, j-1).
//   chain      N nodes in a line (default a million), each after the last.
//   tree       a complete binary out-tree of 2^D nodes (default D = 20:
//              1,048,576 nodes) in heap order: node v > 0 runs after its
//              parent (v-1)/2, so every node broadcasts to its two
//              children; one source, 2^(D-1) leaves.
//   layered    L layers of W nodes (default 100 x 10,000); every node of
//              layer l > 0 runs after 1 to 4 distinct nodes of layer l-1
//              drawn at random (splitmix64, --seed, default 1). The graph is
//              made once, before any run, and shared by all three libraries.
//
// The work of a node is trivial on purpose, so that what is measured is the
// libraries' cost per node and per edge: node v checks that each of its
// predecessors has already run (done[p] == 1; any that has not counts as an
// ordering violation), then increments its own counter done[v]. A wavefront
// node also computes val(i, j) = val(i-1, j) + val(i, j-1) + 1 (mod 2^64;
// missing neighbours count as 0). After each run every done[v] must be
// exactly 1, there must be no violation, and the wavefront's last value must
// equal the serial one; otherwise bench_graph exits with status 1.
//
// How each library builds and runs a graph:
//   weft:   weft_graph_add(g, NULL, fn, &work, NULL) per node (unnamed: weft
//           names it "n<id>"), then weft_graph_precede per edge (build);
//           weft_graph_check, which compiles the edge list into successor
//           and predecessor arrays and checks for cycles (compile), then
//           weft_graph_run (run). weft_graph_run would compile by itself;
//           it is called apart only so that its cost shows separately, and
//           it counts as run time: weft_run_s includes weft_compile_s.
//   oneTBB: tbb::flow::graph, one continue_node<continue_msg> per node in a
//           std::deque (no per-node allocation beyond TBB's own), then
//           make_edge per edge (build); try_put(continue_msg()) to every
//           source and g.wait_for_all() (run); all inside a task_arena of n
//           threads, where the graph is constructed so that it runs there.
//   OpenMP: one thread in a single region creates one task per node in the
//           graph's order, with depend(in: dep[p]) for each predecessor p and
//           depend(out: dep[v]), over an array of one char per node used as
//           the dependence objects, then taskwait. Creating a task is
//           building and running at once, so omp_build_s is "na" and the
//           whole time is run time. (libgomp queues at most 64 tasks per
//           thread; past that the creating thread waits for the new task's
//           dependences and runs it itself, so with deep graphs much of the
//           OpenMP work runs on the creating thread.)
// Times start once the library's threads are up (weft_runtime_create, the
// arena's initialize, the parallel region) and end when the last node has
// run; destroying the graph and the threads is not timed (it is inside the
// memory window).
//
// Repetitions, isolation and memory follow tools/bench.cpp (the code is
// shared, in tools/bench_common.hpp): repetitions are interleaved (weft,
// tbb, omp, weft, tbb, omp, ...), every reported time is a median of
// --reps runs, and every run happens in a child process forked
// for it from the single-threaded main process, so no run inherits another's
// threads, caches or pools. Before a run (after the untimed preparation)
// the child resets its peak resident set (writes "5" to /proc/self/clear_refs)
// and reads VmRSS as the baseline; after the run, with the graph and the
// threads gone, it reads VmHWM. <lib>_peak_mib is the largest growth
// VmHWM - baseline over the repetitions: the memory of the graph, the run
// and the threads. The done, val and dep arrays and the layered graph's
// predecessor lists are made by the main process before any run, so they
// are in every baseline. Where /proc/self/clear_refs cannot be written the
// peaks are "na".
//
// Output: one line per graph and thread count, key=value pairs:
//   bench=wavefront n=1000000 edges=1998000 threads=2 reps=5
//   weft_build_s=... weft_compile_s=... weft_run_s=... weft_total_s=...
//   tbb_build_s=... tbb_run_s=... tbb_total_s=...
//   omp_build_s=na omp_run_s=... omp_total_s=...
//   weft_tbb_total=... weft_omp_total=... weft_tbb_mem=... weft_omp_mem=...
//   weft_peak_mib=... tbb_peak_mib=... omp_peak_mib=...
// (all on one line). <lib>_total_s is the median of the per-run sums
// build + run. weft_tbb_total is weft's total over oneTBB's, weft_tbb_mem
// weft's peak over oneTBB's (below 1: weft is faster or smaller); likewise
// for OpenMP. After each wavefront line comes the cost of building it:
//   bench=build graph=wavefront n=... edges=... threads=2 reps=5
//   weft_node_ns=... weft_edge_ns=... tbb_node_ns=... tbb_edge_ns=...
//   weft_tbb_node=... weft_tbb_edge=...
// the medians of the time to add all nodes over the node count and of the
// time to add all edges over the edge count, from the same runs. Lines
// starting with '#' are comments.
// Exit status: 0; 1 when a result was wrong; 2 on a usage or runtime error.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include <omp.h>
#include <tbb/flow_graph.h>

#include <weft.h>

#include "bench_common.hpp"

namespace wb {

extern const char prog_name[] = "bench_graph";

void usage(FILE *out)
{
    std::fprintf(out,
        "usage: bench_graph [options]\n"
        "Builds and runs the same task graphs with weft, oneTBB's flow graph and\n"
        "OpenMP task dependences, and prints one key=value line per graph and\n"
        "thread count.\n"
        "\n"
        "  --threads LIST      comma-separated thread counts (default 1,2)\n"
        "  --reps N            repetitions per library; medians are printed (default 5)\n"
        "  --graphs LIST       graphs to run: wavefront,chain,tree,layered (default all)\n"
        "  --libs LIST         libraries to run: weft,tbb,omp (default all)\n"
        "  --wavefront W       side of the wavefront grid, 2..4096 (default 1000)\n"
        "  --chain N           nodes of the chain, 2..100000000 (default 1000000)\n"
        "  --tree-depth D      the tree has 2^D nodes, 1..26 (default 20)\n"
        "  --layers L          layers of the layered graph, 2..100000 (default 100)\n"
        "  --width W           nodes per layer, 1..10000000 (default 10000)\n"
        "  --seed S            seed of the layered graph's edges (default 1)\n"
        "  --in-process        run every measurement in this process instead of a\n"
        "                      child forked for it (memory figures then exclude what\n"
        "                      earlier runs left resident)\n"
        "  --help              this text\n"
        "\n"
        "Keys: <lib>_build_s, <lib>_run_s and <lib>_total_s are median seconds to\n"
        "build the graph (nodes and edges), to run it (weft: compile included,\n"
        "also shown as weft_compile_s; OpenMP: everything, build_s is na) and for\n"
        "both; weft_tbb_total and weft_omp_total divide weft's total by the\n"
        "other's, weft_tbb_mem and weft_omp_mem weft's peak by the other's (below 1:\n"
        "weft better); <lib>_peak_mib is the largest growth of the resident set\n"
        "over a run. bench=build lines give the wavefront's cost per node and per\n"
        "edge in ns. See the top of bench_graph.cpp.\n"
        "Exit status: 0 ok, 1 wrong result, 2 usage or runtime error.\n");
}

} // namespace wb

namespace {

using namespace wb;

// What one run reports. Times in seconds; build_s < 0 means "na".
struct Sample {
    double node_s = 0, edge_s = 0; // the two parts of the build
    double build_s = 0;
    double compile_s = 0;          // weft only, part of run_s
    double run_s = 0;
    double growth_mib = -1;        // -1: cannot be measured
};

// ------------------------------------------------------------------------
// Graphs

enum Kind { WAVEFRONT, CHAIN, TREE, LAYERED, NKINDS };
const char *const kind_names[NKINDS] = {"wavefront", "chain", "tree", "layered"};

// A graph's shape and the state its nodes touch. Nodes are numbered
// 0..n-1 in the order every library creates them; for each node its
// predecessors come in a fixed order too, and edges are added node by node
// in that order.
struct Work {
    Kind kind = CHAIN;
    uint32_t n = 0;
    uint32_t width = 0;                      // wavefront, layered
    uint64_t edges = 0;
    std::vector<uint32_t> pred_off, pred;    // layered: CSR of predecessors
    unsigned char *done = nullptr;           // per node: times it ran
    uint64_t *val = nullptr;                 // wavefront values
    std::atomic<long> violations{0};         // a node ran before a predecessor

    // Calls f(p) for each predecessor p of v.
    template <class F> void for_preds(uint32_t v, F &&f) const
    {
        switch (kind) {
        case WAVEFRONT:
            if (v >= width)
                f(v - width);
            if (v % width)
                f(v - 1);
            break;
        case CHAIN:
            if (v)
                f(v - 1);
            break;
        case TREE:
            if (v)
                f((v - 1) / 2);
            break;
        default:
            for (uint32_t k = pred_off[v]; k < pred_off[v + 1]; k++)
                f(pred[k]);
            break;
        }
    }

    // The node's work; runs on whichever thread the library picks.
    void run(uint32_t v)
    {
        bool late = false;
        for_preds(v, [&](uint32_t p) { late |= done[p] != 1; });
        if (late)
            violations.fetch_add(1, std::memory_order_relaxed);
        if (kind == WAVEFRONT) {
            uint64_t up = v >= width ? val[v - width] : 0;
            uint64_t left = v % width ? val[v - 1] : 0;
            val[v] = up + left + 1;
        }
        done[v]++;
    }
};

uint64_t splitmix64(uint64_t &s)
{
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct Options : CommonOptions {
    uint32_t wavefront = 1000;  // side
    uint32_t chain = 1000000;
    int tree_depth = 20;        // 2^depth nodes
    uint32_t layers = 100, width = 10000;
    uint64_t seed = 1;
    bool graphs[NKINDS] = {true, true, true, true};
};

void make_shape(Work &w, Kind kind, const Options &o)
{
    w.kind = kind;
    switch (kind) {
    case WAVEFRONT:
        w.width = o.wavefront;
        w.n = o.wavefront * o.wavefront;
        w.edges = 2ULL * o.wavefront * (o.wavefront - 1);
        break;
    case CHAIN:
        w.n = o.chain;
        w.edges = o.chain - 1;
        break;
    case TREE:
        w.n = 1u << o.tree_depth;
        w.edges = w.n - 1;
        break;
    default: {
        w.width = o.width;
        w.n = o.layers * o.width;
        uint64_t s = o.seed;
        w.pred_off.assign(1, 0);
        w.pred.clear();
        for (uint32_t v = 0; v < w.n; v++) {
            if (v >= w.width) {
                uint32_t base = (v / w.width - 1) * w.width;
                uint32_t k = 1 + (uint32_t)(splitmix64(s) % 4);
                if (k > w.width)
                    k = w.width;
                size_t first = w.pred.size();
                while (w.pred.size() - first < k) {
                    uint32_t p = base + (uint32_t)(splitmix64(s) % w.width);
                    if (std::find(w.pred.begin() + (long)first, w.pred.end(), p) ==
                        w.pred.end())
                        w.pred.push_back(p);
                }
            }
            w.pred_off.push_back((uint32_t)w.pred.size());
        }
        w.edges = w.pred.size();
        break;
    }
    }
}

// Clears the state a run writes (untimed).
void reset_work(Work &w)
{
    std::memset(w.done, 0, w.n);
    if (w.val)
        std::memset(w.val, 0, (size_t)w.n * sizeof *w.val);
    w.violations.store(0);
}

uint64_t wavefront_serial(uint32_t width)
{
    std::vector<uint64_t> row(width, 0);
    for (uint32_t i = 0; i < width; i++) {
        uint64_t left = 0;
        for (uint32_t j = 0; j < width; j++) {
            row[j] = row[j] + left + 1;
            left = row[j];
        }
    }
    return row[width - 1];
}

void verify(const char *lib, const Work &w, uint64_t want_last)
{
    for (uint32_t v = 0; v < w.n; v++)
        if (w.done[v] != 1)
            wrong(std::string(lib) + " " + kind_names[w.kind] + ": node " + std::to_string(v) +
                  " ran " + std::to_string(w.done[v]) + " times");
    if (w.violations.load() != 0)
        wrong(std::string(lib) + " " + kind_names[w.kind] + ": " +
              std::to_string(w.violations.load()) + " nodes ran before a predecessor");
    if (w.kind == WAVEFRONT && w.val[w.n - 1] != want_last)
        wrong(std::string(lib) + " wavefront: last value " + std::to_string(w.val[w.n - 1]) +
              ", want " + std::to_string(want_last));
}

// ------------------------------------------------------------------------
// weft

int weft_node(weft_node_ctx_t *ctx, void *arg)
{
    static_cast<Work *>(arg)->run(weft_node_id(ctx));
    return 0;
}

Sample run_weft(int threads, Work &w)
{
    weft_runtime_t *rt = weft_start(threads);
    Sample s;
    auto t0 = Clock::now();
    weft_graph_t *g;
    check(weft_graph_create(kind_names[w.kind], &g), "weft_graph_create");
    for (uint32_t v = 0; v < w.n; v++)
        check(weft_graph_add(g, nullptr, weft_node, &w, nullptr), "weft_graph_add");
    auto t1 = Clock::now();
    for (uint32_t v = 0; v < w.n; v++)
        w.for_preds(v, [&](uint32_t p) { check(weft_graph_precede(g, p, v), "weft_graph_precede"); });
    auto t2 = Clock::now();
    check(weft_graph_check(g, nullptr), "weft_graph_check");
    auto t3 = Clock::now();
    check(weft_graph_run(g, rt, nullptr, nullptr), "weft_graph_run");
    auto t4 = Clock::now();
    check(weft_graph_free(g), "weft_graph_free");
    check(weft_runtime_destroy(rt), "weft_runtime_destroy");
    using D = std::chrono::duration<double>;
    s.node_s = D(t1 - t0).count();
    s.edge_s = D(t2 - t1).count();
    s.build_s = D(t2 - t0).count();
    s.compile_s = D(t3 - t2).count();
    s.run_s = D(t4 - t2).count();
    return s;
}

// ------------------------------------------------------------------------
// oneTBB flow graph

using tbb::flow::continue_msg;
using TbbNode = tbb::flow::continue_node<continue_msg>;

struct TbbBody {
    Work *w;
    uint32_t v;
    continue_msg operator()(const continue_msg &) const
    {
        w->run(v);
        return continue_msg();
    }
};

Sample run_tbb(int threads, Work &w)
{
    Sample s;
    in_tbb_arena(threads, [&] {
        auto t0 = Clock::now();
        {
            tbb::flow::graph g; // made here so that it runs in this arena
            std::deque<TbbNode> nodes;
            for (uint32_t v = 0; v < w.n; v++)
                nodes.emplace_back(g, TbbBody{&w, v});
            auto t1 = Clock::now();
            for (uint32_t v = 0; v < w.n; v++)
                w.for_preds(v, [&](uint32_t p) { tbb::flow::make_edge(nodes[p], nodes[v]); });
            auto t2 = Clock::now();
            for (uint32_t v = 0; v < w.n; v++) {
                bool source = true;
                w.for_preds(v, [&](uint32_t) { source = false; });
                if (source)
                    nodes[v].try_put(continue_msg());
            }
            g.wait_for_all();
            auto t3 = Clock::now();
            using D = std::chrono::duration<double>;
            s.node_s = D(t1 - t0).count();
            s.edge_s = D(t2 - t1).count();
            s.build_s = D(t2 - t0).count();
            s.run_s = D(t3 - t2).count();
            // nodes, then the graph, are destroyed here (untimed)
        }
    });
    return s;
}

// ------------------------------------------------------------------------
// OpenMP task dependences

// Creates one task per node, in node order, from the calling thread.
void omp_create_tasks(Work *w, char *dep)
{
    (void)dep; // used only in depend clauses, which GCC 12 does not count as uses
    const uint32_t n = w->n, width = w->width;
    switch (w->kind) {
    case WAVEFRONT:
        for (uint32_t v = 0; v < n; v++) {
            bool up = v >= width, left = v % width != 0;
            if (up && left) {
#pragma omp task firstprivate(v) depend(in: dep[v - width], dep[v - 1]) depend(out: dep[v])
                w->run(v);
            } else if (up) {
#pragma omp task firstprivate(v) depend(in: dep[v - width]) depend(out: dep[v])
                w->run(v);
            } else if (left) {
#pragma omp task firstprivate(v) depend(in: dep[v - 1]) depend(out: dep[v])
                w->run(v);
            } else {
#pragma omp task firstprivate(v) depend(out: dep[v])
                w->run(v);
            }
        }
        break;
    case CHAIN:
    case TREE:
        for (uint32_t v = 0; v < n; v++) {
            if (v == 0) {
#pragma omp task firstprivate(v) depend(out: dep[v])
                w->run(v);
            } else {
                uint32_t p = w->kind == CHAIN ? v - 1 : (v - 1) / 2;
#pragma omp task firstprivate(v) depend(in: dep[p]) depend(out: dep[v])
                w->run(v);
            }
        }
        break;
    default:
        for (uint32_t v = 0; v < n; v++) {
            const uint32_t *p = w->pred.data() + w->pred_off[v];
            switch (w->pred_off[v + 1] - w->pred_off[v]) {
            case 0:
#pragma omp task firstprivate(v) depend(out: dep[v])
                w->run(v);
                break;
            case 1:
#pragma omp task firstprivate(v) depend(in: dep[p[0]]) depend(out: dep[v])
                w->run(v);
                break;
            case 2:
#pragma omp task firstprivate(v) depend(in: dep[p[0]], dep[p[1]]) depend(out: dep[v])
                w->run(v);
                break;
            case 3:
#pragma omp task firstprivate(v) depend(in: dep[p[0]], dep[p[1]], dep[p[2]]) \
    depend(out: dep[v])
                w->run(v);
                break;
            default:
#pragma omp task firstprivate(v) depend(in: dep[p[0]], dep[p[1]], dep[p[2]], dep[p[3]]) \
    depend(out: dep[v])
                w->run(v);
                break;
            }
        }
        break;
    }
}

Sample run_omp(int threads, Work &w, char *dep)
{
    Sample s;
    s.build_s = -1; // na: creating a task is building and running at once
    Work *wp = &w;
#pragma omp parallel num_threads(threads) shared(s, wp, dep, threads)
#pragma omp single
    {
        check_omp_team(threads);
        auto t0 = Clock::now(); // the team is up: time the work only
        omp_create_tasks(wp, dep);
#pragma omp taskwait
        s.run_s = seconds_since(t0);
    }
    return s;
}

// ------------------------------------------------------------------------
// Command line


Options parse(int argc, char **argv)
{
    Options o;
    parse_args(argc, argv, o, [&o](const std::string &a, const std::string &v) {
        if (a == "--wavefront")
            o.wavefront = (uint32_t)option_long(a, v, 2, 4096);
        else if (a == "--chain")
            o.chain = (uint32_t)option_long(a, v, 2, 100000000L);
        else if (a == "--tree-depth")
            o.tree_depth = (int)option_long(a, v, 1, 26);
        else if (a == "--layers")
            o.layers = (uint32_t)option_long(a, v, 2, 100000);
        else if (a == "--width")
            o.width = (uint32_t)option_long(a, v, 1, 10000000L);
        else if (a == "--seed")
            o.seed = (uint64_t)option_long(a, v, 0, 0x7fffffffffffffffL);
        else if (a == "--graphs")
            choose(v, kind_names, NKINDS, o.graphs, "graph");
        else
            return false;
        return true;
    });
    if ((uint64_t)o.layers * o.width > 100000000ULL)
        bad_usage("the layered graph may have at most 100000000 nodes");
    return o;
}

// ------------------------------------------------------------------------
// Reporting

struct Result {
    std::vector<double> node_s, edge_s, build_s, compile_s, run_s, total_s;
    double peak_mib = 0; // largest growth; -1 once any run could not tell
};

void add_sample(Result &r, const Sample &s)
{
    r.node_s.push_back(s.node_s);
    r.edge_s.push_back(s.edge_s);
    r.build_s.push_back(s.build_s);
    r.compile_s.push_back(s.compile_s);
    r.run_s.push_back(s.run_s);
    r.total_s.push_back(std::max(0.0, s.build_s) + s.run_s);
    fold_peak(r.peak_mib, s.growth_mib);
}

void print_line(const char *head, const Options &o, const Result res[NLIBS])
{
    std::string line = head;
    double total[NLIBS] = {0, 0, 0};
    for (int k = 0; k < NLIBS; k++) {
        if (!o.libs[k])
            continue;
        if (k == OMP)
            append(line, " %s_build_s=na", lib_names[k]);
        else
            append(line, " %s_build_s=%.6f", lib_names[k], median(res[k].build_s));
        if (k == WEFT)
            append(line, " weft_compile_s=%.6f", median(res[k].compile_s));
        total[k] = median(res[k].total_s);
        append(line, " %s_run_s=%.6f %s_total_s=%.6f", lib_names[k], median(res[k].run_s),
               lib_names[k], total[k]);
    }
    for (int k = TBB; k < NLIBS; k++)
        if (o.libs[WEFT] && o.libs[k] && total[k] > 0)
            append(line, " weft_%s_total=%.2f", lib_names[k], total[WEFT] / total[k]);
    for (int k = TBB; k < NLIBS; k++)
        if (o.libs[WEFT] && o.libs[k] && res[WEFT].peak_mib >= 0 && res[k].peak_mib > 0)
            append(line, " weft_%s_mem=%.2f", lib_names[k], res[WEFT].peak_mib / res[k].peak_mib);
    append_peaks(line, o, res);
    print_flush(line);
}

// The cost of building, per node and per edge, from the same runs.
void print_build_line(const Work &w, int threads, const Options &o, const Result res[NLIBS])
{
    if (!o.libs[WEFT] && !o.libs[TBB])
        return;
    std::string line;
    append(line, "bench=build graph=%s n=%u edges=%llu threads=%d reps=%d",
           kind_names[w.kind], w.n, (unsigned long long)w.edges, threads, o.reps);
    double node_ns[2] = {0, 0}, edge_ns[2] = {0, 0};
    for (int k = WEFT; k <= TBB; k++) {
        if (!o.libs[k])
            continue;
        node_ns[k] = 1e9 * median(res[k].node_s) / w.n;
        edge_ns[k] = w.edges ? 1e9 * median(res[k].edge_s) / (double)w.edges : 0;
        append(line, " %s_node_ns=%.1f %s_edge_ns=%.1f", lib_names[k], node_ns[k],
               lib_names[k], edge_ns[k]);
    }
    if (o.libs[WEFT] && o.libs[TBB] && node_ns[TBB] > 0 && edge_ns[TBB] > 0)
        append(line, " weft_tbb_node=%.2f weft_tbb_edge=%.2f", node_ns[WEFT] / node_ns[TBB],
               edge_ns[WEFT] / edge_ns[TBB]);
    print_flush(line);
}

void bench_graph(Kind kind, const Options &o, int threads, Work &w, char *dep,
                 uint64_t want_last)
{
    Result res[NLIBS];
    for_each_run(o, [&](int k) {
        Sample s = measure(
            o.in_process,
            [&] {
                reset_work(w);
                std::memset(dep, 0, w.n);
            },
            [&] {
                Sample r;
                switch (k) {
                case WEFT: r = run_weft(threads, w); break;
                case TBB: r = run_tbb(threads, w); break;
                default: r = run_omp(threads, w, dep); break;
                }
                verify(lib_names[k], w, want_last);
                return r;
            });
        add_sample(res[k], s);
    });
    char head[160];
    std::snprintf(head, sizeof head, "bench=%s n=%u edges=%llu threads=%d reps=%d",
                  kind_names[kind], w.n, (unsigned long long)w.edges, threads, o.reps);
    print_line(head, o, res);
    if (kind == WAVEFRONT)
        print_build_line(w, threads, o, res);
}

} // namespace

int main(int argc, char **argv)
{
    Options o = parse(argc, argv);
    wb::print_preamble(o);

    for (int kind = 0; kind < NKINDS; kind++) {
        if (!o.graphs[kind])
            continue;
        // The graph's shape and state, made and touched before any run so
        // that they are in every run's baseline.
        Work w;
        make_shape(w, (Kind)kind, o);
        std::vector<unsigned char> done(w.n, 1);
        std::vector<uint64_t> val(kind == WAVEFRONT ? w.n : 0, 1);
        std::vector<char> dep(w.n, 1);
        w.done = done.data();
        w.val = kind == WAVEFRONT ? val.data() : nullptr;
        uint64_t want_last = kind == WAVEFRONT ? wavefront_serial(w.width) : 0;
        if (kind == LAYERED)
            std::printf("# layered: %u layers of %u nodes, %llu edges (seed %llu)\n", o.layers,
                        o.width, (unsigned long long)w.edges, (unsigned long long)o.seed);
        for (int threads : o.threads)
            bench_graph((Kind)kind, o, threads, w, dep.data(), want_last);
    }
    return 0;
}
