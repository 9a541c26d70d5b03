/*
 * The CSV report (SPEC §5): channel_reporting rows of the selected dates,
 * sorted by channel_name then date (byte order, the same on every store),
 * RFC 4180 quoting, shortest round-trip numbers, CPO = cost / ihc (empty when
 * ihc = 0), ROAS = ihc_revenue / cost (empty when cost = 0). Written to a
 * temp file beside the target and renamed over it, so a reader sees the old
 * file or the new one, never a part.
 */
#include "attrib/pipeline.h"

#include "lib/report/store.h"
#include "lib/store/rows.h"
#include "util/buf.h"
#include "util/csv.h"
#include "util/numfmt.h"
#include "util/ts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char *channel;
    char date[11];
    double cost, ihc, ihc_revenue;
} export_row;

typedef struct {
    attrib_ctx *ctx;
    export_row *rows;
    size_t n, cap;
} export_state;

static int on_row(const attrib_value *cols, void *payload)
{
    export_state *es = payload;
    const attrib_value *ch = &cols[ATTRIB_CR_CHANNEL], *d = &cols[ATTRIB_CR_DATE];
    char row[128];
    snprintf(row, sizeof(row), "(channel_name '%.40s', date '%.12s')",
             ch->type == ATTRIB_V_TEXT ? ch->s : "?", d->type == ATTRIB_V_TEXT ? d->s : "?");
    int32_t day;
    if (ch->type != ATTRIB_V_TEXT || d->type != ATTRIB_V_TEXT ||
        attrib_date_parse(d->s, d->len, &day) != 0)
        return attrib__error(es->ctx, ATTRIB_EDATA,
                             "channel_reporting row %s: bad channel_name or date; rerun "
                             "`attrib report` to rebuild the table",
                             row);
    export_row r = {0};
    int rc =
        attrib__number(es->ctx, &cols[ATTRIB_CR_COST], &r.cost, "channel_reporting", "cost", row);
    if (rc == ATTRIB_OK)
        rc = attrib__number(es->ctx, &cols[ATTRIB_CR_IHC], &r.ihc, "channel_reporting", "ihc", row);
    if (rc == ATTRIB_OK)
        rc = attrib__number(es->ctx, &cols[ATTRIB_CR_IHC_REVENUE], &r.ihc_revenue,
                            "channel_reporting", "ihc_revenue", row);
    if (rc != ATTRIB_OK)
        return rc;
    if (es->n == es->cap) {
        size_t cap = es->cap != 0 ? es->cap * 2 : 256;
        export_row *p = realloc(es->rows, cap * sizeof(*p));
        if (p == NULL)
            return attrib__error(es->ctx, ATTRIB_ENOMEM, "out of memory reading the report");
        es->rows = p;
        es->cap = cap;
    }
    r.channel = strndup(ch->s, ch->len);
    if (r.channel == NULL)
        return attrib__error(es->ctx, ATTRIB_ENOMEM, "out of memory reading the report");
    memcpy(r.date, d->s, 10);
    es->rows[es->n++] = r;
    return ATTRIB_OK;
}

static int cmp_row(const void *x, const void *y)
{
    const export_row *a = x, *b = y;
    int c = strcmp(a->channel, b->channel);
    return c != 0 ? c : strcmp(a->date, b->date);
}

static int add_num(attrib_buf *b, double x)
{
    char num[ATTRIB_NUMFMT_MAX];
    size_t n = attrib_numfmt(x, num);
    return attrib_buf_add(b, num, n);
}

/* The whole file in memory: a report has one row per channel and day. */
static int render(const export_state *es, attrib_buf *b)
{
    int rc = attrib_buf_adds(b, "channel_name,date,cost,ihc,ihc_revenue,CPO,ROAS\r\n");
    for (size_t i = 0; i < es->n && rc == 0; i++) {
        const export_row *r = &es->rows[i];
        rc |= attrib_csv_field(b, r->channel, strlen(r->channel));
        rc |= attrib_buf_printf(b, ",%s,", r->date);
        rc |= add_num(b, r->cost);
        rc |= attrib_buf_addc(b, ',');
        rc |= add_num(b, r->ihc);
        rc |= attrib_buf_addc(b, ',');
        rc |= add_num(b, r->ihc_revenue);
        rc |= attrib_buf_addc(b, ',');
        if (r->ihc != 0)
            rc |= add_num(b, r->cost / r->ihc);
        rc |= attrib_buf_addc(b, ',');
        if (r->cost != 0)
            rc |= add_num(b, r->ihc_revenue / r->cost);
        rc |= attrib_buf_adds(b, "\r\n");
    }
    return rc;
}

