/*  Integration: the real wanqi-agent binary against a TEST PEER written
    here, which speaks proto/PROTOCOL.md over a real ROUTER socket with real
    CURVE on 127.0.0.1 (the real collector is tested against the agent by
    the collector's own integration tests). The peer keeps a durable-looking
    mark (hwm) and the list of seqs it stored; it drops seqs at or below its
    mark as the protocol says, so "stored" must end up exactly 1..N in
    order, whatever the agent goes through:
      - a backlog recorded offline drains completely once the peer appears;
      - records made while `run` runs are picked up;
      - SIGKILL of the agent while sending loses and duplicates nothing;
      - the agent resumes after the peer restarts;
      - E_GAP makes it resend from the expected seq;
      - several batches in flight past a gap, each answered E_GAP, make it
        resend the range once, not once per E_GAP;
      - a lower mark from a "restored" peer makes it resend;
      - quarantine entries of an ACK show in `status --format json`;
      - a record that cannot be read is sent as a placeholder and noted;
      - a peer that claims more than the outbox holds is refused. */
#include <czmq.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <lmdb.h>
#include "common/record.h"
#include "common/store.h"
#include "proto/msg.h"
#include "tests/agent/agent_samples.h"
#include "tests/support/testsupport.h"

#define MAXSEQ 4096
#define WAIT_MS 30000   /* generous upper bound for slow CI; never a timed assertion */

typedef struct {
    zsock_t *router;
    zcert_t *cert;
    int port;
    char endpoint[64];
    /* the "durable" state, kept across peer restarts */
    uint32_t inc;
    uint64_t hwm;
    uint64_t stored[MAXSEQ];
    size_t nstored;
    uint64_t dup_received;
    /* behaviour */
    uint32_t credit, max_batch, hb_ms;
    uint64_t lie_hwm;           /* != 0: the next WELCOME claims this mark (provokes E_GAP) */
    uint64_t quarantine_seq;    /* != 0: quarantine this seq */
    uint64_t expect_undecodable;    /* != 0: this seq arrives as an undecodable placeholder */
    size_t undecodable;
    size_t gaps_sent;
    size_t hellos;
    size_t pings;
    uint32_t received[MAXSEQ + 1];  /* how often each seq arrived in a BATCH */
    bool drop_next;             /* drop the next batch that starts at hwm + 1, unanswered (lost) */
    bool hold_gaps;             /* hold every E_GAP but the first until the range is resent */
    zframe_t *held[64];
    size_t nheld;
    bool deferring;             /* once the held E_GAPs went out: answer batches only at the next PING */
    zframe_t *deferred[64][2];  /* (routing id, body) of the batches not answered yet */
    size_t ndeferred;
    /* Per connection (routing id): the highest mark told to it. A batch
       that starts at or below it re-sends what this session already had
       acknowledged: the agent must never do that (except after an E_GAP,
       whose in-flight crossings may legitimately repeat a range). */
    struct {
        uint8_t id[256];
        size_t size;
        uint64_t told;
    } conn[32];
    size_t nconn;
    size_t resent_after_ack;
    bool bad;                   /* a protocol violation seen (message printed) */
} peer_t;

typedef struct {
    char *dir;
    char *agent_dir;
    char *log;
    pid_t agent;
    peer_t peer;
} ctx_t;

/*  ---- the peer ------------------------------------------------------------ */

static void
peer_bind(peer_t *p)
{
    p->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(p->router);
    zsock_set_linger(p->router, 0);
    zcert_apply(p->cert, p->router);
    zsock_set_curve_server(p->router, 1);
    zsock_set_router_mandatory(p->router, 0);
    if (zsock_bind(p->router, "%s", p->endpoint) < 0)
        fail_msg("peer: cannot bind %s", p->endpoint);
}

static void
peer_stop(peer_t *p)
{
    for (size_t i = 0; i < p->nheld; i++)
        zframe_destroy(&p->held[i]);
    p->nheld = 0;
    for (size_t i = 0; i < p->ndeferred; i++) {
        zframe_destroy(&p->deferred[i][0]);
        zframe_destroy(&p->deferred[i][1]);
    }
    p->ndeferred = 0;
    p->deferring = false;
    zsock_destroy(&p->router);
    p->nconn = 0;   /* its connections died with it */
}

