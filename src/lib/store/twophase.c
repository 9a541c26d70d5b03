/*
 * Two-phase commit of a job's workers and recovery of what dead jobs left
 * prepared (attrib/store.h; docs/scale-out.md "Exactly once"). Written once
 * over the store's statements and its three prepared-transaction ops; only
 * PostgreSQL has them.
 *
 * A job is a row of attrib_2pc_jobs, registered by its coordinator before
 * any worker prepares, and locked by it (a session-level advisory lock keyed
 * by the job id) for the job's life; its commit decision is a row of
 * attrib_2pc_decisions, inserted (and committed) before any worker commits.
 * A worker's prepared transaction is named attrib-<job>-<worker>. Recovery
 * resolves only jobs registered in its own schema whose lock it can take:
 * a running job's lock is held, a dead coordinator's session released it.
 */
#include "lib/store/store.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char jobs_schema[] =
    "CREATE TABLE IF NOT EXISTS attrib_2pc_jobs (job text PRIMARY KEY, started text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS attrib_2pc_decisions (job text PRIMARY KEY);";

/* The job's advisory lock key: the same text hashed by the server everywhere. */
#define JOB_KEY "hashtextextended('attrib-2pc-' || ?1, 0)"

static int no_twophase(attrib_store *st)
{
    return attrib__error(st->ctx, ATTRIB_EINVAL,
                         "%s: two-phase commit needs PostgreSQL (SQLite has no prepared "
                         "transactions)",
                         st->display);
}

int attrib__store_prepare(attrib_store *st, const char *gid)
{
    if (st->ops->prepare == NULL)
        return no_twophase(st);
    int rc = st->ops->prepare(st->impl, gid);
    if (rc == ATTRIB_OK)
        st->in_tx = false;
    return rc;
}

int attrib__store_commit_prepared(attrib_store *st, const char *gid)
{
    return st->ops->commit_prepared == NULL ? no_twophase(st)
                                            : st->ops->commit_prepared(st->impl, gid);
}

int attrib__store_rollback_prepared(attrib_store *st, const char *gid)
{
    return st->ops->rollback_prepared == NULL ? no_twophase(st)
                                              : st->ops->rollback_prepared(st->impl, gid);
}

/* ---- rows of one text column into a list ---- */

typedef struct {
    char **v;
    size_t n, cap;
    bool oom;
} strlist;

static int collect(const attrib_value *cols, void *payload)
{
    strlist *l = payload;
    if (cols[0].type != ATTRIB_V_TEXT)
        return ATTRIB_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            goto oom;
        l->v = v;
        l->cap = cap;
    }
    if ((l->v[l->n] = malloc(cols[0].len + 1)) == NULL)
        goto oom;
    memcpy(l->v[l->n], cols[0].s, cols[0].len + 1);
    l->n++;
    return ATTRIB_OK;
oom:
    l->oom = true;
    return ATTRIB_ENOMEM;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int one_int(const attrib_value *cols, void *payload)
{
    int64_t *out = payload;
    *out = cols[0].type == ATTRIB_V_INT ? cols[0].i : 0;
    return ATTRIB_OK;
}

/* A query with one bound text and one integer result (0 when no row). */
static int query_int(attrib_store *st, const char *sql, const char *arg, int64_t *out,
                     const char *what)
{
    attrib_value v = attrib__text(arg);
    *out = 0;
    int rc = st->ops->query(st->impl, sql, &v, arg != NULL, 1, one_int, out, what);
    return rc == ATTRIB_ENOMEM ? attrib__error(st->ctx, rc, "out of memory") : rc;
}

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > ATTRIB_JOB_ID_MAX)
        return false;
    for (const char *p = id; *p != '\0'; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
            return false;
    return true;
}

