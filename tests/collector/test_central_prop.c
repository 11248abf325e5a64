/*  =========================================================================
    test_central_prop - views are a function of the SET of events

    A random campaign (fixed seeds) over five streams in three counties,
    one agent re-initialised: every record type, references across agents
    and to events that arrive later or never, corrections (including of
    dates), retractions (including of corrections and of retractions),
    corrections and retractions from another county (no effect), a few
    invalid records (quarantined). It is delivered to several stores in
    different random interleavings, batch splits, resends (duplicates)
    and gap attempts. Every store must give identical query tables, and
    verify must find 0 differences in each; a counter corrupted by hand
    must make verify report exactly 1.
    =========================================================================
*/
#include "test_central_fixture.h"

#include "common/date.h"
#include "proto/msg.h"
#include "common/store.h"
#include "tests/support/testsupport.h"

#define NSTREAMS 5
#define NEVENTS 600
#define NSTORES 5
#define NCODES 12

static uint64_t s_rng;

static uint32_t
rnd(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t) (s_rng % n);
}

typedef struct {
    int stream;
    uint64_t seq;
    wq_rec_type_t type;
    char id[WQ_EVENT_ID_MAX];
    char ent[19];
    bool valid;
} gev_t;

typedef struct {
    tc_stream_t s[NSTREAMS];
    gev_t ev[NEVENTS];
    size_t n;
    char codes[NCODES][19];
} gen_t;

static void
rdate(char out[11])
{
    wq_date_from_days(wq_date_days("2019-02-01") + (int32_t) rnd(334), out);
}

/*  A random earlier valid event of one of the given types, or NULL. */
static const gev_t *
pick(const gen_t *g, unsigned types)
{
    for (int tries = 0; tries < 50 && g->n; tries++) {
        const gev_t *e = &g->ev[rnd((uint32_t) g->n)];
        if (e->valid && (types & (1u << e->type)))
            return e;
    }
    return NULL;
}

static const char *const s_names[] = {"甲化工", "乙食品", "丙钢铁", "丁制药", "戊纺织"};

/*  tc_addv with the stream county overridden (foreign records are built
    without validation: their county is valid but not the agent's). */
static uint64_t
tc_addv_wrap(tc_stream_t *s, const char *county, wq_rec_type_t type, const char *date, ...)
{
    va_list ap;
    va_start(ap, date);
    uint64_t seq = tc_addv(s, county != NULL, type, date, county, ap);
    va_end(ap);
    return seq;
}