static uint64_t *
peer_told(peer_t *p, zframe_t *id)
{
    for (size_t i = 0; i < p->nconn; i++)
        if (p->conn[i].size == zframe_size(id) && memcmp(p->conn[i].id, zframe_data(id), p->conn[i].size) == 0)
            return &p->conn[i].told;
    assert_true(p->nconn < 32 && zframe_size(id) <= 256);
    size_t i = p->nconn++;
    memcpy(p->conn[i].id, zframe_data(id), zframe_size(id));
    p->conn[i].size = zframe_size(id);
    p->conn[i].told = 0;
    return &p->conn[i].told;
}

static void
peer_send(peer_t *p, zframe_t *id, const wq_msg_t *m)
{
    uint64_t *told = peer_told(p, id);
    if (m->type == WQ_MSG_WELCOME)
        *told = m->welcome.hwm;
    else if (m->type == WQ_MSG_ACK && m->ack.hwm > *told)
        *told = m->ack.hwm;
    else if (m->type == WQ_MSG_ERROR)
        *told = m->error.expected_seq - 1;
    uint8_t *buf = NULL;
    size_t size = 0;
    wq_err_t err;
    assert_int_equal(wq_msg_encode(m, &buf, &size, &err), WQ_OK);
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &(zframe_t *){zframe_dup(id)});
    zmsg_addmem(msg, buf, size);
    free(buf);
    zmsg_send(&msg, p->router);
}

