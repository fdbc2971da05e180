/* test_dist_discover: discovery beacons (dist/PROTOCOL.md section 8), on
 * loopback only: every beacon goes by unicast to 127.0.0.1.
 *   - the beacon codec: round trip, the key is derived (not the raw key),
 *     every truncation and every flipped bit is refused;
 *   - weftd --announce to a discovering cluster: the node is found, tasks
 *     run on it with exact results, later beacons count as known;
 *   - crafted beacons sent by the test: forged (another key, the raw key),
 *     stale, future-dated, replayed, another version, garbage, empty,
 *     oversized, a host name instead of an address: each ignored, counted
 *     exactly, and the cluster still only trusts authenticated nodes;
 *   - a good beacon for a node with another key: added as a hint, never
 *     used (its handshake fails);
 *   - the cap on discovered nodes, option checks. */
#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/rand.h>

#include "dist_test.h"
#include "ds.h"
#include "ds_disc.h"

static void key_bytes(uint8_t *k, size_t *n) {
    char path[4096];
    int rc = ds_key_load(NULL, 0, k, n, NULL, path, sizeof path);
    ck_assert_msg(rc == 0, "key: %s", weft_error_detail());
}

static weft_cluster_t *discovering(weft_cluster_opts_t *o) {
    o->discover = "127.0.0.1:0";
    weft_cluster_t *c = NULL;
    int rc = weft_cluster_create(NULL, 0, o, &c);
    ck_assert_msg(rc == 0, "cluster: %s: %s", weft_strerror(rc), weft_error_detail());
    return c;
}

static int disc_port(weft_cluster_t *c) {
    weft_discover_stats_t st;
    ck_assert_int_eq(weft_cluster_discover_stats(c, &st), 0);
    ck_assert_int_gt(st.port, 0);
    return st.port;
}

static void send_to(int port, const void *p, size_t n) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(sendto(fd, p, n, 0, (struct sockaddr *)&sa, sizeof sa), (ssize_t)n);
    close(fd);
}

/* Waits (at most 10 s) until the cluster has received n datagrams. */
static weft_discover_stats_t wait_received(weft_cluster_t *c, uint64_t n) {
    weft_discover_stats_t st;
    double end = dt_now() + 10;
    do {
        ck_assert_int_eq(weft_cluster_discover_stats(c, &st), 0);
        if (st.received >= n) break;
        usleep(2000);
    } while (dt_now() < end);
    ck_assert_uint_eq(st.received, n);
    usleep(20000); /* the last one's verdict */
    ck_assert_int_eq(weft_cluster_discover_stats(c, &st), 0);
    return st;
}

static void echo_exact(weft_cluster_t *c, uint64_t n) {
    weft_djob_t **jobs = malloc(n * sizeof *jobs);
    ck_assert_ptr_nonnull(jobs);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = i * 0x9e3779b97f4a7c15u;
        ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", &v, 8, NULL, &jobs[i]), 0);
    }
    for (uint64_t i = 0; i < n; i++) {
        int rc = weft_djob_wait(jobs[i], 60, NULL);
        ck_assert_msg(rc == 0, "job %llu: %s", (unsigned long long)i, weft_djob_error(jobs[i]));
        const void *d;
        size_t len;
        ck_assert_int_eq(weft_djob_result(jobs[i], &d, &len), 0);
        ck_assert_uint_eq(len, 8);
        uint64_t v = i * 0x9e3779b97f4a7c15u, got;
        memcpy(&got, d, 8);
        ck_assert_uint_eq(got, v);
        weft_djob_free(jobs[i]);
    }
    free(jobs);
}

