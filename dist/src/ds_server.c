/* ds_server.c: a node. One I/O thread (the caller of weft_server_run) owns
 * the listening socket, every connection, an eventfd that workers and
 * signal handlers write to wake it, and a timerfd for heartbeats and
 * handshake deadlines. Worker threads run tasks (ds_exec) and never touch
 * a socket: a finished batch is queued for the I/O thread, which seals the
 * results into frames.
 *
 * Sessions (one per client connection) are isolated: each has its own
 * keys, buffers, task map and credit; a protocol error closes that one
 * session. When a session ends its queued tasks are cancelled (its "dead"
 * flag, read by each task before it starts) and its memory is freed as
 * soon as the last batch that refers to it has come back.
 *
 * Loop turn: epoll_wait; read and handle every readable session (frames ->
 * records -> tasks gathered per session); completed batches -> RESULT
 * records; streams of large results continue while their connection's
 * output is below DS_OUT_HIGH; then every session with output is flushed
 * with one write (corking: records of one turn share frames). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ds.h"
#include "ds_disc.h"

enum { EV_LISTEN = 1, EV_WAKE = 2, EV_TIMER = 3, EV_SESS = 4 };
enum { SS_HELLO = 0, SS_PROOF = 1, SS_READY = 2, SS_CLOSED = 3 };

typedef struct srv_sess srv_sess_t;

struct weft_server {
    weft_server_opts_t o;
    char listen_str[WEFT_NODE_NAME_MAX];
    char unix_path[256];  /* the socket file to remove at free, or "" */
    char address[WEFT_NODE_NAME_MAX];
    int port;
    int lfd, efd, tfd, ep;
    int ev_listen, ev_wake, ev_timer; /* epoll tags */
    weft_runtime_t *rt;
    int own_rt, workers;
    double task_ns;             /* I/O thread: moving average of the tasks' run times */
    uint8_t key[DS_KEY_MAX];
    size_t key_len;
    atomic_int stop_req;   /* 1 drain, 2 now */
    atomic_int reopen_req;
    atomic_int sleeping;   /* the I/O thread is (about to be) in epoll_wait */
    atomic_int running;
    pthread_mutex_t qlock;
    ds_exec_batch_t *done_head; /* finished batches, under qlock */
    srv_sess_t *sessions;       /* every live session (I/O thread) */
    srv_sess_t *zombies;        /* closed, waiting for their batches */
    int draining;
    int64_t batches_out;        /* submitted, not yet back */
    int64_t unauth;
    ds_exec_task_t *streams;    /* results being sent in chunks */
    ds_exec_task_t **streams_tail;
    uint64_t next_token;
    /* counters (weft_server_stats reads them from any thread) */
    atomic_uint_fast64_t st_accepted, st_authed, st_refused, st_perr, st_run, st_cancelled;
    atomic_uint_fast64_t st_clients, st_unauth;
    ds_announce_t *announce; /* beacons (ds_discover.c), or NULL */
};

struct srv_sess {
    weft_server_t *s;
    int tag;              /* EV_SESS */
    int state;
    ds_conn_t c;
    ds_hs_t *hs;
    int64_t deadline;     /* handshake deadline (ns) */
    atomic_int dead;      /* read by tasks: do not start */
    int64_t refs;         /* I/O thread: 1 while open + batches out */
    ds_map_t tasks;       /* id -> ds_exec_task_t: received, not answered */
    uint64_t granted, outstanding; /* credit */
    ds_exec_task_t **gather; /* complete tasks of this turn */
    size_t ngather, capgather;
    int in_list;          /* on the turn's gather list */
    srv_sess_t *next, *next_turn;
    char peer[80];
    /* results kept for input references (PROTOCOL.md 5.1): id -> kept_t,
     * oldest first in a FIFO, at most DS_KEEP_MAX bytes */
    ds_map_t kept;
    struct kept *kept_head, *kept_tail;
    size_t kept_bytes;
};

typedef struct kept {
    uint64_t id;
    size_t len;
    struct kept *next;
    uint8_t bytes[];
} kept_t;

static void kept_drop_oldest(srv_sess_t *ss) {
    kept_t *k = ss->kept_head;
    ss->kept_head = k->next;
    if (!ss->kept_head) ss->kept_tail = NULL;
    ds_map_del(&ss->kept, k->id);
    ss->kept_bytes -= k->len;
    wf_free(k);
}

static void kept_free(srv_sess_t *ss) {
    while (ss->kept_head) kept_drop_oldest(ss);
    ds_map_free(&ss->kept);
}

/* Keeps a copy of task id's result for later references (best effort:
 * without memory it is not kept, and a reference to it asks for the
 * bytes). */
static void kept_add(srv_sess_t *ss, uint64_t id, const void *p, size_t n) {
    if (n > DS_KEEP_MAX || ds_map_get(&ss->kept, id)) return;
    while (ss->kept_head && ss->kept_bytes + n > DS_KEEP_MAX) kept_drop_oldest(ss);
    kept_t *k = wf_malloc(sizeof *k + n);
    if (!k) return;
    k->id = id;
    k->len = n;
    k->next = NULL;
    memcpy(k->bytes, p, n);
    if (ds_map_put(&ss->kept, id, k)) {
        wf_free(k);
        return;
    }
    if (ss->kept_tail) ss->kept_tail->next = k;
    else ss->kept_head = k;
    ss->kept_tail = k;
    ss->kept_bytes += n;
}

/* Replaces the references of t's input frame by the kept bytes (a new
 * frame). 0 (also for a frame without references), 1 when a referenced
 * result is not held (the task is answered MISSING), -1 without memory,
 * -2 for a malformed frame (left to the task, which fails as a node
 * error). I/O thread. */
