/*  =========================================================================
    record - the campaign's records: one field table drives everything

    A record is an immutable event (see record.h). Its fields are described
    once, in s_fields[] below: wire name, kind, storage in wq_record_t,
    length limits, enum names, which record types take it and which need
    it, whether a correction may set it, and a help line. Validation,
    msgpack encode and decode, set-from-text (CLI, CSV), JSON import, JSON
    output and the `record --help` text all walk that table, so they cannot
    disagree about what a record is.

    The split of work between decode and validate: decode is structural
    (msgpack types, known fields, duplicate keys, trailing bytes, sizes,
    UTF-8) so that any structurally sound record can be kept, and, if its
    content is wrong, quarantined with a reason; validate applies the
    content rules (required fields, enums, credit code check character,
    county valid on the activity date, dates, ids, industries).

    The decoder is bounded: before msgpack-c sees a byte, s_scan() walks the
    buffer and checks that every length and count fits in what is left, so
    msgpack-c (which allocates for whatever count a header claims) never
    allocates more than a small multiple of the input size.
    =========================================================================
*/
#include "common/record.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/creditcode.h"
#include "common/date.h"
#include "common/i18n.h"
#include "common/division.h"
#include "common/utf8.h"

_Static_assert(WQ_F_COUNT <= 64, "present is a 64-bit mask");
_Static_assert(sizeof(wq_focus_t) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(wq_rec_type_t) == sizeof(int), "enums are stored as int");

#define S_LIST_MAX 16       /* cadres per visit */
#define S_LIST_ITEM_MAX 64  /* characters per cadre name */
#define S_SCAN_DEPTH 8      /* msgpack nesting accepted by the pre-scan */
#define S_LINE_REF_MAX 999999999UL

/*  ---- the field table ---------------------------------------------------- */

typedef enum {
    S_K_TYPE,       /* str: record type name; stored in ->type */
    S_K_AGENT,      /* str: agent id, inline */
    S_K_U32,        /* positive int <= UINT32_MAX */
    S_K_U64,        /* positive int */
    S_K_DATE,       /* str YYYY-MM-DD, inline */
    S_K_COUNTY,     /* str 6 digits, inline */
    S_K_ENT,        /* str credit code, inline */
    S_K_INDUSTRY,   /* str GB/T 4754, inline */
    S_K_TEXT,       /* str, heap (char *) */
    S_K_BOOL,       /* bool */
    S_K_ENUM,       /* str enum name; stored as int */
    S_K_LIST,       /* array of str: cadres */
    S_K_EVENT,      /* str event id, inline */
    S_K_OF,         /* str record type name; stored in ->of */
    S_K_SET         /* map: the patch; stored in ->set */
} s_kind_t;

#define T(x) (1u << (x))
#define T_ALL 0x1FFEu   /* types 1..12 */
#define T_BASE (T(WQ_REC_ENTERPRISE) | T(WQ_REC_VISIT) | T(WQ_REC_PROBLEM) | T(WQ_REC_PLAN) \
                | T(WQ_REC_PROGRESS) | T(WQ_REC_SERVICE) | T(WQ_REC_CONSULTATION)         \
                | T(WQ_REC_ANSWER) | T(WQ_REC_CLASSIFICATION) | T(WQ_REC_GRADING))
#define T_FIX (T(WQ_REC_CORRECTION) | T(WQ_REC_RETRACTION))

typedef struct {
    const char *name;
    s_kind_t kind;
    size_t offset;              /* of the member in wq_record_t */
    size_t cap;                 /* inline strings: sizeof the member */
    size_t min, max;            /* length limits: characters for texts, bytes for codes */
    bool multiline;             /* '\n' and '\t' allowed */
    const char *const *enums;   /* S_K_ENUM: names, [0] unused */
    int nenums;                 /* S_K_ENUM: number of entries incl. [0] */
    const char *const *labels;  /* S_K_ENUM: Chinese labels, same order as enums */
    unsigned allowed;           /* bit per wq_rec_type_t */
    unsigned required;
    bool patchable;             /* a correction may set it */
    const char *help;
} s_field_t;

static const char *const s_type_names[WQ_REC_TYPE_COUNT] = {
    "?", "enterprise", "visit", "problem", "plan", "progress", "service",
    "consultation", "answer", "classification", "correction", "retraction", "grading"};
static const char *const s_focus_names[] = {
    NULL, "discharger", "strategic_emerging", "advanced_manufacturing", "tech_sme"};
static const char *const s_method_names[] = {
    NULL, "field_visit", "symposium", "expert_consultation", "enforcement_inspection"};
static const char *const s_category_names[] = {
    NULL, "air", "water", "solid_waste", "noise", "soil", "permits", "monitoring",
    "over_standard", "other"};
static const char *const s_severity_names[] = {NULL, "minor", "general", "serious"};
static const char *const s_status_names[] = {
    NULL, "open", "in_progress", "rectified", "verified", "reopened"};
static const char *const s_kind_names[] = {NULL, "law", "policy", "technology", "plan", "service"};
static const char *const s_channel_names[] = {NULL, "reception_day", "platform", "other"};
static const char *const s_class_names[] = {
    NULL, "support", "normal", "strict", "shutdown", "punish"};
static const char *const s_grade_names[] = {NULL, "A", "B", "B-", "C", "D", "leading"};

/*  Chinese labels, one per code, in the same order as the names above: what
    a cadre writes and reads (CLI, CSV/JSON/xlsx import, template drop-downs,
    web pages). Input accepts the label as well as the code; the wire carries
    only the code. These are data of the campaign (the notice's own words),
    not translations of the English codes, so they live here, not in po/. */
static const char *const s_type_labels[WQ_REC_TYPE_COUNT] = {
    "?", "企业", "走访", "问题", "整改方案", "整改进展", "服务",
    "咨询", "答复", "分类监管", "更正", "撤销", "绩效分级"};
static const char *const s_focus_labels[] = {
    NULL, "规上排污企业", "战略性新兴产业", "先进制造业", "科技型中小企业"};
static const char *const s_method_labels[] = {NULL, "实地走访", "座谈", "专家会商", "执法检查"};
static const char *const s_category_labels[] = {
    NULL, "大气", "水", "固废", "噪声", "土壤", "环保手续", "自行监测", "超标排放", "其他"};
static const char *const s_severity_labels[] = {NULL, "轻微", "一般", "严重"};
static const char *const s_status_labels[] = {
    NULL, "未整改", "整改中", "已整改", "已验收", "重新整改"};
static const char *const s_kind_labels[] = {NULL, "送法律", "送政策", "送科技", "送方案", "送服务"};
static const char *const s_channel_labels[] = {
    NULL, "企业环保接待日", "政企联系信息交流平台", "其他"};
static const char *const s_class_labels[] = {NULL, "扶持", "正常", "从严从紧", "取缔", "依法惩处"};
/*  环办大气函〔2019〕648号 grades; "B-" from the 2020 revision; 引领性 is the
    leading grade of the industries graded that way. */
static const char *const s_grade_labels[] = {NULL, "A级", "B级", "B-级", "C级", "D级", "引领性"};

/*  Chinese column headers / field names, indexed by wq_field_t. */
static const char *const s_field_labels[WQ_F_COUNT] = {
    [WQ_F_TYPE] = "记录类型", [WQ_F_AGENT] = "采集端", [WQ_F_INC] = "批次号",
    [WQ_F_SEQ] = "序号", [WQ_F_DATE] = "日期", [WQ_F_RECORDED] = "录入时间",
    [WQ_F_COUNTY] = "区县代码", [WQ_F_ENT] = "统一社会信用代码", [WQ_F_BY] = "录入人",
    [WQ_F_NAME] = "企业名称", [WQ_F_INDUSTRY] = "行业代码", [WQ_F_ADDRESS] = "地址",
    [WQ_F_ABOVE_SIZE] = "规模以上", [WQ_F_FOCUS] = "企业类别", [WQ_F_CADRE] = "包联干部",
    [WQ_F_CADRES] = "走访干部", [WQ_F_METHOD] = "走访方式", [WQ_F_FINDINGS] = "发现情况",
    [WQ_F_CATEGORY] = "问题类别", [WQ_F_SEVERITY] = "严重程度", [WQ_F_DESCRIPTION] = "问题描述",
    [WQ_F_VISIT] = "来源走访", [WQ_F_PROBLEM] = "所属问题", [WQ_F_MEASURES] = "整改措施",
    [WQ_F_GOAL] = "服务目标", [WQ_F_DEADLINE] = "整改期限", [WQ_F_STATUS] = "整改状态",
    [WQ_F_NOTE] = "备注", [WQ_F_KIND] = "服务类型", [WQ_F_CONTENT] = "服务内容",
    [WQ_F_CHANNEL] = "咨询渠道", [WQ_F_QUESTION] = "咨询问题", [WQ_F_CONSULTATION] = "所属咨询",
    [WQ_F_ANSWER] = "答复内容", [WQ_F_CLASS] = "监管类别", [WQ_F_REASON] = "理由",
    [WQ_F_TARGET] = "目标记录", [WQ_F_OF] = "目标类型", [WQ_F_SET] = "更正内容",
    [WQ_F_GRADE] = "绩效等级",
};

#define OFF(m) offsetof(wq_record_t, m)
#define CAP(m) sizeof(((wq_record_t *) 0)->m)
#define ENUMS(a, l) a, (int) (sizeof a / sizeof a[0]), l
_Static_assert(sizeof s_focus_names == sizeof s_focus_labels, "a label per focus");
_Static_assert(sizeof s_method_names == sizeof s_method_labels, "a label per method");
_Static_assert(sizeof s_category_names == sizeof s_category_labels, "a label per category");
_Static_assert(sizeof s_severity_names == sizeof s_severity_labels, "a label per severity");
_Static_assert(sizeof s_status_names == sizeof s_status_labels, "a label per status");
_Static_assert(sizeof s_kind_names == sizeof s_kind_labels, "a label per kind");
_Static_assert(sizeof s_channel_names == sizeof s_channel_labels, "a label per channel");
_Static_assert(sizeof s_class_names == sizeof s_class_labels, "a label per class");
_Static_assert(sizeof s_grade_names == sizeof s_grade_labels, "a label per grade");

