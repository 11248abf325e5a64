/*  =========================================================================
    test_central_asof - on time or late, overdue as of a date with the
    deadline in force that day, and the queries built on marks

    A hand-made history (deadline extended before and after it was passed,
    rectified late, reopened, rectified again; another problem rectified on
    time) is checked as of six dates against figures computed by hand, in
    the summary and in the overdue list (with its deadline history), for
    two delivery orders; verify finds 0 differences. Then the cadres,
    pending and doubles queries, the grading record and its rollup, and
    the version rule: a record type this collector does not know is
    quarantined, never dropped, and the batch is acknowledged.
    =========================================================================
*/
#include "test_central_fixture.h"

#include "tests/support/testsupport.h"
#include "collector/cstore.h"
#include "collector/views.h"
#include "common/date.h"

static wq_central_t *
s_open(char **dir)
{
    wq_central_t *c = NULL;
    wq_err_t err;
    *dir = ts_tmpdir();
    assert_int_equal(wq_central_open(*dir, 64u << 20, &c, &err), WQ_OK);
    return c;
}

static uint64_t
s_verify(wq_central_t *c)
{
    uint64_t d = 99;
    wq_err_t err;
    assert_int_equal(wq_central_verify(c, stderr, &d, &err), WQ_OK);
    return d;
}

/*  Problems in stream a (seq 1 P, 2 Q, 3 R), their plans and progress in
    stream b (another workstation), so that they can arrive first.
    P: opened 03-01, deadline 03-31 then (plan of 03-25) 04-30; rectified
       05-10 (late), reopened 05-20, rectified 06-05 (late).
    Q: opened 03-05, deadline 04-15; rectified 04-10 (on time), verified 04-20.
    R: opened 03-01, deadline 03-20, extended on 04-01 (already overdue) to
       05-31; never rectified. */
static void
s_history(tc_stream_t *a, tc_stream_t *b, const char *code)
{
    tc_stream_init(a, "130102-01", "130102", 0x21);
    tc_stream_init(b, "130102-02", "130102", 0x22);
#define PROB(d, cat) tc_add(a, WQ_REC_PROBLEM, d, "ent", code, "category", cat, "severity", \
                            "general", "description", "问题", NULL)
#define PLAN(d, p, dl) tc_add(b, WQ_REC_PLAN, d, "ent", code, "problem", tc_id(a, p), "measures", \
                              "措施", "deadline", dl, NULL)
#define PROG(d, p, st) tc_add(b, WQ_REC_PROGRESS, d, "ent", code, "problem", tc_id(a, p), \
                              "status", st, NULL)
    PROB("2019-03-01", "air");                  /* 1 P */
    PROB("2019-03-05", "water");                /* 2 Q */
    PROB("2019-03-01", "noise");                /* 3 R */
    PROG("2019-06-05", 1, "rectified");         /* b: newest first */
    PROG("2019-05-20", 1, "reopened");
    PROG("2019-05-10", 1, "rectified");
    PLAN("2019-03-25", 1, "2019-04-30");
    PLAN("2019-03-02", 1, "2019-03-31");
    PROG("2019-04-20", 2, "verified");
    PROG("2019-04-10", 2, "rectified");
    PLAN("2019-03-06", 2, "2019-04-15");
    PLAN("2019-04-01", 3, "2019-05-31");
    PLAN("2019-03-02", 3, "2019-03-20");
#undef PROB
#undef PLAN
#undef PROG
}

typedef struct {
    const char *asof;
    int64_t overdue, on_time, late;
    int64_t median;     /* rectify_days_median as of asof, -1 for none */
    /* overdue rows: problem seq, days, deadline, first deadline, extensions */
    struct {
        uint64_t seq;
        int64_t days;
        const char *deadline, *first;
        int64_t ext;
    } rows[2];
} s_case_t;

/*  Medians: Q is rectified from 04-10 (36 days), P from 05-10 (70 days) to
    05-20 and from 06-05 (96 days): the lower median of what is rectified
    that day is Q's 36 from 04-10 on, none before. */
static const s_case_t s_cases[] = {
    {"2019-03-25", 1, 0, 0, -1, {{3, 5, "2019-03-20", "2019-03-20", 0}}},
    {"2019-04-12", 0, 1, 0, 36, {{0}}},
    {"2019-05-05", 1, 1, 0, 36, {{1, 5, "2019-04-30", "2019-03-31", 1}}},
    {"2019-05-15", 0, 1, 1, 36, {{0}}},
    {"2019-06-03", 2, 1, 0, 36,
     {{1, 34, "2019-04-30", "2019-03-31", 1}, {3, 3, "2019-05-31", "2019-03-20", 1}}},
    {"2019-06-10", 1, 1, 1, 36, {{3, 10, "2019-05-31", "2019-03-20", 1}}},
};