static void
peer_handle(peer_t *p, zframe_t *id, const wq_msg_t *m)
{
    wq_msg_t r;
    memset(&r, 0, sizeof r);
    switch (m->type) {
    case WQ_MSG_HELLO:
        p->hellos++;
        if (p->inc && p->inc != m->hello.inc) {
            fprintf(stderr, "peer: incarnation changed %08x -> %08x\n", p->inc, m->hello.inc);
            p->bad = true;
        }
        p->inc = m->hello.inc;
        r.type = WQ_MSG_WELCOME;
        r.welcome.inc = p->inc;
        r.welcome.hwm = p->lie_hwm ? p->lie_hwm : p->hwm;
        p->lie_hwm = 0;
        r.welcome.credit = p->credit;
        r.welcome.max_batch = p->max_batch;
        r.welcome.heartbeat_ms = p->hb_ms;
        peer_send(p, id, &r);
        return;
    case WQ_MSG_BATCH: {
        if (m->batch.inc != p->inc) {
            fprintf(stderr, "peer: batch for incarnation %08x\n", m->batch.inc);
            p->bad = true;
            return;
        }
        if (p->drop_next && m->batch.first_seq == p->hwm + 1) {
            p->drop_next = false;       /* lost on the way: no answer */
            return;
        }
        if (p->nheld > 0 && m->batch.first_seq == p->hwm + 1) {
            /* The resend has begun: only now answer the batches that were
               in flight with the lost one, so that their E_GAPs reach the
               agent while it resends past the gap. */
            for (size_t i = 0; i < p->nheld; i++) {
                wq_msg_t g;
                memset(&g, 0, sizeof g);
                g.type = WQ_MSG_ERROR;
                g.error.code = WQ_E_GAP;
                g.error.expected_seq = p->hwm + 1;
                g.error.text = "gap";
                peer_send(p, p->held[i], &g);
                zframe_destroy(&p->held[i]);
            }
            p->nheld = 0;
            p->deferring = true;
        }
        if (m->batch.first_seq <= *peer_told(p, id)) {
            fprintf(stderr, "peer: batch from %llu re-sends what this session had acknowledged "
                    "up to %llu\n", (unsigned long long) m->batch.first_seq,
                    (unsigned long long) *peer_told(p, id));
            p->resent_after_ack++;
        }
        if (m->batch.first_seq > p->hwm + 1) {
            p->gaps_sent++;
            if (p->hold_gaps && p->gaps_sent > 1) {
                assert_true(p->nheld < 64);
                p->held[p->nheld++] = zframe_dup(id);
                return;
            }
            r.type = WQ_MSG_ERROR;
            r.error.code = WQ_E_GAP;
            r.error.expected_seq = p->hwm + 1;
            r.error.text = "gap";
            peer_send(p, id, &r);
            return;
        }
        wq_quarantined_t q = {0};
        size_t nq = 0;
        for (size_t i = 0; i < m->batch.count; i++) {
            uint64_t seq = m->batch.first_seq + i;
            if (seq <= p->hwm) {
                p->dup_received++;
                continue;
            }
            wq_record_t *rec = NULL;
            wq_err_t err;
            bool undecodable = false;
            if (wq_record_decode(m->batch.records[i].data, m->batch.records[i].size, &rec, &err) !=
                WQ_OK)
                undecodable = true;
            else if (rec->seq != seq || rec->inc != p->inc || wq_record_validate(rec, &err) != WQ_OK) {
                fprintf(stderr, "peer: record %llu is bad: %s\n", (unsigned long long) seq, err.text);
                p->bad = true;
            }
            wq_record_destroy(&rec);
            if (p->nstored < MAXSEQ)
                p->stored[p->nstored++] = seq;
            if (undecodable) {
                /* Quarantined, as a collector does: only where the test expects it. */
                if (seq != p->expect_undecodable) {
                    fprintf(stderr, "peer: record %llu undecodable\n", (unsigned long long) seq);
                    p->bad = true;
                }
                p->undecodable++;
                q.seq = seq;
                q.code = err.code;
                q.reason = "undecodable";
                nq = 1;
            } else if (seq == p->quarantine_seq) {
                q.seq = seq;
                q.code = WQ_E_FOREIGN;
                q.reason = "test peer says: county 130104 is not yours";
                nq = 1;
            }
            p->hwm = seq;
        }
        r.type = WQ_MSG_ACK;
        r.ack.inc = p->inc;
        r.ack.hwm = p->hwm;
        r.ack.count = nq;
        r.ack.quarantined = nq ? &q : NULL;
        peer_send(p, id, &r);
        return;
    }
    case WQ_MSG_PING:
        p->pings++;
        p->deferring = false;
        for (size_t i = 0; i < p->ndeferred; i++) {
            wq_msg_t *b = NULL;
            wq_err_t err;
            assert_int_equal(wq_msg_decode(zframe_data(p->deferred[i][1]), zframe_size(p->deferred[i][1]), &b,
                                           &err), WQ_OK);
            peer_handle(p, p->deferred[i][0], b);
            wq_msg_destroy(&b);
            zframe_destroy(&p->deferred[i][0]);
            zframe_destroy(&p->deferred[i][1]);
        }
        p->ndeferred = 0;
        r.type = WQ_MSG_PONG;
        r.pong.inc = p->inc;
        r.pong.hwm = p->hwm;
        peer_send(p, id, &r);
        return;
    default:
        fprintf(stderr, "peer: unexpected %s\n", wq_msg_type_name(m->type));
        p->bad = true;
    }
}

/*  Handle what arrives within timeout_ms. */
static void
peer_step(peer_t *p, int timeout_ms)
{
    zpoller_t *poller = zpoller_new(p->router, NULL);
    void *which = zpoller_wait(poller, timeout_ms);
    zpoller_destroy(&poller);
    if (!which)
        return;
    while (zsock_events(p->router) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv(p->router);
        if (!msg)
            return;
        zframe_t *id = zmsg_pop(msg);
        zframe_t *body = zmsg_pop(msg);
        wq_msg_t *m = NULL;
        wq_err_t err;
        if (!id || !body || zmsg_size(msg) != 0 ||
            wq_msg_decode(zframe_data(body), zframe_size(body), &m, &err) != WQ_OK) {
            fprintf(stderr, "peer: undecodable message\n");
            p->bad = true;
        } else if (m->type == WQ_MSG_BATCH) {
            for (size_t i = 0; i < m->batch.count; i++)
                if (m->batch.first_seq + i <= MAXSEQ)
                    p->received[m->batch.first_seq + i]++;
            if (p->deferring) {
                assert_true(p->ndeferred < 64);
                p->deferred[p->ndeferred][0] = zframe_dup(id);
                p->deferred[p->ndeferred][1] = zframe_dup(body);
                p->ndeferred++;
            } else
                peer_handle(p, id, m);
        } else
            peer_handle(p, id, m);
        wq_msg_destroy(&m);
        zframe_destroy(&id);
        zframe_destroy(&body);
        zmsg_destroy(&msg);
    }
}

