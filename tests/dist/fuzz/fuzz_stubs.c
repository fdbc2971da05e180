/* The harnesses link the wire code alone: the allocator shim on malloc,
 * and a detail message that goes nowhere. */
#include <stdlib.h>
#include <string.h>

#include "wf_alloc.h"
#include "wf_layer.h"

void *wf_malloc(size_t size) { return malloc(size ? size : 1); }
void *wf_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void wf_free(void *p) { free(p); }
void *wf_realloc(void *p, size_t size) { return realloc(p, size ? size : 1); }
void wf_set_detail(const char *fmt, ...) { (void)fmt; }
void wf_clear_detail(void) {}
