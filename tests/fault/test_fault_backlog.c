/*  =========================================================================
    test_fault_backlog - a multi-day outage: a large backlog drains over a
    slow, lossy link, oldest first, with the agent's memory bounded

    The link is cut while a county records a large campaign (CI: 20,000
    records, sanitizer build 5,000; WANQI_BACKLOG_RECORDS for the soak,
    e.g. 100000). Then the link comes back slow (WANQI_BACKLOG_BPS, default
    2 Mbit/s up; 1 Mbit/s in the sanitizer build), with latency and random
    resets both ways. While it drains we sample, every 250 ms:
      - the collector's mark never goes back, and the collector stores
        exactly seqs 1..mark (stored == mark): oldest first, no hole;
      - the agent's anonymous memory (RssAnon) stays under a fixed bound
        (FX_AGENT_ANON_KB; sanitizer build FX_AGENT_ANON_ASAN_KB), and its
        peak resident set (VmHWM) under that bound plus the outbox file's
        size (LMDB's map pages are file cache, counted in VmHWM).
    At the end: stored == mark == last seq, the province summary equals the
    generator's exact counts, and `verify` passes.

    The batches travel compressed (ZBATCH, issue 16), and the scenario runs
    twice more against a peer of the protocol before compression
    (WANQI_PROTO_V1=1 in that program's environment, PROTOCOL.md 6.3): an
    old agent with a new collector, a new agent with an old collector
    (4,000 records each, sanitizer build 2,000). The agent's log says
    which way the batches went.
    =========================================================================
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "common/json.h"
#include "tests/fault/harness.h"
#include "tests/support/testsupport.h"

/*  The agent's own memory (anonymous: heap, stacks, libraries' data) must
    not grow with the backlog: in-flight batches are (first, last) pairs and
    records are read again from LMDB, one batch (<= 4 MiB) at a time. */
#define FX_AGENT_ANON_KB      (32 * 1024)
#define FX_AGENT_ANON_ASAN_KB (256 * 1024)   /* ASan's shadow memory and quarantine */
/*  Its peak resident set (VmHWM) also counts the pages of the outbox file
    that LMDB's read-only map has touched (page cache, not the agent's
    memory): at most that bound plus the size of the outbox data file. */

/*  "name value" line of a --stats file. */
static long long s_stat(const char *stats, const char *name)
{
    char *pat = ts_strf("\n%s ", name);
    char *text = ts_strf("\n%s", stats);
    const char *p = strstr(text, pat);
    if (!p)
        ts_fail("no %s in the generator's stats", name);
    long long v = strtoll(p + strlen(pat), NULL, 10);
    free(text);
    free(pat);
    return v;
}

static long long s_summary(const char *json, const char *col)
{
    char *pat = ts_strf("\"%s\":", col);
    const char *p = strstr(json, pat);
    if (!p)
        ts_fail("no %s in the summary: %s", col, json);
    long long v = strtoll(p + strlen(pat), NULL, 10);
    free(pat);
    return v;
}

typedef enum { S_BOTH_NEW, S_OLD_AGENT, S_OLD_COLLECTOR } s_peers_t;

