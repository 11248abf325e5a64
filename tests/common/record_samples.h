/*  record_samples - one valid record of every type, for the record and
    generator tests. Built through wq_record_set_text (the CLI path), so a
    sample that fails to build fails the test that asked for it. Header
    only (static inline) because every tests/common/test_*.c is compiled
    as its own program. */
#ifndef WQ_RECORD_SAMPLES_H_INCLUDED
#define WQ_RECORD_SAMPLES_H_INCLUDED

#include <stdio.h>
#include <stdlib.h>
#include "common/record.h"

#define RS_AGENT "130102-01"
#define RS_INC 0x9f86d081u
#define RS_INC_HEX "9f86d081"
#define RS_ENT "91130102MA07L5QK9L"
#define RS_VISIT RS_AGENT "/" RS_INC_HEX "/2"
#define RS_PROBLEM RS_AGENT "/" RS_INC_HEX "/3"
#define RS_CONSULTATION RS_AGENT "/" RS_INC_HEX "/7"

static inline void
rs_set(wq_record_t *r, const char *field, const char *value)
{
    wq_err_t err;
    if (wq_record_set_text(r, field, value, &err) != WQ_OK) {
        fprintf(stderr, "sample: set %s=%s: %s\n", field, value, err.text);
        abort();
    }
}

static inline void
rs_patch(wq_record_t *r, const char *field, const char *value)
{
    wq_err_t err;
    if (wq_record_set_patch_text(r, field, value, &err) != WQ_OK) {
        fprintf(stderr, "sample: set.%s=%s: %s\n", field, value, err.text);
        abort();
    }
}

/*  A valid record of type t with seq = t (so the problem is .../3 and the
    consultation .../7) and every optional field it takes set. */
static inline wq_record_t *
rs_sample(wq_rec_type_t t)
{
    wq_record_t *r = wq_record_new(t);
    if (!r)
        abort();
    wq_record_set_identity(r, RS_AGENT, RS_INC, (uint64_t) t, 1557446400000ull + (uint64_t) t);
    rs_set(r, "date", "2019-05-10");
    rs_set(r, "county", "130102");
    if (t != WQ_REC_CORRECTION && t != WQ_REC_RETRACTION)
        rs_set(r, "ent", RS_ENT);
    rs_set(r, "by", "张三");
    switch (t) {
    case WQ_REC_ENTERPRISE:
        rs_set(r, "name", "石家庄市长安区恒泰化工有限公司");
        rs_set(r, "industry", "C2614");
        rs_set(r, "address", "石家庄市长安区建设北大街12号");
        rs_set(r, "above_size", "true");
        rs_set(r, "focus", "discharger");
        rs_set(r, "cadre", "李四");
        break;
    case WQ_REC_VISIT:
        rs_set(r, "cadres", "张三,李四");
        rs_set(r, "method", "field_visit");
        rs_set(r, "findings", "锅炉烟气在线监测数据缺失。\n危废台账不全。");
        break;
    case WQ_REC_PROBLEM:
        rs_set(r, "category", "air");
        rs_set(r, "severity", "serious");
        rs_set(r, "description", "锅炉烟气在线监测数据缺失");
        rs_set(r, "visit", RS_VISIT);
        break;
    case WQ_REC_PLAN:
        rs_set(r, "problem", RS_PROBLEM);
        rs_set(r, "measures", "更换在线监测设备并联网");
        rs_set(r, "goal", "数据传输有效率达到90%以上");
        rs_set(r, "deadline", "2019-08-31");
        break;
    case WQ_REC_PROGRESS:
        rs_set(r, "problem", RS_PROBLEM);
        rs_set(r, "status", "rectified");
        rs_set(r, "note", "设备已更换");
        break;
    case WQ_REC_SERVICE:
        rs_set(r, "kind", "law");
        rs_set(r, "content", "送达《排污许可管理条例》解读");
        break;
    case WQ_REC_CONSULTATION:
        rs_set(r, "channel", "platform");
        rs_set(r, "question", "排污许可证延续需要哪些材料？");
        break;
    case WQ_REC_ANSWER:
        rs_set(r, "consultation", RS_CONSULTATION);
        rs_set(r, "answer", "需提交延续申请表和自行监测方案。");
        break;
    case WQ_REC_CLASSIFICATION:
        rs_set(r, "class", "shutdown");
        rs_set(r, "reason", "手续不全且无法整改");
        break;
    case WQ_REC_CORRECTION:
        rs_set(r, "target", RS_AGENT "/" RS_INC_HEX "/4");
        rs_set(r, "of", "plan");
        rs_set(r, "reason", "期限录入错误");
        rs_patch(r, "deadline", "2019-09-30");
        rs_patch(r, "goal", "数据有效率达到95%");
        break;
    case WQ_REC_RETRACTION:
        rs_set(r, "target", RS_AGENT "/" RS_INC_HEX "/6");
        rs_set(r, "reason", "重复录入");
        break;
    case WQ_REC_GRADING:
        rs_set(r, "industry", "C3011");
        rs_set(r, "reason", "水泥熟料 B级");
        rs_set(r, "grade", "B");
        break;
    default:
        abort();
    }
    return r;
}

#endif
