/*
 * The report's exact reduction over an MPI job: see mpi_report.h.
 *
 * Channel names differ per rank, so the ranks first agree on one list (every
 * rank's names gathered, sorted, duplicates dropped: the same on every rank),
 * then on one list of (channel, day) keys the same way, and reduce one array
 * of cells over those keys with MPI_Allreduce and an operation of our own:
 * session counts add, overflow flags or, and each 128-bit sum adds as two
 * 64-bit halves with the carry (MPI's integer sum of the halves would drop it).
 * Exact and associative, so the job's sums are the single run's bit for bit.
 */
#include "mpi/mpi_report.h"

#include "mpi/mpi_gather.h"

#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A cell on the wire: sessions, overflow, then {hi, lo} of cost, ihc, revenue. */
enum { W_SESSIONS, W_OVERFLOW, W_COST, W_IHC = W_COST + 2, W_REV = W_IHC + 2, W_WORDS = W_REV + 2 };

/* What *all points into, until attrib_mpi_report_free. */
static struct {
    char *names;
    const char **channels;
    attrib_report_cell *cells;
} held;

static void add128(uint64_t *io, const uint64_t *in)
{
    uint64_t lo = io[1] + in[1];
    io[0] = io[0] + in[0] + (lo < io[1]); /* two's complement: the carry is all it takes */
    io[1] = lo;
}