static void
s_check_history(wq_central_t *c, const tc_stream_t *s)
{
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        const s_case_t *k = &s_cases[i];
        char asof[32];
        snprintf(asof, sizeof asof, "asof=%s", k->asof);
        wq_table_t *t = tc_query(c, "summary", "level=county", "area=130102", asof, NULL);
        if (tc_int(t, 0, "overdue") != k->overdue || tc_int(t, 0, "rectified_on_time") != k->on_time ||
            tc_int(t, 0, "rectified_late") != k->late)
            fail_msg("asof %s: overdue %lld on time %lld late %lld, want %lld %lld %lld", k->asof,
                     (long long) tc_int(t, 0, "overdue"), (long long) tc_int(t, 0, "rectified_on_time"),
                     (long long) tc_int(t, 0, "rectified_late"), (long long) k->overdue,
                     (long long) k->on_time, (long long) k->late);
        assert_int_equal(tc_int(t, 0, "rectify_days_median"), k->median);
        wq_table_destroy(&t);
        /* The province row and a period filter agree. */
        t = tc_query(c, "summary", asof, "from=2019-03", "to=2019-03", NULL);
        assert_int_equal(tc_int(t, 0, "overdue"), k->overdue);
        wq_table_destroy(&t);
        t = tc_query(c, "summary", asof, "from=2019-04", NULL);
        assert_int_equal(tc_int(t, 0, "overdue"), 0);
        assert_int_equal(tc_int(t, 0, "rectified_on_time"), 0);
        wq_table_destroy(&t);
        t = tc_query(c, "overdue", asof, "from=2019-04", NULL);
        assert_int_equal(wq_table_nrows(t), 0);
        wq_table_destroy(&t);
        /* The list: the same problems, with their deadline history. */
        t = tc_query(c, "overdue", asof, "area=130102", "from=2019-03", "to=2019-03", NULL);
        assert_int_equal((int64_t) wq_table_nrows(t), k->overdue);
        for (size_t r = 0; r < wq_table_nrows(t); r++) {
            size_t row = tc_row(t, "problem", tc_id(s, k->rows[r].seq));
            assert_int_equal(tc_int(t, row, "days_overdue"), k->rows[r].days);
            assert_string_equal(tc_str(t, row, "deadline"), k->rows[r].deadline);
            assert_string_equal(tc_str(t, row, "first_deadline"), k->rows[r].first);
            assert_int_equal(tc_int(t, row, "extensions"), k->rows[r].ext);
        }
        wq_table_destroy(&t);
    }
}

static void
test_history_five_dates(void **state)
{
    (void) state;
    char code[19], *d1, *d2;
    tc_code(31, code);
    tc_stream_t sa, sb;
    s_history(&sa, &sb, code);
    wq_central_t *a = s_open(&d1), *b = s_open(&d2);
    tc_send_all(a, &sa, 100);       /* problems first, then their history */
    tc_send_all(a, &sb, 100);
    tc_send_all(b, &sb, 1);         /* history first, one event per batch */
    assert_int_equal(s_verify(b), 0);
    tc_send_all(b, &sa, 1);
    tc_send_all(b, &sb, 4);         /* and a resend: duplicates change nothing */
    assert_int_equal(s_verify(a), 0);
    assert_int_equal(s_verify(b), 0);
    s_check_history(a, &sa);
    s_check_history(b, &sa);
    wq_central_destroy(&a);
    wq_central_destroy(&b);
    ts_tmpdir_remove(&d1);
    ts_tmpdir_remove(&d2);
    tc_stream_free(&sa);
    tc_stream_free(&sb);
}

