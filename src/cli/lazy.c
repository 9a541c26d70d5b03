/*
 * libpq, libcurl and libmicrohttpd, loaded when first called.
 *
 * The attrib binary is linked without them: this file defines every
 * function of theirs the library calls, each loading its library (by the
 * soname the Makefile read from pkg-config's libdir) and the real function
 * on its first call. A SQLite run never calls them, and their ~30
 * dependencies (OpenSSL, GnuTLS, Kerberos, LDAP, ...) cost 13.6 ms of
 * dynamic loading per process (bench/README.md, ninth pass). libattrib
 * itself (static, shared, pkg-config) still links them as before.
 *
 * A library that cannot be loaded is said once (msgs.c: this is the CLI,
 * not the library), and each call then fails the way the library itself
 * fails when it cannot do its work (NULL, an error code), which the callers
 * already report.
 */
#define CURL_DISABLE_TYPECHECK /* curl_easy_setopt is defined below, not a macro */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <microhttpd.h>

#ifndef ATTRIB_SONAME_PQ
#error "build through the Makefile: it passes the libraries' sonames"
#endif
/* An empty name would open the program itself, whose functions are these. */
_Static_assert(sizeof(ATTRIB_SONAME_PQ) > 1 && sizeof(ATTRIB_SONAME_CURL) > 1 &&
                   sizeof(ATTRIB_SONAME_MHD) > 1,
               "the Makefile found no soname (readelf, pkg-config's libdir)");

#include "cli.h"
#include "msgs.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

typedef struct {
    const char *soname;
    pthread_once_t once;
    void *handle; /* NULL when it could not be loaded */
} lazy_lib;

static lazy_lib pq = {ATTRIB_SONAME_PQ, PTHREAD_ONCE_INIT, NULL};
static lazy_lib curl = {ATTRIB_SONAME_CURL, PTHREAD_ONCE_INIT, NULL};
static lazy_lib mhd = {ATTRIB_SONAME_MHD, PTHREAD_ONCE_INIT, NULL};

#define LOAD_FN(lib, what)                                                                         \
    static void load_##lib(void)                                                                   \
    {                                                                                              \
        lib.handle = dlopen(lib.soname, RTLD_NOW | RTLD_LOCAL);                                    \
        if (lib.handle == NULL)                                                                    \
            (void)cli_errorf(CLI_EXIT_RUNTIME,                                                     \
                             "cannot load %s, which %s need: %s; install the package that "        \
                             "provides it",                                                        \
                             lib.soname, what, dlerror());                                         \
    }
LOAD_FN(pq, "PostgreSQL targets")
LOAD_FN(curl, "the IHC API's calls")
LOAD_FN(mhd, "attrib serve")

/* The address of `name` in lib, cached in *slot; NULL when unavailable. */
static void *lazy_sym(lazy_lib *lib, void (*load)(void), _Atomic(void *) *slot, const char *name)
{
    void *p = atomic_load_explicit(slot, memory_order_acquire);
    if (p != NULL)
        return p;
    if (pthread_once(&lib->once, load) != 0 || lib->handle == NULL)
        return NULL;
    p = dlsym(lib->handle, name);
    if (p == NULL)
        (void)cli_errorf(CLI_EXIT_RUNTIME, "%s has no %s: %s", lib->soname, name, dlerror());
    else
        atomic_store_explicit(slot, p, memory_order_release);
    return p;
}

/* In a wrapper: f, declared by the caller, set to the real `sym`, or return
 * `fail` when it cannot be loaded (the locals' names cannot be a parameter's). */
