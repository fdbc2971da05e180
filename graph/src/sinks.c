/* sinks.c: the memory forms (weft_buf_t) of the graph layer's writers:
 * graph files, run files, dot, traces and run statistics. Each writes what
 * its FILE form would, through the runtime's memory stream (wf_buf_open). */
#include "gr.h"

#define GR_BUF_FORM(call)                         \
    do {                                          \
        if (!out) return WEFT_EINVAL;             \
        FILE *f = wf_buf_open(out);               \
        if (!f) return WEFT_ENOMEM;               \
        return wf_buf_close(f, out, (call));      \
    } while (0)

int weft_graph_save_buf(const weft_graph_t *g, weft_buf_t *out) {
    GR_BUF_FORM(weft_graph_save(g, f));
}

int weft_graph_dot_buf(const weft_graph_t *g, const weft_run_t *run, weft_buf_t *out) {
    GR_BUF_FORM(weft_graph_dot(g, run, f));
}

int weft_run_save_buf(const weft_run_t *run, weft_buf_t *out) {
    GR_BUF_FORM(weft_run_save(run, f));
}

int weft_run_trace_buf(const weft_run_t *run, weft_buf_t *out) {
    GR_BUF_FORM(weft_run_trace(run, f));
}

int weft_run_print_stats_buf(const weft_run_t *run, weft_buf_t *out) {
    GR_BUF_FORM(weft_run_print_stats(run, f));
}
