/*
 * attrib serve: the IHC API on a local port, answered by the local engine.
 * SIGTERM and SIGINT are blocked before the server's threads start (so they
 * inherit the mask) and taken with sigwait: the server then stops cleanly,
 * answering the requests in progress.
 */
#include "commands.h"
#include "msgs.h"

#include "attrib/serve.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/*
 * The connection options, and room for them in the open-file limit: the soft
 * limit is raised (up to the hard limit) so max_connections fit; what does
 * not fit is capped by the library and said in the start line.
 */
static int serve_limits(const cli_config *cfg, attrib_serve_options *so)
{
    if ((CLI_IS_SET(cfg, max_connections) &&
         (cfg->max_connections < 1 || cfg->max_connections > 1000000)) ||
        (CLI_IS_SET(cfg, max_connections_per_ip) && cfg->max_connections_per_ip > 1000000) ||
        (CLI_IS_SET(cfg, idle_timeout) && (cfg->idle_timeout < 1 || cfg->idle_timeout > 86400)))
        return cli_error_usage("--max-connections must be 1..1000000, --max-connections-per-ip "
                               "0..1000000 and --idle-timeout 1..86400 seconds");
    if (CLI_IS_SET(cfg, max_connections))
        so->max_connections = (unsigned)cfg->max_connections;
    if (CLI_IS_SET(cfg, max_connections_per_ip))
        so->max_connections_per_ip = (unsigned)cfg->max_connections_per_ip;
    if (CLI_IS_SET(cfg, idle_timeout))
        so->idle_timeout = (unsigned)cfg->idle_timeout;
    struct rlimit rl;
    rlim_t want = (rlim_t)so->max_connections + 256; /* threads, store, logs */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl); /* on failure the library caps the connections */
    }
    return CLI_EXIT_OK;
}

/* "HOST:PORT" or "[IPv6]:PORT" into host (NUL-terminated) and port. Exit code. */
static int parse_listen(const char *s, char *host, size_t host_size, uint64_t *port)
{
    const char *h = s, *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return cli_error_usage("--listen '%s': an IPv6 address is written [ADDR]:PORT", s);
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return cli_error_usage("--listen '%s': expected HOST:PORT, e.g. 127.0.0.1:8080", s);
        hl = (size_t)(colon - s);
        if (memchr(s, ':', hl) != NULL)
            return cli_error_usage("--listen '%s': an IPv6 address is written [ADDR]:PORT, "
                                   "e.g. [::1]:8080",
                                   s);
    }
    if (hl == 0)
        return cli_error_usage("--listen '%s': no address before the port", s);
    if (hl >= host_size)
        return cli_error_usage("--listen '%s': the address is too long", s);
    memcpy(host, h, hl);
    host[hl] = '\0';
    const char *p = colon + 1;
    uint64_t v = 0;
    if (*p == '\0')
        return cli_error_usage("--listen '%s': no port after the address", s);
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > 65535)
            return cli_error_usage("--listen '%s': the port is a number 0..65535", s);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > 65535)
        return cli_error_usage("--listen '%s': the port is a number 0..65535", s);
    *port = v;
    return CLI_EXIT_OK;
}

