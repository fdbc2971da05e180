/* gr_text.h: byte helpers shared by the graph layer's text writers and
 * readers (dot.c, file.c). Internal, never installed. */
#ifndef GR_TEXT_H
#define GR_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence of at least two bytes at s (at most n
 * bytes available), or 0 if there is none (ASCII, a stray byte, an overlong
 * form, a surrogate, or a code point above U+10FFFF). The writers copy such
 * a sequence as it is and escape or replace any other byte above 0x7f. */
static inline size_t gr_utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0], cp;
    size_t len;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    return len;
}

/* Writes the valid UTF-8 sequence at s + *i (s holds n bytes) to out as it
 * is and moves *i to its last byte: 1; or 0, writing nothing, when there is
 * none there (see gr_utf8_seq). */
static inline int gr_put_utf8(FILE *out, const unsigned char *s, size_t n, size_t *i) {
    size_t u = gr_utf8_seq(s + *i, n - *i);
    if (u == 0) return 0;
    fwrite(s + *i, 1, u, out);
    *i += u - 1;
    return 1;
}

#endif
