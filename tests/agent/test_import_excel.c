/*  Import as Excel and WPS save files: an .xlsx written with libxlsxwriter
    (Chinese headers, an Excel date cell, a numeric cell, a notes row, a
    blank row), read back through common/xlsx; GBK CSV with CRLF; dates in
    people's forms; preview stores nothing; a second import stores nothing
    and names the existing ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#include "agent/importer.h"
#include "agent/outbox.h"
#include "common/xlsx.h"
#include "tests/agent/agent_samples.h"
#include "tests/support/testsupport.h"

#define INC 0x0badcafeu

typedef struct {
    char *dir;
    wq_outbox_t *box;
} s_ctx_t;

static int
s_setup(void **state)
{
    s_ctx_t *c = calloc(1, sizeof *c);
    wq_err_t err;
    c->dir = ts_tmpdir();
    c->box = as_open(c->dir, 1000000, 1u << 30);
    assert_int_equal(wq_outbox_start_incarnation(c->box, AS_AGENT, INC, false, &err), WQ_OK);
    *state = c;
    return 0;
}

static int
s_teardown(void **state)
{
    s_ctx_t *c = *state;
    wq_outbox_destroy(&c->box);
    ts_tmpdir_remove(&c->dir);
    free(c);
    return 0;
}

static char *
s_make_xlsx(const char *dir)
{
    char *path = ts_strf("%s/book.xlsx", dir);
    lxw_workbook *wb = workbook_new(path);
    lxw_format *date = workbook_add_format(wb);
    format_set_num_format(date, "yyyy\"年\"m\"月\"d\"日\"");
    lxw_worksheet *notes = workbook_add_worksheet(wb, "说明");
    worksheet_write_string(notes, 0, 0, "随便写点说明", NULL);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "走访");
    const char *head[] = {"日期", "统一社会信用代码", "走访干部", "走访方式", "发现情况", "序号"};
    for (int i = 0; i < 6; i++)
        worksheet_write_string(ws, 0, (lxw_col_t) i, head[i], NULL);
    worksheet_write_string(ws, 1, 0, "说明：必填", NULL);
    lxw_datetime d = {2019, 5, 6, 0, 0, 0};
    worksheet_write_datetime(ws, 2, 0, &d, date);
    worksheet_write_string(ws, 2, 1, AS_ENT, NULL);
    worksheet_write_string(ws, 2, 2, "张三、李四", NULL);
    worksheet_write_string(ws, 2, 3, "实地走访", NULL);
    worksheet_write_string(ws, 2, 4, "废气收集不到位", NULL);
    worksheet_write_number(ws, 2, 5, 1, NULL);      /* a column that is not a field */
    worksheet_write_string(ws, 3, 0, "2019/5/7", NULL);
    worksheet_write_string(ws, 3, 1, AS_ENT, NULL);
    worksheet_write_string(ws, 3, 2, "王五", NULL);
    worksheet_write_string(ws, 3, 3, "Symposium", NULL);
    worksheet_write_blank(ws, 4, 0, date);           /* Excel's trailing blank row */
    worksheet_write_string(ws, 4, 1, " ", NULL);
    assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
    return path;
}

static int
s_row_cb(unsigned long row, const char *const *cells, size_t n, void *arg)
{
    char *out = arg;
    size_t o = strlen(out);
    o += (size_t) snprintf(out + o, 4096 - o, "%lu:", row);
    for (size_t i = 0; i < n; i++)
        o += (size_t) snprintf(out + o, 4096 - o, "[%s]", cells[i]);
    snprintf(out + o, 4096 - o, "\n");
    return 0;
}

