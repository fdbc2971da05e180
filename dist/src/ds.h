/* ds.h: internals of the distribution layer (prefix ds_). Not installed.
 *
 * Modules:
 *   ds_wire.c  frame header, the incremental frame decoder, records
 *   ds_hs.c    the handshake state machine, sealing and opening frames
 *   ds_key.c   key files
 *   ds_addr.c  node strings, sockets, loopback checks
 *   ds_map.c   u64 -> pointer hash map (tasks by id)
 *   ds_conn.c  a connection's buffers: read, open, records out, seal, write
 *   ds_exec.c  running a batch of named tasks on the runtime
 *   ds_server.c, ds_cluster.c  the node and the client
 *   ds_procpool.c  worker processes as nodes on Unix sockets (weft_procpool_*)
 * The byte layouts are dist/PROTOCOL.md's; keep the two in step. */
#ifndef DS_H
#define DS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "weft/dist.h"
#include "weft/graph.h"
#include "wf_alloc.h"
#include "wf_layer.h"

/* ------------------------------------------------------------------ */
/* Bytes in network order                                              */

static inline void ds_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void ds_put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void ds_put64(uint8_t *p, uint64_t v) { ds_put32(p, (uint32_t)(v >> 32)); ds_put32(p + 4, (uint32_t)v); }
static inline uint16_t ds_get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t ds_get32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t ds_get64(const uint8_t *p) { return ((uint64_t)ds_get32(p) << 32) | ds_get32(p + 4); }

/* ------------------------------------------------------------------ */
/* Frames (PROTOCOL.md section 1)                                      */

#define DS_MAGIC0 0x57
#define DS_MAGIC1 0x46
#define DS_VERSION 1
#define DS_HDR 12
#define DS_TAG 16
#define DS_FRAME_MAX ((uint32_t)1 << 20) /* largest sealed plaintext */

enum {
    DS_T_HELLO = 1,
    DS_T_SERVER_HELLO = 2,
    DS_T_CLIENT_PROOF = 3,
    DS_T_REFUSE = 4,
    DS_T_SEALED = 5
};
#define DS_TYPE_BIT(t) (1u << (t))

#define DS_HELLO_LEN 68
#define DS_SHELLO_LEN 100
#define DS_PROOF_LEN 32
#define DS_REFUSE_LEN 4

/* REFUSE reasons */
enum { DS_REFUSE_VERSION = 1, DS_REFUSE_BUSY = 2, DS_REFUSE_REFUSED = 3 };

/* Decoder results */
enum { DS_NEED = 0, DS_FRAME = 1, DS_ERROR = -1 };
/* Why a frame was refused */
enum { DS_WHY_MALFORMED = 1, DS_WHY_VERSION = 2, DS_WHY_TOO_BIG = 3, DS_WHY_TYPE = 4 };

typedef struct ds_frame {
    uint8_t version, type;
    uint32_t len;          /* body length */
    const uint8_t *frame;  /* header, then body */
    const uint8_t *body;
    size_t size;           /* DS_HDR + len */
} ds_frame_t;

/* Looks at the n bytes at p (a connection's unread input) for one frame of
 * a type in `allowed` (DS_TYPE_BIT mask). DS_NEED: not enough bytes yet
 * (nothing is wrong so far: each header byte is checked as soon as it is
 * there). DS_FRAME: *f describes a whole frame at p. DS_ERROR: *why says
 * why; final. Handshake frames must have their exact length; a sealed
 * frame's length must lie in [DS_TAG, DS_TAG + max_plain]. Bodies are
 * never allocated here: the caller reads into a buffer it may size from
 * ds_frame_need once the header is whole. */
int ds_frame_decode(const uint8_t *p, size_t n, unsigned allowed, uint32_t max_plain,
                    ds_frame_t *f, int *why);
/* Bytes the frame starting at p needs in all (header + body), or 0 while
 * the header is incomplete; only meaningful when ds_frame_decode did not
 * fail on the same bytes. */