START_TEST(beacon_codec) {
    uint8_t psk[32], kb[32], kb2[32], nonce[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (int i = 0; i < 32; i++) psk[i] = (uint8_t)(i * 7 + 1);
    ck_assert_int_eq(ds_beacon_key(psk, 32, kb), 0);
    ck_assert_int_eq(ds_beacon_key(psk, 32, kb2), 0);
    ck_assert_mem_eq(kb, kb2, 32);
    ck_assert_int_ne(memcmp(kb, psk, 32), 0); /* derived, not the key */
    psk[31] ^= 1;
    ck_assert_int_eq(ds_beacon_key(psk, 32, kb2), 0);
    ck_assert_int_ne(memcmp(kb, kb2, 32), 0);
    uint8_t buf[DS_BEACON_MAX + 8];
    size_t n = ds_beacon_encode(kb, 1, 1, 7117, "10.77.0.2", 1234567890123u, nonce, buf);
    ck_assert_uint_eq(n, DS_BEACON_MIN + 9);
    ds_beacon_t b;
    ck_assert_int_eq(ds_beacon_parse(kb, buf, n, &b), DS_BCN_OK);
    ck_assert_uint_eq(b.port, 7117);
    ck_assert_uint_eq(b.ts_ms, 1234567890123u);
    ck_assert_str_eq(b.host, "10.77.0.2");
    ck_assert_mem_eq(b.nonce, nonce, 8);
    /* byte order: PROTOCOL.md's table */
    ck_assert_uint_eq(buf[0], 0x57);
    ck_assert_uint_eq(buf[1], 0x42);
    ck_assert_uint_eq(buf[6], 7117 >> 8);
    ck_assert_uint_eq(buf[7], 7117 & 0xff);
    ck_assert_uint_eq(buf[24], 9);
    ck_assert_int_eq(ds_beacon_parse(kb2, buf, n, &b), DS_BCN_FORGED);
    for (size_t k = 0; k < n; k++) /* every truncation */
        ck_assert_int_eq(ds_beacon_parse(kb, buf, k, &b), DS_BCN_MALFORMED);
    for (size_t k = 0; k < n; k++) /* every flipped bit */
        for (int bit = 0; bit < 8; bit++) {
            buf[k] ^= (uint8_t)(1 << bit);
            int r = ds_beacon_parse(kb, buf, n, &b);
            ck_assert_msg(r == DS_BCN_MALFORMED || r == DS_BCN_FORGED, "byte %zu bit %d: %d", k,
                          bit, r);
            buf[k] ^= (uint8_t)(1 << bit);
        }
    ck_assert_int_eq(ds_beacon_parse(kb, buf, n + 1, &b), DS_BCN_MALFORMED);
    /* authentic but unusable */
    n = ds_beacon_encode(kb, 2, 3, 7117, "", 1, nonce, buf);
    ck_assert_int_eq(ds_beacon_parse(kb, buf, n, &b), DS_BCN_VERSION);
    n = ds_beacon_encode(kb, 1, 1, 0, "", 1, nonce, buf);
    ck_assert_int_eq(ds_beacon_parse(kb, buf, n, &b), DS_BCN_MALFORMED);
    n = ds_beacon_encode(kb, 1, 1, 7117, "evil.example", 1, nonce, buf);
    ck_assert_int_eq(ds_beacon_parse(kb, buf, n, &b), DS_BCN_MALFORMED);
    n = ds_beacon_encode(kb, 1, 1, 7117, "::1", 1, nonce, buf);
    ck_assert_int_eq(ds_beacon_parse(kb, buf, n, &b), DS_BCN_OK);
    ck_assert_str_eq(b.host, "::1");
    char big[300];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ck_assert_uint_eq(ds_beacon_encode(kb, 1, 1, 1, big, 1, nonce, buf), 0);
}
END_TEST

START_TEST(weftd_announces_client_discovers) {
    dt_setup_key();
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    weft_cluster_t *c = discovering(&o);
    int port = disc_port(c);
    char to[64];
    snprintf(to, sizeof to, "127.0.0.1:%d", port);
    /* nothing is up, nothing listed: waiting for one node is allowed */
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 1, 0), WEFT_ETIMEDOUT);
    double t0 = dt_now();
    dt_proc_t p;
    const char *args[] = {"--announce", to, "--announce-interval", "0.1", NULL};
    ck_assert_int_eq(dt_start(&p, args), 0);
    double t1 = dt_now();
    int rc = weft_cluster_wait_nodes(c, 1, 10);
    ck_assert_msg(rc == 0, "%s", weft_error_detail());
    double t2 = dt_now();
    fprintf(stderr, "discovery: weftd up after %.1f ms, its node usable %.1f ms later\n",
            (t1 - t0) * 1e3, (t2 - t1) * 1e3);
    char **act;
    size_t na;
    ck_assert_int_eq(weft_cluster_active_nodes(c, &act, &na), 0);
    ck_assert_uint_eq(na, 1);
    ck_assert_str_eq(act[0], p.addr); /* the listen address, from the beacon */
    free(act);
    echo_exact(c, 2000);
    usleep(350000); /* a few more beacons */
    weft_discover_stats_t st;
    ck_assert_int_eq(weft_cluster_discover_stats(c, &st), 0);
    ck_assert_uint_eq(st.added, 1);
    ck_assert_uint_ge(st.accepted, 3);
    ck_assert_uint_eq(st.accepted, st.added + st.known);
    ck_assert_uint_eq(st.received, st.accepted);
    ck_assert_uint_eq(st.malformed + st.forged + st.version + st.stale + st.future + st.replayed +
                          st.over_cap, 0);
    ck_assert_str_eq(st.last_reject, "");
    ck_assert_int_eq(weft_cluster_free(c), 0);
    dt_kill(&p, SIGTERM);
}
END_TEST

