/*  The workbench's data (agent/workbench.c) on a real outbox: records built
    from form pairs with the CLI's validator (one error per wrong field,
    every missing required field named), then the ledger (current status
    and deadline, days overdue, corrections applied, retracted problems
    left out), the case book (retraction marked, correction listed under
    its target), open consultations, pickers and the sync sentence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/workbench.h"
#include "tests/agent/agent_samples.h"
#include "tests/support/testsupport.h"

#define INC 0x0badcafeu

typedef struct {
    char *dir;
    wq_outbox_t *box;
} s_fix_t;

static int
s_setup(void **state)
{
    s_fix_t *f = calloc(1, sizeof *f);
    wq_err_t err;
    f->dir = ts_tmpdir();
    f->box = as_open(f->dir, 1000, 1u << 24);
    assert_int_equal(wq_outbox_start_incarnation(f->box, AS_AGENT, INC, false, &err), WQ_OK);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fix_t *f = *state;
    wq_outbox_destroy(&f->box);
    ts_tmpdir_remove(&f->dir);
    free(f);
    return 0;
}

/*  Build from "k=v" pairs (NULL-terminated) and store; returns the id. */
static char *
s_store(s_fix_t *f, const char *type, const char *const *kv)
{
    const char *keys[32], *vals[32];
    char buf[32][256];
    size_t n = 0, nerrs = 99;
    wq_wb_fielderr_t errs[WQ_WB_MAX_ERRORS];
    wq_record_t *rec = NULL;
    wq_err_t err;
    for (; kv[n]; n++) {
        snprintf(buf[n], sizeof buf[n], "%s", kv[n]);
        char *eq = strchr(buf[n], '=');
        assert_non_null(eq);
        *eq = '\0';
        keys[n] = buf[n];
        vals[n] = eq + 1;
    }
    int rc = wq_wb_build(type, keys, vals, n, AS_COUNTY, "2019-12-31", &rec, errs, &nerrs);
    if (rc != WQ_OK)
        fail_msg("%s not built: %s: %s", type, nerrs ? errs[0].field : "?", nerrs ? errs[0].text : "?");
    assert_int_equal(nerrs, 0);
    char id[WQ_EVENT_ID_MAX];
    assert_int_equal(wq_outbox_append(f->box, rec, id, &err), WQ_OK);
    wq_record_destroy(&rec);
    return strdup(id);
}

typedef void (s_write_fn)(const wq_wb_t *wb, FILE *out, const void *arg);

static char *
s_page(s_fix_t *f, s_write_fn *fn, const void *arg)
{
    wq_wb_t *wb = NULL;
    wq_err_t err;
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(wq_wb_load(f->box, &wb, &err), WQ_OK);
    FILE *out = open_memstream(&buf, &len);
    fn(wb, out, arg);
    fclose(out);
    wq_wb_destroy(&wb);
    return buf;
}

static void
w_ledger(const wq_wb_t *wb, FILE *out, const void *arg)
{
    wq_wb_write_ledger(wb, arg, out);
}

static void
w_book(const wq_wb_t *wb, FILE *out, const void *arg)
{
    assert_int_equal(wq_wb_write_casebook(wb, arg, "2019-12-31", out), WQ_OK);
}

static void
w_open(const wq_wb_t *wb, FILE *out, const void *arg)
{
    (void) arg;
    wq_wb_write_open_consultations(wb, out);
}

static void
w_problems(const wq_wb_t *wb, FILE *out, const void *arg)
{
    wq_wb_write_records(wb, arg, WQ_REC_PROBLEM, out);
}

static void
w_ents(const wq_wb_t *wb, FILE *out, const void *arg)
{
    wq_wb_write_enterprises(wb, arg, 10, out);
}

