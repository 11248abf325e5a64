/*  The importer (JSON Lines and CSV) into a real outbox: good and bad
    lines with precise line numbers and fields, "@N" references to earlier
    lines, all-or-nothing, the county rule, CSV quoting and BOM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/importer.h"
#include "tests/agent/agent_samples.h"
#include "tests/support/testsupport.h"

#define INC 0x0badcafeu
#define ID(n) AS_AGENT "/0badcafe/" #n

typedef struct {
    char *dir;
    wq_outbox_t *box;
    char *out, *errs;
    size_t out_len, errs_len;
    FILE *fout, *ferrs;
} s_ctx_t;

static int
s_setup(void **state)
{
    s_ctx_t *c = calloc(1, sizeof *c);
    c->dir = ts_tmpdir();
    char *ob = ts_strf("%s/outbox", c->dir);
    c->box = as_open(ob, 100000, 1u << 24);
    free(ob);
    wq_err_t err;
    if (wq_outbox_start_incarnation(c->box, AS_AGENT, INC, false, &err) != WQ_OK)
        return -1;
    *state = c;
    return 0;
}

static int
s_teardown(void **state)
{
    s_ctx_t *c = *state;
    wq_outbox_destroy(&c->box);
    ts_tmpdir_remove(&c->dir);
    free(c->out);
    free(c->errs);
    free(c);
    return 0;
}

static int
s_import(s_ctx_t *c, const char *name, const char *text, bool all, wq_import_result_t *res)
{
    char *path = ts_strf("%s/%s", c->dir, name);
    ts_write_file(path, text);
    free(c->out);
    free(c->errs);
    c->out = c->errs = NULL;
    c->fout = open_memstream(&c->out, &c->out_len);
    c->ferrs = open_memstream(&c->errs, &c->errs_len);
    wq_import_opts_t o = {.all_or_nothing = all, .county = AS_COUNTY, .out = c->fout,
                          .errors = c->ferrs};
    wq_err_t err;
    int rc = wq_import_file(c->box, path, &o, res, &err);
    fclose(c->fout);
    fclose(c->ferrs);
    free(path);
    return rc;
}

static uint64_t
s_last(s_ctx_t *c)
{
    uint64_t last = 0;
    wq_err_t err;
    assert_int_equal(wq_outbox_last_seq(c->box, &last, &err), WQ_OK);
    return last;
}

/*  Decode the stored record seq into a new record. */
static int
s_get_cb(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    (void) inc, (void) seq;
    wq_err_t err;
    assert_non_null(data);
    assert_int_equal(wq_record_decode(data, size, (wq_record_t **) arg, &err), WQ_OK);
    return 0;
}

static wq_record_t *
s_get(s_ctx_t *c, uint64_t seq)
{
    wq_record_t *r = NULL;
    wq_err_t err;
    assert_int_equal(wq_outbox_read(c->box, INC, seq, seq, 1, 1u << 20, s_get_cb, &r, NULL, &err),
                     WQ_OK);
    assert_non_null(r);
    return r;
}

#define ENT_LINE "{\"type\":\"enterprise\",\"date\":\"2019-05-10\",\"ent\":\"" AS_ENT \
                 "\",\"name\":\"恒泰化工\",\"industry\":\"C2614\"}\n"

static void
test_jsonl_good_and_bad(void **state)
{
    s_ctx_t *c = *state;
    wq_import_result_t res;
    const char *text =
        ENT_LINE
        "{\"type\":\"enterprise\",\"date\":\"2019-05-10\",\"ent\":\"91130102MA0000001X\","
        "\"name\":\"错\",\"industry\":\"C2614\"}\n"
        "\n"
        "{\"type\":\"visit\",\"date\":\"2019-05-11\",\"ent\":\"" AS_ENT "\",\"cadres\":[\"张三\"],"
        "\"method\":\"field_visit\"}\n"
        "{\"type\":\"visit\",\"date\":\"2019-05-11\",\"ent\":\"" AS_ENT "\",\"cadres\":[\"张三\"],"
        "\"method\":\"teleport\"}\n"
        "{not json}\n";
    assert_int_equal(s_import(c, "a.jsonl", text, false, &res), WQ_E_FORMAT);
    assert_int_equal(res.lines, 5);
    assert_int_equal(res.stored, 2);
    assert_int_equal(res.bad, 3);
    assert_int_equal(res.first_bad_line, 2);
    assert_string_equal(c->out, "1\t" ID(1) "\n4\t" ID(2) "\n");
    assert_non_null(strstr(c->errs, "a.jsonl:2: ent:"));
    assert_non_null(strstr(c->errs, "E_CHECKCHAR"));
    assert_non_null(strstr(c->errs, "a.jsonl:5: method:"));
    assert_non_null(strstr(c->errs, "E_UNKNOWN"));
    assert_non_null(strstr(c->errs, "a.jsonl:6: "));
    assert_int_equal(s_last(c), 2);
}

