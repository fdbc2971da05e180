/* weft-run: runs a weft graph file on this machine's workers, or on a
 * cluster of weftd nodes.
 *
 *   weft-run [options] GRAPH-FILE
 *
 * Loads the graph file (weft_graph_load), the plugins named with --load
 * (weft_plugin_load) and weft's built-in tasks, runs the graph on a runtime
 * of --workers workers, and writes what was asked for: the run file
 * (--run-out), the Chrome trace (--trace), the picture of the run (--dot:
 * dot text, or SVG/PNG through graphviz) and the statistics (--stats).
 * Ctrl-C cancels the run (nodes not yet started are cancelled); a second
 * Ctrl-C exits at once. See --help.
 *
 * Cluster runs (--nodes, --discover, or $WEFT_NODES): a weft_cluster
 * (dist.h) is made over the nodes, weft-run waits up to --wait seconds for
 * --min-nodes of them to authenticate, then runs the graph with the
 * cluster's executor: named-task nodes go to the nodes (function and
 * subgraph nodes stay here), a lost node's work is sent again elsewhere,
 * and the run record says per node which machine ran it. The outputs are
 * those of a local run, with machines in them. A cluster that does not
 * come up in time is a system failure (exit 4) naming each node's last
 * error. dist/LAUNCH.md says how to start the nodes. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "draw.h"
#include "weft.h"

enum { EXIT_OK = 0, EXIT_TASK = 1, EXIT_USAGE = 2, EXIT_INPUT = 3, EXIT_SYSTEM = 4 };

static const char *prog = "weft-run";

#define NODES_MAX 1024 /* --nodes entries */
#define NODES_MAX_S "1024"

#define RUN_LIST_MAX 256 /* --load and --print options, each */
#define RUN_LIST_MAX_S "256"

