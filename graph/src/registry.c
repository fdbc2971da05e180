/* registry.c: the process-wide table of named tasks (name -> function).
 * An open-addressing hash table under a read-write lock: graphs look names
 * up when a run starts, so lookups vastly outnumber registrations. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <string.h>

#include "gr.h"

typedef struct reg_entry {
    char *name; /* NULL: empty slot */
    weft_node_fn fn;
    void *arg;
    int dead;   /* removed: keeps probe chains intact */
} reg_entry;

static pthread_rwlock_t reg_lock = PTHREAD_RWLOCK_INITIALIZER;
static reg_entry *reg_tab;
static size_t reg_cap, reg_used; /* used counts live and dead slots */

static uint64_t hash_name(const char *s) { /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Slot holding name, or the first free one on its probe chain. */
static reg_entry *probe(reg_entry *tab, size_t cap, const char *name, int for_insert) {
    size_t i = hash_name(name) & (cap - 1);
    reg_entry *tomb = NULL;
    for (;; i = (i + 1) & (cap - 1)) {
        reg_entry *e = &tab[i];
        if (!e->name) return for_insert && tomb ? tomb : e;
        if (e->dead) {
            if (!tomb) tomb = e;
            continue;
        }
        if (strcmp(e->name, name) == 0) return e;
    }
}

static int grow(void) {
    size_t cap = reg_cap ? reg_cap * 2 : 64;
    reg_entry *tab = wf_calloc(cap, sizeof *tab);
    if (!tab) return WEFT_ENOMEM;
    size_t used = 0;
    for (size_t i = 0; i < reg_cap; i++) {
        reg_entry *e = &reg_tab[i];
        if (!e->name) continue;
        if (e->dead) {
            wf_free(e->name);
            continue;
        }
        *probe(tab, cap, e->name, 1) = *e;
        used++;
    }
    wf_free(reg_tab);
    reg_tab = tab;
    reg_cap = cap;
    reg_used = used;
    return 0;
}

static int valid_name(const char *name) {
    if (!name || !*name) return WEFT_EINVAL;
    size_t n = strlen(name);
    if (n > WEFT_NAME_MAX) return WEFT_ERANGE;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f) return WEFT_EINVAL;
    return 0;
}

int weft_task_register(const char *name, weft_node_fn fn, void *arg) {
    int rc = valid_name(name);
    if (rc) return rc;
    if (!fn) return WEFT_EINVAL;
    pthread_rwlock_wrlock(&reg_lock);
    if ((reg_used + 1) * 2 > reg_cap && (rc = grow())) goto out;
    reg_entry *e = probe(reg_tab, reg_cap, name, 1);
    if (e->name && !e->dead) { /* replace */
        e->fn = fn;
        e->arg = arg;
        goto out;
    }
    char *copy = wf_strdup(name);
    if (!copy) {
        rc = WEFT_ENOMEM;
        goto out;
    }
    if (!e->name) reg_used++;
    else wf_free(e->name); /* reusing a tombstone */
    e->name = copy;
    e->fn = fn;
    e->arg = arg;
    e->dead = 0;
out:
    pthread_rwlock_unlock(&reg_lock);
    return rc;
}

int weft_task_unregister(const char *name) {
    int rc = valid_name(name);
    if (rc) return rc;
    pthread_rwlock_wrlock(&reg_lock);
    reg_entry *e = reg_cap ? probe(reg_tab, reg_cap, name, 0) : NULL;
    if (e && e->name && !e->dead) e->dead = 1;
    else rc = WEFT_ENOENT;
    pthread_rwlock_unlock(&reg_lock);
    return rc;
}

int weft_task_lookup(const char *name, weft_node_fn *fn, void **arg) {
    int rc = valid_name(name);
    if (rc) return rc;
    pthread_rwlock_rdlock(&reg_lock);
    reg_entry *e = reg_cap ? probe(reg_tab, reg_cap, name, 0) : NULL;
    if (e && e->name && !e->dead) {
        if (fn) *fn = e->fn;
        if (arg) *arg = e->arg;
    } else {
        rc = WEFT_ENOENT;
    }
    pthread_rwlock_unlock(&reg_lock);
    return rc;
}