/*  Cadres, pending references, possible double entries, grades. */
static void
test_marks_queries(void **state)
{
    (void) state;
    char code[19], code2[19], *dir;
    tc_code(41, code);
    tc_code(42, code2);
    wq_central_t *c = s_open(&dir);
    tc_stream_t x, y;
    tc_stream_init(&x, "130102-01", "130102", 0x31);
    tc_stream_init(&y, "130102-02", "130102", 0x32);
    tc_add(&x, WQ_REC_ENTERPRISE, "2019-03-01", "ent", code, "name", "甲钢铁", "industry", "C3110",
           "focus", "strategic_emerging", "above_size", "true", NULL);
    tc_add(&x, WQ_REC_VISIT, "2019-03-02", "ent", code, "cadres", "张三,李四", "method",
           "field_visit", NULL);
    tc_add(&y, WQ_REC_VISIT, "2019-03-02", "ent", code, "cadres", "张三", "method", "field_visit",
           NULL);                                                    /* double of x/2 */
    tc_add(&y, WQ_REC_VISIT, "2019-04-02", "ent", code, "cadres", "张三", "method", "symposium",
           NULL);
    tc_add(&x, WQ_REC_GRADING, "2019-03-10", "ent", code, "industry", "C3110", "grade", "B", NULL);
    tc_add(&y, WQ_REC_GRADING, "2019-06-10", "ent", code, "industry", "C3110", "grade", "A",
           "reason", "超低排放改造完成", NULL);
    tc_add(&x, WQ_REC_GRADING, "2019-05-10", "ent", code2, "industry", "C3011", "grade", "B-", NULL);
    /* Waiting: a plan for a problem that never arrives, a correction of an
       event that never arrives. */
    char ghost[WQ_EVENT_ID_MAX];
    wq_event_id_format("130102-09", 0x99, 5, ghost);
    tc_add(&x, WQ_REC_PLAN, "2019-03-03", "ent", code, "problem", ghost, "measures", "m",
           "deadline", "2019-04-01", NULL);                          /* x/5 */
    wq_event_id_format("130102-09", 0x99, 6, ghost);
    tc_add(&x, WQ_REC_CORRECTION, "2019-03-04", "target", ghost, "of", "visit", "set.method",
           "symposium", "reason", "r", NULL);                        /* x/6 */
    tc_send_all(c, &y, 2);
    tc_send_all(c, &x, 3);
    assert_int_equal(s_verify(c), 0);

    wq_table_t *t = tc_query(c, "cadres", "area=130102", NULL);
    assert_int_equal(wq_table_nrows(t), 3);   /* 张三 03, 李四 03, 张三 04 */
    size_t r = 0;
    assert_string_equal(tc_str(t, r, "month"), "2019-03");
    for (r = 0; r < 3; r++) {
        const char *name = tc_str(t, r, "cadre"), *month = tc_str(t, r, "month");
        int64_t want = !strcmp(name, "张三") && !strcmp(month, "2019-03") ? 2 : 1;
        assert_int_equal(tc_int(t, r, "visits"), want);
        assert_string_equal(tc_str(t, r, "area"), "130102");
    }
    wq_table_destroy(&t);
    t = tc_query(c, "cadres", "level=province", "from=2019-04", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "area"), "130000");
    wq_table_destroy(&t);

    t = tc_query(c, "doubles", "area=1301", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "ent"), code);
    assert_string_equal(tc_str(t, 0, "date"), "2019-03-02");
    assert_string_equal(tc_str(t, 0, "method"), "field_visit");
    assert_int_equal(tc_int(t, 0, "visits"), 2);
    assert_string_equal(tc_str(t, 0, "agents"), "130102-01,130102-02");
    wq_table_destroy(&t);

    t = tc_query(c, "waiting", "now_ms=1646300800000", NULL);
    assert_int_equal(wq_table_nrows(t), 2);
    size_t pr = tc_row(t, "type", "plan"), cr = tc_row(t, "type", "correction");
    assert_string_equal(tc_str(t, pr, "id"), tc_id(&x, 5));
    assert_string_equal(tc_str(t, cr, "waits_for"), ghost);
    assert_true(tc_int(t, pr, "age_days") > 1000);
    wq_table_destroy(&t);

    /* Current grade: code A (regraded), code2 B-, in the month of the grade. */
    t = tc_query(c, "summary", NULL);
    assert_int_equal(tc_int(t, 0, "grade_a"), 1);
    assert_int_equal(tc_int(t, 0, "grade_b"), 0);
    assert_int_equal(tc_int(t, 0, "grade_b_minus"), 1);
    wq_table_destroy(&t);
    t = tc_query(c, "summary", "to=2019-05", NULL);
    assert_int_equal(tc_int(t, 0, "grade_a"), 0);
    wq_table_destroy(&t);
    t = tc_query(c, "summary", "by=group", NULL);
    assert_int_equal(tc_int(t, 0, "enterprises_registered_strategic_emerging"), 1);
    assert_int_equal(tc_int(t, 0, "enterprises_visited_strategic_emerging"), 1);
    assert_int_equal(tc_int(t, 0, "enterprises_registered_above_size"), 1);
    assert_int_equal(tc_int(t, 0, "enterprises_registered_tech_sme"), 0);
    wq_table_destroy(&t);
    /* The case file shows the gradings with their grade. */
    wq_param_t p = {"code", code};
    wq_err_t err;
    assert_int_equal(wq_central_query(c, "enterprise", &p, 1, &t, &err), WQ_OK);
    size_t g = tc_row(t, "type", "grading");
    assert_string_equal(tc_str(t, g, "status"), "B");
    wq_table_destroy(&t);

    /* The problem arrives: the plan stops waiting. */
    tc_stream_t z;
    tc_stream_init(&z, "130102-09", "130102", 0x99);
    for (int i = 0; i < 4; i++)
        tc_add(&z, WQ_REC_SERVICE, "2019-03-01", "ent", code, "kind", "law", "content", "c", NULL);
    tc_add(&z, WQ_REC_PROBLEM, "2019-03-01", "ent", code, "category", "air", "severity", "minor",
           "description", "d", NULL);
    tc_send_all(c, &z, 10);
    t = tc_query(c, "waiting", "now_ms=1646300800000", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "type"), "correction");
    wq_table_destroy(&t);
    assert_int_equal(s_verify(c), 0);

    wq_central_destroy(&c);
    ts_tmpdir_remove(&dir);
    tc_stream_free(&x);
    tc_stream_free(&y);
    tc_stream_free(&z);
}

