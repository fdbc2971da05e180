/* ds_cluster.c: the client. The submitting process owns its tasks: their
 * state, attempts and results live here, so no node's death loses one.
 *
 * Threads: user threads submit, wait, cancel and read stats; one I/O
 * thread per cluster owns every socket, places tasks and completes jobs.
 * What they share is behind one mutex (the "sync" object, which outlives
 * the cluster so that job and group handles stay valid after
 * weft_cluster_free): the submit queue, the cancel queue, job states and
 * group counts. Counters for statistics are relaxed atomics.
 *
 * I/O loop turn: epoll_wait (woken by an eventfd only when the I/O thread
 * announced it sleeps: a submit costs no syscall while the loop is busy);
 * take submitted and cancelled jobs; read every readable node (results,
 * credit, pongs); place queued jobs on the node with the most free credit
 * (the local workers are one more node); continue chunked arguments; one
 * write per node; complete the turn's finished jobs under one lock.
 *
 * A job's life: QUEUED (in the ready queue, I/O thread) -> SENT (in one
 * node's in-flight map under its id, with attempt a) -> FINISHED (outcome
 * known; callback runs) -> DONE (waiters released). A node lost puts its
 * SENT jobs back at the front of the ready queue with attempt a+1; a
 * result for an attempt that is not the current one is dropped. */
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
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ds.h"
#include "ds_disc.h"

enum { EV_WAKE = 1, EV_TIMER = 2, EV_NODE = 3 };
enum { N_DOWN = 0, N_CONNECTING, N_HANDSHAKE, N_READY };
enum { J_QUEUED = 0, J_SENT = 1, J_FINISHED = 2, J_DONE = 3 };

#define LOCAL_IDX (-2)
#define NODE_INFLIGHT_BYTES ((uint64_t)64 << 20) /* client policy: bytes in flight per node */

typedef struct ds_sync {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int refs;
    struct dnode **nodes;     /* freed with the sync: jobs point at node names */
    size_t nnodes;
} ds_sync_t;

typedef struct dnode dnode_t;

struct weft_djob {
    ds_sync_t *sync;
    weft_cluster_t *c;        /* NULL once done */
    atomic_int refs;          /* user handle + cluster */
    atomic_int state;
    uint64_t id;
    uint32_t attempt;
    unsigned flags;
    int node;                 /* index of the node holding it, LOCAL_IDX, -1 */
    int losses;
    int rc, status;
    int cancel_req;           /* under sync */
    int in_cancelq;
    weft_dgroup_t *group;
    weft_djob_fn cb;
    void *cb_data;
    char *name;
    size_t name_len;
    uint8_t *arg;
    size_t arg_len;
    uint64_t arg_sent;        /* bytes of the argument sealed (chunked) */
    uint8_t *result;
    size_t result_len;
    uint64_t result_have;
    int receiving;            /* result chunks are coming */
    int streaming;            /* on a node's argument streams (holds a reference) */
    uint64_t run_ns;          /* node's run time, kept while chunks come */
    weft_djob_t *gprev, *gnext; /* the group's pending jobs (under sync) */
    ds_exec_task_t *local;    /* while on the local workers */
    weft_djob_t *prev, *next; /* ready queue or submit queue */
    weft_djob_t *next_cancel, *next_done, *next_stream;
    const char *where;        /* the node's name (kept by the sync object), "local" */
    char *lost;               /* nodes it was lost with, made on the first loss */
    char *err;                /* its message when it failed */
    uint8_t wire_flags;       /* TASK flags it is sent with (DS_F_INPUTS) */
    int pin;                  /* index of the only node it may run on, or -1 */
    int64_t sent_ns;          /* when the current attempt was sent (I/O thread) */
    int64_t lost_ns;          /* time spent on attempts that were lost */
    int64_t r_start_ns;       /* the result's start on the client's clock, 0 unknown */
    int r_worker;             /* the worker that ran it there, -1 unknown */
    uint64_t r_run_ns;        /* its run time there */
    /* data locality (ds_graph.c): the frame refers to results kept on node
     * `prefer` (connection generation prefer_gen); refill makes the frame
     * with every input's bytes, for any other node */
    int prefer;
    uint64_t prefer_gen;
    int (*refill)(void *data, uint8_t **arg, size_t *len);
    void *refill_data;
    uint8_t *fail_bytes;      /* what a failed task stored (its message), or NULL */
    size_t fail_len;
    int r_node;               /* the node that answered, -1 local or none */
    uint64_t r_gen;           /* ... its connection generation then */
};

struct weft_dgroup {
    ds_sync_t *sync;
    weft_djob_t *jobs;        /* pending jobs, under sync */
    int64_t pending;
    uint64_t failed;
    int first_rc;
};

typedef struct node_stat {
    uint64_t pub_out, pub_in; /* I/O thread: connection bytes already counted */
    atomic_uint_fast64_t jobs, time_ns, sent, received, retries, losses, connects, rtt_ns;
    atomic_int connected, workers, last_error;
} node_stat_t;

struct dnode {
    weft_cluster_t *c;
    int tag;
    int idx;
    ds_addr_t addr;
    char name[WEFT_NODE_NAME_MAX];
    int state;
    int draining;
    ds_conn_t conn;
    ds_hs_t *hs;
    int64_t next_try, deadline;
    double backoff;
    uint64_t credit;          /* granted in all */
    uint64_t outstanding;     /* sent, not answered */
    uint64_t inflight_bytes;
    ds_map_t inflight;        /* id -> job */
    weft_djob_t *streams;     /* jobs whose argument is still being sent */
    uint64_t max_bytes;
    int info;
    int addr_i;               /* which address of the host to try */
    char detail[WEFT_DETAIL_MAX];
    /* the node's clock against ours (PONG with DS_F_TIME): its clock minus
     * ours at the pong of the shortest round trip seen since it connected;
     * off by at most half that round trip (clock_rtt) */
    int64_t clock_off, clock_rtt;
    int64_t down_since;       /* when it went down (or was added): pinned jobs' grace */
    node_stat_t st;
};

struct weft_cluster {
    weft_cluster_opts_t o;
    ds_sync_t *sync;
    uint8_t key[DS_KEY_MAX];
    size_t key_len;
    dnode_t **nodes;
    size_t nnodes, capnodes;  /* grows under sync; the I/O thread reads count under sync */
    pthread_t io;
    int ep, efd, tfd;
    int ev_wake, ev_timer;
    atomic_int sleeping;
    atomic_int stop;
    int freeing;              /* under sync: no more submits */
    /* under sync */
    weft_djob_t *sub_head, *sub_tail;
    weft_djob_t *cancelq;
    size_t nodes_seen;        /* nodes the I/O thread knows */
    /* I/O thread */
    weft_djob_t *ready_head, *ready_tail;
    uint64_t nready;
    weft_djob_t *done_list;
    uint64_t next_id;
    int64_t none_since;       /* when the last node went down (or start) */
    uint64_t npinned;         /* jobs in the ready queue pinned to a node */
    int64_t turn_ns;          /* I/O thread: the clock at the start of this turn */
    int64_t pin_check;        /* when the pinned ones were last looked at */
    int any_up;
    /* local workers */
    weft_runtime_t *rt;
    uint64_t local_credit, local_out;
    pthread_mutex_t lq;
    ds_exec_batch_t *local_done;
    ds_exec_task_t **lgather;
    size_t nlgather, caplgather;
    node_stat_t local_st;
    atomic_int ready_nodes;
    uint64_t total_jobs;      /* accepted results, for share */
    atomic_uint_fast64_t total_jobs_a;
    ds_disc_t *disc;          /* discovery's listener (ds_discover.c), or NULL */
    ds_gexec_t *gx;           /* the graph executor (ds_graph.c) */
};

ds_disc_t *ds_cluster_disc(weft_cluster_t *c) { return c->disc; }

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static int64_t ns_of(double s) { return (int64_t)(s * 1e9); }

static void sync_unref(ds_sync_t *s) {
    if (atomic_fetch_sub(&s->refs, 1) != 1) return;
    for (size_t i = 0; i < s->nnodes; i++) wf_free(s->nodes[i]);
    wf_free(s->nodes);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    wf_free(s);
}

static void job_unref(weft_djob_t *j) {
    if (atomic_fetch_sub(&j->refs, 1) != 1) return;
    wf_free(j->arg);
    wf_free(j->result);
    wf_free(j->fail_bytes);
    wf_free(j->lost);
    wf_free(j->err);
    ds_sync_t *s = j->sync;
    wf_free(j);
    sync_unref(s);
}

static void wake(weft_cluster_t *c) {
    if (atomic_exchange(&c->sleeping, 0)) {
        uint64_t one = 1;
        ssize_t w = write(c->efd, &one, sizeof one);
        (void)w;
    }
}

