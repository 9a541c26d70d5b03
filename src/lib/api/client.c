/*
 * IHC API client (include/attrib/api.h): plan, send, retry, check.
 *
 * Plan: journeys longer than the session cap are trimmed or skipped first,
 * then packed whole into batches (api_pack.c). Each batch's body is written
 * once, at its first attempt, and freed when the batch is settled.
 *
 * Send: one libcurl multi handle drives up to `concurrency` transfers from
 * this thread; a simple event loop starts batches when a slot is free, the
 * rate limit allows and their retry time has come, and waits in
 * curl_multi_poll otherwise. No threads, so callbacks need no locking.
 *
 * Retry: transport errors (timeouts, refused or reset connections), HTTP 429
 * and 5xx, bodies that are not JSON and body statusCodes >= 500 are retried
 * with exponential backoff and full jitter (delay uniform in
 * [0, min(max, base * 2^(attempt-1))]), never sooner than Retry-After, at
 * most max_attempts times and never past the deadline. 400 and other 4xx are
 * final for the batch; 401/403 are final for the run (the key is wrong, every
 * further call would fail too).
 *
 * Check: every row must name a (conversion_id, session_id) that was sent,
 * once; every sent session must come back; credits must be finite and in
 * [0, 1]; a conversion's ihc must sum to 1 within 1e-6. A conversion that
 * fails a check, or is named in partialFailureErrors, fails alone; the
 * others of the batch are reported as results.
 */
#include "attrib/api.h"
#include "attrib/ihc_json.h"

#include "lib/api/pack.h"
#include "lib/core/ctx.h"
#include "util/buf.h"
#include "util/strmap.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SUM_TOL 1e-6
#define VALUE_TOL 1e-9

enum { B_PENDING, B_ACTIVE, B_DONE };

typedef struct {
    size_t first, count; /* slice of c->order: journey views of the batch */
    size_t n_sessions;
    char *body;
    size_t body_len;
    char hash[17];
    const char **conv_ids; /* count, borrowed from the journeys */
    int attempts;
    double not_before; /* monotonic time of the next attempt */
    int state;
} batch;

typedef struct {
    CURL *easy;
    batch *b;
    attrib_buf resp;
    double retry_after; /* seconds, < 0 when absent */
    char errbuf[CURL_ERROR_SIZE];
} transfer;

