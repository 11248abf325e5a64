/*  =========================================================================
    generate - a realistic, reproducible campaign for one county

    Tests, benchmarks and the demo need campaigns that look like what a
    county office really records, that always validate, and that they can
    count: this file writes one as JSON Lines for `wanqi-agent import` and
    returns exact counts of what it wrote (generate.h says what each count
    means, in the collector's terms).

    How: enterprise by enterprise, it lives through the campaign in causal
    order (register, visit, find problems, plan, progress, serve, answer,
    classify, fix mistakes), drawing from a splitmix64 stream and from
    word lists. Each event is kept in memory with its activity date and its
    generation index; references to other events are kept as generation
    indexes. At the end the events are sorted by (date, generation index) -
    a referenced event is never later in that order, because an event's date
    is never before the one it refers to and it is generated after it -
    line numbers are assigned, and "@N" references are written.

    The first WQ_GENERATE_FULL_COVERAGE enterprises get forced choices
    (counters cycling through every method, category, severity, outcome,
    service kind, channel and class) so that a small campaign still has
    every value; the rest is drawn at random with realistic weights.
    =========================================================================
*/
#include "common/generate.h"
#include "common/i18n.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/creditcode.h"
#include "common/date.h"
#include "common/division.h"

#define S_MAX_ENTERPRISES 900000
#define S_ORG_SPACE (31u * 31u * 31u * 31u)     /* 4 base-31 digits */

static const char s_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/*  ---- PRNG (splitmix64) ------------------------------------------------- */

typedef struct {
    uint64_t s;
} s_rng_t;

