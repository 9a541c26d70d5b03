/* The readahead VFS: see sqlite_readahead.h. */
#include "lib/store/readahead.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RA_CHUNK ((sqlite3_int64)4 << 20) /* readahead unit */
#define RA_AHEAD 8                        /* chunks kept requested ahead of a stream */
#define RA_CONFIRM 16                     /* forward reads before a stream is trusted */
#define RA_STREAMS 4                      /* a merge reads two tables at once */
#define RA_DENSITY 8                      /* read ahead where >= 1/8 of the pages are read */
#define RA_NODES 8                        /* interior pages whose children are watched at once */
#define RA_CONFIRM_KIDS 3 /* children read one after another before a node counts as scanned */
#define RA_LOOK 8         /* how far past the expected child a read still counts as in order */

/* A run of reads moving forward. */
typedef struct {
    sqlite3_int64 first; /* where its density window starts */
    sqlite3_int64 last;  /* offset of its last read; -1 when unused */
    sqlite3_int64 bytes; /* read since `first` */
    sqlite3_int64 ahead; /* first chunk not requested yet */
    unsigned hits;
    unsigned age;
} ra_stream;

/* An interior B-tree page read lately, and its children in key order. */
typedef struct {
    uint32_t pgno; /* 0: unused */
    uint32_t n;    /* children in kid[] */
    uint32_t next; /* the child a scan would read next */
    uint32_t run;  /* children read one after another, up to `next` */
    bool scanned;  /* its children from `next` on were requested */
    unsigned age;
    uint32_t *kid;
} ra_node;

typedef struct {
    sqlite3_file base;  /* pMethods = &ra_methods */
    sqlite3_file *real; /* the default VFS's file, right after this struct */
    int fd;             /* our own descriptor for fadvise; -1 for other files */
    unsigned clock;
    ra_stream stream[RA_STREAMS];
    int page_size;  /* of the first whole page read; 0 before */
    uint32_t *kids; /* RA_NODES + 1 arrays of `cap` page numbers (the last: scratch) */
    uint32_t cap;
    ra_node node[RA_NODES];
    attrib__ra_stats stats;
} ra_file;

static sqlite3_vfs ra_vfs;
static sqlite3_io_methods ra_methods;
static pthread_once_t ra_once = PTHREAD_ONCE_INIT;
static bool ra_ok;

/*
 * Note a read of `amt` bytes at `off`. A read within RA_CHUNK after a stream's
 * last one extends it; otherwise it starts a stream in place of the oldest.
 * A stream earns readahead after RA_CONFIRM reads over at least two chunks,
 * and only while it is dense: at least 1 byte in RA_DENSITY of that span is
 * read. Reading ahead
 * on a sparse stream (a small table whose pages are spread over the whole
 * file) would pull the whole file for a few megabytes of rows.
 */
static void ra_note(ra_file *f, sqlite3_int64 off, int amt)
{
    ra_stream *s = NULL, *oldest = &f->stream[0];
    f->clock++;
    for (int i = 0; i < RA_STREAMS; i++) {
        ra_stream *t = &f->stream[i];
        if (t->last >= 0 && off >= t->last && off - t->last <= RA_CHUNK) {
            s = t;
            break;
        }
        if (t->age < oldest->age)
            oldest = t;
    }
    if (s == NULL) {
        *oldest = (ra_stream){.first = off, .last = off, .bytes = amt, .age = f->clock};
        return;
    }
    s->last = off;
    s->age = f->clock;
    s->bytes += amt;
    if (off - s->first > 4 * RA_CHUNK) { /* forget the distant past by halves */
        s->first += (off - s->first) / 2;
        s->bytes /= 2;
    }
    sqlite3_int64 span = off + amt - s->first;
    if (++s->hits < RA_CONFIRM || span < 2 * RA_CHUNK || s->bytes * RA_DENSITY < span)
        return;
    sqlite3_int64 c = off / RA_CHUNK;
    if (s->ahead < c)
        s->ahead = c;
    for (; s->ahead <= c + RA_AHEAD; s->ahead++)
        (void)posix_fadvise(f->fd, (off_t)(s->ahead * RA_CHUNK), (off_t)RA_CHUNK,
                            POSIX_FADV_WILLNEED); /* advice only: failure changes nothing */
}

static uint32_t be16(const unsigned char *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Ask the kernel for the children of `nd` from `next` on, in file order, runs
 * of neighbouring pages in one call. */
static void ra_request(ra_file *f, ra_node *nd)
{
    uint32_t *v = f->kids + (size_t)RA_NODES * f->cap, n = nd->n - nd->next;
    memcpy(v, nd->kid + nd->next, n * sizeof(*v));
    qsort(v, n, sizeof(*v), cmp_u32);
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1;
        while (j < n && v[j] <= v[j - 1] + 1)
            j++;
        off_t from = (off_t)(v[i] - 1) * f->page_size;
        off_t len = (off_t)(v[j - 1] - v[i] + 1) * f->page_size;
        (void)posix_fadvise(f->fd, from, len, POSIX_FADV_WILLNEED); /* advice only */
        f->stats.calls++;
        f->stats.pages += v[j - 1] - v[i] + 1;
        i = j;
    }
    nd->scanned = true;
}

