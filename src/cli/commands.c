/* The command table: name, help, entry point and option groups. Adding a
 * command: a cmd_<name>.c, its prototype in commands.h, a row here. */
#include "commands.h"

#include "attrib/gen.h"
#include "attrib/ihc_fit.h"

/* The library defaults the rows below show (their INIT macros decide them). */
static const attrib_gen_options gen_defaults = ATTRIB_GEN_OPTIONS_INIT;
static const attrib_ihc_eval_options eval_defaults = ATTRIB_IHC_EVAL_OPTIONS_INIT;
static const attrib_ihc_calibrate_options calibrate_defaults = ATTRIB_IHC_CALIBRATE_OPTIONS_INIT;

static const cli_opt opts_init[] = {
    CLI_OPT("schema-file", 0, OPT_STRING, schema_file, "FILE",
            "run this schema first (e.g. challenge_db_create.sql; text before the first CREATE "
            "is skipped)"),
    CLI_OPT_END,
};

static const cli_opt opts_out_csv[] = {
    CLI_OPT_D("out", 'o', OPT_STRING, out, "FILE",
              "CSV report path: a regular file is replaced atomically; a character device, "
              "FIFO or - (standard output) is written through",
              CLI_DEFAULT("channel_reporting.csv")),
    CLI_OPT("csv-raw", 0, OPT_FLAG, csv_raw, NULL,
            "write channel names as they are (by default a name starting with = + - @ TAB "
            "or CR gets a leading ' so spreadsheets do not run it as a formula)"),
    CLI_OPT_END,
};

static const cli_opt opts_html[] = {
    CLI_OPT("html", 0, OPT_STRING, html, "FILE",
            "also write the HTML report with charts (one self-contained file, written "
            "atomically)"),
    CLI_OPT("compare-models", 0, OPT_STRING, compare_models, "A,B,...",
            "with --html: compare these models per channel in the report (last is added)"),
    CLI_OPT_END,
};

static const cli_opt opts_journeys[] = {
    CLI_OPT_D("format", 0, OPT_STRING, format, "ihc-json|jsonl|csv",
              "output format (ihc-json: the API's request body)", CLI_DEFAULT("ihc-json")),
    CLI_OPT_D("out", 'o', OPT_STRING, out, "FILE",
              "write to FILE (replaced atomically; - = standard output)", CLI_DEFAULT("-")),
    CLI_OPT("csv-raw", 0, OPT_FLAG, csv_raw, NULL,
            "csv: ids and channel names as they are (by default one starting with = + - @ "
            "TAB or CR gets a leading ')"),
    CLI_OPT_END,
};

static const cli_opt opts_gen[] = {
    CLI_OPT_D("sessions", 'n', OPT_UINT, sessions, "N",
              "about N sessions (within ~2% from 100k up)",
              CLI_DEFAULT_LIB(&gen_defaults.sessions)),
    CLI_OPT_D("seed", 0, OPT_UINT, seed, "S", "random seed: same seed, same rows",
              CLI_DEFAULT_LIB(&gen_defaults.seed)),
    CLI_OPT_D("start-date", 0, OPT_STRING, gen_start, "YYYY-MM-DD", "first day of the data",
              CLI_DEFAULT_LIB(&gen_defaults.start_date)),
    CLI_OPT_D("days", 0, OPT_UINT, gen_days, "N",
              "days spanned (0 = ~30 per million sessions, 7..730)",
              CLI_DEFAULT_LIB(&gen_defaults.days)),
    CLI_OPT_D("layout", 0, OPT_STRING, gen_layout, "time|sorted|shuffled",
              "row order of the tables: event time (ids random), ascending id, or "
              "shuffled by the seed; the rows are the same",
              CLI_DEFAULT("time")),
    CLI_OPT("force", 0, OPT_FLAG, force, NULL,
            "replace existing input data (and empty the attribution and report tables)"),
    CLI_OPT_END,
};

