/*  The flat JSON object reader and string writer (common/json.c): every
    value kind, escapes and surrogate pairs, and each kind of bad input
    with its error code and byte column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/json.h"

static int
s_parse(const char *text, wq_json_object_t **obj, wq_err_t *err)
{
    return wq_json_parse_object(text, strlen(text), obj, err);
}

static void
test_parse_record(void **state)
{
    (void) state;
    wq_json_object_t *obj = NULL;
    wq_err_t err;
    const char *text = " {\"type\":\"visit\", \"cadres\" : [\"张三\",\"李四\"],\"above_size\":true,"
                       "\"closed\":false,\"note\":null,\"n\":-12.5e+3,\"zero\":0,\"empty\":[],"
                       "\"s\":\"\"}\r\n";
    assert_int_equal(s_parse(text, &obj, &err), WQ_OK);
    assert_non_null(obj);
    assert_int_equal(obj->count, 9);
    const wq_json_member_t *m = wq_json_get(obj, "type");
    assert_non_null(m);
    assert_int_equal(m->kind, WQ_JSON_STRING);
    assert_string_equal(m->text, "visit");
    m = wq_json_get(obj, "cadres");
    assert_int_equal(m->kind, WQ_JSON_ARRAY);
    assert_int_equal(m->nitems, 2);
    assert_string_equal(m->items[0], "张三");
    assert_string_equal(m->items[1], "李四");
    m = wq_json_get(obj, "above_size");
    assert_int_equal(m->kind, WQ_JSON_BOOL);
    assert_true(m->boolean);
    m = wq_json_get(obj, "closed");
    assert_int_equal(m->kind, WQ_JSON_BOOL);
    assert_false(m->boolean);
    assert_int_equal(wq_json_get(obj, "note")->kind, WQ_JSON_NULL);
    m = wq_json_get(obj, "n");
    assert_int_equal(m->kind, WQ_JSON_NUMBER);
    assert_string_equal(m->text, "-12.5e+3");
    assert_string_equal(wq_json_get(obj, "zero")->text, "0");
    m = wq_json_get(obj, "empty");
    assert_int_equal(m->kind, WQ_JSON_ARRAY);
    assert_int_equal(m->nitems, 0);
    assert_string_equal(wq_json_get(obj, "s")->text, "");
    assert_null(wq_json_get(obj, "missing"));
    /* Members keep their order. */
    assert_string_equal(obj->members[0].key, "type");
    assert_string_equal(obj->members[8].key, "s");
    wq_json_object_destroy(&obj);
    assert_null(obj);
    wq_json_object_destroy(&obj);    /* safe twice */

    assert_int_equal(s_parse("{}", &obj, &err), WQ_OK);
    assert_int_equal(obj->count, 0);
    wq_json_object_destroy(&obj);
}

static void
test_escapes(void **state)
{
    (void) state;
    wq_json_object_t *obj = NULL;
    wq_err_t err;
    const char *text = "{\"e\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\","
                       "\"u\":\"\\u0041\\u00e9\\u4E2D\","
                       "\"pair\":\"\\ud83d\\ude00!\","
                       "\"ext\":\"\\uD840\\uDC00\","
                       "\"\\u952e\":\"key escaped\"}";
    assert_int_equal(s_parse(text, &obj, &err), WQ_OK);
    assert_string_equal(wq_json_get(obj, "e")->text, "q\" b\\ s/ \b\f\n\r\t");
    assert_string_equal(wq_json_get(obj, "u")->text, "Aé中");
    assert_string_equal(wq_json_get(obj, "pair")->text, "😀!");
    assert_string_equal(wq_json_get(obj, "ext")->text, "𠀀");
    assert_string_equal(wq_json_get(obj, "键")->text, "key escaped");
    wq_json_object_destroy(&obj);
}

typedef struct {
    const char *text;
    int code;
    const char *field;
    const char *fragment;    /* expected in err.text */
} s_bad_t;

