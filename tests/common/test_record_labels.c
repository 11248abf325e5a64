/*  record labels: every enum value, record type and field has one Chinese
    label; text input takes the label or the code (any case); the wire
    decoder still takes only codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include "common/record.h"

static const wq_field_t s_enum_fields[] = {WQ_F_FOCUS, WQ_F_METHOD, WQ_F_CATEGORY, WQ_F_SEVERITY,
                                           WQ_F_STATUS, WQ_F_KIND, WQ_F_CHANNEL, WQ_F_CLASS};

static void
test_every_value_has_a_label(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_enum_fields / sizeof s_enum_fields[0]; i++) {
        wq_field_t f = s_enum_fields[i];
        assert_true(wq_field_is_enum(f));
        assert_true(wq_enum_count(f) >= 3);
        for (int v = 1; v <= wq_enum_count(f); v++) {
            const char *label = wq_enum_label(f, v), *code = wq_enum_name(f, v);
            assert_string_not_equal(label, "?");
            assert_true((unsigned char) label[0] >= 0x80);  /* Chinese */
            assert_int_equal(wq_enum_parse_text(f, label), v);
            assert_int_equal(wq_enum_parse_text(f, code), v);
            char upper[64];
            size_t n = strlen(code);
            for (size_t k = 0; k <= n; k++)
                upper[k] = (code[k] >= 'a' && code[k] <= 'z') ? (char) (code[k] - 32) : code[k];
            assert_int_equal(wq_enum_parse_text(f, upper), v);
            /* the strict wire parser takes codes only */
            assert_int_equal(wq_enum_parse(f, label), 0);
        }
        assert_string_equal(wq_enum_label(f, wq_enum_count(f) + 1), "?");
    }
    assert_false(wq_field_is_enum(WQ_F_DATE));
    assert_int_equal(wq_enum_count(WQ_F_DATE), 0);
    assert_int_equal(wq_enum_parse_text(WQ_F_METHOD, " 实地走访\u3000"), WQ_METHOD_FIELD);
    assert_int_equal(wq_enum_parse_text(WQ_F_CHANNEL, "政企联系信息交流平台"), WQ_CHANNEL_PLATFORM);
    assert_int_equal(wq_enum_parse_text(WQ_F_CLASS, "从严从紧"), WQ_CLASS_STRICT);
    assert_int_equal(wq_enum_parse_text(WQ_F_KIND, "送服务"), WQ_SERVICE_SERVICE);
    assert_int_equal(wq_enum_parse_text(WQ_F_METHOD, "走访"), 0);
}

static void
test_types_and_headers(void **state)
{
    (void) state;
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++) {
        assert_int_equal(wq_rec_type_parse_text(wq_rec_type_label((wq_rec_type_t) t)), t);
        assert_int_equal(wq_rec_type_parse_text(wq_rec_type_name((wq_rec_type_t) t)), t);
    }
    assert_int_equal(wq_rec_type_parse_text("Visit"), WQ_REC_VISIT);
    assert_int_equal(wq_rec_type_parse("走访"), WQ_REC_NONE);
    for (int f = 0; f < WQ_F_COUNT; f++) {
        assert_string_not_equal(wq_field_label((wq_field_t) f), "?");
        assert_int_equal(wq_field_parse_header(wq_field_label((wq_field_t) f)), f);
        assert_int_equal(wq_field_parse_header(wq_field_name((wq_field_t) f)), f);
    }
    assert_int_equal(wq_field_parse_header("DeadLine"), WQ_F_DEADLINE);
    assert_int_equal(wq_field_parse_header(" 信用代码 "), WQ_F_ENT);
    assert_int_equal(wq_field_parse_header("nonsense"), WQ_F_COUNT);
}

static void
test_set_text_takes_labels(void **state)
{
    (void) state;
    wq_err_t e;
    wq_record_t *r = wq_record_new(WQ_REC_VISIT);
    assert_int_equal(wq_record_set_text(r, "method", "执法检查", &e), WQ_OK);
    assert_int_equal(r->method, WQ_METHOD_ENFORCEMENT);
    assert_int_equal(wq_record_set_text(r, "method", "走访", &e), WQ_E_UNKNOWN);
    /* the error names the choices by label and code */
    assert_non_null(strstr(e.text, "实地走访 (field_visit)"));
    wq_record_destroy(&r);
    r = wq_record_new(WQ_REC_ENTERPRISE);
    assert_int_equal(wq_record_set_text(r, "above_size", "是", &e), WQ_OK);
    assert_true(r->above_size);
    wq_record_destroy(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_value_has_a_label),
        cmocka_unit_test(test_types_and_headers),
        cmocka_unit_test(test_set_text_takes_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
