/*
 * The attribute step: load the dataset (journey/dataset.c), run the model
 * over every journey (model/run.c: in parallel chunks whose output does not
 * depend on the thread count, every journey's credit checked), or ask the
 * IHC API (api/run.c), and replace the selection's rows in one transaction.
 * The run writes its report in that same transaction: without a range fused
 * in (one scan of the sessions feeds both the journeys and the report's cost
 * sums), with a range by the report step over the rows just written. The
 * ihc-api engine commits each settled batch to its result cache before that
 * transaction begins (the cache tables only, so a rerun sends only what is
 * missing); no transaction is open while it runs.
 */
#include "attrib/pipeline.h"

#include "lib/steps/steps.h"

#include "lib/api/run.h"
#include "lib/journey/dataset.h"
#include "lib/model/run.h"
#include "lib/report/rows.h"
#include "lib/report/sums.h"
#include "lib/report/store.h"
#include "lib/store/rows.h"
#include "util/ts.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INSERT_BATCH 4096

static const attrib_model_ops *pick_model(const attrib_run_options *o)
{
    if (o->model != NULL)
        return o->model;
    const attrib_model_ops *m = attrib_model_find("ihc");
    return m != NULL ? m : attrib_model_list()[0];
}

/* ---- attribution over all journeys, in parallel (lib/model/run.c) ---- */

static int attribute_all(attrib_ctx *ctx, const attrib_model *model, const attrib__dataset *ds,
                         const attrib_run_options *opts, size_t **offset_out,
                         attrib_credit **credits_out, size_t *total_out)
{
    int rc = ATTRIB_OK;
    size_t *offset = malloc((ds->n_journeys + 1) * sizeof(*offset));
    attrib_credit *credits = NULL;
    if (offset == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    offset[0] = 0;
    for (size_t j = 0; j < ds->n_journeys; j++)
        offset[j + 1] = offset[j] + ds->journeys[j].n;
    size_t total = offset[ds->n_journeys];
    credits = calloc(total > 0 ? total : 1, sizeof(*credits));
    if (credits == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory for %zu credits", total);
        goto done;
    }
    attrib__model_run_opts ro = ATTRIB__MODEL_RUN_OPTS_INIT;
    ro.threads = attrib__threads(opts);
    ro.progress = "attributing";
    ro.rounded = opts->model_opts.api_rounding;
    rc = attrib__model_run(ctx, model, ds->journeys, ds->n_journeys, offset, credits, &ro);
    if (rc != ATTRIB_OK)
        goto done;
    *offset_out = offset;
    *credits_out = credits;
    *total_out = total;
    offset = NULL;
    credits = NULL;
done:
    free(offset);
    free(credits);
    return rc;
}

/* ---- --shard K/N: replace only this shard's conversions' rows ---- */

static const char *const shard_cols[] = {"conv_id"};
static const attrib_col_kind shard_kinds[] = {ATTRIB_COL_TEXT};
static const attrib_table shard_table = {"attrib_shard_convs", shard_cols, shard_kinds, 1, 1};

/* Shard 0 of a run without a range: the rows of conversions that no longer exist. */
static int shard_delete_orphans(attrib_store *st, const attrib_run_options *opts)
{
    static const char *const orphans[] = {"attribution_customer_journey", "attrib_journey_phases"};
    int rc = ATTRIB_OK;
    for (size_t t = 0;
         t < 2 && rc == ATTRIB_OK && opts->shard_index == 0 && !attrib__is_ranged(opts); t++) {
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "DELETE FROM %s WHERE NOT EXISTS (SELECT 1 FROM conversions c "
                 "WHERE c.conv_id = %s.conv_id)",
                 orphans[t], orphans[t]);
        rc = st->ops->exec(st->impl, sql, NULL, 0, "deleting rows of missing conversions");
    }
    return rc;
}

