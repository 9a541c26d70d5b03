/*
 * Options of the IHC API client (--engine ihc-api) and of `attrib serve`,
 * and reading the API key. The key comes from a file only its owner may
 * read, or from $IHC_API_KEY: never from argv, where `ps` would show it.
 */
#include "cli.h"
#include "msgs.h"

#include "attrib/ihc_json.h"
#include "attrib/serve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The library defaults the rows below show (their INIT macros decide them). */
static const attrib_api_options api_defaults = ATTRIB_API_OPTIONS_INIT;
static const attrib_serve_options serve_defaults = ATTRIB_SERVE_OPTIONS_INIT;

/* --oversize names, indexed by attrib_api_oversize. */
static const char *const oversize_names[] = {
    [ATTRIB_API_OVERSIZE_KEEP_LATEST] = "keep-latest",
    [ATTRIB_API_OVERSIZE_SKIP] = "skip",
    [ATTRIB_API_OVERSIZE_FAIL] = "fail",
};
_Static_assert(sizeof(oversize_names) / sizeof(oversize_names[0]) == ATTRIB_API_OVERSIZE_FAIL + 1,
               "one name per attrib_api_oversize value");

const cli_opt cli_opts_api[] = {
    CLI_OPT("conv-type-id", 0, OPT_STRING, conv_type_id, "ID",
            "IHC conversion type (as trained in the IHC web UI)"),
    CLI_OPT_D("api-url", 0, OPT_STRING, api_url, "URL", "endpoint",
              CLI_DEFAULT_NOTE(ATTRIB_API_DEFAULT_URL)),
    CLI_OPT_D("api-key-file", 0, OPT_STRING, api_key_file, "FILE",
              "file holding the API key, mode 0600", CLI_DEFAULT_NOTE("the key in $IHC_API_KEY")),
    CLI_OPT_D("max-journeys-per-request", 0, OPT_UINT, max_journeys, "N",
              "customer journeys per request", CLI_DEFAULT_LIB(&api_defaults.max_journeys)),
    CLI_OPT_D("max-sessions-per-request", 0, OPT_UINT, max_sessions, "N",
              "sessions per request (200 on free accounts)",
              CLI_DEFAULT_LIB(&api_defaults.max_sessions)),
    CLI_OPT_D("oversize", 0, OPT_STRING, oversize, "keep-latest|skip|fail",
              "a journey longer than the session cap",
              CLI_DEFAULT_ENUM(&api_defaults.oversize, oversize_names)),
    CLI_OPT_D("concurrency", 0, OPT_UINT, concurrency, "N", "requests in flight",
              CLI_DEFAULT_LIB(&api_defaults.concurrency)),
    CLI_OPT_D("max-requests-per-second", 0, OPT_STRING, max_rps, "R",
              "rate limit of request starts (0 = none)", CLI_DEFAULT_LIB(&api_defaults.max_rps)),
    CLI_OPT_D("api-timeout", 0, OPT_UINT, api_timeout, "SECONDS", "time limit of one request",
              CLI_DEFAULT_LIB_DIV(&api_defaults.timeout_ms, 1000)),
    CLI_OPT_D("max-attempts", 0, OPT_UINT, max_attempts, "N", "tries per request, retries included",
              CLI_DEFAULT_LIB(&api_defaults.max_attempts)),
    CLI_OPT_D("api-deadline", 0, OPT_UINT, api_deadline, "SECONDS",
              "time limit of all API work (0 = none)", CLI_DEFAULT_LIB(&api_defaults.deadline_s)),
    CLI_OPT("audit-dir", 0, OPT_STRING, audit_dir, "DIR",
            "keep every request and response body here (never the key)"),
    CLI_OPT("redistribution", 0, OPT_STRING, redistribution, "JSON|@FILE",
            "redistribution_parameter object sent with every request (ihc-api.md §3)"),
    CLI_OPT("force", 0, OPT_FLAG, force, NULL,
            "ignore stored API results and send every selected journey again"),
    CLI_OPT_END,
};

