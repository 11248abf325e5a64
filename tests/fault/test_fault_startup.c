/*  =========================================================================
    test_fault_startup - a corrupt queue entry, config errors at start-up

    1. Corrupt records in the outbox (one overwritten with garbage bytes,
       one deleted, written straight into the agent's LMDB as a broken disk
       or a bad tool would): `run` starts once (no crash loop), sends the
       garbage as it is and a placeholder for the missing seq, the
       collector quarantines both with their reasons, everything else is
       stored exactly once and the backlog is never deleted.
    2. A config error in agent.conf / collector.conf: `run` exits at once
       with status 1 and a message naming the line, never crashes, and the
       outbox / store are untouched; fixed, everything drains exactly.
    =========================================================================
*/
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/fault/harness.h"
#include "tests/support/testsupport.h"

static void s_key(unsigned char key[12], uint32_t inc, uint64_t seq)
{
    for (int i = 0; i < 4; i++)
        key[i] = (unsigned char) (inc >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        key[4 + i] = (unsigned char) (seq >> (56 - 8 * i));
}

/*  Damage the agent's outbox directly: seq `garbage` gets bytes that are
    no record, seq `gone` is deleted. */
static void s_damage_outbox(const char *agent_dir, const char *inc_hex, uint64_t garbage,
                            uint64_t gone)
{
    uint32_t inc = (uint32_t) strtoul(inc_hex, NULL, 16);
    char *path = ts_strf("%s/outbox", agent_dir);
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t) 4096 << 20), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "records", 0, &dbi), 0);
    unsigned char k[12];
    s_key(k, inc, garbage);
    static char junk[] = "\xc1\xc1 this is not a record \xff";
    MDB_val key = {12, k}, val = {sizeof junk - 1, junk};
    assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
    s_key(k, inc, gone);
    assert_int_equal(mdb_del(txn, dbi, &key, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    free(path);
}

static void test_corrupt_records(void **state)
{
    (void) state;
    fx_t fx;
    fx_init(&fx, NULL, "max_batch = 20\n");
    int a = fx_agent_add(&fx, "130102-01", "130102", false, NULL);
    char *all = ts_strf("%s/campaign.jsonl", fx.tmp);
    long lines = fx_generate(&fx, "130102", 10, 71, all, NULL);
    assert_int_equal(fx_import(&fx, a, all, NULL, NULL), 0);
    char inc[9];
    fx_status_inc(&fx, a, inc);
    s_damage_outbox(fx.agents[a].dir, inc, 5, 9);

    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, a);
    fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
    /* One start, still running: no crash loop. */
    assert_int_equal(ts_wait(fx.agents[a].pid, 0), -1);
    assert_int_equal(fx_count_in_file(fx.agents[a].log, "starting"), 1);
    /* The backlog is intact, the damage reported on both sides. */
    assert_int_equal(fx_status_num(&fx, a, "last_seq"), lines);
    assert_int_equal(fx_status_num(&fx, a, "quarantined_count"), 2);
    assert_int_equal(fx_status_num(&fx, a, "skipped_count"), 1);
    char *out = NULL;
    char *args[] = {"quarantine", "--format", "json", NULL};
    assert_int_equal(fx_query(&fx, &out, args), 0);
    fprintf(stderr, "[fault] quarantine after damage:\n%s", out);
    char *q5 = ts_strf("\"inc\":\"%s\",\"seq\":5,", inc), *q9 = ts_strf("\"inc\":\"%s\",\"seq\":9,", inc);
    assert_non_null(strstr(out, q5));
    assert_non_null(strstr(out, q9));
    free(q5);
    free(q9);
    free(out);
    fx_totals_t t;
    fx_check_exact(&fx, true, 2, &t);
    assert_int_equal(t.records, lines);
    assert_int_equal(t.stored, lines - 2);
    free(all);
    fx_teardown(&fx);
}

static void s_append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void test_config_errors(void **state)
{
    (void) state;
    fx_t fx;
    fx_init(&fx, NULL, NULL);
    int a = fx_agent_add(&fx, "130102-01", "130102", false, NULL);
    char *all = ts_strf("%s/campaign.jsonl", fx.tmp);
    long lines = fx_generate(&fx, "130102", 10, 72, all, NULL);
    assert_int_equal(fx_import(&fx, a, all, NULL, NULL), 0);

    /* Agent: a typo'd key. */
    char *conf = ts_strf("%s/agent.conf", fx.agents[a].dir);
    char *good = ts_read_file(conf);
    assert_non_null(good);
    s_append(conf, "heartbeat_msec = 500\n");
    fx_agent_start(&fx, a);
    int rc = ts_wait(fx.agents[a].pid, 30000);
    fx_untrack(fx.agents[a].pid);
    fx.agents[a].pid = 0;
    char *log = ts_read_file(fx.agents[a].log);
    fprintf(stderr, "[fault] agent with a bad config exited %d:\n%s", rc, log);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(log, "heartbeat_msec"));
    free(log);
    ts_write_file(conf, good);

    /* Collector: an unknown setting, then a bad value. */
    char *cconf = ts_strf("%s/collector.conf", fx.cdir);
    char *cgood = ts_read_file(cconf);
    static const char *const bad[] = {"credits = 4\n", "max_batch = 0\n"};
    for (size_t k = 0; k < 2; k++) {
        ts_write_file(cconf, cgood);
        s_append(cconf, bad[k]);
        char *bin = strdup(ts_bin("wanqi-collector"));
        char *argv[] = {bin, "run", "--dir", fx.cdir, NULL};
        char *err = NULL;
        rc = ts_run(argv, NULL, NULL, &err, 30000, NULL);
        fprintf(stderr, "[fault] collector with \"%.*s\" exited %d: %s", (int) strlen(bad[k]) - 1,
                bad[k], rc, err);
        assert_int_equal(rc, 1);
        assert_non_null(strstr(err, k == 0 ? "credits" : "max_batch"));
        free(err);
        free(bin);
    }
    ts_write_file(cconf, cgood);

    /* Fixed: nothing was lost or deleted on either side. */
    assert_int_equal(fx_status_num(&fx, a, "last_seq"), lines);
    assert_int_equal(fx_status_num(&fx, a, "queued"), lines);
    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, a);
    fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
    fx_totals_t t;
    fx_check_exact(&fx, true, 0, &t);
    assert_int_equal(t.records, lines);
    free(cconf);
    free(cgood);
    free(conf);
    free(good);
    free(all);
    fx_teardown(&fx);
}

int main(int argc, char **argv)
{
    /* One scenario per ctest test (tests/fault/CMakeLists.txt): argv[1]. */
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corrupt_records),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
