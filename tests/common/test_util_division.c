/*  Hebei divisions (common/division.c): the embedded tables, county checks
    by activity date across Xingtai's 2020 reorganisation, functional zones,
    rollups, and thread-safe first use. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/division.h"

/* Runs first: several threads race to load the table. */
static void *
s_racer(void *arg)
{
    (void) arg;
    const wq_division_t *d = wq_division_find("130102");
    return (void *) d;
}

static void
test_concurrent_first_use(void **state)
{
    (void) state;
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, s_racer, NULL), 0);
    const void *first = NULL;
    for (int i = 0; i < 8; i++) {
        void *r = NULL;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_non_null(r);
        if (!first)
            first = r;
        assert_ptr_equal(r, first);
    }
}

static void
test_table_contents(void **state)
{
    (void) state;
    size_t n = 0, province = 0, city = 0, county = 0, zone = 0, current = 0, in2019 = 0;
    const wq_division_t *prev = NULL;
    for (const wq_division_t *d; (d = wq_division_at(n)) != NULL; n++) {
        if (prev)
            assert_true(strcmp(prev->code, d->code) < 0);    /* sorted, no duplicates */
        prev = d;
        province += d->level == WQ_LEVEL_PROVINCE;
        city += d->level == WQ_LEVEL_CITY;
        county += d->level == WQ_LEVEL_COUNTY;
        zone += d->level == WQ_LEVEL_ZONE;
        current += d->current;
        in2019 += d->in_2019;
        assert_int_equal(strlen(d->code), 6);
        assert_true(strlen(d->name) > 0);
        if (d->level == WQ_LEVEL_PROVINCE)
            assert_string_equal(d->parent, "");
        else
            assert_int_equal(strlen(d->parent), 6);
    }
    /* 179 current rows + 23 zones + 3 codes of 2019 only (SOURCES.md). */
    assert_int_equal(n, 205);
    assert_int_equal(province, 1);
    assert_int_equal(city, 11);
    assert_int_equal(county, 170);
    assert_int_equal(zone, 23);
    assert_int_equal(current, 202);
    assert_int_equal(in2019, 1 + 11 + 168 + 23);
}

static void
test_find(void **state)
{
    (void) state;
    const wq_division_t *d = wq_division_find("130102");
    assert_non_null(d);
    assert_string_equal(d->name, "长安区");
    assert_int_equal(d->level, WQ_LEVEL_COUNTY);
    assert_string_equal(d->parent, "130100");
    assert_true(d->current);
    assert_true(d->in_2019);
    assert_null(d->retired_to);
    /* Renamed in 2020: today's name, no retirement. */
    d = wq_division_find("130502");
    assert_non_null(d);
    assert_string_equal(d->name, "襄都区");
    assert_true(d->current && d->in_2019);
    assert_null(d->retired_to);
    /* Abolished. */
    d = wq_division_find("130521");
    assert_non_null(d);
    assert_string_equal(d->name, "邢台县");
    assert_false(d->current);
    assert_true(d->in_2019);
    assert_string_equal(d->retired_to, "130502;130503");
    /* New in 2020. */
    d = wq_division_find("130505");
    assert_non_null(d);
    assert_string_equal(d->name, "任泽区");
    assert_true(d->current);
    assert_false(d->in_2019);
    d = wq_division_find("130000");
    assert_non_null(d);
    assert_int_equal(d->level, WQ_LEVEL_PROVINCE);
    assert_string_equal(d->name, "河北省");
    d = wq_division_find("130171");
    assert_non_null(d);
    assert_int_equal(d->level, WQ_LEVEL_ZONE);
    assert_string_equal(d->parent, "130100");
    assert_null(wq_division_find("139999"));
    assert_null(wq_division_find("110101"));    /* Beijing: not Hebei */
    assert_null(wq_division_find("13010"));
    assert_null(wq_division_find("1301020"));
    assert_null(wq_division_find(""));
    assert_null(wq_division_find(NULL));
}

