/* weft/dist.h: running registered tasks on other machines.
 *
 * A cluster (weft_cluster_t) is the client side: it holds a list of nodes
 * ("host:port"), connects to each in the background over TCP (mutually
 * authenticated with a pre-shared key, every frame sealed: dist/PROTOCOL.md),
 * and runs registered tasks (weft_task_register, graph.h) by name with
 * argument bytes on them. A node is weftd, or any weft program that calls
 * weft_server_run to serve the tasks it registered.
 *
 * Lifecycles:
 * - weft_cluster_create makes a cluster; weft_cluster_free ends it (jobs
 *   still pending are cancelled and complete with WEFT_ECANCELED first).
 * - weft_cluster_submit makes a job (weft_djob_t) the caller owns and frees
 *   with weft_djob_free, done or not (a pending freed job is cancelled).
 *   A job's result bytes belong to the job.
 * - A group (weft_dgroup_t) counts the jobs submitted into it; the caller
 *   frees it with weft_dgroup_free once nothing is pending in it.
 * - A job completes exactly once: with its task's result, with the task's
 *   own failure, cancelled, or lost. Its callback (if any) runs exactly once,
 *   on the cluster's I/O thread, before waiters are released; it must be
 *   short and must not block or wait for jobs (it may submit).
 *
 * Placement: a task goes to the node (or the client's own local workers,
 * when the options give it any) with the most free credit, i.e. capacity
 * the node granted and that is not in use. With nodes listed and
 * local_workers = 0 (the default), everything runs remotely: jobs never
 * stay local by surprise. With local_workers > 0 the local workers count
 * as one more node. WEFT_DIST_LOCAL / WEFT_DIST_REMOTE pin one job.
 *
 * Failures: a node that closes (EOF, reset) is lost at once; one that goes
 * silent is lost after dead_after_s (1 s). The tasks it held go to other
 * nodes: execution is at least once, a result is accepted exactly once
 * (task id and attempt), late results of a lost node are dropped. A task
 * lost with max_losses nodes (3) fails with WEFT_ENODE naming them. A
 * task's own failure (nonzero status) is not retried unless the job asks
 * (WEFT_DIST_RETRY_FAILED). With every node down and no local workers,
 * waiting jobs fail with WEFT_ENODE after grace_s (never hang).
 *
 * Discovery (off unless asked): nodes may announce themselves by UDP
 * (weft_server_opts_t.announce, weftd --announce) and a cluster may listen
 * (opts.discover). A beacon is authenticated (HMAC under a key derived
 * from the pre-shared key, fresh, not replayed) and is still only a hint:
 * the node is added and its connection authenticates as any other.
 *
 * Errors: every function returns 0 or a negative weft code, and on failure
 * sets the calling thread's detail message (weft_error_detail) naming the
 * node where one is involved: "node [::1]:7117: authentication failed".
 * Job outcomes carry the same message (weft_djob_error).
 */
#ifndef WEFT_DIST_H
#define WEFT_DIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/common.h"
#include "weft/runtime.h"
#include "weft/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_cluster weft_cluster_t;
typedef struct weft_djob weft_djob_t;
typedef struct weft_dgroup weft_dgroup_t;
typedef struct weft_server weft_server_t;

/* Protocol version this library speaks (dist/PROTOCOL.md). */
#define WEFT_DIST_PROTOCOL 1
/* Default TCP port of weftd. */
#define WEFT_DIST_PORT 7117
/* Default UDP port of discovery beacons (weftd --announce, opts.discover). */
#define WEFT_DIST_DISCOVER_PORT 7118
/* Longest argument or result, by default (1 GiB). */
#define WEFT_DIST_MAX_BYTES ((size_t)1 << 30)

/* ------------------------------------------------------------------ */
/* Keys                                                                */

