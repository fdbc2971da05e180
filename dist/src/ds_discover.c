/* ds_discover.c: auto-discovery, done safely (dist/PROTOCOL.md section 8).
 *
 * pp's discovery broadcasts an unauthenticated datagram and its clients
 * connect to whoever sent one. Here a node's beacon carries a time stamp, a
 * random nonce and an HMAC-SHA256 under a key of its own, derived from the
 * pre-shared key with HKDF (label "weft beacon v1"), so a beacon proves
 * that its sender held the key a few seconds ago, and no more: a captured
 * one can be replayed by anyone. So the listener:
 *   - checks the structure first (exact size for the host length it says,
 *     magic, format, reserved bytes), then the HMAC in constant time, then
 *     the protocol versions, the host (an IP literal or nothing) and port;
 *   - drops a beacon older than max_age or dated more than skew ahead of
 *     its own clock, and one whose HMAC it has seen before (a cache of the
 *     beacons of the last max_age + skew seconds, DS_DISC_REPLAY_CAP long;
 *     when it is full, new beacons are dropped and counted as over_cap);
 *   - treats what is left as a hint only: weft_cluster_add_node, at most
 *     discover_max_nodes times; the connection then authenticates as any
 *     other (mutual proof of the key, dist/PROTOCOL.md section 3). A forged
 *     or replayed hint can at worst make the cluster try a connection that
 *     fails its handshake, as a wrong node string would.
 * Every ignored beacon is counted by reason; log lines (the cluster's
 * discover_log) name the sender's address and reason, with peer bytes
 * sanitised, at most one line per reason per second.
 *
 * Threads: the announcer and the listener each run a thread of their own
 * that sleeps in a timed wait (announcer) or poll (listener) and wakes at
 * once for stop. Neither touches the cluster's or the server's I/O loop:
 * the listener only calls weft_cluster_add_node, which is thread-safe. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "ds.h"
#include "ds_disc.h"

/* ------------------------------------------------------------------ */
/* Beacons                                                             */

int ds_beacon_key(const uint8_t *psk, size_t psk_len, uint8_t kb[32]) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    static const char info[] = "weft beacon v1";
    OSSL_PARAM params[4], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)psk, psk_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof info - 1);
    *p = OSSL_PARAM_construct_end(); /* no salt: RFC 5869's zeros */
    int ok = kc && EVP_KDF_derive(kc, kb, 32, params) == 1;
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    return ok ? 0 : WEFT_ESYSTEM;
}

