/* gr_lex.h: the lexer of graph and run files (lex.c): lines from a stream
 * or from memory, tokens, numbers and times, and line-numbered errors.
 * Internal, never installed; the formats are graph/FORMAT.md's.
 *
 * Every length is checked before anything is held: a line longer than
 * WEFT_FILE_LINE_MAX is refused before it is read in full, a token that
 * would decode to more than WEFT_FILE_TOKEN_MAX bytes before its buffer
 * grows. A lexer's memory is its chunk buffer (FILE input only) and its
 * token buffer, both bounded by those limits. */
#ifndef GR_LEX_H
#define GR_LEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { GR_TK_END = 0, GR_TK_WORD, GR_TK_STRING, GR_TK_HEX };

typedef struct gr_lx {
    FILE *in;              /* NULL: reading memory */
    const char *data;      /* the input not yet split into lines: the memory, or buf */
    size_t len, pos;       /* data[pos .. len) is unread */
    char *buf;             /* FILE input: chunks read ahead (wf_malloc) */
    size_t cap;
    int eof;               /* nothing more to read into buf */
    const char *p, *end;   /* cursor in the current line */
    long line;             /* its number, from 1 */
    unsigned char *tok;    /* the last token, decoded, NUL-terminated */
    size_t tlen, tcap;
} gr_lx;

/* Starts reading a stream, or len bytes of memory (text may be NULL when
 * len is 0; it must outlive the lexer). */
void gr_lx_init_file(gr_lx *l, FILE *in);
void gr_lx_init_mem(gr_lx *l, const char *text, size_t len);
void gr_lx_free(gr_lx *l);

/* Sets the detail message "line N: ..." (N: l->line) and returns
 * WEFT_EPARSE. */
int gr_lx_fail(const gr_lx *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads the next line: 1, 0 at the end of input, or a negative error
 * (WEFT_EPARSE: too long or holding a NUL byte; WEFT_EIO; WEFT_ENOMEM). */
int gr_lx_read_line(gr_lx *l);

/* Reads the next token of the line into l->tok: GR_TK_WORD, GR_TK_STRING,
 * GR_TK_HEX, GR_TK_END at the end of the line (or at a comment), or a
 * negative error. */
int gr_lx_next(gr_lx *l);
/* Does another token follow on this line? */
int gr_lx_more(gr_lx *l);
/* Is the token of that kind the bare word `word`? */
int gr_lx_is(const gr_lx *l, int kind, const char *word);
/* The line must end here; what names the directive for the message. */
int gr_lx_end(gr_lx *l, const char *what);
/* The next token, which must exist and hold a name: no NUL, at most
 * WEFT_NAME_MAX bytes, and (unless may_be_empty) not empty. Returns its
 * kind or a negative error. */
int gr_lx_name(gr_lx *l, const char *what, int may_be_empty);
/* Unsigned decimal token (digits only) into *v, at most max. */
int gr_lx_uint(gr_lx *l, const char *what, uint64_t max, uint64_t *v);
/* Signed decimal integer token in [lo, hi]. */
int gr_lx_int(gr_lx *l, const char *what, long long lo, long long hi, long long *v);
/* Seconds as digits[.digits], at most 9 decimals, read exactly into ns. */
int gr_lx_time(gr_lx *l, const char *what, int64_t *ns);
/* The version after a header word: it must be want, with nothing after. */
int gr_lx_version(gr_lx *l, const char *header, const char *kind, int want);

#endif
