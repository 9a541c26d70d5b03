/*
 * IHC engine parameters: the JSON model file (parse, serialize, builtins)
 * and evaluation of its tables. Format in docs/model.md.
 */
#include "lib/ihc/params.h"

#include "lib/core/ctx.h"
#include "lib/core/file.h"
#include "util/buf.h"
#include "util/numfmt.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char attrib__embed_default[];
extern const unsigned long attrib__embed_default_len;
extern const char attrib__embed_base[];
extern const unsigned long attrib__embed_base_len;

static const char *const phase_key[3] = {"initializer", "holder", "closer"};

double attrib__ihc_table_eval(const attrib_ihc_table *t, double x)
{
    if (t->n == 0)
        return 0.0;
    if (x <= t->x[0])
        return t->y[0];
    if (x >= t->x[t->n - 1])
        return t->y[t->n - 1];
    /* Branchless search for the last knot <= x (tables have up to 128
     * knots; a branchy search mispredicts on every step). */
    const double *b = t->x;
    size_t len = t->n - 1; /* x[0] < x < x[n-1]: the answer is in [0, n-2] */
    while (len > 1) {
        size_t half = len / 2;
        b = b[half] <= x ? b + half : b;
        len -= half;
    }
    size_t lo = (size_t)(b - t->x), hi = lo + 1;
    double f = (x - t->x[lo]) / (t->x[hi] - t->x[lo]);
    return t->y[lo] + f * (t->y[hi] - t->y[lo]);
}

double attrib__ihc_holder_eval(const attrib_ihc_params *p, double i, double c)
{
    size_t n = p->g_n;
    double span = (double)(n - 1);
    double u = (i <= 0.0 ? 0.0 : i >= 1.0 ? 1.0 : i) * span;
    double v = (c <= 0.0 ? 0.0 : c >= 1.0 ? 1.0 : c) * span;
    size_t a = (size_t)u, b = (size_t)v;
    if (a >= n - 1)
        a = n - 2;
    if (b >= n - 1)
        b = n - 2;
    double fu = u - (double)a, fv = v - (double)b;
    const double *r0 = p->g + a * n, *r1 = r0 + n;
    double g0 = r0[b] + fv * (r0[b + 1] - r0[b]);
    double g1 = r1[b] + fv * (r1[b + 1] - r1[b]);
    return g0 + fu * (g1 - g0);
}

void attrib__ihc_params_free(attrib_ihc_params *p)
{
    if (p == NULL)
        return;
    for (size_t k = 0; k < p->n_channels; k++)
        free(p->channels[k].name);
    free(p->channels);
    free(p->name);
    free(p);
}

static int chan_cmp(const void *a, const void *b)
{
    return strcmp(((const attrib_ihc_channel *)a)->name, ((const attrib_ihc_channel *)b)->name);
}

const attrib_ihc_channel *attrib__ihc_params_channel(const attrib_ihc_params *p, const char *name)
{
    attrib_ihc_channel key = {.name = (char *)name};
    if (p->n_channels == 0)
        return NULL;
    return bsearch(&key, p->channels, p->n_channels, sizeof(key), chan_cmp);
}

int attrib__ihc_params_set_channel(attrib_ctx *ctx, attrib_ihc_params *p, const char *name,
                                   const double w[3])
{
    attrib_ihc_channel *c = (attrib_ihc_channel *)attrib__ihc_params_channel(p, name);
    if (c != NULL) {
        memcpy(c->w, w, sizeof(c->w));
        return ATTRIB_OK;
    }
    attrib_ihc_channel *grown = realloc(p->channels, (p->n_channels + 1) * sizeof(*grown));
    if (grown == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    p->channels = grown;
    char *dup = strdup(name);
    if (dup == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    grown[p->n_channels].name = dup;
    memcpy(grown[p->n_channels].w, w, sizeof(grown[0].w));
    p->n_channels++;
    qsort(p->channels, p->n_channels, sizeof(*p->channels), chan_cmp);
    return ATTRIB_OK;
}

int attrib__ihc_params_copy(attrib_ctx *ctx, const attrib_ihc_params *p, attrib_ihc_params **out)
{
    int rc = ATTRIB_OK;
    attrib_ihc_params *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    *q = *p;
    q->name = NULL;
    q->channels = NULL;
    q->n_channels = 0;
    if (p->name != NULL && (q->name = strdup(p->name)) == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < p->n_channels; k++) {
        rc = attrib__ihc_params_set_channel(ctx, q, p->channels[k].name, p->channels[k].w);
        if (rc != ATTRIB_OK)
            goto done;
    }
    *out = q;
    q = NULL;
done:
    attrib__ihc_params_free(q);
    return rc;
}

/* ---- parsing ---- */

static int bad(attrib_ctx *ctx, const char *what, const char *key, const char *why)
{
    return attrib__error(ctx, ATTRIB_EPARSE, "%s: key \"%s\": %s", what, key, why);
}

static int get_number(attrib_ctx *ctx, const char *what, const char *key, json_t *v, double lo,
                      double hi, double *out)
{
    if (!json_is_number(v))
        return bad(ctx, what, key, "expected a number");
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi) || !isfinite(x))
        return attrib__error(ctx, ATTRIB_EPARSE, "%s: key \"%s\": value %.17g outside [%g, %g]",
                             what, key, x, lo, hi);
    *out = x;
    return ATTRIB_OK;
}

