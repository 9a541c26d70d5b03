/*
 * Recorded IHC API calls as a dataset for eval and calibrate: requests and
 * responses decoded with the IHC JSON codec, sessions matched to response
 * rows by (conversion_id, session_id), channels mapped to one table.
 */
#include "lib/ihc/fitdata.h"

#include "attrib/ihc_json.h"
#include "lib/core/ctx.h"
#include "util/buf.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t attrib_ihc_dataset_journeys(const attrib_ihc_dataset *ds)
{
    return ds->n_journeys;
}

size_t attrib_ihc_dataset_sessions(const attrib_ihc_dataset *ds)
{
    return ds->n_sessions;
}

size_t attrib_ihc_dataset_skipped(const attrib_ihc_dataset *ds)
{
    return ds->skipped;
}

size_t attrib_ihc_dataset_skipped_calls(const attrib_ihc_dataset *ds)
{
    return ds->skipped_calls;
}

void attrib_ihc_dataset_free(attrib_ihc_dataset *ds)
{
    if (ds == NULL)
        return;
    free(ds->sessions);
    free(ds->target);
    free(ds->journeys);
    free(ds->first);
    attrib_strmap_free(&ds->channels);
    attrib_arena_free(&ds->arena);
    free(ds);
}

bool attrib_ihc_held_out(const char *conversion_id, unsigned percent)
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)conversion_id; *p != '\0'; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h % 100u < percent;
}

static int read_file(attrib_ctx *ctx, const char *path, attrib_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return attrib__error(ctx, errno == ENOENT ? ATTRIB_ENOTFOUND : ATTRIB_EIO,
                             "cannot open %s: %s", path, strerror(errno));
    char chunk[65536];
    size_t got;
    int rc = ATTRIB_OK;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (attrib_buf_add(b, chunk, got) != 0) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "%s: too large", path);
            break;
        }
    if (rc == ATTRIB_OK && ferror(f))
        rc = attrib__error(ctx, ATTRIB_EIO, "cannot read %s", path);
    fclose(f);
    return rc;
}

static int grow(attrib_ctx *ctx, attrib_ihc_dataset *ds, size_t more_sessions)
{
    if (ds->n_sessions + more_sessions > ds->cap_sessions) {
        size_t cap = ds->cap_sessions * 2 + more_sessions + 1024;
        attrib_session *s = realloc(ds->sessions, cap * sizeof(*s));
        if (s != NULL)
            ds->sessions = s;
        attrib_credit *t = realloc(ds->target, cap * sizeof(*t));
        if (t != NULL)
            ds->target = t;
        if (s == NULL || t == NULL)
            return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        ds->cap_sessions = cap;
    }
    if (ds->n_journeys + more_sessions > ds->cap_journeys) {
        size_t cap = ds->cap_journeys * 2 + more_sessions + 256;
        attrib_journey *j = realloc(ds->journeys, cap * sizeof(*j));
        if (j != NULL)
            ds->journeys = j;
        size_t *f = realloc(ds->first, cap * sizeof(*f));
        if (f != NULL)
            ds->first = f;
        if (j == NULL || f == NULL)
            return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        ds->cap_journeys = cap;
    }
    return ATTRIB_OK;
}

