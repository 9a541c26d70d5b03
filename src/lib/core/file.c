/*
 * The atomic file writer (include/attrib/file.h). What a path is decides how
 * it is written: a regular file (or a new path) through a temp file beside
 * it, fsync and rename(2), so the old content survives any failure (the
 * temp file is unnamed, O_TMPFILE, until it is complete: a process killed
 * while writing leaves no file behind; named from the start where the file
 * system has no O_TMPFILE); a
 * character device or FIFO opened and written as it is (renaming over
 * /dev/null would replace the device with a regular file); "-" is standard
 * output; anything else is refused before a byte is written.
 */
#include "lib/core/file.h"

#include "lib/core/ctx.h"
#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct attrib_file {
    attrib_ctx *ctx;
    char *name;   /* as given, for messages ("standard output" for "-") */
    char *target; /* the file renamed over (a link's target), NULL when written through */
    char *tmp;    /* the temp file, NULL when written through or unnamed */
    bool unnamed; /* fd is an O_TMPFILE, named only at commit */
    int fd;       /* -1 once closed */
    bool is_stdout;
    bool failed; /* a write failed: commit must not rename */
};

static const char *type_name(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/*
 * Classify path: *through is set for "-", character devices and FIFOs;
 * otherwise *target gets the file to replace (path itself, or where a
 * symbolic link chain ends). Refuses the other types and a missing
 * directory.
 */
static int classify(attrib_ctx *ctx, const char *path, bool *through, char **target)
{
    *through = false;
    if (target != NULL)
        *target = NULL;
    if (path == NULL || path[0] == '\0')
        return attrib__error(ctx, ATTRIB_EINVAL,
                             "empty output path; name a file, or - for standard output");
    if (strcmp(path, "-") == 0) {
        *through = true;
        return ATTRIB_OK;
    }
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode)) {
            *through = true;
            return ATTRIB_OK;
        }
        if (!S_ISREG(sb.st_mode))
            return attrib__error(ctx, ATTRIB_EINVAL,
                                 "cannot write %s: it is %s; name a regular file, a character "
                                 "device, a FIFO or - for standard output",
                                 path, type_name(sb.st_mode));
        if (target != NULL) {
            *target = realpath(path, NULL); /* a link keeps being a link */
            if (*target == NULL)
                return attrib__error(ctx, errno == ENOMEM ? ATTRIB_ENOMEM : ATTRIB_EIO,
                                     "cannot write %s: %s", path, strerror(errno));
        }
        return ATTRIB_OK;
    }
    if (errno != ENOENT)
        return attrib__error(ctx, ATTRIB_EIO, "cannot write %s: %s", path, strerror(errno));
    struct stat lsb;
    if (lstat(path, &lsb) == 0) /* a dangling link: where would it point? */
        return attrib__error(ctx, ATTRIB_EINVAL,
                             "cannot write %s: it is a symbolic link to nothing; remove it or "
                             "name another file",
                             path);
    char *copy = strdup(path);
    if (copy == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    const char *dir = dirname(copy);
    int rc = ATTRIB_OK;
    if (stat(dir, &sb) != 0)
        rc = attrib__error(ctx, errno == ENOENT ? ATTRIB_ENOTFOUND : ATTRIB_EIO,
                           "cannot write %s: directory %s: %s; create it first", path, dir,
                           strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        rc = attrib__error(ctx, ATTRIB_ENOTFOUND, "cannot write %s: %s is not a directory", path,
                           dir);
    if (rc == ATTRIB_OK && target != NULL) {
        *target = strdup(path);
        if (*target == NULL)
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    }
    free(copy);
    return rc;
}

/*
 * Make a fresh name beside target (target.tmp.PID.N.NSEC) and call create on
 * it, again with the next name while create fails with EEXIST. On success
 * (create returned 0) *out is the name, malloc'ed; else -1 with errno set.
 */
static int temp_name(const char *target, int (*create)(const char *path, void *arg), void *arg,
                     char **out)
{
    static atomic_uint seq;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    attrib_buf tmp = ATTRIB_BUF_INIT(0);
    int rc = -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        attrib_buf_reset(&tmp);
        unsigned n = atomic_fetch_add(&seq, 1);
        if (attrib_buf_printf(&tmp, "%s.tmp.%ld.%u.%lx", target, (long)getpid(), n,
                              (unsigned long)now.tv_nsec) != 0) {
            errno = ENOMEM;
            break;
        }
        rc = create(tmp.data, arg);
        if (rc == 0 || errno != EEXIST)
            break;
    }
    int e = errno;
    if (rc == 0 && (*out = attrib_buf_take(&tmp)) == NULL) {
        e = ENOMEM;
        rc = -1;
    }
    attrib_buf_free(&tmp);
    errno = e;
    return rc;
}