static void usage(FILE *out) {
    fprintf(out,
            "usage: weft-run [options] GRAPH-FILE\n"
            "\n"
            "Runs a weft graph file (graph/FORMAT.md) on this machine: its named-task\n"
            "nodes run the tasks that weft has built in (weft.echo, weft.sum_primes,\n"
            "weft.sum) and those that plugins given with --load register.\n"
            "\n"
            "Options:\n"
            "  -l, --load PLUGIN      load a plugin: a shared library whose\n"
            "                         weft_plugin_init() registers tasks (repeatable;\n"
            "                         loaded in the order given, before the run)\n"
            "  -w, --workers N        worker threads (default 0: as many as the CPUs this\n"
            "                         process may use, or $WEFT_NUM_THREADS)\n"
            "  -p, --progress         draw a progress bar on stderr (default: when stderr\n"
            "                         is a terminal)\n"
            "  -q, --quiet            no progress bar and no summary line\n"
            "  -r, --run-out FILE     write the run file (per node: status, code, start,\n"
            "                         end, worker), for weft-dot\n"
            "  -t, --trace FILE       write the run as Chrome trace-event JSON\n"
            "                         (chrome://tracing, Perfetto)\n"
            "  -d, --dot FILE         draw the run: FILE.dot or .gv dot text, .svg or\n"
            "                         .png rendered by graphviz (nodes coloured by how\n"
            "                         they ran, labelled with duration and worker)\n"
            "      --dot-program PROG graphviz program for .svg and .png (default: $WEFT_DOT\n"
            "                         if set, else dot, found in PATH)\n"
            "  -s, --stats            print the run's statistics (pp's print_stats) on\n"
            "                         stderr\n"
            "  -P, --print NODE       write the result bytes of node NODE to standard\n"
            "                         output, followed by a newline (repeatable, in order;\n"
            "                         a node that did not succeed prints nothing)\n"
            "  -h, --help             show this help and exit\n"
            "  -V, --version          show the weft version and exit\n"
            "\n"
            "Cluster runs (dist/LAUNCH.md says how to start the nodes):\n"
            "  -n, --nodes LIST       run the named-task nodes on these weftd nodes: a\n"
            "                         comma-separated list of host:port, [v6addr]:port or\n"
            "                         host (port %d); default $WEFT_NODES when set and\n"
            "                         not empty (weftd --slurm sets it)\n"
            "      --discover ADDR:PORT  also add the nodes whose authenticated UDP beacons\n"
            "                         arrive there (weftd --announce): an IPv4 address of\n"
            "                         this host, e.g. 127.0.0.1:%d, or a multicast group\n"
            "      --discover-if IFNAME  interface on which to join a multicast group\n"
            "  -k, --key-file PATH    the cluster's key file (mode 0600; default:\n"
            "                         $WEFT_SECRET_FILE, $CREDENTIALS_DIRECTORY/weft-secret,\n"
            "                         else ~/.config/weft/secret)\n"
            "      --min-nodes N      nodes that must be up before the run starts (default:\n"
            "                         every node of --nodes; 1 with --discover alone); the\n"
            "                         others join when they come up\n"
            "      --wait SECONDS     how long to wait for them (default 30): a cluster that\n"
            "                         is not up by then fails the run (exit 4)\n"
            "      --local-workers N  let N workers of this process take named tasks too\n"
            "                         (default 0: every named task runs on a node)\n"
            "      --max-losses N     nodes a task may be lost with before it fails\n"
            "                         (default 3)\n"
            "      --local            run locally even when $WEFT_NODES is set\n"
            "With a cluster, --stats prints the run's statistics per machine and then\n"
            "the cluster's (jobs, share, time, bytes, retries, losses per node), and\n"
            "the summary line says how many nodes were retried and the time lost.\n"
            "\n"
            "GRAPH-FILE may be - for standard input. Outputs are written after the run\n"
            "ends, also when a node failed or the run was cancelled (they show how).\n"
            "Ctrl-C cancels the run: nodes not yet started are cancelled, running ones\n"
            "finish; a second Ctrl-C exits at once.\n"
            "\n"
            "Exit status:\n"
            "  0  every node succeeded\n"
            "  1  a node failed (its descendants were skipped) or the run was cancelled:\n"
            "     the summary names the first failed node and what it returned (a task\n"
            "     lost with too many nodes fails its node: WEFT_ENODE)\n"
            "  2  usage error (bad option or value, no GRAPH-FILE)\n"
            "  3  bad input: the graph file is unreadable or malformed (the message names\n"
            "     the line), a plugin failed to load, a task is not registered, the graph\n"
            "     has a cycle, the key file is missing, unreadable, too short or readable\n"
            "     by others\n"
            "  4  system failure: out of memory, threads could not start, an output file\n"
            "     could not be written, graphviz failed, the cluster did not come up\n"
            "     within --wait (the message names each node that is down and why)\n"
            "\n"
            "Examples:\n"
            "  weft-run pipeline.wg\n"
            "  weft-run -l ./libmytasks.so -w 8 -r pipeline.run -d pipeline.svg pipeline.wg\n"
            "  weft-run -t pipeline.trace.json -s pipeline.wg\n"
            "  weft-run -n node1:7117,node2:7117 -k ~/.config/weft/cluster.key \\\n"
            "           -l ./libmytasks.so -s -t run.json pipeline.wg\n",
            WEFT_DIST_PORT, WEFT_DIST_DISCOVER_PORT);
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
    return EXIT_USAGE;
}

/* What the last failing weft call said: its detail, else its code's text. */
static const char *why(int rc) {
    const char *d = weft_error_detail();
    return d && *d ? d : weft_strerror(rc);
}

static volatile sig_atomic_t interrupts;

static void on_sigint(int sig) {
    (void)sig;
    if (++interrupts >= 2) _exit(128 + SIGINT); /* the second Ctrl-C: at once */
}

/* Writes a file with writer(obj, f): 0, or EXIT_SYSTEM with a message. */
static int write_file(const char *path, const char *what, int (*writer)(const weft_run_t *, FILE *),
                      const weft_run_t *run) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s '%s': %s\n", prog, what, path, strerror(errno));
        return EXIT_SYSTEM;
    }
    int rc = writer(run, f);
    if (fclose(f) != 0 && !rc) rc = WEFT_EIO;
    if (rc) {
        fprintf(stderr, "%s: writing %s '%s': %s\n", prog, what, path, weft_strerror(rc));
        return EXIT_SYSTEM;
    }
    return 0;
}

/* Parses a number in [lo, hi] for option opt: 0, or prints the usage
 * error and returns EXIT_USAGE. integer: no fraction allowed. */
static int parse_number(const char *opt, const char *v, double lo, double hi, int integer,
                        double *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi) || (integer && d != floor(d))) {
        fprintf(stderr, "%s: %s takes %s %g..%g, not '%.64s'\n", prog, opt,
                integer ? "a whole number" : "a number", lo, hi, v);
        fprintf(stderr, "Try '%s --help' for more information.\n", prog);
        return EXIT_USAGE;
    }
    *out = d;
    return 0;
}

