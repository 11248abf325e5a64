/*  outbox fingerprints: the same content is found whatever the time it was
    recorded; a changed field is new; refs identify rows explicitly; a write
    txn sees its own additions; an outbox made before the index is indexed
    when opened; short ids ("17", "last"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <lmdb.h>
#include <string.h>
#include "agent/outbox.h"
#include "tests/agent/agent_samples.h"
#include "tests/support/testsupport.h"

static int
s_setup(void **state)
{
    *state = ts_tmpdir();
    return 0;
}

static int
s_teardown(void **state)
{
    char *dir = *state;
    ts_tmpdir_remove(&dir);
    return 0;
}

static wq_outbox_t *
s_box(const char *dir)
{
    wq_outbox_t *box = as_open(dir, 1000000, 1u << 30);
    wq_err_t err;
    wq_outbox_state_t st;
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    if (st.inc == 0)
        assert_int_equal(wq_outbox_start_incarnation(box, AS_AGENT, 0x1234abcdu, false, &err), WQ_OK);
    return box;
}

static void
test_same_content_found(void **state)
{
    wq_err_t err;
    wq_outbox_t *box = s_box(*state);
    wq_record_t *a = as_enterprise("石家庄某化工有限公司");
    char id[WQ_EVENT_ID_MAX];
    wq_outbox_match_t m;
    assert_int_equal(wq_outbox_find_same(box, a, NULL, &m, &err), WQ_OK);
    assert_false(m.found);
    assert_int_equal(wq_outbox_append(box, a, id, &err), WQ_OK);
    /* a new record with the same content, recorded later */
    wq_record_t *b = as_enterprise("石家庄某化工有限公司");
    assert_int_equal(wq_outbox_find_same(box, b, NULL, &m, &err), WQ_OK);
    assert_true(m.found);
    assert_true(m.same_content);
    assert_string_equal(m.id, id);
    assert_int_equal(m.seq, 1);
    assert_int_equal(m.type, WQ_REC_ENTERPRISE);
    assert_true(m.recorded_ms > 0);
    /* one field different: not the same */
    assert_int_equal(wq_record_set_text(b, "address", "长安区", &err), WQ_OK);
    assert_int_equal(wq_outbox_find_same(box, b, NULL, &m, &err), WQ_OK);
    assert_false(m.found);
    wq_record_destroy(&a);
    wq_record_destroy(&b);
    wq_outbox_destroy(&box);
}

static void
test_txn_sees_its_own_and_refs(void **state)
{
    wq_err_t err;
    wq_outbox_t *box = s_box(*state);
    wq_outbox_txn_t *t = NULL;
    wq_outbox_match_t m;
    char id[WQ_EVENT_ID_MAX];
    wq_record_t *a = as_enterprise("甲");
    assert_int_equal(wq_outbox_begin(box, &t, &err), WQ_OK);
    assert_int_equal(wq_outbox_txn_add_ref(t, a, "R-1", id, &err), WQ_OK);
    wq_record_t *b = as_enterprise("甲");
    assert_int_equal(wq_outbox_txn_find_same(t, b, NULL, &m, &err), WQ_OK);
    assert_true(m.found);
    assert_string_equal(m.id, id);
    /* by ref: same ref, other content -> found, content differs */
    wq_record_t *c = as_enterprise("乙");
    assert_int_equal(wq_outbox_txn_find_same(t, c, "R-1", &m, &err), WQ_OK);
    assert_true(m.found && m.by_ref && !m.same_content);
    /* another ref with the same content is a different row */
    assert_int_equal(wq_outbox_txn_find_same(t, b, "R-2", &m, &err), WQ_OK);
    assert_false(m.found);
    assert_int_equal(wq_outbox_commit(&t, &err), WQ_OK);
    assert_int_equal(wq_outbox_find_same(box, b, "R-1", &m, &err), WQ_OK);
    assert_true(m.found && m.by_ref && m.same_content);
    wq_record_destroy(&a);
    wq_record_destroy(&b);
    wq_record_destroy(&c);
    wq_outbox_destroy(&box);
}

static void
test_old_outbox_indexed_on_open(void **state)
{
    wq_err_t err;
    wq_outbox_t *box = s_box(*state);
    wq_record_t *a = as_enterprise("丙");
    char id[WQ_EVENT_ID_MAX];
    assert_int_equal(wq_outbox_append(box, a, id, &err), WQ_OK);
    wq_outbox_destroy(&box);
    /* Drop the index, as in an outbox made before it existed. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 64u << 20), 0);
    assert_int_equal(mdb_env_open(env, *state, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "fprint", 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    box = s_box(*state);
    wq_outbox_match_t m;
    assert_int_equal(wq_outbox_find_same(box, a, NULL, &m, &err), WQ_OK);
    assert_true(m.found);
    assert_string_equal(m.id, id);
    wq_record_destroy(&a);
    wq_outbox_destroy(&box);
}

static void
test_short_ids(void **state)
{
    wq_err_t err;
    wq_outbox_t *box = s_box(*state);
    char id[WQ_EVENT_ID_MAX], got[WQ_EVENT_ID_MAX];
    bool is_short, found;
    assert_int_equal(wq_outbox_short_id(box, WQ_REC_ENTERPRISE, "last", got, &is_short, &err),
                     WQ_E_NOTFOUND);
    wq_record_t *a = as_enterprise("丁");
    assert_int_equal(wq_outbox_append(box, a, id, &err), WQ_OK);
    assert_int_equal(wq_outbox_short_id(box, WQ_REC_ENTERPRISE, "last", got, &is_short, &err), WQ_OK);
    assert_true(is_short);
    assert_string_equal(got, id);
    assert_int_equal(wq_outbox_short_id(box, WQ_REC_NONE, "17", got, &is_short, &err), WQ_OK);
    assert_string_equal(got, AS_AGENT "/1234abcd/17");
    assert_int_equal(wq_outbox_short_id(box, WQ_REC_NONE, AS_AGENT "/1234abcd/1", got, &is_short,
                                        &err), WQ_OK);
    assert_false(is_short);
    assert_int_equal(wq_outbox_last_of_type(box, WQ_REC_VISIT, got, &found, &err), WQ_OK);
    assert_false(found);
    wq_record_destroy(&a);
    wq_outbox_destroy(&box);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_content_found, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_txn_sees_its_own_and_refs, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_old_outbox_indexed_on_open, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_short_ids, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
