/* graph_save.c: writing graph files (weft_graph_save, format:
 * graph/FORMAT.md).
 *
 * A file is planned before anything is written: every distinct graph
 * reachable through subgraph nodes, once, children before parents, each
 * with the identifier of its 'graph' block; then every node is checked
 * (named-task or subgraph nodes only, names unique in their graph,
 * argument bytes within WEFT_FILE_TOKEN_MAX). Only a plan that passes is
 * written, so a refused graph writes nothing.
 *
 * Depth costs nothing: the walk keeps its own stack on the heap, so graphs
 * nested a million deep plan and save like flat ones; the identifiers
 * "name-2", "name-3"... come from a counter per name, not from trying every
 * suffix again, so a thousand graphs of one name cost a thousand steps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr.h"
#include "gr_index.h"
#include "gr_text.h"

#define GRAPH_VERSION 1

/* What a graph file holds besides its top graph: the graphs of its blocks
 * in post-order, with their identifiers: the graph's name, or name-2,
 * name-3... when an earlier block took the name (graph-2... for names too
 * long for a suffix). */
typedef struct save_plan {
    const weft_graph_t **gs;
    char **ids;
    size_t n, cap;
    gr_index pix;         /* graph pointer -> position in gs */
    gr_index iix;         /* identifier -> position in ids */
    gr_index bix;         /* graph name -> position in bases */
    const char **bases;   /* the names identifiers were made from */
    unsigned long *next;  /* per base: the next suffix to try (1: none) */
    size_t nb, bcap;
} save_plan;

static const void *key_graph(const void *owner, uint32_t id, size_t *len) {
    *len = sizeof(const weft_graph_t *);
    return &((const save_plan *)owner)->gs[id];
}

static const void *key_id(const void *owner, uint32_t id, size_t *len) {
    const char *s = ((const save_plan *)owner)->ids[id];
    *len = strlen(s);
    return s;
}

static const void *key_base(const void *owner, uint32_t id, size_t *len) {
    const char *s = ((const save_plan *)owner)->bases[id];
    *len = strlen(s);
    return s;
}

static void sp_free(save_plan *sp) {
    for (size_t i = 0; i < sp->n; i++) wf_free(sp->ids[i]);
    wf_free(sp->gs);
    wf_free(sp->ids);
    wf_free(sp->bases);
    wf_free(sp->next);
    gr_index_free(&sp->pix);
    gr_index_free(&sp->iix);
    gr_index_free(&sp->bix);
}

/* Position of g in the plan, or GR_NONE. */
static uint32_t sp_find(const save_plan *sp, const weft_graph_t *g) {
    return gr_index_find(&sp->pix, key_graph, sp, &g, sizeof g);
}

/* Suffix k of base (len bytes) into id: the base itself for k = 1. */
static void sp_candidate(char *id, const char *base, size_t len, unsigned long k) {
    memcpy(id, base, len + 1);
    if (k < 2) return;
    if (len + 24 <= WEFT_NAME_MAX) snprintf(id + len, 32, "-%lu", k);
    else snprintf(id, len + 32, "graph-%lu", k); /* no room for a suffix */
}

/* Appends g with a fresh identifier. */
static int sp_add(save_plan *sp, const weft_graph_t *g) {
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 8;
        const weft_graph_t **gs = wf_realloc(sp->gs, cap * sizeof *gs);
        if (!gs) return WEFT_ENOMEM;
        sp->gs = gs;
        char **ids = wf_realloc(sp->ids, cap * sizeof *ids);
        if (!ids) return WEFT_ENOMEM;
        sp->ids = ids;
        sp->cap = cap;
    }
    if (sp->nb == sp->bcap) {
        size_t cap = sp->bcap ? sp->bcap * 2 : 8;
        const char **bases = wf_realloc(sp->bases, cap * sizeof *bases);
        if (!bases) return WEFT_ENOMEM;
        sp->bases = bases;
        unsigned long *next = wf_realloc(sp->next, cap * sizeof *next);
        if (!next) return WEFT_ENOMEM;
        sp->next = next;
        sp->bcap = cap;
    }
    size_t len = strlen(g->name);
    uint32_t b = gr_index_find(&sp->bix, key_base, sp, g->name, len), other;
    if (b == GR_NONE) {
        b = (uint32_t)sp->nb;
        sp->bases[b] = g->name;
        sp->next[b] = 1;
        int rc = gr_index_add(&sp->bix, key_base, sp, b, &other);
        if (rc) return rc;
        sp->nb++;
    }
    char *id = wf_malloc(len + 32);
    if (!id) return WEFT_ENOMEM;
    unsigned long k = sp->next[b];
    for (sp_candidate(id, g->name, len, k); gr_index_find(&sp->iix, key_id, sp, id, strlen(id)) != GR_NONE;)
        sp_candidate(id, g->name, len, ++k);
    sp->next[b] = k + 1; /* identifiers are only ever added: the earlier ones stay taken */
    uint32_t pos = (uint32_t)sp->n;
    sp->gs[pos] = g;
    sp->ids[pos] = id;
    sp->n++; /* owned by the plan from here, freed with it */
    int rc = gr_index_add(&sp->iix, key_id, sp, pos, &other);
    if (!rc) rc = gr_index_add(&sp->pix, key_graph, sp, pos, &other);
    return rc;
}