typedef struct logbuf {
    pthread_mutex_t mu;
    char text[8192];
    size_t len;
} logbuf_t;

static void log_into(void *data, int level, const char *line) {
    logbuf_t *l = data;
    (void)level;
    pthread_mutex_lock(&l->mu);
    int k = snprintf(l->text + l->len, sizeof l->text - l->len, "%s\n", line);
    if (k > 0 && l->len + (size_t)k < sizeof l->text) l->len += (size_t)k;
    pthread_mutex_unlock(&l->mu);
}

START_TEST(bad_beacons_ignored_exact_counts) {
    dt_setup_key();
    dt_proc_t p; /* a node that does not announce: the test speaks for it */
    ck_assert_int_eq(dt_start(&p, NULL), 0);
    uint8_t psk[DS_KEY_MAX], kb[32], wrong[32], nonce[8];
    size_t psk_len;
    key_bytes(psk, &psk_len);
    ck_assert_int_eq(ds_beacon_key(psk, psk_len, kb), 0);
    ck_assert_int_eq(RAND_bytes(wrong, 32), 1);
    static logbuf_t lb = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.discover_log = log_into;
    o.discover_log_data = &lb;
    weft_cluster_t *c = discovering(&o);
    int port = disc_port(c);
    uint8_t b[DS_BEACON_MAX + 64];
    size_t n;
    uint64_t now = ds_wall_ms(), sent = 0;
#define SEND(nb) (send_to(port, b, (nb)), sent++)
    /* forged: another key; the raw key instead of the derived one */
    RAND_bytes(nonce, 8);
    n = ds_beacon_encode(wrong, 1, 1, (uint16_t)p.port, "127.0.0.1", now, nonce, b);
    SEND(n);
    uint8_t raw[32];
    memcpy(raw, psk, 32);
    RAND_bytes(nonce, 8);
    n = ds_beacon_encode(raw, 1, 1, (uint16_t)p.port, "127.0.0.1", now, nonce, b);
    SEND(n);
    /* stale (10 s old) and future-dated (10 s ahead) */
    RAND_bytes(nonce, 8);
    n = ds_beacon_encode(kb, 1, 1, (uint16_t)p.port, "127.0.0.1", now - 10000, nonce, b);
    SEND(n);
    RAND_bytes(nonce, 8);
    n = ds_beacon_encode(kb, 1, 1, (uint16_t)p.port, "127.0.0.1", now + 10000, nonce, b);
    SEND(n);
    RAND_bytes(nonce, 8); /* the end of time: no wrap-around makes it fresh or stale */
    n = ds_beacon_encode(kb, 1, 1, (uint16_t)p.port, "127.0.0.1", UINT64_MAX, nonce, b);
    SEND(n);
    RAND_bytes(nonce, 8);
    n = ds_beacon_encode(kb, 1, 1, (uint16_t)p.port, "127.0.0.1", 0, nonce, b);
    SEND(n);
    /* another protocol version */
    RAND_bytes(nonce, 8);
    n = ds_beacon_encode(kb, 7, 9, (uint16_t)p.port, "127.0.0.1", now, nonce, b);
    SEND(n);
    /* garbage: random bytes, control bytes, empty, oversized, a name */
    RAND_bytes(b, 100);
    b[0] = 0x1b;
    SEND(100);
    SEND(0);
    memset(b, 'A', DS_BEACON_MAX + 10);
    SEND(DS_BEACON_MAX + 10);
    RAND_bytes(nonce, 8);
    n = ds_beacon_encode(kb, 1, 1, (uint16_t)p.port, "evil.example", now, nonce, b);
    SEND(n);
    weft_discover_stats_t st = wait_received(c, sent);
    ck_assert_uint_eq(st.forged, 2);
    ck_assert_uint_eq(st.stale, 2);
    ck_assert_uint_eq(st.future, 2);
    ck_assert_uint_eq(st.version, 1);
    ck_assert_uint_eq(st.malformed, 4);
    ck_assert_uint_eq(st.replayed + st.over_cap + st.accepted + st.added + st.known, 0);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 1, 0.3), WEFT_ETIMEDOUT);
    /* a good beacon, then the same datagram again */
    RAND_bytes(nonce, 8);
    n = ds_beacon_encode(kb, 1, 1, (uint16_t)p.port, "127.0.0.1", ds_wall_ms(), nonce, b);
    SEND(n);
    SEND(n);
    st = wait_received(c, sent);
    ck_assert_uint_eq(st.accepted, 1);
    ck_assert_uint_eq(st.added, 1);
    ck_assert_uint_eq(st.replayed, 1);
    ck_assert_uint_eq(st.forged + st.stale + st.future + st.version + st.malformed +
                          st.replayed + st.over_cap + st.accepted,
                      sent);
    ck_assert_ptr_nonnull(strstr(st.last_reject, "replayed"));
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 1, 10), 0);
    echo_exact(c, 500);
    pthread_mutex_lock(&lb.mu);
    /* one line per reason and second: forged, stale, future, version,
     * malformed (sanitised), replayed; and the node found */
    ck_assert_ptr_nonnull(strstr(lb.text, "bad HMAC"));
    ck_assert_ptr_nonnull(strstr(lb.text, "ignored: stale"));
    ck_assert_ptr_nonnull(strstr(lb.text, "dated in the future"));
    ck_assert_ptr_nonnull(strstr(lb.text, "no protocol version in common"));
    ck_assert_ptr_nonnull(strstr(lb.text, "malformed (100 bytes: \"\\x1b"));
    ck_assert_ptr_nonnull(strstr(lb.text, "ignored: replayed"));
    ck_assert_ptr_nonnull(strstr(lb.text, "discovered node 127.0.0.1:"));
    for (size_t i = 0; i < lb.len; i++)
        ck_assert_msg(lb.text[i] == '\n' || (lb.text[i] >= 0x20 && lb.text[i] < 0x7f),
                      "unsanitised byte at %zu", i);
    pthread_mutex_unlock(&lb.mu);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    OPENSSL_cleanse(psk, sizeof psk);
    dt_kill(&p, SIGTERM);
