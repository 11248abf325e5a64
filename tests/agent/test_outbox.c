/*  The agent's LMDB outbox on real temporary directories: seq assignment in
    the storing transaction, durability across reopen, the configured bounds
    (queued records, bytes) failing cleanly without harming what is stored,
    two processes recording into one outbox at once, cursor reads in
    batches, incarnations, acks with quarantine entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/outbox.h"
#include "tests/agent/agent_samples.h"
#include "tests/support/testsupport.h"

#define INC 0x1234abcdu

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
s_new(const char *dir, uint64_t max_queued, uint64_t max_bytes)
{
    wq_outbox_t *box = as_open(dir, max_queued, max_bytes);
    wq_err_t err;
    assert_int_equal(wq_outbox_start_incarnation(box, AS_AGENT, INC, false, &err), WQ_OK);
    return box;
}

static int
s_append(wq_outbox_t *box, const char *name, char id[WQ_EVENT_ID_MAX])
{
    wq_record_t *r = as_enterprise(name);
    wq_err_t err;
    int rc = wq_outbox_append(box, r, id, &err);
    wq_record_destroy(&r);
    return rc;
}

typedef struct {
    uint64_t seqs[64];
    size_t n;
    size_t holes;
} s_seen_t;

static int
s_collect(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    s_seen_t *s = arg;
    assert_int_equal(inc, INC);
    if (!data) {
        s->holes++;
        return 0;
    }
    wq_record_t *r = NULL;
    wq_err_t err;
    assert_int_equal(wq_record_decode(data, size, &r, &err), WQ_OK);
    assert_int_equal(r->seq, seq);
    assert_int_equal(r->inc, INC);
    assert_string_equal(r->agent, AS_AGENT);
    wq_record_destroy(&r);
    if (s->n < 64)
        s->seqs[s->n++] = seq;
    return 0;
}

static void
test_seq_assignment(void **state)
{
    wq_outbox_t *box = s_new(*state, 100, 1u << 20);
    char id[WQ_EVENT_ID_MAX];
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(s_append(box, "某公司", id), WQ_OK);
        char want[WQ_EVENT_ID_MAX];
        snprintf(want, sizeof want, AS_AGENT "/1234abcd/%d", i);
        assert_string_equal(id, want);
    }
    wq_outbox_state_t st;
    wq_err_t err;
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    assert_int_equal(st.last_seq, 5);
    assert_int_equal(st.acked, 0);
    assert_int_equal(st.queued, 5);
    assert_int_equal(st.count, 5);
    assert_int_equal(st.inc, INC);
    assert_true(st.oldest_unsent_ms > 0);
    s_seen_t seen = {0};
    size_t count = 0;
    assert_int_equal(wq_outbox_read(box, INC, 1, 5, 100, 1u << 20, s_collect, &seen, &count, &err),
                     WQ_OK);
    assert_int_equal(count, 5);
    assert_int_equal(seen.n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(seen.seqs[i], i + 1);
    wq_outbox_destroy(&box);
    assert_null(box);
}

static void
test_failed_add_leaves_txn_usable(void **state)
{
    wq_outbox_t *box = s_new(*state, 100, 1u << 20);
    wq_outbox_txn_t *txn = NULL;
    wq_err_t err;
    char id[WQ_EVENT_ID_MAX];
    assert_int_equal(wq_outbox_begin(box, &txn, &err), WQ_OK);
    wq_record_t *bad = wq_record_new(WQ_REC_ENTERPRISE);   /* no fields at all */
    assert_int_not_equal(wq_outbox_txn_add(txn, bad, id, &err), WQ_OK);
    wq_record_destroy(&bad);
    assert_true(wq_outbox_txn_ok(txn));
    wq_record_t *good = as_enterprise("好");
    assert_int_equal(wq_outbox_txn_add(txn, good, id, &err), WQ_OK);
    wq_record_destroy(&good);
    assert_string_equal(id, AS_AGENT "/1234abcd/1");
    /* Aborted: the seq is not used. */
    wq_outbox_abort(&txn);
    assert_null(txn);
    uint64_t last = 99;
    assert_int_equal(wq_outbox_last_seq(box, &last, &err), WQ_OK);
    assert_int_equal(last, 0);
    assert_int_equal(s_append(box, "好", id), WQ_OK);
    assert_string_equal(id, AS_AGENT "/1234abcd/1");
    wq_outbox_destroy(&box);
}

