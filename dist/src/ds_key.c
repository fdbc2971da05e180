/* ds_key.c: key files (PROTOCOL.md section 2). A key file is a regular
 * file of 32..1024 bytes (a trailing newline is not part of the key) that
 * neither group nor others may read or write. The user's key is made by a
 * node when none exists: 32 bytes from RAND_bytes as 64 hex digits, 0600,
 * created with O_EXCL (two nodes starting at once agree on one key). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ds.h"

int weft_dist_key_path(const char *explicit_path, char *path, size_t size,
                       weft_key_source_t *source) {
    if (!path || !size) return WEFT_EINVAL;
    const char *env;
    int n;
    weft_key_source_t src;
    if (explicit_path && *explicit_path) {
        src = WEFT_KEY_EXPLICIT;
        n = snprintf(path, size, "%s", explicit_path);
    } else if ((env = getenv("WEFT_SECRET_FILE")) && *env) {
        src = WEFT_KEY_ENV;
        n = snprintf(path, size, "%s", env);
    } else if ((env = getenv("CREDENTIALS_DIRECTORY")) && *env) {
        src = WEFT_KEY_CREDENTIAL;
        n = snprintf(path, size, "%s/weft-secret", env);
    } else {
        src = WEFT_KEY_USER;
        if ((env = getenv("XDG_CONFIG_HOME")) && *env == '/') {
            n = snprintf(path, size, "%s/weft/secret", env);
        } else if ((env = getenv("HOME")) && *env) {
            n = snprintf(path, size, "%s/.config/weft/secret", env);
        } else {
            wf_set_detail("no key file: set WEFT_SECRET_FILE, pass a secret file, or set HOME");
            return WEFT_ENOENT;
        }
    }
    if (n < 0 || (size_t)n >= size) {
        wf_set_detail("key file path too long");
        return WEFT_ERANGE;
    }
    if (source) *source = src;
    return 0;
}

/* mkdir -p for the parent of path, new directories 0700. */
static int make_parents(const char *path) {
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir) return WEFT_ERANGE;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(dir, 0700) && errno != EEXIST) return WEFT_EIO;
        *p = '/';
    }
    if (mkdir(dir, 0700) && errno != EEXIST) return WEFT_EIO;
    return 0;
}

int weft_dist_key_create(const char *path) {
    if (!path || !*path) return WEFT_EINVAL;
    if (make_parents(path)) {
        wf_set_detail("key file %s: cannot create its directory: %s", path, strerror(errno));
        return WEFT_EIO;
    }
    uint8_t raw[32];
    char hex[65];
    if (RAND_bytes(raw, sizeof raw) != 1) return WEFT_ESYSTEM;
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    OPENSSL_cleanse(raw, sizeof raw);
    hex[64] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        OPENSSL_cleanse(hex, sizeof hex);
        if (e == EEXIST) return WEFT_EEXIST;
        wf_set_detail("key file %s: cannot create: %s", path, strerror(e));
        return WEFT_EIO;
    }
    int rc = 0;
    if (fchmod(fd, 0600) || write(fd, hex, 65) != 65 || fsync(fd)) {
        wf_set_detail("key file %s: cannot write: %s", path, strerror(errno));
        rc = WEFT_EIO;
    }
    OPENSSL_cleanse(hex, sizeof hex);
    close(fd);
    if (rc) unlink(path);
    return rc;
}

/* Reads and checks one key file. */
static int read_key(const char *path, uint8_t *key, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        wf_set_detail("key file %s: %s", path, strerror(e));
        return e == ENOENT ? WEFT_ENOENT : e == EACCES ? WEFT_EPERM : WEFT_EIO;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        close(fd);
        wf_set_detail("key file %s: %s", path, strerror(errno));
        return WEFT_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        wf_set_detail("key file %s is not a regular file", path);
        return WEFT_EPERM;
    }
    if (st.st_mode & 077) {
        close(fd);
        wf_set_detail("key file %s is accessible by group or others (mode %04o): "
                      "refused; run chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
        return WEFT_EPERM;
    }
    uint8_t buf[DS_KEY_MAX + 3];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            close(fd);
            OPENSSL_cleanse(buf, sizeof buf);
            wf_set_detail("key file %s: %s", path, strerror(errno));
            return WEFT_EIO;
        }
        if (r == 0 || (n += (size_t)r) == sizeof buf) break;
    }
    close(fd);
    if (n && buf[n - 1] == '\n') n--;
    if (n && buf[n - 1] == '\r') n--;
    int rc = 0;
    if (n < DS_KEY_MIN) {
        wf_set_detail("key file %s holds %zu bytes: a key needs at least %d "
                      "(e.g. openssl rand -hex 32 > FILE)", path, n, DS_KEY_MIN);
        rc = WEFT_EPARSE;
    } else if (n > DS_KEY_MAX) {
        wf_set_detail("key file %s is longer than %d bytes", path, DS_KEY_MAX);
        rc = WEFT_EPARSE;
    } else {
        memcpy(key, buf, n);
        *len = n;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

int ds_key_load(const char *explicit_path, int create, uint8_t *key, size_t *len,
                weft_key_source_t *source, char *path, size_t path_size) {
    weft_key_source_t src;
    int rc = weft_dist_key_path(explicit_path, path, path_size, &src);
    if (rc) return rc;
    if (source) *source = src;
    rc = read_key(path, key, len);
    if (rc == WEFT_ENOENT && src == WEFT_KEY_USER) {
        if (!create) {
            wf_set_detail("no key: %s does not exist (a local weftd creates it; or pass a "
                          "secret file, or set WEFT_SECRET_FILE)", path);
            return WEFT_ENOENT;
        }
        rc = weft_dist_key_create(path);
        if (rc && rc != WEFT_EEXIST) return rc;
        rc = read_key(path, key, len);
    }
    return rc;
}
