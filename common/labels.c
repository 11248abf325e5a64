/*  labels - Chinese names of query result columns and values (see labels.h). */
#include "common/labels.h"

#include <stdio.h>
#include <string.h>

#include "common/record.h"

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
    {"code", "隔离原因"}, {"reason", "详细说明（系统记录）"}, {"received", "接收时间"}, {"bytes", "字节"},
    {"record", "记录"}, {"waiting", "等待中的记录"}, {"waiting_for", "所引用的记录"},
    {"month", "月份"}, {"silent_days", "未联系天数"}, {"sync_state", "同步状态"},
    {"store_bytes", "库内占用字节"}, {"quota_refused", "超出配额被拒时间"},
    /* wanqi-query's tables besides the dashboard's. */
    {"rectified_on_time", "按期整改"}, {"rectified_late", "逾期整改"},
    {"rectify_days_median", "整改天数中位数"}, {"grade_a", "绩效A级"}, {"grade_b", "绩效B级"},
    {"grade_b_minus", "绩效B-级"}, {"grade_c", "绩效C级"}, {"grade_d", "绩效D级"},
    {"grade_leading", "绩效引领性"},
    {"first_deadline", "最初整改期限"}, {"extensions", "延期次数"}, {"overdue_since", "逾期起始日"},
    {"owner", "所属区县"}, {"foreign_of_entity", "对象所属区县"}, {"cadre", "包联干部"},
    {"waits_for", "所引用的记录"}, {"recorded", "录入日期"}, {"age_days", "等待天数"},
    {"method", "走访方式"}, {"ids", "记录编号"}, {"agents", "采集端"},
};

/*  Values that are not record enums (the enums' labels come from
    common/record.h: wq_enum_label, wq_rec_type_label). */
static const struct {
    const char *col;
    s_pair_t v;
} s_values[] = {
    {"status", {"answered", "已答复"}}, {"status", {"unanswered", "未答复"}},
    {"effect", {"effective", "有效"}}, {"effect", {"corrected", "已更正"}},
    {"effect", {"retracted", "已撤回"}}, {"effect", {"ignored", "无效"}},
    {"level", {"province", "省"}}, {"level", {"city", "市"}}, {"level", {"county", "区县"}},
    {"overdue", {"yes", "是"}}, {"overdue", {"no", "否"}},
    {"synced_recently", {"yes", "是"}}, {"synced_recently", {"no", "否"}},
    {"area", {"total", "合计"}},
    /* Why a record was quarantined (proto/PROTOCOL.md section 9). */
    {"code", {"E_TRUNCATED", "记录不完整"}}, {"code", {"E_TYPE", "字段类型错误"}},
    {"code", {"E_RANGE", "数值或长度超出范围"}}, {"code", {"E_UNKNOWN", "未知的类型、字段或取值"}},
    {"code", {"E_MISSING", "缺少必填字段"}}, {"code", {"E_UTF8", "文字编码错误"}},
    {"code", {"E_CHECKCHAR", "统一社会信用代码校验位错误"}},
    {"code", {"E_FORMAT", "格式错误（日期、代码、编号等）"}},
    {"code", {"E_COUNTY", "区县代码无效"}},
    {"code", {"E_FOREIGN", "记录所属区县与采集端的区县不符"}},
    {"code", {"E_ID", "记录编号与数据流不符"}}, {"code", {"E_TRAILING", "记录后有多余数据"}},
    {"code", {"E_DUPFIELD", "字段重复"}},
};

const char *
wq_col_label(const char *col)
{
    if (!col)
        return NULL;
    for (size_t i = 0; i < sizeof s_cols / sizeof s_cols[0]; i++)
        if (strcmp(s_cols[i].key, col) == 0)
            return s_cols[i].label;
    return NULL;
}

const char *
wq_col_label_any(const char *col, char *buf, size_t size)
{
    const char *label = wq_col_label(col);
    if (label || !col || !buf || !size)
        return label;
    /* BASE_GROUP: a summary column by focus group or above_size
       (collector/queries.c, --by group). */
    for (const char *u = strchr(col, '_'); u; u = strchr(u + 1, '_')) {
        char base[64];
        size_t n = (size_t) (u - col);
        if (n >= sizeof base)
            break;
        memcpy(base, col, n);
        base[n] = '\0';
        const char *bl = wq_col_label(base), *group = u + 1, *gl = NULL;
        if (!bl)
            continue;
        int f = wq_enum_parse(WQ_F_FOCUS, group);
        if (f && strcmp(group, wq_enum_name(WQ_F_FOCUS, f)) == 0)
            gl = wq_enum_label(WQ_F_FOCUS, f);
        else if (strcmp(group, "above_size") == 0)
            gl = wq_field_label(WQ_F_ABOVE_SIZE);
        if (gl) {
            snprintf(buf, size, "%s（%s）", bl, gl);
            return buf;
        }
    }
    return NULL;
}

const char *
wq_value_label(const char *col, const char *value)
{
    if (!col || !value)
        return value;
    /* Enum columns: the record table's own Chinese labels. A case file's
       status column holds a problem status or an enterprise class. */
    static const struct {
        const char *col;
        wq_field_t field;
    } enums[] = {{"category", WQ_F_CATEGORY}, {"severity", WQ_F_SEVERITY},
                 {"status", WQ_F_STATUS},     {"status", WQ_F_CLASS},
                 {"class", WQ_F_CLASS},       {"method", WQ_F_METHOD},
                 {"kind", WQ_F_KIND},         {"channel", WQ_F_CHANNEL}};
    for (size_t i = 0; i < sizeof enums / sizeof enums[0]; i++) {
        if (strcmp(enums[i].col, col) != 0)
            continue;
        int v = wq_enum_parse(enums[i].field, value);
        if (v)
            return wq_enum_label(enums[i].field, v);
    }
    if (strcmp(col, "type") == 0) {
        wq_rec_type_t t = wq_rec_type_parse(value);
        if (t != WQ_REC_NONE)
            return wq_rec_type_label(t);
    }
    for (size_t i = 0; i < sizeof s_values / sizeof s_values[0]; i++)
        if (strcmp(s_values[i].col, col) == 0 && strcmp(s_values[i].v.key, value) == 0)
            return s_values[i].v.label;
    return value;
}

