/* graph_load.c: reading graph files (weft_graph_load, weft_graph_load_buf;
 * format: graph/FORMAT.md).
 *
 * Loading has two phases. Reading checks every line and keeps what it
 * says: per graph (the top one and each 'graph' block) its nodes, with
 * names, task names and argument bytes in two arenas, its placements
 * ('place' lines) and its edges as node ids; a hash index per graph resolves edge names and finds
 * duplicates. Building then makes the graphs through the public calls
 * (weft_graph_add_task, weft_graph_add_subgraph, weft_graph_precede),
 * parents before children. That order is what keeps loading linear:
 * weft_graph_add_subgraph walks the subgraph it is given to refuse cycles,
 * and a child built after its parents is still empty when they take it, so
 * the walk is one step however deep the nesting and whatever order the
 * blocks come in. (Built in file order, a file written children first, as
 * weft_graph_save writes them, cost a walk of every graph below at each
 * level: cubic in the depth.)
 *
 * Cycles are therefore the reader's to find. Every 'subgraph' line is an
 * edge between two graphs, in line order; a line closes a cycle when the
 * edges up to it have one and the edges before it do not. One check of all
 * edges (Kahn's algorithm) answers whether there is a cycle; only then a
 * binary search over prefixes finds the first line that closes one, which
 * is what the message names, as if the file had been checked line by line.
 * An error found by reading a later line gives way to such a cycle, since
 * that line comes first.
 *
 * On any error the graphs made so far are freed (gr_graphs_destroy):
 * callers never see a half-built graph. Errors say where: "line N: ...". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr.h"
#include "gr_index.h"
#include "gr_lex.h"
#include "gr_text.h"

#define GRAPH_VERSION 1

typedef struct ld_node { /* 40 bytes: a million-node file keeps a million */
    size_t name;       /* offset of its NUL-terminated name in ld->text */
    size_t what;       /* GR_TASK: offset of its task name; GR_SUB: its graph (index in ld->gs) */
    size_t arg;        /* offset of its argument bytes in ld->args */
    long line;
    uint32_t len;      /* argument bytes: at most WEFT_FILE_TOKEN_MAX */
    uint16_t name_len; /* at most WEFT_NAME_MAX */
    uint8_t kind;      /* GR_TASK or GR_SUB */
    uint8_t placed;    /* a 'place' line named it */
} ld_node;
_Static_assert(WEFT_NAME_MAX <= UINT16_MAX && WEFT_FILE_TOKEN_MAX <= UINT32_MAX, "ld_node's fields");

/* A graph of the file: the top one (gs[0]) or a block's. */
typedef struct ld_graph {
    weft_graph_t *g;  /* made when the header (top) or the block is first named */
    gr_vec nodes;     /* ld_node, in line order: their ids */
    gr_vec edges;     /* uint32_t pairs, in line order */
    gr_vec places;    /* ld_place, in line order */
    gr_index ix;      /* node names, while lines may still add nodes */
    const gr_vec *text; /* the loader's names, for the index */
    char *id;         /* a block's identifier; NULL for the top */
    long defined;     /* a block's 'graph' line; 0 while only used */
    long used;        /* the line of its first use, or 0 */
    uint32_t user, user_node; /* the graph and node of that use */
    int named;        /* a 'name' line seen */
    int content;      /* a node, subgraph or edge line seen */
} ld_graph;

/* A 'place' line: node `node` of its graph runs there. */
typedef struct ld_place {
    uint32_t node;
    int place;     /* WEFT_PLACE_LOCAL or WEFT_PLACE_NODE (ANY needs no call) */
    size_t where;  /* WEFT_PLACE_NODE: offset of the address in ld->text */
    long line;
} ld_place;

/* A 'subgraph' line: graph `from`'s node `node` runs graph `to`. */
typedef struct ld_ref {
    uint32_t from, to, node;
    long line;
} ld_ref;

