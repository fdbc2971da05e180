/* wlua_remote.c: the named task "weft.lua", Lua code that runs on another
 * machine (the request and answer formats are in wlua.h, "Remote tasks").
 *
 * The code travels as source text: a node never loads bytecode from the
 * network (bytecode can crash the Lua VM that loads it, and weft's nodes
 * survive any input), so the chunk is loaded with mode "t", and a chunk
 * that starts like a binary one is refused with a message that says so.
 *
 * Sending the source with every task would cost its bytes and a parse per
 * task, so a request may carry only the code's key (its SHA-256). The node
 * keeps what it received in a store shared by its workers (this file), and
 * each worker keeps the functions it made (wlua_worker.c): a task whose key
 * is held runs without parsing anything. A key the node does not hold is
 * answered with the status WLUA_REMOTE_MISS before anything runs; the
 * client (wlua_cluster.c) then sends the task again with its source. A
 * request with source is checked against its key, so a client cannot
 * file code under another code's key.
 *
 * The store is bounded (WLUA_STORE_MAX entries, WLUA_STORE_BYTES bytes)
 * and drops the code used least recently first; an entry in use by a
 * running task is kept alive by its reference until the task ends. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "wlua.h"

int wlua_sha256(const void *p, size_t n, unsigned char out[WLUA_REMOTE_KEY])
{
    unsigned int len = 0;
    if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != WLUA_REMOTE_KEY)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

int wlua_request_build(wlua_buf *out, unsigned flags, const char *name, size_t name_len,
                       const char *src, size_t src_len, const char *args, size_t args_len,
                       unsigned char key[WLUA_REMOTE_KEY])
{
    if (name_len < 1 || name_len > WLUA_REMOTE_NAME_MAX || src_len > WLUA_REMOTE_SRC_MAX)
        return -1;
    /* the code block first, in a buffer of its own, to hash it */
    wlua_buf code = {0};
    unsigned char k[WLUA_REMOTE_KEY];
    unsigned char head[4] = {'W', 'R', 1, (unsigned char)flags};
    int rc = wlua_put_varint(&code, name_len) || wlua_buf_put(&code, name, name_len) ||
             wlua_put_varint(&code, src_len) || wlua_buf_put(&code, src, src_len) ||
             wlua_sha256(code.data, code.len, k) || wlua_buf_put(out, head, sizeof head) ||
             wlua_buf_put(out, k, sizeof k) ||
             ((flags & WLUA_REMOTE_F_SOURCE) && wlua_buf_put(out, code.data, code.len)) ||
             wlua_buf_put(out, args, args_len);
    wlua_buf_free(&code);
    if (rc)
        return -1;
    if (key)
        memcpy(key, k, sizeof k);
    return 0;
}

static int parse_fail(char *err, size_t errsz, const char *why)
{
    snprintf(err, errsz, "weft.lua: malformed request: %s", why);
    return -1;
}

int wlua_request_parse(const char *p, size_t len, wlua_request *r, char *err, size_t errsz)
{
    const char *end = p + len;
    memset(r, 0, sizeof *r);
    if (!p || len < WLUA_REMOTE_HEAD || memcmp(p, WLUA_REMOTE_MAGIC, 3) != 0)
        return parse_fail(err, errsz, "not a version 1 weft.lua request (\"WR\" 1)");
    r->flags = (unsigned char)p[3];
    if (r->flags & ~(unsigned)(WLUA_REMOTE_F_SOURCE | WLUA_REMOTE_F_ERRVAL))
        return parse_fail(err, errsz, "unknown flags");
    r->key = (const unsigned char *)p + 4;
    p += WLUA_REMOTE_HEAD;
    if (r->flags & WLUA_REMOTE_F_SOURCE) {
        uint64_t n;
        if (wlua_get_varint(&p, end, &n) || n < 1 || n > WLUA_REMOTE_NAME_MAX ||
            n > (uint64_t)(end - p))
            return parse_fail(err, errsz, "bad chunk name length");
        r->name = p;
        r->name_len = (size_t)n;
        p += n;
        if (memchr(r->name, '\0', r->name_len))
            return parse_fail(err, errsz, "chunk name with a zero byte");
        if (wlua_get_varint(&p, end, &n) || n > WLUA_REMOTE_SRC_MAX || n > (uint64_t)(end - p))
            return parse_fail(err, errsz, "bad source length");
        r->src = p;
        r->src_len = (size_t)n;
        p += n;
    }
    r->args = p;
    r->args_len = (size_t)(end - p);
    if (!wlua_is_encoded(r->args, r->args_len))
        return parse_fail(err, errsz, "the arguments are not an encoded value sequence");
    return 0;
}