static int resolve_refs(srv_sess_t *ss, ds_exec_task_t *t) {
    if (t->arg_len < 12) return -2;
    uint32_t n = ds_get32(t->arg);
    if (n > DS_INPUTS_MAX || (size_t)n > (t->arg_len - 12) / 8) return -2;
    size_t grow = 0, refs = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t l = ds_get64(t->arg + 12 + (size_t)i * 8);
        if (!(l & DS_INPUT_REF)) continue;
        kept_t *k = ds_map_get(&ss->kept, l & ~DS_INPUT_REF);
        if (!k) return 1;
        grow += k->len;
        refs++;
    }
    if (!refs) return 0;
    if (grow > SIZE_MAX / 2 || t->arg_len + grow > ss->s->o.max_bytes + (size_t)1) return -2;
    uint8_t *f = wf_malloc(t->arg_len + grow);
    if (!f) return -1;
    size_t head = 12 + (size_t)n * 8;
    memcpy(f, t->arg, 12);
    uint64_t al = ds_get64(t->arg + 4);
    if (al > t->arg_len - head) {
        wf_free(f);
        return -2;
    }
    size_t out = head, in = head;
    memcpy(f + out, t->arg + in, (size_t)al);
    out += (size_t)al;
    in += (size_t)al;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t l = ds_get64(t->arg + 12 + (size_t)i * 8);
        if (l & DS_INPUT_REF) {
            kept_t *k = ds_map_get(&ss->kept, l & ~DS_INPUT_REF);
            memcpy(f + out, k->bytes, k->len);
            out += k->len;
            ds_put64(f + 12 + (size_t)i * 8, k->len);
        } else {
            if (l > t->arg_len - in) {
                wf_free(f);
                return -2;
            }
            memcpy(f + out, t->arg + in, (size_t)l);
            out += (size_t)l;
            in += (size_t)l;
            ds_put64(f + 12 + (size_t)i * 8, l);
        }
    }
    wf_free(t->arg);
    t->arg = f;
    t->arg_len = out;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Logging                                                             */

