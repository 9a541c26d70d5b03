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

/*
 * One value per option field. The enum names the fields that options fill,
 * spelled exactly like the cli_config members (CLI_OPT pastes the member name
 * onto CLI_F_), so a row, its field and its "set" bit cannot disagree.
 */
typedef enum {
    CLI_F_db,
    CLI_F_config,
    CLI_F_verbose,
    CLI_F_quiet,
    CLI_F_log_format,
    CLI_F_start_date,
    CLI_F_end_date,
    CLI_F_lookback_days,
    CLI_F_same_time,
    CLI_F_reset_after_conversion,
    CLI_F_skip_bad_rows,
    CLI_F_phases,
    CLI_F_engine,
    CLI_F_model,
    CLI_F_model_file,
    CLI_F_threads,
    CLI_F_direct_channels,
    CLI_F_position_first,
    CLI_F_position_last,
    CLI_F_half_life,
    CLI_F_markov_order,
    CLI_F_markov_value,
    CLI_F_markov_states,
    CLI_F_markov_credit,
    CLI_F_fit_paths,
    CLI_F_fit_range,
    CLI_F_models,
    CLI_F_print_transitions,
    CLI_F_out,
    CLI_F_html,
    CLI_F_compare_models,
    CLI_F_summary_json,
    CLI_F_format,
    CLI_F_schema_file,
    CLI_F_force,
    CLI_F_sessions,
    CLI_F_seed,
    CLI_F_gen_start,
    CLI_F_gen_days,
    CLI_F_gen_layout,
    CLI_F_requests,
    CLI_F_responses,
    CLI_F_split,
    CLI_F_holdout_percent,
    CLI_F_sweeps,
    CLI_F_worst,
    CLI_F_start_model,
    CLI_F_copy_from,
    CLI_F_copy_to,
    CLI_F_help,
    CLI_F_conv_type_id,
    CLI_F_api_url,
    CLI_F_api_key_file,
    CLI_F_max_journeys,
    CLI_F_max_sessions,
    CLI_F_oversize,
    CLI_F_concurrency,
    CLI_F_max_rps,
    CLI_F_api_timeout,
    CLI_F_max_attempts,
    CLI_F_api_deadline,
    CLI_F_audit_dir,
    CLI_F_redistribution,
    CLI_F_listen,
    CLI_F_bind,
    CLI_F_port,
    CLI_F_no_auth,
    CLI_F_csv_raw,
    CLI_F_busy_timeout,
    CLI_F_max_connections,
    CLI_F_max_connections_per_ip,
    CLI_F_idle_timeout,
    CLI_F_shard,
    CLI_F_parts,
    CLI_F_merge,
    CLI_F__COUNT
} cli_field;

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
    bool csv_raw;          /* --csv-raw: no formula neutralisation in CSV output */
    uint64_t busy_timeout; /* ms to wait for another process's lock */
    bool phases;           /* store IHC phase values of the local engine too */
    /* engine */
    const char *engine;     /* local | ihc-api */
    const char *model;      /* --model NAME */
    const char *model_file; /* IHC parameters */
    uint64_t threads;
    /* model options (models other than ihc) */
    const char *direct_channels; /* last-non-direct: comma-separated names */
    const char *position_first;  /* position: share of the first session (number) */
    const char *position_last;
    const char *half_life;     /* time-decay: days (number) */
    uint64_t markov_order;     /* markov */
    bool markov_value;         /* markov: removal effects on revenue */
    const char *markov_states; /* markov: window | collapsed */
    const char *markov_credit; /* markov: global | journey */
    const char *fit_paths;     /* path models: cut | journeys */
    const char *fit_range;     /* path models: all | selected */
    const char *models;        /* compare: comma-separated model names */
    bool print_transitions;    /* markov: also print the transition matrix */
    /* outputs */
    const char *out;
    const char *html;           /* export, run: the HTML report's path */
    const char *compare_models; /* with html: models compared side by side */
    const char *summary_json;
    const char *format;      /* journeys: ihc-json | jsonl | csv; compare: csv | markdown */
    const char *schema_file; /* init */
    bool force;
    /* gen */
    uint64_t sessions;
    uint64_t seed;
    const char *gen_start;
    uint64_t gen_days;
    const char *gen_layout; /* time | sorted | shuffled */
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
    const char *listen;         /* HOST:PORT, [IPv6]:PORT */
    const char *bind;           /* overrides the host of listen */
    uint64_t port;              /* overrides the port of listen */
    bool no_auth;
    uint64_t max_connections;        /* serve: open connections at once */
    uint64_t max_connections_per_ip; /* serve: per client address */
    uint64_t idle_timeout;           /* serve: seconds a silent connection stays open */
    const char *shard;               /* --shard K/N (docs/scale-out.md) */
    uint64_t parts;                  /* partition: hash partitions by user_id */
    bool merge; /* report --merge: the whole report from every stored row (after shards) */
    /* Given in the config file or on the command line (not a default). A
     * value equal to the default is still "set": `--out channel_reporting.csv`
     * is a request, not the absence of one. */
    bool set[CLI_F__COUNT];
    char **owned; /* the config file's strings, which fields point at */
    size_t n_owned;
} cli_config;

