/* weft-dot: draws a weft graph file, optionally coloured by a run file.
 *
 *   weft-dot [options] GRAPH-FILE [RUN-FILE]
 *
 * Reads the graph file (weft_graph_load), and the run file if one is given
 * (weft_run_load), writes the picture in graphviz's dot language
 * (weft_graph_dot) and, for SVG or PNG, pipes that into graphviz's `dot`
 * program. Task names need not be registered: nothing runs. See --help, and
 * graph/FORMAT.md for the file formats and the colours. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "draw.h"
#include "weft.h"


enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2, EXIT_RENDER = 3 };

static const char *prog = "weft-dot";

static void usage(FILE *out) {
    fprintf(out,
            "usage: weft-dot [options] GRAPH-FILE [RUN-FILE]\n"
            "\n"
            "Draws a weft graph file. With a RUN-FILE (written by weft_run_save for a\n"
            "run of the same graph), nodes are coloured by how the run went and, when\n"
            "the run was recorded, labelled with their duration and worker.\n"
            "The graph's named tasks need not be registered: nothing runs.\n"
            "\n"
            "Options:\n"
            "  -T, --format FORMAT    output format: dot (default), svg or png. Without\n"
            "                         -T it follows -o FILE's extension: .dot or .gv,\n"
            "                         .svg, .png (no extension: dot)\n"
            "  -o, --output FILE      write to FILE instead of standard output\n"
            "      --dot-program PROG graphviz program that renders svg and png\n"
            "                         (default: $WEFT_DOT if set, else dot, found in PATH)\n"
            "  -h, --help             show this help and exit\n"
            "  -V, --version          show the weft version and exit\n"
            "\n"
            "GRAPH-FILE or RUN-FILE may be - for standard input (not both).\n"
            "\n"
            "Formats:\n"
            "  dot  graphviz source text, written by weft itself (graphviz not needed)\n"
            "  svg  rendered by graphviz's dot program (dot -Tsvg)\n"
            "  png  rendered by graphviz's dot program (dot -Tpng); not written to a\n"
            "       terminal\n"
            "\n"
            "Colours with a RUN-FILE: done green, failed red (thick border, label says\n"
            "what it returned), skipped grey (dashed), cancelled orange (dashed),\n"
            "pending white. Subgraph nodes are drawn as boxes around their graphs.\n"
            "A run whose nodes ran on other machines (a cluster run: its run file has\n"
            "'machine' and 'origin' lines) fills the nodes by machine instead, keeps\n"
            "the status borders, labels each node 'on MACHINE' and adds a legend of\n"
            "the machines.\n"
            "\n"
            "Exit status:\n"
            "  0  success\n"
            "  1  an input file could not be read or is malformed (the message names\n"
            "     the file and line, e.g. \"pipeline.wg: line 7: edge to unknown node\n"
            "     'merge'\")\n"
            "  2  usage error (bad option, wrong number of files, unknown format)\n"
            "  3  rendering failed: graphviz's dot program missing or failing, or the\n"
            "     output could not be written\n"
            "\n"
            "Examples:\n"
            "  weft-dot pipeline.wg > pipeline.dot\n"
            "  weft-dot -o pipeline.svg pipeline.wg pipeline.run\n"
            "  weft-dot -T png pipeline.wg | display\n"
            "\n"
            "File formats: weft's graph/FORMAT.md (graph files start with 'weft-graph 1',\n"
            "run files with 'weft-run 1').\n");
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
    return EXIT_USAGE;
}

int main(int argc, char **argv) {
    const char *out_path = NULL, *dotprog = getenv("WEFT_DOT");
    int fmt = DRAW_NONE;
    if (!dotprog || !*dotprog) dotprog = "dot";
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'T'}, {"output", required_argument, NULL, 'o'},
        {"dot-program", required_argument, NULL, 'D'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":T:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'T':
            if ((fmt = draw_parse_format(optarg)) == DRAW_NONE)
                return usage_error("unknown format '%s' (dot, svg or png)", optarg);
            break;
        case 'o': out_path = optarg; break;
        case 'D': dotprog = optarg; break;
        case 'h': usage(stdout); return ferror(stdout) ? EXIT_RENDER : EXIT_OK;
        case 'V': printf("weft-dot (weft %s)\n", weft_version()); return EXIT_OK;
        case ':': return usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            if (optopt) {
                char opt[3] = {'-', (char)optopt, 0};
                return usage_error("unknown option '%s'", opt);
            }
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    int nfiles = argc - optind;
    if (nfiles < 1) return usage_error("%s", "missing GRAPH-FILE");
    if (nfiles > 2) return usage_error("too many arguments ('%s' and more)", argv[optind + 2]);
    const char *graph_path = argv[optind], *run_path = nfiles == 2 ? argv[optind + 1] : NULL;
    if (run_path && strcmp(graph_path, "-") == 0 && strcmp(run_path, "-") == 0)
        return usage_error("%s", "GRAPH-FILE and RUN-FILE cannot both be standard input");
    if (fmt == DRAW_NONE && out_path && (fmt = draw_format_of_path(out_path)) == DRAW_NONE)
        return usage_error("cannot tell the format from '%s': give -T dot, svg or png", out_path);
    if (fmt == DRAW_NONE) fmt = DRAW_DOT;
    if (fmt == DRAW_PNG && !out_path && isatty(STDOUT_FILENO))
        return usage_error("%s", "refusing to write PNG to a terminal: use -o FILE or redirect");

    /* read */
    weft_graph_t *g;
    FILE *gin = strcmp(graph_path, "-") == 0 ? stdin : fopen(graph_path, "r");
    if (!gin) {
        fprintf(stderr, "%s: cannot open '%s': %s\n", prog, graph_path, strerror(errno));
        return EXIT_INPUT;
    }
    int rc = weft_graph_load(gin, &g);
    if (gin != stdin) fclose(gin);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, strcmp(graph_path, "-") ? graph_path : "(stdin)",
                *weft_graph_error() ? weft_graph_error() : weft_strerror(rc));
        return EXIT_INPUT;
    }
    weft_run_t *run = NULL;
    if (run_path) {
        FILE *in = strcmp(run_path, "-") == 0 ? stdin : fopen(run_path, "r");
        if (!in) {
            fprintf(stderr, "%s: cannot open '%s': %s\n", prog, run_path, strerror(errno));
            weft_graph_free(g);
            return EXIT_INPUT;
        }
        rc = weft_run_load(g, in, &run);
        if (in != stdin) fclose(in);
        if (rc) {
            fprintf(stderr, "%s: %s: %s\n", prog, strcmp(run_path, "-") ? run_path : "(stdin)",
                    *weft_graph_error() ? weft_graph_error() : weft_strerror(rc));
            weft_graph_free(g);
            return EXIT_INPUT;
        }
    }

    /* draw */
    int status = draw_graph(prog, dotprog, g, run, fmt, out_path) ? EXIT_RENDER : EXIT_OK;
    if (run) weft_run_free(run);
    weft_graph_free(g);
    return status;
}