/* Where the key came from (see weft_dist_key_path). */
typedef enum weft_key_source {
    WEFT_KEY_EXPLICIT = 1,   /* a path given by the caller (--secret-file) */
    WEFT_KEY_ENV = 2,        /* WEFT_SECRET_FILE */
    WEFT_KEY_CREDENTIAL = 3, /* $CREDENTIALS_DIRECTORY/weft-secret (systemd) */
    WEFT_KEY_USER = 4        /* $XDG_CONFIG_HOME/weft/secret or ~/.config/weft/secret */
} weft_key_source_t;

/* Resolves the key file the way clients and nodes do: explicit (may be
 * NULL), then WEFT_SECRET_FILE, then the systemd credential, then the
 * user's key. Writes the path (NUL-terminated, cut at size) into path and
 * the source into *source (may be NULL); it does not open the file.
 * Errors: WEFT_EINVAL, WEFT_ERANGE (path does not fit), WEFT_ENOENT (no
 * HOME to find the user's key). Thread-safety: any thread. */
WEFT_API int weft_dist_key_path(const char *explicit_path, char *path, size_t size,
                                weft_key_source_t *source);

/* Creates a new key file at path (0600, 32 random bytes as 64 hex digits,
 * parent directories made 0700); fails with WEFT_EEXIST if it exists.
 * Errors: WEFT_EINVAL, WEFT_EEXIST, WEFT_EIO. Thread-safety: any thread. */
WEFT_API int weft_dist_key_create(const char *path);

/* ------------------------------------------------------------------ */
/* Cluster (client)                                                    */

/* Called on the I/O thread when a node becomes usable (up = 1, err = 0)
 * or is lost or refused (up = 0, err a weft code such as WEFT_ENODE,
 * WEFT_EAUTH, WEFT_EPROTO, WEFT_ECONNREFUSED; detail the message). Must
 * not block. node is valid during the call. */
typedef void (*weft_node_event_fn)(void *data, const char *node, int up, int err,
                                   const char *detail);

typedef struct weft_cluster_opts {
    const char *secret_file;   /* key file, or NULL: WEFT_SECRET_FILE, credential, user key */
    int local_workers;         /* workers of the client's own that take tasks too; 0 none */
    double connect_timeout_s;  /* one TCP connect plus handshake (default 5) */
    double heartbeat_s;        /* ping when idle this long (default 0.1) */
    double dead_after_s;       /* silence that marks a node lost (default 1) */
    double backoff_min_s;      /* first reconnect delay (default 0.05) */
    double backoff_max_s;      /* longest reconnect delay (default 2) */
    double grace_s;            /* no node up, no local workers: jobs fail after (default 10) */
    int max_losses;            /* losses of one task before it fails (default 3) */
    size_t max_bytes;          /* longest argument or result (default WEFT_DIST_MAX_BYTES) */
    weft_node_event_fn on_node; /* node joins and leaves, or NULL */
    void *on_node_data;
    /* Discovery (dist/PROTOCOL.md section 8), off unless discover is set:
     * the cluster listens for nodes' UDP beacons on "ADDR:PORT", an IPv4
     * address of this host ("0.0.0.0:7118" takes unicast and broadcast
     * beacons, "127.0.0.1:7118" loopback only) or a multicast group
     * ("239.255.77.1:7118", joined on discover_if). A beacon is only a
     * hint: one whose HMAC (under a key derived from the cluster's key),
     * time and freshness check out makes the cluster add its node as
     * weft_cluster_add_node does, and that connection then authenticates
     * as any other. Forged, stale, future-dated, replayed and malformed
     * beacons are ignored and counted (weft_cluster_discover_stats). With
     * discover set, nodes may be empty at create. */
    const char *discover;      /* "ADDR:PORT" to listen on, or NULL (default: off) */
    const char *discover_if;   /* interface (name) for a multicast group, or NULL */
    double discover_max_age_s; /* beacons older than this are stale (default 5) */
    double discover_skew_s;    /* accepted this far in the future (default 1) */
    int discover_max_nodes;    /* nodes discovery may add, 1..64 (default 32) */
    /* Receives discovery's log lines (a node found; beacons ignored, at
     * most one line per reason per second; peer bytes sanitised) on the
     * discovery thread; level is a weft_log_level_t. NULL: none. */
    void (*discover_log)(void *data, int level, const char *line);
    void *discover_log_data;
    /* Graph runs (weft_cluster_executor): 1 (the default) keeps large data
     * where it is. A node keeps each graph node's result of 64 KiB or more
     * that it computed (up to 256 MiB per client, oldest dropped first);
     * a graph node whose inputs include such results is sent to the node
     * holding most of those bytes, with references in place of the bytes
     * (the client holds every result all the same, so losing that node
     * loses nothing: the task then goes anywhere with all its bytes).
     * 0: every input travels from the client with its node. */
    int locality;
} weft_cluster_opts_t;

