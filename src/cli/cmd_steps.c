/*
 * attrib attribute | report | export | run: the pipeline steps. They share
 * one shape (options → store → step → summary), so they share this file.
 */
#include "commands.h"
#include "msgs.h"

#include "attrib/html.h"
#include "attrib/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

typedef enum { STEP_ATTRIBUTE, STEP_REPORT, STEP_EXPORT, STEP_RUN } step_kind;

static const char *const step_names[] = {"attribute", "report", "export", "run"};
_Static_assert(sizeof(step_names) / sizeof(step_names[0]) == STEP_RUN + 1, "one name per step");

#define MAX_HTML_MODELS 32

/* --html (export, run): the HTML report, after the step. Exit code. */
static int html_report(cli_config *cfg, attrib_ctx *ctx, attrib_store *st,
                       const attrib_run_options *opts, const attrib_model_ops *const *models,
                       size_t n_models, attrib_summary *sum)
{
    attrib_html_options ho = ATTRIB_HTML_OPTIONS_INIT;
    ho.compare = models;
    ho.n_compare = n_models;
    int lrc = attrib_export_html(ctx, st, opts, &ho, cfg->html, sum);
    if (lrc != ATTRIB_OK)
        return cli_fail(ctx, lrc);
    cli_progress_done();
    cli_infof("attrib: wrote the HTML report %s", cfg->html);
    return CLI_EXIT_OK;
}

const cli_mpi_hooks *cli_mpi = NULL;

/* How an MPI job failed after its ranks agreed to commit. */
typedef enum {
    MPI_LATE_NONE,
    MPI_LATE_VOTE,      /* the vote: a rank's COMMIT failed after every rank voted yes */
    MPI_LATE_COMMITTED, /* two-phase: a rank failed after the decision; all is committed */
    MPI_LATE_IN_DOUBT,  /* two-phase: and what it left prepared is not committed yet */
} mpi_late;

/* The commit vote of an MPI rank: yes here, and every rank's answer decides.
 * With two-phase commit (job set) every rank has prepared when it votes, and a
 * unanimous yes is the job's decision to commit once rank 0 has made it
 * durable (attrib_store_job_decide); only then does any rank commit. */
typedef struct {
    bool voted;
    bool all_yes;       /* every rank voted yes (and the decision is durable): each commits */
    double seconds;     /* in the vote: waiting for the slowest rank, then the reduction */
    attrib_store *st;   /* rank 0's, which records the decision */
    const char *job;    /* two-phase commit: the job's id; NULL: a vote before COMMIT */
    bool decide_failed; /* rank 0 could not record the decision: nobody commits */
} mpi_vote;

static double mono_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int vote_yes(void *payload)
{
    mpi_vote *v = payload;
    v->voted = true;
    double t0 = mono_seconds();
    int all = cli_mpi->max_all(0);
    if (all == 0 && v->job != NULL) { /* every rank prepared: the decision, then the commits */
        v->decide_failed =
            cli_mpi->rank == 0 && attrib_store_job_decide(v->st, v->job) != ATTRIB_OK;
        all = cli_mpi->max_all(v->decide_failed);
    }
    v->seconds = mono_seconds() - t0;
    v->all_yes = all == 0;
    return all == 0 ? ATTRIB_OK : ATTRIB_ERROR;
}

/* The reduction of a model's statistics (attrib_reducer) over the MPI hooks:
 * whether this rank joined it, its wait for the others at the first
 * collective, and the time from there to the end of the last one. */
typedef struct {
    bool entered;
    double wait, seconds, t0;
} mpi_reduce;

static int reduce_max(int mine, int *out, void *payload)
{
    mpi_reduce *r = payload;
    double t = mono_seconds();
    *out = cli_mpi->max_all(mine);
    if (!r->entered) { /* the first collective: every rank is here after it */
        r->entered = true;
        r->t0 = mono_seconds();
        r->wait = r->t0 - t;
    }
    r->seconds = mono_seconds() - r->t0;
    return ATTRIB_OK;
}

