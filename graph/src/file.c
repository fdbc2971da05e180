/* file.c: graph files and run files, the two line-oriented text formats of
 * the graph layer (specified in graph/FORMAT.md).
 *
 * Both formats share one lexer. A line is a list of tokens separated by
 * spaces or tabs; '#' at the start of a token begins a comment that runs to
 * the end of the line. A token is a bare word (bytes above space, except
 * '"', '#', '\\' and DEL), a quoted string with C-style escapes ("a b\n",
 * "\x00"), or a hex string (x"00ff"). Every token decodes to bytes, so any
 * argument bytes round-trip, and names with spaces or quotes are written
 * quoted.
 *
 * Loading builds the graph through the public calls (weft_graph_create,
 * weft_graph_add_task, weft_graph_precede) while it reads; on any error the
 * half-built graph is freed, so callers never see one. Node names are looked
 * up through a hash index (edges name their nodes), which also finds
 * duplicates. Errors say where: wf_set_detail("line %ld: ...").
 *
 * Subgraphs: a 'graph NAME' ... 'end' block defines a graph, a 'subgraph'
 * line adds a node running one. A block's graph is made at its definition
 * or at its first use, whichever comes first, so blocks may come in any
 * order; weft_graph_add_subgraph refuses the line that would close a cycle.
 * Once loaded, the block graphs belong to the top graph (gr_graph_adopt)
 * and weft_graph_free of it frees them. Saving walks the subgraphs depth
 * first and writes each distinct graph once, children before parents.
 *
 * Run files live here too, not in dot.c, because they share the lexer; dot.c
 * holds the picture and trace exports. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "gr.h"
#include "gr_text.h"

#define GRAPH_VERSION 1
#define RUN_VERSION 1

/* ------------------------------------------------------------------ */
/* Byte helpers                                                        */

/* May byte c appear in a bare word? (The writer only makes ASCII ones.) */
static int bare_byte(unsigned c) {
    return c > ' ' && c != 0x7f && c != '"' && c != '#' && c != '\\';
}

/* A short printable excerpt of s for error messages: escaped like a quoted
 * token, cut after about 60 bytes. */
static const char *show(const void *data, size_t n, char *buf, size_t cap) {
    const unsigned char *s = data;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 8 < cap; i++) {
        if (i >= 60) {
            memcpy(buf + k, "...", 3);
            k += 3;
            break;
        }
        unsigned c = s[i];
        if (c == '\\' || c == '\'') k += (size_t)snprintf(buf + k, cap - k, "\\%c", c);
        else if (c < ' ' || c >= 0x7f) k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", c);
        else buf[k++] = (char)c;
    }
    buf[k] = 0;
    return buf;
}

/* ------------------------------------------------------------------ */
/* Lexer                                                               */

enum { TK_END = 0, TK_WORD, TK_STRING, TK_HEX };

typedef struct lx {
    FILE *in;
    char *buf;             /* the current line (getline's, freed with free) */
    size_t bufcap;
    const char *p, *end;   /* cursor in the line */
    long line;             /* its number, from 1 */
    unsigned char *tok;    /* the last token, decoded, NUL-terminated */
    size_t tlen, tcap;
} lx;

static void lx_free(lx *l) {
    free(l->buf);
    wf_free(l->tok);
}