/*  Step the peer until its mark reaches hwm (or WAIT_MS passes). */
static bool
peer_until_hwm(peer_t *p, uint64_t hwm)
{
    int64_t end = zclock_mono() + WAIT_MS;
    while (p->hwm < hwm && zclock_mono() < end)
        peer_step(p, 50);
    return p->hwm >= hwm;
}

/*  Keep the peer serving for ms (acks, pongs). */
static void
peer_serve(peer_t *p, int ms)
{
    int64_t end = zclock_mono() + ms;
    while (zclock_mono() < end)
        peer_step(p, 20);
}

static void
assert_stored_exactly(peer_t *p, uint64_t n)
{
    assert_false(p->bad);
    assert_int_equal(p->hwm, n);
    assert_int_equal(p->nstored, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p->stored[i], i + 1);
}

/*  ---- the agent ------------------------------------------------------------ */

static int
s_setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    c->dir = ts_tmpdir();
    c->agent_dir = ts_strf("%s/agent", c->dir);
    c->log = ts_strf("%s/agent.log", c->dir);
    c->peer.cert = zcert_new();
    c->peer.port = ts_free_port();
    snprintf(c->peer.endpoint, sizeof c->peer.endpoint, "tcp://127.0.0.1:%d", c->peer.port);
    c->peer.credit = 2;
    c->peer.max_batch = 7;
    c->peer.hb_ms = 300;
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "init", "--dir", c->agent_dir, "--agent-id",
                    AS_AGENT, "--county", AS_COUNTY, "--collector", c->peer.endpoint,
                    "--collector-key", (char *) zcert_public_txt(c->peer.cert), "--config",
                    "heartbeat_ms=300", "--config", "backoff_min_ms=100", "--config",
                    "backoff_max_ms=400", "--config", "poll_ms=50", "--config",
                    "log_level=debug", NULL};
    char *out = NULL, *err = NULL;
    int rc = ts_run(argv, NULL, &out, &err, 20000, NULL);
    if (rc != 0)
        fail_msg("init failed (%d): %s %s", rc, out, err);
    free(out);
    free(err);
    *state = c;
    return 0;
}

static int
s_teardown(void **state)
{
    ctx_t *c = *state;
    if (c->agent > 0)
        ts_stop(c->agent);
    peer_stop(&c->peer);
    zcert_destroy(&c->peer.cert);
    if (getenv("WANQI_KEEP_TMP")) {
        char *log = ts_read_file(c->log);
        fprintf(stderr, "--- agent log ---\n%s\n", log ? log : "");
        free(log);
    }
    ts_tmpdir_remove(&c->dir);
    free(c->agent_dir);
    free(c->log);
    free(c);
    return 0;
}

static void
agent_run(ctx_t *c)
{
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "run", "--dir", c->agent_dir, NULL};
    c->agent = ts_spawn(argv, c->log, NULL);
    assert_true(c->agent > 0);
}

static void
agent_stop(ctx_t *c)
{
    assert_int_equal(ts_stop(c->agent), 0);   /* SIGTERM: clean exit */
    c->agent = 0;
}

/*  Import n enterprise records (one import, one process). */
static void
agent_record(ctx_t *c, int n)
{
    char *path = ts_strf("%s/batch.jsonl", c->dir);
    size_t cap = (size_t) n * 200 + 1, len = 0;
    char *text = malloc(cap);
    for (int i = 0; i < n; i++)
        len += (size_t) snprintf(text + len, cap - len,
                                 "{\"type\":\"enterprise\",\"date\":\"2019-05-10\",\"ent\":\"" AS_ENT
                                 "\",\"name\":\"企业%d\",\"industry\":\"C\"}\n", i);
    ts_write_file(path, text);
    free(text);
    /* --repeat: calls make the same records again and want them stored
       (the content fingerprint would skip them otherwise). */
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "import", path, "--repeat", "--dir",
                    c->agent_dir, NULL};
    char *out = NULL, *err = NULL;
    int rc = ts_run(argv, NULL, &out, &err, 30000, NULL);
    if (rc != 0)
        fail_msg("import failed (%d): %s", rc, err);
    free(out);
    free(err);
    free(path);
}

