/*  =========================================================================
    test_sec_ownership - a county's agents write only their county

    Issue 10, finding 1: an agent of 130627 sent progress `verified` for a
    130102 problem, an answer to a 130102 consultation, a later profile and
    a `punish` classification for a 130102 enterprise. Before the fix
    130102's open problems went 1 -> 0, overdue 1 -> 0, answered 0 -> 1,
    registered 1 -> 0 and the enterprise moved to 130627. Now those records
    are FOREIGN: they count nowhere, the case file marks them, `wanqi-query
    foreign` lists them, and `verify` recomputes exactly that. An operator
    transfer (`wanqi-collector transfer`) moves an enterprise that really
    moved county.
    =========================================================================
*/
#include "tests/collector/it_collector.h"

#define A_ID "130102-01"     /* 长安区 */
#define A_COUNTY "130102"
#define B_ID "130627-01"     /* 唐县 */
#define B_COUNTY "130627"
#define A_INC 0x0a0a0a0au
#define B_INC 0x0b0b0b0bu

/*  A record of a's stream: type with date and extra field=value pairs. */
static wq_blob_t
s_rec(const it_agent_t *a, uint64_t seq, const char *type, const char *date, const char *ent,
      const char *const *kv)
{
    wq_record_t *r = wq_record_new(wq_rec_type_parse(type));
    assert_non_null(r);
    wq_record_set_identity(r, a->agent, a->inc, seq, 1559347200000ull + seq);
    it_set(r, "date", date);
    it_set(r, "county", a->county);
    it_set(r, "ent", ent);
    for (size_t i = 0; kv && kv[i]; i += 2)
        it_set(r, kv[i], kv[i + 1]);
    wq_err_t err;
    if (wq_record_validate(r, &err) != WQ_OK)
        fail_msg("test record invalid: %s: %s", err.field, err.text);
    uint8_t *buf = NULL;
    size_t size = 0;
    assert_int_equal(wq_record_encode(r, &buf, &size), WQ_OK);
    wq_record_destroy(&r);
    wq_blob_t b = {buf, size};
    return b;
}

/*  wanqi-query with up to 12 arguments (NULL-terminated). */
static int
s_query(it_env_t *env, char **out, const char *const *args)
{
    char *argv[24] = {(char *) ts_bin("wanqi-query"), "--dir", env->qdir, "--collector", env->query,
                      "--collector-key", env->key, "--timeout", "20"};
    int n = 9;
    for (int i = 0; args[i] && n < 22; i++)
        argv[n++] = (char *) args[i];
    argv[n] = NULL;
    return it_run(out, NULL, argv);
}

static void
s_send_acked(it_agent_t *a, uint64_t first, wq_blob_t *blobs, size_t n)
{
    it_send_batch_blobs(a, first, blobs, n);
    wq_msg_t *ack = it_expect(a, WQ_MSG_ACK);
    assert_int_equal(ack->ack.hwm, first + n - 1);
    assert_int_equal(ack->ack.count, 0);    /* stored, not quarantined: the fold refuses */
    wq_msg_destroy(&ack);
}

typedef struct {
    long long registered, open, verified, overdue, answered, punish, visits;
} s_fig_t;

static s_fig_t
s_figures(it_env_t *env, const char *county)
{
    char *out = NULL;
    const char *args[] = {"summary", "--level", "county", "--asof", "2019-06-01", "--format",
                          "json", NULL};
    int rc = s_query(env, &out, args);
    assert_int_equal(rc, 0);
    it_rows_t rows = it_json_rows(out);
    const wq_json_object_t *row = NULL;
    if (it_rows_where(&rows, "area", county, &row) != 1)
        fail_msg("summary: no row for %s", county);
    s_fig_t f = {it_int(row, "enterprises_registered"), it_int(row, "problems_open"),
                 it_int(row, "problems_verified"), it_int(row, "overdue"),
                 it_int(row, "consultations_answered"), it_int(row, "class_punish"),
                 it_int(row, "visits")};
    it_rows_free(&rows);
    free(out);
    return f;
}

static void
s_verify(it_env_t *env)
{
    char *out = NULL;
    char *argv[] = {(char *) ts_bin("wanqi-collector"), "verify", "--dir", env->cdir, NULL};
    int rc = it_run(&out, NULL, argv);
    if (rc != 0)
        fail_msg("verify exit %d: %s", rc, out ? out : "");
    free(out);
}

/*  How many rows of `wanqi-query foreign` have county sender. */
static size_t
s_foreign_rows(it_env_t *env, const char *area, const char *sender)
{
    char *out = NULL;
    const char *args[] = {"foreign", "--area", area, "--format", "json", NULL};
    int rc = s_query(env, &out, args);
    assert_int_equal(rc, 0);
    it_rows_t rows = it_json_rows(out);
    size_t n = it_rows_where(&rows, "county", sender, NULL);
    it_rows_free(&rows);
    free(out);
    return n;
}

/*  The effect the case file gives to event id. */
static char *
s_effect(it_env_t *env, const char *code, const char *id)
{
    char *out = NULL;
    const char *args[] = {"enterprise", code, "--format", "json", NULL};
    assert_int_equal(s_query(env, &out, args), 0);
    it_rows_t rows = it_json_rows(out);
    const wq_json_object_t *row = NULL;
    if (it_rows_where(&rows, "id", id, &row) != 1)
        fail_msg("case file of %s has no single row %s", code, id);
    char *eff = strdup(it_cell(row, "effect"));
    it_rows_free(&rows);
    free(out);
    return eff;
}

