/*
 * The IHC JSON codec against the real API traffic in tests/data/ihc-real
 * (override with $ATTRIB_IHC_REAL): request bodies we build for the real
 * journeys equal the real requests field for field, the parsers read every
 * real request and response, and the writers' output reads back equal.
 * Journeys are built here with jansson directly, independently of the
 * parser under test.
 */
#include "testutil.h"

#include "attrib/ihc_json.h"
#include "util/ts.h"

#include <jansson.h>
#include <math.h>

static const char *real_dir(void)
{
    const char *d = getenv("ATTRIB_IHC_REAL");
    return d != NULL ? d : TOP "/tests/data/ihc-real";
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            p = realloc(p, cap);
        }
        size_t r = fread(p + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    p = realloc(p, n + 1);
    p[n] = '\0';
    *len = n;
    return p;
}

static json_t *load_real(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", real_dir(), name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (j == NULL)
        fail_msg("cannot load %s: %s (set ATTRIB_IHC_REAL)", path, err.text);
    return j;
}

/* ---- journeys from journeys.json, built without the parser under test ---- */

typedef struct {
    attrib_journey *js;
    size_t n;
    attrib_session *sess;
    const char **chan;
    size_t n_chan;
    attrib_channels channels;
    json_t *root;
} fixture;

static int cmp_sess(const void *a, const void *b)
{
    const attrib_session *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return strcmp(x->id, y->id);
}

static uint32_t chan_index(fixture *f, const char *name)
{
    for (size_t i = 0; i < f->n_chan; i++)
        if (strcmp(f->chan[i], name) == 0)
            return (uint32_t)i;
    f->chan[f->n_chan] = name;
    return (uint32_t)f->n_chan++;
}

static void fixture_load(fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->root = load_real("journeys.json");
    size_t n = json_array_size(f->root);
    assert_true(n > 0);
    f->sess = calloc(n, sizeof(*f->sess));
    f->js = calloc(n, sizeof(*f->js));
    f->chan = calloc(n, sizeof(*f->chan));
    /* journeys.json lists each journey's sessions contiguously */
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(f->root, i);
        const char *cid = json_string_value(json_object_get(s, "conversion_id"));
        attrib_session *x = &f->sess[i];
        x->id = json_string_value(json_object_get(s, "session_id"));
        const char *ts = json_string_value(json_object_get(s, "timestamp"));
        assert_int_equal(attrib_datetime_parse(ts, strlen(ts), &x->ts), 0);
        x->channel = chan_index(f, json_string_value(json_object_get(s, "channel_label")));
        x->holder = (uint8_t)json_integer_value(json_object_get(s, "holder_engagement"));
        x->closer = (uint8_t)json_integer_value(json_object_get(s, "closer_engagement"));
        x->impression = (uint8_t)json_integer_value(json_object_get(s, "impression_interaction"));
        if (f->n == 0 || strcmp(f->js[f->n - 1].conv_id, cid) != 0) {
            f->js[f->n] = (attrib_journey){.conv_id = cid, .sessions = x, .n = 0};
            f->n++;
        }
        f->js[f->n - 1].n++;
    }
    for (size_t j = 0; j < f->n; j++)
        qsort((void *)f->js[j].sessions, f->js[j].n, sizeof(attrib_session), cmp_sess);
    f->channels.names = f->chan;
    f->channels.count = f->n_chan;
}

static void fixture_free(fixture *f)
{
    free(f->sess);
    free(f->js);
    free(f->chan);
    json_decref(f->root);
}

static const attrib_journey *find_journey(const fixture *f, const char *cid)
{
    for (size_t j = 0; j < f->n; j++)
        if (strcmp(f->js[j].conv_id, cid) == 0)
            return &f->js[j];
    return NULL;
}

static int cmp_json_sess(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "timestamp")),
                   json_string_value(json_object_get(y, "timestamp")));
    if (c != 0)
        return c;
    return strcmp(json_string_value(json_object_get(x, "session_id")),
                  json_string_value(json_object_get(y, "session_id")));
}