/* As open(2) with O_CREAT|O_EXCL and mode 0666 would: the kernel applies the
 * umask, so the file gets the permissions a plain fopen would give without
 * reading the umask (umask(2) changes process state and races with threads). */
static int create_file(const char *path, void *arg)
{
    int *fd = arg;
    *fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    return *fd >= 0 ? 0 : -1;
}

/* A fresh named temp file beside target: its descriptor, *out its name; -1 (errno). */
static int open_temp(const char *target, char **out)
{
    int fd = -1;
    if (temp_name(target, create_file, &fd, out) != 0 && fd >= 0) {
        int e = errno; /* created, but its name could not be kept */
        close(fd);
        errno = e;
        fd = -1;
    }
    return fd;
}

/* An unnamed file in target's directory (O_TMPFILE), or -1 (errno set) when the
 * file system cannot make one or /proc, which names it at commit, is missing. */
static int open_unnamed(const char *target)
{
#ifdef O_TMPFILE
    if (access("/proc/self/fd", X_OK) != 0)
        return -1;
    char *copy = strdup(target);
    if (copy == NULL) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(dirname(copy), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    int e = errno;
    free(copy);
    errno = e;
    return fd;
#else
    (void)target;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

/* Link the unnamed file whose /proc path is arg to path. */
static int link_unnamed(const char *path, void *arg)
{
    return linkat(AT_FDCWD, arg, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

/* Give the complete unnamed file f->fd a temp name beside the target (set in
 * f->tmp), to rename over it; -1 with errno on failure. */
static int name_unnamed(attrib_file *f)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
    return temp_name(f->target, link_unnamed, proc, &f->tmp);
}

int attrib__file_check(attrib_ctx *ctx, const char *path)
{
    bool through;
    return classify(ctx, path, &through, NULL);
}

static void file_free(attrib_file *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0 && !f->is_stdout)
        close(f->fd);
    if (f->tmp != NULL)
        unlink(f->tmp);
    free(f->tmp);
    free(f->target);
    free(f->name);
    free(f);
}

int attrib__file_open(attrib_ctx *ctx, const char *path, attrib_file **out)
{
    attrib_file *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    f->ctx = ctx;
    f->fd = -1;
    bool through = false;
    int rc = classify(ctx, path, &through, &f->target);
    if (rc != ATTRIB_OK)
        goto done;
    f->is_stdout = strcmp(path, "-") == 0;
    f->name = strdup(f->is_stdout ? "standard output" : path);
    if (f->name == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    if (f->is_stdout) {
        f->fd = STDOUT_FILENO;
    } else if (through) {
        /* No O_CREAT: the device or FIFO exists (classify saw it). */
        f->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (f->fd < 0)
            rc = attrib__error(ctx, ATTRIB_EIO, "cannot write %s: %s", path, strerror(errno));
    } else {
        f->fd = open_unnamed(f->target);
        f->unnamed = f->fd >= 0;
        if (f->fd < 0)
            f->fd = open_temp(f->target, &f->tmp);
        if (f->fd < 0)
            rc = errno == ENOMEM
                     ? attrib__error(ctx, ATTRIB_ENOMEM, "out of memory")
                     : attrib__error(ctx, ATTRIB_EIO,
                                     "cannot write %s: creating a temp file beside it: %s; check "
                                     "the directory is writable",
                                     path, strerror(errno));
    }
done:
    if (rc != ATTRIB_OK) {
        file_free(f);
        return rc;
    }
    *out = f;
    return ATTRIB_OK;
}

int attrib__file_write(attrib_file *f, const void *data, size_t len)
{
    const char *p = data;
    size_t off = 0;
    if (f->failed)
        return ATTRIB_EIO;
    while (off < len) {
        ssize_t w = write(f->fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            f->failed = true;
            return attrib__error(f->ctx, ATTRIB_EIO, "cannot write %s: %s", f->name,
                                 w < 0 ? strerror(errno) : "nothing written");
        }
        off += (size_t)w;
    }
    return ATTRIB_OK;
}

/* Make the rename itself durable: sync the directory that holds it. */
static void sync_dir(const char *target)
{
    char *copy = strdup(target);
    if (copy == NULL)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* best effort: some file systems refuse directory syncs */
        close(dfd);
    }
    free(copy);
}

int attrib__file_commit(attrib_file *f)
{
    int rc = ATTRIB_OK;
    if (f->failed) {
        rc = attrib__error(f->ctx, ATTRIB_EIO, "cannot write %s", f->name);
        goto done;
    }
    if (f->tmp == NULL && !f->unnamed) { /* written through: nothing to rename */
        if (!f->is_stdout) {
            int fd = f->fd;
            f->fd = -1;
            if (close(fd) != 0)
                rc = attrib__error(f->ctx, ATTRIB_EIO, "cannot write %s: %s", f->name,
                                   strerror(errno));
        }
        goto done;
    }
    /* Replacing a file keeps its permissions, as a plain fopen would. */
    struct stat old;
    if ((stat(f->target, &old) == 0 && fchmod(f->fd, old.st_mode & 07777) != 0) ||
        fsync(f->fd) != 0) {
        rc = attrib__error(f->ctx, ATTRIB_EIO, "cannot write %s: %s", f->name, strerror(errno));
        goto done;
    }
    if (f->unnamed && name_unnamed(f) != 0) {
        rc = attrib__error(f->ctx, ATTRIB_EIO, "cannot replace %s: naming the temp file: %s",
                           f->name, strerror(errno));
        goto done;
    }
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0) {
        rc = attrib__error(f->ctx, ATTRIB_EIO, "cannot write %s: %s", f->name, strerror(errno));
        goto done;
    }
    if (rename(f->tmp, f->target) != 0) {
        rc = attrib__error(f->ctx, ATTRIB_EIO, "cannot replace %s: %s", f->name, strerror(errno));
        goto done;
    }
    free(f->tmp);
    f->tmp = NULL; /* renamed: nothing to remove */
    sync_dir(f->target);
done:
    file_free(f);
    return rc;
}

int attrib__file_save(attrib_ctx *ctx, const char *path, const void *data, size_t len)
{
    attrib_file *f = NULL;
    int rc = attrib__file_open(ctx, path, &f);
    if (rc != ATTRIB_OK)
        return rc;
    rc = attrib__file_write(f, data, len);
    if (rc != ATTRIB_OK) {
        file_free(f);
        return rc;
    }
    return attrib__file_commit(f);
}

int attrib_file_check(attrib_ctx *ctx, const char *path)
{
    attrib__enter(ctx);
    return attrib__leave(ctx, attrib__file_check(ctx, path));
}

int attrib_file_open(attrib_ctx *ctx, const char *path, attrib_file **out)
{
    attrib__enter(ctx);
    return attrib__leave(ctx, attrib__file_open(ctx, path, out));
}

int attrib_file_write(attrib_file *f, const void *data, size_t len)
{
    attrib__enter(f->ctx);
    return attrib__leave(f->ctx, attrib__file_write(f, data, len));
}

int attrib_file_write_fn(const char *data, size_t len, void *payload)
{
    return attrib__file_write(payload, data, len);
}

int attrib_file_commit(attrib_file *f)
{
    attrib_ctx *ctx = f->ctx;
    attrib__enter(ctx);
    return attrib__leave(ctx, attrib__file_commit(f));
}

void attrib_file_abort(attrib_file *f)
{
    file_free(f);
}

int attrib_file_save(attrib_ctx *ctx, const char *path, const void *data, size_t len)
{
    attrib__enter(ctx);
    return attrib__leave(ctx, attrib__file_save(ctx, path, data, len));
}

const char *attrib_file_name(const attrib_file *f)
{
    return f->name;
}