/* Commit (decided) or roll back the job's prepared transactions in this database. */
static int resolve(attrib_store *st, const char *id, attrib_store_recovery *out)
{
    int64_t decided = 0;
    strlist gids = {0};
    char prefix[ATTRIB_JOB_ID_MAX + 16];
    snprintf(prefix, sizeof(prefix), "attrib-%s-", id);
    attrib_value v = attrib__text(prefix);
    int rc = query_int(st, "SELECT count(*) FROM attrib_2pc_decisions WHERE job = ?1", id, &decided,
                       "reading attrib_2pc_decisions");
    if (rc == ATTRIB_OK)
        rc = st->ops->query(st->impl,
                            "SELECT gid FROM pg_prepared_xacts WHERE database = "
                            "current_database() AND starts_with(gid, ?1) ORDER BY gid",
                            &v, 1, 1, collect, &gids, "listing prepared transactions");
    if (rc != ATTRIB_OK && gids.oom)
        rc = attrib__error(st->ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t i = 0; i < gids.n && rc == ATTRIB_OK; i++) {
        rc = decided ? attrib__store_commit_prepared(st, gids.v[i])
                     : attrib__store_rollback_prepared(st, gids.v[i]);
        if (rc == ATTRIB_OK && decided)
            out->committed++;
        else if (rc == ATTRIB_OK)
            out->rolled_back++;
    }
    strlist_free(&gids);
    return rc;
}

/* Forget a resolved job: its rows, then its lock. */
static int forget(attrib_store *st, const char *id)
{
    attrib_value v = attrib__text(id);
    int rc = st->ops->exec(st->impl, "DELETE FROM attrib_2pc_decisions WHERE job = ?1", &v, 1,
                           "forgetting a job's decision");
    if (rc == ATTRIB_OK)
        rc = st->ops->exec(st->impl, "DELETE FROM attrib_2pc_jobs WHERE job = ?1", &v, 1,
                           "forgetting a job");
    int64_t unlocked = 0;
    int urc = query_int(st, "SELECT pg_advisory_unlock(" JOB_KEY ")::int", id, &unlocked,
                        "releasing a job's lock");
    return rc != ATTRIB_OK ? rc : urc;
}

int attrib_store_twophase(attrib_store *st, uint32_t *slots, const char **why)
{
    attrib__enter(st->ctx);
    *slots = 0;
    *why = NULL;
    if (st->ops->prepare == NULL) {
        *why = "SQLite has no prepared transactions";
        return attrib__leave(st->ctx, ATTRIB_OK);
    }
    int64_t max = 0;
    int rc = query_int(st, "SELECT current_setting('max_prepared_transactions')::bigint", NULL,
                       &max, "reading max_prepared_transactions");
    if (rc == ATTRIB_OK && max <= 0)
        *why = "the server's max_prepared_transactions is 0";
    else if (rc == ATTRIB_OK)
        *slots = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
    return attrib__leave(st->ctx, rc);
}

int attrib_store_job_begin(attrib_store *st, const char *id)
{
    attrib__enter(st->ctx);
    if (st->ops->prepare == NULL)
        return attrib__leave(st->ctx, no_twophase(st));
    if (!valid_id(id) || st->job[0] != '\0')
        return attrib__leave(st->ctx, attrib__error(st->ctx, ATTRIB_EINVAL,
                                                    "job id '%.40s': expected 1 to %d of "
                                                    "[0-9a-z], and one job per store at a time",
                                                    id, ATTRIB_JOB_ID_MAX));
    attrib_value v = attrib__text(id);
    int64_t locked = 0;
    int rc = st->ops->exec_script(st->impl, jobs_schema);
    if (rc == ATTRIB_OK)
        rc = query_int(st, "SELECT pg_try_advisory_lock(" JOB_KEY ")::int", id, &locked,
                       "locking the job");
    if (rc == ATTRIB_OK && !locked)
        rc =
            attrib__error(st->ctx, ATTRIB_EINVAL, "%s: job %s is already running", st->display, id);
    if (rc == ATTRIB_OK)
        rc = st->ops->exec(st->impl,
                           "INSERT INTO attrib_2pc_jobs (job, started) VALUES (?1, "
                           "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
                           &v, 1, "registering the job");
    if (rc == ATTRIB_OK)
        memcpy(st->job, id, strlen(id) + 1);
    else if (locked)
        (void)query_int(st, "SELECT pg_advisory_unlock(" JOB_KEY ")::int", id, &locked,
                        "releasing a job's lock");
    return attrib__leave(st->ctx, rc);
}