static int on_orphan(const attrib_value *cols, void *payload)
{
    attrib_strmap *ids = payload;
    if (cols[0].type == ATTRIB_V_TEXT &&
        attrib_strmap_intern(ids, cols[0].s, cols[0].len, NULL) < 0)
        return ATTRIB_ENOMEM;
    return ATTRIB_OK;
}

/* Shard 0 of a run without a range, on a backend that deletes by id: the
 * conversions that no longer exist but still have rows, read before the write
 * transaction, which then deletes them by id and reads no input table (so it
 * can be prepared even when conversions has postgres_fdw partitions). A
 * conversion deleted after this read keeps its rows until the next run, as
 * with a single run, whose input is read before its transaction too. */
static int shard_orphans(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                         attrib_strmap *ids)
{
    if (opts->shard_count == 0 || opts->shard_index != 0 || attrib__is_ranged(opts) ||
        st->ops->delete_attribution_convs == NULL)
        return ATTRIB_OK;
    int rc = st->ops->query(st->impl,
                            "SELECT conv_id FROM attribution_customer_journey a WHERE NOT EXISTS "
                            "(SELECT 1 FROM conversions c WHERE c.conv_id = a.conv_id) UNION "
                            "SELECT conv_id FROM attrib_journey_phases p WHERE NOT EXISTS "
                            "(SELECT 1 FROM conversions c WHERE c.conv_id = p.conv_id)",
                            NULL, 0, 1, on_orphan, ids, "finding rows of missing conversions");
    return rc == ATTRIB_ENOMEM ? attrib__error(ctx, rc, "out of memory") : rc;
}

/*
 * The shard's selected conversions (with or without a journey): their
 * attribution and phase rows are deleted by the backend's op, or through a
 * temp table of their ids. Shard 0 of
 * a run without a range also deletes the rows of conversions that no longer
 * exist (which no shard owns), as a single run's full replace does.
 */
static int shard_delete_convs(attrib_ctx *ctx, attrib_store *st, const attrib__dataset *ds)
{
    const char **batch = malloc(INSERT_BATCH * sizeof(*batch));
    size_t nb = 0;
    int rc = batch != NULL ? ATTRIB_OK : attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ATTRIB_OK && i <= ds->n_convs; i++) {
        if (i < ds->n_convs && ds->convs[i].selected)
            batch[nb++] = ds->convs[i].conv_id;
        if (nb > 0 && (nb == INSERT_BATCH || i == ds->n_convs)) {
            rc = st->ops->delete_attribution_convs(st->impl, batch, nb);
            nb = 0;
        }
    }
    free(batch);
    return rc;
}

static int shard_delete(attrib_ctx *ctx, attrib_store *st, const attrib__dataset *ds,
                        const attrib_run_options *opts)
{
    /* The backend's own way, when it has one (PostgreSQL: no temp table, so the
     * transaction can be prepared). */
    if (st->ops->delete_attribution_convs != NULL) /* orphans: shard_orphans, earlier */
        return shard_delete_convs(ctx, st, ds);
    attrib_value *batch = NULL;
    size_t nb = 0;
    int rc = st->ops->exec(st->impl,
                           "CREATE TEMP TABLE IF NOT EXISTS attrib_shard_convs "
                           "(conv_id text PRIMARY KEY)",
                           NULL, 0, "creating the shard's conversion list");
    if (rc == ATTRIB_OK)
        rc = st->ops->exec(st->impl, "DELETE FROM attrib_shard_convs", NULL, 0,
                           "emptying the shard's conversion list");
    if (rc == ATTRIB_OK && (batch = malloc(INSERT_BATCH * sizeof(*batch))) == NULL)
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ATTRIB_OK && i < ds->n_convs; i++) {
        if (!ds->convs[i].selected)
            continue;
        batch[nb++] = attrib__text(ds->convs[i].conv_id);
        if (nb == INSERT_BATCH) {
            rc = st->ops->insert(st->impl, &shard_table, ATTRIB_CONFLICT_IGNORE, batch, nb);
            nb = 0;
        }
    }
    if (rc == ATTRIB_OK && nb > 0)
        rc = st->ops->insert(st->impl, &shard_table, ATTRIB_CONFLICT_IGNORE, batch, nb);
    if (rc == ATTRIB_OK)
        rc = st->ops->exec(st->impl,
                           "DELETE FROM attribution_customer_journey WHERE conv_id IN "
                           "(SELECT conv_id FROM attrib_shard_convs)",
                           NULL, 0, "deleting the shard's attribution rows");
    if (rc == ATTRIB_OK)
        rc = st->ops->exec(st->impl,
                           "DELETE FROM attrib_journey_phases WHERE conv_id IN "
                           "(SELECT conv_id FROM attrib_shard_convs)",
                           NULL, 0, "deleting the shard's phase rows");
    if (rc == ATTRIB_OK)
        rc = shard_delete_orphans(st, opts);
    free(batch);
    return rc;
}