/*  The version rule (proto/PROTOCOL.md): a record of a type the collector
    does not know (what a pre-grading collector sees of a grading, or this
    one of a future type) is quarantined with its reason and acknowledged;
    the stream goes on. */
static void
test_unknown_type_quarantined(void **state)
{
    (void) state;
    char *dir, code[19];
    tc_code(51, code);
    wq_central_t *c = s_open(&dir);
    tc_stream_t s;
    tc_stream_init(&s, "130102-01", "130102", 0x41);
    tc_add(&s, WQ_REC_VISIT, "2019-03-02", "ent", code, "cadres", "张三", "method", "field_visit",
           NULL);
    /* A record of type "rating" (unknown here), otherwise well formed. */
    static const uint8_t raw[] = {0x87, 0xa4, 't', 'y', 'p', 'e', 0xa6, 'r', 'a', 't', 'i', 'n', 'g',
                                  0xa5, 'a', 'g', 'e', 'n', 't', 0xa9, '1', '3', '0', '1', '0', '2',
                                  '-', '0', '1', 0xa3, 'i', 'n', 'c', 0x41, 0xa3, 's', 'e', 'q', 0x02,
                                  0xa4, 'd', 'a', 't', 'e', 0xaa, '2', '0', '1', '9', '-', '0', '3',
                                  '-', '0', '3', 0xa8, 'r', 'e', 'c', 'o', 'r', 'd', 'e', 'd', 0x01,
                                  0xa6, 'c', 'o', 'u', 'n', 't', 'y', 0xa6, '1', '3', '0', '1', '0',
                                  '2'};
    tc_stream_push_raw(&s, raw, sizeof raw);
    tc_add(&s, WQ_REC_VISIT, "2019-03-04", "ent", code, "cadres", "张三", "method", "symposium",
           NULL);
    wq_ingest_result_t res;
    assert_int_equal(tc_send(c, &s, 1, 3, &res), WQ_OK);
    assert_int_equal(res.hwm, 3);
    assert_int_equal(res.stored, 2);
    assert_int_equal(res.nquarantined, 1);
    assert_int_equal(res.quarantined[0].seq, 2);
    wq_ingest_result_clear(&res);
    wq_table_t *t = tc_query(c, "quarantine", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_non_null(strstr(tc_str(t, 0, "reason"), "rating"));
    wq_table_destroy(&t);
    t = tc_query(c, "summary", NULL);
    assert_int_equal(tc_int(t, 0, "visits"), 2);
    wq_table_destroy(&t);
    assert_int_equal(s_verify(c), 0);
    wq_central_destroy(&c);
    ts_tmpdir_remove(&dir);
    tc_stream_free(&s);
}

/*  rectify_days_median as of a date, over the problems rectified at the
    end of that day (the rectification in force then), by hand:
    A: opened 03-01, rectified 03-11 (10 days), reopened 03-20, rectified
       04-30 (60 days);
    B: opened 03-01, rectified 05-01 (61 days);
    C: opened 03-10, rectified 03-15 (5 days), reopened 04-01. */
static void
test_rectify_median_asof(void **state)
{
    (void) state;
    static const struct {
        const char *asof;
        int64_t median, resolved;
    } cases[] = {
        {"2019-03-05", -1, 0}, {"2019-03-12", 10, 1}, {"2019-03-16", 5, 2}, {"2019-03-25", 5, 1},
        {"2019-04-05", -1, 0}, {"2019-04-30", 60, 1}, {"2019-05-01", 60, 2}, {"2019-12-31", 60, 2},
    };
    char code[19], *d1, *d2;
    tc_code(51, code);
    tc_stream_t a, b;
    tc_stream_init(&a, "130102-01", "130102", 0x51);
    tc_stream_init(&b, "130102-02", "130102", 0x52);
#define PROB(d) tc_add(&a, WQ_REC_PROBLEM, d, "ent", code, "category", "air", "severity", "general", \
                       "description", "问题", NULL)
#define PROG(d, p, st) tc_add(&b, WQ_REC_PROGRESS, d, "ent", code, "problem", tc_id(&a, p), \
                              "status", st, NULL)
    PROB("2019-03-01");                 /* 1 A */
    PROB("2019-03-01");                 /* 2 B */
    PROB("2019-03-10");                 /* 3 C */
    PROG("2019-04-30", 1, "rectified");
    PROG("2019-03-20", 1, "reopened");
    PROG("2019-03-11", 1, "rectified");
    PROG("2019-05-01", 2, "rectified");
    PROG("2019-04-01", 3, "reopened");
    PROG("2019-03-15", 3, "rectified");