typedef struct loader {
    gr_lx l;
    gr_vec gs;       /* ld_graph: the top graph, then blocks in order of first mention */
    gr_vec bg;       /* weft_graph_t *: the blocks' graphs, in the same order */
    gr_index bix;    /* block identifier -> index in gs */
    uint32_t cur;    /* the graph lines go to: 0, or the open block */
    uint32_t open;   /* the open block, or GR_NONE */
    gr_vec text;     /* names and task names, NUL-terminated */
    gr_vec args;     /* argument bytes */
    gr_vec refs;     /* ld_ref, in line order */
    gr_vec ids;      /* uint32_t: an edge line's nodes */
    size_t last_task; /* offset of the last task name (reused when repeated), or SIZE_MAX */
} loader;

static ld_graph *ld_gr(const loader *ld, uint32_t i) { return (ld_graph *)ld->gs.data + i; }
static ld_node *ld_nd(const ld_graph *gr, uint32_t v) { return (ld_node *)gr->nodes.data + v; }
static const char *ld_text(const loader *ld, size_t off) { return (const char *)ld->text.data + off; }

static const void *key_node(const void *owner, uint32_t id, size_t *len) {
    const ld_graph *gr = owner;
    const ld_node *nd = ld_nd(gr, id);
    *len = nd->name_len;
    return (const char *)gr->text->data + nd->name;
}

static const void *key_block(const void *owner, uint32_t id, size_t *len) {
    const char *s = ld_gr(owner, id)->id;
    *len = strlen(s);
    return s;
}

/* Appends n bytes (and a NUL when text) to an arena: their offset. */
static int arena_put(gr_vec *a, const void *data, size_t n, int text, size_t *off) {
    int rc = gr_vec_reserve(a, 1, a->len + n + 1);
    if (rc) return rc;
    *off = a->len;
    if (n) memcpy((char *)a->data + a->len, data, n);
    a->len += n;
    if (text) ((char *)a->data)[a->len++] = 0;
    return 0;
}

/* A new graph entry for g (owned by the entry from here). */
static int ld_add_graph(loader *ld, weft_graph_t *g, char *id) {
    int rc = gr_vec_reserve(&ld->gs, sizeof(ld_graph), ld->gs.len + 1);
    if (!rc && id) rc = gr_vec_reserve(&ld->bg, sizeof(weft_graph_t *), ld->bg.len + 1);
    if (rc) {
        wf_free(id);
        gr_graphs_destroy(g, NULL, 0);
        return rc;
    }
    ld_graph *gr = ld_gr(ld, (uint32_t)ld->gs.len++);
    memset(gr, 0, sizeof *gr);
    gr->g = g;
    gr->id = id;
    gr->text = &ld->text;
    if (id) ((weft_graph_t **)ld->bg.data)[ld->bg.len++] = g;
    return 0;
}

static int ld_name(loader *ld) {
    gr_lx *l = &ld->l;
    ld_graph *c = ld_gr(ld, ld->cur);
    if (c->content) return gr_lx_fail(l, "'name' must come before the first node or edge");
    if (c->named) return gr_lx_fail(l, "duplicate 'name' line");
    c->named = 1;
    int k = gr_lx_name(l, "graph name", 0);
    if (k < 0) return k;
    int rc = gr_graph_rename(c->g, (const char *)l->tok);
    return rc ? rc : gr_lx_end(l, "name");
}

/* The block called id, made when new. */
static int ld_block_get(loader *ld, const char *id, uint32_t *b) {
    *b = gr_index_find(&ld->bix, key_block, ld, id, strlen(id));
    if (*b != GR_NONE) return 0;
    char *copy = wf_strdup(id);
    if (!copy) return WEFT_ENOMEM;
    weft_graph_t *g;
    int rc = weft_graph_create(id, &g);
    if (rc) {
        wf_free(copy);
        return rc == WEFT_ENOMEM ? rc : gr_lx_fail(&ld->l, "cannot create graph (%s)", weft_strerror(rc));
    }
    uint32_t k = (uint32_t)ld->gs.len, other;
    if ((rc = ld_add_graph(ld, g, copy))) return rc;
    if ((rc = gr_index_add(&ld->bix, key_block, ld, k, &other))) return rc;
    *b = k;
    return 0;
}

