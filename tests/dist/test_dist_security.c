/* test_dist_security: attacks on a live weftd over loopback. Each is
 * refused and its connection closed, while a good client keeps getting
 * exact results from the same daemon: wrong key (both directions, and a
 * fake server that must not receive a task), a replayed handshake,
 * replayed, reordered, truncated, altered and oversized frames, a bad
 * record, slow-loris peers and the cap on handshakes, garbage, another
 * protocol version. Links the static library: the attacks use the
 * internal codec (ds_*) to speak the protocol byte by byte. */
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "dist_test.h"
#include "ds.h"

static dt_proc_t node;
static const char *node_args[] = {"--handshake-timeout", "0.5", "--max-unauth", "8", NULL};

/* ------------------------------------------------------------------ */
/* A good client that runs all along                                   */

static atomic_int good_stop, good_ok, good_bad;
static pthread_t good_th;

static void *good_main(void *arg) {
    (void)arg;
    const char *names[] = {node.addr};
    weft_cluster_t *c;
    if (weft_cluster_create(names, 1, NULL, &c)) {
        atomic_fetch_add(&good_bad, 1);
        return NULL;
    }
    uint64_t i = 0;
    while (!atomic_load(&good_stop)) {
        weft_djob_t *j[64];
        for (int k = 0; k < 64; k++) {
            uint64_t v = ++i;
            weft_cluster_submit(c, "weft.echo", &v, 8, NULL, &j[k]);
        }
        for (int k = 0; k < 64; k++) {
            const void *d;
            size_t len;
            uint64_t got = 0, want = i - 63 + (uint64_t)k;
            if (weft_djob_wait(j[k], 30, NULL) == 0 && weft_djob_result(j[k], &d, &len) == 0 && len == 8)
                memcpy(&got, d, 8);
            if (got == want) atomic_fetch_add(&good_ok, 1);
            else atomic_fetch_add(&good_bad, 1);
            weft_djob_free(j[k]);
        }
    }
    weft_cluster_free(c);
    return NULL;
}

static void setup(void) {
    dt_setup_key();
    ck_assert_int_eq(dt_start(&node, node_args), 0);
    atomic_store(&good_stop, 0);
    atomic_store(&good_ok, 0);
    atomic_store(&good_bad, 0);
    pthread_create(&good_th, NULL, good_main, NULL);
    usleep(200000);
}

/* The good client went on with exact results, and goes on after. */
static void teardown_check(void) {
    int before = atomic_load(&good_ok);
    usleep(300000);
    ck_assert_int_gt(atomic_load(&good_ok), before);
    atomic_store(&good_stop, 1);
    pthread_join(good_th, NULL);
    ck_assert_int_eq(atomic_load(&good_bad), 0);
    ck_assert_int_gt(atomic_load(&good_ok), 0);
    fprintf(stderr, "  good client: %d exact results meanwhile\n", atomic_load(&good_ok));
    dt_kill_all();
}