/* The report sums no longer match once a shard's rows change: mark them invalid
 * (the next report recomputes from the stored rows) in a short transaction of
 * its own, so concurrent shards never wait on each other's writes. */
static int shard_invalidate_sums(attrib_store *st)
{
    int rc = attrib__store_begin(st);
    if (rc != ATTRIB_OK)
        return rc;
    rc = attrib__report_invalidate_sums(st);
    if (rc == ATTRIB_OK)
        rc = attrib__store_commit(st);
    if (rc != ATTRIB_OK)
        attrib__store_rollback(st);
    return rc;
}

static int write_attribution(attrib_ctx *ctx, attrib_store *st, const attrib__dataset *ds,
                             const size_t *offset, const attrib_credit *credits,
                             const unsigned char *api_state, bool phases,
                             const attrib_run_options *opts, attrib_summary *sum)
{
    attrib_scan sel = {.start_date = opts->start_date, .end_date = opts->end_date};
    attrib__sums_delta sd = {.ctx = ctx};
    sd.delta.channels = &sd.channels;
    bool keep_sums = false;
    attrib_attr_row *batch = NULL;
    size_t nb = 0;
    int rc = ATTRIB_OK;
    bool shard = opts->shard_count > 0;
    bool ranged = attrib__is_ranged(opts);
    /* A rerun (of everything or of a range) that would store the same rows
     * rewrites nothing (unchanged.c). */
    bool same = false;
    uint64_t rows = 0;
    if (!shard && !phases)
        rc = attrib__attribution_unchanged(ctx, st, ds, offset, credits, api_state,
                                           ranged ? &sel : NULL, &same, &rows);
    if (rc != ATTRIB_OK || same) {
        sum->attribution_unchanged += same ? rows : 0;
        goto done;
    }
    if (ranged && !shard)
        rc = attrib__report_sums_valid(st, &keep_sums);
    if (rc == ATTRIB_OK && keep_sums)
        rc = attrib__sums_delta_compute(ctx, st, ds, offset, credits, api_state, &sel, &sd,
                                        &keep_sums);
    if (rc == ATTRIB_OK && shard)
        rc = shard_delete(ctx, st, ds, opts);
    if (rc == ATTRIB_OK && !shard)
        rc = attrib__report_note_replaced(st, &sel);
    if (rc == ATTRIB_OK && !shard)
        rc = st->ops->delete_attribution(st->impl, &sel);
    if (rc == ATTRIB_OK && (batch = malloc(INSERT_BATCH * sizeof(*batch))) == NULL)
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t j = 0; rc == ATTRIB_OK && j < ds->n_journeys; j++) {
        const attrib_journey *jr = &ds->journeys[j];
        if (api_state != NULL && api_state[j] != ATTRIB__CREDIT_DONE)
            continue; /* no API result: no rows (listed as a failure) */
        for (size_t k = 0; k < jr->n && rc == ATTRIB_OK; k++) {
            const attrib_credit *c = &credits[offset[j] + k];
            batch[nb++] = (attrib_attr_row){.conv_id = jr->conv_id,
                                            .session_id = jr->sessions[k].id,
                                            .ihc = c->ihc,
                                            .initializer = c->initializer,
                                            .holder = c->holder,
                                            .closer = c->closer};
            if (nb == INSERT_BATCH) {
                rc = st->ops->insert_attribution(st->impl, batch, nb, phases);
                sum->attribution_rows += nb;
                nb = 0;
            }
        }
        if ((j & 0x3fff) == 0 && rc == ATTRIB_OK) {
            attrib__progress(ctx, "writing attribution", j, ds->n_journeys);
            if (attrib__cancelled(ctx))
                rc = ATTRIB_ECANCEL;
        }
    }
    if (rc == ATTRIB_OK && nb > 0) {
        rc = st->ops->insert_attribution(st->impl, batch, nb, phases);
        sum->attribution_rows += nb;
    }
    if (rc == ATTRIB_OK && keep_sums)
        rc = attrib__sums_delta_apply(ctx, st, &sd);
