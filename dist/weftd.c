/* weftd: the weft node daemon. Runs a weft runtime and serves the named
 * tasks of its plugins and weft's built-in tasks to authenticated clients
 * (dist/PROTOCOL.md). See `weftd --help` and dist/README.md.
 *
 * Plugins: --load FILE.so loads FILE (weft_plugin_load) and calls its
 *     int weft_plugin_init(void);
 * which registers tasks with weft_task_register and returns 0 (nonzero
 * stops weftd with an error). examples/plugin/ is one.
 *
 * Signals: SIGTERM and SIGINT drain (running tasks finish and their
 * results go out, new ones are refused so clients send them elsewhere)
 * and exit 0; a second one exits at once. SIGHUP reopens the log file. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "weftd_python.h"

#define MAX_PLUGINS 64

typedef struct config {
    char listen[300];
    char secret[4096];
    char log_file[4096];
    char *plugins[MAX_PLUGINS];
    int nplugins;
    int workers;
    int log_level;
    int max_unauth;
    double handshake_timeout, dead_after;
    size_t max_bytes;
    int print_port;
    char announce[300], announce_if[64], announce_host[256];
    double announce_interval;
    int python;                /* --python N: Python worker processes (weftd_python.c) */
    char python_exe[4096];
} config_t;

static weft_server_t *g_server;
static volatile sig_atomic_t g_signals;
static FILE *g_log;
static config_t g_cfg;

static void usage(FILE *out) {
    fprintf(out,
            "usage: weftd [options]\n"
            "Serves weft's registered tasks to clients over authenticated, encrypted TCP.\n"
            "\n"
            "  --listen HOST:PORT     address to listen on (default 127.0.0.1:%d; port 0: any\n"
            "                         free port). An address outside loopback needs a key of\n"
            "                         your own (--secret-file, WEFT_SECRET_FILE or a systemd\n"
            "                         credential), else weftd refuses to start.\n"
            "  --secret-file FILE     key file (>= 32 bytes, mode 0600). Default: WEFT_SECRET_FILE,\n"
            "                         $CREDENTIALS_DIRECTORY/weft-secret, else the user key\n"
            "                         ~/.config/weft/secret (made when missing)\n"
            "  --workers N            worker threads (0: automatic, the default)\n"
            "  --load FILE.so         load a plugin: calls its weft_plugin_init() (repeatable)\n"
            "  --config FILE          read options from FILE (\"key = value\" lines, the long\n"
            "                         option names without dashes; flags given here win)\n"
            "  --log-level LEVEL      error, warn, info (default) or debug\n"
            "  --log-file FILE        log there instead of stderr (SIGHUP reopens it)\n"
            "  --max-unauth N         connections authenticating at once (default 64)\n"
            "  --handshake-timeout S  seconds a client has to authenticate (default 5)\n"
            "  --dead-after S         a silent client is dropped after S seconds (default 10)\n"
            "  --max-bytes N          longest argument accepted (default 1 GiB)\n"
            "  --print-port           print \"port N\" on stdout once listening\n"
            "  --announce ADDR:PORT   send discovery beacons there by UDP (off by default): an\n"
            "                         IPv4 unicast, broadcast or multicast address, e.g.\n"
            "                         239.255.77.1:%d; TTL 1. Beacons carry this node's port,\n"
            "                         address, time and an HMAC under a key derived from the\n"
            "                         secret; clients only take them as hints (see\n"
            "                         dist/PROTOCOL.md). Outside loopback needs a key of yours\n"
            "  --announce-if IFNAME   interface to send beacons on (multicast, broadcast)\n"
            "  --announce-interval S  seconds between beacons (default 1)\n"
            "  --announce-host ADDR   IP address put in beacons (default: the listen address,\n"
            "                         or none for 0.0.0.0: clients use the source address)\n"
            "  --python N             run Python jobs (weft.Runtime(nodes=...)) in N worker\n"
            "                         processes (python -m weft._procworker; weft must be\n"
            "                         importable there, e.g. through PYTHONPATH)\n"
            "  --python-exe PATH      the Python of those processes (default: python3)\n"
            "  --help, --version\n",
            WEFT_DIST_PORT, WEFT_DIST_DISCOVER_PORT);
}