static const cli_opt opts_recorded[] = {
    CLI_OPT("requests", 0, OPT_STRING, requests, "FILE",
            "recorded request bodies (a JSON list, as tests/data/ihc-real/*/requests.json)"),
    CLI_OPT("responses", 0, OPT_STRING, responses, "FILE",
            "recorded response bodies, aligned with --requests"),
    CLI_OPT("audit-dir", 0, OPT_STRING, audit_dir, "DIR",
            "read NNNNNN.request.json / NNNNNN.response.json pairs from DIR instead"),
    CLI_OPT_D("holdout-percent", 0, OPT_UINT, holdout_percent, "P",
              "share of conversions held out (1..100)",
              CLI_DEFAULT_LIB(&eval_defaults.holdout_percent)),
    CLI_OPT_END,
};

/* --split names, indexed by attrib_ihc_split. */
static const char *const split_names[] = {
    [ATTRIB_IHC_SPLIT_ALL] = "all",
    [ATTRIB_IHC_SPLIT_TRAIN] = "train",
    [ATTRIB_IHC_SPLIT_HOLDOUT] = "holdout",
};
_Static_assert(sizeof(split_names) / sizeof(split_names[0]) == ATTRIB_IHC_SPLIT_HOLDOUT + 1,
               "one name per attrib_ihc_split value");
#define SPLIT_HELP "conversions used, by a hash of conversion_id"

static const cli_opt opts_eval[] = {
    CLI_OPT("model-file", 0, OPT_STRING, model_file, "FILE",
            "IHC parameters (JSON), or a builtin name: default, base"),
    CLI_OPT_D("split", 0, OPT_STRING, split, "all|train|holdout", SPLIT_HELP,
              CLI_DEFAULT_ENUM(&eval_defaults.split, split_names)),
    CLI_OPT_D("worst", 0, OPT_UINT, worst, "N", "worst journeys listed",
              CLI_DEFAULT_LIB(&eval_defaults.worst)),
    CLI_OPT_END,
};

static const cli_opt opts_calibrate[] = {
    CLI_OPT_D("split", 0, OPT_STRING, split, "all|train|holdout", SPLIT_HELP,
              CLI_DEFAULT_ENUM(&calibrate_defaults.split, split_names)),
    CLI_OPT("out", 'o', OPT_STRING, out, "FILE", "model file to write (required)"),
    CLI_OPT_D("sweeps", 0, OPT_UINT, sweeps, "N", "coordinate-descent passes",
              CLI_DEFAULT_LIB(&calibrate_defaults.sweeps)),
    CLI_OPT(
        "start-model", 0, OPT_STRING, start_model, "FILE",
        "start from the holder function and channel weights of FILE (tables come from the data)"),
    CLI_OPT_END,
};

static const cli_opt *const g_eval[] = {cli_opts_global, opts_recorded, opts_eval, NULL};
static const cli_opt *const g_calibrate[] = {cli_opts_global, opts_recorded, opts_calibrate, NULL};
static const cli_opt opts_copy[] = {
    CLI_OPT("from", 0, OPT_STRING, copy_from, "TARGET",
            "source: SQLite path or postgresql:// URI (required)"),
    CLI_OPT("to", 0, OPT_STRING, copy_to, "TARGET",
            "destination: SQLite path or postgresql:// URI (required; created if missing)"),
    CLI_OPT("force", 0, OPT_FLAG, force, NULL,
            "replace the destination's rows (its attribution and report tables are emptied too)"),
    CLI_OPT_END,
};

static const cli_opt opts_partition[] = {
    CLI_OPT("parts", 0, OPT_UINT, parts, "P",
            "hash partitions per table (2..1024; required): shard K of N then reads the "
            "partitions whose number is K mod N"),
    CLI_OPT_END,
};
static const cli_opt *const g_partition[] = {cli_opts_global, opts_partition, NULL};