size_t ds_frame_need(const uint8_t *p, size_t n);
/* Writes a frame header. */
void ds_frame_header(uint8_t *h, uint8_t type, uint32_t len);

/* ------------------------------------------------------------------ */
/* Records (PROTOCOL.md section 5)                                     */

#define DS_REC_HDR 6
enum {
    DS_R_TASK = 1,
    DS_R_RESULT = 2,
    DS_R_CHUNK = 3,
    DS_R_CANCEL = 4,
    DS_R_CREDIT = 5,
    DS_R_INFO = 6,
    DS_R_PING = 7,
    DS_R_PONG = 8,
    DS_R_GOODBYE = 9
};
#define DS_F_MORE 0x1   /* TASK, RESULT: bytes continue in CHUNKs */
#define DS_F_LAST 0x1   /* CHUNK: the last one */
#define DS_F_INPUTS 0x2 /* TASK: the argument is an input frame (graph node) */
#define DS_F_TIMED 0x2  /* RESULT: start time and worker follow the fixed part */
#define DS_F_TIME 0x1   /* PONG: the answering side's clock follows the token */
#define DS_TIMED_LEN 12 /* RESULT with DS_F_TIMED: u64 start_ns, u32 worker */
/* An input frame (TASK with DS_F_INPUTS, PROTOCOL.md 5.1): u32 count n
 * (at most DS_INPUTS_MAX), u64 argument length, n u64 input lengths, then
 * the argument bytes and the inputs' bytes in order; the lengths must add
 * up to the frame exactly. */
#define DS_INPUTS_MAX 65536
/* In an input frame, a length with this bit set is a reference: the low
 * 63 bits are the id of an earlier task of the same connection whose
 * result the node kept (PROTOCOL.md 5.1, "kept results"). */
#define DS_INPUT_REF ((uint64_t)1 << 63)
/* Results of graph nodes (INPUTS tasks) this long or longer are kept by
 * the node for later references, up to DS_KEEP_MAX bytes per connection
 * (oldest dropped first). */
#define DS_KEEP_MIN ((size_t)64 << 10)
#define DS_KEEP_MAX ((size_t)256 << 20)

enum { /* RESULT outcomes */
    DS_OUT_OK = 0,
    DS_OUT_FAILED = 1,
    DS_OUT_NOTASK = 2,
    DS_OUT_CANCELLED = 3,
    DS_OUT_NODE_ERROR = 4,
    DS_OUT_REFUSED = 5,
    DS_OUT_MISSING = 6 /* an input reference the node does not hold: send the bytes */
};
enum { DS_BYE_CLOSING = 0, DS_BYE_DRAINING = 1, DS_BYE_PROTOCOL = 2, DS_BYE_LIMIT = 3 };

#define DS_TASK_FIXED 24   /* TASK payload without name and bytes */
#define DS_RESULT_FIXED 36
#define DS_CHUNK_FIXED 20
#define DS_CHUNK_MAX ((size_t)256 << 10) /* bytes per CHUNK record */
#define DS_BYE_TEXT_MAX 200

typedef struct ds_rec {
    uint8_t kind, flags;
    uint32_t len;
    const uint8_t *p; /* payload */
} ds_rec_t;

/* The next record of [*p, end): 1 (got one, *p advanced), 0 (end),
 * DS_ERROR (it runs past end). */
int ds_rec_next(const uint8_t **p, const uint8_t *end, ds_rec_t *r);

typedef struct ds_task_rec {
    uint64_t id;
    uint32_t attempt;
    uint8_t code_kind;
    const char *name; /* not NUL-terminated */
    uint16_t name_len;
    uint64_t total;   /* argument length */
    const uint8_t *data;
    size_t n;         /* bytes here */
    int more;
    int inputs;       /* DS_F_INPUTS */
} ds_task_rec_t;

