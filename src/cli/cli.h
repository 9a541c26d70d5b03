/*
 * The attrib command line: one config struct filled from defaults, then the
 * config file, then argv (STYLE.md §12); option tables from which parsing
 * and --help are generated (§11); one cmd_<name>.c per command.
 */
#ifndef ATTRIB_CLI_H
#define ATTRIB_CLI_H

#include "attrib/ihc_json.h"
#include "attrib/pipeline.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes (SPEC §2). Stable: scripts depend on them. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_RUNTIME = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_DATA = 3,
    CLI_EXIT_PARTIAL = 4,
};

typedef struct {
    /* global */
    const char *db;
    const char *db_display; /* db without password, set once the store is open */
    const char *config;
    int verbose;            /* -v count */
    bool quiet;             /* -q */
    const char *log_format; /* text | json */
    /* selection and journeys */
    const char *start_date, *end_date;
    uint64_t lookback_days;
    bool same_time, reset_after_conversion, skip_bad_rows;
    bool phases; /* store IHC phase values of the local engine too */
    /* engine */
    const char *engine;     /* local | ihc-api */
    const char *model;      /* --model NAME */
    const char *model_file; /* IHC parameters */
    uint64_t threads;
    /* model options (models other than ihc) */
    const char *direct_channels; /* last-non-direct: comma-separated names */
    const char *position_first;  /* position: share of the first session (number) */
    const char *position_last;
    const char *half_life;  /* time-decay: days (number) */
    uint64_t markov_order;  /* markov: 0 = default 1 */
    bool markov_value;      /* markov: removal effects on revenue */
    const char *models;     /* compare: comma-separated model names */
    bool print_transitions; /* markov: also print the transition matrix */
    /* outputs */
    const char *out;
    const char *summary_json;
    const char *format;      /* journeys: ihc-json | jsonl | csv */
    const char *schema_file; /* init */
    bool force;
    /* gen */
    uint64_t sessions;
    uint64_t seed;
    const char *gen_start;
    uint64_t gen_days;
    /* eval / calibrate */
    const char *requests, *responses; /* recorded API calls (or audit_dir below) */
    const char *split;                /* all | train | holdout */
    uint64_t holdout_percent;         /* share held out by hash of conversion_id */
    uint64_t sweeps;                  /* calibrate: coordinate-descent passes */
    uint64_t worst;                   /* eval: worst journeys listed */
    const char *start_model;          /* calibrate: model file to start from */
    /* copy */
    const char *copy_from, *copy_to;
    bool help;
    /* ihc-api engine and serve (cli_api.c) */
    const char *conv_type_id;
    const char *api_url;
    const char *api_key_file;
    uint64_t max_journeys; /* per request */
    uint64_t max_sessions; /* per request */
    const char *oversize;  /* keep-latest | skip | fail */
    uint64_t concurrency;
    const char *max_rps;  /* a decimal number */
    uint64_t api_timeout; /* seconds per request */
    uint64_t max_attempts;
    uint64_t api_deadline; /* seconds for the whole run, 0 = none */
    const char *audit_dir;
    const char *redistribution; /* JSON object, or @FILE */
    const char *bind;
    uint64_t port;
    bool no_auth;
} cli_config;

typedef enum {
    OPT_FLAG,   /* bool, no argument */
    OPT_COUNT,  /* int, incremented */
    OPT_STRING, /* const char * */
    OPT_UINT,   /* uint64_t */
} cli_opt_type;

typedef struct {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 when none */
    cli_opt_type type;
    size_t offset;    /* into cli_config */
    const char *arg;  /* argument name for help ("N", "FILE") */
    const char *help; /* one line */
} cli_opt;

#define CLI_OPT(n, s, t, field, a, h)                                                              \
    {                                                                                              \
        n, s, t, offsetof(cli_config, field), a, h                                                 \
    }
#define CLI_OPT_END                                                                                \
    {                                                                                              \
        NULL, 0, OPT_FLAG, 0, NULL, NULL                                                           \
    }

typedef struct cli_cmd {
    const char *name;
    const char *summary;     /* one line for the command list */
    const char *description; /* paragraph for `attrib CMD --help` */
    int (*run)(cli_config *cfg);
    const cli_opt *const *groups; /* NULL-terminated option groups */
} cli_cmd;

/* Option groups shared by commands. */
extern const cli_opt cli_opts_global[];
extern const cli_opt cli_opts_select[];
extern const cli_opt cli_opts_journey[];
extern const cli_opt cli_opts_engine[];
extern const cli_opt cli_opts_phases[]; /* attribute, run */
extern const cli_opt cli_opts_summary[];
extern const cli_opt cli_opts_api[];   /* --engine ihc-api (cli_api.c) */
extern const cli_opt cli_opts_serve[]; /* attrib serve (cli_api.c) */
extern const cli_opt cli_opts_model[];

/* The command table (commands.c), NULL-name terminated. */
extern const cli_cmd cli_commands[];

/* Parse argv[from..argc) against the groups into cfg. Returns an exit code
 * (CLI_EXIT_OK to go on). */
int cli_parse(cli_config *cfg, const cli_opt *const *groups, int argc, char **argv, int from,
              int *next, bool stop_at_positional);

/* Apply a config file (key = value lines, keys are long option names). */
int cli_config_file(cli_config *cfg, const cli_opt *const *groups, const char *path);

/* Help text for one command (or the overview when cmd is NULL) on stdout. */
void cli_usage(const cli_cmd *cmd);

/* ---- shared helpers for commands (cli_common.c) ---- */

/* Run options from the config (model lookup included). Exit code. */
int cli_run_options(const cli_config *cfg, attrib_run_options *out);

/* Open the store of cfg->db; flags ATTRIB_STORE_*. Exit code. */
struct attrib_store;
int cli_open_store(attrib_ctx *ctx, cli_config *cfg, unsigned flags, struct attrib_store **out);

/* Map a library code to an exit code, printing the context's message. */
int cli_fail(attrib_ctx *ctx, int code);

/* Print the human summary on stderr and write --summary-json. Exit code. */
int cli_summary(const cli_config *cfg, const char *command, const attrib_summary *sum, int status);

/* The API key from --api-key-file (refused when group/others may read it) or
 * $IHC_API_KEY; *out is malloc'ed (NULL when neither is set). Exit code. */
int cli_read_api_key(const cli_config *cfg, char **out);

/* API client options from the config (--engine ihc-api): the key is read,
 * the redistribution parsed; release with cli_api_free. */
typedef struct {
    attrib_api_options opts;
    char *key;
    attrib_ihc_redist *redist;
} cli_api;
int cli_api_setup(const cli_config *cfg, cli_api *out);
void cli_api_free(cli_api *a);

/* A context with log and progress wired to the terminal. */
int cli_ctx(const cli_config *cfg, attrib_ctx **out);

#endif