static void
test_bad_input(void **state)
{
    (void) state;
    static const s_bad_t bad[] = {
        /* syntax */
        {"", WQ_E_FORMAT, "json", "empty input"},
        {"   ", WQ_E_FORMAT, "json", "at byte 4"},
        {"\"x\"", WQ_E_FORMAT, "json", "object ('{') expected at byte 1"},
        {"{", WQ_E_FORMAT, "json", "member name in double quotes expected at byte 2"},
        {"{\"a\"}", WQ_E_FORMAT, "a", "':' expected"},
        {"{\"a\":}", WQ_E_FORMAT, "a", "value"},
        {"{\"a\":1,}", WQ_E_FORMAT, "json", "at byte 8"},
        {"{\"a\":1 \"b\":2}", WQ_E_FORMAT, "a", "',' or '}' expected after a member at byte 8"},
        {"{a:1}", WQ_E_FORMAT, "json", "at byte 2"},
        {"{'a':1}", WQ_E_FORMAT, "json", "at byte 2"},
        {"{\"a\":\"x}", WQ_E_FORMAT, "a", "unterminated string"},
        {"{\"a\":\"x\\\"}", WQ_E_FORMAT, "a", "unterminated string"},
        {"{\"a\":\"\\x\"}", WQ_E_FORMAT, "a", "unknown escape in a string at byte 7"},
        {"{\"a\":\"\\u12G4\"}", WQ_E_FORMAT, "a", "4 hex digits"},
        {"{\"a\":\"\\u12\"}", WQ_E_FORMAT, "a", "4 hex digits"},
        {"{\"a\":\"tab\there\"}", WQ_E_FORMAT, "a", "unescaped control character in a string at byte 10"},
        {"{\"a\":01}", WQ_E_FORMAT, "a", "',' or '}'"},
        {"{\"a\":1.}", WQ_E_FORMAT, "a", "decimal point"},
        {"{\"a\":1e}", WQ_E_FORMAT, "a", "exponent"},
        {"{\"a\":-}", WQ_E_FORMAT, "a", "bad number"},
        {"{\"a\":+1}", WQ_E_FORMAT, "a", "value"},
        {"{\"a\":tru}", WQ_E_FORMAT, "a", "value"},
        {"{\"a\":NaN}", WQ_E_FORMAT, "a", "value"},
        {"{\"a\":[\"x\",]}", WQ_E_FORMAT, "a", "string expected in an array"},
        {"{\"a\":[\"x\"}", WQ_E_FORMAT, "a", "',' or ']' expected"},
        {"{\"a\":[\"x\"", WQ_E_FORMAT, "a", "',' or ']' expected"},
        /* trailing garbage */
        {"{\"a\":1}x", WQ_E_FORMAT, "json", "text after the end of the object at byte 8"},
        {"{\"a\":1} {\"b\":2}", WQ_E_FORMAT, "json", "text after the end of the object at byte 9"},
        {"{}}", WQ_E_FORMAT, "json", "at byte 3"},
        /* types */
        {"[1,2]", WQ_E_TYPE, "json", "at byte 1"},
        {"{\"a\":{\"b\":1}}", WQ_E_TYPE, "a", "nested objects are not allowed: found '{' at byte 6"},
        {"{\"a\":[1]}", WQ_E_TYPE, "a", "only strings"},
        {"{\"a\":[\"x\",[\"y\"]]}", WQ_E_TYPE, "a", "only strings"},
        {"{\"a\":[\"x\",{}]}", WQ_E_TYPE, "a", "only strings"},
        {"{\"a\":[null]}", WQ_E_TYPE, "a", "only strings"},
        /* duplicates */
        {"{\"a\":1,\"b\":2,\"a\":3}", WQ_E_DUPFIELD, "a", "second time at byte 14"},
        {"{\"a\":1,\"\\u0061\":3}", WQ_E_DUPFIELD, "a", "second time"},
        /* UTF-8 and surrogates */
        {"{\"a\":\"\xff\"}", WQ_E_UTF8, "a", "invalid UTF-8 in a string at byte 7"},
        {"{\"a\":\"ok\xc0\x80\"}", WQ_E_UTF8, "a", "at byte 9"},
        {"{\"a\":\"\xed\xa0\x80\"}", WQ_E_UTF8, "a", "invalid UTF-8"},
        {"{\"\xe4\xb8\":1}", WQ_E_UTF8, "json", "at byte 3"},
        {"{\"a\":\"\\ud83d\"}", WQ_E_UTF8, "a", "not followed by a low surrogate"},
        {"{\"a\":\"\\ud83dx\"}", WQ_E_UTF8, "a", "not followed by a low surrogate"},
        {"{\"a\":\"\\ud83d\\u0041\"}", WQ_E_UTF8, "a", "not followed by a low surrogate"},
        {"{\"a\":\"\\ude00\"}", WQ_E_UTF8, "a", "lone low surrogate"},
        {"{\"a\":\"x\\u0000y\"}", WQ_E_UTF8, "a", "NUL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wq_json_object_t *obj = (wq_json_object_t *) &obj;    /* must be reset to NULL */
        wq_err_t err;
        wq_err_clear(&err);
        int rc = s_parse(bad[i].text, &obj, &err);
        if (rc != bad[i].code)
            fail_msg("%s: rc %d (%s), expected %d", bad[i].text, rc, err.text, bad[i].code);
        assert_null(obj);
        assert_int_equal(err.code, bad[i].code);
        if (strcmp(err.field, bad[i].field) != 0)
            fail_msg("%s: field '%s', expected '%s'", bad[i].text, err.field, bad[i].field);
        if (!strstr(err.text, bad[i].fragment))
            fail_msg("%s: text '%s' lacks '%s'", bad[i].text, err.text, bad[i].fragment);
    }
}

static void
test_limits(void **state)
{
    (void) state;
    wq_json_object_t *obj = NULL;
    wq_err_t err;
    /* 256 members pass, 257 do not. */
    size_t cap = 300 * 16 + 16;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int n = 256; n <= 257; n++) {
        size_t used = 0;
        used += (size_t) snprintf(text + used, cap - used, "{");
        for (int i = 0; i < n; i++)
            used += (size_t) snprintf(text + used, cap - used, "%s\"k%d\":%d", i ? "," : "", i, i);
        used += (size_t) snprintf(text + used, cap - used, "}");
        int rc = wq_json_parse_object(text, used, &obj, &err);
        if (n == 256) {
            assert_int_equal(rc, WQ_OK);
            assert_int_equal(obj->count, 256);
            assert_string_equal(wq_json_get(obj, "k255")->text, "255");
            wq_json_object_destroy(&obj);
        }
        else {
            assert_int_equal(rc, WQ_E_RANGE);
            assert_non_null(strstr(err.text, "more than 256 members"));
            assert_null(obj);
        }
    }
    free(text);
    /* A 64 KiB string passes, one byte more does not. */
    size_t big = 64 * 1024 + 1;
    text = malloc(big + 32);
    assert_non_null(text);
    for (size_t n = big - 1; n <= big; n++) {
        memcpy(text, "{\"s\":\"", 6);
        memset(text + 6, 'x', n);
        memcpy(text + 6 + n, "\"}", 2);
        int rc = wq_json_parse_object(text, n + 8, &obj, &err);
        if (n == big - 1) {
            assert_int_equal(rc, WQ_OK);
            assert_int_equal(strlen(wq_json_get(obj, "s")->text), n);
            wq_json_object_destroy(&obj);
        }
        else {
            assert_int_equal(rc, WQ_E_RANGE);
            assert_string_equal(err.field, "s");
        }
    }
    free(text);
    /* Length bounds the parse, not a NUL: "{}" inside a longer buffer. */
    assert_int_equal(wq_json_parse_object("{}garbage", 2, &obj, &err), WQ_OK);
    wq_json_object_destroy(&obj);
    assert_int_equal(wq_json_parse_object("{\"a\":1}", 6, &obj, &err), WQ_E_FORMAT);
}

static char *
s_written(const char *s)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    wq_json_write_string(f, s);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void
test_write_string(void **state)
{
    (void) state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", "\"\""},
        {"plain", "\"plain\""},
        {"长安区", "\"长安区\""},
        {"q\"b\\", "\"q\\\"b\\\\\""},
        {"a\nb\rc\td\be\ff", "\"a\\nb\\rc\\td\\be\\ff\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\""},
        {"/", "\"/\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = s_written(cases[i].in);
        assert_string_equal(out, cases[i].out);
        /* And it reads back as the same string. */
        char *doc = NULL;
        assert_true(asprintf(&doc, "{\"k\":%s}", out) > 0);
        wq_json_object_t *obj = NULL;
        wq_err_t err;
        int rc = s_parse(doc, &obj, &err);
        assert_int_equal(rc, WQ_OK);
        assert_string_equal(wq_json_get(obj, "k")->text, cases[i].in);
        wq_json_object_destroy(&obj);
        free(doc);
        free(out);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_record), cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_bad_input),    cmocka_unit_test(test_limits),
        cmocka_unit_test(test_write_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
