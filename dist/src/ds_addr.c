/* ds_addr.c: node strings ("host:port", "[v6]:port", "host", and
 * "unix:/path" for local processes) and the loopback test behind weftd's
 * refusal to listen publicly without a key the user supplied. A Unix
 * socket counts as loopback: only this machine can reach it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ds.h"

int ds_addr_parse(const char *s, int default_port, ds_addr_t *a) {
    if (!s || !*s) return WEFT_EINVAL;
    if (!strncmp(s, "unix:", 5)) {
        const char *path = s + 5;
        size_t pl = strlen(path);
        struct sockaddr_un sun;
        if (path[0] != '/' || pl >= sizeof sun.sun_path) return WEFT_EINVAL;
        for (size_t i = 0; i < pl; i++)
            if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) return WEFT_EINVAL;
        memcpy(a->host, path, pl + 1);
        a->port = 0;
        a->is_unix = 1;
        return 0;
    }
    a->is_unix = 0;
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

unsigned ds_addr_unix(const ds_addr_t *a, struct sockaddr_un *sun) {
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    size_t pl = strlen(a->host);
    memcpy(sun->sun_path, a->host, pl); /* fits: checked by ds_addr_parse */
    return (unsigned)(offsetof(struct sockaddr_un, sun_path) + pl + 1);
}

void ds_addr_format(const ds_addr_t *a, char *out, size_t size) {
    if (a->is_unix) snprintf(out, size, "unix:%s", a->host);
    else if (strchr(a->host, ':')) snprintf(out, size, "[%s]:%d", a->host, a->port);
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
