/* index.c: open-addressing hash indexes (gr_index.h), linear probing,
 * kept at most half full. Each slot keeps its key's hash, so probing
 * compares keys only on a hash match and growing never asks for a key. */
#include <string.h>

#include "gr.h"
#include "gr_index.h"

uint64_t gr_hash(const void *data, size_t n) {
    const unsigned char *s = data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

/* Slot of the key (hash h): holds its position, or GR_NONE where it goes. */
static size_t ix_slot(const gr_index *ix, gr_key_fn fn, const void *owner, const void *key, size_t n,
                      uint32_t h) {
    size_t mask = ix->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t id = ix->slot[i];
        if (id == GR_NONE) return i;
        if (ix->hash[i] != h) continue;
        size_t len;
        const void *k = fn(owner, id, &len);
        if (len == n && memcmp(k, key, n) == 0) return i;
    }
}

uint32_t gr_index_find(const gr_index *ix, gr_key_fn fn, const void *owner, const void *key, size_t n) {
    if (!ix->cap) return GR_NONE;
    return ix->slot[ix_slot(ix, fn, owner, key, n, (uint32_t)gr_hash(key, n))];
}

static int ix_grow(gr_index *ix) {
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    uint32_t *slot = wf_malloc(cap * sizeof *slot), *hash = wf_malloc(cap * sizeof *hash);
    if (!slot || !hash) {
        wf_free(slot);
        wf_free(hash);
        return WEFT_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++) slot[i] = GR_NONE;
    for (size_t i = 0; i < ix->cap; i++) {
        if (ix->slot[i] == GR_NONE) continue;
        size_t j = ix->hash[i] & (cap - 1);
        while (slot[j] != GR_NONE) j = (j + 1) & (cap - 1);
        slot[j] = ix->slot[i];
        hash[j] = ix->hash[i];
    }
    wf_free(ix->slot);
    wf_free(ix->hash);
    ix->slot = slot;
    ix->hash = hash;
    ix->cap = cap;
    return 0;
}

int gr_index_add(gr_index *ix, gr_key_fn fn, const void *owner, uint32_t id, uint32_t *other) {
    if ((ix->used + 1) * 2 > ix->cap) {
        int rc = ix_grow(ix);
        if (rc) return rc;
    }
    size_t n;
    const void *key = fn(owner, id, &n);
    uint32_t h = (uint32_t)gr_hash(key, n);
    size_t i = ix_slot(ix, fn, owner, key, n, h);
    *other = ix->slot[i];
    if (*other == GR_NONE) {
        ix->slot[i] = id;
        ix->hash[i] = h;
        ix->used++;
    }
    return 0;
}

void gr_index_free(gr_index *ix) {
    wf_free(ix->slot);
    wf_free(ix->hash);
    memset(ix, 0, sizeof *ix);
}
