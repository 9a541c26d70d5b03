/*
 * The API client against real HTTP servers on 127.0.0.1 (ephemeral ports):
 *  - a fault-injecting fake IHC server (libmicrohttpd, in this binary) with
 *    the free-tier caps (100 journeys, 200 sessions) and a plan of faults:
 *    429 + Retry-After, 500, 503, a response slower than the timeout, a
 *    reset connection, garbage JSON, 206 with a partial failure, 400, 403;
 *  - `attrib serve` (the library server) with the linear model.
 * Asserted: every conversion gets exactly one outcome, no cap is exceeded,
 * no journey is split or sent again after a delivered success, retries
 * resend the same body, Retry-After is honoured, the failure list and the
 * return code are right, and the key appears in no message, log line or
 * audit file. A run stopped midway and restarted with what is missing sends
 * only that.
 */
#include "testutil.h"

#include "attrib/api.h"
#include "attrib/ihc_json.h"
#include "attrib/serve.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY "k3y-SECRET-0123456789abcdef"
#define MAXJ 100
#define MAXS 200
#define NCONV 1500

/* ---------------- journeys ---------------- */

static const char *chan_names[] = {"SEO", "Direct Traffic", "Newsletter & Email", "SEA - Brand"};
static attrib_channels channels = {chan_names, 4};

typedef struct {
    attrib_journey *js;
    size_t n;
    attrib_session *sess;
    char *ids; /* storage for ids */
} jset;

static uint64_t rs = 0x1234567;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static void jset_make(jset *s, size_t n)
{
    rs = 0x1234567;
    size_t *len = malloc(n * sizeof(*len)), total = 0;
    for (size_t i = 0; i < n; i++) {
        len[i] = 1;
        while (len[i] < 40 && rnd() % 100 < 55)
            len[i]++;
        total += len[i];
    }
    s->js = calloc(n, sizeof(*s->js));
    s->sess = calloc(total, sizeof(*s->sess));
    s->ids = calloc(n + total, 16);
    s->n = n;
    size_t at = 0;
    char *id = s->ids;
    for (size_t i = 0; i < n; i++) {
        snprintf(id, 16, "c%05u", (unsigned)(i % 100000));
        s->js[i].conv_id = id;
        id += 16;
        s->js[i].sessions = &s->sess[at];
        s->js[i].n = len[i];
        for (size_t k = 0; k < len[i]; k++) {
            attrib_session *x = &s->sess[at + k];
            snprintf(id, 16, "s%u", (unsigned)((at + k) % 1000000000));
            x->id = id;
            id += 16;
            x->ts = 1693526400 + (int64_t)(i * 100 + k * 7);
            x->channel = (uint32_t)(rnd() % 4);
            x->holder = (uint8_t)(rnd() % 2);
            x->closer = (uint8_t)(rnd() % 2);
        }
        at += len[i];
    }
    free(len);
}

static void jset_free(jset *s)
{
    free(s->js);
    free(s->sess);
    free(s->ids);
}

/* ---------------- the fake IHC server ---------------- */

enum fault {
    FT_OK = 0,
    FT_429,
    FT_500,
    FT_503,
    FT_SLOW,
    FT_RESET,
    FT_GARBAGE,
    FT_PARTIAL,
    FT_400,
    FT_403,
};

#define MAXREQ 512

typedef struct {
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t mu;
    const enum fault *plan; /* by arrival number; FT_OK beyond the end */
    size_t plan_len;
    const jset *js; /* expected journeys (to check nothing is split) */
    /* ledger */
    size_t n_req;
    enum fault fault[MAXREQ];
    double at[MAXREQ];
    unsigned long long body_hash[MAXREQ];
    size_t *convs[MAXREQ]; /* conversion indices of each request */
    size_t n_convs[MAXREQ];
    int *delivered;        /* per conversion: successes delivered */
    int *sent_after_ok;    /* per conversion: sent again after a delivered success */
    int *failed_by_server; /* per conversion: the server failed it (400 or partial) */
    int cap_violations, split_violations, key_violations, bad_bodies;
} fake;

typedef struct {
    char *data;
    size_t len;
} upload;

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static size_t conv_index(const char *id)
{
    return (size_t)strtoul(id + 1, NULL, 10);
}

