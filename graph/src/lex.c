/* lex.c: the lexer of graph and run files (formats: graph/FORMAT.md).
 *
 * A line is a list of tokens separated by spaces or tabs; '#' at the start
 * of a token begins a comment that runs to the end of the line. A token is
 * a bare word (bytes above space, except '"', '#', '\\' and DEL), a quoted
 * string with C-style escapes ("a b\n", "\x00"), or a hex string
 * (x"00ff"). Every token decodes to bytes, so any argument bytes
 * round-trip.
 *
 * Input comes from memory (split in place, nothing copied) or from a
 * stream, read ahead in chunks into one buffer that grows only as far as
 * the longest line needs: a line's end is looked for in at most
 * WEFT_FILE_LINE_MAX + 2 bytes (the line, "\r", "\n"), so a peer that
 * sends one endless line costs a bounded buffer and a clear error, never
 * unbounded memory. Tokens are decoded into a buffer of their own, checked
 * against WEFT_FILE_TOKEN_MAX before it grows. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr.h"
#include "gr_lex.h"
#include "gr_text.h"

/* The chunk the FILE reader asks fread for at least. */
#define LX_CHUNK 65536
/* Bytes a line's end is looked for in: the line, a "\r" and the "\n". */
#define LX_SCAN ((size_t)WEFT_FILE_LINE_MAX + 2)

void gr_lx_init_file(gr_lx *l, FILE *in) {
    memset(l, 0, sizeof *l);
    l->in = in;
}

void gr_lx_init_mem(gr_lx *l, const char *text, size_t len) {
    memset(l, 0, sizeof *l);
    l->data = text;
    l->len = text ? len : 0;
    l->eof = 1;
}

void gr_lx_free(gr_lx *l) {
    wf_free(l->buf);
    wf_free(l->tok);
    l->buf = NULL;
    l->tok = NULL;
}

int gr_lx_fail(const gr_lx *l, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wf_set_detail("line %ld: %s", l->line, msg);
    return WEFT_EPARSE;
}

/* FILE input: moves the unread bytes to the front of buf and reads more
 * behind them, growing buf (never past what one line needs plus a chunk).
 * 0, or WEFT_EIO / WEFT_ENOMEM. Sets eof at the end of the stream. */
static int lx_refill(gr_lx *l) {
    size_t have = l->len - l->pos;
    if (l->pos) {
        if (have) memmove(l->buf, l->buf + l->pos, have);
        l->pos = 0;
        l->len = have;
    }
    if (l->cap - have < LX_CHUNK / 2) { /* room for a good chunk */
        size_t cap = l->cap ? l->cap * 2 : LX_CHUNK;
        if (cap > LX_SCAN + LX_CHUNK) cap = LX_SCAN + LX_CHUNK;
        if (cap <= l->cap) cap = l->cap; /* at the most a line needs: read what fits */
        else {
            char *b = wf_realloc(l->buf, cap);
            if (!b) return WEFT_ENOMEM;
            l->buf = b;
            l->cap = cap;
        }
    }
    l->data = l->buf;
    errno = 0;
    size_t got = fread(l->buf + l->len, 1, l->cap - l->len, l->in);
    l->len += got;
    if (got == 0) {
        if (ferror(l->in)) {
            wf_set_detail("line %ld: read error: %s", l->line + 1, errno ? strerror(errno) : "unknown");
            return WEFT_EIO;
        }
        l->eof = 1;
    }
    return 0;
}

int gr_lx_read_line(gr_lx *l) {
    for (;;) {
        size_t have = l->len - l->pos, scan = have < LX_SCAN ? have : LX_SCAN;
        const char *s = l->data ? l->data + l->pos : NULL; /* NULL: nothing read yet */
        const char *nl = scan ? memchr(s, '\n', scan) : NULL;
        if (!nl && !l->eof && scan < LX_SCAN) { /* the line may go on in the stream */
            int rc = lx_refill(l);
            if (rc) return rc;
            continue;
        }
        if (!nl && have == 0) return 0; /* the end of the input */
        size_t n = nl ? (size_t)(nl - s) : scan;
        l->line++;
        if (!nl && scan == LX_SCAN) return gr_lx_fail(l, "line longer than %d bytes", WEFT_FILE_LINE_MAX);
        l->pos += nl ? n + 1 : n;
        if (n && s[n - 1] == '\r') n--; /* files edited on Windows */
        if (n > (size_t)WEFT_FILE_LINE_MAX)
            return gr_lx_fail(l, "line longer than %d bytes", WEFT_FILE_LINE_MAX);
        if (memchr(s, 0, n)) return gr_lx_fail(l, "NUL byte in the line");
        l->p = s;
        l->end = s + n;
        if (l->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) l->p += 3; /* UTF-8 BOM */
        return 1;
    }
}