/* Watch the interior page `pgno` (its bytes in `p`): its children, in key
 * order, are the left child of each cell and then the right-most pointer.
 * Anything that does not parse as such a page is left alone. */
static void ra_watch(ra_file *f, uint32_t pgno, const unsigned char *p, bool scanned)
{
    uint32_t hdr = pgno == 1 ? 100 : 0, size = (uint32_t)f->page_size;
    if (p[hdr] != 0x02 && p[hdr] != 0x05) /* interior index / table page */
        return;
    uint32_t ncell = be16(p + hdr + 3), start = hdr + 12 + 2 * ncell;
    if (start > size || ncell + 1 > f->cap)
        return;
    uint32_t *v = f->kids + (size_t)RA_NODES * f->cap; /* scratch */
    for (uint32_t i = 0; i < ncell; i++) {
        uint32_t at = be16(p + hdr + 12 + 2 * i);
        if (at < start || at + 4 > size || (v[i] = be32(p + at)) < 2)
            return; /* not what it seemed */
    }
    if ((v[ncell] = be32(p + hdr + 8)) < 2)
        return;
    ra_node *nd = &f->node[0];
    for (int i = 0; i < RA_NODES; i++) { /* the same page again, or the oldest */
        if (f->node[i].pgno == pgno) {
            nd = &f->node[i];
            break;
        }
        if (f->node[i].age < nd->age)
            nd = &f->node[i];
    }
    uint32_t *kid = nd->kid;
    memcpy(kid, v, (ncell + 1) * sizeof(*kid));
    *nd = (ra_node){.pgno = pgno, .n = ncell + 1, .age = f->clock, .kid = kid};
    if (scanned)
        ra_request(f, nd);
}

/*
 * Note that page `pgno` was read (bytes in `p`). A full scan of a B-tree reads
 * the children of each interior page in key order, and where the tree was
 * written over pages taken from the free list (a table deleted and written
 * again), those children lie anywhere in the file: no stream forms, and each
 * leaf is a read of its own once the file is out of memory. So the children of
 * interior pages read lately are watched: once RA_CONFIRM_KIDS of them were read
 * one after another, the rest are requested at once, sorted by place in the
 * file; and an interior page that is the child of such a scanned page has its
 * children requested as soon as it is read. Lookups read one child of a page,
 * not several in a row, and get nothing.
 */
static void ra_note_page(ra_file *f, uint32_t pgno, const unsigned char *p)
{
    bool in_scan = false;
    for (int i = 0; i < RA_NODES; i++) {
        ra_node *nd = &f->node[i];
        if (nd->pgno == 0 || nd->next >= nd->n)
            continue;
        uint32_t end = nd->next + RA_LOOK < nd->n ? nd->next + RA_LOOK : nd->n, k = nd->next;
        while (k < end && nd->kid[k] != pgno)
            k++;
        if (k == end)
            continue;
        nd->run = k == nd->next ? nd->run + 1 : 1;
        nd->next = k + 1;
        nd->age = f->clock;
        if (nd->scanned)
            in_scan = true;
        else if (nd->run >= RA_CONFIRM_KIDS && nd->next < nd->n)
            ra_request(f, nd);
    }
    ra_watch(f, pgno, p, in_scan);
}

static int ra_read(sqlite3_file *pf, void *buf, int amt, sqlite3_int64 off)
{
    ra_file *f = (ra_file *)pf;
    if (f->fd >= 0)
        ra_note(f, off, amt);
    int rc = f->real->pMethods->xRead(f->real, buf, amt, off);
    if (rc != SQLITE_OK || f->fd < 0 || amt < 512 || amt > 65536 || (amt & (amt - 1)) != 0 ||
        off % amt != 0 || off / amt >= UINT32_MAX)
        return rc;                                  /* not a whole page */
    if (f->page_size == 0) {                        /* the first page read fixes the size */
        uint32_t cap = (uint32_t)(amt - 8) / 2 + 1; /* > the most cells a page holds */
        f->kids = malloc(sizeof(*f->kids) * cap * (RA_NODES + 1));
        if (f->kids == NULL)
            return rc; /* no scan readahead, still correct; tried again next read */
        f->page_size = amt;
        f->cap = cap;
        for (int i = 0; i < RA_NODES; i++)
            f->node[i].kid = f->kids + (size_t)i * cap;
    }
    if (amt == f->page_size)
        ra_note_page(f, (uint32_t)(off / amt) + 1, buf);
    return rc;
}