static const cli_opt *const g_recover[] = {cli_opts_global, NULL};
static const cli_opt *const g_init[] = {cli_opts_global, opts_init, NULL};
static const cli_opt *const g_journeys[] = {cli_opts_global, cli_opts_select, cli_opts_journey,
                                            opts_journeys, NULL};
static const cli_opt *const g_attribute[] = {
    cli_opts_global, cli_opts_select, cli_opts_journey, cli_opts_engine,  cli_opts_phases,
    cli_opts_api,    cli_opts_model,  cli_opts_shard,   cli_opts_summary, NULL};
static const cli_opt opts_report[] = {
    CLI_OPT("merge", 0, OPT_FLAG, merge, NULL,
            "the merge step after --shard K/N runs: rebuild channel_reporting and the report's "
            "sums from every stored attribution row, ignoring the incremental sums (no date "
            "range)"),
    CLI_OPT_END,
};
static const cli_opt *const g_report[] = {cli_opts_global, cli_opts_select, opts_report,
                                          cli_opts_summary, NULL};
static const cli_opt *const g_export[] = {
    cli_opts_global, cli_opts_select, cli_opts_journey, cli_opts_model,
    opts_out_csv,    opts_html,       cli_opts_summary, NULL};
static const cli_opt *const g_run[] = {cli_opts_global, cli_opts_select,  cli_opts_journey,
                                       cli_opts_engine, cli_opts_phases,  cli_opts_api,
                                       cli_opts_model,  cli_opts_shard,   opts_out_csv,
                                       opts_html,       cli_opts_summary, NULL};
static const cli_opt *const g_serve[] = {cli_opts_global, cli_opts_engine, cli_opts_serve, NULL};
static const cli_opt *const g_models[] = {cli_opts_global, NULL};
static const cli_opt *const g_gen[] = {cli_opts_global, opts_gen, NULL};
static const cli_opt *const g_copy[] = {cli_opts_global, opts_copy, NULL};

static const cli_opt opts_compare[] = {
    /* cmd_compare.c drops ihc from the default when the build lacks it */
    CLI_OPT_D("models", 0, OPT_STRING, models, "A,B,...", "models to compare",
              CLI_DEFAULT("ihc,last,linear,markov,shapley")),
    CLI_OPT("out", 'o', OPT_STRING, out, "FILE", "also write the table to FILE"),
    CLI_OPT_D("format", 0, OPT_STRING, format, "csv|markdown", "format of --out",
              CLI_DEFAULT_NOTE("markdown for *.md, else csv")),
    CLI_OPT_END,
};
static const cli_opt opts_markov[] = {
    CLI_OPT("print-transitions", 0, OPT_FLAG, print_transitions, NULL,
            "also print every transition (from, to, count, probability)"),
    CLI_OPT_END,
};
static const cli_opt *const g_compare[] = {cli_opts_global, cli_opts_select, cli_opts_journey,
                                           cli_opts_model,  opts_compare,    NULL};
static const cli_opt *const g_markov[] = {cli_opts_global, cli_opts_select, cli_opts_journey,
                                          cli_opts_model,  opts_markov,     NULL};

