/* gr_index.h: hash indexes of the graph layer's file code (index.c):
 * byte-string keys (node names, block names, graph pointers) to the 32-bit
 * position their owner keeps them at. The index stores positions and
 * hashes only; it asks its owner for a position's key (gr_key_fn) when a
 * hash matches. Internal, never installed. */
#ifndef GR_INDEX_H
#define GR_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* The key of position id: *len bytes at the returned pointer. */
typedef const void *(*gr_key_fn)(const void *owner, uint32_t id, size_t *len);

typedef struct gr_index {
    uint32_t *slot;  /* positions; GR_NONE is empty */
    uint32_t *hash;  /* their keys' hashes */
    size_t cap, used;
} gr_index;

/* FNV-1a, 64 bits. */
uint64_t gr_hash(const void *data, size_t n);

/* The position whose key is [key, key+n), or GR_NONE. */
uint32_t gr_index_find(const gr_index *ix, gr_key_fn fn, const void *owner, const void *key, size_t n);

/* Adds position id (its key from fn) unless its key is there already:
 * *other gets the position already there, or GR_NONE when id was added.
 * 0 or WEFT_ENOMEM. */
int gr_index_add(gr_index *ix, gr_key_fn fn, const void *owner, uint32_t id, uint32_t *other);

void gr_index_free(gr_index *ix);

#endif