static void
test_build_errors(void **state)
{
    (void) state;
    const char *keys[] = {"ent", "name", "focus"};
    const char *vals[] = {"91130102MA0000001X", "某公司", "nonsense"};
    wq_wb_fielderr_t errs[WQ_WB_MAX_ERRORS];
    size_t nerrs = 0;
    wq_record_t *rec = NULL;
    assert_int_equal(wq_wb_build("enterprise", keys, vals, 3, AS_COUNTY, "2019-05-01", &rec, errs,
                                 &nerrs), WQ_E_FORMAT);
    assert_null(rec);
    /* The wrong code, the unknown focus and the missing industry: all three. */
    bool ent = false, focus = false, industry = false;
    for (size_t i = 0; i < nerrs; i++) {
        ent |= strcmp(errs[i].field, "ent") == 0 && errs[i].code == WQ_E_CHECKCHAR;
        focus |= strcmp(errs[i].field, "focus") == 0 && errs[i].code == WQ_E_UNKNOWN;
        industry |= strcmp(errs[i].field, "industry") == 0 && errs[i].code == WQ_E_MISSING;
    }
    assert_true(ent && focus && industry);
    assert_string_equal(wq_wb_err_zh(WQ_E_MISSING), "必填项，请填写");
    assert_int_equal(wq_wb_build("nosuchtype", keys, vals, 0, AS_COUNTY, "2019-05-01", &rec, errs,
                                 &nerrs), WQ_E_UNKNOWN);
    /* Another county's record is refused: an agent records for its own county only. */
    const char *k2[] = {"ent", "name", "industry", "county"};
    const char *v2[] = {AS_ENT, "某公司", "C", "130104"};
    assert_int_equal(wq_wb_build("enterprise", k2, v2, 4, AS_COUNTY, "2019-05-01", &rec, errs, &nerrs),
                     WQ_E_FORMAT);
    assert_int_equal(errs[0].code, WQ_E_FOREIGN);
}

static void
test_pages(void **state)
{
    s_fix_t *f = *state;
    char *ent = s_store(f, "enterprise", (const char *[]){"date=2019-03-01", "ent=" AS_ENT,
                        "name=恒信化工", "industry=C2614", NULL});
    char *p1 = s_store(f, "problem", (const char *[]){"date=2019-03-05", "ent=" AS_ENT,
                       "category=air", "severity=serious", "description=无组织排放", NULL});
    char *p2 = s_store(f, "problem", (const char *[]){"date=2019-03-06", "ent=" AS_ENT,
                       "category=water", "severity=minor", "description=误录", NULL});
    char pk1[128], pk2[128], pk3[128], tg[128];
    snprintf(pk1, sizeof pk1, "problem=%s", p1);
    char *plan = s_store(f, "plan", (const char *[]){"date=2019-03-10", "ent=" AS_ENT, pk1,
                         "measures=除尘", "deadline=2019-06-30", NULL});
    char *prog = s_store(f, "progress", (const char *[]){"date=2019-05-01", "ent=" AS_ENT, pk1,
                         "status=in_progress", NULL});
    snprintf(tg, sizeof tg, "target=%s", p1);
    char *fix = s_store(f, "correction", (const char *[]){"date=2019-03-07", "ent=" AS_ENT, tg,
                        "of=problem", "set.description=锅炉房无组织排放", "reason=复核", NULL});
    snprintf(pk2, sizeof pk2, "target=%s", p2);
    char *del = s_store(f, "retraction", (const char *[]){"date=2019-03-07", "ent=" AS_ENT, pk2,
                        "reason=误录", NULL});
    char *q = s_store(f, "consultation", (const char *[]){"date=2019-04-01", "ent=" AS_ENT,
                      "channel=platform", "question=有补贴吗", NULL});

    char *led = s_page(f, w_ledger, "2019-12-31");
    assert_non_null(strstr(led, p1));
    assert_null(strstr(led, p2));                                   /* retracted: not in the ledger */
    assert_non_null(strstr(led, "\"description\":\"锅炉房无组织排放\""));  /* corrected */
    assert_non_null(strstr(led, "\"status\":\"in_progress\""));
    assert_non_null(strstr(led, "\"deadline\":\"2019-06-30\""));
    assert_non_null(strstr(led, "\"days_left\":-184,\"overdue\":true"));
    assert_non_null(strstr(led, "\"name\":\"恒信化工\""));
    free(led);
    led = s_page(f, w_ledger, "2019-06-01");
    assert_non_null(strstr(led, "\"days_left\":29,\"overdue\":false"));
    free(led);

    char *book = s_page(f, w_book, AS_ENT);
    char want[256];
    snprintf(want, sizeof want, "{\"id\":\"%s\",\"state\":\"queued\",\"retracted\":true", p2);
    assert_non_null(strstr(book, want));
    snprintf(want, sizeof want, "\"corrections\":[{\"id\":\"%s\",\"date\":\"2019-03-07\",\"reason\":\"复核\"", fix);
    assert_non_null(strstr(book, want));
    assert_non_null(strstr(book, plan) && strstr(book, prog) && strstr(book, del));
    free(book);

    char *open = s_page(f, w_open, NULL);
    assert_non_null(strstr(open, q));
    free(open);
    snprintf(pk3, sizeof pk3, "consultation=%s", q);
    free(s_store(f, "answer", (const char *[]){"date=2019-04-05", "ent=" AS_ENT, pk3, "answer=有", NULL}));
    open = s_page(f, w_open, NULL);
    assert_string_equal(open, "[]");
    free(open);

    char *probs = s_page(f, w_problems, AS_ENT);                    /* picker: unretracted only */
    assert_non_null(strstr(probs, p1));
    assert_null(strstr(probs, p2));
    free(probs);
    char *ents = s_page(f, w_ents, "恒信");
    assert_non_null(strstr(ents, AS_ENT));
    free(ents);
    ents = s_page(f, w_ents, "911301");
    assert_non_null(strstr(ents, AS_ENT));
    free(ents);
    ents = s_page(f, w_ents, "没有这家");
    assert_string_equal(ents, "[]");
    free(ents);

    /* Sync in words: queued with the reason, then all delivered. */
    wq_outbox_state_t st;
    wq_err_t err;
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(wq_outbox_state(f->box, &st, &err), WQ_OK);
    FILE *out = open_memstream(&buf, &len);
    wq_wb_write_sync(&st, st.oldest_unsent_ms + 3 * 86400 * 1000ull, out);
    fclose(out);
    assert_non_null(strstr(buf, "9 条待发送，最早 3 天前；原因："));
    free(buf);
    assert_int_equal(wq_outbox_ack(f->box, INC, st.last_seq, NULL, 0, &err), WQ_OK);
    assert_int_equal(wq_outbox_state(f->box, &st, &err), WQ_OK);
    out = open_memstream(&buf, &len);
    wq_wb_write_sync(&st, st.contact_ms, out);
    fclose(out);
    assert_non_null(strstr(buf, "\"ok\":true") && strstr(buf, "全部已送达省平台（最后确认 "));
    free(buf);
    free(ent), free(p1), free(p2), free(plan), free(prog), free(fix), free(del), free(q);
}