/* Absolute CLOCK_MONOTONIC deadline for a wait; 0 for ever. */
static int deadline_of(double timeout_s, struct timespec *ts) {
    if (isinf(timeout_s)) return 0;
    clock_gettime(CLOCK_MONOTONIC, ts);
    double whole = floor(timeout_s);
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)((timeout_s - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
    return 1;
}

static int bad_timeout(double t) { return isnan(t) || t < 0; }

void weft_cluster_opts_init(weft_cluster_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->connect_timeout_s = 5;
    o->heartbeat_s = 0.1;
    o->dead_after_s = 1;
    o->backoff_min_s = 0.05;
    o->backoff_max_s = 2;
    o->grace_s = 10;
    o->max_losses = 3;
    o->max_bytes = WEFT_DIST_MAX_BYTES;
    o->discover_max_age_s = 5;
    o->discover_skew_s = 1;
    o->discover_max_nodes = 32;
    o->locality = 1;
}

/* ------------------------------------------------------------------ */
/* Ready queue (I/O thread)                                            */

static void ready_push(weft_cluster_t *c, weft_djob_t *j, int front) {
    j->prev = j->next = NULL;
    j->state = J_QUEUED;
    j->node = -1;
    if (front) {
        j->next = c->ready_head;
        if (c->ready_head) c->ready_head->prev = j;
        else c->ready_tail = j;
        c->ready_head = j;
    } else {
        j->prev = c->ready_tail;
        if (c->ready_tail) c->ready_tail->next = j;
        else c->ready_head = j;
        c->ready_tail = j;
    }
    c->nready++;
    if (j->pin >= 0) c->npinned++;
}

static void ready_remove(weft_cluster_t *c, weft_djob_t *j) {
    if (j->prev) j->prev->next = j->next;
    else c->ready_head = j->next;
    if (j->next) j->next->prev = j->prev;
    else c->ready_tail = j->prev;
    j->prev = j->next = NULL;
    c->nready--;
    if (j->pin >= 0) c->npinned--;
}

/* The job's outcome is known: record it and queue it for the turn's end. */
static void finish(weft_cluster_t *c, weft_djob_t *j, int rc, int status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void finish(weft_cluster_t *c, weft_djob_t *j, int rc, int status, const char *fmt, ...) {
    if (atomic_load_explicit(&j->state, memory_order_relaxed) >= J_FINISHED) return;
    j->rc = rc;
    j->status = status;
    if (fmt && (j->err = wf_malloc(WEFT_DETAIL_MAX))) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(j->err, WEFT_DETAIL_MAX, fmt, ap);
        va_end(ap);
    }
    if (!j->streaming) { /* not needed any more: no retry */
        wf_free(j->arg);
        j->arg = NULL;
    }
    if (rc) {
        wf_free(j->result);
        j->result = NULL;
        j->result_len = 0;
    }
    j->node = -1;
    atomic_store_explicit(&j->state, J_FINISHED, memory_order_release);
    j->next_done = c->done_list;
    c->done_list = j;
}

/* Completes the turn's finished jobs: callbacks, then one lock for the
 * states and groups, one broadcast. */
static void complete_turn(weft_cluster_t *c) {
    weft_djob_t *list = c->done_list;
    c->done_list = NULL;
    if (!list) return;
    for (weft_djob_t *j = list; j; j = j->next_done)
        if (j->cb) j->cb(j->cb_data, j, j->rc);
    pthread_mutex_lock(&c->sync->mu);
    for (weft_djob_t *j = list; j; j = j->next_done) {
        atomic_store_explicit(&j->state, J_DONE, memory_order_release);
        j->c = NULL;
        if (j->group) {
            if (j->gprev) j->gprev->gnext = j->gnext;
            else j->group->jobs = j->gnext;
            if (j->gnext) j->gnext->gprev = j->gprev;
            j->group->pending--;
            if (j->rc) {
                if (!j->group->failed) j->group->first_rc = j->rc;
                j->group->failed++;
            }
        }
    }
    pthread_cond_broadcast(&c->sync->cv);
    pthread_mutex_unlock(&c->sync->mu);
    weft_djob_t *next;
    for (weft_djob_t *j = list; j; j = next) {
        next = j->next_done;
        job_unref(j);
    }
}

/* ------------------------------------------------------------------ */
/* Node events                                                         */

static void node_event(weft_cluster_t *c, dnode_t *n, int up, int err, const char *detail) {
    if (c->o.on_node) c->o.on_node(c->o.on_node_data, n->name, up, err, detail ? detail : "");
}

static void job_unref(weft_djob_t *j);

/* Adds the connection's new bytes to the node's statistics. */
static void publish_bytes(dnode_t *n) {
    atomic_fetch_add_explicit(&n->st.sent, n->conn.bytes_out - n->st.pub_out, memory_order_relaxed);
    atomic_fetch_add_explicit(&n->st.received, n->conn.bytes_in - n->st.pub_in, memory_order_relaxed);
    n->st.pub_out = n->conn.bytes_out;
    n->st.pub_in = n->conn.bytes_in;
}

/* The argument streams of a node end (it is gone, or a stream is done):
 * a finished job's argument goes now. */
static void stream_end(weft_djob_t *j) {
    j->streaming = 0;
    if (atomic_load_explicit(&j->state, memory_order_relaxed) >= J_FINISHED) {
        wf_free(j->arg);
        j->arg = NULL;
    }
    job_unref(j);
}

static void drop_streams(dnode_t *n) {
    weft_djob_t *j = n->streams, *next;
    n->streams = NULL;
    for (; j; j = next) {
        next = j->next_stream;
        stream_end(j);
    }
}

#define LOST_MAX (WEFT_DETAIL_MAX / 2)
static void append_lost(weft_djob_t *j, const char *name) {
    if (!j->lost && !(j->lost = wf_calloc(1, LOST_MAX))) return;
    size_t l = strlen(j->lost ? j->lost : "");
    snprintf(j->lost + l, LOST_MAX - l, "%s%s", l ? ", " : "", name);
}

/* A node is gone: its jobs go back to the queue (or fail), it reconnects
 * after a backoff. err/detail say why. */
static void node_down(weft_cluster_t *c, dnode_t *n, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void node_down(weft_cluster_t *c, dnode_t *n, int err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char why[WEFT_DETAIL_MAX / 2];
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(n->detail, sizeof n->detail, "node %.200s: %.250s", n->name, why);
    int was_ready = n->state == N_READY;
    if (n->conn.fd >= 0) {
        epoll_ctl(c->ep, EPOLL_CTL_DEL, n->conn.fd, NULL);
        publish_bytes(n);
        ds_conn_close(&n->conn);
        n->st.pub_out = n->st.pub_in = 0;
    }
    if (n->hs) {
        ds_hs_clear(n->hs);
        wf_free(n->hs);
        n->hs = NULL;
    }
    n->state = N_DOWN;
    n->info = 0;
    n->draining = 0;
    atomic_store(&n->st.last_error, err);
    if (was_ready) {
        atomic_store(&n->st.connected, 0);
        atomic_fetch_add(&n->st.losses, 1);
        atomic_fetch_sub(&c->ready_nodes, 1);
    }
    /* every job it held */
    for (size_t i = 0; i < n->inflight.cap; i++) {
        weft_djob_t *j = n->inflight.vals[i];
        if (!j) continue;
        wf_free(j->result);
        j->result = NULL;
        j->result_len = j->result_have = 0;
        j->receiving = 0;
        j->arg_sent = 0;
        j->lost_ns += wf_now_ns() - j->sent_ns;
        j->losses++;
        append_lost(j, n->name);
        atomic_fetch_add(&n->st.retries, 1);
        if (j->cancel_req) {
            finish(c, j, WEFT_ECANCELED, 0, "cancelled");
        } else if ((j->flags & WEFT_DIST_NO_RETRY) || j->losses >= c->o.max_losses) {
            finish(c, j, WEFT_ENODE, 0, "%s; task '%s' lost with %d node%s: %s", n->detail, j->name,
                   j->losses, j->losses == 1 ? "" : "s", j->lost ? j->lost : "");
        } else {
            ready_push(c, j, 1);
        }
    }
    ds_map_free(&n->inflight);
    drop_streams(n);
    n->credit = n->outstanding = n->inflight_bytes = 0;
    /* backoff with jitter: [b/2, b) */
    uint32_t r = 0;
    RAND_bytes((unsigned char *)&r, sizeof r);
    double b = n->backoff;
    n->next_try = wf_now_ns() + ns_of(b / 2 + b / 2 * (r / 4294967296.0));
    n->backoff = b * 2 > c->o.backoff_max_s ? c->o.backoff_max_s : b * 2;
    if (was_ready) n->down_since = wf_now_ns();
    if (was_ready || err == WEFT_EAUTH || err == WEFT_EPROTO) node_event(c, n, 0, err, n->detail);
    if (!c->ready_nodes && was_ready) c->none_since = wf_now_ns();
}

/* ------------------------------------------------------------------ */
/* Connecting                                                          */

/* A Unix socket node (a local worker process): connect(2) on a Unix
 * stream socket completes or fails at once. */
static void node_connect_unix(weft_cluster_t *c, dnode_t *n) {
    struct sockaddr_un sun;
    socklen_t sl = ds_addr_unix(&n->addr, &sun);
    n->deadline = wf_now_ns() + ns_of(c->o.connect_timeout_s);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int e = fd < 0 ? errno : 0;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sl) && errno != EINPROGRESS &&
        errno != EAGAIN)
        e = errno;
    ds_conn_init(&n->conn, fd);
    n->state = N_CONNECTING;
    if (e) {
        node_down(c, n, WEFT_ECONNREFUSED, "connect: %s", strerror(e));
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = &n->tag};
    epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev);
    n->conn.want_out = 1;
}

static void node_connect(weft_cluster_t *c, dnode_t *n) {
    if (n->addr.is_unix) {
        node_connect_unix(c, n);
        return;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof port, "%d", n->addr.port);
    n->deadline = wf_now_ns() + ns_of(c->o.connect_timeout_s);
    int g = getaddrinfo(n->addr.host, port, &hints, &res);
    if (g || !res) {
        n->state = N_CONNECTING; /* so that node_down backs off */
        node_down(c, n, WEFT_ECONNREFUSED, "cannot resolve: %s", gai_strerror(g));
        return;
    }
    int count = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) count++;
    struct addrinfo *ai = res;
    for (int i = 0; i < n->addr_i % count; i++) ai = ai->ai_next;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int e = fd < 0 ? errno : 0;
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) e = errno;
    freeaddrinfo(res);
    ds_conn_init(&n->conn, fd);
    n->state = N_CONNECTING;
    if (e) {
        n->addr_i++;
        node_down(c, n, WEFT_ECONNREFUSED, "connect: %s", strerror(e));
        return;
    }
    ds_sock_opts(fd, (int)(c->o.dead_after_s * 1000));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = &n->tag};
    epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev);
    n->conn.want_out = 1;
}

static void node_want_out(weft_cluster_t *c, dnode_t *n, int on) {
    if (n->conn.want_out == on || n->conn.fd < 0) return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = &n->tag};
    epoll_ctl(c->ep, EPOLL_CTL_MOD, n->conn.fd, &ev);
    n->conn.want_out = on;
}

/* The TCP connection is up: send HELLO. */
static void node_connected(weft_cluster_t *c, dnode_t *n) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(n->conn.fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) {
        n->addr_i++;
        node_down(c, n, WEFT_ECONNREFUSED, "connect: %s", strerror(err));
        return;
    }
    n->hs = wf_malloc(sizeof *n->hs);
    if (!n->hs) {
        node_down(c, n, WEFT_ENOMEM, "out of memory");
        return;
    }
    ds_hs_init(n->hs, DS_HS_CLIENT, c->key, c->key_len);
    uint8_t hello[DS_HDR + DS_HELLO_LEN];
    if (ds_hs_client_hello(n->hs, DS_VERSION, DS_VERSION, hello) ||
        ds_conn_raw(&n->conn, hello, sizeof hello)) {
        node_down(c, n, WEFT_ESYSTEM, "cannot start the handshake");
        return;
    }
    n->state = N_HANDSHAKE;
    node_want_out(c, n, 0);
}

/* ------------------------------------------------------------------ */
/* Records from a node                                                 */

