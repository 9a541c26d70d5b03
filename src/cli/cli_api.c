/*
 * Options of the IHC API client (--engine ihc-api) and of `attrib serve`,
 * and reading the API key. The key comes from a file only its owner may
 * read, or from $IHC_API_KEY: never from argv, where `ps` would show it.
 */
#include "cli.h"
#include "msgs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const cli_opt cli_opts_api[] = {
    CLI_OPT("conv-type-id", 0, OPT_STRING, conv_type_id, "ID",
            "IHC conversion type (as trained in the IHC web UI)"),
    CLI_OPT("api-url", 0, OPT_STRING, api_url, "URL",
            "endpoint (default https://api.ihc-attribution.com/v1/compute_ihc)"),
    CLI_OPT("api-key-file", 0, OPT_STRING, api_key_file, "FILE",
            "file holding the API key, mode 0600 (default: $IHC_API_KEY)"),
    CLI_OPT("max-journeys-per-request", 0, OPT_UINT, max_journeys, "N",
            "customer journeys per request (default 100)"),
    CLI_OPT("max-sessions-per-request", 0, OPT_UINT, max_sessions, "N",
            "sessions per request (default 3000; 200 on free accounts)"),
    CLI_OPT("oversize", 0, OPT_STRING, oversize, "keep-latest|skip|fail",
            "a journey longer than the session cap (default keep-latest)"),
    CLI_OPT("concurrency", 0, OPT_UINT, concurrency, "N", "requests in flight (default 4)"),
    CLI_OPT("max-requests-per-second", 0, OPT_STRING, max_rps, "R",
            "rate limit of request starts (default none)"),
    CLI_OPT("api-timeout", 0, OPT_UINT, api_timeout, "SECONDS",
            "time limit of one request (default 120)"),
    CLI_OPT("max-attempts", 0, OPT_UINT, max_attempts, "N",
            "tries per request, retries included (default 6)"),
    CLI_OPT("api-deadline", 0, OPT_UINT, api_deadline, "SECONDS",
            "time limit of all API work (default none)"),
    CLI_OPT("audit-dir", 0, OPT_STRING, audit_dir, "DIR",
            "keep every request and response body here (never the key)"),
    CLI_OPT("redistribution", 0, OPT_STRING, redistribution, "JSON|@FILE",
            "redistribution_parameter object sent with every request (ihc-api.md §3)"),
    CLI_OPT_END,
};

const cli_opt cli_opts_serve[] = {
    CLI_OPT("bind", 0, OPT_STRING, bind, "ADDR", "IPv4 address to listen on (default 127.0.0.1)"),
    CLI_OPT("port", 0, OPT_UINT, port, "PORT", "TCP port (default 8080; 0 = any free port)"),
    CLI_OPT("api-key-file", 0, OPT_STRING, api_key_file, "FILE",
            "accepted x-api-key, mode 0600 (default: $IHC_API_KEY)"),
    CLI_OPT("no-auth", 0, OPT_FLAG, no_auth, NULL, "accept requests without a key (loopback only)"),
    CLI_OPT("max-journeys-per-request", 0, OPT_UINT, max_journeys, "N",
            "journeys accepted per request (default 100)"),
    CLI_OPT("max-sessions-per-request", 0, OPT_UINT, max_sessions, "N",
            "sessions accepted per request (default 3000)"),
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