/* Room for `more` bytes of the token and its NUL: 0, WEFT_EPARSE (the
 * token would decode to more than WEFT_FILE_TOKEN_MAX bytes) or
 * WEFT_ENOMEM. */
static int tok_reserve(gr_lx *l, size_t more) {
    if (more > (size_t)WEFT_FILE_TOKEN_MAX - l->tlen)
        return gr_lx_fail(l, "token longer than %d bytes", WEFT_FILE_TOKEN_MAX);
    if (l->tlen + more < l->tcap) return 0;
    size_t cap = l->tcap ? l->tcap : 256;
    while (cap <= l->tlen + more) cap *= 2;
    unsigned char *t = wf_realloc(l->tok, cap);
    if (!t) return WEFT_ENOMEM;
    l->tok = t;
    l->tcap = cap;
    return 0;
}

static int tok_put(gr_lx *l, unsigned char c) {
    int rc = tok_reserve(l, 1);
    if (rc) return rc;
    l->tok[l->tlen++] = c;
    return 0;
}

static int tok_append(gr_lx *l, const char *s, size_t n) {
    int rc = tok_reserve(l, n);
    if (rc) return rc;
    memcpy(l->tok + l->tlen, s, n);
    l->tlen += n;
    return 0;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int lx_control(const gr_lx *l, unsigned c) {
    return gr_lx_fail(l, "control character 0x%02x (write it as \\x%02x inside quotes)", c, c);
}

/* After a closing quote: whitespace, a comment or the end of the line. */
static int lx_after_quote(gr_lx *l) {
    if (l->p < l->end && *l->p != ' ' && *l->p != '\t' && *l->p != '#')
        return gr_lx_fail(l, "unexpected '%c' right after a closing quote", *l->p);
    return 0;
}

/* A byte that stands for itself inside quotes. */
static int quoted_plain(unsigned c) {
    return c != '"' && c != '\\' && (c >= ' ' || c == '\t') && c != 0x7f;
}

static int lx_quoted(gr_lx *l) {
    l->p++; /* the opening quote */
    for (;;) {
        const char *run = l->p;
        while (l->p < l->end && quoted_plain((unsigned char)*l->p)) l->p++;
        int rc;
        if (l->p > run && (rc = tok_append(l, run, (size_t)(l->p - run)))) return rc;
        if (l->p >= l->end) return gr_lx_fail(l, "unterminated quoted string");
        unsigned c = (unsigned char)*l->p;
        if (c == '"') {
            l->p++;
            return lx_after_quote(l);
        }
        if (c != '\\') return lx_control(l, c);
        if (l->p + 1 >= l->end) return gr_lx_fail(l, "unterminated quoted string");
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
            if (hi < 0 || lo < 0) return gr_lx_fail(l, "bad escape '\\x': it needs two hex digits");
            c = (unsigned)(hi << 4 | lo);
            l->p += 2;
            break;
        }
        default:
            if (e > ' ' && e < 0x7f) return gr_lx_fail(l, "bad escape '\\%c'", e);
            return gr_lx_fail(l, "bad escape: '\\' followed by byte 0x%02x", e);
        }
        if ((rc = tok_put(l, (unsigned char)c))) return rc;
    }
}