static void s_outage_backlog_drains(s_peers_t peers)
{
    long want = peers == S_BOTH_NEW
                    ? fx_env_long("WANQI_BACKLOG_RECORDS", fx_light() ? 5000 : 20000)
                    : (fx_light() ? 2000 : 4000);
    long bps = fx_env_long("WANQI_BACKLOG_BPS", fx_light() ? 1000000 : 2000000);
    long bound = fx_light() ? FX_AGENT_ANON_ASAN_KB : FX_AGENT_ANON_KB;
    fx_t fx;
    fx_init(&fx, NULL, "max_batch = 500\n");
    char *bw = ts_strf("%ld", bps);
    fx_link_start(&fx, (char *[]){"--cut", "--bandwidth-up", bw, "--bandwidth-down", "64000",
                                  "--latency", "50", "--drop-up", "0.0005", "--drop-down",
                                  "0.005", "--seed", "9", "--quiet", NULL});
    int a = fx_agent_add(&fx, "130102-01", "130102", true, NULL);
    /* The program started as "old" inherits WANQI_PROTO_V1; nothing else. */
    if (peers == S_OLD_COLLECTOR)
        assert_int_equal(setenv("WANQI_PROTO_V1", "1", 1), 0);
    fx_collector_start(&fx, NULL);
    assert_int_equal(unsetenv("WANQI_PROTO_V1"), 0);
    if (peers == S_OLD_AGENT)
        assert_int_equal(setenv("WANQI_PROTO_V1", "1", 1), 0);
    fx_agent_start(&fx, a);
    assert_int_equal(unsetenv("WANQI_PROTO_V1"), 0);

    char *path = ts_strf("%s/campaign.jsonl", fx.tmp);
    char *stats_path = ts_strf("%s/campaign.stats", fx.tmp);
    /* The generator makes ~11.6 records per enterprise. */
    int ents = (int) ((want * 100 + 1155) / 1156 > 1 ? (want * 100 + 1155) / 1156 : 1);
    long lines = fx_generate(&fx, "130102", ents, 77, path, stats_path);
    int64_t t0 = fx_now_ms();
    assert_int_equal(fx_import(&fx, a, path, NULL, NULL), 0);
    assert_int_equal(fx_status_num(&fx, a, "last_seq"), lines);
    assert_int_equal(fx_status_num(&fx, a, "queued"), lines);
    fprintf(stderr, "[fault] outage: %ld records recorded while the link was cut (%.1f s)\n", lines,
            (fx_now_ms() - t0) / 1000.0);
    char inc[9];
    fx_status_inc(&fx, a, inc);
    assert_int_equal(fx_collector_stream(&fx, "130102-01", inc, "hwm"), -1);

    fl_ok(fx.link, "cut off");
    t0 = fx_now_ms();
    long long prev = 0;
    long samples = 0, peak = 0, peak_anon = 0;
    char *mdb = ts_strf("%s/outbox/data.mdb", fx.agents[a].dir);
    struct stat st;
    assert_int_equal(stat(mdb, &st), 0);
    long mdb_kb = (long) (st.st_size / 1024);
    free(mdb);
    int64_t deadline = t0 + (fx_light() ? 900000 : 600000);
    for (;;) {
        long long hwm = fx_collector_stream(&fx, "130102-01", inc, "hwm");
        long long stored = fx_collector_stream(&fx, "130102-01", inc, "stored");
        long anon = fx_proc_status_kb(fx.agents[a].pid, "RssAnon");
        long kb = fx_vmhwm_kb(fx.agents[a].pid);
        assert_true(kb > 0 && anon > 0);
        if (anon > peak_anon)
            peak_anon = anon;
        if (kb > peak)
            peak = kb;
        if (anon > bound)
            ts_fail("the agent's anonymous memory is %ld KiB, over the bound of %ld KiB", anon,
                     bound);
        if (kb > bound + mdb_kb)
            ts_fail("the agent's VmHWM is %ld KiB, over %ld KiB + the outbox file's %ld KiB",
                     kb, bound, mdb_kb);
        if (hwm >= 0) {
            /* Oldest first: the collector holds exactly 1..hwm. A
               stored count read after the mark may be ahead by what
               committed in between, never behind. */
            long long hwm2 = fx_collector_stream(&fx, "130102-01", inc, "hwm");
            if (stored < hwm || stored > hwm2)
                ts_fail("collector holds %lld records with mark %lld..%lld: not oldest first",
                         stored, hwm, hwm2);
            assert_true(hwm >= prev);
            prev = hwm;
        }
        samples++;
        if (hwm == lines)
            break;
        if (fx_now_ms() > deadline)
            ts_fail("backlog not drained: mark %lld of %ld", hwm, lines);
        ts_sleep_ms(250);
    }
    fx_wait_drained(&fx, 60000);
    double secs = (fx_now_ms() - t0) / 1000.0;
    long long resets = fl_stat(fx.link, "resets");
    long long up = fl_stat(fx.link, "up_sent");
    fprintf(stderr,
            "[fault] outage: %ld records drained in %.1f s over %ld bit/s (%lld bytes up, %lld "
            "resets, %ld samples, oldest first); agent RssAnon peak %ld KiB (bound %ld KiB), VmHWM "
            "%ld KiB (bound %ld KiB + outbox file %ld KiB)\n",
            lines, secs, bps, up, resets, samples, peak_anon, bound, peak, bound, mdb_kb);

    /* The views equal the generator's exact counts. */
    char *stats = ts_read_file(stats_path);
    assert_non_null(stats);
    assert_int_equal(s_stat(stats, "records"), lines);
    char *out = NULL;
    char *args[] = {"summary", "--level", "province", "--format", "json", NULL};
    assert_int_equal(fx_query(&fx, &out, args), 0);
    static const char *const pairs[][2] = {
        {"enterprises_registered", "enterprises"}, {"enterprises_visited", "enterprises_visited"},
        {"visits", "visits"}, {"problems", "problems"}, {"plans", "plans"},
        {"services", "services"}, {"consultations", "consultations"},
        {"consultations_answered", "consultations_answered"},
    };
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++)
        assert_int_equal(s_summary(out, pairs[k][0]), s_stat(stats, pairs[k][1]));
    free(out);
    free(stats);

    fx_totals_t t;
    fx_check_exact(&fx, false, 0, &t);
    assert_int_equal(t.records, lines);

    /* Compressed exactly when both ends are new. */
    long zstd = fx_count_in_file(fx.agents[a].log, "zstd with dictionary)");
    long plain = fx_count_in_file(fx.agents[a].log, "uncompressed)");
    fprintf(stderr, "[fault] outage: %ld compressed and %ld uncompressed sessions\n", zstd, plain);
    if (peers == S_BOTH_NEW)
        assert_true(zstd >= 1 && plain == 0);
    else
        assert_true(zstd == 0 && plain >= 1);
    if (peers == S_OLD_COLLECTOR)
        assert_true(fx_count_in_file(fx.agents[a].log, "does not know compressed batches") >= 1);
    free(bw);
    free(path);
    free(stats_path);
    fx_teardown(&fx);
}

static void test_outage_backlog_drains(void **state)
{
    (void) state;
    s_outage_backlog_drains(S_BOTH_NEW);
}

static void test_outage_backlog_old_agent(void **state)
{
    (void) state;
    s_outage_backlog_drains(S_OLD_AGENT);
}

static void test_outage_backlog_old_collector(void **state)
{
    (void) state;
    s_outage_backlog_drains(S_OLD_COLLECTOR);
}

int main(int argc, char **argv)
{
    /* One scenario per ctest test (tests/fault/CMakeLists.txt): argv[1]. */
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    unsetenv("WANQI_PROTO_V1");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outage_backlog_drains),
        cmocka_unit_test(test_outage_backlog_old_agent),
        cmocka_unit_test(test_outage_backlog_old_collector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