static char *
agent_status_json(ctx_t *c)
{
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "status", "--format", "json", "--dir",
                    c->agent_dir, NULL};
    char *out = NULL;
    assert_int_equal(ts_run(argv, NULL, &out, NULL, 20000, NULL), 0);
    return out;
}

typedef struct {
    ctx_t *c;
    const char *needle;
} s_wait_t;

static bool
s_status_has(void *arg)
{
    s_wait_t *w = arg;
    char *st = agent_status_json(w->c);
    bool yes = strstr(st, w->needle) != NULL;
    free(st);
    return yes;
}

/*  Wait until `status --format json` contains needle (the agent stored it). */
static void
agent_wait_status(ctx_t *c, const char *needle)
{
    s_wait_t w = {c, needle};
    if (!ts_wait_until(s_status_has, &w, WAIT_MS))
        fail_msg("status never showed '%s'", needle);
}

/*  ---- the tests -------------------------------------------------------------- */

static void
test_it_backlog_drains(void **state)
{
    ctx_t *c = *state;
    agent_record(c, 30);
    agent_run(c);              /* no peer yet: the agent retries with backoff */
    ts_sleep_ms(1500);         /* > 3 heartbeats: at least one reconnect with backoff */
    peer_bind(&c->peer);
    assert_true(peer_until_hwm(&c->peer, 30));
    assert_stored_exactly(&c->peer, 30);
    /* Picked up while running. */
    agent_record(c, 3);
    assert_true(peer_until_hwm(&c->peer, 33));
    peer_serve(&c->peer, 200);     /* let the agent store the last ack */
    assert_stored_exactly(&c->peer, 33);
    assert_int_equal(c->peer.resent_after_ack, 0);
    agent_stop(c);
    char *st = agent_status_json(c);
    assert_non_null(strstr(st, "\"acknowledged\":33,\"queued\":0"));
    assert_non_null(strstr(st, "\"last_contact\":\""));
    free(st);
}

static void
test_it_sigkill_loses_nothing(void **state)
{
    ctx_t *c = *state;
    c->peer.max_batch = 5;
    c->peer.credit = 3;
    agent_record(c, 300);
    peer_bind(&c->peer);
    agent_run(c);
    assert_true(peer_until_hwm(&c->peer, 40));
    ts_kill(c->agent, SIGKILL);
    ts_wait(c->agent, 10000);
    c->agent = 0;
    peer_serve(&c->peer, 100);
    assert_true(c->peer.hwm < 300);
    agent_run(c);
    assert_true(peer_until_hwm(&c->peer, 300));
    peer_serve(&c->peer, 200);
    assert_stored_exactly(&c->peer, 300);
    assert_int_equal(c->peer.resent_after_ack, 0);
    agent_stop(c);
    char *st = agent_status_json(c);
    assert_non_null(strstr(st, "\"acknowledged\":300,\"queued\":0"));
    free(st);
}

static void
test_it_resumes_after_peer_restart(void **state)
{
    ctx_t *c = *state;
    peer_bind(&c->peer);
    agent_record(c, 10);
    agent_run(c);
    assert_true(peer_until_hwm(&c->peer, 10));
    peer_stop(&c->peer);
    agent_record(c, 10);       /* recorded while the collector is gone */
    agent_wait_status(c, "link dead");
    peer_bind(&c->peer);
    assert_true(peer_until_hwm(&c->peer, 20));
    peer_serve(&c->peer, 200);
    assert_stored_exactly(&c->peer, 20);
    assert_int_equal(c->peer.resent_after_ack, 0);
    assert_true(c->peer.hellos >= 2);
    agent_stop(c);
}