static int parse_table(attrib_ctx *ctx, const char *what, const char *key, json_t *obj,
                       attrib_ihc_table *t)
{
    char sub[128];
    if (!json_is_object(obj))
        return bad(ctx, what, key, "expected an object with \"hours\" and \"values\"");
    json_t *xs = json_object_get(obj, "hours"), *ys = json_object_get(obj, "values");
    if (!json_is_array(xs) || !json_is_array(ys))
        return bad(ctx, what, key, "\"hours\" and \"values\" must be arrays");
    size_t n = json_array_size(xs);
    if (n < 1 || n > ATTRIB_IHC_MAX_KNOTS || json_array_size(ys) != n)
        return bad(ctx, what, key, "\"hours\" and \"values\" need the same length, 1..128");
    for (size_t k = 0; k < n; k++) {
        snprintf(sub, sizeof(sub), "%s.hours[%zu]", key, k);
        int rc = get_number(ctx, what, sub, json_array_get(xs, k), 0.0, 1e7, &t->x[k]);
        if (rc != ATTRIB_OK)
            return rc;
        if (k > 0 && !(t->x[k] > t->x[k - 1]))
            return attrib__error(ctx, ATTRIB_EPARSE,
                                 "%s: key \"%s\": value %.17g not above the previous hour", what,
                                 sub, t->x[k]);
        snprintf(sub, sizeof(sub), "%s.values[%zu]", key, k);
        rc = get_number(ctx, what, sub, json_array_get(ys, k), 0.0, 1.0, &t->y[k]);
        if (rc != ATTRIB_OK)
            return rc;
    }
    t->n = n;
    return ATTRIB_OK;
}

static int parse_holder(attrib_ctx *ctx, const char *what, json_t *obj, attrib_ihc_params *p)
{
    char sub[128];
    const char *key = "holder_function";
    if (!json_is_object(obj))
        return bad(ctx, what, key, "expected an object with \"grid\" and \"values\"");
    json_t *vals = json_object_get(obj, "values");
    double gn = 0;
    int rc = get_number(ctx, what, "holder_function.grid", json_object_get(obj, "grid"), 2,
                        ATTRIB_IHC_MAX_GRID, &gn);
    if (rc != ATTRIB_OK)
        return rc;
    size_t n = (size_t)gn;
    if ((double)n != gn)
        return bad(ctx, what, "holder_function.grid", "expected an integer");
    if (!json_is_array(vals) || json_array_size(vals) != n)
        return bad(ctx, what, "holder_function.values", "expected `grid` rows");
    for (size_t a = 0; a < n; a++) {
        json_t *row = json_array_get(vals, a);
        if (!json_is_array(row) || json_array_size(row) != n) {
            snprintf(sub, sizeof(sub), "holder_function.values[%zu]", a);
            return bad(ctx, what, sub, "expected `grid` numbers");
        }
        for (size_t b = 0; b < n; b++) {
            snprintf(sub, sizeof(sub), "holder_function.values[%zu][%zu]", a, b);
            rc = get_number(ctx, what, sub, json_array_get(row, b), 0.0, 10.0, &p->g[a * n + b]);
            if (rc != ATTRIB_OK)
                return rc;
        }
    }
    p->g_n = n;
    return ATTRIB_OK;
}