/* Adds g's subgraphs, and theirs, children first, in the order a
 * depth-first walk of each graph's subgraph nodes meets them (graphs nest
 * acyclically: weft_graph_add_subgraph refuses cycles, so no graph on the
 * walk's stack is met again below itself). */
typedef struct sp_frame {
    const weft_graph_t *g;
    size_t x; /* the next extra to look at */
} sp_frame;

static int sp_visit(save_plan *sp, const weft_graph_t *top) {
    gr_vec stack = {0};
    int rc = gr_vec_reserve(&stack, sizeof(sp_frame), 1);
    if (rc) return rc;
    ((sp_frame *)stack.data)[stack.len++] = (sp_frame){top, 0};
    while (stack.len && !rc) {
        sp_frame *f = (sp_frame *)stack.data + stack.len - 1;
        const gr_extra *ex = f->g->extras.data;
        size_t nx = f->g->extras.len;
        while (f->x < nx && (ex[f->x].kind != GR_SUB || sp_find(sp, ex[f->x].sub) != GR_NONE)) f->x++;
        if (f->x < nx) {
            const weft_graph_t *sub = ex[f->x++].sub;
            if (!(rc = gr_vec_reserve(&stack, sizeof(sp_frame), stack.len + 1)))
                ((sp_frame *)stack.data)[stack.len++] = (sp_frame){sub, 0};
            continue;
        }
        const weft_graph_t *g = f->g;
        if (--stack.len) rc = sp_add(sp, g);
    }
    wf_free(stack.data);
    return rc;
}

static const void *key_node(const void *owner, uint32_t id, size_t *len) {
    const char *s = gr_name(owner, id);
    *len = strlen(s);
    return s;
}

/* Every node of g a named task or a subgraph node with argument bytes a
 * file can hold, every name unique: 0 or WEFT_ENOTSUP/ENOMEM. top: g is
 * the file's top graph (messages name the other graphs). */
static int check_savable(const weft_graph_t *g, int top) {
    size_t n = g->nodes.len;
    char sb[80], gb[100];
    gb[0] = 0;
    if (!top) snprintf(gb, sizeof gb, " of subgraph '%s'", gr_show(g->name, strlen(g->name), sb, sizeof sb));
    for (size_t v = 0; v < n; v++) {
        const gr_extra *e = gr_extra_of(g, (weft_node_t)v);
        const char *name = gr_name(g, (weft_node_t)v);
        if (e && (e->kind == GR_TASK || e->kind == GR_SUB)) {
            if (e->len <= WEFT_FILE_TOKEN_MAX) continue;
            wf_set_detail("node '%s'%s has %zu argument bytes: graph files hold at most %d "
                          "(WEFT_FILE_TOKEN_MAX)",
                          gr_show(name, strlen(name), sb, sizeof sb), gb, e->len, WEFT_FILE_TOKEN_MAX);
            return WEFT_ENOTSUP;
        }
        wf_set_detail("node '%s'%s runs a C function: graph files hold named-task and subgraph nodes only",
                      gr_show(name, strlen(name), sb, sizeof sb), gb);
        return WEFT_ENOTSUP;
    }
    gr_index ix = {0};
    int rc = 0;
    for (size_t v = 0; v < n && !rc; v++) {
        uint32_t other;
        if ((rc = gr_index_add(&ix, key_node, g, (uint32_t)v, &other))) break;
        if (other != GR_NONE) {
            const char *name = gr_name(g, (weft_node_t)v);
            wf_set_detail("nodes %u and %zu%s are both called '%s': names must be unique in a graph file",
                          other, v, gb, gr_show(name, strlen(name), sb, sizeof sb));
            rc = WEFT_ENOTSUP;
        }
    }
    gr_index_free(&ix);
    return rc;
}

/* Plans the file of g and checks that it can be written, before anything
 * is: 0, WEFT_ENOTSUP (the message names the node) or WEFT_ENOMEM. */
static int plan_save(const weft_graph_t *g, save_plan *sp) {
    memset(sp, 0, sizeof *sp);
    int rc = sp_visit(sp, g);
    if (!rc) rc = check_savable(g, 1);
    for (size_t k = 0; k < sp->n && !rc; k++) rc = check_savable(sp->gs[k], 0);
    if (rc == WEFT_ENOMEM) wf_set_detail("out of memory");
    if (rc) sp_free(sp);
    return rc;
}

