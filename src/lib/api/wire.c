/*
 * The IHC API's JSON wire format (docs/ihc-api.md §2–§5): request and
 * response parsers on jansson, and writers that produce the exact bytes the
 * API takes and gives.
 *
 * Parsers copy what they keep (ids, labels) into an arena owned by the
 * result, so the jansson tree is freed before returning. Writers build the
 * body by hand in an attrib_buf: the key order and number format are part of
 * the contract (ids as strings, flags as ints, credits rounded to 4 decimals
 * and printed as Python prints floats), and hand-writing is several times
 * cheaper per session than building a jansson tree first.
 */
#include "attrib/ihc_json.h"

#include "lib/core/ctx.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/strmap.h"
#include "util/ts.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hard cap on a written body: far above the API's 3000-session cap. */
#define BODY_MAX ((size_t)1 << 30)

/* ------------------------------------------------------------------ */
/* Shared helpers                                                     */
/* ------------------------------------------------------------------ */

static json_t *load(attrib_ctx *ctx, const char *body, size_t len, const char *what)
{
    json_error_t err;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (root == NULL)
        attrib__error(ctx, ATTRIB_EPARSE, "%s: invalid JSON at byte %d (line %d): %s", what,
                      err.position, err.line, err.text);
    return root;
}

static const char *direction_name(attrib_redist_direction d)
{
    switch (d) {
    case ATTRIB_REDIST_EARLIER:
        return "earlier_sessions_only";
    case ATTRIB_REDIST_LATER:
        return "later_sessions_only";
    case ATTRIB_REDIST_ANY:
        return "any_session";
    default:
        return NULL;
    }
}

static int parse_phase(attrib_ctx *ctx, json_t *obj, const char *phase, attrib_arena *arena,
                       attrib_redist_phase *out)
{
    *out = (attrib_redist_phase){ATTRIB_REDIST_NONE, 0, NULL, 0};
    if (obj == NULL || json_is_null(obj))
        return ATTRIB_OK;
    if (!json_is_object(obj))
        return attrib__error(ctx, ATTRIB_EPARSE, "redistribution_parameter.%s: not an object",
                             phase);
    json_t *dir = json_object_get(obj, "direction");
    json_t *thr = json_object_get(obj, "receive_threshold");
    json_t *labels = json_object_get(obj, "redistribution_channel_labels");
    const char *d = json_string_value(dir);
    if (d == NULL)
        return attrib__error(ctx, ATTRIB_EPARSE,
                             "redistribution_parameter.%s.direction: missing or not a string",
                             phase);
    if (strcmp(d, "earlier_sessions_only") == 0)
        out->direction = ATTRIB_REDIST_EARLIER;
    else if (strcmp(d, "later_sessions_only") == 0)
        out->direction = ATTRIB_REDIST_LATER;
    else if (strcmp(d, "any_session") == 0)
        out->direction = ATTRIB_REDIST_ANY;
    else
        return attrib__error(ctx, ATTRIB_EPARSE,
                             "redistribution_parameter.%s.direction: unknown value \"%s\"", phase,
                             d);
    if (thr != NULL && !json_is_number(thr))
        return attrib__error(ctx, ATTRIB_EPARSE,
                             "redistribution_parameter.%s.receive_threshold: not a number", phase);
    out->receive_threshold = thr != NULL ? json_number_value(thr) : 0.0;
    if (!(out->receive_threshold >= 0.0 && out->receive_threshold <= 1.0))
        return attrib__error(ctx, ATTRIB_EPARSE,
                             "redistribution_parameter.%s.receive_threshold: %g not in [0,1]",
                             phase, out->receive_threshold);
    if (labels == NULL || !json_is_array(labels))
        return attrib__error(
            ctx, ATTRIB_EPARSE,
            "redistribution_parameter.%s.redistribution_channel_labels: missing or not a list",
            phase);
    size_t n = json_array_size(labels);
    const char **arr = attrib_arena_alloc(arena, (n ? n : 1) * sizeof(*arr));
    if (arr == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(labels, i);
        if (!json_is_string(l))
            return attrib__error(
                ctx, ATTRIB_EPARSE,
                "redistribution_parameter.%s.redistribution_channel_labels[%zu]: not a string",
                phase, i);
        arr[i] = attrib_arena_strndup(arena, json_string_value(l), json_string_length(l));
        if (arr[i] == NULL)
            return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    }
    out->labels = arr;
    out->n_labels = n;
    return ATTRIB_OK;
}