/* Fills *opts with the defaults above. Thread-safety: any thread. */
WEFT_API void weft_cluster_opts_init(weft_cluster_opts_t *opts);

/* Creates a cluster over nodes[0..count): "host:port", "[v6addr]:port",
 * "host" (port WEFT_DIST_PORT), or "unix:/path" (a Unix stream socket of a
 * node on this machine, e.g. a process pool's child; authenticated all the
 * same). Loads the key (when nodes are given),
 * starts the I/O thread and connects to every node in the background;
 * returns without waiting for any connection (see weft_cluster_wait_nodes).
 * count may be 0 when local_workers > 0. opts may be NULL (defaults).
 * Errors: WEFT_EINVAL (a malformed node string, bad options, no node and
 * no local workers), WEFT_EPERM (key file readable by others), WEFT_ENOENT
 * (no key file), WEFT_EPARSE (key shorter than 32 bytes), WEFT_ENOMEM,
 * WEFT_ESYSTEM. Thread-safety: any thread. */
WEFT_API int weft_cluster_create(const char *const *nodes, size_t count,
                                 const weft_cluster_opts_t *opts, weft_cluster_t **c);

/* Adds a node to a running cluster (connects in the background).
 * Errors: WEFT_EINVAL, WEFT_EEXIST (listed already), WEFT_ENOMEM.
 * Thread-safety: any thread. */
WEFT_API int weft_cluster_add_node(weft_cluster_t *c, const char *node);

/* Waits until at least n nodes are connected and authenticated, for at
 * most timeout_s (INFINITY: for ever). Errors: WEFT_EINVAL (NaN or negative
 * timeout, n larger than the node count), WEFT_ETIMEDOUT (detail: the last
 * error of each node still down). Thread-safety: any thread. */
WEFT_API int weft_cluster_wait_nodes(weft_cluster_t *c, size_t n, double timeout_s);

/* Cancels what is pending, closes every connection, stops the I/O thread
 * and frees the cluster. Jobs and groups stay valid handles (their calls
 * answer from what they recorded) until freed. Errors: WEFT_EINVAL,
 * WEFT_EPERM (called from the cluster's I/O thread, i.e. a callback).
 * Thread-safety: once, with no other call on c in progress. */
WEFT_API int weft_cluster_free(weft_cluster_t *c);

/* Per-job flags. */
#define WEFT_DIST_NO_RETRY 0x1     /* a lost task fails at once (WEFT_ENODE) */
#define WEFT_DIST_RETRY_FAILED 0x2 /* a task's own failure is retried, as a loss */
#define WEFT_DIST_LOCAL 0x4        /* only on the local workers */
#define WEFT_DIST_REMOTE 0x8       /* only on nodes */

/* Called once when a job completes, on the I/O thread: rc is what
 * weft_djob_wait returns. Must not block or free the job. */
typedef void (*weft_djob_fn)(void *data, weft_djob_t *job, int rc);