static void
test_it_gap(void **state)
{
    ctx_t *c = *state;
    agent_record(c, 12);
    c->peer.lie_hwm = 5;       /* WELCOME claims 5, the peer holds nothing: E_GAP expected 1 */
    peer_bind(&c->peer);
    agent_run(c);
    assert_true(peer_until_hwm(&c->peer, 12));
    peer_serve(&c->peer, 200);
    assert_true(c->peer.gaps_sent >= 1);
    assert_stored_exactly(&c->peer, 12);
    agent_stop(c);
    char *st = agent_status_json(c);
    assert_non_null(strstr(st, "\"acknowledged\":12,\"queued\":0"));
    free(st);
}

/*  Four batches in flight; the first is lost, the other three each get
    an E_GAP. The peer answers the first E_GAP at once and holds the other
    two until the agent has begun resending from seq 1, so they arrive
    while it resends past the gap; it acknowledges that first resent batch
    and answers the rest only at the next PING, so that nothing moves the
    agent past the range before it has acted on the two E_GAPs (an agent
    that rewinds on each sends 6..20 a third time before that PING). The
    agent must resend the range once:
    every seq arrives exactly twice (the lost send and the resend), never a
    third time. The count is taken at the first PING after the peer holds
    everything: the agent sends in order, so any extra resend would have
    arrived before that PING. */
static void
test_it_gap_resend_once(void **state)
{
    ctx_t *c = *state;
    agent_record(c, 20);
    c->peer.credit = 4;
    c->peer.max_batch = 5;
    c->peer.drop_next = true;
    c->peer.hold_gaps = true;
    peer_bind(&c->peer);
    agent_run(c);
    assert_true(peer_until_hwm(&c->peer, 20));
    size_t pings = c->peer.pings;
    int64_t end = zclock_mono() + WAIT_MS;
    while (c->peer.pings == pings && zclock_mono() < end)
        peer_step(&c->peer, 50);
    assert_true(c->peer.pings > pings);
    assert_int_equal(c->peer.gaps_sent, 3);
    assert_int_equal(c->peer.nheld, 0);
    assert_int_equal(c->peer.ndeferred, 0);
    for (uint64_t seq = 1; seq <= 20; seq++)
        if (c->peer.received[seq] != 2)
            fail_msg("seq %llu arrived %u times, expected 2 (sent, lost, resent once)",
                     (unsigned long long) seq, c->peer.received[seq]);
    assert_int_equal(c->peer.received[21], 0);
    assert_int_equal(c->peer.dup_received, 0);
    assert_stored_exactly(&c->peer, 20);
    agent_stop(c);
    char *st = agent_status_json(c);
    assert_non_null(strstr(st, "\"acknowledged\":20,\"queued\":0"));
    free(st);
}

static void
test_it_restored_peer_lower_mark(void **state)
{
    ctx_t *c = *state;
    agent_record(c, 10);
    peer_bind(&c->peer);
    agent_run(c);
    assert_true(peer_until_hwm(&c->peer, 10));
    peer_serve(&c->peer, 200);
    peer_stop(&c->peer);
    /* Restore the peer "from a backup" that had only 1..4. */
    c->peer.hwm = 4;
    c->peer.nstored = 4;
    agent_wait_status(c, "link dead");
    peer_bind(&c->peer);
    assert_true(peer_until_hwm(&c->peer, 10));
    peer_serve(&c->peer, 200);
    assert_stored_exactly(&c->peer, 10);
    assert_int_equal(c->peer.resent_after_ack, 0);
    agent_stop(c);
    char *st = agent_status_json(c);
    assert_non_null(strstr(st, "\"acknowledged\":10,\"queued\":0"));
    free(st);
}