static const s_field_t s_fields[WQ_F_COUNT] = {
    [WQ_F_TYPE] = {"type", S_K_TYPE, OFF(type), 0, 0, 0, false, NULL, 0, NULL, T_ALL, T_ALL, false,
                   "record type"},
    [WQ_F_AGENT] = {"agent", S_K_AGENT, OFF(agent), CAP(agent), 1, WQ_AGENT_ID_MAX, false, NULL, 0, NULL,
                    T_ALL, T_ALL, false, "agent id (assigned by the agent)"},
    [WQ_F_INC] = {"inc", S_K_U32, OFF(inc), 0, 0, 0, false, NULL, 0, NULL, T_ALL, T_ALL, false,
                  "agent incarnation (assigned by the agent)"},
    [WQ_F_SEQ] = {"seq", S_K_U64, OFF(seq), 0, 0, 0, false, NULL, 0, NULL, T_ALL, T_ALL, false,
                  "sequence number (assigned by the agent)"},
    [WQ_F_DATE] = {"date", S_K_DATE, OFF(date), CAP(date), 10, 10, false, NULL, 0, NULL, T_ALL, T_ALL,
                   true, "YYYY-MM-DD, date of the activity"},
    [WQ_F_RECORDED] = {"recorded", S_K_U64, OFF(recorded_ms), 0, 0, 0, false, NULL, 0, NULL, T_ALL,
                       T_ALL, false, "unix ms when stored (assigned by the agent)"},
    [WQ_F_COUNTY] = {"county", S_K_COUNTY, OFF(county), CAP(county), 6, 6, false, NULL, 0, NULL, T_ALL,
                     T_ALL, false, "GB/T 2260 county code, e.g. 130102"},
    [WQ_F_ENT] = {"ent", S_K_ENT, OFF(ent), CAP(ent), 18, 18, false, NULL, 0, NULL, T_ALL, T_BASE, false,
                  "enterprise's 18-character Unified Social Credit Code"},
    [WQ_F_BY] = {"by", S_K_TEXT, OFF(by), 0, 0, 64, false, NULL, 0, NULL, T_ALL, 0, true,
                 "cadre who recorded it (<= 64 characters)"},
    [WQ_F_NAME] = {"name", S_K_TEXT, OFF(name), 0, 1, 200, false, NULL, 0, NULL, T(WQ_REC_ENTERPRISE),
                   T(WQ_REC_ENTERPRISE), true, "enterprise name (<= 200 characters)"},
    [WQ_F_INDUSTRY] = {"industry", S_K_INDUSTRY, OFF(industry), CAP(industry), 1, 5, false, NULL,
                       0, NULL, T(WQ_REC_ENTERPRISE) | T(WQ_REC_GRADING),
                       T(WQ_REC_ENTERPRISE) | T(WQ_REC_GRADING), true,
                       "GB/T 4754 section A-T, optionally + 2-4 digits (C, C3110)"},
    [WQ_F_ADDRESS] = {"address", S_K_TEXT, OFF(address), 0, 0, 300, false, NULL, 0, NULL,
                      T(WQ_REC_ENTERPRISE), 0, true, "address (<= 300 characters)"},
    [WQ_F_ABOVE_SIZE] = {"above_size", S_K_BOOL, OFF(above_size), 0, 0, 0, false, NULL, 0, NULL,
                         T(WQ_REC_ENTERPRISE), 0, true,
                         "true if an industrial enterprise above designated size"},
    [WQ_F_FOCUS] = {"focus", S_K_ENUM, OFF(focus), 0, 0, 0, false, ENUMS(s_focus_names, s_focus_labels),
                    T(WQ_REC_ENTERPRISE), 0, true, "focus group"},
    [WQ_F_CADRE] = {"cadre", S_K_TEXT, OFF(cadre), 0, 0, 64, false, NULL, 0, NULL,
                    T(WQ_REC_ENTERPRISE), 0, true, "assigned cadre (<= 64 characters)"},
    [WQ_F_CADRES] = {"cadres", S_K_LIST, OFF(cadres), 0, 1, S_LIST_ITEM_MAX, false, NULL, 0, NULL,
                     T(WQ_REC_VISIT), T(WQ_REC_VISIT), true,
                     "1-16 cadre names, comma-separated (each <= 64 characters)"},
    [WQ_F_METHOD] = {"method", S_K_ENUM, OFF(method), 0, 0, 0, false, ENUMS(s_method_names, s_method_labels),
                     T(WQ_REC_VISIT), T(WQ_REC_VISIT), true, "how the enterprise was examined"},
    [WQ_F_FINDINGS] = {"findings", S_K_TEXT, OFF(findings), 0, 0, 8000, true, NULL, 0, NULL,
                       T(WQ_REC_VISIT), 0, true, "what was found (<= 8000 characters, multi-line)"},
    [WQ_F_CATEGORY] = {"category", S_K_ENUM, OFF(category), 0, 0, 0, false,
                       ENUMS(s_category_names, s_category_labels), T(WQ_REC_PROBLEM), T(WQ_REC_PROBLEM), true,
                       "problem category"},
    [WQ_F_SEVERITY] = {"severity", S_K_ENUM, OFF(severity), 0, 0, 0, false,
                       ENUMS(s_severity_names, s_severity_labels), T(WQ_REC_PROBLEM), T(WQ_REC_PROBLEM), true,
                       "problem severity"},
    [WQ_F_DESCRIPTION] = {"description", S_K_TEXT, OFF(description), 0, 1, 8000, true, NULL, 0, NULL,
                          T(WQ_REC_PROBLEM), T(WQ_REC_PROBLEM), true,
                          "the problem (1-8000 characters, multi-line)"},
    [WQ_F_VISIT] = {"visit", S_K_EVENT, OFF(visit), CAP(visit), 0, 0, false, NULL, 0, NULL,
                    T(WQ_REC_PROBLEM), 0, true, "event id of the visit that found it"},
    [WQ_F_PROBLEM] = {"problem", S_K_EVENT, OFF(problem), CAP(problem), 0, 0, false, NULL, 0, NULL,
                      T(WQ_REC_PLAN) | T(WQ_REC_PROGRESS), T(WQ_REC_PLAN) | T(WQ_REC_PROGRESS),
                      false, "event id of the problem"},
    [WQ_F_MEASURES] = {"measures", S_K_TEXT, OFF(measures), 0, 1, 8000, true, NULL, 0, NULL,
                       T(WQ_REC_PLAN), T(WQ_REC_PLAN), true,
                       "rectification measures (1-8000 characters, multi-line)"},
    [WQ_F_GOAL] = {"goal", S_K_TEXT, OFF(goal), 0, 0, 2000, false, NULL, 0, NULL, T(WQ_REC_PLAN), 0,
                   true, "service goal (<= 2000 characters)"},
    [WQ_F_DEADLINE] = {"deadline", S_K_DATE, OFF(deadline), CAP(deadline), 10, 10, false, NULL, 0, NULL,
                       T(WQ_REC_PLAN), T(WQ_REC_PLAN), true, "YYYY-MM-DD, rectification deadline"},
    [WQ_F_STATUS] = {"status", S_K_ENUM, OFF(status), 0, 0, 0, false, ENUMS(s_status_names, s_status_labels),
                     T(WQ_REC_PROGRESS), T(WQ_REC_PROGRESS), true, "the problem's new status"},
    [WQ_F_NOTE] = {"note", S_K_TEXT, OFF(note), 0, 0, 8000, true, NULL, 0, NULL, T(WQ_REC_PROGRESS), 0,
                   true, "note (<= 8000 characters, multi-line)"},
    [WQ_F_KIND] = {"kind", S_K_ENUM, OFF(kind), 0, 0, 0, false, ENUMS(s_kind_names, s_kind_labels),
                   T(WQ_REC_SERVICE), T(WQ_REC_SERVICE), true, "kind of service"},
    [WQ_F_CONTENT] = {"content", S_K_TEXT, OFF(content), 0, 1, 8000, true, NULL, 0, NULL,
                      T(WQ_REC_SERVICE), T(WQ_REC_SERVICE), true,
                      "what was delivered (1-8000 characters, multi-line)"},
    [WQ_F_CHANNEL] = {"channel", S_K_ENUM, OFF(channel), 0, 0, 0, false, ENUMS(s_channel_names, s_channel_labels),
                      T(WQ_REC_CONSULTATION), T(WQ_REC_CONSULTATION), true,
                      "how the question came in"},
    [WQ_F_QUESTION] = {"question", S_K_TEXT, OFF(question), 0, 1, 8000, true, NULL, 0, NULL,
                       T(WQ_REC_CONSULTATION), T(WQ_REC_CONSULTATION), true,
                       "the question (1-8000 characters, multi-line)"},
    [WQ_F_CONSULTATION] = {"consultation", S_K_EVENT, OFF(consultation), CAP(consultation), 0, 0,
                           false, NULL, 0, NULL, T(WQ_REC_ANSWER), T(WQ_REC_ANSWER), false,
                           "event id of the consultation answered"},
    [WQ_F_ANSWER] = {"answer", S_K_TEXT, OFF(answer), 0, 1, 8000, true, NULL, 0, NULL,
                     T(WQ_REC_ANSWER), T(WQ_REC_ANSWER), true,
                     "the answer (1-8000 characters, multi-line)"},
    [WQ_F_CLASS] = {"class", S_K_ENUM, OFF(klass), 0, 0, 0, false, ENUMS(s_class_names, s_class_labels),
                    T(WQ_REC_CLASSIFICATION), T(WQ_REC_CLASSIFICATION), true,
                    "supervision class"},
    [WQ_F_REASON] = {"reason", S_K_TEXT, OFF(reason), 0, 1, 2000, false, NULL, 0, NULL,
                     T(WQ_REC_CLASSIFICATION) | T(WQ_REC_GRADING) | T_FIX,
                     T(WQ_REC_CLASSIFICATION) | T_FIX, true,
                     "reason (1-2000 characters; optional on a grading)"},
    [WQ_F_TARGET] = {"target", S_K_EVENT, OFF(target), CAP(target), 0, 0, false, NULL, 0, NULL, T_FIX,
                     T_FIX, false, "event id of the event corrected or retracted"},
    [WQ_F_OF] = {"of", S_K_OF, OFF(of), 0, 0, 0, false, NULL, 0, NULL, T(WQ_REC_CORRECTION),
                 T(WQ_REC_CORRECTION), false, "type of the target event"},
    [WQ_F_SET] = {"set", S_K_SET, OFF(set), 0, 0, 0, false, NULL, 0, NULL, T(WQ_REC_CORRECTION),
                  T(WQ_REC_CORRECTION), false, "the corrected fields with their new values"},
    [WQ_F_GRADE] = {"grade", S_K_ENUM, OFF(grade), 0, 0, 0, false, ENUMS(s_grade_names, s_grade_labels),
                    T(WQ_REC_GRADING), T(WQ_REC_GRADING), true,
                    "performance grade for heavy-pollution-weather limits (A is exempt)"},
};

#define BIT(f) (1ull << (f))

/*  ---- small helpers ------------------------------------------------------ */

/*  A field as the reader calls it: its Chinese label when messages are
    Chinese, its wire name otherwise. */
static const char *
s_word(wq_field_t f)
{
    return wq_i18n_chinese() ? s_field_labels[f] : s_fields[f].name;
}

static char *
s_inline(wq_record_t *r, wq_field_t f)
{
    return (char *) r + s_fields[f].offset;
}

static const char *
s_cinline(const wq_record_t *r, wq_field_t f)
{
    return (const char *) r + s_fields[f].offset;
}

static char **
s_heap(wq_record_t *r, wq_field_t f)
{
    return (char **) ((char *) r + s_fields[f].offset);
}

static const char *
s_cheap(const wq_record_t *r, wq_field_t f)
{
    const char *p;
    memcpy(&p, (const char *) r + s_fields[f].offset, sizeof p);
    return p;
}

static int
s_get_int(const wq_record_t *r, wq_field_t f)
{
    int v;
    memcpy(&v, (const char *) r + s_fields[f].offset, sizeof v);
    return v;
}

static void
s_set_int(wq_record_t *r, wq_field_t f, int v)
{
    memcpy((char *) r + s_fields[f].offset, &v, sizeof v);
}

/*  A printable, truncated rendering of s[0..len) for error texts: valid
    UTF-8 kept (at most ~40 bytes, whole characters), anything else as
    \xNN, "..." if cut. */
static const char *
s_show(const char *s, size_t len, char *out, size_t size)
{
    size_t o = 0, i = 0;
    const size_t limit = size > 48 ? 40 : size - 8;
    if (!s) {
        snprintf(out, size, "(null)");
        return out;
    }
    while (i < len && o < limit) {
        unsigned char c = (unsigned char) s[i];
        size_t k = 1;
        if (c >= 0x80) {
            k = (c >= 0xF0) ? 4 : (c >= 0xE0) ? 3 : (c >= 0xC0) ? 2 : 1;
            if (k > len - i || !wq_utf8_valid(s + i, k, NULL))
                k = 0;
        } else if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
            k = 0;
        }
        if (k == 0) {
            if (c == '\n' || c == '\t' || c == '"' || c == '\\') {
                out[o++] = '\\';
                out[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : (char) c;
            } else {
                o += (size_t) snprintf(out + o, size - o, "\\x%02X", c);
            }
            i++;
            continue;
        }
        if (o + k >= limit)
            break;
        memcpy(out + o, s + i, k);
        o += k;
        i += k;
    }
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/*  Field name for errors: "date", or "set.date" inside a patch. */
static const char *
s_fname(wq_field_t f, bool patch, char *buf, size_t size)
{
    /* On the hot path of every validation and decode: no snprintf. */
    const char *name = s_fields[f].name;
    size_t len = strlen(name);
    if (!patch && len < size) {
        memcpy(buf, name, len + 1);
        return buf;
    }
    size_t o = 0;
    for (const char *p = patch ? "set." : ""; *p && o + 1 < size; p++)
        buf[o++] = *p;
    for (size_t i = 0; i < len && o + 1 < size; i++)
        buf[o++] = name[i];
    if (size)
        buf[o] = '\0';
    return buf;
}

/*  "a, b, c" list of a field's enum names. */
static const char *
s_enum_list(wq_field_t f, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 1; i < s_fields[f].nenums && o < size; i++)
        o += (size_t) snprintf(buf + o, size - o, "%s%s (%s)", i > 1 ? ", " : "",
                               s_fields[f].labels[i], s_fields[f].enums[i]);
    return buf;
}

/*  "date, county, ..." list of the fields a type takes (no identity ones). */
static const char *
s_type_fields(wq_rec_type_t type, bool patch, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int f = WQ_F_DATE; f < WQ_F_COUNT && o < size; f++) {
        if (f == WQ_F_RECORDED || !(s_fields[f].allowed & T(type)))
            continue;
        if (patch && !s_fields[f].patchable)
            continue;
        o += (size_t) snprintf(buf + o, size - o, "%s%s", o ? ", " : "", s_fields[f].name);
    }
    return buf;
}

static bool
s_type_ok(int type)
{
    return type > WQ_REC_NONE && type < WQ_REC_TYPE_COUNT;
}

/*  Tables made once from s_fields[] (s_name_init): the heap text fields,
    and the field names by hash for the decoder (below). */
