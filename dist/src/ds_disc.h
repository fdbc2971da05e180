/* ds_disc.h: discovery beacons (dist/PROTOCOL.md section 8). Internal.
 *
 * A node that is asked to (weft_server_opts_t.announce, weftd --announce)
 * sends a beacon by UDP every announce_interval_s; a cluster that is asked
 * to (weft_cluster_opts_t.discover) listens for them on a thread of its
 * own. A beacon is a hint, nothing more: a good one makes the cluster call
 * weft_cluster_add_node, and the connection then authenticates as every
 * connection does. The beacon key is HKDF(PSK, "weft beacon v1"), never
 * the key itself. */
#ifndef DS_DISC_H
#define DS_DISC_H

#include <stddef.h>
#include <stdint.h>

#include "weft/dist.h"

#define DS_BEACON_FIXED 26 /* bytes before the host */
#define DS_BEACON_MAC 32
#define DS_BEACON_HOST_MAX 255
#define DS_BEACON_MIN (DS_BEACON_FIXED + DS_BEACON_MAC)
#define DS_BEACON_MAX (DS_BEACON_FIXED + DS_BEACON_HOST_MAX + DS_BEACON_MAC)
#define DS_BEACON_FORMAT 1
#define DS_DISC_REPLAY_CAP 1024 /* beacons remembered for replay checks */

/* ds_beacon_parse results */
enum {
    DS_BCN_OK = 0,
    DS_BCN_MALFORMED = 1, /* size, magic, format, reserved bytes, host, port */
    DS_BCN_FORGED = 2,    /* HMAC does not match */
    DS_BCN_VERSION = 3    /* no protocol version in common */
};

typedef struct ds_beacon {
    uint8_t vmin, vmax;
    uint16_t port;
    uint64_t ts_ms;      /* sender's clock, ms since the Unix epoch */
    uint8_t nonce[8];
    char host[DS_BEACON_HOST_MAX + 1]; /* "" : the datagram's source address */
    uint8_t mac[DS_BEACON_MAC];
} ds_beacon_t;

/* The beacon key: HKDF-SHA256(salt = "", ikm = psk, info = "weft beacon
 * v1"), 32 bytes. 0 or WEFT_ESYSTEM. */
int ds_beacon_key(const uint8_t *psk, size_t psk_len, uint8_t kb[32]);

/* Writes a beacon into out (room for DS_BEACON_MAX) and returns its size,
 * or 0 when host is longer than DS_BEACON_HOST_MAX. Tests pass other
 * versions, times and nonces than a node would. */
size_t ds_beacon_encode(const uint8_t kb[32], uint8_t vmin, uint8_t vmax, uint16_t port,
                        const char *host, uint64_t ts_ms, const uint8_t nonce[8], uint8_t *out);

/* Checks a datagram's structure, then its HMAC (constant time), then what
 * it says: DS_BCN_* above; *b is filled only on DS_BCN_OK. Never reads
 * past p + n. The time and replay rules are the listener's (ds_disc_*). */
int ds_beacon_parse(const uint8_t kb[32], const uint8_t *p, size_t n, ds_beacon_t *b);

/* Wall clock, ms since the Unix epoch (beacon time stamps). */
uint64_t ds_wall_ms(void);

/* The announcer of a node: a thread that sends beacons until stopped. */
typedef struct ds_announce ds_announce_t;
/* Starts it: to "ADDR:PORT" (IPv4: unicast, broadcast or a multicast
 * group), ifname (may be NULL) the interface for multicast and broadcast,
 * host the address put in beacons ("" for none), port the node's TCP port.
 * Errors (detail set): WEFT_EINVAL, WEFT_EIO (socket), WEFT_ESYSTEM. */
int ds_announce_start(const char *to, const char *ifname, double interval_s, const char *host,
                      int port, const uint8_t *psk, size_t psk_len, ds_announce_t **out);
/* A server's announcer from its options (announce, announce_if,
 * announce_interval_s, announce_host): listen_host is the address it
 * listens on, user_key 1 when its key is the automatically made one
 * (then a destination outside loopback is refused: WEFT_EPERM). */
int ds_announce_server(const weft_server_opts_t *o, const char *listen_host, int port,
                       int user_key, const uint8_t *psk, size_t psk_len, ds_announce_t **out);
/* Beacons sent and sends that failed. */
void ds_announce_counts(const ds_announce_t *a, uint64_t *sent, uint64_t *errors);
/* Stops the thread and frees; NULL is fine. */
void ds_announce_stop(ds_announce_t *a);

/* The listener of a cluster. */
typedef struct ds_disc ds_disc_t;
/* Starts a thread that listens as o->discover asks and adds good hints to
 * c with weft_cluster_add_node. Errors (detail set): WEFT_EINVAL,
 * WEFT_EIO, WEFT_ESYSTEM. */
int ds_disc_start(weft_cluster_t *c, const weft_cluster_opts_t *o, const uint8_t *psk,
                  size_t psk_len, ds_disc_t **out);
/* The UDP port it listens on (the real one when 0 was asked for). */
int ds_disc_port(const ds_disc_t *d);
void ds_disc_stats(ds_disc_t *d, weft_discover_stats_t *st);
/* Stops the thread and frees; NULL is fine. */
void ds_disc_stop(ds_disc_t *d);

/* The cluster's listener (ds_cluster.c), NULL when discovery is off. */
ds_disc_t *ds_cluster_disc(weft_cluster_t *c);

#endif