typedef struct weft_dsubmit_opts {
    weft_dgroup_t *group; /* count the job in this group, or NULL */
    weft_djob_fn callback;
    void *callback_data;
    unsigned flags;       /* WEFT_DIST_* */
    const char *node;     /* run only on this node of the cluster ("host:port", as
                             listed), or NULL: any. While it is down the job
                             waits; it fails with WEFT_ENODE once the node has
                             been down for grace_s. */
} weft_dsubmit_opts_t;

/* Submits the registered task `task` with a copy of [arg, arg+len) (arg
 * may be NULL when len is 0). Returns at once; the job is queued until a
 * node has credit. job may be NULL (fire and forget: use a group or a
 * callback to see the outcome). Errors: WEFT_EINVAL (NULLs, empty name or
 * one over WEFT_NAME_MAX, LOCAL with no local workers, LOCAL and REMOTE
 * together), WEFT_ERANGE (len over max_bytes), WEFT_ENOENT (opts->node is
 * not a node of the cluster), WEFT_EDESTROYED (cluster being freed),
 * WEFT_ENOMEM. On error nothing was submitted and *job is
 * NULL. Thread-safety: any thread, also callbacks. */
WEFT_API int weft_cluster_submit(weft_cluster_t *c, const char *task, const void *arg,
                                 size_t len, const weft_dsubmit_opts_t *opts,
                                 weft_djob_t **job);

/* Waits for the job for at most timeout_s seconds (0: just look,
 * INFINITY: for ever). Returns 0 when the task succeeded; WEFT_ETASK when
 * the task returned nonzero (*status gets that value; status may be NULL);
 * WEFT_ENOENT (no node has the task registered), WEFT_ENODE (lost with too
 * many nodes, or none reachable within grace_s), WEFT_ECANCELED,
 * WEFT_ERANGE (result over max_bytes), WEFT_ETIMEDOUT (not done yet; the
 * job goes on), WEFT_EINVAL (NULL job, NaN or negative timeout).
 * Thread-safety: any thread; several may wait. */
WEFT_API int weft_djob_wait(weft_djob_t *job, double timeout_s, int *status);

/* Non-blocking: as weft_djob_wait with timeout 0, but WEFT_EBUSY while
 * the job is pending. Thread-safety: any thread. */
WEFT_API int weft_djob_status(const weft_djob_t *job, int *status);

/* The result bytes of a done job (NULL, 0 when the task stored none),
 * valid until weft_djob_free. Errors: WEFT_EINVAL, WEFT_EBUSY (pending),
 * or the job's own failure code. Thread-safety: any thread. */
WEFT_API int weft_djob_result(const weft_djob_t *job, const void **data, size_t *len);

/* The job's message when it did not succeed ("node 127.0.0.1:7117:
 * lost; task 'x' lost with 3 nodes: a, b, c"), "" otherwise. Valid until
 * the job is freed. Thread-safety: any thread once the job is done. */
WEFT_API const char *weft_djob_error(const weft_djob_t *job);

/* The node that produced the result ("local" for the local workers), ""
 * while pending or when none did. Thread-safety: any thread once done. */
WEFT_API const char *weft_djob_node(const weft_djob_t *job);

/* How many times the task was sent (1 without losses). */
WEFT_API int weft_djob_attempts(const weft_djob_t *job);

/* Cancels the job: not yet sent, it completes with WEFT_ECANCELED at once;
 * sent, a CANCEL reaches the node (a task not started there is not run)
 * and the job completes with WEFT_ECANCELED; done, nothing changes.
 * Errors: WEFT_EINVAL. Thread-safety: any thread. */
WEFT_API int weft_djob_cancel(weft_djob_t *job);

/* Releases the handle; a pending job is cancelled first. Errors:
 * WEFT_EINVAL. Thread-safety: once per job, no wait in progress on it. */
WEFT_API int weft_djob_free(weft_djob_t *job);