int attrib__ihc_params_parse(attrib_ctx *ctx, const char *text, size_t len, const char *what,
                             attrib_ihc_params **out)
{
    int rc = ATTRIB_OK;
    json_error_t err;
    json_t *root = NULL;
    attrib_ihc_params *p = NULL;
    char sub[300];
    *out = NULL;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        rc = attrib__error(ctx, ATTRIB_EPARSE, "%s: line %d column %d: %s", what, err.line,
                           err.column, err.text);
        goto done;
    }
    if (!json_is_object(root)) {
        rc = attrib__error(ctx, ATTRIB_EPARSE, "%s: expected a JSON object", what);
        goto done;
    }
    json_t *fmt = json_object_get(root, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "attrib-ihc-model/1") != 0) {
        rc = bad(ctx, what, "format", "expected \"attrib-ihc-model/1\"");
        goto done;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    json_t *name = json_object_get(root, "name");
    if (name != NULL &&
        (!json_is_string(name) || (p->name = strdup(json_string_value(name))) == NULL)) {
        rc = bad(ctx, what, "name", "expected a string");
        goto done;
    }
    json_t *pw = json_object_get(root, "phase_weights");
    if (!json_is_object(pw)) {
        rc = bad(ctx, what, "phase_weights", "expected an object {initializer, holder, closer}");
        goto done;
    }
    for (int k = 0; k < 3; k++) {
        snprintf(sub, sizeof(sub), "phase_weights.%s", phase_key[k]);
        rc = get_number(ctx, what, sub, json_object_get(pw, phase_key[k]), 1e-9, 1e3,
                        &p->phase_w[k]);
        if (rc != ATTRIB_OK)
            goto done;
    }
    rc = parse_table(ctx, what, "initializer_membership",
                     json_object_get(root, "initializer_membership"), &p->m_i);
    if (rc != ATTRIB_OK)
        goto done;
    rc = parse_table(ctx, what, "closer_membership", json_object_get(root, "closer_membership"),
                     &p->m_c);
    if (rc != ATTRIB_OK)
        goto done;
    rc = parse_holder(ctx, what, json_object_get(root, "holder_function"), p);
    if (rc != ATTRIB_OK)
        goto done;
    json_t *cw = json_object_get(root, "channel_weights");
    if (cw != NULL) {
        if (!json_is_object(cw)) {
            rc = bad(ctx, what, "channel_weights", "expected an object label → [wI, wH, wC]");
            goto done;
        }
        const char *label;
        json_t *v;
        json_object_foreach(cw, label, v)
        {
            double w[3];
            if (!json_is_array(v) || json_array_size(v) != 3) {
                snprintf(sub, sizeof(sub), "channel_weights.%s", label);
                rc = bad(ctx, what, sub, "expected [initializer, holder, closer] weights");
                goto done;
            }
            for (size_t k = 0; k < 3; k++) {
                snprintf(sub, sizeof(sub), "channel_weights.%s[%zu]", label, k);
                rc = get_number(ctx, what, sub, json_array_get(v, k), 1e-6, 1e3, &w[k]);
                if (rc != ATTRIB_OK)
                    goto done;
            }
            rc = attrib__ihc_params_set_channel(ctx, p, label, w);
            if (rc != ATTRIB_OK)
                goto done;
        }
    }
    *out = p;
    p = NULL;
done:
    attrib__ihc_params_free(p);
    json_decref(root);
    return rc;
}

int attrib__ihc_params_load(attrib_ctx *ctx, const char *path, attrib_ihc_params **out)
{
    int rc = ATTRIB_OK;
    attrib_buf b = ATTRIB_BUF_INIT(64u << 20);
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (f == NULL) {
        rc = attrib__error(ctx, errno == ENOENT ? ATTRIB_ENOTFOUND : ATTRIB_EIO,
                           "cannot open model file %s: %s", path, strerror(errno));
        goto done;
    }
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (attrib_buf_add(&b, chunk, got) != 0) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "model file %s: too large", path);
            goto done;
        }
    if (ferror(f)) {
        rc = attrib__error(ctx, ATTRIB_EIO, "cannot read model file %s", path);
        goto done;
    }
    rc = attrib__ihc_params_parse(ctx, b.data != NULL ? b.data : "", b.len, path, out);
done:
    if (f != NULL)
        fclose(f);
    attrib_buf_free(&b);
    return rc;
}