struct attrib_api_client {
    attrib_ctx *ctx;
    attrib_ctx *pctx; /* private: per-batch parse and write errors */
    attrib_api_options o;
    char *url; /* with ?conv_type_id= */
    struct curl_slist *headers;
    uint64_t rng;
    attrib_api_stats stats;
    /* per run */
    const attrib_channels *channels;
    const attrib_api_callbacks *cb;
    void *payload;
    attrib_journey *views; /* journeys as sent */
    size_t n_views;
    size_t *order; /* packed order of views */
    batch *batches;
    size_t n_batches;
    int cb_rc;     /* first non-zero callback return */
    int stop_code; /* ATTRIB_EAUTH after 401/403 */
    char stop_reason[200];
    char run_id[96]; /* UTC start time and pid: audit files of runs never collide */
};

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: a seeded, reproducible source for the jitter. */
static double rand01(attrib_api_client *c)
{
    uint64_t z = (c->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static char *dup_or_null(const char *s, int *oom)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *oom = 1;
    return d;
}

static void free_run(attrib_api_client *c);

void attrib_api_client_free(attrib_api_client *c)
{
    if (c == NULL)
        return;
    free_run(c);
    if (c->o.api_key != NULL) { /* do not leave the key in freed memory */
        size_t n = strlen(c->o.api_key);
        volatile char *p = (volatile char *)c->o.api_key;
        for (size_t i = 0; i < n; i++)
            p[i] = 0;
    }
    free((char *)c->o.api_url);
    free((char *)c->o.conv_type_id);
    free((char *)c->o.api_key);
    free((char *)c->o.audit_dir);
    free((char *)c->o.ca_file);
    free((char *)c->o.ca_path);
    free(c->url);
    for (struct curl_slist *h = c->headers; h != NULL; h = h->next) {
        volatile char *p = h->data; /* the x-api-key header */
        for (size_t i = 0; h->data[i] != '\0'; i++)
            p[i] = 'x';
    }
    curl_slist_free_all(c->headers);
    attrib_ctx_free(c->pctx);
    free(c);
}

int attrib_api_client_new(attrib_ctx *ctx, const attrib_api_options *opts, attrib_api_client **out)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_api_client *c = NULL;
    char *esc = NULL, *hdr = NULL;
    CURL *tmp = NULL;

    *out = NULL;
    const char *url = opts->api_url != NULL ? opts->api_url : ATTRIB_API_DEFAULT_URL;
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        rc = attrib__error(ctx, ATTRIB_EINVAL, "API URL must start with https:// or http://: %s",
                           url);
        goto done;
    }
    if (opts->conv_type_id == NULL || opts->conv_type_id[0] == '\0') {
        rc = attrib__error(
            ctx, ATTRIB_EINVAL,
            "API options: conv_type_id (the conversion type to attribute) is missing");
        goto done;
    }
    if (opts->api_key == NULL || opts->api_key[0] == '\0') {
        rc = attrib__error(ctx, ATTRIB_EINVAL, "API options: api_key is missing");
        goto done;
    }
    if (strpbrk(opts->api_key, "\r\n") != NULL) {
        rc = attrib__error(ctx, ATTRIB_EINVAL, "API key contains a line break");
        goto done;
    }
    if (opts->max_journeys < 1 || opts->max_sessions < 1 || opts->concurrency < 1 ||
        opts->max_attempts < 1 || opts->timeout_ms < 1 || opts->connect_timeout_ms < 1 ||
        !(opts->max_rps >= 0) || !(opts->backoff_base_s >= 0) || !(opts->deadline_s >= 0)) {
        rc = attrib__error(ctx, ATTRIB_EINVAL,
                           "API options: caps, concurrency, attempts and timeouts must be >= 1");
        goto done;
    }
    if (opts->oversize != ATTRIB_API_OVERSIZE_KEEP_LATEST &&
        opts->oversize != ATTRIB_API_OVERSIZE_SKIP && opts->oversize != ATTRIB_API_OVERSIZE_FAIL) {
        rc = attrib__error(ctx, ATTRIB_EINVAL, "API options: unknown oversize policy");
        goto done;
    }
    if (opts->audit_dir != NULL && access(opts->audit_dir, W_OK | X_OK) != 0) {
        rc = attrib__error(ctx, ATTRIB_EIO, "audit directory %s: %s", opts->audit_dir,
                           strerror(errno));
        goto done;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = attrib__error(ctx, ATTRIB_ERROR, "libcurl initialisation failed");
        goto done;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || attrib_ctx_new(&c->pctx) != 0) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    c->ctx = ctx;
    c->o = *opts;
    int oom = 0;
    c->o.api_url = dup_or_null(url, &oom);
    c->o.conv_type_id = dup_or_null(opts->conv_type_id, &oom);
    c->o.api_key = dup_or_null(opts->api_key, &oom);
    c->o.audit_dir = dup_or_null(opts->audit_dir, &oom);
    c->o.ca_file = dup_or_null(opts->ca_file, &oom);
    c->o.ca_path = dup_or_null(opts->ca_path, &oom);
    if (c->o.max_response_bytes == 0)
        c->o.max_response_bytes = (size_t)64 << 20;
    tmp = curl_easy_init();
    esc = tmp != NULL ? curl_easy_escape(tmp, opts->conv_type_id, 0) : NULL;
    if (oom || esc == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    attrib_buf b = ATTRIB_BUF_INIT(0);
    if (attrib_buf_printf(&b, "%s%cconv_type_id=%s", url, strchr(url, '?') ? '&' : '?', esc) != 0) {
        attrib_buf_free(&b);
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    c->url = attrib_buf_take(&b);
    attrib_buf hb = ATTRIB_BUF_INIT(0);
    if (attrib_buf_printf(&hb, "x-api-key: %s", opts->api_key) != 0) {
        attrib_buf_free(&hb);
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    hdr = attrib_buf_take(&hb);
    struct curl_slist *h = NULL, *t;
    const char *fixed[3] = {"Content-Type: application/json", "Accept: application/json",
                            "Expect:"};
    for (int i = 0; i < 3; i++) {
        if ((t = curl_slist_append(h, fixed[i])) == NULL)
            break;
        h = t;
    }
    t = t != NULL ? curl_slist_append(h, hdr) : NULL;
    if (c->url == NULL || t == NULL) {
        curl_slist_free_all(h);
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    c->headers = t;
    c->rng = opts->seed != 0 ? opts->seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
done:
    if (hdr != NULL) {
        memset(hdr, 0, strlen(hdr));
        free(hdr);
    }
    curl_free(esc);
    curl_easy_cleanup(tmp);
    if (rc != ATTRIB_OK)
        attrib_api_client_free(c);
    else
        *out = c;
    return attrib__leave(ctx, rc);
}

const attrib_api_stats *attrib_api_client_stats(const attrib_api_client *c)
{
    return &c->stats;
}

/* ------------------------------------------------------------------ */
/* Callbacks, guarded: after a callback failed, no more are called.   */
/* ------------------------------------------------------------------ */

static void note_cb(attrib_api_client *c, int r)
{
    if (r != 0 && c->cb_rc == 0)
        c->cb_rc = r < 0 ? r : ATTRIB_ERROR;
}

static void cb_failure(attrib_api_client *c, const char *conv, const char *reason)
{
    c->stats.failed++;
    ATTRIB_LOG(c->ctx, ATTRIB_LOG_WARN, "conversion %s failed: %s", conv, reason);
    if (c->cb_rc == 0 && c->cb->on_failure != NULL)
        note_cb(c, c->cb->on_failure(conv, reason, c->payload));
}

static void batch_info(const attrib_api_client *c, const batch *b, attrib_api_batch *info)
{
    *info = (attrib_api_batch){
        (size_t)(b - c->batches), b->conv_ids, b->count, b->n_sessions, b->hash, b->attempts};
}

static void cb_batch_end(attrib_api_client *c, batch *b, attrib_api_batch_status st,
                         const char *err)
{
    attrib_api_batch info;
    batch_info(c, b, &info);
    if (c->cb_rc == 0 && c->cb->on_batch_end != NULL)
        note_cb(c, c->cb->on_batch_end(&info, st, err, c->payload));
}

/* Settle a batch as failed for every conversion with the same reason. */
static void fail_batch(attrib_api_client *c, batch *b, attrib_api_batch_status st,
                       const char *reason)
{
    for (size_t i = 0; i < b->count; i++)
        cb_failure(c, b->conv_ids[i], reason);
    cb_batch_end(c, b, st, reason);
    b->state = B_DONE;
    free(b->body);
    b->body = NULL;
}

/* ------------------------------------------------------------------ */
/* Audit files                                                        */
/* ------------------------------------------------------------------ */

static void audit_write(attrib_api_client *c, const batch *b, const char *kind, const char *data,
                        size_t len)
{
    if (c->o.audit_dir == NULL)
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s-batch%06zu-%s-a%d.%s", c->o.audit_dir, c->run_id,
             (size_t)(b - c->batches), b->hash, b->attempts, kind);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok)
        ATTRIB_LOG(c->ctx, ATTRIB_LOG_WARN, "audit file %s: %s", path, strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Response checks                                                    */
/* ------------------------------------------------------------------ */

/* Per-journey state while checking a response. */
typedef struct {
    size_t off;          /* first credit of the journey in the batch */
    size_t got;          /* rows received */
    const char *problem; /* first check that failed, NULL if none */
    char buf[160];
} jcheck;

static void set_problem(jcheck *jc, const char *fmt, const char *arg)
{
    if (jc->problem != NULL)
        return;
    snprintf(jc->buf, sizeof(jc->buf), fmt, arg);
    jc->problem = jc->buf;
}

static int value_ok(double v)
{
    return isfinite(v) && v >= -VALUE_TOL && v <= 1 + VALUE_TOL;
}

/* Check a parsed 200/206 response for batch b; report results and failures.
 * Returns the number of conversions reported as results, or -1 (no memory). */
static long settle_response(attrib_api_client *c, batch *b, const attrib_ihc_response *r, char *err,
                            size_t errlen)
{
    long ok = -1;
    attrib_strmap convs = ATTRIB_STRMAP_INIT, keys = ATTRIB_STRMAP_INIT;
    jcheck *jc = calloc(b->count, sizeof(*jc));
    attrib_credit *cr = calloc(b->n_sessions ? b->n_sessions : 1, sizeof(*cr));
    unsigned char *seen = calloc(b->n_sessions ? b->n_sessions : 1, 1);
    attrib_buf kb = ATTRIB_BUF_INIT(0);
    size_t stray = 0;
    const char *unnamed = NULL;

    err[0] = '\0';
    if (jc == NULL || cr == NULL || seen == NULL)
        goto done;
    /* key "conv\0session" -> flat session index */
    for (size_t i = 0, off = 0; i < b->count; i++) {
        const attrib_journey *j = &c->views[c->order[b->first + i]];
        jc[i].off = off;
        if (attrib_strmap_intern(&convs, j->conv_id, strlen(j->conv_id), NULL) < 0)
            goto done;
        for (size_t k = 0; k < j->n; k++) {
            attrib_buf_reset(&kb);
            if (attrib_buf_adds(&kb, j->conv_id) != 0 || attrib_buf_addc(&kb, '\0') != 0 ||
                attrib_buf_adds(&kb, j->sessions[k].id) != 0)
                goto done;
            int added = 0;
            if (attrib_strmap_intern(&keys, kb.data, kb.len, &added) < 0)
                goto done;
        }
        off += j->n;
    }
    for (size_t i = 0; i < r->n_rows; i++) {
        const attrib_ihc_row *row = &r->rows[i];
        int64_t ji = attrib_strmap_find(&convs, row->conversion_id, strlen(row->conversion_id));
        if (ji < 0) {
            stray++;
            continue;
        }
        jcheck *q = &jc[ji];
        attrib_buf_reset(&kb);
        if (attrib_buf_adds(&kb, row->conversion_id) != 0 || attrib_buf_addc(&kb, '\0') != 0 ||
            attrib_buf_adds(&kb, row->session_id) != 0)
            goto done;
        int64_t si = attrib_strmap_find(&keys, kb.data, kb.len);
        if (si < 0) {
            set_problem(q, "response has a session_id that was not sent (%.64s)", row->session_id);
            continue;
        }
        if (seen[si]) {
            set_problem(q, "response repeats session_id %.64s", row->session_id);
            continue;
        }
        seen[si] = 1;
        q->got++;
        if (!value_ok(row->credit.ihc) || !value_ok(row->credit.initializer) ||
            !value_ok(row->credit.holder) || !value_ok(row->credit.closer))
            set_problem(q, "credit outside [0,1] for session %.64s", row->session_id);
        cr[si] = row->credit;
    }
    for (size_t i = 0; i < r->n_failures; i++) {
        const attrib_ihc_failure *f = &r->failures[i];
        int64_t ji = f->conversion_id != NULL
                         ? attrib_strmap_find(&convs, f->conversion_id, strlen(f->conversion_id))
                         : -1;
        if (ji >= 0) {
            jc[ji].problem = NULL;
            set_problem(&jc[ji], "API partial failure: %.120s",
                        f->message != NULL ? f->message : "");
        } else if (unnamed == NULL)
            unnamed = f->message;
    }
    ok = 0;
    size_t n_fail = 0;
    for (size_t i = 0; i < b->count && c->cb_rc == 0; i++) {
        const attrib_journey *j = &c->views[c->order[b->first + i]];
        jcheck *q = &jc[i];
        char reason[300];
        if (q->problem == NULL && q->got < j->n) {
            if (q->got == 0 && unnamed != NULL)
                snprintf(reason, sizeof(reason), "API partial failure: %.200s", unnamed);
            else if (q->got == 0)
                snprintf(reason, sizeof(reason), "conversion missing from the response");
            else
                snprintf(reason, sizeof(reason), "response lacks %zu of %zu sessions",
                         j->n - q->got, j->n);
            q->problem = reason;
        }
        if (q->problem == NULL) {
            double s = 0;
            for (size_t k = 0; k < j->n; k++)
                s += cr[q->off + k].ihc;
            if (fabs(s - 1.0) > SUM_TOL) {
                snprintf(reason, sizeof(reason), "ihc of the conversion sums to %.9g, not 1", s);
                q->problem = reason;
            }
        }
        if (q->problem != NULL) {
            cb_failure(c, j->conv_id, q->problem);
            n_fail++;
            continue;
        }
        c->stats.succeeded++;
        ok++;
        if (c->cb->on_result != NULL)
            note_cb(c, c->cb->on_result(j, &cr[q->off], c->payload));
    }
    if (n_fail > 0 || stray > 0)
        snprintf(err, errlen, "%zu of %zu conversions failed checks%s", n_fail, b->count,
                 stray > 0 ? "; response names conversions that were not sent" : "");
done:
    attrib_buf_free(&kb);
    attrib_strmap_free(&convs);
    attrib_strmap_free(&keys);
    free(jc);
    free(cr);
    free(seen);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Transfers                                                          */
/* ------------------------------------------------------------------ */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    transfer *t = ud;
    if (attrib_buf_add(&t->resp, p, sz * n) != 0)
        return 0; /* over max_response_bytes: libcurl fails with CURLE_WRITE_ERROR */
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    transfer *t = ud;
    size_t len = sz * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        char v[128];
        size_t a = sizeof(name) - 1, m = 0;
        while (a < len && (p[a] == ' ' || p[a] == '\t'))
            a++;
        while (a < len && m + 1 < sizeof(v) && p[a] != '\r' && p[a] != '\n')
            v[m++] = p[a++];
        v[m] = '\0';
        char *end = NULL;
        errno = 0;
        double secs = strtod(v, &end);
        if (m > 0 && end == v + m && errno == 0 && secs >= 0 && secs < 1e7)
            t->retry_after = secs;
        else {
            time_t when = curl_getdate(v, NULL);
            if (when != (time_t)-1) {
                double d = difftime(when, time(NULL));
                t->retry_after = d > 0 ? d : 0;
            }
        }
    }
    return len;
}

/* Build the body of a batch at its first attempt. */
static int ensure_body(attrib_api_client *c, batch *b)
{
    if (b->body != NULL)
        return ATTRIB_OK;
    const attrib_journey **sel = malloc(b->count * sizeof(*sel));
    if (sel == NULL)
        return attrib__error(c->ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t i = 0; i < b->count; i++)
        sel[i] = &c->views[c->order[b->first + i]];
    double t0 = cpu_now();
    attrib_clearerr(c->pctx);
    int rc = attrib_ihc_request_write(c->pctx, sel, b->count, c->channels, c->o.redistribution,
                                      &b->body, &b->body_len);
    c->stats.encode_cpu_s += cpu_now() - t0;
    free(sel);
    if (rc != ATTRIB_OK)
        return attrib__error(c->ctx, rc, "batch %zu: %s", (size_t)(b - c->batches),
                             attrib_errmsg(c->pctx));
    snprintf(b->hash, sizeof(b->hash), "%016llx",
             (unsigned long long)attrib_hash(b->body, b->body_len));
    return ATTRIB_OK;
}

static int start_transfer(attrib_api_client *c, CURLM *multi, transfer *t, batch *b, double now,
                          double deadline)
{
    int rc = ensure_body(c, b);
    if (rc != ATTRIB_OK)
        return rc;
    b->attempts++;
    b->state = B_ACTIVE;
    c->stats.requests++;
    if (b->attempts > 1)
        c->stats.retries++;
    attrib_api_batch info;
    batch_info(c, b, &info);
    if (c->cb->on_batch_start != NULL)
        note_cb(c, c->cb->on_batch_start(&info, c->payload));
    if (c->cb_rc != 0)
        return c->cb_rc;
    audit_write(c, b, "request.json", b->body, b->body_len);

    t->b = b;
    t->retry_after = -1;
    t->errbuf[0] = '\0';
    attrib_buf_init(&t->resp, c->o.max_response_bytes);
    if (t->easy == NULL && (t->easy = curl_easy_init()) == NULL)
        return attrib__error(c->ctx, ATTRIB_ENOMEM, "out of memory (libcurl handle)");
    CURL *e = t->easy;
    curl_easy_reset(e);
    long timeout = c->o.timeout_ms;
    if (deadline > 0) {
        double left_ms = (deadline - now) * 1000.0;
        if (left_ms < (double)timeout)
            timeout = left_ms < 1 ? 1 : (long)left_ms;
    }
    CURLcode s = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (s == CURLE_OK)                                                                         \
            s = curl_easy_setopt(e, opt, val);                                                     \
    } while (0)
    SET(CURLOPT_URL, c->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_HTTPHEADER, c->headers);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, b->body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->body_len);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_ERRORBUFFER, t->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, timeout);
    SET(CURLOPT_SSL_VERIFYPEER, 1L); /* always: the key must not go to an impostor */
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* a redirect would carry the key elsewhere */
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_USERAGENT, "attrib-ihc-client/1");
    if (c->o.ca_file != NULL)
        SET(CURLOPT_CAINFO, c->o.ca_file);
    if (c->o.ca_path != NULL)
        SET(CURLOPT_CAPATH, c->o.ca_path);
