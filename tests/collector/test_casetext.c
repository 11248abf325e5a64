/*  casetext: an enterprise's case file (wanqi-query enterprise's table) in
    the reader's language: every summary shape of collector/queries.c's
    s_event_summary, the type, status and effect cells, in Chinese under
    LANG=zh_CN.UTF-8 and unchanged in English under LANG=C; and every other
    query's table (wq_casetext_table): every column header of every query
    and every enum value in Chinese under zh_CN, nothing changed under C. */
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
#include "common/labels.h"
#include "common/record.h"

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


/*  Every column of every query wanqi-query lists (collector/queries.c),
    the summary's generated ones included. */
static const char *const s_fixed_cols[] = {
    /* summary */
    "area", "area_name", "level", "enterprises_registered", "enterprises_visited", "visits", "problems",
    "plans", "overdue", "services", "consultations", "consultations_answered", "answer_days_median",
    "rectified_on_time", "rectified_late", "rectify_days_median", "grade_a", "grade_b", "grade_b_minus",
    "grade_c", "grade_d", "grade_leading",
    /* overdue */
    "problem", "ent", "enterprise_name", "county", "county_name", "category", "severity", "opened",
    "deadline", "days_overdue", "status", "first_deadline", "extensions", "overdue_since",
    /* enterprise */
    "date", "type", "id", "entity", "summary", "effect",
    /* agents */
    "agent", "inc", "hwm", "stored", "quarantined", "last_seq", "backlog", "last_contact",
    "synced_recently", "store_bytes", "quota_refused",
    /* quarantine */
    "seq", "code", "reason", "received", "bytes", "record",
    /* foreign */
    "owner", "foreign_of_entity",
    /* cadres */
    "month", "cadre",
    /* waiting */
    "waits_for", "recorded", "age_days",
    /* doubles */
    "method", "ids", "agents",
};

/*  A header people can read: known, and not an English key (no a-z). */
static void
s_assert_chinese_header(const char *col)
{
    char buf[128];
    const char *label = wq_col_label_any(col, buf, sizeof buf);
    if (!label)
        fail_msg("column %s has no Chinese header", col);
    for (const char *p = label; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            fail_msg("column %s: header \"%s\" is not Chinese", col, label);
}

static void
test_headers(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_fixed_cols / sizeof s_fixed_cols[0]; i++)
        s_assert_chinese_header(s_fixed_cols[i]);
    char col[128];
    static const struct {
        const char *prefix;
        wq_field_t field;
    } gen[] = {{"visits", WQ_F_METHOD}, {"problems", WQ_F_CATEGORY}, {"services", WQ_F_KIND},
               {"class", WQ_F_CLASS}};
    for (size_t g = 0; g < sizeof gen / sizeof gen[0]; g++)
        for (int v = 1; v <= wq_enum_count(gen[g].field); v++) {
            snprintf(col, sizeof col, "%s_%s", gen[g].prefix, wq_enum_name(gen[g].field, v));
            s_assert_chinese_header(col);
        }
    for (int v = WQ_STATUS_OPEN; v <= WQ_STATUS_VERIFIED; v++) {
        snprintf(col, sizeof col, "problems_%s", wq_enum_name(WQ_F_STATUS, v));
        s_assert_chinese_header(col);
    }
    /* --by group: each figure by focus group and above_size. */
    static const char *const by[] = {"enterprises_registered", "enterprises_visited", "problems",
                                     "rectified_on_time", "rectified_late", "overdue"};
    for (size_t b = 0; b < sizeof by / sizeof by[0]; b++) {
        for (int f = 1; f < WQ_FOCUS_COUNT; f++) {
            snprintf(col, sizeof col, "%s_%s", by[b], wq_enum_name(WQ_F_FOCUS, f));
            s_assert_chinese_header(col);
        }
        snprintf(col, sizeof col, "%s_above_size", by[b]);
        s_assert_chinese_header(col);
    }
    char buf[128];
    assert_string_equal(wq_col_label_any("problems_discharger", buf, sizeof buf), "发现问题（规上排污企业）");
    assert_string_equal(wq_col_label_any("overdue_above_size", buf, sizeof buf), "逾期未整改（规模以上）");
    assert_null(wq_col_label_any("no_such_column", buf, sizeof buf));
    assert_null(wq_col_label_any("problems_no_such_group", buf, sizeof buf));
}