static int lx_hex(gr_lx *l) {
    l->p += 2; /* x" */
    for (;;) {
        while (l->p < l->end && (*l->p == ' ' || *l->p == '\t')) l->p++;
        if (l->p >= l->end) return gr_lx_fail(l, "unterminated hex string");
        if (*l->p == '"') {
            l->p++;
            return lx_after_quote(l);
        }
        int hi = hexval(l->p[0]);
        if (hi < 0) return gr_lx_fail(l, "bad hex digit '%s'", gr_show(l->p, 1, (char[16]){0}, 16));
        if (l->p + 1 >= l->end || l->p[1] == '"' || l->p[1] == ' ' || l->p[1] == '\t')
            return gr_lx_fail(l, "odd number of hex digits in a hex string");
        int lo = hexval(l->p[1]);
        if (lo < 0) return gr_lx_fail(l, "bad hex digit '%s'", gr_show(l->p + 1, 1, (char[16]){0}, 16));
        int rc = tok_put(l, (unsigned char)(hi << 4 | lo));
        if (rc) return rc;
        l->p += 2;
    }
}

int gr_lx_next(gr_lx *l) {
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t')) l->p++;
    l->tlen = 0;
    int rc, kind;
    if (l->p >= l->end || *l->p == '#') {
        l->p = l->end;
        kind = GR_TK_END;
    } else if (*l->p == '"') {
        if ((rc = lx_quoted(l))) return rc;
        kind = GR_TK_STRING;
    } else if (*l->p == 'x' && l->p + 1 < l->end && l->p[1] == '"') {
        if ((rc = lx_hex(l))) return rc;
        kind = GR_TK_HEX;
    } else {
        const char *start = l->p;
        while (l->p < l->end && gr_bare_byte((unsigned char)*l->p)) l->p++;
        if ((rc = tok_append(l, start, (size_t)(l->p - start)))) return rc;
        if (l->p < l->end && *l->p != ' ' && *l->p != '\t' && *l->p != '#') {
            unsigned c = (unsigned char)*l->p;
            char sb[80];
            if (c == '"' || c == '\\')
                return gr_lx_fail(l, "unexpected '%c' in '%s' (quote the whole word)", c,
                                  gr_show(start, (size_t)(l->p - start) + 1, sb, sizeof sb));
            return lx_control(l, c);
        }
        kind = GR_TK_WORD;
    }
    if ((rc = tok_reserve(l, 0))) return rc; /* room for the NUL, not counted */
    l->tok[l->tlen] = 0;
    return kind;
}

/* Does another token follow on this line? */
int gr_lx_more(gr_lx *l) {
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t')) l->p++;
    return l->p < l->end && *l->p != '#';
}

int gr_lx_is(const gr_lx *l, int kind, const char *word) {
    return kind == GR_TK_WORD && strcmp((const char *)l->tok, word) == 0;
}

/* The line must end here. what names the directive for the message. */
int gr_lx_end(gr_lx *l, const char *what) {
    int k = gr_lx_next(l);
    if (k < 0) return k;
    if (k == GR_TK_END) return 0;
    char sb[80];
    return gr_lx_fail(l, "unexpected '%s' after the '%s' line's last field (trailing garbage)",
                   gr_show(l->tok, l->tlen, sb, sizeof sb), what);
}

/* The next token, which must exist and hold a name: no NUL, at most
 * WEFT_NAME_MAX bytes, and (unless may_be_empty) not empty. */
int gr_lx_name(gr_lx *l, const char *what, int may_be_empty) {
    int k = gr_lx_next(l);
    if (k < 0) return k;
    if (k == GR_TK_END) return gr_lx_fail(l, "missing %s", what);
    if (l->tlen > WEFT_NAME_MAX)
        return gr_lx_fail(l, "%s too long (%zu bytes, at most %d)", what, l->tlen, WEFT_NAME_MAX);
    if (memchr(l->tok, 0, l->tlen)) return gr_lx_fail(l, "%s contains a NUL byte", what);
    if (!may_be_empty && l->tlen == 0) return gr_lx_fail(l, "empty %s", what);
    return k;
}