/* Keys of two objects in the same order. */
static void assert_same_key_order(json_t *a, json_t *b)
{
    void *ia = json_object_iter(a), *ib = json_object_iter(b);
    while (ia != NULL && ib != NULL) {
        assert_string_equal(json_object_iter_key(ia), json_object_iter_key(ib));
        ia = json_object_iter_next(a, ia);
        ib = json_object_iter_next(b, ib);
    }
    assert_null(ia);
    assert_null(ib);
}

/*
 * For every conversion in the real requests: the body we write for its
 * journey has the same session objects (same keys in the same order, same
 * types, same values) as the real request(s). Journeys the original client
 * split are compared against the concatenation of their fragments.
 */
static void test_request_matches_real(void **state)
{
    (void)state;
    fixture f;
    fixture_load(&f);
    json_t *reqs = load_real("ihc_new/requests.json");
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);

    /* group the real sessions per conversion_id, in request order */
    json_t *groups = json_object();
    json_t *order = json_array();
    size_t n_sess = 0, ir, is;
    json_t *r, *s;
    json_array_foreach(reqs, ir, r)
    {
        json_array_foreach(json_object_get(r, "customer_journeys"), is, s)
        {
            const char *cid = json_string_value(json_object_get(s, "conversion_id"));
            json_t *g = json_object_get(groups, cid);
            if (g == NULL) {
                g = json_array();
                json_object_set_new(groups, cid, g);
                json_array_append_new(order, json_string(cid));
            }
            json_array_append(g, s);
            n_sess++;
        }
    }
    assert_int_equal(json_array_size(order), 1400);
    assert_int_equal(n_sess, 2773);

    size_t checked = 0, tie_reordered = 0;
    json_t *cidv;
    json_array_foreach(order, ir, cidv)
    {
        const char *cid = json_string_value(cidv);
        json_t *real = json_object_get(groups, cid);
        const attrib_journey *j = find_journey(&f, cid);
        assert_non_null(j);
        size_t m = json_array_size(real);
        assert_int_equal(m, j->n);

        /* the real order is time order; only sessions with equal timestamps may differ */
        json_t **rs = calloc(m, sizeof(*rs));
        for (size_t k = 0; k < m; k++)
            rs[k] = json_array_get(real, k);
        for (size_t k = 1; k < m; k++)
            assert_true(strcmp(json_string_value(json_object_get(rs[k - 1], "timestamp")),
                               json_string_value(json_object_get(rs[k], "timestamp"))) <= 0);
        json_t **sorted = calloc(m, sizeof(*sorted));
        memcpy(sorted, rs, m * sizeof(*rs));
        qsort(sorted, m, sizeof(*sorted), cmp_json_sess);
        if (memcmp(sorted, rs, m * sizeof(*rs)) != 0)
            tie_reordered++;

        char *body = NULL;
        size_t len = 0;
        const attrib_journey *one[1] = {j};
        assert_int_equal(attrib_ihc_request_write(ctx, one, 1, &f.channels, NULL, &body, &len), 0);
        assert_int_equal(strlen(body), len);
        json_error_t err;
        json_t *mine = json_loadb(body, len, 0, &err);
        assert_non_null(mine);
        json_t *list = json_object_get(mine, "customer_journeys");
        assert_int_equal(json_object_size(mine), 1);
        assert_int_equal(json_array_size(list), m);
        for (size_t k = 0; k < m; k++) {
            json_t *a = json_array_get(list, k);
            assert_same_key_order(a, sorted[k]);
            if (!json_equal(a, sorted[k])) {
                char *x = json_dumps(a, JSON_COMPACT), *y = json_dumps(sorted[k], JSON_COMPACT);
                fail_msg("journey %s session %zu:\n mine %s\n real %s", cid, k, x, y);
            }
        }
        json_decref(mine);
        free(body);
        free(rs);
        free(sorted);
        checked++;
    }
    assert_int_equal(checked, 1400);
    assert_int_equal(tie_reordered, 1); /* 16c704db...: two sessions at the same second */
    json_decref(groups);
    json_decref(order);
    json_decref(reqs);
    attrib_ctx_free(ctx);
    fixture_free(&f);
}