/* ------------------------------------------------------------------ */
/* The node's store                                                    */

typedef struct store_entry {
    wlua_source *src; /* the store's reference */
    uint64_t used;    /* tick of the last use */
} store_entry;

static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;
static store_entry store[WLUA_STORE_MAX];
static size_t store_n, store_bytes;
static uint64_t store_tick;

void wlua_source_release(wlua_source *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&store_mu);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&store_mu);
    if (last)
        free(s);
}

/* The index of key in the store, or -1 (lock held). A linear scan: the
 * store is small, and a hit costs one compare of 32 bytes per entry. */
static long store_find(const unsigned char *key)
{
    for (size_t i = 0; i < store_n; i++)
        if (memcmp(store[i].src->key, key, WLUA_REMOTE_KEY) == 0)
            return (long)i;
    return -1;
}

wlua_source *wlua_store_get(const unsigned char key[WLUA_REMOTE_KEY])
{
    pthread_mutex_lock(&store_mu);
    long i = store_find(key);
    wlua_source *s = NULL;
    if (i >= 0) {
        s = store[i].src;
        s->refs++;
        store[i].used = ++store_tick;
    }
    pthread_mutex_unlock(&store_mu);
    return s;
}

/* Drops entry i (lock held); the memory goes with the last reference. */
static void store_drop(size_t i)
{
    wlua_source *s = store[i].src;
    store_bytes -= s->len;
    store[i] = store[--store_n];
    if (--s->refs == 0)
        free(s);
}

wlua_source *wlua_store_put(const unsigned char key[WLUA_REMOTE_KEY], const char *name,
                            size_t name_len, const char *src, size_t src_len)
{
    if (name_len > WLUA_REMOTE_NAME_MAX)
        return NULL;
    wlua_source *s = malloc(sizeof *s + src_len + 1);
    if (!s)
        return NULL;
    s->refs = 1; /* the caller's */
    memcpy(s->key, key, WLUA_REMOTE_KEY);
    memcpy(s->name, name, name_len);
    s->name[name_len] = '\0';
    s->len = src_len;
    memcpy(s->text, src, src_len);
    s->text[src_len] = '\0';
    pthread_mutex_lock(&store_mu);
    long i = store_find(key);
    if (i >= 0) { /* another worker stored it meanwhile: use that one */
        wlua_source *have = store[i].src;
        have->refs++;
        store[i].used = ++store_tick;
        pthread_mutex_unlock(&store_mu);
        free(s);
        return have;
    }
    if (src_len <= WLUA_STORE_BYTES) {
        while (store_n > 0 && (store_n >= WLUA_STORE_MAX || store_bytes + src_len > WLUA_STORE_BYTES)) {
            size_t old = 0;
            for (size_t j = 1; j < store_n; j++)
                if (store[j].used < store[old].used)
                    old = j;
            store_drop(old);
        }
        s->refs++; /* the store's */
        store[store_n].src = s;
        store[store_n].used = ++store_tick;
        store_n++;
        store_bytes += src_len;
    } /* else too large to keep: it runs, and the next request sends it again */
    pthread_mutex_unlock(&store_mu);
    return s;
}

/* ------------------------------------------------------------------ */
/* The task                                                            */

/* Stores the answer for a failure: with ERRVAL, status 0 and the message
 * as an error value; else the failure status, and the message as the
 * result (what a local Lua node stores when it fails). */