static void
test_xlsx_reader(void **state)
{
    s_ctx_t *c = *state;
    wq_err_t err;
    char *path = s_make_xlsx(c->dir);
    wq_xlsx_t *x = NULL;
    assert_int_equal(wq_xlsx_open_file(path, &x, &err), WQ_OK);
    assert_int_equal(wq_xlsx_sheet_count(x), 2);
    assert_string_equal(wq_xlsx_sheet_name(x, 1), "走访");
    char out[4096] = "";
    assert_int_equal(wq_xlsx_sheet_rows(x, 1, s_row_cb, out, &err), WQ_OK);
    assert_non_null(strstr(out, "3:[2019-05-06][" AS_ENT "][张三、李四][实地走访][废气收集不到位][1]\n"));
    assert_non_null(strstr(out, "5:[][ ]\n"));
    wq_xlsx_destroy(&x);
    /* Not a zip: a precise error. */
    char *bad = ts_strf("%s/bad.xlsx", c->dir);
    ts_write_file(bad, "date,ent\n");
    assert_int_equal(wq_xlsx_open_file(bad, &x, &err), WQ_E_FORMAT);
    assert_non_null(strstr(err.text, "not an .xlsx"));
    free(bad);
    free(path);
}

typedef struct {
    int stored, would, dup, bad, note;
    char last[512];
} s_count_t;

static void
s_report(const wq_import_row_report_t *r, void *arg)
{
    s_count_t *n = arg;
    switch (r->outcome) {
    case WQ_ROW_STORED: n->stored++; break;
    case WQ_ROW_WOULD_STORE: n->would++; break;
    case WQ_ROW_DUPLICATE: n->dup++; break;
    case WQ_ROW_BAD: n->bad++; break;
    case WQ_ROW_NOTE: n->note++; break;
    }
    if (r->message && r->outcome != WQ_ROW_NOTE)
        snprintf(n->last, sizeof n->last, "%s", r->message);
    if (r->outcome == WQ_ROW_BAD && r->err && getenv("WQ_TEST_VERBOSE"))
        fprintf(stderr, "line %lu: %s\n", r->line, r->message);
}

static void
test_xlsx_import_twice(void **state)
{
    s_ctx_t *c = *state;
    wq_err_t err;
    char *path = s_make_xlsx(c->dir);
    s_count_t n = {0};
    wq_import_opts_t o = {.county = AS_COUNTY, .preview = true, .report = s_report,
                          .report_arg = &n};
    wq_import_result_t res;
    uint64_t last = 0;
    assert_int_equal(wq_import_file(c->box, path, &o, &res, &err), WQ_OK);
    assert_int_equal(res.lines, 2);
    assert_int_equal(res.stored, 2);
    assert_int_equal(n.would, 2);
    assert_int_equal(n.note, 1);   /* 序号 is not a field */
    assert_int_equal(wq_outbox_last_seq(c->box, &last, &err), WQ_OK);
    assert_int_equal(last, 0);     /* preview stored nothing */
    o.preview = false;
    memset(&n, 0, sizeof n);
    assert_int_equal(wq_import_file(c->box, path, &o, &res, &err), WQ_OK);
    assert_int_equal(res.stored, 2);
    assert_int_equal(n.stored, 2);
    memset(&n, 0, sizeof n);
    assert_int_equal(wq_import_file(c->box, path, &o, &res, &err), WQ_OK);
    assert_int_equal(res.stored, 0);
    assert_int_equal(res.duplicates, 2);
    assert_non_null(strstr(n.last, AS_AGENT "/0badcafe/2"));
    assert_int_equal(wq_outbox_last_seq(c->box, &last, &err), WQ_OK);
    assert_int_equal(last, 2);
    free(path);
}

