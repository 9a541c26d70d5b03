/*
 * `attrib journeys`: the selected journeys as the IHC API's request body
 * (written by the API codec, so it is byte for byte what the client sends),
 * as JSON lines (one session object per line) or as CSV with the same fields.
 * The conversion session carries conversion = 1.
 */
#include "attrib/pipeline.h"

#include "attrib/ihc_json.h"
#include "lib/journey/dataset.h"
#include "util/buf.h"
#include "util/csv.h"
#include "util/ts.h"

#include <jansson.h>
#include <string.h>

static int session_json(attrib_buf *b, const attrib_journey *j, size_t k, const attrib_channels *ch)
{
    const attrib_session *s = &j->sessions[k];
    char ts[20];
    attrib_datetime_format(s->ts, ts);
    json_t *o = json_object();
    if (o == NULL)
        return -1;
    json_object_set_new(o, "conversion_id", json_string(j->conv_id));
    json_object_set_new(o, "session_id", json_string(s->id));
    json_object_set_new(o, "timestamp", json_string(ts));
    json_object_set_new(o, "channel_label", json_string(ch->names[s->channel]));
    json_object_set_new(o, "holder_engagement", json_integer(s->holder));
    json_object_set_new(o, "closer_engagement", json_integer(s->closer));
    json_object_set_new(o, "conversion", json_integer(k + 1 == j->n));
    json_object_set_new(o, "impression_interaction", json_integer(s->impression));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(o);
    if (text == NULL)
        return -1;
    int rc = attrib_buf_adds(b, text);
    free(text);
    return rc;
}

static int session_csv(attrib_buf *b, const attrib_journey *j, size_t k, const attrib_channels *ch,
                       bool neutralise)
{
    const attrib_session *s = &j->sessions[k];
    char ts[20];
    attrib_datetime_format(s->ts, ts);
    const char *name = ch->names[s->channel];
    int rc = attrib_csv_text(b, j->conv_id, strlen(j->conv_id), neutralise);
    rc |= attrib_buf_addc(b, ',');
    rc |= attrib_csv_text(b, s->id, strlen(s->id), neutralise);
    rc |= attrib_buf_printf(b, ",%s,", ts);
    rc |= attrib_csv_text(b, name, strlen(name), neutralise);
    rc |= attrib_buf_printf(b, ",%d,%d,%d,%d\r\n", s->holder, s->closer, k + 1 == j->n,
                            s->impression);
    return rc;
}

/* The whole selection as one request body (the codec writes it whole). */
static int write_request(attrib_ctx *ctx, const attrib__dataset *ds, const attrib_channels *ch,
                         attrib_write_fn write, void *payload)
{
    const attrib_journey **js = malloc((ds->n_journeys + 1) * sizeof(*js));
    char *body = NULL;
    size_t len = 0;
    int rc = ATTRIB_OK;
    if (js == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory writing journeys");
        goto done;
    }
    for (size_t j = 0; j < ds->n_journeys; j++)
        js[j] = &ds->journeys[j];
    rc = attrib_ihc_request_write(ctx, js, ds->n_journeys, ch, NULL, &body, &len);
    if (rc == ATTRIB_OK)
        rc = write(body, len, payload);
    if (rc == ATTRIB_OK)
        rc = write("\n", 1, payload);
done:
    free(body);
    free(js);
    return rc;
}

int attrib_journeys_write(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                          attrib_journeys_format format, attrib_write_fn write, void *payload,
                          attrib_summary *sum)
{
    attrib__enter(ctx);
    attrib__dataset ds = {0};
    attrib_buf b = ATTRIB_BUF_INIT(0);
    int rc = attrib_store_check(st, false);
    if (rc == ATTRIB_OK)
        rc = attrib__dataset_load(ctx, st, opts, false, &ds);
    if (rc != ATTRIB_OK)
        goto done;
    attrib_channels ch = attrib__dataset_channels(&ds);
    if (format == ATTRIB_JOURNEYS_IHC_JSON) {
        rc = write_request(ctx, &ds, &ch, write, payload);
        if (rc != ATTRIB_OK)
            goto done;
    }
    int brc = 0;
    if (format == ATTRIB_JOURNEYS_CSV)
        brc = attrib_buf_adds(&b, "conversion_id,session_id,timestamp,channel_label,"
                                  "holder_engagement,closer_engagement,conversion,"
                                  "impression_interaction\r\n");
    for (size_t j = 0;
         format != ATTRIB_JOURNEYS_IHC_JSON && j < ds.n_journeys && brc == 0 && rc == ATTRIB_OK;
         j++) {
        const attrib_journey *jr = &ds.journeys[j];
        for (size_t k = 0; k < jr->n && brc == 0; k++) {
            if (format == ATTRIB_JOURNEYS_CSV) {
                brc = session_csv(&b, jr, k, &ch, !opts->csv_raw);
            } else {
                brc = session_json(&b, jr, k, &ch);
                brc |= attrib_buf_addc(&b, '\n');
            }
        }
        if (b.len > (1u << 20) && brc == 0) {
            rc = write(b.data, b.len, payload);
            attrib_buf_reset(&b);
        }
    }
    if (brc != 0 || attrib_buf_failed(&b)) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory writing journeys");
        goto done;
    }
    if (rc == ATTRIB_OK && b.len > 0)
        rc = write(b.data, b.len, payload);
    if (rc != ATTRIB_OK)
        goto done;
    rc = attrib__dataset_summarize(ctx, &ds, sum);
done:
    attrib_buf_free(&b);
    attrib__dataset_free(&ds);
    return attrib__leave(ctx, rc);
}