#undef PROB
#undef PROG
    wq_central_t *x = s_open(&d1), *y = s_open(&d2);
    tc_send_all(x, &a, 100);
    tc_send_all(x, &b, 100);
    tc_send_all(y, &b, 1);              /* follow-ups first, one per batch, then resent */
    tc_send_all(y, &a, 2);
    tc_send_all(y, &b, 3);
    assert_int_equal(s_verify(x), 0);
    assert_int_equal(s_verify(y), 0);
    wq_central_t *stores[2] = {x, y};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char asof[32];
            snprintf(asof, sizeof asof, "asof=%s", cases[i].asof);
            wq_table_t *t = tc_query(stores[k], "summary", "level=county", "area=130102", asof, NULL);
            if (tc_int(t, 0, "rectify_days_median") != cases[i].median)
                fail_msg("store %d asof %s: rectify_days_median %lld, want %lld", k, cases[i].asof,
                         (long long) tc_int(t, 0, "rectify_days_median"),
                         (long long) cases[i].median);
            /* The median is over the problems the on-time figures count. */
            assert_int_equal(tc_int(t, 0, "rectified_on_time") + tc_int(t, 0, "rectified_late"),
                             cases[i].resolved);
            wq_table_destroy(&t);
            /* City and province rows read the same county's spells. */
            t = tc_query(stores[k], "summary", "area=130100", asof, NULL);
            assert_int_equal(tc_int(t, 0, "rectify_days_median"), cases[i].median);
            wq_table_destroy(&t);
            /* None opened in April: no median. */
            t = tc_query(stores[k], "summary", "from=2019-04", asof, NULL);
            assert_int_equal(tc_int(t, 0, "rectify_days_median"), -1);
            wq_table_destroy(&t);
        }
    wq_central_destroy(&x);
    wq_central_destroy(&y);
    ts_tmpdir_remove(&d1);
    ts_tmpdir_remove(&d2);
    tc_stream_free(&a);
    tc_stream_free(&b);
}

/*  --by group splits problems and the as-of figures by the focus group and
    size of the enterprise's profile as of the date. The history's problems
    (s_history) belong to an enterprise registered on 03-10 as strategic
    emerging, not above size, and re-registered on 05-01 as advanced
    manufacturing above size; another enterprise (tech SME since 02-01) has
    one problem, opened 03-01 with a deadline of 03-20, never rectified. */