static void
test_jsonl_line_refs(void **state)
{
    s_ctx_t *c = *state;
    wq_import_result_t res;
    const char *text =
        ENT_LINE
        "{\"type\":\"visit\",\"date\":\"2019-05-11\",\"ent\":\"" AS_ENT "\",\"cadres\":[\"张三\"],"
        "\"method\":\"field_visit\"}\n"
        "{\"type\":\"problem\",\"date\":\"2019-05-11\",\"ent\":\"" AS_ENT "\",\"category\":\"air\","
        "\"severity\":\"serious\",\"description\":\"废气\",\"visit\":\"@2\"}\n"
        "{\"type\":\"plan\",\"date\":\"2019-05-12\",\"ent\":\"" AS_ENT "\",\"problem\":\"@3\","
        "\"measures\":\"整改\",\"deadline\":\"2019-08-31\"}\n"
        "{\"type\":\"plan\",\"date\":\"2019-05-12\",\"ent\":\"" AS_ENT "\",\"problem\":\"@9\","
        "\"measures\":\"整改\",\"deadline\":\"2019-08-31\"}\n";
    assert_int_equal(s_import(c, "refs.jsonl", text, false, &res), WQ_E_FORMAT);
    assert_int_equal(res.stored, 4);
    assert_int_equal(res.bad, 1);
    assert_non_null(strstr(c->errs, "refs.jsonl:5: problem: @9 refers to line 9"));
    wq_record_t *p = s_get(c, 3);
    assert_int_equal(p->type, WQ_REC_PROBLEM);
    assert_string_equal(p->visit, ID(2));
    wq_record_destroy(&p);
    p = s_get(c, 4);
    assert_string_equal(p->problem, ID(3));
    wq_record_destroy(&p);
}

static void
test_ref_to_bad_line(void **state)
{
    s_ctx_t *c = *state;
    wq_import_result_t res;
    const char *text =
        "{\"type\":\"visit\",\"date\":\"2019-05-11\",\"ent\":\"" AS_ENT "\",\"cadres\":[\"张三\"]}\n"
        "{\"type\":\"problem\",\"date\":\"2019-05-11\",\"ent\":\"" AS_ENT "\",\"category\":\"air\","
        "\"severity\":\"serious\",\"description\":\"废气\",\"visit\":\"@1\"}\n";
    assert_int_equal(s_import(c, "r.jsonl", text, false, &res), WQ_E_FORMAT);
    assert_int_equal(res.stored, 0);
    assert_int_equal(res.bad, 2);
    assert_non_null(strstr(c->errs, "r.jsonl:1: method:"));
    assert_non_null(strstr(c->errs, "r.jsonl:2: visit: @1 refers to line 1, which was not stored"));
    assert_int_equal(s_last(c), 0);
}

static void
test_all_or_nothing(void **state)
{
    s_ctx_t *c = *state;
    wq_import_result_t res;
    const char *text = ENT_LINE ENT_LINE "{\"type\":\"enterprise\"}\n" ENT_LINE;
    assert_int_equal(s_import(c, "x.jsonl", text, true, &res), WQ_E_FORMAT);
    assert_int_equal(res.lines, 4);
    assert_int_equal(res.stored, 0);
    assert_int_equal(res.bad, 1);
    assert_string_equal(c->out, "");
    assert_int_equal(s_last(c), 0);
    /* The same file without the bad line goes in whole: the equal lines
       are one record (issue 11: never twice). */
    assert_int_equal(s_import(c, "y.jsonl", ENT_LINE ENT_LINE ENT_LINE, true, &res), WQ_OK);
    assert_int_equal(res.stored, 1);
    assert_int_equal(res.duplicates, 2);
    assert_non_null(strstr(c->errs, "y.jsonl:2: same as line 1, skipped"));
    assert_int_equal(s_last(c), 1);
}

static void
test_foreign_county(void **state)
{
    s_ctx_t *c = *state;
    wq_import_result_t res;
    const char *text = "{\"type\":\"enterprise\",\"date\":\"2019-05-10\",\"county\":\"130104\","
                       "\"ent\":\"" AS_ENT "\",\"name\":\"恒泰\",\"industry\":\"C\"}\n";
    assert_int_equal(s_import(c, "f.jsonl", text, false, &res), WQ_E_FORMAT);
    assert_int_equal(res.bad, 1);
    assert_non_null(strstr(c->errs, "f.jsonl:1: county:"));
    assert_non_null(strstr(c->errs, "E_FOREIGN"));
}