/* A multi-journey body is one object with the sessions of all journeys in order. */
static void test_request_write_many(void **state)
{
    (void)state;
    fixture f;
    fixture_load(&f);
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    const attrib_journey *sel[100];
    size_t total = 0, est = 0;
    for (size_t i = 0; i < 100; i++) {
        sel[i] = &f.js[i * 7];
        total += sel[i]->n;
        est += attrib_ihc_request_journey_size(sel[i], &f.channels);
    }
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(attrib_ihc_request_write(ctx, sel, 100, &f.channels, NULL, &body, &len), 0);
    assert_true(est + 64 >= len); /* the size bound holds for ASCII data */
    assert_true(est <= len + 64);
    /* read it back with the parser: same journeys, same sessions */
    attrib_ihc_request *req = NULL;
    assert_int_equal(attrib_ihc_request_parse(ctx, body, len, &req), 0);
    assert_int_equal(req->n_journeys, 100);
    assert_int_equal(req->n_sessions, total);
    assert_false(req->has_redistribution);
    for (size_t i = 0; i < 100; i++) {
        const attrib_journey *a = &req->journeys[i], *b = sel[i];
        assert_string_equal(a->conv_id, b->conv_id);
        assert_int_equal(a->n, b->n);
        for (size_t k = 0; k < a->n; k++) {
            assert_string_equal(a->sessions[k].id, b->sessions[k].id);
            assert_int_equal(a->sessions[k].ts, b->sessions[k].ts);
            assert_string_equal(req->channels.names[a->sessions[k].channel],
                                f.channels.names[b->sessions[k].channel]);
            assert_int_equal(a->sessions[k].holder, b->sessions[k].holder);
            assert_int_equal(a->sessions[k].closer, b->sessions[k].closer);
            assert_int_equal(req->sent_conversion[i][k], k + 1 == a->n);
        }
        assert_int_equal(a->ts, b->sessions[b->n - 1].ts);
    }
    attrib_ihc_request_free(req);
    free(body);
    attrib_ctx_free(ctx);
    fixture_free(&f);
}

/* Every real request parses; counts, grouping and sent flags are right. */
static void test_parse_real_requests(void **state)
{
    (void)state;
    size_t len = 0;
    char path[512];
    snprintf(path, sizeof(path), "%s/ihc_new/requests.json", real_dir());
    char *text = slurp(path, &len);
    assert_non_null(text);
    json_t *reqs = json_loadb(text, len, 0, NULL);
    assert_non_null(reqs);
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    size_t i, total_j = 0, leading_fragments = 0;
    json_t *r;
    json_array_foreach(reqs, i, r)
    {
        char *body = json_dumps(r, JSON_COMPACT);
        attrib_ihc_request *req = NULL;
        int rc = attrib_ihc_request_parse(ctx, body, strlen(body), &req);
        if (rc != 0)
            fail_msg("request %zu: %s", i, attrib_errmsg(ctx));
        json_t *list = json_object_get(r, "customer_journeys");
        assert_int_equal(req->n_sessions, json_array_size(list));
        assert_int_equal(req->n_items, json_array_size(list));
        assert_int_equal(req->n_failures, 0);
        /* journeys in order of first appearance */
        assert_string_equal(
            req->journeys[0].conv_id,
            json_string_value(json_object_get(json_array_get(list, 0), "conversion_id")));
        for (size_t j = 0; j < req->n_journeys; j++) {
            const attrib_journey *jr = &req->journeys[j];
            for (size_t k = 1; k < jr->n; k++)
                assert_true(jr->sessions[k - 1].ts <= jr->sessions[k].ts);
            size_t ones = 0;
            for (size_t k = 0; k < jr->n; k++)
                ones += req->sent_conversion[j][k];
            assert_true(ones <= 1);
            if (ones == 0)
                leading_fragments++;
        }
        total_j += req->n_journeys;
        attrib_ihc_request_free(req);
        free(body);
    }
    assert_int_equal(total_j, 1400 + 12); /* 12 journeys arrive in two requests */
    assert_int_equal(leading_fragments, 12);
    json_decref(reqs);
    free(text);
    attrib_ctx_free(ctx);
}

