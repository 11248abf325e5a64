/*  =========================================================================
    central_ingest - how fast the central store ingests and answers

    Generates N events (enterprises, visits, problems with plans and
    progress, services, consultations with answers, classifications) for
    agents in 20 Hebei counties, ingests them into a fresh store in a temp
    directory with each batch size given (every batch a durable commit),
    and prints events/s; then times each query on the last store. Prints
    figures only, asserts nothing.

    Usage: central_ingest [N] [batch,batch,...] [inorder]
             (default 20000 1,100,1000; "inorder": each stream records its
             events in date order, as cadres do, instead of random dates)
           central_ingest --history H,H,... [M]
             for each H: M enterprises (default 1000) with H visits each
             already stored, then one more visit per enterprise in batches
             of 100 (in date order): prints events/s of that last ingest,
             so that the cost per event can be compared across histories.
    =========================================================================
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
/*  Under callgrind, --history dumps the counts of its measured ingest alone
    (no-ops otherwise). */
#include <valgrind/callgrind.h>
#define S_CG_ZERO() CALLGRIND_ZERO_STATS
#define S_CG_DUMP(what) CALLGRIND_DUMP_STATS_AT(what)
#endif
#endif
#ifndef S_CG_ZERO
#define S_CG_ZERO() ((void) 0)
#define S_CG_DUMP(what) ((void) 0)
#endif

#include "collector/central.h"
#include "common/creditcode.h"
#include "common/date.h"
#include "common/record.h"

static const char *const s_counties[20] = {
    "130102", "130104", "130105", "130107", "130108", "130109", "130110", "130111", "130121",
    "130123", "130202", "130203", "130204", "130205", "130207", "130208", "130209", "130224",
    "130225", "130227"};

typedef struct {
    char agent[33];
    const char *county;
    uint32_t inc;
    wq_blob_t *recs;
    size_t n, cap;
} s_stream_t;

static uint64_t s_rng = 88172645463325252ull;
static uint32_t
s_rnd(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t) (s_rng % n);
}

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static bool s_inorder;

static void
s_set(wq_record_t *r, const char *f, const char *v)
{
    wq_err_t err;
    if (wq_record_set_text(r, f, v, &err) != WQ_OK) {
        fprintf(stderr, "central_ingest: %s=%s: %s\n", f, v, err.text);
        exit(1);
    }
}

static void
s_push(s_stream_t *s, wq_record_t *r)
{
    uint8_t *buf;
    size_t size;
    wq_err_t err;
    if (wq_record_validate(r, &err) != WQ_OK || wq_record_encode(r, &buf, &size) != WQ_OK) {
        fprintf(stderr, "central_ingest: bad generated record: %s: %s\n", err.field, err.text);
        exit(1);
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->recs = realloc(s->recs, s->cap * sizeof *s->recs);
        if (!s->recs)
            exit(1);
    }
    s->recs[s->n].data = buf;
    s->recs[s->n].size = size;
    s->n++;
}

/*  One event for stream s; problem/consultation ids of this stream are
    remembered for follow-ups. */
