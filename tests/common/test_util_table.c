/*  Result tables (common/table.c): building, reading back, and the exact
    bytes of the text, CSV and JSON outputs, with Chinese text, nulls,
    negative numbers and fields that need quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/json.h"
#include "common/table.h"

static wq_table_t *
s_sample(void)
{
    static const char *const cols[] = {"county", "name", "n", "note"};
    wq_table_t *t = wq_table_new(4, cols);
    assert_non_null(t);
    size_t r;
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);
    assert_int_equal(r, 0);
    assert_int_equal(wq_table_set_str(t, r, 0, "130102"), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 1, "长安区"), WQ_OK);
    assert_int_equal(wq_table_set_int(t, r, 2, 12), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 3, "ok"), WQ_OK);
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);
    assert_int_equal(r, 1);
    assert_int_equal(wq_table_set_fmt(t, r, 0, "%06d", 130521), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 1, "邢台县"), WQ_OK);
    assert_int_equal(wq_table_set_int(t, r, 2, -3), WQ_OK);
    /* column 3 stays null; set and then cleared back to null */
    assert_int_equal(wq_table_set_str(t, r, 3, "temporary"), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 3, NULL), WQ_OK);
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 0, "131172"), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 1, "衡水滨湖新区"), WQ_OK);
    /* a string first, then replaced by an int (no leak) */
    assert_int_equal(wq_table_set_str(t, r, 2, "x"), WQ_OK);
    assert_int_equal(wq_table_set_int(t, r, 2, 1234), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 3, "a,b \"q\"\nline2"), WQ_OK);
    return t;
}

/*  noinline: inlined, gcc 12 -O3 takes the buffer open_memstream returns
    through &buf for a pointer to buf itself (-Wdangling-pointer). */
__attribute__((noinline)) static char *
s_output(const wq_table_t *t, wq_format_t format)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    assert_int_equal(wq_table_write(t, format, f), WQ_OK);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void
test_access(void **state)
{
    (void) state;
    wq_table_t *t = s_sample();
    assert_int_equal(wq_table_ncols(t), 4);
    assert_int_equal(wq_table_nrows(t), 3);
    assert_string_equal(wq_table_col(t, 1), "name");
    assert_null(wq_table_col(t, 4));
    assert_int_equal(wq_table_find_col(t, "note"), 3);
    assert_int_equal(wq_table_find_col(t, "county"), 0);
    assert_int_equal(wq_table_find_col(t, "nope"), -1);
    const wq_cell_t *c = wq_table_cell(t, 1, 0);
    assert_int_equal(c->kind, WQ_CELL_STR);
    assert_string_equal(c->s, "130521");
    c = wq_table_cell(t, 1, 2);
    assert_int_equal(c->kind, WQ_CELL_INT);
    assert_int_equal(c->i, -3);
    c = wq_table_cell(t, 1, 3);
    assert_int_equal(c->kind, WQ_CELL_NULL);
    assert_null(c->s);
    assert_int_equal(wq_table_cell(t, 2, 2)->i, 1234);
    assert_null(wq_table_cell(t, 3, 0));
    assert_null(wq_table_cell(t, 0, 4));
    wq_table_destroy(&t);
    assert_null(t);
    wq_table_destroy(&t);
    assert_int_equal(wq_format_parse("table"), WQ_FORMAT_TABLE);
    assert_int_equal(wq_format_parse("csv"), WQ_FORMAT_CSV);
    assert_int_equal(wq_format_parse("json"), WQ_FORMAT_JSON);
    assert_int_equal(wq_format_parse("JSON"), 0);
    assert_int_equal(wq_format_parse("xml"), 0);
    assert_int_equal(wq_format_parse(NULL), 0);
}

static void
test_text(void **state)
{
    (void) state;
    wq_table_t *t = s_sample();
    char *out = s_output(t, WQ_FORMAT_TABLE);
    /* Han characters take two columns; integers right-aligned (header too);
       the newline in a note shows as a space; no trailing blanks. */
    assert_string_equal(out, "county  name             n  note\n"
                             "------  ------------  ----  -------------\n"
                             "130102  长安区          12  ok\n"
                             "130521  邢台县          -3\n"
                             "131172  衡水滨湖新区  1234  a,b \"q\" line2\n");
    free(out);
    wq_table_destroy(&t);
}

static void
test_csv(void **state)
{
    (void) state;
    wq_table_t *t = s_sample();
    char *out = s_output(t, WQ_FORMAT_CSV);
    assert_string_equal(out, "\xEF\xBB\xBF"
                             "county,name,n,note\r\n"
                             "130102,长安区,12,ok\r\n"
                             "130521,邢台县,-3,\r\n"
                             "131172,衡水滨湖新区,1234,\"a,b \"\"q\"\"\nline2\"\r\n");
    free(out);
    wq_table_destroy(&t);
}

/*  OWASP CSV injection: a text starting =, +, -, @, tab or CR gets a
    leading ' (also inside quotes); integers (-3) stay numbers. */