static void
gen_one(gen_t *g)
{
    int si = (int) rnd(NSTREAMS);
    tc_stream_t *s = &g->s[si];
    gev_t *e = &g->ev[g->n];
    char date[11], d2[11], dangling[WQ_EVENT_ID_MAX];
    rdate(date);
    rdate(d2);
    const char *ent = g->codes[rnd(NCODES)];
    const char *county = NULL;
    uint32_t roll = rnd(100);
    if (roll < 2)
        county = "130105";       /* foreign: quarantined */
    uint64_t seq = 0;
    const gev_t *t;
    wq_rec_type_t type = WQ_REC_VISIT;
    uint32_t k = rnd(100);
#define ADD(...) tc_addv_wrap(s, county, __VA_ARGS__)
    if (k < 10) {
        type = WQ_REC_ENTERPRISE;
        /* Focus group and size vary, so that --by group splits something
           and a later profile (or a correction) moves an enterprise. */
        /* (from the event's index, not rnd(): the rest of the campaign
           stays as it was) */
        unsigned h = (unsigned) g->n * 2654435761u;
        seq = ADD(type, date, "ent", ent, "name", s_names[rnd(5)], "industry", "C3110", "focus",
                  wq_enum_name(WQ_F_FOCUS, 1 + (int) ((h >> 7) % (WQ_FOCUS_COUNT - 1))),
                  "above_size", (h >> 11) & 1 ? "true" : "false", NULL);
    } else if (k < 25) {
        type = WQ_REC_VISIT;
        static const char *const crews[] = {"张三", "张三,李四", "王五", "李四,王五,张三"};
        /* few dates and methods, so some visits look like double entries */
        wq_date_from_days(wq_date_days("2019-03-01") + (int32_t) rnd(4), date);
        seq = ADD(type, date, "ent", ent, "cadres", crews[rnd(4)], "method",
                  wq_enum_name(WQ_F_METHOD, 1 + (int) rnd(2)), NULL);
    } else if (k < 37) {
        type = WQ_REC_PROBLEM;
        seq = ADD(type, date, "ent", ent, "category",
                  wq_enum_name(WQ_F_CATEGORY, 1 + (int) rnd(WQ_CAT_COUNT - 1)), "severity", "general",
                  "description", "问题", NULL);
    } else if (k < 47) {
        type = WQ_REC_PLAN;
        t = pick(g, 1u << WQ_REC_PROBLEM);
        if (t && rnd(5)) {          /* mostly from the problem's own workstation */
            si = t->stream;
            s = &g->s[si];
        }
        const char *pid = t ? t->id : NULL;
        if (!t || rnd(20) == 0) {
            wq_event_id_format(g->s[rnd(NSTREAMS)].agent, 0x99, 1 + rnd(5), dangling);
            pid = dangling;     /* never arrives */
        }
        seq = ADD(type, date, "ent", t ? t->ent : ent, "problem", pid, "measures", "措施",
                  "deadline", d2, NULL);
    } else if (k < 59) {
        type = WQ_REC_PROGRESS;
        t = pick(g, 1u << WQ_REC_PROBLEM);
        if (!t)
            return;
        if (rnd(5)) {
            si = t->stream;
            s = &g->s[si];
        }
        seq = ADD(type, date, "ent", t->ent, "problem", t->id, "status",
                  wq_enum_name(WQ_F_STATUS, 1 + (int) rnd(WQ_STATUS_COUNT - 1)), NULL);
    } else if (k < 67) {
        type = WQ_REC_SERVICE;
        seq = ADD(type, date, "ent", ent, "kind",
                  wq_enum_name(WQ_F_KIND, 1 + (int) rnd(WQ_SERVICE_COUNT - 1)), "content", "服务",
                  NULL);
    } else if (k < 75) {
        type = WQ_REC_CONSULTATION;
        seq = ADD(type, date, "ent", ent, "channel",
                  wq_enum_name(WQ_F_CHANNEL, 1 + (int) rnd(WQ_CHANNEL_COUNT - 1)), "question", "问",
                  NULL);
    } else if (k < 82) {
        type = WQ_REC_ANSWER;
        t = pick(g, 1u << WQ_REC_CONSULTATION);
        if (!t)
            return;
        seq = ADD(type, date, "ent", t->ent, "consultation", t->id, "answer", "答", NULL);
    } else if (k < 85) {
        type = WQ_REC_GRADING;
        seq = ADD(type, date, "ent", ent, "industry", "C3110", "grade",
                  wq_enum_name(WQ_F_GRADE, 1 + (int) rnd(WQ_GRADE_COUNT - 1)), NULL);
    } else if (k < 88) {
        type = WQ_REC_CLASSIFICATION;
        seq = ADD(type, date, "ent", ent, "class",
                  wq_enum_name(WQ_F_CLASS, 1 + (int) rnd(WQ_CLASS_COUNT - 1)), "reason", "分类",
                  NULL);
    } else if (k < 95) {
        type = WQ_REC_CORRECTION;
        t = pick(g, 0x13FEu & ~(1u << WQ_REC_CORRECTION) & ~(1u << WQ_REC_RETRACTION));
        if (!t)
            return;
        const char *of = wq_rec_type_name(t->type);
        const char *f = NULL, *v = NULL;
        char nd[11];
        rdate(nd);
        switch (t->type) {
        case WQ_REC_ENTERPRISE:
            f = "name";
            v = s_names[rnd(5)];
            if (g->n % 2) {     /* not rnd(), as above */
                f = "focus";
                v = wq_enum_name(WQ_F_FOCUS, 1 + (int) ((g->n / 2) % (WQ_FOCUS_COUNT - 1)));
            }
            break;
        case WQ_REC_VISIT: f = "method"; v = wq_enum_name(WQ_F_METHOD, 1 + (int) rnd(4)); break;
        case WQ_REC_PROBLEM: f = "category"; v = wq_enum_name(WQ_F_CATEGORY, 1 + (int) rnd(9)); break;
        case WQ_REC_PLAN: f = "deadline"; v = nd; break;
        case WQ_REC_PROGRESS: f = "status"; v = wq_enum_name(WQ_F_STATUS, 1 + (int) rnd(5)); break;
        case WQ_REC_SERVICE: f = "kind"; v = wq_enum_name(WQ_F_KIND, 1 + (int) rnd(5)); break;
        case WQ_REC_CONSULTATION: f = "channel"; v = wq_enum_name(WQ_F_CHANNEL, 1 + (int) rnd(3)); break;
        case WQ_REC_ANSWER: f = "answer"; v = "改答"; break;
        case WQ_REC_CLASSIFICATION: f = "class"; v = wq_enum_name(WQ_F_CLASS, 1 + (int) rnd(5)); break;
        case WQ_REC_GRADING: f = "grade"; v = wq_enum_name(WQ_F_GRADE, 1 + (int) rnd(6)); break;
        default: return;
        }
        char setf[32];
        snprintf(setf, sizeof setf, "set.%s", rnd(3) == 0 ? "date" : f);
        if (!strcmp(setf, "set.date"))
            v = nd;
        seq = ADD(type, date, "target", t->id, "of", of, setf, v, "reason", "更正", NULL);
    } else {
        type = WQ_REC_RETRACTION;
        t = pick(g, 0x1FFEu);
        if (!t)
            return;
        seq = ADD(type, date, "target", t->id, "reason", "撤回", NULL);
    }
#undef ADD
    e->stream = si;
    e->seq = seq;
    e->type = type;
    wq_event_id_format(s->agent, s->inc, seq, e->id);
    memcpy(e->ent, ent, sizeof e->ent);
    if (type == WQ_REC_PLAN || type == WQ_REC_PROGRESS || type == WQ_REC_ANSWER)
        e->ent[0] = '\0';
    e->valid = county == NULL;
    g->n++;
}

