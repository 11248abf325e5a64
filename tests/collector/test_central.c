/*  =========================================================================
    test_central - the central store on real LMDB: ingest (duplicates, gaps,
    quarantine, incarnations), durability across reopen, a full map, every
    view on a small hand-made campaign with exact figures, overdue as of
    several dates, the case file, agents and quarantine tables, and verify
    =========================================================================
*/
#include "test_central_fixture.h"

#include "common/store.h"
#include "tests/support/testsupport.h"

typedef struct {
    char *dir;
    wq_central_t *c;
} fx_t;

static int
setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->dir = ts_tmpdir();
    wq_err_t err;
    if (wq_central_open(f->dir, 64u << 20, &f->c, &err) != WQ_OK)
        fail_msg("open: %s", err.text);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    wq_central_destroy(&f->c);
    wq_central_destroy(&f->c);   /* safe twice */
    ts_tmpdir_remove(&f->dir);
    free(f);
    return 0;
}

static uint64_t
s_verify(wq_central_t *c)
{
    uint64_t d = 99;
    wq_err_t err;
    assert_int_equal(wq_central_verify(c, stderr, &d, &err), WQ_OK);
    return d;
}

/*  ---- ingest ------------------------------------------------------------- */

static void
add_visits(tc_stream_t *s, int n)
{
    char code[19];
    tc_code(1, code);
    for (int i = 0; i < n; i++)
        tc_add(s, WQ_REC_VISIT, "2019-03-05", "ent", code, "cadres", "张三", "method", "field_visit",
               NULL);
}