static pthread_once_t s_name_once = PTHREAD_ONCE_INIT;
static uint8_t s_text[WQ_F_COUNT];
static int s_ntext;
static void s_name_init(void);

/*  ---- lifecycle ---------------------------------------------------------- */

wq_record_t *
wq_record_new(wq_rec_type_t type)
{
    assert(type >= WQ_REC_NONE && type < WQ_REC_TYPE_COUNT);
    wq_record_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->type = type;
    self->present = BIT(WQ_F_TYPE);
    return self;
}

static void
s_free_cadres(wq_record_t *self)
{
    for (size_t i = 0; i < self->ncadres; i++)
        free(self->cadres[i]);
    free(self->cadres);
    self->cadres = NULL;
    self->ncadres = 0;
}

void
wq_record_destroy(wq_record_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wq_record_t *self = *self_p;
    pthread_once(&s_name_once, s_name_init);
    for (int i = 0; i < s_ntext; i++) {
        char *text = *s_heap(self, (wq_field_t) s_text[i]);
        if (text)   /* most are absent: no call for them */
            free(text);
    }
    if (self->cadres)
        s_free_cadres(self);
    if (self->set)
        wq_record_destroy(&self->set);
    free(self);
    *self_p = NULL;
}

int
wq_record_apply_patch(wq_record_t *self, const wq_record_t *patch, wq_err_t *err)
{
    if (!patch || patch->type != self->type)
        return wq_err_set(err, WQ_E_TYPE, "set", _("the set holds fields of a %s but the "
                                                  "correction is of a %s"),
                          patch ? wq_rec_type_name(patch->type) : "?",
                          wq_rec_type_name(self->type));
    for (int f = 0; f < WQ_F_COUNT; f++) {
        if (!(patch->present & BIT(f)) || !s_fields[f].patchable)
            continue;
        const s_field_t *d = &s_fields[f];
        switch (d->kind) {
        case S_K_TEXT: {
            const char *v = s_cheap(patch, (wq_field_t) f);
            char *copy = v ? strdup(v) : NULL;
            if (v && !copy)
                return wq_err_set(err, WQ_E_NOMEM, d->name, _("out of memory"));
            char **slot = s_heap(self, (wq_field_t) f);
            free(*slot);
            *slot = copy;
            break;
        }
        case S_K_ENUM:
            s_set_int(self, (wq_field_t) f, s_get_int(patch, (wq_field_t) f));
            break;
        case S_K_BOOL:
            self->above_size = patch->above_size;
            break;
        case S_K_LIST: {
            char **items = calloc(patch->ncadres ? patch->ncadres : 1, sizeof *items);
            if (!items)
                return wq_err_set(err, WQ_E_NOMEM, d->name, _("out of memory"));
            for (size_t i = 0; i < patch->ncadres; i++)
                if (!(items[i] = strdup(patch->cadres[i]))) {
                    while (i > 0)
                        free(items[--i]);
                    free(items);
                    return wq_err_set(err, WQ_E_NOMEM, d->name, _("out of memory"));
                }
            s_free_cadres(self);
            self->cadres = items;
            self->ncadres = patch->ncadres;
            break;
        }
        default:    /* inline strings: date, industry, deadline, visit ... */
            if (d->cap)
                memcpy(s_inline(self, (wq_field_t) f), s_cinline(patch, (wq_field_t) f), d->cap);
            break;
        }
        self->present |= BIT(f);
    }
    return WQ_OK;
}

void
wq_record_set_identity(wq_record_t *self, const char *agent, uint32_t inc, uint64_t seq,
                       uint64_t recorded_ms)
{
    assert(self && agent);
    snprintf(self->agent, sizeof self->agent, "%s", agent);
    self->inc = inc;
    self->seq = seq;
    self->recorded_ms = recorded_ms;
    self->present |= BIT(WQ_F_AGENT) | BIT(WQ_F_INC) | BIT(WQ_F_SEQ) | BIT(WQ_F_RECORDED);
}

/*  ---- names -------------------------------------------------------------- */

const char *
wq_rec_type_name(wq_rec_type_t type)
{
    return s_type_ok((int) type) ? s_type_names[type] : "?";
}

bool
wq_rec_type_is_base(wq_rec_type_t type)
{
    return s_type_ok((int) type) && type != WQ_REC_CORRECTION && type != WQ_REC_RETRACTION;
}

wq_rec_type_t
wq_rec_type_parse(const char *name)
{
    if (!name)
        return WQ_REC_NONE;
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++)
        if (strcmp(name, s_type_names[t]) == 0)
            return (wq_rec_type_t) t;
    return WQ_REC_NONE;
}

const char *
wq_field_name(wq_field_t field)
{
    return (field >= 0 && field < WQ_F_COUNT) ? s_fields[field].name : "?";
}

wq_field_t
wq_field_parse(const char *name)
{
    if (!name)
        return WQ_F_COUNT;
    for (int f = 0; f < WQ_F_COUNT; f++)
        if (strcmp(name, s_fields[f].name) == 0)
            return (wq_field_t) f;
    return WQ_F_COUNT;
}

/*  Field names by hash, for the decoder (every key of every record), made
    with s_text[] by s_name_init: open addressing, slot = field + 1. */
#define S_NAME_SLOTS 128
static uint8_t s_name_len[WQ_F_COUNT];
static uint8_t s_name_slot[S_NAME_SLOTS];

static unsigned
s_name_hash(const char *name, size_t len)
{
    return ((unsigned) len * 31u + (unsigned char) name[0] * 7u + (unsigned char) name[len - 1])
           & (S_NAME_SLOTS - 1);
}

static void
s_name_init(void)
{
    for (int f = 0; f < WQ_F_COUNT; f++) {
        if (s_fields[f].kind == S_K_TEXT)
            s_text[s_ntext++] = (uint8_t) f;
        size_t len = strlen(s_fields[f].name);
        s_name_len[f] = (uint8_t) len;
        unsigned h = s_name_hash(s_fields[f].name, len);
        while (s_name_slot[h])
            h = (h + 1) & (S_NAME_SLOTS - 1);
        s_name_slot[h] = (uint8_t) (f + 1);
    }
}

/*  Same as wq_field_parse for a name that is not NUL-terminated. The
    caller has made the table (pthread_once(&s_name_once, s_name_init)). */
static wq_field_t
s_field_parse_n(const char *name, size_t len)
{
    if (len == 0 || len > 255)
        return WQ_F_COUNT;
    for (unsigned h = s_name_hash(name, len); s_name_slot[h]; h = (h + 1) & (S_NAME_SLOTS - 1)) {
        int f = s_name_slot[h] - 1;
        if (s_name_len[f] == len && memcmp(s_fields[f].name, name, len) == 0)
            return (wq_field_t) f;
    }
    return WQ_F_COUNT;
}

/*  Index of s[0..len) (no NUL in it) in names[1..count), 0 if absent. */
static int
s_name_index_n(const char *const *names, int count, const char *s, size_t len)
{
    for (int i = 1; i < count; i++)
        if (strncmp(names[i], s, len) == 0 && names[i][len] == '\0')
            return i;
    return 0;
}

const char *
wq_enum_name(wq_field_t field, int value)
{
    if (field < 0 || field >= WQ_F_COUNT || s_fields[field].kind != S_K_ENUM)
        return "?";
    if (value < 1 || value >= s_fields[field].nenums)
        return "?";
    return s_fields[field].enums[value];
}

int
wq_enum_parse(wq_field_t field, const char *name)
{
    if (!name || field < 0 || field >= WQ_F_COUNT || s_fields[field].kind != S_K_ENUM)
        return 0;
    for (int i = 1; i < s_fields[field].nenums; i++)
        if (strcmp(name, s_fields[field].enums[i]) == 0)
            return i;
    return 0;
}

static bool
s_is_enum(wq_field_t field)
{
    return field >= 0 && field < WQ_F_COUNT && s_fields[field].kind == S_K_ENUM;
}

const char *
wq_enum_label(wq_field_t field, int value)
{
    if (!s_is_enum(field) || value < 1 || value >= s_fields[field].nenums)
        return "?";
    return s_fields[field].labels[value];
}

int
wq_enum_count(wq_field_t field)
{
    return s_is_enum(field) ? s_fields[field].nenums - 1 : 0;
}

bool
wq_field_is_enum(wq_field_t field)
{
    return s_is_enum(field);
}

/*  s without leading/trailing ASCII spaces and ideographic spaces (U+3000),
    as [*a, *b). */
static void
s_trim(const char *s, const char **a, const char **b)
{
    const char *p = s, *q = s + strlen(s);
    for (;;) {
        if (*p == ' ' || *p == '\t')
            p++;
        else if (strncmp(p, "\xE3\x80\x80", 3) == 0)
            p += 3;
        else
            break;
    }
    for (;;) {
        if (q > p && (q[-1] == ' ' || q[-1] == '\t'))
            q--;
        else if (q - p >= 3 && memcmp(q - 3, "\xE3\x80\x80", 3) == 0)
            q -= 3;
        else
            break;
    }
    *a = p;
    *b = q;
}

/*  Whether [a, b) equals word, ASCII letters compared without case. */
static bool
s_eq_text(const char *a, const char *b, const char *word)
{
    size_t n = (size_t) (b - a);
    return strlen(word) == n && strncasecmp(a, word, n) == 0;
}

int
wq_enum_parse_text(wq_field_t field, const char *text)
{
    if (!text || !s_is_enum(field))
        return 0;
    const char *a, *b;
    s_trim(text, &a, &b);
    for (int i = 1; i < s_fields[field].nenums; i++)
        if (s_eq_text(a, b, s_fields[field].enums[i]) || s_eq_text(a, b, s_fields[field].labels[i]))
            return i;
    return 0;
}

const char *
wq_rec_type_label(wq_rec_type_t type)
{
    return s_type_ok((int) type) ? s_type_labels[type] : "?";
}

wq_rec_type_t
wq_rec_type_parse_text(const char *text)
{
    if (!text)
        return WQ_REC_NONE;
    const char *a, *b;
    s_trim(text, &a, &b);
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++)
        if (s_eq_text(a, b, s_type_names[t]) || s_eq_text(a, b, s_type_labels[t]))
            return (wq_rec_type_t) t;
    return WQ_REC_NONE;
}

const char *
wq_field_label(wq_field_t field)
{
    return (field >= 0 && field < WQ_F_COUNT) ? s_field_labels[field] : "?";
}

wq_field_t
wq_field_parse_header(const char *text)
{
    if (!text)
        return WQ_F_COUNT;
    const char *a, *b;
    s_trim(text, &a, &b);
    for (int f = 0; f < WQ_F_COUNT; f++)
        if (s_eq_text(a, b, s_fields[f].name) || s_eq_text(a, b, s_field_labels[f]))
            return (wq_field_t) f;
    /* A few words cadres use for the same columns. */
    static const struct { const char *word; wq_field_t f; } alias[] = {
        {"类型", WQ_F_TYPE}, {"信用代码", WQ_F_ENT}, {"统一社会信用代码证", WQ_F_ENT},
        {"走访日期", WQ_F_DATE}, {"活动日期", WQ_F_DATE}, {"行业", WQ_F_INDUSTRY},
        {"区县", WQ_F_COUNTY}, {"方式", WQ_F_METHOD}, {"问题", WQ_F_PROBLEM},
    };
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (s_eq_text(a, b, alias[i].word))
            return alias[i].f;
    return WQ_F_COUNT;
}

bool
wq_field_allowed(wq_rec_type_t type, wq_field_t field)
{
    if (!s_type_ok((int) type) || field < 0 || field >= WQ_F_COUNT)
        return false;
    return (s_fields[field].allowed & T(type)) != 0;
}

bool
wq_field_required(wq_rec_type_t type, wq_field_t field)
{
    if (!s_type_ok((int) type) || field < 0 || field >= WQ_F_COUNT)
        return false;
    return (s_fields[field].required & T(type)) != 0;
}

bool
wq_field_patchable(wq_rec_type_t type, wq_field_t field)
{
    if (!wq_rec_type_is_base(type))
        return false;
    return wq_field_allowed(type, field) && s_fields[field].patchable;
}

/*  ---- ids ---------------------------------------------------------------- */