const cli_cmd cli_commands[] = {
    {"init", "create the output and attrib tables and indexes (idempotent)",
     "Create attribution_customer_journey, channel_reporting, attrib's own tables and the\n"
     "indexes incremental runs need. Safe to run again. With --schema-file, that schema\n"
     "(such as the official challenge_db_create.sql) is executed first. Creates the\n"
     "SQLite file if it does not exist.",
     cmd_init, g_init},
    {"gen", "write a realistic synthetic dataset into the input tables",
     "Generate sessions, conversions and costs that look like real web analytics data\n"
     "(16 channels with their own costs, users with 1..n sessions over days, ~3% of users\n"
     "converting, some twice, log-normal revenue, 64-hex ids, rows in time order as a\n"
     "tracking table fills up) into session_sources, conversions and session_costs, then\n"
     "create the tables and indexes `init` creates, all in one transaction. The same\n"
     "--seed and options give the same rows. Creates the SQLite file if needed; refuses a\n"
     "database whose input tables already hold rows unless --force.",
     cmd_gen, g_gen},
    {"copy", "move the input tables between stores (SQLite <-> PostgreSQL)",
     "Stream session_sources, conversions and session_costs from --from into --to in one\n"
     "transaction on --to, creating its tables and indexes as `init` does. Values travel\n"
     "as stored, so every command gives the same results on both. Refuses a destination\n"
     "that already holds input rows unless --force. Example:\n"
     "  attrib copy --from challenge.db --to postgresql://me@dbhost/attrib",
     cmd_copy, g_copy},
    {"partition", "hash-partition the input tables by user_id (PostgreSQL)",
     "Turn session_sources and conversions into tables PARTITION BY HASH (user_id) with\n"
     "--parts partitions each (<table>_p0 ..), in place and in one transaction: a failure\n"
     "or a kill changes nothing. Columns stay; each partition keeps the primary key, the\n"
     "parent the other indexes. session_costs (no user_id) stays as it is. Then shard K\n"
     "of N (--shard K/N, rank K of attrib-mpi) reads only the partitions whose number is\n"
     "K mod N. Running it again with the same --parts changes nothing; SQLite is refused.\n"
     "Partitions can live on other servers as postgres_fdw foreign tables\n"
     "(docs/scale-out.md). Example:\n"
     "  attrib --db postgresql://me@dbhost/attrib partition --parts 8",
     cmd_partition, g_partition},
    {"recover", "resolve what dead MPI jobs left prepared (PostgreSQL)",
     "An attrib-mpi job on PostgreSQL commits in two phases: each rank PREPAREs its\n"
     "transaction as attrib-<job>-<rank>, and they commit only after the job's decision is\n"
     "stored. A job whose ranks died leaves prepared transactions that hold row locks.\n"
     "Every step that writes (init, attribute, report, run) resolves them first; this\n"
     "command does only that: each dead job's transactions are committed when it had\n"
     "decided to commit, else rolled back. A running job (its rank 0 holds the job's\n"
     "lock) is left alone. Nothing to do on SQLite (docs/scale-out.md). Example:\n"
     "  attrib --db postgresql://me@dbhost/attrib recover",
     cmd_recover, g_recover},
    {"journeys", "write the customer journeys as IHC JSON, JSON lines or CSV",
     "Build the journeys of the selected conversions (SPEC §3) and write them, e.g. to\n"
     "inspect them or as a training set for the IHC web UI. Changes nothing.",
     cmd_journeys, g_journeys},
    {"attribute", "compute credit per session into attribution_customer_journey",
     "Attribute the selected conversions (all without a range) and replace their rows in\n"
     "attribution_customer_journey in one transaction; the IHC API's phase values go to\n"
     "attrib_journey_phases (the local engine's with --phases). Conversions without any\n"
     "earlier session are listed in the summary and get no rows. With --shard K/N only\n"
     "the conversions of shard K's users (docs/scale-out.md); `attrib report --merge`\n"
     "after the last shard writes channel_reporting.",
     cmd_attribute, g_attribute},
    {"report", "recompute the affected channel_reporting rows",
     "Recompute channel_reporting (channel, date, cost, ihc, ihc_revenue): every row\n"
     "without a range; with one, the dates in the range from scratch, and the rows of the\n"
     "selected conversions' journeys and of what an attribute step changed since from\n"
     "the exact sums kept in attrib_report_sums (whole dates when those are not valid).\n"
     "Assumes the history outside the range is unchanged: after editing old sessions,\n"
     "costs or revenues, report without a range (docs/pipeline.md). After the last\n"
     "--shard K/N run, `attrib report --merge` builds the whole report from every\n"
     "shard's stored rows (docs/scale-out.md).",
     cmd_report, g_report},
    {"export", "write the CSV report with CPO and ROAS",
     "Write channel_reporting (the dates in the range, or all) as CSV sorted by channel and\n"
     "date, with CPO = cost / ihc and ROAS = ihc_revenue / cost (empty when the divisor\n"
     "is 0). The file is replaced atomically. With --html, the HTML report instead (and the\n"
     "CSV too when --out is given): headline figures, spend, revenue, ROAS and CPO per\n"
     "channel, daily series, IHC phase shares, an optional model comparison and the\n"
     "journeys, as inline SVG charts with their numbers in tables; it reads the input\n"
     "tables for the journeys (journey options apply).",
     cmd_export, g_export},
    {"run", "init + attribute + report + export in one go",
     "The whole pipeline: init, attribute, report and export. The attribution rows and the\n"
     "report are written in one transaction (a killed run leaves the previous state or the\n"
     "new one), then the CSV is replaced atomically. Without a range the input is read once.\n"
     "init here builds no index on the input tables: the first run with a date range builds\n"
     "them, once (`attrib init` builds them up front).\n"
     "--html also writes the HTML report of the result (as `export --html`; it reads the\n"
     "input once more). With --shard K/N: init and the shard's attribute step only; after\n"
     "the last shard, `attrib report --merge` and `attrib export` (docs/scale-out.md).",
     cmd_run, g_run},
    {"serve", "answer IHC API requests with the local engine (HTTP)",
     "Serve POST /v1/compute_ihc?conv_type_id=ID like the IHC API (same request and\n"
     "response bodies, 4-decimal values, the caps of --max-journeys-per-request and\n"
     "--max-sessions-per-request) computed by the local model, e.g. as --api-url for\n"
     "attribute --engine ihc-api. The x-api-key header is checked against --api-key-file\n"
     "(or $IHC_API_KEY); --no-auth is allowed on loopback addresses only. Stops cleanly on\n"
     "SIGTERM or SIGINT after answering the requests in progress.",
     cmd_serve, g_serve},
    {"eval", "measure the local IHC engine against recorded API calls",
     "Run the local IHC engine (API-compatible rounding) on recorded requests and compare\n"
     "with the recorded responses: MAE, max error and the share of sessions within 0.01\n"
     "and 0.001 for ihc and each phase, by journey length; the worst journeys; per-channel\n"
     "totals. --split holdout measures on conversions `calibrate` did not see.",
     cmd_eval, g_eval},
    {"calibrate", "fit the IHC model file to recorded API calls",
     "Fit phase weights, membership tables, the holder function and channel weights to\n"
     "recorded request/response pairs (all of them by default; --split train holds out\n"
     "the conversions whose hashed id falls in --holdout-percent) and write a model file\n"
     "for --model-file. The time scale comes from the answers: the initializer's zero\n"
     "anchor, its ramp end (restart threshold, from journeys the API cut) and the knots.\n"
     "Deterministic. Prints what it learned, how many journeys were fitted and held out,\n"
     "warnings when answers show behaviour the model cannot produce, and the fit error\n"
     "in-sample (and on the held-out conversions with --split train).",
     cmd_calibrate, g_calibrate},
    {"models", "list the attribution models", "List the models `--model` accepts.", cmd_models,
     g_models},
    {"compare", "compare attribution models per channel",
     "Run several models (--models) over the same selected journeys and print, per channel\n"
     "and model, the attributed conversions, revenue, share and ROAS (revenue / cost of the\n"
     "channel's sessions on the selected dates). --out also writes the table as CSV or\n"
     "markdown. Changes nothing in the database.",
     cmd_compare, g_compare},
    {"markov", "show the Markov model's removal effects and transitions",
     "Fit the Markov chain (--order, --markov-value) on every path of the data and print\n"
     "each channel's removal effect and share; --print-transitions adds the transition\n"
     "matrix. Changes nothing in the database.",
     cmd_markov, g_markov},
    {NULL, NULL, NULL, NULL, NULL},
};
