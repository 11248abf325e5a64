/*  Fault: SIGKILL `wanqi-agent import` (and `record`) at varying points and
    check the outbox's invariants after each kill:
      - every id the command printed before it died is in the outbox
        (an id is reported only after a durable commit);
      - seqs are exactly 1..last with no hole, every record decodes and
        validates and carries its own seq; count and bytes agree;
      - recording goes on from last + 1 afterwards. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/outbox.h"
#include "tests/agent/agent_samples.h"
#include "tests/support/testsupport.h"

#define KEY "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define LINES 10000

typedef struct {
    uint64_t expect;    /* next seq expected */
    uint64_t bytes;
    bool bad;
} s_check_t;

static int
s_check(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    (void) inc;
    s_check_t *c = arg;
    wq_record_t *r = NULL;
    wq_err_t err;
    if (seq != c->expect || wq_record_decode(data, size, &r, &err) != WQ_OK || r->seq != seq ||
        wq_record_validate(r, &err) != WQ_OK) {
        fprintf(stderr, "record %llu bad\n", (unsigned long long) seq);
        c->bad = true;
    }
    wq_record_destroy(&r);
    c->expect++;
    c->bytes += size;
    return 0;
}

/*  Check the invariants; return the last seq. printed: the command's stdout. */
static uint64_t
s_verify(const char *outbox, const char *printed)
{
    wq_outbox_t *box = as_open(outbox, 1u << 30, 1u << 30);
    wq_outbox_state_t st;
    wq_err_t err;
    assert_int_equal(wq_outbox_state(box, &st, &err), WQ_OK);
    s_check_t c = {.expect = 1};
    assert_int_equal(wq_outbox_scan(box, s_check, &c, &err), WQ_OK);
    assert_false(c.bad);
    assert_int_equal(c.expect - 1, st.last_seq);
    assert_int_equal(st.count, st.last_seq);
    assert_int_equal(st.bytes, c.bytes);
    /* Every printed id ("LINE<TAB>ID" lines; a line cut by the kill is
       skipped) is stored: its seq is at most last. */
    for (const char *p = printed; p && *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;     /* the last line was cut by the kill */
        const char *tab = memchr(p, '\t', (size_t) (nl - p));
        if (tab) {
            char id[WQ_EVENT_ID_MAX];
            size_t n = (size_t) (nl - tab - 1);
            assert_true(n < sizeof id);
            memcpy(id, tab + 1, n);
            id[n] = '\0';
            uint64_t seq = 0;
            assert_int_equal(wq_event_id_parse(id, NULL, NULL, &seq, &err), WQ_OK);
            if (seq < 1 || seq > st.last_seq)
                fail_msg("printed %s, outbox last %llu", id, (unsigned long long) st.last_seq);
        }
        p = nl + 1;
    }
    wq_outbox_destroy(&box);
    return st.last_seq;
}

static void
test_fault_kill_import(void **state)
{
    (void) state;
    char *tmp = ts_tmpdir();
    char *dir = ts_strf("%s/agent", tmp);
    char *outbox = ts_strf("%s/outbox", dir);
    char *file = ts_strf("%s/in.jsonl", tmp);
    char *out = ts_strf("%s/out.txt", tmp);
    char *init[] = {(char *) ts_bin("wanqi-agent"), "init", "--dir", dir, "--agent-id", AS_AGENT,
                    "--county", AS_COUNTY, "--collector", "tcp://127.0.0.1:5570",
                    "--collector-key", KEY, NULL};
    assert_int_equal(ts_run(init, NULL, NULL, NULL, 20000, NULL), 0);
    size_t len = 0, cap = LINES * 160 + 1;
    char *text = malloc(cap);
    for (int i = 0; i < LINES; i++)
        len += (size_t) snprintf(text + len, cap - len,
                                 "{\"type\":\"enterprise\",\"date\":\"2019-05-10\",\"ent\":\"" AS_ENT
                                 "\",\"name\":\"企业%d\",\"industry\":\"C\"}\n", i);
    ts_write_file(file, text);
    free(text);
    uint64_t last = 0;
    /* Kill points spread over the import; the test holds whatever point
       the kill lands on. */
    for (int round = 0; round < 6; round++) {
        ts_write_file(out, "");
        char *imp[] = {(char *) ts_bin("wanqi-agent"), "import", file, "--repeat", "--dir", dir, NULL};
        pid_t pid = ts_spawn(imp, out, NULL);
        static const int delay_ms[] = {5, 15, 30, 50, 80, 120};
        ts_sleep_ms(delay_ms[round]);
        ts_kill(pid, SIGKILL);
        ts_wait(pid, 20000);
        char *printed = ts_read_file(out);
        uint64_t now = s_verify(outbox, printed);
        free(printed);
        assert_true(now >= last);
        fprintf(stderr, "round %d: outbox holds %llu records\n", round, (unsigned long long) now);
        last = now;
    }
    /* Recording continues from last + 1. */
    char *rec[] = {(char *) ts_bin("wanqi-agent"), "record", "enterprise", "--ent", AS_ENT, "--name",
                   "续", "--industry", "C", "--dir", dir, NULL};
    char *id = NULL;
    assert_int_equal(ts_run(rec, NULL, &id, NULL, 20000, NULL), 0);
    char *want = ts_strf("/%llu\n", (unsigned long long) last + 1);
    assert_non_null(strstr(id, want));
    free(want);
    free(id);
    assert_int_equal(s_verify(outbox, NULL), last + 1);
    free(out);
    free(file);
    free(outbox);
    free(dir);
    ts_tmpdir_remove(&tmp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_kill_import),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
