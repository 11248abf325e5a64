/*  =========================================================================
    workbench - the workbench pages' data, from a snapshot of the outbox

    A snapshot is every record of the outbox, decoded, sorted in the
    collector's fold order (date, agent, inc, seq), with retractions marked
    and corrections applied in that order (the same rules as collector/fold.c:
    a retraction voids a base event; a correction of a type-matching,
    unretracted target patches it with wq_record_apply_patch). A county
    holds at most tens of thousands of records, so a page rebuilds the
    snapshot each time rather than keeping a cache that could go stale
    while `record`, `import` or `run` write the outbox from other processes.
    =========================================================================
*/
#include "agent/workbench.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "agent/importer.h"
#include "common/date.h"
#include "common/i18n.h"
#include "common/json.h"

#define BIT(f) (1ull << (f))

typedef struct {
    wq_record_t *rec;           /* corrections applied */
    char id[WQ_EVENT_ID_MAX];
    const char *state;          /* "acked", "queued", "archive" */
    bool retracted;
    long target;                /* correction/retraction: index of its target, -1 if not here */
    long last_plan, last_prog;  /* problem: index of its current plan / progress, -1 none */
    long nplans;
    bool answered;              /* consultation: has an unretracted answer */
} s_item_t;

struct wq_wb_t {
    s_item_t *items;
    size_t n, cap;
    size_t *by_id;              /* indices sorted by id, for lookups */
    size_t *by_ent;             /* indices of base events sorted by (ent, fold order) */
    size_t nent;
    size_t bad;
    uint32_t inc;
    uint64_t acked;
    bool oom;
};

/*  ---- messages ---------------------------------------------------------- */

const char *
wq_wb_err_zh(int code)
{
    switch (code) {
    case WQ_E_MISSING: return "必填项，请填写";
    case WQ_E_CHECKCHAR: return "统一社会信用代码校验位不对，多半是输错了一位，请核对营业执照";
    case WQ_E_FORMAT: return "格式不对";
    case WQ_E_RANGE: return "长度或数值超出范围";
    case WQ_E_UTF8: return "含有不能保存的字符";
    case WQ_E_UNKNOWN: return "不是可选的值";
    case WQ_E_COUNTY: return "县（区）代码在该日期无效";
    case WQ_E_FOREIGN: return "只能记录本县（区）的企业";
    case WQ_E_FULL: return "本机存储已满，请联系管理员";
    case WQ_E_NOTFOUND: return "找不到这条记录";
    case WQ_E_NOMEM: return "内存不足";
    default: return "有误";
    }
}

/*  ---- loading ----------------------------------------------------------- */

static int
s_load_cb(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    wq_wb_t *wb = arg;
    wq_record_t *rec = NULL;
    wq_err_t e;
    if (!data || wq_record_decode(data, size, &rec, &e) != WQ_OK) {
        wb->bad++;
        return 0;
    }
    if (wb->n == wb->cap) {
        size_t cap = wb->cap ? wb->cap * 2 : 256;
        s_item_t *p = realloc(wb->items, cap * sizeof *p);
        if (!p)
            goto oom;
        wb->items = p;
        wb->cap = cap;
    }
    s_item_t *it = &wb->items[wb->n];
    memset(it, 0, sizeof *it);
    it->rec = rec;
    wq_record_id(rec, it->id);
    it->state = inc != wb->inc ? "archive" : seq <= wb->acked ? "acked" : "queued";
    it->target = it->last_plan = it->last_prog = -1;
    wb->n++;
    return 0;
oom:
    wq_record_destroy(&rec);
    wb->oom = true;
    return 1;
}

static int
s_fold_cmp(const void *a, const void *b)
{
    return wq_record_fold_cmp(((const s_item_t *) a)->rec, ((const s_item_t *) b)->rec);
}

static int
s_id_cmp(const void *a, const void *b, void *arg)
{
    const wq_wb_t *wb = arg;
    return strcmp(wb->items[*(const size_t *) a].id, wb->items[*(const size_t *) b].id);
}

static int
s_ent_cmp(const void *a, const void *b, void *arg)
{
    const wq_wb_t *wb = arg;
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    int c = strcmp(wb->items[x].rec->ent, wb->items[y].rec->ent);
    return c ? c : (x > y) - (x < y);
}