static void slog(weft_server_t *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void slog(weft_server_t *s, int level, const char *fmt, ...) {
    if (level > s->o.log_level) return;
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (s->o.log) {
        s->o.log(s->o.log_data, level, line);
        return;
    }
    static const char *names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "weftd[%d] %s: %s\n", (int)getpid(), names[level & 3], line);
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

void weft_server_opts_init(weft_server_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:7117";
    o->max_unauth = 64;
    o->handshake_timeout_s = 5;
    o->heartbeat_s = 0.1;
    o->dead_after_s = 10;
    o->max_bytes = WEFT_DIST_MAX_BYTES;
    o->credit_per_worker = 256;
    o->log_level = WEFT_LOG_INFO;
    o->announce_interval_s = 1;
}

static int64_t ns_of(double s) { return (int64_t)(s * 1e9); }

static int bad_seconds(double v) { return !(v > 0) || isinf(v) || v > 1e6; }

/* ------------------------------------------------------------------ */
/* Sessions                                                            */

static void sess_unref(srv_sess_t *ss);
static uint64_t credit_target(const weft_server_t *s);

static void task_free(ds_exec_task_t *t) {
    wf_free(t->arg);
    wf_free(t);
}

/* Ends a session: closes the socket, cancels its queued tasks (the dead
 * flag), frees the tasks not handed to a batch. reason is logged. */
static void sess_close(srv_sess_t *ss, int level, const char *why) {
    weft_server_t *s = ss->s;
    if (ss->state == SS_CLOSED) return;
    if (why) slog(s, level, "client %s: %s", ss->peer, why);
    if (ss->state != SS_READY) {
        s->unauth--;
        atomic_fetch_sub(&s->st_unauth, 1);
    } else {
        atomic_fetch_sub(&s->st_clients, 1);
    }
    ss->state = SS_CLOSED;
    atomic_store_explicit(&ss->dead, 1, memory_order_relaxed);
    epoll_ctl(s->ep, EPOLL_CTL_DEL, ss->c.fd, NULL);
    ds_conn_close(&ss->c);
    if (ss->hs) {
        ds_hs_clear(ss->hs);
        wf_free(ss->hs);
        ss->hs = NULL;
    }
    /* tasks still receiving their argument, or gathered this turn, belong
     * to the session alone; those in batches come back and are freed then */
    for (size_t i = 0; i < ss->tasks.cap; i++) {
        ds_exec_task_t *t = ss->tasks.vals[i];
        if (t && !t->batch) task_free(t);
    }
    ds_map_free(&ss->tasks);
    kept_free(ss);
    ss->ngather = 0;
    /* unlink from the live list */
    for (srv_sess_t **pp = &s->sessions; *pp; pp = &(*pp)->next)
        if (*pp == ss) {
            *pp = ss->next;
            break;
        }
    ss->next = s->zombies;
    s->zombies = ss;
    sess_unref(ss);
}

static void sess_unref(srv_sess_t *ss) {
    if (--ss->refs > 0) return;
    weft_server_t *s = ss->s;
    for (srv_sess_t **pp = &s->zombies; *pp; pp = &(*pp)->next)
        if (*pp == ss) {
            *pp = ss->next;
            break;
        }
    wf_free(ss->gather);
    wf_free(ss);
}

/* A protocol error after authentication: GOODBYE with the reason, one
 * last write, close. */
static void sess_perr(srv_sess_t *ss, const char *why) {
    atomic_fetch_add(&ss->s->st_perr, 1);
    if (ss->state == SS_READY && ds_conn_room(&ss->c, DS_BYE_TEXT_MAX + 1) == 0 &&
        ds_put_bye(&ss->c.pt, DS_BYE_PROTOCOL, why) == 0) {
        int more;
        ds_conn_flush(&ss->c, &more);
    }
    char msg[256];
    snprintf(msg, sizeof msg, "protocol error: %.200s; connection closed", why);
    sess_close(ss, WEFT_LOG_WARN, msg);
}

/* Before authentication: REFUSE(reason), close. */
static void sess_refuse(srv_sess_t *ss, uint8_t reason, const char *why) {
    uint8_t fr[DS_HDR + DS_REFUSE_LEN];
    ds_refuse_frame(fr, reason);
    ssize_t w = send(ss->c.fd, fr, sizeof fr, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    atomic_fetch_add(&ss->s->st_refused, 1);
    char msg[256];
    snprintf(msg, sizeof msg, "refused: %.200s", why);
    sess_close(ss, WEFT_LOG_WARN, msg);
}

static void want_out(srv_sess_t *ss, int on) {
    if (ss->c.want_out == on || ss->state == SS_CLOSED) return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = &ss->tag};
    epoll_ctl(ss->s->ep, EPOLL_CTL_MOD, ss->c.fd, &ev);
    ss->c.want_out = on;
}

static void flush_sess(srv_sess_t *ss) {
    if (ss->state == SS_CLOSED || !ds_conn_pending(&ss->c)) return;
    int more = 0;
    if (ds_conn_flush(&ss->c, &more)) {
        sess_close(ss, WEFT_LOG_INFO, "write failed; connection closed");
        return;
    }
    want_out(ss, more);
}

/* ------------------------------------------------------------------ */
/* Handshake                                                           */

static void sess_handshake(srv_sess_t *ss, const ds_frame_t *f) {
    weft_server_t *s = ss->s;
    if (ss->state == SS_HELLO) {
        uint8_t out[DS_HDR + DS_SHELLO_LEN];
        int refuse = 0;
        int rc = ds_hs_server_hello(ss->hs, f, out, &refuse);
        if (rc) {
            if (refuse == DS_REFUSE_VERSION) {
                char v[64];
                snprintf(v, sizeof v, "speaks protocol versions %u..%u only, this node %d",
                         f->body[64], f->body[65], DS_VERSION);
                sess_refuse(ss, DS_REFUSE_VERSION, v);
            } else {
                sess_refuse(ss, DS_REFUSE_REFUSED, "malformed hello");
            }
            return;
        }
        ds_conn_raw(&ss->c, out, sizeof out);
        ss->state = SS_PROOF;
        return;
    }
    int rc = ds_hs_server_finish(ss->hs, f);
    if (rc) {
        sess_refuse(ss, DS_REFUSE_REFUSED, "authentication failed (wrong key or altered handshake)");
        return;
    }
    rc = ds_hs_split(ss->hs, &ss->c.tx, &ss->c.rx);
    wf_free(ss->hs);
    ss->hs = NULL;
    if (rc) {
        sess_close(ss, WEFT_LOG_ERROR, "cannot set up keys");
        return;
    }
    ss->c.authed = 1;
    ss->state = SS_READY;
    s->unauth--;
    atomic_fetch_sub(&s->st_unauth, 1);
    atomic_fetch_add(&s->st_clients, 1);
    atomic_fetch_add(&s->st_authed, 1);
    uint64_t grant = credit_target(s);
    ss->granted = grant;
    if (ds_conn_room(&ss->c, 16 + DS_REC_HDR + 4) || ds_put_info(&ss->c.pt, (uint32_t)s->workers,
                                                                (uint64_t)s->o.max_bytes) ||
        ds_put_u32(&ss->c.pt, DS_R_CREDIT, (uint32_t)grant)) {
        sess_close(ss, WEFT_LOG_ERROR, "out of memory");
        return;
    }
    if (s->draining) ds_put_bye(&ss->c.pt, DS_BYE_DRAINING, "node draining");
    slog(s, WEFT_LOG_INFO, "client %s: authenticated", ss->peer);
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

static int answer_now(srv_sess_t *ss, uint64_t id, uint32_t attempt, uint8_t outcome, int32_t code);

/* Credit (PROTOCOL.md 5.5): what a client may have in flight here. It
 * starts at DS_CREDIT_START per worker, so that a few long tasks spread
 * over the nodes (and over worker processes) as they finish instead of
 * queueing behind each other where they first landed; while tasks are
 * short it grows to about DS_CREDIT_BUDGET_NS of queued work per worker,
 * at most credit_per_worker per worker, so that tiny tasks keep every
 * worker fed across the round trip. Grants are never taken back. */
#define DS_CREDIT_START 1
#define DS_CREDIT_BUDGET_NS 2e6

static uint64_t credit_target(const weft_server_t *s) {
    double per = DS_CREDIT_START;
    if (s->task_ns > 0) per = DS_CREDIT_BUDGET_NS / s->task_ns;
    if (per < DS_CREDIT_START) per = DS_CREDIT_START;
    if (per > s->o.credit_per_worker) per = s->o.credit_per_worker;
    uint64_t grant = (uint64_t)s->workers * (uint64_t)per;
    if (grant < 1) grant = 1;
    if (grant > 1u << 20) grant = 1u << 20;
    return grant;
}

/* More credit for a session once its tasks proved short. I/O thread. */
static int grow_credit(srv_sess_t *ss) {
    uint64_t want = credit_target(ss->s);
    if (want <= ss->granted || ss->state != SS_READY) return 0;
    if (ds_conn_room(&ss->c, DS_REC_HDR + 4) ||
        ds_put_u32(&ss->c.pt, DS_R_CREDIT, (uint32_t)(want - ss->granted)))
        return WEFT_ENOMEM;
    ss->granted = want;
    return 0;
}

static int gather(srv_sess_t *ss, ds_exec_task_t *t) {
    if (t->inputs) {
        int r = resolve_refs(ss, t);
        if (r == -1) return WEFT_ENOMEM;
        if (r == 1) { /* not held (dropped, or another connection's): ask for the bytes */
            ds_map_del(&ss->tasks, t->id);
            int rc = answer_now(ss, t->id, t->attempt, DS_OUT_MISSING, 0);
            task_free(t);
            return rc;
        }
    }
    if (ss->ngather == ss->capgather) {
        size_t cap = ss->capgather ? ss->capgather * 2 : 64;
        ds_exec_task_t **g = wf_realloc(ss->gather, cap * sizeof *g);
        if (!g) return WEFT_ENOMEM;
        ss->gather = g;
        ss->capgather = cap;
    }
    ss->gather[ss->ngather++] = t;
    return 0;
}

static int answer_now(srv_sess_t *ss, uint64_t id, uint32_t attempt, uint8_t outcome, int32_t code) {
    if (ds_conn_room(&ss->c, DS_RESULT_FIXED)) return WEFT_ENOMEM;
    ss->outstanding--;
    return ds_put_result(&ss->c.pt, id, attempt, outcome, code, 0, 0, NULL, 0, 0);
}

/* One TASK record. 0, or a protocol error message in *why. */
static int on_task(srv_sess_t *ss, const ds_rec_t *r, const char **why) {
    weft_server_t *s = ss->s;
    ds_task_rec_t tr;
    if (ds_task_decode(r, &tr)) return *why = "malformed task record", -1;
    if (ss->outstanding >= ss->granted) return *why = "task beyond the credit granted", -1;
    if (ds_map_get(&ss->tasks, tr.id)) return *why = "task id already in use", -1;
    ss->outstanding++;
    if (tr.total > s->o.max_bytes) {
        /* the client checks this limit before sending: a peer that does
         * not is broken; answered and closed all the same */
        return *why = "argument over the node's limit", -1;
    }
    if (s->draining) {
        if (tr.more) return *why = "task with chunks sent to a draining node", -1;
        return answer_now(ss, tr.id, tr.attempt, DS_OUT_REFUSED, 0) ? (*why = "out of memory", -1) : 0;
    }
    ds_exec_task_t *t = wf_calloc(1, sizeof *t + tr.name_len + 1);
    uint8_t *arg = NULL;
    if (t && tr.total && !(arg = wf_malloc((size_t)tr.total))) {
        wf_free(t);
        t = NULL;
    }
    if (!t) {
        slog(s, WEFT_LOG_WARN, "client %s: out of memory for a task of %llu bytes", ss->peer,
             (unsigned long long)tr.total);
        return answer_now(ss, tr.id, tr.attempt, DS_OUT_NODE_ERROR, WEFT_ENOMEM)
                   ? (*why = "out of memory", -1) : 0;
    }
    t->id = tr.id;
    t->attempt = tr.attempt;
    t->name = (char *)(t + 1);
    memcpy(t->name, tr.name, tr.name_len);
    t->name[tr.name_len] = 0;
    t->arg = arg;
    t->arg_len = (size_t)tr.total;
    t->inputs = tr.inputs;
    if (tr.n) memcpy(arg, tr.data, tr.n);
    t->have = tr.n;
    t->dead = &ss->dead;
    t->owner = ss;
    if (ds_map_put(&ss->tasks, t->id, t)) {
        task_free(t);
        return *why = "out of memory", -1;
    }
    if (!tr.more && gather(ss, t)) return *why = "out of memory", -1;
    return 0;
}

static int on_chunk(srv_sess_t *ss, const ds_rec_t *r, const char **why) {
    ds_chunk_rec_t cr;
    if (ds_chunk_decode(r, &cr)) return *why = "malformed chunk record", -1;
    ds_exec_task_t *t = ds_map_get(&ss->tasks, cr.id);
    if (!t || t->batch || t->attempt != cr.attempt || t->have == t->arg_len)
        return *why = "chunk of no task being received", -1;
    if (cr.offset != t->have || cr.n > t->arg_len - t->have)
        return *why = "chunk out of order or past the argument's end", -1;
    if ((t->have + cr.n == t->arg_len) != (cr.last != 0))
        return *why = "chunk LAST flag does not match the argument's end", -1;
    memcpy(t->arg + t->have, cr.data, cr.n);
    t->have += cr.n;
    if (cr.last && gather(ss, t)) return *why = "out of memory", -1;
    return 0;
}

static int on_cancel(srv_sess_t *ss, const ds_rec_t *r, const char **why) {
    uint64_t id;
    uint32_t attempt;
    if (ds_idatt_decode(r, &id, &attempt)) return *why = "malformed cancel record", -1;
    ds_exec_task_t *t = ds_map_get(&ss->tasks, id);
    if (t && t->attempt == attempt) atomic_store_explicit(&t->cancel, 1, memory_order_relaxed);
    return 0;
}

static void on_sealed(srv_sess_t *ss, const ds_frame_t *f) {
    uint8_t *body = (uint8_t *)f->body;
    if (ds_open(&ss->c.rx, f, body)) {
        atomic_fetch_add(&ss->s->st_perr, 1);
        sess_close(ss, WEFT_LOG_WARN,
                   "a frame did not open (replayed, reordered, altered or truncated); connection closed");
        return;
    }
    const uint8_t *p = body, *end = body + f->len - DS_TAG;
    ds_rec_t r;
    int got;
    while ((got = ds_rec_next(&p, end, &r)) == 1) {
        const char *why = NULL;
        int rc = 0;
        switch (r.kind) {
        case DS_R_TASK: rc = on_task(ss, &r, &why); break;
        case DS_R_CHUNK: rc = on_chunk(ss, &r, &why); break;
        case DS_R_CANCEL: rc = on_cancel(ss, &r, &why); break;
        case DS_R_PING: rc = ds_conn_answer_ping(&ss->c, &r, &why); break;
        case DS_R_PONG: {
            uint64_t tok, clk;
            if (ds_pong_decode(&r, &tok, &clk)) rc = -1, why = "malformed pong";
            break;
        }
        case DS_R_GOODBYE: {
            uint8_t reason;
            char text[4 * 64 + 1];
            if (ds_bye_decode(&r, &reason, text, sizeof text)) {
                rc = -1, why = "malformed goodbye";
            } else {
                char msg[400];
                snprintf(msg, sizeof msg, "said goodbye (%u: %s)", reason, text);
                sess_close(ss, WEFT_LOG_INFO, msg);
                return;
            }
            break;
        }
        default: rc = -1, why = "record of a kind a node never receives"; break;
        }
        if (rc) {
            sess_perr(ss, why);
            return;
        }
    }
    if (got == DS_ERROR) sess_perr(ss, "record runs past the end of its frame");
}

/* Reads and handles everything a session has sent. */
static void sess_readable(srv_sess_t *ss) {
    weft_server_t *s = ss->s;
    for (int rounds = 0; rounds < 64 && ss->state != SS_CLOSED; rounds++) {
        ssize_t n = ds_conn_read(&ss->c);
        if (n == 0) {
            sess_close(ss, ss->state == SS_READY ? WEFT_LOG_INFO : WEFT_LOG_WARN,
                       ss->state == SS_READY ? "closed the connection"
                                             : "closed the connection during the handshake");
            return;
        }
        if (n == DS_ERROR) {
            sess_close(ss, WEFT_LOG_INFO, "connection reset");
            return;
        }
        for (;;) {
            ds_frame_t f;
            int why = 0;
            unsigned allowed = ss->state == SS_HELLO   ? DS_TYPE_BIT(DS_T_HELLO)
                               : ss->state == SS_PROOF ? DS_TYPE_BIT(DS_T_CLIENT_PROOF)
                                                       : DS_TYPE_BIT(DS_T_SEALED);
            int rc = ds_conn_frame(&ss->c, allowed, &f, &why);
            if (rc == DS_NEED) break;
            if (rc == DS_ERROR) {
                char ex[4 * 16 + 1];
                size_t avail = ss->c.in.len - ss->c.in_off;
                ds_sanitize(ss->c.in.p + ss->c.in_off, avail < 16 ? avail : 16, ex, sizeof ex);
                char msg[256];
                snprintf(msg, sizeof msg, "%s (bytes: \"%s\")",
                         why == DS_WHY_VERSION ? "frame of another protocol version"
                         : why == DS_WHY_TOO_BIG ? "frame over the length limit"
                         : why == DS_WHY_TYPE    ? "frame of a type not allowed now"
                                                 : "malformed frame",
                         ex);
                if (ss->state != SS_READY) {
                    atomic_fetch_add(&s->st_perr, 1);
                    sess_refuse(ss, why == DS_WHY_VERSION ? DS_REFUSE_VERSION : DS_REFUSE_REFUSED, msg);
                } else {
                    sess_perr(ss, msg);
                }
                return;
            }
            if (ss->state == SS_READY) on_sealed(ss, &f);
            else sess_handshake(ss, &f);
            if (ss->state == SS_CLOSED) return;
        }
        ds_conn_compact(&ss->c);
        if (n == DS_AGAIN) break;
    }
}

/* ------------------------------------------------------------------ */
/* Batches                                                             */

static void batch_done(ds_exec_batch_t *b) {
    weft_server_t *s = b->owner;
    pthread_mutex_lock(&s->qlock);
    b->next = s->done_head;
    s->done_head = b;
    pthread_mutex_unlock(&s->qlock);
    /* seq_cst pairs with the I/O thread's store of sleeping and re-check */
    if (atomic_exchange(&s->sleeping, 0)) {
        uint64_t one = 1;
        ssize_t w = write(s->efd, &one, sizeof one);
        (void)w;
    }
}

/* Hands the tasks gathered this turn to the runtime, in batches. */
static void submit_gathered(srv_sess_t *ss) {
    weft_server_t *s = ss->s;
    size_t n = ss->ngather, per = (n + (size_t)s->workers - 1) / (size_t)s->workers;
    if (per > 64) per = 64;
    if (per < 1) per = 1;
    for (size_t i = 0; i < n; i += per) {
        size_t k = n - i < per ? n - i : per;
        ds_exec_batch_t *b = wf_calloc(1, sizeof *b + k * sizeof(ds_exec_task_t *));
        if (!b) {
            for (size_t j = i; j < n; j++) {
                ds_exec_task_t *t = ss->gather[j];
                ds_map_del(&ss->tasks, t->id);
                answer_now(ss, t->id, t->attempt, DS_OUT_NODE_ERROR, WEFT_ENOMEM);
                task_free(t);
            }
            break;
        }
        b->tasks = (ds_exec_task_t **)(b + 1);
        b->count = k;
        b->owner = s;
        b->done = batch_done;
        for (size_t j = 0; j < k; j++) {
            b->tasks[j] = ss->gather[i + j];
            b->tasks[j]->batch = b;
        }
        ss->refs++;
        s->batches_out++;
        if (ds_exec_submit(s->rt, b)) {
            s->batches_out--;
            ss->refs--;
            for (size_t j = 0; j < k; j++) {
                ds_exec_task_t *t = b->tasks[j];
                ds_map_del(&ss->tasks, t->id);
                answer_now(ss, t->id, t->attempt, DS_OUT_NODE_ERROR, WEFT_ENOMEM);
                task_free(t);
            }
            wf_free(b);
        }
    }
    ss->ngather = 0;
}

static void batch_free(ds_exec_batch_t *b) {
    for (size_t i = 0; i < b->count; i++) task_free(b->tasks[i]);
    ds_exec_release(b);
    wf_free(b);
}

/* Continues the chunked results while their connections have room. */
static void pump_streams(weft_server_t *s) {
    ds_exec_task_t **pp = &s->streams;
    while (*pp) {
        ds_exec_task_t *t = *pp;
        srv_sess_t *ss = t->owner;
        int finished = 0;
        if (ss->state == SS_CLOSED) {
            finished = 1;
        } else {
            while (t->sent < t->result_len && ds_conn_pending(&ss->c) < DS_OUT_HIGH) {
                size_t n = t->result_len - t->sent;
                if (n > DS_CHUNK_MAX) n = DS_CHUNK_MAX;
                int last = t->sent + n == t->result_len;
                if (ds_conn_room(&ss->c, DS_CHUNK_FIXED + n) ||
                    ds_put_chunk(&ss->c.pt, t->id, t->attempt, t->sent,
                                 (const uint8_t *)t->result + t->sent, n, last)) {
                    sess_close(ss, WEFT_LOG_ERROR, "out of memory");
                    break;
                }
                t->sent += n;
            }
            finished = ss->state == SS_CLOSED || t->sent == t->result_len;
        }
        if (!finished) {
            pp = &t->next_stream;
            continue;
        }
        *pp = t->next_stream;
        ds_exec_batch_t *b = t->batch;
        if (--b->streaming == 0) {
            sess_unref(ss);
            batch_free(b);
        }
    }
    s->streams_tail = pp;
}

static void take_done(weft_server_t *s) {
    pthread_mutex_lock(&s->qlock);
    ds_exec_batch_t *b = s->done_head;
    s->done_head = NULL;
    pthread_mutex_unlock(&s->qlock);
    while (b) {
        ds_exec_batch_t *next = b->next;
        srv_sess_t *ss = b->tasks[0]->owner;
        s->batches_out--;
        b->streaming = 0;
        double sum_ns = 0;
        size_t ran = 0;
        for (size_t i = 0; i < b->count; i++) {
            ds_exec_task_t *t = b->tasks[i];
            if (t->outcome == DS_OUT_CANCELLED) atomic_fetch_add(&s->st_cancelled, 1);
            else if (t->outcome == DS_OUT_OK || t->outcome == DS_OUT_FAILED) {
                atomic_fetch_add(&s->st_run, 1);
                sum_ns += (double)t->run_ns;
                ran++;
            }
            if (ss->state == SS_CLOSED) continue;
            ds_map_del(&ss->tasks, t->id);
            ss->outstanding--;
            size_t n = t->result_len, first = n > DS_CHUNK_MAX ? DS_CHUNK_MAX : n;
            int more = first < n;
            /* a failed task's bytes (its error message, say) come back in
             * the RESULT record alone, cut at one chunk */
            if (t->outcome == DS_OUT_FAILED) more = 0, n = first;
            else if (t->outcome != DS_OUT_OK) n = first = 0, more = 0;
            /* a large result of a graph node may be its successors' input:
             * kept, before the client can see it, for references */
            if (t->inputs && n >= DS_KEEP_MIN) kept_add(ss, t->id, t->result, n);
            /* timed: the client places the task on its own timeline */
            if (ds_conn_room(&ss->c, DS_RESULT_FIXED + DS_TIMED_LEN + first) ||
                ds_put_result_timed(&ss->c.pt, t->id, t->attempt, t->outcome,
                                    t->outcome == DS_OUT_CANCELLED ? WEFT_ECANCELED : t->code,
                                    t->run_ns, t->start_ns, (uint32_t)(t->worker < 0 ? 0 : t->worker),
                                    n, t->result, first, more)) {
                sess_close(ss, WEFT_LOG_ERROR, "out of memory");
                continue;
            }
            if (more) {
                t->sent = first;
                t->next_stream = NULL;
                *s->streams_tail = t;
                s->streams_tail = &t->next_stream;
                b->streaming++;
            }
        }
        if (ran) { /* the tasks' run times steer the credit */
            double avg = sum_ns / (double)ran;
            s->task_ns = s->task_ns > 0 ? 0.8 * s->task_ns + 0.2 * avg : avg;
            if (ss->state != SS_CLOSED && grow_credit(ss)) sess_close(ss, WEFT_LOG_ERROR, "out of memory");
        }
        if (!b->streaming) {
            sess_unref(ss);
            batch_free(b);
        }
        b = next;
    }
}

/* ------------------------------------------------------------------ */
/* Accepting, timers                                                   */

static void do_accept(weft_server_t *s) {
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                slog(s, WEFT_LOG_ERROR, "accept: %s", strerror(errno));
            return;
        }
        atomic_fetch_add(&s->st_accepted, 1);
        char host[64] = "?", serv[16] = "?";
        if (sa.ss_family == AF_UNIX) snprintf(host, sizeof host, "unix"), serv[0] = 0;
        else getnameinfo((struct sockaddr *)&sa, sl, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV);
        if (s->unauth >= s->o.max_unauth) {
            uint8_t fr[DS_HDR + DS_REFUSE_LEN];
            ds_refuse_frame(fr, DS_REFUSE_BUSY);
            ssize_t w = send(fd, fr, sizeof fr, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
            close(fd);
            atomic_fetch_add(&s->st_refused, 1);
            slog(s, WEFT_LOG_WARN, "client %s:%s: refused: %d connections are authenticating", host,
                 serv, s->o.max_unauth);
            continue;
        }
        srv_sess_t *ss = wf_calloc(1, sizeof *ss);
        ds_hs_t *hs = wf_malloc(sizeof *hs);
        if (!ss || !hs) {
            wf_free(ss);
            wf_free(hs);
            close(fd);
            continue;
        }
        ss->s = s;
        ss->tag = EV_SESS;
        ds_conn_init(&ss->c, fd);
        ds_sock_opts(fd, (int)(s->o.dead_after_s * 1000));
        ds_hs_init(hs, DS_HS_SERVER, s->key, s->key_len);
        ss->hs = hs;
        ss->refs = 1;
        ss->state = SS_HELLO;
        ss->deadline = wf_now_ns() + ns_of(s->o.handshake_timeout_s);
        snprintf(ss->peer, sizeof ss->peer, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, serv);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &ss->tag};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev)) {
            ds_hs_clear(hs);
            wf_free(hs);
            ds_conn_close(&ss->c);
            wf_free(ss);
            continue;
        }
        ss->next = s->sessions;
        s->sessions = ss;
        s->unauth++;
        atomic_fetch_add(&s->st_unauth, 1);
        slog(s, WEFT_LOG_DEBUG, "client %s: connected", ss->peer);
    }
}

