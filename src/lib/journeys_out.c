/*
 * `attrib journeys`: the selected journeys streamed as the IHC API's request
 * body ({"customer_journeys": [...]}), as JSON lines (one session object per
 * line), or as CSV with the same fields. Session objects have the API's
 * fields in the API's order; the conversion session carries conversion = 1.
 */
#include "attrib/pipeline.h"

#include "dataset.h"
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

static int session_csv(attrib_buf *b, const attrib_journey *j, size_t k, const attrib_channels *ch)
{
    const attrib_session *s = &j->sessions[k];
    char ts[20];
    attrib_datetime_format(s->ts, ts);
    const char *name = ch->names[s->channel];
    int rc = attrib_csv_field(b, j->conv_id, strlen(j->conv_id));
    rc |= attrib_buf_addc(b, ',');
    rc |= attrib_csv_field(b, s->id, strlen(s->id));
    rc |= attrib_buf_printf(b, ",%s,", ts);
    rc |= attrib_csv_field(b, name, strlen(name));
    rc |= attrib_buf_printf(b, ",%d,%d,%d,%d\r\n", s->holder, s->closer, k + 1 == j->n,
                            s->impression);
    return rc;
}

int attrib_journeys_write(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                          attrib_journeys_format format, attrib_write_fn write, void *payload,
                          attrib_summary *sum)
{
    attrib_clearerr(ctx);
    attrib__dataset ds = {0};
    attrib_buf b = ATTRIB_BUF_INIT(0);
    int rc = attrib_store_check(st, false);
    if (rc == ATTRIB_OK)
        rc = attrib__dataset_load(ctx, st, opts, false, NULL, NULL, &ds);
    if (rc != ATTRIB_OK)
        goto done;
    attrib_channels ch = attrib__dataset_channels(&ds);
    int brc = 0;
    if (format == ATTRIB_JOURNEYS_IHC_JSON)
        brc = attrib_buf_adds(&b, "{\"customer_journeys\": [");
    else if (format == ATTRIB_JOURNEYS_CSV)
        brc = attrib_buf_adds(&b, "conversion_id,session_id,timestamp,channel_label,"
                                  "holder_engagement,closer_engagement,conversion,"
                                  "impression_interaction\r\n");
    bool first = true;
    for (size_t j = 0; j < ds.n_journeys && brc == 0 && rc == ATTRIB_OK; j++) {
        const attrib_journey *jr = &ds.journeys[j];
        for (size_t k = 0; k < jr->n && brc == 0; k++) {
            if (format == ATTRIB_JOURNEYS_CSV) {
                brc = session_csv(&b, jr, k, &ch);
                continue;
            }
            if (format == ATTRIB_JOURNEYS_IHC_JSON)
                brc = attrib_buf_adds(&b, first ? "\n  " : ",\n  ");
            first = false;
            brc |= session_json(&b, jr, k, &ch);
            if (format == ATTRIB_JOURNEYS_JSONL)
                brc |= attrib_buf_addc(&b, '\n');
        }
        sum->journey_sessions += jr->n;
        if (b.len > (1u << 20) && brc == 0) {
            rc = write(b.data, b.len, payload);
            attrib_buf_reset(&b);
        }
    }
    if (format == ATTRIB_JOURNEYS_IHC_JSON && brc == 0)
        brc = attrib_buf_adds(&b, "\n]}\n");
    if (brc != 0 || attrib_buf_failed(&b)) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory writing journeys");
        goto done;
    }
    if (rc == ATTRIB_OK && b.len > 0)
        rc = write(b.data, b.len, payload);
    if (rc != ATTRIB_OK)
        goto done;
    sum->conversions_attributed += ds.n_journeys;
    sum->sessions_read += ds.sessions_read;
    sum->bad_rows_skipped += ds.bad_sessions + ds.bad_conversions;
    for (size_t i = 0; i < ds.n_convs; i++)
        sum->conversions_selected += ds.convs[i].selected;
    sum->n_unattributable = ds.n_unattributable;
done:
    attrib_buf_free(&b);
    attrib__dataset_free(&ds);
    return rc;
}
