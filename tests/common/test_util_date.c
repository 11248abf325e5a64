/*  Dates and clocks (common/date.c): real and unreal dates, day numbers in
    both directions, China Standard Time formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/date.h"

static void
test_good_dates(void **state)
{
    (void) state;
    static const char *const good[] = {"2000-01-01", "2019-05-01", "2020-02-29", "2000-02-29",
                                       "2024-02-29", "2099-12-31", "2019-12-31", "2021-01-01"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        wq_err_t err;
        wq_err_clear(&err);
        assert_int_equal(wq_date_check(good[i], &err), WQ_OK);
        assert_int_equal(err.code, WQ_OK);
    }
}

static void
test_bad_dates(void **state)
{
    (void) state;
    wq_err_t err;
    /* Feb 29 in non-leap years, 2100 is not leap but out of range anyway. */
    assert_int_equal(wq_date_check("2019-02-29", &err), WQ_E_FORMAT);
    assert_string_equal(err.field, "date");
    assert_string_equal(err.text, "2019-02-29: February 2019 has 28 days");
    assert_int_equal(wq_date_check("2019-02-30", &err), WQ_E_FORMAT);
    assert_string_equal(err.text, "2019-02-30: February 2019 has 28 days");
    assert_int_equal(wq_date_check("2020-02-30", &err), WQ_E_FORMAT);
    assert_string_equal(err.text, "2020-02-30: February 2020 has 29 days");
    assert_int_equal(wq_date_check("2019-04-31", &err), WQ_E_FORMAT);
    assert_string_equal(err.text, "2019-04-31: April 2019 has 30 days");
    assert_int_equal(wq_date_check("2019-01-00", &err), WQ_E_FORMAT);
    assert_string_equal(err.text, "2019-01-00: January 2019 has 31 days");
    /* Month 13 and 00. */
    assert_int_equal(wq_date_check("2019-13-01", &err), WQ_E_FORMAT);
    assert_string_equal(err.text, "2019-13-01: there is no month 13");
    assert_int_equal(wq_date_check("2019-00-10", &err), WQ_E_FORMAT);
    assert_string_equal(err.text, "2019-00-10: there is no month 00");
    /* Years out of range. */
    assert_int_equal(wq_date_check("1999-12-31", &err), WQ_E_FORMAT);
    assert_string_equal(err.text, "1999-12-31: year 1999 is outside 2000-2099: check the year");
    assert_int_equal(wq_date_check("2100-01-01", &err), WQ_E_FORMAT);
    assert_non_null(strstr(err.text, "year 2100"));
    /* Syntax. */
    static const char *const syntax[] = {"", "2019-5-1", "2019/05/01", "20190501", "2019-05-01 ",
                                         " 2019-05-01", "2019-05-0a", "２019-05-01", "+019-05-01",
                                         "2019-05-01T00:00"};
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++) {
        assert_int_equal(wq_date_check(syntax[i], &err), WQ_E_FORMAT);
        assert_non_null(strstr(err.text, "YYYY-MM-DD"));
        assert_int_equal(wq_date_days(syntax[i]), -1);
    }
    assert_string_equal(err.text,
                        "\"2019-05-01T00:00\" is not a date in the form YYYY-MM-DD (e.g. 2019-05-01)");
    assert_int_equal(wq_date_check(NULL, &err), WQ_E_MISSING);
}

static void
test_days(void **state)
{
    (void) state;
    assert_int_equal(wq_date_days("2000-01-01"), 10957);
    assert_int_equal(wq_date_days("2019-05-01"), 18017);
    assert_int_equal(wq_date_days("2020-02-29"), 18321);
    assert_int_equal(wq_date_days("2020-12-31"), 18627);
    assert_int_equal(wq_date_days("2099-12-31"), 47481);
    assert_int_equal(wq_date_days("2019-02-29"), -1);
    char out[11];
    wq_date_from_days(0, out);
    assert_string_equal(out, "1970-01-01");
    wq_date_from_days(18321, out);
    assert_string_equal(out, "2020-02-29");
    wq_date_from_days(18322, out);
    assert_string_equal(out, "2020-03-01");
    /* Round trip over the whole range: every day, in order. */
    int32_t prev = wq_date_days("2000-01-01") - 1;
    for (int32_t d = 10957; d <= 47481; d++) {
        wq_date_from_days(d, out);
        assert_int_equal(wq_date_check(out, NULL), WQ_OK);
        assert_int_equal(wq_date_days(out), d);
        assert_int_equal(d, prev + 1);
        prev = d;
    }
    /* Outside four-digit years there is no answer. */
    wq_date_from_days(INT32_MAX, out);
    assert_string_equal(out, "0000-00-00");
    wq_date_from_days(INT32_MIN, out);
    assert_string_equal(out, "0000-00-00");
}

static void
test_month_and_format(void **state)
{
    (void) state;
    char month[8];
    wq_date_month("2019-05-01", month);
    assert_string_equal(month, "2019-05");
    char t[20];
    /* 2025-11-29 02:02:03.456 UTC is 10:02:03 in Beijing. */
    wq_time_format(1764381723456ull, t);
    assert_string_equal(t, "2025-11-29 10:02:03");
    /* 16:00 UTC is already the next day in China. */
    wq_time_format(1767196800000ull, t);    /* 2025-12-31 16:00 UTC */
    assert_string_equal(t, "2026-01-01 00:00:00");
    wq_time_format(0, t);
    assert_string_equal(t, "1970-01-01 08:00:00");
}

static void
test_clocks(void **state)
{
    (void) state;
    char today[11];
    wq_date_today(today);
    assert_int_equal(wq_date_check(today, NULL), WQ_OK);
    /* today is the CST date of now. */
    char now[20];
    uint64_t ms = wq_now_ms();
    wq_time_format(ms, now);
    char today2[11];
    wq_date_today(today2);
    /* A midnight may fall between the calls: then today2 is the next day. */
    assert_true(memcmp(now, today, 10) == 0 || memcmp(now, today2, 10) == 0);
    assert_true(ms > 1700000000000ull);
    uint64_t a = wq_mono_ms(), b = wq_mono_ms();
    assert_true(b >= a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_dates), cmocka_unit_test(test_bad_dates),
        cmocka_unit_test(test_days),       cmocka_unit_test(test_month_and_format),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