int
wq_agent_id_check(const char *agent, wq_err_t *err)
{
    char show[64];
    if (!agent || !*agent)
        return wq_err_set(err, WQ_E_FORMAT, "agent", _("the agent id is empty: give 1-32 of "
                          "A-Z a-z 0-9 _ -"));
    size_t n = strlen(agent);
    if (n > WQ_AGENT_ID_MAX)
        return wq_err_set(err, WQ_E_FORMAT, "agent", _("agent id \"%s\" has %zu characters, at most %d"),
                          s_show(agent, n, show, sizeof show), n, WQ_AGENT_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = agent[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                  || c == '_' || c == '-';
        if (!ok)
            return wq_err_set(err, WQ_E_FORMAT, "agent",
                              _("agent id \"%s\": character %zu is not one of A-Z a-z 0-9 _ -"),
                              s_show(agent, n, show, sizeof show), i + 1);
    }
    return WQ_OK;
}

void
wq_event_id_format(const char *agent, uint32_t inc, uint64_t seq, char out[WQ_EVENT_ID_MAX])
{
    /* By hand, as snprintf "%s/%08x/%llu" would (truncated to fit): on
       ingest's hot path, several times per event. */
    static const char hex[] = "0123456789abcdef";
    char tmp[WQ_EVENT_ID_MAX + 32];
    size_t n = strnlen(agent, WQ_EVENT_ID_MAX), o = 0;
    memcpy(tmp, agent, n);
    o = n;
    tmp[o++] = '/';
    for (int i = 7; i >= 0; i--)
        tmp[o++] = hex[(inc >> (4 * i)) & 0xF];
    tmp[o++] = '/';
    char dig[21];
    int nd = 0;
    do {
        dig[nd++] = (char) ('0' + seq % 10);
        seq /= 10;
    } while (seq);
    while (nd)
        tmp[o++] = dig[--nd];
    if (o > WQ_EVENT_ID_MAX - 1)
        o = WQ_EVENT_ID_MAX - 1;
    memcpy(out, tmp, o);
    out[o] = '\0';
}

/*  out = prefix (2 bytes) + s, truncated to size as snprintf would. */
static void
s_prefixed(char *out, size_t size, const char prefix[2], const char *s)
{
    size_t n = strlen(s);
    if (n + 3 > size)
        n = size - 3;
    out[0] = prefix[0];
    out[1] = prefix[1];
    memcpy(out + 2, s, n);
    out[2 + n] = '\0';
}

void
wq_record_id(const wq_record_t *self, char out[WQ_EVENT_ID_MAX])
{
    wq_event_id_format(self->agent, self->inc, self->seq, out);
}

int
wq_event_id_parse(const char *text, char agent[WQ_AGENT_ID_MAX + 1], uint32_t *inc, uint64_t *seq,
                  wq_err_t *err)
{
    char show[64];
    char a[WQ_AGENT_ID_MAX + 1];
    if (!text)
        return wq_err_set(err, WQ_E_FORMAT, "id", _("event id is missing"));
    size_t n = strlen(text);
    s_show(text, n, show, sizeof show);
    const char *s1 = strchr(text, '/');
    const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    if (!s1 || !s2)
        return wq_err_set(err, WQ_E_FORMAT, "id", _("\"%s\" is not an event id AGENT/INC/SEQ, e.g. "
                          "130102-01/9f86d081/17"), show);
    size_t alen = (size_t) (s1 - text);
    if (alen == 0 || alen > WQ_AGENT_ID_MAX)
        return wq_err_set(err, WQ_E_FORMAT, "id", _("event id \"%s\": the agent part must have "
                          "1-%d characters"), show, WQ_AGENT_ID_MAX);
    memcpy(a, text, alen);
    a[alen] = '\0';
    wq_err_t e;
    if (wq_agent_id_check(a, &e) != WQ_OK)
        return wq_err_set(err, WQ_E_FORMAT, "id", _("event id \"%s\": the agent part may only "
                          "have A-Z a-z 0-9 _ -"), show);
    const char *h = s1 + 1;
    if (s2 - h != 8)
        return wq_err_set(err, WQ_E_FORMAT, "id", _("event id \"%s\": the incarnation must be 8 "
                          "lower-case hex digits"), show);
    uint32_t iv = 0;
    for (int i = 0; i < 8; i++) {
        char c = h[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0)
            return wq_err_set(err, WQ_E_FORMAT, "id", _("event id \"%s\": the incarnation must be "
                              "8 lower-case hex digits"), show);
        iv = (iv << 4) | (uint32_t) d;
    }
    if (iv == 0)
        return wq_err_set(err, WQ_E_FORMAT, "id", _("event id \"%s\": the incarnation must not be "
                          "00000000"), show);
    const char *q = s2 + 1;
    size_t qlen = strlen(q);
    if (qlen == 0 || qlen > 19 || (q[0] == '0'))
        return wq_err_set(err, WQ_E_FORMAT, "id", _("event id \"%s\": the sequence number must be "
                          "a decimal 1 to 9223372036854775807 without leading zeros"), show);
    uint64_t sv = 0;
    for (size_t i = 0; i < qlen; i++) {
        if (q[i] < '0' || q[i] > '9')
            return wq_err_set(err, WQ_E_FORMAT, "id", _("event id \"%s\": the sequence number "
                              "must be decimal digits only"), show);
        uint64_t d = (uint64_t) (q[i] - '0');
        if (sv > (UINT64_C(9223372036854775807) - d) / 10)
            return wq_err_set(err, WQ_E_FORMAT, "id", _("event id \"%s\": the sequence number "
                              "is above 9223372036854775807"), show);
        sv = sv * 10 + d;
    }
    if (agent)
        memcpy(agent, a, alen + 1);
    if (inc)
        *inc = iv;
    if (seq)
        *seq = sv;
    return WQ_OK;
}

bool
wq_event_ref_is_line(const char *value, unsigned long *line)
{
    if (!value || value[0] != '@' || value[1] < '1' || value[1] > '9')
        return false;
    unsigned long v = 0;
    size_t i = 1;
    for (; value[i]; i++) {
        if (value[i] < '0' || value[i] > '9' || i > 9)
            return false;
        v = v * 10 + (unsigned long) (value[i] - '0');
    }
    if (v == 0 || v > S_LINE_REF_MAX)
        return false;
    if (line)
        *line = v;
    return true;
}

int
wq_record_fold_cmp_key(const char *date_a, const char *agent_a, uint32_t inc_a, uint64_t seq_a,
                       const char *date_b, const char *agent_b, uint32_t inc_b, uint64_t seq_b)
{
    int d = strcmp(date_a, date_b);
    if (d)
        return d;
    d = strcmp(agent_a, agent_b);
    if (d)
        return d;
    if (inc_a != inc_b)
        return inc_a < inc_b ? -1 : 1;
    return seq_a < seq_b ? -1 : seq_a > seq_b;
}

int
wq_record_fold_cmp(const wq_record_t *a, const wq_record_t *b)
{
    return wq_record_fold_cmp_key(a->date, a->agent, a->inc, a->seq, b->date, b->agent, b->inc,
                                  b->seq);
}

void
wq_record_entity(const wq_record_t *self, char out[WQ_EVENT_ID_MAX + 2])
{
    char id[WQ_EVENT_ID_MAX];
    out[0] = '\0';
    switch (self->type) {
    case WQ_REC_ENTERPRISE:
    case WQ_REC_VISIT:
    case WQ_REC_SERVICE:
    case WQ_REC_CLASSIFICATION:
    case WQ_REC_GRADING:
        s_prefixed(out, WQ_EVENT_ID_MAX + 2, "E:", self->ent);
        break;
    case WQ_REC_PROBLEM:
    case WQ_REC_CONSULTATION:
        wq_record_id(self, id);
        s_prefixed(out, WQ_EVENT_ID_MAX + 2, self->type == WQ_REC_PROBLEM ? "P:" : "C:", id);
        break;
    case WQ_REC_PLAN:
    case WQ_REC_PROGRESS:
        s_prefixed(out, WQ_EVENT_ID_MAX + 2, "P:", self->problem);
        break;
    case WQ_REC_ANSWER:
        s_prefixed(out, WQ_EVENT_ID_MAX + 2, "C:", self->consultation);
        break;
    default:
        break;
    }
}

/*  ---- checks of one value (shared by validate and set_text) ------------- */

static int
s_check_industry(const char *fname, const char *s, wq_err_t *err)
{
    char show[64];
    size_t n = strlen(s);
    bool ok = (n == 1 || (n >= 3 && n <= 5)) && s[0] >= 'A' && s[0] <= 'T';
    for (size_t i = 1; ok && i < n; i++)
        ok = s[i] >= '0' && s[i] <= '9';
    if (!ok)
        return wq_err_set(err, WQ_E_FORMAT, fname,
                          _("\"%s\" is not a GB/T 4754 industry: give the section letter A-T, "
                          "optionally followed by 2-4 digits (e.g. C or C3110)"),
                          s_show(s, n, show, sizeof show));
    return WQ_OK;
}

/*  Check a string value of string-kind field f. date is the record's
    activity date for the county check (NULL: any date the code was ever
    valid). */
static int
s_check_str(wq_field_t f, bool patch, const char *s, size_t n, const char *date, wq_err_t *err)
{
    const s_field_t *d = &s_fields[f];
    char fname[48], show[64];
    wq_err_t e;
    int rc;
    s_fname(f, patch, fname, sizeof fname);
    /* One pass proves the usual case (valid, no control character, not
       even NUL) and counts the characters; only a string that fails it
       goes through the checks one by one, which say what is wrong. */
    size_t bad = 0, chars = 0;
    bool clean = wq_utf8_text_scan(s, n, d->kind == S_K_TEXT && d->multiline, &chars);
    if (!clean && memchr(s, '\0', n))
        return wq_err_set(err, WQ_E_UTF8, fname, _("the value contains a NUL byte"));
    if (!clean && d->kind != S_K_TEXT) {  /* codes, dates, ids: line fields (PROTOCOL.md 3.3) */
        if (!wq_utf8_valid(s, n, &bad))
            return wq_err_set(err, WQ_E_UTF8, fname, _("\"%s\" is not valid UTF-8 at byte %zu"),
                              s_show(s, n, show, sizeof show), bad);
        if (!wq_utf8_text_ok(s, n, false, &bad))
            return wq_err_set(err, WQ_E_UTF8, fname, _("\"%s\" has a control character at byte %zu"),
                              s_show(s, n, show, sizeof show), bad);
    }
    switch (d->kind) {
    case S_K_AGENT:
        rc = wq_agent_id_check(s, &e);
        if (rc != WQ_OK)
            return wq_err_set(err, rc, fname, _("%s"), e.text);
        return WQ_OK;
    case S_K_DATE:
        rc = wq_date_check(s, &e);
        if (rc != WQ_OK)
            return wq_err_set(err, rc, fname, _("%s"), e.text);
        return WQ_OK;
    case S_K_COUNTY:
        rc = wq_division_check_county(s, date ? date : "2020-12-31", &e);
        if (rc != WQ_OK)
            return wq_err_set(err, rc, fname, _("%s"), e.text);
        return WQ_OK;
    case S_K_ENT:
        rc = wq_creditcode_check(s, &e);
        if (rc != WQ_OK)
            return wq_err_set(err, rc, fname, _("%s"), e.text);
        return WQ_OK;
    case S_K_INDUSTRY:
        return s_check_industry(fname, s, err);
    case S_K_EVENT:
        if (wq_event_ref_is_line(s, NULL))
            return wq_err_set(err, WQ_E_FORMAT, fname,
                              _("\"%s\" is an unresolved line reference: only an import file may "
                              "refer to its own lines, give an event id AGENT/INC/SEQ"), s);
        rc = wq_event_id_parse(s, NULL, NULL, NULL, &e);
        if (rc != WQ_OK)
            return wq_err_set(err, rc, fname, _("%s"), e.text);
        return WQ_OK;
    case S_K_TEXT:
        /* Lengths are counted in characters (code points), as a person
           counts them: 200 Han characters are 200, not 600 bytes. */
        if (n < d->min)
            return wq_err_set(err, WQ_E_RANGE, fname,
                              _("the %s is empty: give 1 to %zu characters"), s_word(f), d->max);
        if (clean) {
            if (chars > d->max)
                return wq_err_set(err, WQ_E_RANGE, fname, _("\"%s\" has %zu characters, at most %zu"),
                                  s_show(s, n, show, sizeof show), chars, d->max);
            return WQ_OK;
        }
        if (!wq_utf8_valid(s, n, &bad))
            return wq_err_set(err, WQ_E_UTF8, fname,
                              _("\"%s\" is not valid UTF-8 at byte %zu: save the text as UTF-8"),
                              s_show(s, n, show, sizeof show), bad);
        if (wq_utf8_chars(s, n) > d->max)
            return wq_err_set(err, WQ_E_RANGE, fname, _("\"%s\" has %zu characters, at most %zu"),
                              s_show(s, n, show, sizeof show), wq_utf8_chars(s, n), d->max);
        if (!wq_utf8_text_ok(s, n, d->multiline, &bad))
            return wq_err_set(err, WQ_E_UTF8, fname,
                              _("\"%s\" has a control character at byte %zu%s"),
                              s_show(s, n, show, sizeof show), bad,
                              d->multiline ? " (only line feed and tab are allowed)"
                                           : " (a single line: no line feed or tab)");
        return WQ_OK;
    default:
        assert(!"not a string kind");
        return wq_err_set(err, WQ_E_INTERNAL, fname, _("not a string field"));
    }
}

/*  Check one cadre name. */
static int
s_check_cadre_item(bool patch, size_t i, const char *s, wq_err_t *err)
{
    char fname[48], show[64];
    size_t n = strlen(s), bad = 0;
    s_fname(WQ_F_CADRES, patch, fname, sizeof fname);
    if (n == 0)
        return wq_err_set(err, WQ_E_RANGE, fname, _("cadre %zu is an empty name"), i + 1);
    size_t chars = 0;
    if (wq_utf8_text_scan(s, n, false, &chars) && chars <= S_LIST_ITEM_MAX)
        return WQ_OK;
    if (!wq_utf8_valid(s, n, &bad))
        return wq_err_set(err, WQ_E_UTF8, fname, _("cadre %zu \"%s\" is not valid UTF-8 at byte %zu"),
                          i + 1, s_show(s, n, show, sizeof show), bad);
    if (wq_utf8_chars(s, n) > S_LIST_ITEM_MAX)
        return wq_err_set(err, WQ_E_RANGE, fname,
                          _("cadre %zu \"%s\" has %zu characters, at most %d"), i + 1,
                          s_show(s, n, show, sizeof show), wq_utf8_chars(s, n), S_LIST_ITEM_MAX);
    if (!wq_utf8_text_ok(s, n, false, &bad))
        return wq_err_set(err, WQ_E_UTF8, fname, _("cadre %zu \"%s\" has a control character at "
                          "byte %zu"), i + 1, s_show(s, n, show, sizeof show), bad);
    return WQ_OK;
}

static int s_validate(const wq_record_t *self, bool patch, bool identity, wq_err_t *err);

/*  Check the present field f of r. */
static int
s_check_field(const wq_record_t *r, wq_field_t f, bool patch, wq_err_t *err)
{
    const s_field_t *d = &s_fields[f];
    char fname[48], list[200];
    s_fname(f, patch, fname, sizeof fname);
    switch (d->kind) {
    case S_K_TYPE:
        if (!s_type_ok((int) r->type))
            return wq_err_set(err, WQ_E_UNKNOWN, fname, _("record type %d is unknown"), (int) r->type);
        return WQ_OK;
    case S_K_U32:
    case S_K_U64:
        if (f == WQ_F_INC && r->inc == 0)
            return wq_err_set(err, WQ_E_RANGE, fname, _("the incarnation must not be 0"));
        if (f == WQ_F_SEQ && (r->seq == 0 || r->seq > UINT64_C(9223372036854775807)))
            return wq_err_set(err, WQ_E_RANGE, fname, _("seq %" PRIu64 " is outside "
                              "1..9223372036854775807"), r->seq);
        return WQ_OK;
    case S_K_BOOL:
        return WQ_OK;
    case S_K_ENUM: {
        int v = s_get_int(r, f);
        if (v < 1 || v >= d->nenums)
            return wq_err_set(err, WQ_E_UNKNOWN, fname, _("value %d is not a %s: use one of %s"), v,
                              d->name, s_enum_list(f, list, sizeof list));
        return WQ_OK;
    }
    case S_K_OF:
        if (!wq_rec_type_is_base(r->of))
            return wq_err_set(err, WQ_E_UNKNOWN, fname, _("\"%s\" cannot be corrected: a correction "
                              "is of an enterprise, visit, problem, plan, progress, service, "
                              "consultation, answer or classification (retract instead)"),
                              wq_rec_type_name(r->of));
        return WQ_OK;
    case S_K_SET: {
        if (!r->set)
            return wq_err_set(err, WQ_E_MISSING, fname, _("the correction sets no field"));
        if (r->set->type != r->of)
            return wq_err_set(err, WQ_E_TYPE, fname, _("the set holds fields of a %s but the "
                              "correction is of a %s"), wq_rec_type_name(r->set->type),
                              wq_rec_type_name(r->of));
        return s_validate(r->set, true, false, err);
    }
    case S_K_LIST:
        if (r->ncadres == 0 || !r->cadres)
            return wq_err_set(err, WQ_E_MISSING, fname, _("a visit needs at least one cadre"));
        if (r->ncadres > S_LIST_MAX)
            return wq_err_set(err, WQ_E_RANGE, fname, _("%zu cadres, at most %d"), r->ncadres,
                              S_LIST_MAX);
        for (size_t i = 0; i < r->ncadres; i++) {
            if (!r->cadres[i])
                return wq_err_set(err, WQ_E_MISSING, fname, _("cadre %zu is missing"), i + 1);
            int rc = s_check_cadre_item(patch, i, r->cadres[i], err);
            if (rc != WQ_OK)
                return rc;
        }
        return WQ_OK;
    case S_K_TEXT: {
        const char *s = s_cheap(r, f);
        if (!s)
            return wq_err_set(err, WQ_E_MISSING, fname, _("marked present but has no value"));
        return s_check_str(f, patch, s, strlen(s), NULL, err);
    }
    default: {
        const char *s = s_cinline(r, f);
        const char *date = NULL;
        size_t n = strnlen(s, d->cap);
        if (n == d->cap)
            return wq_err_set(err, WQ_E_RANGE, fname, _("the value is not NUL-terminated within "
                              "%zu bytes"), d->cap);
        if (f == WQ_F_COUNTY && (r->present & BIT(WQ_F_DATE)) && wq_date_days(r->date) >= 0)
            date = r->date;
        return s_check_str(f, patch, s, n, date, err);
    }
    }
}

/*  Validate a record (patch: the set of a correction, partial). */
static int
s_validate(const wq_record_t *self, bool patch, bool identity, wq_err_t *err)
{
    char fname[48], list[400];
    if (!s_type_ok((int) self->type))
        return wq_err_set(err, WQ_E_UNKNOWN, patch ? "of" : "type", _("record type %d is unknown"),
                          (int) self->type);
    if (self->present >> WQ_F_COUNT)
        return wq_err_set(err, WQ_E_INTERNAL, "", _("present has bits beyond the last field"));
    unsigned tbit = T(self->type);
    uint64_t set = 0;
    for (int i = 0; i < WQ_F_COUNT; i++) {
        wq_field_t f = (wq_field_t) i;
        const s_field_t *d = &s_fields[f];
        bool present = (self->present & BIT(f)) != 0;
        if (f == WQ_F_TYPE && patch)
            continue;
        if (!identity && !patch
            && (f == WQ_F_AGENT || f == WQ_F_INC || f == WQ_F_SEQ || f == WQ_F_RECORDED))
            continue;
        if (!present) {
            if (!patch && (d->required & tbit))
                return wq_err_set(err, WQ_E_MISSING, s_fname(f, patch, fname, sizeof fname), _("a %s record needs %s (%s)"),
                                  wq_i18n_chinese() ? s_type_labels[self->type]
                                                    : wq_rec_type_name(self->type),
                                  s_word(f), d->help);
            continue;
        }
        if (!(d->allowed & tbit))
            return wq_err_set(err, WQ_E_UNKNOWN, s_fname(f, patch, fname, sizeof fname), _("a %s record has no field %s; it takes: %s"),
                              wq_rec_type_name(self->type), d->name,
                              s_type_fields(self->type, patch, list, sizeof list));
        if (patch && !d->patchable)
            return wq_err_set(err, WQ_E_UNKNOWN, s_fname(f, patch, fname, sizeof fname), _("a correction cannot change %s; it may "
                              "set: %s (to change %s, retract the event and record it again)"),
                              d->name, s_type_fields(self->type, true, list, sizeof list),
                              d->name);
        int rc = s_check_field(self, f, patch, err);
        if (rc != WQ_OK)
            return rc;
        set |= BIT(f);
    }
    if (patch && set == 0)
        return wq_err_set(err, WQ_E_MISSING, "set", _("the correction sets no field"));
    return WQ_OK;
}

int
wq_record_validate(const wq_record_t *self, wq_err_t *err)
{
    assert(self);
    return s_validate(self, false, true, err);
}

int
wq_record_validate_content(const wq_record_t *self, wq_err_t *err)
{
    assert(self);
    return s_validate(self, false, false, err);
}

/*  ---- setting from text -------------------------------------------------- */

static int
s_store_text(wq_record_t *r, wq_field_t f, const char *value, wq_err_t *err)
{
    char *copy = strdup(value);
    if (!copy)
        return wq_err_set(err, WQ_E_NOMEM, s_fields[f].name, _("out of memory"));
    char **slot = s_heap(r, f);
    free(*slot);
    *slot = copy;
    return WQ_OK;
}

static int
s_append_cadre(wq_record_t *r, bool patch, const char *s, size_t n, wq_err_t *err)
{
    char fname[48];
    s_fname(WQ_F_CADRES, patch, fname, sizeof fname);
    if (r->ncadres >= S_LIST_MAX)
        return wq_err_set(err, WQ_E_RANGE, fname, _("more than %d cadres"), S_LIST_MAX);
    char *item = strndup(s, n);
    if (!item)
        return wq_err_set(err, WQ_E_NOMEM, fname, _("out of memory"));
    int rc = s_check_cadre_item(patch, r->ncadres, item, err);
    if (rc != WQ_OK) {
        free(item);
        return rc;
    }
    char **grown = realloc(r->cadres, (r->ncadres + 1) * sizeof *grown);
    if (!grown) {
        free(item);
        return wq_err_set(err, WQ_E_NOMEM, fname, _("out of memory"));
    }
    r->cadres = grown;
    r->cadres[r->ncadres++] = item;
    return WQ_OK;
}

/*  Length of a list separator at s (',' or the full-width '，' or '、'),
    0 if none. */
static size_t
s_separator(const char *s)
{
    if (*s == ',')
        return 1;
    if (strncmp(s, "\xEF\xBC\x8C", 3) == 0 || strncmp(s, "\xE3\x80\x81", 3) == 0)
        return 3;
    return 0;
}

static int
s_parse_u64(const char *fname, const char *value, uint64_t max, uint64_t *out, wq_err_t *err)
{
    char show[64];
    size_t n = strlen(value);
    bool ok = n > 0 && n <= 20;
    uint64_t v = 0;
    for (size_t i = 0; ok && i < n; i++) {
        ok = value[i] >= '0' && value[i] <= '9';
        uint64_t d = (uint64_t) (value[i] - '0');
        if (ok && v > (max - d) / 10)
            return wq_err_set(err, WQ_E_RANGE, fname, _("%s is above %" PRIu64),
                              s_show(value, n, show, sizeof show), max);
        v = v * 10 + d;
    }
    if (!ok)
        return wq_err_set(err, WQ_E_FORMAT, fname, _("\"%s\" is not a decimal number"),
                          s_show(value, n, show, sizeof show));
    *out = v;
    return WQ_OK;
}

/*  Set field f of r (a patch if patch) from text. */
static int
s_set_text(wq_record_t *r, wq_field_t f, bool patch, const char *value, wq_err_t *err)
{
    const s_field_t *d = &s_fields[f];
    char fname[48], show[64], list[200];
    uint64_t v = 0;
    int rc = WQ_OK;
    s_fname(f, patch, fname, sizeof fname);
    size_t n = strlen(value);
    switch (d->kind) {
    case S_K_TYPE:
        if (wq_rec_type_parse_text(value) != r->type)
            return wq_err_set(err, WQ_E_UNKNOWN, fname, _("the record is a %s; its type cannot be "
                              "changed to \"%s\""), wq_rec_type_name(r->type),
                              s_show(value, n, show, sizeof show));
        return WQ_OK;
    case S_K_U32:
    case S_K_U64:
        rc = s_parse_u64(fname, value, d->kind == S_K_U32 ? UINT32_MAX : UINT64_MAX, &v, err);
        if (rc != WQ_OK)
            return rc;
        if (f == WQ_F_INC)
            r->inc = (uint32_t) v;
        else if (f == WQ_F_SEQ)
            r->seq = v;
        else
            r->recorded_ms = v;
        break;
    case S_K_BOOL:
        if (!strcasecmp(value, "true") || !strcmp(value, "1") || !strcasecmp(value, "yes")
            || !strcmp(value, "是"))
            r->above_size = true;
        else if (!strcasecmp(value, "false") || !strcmp(value, "0") || !strcasecmp(value, "no")
                 || !strcmp(value, "否"))
            r->above_size = false;
        else
            return wq_err_set(err, WQ_E_FORMAT, fname, _("\"%s\" is not a yes/no value: use true, "
                              "false, yes, no, 1 or 0"), s_show(value, n, show, sizeof show));
        break;
    case S_K_ENUM: {
        int e = wq_enum_parse_text(f, value);
        if (e == 0)
            return wq_err_set(err, WQ_E_UNKNOWN, fname, _("\"%s\" is not a %s: use one of %s"),
                              s_show(value, n, show, sizeof show), s_word(f),
                              s_enum_list(f, list, sizeof list));
        s_set_int(r, f, e);
        break;
    }
    case S_K_OF: {
        wq_rec_type_t t = wq_rec_type_parse_text(value);
        if (!wq_rec_type_is_base(t))
            return wq_err_set(err, WQ_E_UNKNOWN, fname, _("\"%s\" is not a record type that can be "
                              "corrected: use enterprise, visit, problem, plan, progress, "
                              "service, consultation, answer or classification"),
                              s_show(value, n, show, sizeof show));
        if (r->set && r->set->type != t)
            return wq_err_set(err, WQ_E_FORMAT, fname, _("the correction already sets fields of a "
                              "%s; \"of\" cannot become %s"), wq_rec_type_name(r->set->type),
                              value);
        r->of = t;
        break;
    }
    case S_K_SET:
        return wq_err_set(err, WQ_E_UNKNOWN, fname, _("set the corrected fields one by one "
                          "(set.FIELD), not \"set\" itself"));
    case S_K_LIST: {
        const char *p = value;
        size_t before = r->ncadres;
        for (;;) {
            const char *q = p;
            while (*q && !s_separator(q))
                q++;
            const char *a = p, *b = q;
            while (a < b && *a == ' ')
                a++;
            while (b > a && b[-1] == ' ')
                b--;
            rc = s_append_cadre(r, patch, a, (size_t) (b - a), err);
            if (rc != WQ_OK) {
                while (r->ncadres > before)
                    free(r->cadres[--r->ncadres]);
                return rc;
            }
            if (!*q)
                break;
            p = q + s_separator(q);
        }
        break;
    }
    case S_K_TEXT:
        rc = s_check_str(f, patch, value, n, NULL, err);
        if (rc != WQ_OK)
            return rc;
        rc = s_store_text(r, f, value, err);
        if (rc != WQ_OK)
            return rc;
        break;
    case S_K_EVENT:
        if (!wq_event_ref_is_line(value, NULL)) {
            rc = s_check_str(f, patch, value, n, NULL, err);
            if (rc != WQ_OK)
                return rc;
        }
        snprintf(s_inline(r, f), d->cap, "%s", value);
        break;
    case S_K_DATE: {  /* as people write dates: 2019/5/6, 2019年5月6日, Excel serials */
        char iso[11];
        wq_err_t e;
        size_t bad = 0;
        if (!wq_utf8_valid(value, n, &bad) || !wq_utf8_text_ok(value, n, false, &bad))
            return wq_err_set(err, WQ_E_UTF8, fname, _("\"%s\" has a control character or "
                              "invalid UTF-8 at byte %zu"), s_show(value, n, show, sizeof show),
                              bad);
        if (wq_date_normalize(value, iso, &e) != WQ_OK)
            return wq_err_set(err, WQ_E_FORMAT, fname, _("%s"), e.text);
        memcpy(s_inline(r, f), iso, sizeof iso);
        break;
    }
    default: {  /* inline strings: agent, county, ent, industry */
        const char *date = NULL;
        if (f == WQ_F_COUNTY && (r->present & BIT(WQ_F_DATE)) && wq_date_days(r->date) >= 0)
            date = r->date;
        rc = s_check_str(f, patch, value, n, date, err);
        if (rc != WQ_OK)
            return rc;
        if (n >= d->cap)   /* cannot happen once checked; keep the copy safe */
            return wq_err_set(err, WQ_E_RANGE, fname, _("value too long"));
        memcpy(s_inline(r, f), value, n + 1);
        break;
    }
    }
    r->present |= BIT(f);
    return WQ_OK;
}

/*  Look a field name up for type (patch: a correction's set). */
static int
s_lookup(wq_rec_type_t type, bool patch, const char *field, wq_field_t *out, wq_err_t *err)
{
    char show[64], list[400], fname[48];
    wq_field_t f = wq_field_parse(field);
    const char *what = patch ? "a correction of a" : "a";
    snprintf(fname, sizeof fname, "%s%s", patch ? "set." : "", field ? field : "");
    if (f == WQ_F_COUNT)
        return wq_err_set(err, WQ_E_UNKNOWN, fname, _("\"%s\" is not a field; %s %s takes: %s"),
                          field ? s_show(field, strlen(field), show, sizeof show) : "", what,
                          wq_rec_type_name(type), s_type_fields(type, patch, list, sizeof list));
    if (!(s_fields[f].allowed & T(type)) || (patch && !s_fields[f].patchable))
        return wq_err_set(err, WQ_E_UNKNOWN, fname, _("%s %s cannot %s %s; it takes: %s"), what,
                          wq_rec_type_name(type), patch ? "change" : "have", field,
                          s_type_fields(type, patch, list, sizeof list));
    *out = f;
    return WQ_OK;
}

int
wq_record_set_text(wq_record_t *self, const char *field, const char *value, wq_err_t *err)
{
    assert(self);
    wq_field_t f;
    if (!s_type_ok((int) self->type))
        return wq_err_set(err, WQ_E_UNKNOWN, "type", _("the record has no type"));
    int rc = s_lookup(self->type, false, field, &f, err);
    if (rc != WQ_OK)
        return rc;
    if (!value)
        return wq_err_set(err, WQ_E_MISSING, field, _("no value given"));
    return s_set_text(self, f, false, value, err);
}

int
wq_record_set_patch_text(wq_record_t *self, const char *field, const char *value, wq_err_t *err)
{
    assert(self);
    wq_field_t f;
    if (self->type != WQ_REC_CORRECTION)
        return wq_err_set(err, WQ_E_UNKNOWN, "set", _("only a correction has a set of fields; this "
                          "is a %s"), wq_rec_type_name(self->type));
    if (!(self->present & BIT(WQ_F_OF)) || !wq_rec_type_is_base(self->of))
        return wq_err_set(err, WQ_E_MISSING, "of", _("give \"of\" (the type of the corrected "
                          "event) before the fields it sets"));
    int rc = s_lookup(self->of, true, field, &f, err);
    if (rc != WQ_OK)
        return rc;
    if (!value)
        return wq_err_set(err, WQ_E_MISSING, field, _("no value given"));
    bool made = false;
    if (!self->set) {
        self->set = wq_record_new(self->of);
        if (!self->set)
            return wq_err_set(err, WQ_E_NOMEM, "set", _("out of memory"));
        made = true;
    }
    rc = s_set_text(self->set, f, true, value, err);
    if (rc != WQ_OK) {
        if (made)
            wq_record_destroy(&self->set);
        return rc;
    }
    self->present |= BIT(WQ_F_SET);
    return WQ_OK;
}

/*  ---- JSON import ----------------------------------------------------- */

/*  Apply one JSON member to r (patch: the set). */
static int
s_json_member(wq_record_t *r, const wq_json_member_t *m, const char *name, bool patch,
              wq_err_t *err)
{
    wq_field_t f;
    wq_rec_type_t type = patch ? r->of : r->type;
    int rc = s_lookup(type, patch, name, &f, err);
    if (rc != WQ_OK)
        return rc;
    const s_field_t *d = &s_fields[f];
    char fname[48];
    s_fname(f, patch, fname, sizeof fname);
    if (f == WQ_F_AGENT || f == WQ_F_INC || f == WQ_F_SEQ || f == WQ_F_RECORDED)
        return wq_err_set(err, WQ_E_UNKNOWN, fname, _("%s is assigned by the agent when it stores "
                          "the record: remove it from the import line"), d->name);
    if (m->kind == WQ_JSON_NULL)
        return WQ_OK;   /* null: the field is absent */
    bool kind_ok;
    switch (d->kind) {
    case S_K_BOOL:
        kind_ok = m->kind == WQ_JSON_BOOL || m->kind == WQ_JSON_STRING;
        break;
    case S_K_LIST:
        kind_ok = m->kind == WQ_JSON_ARRAY || m->kind == WQ_JSON_STRING;
        break;
    default:
        kind_ok = m->kind == WQ_JSON_STRING;
        break;
    }
    if (!kind_ok)
        return wq_err_set(err, WQ_E_TYPE, fname, _("%s must be %s"), d->name,
                          d->kind == S_K_BOOL   ? "true or false"
                          : d->kind == S_K_LIST ? "an array of strings"
                                                : "a string");
    if (m->kind == WQ_JSON_BOOL)
        return patch ? wq_record_set_patch_text(r, name, m->boolean ? "true" : "false", err)
                     : wq_record_set_text(r, name, m->boolean ? "true" : "false", err);
    if (m->kind == WQ_JSON_ARRAY) {
        if (m->nitems == 0)
            return wq_err_set(err, WQ_E_MISSING, fname, _("the list of cadres is empty"));
        if (patch && !r->set) {
            r->set = wq_record_new(r->of);
            if (!r->set)
                return wq_err_set(err, WQ_E_NOMEM, fname, _("out of memory"));
        }
        wq_record_t *t = patch ? r->set : r;
        for (size_t i = 0; i < m->nitems; i++) {
            const char *item = m->items[i] ? m->items[i] : "";
            rc = s_append_cadre(t, patch, item, strlen(item), err);
            if (rc != WQ_OK)
                return rc;
        }
        t->present |= BIT(WQ_F_CADRES);
        if (patch)
            r->present |= BIT(WQ_F_SET);
        return WQ_OK;
    }
    return patch ? wq_record_set_patch_text(r, name, m->text, err)
                 : wq_record_set_text(r, name, m->text, err);
}

int
wq_record_from_json(const wq_json_object_t *obj, wq_record_t **out, wq_err_t *err)
{
    assert(obj && out);
    char show[64];
    wq_record_t *r = NULL;
    int rc;
    *out = NULL;
    const wq_json_member_t *tm = wq_json_get(obj, "type");
    if (!tm) {
        rc = wq_err_set(err, WQ_E_MISSING, "type", _("the line has no \"type\": give one of "
                        "enterprise, visit, problem, plan, progress, service, consultation, "
                        "answer, classification, correction, retraction"));
        goto fail;
    }
    if (tm->kind != WQ_JSON_STRING) {
        rc = wq_err_set(err, WQ_E_TYPE, "type", _("\"type\" must be a string"));
        goto fail;
    }
    wq_rec_type_t type = wq_rec_type_parse_text(tm->text);
    if (type == WQ_REC_NONE) {
        rc = wq_err_set(err, WQ_E_UNKNOWN, "type", _("\"%s\" is not a record type: use one of "
                        "enterprise, visit, problem, plan, progress, service, consultation, "
                        "answer, classification, correction, retraction"),
                        s_show(tm->text, strlen(tm->text), show, sizeof show));
        goto fail;
    }
    r = wq_record_new(type);
    if (!r) {
        rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory"));
        goto fail;
    }
    /* "of" first so that set.FIELD members know the type they patch;
       "date" before "county" so the county is checked for that date. */
    static const char *const first[] = {"of", "date"};
    for (size_t k = 0; k < 2; k++) {
        const wq_json_member_t *m = wq_json_get(obj, first[k]);
        if (m) {
            rc = s_json_member(r, m, first[k], false, err);
            if (rc != WQ_OK)
                goto fail;
        }
    }
    for (size_t i = 0; i < obj->count; i++) {
        const wq_json_member_t *m = &obj->members[i];
        if (!m->key) {
            rc = wq_err_set(err, WQ_E_FORMAT, "", _("member without a key"));
            goto fail;
        }
        if (!strcmp(m->key, "type") || !strcmp(m->key, "of") || !strcmp(m->key, "date"))
            continue;
        if (!strncmp(m->key, "set.", 4)) {
            if (type != WQ_REC_CORRECTION) {
                rc = wq_err_set(err, WQ_E_UNKNOWN, m->key, _("only a correction has set.FIELD "
                                "members; this is a %s"), wq_rec_type_name(type));
                goto fail;
            }
            if (!(r->present & BIT(WQ_F_OF))) {
                rc = wq_err_set(err, WQ_E_MISSING, "of", _("a correction with set.FIELD members "
                                "needs \"of\", the type of the corrected event"));
                goto fail;
            }
            rc = s_json_member(r, m, m->key + 4, true, err);
        } else {
            rc = s_json_member(r, m, m->key, false, err);
        }
        if (rc != WQ_OK)
            goto fail;
    }
    *out = r;
    return WQ_OK;
fail:
    wq_record_destroy(&r);
    return rc;
}

/*  ---- msgpack encoding -------------------------------------------------- */

/*  Whether field f of r has something to encode. */
static bool
s_encodable(const wq_record_t *r, wq_field_t f, bool patch)
{
    if (!(r->present & BIT(f)))
        return f == WQ_F_TYPE && !patch;
    if (patch && (f == WQ_F_TYPE || f == WQ_F_SET))
        return false;
    switch (s_fields[f].kind) {
    case S_K_TEXT:
        return s_cheap(r, f) != NULL;
    case S_K_SET:
        return r->set != NULL;
    case S_K_LIST:
        return r->cadres != NULL || r->ncadres == 0;
    default:
        return true;
    }
}

static int
s_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    if (msgpack_pack_str(pk, n) != 0)
        return -1;
    return msgpack_pack_str_body(pk, s, n);
}