static void on_timer(weft_server_t *s) {
    uint64_t ticks;
    ssize_t r = read(s->tfd, &ticks, sizeof ticks);
    (void)r;
    int64_t now = wf_now_ns(), hb = ns_of(s->o.heartbeat_s), dead = ns_of(s->o.dead_after_s);
    srv_sess_t *next;
    for (srv_sess_t *ss = s->sessions; ss; ss = next) {
        next = ss->next;
        if (ss->state != SS_READY) {
            if (now > ss->deadline)
                sess_refuse(ss, DS_REFUSE_REFUSED, "handshake not finished in time");
            continue;
        }
        if (now - ss->c.last_rx > dead) {
            sess_close(ss, WEFT_LOG_WARN, "silent past the dead time; connection closed");
            continue;
        }
        if (now - ss->c.last_tx >= hb && ds_conn_pending(&ss->c) == 0) {
            if (ds_conn_room(&ss->c, 8) == 0) ds_put_u64(&ss->c.pt, DS_R_PING, ++s->next_token);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Public                                                              */

/* A Unix socket (weft's worker processes): a stale socket file of a
 * process that died is replaced; the file is removed again by
 * weft_server_free. The directory's mode (0700, made by the parent)
 * keeps other users out; the key still authenticates every peer. */
static int listen_unix(weft_server_t *s, const ds_addr_t *a) {
    struct sockaddr_un sun;
    socklen_t sl = ds_addr_unix(a, &sun);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct stat st;
    if (fd >= 0 && lstat(a->host, &st) == 0 && S_ISSOCK(st.st_mode)) {
        /* a socket file: replaced only when nobody listens on it */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sun, sl) == 0;
        if (probe >= 0) close(probe);
        if (live) {
            wf_set_detail("listen %s: a server is listening there already", s->listen_str);
            close(fd);
            return WEFT_EIO;
        }
        unlink(a->host);
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sl) || listen(fd, 512)) {
        wf_set_detail("listen %s: %s", s->listen_str, strerror(errno));
        if (fd >= 0) close(fd);
        return WEFT_EIO;
    }
    s->port = 0;
    snprintf(s->address, sizeof s->address, "unix:%s", a->host);
    snprintf(s->unix_path, sizeof s->unix_path, "%s", a->host);
    s->lfd = fd;
    return 0;
}

static int listen_on(weft_server_t *s, const ds_addr_t *a) {
    if (a->is_unix) return listen_unix(s, a);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof port, "%d", a->port);
    int g = getaddrinfo(a->host, port, &hints, &res);
    if (g) {
        wf_set_detail("listen %s: %s", s->listen_str, gai_strerror(g));
        return WEFT_EIO;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 512) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        wf_set_detail("listen %s: %s", s->listen_str, strerror(err));
        return WEFT_EIO;
    }
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    char host[64], serv[16];
    getnameinfo((struct sockaddr *)&sa, sl, host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    s->port = atoi(serv);
    snprintf(s->address, sizeof s->address, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, serv);
    s->lfd = fd;
    return 0;
}