/* Under valgrind or TSan (tests/run.sh sets ATTRIB_TEST_SLOW) every request is many
 * times slower: timeouts and the deliberately slow response stretch alike, so
 * the fault plan means the same thing. */
static double slow_factor(void)
{
    const char *s = getenv("ATTRIB_TEST_SLOW");
    return s != NULL && s[0] == '1' ? 6.0 : 1.0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *body,
                             const char *retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (retry_after != NULL)
        MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* A correct answer: linear credit, in the API's format; `drop` journey 0 as a partial failure. */
static char *answer(const attrib_ihc_request *req, int drop)
{
    attrib_ihc_row *rows = calloc(req->n_sessions + 1, sizeof(*rows));
    size_t n = 0;
    for (size_t j = (size_t)drop; j < req->n_journeys; j++)
        for (size_t k = 0; k < req->journeys[j].n; k++) {
            /* linear credit in units of 1e-4 that sum to exactly 1, as the API's do */
            size_t nn = req->journeys[j].n;
            double v = (double)(10000 / nn + (k < 10000 % nn)) / 1e4;
            rows[n++] = (attrib_ihc_row){req->journeys[j].conv_id,
                                         req->journeys[j].sessions[k].id,
                                         {v, k == 0, 0, k + 1 == req->journeys[j].n}};
        }
    attrib_ihc_failure f = {req->journeys[0].conv_id, "error in parsing customer journey"};
    char *body = NULL;
    size_t len = 0;
    attrib_ctx *ctx = NULL;
    attrib_ctx_new(&ctx);
    int rc =
        attrib_ihc_response_write(ctx, drop ? 206 : 200, rows, n, &f, (size_t)drop, &body, &len);
    assert_int_equal(rc, 0);
    attrib_ctx_free(ctx);
    free(rows);
    return body;
}

static enum MHD_Result fake_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version, const char *data,
                                    size_t *size, void **con_cls)
{
    fake *f = cls;
    (void)url;
    (void)method;
    (void)version;
    upload *u = *con_cls;
    if (u == NULL) {
        *con_cls = calloc(1, sizeof(upload));
        return MHD_YES;
    }
    if (*size > 0) {
        u->data = realloc(u->data, u->len + *size + 1);
        memcpy(u->data + u->len, data, *size);
        u->len += *size;
        u->data[u->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-api-key");
    const char *conv = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "conv_type_id");
    attrib_ctx *ctx = NULL;
    attrib_ctx_new(&ctx);
    attrib_ihc_request *req = NULL;
    int prc = attrib_ihc_request_parse(ctx, u->data ? u->data : "", u->len, &req);
    attrib_ctx_free(ctx);

    pthread_mutex_lock(&f->mu);
    size_t no = f->n_req++;
    enum fault fl = no < f->plan_len ? f->plan[no] : FT_OK;
    if (no < MAXREQ) {
        f->fault[no] = fl;
        f->at[no] = mono();
        f->body_hash[no] = 1469598103934665603ull;
        for (size_t i = 0; i < u->len; i++)
            f->body_hash[no] = (f->body_hash[no] ^ (unsigned char)u->data[i]) * 1099511628211ull;
    }
    if (key == NULL || strcmp(key, KEY) != 0 || conv == NULL || strcmp(conv, "ihc new/x") != 0)
        f->key_violations++;
    if (prc != 0)
        f->bad_bodies++;
    else {
        if (req->n_journeys > MAXJ || req->n_sessions > MAXS)
            f->cap_violations++;
        if (no < MAXREQ) {
            f->convs[no] = calloc(req->n_journeys + 1, sizeof(size_t));
            f->n_convs[no] = req->n_journeys;
        }
        for (size_t j = 0; j < req->n_journeys; j++) {
            size_t ci = conv_index(req->journeys[j].conv_id);
            if (no < MAXREQ)
                f->convs[no][j] = ci;
            if (req->journeys[j].n != f->js->js[ci].n)
                f->split_violations++;
            if (f->delivered[ci] > 0)
                f->sent_after_ok[ci]++;
        }
    }
    pthread_mutex_unlock(&f->mu);

    enum MHD_Result ret;
    char *body = NULL;
    switch (prc != 0 ? FT_400 : fl) {
    case FT_429:
        ret = reply(c, 429, "{\"message\":\"Too Many Requests\"}", "1");
        break;
    case FT_500:
        ret = reply(c, 500, "{\"message\":\"Internal server error\"}", NULL);
        break;
    case FT_503:
        ret = reply(c, 503, "<html>Service Unavailable</html>", NULL);
        break;
    case FT_SLOW:
        /* the client gives up at 400 ms (a wide margin for slow builds) */
        usleep((useconds_t)(2500 * 1000 * slow_factor()));
        body = answer(req, 0);
        ret = reply(c, 200, body, NULL);
        break;
    case FT_RESET:
        ret = MHD_NO; /* MHD closes the connection without an answer */
        break;
    case FT_GARBAGE:
        ret = reply(c, 200, "{\"statusCode\": 200, \"value\": [{\"conversion_id\": ", NULL);
        break;
    case FT_400:
        pthread_mutex_lock(&f->mu);
        for (size_t j = 0; req != NULL && j < req->n_journeys; j++)
            f->failed_by_server[conv_index(req->journeys[j].conv_id)] = 1;
        pthread_mutex_unlock(&f->mu);
        ret = reply(c, 400,
                    "{\"statusCode\":400,\"message\":\"Request Failure due to invalid input\"}",
                    NULL);
        break;
    case FT_403:
        ret = reply(c, 403, "{\"message\":\"Forbidden\"}", NULL);
        break;
    case FT_PARTIAL:
    case FT_OK:
    default:
        body = answer(req, fl == FT_PARTIAL);
        pthread_mutex_lock(&f->mu);
        for (size_t j = 0; j < req->n_journeys; j++) {
            size_t ci = conv_index(req->journeys[j].conv_id);
            if (j == 0 && fl == FT_PARTIAL)
                f->failed_by_server[ci] = 1;
            else
                f->delivered[ci]++;
        }
        pthread_mutex_unlock(&f->mu);
        ret = reply(c, fl == FT_PARTIAL ? 206 : 200, body, NULL);
        break;
    }
    free(body);
    attrib_ihc_request_free(req);
    return ret;
}

static void fake_done(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    upload *u = *con_cls;
    if (u != NULL) {
        free(u->data);
        free(u);
    }
    *con_cls = NULL;
}

static void fake_start(fake *f, const jset *js, const enum fault *plan, size_t plan_len)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    f->plan = plan;
    f->plan_len = plan_len;
    f->js = js;
    f->delivered = calloc(js->n, sizeof(int));
    f->sent_after_ok = calloc(js->n, sizeof(int));
    f->failed_by_server = calloc(js->n, sizeof(int));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                            NULL, NULL, fake_handler, f, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, fake_done, f, MHD_OPTION_END);
    assert_non_null(f->d);
    f->port = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void fake_stop(fake *f)
{
    MHD_stop_daemon(f->d);
    for (size_t i = 0; i < MAXREQ && i < f->n_req; i++)
        free(f->convs[i]);
    free(f->delivered);
    free(f->sent_after_ok);
    free(f->failed_by_server);
    pthread_mutex_destroy(&f->mu);
}

