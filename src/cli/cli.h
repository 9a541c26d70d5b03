/*
 * The attrib command line: one config struct filled from defaults, then the
 * config file, then argv (STYLE.md §12); option tables from which parsing
 * and --help are generated (§11); one cmd_<name>.c per command.
 */
#ifndef ATTRIB_CLI_H
#define ATTRIB_CLI_H

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
    const char *config;
    int verbose;            /* -v count */
    bool quiet;             /* -q */
    const char *log_format; /* text | json */
    /* selection and journeys */
    const char *start_date, *end_date;
    uint64_t lookback_days;
    bool same_time, reset_after_conversion, skip_bad_rows;
    /* engine */
    const char *engine;     /* local | ihc-api */
    const char *model;      /* --model NAME */
    const char *model_file; /* IHC parameters */
    uint64_t threads;
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
    /* copy */
    const char *copy_from, *copy_to;
    bool help;
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
extern const cli_opt cli_opts_summary[];

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
int cli_open_store(attrib_ctx *ctx, const cli_config *cfg, unsigned flags,
                   struct attrib_store **out);

/* Map a library code to an exit code, printing the context's message. */
int cli_fail(attrib_ctx *ctx, int code);

/* Print the human summary on stderr and write --summary-json. Exit code. */
int cli_summary(const cli_config *cfg, const char *command, const attrib_summary *sum, int status);

/* A context with log and progress wired to the terminal. */
int cli_ctx(const cli_config *cfg, attrib_ctx **out);

#endif