int weft_server_create(const weft_server_opts_t *opts, weft_server_t **out) {
    if (!out) return WEFT_EINVAL;
    *out = NULL;
    weft_server_opts_t o;
    if (opts) o = *opts;
    else weft_server_opts_init(&o);
    if (!o.listen) o.listen = "127.0.0.1:7117";
    if (o.workers < 0 || o.workers > WEFT_MAX_WORKERS || o.max_unauth < 1 ||
        bad_seconds(o.handshake_timeout_s) || bad_seconds(o.heartbeat_s) ||
        bad_seconds(o.dead_after_s) || o.max_bytes == 0 || o.credit_per_worker < 1 ||
        o.credit_per_worker > 65536) {
        wf_set_detail("server options out of range");
        return WEFT_EINVAL;
    }
    ds_addr_t a;
    if (ds_addr_parse(o.listen, WEFT_DIST_PORT, &a)) {
        wf_set_detail("listen address '%.200s': expected host:port or [v6]:port", o.listen);
        return WEFT_EINVAL;
    }
    weft_server_t *s = wf_calloc(1, sizeof *s);
    if (!s) return WEFT_ENOMEM;
    s->o = o;
    s->lfd = s->efd = s->tfd = s->ep = -1;
    snprintf(s->listen_str, sizeof s->listen_str, "%s", o.listen);
    s->o.listen = s->listen_str;
    s->o.secret_file = NULL; /* not kept: the key is */
    pthread_mutex_init(&s->qlock, NULL);
    s->streams_tail = &s->streams;
    s->ev_listen = EV_LISTEN;
    s->ev_wake = EV_WAKE;
    s->ev_timer = EV_TIMER;
    weft_key_source_t src;
    char path[4096];
    int loopback = a.is_unix || ds_addr_is_loopback(a.host);
    int rc = ds_key_load(o.secret_file, 1, s->key, &s->key_len, &src, path, sizeof path);
    if (!rc && src == WEFT_KEY_USER && !loopback) {
        wf_set_detail("refusing to listen on %s, which is not a loopback address, with the "
                      "automatically made key %s: give a key of your own (--secret-file, "
                      "WEFT_SECRET_FILE or a systemd credential) to serve other machines",
                      o.listen, path);
        rc = WEFT_EPERM;
    }
    if (!rc) rc = listen_on(s, &a);
    if (!rc) {
        s->ep = epoll_create1(EPOLL_CLOEXEC);
        s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (s->ep < 0 || s->efd < 0 || s->tfd < 0) {
            wf_set_detail("epoll, eventfd or timerfd: %s", strerror(errno));
            rc = WEFT_ESYSTEM;
        }
    }
    if (!rc) {
        double tick = o.heartbeat_s / 2 < 0.05 ? o.heartbeat_s / 2 : 0.05;
        struct itimerspec its = {{0, (long)(tick * 1e9)}, {0, (long)(tick * 1e9)}};
        timerfd_settime(s->tfd, 0, &its, NULL);
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.ptr = &s->ev_listen;
        epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev);
        ev.data.ptr = &s->ev_wake;
        epoll_ctl(s->ep, EPOLL_CTL_ADD, s->efd, &ev);
        ev.data.ptr = &s->ev_timer;
        epoll_ctl(s->ep, EPOLL_CTL_ADD, s->tfd, &ev);
    }
    if (!rc) {
        if (o.runtime) {
            s->rt = o.runtime;
        } else {
            rc = weft_runtime_create(o.workers, &s->rt);
            s->own_rt = rc == 0;
            if (rc) wf_set_detail("cannot start the runtime's workers");
        }
    }
    if (!rc) {
        s->workers = weft_runtime_workers(s->rt);
        if (s->workers < 1) s->workers = 1;
        weft_tasks_register_builtin();
    }
    if (!rc && o.announce)
        rc = ds_announce_server(&o, a.host, s->port, src == WEFT_KEY_USER, s->key, s->key_len,
                                &s->announce);
    if (rc) {
        int keep = rc;
        char detail[WEFT_DETAIL_MAX];
        snprintf(detail, sizeof detail, "%s", weft_error_detail());
        s->running = 0;
        weft_server_free(s);
        wf_set_detail("%s", detail);
        return keep;
    }
    *out = s;
    return 0;
}