/* Groups: a group counts the jobs submitted into it. */
WEFT_API int weft_dgroup_create(weft_cluster_t *c, weft_dgroup_t **g);
/* Waits until nothing is pending in g, for at most timeout_s. Returns 0
 * when every job succeeded, WEFT_ETASK when any did not (see failures),
 * WEFT_ETIMEDOUT, WEFT_EINVAL. Thread-safety: any thread. */
WEFT_API int weft_dgroup_wait(weft_dgroup_t *g, double timeout_s);
/* Jobs of g not yet complete, or WEFT_EINVAL. */
WEFT_API int64_t weft_dgroup_pending(const weft_dgroup_t *g);
/* Jobs of g that did not succeed, and the first one's return code. */
WEFT_API int weft_dgroup_failures(const weft_dgroup_t *g, uint64_t *failed, int *first_rc);
/* Cancels every pending job of g (as weft_djob_cancel). 0 or WEFT_EINVAL. */
WEFT_API int weft_dgroup_cancel(weft_dgroup_t *g);
/* Frees g. Errors: WEFT_EINVAL, WEFT_EBUSY (jobs pending). */
WEFT_API int weft_dgroup_free(weft_dgroup_t *g);

/* Longest node string, NUL included. */
#define WEFT_NODE_NAME_MAX 280

/* Statistics of one node (pp's print_stats), and of the local workers. */
typedef struct weft_node_stats {
    char node[WEFT_NODE_NAME_MAX]; /* "host:port", or "local" */
    int connected;            /* 1 if usable now */
    int workers;              /* the node's worker count (INFO) */
    uint64_t jobs;            /* results accepted from it */
    double share;             /* jobs / all jobs accepted, 0..1 */
    double time_s;            /* sum of the tasks' run times on the node */
    double time_per_job_s;    /* time_s / jobs */
    uint64_t bytes_sent;      /* on the wire, to the node */
    uint64_t bytes_received;  /* on the wire, from the node */
    uint64_t retries;         /* tasks taken from it when it was lost and sent again */
    uint64_t losses;          /* times it was lost (EOF, reset, silence) */
    uint64_t connects;        /* successful handshakes */
    int last_error;           /* weft code of its last failure, 0 if none */
    double rtt_s;             /* last heartbeat round trip */
} weft_node_stats_t;

/* A snapshot: *stats gets an array of *count entries (nodes in the order
 * given, then "local" when it has workers), freed with free().
 * Errors: WEFT_EINVAL, WEFT_ENOMEM. Thread-safety: any thread. */
WEFT_API int weft_cluster_stats(weft_cluster_t *c, weft_node_stats_t **stats, size_t *count);

/* Nodes usable now (pp's get_active_nodes): *nodes gets *count strings,
 * one allocation, freed with free(). Errors: WEFT_EINVAL, WEFT_ENOMEM. */
WEFT_API int weft_cluster_active_nodes(weft_cluster_t *c, char ***nodes, size_t *count);

/* Prints the statistics as a table (stdout when out is NULL), or into
 * memory. Errors: WEFT_EINVAL, WEFT_ENOMEM, WEFT_EIO. */
WEFT_API int weft_cluster_print_stats(weft_cluster_t *c, FILE *out);
WEFT_API int weft_cluster_print_stats_buf(weft_cluster_t *c, weft_buf_t *out);

/* Graphs on a cluster: weft_run_opts_t.executor = weft_cluster_executor(c)
 * makes a graph run (weft_graph_run, _async, _run_n) send its named-task
 * nodes to the cluster's nodes (placement hints: weft_graph_set_place),
 * each with its argument and its predecessors' result bytes; function and
 * subgraph nodes run locally (the named-task nodes of subgraphs spread
 * too). A node lost during the run costs time, not results: the client
 * keeps every result the run needs, so only the lost node's running graph
 * nodes are sent again. The run record says per node where it ran
 * (weft_run_node_origin). The executor lives as long as c.
 * Thread-safety: any thread. NULL for a bad c. */
WEFT_API const weft_executor_t *weft_cluster_executor(weft_cluster_t *c);

