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
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"

extern char **environ;

enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2, EXIT_RENDER = 3 };
enum { FMT_NONE, FMT_DOT, FMT_SVG, FMT_PNG };

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

static int parse_format(const char *s) {
    if (strcmp(s, "dot") == 0 || strcmp(s, "gv") == 0) return FMT_DOT;
    if (strcmp(s, "svg") == 0) return FMT_SVG;
    if (strcmp(s, "png") == 0) return FMT_PNG;
    return FMT_NONE;
}

/* The format -o FILE asks for: by extension, dot without one. */
static int format_of_path(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (!dot || dot == (slash ? slash + 1 : path)) return FMT_DOT; /* none, or a dotfile */
    return parse_format(dot + 1);
}

/* Writes len bytes to fd: 0, or errno. */
static int write_all(int fd, const char *p, size_t len) {
    while (len) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

/* Pipes the dot text into `dotprog -Tfmt [-o out]`. Returns an exit code. */
static int render(const char *dotprog, const char *fmt, const char *out, const char *text,
                  size_t len) {
    int fds[2];
    if (pipe(fds) != 0) {
        fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
        return EXIT_RENDER;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char tflag[16];
    snprintf(tflag, sizeof tflag, "-T%s", fmt);
    char *argv[] = {(char *)dotprog, tflag, out ? "-o" : NULL, (char *)out, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, dotprog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (err) {
        close(fds[1]);
        fprintf(stderr, "%s: cannot run graphviz's '%s': %s\n", prog, dotprog, strerror(err));
        if (err == ENOENT)
            fprintf(stderr, "%s: is graphviz installed? (or write dot text with -T dot and "
                            "render it elsewhere)\n", prog);
        return EXIT_RENDER;
    }
    int werr = write_all(fds[1], text, len);
    close(fds[1]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "%s: waitpid: %s\n", prog, strerror(errno));
            return EXIT_RENDER;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !werr) return EXIT_OK;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        fprintf(stderr, "%s: cannot run graphviz's '%s' (is graphviz installed?)\n", prog, dotprog);
    else if (WIFEXITED(status) && WEXITSTATUS(status))
        fprintf(stderr, "%s: '%s -%s' failed with exit status %d\n", prog, dotprog, tflag + 1,
                WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        fprintf(stderr, "%s: '%s' was killed by signal %d\n", prog, dotprog, WTERMSIG(status));
    else
        fprintf(stderr, "%s: writing to '%s': %s\n", prog, dotprog, strerror(werr));
    return EXIT_RENDER;
}

int main(int argc, char **argv) {
    const char *out_path = NULL, *dotprog = getenv("WEFT_DOT");
    int fmt = FMT_NONE;
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
            if ((fmt = parse_format(optarg)) == FMT_NONE)
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
    if (fmt == FMT_NONE && out_path && (fmt = format_of_path(out_path)) == FMT_NONE)
        return usage_error("cannot tell the format from '%s': give -T dot, svg or png", out_path);
    if (fmt == FMT_NONE) fmt = FMT_DOT;
    if (fmt == FMT_PNG && !out_path && isatty(STDOUT_FILENO))
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
    int status = EXIT_OK;
    if (fmt == FMT_DOT) {
        FILE *out = out_path ? fopen(out_path, "w") : stdout;
        if (!out) {
            fprintf(stderr, "%s: cannot write '%s': %s\n", prog, out_path, strerror(errno));
            status = EXIT_RENDER;
        } else {
            rc = weft_graph_dot(g, run, out);
            if (out != stdout && fclose(out) != 0 && !rc) rc = WEFT_EIO;
            if (rc) {
                fprintf(stderr, "%s: writing %s: %s\n", prog, out_path ? out_path : "standard output",
                        weft_strerror(rc));
                status = EXIT_RENDER;
            }
        }
    } else {
        weft_buf_t text;
        rc = weft_graph_dot_buf(g, run, &text);
        if (rc) {
            fprintf(stderr, "%s: cannot make the dot text: %s\n", prog, weft_strerror(rc));
            status = EXIT_RENDER;
        } else {
            signal(SIGPIPE, SIG_IGN); /* a dot that dies early gives EPIPE, not a kill */
            fflush(stdout);
            status = render(dotprog, fmt == FMT_SVG ? "svg" : "png", out_path, text.data, text.len);
        }
        weft_buf_free(&text);
    }
    if (run) weft_run_free(run);
    weft_graph_free(g);
    return status;
}