/* "graph ID": opens the block that defines graph ID. */
static int ld_open(loader *ld) {
    gr_lx *l = &ld->l;
    char sb[80];
    if (ld->open != GR_NONE) {
        const ld_graph *o = ld_gr(ld, ld->open);
        return gr_lx_fail(l, "'graph' blocks cannot nest: graph '%s' (line %ld) is still open",
                          gr_show(o->id, strlen(o->id), sb, sizeof sb), o->defined);
    }
    int k = gr_lx_name(l, "graph name", 0);
    if (k < 0) return k;
    char id[WEFT_NAME_MAX + 1];
    memcpy(id, l->tok, l->tlen + 1);
    int rc = gr_lx_end(l, "graph");
    uint32_t b;
    if (rc || (rc = ld_block_get(ld, id, &b))) return rc;
    ld_graph *blk = ld_gr(ld, b);
    if (blk->defined)
        return gr_lx_fail(l, "duplicate graph '%s' (defined on line %ld)", gr_show(id, strlen(id), sb, sizeof sb),
                          blk->defined);
    blk->defined = l->line;
    ld->open = ld->cur = b;
    return 0;
}

/* "end": closes the open block. */
static int ld_close(loader *ld) {
    gr_lx *l = &ld->l;
    if (ld->open == GR_NONE) return gr_lx_fail(l, "'end' without a 'graph' block");
    int rc = gr_lx_end(l, "end");
    if (rc) return rc;
    gr_index_free(&ld_gr(ld, ld->open)->ix); /* a block is never reopened */
    ld->open = GR_NONE;
    ld->cur = 0;
    return 0;
}

/* The node name starting a node or subgraph line: new in its graph, kept
 * in the text arena at *off. */
static int ld_node_name(loader *ld, size_t *off, uint16_t *len) {
    gr_lx *l = &ld->l;
    char sb[80];
    int k = gr_lx_name(l, "node name", 1);
    if (k < 0) return k;
    ld_graph *c = ld_gr(ld, ld->cur);
    if (gr_index_find(&c->ix, key_node, c, l->tok, l->tlen) != GR_NONE)
        return gr_lx_fail(l, "duplicate node name '%s'", gr_show(l->tok, l->tlen, sb, sizeof sb));
    *len = (uint16_t)l->tlen;
    return arena_put(&ld->text, l->tok, l->tlen, 1, off);
}

/* The optional argument bytes ending a node or subgraph line: GR_TK_END
 * (none), or GR_TK_STRING / GR_TK_HEX with the bytes kept in the argument
 * arena (*arg, *len), or a negative error. */
static int ld_arg(loader *ld, size_t *arg, uint32_t *len) {
    gr_lx *l = &ld->l;
    char sb[80];
    *arg = *len = 0;
    int k = gr_lx_next(l);
    if (k == GR_TK_WORD)
        return gr_lx_fail(l, "argument bytes must be a quoted or hex string, not the bare word '%s'",
                          gr_show(l->tok, l->tlen, sb, sizeof sb));
    if (k > 0 && l->tlen) {
        int rc = arena_put(&ld->args, l->tok, l->tlen, 0, arg);
        if (rc) return rc;
        *len = (uint32_t)l->tlen; /* the lexer keeps tokens within WEFT_FILE_TOKEN_MAX */
    }
    return k;
}

/* Appends the node of the current line to the current graph: its id. */
static int ld_push_node(loader *ld, const ld_node *nd, uint32_t *v) {
    ld_graph *c = ld_gr(ld, ld->cur);
    if (c->nodes.len >= WEFT_GRAPH_MAX_NODES) return gr_lx_fail(&ld->l, "too many nodes or names in one graph");
    int rc = gr_vec_reserve(&c->nodes, sizeof(ld_node), c->nodes.len + 1);
    if (rc) return rc;
    *v = (uint32_t)c->nodes.len++;
    *ld_nd(c, *v) = *nd;
    uint32_t other;
    return gr_index_add(&c->ix, key_node, c, *v, &other);
}