static void
test_foreign_county_cannot_touch_figures(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    zcert_t *cb = it_authorize_agent(&env, B_ID, B_COUNTY);
    it_start(&env);
    it_agent_t a, b;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, A_INC);
    it_agent_connect(&b, &env, cb, B_ID, B_COUNTY, B_INC);
    assert_int_equal(it_hello(&a), 0);
    assert_int_equal(it_hello(&b), 0);
    char ent[19];
    it_credit_code(4242, ent);

    /* 130102 registers its enterprise, opens a problem with a deadline in
       the past (overdue on 2019-06-01) and receives a consultation. */
    char pid[WQ_EVENT_ID_MAX], cid[WQ_EVENT_ID_MAX];
    wq_event_id_format(A_ID, A_INC, 2, pid);
    wq_event_id_format(A_ID, A_INC, 4, cid);
    const char *reg[] = {"name", "石家庄被测企业有限公司", "industry", "C3110", NULL};
    const char *prob[] = {"category", "air", "severity", "serious", "description", "废气超标", NULL};
    const char *plan[] = {"problem", pid, "measures", "安装治理设施", "goal", "达标排放",
                          "deadline", "2019-04-01", NULL};
    const char *cons[] = {"channel", "platform", "question", "排污许可怎么办？", NULL};
    wq_blob_t ab[4] = {s_rec(&a, 1, "enterprise", "2019-03-01", ent, reg),
                       s_rec(&a, 2, "problem", "2019-03-02", ent, prob),
                       s_rec(&a, 3, "plan", "2019-03-03", ent, plan),
                       s_rec(&a, 4, "consultation", "2019-03-04", ent, cons)};
    s_send_acked(&a, 1, ab, 4);
    s_fig_t before = s_figures(&env, A_COUNTY);
    assert_int_equal(before.registered, 1);
    assert_int_equal(before.open, 1);
    assert_int_equal(before.overdue, 1);
    assert_int_equal(before.answered, 0);

    /* 130627 attacks: verifies the problem, answers the consultation,
       re-registers the enterprise later, classifies it `punish`, visits it. */
    const char *prog[] = {"problem", pid, "status", "verified", NULL};
    const char *ans[] = {"consultation", cid, "answer", "已答复", NULL};
    const char *reg2[] = {"name", "被抢走的企业", "industry", "C3110", NULL};
    const char *cls[] = {"class", "punish", "reason", "恶意", NULL};
    const char *vis[] = {"cadres", "王五", "method", "field_visit", "findings", "无", NULL};
    wq_blob_t bb[5] = {s_rec(&b, 1, "progress", "2019-03-10", ent, prog),
                       s_rec(&b, 2, "answer", "2019-03-11", ent, ans),
                       s_rec(&b, 3, "enterprise", "2019-05-01", ent, reg2),
                       s_rec(&b, 4, "classification", "2019-05-02", ent, cls),
                       s_rec(&b, 5, "visit", "2019-05-03", ent, vis)};
    s_send_acked(&b, 1, bb, 5);

    s_fig_t after = s_figures(&env, A_COUNTY);
    s_fig_t theirs = s_figures(&env, B_COUNTY);
    assert_int_equal(after.registered, 1);
    assert_int_equal(after.open, 1);
    assert_int_equal(after.verified, 0);
    assert_int_equal(after.overdue, 1);
    assert_int_equal(after.answered, 0);
    assert_int_equal(after.punish, 0);
    assert_int_equal(theirs.registered, 0);
    assert_int_equal(theirs.punish, 0);
    assert_int_equal(theirs.visits, 0);
    /* Visible to staff: listed as foreign, marked in the case file. */
    assert_int_equal(s_foreign_rows(&env, B_COUNTY, B_COUNTY), 5);
    assert_int_equal(s_foreign_rows(&env, A_COUNTY, B_COUNTY), 5);  /* owner's area too */
    char bid[WQ_EVENT_ID_MAX];
    wq_event_id_format(B_ID, B_INC, 3, bid);
    char *eff = s_effect(&env, ent, bid);
    assert_string_equal(eff, "foreign");
    free(eff);
    s_verify(&env);

    /* The operator moves the enterprise to 130627 from 2019-05-01 on: the
       enterprise and 130627's records from that date count there. */
    char *argv[] = {(char *) ts_bin("wanqi-collector"), "transfer", "--dir", env.cdir, ent,
                    B_COUNTY, "2019-05-01", NULL};
    assert_int_equal(it_run(NULL, NULL, argv), 0);
    s_fig_t moved = s_figures(&env, B_COUNTY);
    assert_int_equal(moved.registered, 1);
    assert_int_equal(moved.punish, 1);
    assert_int_equal(moved.visits, 1);
    assert_int_equal(s_figures(&env, A_COUNTY).registered, 0);
    /* The problem stays 130102's (the county that opened it). */
    assert_int_equal(s_figures(&env, A_COUNTY).open, 1);
    assert_int_equal(s_foreign_rows(&env, B_COUNTY, B_COUNTY), 2);     /* progress, answer */
    s_verify(&env);

    it_agent_close(&a);
    it_agent_close(&b);
    zcert_destroy(&ca);
    zcert_destroy(&cb);
    it_stop(&env);
    it_teardown(&env);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_county_cannot_touch_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