static void
test_gbk_csv(void **state)
{
    s_ctx_t *c = *state;
    wq_err_t err;
    const char *utf8 = "记录类型,日期,统一社会信用代码,走访干部,Method,问题类别,严重程度,问题描述\r\n"
                       "走访,2019年5月8日," AS_ENT ",张三,座谈,,,\r\n"
                       "问题,2019.5.9," AS_ENT ",,,大气,一般,无组织排放\r\n"
                       ",,,,,,,\r\n";
    /* To GBK, as Chinese Excel saves "CSV (逗号分隔)". */
    iconv_t cd = iconv_open("GBK", "UTF-8");
    assert_true(cd != (iconv_t) -1);
    char gbk[1024], *in = (char *) utf8, *out = gbk;
    size_t inleft = strlen(utf8), outleft = sizeof gbk;
    assert_true(iconv(cd, &in, &inleft, &out, &outleft) != (size_t) -1);
    iconv_close(cd);
    size_t len = sizeof gbk - outleft;
    char *text = NULL;
    size_t tlen;
    const char *enc;
    assert_int_equal(wq_import_to_utf8(gbk, len, &text, &tlen, &enc, &err), WQ_OK);
    assert_string_equal(enc, "GB18030");
    assert_string_equal(text, utf8);
    free(text);
    s_count_t n = {0};
    wq_import_opts_t o = {.county = AS_COUNTY, .report = s_report, .report_arg = &n};
    wq_import_result_t res;
    assert_int_equal(wq_import_buffer(c->box, "台账.csv", gbk, len, &o, &res, &err), WQ_OK);
    assert_int_equal(res.lines, 2);
    assert_int_equal(res.stored, 2);
    assert_int_equal(wq_import_buffer(c->box, "台账.csv", gbk, len, &o, &res, &err), WQ_OK);
    assert_int_equal(res.stored, 0);
    assert_int_equal(res.duplicates, 2);
    /* Bytes that are neither UTF-8 nor GB18030. */
    assert_int_equal(wq_import_to_utf8("\x81\x20", 2, &text, &tlen, &enc, &err), WQ_E_UTF8);
}

static void
test_bad_cell_names_column_and_value(void **state)
{
    s_ctx_t *c = *state;
    wq_err_t err;
    const char *csv = "记录类型,日期,统一社会信用代码,走访干部,走访方式\n"
                      "走访,2019-05-08," AS_ENT ",张三,现场检查\n";
    s_count_t n = {0};
    wq_import_opts_t o = {.county = AS_COUNTY, .report = s_report, .report_arg = &n};
    wq_import_result_t res;
    assert_int_equal(wq_import_buffer(c->box, "a.csv", csv, strlen(csv), &o, &res, &err),
                     WQ_E_FORMAT);
    assert_int_equal(res.bad, 1);
    assert_non_null(strstr(n.last, "走访方式"));
    assert_non_null(strstr(n.last, "现场检查"));
    assert_non_null(strstr(n.last, "实地走访"));   /* what to write instead */
}

static void
test_references_hold(void **state)
{
    s_ctx_t *c = *state;
    wq_err_t err;
    const char *csv =
        "type,date,ent,category,severity,description,problem,measures,deadline,cadres,method\n"
        "problem,2019-05-08," AS_ENT ",air,general,废气,,,,,\n"                     /* 1 */
        "plan,2019-05-09," AS_ENT ",,,,@2,加装集气罩,2019-06-30,,\n"                /* ok */
        "plan,2019-05-09," AS_ENT ",,,,99,加装集气罩,2019-06-30,,\n"                /* no 99 */
        "plan,2019-05-09," AS_ENT2 ",,,,1,另一家,2019-06-30,,\n"                    /* ent */
        "visit,2019-05-09," AS_ENT ",,,,,,,张三,symposium\n"                         /* 3 */
        "plan,2019-05-09," AS_ENT ",,,,3,走访不是问题,2019-06-30,,\n"               /* type */
        "plan,2019-05-09," AS_ENT ",,,,1,期限早于日期,2019-05-01,,\n"               /* deadline */
        "plan,2019-05-09," AS_ENT ",,,,130102-02/12345678/5,别的工作站,2019-06-30,,\n" /* ok */
        "visit,2099-05-09," AS_ENT ",,,,,,,张三,symposium\n"                         /* future */
        "problem,2019-05-08," AS_ENT ",air,general,\"   \",,,,,\n";                 /* spaces */
    s_count_t n = {0};
    wq_import_opts_t o = {.county = AS_COUNTY, .report = s_report, .report_arg = &n};
    wq_import_result_t res;
    assert_int_equal(wq_import_buffer(c->box, "r.csv", csv, strlen(csv), &o, &res, &err),
                     WQ_E_FORMAT);
    assert_int_equal(res.stored, 4);
    assert_int_equal(res.bad, 6);
    assert_int_equal(n.bad, 6);
    assert_non_null(strstr(n.last, "needs description"));   /* cells are trimmed */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_xlsx_reader, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_xlsx_import_twice, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_gbk_csv, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_cell_names_column_and_value, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_references_hold, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