static void
gen_campaign(gen_t *g, uint64_t seed)
{
    static const struct {
        const char *agent, *county;
        uint32_t inc;
    } st[NSTREAMS] = {
        {"130102-01", "130102", 0xa1},
        {"130102-02", "130102", 0xb1},
        {"130521-01", "130521", 0xc1},
        {"130181-01", "130181", 0xd1},
        {"130102-01", "130102", 0xa2},   /* 130102-01 re-initialised */
    };
    memset(g, 0, sizeof *g);
    s_rng = seed;
    for (int i = 0; i < NSTREAMS; i++)
        tc_stream_init(&g->s[i], st[i].agent, st[i].county, st[i].inc);
    for (int i = 0; i < NCODES; i++)
        tc_code(100 + i, g->codes[i]);
    while (g->n < NEVENTS)
        gen_one(g);
    /* A record that does not decode, in the middle of stream 1. */
    tc_stream_push_raw(&g->s[1], (const uint8_t *) "\x81\xa4type\xc0", 7);
}

static void
gen_free(gen_t *g)
{
    for (int i = 0; i < NSTREAMS; i++)
        tc_stream_free(&g->s[i]);
}

/*  Deliver every stream: random interleaving, batch sizes 1..25, resends
    from below the mark, occasional gap attempts, a final full resend. */
