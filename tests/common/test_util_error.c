/*  The error table and wq_err_t helpers (common/error.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/utf8.h"

static void
test_table(void **state)
{
    (void) state;
    /* Every defined code has its own name and a text; the numbers are
       part of the wire protocol. */
    static const struct {
        int code;
        const char *name;
    } codes[] = {
        {0, "OK"},           {1, "E_NOMEM"},      {2, "E_IO"},        {3, "E_FULL"},
        {10, "E_TRUNCATED"}, {11, "E_TYPE"},      {12, "E_RANGE"},    {13, "E_VERSION"},
        {14, "E_UNKNOWN"},   {15, "E_MISSING"},   {16, "E_UTF8"},     {17, "E_CHECKCHAR"},
        {18, "E_FORMAT"},    {19, "E_COUNTY"},    {20, "E_FOREIGN"},  {21, "E_ID"},
        {22, "E_GAP"},       {23, "E_AUTH"},      {24, "E_STATE"},    {25, "E_NOTFOUND"},
        {26, "E_CONFIG"},    {27, "E_TRAILING"},  {28, "E_DUPFIELD"}, {29, "E_CORRUPT"},
        {30, "E_BUSY"},      {31, "E_INTERNAL"},  {32, "E_QUOTA"},
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(wq_errname(codes[i].code), codes[i].name);
        const char *text = wq_strerror(codes[i].code);
        assert_non_null(text);
        assert_string_not_equal(text, "unknown error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(text, wq_strerror(codes[j].code));
    }
    assert_string_equal(wq_strerror(WQ_E_UTF8), "invalid UTF-8 or control character");
    assert_string_equal(wq_strerror(4), "unknown error");
    assert_string_equal(wq_strerror(-1), "unknown error");
    assert_string_equal(wq_strerror(33), "unknown error");
    assert_string_equal(wq_errname(9), "E_UNKNOWN_CODE");
}

static void
test_set_clear_format(void **state)
{
    (void) state;
    wq_err_t err;
    wq_err_clear(&err);
    assert_int_equal(err.code, WQ_OK);
    assert_string_equal(err.field, "");
    assert_string_equal(err.text, "");
    assert_int_equal(wq_err_set(&err, WQ_E_RANGE, "name", "%zu bytes, at most %d", (size_t) 300, 200),
                     WQ_E_RANGE);
    assert_int_equal(err.code, WQ_E_RANGE);
    assert_string_equal(err.field, "name");
    assert_string_equal(err.text, "300 bytes, at most 200");
    char buf[512];
    assert_ptr_equal(wq_err_format(&err, buf, sizeof buf), buf);
    assert_string_equal(buf, "name: 300 bytes, at most 200 (E_RANGE)");
    /* No field. */
    wq_err_set(&err, WQ_E_IO, NULL, "disk on fire");
    assert_string_equal(err.field, "");
    assert_string_equal(wq_err_format(&err, buf, sizeof buf), "disk on fire (E_IO)");
    /* Empty text: the table's. */
    wq_err_set(&err, WQ_E_GAP, "seq", "%s", "");
    assert_string_equal(wq_err_format(&err, buf, sizeof buf),
                        "seq: batch does not start at the expected sequence number (E_GAP)");
    /* NULL err: only the code. */
    assert_int_equal(wq_err_set(NULL, WQ_E_AUTH, "peer", "no"), WQ_E_AUTH);
    wq_err_clear(NULL);
    /* Truncation: long field and text are cut, NUL-terminated. */
    char longtext[1000];
    memset(longtext, 'x', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    wq_err_set(&err, WQ_E_FORMAT, longtext, "%s", longtext);
    assert_int_equal(strlen(err.field), sizeof err.field - 1);
    assert_int_equal(strlen(err.text), sizeof err.text - 1);
    /* A small output buffer is cut too. */
    char small[8];
    wq_err_set(&err, WQ_E_FORMAT, "f", "abcdef");
    assert_string_equal(wq_err_format(&err, small, sizeof small), "f: abcd");
}

/*  A long Chinese text is cut at the buffer's end in the middle of a
    character, and raw bad input is quoted: the stored text must still be
    valid single-line UTF-8 (it goes into ACKs and logs). */
static void
test_text_stays_printable_utf8(void **state)
{
    (void) state;
    wq_err_t err;
    char big[1200] = "";
    for (int i = 0; i < 300; i++)
        strcat(big, "\xe6\xb2\xb3");    /* 河, 3 bytes each: 900 bytes */
    wq_err_set(&err, WQ_E_RANGE, "name", "x%s", big);   /* 901 bytes: cut inside a character */
    assert_true(wq_utf8_text_ok(err.text, strlen(err.text), false, NULL));
    assert_true(strlen(err.text) > 300);

    wq_err_set(&err, WQ_E_UTF8, "bad\xff", "value \"\xc3\x28\" has\ta tab\n");
    assert_true(wq_utf8_text_ok(err.text, strlen(err.text), false, NULL));
    assert_true(wq_utf8_text_ok(err.field, strlen(err.field), false, NULL));
    assert_string_equal(err.text, "value \"?(\" has?a tab?");
    assert_string_equal(err.field, "bad?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_set_clear_format),
        cmocka_unit_test(test_text_stays_printable_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
