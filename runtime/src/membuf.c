/* membuf.c: weft_buf_t, the memory form of every writer's FILE output.
 * The text is built by a POSIX memory stream and handed over as it is:
 * nothing is copied, and the caller frees it with weft_buf_free. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "weft/common.h"
#include "wf_layer.h"

void weft_buf_free(weft_buf_t *buf) {
    if (!buf) return;
    free(buf->data); /* the stream's own malloc'd block */
    buf->data = NULL;
    buf->len = 0;
}

FILE *wf_buf_open(weft_buf_t *out) {
    out->data = NULL;
    out->len = 0;
    FILE *f = open_memstream(&out->data, &out->len);
    if (!f) {
        out->data = NULL;
        out->len = 0;
    }
    return f;
}

int wf_buf_close(FILE *f, weft_buf_t *out, int rc) {
    int bad = ferror(f);
    if (fclose(f) != 0 || (bad && rc == 0)) rc = rc ? rc : WEFT_ENOMEM;
    if (rc) weft_buf_free(out);
    return rc;
}