/* Add the journeys of one request/response pair. */
static int add_pair(attrib_ctx *ctx, attrib_ihc_dataset *ds, const char *req_body, size_t req_len,
                    const char *resp_body, size_t resp_len, const char *what, bool lenient)
{
    int rc = ATTRIB_OK;
    attrib_ihc_request *req = NULL;
    attrib_ihc_response *resp = NULL;
    attrib_strmap rows = ATTRIB_STRMAP_INIT;
    attrib_buf key = ATTRIB_BUF_INIT(0);
    int64_t *chan_map = NULL;
    rc = attrib_ihc_request_parse(ctx, req_body, req_len, &req);
    if (rc == ATTRIB_OK) {
        rc = attrib_ihc_response_parse(ctx, resp_body, resp_len, &resp);
        /* An audit directory also keeps failed attempts (429, 5xx bodies). */
        if (lenient && (rc == ATTRIB_EPARSE || (rc == ATTRIB_OK && resp->status_code != 200 &&
                                                resp->status_code != 206))) {
            attrib_clearerr(ctx);
            ds->skipped_calls++;
            rc = ATTRIB_OK;
            goto done;
        }
    }
    if (rc != ATTRIB_OK) {
        attrib__error_prefix(ctx, "%s", what);
        goto done;
    }
    /* Response rows by conversion_id \x1f session_id. */
    for (size_t r = 0; r < resp->n_rows; r++) {
        attrib_buf_reset(&key);
        if (attrib_buf_printf(&key, "%s\x1f%s", resp->rows[r].conversion_id,
                              resp->rows[r].session_id) != 0 ||
            attrib_strmap_intern(&rows, key.data, key.len, NULL) < 0) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
    }
    chan_map = calloc(req->channels.count + 1, sizeof(*chan_map));
    if (chan_map == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < req->channels.count; c++) {
        const char *name = req->channels.names[c];
        chan_map[c] = attrib_strmap_intern(&ds->channels, name, strlen(name), NULL);
        if (chan_map[c] < 0) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
    }
    rc = grow(ctx, ds, req->n_sessions + req->n_journeys);
    if (rc != ATTRIB_OK)
        goto done;
    for (size_t jn = 0; jn < req->n_journeys; jn++) {
        const attrib_journey *j = &req->journeys[jn];
        size_t base = ds->n_sessions;
        bool complete = true;
        for (size_t k = 0; k < j->n && complete; k++) {
            attrib_session s = j->sessions[k];
            attrib_buf_reset(&key);
            if (attrib_buf_printf(&key, "%s\x1f%s", j->conv_id, s.id) != 0) {
                rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
                goto done;
            }
            int64_t row = attrib_strmap_find(&rows, key.data, key.len);
            if (row < 0) {
                complete = false;
                break;
            }
            s.id = attrib_arena_strndup(&ds->arena, s.id, strlen(s.id));
            if (s.id == NULL) {
                rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
                goto done;
            }
            s.channel = (uint32_t)chan_map[s.channel];
            ds->sessions[base + k] = s;
            ds->target[base + k] = resp->rows[row].credit;
        }
        if (!complete || j->n == 0) {
            ds->skipped++;
            continue;
        }
        attrib_journey out = *j;
        out.conv_id = attrib_arena_strndup(&ds->arena, j->conv_id, strlen(j->conv_id));
        if (out.conv_id == NULL) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        out.sessions = NULL;
        ds->first[ds->n_journeys] = base;
        ds->journeys[ds->n_journeys++] = out;
        ds->n_sessions += j->n;
    }
done:
    free(chan_map);
    attrib_buf_free(&key);
    attrib_strmap_free(&rows);
    attrib_ihc_response_free(resp);
    attrib_ihc_request_free(req);
    return rc;
}

static int finish(attrib_ctx *ctx, attrib_ihc_dataset *ds)
{
    for (size_t j = 0; j < ds->n_journeys; j++)
        ds->journeys[j].sessions = ds->sessions + ds->first[j];
    ds->chan_view.names = ds->channels.keys;
    ds->chan_view.count = ds->channels.count;
    if (ds->n_journeys == 0)
        return attrib__error(ctx, ATTRIB_EDATA, "no journey with a complete response found");
    return ATTRIB_OK;
}

