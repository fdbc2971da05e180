/* ds_map.c: u64 -> pointer map, open addressing with linear probing and
 * backward-shift deletion (no tombstones). Key 0 marks an empty slot. */
#include "ds.h"

static size_t slot_of(uint64_t k, size_t cap) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static int grow(ds_map_t *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = wf_calloc(cap, sizeof *keys);
    void **vals = wf_calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        wf_free(keys);
        wf_free(vals);
        return WEFT_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = slot_of(m->keys[i], cap);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    wf_free(m->keys);
    wf_free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int ds_map_put(ds_map_t *m, uint64_t key, void *val) {
    if ((m->count + 1) * 2 > m->cap && grow(m)) return WEFT_ENOMEM;
    size_t i = slot_of(key, m->cap);
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->count++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

void *ds_map_get(const ds_map_t *m, uint64_t key) {
    if (!m->cap || !key) return NULL;
    size_t i = slot_of(key, m->cap);
    while (m->keys[i]) {
        if (m->keys[i] == key) return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

void *ds_map_del(ds_map_t *m, uint64_t key) {
    if (!m->cap || !key) return NULL;
    size_t mask = m->cap - 1, i = slot_of(key, m->cap);
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & mask;
    if (!m->keys[i]) return NULL;
    void *v = m->vals[i];
    /* backward shift: pull later entries of the run into the hole */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->keys[j]) break;
        size_t home = slot_of(m->keys[j], m->cap);
        /* move j to i when home is not cyclically in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = NULL;
    m->count--;
    return v;
}

void ds_map_free(ds_map_t *m) {
    wf_free(m->keys);
    wf_free(m->vals);
    memset(m, 0, sizeof *m);
}
