/* ds_conn.c: one connection's buffers. Input is read into one buffer and
 * decoded in place (ds_frame_decode points into it; sealed frames are
 * opened in place), so a frame is never copied before it is handled.
 * Output records are appended to the plaintext of an open frame; the
 * frame is sealed when the next record would not fit or at the end of the
 * event-loop turn (ds_conn_flush), so one turn's records leave in as few
 * frames and one write as possible (corking without a timer). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ds.h"

void ds_conn_init(ds_conn_t *c, int fd) {
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->last_rx = c->last_tx = wf_now_ns();
}

void ds_conn_close(ds_conn_t *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    ds_buf_free(&c->in);
    ds_buf_free(&c->pt);
    ds_buf_free(&c->out);
    ds_aead_free(&c->tx);
    ds_aead_free(&c->rx);
    c->in_off = c->out_off = 0;
}

void ds_sock_opts(int fd, int dead_ms) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (dead_ms > 0) {
        unsigned int ms = (unsigned int)dead_ms;
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
    }
}

ssize_t ds_conn_read(ds_conn_t *c) {
    ds_buf_t *b = &c->in;
    size_t want;
    if (!c->authed) {
        if (b->len >= DS_PREAUTH_BUF) return DS_AGAIN; /* decoder will refuse */
        want = DS_PREAUTH_BUF - b->len;
    } else {
        /* room for the frame under way (its length is checked already by
         * the decoder before we get here again), or a read chunk */
        size_t need = ds_frame_need(b->p + c->in_off, b->len - c->in_off);
        want = DS_READ_CHUNK;
        if (need > b->len - c->in_off && need - (b->len - c->in_off) > want)
            want = need - (b->len - c->in_off);
    }
    if (b->cap - b->len < want) {
        if (c->in_off) ds_conn_compact(c);
        if (ds_buf_reserve(b, want)) return DS_ERROR;
    }
    for (;;) {
        ssize_t r = read(c->fd, b->p + b->len, b->cap - b->len < want ? b->cap - b->len : want);
        if (r > 0) {
            b->len += (size_t)r;
            c->bytes_in += (uint64_t)r;
            c->last_rx = wf_now_ns();
            return r;
        }
        if (r == 0) return 0;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return DS_AGAIN;
        return DS_ERROR;
    }
}

int ds_conn_frame(ds_conn_t *c, unsigned allowed, ds_frame_t *f, int *why) {
    int rc = ds_frame_decode(c->in.p + c->in_off, c->in.len - c->in_off, allowed, DS_FRAME_MAX,
                             f, why);
    if (rc == DS_FRAME) c->in_off += f->size;
    return rc;
}

void ds_conn_compact(ds_conn_t *c) {
    if (!c->in_off) return;
    ds_buf_consume(&c->in, c->in_off);
    c->in_off = 0;
}

int ds_conn_seal(ds_conn_t *c) {
    if (!c->pt.len) return 0;
    if (ds_buf_reserve(&c->out, DS_HDR + c->pt.len + DS_TAG)) return WEFT_ENOMEM;
    int rc = ds_seal(&c->tx, c->pt.p, c->pt.len, c->out.p + c->out.len);
    if (rc) return rc;
    c->out.len += DS_HDR + c->pt.len + DS_TAG;
    c->pt.len = 0;
    return 0;
}

int ds_conn_room(ds_conn_t *c, size_t n) {
    if (c->pt.len && c->pt.len + DS_REC_HDR + n > DS_FRAME_MAX) {
        int rc = ds_conn_seal(c);
        if (rc) return rc;
    }
    return ds_buf_reserve(&c->pt, DS_REC_HDR + n);
}

int ds_conn_raw(ds_conn_t *c, const void *p, size_t n) {
    if (ds_buf_reserve(&c->out, n)) return WEFT_ENOMEM;
    memcpy(c->out.p + c->out.len, p, n);
    c->out.len += n;
    return 0;
}

int ds_conn_flush(ds_conn_t *c, int *more) {
    *more = 0;
    if (c->authed && ds_conn_seal(c)) return DS_ERROR;
    while (c->out_off < c->out.len) {
        struct iovec iov = {c->out.p + c->out_off, c->out.len - c->out_off};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL); /* no SIGPIPE for a closed peer */
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                *more = 1;
                break;
            }
            return DS_ERROR;
        }
        c->out_off += (size_t)w;
        c->bytes_out += (uint64_t)w;
        c->last_tx = wf_now_ns();
        if ((size_t)w < iov.iov_len) { /* the kernel's buffer is full */
            *more = 1;
            break;
        }
    }
    if (c->out_off == c->out.len) {
        c->out.len = c->out_off = 0;
        /* do not keep a huge buffer after a burst of large bytes */
        if (c->out.cap > ((size_t)8 << 20)) ds_buf_free(&c->out);
    } else if (c->out_off > (c->out.len >> 1)) {
        ds_buf_consume(&c->out, c->out_off);
        c->out_off = 0;
    }
    return 0;
}

int ds_conn_answer_ping(ds_conn_t *c, const ds_rec_t *r, const char **why) {
    uint64_t tok;
    if (ds_u64_decode(r, &tok)) {
        *why = "malformed ping";
        return -1;
    }
    /* the clock lets the client place the peer's task times on its own
     * timeline (PROTOCOL.md 5.7) */
    if (ds_conn_room(c, 16) || ds_put_pong(&c->pt, tok, (uint64_t)wf_now_ns())) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}