static void
test_group_split(void **state)
{
    (void) state;
    static const struct {
        const char *asof;
        const char *group;
        int64_t problems, on_time, late, overdue;
    } cases[] = {
        /* Before 03-10 the first enterprise has no profile: in no group. */
        {"2019-03-05", "strategic_emerging", 0, 0, 0, 0},
        {"2019-03-05", "tech_sme", 1, 0, 0, 0},
        {"2019-03-25", "strategic_emerging", 3, 0, 0, 1},
        {"2019-03-25", "advanced_manufacturing", 0, 0, 0, 0},
        {"2019-03-25", "above_size", 0, 0, 0, 0},
        {"2019-03-25", "tech_sme", 1, 0, 0, 1},
        {"2019-04-12", "strategic_emerging", 3, 1, 0, 0},
        {"2019-05-15", "strategic_emerging", 0, 0, 0, 0},
        {"2019-05-15", "advanced_manufacturing", 3, 1, 1, 0},
        {"2019-05-15", "above_size", 3, 1, 1, 0},
        {"2019-06-10", "advanced_manufacturing", 3, 1, 1, 1},
        {"2019-06-10", "above_size", 3, 1, 1, 1},
        {"2019-06-10", "tech_sme", 1, 0, 0, 1},
        {"2019-06-10", "discharger", 0, 0, 0, 0},
    };
    char code[19], code2[19], *d1, *d2;
    tc_code(61, code);
    tc_code(62, code2);
    tc_stream_t sa, sb, e;
    s_history(&sa, &sb, code);
    tc_stream_init(&e, "130102-03", "130102", 0x63);
    tc_add(&e, WQ_REC_ENTERPRISE, "2019-05-01", "ent", code, "name", "甲钢铁", "industry", "C3110",
           "focus", "advanced_manufacturing", "above_size", "true", NULL);
    tc_add(&e, WQ_REC_ENTERPRISE, "2019-03-10", "ent", code, "name", "甲钢铁", "industry", "C3110",
           "focus", "strategic_emerging", NULL);
    tc_add(&e, WQ_REC_ENTERPRISE, "2019-02-01", "ent", code2, "name", "乙科技", "industry", "I6510",
           "focus", "tech_sme", NULL);
    tc_add(&e, WQ_REC_PROBLEM, "2019-03-01", "ent", code2, "category", "water", "severity",
           "general", "description", "问题", NULL);                         /* e/4 */
    tc_add(&e, WQ_REC_PLAN, "2019-03-02", "ent", code2, "problem", tc_id(&e, 4), "measures", "措施",
           "deadline", "2019-03-20", NULL);
    wq_central_t *x = s_open(&d1), *y = s_open(&d2);
    tc_send_all(x, &e, 100);
    tc_send_all(x, &sa, 100);
    tc_send_all(x, &sb, 100);
    tc_send_all(y, &sb, 1);             /* the other way round, one per batch, resent */
    tc_send_all(y, &sa, 1);
    tc_send_all(y, &e, 1);
    tc_send_all(y, &sb, 2);
    assert_int_equal(s_verify(x), 0);
    assert_int_equal(s_verify(y), 0);
    wq_central_t *stores[2] = {x, y};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char asof[32], col[4][64];
            snprintf(asof, sizeof asof, "asof=%s", cases[i].asof);
            snprintf(col[0], sizeof col[0], "problems_%s", cases[i].group);
            snprintf(col[1], sizeof col[1], "rectified_on_time_%s", cases[i].group);
            snprintf(col[2], sizeof col[2], "rectified_late_%s", cases[i].group);
            snprintf(col[3], sizeof col[3], "overdue_%s", cases[i].group);
            int64_t want[4] = {cases[i].problems, cases[i].on_time, cases[i].late, cases[i].overdue};
            const char *areas[2] = {"area=130102", "area=130000"};
            for (int a = 0; a < 2; a++) {
                wq_table_t *t = tc_query(stores[k], "summary", areas[a], asof, "by=group", NULL);
                for (int m = 0; m < 4; m++)
                    if (tc_int(t, 0, col[m]) != want[m])
                        fail_msg("store %d %s %s: %s = %lld, want %lld", k, areas[a], cases[i].asof,
                                 col[m], (long long) tc_int(t, 0, col[m]), (long long) want[m]);
                wq_table_destroy(&t);
            }
        }
    /* Each problem's enterprise has one focus group at a time: the focus
       groups add up to the totals once both enterprises have a profile. */
    wq_table_t *t = tc_query(x, "summary", "asof=2019-06-10", "by=group", NULL);
    static const char *const base[] = {"problems", "rectified_on_time", "rectified_late", "overdue"};
    for (int m = 0; m < 4; m++) {
        int64_t sum = 0;
        static const char *const focus[] = {"discharger", "strategic_emerging",
                                            "advanced_manufacturing", "tech_sme"};
        for (int f = 0; f < 4; f++) {
            char cn[64];
            snprintf(cn, sizeof cn, "%s_%s", base[m], focus[f]);
            sum += tc_int(t, 0, cn);
        }
        assert_int_equal(sum, tc_int(t, 0, base[m]));
    }
    wq_table_destroy(&t);
    wq_central_destroy(&x);
    wq_central_destroy(&y);
    ts_tmpdir_remove(&d1);
    ts_tmpdir_remove(&d2);
    tc_stream_free(&sa);
    tc_stream_free(&sb);
    tc_stream_free(&e);
}

