/* Unit tests of the compare writers: CSV quoting and number forms, an empty
 * ROAS without cost, markdown escaping, the text view's totals, and the
 * writer table lookup. */
#include "testutil.h"

#include "attrib/compare.h"
#include "util/buf.h"

#include <math.h>

static int to_buf(const char *data, size_t len, void *payload)
{
    return attrib_buf_add(payload, data, len) == 0 ? ATTRIB_OK : ATTRIB_ENOMEM;
}

static int fail_write(const char *data, size_t len, void *payload)
{
    (void)data;
    (void)len;
    (void)payload;
    return ATTRIB_EIO;
}

/* Two channels (one with a comma, quote and pipe in its name, no cost) and
 * two models. */
static const char *CH[] = {"Paid, \"Search\" | x", "Social"};
static const char *MO[] = {"last", "markov"};
static double COST[] = {0, 40};
static attrib_compare_cell CELLS[] = {{1, 100, 0.25, NAN},
                                      {1.5, 150, 0.375, NAN}, /* channel 0: last, markov */
                                      {3, 300, 0.75, 7.5},
                                      {2.5, 250, 0.625, 6.25}};
static double TC[] = {4, 4}, TR[] = {400, 400};
static const attrib_compare_table T = {2, MO, 2, CH, COST, CELLS, TC, TR};

static const char *render(const char *format)
{
    static attrib_buf b;
    attrib_buf_free(&b);
    attrib_buf_init(&b, 0);
    const attrib_compare_writer *w = attrib_compare_writer_find(format);
    assert_non_null(w);
    assert_int_equal(w->write(&T, to_buf, &b), ATTRIB_OK);
    return attrib_buf_cstr(&b);
}

static void test_csv(void **state)
{
    (void)state;
    assert_string_equal(render("csv"), "channel,model,conversions,revenue,share,cost,roas\n"
                                       "\"Paid, \"\"Search\"\" | x\",last,1,100,0.25,0,\n"
                                       "\"Paid, \"\"Search\"\" | x\",markov,1.5,150,0.375,0,\n"
                                       "Social,last,3,300,0.75,40,7.5\n"
                                       "Social,markov,2.5,250,0.625,40,6.25\n");
}

static void test_markdown(void **state)
{
    (void)state;
    const char *md = render("markdown");
    assert_non_null(
        strstr(md, "| Paid, \"Search\" \\| x | last | 1.00 | 100.00 | 25.0% | 0.00 |  |\n"));
    assert_non_null(strstr(md, "| Social | markov | 2.50 | 250.00 | 62.5% | 40.00 | 6.25 |\n"));
}

static void test_text(void **state)
{
    (void)state;
    const char *t = render("text");
    assert_non_null(strstr(t, "Social"));
    assert_non_null(strstr(t, "total"));
    assert_non_null(strstr(t, "400.00"));
    /* the second model's row leaves the channel and cost columns blank */
    assert_non_null(strstr(t, "\n                    markov"));
}

static void test_writers(void **state)
{
    (void)state;
    assert_null(attrib_compare_writer_find("json"));
    assert_int_equal(attrib_compare_writer_find("csv")->write(&T, fail_write, NULL), ATTRIB_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
