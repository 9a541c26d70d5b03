/*
 * attrib serve over real HTTP on 127.0.0.1: the API's response format with
 * 4-decimal values that still sum to 1 per journey, per-journey errors as a
 * 206 with partialFailureErrors, 400 over the caps or for a malformed body,
 * 403 without the key, 404/405, 413 above the body bound, and concurrent
 * requests that bring new channels (the model is re-bound under a lock).
 */
#include "testutil.h"

#include "attrib/ihc_json.h"
#include "attrib/serve.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEY "serve-unit-key"

typedef struct {
    char *data;
    size_t len;
} body;

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    body *b = ud;
    b->data = realloc(b->data, b->len + sz * n + 1);
    memcpy(b->data + b->len, p, sz * n);
    b->len += sz * n;
    b->data[b->len] = '\0';
    return sz * n;
}

/* POST body to the server; returns the HTTP status, the answer in *out. */
static long post(uint16_t port, const char *path, const char *key, const char *data, size_t len,
                 body *out)
{
    CURL *c = curl_easy_init();
    char url[200];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
    struct curl_slist *h = NULL;
    char kh[100];
    if (key != NULL) {
        snprintf(kh, sizeof(kh), "x-api-key: %s", key);
        h = curl_slist_append(h, kh);
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    memset(out, 0, sizeof(*out));
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return code;
}

#define SESS(cid, sid, ts, ch)                                                                     \
    "{\"conversion_id\":\"" cid "\",\"session_id\":\"" sid "\",\"timestamp\":\"" ts                \
    "\",\"channel_label\":\"" ch "\",\"holder_engagement\":1,\"closer_engagement\":1,"             \
    "\"conversion\":0,\"impression_interaction\":0}"

static attrib_server *start(attrib_ctx *ctx, size_t max_body)
{
    attrib_serve_options o = ATTRIB_SERVE_OPTIONS_INIT;
    o.model = "linear";
    o.api_key = KEY;
    o.max_journeys = 3;
    o.max_sessions = 8;
    if (max_body)
        o.max_body_bytes = max_body;
    attrib_server *s = NULL;
    assert_int_equal(attrib_serve_new(ctx, &o, &s), 0);
    return s;
}

static void test_format_and_rounding(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    attrib_server *s = start(ctx, 0);
    /* a 3-session and a 7-session journey: 1/3 and 1/7 do not round to sums of 1 */
    const char *req =
        "{\"customer_journeys\":[" SESS("a", "a1", "2023-09-01 10:00:00", "SEO") "," SESS(
            "a", "a2", "2023-09-01 11:00:00",
            "Direct") "," SESS("a", "a3", "2023-09-01 12:00:00",
                               "SEO") "," SESS("b", "b1", "2023-09-02 10:00:00", "Email") "]}";
    body b;
    assert_int_equal(
        post(attrib_serve_port(s), "/v1/compute_ihc?conv_type_id=x", KEY, req, strlen(req), &b),
        200);
    /* exact bytes: key order, 4 decimals, Python float forms, largest remainder */
    assert_string_equal(
        b.data, "{\"statusCode\":200,\"value\":["
                "{\"conversion_id\":\"a\",\"session_id\":\"a1\",\"initializer\":0.0,\"holder\":0.0,"
                "\"closer\":0.0,\"ihc\":0.3334},"
                "{\"conversion_id\":\"a\",\"session_id\":\"a2\",\"initializer\":0.0,\"holder\":0.0,"
                "\"closer\":0.0,\"ihc\":0.3333},"
                "{\"conversion_id\":\"a\",\"session_id\":\"a3\",\"initializer\":0.0,\"holder\":0.0,"
                "\"closer\":0.0,\"ihc\":0.3333},"
                "{\"conversion_id\":\"b\",\"session_id\":\"b1\",\"initializer\":0.0,\"holder\":0.0,"
                "\"closer\":0.0,\"ihc\":1.0}],\"partialFailureErrors\":[]}");
    free(b.data);
    attrib_serve_free(s);
    attrib_ctx_free(ctx);
}

static void test_rejections(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    attrib_server *s = start(ctx, 2000);
    uint16_t port = attrib_serve_port(s);
    const char *ok = "{\"customer_journeys\":[" SESS("a", "a1", "2023-09-01 10:00:00", "SEO") "]}";
    body b;
    assert_int_equal(post(port, "/v1/compute_ihc?conv_type_id=x", NULL, ok, strlen(ok), &b), 403);
    free(b.data);
    assert_int_equal(post(port, "/v1/compute_ihc?conv_type_id=x", "KEY", ok, strlen(ok), &b), 403);
    free(b.data);
    assert_int_equal(post(port, "/v1/other?conv_type_id=x", KEY, ok, strlen(ok), &b), 404);
    free(b.data);
    assert_int_equal(post(port, "/v1/compute_ihc", KEY, ok, strlen(ok), &b), 400);
    assert_non_null(strstr(b.data, "conv_type_id"));
    free(b.data);
    assert_int_equal(post(port, "/v1/compute_ihc?conv_type_id=x", KEY, "{nope", 5, &b), 400);
    assert_non_null(strstr(b.data, "\"statusCode\":400"));
    free(b.data);
    /* 4 journeys > cap 3 */
    const char *many = "[" SESS("a", "1", "2023-09-01 10:00:00", "S") "," SESS(
        "b", "1", "2023-09-01 10:00:00",
        "S") "," SESS("c", "1", "2023-09-01 10:00:00",
                      "S") "," SESS("d", "1", "2023-09-01 10:00:00", "S") "]";
    assert_int_equal(post(port, "/v1/compute_ihc?conv_type_id=x", KEY, many, strlen(many), &b),
                     400);
    assert_non_null(strstr(b.data, "limits are 3 and 8"));
    free(b.data);
    /* a bad journey: 206, the others computed */
    const char *part = "[" SESS("a", "1", "2023-09-01 10:00:00",
                                "S") "," SESS("b", "1", "2023-09-01 99:00:00", "S") "]";
    assert_int_equal(post(port, "/v1/compute_ihc?conv_type_id=x", KEY, part, strlen(part), &b),
                     206);
    attrib_ihc_response *r = NULL;
    assert_int_equal(attrib_ihc_response_parse(ctx, b.data, b.len, &r), 0);
    assert_int_equal(r->status_code, 206);
    assert_int_equal(r->n_rows, 1);
    assert_string_equal(r->rows[0].conversion_id, "a");
    assert_int_equal(r->n_failures, 1);
    assert_string_equal(r->failures[0].conversion_id, "b");
    assert_non_null(strstr(r->failures[0].message, "timestamp"));
    attrib_ihc_response_free(r);
    free(b.data);
    /* a body above the bound: 413 */
    size_t big = 5000;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    assert_int_equal(post(port, "/v1/compute_ihc?conv_type_id=x", KEY, huge, big, &b), 413);
    free(b.data);
    free(huge);
    attrib_serve_stats st;
    attrib_serve_get_stats(s, &st);
    assert_int_equal(st.requests, 8);
    assert_int_equal(st.rejected, 7);
    assert_int_equal(st.journeys, 1);
    attrib_serve_free(s);
    attrib_ctx_free(ctx);
}

typedef struct {
    uint16_t port;
    int id;
    int ok;
} client_arg;

/* Each thread posts journeys over its own new channels, many times. */
static void *hammer(void *p)
{
    client_arg *a = p;
    a->ok = 1;
    for (int i = 0; i < 30 && a->ok; i++) {
        char req[600];
        snprintf(req, sizeof(req),
                 "[{\"conversion_id\":\"c%d-%d\",\"session_id\":\"s1\",\"timestamp\":\"2023-09-01 "
                 "10:00:00\",\"channel_label\":\"ch-%d-%d\",\"holder_engagement\":0,"
                 "\"closer_engagement\":0,\"conversion\":0},{\"conversion_id\":\"c%d-%d\","
                 "\"session_id\":\"s2\",\"timestamp\":\"2023-09-01 11:00:00\",\"channel_label\":"
                 "\"shared\",\"holder_engagement\":0,\"closer_engagement\":0,\"conversion\":1}]",
                 a->id, i, a->id, i, a->id, i);
        body b;
        long code = post(a->port, "/v1/compute_ihc?conv_type_id=x", KEY, req, strlen(req), &b);
        a->ok = code == 200 && b.data != NULL && strstr(b.data, "\"ihc\":0.5}") != NULL;
        free(b.data);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    attrib_server *s = start(ctx, 0);
    pthread_t t[6];
    client_arg a[6];
    for (int i = 0; i < 6; i++) {
        a[i] = (client_arg){attrib_serve_port(s), i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &a[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_true(a[i].ok);
    }
    attrib_serve_stats st;
    attrib_serve_get_stats(s, &st);
    assert_int_equal(st.requests, 180);
    assert_int_equal(st.journeys, 180);
    attrib_serve_free(s);
    attrib_ctx_free(ctx);
}

/* A TCP connection to the server, nothing sent yet. */
static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Wait up to ms for the server to answer or close: the bytes read (0 when
 * it closed, -1 on a timeout); the answer's start in buf. */
static ssize_t wait_answer(int fd, int ms, char *buf, size_t cap)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1)
        return -1;
    ssize_t n = recv(fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return n < 0 ? 0 : n; /* a reset is a close */
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hostile bodies: NUL in ids and labels, empty requests, an announced body
 * far above the bound (answered before any byte of it is sent). */
static void test_hostile_bodies(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    attrib_server *s = start(ctx, 2000);
    uint16_t port = attrib_serve_port(s);
    const char *path = "/v1/compute_ihc?conv_type_id=x";
    body b;
    /* "c\u0000x" and "c\u0000y" would both be answered as "c" */
    const char *nul = "[" SESS("c\\u0000x", "1", "2023-09-01 10:00:00",
                               "S") "," SESS("c\\u0000y", "1", "2023-09-01 10:00:00", "S") "]";
    assert_int_equal(post(port, path, KEY, nul, strlen(nul), &b), 400);
    assert_non_null(strstr(b.data, "conversion_id: contains a NUL"));
    free(b.data);
    /* a NUL in a channel label or session id fails that journey only */
    const char *nul_ch = "[" SESS("a", "1", "2023-09-01 10:00:00", "S") "," SESS(
        "b", "1", "2023-09-01 10:00:00", "S\\u0000T") "," SESS("c", "1\\u0000",
                                                               "2023-09-01 10:00:00", "S") "]";
    assert_int_equal(post(port, path, KEY, nul_ch, strlen(nul_ch), &b), 206);
    assert_non_null(strstr(b.data, "channel_label: contains a NUL"));
    assert_non_null(strstr(b.data, "session_id: contains a NUL"));
    free(b.data);
    /* no journeys at all: 400, bare list or object */
    assert_int_equal(post(port, path, KEY, "[]", 2, &b), 400);
    assert_non_null(strstr(b.data, "no customer journeys"));
    free(b.data);
    const char *empty = "{\"customer_journeys\":[]}";
    assert_int_equal(post(port, path, KEY, empty, strlen(empty), &b), 400);
    free(b.data);
    /* Content-Length 99,999,999,999 and no body: 413 at once */
    int fd = connect_to(port);
    char head[300];
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\n"
                      "Content-Length: 99999999999\r\n\r\n",
                      path, KEY);
    assert_int_equal(send(fd, head, (size_t)hl, 0), hl);
    char buf[512];
    assert_true(wait_answer(fd, 3000, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "HTTP/1.1 413"));
    close(fd);
    attrib_serve_free(s);
    attrib_ctx_free(ctx);
}

/* Idle clients: a silent connection is closed after idle_timeout; with a
 * per-address limit the connections beyond it are refused; the connection
 * limit is capped by the open-file limit. */
static void test_idle_clients(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    attrib_serve_options o = ATTRIB_SERVE_OPTIONS_INIT;
    o.model = "linear";
    o.no_auth = true;
    o.idle_timeout = 1;
    o.max_connections_per_ip = 2;
    o.threads = 1;
    attrib_server *s = NULL;
    assert_int_equal(attrib_serve_new(ctx, &o, &s), 0);
    unsigned mc = 0, pi = 0;
    attrib_serve_limits(s, &mc, &pi);
    assert_int_equal(pi, 2);
    uint16_t port = attrib_serve_port(s);
    char buf[512];
    /* half a request line, then silence: closed after ~1 s */
    int a = connect_to(port), c = connect_to(port);
    assert_int_equal(send(a, "POST /v1/comp", 13, 0), 13);
    double t0 = now_s();
    /* the third connection from 127.0.0.1 is over the per-address limit */
    int d = connect_to(port);
    assert_int_equal(wait_answer(d, 2000, buf, sizeof(buf)), 0);
    close(d);
    assert_int_equal(wait_answer(a, 5000, buf, sizeof(buf)), 0);
    double waited = now_s() - t0;
    assert_true(waited >= 0.5 && waited < 4.5);
    assert_int_equal(wait_answer(c, 5000, buf, sizeof(buf)), 0);
    close(a);
    close(c);
    /* the slots are free again (once the server's loop has cleaned them up) */
    const char *ok = "[" SESS("a", "1", "2023-09-01 10:00:00", "S") "]";
    body b;
    long code = 0;
    for (int i = 0; i < 40 && code != 200; i++) {
        if (i > 0)
            usleep(50000);
        code = post(port, "/v1/compute_ihc?conv_type_id=x", NULL, ok, strlen(ok), &b);
        free(b.data);
    }
    assert_int_equal(code, 200);
    attrib_serve_free(s);
    /* defaults: no per-address limit on loopback; connections capped by RLIMIT_NOFILE */
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 300;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    o = (attrib_serve_options)ATTRIB_SERVE_OPTIONS_INIT;
    o.model = "linear";
    o.no_auth = true;
    s = NULL;
    int rc = attrib_serve_new(ctx, &o, &s);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(rc, 0);
    attrib_serve_limits(s, &mc, &pi);
    assert_int_equal(pi, 0);
    assert_true(mc >= 4 && mc <= 300 - 64);
    attrib_serve_free(s);
    attrib_ctx_free(ctx);
}

static void test_options(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    attrib_serve_options o = ATTRIB_SERVE_OPTIONS_INIT;
    attrib_server *s = NULL;
    o.model = "linear";
    assert_int_equal(attrib_serve_new(ctx, &o, &s), ATTRIB_EINVAL); /* no key */
    o.no_auth = true;
    o.bind_addr = "0.0.0.0";
    attrib_clearerr(ctx);
    assert_int_equal(attrib_serve_new(ctx, &o, &s), ATTRIB_EINVAL); /* no-auth off loopback */
    o.bind_addr = "localhost";
    attrib_clearerr(ctx);
    assert_int_equal(attrib_serve_new(ctx, &o, &s), ATTRIB_EINVAL); /* not an address */
    o.bind_addr = "127.0.0.1";
    o.model = "no-such-model";
    attrib_clearerr(ctx);
    assert_int_equal(attrib_serve_new(ctx, &o, &s), ATTRIB_EINVAL);
    o.model = NULL; /* ihc when built in, else the first model */
    attrib_clearerr(ctx);
    assert_int_equal(attrib_serve_new(ctx, &o, &s), 0);
    attrib_serve_free(s);
    attrib_serve_free(NULL);
    attrib_ctx_free(ctx);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_rounding), cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_concurrent),          cmocka_unit_test(test_hostile_bodies),
        cmocka_unit_test(test_idle_clients),        cmocka_unit_test(test_options),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