/* ------------------------------------------------------------------ */
/* Raw connections                                                     */

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const void *p, size_t n) {
    ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads exactly n bytes; 0, or -1 on EOF/timeout. */
static int read_n(int fd, uint8_t *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Reads until EOF; returns the bytes read (-1 on a timeout: not closed). */
static ssize_t until_eof(int fd, uint8_t *buf, size_t cap, double timeout_s) {
    struct timeval tv = {(time_t)timeout_s, (long)((timeout_s - (time_t)timeout_s) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t got = 0;
    for (;;) {
        uint8_t tmp[4096];
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r == 0) return (ssize_t)got;
        if (r < 0) return errno == ECONNRESET ? (ssize_t)got : -1;
        if (buf && got + (size_t)r <= cap) memcpy(buf + got, tmp, (size_t)r);
        got += (size_t)r;
    }
}

typedef struct session {
    int fd;
    ds_aead_t tx, rx;
    uint8_t hello[DS_HDR + DS_HELLO_LEN], proof[DS_HDR + DS_PROOF_LEN];
} session_t;

static void load_key(uint8_t *key, size_t *len) {
    char path[4096];
    ck_assert_int_eq(ds_key_load(NULL, 0, key, len, NULL, path, sizeof path), 0);
}

/* A handshake done by hand; reads the first sealed frame (INFO, CREDIT). */
static void raw_session(session_t *s) {
    uint8_t key[DS_KEY_MAX];
    size_t klen;
    load_key(key, &klen);
    s->fd = dial(node.port);
    ds_hs_t hs;
    ds_hs_init(&hs, DS_HS_CLIENT, key, klen);
    ck_assert_int_eq(ds_hs_client_hello(&hs, 1, 1, s->hello), 0);
    send_all(s->fd, s->hello, sizeof s->hello);
    uint8_t sh[DS_HDR + DS_SHELLO_LEN];
    ck_assert_int_eq(read_n(s->fd, sh, sizeof sh), 0);
    ds_frame_t f;
    int why;
    ck_assert_int_eq(ds_frame_decode(sh, sizeof sh, ~0u, DS_FRAME_MAX, &f, &why), DS_FRAME);
    ck_assert_int_eq(ds_hs_client_finish(&hs, &f, s->proof), 0);
    send_all(s->fd, s->proof, sizeof s->proof);
    ck_assert_int_eq(ds_hs_split(&hs, &s->tx, &s->rx), 0);
    uint8_t hdr[DS_HDR], body[256];
    ck_assert_int_eq(read_n(s->fd, hdr, DS_HDR), 0);
    uint32_t len = ds_get32(hdr + 8);
    ck_assert_uint_le(len, sizeof body);
    ck_assert_int_eq(read_n(s->fd, body, len), 0);
    uint8_t fr[DS_HDR + 256];
    memcpy(fr, hdr, DS_HDR);
    memcpy(fr + DS_HDR, body, len);
    ck_assert_int_eq(ds_frame_decode(fr, DS_HDR + len, ~0u, DS_FRAME_MAX, &f, &why), DS_FRAME);
    ck_assert_int_eq(ds_open(&s->rx, &f, fr + DS_HDR), 0);
    ck_assert_uint_eq(fr[DS_HDR], DS_R_INFO);
}

static void raw_close(session_t *s) {
    close(s->fd);
    ds_aead_free(&s->tx);
    ds_aead_free(&s->rx);
}

/* A sealed frame with one weft.echo TASK of id. */
static size_t task_frame(session_t *s, uint64_t id, uint8_t *out) {
    ds_buf_t b = {0};
    ds_put_task(&b, id, 1, "weft.echo", 9, 4, "ping", 4, 0);
    ck_assert_int_eq(ds_seal(&s->tx, b.p, b.len, out), 0);
    size_t n = DS_HDR + b.len + DS_TAG;
    ds_buf_free(&b);
    return n;
}

/* Reads one sealed frame and checks it is the RESULT "ping" of id. */
static void expect_result(session_t *s, uint64_t id) {
    uint8_t fr[4096];
    for (;;) {
        ck_assert_int_eq(read_n(s->fd, fr, DS_HDR), 0);
        uint32_t len = ds_get32(fr + 8);
        ck_assert_uint_le(len, sizeof fr - DS_HDR);
        ck_assert_int_eq(read_n(s->fd, fr + DS_HDR, len), 0);
        ds_frame_t f;
        int why;
        ck_assert_int_eq(ds_frame_decode(fr, DS_HDR + len, ~0u, DS_FRAME_MAX, &f, &why), DS_FRAME);
        ck_assert_int_eq(ds_open(&s->rx, &f, fr + DS_HDR), 0);
        const uint8_t *p = fr + DS_HDR, *end = p + len - DS_TAG;
        ds_rec_t r;
        while (ds_rec_next(&p, end, &r) == 1) {
            if (r.kind != DS_R_RESULT) continue; /* pings */
            ds_result_rec_t rr;
            ck_assert_int_eq(ds_result_decode(&r, &rr), 0);
            ck_assert_uint_eq(rr.id, id);
            ck_assert_uint_eq(rr.outcome, DS_OUT_OK);
            ck_assert_uint_eq(rr.n, 4);
            ck_assert_int_eq(memcmp(rr.data, "ping", 4), 0);
            return;
        }
    }
}

/* Sends one TASK (flags, argument) sealed, returns the RESULT's outcome
 * and code for id. */
static int task_outcome(session_t *s, uint64_t id, const char *task, uint8_t flags,
                        const void *arg, size_t len, int *code) {
    ds_buf_t b = {0};
    ck_assert_int_eq(ds_put_task_f(&b, id, 1, flags, task, strlen(task), len, arg, len, 0), 0);
    uint8_t out[8192];
    ck_assert_uint_le(DS_HDR + b.len + DS_TAG, sizeof out);
    ck_assert_int_eq(ds_seal(&s->tx, b.p, b.len, out), 0);
    send_all(s->fd, out, DS_HDR + b.len + DS_TAG);
    ds_buf_free(&b);
    uint8_t fr[8192];
    for (;;) {
        ck_assert_int_eq(read_n(s->fd, fr, DS_HDR), 0);
        uint32_t flen = ds_get32(fr + 8);
        ck_assert_uint_le(flen, sizeof fr - DS_HDR);
        ck_assert_int_eq(read_n(s->fd, fr + DS_HDR, flen), 0);
        ds_frame_t f;
        int why;
        ck_assert_int_eq(ds_frame_decode(fr, DS_HDR + flen, ~0u, DS_FRAME_MAX, &f, &why), DS_FRAME);
        ck_assert_int_eq(ds_open(&s->rx, &f, fr + DS_HDR), 0);
        const uint8_t *p = fr + DS_HDR, *end = p + flen - DS_TAG;
        ds_rec_t r;
        while (ds_rec_next(&p, end, &r) == 1) {
            if (r.kind != DS_R_RESULT) continue;
            ds_result_rec_t rr;
            ck_assert_int_eq(ds_result_decode(&r, &rr), 0);
            ck_assert_uint_eq(rr.id, id);
            *code = rr.code;
            return rr.outcome;
        }
    }
}

/* Input frames (graph nodes) from a hostile client: references to results
 * the node does not hold, lengths that do not add up, counts past the
 * limit. Each is answered for that task alone; the session goes on. */
START_TEST(hostile_input_frames) {
    setup();
    session_t s;
    raw_session(&s);
    int code;
    /* a good frame: one input "ab", argument "x" */
    uint8_t good[12 + 8 + 1 + 2];
    ds_put32(good, 1);
    ds_put64(good + 4, 1);
    ds_put64(good + 12, 2);
    memcpy(good + 20, "xab", 3);
    ck_assert_int_eq(task_outcome(&s, 1, "weft.echo", DS_F_INPUTS, good, sizeof good, &code), DS_OUT_OK);
    /* a reference to a result never kept: MISSING (send the bytes) */
    uint8_t ref[12 + 8 + 1];
    ds_put32(ref, 1);
    ds_put64(ref + 4, 1);
    ds_put64(ref + 12, DS_INPUT_REF | 77);
    ref[20] = 'x';
    ck_assert_int_eq(task_outcome(&s, 2, "weft.echo", DS_F_INPUTS, ref, sizeof ref, &code), DS_OUT_MISSING);
    /* a reference to the small result of task 1 (small ones are not kept) */
    ds_put64(ref + 12, DS_INPUT_REF | 1);
    ck_assert_int_eq(task_outcome(&s, 3, "weft.echo", DS_F_INPUTS, ref, sizeof ref, &code), DS_OUT_MISSING);
    /* lengths past the frame, short of it, a count over the limit, a
     * frame shorter than its header: node errors of that task */
    uint8_t bad[12 + 8 + 3];
    memcpy(bad, good, sizeof good);
    ds_put64(bad + 12, 5);
    ck_assert_int_eq(task_outcome(&s, 4, "weft.echo", DS_F_INPUTS, bad, sizeof good, &code), DS_OUT_NODE_ERROR);
    ds_put64(bad + 12, 1);
    ck_assert_int_eq(task_outcome(&s, 5, "weft.echo", DS_F_INPUTS, bad, sizeof good, &code), DS_OUT_NODE_ERROR);
    ds_put32(bad, 0xffffffffu);
    ck_assert_int_eq(task_outcome(&s, 6, "weft.echo", DS_F_INPUTS, bad, sizeof good, &code), DS_OUT_NODE_ERROR);
    ck_assert_int_eq(task_outcome(&s, 7, "weft.echo", DS_F_INPUTS, bad, 5, &code), DS_OUT_NODE_ERROR);
    /* and the session still works */
    uint8_t f1[256];
    size_t n1 = task_frame(&s, 8, f1);
    send_all(s.fd, f1, n1);
    expect_result(&s, 8);
    raw_close(&s);
    teardown_check();
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(wrong_key_client) {
    setup();
    char path[320];
    snprintf(path, sizeof path, "%s/other", dt_dir);
    ck_assert_int_eq(weft_dist_key_create(path), 0);
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.secret_file = path;
    o.grace_s = 0.5;
    const char *names[] = {node.addr};
    weft_cluster_t *c;
    ck_assert_int_eq(weft_cluster_create(names, 1, &o, &c), 0);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 1, 1), WEFT_ETIMEDOUT);
    weft_djob_t *j;
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", "x", 1, NULL, &j), 0);
    ck_assert_int_eq(weft_djob_wait(j, 20, NULL), WEFT_ENODE);
    char want[128];
    snprintf(want, sizeof want, "node %s: authentication failed", node.addr);
    ck_assert_msg(strstr(weft_djob_error(j), want), "message: %s", weft_djob_error(j));
    weft_djob_free(j);
    weft_node_stats_t *st;
    size_t k;
    weft_cluster_stats(c, &st, &k);
    ck_assert_int_eq(st[0].last_error, WEFT_EAUTH);
    ck_assert_uint_eq(st[0].connects, 0);
    free(st);
    weft_cluster_free(c);
    /* a client holding a key file others can read is refused at once */
    chmod(path, 0644);
    ck_assert_int_eq(weft_cluster_create(names, 1, &o, &c), WEFT_EPERM);
    ck_assert_ptr_nonnull(strstr(weft_error_detail(), "chmod 600"));
    teardown_check();
}
END_TEST

/* A fake server without the key: the client sends nothing after HELLO. */
static int fake_port;
static atomic_long fake_after_hello;
static atomic_int fake_done;
static int fake_lfd;

static void *fake_main(void *arg) {
    (void)arg;
    static const uint8_t wrong[32] = "this-is-not-the-key-of-anyone-!!";
    for (int conn = 0; conn < 2; conn++) {
        int fd = accept(fake_lfd, NULL, NULL);
        if (fd < 0) break;
        struct timeval tv = {2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        uint8_t hello[DS_HDR + DS_HELLO_LEN];
        if (read_n(fd, hello, sizeof hello)) {
            close(fd);
            continue;
        }
        ds_hs_t hs;
        ds_hs_init(&hs, DS_HS_SERVER, wrong, 32);
        ds_frame_t f;
        int why, refuse;
        uint8_t sh[DS_HDR + DS_SHELLO_LEN];
        if (ds_frame_decode(hello, sizeof hello, ~0u, DS_FRAME_MAX, &f, &why) == DS_FRAME &&
            ds_hs_server_hello(&hs, &f, sh, &refuse) == 0)
            send(fd, sh, sizeof sh, MSG_NOSIGNAL);
        ds_hs_clear(&hs);
        ssize_t n = until_eof(fd, NULL, 0, 2);
        atomic_fetch_add(&fake_after_hello, n < 0 ? 1000000 : n);
        close(fd);
    }
    atomic_store(&fake_done, 1);
    return NULL;
}

START_TEST(fake_server_gets_no_task) {
    setup();
    fake_lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fake_lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    listen(fake_lfd, 8);
    socklen_t sl = sizeof sa;
    getsockname(fake_lfd, (struct sockaddr *)&sa, &sl);
    fake_port = ntohs(sa.sin_port);
    pthread_t th;
    pthread_create(&th, NULL, fake_main, NULL);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", fake_port);
    const char *names[] = {addr};
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.grace_s = 1;
    o.backoff_min_s = 0.2;
    weft_cluster_t *c;
    ck_assert_int_eq(weft_cluster_create(names, 1, &o, &c), 0);
    weft_djob_t *j;
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", "secret task", 11, NULL, &j), 0);
    ck_assert_int_eq(weft_djob_wait(j, 20, NULL), WEFT_ENODE);
    ck_assert_ptr_nonnull(strstr(weft_djob_error(j), "authentication failed (the node does not prove the key)"));
    weft_djob_free(j);
    for (int i = 0; i < 100 && !atomic_load(&fake_done); i++) usleep(50000);
    weft_cluster_free(c);
    shutdown(fake_lfd, SHUT_RDWR);
    pthread_join(th, NULL);
    close(fake_lfd);
    ck_assert_int_eq(atomic_load(&fake_after_hello), 0); /* not one byte after HELLO */
    teardown_check();
}
END_TEST

START_TEST(replayed_handshake) {
    setup();
    session_t s;
    raw_session(&s);
    raw_close(&s);
    int fd = dial(node.port);
    send_all(fd, s.hello, sizeof s.hello);
    uint8_t sh[DS_HDR + DS_SHELLO_LEN];
    ck_assert_int_eq(read_n(fd, sh, sizeof sh), 0); /* a fresh SERVER_HELLO */
    send_all(fd, s.proof, sizeof s.proof);         /* the old proof */
    uint8_t got[64];
    ssize_t n = until_eof(fd, got, sizeof got, 3);
    ck_assert_int_eq(n, DS_HDR + DS_REFUSE_LEN);
    ck_assert_uint_eq(got[3], DS_T_REFUSE);
    ck_assert_uint_eq(got[DS_HDR], DS_REFUSE_REFUSED);
    close(fd);
    teardown_check();
}
END_TEST

START_TEST(bad_frames_after_auth) {
    setup();
    uint8_t f1[256], f2[256], junk[256];
    for (int kind = 0; kind < 6; kind++) {
        session_t s;
        raw_session(&s);
        size_t n1 = task_frame(&s, 1, f1);
        size_t n2 = task_frame(&s, 2, f2);
        const char *what = "";
        switch (kind) {
        case 0: /* replayed: frame 1 twice */
            what = "replayed";
            send_all(s.fd, f1, n1);
            expect_result(&s, 1);
            send_all(s.fd, f1, n1);
            break;
        case 1: /* reordered */
            what = "reordered";
            send_all(s.fd, f2, n2);
            break;
        case 2: /* altered: one bit of the ciphertext */
            what = "altered";
            f1[DS_HDR + 3] ^= 0x20;
            send_all(s.fd, f1, n1);
            break;
        case 3: /* truncated: the length says one byte less */
            what = "truncated";
            ds_put32(f1 + 8, ds_get32(f1 + 8) - 1);
            send_all(s.fd, f1, n1 - 1);
            break;
        case 4: { /* oversized: refused on the header alone */
            what = "oversized";
            uint8_t h[DS_HDR];
            ds_frame_header(h, DS_T_SEALED, 0x7fffffffu);
            send_all(s.fd, h, DS_HDR);
            break;
        }
        case 5: { /* sealed correctly, but a record of an unknown kind */
            what = "bad record";
            uint8_t rec[DS_REC_HDR + 3] = {0x42, 0, 0, 0, 0, 3, 'a', 'b', 'c'};
            ck_assert_int_eq(ds_seal(&s.tx, rec, sizeof rec, junk), 0);
            send_all(s.fd, junk, DS_HDR + sizeof rec + DS_TAG);
            break;
        }
        }
        ssize_t n = until_eof(s.fd, NULL, 0, 3);
        ck_assert_msg(n >= 0, "%s frame: connection not closed", what);
        raw_close(&s);
    }
    teardown_check();
}
END_TEST

START_TEST(slow_loris_and_handshake_cap) {
    setup();
    /* a peer that never finishes its hello is cut at the deadline (0.5 s) */
    int fd = dial(node.port);
    uint8_t part[3] = {DS_MAGIC0, DS_MAGIC1, 1};
    send_all(fd, part, sizeof part);
    double t0 = dt_now();
    uint8_t got[64];
    ssize_t n = until_eof(fd, got, sizeof got, 5);
    double dt = dt_now() - t0;
    ck_assert_int_eq(n, DS_HDR + DS_REFUSE_LEN);
    ck_assert_double_ge(dt, 0.3);
    ck_assert_double_lt(dt, 2.0);
    close(fd);
    /* at most 8 handshakes at once: the 9th is refused as busy at once */
    int idle[8];
    for (int i = 0; i < 8; i++) idle[i] = dial(node.port);
    usleep(100000);
    int extra = dial(node.port);
    n = until_eof(extra, got, sizeof got, 2);
    ck_assert_int_eq(n, DS_HDR + DS_REFUSE_LEN);
    ck_assert_uint_eq(got[DS_HDR], DS_REFUSE_BUSY);
    close(extra);
    for (int i = 0; i < 8; i++) close(idle[i]);
    teardown_check();
}
END_TEST

START_TEST(garbage_and_other_versions) {
    setup();
    uint8_t got[256];
    /* garbage: the same 16-byte refusal as any other refusal, nothing more */
    int fd = dial(node.port);
    const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, http, strlen(http));
    ssize_t n = until_eof(fd, got, sizeof got, 3);
    ck_assert_int_eq(n, DS_HDR + DS_REFUSE_LEN);
    uint8_t refused[DS_HDR + DS_REFUSE_LEN];
    ds_refuse_frame(refused, DS_REFUSE_REFUSED);
    ck_assert_int_eq(memcmp(got, refused, sizeof refused), 0);
    close(fd);
    /* random bytes */
    fd = dial(node.port);
    uint8_t rnd[1000];
    for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (uint8_t)(i * 131 + 7);
    rnd[0] = DS_MAGIC0;
    rnd[1] = DS_MAGIC1;
    rnd[2] = 1;
    rnd[3] = DS_T_HELLO;
    send(fd, rnd, sizeof rnd, MSG_NOSIGNAL);
    ck_assert_int_ge(until_eof(fd, NULL, 0, 3), 0);
    close(fd);
    /* a HELLO offering versions 2..3 only */
    uint8_t key[DS_KEY_MAX];
    size_t klen;
    load_key(key, &klen);
    ds_hs_t hs;
    ds_hs_init(&hs, DS_HS_CLIENT, key, klen);
    uint8_t hello[DS_HDR + DS_HELLO_LEN];
    ds_hs_client_hello(&hs, 2, 3, hello);
    ds_hs_clear(&hs);
    fd = dial(node.port);
    send_all(fd, hello, sizeof hello);
    n = until_eof(fd, got, sizeof got, 3);
    ck_assert_int_eq(n, DS_HDR + DS_REFUSE_LEN);
    ck_assert_uint_eq(got[DS_HDR], DS_REFUSE_VERSION);
    ck_assert_uint_eq(got[DS_HDR + 1], 1);
    ck_assert_uint_eq(got[DS_HDR + 2], 1);
    close(fd);
    /* a frame header of version 2 */
    hello[2] = 2;
    fd = dial(node.port);
    send_all(fd, hello, sizeof hello);
    n = until_eof(fd, got, sizeof got, 3);
    ck_assert_int_eq(n, DS_HDR + DS_REFUSE_LEN);
    ck_assert_uint_eq(got[DS_HDR], DS_REFUSE_VERSION);
    close(fd);
    teardown_check();
}
END_TEST

START_TEST(public_listen_needs_own_key) {
    dt_setup_key();
    /* the user key (auto-made) may not serve other machines */
    unsetenv("WEFT_SECRET_FILE");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --listen 0.0.0.0:0 2>&1", WEFTD_PATH);
    FILE *p = popen(cmd, "r");
    char out[2048] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    ck_assert_ptr_nonnull(strstr(out, "refusing to listen on 0.0.0.0:0, which is not a loopback address"));
    ck_assert_ptr_nonnull(strstr(out, "--secret-file"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("dist_security");
    struct { const char *name; const TTest *t; } tests[] = {
        {"wrong_key_client", wrong_key_client},
        {"fake_server_gets_no_task", fake_server_gets_no_task},
        {"replayed_handshake", replayed_handshake},
        {"bad_frames_after_auth", bad_frames_after_auth},
        {"hostile_input_frames", hostile_input_frames},
        {"slow_loris_and_handshake_cap", slow_loris_and_handshake_cap},
        {"garbage_and_other_versions", garbage_and_other_versions},
        {"public_listen_needs_own_key", public_listen_needs_own_key},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, tests[i].t);
        suite_add_tcase(s, tc);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