static void
test_ingest_dup_gap(void **state)
{
    fx_t *f = *state;
    tc_stream_t s;
    tc_stream_init(&s, "130102-01", "130102", 0x11111111);
    add_visits(&s, 10);
    wq_ingest_result_t res;
    uint64_t hwm = 7;
    wq_err_t err;
    assert_int_equal(wq_central_hwm(f->c, s.agent, s.inc, &hwm, &err), WQ_OK);
    assert_int_equal(hwm, 0);

    assert_int_equal(tc_send(f->c, &s, 1, 4, &res), WQ_OK);
    assert_int_equal(res.hwm, 4);
    assert_int_equal(res.stored, 4);
    assert_int_equal(res.duplicates, 0);
    assert_int_equal(res.nquarantined, 0);
    wq_ingest_result_clear(&res);

    /* Resend overlapping: 3..6 -> 2 duplicates, 2 new. */
    assert_int_equal(tc_send(f->c, &s, 3, 6, &res), WQ_OK);
    assert_int_equal(res.hwm, 6);
    assert_int_equal(res.stored, 2);
    assert_int_equal(res.duplicates, 2);
    wq_ingest_result_clear(&res);

    /* Entirely old: all duplicates, mark unchanged. */
    assert_int_equal(tc_send(f->c, &s, 1, 6, &res), WQ_OK);
    assert_int_equal(res.hwm, 6);
    assert_int_equal(res.stored, 0);
    assert_int_equal(res.duplicates, 6);
    wq_ingest_result_clear(&res);

    /* Gap: 8.. while the mark is 6. */
    assert_int_equal(tc_send(f->c, &s, 8, 10, &res), WQ_E_GAP);
    assert_int_equal(res.hwm, 6);
    assert_int_equal(res.stored, 0);
    assert_int_equal(wq_central_hwm(f->c, s.agent, s.inc, &hwm, &err), WQ_OK);
    assert_int_equal(hwm, 6);

    assert_int_equal(tc_send(f->c, &s, 7, 10, &res), WQ_OK);
    assert_int_equal(res.hwm, 10);
    assert_int_equal(res.stored, 4);
    wq_ingest_result_clear(&res);

    wq_central_stats_t st;
    assert_int_equal(wq_central_stats(f->c, &st, &err), WQ_OK);
    assert_int_equal(st.events, 10);
    assert_int_equal(st.quarantined, 0);
    assert_int_equal(st.streams, 1);

    /* 10 visits to one enterprise, counted once each. */
    wq_table_t *t = tc_query(f->c, "summary", "level=county", "area=130102", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_int_equal(tc_int(t, 0, "visits"), 10);
    assert_int_equal(tc_int(t, 0, "visits_field_visit"), 10);
    assert_int_equal(tc_int(t, 0, "enterprises_visited"), 1);
    assert_int_equal(tc_int(t, 0, "enterprises_registered"), 0);
    wq_table_destroy(&t);
    assert_int_equal(s_verify(f->c), 0);
    tc_stream_free(&s);
}

static void
test_incarnations(void **state)
{
    fx_t *f = *state;
    tc_stream_t a, b;
    tc_stream_init(&a, "130102-01", "130102", 0x11111111);
    tc_stream_init(&b, "130102-01", "130102", 0x22222222);   /* re-initialised agent */
    add_visits(&a, 3);
    add_visits(&b, 2);
    tc_send_all(f->c, &a, 10);
    wq_ingest_result_t res;
    /* Seq 1 of the new incarnation is new, not a duplicate of the old seq 1. */
    assert_int_equal(tc_send(f->c, &b, 1, 2, &res), WQ_OK);
    assert_int_equal(res.stored, 2);
    assert_int_equal(res.duplicates, 0);
    assert_int_equal(res.hwm, 2);
    wq_ingest_result_clear(&res);
    uint64_t hwm;
    wq_err_t err;
    assert_int_equal(wq_central_hwm(f->c, "130102-01", 0x11111111, &hwm, &err), WQ_OK);
    assert_int_equal(hwm, 3);
    assert_int_equal(wq_central_hwm(f->c, "130102-01", 0x22222222, &hwm, &err), WQ_OK);
    assert_int_equal(hwm, 2);
    wq_central_stats_t st;
    assert_int_equal(wq_central_stats(f->c, &st, &err), WQ_OK);
    assert_int_equal(st.events, 5);
    assert_int_equal(st.streams, 2);
    wq_table_t *t = tc_query(f->c, "agents", "now_ms=1000", NULL);
    assert_int_equal(wq_table_nrows(t), 2);
    assert_string_equal(tc_str(t, 0, "inc"), "11111111");
    assert_int_equal(tc_int(t, 0, "hwm"), 3);
    assert_string_equal(tc_str(t, 1, "inc"), "22222222");
    assert_int_equal(tc_int(t, 1, "stored"), 2);
    wq_table_destroy(&t);
    assert_int_equal(s_verify(f->c), 0);
    tc_stream_free(&a);
    tc_stream_free(&b);
}

static void
test_quarantine(void **state)
{
    fx_t *f = *state;
    tc_stream_t s;
    char code[19];
    tc_code(1, code);
    tc_stream_init(&s, "130102-01", "130102", 0x11111111);
    add_visits(&s, 1);                                                       /* 1 ok */
    char bad[19];
    memcpy(bad, code, 19);
    bad[17] = bad[17] == '0' ? '1' : '0';                                   /* 2 check char */
    wq_record_t *r = wq_record_new(WQ_REC_VISIT);
    wq_err_t err;
    wq_record_set_identity(r, s.agent, s.inc, 2, 1);
    assert_int_equal(wq_record_set_text(r, "date", "2019-03-05", &err), WQ_OK);
    assert_int_equal(wq_record_set_text(r, "county", "130102", &err), WQ_OK);
    memcpy(r->ent, bad, 19);                  /* bypass the setter's own check */
    r->present |= 1ull << WQ_F_ENT;
    assert_int_equal(wq_record_set_text(r, "cadres", "张三", &err), WQ_OK);
    assert_int_equal(wq_record_set_text(r, "method", "field_visit", &err), WQ_OK);
    uint8_t *buf;
    size_t size;
    assert_int_equal(wq_record_encode(r, &buf, &size), WQ_OK);
    tc_stream_push_raw(&s, buf, size);
    free(buf);
    wq_record_destroy(&r);
    /* 3: foreign county (valid record of 130105, sent by 130102's agent). */
    {
        tc_stream_t *sp = &s;
        uint64_t seq = tc_next(sp);
        wq_record_t *q = wq_record_new(WQ_REC_VISIT);
        wq_record_set_identity(q, sp->agent, sp->inc, seq, 1);
        assert_int_equal(wq_record_set_text(q, "date", "2019-03-05", &err), WQ_OK);
        assert_int_equal(wq_record_set_text(q, "county", "130105", &err), WQ_OK);
        assert_int_equal(wq_record_set_text(q, "ent", code, &err), WQ_OK);
        assert_int_equal(wq_record_set_text(q, "cadres", "李四", &err), WQ_OK);
        assert_int_equal(wq_record_set_text(q, "method", "symposium", &err), WQ_OK);
        assert_int_equal(wq_record_validate(q, &err), WQ_OK);
        assert_int_equal(wq_record_encode(q, &buf, &size), WQ_OK);
        tc_stream_push_raw(sp, buf, size);
        free(buf);
        wq_record_destroy(&q);
    }
    /* 4: id mismatch (the record says seq 9). */
    {
        wq_record_t *q = wq_record_new(WQ_REC_VISIT);
        wq_record_set_identity(q, s.agent, s.inc, 9, 1);
        assert_int_equal(wq_record_set_text(q, "date", "2019-03-05", &err), WQ_OK);
        assert_int_equal(wq_record_set_text(q, "county", "130102", &err), WQ_OK);
        assert_int_equal(wq_record_set_text(q, "ent", code, &err), WQ_OK);
        assert_int_equal(wq_record_set_text(q, "cadres", "李四", &err), WQ_OK);
        assert_int_equal(wq_record_set_text(q, "method", "symposium", &err), WQ_OK);
        assert_int_equal(wq_record_encode(q, &buf, &size), WQ_OK);
        tc_stream_push_raw(&s, buf, size);
        free(buf);
        wq_record_destroy(&q);
    }
    /* 5: not msgpack at all. */
    tc_stream_push_raw(&s, (const uint8_t *) "\xc1garbage", 8);
    add_visits(&s, 1);                                                       /* 6 ok */

    wq_ingest_result_t res;
    assert_int_equal(tc_send(f->c, &s, 1, 6, &res), WQ_OK);
    assert_int_equal(res.hwm, 6);
    assert_int_equal(res.stored, 2);
    assert_int_equal(res.nquarantined, 4);
    assert_int_equal(res.quarantined[0].seq, 2);
    assert_int_equal(res.quarantined[0].code, WQ_E_CHECKCHAR);
    assert_int_equal(res.quarantined[1].seq, 3);
    assert_int_equal(res.quarantined[1].code, WQ_E_FOREIGN);
    assert_int_equal(res.quarantined[2].seq, 4);
    assert_int_equal(res.quarantined[2].code, WQ_E_ID);
    assert_int_equal(res.quarantined[3].seq, 5);
    assert_true(res.quarantined[3].code != WQ_OK);
    for (size_t i = 0; i < 4; i++)
        assert_true(strlen(res.quarantined[i].reason) > 0);
    wq_ingest_result_clear(&res);
    /* Resending the batch quarantines nothing twice. */
    assert_int_equal(tc_send(f->c, &s, 1, 6, &res), WQ_OK);
    assert_int_equal(res.duplicates, 6);
    assert_int_equal(res.nquarantined, 0);
    wq_ingest_result_clear(&res);

    wq_central_stats_t st;
    assert_int_equal(wq_central_stats(f->c, &st, &err), WQ_OK);
    assert_int_equal(st.events, 2);
    assert_int_equal(st.quarantined, 4);

    wq_table_t *t = tc_query(f->c, "quarantine", NULL);
    assert_int_equal(wq_table_nrows(t), 4);
    assert_int_equal(tc_int(t, 0, "seq"), 2);
    assert_string_equal(tc_str(t, 0, "code"), "E_CHECKCHAR");
    assert_string_equal(tc_str(t, 0, "county"), "130102");
    assert_string_equal(tc_str(t, 1, "code"), "E_FOREIGN");
    assert_non_null(strstr(tc_str(t, 1, "record"), "130105"));
    assert_string_equal(tc_str(t, 2, "code"), "E_ID");
    assert_int_equal(tc_int(t, 3, "bytes"), 8);
    wq_table_destroy(&t);
    t = tc_query(f->c, "quarantine", "agent=130102-01", "area=130100", NULL);
    assert_int_equal(wq_table_nrows(t), 4);
    wq_table_destroy(&t);
    t = tc_query(f->c, "quarantine", "agent=130102-02", NULL);
    assert_int_equal(wq_table_nrows(t), 0);
    wq_table_destroy(&t);
    t = tc_query(f->c, "quarantine", "area=130500", NULL);
    assert_int_equal(wq_table_nrows(t), 0);
    wq_table_destroy(&t);
    t = tc_query(f->c, "agents", "now_ms=1000", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_int_equal(tc_int(t, 0, "quarantined"), 4);
    assert_int_equal(tc_int(t, 0, "stored"), 2);
    wq_table_destroy(&t);
    t = tc_query(f->c, "summary", "level=county", "area=130102", NULL);
    assert_int_equal(tc_int(t, 0, "visits"), 2);
    wq_table_destroy(&t);
    assert_int_equal(s_verify(f->c), 0);
    tc_stream_free(&s);
}

static void
test_reopen(void **state)
{
    fx_t *f = *state;
    tc_stream_t s;
    tc_stream_init(&s, "130102-01", "130102", 0x11111111);
    add_visits(&s, 5);
    tc_send_all(f->c, &s, 2);
    wq_err_t err;
    assert_int_equal(wq_central_touch(f->c, s.agent, s.county, s.inc, 9, 4, 5000, &err), WQ_OK);
    wq_central_destroy(&f->c);
    assert_null(f->c);
    assert_int_equal(wq_central_open(f->dir, 64u << 20, &f->c, &err), WQ_OK);
    uint64_t hwm;
    assert_int_equal(wq_central_hwm(f->c, s.agent, s.inc, &hwm, &err), WQ_OK);
    assert_int_equal(hwm, 5);
    wq_table_t *t = tc_query(f->c, "summary", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "area"), "130000");
    assert_string_equal(tc_str(t, 0, "area_name"), "河北省");
    assert_int_equal(tc_int(t, 0, "visits"), 5);
    wq_table_destroy(&t);
    t = tc_query(f->c, "agents", "now_ms=7000", "hours=1", NULL);
    assert_int_equal(tc_int(t, 0, "backlog"), 4);
    assert_int_equal(tc_int(t, 0, "last_seq"), 9);
    assert_string_equal(tc_str(t, 0, "synced_recently"), "yes");
    assert_string_equal(tc_str(t, 0, "county_name"), "长安区");
    wq_table_destroy(&t);
    t = tc_query(f->c, "agents", "now_ms=99000000", "hours=1", NULL);
    assert_string_equal(tc_str(t, 0, "synced_recently"), "no");
    wq_table_destroy(&t);
    assert_int_equal(s_verify(f->c), 0);
    tc_stream_free(&s);
}

static void
test_map_full(void **state)
{
    fx_t *f = *state;
    char *dir = ts_tmpdir();
    wq_central_t *c = NULL;
    wq_err_t err;
    assert_int_equal(wq_central_open(dir, 1u << 20, &c, &err), WQ_OK);
    tc_stream_t s;
    char code[19], text[7001];
    tc_code(3, code);
    memset(text, 'x', 7000);
    text[7000] = '\0';
    tc_stream_init(&s, "130102-01", "130102", 0x11111111);
    for (int i = 0; i < 400; i++)
        tc_add(&s, WQ_REC_VISIT, "2019-03-05", "ent", code, "cadres", "张三", "method",
               "field_visit", "findings", text, NULL);
    uint64_t from = 1;
    int rc = WQ_OK;
    wq_ingest_result_t res;
    while (from <= s.n) {
        rc = tc_send(c, &s, from, from + 19 < s.n ? from + 19 : s.n, &res);
        if (rc != WQ_OK)
            break;
        from = res.hwm + 1;
        wq_ingest_result_clear(&res);
    }
    assert_int_equal(rc, WQ_E_FULL);
    assert_int_equal(res.stored, 0);
    assert_int_equal(res.nquarantined, 0);
    uint64_t hwm;
    assert_int_equal(wq_central_hwm(c, s.agent, s.inc, &hwm, &err), WQ_OK);
    assert_int_equal(hwm, from - 1);        /* nothing of the failed batch */
    wq_central_stats_t st;
    assert_int_equal(wq_central_stats(c, &st, &err), WQ_OK);
    assert_int_equal(st.events, from - 1);
    assert_int_equal(s_verify(c), 0);
    /* A bigger map: the agent's retry succeeds. */
    wq_central_destroy(&c);
    assert_int_equal(wq_central_open(dir, 64u << 20, &c, &err), WQ_OK);
    tc_send_all(c, &s, 50);
    assert_int_equal(wq_central_stats(c, &st, &err), WQ_OK);
    assert_int_equal(st.events, 400);
    assert_int_equal(s_verify(c), 0);
    wq_central_destroy(&c);
    ts_tmpdir_remove(&dir);
    tc_stream_free(&s);
    (void) f;
}

/*  ---- the hand-made campaign --------------------------------------------- */

typedef struct {
    tc_stream_t a, b, c;
    char e1[19], e2[19], e3[19], e4[19];
} campaign_t;

static void
build_campaign(campaign_t *k)
{
    tc_code(1, k->e1);
    tc_code(2, k->e2);
    tc_code(3, k->e3);
    tc_code(4, k->e4);
    tc_stream_init(&k->a, "130102-01", "130102", 0x11111111);   /* 长安区 */
    tc_stream_init(&k->b, "130521-01", "130521", 0x22222222);   /* 邢台县, retired 2020 */
    tc_stream_init(&k->c, "130181-01", "130181", 0x33333333);   /* 辛集市 */
    tc_stream_t *a = &k->a, *b = &k->b, *c = &k->c;
    tc_add(a, WQ_REC_ENTERPRISE, "2019-03-01", "ent", k->e1, "name", "石家庄甲化工有限公司",
           "industry", "C2614", NULL);                                                   /* 1 */
    tc_add(a, WQ_REC_ENTERPRISE, "2019-03-02", "ent", k->e2, "name", "乙食品公司", "industry",
           "C1391", NULL);                                                               /* 2 */
    tc_add(a, WQ_REC_VISIT, "2019-03-05", "ent", k->e1, "cadres", "张三", "method", "field_visit",
           NULL);                                                                        /* 3 */
    tc_add(a, WQ_REC_VISIT, "2019-04-10", "ent", k->e1, "cadres", "张三", "method", "symposium",
           NULL);                                                                        /* 4 */
    tc_add(a, WQ_REC_VISIT, "2019-04-12", "ent", k->e2, "cadres", "李四", "method",
           "expert_consultation", NULL);                                                 /* 5 */
    tc_add(a, WQ_REC_PROBLEM, "2019-03-05", "ent", k->e1, "category", "air", "severity", "serious",
           "description", "VOCs 无组织排放", NULL);                                      /* 6 P1 */
    tc_add(a, WQ_REC_PLAN, "2019-03-10", "ent", k->e1, "problem", tc_id(a, 6), "measures",
           "密闭收集", "deadline", "2019-05-31", NULL);                                   /* 7 */
    tc_add(a, WQ_REC_PROGRESS, "2019-04-01", "ent", k->e1, "problem", tc_id(a, 6), "status",
           "in_progress", NULL);                                                         /* 8 */
    tc_add(a, WQ_REC_PROBLEM, "2019-04-12", "ent", k->e2, "category", "water", "severity",
           "general", "description", "废水超标", NULL);                                  /* 9 P2 */
    tc_add(a, WQ_REC_PLAN, "2019-04-15", "ent", k->e2, "problem", tc_id(a, 9), "measures",
           "改造污水站", "deadline", "2019-04-30", NULL);                                 /* 10 */
    tc_add(a, WQ_REC_PROGRESS, "2019-05-10", "ent", k->e2, "problem", tc_id(a, 9), "status",
           "rectified", NULL);                                                           /* 11 */
    tc_add(a, WQ_REC_PROGRESS, "2019-05-20", "ent", k->e2, "problem", tc_id(a, 9), "status",
           "verified", NULL);                                                            /* 12 */
    tc_add(a, WQ_REC_SERVICE, "2019-03-20", "ent", k->e1, "kind", "law", "content", "送法律",
           NULL);                                                                        /* 13 */
    tc_add(a, WQ_REC_SERVICE, "2019-04-20", "ent", k->e2, "kind", "technology", "content",
           "送科技", NULL);                                                              /* 14 */
    tc_add(a, WQ_REC_CONSULTATION, "2019-03-15", "ent", k->e1, "channel", "reception_day",
           "question", "排污许可怎么办？", NULL);                                        /* 15 C1 */
    tc_add(a, WQ_REC_ANSWER, "2019-03-18", "ent", k->e1, "consultation", tc_id(a, 15), "answer",
           "网上申报", NULL);                                                            /* 16 */
    tc_add(a, WQ_REC_CONSULTATION, "2019-04-01", "ent", k->e2, "channel", "platform", "question",
           "补贴政策？", NULL);                                                          /* 17 C2 */
    tc_add(a, WQ_REC_CLASSIFICATION, "2019-03-25", "ent", k->e1, "class", "strict", "reason",
           "高耗能", NULL);                                                              /* 18 */
    tc_add(a, WQ_REC_CLASSIFICATION, "2019-06-01", "ent", k->e1, "class", "support", "reason",
           "整改到位", NULL);                                                            /* 19 */
    tc_add(a, WQ_REC_CLASSIFICATION, "2019-04-25", "ent", k->e2, "class", "normal", "reason",
           "一般", NULL);                                                                /* 20 */
    tc_add(a, WQ_REC_PROBLEM, "2019-04-10", "ent", k->e1, "category", "noise", "severity", "minor",
           "description", "噪声", NULL);                                                 /* 21 P3 */
    tc_add(a, WQ_REC_RETRACTION, "2019-04-11", "target", tc_id(a, 21), "reason", "记错企业",
           NULL);                                                                        /* 22 */
    tc_add(a, WQ_REC_CORRECTION, "2019-04-11", "target", tc_id(a, 4), "of", "visit",
           "set.method", "enforcement_inspection", "reason", "方式记错", NULL);          /* 23 */
    tc_add(a, WQ_REC_PLAN, "2019-06-01", "ent", k->e1, "problem", tc_id(a, 6), "measures",
           "延期", "deadline", "2019-07-15", NULL);                                       /* 24 */

    tc_add(b, WQ_REC_ENTERPRISE, "2019-05-01", "ent", k->e3, "name", "丙钢铁", "industry", "C3110",
           NULL);                                                                        /* 1 */
    tc_add(b, WQ_REC_VISIT, "2019-05-02", "ent", k->e3, "cadres", "王五", "method", "field_visit",
           NULL);                                                                        /* 2 */
    tc_add(b, WQ_REC_PROBLEM, "2019-05-02", "ent", k->e3, "category", "solid_waste", "severity",
           "general", "description", "固废堆放", NULL);                                  /* 3 P4 */
    tc_add(b, WQ_REC_PLAN, "2019-05-03", "ent", k->e3, "problem", tc_id(b, 3), "measures", "清运",
           "deadline", "2019-06-15", NULL);                                               /* 4 */
    tc_add(b, WQ_REC_PROGRESS, "2019-06-20", "ent", k->e3, "problem", tc_id(b, 3), "status",
           "rectified", NULL);                                                           /* 5 */
    tc_add(b, WQ_REC_CONSULTATION, "2019-05-05", "ent", k->e3, "channel", "other", "question",
           "问题", NULL);                                                                /* 6 C3 */
    tc_add(b, WQ_REC_ANSWER, "2019-05-12", "ent", k->e3, "consultation", tc_id(b, 6), "answer",
           "答复", NULL);                                                                /* 7 */
    tc_add(b, WQ_REC_SERVICE, "2019-05-06", "ent", k->e3, "kind", "policy", "content", "送政策",
           NULL);                                                                        /* 8 */

    tc_add(c, WQ_REC_VISIT, "2019-06-05", "ent", k->e4, "cadres", "赵六", "method", "field_visit",
           NULL);                                                                        /* 1 */
    tc_add(c, WQ_REC_PROBLEM, "2019-06-05", "ent", k->e4, "category", "permits", "severity",
           "general", "description", "手续不全", NULL);                                  /* 2 P5 */
    tc_add(c, WQ_REC_PLAN, "2019-06-06", "ent", k->e4, "problem", tc_id(c, 2), "measures", "补办",
           "deadline", "2019-06-30", NULL);                                               /* 3 */
}

static void
free_campaign(campaign_t *k)
{
    tc_stream_free(&k->a);
    tc_stream_free(&k->b);
    tc_stream_free(&k->c);
}

typedef struct {
    const char *col;
    int64_t v;
} want_t;

static void
check_row(const wq_table_t *t, const char *area, const want_t *w)
{
    size_t r = tc_row(t, "area", area);
    for (; w->col; w++)
        if (tc_int(t, r, w->col) != w->v)
            fail_msg("%s %s: got %lld, want %lld", area, w->col, (long long) tc_int(t, r, w->col),
                     (long long) w->v);
}

static void
check_campaign_views(wq_central_t *c)
{
    wq_table_t *t = tc_query(c, "summary", "level=county", "asof=2019-07-16", NULL);
    assert_string_equal(tc_str(t, tc_row(t, "area", "130521"), "area_name"), "邢台县");
    check_row(t, "130102", (want_t[]){{"enterprises_registered", 2}, {"enterprises_visited", 2},
                                       {"visits", 3}, {"visits_field_visit", 1},
                                       {"visits_symposium", 0}, {"visits_expert_consultation", 1},
                                       {"visits_enforcement_inspection", 1}, {"problems", 2},
                                       {"problems_air", 1}, {"problems_water", 1},
                                       {"problems_noise", 0}, {"problems_open", 0},
                                       {"problems_in_progress", 1}, {"problems_rectified", 0},
                                       {"problems_verified", 1}, {"plans", 3}, {"overdue", 1},
                                       {"services", 2}, {"services_law", 1},
                                       {"services_technology", 1}, {"consultations", 2},
                                       {"consultations_answered", 1}, {"answer_days_median", 3},
                                       {"class_support", 1}, {"class_normal", 1},
                                       {"class_strict", 0}, {NULL, 0}});
    check_row(t, "130521", (want_t[]){{"enterprises_registered", 1}, {"enterprises_visited", 1},
                                       {"visits", 1}, {"problems", 1},
                                       {"problems_solid_waste", 1}, {"problems_rectified", 1},
                                       {"plans", 1}, {"overdue", 0}, {"services_policy", 1},
                                       {"consultations", 1}, {"consultations_answered", 1},
                                       {"answer_days_median", 7}, {NULL, 0}});
    check_row(t, "130181", (want_t[]){{"enterprises_registered", 0}, {"enterprises_visited", 1},
                                       {"visits", 1}, {"problems_permits", 1},
                                       {"problems_open", 1}, {"plans", 1}, {"overdue", 1},
                                       {"services", 0}, {"consultations", 0},
                                       {"answer_days_median", -1}, {NULL, 0}});
    check_row(t, "130105", (want_t[]){{"visits", 0}, {"problems", 0}, {NULL, 0}});
    wq_table_destroy(&t);

    t = tc_query(c, "summary", "level=city", "asof=2019-07-16", NULL);
    assert_int_equal(wq_table_nrows(t), 11);
    check_row(t, "130100", (want_t[]){{"enterprises_registered", 2}, {"enterprises_visited", 3},
                                       {"visits", 4}, {"problems", 3}, {"problems_open", 1},
                                       {"problems_in_progress", 1}, {"problems_verified", 1},
                                       {"plans", 4}, {"overdue", 2}, {"services", 2},
                                       {"consultations", 2}, {"answer_days_median", 3},
                                       {NULL, 0}});
    check_row(t, "130500", (want_t[]){{"enterprises_registered", 1}, {"visits", 1},
                                       {"problems", 1}, {"answer_days_median", 7}, {NULL, 0}});
    wq_table_destroy(&t);

    t = tc_query(c, "summary", "asof=2019-07-16", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    check_row(t, "130000", (want_t[]){{"enterprises_registered", 3}, {"enterprises_visited", 4},
                                       {"visits", 5}, {"visits_field_visit", 3},
                                       {"visits_expert_consultation", 1},
                                       {"visits_enforcement_inspection", 1}, {"problems", 4},
                                       {"problems_open", 1}, {"problems_in_progress", 1},
                                       {"problems_rectified", 1}, {"problems_verified", 1},
                                       {"plans", 5}, {"overdue", 2}, {"services", 3},
                                       {"consultations", 3}, {"consultations_answered", 2},
                                       {"answer_days_median", 3}, {"class_support", 1},
                                       {"class_normal", 1}, {"class_strict", 0}, {NULL, 0}});
    wq_table_destroy(&t);

    /* April 2019 only. */
    t = tc_query(c, "summary", "from=2019-04", "to=2019-04", "asof=2019-05-01", NULL);
    check_row(t, "130000", (want_t[]){{"enterprises_registered", 0}, {"enterprises_visited", 1},
                                       {"visits", 2}, {"visits_enforcement_inspection", 1},
                                       {"visits_expert_consultation", 1}, {"problems", 1},
                                       {"problems_water", 1}, {"plans", 1}, {"overdue", 1},
                                       {"services", 1}, {"consultations", 1},
                                       {"consultations_answered", 0}, {"answer_days_median", -1},
                                       {"class_normal", 1}, {"class_support", 0}, {NULL, 0}});
    wq_table_destroy(&t);
    t = tc_query(c, "summary", "level=county", "area=130500", "from=2019-05", "to=2019-12",
                 NULL);
    assert_int_equal(wq_table_nrows(t), 22);   /* 130500: counties of 2019 and today, zones */
    wq_table_destroy(&t);
}

/*  Overdue as of several dates: (asof, count, first problem, its days). */
static void
check_overdue(wq_central_t *c, const campaign_t *k)
{
    struct {
        const char *asof;
        size_t n;
        const char *first;
        int64_t days;
    } cases[] = {
        {"2019-04-30", 0, NULL, 0},
        {"2019-05-01", 1, tc_id(&k->a, 9), 1},
        {"2019-05-10", 0, NULL, 0},
        {"2019-06-18", 1, tc_id(&k->b, 3), 3},
        {"2019-06-20", 0, NULL, 0},
        {"2019-07-01", 1, tc_id(&k->c, 2), 1},
        {"2019-07-16", 2, tc_id(&k->c, 2), 16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char asof[32];
        snprintf(asof, sizeof asof, "asof=%s", cases[i].asof);
        wq_table_t *t = tc_query(c, "overdue", asof, NULL);
        if (wq_table_nrows(t) != cases[i].n)
            fail_msg("overdue %s: %zu rows, want %zu", cases[i].asof, wq_table_nrows(t),
                     cases[i].n);
        if (cases[i].n) {
            assert_string_equal(tc_str(t, 0, "problem"), cases[i].first);
            assert_int_equal(tc_int(t, 0, "days_overdue"), cases[i].days);
        }
        wq_table_destroy(&t);
    }
    wq_table_t *t = tc_query(c, "overdue", "asof=2019-07-16", NULL);
    size_t r = tc_row(t, "problem", tc_id(&k->a, 6));
    assert_string_equal(tc_str(t, r, "ent"), k->e1);
    assert_string_equal(tc_str(t, r, "enterprise_name"), "石家庄甲化工有限公司");
    assert_string_equal(tc_str(t, r, "county_name"), "长安区");
    assert_string_equal(tc_str(t, r, "category"), "air");
    assert_string_equal(tc_str(t, r, "deadline"), "2019-07-15");
    assert_string_equal(tc_str(t, r, "status"), "in_progress");
    assert_int_equal(tc_int(t, r, "days_overdue"), 1);
    r = tc_row(t, "problem", tc_id(&k->c, 2));
    assert_null(tc_str(t, r, "enterprise_name"));    /* E4 never registered */
    wq_table_destroy(&t);
    t = tc_query(c, "overdue", "asof=2019-07-16", "area=130100", NULL);
    assert_int_equal(wq_table_nrows(t), 2);
    wq_table_destroy(&t);
    t = tc_query(c, "overdue", "asof=2019-07-16", "area=130181", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    wq_table_destroy(&t);
}

static void
check_case_file(wq_central_t *c, const campaign_t *k)
{
    char code[32];
    snprintf(code, sizeof code, "code=%s", k->e1);
    wq_table_t *t = tc_query(c, "enterprise", code, NULL);
    static const char *const types[] = {
        "enterprise", "visit", "problem", "plan", "consultation", "answer", "service",
        "classification", "progress", "visit", "problem", "retraction", "correction",
        "classification", "plan"};
    assert_int_equal(wq_table_nrows(t), 15);
    for (size_t i = 0; i < 15; i++)
        assert_string_equal(tc_str(t, i, "type"), types[i]);
    assert_string_equal(tc_str(t, 0, "date"), "2019-03-01");
    assert_string_equal(tc_str(t, 9, "id"), tc_id(&k->a, 4));
    assert_string_equal(tc_str(t, 9, "effect"), "corrected");
    assert_non_null(strstr(tc_str(t, 9, "summary"), "enforcement_inspection"));
    assert_string_equal(tc_str(t, 10, "effect"), "retracted");
    assert_string_equal(tc_str(t, 2, "status"), "in_progress");
    assert_string_equal(tc_str(t, 2, "entity"), "P:130102-01/11111111/6");
    assert_string_equal(tc_str(t, 4, "status"), "answered");
    assert_string_equal(tc_str(t, 11, "effect"), "effective");
    assert_string_equal(tc_str(t, 13, "status"), "support");
    wq_table_destroy(&t);

    wq_param_t p = {"code", "91130100MA9999999X"};
    wq_err_t err;
    char missing[19];
    tc_code(777, missing);
    p.value = missing;
    assert_int_equal(wq_central_query(c, "enterprise", &p, 1, &t, &err), WQ_E_NOTFOUND);
    assert_null(t);
    p.value = "not-a-code";
    assert_int_equal(wq_central_query(c, "enterprise", &p, 1, &t, &err), WQ_E_FORMAT);
}

static void
test_campaign_views(void **state)
{
    fx_t *f = *state;
    campaign_t k;
    build_campaign(&k);
    tc_send_all(f->c, &k.a, 5);
    tc_send_all(f->c, &k.b, 3);
    tc_send_all(f->c, &k.c, 1);
    check_campaign_views(f->c);
    check_overdue(f->c, &k);
    check_case_file(f->c, &k);
    assert_int_equal(s_verify(f->c), 0);
    free_campaign(&k);
}

/*  The same campaign, streams interleaved the other way and one record
    at a time: a plan before its problem is counted when the problem comes. */
static void
test_campaign_reverse_streams(void **state)
{
    fx_t *f = *state;
    campaign_t k;
    build_campaign(&k);
    tc_send_all(f->c, &k.c, 2);
    tc_send_all(f->c, &k.b, 1);
    tc_send_all(f->c, &k.a, 24);
    check_campaign_views(f->c);
    check_overdue(f->c, &k);
    assert_int_equal(s_verify(f->c), 0);
    free_campaign(&k);
}

static void
test_out_of_order_references(void **state)
{
    fx_t *f = *state;
    char code[19];
    tc_code(5, code);
    /* Agent x (county 130102) records the problem; agent y of the same
       county records the plan, a correction of the problem and an answer
       before x has synced. */
    tc_stream_t x, y;
    tc_stream_init(&x, "130102-01", "130102", 0x11111111);
    tc_stream_init(&y, "130102-02", "130102", 0x55555555);
    tc_add(&x, WQ_REC_PROBLEM, "2019-03-05", "ent", code, "category", "air", "severity", "general",
           "description", "d", NULL);
    tc_add(&x, WQ_REC_CONSULTATION, "2019-03-05", "ent", code, "channel", "platform", "question",
           "q", NULL);
    tc_add(&y, WQ_REC_PLAN, "2019-03-06", "ent", code, "problem", tc_id(&x, 1), "measures", "m",
           "deadline", "2019-03-20", NULL);
    tc_add(&y, WQ_REC_CORRECTION, "2019-03-07", "target", tc_id(&x, 1), "of", "problem",
           "set.category", "water", "reason", "r", NULL);
    tc_add(&y, WQ_REC_ANSWER, "2019-03-09", "ent", code, "consultation", tc_id(&x, 2), "answer",
           "a", NULL);
    tc_add(&y, WQ_REC_RETRACTION, "2019-03-10", "target", tc_id(&y, 2), "reason", "r", NULL);
    tc_send_all(f->c, &y, 10);
    wq_table_t *t = tc_query(f->c, "summary", "level=county", "area=130102", "asof=2019-04-01",
                             NULL);
    assert_int_equal(tc_int(t, 0, "plans"), 0);
    assert_int_equal(tc_int(t, 0, "problems"), 0);
    assert_int_equal(tc_int(t, 0, "consultations_answered"), 0);
    assert_int_equal(tc_int(t, 0, "overdue"), 0);
    wq_table_destroy(&t);
    assert_int_equal(s_verify(f->c), 0);
    tc_send_all(f->c, &x, 10);
    t = tc_query(f->c, "summary", "level=county", "area=130102", "asof=2019-04-01", NULL);
    assert_int_equal(tc_int(t, 0, "plans"), 1);
    assert_int_equal(tc_int(t, 0, "problems"), 1);
    /* The correction to water was itself retracted: air stands. */
    assert_int_equal(tc_int(t, 0, "problems_air"), 1);
    assert_int_equal(tc_int(t, 0, "problems_water"), 0);
    assert_int_equal(tc_int(t, 0, "consultations_answered"), 1);
    assert_int_equal(tc_int(t, 0, "answer_days_median"), 4);
    assert_int_equal(tc_int(t, 0, "overdue"), 1);
    wq_table_destroy(&t);
    assert_int_equal(s_verify(f->c), 0);
    tc_stream_free(&x);
    tc_stream_free(&y);
}

/*  Overdue follows the rectification history: a problem rectified before
    the as-of date and reopened after it was not overdue then. */
static void
test_overdue_reopen(void **state)
{
    fx_t *f = *state;
    char code[19];
    tc_code(9, code);
    tc_stream_t s;
    tc_stream_init(&s, "130102-01", "130102", 0x11111111);
    tc_add(&s, WQ_REC_PROBLEM, "2019-03-01", "ent", code, "category", "air", "severity", "general",
           "description", "X", NULL);                                                   /* 1 X */
    tc_add(&s, WQ_REC_PLAN, "2019-03-02", "ent", code, "problem", tc_id(&s, 1), "measures", "m",
           "deadline", "2019-03-20", NULL);
    tc_add(&s, WQ_REC_PROGRESS, "2019-03-15", "ent", code, "problem", tc_id(&s, 1), "status",
           "rectified", NULL);
    tc_add(&s, WQ_REC_PROGRESS, "2019-04-01", "ent", code, "problem", tc_id(&s, 1), "status",
           "reopened", NULL);
    tc_add(&s, WQ_REC_PROGRESS, "2019-04-05", "ent", code, "problem", tc_id(&s, 1), "status",
           "in_progress", NULL);
    tc_add(&s, WQ_REC_PROGRESS, "2019-05-01", "ent", code, "problem", tc_id(&s, 1), "status",
           "verified", NULL);
    tc_add(&s, WQ_REC_PROBLEM, "2019-03-01", "ent", code, "category", "water", "severity",
           "general", "description", "Y", NULL);                                       /* 7 Y */
    tc_add(&s, WQ_REC_PLAN, "2019-03-02", "ent", code, "problem", tc_id(&s, 7), "measures", "m",
           "deadline", "2019-03-10", NULL);
    tc_add(&s, WQ_REC_PROGRESS, "2019-03-12", "ent", code, "problem", tc_id(&s, 7), "status",
           "rectified", NULL);
    tc_add(&s, WQ_REC_PROGRESS, "2019-03-12", "ent", code, "problem", tc_id(&s, 7), "status",
           "reopened", NULL);
    tc_send_all(f->c, &s, 3);
    struct {
        const char *asof;
        const char *x_days, *y_days;   /* NULL: not overdue */
    } cases[] = {
        {"2019-03-10", NULL, NULL}, {"2019-03-11", NULL, "1"},  {"2019-03-12", NULL, "2"},
        {"2019-03-21", NULL, "11"}, {"2019-04-01", "12", "22"}, {"2019-04-30", "41", "51"},
        {"2019-05-01", NULL, "52"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char asof[32];
        snprintf(asof, sizeof asof, "asof=%s", cases[i].asof);
        wq_table_t *t = tc_query(f->c, "overdue", asof, NULL);
        size_t want = (cases[i].x_days != NULL) + (cases[i].y_days != NULL);
        if (wq_table_nrows(t) != want)
            fail_msg("asof %s: %zu overdue, want %zu", cases[i].asof, wq_table_nrows(t), want);
        for (size_t r = 0; r < want; r++) {
            bool x = !strcmp(tc_str(t, r, "problem"), tc_id(&s, 1));
            char days[16];
            snprintf(days, sizeof days, "%lld", (long long) tc_int(t, r, "days_overdue"));
            assert_string_equal(days, x ? cases[i].x_days : cases[i].y_days);
        }
        wq_table_destroy(&t);
        t = tc_query(f->c, "summary", asof, NULL);
        assert_int_equal(tc_int(t, 0, "overdue"), (int64_t) want);
        assert_int_equal(tc_int(t, 0, "problems_verified"), 1);
        assert_int_equal(tc_int(t, 0, "problems_open"), 1);
        wq_table_destroy(&t);
    }
    assert_int_equal(s_verify(f->c), 0);
    tc_stream_free(&s);
}

static void
test_verify_detects(void **state)
{
    fx_t *f = *state;
    campaign_t k;
    build_campaign(&k);
    tc_send_all(f->c, &k.a, 7);
    tc_send_all(f->c, &k.b, 7);
    tc_send_all(f->c, &k.c, 7);
    assert_int_equal(s_verify(f->c), 0);
    wq_central_destroy(&f->c);
    /* Corrupt one counter directly: 130102 2019-03 visits/field_visit + 1. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    wq_err_t err;
    assert_int_equal(wq_store_open(f->dir, 64u << 20, 16, &env, &err), WQ_OK);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "views", 0, &dbi), 0);
    uint8_t key[16];
    memcpy(key, "1301022019-03", 13);
    key[13] = 3;    /* visits */
    key[14] = 0;
    key[15] = WQ_METHOD_FIELD;
    MDB_val kv = {16, key}, vv;
    assert_int_equal(mdb_get(txn, dbi, &kv, &vv), 0);
    int64_t n;
    memcpy(&n, vv.mv_data, 8);
    assert_int_equal(n, 1);
    n = 2;
    vv.mv_data = &n;
    vv.mv_size = 8;
    assert_int_equal(mdb_put(txn, dbi, &kv, &vv, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(wq_central_open(f->dir, 64u << 20, &f->c, &err), WQ_OK);
    assert_int_equal(s_verify(f->c), 1);
    free_campaign(&k);
}

static void
test_query_errors(void **state)
{
    fx_t *f = *state;
    wq_table_t *t = NULL;
    wq_err_t err;
    wq_param_t p[1];
    wq_ingest_result_t res;
    assert_int_equal(wq_central_query(f->c, "nope", NULL, 0, &t, &err), WQ_E_UNKNOWN);
    p[0] = (wq_param_t){"colour", "red"};
    assert_int_equal(wq_central_query(f->c, "summary", p, 1, &t, &err), WQ_E_UNKNOWN);
    assert_string_equal(err.field, "colour");
    p[0] = (wq_param_t){"level", "village"};
    assert_int_equal(wq_central_query(f->c, "summary", p, 1, &t, &err), WQ_E_FORMAT);
    p[0] = (wq_param_t){"from", "2019-13"};
    assert_int_equal(wq_central_query(f->c, "summary", p, 1, &t, &err), WQ_E_FORMAT);
    p[0] = (wq_param_t){"asof", "2019-02-30"};
    assert_int_equal(wq_central_query(f->c, "overdue", p, 1, &t, &err), WQ_E_FORMAT);
    p[0] = (wq_param_t){"area", "13010"};
    assert_int_equal(wq_central_query(f->c, "agents", p, 1, &t, &err), WQ_E_FORMAT);
    assert_int_equal(wq_central_query(f->c, "enterprise", NULL, 0, &t, &err), WQ_E_MISSING);
    assert_int_equal(wq_central_ingest(f->c, "bad agent", "130102", 1, 1, NULL, 0, 0, &res, &err),
                     WQ_E_FORMAT);
    assert_int_equal(wq_central_ingest(f->c, "a-1", NULL, 1, 1, NULL, 0, 0, &res, &err),
                     WQ_E_FORMAT);
    assert_int_equal(wq_central_ingest(f->c, "a-1", "130102", 0, 1, NULL, 0, 0, &res, &err),
                     WQ_E_RANGE);
    assert_int_equal(wq_central_touch(f->c, "a-1", "1301", 1, 0, 0, 0, &err), WQ_E_FORMAT);
    assert_null(t);
    /* An empty store answers with zero rows / zero counts. */
    t = tc_query(f->c, "summary", "level=county", NULL);
    assert_int_equal(wq_table_ncols(t), 49);
    assert_int_equal(wq_table_nrows(t), 193);   /* 2019 + current counties and zones */
    for (size_t r = 0; r < wq_table_nrows(t); r++)
        assert_int_equal(tc_int(t, r, "visits"), 0);
    wq_table_destroy(&t);
    assert_int_equal(s_verify(f->c), 0);
}

/*  ---- group commit ---------------------------------------------------------- */

/*  Point b at records from..to of s. */
static void
s_group_batch(wq_ingest_batch_t *b, const tc_stream_t *s, uint64_t from, uint64_t to, wq_blob_t *blobs)
{
    memset(b, 0, sizeof *b);
    for (uint64_t i = from; i <= to; i++) {
        blobs[i - from].data = s->data[i - 1];
        blobs[i - from].size = s->size[i - 1];
    }
    b->agent = s->agent;
    b->county = s->county;
    b->inc = s->inc;
    b->first_seq = from;
    b->records = blobs;
    b->count = (size_t) (to - from + 1);
}

/*  Several batches of two streams in one transaction: each outcome is what
    it would be alone, in order (a later batch of a stream sees the mark an
    earlier one raised; a gap refuses only its batch); a batch that fails
    otherwise sends the group batch by batch and fails only itself. */
static void
test_group_commit(void **state)
{
    fx_t *f = *state;
    tc_stream_t a, b;
    tc_stream_init(&a, "130102-01", "130102", 0x11111111);
    tc_stream_init(&b, "130102-02", "130102", 0x22222222);
    add_visits(&a, 10);
    add_visits(&b, 10);
    wq_blob_t blobs[5][10];
    wq_ingest_batch_t g[5];
    s_group_batch(&g[0], &a, 1, 4, blobs[0]);
    s_group_batch(&g[1], &b, 3, 5, blobs[1]);   /* gap: b holds nothing */
    s_group_batch(&g[2], &a, 3, 6, blobs[2]);   /* 3, 4 duplicates of g[0] */
    s_group_batch(&g[3], &b, 1, 2, blobs[3]);
    wq_central_ingest_group(f->c, g, 4, 1000);
    assert_int_equal(g[0].rc, WQ_OK);
    assert_int_equal(g[0].res.hwm, 4);
    assert_int_equal(g[0].res.stored, 4);
    assert_int_equal(g[1].rc, WQ_E_GAP);
    assert_int_equal(g[1].res.hwm, 0);
    assert_int_equal(g[2].rc, WQ_OK);
    assert_int_equal(g[2].res.hwm, 6);
    assert_int_equal(g[2].res.stored, 2);
    assert_int_equal(g[2].res.duplicates, 2);
    assert_int_equal(g[3].rc, WQ_OK);
    assert_int_equal(g[3].res.hwm, 2);
    for (int i = 0; i < 4; i++)
        wq_ingest_result_clear(&g[i].res);

    /* A batch that cannot be taken (a bad agent id) fails alone. */
    s_group_batch(&g[0], &a, 7, 10, blobs[0]);
    s_group_batch(&g[1], &b, 3, 10, blobs[1]);
    g[1].agent = "bad agent";
    s_group_batch(&g[2], &b, 3, 10, blobs[2]);
    wq_central_ingest_group(f->c, g, 3, 1000);
    assert_int_equal(g[0].rc, WQ_OK);
    assert_int_equal(g[0].res.hwm, 10);
    assert_int_equal(g[1].rc, WQ_E_FORMAT);
    assert_int_equal(g[2].rc, WQ_OK);
    assert_int_equal(g[2].res.hwm, 10);
    assert_int_equal(g[2].res.stored, 8);
    for (int i = 0; i < 3; i++)
        wq_ingest_result_clear(&g[i].res);

    wq_central_stats_t st;
    wq_err_t err;
    assert_int_equal(wq_central_stats(f->c, &st, &err), WQ_OK);
    assert_int_equal(st.events, 20);
    assert_int_equal(st.streams, 2);
    wq_table_t *t = tc_query(f->c, "summary", "level=county", "area=130102", NULL);
    assert_int_equal(tc_int(t, 0, "visits"), 20);
    wq_table_destroy(&t);
    assert_int_equal(s_verify(f->c), 0);
    tc_stream_free(&a);
    tc_stream_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ingest_dup_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incarnations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaign_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaign_reverse_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_references, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overdue_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_detects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