done:
    free(batch);
    attrib__sums_delta_free(&sd);
    return rc;
}

/* Models with phases (IHC) store them beside ihc with --phases (the API's always are). */
static bool model_has_phases(const attrib_model_ops *ops)
{
    return strcmp(ops->name, "ihc") == 0;
}

/* The ihc-api engine: credits from the API (or its result cache) instead of a model. */
static int api_credits(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                       const attrib__dataset *ds, const attrib_channels *ch, size_t **offset_out,
                       attrib_credit **credits_out, size_t *total_out, unsigned char **state_out,
                       attrib_summary *sum)
{
    size_t n = ds->n_journeys;
    size_t *offset = malloc((n + 1) * sizeof(*offset));
    unsigned char *state = calloc(n ? n : 1, 1);
    attrib_credit *credits = NULL;
    if (offset != NULL) {
        offset[0] = 0;
        for (size_t j = 0; j < n; j++)
            offset[j + 1] = offset[j] + ds->journeys[j].n;
        credits = calloc(offset[n] ? offset[n] : 1, sizeof(*credits));
    }
    if (offset == NULL || state == NULL || credits == NULL) {
        free(offset);
        free(state);
        free(credits);
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    }
    int rc = attrib__api_attribute(ctx, st, opts, ds->journeys, n, ch, offset, credits, state, sum);
    *offset_out = offset;
    *credits_out = credits;
    *total_out = offset[n];
    *state_out = state;
    return rc;
}

/* A job's shard: its part of the report (its users' costs and its credits) out,
 * the job's sum of every part in (opts->report_reduce), into `job`. */
static int reduce_report(attrib_ctx *ctx, const attrib_run_options *opts, const attrib__agg *mine,
                         attrib__agg *job)
{
    attrib_report_part part, all = {0};
    attrib_report_cell *cells = NULL;
    int rc = attrib__agg_to_part(ctx, mine, &part, &cells);
    if (rc == ATTRIB_OK &&
        opts->report_reduce(opts->report_reduce_payload, &part, &all) != ATTRIB_OK)
        rc = attrib__error(ctx, ATTRIB_ERROR,
                           "the report's sums were not reduced over the job's workers (one "
                           "failed, or the reduction did): nothing of this worker was written");
    if (rc == ATTRIB_OK)
        rc = attrib__agg_add_part(ctx, job, &all);
    free(cells);
    return rc;
}

/* A job with a range, its writer: the job's delta applied to valid report sums
 * (the report step after the commit then serves them, as a single run's does);
 * a term beyond the exact range invalidates them instead. Invalid sums stay so. */