static int parse_redist(attrib_ctx *ctx, json_t *obj, attrib_arena *arena,
                        attrib_redistribution *out)
{
    if (!json_is_object(obj))
        return attrib__error(ctx, ATTRIB_EPARSE, "redistribution_parameter: not an object");
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        (void)v;
        if (strcmp(key, "initializer") != 0 && strcmp(key, "holder") != 0 &&
            strcmp(key, "closer") != 0)
            return attrib__error(ctx, ATTRIB_EPARSE,
                                 "redistribution_parameter: unknown phase \"%s\"", key);
    }
    int rc = parse_phase(ctx, json_object_get(obj, "initializer"), "initializer", arena,
                         &out->initializer);
    if (rc == ATTRIB_OK)
        rc = parse_phase(ctx, json_object_get(obj, "holder"), "holder", arena, &out->holder);
    if (rc == ATTRIB_OK)
        rc = parse_phase(ctx, json_object_get(obj, "closer"), "closer", arena, &out->closer);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Request parser                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
    attrib_arena arena;
    attrib_strmap convs;    /* conversion_id -> journey index (all, failed included) */
    attrib_strmap channels; /* channel_label -> index */
} request_internal;

/* "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD HH:MM:SS +HHMM" to UTC seconds. */
static int parse_timestamp(const char *s, size_t len, int64_t *out)
{
    if (len == 19)
        return attrib_datetime_parse(s, len, out);
    if (len != 25 || s[19] != ' ' || (s[20] != '+' && s[20] != '-'))
        return -1;
    int64_t t;
    if (attrib_datetime_parse(s, 19, &t) != 0)
        return -1;
    int v[4];
    for (int i = 0; i < 4; i++) {
        char c = s[21 + i];
        if (c < '0' || c > '9')
            return -1;
        v[i] = c - '0';
    }
    int hh = v[0] * 10 + v[1], mm = v[2] * 10 + v[3];
    if (hh > 23 || mm > 59)
        return -1;
    int64_t off = (int64_t)hh * 3600 + mm * 60;
    *out = s[20] == '+' ? t - off : t + off;
    return 0;
}

/* A 0/1 int flag; `required` false lets it be absent (0). */
static const char *get_flag(json_t *item, const char *key, bool required, uint8_t *out)
{
    json_t *v = json_object_get(item, key);
    if (v == NULL) {
        *out = 0;
        return required ? "missing" : NULL;
    }
    if (!json_is_integer(v))
        return "not an integer";
    json_int_t x = json_integer_value(v);
    if (x != 0 && x != 1)
        return "not 0 or 1";
    *out = (uint8_t)x;
    return NULL;
}

/* Per-session record while parsing: the session and its sent flag sort together;
 * pos = its place among the journey's sessions in the request. */
typedef struct {
    attrib_session s;
    uint8_t conv;
    size_t pos;
} sess_rec;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether two sessions of a journey share an id; ids is scratch of n entries. */
static int has_duplicate_id(const sess_rec *r, size_t n, const char **ids)
{
    for (size_t k = 0; k < n; k++)
        ids[k] = r[k].s.id;
    qsort(ids, n, sizeof(*ids), cmp_str);
    for (size_t k = 1; k < n; k++)
        if (strcmp(ids[k], ids[k - 1]) == 0)
            return 1;
    return 0;
}

/* By time; same-second sessions keep the request's order, as the API does
 * (docs/model.md rule 16). */
static int cmp_rec(const void *a, const void *b)
{
    const sess_rec *x = a, *y = b;
    if (x->s.ts != y->s.ts)
        return x->s.ts < y->s.ts ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Parse the fields of one session object; returns NULL or the failing field's message. */
static const char *parse_session(request_internal *in, json_t *item, sess_rec *r, int *oom,
                                 char msg[96])
{
    json_t *sid = json_object_get(item, "session_id");
    json_t *ts = json_object_get(item, "timestamp");
    json_t *ch = json_object_get(item, "channel_label");
    if (!json_is_string(sid))
        return sid == NULL ? "session_id: missing" : "session_id: not a string";
    if (!json_is_string(ts))
        return ts == NULL ? "timestamp: missing" : "timestamp: not a string";
    if (!json_is_string(ch))
        return ch == NULL ? "channel_label: missing" : "channel_label: not a string";
    if (parse_timestamp(json_string_value(ts), json_string_length(ts), &r->s.ts) != 0)
        return "timestamp: not '%Y-%m-%d %H:%M:%S' (optionally ' %z')";
    static const char *const flags[4] = {"holder_engagement", "closer_engagement", "conversion",
                                         "impression_interaction"};
    uint8_t vals[4];
    for (int f = 0; f < 4; f++) {
        const char *e = get_flag(item, flags[f], f < 3, &vals[f]);
        if (e != NULL) {
            snprintf(msg, 96, "%s: %s", flags[f], e);
            return msg;
        }
    }
    r->s.holder = vals[0];
    r->s.closer = vals[1];
    r->conv = vals[2];
    r->s.impression = vals[3];
    int64_t ci =
        attrib_strmap_intern(&in->channels, json_string_value(ch), json_string_length(ch), NULL);
    r->s.id = attrib_arena_strndup(&in->arena, json_string_value(sid), json_string_length(sid));
    if (ci < 0 || r->s.id == NULL) {
        *oom = 1;
        return "out of memory";
    }
    r->s.channel = (uint32_t)ci;
    return NULL;
}

void attrib_ihc_request_free(attrib_ihc_request *req)
{
    if (req == NULL)
        return;
    request_internal *in = req->internal_;
    if (in != NULL) {
        attrib_strmap_free(&in->convs);
        attrib_strmap_free(&in->channels);
        attrib_arena_free(&in->arena);
        free(in);
    }
    free(req);
}

int attrib_ihc_request_parse(attrib_ctx *ctx, const char *body, size_t len,
                             attrib_ihc_request **out)
{
    return attrib_ihc_request_parse_ex(ctx, body, len, 0, out);
}

/* Allocate n elements of size sz from the arena, checking the multiply. */
static void *arena_array(attrib_arena *a, size_t n, size_t sz)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / sz)
        return NULL;
    return attrib_arena_alloc(a, n * sz);
}