static int ld_task_line(loader *ld) {
    gr_lx *l = &ld->l;
    ld_node nd = {.kind = GR_TASK, .line = l->line};
    ld_gr(ld, ld->cur)->content = 1;
    int k, rc = ld_node_name(ld, &nd.name, &nd.name_len);
    if (rc) return rc;
    if ((k = gr_lx_name(l, "task name", 0)) < 0) return k;
    const char *last = ld->last_task != SIZE_MAX ? ld_text(ld, ld->last_task) : NULL;
    if (last && strcmp(last, (const char *)l->tok) == 0) nd.what = ld->last_task; /* kept once */
    else if ((rc = arena_put(&ld->text, l->tok, l->tlen, 1, &nd.what))) return rc;
    else ld->last_task = nd.what;
    if ((k = ld_arg(ld, &nd.arg, &nd.len)) < 0) return k;
    uint32_t v;
    if ((rc = ld_push_node(ld, &nd, &v))) return rc;
    return k == GR_TK_END ? 0 : gr_lx_end(l, "node");
}

/* "subgraph NAME GRAPH [ARG]": a node running graph GRAPH, defined by a
 * 'graph' block above or below. */
static int ld_subgraph(loader *ld) {
    gr_lx *l = &ld->l;
    char id[WEFT_NAME_MAX + 1], sb[80], sb2[80];
    ld_node nd = {.kind = GR_SUB, .line = l->line};
    ld_gr(ld, ld->cur)->content = 1;
    int k, rc = ld_node_name(ld, &nd.name, &nd.name_len);
    if (rc) return rc;
    if ((k = gr_lx_name(l, "graph name", 0)) < 0) return k;
    memcpy(id, l->tok, l->tlen + 1);
    uint32_t b;
    if ((rc = ld_block_get(ld, id, &b))) return rc;
    if ((k = ld_arg(ld, &nd.arg, &nd.len)) < 0) return k;
    if (b == ld->cur) {
        const char *name = ld_text(ld, nd.name);
        return gr_lx_fail(l, "subgraph node '%s' puts graph '%s' inside itself",
                          gr_show(name, nd.name_len, sb, sizeof sb), gr_show(id, strlen(id), sb2, sizeof sb2));
    }
    nd.what = b;
    uint32_t v;
    if ((rc = ld_push_node(ld, &nd, &v))) return rc;
    if ((rc = gr_vec_reserve(&ld->refs, sizeof(ld_ref), ld->refs.len + 1))) return rc;
    ((ld_ref *)ld->refs.data)[ld->refs.len++] = (ld_ref){ld->cur, b, v, l->line};
    ld_graph *blk = ld_gr(ld, b);
    if (!blk->used) {
        blk->used = l->line;
        blk->user = ld->cur;
        blk->user_node = v;
    }
    return k == GR_TK_END ? 0 : gr_lx_end(l, "subgraph");
}

static int ld_edge(loader *ld) {
    gr_lx *l = &ld->l;
    char sb[80];
    ld_graph *c = ld_gr(ld, ld->cur);
    c->content = 1;
    ld->ids.len = 0;
    int rc;
    for (;;) {
        int k = gr_lx_next(l);
        if (k < 0) return k;
        if (k == GR_TK_END) break;
        uint32_t id = gr_index_find(&c->ix, key_node, c, l->tok, l->tlen);
        if (id == GR_NONE)
            return gr_lx_fail(l, "edge %s unknown node '%s'", ld->ids.len ? "to" : "from",
                              gr_show(l->tok, l->tlen, sb, sizeof sb));
        if ((rc = gr_vec_reserve(&ld->ids, sizeof(uint32_t), ld->ids.len + 1))) return rc;
        ((uint32_t *)ld->ids.data)[ld->ids.len++] = id;
    }
    size_t n = ld->ids.len;
    if (n < 2) return gr_lx_fail(l, "'edge' needs at least two node names");
    if ((rc = gr_vec_reserve(&c->edges, sizeof(uint32_t), c->edges.len + 2 * (n - 1)))) return rc;
    const uint32_t *ids = ld->ids.data;
    uint32_t *e = c->edges.data;
    for (size_t i = 0; i + 1 < n; i++) {
        if (c->edges.len / 2 >= UINT32_MAX - 1) return gr_lx_fail(l, "too many edges in one graph");
        e[c->edges.len++] = ids[i];
        e[c->edges.len++] = ids[i + 1];
    }
    return 0;
}