static int level_of(const char *s) {
    if (!strcmp(s, "error")) return WEFT_LOG_ERROR;
    if (!strcmp(s, "warn")) return WEFT_LOG_WARN;
    if (!strcmp(s, "info")) return WEFT_LOG_INFO;
    if (!strcmp(s, "debug")) return WEFT_LOG_DEBUG;
    return -1;
}

static int parse_num(const char *key, const char *v, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= lo && d <= hi)) {
        fprintf(stderr, "weftd: %s: '%s' is not a number in [%g, %g]\n", key, v, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

/* One option (from the command line or the config file). */
static int set_option(config_t *c, const char *key, const char *v) {
    double d;
    if (!strcmp(key, "listen")) {
        snprintf(c->listen, sizeof c->listen, "%s", v);
    } else if (!strcmp(key, "secret-file")) {
        snprintf(c->secret, sizeof c->secret, "%s", v);
    } else if (!strcmp(key, "log-file")) {
        snprintf(c->log_file, sizeof c->log_file, "%s", v);
    } else if (!strcmp(key, "load")) {
        if (c->nplugins == MAX_PLUGINS) {
            fprintf(stderr, "weftd: at most %d plugins\n", MAX_PLUGINS);
            return -1;
        }
        c->plugins[c->nplugins++] = strdup(v);
    } else if (!strcmp(key, "workers")) {
        if (parse_num(key, v, 0, WEFT_MAX_WORKERS, &d)) return -1;
        c->workers = (int)d;
    } else if (!strcmp(key, "log-level")) {
        if ((c->log_level = level_of(v)) < 0) {
            fprintf(stderr, "weftd: log-level: '%s': use error, warn, info or debug\n", v);
            return -1;
        }
    } else if (!strcmp(key, "max-unauth")) {
        if (parse_num(key, v, 1, 100000, &d)) return -1;
        c->max_unauth = (int)d;
    } else if (!strcmp(key, "handshake-timeout")) {
        if (parse_num(key, v, 0.001, 3600, &c->handshake_timeout)) return -1;
    } else if (!strcmp(key, "dead-after")) {
        if (parse_num(key, v, 0.01, 86400, &c->dead_after)) return -1;
    } else if (!strcmp(key, "announce")) {
        snprintf(c->announce, sizeof c->announce, "%s", v);
    } else if (!strcmp(key, "announce-if")) {
        snprintf(c->announce_if, sizeof c->announce_if, "%s", v);
    } else if (!strcmp(key, "announce-host")) {
        snprintf(c->announce_host, sizeof c->announce_host, "%s", v);
    } else if (!strcmp(key, "announce-interval")) {
        if (parse_num(key, v, 0.01, 3600, &c->announce_interval)) return -1;
    } else if (!strcmp(key, "python")) {
        if (parse_num(key, v, 0, 256, &d)) return -1;
        c->python = (int)d;
    } else if (!strcmp(key, "python-exe")) {
        snprintf(c->python_exe, sizeof c->python_exe, "%s", v);
    } else if (!strcmp(key, "max-bytes")) {
        if (parse_num(key, v, 1, (double)((size_t)1 << 40), &d)) return -1;
        c->max_bytes = (size_t)d;
    } else {
        fprintf(stderr, "weftd: unknown option '%s'\n", key);
        return -1;
    }
    return 0;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) *--e = 0;
    return s;
}

static int read_config(config_t *c, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "weftd: config %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[4200];
    int no = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        no++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "weftd: config %s line %d: expected key = value\n", path, no);
            rc = -1;
            break;
        }
        *eq = 0;
        char *k = trim(s), *v = trim(eq + 1);
        if (set_option(c, k, v)) {
            fprintf(stderr, "weftd: (config %s line %d)\n", path, no);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

static void on_signal(int sig) {
    if (!g_server) return;
    if (sig == SIGHUP) {
        weft_server_reopen_log(g_server);
        return;
    }
    g_signals++;
    weft_server_stop(g_server, g_signals == 1);
}

static void log_line(void *data, int level, const char *line) {
    (void)data;
    if (!strcmp(line, "reopen")) {
        if (g_cfg.log_file[0]) {
            FILE *f = fopen(g_cfg.log_file, "a");
            if (f) {
                if (g_log && g_log != stderr) fclose(g_log);
                g_log = f;
                setvbuf(g_log, NULL, _IOLBF, 0);
            }
        }
        return;
    }
    static const char *names[] = {"error", "warn", "info", "debug"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(g_log ? g_log : stderr, "%s.%03ldZ weftd[%d] %s: %s\n", when, ts.tv_nsec / 1000000,
            (int)getpid(), names[level & 3], line);
}

int main(int argc, char **argv) {
    config_t *c = &g_cfg;
    memset(c, 0, sizeof *c);
    c->log_level = WEFT_LOG_INFO;
    c->max_unauth = 64;
    c->handshake_timeout = 5;
    c->dead_after = 10;
    c->max_bytes = WEFT_DIST_MAX_BYTES;
    c->announce_interval = 1;
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:%d", WEFT_DIST_PORT);
    /* first the config file, then every flag over it */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("weftd %s (weft protocol %d)\n", weft_version(), WEFT_DIST_PROTOCOL);
            return 0;
        }
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "weftd: --config needs a file\n");
                return 2;
            }
            if (read_config(c, argv[i + 1])) return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strcmp(a, "--print-port")) {
            c->print_port = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "weftd: unexpected argument '%s' (see --help)\n", a);
            return 2;
        }
        const char *key = a + 2, *eq = strchr(key, '=');
        char k[64];
        const char *v;
        if (eq) {
            snprintf(k, sizeof k, "%.*s", (int)(eq - key), key);
            v = eq + 1;
        } else {
            if (i + 1 >= argc) {
                fprintf(stderr, "weftd: %s needs a value (see --help)\n", a);
                return 2;
            }
            snprintf(k, sizeof k, "%s", key);
            v = argv[++i];
        }
        if (set_option(c, k, v)) return 2;
    }
    if (c->log_file[0]) {
        g_log = fopen(c->log_file, "a");
        if (!g_log) {
            fprintf(stderr, "weftd: log file %s: %s\n", c->log_file, strerror(errno));
            return 1;
        }
        setvbuf(g_log, NULL, _IOLBF, 0);
    }
    weft_tasks_register_builtin();
    for (int i = 0; i < c->nplugins; i++) {
        int rc = weft_plugin_load(c->plugins[i]); /* the loader every tool shares */
        if (rc) {
            const char *why = weft_error_detail();
            fprintf(stderr, "weftd: %s\n", *why ? why : weft_strerror(rc));
            return 1;
        }
    }
    if (c->python > 0) {
        int prc = weftd_python_start(c->python, c->python_exe);
        if (prc) {
            fprintf(stderr, "weftd: --python: %s: %s\n", weft_strerror(prc), weft_error_detail());
            return 1;
        }
    }
    weft_server_opts_t o;
    weft_server_opts_init(&o);
    o.listen = c->listen;
    o.secret_file = c->secret[0] ? c->secret : NULL;
    o.workers = c->workers;
    o.log_level = c->log_level;
    o.log = log_line;
    o.max_unauth = c->max_unauth;
    o.handshake_timeout_s = c->handshake_timeout;
    o.dead_after_s = c->dead_after;
    o.max_bytes = c->max_bytes;
    o.announce = c->announce[0] ? c->announce : NULL;
    o.announce_if = c->announce_if[0] ? c->announce_if : NULL;
    o.announce_host = c->announce_host[0] ? c->announce_host : NULL;
    o.announce_interval_s = c->announce_interval;
    int rc = weft_server_create(&o, &g_server);
    if (rc) {
        fprintf(stderr, "weftd: cannot start: %s: %s\n", weft_strerror(rc), weft_error_detail());
        weftd_python_stop();
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (c->announce[0]) {
        char line[512];
        snprintf(line, sizeof line, "announcing port %d to %.300s every %g s", weft_server_port(g_server),
                 c->announce, c->announce_interval);
        if (c->log_level >= WEFT_LOG_INFO) log_line(NULL, WEFT_LOG_INFO, line);
    }
    if (c->print_port) {
        printf("port %d\n", weft_server_port(g_server));
        fflush(stdout);
    }
    rc = weft_server_run(g_server);
    weft_server_t *s = g_server;
    g_server = NULL;
    weft_server_free(s);
    weftd_python_stop(); /* after the server: its deferred nodes need the pool */
    for (int i = 0; i < c->nplugins; i++) free(c->plugins[i]);
    if (g_log && g_log != stderr) fclose(g_log);
    return rc ? 1 : 0;
}