/*  A fresh outbox: every page answers, empty. */
static void
test_empty(void **state)
{
    s_fix_t *f = *state;
    wq_wb_t *wb = NULL;
    wq_err_t err;
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(wq_wb_load(f->box, &wb, &err), WQ_OK);
    FILE *out = open_memstream(&buf, &len);
    wq_wb_write_ledger(wb, "2019-12-31", out);
    wq_wb_write_enterprises(wb, "", 10, out);
    wq_wb_write_open_consultations(wb, out);
    wq_wb_write_records(wb, AS_ENT, WQ_REC_NONE, out);
    assert_int_equal(wq_wb_write_casebook(wb, AS_ENT, "2019-12-31", out), WQ_E_NOTFOUND);
    fclose(out);
    assert_string_equal(buf, "[][][][]");
    free(buf);
    wq_wb_destroy(&wb);
    wq_wb_destroy(&wb);     /* safe twice */
}

static void
test_fields(void **state)
{
    (void) state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    wq_wb_write_fields(out);
    fclose(out);
    /* Every type a person enters, with Chinese labels and enum choices from the one table. */
    assert_non_null(strstr(buf, "{\"type\":\"visit\",\"label\":\"走访\""));
    assert_non_null(strstr(buf, "{\"value\":\"field_visit\",\"label\":\"实地走访\"}"));
    assert_non_null(strstr(buf, "\"name\":\"deadline\""));
    assert_null(strstr(buf, "\"name\":\"seq\""));       /* identity fields are the agent's */
    assert_null(strstr(buf, "\"name\":\"county\""));
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test_setup_teardown(test_pages, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_empty, s_setup, s_teardown),
        cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
