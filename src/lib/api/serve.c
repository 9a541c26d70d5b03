/*
 * `attrib serve` (include/attrib/serve.h): the IHC API on libmicrohttpd,
 * answered by a local model.
 *
 * Channels: the model is bound to one server-wide channel table that only
 * grows. A request maps its own labels to that table under a read lock;
 * a request bringing new labels takes the write lock, interns them and
 * re-binds the model. attribute() then runs under the read lock, so
 * requests compute concurrently and never see a half-bound model.
 *
 * Rounding: the API's values have 4 decimals and each phase still sums to
 * exactly what it summed to (1, or 0 for an empty holder phase), so values
 * are rounded by largest remainder in units of 1e-4 rather than one by one.
 */
#include "attrib/serve.h"
#include "attrib/ihc_json.h"

#include "lib/core/ctx.h"
#include "lib/model/run.h"
#include "util/buf.h"
#include "util/strmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define PATH "/v1/compute_ihc"

/* Descriptors kept free of connections: the listen socket, the epoll sets,
 * the store, logs, the model file. */
#define FD_RESERVE 64
#define PER_IP_DEFAULT 256

struct attrib_server {
    struct MHD_Daemon *d;
    attrib_serve_options o;
    char *api_key;
    attrib_model *model;
    const attrib_model_ops *ops;
    attrib_model_options mopts; /* for per-request instances (redistribution) */
    pthread_rwlock_t lock;
    attrib_strmap chans; /* server-wide channel table (write lock) */
    atomic_uint_fast64_t requests, journeys, sessions, rejected;
    uint16_t port;
    unsigned max_conns, max_per_ip; /* in force */
};

typedef struct {
    attrib_buf body;
    bool too_big;
} conn_state;

/* ------------------------------------------------------------------ */

static int key_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static enum MHD_Result send_body(struct MHD_Connection *conn, unsigned status, char *body,
                                 size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(attrib_server *s, struct MHD_Connection *conn, unsigned http,
                                  const char *msg)
{
    char *body = NULL;
    size_t len = 0;
    attrib_ctx *ctx = NULL;
    atomic_fetch_add(&s->rejected, 1);
    if (attrib_ctx_new(&ctx) != 0)
        return MHD_NO;
    int rc = attrib_ihc_error_write(ctx, (int)http, msg, &body, &len);
    attrib_ctx_free(ctx);
    if (rc != 0)
        return MHD_NO;
    return send_body(conn, http, body, len);
}

/* Round v[0..n) (stride doubles apart) to 1e-4 keeping the rounded sum. */
static void round_keep_sum(double *v, size_t n, size_t stride, long *units, double *rem)
{
    double sum = 0;
    long total = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i * stride] * 1e4;
        sum += x;
        units[i] = (long)floor(x);
        rem[i] = x - (double)units[i];
        total += units[i];
    }
    long target = lround(sum);
    while (total < target) { /* hand the missing units to the largest remainders */
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        units[best]++;
        rem[best] = -1;
        total++;
    }
    for (size_t i = 0; i < n; i++)
        v[i * stride] = (double)units[i] / 1e4;
}

/* Map the request's channel labels to the server table; returns with the
 * read lock held on success. */
static int map_channels(attrib_server *s, attrib_ctx *ctx, const attrib_channels *ch, uint32_t *map)
{
    pthread_rwlock_rdlock(&s->lock);
    bool missing = false;
    for (size_t i = 0; i < ch->count && !missing; i++) {
        int64_t x = attrib_strmap_find(&s->chans, ch->names[i], strlen(ch->names[i]));
        if (x < 0)
            missing = true;
        else
            map[i] = (uint32_t)x;
    }
    if (!missing)
        return ATTRIB_OK;
    pthread_rwlock_unlock(&s->lock);
    pthread_rwlock_wrlock(&s->lock);
    int rc = ATTRIB_OK;
    for (size_t i = 0; i < ch->count; i++) {
        int64_t x = attrib_strmap_intern(&s->chans, ch->names[i], strlen(ch->names[i]), NULL);
        if (x < 0) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            break;
        }
        map[i] = (uint32_t)x;
    }
    if (rc == ATTRIB_OK) {
        attrib_channels all = {(const char *const *)s->chans.keys, s->chans.count};
        rc = attrib_model_bind(s->model, ctx, &all);
    }
    pthread_rwlock_unlock(&s->lock);
    if (rc != ATTRIB_OK)
        return rc;
    pthread_rwlock_rdlock(&s->lock); /* the table only grows: the mapping stays valid */
    return ATTRIB_OK;
}