/* Discovery counts of a cluster (beacons; see opts.discover). Every
 * datagram received is counted once in received and in exactly one of
 * accepted, malformed, forged, version, stale, future, replayed, over_cap;
 * accepted ones are either added (a new node) or known (listed already). */
typedef struct weft_discover_stats {
    int port;               /* the UDP port listened on */
    uint64_t received;      /* datagrams */
    uint64_t accepted;      /* passed every check */
    uint64_t added, known;  /* of accepted: new nodes, nodes listed already */
    uint64_t malformed;     /* size, magic, format, reserved bytes, host, port */
    uint64_t forged;        /* HMAC does not match (another key, or altered) */
    uint64_t version;       /* no protocol version in common */
    uint64_t stale;         /* older than discover_max_age_s */
    uint64_t future;        /* dated more than discover_skew_s ahead */
    uint64_t replayed;      /* the same beacon seen before */
    uint64_t over_cap;      /* a new node past discover_max_nodes, or replay cache full */
    char last_reject[256];  /* the last ignored beacon's log line, "" if none */
} weft_discover_stats_t;

/* A snapshot of the discovery counts. Errors: WEFT_EINVAL, WEFT_ENOENT
 * (discovery is off). Thread-safety: any thread. */
WEFT_API int weft_cluster_discover_stats(weft_cluster_t *c, weft_discover_stats_t *st);

/* ------------------------------------------------------------------ */
/* Server (node)                                                       */

/* Log levels of a server's log lines. */
typedef enum weft_log_level {
    WEFT_LOG_ERROR = 0,
    WEFT_LOG_WARN = 1,
    WEFT_LOG_INFO = 2,
    WEFT_LOG_DEBUG = 3
} weft_log_level_t;

/* Receives each log line (no newline; peer bytes already sanitised).
 * Called on the server's I/O thread. */
typedef void (*weft_log_fn)(void *data, int level, const char *line);

typedef struct weft_server_opts {
    const char *listen;        /* "host:port" (port 0: any free one), or "unix:/path" (a Unix
                                  socket: a stale socket file nobody listens on is replaced; the file
                                  is removed at weft_server_free); default "127.0.0.1:7117" */
    const char *secret_file;   /* as the cluster's; created (user key) when none exists */
    int workers;               /* runtime workers (0: weft_default_workers) */
    weft_runtime_t *runtime;   /* run tasks on this runtime instead of a new one */
    int max_unauth;            /* connections authenticating at once (default 64) */
    double handshake_timeout_s; /* per connection (default 5) */
    double heartbeat_s;        /* default 0.1 */
    double dead_after_s;       /* a silent client is dropped (default 10) */
    size_t max_bytes;          /* longest argument accepted (default WEFT_DIST_MAX_BYTES) */
    int credit_per_worker;     /* most tasks in flight per worker granted to a client (256):
                                  grants start at 1 per worker and grow to about 2 ms
                                  of queued work per worker while tasks are short */
    int log_level;             /* lines above this level are not logged (WEFT_LOG_INFO) */
    weft_log_fn log;           /* NULL: lines to stderr */
    void *log_data;
    /* Announcing (dist/PROTOCOL.md section 8), off unless announce is
     * set: a beacon (protocol version, TCP port, address, time, HMAC under
     * a key derived from the key) is sent by UDP to "ADDR:PORT" (IPv4:
     * unicast, a broadcast address or a multicast group, TTL 1) every
     * announce_interval_s, from a thread of the server's own, from
     * weft_server_create until weft_server_free. A destination outside
     * loopback needs a key the user supplied, as listen does. */
    const char *announce;        /* "ADDR:PORT", or NULL (default: off) */
    const char *announce_if;     /* interface name for multicast and broadcast, or NULL */
    double announce_interval_s;  /* default 1 */
    const char *announce_host;   /* address in beacons (an IP literal); NULL: the listen
                                    address unless a wildcard, else none (clients use the
                                    beacon's source address) */
} weft_server_opts_t;

