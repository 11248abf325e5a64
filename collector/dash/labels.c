/*  labels - Chinese column and value names (see labels.h). */
#include "collector/dash/labels.h"

#include <stddef.h>
#include <string.h>

typedef struct {
    const char *key, *label;
} s_pair_t;

static const s_pair_t s_cols[] = {
    {"area", "地区代码"}, {"area_name", "地区"}, {"level", "层级"},
    {"enterprises_registered", "登记企业"}, {"enterprises_visited", "走访企业"},
    {"visits", "走访次数"}, {"visits_field_visit", "实地走访"}, {"visits_symposium", "座谈会"},
    {"visits_expert_consultation", "专家会诊"}, {"visits_enforcement_inspection", "执法检查"},
    {"problems", "发现问题"}, {"problems_air", "大气问题"}, {"problems_water", "水问题"},
    {"problems_solid_waste", "固废问题"}, {"problems_noise", "噪声问题"},
    {"problems_soil", "土壤问题"}, {"problems_permits", "许可问题"},
    {"problems_monitoring", "监测问题"}, {"problems_over_standard", "超标问题"},
    {"problems_other", "其他问题"}, {"problems_open", "待整改"},
    {"problems_in_progress", "整改中"}, {"problems_rectified", "已整改"},
    {"problems_verified", "已核验"}, {"problems_resolved", "已整改（含核验）"},
    {"plans", "整改计划"}, {"overdue", "逾期未整改"}, {"services", "服务次数"},
    {"services_law", "法规服务"}, {"services_policy", "政策服务"},
    {"services_technology", "技术服务"}, {"services_plan", "方案服务"},
    {"services_service", "其他服务"}, {"consultations", "咨询"},
    {"consultations_answered", "已答复咨询"}, {"answer_days_median", "答复天数中位数"},
    {"class_support", "支持类"}, {"class_normal", "一般类"}, {"class_strict", "严管类"},
    {"class_shutdown", "关停类"}, {"class_punish", "处罚类"},
    {"problem", "问题编号"}, {"ent", "统一社会信用代码"}, {"enterprise_name", "企业名称"},
    {"name", "企业名称"}, {"county", "区县代码"}, {"county_name", "区县"},
    {"category", "类别"}, {"severity", "严重程度"}, {"opened", "发现日期"},
    {"deadline", "整改期限"}, {"days_overdue", "逾期天数"}, {"status", "状态"},
    {"registered", "登记月份"}, {"class", "分类"}, {"date", "日期"}, {"type", "记录类型"},
    {"id", "记录编号"}, {"entity", "对象"}, {"summary", "内容"}, {"effect", "效力"},
    {"agent", "采集端"}, {"inc", "实例"}, {"hwm", "已收到序号"}, {"stored", "已入库"},
    {"quarantined", "隔离"}, {"last_seq", "最后序号"}, {"backlog", "待发送"},
    {"last_contact", "最后联系"}, {"synced_recently", "近期同步"}, {"seq", "序号"},
    {"code", "错误代码"}, {"reason", "原因"}, {"received", "接收时间"}, {"bytes", "字节"},
    {"record", "记录"}, {"waiting", "等待中的记录"}, {"waiting_for", "所引用的记录"},
    {"month", "月份"}, {"silent_days", "未联系天数"}, {"sync_state", "同步状态"},
};

static const struct {
    const char *col;
    s_pair_t v;
} s_values[] = {
    {"category", {"air", "大气"}}, {"category", {"water", "水"}},
    {"category", {"solid_waste", "固体废物"}}, {"category", {"noise", "噪声"}},
    {"category", {"soil", "土壤"}}, {"category", {"permits", "排污许可"}},
    {"category", {"monitoring", "监测"}}, {"category", {"over_standard", "超标排放"}},
    {"category", {"other", "其他"}},
    {"severity", {"minor", "轻微"}}, {"severity", {"general", "一般"}},
    {"severity", {"serious", "严重"}},
    {"status", {"open", "待整改"}}, {"status", {"in_progress", "整改中"}},
    {"status", {"rectified", "已整改"}}, {"status", {"verified", "已核验"}},
    {"status", {"reopened", "重新打开"}}, {"status", {"answered", "已答复"}},
    {"status", {"unanswered", "未答复"}}, {"status", {"support", "支持类"}},
    {"status", {"normal", "一般类"}}, {"status", {"strict", "严管类"}},
    {"status", {"shutdown", "关停类"}}, {"status", {"punish", "处罚类"}},
    {"class", {"support", "支持类"}}, {"class", {"normal", "一般类"}},
    {"class", {"strict", "严管类"}}, {"class", {"shutdown", "关停类"}},
    {"class", {"punish", "处罚类"}},
    {"effect", {"effective", "有效"}}, {"effect", {"corrected", "已更正"}},
    {"effect", {"retracted", "已撤回"}}, {"effect", {"ignored", "无效"}},
    {"type", {"enterprise", "企业信息"}}, {"type", {"visit", "走访"}},
    {"type", {"problem", "问题"}}, {"type", {"plan", "整改计划"}},
    {"type", {"progress", "整改进展"}}, {"type", {"service", "服务"}},
    {"type", {"consultation", "咨询"}}, {"type", {"answer", "答复"}},
    {"type", {"classification", "分类"}}, {"type", {"correction", "更正"}},
    {"type", {"retraction", "撤回"}},
    {"level", {"province", "省"}}, {"level", {"city", "市"}}, {"level", {"county", "区县"}},
    {"overdue", {"yes", "是"}}, {"overdue", {"no", "否"}},
    {"synced_recently", {"yes", "是"}}, {"synced_recently", {"no", "否"}},
};

const char *dash_col_label(const char *col)
{
    for (size_t i = 0; i < sizeof s_cols / sizeof s_cols[0]; i++)
        if (strcmp(s_cols[i].key, col) == 0)
            return s_cols[i].label;
    return col;
}

const char *dash_value_label(const char *col, const char *value)
{
    if (!value)
        return NULL;
    for (size_t i = 0; i < sizeof s_values / sizeof s_values[0]; i++)
        if (strcmp(s_values[i].col, col) == 0 && strcmp(s_values[i].v.key, value) == 0)
            return s_values[i].v.label;
    return value;
}