/* Compute a parsed request; the response body into *out. */
static int compute(attrib_server *s, attrib_ctx *ctx, const attrib_ihc_request *req, char **out,
                   size_t *out_len)
{
    int rc = ATTRIB_OK;
    size_t ns = req->n_sessions ? req->n_sessions : 1;
    size_t nj = req->n_journeys ? req->n_journeys : 1;
    uint32_t *map = malloc((req->channels.count ? req->channels.count : 1) * sizeof(*map));
    attrib_session *copy = malloc(ns * sizeof(*copy));
    attrib_journey *mapped = malloc(nj * sizeof(*mapped)); /* the journeys over copy */
    size_t *offset = malloc(nj * sizeof(*offset));
    attrib_credit *cr = malloc(ns * sizeof(*cr));
    attrib_ihc_row *rows = malloc(ns * sizeof(*rows));
    long *units = malloc(ns * sizeof(*units));
    double *rem = malloc(ns * sizeof(*rem));
    bool locked = false;
    attrib_model *own = NULL; /* a request's own instance when it carries redistribution */
    const attrib_model *model = s->model;
    if (map == NULL || copy == NULL || mapped == NULL || offset == NULL || cr == NULL ||
        rows == NULL || units == NULL || rem == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    if (req->has_redistribution) {
        attrib_model_options mo = s->mopts;
        mo.redistribution = &req->redistribution;
        rc = attrib_model_new(ctx, s->ops, &mo, &own);
        if (rc == ATTRIB_OK)
            rc = attrib_model_bind(own, ctx, &req->channels);
        if (rc != ATTRIB_OK)
            goto done;
        for (size_t i = 0; i < req->channels.count; i++)
            map[i] = (uint32_t)i;
        model = own;
    } else {
        rc = map_channels(s, ctx, &req->channels, map);
        if (rc != ATTRIB_OK)
            goto done;
        locked = true;
    }
    size_t at = 0;
    for (size_t i = 0; i < req->n_journeys; i++) {
        const attrib_journey *j = &req->journeys[i];
        for (size_t k = 0; k < j->n; k++) {
            copy[at + k] = j->sessions[k];
            copy[at + k].channel = map[j->sessions[k].channel];
        }
        mapped[i] = *j;
        mapped[i].sessions = &copy[at];
        offset[i] = at;
        at += j->n;
    }
    /* On this request's thread: the server runs requests in parallel. */
    attrib__model_run_opts ro = ATTRIB__MODEL_RUN_OPTS_INIT;
    ro.rounded = s->mopts.api_rounding;
    rc = attrib__model_run(ctx, model, mapped, req->n_journeys, offset, cr, &ro);
    if (rc != ATTRIB_OK)
        goto done;
    at = 0;
    for (size_t i = 0; i < req->n_journeys; i++) {
        const attrib_journey *j = &req->journeys[i];
        double *base = &cr[at].ihc;
        const size_t stride = sizeof(attrib_credit) / sizeof(double);
        for (size_t f = 0; f < 4; f++)
            round_keep_sum(base + f, j->n, stride, units, rem);
        for (size_t k = 0; k < j->n; k++)
            rows[at + k] = (attrib_ihc_row){j->conv_id, j->sessions[k].id, cr[at + k]};
        at += j->n;
    }
    if (locked)
        pthread_rwlock_unlock(&s->lock);
    locked = false;
    rc = attrib_ihc_response_write(ctx, req->n_failures ? 206 : 200, rows, at, req->failures,
                                   req->n_failures, out, out_len);
    atomic_fetch_add(&s->journeys, req->n_journeys);
    atomic_fetch_add(&s->sessions, at);
done:
    if (locked)
        pthread_rwlock_unlock(&s->lock);
    attrib_model_free(own);
    free(map);
    free(copy);
    free(mapped);
    free(offset);
    free(cr);
    free(rows);
    free(units);
    free(rem);
    return rc;
}

static enum MHD_Result handle(attrib_server *s, struct MHD_Connection *conn, conn_state *cs)
{
    const char *conv = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "conv_type_id");
    if (conv == NULL || conv[0] == '\0')
        return send_error(s, conn, 400, "conv_type_id is required");
    if (cs->too_big)
        return send_error(s, conn, 413, "request body too large");
    attrib_ctx *ctx = NULL;
    attrib_ihc_request *req = NULL;
    char *body = NULL;
    size_t len = 0;
    enum MHD_Result ret = MHD_NO;
    if (attrib_ctx_new(&ctx) != 0)
        return MHD_NO;
    if (attrib_ihc_request_parse_ex(ctx, cs->body.data ? cs->body.data : "", cs->body.len,
                                    ATTRIB_IHC_PARSE_PARTIAL, &req) != ATTRIB_OK) {
        ret = send_error(s, conn, 400, attrib_errmsg(ctx));
        goto done;
    }
    size_t nj = req->n_journeys + req->n_failures;
    if (req->n_items == 0) {
        ret = send_error(s, conn, 400, "request has no customer journeys");
        goto done;
    }
    if (nj > s->o.max_journeys || req->n_items > s->o.max_sessions) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "request has %zu customer journeys and %zu sessions; the limits are %zu and %zu",
                 nj, req->n_items, s->o.max_journeys, s->o.max_sessions);
        ret = send_error(s, conn, 400, msg);
        goto done;
    }
    if (compute(s, ctx, req, &body, &len) != ATTRIB_OK) {
        ret = send_error(s, conn, 500, attrib_errmsg(ctx));
        goto done;
    }
    ret = send_body(conn, req->n_failures ? 206 : 200, body, len);