static uint64_t
s_next(s_rng_t *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/*  Uniform-enough integer in [0, n). */
static uint32_t
s_below(s_rng_t *r, uint32_t n)
{
    return n ? (uint32_t) (((s_next(r) >> 32) * (uint64_t) n) >> 32) : 0;
}

static int32_t
s_between(s_rng_t *r, int32_t lo, int32_t hi)
{
    return hi <= lo ? lo : lo + (int32_t) s_below(r, (uint32_t) (hi - lo + 1));
}

static bool
s_chance(s_rng_t *r, unsigned percent)
{
    return s_below(r, 100) < percent;
}

/*  Index into weights[0..n) drawn by weight. */
static int
s_weighted(s_rng_t *r, const unsigned *weights, int n)
{
    unsigned total = 0;
    for (int i = 0; i < n; i++)
        total += weights[i];
    unsigned x = s_below(r, total);
    for (int i = 0; i < n; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    return n - 1;
}

#define PICK(rng, arr) ((arr)[s_below((rng), (uint32_t) (sizeof(arr) / sizeof((arr)[0])))])
#define COUNT(arr) ((int) (sizeof(arr) / sizeof((arr)[0])))

/*  ---- word lists --------------------------------------------------------- */

typedef struct {
    const char *code;
    const char *word;
    wq_focus_t focus;
    unsigned above_pct;
} s_industry_t;

static const s_industry_t s_industries[] = {
    {"C2614", "化工", WQ_FOCUS_DISCHARGER, 60}, {"C2619", "精细化工", WQ_FOCUS_DISCHARGER, 50},
    {"C3110", "钢铁", WQ_FOCUS_DISCHARGER, 90}, {"C3120", "特钢", WQ_FOCUS_DISCHARGER, 85},
    {"C3011", "水泥", WQ_FOCUS_DISCHARGER, 80}, {"C2221", "纸业", WQ_FOCUS_DISCHARGER, 55},
    {"C1713", "印染", WQ_FOCUS_DISCHARGER, 45}, {"C3360", "金属表面处理", WQ_FOCUS_DISCHARGER, 30},
    {"C2710", "制药", WQ_FOCUS_STRATEGIC, 70}, {"C3670", "汽车零部件", WQ_FOCUS_ADVANCED, 60},
    {"C3484", "机械制造", WQ_FOCUS_ADVANCED, 50}, {"C3982", "电子科技", WQ_FOCUS_STRATEGIC, 45},
    {"C2927", "塑料制品", WQ_FOCUS_TECH_SME, 25}, {"C1391", "淀粉", WQ_FOCUS_DISCHARGER, 40},
    {"C3391", "铸造", WQ_FOCUS_DISCHARGER, 35}, {"D4411", "热电", WQ_FOCUS_DISCHARGER, 95},
    {"C2511", "石化", WQ_FOCUS_DISCHARGER, 95}, {"C3841", "新能源", WQ_FOCUS_STRATEGIC, 55},
    {"M7320", "环保科技", WQ_FOCUS_TECH_SME, 10}, {"C2641", "涂料", WQ_FOCUS_DISCHARGER, 35},
    {"C3857", "智能装备", WQ_FOCUS_ADVANCED, 40}, {"C1351", "饲料", WQ_FOCUS_TECH_SME, 20},
};

static const char *const s_brand[] = {
    "恒", "泰", "华", "鑫", "宏", "盛", "达", "源", "金", "通", "永", "兴", "瑞", "丰",
    "博", "康", "昌", "隆", "安", "信", "德", "天", "海", "润", "冀", "中", "宇", "邦"};
static const char *const s_suffix[] = {"有限公司", "有限责任公司", "股份有限公司", "集团有限公司"};
static const char *const s_roads[] = {
    "建设大街", "中山路", "和平路", "工业路", "友谊大街", "胜利大街", "创业路", "纬二路",
    "园区东路", "北环路", "迎宾大道", "光明街"};
static const char *const s_surnames[] = {"张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周",
                                          "吴", "孙", "马", "郭", "高", "田", "韩"};
static const char *const s_given[] = {"伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋",
                                       "勇", "艳", "杰", "涛", "明", "超", "建国", "志刚",
                                       "海燕", "晓东", "丽华"};

/*  Per problem category: descriptions, a measure and a goal. */
typedef struct {
    const char *desc[3];
    const char *measure;
    const char *goal;
} s_category_text_t;

static const s_category_text_t s_cat_text[WQ_CAT_COUNT] = {
    [WQ_CAT_AIR] = {{"锅炉烟气在线监测数据缺失", "VOCs无组织排放收集不到位", "料场未全封闭，扬尘污染明显"},
                    "完善废气收集处理设施，料场全封闭改造", "废气稳定达到《大气污染物综合排放标准》"},
    [WQ_CAT_WATER] = {{"废水处理设施运行不正常", "厂区雨污未分流", "污水排放口未规范化设置"},
                      "实施雨污分流改造，修复废水处理设施", "废水稳定达标排放"},
    [WQ_CAT_SOLID_WASTE] = {{"危险废物贮存场所不规范", "危废台账记录不全", "一般工业固废露天堆放"},
                            "规范建设危废贮存间，完善转移联单和台账", "固废贮存处置全过程规范"},
    [WQ_CAT_NOISE] = {{"厂界噪声超标", "高噪声设备未采取减振降噪措施", "夜间生产噪声扰民"},
                      "加装隔声罩和减振基础，调整生产时段", "厂界噪声达到GB 12348标准"},
    [WQ_CAT_SOIL] = {{"储罐区地面防渗层破损", "未开展土壤污染隐患排查", "原料堆场无防渗措施"},
                     "修复防渗层，开展隐患排查并建立档案", "消除土壤污染隐患"},
    [WQ_CAT_PERMITS] = {{"未取得排污许可证", "新建项目环评手续不全", "配套环保设施未验收"},
                        "限期补办环评和排污许可手续", "手续齐全，持证排污"},
    [WQ_CAT_MONITORING] = {{"自行监测方案未执行", "在线监测设备未与生态环境部门联网", "监测记录不完整"},
                           "按方案开展自行监测，在线设备联网", "监测数据完整有效"},
    [WQ_CAT_OVER_STANDARD] = {{"颗粒物排放浓度超标", "化学需氧量排放浓度超标", "氮氧化物排放浓度超标"},
                              "升级治理设施，超标期间限产", "污染物稳定达标排放"},
    [WQ_CAT_OTHER] = {{"突发环境事件应急预案未备案", "环保管理制度不健全", "环保人员未经培训"},
                      "完善环保管理制度，预案修编备案", "环境管理规范化"},
};

static const char *const s_method_lead[WQ_METHOD_COUNT] = {
    [WQ_METHOD_FIELD] = "现场检查发现：",
    [WQ_METHOD_SYMPOSIUM] = "与企业管理人员和职工座谈了解到：",
    [WQ_METHOD_EXPERT] = "专家会诊指出：",
    [WQ_METHOD_ENFORCEMENT] = "执法检查发现：",
};

static const char *const s_progress_note[WQ_STATUS_COUNT] = {
    [WQ_STATUS_OPEN] = "已向企业反馈问题及整改要求",
    [WQ_STATUS_IN_PROGRESS] = "企业已启动整改，正在采购安装设备",
    [WQ_STATUS_RECTIFIED] = "整改完成，企业已提交整改报告",
    [WQ_STATUS_VERIFIED] = "经现场核查，整改到位，予以销号",
    [WQ_STATUS_REOPENED] = "复查发现问题反弹，要求重新整改",
};

static const char *const s_service_text[WQ_SERVICE_COUNT][3] = {
    [WQ_SERVICE_LAW] = {"送法律：讲解《中华人民共和国大气污染防治法》相关条款",
                        "送法律：解读《排污许可管理办法》", "送法律：开展环保法律法规培训"},
    [WQ_SERVICE_POLICY] = {"送政策：解读重污染天气差异化管控政策", "送政策：宣讲环保领跑者激励政策",
                           "送政策：讲解环保税减免政策"},
    [WQ_SERVICE_TECHNOLOGY] = {"送科技：邀请专家指导挥发性有机物治理技术",
                               "送科技：推介清洁生产技术", "送科技：指导在线监测设备运维"},
    [WQ_SERVICE_PLAN] = {"送方案：帮助企业制定“一企一策”治理方案", "送方案：编制危废规范化管理方案",
                         "送方案：制定无组织排放深度治理方案"},
    [WQ_SERVICE_SERVICE] = {"送服务：协助企业办理排污许可证申请", "送服务：帮助企业对接环保治理单位",
                            "送服务：指导企业完成环评手续"},
};

typedef struct {
    const char *q;
    const char *a;
} s_qa_t;

static const s_qa_t s_qa[] = {
    {"排污许可证延续需要提交哪些材料？", "需提交延续申请表、自行监测方案和执行报告，可在全国排污许可证管理信息平台办理。"},
    {"重污染天气期间我企业能否豁免停产？", "绩效评级达到A级或B级的企业可按应急减排清单实施差异化管控。"},
    {"危险废物可以委托哪些单位处置？", "须委托持有危险废物经营许可证的单位，并执行转移联单制度。"},
    {"VOCs治理采用活性炭吸附是否可行？", "可行，但需按设计量定期更换活性炭并建立更换台账。"},
    {"技改项目是否需要重新做环评？", "发生重大变动的须重新报批环评，一般变动纳入验收管理。"},
    {"在线监测数据异常应如何报告？", "应在12小时内向生态环境部门书面报告并说明原因。"},
};

static const char *const s_class_reason[WQ_CLASS_COUNT] = {
    [WQ_CLASS_SUPPORT] = "治理水平领先，列为环保领跑者，加大支持力度",
    [WQ_CLASS_NORMAL] = "基本符合环保要求，实施常规监管",
    [WQ_CLASS_STRICT] = "高耗能高排放，实施严格监管",
    [WQ_CLASS_SHUTDOWN] = "不符合产业政策且手续不全，无法整改达标，依法取缔",
    [WQ_CLASS_PUNISH] = "屡查屡犯，拒不整改，依法严厉处罚",
};

/*  ---- growing text buffer with JSON escaping ---------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} s_buf_t;

static void
s_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
s_puts(s_buf_t *b, const char *s)
{
    s_put(b, s, strlen(s));
}

static void
s_put_json_string(s_buf_t *b, const char *s)
{
    s_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char) c;
            s_put(b, esc, 2);
        } else if (c == '\n') {
            s_put(b, "\\n", 2);
        } else if (c == '\t') {
            s_put(b, "\\t", 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            s_put(b, esc, 6);
        } else {
            s_put(b, (const char *) &c, 1);
        }
    }
    s_put(b, "\"", 1);
}

/*  Append ,"key":"value". */
static void
s_member(s_buf_t *b, const char *key, const char *value)
{
    s_puts(b, ",\"");
    s_puts(b, key);
    s_puts(b, "\":");
    s_put_json_string(b, value);
}

/*  ---- the campaign in memory ---------------------------------------------- */

typedef struct {
    int32_t day;            /* activity date, days since epoch */
    size_t gen;             /* generation index (= index in s_gen_t.ev) */
    wq_rec_type_t type;
    const char *ref_key;    /* event-id field referring to another event, or NULL */
    size_t ref;             /* its generation index */
    size_t ent;             /* enterprise index */
    char *body;             /* members after type/date/county/ref: ",\"k\":\"v\"..." */
} s_event_t;

typedef struct {
    int32_t deadline;       /* of the last plan in fold order (after corrections) */
    bool has_plan;
    int nplans;
    wq_status_t status;     /* of the last progress in fold order; OPEN if none */
    int32_t opened;
    int32_t pday[2], pdl[2];    /* plans in fold order: day made, deadline (corrected) */
    int32_t tog[8];         /* days the problem became resolved / unresolved (as the fold) */
    int ntog;
} s_problem_t;

typedef struct {
    s_rng_t rng;
    s_rng_t grng;           /* gradings: their own stream, so adding them changed no other line */
    int32_t start, end;
    const char *county;
    char place[64];         /* county name as used in addresses, e.g. 长安区 */
    char short_city[64];    /* city name without 市, e.g. 石家庄 */
    char short_county[64];  /* county name without 区/县/市 when long enough */
    char city_code[7];
    uint32_t org_base;      /* seed-dependent offset of the organisation part */
    char cadres[8][16];     /* the county office's cadres */

    s_event_t *ev;
    size_t nev, cap;
    bool oom;

    /* coverage counters: how many of each were drawn so far */
    size_t n_visit, n_problem, n_service, n_consult, n_outcome, n_severity;

    wq_generate_stats_t st;
} s_gen_t;

static int32_t
s_clamp(const s_gen_t *g, int32_t day)
{
    return day < g->start ? g->start : day > g->end ? g->end : day;
}

/*  Add an event; takes ownership of body->p. Returns its generation index. */
static size_t
s_add(s_gen_t *g, wq_rec_type_t type, int32_t day, size_t ent, const char *ref_key, size_t ref,
      s_buf_t *body)
{
    if (body->oom)
        g->oom = true;
    if (g->oom) {
        free(body->p);
        *body = (s_buf_t) {0};
        return 0;
    }
    if (g->nev == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 1024;
        s_event_t *p = realloc(g->ev, cap * sizeof *p);
        if (!p) {
            g->oom = true;
            free(body->p);
            *body = (s_buf_t) {0};
            return 0;
        }
        g->ev = p;
        g->cap = cap;
    }
    assert(!ref_key || ref < g->nev);
    assert(!ref_key || g->ev[ref].day <= day);
    s_event_t *e = &g->ev[g->nev];
    e->day = day;
    e->gen = g->nev;
    e->type = type;
    e->ref_key = ref_key;
    e->ref = ref;
    e->ent = ent;
    e->body = body->p;
    if (!e->body) {
        e->body = strdup("");
        if (!e->body) {
            g->oom = true;
            return 0;
        }
    }
    *body = (s_buf_t) {0};
    g->st.by_type[type]++;
    g->st.records++;
    return g->nev++;
}

/*  Draw an enum value: the counter's turn while it has not been through
    all values once, then by weight. Values are 1..n. */
static int
s_cover(s_gen_t *g, size_t *counter, const unsigned *weights, int n)
{
    size_t k = (*counter)++;
    if (k < (size_t) n)
        return (int) k + 1;
    return s_weighted(&g->rng, weights, n) + 1;
}

/*  A cadre's name "张伟". */
static void
s_person(s_rng_t *r, char *out, size_t size)
{
    snprintf(out, size, "%s%s", PICK(r, s_surnames), PICK(r, s_given));
}

/*  Drop a trailing 区/县/市 from a name of more than two characters. */
static void
s_shorten(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s", name);
    size_t n = strlen(out);
    /* every Han character here is 3 bytes in UTF-8 */
    if (n > 6 && (strcmp(out + n - 3, "区") == 0 || strcmp(out + n - 3, "县") == 0
                  || strcmp(out + n - 3, "市") == 0))
        out[n - 3] = '\0';
}

static void
s_date_text(int32_t day, char out[11])
{
    wq_date_from_days(day, out);
}

/*  ---- one enterprise's campaign ------------------------------------------- */

typedef struct {
    size_t index;
    char code[19];
    char name[224];
    char base[160];         /* name without the company form */
    int suffix;             /* index in s_suffix */
    const s_industry_t *ind;
    char address[160];
    bool above;
    wq_focus_t focus;
    char cadre[16];
    int32_t reg_day;
    size_t reg_gen;
} s_ent_t;

static void
s_make_code(s_gen_t *g, s_ent_t *e)
{
    char c[19];
    const char *region;
    uint32_t pct = s_below(&g->rng, 100);
    region = pct < 75 ? g->county : pct < 95 ? g->city_code : "130000";
    memcpy(c, "91", 2);
    memcpy(c + 2, region, 6);
    c[8] = 'M';
    c[9] = 'A';
    /* county part: last four digits of the generating county, base 31 */
    unsigned v = (unsigned) atoi(g->county + 2);
    c[12] = s_alphabet[v % 31];
    c[11] = s_alphabet[(v / 31) % 31];
    c[10] = s_alphabet[(v / 961) % 31];
    /* enterprise part: a bijection of the index onto 4 base-31 digits */
    uint32_t x = (uint32_t) (((uint64_t) e->index * 7919u + g->org_base) % S_ORG_SPACE);
    for (int i = 16; i >= 13; i--) {
        c[i] = s_alphabet[x % 31];
        x /= 31;
    }
    c[17] = '\0';
    c[17] = wq_creditcode_checkchar(c);
    c[18] = '\0';
    assert(c[17] != 0);
    memcpy(e->code, c, sizeof c);
}

static void
s_make_enterprise(s_gen_t *g, s_ent_t *e)
{
    s_rng_t *r = &g->rng;
    s_make_code(g, e);
    e->ind = &PICK(r, s_industries);
    const char *brand1 = PICK(r, s_brand), *brand2 = PICK(r, s_brand);
    while (brand2 == brand1)
        brand2 = PICK(r, s_brand);
    uint32_t p = s_below(r, 100);
    const char *prefix = p < 40 ? g->short_city : p < 75 ? "河北" : g->short_county;
    snprintf(e->base, sizeof e->base, "%s%s%s%s", prefix, brand1, brand2, e->ind->word);
    e->suffix = (int) s_below(r, (uint32_t) COUNT(s_suffix));
    snprintf(e->name, sizeof e->name, "%s%s", e->base, s_suffix[e->suffix]);
    snprintf(e->address, sizeof e->address, "%s%s%" PRIu32 "号", g->place, PICK(r, s_roads),
             1 + s_below(r, 300));
    e->above = s_chance(r, e->ind->above_pct);
    uint32_t f = s_below(r, 100);
    e->focus = f < 70 ? e->ind->focus : f < 85 ? (wq_focus_t) (1 + s_below(r, 4)) : (wq_focus_t) 0;
    if (e->index < WQ_FOCUS_COUNT)      /* coverage: none, then each group */
        e->focus = (wq_focus_t) e->index;
    snprintf(e->cadre, sizeof e->cadre, "%s", g->cadres[s_below(r, 8)]);
}

static void
s_emit_enterprise(s_gen_t *g, const s_ent_t *e, int32_t day, const char *cadre, bool update)
{
    s_buf_t b = {0};
    s_member(&b, "ent", e->code);
    s_member(&b, "by", cadre);
    s_member(&b, "name", e->name);
    s_member(&b, "industry", e->ind->code);
    s_member(&b, "address", e->address);
    s_puts(&b, e->above ? ",\"above_size\":true" : ",\"above_size\":false");
    if (e->focus)
        s_member(&b, "focus", wq_enum_name(WQ_F_FOCUS, e->focus));
    s_member(&b, "cadre", cadre);
    s_add(g, WQ_REC_ENTERPRISE, day, e->index, NULL, 0, &b);
    if (update)
        g->st.enterprise_updates++;
}

/*  A correction of event `target` (of type `of`) setting one field. */
static void
s_emit_correction(s_gen_t *g, const s_ent_t *e, size_t target, wq_rec_type_t of,
                  const char *field, const char *value, const char *reason, int32_t day)
{
    s_buf_t b = {0};
    char key[32];
    s_member(&b, "ent", e->code);
    s_member(&b, "by", e->cadre);
    s_member(&b, "reason", reason);
    s_member(&b, "of", wq_rec_type_name(of));
    snprintf(key, sizeof key, "set.%s", field);
    s_member(&b, key, value);
    s_add(g, WQ_REC_CORRECTION, day, e->index, "target", target, &b);
    g->st.corrections++;
}

typedef enum {
    S_OUT_NONE = 0,         /* no progress at all: open */
    S_OUT_IN_PROGRESS,
    S_OUT_RECTIFIED,
    S_OUT_VERIFIED,
    S_OUT_REOPENED,         /* rectified, then reopened on inspection */
    S_OUT_REOPENED_FIXED,   /* reopened, then rectified again */
    S_OUT_OPEN_ACK,         /* an explicit "open" progress only */
    S_OUT_COUNT
} s_outcome_t;

/*  Plan(s), progress and maybe a deadline correction for problem pgen
    found on day. */
static void
s_problem_chain(s_gen_t *g, const s_ent_t *e, size_t pgen, wq_category_t cat, int32_t day,
                s_problem_t *pr)
{
    s_rng_t *r = &g->rng;
    static const unsigned w[S_OUT_COUNT] = {8, 15, 25, 35, 6, 6, 5};
    size_t k = g->n_outcome++;
    s_outcome_t out = k < S_OUT_COUNT ? (s_outcome_t) k : (s_outcome_t) s_weighted(r, w, S_OUT_COUNT);
    bool forced = k < S_OUT_COUNT;
    char date[11];

    pr->status = WQ_STATUS_OPEN;
    pr->has_plan = false;
    pr->nplans = 0;
    pr->opened = day;
    pr->ntog = 0;

    /* Plans: every problem worked on has one; half the untouched ones too. */
    size_t plan_gen = 0;
    int32_t t = day;
    bool plan = out != S_OUT_NONE || s_chance(r, 50) || forced;
    if (plan) {
        int32_t pday = s_clamp(g, day + s_between(r, 0, 10));
        /* forced outcomes get short deadlines so that a small campaign has
           overdue problems (in_progress, reopened, open past deadline) */
        int32_t deadline = pday + (forced ? s_between(r, 30, 45) : s_between(r, 30, 120));
        s_buf_t b = {0};
        s_member(&b, "ent", e->code);
        s_member(&b, "by", e->cadre);
        s_member(&b, "measures", s_cat_text[cat].measure);
        s_member(&b, "goal", s_cat_text[cat].goal);
        s_date_text(deadline, date);
        s_member(&b, "deadline", date);
        plan_gen = s_add(g, WQ_REC_PLAN, pday, e->index, "problem", pgen, &b);
        pr->has_plan = true;
        pr->nplans = 1;
        pr->deadline = deadline;
        pr->pday[0] = pday;
        pr->pdl[0] = deadline;
        g->st.plans++;
        t = pday;
        /* A revised plan (the ledger is updated as things change). */
        if (g->st.problems == 4 || s_chance(r, 10)) {
            int32_t rday = s_clamp(g, pday + s_between(r, 20, 40));
            int32_t rdeadline = deadline + s_between(r, 30, 60);
            b = (s_buf_t) {0};
            s_member(&b, "ent", e->code);
            s_member(&b, "by", e->cadre);
            s_member(&b, "measures", "调整整改方案：分阶段实施，先行落实临时管控措施");
            s_member(&b, "goal", s_cat_text[cat].goal);
            s_date_text(rdeadline, date);
            s_member(&b, "deadline", date);
            plan_gen = s_add(g, WQ_REC_PLAN, rday, e->index, "problem", pgen, &b);
            pr->nplans = 2;
            pr->deadline = rdeadline;
            pr->pday[1] = rday;
            pr->pdl[1] = rdeadline;
            g->st.plans++;
            g->st.plans_revised++;
            t = rday;
        }
    }

    /* Progress. */
    static const wq_status_t steps[S_OUT_COUNT][5] = {
        [S_OUT_NONE] = {0},
        [S_OUT_IN_PROGRESS] = {WQ_STATUS_IN_PROGRESS},
        [S_OUT_RECTIFIED] = {WQ_STATUS_IN_PROGRESS, WQ_STATUS_RECTIFIED},
        [S_OUT_VERIFIED] = {WQ_STATUS_IN_PROGRESS, WQ_STATUS_RECTIFIED, WQ_STATUS_VERIFIED},
        [S_OUT_REOPENED] = {WQ_STATUS_IN_PROGRESS, WQ_STATUS_RECTIFIED, WQ_STATUS_REOPENED},
        [S_OUT_REOPENED_FIXED] = {WQ_STATUS_IN_PROGRESS, WQ_STATUS_RECTIFIED, WQ_STATUS_REOPENED,
                                  WQ_STATUS_IN_PROGRESS, WQ_STATUS_RECTIFIED},
        [S_OUT_OPEN_ACK] = {WQ_STATUS_OPEN},
    };
    for (int i = 0; i < 5 && steps[out][i]; i++) {
        wq_status_t s = steps[out][i];
        t = s_clamp(g, t + (s == WQ_STATUS_IN_PROGRESS ? s_between(r, 3, 20) : s_between(r, 10, 70)));
        /* the first forced "rectified" outcome is rectified late, so that every
           campaign has one (no extra draw: the stream stays as it was) */
        if (forced && out == S_OUT_RECTIFIED && s == WQ_STATUS_RECTIFIED && pr->has_plan &&
            t <= pr->deadline)
            t = s_clamp(g, pr->deadline + 7);
        s_buf_t b = {0};
        s_member(&b, "ent", e->code);
        s_member(&b, "by", e->cadre);
        s_member(&b, "status", wq_enum_name(WQ_F_STATUS, s));
        s_member(&b, "note", s_progress_note[s]);
        s_add(g, WQ_REC_PROGRESS, t, e->index, "problem", pgen, &b);
        g->st.progress++;
        bool was = pr->status == WQ_STATUS_RECTIFIED || pr->status == WQ_STATUS_VERIFIED;
        bool now = s == WQ_STATUS_RECTIFIED || s == WQ_STATUS_VERIFIED;
        if (was != now) {
            /* as the collector's fold: two changes on one day cancel */
            if (pr->ntog > 0 && pr->tog[pr->ntog - 1] == t)
                pr->ntog--;
            else if (pr->ntog < 8)
                pr->tog[pr->ntog++] = t;
        }
        pr->status = s;
    }

    /* A deadline typed wrong: corrected on the last plan. */
    if (!g->oom && pr->has_plan && (g->st.problems % 20 == 2)) {
        int32_t nd = pr->deadline + 30;
        s_date_text(nd, date);
        int32_t cday = s_clamp(g, g->ev[plan_gen].day + s_between(r, 1, 10));
        s_emit_correction(g, e, plan_gen, WQ_REC_PLAN, "deadline", date, "整改期限录入错误，予以更正",
                          cday);
        pr->deadline = nd;
        pr->pdl[pr->nplans - 1] = nd;
    }
}

static int
s_enterprise(s_gen_t *g, size_t i, s_problem_t **problems, size_t *nproblems, size_t *capproblems)
{
    s_rng_t *r = &g->rng;
    s_ent_t e = {.index = i};
    s_make_enterprise(g, &e);

    /* Register. */
    e.reg_day = s_clamp(g, g->start + s_between(r, 0, 30));
    size_t before = g->nev;
    s_emit_enterprise(g, &e, e.reg_day, e.cadre, false);
    e.reg_gen = before;
    g->st.enterprises++;
    if (e.above)
        g->st.enterprises_above_size++;
    g->st.enterprises_by_focus[e.focus]++;

    bool name_fix = i % 40 == 3;
    /* A profile update: a new assigned cadre. */
    if (!name_fix && (i == 1 || s_chance(r, 5))) {
        char cadre[16];
        snprintf(cadre, sizeof cadre, "%s", g->cadres[s_below(r, 8)]);
        s_emit_enterprise(g, &e, s_clamp(g, e.reg_day + s_between(r, 30, 120)), cadre, true);
        snprintf(e.cadre, sizeof e.cadre, "%s", cadre);
    }
    if (name_fix) {
        /* registered with the wrong company form; fixed from the licence */
        char fixed[224];
        snprintf(fixed, sizeof fixed, "%s%s", e.base, s_suffix[(e.suffix + 1) % COUNT(s_suffix)]);
        s_emit_correction(g, &e, e.reg_gen, WQ_REC_ENTERPRISE, "name", fixed,
                          "企业名称录入有误，按营业执照更正",
                          s_clamp(g, e.reg_day + s_between(r, 1, 20)));
        snprintf(e.name, sizeof e.name, "%s", fixed);
    }

    /* Visits, and the problems they find. */
    static const unsigned nvis_w[] = {10, 40, 35, 15};
    int nvis = s_weighted(r, nvis_w, 4);
    if (i < WQ_GENERATE_FULL_COVERAGE && nvis == 0)
        nvis = 1;
    int32_t t = e.reg_day;
    int32_t last_visit = e.reg_day;
    size_t first_visit_gen = 0;
    for (int v = 0; v < nvis; v++) {
        static const unsigned method_w[] = {50, 20, 15, 15};
        wq_method_t method = (wq_method_t) s_cover(g, &g->n_visit, method_w, 4);
        t = s_clamp(g, t + s_between(r, 10, 60));
        last_visit = t;
        static const unsigned np_w[] = {40, 35, 20, 5};
        int np = s_weighted(r, np_w, 4);
        if (v == 0 && i < WQ_GENERATE_FULL_COVERAGE && np == 0)
            np = 1;
        wq_category_t cats[3];
        wq_severity_t sevs[3];
        const char *descs[3];
        for (int k = 0; k < np; k++) {
            static const unsigned cat_w[] = {25, 15, 15, 5, 4, 12, 10, 8, 6};
            static const unsigned sev_w[] = {35, 45, 20};
            cats[k] = (wq_category_t) s_cover(g, &g->n_problem, cat_w, 9);
            sevs[k] = (wq_severity_t) s_cover(g, &g->n_severity, sev_w, 3);
            descs[k] = PICK(r, s_cat_text[cats[k]].desc);
        }
        /* findings text */
        s_buf_t f = {0};
        s_puts(&f, s_method_lead[method]);
        if (np == 0) {
            s_puts(&f, "企业环保设施运行正常，未发现明显问题。");
        } else {
            for (int k = 0; k < np; k++) {
                if (k)
                    s_puts(&f, np > 2 ? "\n" : "；");
                s_puts(&f, descs[k]);
            }
            s_puts(&f, "。");
        }
        s_buf_t b = {0};
        s_member(&b, "ent", e.code);
        s_member(&b, "by", e.cadre);
        /* one to three distinct cadres, the assigned one first */
        int nc = 1 + (int) s_below(r, 3);
        const char *chosen[3] = {e.cadre, NULL, NULL};
        s_puts(&b, ",\"cadres\":[");
        s_put_json_string(&b, e.cadre);
        for (int c = 1; c < nc; c++) {
            const char *other;
            bool dup;
            do {
                other = g->cadres[s_below(r, 8)];
                dup = false;
                for (int j = 0; j < c; j++)
                    dup = dup || strcmp(other, chosen[j]) == 0;
            } while (dup);
            chosen[c] = other;
            s_puts(&b, ",");
            s_put_json_string(&b, other);
        }
        s_puts(&b, "]");
        s_member(&b, "method", wq_enum_name(WQ_F_METHOD, method));
        if (f.oom)
            b.oom = true;
        s_member(&b, "findings", f.p ? f.p : "");
        free(f.p);
        size_t vgen = s_add(g, WQ_REC_VISIT, t, e.index, NULL, 0, &b);
        if (v == 0)
            first_visit_gen = vgen;
        g->st.visits++;
        g->st.visits_by_method[method]++;

        for (int k = 0; k < np; k++) {
            b = (s_buf_t) {0};
            s_member(&b, "ent", e.code);
            s_member(&b, "by", e.cadre);
            s_member(&b, "category", wq_enum_name(WQ_F_CATEGORY, cats[k]));
            s_member(&b, "severity", wq_enum_name(WQ_F_SEVERITY, sevs[k]));
            s_member(&b, "description", descs[k]);
            size_t pgen = s_add(g, WQ_REC_PROBLEM, t, e.index, "visit", vgen, &b);
            if (*nproblems == *capproblems) {
                size_t cap = *capproblems ? *capproblems * 2 : 256;
                s_problem_t *p = realloc(*problems, cap * sizeof *p);
                if (!p) {
                    g->oom = true;
                    return WQ_E_NOMEM;
                }
                *problems = p;
                *capproblems = cap;
            }
            s_problem_t *pr = &(*problems)[(*nproblems)++];
            g->st.problems++;
            g->st.problems_by_category[cats[k]]++;
            g->st.problems_by_severity[sevs[k]]++;
            s_problem_chain(g, &e, pgen, cats[k], t, pr);
        }
    }
    if (nvis > 0)
        g->st.enterprises_visited++;
    /* The findings of a visit recorded wrong, corrected. */
    if (!g->oom && nvis > 0 && i % 50 == 4) {
        s_emit_correction(g, &e, first_visit_gen, WQ_REC_VISIT, "findings",
                          "现场检查发现：企业环保设施运行基本正常，部分台账记录不全。",
                          "检查发现情况记录不准确，予以更正",
                          s_clamp(g, g->ev[first_visit_gen].day + s_between(r, 1, 15)));
    }

    /* Services. */
    static const unsigned ns_w[] = {30, 35, 25, 10};
    int ns = s_weighted(r, ns_w, 4);
    if ((i < 5 || i % 30 == 7) && ns == 0)
        ns = 1;
    for (int k = 0; k < ns; k++) {
        static const unsigned kind_w[] = {20, 25, 20, 15, 20};
        wq_service_kind_t kind = (wq_service_kind_t) s_cover(g, &g->n_service, kind_w, 5);
        int32_t day = s_clamp(g, e.reg_day + s_between(r, 5, g->end - e.reg_day));
        const char *text = PICK(r, s_service_text[kind]);
        s_buf_t b = {0};
        s_member(&b, "ent", e.code);
        s_member(&b, "by", e.cadre);
        s_member(&b, "kind", wq_enum_name(WQ_F_KIND, kind));
        s_member(&b, "content", text);
        s_add(g, WQ_REC_SERVICE, day, e.index, NULL, 0, &b);
        g->st.services++;
        g->st.services_by_kind[kind]++;
        if (k == 0 && i % 30 == 7) {
            /* Entered twice by mistake; the duplicate is retracted. */
            b = (s_buf_t) {0};
            s_member(&b, "ent", e.code);
            s_member(&b, "by", e.cadre);
            s_member(&b, "kind", wq_enum_name(WQ_F_KIND, kind));
            s_member(&b, "content", text);
            size_t dup = s_add(g, WQ_REC_SERVICE, day, e.index, NULL, 0, &b);
            b = (s_buf_t) {0};
            s_member(&b, "ent", e.code);
            s_member(&b, "by", e.cadre);
            s_member(&b, "reason", "同一次服务重复录入，撤销重复记录");
            s_add(g, WQ_REC_RETRACTION, s_clamp(g, day + s_between(r, 0, 3)), e.index, "target",
                  dup, &b);
            g->st.retractions++;
        }
    }

    /* Consultations. */
    static const unsigned nq_w[] = {55, 30, 15};
    int nq = s_weighted(r, nq_w, 3);
    if (i < 3 && nq == 0)
        nq = 1;
    for (int k = 0; k < nq; k++) {
        static const unsigned ch_w[] = {40, 45, 15};
        size_t which = g->n_consult;
        wq_channel_t ch = (wq_channel_t) s_cover(g, &g->n_consult, ch_w, 3);
        int32_t qday = s_clamp(g, e.reg_day + s_between(r, 0, g->end - e.reg_day));
        const s_qa_t *qa = &PICK(r, s_qa);
        s_buf_t b = {0};
        s_member(&b, "ent", e.code);
        s_member(&b, "by", e.cadre);
        s_member(&b, "channel", wq_enum_name(WQ_F_CHANNEL, ch));
        s_member(&b, "question", qa->q);
        size_t qgen = s_add(g, WQ_REC_CONSULTATION, qday, e.index, NULL, 0, &b);
        g->st.consultations++;
        g->st.consultations_by_channel[ch]++;
        bool answered = which == 0 ? true : which == 1 ? false : s_chance(r, 85);
        if (answered) {
            int32_t aday = s_clamp(g, qday + s_between(r, 0, 14));
            b = (s_buf_t) {0};
            s_member(&b, "ent", e.code);
            s_member(&b, "by", e.cadre);
            s_member(&b, "answer", qa->a);
            s_add(g, WQ_REC_ANSWER, aday, e.index, "consultation", qgen, &b);
            g->st.consultations_answered++;
            g->st.answer_days_total += (size_t) (aday - qday);
        } else {
            g->st.consultations_unanswered++;
        }
    }

    /* Classification, after the examination. */
    static const unsigned cl_w[] = {20, 45, 20, 8, 7};
    wq_class_t cls = 0;
    if (i < 5)
        cls = (wq_class_t) (i + 1);
    else if (i == 5 || s_chance(r, 45))
        cls = (wq_class_t) (s_weighted(r, cl_w, 5) + 1);
    if (cls) {
        int32_t day = s_clamp(g, last_visit + s_between(r, 0, 30));
        s_buf_t b = {0};
        s_member(&b, "ent", e.code);
        s_member(&b, "by", e.cadre);
        s_member(&b, "class", wq_enum_name(WQ_F_CLASS, cls));
        s_member(&b, "reason", s_class_reason[cls]);
        s_add(g, WQ_REC_CLASSIFICATION, day, e.index, NULL, 0, &b);
        g->st.classifications++;
        if (i == 5 || (i >= 5 && s_chance(r, 10))) {
            /* Reclassified later: things changed. */
            wq_class_t again = cls == WQ_CLASS_STRICT ? WQ_CLASS_PUNISH
                               : cls == WQ_CLASS_SUPPORT ? WQ_CLASS_NORMAL
                                                         : WQ_CLASS_STRICT;
            int32_t d2 = s_clamp(g, day + s_between(r, 30, 90));
            b = (s_buf_t) {0};
            s_member(&b, "ent", e.code);
            s_member(&b, "by", e.cadre);
            s_member(&b, "class", wq_enum_name(WQ_F_CLASS, again));
            s_member(&b, "reason", s_class_reason[again]);
            s_add(g, WQ_REC_CLASSIFICATION, d2, e.index, NULL, 0, &b);
            g->st.classifications++;
            g->st.reclassified++;
            cls = again;
        }
        g->st.enterprises_by_class[cls]++;
    }

    /* Performance grade (绩效分级) for heavy-pollution-weather limits: the
       first enterprises cover every grade, then about a quarter of the
       manufacturers; some are graded again a few months later. */
    wq_grade_t grade = 0;
    r = &g->grng;
    if (i < WQ_GRADE_COUNT - 1)
        grade = (wq_grade_t) (i + 1);
    else if (i == WQ_GRADE_COUNT - 1)
        grade = WQ_GRADE_C;     /* re-graded B below */
    else if (e.ind->code[0] == 'C' && s_chance(r, 25))
        grade = (wq_grade_t) (1 + s_below(r, WQ_GRADE_COUNT - 1));
    if (grade) {
        int32_t day = s_clamp(g, e.reg_day + s_between(r, 10, 90));
        s_buf_t b = {0};
        s_member(&b, "ent", e.code);
        s_member(&b, "by", e.cadre);
        s_member(&b, "industry", e.ind->code);
        s_member(&b, "grade", wq_enum_name(WQ_F_GRADE, grade));
        s_add(g, WQ_REC_GRADING, day, e.index, NULL, 0, &b);
        g->st.gradings++;
        if (i == WQ_GRADE_COUNT - 1 || (i >= WQ_GRADE_COUNT && s_chance(r, 15))) {
            /* Re-graded after upgrading its treatment: one grade up (C -> B, B- -> B). */
            wq_grade_t up = grade == WQ_GRADE_C || grade == WQ_GRADE_B_MINUS ? WQ_GRADE_B
                            : grade == WQ_GRADE_D                         ? WQ_GRADE_C
                                                                          : WQ_GRADE_A;
            b = (s_buf_t) {0};
            s_member(&b, "ent", e.code);
            s_member(&b, "by", e.cadre);
            s_member(&b, "industry", e.ind->code);
            s_member(&b, "grade", wq_enum_name(WQ_F_GRADE, up));
            s_member(&b, "reason", "完成深度治理后重新评级");
            s_add(g, WQ_REC_GRADING, s_clamp(g, day + s_between(r, 30, 120)), e.index, NULL, 0,
                  &b);
            g->st.gradings++;
            grade = up;
        }
        g->st.enterprises_by_grade[grade]++;
    }
    return g->oom ? WQ_E_NOMEM : WQ_OK;
}

/*  ---- output --------------------------------------------------------------- */

static int
s_cmp_events(const void *a, const void *b)
{
    const s_event_t *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->gen < y->gen ? -1 : x->gen > y->gen ? 1 : 0;
}

static void
s_free_events(s_gen_t *g)
{
    for (size_t i = 0; i < g->nev; i++)
        free(g->ev[i].body);
    free(g->ev);
    g->ev = NULL;
    g->nev = g->cap = 0;
}

int
wq_generate(FILE *out, const char *county, const char *start_date, const char *end_date,
            uint64_t seed, size_t enterprises, wq_generate_stats_t *stats, wq_err_t *err)
{
    assert(out);
    s_gen_t g;
    s_problem_t *problems = NULL;
    size_t nproblems = 0, capproblems = 0;
    size_t *line = NULL, *lines_per_ent = NULL;
    int rc = WQ_OK;
    wq_err_t e;
    memset(&g, 0, sizeof g);
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!start_date)
        start_date = "2019-02-01";
    if (!end_date)
        end_date = "2019-12-31";

    if (wq_date_check(start_date, &e) != WQ_OK) {
        rc = wq_err_set(err, WQ_E_FORMAT, "start_date", "%s", e.text);
        goto fail;
    }
    if (wq_date_check(end_date, &e) != WQ_OK) {
        rc = wq_err_set(err, WQ_E_FORMAT, "end_date", "%s", e.text);
        goto fail;
    }
    g.start = wq_date_days(start_date);
    g.end = wq_date_days(end_date);
    if (g.start > g.end) {
        rc = wq_err_set(err, WQ_E_RANGE, "start_date", _("the campaign starts %s, after its end %s"),
                        start_date, end_date);
        goto fail;
    }
    if (enterprises > S_MAX_ENTERPRISES) {
        rc = wq_err_set(err, WQ_E_RANGE, "enterprises", _("%zu enterprises, at most %d per county"),
                        enterprises, S_MAX_ENTERPRISES);
        goto fail;
    }
    rc = wq_division_check_county(county, start_date, err);
    if (rc == WQ_OK)
        rc = wq_division_check_county(county, end_date, err);
    if (rc != WQ_OK)
        goto fail;
    const wq_division_t *d = wq_division_find(county);
    const wq_division_t *city = d ? wq_division_find(d->parent) : NULL;
    if (!d || !city) {
        rc = wq_err_set(err, WQ_E_COUNTY, "county", _("%s has no parent city in the divisions table"),
                        county);
        goto fail;
    }
    g.county = d->code;
    snprintf(g.city_code, sizeof g.city_code, "%s", city->code);
    snprintf(g.place, sizeof g.place, "%s", d->name);
    s_shorten(city->name, g.short_city, sizeof g.short_city);
    s_shorten(d->name, g.short_county, sizeof g.short_county);

    /* The stream depends on the seed and on the county. */
    g.rng.s = seed ^ (UINT64_C(0x5851F42D4C957F2D) * (uint64_t) atoi(county));
    (void) s_next(&g.rng);
    g.grng.s = g.rng.s ^ UINT64_C(0x9E3779B97F4A7C15);
    (void) s_next(&g.grng);
    g.org_base = s_below(&g.rng, S_ORG_SPACE);
    for (int i = 0; i < 8; i++) {
        bool dup;
        do {
            s_person(&g.rng, g.cadres[i], sizeof g.cadres[i]);
            dup = false;
            for (int j = 0; j < i; j++)
                dup = dup || strcmp(g.cadres[i], g.cadres[j]) == 0;
        } while (dup);
    }

    for (size_t i = 0; i < enterprises; i++) {
        rc = s_enterprise(&g, i, &problems, &nproblems, &capproblems);
        if (rc != WQ_OK || g.oom) {
            rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory generating enterprise %zu"), i + 1);
            goto fail;
        }
    }

    /* Problem outcomes and overdue as of the end. */
    for (size_t i = 0; i < nproblems; i++) {
        const s_problem_t *p = &problems[i];
        g.st.problems_by_status[p->status]++;
        if (p->has_plan) {
            g.st.problems_with_plan++;
            if (p->deadline < g.end && p->status != WQ_STATUS_RECTIFIED
                && p->status != WQ_STATUS_VERIFIED)
                g.st.overdue++;
        }
        if (p->ntog % 2 == 1) {
            /* Resolved at the end: on time if the day it was resolved is on
               or before the deadline in force that day (none: on time). */
            int32_t last = p->tog[p->ntog - 1], dl = 0;
            bool any = false;
            for (int k = 0; k < p->nplans; k++)
                if (p->pday[k] <= last) {
                    dl = p->pdl[k];
                    any = true;
                }
            if (any && last > dl)
                g.st.rectified_late++;
            else
                g.st.rectified_on_time++;
        }
    }

    /* Order by date, number the lines, write. */
    line = calloc(g.nev ? g.nev : 1, sizeof *line);
    lines_per_ent = calloc(enterprises ? enterprises : 1, sizeof *lines_per_ent);
    if (!line || !lines_per_ent) {
        rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory ordering %zu lines"), g.nev);
        goto fail;
    }
    if (g.nev > 0)
        qsort(g.ev, g.nev, sizeof *g.ev, s_cmp_events);
    for (size_t i = 0; i < g.nev; i++)
        line[g.ev[i].gen] = i + 1;
    for (size_t i = 0; i < g.nev; i++) {
        const s_event_t *ev = &g.ev[i];
        char date[11];
        s_date_text(ev->day, date);
        fprintf(out, "{\"type\":\"%s\",\"date\":\"%s\",\"county\":\"%s\"",
                wq_rec_type_name(ev->type), date, g.county);
        if (ev->ref_key) {
            assert(line[ev->ref] < i + 1);
            fprintf(out, ",\"%s\":\"@%zu\"", ev->ref_key, line[ev->ref]);
        }
        fputs(ev->body, out);
        fputs("}\n", out);
        lines_per_ent[ev->ent]++;
    }
    if (fflush(out) != 0 || ferror(out)) {
        rc = wq_err_set(err, WQ_E_IO, "", _("writing the campaign failed after %zu lines"), g.nev);
        goto fail;
    }
    size_t best = 0;
    for (size_t i = 1; i < enterprises; i++)
        if (lines_per_ent[i] > lines_per_ent[best])
            best = i;
    if (enterprises > 0) {
        /* find the code in that enterprise's registration line */
        for (size_t i = 0; i < g.nev; i++) {
            if (g.ev[i].ent == best && g.ev[i].type == WQ_REC_ENTERPRISE) {
                const char *p = strstr(g.ev[i].body, "\"ent\":\"");
                if (p)
                    snprintf(g.st.sample_ent, sizeof g.st.sample_ent, "%.18s", p + 7);
                break;
            }
        }
    }
    if (stats)
        *stats = g.st;
    rc = WQ_OK;
fail:
    free(line);
    free(lines_per_ent);
    free(problems);
    s_free_events(&g);
    return rc;
}

int
wq_generate_stats_write(const wq_generate_stats_t *s, FILE *out)
{
    assert(s && out);
    fprintf(out, "records %zu\n", s->records);
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++)
        fprintf(out, "by_type.%s %zu\n", wq_rec_type_name((wq_rec_type_t) t), s->by_type[t]);
    fprintf(out, "enterprises %zu\n", s->enterprises);
    fprintf(out, "enterprise_updates %zu\n", s->enterprise_updates);
    fprintf(out, "enterprises_above_size %zu\n", s->enterprises_above_size);
    fprintf(out, "enterprises_by_focus.none %zu\n", s->enterprises_by_focus[0]);
    for (int v = 1; v < WQ_FOCUS_COUNT; v++)
        fprintf(out, "enterprises_by_focus.%s %zu\n", wq_enum_name(WQ_F_FOCUS, v),
                s->enterprises_by_focus[v]);
    fprintf(out, "enterprises_visited %zu\n", s->enterprises_visited);
    fprintf(out, "sample_ent %s\n", s->sample_ent[0] ? s->sample_ent : "-");
    fprintf(out, "visits %zu\n", s->visits);
    for (int v = 1; v < WQ_METHOD_COUNT; v++)
        fprintf(out, "visits_by_method.%s %zu\n", wq_enum_name(WQ_F_METHOD, v),
                s->visits_by_method[v]);
    fprintf(out, "problems %zu\n", s->problems);
    for (int v = 1; v < WQ_CAT_COUNT; v++)
        fprintf(out, "problems_by_category.%s %zu\n", wq_enum_name(WQ_F_CATEGORY, v),
                s->problems_by_category[v]);
    for (int v = 1; v < WQ_SEV_COUNT; v++)
        fprintf(out, "problems_by_severity.%s %zu\n", wq_enum_name(WQ_F_SEVERITY, v),
                s->problems_by_severity[v]);
    for (int v = 1; v < WQ_STATUS_COUNT; v++)
        fprintf(out, "problems_by_status.%s %zu\n", wq_enum_name(WQ_F_STATUS, v),
                s->problems_by_status[v]);
    fprintf(out, "progress %zu\n", s->progress);
    fprintf(out, "plans %zu\n", s->plans);
    fprintf(out, "problems_with_plan %zu\n", s->problems_with_plan);
    fprintf(out, "plans_revised %zu\n", s->plans_revised);
    fprintf(out, "overdue %zu\n", s->overdue);
    fprintf(out, "services %zu\n", s->services);
    for (int v = 1; v < WQ_SERVICE_COUNT; v++)
        fprintf(out, "services_by_kind.%s %zu\n", wq_enum_name(WQ_F_KIND, v),
                s->services_by_kind[v]);
    fprintf(out, "consultations %zu\n", s->consultations);
    for (int v = 1; v < WQ_CHANNEL_COUNT; v++)
        fprintf(out, "consultations_by_channel.%s %zu\n", wq_enum_name(WQ_F_CHANNEL, v),
                s->consultations_by_channel[v]);
    fprintf(out, "consultations_answered %zu\n", s->consultations_answered);
    fprintf(out, "consultations_unanswered %zu\n", s->consultations_unanswered);
    fprintf(out, "answer_days_total %zu\n", s->answer_days_total);
    fprintf(out, "classifications %zu\n", s->classifications);
    fprintf(out, "reclassified %zu\n", s->reclassified);
    for (int v = 1; v < WQ_CLASS_COUNT; v++)
        fprintf(out, "enterprises_by_class.%s %zu\n", wq_enum_name(WQ_F_CLASS, v),
                s->enterprises_by_class[v]);
    fprintf(out, "corrections %zu\n", s->corrections);
    fprintf(out, "retractions %zu\n", s->retractions);
    fprintf(out, "rectified_on_time %zu\n", s->rectified_on_time);
    fprintf(out, "rectified_late %zu\n", s->rectified_late);
    fprintf(out, "gradings %zu\n", s->gradings);
    for (int v = 1; v < WQ_GRADE_COUNT; v++)
        fprintf(out, "enterprises_by_grade.%s %zu\n", wq_enum_name(WQ_F_GRADE, v),
                s->enterprises_by_grade[v]);
    if (fflush(out) != 0 || ferror(out))
        return WQ_E_IO;
    return WQ_OK;
}