/* ---------------- the client side ledger ---------------- */

typedef struct {
    const jset *js;
    int *results;  /* per conversion */
    int *failures; /* per conversion */
    char reasons[64][200];
    size_t n_reasons;
    int saw400, sawpartial;
    size_t batch_starts, max_batch_conv, max_batch_sess;
    int stop_after_results; /* > 0: return an error from on_result after that many */
    int results_total;
    char log[1 << 16];
    size_t log_len;
} ledger;

static int on_result(const attrib_journey *j, const attrib_credit *cr, void *p)
{
    ledger *l = p;
    size_t ci = conv_index(j->conv_id);
    assert_int_equal(j->n, l->js->js[ci].n);
    double s = 0;
    for (size_t k = 0; k < j->n; k++)
        s += cr[k].ihc;
    assert_near(s, 1.0, 1e-6);
    l->results[ci]++;
    l->results_total++;
    if (l->stop_after_results > 0 && l->results_total >= l->stop_after_results)
        return -1; /* "killed" */
    return 0;
}

static int on_failure(const char *conv, const char *reason, void *p)
{
    ledger *l = p;
    l->failures[conv_index(conv)]++;
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "failure %s: %s\n", conv, reason);
    l->saw400 += strstr(reason, "HTTP 400") != NULL;
    l->sawpartial += strstr(reason, "error in parsing customer journey") != NULL;
    if (l->n_reasons < 64)
        snprintf(l->reasons[l->n_reasons++], 200, "%s", reason);
    assert_null(strstr(reason, KEY));
    return 0;
}