/* Splits the comma-separated node list s (a copy of list, cut in place)
 * into nodes[]: 0, or EXIT_USAGE with a message (an empty entry, too
 * many). Blanks around an entry are dropped. */
static int split_nodes(const char *list, char *s, const char **nodes, size_t *count) {
    *count = 0;
    for (char *p = s;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        while (*p == ' ') p++;
        char *e = p + strlen(p);
        while (e > p && e[-1] == ' ') *--e = 0;
        if (!*p) return usage_error("an empty entry in the node list '%s' (use host:port,...)",
                                    list);
        if (*count == NODES_MAX) return usage_error("--nodes: more than %s nodes", NODES_MAX_S);
        nodes[(*count)++] = p;
        if (!comma) return 0;
        p = comma + 1;
    }
}

/* Node joins and losses, on the cluster's I/O thread: one line each. */
static void on_node(void *data, const char *node, int up, int err, const char *detail) {
    (void)data;
    if (up)
        fprintf(stderr, "%s: node %s up\n", prog, node);
    else
        fprintf(stderr, "%s: node %s down: %s\n", prog, node,
                detail && *detail ? detail : weft_strerror(err));
}

/* The exit status of a failed cluster call: a malformed node or option is
 * usage, a bad key file is input, the rest is the system's. */
static int cluster_status(int rc) {
    if (rc == WEFT_EINVAL) return EXIT_USAGE;
    if (rc == WEFT_EPERM || rc == WEFT_ENOENT || rc == WEFT_EPARSE) return EXIT_INPUT;
    return EXIT_SYSTEM;
}

/* Waits until min nodes are up, for at most wait_s: 0, or EXIT_SYSTEM
 * with a message. With discovery the node count grows as beacons arrive,
 * so it polls the active nodes; otherwise weft_cluster_wait_nodes, whose
 * detail names every node still down. */