static int unprefer(weft_djob_t *j);

static void accept_result(weft_cluster_t *c, dnode_t *n, weft_djob_t *j, uint64_t run_ns) {
    ds_map_del(&n->inflight, j->id);
    n->inflight_bytes -= j->arg_len < n->inflight_bytes ? j->arg_len : n->inflight_bytes;
    j->where = n->name;
    atomic_fetch_add_explicit(&n->st.jobs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n->st.time_ns, run_ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->total_jobs_a, 1, memory_order_relaxed);
    finish(c, j, 0, 0, NULL);
}

/* A job leaves a node without a result of its own (node error, task
 * failure to retry, refusal): back to the queue, or failed. */
static void requeue(weft_cluster_t *c, dnode_t *n, weft_djob_t *j, int as_loss) {
    ds_map_del(&n->inflight, j->id);
    n->inflight_bytes -= j->arg_len < n->inflight_bytes ? j->arg_len : n->inflight_bytes;
    wf_free(j->result);
    j->result = NULL;
    j->result_len = j->result_have = 0;
    j->receiving = 0;
    if (as_loss) {
        j->lost_ns += wf_now_ns() - j->sent_ns;
        j->losses++;
        append_lost(j, n->name);
        atomic_fetch_add(&n->st.retries, 1);
        if ((j->flags & WEFT_DIST_NO_RETRY) || j->losses >= c->o.max_losses) {
            finish(c, j, WEFT_ENODE, 0, "node %s: task '%s' failed on %d node%s: %s", n->name,
                   j->name, j->losses, j->losses == 1 ? "" : "s", j->lost ? j->lost : "");
            return;
        }
    }
    ready_push(c, j, 1);
}

static int on_result(weft_cluster_t *c, dnode_t *n, const ds_rec_t *r, const char **why) {
    ds_result_rec_t rr;
    if (ds_result_decode(r, &rr)) return *why = "malformed result record", -1;
    if (!n->outstanding) return *why = "result without a task", -1;
    n->outstanding--;
    weft_djob_t *j = ds_map_get(&n->inflight, rr.id);
    if (!j || j->attempt != rr.attempt) return 0; /* cancelled meanwhile, or an old attempt */
    if (rr.timed && rr.start_ns) {
        j->r_start_ns = n->clock_rtt >= 0 ? (int64_t)rr.start_ns - n->clock_off : 0;
        j->r_worker = (int)rr.worker;
    } else {
        j->r_start_ns = 0;
        j->r_worker = -1;
    }
    j->r_run_ns = rr.run_ns;
    j->r_node = n->idx;
    j->r_gen = atomic_load_explicit(&n->st.connects, memory_order_relaxed);
    switch (rr.outcome) {
    case DS_OUT_MISSING: /* a kept input is gone: all the bytes, to any node */
        ds_map_del(&n->inflight, j->id);
        n->inflight_bytes -= j->arg_len < n->inflight_bytes ? j->arg_len : n->inflight_bytes;
        if (unprefer(j)) finish(c, j, WEFT_ENOMEM, 0, "out of memory for a task's inputs");
        else ready_push(c, j, 1);
        return 0;
    case DS_OUT_OK:
        if (rr.total > c->o.max_bytes) {
            ds_map_del(&n->inflight, j->id);
            finish(c, j, WEFT_ERANGE, 0, "node %s: result of %llu bytes is over the limit", n->name,
                   (unsigned long long)rr.total);
            return 0;
        }
        if (rr.total && !(j->result = wf_malloc((size_t)rr.total))) {
            ds_map_del(&n->inflight, j->id);
            finish(c, j, WEFT_ENOMEM, 0, "out of memory for a result of %llu bytes",
                   (unsigned long long)rr.total);
            return 0;
        }
        j->result_len = (size_t)rr.total;
        if (rr.n) memcpy(j->result, rr.data, rr.n);
        j->result_have = rr.n;
        if (rr.more) {
            j->receiving = 1;
            j->run_ns = rr.run_ns; /* for the statistics, at the last chunk */
            return 0;
        }
        accept_result(c, n, j, rr.run_ns);
        return 0;
    case DS_OUT_FAILED:
        if (j->flags & WEFT_DIST_RETRY_FAILED) {
            requeue(c, n, j, 1);
            return 0;
        }
        ds_map_del(&n->inflight, j->id);
        j->where = n->name;
        atomic_fetch_add(&n->st.jobs, 1);
        atomic_fetch_add(&n->st.time_ns, rr.run_ns);
        atomic_fetch_add(&c->total_jobs_a, 1);
        /* the bytes a failed task stored (at most one chunk, no MORE):
         * kept for ds_djob_info (a graph node's error text) */
        if (rr.more) return *why = "failed result with chunks", -1;
        if (rr.n && rr.n <= c->o.max_bytes && (j->fail_bytes = wf_malloc(rr.n))) {
            memcpy(j->fail_bytes, rr.data, rr.n);
            j->fail_len = rr.n;
        }
        finish(c, j, WEFT_ETASK, rr.code, "node %s: task '%s' failed with status %d", n->name,
               j->name, (int)rr.code);
        return 0;
    case DS_OUT_NOTASK:
        ds_map_del(&n->inflight, j->id);
        finish(c, j, WEFT_ENOENT, 0, "node %s: no task '%s' registered", n->name, j->name);
        return 0;
    case DS_OUT_CANCELLED:
        if (j->cancel_req) {
            ds_map_del(&n->inflight, j->id);
            finish(c, j, WEFT_ECANCELED, 0, "cancelled");
        } else {
            requeue(c, n, j, 1);
        }
        return 0;
    case DS_OUT_NODE_ERROR: requeue(c, n, j, 1); return 0;
    case DS_OUT_REFUSED:
        n->draining = 1;
        requeue(c, n, j, 0);
        return 0;
    }
    return 0;
}

static int on_chunk(weft_cluster_t *c, dnode_t *n, const ds_rec_t *r, const char **why) {
    ds_chunk_rec_t cr;
    if (ds_chunk_decode(r, &cr)) return *why = "malformed chunk record", -1;
    weft_djob_t *j = ds_map_get(&n->inflight, cr.id);
    if (!j || j->attempt != cr.attempt) return 0; /* of a job cancelled meanwhile */
    if (!j->receiving) return *why = "chunk of no result being received", -1;
    if (cr.offset != j->result_have || cr.n > j->result_len - j->result_have ||
        (j->result_have + cr.n == j->result_len) != (cr.last != 0))
        return *why = "result chunk out of order or past the end", -1;
    memcpy(j->result + j->result_have, cr.data, cr.n);
    j->result_have += cr.n;
    if (cr.last) {
        j->receiving = 0;
        accept_result(c, n, j, j->run_ns);
    }
    return 0;
}

static void on_sealed(weft_cluster_t *c, dnode_t *n, const ds_frame_t *f) {
    uint8_t *body = (uint8_t *)f->body;
    if (ds_open(&n->conn.rx, f, body)) {
        node_down(c, n, WEFT_EPROTO, "a frame did not open (altered, replayed or reordered)");
        return;
    }
    const uint8_t *p = body, *end = body + f->len - DS_TAG;
    ds_rec_t r;
    int got;
    while ((got = ds_rec_next(&p, end, &r)) == 1) {
        const char *why = NULL;
        int rc = 0;
        switch (r.kind) {
        case DS_R_RESULT: rc = on_result(c, n, &r, &why); break;
        case DS_R_CHUNK: rc = on_chunk(c, n, &r, &why); break;
        case DS_R_CREDIT: {
            uint32_t g;
            if (ds_u32_decode(&r, &g)) rc = -1, why = "malformed credit";
            else n->credit += g;
            break;
        }
        case DS_R_INFO: {
            uint32_t w;
            uint64_t mb;
            if (ds_info_decode(&r, &w, &mb)) {
                rc = -1, why = "malformed info";
            } else if (!n->info) {
                n->info = 1;
                n->max_bytes = mb;
                atomic_store(&n->st.workers, (int)w);
                atomic_store(&n->st.connected, 1);
                atomic_fetch_add(&n->st.connects, 1);
                atomic_fetch_add(&c->ready_nodes, 1);
                n->backoff = c->o.backoff_min_s;
                n->detail[0] = 0;
                atomic_store(&n->st.last_error, 0);
                node_event(c, n, 1, 0, NULL);
                pthread_mutex_lock(&c->sync->mu);
                pthread_cond_broadcast(&c->sync->cv); /* weft_cluster_wait_nodes */
                pthread_mutex_unlock(&c->sync->mu);
            }
            break;
        }
        case DS_R_PING: rc = ds_conn_answer_ping(&n->conn, &r, &why); break;
        case DS_R_PONG: {
            uint64_t tok, clk;
            if (ds_pong_decode(&r, &tok, &clk)) {
                rc = -1, why = "malformed pong";
                break;
            }
            int64_t now = wf_now_ns(), rtt = now - (int64_t)tok;
            atomic_store(&n->st.rtt_ns, (uint64_t)rtt);
            if (clk && rtt >= 0 && (n->clock_rtt < 0 || rtt < n->clock_rtt)) {
                n->clock_rtt = rtt;
                n->clock_off = (int64_t)clk - ((int64_t)tok + rtt / 2);
            }
            break;
        }
        case DS_R_GOODBYE: {
            uint8_t reason;
            char text[4 * 64 + 1];
            if (ds_bye_decode(&r, &reason, text, sizeof text)) rc = -1, why = "malformed goodbye";
            else if (reason == DS_BYE_DRAINING) n->draining = 1;
            else {
                node_down(c, n, reason == DS_BYE_PROTOCOL ? WEFT_EPROTO : WEFT_ENODE,
                          "closed by the node: %s", text);
                return;
            }
            break;
        }
        default: rc = -1, why = "record of a kind a client never receives"; break;
        }
        if (rc) {
            if (ds_conn_room(&n->conn, DS_BYE_TEXT_MAX + 1) == 0 &&
                ds_put_bye(&n->conn.pt, DS_BYE_PROTOCOL, why) == 0) {
                int more;
                ds_conn_flush(&n->conn, &more);
            }
            node_down(c, n, WEFT_EPROTO, "protocol error: %s", why);
            return;
        }
        if (n->state != N_READY) return;
    }
    if (got == DS_ERROR) node_down(c, n, WEFT_EPROTO, "protocol error: record past its frame");
}

