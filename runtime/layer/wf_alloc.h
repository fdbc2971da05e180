/* wf_alloc: the allocator shim. Every allocation the runtime makes (tasks,
 * jobs, groups, deque arrays) goes through these functions, which sit on
 * oneTBB's scalable allocator (tbbmalloc's C API). A build for
 * AddressSanitizer defines WEFT_ALLOC_SYSTEM so that ASan sees every block
 * (tbbmalloc's own pools would hide overflows and use-after-free from it). */
#ifndef WF_ALLOC_H
#define WF_ALLOC_H

#include <stddef.h>

void *wf_malloc(size_t size);
void *wf_calloc(size_t n, size_t size);
void wf_free(void *p);
/* Resizes a block from wf_malloc (large blocks may move without a copy). */
void *wf_realloc(void *p, size_t size);
/* Blocks aligned to align (a power of two), freed with wf_aligned_free. */
void *wf_aligned_malloc(size_t size, size_t align);
void wf_aligned_free(void *p);
char *wf_strdup(const char *s);

#endif