static int
s_pack_map(msgpack_packer *pk, const wq_record_t *r, bool patch)
{
    size_t count = 0;
    for (int i = 0; i < WQ_F_COUNT; i++)
        if (s_encodable(r, (wq_field_t) i, patch))
            count++;
    if (msgpack_pack_map(pk, count) != 0)
        return -1;
    for (int i = 0; i < WQ_F_COUNT; i++) {
        wq_field_t f = (wq_field_t) i;
        if (!s_encodable(r, f, patch))
            continue;
        const s_field_t *d = &s_fields[f];
        if (s_pack_str(pk, d->name) != 0)
            return -1;
        int rc = 0;
        switch (d->kind) {
        case S_K_TYPE:
            rc = s_pack_str(pk, wq_rec_type_name(r->type));
            break;
        case S_K_OF:
            rc = s_pack_str(pk, wq_rec_type_name(r->of));
            break;
        case S_K_U32:
            rc = msgpack_pack_uint32(pk, r->inc);
            break;
        case S_K_U64:
            rc = msgpack_pack_uint64(pk, f == WQ_F_SEQ ? r->seq : r->recorded_ms);
            break;
        case S_K_BOOL:
            rc = r->above_size ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
            break;
        case S_K_ENUM:
            rc = s_pack_str(pk, wq_enum_name(f, s_get_int(r, f)));
            break;
        case S_K_LIST:
            rc = msgpack_pack_array(pk, r->ncadres);
            for (size_t k = 0; rc == 0 && k < r->ncadres; k++)
                rc = s_pack_str(pk, r->cadres[k] ? r->cadres[k] : "");
            break;
        case S_K_SET:
            rc = s_pack_map(pk, r->set, true);
            break;
        case S_K_TEXT:
            rc = s_pack_str(pk, s_cheap(r, f));
            break;
        default: {
            const char *s = s_cinline(r, f);
            size_t n = strnlen(s, d->cap);
            rc = msgpack_pack_str(pk, n);
            if (rc == 0)
                rc = msgpack_pack_str_body(pk, s, n);
            break;
        }
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

int
wq_record_encode(const wq_record_t *self, uint8_t **buf, size_t *size)
{
    assert(self && buf && size);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int rc = WQ_OK;
    *buf = NULL;
    *size = 0;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (s_pack_map(&pk, self, false) != 0) {
        rc = WQ_E_NOMEM;
        goto fail;
    }
    if (sb.size > WQ_RECORD_MAX_BYTES) {
        rc = WQ_E_RANGE;
        goto fail;
    }
    /* The sbuffer starts at 8 KiB; a record is a few hundred bytes and
       callers may hold thousands of them (a batch, an import): hand back
       a buffer of the exact size. */
    *buf = malloc(sb.size ? sb.size : 1);
    if (!*buf) {
        rc = WQ_E_NOMEM;
        goto fail;
    }
    memcpy(*buf, sb.data, sb.size);
    *size = sb.size;
    msgpack_sbuffer_destroy(&sb);
    return rc;
fail:
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/*  ---- msgpack decoding -------------------------------------------------- */

/*  Walk the msgpack value at p[0..n) without allocating, checking that
    every length and count fits in what is left (each element takes at
    least one byte) and that nothing is nested deeper than S_SCAN_DEPTH.
    On success *end is just past the value. One loop, the open containers'
    element counts on a stack. */
static int
s_scan(const uint8_t *p, size_t n, size_t *end, wq_err_t *err)
{
    uint64_t left[S_SCAN_DEPTH + 2];    /* values still to walk at each level */
    size_t off = 0;
    int depth = 0;
    left[0] = 1;
    for (;;) {
        while (left[depth] == 0) {
            if (depth == 0) {
                *end = off;
                return WQ_OK;
            }
            depth--;
        }
        left[depth]--;
        if (depth > S_SCAN_DEPTH)
            return wq_err_set(err, WQ_E_TYPE, "", _("msgpack nested deeper than %d levels at byte %zu"),
                              S_SCAN_DEPTH, off);
        if (off >= n)
            return wq_err_set(err, WQ_E_TRUNCATED, "", _("the record ends at byte %zu, inside a value"),
                              n);
        size_t at = off;
        uint8_t b = p[off++];
        uint64_t len = 0, count = 0;
        int lenbytes = 0;
        bool is_map = false, is_container = false;
        size_t skip = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            continue;
        if ((b & 0xe0) == 0xa0) {
            len = b & 0x1f;
        } else if ((b & 0xf0) == 0x80) {
            count = b & 0x0f;
            is_map = is_container = true;
        } else if ((b & 0xf0) == 0x90) {
            count = b & 0x0f;
            is_container = true;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: lenbytes = 1; break;          /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break;          /* bin16, str16 */
            case 0xc6: case 0xdb: lenbytes = 4; break;          /* bin32, str32 */
            case 0xc7: lenbytes = 1; skip = 1; break;           /* ext8: len, type */
            case 0xc8: lenbytes = 2; skip = 1; break;
            case 0xc9: lenbytes = 4; skip = 1; break;
            case 0xca: skip = 4; break;                         /* float32 */
            case 0xcb: skip = 8; break;                         /* float64 */
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;                         /* fixext1 */
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: lenbytes = 2; is_container = true; break;    /* array16 */
            case 0xdd: lenbytes = 4; is_container = true; break;    /* array32 */
            case 0xde: lenbytes = 2; is_container = is_map = true; break;
            case 0xdf: lenbytes = 4; is_container = is_map = true; break;
            default:   /* 0xc1 */
                return wq_err_set(err, WQ_E_TYPE, "", _("byte 0x%02X at %zu is not msgpack"), b, at);
            }
            if (lenbytes) {
                if ((size_t) lenbytes > n - off)
                    return wq_err_set(err, WQ_E_TRUNCATED, "", _("the record ends at byte %zu, inside "
                                      "the header of the value at byte %zu"), n, at);
                uint64_t v = 0;
                for (int i = 0; i < lenbytes; i++)
                    v = (v << 8) | p[off++];
                if (is_container)
                    count = v;
                else
                    len = v;
            }
        }
        if (is_container) {
            uint64_t elems = is_map ? count * 2 : count;
            if (elems > n - off)
                return wq_err_set(err, WQ_E_TRUNCATED, "", _("the %s at byte %zu claims %" PRIu64
                                  " entries but only %zu bytes follow"), is_map ? "map" : "array",
                                  at, count, n - off);
            if (elems)
                left[++depth] = elems;
            continue;
        }
        uint64_t need = (uint64_t) skip + len;
        if (need > n - off)
            return wq_err_set(err, WQ_E_TRUNCATED, "", _("the value at byte %zu needs %" PRIu64
                              " bytes but only %zu follow"), at, need, n - off);
        off += (size_t) need;
    }
}

static const char *
s_mp_type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "a positive integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "a negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "binary";
    case MSGPACK_OBJECT_EXT: return "an ext value";
    default: return "an unknown msgpack type";
    }
}

/*  The decoder's errors name the field as s_fname does ("date",
    "set.date"); the name is made only when there is an error. */
#define S_FNAME_MAX 48

static int
s_want_fail(const msgpack_object *o, wq_field_t f, bool patch, const char *what, wq_err_t *err)
{
    char fname[S_FNAME_MAX];
    s_fname(f, patch, fname, sizeof fname);
    return wq_err_set(err, WQ_E_TYPE, fname, _("%s must be %s, got %s"), fname, what,
                      s_mp_type_name(o->type));
}

static inline int
s_want(const msgpack_object *o, msgpack_object_type t, wq_field_t f, bool patch, const char *what,
       wq_err_t *err)
{
    return o->type == t ? WQ_OK : s_want_fail(o, f, patch, what, err);
}

/*  Check a decoded msgpack string: no NUL, valid UTF-8, at most max bytes,
    or with chars (texts) at most max characters (so at most 4 * max bytes). */
static int
s_want_str(const msgpack_object *o, wq_field_t f, bool patch, size_t max, bool chars, wq_err_t *err)
{
    int rc = s_want(o, MSGPACK_OBJECT_STR, f, patch, "a string", err);
    if (rc != WQ_OK)
        return rc;
    const char *s = o->via.str.ptr;
    size_t n = o->via.str.size;
    /* One pass proves the usual string (valid, no NUL or other control
       but line feed and tab) and counts it; any other goes through the
       checks that say what is wrong. */
    size_t nchars = 0;
    if ((chars ? n <= 4 * max : n <= max) && wq_utf8_text_scan(s, n, true, &nchars)
        && (!chars || nchars <= max))
        return WQ_OK;
    char show[64], fname[S_FNAME_MAX];
    size_t bad = 0;
    s_fname(f, patch, fname, sizeof fname);
    if (!chars && n > max)
        return wq_err_set(err, WQ_E_RANGE, fname, _("\"%s\" has %zu bytes, at most %zu"),
                          s_show(s, n, show, sizeof show), n, max);
    if (chars && n > 4 * max)
        return wq_err_set(err, WQ_E_RANGE, fname, _("\"%s\" has %zu bytes, more than %zu "
                          "characters can take"), s_show(s, n, show, sizeof show), n, max);
    if (n && memchr(s, '\0', n))
        return wq_err_set(err, WQ_E_UTF8, fname, _("the value contains a NUL byte"));
    if (!wq_utf8_valid(s, n, &bad))
        return wq_err_set(err, WQ_E_UTF8, fname, _("\"%s\" is not valid UTF-8 at byte %zu"),
                          s_show(s, n, show, sizeof show), bad);
    if (chars && wq_utf8_chars(s, n) > max)
        return wq_err_set(err, WQ_E_RANGE, fname, _("\"%s\" has %zu characters, at most %zu"),
                          s_show(s, n, show, sizeof show), wq_utf8_chars(s, n), max);
    return WQ_OK;
}

/*  A copy of a msgpack string as a NUL-terminated heap string. */
static char *
s_str_dup(const msgpack_object *o)
{
    char *copy = malloc((size_t) o->via.str.size + 1);
    if (copy) {
        memcpy(copy, o->via.str.ptr, o->via.str.size);
        copy[o->via.str.size] = '\0';
    }
    return copy;
}

static int s_decode_map(const msgpack_object *map, wq_record_t *r, bool patch, wq_err_t *err);

/*  Decode value o of field f into r. */
static int
s_decode_value(const msgpack_object *o, wq_field_t f, wq_record_t *r, bool patch, wq_err_t *err)
{
    const s_field_t *d = &s_fields[f];
    char fname[S_FNAME_MAX], show[64], list[200];
    int rc;
#define FNAME s_fname(f, patch, fname, sizeof fname)
    switch (d->kind) {
    case S_K_TYPE:
    case S_K_OF: {
        rc = s_want_str(o, f, patch, 32, false, err);
        if (rc != WQ_OK)
            return rc;
        wq_rec_type_t t = (wq_rec_type_t) s_name_index_n(s_type_names, WQ_REC_TYPE_COUNT,
                                                         o->via.str.ptr, o->via.str.size);
        if (t == WQ_REC_NONE)
            return wq_err_set(err, WQ_E_UNKNOWN, FNAME, _("\"%s\" is not a record type"),
                              s_show(o->via.str.ptr, o->via.str.size, show, sizeof show));
        if (d->kind == S_K_TYPE)
            r->type = t;
        else
            r->of = t;
        break;
    }
    case S_K_U32:
    case S_K_U64:
        if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return wq_err_set(err, WQ_E_RANGE, FNAME, _("%s is negative (%" PRId64 ")"), d->name,
                              o->via.i64);
        rc = s_want(o, MSGPACK_OBJECT_POSITIVE_INTEGER, f, patch, "a positive integer", err);
        if (rc != WQ_OK)
            return rc;
        if (d->kind == S_K_U32) {
            if (o->via.u64 > UINT32_MAX)
                return wq_err_set(err, WQ_E_RANGE, FNAME, _("%" PRIu64 " is above %" PRIu32),
                                  o->via.u64, UINT32_MAX);
            r->inc = (uint32_t) o->via.u64;
        } else if (f == WQ_F_SEQ) {
            r->seq = o->via.u64;
        } else {
            r->recorded_ms = o->via.u64;
        }
        break;
    case S_K_BOOL:
        rc = s_want(o, MSGPACK_OBJECT_BOOLEAN, f, patch, "a boolean", err);
        if (rc != WQ_OK)
            return rc;
        r->above_size = o->via.boolean;
        break;
    case S_K_ENUM: {
        rc = s_want_str(o, f, patch, 64, false, err);
        if (rc != WQ_OK)
            return rc;
        int v = s_name_index_n(d->enums, d->nenums, o->via.str.ptr, o->via.str.size);
        if (v == 0)
            return wq_err_set(err, WQ_E_UNKNOWN, FNAME, _("\"%s\" is not a %s: use one of %s"),
                              s_show(o->via.str.ptr, o->via.str.size, show, sizeof show), d->name,
                              s_enum_list(f, list, sizeof list));
        s_set_int(r, f, v);
        break;
    }
    case S_K_LIST: {
        rc = s_want(o, MSGPACK_OBJECT_ARRAY, f, patch, "an array of strings", err);
        if (rc != WQ_OK)
            return rc;
        if (o->via.array.size > S_LIST_MAX)
            return wq_err_set(err, WQ_E_RANGE, FNAME, _("%" PRIu32 " cadres, at most %d"),
                              o->via.array.size, S_LIST_MAX);
        s_free_cadres(r);
        if (o->via.array.size) {
            r->cadres = calloc(o->via.array.size, sizeof *r->cadres);
            if (!r->cadres)
                return wq_err_set(err, WQ_E_NOMEM, FNAME, _("out of memory"));
        }
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            const msgpack_object *it = &o->via.array.ptr[i];
            rc = s_want_str(it, f, patch, S_LIST_ITEM_MAX, true, err);
            if (rc != WQ_OK)
                return rc;
            r->cadres[i] = s_str_dup(it);
            if (!r->cadres[i])
                return wq_err_set(err, WQ_E_NOMEM, FNAME, _("out of memory"));
            r->ncadres++;
        }
        break;
    }
    case S_K_SET: {
        if (patch)
            return wq_err_set(err, WQ_E_UNKNOWN, FNAME, _("a set cannot hold another set"));
        rc = s_want(o, MSGPACK_OBJECT_MAP, f, patch, "a map", err);
        if (rc != WQ_OK)
            return rc;
        wq_record_destroy(&r->set);
        r->set = wq_record_new(r->of);
        if (!r->set)
            return wq_err_set(err, WQ_E_NOMEM, FNAME, _("out of memory"));
        rc = s_decode_map(o, r->set, true, err);
        if (rc != WQ_OK)
            return rc;
        break;
    }
    case S_K_TEXT: {
        rc = s_want_str(o, f, patch, d->max, true, err);
        if (rc != WQ_OK)
            return rc;
        char *copy = s_str_dup(o);
        if (!copy)
            return wq_err_set(err, WQ_E_NOMEM, FNAME, _("out of memory"));
        char **slot = s_heap(r, f);
        free(*slot);
        *slot = copy;
        break;
    }
    default:    /* inline strings */
        rc = s_want_str(o, f, patch, d->cap - 1, false, err);
        if (rc != WQ_OK)
            return rc;
        memcpy(s_inline(r, f), o->via.str.ptr, o->via.str.size);
        s_inline(r, f)[o->via.str.size] = '\0';
        break;
    }
#undef FNAME
    r->present |= BIT(f);
    return WQ_OK;
}

