/* escape.c: writing user bytes into the graph layer's text formats. One
 * escaper serves graph and run files, dot and JSON (gr_escape): the three
 * differ only in which bytes have a short escape, how other control bytes
 * are spelled and what stands for a byte that is not valid UTF-8. Runs of
 * printable ASCII are written with one fwrite each, so long names and
 * argument bytes cost one call, not one per byte. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gr.h"
#include "gr_text.h"

size_t gr_utf8_seq(const unsigned char *s, size_t n) {
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

/* The short escape of ASCII byte c in lang, or NULL. */
static const char *short_escape(int lang, unsigned c) {
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return lang == GR_ESC_DOT ? NULL : "\\r";
    case '\t': return lang == GR_ESC_DOT ? NULL : "\\t";
    case '\b': return lang == GR_ESC_JSON ? "\\b" : NULL;
    case '\f': return lang == GR_ESC_JSON ? "\\f" : NULL;
    default: return NULL;
    }
}

static const char hexdig[] = "0123456789abcdef";

void gr_escape(FILE *out, const void *data, size_t n, int lang) {
    const unsigned char *s = data;
    size_t i = 0;
    while (i < n) {
        size_t j = i; /* a run of bytes every language writes as they are */
        while (j < n && s[j] >= ' ' && s[j] < 0x7f && s[j] != '"' && s[j] != '\\') j++;
        if (j > i) fwrite(s + i, 1, j - i, out);
        if (j == n) return;
        unsigned c = s[j];
        i = j + 1;
        const char *e = short_escape(lang, c);
        if (e) {
            fputs(e, out);
        } else if (c < 0x80) { /* a control byte, or DEL */
            char b[8];
            if (lang == GR_ESC_JSON) {
                if (c == 0x7f) {
                    putc((int)c, out);
                    continue;
                }
                memcpy(b, "\\u00", 4);
                b[4] = hexdig[c >> 4], b[5] = hexdig[c & 15];
                fwrite(b, 1, 6, out);
            } else {
                size_t k = 0;
                b[k++] = '\\';
                if (lang == GR_ESC_DOT) b[k++] = '\\'; /* a literal backslash in the label */
                b[k++] = 'x', b[k++] = hexdig[c >> 4], b[k++] = hexdig[c & 15];
                fwrite(b, 1, k, out);
            }
        } else {
            size_t u = gr_utf8_seq(s + j, n - j);
            if (u) {
                fwrite(s + j, 1, u, out);
                i = j + u;
            } else if (lang == GR_ESC_FILE) {
                char b[4] = {'\\', 'x', hexdig[c >> 4], hexdig[c & 15]};
                fwrite(b, 1, 4, out);
            } else {
                fputs(lang == GR_ESC_DOT ? "\xef\xbf\xbd" : "\\ufffd", out);
            }
        }
    }
}

static void put_quoted(FILE *out, const void *data, size_t n) {
    putc('"', out);
    gr_escape(out, data, n, GR_ESC_FILE);
    putc('"', out);
}

void gr_put_token(FILE *out, const void *data, size_t n) {
    const unsigned char *s = data;
    int bare = n > 0;
    for (size_t i = 0; i < n && bare; i++) bare = gr_bare_byte(s[i]) && s[i] < 0x80;
    if (bare) fwrite(s, 1, n, out);
    else put_quoted(out, s, n);
}

void gr_put_bytes(FILE *out, const void *data, size_t n) {
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
    putc('x', out);
    putc('"', out);
    char b[128];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; i < n && k + 2 <= sizeof b; i++) b[k++] = hexdig[s[i] >> 4], b[k++] = hexdig[s[i] & 15];
        fwrite(b, 1, k, out);
    }
    putc('"', out);
}

const char *gr_show(const void *data, size_t n, char *buf, size_t cap) {
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

int gr_finish_write(FILE *out) {
    if (fflush(out) != 0 || ferror(out)) {
        wf_set_detail("write error: %s", errno ? strerror(errno) : "unknown");
        return WEFT_EIO;
    }
    return 0;
}