const char *weft_server_address(const weft_server_t *s) { return s ? s->address : ""; }
int weft_server_port(const weft_server_t *s) { return s ? s->port : WEFT_EINVAL; }

void weft_server_stop(weft_server_t *s, int drain) {
    if (!s) return;
    int want = drain ? 1 : 2, cur = atomic_load(&s->stop_req);
    while (cur < want && !atomic_compare_exchange_weak(&s->stop_req, &cur, want)) {
    }
    uint64_t one = 1;
    ssize_t w = write(s->efd, &one, sizeof one);
    (void)w;
}

void weft_server_reopen_log(weft_server_t *s) {
    if (!s) return;
    atomic_store(&s->reopen_req, 1);
    uint64_t one = 1;
    ssize_t w = write(s->efd, &one, sizeof one);
    (void)w;
}

static void start_drain(weft_server_t *s) {
    if (s->draining) return;
    s->draining = 1;
    if (s->lfd >= 0) {
        epoll_ctl(s->ep, EPOLL_CTL_DEL, s->lfd, NULL);
        close(s->lfd);
        s->lfd = -1;
    }
    slog(s, WEFT_LOG_INFO, "draining: %lld batches running", (long long)s->batches_out);
    for (srv_sess_t *ss = s->sessions; ss; ss = ss->next)
        if (ss->state == SS_READY && ds_conn_room(&ss->c, DS_BYE_TEXT_MAX + 1) == 0)
            ds_put_bye(&ss->c.pt, DS_BYE_DRAINING, "node draining");
}