#undef SEND
}
END_TEST

START_TEST(hint_only_wrong_key_node_never_used) {
    dt_setup_key();
    /* a node with another key, hinted by a beacon under our key: the
     * cluster tries it, and its handshake fails both ways */
    char other[320];
    snprintf(other, sizeof other, "%s/other-secret", dt_dir);
    ck_assert_int_eq(weft_dist_key_create(other), 0);
    dt_proc_t p;
    const char *args[] = {"--secret-file", other, NULL};
    ck_assert_int_eq(dt_start(&p, args), 0);
    uint8_t psk[DS_KEY_MAX], kb[32], nonce[8] = {9};
    size_t psk_len;
    key_bytes(psk, &psk_len);
    ck_assert_int_eq(ds_beacon_key(psk, psk_len, kb), 0);
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.grace_s = 0.5;
    weft_cluster_t *c = discovering(&o);
    uint8_t b[DS_BEACON_MAX];
    size_t n = ds_beacon_encode(kb, 1, 1, (uint16_t)p.port, "", ds_wall_ms(), nonce, b);
    send_to(disc_port(c), b, n); /* no host: the source address, 127.0.0.1 */
    weft_discover_stats_t st = wait_received(c, 1);
    ck_assert_uint_eq(st.added, 1);
    ck_assert_int_eq(weft_cluster_wait_nodes(c, 1, 1.0), WEFT_ETIMEDOUT);
    weft_node_stats_t *ns;
    size_t k;
    ck_assert_int_eq(weft_cluster_stats(c, &ns, &k), 0);
    ck_assert_uint_eq(k, 1);
    ck_assert_str_eq(ns[0].node, p.addr);
    ck_assert_int_eq(ns[0].connected, 0);
    ck_assert_int_eq(ns[0].last_error, WEFT_EAUTH);
    ck_assert_uint_eq(ns[0].connects, 0);
    free(ns);
    weft_djob_t *j;
    uint64_t v = 5;
    ck_assert_int_eq(weft_cluster_submit(c, "weft.echo", &v, 8, NULL, &j), 0);
    ck_assert_int_eq(weft_djob_wait(j, 20, NULL), WEFT_ENODE);
    weft_djob_free(j);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    OPENSSL_cleanse(psk, sizeof psk);
    dt_kill(&p, SIGTERM);
}
END_TEST