/* "place NAME any|local|on ADDRESS": where named-task node NAME, defined
 * above in the same graph, runs when its run has an executor. */
static int ld_place_line(loader *ld) {
    gr_lx *l = &ld->l;
    char sb[80], sb2[80];
    ld_graph *c = ld_gr(ld, ld->cur);
    c->content = 1;
    int k = gr_lx_name(l, "node name", 1);
    if (k < 0) return k;
    uint32_t v = gr_index_find(&c->ix, key_node, c, l->tok, l->tlen);
    if (v == GR_NONE)
        return gr_lx_fail(l, "place: unknown node '%s'", gr_show(l->tok, l->tlen, sb, sizeof sb));
    ld_node *nd = ld_nd(c, v);
    const char *name = ld_text(ld, nd->name);
    if (nd->kind != GR_TASK)
        return gr_lx_fail(l, "place: node '%s' is not a named-task node",
                          gr_show(name, nd->name_len, sb, sizeof sb));
    if (nd->placed) {
        const ld_place *p = c->places.data;
        size_t i = 0;
        while (p[i].node != v) i++; /* there is one */
        return gr_lx_fail(l, "duplicate 'place' line for node '%s' (placed on line %ld)",
                          gr_show(name, nd->name_len, sb, sizeof sb), p[i].line);
    }
    ld_place pl = {.node = v, .place = WEFT_PLACE_ANY, .where = 0, .line = l->line};
    if ((k = gr_lx_next(l)) < 0) return k;
    if (k == GR_TK_END)
        return gr_lx_fail(l, "place: missing place after node '%s' (any, local or on ADDRESS)",
                          gr_show(name, nd->name_len, sb, sizeof sb));
    if (gr_lx_is(l, k, "local")) {
        pl.place = WEFT_PLACE_LOCAL;
    } else if (gr_lx_is(l, k, "on")) {
        pl.place = WEFT_PLACE_NODE;
        if ((k = gr_lx_name(l, "address", 0)) < 0) return k;
        int why = gr_check_address((const char *)l->tok);
        if (why)
            return gr_lx_fail(l, "place: bad address '%s': %s", gr_show(l->tok, l->tlen, sb, sizeof sb),
                              gr_address_problem(why));
        int rc = arena_put(&ld->text, l->tok, l->tlen, 1, &pl.where);
        if (rc) return rc;
    } else if (!gr_lx_is(l, k, "any")) {
        return gr_lx_fail(l, "place: bad place '%s' (any, local or on ADDRESS)",
                          gr_show(l->tok, l->tlen, sb2, sizeof sb2));
    }
    int rc = gr_lx_end(l, "place");
    if (rc) return rc;
    if ((rc = gr_vec_reserve(&c->places, sizeof(ld_place), c->places.len + 1))) return rc;
    ((ld_place *)c->places.data)[c->places.len++] = pl;
    nd->placed = 1;
    return 0;
}

/* One directive line after the header. */
static int ld_directive(loader *ld, int k) {
    gr_lx *l = &ld->l;
    char sb[80];
    if (gr_lx_is(l, k, "node")) return ld_task_line(ld);
    if (gr_lx_is(l, k, "edge")) return ld_edge(ld);
    if (gr_lx_is(l, k, "subgraph")) return ld_subgraph(ld);
    if (gr_lx_is(l, k, "place")) return ld_place_line(ld);
    if (gr_lx_is(l, k, "graph")) return ld_open(ld);
    if (gr_lx_is(l, k, "end")) return ld_close(ld);
    if (gr_lx_is(l, k, "name")) return ld_name(ld);
    if (gr_lx_is(l, k, "weft-graph")) return gr_lx_fail(l, "duplicate 'weft-graph' header");
    return gr_lx_fail(l, "unknown directive '%s'", gr_show(l->tok, l->tlen, sb, sizeof sb));
}