#undef SET
    if (s != CURLE_OK)
        return attrib__error(c->ctx, ATTRIB_EHTTP, "libcurl option: %s", curl_easy_strerror(s));
    if (curl_multi_add_handle(multi, e) != CURLM_OK)
        return attrib__error(c->ctx, ATTRIB_EHTTP, "libcurl: cannot add transfer");
    ATTRIB_LOG(c->ctx, ATTRIB_LOG_DEBUG, "batch %zu attempt %d: %zu conversions, %zu sessions",
               info.index, b->attempts, b->count, b->n_sessions);
    return ATTRIB_OK;
}

/* A failed attempt: retry later or settle the batch as failed. */
static void retry_or_fail(attrib_api_client *c, batch *b, const char *err, double retry_after,
                          double now, double deadline)
{
    double cap = c->o.backoff_base_s * pow(2.0, (double)(b->attempts - 1));
    if (cap > c->o.backoff_max_s)
        cap = c->o.backoff_max_s;
    double delay = rand01(c) * cap;
    if (retry_after > delay)
        delay = retry_after;
    char reason[400];
    if (c->o.max_retry_after_s > 0 && retry_after > c->o.max_retry_after_s) {
        snprintf(reason, sizeof(reason), "the server asks to retry after %.0f s: %s", retry_after,
                 err);
        fail_batch(c, b, ATTRIB_API_BATCH_FAILED, reason);
        return;
    }
    if (b->attempts >= c->o.max_attempts) {
        snprintf(reason, sizeof(reason), "gave up after %d attempts: %s", b->attempts, err);
        fail_batch(c, b, ATTRIB_API_BATCH_FAILED, reason);
        return;
    }
    if (deadline > 0 && now + delay >= deadline) {
        snprintf(reason, sizeof(reason), "deadline reached after %d attempts: %s", b->attempts,
                 err);
        fail_batch(c, b, ATTRIB_API_BATCH_FAILED, reason);
        return;
    }
    ATTRIB_LOG(c->ctx, ATTRIB_LOG_INFO, "batch %zu attempt %d failed (%s); retry in %.2f s",
               (size_t)(b - c->batches), b->attempts, err, delay);
    cb_batch_end(c, b, ATTRIB_API_BATCH_RETRY, err);
    b->state = B_PENDING;
    b->not_before = now + delay;
}