START_TEST(cap_on_discovered_nodes) {
    dt_setup_key();
    uint8_t psk[DS_KEY_MAX], kb[32], nonce[8];
    size_t psk_len;
    key_bytes(psk, &psk_len);
    ck_assert_int_eq(ds_beacon_key(psk, psk_len, kb), 0);
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.discover_max_nodes = 2;
    weft_cluster_t *c = discovering(&o);
    int port = disc_port(c);
    uint8_t b[DS_BEACON_MAX];
    /* five nodes announce (ports nobody listens on: hints cost nothing) */
    for (int i = 0; i < 5; i++) {
        RAND_bytes(nonce, 8);
        size_t n = ds_beacon_encode(kb, 1, 1, (uint16_t)(1 + i), "127.0.0.1", ds_wall_ms(),
                                    nonce, b);
        send_to(port, b, n);
    }
    /* the first again, in a new beacon: known, not over the cap */
    RAND_bytes(nonce, 8);
    size_t n = ds_beacon_encode(kb, 1, 1, 1, "127.0.0.1", ds_wall_ms(), nonce, b);
    send_to(port, b, n);
    weft_discover_stats_t st = wait_received(c, 6);
    ck_assert_uint_eq(st.added, 2);
    ck_assert_uint_eq(st.known, 1);
    ck_assert_uint_eq(st.accepted, 3);
    ck_assert_uint_eq(st.over_cap, 3);
    weft_node_stats_t *ns;
    size_t k;
    ck_assert_int_eq(weft_cluster_stats(c, &ns, &k), 0);
    ck_assert_uint_eq(k, 2);
    ck_assert_str_eq(ns[0].node, "127.0.0.1:1");
    ck_assert_str_eq(ns[1].node, "127.0.0.1:2");
    free(ns);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    OPENSSL_cleanse(psk, sizeof psk);
}
END_TEST