/* Every real response parses; rows pair with the request; sums are 1. */
static void test_parse_real_responses(void **state)
{
    (void)state;
    json_t *reqs = load_real("ihc_new/requests.json");
    json_t *resps = load_real("ihc_new/responses.json");
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    assert_int_equal(json_array_size(reqs), json_array_size(resps));
    size_t i;
    json_t *rj;
    size_t rows = 0;
    json_array_foreach(resps, i, rj)
    {
        char *body = json_dumps(rj, JSON_COMPACT | JSON_REAL_PRECISION(17));
        attrib_ihc_response *resp = NULL;
        if (attrib_ihc_response_parse(ctx, body, strlen(body), &resp) != 0)
            fail_msg("response %zu: %s", i, attrib_errmsg(ctx));
        assert_int_equal(resp->status_code, 200);
        assert_int_equal(resp->n_failures, 0);
        json_t *sent = json_object_get(json_array_get(reqs, i), "customer_journeys");
        assert_int_equal(resp->n_rows, json_array_size(sent));
        for (size_t k = 0; k < resp->n_rows; k++) {
            json_t *s = json_array_get(sent, k);
            assert_string_equal(resp->rows[k].conversion_id,
                                json_string_value(json_object_get(s, "conversion_id")));
            assert_string_equal(resp->rows[k].session_id,
                                json_string_value(json_object_get(s, "session_id")));
        }
        /* ihc sums to 1 per conversion (rows of a conversion are adjacent) */
        double sum = 0;
        for (size_t k = 0; k < resp->n_rows; k++) {
            sum += resp->rows[k].credit.ihc;
            if (k + 1 == resp->n_rows ||
                strcmp(resp->rows[k].conversion_id, resp->rows[k + 1].conversion_id) != 0) {
                assert_near(sum, 1.0, 3e-4);
                sum = 0;
            }
        }
        if (i == 0) {
            assert_near(resp->rows[0].credit.ihc, 0.5388, 0);
            assert_near(resp->rows[0].credit.holder, 0.149, 0);
            assert_near(resp->rows[1].credit.initializer, 0.0, 0);
        }
        /* our writer reproduces the body: same structure, same numbers */
        char *w = NULL;
        size_t wl = 0;
        assert_int_equal(attrib_ihc_response_write(ctx, resp->status_code, resp->rows, resp->n_rows,
                                                   resp->failures, resp->n_failures, &w, &wl),
                         0);
        json_t *back = json_loadb(w, wl, 0, NULL);
        assert_non_null(back);
        if (!json_equal(back, rj))
            fail_msg("response %zu does not read back equal", i);
        assert_same_key_order(back, rj);
        assert_same_key_order(json_array_get(json_object_get(back, "value"), 0),
                              json_array_get(json_object_get(rj, "value"), 0));
        json_decref(back);
        free(w);
        rows += resp->n_rows;
        attrib_ihc_response_free(resp);
        free(body);
    }
    assert_int_equal(rows, 2773);
    json_decref(reqs);
    json_decref(resps);
    attrib_ctx_free(ctx);
}

