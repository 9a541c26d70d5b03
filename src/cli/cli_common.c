/*
 * What the commands share: the common option groups, turning the config into
 * library options, opening the store, mapping library codes to exit codes,
 * and the run summary (human on stderr, JSON with --summary-json).
 */
#include "cli.h"
#include "msgs.h"

#include "attrib/file.h"
#include "attrib/store.h"
#include "util/numfmt.h"
#include "util/ts.h"

#include <signal.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The library defaults the rows below show (their INIT macros decide them). */
static const attrib_run_options run_defaults = ATTRIB_RUN_OPTIONS_INIT;

const cli_opt cli_opts_global[] = {
    CLI_OPT_D("db", 0, OPT_STRING, db, "TARGET", "SQLite path or postgresql:// URI",
              CLI_DEFAULT_ENV("ATTRIB_DB", "challenge.db")),
    CLI_OPT("config", 0, OPT_STRING, config, "FILE",
            "read options from FILE (key = value; flags override it)"),
    CLI_OPT("verbose", 'v', OPT_COUNT, verbose, NULL, "more messages"),
    CLI_OPT("quiet", 'q', OPT_FLAG, quiet, NULL, "only errors"),
    CLI_OPT_D("log-format", 0, OPT_STRING, log_format, "text|json", "message format on stderr",
              CLI_DEFAULT("text")),
    CLI_OPT_D("busy-timeout", 0, OPT_UINT, busy_timeout, "MS",
              "wait up to MS milliseconds for a lock another process holds on the database",
              CLI_DEFAULT("10000")),
    CLI_OPT("help", 'h', OPT_FLAG, help, NULL, "show help and exit"),
    CLI_OPT_END,
};

const cli_opt cli_opts_select[] = {
    CLI_OPT_D("start-date", 0, OPT_STRING, start_date, "YYYY-MM-DD",
              "first conversion date (inclusive)", CLI_DEFAULT_NOTE("no limit")),
    CLI_OPT_D("end-date", 0, OPT_STRING, end_date, "YYYY-MM-DD", "last conversion date (inclusive)",
              CLI_DEFAULT_NOTE("no limit")),
    CLI_OPT("skip-bad-rows", 0, OPT_FLAG, skip_bad_rows, NULL,
            "skip and count input rows with a bad value (date, time, flag, number, an id or "
            "channel that is empty or not UTF-8 text without NUL, an amount beyond 1.1e15) "
            "instead of failing (exit 3); duplicate ids always fail"),
    CLI_OPT_END,
};

const cli_opt cli_opts_journey[] = {
    CLI_OPT_D("lookback-days", 0, OPT_UINT, lookback_days, "N",
              "only sessions at most N*24h before the conversion (0 = no limit)",
              CLI_DEFAULT_LIB(&run_defaults.lookback_days)),
    CLI_OPT("same-time", 0, OPT_FLAG, same_time, NULL,
            "also sessions at exactly the conversion second"),
    CLI_OPT("reset-after-conversion", 0, OPT_FLAG, reset_after_conversion, NULL,
            "a user's earlier conversion ends the journey of the next"),
    CLI_OPT_END,
};

const cli_opt cli_opts_phases[] = {
    CLI_OPT("phases", 0, OPT_FLAG, phases, NULL,
            "also store the local IHC engine's initializer/holder/closer in "
            "attrib_journey_phases (ihc-api always does)"),
    CLI_OPT_END,
};

const cli_opt cli_opts_engine[] = {
    CLI_OPT_D("engine", 0, OPT_STRING, engine, "local|ihc-api", "where IHC credit is computed",
              CLI_DEFAULT("local")),
    CLI_OPT_D("model", 0, OPT_STRING, model, "NAME",
              "attribution model of the local engine (see `attrib models`)",
              CLI_DEFAULT_NOTE("ihc")),
    CLI_OPT("model-file", 0, OPT_STRING, model_file, "FILE",
            "IHC parameters (JSON) instead of the shipped defaults, or a builtin name"),
    CLI_OPT_D("threads", 0, OPT_UINT, threads, "N",
              "threads that read and attribute (0 = one per core, at most 8)",
              CLI_DEFAULT_LIB(&run_defaults.threads)),
    CLI_OPT_END,
};