/* Short, key-free excerpt of an error body for messages. */
static void body_excerpt(const attrib_buf *resp, char *out, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < resp->len && m + 1 < n && m < 120; i++) {
        unsigned char ch = (unsigned char)resp->data[i];
        out[m++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
    }
    out[m] = '\0';
}

static void finish_transfer(attrib_api_client *c, transfer *t, CURLcode res, double now,
                            double deadline)
{
    batch *b = t->b;
    long http = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &http);
    char err[512];
    if (c->o.audit_dir != NULL) {
        char meta[700];
        int m = snprintf(meta, sizeof(meta), "{\"http_status\":%ld,\"transport\":\"%s\"}\n", http,
                         res == CURLE_OK ? "ok" : curl_easy_strerror(res));
        audit_write(c, b, "response.json", t->resp.data ? t->resp.data : "", t->resp.len);
        audit_write(c, b, "meta.json", meta, (size_t)m);
    }
    if (res != CURLE_OK) {
        if (res == CURLE_WRITE_ERROR && attrib_buf_failed(&t->resp)) {
            snprintf(err, sizeof(err), "response larger than %zu bytes", c->o.max_response_bytes);
            fail_batch(c, b, ATTRIB_API_BATCH_FAILED, err);
            return;
        }
        snprintf(err, sizeof(err), "transport error: %s%s%s", curl_easy_strerror(res),
                 t->errbuf[0] ? ": " : "", t->errbuf);
        if (res == CURLE_SSL_CACERT || res == CURLE_PEER_FAILED_VERIFICATION ||
            res == CURLE_SSL_CERTPROBLEM || res == CURLE_UNSUPPORTED_PROTOCOL ||
            res == CURLE_URL_MALFORMAT) {
            fail_batch(c, b, ATTRIB_API_BATCH_FAILED, err); /* retrying cannot help */
            return;
        }
        retry_or_fail(c, b, err, t->retry_after, now, deadline);
        return;
    }
    char ex[128];
    body_excerpt(&t->resp, ex, sizeof(ex));
    if (http == 401 || http == 403) {
        snprintf(err, sizeof(err), "HTTP %ld: API key rejected%s%s", http, ex[0] ? ": " : "", ex);
        fail_batch(c, b, ATTRIB_API_BATCH_FAILED, err);
        if (c->stop_code == 0) {
            c->stop_code = ATTRIB_EAUTH;
            snprintf(c->stop_reason, sizeof(c->stop_reason),
                     "not sent: API key rejected (HTTP %ld)", http);
        }
        return;
    }
    if (http == 429 || http >= 500) {
        snprintf(err, sizeof(err), "HTTP %ld%s%s", http, ex[0] ? ": " : "", ex);
        retry_or_fail(c, b, err, t->retry_after, now, deadline);
        return;
    }
    if (http != 200 && http != 206) {
        snprintf(err, sizeof(err), "HTTP %ld%s%s", http, ex[0] ? ": " : "", ex);
        fail_batch(c, b, ATTRIB_API_BATCH_FAILED, err);
        return;
    }
    attrib_ihc_response *r = NULL;
    double t0 = cpu_now();
    attrib_clearerr(c->pctx);
    int prc = attrib_ihc_response_parse(c->pctx, t->resp.data ? t->resp.data : "", t->resp.len, &r);
    if (prc != ATTRIB_OK) {
        c->stats.decode_cpu_s += cpu_now() - t0;
        snprintf(err, sizeof(err), "HTTP %ld with an unusable body: %s", http,
                 attrib_errmsg(c->pctx));
        retry_or_fail(c, b, err, t->retry_after, now, deadline);
        return;
    }
    if (r->status_code != 200 && r->status_code != 206) {
        c->stats.decode_cpu_s += cpu_now() - t0;
        snprintf(err, sizeof(err), "body statusCode %d%s%s", r->status_code, r->message ? ": " : "",
                 r->message ? r->message : "");
        if (r->status_code >= 500 || r->status_code == 429)
            retry_or_fail(c, b, err, t->retry_after, now, deadline);
        else
            fail_batch(c, b, ATTRIB_API_BATCH_FAILED, err);
        attrib_ihc_response_free(r);
        return;
    }
    long got = settle_response(c, b, r, err, sizeof(err));
    c->stats.decode_cpu_s += cpu_now() - t0;
    attrib_ihc_response_free(r);
    if (got < 0) {
        note_cb(c, attrib__error(c->ctx, ATTRIB_ENOMEM, "out of memory checking a response"));
        return;
    }
    attrib_api_batch_status st = (size_t)got == b->count ? ATTRIB_API_BATCH_OK
                                 : got == 0              ? ATTRIB_API_BATCH_FAILED
                                                         : ATTRIB_API_BATCH_PARTIAL;
    cb_batch_end(c, b, st, err[0] ? err : NULL);
    b->state = B_DONE;
    free(b->body);
    b->body = NULL;
}