/* The text of the real response file, number for number, is what we write. */
static void test_response_text_matches_real(void **state)
{
    (void)state;
    size_t len = 0;
    char path[512];
    snprintf(path, sizeof(path), "%s/ihc_new/responses.json", real_dir());
    char *text = slurp(path, &len);
    assert_non_null(text);
    /* the real number tokens after "ihc": etc. are what fmt4 prints */
    const char *keys[4] = {"\"initializer\": ", "\"holder\": ", "\"closer\": ", "\"ihc\": "};
    size_t seen = 0;
    for (int k = 0; k < 4; k++) {
        for (const char *p = strstr(text, keys[k]); p != NULL; p = strstr(p + 1, keys[k])) {
            const char *num = p + strlen(keys[k]);
            size_t n = strcspn(num, ",\n }");
            char tok[40];
            assert_true(n < sizeof(tok));
            memcpy(tok, num, n);
            tok[n] = '\0';
            char mine[32];
            attrib_ihc_fmt4(strtod(tok, NULL), mine);
            assert_string_equal(mine, tok);
            seen++;
        }
    }
    assert_int_equal(seen, 4 * 2773);
    free(text);
}

static void test_fmt4(void **state)
{
    (void)state;
    static const struct {
        double x;
        const char *s;
    } cases[] = {
        {1.0, "1.0"},        {0.0, "0.0"},        {-0.0, "0.0"},         {0.149, "0.149"},
        {0.53884, "0.5388"}, {0.53886, "0.5389"}, {1.0 / 3.0, "0.3333"}, {2.0 / 3.0, "0.6667"},
        {0.99996, "1.0"},    {-1e-9, "0.0"},      {0.00005, "0.0001"},   {0.000049, "0.0"},
        {0.1, "0.1"},        {12.5, "12.5"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[32];
        size_t n = attrib_ihc_fmt4(cases[i].x, out);
        assert_string_equal(out, cases[i].s);
        assert_int_equal(n, strlen(cases[i].s));
    }
}

static int parse_err(attrib_ctx *ctx, const char *body, const char *expect_in_msg)
{
    attrib_ihc_request *req = NULL;
    attrib_clearerr(ctx);
    int rc = attrib_ihc_request_parse(ctx, body, strlen(body), &req);
    assert_null(req);
    if (strstr(attrib_errmsg(ctx), expect_in_msg) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", attrib_errmsg(ctx), expect_in_msg);
    return rc;
}

#define S(cid, sid, ts, extra)                                                                     \
    "{\"conversion_id\":\"" cid "\",\"session_id\":\"" sid "\",\"timestamp\":\"" ts                \
    "\",\"channel_label\":\"SEO\",\"holder_engagement\":1,\"closer_engagement\":0,"                \
    "\"conversion\":0" extra "}"

/* Same-second sessions keep the request's order (the API's rule, issue 13),
 * whatever their session_ids; other sessions are sorted by time. */
static void test_request_tie_order(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    const char *body = "{\"customer_journeys\":[" S("c", "z", "2023-01-01 10:00:05", "") "," S(
        "c", "b", "2023-01-01 10:00:00", "") "," S("c", "y", "2023-01-01 10:00:05",
                                                   "") "," S("c", "a", "2023-01-01 10:00:00",
                                                             "") "]}";
    attrib_ihc_request *req = NULL;
    assert_int_equal(attrib_ihc_request_parse(ctx, body, strlen(body), &req), 0);
    assert_int_equal(req->n_journeys, 1);
    const attrib_journey *j = &req->journeys[0];
    assert_int_equal(j->n, 4);
    static const char *const want[4] = {"b", "a", "z", "y"};
    for (size_t k = 0; k < 4; k++)
        assert_string_equal(j->sessions[k].id, want[k]);
    attrib_ihc_request_free(req);
    attrib_ctx_free(ctx);
}

static void test_request_errors(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    assert_int_equal(parse_err(ctx, "{\"customer_journeys\": [", "byte"), ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx, "\"x\"", "byte"), ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx, "{\"customer_journeys\":5}", "not a list"), ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx, "{}", "customer_journeys missing"), ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx, "{\"customer_journeys\":[],\"x\":1}", "unknown key"),
                     ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx, "[1]", "customer_journeys[0]: not an object"), ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx, "[{\"conversion_id\":5}]", "[0].conversion_id: not a string"),
                     ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx,
                               "[" S("c", "s1", "2023-09-01 10:00:00",
                                     "") "," S("c", "s2", "2023-09-01 25:00:00", "") "]",
                               "customer_journeys[1].timestamp"),
                     ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx, "[" S("c", "s1", "2023-09-01T10:00:00", "") "]", "timestamp"),
                     ATTRIB_EPARSE);
    assert_int_equal(
        parse_err(ctx,
                  "[" S("c", "s1", "2023-09-01 10:00:00", ",\"impression_interaction\":true") "]",
                  "impression_interaction: not an integer"),
        ATTRIB_EPARSE);
    assert_int_equal(
        parse_err(ctx, "[" S("c", "s1", "2023-09-01 10:00:00", ",\"impression_interaction\":2") "]",
                  "impression_interaction: not 0 or 1"),
        ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx,
                               "[{\"conversion_id\":\"c\",\"session_id\":\"s\",\"timestamp\":"
                               "\"2023-09-01 10:00:00\",\"channel_label\":\"SEO\","
                               "\"holder_engagement\":1,\"conversion\":1}]",
                               "closer_engagement: missing"),
                     ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx,
                               "[" S("c", "s1", "2023-09-01 10:00:00",
                                     "") "," S("c", "s1", "2023-09-01 11:00:00", "") "]",
                               "duplicate session_id"),
                     ATTRIB_EPARSE);
    assert_int_equal(parse_err(ctx,
                               "{\"customer_journeys\":[],\"redistribution_parameter\":{"
                               "\"holder\":{\"direction\":\"sideways\"}}}",
                               "holder.direction"),
                     ATTRIB_EPARSE);
    attrib_ctx_free(ctx);
}

