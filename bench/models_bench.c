/*
 * Benchmark of the attribution models (issue P6): load a dataset once
 * (read-only), then for each model time what `attrib attribute --model M`
 * spends on the model: the statistics pass over every path and finish()
 * (models that need paths), bind, and attribute() over every journey on T
 * threads through the pipeline's loop (lib/model/run.c, credit checks
 * included). Prints seconds per model and the ratio to the baseline model
 * (ihc when the build has it, else linear), both for the model alone and for
 * the whole step estimated as load + model, where the load includes the
 * non-converting paths only for the models that need them (the write of the
 * attribution rows is the same for every model and is left out, which makes
 * the step ratios conservative: larger than with it).
 *
 *   build/bench/models_bench DB [THREADS] [MODEL[:opt] ...]
 *   MODEL:k   markov with order k (e.g. markov:3); MODEL:v  markov on revenue
 * Default models: all registered, plus markov:3.
 * It also times the load with and without the paths of users who never
 * convert, which only the path models (markov, shapley, counterfactual) need.
 */
#include "attrib/model.h"
#include "attrib/pipeline.h"
#include "attrib/store.h"
#include "lib/journey/dataset.h"
#include "lib/model/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    attrib_model *m;
    const attrib_channels *ch;
} obs;

static int observe_ch(const attrib_path *p, void *payload)
{
    obs *o = payload;
    return attrib_model_observe(o->m, p, o->ch);
}

