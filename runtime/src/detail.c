/* detail.c: the per-thread detail message that goes with an error code.
 * Set by every layer through wf_set_detail (wf_layer.h), read by callers
 * and bindings through weft_error_detail (weft/common.h). */
#include <stdarg.h>
#include <stdio.h>

#include "weft/common.h"
#include "wf_layer.h"

static _Thread_local char wf_detail[WEFT_DETAIL_MAX];

void wf_set_detail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(wf_detail, sizeof wf_detail, fmt, ap);
    va_end(ap);
}

void wf_clear_detail(void) { wf_detail[0] = '\0'; }

const char *weft_error_detail(void) { return wf_detail; }