static int on_batch_start(const attrib_api_batch *b, void *p)
{
    ledger *l = p;
    l->batch_starts++;
    assert_true(b->n_conv <= MAXJ);
    assert_true(b->n_sessions <= MAXS);
    assert_int_equal(strlen(b->request_hash), 16);
    return 0;
}

static void on_log(attrib_log_level lvl, const char *msg, void *p)
{
    (void)lvl;
    ledger *l = p;
    size_t n = strlen(msg);
    if (l->log_len + n + 2 < sizeof(l->log)) {
        memcpy(l->log + l->log_len, msg, n);
        l->log_len += n;
        l->log[l->log_len++] = '\n';
        l->log[l->log_len] = '\0';
    }
}

static const attrib_api_callbacks cbs = {on_batch_start, on_result, on_failure, NULL, NULL, NULL};

static void ledger_init(ledger *l, const jset *js)
{
    memset(l, 0, sizeof(*l));
    l->js = js;
    l->results = calloc(js->n, sizeof(int));
    l->failures = calloc(js->n, sizeof(int));
}

static void ledger_free(ledger *l)
{
    free(l->results);
    free(l->failures);
}

static void test_opts(attrib_api_options *o, char *url, size_t urllen, uint16_t port)
{
    attrib_api_options d = ATTRIB_API_OPTIONS_INIT;
    *o = d;
    snprintf(url, urllen, "http://127.0.0.1:%u/v1/compute_ihc", (unsigned)port);
    o->api_url = url;
    o->conv_type_id = "ihc new/x"; /* needs URL encoding */
    o->api_key = KEY;
    o->max_journeys = MAXJ;
    o->max_sessions = MAXS;
    o->timeout_ms = (long)(400 * slow_factor());
    o->connect_timeout_ms = (long)(400 * slow_factor());
    o->backoff_base_s = 0.02;
    o->backoff_max_s = 0.1;
    o->max_attempts = 5;
    o->seed = 42;
}

/* grep a directory's files for the key */
static int key_in_dir(const char *dir, size_t *files)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    *files = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        FILE *f = fopen(p, "rb");
        if (f == NULL)
            continue;
        (*files)++;
        char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        if (memmem(buf, n, KEY, strlen(KEY)) != NULL)
            found = 1;
        fclose(f);
        unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
    return found;
}

/* ---------------- tests ---------------- */