static int reduce_gather(const void *mine, size_t n, void **all, size_t *n_all, void *payload)
{
    mpi_reduce *r = payload;
    int rc = cli_mpi->gather_bytes(mine, n, all, n_all);
    r->seconds = mono_seconds() - r->t0;
    return rc == 0 ? ATTRIB_OK : ATTRIB_ERROR;
}

static int reduce_sum(uint64_t *v, size_t n, void *payload)
{
    mpi_reduce *r = payload;
    for (size_t k; n > 0; v += k, n -= k) {
        k = n < ((size_t)1 << 28) ? n : (size_t)1 << 28;
        cli_mpi->sum_all(v, (int)k);
    }
    r->seconds = mono_seconds() - r->t0;
    return ATTRIB_OK;
}

/* The report's reduction of a run (docs/scale-out.md): each rank's part out of
 * its attribute step, the job's sum back in; rank 0 writes it. */
typedef struct {
    bool entered;           /* the step got as far as the reduction */
    double wait, seconds;   /* its wait for the slowest rank; the reduction */
    attrib_report_part all; /* the job's, held by the hook */
} mpi_report;

static int reduce_report(void *payload, const attrib_report_part *mine, attrib_report_part *all)
{
    mpi_report *r = payload;
    r->entered = true;
    double t0 = mono_seconds();
    if (cli_mpi->max_all(0) != 0) /* a rank failed before: nobody reduces */
        return ATTRIB_ERROR;
    double t1 = mono_seconds();
    int rc = cli_mpi->reduce_report(true, mine, &r->all);
    r->wait = t1 - t0;
    r->seconds = mono_seconds() - t1;
    *all = r->all;
    return rc;
}

/* With -v, rank 0 lists every rank's times (bench/mpi_run.sh reads them). */
enum {
    RANK_READ,
    RANK_MODEL,
    RANK_WRITE,
    RANK_VOTE,
    RANK_REDUCE,
    RANK_STATS_WAIT,
    RANK_STATS,
    RANK_SESSIONS,
    RANK_REPORT_WAIT,
    RANK_REPORT,
    RANK_TIMES
};

static void rank_times(const cli_config *cfg, const attrib_summary *sum, const mpi_vote *vote,
                       const mpi_reduce *stats, const mpi_report *report, double reduce_seconds)
{
    double mine[RANK_TIMES] = {
        [RANK_READ] = sum->read_seconds,
        [RANK_MODEL] = sum->model_seconds,
        /* the waits and the report's reduction are theirs */
        [RANK_WRITE] = sum->write_seconds - vote->seconds - report->wait - report->seconds,
        [RANK_VOTE] = vote->seconds,
        [RANK_REDUCE] = reduce_seconds,
        [RANK_STATS_WAIT] = stats->wait,
        [RANK_STATS] = stats->seconds,
        [RANK_SESSIONS] = (double)sum->sessions_read, /* exact below 2^53 */
        [RANK_REPORT_WAIT] = report->wait,
        [RANK_REPORT] = report->seconds,
    };
    double *all = NULL;
    if (cli_mpi->rank == 0)
        all = calloc((size_t)cli_mpi->size * RANK_TIMES, sizeof(*all));
    /* collective: every rank learns whether rank 0 has room, and gathers only then */
    if (cli_mpi->max_all(cli_mpi->rank == 0 && all == NULL) == 0)
        cli_mpi->gather(mine, RANK_TIMES, all);
    for (int r = 0; all != NULL && cfg->verbose > 0 && r < cli_mpi->size; r++) {
        const double *t = all + (size_t)r * RANK_TIMES;
        cli_infof("attrib: rank %d: read %.3f s, attribute %.3f s, write %.3f s, vote %.6f s, "
                  "reductions %.6f s, statistics wait %.3f s, statistics reduction %.6f s, "
                  "sessions read %.0f, report wait %.6f s, report reduction %.6f s",
                  r, t[RANK_READ], t[RANK_MODEL], t[RANK_WRITE], t[RANK_VOTE], t[RANK_REDUCE],
                  t[RANK_STATS_WAIT], t[RANK_STATS], t[RANK_SESSIONS], t[RANK_REPORT_WAIT],
                  t[RANK_REPORT]);
    }
    free(all);
}