int attrib_store_job_decide(attrib_store *st, const char *id)
{
    attrib__enter(st->ctx);
    assert(strcmp(st->job, id) == 0); /* the coordinator's own job */
    attrib_value v = attrib__text(id);
    int rc = st->ops->exec(st->impl, "INSERT INTO attrib_2pc_decisions (job) VALUES (?1)", &v, 1,
                           "recording the job's commit decision");
    return attrib__leave(st->ctx, rc);
}

int attrib_store_job_end(attrib_store *st, const char *id, attrib_store_recovery *out)
{
    attrib__enter(st->ctx);
    assert(strcmp(st->job, id) == 0);
    *out = (attrib_store_recovery){0};
    int rc = resolve(st, id, out);
    if (rc == ATTRIB_OK)
        rc = forget(st, id);
    if (rc == ATTRIB_OK)
        st->job[0] = '\0';
    return attrib__leave(st->ctx, rc);
}

int attrib__store_recover(attrib_store *st)
{
    if (st->ops->prepare == NULL)
        return ATTRIB_OK;
    assert(!st->in_tx); /* COMMIT PREPARED cannot run inside a transaction */
    int64_t present = 0;
    uint64_t running = 0;
    strlist jobs = {0};
    int rc = query_int(st, "SELECT (to_regclass('attrib_2pc_jobs') IS NOT NULL)::int", NULL,
                       &present, "looking for attrib_2pc_jobs");
    if (rc == ATTRIB_OK && present)
        rc = st->ops->query(st->impl, "SELECT job FROM attrib_2pc_jobs ORDER BY job", NULL, 0, 1,
                            collect, &jobs, "reading attrib_2pc_jobs");
    if (rc != ATTRIB_OK && jobs.oom)
        rc = attrib__error(st->ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t i = 0; i < jobs.n && rc == ATTRIB_OK; i++) {
        if (strcmp(jobs.v[i], st->job) == 0)
            continue; /* this store's own job: running */
        int64_t locked = 0;
        rc = query_int(st, "SELECT pg_try_advisory_lock(" JOB_KEY ")::int", jobs.v[i], &locked,
                       "locking a job");
        if (rc != ATTRIB_OK || !locked) {
            running += rc == ATTRIB_OK;
            continue;
        }
        rc = resolve(st, jobs.v[i], &st->recovered);
        if (rc == ATTRIB_OK)
            rc = forget(st, jobs.v[i]);
        else
            (void)query_int(st, "SELECT pg_advisory_unlock(" JOB_KEY ")::int", jobs.v[i], &locked,
                            "releasing a job's lock");
        st->recovered.jobs += rc == ATTRIB_OK;
    }
    strlist_free(&jobs);
    st->recovered.running = running; /* the last look's, not a sum */
    if (rc != ATTRIB_OK)
        attrib__error_prefix(st->ctx, "resolving prepared transactions left by a dead job "
                                      "(docs/scale-out.md \"Exactly once\")");
    return rc;
}

int attrib_store_recover(attrib_store *st, attrib_store_recovery *out)
{
    attrib__enter(st->ctx);
    attrib_store_recovery before = st->recovered;
    int rc = attrib__store_recover(st);
    *out = (attrib_store_recovery){
        .committed = st->recovered.committed - before.committed,
        .rolled_back = st->recovered.rolled_back - before.rolled_back,
        .jobs = st->recovered.jobs - before.jobs,
        .running = st->recovered.running,
    };
    return attrib__leave(st->ctx, rc);
}

void attrib_store_recovered(const attrib_store *st, attrib_store_recovery *out)
{
    *out = st->recovered;
}