int attrib__ihc_params_builtin(attrib_ctx *ctx, const char *name, attrib_ihc_params **out)
{
    if (name == NULL || strcmp(name, "default") == 0)
        return attrib__ihc_params_parse(ctx, attrib__embed_default, attrib__embed_default_len,
                                        "builtin model default", out);
    if (strcmp(name, "base") == 0)
        return attrib__ihc_params_parse(ctx, attrib__embed_base, attrib__embed_base_len,
                                        "builtin model base", out);
    return attrib__error(ctx, ATTRIB_EINVAL, "unknown builtin IHC model \"%s\" (default, base)",
                         name);
}

/* ---- writing ---- */

static int add_num(attrib_buf *b, double x)
{
    char s[ATTRIB_NUMFMT_MAX];
    size_t n = attrib_numfmt(x, s);
    return attrib_buf_add(b, s, n);
}

static int add_str(attrib_buf *b, const char *s)
{
    json_t *j = json_string(s);
    char *enc = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    int rc = enc != NULL ? attrib_buf_adds(b, enc) : -1;
    free(enc);
    json_decref(j);
    return rc;
}

static int add_table(attrib_buf *b, const char *key, const attrib_ihc_table *t)
{
    int rc = attrib_buf_printf(b, "  \"%s\": {\n    \"hours\": [", key);
    for (size_t k = 0; k < t->n; k++) {
        rc |= k > 0 ? attrib_buf_adds(b, ", ") : 0;
        rc |= add_num(b, t->x[k]);
    }
    rc |= attrib_buf_adds(b, "],\n    \"values\": [");
    for (size_t k = 0; k < t->n; k++) {
        rc |= k > 0 ? attrib_buf_adds(b, ", ") : 0;
        rc |= add_num(b, t->y[k]);
    }
    rc |= attrib_buf_adds(b, "]\n  },\n");
    return rc;
}

int attrib__ihc_params_to_json(attrib_ctx *ctx, const attrib_ihc_params *p, char **out)
{
    attrib_buf b = ATTRIB_BUF_INIT(0);
    int rc = attrib_buf_adds(&b, "{\n  \"format\": \"attrib-ihc-model/1\",\n  \"name\": ");
    rc |= add_str(&b, p->name != NULL ? p->name : "");
    rc |= attrib_buf_adds(&b, ",\n  \"phase_weights\": {");
    for (int k = 0; k < 3; k++) {
        rc |= attrib_buf_printf(&b, "%s\"%s\": ", k > 0 ? ", " : "", phase_key[k]);
        rc |= add_num(&b, p->phase_w[k]);
    }
    rc |= attrib_buf_adds(&b, "},\n");
    rc |= add_table(&b, "initializer_membership", &p->m_i);
    rc |= add_table(&b, "closer_membership", &p->m_c);
    rc |= attrib_buf_printf(&b, "  \"holder_function\": {\n    \"grid\": %zu,\n    \"values\": [\n",
                            p->g_n);
    for (size_t a = 0; a < p->g_n; a++) {
        rc |= attrib_buf_adds(&b, "      [");
        for (size_t c = 0; c < p->g_n; c++) {
            rc |= c > 0 ? attrib_buf_adds(&b, ", ") : 0;
            rc |= add_num(&b, p->g[a * p->g_n + c]);
        }
        rc |= attrib_buf_adds(&b, a + 1 < p->g_n ? "],\n" : "]\n");
    }
    rc |= attrib_buf_adds(&b, "    ]\n  },\n  \"channel_weights\": {");
    for (size_t k = 0; k < p->n_channels; k++) {
        rc |= attrib_buf_adds(&b, k > 0 ? ",\n    " : "\n    ");
        rc |= add_str(&b, p->channels[k].name);
        rc |= attrib_buf_adds(&b, ": [");
        for (int q = 0; q < 3; q++) {
            rc |= q > 0 ? attrib_buf_adds(&b, ", ") : 0;
            rc |= add_num(&b, p->channels[k].w[q]);
        }
        rc |= attrib_buf_adds(&b, "]");
    }
    rc |= attrib_buf_adds(&b, p->n_channels > 0 ? "\n  }\n}\n" : "}\n}\n");
    if (rc != 0 || attrib_buf_failed(&b)) {
        attrib_buf_free(&b);
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory writing the model file");
    }
    *out = attrib_buf_take(&b);
    return ATTRIB_OK;
}

int attrib__ihc_params_save(attrib_ctx *ctx, const attrib_ihc_params *p, const char *path)
{
    char *text = NULL;
    int rc = attrib__ihc_params_to_json(ctx, p, &text);
    if (rc == ATTRIB_OK)
        rc = attrib__file_save(ctx, path, text, strlen(text));
    free(text);
    return rc;
}
