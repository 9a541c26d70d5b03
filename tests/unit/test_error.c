/* Unit tests of the error contract (include/attrib/error.h): every public
 * call on a context starts clean, so attrib_errcode/attrib_errmsg describe
 * the last call's failure and agree with its return value; a success leaves
 * ATTRIB_OK and ""; within one call the deepest message wins. */
#include "testutil.h"

#include "attrib/ihc_json.h"
#include "attrib/store.h"
#include "lib/core/ctx.h"

static void test_second_failure_wins(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    int rc = attrib_store_open(ctx, "/nonexistent-attrib-dir/none.db", 0, &st);
    assert_int_equal(rc, ATTRIB_ENOTFOUND);
    assert_int_equal(attrib_errcode(ctx), rc);
    assert_non_null(strstr(attrib_errmsg(ctx), "none.db"));
    rc = attrib_store_open(ctx, "", 0, &st);
    assert_int_equal(rc, ATTRIB_EINVAL);
    assert_int_equal(attrib_errcode(ctx), ATTRIB_EINVAL);
    assert_non_null(strstr(attrib_errmsg(ctx), "empty database target"));
    assert_null(strstr(attrib_errmsg(ctx), "none.db"));
    /* A different module on the same context: its failure replaces both. */
    attrib_ihc_request *req = NULL;
    rc = attrib_ihc_request_parse(ctx, "{", 1, &req);
    assert_int_equal(rc, ATTRIB_EPARSE);
    assert_int_equal(attrib_errcode(ctx), ATTRIB_EPARSE);
    assert_null(strstr(attrib_errmsg(ctx), "empty database target"));
    assert_null(st);
    assert_null(req);
    attrib_ctx_free(ctx);
}

static void test_success_after_failure(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    attrib_ihc_request *req = NULL;
    attrib_store *st = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    assert_int_equal(attrib_store_open(ctx, "", 0, &st), ATTRIB_EINVAL);
    const char *ok = "{\"customer_journeys\": []}";
    assert_int_equal(attrib_ihc_request_parse(ctx, ok, strlen(ok), &req), ATTRIB_OK);
    assert_int_equal(attrib_errcode(ctx), ATTRIB_OK);
    assert_string_equal(attrib_errmsg(ctx), "");
    attrib_ihc_request_free(req);
    attrib_ctx_free(ctx);
}

/* The internal side: the deepest message wins within one call, the returned
 * code is the one errcode reports, and a bare code gets its description. */
static void test_deepest_message_returned_code(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    attrib__enter(ctx);
    assert_int_equal(attrib__error(ctx, ATTRIB_EDB, "deep: disk I/O error"), ATTRIB_EDB);
    assert_int_equal(attrib__error(ctx, ATTRIB_EIO, "outer: write failed"), ATTRIB_EIO);
    assert_int_equal(attrib__leave(ctx, ATTRIB_EIO), ATTRIB_EIO);
    assert_int_equal(attrib_errcode(ctx), ATTRIB_EIO);
    assert_string_equal(attrib_errmsg(ctx), "deep: disk I/O error");

    attrib__enter(ctx);
    assert_int_equal(attrib_errcode(ctx), ATTRIB_OK);
    assert_int_equal(attrib__leave(ctx, ATTRIB_ENOMEM), ATTRIB_ENOMEM);
    assert_int_equal(attrib_errcode(ctx), ATTRIB_ENOMEM);
    assert_string_equal(attrib_errmsg(ctx), attrib_strerror(ATTRIB_ENOMEM));

    /* A handled inner failure is no failure of a call that succeeds. */
    attrib__enter(ctx);
    attrib__error(ctx, ATTRIB_EDATA, "row 3: skipped");
    assert_int_equal(attrib__leave(ctx, ATTRIB_OK), ATTRIB_OK);
    assert_int_equal(attrib_errcode(ctx), ATTRIB_OK);
    assert_string_equal(attrib_errmsg(ctx), "");
    attrib_ctx_free(ctx);
}

/* Every code has its own description (the table is indexed by -code). */
static void test_strerror(void **state)
{
    (void)state;
    for (int code = ATTRIB_OK; code >= ATTRIB__CODE_LAST; code--) {
        assert_string_not_equal(attrib_strerror(code), "unknown error");
        for (int other = code - 1; other >= ATTRIB__CODE_LAST; other--)
            assert_string_not_equal(attrib_strerror(code), attrib_strerror(other));
    }
    assert_string_equal(attrib_strerror(ATTRIB__CODE_LAST - 1), "unknown error");
    assert_string_equal(attrib_strerror(1), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_failure_wins),
        cmocka_unit_test(test_success_after_failure),
        cmocka_unit_test(test_deepest_message_returned_code),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