int attrib_ihc_request_parse_ex(attrib_ctx *ctx, const char *body, size_t len, unsigned flags,
                                attrib_ihc_request **out)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    json_t *root = NULL;
    attrib_ihc_request *req = NULL;
    size_t *jidx = NULL, *count = NULL, *fill = NULL;
    char **jerr = NULL;
    sess_rec *recs = NULL;
    const char **ids = NULL;
    const bool partial = (flags & ATTRIB_IHC_PARSE_PARTIAL) != 0;

    *out = NULL;
    root = load(ctx, body, len, "request");
    if (root == NULL) {
        rc = ATTRIB_EPARSE;
        goto done;
    }
    req = calloc(1, sizeof(*req));
    request_internal *in = calloc(1, sizeof(*in));
    if (req == NULL || in == NULL) {
        free(in);
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    req->internal_ = in;
    json_t *list = root;
    if (json_is_object(root)) {
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v)
        {
            (void)v;
            if (strcmp(key, "customer_journeys") != 0 &&
                strcmp(key, "redistribution_parameter") != 0) {
                rc = attrib__error(ctx, ATTRIB_EPARSE, "request: unknown key \"%s\"", key);
                goto done;
            }
        }
        list = json_object_get(root, "customer_journeys");
        if (list == NULL) {
            rc = attrib__error(ctx, ATTRIB_EPARSE, "request: customer_journeys missing");
            goto done;
        }
        json_t *rp = json_object_get(root, "redistribution_parameter");
        if (rp != NULL && !json_is_null(rp)) {
            rc = parse_redist(ctx, rp, &in->arena, &req->redistribution);
            if (rc != ATTRIB_OK)
                goto done;
            req->has_redistribution = true;
        }
    }
    if (!json_is_array(list)) {
        rc = attrib__error(ctx, ATTRIB_EPARSE, "request: customer_journeys is not a list");
        goto done;
    }

    /* Pass 1: journey of every item, session count per journey. */
    size_t n_items = json_array_size(list);
    req->n_items = n_items;
    jidx = malloc((n_items ? n_items : 1) * sizeof(*jidx));
    count = calloc(n_items ? n_items : 1, sizeof(*count));
    if (jidx == NULL || count == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_items; i++) {
        json_t *item = json_array_get(list, i);
        if (!json_is_object(item)) {
            rc = attrib__error(ctx, ATTRIB_EPARSE, "customer_journeys[%zu]: not an object", i);
            goto done;
        }
        json_t *cid = json_object_get(item, "conversion_id");
        if (!json_is_string(cid)) {
            rc = attrib__error(ctx, ATTRIB_EPARSE, "customer_journeys[%zu].conversion_id: %s", i,
                               cid == NULL ? "missing" : "not a string");
            goto done;
        }
        int64_t j =
            attrib_strmap_intern(&in->convs, json_string_value(cid), json_string_length(cid), NULL);
        if (j < 0) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        jidx[i] = (size_t)j;
        count[j]++;
    }
    size_t nj = in->convs.count;

    /* Pass 2: parse sessions into per-journey slices of one array. */
    fill = calloc(nj ? nj : 1, sizeof(*fill));
    jerr = calloc(nj ? nj : 1, sizeof(*jerr));
    recs = malloc((n_items ? n_items : 1) * sizeof(*recs));
    ids = malloc((n_items ? n_items : 1) * sizeof(*ids));
    size_t *start = malloc((nj ? nj : 1) * sizeof(*start));
    if (fill == NULL || jerr == NULL || recs == NULL || ids == NULL || start == NULL) {
        free(start);
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0, acc = 0; j < nj; j++) {
        start[j] = acc;
        acc += count[j];
    }
    for (size_t i = 0; i < n_items; i++) {
        size_t j = jidx[i];
        if (jerr[j] != NULL)
            continue;
        sess_rec *r = &recs[start[j] + fill[j]];
        memset(r, 0, sizeof(*r));
        r->pos = fill[j]++;
        int oom = 0;
        char emsg[96];
        const char *e = parse_session(in, json_array_get(list, i), r, &oom, emsg);
        if (oom) {
            free(start);
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        if (e == NULL)
            continue;
        if (!partial) {
            free(start);
            rc = attrib__error(ctx, ATTRIB_EPARSE, "customer_journeys[%zu].%s", i, e);
            goto done;
        }
        char buf[160];
        snprintf(buf, sizeof(buf), "customer_journeys[%zu].%s", i, e);
        jerr[j] = attrib_arena_strndup(&in->arena, buf, strlen(buf));
        if (jerr[j] == NULL) {
            free(start);
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
    }

    /* Sort each journey, reject duplicate session ids, build the result. */
    size_t n_ok = 0, n_fail = 0, n_sess = 0;
    for (size_t j = 0; j < nj; j++) {
        if (jerr[j] == NULL) {
            sess_rec *r = &recs[start[j]];
            qsort(r, count[j], sizeof(*r), cmp_rec);
            if (count[j] > 1 && has_duplicate_id(r, count[j], ids) != 0) {
                char buf[200];
                snprintf(buf, sizeof(buf), "conversion_id \"%.40s\": duplicate session_id",
                         in->convs.keys[j]);
                if (!partial) {
                    free(start);
                    rc = attrib__error(ctx, ATTRIB_EPARSE, "%s", buf);
                    goto done;
                }
                jerr[j] = attrib_arena_strndup(&in->arena, buf, strlen(buf));
                if (jerr[j] == NULL) {
                    free(start);
                    rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
                    goto done;
                }
            }
        }
        if (jerr[j] != NULL)
            n_fail++;
        else {
            n_ok++;
            n_sess += count[j];
        }
    }
    attrib_session *sess = arena_array(&in->arena, n_sess, sizeof(*sess));
    uint8_t *conv = arena_array(&in->arena, n_sess, 1);
    const uint8_t **convp = arena_array(&in->arena, n_ok, sizeof(*convp));
    req->journeys = arena_array(&in->arena, n_ok, sizeof(*req->journeys));
    req->failures = arena_array(&in->arena, n_fail, sizeof(*req->failures));
    if (sess == NULL || conv == NULL || convp == NULL || req->journeys == NULL ||
        req->failures == NULL) {
        free(start);
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0, at = 0; j < nj; j++) {
        if (jerr[j] != NULL) {
            req->failures[req->n_failures++] = (attrib_ihc_failure){in->convs.keys[j], jerr[j]};
            continue;
        }
        for (size_t k = 0; k < count[j]; k++) {
            sess[at + k] = recs[start[j] + k].s;
            conv[at + k] = recs[start[j] + k].conv;
        }
        attrib_journey *jr = &req->journeys[req->n_journeys];
        *jr = (attrib_journey){.conv_id = in->convs.keys[j],
                               .ts = sess[at + count[j] - 1].ts,
                               .sessions = &sess[at],
                               .n = count[j]};
        convp[req->n_journeys++] = &conv[at];
        at += count[j];
    }
    free(start);
    req->sent_conversion = convp;
    req->n_sessions = n_sess;
    req->channels.names = (const char *const *)in->channels.keys;
    req->channels.count = in->channels.count;

done:
    json_decref(root);
    free(jidx);
    free(count);
    free(fill);
    free(jerr);
    free(recs);
    free(ids);
    if (rc != ATTRIB_OK)
        attrib_ihc_request_free(req);
    else
        *out = req;
    return attrib__leave(ctx, rc);
}

/* ------------------------------------------------------------------ */
/* Redistribution parameter on its own                                */
/* ------------------------------------------------------------------ */

int attrib_ihc_redist_parse(attrib_ctx *ctx, const char *body, size_t len, attrib_ihc_redist **out)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_ihc_redist *r = NULL;
    attrib_arena *arena = NULL;
    json_t *root = load(ctx, body, len, "redistribution_parameter");

    *out = NULL;
    if (root == NULL) {
        rc = ATTRIB_EPARSE;
        goto done;
    }
    r = calloc(1, sizeof(*r));
    arena = calloc(1, sizeof(*arena));
    if (r == NULL || arena == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    r->internal_ = arena;
    arena = NULL;
    rc = parse_redist(ctx, root, r->internal_, &r->redistribution);
done:
    json_decref(root);
    free(arena);
    if (rc != ATTRIB_OK)
        attrib_ihc_redist_free(r);
    else
        *out = r;
    return attrib__leave(ctx, rc);
}

void attrib_ihc_redist_free(attrib_ihc_redist *r)
{
    if (r == NULL)
        return;
    if (r->internal_ != NULL) {
        attrib_arena_free(r->internal_);
        free(r->internal_);
    }
    free(r);
}

/* ------------------------------------------------------------------ */
/* Response parser                                                    */
/* ------------------------------------------------------------------ */

static int number_field(attrib_ctx *ctx, json_t *row, size_t i, const char *key, double *out)
{
    json_t *v = json_object_get(row, key);
    if (!json_is_number(v))
        return attrib__error(ctx, ATTRIB_EPARSE, "response value[%zu].%s: %s", i, key,
                             v == NULL ? "missing" : "not a number");
    *out = json_number_value(v);
    if (!isfinite(*out))
        return attrib__error(ctx, ATTRIB_EPARSE, "response value[%zu].%s: not finite", i, key);
    return ATTRIB_OK;
}

void attrib_ihc_response_free(attrib_ihc_response *resp)
{
    if (resp == NULL)
        return;
    if (resp->internal_ != NULL) {
        attrib_arena_free(resp->internal_);
        free(resp->internal_);
    }
    free(resp);
}

static const char *arena_json_str(attrib_arena *a, json_t *s)
{
    return attrib_arena_strndup(a, json_string_value(s), json_string_length(s));
}

static int parse_failure(attrib_ctx *ctx, attrib_arena *a, json_t *e, attrib_ihc_failure *f)
{
    f->conversion_id = NULL;
    f->message = NULL;
    if (json_is_object(e)) {
        json_t *cid = json_object_get(e, "conversion_id");
        json_t *msg = json_object_get(e, "message");
        if (json_is_string(cid) && (f->conversion_id = arena_json_str(a, cid)) == NULL)
            return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        if (json_is_string(msg)) {
            if ((f->message = arena_json_str(a, msg)) == NULL)
                return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            return ATTRIB_OK;
        }
    } else if (json_is_string(e)) {
        if ((f->message = arena_json_str(a, e)) == NULL)
            return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        return ATTRIB_OK;
    }
    char *dump = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
    if (dump == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    f->message = attrib_arena_strndup(a, dump, strlen(dump));
    free(dump);
    return f->message == NULL ? attrib__error(ctx, ATTRIB_ENOMEM, "out of memory") : ATTRIB_OK;
}

int attrib_ihc_response_parse(attrib_ctx *ctx, const char *body, size_t len,
                              attrib_ihc_response **out)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_ihc_response *resp = NULL;
    json_t *root = load(ctx, body, len, "response");

    *out = NULL;
    if (root == NULL) {
        rc = ATTRIB_EPARSE;
        goto done;
    }
    if (!json_is_object(root)) {
        rc = attrib__error(ctx, ATTRIB_EPARSE, "response: not a JSON object");
        goto done;
    }
    resp = calloc(1, sizeof(*resp));
    attrib_arena *a = calloc(1, sizeof(*a));
    if (resp == NULL || a == NULL) {
        free(a);
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    resp->internal_ = a;
    json_t *sc = json_object_get(root, "statusCode");
    if (!json_is_integer(sc)) {
        rc = attrib__error(ctx, ATTRIB_EPARSE, "response.statusCode: %s",
                           sc == NULL ? "missing" : "not an integer");
        goto done;
    }
    json_int_t code = json_integer_value(sc);
    if (code < 100 || code > 599) {
        rc = attrib__error(ctx, ATTRIB_EPARSE, "response.statusCode: %lld out of range",
                           (long long)code);
        goto done;
    }
    resp->status_code = (int)code;
    json_t *msg = json_object_get(root, "message");
    if (!json_is_string(msg))
        msg = json_object_get(root, "error");
    if (json_is_string(msg) && (resp->message = arena_json_str(a, msg)) == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    json_t *value = json_object_get(root, "value");
    if (value != NULL && !json_is_array(value) && !json_is_null(value)) {
        rc = attrib__error(ctx, ATTRIB_EPARSE, "response.value: not a list");
        goto done;
    }
    size_t nr = json_is_array(value) ? json_array_size(value) : 0;
    resp->rows = arena_array(a, nr, sizeof(*resp->rows));
    if (resp->rows == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nr; i++) {
        json_t *row = json_array_get(value, i);
        attrib_ihc_row *r = &resp->rows[i];
        if (!json_is_object(row)) {
            rc = attrib__error(ctx, ATTRIB_EPARSE, "response value[%zu]: not an object", i);
            goto done;
        }
        json_t *cid = json_object_get(row, "conversion_id");
        json_t *sid = json_object_get(row, "session_id");
        if (!json_is_string(cid) || !json_is_string(sid)) {
            rc =
                attrib__error(ctx, ATTRIB_EPARSE, "response value[%zu].%s: missing or not a string",
                              i, !json_is_string(cid) ? "conversion_id" : "session_id");
            goto done;
        }
        r->conversion_id = arena_json_str(a, cid);
        r->session_id = arena_json_str(a, sid);
        if (r->conversion_id == NULL || r->session_id == NULL) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        rc = number_field(ctx, row, i, "initializer", &r->credit.initializer);
        if (rc == ATTRIB_OK)
            rc = number_field(ctx, row, i, "holder", &r->credit.holder);
        if (rc == ATTRIB_OK)
            rc = number_field(ctx, row, i, "closer", &r->credit.closer);
        if (rc == ATTRIB_OK)
            rc = number_field(ctx, row, i, "ihc", &r->credit.ihc);
        if (rc != ATTRIB_OK)
            goto done;
        resp->n_rows++;
    }
    json_t *pf = json_object_get(root, "partialFailureErrors");
    if (pf != NULL && !json_is_array(pf) && !json_is_null(pf)) {
        rc = attrib__error(ctx, ATTRIB_EPARSE, "response.partialFailureErrors: not a list");
        goto done;
    }
    size_t nf = json_is_array(pf) ? json_array_size(pf) : 0;
    resp->failures = arena_array(a, nf, sizeof(*resp->failures));
    if (resp->failures == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nf; i++) {
        rc = parse_failure(ctx, a, json_array_get(pf, i), &resp->failures[i]);
        if (rc != ATTRIB_OK)
            goto done;
        resp->n_failures++;
    }
done:
    json_decref(root);
    if (rc != ATTRIB_OK)
        attrib_ihc_response_free(resp);
    else
        *out = resp;
    return attrib__leave(ctx, rc);
}

/* ------------------------------------------------------------------ */
/* Writers                                                            */
/* ------------------------------------------------------------------ */

/* Length of a valid UTF-8 sequence starting at s (max n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Append s as a JSON string; -1 on invalid UTF-8, -2 on buffer failure. */
static int put_str(attrib_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    if (attrib_buf_addc(b, '"') != 0)
        return -2;
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_len(p + i, n - i);
            if (l == 0)
                return -1;
            i += l;
            continue;
        }
        if (attrib_buf_add(b, p + run, i - run) != 0)
            return -2;
        int r;
        if (c == '"')
            r = attrib_buf_adds(b, "\\\"");
        else if (c == '\\')
            r = attrib_buf_adds(b, "\\\\");
        else if (c == '\n')
            r = attrib_buf_adds(b, "\\n");
        else if (c == '\t')
            r = attrib_buf_adds(b, "\\t");
        else if (c == '\r')
            r = attrib_buf_adds(b, "\\r");
        else
            r = attrib_buf_printf(b, "\\u%04x", c);
        if (r != 0)
            return -2;
        i++;
        run = i;
    }
    if (attrib_buf_add(b, p + run, n - run) != 0 || attrib_buf_addc(b, '"') != 0)
        return -2;
    return 0;
}

static int str_error(attrib_ctx *ctx, int r, const char *what)
{
    if (r == -1)
        return attrib__error(ctx, ATTRIB_EDATA, "%s is not valid UTF-8", what);
    return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory writing JSON");
}

static int finish(attrib_ctx *ctx, attrib_buf *b, int rc, char **out, size_t *out_len)
{
    if (rc == ATTRIB_OK && attrib_buf_failed(b))
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory writing JSON");
    if (rc == ATTRIB_OK) {
        *out_len = b->len;
        *out = attrib_buf_take(b);
        if (*out == NULL)
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory writing JSON");
    }
    attrib_buf_free(b);
    return rc;
}

size_t attrib_ihc_fmt4(double x, char out[32])
{
    int n = snprintf(out, 32, "%.4f", x);
    if (n <= 0 || n >= 32) {
        out[0] = '0';
        out[1] = '.';
        out[2] = '0';
        out[3] = '\0';
        return 3;
    }
    size_t len = (size_t)n;
    for (size_t i = 0; i < len; i++)
        if (out[i] == ',') /* a locale's decimal comma */
            out[i] = '.';
    while (len > 0 && out[len - 1] == '0' && len >= 2 && out[len - 2] != '.')
        len--;
    out[len] = '\0';
    if (strcmp(out, "-0.0") == 0) {
        memmove(out, out + 1, 4);
        len = 3;
    }
    return len;
}

static int write_phase(attrib_buf *b, const char *name, const attrib_redist_phase *p, bool *first)
{
    const char *dir = direction_name(p->direction);
    if (dir == NULL)
        return 0;
    char num[32];
    /* Shortest form of the threshold that reads back: %.17g trimmed. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(num, sizeof(num), "%.*g", prec, p->receive_threshold);
        if (strtod(num, NULL) == p->receive_threshold)
            break;
    }
    int r = 0;
    r |= attrib_buf_printf(b,
                           "%s\"%s\":{\"direction\":\"%s\",\"receive_threshold\":%s,"
                           "\"redistribution_channel_labels\":[",
                           *first ? "" : ",", name, dir, num);
    *first = false;
    for (size_t i = 0; i < p->n_labels; i++) {
        if (i > 0)
            r |= attrib_buf_addc(b, ',');
        int s = put_str(b, p->labels[i]);
        if (s != 0)
            return s;
    }
    r |= attrib_buf_adds(b, "]}");
    return r != 0 ? -2 : 0;
}

size_t attrib_ihc_request_journey_size(const attrib_journey *j, const attrib_channels *channels)
{
    /* Fixed bytes per session object: keys, quotes, flags, timestamp. */
    static const size_t fixed = sizeof("{\"conversion_id\":\"\",\"session_id\":\"\","
                                       "\"timestamp\":\"YYYY-MM-DD HH:MM:SS\",\"channel_label\":"
                                       "\"\",\"holder_engagement\":0,\"closer_engagement\":0,"
                                       "\"conversion\":0,\"impression_interaction\":0},") -
                                1;
    size_t conv = strlen(j->conv_id), total = 0;
    for (size_t k = 0; k < j->n; k++) {
        const attrib_session *s = &j->sessions[k];
        const char *ch = s->channel < channels->count ? channels->names[s->channel] : "";
        total += fixed + conv + strlen(s->id) + strlen(ch);
    }
    return total;
}

int attrib_ihc_request_write(attrib_ctx *ctx, const attrib_journey *const *journeys, size_t n,
                             const attrib_channels *channels,
                             const attrib_redistribution *redistribution, char **out,
                             size_t *out_len)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_buf b = ATTRIB_BUF_INIT(BODY_MAX);
    *out = NULL;
    *out_len = 0;
    size_t est = 64;
    for (size_t i = 0; i < n; i++)
        est += attrib_ihc_request_journey_size(journeys[i], channels);
    if (attrib_buf_reserve(&b, est) != 0 || attrib_buf_adds(&b, "{\"customer_journeys\":[") != 0)
        goto done;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const attrib_journey *j = journeys[i];
        for (size_t k = 0; k < j->n; k++) {
            const attrib_session *s = &j->sessions[k];
            if (s->channel >= channels->count) {
                rc = attrib__error(ctx, ATTRIB_EINVAL, "journey %s: channel index %u out of range",
                                   j->conv_id, (unsigned)s->channel);
                goto done;
            }
            char ts[20];
            attrib_datetime_format(s->ts, ts);
            int r = attrib_buf_adds(&b, first ? "{\"conversion_id\":" : ",{\"conversion_id\":");
            first = false;
            if (r != 0)
                goto done;
            if ((r = put_str(&b, j->conv_id)) != 0) {
                rc = str_error(ctx, r, "conversion_id");
                goto done;
            }
            if (attrib_buf_adds(&b, ",\"session_id\":") != 0)
                goto done;
            if ((r = put_str(&b, s->id)) != 0) {
                rc = str_error(ctx, r, "session_id");
                goto done;
            }
            if (attrib_buf_printf(&b, ",\"timestamp\":\"%s\",\"channel_label\":", ts) != 0)
                goto done;
            if ((r = put_str(&b, channels->names[s->channel])) != 0) {
                rc = str_error(ctx, r, "channel_label");
                goto done;
            }
            if (attrib_buf_printf(&b,
                                  ",\"holder_engagement\":%d,\"closer_engagement\":%d,"
                                  "\"conversion\":%d,\"impression_interaction\":%d}",
                                  s->holder ? 1 : 0, s->closer ? 1 : 0, k + 1 == j->n ? 1 : 0,
                                  s->impression ? 1 : 0) != 0)
                goto done;
        }
    }
    if (attrib_buf_addc(&b, ']') != 0)
        goto done;
    if (redistribution != NULL && (redistribution->initializer.direction != ATTRIB_REDIST_NONE ||
                                   redistribution->holder.direction != ATTRIB_REDIST_NONE ||
                                   redistribution->closer.direction != ATTRIB_REDIST_NONE)) {
        bool pf = true;
        int r = attrib_buf_adds(&b, ",\"redistribution_parameter\":{") != 0 ? -2 : 0;
        if (r == 0)
            r = write_phase(&b, "initializer", &redistribution->initializer, &pf);
        if (r == 0)
            r = write_phase(&b, "holder", &redistribution->holder, &pf);
        if (r == 0)
            r = write_phase(&b, "closer", &redistribution->closer, &pf);
        if (r == 0 && attrib_buf_addc(&b, '}') != 0)
            r = -2;
        if (r != 0) {
            rc = str_error(ctx, r, "redistribution channel label");
            goto done;
        }
    }
    if (attrib_buf_addc(&b, '}') != 0)
        goto done;