static int wait_cluster(weft_cluster_t *c, size_t min, size_t listed, int discovering,
                        double wait_s) {
    int rc;
    if (!discovering) {
        rc = weft_cluster_wait_nodes(c, min, wait_s);
        if (!rc) return 0;
        fprintf(stderr, "%s: the cluster did not come up within %g s (%zu of its %zu nodes "
                        "needed): %s\n", prog, wait_s, min, listed, why(rc));
        return EXIT_SYSTEM;
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t up = 0;
    for (;;) {
        char **active;
        if ((rc = weft_cluster_active_nodes(c, &active, &up)) != 0) {
            fprintf(stderr, "%s: cluster: %s\n", prog, why(rc));
            return EXIT_SYSTEM;
        }
        free(active);
        if (up >= min) return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double waited = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (waited >= wait_s) break;
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    fprintf(stderr, "%s: the cluster did not come up: %zu of the %zu nodes needed were up after "
                    "%g s (listed %zu, the others by discovery)\n", prog, up, min, wait_s, listed);
    return EXIT_SYSTEM;
}

/* What the cluster cost this run: graph nodes run on nodes, those sent
 * more than once, the resends and the seconds lost to losses. */
static void print_cluster_summary(const weft_graph_t *g, const weft_run_t *run) {
    size_t n = weft_graph_node_count(g), remote = 0, retried = 0, resends = 0;
    double lost = 0;
    for (size_t v = 0; v < n; v++) {
        weft_node_origin_t o;
        if (weft_run_node_origin(run, (weft_node_t)v, &o) != 0) continue;
        if (o.machine && strcmp(o.machine, "local") != 0) remote++;
        if (o.attempts > 1) {
            retried++;
            resends += (size_t)(o.attempts - 1);
        }
        lost += o.lost_s;
    }
    fprintf(stderr, "%s: cluster: %zu of %zu graph nodes ran on cluster nodes; %zu retried (%zu "
                    "resends), %.3f s lost to failures\n",
            prog, remote, n, retried, resends, lost);
}

static int save_run(const weft_run_t *run, FILE *f) { return weft_run_save(run, f); }
static int save_trace(const weft_run_t *run, FILE *f) { return weft_run_trace(run, f); }

int main(int argc, char **argv) {
    const char *run_out = NULL, *trace_out = NULL, *dot_out = NULL;
    const char *dotprog = getenv("WEFT_DOT");
    if (!dotprog || !*dotprog) dotprog = "dot";
    int workers = 0, progress = -1, quiet = 0, stats = 0, dot_fmt = DRAW_NONE;
    static const char *plugins[RUN_LIST_MAX], *prints[RUN_LIST_MAX];
    size_t nplugins = 0, nprints = 0;
    /* cluster runs */
    static const char *nodes[NODES_MAX];
    size_t nnodes = 0;
    char *nodes_arg = NULL;
    const char *key_file = NULL, *discover = NULL, *discover_if = NULL;
    double min_nodes = -1, wait_s = 30, local_workers = 0, max_losses = 3;
    int force_local = 0;
    static const struct option longopts[] = {
        {"load", required_argument, NULL, 'l'},     {"workers", required_argument, NULL, 'w'},
        {"progress", no_argument, NULL, 'p'},       {"quiet", no_argument, NULL, 'q'},
        {"run-out", required_argument, NULL, 'r'},  {"trace", required_argument, NULL, 't'},
        {"dot", required_argument, NULL, 'd'},      {"dot-program", required_argument, NULL, 'D'},
        {"stats", no_argument, NULL, 's'},          {"print", required_argument, NULL, 'P'},
        {"nodes", required_argument, NULL, 'n'},    {"key-file", required_argument, NULL, 'k'},
        {"discover", required_argument, NULL, 1},   {"discover-if", required_argument, NULL, 2},
        {"min-nodes", required_argument, NULL, 3},  {"wait", required_argument, NULL, 4},
        {"local-workers", required_argument, NULL, 5}, {"max-losses", required_argument, NULL, 6},
        {"local", no_argument, NULL, 7},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c, status = EXIT_OK;
    while ((c = getopt_long(argc, argv, ":l:w:pqr:t:d:sP:n:k:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (nplugins == RUN_LIST_MAX) return usage_error("more than %s plugins", RUN_LIST_MAX_S);
            plugins[nplugins++] = optarg;
            break;
        case 'w': {
            char *end;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || n < 0 || n > WEFT_MAX_WORKERS) {
                char range[64];
                snprintf(range, sizeof range, "%s", optarg);
                fprintf(stderr, "%s: --workers takes 0..%d, not '%s'\n", prog, WEFT_MAX_WORKERS,
                        range);
                fprintf(stderr, "Try '%s --help' for more information.\n", prog);
                return EXIT_USAGE;
            }
            workers = (int)n;
            break;
        }
        case 'p': progress = 1; break;
        case 'q': quiet = 1; break;
        case 'r': run_out = optarg; break;
        case 't': trace_out = optarg; break;
        case 'd':
            dot_out = optarg;
            if ((dot_fmt = draw_format_of_path(optarg)) == DRAW_NONE) {
                return usage_error("cannot tell the format of '%s': name it .dot, .gv, .svg "
                                   "or .png", optarg);
            }
            break;
        case 'D': dotprog = optarg; break;
        case 's': stats = 1; break;
        case 'P':
            if (nprints == RUN_LIST_MAX) return usage_error("more than %s --print", RUN_LIST_MAX_S);
            prints[nprints++] = optarg;
            break;
        case 'n':
            free(nodes_arg);
            if (!(nodes_arg = strdup(optarg))) {
                fprintf(stderr, "%s: out of memory\n", prog);
                return EXIT_SYSTEM;
            }
            if ((status = split_nodes(optarg, nodes_arg, nodes, &nnodes)) != 0) return status;
            break;
        case 'k': key_file = optarg; break;
        case 1: discover = optarg; break;
        case 2: discover_if = optarg; break;
        case 3:
            if ((status = parse_number("--min-nodes", optarg, 0, NODES_MAX + 64, 1, &min_nodes)))
                return status;
            break;
        case 4:
            if ((status = parse_number("--wait", optarg, 0, 86400, 0, &wait_s))) return status;
            break;
        case 5:
            if ((status = parse_number("--local-workers", optarg, 0, WEFT_MAX_WORKERS, 1,
                                       &local_workers)))
                return status;
            break;
        case 6:
            if ((status = parse_number("--max-losses", optarg, 1, 1000, 1, &max_losses)))
                return status;
            break;
        case 7: force_local = 1; break;
        case 'h':
            usage(stdout);
            return ferror(stdout) ? EXIT_SYSTEM : EXIT_OK;
        case 'V':
            printf("weft-run (weft %s)\n", weft_version());
            return EXIT_OK;
        case ':': return usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            if (optopt) {
                char opt[3] = {'-', (char)optopt, 0};
                return usage_error("unknown option '%s'", opt);
            }
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind < 1) {
        return usage_error("%s", "missing GRAPH-FILE");
    }
    if (argc - optind > 1) {
        return usage_error("too many arguments ('%s' and more)", argv[optind + 1]);
    }
    const char *graph_path = argv[optind];
    const char *graph_name = strcmp(graph_path, "-") ? graph_path : "(stdin)";
    if (quiet) progress = 0;
    if (progress < 0) progress = isatty(STDERR_FILENO);

    /* cluster or local: --nodes, --discover, else $WEFT_NODES, unless --local */
    if (!nnodes && !discover && !force_local) {
        const char *env = getenv("WEFT_NODES");
        if (env && *env) {
            if (!(nodes_arg = strdup(env))) {
                fprintf(stderr, "%s: out of memory\n", prog);
                return EXIT_SYSTEM;
            }
            if ((status = split_nodes(env, nodes_arg, nodes, &nnodes)) != 0) return status;
        }
    }
    int clustered = !force_local && (nnodes || discover);
    if (force_local && (nnodes || discover))
        return usage_error("%s", "--local and --nodes or --discover exclude each other");
    size_t need = 0;
    if (discover_if && !discover)
        return usage_error("%s", "--discover-if needs --discover");
    if (clustered) {
        need = min_nodes >= 0 ? (size_t)min_nodes : nnodes ? nnodes : 1;
        if (!discover && need > nnodes) {
            char msg[96];
            snprintf(msg, sizeof msg, "--min-nodes %zu, but --nodes lists only %zu", need, nnodes);
            return usage_error("%s", msg);
        }
    } else if (key_file || discover_if || min_nodes >= 0 || local_workers > 0) {
        return usage_error("%s", "--key-file, --discover-if, --min-nodes and --local-workers "
                                 "need --nodes or --discover");
    }

    /* tasks: built in, then the plugins in order */
    int rc = weft_tasks_register_builtin();
    for (size_t i = 0; !rc && i < nplugins; i++) {
        rc = weft_plugin_load(plugins[i]);
        if (rc) {
            fprintf(stderr, "%s: %s\n", prog, why(rc));
            return EXIT_INPUT;
        }
    }
    if (rc) {
        fprintf(stderr, "%s: cannot register the built-in tasks: %s\n", prog, weft_strerror(rc));
        return EXIT_SYSTEM;
    }

    /* the graph */
    weft_graph_t *g;
    FILE *gin = strcmp(graph_path, "-") == 0 ? stdin : fopen(graph_path, "r");
    if (!gin) {
        fprintf(stderr, "%s: cannot open '%s': %s\n", prog, graph_path, strerror(errno));
        return EXIT_INPUT;
    }
    rc = weft_graph_load(gin, &g);
    if (gin != stdin) fclose(gin);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, graph_name, why(rc));
        return rc == WEFT_ENOMEM ? EXIT_SYSTEM : EXIT_INPUT;
    }

    weft_runtime_t *rt;
    rc = weft_runtime_create(workers, &rt);
    if (rc) {
        fprintf(stderr, "%s: cannot start %d workers: %s\n", prog, workers, weft_strerror(rc));
        weft_graph_free(g);
        return EXIT_SYSTEM;
    }

    /* run: asynchronously, so that Ctrl-C can cancel it */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    weft_run_opts_t opts = {.record = 1, .progress_bar = progress};
    weft_cluster_t *cluster = NULL;
    if (clustered) {
        weft_cluster_opts_t co;
        weft_cluster_opts_init(&co);
        co.secret_file = key_file;
        co.discover = discover;
        co.discover_if = discover_if;
        co.local_workers = (int)local_workers;
        co.max_losses = (int)max_losses;
        if (!quiet) co.on_node = on_node;
        rc = weft_cluster_create(nodes, nnodes, &co, &cluster);
        if (rc) {
            fprintf(stderr, "%s: cannot make the cluster: %s\n", prog, why(rc));
            status = cluster_status(rc);
        } else if ((status = wait_cluster(cluster, need, nnodes, discover != NULL, wait_s)) == 0) {
            if (!(opts.executor = weft_cluster_executor(cluster))) {
                fprintf(stderr, "%s: the cluster has no executor: %s\n", prog, why(WEFT_EINVAL));
                status = EXIT_SYSTEM;
            }
        }
        if (status) {
            if (cluster) weft_cluster_free(cluster);
            weft_runtime_destroy(rt);
            weft_graph_free(g);
            free(nodes_arg);
            return status;
        }
    }
    weft_run_t *run = NULL;
    rc = weft_graph_run_async(g, rt, &opts, &run);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, graph_name, why(rc));
        status = rc == WEFT_ENOMEM || rc == WEFT_ESYSTEM ? EXIT_SYSTEM : EXIT_INPUT;
        if (cluster) weft_cluster_free(cluster);
        weft_runtime_destroy(rt);
        weft_graph_free(g);
        free(nodes_arg);
        return status;
    }
    int cancelled = 0;
    for (;;) {
        rc = weft_run_wait_timeout(run, 0.1);
        if (rc != WEFT_ETIMEDOUT) break;
        if (interrupts && !cancelled) {
            cancelled = 1;
            if (progress) fputc('\n', stderr);
            fprintf(stderr, "%s: interrupted: cancelling the run (Ctrl-C again to exit now)\n",
                    prog);
            weft_run_cancel(run);
        }
    }
    weft_run_counts_t counts;
    weft_run_counts(run, &counts);
    if (rc == 0) {
        status = EXIT_OK;
    } else if (rc == WEFT_ETASK || rc == WEFT_ECANCELED) {
        status = EXIT_TASK;
    } else {
        fprintf(stderr, "%s: %s: %s\n", prog, graph_name, why(rc));
        status = rc == WEFT_ENOMEM || rc == WEFT_ESYSTEM ? EXIT_SYSTEM : EXIT_INPUT;
    }
    if (!quiet) {
        fprintf(stderr, "%s: %s: %llu done, %llu failed, %llu skipped, %llu cancelled of %llu "
                        "nodes in %.3f s",
                prog, weft_graph_name(g), (unsigned long long)counts.done,
                (unsigned long long)counts.failed, (unsigned long long)counts.skipped,
                (unsigned long long)counts.cancelled, (unsigned long long)counts.total,
                counts.wall_s);
        if (counts.first_failed != WEFT_NODE_NONE)
            fprintf(stderr, "; first failure: node '%s' returned %d (%s)",
                    weft_graph_node_name(g, counts.first_failed), counts.first_code,
                    weft_strerror(counts.first_code));
        fputc('\n', stderr);
        if (cluster) print_cluster_summary(g, run);
    }

    /* outputs: each tried even if another failed */
    int out_status = 0;
    for (size_t i = 0; i < nprints; i++) {
        weft_node_t v;
        const void *data = NULL;
        size_t len = 0;
        if (weft_graph_find(g, prints[i], &v) != 0) {
            fprintf(stderr, "%s: --print: no node '%s' in graph '%s'\n", prog, prints[i],
                    weft_graph_name(g));
            out_status = EXIT_INPUT;
            continue;
        }
        if (weft_run_node_status(run, v) != WEFT_NODE_DONE) continue;
        if (weft_run_result(run, v, &data, &len) == 0 && len) fwrite(data, 1, len, stdout);
        putchar('\n');
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "%s: writing standard output: %s\n", prog, strerror(errno));
        out_status = EXIT_SYSTEM;
    }
    if (run_out && write_file(run_out, "the run file", save_run, run)) out_status = EXIT_SYSTEM;
    if (trace_out && write_file(trace_out, "the trace", save_trace, run)) out_status = EXIT_SYSTEM;
    if (dot_out && draw_graph(prog, dotprog, g, run, dot_fmt, dot_out)) out_status = EXIT_SYSTEM;
    if (stats) {
        fflush(stderr);
        rc = weft_run_print_stats(run, stderr);
        if (rc) {
            fprintf(stderr, "%s: statistics: %s\n", prog, weft_strerror(rc));
            out_status = EXIT_SYSTEM;
        }
        if (cluster) {
            fprintf(stderr, "\nCluster:\n");
            fflush(stderr);
            rc = weft_cluster_print_stats(cluster, stderr);
            if (rc) {
                fprintf(stderr, "%s: cluster statistics: %s\n", prog, weft_strerror(rc));
                out_status = EXIT_SYSTEM;
            }
        }
    }
    if (out_status && status == EXIT_OK) status = out_status;
    weft_run_free(run);
    if (cluster) weft_cluster_free(cluster);
    weft_runtime_destroy(rt);
    weft_graph_free(g);
    free(nodes_arg);
    return status;
}