const cli_opt cli_opts_serve[] = {
    /* not the library's port 0 (any free port): a server wants a known port */
    CLI_OPT_D("listen", 0, OPT_STRING, listen, "HOST:PORT",
              "address and TCP port to listen on: IPv4 or [IPv6], port 0 = any free port",
              CLI_DEFAULT("127.0.0.1:8080")),
    CLI_OPT("bind", 0, OPT_STRING, bind, "ADDR", "the HOST of --listen alone (alias)"),
    CLI_OPT("port", 0, OPT_UINT, port, "PORT", "the PORT of --listen alone (alias)"),
    CLI_OPT_D("api-key-file", 0, OPT_STRING, api_key_file, "FILE", "accepted x-api-key, mode 0600",
              CLI_DEFAULT_NOTE("the key in $IHC_API_KEY")),
    CLI_OPT("no-auth", 0, OPT_FLAG, no_auth, NULL, "accept requests without a key (loopback only)"),
    CLI_OPT_D("max-journeys-per-request", 0, OPT_UINT, max_journeys, "N",
              "journeys accepted per request", CLI_DEFAULT_LIB(&serve_defaults.max_journeys)),
    CLI_OPT_D("max-sessions-per-request", 0, OPT_UINT, max_sessions, "N",
              "sessions accepted per request", CLI_DEFAULT_LIB(&serve_defaults.max_sessions)),
    CLI_OPT_D("max-connections", 0, OPT_UINT, max_connections, "N",
              "open connections at once (capped by the open-file limit)",
              CLI_DEFAULT_LIB(&serve_defaults.max_connections)),
    CLI_OPT_D("max-connections-per-ip", 0, OPT_UINT, max_connections_per_ip, "N",
              "open connections per client address",
              CLI_DEFAULT_NOTE("no limit on a loopback address, else 256")),
    CLI_OPT_D("idle-timeout", 0, OPT_UINT, idle_timeout, "SECONDS",
              "close a connection silent this long (headers, body or between requests)",
              CLI_DEFAULT_LIB(&serve_defaults.idle_timeout)),
    CLI_OPT_END,
};

int cli_read_api_key(const cli_config *cfg, char **out)
{
    *out = NULL;
    if (cfg->api_key_file == NULL) {
        const char *env = getenv("IHC_API_KEY");
        if (env != NULL && env[0] != '\0' && (*out = strdup(env)) == NULL)
            return cli_errorf(CLI_EXIT_RUNTIME, "out of memory");
        return CLI_EXIT_OK;
    }
    FILE *f = fopen(cfg->api_key_file, "r");
    if (f == NULL)
        return cli_errorf(CLI_EXIT_USAGE, "cannot open API key file %s: %s", cfg->api_key_file,
                          strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || (sb.st_mode & 077) != 0) {
        fclose(f);
        return cli_errorf(CLI_EXIT_USAGE,
                          "API key file %s may be read by others; make it private (chmod 600)",
                          cfg->api_key_file);
    }
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0 || strpbrk(buf, "\r\n") != NULL) {
        memset(buf, 0, sizeof(buf));
        return cli_errorf(CLI_EXIT_USAGE, "API key file %s must hold the key on one line",
                          cfg->api_key_file);
    }
    *out = strdup(buf);
    memset(buf, 0, sizeof(buf));
    return *out != NULL ? CLI_EXIT_OK : cli_errorf(CLI_EXIT_RUNTIME, "out of memory");
}

void cli_api_free(cli_api *a)
{
    if (a->key != NULL) {
        memset(a->key, 0, strlen(a->key));
        free(a->key);
    }
    attrib_ihc_redist_free(a->redist);
    memset(a, 0, sizeof(*a));
}

/* The redistribution object: inline JSON or @FILE. */
static int read_redistribution(const char *arg, attrib_ihc_redist **out)
{
    char *text = NULL;
    size_t len = 0;
    if (arg[0] == '@') {
        FILE *f = fopen(arg + 1, "rb");
        if (f == NULL)
            return cli_errorf(CLI_EXIT_USAGE, "cannot open %s: %s", arg + 1, strerror(errno));
        size_t cap = 4096;
        text = malloc(cap);
        for (size_t r; text != NULL && (r = fread(text + len, 1, cap - len, f)) > 0;) {
            len += r;
            if (len == cap && len < ((size_t)1 << 24)) {
                char *t = realloc(text, cap *= 2);
                if (t == NULL)
                    free(text);
                text = t;
            }
        }
        fclose(f);
        if (text == NULL)
            return cli_errorf(CLI_EXIT_RUNTIME, "out of memory");
    }
    attrib_ctx *ctx = NULL;
    if (attrib_ctx_new(&ctx) != ATTRIB_OK) {
        free(text);
        return cli_errorf(CLI_EXIT_RUNTIME, "out of memory");
    }
    int rc = attrib_ihc_redist_parse(ctx, text != NULL ? text : arg,
                                     text != NULL ? len : strlen(arg), out);
    int exit_code =
        rc == ATTRIB_OK ? CLI_EXIT_OK : cli_error_usage("--redistribution: %s", attrib_errmsg(ctx));
    attrib_ctx_free(ctx);
    free(text);
    return exit_code;
}