static void node_handshake(weft_cluster_t *c, dnode_t *n, const ds_frame_t *f) {
    if (f->type == DS_T_REFUSE) {
        uint8_t reason = f->body[0];
        if (reason == DS_REFUSE_VERSION)
            node_down(c, n, WEFT_EPROTO, "refused: it speaks protocol versions %u..%u, we speak %d",
                      f->body[1], f->body[2], DS_VERSION);
        else if (reason == DS_REFUSE_BUSY)
            node_down(c, n, WEFT_ECONNREFUSED, "refused: too many connections authenticating");
        else
            node_down(c, n, WEFT_EAUTH, "authentication failed (refused by the node)");
        return;
    }
    uint8_t proof[DS_HDR + DS_PROOF_LEN];
    int rc = ds_hs_client_finish(n->hs, f, proof);
    if (rc) {
        /* nothing more is sent: a peer without the key learns nothing */
        node_down(c, n, rc == WEFT_EAUTH ? WEFT_EAUTH : WEFT_EPROTO,
                  rc == WEFT_EAUTH ? "authentication failed (the node does not prove the key)"
                                   : "protocol error in the handshake");
        return;
    }
    if (ds_conn_raw(&n->conn, proof, sizeof proof) || ds_hs_split(n->hs, &n->conn.tx, &n->conn.rx)) {
        node_down(c, n, WEFT_ENOMEM, "out of memory");
        return;
    }
    wf_free(n->hs);
    n->hs = NULL;
    n->conn.authed = 1;
    n->state = N_READY;
    /* a first round trip at once: the node's clock is known before its
     * first results (timed results are placed on our timeline) */
    n->clock_rtt = -1;
    n->clock_off = 0;
    if (ds_conn_room(&n->conn, 8) == 0) ds_put_u64(&n->conn.pt, DS_R_PING, (uint64_t)wf_now_ns());
}

static void node_readable(weft_cluster_t *c, dnode_t *n) {
    for (int rounds = 0; rounds < 64 && n->state >= N_HANDSHAKE; rounds++) {
        ssize_t got = ds_conn_read(&n->conn);
        if (got == 0) {
            node_down(c, n, n->state == N_READY ? WEFT_ENODE : WEFT_ECONNREFUSED,
                      n->state == N_READY ? "lost (connection closed)" : "closed during the handshake");
            return;
        }
        if (got == DS_ERROR) {
            node_down(c, n, WEFT_ENODE, "lost (%s)", strerror(errno));
            return;
        }
        for (;;) {
            ds_frame_t f;
            int why = 0;
            unsigned allowed = n->state == N_READY
                                   ? DS_TYPE_BIT(DS_T_SEALED)
                                   : DS_TYPE_BIT(DS_T_SERVER_HELLO) | DS_TYPE_BIT(DS_T_REFUSE);
            int rc = ds_conn_frame(&n->conn, allowed, &f, &why);
            if (rc == DS_NEED) break;
            if (rc == DS_ERROR) {
                node_down(c, n, WEFT_EPROTO, "protocol error: %s",
                          why == DS_WHY_VERSION ? "a frame of another protocol version"
                          : why == DS_WHY_TOO_BIG ? "a frame over the length limit"
                                                  : "a malformed frame");
                return;
            }
            if (n->state == N_READY) on_sealed(c, n, &f);
            else node_handshake(c, n, &f);
            if (n->state < N_HANDSHAKE) return;
        }
        ds_conn_compact(&n->conn);
        if (got == DS_AGAIN) break;
    }
}

/* ------------------------------------------------------------------ */
/* Placing tasks                                                       */

/* Seals what fits of a job's argument: the TASK record, then chunks while
 * the connection's output is below the mark. 1 when all is out. */
static int send_arg(dnode_t *n, weft_djob_t *j) {
    if (j->arg_sent == 0) { /* the TASK record first */
        size_t first = j->arg_len > DS_CHUNK_MAX ? DS_CHUNK_MAX : j->arg_len;
        if (ds_conn_room(&n->conn, DS_TASK_FIXED + j->name_len + first) ||
            ds_put_task_f(&n->conn.pt, j->id, j->attempt, j->wire_flags, j->name, j->name_len,
                          j->arg_len, j->arg, first, first < j->arg_len))
            return -1;
        j->arg_sent = first;
        if (first == j->arg_len) return 1;
    }
    while (j->arg_sent < j->arg_len && ds_conn_pending(&n->conn) < DS_OUT_HIGH) {
        size_t k = j->arg_len - j->arg_sent;
        if (k > DS_CHUNK_MAX) k = DS_CHUNK_MAX;
        int last = j->arg_sent + k == j->arg_len;
        if (ds_conn_room(&n->conn, DS_CHUNK_FIXED + k) ||
            ds_put_chunk(&n->conn.pt, j->id, j->attempt, j->arg_sent, j->arg + j->arg_sent, k, last))
            return -1;
        j->arg_sent += k;
    }
    return j->arg_sent == j->arg_len;
}

static void local_batch_done(ds_exec_batch_t *b) {
    weft_cluster_t *c = b->owner;
    pthread_mutex_lock(&c->lq);
    b->next = c->local_done;
    c->local_done = b;
    pthread_mutex_unlock(&c->lq);
    wake(c);
}

static int place_local(weft_cluster_t *c, weft_djob_t *j) {
    ds_exec_task_t *t = wf_calloc(1, sizeof *t + j->name_len + 1);
    if (!t) return -1;
    if (j->arg_len && !(t->arg = wf_malloc(j->arg_len))) {
        wf_free(t);
        return -1;
    }
    if (j->arg_len) memcpy(t->arg, j->arg, j->arg_len);
    t->arg_len = j->arg_len;
    t->name = (char *)(t + 1);
    memcpy(t->name, j->name, j->name_len);
    t->id = j->id;
    t->attempt = j->attempt;
    t->inputs = (j->wire_flags & DS_F_INPUTS) != 0;
    t->owner = j;
    j->local = t;
    j->sent_ns = c->turn_ns;
    if (c->nlgather == c->caplgather) {
        size_t cap = c->caplgather ? c->caplgather * 2 : 64;
        ds_exec_task_t **g = wf_realloc(c->lgather, cap * sizeof *g);
        if (!g) {
            wf_free(t->arg);
            wf_free(t);
            j->local = NULL;
            return -1;
        }
        c->lgather = g;
        c->caplgather = cap;
    }
    c->lgather[c->nlgather++] = t;
    return 0;
}

static void submit_local(weft_cluster_t *c) {
    size_t n = c->nlgather, w = (size_t)c->o.local_workers;
    size_t per = (n + w - 1) / w;
    if (per > 64) per = 64;
    for (size_t i = 0; i < n; i += per) {
        size_t k = n - i < per ? n - i : per;
        ds_exec_batch_t *b = wf_calloc(1, sizeof *b + k * sizeof(ds_exec_task_t *));
        int ok = b != NULL;
        if (b) {
            b->tasks = (ds_exec_task_t **)(b + 1);
            b->count = k;
            b->owner = c;
            b->done = local_batch_done;
            memcpy(b->tasks, c->lgather + i, k * sizeof *b->tasks);
            ok = ds_exec_submit(c->rt, b) == 0;
        }
        if (!ok) {
            wf_free(b);
            for (size_t x = i; x < i + k; x++) {
                ds_exec_task_t *t = c->lgather[x];
                weft_djob_t *j = t->owner;
                j->local = NULL;
                c->local_out--;
                finish(c, j, WEFT_ENOMEM, 0, "local workers: out of memory");
                wf_free(t->arg);
                wf_free(t);
            }
        }
    }
    c->nlgather = 0;
}

static void take_local(weft_cluster_t *c) {
    pthread_mutex_lock(&c->lq);
    ds_exec_batch_t *b = c->local_done;
    c->local_done = NULL;
    pthread_mutex_unlock(&c->lq);
    while (b) {
        ds_exec_batch_t *next = b->next;
        for (size_t i = 0; i < b->count; i++) {
            ds_exec_task_t *t = b->tasks[i];
            weft_djob_t *j = t->owner;
            c->local_out--;
            if (j->local == t) {
                j->local = NULL;
                j->where = "local";
                j->r_start_ns = (int64_t)t->start_ns; /* our own clock */
                j->r_worker = t->start_ns ? t->worker : -1;
                j->r_run_ns = t->run_ns;
                if (t->outcome == DS_OUT_OK) {
                    if (t->result_len && !(j->result = wf_malloc(t->result_len))) {
                        finish(c, j, WEFT_ENOMEM, 0, "out of memory");
                    } else {
                        if (t->result_len) memcpy(j->result, t->result, t->result_len);
                        j->result_len = t->result_len;
                        atomic_fetch_add(&c->local_st.jobs, 1);
                        atomic_fetch_add(&c->local_st.time_ns, t->run_ns);
                        atomic_fetch_add(&c->total_jobs_a, 1);
                        finish(c, j, 0, 0, NULL);
                    }
                } else if (t->outcome == DS_OUT_FAILED) {
                    size_t k = t->result_len > DS_CHUNK_MAX ? DS_CHUNK_MAX : t->result_len;
                    if (k && (j->fail_bytes = wf_malloc(k))) {
                        memcpy(j->fail_bytes, t->result, k);
                        j->fail_len = k;
                    }
                    atomic_fetch_add(&c->local_st.jobs, 1);
                    atomic_fetch_add(&c->local_st.time_ns, t->run_ns);
                    atomic_fetch_add(&c->total_jobs_a, 1);
                    finish(c, j, WEFT_ETASK, t->code, "local: task '%s' failed with status %d",
                           j->name, (int)t->code);
                } else if (t->outcome == DS_OUT_NOTASK) {
                    finish(c, j, WEFT_ENOENT, 0, "local: no task '%s' registered", j->name);
                } else if (t->outcome == DS_OUT_CANCELLED) {
                    finish(c, j, WEFT_ECANCELED, 0, "cancelled");
                } else {
                    finish(c, j, t->code ? t->code : WEFT_ENOMEM, 0, "local: node error %d",
                           (int)t->code);
                }
            }
            job_unref(j); /* the local task's reference */
            wf_free(t->arg);
            wf_free(t);
        }
        ds_exec_release(b);
        wf_free(b);
        b = next;
    }
}

/* The job's frame refers to results kept on its preferred node: make the
 * frame with all the bytes instead (the node is gone, or said MISSING).
 * 0 or -1 (no memory). I/O thread. */
static int unprefer(weft_djob_t *j) {
    j->prefer = -1;
    if (!j->refill) return 0;
    uint8_t *a;
    size_t len;
    if (j->refill(j->refill_data, &a, &len)) return -1;
    j->refill = NULL;
    wf_free(j->arg);
    j->arg = a;
    j->arg_len = len;
    return 0;
}

