/*
 * Allocation-failure injection: runs a scenario of library calls with the
 * Nth allocation failing (ATTRIB_ALLOC_FAIL=N; 0 = none) and checks that
 * the call it fails in returns an error with a message. Linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
 * against an ASan+UBSan libattrib.a: every allocation of attrib's own code
 * (and of jansson, through json_set_alloc_funcs) is counted; SQLite, libcurl
 * and libc allocate on their own. A crash or sanitizer report fails the run,
 * LeakSanitizer reports what a failure path leaked. Prints the allocations
 * counted and whether the failure was injected (tests/alloc/sweep.sh).
 *
 *   alloc_fail SCENARIO DIR     SCENARIO: json | models | pipeline | serve
 */
#include "attrib/error.h"
#include "attrib/gen.h"
#include "attrib/ihc_json.h"
#include "attrib/model.h"
#include "attrib/pipeline.h"
#include "attrib/serve.h"
#include "attrib/store.h"
#include "lib/core/ctx.h"
#include "lib/ihc/params.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_ulong g_count;
static unsigned long g_fail_at;
static atomic_int g_injected;

static int fail_now(void)
{
    unsigned long n = atomic_fetch_add(&g_count, 1) + 1;
    if (g_fail_at != 0 && n == g_fail_at) {
        atomic_store(&g_injected, 1);
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    return fail_now() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fail_now() ? NULL : __real_strndup(s, n);
}

static void *json_alloc(size_t n)
{
    return __wrap_malloc(n);
}

/* A failed call must say why: the code and a message. */
static int check(attrib_ctx *ctx, int rc, const char *what)
{
    if (rc == ATTRIB_OK)
        return 0;
    if (attrib_errcode(ctx) == ATTRIB_OK || attrib_errmsg(ctx)[0] == '\0') {
        fprintf(stderr, "%s failed (%d) without an error in the context\n", what, rc);
        abort();
    }
    printf("%s: %s\n", what, attrib_errmsg(ctx));
    return 1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = __real_malloc(1 << 20);
    *len = buf != NULL ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf != NULL)
        buf[*len] = '\0';
    return buf;
}

static void scenario_json(attrib_ctx *ctx)
{
    size_t len = 0;
    char *body = slurp(TOP "/tests/fuzz/corpus/ihc_request/real0.json", &len);
    char *model = slurp(TOP "/models/default.json", &len);
    if (body == NULL || model == NULL) {
        fprintf(stderr, "cannot read the inputs\n");
        abort();
    }
    attrib_ihc_request *req = NULL;
    attrib_ihc_response *resp = NULL;
    attrib_ihc_params *p = NULL;
    char *out = NULL, *json = NULL;
    size_t out_len = 0;
    if (check(ctx, attrib_ihc_request_parse(ctx, body, strlen(body), &req), "request parse"))
        goto done;
    attrib_ihc_row rows[2] = {{"c1", "s1", {.ihc = 0.5}}, {"c1", "s2", {.ihc = 0.5}}};
    if (check(ctx, attrib_ihc_response_write(ctx, 200, rows, 2, NULL, 0, &out, &out_len),
              "response write"))
        goto done;
    if (check(ctx, attrib_ihc_response_parse(ctx, out, out_len, &resp), "response parse"))
        goto done;
    if (check(ctx, attrib__ihc_params_parse(ctx, model, strlen(model), "default.json", &p),
              "params parse"))
        goto done;
    check(ctx, attrib__ihc_params_to_json(ctx, p, &json), "params to json");
done:
    free(json);
    attrib__ihc_params_free(p);
    attrib_ihc_response_free(resp);
    free(out);
    attrib_ihc_request_free(req);
    free(body);
    free(model);
}