static void
test_durable_across_reopen(void **state)
{
    char id[WQ_EVENT_ID_MAX];
    wq_err_t err;
    wq_outbox_t *box = s_new(*state, 100, 1u << 20);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_append(box, "甲", id), WQ_OK);
    assert_int_equal(wq_outbox_ack(box, INC, 2, NULL, 0, &err), WQ_OK);
    wq_outbox_destroy(&box);

    box = as_open(*state, 100, 1u << 20);
    wq_outbox_state_t st;
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    assert_int_equal(st.inc, INC);
    assert_string_equal(st.agent, AS_AGENT);
    assert_int_equal(st.last_seq, 3);
    assert_int_equal(st.acked, 2);
    assert_int_equal(st.queued, 1);
    assert_true(st.contact_ms > 0);
    assert_int_equal(s_append(box, "乙", id), WQ_OK);
    assert_string_equal(id, AS_AGENT "/1234abcd/4");
    s_seen_t seen = {0};
    assert_int_equal(wq_outbox_read(box, INC, 1, 4, 100, 1u << 20, s_collect, &seen, NULL, &err),
                     WQ_OK);
    assert_int_equal(seen.n, 4);
    wq_outbox_destroy(&box);
}

static void
test_bound_queued(void **state)
{
    char id[WQ_EVENT_ID_MAX];
    wq_err_t err;
    wq_outbox_t *box = s_new(*state, 3, 1u << 20);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_append(box, "甲", id), WQ_OK);
    wq_record_t *r = as_enterprise("丙");
    assert_int_equal(wq_outbox_append(box, r, id, &err), WQ_E_FULL);
    wq_record_destroy(&r);
    assert_string_equal(err.field, "outbox");
    assert_non_null(strstr(err.text, "outbox_max_queued"));
    wq_outbox_state_t st;
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    assert_int_equal(st.last_seq, 3);
    assert_int_equal(st.count, 3);
    /* An ack makes room for exactly one more. */
    assert_int_equal(wq_outbox_ack(box, INC, 1, NULL, 0, &err), WQ_OK);
    assert_int_equal(s_append(box, "丁", id), WQ_OK);
    assert_string_equal(id, AS_AGENT "/1234abcd/4");
    assert_int_equal(s_append(box, "戊", id), WQ_E_FULL);
    s_seen_t seen = {0};
    assert_int_equal(wq_outbox_read(box, INC, 1, 10, 100, 1u << 20, s_collect, &seen, NULL, &err),
                     WQ_OK);
    assert_int_equal(seen.n, 4);   /* 5..10 are holes past the end: reported as such */
    wq_outbox_destroy(&box);
}

static void
test_bound_bytes(void **state)
{
    char id[WQ_EVENT_ID_MAX];
    wq_err_t err;
    char *d1 = ts_strf("%s/one", (char *) *state);
    char *d2 = ts_strf("%s/two", (char *) *state);
    wq_outbox_t *box = s_new(d1, 100, 1u << 20);
    assert_int_equal(s_append(box, "甲", id), WQ_OK);
    wq_outbox_state_t st;
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    uint64_t size = st.bytes;
    assert_true(size > 0);
    wq_outbox_destroy(&box);

    box = s_new(d2, 100, 3 * size + size / 2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_append(box, "甲", id), WQ_OK);
    assert_int_equal(s_append(box, "甲", id), WQ_E_FULL);
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    assert_int_equal(st.count, 3);
    assert_int_equal(st.bytes, 3 * size);
    assert_int_equal(st.last_seq, 3);
    wq_outbox_destroy(&box);
    free(d1);
    free(d2);
}