typedef struct ds_result_rec {
    uint64_t id;
    uint32_t attempt;
    uint8_t outcome;
    int32_t code;
    uint64_t run_ns;
    uint64_t total;
    const uint8_t *data;
    size_t n;
    int more;
    int timed;        /* DS_F_TIMED: start_ns and worker are set */
    uint64_t start_ns; /* the node's clock */
    uint32_t worker;
} ds_result_rec_t;

typedef struct ds_chunk_rec {
    uint64_t id;
    uint32_t attempt;
    uint64_t offset;
    const uint8_t *data;
    size_t n;
    int last;
} ds_chunk_rec_t;

/* Typed decoders: 0, or DS_ERROR when the payload breaks its kind's rules
 * (sizes, flags, reserved bytes, name rules, more/total consistency). */
int ds_task_decode(const ds_rec_t *r, ds_task_rec_t *t);
int ds_result_decode(const ds_rec_t *r, ds_result_rec_t *t);
int ds_chunk_decode(const ds_rec_t *r, ds_chunk_rec_t *t);
int ds_idatt_decode(const ds_rec_t *r, uint64_t *id, uint32_t *attempt); /* CANCEL */
int ds_u32_decode(const ds_rec_t *r, uint32_t *v);                         /* CREDIT */
int ds_u64_decode(const ds_rec_t *r, uint64_t *v);                         /* PING */
/* PONG: the token, and the answering side's clock (*clock_ns; 0 when the
 * record has no DS_F_TIME). */
int ds_pong_decode(const ds_rec_t *r, uint64_t *token, uint64_t *clock_ns);
/* An input frame (DS_F_INPUTS) of len bytes: 0 with *n inputs; arg (and
 * its length) and the inputs' addresses and lengths (arrays of *n, made
 * with wf_malloc into *ptrs and *lens, freed by the caller) point into
 * frame. DS_ERROR when the lengths do not add up or n is over
 * DS_INPUTS_MAX; WEFT_ENOMEM. */
int ds_inputs_decode(const uint8_t *frame, size_t len, const uint8_t **arg, size_t *arg_len,
                     size_t *n, const uint8_t ***ptrs, size_t **lens);
int ds_info_decode(const ds_rec_t *r, uint32_t *workers, uint64_t *max_bytes);
int ds_bye_decode(const ds_rec_t *r, uint8_t *reason, char *text, size_t size);

/* ------------------------------------------------------------------ */
/* Growable byte buffers                                               */

typedef struct ds_buf {
    uint8_t *p;
    size_t len, cap;
} ds_buf_t;

/* Makes room for n more bytes; 0 or WEFT_ENOMEM. */
int ds_buf_reserve(ds_buf_t *b, size_t n);
void ds_buf_free(ds_buf_t *b);
/* Drops the first n bytes. */
void ds_buf_consume(ds_buf_t *b, size_t n);

/* Record encoders: append one record to b (0 or WEFT_ENOMEM). */
int ds_put_task(ds_buf_t *b, uint64_t id, uint32_t attempt, const char *name, size_t name_len,
                uint64_t total, const void *data, size_t n, int more);
/* As ds_put_task, with extra flags (DS_F_INPUTS). */
int ds_put_task_f(ds_buf_t *b, uint64_t id, uint32_t attempt, uint8_t flags, const char *name,
                  size_t name_len, uint64_t total, const void *data, size_t n, int more);
int ds_put_result(ds_buf_t *b, uint64_t id, uint32_t attempt, uint8_t outcome, int32_t code,
                  uint64_t run_ns, uint64_t total, const void *data, size_t n, int more);
/* As ds_put_result, with DS_F_TIMED: when the task started (the node's
 * clock) and on which worker. */
int ds_put_result_timed(ds_buf_t *b, uint64_t id, uint32_t attempt, uint8_t outcome, int32_t code,
                        uint64_t run_ns, uint64_t start_ns, uint32_t worker, uint64_t total,
                        const void *data, size_t n, int more);