/* Unsigned decimal token (digits only) into *v, at most max. */
int gr_lx_uint(gr_lx *l, const char *what, uint64_t max, uint64_t *v) {
    int k = gr_lx_next(l);
    if (k < 0) return k;
    if (k == GR_TK_END) return gr_lx_fail(l, "missing %s", what);
    char sb[80];
    uint64_t x = 0;
    if (k != GR_TK_WORD || l->tlen == 0) goto bad;
    for (size_t i = 0; i < l->tlen; i++) {
        unsigned d = (unsigned)l->tok[i] - '0';
        if (d > 9) goto bad;
        if (x > (max - d) / 10) return gr_lx_fail(l, "%s '%s' out of range", what,
                                               gr_show(l->tok, l->tlen, sb, sizeof sb));
        x = x * 10 + d;
    }
    *v = x;
    return 0;
bad:
    return gr_lx_fail(l, "bad %s '%s' (expected a number)", what, gr_show(l->tok, l->tlen, sb, sizeof sb));
}

/* Signed decimal integer token in [lo, hi]. */
int gr_lx_int(gr_lx *l, const char *what, long long lo, long long hi, long long *v) {
    int k = gr_lx_next(l);
    if (k < 0) return k;
    if (k == GR_TK_END) return gr_lx_fail(l, "missing %s", what);
    char sb[80];
    const unsigned char *s = l->tok;
    size_t n = l->tlen, i = n && s[0] == '-';
    unsigned long long x = 0;
    if (k != GR_TK_WORD || n == i) goto bad;
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
    return gr_lx_fail(l, "%s '%s' out of range (%lld to %lld)", what, gr_show(s, n, sb, sizeof sb), lo, hi);
bad:
    return gr_lx_fail(l, "bad %s '%s' (expected an integer)", what, gr_show(s, n, sb, sizeof sb));
}

/* Seconds as digits[.digits], at most 9 decimals, read exactly into ns. */
int gr_lx_time(gr_lx *l, const char *what, int64_t *ns) {
    int k = gr_lx_next(l);
    if (k < 0) return k;
    if (k == GR_TK_END) return gr_lx_fail(l, "missing %s", what);
    char sb[80];
    const unsigned char *s = l->tok;
    size_t n = l->tlen, i = 0;
    int64_t sec = 0, frac = 0;
    if (k != GR_TK_WORD) goto bad;
    for (; i < n && s[i] != '.'; i++) {
        if (s[i] < '0' || s[i] > '9') goto bad;
        if (sec > (INT64_MAX / 1000000000 - 9) / 10) goto range;
        sec = sec * 10 + (s[i] - '0');
    }
    if (i == 0) goto bad;
    if (i < n) { /* the '.' */
        size_t digits = n - i - 1;
        if (digits == 0) goto bad;
        if (digits > 9) return gr_lx_fail(l, "%s '%s' has more than 9 decimals", what, gr_show(s, n, sb, sizeof sb));
        for (size_t j = i + 1; j < n; j++) {
            if (s[j] < '0' || s[j] > '9') goto bad;
            frac = frac * 10 + (s[j] - '0');
        }
        for (size_t j = digits; j < 9; j++) frac *= 10;
    }
    *ns = sec * 1000000000 + frac;
    return 0;
range:
    return gr_lx_fail(l, "%s '%s' out of range", what, gr_show(s, n, sb, sizeof sb));
bad:
    return gr_lx_fail(l, "bad %s '%s' (expected seconds such as 0.001250000)", what,
                   gr_show(s, n, sb, sizeof sb));
}

/* The version after a header word: it must be want, with nothing after. */
int gr_lx_version(gr_lx *l, const char *header, const char *kind, int want) {
    int k = gr_lx_next(l);
    if (k < 0) return k;
    if (k == GR_TK_END) return gr_lx_fail(l, "missing version after '%s'", header);
    char sb[80], ws[16];
    int digits = k == GR_TK_WORD && l->tlen > 0;
    for (size_t i = 0; digits && i < l->tlen; i++) digits = l->tok[i] >= '0' && l->tok[i] <= '9';
    if (!digits)
        return gr_lx_fail(l, "bad version '%s' after '%s'", gr_show(l->tok, l->tlen, sb, sizeof sb), header);
    snprintf(ws, sizeof ws, "%d", want);
    if (strcmp((const char *)l->tok, ws) != 0)
        return gr_lx_fail(l, "unsupported %s file version %s (this weft reads version %d)", kind,
                       gr_show(l->tok, l->tlen, sb, sizeof sb), want);
    return gr_lx_end(l, header);
}