int weft_server_run(weft_server_t *s) {
    if (!s) return WEFT_EINVAL;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&s->running, &expected, 1)) return WEFT_EBUSY;
    slog(s, WEFT_LOG_INFO, "listening on %s, %d workers, protocol %d", s->address, s->workers,
         DS_VERSION);
    struct epoll_event evs[64];
    int rc = 0;
    int64_t drain_deadline = 0;
    for (;;) {
        int stop = atomic_load(&s->stop_req);
        if (stop == 2) break;
        if (stop == 1 && !s->draining) {
            start_drain(s);
            drain_deadline = wf_now_ns() + ns_of(60);
        }
        if (s->draining) {
            int pending = 0;
            for (srv_sess_t *ss = s->sessions; ss; ss = ss->next)
                if (ds_conn_pending(&ss->c)) pending = 1;
            if ((!s->batches_out && !s->streams && !pending) || wf_now_ns() > drain_deadline) break;
        }
        /* announce the sleep, then look once more: a worker that queued a
         * batch before seeing the flag is found here */
        atomic_store(&s->sleeping, 1);
        pthread_mutex_lock(&s->qlock);
        int queued = s->done_head != NULL;
        pthread_mutex_unlock(&s->qlock);
        int timeout = queued ? 0 : -1;
        int n = epoll_wait(s->ep, evs, 64, timeout);
        atomic_store(&s->sleeping, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            slog(s, WEFT_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            rc = WEFT_ESYSTEM;
            break;
        }
        srv_sess_t *turn = NULL;
        for (int i = 0; i < n; i++) {
            int tag = *(int *)evs[i].data.ptr;
            if (tag == EV_LISTEN) {
                if (!s->draining) do_accept(s);
            } else if (tag == EV_WAKE) {
                uint64_t v;
                ssize_t r = read(s->efd, &v, sizeof v);
                (void)r;
                if (atomic_exchange(&s->reopen_req, 0)) {
                    if (s->o.log) s->o.log(s->o.log_data, WEFT_LOG_INFO, "reopen");
                    slog(s, WEFT_LOG_INFO, "log reopened");
                }
            } else if (tag == EV_TIMER) {
                on_timer(s);
            } else {
                srv_sess_t *ss = (srv_sess_t *)((char *)evs[i].data.ptr - offsetof(srv_sess_t, tag));
                if (ss->state == SS_CLOSED) continue;
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                    ss->refs++; /* keep it while we look at it */
                    sess_readable(ss);
                    if (ss->state != SS_CLOSED && ss->ngather && !ss->in_list) {
                        ss->in_list = 1;
                        ss->next_turn = turn;
                        turn = ss;
                        ss->refs++;
                    }
                    sess_unref(ss);
                }
            }
        }
        while (turn) {
            srv_sess_t *ss = turn;
            turn = ss->next_turn;
            ss->in_list = 0;
            if (ss->state != SS_CLOSED) submit_gathered(ss);
            sess_unref(ss);
        }
        take_done(s);
        pump_streams(s);
        srv_sess_t *next;
        for (srv_sess_t *ss = s->sessions; ss; ss = next) {
            next = ss->next;
            flush_sess(ss);
        }
    }
    /* closing: every session goes; batches still out come back to zombies */
    while (s->sessions) sess_close(s->sessions, WEFT_LOG_DEBUG, NULL);
    if (s->own_rt) weft_runtime_wait(s->rt);
    else {
        while (s->batches_out) { /* a shared runtime: wait for our batches only */
            take_done(s);
            if (s->batches_out) usleep(1000);
        }
    }
    take_done(s);
    pump_streams(s);
    slog(s, WEFT_LOG_INFO, "stopped");
    atomic_store(&s->running, 0);
    return rc;
}