static void test_faults(void **state)
{
    (void)state;
    jset js;
    jset_make(&js, NCONV);
    static const enum fault plan[] = {FT_429,   FT_500, FT_OK,      FT_503,     FT_SLOW, FT_OK,
                                      FT_RESET, FT_OK,  FT_GARBAGE, FT_PARTIAL, FT_OK,   FT_400};
    fake f;
    fake_start(&f, &js, plan, sizeof(plan) / sizeof(plan[0]));
    char url[128], audit[] = "/tmp/attrib-audit-XXXXXX";
    assert_non_null(mkdtemp(audit));
    attrib_api_options o;
    test_opts(&o, url, sizeof(url), f.port);
    o.audit_dir = audit;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    ledger l;
    ledger_init(&l, &js);
    attrib_ctx_set_log(ctx, ATTRIB_LOG_DEBUG, on_log, &l);
    attrib_api_client *c = NULL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    int rc = attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l);
    assert_int_equal(rc, ATTRIB_EPARTIAL);
    const attrib_api_stats *st = attrib_api_client_stats(c);

    /* every conversion: exactly one outcome, failures exactly the server's */
    size_t n_fail = 0, n_ok = 0;
    for (size_t i = 0; i < js.n; i++) {
        assert_int_equal(l.results[i] + l.failures[i], 1);
        assert_int_equal(l.failures[i], f.failed_by_server[i]);
        if (!l.failures[i])
            assert_int_equal(f.delivered[i], 1); /* computed once, delivered once */
        assert_int_equal(f.sent_after_ok[i], 0);
        n_fail += l.failures[i];
        n_ok += l.results[i];
    }
    assert_true(n_fail >= 2);
    assert_int_equal(st->failed, n_fail);
    assert_int_equal(st->succeeded, n_ok);
    assert_int_equal(f.cap_violations, 0);
    assert_int_equal(f.split_violations, 0);
    assert_int_equal(f.key_violations, 0);
    assert_int_equal(f.bad_bodies, 0);
    /* every transient fault served costs exactly one more request (a retry may
     * land on a fault again); libcurl itself resends once when a reused
     * connection is reset, so the client may count one request fewer */
    size_t transient = 0;
    for (size_t i = 0; i < f.n_req; i++)
        transient += f.fault[i] != FT_OK && f.fault[i] != FT_PARTIAL && f.fault[i] != FT_400;
    assert_int_equal(transient, 6);
    assert_int_equal(f.n_req, st->batches + transient);
    assert_true(st->requests == f.n_req || st->requests + 1 == f.n_req);
    assert_int_equal(st->requests, st->batches + st->retries);
    assert_int_equal(l.batch_starts, st->requests);
    assert_true((double)st->batches <= 1.10 * (double)st->lower_bound);
    /* the 400 is not retried, the reason lists it; the partial failure names the API message */
    assert_true(l.saw400 >= 1);
    assert_int_equal(l.sawpartial, 1);
    assert_int_equal((size_t)l.saw400 + 1, n_fail);
    /* a retry resends the same body; the one after the 429 waits >= Retry-After (1 s) */
    for (size_t i = 0; i < f.n_req; i++) {
        if (f.fault[i] == FT_OK || f.fault[i] == FT_PARTIAL || f.fault[i] == FT_400)
            continue;
        size_t again = 0;
        for (size_t k = i + 1; k < f.n_req; k++)
            if (f.body_hash[k] == f.body_hash[i]) {
                again = k;
                break;
            }
        if (again == 0)
            fail_msg("request %zu (fault %d) was not retried with the same body", i, f.fault[i]);
        if (f.fault[i] == FT_429)
            assert_true(f.at[again] - f.at[i] >= 0.95);
    }
    /* the key is nowhere: message, log, audit files */
    assert_null(strstr(attrib_errmsg(ctx), KEY));
    assert_non_null(strstr(attrib_errmsg(ctx), "conversions failed"));
    assert_true(l.log_len > 0);
    assert_null(strstr(l.log, KEY));
    size_t files = 0;
    assert_false(key_in_dir(audit, &files));
    assert_int_equal(files, 3 * st->requests); /* request, response, meta per attempt */

    attrib_api_client_free(c);
    attrib_ctx_free(ctx);
    ledger_free(&l);
    fake_stop(&f);
    jset_free(&js);
}

/* 403: not retried, nothing more sent, every conversion failed, EAUTH. */
static void test_forbidden(void **state)
{
    (void)state;
    jset js;
    jset_make(&js, 300);
    static const enum fault plan[] = {FT_403};
    fake f;
    fake_start(&f, &js, plan, 1);
    char url[128];
    attrib_api_options o;
    test_opts(&o, url, sizeof(url), f.port);
    o.concurrency = 1;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    ledger l;
    ledger_init(&l, &js);
    attrib_api_client *c = NULL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l), ATTRIB_EAUTH);
    assert_int_equal(f.n_req, 1);
    for (size_t i = 0; i < js.n; i++)
        assert_int_equal(l.failures[i], 1);
    assert_non_null(strstr(l.reasons[0], "HTTP 403"));
    assert_null(strstr(attrib_errmsg(ctx), KEY));
    attrib_api_client_free(c);
    attrib_ctx_free(ctx);
    ledger_free(&l);
    fake_stop(&f);
    jset_free(&js);
}