#define LAZY_LOAD(lib, sym, f, fail)                                                               \
    static _Atomic(void *) lazy_slot_;                                                             \
    void *lazy_p_ = lazy_sym(&lib, load_##lib, &lazy_slot_, sym);                                  \
    if (lazy_p_ == NULL)                                                                           \
        return fail;                                                                               \
    memcpy(&f, &lazy_p_, sizeof(f))

/* ret name(params) forwarding args, or `fail` when it cannot be loaded. */
#define LAZY(lib, fail, ret, name, params, args)                                                   \
    ret name params                                                                                \
    {                                                                                              \
        ret(*lazy_f_) params;                                                                      \
        LAZY_LOAD(lib, #name, lazy_f_, fail);                                                      \
        return lazy_f_ args;                                                                       \
    }
#define LAZY_VOID(lib, name, params, args)                                                         \
    void name params                                                                               \
    {                                                                                              \
        void(*lazy_f_) params;                                                                     \
        LAZY_LOAD(lib, #name, lazy_f_, );                                                          \
        lazy_f_ args;                                                                              \
    }

/* ---- libpq ---- */

LAZY(pq, 0, int, PQcancel, (PGcancel * c, char *buf, int n), (c, buf, n))
LAZY_VOID(pq, PQclear, (PGresult * r), (r))
LAZY(pq, NULL, char *, PQcmdStatus, (PGresult * r), (r))
LAZY(pq, NULL, PGconn *, PQconnectdbParams, (const char *const *k, const char *const *v, int x),
     (k, v, x))
LAZY(pq, 0, int, PQconnectionNeedsPassword, (const PGconn *c), (c))
LAZY(pq, NULL, PGresult *, PQdescribePrepared, (PGconn * c, const char *s), (c, s))
LAZY(pq, (char *)"libpq is not available", char *, PQerrorMessage, (const PGconn *c), (c))
LAZY(pq, NULL, char *, PQescapeIdentifier, (PGconn * c, const char *s, size_t n), (c, s, n))
LAZY(pq, NULL, char *, PQescapeLiteral, (PGconn * c, const char *s, size_t n), (c, s, n))
LAZY(pq, NULL, PGresult *, PQexec, (PGconn * c, const char *q), (c, q))
LAZY(pq, NULL, PGresult *, PQexecParams,
     (PGconn * c, const char *q, int n, const Oid *t, const char *const *v, const int *l,
      const int *f, int rf),
     (c, q, n, t, v, l, f, rf))
LAZY_VOID(pq, PQfinish, (PGconn * c), (c))
LAZY(pq, NULL, char *, PQfname, (const PGresult *r, int i), (r, i))
LAZY_VOID(pq, PQfreeCancel, (PGcancel * c), (c))
LAZY_VOID(pq, PQfreemem, (void *p), (p))
LAZY(pq, 0, Oid, PQftype, (const PGresult *r, int i), (r, i))
LAZY(pq, NULL, PGcancel *, PQgetCancel, (PGconn * c), (c))
LAZY(pq, -2, int, PQgetCopyData, (PGconn * c, char **b, int a), (c, b, a))
LAZY(pq, NULL, PGresult *, PQgetResult, (PGconn * c), (c))
LAZY(pq, 1, int, PQgetisnull, (const PGresult *r, int t, int f), (r, t, f))
LAZY(pq, 0, int, PQgetlength, (const PGresult *r, int t, int f), (r, t, f))
LAZY(pq, (char *)"", char *, PQgetvalue, (const PGresult *r, int t, int f), (r, t, f))
LAZY(pq, 0, int, PQlibVersion, (void), ())
LAZY(pq, 0, int, PQnfields, (const PGresult *r), (r))
LAZY(pq, 0, int, PQntuples, (const PGresult *r), (r))
LAZY(pq, NULL, PGresult *, PQprepare,
     (PGconn * c, const char *name, const char *q, int n, const Oid *t), (c, name, q, n, t))
LAZY(pq, -1, int, PQputCopyData, (PGconn * c, const char *b, int n), (c, b, n))
LAZY(pq, -1, int, PQputCopyEnd, (PGconn * c, const char *e), (c, e))
LAZY(pq, NULL, char *, PQresultErrorField, (const PGresult *r, int f), (r, f))
LAZY(pq, PGRES_FATAL_ERROR, ExecStatusType, PQresultStatus, (const PGresult *r), (r))
LAZY(pq, 0, int, PQsendQueryParams,
     (PGconn * c, const char *q, int n, const Oid *t, const char *const *v, const int *l,
      const int *f, int rf),
     (c, q, n, t, v, l, f, rf))
LAZY(pq, NULL, PQnoticeProcessor, PQsetNoticeProcessor,
     (PGconn * c, PQnoticeProcessor p, void *arg), (c, p, arg))
LAZY(pq, 0, int, PQsetSingleRowMode, (PGconn * c), (c))
LAZY(pq, CONNECTION_BAD, ConnStatusType, PQstatus, (const PGconn *c), (c))
LAZY(pq, PQTRANS_UNKNOWN, PGTransactionStatusType, PQtransactionStatus, (const PGconn *c), (c))

/* ---- libcurl ---- */

LAZY_VOID(curl, curl_easy_cleanup, (CURL * h), (h))
LAZY(curl, NULL, char *, curl_easy_escape, (CURL * h, const char *s, int n), (h, s, n))
LAZY(curl, NULL, CURL *, curl_easy_init, (void), ())
LAZY_VOID(curl, curl_easy_reset, (CURL * h), (h))
LAZY(curl, "libcurl is not available", const char *, curl_easy_strerror, (CURLcode c), (c))
LAZY_VOID(curl, curl_free, (void *p), (p))
LAZY(curl, -1, time_t, curl_getdate, (const char *s, const time_t *unused), (s, unused))
LAZY(curl, CURLE_FAILED_INIT, CURLcode, curl_global_init, (long flags), (flags))
LAZY(curl, CURLM_INTERNAL_ERROR, CURLMcode, curl_multi_add_handle, (CURLM * m, CURL *h), (m, h))
LAZY(curl, CURLM_INTERNAL_ERROR, CURLMcode, curl_multi_cleanup, (CURLM * m), (m))
LAZY(curl, NULL, CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left))
LAZY(curl, NULL, CURLM *, curl_multi_init, (void), ())
LAZY(curl, CURLM_INTERNAL_ERROR, CURLMcode, curl_multi_perform, (CURLM * m, int *running),
     (m, running))
LAZY(curl, CURLM_INTERNAL_ERROR, CURLMcode, curl_multi_poll,
     (CURLM * m, struct curl_waitfd *fds, unsigned n, int ms, int *numfds), (m, fds, n, ms, numfds))
LAZY(curl, CURLM_INTERNAL_ERROR, CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL *h), (m, h))
LAZY(curl, NULL, struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s),
     (l, s))