int ds_put_pong(ds_buf_t *b, uint64_t token, uint64_t clock_ns);
int ds_put_chunk(ds_buf_t *b, uint64_t id, uint32_t attempt, uint64_t offset, const void *data,
                 size_t n, int last);
int ds_put_idatt(ds_buf_t *b, uint8_t kind, uint64_t id, uint32_t attempt);
int ds_put_u32(ds_buf_t *b, uint8_t kind, uint32_t v);
int ds_put_u64(ds_buf_t *b, uint8_t kind, uint64_t v);
int ds_put_info(ds_buf_t *b, uint32_t workers, uint64_t max_bytes);
int ds_put_bye(ds_buf_t *b, uint8_t reason, const char *text);

/* Peer bytes for a log line: printable ASCII kept, the rest as \xNN, at
 * most 64 input bytes, always NUL-terminated. */
void ds_sanitize(const void *data, size_t n, char *out, size_t size);

/* ------------------------------------------------------------------ */
/* Handshake and sealing (PROTOCOL.md sections 3 and 4)                */

#define DS_KEY_MIN 32
#define DS_KEY_MAX 1024

typedef struct ds_aead {
    void *ctx;      /* EVP_CIPHER_CTX */
    uint64_t ctr;   /* next frame's counter */
} ds_aead_t;

enum { DS_HS_CLIENT = 1, DS_HS_SERVER = 2 };
enum { /* handshake states */
    DS_HS_START = 0,
    DS_HS_WAIT_SERVER, /* client sent HELLO */
    DS_HS_WAIT_PROOF,  /* server sent SERVER_HELLO */
    DS_HS_DONE,
    DS_HS_FAILED
};

typedef struct ds_hs {
    int role, state, version;
    size_t psk_len;
    uint8_t psk[DS_KEY_MAX];
    void *eph; /* EVP_PKEY, our ephemeral key */
    uint8_t hello[DS_HDR + DS_HELLO_LEN];
    uint8_t transcript[32];
    uint8_t ka[32], kcs[32], ksc[32];
    uint8_t ps[32];
} ds_hs_t;

/* Prepares a handshake with the key (copied; wiped by ds_hs_clear). */
void ds_hs_init(ds_hs_t *hs, int role, const uint8_t *psk, size_t psk_len);
/* Wipes every secret and frees the ephemeral key. */
void ds_hs_clear(ds_hs_t *hs);

/* Client, step 1: writes HELLO (DS_HDR + DS_HELLO_LEN bytes) into out.
 * vmin/vmax are the versions offered (tests offer others). 0 or
 * WEFT_ESYSTEM (randomness or key generation failed). */
int ds_hs_client_hello(ds_hs_t *hs, uint8_t vmin, uint8_t vmax, uint8_t *out);

/* Server, step 2: f is a HELLO frame. On 0, out holds SERVER_HELLO
 * (DS_HDR + DS_SHELLO_LEN bytes). WEFT_EPROTO with *refuse = reason and
 * out holding a REFUSE frame (DS_HDR + DS_REFUSE_LEN) when the peer must
 * be refused (version: no common version; refused: a low-order key).
 * WEFT_ESYSTEM on a crypto failure. */
int ds_hs_server_hello(ds_hs_t *hs, const ds_frame_t *f, uint8_t *out, int *refuse);

/* Client, step 3: f is a SERVER_HELLO frame. On 0, out holds CLIENT_PROOF
 * (DS_HDR + DS_PROOF_LEN) and the handshake is done. WEFT_EAUTH (proof
 * does not match: wrong key, fake server or altered bytes), WEFT_EPROTO
 * (version not offered, reserved bytes, low-order key), WEFT_ESYSTEM. */
int ds_hs_client_finish(ds_hs_t *hs, const ds_frame_t *f, uint8_t *out);

/* Server, step 4: f is a CLIENT_PROOF frame. 0 (done) or WEFT_EAUTH. */
int ds_hs_server_finish(ds_hs_t *hs, const ds_frame_t *f);