START_TEST(options_checked) {
    dt_setup_key();
    const char *bad[] = {"nonsense", "127.0.0.1:99999", "[::1]:7118", "host.example:7118", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        weft_cluster_opts_t o;
        weft_cluster_opts_init(&o);
        o.discover = bad[i];
        weft_cluster_t *c = NULL;
        ck_assert_int_eq(weft_cluster_create(NULL, 0, &o, &c), WEFT_EINVAL);
        ck_assert_ptr_null(c);
    }
    weft_cluster_opts_t o;
    weft_cluster_opts_init(&o);
    o.discover = "127.0.0.1:0";
    o.discover_max_nodes = 0;
    weft_cluster_t *c = NULL;
    ck_assert_int_eq(weft_cluster_create(NULL, 0, &o, &c), WEFT_EINVAL);
    o.discover_max_nodes = 32;
    o.discover_max_age_s = NAN;
    ck_assert_int_eq(weft_cluster_create(NULL, 0, &o, &c), WEFT_EINVAL);
    /* without discovery, no nodes and no workers is still an error */
    weft_cluster_opts_init(&o);
    ck_assert_int_eq(weft_cluster_create(NULL, 0, &o, &c), WEFT_EINVAL);
    /* discovery off: no stats */
    const char *one = "127.0.0.1:1";
    ck_assert_int_eq(weft_cluster_create(&one, 1, &o, &c), 0);
    weft_discover_stats_t st;
    ck_assert_int_eq(weft_cluster_discover_stats(c, &st), WEFT_ENOENT);
    ck_assert_int_eq(weft_cluster_free(c), 0);
    /* a server: bad announce addresses and intervals */
    weft_server_opts_t so;
    weft_server_opts_init(&so);
    so.listen = "127.0.0.1:0";
    so.workers = 1;
    weft_server_t *s = NULL;
    so.announce = "no-such-thing";
    ck_assert_int_eq(weft_server_create(&so, &s), WEFT_EINVAL);
    so.announce = "127.0.0.1:0";
    ck_assert_int_eq(weft_server_create(&so, &s), WEFT_EINVAL);
    so.announce = "127.0.0.1:9";
    so.announce_interval_s = 0;
    ck_assert_int_eq(weft_server_create(&so, &s), WEFT_EINVAL);
    so.announce_interval_s = 1;
    so.announce_host = "evil.example";
    ck_assert_int_eq(weft_server_create(&so, &s), WEFT_EINVAL);
    so.announce_host = NULL;
    so.announce_if = "no-such-if0";
    ck_assert_int_eq(weft_server_create(&so, &s), WEFT_EINVAL);
    /* announcing to loopback (discard port 9, nobody listens): runs */
    so.announce_if = NULL;
    so.announce_interval_s = 0.02;
    ck_assert_int_eq(weft_server_create(&so, &s), 0);
    uint64_t sent = 0, errs = 0;
    for (int i = 0; i < 200 && sent < 3; i++) {
        usleep(10000);
        ck_assert_int_eq(weft_server_announced(s, &sent, &errs), 0);
    }
    ck_assert_uint_ge(sent, 3);
    ck_assert_int_eq(weft_server_free(s), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("dist_discover");
    struct {
        const char *name;
        const TTest *t;
    } tests[] = {
        {"beacon_codec", beacon_codec},
        {"weftd_announces_client_discovers", weftd_announces_client_discovers},
        {"bad_beacons_ignored_exact_counts", bad_beacons_ignored_exact_counts},
        {"hint_only_wrong_key_node_never_used", hint_only_wrong_key_node_never_used},
        {"cap_on_discovered_nodes", cap_on_discovered_nodes},
        {"options_checked", options_checked},
    };
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
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