static int ra_close(sqlite3_file *pf)
{
    ra_file *f = (ra_file *)pf;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    free(f->kids);
    f->kids = NULL;
    return f->real->pMethods->xClose(f->real);
}

/* Everything else goes straight to the real file. */
#define REAL(pf) (((ra_file *)(pf))->real)
static int ra_write(sqlite3_file *pf, const void *b, int n, sqlite3_int64 o)
{
    return REAL(pf)->pMethods->xWrite(REAL(pf), b, n, o);
}
static int ra_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
    return REAL(pf)->pMethods->xTruncate(REAL(pf), size);
}
static int ra_sync(sqlite3_file *pf, int flags)
{
    return REAL(pf)->pMethods->xSync(REAL(pf), flags);
}
static int ra_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
    return REAL(pf)->pMethods->xFileSize(REAL(pf), size);
}
static int ra_lock(sqlite3_file *pf, int lock)
{
    return REAL(pf)->pMethods->xLock(REAL(pf), lock);
}
static int ra_unlock(sqlite3_file *pf, int lock)
{
    return REAL(pf)->pMethods->xUnlock(REAL(pf), lock);
}
static int ra_check_reserved(sqlite3_file *pf, int *out)
{
    return REAL(pf)->pMethods->xCheckReservedLock(REAL(pf), out);
}
static int ra_file_control(sqlite3_file *pf, int op, void *arg)
{
    if (op == ATTRIB__FCNTL_RA_STATS) {
        *(attrib__ra_stats *)arg = ((ra_file *)pf)->stats;
        return SQLITE_OK;
    }
    return REAL(pf)->pMethods->xFileControl(REAL(pf), op, arg);
}
static int ra_sector_size(sqlite3_file *pf)
{
    return REAL(pf)->pMethods->xSectorSize(REAL(pf));
}
static int ra_device(sqlite3_file *pf)
{
    return REAL(pf)->pMethods->xDeviceCharacteristics(REAL(pf));
}
static int ra_shm_map(sqlite3_file *pf, int pg, int sz, int extend, void volatile **pp)
{
    return REAL(pf)->pMethods->xShmMap(REAL(pf), pg, sz, extend, pp);
}
static int ra_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
    return REAL(pf)->pMethods->xShmLock(REAL(pf), offset, n, flags);
}
static void ra_shm_barrier(sqlite3_file *pf)
{
    REAL(pf)->pMethods->xShmBarrier(REAL(pf));
}
static int ra_shm_unmap(sqlite3_file *pf, int del)
{
    return REAL(pf)->pMethods->xShmUnmap(REAL(pf), del);
}

static int ra_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out_flags)
{
    sqlite3_vfs *base = vfs->pAppData;
    ra_file *f = (ra_file *)pf;
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    f->real = (sqlite3_file *)(f + 1);
    int rc = base->xOpen(base, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK)
        return rc; /* pMethods stays NULL: SQLite does not close it */
    for (int i = 0; i < RA_STREAMS; i++)
        f->stream[i].last = -1;
    if ((flags & SQLITE_OPEN_MAIN_DB) && name != NULL)
        f->fd = open(name, O_RDONLY | O_CLOEXEC); /* -1: no readahead, still correct */
    f->base.pMethods = &ra_methods;
    return SQLITE_OK;
}

static void ra_register(void)
{
    sqlite3_vfs *base = sqlite3_vfs_find(NULL);
    if (base == NULL || base->pNext == &ra_vfs)
        return;
    ra_vfs = *base;
    ra_vfs.pNext = NULL;
    ra_vfs.zName = "attrib-readahead";
    ra_vfs.pAppData = base;
    ra_vfs.szOsFile = (int)sizeof(ra_file) + base->szOsFile;
    ra_vfs.xOpen = ra_open;
    ra_methods = (sqlite3_io_methods){
        .iVersion = 2, /* no xFetch/xUnfetch: reads go through xRead */
        .xClose = ra_close,
        .xRead = ra_read,
        .xWrite = ra_write,
        .xTruncate = ra_truncate,
        .xSync = ra_sync,
        .xFileSize = ra_file_size,
        .xLock = ra_lock,
        .xUnlock = ra_unlock,
        .xCheckReservedLock = ra_check_reserved,
        .xFileControl = ra_file_control,
        .xSectorSize = ra_sector_size,
        .xDeviceCharacteristics = ra_device,
        .xShmMap = ra_shm_map,
        .xShmLock = ra_shm_lock,
        .xShmBarrier = ra_shm_barrier,
        .xShmUnmap = ra_shm_unmap,
    };
    ra_ok = sqlite3_vfs_register(&ra_vfs, 0) == SQLITE_OK;
}

const char *attrib__sqlite_readahead_vfs(void)
{
    if (pthread_once(&ra_once, ra_register) != 0 || !ra_ok)
        return NULL;
    return ra_vfs.zName;
}