/* After DONE: sets up tx and rx (this side's send and receive keys) and
 * wipes the handshake. 0, WEFT_ENOMEM or WEFT_EINVAL (not done). */
int ds_hs_split(ds_hs_t *hs, ds_aead_t *tx, ds_aead_t *rx);

/* Builds a REFUSE frame (DS_HDR + DS_REFUSE_LEN bytes). */
void ds_refuse_frame(uint8_t *out, uint8_t reason);

void ds_aead_free(ds_aead_t *a);
/* Seals pt[0..n) (n <= DS_FRAME_MAX) as one frame at out, which has room
 * for DS_HDR + n + DS_TAG bytes. 0, WEFT_ERANGE (counter exhausted),
 * WEFT_ESYSTEM. */
int ds_seal(ds_aead_t *a, const uint8_t *pt, size_t n, uint8_t *out);
/* Opens a sealed frame in place: on 0, the plaintext is at body[0..len -
 * DS_TAG). WEFT_EAUTH: it does not open (replayed, reordered, altered,
 * truncated or sealed under another key). */
int ds_open(ds_aead_t *a, const ds_frame_t *f, uint8_t *body);

/* ------------------------------------------------------------------ */
/* Keys                                                                */

/* Loads the key: explicit path, WEFT_SECRET_FILE, credential, user key
 * (which is created when `create` is nonzero and none exists). On 0, key
 * holds *len bytes, *source where it came from and path the file. Errors
 * (detail set): WEFT_ENOENT, WEFT_EPERM (mode), WEFT_EPARSE (too short,
 * too long), WEFT_EIO. */
int ds_key_load(const char *explicit_path, int create, uint8_t *key, size_t *len,
                weft_key_source_t *source, char *path, size_t path_size);

/* ------------------------------------------------------------------ */
/* Addresses                                                           */

typedef struct ds_addr {
    char host[256]; /* without brackets; for a Unix socket, its path */
    int port;       /* 0 for a Unix socket */
    int is_unix;    /* "unix:/path": an AF_UNIX stream socket */
} ds_addr_t;

/* Parses "host:port", "[v6]:port", "host" (default port), or "unix:PATH"
 * (an absolute path that fits sockaddr_un's sun_path). 0 or WEFT_EINVAL. */
int ds_addr_parse(const char *s, int default_port, ds_addr_t *a);
struct sockaddr_un;
/* Fills *sun for a Unix address; returns its length. */
unsigned ds_addr_unix(const ds_addr_t *a, struct sockaddr_un *sun);
/* "host:port" or "[v6]:port" into out. */
void ds_addr_format(const ds_addr_t *a, char *out, size_t size);
/* 1 when every address host resolves to is loopback. */
int ds_addr_is_loopback(const char *host);

/* ------------------------------------------------------------------ */
/* u64 -> pointer hash map (open addressing, keys nonzero)             */

typedef struct ds_map {
    uint64_t *keys;
    void **vals;
    size_t cap, count; /* cap a power of two */
} ds_map_t;

int ds_map_put(ds_map_t *m, uint64_t key, void *val); /* 0, WEFT_ENOMEM */
void *ds_map_get(const ds_map_t *m, uint64_t key);
void *ds_map_del(ds_map_t *m, uint64_t key);
void ds_map_free(ds_map_t *m);

/* ------------------------------------------------------------------ */
/* Connections: the buffers of one socket (I/O thread only)            */

#define DS_PREAUTH_BUF 4096        /* most bytes buffered before authentication */
#define DS_READ_CHUNK ((size_t)64 << 10)
#define DS_OUT_HIGH ((size_t)4 << 20) /* streams pause while more is unsent */