static int apply_job_delta(attrib_store *st, attrib__sums_delta *job)
{
    bool valid = false;
    int rc = attrib__report_sums_valid(st, &valid);
    if (rc != ATTRIB_OK || !valid)
        return rc;
    if (attrib__sums_delta_overflow(job))
        return attrib__report_invalidate_sums(st);
    return attrib__sums_delta_apply(job->ctx, st, job);
}

int attrib__stored_credit_scan(const attrib__stored_credit *sc, attrib_row_fn fn, void *payload)
{
    const attrib__dataset *ds = sc->ds;
    attrib_channels ch = attrib__dataset_channels(ds);
    int rc = ATTRIB_OK;
    for (size_t j = 0; j < ds->n_journeys && rc == ATTRIB_OK; j++) {
        const attrib_journey *jr = &ds->journeys[j];
        if (sc->api_state != NULL && sc->api_state[j] != ATTRIB__CREDIT_DONE)
            continue; /* stored nothing (write_attribution) */
        for (size_t k = 0; k < jr->n && rc == ATTRIB_OK; k++) {
            const attrib_session *s = &jr->sessions[k];
            char date[11];
            attrib_date_format(attrib_ts_day(s->ts), date);
            assert(s->channel < ch.count);
            const char *name = ch.names[s->channel];
            attrib_value cols[ATTRIB_AR_NCOLS] = {
                [ATTRIB_AR_CONV_ID] = {.type = ATTRIB_V_TEXT,
                                       .s = jr->conv_id,
                                       .len = strlen(jr->conv_id)},
                [ATTRIB_AR_SESSION_ID] = {.type = ATTRIB_V_TEXT, .s = s->id, .len = strlen(s->id)},
                [ATTRIB_AR_IHC] = {.type = ATTRIB_V_REAL, .r = sc->credits[sc->offset[j] + k].ihc},
                [ATTRIB_AR_CHANNEL] = {.type = ATTRIB_V_TEXT, .s = name, .len = strlen(name)},
                [ATTRIB_AR_EVENT_DATE] = {.type = ATTRIB_V_TEXT, .s = date, .len = 10},
                [ATTRIB_AR_REVENUE] = {.type = ATTRIB_V_REAL, .r = jr->revenue},
            };
            rc = fn(cols, payload);
        }
    }
    return rc;
}

/* The report's sums with a run's credits added, and their rows: what
 * a fused report writes. Run on a thread of its own while the attribution
 * rows are compared and written (report_sums_thread): it reads the dataset
 * and the credits, which the write only reads, and changes ds->costs, which
 * the write does not touch. At 100M sessions, 0.5 s of a run on one core. */
typedef struct {
    attrib__dataset *ds;
    const size_t *offset;
    const attrib_credit *credits;
    const unsigned char *api_state;
    attrib_report_row *report;
    attrib_sums_row *sums;
    char *dates, *sdates;
    size_t n_report, n_sums;
} report_sums;

static int add_credits(attrib_ctx *ctx, report_sums *r)
{
    const attrib__dataset *ds = r->ds;
    for (size_t j = 0; j < ds->n_journeys; j++) {
        const attrib_journey *jr = &ds->journeys[j];
        if (r->api_state != NULL && r->api_state[j] != ATTRIB__CREDIT_DONE)
            continue;
        for (size_t k = 0; k < jr->n; k++) {
            if (attrib__agg_credit(&r->ds->costs, jr->sessions[k].channel,
                                   attrib_ts_day(jr->sessions[k].ts),
                                   r->credits[r->offset[j] + k].ihc, jr->revenue) != ATTRIB_OK)
                return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory aggregating the report");
        }
    }
    return ATTRIB_OK;
}

static int sums_rows(attrib_ctx *ctx, report_sums *r, const attrib__agg *sums)
{
    int rc = attrib__agg_rows(ctx, sums, &r->report, &r->n_report, &r->dates);
    if (rc == ATTRIB_OK)
        rc = attrib__agg_sums_rows(ctx, sums, false, &r->sums, &r->n_sums, &r->sdates);
    return rc;
}