/*  First position in by_ent of ent, or nent. */
static size_t
s_ent_first(const wq_wb_t *wb, const char *ent)
{
    size_t lo = 0, hi = wb->nent;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(wb->items[wb->by_ent[mid]].rec->ent, ent) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static long
s_find(const wq_wb_t *wb, const char *id)
{
    size_t lo = 0, hi = wb->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(wb->items[wb->by_id[mid]].id, id);
        if (c == 0)
            return (long) wb->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static bool
s_is_modifier(const wq_record_t *r)
{
    return r->type == WQ_REC_CORRECTION || r->type == WQ_REC_RETRACTION;
}

/*  Retractions, then corrections in fold order, then what each problem and
    consultation's current state is. */
static int
s_fold(wq_wb_t *wb)
{
    for (size_t i = 0; i < wb->n; i++) {
        s_item_t *it = &wb->items[i];
        if (s_is_modifier(it->rec))
            it->target = s_find(wb, it->rec->target);
    }
    for (size_t i = 0; i < wb->n; i++) {
        s_item_t *it = &wb->items[i];
        if (it->rec->type == WQ_REC_RETRACTION && it->target >= 0 &&
            wb->items[it->target].rec->type != WQ_REC_RETRACTION)
            wb->items[it->target].retracted = true;
    }
    for (size_t i = 0; i < wb->n; i++) {
        s_item_t *it = &wb->items[i];
        if (it->rec->type != WQ_REC_CORRECTION || it->retracted || it->target < 0 || !it->rec->set)
            continue;
        s_item_t *t = &wb->items[it->target];
        if (s_is_modifier(t->rec) || t->rec->type != it->rec->of)
            continue;
        if (wq_record_apply_patch(t->rec, it->rec->set, NULL) != WQ_OK)
            return WQ_E_NOMEM;      /* types match (checked above): only memory can fail */
    }
    for (size_t i = 0; i < wb->n; i++) {
        s_item_t *it = &wb->items[i];
        const wq_record_t *r = it->rec;
        if (it->retracted)
            continue;
        if (r->type == WQ_REC_PLAN || r->type == WQ_REC_PROGRESS) {
            long p = s_find(wb, r->problem);
            if (p < 0 || wb->items[p].rec->type != WQ_REC_PROBLEM)
                continue;
            if (r->type == WQ_REC_PLAN) {
                wb->items[p].last_plan = (long) i;
                wb->items[p].nplans++;
            } else
                wb->items[p].last_prog = (long) i;
        } else if (r->type == WQ_REC_ANSWER) {
            long c = s_find(wb, r->consultation);
            if (c >= 0)
                wb->items[c].answered = true;
        }
    }
    return WQ_OK;
}

int
wq_wb_load(wq_outbox_t *box, wq_wb_t **out, wq_err_t *err)
{
    wq_outbox_state_t st;
    wq_wb_t *wb = calloc(1, sizeof *wb);
    int rc;
    if (!wb)
        return wq_err_set(err, WQ_E_NOMEM, "", _("out of memory loading the outbox"));
    rc = wq_outbox_state(box, &st, err);
    if (rc != WQ_OK)
        goto fail;
    wb->inc = st.inc;
    wb->acked = st.acked;
    rc = wq_outbox_scan(box, s_load_cb, wb, err);
    if (rc != WQ_OK)
        goto fail;
    if (wb->oom)
        goto oom;
    if (wb->n > 1)      /* items is NULL when the outbox is empty */
        qsort(wb->items, wb->n, sizeof *wb->items, s_fold_cmp);
    wb->by_id = malloc((wb->n ? wb->n : 1) * sizeof *wb->by_id);
    if (!wb->by_id)
        goto oom;
    for (size_t i = 0; i < wb->n; i++)
        wb->by_id[i] = i;
    if (wb->n > 1)
        qsort_r(wb->by_id, wb->n, sizeof *wb->by_id, s_id_cmp, wb);
    wb->by_ent = malloc((wb->n ? wb->n : 1) * sizeof *wb->by_ent);
    if (!wb->by_ent)
        goto oom;
    for (size_t i = 0; i < wb->n; i++)
        if (!s_is_modifier(wb->items[i].rec) && wb->items[i].rec->ent[0])
            wb->by_ent[wb->nent++] = i;
    if (wb->nent > 1)
        qsort_r(wb->by_ent, wb->nent, sizeof *wb->by_ent, s_ent_cmp, wb);
    if (s_fold(wb) != WQ_OK)
        goto oom;
    *out = wb;
    return WQ_OK;
oom:
    rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory loading the outbox"));
fail:
    wq_wb_destroy(&wb);
    return rc;
}

void
wq_wb_destroy(wq_wb_t **self)
{
    if (!self || !*self)
        return;
    wq_wb_t *wb = *self;
    for (size_t i = 0; i < wb->n; i++) {
        wq_record_destroy(&wb->items[i].rec);
    }
    free(wb->items);
    free(wb->by_id);
    free(wb->by_ent);
    free(wb);
    *self = NULL;
}

size_t
wq_wb_undecodable(const wq_wb_t *self)
{
    return self->bad;
}

/*  ---- JSON helpers -------------------------------------------------------- */

static void
s_kv(FILE *f, const char *key, const char *value, bool comma)
{
    if (comma)
        fputc(',', f);
    wq_json_write_string(f, key);
    fputc(':', f);
    if (value)
        wq_json_write_string(f, value);
    else
        fputs("null", f);
}

/*  The latest unretracted profile of ent, or NULL. */
static const wq_record_t *
s_profile(const wq_wb_t *wb, const char *ent)
{
    const wq_record_t *p = NULL;
    for (size_t k = s_ent_first(wb, ent);
         k < wb->nent && strcmp(wb->items[wb->by_ent[k]].rec->ent, ent) == 0; k++) {
        const s_item_t *it = &wb->items[wb->by_ent[k]];
        if (it->rec->type == WQ_REC_ENTERPRISE && !it->retracted)
            p = it->rec;     /* by_ent keeps fold order within an enterprise: the last wins */
    }
    return p;
}

/*  ---- fields ------------------------------------------------------------ */

static const char *
s_kind_name(wq_field_kind_t k)
{
    switch (k) {
    case WQ_FK_TEXT: return "text";
    case WQ_FK_ENUM: return "enum";
    case WQ_FK_BOOL: return "bool";
    case WQ_FK_DATE: return "date";
    case WQ_FK_LIST: return "list";
    case WQ_FK_EVENT: return "event";
    case WQ_FK_ENT: return "ent";
    case WQ_FK_COUNTY: return "county";
    case WQ_FK_INDUSTRY: return "industry";
    case WQ_FK_TYPE: return "type";
    default: return "other";
    }
}

static void
s_write_field(FILE *f, wq_rec_type_t type, wq_field_t fl, bool comma)
{
    wq_field_meta_t m;
    wq_field_meta(fl, &m);
    if (comma)
        fputc(',', f);
    fputc('{', f);
    s_kv(f, "name", m.name, false);
    s_kv(f, "label", wq_field_label(fl), true);
    s_kv(f, "kind", s_kind_name(m.kind), true);
    fprintf(f, ",\"required\":%s,\"patchable\":%s,\"min\":%zu,\"max\":%zu,\"multiline\":%s",
            wq_field_required(type, fl) ? "true" : "false",
            wq_field_patchable(type, fl) ? "true" : "false", m.min, m.max,
            m.multiline ? "true" : "false");
    s_kv(f, "help", m.help, true);
    fputs(",\"choices\":[", f);
    for (int v = 1; v <= m.nenums; v++) {
        fputs(v > 1 ? ",{" : "{", f);
        s_kv(f, "value", wq_enum_name(fl, v), false);
        s_kv(f, "label", wq_enum_label(fl, v), true);
        fputc('}', f);
    }
    fputs("]}", f);
}

void
wq_wb_write_fields(FILE *f)
{
    fputc('[', f);
    for (int t = WQ_REC_ENTERPRISE; t < WQ_REC_TYPE_COUNT; t++) {
        fputs(t > WQ_REC_ENTERPRISE ? ",{" : "{", f);
        s_kv(f, "type", wq_rec_type_name((wq_rec_type_t) t), false);
        s_kv(f, "label", wq_rec_type_label((wq_rec_type_t) t), true);
        fputs(",\"fields\":[", f);
        bool comma = false;
        for (int i = WQ_F_DATE; i < WQ_F_COUNT; i++) {
            wq_field_t fl = (wq_field_t) i;
            if (fl == WQ_F_RECORDED || fl == WQ_F_COUNTY || !wq_field_allowed((wq_rec_type_t) t, fl))
                continue;
            s_write_field(f, (wq_rec_type_t) t, fl, comma);
            comma = true;
        }
        fputs("]}", f);
    }
    fputc(']', f);
}

/*  ---- sync -------------------------------------------------------------- */

static void
s_ago(uint64_t now_ms, uint64_t then_ms, char *out, size_t size)
{
    uint64_t s = now_ms > then_ms ? (now_ms - then_ms) / 1000 : 0;
    if (s < 60)
        snprintf(out, size, "不到 1 分钟前");
    else if (s < 3600)
        snprintf(out, size, "%" PRIu64 " 分钟前", s / 60);
    else if (s < 86400)
        snprintf(out, size, "%" PRIu64 " 小时前", s / 3600);
    else
        snprintf(out, size, "%" PRIu64 " 天前", s / 86400);
}

void
wq_wb_write_sync(const wq_outbox_state_t *st, uint64_t now_ms, FILE *f)
{
    char text[600], when[24] = "", ago[40];
    if (st->contact_ms)
        wq_time_format(st->contact_ms, when);
    if (st->count == 0)
        snprintf(text, sizeof text, "本机还没有记录");
    else if (st->queued == 0) {
        if (st->contact_ms)
            snprintf(text, sizeof text, "全部已送达省平台（最后确认 %.16s）", when);
        else
            snprintf(text, sizeof text, "全部已送达省平台");
    } else {
        s_ago(now_ms, st->oldest_unsent_ms, ago, sizeof ago);
        snprintf(text, sizeof text, "%" PRIu64 " 条待发送，最早 %s；原因：%s", st->queued,
                 st->oldest_unsent_ms ? ago : "未知",
                 st->error_ms ? st->last_error
                 : st->contact_ms ? "正在发送，或发送程序（wanqi-agent run）未在运行"
                                  : "尚未连上省平台（发送程序 wanqi-agent run 是否在运行？）");
    }
    fprintf(f, "{\"ok\":%s,\"queued\":%" PRIu64 ",\"records\":%" PRIu64 ",\"quarantined\":%" PRIu64,
            st->queued == 0 ? "true" : "false", st->queued, st->count, st->quarantined);
    s_kv(f, "text", text, true);
    s_kv(f, "last_contact", st->contact_ms ? when : NULL, true);
    s_kv(f, "agent", st->agent, true);
    fputc('}', f);
}

/*  ---- ledger ------------------------------------------------------------ */

void
wq_wb_write_ledger(const wq_wb_t *self, const char *today, FILE *f)
{
    int32_t now = wq_date_days(today);
    bool comma = false;
    fputc('[', f);
    for (size_t i = 0; i < self->n; i++) {
        const s_item_t *it = &self->items[i];
        const wq_record_t *r = it->rec;
        if (r->type != WQ_REC_PROBLEM || it->retracted)
            continue;
        const wq_record_t *plan = it->last_plan >= 0 ? self->items[it->last_plan].rec : NULL;
        const wq_record_t *prog = it->last_prog >= 0 ? self->items[it->last_prog].rec : NULL;
        const wq_record_t *prof = s_profile(self, r->ent);
        wq_status_t status = prog ? prog->status : WQ_STATUS_OPEN;
        bool done = status == WQ_STATUS_RECTIFIED || status == WQ_STATUS_VERIFIED;
        fputs(comma ? ",{" : "{", f);
        comma = true;
        s_kv(f, "id", it->id, false);
        s_kv(f, "state", it->state, true);
        s_kv(f, "ent", r->ent, true);
        s_kv(f, "name", prof ? prof->name : NULL, true);
        s_kv(f, "date", r->date, true);
        s_kv(f, "category", wq_enum_name(WQ_F_CATEGORY, r->category), true);
        s_kv(f, "severity", wq_enum_name(WQ_F_SEVERITY, r->severity), true);
        s_kv(f, "description", r->description, true);
        s_kv(f, "status", wq_enum_name(WQ_F_STATUS, status), true);
        s_kv(f, "deadline", plan ? plan->deadline : NULL, true);
        fprintf(f, ",\"plans\":%ld,\"done\":%s", it->nplans, done ? "true" : "false");
        if (plan && now >= 0) {
            int32_t left = wq_date_days(plan->deadline) - now;
            fprintf(f, ",\"days_left\":%" PRId32 ",\"overdue\":%s", left,
                    left < 0 && !done ? "true" : "false");
        } else
            fputs(",\"days_left\":null,\"overdue\":false", f);
        fputc('}', f);
    }
    fputc(']', f);
}

/*  ---- case book --------------------------------------------------------- */

static bool
s_of_ent(const wq_wb_t *wb, const s_item_t *it, const char *ent)
{
    if (!s_is_modifier(it->rec))
        return strcmp(it->rec->ent, ent) == 0;
    return it->target >= 0 && !s_is_modifier(wb->items[it->target].rec) &&
           strcmp(wb->items[it->target].rec->ent, ent) == 0;
}

static void
s_write_item(const wq_wb_t *wb, size_t i, FILE *f)
{
    const s_item_t *it = &wb->items[i];
    fputc('{', f);
    s_kv(f, "id", it->id, false);
    s_kv(f, "state", it->state, true);
    fprintf(f, ",\"retracted\":%s,\"corrections\":[", it->retracted ? "true" : "false");
    bool comma = false;
    for (size_t k = 0; k < wb->n; k++) {
        const s_item_t *c = &wb->items[k];
        if (c->rec->type != WQ_REC_CORRECTION || c->target != (long) i || c->retracted ||
            !c->rec->set)
            continue;
        fputs(comma ? ",{" : "{", f);
        comma = true;
        s_kv(f, "id", c->id, false);
        s_kv(f, "date", c->rec->date, true);
        s_kv(f, "reason", c->rec->reason, true);
        fputs(",\"set\":", f);
        wq_record_write_json(c->rec->set, f);
        fputc('}', f);
    }
    fputs("],\"rec\":", f);
    wq_record_write_json(it->rec, f);
    fputc('}', f);
}

int
wq_wb_write_casebook(const wq_wb_t *self, const char *ent, const char *today, FILE *f)
{
    bool any = false;
    for (size_t i = 0; i < self->n && !any; i++)
        any = s_of_ent(self, &self->items[i], ent);
    if (!any)
        return WQ_E_NOTFOUND;
    const wq_record_t *prof = s_profile(self, ent);
    fputc('{', f);
    s_kv(f, "ent", ent, false);
    s_kv(f, "today", today, true);
    fputs(",\"profile\":", f);
    if (prof)
        wq_record_write_json(prof, f);
    else
        fputs("null", f);
    fputs(",\"records\":[", f);
    bool comma = false;
    for (size_t i = 0; i < self->n; i++) {
        if (!s_of_ent(self, &self->items[i], ent))
            continue;
        if (comma)
            fputc(',', f);
        comma = true;
        s_write_item(self, i, f);
    }
    fputs("]}", f);
    return WQ_OK;
}

void
wq_wb_write_open_consultations(const wq_wb_t *self, FILE *f)
{
    bool comma = false;
    fputc('[', f);
    for (size_t i = 0; i < self->n; i++) {
        const s_item_t *it = &self->items[i];
        if (it->rec->type != WQ_REC_CONSULTATION || it->retracted || it->answered)
            continue;
        const wq_record_t *prof = s_profile(self, it->rec->ent);
        fputs(comma ? ",{" : "{", f);
        comma = true;
        s_kv(f, "id", it->id, false);
        s_kv(f, "name", prof ? prof->name : NULL, true);
        fputs(",\"rec\":", f);
        wq_record_write_json(it->rec, f);
        fputc('}', f);
    }
    fputc(']', f);
}

/*  ---- pickers ------------------------------------------------------------ */

void
wq_wb_write_enterprises(const wq_wb_t *self, const char *q, size_t limit, FILE *f)
{
    size_t qn = q ? strlen(q) : 0, count = 0;
    bool comma = false;
    fputc('[', f);
    for (size_t k = 0; k < self->nent && count < limit; k++) {
        const wq_record_t *r = self->items[self->by_ent[k]].rec;
        if (k > 0 && strcmp(self->items[self->by_ent[k - 1]].rec->ent, r->ent) == 0)
            continue;       /* one line per enterprise */
        const wq_record_t *prof = s_profile(self, r->ent);
        if (qn && strncmp(r->ent, q, qn) != 0 && !(prof && prof->name && strstr(prof->name, q)))
            continue;
        fputs(comma ? ",{" : "{", f);
        comma = true;
        count++;
        s_kv(f, "ent", r->ent, false);
        s_kv(f, "name", prof ? prof->name : NULL, true);
        s_kv(f, "industry", prof ? prof->industry : NULL, true);
        fputc('}', f);
    }
    fputc(']', f);
}

void
wq_wb_write_records(const wq_wb_t *self, const char *ent, wq_rec_type_t type, FILE *f)
{
    bool comma = false;
    fputc('[', f);
    for (size_t k = self->n; k-- > 0;) {
        const s_item_t *it = &self->items[k];
        const wq_record_t *r = it->rec;
        if (it->retracted || (ent && strcmp(r->ent, ent) != 0))
            continue;
        if (type == WQ_REC_NONE ? s_is_modifier(r) : r->type != type)
            continue;
        fputs(comma ? ",{" : "{", f);
        comma = true;
        s_kv(f, "id", it->id, false);
        s_kv(f, "type", wq_rec_type_name(r->type), true);
        s_kv(f, "date", r->date, true);
        fputs(",\"rec\":", f);
        wq_record_write_json(r, f);
        fputc('}', f);
    }
    fputc(']', f);
}

/*  ---- entering records ----------------------------------------------------- */

static void
s_push_err(wq_wb_fielderr_t *errs, size_t *nerrs, const char *field, const wq_err_t *e)
{
    for (size_t i = 0; i < *nerrs; i++)
        if (strcmp(errs[i].field, field) == 0)
            return;     /* the first error of a field is the one to fix */
    if (*nerrs >= WQ_WB_MAX_ERRORS)
        return;
    wq_wb_fielderr_t *x = &errs[(*nerrs)++];
    snprintf(x->field, sizeof x->field, "%s", field);
    x->code = e->code;
    snprintf(x->text, sizeof x->text, "%s", e->text);
}

int
wq_wb_build(const char *type_name, const char *const *keys, const char *const *vals, size_t n,
            const char *county, const char *today, wq_record_t **out,
            wq_wb_fielderr_t errs[WQ_WB_MAX_ERRORS], size_t *nerrs)
{
    wq_rec_type_t type = wq_rec_type_parse(type_name ? type_name : "");
    wq_err_t e;
    *nerrs = 0;
    *out = NULL;
    if (type == WQ_REC_NONE)
        return WQ_E_UNKNOWN;
    wq_record_t *rec = wq_record_new(type);
    if (!rec)
        return WQ_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], "of") == 0 && vals[i][0] &&
            wq_record_set_text(rec, "of", vals[i], &e) != WQ_OK)
            s_push_err(errs, nerrs, "of", &e);
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i], *v = vals[i];
        int r = WQ_OK;
        if (!v[0] || strcmp(k, "of") == 0 || strcmp(k, "type") == 0 || k[0] == '_')
            continue;
        if (strncmp(k, "set.", 4) == 0) {
            if (type != WQ_REC_CORRECTION || !(rec->present & BIT(WQ_F_OF)))
                continue;
            r = wq_record_set_patch_text(rec, k + 4, v, &e);
        } else
            r = wq_record_set_text(rec, k, v, &e);
        if (r == WQ_E_NOMEM)
            goto oom;
        if (r != WQ_OK)
            s_push_err(errs, nerrs, k, &e);
    }
    if (!(rec->present & BIT(WQ_F_DATE)) && wq_record_set_text(rec, "date", today, &e) != WQ_OK)
        s_push_err(errs, nerrs, "date", &e);
    for (int i = WQ_F_DATE; i < WQ_F_COUNT; i++) {
        wq_field_t fl = (wq_field_t) i;
        if (fl == WQ_F_COUNTY || fl == WQ_F_RECORDED || fl == WQ_F_SET ||
            !wq_field_required(type, fl) || (rec->present & BIT(fl)))
            continue;
        wq_err_set(&e, WQ_E_MISSING, wq_field_name(fl), _("%s is required"), wq_field_name(fl));
        s_push_err(errs, nerrs, wq_field_name(fl), &e);
    }
    if (type == WQ_REC_CORRECTION && (rec->present & BIT(WQ_F_OF)) &&
        !rec->set) {
        wq_err_set(&e, WQ_E_MISSING, "set", _("give at least one corrected field"));
        s_push_err(errs, nerrs, "set", &e);
    }
    if (*nerrs == 0 && wq_import_prepare(rec, county, &e) != WQ_OK) {
        if (e.code == WQ_E_NOMEM)
            goto oom;
        s_push_err(errs, nerrs, e.field[0] ? e.field : "type", &e);
    }
    if (*nerrs) {
        wq_record_destroy(&rec);
        return WQ_E_FORMAT;
    }
    *out = rec;
    return WQ_OK;
oom:
    wq_record_destroy(&rec);
    return WQ_E_NOMEM;
}