/* --oversize and the numeric client options that are set, checked. Exit code. */
static int set_api_numbers(const cli_config *cfg, attrib_api_options *o)
{
    if (CLI_IS_SET(cfg, oversize)) {
        size_t i = 0, n = sizeof(oversize_names) / sizeof(oversize_names[0]);
        while (i < n && strcmp(cfg->oversize, oversize_names[i]) != 0)
            i++;
        if (i == n)
            return cli_error_usage("--oversize takes keep-latest, skip or fail, not '%s'",
                                   cfg->oversize);
        o->oversize = (attrib_api_oversize)i;
    }
    if ((CLI_IS_SET(cfg, max_journeys) && cfg->max_journeys < 1) ||
        (CLI_IS_SET(cfg, max_sessions) && cfg->max_sessions < 1) ||
        (CLI_IS_SET(cfg, concurrency) && (cfg->concurrency < 1 || cfg->concurrency > 256)) ||
        (CLI_IS_SET(cfg, max_attempts) && (cfg->max_attempts < 1 || cfg->max_attempts > 100)) ||
        (CLI_IS_SET(cfg, api_timeout) && cfg->api_timeout < 1))
        return cli_error_usage("the per-request caps, --concurrency (1..256), --max-attempts "
                               "(1..100) and --api-timeout must be at least 1");
    if (CLI_IS_SET(cfg, max_journeys))
        o->max_journeys = cfg->max_journeys;
    if (CLI_IS_SET(cfg, max_sessions))
        o->max_sessions = cfg->max_sessions;
    if (CLI_IS_SET(cfg, concurrency))
        o->concurrency = (int)cfg->concurrency;
    if (CLI_IS_SET(cfg, api_timeout))
        o->timeout_ms = (long)(cfg->api_timeout > 86400 ? 86400 : cfg->api_timeout) * 1000;
    if (CLI_IS_SET(cfg, max_attempts))
        o->max_attempts = (int)cfg->max_attempts;
    if (CLI_IS_SET(cfg, api_deadline))
        o->deadline_s = (double)cfg->api_deadline;
    return CLI_EXIT_OK;
}

int cli_api_setup(const cli_config *cfg, cli_api *out)
{
    attrib_api_options o = ATTRIB_API_OPTIONS_INIT;
    memset(out, 0, sizeof(*out));
    if (cfg->conv_type_id == NULL)
        return cli_error_usage("--engine ihc-api needs --conv-type-id ID");
    int rc = set_api_numbers(cfg, &o);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (CLI_IS_SET(cfg, max_rps)) {
        char *end = NULL;
        errno = 0;
        o.max_rps = strtod(cfg->max_rps, &end);
        if (end == cfg->max_rps || *end != '\0' || errno != 0 || !(o.max_rps >= 0))
            return cli_error_usage("--max-requests-per-second takes a number, not '%s'",
                                   cfg->max_rps);
    }
    rc = cli_read_api_key(cfg, &out->key);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (out->key == NULL)
        return cli_error_usage("--engine ihc-api needs the API key in $IHC_API_KEY or "
                               "--api-key-file FILE");
    if (cfg->redistribution != NULL) {
        rc = read_redistribution(cfg->redistribution, &out->redist);
        if (rc != CLI_EXIT_OK) {
            cli_api_free(out);
            return rc;
        }
        o.redistribution = &out->redist->redistribution;
    }
    o.api_url = cfg->api_url;
    o.conv_type_id = cfg->conv_type_id;
    o.api_key = out->key;
    o.audit_dir = cfg->audit_dir;
    out->opts = o;
    return CLI_EXIT_OK;
}
