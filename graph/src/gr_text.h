/* gr_text.h: the graph layer's text writing (escape.c): one escaper for the
 * three languages it writes (graph and run files, dot, JSON), the tokens of
 * graph and run files, and excerpts for messages. Internal, never
 * installed. The reading side is gr_lex.h. */
#ifndef GR_TEXT_H
#define GR_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence of at least two bytes at s (at most n
 * bytes available), or 0 if there is none (ASCII, a stray byte, an overlong
 * form, a surrogate, or a code point above U+10FFFF). The writers copy such
 * a sequence as it is and escape or replace any other byte above 0x7f. */
size_t gr_utf8_seq(const unsigned char *s, size_t n);

/* The languages gr_escape writes the inside of a double-quoted string in:
 * - GR_ESC_FILE (graph and run files): \\ \" \n \r \t, other control bytes
 *   and bytes that are not valid UTF-8 as \xHH;
 * - GR_ESC_DOT (a dot escString): \\ \" \n, other control bytes shown as a
 *   literal \xHH (written \\xHH), invalid UTF-8 as U+FFFD;
 * - GR_ESC_JSON: \\ \" \n \r \t \b \f, other bytes below 0x20 as \u00HH,
 *   invalid UTF-8 as \ufffd.
 * Valid UTF-8 is written as it is in all three. */
enum { GR_ESC_FILE, GR_ESC_DOT, GR_ESC_JSON };
void gr_escape(FILE *out, const void *data, size_t n, int lang);

/* May byte c appear in a bare word of a graph or run file? */
static inline int gr_bare_byte(unsigned c) {
    return c > ' ' && c != 0x7f && c != '"' && c != '#' && c != '\\';
}

/* A name as a file token: a bare word when it reads back the same (ASCII
 * bare bytes only, not empty), else quoted. */
void gr_put_token(FILE *out, const void *data, size_t n);
/* Argument bytes as a file token: a quoted string when at most a quarter of
 * them need a \xHH escape, else a hex string. */
void gr_put_bytes(FILE *out, const void *data, size_t n);

/* A short printable excerpt of data for error messages: escaped like a
 * quoted token, cut after about 60 bytes. Returns buf. */
const char *gr_show(const void *data, size_t n, char *buf, size_t cap);

/* Flushes out: 0, or WEFT_EIO with the detail message set. */
int gr_finish_write(FILE *out);

#endif
