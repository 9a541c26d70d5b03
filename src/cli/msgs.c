/* CLI diagnostics: see msgs.h. Text or JSON lines (--log-format json). */
#include "msgs.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_verbose;
static bool g_quiet;
static bool g_json;
static bool g_progress_shown;

void cli_msgs_setup(int verbose, bool quiet, bool json)
{
    g_verbose = verbose;
    g_quiet = quiet;
    g_json = json;
}

static void json_string(const char *s)
{
    fputc('"', stderr);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c < 0x20)
            fprintf(stderr, "\\u%04x", c);
        else
            fputc(c, stderr);
    }
    fputc('"', stderr);
}

static void emit(const char *level, const char *fmt, va_list ap)
{
    char line[2048];
    vsnprintf(line, sizeof(line), fmt, ap);
    cli_progress_done();
    if (g_json) {
        fprintf(stderr, "{\"level\":\"%s\",\"message\":", level);
        json_string(line);
        fputs("}\n", stderr);
    } else if (level[0] == 'i' || level[0] == 'd') {
        fprintf(stderr, "%s\n", line);
    } else {
        fprintf(stderr, "attrib: %s%s\n", strcmp(level, "error") == 0 ? "" : "warning: ", line);
    }
}

int cli_errorf(int exit_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("error", fmt, ap);
    va_end(ap);
    return exit_code;
}

int cli_error_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("error", fmt, ap);
    va_end(ap);
    if (!g_json)
        fprintf(stderr, "attrib: see `attrib --help` or `attrib COMMAND --help`\n");
    return 2;
}

/* Library option names as the CLI user knows them (whole identifiers only). */
static const struct {
    const char *lib, *cli;
} lib_names[] = {
    {"conv_type_id", "--conv-type-id"}, {"api_key", "--api-key-file (or $IHC_API_KEY)"},
    {"no_auth", "--no-auth"},           {"skip_bad_rows", "--skip-bad-rows"},
    {"busy_timeout", "--busy-timeout"}, {"ATTRIB_GEN_FORCE", "--force"},
    {"ATTRIB_COPY_FORCE", "--force"},
};

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int cli_error_lib(int exit_code, const char *msg)
{
    char line[2048];
    size_t n = 0;
    for (const char *p = msg; *p != '\0' && n + 1 < sizeof(line);) {
        const char *with = NULL;
        size_t skip = 0;
        for (size_t i = 0; i < sizeof(lib_names) / sizeof(lib_names[0]) && with == NULL; i++) {
            size_t len = strlen(lib_names[i].lib);
            if ((p == msg || !ident_char(p[-1])) && strncmp(p, lib_names[i].lib, len) == 0 &&
                !ident_char(p[len])) {
                with = lib_names[i].cli;
                skip = len;
            }
        }
        if (with == NULL) {
            line[n++] = *p++;
            continue;
        }
        size_t wlen = strlen(with);
        if (wlen > sizeof(line) - 1 - n)
            wlen = sizeof(line) - 1 - n; /* truncated like any long line */
        memcpy(line + n, with, wlen);
        n += wlen;
        p += skip;
    }
    line[n] = '\0';
    return cli_errorf(exit_code, "%s", line);
}

void cli_warnf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("warning", fmt, ap);
    va_end(ap);
}

void cli_notef(const char *fmt, ...)
{
    if (g_verbose < 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit("debug", fmt, ap);
    va_end(ap);
}

void cli_infof(const char *fmt, ...)
{
    if (g_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit("info", fmt, ap);
    va_end(ap);
}

void cli_log(attrib_log_level level, const char *msg, void *payload)
{
    (void)payload;
    if (level == ATTRIB_LOG_ERROR)
        cli_errorf(0, "%s", msg);
    else if (level == ATTRIB_LOG_WARN)
        cli_warnf("%s", msg);
    else if (level == ATTRIB_LOG_INFO)
        cli_infof("%s", msg);
    else
        cli_notef("%s", msg);
}

void cli_progress(const char *what, uint64_t done, uint64_t total, void *payload)
{
    (void)payload;
    static struct timespec last;
    static char last_what[64]; /* a new step shows at once, whatever the throttle */
    if (g_quiet || g_json || !isatty(STDERR_FILENO))
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt = (double)(now.tv_sec - last.tv_sec) + (double)(now.tv_nsec - last.tv_nsec) / 1e9;
    bool new_step = strncmp(what, last_what, sizeof(last_what) - 1) != 0;
    if (!new_step && dt < 0.25 && (total == 0 || done < total))
        return;
    last = now;
    snprintf(last_what, sizeof(last_what), "%s", what);
    if (total > 0)
        fprintf(stderr, "\r\033[K%s: %llu / %llu (%.0f%%)", what, (unsigned long long)done,
                (unsigned long long)total, 100.0 * (double)done / (double)total);
    else if (done > 0)
        fprintf(stderr, "\r\033[K%s: %llu", what, (unsigned long long)done);
    else
        fprintf(stderr, "\r\033[K%s ...", what);
    g_progress_shown = true;
}

void cli_progress_done(void)
{
    if (g_progress_shown) {
        fputs("\r\033[K", stderr);
        g_progress_shown = false;
    }
}