static void
test_csv(void **state)
{
    s_ctx_t *c = *state;
    wq_import_result_t res;
    const char *text =
        "\xEF\xBB\xBFtype,date,ent,name,industry,cadres,method,findings,category,severity,"
        "description,visit\r\n"
        "enterprise,2019-05-10," AS_ENT ",\"恒泰化工, 有限公司\",C2614,,,,,,,\r\n"
        "visit,2019-05-11," AS_ENT ",,,\"张三,李四\",field_visit,\"第一行\n第二行 \"\"引号\"\"\",,,,\r\n"
        "problem,2019-05-11," AS_ENT ",,,,,,air,serious,废气,@3\r\n"
        "problem,2019-05-11," AS_ENT ",,,,,,air,huge,废气,@3\r\n"
        "visit,2019-05-11\r\n";
    assert_int_equal(s_import(c, "c.csv", text, false, &res), WQ_E_FORMAT);
    assert_int_equal(res.lines, 5);
    assert_int_equal(res.stored, 3);
    assert_int_equal(res.bad, 2);
    /* The quoted visit spans lines 3-4, so the problem starts on line 5. */
    assert_string_equal(c->out, "2\t" ID(1) "\n3\t" ID(2) "\n5\t" ID(3) "\n");
    assert_non_null(strstr(c->errs, "c.csv:6: column \"severity\", value \"huge\": "));
    assert_non_null(strstr(c->errs, "c.csv:7: "));
    wq_record_t *r = s_get(c, 1);
    assert_string_equal(r->name, "恒泰化工, 有限公司");
    wq_record_destroy(&r);
    r = s_get(c, 2);
    assert_int_equal(r->ncadres, 2);
    assert_string_equal(r->cadres[1], "李四");
    assert_string_equal(r->findings, "第一行\n第二行 \"引号\"");
    wq_record_destroy(&r);
    r = s_get(c, 3);
    assert_string_equal(r->visit, ID(2));
    wq_record_destroy(&r);
}

static void
test_csv_without_type(void **state)
{
    s_ctx_t *c = *state;
    wq_import_result_t res;
    assert_int_equal(s_import(c, "n.csv", "date,ent\n2019-05-10," AS_ENT "\n", false, &res),
                     WQ_E_FORMAT);
    assert_int_equal(res.stored, 0);
    assert_non_null(strstr(c->errs, "n.csv:1: "));
    assert_non_null(strstr(c->errs, "(E_MISSING)"));
}

static void
test_unknown_format(void **state)
{
    s_ctx_t *c = *state;
    wq_import_result_t res;
    assert_int_equal(s_import(c, "n.txt", ENT_LINE, false, &res), WQ_E_FORMAT);
    assert_int_equal(res.stored, 0);
    wq_import_opts_t o = {.county = AS_COUNTY};
    wq_err_t err;
    assert_int_equal(wq_import_file(c->box, "/nonexistent/x.jsonl", &o, &res, &err), WQ_E_IO);
}

static void
test_chunks(void **state)
{
    /* More than one chunk: every id printed once, in order, all stored. */
    s_ctx_t *c = *state;
    size_t n = WQ_IMPORT_CHUNK + 5;
    size_t len = strlen(ENT_LINE) + 16;
    char *text = malloc(n * len + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++)   /* distinct names: equal lines would be one record */
        o += (size_t) sprintf(text + o, "{\"type\":\"enterprise\",\"date\":\"2019-05-10\","
                              "\"ent\":\"" AS_ENT "\",\"name\":\"恒泰化工%zu\","
                              "\"industry\":\"C2614\"}\n", i);
    wq_import_result_t res;
    assert_int_equal(s_import(c, "big.jsonl", text, false, &res), WQ_OK);
    free(text);
    assert_int_equal(res.stored, n);
    assert_int_equal(s_last(c), n);
    size_t lines = 0;
    for (char *p = c->out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, n);
    char *last = ts_strf("%zu\t" AS_AGENT "/0badcafe/%zu\n", n, n);
    assert_non_null(strstr(c->out, last));
    free(last);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jsonl_good_and_bad, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_line_refs, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ref_to_bad_line, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_all_or_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_foreign_county, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_csv, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_csv_without_type, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_format, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_chunks, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