/* Names of the model enums, indexed by their values. */
static const char *const markov_states_names[] = {
    [ATTRIB_MARKOV_STATES_WINDOW] = "window",
    [ATTRIB_MARKOV_STATES_COLLAPSED] = "collapsed",
};
static const char *const markov_credit_names[] = {
    [ATTRIB_MARKOV_CREDIT_GLOBAL] = "global",
    [ATTRIB_MARKOV_CREDIT_JOURNEY] = "journey",
};
static const char *const fit_paths_names[] = {
    [ATTRIB_FIT_PATHS_CUT] = "cut",
    [ATTRIB_FIT_PATHS_JOURNEYS] = "journeys",
};
static const char *const fit_range_names[] = {
    [ATTRIB_FIT_RANGE_ALL] = "all",
    [ATTRIB_FIT_RANGE_SELECTED] = "selected",
};
#define N_NAMES(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(N_NAMES(markov_states_names) == ATTRIB_MARKOV_STATES_COLLAPSED + 1, "names");
_Static_assert(N_NAMES(markov_credit_names) == ATTRIB_MARKOV_CREDIT_JOURNEY + 1, "names");
_Static_assert(N_NAMES(fit_paths_names) == ATTRIB_FIT_PATHS_JOURNEYS + 1, "names");
_Static_assert(N_NAMES(fit_range_names) == ATTRIB_FIT_RANGE_SELECTED + 1, "names");

const cli_opt cli_opts_model[] = {
    CLI_OPT_D("direct-channels", 0, OPT_STRING, direct_channels, "A,B",
              "last-non-direct: channels that count as direct", CLI_DEFAULT_NOTE("Direct Traffic")),
    CLI_OPT_D("position-first", 0, OPT_STRING, position_first, "X",
              "position: share of the first session",
              CLI_DEFAULT_LIB(&run_defaults.model_opts.position_first)),
    CLI_OPT_D("position-last", 0, OPT_STRING, position_last, "X",
              "position: share of the last session",
              CLI_DEFAULT_LIB(&run_defaults.model_opts.position_last)),
    CLI_OPT_D("half-life", 0, OPT_STRING, half_life, "DAYS", "time-decay: half-life in days",
              CLI_DEFAULT_LIB(&run_defaults.model_opts.half_life_days)),
    CLI_OPT_D("order", 0, OPT_UINT, markov_order, "K", "markov: states are the last K channels",
              CLI_DEFAULT_LIB(&run_defaults.model_opts.markov_order)),
    CLI_OPT("markov-value", 0, OPT_FLAG, markov_value, NULL,
            "markov: removal effects on revenue instead of conversions"),
    CLI_OPT_D("markov-states", 0, OPT_STRING, markov_states, "window|collapsed",
              "markov: a state is a window of K raw touches (ChannelAttribution) or the last K "
              "channels after collapsing repeats",
              CLI_DEFAULT_ENUM(&run_defaults.model_opts.markov_states, markov_states_names)),
    CLI_OPT_D("markov-credit", 0, OPT_STRING, markov_credit, "global|journey",
              "markov: per-session credit whose channel totals are the standard Markov totals "
              "(global), or each journey split by removal-effect shares (journey)",
              CLI_DEFAULT_ENUM(&run_defaults.model_opts.markov_credit, markov_credit_names)),
    CLI_OPT_D("fit-paths", 0, OPT_STRING, fit_paths, "cut|journeys",
              "markov, shapley, counterfactual: learn from user paths cut at conversions (each "
              "session once) or from the journeys as attributed",
              CLI_DEFAULT_ENUM(&run_defaults.fit_paths, fit_paths_names)),
    CLI_OPT_D("fit-range", 0, OPT_STRING, fit_range, "all|selected",
              "markov, shapley, counterfactual: learn from every path, or only from those of "
              "the selected dates",
              CLI_DEFAULT_ENUM(&run_defaults.fit_range, fit_range_names)),
    CLI_OPT_END,
};