static void
test_values(void **state)
{
    (void) state;
    /* Every enum value of the columns that hold one, by record.h's label. */
    static const struct {
        const char *col;
        wq_field_t field;
    } enums[] = {{"category", WQ_F_CATEGORY}, {"severity", WQ_F_SEVERITY}, {"status", WQ_F_STATUS},
                 {"status", WQ_F_CLASS},       {"class", WQ_F_CLASS},       {"method", WQ_F_METHOD},
                 {"kind", WQ_F_KIND},          {"channel", WQ_F_CHANNEL}};
    for (size_t i = 0; i < sizeof enums / sizeof enums[0]; i++)
        for (int v = 1; v <= wq_enum_count(enums[i].field); v++)
            assert_string_equal(wq_value_label(enums[i].col, wq_enum_name(enums[i].field, v)),
                                wq_enum_label(enums[i].field, v));
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++)
        assert_string_equal(wq_value_label("type", wq_rec_type_name((wq_rec_type_t) t)),
                            wq_rec_type_label((wq_rec_type_t) t));
    static const char *const other[][3] = {
        {"level", "province", "省"}, {"level", "city", "市"}, {"level", "county", "区县"},
        {"synced_recently", "yes", "是"}, {"synced_recently", "no", "否"}, {"overdue", "yes", "是"},
        {"effect", "effective", "有效"}, {"effect", "corrected", "已更正"}, {"effect", "retracted", "已撤回"},
        {"effect", "ignored", "无效"}, {"status", "answered", "已答复"}, {"status", "unanswered", "未答复"},
        {"area", "total", "合计"}, {"code", "E_FOREIGN", "记录所属区县与采集端的区县不符"},
        {"code", "E_CHECKCHAR", "统一社会信用代码校验位错误"},
        /* Not enum cells: as they are. */
        {"county", "130102", "130102"}, {"area_name", "石家庄市", "石家庄市"}, {"status", "bogus", "bogus"}};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_string_equal(wq_value_label(other[i][0], other[i][1]), other[i][2]);
    assert_null(wq_value_label("status", NULL));
}

/*  A small agents answer, as the collector sends it. */
static wq_table_t *
s_agents_table(void)
{
    static const char *const cols[] = {"agent", "county", "backlog", "synced_recently", "level"};
    wq_table_t *t = wq_table_new(5, cols);
    assert_non_null(t);
    size_t r;
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 0, "130102-01"), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 1, "130102"), WQ_OK);
    assert_int_equal(wq_table_set_int(t, r, 2, 42), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 3, "yes"), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 4, "county"), WQ_OK);
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);       /* null cells */
    return t;
}

static void
test_table_chinese(void **state)
{
    (void) state;
    s_locale("zh_CN.UTF-8");
    if (!wq_i18n_chinese())
        fail_msg("no Chinese: the zh_CN.UTF-8 locale (scripts/bootstrap) or build/locale is missing");
    wq_table_t *t = s_agents_table(), *zh = NULL;
    assert_int_equal(wq_casetext_table(t, &zh), WQ_OK);
    assert_non_null(zh);
    const char *heads[] = {"采集端", "区县代码", "待发送", "近期同步", "层级"};
    for (size_t c = 0; c < 5; c++)
        assert_string_equal(wq_table_col(zh, c), heads[c]);
    assert_string_equal(wq_table_cell(zh, 0, 0)->s, "130102-01");
    assert_string_equal(wq_table_cell(zh, 0, 1)->s, "130102");
    assert_int_equal(wq_table_cell(zh, 0, 2)->kind, WQ_CELL_INT);
    assert_int_equal(wq_table_cell(zh, 0, 2)->i, 42);
    assert_string_equal(wq_table_cell(zh, 0, 3)->s, "是");
    assert_string_equal(wq_table_cell(zh, 0, 4)->s, "区县");
    for (size_t c = 0; c < 5; c++)
        assert_int_equal(wq_table_cell(zh, 1, c)->kind, WQ_CELL_NULL);
    /* The answer itself is not changed (CSV and JSON print it). */
    assert_string_equal(wq_table_col(t, 0), "agent");
    assert_string_equal(wq_table_cell(t, 0, 3)->s, "yes");
    wq_table_destroy(&zh);
    wq_table_destroy(&t);
}

static void
test_table_english(void **state)
{
    (void) state;
    s_locale("C");
    wq_table_t *t = s_agents_table(), *out = t;
    assert_int_equal(wq_casetext_table(t, &out), WQ_OK);
    assert_null(out);          /* shown as it is */
    wq_table_destroy(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chinese),
        cmocka_unit_test(test_english),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_table_chinese),
        cmocka_unit_test(test_table_english),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