int weft_server_free(weft_server_t *s) {
    if (!s) return WEFT_EINVAL;
    if (atomic_load(&s->running)) return WEFT_EBUSY;
    ds_announce_stop(s->announce);
    while (s->sessions) sess_close(s->sessions, WEFT_LOG_DEBUG, NULL);
    if (s->own_rt && s->rt) weft_runtime_destroy(s->rt);
    take_done(s);
    pump_streams(s);
    if (s->lfd >= 0) close(s->lfd);
    if (s->unix_path[0]) unlink(s->unix_path);
    if (s->efd >= 0) close(s->efd);
    if (s->tfd >= 0) close(s->tfd);
    if (s->ep >= 0) close(s->ep);
    pthread_mutex_destroy(&s->qlock);
    OPENSSL_cleanse(s->key, sizeof s->key);
    wf_free(s);
    return 0;
}

int weft_serve(const weft_server_opts_t *opts) {
    weft_server_t *s;
    int rc = weft_server_create(opts, &s);
    if (rc) return rc;
    rc = weft_server_run(s);
    weft_server_free(s);
    return rc;
}

int weft_server_stats(weft_server_t *s, weft_server_stats_t *st) {
    if (!s || !st) return WEFT_EINVAL;
    st->accepted = atomic_load(&s->st_accepted);
    st->authenticated = atomic_load(&s->st_authed);
    st->refused = atomic_load(&s->st_refused);
    st->protocol_errors = atomic_load(&s->st_perr);
    st->tasks_run = atomic_load(&s->st_run);
    st->tasks_cancelled = atomic_load(&s->st_cancelled);
    st->clients_now = atomic_load(&s->st_clients);
    st->unauth_now = atomic_load(&s->st_unauth);
    return 0;
}

int weft_server_announced(weft_server_t *s, uint64_t *sent, uint64_t *errors) {
    if (!s || !sent || !errors) return WEFT_EINVAL;
    ds_announce_counts(s->announce, sent, errors);
    return 0;
}