/* Was the option of cli_config member `field` given (file or command line)? */
#define CLI_IS_SET(cfg, field) ((cfg)->set[CLI_F_##field])

typedef enum {
    OPT_FLAG,   /* bool, no argument */
    OPT_COUNT,  /* int, incremented */
    OPT_STRING, /* const char * */
    OPT_UINT,   /* uint64_t */
} cli_opt_type;

/*
 * Where an option's default comes from. The default is stated once, in the
 * row; --help prints it from there.
 *  NONE  no default: the option is simply unset unless given.
 *  TEXT  `text`, in command-line syntax; filled in through the same parser
 *        as a given value when the option is not set.
 *  LIB_* the default of the library option the value ends up in: `lib`
 *        points at that field of an object made by the library's *_INIT
 *        macro. The CLI does not copy it: it passes only values that are set,
 *        so the library's INIT decides. --help shows *lib (divided by `div`
 *        when the units differ, e.g. milliseconds shown as seconds).
 *  ENUM  like LIB_*, *lib an enum (int-sized) printed as names[*lib].
 *  NOTE  decided at run time (by the library or the environment); `text`
 *        says how, for --help only.
 * `env` (TEXT rows): an environment variable consulted before `text`.
 */
typedef enum {
    CLI_DEF_NONE = 0,
    CLI_DEF_TEXT,
    CLI_DEF_LIB_INT,
    CLI_DEF_LIB_UINT,
    CLI_DEF_LIB_LONG,
    CLI_DEF_LIB_ULONG,
    CLI_DEF_LIB_ULLONG,
    CLI_DEF_LIB_DOUBLE,
    CLI_DEF_LIB_STRING,
    CLI_DEF_ENUM,
    CLI_DEF_NOTE,
} cli_def_kind;

typedef struct {
    cli_def_kind kind;
    const char *text;         /* TEXT, NOTE */
    const void *lib;          /* LIB_*, ENUM */
    long div;                 /* LIB_*: shown as value / div; 0 = 1 */
    const char *const *names; /* ENUM */
    const char *env;          /* TEXT: environment variable tried first */
} cli_default;

typedef struct {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 when none */
    cli_opt_type type;
    cli_field field;  /* which "set" bit */
    size_t offset;    /* into cli_config */
    const char *arg;  /* argument name for help ("N", "FILE") */
    const char *help; /* one line, without the default */
    cli_default def;
} cli_opt;

/* A row without a default, and one with a default (made by a CLI_DEFAULT_*). */
#define CLI_OPT(n, s, t, fld, a, h)                                                                \
    {                                                                                              \
        .name = n, .short_name = s, .type = t, .field = CLI_F_##fld,                               \
        .offset = offsetof(cli_config, fld), .arg = a, .help = h                                   \
    }
#define CLI_OPT_D(n, s, t, fld, a, h, d)                                                           \
    {                                                                                              \
        .name = n, .short_name = s, .type = t, .field = CLI_F_##fld,                               \
        .offset = offsetof(cli_config, fld), .arg = a, .help = h, .def = d                         \
    }
#define CLI_OPT_END                                                                                \
    {                                                                                              \
        .name = NULL                                                                               \
    }

#define CLI_DEFAULT(text_)                                                                         \
    {                                                                                              \
        .kind = CLI_DEF_TEXT, .text = text_                                                        \
    }
#define CLI_DEFAULT_ENV(env_, text_)                                                               \
    {                                                                                              \
        .kind = CLI_DEF_TEXT, .text = text_, .env = env_                                           \
    }
/* The kind follows from the pointer's type, so a row cannot misread the
 * library's field (an enum field needs CLI_DEFAULT_ENUM). */
#define CLI_LIB_KIND(ptr_)                                                                         \
    _Generic((ptr_),                                                                               \
        const int *: CLI_DEF_LIB_INT,                                                              \
        const unsigned *: CLI_DEF_LIB_UINT,                                                        \
        const long *: CLI_DEF_LIB_LONG,                                                            \
        const unsigned long *: CLI_DEF_LIB_ULONG,                                                  \
        const unsigned long long *: CLI_DEF_LIB_ULLONG,                                            \
        const double *: CLI_DEF_LIB_DOUBLE,                                                        \
        const char *const *: CLI_DEF_LIB_STRING)
#define CLI_DEFAULT_LIB(ptr_)                                                                      \
    {                                                                                              \
        .kind = CLI_LIB_KIND(ptr_), .lib = ptr_                                                    \
    }
#define CLI_DEFAULT_LIB_DIV(ptr_, div_)                                                            \
    {                                                                                              \
        .kind = CLI_LIB_KIND(ptr_), .lib = ptr_, .div = div_                                       \
    }
#define CLI_DEFAULT_ENUM(ptr_, names_)                                                             \
    {                                                                                              \
        .kind = CLI_DEF_ENUM, .lib = ptr_, .names = names_                                         \
    }