/* Partial mode: a bad journey is listed, the good ones are kept. */
static void test_request_partial(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    const char *body = "{\"customer_journeys\":[" S("a", "s2", "2023-09-01 12:00:00", "") "," S(
        "b", "s1", "2023-09-01 10:00:00",
        ",\"holder_engagement\":\"1\"") "," S("a", "s1", "2023-09-01 11:00:00 +0100",
                                              "") "," S("c", "x", "2023-09-02 00:00:00",
                                                        "") "," S("c", "x", "2023-09-02 00:00:01",
                                                                  "") "]}";
    attrib_ihc_request *req = NULL;
    /* JSON_REJECT_DUPLICATES rejects the duplicate key in item 1 as a whole-body error */
    assert_int_equal(
        attrib_ihc_request_parse_ex(ctx, body, strlen(body), ATTRIB_IHC_PARSE_PARTIAL, &req),
        ATTRIB_EPARSE);
    attrib_clearerr(ctx);
    const char *body2 = "{\"customer_journeys\":[" S(
        "a", "s2", "2023-09-01 12:00:00",
        "") ",{"
            "\"conversion_id\":\"b\",\"session_id\":\"s1\",\"timestamp\":\"2023-09-01 "
            "10:00:00\",\"channel_label\":\"SEO\",\"holder_engagement\":\"1\","
            "\"closer_engagement\":0,\"conversion\":1}," S(
                "a", "s1", "2023-09-01 11:00:00 +0100",
                "") "," S("c", "x", "2023-09-02 00:00:00",
                          "") "," S("c", "x", "2023-09-02 00:00:01", "") "]}";
    assert_int_equal(
        attrib_ihc_request_parse_ex(ctx, body2, strlen(body2), ATTRIB_IHC_PARSE_PARTIAL, &req), 0);
    assert_int_equal(req->n_items, 5);
    assert_int_equal(req->n_journeys, 1);
    assert_int_equal(req->n_sessions, 2);
    assert_string_equal(req->journeys[0].conv_id, "a");
    /* "+0100" is one hour ahead of UTC: s1 at 10:00 UTC sorts before s2 at 12:00 */
    assert_string_equal(req->journeys[0].sessions[0].id, "s1");
    int64_t t;
    assert_int_equal(attrib_datetime_parse("2023-09-01 10:00:00", 19, &t), 0);
    assert_int_equal(req->journeys[0].sessions[0].ts, t);
    assert_int_equal(req->n_failures, 2);
    assert_string_equal(req->failures[0].conversion_id, "b");
    assert_non_null(strstr(req->failures[0].message, "customer_journeys[1].holder_engagement"));
    assert_string_equal(req->failures[1].conversion_id, "c");
    assert_non_null(strstr(req->failures[1].message, "duplicate session_id"));
    attrib_ihc_request_free(req);
    attrib_ctx_free(ctx);
}

