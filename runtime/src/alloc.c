/* wf_alloc: allocator shim over tbbmalloc (see runtime/layer/wf_alloc.h). */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include "wf_alloc.h"

#include <stdlib.h>
#include <string.h>

#ifdef WEFT_ALLOC_SYSTEM
void *wf_malloc(size_t size) { return malloc(size ? size : 1); }
void *wf_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void wf_free(void *p) { free(p); }
void *wf_realloc(void *p, size_t size) { return realloc(p, size ? size : 1); }
void *wf_aligned_malloc(size_t size, size_t align) {
    void *p = NULL;
    return posix_memalign(&p, align, size ? size : 1) == 0 ? p : NULL;
}
void wf_aligned_free(void *p) { free(p); }
#else
#include <tbb/scalable_allocator.h>
void *wf_malloc(size_t size) { return scalable_malloc(size ? size : 1); }
void *wf_calloc(size_t n, size_t size) { return scalable_calloc(n ? n : 1, size ? size : 1); }
void wf_free(void *p) {
    if (p) scalable_free(p);
}
void *wf_realloc(void *p, size_t size) { return scalable_realloc(p, size ? size : 1); }
void *wf_aligned_malloc(size_t size, size_t align) {
    return scalable_aligned_malloc(size ? size : 1, align);
}
void wf_aligned_free(void *p) { scalable_aligned_free(p); }
#endif

char *wf_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = wf_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