/* Retries are bounded: a server that always fails gets max_attempts per batch. */
static void test_bounded_attempts(void **state)
{
    (void)state;
    jset js;
    jset_make(&js, 20);
    static const enum fault plan[] = {FT_500, FT_500, FT_500, FT_500, FT_500, FT_500, FT_500};
    fake f;
    fake_start(&f, &js, plan, 7);
    char url[128];
    attrib_api_options o;
    test_opts(&o, url, sizeof(url), f.port);
    o.max_attempts = 3;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    ledger l;
    ledger_init(&l, &js);
    attrib_api_client *c = NULL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l), ATTRIB_EPARTIAL);
    assert_int_equal(attrib_api_client_stats(c)->batches, 1);
    assert_int_equal(f.n_req, 3);
    assert_non_null(strstr(l.reasons[0], "gave up after 3 attempts: HTTP 500"));
    for (size_t i = 0; i < js.n; i++)
        assert_int_equal(l.failures[i], 1);
    attrib_api_client_free(c);
    attrib_ctx_free(ctx);
    ledger_free(&l);
    fake_stop(&f);
    jset_free(&js);
}

/* Stopped midway (a callback fails, as a killed process would stop), then
 * rerun with the conversions that have no result: only those are sent. */
static void test_resume(void **state)
{
    (void)state;
    jset js;
    jset_make(&js, 800);
    fake f;
    fake_start(&f, &js, NULL, 0);
    char url[128];
    attrib_api_options o;
    test_opts(&o, url, sizeof(url), f.port);
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    ledger l;
    ledger_init(&l, &js);
    l.stop_after_results = 300;
    attrib_api_client *c = NULL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l), -1);
    size_t stored = 0;
    /* the "database": what on_result stored */
    attrib_journey *rest = calloc(js.n, sizeof(*rest));
    size_t n_rest = 0;
    for (size_t i = 0; i < js.n; i++) {
        if (l.results[i])
            stored++;
        else
            rest[n_rest++] = js.js[i];
    }
    assert_int_equal(stored, 300);
    /* "restart": a fresh server (stopping the first waits for requests still in
     * its hands), a fresh client, the conversions without a stored result */
    fake_stop(&f);
    /* read once the server's connection threads are joined: requests the
     * stopped client left in flight may still be counted until then */
    size_t first_req = f.n_req;
    attrib_api_client_free(c);
    fake_start(&f, &js, NULL, 0);
    test_opts(&o, url, sizeof(url), f.port);
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    l.stop_after_results = 0;
    attrib_clearerr(ctx);
    assert_int_equal(attrib_api_client_run(c, rest, n_rest, &channels, &cbs, &l), 0);
    for (size_t i = 0; i < js.n; i++)
        assert_int_equal(l.results[i], 1);
    /* the second run sent only conversions that had no stored result */
    for (size_t r = 0; r < f.n_req; r++)
        for (size_t k = 0; k < f.n_convs[r]; k++) {
            size_t ci = f.convs[r][k];
            int missing = 0;
            for (size_t q = 0; q < n_rest; q++)
                if (conv_index(rest[q].conv_id) == ci)
                    missing = 1;
            assert_true(missing);
        }
    /* and each of them exactly once, in as few requests as the caps allow */
    size_t sent2 = 0;
    for (size_t r = 0; r < f.n_req; r++)
        sent2 += f.n_convs[r];
    assert_int_equal(sent2, n_rest);
    assert_int_equal(f.n_req, attrib_api_client_stats(c)->batches);
    assert_true(first_req > 0);
    free(rest);
    attrib_api_client_free(c);
    attrib_ctx_free(ctx);
    ledger_free(&l);
    fake_stop(&f);
    jset_free(&js);
}