static void test_redistribution_roundtrip(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    const char *cfg = "{\"initializer\":{\"direction\":\"earlier_sessions_only\","
                      "\"receive_threshold\":0,\"redistribution_channel_labels\":[\"Direct\","
                      "\"Email_Newsletter\"]},\"closer\":{\"direction\":\"later_sessions_only\","
                      "\"receive_threshold\":0.1,\"redistribution_channel_labels\":[\"SEO - "
                      "Brand\"]}}";
    attrib_ihc_redist *rd = NULL;
    assert_int_equal(attrib_ihc_redist_parse(ctx, cfg, strlen(cfg), &rd), 0);
    assert_int_equal(rd->redistribution.initializer.direction, ATTRIB_REDIST_EARLIER);
    assert_int_equal(rd->redistribution.holder.direction, ATTRIB_REDIST_NONE);
    assert_int_equal(rd->redistribution.closer.direction, ATTRIB_REDIST_LATER);
    assert_near(rd->redistribution.closer.receive_threshold, 0.1, 0);
    assert_int_equal(rd->redistribution.initializer.n_labels, 2);
    assert_string_equal(rd->redistribution.initializer.labels[1], "Email_Newsletter");

    /* written into a request, it reads back the same; ids with quotes survive */
    const char *names[1] = {"Direct"};
    attrib_channels ch = {names, 1};
    attrib_session s[2] = {{.id = "s\"1\\\n", .ts = 1693562400, .channel = 0, .holder = 1},
                           {.id = "s2 \xc3\xa9", .ts = 1693562460, .channel = 0}};
    attrib_journey j = {.conv_id = "c/1", .sessions = s, .n = 2};
    const attrib_journey *one[1] = {&j};
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(attrib_ihc_request_write(ctx, one, 1, &ch, &rd->redistribution, &body, &len),
                     0);
    assert_non_null(strstr(body, "],\"redistribution_parameter\":{\"initializer\":{\"direction\":"
                                 "\"earlier_sessions_only\",\"receive_threshold\":0,"));
    assert_null(strstr(body, "\"holder\":{"));
    attrib_ihc_request *req = NULL;
    assert_int_equal(attrib_ihc_request_parse(ctx, body, len, &req), 0);
    assert_true(req->has_redistribution);
    assert_int_equal(req->redistribution.closer.direction, ATTRIB_REDIST_LATER);
    assert_near(req->redistribution.closer.receive_threshold, 0.1, 0);
    assert_string_equal(req->redistribution.closer.labels[0], "SEO - Brand");
    assert_string_equal(req->journeys[0].sessions[0].id, "s\"1\\\n");
    assert_string_equal(req->journeys[0].sessions[1].id, "s2 \xc3\xa9");
    assert_int_equal(req->sent_conversion[0][1], 1);
    assert_int_equal(req->sent_conversion[0][0], 0);
    attrib_ihc_request_free(req);
    free(body);

    /* invalid UTF-8 is refused, not sent */
    s[1].id = "bad \xff";
    attrib_clearerr(ctx);
    assert_int_equal(attrib_ihc_request_write(ctx, one, 1, &ch, NULL, &body, &len), ATTRIB_EDATA);
    assert_null(body);
    attrib_ihc_redist_free(rd);
    attrib_ctx_free(ctx);
}