/*
 * attribute and run in an MPI job (docs/scale-out.md): rank 0 creates the
 * tables (run); every rank attributes shard rank/size (a model of every path
 * reduces its statistics across the ranks on the way) and, with its
 * transaction written but not committed, votes; all commit only when every
 * rank voted yes (a rank that failed earlier votes no), else all roll back.
 * A run reduces the report's sums in the step (every rank's part, added
 * exactly): without a range rank 0 writes channel_reporting and the sums from
 * them in its transaction; with one it applies the job's delta to the sums
 * there and runs the (incremental) report step after the commit.
 * The summaries are summed; rank 0 then writes the CSV (run).
 */
/* A job id every rank shares: the time and 32 random bits, nonzero. */
static uint64_t new_job_id(void)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        r = (uint32_t)t.tv_nsec ^ ((uint32_t)getpid() << 8);
    }
    return ((uint64_t)time(NULL) << 32 | r) | 1;
}

/* Rank 0: whether the job commits in two phases (PREPARE TRANSACTION), and if
 * so its id, registered; else why not (the vote before COMMIT instead). */
static int mpi_commit_mode(attrib_store *st, bool ranged, uint64_t *job, char *why, size_t size)
{
    uint32_t slots = 0;
    const char *reason = NULL;
    *job = 0;
    int rc = attrib_store_twophase(st, &slots, &reason);
    if (rc != ATTRIB_OK)
        return rc;
    if (reason != NULL)
        snprintf(why, size, "%s", reason);
    else if (slots < (uint32_t)cli_mpi->size)
        snprintf(why, size, "the server's max_prepared_transactions (%u) is below the ranks (%d)",
                 slots, cli_mpi->size);
    else if (ranged) /* the report's sums of a range go through a temp table */
        snprintf(why, size, "a job with a date range is not prepared yet");
    else {
        char id[ATTRIB_JOB_ID_MAX + 1];
        uint64_t j = new_job_id();
        snprintf(id, sizeof(id), "%016llx", (unsigned long long)j);
        rc = attrib_store_job_begin(st, id);
        if (rc == ATTRIB_OK)
            *job = j;
    }
    return rc;
}

/* Rank 0, every rank done: commit (decided) or roll back what a rank left
 * prepared, and forget the job. Says what it did; false when it failed. */
static bool mpi_job_end(const cli_config *cfg, attrib_ctx *ctx, attrib_store *st, const char *job)
{
    attrib_store_recovery left;
    if (attrib_store_job_end(st, job, &left) != ATTRIB_OK) {
        cli_infof("attrib: job %s: %s", job, attrib_errmsg(ctx));
        return false;
    }
    if (left.committed > 0 || left.rolled_back > 0 || cfg->verbose > 0)
        cli_infof("attrib: job %s: rank 0 committed %llu and rolled back %llu prepared "
                  "transactions the ranks left",
                  job, (unsigned long long)left.committed, (unsigned long long)left.rolled_back);
    return true;
}