static int answer_error(weft_node_ctx_t *ctx, unsigned flags, int status, const char *msg,
                        size_t len)
{
    wlua_buf out = {0};
    unsigned char tag = 5;
    if (len > 8192)
        len = 8192;
    int errval = (flags & WLUA_REMOTE_F_ERRVAL) != 0;
    int rc = (errval && wlua_buf_put(&out, WLUA_REMOTE_ERRMAGIC, 3)) ||
             wlua_buf_put(&out, WLUA_MAGIC, WLUA_MAGIC_LEN) || wlua_put_varint(&out, 1) ||
             wlua_buf_put(&out, &tag, 1) || wlua_put_varint(&out, len) ||
             wlua_buf_put(&out, msg, len);
    if (!rc)
        rc = weft_node_set_result(ctx, out.data, out.len);
    wlua_buf_free(&out);
    if (rc)
        return WEFT_ENOMEM;
    return errval ? 0 : status;
}

int wlua_remote_run(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    size_t len;
    const char *p = weft_node_arg(ctx, &len);
    wlua_request r;
    char err[WLUA_ERRMAX];
    if (wlua_request_parse(p, len, &r, err, sizeof err) != 0) {
        /* flags are trusted only as far as they parse: a readable header
         * asking for ERRVAL gets the message as a value */
        unsigned flags = p && len >= 4 && memcmp(p, WLUA_REMOTE_MAGIC, 3) == 0
                             ? (unsigned char)p[3] & WLUA_REMOTE_F_ERRVAL
                             : 0;
        return answer_error(ctx, flags, WLUA_REMOTE_BADREQ, err, strlen(err));
    }
    wlua_source *s;
    if (r.flags & WLUA_REMOTE_F_SOURCE) {
        unsigned char k[WLUA_REMOTE_KEY];
        /* the code block is the bytes from the name's varint to the end
         * of the source */
        const char *block = p + WLUA_REMOTE_HEAD;
        if (wlua_sha256(block, (size_t)(r.src + r.src_len - block), k) != 0)
            return answer_error(ctx, r.flags, WEFT_ESYSTEM, "weft.lua: SHA-256 failed", 24);
        if (memcmp(k, r.key, sizeof k) != 0) {
            static const char msg[] =
                "weft.lua: malformed request: the key is not the SHA-256 of the code block";
            return answer_error(ctx, r.flags, WLUA_REMOTE_BADREQ, msg, sizeof msg - 1);
        }
        s = wlua_store_get(r.key);
        if (!s)
            s = wlua_store_put(r.key, r.name, r.name_len, r.src, r.src_len);
        if (!s)
            return answer_error(ctx, r.flags, WEFT_ENOMEM, "weft.lua: out of memory", 23);
    } else if (!(s = wlua_store_get(r.key))) {
        return WLUA_REMOTE_MISS; /* nothing ran: the client sends the source */
    }
    wlua_buf out = {0};
    int status = wlua_run_source(s, r.args, r.args_len, ctx, &out);
    wlua_source_release(s);
    int rc;
    if (status == 0) {
        rc = weft_node_set_result(ctx, out.data, out.len);
        wlua_buf_free(&out);
        return rc ? rc : 0;
    }
    /* out holds the encoded message (one string) */
    const char *q = out.data, *end = out.data + out.len;
    uint64_t n, slen;
    const char *msg = "weft.lua: the task failed (no message)";
    size_t mlen = strlen(msg);
    if (wlua_is_encoded(q, out.len)) {
        q += WLUA_MAGIC_LEN;
        if (!wlua_get_varint(&q, end, &n) && n >= 1 && q < end && *q == 5) {
            q++;
            if (!wlua_get_varint(&q, end, &slen) && slen <= (uint64_t)(end - q)) {
                msg = q;
                mlen = (size_t)slen;
            }
        }
    }
    rc = answer_error(ctx, r.flags, WLUA_REMOTE_ERROR, msg, mlen);
    wlua_buf_free(&out);
    return rc;
}
