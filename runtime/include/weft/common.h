/* weft: definitions shared by every layer: export control and error codes.
 *
 * Every fallible weft function returns int: 0 on success or one of the
 * negative WEFT_E* codes below. weft_strerror() and weft_err_name() turn a
 * code into text; both are generated from one table so they never drift. */
#ifndef WEFT_COMMON_H
#define WEFT_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WEFT_STATIC)
#define WEFT_API
#elif defined(__GNUC__)
#define WEFT_API __attribute__((visibility("default")))
#else
#define WEFT_API
#endif

#define WEFT_VERSION_MAJOR 0
#define WEFT_VERSION_MINOR 1
#define WEFT_VERSION_PATCH 0

/* X(name, value, message) */
#define WEFT_ERRNO_MAP(X)                                                     \
    X(EINVAL, -1, "invalid argument")                                         \
    X(ENOMEM, -2, "out of memory")                                            \
    X(EBUSY, -3, "object is busy: work is still pending")                     \
    X(EDESTROYED, -4, "the runtime this object belongs to has been destroyed") \
    X(ETASK, -5, "a task failed (its status says how)")                       \
    X(ESYSTEM, -6, "system call failed (thread creation or similar)")         \
    X(EPERM, -7, "operation not allowed from this thread")                    \
    X(ERANGE, -8, "value out of range")                                       \
    X(ENOENT, -9, "no such entry")                                            \
    X(EEXIST, -10, "entry already exists")                                    \
    X(ECANCELED, -11, "operation canceled")                                   \
    X(ECYCLE, -12, "the graph has a cycle")                                   \
    X(EPARSE, -13, "malformed input")                                         \
    X(EIO, -14, "input/output error")                                         \
    X(ENOTSUP, -15, "operation not supported")                               \
    X(ETIMEDOUT, -16, "timed out")                                            \
    X(ESTALE, -17, "the graph changed since this run")                        \
    X(ENODE, -18, "node lost")                                                \
    X(EAUTH, -19, "authentication failed")                                    \
    X(EPROTO, -20, "protocol error")                                          \
    X(ECONNREFUSED, -21, "connection refused")

typedef enum weft_errno {
#define WEFT_ERR_ENUM_(name, val, msg) WEFT_##name = (val),
    WEFT_ERRNO_MAP(WEFT_ERR_ENUM_)
#undef WEFT_ERR_ENUM_
    WEFT_OK = 0
} weft_errno_t;

/* Message for an error code ("success" for 0, "unknown error" for codes
 * weft does not define, e.g. a task's own nonzero status). Never NULL.
 * Thread-safety: any thread. */
WEFT_API const char *weft_strerror(int err);

/* Longest detail message, terminating NUL included. */
#define WEFT_DETAIL_MAX 512

/* The calling thread's detail message: what the last weft call that
 * failed on this thread could say beyond its code ("line 7: unknown node
 * 'x'"), or "" when it had nothing to add. Every layer sets it where a
 * message helps; a failing call that sets none may leave an older message,
 * so read it only right after a call that failed. Never NULL; valid until
 * the thread's next weft call. Thread-safety: per thread. */
WEFT_API const char *weft_error_detail(void);

/* Text that one of weft's writers put into memory: the _buf forms of
 * weft_stats_print, weft_graph_save, weft_graph_dot, weft_run_save,
 * weft_run_trace and weft_run_print_stats write what their FILE forms
 * would, into a buffer of their own making that the caller takes over.
 * data ends with a NUL that len does not count; text may hold NUL bytes
 * only where the FILE form would write them. On error a _buf form leaves
 * {NULL, 0}. Free with weft_buf_free. */
typedef struct weft_buf {
    char *data;
    size_t len;
} weft_buf_t;

/* Frees buf->data and zeroes *buf; NULL and an empty buffer are fine.
 * Thread-safety: any thread, one per buffer. */
WEFT_API void weft_buf_free(weft_buf_t *buf);

/* Symbolic name of a code, e.g. "WEFT_EINVAL"; "WEFT_OK" for 0 and
 * "WEFT_UNKNOWN" otherwise. Never NULL. Thread-safety: any thread. */
WEFT_API const char *weft_err_name(int err);

/* Library version as "major.minor.patch". Thread-safety: any thread. */
WEFT_API const char *weft_version(void);

#ifdef __cplusplus
}
#endif
#endif