/*  Decode a record map (patch: a correction's set, whose type r->type was
    set from "of"). The keys are checked in their order, the values decoded
    in the field table's (so "of" before "set"). */
static int
s_decode_map(const msgpack_object *map, wq_record_t *r, bool patch, wq_err_t *err)
{
    const msgpack_object *slot[WQ_F_COUNT];
    uint64_t seen = 0;
    char show[64];
    pthread_once(&s_name_once, s_name_init);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return wq_err_set(err, WQ_E_TYPE, patch ? "set" : "", _("map key %" PRIu32 " is %s, "
                              "keys must be strings"), i + 1, s_mp_type_name(k->type));
        wq_field_t f = s_field_parse_n(k->via.str.ptr, k->via.str.size);
        if (f == WQ_F_COUNT)
            return wq_err_set(err, WQ_E_UNKNOWN, patch ? "set" : "", _("\"%s\" is not a field"),
                              s_show(k->via.str.ptr, k->via.str.size, show, sizeof show));
        if (patch && f == WQ_F_TYPE)
            return wq_err_set(err, WQ_E_UNKNOWN, "set.type", _("a correction's set cannot hold "
                              "\"type\": the type is given by \"of\""));
        if (seen & BIT(f))
            return wq_err_set(err, WQ_E_DUPFIELD, s_fields[f].name, _("%s%s appears twice"),
                              patch ? "set." : "", s_fields[f].name);
        seen |= BIT(f);
        slot[f] = &map->via.map.ptr[i].val;
    }
    if (!patch && !(seen & BIT(WQ_F_TYPE)))
        return wq_err_set(err, WQ_E_MISSING, "type", _("the record has no \"type\""));
    while (seen) {
        int f = __builtin_ctzll(seen);
        seen &= seen - 1;
        int rc = s_decode_value(slot[f], (wq_field_t) f, r, patch, err);
        if (rc != WQ_OK)
            return rc;
    }
    return WQ_OK;
}