/* Places queued jobs while some node has free credit. */
static void place(weft_cluster_t *c) {
    weft_djob_t *j = c->ready_head, *next;
    size_t n = c->nodes_seen;
    int skipped = 0;
    while (j) {
        next = j->next;
        dnode_t *best = NULL;
        uint64_t best_free = 0, best_load = 0;
        if (j->prefer >= 0) {
            dnode_t *d = c->nodes[j->prefer];
            if (d->state != N_READY || d->draining ||
                atomic_load_explicit(&d->st.connects, memory_order_relaxed) != j->prefer_gen) {
                if (unprefer(j)) { /* no memory for the whole frame */
                    ready_remove(c, j);
                    finish(c, j, WEFT_ENOMEM, 0, "out of memory for a task's inputs");
                    j = next;
                    continue;
                }
            }
        }
        if (!(j->flags & WEFT_DIST_LOCAL)) {
            for (size_t i = 0; i < n; i++) {
                dnode_t *d = c->nodes[i];
                if (j->pin >= 0 && (int)i != j->pin) continue;
                if (j->prefer >= 0 && (int)i != j->prefer) continue;
                if (d->state != N_READY || !d->info || d->draining || d->outstanding >= d->credit)
                    continue;
                if (j->arg_len > d->max_bytes) continue;
                if (d->outstanding && d->inflight_bytes + j->arg_len > NODE_INFLIGHT_BYTES) continue;
                /* the least loaded node: fewest tasks in flight per worker
                 * (credits differ: nodes grow them while tasks are short),
                 * then the most free credit */
                uint64_t w = (uint64_t)atomic_load_explicit(&d->st.workers, memory_order_relaxed);
                uint64_t load = (d->outstanding << 10) / (w ? w : 1), f = d->credit - d->outstanding;
                if (!best || load < best_load || (load == best_load && f > best_free))
                    best_free = f, best_load = load, best = d;
            }
        }
        int local_ok = c->rt && !(j->flags & WEFT_DIST_REMOTE) && j->pin < 0 && j->prefer < 0 &&
                       c->local_out < c->local_credit;
        uint64_t local_load = local_ok ? (c->local_out << 10) / (uint64_t)c->o.local_workers : 0;
        if (local_ok && (!best || local_load < best_load)) {
            ready_remove(c, j);
            j->attempt++;
            j->node = LOCAL_IDX;
            j->state = J_SENT;
            atomic_fetch_add(&j->refs, 1);
            if (place_local(c, j)) {
                atomic_fetch_sub(&j->refs, 1);
                finish(c, j, WEFT_ENOMEM, 0, "out of memory");
            } else {
                c->local_out++;
            }
        } else if (best) {
            ready_remove(c, j);
            j->attempt++;
            j->arg_sent = 0;
            j->sent_ns = c->turn_ns;
            if (ds_map_put(&best->inflight, j->id, j)) {
                finish(c, j, WEFT_ENOMEM, 0, "out of memory");
            } else {
                j->node = best->idx;
                j->state = J_SENT;
                best->outstanding++;
                best->inflight_bytes += j->arg_len;
                int all = send_arg(best, j);
                if (all < 0) {
                    node_down(c, best, WEFT_ENOMEM, "out of memory");
                } else if (!all) {
                    j->streaming = 1;
                    atomic_fetch_add(&j->refs, 1); /* the stream's reference */
                    j->next_stream = best->streams;
                    best->streams = j;
                }
            }
        } else {
            /* this job fits nowhere now; a later one (other flags, smaller)
             * might: look at a few more, then stop */
            if (++skipped > 64) break;
        }
        j = next;
    }
    if (c->nlgather) submit_local(c);
}