static void
test_check_county(void **state)
{
    (void) state;
    wq_err_t err;
    wq_err_clear(&err);
    /* Current codes: valid at any date. */
    assert_int_equal(wq_division_check_county("130102", "2019-05-01", &err), WQ_OK);
    assert_int_equal(wq_division_check_county("130102", "2026-11-29", &err), WQ_OK);
    assert_int_equal(wq_division_check_county("130505", "2019-05-01", &err), WQ_OK);
    assert_int_equal(wq_division_check_county("130502", "2021-01-01", &err), WQ_OK);
    /* Functional zones are county-level reporting units. */
    assert_int_equal(wq_division_check_county("130171", "2026-11-29", &err), WQ_OK);
    assert_int_equal(wq_division_check_county("131172", "2019-05-01", &err), WQ_OK);
    assert_int_equal(err.code, WQ_OK);
    /* Retired: fine in 2019 and 2020, not after. */
    assert_int_equal(wq_division_check_county("130521", "2019-05-01", &err), WQ_OK);
    assert_int_equal(wq_division_check_county("130521", "2020-12-31", &err), WQ_OK);
    assert_int_equal(wq_division_check_county("130521", "2021-01-01", &err), WQ_E_COUNTY);
    assert_string_equal(err.field, "county");
    assert_string_equal(err.text,
                        "130521 (邢台县) was retired in the 2020 reorganisation and is valid "
                        "only for activities up to 2020-12-31; for 2021-01-01 use 130502 "
                        "(襄都区) or 130503 (信都区)");
    assert_int_equal(wq_division_check_county("130526", "2022-03-04", &err), WQ_E_COUNTY);
    assert_non_null(strstr(err.text, "use 130505 (任泽区)"));
    assert_int_equal(wq_division_check_county("130527", "2021-01-01", &err), WQ_E_COUNTY);
    assert_non_null(strstr(err.text, "use 130506 (南和区)"));
    /* A retired code needs a real date to decide. */
    assert_int_equal(wq_division_check_county("130521", "2019-02-30", &err), WQ_E_FORMAT);
    assert_string_equal(err.field, "date");
    /* Unknown. */
    assert_int_equal(wq_division_check_county("139999", "2019-05-01", &err), WQ_E_COUNTY);
    assert_non_null(strstr(err.text, "139999 is not a Hebei county-level code"));
    /* Not county level. */
    assert_int_equal(wq_division_check_county("130100", "2019-05-01", &err), WQ_E_COUNTY);
    assert_non_null(strstr(err.text, "130100 (石家庄市) is a city, not a county-level unit"));
    assert_int_equal(wq_division_check_county("130000", "2019-05-01", &err), WQ_E_COUNTY);
    assert_non_null(strstr(err.text, "is a province"));
    /* Syntax. */
    static const char *const bad[] = {"13010", "1301021", "13010a", "", "130 02", "１３０１０２"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(wq_division_check_county(bad[i], "2019-05-01", &err), WQ_E_FORMAT);
        assert_string_equal(err.field, "county");
    }
    assert_int_equal(wq_division_check_county(NULL, "2019-05-01", &err), WQ_E_FORMAT);
}

static void
test_rollup(void **state)
{
    (void) state;
    char out[7];
    wq_division_rollup("130102", WQ_LEVEL_CITY, out);
    assert_string_equal(out, "130100");
    wq_division_rollup("130102", WQ_LEVEL_PROVINCE, out);
    assert_string_equal(out, "130000");
    wq_division_rollup("130102", WQ_LEVEL_COUNTY, out);
    assert_string_equal(out, "130102");
    /* A retired county still rolls up to its city; a zone too. */
    wq_division_rollup("130521", WQ_LEVEL_CITY, out);
    assert_string_equal(out, "130500");
    wq_division_rollup("131172", WQ_LEVEL_CITY, out);
    assert_string_equal(out, "131100");
    wq_division_rollup("131172", WQ_LEVEL_PROVINCE, out);
    assert_string_equal(out, "130000");
    /* Every county's city rollup is its parent in the table. */
    const wq_division_t *d;
    for (size_t i = 0; (d = wq_division_at(i)) != NULL; i++) {
        if (d->level == WQ_LEVEL_COUNTY || d->level == WQ_LEVEL_ZONE) {
            wq_division_rollup(d->code, WQ_LEVEL_CITY, out);
            assert_string_equal(out, d->parent);
        }
    }
    wq_division_rollup("1301", WQ_LEVEL_CITY, out);
    assert_string_equal(out, "");
}

static void
test_levels(void **state)
{
    (void) state;
    assert_int_equal(wq_level_parse("province"), WQ_LEVEL_PROVINCE);
    assert_int_equal(wq_level_parse("city"), WQ_LEVEL_CITY);
    assert_int_equal(wq_level_parse("county"), WQ_LEVEL_COUNTY);
    assert_int_equal(wq_level_parse("zone"), WQ_LEVEL_ZONE);
    assert_int_equal(wq_level_parse("County"), 0);
    assert_int_equal(wq_level_parse(""), 0);
    assert_int_equal(wq_level_parse(NULL), 0);
    assert_string_equal(wq_level_name(WQ_LEVEL_PROVINCE), "province");
    assert_string_equal(wq_level_name(WQ_LEVEL_CITY), "city");
    assert_string_equal(wq_level_name(WQ_LEVEL_COUNTY), "county");
    assert_string_equal(wq_level_name(WQ_LEVEL_ZONE), "zone");
    assert_string_equal(wq_level_name((wq_level_t) 9), "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_first_use), cmocka_unit_test(test_table_contents),
        cmocka_unit_test(test_find),                 cmocka_unit_test(test_check_county),
        cmocka_unit_test(test_rollup),               cmocka_unit_test(test_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