WEFT_API void weft_server_opts_init(weft_server_opts_t *opts);

/* Loads the key, binds and listens, and starts the runtime (unless one is
 * given): the server is ready for weft_server_run. A listen address outside
 * loopback needs a key the user supplied (explicit, WEFT_SECRET_FILE or a
 * credential; not the user key that a node creates): otherwise WEFT_EPERM
 * with a message that says so. Errors: WEFT_EINVAL, WEFT_EPERM,
 * WEFT_ENOENT, WEFT_EPARSE, WEFT_EIO (bind or listen failed: detail has
 * the reason), WEFT_ENOMEM, WEFT_ESYSTEM. Thread-safety: any thread. */
WEFT_API int weft_server_create(const weft_server_opts_t *opts, weft_server_t **s);

/* The address it listens on, e.g. "127.0.0.1:40123" (the real port when
 * 0 was asked for). Valid until weft_server_free. */
WEFT_API const char *weft_server_address(const weft_server_t *s);
WEFT_API int weft_server_port(const weft_server_t *s);

/* Serves clients on the calling thread (it becomes the I/O thread) until
 * weft_server_stop. Returns 0, or WEFT_ESYSTEM. Thread-safety: one thread. */
WEFT_API int weft_server_run(weft_server_t *s);

/* Asks the server to stop: with drain = 1 it stops accepting, refuses new
 * tasks (clients send them elsewhere), lets running ones finish and their
 * results go out, then weft_server_run returns; drain = 0 closes at once.
 * Async-signal-safe (one write to an eventfd): callable from a signal
 * handler. */
WEFT_API void weft_server_stop(weft_server_t *s, int drain);

/* Asks the server to reopen its log (the log callback gets a line
 * "reopen"; weftd's stderr logger reopens its file). Async-signal-safe. */
WEFT_API void weft_server_reopen_log(weft_server_t *s);

/* Frees a server that is not running (joins the runtime it made).
 * Errors: WEFT_EINVAL, WEFT_EBUSY (running). */
WEFT_API int weft_server_free(weft_server_t *s);

/* create + run + free: a program serves its own registered tasks (the
 * same binary on every machine, as MPI programs do). */
WEFT_API int weft_serve(const weft_server_opts_t *opts);

/* Counts of a server, for tests and logs. */
typedef struct weft_server_stats {
    uint64_t accepted, authenticated, refused, protocol_errors;
    uint64_t tasks_run, tasks_cancelled, clients_now, unauth_now;
} weft_server_stats_t;
WEFT_API int weft_server_stats(weft_server_t *s, weft_server_stats_t *st);

/* Beacons the server has sent (opts.announce) and sends that failed; both
 * 0 when it does not announce. Errors: WEFT_EINVAL. Thread-safety: any. */
WEFT_API int weft_server_announced(weft_server_t *s, uint64_t *sent, uint64_t *errors);

/* ------------------------------------------------------------------ */
/* Process pools: worker processes as local nodes                      */