static void
test_it_quarantine_in_status(void **state)
{
    ctx_t *c = *state;
    c->peer.quarantine_seq = 2;
    agent_record(c, 3);
    peer_bind(&c->peer);
    agent_run(c);
    assert_true(peer_until_hwm(&c->peer, 3));
    peer_serve(&c->peer, 300);
    agent_stop(c);
    char *st = agent_status_json(c);
    assert_non_null(strstr(st, "\"quarantined_count\":1,\"quarantined\":[{\"inc\":\""));
    assert_non_null(strstr(st, "\"seq\":2,\"code\":\"E_FOREIGN\",\"reason\":\"test peer says: "
                               "county 130104 is not yours\"}]"));
    free(st);
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "status", "--dir", c->agent_dir, NULL};
    char *out = NULL;
    assert_int_equal(ts_run(argv, NULL, &out, NULL, 20000, NULL), 0);
    assert_non_null(strstr(out, "quarantined:        1\n"));
    assert_non_null(strstr(out, "/2  E_FOREIGN  test peer says"));
    free(out);
}

static void
test_it_collector_ahead_refused(void **state)
{
    /* The peer claims more of this stream than the outbox holds (the
       outbox was restored from an older copy): sending would have new
       records dropped as duplicates, so the agent refuses and says why. */
    ctx_t *c = *state;
    agent_record(c, 5);
    c->peer.hwm = 100;
    peer_bind(&c->peer);
    agent_run(c);
    int64_t end = zclock_mono() + WAIT_MS;
    while (c->peer.hellos == 0 && zclock_mono() < end)
        peer_step(&c->peer, 50);
    assert_true(c->peer.hellos >= 1);
    agent_wait_status(c, "--force-new-incarnation");
    peer_serve(&c->peer, 300);
    assert_int_equal(c->peer.nstored, 0);
    assert_false(c->peer.bad);
    agent_stop(c);
    char *st = agent_status_json(c);
    assert_non_null(strstr(st, "\"acknowledged\":0,\"queued\":5"));
    free(st);
}

static void
test_it_unreadable_record_skipped(void **state)
{
    /* Damage record 3 in the outbox (an empty value, as a disk error might
       leave): `run` sends a placeholder that the peer quarantines, notes it
       as skipped, and the queue does not block. */
    ctx_t *c = *state;
    agent_record(c, 5);
    char *outbox = ts_strf("%s/outbox", c->agent_dir);
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    wq_err_t err;
    assert_int_equal(wq_store_open(outbox, 64u << 20, 8, &env, &err), WQ_OK);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "records", 0, &dbi), 0);
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &d, MDB_FIRST), 0);
    uint8_t key[12];
    memcpy(key, k.mv_data, 12);
    mdb_cursor_close(cur);
    wq_be64_put(key + 4, 3);
    MDB_val k3 = {12, key}, empty = {0, ""};
    assert_int_equal(mdb_put(txn, dbi, &k3, &empty, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    free(outbox);

    c->peer.expect_undecodable = 3;
    peer_bind(&c->peer);
    agent_run(c);
    assert_true(peer_until_hwm(&c->peer, 5));
    peer_serve(&c->peer, 300);
    assert_stored_exactly(&c->peer, 5);
    assert_int_equal(c->peer.undecodable, 1);
    agent_stop(c);
    char *st = agent_status_json(c);
    assert_non_null(strstr(st, "\"acknowledged\":5,\"queued\":0"));
    assert_non_null(strstr(st, "\"quarantined_count\":1,"));
    assert_non_null(strstr(st, "\"skipped_count\":1,\"skipped\":[{\"inc\":\""));
    assert_non_null(strstr(st, "\"seq\":3,\"code\":\"\",\"reason\":\"record 3 empty value"));
    free(st);
    /* list skips it with a warning and shows the other four. */
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "list", "--format", "csv", "--dir",
                    c->agent_dir, NULL};
    char *out = NULL, *errs = NULL;
    assert_int_equal(ts_run(argv, NULL, &out, &errs, 20000, NULL), 0);
    size_t rows = 0;
    for (char *p = out; *p; p++)
        rows += *p == '\n';
    assert_int_equal(rows, 5);     /* header + 4 */
    assert_non_null(strstr(errs, "/3 cannot be decoded"));
    free(out);
    free(errs);
}

int
main(void)
{
    zsys_init();
    zsys_set_linger(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_it_backlog_drains, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_sigkill_loses_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_resumes_after_peer_restart, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_gap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_gap_resend_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_restored_peer_lower_mark, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_quarantine_in_status, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_unreadable_record_skipped, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_collector_ahead_refused, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
