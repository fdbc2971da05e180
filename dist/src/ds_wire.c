/* ds_wire.c: the frame header, the incremental frame decoder and the
 * records of dist/PROTOCOL.md (sections 1 and 5). Pure code: no sockets,
 * no allocation in the decoders (they point into the caller's bytes). */
#include "ds.h"

/* Exact body length of each handshake type; 0 for SEALED (ranged). */
static uint32_t exact_len(uint8_t type) {
    switch (type) {
    case DS_T_HELLO: return DS_HELLO_LEN;
    case DS_T_SERVER_HELLO: return DS_SHELLO_LEN;
    case DS_T_CLIENT_PROOF: return DS_PROOF_LEN;
    case DS_T_REFUSE: return DS_REFUSE_LEN;
    default: return 0;
    }
}

void ds_frame_header(uint8_t *h, uint8_t type, uint32_t len) {
    h[0] = DS_MAGIC0;
    h[1] = DS_MAGIC1;
    h[2] = DS_VERSION;
    h[3] = type;
    h[4] = 0;
    h[5] = h[6] = h[7] = 0;
    ds_put32(h + 8, len);
}

int ds_frame_decode(const uint8_t *p, size_t n, unsigned allowed, uint32_t max_plain,
                    ds_frame_t *f, int *why) {
    int dummy;
    if (!why) why = &dummy;
    /* Every header byte is judged as soon as it has arrived, so garbage is
     * refused on its first byte, not after a full header's worth. */
    if (n >= 1 && p[0] != DS_MAGIC0) return *why = DS_WHY_MALFORMED, DS_ERROR;
    if (n >= 2 && p[1] != DS_MAGIC1) return *why = DS_WHY_MALFORMED, DS_ERROR;
    if (n >= 3 && p[2] != DS_VERSION) return *why = DS_WHY_VERSION, DS_ERROR;
    if (n >= 4) {
        uint8_t t = p[3];
        if (t < DS_T_HELLO || t > DS_T_SEALED) return *why = DS_WHY_MALFORMED, DS_ERROR;
        if (!(allowed & DS_TYPE_BIT(t))) return *why = DS_WHY_TYPE, DS_ERROR;
    }
    for (size_t i = 4; i < 8 && i < n; i++)
        if (p[i]) return *why = DS_WHY_MALFORMED, DS_ERROR;
    if (n < DS_HDR) return DS_NEED;
    uint8_t type = p[3];
    uint32_t len = ds_get32(p + 8);
    uint32_t exact = exact_len(type);
    if (exact) {
        if (len != exact) return *why = len > exact ? DS_WHY_TOO_BIG : DS_WHY_MALFORMED, DS_ERROR;
    } else {
        if (len < DS_TAG) return *why = DS_WHY_MALFORMED, DS_ERROR;
        if (len - DS_TAG > max_plain) return *why = DS_WHY_TOO_BIG, DS_ERROR;
    }
    if (n - DS_HDR < len) return DS_NEED;
    f->version = p[2];
    f->type = type;
    f->len = len;
    f->frame = p;
    f->body = p + DS_HDR;
    f->size = DS_HDR + (size_t)len;
    return DS_FRAME;
}