static void
test_csv_formula(void **state)
{
    (void) state;
    const char *cols[] = {"name", "n"};
    wq_table_t *t = wq_table_new(2, cols);
    assert_non_null(t);
    const char *names[] = {"=HYPERLINK(\"http://x\",\"点击\")", "+1", "-2", "@SUM(A1)",
                           "\tx", "\rx", "a=b", "企业"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t r;
        assert_int_equal(wq_table_add_row(t, &r), WQ_OK);
        assert_int_equal(wq_table_set_str(t, r, 0, names[i]), WQ_OK);
        assert_int_equal(wq_table_set_int(t, r, 1, -5), WQ_OK);
    }
    char *out = s_output(t, WQ_FORMAT_CSV);
    assert_string_equal(out, "\xEF\xBB\xBF"
                             "name,n\r\n"
                             "\"'=HYPERLINK(\"\"http://x\"\",\"\"点击\"\")\",-5\r\n"
                             "'+1,-5\r\n"
                             "'-2,-5\r\n"
                             "'@SUM(A1),-5\r\n"
                             "'\tx,-5\r\n"
                             "\"'\rx\",-5\r\n"
                             "a=b,-5\r\n"
                             "企业,-5\r\n");
    free(out);
    wq_table_destroy(&t);
}

static void
test_json(void **state)
{
    (void) state;
    wq_table_t *t = s_sample();
    char *out = s_output(t, WQ_FORMAT_JSON);
    assert_string_equal(out,
                        "[\n"
                        "  {\"county\":\"130102\",\"name\":\"长安区\",\"n\":12,\"note\":\"ok\"},\n"
                        "  {\"county\":\"130521\",\"name\":\"邢台县\",\"n\":-3,\"note\":null},\n"
                        "  {\"county\":\"131172\",\"name\":\"衡水滨湖新区\",\"n\":1234,"
                        "\"note\":\"a,b \\\"q\\\"\\nline2\"}\n"
                        "]\n");
    /* Each object line reads back with our own reader. */
    char *line = strstr(out, "  {\"county\":\"131172\"");
    assert_non_null(line);
    size_t len = strcspn(line, "\n");
    wq_json_object_t *obj = NULL;
    wq_err_t err;
    assert_int_equal(wq_json_parse_object(line, len, &obj, &err), WQ_OK);
    assert_string_equal(wq_json_get(obj, "note")->text, "a,b \"q\"\nline2");
    assert_int_equal(wq_json_get(obj, "n")->kind, WQ_JSON_NUMBER);
    assert_string_equal(wq_json_get(obj, "n")->text, "1234");
    wq_json_object_destroy(&obj);
    free(out);
    wq_table_destroy(&t);
}

static void
test_empty_and_extremes(void **state)
{
    (void) state;
    static const char *const cols[] = {"城市", "total"};
    wq_table_t *t = wq_table_new(2, cols);
    assert_non_null(t);
    char *out = s_output(t, WQ_FORMAT_TABLE);
    assert_string_equal(out, "城市  total\n----  -----\n");
    free(out);
    out = s_output(t, WQ_FORMAT_CSV);
    assert_string_equal(out, "\xEF\xBB\xBF城市,total\r\n");
    free(out);
    out = s_output(t, WQ_FORMAT_JSON);
    assert_string_equal(out, "[]\n");
    free(out);
    size_t r;
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);
    assert_int_equal(wq_table_set_int(t, r, 1, INT64_MIN), WQ_OK);
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 0, "石家庄市"), WQ_OK);
    assert_int_equal(wq_table_set_int(t, r, 1, INT64_MAX), WQ_OK);
    out = s_output(t, WQ_FORMAT_TABLE);
    assert_string_equal(out, "城市                     total\n"
                             "--------  --------------------\n"
                             "          -9223372036854775808\n"
                             "石家庄市   9223372036854775807\n");
    free(out);
    out = s_output(t, WQ_FORMAT_CSV);
    assert_string_equal(out, "\xEF\xBB\xBF城市,total\r\n,-9223372036854775808\r\n"
                             "石家庄市,9223372036854775807\r\n");
    free(out);
    out = s_output(t, WQ_FORMAT_JSON);
    assert_string_equal(out, "[\n  {\"城市\":null,\"total\":-9223372036854775808},\n"
                             "  {\"城市\":\"石家庄市\",\"total\":9223372036854775807}\n]\n");
    free(out);
    wq_table_destroy(&t);
}

static void
test_many_rows_and_quoting(void **state)
{
    (void) state;
    static const char *const cols[] = {"k,ey", "v"};
    wq_table_t *t = wq_table_new(2, cols);
    assert_non_null(t);
    for (int i = 0; i < 1000; i++) {
        size_t r;
        assert_int_equal(wq_table_add_row(t, &r), WQ_OK);
        assert_int_equal(r, (size_t) i);
        assert_int_equal(wq_table_set_int(t, r, 0, i), WQ_OK);
        assert_int_equal(wq_table_set_str(t, r, 1, i % 2 ? "cr\rhere" : "plain"), WQ_OK);
    }
    assert_int_equal(wq_table_nrows(t), 1000);
    char *out = s_output(t, WQ_FORMAT_CSV);
    /* header quoted; CR in a field quoted */
    assert_memory_equal(out, "\xEF\xBB\xBF\"k,ey\",v\r\n0,plain\r\n1,\"cr\rhere\"\r\n", 35);
    free(out);
    wq_table_destroy(&t);
}

static void
test_write_error(void **state)
{
    (void) state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    wq_table_t *t = s_sample();
    assert_int_equal(wq_table_write(t, WQ_FORMAT_CSV, f), WQ_E_IO);
    fclose(f);
    wq_table_destroy(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_csv_formula),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_empty_and_extremes),
        cmocka_unit_test(test_many_rows_and_quoting),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