/*  The msgpack zone of one decode lives on the stack with a first chunk
    small enough for malloc's per-thread cache (a usual record's objects fit
    in it; a bigger one gets more chunks): msgpack_unpack_next would make a
    zone of two blocks, one of 8 kB, per record. One chunk is a pointer
    followed by chunk_size bytes. */
#define S_ZONE_CHUNK (1024 - sizeof(void *))

int
wq_record_decode(const uint8_t *buf, size_t size, wq_record_t **out, wq_err_t *err)
{
    assert(out);
    msgpack_zone zone;
    bool zoned = false;
    msgpack_object data;
    wq_record_t *r = NULL;
    size_t end = 0, off = 0;
    int rc;
    *out = NULL;
    if (!buf || size == 0) {
        rc = wq_err_set(err, WQ_E_TRUNCATED, "", _("the record is empty"));
        goto fail;
    }
    if (size > WQ_RECORD_MAX_BYTES) {
        rc = wq_err_set(err, WQ_E_RANGE, "", _("the record has %zu bytes, at most %d"), size,
                        WQ_RECORD_MAX_BYTES);
        goto fail;
    }
    rc = s_scan(buf, size, &end, err);
    if (rc != WQ_OK)
        goto fail;
    if (end != size) {
        rc = wq_err_set(err, WQ_E_TRAILING, "", _("%zu bytes follow the record (it ends at byte "
                        "%zu of %zu)"), size - end, end, size);
        goto fail;
    }
    if (!msgpack_zone_init(&zone, S_ZONE_CHUNK)) {
        rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory decoding a record"));
        goto fail;
    }
    zoned = true;
    msgpack_unpack_return ur = msgpack_unpack((const char *) buf, size, &off, &zone, &data);
    if (ur != MSGPACK_UNPACK_SUCCESS) {
        rc = wq_err_set(err, ur == MSGPACK_UNPACK_CONTINUE ? WQ_E_TRUNCATED : WQ_E_TYPE, "",
                        _("msgpack-c rejects the record (code %d)"), (int) ur);
        goto fail;
    }
    if (data.type != MSGPACK_OBJECT_MAP) {
        rc = wq_err_set(err, WQ_E_TYPE, "", _("a record must be a msgpack map, got %s"),
                        s_mp_type_name(data.type));
        goto fail;
    }
    r = wq_record_new(WQ_REC_NONE);
    if (!r) {
        rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory"));
        goto fail;
    }
    r->present = 0;
    rc = s_decode_map(&data, r, false, err);
    if (rc != WQ_OK)
        goto fail;
    msgpack_zone_destroy(&zone);
    *out = r;
    return WQ_OK;
fail:
    if (zoned)
        msgpack_zone_destroy(&zone);
    wq_record_destroy(&r);
    return rc;
}

