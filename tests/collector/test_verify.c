/*  =========================================================================
    test_verify - verify (collector/verify.c) on a real store: a clean
    campaign has no difference; then each derived database is corrupted by
    hand, through LMDB directly, and verify must name what was corrupted:
    a counter, a state and a mark at once (exactly three differences, each
    reported), an entity index entry removed, a stray state, a pending
    entry and an enterprise link removed, an event's bytes garbled. Each
    time verify runs with one thread and with two, which must report the
    same, line for line.
    =========================================================================
*/
#include "test_central_fixture.h"

#include <lmdb.h>
#include "collector/cstore.h"
#include "common/store.h"
#include "tests/support/testsupport.h"

typedef struct {
    char *dir;
    wq_central_t *c;
    tc_stream_t a;
    char report[16384];
} fx_t;

/*  A small campaign: two enterprises, visits, a problem with plan and
    progress, a consultation and its answer, a correction, and a
    correction whose target never arrives (it waits in pending). */
static void
s_campaign(fx_t *f)
{
    char e1[19], e2[19];
    tc_code(1, e1);
    tc_code(2, e2);
    tc_stream_t *a = &f->a;
    tc_stream_init(a, "130102-01", "130102", 0x11111111);
    tc_add(a, WQ_REC_ENTERPRISE, "2019-03-01", "ent", e1, "name", "石家庄甲化工有限公司",
           "industry", "C2614", NULL);                                                   /* 1 */
    tc_add(a, WQ_REC_ENTERPRISE, "2019-03-02", "ent", e2, "name", "乙食品公司", "industry",
           "C1391", NULL);                                                               /* 2 */
    tc_add(a, WQ_REC_VISIT, "2019-03-05", "ent", e1, "cadres", "张三", "method", "field_visit",
           NULL);                                                                        /* 3 */
    tc_add(a, WQ_REC_VISIT, "2019-04-10", "ent", e2, "cadres", "李四", "method", "symposium",
           NULL);                                                                        /* 4 */
    tc_add(a, WQ_REC_PROBLEM, "2019-03-05", "ent", e1, "category", "air", "severity", "serious",
           "description", "VOCs 无组织排放", NULL);                                      /* 5 */
    tc_add(a, WQ_REC_PLAN, "2019-03-10", "ent", e1, "problem", tc_id(a, 5), "measures", "密闭收集",
           "deadline", "2019-05-31", NULL);                                               /* 6 */
    tc_add(a, WQ_REC_PROGRESS, "2019-04-01", "ent", e1, "problem", tc_id(a, 5), "status",
           "in_progress", NULL);                                                         /* 7 */
    tc_add(a, WQ_REC_CONSULTATION, "2019-03-15", "ent", e1, "channel", "reception_day",
           "question", "排污许可怎么办？", NULL);                                        /* 8 */
    tc_add(a, WQ_REC_ANSWER, "2019-03-18", "ent", e1, "consultation", tc_id(a, 8), "answer",
           "网上申报", NULL);                                                            /* 9 */
    tc_add(a, WQ_REC_CORRECTION, "2019-04-11", "target", tc_id(a, 4), "of", "visit",
           "set.method", "enforcement_inspection", "reason", "方式记错", NULL);          /* 10 */
    tc_add(a, WQ_REC_CORRECTION, "2019-04-12", "target", "130102-01/11111111/99", "of", "visit",
           "set.method", "field_visit", "reason", "目标未到", NULL);                     /* 11 */
}

static int
setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->dir = ts_tmpdir();
    wq_err_t err;
    if (wq_central_open(f->dir, 64u << 20, &f->c, &err) != WQ_OK)
        fail_msg("open: %s", err.text);
    s_campaign(f);
    tc_send_all(f->c, &f->a, 4);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    wq_central_destroy(&f->c);
    ts_tmpdir_remove(&f->dir);
    tc_stream_free(&f->a);
    free(f);
    return 0;
}

