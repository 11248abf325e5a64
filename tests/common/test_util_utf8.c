/*  Strict UTF-8 and display width (common/utf8.c): well-formed input of
    every length, each class of ill-formed input with its offset, control
    characters, and widths of mixed Chinese / ASCII text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/utf8.h"

#define S(lit) lit, sizeof(lit) - 1

static void
test_valid(void **state)
{
    (void) state;
    size_t off = 999;
    assert_true(wq_utf8_valid(S(""), &off));
    assert_true(wq_utf8_valid(S("abc"), &off));
    assert_true(wq_utf8_valid(S("石家庄市长安区"), &off));
    assert_true(wq_utf8_valid(S("\xc2\x80"), NULL));             /* U+0080, smallest 2-byte */
    assert_true(wq_utf8_valid(S("\xdf\xbf"), NULL));             /* U+07FF */
    assert_true(wq_utf8_valid(S("\xe0\xa0\x80"), NULL));         /* U+0800 */
    assert_true(wq_utf8_valid(S("\xed\x9f\xbf"), NULL));         /* U+D7FF, below surrogates */
    assert_true(wq_utf8_valid(S("\xee\x80\x80"), NULL));         /* U+E000, above surrogates */
    assert_true(wq_utf8_valid(S("\xef\xbf\xbf"), NULL));         /* U+FFFF */
    assert_true(wq_utf8_valid(S("\xf0\x90\x80\x80"), NULL));     /* U+10000 */
    assert_true(wq_utf8_valid(S("\xf4\x8f\xbf\xbf"), NULL));     /* U+10FFFF */
    assert_true(wq_utf8_valid(S("𠀀 and 😀"), NULL));
    /* Embedded NUL is a valid code point for the byte-length API. */
    assert_true(wq_utf8_valid("a\0b", 3, NULL));
    assert_int_equal(off, 999);    /* untouched on success */
}

