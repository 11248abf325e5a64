/*  Unified Social Credit Code checks (common/creditcode.c): valid codes
    computed by hand from GB 32100-2015, and every kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/creditcode.h"

static void
test_valid_codes(void **state)
{
    (void) state;
    /* The example of the campaign brief, and codes whose check characters
       were worked out independently (sum of index * 3^i mod 31). */
    static const char *const good[] = {
        "91130102MA07L5QK9L", "91130000104322836K", "12130000000000000U",
        "52130521MJ0000000J", "9113010000000000YQ", "91130100MA0CHEXT06",
        "000000000000000000",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        wq_err_t err;
        wq_err_clear(&err);
        assert_int_equal(wq_creditcode_check(good[i], &err), WQ_OK);
        assert_int_equal(err.code, WQ_OK);
        assert_int_equal(wq_creditcode_checkchar(good[i]), good[i][17]);
    }
    /* NULL err is allowed. */
    assert_int_equal(wq_creditcode_check("91130102MA07L5QK9L", NULL), WQ_OK);
}

static void
test_wrong_check_char(void **state)
{
    (void) state;
    wq_err_t err;
    assert_int_equal(wq_creditcode_check("91130102MA07L5QK9F", &err), WQ_E_CHECKCHAR);
    assert_int_equal(err.code, WQ_E_CHECKCHAR);
    assert_string_equal(err.field, "credit_code");
    /* The text names the expected character. */
    assert_non_null(strstr(err.text, "'L'"));
    assert_non_null(strstr(err.text, "'F'"));
    /* Two swapped characters are caught too. */
    assert_int_equal(wq_creditcode_check("91131002MA07L5QK9L", &err), WQ_E_CHECKCHAR);
    assert_int_equal(wq_creditcode_check("91130000104322836L", &err), WQ_E_CHECKCHAR);
    assert_non_null(strstr(err.text, "'K'"));
}

static void
test_wrong_length(void **state)
{
    (void) state;
    wq_err_t err;
    assert_int_equal(wq_creditcode_check("", &err), WQ_E_FORMAT);
    assert_int_equal(wq_creditcode_check("91130102MA07L5QK9", &err), WQ_E_FORMAT);
    assert_non_null(strstr(err.text, "17 characters"));
    assert_int_equal(wq_creditcode_check("91130102MA07L5QK9LL", &err), WQ_E_FORMAT);
    assert_non_null(strstr(err.text, "19 characters"));
    /* Non-ASCII input is not echoed (the text must stay valid UTF-8). */
    assert_int_equal(wq_creditcode_check("\xe9\x94\x99\xff", &err), WQ_E_FORMAT);
    assert_null(strstr(err.text, "\xff"));
    assert_int_equal(wq_creditcode_check(NULL, &err), WQ_E_MISSING);
}

static void
test_bad_characters(void **state)
{
    (void) state;
    wq_err_t err;
    /* Lower case is an error, never silently upper-cased. */
    assert_int_equal(wq_creditcode_check("91130102ma07l5qk9l", &err), WQ_E_FORMAT);
    assert_non_null(strstr(err.text, "character 9"));
    assert_non_null(strstr(err.text, "upper case"));
    /* The five letters the standard leaves out, each in position 10. */
    static const char excluded[] = "IOZSV";
    for (size_t i = 0; i < 5; i++) {
        char code[19] = "91130102MA07L5QK9L";
        code[9] = excluded[i];
        assert_int_equal(wq_creditcode_check(code, &err), WQ_E_FORMAT);
        assert_non_null(strstr(err.text, "character 10"));
        assert_non_null(strstr(err.text, "I, O, Z, S and V"));
        assert_int_equal(wq_creditcode_checkchar(code), 0);
    }
    /* Punctuation, a space, a control character. */
    assert_int_equal(wq_creditcode_check("91130102-A07L5QK9L", &err), WQ_E_FORMAT);
    assert_non_null(strstr(err.text, "character 9 ('-')"));
    assert_int_equal(wq_creditcode_check("91130102 A07L5QK9L", &err), WQ_E_FORMAT);
    assert_int_equal(wq_creditcode_check("91130102\tA07L5QK9L", &err), WQ_E_FORMAT);
    assert_non_null(strstr(err.text, "0x09"));
    /* A bad check character position itself (lower case l). */
    assert_int_equal(wq_creditcode_check("91130102MA07L5QK9l", &err), WQ_E_FORMAT);
    assert_non_null(strstr(err.text, "character 18"));
}

static void
test_checkchar(void **state)
{
    (void) state;
    assert_int_equal(wq_creditcode_checkchar("91130102MA07L5QK9"), 'L');
    assert_int_equal(wq_creditcode_checkchar("9113010000000000Y"), 'Q');
    assert_int_equal(wq_creditcode_checkchar("91130102ma07L5QK9"), 0);
    assert_int_equal(wq_creditcode_checkchar("9113"), 0);    /* too short: NUL not in alphabet */
    assert_int_equal(wq_creditcode_checkchar(NULL), 0);
    /* Every generated code passes the check. */
    char code[19] = "91130102MA07L5QK9?";
    static const char alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for (size_t i = 0; i < 31; i++) {
        code[16] = alpha[i];
        code[17] = wq_creditcode_checkchar(code);
        assert_int_equal(wq_creditcode_check(code, NULL), WQ_OK);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_codes),     cmocka_unit_test(test_wrong_check_char),
        cmocka_unit_test(test_wrong_length),    cmocka_unit_test(test_bad_characters),
        cmocka_unit_test(test_checkchar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
