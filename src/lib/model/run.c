/*
 * The one loop that runs a bound model over journeys (see run.h): contiguous
 * ranges over threads, the invariant check of every journey's credit, cancel
 * and progress from the calling thread, and the error naming the first
 * journey that failed.
 */
#include "lib/model/run.h"

#include "lib/core/ctx.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

/* Journeys between two looks at the cancel flag and progress (a power of 2). */
#define BLOCK 16384

typedef struct {
    const attrib_model *m;
    const attrib_journey *journeys;
    const size_t *offset;
    attrib_credit *out;
    const attrib__model_run_opts *o;
    size_t from, to;     /* journeys [from, to) */
    attrib_ctx *ctx;     /* the calling thread's worker only: polls cancel, reports progress */
    size_t total;        /* all journeys of the run (progress) */
    atomic_bool *stop;   /* set on cancel: every worker stops at its next block */
    atomic_size_t *done; /* journeys finished over all workers (progress) */
    int rc;              /* ATTRIB_OK, the model's code, ATTRIB_ERROR or ATTRIB_ECANCEL */
    size_t bad_j;        /* the journey that failed, when rc is not OK or ECANCEL */
    size_t bad_k;        /* its invalid session, or its n when only the sum is wrong */
    double sum;          /* its Σ ihc */
} worker;

bool attrib__model_credit_ok(const attrib_journey *j, const attrib_credit *c, bool rounded,
                             double *sum, size_t *bad)
{
    double s = 0;
    size_t first_bad = j->n;
    for (size_t k = 0; k < j->n; k++) {
        double v = c[k].ihc;
        /* written so that NaN fails too */
        if (!(v >= -ATTRIB__MODEL_RANGE_TOL && v <= 1 + ATTRIB__MODEL_RANGE_TOL) &&
            first_bad == j->n)
            first_bad = k;
        s += v;
    }
    double tol = ATTRIB__MODEL_SUM_TOL + (rounded ? ATTRIB__MODEL_ROUND4_TOL * (double)j->n : 0);
    *sum = s;
    *bad = first_bad;
    return first_bad == j->n && fabs(s - 1) <= tol;
}

/* Between blocks: true when the run must stop (a cancel). */
static bool poll_stop(worker *w)
{
    if (w->ctx == NULL)
        return atomic_load_explicit(w->stop, memory_order_relaxed);
    if (attrib__cancelled(w->ctx)) {
        atomic_store(w->stop, true);
        return true;
    }
    if (w->o->progress != NULL)
        attrib__progress(w->ctx, w->o->progress, atomic_load(w->done), w->total);
    return false;
}

static void *work(void *arg)
{
    worker *w = arg;
    const attrib__model_run_opts *o = w->o;
    for (size_t b = w->from; b < w->to; b += BLOCK) {
        if (poll_stop(w)) {
            w->rc = ATTRIB_ECANCEL;
            return NULL;
        }
        size_t e = w->to - b > BLOCK ? b + BLOCK : w->to;
        for (size_t j = b; j < e; j++) {
            if (o->want != NULL && o->want[j] == 0)
                continue;
            const attrib_journey *jr = &w->journeys[j];
            attrib_credit *c = w->out + w->offset[j];
            int rc = attrib_model_attribute(w->m, jr, c);
            if (rc == ATTRIB_OK && !attrib__model_credit_ok(jr, c, o->rounded, &w->sum, &w->bad_k))
                rc = ATTRIB_ERROR;
            if (rc != ATTRIB_OK) {
                w->rc = rc;
                w->bad_j = j;
                return NULL;
            }
        }
        atomic_fetch_add(w->done, e - b);
    }
    return NULL;
}

/* The error of the failed worker w (its journey named). */
static int fail(attrib_ctx *ctx, const attrib_model *m, const worker *w)
{
    const char *name = attrib_model_ops_of(m)->name;
    const attrib_journey *j = &w->journeys[w->bad_j];
    if (w->rc == ATTRIB_ECANCEL)
        return attrib__error(ctx, ATTRIB_ECANCEL, "interrupted");
    if (w->rc != ATTRIB_ERROR)
        return attrib__error(ctx, w->rc, "model %s failed on conversion '%s'", name, j->conv_id);
    if (w->bad_k < j->n) {
        const attrib_session *s = &j->sessions[w->bad_k];
        return attrib__error(ctx, ATTRIB_ERROR,
                             "model %s gave session %zu of %zu ('%s') of conversion '%s' credit "
                             "%.15g, not a number in [0, 1]; this is a bug, please report it",
                             name, w->bad_k + 1, j->n, s->id != NULL ? s->id : "", j->conv_id,
                             w->out[w->offset[w->bad_j] + w->bad_k].ihc);
    }
    return attrib__error(ctx, ATTRIB_ERROR,
                         "model %s gave conversion '%s' (%zu sessions) credit summing to %.15g, "
                         "not 1 (within %g); this is a bug, please report it",
                         name, j->conv_id, j->n, w->sum,
                         ATTRIB__MODEL_SUM_TOL +
                             (w->o->rounded ? ATTRIB__MODEL_ROUND4_TOL * (double)j->n : 0));
}

int attrib__model_run(attrib_ctx *ctx, const attrib_model *m, const attrib_journey *journeys,
                      size_t n, const size_t *offset, attrib_credit *out,
                      const attrib__model_run_opts *o)
{
    assert(m != NULL && (n == 0 || (journeys != NULL && offset != NULL && out != NULL)));
    static const attrib__model_run_opts defaults = ATTRIB__MODEL_RUN_OPTS_INIT;
    if (o == NULL)
        o = &defaults;
    unsigned nt = o->threads < 1 ? 1 : o->threads;
    if (nt > ATTRIB__MODEL_RUN_MAX_THREADS)
        nt = ATTRIB__MODEL_RUN_MAX_THREADS;
    if (n < ATTRIB__MODEL_RUN_MIN_PARALLEL)
        nt = 1;
    atomic_bool stop = false;
    atomic_size_t done = 0;
    worker w[ATTRIB__MODEL_RUN_MAX_THREADS];
    pthread_t tid[ATTRIB__MODEL_RUN_MAX_THREADS];
    bool started[ATTRIB__MODEL_RUN_MAX_THREADS] = {false};
    for (unsigned t = 0; t < nt; t++)
        w[t] = (worker){.m = m,
                        .journeys = journeys,
                        .offset = offset,
                        .out = out,
                        .o = o,
                        .from = n * t / nt,
                        .to = n * (t + 1) / nt,
                        .ctx = t + 1 == nt ? ctx : NULL,
                        .total = n,
                        .stop = &stop,
                        .done = &done};
    for (unsigned t = 0; t + 1 < nt; t++)
        started[t] = pthread_create(&tid[t], NULL, work, &w[t]) == 0;
    for (unsigned t = 0; t < nt; t++)
        if (!started[t])
            work(&w[t]); /* the calling thread's range, or one whose thread did not start */
    for (unsigned t = 0; t < nt; t++)
        if (started[t])
            pthread_join(tid[t], NULL);
    /* The lowest failed range holds the first failed journey: workers stop
     * each other only on cancel. */
    int rc = ATTRIB_OK;
    for (unsigned t = 0; t < nt && rc == ATTRIB_OK; t++)
        if (w[t].rc != ATTRIB_OK)
            rc = fail(ctx, m, &w[t]);
    if (rc == ATTRIB_OK && o->progress != NULL)
        attrib__progress(ctx, o->progress, n, n);
    return rc;
}
