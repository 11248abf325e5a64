/*  i18n: with LANG=zh_CN.UTF-8 the programs' texts come out in Chinese from
    the catalog the build compiled; with LANG=C they stay English. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/i18n.h"

static void
test_chinese(void **state)
{
    (void) state;
    setenv("LANG", "zh_CN.UTF-8", 1);
    setenv("LANGUAGE", "zh_CN", 1);
    unsetenv("LC_ALL");
    unsetenv("LC_MESSAGES");
    wq_i18n_init();
    if (!setlocale(LC_MESSAGES, NULL) || strncmp(setlocale(LC_MESSAGES, NULL), "zh_CN", 5) != 0)
        fail_msg("the zh_CN.UTF-8 locale is missing: run scripts/bootstrap (locale-gen)");
    if (strcmp(_("English"), "中文") != 0)
        fail_msg("no Chinese catalog found in %s (is build/locale built?)", wq_i18n_localedir());
    assert_true(wq_i18n_chinese());
}

static void
test_english(void **state)
{
    (void) state;
    setenv("LANG", "C", 1);
    unsetenv("LANGUAGE");
    wq_i18n_init();
    assert_string_equal(_("English"), "English");
    assert_false(wq_i18n_chinese());
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chinese),
        cmocka_unit_test(test_english),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