static int mpi_step(cli_config *cfg, step_kind kind, attrib_ctx *ctx, attrib_store *st,
                    attrib_run_options *opts, attrib_summary *sum, mpi_late *late, int *failed_rc)
{
    mpi_vote vote = {false};
    mpi_reduce stats = {false};
    attrib_reducer reducer = {reduce_max, reduce_gather, reduce_sum, &stats};
    mpi_report report = {false};
    bool ranged = opts->start_date != NULL || opts->end_date != NULL;
    char why[160] = "", job[ATTRIB_JOB_ID_MAX + 1] = "", gid[ATTRIB_JOB_ID_MAX + 32];
    uint64_t id = 0;
    int lrc = ATTRIB_OK;
    /* Rank 0 alone creates what is missing (a ranged job: the input tables'
     * indexes too), before any rank needs it. */
    if (kind == STEP_RUN && cli_mpi->rank == 0)
        lrc = ranged ? attrib_store_init(st, NULL) : attrib_store_init_outputs(st);
    if (lrc == ATTRIB_OK && cli_mpi->rank == 0)
        lrc = mpi_commit_mode(st, ranged, &id, why, sizeof(why));
    /* rank 0's outcome and the job's id, to every rank */
    uint64_t shared[2] = {cli_mpi->rank == 0 && lrc != ATTRIB_OK, cli_mpi->rank == 0 ? id : 0};
    cli_mpi->sum_all(shared, 2);
    if (shared[0] != 0)
        return lrc != ATTRIB_OK ? lrc : ATTRIB_ERROR;
    if (shared[1] != 0) {
        snprintf(job, sizeof(job), "%016llx", (unsigned long long)shared[1]);
        snprintf(gid, sizeof(gid), "attrib-%s-%d", job, cli_mpi->rank);
        opts->prepare_gid = gid;
        vote.job = job;
        vote.st = st;
    }
    if (cfg->verbose > 0 && cli_mpi->rank == 0 && job[0] != '\0')
        cli_infof("attrib: commit: two-phase (PREPARE TRANSACTION 'attrib-%s-<rank>' on every "
                  "rank, the decision in attrib_2pc_decisions, then COMMIT PREPARED)",
                  job);
    else if (cfg->verbose > 0 && cli_mpi->rank == 0)
        cli_infof("attrib: commit: a vote just before each rank's COMMIT, not two-phase: %s", why);
    opts->shard_index = (uint32_t)cli_mpi->rank;
    opts->shard_count = (uint32_t)cli_mpi->size;
    opts->commit_vote = vote_yes;
    opts->commit_vote_payload = &vote;
    opts->reducer = &reducer;
    bool reduced = kind == STEP_RUN;
    if (reduced) {
        opts->report_reduce = reduce_report;
        opts->report_reduce_payload = &report;
        opts->report_writer = cli_mpi->rank == 0;
    }
    lrc = attrib_attribute(ctx, st, opts, sum);
    /* A rank that failed before a collective of the step joins it here with a
     * "no", in the step's order: the model's statistics, then the report. */
    if (!stats.entered && opts->model != NULL && attrib_model_reducible(opts->model))
        (void)cli_mpi->max_all(1);
    if (reduced && !report.entered)
        (void)cli_mpi->max_all(1); /* failed before the reduction: nobody reduces */
    if (!vote.voted)
        (void)cli_mpi->max_all(1); /* failed before the vote: the job rolls back */
    cli_mpi->free_report(&report.all);
    double t0 = mono_seconds();
    int failed = cli_mpi->max_all(lrc != ATTRIB_OK);
    uint64_t counts[] = {sum->conversions_selected, sum->conversions_attributed,
                         sum->journey_sessions,     sum->attribution_rows,
                         sum->bad_rows_skipped,     sum->n_unattributable,
                         sum->sessions_read};
    cli_mpi->sum_all(counts, (int)(sizeof(counts) / sizeof(counts[0])));
    rank_times(cfg, sum, &vote, &stats, &report, mono_seconds() - t0);
    if (cli_mpi->rank != 0)
        return lrc;
    /* Every rank committed or rolled back: the job's leftovers, then its end.
     * (Its calls on ctx clear this rank's failure: that is said first.) */
    if (lrc != ATTRIB_OK && job[0] != '\0')
        *failed_rc = cli_fail(ctx, lrc);
    bool ended = job[0] == '\0' || mpi_job_end(cfg, ctx, st, job);
    sum->conversions_selected = counts[0];
    sum->conversions_attributed = counts[1];
    sum->journey_sessions = counts[2];
    sum->attribution_rows = counts[3];
    sum->bad_rows_skipped = counts[4];
    sum->sessions_read = counts[6];
    opts->shard_count = 0; /* the report and export are the whole job's */
    opts->report_reduce = NULL;
    if (vote.all_yes && failed != 0 && job[0] != '\0') {
        /* Two-phase: the job decided to commit, and rank 0 committed whatever a
         * failing rank left prepared (or the next writing step's recovery will). */
        *late = ended ? MPI_LATE_COMMITTED : MPI_LATE_IN_DOUBT;
        return ATTRIB_ERROR;
    }
    if (vote.all_yes && failed != 0) {
        /* Every rank voted yes, but a commit failed after the vote: the window a
         * vote cannot close (docs/scale-out.md). The report is rebuilt from what
         * was committed (best effort); rerunning the job repairs the rest. */
        if (reduced) {
            opts->start_date = opts->end_date = NULL; /* the whole report */
            (void)attrib_report(ctx, st, opts, sum);
        }
        *late = MPI_LATE_VOTE;
        return ATTRIB_ERROR;
    }
    if (lrc != ATTRIB_OK || kind != STEP_RUN)
        return lrc;
    if (!reduced || ranged)
        lrc = attrib_report(ctx, st, opts, sum);
    if (lrc == ATTRIB_OK)
        lrc = attrib_export_csv(ctx, st, opts, cfg->out, sum);
    return lrc;
}