typedef struct ds_conn {
    int fd;
    int authed;          /* 1 once sealed frames flow */
    ds_aead_t tx, rx;
    ds_buf_t in;         /* received, not yet decoded: [in_off, in.len) */
    size_t in_off;
    ds_buf_t pt;         /* plaintext records of the frame being filled */
    ds_buf_t out;        /* frames to write: [out_off, out.len) */
    size_t out_off;
    uint64_t bytes_in, bytes_out;
    int64_t last_rx, last_tx; /* wf_now_ns of the last byte either way */
    int want_out;        /* EPOLLOUT is on */
} ds_conn_t;

void ds_conn_init(ds_conn_t *c, int fd);
/* Closes the socket and frees the buffers and keys. */
void ds_conn_close(ds_conn_t *c);
/* Reads what the socket has (bounded: DS_PREAUTH_BUF before
 * authentication, one frame's need after). >0 bytes read, 0 EOF,
 * DS_NEED nothing now (EAGAIN: returned as -2), DS_ERROR a socket error
 * (errno kept). */
#define DS_AGAIN (-2)
ssize_t ds_conn_read(ds_conn_t *c);
/* The next whole frame in c->in; DS_NEED, DS_FRAME or DS_ERROR (*why). */
int ds_conn_frame(ds_conn_t *c, unsigned allowed, ds_frame_t *f, int *why);
/* Drops the decoded bytes from the input buffer (after a batch of frames). */
void ds_conn_compact(ds_conn_t *c);
/* Makes room for a record of payload n in the frame being filled, sealing
 * that frame first when the record would not fit. 0 or WEFT_ENOMEM. */
int ds_conn_room(ds_conn_t *c, size_t n);
/* Answers a PING record r with its PONG on c: 0, or -1 with *why set
 * (malformed ping, out of memory). Both ends answer pings the same way,
 * on their I/O thread. */
int ds_conn_answer_ping(ds_conn_t *c, const ds_rec_t *r, const char **why);
/* Seals the frame being filled (if it holds records). */
int ds_conn_seal(ds_conn_t *c);
/* Appends raw bytes (handshake frames) to the output. */
int ds_conn_raw(ds_conn_t *c, const void *p, size_t n);
/* Seals, then writes what is pending with one writev call (more only
 * after a partial write that the kernel took whole). 0 (all written or
 * the rest waits for EPOLLOUT: *more set), DS_ERROR (socket error). */
int ds_conn_flush(ds_conn_t *c, int *more);
/* Unsent bytes. */
static inline size_t ds_conn_pending(const ds_conn_t *c) { return c->out.len - c->out_off + c->pt.len; }
/* Socket options every weft connection gets: TCP_NODELAY, keepalive,
 * TCP_USER_TIMEOUT of dead_ms. */
void ds_sock_opts(int fd, int dead_ms);

/* ------------------------------------------------------------------ */
/* Running named tasks (node side, and the client's local workers)     */

typedef struct ds_exec_task {
    uint64_t id;
    uint32_t attempt;
    atomic_int cancel;     /* set by the I/O thread: do not start */
    const atomic_int *dead; /* the connection's "gone" flag, or NULL */
    char *name;            /* NUL-terminated */
    uint8_t *arg;          /* wf_malloc'd; given to the graph, then freed */
    size_t arg_len;
    int inputs;            /* arg is an input frame (DS_F_INPUTS): a graph node */
    /* filled by ds_exec_run: */
    uint8_t outcome;
    int32_t code;
    uint64_t run_ns;
    uint64_t start_ns;     /* when it started (wf_now_ns), 0 if it did not */
    int worker;            /* the worker that ran it */
    const void *result;    /* in run, valid until ds_exec_release */
    size_t result_len;
    weft_node_fn fn;
    void *fn_arg;
    void *owner;           /* for the caller */
    uint64_t have;         /* argument bytes received so far (node) */
    uint64_t sent;         /* result bytes sealed so far (node) */
    struct ds_exec_batch *batch;
    struct ds_exec_task *next_stream;
} ds_exec_task_t;