size_t ds_frame_need(const uint8_t *p, size_t n) {
    if (n < DS_HDR) return 0;
    return DS_HDR + (size_t)ds_get32(p + 8);
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

int ds_rec_next(const uint8_t **pp, const uint8_t *end, ds_rec_t *r) {
    const uint8_t *p = *pp;
    if (p == end) return 0;
    if ((size_t)(end - p) < DS_REC_HDR) return DS_ERROR;
    r->kind = p[0];
    r->flags = p[1];
    r->len = ds_get32(p + 2);
    if ((size_t)(end - p) - DS_REC_HDR < r->len) return DS_ERROR;
    r->p = p + DS_REC_HDR;
    *pp = r->p + r->len;
    return 1;
}

/* A task name: 1..WEFT_NAME_MAX printable bytes without blanks (the
 * registry refuses whitespace; control bytes never belong in a name). */
static int name_ok(const uint8_t *s, size_t n) {
    if (n == 0 || n > WEFT_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

int ds_task_decode(const ds_rec_t *r, ds_task_rec_t *t) {
    if (r->kind != DS_R_TASK || (r->flags & ~(DS_F_MORE | DS_F_INPUTS)) || r->len < DS_TASK_FIXED)
        return DS_ERROR;
    const uint8_t *p = r->p;
    t->id = ds_get64(p);
    t->attempt = ds_get32(p + 8);
    t->code_kind = p[12];
    if (p[13] || t->id == 0) return DS_ERROR;
    t->name_len = ds_get16(p + 14);
    if ((size_t)r->len - DS_TASK_FIXED < t->name_len) return DS_ERROR;
    if (t->code_kind != 0 || !name_ok(p + 16, t->name_len)) return DS_ERROR;
    t->name = (const char *)p + 16;
    t->total = ds_get64(p + 16 + t->name_len);
    t->data = p + DS_TASK_FIXED + t->name_len;
    t->n = r->len - DS_TASK_FIXED - t->name_len;
    t->more = r->flags & DS_F_MORE;
    t->inputs = (r->flags & DS_F_INPUTS) != 0;
    /* all bytes here, or fewer with MORE */
    if (t->more ? t->n >= t->total : t->n != t->total) return DS_ERROR;
    return 0;
}

int ds_result_decode(const ds_rec_t *r, ds_result_rec_t *t) {
    if (r->kind != DS_R_RESULT || (r->flags & ~(DS_F_MORE | DS_F_TIMED))) return DS_ERROR;
    t->timed = (r->flags & DS_F_TIMED) != 0;
    size_t fixed = DS_RESULT_FIXED + (t->timed ? DS_TIMED_LEN : 0);
    if (r->len < fixed) return DS_ERROR;
    const uint8_t *p = r->p;
    t->id = ds_get64(p);
    t->attempt = ds_get32(p + 8);
    t->outcome = p[12];
    if (p[13] || p[14] || p[15] || t->outcome > DS_OUT_MISSING || t->id == 0) return DS_ERROR;
    t->code = (int32_t)ds_get32(p + 16);
    t->run_ns = ds_get64(p + 20);
    t->total = ds_get64(p + 28);
    t->start_ns = t->timed ? ds_get64(p + DS_RESULT_FIXED) : 0;
    t->worker = t->timed ? ds_get32(p + DS_RESULT_FIXED + 8) : 0;
    t->data = p + fixed;
    t->n = r->len - fixed;
    t->more = r->flags & DS_F_MORE;
    if (t->more ? t->n >= t->total : t->n != t->total) return DS_ERROR;
    return 0;
}

int ds_chunk_decode(const ds_rec_t *r, ds_chunk_rec_t *t) {
    if (r->kind != DS_R_CHUNK || (r->flags & ~DS_F_LAST) || r->len < DS_CHUNK_FIXED) return DS_ERROR;
    t->id = ds_get64(r->p);
    t->attempt = ds_get32(r->p + 8);
    t->offset = ds_get64(r->p + 12);
    t->data = r->p + DS_CHUNK_FIXED;
    t->n = r->len - DS_CHUNK_FIXED;
    t->last = r->flags & DS_F_LAST;
    if (t->id == 0 || (t->n == 0 && !t->last)) return DS_ERROR;
    return 0;
}

int ds_idatt_decode(const ds_rec_t *r, uint64_t *id, uint32_t *attempt) {
    if (r->flags || r->len != 12) return DS_ERROR;
    *id = ds_get64(r->p);
    *attempt = ds_get32(r->p + 8);
    return 0;
}

int ds_u32_decode(const ds_rec_t *r, uint32_t *v) {
    if (r->flags || r->len != 4) return DS_ERROR;
    *v = ds_get32(r->p);
    return 0;
}

int ds_u64_decode(const ds_rec_t *r, uint64_t *v) {
    if (r->flags || r->len != 8) return DS_ERROR;
    *v = ds_get64(r->p);
    return 0;
}

int ds_pong_decode(const ds_rec_t *r, uint64_t *token, uint64_t *clock_ns) {
    if (r->kind != DS_R_PONG || (r->flags & ~DS_F_TIME)) return DS_ERROR;
    if (r->len != ((r->flags & DS_F_TIME) ? 16u : 8u)) return DS_ERROR;
    *token = ds_get64(r->p);
    *clock_ns = (r->flags & DS_F_TIME) ? ds_get64(r->p + 8) : 0;
    return 0;
}

int ds_inputs_decode(const uint8_t *frame, size_t len, const uint8_t **arg, size_t *arg_len,
                     size_t *n, const uint8_t ***ptrs, size_t **lens) {
    *ptrs = NULL;
    *lens = NULL;
    *n = 0;
    if (len < 12) return DS_ERROR;
    uint32_t count = ds_get32(frame);
    if (count > DS_INPUTS_MAX || (size_t)count > (len - 12) / 8) return DS_ERROR;
    size_t head = 12 + (size_t)count * 8, left = len - head;
    uint64_t al = ds_get64(frame + 4);
    if (al > left) return DS_ERROR;
    left -= (size_t)al;
    const uint8_t **p = wf_malloc(sizeof *p * (count ? count : 1));
    size_t *l = wf_malloc(sizeof *l * (count ? count : 1));
    if (!p || !l) {
        wf_free(p);
        wf_free(l);
        return WEFT_ENOMEM;
    }
    const uint8_t *at = frame + head + al;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t k = ds_get64(frame + 12 + (size_t)i * 8);
        if (k > left) {
            wf_free(p);
            wf_free(l);
            return DS_ERROR;
        }
        p[i] = at;
        l[i] = (size_t)k;
        at += k;
        left -= (size_t)k;
    }
    if (left) {
        wf_free(p);
        wf_free(l);
        return DS_ERROR;
    }
    *arg = frame + head;
    *arg_len = (size_t)al;
    *n = count;
    *ptrs = p;
    *lens = l;
    return 0;
}

int ds_info_decode(const ds_rec_t *r, uint32_t *workers, uint64_t *max_bytes) {
    if (r->kind != DS_R_INFO || r->flags || r->len != 16 || ds_get32(r->p + 4)) return DS_ERROR;
    *workers = ds_get32(r->p);
    *max_bytes = ds_get64(r->p + 8);
    return 0;
}

int ds_bye_decode(const ds_rec_t *r, uint8_t *reason, char *text, size_t size) {
    if (r->kind != DS_R_GOODBYE || r->flags || r->len < 1 || r->len > 1 + DS_BYE_TEXT_MAX)
        return DS_ERROR;
    *reason = r->p[0];
    ds_sanitize(r->p + 1, r->len - 1, text, size);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Buffers and encoders                                                */

int ds_buf_reserve(ds_buf_t *b, size_t n) {
    if (b->cap - b->len >= n) return 0;
    if (n > SIZE_MAX / 2 - b->len) return WEFT_ENOMEM;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) cap *= 2;
    uint8_t *p = wf_realloc(b->p, cap);
    if (!p) return WEFT_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

void ds_buf_free(ds_buf_t *b) {
    wf_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void ds_buf_consume(ds_buf_t *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

/* Reserves a record of payload n and writes its header; returns the
 * payload's address or NULL. */
static uint8_t *rec_begin(ds_buf_t *b, uint8_t kind, uint8_t flags, size_t n) {
    if (n > UINT32_MAX || ds_buf_reserve(b, DS_REC_HDR + n)) return NULL;
    uint8_t *p = b->p + b->len;
    p[0] = kind;
    p[1] = flags;
    ds_put32(p + 2, (uint32_t)n);
    b->len += DS_REC_HDR + n;
    return p + DS_REC_HDR;
}

int ds_put_task(ds_buf_t *b, uint64_t id, uint32_t attempt, const char *name, size_t name_len,
                uint64_t total, const void *data, size_t n, int more) {
    return ds_put_task_f(b, id, attempt, 0, name, name_len, total, data, n, more);
}

int ds_put_task_f(ds_buf_t *b, uint64_t id, uint32_t attempt, uint8_t flags, const char *name,
                  size_t name_len, uint64_t total, const void *data, size_t n, int more) {
    uint8_t *p = rec_begin(b, DS_R_TASK, (uint8_t)(flags | (more ? DS_F_MORE : 0)),
                           DS_TASK_FIXED + name_len + n);
    if (!p) return WEFT_ENOMEM;
    ds_put64(p, id);
    ds_put32(p + 8, attempt);
    p[12] = 0;
    p[13] = 0;
    ds_put16(p + 14, (uint16_t)name_len);
    memcpy(p + 16, name, name_len);
    ds_put64(p + 16 + name_len, total);
    if (n) memcpy(p + DS_TASK_FIXED + name_len, data, n);
    return 0;
}

static uint8_t *result_begin(ds_buf_t *b, uint64_t id, uint32_t attempt, uint8_t outcome,
                             int32_t code, uint64_t run_ns, uint64_t total, int more, int timed,
                             size_t n) {
    size_t fixed = DS_RESULT_FIXED + (timed ? DS_TIMED_LEN : 0);
    uint8_t *p = rec_begin(b, DS_R_RESULT,
                           (uint8_t)((more ? DS_F_MORE : 0) | (timed ? DS_F_TIMED : 0)), fixed + n);
    if (!p) return NULL;
    ds_put64(p, id);
    ds_put32(p + 8, attempt);
    p[12] = outcome;
    p[13] = p[14] = p[15] = 0;
    ds_put32(p + 16, (uint32_t)code);
    ds_put64(p + 20, run_ns);
    ds_put64(p + 28, total);
    return p;
}

int ds_put_result_timed(ds_buf_t *b, uint64_t id, uint32_t attempt, uint8_t outcome, int32_t code,
                        uint64_t run_ns, uint64_t start_ns, uint32_t worker, uint64_t total,
                        const void *data, size_t n, int more) {
    uint8_t *p = result_begin(b, id, attempt, outcome, code, run_ns, total, more, 1, n);
    if (!p) return WEFT_ENOMEM;
    ds_put64(p + DS_RESULT_FIXED, start_ns);
    ds_put32(p + DS_RESULT_FIXED + 8, worker);
    if (n) memcpy(p + DS_RESULT_FIXED + DS_TIMED_LEN, data, n);
    return 0;
}

int ds_put_pong(ds_buf_t *b, uint64_t token, uint64_t clock_ns) {
    uint8_t *p = rec_begin(b, DS_R_PONG, DS_F_TIME, 16);
    if (!p) return WEFT_ENOMEM;
    ds_put64(p, token);
    ds_put64(p + 8, clock_ns);
    return 0;
}

int ds_put_result(ds_buf_t *b, uint64_t id, uint32_t attempt, uint8_t outcome, int32_t code,
                  uint64_t run_ns, uint64_t total, const void *data, size_t n, int more) {
    uint8_t *p = rec_begin(b, DS_R_RESULT, more ? DS_F_MORE : 0, DS_RESULT_FIXED + n);
    if (!p) return WEFT_ENOMEM;
    ds_put64(p, id);
    ds_put32(p + 8, attempt);
    p[12] = outcome;
    p[13] = p[14] = p[15] = 0;
    ds_put32(p + 16, (uint32_t)code);
    ds_put64(p + 20, run_ns);
    ds_put64(p + 28, total);
    if (n) memcpy(p + DS_RESULT_FIXED, data, n);
    return 0;
}

int ds_put_chunk(ds_buf_t *b, uint64_t id, uint32_t attempt, uint64_t offset, const void *data,
                 size_t n, int last) {
    uint8_t *p = rec_begin(b, DS_R_CHUNK, last ? DS_F_LAST : 0, DS_CHUNK_FIXED + n);
    if (!p) return WEFT_ENOMEM;
    ds_put64(p, id);
    ds_put32(p + 8, attempt);
    ds_put64(p + 12, offset);
    if (n) memcpy(p + DS_CHUNK_FIXED, data, n);
    return 0;
}

int ds_put_idatt(ds_buf_t *b, uint8_t kind, uint64_t id, uint32_t attempt) {
    uint8_t *p = rec_begin(b, kind, 0, 12);
    if (!p) return WEFT_ENOMEM;
    ds_put64(p, id);
    ds_put32(p + 8, attempt);
    return 0;
}

int ds_put_u32(ds_buf_t *b, uint8_t kind, uint32_t v) {
    uint8_t *p = rec_begin(b, kind, 0, 4);
    if (!p) return WEFT_ENOMEM;
    ds_put32(p, v);
    return 0;
}

int ds_put_u64(ds_buf_t *b, uint8_t kind, uint64_t v) {
    uint8_t *p = rec_begin(b, kind, 0, 8);
    if (!p) return WEFT_ENOMEM;
    ds_put64(p, v);
    return 0;
}

int ds_put_info(ds_buf_t *b, uint32_t workers, uint64_t max_bytes) {
    uint8_t *p = rec_begin(b, DS_R_INFO, 0, 16);
    if (!p) return WEFT_ENOMEM;
    ds_put32(p, workers);
    ds_put32(p + 4, 0);
    ds_put64(p + 8, max_bytes);
    return 0;
}

int ds_put_bye(ds_buf_t *b, uint8_t reason, const char *text) {
    size_t n = text ? strlen(text) : 0;
    if (n > DS_BYE_TEXT_MAX) n = DS_BYE_TEXT_MAX;
    uint8_t *p = rec_begin(b, DS_R_GOODBYE, 0, 1 + n);
    if (!p) return WEFT_ENOMEM;
    p[0] = reason;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        p[1 + i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    return 0;
}

void ds_sanitize(const void *data, size_t n, char *out, size_t size) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = data;
    size_t o = 0;
    if (!size) return;
    if (n > 64) n = 64;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            if (o + 2 > size) break;
            out[o++] = (char)c;
        } else {
            if (o + 5 > size) break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = 0;
}