/*  The days to rectification from the counters (store format 5: the open
    spells as WQ_M_RECT_OPEN counters less the 'S' marks starting after
    asof, plus the closed spells' 'X' marks) against a brute-force sum over
    the 'R' marks, the whole histogram, at every level, with and without a
    period, as of dates before, between and after the spells; on a store
    where reopenings, retractions and corrections close and reopen spells,
    sent in two orders. */
static void
s_brute_rdays(MDB_txn *txn, wq_central_t *c, const char *area, const char *from, const char *to,
              const char *asof, int64_t *h, size_t nh)
{
    size_t plen = 6;
    while (plen > 2 && area[plen - 1] == '0' && area[plen - 2] == '0')
        plen -= 2;
    MDB_cursor *cur;
    assert_int_equal(mdb_cursor_open(txn, c->marks, &cur), 0);
    MDB_val k = {1, (void *) "R"}, v;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *key = k.mv_data;
        if (key[0] != 'R')
            break;
        assert_int_equal(k.mv_size, 39);
        if (memcmp(key + 1, area, plen) != 0)
            continue;
        if ((*from && memcmp(key + 7, from, 7) < 0) || (*to && memcmp(key + 7, to, 7) > 0))
            continue;
        if (memcmp(key + 14, asof, 10) > 0 || memcmp(key + 24, asof, 10) <= 0)
            continue;
        unsigned d = 0;
        for (int i = 34; i < 39; i++)
            d = d * 10 + (unsigned) (key[i] - '0');
        int64_t n;
        memcpy(&n, v.mv_data, 8);
        assert_true(d < nh);
        h[d] += n;
    }
    assert_int_equal(mrc == 0 || mrc == MDB_NOTFOUND, 1);
    mdb_cursor_close(cur);
}