/* Every model: observe paths, finish, bind, attribute journeys. */
static void scenario_models(attrib_ctx *ctx)
{
    static const char *const names[] = {"A", "B", "C"};
    const attrib_channels ch = {names, 3};
    attrib_session s[6];
    for (int k = 0; k < 6; k++)
        s[k] = (attrib_session){.id = "s", .ts = 1000 + k * 3600, .channel = (uint32_t)(k % 3)};
    attrib_journey j = {.conv_id = "c", .ts = 1000 + 6 * 3600, .revenue = 1, .sessions = s, .n = 6};
    attrib_credit out[6];
    for (const attrib_model_ops *const *ops = attrib_model_list(); *ops != NULL; ops++) {
        attrib_model *m = NULL;
        attrib_model_options mo = ATTRIB_MODEL_OPTIONS_INIT;
        attrib_clearerr(ctx);
        if (check(ctx, attrib_model_new(ctx, *ops, &mo, &m), (*ops)->name))
            continue;
        int rc = ATTRIB_OK;
        if (((*ops)->flags & ATTRIB_MODEL_NEEDS_PATHS) != 0) {
            for (size_t n = 1; n <= 6 && rc == ATTRIB_OK; n++) {
                attrib_path p = {.sessions = s, .n = n, .converted = n % 2 == 0, .value = 1};
                rc = attrib_model_observe(m, &p, &ch);
            }
            if (rc != ATTRIB_OK) /* observe reports a code only (hot path) */
                printf("%s observe: %d\n", (*ops)->name, rc);
            else
                rc = attrib_model_finish(m, ctx);
            if (rc != ATTRIB_OK && attrib_errcode(ctx) != ATTRIB_OK)
                check(ctx, rc, "finish");
        }
        if (rc == ATTRIB_OK && !check(ctx, attrib_model_bind(m, ctx, &ch), "bind")) {
            rc = attrib_model_attribute(m, &j, out);
            if (rc != ATTRIB_OK)
                printf("%s attribute: %d\n", (*ops)->name, rc);
        }
        attrib_model_free(m);
    }
}

/* A store: generate, run the pipeline with three models, export. */
static void scenario_pipeline(attrib_ctx *ctx, const char *dir)
{
    char db[4096], csv[4096];
    snprintf(db, sizeof(db), "%s/alloc.db", dir);
    snprintf(csv, sizeof(csv), "%s/out.csv", dir);
    remove(db);
    attrib_store *st = NULL;
    if (check(ctx, attrib_store_open(ctx, db, ATTRIB_STORE_CREATE, &st), "open"))
        goto done;
    attrib_gen_options go = ATTRIB_GEN_OPTIONS_INIT;
    go.sessions = 300;
    go.days = 7;
    attrib_gen_stats gs;
    if (check(ctx, attrib_gen_store(ctx, st, &go, 0, &gs), "gen"))
        goto done;
    static const char *const models[] = {"linear", "markov", "counterfactual", "ihc"};
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
        attrib_run_options ro = ATTRIB_RUN_OPTIONS_INIT;
        ro.model = attrib_model_find(models[i]);
        ro.threads = 1;
        attrib_summary sum;
        memset(&sum, 0, sizeof(sum));
        int rc = attrib_run(ctx, st, &ro, csv, &sum);
        attrib_summary_free(&sum);
        if (check(ctx, rc, models[i]))
            break;
    }
done:
    attrib_store_close(st);
}

static void scenario_serve(attrib_ctx *ctx)
{
    attrib_serve_options o = ATTRIB_SERVE_OPTIONS_INIT;
    o.model = "linear";
    o.no_auth = true;
    o.threads = 2;
    attrib_server *s = NULL;
    if (!check(ctx, attrib_serve_new(ctx, &o, &s), "serve"))
        attrib_serve_free(s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: alloc_fail json|models|pipeline|serve [DIR]\n");
        return 2;
    }
    const char *env = getenv("ATTRIB_ALLOC_FAIL");
    g_fail_at = env != NULL ? strtoul(env, NULL, 10) : 0;
    json_set_alloc_funcs(json_alloc, free);
    attrib_ctx *ctx = NULL;
    if (attrib_ctx_new(&ctx) != ATTRIB_OK) {
        printf("allocations %lu injected %d\n", (unsigned long)g_count, (int)g_injected);
        return 0; /* the context itself: the caller sees ATTRIB_ENOMEM */
    }
    if (strcmp(argv[1], "json") == 0)
        scenario_json(ctx);
    else if (strcmp(argv[1], "models") == 0)
        scenario_models(ctx);
    else if (strcmp(argv[1], "pipeline") == 0)
        scenario_pipeline(ctx, argc > 2 ? argv[2] : ".");
    else if (strcmp(argv[1], "serve") == 0)
        scenario_serve(ctx);
    else
        return 2;
    attrib_ctx_free(ctx);
    printf("allocations %lu injected %d\n", (unsigned long)g_count, (int)g_injected);
    return 0;
}