int attrib_ihc_dataset_load_pairs(attrib_ctx *ctx, const char *requests_path,
                                  const char *responses_path, attrib_ihc_dataset **out)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_buf rb = ATTRIB_BUF_INIT(1u << 30), sb = ATTRIB_BUF_INIT(1u << 30);
    json_t *reqs = NULL, *resps = NULL;
    char *rq = NULL, *rs = NULL;
    json_error_t err;
    attrib_ihc_dataset *ds = calloc(1, sizeof(*ds));
    *out = NULL;
    if (ds == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = read_file(ctx, requests_path, &rb);
    if (rc == ATTRIB_OK)
        rc = read_file(ctx, responses_path, &sb);
    if (rc != ATTRIB_OK)
        goto done;
    reqs = json_loadb(rb.data != NULL ? rb.data : "", rb.len, 0, &err);
    if (reqs == NULL || !json_is_array(reqs)) {
        rc = attrib__error(ctx, ATTRIB_EPARSE, "%s: expected a JSON list of request bodies (%s)",
                           requests_path, reqs == NULL ? err.text : "not a list");
        goto done;
    }
    resps = json_loadb(sb.data != NULL ? sb.data : "", sb.len, 0, &err);
    if (resps == NULL || !json_is_array(resps)) {
        rc = attrib__error(ctx, ATTRIB_EPARSE, "%s: expected a JSON list of response bodies (%s)",
                           responses_path, resps == NULL ? err.text : "not a list");
        goto done;
    }
    if (json_array_size(reqs) != json_array_size(resps)) {
        rc = attrib__error(ctx, ATTRIB_EDATA, "%s has %zu requests but %s has %zu responses",
                           requests_path, json_array_size(reqs), responses_path,
                           json_array_size(resps));
        goto done;
    }
    for (size_t i = 0; i < json_array_size(reqs); i++) {
        char what[64];
        rq = json_dumps(json_array_get(reqs, i), JSON_COMPACT);
        rs = json_dumps(json_array_get(resps, i), JSON_COMPACT);
        if (rq == NULL || rs == NULL) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        snprintf(what, sizeof(what), "pair %zu", i);
        rc = add_pair(ctx, ds, rq, strlen(rq), rs, strlen(rs), what, false);
        if (rc != ATTRIB_OK)
            goto done;
        free(rq);
        free(rs);
        rq = rs = NULL;
    }
    rc = finish(ctx, ds);
    if (rc != ATTRIB_OK)
        goto done;
    *out = ds;
    ds = NULL;
done:
    free(rq);
    free(rs);
    json_decref(reqs);
    json_decref(resps);
    attrib_buf_free(&rb);
    attrib_buf_free(&sb);
    attrib_ihc_dataset_free(ds);
    return attrib__leave(ctx, rc);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int attrib_ihc_dataset_load_audit(attrib_ctx *ctx, const char *dir, attrib_ihc_dataset **out)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    DIR *d = NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    attrib_buf path = ATTRIB_BUF_INIT(0), rb = ATTRIB_BUF_INIT(1u << 30),
               sb = ATTRIB_BUF_INIT(1u << 30);
    attrib_ihc_dataset *ds = calloc(1, sizeof(*ds));
    *out = NULL;
    if (ds == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    d = opendir(dir);
    if (d == NULL) {
        rc = attrib__error(ctx, errno == ENOENT ? ATTRIB_ENOTFOUND : ATTRIB_EIO,
                           "cannot open audit directory %s: %s", dir, strerror(errno));
        goto done;
    }
    const char *suffix = ".request.json";
    size_t sl = strlen(suffix);
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        size_t len = strlen(e->d_name);
        if (len <= sl || strcmp(e->d_name + len - sl, suffix) != 0)
            continue;
        if (n == cap) {
            cap = cap * 2 + 64;
            char **g = realloc(names, cap * sizeof(*g));
            if (g == NULL) {
                rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
                goto done;
            }
            names = g;
        }
        names[n] = strndup(e->d_name, len - sl);
        if (names[n] == NULL) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        n++;
    }
    qsort(names, n, sizeof(*names), cmp_name);
    for (size_t i = 0; i < n; i++) {
        attrib_buf_reset(&path);
        attrib_buf_reset(&rb);
        attrib_buf_reset(&sb);
        if (attrib_buf_printf(&path, "%s/%s.response.json", dir, names[i]) != 0) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        FILE *probe = fopen(path.data, "rb");
        if (probe == NULL) { /* a request without an answer (failed call) */
            ds->skipped_calls++;
            continue;
        }
        fclose(probe);
        rc = read_file(ctx, path.data, &sb);
        attrib_buf_reset(&path);
        if (rc == ATTRIB_OK && attrib_buf_printf(&path, "%s/%s.request.json", dir, names[i]) != 0)
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        if (rc == ATTRIB_OK)
            rc = read_file(ctx, path.data, &rb);
        if (rc == ATTRIB_OK)
            rc = add_pair(ctx, ds, rb.data != NULL ? rb.data : "", rb.len,
                          sb.data != NULL ? sb.data : "", sb.len, path.data, true);
        if (rc != ATTRIB_OK)
            goto done;
    }
    rc = finish(ctx, ds);
    if (rc != ATTRIB_OK)
        goto done;
    *out = ds;
    ds = NULL;
done:
    if (d != NULL)
        closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    attrib_buf_free(&path);
    attrib_buf_free(&rb);
    attrib_buf_free(&sb);
    attrib_ihc_dataset_free(ds);
    return attrib__leave(ctx, rc);
}