/* Oversize policies. */
static void test_oversize(void **state)
{
    (void)state;
    jset js;
    jset_make(&js, 50);
    attrib_session *big = calloc(450, sizeof(*big));
    char ids[450][12];
    for (size_t k = 0; k < 450; k++) {
        snprintf(ids[k], sizeof(ids[k]), "b%zu", k);
        big[k] = (attrib_session){.id = ids[k], .ts = 1693526400 + (int64_t)k, .channel = 1};
    }
    js.js[7].sessions = big;
    js.js[7].n = 450;
    fake f;
    fake_start(&f, &js, NULL, 0);
    /* the fake checks journeys are whole: let it expect the trimmed length */
    char url[128];
    attrib_api_options o;
    test_opts(&o, url, sizeof(url), f.port);
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    ledger l;
    ledger_init(&l, &js);
    attrib_api_client *c = NULL;

    o.oversize = ATTRIB_API_OVERSIZE_FAIL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l), ATTRIB_EDATA);
    assert_int_equal(f.n_req, 0);
    attrib_api_client_free(c);

    o.oversize = ATTRIB_API_OVERSIZE_SKIP;
    attrib_clearerr(ctx);
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l), 0);
    assert_int_equal(attrib_api_client_stats(c)->skipped, 1);
    assert_int_equal(l.results[7], 0);
    attrib_api_client_free(c);
    assert_int_equal(f.split_violations, 0);
    attrib_ctx_free(ctx);
    ledger_free(&l);
    fake_stop(&f);
    free(big);
    jset_free(&js);
}

/* Options are validated; the key never shows in the messages. */
static void test_options(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    attrib_api_options o = ATTRIB_API_OPTIONS_INIT;
    attrib_api_client *c = NULL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), ATTRIB_EINVAL);
    o.conv_type_id = "x";
    attrib_clearerr(ctx);
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), ATTRIB_EINVAL);
    o.api_key = "abc\r\nX-Evil: 1";
    attrib_clearerr(ctx);
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), ATTRIB_EINVAL);
    assert_null(strstr(attrib_errmsg(ctx), "abc"));
    o.api_key = KEY;
    o.api_url = "ftp://x";
    attrib_clearerr(ctx);
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), ATTRIB_EINVAL);
    o.api_url = NULL;
    o.max_sessions = 0;
    attrib_clearerr(ctx);
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), ATTRIB_EINVAL);
    o.max_sessions = 200;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    /* a journey passed twice is refused before anything is sent */
    attrib_session s = {.id = "s", .ts = 0, .channel = 0};
    attrib_journey two[2] = {{.conv_id = "same", .sessions = &s, .n = 1},
                             {.conv_id = "same", .sessions = &s, .n = 1}};
    attrib_clearerr(ctx);
    assert_int_equal(attrib_api_client_run(c, two, 2, &channels, NULL, NULL), ATTRIB_EINVAL);
    attrib_api_client_free(c);
    attrib_ctx_free(ctx);
}

/* TLS is verified: an https URL to a plain-HTTP server fails, no retry helps. */
static void test_tls_verified(void **state)
{
    (void)state;
    jset js;
    jset_make(&js, 5);
    fake f;
    fake_start(&f, &js, NULL, 0);
    char url[128];
    attrib_api_options o;
    test_opts(&o, url, sizeof(url), f.port);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/v1/compute_ihc", (unsigned)f.port);
    o.max_attempts = 2;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    ledger l;
    ledger_init(&l, &js);
    attrib_api_client *c = NULL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l), ATTRIB_EPARTIAL);
    for (size_t i = 0; i < js.n; i++)
        assert_int_equal(l.failures[i], 1);
    assert_int_equal(attrib_api_client_stats(c)->succeeded, 0);
    attrib_api_client_free(c);
    attrib_ctx_free(ctx);
    ledger_free(&l);
    fake_stop(&f);
    jset_free(&js);
}

/* The client against attrib serve (linear model): every conversion once,
 * values in 4 decimals that still sum to 1, requests near the bound. */