static void
test_map_full_is_clean(void **state)
{
    /* A tiny LMDB map: MDB_MAP_FULL surfaces as WQ_E_FULL, the failing
       transaction stores nothing, earlier commits stay intact. */
    wq_outbox_limits_t lim = {1000000, 1u << 30, 64 * 1024};
    wq_outbox_t *box = NULL;
    wq_err_t err;
    assert_int_equal(wq_outbox_open(*state, &lim, &box, &err), WQ_OK);
    assert_int_equal(wq_outbox_start_incarnation(box, AS_AGENT, INC, false, &err), WQ_OK);
    char id[WQ_EVENT_ID_MAX];
    char name[190];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    uint64_t stored = 0;
    int rc = WQ_OK;
    for (int i = 0; i < 10000 && rc == WQ_OK; i++) {
        rc = s_append(box, name, id);
        if (rc == WQ_OK)
            stored++;
    }
    assert_int_equal(rc, WQ_E_FULL);
    assert_true(stored > 10);
    wq_outbox_state_t st;
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    assert_int_equal(st.last_seq, stored);
    assert_int_equal(st.count, stored);
    s_seen_t seen = {0};
    size_t count = 0;
    uint64_t upto = stored < 64 ? stored : 64;
    assert_int_equal(wq_outbox_read(box, INC, 1, upto, 64, 1u << 20, s_collect, &seen, &count, &err),
                     WQ_OK);
    assert_int_equal(count, upto);
    assert_int_equal(seen.holes, 0);
    wq_outbox_destroy(&box);
}

static void
test_two_processes(void **state)
{
    /* LMDB forbids opening one environment twice in one process, so the
       second recorder is a child process: both append 50 records at once. */
    wq_outbox_t *box = s_new(*state, 1000, 1u << 24);
    wq_outbox_destroy(&box);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        wq_outbox_t *b = as_open(*state, 1000, 1u << 24);
        char id[WQ_EVENT_ID_MAX];
        int bad = 0;
        for (int i = 0; i < 50; i++)
            bad |= s_append(b, "子", id) != WQ_OK;
        wq_outbox_destroy(&b);
        _exit(bad);
    }
    box = as_open(*state, 1000, 1u << 24);
    char id[WQ_EVENT_ID_MAX];
    for (int i = 0; i < 50; i++)
        assert_int_equal(s_append(box, "父", id), WQ_OK);
    int rc = ts_wait(pid, 60000);   /* a deadline: a stuck child fails the test */
    if (rc != 0)
        ts_fail("the second recorder (pid %d) ended with %d (-1: still running after 60 s)",
                (int) pid, rc);
    wq_err_t err;
    wq_outbox_state_t st;
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    assert_int_equal(st.last_seq, 100);
    assert_int_equal(st.count, 100);
    /* Every seq 1..100 exactly once. */
    s_seen_t seen = {0};
    size_t total = 0;
    for (uint64_t from = 1; from <= 100; from += 50) {
        seen.n = 0;
        size_t count = 0;
        assert_int_equal(wq_outbox_read(box, INC, from, 100, 50, 1u << 20, s_collect, &seen, &count,
                                        &err), WQ_OK);
        assert_int_equal(count, 50);
        for (size_t i = 0; i < seen.n; i++)
            assert_int_equal(seen.seqs[i], from + i);
        total += count;
    }
    assert_int_equal(total, 100);
    assert_int_equal(seen.holes, 0);
    wq_outbox_destroy(&box);
}

static void
test_cursor_batches(void **state)
{
    wq_outbox_t *box = s_new(*state, 100, 1u << 20);
    char id[WQ_EVENT_ID_MAX];
    wq_err_t err;
    for (int i = 0; i < 10; i++)
        assert_int_equal(s_append(box, "甲", id), WQ_OK);
    s_seen_t seen = {0};
    size_t count = 0;
    assert_int_equal(wq_outbox_read(box, INC, 3, 10, 4, 1u << 20, s_collect, &seen, &count, &err),
                     WQ_OK);
    assert_int_equal(count, 4);
    assert_int_equal(seen.seqs[0], 3);
    assert_int_equal(seen.seqs[3], 6);
    /* The byte cap: the first record always, then only what fits. */
    seen.n = 0;
    assert_int_equal(wq_outbox_read(box, INC, 7, 10, 100, 1, s_collect, &seen, &count, &err), WQ_OK);
    assert_int_equal(count, 1);
    assert_int_equal(seen.seqs[0], 7);
    /* upto bounds the read. */
    seen.n = 0;
    assert_int_equal(wq_outbox_read(box, INC, 9, 9, 100, 1u << 20, s_collect, &seen, &count, &err),
                     WQ_OK);
    assert_int_equal(count, 1);
    /* Another incarnation has nothing. */
    assert_int_equal(wq_outbox_read(box, INC + 1, 1, 0, 100, 1u << 20, s_collect, &seen, &count,
                                    &err), WQ_OK);
    assert_int_equal(count, 0);
    wq_outbox_destroy(&box);
}

