/* ds_addr.c: node strings ("host:port", "[v6]:port", "host") and the
 * loopback test behind weftd's refusal to listen publicly without a key
 * the user supplied. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "ds.h"

int ds_addr_parse(const char *s, int default_port, ds_addr_t *a) {
    if (!s || !*s) return WEFT_EINVAL;
    size_t n = strlen(s);
    const char *host = s, *port = NULL;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close) return WEFT_EINVAL;
        host = s + 1;
        hlen = (size_t)(close - host);
        if (close[1] == ':') port = close + 2;
        else if (close[1]) return WEFT_EINVAL;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon) return WEFT_EINVAL; /* bare v6: use brackets */
        hlen = colon ? (size_t)(colon - s) : n;
        if (colon) port = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof a->host) return WEFT_EINVAL;
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == '[' || c == ']') return WEFT_EINVAL;
    }
    long p = default_port;
    if (port) {
        if (!*port || strlen(port) > 5) return WEFT_EINVAL;
        char *end;
        p = strtol(port, &end, 10);
        if (*end || p < 0 || p > 65535) return WEFT_EINVAL;
    }
    memcpy(a->host, host, hlen);
    a->host[hlen] = 0;
    a->port = (int)p;
    return 0;
}

void ds_addr_format(const ds_addr_t *a, char *out, size_t size) {
    if (strchr(a->host, ':')) snprintf(out, size, "[%s]:%d", a->host, a->port);
    else snprintf(out, size, "%s:%d", a->host, a->port);
}

static int sa_loopback(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return 1;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

int ds_addr_is_loopback(const char *host) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, NULL, &hints, &res) || !res) return 0;
    int all = 1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (!sa_loopback(ai->ai_addr)) all = 0;
    freeaddrinfo(res);
    return all;
}