/* Kahn's algorithm over the graphs with the first k 'subgraph' lines as
 * edges. order (may be NULL) gets the graphs parents first; returns 1 if
 * those lines make a cycle, 0 if not, or WEFT_ENOMEM. */
static int ld_kahn(const loader *ld, size_t k, uint32_t *order) {
    size_t n = ld->gs.len;
    const ld_ref *r = ld->refs.data;
    uint32_t *in = wf_calloc(n, sizeof *in), *off = wf_calloc(n + 1, sizeof *off);
    uint32_t *adj = wf_malloc((k ? k : 1) * sizeof *adj), *queue = order ? order : wf_malloc(n * sizeof *queue);
    int rc = 0;
    if (!in || !off || !adj || !queue) {
        rc = WEFT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < k; i++) off[r[i].from + 1]++, in[r[i].to]++;
    for (size_t v = 0; v < n; v++) off[v + 1] += off[v];
    for (size_t i = 0; i < k; i++) adj[off[r[i].from]++] = r[i].to;
    for (size_t v = n; v > 0; v--) off[v] = off[v - 1]; /* back to row starts */
    off[0] = 0;
    size_t head = 0, tail = 0;
    for (size_t v = 0; v < n; v++)
        if (!in[v]) queue[tail++] = (uint32_t)v;
    while (head < tail) {
        uint32_t v = queue[head++];
        for (uint32_t i = off[v]; i < off[v + 1]; i++)
            if (--in[adj[i]] == 0) queue[tail++] = adj[i];
    }
    rc = tail < n;
out:
    wf_free(in);
    wf_free(off);
    wf_free(adj);
    if (queue != order) wf_free(queue);
    return rc;
}

/* If the 'subgraph' lines read so far close a cycle: WEFT_EPARSE naming
 * the first line that does; else 0 (or WEFT_ENOMEM). */
static int ld_cycles(loader *ld) {
    size_t lo = 0, hi = ld->refs.len; /* lines [0, lo) have no cycle; [0, hi) have one */
    int rc = ld_kahn(ld, hi, NULL);
    if (rc <= 0) return rc;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((rc = ld_kahn(ld, mid, NULL)) < 0) return rc;
        if (rc) hi = mid;
        else lo = mid;
    }
    const ld_ref *r = (const ld_ref *)ld->refs.data + hi - 1;
    const ld_graph *from = ld_gr(ld, r->from), *to = ld_gr(ld, r->to);
    const ld_node *nd = ld_nd(from, r->node);
    const char *in = from->id ? from->id : from->g->name;
    char sb[80], sb2[80], sb3[80];
    ld->l.line = r->line;
    return gr_lx_fail(&ld->l, "subgraph node '%s' makes a cycle: graph '%s' already contains graph '%s'",
                      gr_show(ld_text(ld, nd->name), nd->name_len, sb, sizeof sb),
                      gr_show(to->id, strlen(to->id), sb2, sizeof sb2), gr_show(in, strlen(in), sb3, sizeof sb3));
}

/* Maps an error of adding node name to its message. */
static int ld_add_failed(loader *ld, int rc, const char *name) {
    char sb[80];
    if (rc == WEFT_ENOMEM) return rc;
    if (rc == WEFT_ERANGE) return gr_lx_fail(&ld->l, "too many nodes or names in one graph");
    return gr_lx_fail(&ld->l, "cannot add node '%s' (%s)", gr_show(name, strlen(name), sb, sizeof sb),
                      weft_strerror(rc));
}