static void
test_rect_counters_brute(void **state)
{
    (void) state;
    static const char *const counties[3] = {"130102", "130104", "130203"};
    tc_stream_t ps[3], gs[3];
    for (int ci = 0; ci < 3; ci++) {
        char agent[16], code[19];
        tc_code(70 + ci, code);
        snprintf(agent, sizeof agent, "%s-01", counties[ci]);
        tc_stream_init(&ps[ci], agent, counties[ci], 0x70u + (unsigned) ci);
        snprintf(agent, sizeof agent, "%s-02", counties[ci]);
        tc_stream_init(&gs[ci], agent, counties[ci], 0x80u + (unsigned) ci);
        tc_stream_t *a = &ps[ci], *b = &gs[ci];
        int32_t base = wq_date_days("2019-01-05");
        for (int p = 0; p < 14; p++) {
            char d0[11], d1[11], d2[11], d3[11];
            int32_t o = base + 11 * p + 3 * ci;
            wq_date_from_days(o, d0);
            wq_date_from_days(o + 5 + (p * 7) % 40, d1);
            wq_date_from_days(o + 50 + (p * 5) % 30, d2);
            wq_date_from_days(o + 90 + (p * 3) % 20, d3);
            uint64_t prob = tc_add(a, WQ_REC_PROBLEM, d0, "ent", code, "category", "air", "severity",
                                   "general", "description", "问题", NULL);
            uint64_t r1 = tc_add(b, WQ_REC_PROGRESS, d1, "ent", code, "problem", tc_id(a, prob),
                                 "status", "rectified", NULL);
            if (p % 3 == 0 || p % 4 == 1) {
                uint64_t re = tc_add(b, WQ_REC_PROGRESS, d2, "ent", code, "problem", tc_id(a, prob),
                                     "status", "reopened", NULL);
                if (p % 3 == 0)
                    tc_add(b, WQ_REC_PROGRESS, d3, "ent", code, "problem", tc_id(a, prob), "status",
                           "rectified", NULL);
                if (p % 6 == 0)     /* the reopening retracted: the first spell open again */
                    tc_add(b, WQ_REC_RETRACTION, d3, "target", tc_id(b, re), "reason", "r", NULL);
            }
            if (p % 5 == 2)         /* the rectification corrected to a reopening */
                tc_add(b, WQ_REC_CORRECTION, d2, "target", tc_id(b, r1), "of", "progress",
                       "set.status", "reopened", "reason", "r", NULL);
            if (p % 7 == 3)         /* the rectification retracted */
                tc_add(b, WQ_REC_RETRACTION, d3, "target", tc_id(b, r1), "reason", "r", NULL);
        }
    }
    char *d1, *d2;
    wq_central_t *x = s_open(&d1), *y = s_open(&d2);
    for (int ci = 0; ci < 3; ci++) {
        tc_send_all(x, &ps[ci], 100);
        tc_send_all(x, &gs[ci], 100);
        tc_send_all(y, &gs[ci], 1);     /* follow-ups first, one per batch */
        tc_send_all(y, &ps[ci], 3);
    }
    assert_int_equal(s_verify(x), 0);
    assert_int_equal(s_verify(y), 0);
    static const char *const areas[] = {"130102", "130104", "130203", "130100", "130200", "130000"};
    static const char *const asofs[] = {"2019-01-01", "2019-01-20", "2019-02-14", "2019-03-10",
                                        "2019-04-01", "2019-05-17", "2019-06-30", "2019-09-09",
                                        "2020-01-01", WQ_MARK_OPEN_END, NULL};
    static const char *const periods[][2] = {{"", ""}, {"2019-02", "2019-04"}, {"2019-03", ""}};
    wq_central_t *stores[2] = {x, y};
    int64_t nonempty = 0, closed = 0;
    for (int k = 0; k < 2; k++) {
        MDB_txn *txn;
        assert_int_equal(mdb_txn_begin(stores[k]->env, NULL, MDB_RDONLY, &txn), 0);
        MDB_cursor *cur;
        MDB_val mk = {1, (void *) "X"}, mv;
        assert_int_equal(mdb_cursor_open(txn, stores[k]->marks, &cur), 0);
        for (int m = mdb_cursor_get(cur, &mk, &mv, MDB_SET_RANGE); m == 0 && ((char *) mk.mv_data)[0] == 'X';
             m = mdb_cursor_get(cur, &mk, &mv, MDB_NEXT))
            closed++;
        mdb_cursor_close(cur);
        for (size_t a = 0; a < sizeof areas / sizeof areas[0]; a++)
            for (size_t i = 0; i < sizeof asofs / sizeof asofs[0]; i++)
                for (size_t p = 0; p < sizeof periods / sizeof periods[0]; p++) {
                    wq_view_sums_t s = {0};
                    wq_err_t err;
                    assert_int_equal(wq_views_sum_asof(txn, stores[k], areas[a], periods[p][0],
                                                       periods[p][1], asofs[i], &s, &err), WQ_OK);
                    int64_t want[400] = {0};
                    s_brute_rdays(txn, stores[k], areas[a], periods[p][0], periods[p][1],
                                  asofs[i] ? asofs[i] : WQ_MARK_OPEN_END, want, 400);
                    for (size_t d = 0; d < 400 || d < s.nrdays; d++) {
                        int64_t got = d < s.nrdays ? s.rdays[d] : 0, w = d < 400 ? want[d] : 0;
                        if (got != w)
                            fail_msg("store %d area %s asof %s period %s..%s: days %zu: %lld, brute "
                                     "force %lld", k, areas[a], asofs[i] ? asofs[i] : "-",
                                     periods[p][0], periods[p][1], d, (long long) got, (long long) w);
                        nonempty += w != 0;
                    }
                    wq_view_sums_clear(&s);
                }
        mdb_txn_abort(txn);
    }
    assert_true(nonempty > 100);    /* the comparison saw spells */
    assert_true(closed > 4);        /* and closed ones */
    wq_central_destroy(&x);
    wq_central_destroy(&y);
    ts_tmpdir_remove(&d1);
    ts_tmpdir_remove(&d2);
    for (int ci = 0; ci < 3; ci++) {
        tc_stream_free(&ps[ci]);
        tc_stream_free(&gs[ci]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_five_dates),
        cmocka_unit_test(test_rectify_median_asof),
        cmocka_unit_test(test_rect_counters_brute),
        cmocka_unit_test(test_group_split),
        cmocka_unit_test(test_marks_queries),
        cmocka_unit_test(test_unknown_type_quarantined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