done:
    attrib_ihc_request_free(req);
    attrib_ctx_free(ctx);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    attrib_server *s = cls;
    (void)version;
    conn_state *cs = *con_cls;
    if (cs == NULL) {
        /* headers are in: check the route and the key before reading the body */
        if (strcmp(url, PATH) != 0) {
            atomic_fetch_add(&s->requests, 1);
            return send_error(s, conn, 404, "not found");
        }
        if (strcmp(method, "POST") != 0) {
            atomic_fetch_add(&s->requests, 1);
            return send_error(s, conn, 405, "method not allowed");
        }
        if (!s->o.no_auth) {
            const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key");
            if (key == NULL || !key_equal(key, s->api_key)) {
                atomic_fetch_add(&s->requests, 1);
                return send_error(s, conn, 403, "Forbidden");
            }
        }
        /* an announced body above the bound: 413 now, nothing read */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "content-length");
        if (cl != NULL) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end == cl || *end != '\0' || errno != 0 || n > s->o.max_body_bytes) {
                atomic_fetch_add(&s->requests, 1);
                return send_error(s, conn, 413, "request body too large");
            }
        }
        cs = calloc(1, sizeof(*cs));
        if (cs == NULL)
            return MHD_NO;
        attrib_buf_init(&cs->body, s->o.max_body_bytes);
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!cs->too_big && attrib_buf_add(&cs->body, upload_data, *upload_data_size) != 0) {
            cs->too_big = true; /* keep reading (discarding) so the 413 can be sent */
            attrib_buf_free(&cs->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&s->requests, 1);
    return handle(s, conn, cs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    conn_state *cs = *con_cls;
    if (cs != NULL) {
        attrib_buf_free(&cs->body);
        free(cs);
        *con_cls = NULL;
    }
}

int attrib_serve_new(attrib_ctx *ctx, const attrib_serve_options *opts, attrib_server **out)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_server *s = NULL;
    struct sockaddr_storage ss;
    bool v6 = false;

    *out = NULL;
    memset(&ss, 0, sizeof(ss));
    const char *addr = opts->bind_addr != NULL ? opts->bind_addr : "127.0.0.1";
    bool loopback = false;
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)&ss;
        sa6->sin6_family = AF_INET6;
        sa6->sin6_port = htons(opts->port);
        if (inet_pton(AF_INET6, addr, &sa6->sin6_addr) != 1) {
            rc = attrib__error(ctx, ATTRIB_EINVAL, "serve: not an IPv6 address: %s", addr);
            goto done;
        }
        v6 = true;
        loopback = IN6_IS_ADDR_LOOPBACK(&sa6->sin6_addr) ||
                   (IN6_IS_ADDR_V4MAPPED(&sa6->sin6_addr) && sa6->sin6_addr.s6_addr[12] == 127);
    } else {
        struct sockaddr_in *sa4 = (struct sockaddr_in *)&ss;
        sa4->sin_family = AF_INET;
        sa4->sin_port = htons(opts->port);
        if (inet_pton(AF_INET, addr, &sa4->sin_addr) != 1) {
            rc = attrib__error(ctx, ATTRIB_EINVAL, "serve: not a numeric IPv4 address: %s", addr);
            goto done;
        }
        loopback = (ntohl(sa4->sin_addr.s_addr) >> 24) == 127;
    }
    if (opts->no_auth && !loopback) {
        rc = attrib__error(ctx, ATTRIB_EINVAL,
                           "serve: no_auth is only allowed on a loopback address (127.x.x.x, ::1), "
                           "not %s",
                           addr);
        goto done;
    }
    if (!opts->no_auth && (opts->api_key == NULL || opts->api_key[0] == '\0')) {
        rc = attrib__error(ctx, ATTRIB_EINVAL,
                           "serve: an API key (api_key) is required unless no_auth is set");
        goto done;
    }
    /* no model named: "ihc" when built in, else the first (as the pipeline picks) */
    const attrib_model_ops *ops =
        opts->model != NULL ? attrib_model_find(opts->model) : attrib_model_find("ihc");
    if (ops == NULL && opts->model == NULL)
        ops = attrib_model_list()[0];
    if (ops == NULL) {
        rc = attrib__error(ctx, ATTRIB_EINVAL, "serve: unknown model %s", opts->model);
        goto done;
    }
    if ((ops->flags & ATTRIB_MODEL_NEEDS_PATHS) != 0) {
        rc = attrib__error(ctx, ATTRIB_EINVAL,
                           "serve: model %s needs a statistics pass and cannot serve requests",
                           ops->name);
        goto done;
    }
    if (opts->max_journeys < 1 || opts->max_sessions < 1 || opts->max_body_bytes < 1 ||
        opts->max_connections < 1 || opts->idle_timeout < 1) {
        rc = attrib__error(ctx, ATTRIB_EINVAL,
                           "serve: caps, max_connections and idle_timeout must be >= 1");
        goto done;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    s->o = *opts;
    pthread_rwlock_init(&s->lock, NULL);
    if (opts->api_key != NULL && (s->api_key = strdup(opts->api_key)) == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    attrib_model_options defaults = ATTRIB_MODEL_OPTIONS_INIT;
    s->ops = ops;
    s->mopts = opts->model_opts != NULL ? *opts->model_opts : defaults;
    rc = attrib_model_new(ctx, ops, &s->mopts, &s->model);
    if (rc != ATTRIB_OK)
        goto done;
    attrib_channels none = {NULL, 0};
    rc = attrib_model_bind(s->model, ctx, &none);
    if (rc != ATTRIB_OK)
        goto done;
    unsigned threads = opts->threads ? opts->threads : 1;
    /* connections fit in what the open-file limit leaves (MHD would
     * otherwise hit EMFILE on accept and spin) */
    s->max_conns = opts->max_connections;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        rlim_t room = rl.rlim_cur > FD_RESERVE + threads ? rl.rlim_cur - FD_RESERVE - threads : 1;
        if ((rlim_t)s->max_conns > room)
            s->max_conns = (unsigned)room;
    }
    if (s->max_conns < threads)
        s->max_conns = threads; /* MHD gives each worker max_conns / threads */
    s->max_per_ip = opts->max_connections_per_ip != 0 ? opts->max_connections_per_ip
                    : loopback                        ? 0
                                                      : PER_IP_DEFAULT;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | (v6 ? MHD_USE_IPv6 : 0);
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_TIMEOUT, opts->idle_timeout, MHD_OPTION_CONNECTION_LIMIT,
        s->max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->max_per_ip, MHD_OPTION_END);
    if (s->d == NULL) {
        rc = attrib__error(ctx, ATTRIB_EIO,
                           v6 ? "serve: cannot listen on [%s]:%u" : "serve: cannot listen on %s:%u",
                           addr, (unsigned)opts->port);
        goto done;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : opts->port;
done:
    if (rc != ATTRIB_OK)
        attrib_serve_free(s);
    else
        *out = s;
    return attrib__leave(ctx, rc);
}

uint16_t attrib_serve_port(const attrib_server *s)
{
    return s->port;
}

void attrib_serve_limits(const attrib_server *s, unsigned *max_connections,
                         unsigned *max_connections_per_ip)
{
    *max_connections = s->max_conns;
    *max_connections_per_ip = s->max_per_ip;
}

void attrib_serve_get_stats(const attrib_server *s, attrib_serve_stats *out)
{
    attrib_server *m = (attrib_server *)s;
    out->requests = atomic_load(&m->requests);
    out->journeys = atomic_load(&m->journeys);
    out->sessions = atomic_load(&m->sessions);
    out->rejected = atomic_load(&m->rejected);
}

void attrib_serve_free(attrib_server *s)
{
    if (s == NULL)
        return;
    if (s->d != NULL)
        MHD_stop_daemon(s->d); /* joins the workers: requests in progress are answered */
    attrib_model_free(s->model);
    attrib_strmap_free(&s->chans);
    pthread_rwlock_destroy(&s->lock);
    if (s->api_key != NULL) {
        memset(s->api_key, 0, strlen(s->api_key));
        free(s->api_key);
    }
    free(s);
}