/* A process pool runs n copies of a worker program, each a weft node
 * (a weft_server with one worker) listening on a Unix socket in a
 * private directory (0700) that the pool makes, and a cluster over them:
 * tasks submitted to weft_procpool_cluster(pool) run in the children,
 * truly in parallel (the way Python's jobs escape the GIL). Nothing is
 * reachable from the network: the sockets are files only this user can
 * open, and the cluster still authenticates every connection with an
 * ephemeral key made for the pool (0600, in the same directory).
 *
 * Each child is started as argv followed by four arguments:
 *     --weft-listen unix:DIR/wN.sock --weft-secret-file DIR/key
 * (N its index, 0..n-1). Before it executes argv[0] (looked up in PATH)
 * it gets PR_SET_PDEATHSIG SIGKILL (and exits at once if the pool's
 * process is already gone), SIGINT ignored (Ctrl-C is the parent's to
 * handle), an empty signal mask and /dev/null as stdin; stdout and stderr
 * are the parent's.
 *
 * A child that exits for any reason (crash, _exit, kill -9, the OOM
 * killer) is reaped and started again on the same socket path after a
 * backoff (restart_min_s, doubling up to restart_max_s while children keep
 * dying within 5 s of their start); the cluster reconnects to it by
 * itself. The tasks it held are rescheduled by the cluster's rules:
 * executed at least once, accepted exactly once; a task lost with
 * max_losses children fails with WEFT_ENODE. weft_procpool_free stops
 * everything: the cluster first (pending jobs cancelled), then SIGTERM to
 * every child, SIGKILL to those still there after term_grace_s, each one
 * reaped (no zombies), the sockets, the key and the directory removed.
 *
 * Thread-safety: create and free once each, from any thread; the others
 * from any thread. Children are forked by the pool's own watcher thread
 * (so PR_SET_PDEATHSIG, which follows the forking thread, holds as long
 * as the pool). */
typedef struct weft_procpool weft_procpool_t;

/* Called on the watcher thread when a child exited: its index, pid and
 * waitpid status; restarting says whether it will be started again. */
typedef void (*weft_procpool_exit_fn)(void *data, int index, int pid, int wstatus,
                                      int restarting);

typedef struct weft_procpool_opts {
    const char *dir_parent;    /* where the private directory goes; NULL: $XDG_RUNTIME_DIR
                                  when set and usable, else $TMPDIR, else /tmp */
    double start_timeout_s;    /* create waits this long for every child (default 30) */
    double restart_min_s;      /* first restart delay (default 0.05) */
    double restart_max_s;      /* longest (default 2) */
    double term_grace_s;       /* SIGTERM, then SIGKILL after this (default 2) */
    const weft_cluster_opts_t *cluster; /* the pool's cluster: these options (NULL:
                                  defaults with backoff_max_s 0.1); secret_file and
                                  local_workers are the pool's own */
    weft_procpool_exit_fn on_exit;
    void *on_exit_data;
} weft_procpool_opts_t;

/* Fills *opts with the defaults above. Thread-safety: any thread. */
WEFT_API void weft_procpool_opts_init(weft_procpool_opts_t *opts);

/* Starts n children (1..256) of argv (argv[0] the program, NULL-terminated)
 * and the cluster over them, and waits until all n are connected (at most
 * start_timeout_s; 0: does not wait). Errors: WEFT_EINVAL (NULL or empty
 * argv, n out of range, bad options), WEFT_EIO (the directory or the key
 * could not be made), WEFT_ETIMEDOUT (not every child came up in time:
 * detail says how each of them exited), WEFT_ENOMEM, WEFT_ESYSTEM; on
 * error nothing is left running. */
WEFT_API int weft_procpool_create(const char *const *argv, int n,
                                  const weft_procpool_opts_t *opts, weft_procpool_t **pool);

/* The pool's cluster (owned by the pool: never weft_cluster_free it). */
WEFT_API weft_cluster_t *weft_procpool_cluster(weft_procpool_t *pool);

/* Children asked for. */
WEFT_API int weft_procpool_size(const weft_procpool_t *pool);

/* The pid of child i now (0 while it is being restarted), or WEFT_EINVAL. */
WEFT_API int weft_procpool_pid(weft_procpool_t *pool, int i);

/* Times a child exited and was started again (all children together). */
WEFT_API uint64_t weft_procpool_restarts(weft_procpool_t *pool);

/* The private directory ("" after free started). */
WEFT_API const char *weft_procpool_dir(const weft_procpool_t *pool);

/* Stops and frees the pool as described above. Errors: WEFT_EINVAL,
 * WEFT_EPERM (called from the cluster's I/O thread). */
WEFT_API int weft_procpool_free(weft_procpool_t *pool);

#ifdef __cplusplus
}
#endif
#endif