/* Seconds for one model, or a negative number on failure. */
static double time_model(attrib_ctx *ctx, const attrib__dataset *ds, const attrib_run_options *ro,
                         const char *spec, unsigned threads, double *fit_s)
{
    char name[64];
    snprintf(name, sizeof(name), "%s", spec);
    attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
    char *colon = strchr(name, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (colon[1] == 'v')
            o.markov_value = true;
        else
            o.markov_order = colon[1] - '0';
    }
    const attrib_model_ops *ops = attrib_model_find(name);
    if (ops == NULL)
        return -1;
    double t0 = now_s();
    attrib_model *m = NULL;
    attrib_channels ch = attrib__dataset_channels(ds);
    if (attrib_model_new(ctx, ops, &o, &m) != ATTRIB_OK)
        return -1;
    int rc = ATTRIB_OK;
    if (ops->flags & ATTRIB_MODEL_NEEDS_PATHS) {
        obs ob = {m, &ch};
        rc = attrib__dataset_paths(ds, ro, observe_ch, &ob);
        if (rc == ATTRIB_OK)
            rc = attrib_model_finish(m, ctx);
    }
    if (rc == ATTRIB_OK)
        rc = attrib_model_bind(m, ctx, &ch);
    double t1 = now_s();
    /* What the attribute step does: the shared loop (checks included) into one credit array. */
    size_t *offset = malloc((ds->n_journeys + 1) * sizeof(*offset));
    attrib_credit *credits = NULL;
    size_t total = 0;
    for (size_t j = 0; offset != NULL && j < ds->n_journeys; j++) {
        offset[j] = total;
        total += ds->journeys[j].n;
    }
    if (offset != NULL)
        credits = malloc((total > 0 ? total : 1) * sizeof(*credits));
    if (rc == ATTRIB_OK && credits == NULL)
        rc = ATTRIB_ENOMEM;
    attrib__model_run_opts o_run = ATTRIB__MODEL_RUN_OPTS_INIT;
    o_run.threads = threads;
    if (rc == ATTRIB_OK)
        rc = attrib__model_run(ctx, m, ds->journeys, ds->n_journeys, offset, credits, &o_run);
    double t2 = now_s();
    free(offset);
    free(credits);
    attrib_model_free(m);
    if (rc != ATTRIB_OK) {
        fprintf(stderr, "models_bench: %s failed: %s\n", spec, attrib_errmsg(ctx));
        return -1;
    }
    *fit_s = t1 - t0;
    return t2 - t0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: models_bench DB [THREADS] [MODEL[:k|:v] ...]\n");
        return 2;
    }
    unsigned threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 2;
    if (threads < 1 || threads > 16)
        threads = 2;
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_ctx_new(&ctx);
    if (attrib_store_open(ctx, argv[1], ATTRIB_STORE_READONLY, &st) != ATTRIB_OK) {
        fprintf(stderr, "models_bench: %s\n", attrib_errmsg(ctx));
        return 1;
    }
    attrib_run_options ro = ATTRIB_RUN_OPTIONS_INIT;
    attrib__dataset ds = {0}, warm = {0};
    /* An untimed load first, so both timed loads find the same page cache. */
    if (attrib__dataset_load(ctx, st, &ro, true, &warm) != ATTRIB_OK) {
        fprintf(stderr, "models_bench: %s\n", attrib_errmsg(ctx));
        return 1;
    }
    attrib__dataset_free(&warm);
    ds.all_paths = true; /* what the path models load; the others load a little less */
    double t0 = now_s();
    if (attrib__dataset_load(ctx, st, &ro, true, &ds) != ATTRIB_OK) {
        fprintf(stderr, "models_bench: %s\n", attrib_errmsg(ctx));
        return 1;
    }
    double load = now_s() - t0;
    /* The same load without the paths of users who never convert (what models
     * without ATTRIB_MODEL_NEEDS_PATHS load): the pipeline's share of the cost
     * of the path models. */
    attrib__dataset plain = {0};
    t0 = now_s();
    if (attrib__dataset_load(ctx, st, &ro, true, &plain) != ATTRIB_OK) {
        fprintf(stderr, "models_bench: %s\n", attrib_errmsg(ctx));
        return 1;
    }
    double load_plain = now_s() - t0;
    attrib__dataset_free(&plain);
    const char *defaults[32];
    int nm = 0;
    for (const attrib_model_ops *const *m = attrib_model_list(); *m != NULL && nm < 30; m++) {
        defaults[nm++] = (*m)->name;
        if (strcmp((*m)->name, "markov") == 0)
            defaults[nm++] = "markov:3";
    }
    const char *const *specs = argc > 3 ? (const char *const *)argv + 3 : defaults;
    int ns = argc > 3 ? argc - 3 : nm;
    const char *base = attrib_model_find("ihc") != NULL ? "ihc" : "linear";
    double fit_b = 0, tb = time_model(ctx, &ds, &ro, base, threads, &fit_b); /* warm-up */
    tb = time_model(ctx, &ds, &ro, base, threads, &fit_b);
    printf("dataset %s: %zu journeys, %zu channels; load %.2f s; %u threads; baseline %s "
           "%.3f s\n",
           argv[1], ds.n_journeys, attrib__dataset_channels(&ds).count, load, threads, base, tb);
    printf("load without the non-converting paths: %.2f s (the paths add %.2f s)\n", load_plain,
           load - load_plain);
    printf("%-20s %10s %10s %12s %14s\n", "model", "fit s", "total s", "model/base", "step/base");
    for (int i = 0; i < ns; i++) {
        double fit = 0, t = time_model(ctx, &ds, &ro, specs[i], threads, &fit);
        if (t < 0) {
            printf("%-20s failed\n", specs[i]);
            continue;
        }
        /* the step: the load this model needs (with the non-converting paths or
         * not) plus the model, against the baseline's plain load plus its model */
        char name[64];
        snprintf(name, sizeof(name), "%s", specs[i]);
        name[strcspn(name, ":")] = '\0';
        const attrib_model_ops *ops = attrib_model_find(name);
        double l = ops != NULL && (ops->flags & ATTRIB_MODEL_NEEDS_PATHS) ? load : load_plain;
        printf("%-20s %10.3f %10.3f %12.2f %14.2f\n", specs[i], fit, t, tb > 0 ? t / tb : 0,
               (l + t) / (load_plain + tb));
    }
    attrib__dataset_free(&ds);
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return 0;
}