static void pump_streams(weft_cluster_t *c, dnode_t *n) {
    weft_djob_t **pp = &n->streams;
    while (*pp) {
        weft_djob_t *j = *pp;
        int all = send_arg(n, j);
        if (all < 0) {
            node_down(c, n, WEFT_ENOMEM, "out of memory");
            return;
        }
        if (all) {
            *pp = j->next_stream;
            stream_end(j);
        } else {
            pp = &j->next_stream;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Submissions and cancellations from user threads                     */

static void take_submitted(weft_cluster_t *c) {
    pthread_mutex_lock(&c->sync->mu);
    weft_djob_t *list = c->sub_head, *cq = c->cancelq;
    c->sub_head = c->sub_tail = NULL;
    c->cancelq = NULL;
    size_t nodes = c->nnodes;
    for (weft_djob_t *j = cq; j; j = j->next_cancel) j->in_cancelq = 0;
    pthread_mutex_unlock(&c->sync->mu);
    /* new nodes (weft_cluster_add_node) */
    for (size_t i = c->nodes_seen; i < nodes; i++) c->nodes[i]->next_try = 0;
    c->nodes_seen = nodes;
    while (list) {
        weft_djob_t *next = list->next;
        list->id = ++c->next_id;
        ready_push(c, list, 0);
        list = next;
    }
    weft_djob_t *next;
    for (weft_djob_t *j = cq; j; j = next) {
        next = j->next_cancel;
        int st = atomic_load_explicit(&j->state, memory_order_relaxed);
        if (st == J_QUEUED && j->id) {
            ready_remove(c, j);
            finish(c, j, WEFT_ECANCELED, 0, "cancelled");
        } else if (st == J_SENT) {
            if (j->node == LOCAL_IDX) {
                if (j->local) atomic_store(&j->local->cancel, 1);
                j->local = NULL; /* its result, when it comes, is dropped */
                finish(c, j, WEFT_ECANCELED, 0, "cancelled");
            } else if (j->node >= 0) {
                dnode_t *d = c->nodes[j->node];
                ds_map_del(&d->inflight, j->id);
                d->inflight_bytes -= j->arg_len < d->inflight_bytes ? j->arg_len : d->inflight_bytes;
                /* the node skips it if it has not started; an argument
                 * being streamed is sent to its end (the stream keeps the
                 * bytes) so that the connection stays well-formed; the
                 * node's answer, when it comes, only returns the credit */
                if (ds_conn_room(&d->conn, 12) == 0)
                    ds_put_idatt(&d->conn.pt, DS_R_CANCEL, j->id, j->attempt);
                finish(c, j, WEFT_ECANCELED, 0, "cancelled");
            }
        }
        job_unref(j); /* the cancel queue's reference */
    }
}

/* ------------------------------------------------------------------ */
/* Timer: heartbeats, deadlines, reconnects, grace                     */

static void on_timer(weft_cluster_t *c) {
    uint64_t ticks;
    ssize_t r = read(c->tfd, &ticks, sizeof ticks);
    (void)r;
    int64_t now = wf_now_ns(), hb = ns_of(c->o.heartbeat_s), dead = ns_of(c->o.dead_after_s);
    for (size_t i = 0; i < c->nodes_seen; i++) {
        dnode_t *n = c->nodes[i];
        switch (n->state) {
        case N_DOWN:
            if (now >= n->next_try) node_connect(c, n);
            break;
        case N_CONNECTING:
        case N_HANDSHAKE:
            if (now > n->deadline)
                node_down(c, n, n->state == N_CONNECTING ? WEFT_ETIMEDOUT : WEFT_ETIMEDOUT,
                          n->state == N_CONNECTING ? "connect timed out" : "handshake timed out");
            break;
        case N_READY:
            if (now - n->conn.last_rx > dead) {
                node_down(c, n, WEFT_ENODE, "lost (silent for %.0f ms)",
                          (double)(now - n->conn.last_rx) / 1e6);
            } else if (now - n->conn.last_tx >= hb && ds_conn_pending(&n->conn) == 0) {
                if (ds_conn_room(&n->conn, 8) == 0) ds_put_u64(&n->conn.pt, DS_R_PING, (uint64_t)now);
            }
            break;
        }
    }
    /* jobs pinned to a node that stays down fail after grace (a walk of
     * the queue at most every 100 ms, and only while pinned jobs wait) */
    if (c->npinned && now - c->pin_check >= 100000000) {
        c->pin_check = now;
        int64_t grace = ns_of(c->o.grace_s);
        for (weft_djob_t *j = c->ready_head, *next; j; j = next) {
            next = j->next;
            if (j->pin < 0) continue;
            dnode_t *d = c->nodes[j->pin];
            if (d->state == N_READY || now - d->down_since <= grace) continue;
            ready_remove(c, j);
            finish(c, j, WEFT_ENODE, 0, "node %s: unreachable for %.1f s (the task is placed there): %s",
                   d->name, c->o.grace_s, d->detail[0] ? d->detail : "not connected");
        }
    }
    /* every node down, no local workers: waiting jobs fail after grace */
    if (!c->rt && !c->ready_nodes && c->nready) {
        if (now - c->none_since > ns_of(c->o.grace_s)) {
            char names[WEFT_DETAIL_MAX / 2] = "";
            size_t l = 0;
            for (size_t i = 0; i < c->nodes_seen && l < sizeof names - 1; i++)
                l += (size_t)snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "",
                                      c->nodes[i]->detail[0] ? c->nodes[i]->detail : c->nodes[i]->name);
            if (l >= sizeof names) l = sizeof names - 1;
            while (c->ready_head) {
                weft_djob_t *j = c->ready_head;
                ready_remove(c, j);
                finish(c, j, WEFT_ENODE, 0, "no node reachable for %.1f s: %s", c->o.grace_s, names);
            }
        }
    } else if (c->ready_nodes || c->rt) {
        c->none_since = now;
    }
}

/* ------------------------------------------------------------------ */
/* The I/O thread                                                      */

static void *io_main(void *arg) {
    weft_cluster_t *c = arg;
    struct epoll_event evs[64];
    c->none_since = wf_now_ns();
    pthread_mutex_lock(&c->sync->mu); /* discovery may add nodes already */
    size_t listed = c->nnodes;
    pthread_mutex_unlock(&c->sync->mu);
    for (size_t i = 0; i < listed; i++) c->nodes[i]->next_try = 0;
    take_submitted(c);
    for (size_t i = 0; i < c->nodes_seen; i++) node_connect(c, c->nodes[i]);
    while (!atomic_load(&c->stop)) {
        atomic_store(&c->sleeping, 1);
        pthread_mutex_lock(&c->sync->mu);
        int queued = c->sub_head || c->cancelq || c->nnodes != c->nodes_seen;
        pthread_mutex_unlock(&c->sync->mu);
        pthread_mutex_lock(&c->lq);
        queued |= c->local_done != NULL;
        pthread_mutex_unlock(&c->lq);
        int n = epoll_wait(c->ep, evs, 64, queued ? 0 : -1);
        atomic_store(&c->sleeping, 0);
        c->turn_ns = wf_now_ns(); /* one clock read per turn for the jobs it sends */
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            int tag = *(int *)evs[i].data.ptr;
            if (tag == EV_WAKE) {
                uint64_t v;
                ssize_t r = read(c->efd, &v, sizeof v);
                (void)r;
            } else if (tag == EV_TIMER) {
                on_timer(c);
            } else {
                dnode_t *d = (dnode_t *)((char *)evs[i].data.ptr - offsetof(dnode_t, tag));
                if (d->state == N_CONNECTING) {
                    if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) node_connected(c, d);
                } else if (d->state >= N_HANDSHAKE && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                    node_readable(c, d);
                }
            }
        }
        take_submitted(c);
        take_local(c);
        place(c);
        for (size_t i = 0; i < c->nodes_seen; i++) {
            dnode_t *d = c->nodes[i];
            if (d->state == N_READY && d->streams) pump_streams(c, d);
            if (d->state >= N_HANDSHAKE && ds_conn_pending(&d->conn)) {
                int more = 0;
                if (ds_conn_flush(&d->conn, &more)) node_down(c, d, WEFT_ENODE, "lost (write failed)");
                else node_want_out(c, d, more);
            }
            if (d->conn.fd >= 0) publish_bytes(d);
        }
        complete_turn(c);
    }
    /* stopping: every job still pending is cancelled */
    take_submitted(c);
    for (size_t i = 0; i < c->nodes_seen; i++) {
        dnode_t *d = c->nodes[i];
        for (size_t k = 0; k < d->inflight.cap; k++) {
            weft_djob_t *j = d->inflight.vals[k];
            if (j) finish(c, j, WEFT_ECANCELED, 0, "cancelled: the cluster was freed");
        }
        ds_map_free(&d->inflight);
        drop_streams(d);
        if (d->conn.fd >= 0) {
            if (d->state == N_READY && ds_conn_room(&d->conn, 32) == 0) {
                ds_put_bye(&d->conn.pt, DS_BYE_CLOSING, "client closing");
                int more;
                ds_conn_flush(&d->conn, &more);
            }
            epoll_ctl(c->ep, EPOLL_CTL_DEL, d->conn.fd, NULL);
            ds_conn_close(&d->conn);
        }
        if (d->hs) {
            ds_hs_clear(d->hs);
            wf_free(d->hs);
            d->hs = NULL;
        }
    }
    while (c->ready_head) {
        weft_djob_t *j = c->ready_head;
        ready_remove(c, j);
        finish(c, j, WEFT_ECANCELED, 0, "cancelled: the cluster was freed");
    }
    if (c->nlgather) submit_local(c);
    /* local tasks: cancel them and wait for their batches */
    if (c->rt) {
        while (c->local_out) {
            take_local(c);
            complete_turn(c);
            if (c->local_out) usleep(1000);
        }
    }
    complete_turn(c);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Public                                                              */

static int add_node_locked(weft_cluster_t *c, const char *s) {
    ds_addr_t a;
    if (ds_addr_parse(s, WEFT_DIST_PORT, &a) || (a.port == 0 && !a.is_unix)) {
        wf_set_detail("node '%.200s': expected host:port, [v6]:port, host or unix:/path", s);
        return WEFT_EINVAL;
    }
    char name[WEFT_NODE_NAME_MAX];
    ds_addr_format(&a, name, sizeof name);
    for (size_t i = 0; i < c->nnodes; i++)
        if (!strcmp(c->nodes[i]->name, name)) {
            wf_set_detail("node %s: listed twice", name);
            return WEFT_EEXIST;
        }
    if (c->nnodes == c->capnodes) {
        /* the I/O thread reads nodes[] without the lock: never move it
         * while it runs (capacity is fixed at 64 more than the start) */
        wf_set_detail("too many nodes");
        return WEFT_ERANGE;
    }
    dnode_t *n = wf_calloc(1, sizeof *n);
    if (!n) return WEFT_ENOMEM;
    n->c = c;
    n->tag = EV_NODE;
    n->idx = (int)c->nnodes;
    n->addr = a;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->conn.fd = -1;
    n->backoff = c->o.backoff_min_s;
    n->down_since = wf_now_ns();
    n->clock_rtt = -1;
    c->nodes[c->nnodes++] = n;
    c->sync->nnodes = c->nnodes;
    return 0;
}

int weft_cluster_create(const char *const *nodes, size_t count, const weft_cluster_opts_t *opts,
                        weft_cluster_t **out) {
    if (!out || (count && !nodes)) return WEFT_EINVAL;
    *out = NULL;
    weft_cluster_opts_t o;
    if (opts) o = *opts;
    else weft_cluster_opts_init(&o);
    if (o.local_workers < 0 || o.local_workers > WEFT_MAX_WORKERS || o.max_losses < 1 ||
        !(o.connect_timeout_s > 0) || !(o.heartbeat_s > 0) || !(o.dead_after_s > o.heartbeat_s) ||
        !(o.backoff_min_s > 0) || !(o.backoff_max_s >= o.backoff_min_s) || !(o.grace_s >= 0) ||
        isinf(o.heartbeat_s) || isinf(o.dead_after_s) || o.max_bytes == 0) {
        wf_set_detail("cluster options out of range");
        return WEFT_EINVAL;
    }
    if (!count && !o.local_workers && !o.discover) {
        wf_set_detail("a cluster needs nodes or local workers");
        return WEFT_EINVAL;
    }
    weft_cluster_t *c = wf_calloc(1, sizeof *c);
    ds_sync_t *sy = wf_calloc(1, sizeof *sy);
    if (!c || !sy) {
        wf_free(c);
        wf_free(sy);
        return WEFT_ENOMEM;
    }
    c->o = o;
    c->o.secret_file = NULL;
    c->sync = sy;
    atomic_init(&sy->refs, 1);
    pthread_mutex_init(&sy->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sy->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->lq, NULL);
    c->ep = c->efd = c->tfd = -1;
    c->ev_wake = EV_WAKE;
    c->ev_timer = EV_TIMER;
    c->capnodes = count + 64;
    c->nodes = wf_calloc(c->capnodes, sizeof *c->nodes);
    sy->nodes = c->nodes; /* the sync frees them, last */
    int rc = c->nodes ? 0 : WEFT_ENOMEM;
    for (size_t i = 0; !rc && i < count; i++) rc = add_node_locked(c, nodes[i]);
    if (!rc && (count || o.discover)) {
        char path[4096];
        rc = ds_key_load(opts ? opts->secret_file : NULL, 0, c->key, &c->key_len, NULL, path,
                         sizeof path);
    }
    if (!rc && o.local_workers) {
        weft_tasks_register_builtin(); /* as every node has them */
        rc = weft_runtime_create(o.local_workers, &c->rt);
        c->local_credit = (uint64_t)o.local_workers * 64;
    }
    if (!rc) rc = ds_gexec_create(c, &c->gx);
    if (!rc) {
        c->ep = epoll_create1(EPOLL_CLOEXEC);
        c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (c->ep < 0 || c->efd < 0 || c->tfd < 0) rc = WEFT_ESYSTEM;
    }
    if (!rc) {
        double tick = o.heartbeat_s / 2 < 0.05 ? o.heartbeat_s / 2 : 0.05;
        struct itimerspec its = {{0, (long)(tick * 1e9)}, {0, (long)(tick * 1e9)}};
        timerfd_settime(c->tfd, 0, &its, NULL);
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.ptr = &c->ev_wake;
        epoll_ctl(c->ep, EPOLL_CTL_ADD, c->efd, &ev);
        ev.data.ptr = &c->ev_timer;
        epoll_ctl(c->ep, EPOLL_CTL_ADD, c->tfd, &ev);
        if (pthread_create(&c->io, NULL, io_main, c)) {
            rc = WEFT_ESYSTEM;
            wf_set_detail("cannot start the I/O thread");
        }
    }
    if (rc) {
        char detail[WEFT_DETAIL_MAX];
        snprintf(detail, sizeof detail, "%s", weft_error_detail());
        if (c->rt) weft_runtime_destroy(c->rt);
        ds_gexec_free(c->gx);
        if (c->ep >= 0) close(c->ep);
        if (c->efd >= 0) close(c->efd);
        if (c->tfd >= 0) close(c->tfd);
        pthread_mutex_destroy(&c->lq);
        OPENSSL_cleanse(c->key, sizeof c->key);
        wf_free(c);
        sync_unref(sy);
        wf_set_detail("%s", detail);
        return rc;
    }
    if (o.discover && (rc = ds_disc_start(c, &o, c->key, c->key_len, &c->disc)) != 0) {
        char detail[WEFT_DETAIL_MAX];
        snprintf(detail, sizeof detail, "%s", weft_error_detail());
        weft_cluster_free(c);
        wf_set_detail("%s", detail);
        return rc;
    }
    *out = c;
    return 0;
}

const weft_executor_t *weft_cluster_executor(weft_cluster_t *c) {
    return c ? ds_gexec_executor(c->gx) : NULL;
}

int weft_cluster_add_node(weft_cluster_t *c, const char *node) {
    if (!c || !node) return WEFT_EINVAL;
    if (!c->key_len) {
        wf_set_detail("a cluster made without nodes has no key loaded");
        return WEFT_EINVAL;
    }
    pthread_mutex_lock(&c->sync->mu);
    int rc = add_node_locked(c, node);
    pthread_mutex_unlock(&c->sync->mu);
    if (!rc) wake(c);
    return rc;
}

int weft_cluster_wait_nodes(weft_cluster_t *c, size_t n, double timeout_s) {
    if (!c || bad_timeout(timeout_s)) return WEFT_EINVAL;
    pthread_mutex_lock(&c->sync->mu);
    if (n > c->nnodes && !(c->disc && n <= c->capnodes)) {
        pthread_mutex_unlock(&c->sync->mu);
        return WEFT_EINVAL;
    }
    struct timespec ts;
    int timed = deadline_of(timeout_s, &ts), rc = 0;
    while ((size_t)atomic_load(&c->ready_nodes) < n) {
        int e = timed ? pthread_cond_timedwait(&c->sync->cv, &c->sync->mu, &ts)
                      : pthread_cond_wait(&c->sync->cv, &c->sync->mu);
        if (e == ETIMEDOUT && (size_t)atomic_load(&c->ready_nodes) < n) {
            rc = WEFT_ETIMEDOUT;
            break;
        }
    }
    size_t listed = c->nnodes; /* under sync: discovery may add nodes meanwhile */
    pthread_mutex_unlock(&c->sync->mu);
    if (rc) {
        char msg[WEFT_DETAIL_MAX];
        size_t l = (size_t)snprintf(msg, sizeof msg, "%d of %zu nodes up",
                                    atomic_load(&c->ready_nodes), n);
        for (size_t i = 0; i < listed && l < sizeof msg; i++) {
            /* read racily: a message, not a decision */
            if (!atomic_load(&c->nodes[i]->st.connected))
                l += (size_t)snprintf(msg + l, sizeof msg - l, "; %s", c->nodes[i]->name);
        }
        wf_set_detail("%s", msg);
    }
    return rc;
}

int weft_cluster_free(weft_cluster_t *c) {
    if (!c) return WEFT_EINVAL;
    if (pthread_equal(pthread_self(), c->io)) return WEFT_EPERM;
    ds_disc_stop(c->disc); /* first: it adds nodes */
    c->disc = NULL;
    pthread_mutex_lock(&c->sync->mu);
    c->freeing = 1;
    pthread_mutex_unlock(&c->sync->mu);
    atomic_store(&c->stop, 1);
    atomic_store(&c->sleeping, 1);
    wake(c);
    pthread_join(c->io, NULL);
    ds_gexec_free(c->gx); /* every job it held has completed: frees them */
    if (c->rt) weft_runtime_destroy(c->rt);
    wf_free(c->lgather);
    close(c->ep);
    close(c->efd);
    close(c->tfd);
    pthread_mutex_destroy(&c->lq);
    OPENSSL_cleanse(c->key, sizeof c->key);
    ds_sync_t *sy = c->sync;
    wf_free(c);
    sync_unref(sy);
    return 0;
}

/* The node listed as `name` (compared as parsed addresses), or -1. */
static int node_index(weft_cluster_t *c, const char *name) {
    ds_addr_t a;
    if (ds_addr_parse(name, WEFT_DIST_PORT, &a)) return -1;
    for (size_t i = 0; i < c->nnodes; i++)
        if (c->nodes[i]->addr.port == a.port && strcmp(c->nodes[i]->addr.host, a.host) == 0)
            return (int)i;
    return -1;
}

/* weft_cluster_submit, and the graph executor's submissions (ds_graph.c):
 * owned, when not NULL, is arg made with wf_malloc and taken over (freed
 * here on failure too); wire_flags go on the TASK record. */
static int submit(weft_cluster_t *c, const char *task, const void *arg, size_t len, uint8_t *owned,
                  uint8_t wire_flags, const weft_dsubmit_opts_t *opts, weft_djob_t **job);
static int submit_job(weft_cluster_t *c, const char *task, const void *arg, size_t len,
                      uint8_t *owned, uint8_t wire_flags, const weft_dsubmit_opts_t *opts,
                      weft_djob_t **job, const ds_prefer_t *pref);

int weft_cluster_submit(weft_cluster_t *c, const char *task, const void *arg, size_t len,
                        const weft_dsubmit_opts_t *opts, weft_djob_t **job) {
    return submit(c, task, arg, len, NULL, 0, opts, job);
}

int ds_cluster_submit_owned(weft_cluster_t *c, const char *task, uint8_t *arg, size_t len,
                            uint8_t wire_flags, const weft_dsubmit_opts_t *opts, weft_djob_t **job) {
    return submit(c, task, arg, len, arg, wire_flags, opts, job);
}

int ds_cluster_submit_local(weft_cluster_t *c, const char *task, uint8_t *arg, size_t len,
                            uint8_t wire_flags, const weft_dsubmit_opts_t *opts,
                            const ds_prefer_t *pref, weft_djob_t **job) {
    if (job) *job = NULL;
    int rc = submit_job(c, task, arg, len, arg, wire_flags, opts, job, pref);
    if (rc) wf_free(arg);
    return rc;
}

static int submit(weft_cluster_t *c, const char *task, const void *arg, size_t len, uint8_t *owned,
                  uint8_t wire_flags, const weft_dsubmit_opts_t *opts, weft_djob_t **job) {
    if (job) *job = NULL;
    int rc = submit_job(c, task, arg, len, owned, wire_flags, opts, job, NULL);
    if (rc && owned) wf_free(owned);
    return rc;
}

static int submit_job(weft_cluster_t *c, const char *task, const void *arg, size_t len,
                      uint8_t *owned, uint8_t wire_flags, const weft_dsubmit_opts_t *opts,
                      weft_djob_t **job, const ds_prefer_t *pref) {
    if (!c || !task || (len && !arg)) return WEFT_EINVAL;
    size_t nl = strlen(task);
    if (!nl || nl > WEFT_NAME_MAX) {
        wf_set_detail("task name empty or longer than %d bytes", WEFT_NAME_MAX);
        return WEFT_EINVAL;
    }
    for (size_t i = 0; i < nl; i++)
        if ((unsigned char)task[i] <= 0x20 || task[i] == 0x7f) {
            wf_set_detail("task name '%.100s' holds a blank or control character", task);
            return WEFT_EINVAL;
        }
    unsigned flags = opts ? opts->flags : 0;
    if ((flags & WEFT_DIST_LOCAL) && (flags & WEFT_DIST_REMOTE)) return WEFT_EINVAL;
    if ((flags & WEFT_DIST_LOCAL) && !c->rt) {
        wf_set_detail("WEFT_DIST_LOCAL, but the cluster has no local workers");
        return WEFT_EINVAL;
    }
    if ((flags & WEFT_DIST_REMOTE) && !c->disc && !c->nnodes) {
        wf_set_detail("WEFT_DIST_REMOTE, but the cluster has no nodes");
        return WEFT_EINVAL;
    }
    if (len > c->o.max_bytes) {
        wf_set_detail("argument of %zu bytes is over the limit of %zu", len, c->o.max_bytes);
        return WEFT_ERANGE;
    }
    if ((flags & WEFT_DIST_LOCAL) && opts && opts->node) {
        wf_set_detail("WEFT_DIST_LOCAL and a node to run on are exclusive");
        return WEFT_EINVAL;
    }
    weft_djob_t *j = wf_calloc(1, sizeof *j + nl + 1);
    if (!j) return WEFT_ENOMEM;
    if (owned) {
        j->arg = owned;
    } else {
        if (len && !(j->arg = wf_malloc(len))) {
            wf_free(j);
            return WEFT_ENOMEM;
        }
        if (len) memcpy(j->arg, arg, len);
    }
    j->arg_len = len;
    j->wire_flags = wire_flags;
    j->pin = -1;
    j->prefer = -1;
    j->r_node = -1;
    j->r_worker = -1;
    if (pref && pref->node >= 0) {
        j->prefer = pref->node;
        j->prefer_gen = pref->gen;
        j->refill = pref->refill;
        j->refill_data = pref->data;
    }
    j->name = (char *)(j + 1);
    memcpy(j->name, task, nl + 1);
    j->name_len = nl;
    j->flags = flags;
    j->node = -1;
    j->group = opts ? opts->group : NULL;
    j->cb = opts ? opts->callback : NULL;
    j->cb_data = opts ? opts->callback_data : NULL;
    j->sync = c->sync;
    atomic_init(&j->refs, job ? 2 : 1);
    atomic_init(&j->state, J_QUEUED);
    pthread_mutex_lock(&c->sync->mu);
    if (c->freeing) {
        pthread_mutex_unlock(&c->sync->mu);
        if (!owned) wf_free(j->arg);
        wf_free(j);
        return WEFT_EDESTROYED;
    }
    if (opts && opts->node && (j->pin = node_index(c, opts->node)) < 0) {
        pthread_mutex_unlock(&c->sync->mu);
        if (!owned) wf_free(j->arg);
        wf_free(j);
        wf_set_detail("node %.200s is not one of the cluster's nodes", opts->node);
        return WEFT_ENOENT;
    }
    atomic_fetch_add(&c->sync->refs, 1);
    j->c = c;
    if (j->group) {
        j->group->pending++;
        j->gprev = NULL;
        j->gnext = j->group->jobs;
        if (j->gnext) j->gnext->gprev = j;
        j->group->jobs = j;
    }
    if (c->sub_tail) c->sub_tail->next = j;
    else c->sub_head = j;
    c->sub_tail = j;
    pthread_mutex_unlock(&c->sync->mu);
    wake(c);
    if (job) *job = j;
    return 0;
}

int weft_djob_wait(weft_djob_t *j, double timeout_s, int *status) {
    if (!j || bad_timeout(timeout_s)) return WEFT_EINVAL;
    if (atomic_load_explicit(&j->state, memory_order_acquire) != J_DONE) {
        struct timespec ts;
        int timed = timeout_s > 0 ? deadline_of(timeout_s, &ts) : 0;
        pthread_mutex_lock(&j->sync->mu);
        while (atomic_load_explicit(&j->state, memory_order_relaxed) != J_DONE) {
            if (timeout_s == 0) break;
            int e = timed ? pthread_cond_timedwait(&j->sync->cv, &j->sync->mu, &ts)
                          : pthread_cond_wait(&j->sync->cv, &j->sync->mu);
            if (e == ETIMEDOUT) break;
        }
        int done = atomic_load_explicit(&j->state, memory_order_relaxed) == J_DONE;
        pthread_mutex_unlock(&j->sync->mu);
        if (!done) return WEFT_ETIMEDOUT;
    }
    if (status) *status = j->status;
    if (j->rc) wf_set_detail("%s", j->err ? j->err : weft_strerror(j->rc));
    return j->rc;
}

int weft_djob_status(const weft_djob_t *j, int *status) {
    if (!j) return WEFT_EINVAL;
    if (atomic_load_explicit(&j->state, memory_order_acquire) < J_FINISHED) return WEFT_EBUSY;
    if (status) *status = j->status;
    return j->rc;
}

int weft_djob_result(const weft_djob_t *j, const void **data, size_t *len) {
    if (!j) return WEFT_EINVAL;
    if (atomic_load_explicit(&j->state, memory_order_acquire) < J_FINISHED) return WEFT_EBUSY;
    if (j->rc) return j->rc;
    if (data) *data = j->result;
    if (len) *len = j->result_len;
    return 0;
}

const char *weft_djob_error(const weft_djob_t *j) {
    if (!j || atomic_load_explicit(&j->state, memory_order_acquire) < J_FINISHED || !j->rc) return "";
    return j->err ? j->err : weft_strerror(j->rc);
}

const char *weft_djob_node(const weft_djob_t *j) {
    if (!j || atomic_load_explicit(&j->state, memory_order_acquire) < J_FINISHED || !j->where) return "";
    return j->where;
}

void ds_djob_info(const weft_djob_t *j, ds_djob_info_t *o) {
    o->rc = j->rc;
    o->status = j->status;
    o->err = j->err;
    o->where = j->where;
    o->worker = j->r_worker;
    o->attempts = (int)j->attempt;
    o->lost_ns = j->lost_ns;
    o->start_ns = j->r_start_ns;
    o->run_ns = j->r_run_ns;
    o->bytes_sent = j->arg_len;
    o->bytes_received = j->result_len;
    o->id = j->id;
    o->fail_bytes = j->fail_bytes;
    o->fail_len = j->fail_len;
    o->node = j->r_node;
    o->gen = j->r_gen;
}

uint64_t ds_cluster_node_gen(weft_cluster_t *c, int idx) {
    if (idx < 0 || (size_t)idx >= c->sync->nnodes) return 0;
    dnode_t *d = c->nodes[idx];
    if (!atomic_load_explicit(&d->st.connected, memory_order_relaxed)) return 0;
    return atomic_load_explicit(&d->st.connects, memory_order_relaxed);
}

int ds_cluster_locality(const weft_cluster_t *c) { return c->o.locality; }

int weft_djob_attempts(const weft_djob_t *j) {
    if (!j) return WEFT_EINVAL;
    return (int)j->attempt;
}

/* Queues a cancellation (sync held); the cluster, or NULL when the job
 * needs none. */
static weft_cluster_t *cancel_locked(weft_djob_t *j) {
    weft_cluster_t *c = j->c;
    if (!c || atomic_load_explicit(&j->state, memory_order_relaxed) >= J_FINISHED || j->cancel_req)
        return NULL;
    j->cancel_req = 1;
    atomic_fetch_add(&j->refs, 1);
    j->in_cancelq = 1;
    j->next_cancel = c->cancelq;
    c->cancelq = j;
    return c;
}

int weft_djob_cancel(weft_djob_t *j) {
    if (!j) return WEFT_EINVAL;
    pthread_mutex_lock(&j->sync->mu);
    weft_cluster_t *c = cancel_locked(j);
    pthread_mutex_unlock(&j->sync->mu);
    if (c) wake(c);
    return 0;
}

int weft_djob_free(weft_djob_t *j) {
    if (!j) return WEFT_EINVAL;
    weft_djob_cancel(j);
    job_unref(j);
    return 0;
}

/* Groups */

int weft_dgroup_create(weft_cluster_t *c, weft_dgroup_t **g) {
    if (!c || !g) return WEFT_EINVAL;
    weft_dgroup_t *x = wf_calloc(1, sizeof *x);
    if (!x) return WEFT_ENOMEM;
    x->sync = c->sync;
    atomic_fetch_add(&c->sync->refs, 1);
    *g = x;
    return 0;
}

int weft_dgroup_wait(weft_dgroup_t *g, double timeout_s) {
    if (!g || bad_timeout(timeout_s)) return WEFT_EINVAL;
    struct timespec ts;
    int timed = timeout_s > 0 ? deadline_of(timeout_s, &ts) : 0, rc = 0;
    pthread_mutex_lock(&g->sync->mu);
    while (g->pending > 0) {
        if (timeout_s == 0) {
            rc = WEFT_ETIMEDOUT;
            break;
        }
        int e = timed ? pthread_cond_timedwait(&g->sync->cv, &g->sync->mu, &ts)
                      : pthread_cond_wait(&g->sync->cv, &g->sync->mu);
        if (e == ETIMEDOUT && g->pending > 0) {
            rc = WEFT_ETIMEDOUT;
            break;
        }
    }
    if (!rc && g->failed) rc = WEFT_ETASK;
    pthread_mutex_unlock(&g->sync->mu);
    return rc;
}

int64_t weft_dgroup_pending(const weft_dgroup_t *g) {
    if (!g) return WEFT_EINVAL;
    pthread_mutex_lock(&g->sync->mu);
    int64_t p = g->pending;
    pthread_mutex_unlock(&g->sync->mu);
    return p;
}

int weft_dgroup_failures(const weft_dgroup_t *g, uint64_t *failed, int *first_rc) {
    if (!g) return WEFT_EINVAL;
    pthread_mutex_lock(&g->sync->mu);
    if (failed) *failed = g->failed;
    if (first_rc) *first_rc = g->first_rc;
    pthread_mutex_unlock(&g->sync->mu);
    return 0;
}

int weft_dgroup_cancel(weft_dgroup_t *g) {
    if (!g) return WEFT_EINVAL;
    pthread_mutex_lock(&g->sync->mu);
    weft_cluster_t *c = NULL;
    for (weft_djob_t *j = g->jobs; j; j = j->gnext) {
        weft_cluster_t *x = cancel_locked(j);
        if (x) c = x;
    }
    pthread_mutex_unlock(&g->sync->mu);
    if (c) wake(c);
    return 0;
}

int weft_dgroup_free(weft_dgroup_t *g) {
    if (!g) return WEFT_EINVAL;
    pthread_mutex_lock(&g->sync->mu);
    int64_t p = g->pending;
    pthread_mutex_unlock(&g->sync->mu);
    if (p) return WEFT_EBUSY;
    ds_sync_t *s = g->sync;
    wf_free(g);
    sync_unref(s);
    return 0;
}

/* Statistics */

static void fill_stat(weft_node_stats_t *o, const char *name, node_stat_t *s, uint64_t total,
                      uint64_t extra_sent, uint64_t extra_recv) {
    memset(o, 0, sizeof *o);
    snprintf(o->node, sizeof o->node, "%s", name);
    o->connected = atomic_load(&s->connected);
    o->workers = atomic_load(&s->workers);
    o->jobs = atomic_load(&s->jobs);
    o->share = total ? (double)o->jobs / (double)total : 0;
    o->time_s = (double)atomic_load(&s->time_ns) / 1e9;
    o->time_per_job_s = o->jobs ? o->time_s / (double)o->jobs : 0;
    o->bytes_sent = atomic_load(&s->sent) + extra_sent;
    o->bytes_received = atomic_load(&s->received) + extra_recv;
    o->retries = atomic_load(&s->retries);
    o->losses = atomic_load(&s->losses);
    o->connects = atomic_load(&s->connects);
    o->last_error = atomic_load(&s->last_error);
    o->rtt_s = (double)atomic_load(&s->rtt_ns) / 1e9;
}

int weft_cluster_stats(weft_cluster_t *c, weft_node_stats_t **stats, size_t *count) {
    if (!c || !stats || !count) return WEFT_EINVAL;
    pthread_mutex_lock(&c->sync->mu);
    size_t n = c->nnodes;
    pthread_mutex_unlock(&c->sync->mu);
    size_t k = n + (c->rt ? 1 : 0);
    weft_node_stats_t *a = calloc(k ? k : 1, sizeof *a);
    if (!a) return WEFT_ENOMEM;
    uint64_t total = atomic_load(&c->total_jobs_a);
    for (size_t i = 0; i < n; i++) {
        dnode_t *d = c->nodes[i];
        /* bytes of the live connection are added when it closes; the live
         * part is read racily (a statistic) */
        fill_stat(&a[i], d->name, &d->st, total, 0, 0);
    }
    if (c->rt) {
        fill_stat(&a[n], "local", &c->local_st, total, 0, 0);
        a[n].connected = 1;
        a[n].workers = c->o.local_workers;
    }
    *stats = a;
    *count = k;
    return 0;
}

int weft_cluster_active_nodes(weft_cluster_t *c, char ***nodes, size_t *count) {
    if (!c || !nodes || !count) return WEFT_EINVAL;
    pthread_mutex_lock(&c->sync->mu);
    size_t n = c->nnodes, k = 0, bytes = 0;
    for (size_t i = 0; i < n; i++)
        if (atomic_load(&c->nodes[i]->st.connected)) k++, bytes += strlen(c->nodes[i]->name) + 1;
    char **a = malloc((k + 1) * sizeof *a + bytes);
    if (!a) {
        pthread_mutex_unlock(&c->sync->mu);
        return WEFT_ENOMEM;
    }
    char *p = (char *)(a + k + 1);
    size_t x = 0;
    for (size_t i = 0; i < n && x < k; i++) {
        if (!atomic_load(&c->nodes[i]->st.connected)) continue;
        size_t l = strlen(c->nodes[i]->name) + 1;
        memcpy(p, c->nodes[i]->name, l);
        a[x++] = p;
        p += l;
    }
    a[x] = NULL;
    pthread_mutex_unlock(&c->sync->mu);
    *nodes = a;
    *count = x;
    return 0;
}

int weft_cluster_print_stats(weft_cluster_t *c, FILE *out) {
    weft_node_stats_t *st;
    size_t n;
    int rc = weft_cluster_stats(c, &st, &n);
    if (rc) return rc;
    if (!out) out = stdout;
    uint64_t total = 0;
    double tsum = 0;
    for (size_t i = 0; i < n; i++) total += st[i].jobs, tsum += st[i].time_s;
    int w = fprintf(out, "Job execution statistics:\n");
    fprintf(out, " %-28s %4s %10s %7s %11s %13s %12s %12s %7s %6s\n", "node", "up", "jobs",
            "share", "time sum s", "time/job s", "sent B", "received B", "retries", "losses");
    for (size_t i = 0; i < n; i++)
        fprintf(out, " %-28s %4s %10llu %6.1f%% %11.3f %13.6f %12llu %12llu %7llu %6llu\n",
                st[i].node, st[i].connected ? "yes" : "no", (unsigned long long)st[i].jobs,
                st[i].share * 100, st[i].time_s, st[i].time_per_job_s,
                (unsigned long long)st[i].bytes_sent, (unsigned long long)st[i].bytes_received,
                (unsigned long long)st[i].retries, (unsigned long long)st[i].losses);
    int last = fprintf(out, " total: %llu jobs, %.3f s of task time\n", (unsigned long long)total,
                       tsum);
    free(st);
    return (w < 0 || last < 0 || ferror(out)) ? WEFT_EIO : 0;
}

int weft_cluster_print_stats_buf(weft_cluster_t *c, weft_buf_t *out) {
    if (!out) return WEFT_EINVAL;
    FILE *f = wf_buf_open(out);
    if (!f) return WEFT_ENOMEM;
    return wf_buf_close(f, out, weft_cluster_print_stats(c, f));
}