static void
s_gen(s_stream_t *s, int si, char (*pids)[WQ_EVENT_ID_MAX], size_t *npids,
      char (*cids)[WQ_EVENT_ID_MAX], size_t *ncids, size_t nents)
{
    static const wq_rec_type_t mix[] = {
        WQ_REC_ENTERPRISE, WQ_REC_VISIT, WQ_REC_VISIT, WQ_REC_VISIT, WQ_REC_PROBLEM, WQ_REC_PROBLEM,
        WQ_REC_PLAN, WQ_REC_PLAN, WQ_REC_PROGRESS, WQ_REC_PROGRESS, WQ_REC_SERVICE,
        WQ_REC_CONSULTATION, WQ_REC_ANSWER, WQ_REC_CLASSIFICATION};
    wq_rec_type_t type = mix[s_rnd(sizeof mix / sizeof mix[0])];
    if ((type == WQ_REC_PLAN || type == WQ_REC_PROGRESS) && *npids == 0)
        type = WQ_REC_PROBLEM;
    if (type == WQ_REC_ANSWER && *ncids == 0)
        type = WQ_REC_CONSULTATION;
    wq_record_t *r = wq_record_new(type);
    uint64_t seq = s->n + 1;
    char date[11], dl[11], first[18], code[19], id[WQ_EVENT_ID_MAX];
    /* In order: the date advances with the stream's seq (about 330 days
       over the stream's share of the events). */
    int32_t off = s_inorder ? (int32_t) ((seq * 330) / (nents * 5 + 1)) : (int32_t) s_rnd(330);
    wq_date_from_days(wq_date_days("2019-02-01") + (off > 329 ? 329 : off), date);
    wq_date_from_days(wq_date_days(date) + 30 + (int32_t) s_rnd(90), dl);
    snprintf(first, sizeof first, "91130100MA%02u%05u", (unsigned) si % 100u, (unsigned) s_rnd((uint32_t) nents) % 100000u);
    memcpy(code, first, 17);
    code[17] = wq_creditcode_checkchar(first);
    code[18] = '\0';
    wq_record_set_identity(r, s->agent, s->inc, seq, 1546300800000ull + seq);
    s_set(r, "date", date);
    s_set(r, "county", s->county);
    s_set(r, "ent", code);
    wq_event_id_format(s->agent, s->inc, seq, id);
    switch (type) {
    case WQ_REC_ENTERPRISE: s_set(r, "name", "某某化工有限公司"); s_set(r, "industry", "C2614"); break;
    case WQ_REC_VISIT:
        s_set(r, "cadres", "张三,李四");
        s_set(r, "method", wq_enum_name(WQ_F_METHOD, 1 + (int) s_rnd(4)));
        s_set(r, "findings", "现场检查发现废气收集不完善，台账不全。");
        break;
    case WQ_REC_PROBLEM:
        s_set(r, "category", wq_enum_name(WQ_F_CATEGORY, 1 + (int) s_rnd(9)));
        s_set(r, "severity", "general");
        s_set(r, "description", "无组织排放");
        snprintf(pids[(*npids)++ % 4096], WQ_EVENT_ID_MAX, "%s", id);
        break;
    case WQ_REC_PLAN:
        s_set(r, "problem", pids[s_rnd((uint32_t) (*npids < 4096 ? *npids : 4096))]);
        s_set(r, "measures", "加装收集装置");
        s_set(r, "deadline", dl);
        break;
    case WQ_REC_PROGRESS:
        s_set(r, "problem", pids[s_rnd((uint32_t) (*npids < 4096 ? *npids : 4096))]);
        s_set(r, "status", wq_enum_name(WQ_F_STATUS, 1 + (int) s_rnd(5)));
        break;
    case WQ_REC_SERVICE:
        s_set(r, "kind", wq_enum_name(WQ_F_KIND, 1 + (int) s_rnd(5)));
        s_set(r, "content", "送政策上门");
        break;
    case WQ_REC_CONSULTATION:
        s_set(r, "channel", "platform");
        s_set(r, "question", "如何申领排污许可证？");
        snprintf(cids[(*ncids)++ % 4096], WQ_EVENT_ID_MAX, "%s", id);
        break;
    case WQ_REC_ANSWER:
        s_set(r, "consultation", cids[s_rnd((uint32_t) (*ncids < 4096 ? *ncids : 4096))]);
        s_set(r, "answer", "登录全国排污许可证管理信息平台申报。");
        break;
    default:
        s_set(r, "class", wq_enum_name(WQ_F_CLASS, 1 + (int) s_rnd(5)));
        s_set(r, "reason", "按评估结果");
        break;
    }
    s_push(s, r);
    wq_record_destroy(&r);
}

/*  Bytes this process has handed to write calls so far (/proc/self/io
    wchar: LMDB writes its dirty pages with pwrite), 0 if unknown. */
