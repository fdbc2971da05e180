/* draw.c: see draw.h. */
#define _POSIX_C_SOURCE 200809L
#include "draw.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int draw_parse_format(const char *s) {
    if (strcmp(s, "dot") == 0 || strcmp(s, "gv") == 0) return DRAW_DOT;
    if (strcmp(s, "svg") == 0) return DRAW_SVG;
    if (strcmp(s, "png") == 0) return DRAW_PNG;
    return DRAW_NONE;
}

int draw_format_of_path(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) return DRAW_DOT; /* none, or a dotfile */
    return draw_parse_format(dot + 1);
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

/* Pipes the dot text into `dotprog -Tfmt [-o out]`: 0 or -1. */
static int render(const char *prog, const char *dotprog, const char *fmt, const char *out,
                  const char *text, size_t len) {
    int fds[2];
    if (pipe(fds) != 0) {
        fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
        return -1;
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
            fprintf(stderr, "%s: is graphviz installed? (or write dot text and render it "
                            "elsewhere)\n", prog);
        return -1;
    }
    void (*old)(int) = signal(SIGPIPE, SIG_IGN); /* a dot that dies early: EPIPE */
    int werr = write_all(fds[1], text, len);
    close(fds[1]);
    signal(SIGPIPE, old);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "%s: waitpid: %s\n", prog, strerror(errno));
            return -1;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !werr) return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        fprintf(stderr, "%s: cannot run graphviz's '%s' (is graphviz installed?)\n", prog, dotprog);
    else if (WIFEXITED(status) && WEXITSTATUS(status))
        fprintf(stderr, "%s: '%s -%s' failed with exit status %d\n", prog, dotprog, tflag + 1,
                WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        fprintf(stderr, "%s: '%s' was killed by signal %d\n", prog, dotprog, WTERMSIG(status));
    else
        fprintf(stderr, "%s: writing to '%s': %s\n", prog, dotprog, strerror(werr));
    return -1;
}

int draw_graph(const char *prog, const char *dotprog, const weft_graph_t *g,
               const weft_run_t *run, int fmt, const char *out_path) {
    int rc;
    if (fmt == DRAW_DOT) {
        FILE *out = out_path ? fopen(out_path, "w") : stdout;
        if (!out) {
            fprintf(stderr, "%s: cannot write '%s': %s\n", prog, out_path, strerror(errno));
            return -1;
        }
        rc = weft_graph_dot(g, run, out);
        if (out != stdout && fclose(out) != 0 && !rc) rc = WEFT_EIO;
        if (out == stdout && fflush(stdout) != 0 && !rc) rc = WEFT_EIO;
        if (rc) {
            fprintf(stderr, "%s: writing %s: %s\n", prog, out_path ? out_path : "standard output",
                    weft_strerror(rc));
            return -1;
        }
        return 0;
    }
    weft_buf_t text;
    rc = weft_graph_dot_buf(g, run, &text);
    if (rc) {
        fprintf(stderr, "%s: cannot make the dot text: %s\n", prog, weft_strerror(rc));
        return -1;
    }
    fflush(stdout);
    rc = render(prog, dotprog, fmt == DRAW_SVG ? "svg" : "png", out_path, text.data, text.len);
    weft_buf_free(&text);
    return rc;
}