static void
deliver(wq_central_t *c, const gen_t *g, uint64_t seed)
{
    uint64_t hwm[NSTREAMS] = {0};
    s_rng = seed;
    for (;;) {
        int left = 0;
        for (int i = 0; i < NSTREAMS; i++)
            left += hwm[i] < g->s[i].n;
        if (!left)
            break;
        int i = (int) rnd(NSTREAMS);
        if (hwm[i] >= g->s[i].n)
            continue;
        const tc_stream_t *s = &g->s[i];
        uint64_t from = hwm[i] + 1;
        uint32_t r = rnd(100);
        if (r < 20 && hwm[i] > 0)
            from = hwm[i] - rnd((uint32_t) (hwm[i] < 10 ? hwm[i] : 10));   /* resend */
        else if (r < 25 && hwm[i] + 2 <= s->n)
            from = hwm[i] + 2 + rnd(3);                                     /* gap */
        if (from < 1)
            from = 1;
        if (from > s->n)
            from = s->n;
        uint64_t to = from + rnd(25);
        if (to > s->n)
            to = s->n;
        wq_ingest_result_t res;
        int rc = tc_send(c, s, from, to, &res);
        if (from > hwm[i] + 1) {
            assert_int_equal(rc, WQ_E_GAP);
            assert_int_equal(res.hwm, hwm[i]);
        } else {
            assert_int_equal(rc, WQ_OK);
            assert_int_equal(res.hwm, to > hwm[i] ? to : hwm[i]);
            assert_int_equal(res.duplicates, from <= hwm[i] ? (hwm[i] < to ? hwm[i] : to) - from + 1 : 0);
            hwm[i] = res.hwm;
        }
        wq_ingest_result_clear(&res);
    }
    int i = (int) rnd(NSTREAMS);
    tc_send_all(c, &g->s[i], 1 + rnd(40));
}

/*  Every query table of a store, in a fixed order. */
#define NTABLES 64
static size_t
all_tables(wq_central_t *c, const gen_t *g, wq_table_t *out[NTABLES])
{
    size_t n = 0;
    static const char *const asofs[] = {"asof=2019-03-01", "asof=2019-06-15", "asof=2019-09-30",
                                        "asof=2020-01-01"};
    for (size_t a = 0; a < 4; a++) {
        out[n++] = tc_query(c, "summary", "level=county", asofs[a], NULL);
        out[n++] = tc_query(c, "overdue", asofs[a], NULL);
    }
    out[n++] = tc_query(c, "summary", "level=city", "asof=2019-08-01", NULL);
    out[n++] = tc_query(c, "summary", "level=province", "asof=2019-08-01", NULL);
    out[n++] = tc_query(c, "summary", "level=county", "area=130100", "from=2019-04",
                        "to=2019-07", "asof=2019-08-01", NULL);
    out[n++] = tc_query(c, "summary", "level=province", "from=2019-10", "asof=2019-08-01", NULL);
    out[n++] = tc_query(c, "agents", "now_ms=2000", NULL);
    out[n++] = tc_query(c, "quarantine", NULL);
    /* index 14.. : the figures of issue 14 */
    out[n++] = tc_query(c, "overdue", "asof=2019-09-30", "from=2019-02", "to=2019-08", NULL);
    out[n++] = tc_query(c, "summary", "level=city", "by=group", "asof=2019-05-20", NULL);
    out[n++] = tc_query(c, "cadres", NULL);
    out[n++] = tc_query(c, "cadres", "level=city", "from=2019-03", "to=2019-03", NULL);
    out[n++] = tc_query(c, "waiting", "now_ms=1600000000000", NULL);
    out[n++] = tc_query(c, "doubles", NULL);
    static const char *const more[] = {"asof=2019-04-15", "asof=2019-07-31", "asof=2019-11-30"};
    for (size_t a = 0; a < 3; a++)
        out[n++] = tc_query(c, "summary", "level=county", more[a], NULL);
    /* 23..25: problems and the as-of figures by group (a join at query time) */
    out[n++] = tc_query(c, "summary", "level=county", "by=group", "asof=2019-09-30", NULL);
    out[n++] = tc_query(c, "summary", "level=province", "by=group", "asof=2019-09-30", NULL);
    out[n++] = tc_query(c, "summary", "level=city", "by=group", "from=2019-04", "to=2019-08",
                        "asof=2019-07-31", NULL);
    for (int i = 0; i < NCODES; i++) {
        char p[32];
        snprintf(p, sizeof p, "code=%s", g->codes[i]);
        wq_param_t param = {"code", (char *) g->codes[i]};
        wq_table_t *t = NULL;
        wq_err_t err;
        int rc = wq_central_query(c, "enterprise", &param, 1, &t, &err);
        assert_true(rc == WQ_OK || rc == WQ_E_NOTFOUND);
        out[n++] = t;   /* NULL when not found: compared as such */
    }
    return n;
}

static int64_t
col_sum(const wq_table_t *t, const char *col)
{
    int64_t s = 0;
    for (size_t r = 0; r < wq_table_nrows(t); r++)
        s += tc_int(t, r, col);
    return s;
}