typedef struct ds_exec_batch {
    size_t count;
    ds_exec_task_t **tasks;
    weft_graph_t *graph;
    weft_run_t *run;
    void *inputs;               /* per task: its inputs' descriptors (ds_exec.c) */
    void (*done)(struct ds_exec_batch *b); /* called on the worker when run */
    void *owner;
    size_t streaming;           /* results still being sent (I/O thread) */
    struct ds_exec_batch *next; /* for the owner's queues */
} ds_exec_batch_t;

/* Submits the batch to rt: a task builds a graph of its tasks, runs it and
 * calls b->done (on a worker thread). 0 or the error of weft_submit. */
int ds_exec_submit(weft_runtime_t *rt, ds_exec_batch_t *b);
/* Frees the batch's graph and run (results become invalid). */
void ds_exec_release(ds_exec_batch_t *b);

/* ------------------------------------------------------------------ */
/* The cluster's graph executor (ds_graph.c) and what it uses of the
 * client (ds_cluster.c)                                               */

/* weft_cluster_submit with arg (wf_malloc'd, len bytes) taken over, also
 * on failure, and TASK flags (DS_F_INPUTS). */
int ds_cluster_submit_owned(weft_cluster_t *c, const char *task, uint8_t *arg, size_t len,
                            uint8_t wire_flags, const weft_dsubmit_opts_t *opts, weft_djob_t **job);

/* Where and how a finished job ran. I/O thread (its callback), or any
 * thread once it is done. */
typedef struct ds_djob_info {
    int rc, status;          /* what weft_djob_wait returns, and the task's status */
    const char *err;         /* its message when it did not succeed, or NULL */
    const char *where;       /* node name, "local", or NULL */
    int worker;              /* -1 unknown */
    int attempts;
    int64_t lost_ns;         /* on attempts that were lost */
    int64_t start_ns;        /* on our clock (wf_now_ns), 0 unknown */
    uint64_t run_ns;
    uint64_t bytes_sent, bytes_received; /* argument (frame) and result */
    uint64_t id;             /* its task id on the connections */
    const uint8_t *fail_bytes; /* WEFT_ETASK: the bytes the task stored, or NULL */
    size_t fail_len;
    int node;                /* index of the node that answered, -1 local or none */
    uint64_t gen;            /* that node's connection generation then */
} ds_djob_info_t;

/* Data locality: a job whose frame refers to results kept on node `node`
 * (index; its connection generation gen, ds_cluster_node_gen) waits for
 * that node; when it is gone or answers MISSING, refill (I/O thread)
 * makes the frame with all the bytes (wf_malloc'd) and the job goes
 * anywhere. */
typedef struct ds_prefer {
    int node;
    uint64_t gen;
    int (*refill)(void *data, uint8_t **arg, size_t *len);
    void *data;
} ds_prefer_t;
/* ds_cluster_submit_owned with a preference (pref may be NULL). */
int ds_cluster_submit_local(weft_cluster_t *c, const char *task, uint8_t *arg, size_t len,
                            uint8_t wire_flags, const weft_dsubmit_opts_t *opts,
                            const ds_prefer_t *pref, weft_djob_t **job);
/* The connection generation of node idx (its handshakes so far), 0 while
 * it is not connected. Any thread. */
uint64_t ds_cluster_node_gen(weft_cluster_t *c, int idx);
/* Whether the cluster keeps data local (weft_cluster_opts_t.locality). */
int ds_cluster_locality(const weft_cluster_t *c);
void ds_djob_info(const weft_djob_t *j, ds_djob_info_t *o);

/* The executor a cluster hands out (weft_cluster_executor): made with the
 * cluster, ended before its I/O thread stops (jobs it holds are then
 * cancelled, so every deferred node completes). */
typedef struct ds_gexec ds_gexec_t;
int ds_gexec_create(weft_cluster_t *c, ds_gexec_t **out);
const weft_executor_t *ds_gexec_executor(ds_gexec_t *x);
void ds_gexec_free(ds_gexec_t *x);

#endif