/*  Run verify with `threads` threads, its report in out. */
static uint64_t
s_verify_n(fx_t *f, int threads, char *out, size_t size)
{
    uint64_t d = 99;
    wq_err_t err;
    FILE *m = fmemopen(out, size - 1, "w");
    assert_non_null(m);
    memset(out, 0, size);
    int rc = wq_central_verify_threads(f->c, threads, m, &d, &err);
    fclose(m);
    if (rc != WQ_OK)
        fail_msg("verify (%d threads): %s", threads, err.text);
    return d;
}

/*  Run verify with its report in f->report; returns the differences.
    With one thread and with two (the entity index split in two parts,
    each walked by its thread): the same report, line for line, and the
    same count. */
static uint64_t
s_verify(fx_t *f)
{
    static char two[sizeof f->report];
    uint64_t d = s_verify_n(f, 1, f->report, sizeof f->report);
    uint64_t d2 = s_verify_n(f, 2, two, sizeof two);
    fprintf(stderr, "%s", f->report);
    if (d2 != d || strcmp(two, f->report) != 0)
        fail_msg("verify with 2 threads found %" PRIu64 " differences, with 1 %" PRIu64
                 ";\n2 threads said:\n%s\n1 thread said:\n%s", d2, d, two, f->report);
    assert_int_equal(wq_central_verify(f->c, NULL, &d2, NULL), WQ_OK);
    assert_int_equal(d2, d);
    return d;
}

static void
s_report_has(const fx_t *f, const char *a, const char *b)
{
    for (const char *line = f->report; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen(line);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int) len, line);
        if (strstr(buf, a) && (!b || strstr(buf, b)))
            return;
        line += len + (end ? 1 : 0);
    }
    fail_msg("verify did not report \"%s\"%s%s; it said:\n%s", a, b ? " ... " : "", b ? b : "",
             f->report);
}

/*  Direct access to the store's databases, the collector closed. */
typedef struct {
    MDB_env *env;
    MDB_txn *txn;
} s_raw_t;

static MDB_dbi
s_raw_open(fx_t *f, s_raw_t *r, const char *db)
{
    wq_err_t err;
    MDB_dbi dbi;
    wq_central_destroy(&f->c);
    assert_int_equal(wq_store_open(f->dir, 64u << 20, 16, &r->env, &err), WQ_OK);
    assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
    assert_int_equal(mdb_dbi_open(r->txn, db, 0, &dbi), 0);
    return dbi;
}

static MDB_dbi
s_raw_dbi(s_raw_t *r, const char *db)
{
    MDB_dbi dbi;
    assert_int_equal(mdb_dbi_open(r->txn, db, 0, &dbi), 0);
    return dbi;
}