/* ------------------------------------------------------------------ */
/* Planning                                                           */
/* ------------------------------------------------------------------ */

static void free_run(attrib_api_client *c)
{
    for (size_t i = 0; i < c->n_batches; i++) {
        free(c->batches[i].body);
        free(c->batches[i].conv_ids);
    }
    free(c->batches);
    free(c->views);
    free(c->order);
    c->batches = NULL;
    c->views = NULL;
    c->order = NULL;
    c->n_batches = c->n_views = 0;
}

static int plan(attrib_api_client *c, const attrib_journey *journeys, size_t n)
{
    int rc = ATTRIB_OK;
    size_t *w = NULL;
    attrib_pack p = {NULL, NULL, 0, 0};
    attrib_strmap seen = ATTRIB_STRMAP_INIT;

    c->views = malloc((n ? n : 1) * sizeof(*c->views));
    w = malloc((n ? n : 1) * sizeof(*w));
    if (c->views == NULL || w == NULL) {
        rc = attrib__error(c->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    size_t over = 0;
    for (size_t i = 0; i < n; i++) {
        const attrib_journey *j = &journeys[i];
        if (j->n == 0)
            continue;
        int added = 0;
        if (attrib_strmap_intern(&seen, j->conv_id, strlen(j->conv_id), &added) < 0) {
            rc = attrib__error(c->ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        if (!added) {
            rc = attrib__error(c->ctx, ATTRIB_EINVAL,
                               "conversion %s is passed twice: a journey is sent once", j->conv_id);
            goto done;
        }
        for (size_t k = 0; k < j->n; k++)
            if (j->sessions[k].channel >= c->channels->count) {
                rc = attrib__error(c->ctx, ATTRIB_EINVAL,
                                   "conversion %s: channel index out of range", j->conv_id);
                goto done;
            }
        attrib_journey v = *j;
        if (j->n > c->o.max_sessions) {
            over++;
            if (c->o.oversize == ATTRIB_API_OVERSIZE_FAIL) {
                rc = attrib__error(c->ctx, ATTRIB_EDATA,
                                   "conversion %s has %zu sessions, more than the cap of %zu "
                                   "(oversize policy: fail); nothing was sent",
                                   j->conv_id, j->n, c->o.max_sessions);
                goto done;
            }
            if (c->o.oversize == ATTRIB_API_OVERSIZE_SKIP) {
                char reason[160];
                snprintf(reason, sizeof(reason), "%zu sessions, more than the cap of %zu", j->n,
                         c->o.max_sessions);
                c->stats.skipped++;
                ATTRIB_LOG(c->ctx, ATTRIB_LOG_WARN, "conversion %s skipped: %s", j->conv_id,
                           reason);
                if (c->cb->on_skip != NULL)
                    note_cb(c, c->cb->on_skip(j->conv_id, reason, c->payload));
                continue;
            }
            v.sessions = j->sessions + (j->n - c->o.max_sessions);
            v.n = c->o.max_sessions;
            c->stats.trimmed++;
            ATTRIB_LOG(c->ctx, ATTRIB_LOG_WARN,
                       "conversion %s: %zu sessions, sending the latest %zu", j->conv_id, j->n,
                       v.n);
            if (c->cb->on_oversize != NULL)
                note_cb(c, c->cb->on_oversize(j->conv_id, j->n, v.n, c->payload));
        }
        w[c->n_views] = v.n;
        c->views[c->n_views++] = v;
        c->stats.sessions += v.n;
    }
    (void)over;
    if (c->cb_rc != 0) {
        rc = c->cb_rc;
        goto done;
    }
    c->stats.journeys = c->n_views + c->stats.skipped;
    int pr = attrib__pack(w, c->n_views, c->o.max_journeys, c->o.max_sessions, &p);
    if (pr != 0) {
        rc = attrib__error(c->ctx, pr == -1 ? ATTRIB_ENOMEM : ATTRIB_ERROR,
                           "packing journeys failed");
        goto done;
    }
    c->order = p.order;
    p.order = NULL;
    c->stats.lower_bound = p.lower_bound;
    c->stats.batches = p.n_bins;
    c->batches = calloc(p.n_bins ? p.n_bins : 1, sizeof(*c->batches));
    if (c->batches == NULL) {
        rc = attrib__error(c->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    c->n_batches = p.n_bins;
    double fill = 0;
    for (size_t i = 0; i < p.n_bins; i++) {
        batch *b = &c->batches[i];
        b->first = p.bin_start[i];
        b->count = p.bin_start[i + 1] - p.bin_start[i];
        b->conv_ids = malloc(b->count * sizeof(*b->conv_ids));
        if (b->conv_ids == NULL) {
            rc = attrib__error(c->ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < b->count; k++) {
            const attrib_journey *j = &c->views[c->order[b->first + k]];
            b->conv_ids[k] = j->conv_id;
            b->n_sessions += j->n;
        }
        fill += (double)b->n_sessions / (double)c->o.max_sessions;
    }
    c->stats.mean_fill = p.n_bins ? fill / (double)p.n_bins : 0;
done:
    attrib__pack_free(&p);
    attrib_strmap_free(&seen);
    free(w);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The run                                                            */
/* ------------------------------------------------------------------ */

int attrib_api_client_run(attrib_api_client *c, const attrib_journey *journeys, size_t n,
                          const attrib_channels *channels, const attrib_api_callbacks *cb,
                          void *payload)
{
    attrib__enter(c->ctx);
    static const attrib_api_callbacks none = {0};
    int rc = ATTRIB_OK;
    CURLM *multi = NULL;
    transfer *tr = NULL;
    size_t n_tr = (size_t)c->o.concurrency;

    free_run(c);
    memset(&c->stats, 0, sizeof(c->stats));
    c->channels = channels;
    c->cb = cb != NULL ? cb : &none;
    c->payload = payload;
    c->cb_rc = 0;
    c->stop_code = 0;
    c->stop_reason[0] = '\0';
    const double t_start = now_mono();
    time_t wall = time(NULL);
    struct tm tmv;
    gmtime_r(&wall, &tmv);
    snprintf(c->run_id, sizeof(c->run_id), "%04d%02d%02dT%02d%02d%02dZ-%ld", tmv.tm_year + 1900,
             tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec, (long)getpid());
    const double deadline = c->o.deadline_s > 0 ? t_start + c->o.deadline_s : 0;

    rc = plan(c, journeys, n);
    if (rc != ATTRIB_OK)
        goto done;
    multi = curl_multi_init();
    tr = calloc(n_tr, sizeof(*tr));
    if (multi == NULL || tr == NULL) {
        rc = attrib__error(c->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    size_t active = 0, settled = 0, cursor = 0;
    double next_slot = t_start;
    const double spacing = c->o.max_rps > 0 ? 1.0 / c->o.max_rps : 0;
    for (;;) {
        if (c->cb_rc != 0) {
            rc = c->cb_rc;
            goto done;
        }
        if (attrib__cancelled(c->ctx)) {
            rc = ATTRIB_ECANCEL;
            goto done;
        }
        double now = now_mono();
        /* stop conditions for batches not in flight */
        bool expired = deadline > 0 && now >= deadline;
        if (expired || c->stop_code != 0) {
            for (size_t i = 0; i < c->n_batches; i++) {
                batch *b = &c->batches[i];
                if (b->state != B_PENDING)
                    continue;
                fail_batch(c, b, ATTRIB_API_BATCH_NOT_SENT,
                           c->stop_code != 0 ? c->stop_reason
                                             : (b->attempts ? "deadline reached before retry"
                                                            : "not sent: deadline reached"));
            }
        }
        /* start what may start */
        double wait_until = now + 1.0;
        while (active < n_tr && c->stop_code == 0 && !expired) {
            batch *pick = NULL;
            for (size_t i = 0; i < c->n_batches; i++) { /* retries first, oldest first */
                batch *b = &c->batches[i];
                if (b->state == B_PENDING && b->attempts > 0) {
                    if (b->not_before <= now) {
                        pick = b;
                        break;
                    }
                    if (b->not_before < wait_until)
                        wait_until = b->not_before;
                }
            }
            while (pick == NULL && cursor < c->n_batches) {
                if (c->batches[cursor].state == B_PENDING && c->batches[cursor].attempts == 0)
                    pick = &c->batches[cursor];
                else
                    cursor++;
            }
            if (pick == NULL)
                break;
            if (spacing > 0 && next_slot > now) {
                if (next_slot < wait_until)
                    wait_until = next_slot;
                break;
            }
            next_slot = (next_slot > now ? next_slot : now) + spacing;
            transfer *t = NULL;
            for (size_t i = 0; i < n_tr; i++)
                if (tr[i].b == NULL) {
                    t = &tr[i];
                    break;
                }
            rc = start_transfer(c, multi, t, pick, now, deadline);
            if (rc != ATTRIB_OK)
                goto done;
            active++;
        }
        int running = 0;
        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            rc = attrib__error(c->ctx, ATTRIB_EHTTP, "libcurl multi interface failed");
            goto done;
        }
        CURLMsg *msg;
        int left;
        bool progressed = false;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            transfer *t = NULL;
            for (size_t i = 0; i < n_tr; i++)
                if (tr[i].easy == msg->easy_handle && tr[i].b != NULL)
                    t = &tr[i];
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(multi, msg->easy_handle);
            if (t == NULL)
                continue;
            finish_transfer(c, t, res, now_mono(), deadline);
            progressed = true;
            attrib_buf_free(&t->resp);
            t->b = NULL;
            active--;
        }
        settled = 0;
        for (size_t i = 0; i < c->n_batches; i++)
            settled += c->batches[i].state == B_DONE;
        attrib__progress(c->ctx, "API requests", settled, c->n_batches);
        if (settled == c->n_batches && active == 0)
            break;
        if (progressed)
            continue; /* a slot came free or a retry was scheduled: plan again first */
        if (deadline > 0 && deadline < wait_until)
            wait_until = deadline;
        double ms = (wait_until - now_mono()) * 1000.0;
        if (active > 0 && ms > 100)
            ms = 100;
        if (ms < 0)
            ms = 0;
        if (ms > 0 || active > 0)
            curl_multi_poll(multi, NULL, 0, (int)ms, NULL);
    }
    if (c->cb_rc != 0)
        rc = c->cb_rc;
    else if (c->stop_code != 0)
        rc = attrib__error(c->ctx, c->stop_code,
                           "the API rejected the key (%zu conversions failed)", c->stats.failed);
    else if (c->stats.failed > 0)
        rc = attrib__error(c->ctx, ATTRIB_EPARTIAL,
                           "%zu of %zu conversions failed at the API; all others were stored",
                           c->stats.failed, c->stats.journeys);
done:
    if (tr != NULL) {
        for (size_t i = 0; i < n_tr; i++) {
            if (tr[i].easy != NULL) {
                if (tr[i].b != NULL)
                    curl_multi_remove_handle(multi, tr[i].easy);
                curl_easy_cleanup(tr[i].easy);
            }
            attrib_buf_free(&tr[i].resp);
        }
        free(tr);
    }
    curl_multi_cleanup(multi);
    if (rc != ATTRIB_OK && rc != ATTRIB_EPARTIAL && rc != ATTRIB_EAUTH && c->cb_rc == 0 &&
        attrib_errcode(c->ctx) == ATTRIB_OK)
        attrib__error(c->ctx, rc, "API run failed");
    for (size_t i = 0; i < c->n_batches; i++) { /* keep planning figures; drop bodies */
        free(c->batches[i].body);
        c->batches[i].body = NULL;
    }
    return attrib__leave(c->ctx, rc);
}