static int beacon_mac(const uint8_t kb[32], const uint8_t *p, size_t n, uint8_t out[32]) {
    unsigned len = 0;
    return HMAC(EVP_sha256(), kb, 32, p, n, out, &len) != NULL && len == 32 ? 0 : WEFT_ESYSTEM;
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

size_t ds_beacon_encode(const uint8_t kb[32], uint8_t vmin, uint8_t vmax, uint16_t port,
                        const char *host, uint64_t ts_ms, const uint8_t nonce[8], uint8_t *out) {
    size_t hl = host ? strlen(host) : 0;
    if (hl > DS_BEACON_HOST_MAX) return 0;
    out[0] = 0x57; /* "WB" */
    out[1] = 0x42;
    out[2] = DS_BEACON_FORMAT;
    out[3] = 0; /* flags */
    out[4] = vmin;
    out[5] = vmax;
    out[6] = (uint8_t)(port >> 8);
    out[7] = (uint8_t)port;
    put64(out + 8, ts_ms);
    memcpy(out + 16, nonce, 8);
    out[24] = (uint8_t)hl;
    out[25] = 0; /* reserved */
    if (hl) memcpy(out + DS_BEACON_FIXED, host, hl);
    if (beacon_mac(kb, out, DS_BEACON_FIXED + hl, out + DS_BEACON_FIXED + hl)) return 0;
    return DS_BEACON_MIN + hl;
}

/* An IPv4 or IPv6 literal, nothing else (no names to resolve). */
static int ip_literal(const char *s) {
    struct in6_addr a6;
    struct in_addr a4;
    return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

int ds_beacon_parse(const uint8_t kb[32], const uint8_t *p, size_t n, ds_beacon_t *b) {
    if (n < DS_BEACON_MIN || n > DS_BEACON_MAX) return DS_BCN_MALFORMED;
    if (p[0] != 0x57 || p[1] != 0x42 || p[2] != DS_BEACON_FORMAT || p[3] != 0 || p[25] != 0)
        return DS_BCN_MALFORMED;
    size_t hl = p[24];
    if (n != DS_BEACON_MIN + hl) return DS_BCN_MALFORMED;
    uint8_t mac[32];
    if (beacon_mac(kb, p, DS_BEACON_FIXED + hl, mac)) return DS_BCN_FORGED;
    int bad = CRYPTO_memcmp(mac, p + DS_BEACON_FIXED + hl, 32) != 0;
    OPENSSL_cleanse(mac, sizeof mac);
    if (bad) return DS_BCN_FORGED;
    /* authentic from here on: a key holder sent these bytes */
    uint16_t port = (uint16_t)(p[6] << 8 | p[7]);
    if (port == 0) return DS_BCN_MALFORMED;
    char host[DS_BEACON_HOST_MAX + 1];
    memcpy(host, p + DS_BEACON_FIXED, hl);
    host[hl] = 0;
    if (hl && (memchr(host, 0, hl) || !ip_literal(host))) return DS_BCN_MALFORMED;
    if (p[4] > DS_VERSION || p[5] < DS_VERSION || p[4] > p[5]) return DS_BCN_VERSION;
    b->vmin = p[4];
    b->vmax = p[5];
    b->port = port;
    b->ts_ms = get64(p + 8);
    memcpy(b->nonce, p + 16, 8);
    memcpy(b->host, host, hl + 1);
    memcpy(b->mac, p + DS_BEACON_FIXED + hl, 32);
    return DS_BCN_OK;
}

uint64_t ds_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "ADDR:PORT" with an IPv4 literal. 0 or WEFT_EINVAL (detail set). */
static int parse_udp(const char *what, const char *s, struct sockaddr_in *sa) {
    ds_addr_t a;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (!s || ds_addr_parse(s, WEFT_DIST_DISCOVER_PORT, &a) ||
        inet_pton(AF_INET, a.host, &sa->sin_addr) != 1) {
        wf_set_detail("%s '%.200s': expected an IPv4 ADDR:PORT, e.g. 239.255.77.1:%d", what,
                      s ? s : "(null)", WEFT_DIST_DISCOVER_PORT);
        return WEFT_EINVAL;
    }
    sa->sin_port = htons((uint16_t)a.port);
    return 0;
}

static int is_multicast(const struct sockaddr_in *sa) {
    return (ntohl(sa->sin_addr.s_addr) >> 28) == 14; /* 224.0.0.0/4 */
}

/* ------------------------------------------------------------------ */
/* Announcer (node)                                                    */

struct ds_announce {
    int fd;
    struct sockaddr_in to;
    int64_t interval_ns;
    uint8_t kb[32];
    uint16_t port;
    char host[DS_BEACON_HOST_MAX + 1];
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;                   /* under mu */
    atomic_uint_fast64_t sent, errors;
};

static void *announce_main(void *arg) {
    ds_announce_t *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        pthread_mutex_unlock(&a->mu);
        uint8_t nonce[8], buf[DS_BEACON_MAX];
        size_t n = 0;
        if (RAND_bytes(nonce, sizeof nonce) == 1)
            n = ds_beacon_encode(a->kb, DS_VERSION, DS_VERSION, a->port, a->host, ds_wall_ms(),
                                 nonce, buf);
        if (n && sendto(a->fd, buf, n, 0, (const struct sockaddr *)&a->to, sizeof a->to) ==
                     (ssize_t)n)
            atomic_fetch_add_explicit(&a->sent, 1, memory_order_relaxed); /* a count only */
        else
            atomic_fetch_add_explicit(&a->errors, 1, memory_order_relaxed);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t t = (int64_t)ts.tv_nsec + a->interval_ns;
        ts.tv_sec += (time_t)(t / 1000000000);
        ts.tv_nsec = (long)(t % 1000000000);
        pthread_mutex_lock(&a->mu);
        while (!a->stop && pthread_cond_timedwait(&a->cv, &a->mu, &ts) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int ds_announce_start(const char *to, const char *ifname, double interval_s, const char *host,
                      int port, const uint8_t *psk, size_t psk_len, ds_announce_t **out) {
    *out = NULL;
    if (!(interval_s >= 0.01 && interval_s <= 3600) || port <= 0 || port > 65535 ||
        (host && strlen(host) > DS_BEACON_HOST_MAX) || (host && *host && !ip_literal(host))) {
        wf_set_detail("announce options out of range (interval 0.01..3600 s, host an IP literal)");
        return WEFT_EINVAL;
    }
    ds_announce_t *a = wf_calloc(1, sizeof *a);
    if (!a) return WEFT_ENOMEM;
    a->fd = -1;
    int rc = parse_udp("announce address", to, &a->to);
    if (!rc && a->to.sin_port == 0) {
        wf_set_detail("announce address '%.200s': port 0", to);
        rc = WEFT_EINVAL;
    }
    unsigned ifindex = 0;
    if (!rc && ifname && *ifname && !(ifindex = if_nametoindex(ifname))) {
        wf_set_detail("announce interface '%.64s': %s", ifname, strerror(errno));
        rc = WEFT_EINVAL;
    }
    if (!rc) rc = ds_beacon_key(psk, psk_len, a->kb);
    if (!rc && (a->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
        wf_set_detail("announce socket: %s", strerror(errno));
        rc = WEFT_EIO;
    }
    if (!rc) {
        int one = 1;
        setsockopt(a->fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
        if (is_multicast(&a->to)) {
            unsigned char ttl = 1, loop = 1; /* the link only; listeners on this host too */
            setsockopt(a->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
            setsockopt(a->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
            if (ifindex) {
                struct ip_mreqn m;
                memset(&m, 0, sizeof m);
                m.imr_ifindex = (int)ifindex;
                if (setsockopt(a->fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m)) {
                    wf_set_detail("announce interface '%.64s': %s", ifname, strerror(errno));
                    rc = WEFT_EIO;
                }
            }
        } else if (ifindex &&
                   setsockopt(a->fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname))) {
            wf_set_detail("announce interface '%.64s': %s", ifname, strerror(errno));
            rc = WEFT_EIO;
        }
    }
    if (rc) {
        if (a->fd >= 0) close(a->fd);
        OPENSSL_cleanse(a->kb, sizeof a->kb);
        wf_free(a);
        return rc;
    }
    a->interval_ns = (int64_t)(interval_s * 1e9);
    a->port = (uint16_t)port;
    snprintf(a->host, sizeof a->host, "%s", host ? host : "");
    atomic_init(&a->sent, 0);
    atomic_init(&a->errors, 0);
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&a->th, NULL, announce_main, a)) {
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        close(a->fd);
        OPENSSL_cleanse(a->kb, sizeof a->kb);
        wf_free(a);
        wf_set_detail("cannot start the announcer thread");
        return WEFT_ESYSTEM;
    }
    *out = a;
    return 0;
}

int ds_announce_server(const weft_server_opts_t *o, const char *listen_host, int port,
                       int user_key, const uint8_t *psk, size_t psk_len, ds_announce_t **out) {
    *out = NULL;
    struct sockaddr_in to;
    int rc = parse_udp("announce address", o->announce, &to);
    if (rc) return rc;
    char dest[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &to.sin_addr, dest, sizeof dest);
    if (user_key && !ds_addr_is_loopback(dest)) {
        wf_set_detail("refusing to announce to %s, which is not a loopback address, with the "
                      "automatically made key: give a key of your own (--secret-file, "
                      "WEFT_SECRET_FILE or a systemd credential)", dest);
        return WEFT_EPERM;
    }
    const char *host = o->announce_host;
    if (!host) /* a wildcard says nothing: the source address will */
        host = !strcmp(listen_host, "0.0.0.0") || !strcmp(listen_host, "::") ? "" : listen_host;
    if (*host && !ip_literal(host)) {
        wf_set_detail("announce: the listen address '%.200s' is a name, not an IP address: set "
                      "announce-host", host);
        return WEFT_EINVAL;
    }
    return ds_announce_start(o->announce, o->announce_if, o->announce_interval_s, host, port,
                             psk, psk_len, out);
}

void ds_announce_counts(const ds_announce_t *a, uint64_t *sent, uint64_t *errors) {
    *sent = a ? atomic_load_explicit(&a->sent, memory_order_relaxed) : 0;
    *errors = a ? atomic_load_explicit(&a->errors, memory_order_relaxed) : 0;
}

void ds_announce_stop(ds_announce_t *a) {
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->th, NULL);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    close(a->fd);
    OPENSSL_cleanse(a->kb, sizeof a->kb);
    wf_free(a);
}

/* ------------------------------------------------------------------ */
/* Listener (cluster)                                                  */

enum { R_MALFORMED, R_FORGED, R_VERSION, R_STALE, R_FUTURE, R_REPLAYED, R_OVER_CAP, R_COUNT };
static const char *const reason_text[R_COUNT] = {
    "malformed", "bad HMAC (not sent with our key)", "no protocol version in common",
    "stale", "dated in the future", "replayed", "over the cap"};

typedef struct seen {
    uint8_t mac[16]; /* half the HMAC: 2^-128 collisions */
    uint64_t until_ms;
} seen_t;

#define DISC_NAMES 128

struct ds_disc {
    weft_cluster_t *c;
    int fd, efd, port;
    uint8_t kb[32];
    uint64_t max_age_ms, skew_ms;
    int max_nodes;
    void (*log)(void *data, int level, const char *line);
    void *log_data;
    pthread_t th;
    /* listener thread only */
    seen_t seen[DS_DISC_REPLAY_CAP];
    size_t nseen;
    int added_nodes;
    char names[DISC_NAMES][WEFT_NODE_NAME_MAX]; /* nodes hinted: added or listed already */
    int nnames;
    int64_t last_log[R_COUNT];
    /* counters: written by the listener, read by any thread */
    atomic_uint_fast64_t received, accepted, added, known, reasons[R_COUNT];
    pthread_mutex_t mu;    /* last_reject */
    char last_reject[256];
};

static void disc_log(ds_disc_t *d, int reason, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void disc_log(ds_disc_t *d, int reason, int level, const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (reason >= 0) {
        pthread_mutex_lock(&d->mu);
        snprintf(d->last_reject, sizeof d->last_reject, "%s", line);
        pthread_mutex_unlock(&d->mu);
        int64_t now = wf_now_ns();
        if (d->last_log[reason] && now - d->last_log[reason] < 1000000000) return; /* rate */
        d->last_log[reason] = now;
    }
    if (d->log) d->log(d->log_data, level, line);
}

static void count(ds_disc_t *d, int reason) {
    atomic_fetch_add_explicit(&d->reasons[reason], 1, memory_order_relaxed); /* a count only */
}

/* 1 when mac was seen (a replay); else remembers it (0), or -1 when the
 * cache is full of beacons still within their window. */
static int replay_check(ds_disc_t *d, const uint8_t *mac, uint64_t now_ms) {
    size_t w = 0;
    int hit = 0;
    for (size_t i = 0; i < d->nseen; i++) {
        if (d->seen[i].until_ms < now_ms) continue; /* expired: dropped */
        if (!CRYPTO_memcmp(d->seen[i].mac, mac, 16)) hit = 1;
        d->seen[w++] = d->seen[i];
    }
    d->nseen = w;
    if (hit) return 1;
    if (d->nseen == DS_DISC_REPLAY_CAP) return -1;
    memcpy(d->seen[d->nseen].mac, mac, 16);
    d->seen[d->nseen].until_ms = now_ms + d->max_age_ms + d->skew_ms;
    d->nseen++;
    return 0;
}

static void handle(ds_disc_t *d, const uint8_t *p, size_t n, size_t real_n,
                   const struct sockaddr_storage *from) {
    char src[INET6_ADDRSTRLEN + 8] = "?";
    int sport = 0;
    if (from->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)from;
        inet_ntop(AF_INET, &s4->sin_addr, src, sizeof src);
        sport = ntohs(s4->sin_port);
    }
    ds_beacon_t b;
    int r = real_n != n ? DS_BCN_MALFORMED : ds_beacon_parse(d->kb, p, n, &b);
    if (r != DS_BCN_OK) {
        int reason = r == DS_BCN_FORGED ? R_FORGED : r == DS_BCN_VERSION ? R_VERSION : R_MALFORMED;
        count(d, reason);
        char ex[80];
        ds_sanitize(p, n < 16 ? n : 16, ex, sizeof ex);
        disc_log(d, reason, WEFT_LOG_WARN, "beacon from %s:%d ignored: %s (%zu bytes: \"%s\")",
                 src, sport, reason_text[reason], real_n, ex);
        return;
    }
    uint64_t now = ds_wall_ms();
    int reason = -1;
    if (now > d->max_age_ms && b.ts_ms < now - d->max_age_ms) reason = R_STALE; /* no wrap */
    else if (b.ts_ms > now + d->skew_ms) reason = R_FUTURE;
    else {
        int rp = replay_check(d, b.mac, now);
        if (rp) reason = rp > 0 ? R_REPLAYED : R_OVER_CAP;
    }
    char node[WEFT_NODE_NAME_MAX];
    const char *h = b.host[0] ? b.host : src;
    if (strchr(h, ':')) snprintf(node, sizeof node, "[%s]:%u", h, b.port);
    else snprintf(node, sizeof node, "%s:%u", h, b.port);
    if (reason < 0) {
        for (int i = 0; i < d->nnames; i++)
            if (!strcmp(d->names[i], node)) {
                atomic_fetch_add_explicit(&d->accepted, 1, memory_order_relaxed); /* counts */
                atomic_fetch_add_explicit(&d->known, 1, memory_order_relaxed);
                return;
            }
        if (d->added_nodes >= d->max_nodes) reason = R_OVER_CAP;
    }
    if (reason >= 0) {
        count(d, reason);
        disc_log(d, reason, WEFT_LOG_WARN, "beacon from %s:%d (node %s) ignored: %s", src, sport,
                 node, reason_text[reason]);
        return;
    }
    int rc = weft_cluster_add_node(d->c, node);
    if (rc == 0 || rc == WEFT_EEXIST) {
        atomic_fetch_add_explicit(&d->accepted, 1, memory_order_relaxed); /* counts only */
        if (d->nnames < DISC_NAMES) snprintf(d->names[d->nnames++], WEFT_NODE_NAME_MAX, "%s", node);
    }
    if (rc == 0) {
        d->added_nodes++;
        atomic_fetch_add_explicit(&d->added, 1, memory_order_relaxed);
        disc_log(d, -1, WEFT_LOG_INFO, "discovered node %s (beacon from %s:%d)", node, src, sport);
    } else if (rc == WEFT_EEXIST) {
        atomic_fetch_add_explicit(&d->known, 1, memory_order_relaxed);
    } else {
        count(d, R_OVER_CAP);
        disc_log(d, R_OVER_CAP, WEFT_LOG_WARN, "beacon from %s:%d: node %s not added: %s", src,
                 sport, node, weft_strerror(rc));
    }
}

static void *disc_main(void *arg) {
    ds_disc_t *d = arg;
    struct pollfd pf[2] = {{d->fd, POLLIN, 0}, {d->efd, POLLIN, 0}};
    uint8_t buf[DS_BEACON_MAX + 1];
    for (;;) {
        int k = poll(pf, 2, 1000);
        if (k < 0 && errno != EINTR) break;
        if (pf[1].revents) break; /* stop */
        if (k <= 0 || !(pf[0].revents & POLLIN)) continue;
        /* at most 64 datagrams per turn, then look at stop again */
        for (int i = 0; i < 64; i++) {
            struct sockaddr_storage from;
            socklen_t fl = sizeof from;
            ssize_t r = recvfrom(d->fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC,
                                 (struct sockaddr *)&from, &fl);
            if (r < 0) break;
            atomic_fetch_add_explicit(&d->received, 1, memory_order_relaxed);
            size_t n = (size_t)r < sizeof buf ? (size_t)r : sizeof buf;
            handle(d, buf, n, (size_t)r, &from);
        }
    }
    return NULL;
}

int ds_disc_start(weft_cluster_t *c, const weft_cluster_opts_t *o, const uint8_t *psk,
                  size_t psk_len, ds_disc_t **out) {
    *out = NULL;
    if (!(o->discover_max_age_s > 0 && o->discover_max_age_s <= 3600) ||
        !(o->discover_skew_s >= 0 && o->discover_skew_s <= 3600) || o->discover_max_nodes < 1 ||
        o->discover_max_nodes > 64) {
        wf_set_detail("discovery options out of range (max age 0..3600 s, skew 0..3600 s, "
                      "max nodes 1..64)");
        return WEFT_EINVAL;
    }
    struct sockaddr_in sa;
    int rc = parse_udp("discover address", o->discover, &sa);
    if (rc) return rc;
    unsigned ifindex = 0;
    if (o->discover_if && *o->discover_if && !(ifindex = if_nametoindex(o->discover_if))) {
        wf_set_detail("discover interface '%.64s': %s", o->discover_if, strerror(errno));
        return WEFT_EINVAL;
    }
    ds_disc_t *d = wf_calloc(1, sizeof *d);
    if (!d) return WEFT_ENOMEM;
    d->c = c;
    d->fd = d->efd = -1;
    d->max_age_ms = (uint64_t)(o->discover_max_age_s * 1000);
    d->skew_ms = (uint64_t)(o->discover_skew_s * 1000);
    d->max_nodes = o->discover_max_nodes;
    d->log = o->discover_log;
    d->log_data = o->discover_log_data;
    rc = ds_beacon_key(psk, psk_len, d->kb);
    if (!rc) {
        d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (d->fd < 0 || d->efd < 0) {
            wf_set_detail("discover socket: %s", strerror(errno));
            rc = WEFT_EIO;
        }
    }
    if (!rc) {
        int one = 1; /* several listeners on one host each get broadcasts and groups */
        setsockopt(d->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in b = sa;
        if (is_multicast(&sa)) {
            /* bound to the group, so unicast to the port is not taken */
            struct ip_mreqn m;
            memset(&m, 0, sizeof m);
            m.imr_multiaddr = sa.sin_addr;
            m.imr_ifindex = (int)ifindex;
            if (bind(d->fd, (struct sockaddr *)&b, sizeof b) ||
                setsockopt(d->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m)) {
                wf_set_detail("discover on %.200s: %s", o->discover, strerror(errno));
                rc = WEFT_EIO;
            }
        } else {
            if (ifindex && setsockopt(d->fd, SOL_SOCKET, SO_BINDTODEVICE, o->discover_if,
                                      (socklen_t)strlen(o->discover_if))) {
                wf_set_detail("discover interface '%.64s': %s", o->discover_if, strerror(errno));
                rc = WEFT_EIO;
            } else if (bind(d->fd, (struct sockaddr *)&b, sizeof b)) {
                wf_set_detail("discover on %.200s: %s", o->discover, strerror(errno));
                rc = WEFT_EIO;
            }
        }
    }
    if (!rc) {
        struct sockaddr_in got;
        socklen_t gl = sizeof got;
        getsockname(d->fd, (struct sockaddr *)&got, &gl);
        d->port = ntohs(got.sin_port);
        for (int i = 0; i < R_COUNT; i++) atomic_init(&d->reasons[i], 0);
        atomic_init(&d->received, 0);
        atomic_init(&d->accepted, 0);
        atomic_init(&d->added, 0);
        atomic_init(&d->known, 0);
        pthread_mutex_init(&d->mu, NULL);
        if (pthread_create(&d->th, NULL, disc_main, d)) {
            pthread_mutex_destroy(&d->mu);
            wf_set_detail("cannot start the discovery thread");
            rc = WEFT_ESYSTEM;
        }
    }
    if (rc) {
        if (d->fd >= 0) close(d->fd);
        if (d->efd >= 0) close(d->efd);
        OPENSSL_cleanse(d->kb, sizeof d->kb);
        wf_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int ds_disc_port(const ds_disc_t *d) { return d ? d->port : 0; }

void ds_disc_stats(ds_disc_t *d, weft_discover_stats_t *st) {
    memset(st, 0, sizeof *st);
    st->port = d->port;
    st->received = atomic_load_explicit(&d->received, memory_order_relaxed);
    st->accepted = atomic_load_explicit(&d->accepted, memory_order_relaxed);
    st->added = atomic_load_explicit(&d->added, memory_order_relaxed);
    st->known = atomic_load_explicit(&d->known, memory_order_relaxed);
    st->malformed = atomic_load_explicit(&d->reasons[R_MALFORMED], memory_order_relaxed);
    st->forged = atomic_load_explicit(&d->reasons[R_FORGED], memory_order_relaxed);
    st->version = atomic_load_explicit(&d->reasons[R_VERSION], memory_order_relaxed);
    st->stale = atomic_load_explicit(&d->reasons[R_STALE], memory_order_relaxed);
    st->future = atomic_load_explicit(&d->reasons[R_FUTURE], memory_order_relaxed);
    st->replayed = atomic_load_explicit(&d->reasons[R_REPLAYED], memory_order_relaxed);
    st->over_cap = atomic_load_explicit(&d->reasons[R_OVER_CAP], memory_order_relaxed);
    pthread_mutex_lock(&d->mu);
    snprintf(st->last_reject, sizeof st->last_reject, "%s", d->last_reject);
    pthread_mutex_unlock(&d->mu);
}

void ds_disc_stop(ds_disc_t *d) {
    if (!d) return;
    uint64_t one = 1;
    if (write(d->efd, &one, sizeof one) != (ssize_t)sizeof one) abort(); /* eventfd: cannot fail */
    pthread_join(d->th, NULL);
    pthread_mutex_destroy(&d->mu);
    close(d->fd);
    close(d->efd);
    OPENSSL_cleanse(d->kb, sizeof d->kb);
    wf_free(d);
}

int weft_cluster_discover_stats(weft_cluster_t *c, weft_discover_stats_t *st) {
    if (!c || !st) return WEFT_EINVAL;
    ds_disc_t *d = ds_cluster_disc(c);
    if (!d) {
        wf_set_detail("discovery is off for this cluster (no discover option)");
        return WEFT_ENOENT;
    }
    ds_disc_stats(d, st);
    return 0;
}