/*  ---- JSON output ------------------------------------------------------- */

/*  The members of r; a correction's patch (patch true) as "set.FIELD"
    members, the names wq_record_from_json reads, so that JSON output
    imports again as it is. */
static void
s_write_json_members(const wq_record_t *r, bool patch, bool *first, FILE *f)
{
    for (int i = 0; i < WQ_F_COUNT; i++) {
        wq_field_t fl = (wq_field_t) i;
        if (!s_encodable(r, fl, patch))
            continue;
        const s_field_t *d = &s_fields[fl];
        if (d->kind == S_K_SET) {
            if (r->set)
                s_write_json_members(r->set, true, first, f);
            continue;
        }
        if (!*first)
            fputc(',', f);
        *first = false;
        if (patch) {
            char key[64];
            snprintf(key, sizeof key, "set.%s", d->name);
            wq_json_write_string(f, key);
        } else
            wq_json_write_string(f, d->name);
        fputc(':', f);
        switch (d->kind) {
        case S_K_TYPE:
            wq_json_write_string(f, wq_rec_type_name(r->type));
            break;
        case S_K_OF:
            wq_json_write_string(f, wq_rec_type_name(r->of));
            break;
        case S_K_U32:
            fprintf(f, "%" PRIu32, r->inc);
            break;
        case S_K_U64:
            fprintf(f, "%" PRIu64, fl == WQ_F_SEQ ? r->seq : r->recorded_ms);
            break;
        case S_K_BOOL:
            fputs(r->above_size ? "true" : "false", f);
            break;
        case S_K_ENUM:
            wq_json_write_string(f, wq_enum_name(fl, s_get_int(r, fl)));
            break;
        case S_K_LIST:
            fputc('[', f);
            for (size_t k = 0; k < r->ncadres; k++) {
                if (k)
                    fputc(',', f);
                wq_json_write_string(f, r->cadres[k] ? r->cadres[k] : "");
            }
            fputc(']', f);
            break;
        case S_K_TEXT:
            wq_json_write_string(f, s_cheap(r, fl));
            break;
        default: {
            char tmp[WQ_EVENT_ID_MAX + 1];
            size_t n = strnlen(s_cinline(r, fl), d->cap);
            memcpy(tmp, s_cinline(r, fl), n);
            tmp[n] = '\0';
            wq_json_write_string(f, tmp);
            break;
        }
        }
    }
}

void
wq_record_write_json(const wq_record_t *self, FILE *f)
{
    assert(self && f);
    bool first = true;
    fputc('{', f);
    s_write_json_members(self, false, &first, f);
    fputc('}', f);
}

void
wq_record_write_help(FILE *f, wq_rec_type_t type)
{
    char list[200];
    if (!s_type_ok((int) type))
        return;
    for (int i = WQ_F_DATE; i < WQ_F_COUNT; i++) {
        const s_field_t *d = &s_fields[i];
        if (i == WQ_F_RECORDED || !(d->allowed & T(type)))
            continue;
        bool req = (d->required & T(type)) != 0;
        if (type == WQ_REC_CORRECTION && i == WQ_F_SET) {
            fprintf(f, _("  %-14s %-9s %s: set.FIELD=VALUE for each field to change\n"), "set.FIELD",
                    "required", d->help);
            continue;
        }
        if (d->kind == S_K_ENUM)
            fprintf(f, "  %-14s %-9s %s: %s\n", d->name, req ? "required" : "optional", d->help,
                    s_enum_list((wq_field_t) i, list, sizeof list));
        else
            fprintf(f, "  %-14s %-9s %s\n", d->name, req ? "required" : "optional", d->help);
    }
}

/*  ---- field metadata ---------------------------------------------------- */

void
wq_field_meta(wq_field_t field, wq_field_meta_t *out)
{
    assert(out);
    memset(out, 0, sizeof *out);
    if ((int) field < 0 || field >= WQ_F_COUNT)
        return;
    const s_field_t *d = &s_fields[field];
    out->name = d->name;
    out->help = d->help;
    out->min = d->min;
    out->max = d->max;
    out->multiline = d->multiline;
    switch (d->kind) {
    case S_K_TEXT: out->kind = WQ_FK_TEXT; break;
    case S_K_ENUM:
        out->kind = WQ_FK_ENUM;
        out->nenums = d->nenums - 1;
        break;
    case S_K_BOOL: out->kind = WQ_FK_BOOL; break;
    case S_K_DATE: out->kind = WQ_FK_DATE; break;
    case S_K_LIST: out->kind = WQ_FK_LIST; break;
    case S_K_EVENT: out->kind = WQ_FK_EVENT; break;
    case S_K_ENT: out->kind = WQ_FK_ENT; break;
    case S_K_COUNTY: out->kind = WQ_FK_COUNTY; break;
    case S_K_INDUSTRY: out->kind = WQ_FK_INDUSTRY; break;
    case S_K_OF: out->kind = WQ_FK_TYPE; break;
    default: out->kind = WQ_FK_OTHER; break;
    }
}