static void
s_raw_close(fx_t *f, s_raw_t *r)
{
    wq_err_t err;
    assert_int_equal(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
    assert_int_equal(wq_central_open(f->dir, 64u << 20, &f->c, &err), WQ_OK);
}

/*  Add delta to the int64 value of the first entry of dbi whose key
    starts with prefix; *key gets that key. */
static void
s_bump(s_raw_t *r, MDB_dbi dbi, const char *prefix, int64_t delta, MDB_val *key)
{
    MDB_cursor *cur;
    MDB_val k = {strlen(prefix), (void *) prefix}, v;
    assert_int_equal(mdb_cursor_open(r->txn, dbi, &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), 0);
    assert_int_equal(memcmp(k.mv_data, prefix, strlen(prefix)), 0);
    assert_int_equal(v.mv_size, 8);
    int64_t n;
    memcpy(&n, v.mv_data, 8);
    n += delta;
    v.mv_data = &n;
    assert_int_equal(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
    *key = k;
    mdb_cursor_close(cur);
}

static void
test_verify_clean(void **state)
{
    fx_t *f = *state;
    assert_int_equal(s_verify(f), 0);
    /* Verify twice in a row reads the same: it never writes. */
    assert_int_equal(s_verify(f), 0);
}

/*  One counter, one state and one mark corrupted at once: exactly three
    differences, each named. */
static void
test_verify_counter_state_mark(void **state)
{
    fx_t *f = *state;
    assert_int_equal(s_verify(f), 0);
    s_raw_t r;
    MDB_dbi views = s_raw_open(f, &r, "views");
    MDB_val k;
    s_bump(&r, views, "130102", 5, &k);
    /* A state: change the last byte of the problem's blob. */
    MDB_dbi states = s_raw_dbi(&r, "states");
    char pkey[WQ_EVENT_ID_MAX + 2];
    snprintf(pkey, sizeof pkey, "P:%s", tc_id(&f->a, 5));
    MDB_val sk = {strlen(pkey), pkey}, sv;
    assert_int_equal(mdb_get(r.txn, states, &sk, &sv), 0);
    uint8_t *blob = malloc(sv.mv_size);
    assert_non_null(blob);
    memcpy(blob, sv.mv_data, sv.mv_size);
    blob[sv.mv_size - 1] ^= 0x5a;
    sv.mv_data = blob;
    assert_int_equal(mdb_put(r.txn, states, &sk, &sv, 0), 0);
    free(blob);
    /* A mark: the visits of cadre 张三 ('K' county month cadre). */
    MDB_dbi marks = s_raw_dbi(&r, "marks");
    s_bump(&r, marks, "K130102", -1, &k);
    s_raw_close(f, &r);

    assert_int_equal(s_verify(f), 3);
    s_report_has(f, "counter ", "recomputed");
    s_report_has(f, pkey, "stored state differs from a fresh fold");
    s_report_has(f, "mark ", "recomputed 1");
}

/*  An entity index entry removed: the event is reported as not indexed
    (and the entity's fold without it differs from its state). */
static void
test_verify_index(void **state)
{
    fx_t *f = *state;
    s_raw_t r;
    MDB_dbi ents = s_raw_open(f, &r, "entities");
    MDB_cursor *cur;
    char e2[19], ekey[32];
    tc_code(2, e2);
    snprintf(ekey, sizeof ekey, "E:%s", e2);
    MDB_val k = {strlen(ekey), ekey}, v;
    assert_int_equal(mdb_cursor_open(r.txn, ents, &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_SET_KEY), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP), 0);   /* the visit, 04-10 */
    assert_int_equal(mdb_cursor_del(cur, 0), 0);
    mdb_cursor_close(cur);
    /* A state with no event: a stray. */
    MDB_dbi states = s_raw_dbi(&r, "states");
    MDB_val sk = {8, "E:nobody"}, sv = {3, "abc"};
    assert_int_equal(mdb_put(r.txn, states, &sk, &sv, 0), 0);
    s_raw_close(f, &r);

    assert_true(s_verify(f) >= 3);
    s_report_has(f, tc_id(&f->a, 4), "not in the index of entity E:");
    s_report_has(f, "entity E:nobody", "a stored state, but no event indexed");
    s_report_has(f, ekey, "stored state differs");
}

/*  The pending entry of the correction waiting for its target, and the
    problem's enterprise link, removed: both named. */
static void
test_verify_pending_and_links(void **state)
{
    fx_t *f = *state;
    s_raw_t r;
    MDB_dbi pending = s_raw_open(f, &r, "pending");
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal(mdb_cursor_open(r.txn, pending, &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
    assert_int_equal(mdb_cursor_del(cur, 0), 0);
    mdb_cursor_close(cur);
    MDB_dbi links = s_raw_dbi(&r, "links");
    char e1[19], ekey[32], pkey[WQ_EVENT_ID_MAX + 2];
    tc_code(1, e1);
    snprintf(ekey, sizeof ekey, "E:%s", e1);
    snprintf(pkey, sizeof pkey, "P:%s", tc_id(&f->a, 5));
    k = (MDB_val){strlen(ekey), ekey};
    v = (MDB_val){strlen(pkey), pkey};
    assert_int_equal(mdb_del(r.txn, links, &k, &v), 0);
    s_raw_close(f, &r);

    assert_int_equal(s_verify(f), 4);   /* each entry, and each table's count */
    s_report_has(f, tc_id(&f->a, 11), "not waiting for its missing target");
    s_report_has(f, "pending table:", NULL);
    s_report_has(f, pkey, "is not linked to enterprise");
    s_report_has(f, "enterprise links:", NULL);
}

/*  An event whose stored bytes no longer decode: reported once (with one
    thread or two), and its entity's state then differs from the fold of
    the events that do decode. */
static void
test_verify_undecodable(void **state)
{
    fx_t *f = *state;
    s_raw_t r;
    MDB_dbi events = s_raw_open(f, &r, "events");
    uint8_t ek[WQ_EK_MAX];
    size_t eklen = wq_ek_from_text(tc_id(&f->a, 7), ek);     /* the progress */
    assert_true(eklen > 0);
    MDB_val k = {eklen, ek}, v = {3, "\xc1\xc1\xc1"};
    assert_int_equal(mdb_put(r.txn, events, &k, &v, 0), 0);
    s_raw_close(f, &r);

    assert_true(s_verify(f) >= 2);
    char want[WQ_EVENT_ID_MAX + 8];
    snprintf(want, sizeof want, "event %s:", tc_id(&f->a, 7));
    s_report_has(f, want, "stored bytes do not decode");
    const char *first = strstr(f->report, "stored bytes do not decode");
    assert_null(strstr(first + 1, "stored bytes do not decode"));
    char pkey[WQ_EVENT_ID_MAX + 2];
    snprintf(pkey, sizeof pkey, "P:%s", tc_id(&f->a, 5));
    s_report_has(f, pkey, "stored state differs");
}

/*  The rectification spells' counters and marks (store format 5): an open
    spell's WQ_M_RECT_OPEN counter, its province 'S' mark and a closed
    spell's 'X' mark planted off by one: each reported. */
static void
test_verify_rect(void **state)
{
    fx_t *f = *state;
    char e1[19];
    tc_code(1, e1);
    tc_stream_t *a = &f->a;
    tc_add(a, WQ_REC_PROGRESS, "2019-04-20", "ent", e1, "problem", tc_id(a, 5), "status",
           "rectified", NULL);                                                           /* 12 */
    tc_add(a, WQ_REC_PROBLEM, "2019-03-06", "ent", e1, "category", "water", "severity", "general",
           "description", "雨污混流", NULL);                                             /* 13 */
    tc_add(a, WQ_REC_PROGRESS, "2019-03-20", "ent", e1, "problem", tc_id(a, 13), "status",
           "rectified", NULL);                                                           /* 14 */
    tc_add(a, WQ_REC_PROGRESS, "2019-04-02", "ent", e1, "problem", tc_id(a, 13), "status",
           "reopened", NULL);                                                            /* 15 */
    tc_send_all(f->c, a, 100);
    assert_int_equal(s_verify(f), 0);
    s_raw_t r;
    MDB_dbi views = s_raw_open(f, &r, "views");
    MDB_val k;
    s_bump(&r, views, "1301022019-03\r", 1, &k);            /* metric 13: WQ_M_RECT_OPEN */
    MDB_dbi marks = s_raw_dbi(&r, "marks");
    s_bump(&r, marks, "S130000", 2, &k);
    s_bump(&r, marks, "X130102", -1, &k);
    s_raw_close(f, &r);

    assert_int_equal(s_verify(f), 3);
    s_report_has(f, "counter 130102 2019-03 rectify_days/", "recomputed 1");
    s_report_has(f, "mark S1300002019-04-20", "stored 3, recomputed 1");
    s_report_has(f, "mark X130102", "stored 0, recomputed 1");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verify_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_counter_state_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_rect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_pending_and_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_undecodable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