typedef struct {
    report_sums *r; /* the caller's, untouched by it until the join */
    attrib_ctx ctx; /* the thread's errors */
    pthread_t thread;
    int rc;
} report_sums_job;

static void *report_sums_thread(void *arg)
{
    report_sums_job *job = arg;
    job->rc = add_credits(&job->ctx, job->r);
    if (job->rc == ATTRIB_OK)
        job->rc = sums_rows(&job->ctx, job->r, &job->r->ds->costs);
    return NULL;
}

/* Wait for the report sums' thread: its error into ctx. */
static int join_report_sums(attrib_ctx *ctx, report_sums_job **job)
{
    report_sums_job *j = *job;
    int rc = pthread_join(j->thread, NULL) != 0
                 ? attrib__error(ctx, ATTRIB_ERROR, "could not wait for the report's sums")
                 : j->rc;
    if (rc != ATTRIB_OK && j->ctx.code != ATTRIB_OK)
        rc = attrib__error_replace(ctx, j->ctx.code, "%s", j->ctx.msg);
    free(j);
    *job = NULL;
    return rc;
}

/* Attribute, and with the run the report in the same transaction (steps.h). */
int attrib__attribute_step(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                           attrib__report_mode report, attrib_summary *sum)
{
    assert(report != ATTRIB__REPORT_FUSED || !attrib__is_ranged(opts));
    double t0 = attrib__now_seconds();
    double report_seconds = 0; /* of the report step inside (it counts them itself) */
    bool fuse_report = report == ATTRIB__REPORT_FUSED;
    bool reduce = report == ATTRIB__REPORT_JOB;
    bool ranged = attrib__is_ranged(opts);
    bool write_report = fuse_report || (reduce && !ranged && opts->report_writer);
    /* reduce: this shard's delta of the report sums (ranged), the job's sums */
    attrib__sums_delta mine = {.ctx = ctx}, job = {.ctx = ctx};
    mine.delta.channels = &mine.channels;
    job.delta.channels = &job.channels;
    attrib__dataset ds = {0};
    attrib_model *model = NULL;
    size_t *offset = NULL;
    attrib_credit *credits = NULL;
    report_sums rs = {.ds = &ds};
    report_sums_job *rjob = NULL; /* rs on a thread of its own, when it started */
    size_t total = 0;
    unsigned char *api_state = NULL;
    attrib_strmap orphans = ATTRIB_STRMAP_INIT; /* shard 0: conversions gone, rows left */
    int api_rc = ATTRIB_OK;
    int rc = attrib__check_run_options(ctx, opts);
    if (rc == ATTRIB_OK) /* a dead job's prepared rows would block the write */
        rc = attrib__store_recover(st);
    if (rc != ATTRIB_OK)
        goto done;
    assert(!fuse_report || opts->shard_count == 0); /* a shard's report is the merge step's */
    rc = attrib_store_check(st, true);
    if (rc == ATTRIB_OK && ranged)
        rc = attrib__store_index_inputs(st);
    if (rc != ATTRIB_OK)
        goto done;
    const attrib_model_ops *ops = pick_model(opts);
    rc = attrib_model_new(ctx, ops, &opts->model_opts, &model);
    if (rc != ATTRIB_OK)
        goto done;
    ds.all_paths = (ops->flags & ATTRIB_MODEL_NEEDS_PATHS) != 0;
    ds.local_paths = ds.all_paths && opts->shard_count > 0 && opts->reducer != NULL &&
                     attrib_model_reducible(ops);
    ds.want_costs = write_report || (reduce && !ranged); /* the cost pass rides on the scan */
    rc = attrib__dataset_load(ctx, st, opts, !attrib__is_ranged(opts), &ds);
    if (rc != ATTRIB_OK)
        goto done;
    double t1 = attrib__now_seconds();
    sum->read_seconds += t1 - t0;
    attrib_channels ch = attrib__dataset_channels(&ds);
    rc = attrib__dataset_fit(ctx, &ds, opts, model);
    if (rc != ATTRIB_OK)
        goto done;
    attrib__progress(ctx, "attributing", 0, ds.n_journeys);
    if (opts->api != NULL) {
        rc = api_credits(ctx, st, opts, &ds, &ch, &offset, &credits, &total, &api_state, sum);
        if (rc == ATTRIB_EPARTIAL || rc == ATTRIB_EAUTH) {
            api_rc = rc; /* store the others, then report the failures */
            rc = ATTRIB_OK;
        }
    } else
        rc = attribute_all(ctx, model, &ds, opts, &offset, &credits, &total);
    if (rc != ATTRIB_OK)
        goto done;
    double t2 = attrib__now_seconds();
    sum->model_seconds += t2 - t1;
    if (reduce && ranged) {
        /* Shard 0 takes the old rows of the whole range off (every shard's: each
         * conversion in the range is one shard's), each shard adds its credits. */
        attrib_scan old = {.start_date = opts->start_date, .end_date = opts->end_date};
        rc = attrib__sums_delta_terms(ctx, st, &ds, offset, credits, api_state,
                                      opts->shard_index == 0 ? &old : NULL, &mine);
        if (rc == ATTRIB_OK)
            rc = reduce_report(ctx, opts, &mine.delta, &job.delta);
        if (rc != ATTRIB_OK)
            goto done;
    } else if (fuse_report || reduce) {
        rs.offset = offset;
        rs.credits = credits;
        rs.api_state = api_state;
        if (fuse_report && attrib__threads(opts) > 1 && (rjob = calloc(1, sizeof(*rjob))) != NULL) {
            rjob->r = &rs;
            if (pthread_create(&rjob->thread, NULL, report_sums_thread, rjob) != 0) {
                free(rjob); /* then here, on this thread */
                rjob = NULL;
            }
        }
        if (rjob == NULL) {
            rc = add_credits(ctx, &rs);
            const attrib__agg *sums = &ds.costs;
            if (rc == ATTRIB_OK && reduce) {
                rc = reduce_report(ctx, opts, &ds.costs, &job.delta);
                sums = &job.delta;
            }
            if (rc == ATTRIB_OK && write_report)
                rc = sums_rows(ctx, &rs, sums);
            if (rc != ATTRIB_OK)
                goto done;
        }
    }
    /* (With a reduced report the writer's transaction makes the sums valid:
     * invalidating them here would wait on its locks until after the vote.) */
    if (opts->shard_count > 0 && !reduce) {
        rc = shard_invalidate_sums(st);
        if (rc != ATTRIB_OK)
            goto done;
    }
    rc = shard_orphans(ctx, st, opts, &orphans);
    if (rc == ATTRIB_OK)
        rc = attrib__store_begin(st);
    if (rc != ATTRIB_OK)
        goto done;
    if (orphans.count > 0)
        rc = st->ops->delete_attribution_convs(st->impl, orphans.keys, orphans.count);
    if (rc == ATTRIB_OK)
        rc = write_attribution(ctx, st, &ds, offset, credits, api_state,
                               opts->api != NULL || (opts->phases && model_has_phases(ops)), opts,
                               sum);
    if (rjob != NULL) {
        int jrc = join_report_sums(ctx, &rjob);
        if (rc == ATTRIB_OK)
            rc = jrc;
    }
    if (rc == ATTRIB_OK && write_report) {
        rc = attrib__report_replace(st, NULL, rs.report, rs.n_report);
        if (rc == ATTRIB_OK)
            rc = attrib__report_replace_sums(st, NULL, rs.sums, rs.n_sums, false);
        sum->report_rows += rs.n_report;
        sum->report_dates += attrib__count_dates(rs.report, rs.n_report);
    }
    if (rc == ATTRIB_OK && reduce && ranged && opts->report_writer)
        rc = apply_job_delta(st, &job);
    if (rc == ATTRIB_OK && report == ATTRIB__REPORT_AFTER) {
        double tr = attrib__now_seconds();
        attrib__stored_credit stored = {
            .ds = &ds, .offset = offset, .credits = credits, .api_state = api_state};
        rc = attrib__report_step(ctx, st, opts, false, &stored, sum);
        report_seconds = attrib__now_seconds() - tr;
    }
    if (rc == ATTRIB_OK && attrib__cancelled(ctx))
        rc = ATTRIB_ECANCEL;
    /* Two-phase: prepared before the vote, committed after the job's decision. */
    bool prepared = false, decided = false;
    if (rc == ATTRIB_OK && opts->prepare_gid != NULL)
        prepared = (rc = attrib__store_prepare(st, opts->prepare_gid)) == ATTRIB_OK;
    if (rc == ATTRIB_OK && opts->commit_vote != NULL &&
        opts->commit_vote(opts->commit_vote_payload) != ATTRIB_OK)
        rc = attrib__error(ctx, ATTRIB_ERROR,
                           "another worker of the job failed: this worker's rows were rolled "
                           "back with everyone's (nothing was written)");
    decided = prepared && rc == ATTRIB_OK;
    if (rc == ATTRIB_OK)
        rc = prepared ? attrib__store_commit_prepared(st, opts->prepare_gid)
                      : attrib__store_commit(st);
    if (rc != ATTRIB_OK && decided) /* the job commits it (attrib_store_job_end, recovery) */
        attrib__error_prefix(ctx,
                             "the job decided to commit; prepared transaction %s is left "
                             "for its coordinator or the next step's recovery to commit",
                             opts->prepare_gid);
    else if (rc != ATTRIB_OK && prepared) /* on failure, recovery rolls it back */
        (void)attrib__store_rollback_prepared(st, opts->prepare_gid);
    else if (rc != ATTRIB_OK)
        attrib__store_rollback(st);
    if (rc != ATTRIB_OK)
        goto done;
    sum->write_seconds += attrib__now_seconds() - t2 - report_seconds;
    rc = attrib__dataset_summarize(ctx, &ds, sum);
    if (api_state != NULL)
        for (size_t j = 0; j < ds.n_journeys; j++)
            if (api_state[j] != ATTRIB__CREDIT_DONE)
                sum->conversions_attributed--;
    if (rc == ATTRIB_OK && api_rc != ATTRIB_OK)
        rc = attrib__error(ctx, api_rc,
                           "%llu conversions got no result from the IHC API; all "
                           "others were stored (the failures are listed above and "
                           "in attrib_api_failures)",
                           (unsigned long long)sum->conversions_failed);
done:
    if (rjob != NULL)
        (void)join_report_sums(ctx, &rjob); /* failed before: its error is not the first */
    free(api_state);
    free(rs.report);
    free(rs.dates);
    free(rs.sums);
    free(rs.sdates);
    free(offset);
    free(credits);
    attrib_model_free(model);
    attrib__dataset_free(&ds);
    attrib__sums_delta_free(&mine);
    attrib__sums_delta_free(&job);
    attrib_strmap_free(&orphans);
    sum->seconds += attrib__now_seconds() - t0 - report_seconds;
    return rc;
}

int attrib_attribute(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                     attrib_summary *sum)
{
    attrib__enter(ctx);
    attrib__report_mode mode = ATTRIB__REPORT_NONE;
    if (opts->report_reduce != NULL) {
        if (opts->shard_count == 0)
            return attrib__leave(ctx, attrib__error(ctx, ATTRIB_EINVAL,
                                                    "a reduced report (report_reduce) is a "
                                                    "shard's (shard_count > 0)"));
        mode = ATTRIB__REPORT_JOB;
    }
    return attrib__leave(ctx, attrib__attribute_step(ctx, st, opts, mode, sum));
}