/*
 * Create a fresh temp file beside path, as open(2) with O_CREAT|O_EXCL and
 * mode 0666 would: the kernel applies the umask, so the report gets the
 * permissions a plain fopen would give without reading the umask (umask(2)
 * changes process state and races with other threads). The name is in tmp.
 */
static int open_temp(const char *path, attrib_buf *tmp)
{
    static atomic_uint seq;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (int attempt = 0; attempt < 100; attempt++) {
        attrib_buf_reset(tmp);
        unsigned n = atomic_fetch_add(&seq, 1);
        if (attrib_buf_printf(tmp, "%s.tmp.%ld.%u.%lx", path, (long)getpid(), n,
                              (unsigned long)now.tv_nsec) != 0) {
            errno = ENOMEM;
            return -1;
        }
        int fd = open(tmp->data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1; /* errno is EEXIST */
}

/* Write data to path through a temp file in the same directory + rename. */
static int write_atomic(attrib_ctx *ctx, const char *path, const char *data, size_t len)
{
    int rc = ATTRIB_OK;
    int fd = -1;
    attrib_buf tmp = ATTRIB_BUF_INIT(0);
    fd = open_temp(path, &tmp);
    if (fd < 0) {
        rc = errno == ENOMEM ? attrib__error(ctx, ATTRIB_ENOMEM, "out of memory")
                             : attrib__error(ctx, ATTRIB_EIO,
                                             "cannot write %s: %s; check the directory exists "
                                             "and is writable",
                                             path, strerror(errno));
        attrib_buf_reset(&tmp); /* nothing to remove */
        goto done;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = attrib__error(ctx, ATTRIB_EIO, "cannot write %s: %s", path, strerror(errno));
            goto done;
        }
        off += (size_t)w;
    }
    /* Replacing a file keeps its permissions, as a plain fopen would. */
    struct stat old;
    if ((stat(path, &old) == 0 && fchmod(fd, old.st_mode & 07777) != 0) || fsync(fd) != 0) {
        rc = attrib__error(ctx, ATTRIB_EIO, "cannot write %s: %s", path, strerror(errno));
        goto done;
    }
    int cfd = fd;
    fd = -1;
    if (close(cfd) != 0) {
        rc = attrib__error(ctx, ATTRIB_EIO, "cannot write %s: %s", path, strerror(errno));
        goto done;
    }
    if (rename(tmp.data, path) != 0) {
        rc = attrib__error(ctx, ATTRIB_EIO, "cannot replace %s: %s", path, strerror(errno));
        goto done;
    }
done:
    if (fd >= 0)
        close(fd);
    if (rc != ATTRIB_OK && tmp.data != NULL && tmp.data[0] != '\0')
        unlink(tmp.data);
    attrib_buf_free(&tmp);
    return rc;
}

int attrib_export_csv(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                      const char *path, attrib_summary *sum)
{
    attrib__enter(ctx);
    export_state es = {.ctx = ctx};
    attrib_buf out = ATTRIB_BUF_INIT(0);
    attrib_scan sel = {.start_date = opts->start_date, .end_date = opts->end_date};
    int rc = attrib_store_check(st, true);
    if (rc == ATTRIB_OK)
        rc = attrib__report_scan(st, &sel, on_row, &es);
    if (rc != ATTRIB_OK)
        goto done;
    if (es.n > 1)
        qsort(es.rows, es.n, sizeof(*es.rows), cmp_row);
    if (render(&es, &out) != 0 || attrib_buf_failed(&out)) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory rendering the report");
        goto done;
    }
    rc = write_atomic(ctx, path, attrib_buf_cstr(&out), out.len);
    if (rc == ATTRIB_OK)
        sum->csv_rows += es.n;
done:
    for (size_t i = 0; i < es.n; i++)
        free(es.rows[i].channel);
    free(es.rows);
    attrib_buf_free(&out);
    return attrib__leave(ctx, rc);
}