/* Builds graph i from what its lines said; its subgraphs are still empty. */
static int ld_build(loader *ld, uint32_t i) {
    const ld_graph *gr = ld_gr(ld, i);
    weft_graph_t *g = gr->g;
    const unsigned char *args = ld->args.data;
    int rc = 0;
    for (uint32_t j = 0; j < gr->nodes.len && !rc; j++) {
        const ld_node *nd = ld_nd(gr, j);
        const char *name = ld_text(ld, nd->name);
        const void *arg = nd->len ? args + nd->arg : NULL;
        weft_node_t v;
        if (nd->kind == GR_TASK) {
            rc = weft_graph_add_task(g, name, ld_text(ld, nd->what), arg, nd->len, &v);
        } else {
            rc = weft_graph_add_subgraph(g, name, ld_gr(ld, (uint32_t)nd->what)->g, &v);
            if (!rc && nd->len) rc = weft_graph_set_arg(g, v, arg, nd->len);
        }
        if (rc) {
            ld->l.line = nd->line;
            rc = ld_add_failed(ld, rc, name);
        }
    }
    const ld_place *p = gr->places.data;
    for (size_t k = 0; k < gr->places.len && !rc; k++) {
        if (p[k].place == WEFT_PLACE_ANY) continue;
        const char *where = p[k].place == WEFT_PLACE_NODE ? ld_text(ld, p[k].where) : NULL;
        if ((rc = weft_graph_set_place(g, p[k].node, p[k].place, where)) && rc != WEFT_ENOMEM) {
            ld->l.line = p[k].line;
            rc = gr_lx_fail(&ld->l, "cannot place the node (%s)", weft_strerror(rc));
        }
    }
    const uint32_t *e = gr->edges.data;
    for (size_t k = 0; k + 1 < gr->edges.len && !rc; k += 2)
        if ((rc = weft_graph_precede(g, e[k], e[k + 1])) && rc != WEFT_ENOMEM)
            rc = gr_lx_fail(&ld->l, "cannot add the edge (%s)", weft_strerror(rc));
    return rc;
}

/* After the last line: no cycle, every block closed, every used graph
 * defined; then the graphs are built, parents first, and the top graph
 * adopts the blocks'. */
static int ld_finish(loader *ld) {
    gr_lx *l = &ld->l;
    char sb[80], sb2[80];
    int rc = ld_cycles(ld);
    if (rc) return rc;
    if (ld->open != GR_NONE) {
        const ld_graph *o = ld_gr(ld, ld->open);
        l->line = o->defined;
        return gr_lx_fail(l, "graph '%s' is not closed: 'end' is missing", gr_show(o->id, strlen(o->id), sb, sizeof sb));
    }
    for (uint32_t b = 1; b < ld->gs.len; b++) { /* made in line order: the first is the earliest */
        const ld_graph *blk = ld_gr(ld, b);
        if (blk->defined) continue;
        const ld_node *nd = ld_nd(ld_gr(ld, blk->user), blk->user_node);
        l->line = blk->used;
        return gr_lx_fail(l, "subgraph node '%s' uses graph '%s', which the file does not define",
                          gr_show(ld_text(ld, nd->name), nd->name_len, sb, sizeof sb),
                          gr_show(blk->id, strlen(blk->id), sb2, sizeof sb2));
    }
    size_t n = ld->gs.len;
    for (uint32_t i = 0; i < n; i++) gr_index_free(&ld_gr(ld, i)->ix); /* names are resolved */
    uint32_t *order = wf_malloc(n * sizeof *order);
    if (!order) return WEFT_ENOMEM;
    rc = ld_kahn(ld, ld->refs.len, order); /* 0: ld_cycles found none */
    for (size_t i = 0; i < n && rc == 0; i++) rc = ld_build(ld, order[i]);
    wf_free(order);
    if (rc) return rc;
    return gr_graph_adopt(ld_gr(ld, 0)->g, ld->bg.data, ld->bg.len);
}

