/*  casetext: an enterprise's case file (wanqi-query enterprise's table) in
    the reader's language: every summary shape of collector/queries.c's
    s_event_summary, the type, status and effect cells, in Chinese under
    LANG=zh_CN.UTF-8 and unchanged in English under LANG=C. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/casetext.h"
#include "common/error.h"
#include "common/i18n.h"

/*  Each summary as collector/queries.c writes it, and in Chinese. */
static const struct {
    const char *type, *en, *zh;
} s_cases[] = {
    {"enterprise", "河北永德涂料集团有限公司; C2641", "河北永德涂料集团有限公司；行业 C2641"},
    {"visit", "symposium: 座谈了解到：制度不健全。", "座谈：座谈了解到：制度不健全。"},
    {"problem", "other/general: 环保管理制度不健全", "其他（一般）：环保管理制度不健全"},
    {"plan", "deadline 2019-07-21: 完善环保管理制度", "整改期限 2019-07-21：完善环保管理制度"},
    {"progress", "in_progress: 正在采购安装设备", "整改中：正在采购安装设备"},
    {"service", "service: 送服务：对接治理单位", "送服务：送服务：对接治理单位"},
    {"classification", "shutdown: 依法取缔", "取缔：依法取缔"},
    {"grading", "grade C (C2641)", "绩效分级 C级（行业 C2641）"},
    {"grading", "grade B (C1351): 完成深度治理后重新评级", "绩效分级 B级（行业 C1351）：完成深度治理后重新评级"},
    {"correction", "corrects 130102-01/51b08f69/7 (name): 企业名称录入有误",
     "更正 130102-01/51b08f69/7（企业名称）：企业名称录入有误"},
    {"correction", "corrects 130102-01/51b08f69/38 (deadline,measures): 录入错误",
     "更正 130102-01/51b08f69/38（整改期限、整改措施）：录入错误"},
    {"retraction", "retracts 130102-01/51b08f69/19: 重复录入", "撤回 130102-01/51b08f69/19：重复录入"},
    /* Shapes not known are left as they are. */
    {"visit", "no_such_method: 文字", "no_such_method: 文字"},
    {"correction", "corrects X (no_such_field): 理由", "corrects X (no_such_field): 理由"},
    {"answer", "答复内容: 含冒号", "答复内容: 含冒号"},
};

static void
s_locale(const char *lang)
{
    setenv("LANG", lang, 1);
    if (strncmp(lang, "zh", 2) == 0)
        setenv("LANGUAGE", "zh_CN", 1);
    else
        unsetenv("LANGUAGE");
    unsetenv("LC_ALL");
    unsetenv("LC_MESSAGES");
    wq_i18n_init();
}

static void
test_chinese(void **state)
{
    (void) state;
    s_locale("zh_CN.UTF-8");
    if (!wq_i18n_chinese())
        fail_msg("no Chinese: the zh_CN.UTF-8 locale (scripts/bootstrap) or build/locale is missing");
    char out[512];
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        wq_casetext_summary(s_cases[i].type, s_cases[i].en, out, sizeof out);
        assert_string_equal(out, s_cases[i].zh);
    }
    assert_string_equal(wq_casetext_value("type", "correction"), "更正");
    assert_string_equal(wq_casetext_value("status", "in_progress"), "整改中");
    assert_string_equal(wq_casetext_value("status", "shutdown"), "取缔");
    assert_string_equal(wq_casetext_value("status", "C"), "C级");
    assert_string_equal(wq_casetext_value("status", "unanswered"), "未答复");
    assert_string_equal(wq_casetext_value("effect", "corrected"), "已更正");
    assert_string_equal(wq_casetext_value("effect", "retracted"), "已撤回");
    assert_string_equal(wq_casetext_value("effect", "bogus"), "bogus");
    assert_string_equal(wq_casetext_value("county", "130102"), "130102");
    /* Cut to size on a character boundary, always terminated. */
    wq_casetext_summary("plan", "deadline 2019-07-21: 完善", out, 8);
    assert_string_equal(out, "整改");

    /* A whole answer: type, status, effect and summary rewritten, the rest kept. */
    static const char *const cols[] = {"date", "type", "id", "county", "entity", "summary", "status", "effect"};
    wq_table_t *t = wq_table_new(8, cols);
    assert_non_null(t);
    size_t r;
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);
    const char *row[] = {"2019-03-12", "problem", "130102-01/51b08f69/30", "130102", "P:130102-01/51b08f69/30",
                         "noise/minor: 高噪声设备", "rectified", "effective"};
    for (size_t c = 0; c < 8; c++)
        assert_int_equal(wq_table_set_str(t, r, c, row[c]), WQ_OK);
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);     /* a row with null cells */
    assert_int_equal(wq_casetext_localize(t), WQ_OK);
    const char *want[] = {"2019-03-12", "问题", "130102-01/51b08f69/30", "130102", "P:130102-01/51b08f69/30",
                          "噪声（轻微）：高噪声设备", "已整改", "有效"};
    for (size_t c = 0; c < 8; c++)
        assert_string_equal(wq_table_cell(t, 0, c)->s, want[c]);
    for (size_t c = 0; c < 8; c++)
        assert_int_equal(wq_table_cell(t, 1, c)->kind, WQ_CELL_NULL);
    wq_table_destroy(&t);
}

static void
test_english(void **state)
{
    (void) state;
    s_locale("C");
    assert_false(wq_i18n_chinese());
    char out[512];
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        wq_casetext_summary(s_cases[i].type, s_cases[i].en, out, sizeof out);
        assert_string_equal(out, s_cases[i].en);
    }
    static const char *const values[][2] = {{"type", "correction"}, {"status", "in_progress"}, {"status", "C"},
                                            {"status", "unanswered"}, {"effect", "corrected"}};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        assert_string_equal(wq_casetext_value(values[i][0], values[i][1]), values[i][1]);
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