static void test_response_errors_and_failures(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    attrib_ihc_response *resp = NULL;
    const char *bad[] = {
        "<html>502 Bad Gateway</html>",
        "[]",
        "{\"value\":[]}",
        "{\"statusCode\":\"200\",\"value\":[]}",
        "{\"statusCode\":200,\"value\":[{\"conversion_id\":\"c\",\"session_id\":\"s\","
        "\"initializer\":1,\"holder\":0,\"closer\":1}]}",
        "{\"statusCode\":200,\"value\":[{\"conversion_id\":\"c\",\"session_id\":1,"
        "\"initializer\":1,\"holder\":0,\"closer\":1,\"ihc\":1}]}",
        "{\"statusCode\":200,\"value\":{}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        attrib_clearerr(ctx);
        assert_int_equal(attrib_ihc_response_parse(ctx, bad[i], strlen(bad[i]), &resp),
                         ATTRIB_EPARSE);
        assert_null(resp);
        assert_true(strlen(attrib_errmsg(ctx)) > 0);
    }
    const char *ok = "{\"statusCode\":206,\"value\":[{\"conversion_id\":\"c\",\"session_id\":"
                     "\"s\",\"initializer\":1,\"holder\":0,\"closer\":1.0,\"ihc\":1.0}],"
                     "\"partialFailureErrors\":[{\"conversion_id\":\"d\",\"statusCode\":406,"
                     "\"message\":\"bad timestamp\"},{\"code\":406},\"plain\"]}";
    assert_int_equal(attrib_ihc_response_parse(ctx, ok, strlen(ok), &resp), 0);
    assert_int_equal(resp->status_code, 206);
    assert_int_equal(resp->n_rows, 1);
    assert_int_equal(resp->n_failures, 3);
    assert_string_equal(resp->failures[0].conversion_id, "d");
    assert_string_equal(resp->failures[0].message, "bad timestamp");
    assert_null(resp->failures[1].conversion_id);
    assert_string_equal(resp->failures[1].message, "{\"code\":406}");
    assert_string_equal(resp->failures[2].message, "plain");
    /* written back: same failures */
    char *w = NULL;
    size_t wl = 0;
    assert_int_equal(attrib_ihc_response_write(ctx, 206, resp->rows, 1, resp->failures, 1, &w, &wl),
                     0);
    assert_string_equal(w, "{\"statusCode\":206,\"value\":[{\"conversion_id\":\"c\",\"session_id\":"
                           "\"s\",\"initializer\":1.0,\"holder\":0.0,\"closer\":1.0,\"ihc\":1.0}],"
                           "\"partialFailureErrors\":[{\"conversion_id\":\"d\",\"statusCode\":406,"
                           "\"message\":\"bad timestamp\"}]}");
    free(w);
    attrib_ihc_response_free(resp);
    const char *err = "{\"statusCode\":400,\"message\":\"too many journeys\"}";
    assert_int_equal(attrib_ihc_response_parse(ctx, err, strlen(err), &resp), 0);
    assert_int_equal(resp->status_code, 400);
    assert_string_equal(resp->message, "too many journeys");
    assert_int_equal(resp->n_rows, 0);
    attrib_ihc_response_free(resp);
    assert_int_equal(attrib_ihc_error_write(ctx, 400, "bad \"x\"", &w, &wl), 0);
    assert_string_equal(w, "{\"statusCode\":400,\"message\":\"bad \\\"x\\\"\"}");
    free(w);
    attrib_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_matches_real),
        cmocka_unit_test(test_request_write_many),
        cmocka_unit_test(test_request_tie_order),
        cmocka_unit_test(test_parse_real_requests),
        cmocka_unit_test(test_parse_real_responses),
        cmocka_unit_test(test_response_text_matches_real),
        cmocka_unit_test(test_fmt4),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_request_partial),
        cmocka_unit_test(test_redistribution_roundtrip),
        cmocka_unit_test(test_response_errors_and_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