static int
s_count_scan(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    (void) seq, (void) data, (void) size;
    size_t *n = arg;
    n[inc == INC ? 0 : 1]++;
    return 0;
}

static void
test_incarnations(void **state)
{
    wq_outbox_t *box = s_new(*state, 100, 1u << 20);
    char id[WQ_EVENT_ID_MAX];
    wq_err_t err;
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_append(box, "甲", id), WQ_OK);
    assert_int_equal(wq_outbox_start_incarnation(box, AS_AGENT, 77, false, &err), WQ_E_STATE);
    assert_int_equal(wq_outbox_start_incarnation(box, AS_AGENT, INC, true, &err), WQ_E_STATE);
    assert_int_equal(wq_outbox_start_incarnation(box, AS_AGENT, 77, true, &err), WQ_OK);
    assert_int_equal(s_append(box, "乙", id), WQ_OK);
    assert_string_equal(id, AS_AGENT "/0000004d/1");
    wq_outbox_state_t st;
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    assert_int_equal(st.inc, 77);
    assert_int_equal(st.last_seq, 1);
    assert_int_equal(st.count, 4);
    size_t n[2] = {0, 0};
    assert_int_equal(wq_outbox_scan(box, s_count_scan, n, &err), WQ_OK);
    assert_int_equal(n[0], 3);
    assert_int_equal(n[1], 1);
    wq_outbox_destroy(&box);
}

static void
test_no_incarnation(void **state)
{
    wq_outbox_t *box = as_open(*state, 100, 1u << 20);
    char id[WQ_EVENT_ID_MAX];
    assert_int_equal(s_append(box, "甲", id), WQ_E_STATE);
    wq_outbox_destroy(&box);
}

typedef struct {
    uint64_t seq[4];
    uint32_t code[4];
    char reason[4][64];
    size_t n;
} s_notes_t;

static int
s_note(uint32_t inc, uint64_t seq, uint32_t code, const char *reason, void *arg)
{
    s_notes_t *n = arg;
    assert_int_equal(inc, INC);
    if (n->n < 4) {
        n->seq[n->n] = seq;
        n->code[n->n] = code;
        snprintf(n->reason[n->n], 64, "%s", reason);
        n->n++;
    }
    return 0;
}

static void
test_ack_quarantine_and_lower_mark(void **state)
{
    wq_outbox_t *box = s_new(*state, 100, 1u << 20);
    char id[WQ_EVENT_ID_MAX];
    wq_err_t err;
    for (int i = 0; i < 5; i++)
        assert_int_equal(s_append(box, "甲", id), WQ_OK);
    wq_quarantined_t q[2] = {{2, WQ_E_FOREIGN, "county 130104 is not the agent's"},
                             {4, WQ_E_CHECKCHAR, "bad check character"}};
    assert_int_equal(wq_outbox_ack(box, INC, 5, q, 2, &err), WQ_OK);
    wq_outbox_state_t st;
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    assert_int_equal(st.acked, 5);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.quarantined, 2);
    assert_int_equal(st.oldest_unsent_ms, 0);
    s_notes_t notes = {0};
    assert_int_equal(wq_outbox_notes(box, 0, s_note, &notes, &err), WQ_OK);
    assert_int_equal(notes.n, 2);
    assert_int_equal(notes.seq[0], 2);
    assert_int_equal(notes.code[0], WQ_E_FOREIGN);
    assert_string_equal(notes.reason[1], "bad check character");
    /* A restored collector: the mark goes down, the records queue again. */
    assert_int_equal(wq_outbox_ack(box, INC, 2, NULL, 0, &err), WQ_OK);
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    assert_int_equal(st.acked, 2);
    assert_int_equal(st.queued, 3);
    /* Skipped notes and the last error. */
    assert_int_equal(wq_outbox_note_skipped(box, INC, 3, "unreadable", &err), WQ_OK);
    assert_int_equal(wq_outbox_note_error(box, "link dead", &err), WQ_OK);
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    assert_int_equal(st.skipped, 1);
    assert_string_equal(st.last_error, "link dead");
    assert_true(st.error_ms > 0);
    wq_outbox_destroy(&box);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seq_assignment, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_add_leaves_txn_usable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_durable_across_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bound_queued, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bound_bytes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_map_full_is_clean, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_two_processes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cursor_batches, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_incarnations, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_incarnation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ack_quarantine_and_lower_mark, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