static void test_against_serve(void **state)
{
    (void)state;
    jset js;
    jset_make(&js, NCONV);
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    attrib_serve_options so = ATTRIB_SERVE_OPTIONS_INIT;
    so.model = "linear";
    so.api_key = KEY;
    so.max_journeys = MAXJ;
    so.max_sessions = MAXS;
    attrib_server *srv = NULL;
    assert_int_equal(attrib_serve_new(ctx, &so, &srv), 0);
    char url[128];
    attrib_api_options o;
    test_opts(&o, url, sizeof(url), attrib_serve_port(srv));
    o.timeout_ms = 5000;
    ledger l;
    ledger_init(&l, &js);
    attrib_api_client *c = NULL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l), 0);
    const attrib_api_stats *st = attrib_api_client_stats(c);
    for (size_t i = 0; i < js.n; i++)
        assert_int_equal(l.results[i], 1);
    assert_int_equal(st->requests, st->batches);
    assert_true((double)st->batches <= 1.10 * (double)st->lower_bound);
    attrib_serve_stats ss;
    attrib_serve_get_stats(srv, &ss);
    assert_int_equal(ss.requests, st->requests);
    assert_int_equal(ss.journeys, js.n);
    assert_int_equal(ss.rejected, 0);
    attrib_api_client_free(c);

    /* a wrong key: 403, EAUTH */
    o.api_key = "wrong";
    ledger_free(&l);
    ledger_init(&l, &js);
    attrib_clearerr(ctx);
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, 10, &channels, &cbs, &l), ATTRIB_EAUTH);
    attrib_api_client_free(c);
    attrib_serve_free(srv);
    attrib_ctx_free(ctx);
    ledger_free(&l);
    jset_free(&js);
}

/* The total deadline: a Retry-After beyond it fails the batch at once. */
static void test_deadline(void **state)
{
    (void)state;
    jset js;
    jset_make(&js, 30);
    static const enum fault plan[] = {FT_429};
    fake f;
    fake_start(&f, &js, plan, 1);
    char url[128];
    attrib_api_options o;
    test_opts(&o, url, sizeof(url), f.port);
    o.deadline_s = 0.5; /* Retry-After is 1 s */
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    ledger l;
    ledger_init(&l, &js);
    attrib_api_client *c = NULL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l), ATTRIB_EPARTIAL);
    assert_int_equal(f.n_req, 1);
    assert_non_null(strstr(l.reasons[0], "deadline reached after 1 attempts: HTTP 429"));
    attrib_api_client_free(c);
    attrib_ctx_free(ctx);
    ledger_free(&l);
    fake_stop(&f);
    jset_free(&js);
}

/* A Retry-After longer than max_retry_after_s fails the batch instead of waiting. */
static void test_long_retry_after(void **state)
{
    (void)state;
    jset js;
    jset_make(&js, 30);
    static const enum fault plan[] = {FT_429};
    fake f;
    fake_start(&f, &js, plan, 1);
    char url[128];
    attrib_api_options o;
    test_opts(&o, url, sizeof(url), f.port);
    o.max_retry_after_s = 0.5; /* the fake says 1 s */
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    ledger l;
    ledger_init(&l, &js);
    attrib_api_client *c = NULL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l), ATTRIB_EPARTIAL);
    assert_int_equal(f.n_req, 1);
    assert_non_null(strstr(l.reasons[0], "asks to retry after 1 s: HTTP 429"));
    attrib_api_client_free(c);
    attrib_ctx_free(ctx);
    ledger_free(&l);
    fake_stop(&f);
    jset_free(&js);
}

/* --max-requests-per-second spaces the request starts. */
static void test_rate_limit(void **state)
{
    (void)state;
    jset js;
    jset_make(&js, 600);
    fake f;
    fake_start(&f, &js, NULL, 0);
    char url[128];
    attrib_api_options o;
    test_opts(&o, url, sizeof(url), f.port);
    o.max_rps = 25;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    ledger l;
    ledger_init(&l, &js);
    attrib_api_client *c = NULL;
    assert_int_equal(attrib_api_client_new(ctx, &o, &c), 0);
    assert_int_equal(attrib_api_client_run(c, js.js, js.n, &channels, &cbs, &l), 0);
    assert_true(f.n_req >= 6);
    /* n requests at 25/s take at least (n - 1) / 25 s; the slack covers the first
     * request's connection setup, which can only make the measured span shorter. */
    assert_true(f.at[f.n_req - 1] - f.at[0] >= (double)(f.n_req - 1) / 25.0 - 0.1);
    attrib_api_client_free(c);
    attrib_ctx_free(ctx);
    ledger_free(&l);
    fake_stop(&f);
    jset_free(&js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),          cmocka_unit_test(test_faults),
        cmocka_unit_test(test_forbidden),        cmocka_unit_test(test_bounded_attempts),
        cmocka_unit_test(test_resume),           cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_tls_verified),     cmocka_unit_test(test_against_serve),
        cmocka_unit_test(test_long_retry_after), cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_rate_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