done:
    return attrib__leave(ctx, finish(ctx, &b, rc, out, out_len));
}

int attrib_ihc_response_write(attrib_ctx *ctx, int status_code, const attrib_ihc_row *rows,
                              size_t n_rows, const attrib_ihc_failure *failures, size_t n_failures,
                              char **out, size_t *out_len)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_buf b = ATTRIB_BUF_INIT(BODY_MAX);
    *out = NULL;
    *out_len = 0;
    if (attrib_buf_reserve(&b, 64 + n_rows * 220) != 0 ||
        attrib_buf_printf(&b, "{\"statusCode\":%d,\"value\":[", status_code) != 0)
        goto done;
    for (size_t i = 0; i < n_rows; i++) {
        const attrib_ihc_row *r = &rows[i];
        const double v[4] = {r->credit.initializer, r->credit.holder, r->credit.closer,
                             r->credit.ihc};
        char num[4][32];
        for (int f = 0; f < 4; f++) {
            if (!isfinite(v[f])) {
                rc = attrib__error(ctx, ATTRIB_EDATA, "credit of %s/%s is not finite",
                                   r->conversion_id, r->session_id);
                goto done;
            }
            attrib_ihc_fmt4(v[f], num[f]);
        }
        int s;
        if (attrib_buf_adds(&b, i ? ",{\"conversion_id\":" : "{\"conversion_id\":") != 0)
            goto done;
        if ((s = put_str(&b, r->conversion_id)) != 0) {
            rc = str_error(ctx, s, "conversion_id");
            goto done;
        }
        if (attrib_buf_adds(&b, ",\"session_id\":") != 0)
            goto done;
        if ((s = put_str(&b, r->session_id)) != 0) {
            rc = str_error(ctx, s, "session_id");
            goto done;
        }
        if (attrib_buf_printf(&b, ",\"initializer\":%s,\"holder\":%s,\"closer\":%s,\"ihc\":%s}",
                              num[0], num[1], num[2], num[3]) != 0)
            goto done;
    }
    if (attrib_buf_adds(&b, "],\"partialFailureErrors\":[") != 0)
        goto done;
    for (size_t i = 0; i < n_failures; i++) {
        const attrib_ihc_failure *f = &failures[i];
        int s = 0;
        if (attrib_buf_adds(&b, i ? ",{" : "{") != 0)
            goto done;
        if (f->conversion_id != NULL) {
            if (attrib_buf_adds(&b, "\"conversion_id\":") != 0)
                goto done;
            if ((s = put_str(&b, f->conversion_id)) != 0) {
                rc = str_error(ctx, s, "conversion_id");
                goto done;
            }
            if (attrib_buf_addc(&b, ',') != 0)
                goto done;
        }
        if (attrib_buf_adds(&b, "\"statusCode\":406,\"message\":") != 0)
            goto done;
        if ((s = put_str(&b, f->message != NULL ? f->message : "")) != 0) {
            rc = str_error(ctx, s, "message");
            goto done;
        }
        if (attrib_buf_addc(&b, '}') != 0)
            goto done;
    }
    if (attrib_buf_adds(&b, "]}") != 0)
        goto done;
done:
    return attrib__leave(ctx, finish(ctx, &b, rc, out, out_len));
}

int attrib_ihc_error_write(attrib_ctx *ctx, int status_code, const char *message, char **out,
                           size_t *out_len)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_buf b = ATTRIB_BUF_INIT(1 << 20);
    *out = NULL;
    *out_len = 0;
    if (attrib_buf_printf(&b, "{\"statusCode\":%d,\"message\":", status_code) != 0)
        goto done;
    int s = put_str(&b, message != NULL ? message : "");
    if (s != 0) {
        rc = str_error(ctx, s, "message");
        goto done;
    }
    if (attrib_buf_addc(&b, '}') != 0)
        goto done;
done:
    return attrib__leave(ctx, finish(ctx, &b, rc, out, out_len));
}