LAZY_VOID(curl, curl_slist_free_all, (struct curl_slist * l), (l))
LAZY(curl, NULL, curl_version_info_data *, curl_version_info, (CURLversion v), (v))

/* The variadic ones take one value after the option, of the type the
 * option's number range says (curl.h: CURLOPTTYPE_*, CURLINFO_*). */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    CURLcode (*f)(CURL *, CURLoption, ...);
    CURLcode rc;
    va_list ap;
    LAZY_LOAD(curl, "curl_easy_setopt", f, CURLE_FAILED_INIT);
    va_start(ap, opt);
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        rc = f(h, opt, va_arg(ap, long));
    else if (opt < CURLOPTTYPE_OFF_T)
        rc = f(h, opt, va_arg(ap, void *)); /* object and function pointers */
    else if (opt < CURLOPTTYPE_BLOB)
        rc = f(h, opt, va_arg(ap, curl_off_t));
    else
        rc = f(h, opt, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    CURLcode (*f)(CURL *, CURLINFO, ...);
    CURLcode rc;
    va_list ap;
    LAZY_LOAD(curl, "curl_easy_getinfo", f, CURLE_FAILED_INIT);
    va_start(ap, info);
    rc = f(h, info, va_arg(ap, void *)); /* every CURLINFO_* takes a pointer */
    va_end(ap);
    return rc;
}

/* ---- libmicrohttpd ---- */

LAZY(mhd, MHD_NO, enum MHD_Result, MHD_add_response_header,
     (struct MHD_Response * r, const char *h, const char *v), (r, h, v))
LAZY(mhd, NULL, struct MHD_Response *, MHD_create_response_from_buffer,
     (size_t n, void *b, enum MHD_ResponseMemoryMode m), (n, b, m))
LAZY_VOID(mhd, MHD_destroy_response, (struct MHD_Response * r), (r))
LAZY(mhd, NULL, const char *, MHD_get_version, (void), ())
LAZY(mhd, NULL, const char *, MHD_lookup_connection_value,
     (struct MHD_Connection * c, enum MHD_ValueKind k, const char *key), (c, k, key))
LAZY(mhd, MHD_NO, enum MHD_Result, MHD_queue_response,
     (struct MHD_Connection * c, unsigned int status, struct MHD_Response *r), (c, status, r))
LAZY_VOID(mhd, MHD_stop_daemon, (struct MHD_Daemon * d), (d))

/* Its options through MHD_start_daemon_va, which takes them as a va_list. */
struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    struct MHD_Daemon *(*f)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                            MHD_AccessHandlerCallback, void *, va_list);
    struct MHD_Daemon *d;
    va_list ap;
    LAZY_LOAD(mhd, "MHD_start_daemon_va", f, NULL);
    va_start(ap, dh_cls);
    d = f(flags, port, apc, apc_cls, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

/* Every info type attrib asks for takes no argument after it. */
const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *d, enum MHD_DaemonInfoType type,
                                                ...)
{
    const union MHD_DaemonInfo *(*f)(struct MHD_Daemon *, enum MHD_DaemonInfoType, ...);
    LAZY_LOAD(mhd, "MHD_get_daemon_info", f, NULL);
    return f(d, type);
}