static uint64_t
s_wchar(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    uint64_t v = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "wchar: %" SCNu64, &v) == 1)
            break;
    fclose(f);
    return v;
}

static void
s_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "central_ingest: could not remove %s\n", dir);
}

static void
s_time_query(wq_central_t *c, const char *label, const char *name, wq_param_t *p, size_t np)
{
    const int reps = 20;
    double t0 = s_now();
    size_t rows = 0;
    for (int i = 0; i < reps; i++) {
        wq_table_t *t = NULL;
        wq_err_t err;
        int rc = wq_central_query(c, name, p, np, &t, &err);
        if (rc != WQ_OK) {
            printf("query %-28s error %s: %s\n", label, wq_errname(rc), err.text);
            return;
        }
        rows = wq_table_nrows(t);
        wq_table_destroy(&t);
    }
    printf("query %-28s %8.3f ms  (%zu rows)\n", label, (s_now() - t0) * 1000 / reps, rows);
}

/*  One visit of enterprise e (an index) on day d after 2019-02-01. */
static void
s_visit(s_stream_t *s, size_t e, int32_t d)
{
    wq_record_t *r = wq_record_new(WQ_REC_VISIT);
    char date[11], code[19], first[18];
    wq_date_from_days(wq_date_days("2019-02-01") + d, date);
    snprintf(first, sizeof first, "91130100MH%07zu", e);
    memcpy(code, first, 17);
    code[17] = wq_creditcode_checkchar(first);
    code[18] = '\0';
    wq_record_set_identity(r, s->agent, s->inc, s->n + 1, 1546300800000ull + s->n);
    s_set(r, "date", date);
    s_set(r, "county", s->county);
    s_set(r, "ent", code);
    s_set(r, "cadres", "张三,李四");
    s_set(r, "method", wq_enum_name(WQ_F_METHOD, 1 + (int) (e % 4)));
    s_set(r, "findings", "现场检查发现废气收集不完善，台账不全。");
    s_push(s, r);
    wq_record_destroy(&r);
}

static int
s_history(const char *list_arg, size_t m)
{
    char list[256];
    snprintf(list, sizeof list, "%s", list_arg);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        size_t h = (size_t) strtoull(tok, NULL, 10);
        if (h == 0 || h > 300)
            continue;
        s_stream_t s;
        memset(&s, 0, sizeof s);
        snprintf(s.agent, sizeof s.agent, "130102-hist");
        s.county = "130102";
        s.inc = 1;
        for (size_t e = 0; e < m; e++)
            for (size_t i = 0; i < h; i++)
                s_visit(&s, e, (int32_t) i);
        size_t pre = s.n;
        for (size_t e = 0; e < m; e++)
            s_visit(&s, e, (int32_t) h);
        char dir[] = "/tmp/wanqi-bench-XXXXXX";
        if (!mkdtemp(dir))
            return 1;
        wq_central_t *c = NULL;
        wq_err_t err;
        if (wq_central_open(dir, (size_t) 16 << 30, &c, &err) != WQ_OK) {
            fprintf(stderr, "open: %s\n", err.text);
            return 1;
        }
        double t0 = 0;
        uint64_t w0 = 0;
        for (size_t off = 0; off < s.n;) {
            size_t bs = off < pre ? 1000 : 100;
            size_t k = s.n - off < bs ? s.n - off : bs;
            if (off < pre && k > pre - off)
                k = pre - off;
            if (off == pre) {
                t0 = s_now();
                w0 = s_wchar();
                S_CG_ZERO();
            }
            wq_ingest_result_t res;
            if (wq_central_ingest(c, s.agent, s.county, s.inc, off + 1, s.recs + off, k, 0, &res,
                                  &err) != WQ_OK) {
                fprintf(stderr, "ingest: %s\n", err.text);
                return 1;
            }
            wq_ingest_result_clear(&res);
            off += k;
        }
        double dt = s_now() - t0;
        S_CG_DUMP("history tail");
        double wpe = (double) (s_wchar() - w0) / (double) m;
        uint64_t diffs = 0, finc = 0, fnew = 0, ffull = 0;
        wq_central_fold_counts(c, &finc, &fnew, &ffull);
        wq_central_verify(c, NULL, &diffs, &err);
        printf("history %3zu events: %zu more events (1 per entity, batch 100) in %.3f s = "
               "%9.0f events/s, %.1f us/event, %.0f bytes written/event (verify: %" PRIu64 " differences; folds %" PRIu64
               " incremental, %" PRIu64 " new, %" PRIu64 " full)\n",
               h, m, dt, (double) m / dt, dt * 1e6 / (double) m, wpe, diffs, finc, fnew, ffull);
        wq_central_destroy(&c);
        s_rmtree(dir);
        for (size_t j = 0; j < s.n; j++)
            free((void *) s.recs[j].data);
        free(s.recs);
    }
    return 0;
}