static void
run_property(uint64_t campaign_seed)
{
    gen_t *g = calloc(1, sizeof *g);
    assert_non_null(g);
    gen_campaign(g, campaign_seed);
    char *dirs[NSTORES];
    wq_central_t *c[NSTORES];
    wq_table_t *tables[NSTORES][NTABLES];
    size_t nt = 0;
    wq_err_t err;
    for (int k = 0; k < NSTORES; k++) {
        dirs[k] = ts_tmpdir();
        assert_int_equal(wq_central_open(dirs[k], 256u << 20, &c[k], &err), WQ_OK);
        if (k == 0)
            for (int i = 0; i < NSTREAMS; i++)
                tc_send_all(c[k], &g->s[i], 1000);       /* stream by stream, whole */
        else
            deliver(c[k], g, campaign_seed * 7919 + (uint64_t) k);
        uint64_t d = 99;
        assert_int_equal(wq_central_verify(c[k], stderr, &d, &err), WQ_OK);
        if (d != 0)
            fail_msg("store %d: verify found %llu differences", k, (unsigned long long) d);
        size_t n = all_tables(c[k], g, tables[k]);
        if (k > 0)
            assert_int_equal(n, nt);
        nt = n;
    }
    for (int k = 1; k < NSTORES; k++)
        for (size_t i = 0; i < nt; i++) {
            bool same = (!tables[0][i] && !tables[k][i]) ||
                        (tables[0][i] && tables[k][i] && tc_tables_equal(tables[0][i], tables[k][i]));
            if (!same)
                fail_msg("seed %llu: store %d differs from store 0 in table %zu",
                         (unsigned long long) campaign_seed, k, i);
        }
    /* The campaign is not trivial: it counts things, and some are overdue. */
    wq_table_t *prov = tables[0][9];
    assert_int_equal(wq_table_nrows(prov), 1);
    assert_true(tc_int(prov, 0, "visits") > 10);
    assert_true(tc_int(prov, 0, "problems") > 10);
    assert_true(tc_int(prov, 0, "consultations_answered") > 0);
    assert_true(wq_table_nrows(tables[0][5]) > 0);    /* overdue as of 2019-09-30 */
    assert_true(wq_table_nrows(tables[0][13]) > 0);   /* quarantine */
    /* The new figures are not trivial either, and the county rows add up. */
    assert_true(wq_table_nrows(tables[0][14]) > 0);   /* overdue with a period */
    assert_true(wq_table_nrows(tables[0][16]) > 0);   /* cadres */
    assert_true(wq_table_nrows(tables[0][18]) > 0);   /* pending */
    assert_true(wq_table_nrows(tables[0][19]) > 0);   /* doubles */
    assert_true(tc_int(prov, 0, "rectified_on_time") + tc_int(prov, 0, "rectified_late") > 0);
    assert_true(col_sum(tables[0][21], "rectified_late") + col_sum(tables[0][22], "rectified_late") +
                    col_sum(tables[0][21], "rectified_on_time") > 0);
    static const char *const gcols[] = {"grade_a", "grade_b", "grade_b_minus", "grade_c",
                                        "grade_d", "grade_leading", "rectified_on_time",
                                        "rectified_late", "overdue"};
    int64_t grades = 0;
    for (size_t i = 0; i < sizeof gcols / sizeof gcols[0]; i++) {
        if (i < 6)
            grades += tc_int(prov, 0, gcols[i]);
        assert_int_equal(col_sum(tables[0][8], gcols[i]), tc_int(prov, 0, gcols[i]));
    }
    assert_true(grades > 0);
    /* By group: the same rows and base figures as without, each group's
       figures within the totals, the focus groups (one per enterprise at a
       time) at most the totals, county rows summing to the province, and
       some problems split. rectify_days_median is null exactly where
       nothing is rectified as of the date. */
    {
        const wq_table_t *plain = tables[0][4], *grp = tables[0][23], *gprov = tables[0][24];
        static const char *const base[] = {"problems", "rectified_on_time", "rectified_late",
                                           "overdue"};
        static const char *const groups[] = {"discharger", "strategic_emerging",
                                             "advanced_manufacturing", "tech_sme", "above_size"};
        int64_t split = 0;
        assert_int_equal(wq_table_nrows(plain), wq_table_nrows(grp));
        assert_true(wq_table_ncols(grp) <= WQ_RESULT_MAX_COLS);    /* fits a RESULT */
        for (size_t r = 0; r < wq_table_nrows(grp); r++) {
            bool any = tc_int(plain, r, "rectified_on_time") + tc_int(plain, r, "rectified_late") > 0;
            assert_int_equal(tc_int(plain, r, "rectify_days_median") >= 0, any);
            for (int m = 0; m < 4; m++) {
                int64_t total = tc_int(grp, r, base[m]), focus = 0;
                assert_int_equal(total, tc_int(plain, r, base[m]));
                for (int g2 = 0; g2 < 5; g2++) {
                    char cn[64];
                    snprintf(cn, sizeof cn, "%s_%s", base[m], groups[g2]);
                    int64_t v = tc_int(grp, r, cn);
                    assert_true(v >= 0 && v <= total);
                    if (g2 < 4)
                        focus += v;
                    if (m == 0)
                        split += v;
                    if (r == 0)
                        assert_int_equal(col_sum(grp, cn), tc_int(gprov, 0, cn));
                }
                assert_true(focus <= total);
            }
        }
        assert_true(split > 0);
    }
    /* County rows sum to the province row. */
    assert_int_equal(col_sum(tables[0][0], "visits"), tc_int(prov, 0, "visits"));
    assert_int_equal(col_sum(tables[0][0], "enterprises_registered"),
                     tc_int(prov, 0, "enterprises_registered"));
    assert_int_equal(col_sum(tables[0][8], "plans"), tc_int(prov, 0, "plans"));
    assert_int_equal(col_sum(tables[0][8], "overdue"), tc_int(prov, 0, "overdue"));
    wq_central_stats_t st0, stk;
    assert_int_equal(wq_central_stats(c[0], &st0, &err), WQ_OK);
    for (int k = 1; k < NSTORES; k++) {
        assert_int_equal(wq_central_stats(c[k], &stk, &err), WQ_OK);
        assert_int_equal(stk.events, st0.events);
        assert_int_equal(stk.quarantined, st0.quarantined);
        assert_int_equal(stk.streams, NSTREAMS);
    }

    /* Corrupt one counter of the last store: verify finds exactly 1. */
    int k = NSTORES - 1;
    wq_central_destroy(&c[k]);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    assert_int_equal(wq_store_open(dirs[k], 256u << 20, 16, &env, &err), WQ_OK);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "views", 0, &dbi), 0);
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    MDB_val kv, vv;
    assert_int_equal(mdb_cursor_get(cur, &kv, &vv, MDB_LAST), 0);
    int64_t n;
    memcpy(&n, vv.mv_data, 8);
    n += 5;
    uint8_t key[16];
    memcpy(key, kv.mv_data, 16);
    mdb_cursor_close(cur);
    MDB_val k2 = {16, key}, v2 = {8, &n};
    assert_int_equal(mdb_put(txn, dbi, &k2, &v2, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(wq_central_open(dirs[k], 256u << 20, &c[k], &err), WQ_OK);
    uint64_t d = 0;
    assert_int_equal(wq_central_verify(c[k], NULL, &d, &err), WQ_OK);
    assert_int_equal(d, 1);

    for (int j = 0; j < NSTORES; j++) {
        for (size_t i = 0; i < nt; i++)
            wq_table_destroy(&tables[j][i]);
        wq_central_destroy(&c[j]);
        ts_tmpdir_remove(&dirs[j]);
    }
    gen_free(g);
    free(g);
}

static void
test_property_seed1(void **state)
{
    (void) state;
    run_property(0x9e3779b97f4a7c15ull);
}

static void
test_property_seed2(void **state)
{
    (void) state;
    run_property(0x2545f4914f6cdd1dull);
}

static void
test_property_seed3(void **state)
{
    (void) state;
    run_property(12345);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_property_seed1),
        cmocka_unit_test(test_property_seed2),
        cmocka_unit_test(test_property_seed3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