static int step(cli_config *cfg, step_kind kind)
{
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_summary sum = {0}, hsum = {0};
    attrib_run_options opts;
    const attrib_model_ops *models[MAX_HTML_MODELS];
    size_t n_models = 0;
    bool html = CLI_IS_SET(cfg, html);
    if (CLI_IS_SET(cfg, compare_models) && !html)
        return cli_error_usage("--compare-models goes with --html FILE");
    int rc = CLI_IS_SET(cfg, compare_models)
                 ? cli_parse_models("--compare-models", cfg->compare_models, models,
                                    MAX_HTML_MODELS, &n_models)
                 : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK)
        rc = cli_run_options(cfg, &opts);
    if (rc != CLI_EXIT_OK)
        return rc;
    /* The merge after shards is the whole report: every stored row, the sums rebuilt
     * (a ranged report would trust the sums and dirty marks the shards left). */
    if (kind == STEP_REPORT && cfg->merge && (opts.start_date != NULL || opts.end_date != NULL))
        return cli_error_usage("report --merge rebuilds the whole report from every stored "
                               "row: drop --start-date/--end-date");
    /* export --html writes only the page unless --out asks for the CSV too */
    bool csv = kind == STEP_RUN || (kind == STEP_EXPORT && (!html || CLI_IS_SET(cfg, out)));
    cli_api api = {0};
    /* Only attribute and run have --engine (and so a value for it). */
    bool engine_step = kind == STEP_ATTRIBUTE || kind == STEP_RUN;
    if (engine_step && strcmp(cfg->engine, "ihc-api") == 0) {
        rc = cli_api_setup(cfg, &api);
        if (rc != CLI_EXIT_OK)
            return rc;
        opts.api = &api.opts;
        opts.api_force = cfg->force;
    } else if (engine_step && strcmp(cfg->engine, "local") != 0)
        return cli_error_usage("--engine takes local or ihc-api, not '%s'", cfg->engine);
    rc = cli_ctx(cfg, &ctx);
    /* Outputs are checked before any work: a bad path costs nothing. */
    if (rc == CLI_EXIT_OK && (kind == STEP_EXPORT || kind == STEP_RUN))
        rc = cli_check_out(ctx, "--out", cfg->out);
    if (rc == CLI_EXIT_OK && cfg->summary_json != NULL)
        rc = cli_check_out(ctx, "--summary-json", cfg->summary_json);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(ctx, cfg, 0, &st);
    if (rc != CLI_EXIT_OK)
        goto done;
    int lrc = ATTRIB_OK;
    bool mpi = cli_mpi != NULL && (kind == STEP_ATTRIBUTE || kind == STEP_RUN);
    if (cli_mpi != NULL && !mpi && cli_mpi->rank != 0)
        goto done; /* report and export: rank 0's */
    if (mpi && opts.shard_count > 0) {
        rc = cli_error_usage("attrib-mpi shards by rank: drop --shard");
        goto done;
    }
    if (mpi && cli_mpi->size > 1 && strncmp(cfg->db, "postgresql://", 13) != 0 &&
        strncmp(cfg->db, "postgres://", 11) != 0) {
        rc = cli_error_usage("attrib-mpi with %d ranks needs PostgreSQL (--db postgresql://...): "
                             "SQLite has one writer at a time (docs/scale-out.md)",
                             cli_mpi->size);
        goto done;
    }
    if (mpi) {
        mpi_late late = MPI_LATE_NONE;
        int failed_rc = -1; /* this rank's failure, said already */
        lrc = mpi_step(cfg, kind, ctx, st, &opts, &sum, &late, &failed_rc);
        if (late == MPI_LATE_VOTE)
            rc = cli_errorf(CLI_EXIT_RUNTIME,
                            "attrib %s: a rank failed to commit after every rank voted to; "
                            "run the job again",
                            step_names[kind]);
        else if (late == MPI_LATE_COMMITTED)
            rc = cli_errorf(CLI_EXIT_RUNTIME,
                            "attrib %s: a rank failed after the job decided to commit; every "
                            "rank's rows and the report are committed (rank 0 committed what "
                            "was left prepared), but the step did not finish: run "
                            "`attrib export` (or the job again)",
                            step_names[kind]);
        else if (late == MPI_LATE_IN_DOUBT)
            rc = cli_errorf(CLI_EXIT_RUNTIME,
                            "attrib %s: a rank failed after the job decided to commit, and "
                            "rank 0 could not commit what it left prepared: the next step that "
                            "writes (e.g. `attrib report`) commits it; then run `attrib export`",
                            step_names[kind]);
        else if (failed_rc >= 0)
            rc = failed_rc;
        else
            rc = lrc == ATTRIB_OK ? CLI_EXIT_OK : cli_fail(ctx, lrc);
        if (rc == CLI_EXIT_OK && cli_mpi->rank == 0 && kind == STEP_RUN)
            cli_infof("attrib run: %d ranks; wrote %s", cli_mpi->size, cfg->out);
        if ((rc == CLI_EXIT_OK || rc == CLI_EXIT_PARTIAL) && cli_mpi->rank == 0)
            rc = cli_summary(cfg, step_names[kind], &sum, rc);
        goto done;
    }
    switch (kind) {
    case STEP_ATTRIBUTE:
        lrc = attrib_attribute(ctx, st, &opts, &sum);
        break;
    case STEP_REPORT:
        lrc = attrib_report(ctx, st, &opts, &sum);
        break;
    case STEP_EXPORT:
        if (csv)
            lrc = attrib_export_csv(ctx, st, &opts, cfg->out, &sum);
        break;
    case STEP_RUN:
        lrc = attrib_run(ctx, st, &opts, cfg->out, &sum);
        break;
    }
    rc = lrc == ATTRIB_OK ? CLI_EXIT_OK : cli_fail(ctx, lrc);
    if (rc == CLI_EXIT_OK && csv && opts.shard_count == 0)
        cli_infof("attrib %s: wrote %s", step_names[kind], cfg->out);
    else if (rc == CLI_EXIT_OK && opts.shard_count > 0)
        cli_infof("attrib %s: shard %u/%u attributed; after the last shard run `attrib report "
                  "--merge` and `attrib export`",
                  step_names[kind], opts.shard_index, opts.shard_count);
    /* export reports the page's counts; run keeps its own (the page's read is a second one) */
    if (rc == CLI_EXIT_OK && html)
        rc = html_report(cfg, ctx, st, &opts, models, n_models, kind == STEP_EXPORT ? &sum : &hsum);
    if (rc == CLI_EXIT_OK || rc == CLI_EXIT_PARTIAL)
        rc = cli_summary(cfg, step_names[kind], &sum, rc);
done:
    if (st != NULL)
        cli_say_recovered(cfg, st, cli_mpi != NULL);
    cli_api_free(&api);
    attrib_summary_free(&sum);
    attrib_summary_free(&hsum);
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return rc;
}

int cmd_attribute(cli_config *cfg)
{
    return step(cfg, STEP_ATTRIBUTE);
}

int cmd_report(cli_config *cfg)
{
    return step(cfg, STEP_REPORT);
}

int cmd_export(cli_config *cfg)
{
    return step(cfg, STEP_EXPORT);
}

int cmd_run(cli_config *cfg)
{
    return step(cfg, STEP_RUN);
}