/* The node and edge lines of g, each line starting with pad. */
static void write_body(const weft_graph_t *g, const save_plan *sp, const char *pad, FILE *out) {
    size_t n = g->nodes.len, m = g->esrc.len;
    for (size_t v = 0; v < n; v++) {
        const gr_extra *e = gr_extra_of(g, (weft_node_t)v);
        const char *name = gr_name(g, (weft_node_t)v);
        const char *what = e->kind == GR_SUB ? sp->ids[sp_find(sp, e->sub)]
                                             : (const char *)g->names.data + e->task;
        fputs(pad, out);
        fputs(e->kind == GR_SUB ? "subgraph " : "node ", out);
        gr_put_token(out, name, strlen(name));
        putc(' ', out);
        gr_put_token(out, what, strlen(what));
        if (e->len) {
            putc(' ', out);
            gr_put_bytes(out, e->bytes, e->len);
        }
        putc('\n', out);
    }
    /* placements other than the default, in node order, after the nodes */
    for (size_t v = 0; v < n; v++) {
        const gr_extra *e = gr_extra_of(g, (weft_node_t)v);
        if (e->kind != GR_TASK || e->place == WEFT_PLACE_ANY) continue;
        const char *name = gr_name(g, (weft_node_t)v);
        fputs(pad, out);
        fputs("place ", out);
        gr_put_token(out, name, strlen(name));
        if (e->place == WEFT_PLACE_LOCAL) {
            fputs(" local\n", out);
            continue;
        }
        const char *where = (const char *)g->names.data + e->where;
        fputs(" on ", out);
        gr_put_token(out, where, strlen(where));
        putc('\n', out);
    }
    if (m && *pad == 0) putc('\n', out);
    /* esrc/edst hold every edge in the order it was added: predecessors'
     * inputs (weft_node_input) keep their order through the file */
    const uint32_t *src = g->esrc.data, *dst = g->edst.data;
    for (size_t i = 0; i < m; i++) {
        const char *a = gr_name(g, src[i]), *b = gr_name(g, dst[i]);
        fputs(pad, out);
        fputs("edge ", out);
        gr_put_token(out, a, strlen(a));
        putc(' ', out);
        gr_put_token(out, b, strlen(b));
        putc('\n', out);
    }
}

static void write_graph(const weft_graph_t *g, const save_plan *sp, FILE *out) {
    size_t n = g->nodes.len, m = g->esrc.len;
    fprintf(out, "# weft graph file: %zu nodes, %zu edges", n, m);
    if (sp->n) fprintf(out, ", %zu subgraph%s defined first", sp->n, sp->n == 1 ? "" : "s");
    fprintf(out, "\nweft-graph %d\n", GRAPH_VERSION);
    fputs("name ", out);
    gr_put_token(out, g->name, strlen(g->name));
    putc('\n', out);
    for (size_t k = 0; k < sp->n; k++) { /* children before parents */
        const weft_graph_t *sub = sp->gs[k];
        fputs("\ngraph ", out);
        gr_put_token(out, sp->ids[k], strlen(sp->ids[k]));
        putc('\n', out);
        if (strcmp(sp->ids[k], sub->name) != 0) {
            fputs("  name ", out);
            gr_put_token(out, sub->name, strlen(sub->name));
            putc('\n', out);
        }
        write_body(sub, sp, "  ", out);
        fputs("end\n", out);
    }
    if (n) putc('\n', out);
    write_body(g, sp, "", out);
}

int weft_graph_save(const weft_graph_t *g, FILE *out) {
    wf_set_detail("%s", "");
    if (!gr_graph_valid(g) || !out) {
        wf_set_detail("weft_graph_save: %s is NULL or invalid", out ? "the graph" : "the stream");
        return WEFT_EINVAL;
    }
    save_plan sp;
    int rc = plan_save(g, &sp);
    if (rc) return rc;
    errno = 0;
    write_graph(g, &sp, out);
    sp_free(&sp);
    return gr_finish_write(out);
}

int weft_graph_save_file(const weft_graph_t *g, const char *path) {
    wf_set_detail("%s", "");
    if (!gr_graph_valid(g) || !path) {
        wf_set_detail("weft_graph_save_file: %s is NULL or invalid", path ? "the graph" : "the path");
        return WEFT_EINVAL;
    }
    save_plan sp;
    int rc = plan_save(g, &sp); /* before the file is touched: nothing written */
    if (rc) return rc;
    FILE *out = fopen(path, "w");
    if (!out) {
        wf_set_detail("cannot write '%s': %s", path, strerror(errno));
        sp_free(&sp);
        return WEFT_EIO;
    }
    errno = 0;
    write_graph(g, &sp, out);
    sp_free(&sp);
    rc = ferror(out) ? WEFT_EIO : 0;
    if (fclose(out) != 0) rc = WEFT_EIO;
    /* a partly written file is left as it is: path may name a device or a
     * pipe, which must not be removed */
    if (rc) wf_set_detail("write error on '%s': %s", path, errno ? strerror(errno) : "unknown");
    return rc;
}