static int lx_fail(const lx *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lx_fail(const lx *l, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wf_set_detail("line %ld: %s", l->line, msg);
    return WEFT_EPARSE;
}

/* Reads the next line: 1, 0 at the end of input, or a negative error. */
static int lx_read_line(lx *l) {
    errno = 0;
    ssize_t got = getline(&l->buf, &l->bufcap, l->in);
    if (got < 0) {
        if (errno == ENOMEM) return WEFT_ENOMEM;
        if (ferror(l->in)) {
            wf_set_detail("line %ld: read error: %s", l->line + 1,
                         errno ? strerror(errno) : "unknown");
            return WEFT_EIO;
        }
        return 0;
    }
    l->line++;
    size_t n = (size_t)got;
    if (n && l->buf[n - 1] == '\n') n--;
    if (n && l->buf[n - 1] == '\r') n--; /* files edited on Windows */
    if (memchr(l->buf, 0, n)) return lx_fail(l, "NUL byte in the line");
    l->p = l->buf;
    l->end = l->buf + n;
    if (l->line == 1 && n >= 3 && memcmp(l->buf, "\xef\xbb\xbf", 3) == 0) l->p += 3; /* UTF-8 BOM */
    return 1;
}

static int tok_put(lx *l, unsigned char c) {
    if (l->tlen + 1 >= l->tcap) {
        size_t cap = l->tcap ? l->tcap * 2 : 256;
        unsigned char *t = wf_malloc(cap);
        if (!t) return WEFT_ENOMEM;
        if (l->tlen) memcpy(t, l->tok, l->tlen);
        wf_free(l->tok);
        l->tok = t;
        l->tcap = cap;
    }
    l->tok[l->tlen++] = c;
    return 0;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int lx_control(const lx *l, unsigned c) {
    return lx_fail(l, "control character 0x%02x (write it as \\x%02x inside quotes)", c, c);
}

/* After a closing quote: whitespace, a comment or the end of the line. */
static int lx_after_quote(lx *l) {
    if (l->p < l->end && *l->p != ' ' && *l->p != '\t' && *l->p != '#')
        return lx_fail(l, "unexpected '%c' right after a closing quote", *l->p);
    return 0;
}

static int lx_quoted(lx *l) {
    l->p++; /* the opening quote */
    for (;;) {
        if (l->p >= l->end) return lx_fail(l, "unterminated quoted string");
        unsigned c = (unsigned char)*l->p;
        int rc;
        if (c == '"') {
            l->p++;
            return lx_after_quote(l);
        }
        if (c == '\\') {
            if (l->p + 1 >= l->end) return lx_fail(l, "unterminated quoted string");
            unsigned e = (unsigned char)l->p[1];
            l->p += 2;
            switch (e) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case '0': c = 0; break;
            case '\\': c = '\\'; break;
            case '"': c = '"'; break;
            case 'x': {
                int hi = l->p < l->end ? hexval(l->p[0]) : -1;
                int lo = l->p + 1 < l->end ? hexval(l->p[1]) : -1;
                if (hi < 0 || lo < 0) return lx_fail(l, "bad escape '\\x': it needs two hex digits");
                c = (unsigned)(hi << 4 | lo);
                l->p += 2;
                break;
            }
            default:
                if (e > ' ' && e < 0x7f) return lx_fail(l, "bad escape '\\%c'", e);
                return lx_fail(l, "bad escape: '\\' followed by byte 0x%02x", e);
            }
        } else {
            if ((c < ' ' && c != '\t') || c == 0x7f) return lx_control(l, c);
            l->p++;
        }
        if ((rc = tok_put(l, (unsigned char)c))) return rc;
    }
}

static int lx_hex(lx *l) {
    l->p += 2; /* x" */
    for (;;) {
        while (l->p < l->end && (*l->p == ' ' || *l->p == '\t')) l->p++;
        if (l->p >= l->end) return lx_fail(l, "unterminated hex string");
        if (*l->p == '"') {
            l->p++;
            return lx_after_quote(l);
        }
        int hi = hexval(l->p[0]);
        if (hi < 0) return lx_fail(l, "bad hex digit '%s'", show(l->p, 1, (char[16]){0}, 16));
        if (l->p + 1 >= l->end || l->p[1] == '"' || l->p[1] == ' ' || l->p[1] == '\t')
            return lx_fail(l, "odd number of hex digits in a hex string");
        int lo = hexval(l->p[1]);
        if (lo < 0) return lx_fail(l, "bad hex digit '%s'", show(l->p + 1, 1, (char[16]){0}, 16));
        int rc = tok_put(l, (unsigned char)(hi << 4 | lo));
        if (rc) return rc;
        l->p += 2;
    }
}

/* Reads the next token of the line into l->tok: TK_WORD, TK_STRING, TK_HEX,
 * TK_END at the end of the line (or at a comment), or a negative error. */
static int lx_next(lx *l) {
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t')) l->p++;
    l->tlen = 0;
    int rc, kind;
    if (l->p >= l->end || *l->p == '#') {
        l->p = l->end;
        kind = TK_END;
    } else if (*l->p == '"') {
        if ((rc = lx_quoted(l))) return rc;
        kind = TK_STRING;
    } else if (*l->p == 'x' && l->p + 1 < l->end && l->p[1] == '"') {
        if ((rc = lx_hex(l))) return rc;
        kind = TK_HEX;
    } else {
        const char *start = l->p;
        while (l->p < l->end && bare_byte((unsigned char)*l->p))
            if ((rc = tok_put(l, (unsigned char)*l->p++))) return rc;
        if (l->p < l->end && *l->p != ' ' && *l->p != '\t' && *l->p != '#') {
            unsigned c = (unsigned char)*l->p;
            char sb[80];
            if (c == '"' || c == '\\')
                return lx_fail(l, "unexpected '%c' in '%s' (quote the whole word)", c,
                               show(start, (size_t)(l->p - start) + 1, sb, sizeof sb));
            return lx_control(l, c);
        }
        kind = TK_WORD;
    }
    if ((rc = tok_put(l, 0))) return rc; /* NUL-terminate; not counted */
    l->tlen--;
    return kind;
}

/* Does another token follow on this line? */
static int lx_more(lx *l) {
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t')) l->p++;
    return l->p < l->end && *l->p != '#';
}

static int tok_is(const lx *l, int kind, const char *word) {
    return kind == TK_WORD && strcmp((const char *)l->tok, word) == 0;
}

/* The line must end here. what names the directive for the message. */
static int lx_end(lx *l, const char *what) {
    int k = lx_next(l);
    if (k < 0) return k;
    if (k == TK_END) return 0;
    char sb[80];
    return lx_fail(l, "unexpected '%s' after the '%s' line's last field (trailing garbage)",
                   show(l->tok, l->tlen, sb, sizeof sb), what);
}

/* The next token, which must exist and hold a name: no NUL, at most
 * WEFT_NAME_MAX bytes, and (unless may_be_empty) not empty. */
static int lx_name(lx *l, const char *what, int may_be_empty) {
    int k = lx_next(l);
    if (k < 0) return k;
    if (k == TK_END) return lx_fail(l, "missing %s", what);
    if (l->tlen > WEFT_NAME_MAX)
        return lx_fail(l, "%s too long (%zu bytes, at most %d)", what, l->tlen, WEFT_NAME_MAX);
    if (memchr(l->tok, 0, l->tlen)) return lx_fail(l, "%s contains a NUL byte", what);
    if (!may_be_empty && l->tlen == 0) return lx_fail(l, "empty %s", what);
    return k;
}

/* Unsigned decimal token (digits only) into *v, at most max. */
static int lx_uint(lx *l, const char *what, uint64_t max, uint64_t *v) {
    int k = lx_next(l);
    if (k < 0) return k;
    if (k == TK_END) return lx_fail(l, "missing %s", what);
    char sb[80];
    uint64_t x = 0;
    if (k != TK_WORD || l->tlen == 0) goto bad;
    for (size_t i = 0; i < l->tlen; i++) {
        unsigned d = (unsigned)l->tok[i] - '0';
        if (d > 9) goto bad;
        if (x > (max - d) / 10) return lx_fail(l, "%s '%s' out of range", what,
                                               show(l->tok, l->tlen, sb, sizeof sb));
        x = x * 10 + d;
    }
    *v = x;
    return 0;
bad:
    return lx_fail(l, "bad %s '%s' (expected a number)", what, show(l->tok, l->tlen, sb, sizeof sb));
}

/* Signed decimal integer token in [lo, hi]. */
static int lx_int(lx *l, const char *what, long long lo, long long hi, long long *v) {
    int k = lx_next(l);
    if (k < 0) return k;
    if (k == TK_END) return lx_fail(l, "missing %s", what);
    char sb[80];
    const unsigned char *s = l->tok;
    size_t n = l->tlen, i = n && s[0] == '-';
    unsigned long long x = 0;
    if (k != TK_WORD || n == i) goto bad;
    for (; i < n; i++) {
        unsigned d = (unsigned)s[i] - '0';
        if (d > 9) goto bad;
        if (x > ((unsigned long long)LLONG_MAX - d) / 10) goto range;
        x = x * 10 + d;
    }
    *v = s[0] == '-' ? -(long long)x : (long long)x;
    if (*v < lo || *v > hi) goto range;
    return 0;
range:
    return lx_fail(l, "%s '%s' out of range (%lld to %lld)", what, show(s, n, sb, sizeof sb), lo, hi);
bad:
    return lx_fail(l, "bad %s '%s' (expected an integer)", what, show(s, n, sb, sizeof sb));
}

/* Seconds as digits[.digits], at most 9 decimals, read exactly into ns. */
static int lx_time(lx *l, const char *what, int64_t *ns) {
    int k = lx_next(l);
    if (k < 0) return k;
    if (k == TK_END) return lx_fail(l, "missing %s", what);
    char sb[80];
    const unsigned char *s = l->tok;
    size_t n = l->tlen, i = 0;
    int64_t sec = 0, frac = 0;
    if (k != TK_WORD) goto bad;
    for (; i < n && s[i] != '.'; i++) {
        if (s[i] < '0' || s[i] > '9') goto bad;
        if (sec > (INT64_MAX / 1000000000 - 9) / 10) goto range;
        sec = sec * 10 + (s[i] - '0');
    }
    if (i == 0) goto bad;
    if (i < n) { /* the '.' */
        size_t digits = n - i - 1;
        if (digits == 0) goto bad;
        if (digits > 9) return lx_fail(l, "%s '%s' has more than 9 decimals", what, show(s, n, sb, sizeof sb));
        for (size_t j = i + 1; j < n; j++) {
            if (s[j] < '0' || s[j] > '9') goto bad;
            frac = frac * 10 + (s[j] - '0');
        }
        for (size_t j = digits; j < 9; j++) frac *= 10;
    }
    *ns = sec * 1000000000 + frac;
    return 0;
range:
    return lx_fail(l, "%s '%s' out of range", what, show(s, n, sb, sizeof sb));
bad:
    return lx_fail(l, "bad %s '%s' (expected seconds such as 0.001250000)", what,
                   show(s, n, sb, sizeof sb));
}

/* The version after a header word: it must be want, with nothing after. */
static int lx_version(lx *l, const char *header, const char *kind, int want) {
    int k = lx_next(l);
    if (k < 0) return k;
    if (k == TK_END) return lx_fail(l, "missing version after '%s'", header);
    char sb[80], ws[16];
    int digits = k == TK_WORD && l->tlen > 0;
    for (size_t i = 0; digits && i < l->tlen; i++) digits = l->tok[i] >= '0' && l->tok[i] <= '9';
    if (!digits)
        return lx_fail(l, "bad version '%s' after '%s'", show(l->tok, l->tlen, sb, sizeof sb), header);
    snprintf(ws, sizeof ws, "%d", want);
    if (strcmp((const char *)l->tok, ws) != 0)
        return lx_fail(l, "unsupported %s file version %s (this weft reads version %d)", kind,
                       show(l->tok, l->tlen, sb, sizeof sb), want);
    return lx_end(l, header);
}

/* ------------------------------------------------------------------ */
/* Name index: node name -> id                                         */

typedef struct name_index {
    uint32_t *slot; /* node ids; GR_NONE is empty */
    size_t cap, used;
} name_index;

static uint64_t hash_bytes(const void *data, size_t n) { /* FNV-1a */
    const unsigned char *s = data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

/* Slot of name in the index: holds its id, or GR_NONE where it would go. */
static uint32_t *ni_slot(const name_index *ix, const weft_graph_t *g, const void *name, size_t n) {
    size_t i = hash_bytes(name, n) & (ix->cap - 1);
    for (;; i = (i + 1) & (ix->cap - 1)) {
        uint32_t id = ix->slot[i];
        if (id == GR_NONE) return &ix->slot[i];
        const char *s = gr_name(g, id);
        if (strlen(s) == n && memcmp(s, name, n) == 0) return &ix->slot[i];
    }
}

static int ni_grow(name_index *ix, const weft_graph_t *g) {
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    name_index bigger = {wf_malloc(cap * sizeof(uint32_t)), cap, ix->used};
    if (!bigger.slot) return WEFT_ENOMEM;
    for (size_t i = 0; i < cap; i++) bigger.slot[i] = GR_NONE;
    for (size_t i = 0; i < ix->cap; i++) {
        uint32_t id = ix->slot[i];
        if (id == GR_NONE) continue;
        const char *s = gr_name(g, id);
        *ni_slot(&bigger, g, s, strlen(s)) = id;
    }
    wf_free(ix->slot);
    *ix = bigger;
    return 0;
}

/* Finds name: its id, or GR_NONE. */
static uint32_t ni_find(const name_index *ix, const weft_graph_t *g, const void *name, size_t n) {
    return ix->cap ? *ni_slot(ix, g, name, n) : GR_NONE;
}

/* Adds node id under its name; *other gets the id already there (or
 * GR_NONE, when the name is new). */
static int ni_add(name_index *ix, const weft_graph_t *g, uint32_t id, uint32_t *other) {
    if ((ix->used + 1) * 2 > ix->cap) {
        int rc = ni_grow(ix, g);
        if (rc) return rc;
    }
    const char *s = gr_name(g, id);
    uint32_t *slot = ni_slot(ix, g, s, strlen(s));
    *other = *slot;
    if (*slot == GR_NONE) {
        *slot = id;
        ix->used++;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* String index: key -> position in an array of keys                   */

typedef struct str_index {
    uint32_t *slot; /* positions in keys[]; GR_NONE is empty */
    size_t cap, used;
} str_index;

/* Slot of key: holds its position, or GR_NONE where it would go. */
static uint32_t *si_slot(const str_index *ix, char *const *keys, const char *key) {
    for (size_t i = hash_bytes(key, strlen(key)) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1))
        if (ix->slot[i] == GR_NONE || strcmp(keys[ix->slot[i]], key) == 0) return &ix->slot[i];
}

static uint32_t si_find(const str_index *ix, char *const *keys, const char *key) {
    return ix->cap ? *si_slot(ix, keys, key) : GR_NONE;
}

/* Adds keys[k], which is not in the index yet. */
static int si_add(str_index *ix, char *const *keys, uint32_t k) {
    if ((ix->used + 1) * 2 > ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 32;
        str_index bigger = {wf_malloc(cap * sizeof(uint32_t)), cap, ix->used};
        if (!bigger.slot) return WEFT_ENOMEM;
        for (size_t i = 0; i < cap; i++) bigger.slot[i] = GR_NONE;
        for (size_t i = 0; i < ix->cap; i++)
            if (ix->slot[i] != GR_NONE) *si_slot(&bigger, keys, keys[ix->slot[i]]) = ix->slot[i];
        wf_free(ix->slot);
        *ix = bigger;
    }
    *si_slot(ix, keys, keys[k]) = k;
    ix->used++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Writing tokens                                                      */

/* Writes bytes as a quoted string. Valid UTF-8 is written as it is, every
 * other unprintable byte escaped. */
static void put_quoted(FILE *out, const void *data, size_t n) {
    const unsigned char *s = data;
    putc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        switch (c) {
        case '"': fputs("\\\"", out); continue;
        case '\\': fputs("\\\\", out); continue;
        case '\n': fputs("\\n", out); continue;
        case '\r': fputs("\\r", out); continue;
        case '\t': fputs("\\t", out); continue;
        default: break;
        }
        if (c >= ' ' && c < 0x7f) putc((int)c, out);
        else if (c < 0x80 || !gr_put_utf8(out, s, n, &i)) fprintf(out, "\\x%02x", c);
    }
    putc('"', out);
}

/* A name: a bare word when it reads back the same, else quoted. */
static void put_token(FILE *out, const void *data, size_t n) {
    const unsigned char *s = data;
    int bare = n > 0;
    for (size_t i = 0; i < n && bare; i++) bare = bare_byte(s[i]) && s[i] < 0x80;
    if (bare) fwrite(s, 1, n, out);
    else put_quoted(out, s, n);
}

/* Argument bytes: a quoted string when at most a quarter of them need a
 * \xHH escape, else a hex string. */
static void put_bytes(FILE *out, const void *data, size_t n) {
    const unsigned char *s = data;
    size_t odd = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        size_t u;
        if ((c >= ' ' && c < 0x7f) || c == '\n' || c == '\t' || c == '\r') continue;
        if (c >= 0x80 && (u = gr_utf8_seq(s + i, n - i))) i += u - 1;
        else odd++;
    }
    if (odd * 4 <= n) {
        put_quoted(out, s, n);
        return;
    }
    fputs("x\"", out);
    for (size_t i = 0; i < n; i++) fprintf(out, "%02x", s[i]);
    putc('"', out);
}

static int finish_write(FILE *out) {
    if (fflush(out) != 0 || ferror(out)) {
        wf_set_detail("write error: %s", errno ? strerror(errno) : "unknown");
        return WEFT_EIO;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Graph files: saving                                                 */

/* What a graph file holds besides its top graph: every distinct graph
 * reachable through subgraph nodes, once, children before parents (so that
 * each is defined before a 'subgraph' line uses it), with the identifier of
 * its 'graph' block: its name, or name-2, name-3... when an earlier block
 * took the name. */
typedef struct save_plan {
    const weft_graph_t **gs; /* post-order */
    char **ids;
    size_t n, cap;
    uint32_t *pslot; /* pointer index: gs[] position, or GR_NONE */
    size_t pcap;     /* a power of two, at least 2n */
    str_index ix;    /* identifiers */
} save_plan;

static void sp_free(save_plan *sp) {
    for (size_t i = 0; i < sp->n; i++) wf_free(sp->ids[i]);
    wf_free(sp->gs);
    wf_free(sp->ids);
    wf_free(sp->pslot);
    wf_free(sp->ix.slot);
}

/* Slot of g in the pointer index. */
static uint32_t *sp_pslot(const save_plan *sp, const weft_graph_t *g) {
    for (size_t i = hash_bytes(&g, sizeof g) & (sp->pcap - 1);; i = (i + 1) & (sp->pcap - 1))
        if (sp->pslot[i] == GR_NONE || sp->gs[sp->pslot[i]] == g) return &sp->pslot[i];
}

/* Position of g in the plan, or GR_NONE. */
static uint32_t sp_find(const save_plan *sp, const weft_graph_t *g) {
    return sp->pcap ? *sp_pslot(sp, g) : GR_NONE;
}

/* Room for one more graph (the pointer index rebuilt when it grows). */
static int sp_reserve(save_plan *sp) {
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
    if ((sp->n + 1) * 2 <= sp->pcap) return 0;
    size_t pcap = sp->pcap ? sp->pcap * 2 : 32;
    uint32_t *ps = wf_malloc(pcap * sizeof *ps);
    if (!ps) return WEFT_ENOMEM;
    wf_free(sp->pslot);
    sp->pslot = ps;
    sp->pcap = pcap;
    for (size_t i = 0; i < pcap; i++) ps[i] = GR_NONE;
    for (uint32_t k = 0; k < sp->n; k++) *sp_pslot(sp, sp->gs[k]) = k;
    return 0;
}

/* Appends g with a fresh identifier. */
static int sp_add(save_plan *sp, const weft_graph_t *g) {
    int rc = sp_reserve(sp);
    if (rc) return rc;
    size_t len = strlen(g->name);
    char *id = wf_malloc(len + 32);
    if (!id) return WEFT_ENOMEM;
    memcpy(id, g->name, len + 1);
    for (unsigned long k = 2; si_find(&sp->ix, sp->ids, id) != GR_NONE; k++) {
        if (len + 24 <= WEFT_NAME_MAX) snprintf(id + len, 32, "-%lu", k);
        else snprintf(id, len + 32, "graph-%lu", k); /* no room for a suffix */
    }
    uint32_t k = (uint32_t)sp->n;
    sp->gs[k] = g;
    sp->ids[k] = id;
    if ((rc = si_add(&sp->ix, sp->ids, k))) {
        wf_free(id);
        return rc;
    }
    sp->n++;
    *sp_pslot(sp, g) = k;
    return 0;
}

/* Adds g's subgraphs, and theirs, children first (graphs nest acyclically:
 * weft_graph_add_subgraph refuses cycles). */
static int sp_visit(save_plan *sp, const weft_graph_t *g) {
    const gr_extra *ex = g->extras.data;
    for (size_t i = 0; i < g->extras.len; i++) {
        const weft_graph_t *sub = ex[i].sub;
        if (ex[i].kind != GR_SUB || sp_find(sp, sub) != GR_NONE) continue;
        int rc = sp_visit(sp, sub);
        if (!rc) rc = sp_add(sp, sub);
        if (rc) return rc;
    }
    return 0;
}

/* Every node of g a named task or a subgraph node, every name unique:
 * 0 or WEFT_ENOTSUP/ENOMEM. top: g is the file's top graph (messages name
 * the other graphs). */
static int check_savable(const weft_graph_t *g, int top) {
    size_t n = g->nodes.len;
    char sb[80], gb[100];
    gb[0] = 0;
    if (!top) snprintf(gb, sizeof gb, " of subgraph '%s'", show(g->name, strlen(g->name), sb, sizeof sb));
    for (size_t v = 0; v < n; v++) {
        const gr_extra *e = gr_extra_of(g, (weft_node_t)v);
        const char *name = gr_name(g, (weft_node_t)v);
        if (e && (e->kind == GR_TASK || e->kind == GR_SUB)) continue;
        wf_set_detail("node '%s'%s runs a C function: graph files hold named-task and subgraph nodes only",
                     show(name, strlen(name), sb, sizeof sb), gb);
        return WEFT_ENOTSUP;
    }
    name_index ix = {0};
    int rc = 0;
    for (size_t v = 0; v < n && !rc; v++) {
        uint32_t other;
        if ((rc = ni_add(&ix, g, (uint32_t)v, &other))) break;
        if (other != GR_NONE) {
            const char *name = gr_name(g, (weft_node_t)v);
            wf_set_detail("nodes %u and %zu%s are both called '%s': names must be unique in a graph file",
                         other, v, gb, show(name, strlen(name), sb, sizeof sb));
            rc = WEFT_ENOTSUP;
        }
    }
    wf_free(ix.slot);
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
        fprintf(out, "%s%s ", pad, e->kind == GR_SUB ? "subgraph" : "node");
        put_token(out, name, strlen(name));
        putc(' ', out);
        put_token(out, what, strlen(what));
        if (e->len) {
            putc(' ', out);
            put_bytes(out, e->bytes, e->len);
        }
        putc('\n', out);
    }
    if (m && *pad == 0) putc('\n', out);
    /* esrc/edst hold every edge in the order it was added: predecessors'
     * inputs (weft_node_input) keep their order through the file */
    const uint32_t *src = g->esrc.data, *dst = g->edst.data;
    for (size_t i = 0; i < m; i++) {
        const char *a = gr_name(g, src[i]), *b = gr_name(g, dst[i]);
        fprintf(out, "%sedge ", pad);
        put_token(out, a, strlen(a));
        putc(' ', out);
        put_token(out, b, strlen(b));
        putc('\n', out);
    }
}

static void write_graph(const weft_graph_t *g, const save_plan *sp, FILE *out) {
    size_t n = g->nodes.len, m = g->esrc.len;
    fprintf(out, "# weft graph file: %zu nodes, %zu edges", n, m);
    if (sp->n) fprintf(out, ", %zu subgraph%s defined first", sp->n, sp->n == 1 ? "" : "s");
    fprintf(out, "\nweft-graph %d\n", GRAPH_VERSION);
    fputs("name ", out);
    put_token(out, g->name, strlen(g->name));
    putc('\n', out);
    for (size_t k = 0; k < sp->n; k++) { /* children before parents */
        const weft_graph_t *sub = sp->gs[k];
        fputs("\ngraph ", out);
        put_token(out, sp->ids[k], strlen(sp->ids[k]));
        putc('\n', out);
        if (strcmp(sp->ids[k], sub->name) != 0) {
            fputs("  name ", out);
            put_token(out, sub->name, strlen(sub->name));
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
    return finish_write(out);
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

/* ------------------------------------------------------------------ */
/* Graph files: loading                                                */

/* Where node, subgraph, edge and name lines go: the top graph, or the
 * graph of the open 'graph' block. */
typedef struct ld_ctx {
    weft_graph_t *g;
    name_index ix; /* its node names */
    int named;     /* a 'name' line seen */
    int content;   /* a node, subgraph or edge line seen */
} ld_ctx;

/* A graph defined by a 'graph' block: made at its 'graph' line or at the
 * first 'subgraph' line that uses it, whichever comes first. */
typedef struct ld_block {
    long defined;       /* line of its 'graph' line; 0 while only used */
    long used;          /* line of its first use, or 0 */
    weft_graph_t *user; /* the graph and node of that use */
    uint32_t user_node;
} ld_block;

typedef struct loader {
    lx l;
    ld_ctx top, blk, *cur;
    uint32_t open;       /* the open block, or GR_NONE */
    char **bid;          /* block identifiers */
    weft_graph_t **bg;   /* their graphs, owned by the top graph once loaded */
    ld_block *blocks;
    size_t nblocks, bcap;
    str_index bix;       /* identifier -> block */
    uint32_t *ids;       /* an edge line's nodes */
    size_t nids, idcap;
} loader;

static int ld_name(loader *ld) {
    lx *l = &ld->l;
    ld_ctx *c = ld->cur;
    if (c->content) return lx_fail(l, "'name' must come before the first node or edge");
    if (c->named) return lx_fail(l, "duplicate 'name' line");
    c->named = 1;
    int k = lx_name(l, "graph name", 0);
    if (k < 0) return k;
    int rc = gr_graph_rename(c->g, (const char *)l->tok);
    return rc ? rc : lx_end(l, "name");
}

/* The block called id (l->tok must not hold it: the lexer may move on), made
 * when new. */
static int ld_block_get(loader *ld, const char *id, uint32_t *b) {
    *b = si_find(&ld->bix, ld->bid, id);
    if (*b != GR_NONE) return 0;
    if (ld->nblocks == ld->bcap) {
        size_t cap = ld->bcap ? ld->bcap * 2 : 8;
        char **bid = wf_realloc(ld->bid, cap * sizeof *bid);
        if (!bid) return WEFT_ENOMEM;
        ld->bid = bid;
        weft_graph_t **bg = wf_realloc(ld->bg, cap * sizeof *bg);
        if (!bg) return WEFT_ENOMEM;
        ld->bg = bg;
        ld_block *blocks = wf_realloc(ld->blocks, cap * sizeof *blocks);
        if (!blocks) return WEFT_ENOMEM;
        ld->blocks = blocks;
        ld->bcap = cap;
    }
    uint32_t k = (uint32_t)ld->nblocks;
    if (!(ld->bid[k] = wf_strdup(id))) return WEFT_ENOMEM;
    int rc = weft_graph_create(id, &ld->bg[k]);
    if (!rc) rc = si_add(&ld->bix, ld->bid, k);
    if (rc) {
        if (ld->bg[k]) weft_graph_free(ld->bg[k]);
        wf_free(ld->bid[k]);
        return rc == WEFT_ENOMEM ? rc : lx_fail(&ld->l, "cannot create graph (%s)", weft_strerror(rc));
    }
    memset(&ld->blocks[k], 0, sizeof ld->blocks[k]);
    ld->nblocks++;
    *b = k;
    return 0;
}

/* "graph ID": opens the block that defines graph ID. */
static int ld_open(loader *ld) {
    lx *l = &ld->l;
    char sb[80];
    if (ld->open != GR_NONE) {
        const char *id = ld->bid[ld->open];
        return lx_fail(l, "'graph' blocks cannot nest: graph '%s' (line %ld) is still open",
                       show(id, strlen(id), sb, sizeof sb), ld->blocks[ld->open].defined);
    }
    int k = lx_name(l, "graph name", 0);
    if (k < 0) return k;
    char id[WEFT_NAME_MAX + 1];
    memcpy(id, l->tok, l->tlen + 1);
    int rc = lx_end(l, "graph");
    uint32_t b;
    if (rc || (rc = ld_block_get(ld, id, &b))) return rc;
    if (ld->blocks[b].defined)
        return lx_fail(l, "duplicate graph '%s' (defined on line %ld)", show(id, strlen(id), sb, sizeof sb),
                       ld->blocks[b].defined);
    ld->blocks[b].defined = l->line;
    ld->open = b;
    ld->blk = (ld_ctx){.g = ld->bg[b]};
    ld->cur = &ld->blk;
    return 0;
}

/* "end": closes the open block. */
static int ld_close(loader *ld) {
    lx *l = &ld->l;
    if (ld->open == GR_NONE) return lx_fail(l, "'end' without a 'graph' block");
    int rc = lx_end(l, "end");
    if (rc) return rc;
    wf_free(ld->blk.ix.slot);
    ld->blk = (ld_ctx){0};
    ld->open = GR_NONE;
    ld->cur = &ld->top;
    return 0;
}

/* The node name starting a node or subgraph line, into name (nlen bytes):
 * new in its graph. */
static int ld_node_name(loader *ld, char *name, size_t *nlen) {
    lx *l = &ld->l;
    char sb[80];
    int k = lx_name(l, "node name", 1);
    if (k < 0) return k;
    *nlen = l->tlen;
    memcpy(name, l->tok, l->tlen + 1);
    if (ni_find(&ld->cur->ix, ld->cur->g, name, *nlen) != GR_NONE)
        return lx_fail(l, "duplicate node name '%s'", show(name, *nlen, sb, sizeof sb));
    return 0;
}

/* The optional argument bytes ending a node or subgraph line: TK_END (none),
 * TK_STRING or TK_HEX with the bytes in l->tok, or a negative error. */
static int ld_arg(loader *ld) {
    lx *l = &ld->l;
    char sb[80];
    int k = lx_next(l);
    if (k == TK_WORD)
        return lx_fail(l, "argument bytes must be a quoted or hex string, not the bare word '%s'",
                       show(l->tok, l->tlen, sb, sizeof sb));
    return k;
}

/* Maps an error of adding node name to its message. */
static int ld_add_failed(loader *ld, int rc, const char *name, size_t nlen) {
    char sb[80];
    if (rc == WEFT_ENOMEM) return rc;
    if (rc == WEFT_ERANGE) return lx_fail(&ld->l, "too many nodes or names in one graph");
    return lx_fail(&ld->l, "cannot add node '%s' (%s)", show(name, nlen, sb, sizeof sb), weft_strerror(rc));
}

static int ld_node(loader *ld) {
    lx *l = &ld->l;
    char name[WEFT_NAME_MAX + 1], task[WEFT_NAME_MAX + 1];
    size_t nlen;
    ld->cur->content = 1;
    int k, rc = ld_node_name(ld, name, &nlen);
    if (rc) return rc;
    if ((k = lx_name(l, "task name", 0)) < 0) return k;
    memcpy(task, l->tok, l->tlen + 1);
    if ((k = ld_arg(ld)) < 0) return k;
    size_t len = k == TK_END ? 0 : l->tlen;
    weft_node_t v;
    rc = weft_graph_add_task(ld->cur->g, name, task, len ? l->tok : NULL, len, &v);
    if (rc) return ld_add_failed(ld, rc, name, nlen);
    uint32_t other;
    if ((rc = ni_add(&ld->cur->ix, ld->cur->g, v, &other))) return rc;
    return k == TK_END ? 0 : lx_end(l, "node");
}

/* "subgraph NAME GRAPH [ARG]": a node running graph GRAPH, defined by a
 * 'graph' block above or below. */
static int ld_subgraph(loader *ld) {
    lx *l = &ld->l;
    char name[WEFT_NAME_MAX + 1], id[WEFT_NAME_MAX + 1], sb[80], sb2[80];
    size_t nlen;
    ld_ctx *c = ld->cur;
    c->content = 1;
    int k, rc = ld_node_name(ld, name, &nlen);
    if (rc) return rc;
    if ((k = lx_name(l, "graph name", 0)) < 0) return k;
    memcpy(id, l->tok, l->tlen + 1);
    uint32_t b;
    if ((rc = ld_block_get(ld, id, &b))) return rc;
    if ((k = ld_arg(ld)) < 0) return k;
    if (ld->bg[b] == c->g)
        return lx_fail(l, "subgraph node '%s' puts graph '%s' inside itself", show(name, nlen, sb, sizeof sb),
                       show(id, strlen(id), sb2, sizeof sb2));
    weft_node_t v;
    rc = weft_graph_add_subgraph(c->g, name, ld->bg[b], &v);
    if (rc == WEFT_ECYCLE) { /* only a block can be inside another: this is one */
        const char *in = ld->open != GR_NONE ? ld->bid[ld->open] : c->g->name;
        char sb3[80];
        return lx_fail(l, "subgraph node '%s' makes a cycle: graph '%s' already contains graph '%s'",
                       show(name, nlen, sb, sizeof sb), show(id, strlen(id), sb2, sizeof sb2),
                       show(in, strlen(in), sb3, sizeof sb3));
    }
    if (rc) return ld_add_failed(ld, rc, name, nlen);
    if (k != TK_END && l->tlen && (rc = weft_graph_set_arg(c->g, v, l->tok, l->tlen))) return rc;
    uint32_t other;
    if ((rc = ni_add(&c->ix, c->g, v, &other))) return rc;
    ld_block *blk = &ld->blocks[b];
    if (!blk->used) {
        blk->used = l->line;
        blk->user = c->g;
        blk->user_node = v;
    }
    return k == TK_END ? 0 : lx_end(l, "subgraph");
}

static int ld_edge(loader *ld) {
    lx *l = &ld->l;
    char sb[80];
    ld_ctx *c = ld->cur;
    c->content = 1;
    ld->nids = 0;
    for (;;) {
        int k = lx_next(l);
        if (k < 0) return k;
        if (k == TK_END) break;
        uint32_t id = ni_find(&c->ix, c->g, l->tok, l->tlen);
        if (id == GR_NONE)
            return lx_fail(l, "edge %s unknown node '%s'", ld->nids ? "to" : "from",
                           show(l->tok, l->tlen, sb, sizeof sb));
        if (ld->nids == ld->idcap) {
            size_t cap = ld->idcap ? ld->idcap * 2 : 8;
            uint32_t *ids = wf_malloc(cap * sizeof *ids);
            if (!ids) return WEFT_ENOMEM;
            if (ld->nids) memcpy(ids, ld->ids, ld->nids * sizeof *ids);
            wf_free(ld->ids);
            ld->ids = ids;
            ld->idcap = cap;
        }
        ld->ids[ld->nids++] = id;
    }
    if (ld->nids < 2) return lx_fail(l, "'edge' needs at least two node names");
    for (size_t i = 0; i + 1 < ld->nids; i++) {
        int rc = weft_graph_precede(c->g, ld->ids[i], ld->ids[i + 1]);
        if (rc == WEFT_ENOMEM) return rc;
        if (rc == WEFT_ERANGE) return lx_fail(l, "too many edges in one graph");
        if (rc) return lx_fail(l, "cannot add the edge (%s)", weft_strerror(rc));
    }
    return 0;
}

/* After the last line: every block closed, every used graph defined. */
static int ld_finish(loader *ld) {
    lx *l = &ld->l;
    char sb[80], sb2[80];
    if (ld->open != GR_NONE) {
        const char *id = ld->bid[ld->open];
        l->line = ld->blocks[ld->open].defined;
        return lx_fail(l, "graph '%s' is not closed: 'end' is missing", show(id, strlen(id), sb, sizeof sb));
    }
    for (size_t b = 0; b < ld->nblocks; b++) { /* made in line order: the first is the earliest */
        const ld_block *blk = &ld->blocks[b];
        if (blk->defined) continue;
        const char *node = gr_name(blk->user, blk->user_node), *id = ld->bid[b];
        l->line = blk->used;
        return lx_fail(l, "subgraph node '%s' uses graph '%s', which the file does not define",
                       show(node, strlen(node), sb, sizeof sb), show(id, strlen(id), sb2, sizeof sb2));
    }
    return gr_graph_adopt(ld->top.g, ld->bg, ld->nblocks);
}

/* One directive line after the header. */
static int ld_directive(loader *ld, int k) {
    lx *l = &ld->l;
    char sb[80];
    if (tok_is(l, k, "node")) return ld_node(ld);
    if (tok_is(l, k, "edge")) return ld_edge(ld);
    if (tok_is(l, k, "subgraph")) return ld_subgraph(ld);
    if (tok_is(l, k, "graph")) return ld_open(ld);
    if (tok_is(l, k, "end")) return ld_close(ld);
    if (tok_is(l, k, "name")) return ld_name(ld);
    if (tok_is(l, k, "weft-graph")) return lx_fail(l, "duplicate 'weft-graph' header");
    return lx_fail(l, "unknown directive '%s'", show(l->tok, l->tlen, sb, sizeof sb));
}

int weft_graph_load(FILE *in, weft_graph_t **out) {
    if (out) *out = NULL;
    wf_set_detail("%s", "");
    if (!in || !out) {
        wf_set_detail("weft_graph_load: the %s is NULL", in ? "result pointer" : "stream");
        return WEFT_EINVAL;
    }
    loader ld = {.l = {.in = in}, .open = GR_NONE};
    ld.cur = &ld.top;
    lx *l = &ld.l;
    int header = 0, rc;
    while ((rc = lx_read_line(l)) == 1) {
        int k = lx_next(l);
        if (k < 0) {
            rc = k;
            break;
        }
        if (k == TK_END) continue; /* blank or comment */
        if (k != TK_WORD) {
            rc = lx_fail(l, "expected a directive at the start of the line, found a quoted string");
            break;
        }
        char sb[80];
        if (header) rc = ld_directive(&ld, k);
        else if (tok_is(l, k, "weft-graph")) {
            if (!(rc = lx_version(l, "weft-graph", "graph", GRAPH_VERSION))) {
                header = 1;
                rc = weft_graph_create(NULL, &ld.top.g);
            }
        } else if (tok_is(l, k, "weft-run"))
            rc = lx_fail(l, "this is a run file ('weft-run'), not a graph file");
        else
            rc = lx_fail(l, "missing 'weft-graph %d' header (found '%s' first)", GRAPH_VERSION,
                         show(l->tok, l->tlen, sb, sizeof sb));
        if (rc) break;
    }
    if (rc == 0) {
        if (!header) {
            l->line++;
            rc = lx_fail(l, "missing 'weft-graph %d' header (the file has no directives)", GRAPH_VERSION);
        } else {
            rc = ld_finish(&ld);
        }
    }
    if (rc == WEFT_ENOMEM) wf_set_detail("line %ld: out of memory", l->line);
    if (rc) gr_graphs_destroy(ld.top.g, ld.bg, ld.nblocks); /* nothing half-loaded survives */
    else *out = ld.top.g;
    lx_free(l);
    wf_free(ld.top.ix.slot);
    wf_free(ld.blk.ix.slot);
    for (size_t b = 0; b < ld.nblocks; b++) wf_free(ld.bid[b]);
    wf_free(ld.bid);
    wf_free(ld.bg);
    wf_free(ld.blocks);
    wf_free(ld.bix.slot);
    wf_free(ld.ids);
    return rc;
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


/* ------------------------------------------------------------------ */
/* Run files                                                           */

static void put_ns(FILE *out, int64_t ns) {
    if (ns < 0) ns = 0;
    fprintf(out, "%lld.%09lld", (long long)(ns / 1000000000), (long long)(ns % 1000000000));
}

/* The sub-run of subgraph node extra x that a run file carries: complete
 * and of its graph's current version (as weft_graph_dot draws it), or NULL
 * when the node has none. */
static const weft_run_t *saved_subrun(const weft_run_t *run, uint32_t x) {
    if (!run->subruns || x >= run->nextras) return NULL;
    weft_run_t *s = atomic_load(&((weft_run_t *)run)->subruns[x]);
    if (!s || gr_run_valid(s) != 0) return NULL;
    return atomic_load_explicit(&s->state, memory_order_acquire) == 1 ? NULL : s;
}

/* The lines of run, indented by depth levels of two spaces, then a
 * 'subrun' block per subgraph node with a sub-run, recursively. parent is
 * the enclosing run (NULL at the top), whose start 'start' is relative to. */
static void write_run(const weft_run_t *run, const weft_run_t *parent, int depth, FILE *out) {
    weft_run_t *r = (weft_run_t *)run; /* its atomics are read, never written */
    const weft_graph_t *g = run->g;
    size_t n = run->n;
    int pad = 2 * depth;
    if (parent) {
        fprintf(out, "%*sstart ", pad, "");
        put_ns(out, run->t0 - parent->t0);
        putc('\n', out);
    }
    fprintf(out, "%*sgraph ", pad, "");
    put_token(out, g->name, strlen(g->name));
    fprintf(out, "\n%*snodes %zu\n%*srecorded %s\n%*swall ", pad, "", n, pad, "",
            run->record ? "yes" : "no", pad, "");
    put_ns(out, atomic_load(&r->t1) ? atomic_load(&r->t1) - run->t0 : 0);
    gr_sums sums;
    gr_run_sums(r, &sums);
    fprintf(out, "\n%*scounts %llu %llu %llu %llu\n", pad, "", (unsigned long long)sums.done,
            (unsigned long long)sums.failed, (unsigned long long)sums.skipped,
            (unsigned long long)sums.cancelled);
    uint32_t ff = atomic_load(&r->first_failed);
    if (ff != GR_NONE && ff < n) {
        fprintf(out, "%*sfirst-failed %u ", pad, "", ff);
        put_token(out, gr_name(g, ff), strlen(gr_name(g, ff)));
        putc('\n', out);
    }
    for (int w = 0; w < WEFT_MAX_WORKERS; w++) {
        unsigned long long nodes = atomic_load(&r->wcount[w].done) + atomic_load(&r->wcount[w].failed);
        if (!nodes) continue;
        fprintf(out, "%*sworker %d %llu ", pad, "", w, nodes);
        put_ns(out, (int64_t)atomic_load(&r->wcount[w].busy_ns));
        putc('\n', out);
    }
    if (!parent) fputs("\n# node ID NAME STATUS CODE [START END WORKER]\n", out);
    for (size_t v = 0; v < n; v++) {
        int st = atomic_load_explicit(&r->status[v], memory_order_acquire);
        const char *name = gr_name(g, (weft_node_t)v);
        fprintf(out, "%*snode %zu ", pad, "", v);
        put_token(out, name, strlen(name));
        fprintf(out, " %s %d", weft_node_status_name(st),
                st == WEFT_NODE_FAILED ? r->codes[v] : 0);
        if (run->record && run->t_end[v]) {
            putc(' ', out);
            put_ns(out, run->t_start[v] - run->t0);
            putc(' ', out);
            put_ns(out, run->t_end[v] - run->t0);
            fprintf(out, " %d", run->t_worker[v]);
        }
        putc('\n', out);
    }
    for (size_t v = 0; v < n; v++) { /* sub-runs, in node order */
        const gr_extra *e = gr_extra_of(g, (weft_node_t)v);
        const weft_run_t *s = e && e->kind == GR_SUB ? saved_subrun(run, gr_nodes(g)[v].extra) : NULL;
        if (!s) continue;
        const char *name = gr_name(g, (weft_node_t)v);
        fprintf(out, "\n%*ssubrun %zu ", pad, "", v);
        put_token(out, name, strlen(name));
        putc('\n', out);
        write_run(s, run, depth + 1, out);
        fprintf(out, "%*send\n", pad, "");
    }
}

int weft_run_save(const weft_run_t *run, FILE *out) {
    wf_set_detail("%s", "");
    int rc = gr_run_valid(run);
    if (rc || !out) {
        wf_set_detail("weft_run_save: %s", rc == WEFT_ESTALE ? "the graph changed since this run"
                                          : rc              ? "the run is NULL or invalid"
                                                            : "the stream is NULL");
        return rc ? rc : WEFT_EINVAL;
    }
    if (atomic_load_explicit(&((weft_run_t *)run)->state, memory_order_acquire) == 1) {
        wf_set_detail("weft_run_save: the run is still running");
        return WEFT_EBUSY;
    }
    errno = 0;
    fputs("# weft run file (format: graph/FORMAT.md)\n", out);
    fprintf(out, "weft-run %d\n", RUN_VERSION);
    write_run(run, NULL, 0, out);
    return finish_write(out);
}

/* Loading a run file. Each run being loaded, the file's own and those of
 * the 'subrun' blocks open around the current line, has a run_loader on a
 * stack: a 'subrun' line pushes one (its run record made at once and hung
 * in the enclosing run's subruns[], so that freeing the top run frees every
 * sub-run, however far the load got), 'end' finishes and pops it. Times are
 * read relative to each run's own start; once the whole file is read,
 * rl_place puts every run on the top run's clock, parents before
 * children. */
typedef struct run_loader {
    lx *l;
    weft_graph_t *g;
    weft_run_t *run;
    unsigned char *seen;        /* node lines seen, per node */
    long *sublines;             /* per extra: line of its 'subrun' block, or 0 */
    int recorded;               /* -1 unknown, 0 no, 1 yes */
    long timing_line;           /* first node line with timings, or 0 */
    int64_t wall;               /* -1: no 'wall' line */
    int64_t start;              /* -1: no 'start' line */
    int have_counts, have_graph, have_nodes;
    long counts_line, first_line;
    long open_line;             /* the block's 'subrun' line; 0 for the file's run */
    uint32_t node;              /* the enclosing run's node it belongs to */
    size_t place;               /* its entry in rl_loading.places */
    uint64_t counts[4];         /* done, failed, skipped, cancelled from 'counts' */
    uint64_t found[4];          /* the same from the node lines */
    uint32_t first;             /* from 'first-failed', or GR_NONE */
    int any_worker;
    unsigned char wseen[WEFT_MAX_WORKERS];
} run_loader;

/* Where a loaded run goes on the top run's clock. */
typedef struct rl_place {
    weft_run_t *run;
    size_t parent;  /* entry of the enclosing run (entry 0, the top, has none) */
    int64_t start;  /* from 'start': after the enclosing run's start */
    int64_t span;   /* its latest time after its own start: wall, node ends */
    int64_t t0;     /* its start on the top run's clock, once placed */
    long line;      /* its 'subrun' line */
} rl_place;

typedef struct rl_loading {
    lx l;
    gr_vec stack;   /* run_loader *: the runs of the open blocks, the file's first */
    gr_vec places;  /* rl_place: every run, in the order their blocks open */
} rl_loading;

static run_loader *rl_top(const rl_loading *ld) {
    return ((run_loader **)ld->stack.data)[ld->stack.len - 1];
}

static void rl_frame_free(run_loader *rl) {
    wf_free(rl->seen);
    wf_free(rl->sublines);
    wf_free(rl);
}

/* Starts loading a run of g: the file's own (parent NULL), or the sub-run of
 * subgraph node `node` (extra x) of parent's run, whose block opens on the
 * current line. *top gets the file's run. */
static int rl_push(rl_loading *ld, weft_graph_t *g, run_loader *parent, uint32_t node, uint32_t x,
                   weft_run_t **top) {
    int rc = gr_vec_reserve(&ld->stack, sizeof(run_loader *), ld->stack.len + 1);
    if (!rc) rc = gr_vec_reserve(&ld->places, sizeof(rl_place), ld->places.len + 1);
    if (rc) return rc;
    run_loader *rl = wf_calloc(1, sizeof *rl);
    if (!rl) return WEFT_ENOMEM;
    if ((rc = gr_run_alloc(g, 1, &rl->run))) {
        wf_free(rl);
        return rc;
    }
    if (parent) { /* hung in at once: freed with the top run whatever happens */
        atomic_store(&parent->run->subruns[x], rl->run);
        parent->sublines[x] = ld->l.line;
    } else {
        *top = rl->run;
    }
    ((run_loader **)ld->stack.data)[ld->stack.len++] = rl;
    rl->l = &ld->l;
    rl->g = g;
    rl->recorded = -1;
    rl->wall = rl->start = -1;
    rl->first = GR_NONE;
    rl->node = node;
    rl->open_line = parent ? ld->l.line : 0;
    rl->place = ld->places.len;
    ((rl_place *)ld->places.data)[ld->places.len++] =
        (rl_place){.run = rl->run, .parent = parent ? parent->place : 0, .line = rl->open_line};
    rl->seen = wf_calloc(rl->run->n ? rl->run->n : 1, 1);
    if (!rl->seen) return WEFT_ENOMEM;
    if (g->extras.len && !(rl->sublines = wf_calloc(g->extras.len, sizeof *rl->sublines)))
        return WEFT_ENOMEM;
    return 0;
}

/* "ID NAME": an existing node of g, called NAME there. */
static int rl_node_ref(run_loader *rl, uint32_t *id) {
    lx *l = rl->l;
    char sb[80], sb2[80];
    uint64_t v = 0;
    int rc = lx_uint(l, "node id", UINT64_MAX, &v);
    if (rc) return rc;
    if (v >= rl->run->n)
        return lx_fail(l, "node %llu does not exist in graph '%s' (it has %zu nodes)",
                       (unsigned long long)v, show(rl->g->name, strlen(rl->g->name), sb, sizeof sb),
                       rl->run->n);
    int k = lx_name(l, "node name", 1);
    if (k < 0) return k;
    const char *name = gr_name(rl->g, (weft_node_t)v);
    if (strlen(name) != l->tlen || memcmp(name, l->tok, l->tlen) != 0)
        return lx_fail(l, "node %llu is called '%s' in the graph, not '%s'", (unsigned long long)v,
                       show(name, strlen(name), sb, sizeof sb), show(l->tok, l->tlen, sb2, sizeof sb2));
    *id = (uint32_t)v;
    return 0;
}

static int rl_node(run_loader *rl) {
    lx *l = rl->l;
    weft_run_t *run = rl->run;
    uint32_t v;
    int rc = rl_node_ref(rl, &v);
    if (rc) return rc;
    if (rl->seen[v]) return lx_fail(l, "duplicate line for node %u", v);
    rl->seen[v] = 1;
    int k = lx_next(l);
    if (k < 0) return k;
    if (k == TK_END) return lx_fail(l, "missing node status");
    int st = -1;
    for (int s = WEFT_NODE_PENDING; s <= WEFT_NODE_RUNNING; s++)
        if (tok_is(l, k, weft_node_status_name(s))) st = s;
    char sb[80];
    if (st < 0)
        return lx_fail(l, "bad node status '%s' (pending, done, failed, skipped, cancelled or running)",
                       show(l->tok, l->tlen, sb, sizeof sb));
    long long code;
    if ((rc = lx_int(l, "code", INT_MIN, INT_MAX, &code))) return rc;
    if (st == WEFT_NODE_FAILED && code == 0) return lx_fail(l, "a failed node needs a nonzero code");
    if (st != WEFT_NODE_FAILED && code != 0)
        return lx_fail(l, "the code of a %s node must be 0, not %lld", weft_node_status_name(st), code);
    if (lx_more(l)) { /* START END WORKER */
        if (st != WEFT_NODE_DONE && st != WEFT_NODE_FAILED)
            return lx_fail(l, "a %s node did not run: it has no times", weft_node_status_name(st));
        if (rl->recorded == 0) return lx_fail(l, "times given in a run that was not recorded");
        int64_t t0, t1;
        long long w;
        if ((rc = lx_time(l, "start time", &t0)) || (rc = lx_time(l, "end time", &t1)) ||
            (rc = lx_int(l, "worker", -1, WEFT_MAX_WORKERS - 1, &w)))
            return rc;
        if (t1 < t0) return lx_fail(l, "end time before start time");
        if (t1 == 0) return lx_fail(l, "end time must be after the run's start (above 0)");
        run->t_start[v] = t0;
        run->t_end[v] = t1;
        run->t_worker[v] = (int16_t)w;
        if (!rl->timing_line) rl->timing_line = l->line;
        if ((rc = lx_end(l, "node"))) return rc;
    }
    atomic_store(&run->status[v], (unsigned char)st);
    if (st == WEFT_NODE_FAILED) run->codes[v] = (int)code;
    if (st >= WEFT_NODE_DONE && st <= WEFT_NODE_CANCELLED) rl->found[st - WEFT_NODE_DONE]++;
    return 0;
}

/* "subrun ID NAME": opens the block of node ID's sub-run. */
static int rl_open(rl_loading *ld, run_loader *rl) {
    lx *l = rl->l;
    char sb[80];
    uint32_t v;
    int rc = rl_node_ref(rl, &v);
    if (rc) return rc;
    const gr_extra *e = gr_extra_of(rl->g, v);
    const char *name = gr_name(rl->g, v);
    if (!e || e->kind != GR_SUB)
        return lx_fail(l, "node %u '%s' is not a subgraph node: only subgraph nodes have sub-runs", v,
                       show(name, strlen(name), sb, sizeof sb));
    if ((rc = lx_end(l, "subrun"))) return rc;
    uint32_t x = gr_nodes(rl->g)[v].extra;
    if (rl->sublines[x])
        return lx_fail(l, "duplicate 'subrun' block for node %u '%s' (the first is on line %ld)", v,
                       show(name, strlen(name), sb, sizeof sb), rl->sublines[x]);
    weft_run_t *unused;
    return rl_push(ld, e->sub, rl, v, x, &unused);
}

static int rl_finish(rl_loading *ld, run_loader *rl);

/* "end": finishes the sub-run of the innermost open block. */
static int rl_close(rl_loading *ld, run_loader *rl) {
    if (ld->stack.len < 2) return lx_fail(rl->l, "'end' without a 'subrun' block");
    int rc = lx_end(rl->l, "end");
    if (!rc) rc = rl_finish(ld, rl);
    if (rc) return rc;
    ld->stack.len--;
    rl_frame_free(rl);
    return 0;
}

static int rl_directive(rl_loading *ld, int k) {
    run_loader *rl = rl_top(ld);
    lx *l = rl->l;
    weft_run_t *run = rl->run;
    char sb[80], sb2[80];
    int rc;
    if (tok_is(l, k, "node")) return rl_node(rl);
    if (tok_is(l, k, "subrun")) return rl_open(ld, rl);
    if (tok_is(l, k, "end")) return rl_close(ld, rl);
    if (tok_is(l, k, "start")) {
        if (!rl->open_line) return lx_fail(l, "'start' belongs in a 'subrun' block");
        if (rl->start >= 0) return lx_fail(l, "duplicate 'start' line");
        if ((rc = lx_time(l, "start time", &rl->start))) return rc;
        return lx_end(l, "start");
    }
    if (tok_is(l, k, "graph")) {
        if (rl->have_graph) return lx_fail(l, "duplicate 'graph' line");
        rl->have_graph = 1;
        if ((k = lx_name(l, "graph name", 0)) < 0) return k;
        if (strcmp((const char *)l->tok, rl->g->name) != 0 || memchr(l->tok, 0, l->tlen))
            return lx_fail(l, "the run file is for graph '%s', not '%s'",
                           show(l->tok, l->tlen, sb, sizeof sb),
                           show(rl->g->name, strlen(rl->g->name), sb2, sizeof sb2));
        return lx_end(l, "graph");
    }
    if (tok_is(l, k, "nodes")) {
        if (rl->have_nodes) return lx_fail(l, "duplicate 'nodes' line");
        rl->have_nodes = 1;
        uint64_t n;
        if ((rc = lx_uint(l, "node count", UINT64_MAX, &n))) return rc;
        if (n != run->n)
            return lx_fail(l, "the run file has %llu nodes, graph '%s' has %zu", (unsigned long long)n,
                           show(rl->g->name, strlen(rl->g->name), sb, sizeof sb), run->n);
        return lx_end(l, "nodes");
    }
    if (tok_is(l, k, "recorded")) {
        if (rl->recorded >= 0) return lx_fail(l, "duplicate 'recorded' line");
        if ((k = lx_next(l)) < 0) return k;
        if (tok_is(l, k, "yes")) rl->recorded = 1;
        else if (tok_is(l, k, "no")) rl->recorded = 0;
        else return lx_fail(l, "'recorded' must be followed by yes or no");
        if (rl->recorded == 0 && rl->timing_line)
            return lx_fail(l, "'recorded no', but line %ld gives times", rl->timing_line);
        return lx_end(l, "recorded");
    }
    if (tok_is(l, k, "wall")) {
        if (rl->wall >= 0) return lx_fail(l, "duplicate 'wall' line");
        if ((rc = lx_time(l, "wall time", &rl->wall))) return rc;
        return lx_end(l, "wall");
    }
    if (tok_is(l, k, "counts")) {
        static const char *what[4] = {"done count", "failed count", "skipped count", "cancelled count"};
        if (rl->have_counts) return lx_fail(l, "duplicate 'counts' line");
        rl->have_counts = 1;
        rl->counts_line = l->line;
        for (int i = 0; i < 4; i++)
            if ((rc = lx_uint(l, what[i], UINT64_MAX, &rl->counts[i]))) return rc;
        return lx_end(l, "counts");
    }
    if (tok_is(l, k, "first-failed")) {
        if (rl->first != GR_NONE) return lx_fail(l, "duplicate 'first-failed' line");
        if ((rc = rl_node_ref(rl, &rl->first))) return rc;
        rl->first_line = l->line;
        return lx_end(l, "first-failed");
    }
    if (tok_is(l, k, "worker")) {
        long long w;
        uint64_t nodes;
        int64_t busy;
        if ((rc = lx_int(l, "worker", 0, WEFT_MAX_WORKERS - 1, &w))) return rc;
        if (rl->wseen[w]) return lx_fail(l, "duplicate line for worker %lld", w);
        rl->wseen[w] = 1;
        rl->any_worker = 1;
        if ((rc = lx_uint(l, "worker's node count", UINT64_MAX, &nodes)) ||
            (rc = lx_time(l, "worker's busy time", &busy)))
            return rc;
        atomic_store(&run->wcount[w].done, nodes);
        atomic_store(&run->wcount[w].busy_ns, (unsigned long long)busy);
        return lx_end(l, "worker");
    }
    if (tok_is(l, k, "weft-run")) return lx_fail(l, "duplicate 'weft-run' header");
    return lx_fail(l, "unknown directive '%s'", show(l->tok, l->tlen, sb, sizeof sb));
}

/* After the run's last line (its block's 'end', or the end of the file):
 * checks what spans lines, fills in the rest. Times stay relative to the
 * run's own start until rl_place. */
static int rl_finish(rl_loading *ld, run_loader *rl) {
    lx *l = rl->l;
    weft_run_t *run = rl->run;
    size_t n = run->n;
    if (rl->have_counts)
        for (int i = 0; i < 4; i++)
            if (rl->counts[i] != rl->found[i]) {
                l->line = rl->counts_line;
                return lx_fail(l,
                               "counts %llu %llu %llu %llu do not match the node lines "
                               "(%llu done, %llu failed, %llu skipped, %llu cancelled)",
                               (unsigned long long)rl->counts[0], (unsigned long long)rl->counts[1],
                               (unsigned long long)rl->counts[2], (unsigned long long)rl->counts[3],
                               (unsigned long long)rl->found[0], (unsigned long long)rl->found[1],
                               (unsigned long long)rl->found[2], (unsigned long long)rl->found[3]);
            }
    uint32_t first = rl->first;
    if (first != GR_NONE && atomic_load(&run->status[first]) != WEFT_NODE_FAILED) {
        l->line = rl->first_line;
        return lx_fail(l, "first-failed names node %u, which did not fail", first);
    }
    int timed = rl->recorded == 1 || (rl->recorded < 0 && rl->timing_line);
    if (first == GR_NONE && rl->found[1]) { /* the failed node that started first */
        for (size_t v = 0; v < n; v++) {
            if (atomic_load(&run->status[v]) != WEFT_NODE_FAILED) continue;
            if (first == GR_NONE || (timed && run->t_end[v] &&
                                     (!run->t_end[first] || run->t_start[v] < run->t_start[first])))
                first = (uint32_t)v;
        }
    }
    const gr_extra *ex = rl->g->extras.data;
    for (size_t x = 0; x < rl->g->extras.len; x++) { /* a sub-run belongs to a node that ran */
        if (!rl->sublines[x]) continue;
        uint32_t v = ex[x].node;
        int st = atomic_load(&run->status[v]);
        if (st == WEFT_NODE_DONE || st == WEFT_NODE_FAILED || st == WEFT_NODE_RUNNING) continue;
        const char *name = gr_name(rl->g, v);
        char sb[80];
        l->line = rl->sublines[x];
        return lx_fail(l, "node %u '%s' has a sub-run but did not run (it is %s)", v,
                       show(name, strlen(name), sb, sizeof sb), weft_node_status_name(st));
    }
    int64_t t1 = rl->wall, span = 0;
    for (size_t v = 0; timed && v < n; v++)
        if (run->t_end[v] > span) span = run->t_end[v];
    if (t1 < 0) t1 = span;
    if (t1 > span) span = t1;
    rl_place *pl = &((rl_place *)ld->places.data)[rl->place];
    pl->start = rl->start > 0 ? rl->start : 0;
    pl->span = span;
    if (!rl->any_worker && timed) /* derive the per-worker counters from the nodes */
        for (size_t v = 0; v < n; v++) {
            int w = run->t_worker[v];
            if (!run->t_end[v] || w < 0) continue;
            atomic_fetch_add(&run->wcount[w].done, 1);
            atomic_fetch_add(&run->wcount[w].busy_ns, (unsigned long long)(run->t_end[v] - run->t_start[v]));
        }
    if (!timed) { /* like a run made without opts.record */
        wf_free(run->t_start);
        wf_free(run->t_end);
        wf_free(run->t_worker);
        run->t_start = run->t_end = NULL;
        run->t_worker = NULL;
        run->record = 0;
    }
    for (int i = 0; i < 4; i++) run->loaded_counts[i] = rl->found[i];
    atomic_store(&run->first_failed, first);
    run->first_code = first != GR_NONE ? run->codes[first] : 0;
    run->t0 = 0; /* times in the file are relative to the run's start */
    atomic_store(&run->t1, t1);
    run->rc = rl->found[1] ? WEFT_ETASK : rl->found[3] ? WEFT_ECANCELED : 0;
    run->loaded = 1;
    atomic_store_explicit(&run->state, 2, memory_order_release); /* complete */
    return 0;
}

/* Puts every loaded run on the top run's clock (which starts at 0): a
 * sub-run starts 'start' after its enclosing run, its node times and end
 * follow. Entries come parents first. */
static int rl_place_all(rl_loading *ld) {
    rl_place *p = ld->places.data;
    for (size_t i = 0; i < ld->places.len; i++) {
        int64_t base = i ? p[p[i].parent].t0 : 0;
        if (p[i].start > INT64_MAX - base || p[i].span > INT64_MAX - base - p[i].start) {
            ld->l.line = p[i].line;
            return lx_fail(&ld->l, "the sub-run starts too late: with the starts of the runs around it, "
                                   "its times are out of range");
        }
        weft_run_t *run = p[i].run;
        int64_t t0 = p[i].t0 = base + p[i].start;
        if (!t0) continue;
        run->t0 = t0;
        atomic_store(&run->t1, atomic_load(&run->t1) + t0);
        for (size_t v = 0; run->record && v < run->n; v++)
            if (run->t_end[v]) {
                run->t_start[v] += t0;
                run->t_end[v] += t0;
            }
    }
    return 0;
}

int weft_run_load(weft_graph_t *g, FILE *in, weft_run_t **out) {
    if (out) *out = NULL;
    wf_set_detail("%s", "");
    if (!gr_graph_valid(g) || !in || !out) {
        wf_set_detail("weft_run_load: %s is NULL or invalid",
                     !gr_graph_valid(g) ? "the graph" : !in ? "the stream" : "the result pointer");
        return WEFT_EINVAL;
    }
    rl_loading ld = {.l = {.in = in}};
    lx *l = &ld.l;
    weft_run_t *top = NULL;
    int rc = rl_push(&ld, g, NULL, GR_NONE, GR_NONE, &top);
    int header = 0;
    while (!rc && (rc = lx_read_line(l)) == 1) {
        rc = 0;
        int k = lx_next(l);
        if (k < 0) {
            rc = k;
            break;
        }
        if (k == TK_END) continue;
        char sb[80];
        if (k != TK_WORD) rc = lx_fail(l, "expected a directive at the start of the line, found a quoted string");
        else if (header) rc = rl_directive(&ld, k);
        else if (tok_is(l, k, "weft-run")) {
            rc = lx_version(l, "weft-run", "run", RUN_VERSION);
            header = 1;
        } else if (tok_is(l, k, "weft-graph"))
            rc = lx_fail(l, "this is a graph file ('weft-graph'), not a run file");
        else
            rc = lx_fail(l, "missing 'weft-run %d' header (found '%s' first)", RUN_VERSION,
                         show(l->tok, l->tlen, sb, sizeof sb));
    }
    if (!rc && !header) {
        l->line++;
        rc = lx_fail(l, "missing 'weft-run %d' header (the file has no directives)", RUN_VERSION);
    }
    if (!rc && ld.stack.len > 1) { /* the innermost open block */
        const run_loader *rl = rl_top(&ld);
        const char *name = gr_name(((run_loader **)ld.stack.data)[ld.stack.len - 2]->g, rl->node);
        char sb[80];
        l->line = rl->open_line;
        rc = lx_fail(l, "'subrun' block for node %u '%s' is not closed: 'end' is missing", rl->node,
                     show(name, strlen(name), sb, sizeof sb));
    }
    if (!rc) rc = rl_finish(&ld, rl_top(&ld));
    if (!rc) rc = rl_place_all(&ld);
    if (rc == WEFT_ENOMEM) wf_set_detail("line %ld: out of memory", l->line);
    if (rc && top) weft_run_free(top); /* and every sub-run hung in it: nothing half-loaded survives */
    else if (!rc) *out = top;
    for (size_t i = 0; i < ld.stack.len; i++) rl_frame_free(((run_loader **)ld.stack.data)[i]);
    wf_free(ld.stack.data);
    wf_free(ld.places.data);
    lx_free(l);
    return rc;
}
