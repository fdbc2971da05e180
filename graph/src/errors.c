/* errors.c: the graph layer's per-thread error message (loading, saving,
 * starting runs), so that callers get "line 7: ..." and not only a code. */
#include <stdarg.h>
#include <stdio.h>

#include "gr.h"

static _Thread_local char gr_error[512];

void gr_set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(gr_error, sizeof gr_error, fmt, ap);
    va_end(ap);
}

const char *weft_graph_error(void) { return gr_error; }