/* Index of name in names[0..n), or -1. */
static int name_index(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

/* --direct-channels A,B: names kept for the process (the CLI runs one command). */
static const char *g_direct[64];
static char g_direct_buf[4096];

static int model_options(const cli_config *cfg, attrib_model_options *mo)
{
    if (CLI_IS_SET(cfg, direct_channels)) {
        size_t len = strlen(cfg->direct_channels), n = 0;
        if (len >= sizeof(g_direct_buf))
            return cli_error_usage("--direct-channels is too long");
        memcpy(g_direct_buf, cfg->direct_channels, len + 1);
        for (char *p = g_direct_buf; p != NULL;) {
            char *comma = strchr(p, ',');
            if (comma != NULL)
                *comma = '\0';
            if (*p == '\0' || n == sizeof(g_direct) / sizeof(g_direct[0]))
                return cli_error_usage("--direct-channels wants up to 64 non-empty names "
                                       "separated by commas");
            g_direct[n++] = p;
            p = comma != NULL ? comma + 1 : NULL;
        }
        mo->direct_channels = g_direct;
        mo->n_direct_channels = n;
    }
    struct {
        bool set;
        const char *arg, *name;
        double *out;
    } nums[] = {
        {CLI_IS_SET(cfg, position_first), cfg->position_first, "--position-first",
         &mo->position_first},
        {CLI_IS_SET(cfg, position_last), cfg->position_last, "--position-last", &mo->position_last},
        {CLI_IS_SET(cfg, half_life), cfg->half_life, "--half-life", &mo->half_life_days}};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        if (nums[i].set && attrib_numparse(nums[i].arg, strlen(nums[i].arg), nums[i].out) != 0)
            return cli_error_usage("%s '%s' is not a number", nums[i].name, nums[i].arg);
    if (CLI_IS_SET(cfg, markov_order)) {
        if (cfg->markov_order < 1 || cfg->markov_order > 8)
            return cli_error_usage("--order %llu is not in 1..8",
                                   (unsigned long long)cfg->markov_order);
        mo->markov_order = (int)cfg->markov_order;
    }
    mo->markov_value = cfg->markov_value;
    int v;
    if (CLI_IS_SET(cfg, markov_states)) {
        if ((v = name_index(cfg->markov_states, markov_states_names,
                            N_NAMES(markov_states_names))) < 0)
            return cli_error_usage("--markov-states takes window or collapsed, not '%s'",
                                   cfg->markov_states);
        mo->markov_states = (attrib_markov_states)v;
    }
    if (CLI_IS_SET(cfg, markov_credit)) {
        if ((v = name_index(cfg->markov_credit, markov_credit_names,
                            N_NAMES(markov_credit_names))) < 0)
            return cli_error_usage("--markov-credit takes global or journey, not '%s'",
                                   cfg->markov_credit);
        mo->markov_credit = (attrib_markov_credit)v;
    }
    return CLI_EXIT_OK;
}

/* --fit-paths and --fit-range. Exit code. */
static int fit_options(const cli_config *cfg, attrib_run_options *o)
{
    int v;
    if (CLI_IS_SET(cfg, fit_paths)) {
        if ((v = name_index(cfg->fit_paths, fit_paths_names, N_NAMES(fit_paths_names))) < 0)
            return cli_error_usage("--fit-paths takes cut or journeys, not '%s'", cfg->fit_paths);
        o->fit_paths = (attrib_fit_paths)v;
    }
    if (CLI_IS_SET(cfg, fit_range)) {
        if ((v = name_index(cfg->fit_range, fit_range_names, N_NAMES(fit_range_names))) < 0)
            return cli_error_usage("--fit-range takes all or selected, not '%s'", cfg->fit_range);
        o->fit_range = (attrib_fit_range)v;
    }
    return CLI_EXIT_OK;
}

const cli_opt cli_opts_summary[] = {
    CLI_OPT("summary-json", 0, OPT_STRING, summary_json, "FILE",
            "also write the run summary as JSON to FILE"),
    CLI_OPT_END,
};

const cli_opt cli_opts_shard[] = {
    CLI_OPT("shard", 0, OPT_STRING, shard, "K/N",
            "attribute only the conversions of users in shard K of N (user_id hashed; "
            "`attrib report --merge` after the last shard writes the report: docs/scale-out.md)"),
    CLI_OPT_END,
};

/* --shard K/N: 0 <= K < N <= 65536. */
static int shard_option(const char *arg, attrib_run_options *o)
{
    char *end = NULL;
    unsigned long k, n;
    if (arg[0] < '0' || arg[0] > '9')
        goto bad;
    k = strtoul(arg, &end, 10);
    if (*end != '/' || end[1] < '0' || end[1] > '9')
        goto bad;
    n = strtoul(end + 1, &end, 10);
    if (*end != '\0' || n < 1 || n > 65536 || k >= n)
        goto bad;
    o->shard_index = (uint32_t)k;
    o->shard_count = (uint32_t)n;
    return CLI_EXIT_OK;
bad:
    return cli_error_usage("--shard '%s' is not K/N with 0 <= K < N <= 65536 (e.g. 0/4)", arg);
}

static bool valid_date_arg(const char *s)
{
    int32_t d;
    return attrib_date_parse(s, strlen(s), &d) == 0;
}

int cli_run_options(const cli_config *cfg, attrib_run_options *out)
{
    attrib_run_options o = ATTRIB_RUN_OPTIONS_INIT;
    if (cfg->start_date != NULL && !valid_date_arg(cfg->start_date))
        return cli_error_usage("--start-date '%s' is not a date YYYY-MM-DD", cfg->start_date);
    if (cfg->end_date != NULL && !valid_date_arg(cfg->end_date))
        return cli_error_usage("--end-date '%s' is not a date YYYY-MM-DD", cfg->end_date);
    if (cfg->start_date != NULL && cfg->end_date != NULL &&
        strcmp(cfg->start_date, cfg->end_date) > 0)
        return cli_error_usage("--start-date %s is after --end-date %s", cfg->start_date,
                               cfg->end_date);
    if (cfg->lookback_days > 100000)
        return cli_error_usage("--lookback-days %llu is too large (at most 100000)",
                               (unsigned long long)cfg->lookback_days);
    o.start_date = cfg->start_date;
    o.end_date = cfg->end_date;
    if (CLI_IS_SET(cfg, lookback_days))
        o.lookback_days = (uint32_t)cfg->lookback_days;
    o.same_time = cfg->same_time;
    o.phases = cfg->phases;
    o.reset_after_conversion = cfg->reset_after_conversion;
    o.skip_bad_rows = cfg->skip_bad_rows;
    o.csv_raw = cfg->csv_raw;
    if (CLI_IS_SET(cfg, threads))
        o.threads = cfg->threads > 64 ? 64 : (unsigned)cfg->threads;
    if (CLI_IS_SET(cfg, model)) {
        o.model = attrib_model_find(cfg->model);
        if (o.model == NULL)
            return cli_error_usage("unknown model '%s'; `attrib models` lists them", cfg->model);
    }
    if (CLI_IS_SET(cfg, model_file)) {
        if (strcmp(cfg->model_file, "default") == 0 || strcmp(cfg->model_file, "base") == 0)
            o.model_opts.builtin = cfg->model_file;
        else
            o.model_opts.model_file = cfg->model_file;
    }
    int mrc = model_options(cfg, &o.model_opts);
    if (mrc == CLI_EXIT_OK)
        mrc = fit_options(cfg, &o);
    if (mrc != CLI_EXIT_OK)
        return mrc;
    if (cfg->shard != NULL && (mrc = shard_option(cfg->shard, &o)) != CLI_EXIT_OK)
        return mrc;
    *out = o;
    return CLI_EXIT_OK;
}

int cli_open_store(attrib_ctx *ctx, cli_config *cfg, unsigned flags, attrib_store **out)
{
    if (cfg->busy_timeout > INT32_MAX)
        return cli_error_usage("--busy-timeout is at most %d ms", INT32_MAX);
    attrib_store_options so = ATTRIB_STORE_OPTIONS_INIT;
    so.busy_timeout_ms = (unsigned)cfg->busy_timeout;
    int rc = attrib_store_open_with(ctx, cfg->db, flags, &so, out);
    if (rc != ATTRIB_OK)
        return cli_fail(ctx, rc);
    /* What summaries may show: the target without its password. */
    cfg->db_display = attrib_store_display(*out);
    return CLI_EXIT_OK;
}

int cli_fail(attrib_ctx *ctx, int code)
{
    const char *msg = attrib_errmsg(ctx);
    int exit_code;
    switch (code) {
    case ATTRIB_EINVAL:
        exit_code = CLI_EXIT_USAGE;
        break;
    case ATTRIB_EDATA:
        exit_code = CLI_EXIT_DATA;
        break;
    case ATTRIB_EPARTIAL:
        exit_code = CLI_EXIT_PARTIAL;
        break;
    default:
        exit_code = CLI_EXIT_RUNTIME;
        break;
    }
    if (code == ATTRIB_ECANCEL)
        return cli_errorf(CLI_EXIT_RUNTIME, "interrupted; nothing of this step was written");
    return cli_error_lib(exit_code, msg[0] != '\0' ? msg : attrib_strerror(code));
}

int cli_check_out(attrib_ctx *ctx, const char *option, const char *path)
{
    int code = attrib_file_check(ctx, path);
    if (code == ATTRIB_OK)
        return CLI_EXIT_OK;
    if (code == ATTRIB_EINVAL)
        return cli_error_usage("%s: %s", option, attrib_errmsg(ctx));
    return cli_errorf(CLI_EXIT_RUNTIME, "%s: %s", option, attrib_errmsg(ctx));
}

static int write_summary_json(const cli_config *cfg, const char *command, const attrib_summary *s,
                              int status)
{
    json_t *root = json_object();
    json_t *unattr = json_array();
    attrib_ctx *ctx = NULL;
    char *text = NULL;
    int rc = CLI_EXIT_OK;
    if (root == NULL || unattr == NULL) {
        rc = cli_errorf(CLI_EXIT_RUNTIME, "out of memory");
        goto done;
    }
    for (uint64_t i = 0; i < s->n_unattributable; i++)
        json_array_append_new(unattr,
                              json_pack("{s:s, s:f}", "conv_id", s->unattributable[i].conv_id,
                                        "revenue", s->unattributable[i].revenue));
    json_object_set_new(root, "command", json_string(command));
    json_object_set_new(root, "exit_status", json_integer(status));
    json_object_set_new(root, "database",
                        cfg->db_display != NULL ? json_string(cfg->db_display) : json_null());
    json_object_set_new(root, "start_date",
                        cfg->start_date ? json_string(cfg->start_date) : json_null());
    json_object_set_new(root, "end_date", cfg->end_date ? json_string(cfg->end_date) : json_null());
    json_object_set_new(root, "conversions_selected",
                        json_integer((json_int_t)s->conversions_selected));
    json_object_set_new(root, "conversions_attributed",
                        json_integer((json_int_t)s->conversions_attributed));
    json_object_set_new(root, "conversions_failed",
                        json_integer((json_int_t)s->conversions_failed));
    json_object_set_new(root, "conversions_unattributable",
                        json_integer((json_int_t)s->n_unattributable));
    json_object_set_new(root, "unattributable_revenue", json_real(s->unattributable_revenue));
    json_object_set_new(root, "unattributable", unattr);
    unattr = NULL;
    json_object_set_new(root, "sessions_read", json_integer((json_int_t)s->sessions_read));
    json_object_set_new(root, "journey_sessions", json_integer((json_int_t)s->journey_sessions));
    json_object_set_new(root, "bad_rows_skipped", json_integer((json_int_t)s->bad_rows_skipped));
    json_object_set_new(root, "attribution_rows", json_integer((json_int_t)s->attribution_rows));
    json_object_set_new(root, "attribution_unchanged",
                        json_integer((json_int_t)s->attribution_unchanged));
    json_object_set_new(root, "report_dates", json_integer((json_int_t)s->report_dates));
    json_object_set_new(root, "report_rows", json_integer((json_int_t)s->report_rows));
    json_object_set_new(root, "csv_rows", json_integer((json_int_t)s->csv_rows));
    json_object_set_new(root, "api_requests", json_integer((json_int_t)s->api_requests));
    json_object_set_new(root, "api_retries", json_integer((json_int_t)s->api_retries));
    json_object_set_new(root, "seconds", json_real(s->seconds));
    json_object_set_new(root, "read_seconds", json_real(s->read_seconds));
    json_object_set_new(root, "model_seconds", json_real(s->model_seconds));
    json_object_set_new(root, "write_seconds", json_real(s->write_seconds));
    text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text == NULL || attrib_ctx_new(&ctx) != ATTRIB_OK) {
        rc = cli_errorf(CLI_EXIT_RUNTIME, "out of memory writing --summary-json");
        goto done;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* over the NUL: the file ends with a newline; len + 1 bytes are written */
    if (attrib_file_save(ctx, cfg->summary_json, text, len + 1) != ATTRIB_OK)
        rc = cli_errorf(CLI_EXIT_RUNTIME, "--summary-json: %s", attrib_errmsg(ctx));
done:
    attrib_ctx_free(ctx);
    free(text);
    json_decref(unattr);
    json_decref(root);
    return rc;
}

int cli_summary(const cli_config *cfg, const char *command, const attrib_summary *s, int status)
{
    cli_progress_done();
    if (s->conversions_selected > 0 || strcmp(command, "attribute") == 0 ||
        strcmp(command, "run") == 0)
        cli_infof("attrib %s: %llu conversions selected, %llu attributed, %llu without any "
                  "session (revenue %.2f)%s",
                  command, (unsigned long long)s->conversions_selected,
                  (unsigned long long)s->conversions_attributed,
                  (unsigned long long)s->n_unattributable, s->unattributable_revenue,
                  s->conversions_failed > 0 ? ", some failed" : "");
    for (uint64_t i = 0; i < s->n_unattributable && i < 10; i++)
        cli_infof("  unattributable: conv_id %s (revenue %.2f)", s->unattributable[i].conv_id,
                  s->unattributable[i].revenue);
    if (s->n_unattributable > 10)
        cli_infof("  ... and %llu more (see --summary-json)",
                  (unsigned long long)(s->n_unattributable - 10));
    char line[512];
    int n = snprintf(line, sizeof(line), "  %llu sessions read, %llu journey sessions",
                     (unsigned long long)s->sessions_read, (unsigned long long)s->journey_sessions);
    if (s->attribution_rows > 0 && n > 0 && (size_t)n < sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, ", %llu attribution rows written",
                      (unsigned long long)s->attribution_rows);
    if (s->attribution_unchanged > 0 && n > 0 && (size_t)n < sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n,
                      ", %llu attribution rows unchanged (not rewritten)",
                      (unsigned long long)s->attribution_unchanged);
    if (s->report_rows > 0 && n > 0 && (size_t)n < sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, ", %llu report rows over %llu dates",
                      (unsigned long long)s->report_rows, (unsigned long long)s->report_dates);
    if (s->csv_rows > 0 && n > 0 && (size_t)n < sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, ", %llu CSV rows",
                      (unsigned long long)s->csv_rows);
    cli_infof("%s, %.2f s", line, s->seconds);
    if (s->bad_rows_skipped > 0)
        cli_warnf("%llu bad input rows were skipped (--skip-bad-rows)",
                  (unsigned long long)s->bad_rows_skipped);
    if (s->api_requests > 0)
        cli_infof("  %llu API requests, %llu retries", (unsigned long long)s->api_requests,
                  (unsigned long long)s->api_retries);
    if (cfg->summary_json != NULL) {
        int rc = write_summary_json(cfg, command, s, status);
        if (rc != CLI_EXIT_OK && status == CLI_EXIT_OK)
            return rc;
    }
    return status;
}

/* The one context a signal may cancel (the CLI runs one command). */
static attrib_ctx *volatile g_signal_ctx;

static void on_signal(int sig)
{
    (void)sig;
    attrib_ctx_cancel(g_signal_ctx);
}

int cli_ctx(const cli_config *cfg, attrib_ctx **out)
{
    if (attrib_ctx_new(out) != ATTRIB_OK)
        return cli_errorf(CLI_EXIT_RUNTIME, "out of memory");
    g_signal_ctx = *out;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    attrib_ctx_set_log(*out, cfg->verbose > 0 ? ATTRIB_LOG_DEBUG : ATTRIB_LOG_INFO, cli_log, NULL);
    attrib_ctx_set_progress(*out, cli_progress, NULL);
    return CLI_EXIT_OK;
}

void cli_say_recovered(const cli_config *cfg, const attrib_store *st, bool mpi)
{
    attrib_store_recovery r;
    attrib_store_recovered(st, &r);
    if (r.jobs > 0)
        cli_infof("attrib: resolved %llu dead job(s): committed %llu and rolled back %llu "
                  "prepared transactions they left (docs/scale-out.md \"Exactly once\")",
                  (unsigned long long)r.jobs, (unsigned long long)r.committed,
                  (unsigned long long)r.rolled_back);
    if (r.running > 0 && !mpi && cfg->verbose > 0) /* an MPI rank sees its own job running */
        cli_infof("attrib: %llu running job(s): their prepared transactions were left alone",
                  (unsigned long long)r.running);
}