static void
test_invalid(void **state)
{
    (void) state;
    static const struct {
        const char *s;
        size_t len;
        size_t off;
        const char *what;
    } bad[] = {
        {S("\x80"), 0, "lone continuation byte"},
        {S("ab\xbf"), 2, "continuation byte after ASCII"},
        {S("\xc0\x80"), 0, "overlong NUL"},
        {S("\xc1\xbf"), 0, "overlong 2-byte"},
        {S("\xe0\x80\xaf"), 0, "overlong 3-byte '/'"},
        {S("\xe0\x9f\xbf"), 0, "overlong 3-byte U+07FF"},
        {S("\xf0\x80\x80\xaf"), 0, "overlong 4-byte"},
        {S("\xf0\x8f\xbf\xbf"), 0, "overlong 4-byte U+FFFF"},
        {S("x\xed\xa0\x80"), 1, "high surrogate U+D800"},
        {S("\xed\xbf\xbf"), 0, "low surrogate U+DFFF"},
        {S("\xed\xa0\xbd\xed\xb8\x80"), 0, "CESU-8 surrogate pair"},
        {S("\xf4\x90\x80\x80"), 0, "U+110000"},
        {S("\xf5\x80\x80\x80"), 0, "lead byte F5"},
        {S("\xf8\x88\x80\x80\x80"), 0, "5-byte form"},
        {S("\xfe"), 0, "FE"},
        {S("\xff"), 0, "FF"},
        {S("中\xe6\x96"), 3, "truncated at the end"},
        {S("\xe4\xb8"), 0, "truncated 3-byte"},
        {S("\xf0\x9f\x98"), 0, "truncated 4-byte"},
        {S("\xe4\xb8x"), 0, "truncated then ASCII"},
        {S("ok\xc3"), 2, "truncated 2-byte at the end"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t off = 999;
        if (wq_utf8_valid(bad[i].s, bad[i].len, &off))
            fail_msg("accepted: %s", bad[i].what);
        if (off != bad[i].off)
            fail_msg("%s: offset %zu, expected %zu", bad[i].what, off, bad[i].off);
        assert_false(wq_utf8_text_ok(bad[i].s, bad[i].len, true, NULL));
    }
    /* Truncation by length, not by NUL: a valid string cut mid-character. */
    assert_false(wq_utf8_valid("中", 2, NULL));
    assert_true(wq_utf8_valid("中", 3, NULL));
}

static void
test_text_ok(void **state)
{
    (void) state;
    size_t off = 999;
    assert_true(wq_utf8_text_ok(S("邢台县 visit, 2019"), false, &off));
    assert_false(wq_utf8_text_ok(S("line1\nline2"), false, &off));
    assert_int_equal(off, 5);
    assert_true(wq_utf8_text_ok(S("line1\nline2\tend"), true, &off));
    assert_false(wq_utf8_text_ok(S("a\tb"), false, &off));
    assert_int_equal(off, 1);
    assert_false(wq_utf8_text_ok(S("a\rb"), true, &off));    /* CR is not allowed even multi-line */
    assert_int_equal(off, 1);
    assert_false(wq_utf8_text_ok("ab\0", 3, true, &off));
    assert_int_equal(off, 2);
    assert_false(wq_utf8_text_ok(S("\x1b[31m"), true, &off));    /* ESC */
    assert_int_equal(off, 0);
    assert_false(wq_utf8_text_ok(S("del\x7f"), true, &off));
    assert_int_equal(off, 3);
    assert_false(wq_utf8_text_ok(S("中\xc2\x85"), true, &off));    /* C1 NEL, U+0085 */
    assert_int_equal(off, 3);
    assert_false(wq_utf8_text_ok(S("\xc2\x9f"), false, &off));    /* U+009F */
    assert_true(wq_utf8_text_ok(S("\xc2\xa0"), false, &off));     /* U+00A0 is not control */
    assert_false(wq_utf8_text_ok(S("ok\xc0\x80"), true, &off));
    assert_int_equal(off, 2);
}

static void
test_chars_and_width(void **state)
{
    (void) state;
    assert_int_equal(wq_utf8_chars(S("")), 0);
    assert_int_equal(wq_utf8_chars(S("abc")), 3);
    assert_int_equal(wq_utf8_chars(S("长安区")), 3);
    assert_int_equal(wq_utf8_chars(S("A长😀")), 3);
    assert_int_equal(wq_utf8_width(S("")), 0);
    assert_int_equal(wq_utf8_width(S("abc")), 3);
    assert_int_equal(wq_utf8_width(S("长安区")), 6);
    assert_int_equal(wq_utf8_width(S("石家庄 Shijiazhuang")), 6 + 1 + 12);
    assert_int_equal(wq_utf8_width(S("问题：大气")), 10);          /* fullwidth colon */
    assert_int_equal(wq_utf8_width(S("「整改」。")), 10);          /* CJK punctuation */
    assert_int_equal(wq_utf8_width(S("ＡＢ12")), 6);               /* fullwidth Latin */
    assert_int_equal(wq_utf8_width(S("ｱｲ")), 2);                  /* halfwidth katakana */
    assert_int_equal(wq_utf8_width(S("かな한글")), 8);              /* kana, Hangul */
    assert_int_equal(wq_utf8_width(S("𠀀")), 2);                  /* CJK Extension B */
    assert_int_equal(wq_utf8_width(S("😀")), 2);
    assert_int_equal(wq_utf8_width(S("e\xcc\x81")), 1);          /* e + combining acute */
    assert_int_equal(wq_utf8_width(S("a\xe2\x80\x8b" "b")), 2);  /* zero width space */
    assert_int_equal(wq_utf8_width(S("é·ü")), 3);                 /* Latin-1: narrow */
    assert_int_equal(wq_utf8_width(S("\xe3\x80\x80")), 2);       /* ideographic space */
    assert_int_equal(wq_utf8_width(S("\xe3\x80\xbf")), 1);       /* U+303F half fill space: narrow */
    assert_int_equal(wq_utf8_width(S("\xea\xb0\x80\xed\x9e\xa3")), 4);    /* U+AC00, U+D7A3 */
    /* Ill-formed bytes count one column each rather than crashing. */
    assert_int_equal(wq_utf8_width(S("a\xff" "b")), 3);
    assert_int_equal(wq_utf8_chars(S("a\xff" "b")), 3);
}

static void
test_fit(void **state)
{
    (void) state;
    const char *s = "长安区ab";
    size_t len = strlen(s);
    assert_int_equal(wq_utf8_fit(s, len, 0), 0);
    assert_int_equal(wq_utf8_fit(s, len, 1), 0);    /* half a Han character does not fit */
    assert_int_equal(wq_utf8_fit(s, len, 2), 3);
    assert_int_equal(wq_utf8_fit(s, len, 3), 3);
    assert_int_equal(wq_utf8_fit(s, len, 5), 6);
    assert_int_equal(wq_utf8_fit(s, len, 6), 9);
    assert_int_equal(wq_utf8_fit(s, len, 7), 10);
    assert_int_equal(wq_utf8_fit(s, len, 8), 11);
    assert_int_equal(wq_utf8_fit(s, len, 100), 11);
    /* A combining mark stays with its base. */
    assert_int_equal(wq_utf8_fit(S("e\xcc\x81x"), 1), 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),           cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_text_ok),         cmocka_unit_test(test_chars_and_width),
        cmocka_unit_test(test_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