static const char s_usage[] =
    "usage: central_ingest [N] [BATCH,BATCH,...] [inorder]\n"
    "         N events (default 20000) of 20 Hebei counties ingested in-process into a fresh\n"
    "         store for each batch size (default 1,100,1000; each batch a durable commit):\n"
    "         events/s, bytes written per event, entity folds by path; then verify and the\n"
    "         queries' times on the last store. \"inorder\": each stream's events in date order.\n"
    "       central_ingest --history H,H,... [M]\n"
    "         for each H: M enterprises (default 1000) with H visits stored, then one more\n"
    "         visit each in batches of 100: the cost per event against history.\n"
    "       Instructions per event: valgrind --tool=callgrind --toggle-collect=wq_central_ingest\n"
    "         central_ingest 5000 100 inorder  (Ir / 5000; docs/PERFORMANCE.md)\n"
    "Prints figures, asserts nothing.\n";

int
main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(s_usage, stdout);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "--history") == 0)
        return s_history(argv[2], argc > 3 ? (size_t) strtoull(argv[3], NULL, 10) : 1000);
    s_inorder = argc > 3 && strcmp(argv[3], "inorder") == 0;
    size_t n = argc > 1 ? (size_t) strtoull(argv[1], NULL, 10) : 20000;
    const char *batches = argc > 2 ? argv[2] : "1,100,1000";
    s_stream_t streams[20];
    static char pids[20][4096][WQ_EVENT_ID_MAX], cids[20][4096][WQ_EVENT_ID_MAX];
    size_t npids[20] = {0}, ncids[20] = {0};
    memset(streams, 0, sizeof streams);
    for (int i = 0; i < 20; i++) {
        snprintf(streams[i].agent, sizeof streams[i].agent, "%s-01", s_counties[i]);
        streams[i].county = s_counties[i];
        streams[i].inc = 0x1000u + (uint32_t) i;
    }
    double g0 = s_now();
    for (size_t i = 0; i < n; i++) {
        int si = (int) s_rnd(20);
        s_gen(&streams[si], si, pids[si], &npids[si], cids[si], &ncids[si], n / 20 / 5 + 1);
    }
    printf("generated %zu events in %.2f s\n", n, s_now() - g0);

    wq_central_t *last = NULL;
    char lastdir[256] = "";
    char list[256];
    snprintf(list, sizeof list, "%s", batches);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        size_t bs = (size_t) strtoull(tok, NULL, 10);
        if (bs == 0 || bs > 1000)
            continue;
        char dir[] = "/tmp/wanqi-bench-XXXXXX";
        if (!mkdtemp(dir))
            return 1;
        wq_central_t *c = NULL;
        wq_err_t err;
        if (wq_central_open(dir, (size_t) 16 << 30, &c, &err) != WQ_OK) {
            fprintf(stderr, "open: %s\n", err.text);
            return 1;
        }
        /* Batch size 1 commits (fsyncs) per event: cap its sample. */
        size_t limit = bs == 1 && n > 2000 ? 2000 : n;
        size_t done = 0, sent[20] = {0};
        uint64_t w0 = s_wchar();
        double t0 = s_now();
        while (done < limit) {
            int si = (int) s_rnd(20);
            s_stream_t *s = &streams[si];
            if (sent[si] >= s->n)
                continue;
            size_t k = s->n - sent[si] < bs ? s->n - sent[si] : bs;
            if (k > limit - done)
                k = limit - done;
            wq_ingest_result_t res;
            int rc = wq_central_ingest(c, s->agent, s->county, s->inc, sent[si] + 1,
                                       s->recs + sent[si], k, 0, &res, &err);
            if (rc != WQ_OK) {
                fprintf(stderr, "ingest: %s\n", err.text);
                return 1;
            }
            wq_ingest_result_clear(&res);
            sent[si] += k;
            done += k;
        }
        double dt = s_now() - t0;
        uint64_t finc = 0, fnew = 0, ffull = 0;
        wq_central_fold_counts(c, &finc, &fnew, &ffull);
        printf("ingest batch %4zu: %7zu events in %7.2f s = %9.0f events/s, %.0f bytes written "
               "per event (entity folds: %" PRIu64 " incremental, %" PRIu64 " new, %" PRIu64
               " full)\n", bs, done, dt, (double) done / dt,
               (double) (s_wchar() - w0) / (double) done, finc, fnew, ffull);
        if (last) {
            wq_central_destroy(&last);
            s_rmtree(lastdir);
        }
        last = c;
        snprintf(lastdir, sizeof lastdir, "%s", dir);
    }
    if (last) {
        double v0 = s_now();
        uint64_t diffs = 0;
        wq_err_t err;
        wq_central_verify(last, NULL, &diffs, &err);
        printf("verify: %" PRIu64 " differences in %.2f s\n", diffs, s_now() - v0);
        wq_param_t county[] = {{"level", "county"}, {"asof", "2019-09-30"}};
        wq_param_t prov[] = {{"asof", "2019-09-30"}};
        wq_param_t period[] = {{"level", "city"}, {"from", "2019-04"}, {"to", "2019-06"}};
        wq_param_t od[] = {{"asof", "2019-09-30"}, {"area", "130100"}};
        char code[19], first[18];
        snprintf(first, sizeof first, "91130100MA%02d%05u", 0, 1u);
        memcpy(code, first, 17);
        code[17] = wq_creditcode_checkchar(first);
        code[18] = '\0';
        wq_param_t ent[] = {{"code", code}};
        s_time_query(last, "summary province", "summary", prov, 1);
        s_time_query(last, "summary county (all)", "summary", county, 2);
        s_time_query(last, "summary city Apr-Jun", "summary", period, 3);
        s_time_query(last, "overdue 130100", "overdue", od, 2);
        s_time_query(last, "enterprise", "enterprise", ent, 1);
        s_time_query(last, "agents", "agents", NULL, 0);
        /* issue 14: as-of figures from the timelines, and the marks queries */
        wq_param_t prov2[] = {{"asof", "2019-06-15"}, {"by", "group"}};
        wq_param_t cad[] = {{"level", "city"}};
        wq_param_t nowp[] = {{"now_ms", "1600000000000"}};   /* the "waiting" query */
        s_time_query(last, "summary province 06-15 group", "summary", prov2, 2);
        s_time_query(last, "overdue province", "overdue", prov, 1);
        s_time_query(last, "cadres city", "cadres", cad, 1);
        s_time_query(last, "waiting", "waiting", nowp, 1);
        s_time_query(last, "doubles", "doubles", NULL, 0);
        wq_central_destroy(&last);
        s_rmtree(lastdir);
    }
    for (int i = 0; i < 20; i++) {
        for (size_t j = 0; j < streams[i].n; j++)
            free((void *) streams[i].recs[j].data);
        free(streams[i].recs);
    }
    return 0;
}