static int ld_read(loader *ld) {
    gr_lx *l = &ld->l;
    int header = 0, rc;
    while ((rc = gr_lx_read_line(l)) == 1) {
        int k = gr_lx_next(l);
        if (k < 0) {
            rc = k;
            break;
        }
        if (k == GR_TK_END) continue; /* blank or comment */
        if (k != GR_TK_WORD) {
            rc = gr_lx_fail(l, "expected a directive at the start of the line, found a quoted string");
            break;
        }
        char sb[80];
        if (header) {
            rc = ld_directive(ld, k);
        } else if (gr_lx_is(l, k, "weft-graph")) {
            if (!(rc = gr_lx_version(l, "weft-graph", "graph", GRAPH_VERSION))) {
                header = 1;
                weft_graph_t *g;
                if (!(rc = weft_graph_create(NULL, &g))) rc = ld_add_graph(ld, g, NULL);
            }
        } else if (gr_lx_is(l, k, "weft-run")) {
            rc = gr_lx_fail(l, "this is a run file ('weft-run'), not a graph file");
        } else {
            rc = gr_lx_fail(l, "missing 'weft-graph %d' header (found '%s' first)", GRAPH_VERSION,
                            gr_show(l->tok, l->tlen, sb, sizeof sb));
        }
        if (rc) break;
    }
    if (rc == 0) {
        if (!header) {
            l->line++;
            return gr_lx_fail(l, "missing 'weft-graph %d' header (the file has no directives)", GRAPH_VERSION);
        }
        return ld_finish(ld);
    }
    if (rc != WEFT_ENOMEM && ld->refs.len) { /* a cycle on an earlier line comes first */
        int crc = ld_cycles(ld);
        if (crc) return crc;
    }
    return rc;
}

/* Loads from the lexer ld->l, which the caller set up. */
static int ld_load(loader *ld, weft_graph_t **out) {
    ld->open = GR_NONE;
    ld->last_task = SIZE_MAX;
    int rc = ld_read(ld);
    if (rc == WEFT_ENOMEM) wf_set_detail("line %ld: out of memory", ld->l.line);
    weft_graph_t *top = ld->gs.len ? ld_gr(ld, 0)->g : NULL;
    if (rc) gr_graphs_destroy(top, ld->bg.data, ld->bg.len); /* nothing half-loaded survives */
    else *out = top;
    for (uint32_t i = 0; i < ld->gs.len; i++) {
        ld_graph *gr = ld_gr(ld, i);
        wf_free(gr->nodes.data);
        wf_free(gr->edges.data);
        wf_free(gr->places.data);
        gr_index_free(&gr->ix);
        wf_free(gr->id);
    }
    wf_free(ld->gs.data);
    wf_free(ld->bg.data);
    gr_index_free(&ld->bix);
    wf_free(ld->text.data);
    wf_free(ld->args.data);
    wf_free(ld->refs.data);
    wf_free(ld->ids.data);
    gr_lx_free(&ld->l);
    return rc;
}

int weft_graph_load(FILE *in, weft_graph_t **out) {
    if (out) *out = NULL;
    wf_set_detail("%s", "");
    if (!in || !out) {
        wf_set_detail("weft_graph_load: the %s is NULL", in ? "result pointer" : "stream");
        return WEFT_EINVAL;
    }
    loader ld = {0};
    gr_lx_init_file(&ld.l, in);
    return ld_load(&ld, out);
}

int weft_graph_load_buf(const char *text, size_t len, weft_graph_t **out) {
    if (out) *out = NULL;
    wf_set_detail("%s", "");
    if ((!text && len) || !out) {
        wf_set_detail("weft_graph_load_buf: the %s is NULL", out ? "text" : "result pointer");
        return WEFT_EINVAL;
    }
    loader ld = {0};
    gr_lx_init_mem(&ld.l, text, len);
    return ld_load(&ld, out);
}

int weft_graph_load_file(const char *path, weft_graph_t **out) {
    if (out) *out = NULL;
    if (!path || !out) {
        wf_set_detail("weft_graph_load_file: the %s is NULL", path ? "result pointer" : "path");
        return WEFT_EINVAL;
    }
    FILE *in = fopen(path, "r");
    if (!in) {
        wf_set_detail("cannot open '%s': %s", path, strerror(errno));
        return WEFT_EIO;
    }
    int rc = weft_graph_load(in, out);
    fclose(in);
    return rc;
}