static void add_cells(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const uint64_t *a = in;
    uint64_t *b = inout;
    for (int i = 0; i < *len; i++, a += W_WORDS, b += W_WORDS) {
        b[W_SESSIONS] += a[W_SESSIONS];
        b[W_OVERFLOW] |= a[W_OVERFLOW];
        add128(b + W_COST, a + W_COST);
        add128(b + W_IHC, a + W_IHC);
        add128(b + W_REV, a + W_REV);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The job's channel names: sorted, each once (held.names, held.channels). */
static bool agree_channels(const attrib_report_part *mine, size_t *n_out)
{
    size_t bytes = 0;
    for (size_t i = 0; i < mine->n_channels; i++)
        bytes += strlen(mine->channels[i]) + 1;
    char *buf = malloc(bytes > 0 ? bytes : 1);
    bool ok = buf != NULL && bytes <= INT32_MAX;
    for (size_t i = 0, at = 0; ok && i < mine->n_channels; i++) {
        size_t len = strlen(mine->channels[i]) + 1;
        memcpy(buf + at, mine->channels[i], len);
        at += len;
    }
    size_t total = 0;
    ok = attrib_mpi_agree(ok) && attrib_mpi_gather(buf, ok ? bytes : 0, &held.names, &total);
    free(buf);
    if (!ok)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < total; i++)
        n += held.names[i] == '\0';
    held.channels = malloc((n > 0 ? n : 1) * sizeof(*held.channels));
    if (!attrib_mpi_agree(held.channels != NULL))
        return false;
    for (size_t i = 0, at = 0; i < n; i++) {
        held.channels[i] = held.names + at;
        at += strlen(held.names + at) + 1;
    }
    qsort(held.channels, n, sizeof(*held.channels), cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(held.channels[u - 1], held.channels[i]) != 0)
            held.channels[u++] = held.channels[i];
    *n_out = u;
    return true;
}

/* The key of a cell: the job's channel index, then the day. */
static uint64_t key_of(uint32_t channel, int32_t day)
{
    return (uint64_t)channel << 32 | (uint32_t)day;
}

static void put128(uint64_t *w, attrib_sum128 s)
{
    w[0] = (uint64_t)s.hi;
    w[1] = s.lo;
}

static attrib_sum128 get128(const uint64_t *w)
{
    return (attrib_sum128){.hi = (int64_t)w[0], .lo = w[1]};
}

int attrib_mpi_report_reduce(bool ok, const attrib_report_part *mine, attrib_report_part *all)
{
    static const attrib_report_part none = {0};
    uint32_t *map = NULL;
    uint64_t *keys = NULL, *words = NULL;
    char *gathered = NULL;
    size_t n_ch = 0, n_keys = 0;
    MPI_Datatype type = MPI_DATATYPE_NULL;
    MPI_Op op = MPI_OP_NULL;
    attrib_mpi_report_free(all);
    if (!ok)
        mine = &none;
    /* Everyone got here fine, or nobody reduces. */
    ok = attrib_mpi_agree(ok) && agree_channels(mine, &n_ch);
    if (ok) {
        map = malloc((mine->n_channels > 0 ? mine->n_channels : 1) * sizeof(*map));
        keys = malloc((mine->n_cells > 0 ? mine->n_cells : 1) * sizeof(*keys));
        ok = map != NULL && keys != NULL && mine->n_cells <= INT32_MAX / sizeof(*keys);
        for (size_t i = 0; ok && i < mine->n_channels; i++) {
            const char **c =
                bsearch(&mine->channels[i], held.channels, n_ch, sizeof(*held.channels), cmp_str);
            map[i] = (uint32_t)(c - held.channels); /* every rank's names are in the list */
        }
        for (size_t i = 0; ok && i < mine->n_cells; i++)
            keys[i] = key_of(map[mine->cells[i].channel], mine->cells[i].day);
        size_t bytes = 0;
        ok = attrib_mpi_agree(ok) &&
             attrib_mpi_gather(keys, mine->n_cells * sizeof(*keys), &gathered, &bytes);
        n_keys = bytes / sizeof(uint64_t);
    }
    if (ok) {
        /* The job's keys: sorted, each once (the same on every rank). */
        uint64_t *k = (uint64_t *)(void *)gathered;
        qsort(k, n_keys, sizeof(*k), cmp_u64);
        size_t u = 0;
        for (size_t i = 0; i < n_keys; i++)
            if (u == 0 || k[u - 1] != k[i])
                k[u++] = k[i];
        n_keys = u;
        words = calloc(n_keys > 0 ? n_keys * W_WORDS : 1, sizeof(*words));
        held.cells = calloc(n_keys > 0 ? n_keys : 1, sizeof(*held.cells));
        ok = attrib_mpi_agree(words != NULL && held.cells != NULL && n_keys <= INT32_MAX);
    }
    if (ok) {
        const uint64_t *k = (const uint64_t *)(void *)gathered;
        for (size_t i = 0; i < mine->n_cells; i++) {
            const attrib_report_cell *c = &mine->cells[i];
            const uint64_t *at = bsearch(&keys[i], k, n_keys, sizeof(*k), cmp_u64);
            uint64_t *w = words + (size_t)(at - k) * W_WORDS;
            w[W_SESSIONS] = c->sessions;
            w[W_OVERFLOW] = c->overflow != 0;
            put128(w + W_COST, c->cost);
            put128(w + W_IHC, c->ihc);
            put128(w + W_REV, c->revenue);
        }
        ok = MPI_Type_contiguous(W_WORDS, MPI_UINT64_T, &type) == MPI_SUCCESS &&
             MPI_Type_commit(&type) == MPI_SUCCESS &&
             MPI_Op_create(add_cells, 1, &op) == MPI_SUCCESS &&
             MPI_Allreduce(MPI_IN_PLACE, words, (int)n_keys, type, op, MPI_COMM_WORLD) ==
                 MPI_SUCCESS;
    }
    if (ok) {
        const uint64_t *k = (const uint64_t *)(void *)gathered;
        for (size_t i = 0; i < n_keys; i++) {
            const uint64_t *w = words + i * W_WORDS;
            held.cells[i] = (attrib_report_cell){.channel = (uint32_t)(k[i] >> 32),
                                                 .day = (int32_t)(uint32_t)k[i],
                                                 .sessions = w[W_SESSIONS],
                                                 .overflow = w[W_OVERFLOW],
                                                 .cost = get128(w + W_COST),
                                                 .ihc = get128(w + W_IHC),
                                                 .revenue = get128(w + W_REV)};
        }
        *all = (attrib_report_part){
            .channels = held.channels, .n_channels = n_ch, .cells = held.cells, .n_cells = n_keys};
    }
    if (op != MPI_OP_NULL)
        MPI_Op_free(&op);
    if (type != MPI_DATATYPE_NULL)
        MPI_Type_free(&type);
    free(map);
    free(keys);
    free(words);
    free(gathered);
    if (!ok)
        attrib_mpi_report_free(all);
    return ok ? ATTRIB_OK : ATTRIB_ERROR;
}

void attrib_mpi_report_free(attrib_report_part *all)
{
    free(held.names);
    free(held.channels);
    free(held.cells);
    held.names = NULL;
    held.channels = NULL;
    held.cells = NULL;
    if (all != NULL)
        *all = (attrib_report_part){0};
}