#define CLI_DEFAULT_NOTE(text_)                                                                    \
    {                                                                                              \
        .kind = CLI_DEF_NOTE, .text = text_                                                        \
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
extern const cli_opt cli_opts_shard[];

/*
 * The MPI job (build/attrib-mpi, make MPI=1; src/mpi/mpi_main.c sets it, the
 * plain build leaves it NULL): rank r of `size` runs shard r/size of attribute
 * and run. Every rank must make the same calls in the same order.
 */
typedef struct {
    int rank, size;
    /* The largest of every rank's `mine` (a collective: all ranks call it). */
    int (*max_all)(int mine);
    /* Sum every rank's v[0..n) into v on all ranks (a collective). */
    void (*sum_all)(uint64_t *v, int n);
    /* Every rank's mine[0..n) into all[rank * n ..] on rank 0 (a collective; all is
     * size * n long on rank 0, unused elsewhere). */
    void (*gather)(const double *mine, int n, double *all);
    /* Every rank's mine[0..n) bytes concatenated in rank order into *all (malloc'd) on
     * every rank (a collective). Returns 0, or -1 on every rank when one rank could not
     * allocate or the total is too large for one MPI call. */
    int (*gather_bytes)(const void *mine, size_t n, void **all, size_t *n_all);
    /* The job's report: every rank's part added exactly into *all on every rank (a
     * collective; a rank that failed before calls it with ok false, and then it
     * fails on every rank). ATTRIB_OK or not; *all holds until free_report. */
    int (*reduce_report)(bool ok, const attrib_report_part *mine, attrib_report_part *all);
    void (*free_report)(attrib_report_part *all);
} cli_mpi_hooks;
extern const cli_mpi_hooks *cli_mpi;
extern const cli_opt cli_opts_api[];   /* --engine ihc-api (cli_api.c) */
extern const cli_opt cli_opts_serve[]; /* attrib serve (cli_api.c) */
extern const cli_opt cli_opts_model[];

/* The command table (commands.c), NULL-name terminated. */
extern const cli_cmd cli_commands[];

/* Parse argv[from..argc) against the groups into cfg. Returns an exit code
 * (CLI_EXIT_OK to go on). */
int cli_parse(cli_config *cfg, const cli_opt *const *groups, int argc, char **argv, int from,
              int *next, bool stop_at_positional);

/* Apply a config file (key = value lines, keys are long option names). Its
 * strings are owned by cfg until cli_config_release. */
int cli_config_file(cli_config *cfg, const cli_opt *const *groups, const char *path);

/* Free what cfg owns (the config file's strings); cfg's strings from the
 * file are invalid afterwards. */
void cli_config_release(cli_config *cfg);

/* Fill every option of the groups that is not set with its TEXT default
 * (the lowest precedence step; the "set" bits stay false). Exit code. */
int cli_apply_defaults(cli_config *cfg, const cli_opt *const *groups);

/* Help text for one command (or the overview when cmd is NULL) on stdout. */
void cli_usage(const cli_cmd *cmd);

/* The default of an option as --help shows it ("" when it has none). */
void cli_format_default(const cli_opt *o, char *buf, size_t size);

/* Texts of the overview, shared by --help and the man page. */
#define CLI_ABOUT                                                                                  \
    "Marketing attribution: customer journeys from sessions and conversions,\n"                    \
    "credit per session (IHC local engine, IHC API or classic models), a channel\n"                \
    "report with CPO and ROAS.\n"
#define CLI_VERSION_HELP "print the version, the commit and the linked libraries' versions"
#define CLI_ENVIRONMENT "ATTRIB_DB (database target), IHC_API_KEY (API key)."
#define CLI_EXIT_STATUS                                                                            \
    "0 success, 1 runtime failure, 2 usage error, 3 input data rejected,\n"                        \
    "4 partial success (some conversions failed; the rest is stored).\n"

/* attrib(1) in roff, and a completion script for SHELL (bash, zsh), both on
 * stdout and generated from the option tables (helpgen.c). Exit code. */
int cli_help_man(void);
int cli_help_completion(const char *shell);

/* ---- shared helpers for commands (cli_common.c) ---- */

/* Run options from the config (model lookup included). Exit code. */
int cli_run_options(const cli_config *cfg, attrib_run_options *out);

/* Open the store of cfg->db; flags ATTRIB_STORE_*. Exit code. */
struct attrib_store;
int cli_open_store(attrib_ctx *ctx, cli_config *cfg, unsigned flags, struct attrib_store **out);

/* Map a library code to an exit code, printing the context's message. */
int cli_fail(attrib_ctx *ctx, int code);

/* Check an output path before any work, naming the option: exit 2 for an
 * empty path or a refused type (a directory), 1 for a missing directory. */
int cli_check_out(attrib_ctx *ctx, const char *option, const char *path);

/* Say what the store's recovery of dead MPI jobs' prepared transactions did
 * (attrib_store_recovered); running jobs only with -v and outside an MPI job. */
void cli_say_recovered(const cli_config *cfg, const attrib_store *st, bool mpi);

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