int cmd_serve(cli_config *cfg)
{
    attrib_ctx *ctx = NULL;
    attrib_server *srv = NULL;
    char *key = NULL;
    attrib_run_options ro;
    char host[64];
    uint64_t port = 0;
    int rc = parse_listen(cfg->listen, host, sizeof(host), &port);
    if (rc != CLI_EXIT_OK)
        return rc;
    /* the aliases replace their part of --listen */
    if (CLI_IS_SET(cfg, bind)) {
        if (strlen(cfg->bind) >= sizeof(host))
            return cli_error_usage("--bind '%s' is not an address", cfg->bind);
        snprintf(host, sizeof(host), "%s", cfg->bind);
    }
    if (CLI_IS_SET(cfg, port)) {
        if (cfg->port > 65535)
            return cli_error_usage("--port %llu is not a TCP port", (unsigned long long)cfg->port);
        port = cfg->port;
    }
    rc = cli_run_options(cfg, &ro);
    if (rc != CLI_EXIT_OK)
        return rc;
    if ((CLI_IS_SET(cfg, max_journeys) && cfg->max_journeys < 1) ||
        (CLI_IS_SET(cfg, max_sessions) && cfg->max_sessions < 1))
        return cli_error_usage("--max-journeys-per-request and --max-sessions-per-request must "
                               "be at least 1");
    if (!cfg->no_auth) {
        rc = cli_read_api_key(cfg, &key);
        if (rc != CLI_EXIT_OK)
            return rc;
        if (key == NULL)
            return cli_error_usage("serve needs --api-key-file or $IHC_API_KEY (or --no-auth on "
                                   "a loopback address)");
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    rc = cli_ctx(cfg, &ctx);
    if (rc != CLI_EXIT_OK)
        goto done;
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    attrib_serve_options so = ATTRIB_SERVE_OPTIONS_INIT;
    so.bind_addr = host;
    so.port = (uint16_t)port;
    so.model = ro.model != NULL ? ro.model->name : NULL;
    so.model_opts = &ro.model_opts;
    so.api_key = key;
    so.no_auth = cfg->no_auth;
    if (CLI_IS_SET(cfg, max_journeys))
        so.max_journeys = cfg->max_journeys;
    if (CLI_IS_SET(cfg, max_sessions))
        so.max_sessions = cfg->max_sessions;
    if (cfg->threads > 0)
        so.threads = (unsigned)(cfg->threads > 64 ? 64 : cfg->threads);
    rc = serve_limits(cfg, &so);
    if (rc != CLI_EXIT_OK)
        goto done;
    int lrc = attrib_serve_new(ctx, &so, &srv);
    if (lrc != ATTRIB_OK) {
        rc = cli_fail(ctx, lrc);
        goto done;
    }
    /* the port line goes to stdout, so scripts using --port 0 can read it */
    bool v6 = strchr(host, ':') != NULL;
    printf("listening on http://%s%s%s:%u/v1/compute_ihc\n", v6 ? "[" : "", host, v6 ? "]" : "",
           (unsigned)attrib_serve_port(srv));
    fflush(stdout);
    unsigned max_conns = 0, per_ip = 0;
    attrib_serve_limits(srv, &max_conns, &per_ip);
    cli_notef("serving model %s with caps %llu journeys / %llu sessions per request%s",
              so.model != NULL ? so.model : "ihc", (unsigned long long)so.max_journeys,
              (unsigned long long)so.max_sessions, cfg->no_auth ? " (no auth)" : "");
    char per[64] = "no per-address limit";
    if (per_ip != 0)
        snprintf(per, sizeof(per), "%u per client address", per_ip);
    cli_infof("serve: at most %u connections%s, %s; silent ones closed after %u s", max_conns,
              max_conns < so.max_connections ? " (capped by the open-file limit, ulimit -n)" : "",
              per, so.idle_timeout);
    int sig = 0;
    sigwait(&set, &sig);
    attrib_serve_stats st;
    attrib_serve_get_stats(srv, &st);
    attrib_serve_free(srv);
    srv = NULL;
    cli_infof("attrib serve: stopped by %s after %llu requests (%llu journeys, %llu sessions, "
              "%llu rejected)",
              sig == SIGTERM ? "SIGTERM" : "SIGINT", (unsigned long long)st.requests,
              (unsigned long long)st.journeys, (unsigned long long)st.sessions,
              (unsigned long long)st.rejected);
done:
    attrib_serve_free(srv);
    if (key != NULL) {
        memset(key, 0, strlen(key));
        free(key);
    }
    attrib_ctx_free(ctx);
    return rc;
}
