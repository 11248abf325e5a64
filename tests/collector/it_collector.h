/*  =========================================================================
    it_collector - shared plumbing for the collector's integration tests

    Included by tests/collector/test_it_*.c (static functions only; each
    test program is one translation unit plus testsupport.c). It sets up a
    real collector (`wanqi-collector init`, `authorize`, `run` on 127.0.0.1
    with ephemeral ports), a query client (`wanqi-query keygen`), and a TEST
    AGENT written here: a DEALER with real CURVE keys speaking proto/msg.h,
    so that the collector is tested without the real wanqi-agent.
    Everything aborts the test on a set-up failure (a failed set-up must
    never let a test pass).
    =========================================================================
*/
#ifndef WQ_IT_COLLECTOR_H_INCLUDED
#define WQ_IT_COLLECTOR_H_INCLUDED

#include <czmq.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "common/creditcode.h"
#include "common/json.h"
#include "common/record.h"
#include "proto/msg.h"
#include "tests/support/testsupport.h"

#define IT_TIMEOUT_MS 15000     /* an upper bound for an answer, never a measurement */
/* Every helper is static; each test program uses some of them. */
#define IT_STATIC static __attribute__((unused))

typedef struct {
    char *tmp;                  /* test's temporary directory */
    char *cdir;                 /* collector data dir */
    char *qdir;                 /* query client dir */
    char *log;                  /* collector's stderr */
    char *ingest;               /* tcp://127.0.0.1:P */
    char *query;
    char key[41];               /* collector's public key */
    pid_t pid;                  /* running collector or 0 */
} it_env_t;

IT_STATIC void
it_chomp_key(const char *out, char key[41])
{
    /* The key is the last non-empty line of stdout. */
    assert_non_null(out);
    const char *end = out + strlen(out);
    while (end > out && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    const char *start = end;
    while (start > out && start[-1] != '\n')
        start--;
    if (end - start != 40)
        fail_msg("expected a 40-character key line, got \"%s\"", out);
    memcpy(key, start, 40);
    key[40] = 0;
}

/*  Run a program; returns its exit status; *out (if not NULL) its stdout.
    noinline: inlined, gcc 12 -O3 takes the output ts_run returns through
    &o for a pointer to o itself (a false -Wdangling-pointer in Release). */
__attribute__((noinline)) IT_STATIC int
it_run(char **out, char **errout, char *const argv[])
{
    char *o = NULL, *e = NULL;
    int rc = ts_run(argv, NULL, &o, &e, 60000, NULL);
    if (out)
        *out = o;
    else
        free(o);
    if (errout)
        *errout = e;
    else {
        if (rc != 0 && e && *e)
            fprintf(stderr, "[%s exit %d] %s", argv[0], rc, e);
        free(e);
    }
    return rc;
}

IT_STATIC void
it_setup(it_env_t *env)
{
    memset(env, 0, sizeof *env);
    env->tmp = ts_tmpdir();
    env->cdir = ts_strf("%s/collector", env->tmp);
    env->qdir = ts_strf("%s/client", env->tmp);
    env->log = ts_strf("%s/collector.log", env->tmp);
    env->ingest = ts_strf("tcp://127.0.0.1:%d", ts_free_port());
    env->query = ts_strf("tcp://127.0.0.1:%d", ts_free_port());
    char *out = NULL;
    char *init[] = {(char *) ts_bin("wanqi-collector"), "init", "--dir", env->cdir, "--ingest", env->ingest,
                    "--query", env->query, "--map-size", "64M", NULL};
    if (it_run(&out, NULL, init) != 0)
        fail_msg("wanqi-collector init failed");
    it_chomp_key(out, env->key);
    free(out);
    char *keygen[] = {(char *) ts_bin("wanqi-query"), "keygen", "--dir", env->qdir, NULL};
    if (it_run(NULL, NULL, keygen) != 0)
        fail_msg("wanqi-query keygen failed");
    char *cert = ts_strf("%s/client.cert", env->qdir);
    char *auth[] = {(char *) ts_bin("wanqi-collector"), "authorize", "client", "--dir", env->cdir, "--key", cert,
                    "--name", "province-staff", NULL};
    if (it_run(NULL, NULL, auth) != 0)
        fail_msg("wanqi-collector authorize client failed");
    free(cert);
}

typedef struct {
    it_env_t *env;
    size_t offset;          /* where this run's log lines start */
    int status;             /* exit status if it exited, else -1 */
} it_ready_t;

/*  True once the collector serves (its log says "running") or has exited. */
IT_STATIC bool
it_ready(void *arg)
{
    it_ready_t *r = arg;
    char *log = ts_read_file(r->env->log);
    bool running = log && strlen(log) > r->offset && strstr(log + r->offset, "running (pid");
    free(log);
    if (running)
        return true;
    r->status = ts_wait(r->env->pid, 0);
    return r->status >= 0;
}

/*  Start `wanqi-collector run` and wait until it serves. The endpoints are
    given on the command line (they override collector.conf); if a port
    was taken meanwhile by another process (ts_free_port's race), new
    ports are chosen and the collector started again. */
IT_STATIC void
it_start_with(it_env_t *env, const char *map_size)
{
    assert_int_equal(env->pid, 0);
    for (int attempt = 0;; attempt++) {
        char *log = ts_read_file(env->log);
        it_ready_t r = {env, log ? strlen(log) : 0, -1};
        free(log);
        char *argv[] = {(char *) ts_bin("wanqi-collector"), "run", "--dir", env->cdir, "--ingest", env->ingest,
                        "--query", env->query, map_size ? "--map-size" : NULL, (char *) map_size, NULL};
        char *extra[] = {"WANQI_LOG=debug", NULL};
        env->pid = ts_spawn(argv, env->log, extra);
        assert_true(env->pid > 0);
        if (!ts_wait_until(it_ready, &r, 60000))
            ts_fail("wanqi-collector run did not start within 60 s");
        if (r.status < 0)
            return;     /* serving */
        env->pid = 0;
        log = ts_read_file(env->log);
        bool bind_failed = log && strstr(log + r.offset, "cannot bind");
        if (!bind_failed || attempt == 5)
            fail_msg("wanqi-collector run exited with %d:\n%s", r.status, log ? log + r.offset : "");
        free(log);
        free(env->ingest);
        free(env->query);
        env->ingest = ts_strf("tcp://127.0.0.1:%d", ts_free_port());
        env->query = ts_strf("tcp://127.0.0.1:%d", ts_free_port());
    }
}

IT_STATIC void
it_start(it_env_t *env)
{
    it_start_with(env, NULL);
}

/*  Stop with SIGTERM; the collector must exit 0. */
IT_STATIC void
it_stop(it_env_t *env)
{
    if (env->pid > 0) {
        int st = ts_stop(env->pid);
        env->pid = 0;
        if (st != 0) {
            char *log = ts_read_file(env->log);
            fprintf(stderr, "---- collector log ----\n%s\n", log ? log : "");
            free(log);
        }
        assert_int_equal(st, 0);
    }
}

IT_STATIC void
it_kill9(it_env_t *env)
{
    assert_true(env->pid > 0);
    ts_kill(env->pid, SIGKILL);
    assert_int_equal(ts_wait(env->pid, 10000), 128 + SIGKILL);
    env->pid = 0;
}

IT_STATIC void
it_teardown(it_env_t *env)
{
    if (env->pid > 0) {
        ts_stop(env->pid);
        env->pid = 0;
    }
    ts_tmpdir_remove(&env->tmp);
    free(env->cdir);
    free(env->qdir);
    free(env->log);
    free(env->ingest);
    free(env->query);
    memset(env, 0, sizeof *env);
}

/*  Authorize a new agent key; returns the certificate (with secret). */
IT_STATIC zcert_t *
it_authorize_agent(it_env_t *env, const char *agent, const char *county)
{
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    char *path = ts_strf("%s/agent-%s.cert", env->tmp, agent);
    assert_int_equal(zcert_save_public(cert, path), 0);
    char *argv[] = {(char *) ts_bin("wanqi-collector"), "authorize", "agent", "--dir", env->cdir, "--key", path,
                    "--agent-id", (char *) agent, "--county", (char *) county, NULL};
    if (it_run(NULL, NULL, argv) != 0)
        fail_msg("wanqi-collector authorize agent %s failed", agent);
    free(path);
    return cert;
}

/*  Append a setting ("key = value") to the collector's configuration. */
IT_STATIC void
it_conf_add(it_env_t *env, const char *line)
{
    char *path = ts_strf("%s/collector.conf", env->cdir);
    char *text = ts_read_file(path);
    assert_non_null(text);
    char *more = ts_strf("%s\n%s\n", text, line);
    ts_write_file(path, more);
    free(more);
    free(text);
    free(path);
}

typedef struct {
    const char *path;
    const char *text;
    int count;                  /* occurrences wanted */
} it_logwait_t;

IT_STATIC bool
it_log_has(void *arg)
{
    it_logwait_t *w = arg;
    char *log = ts_read_file(w->path);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, w->text)); p++)
        n++;
    free(log);
    return n >= w->count;
}

/*  Wait until the collector's log shows text count times (fails the test
    after IT_TIMEOUT_MS). */
IT_STATIC void
it_wait_log(it_env_t *env, const char *text, int count)
{
    it_logwait_t w = {env->log, text, count};
    if (!ts_wait_until(it_log_has, &w, IT_TIMEOUT_MS))
        ts_fail("the collector did not log \"%s\" %d times within %d s (log %s)", text, count,
                IT_TIMEOUT_MS / 1000, env->log);
}

/*  Revoke a peer: remove the one line of the peers file that contains
    `which` (a key or an agent id), then make the collector reload (SIGHUP). */
IT_STATIC void
it_revoke(it_env_t *env, const char *which)
{
    char *path = ts_strf("%s/peers", env->cdir);
    char *text = ts_read_file(path);
    assert_non_null(text);
    char *line = strstr(text, which);
    assert_non_null(line);
    while (line > text && line[-1] != '\n')
        line--;
    char *end = strchr(line, '\n');
    assert_non_null(end);
    memmove(line, end + 1, strlen(end + 1) + 1);
    assert_null(strstr(text, which));
    ts_write_file(path, text);
    assert_int_equal(chmod(path, 0600), 0);
    free(text);
    free(path);
    ts_kill(env->pid, SIGHUP);
}

/*  Run wanqi-query with the test client; returns the exit status. */
IT_STATIC int
it_query(it_env_t *env, char **out, char **errout, const char *a1, const char *a2, const char *a3,
         const char *a4, const char *a5, const char *a6)
{
    char *argv[20] = {(char *) ts_bin("wanqi-query"), "--dir", env->qdir, "--collector", env->query,
                      "--collector-key", env->key, "--timeout", "20"};
    int n = 9;
    const char *extra[] = {a1, a2, a3, a4, a5, a6};
    for (int i = 0; i < 6 && extra[i]; i++)
        argv[n++] = (char *) extra[i];
    argv[n] = NULL;
    return it_run(out, errout, argv);
}

/*  ---- the test agent ----------------------------------------------------- */

typedef struct {
    zsock_t *dealer;
    zsock_t *monitor;           /* PAIR receiving handshake events, or NULL */
    char agent[33];
    char county[7];
    uint32_t inc;
    uint64_t last_seq;          /* what HELLO says the outbox holds */
} it_agent_t;

IT_STATIC int s_it_monitor_seq = 0;

/*  A test agent's DEALER connected to the collector's ingest endpoint, with
    a monitor reporting the ZeroMQ events `events` (it_agent_event), and
    reconnecting after reconnect_ms when the connection breaks (0: ZeroMQ's
    default; a long one keeps a connection the collector closed closed). */
IT_STATIC void
it_agent_connect_ex(it_agent_t *a, it_env_t *env, zcert_t *cert, const char *agent, const char *county,
                    uint32_t inc, int events, int reconnect_ms)
{
    memset(a, 0, sizeof *a);
    snprintf(a->agent, sizeof a->agent, "%s", agent);
    snprintf(a->county, sizeof a->county, "%s", county);
    a->inc = inc;
    a->dealer = zsock_new(ZMQ_DEALER);
    a->monitor = zsock_new(ZMQ_PAIR);
    assert_non_null(a->dealer);
    assert_non_null(a->monitor);
    zsock_set_linger(a->dealer, 0);
    zsock_set_linger(a->monitor, 0);
    if (reconnect_ms > 0)
        zsock_set_reconnect_ivl(a->dealer, reconnect_ms);
    zcert_apply(cert, a->dealer);
    zsock_set_curve_serverkey(a->dealer, env->key);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://it-monitor-%d", ++s_it_monitor_seq);
    assert_int_equal(zmq_socket_monitor(zsock_resolve(a->dealer), ep, events), 0);
    assert_int_equal(zsock_connect(a->monitor, "%s", ep), 0);
    assert_int_equal(zsock_connect(a->dealer, "%s", env->ingest), 0);
}

/*  A test agent whose monitor reports the handshake's success or refusal. */
IT_STATIC void
it_agent_connect(it_agent_t *a, it_env_t *env, zcert_t *cert, const char *agent, const char *county, uint32_t inc)
{
    it_agent_connect_ex(a, env, cert, agent, county, inc,
                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 0);
}

IT_STATIC void
it_agent_close(it_agent_t *a)
{
    if (a->dealer)
        zmq_socket_monitor(zsock_resolve(a->dealer), NULL, 0);
    zsock_destroy(&a->monitor);
    zsock_destroy(&a->dealer);
}

/*  Next handshake event (ZMQ_EVENT_*), waiting at most timeout_ms; 0 if none. */
IT_STATIC int
it_agent_event(it_agent_t *a, int timeout_ms)
{
    zpoller_t *p = zpoller_new(a->monitor, NULL);
    void *which = zpoller_wait(p, timeout_ms);
    zpoller_destroy(&p);
    if (!which)
        return 0;
    zmsg_t *m = zmsg_recv(a->monitor);
    int ev = 0;
    zframe_t *f = m ? zmsg_first(m) : NULL;
    if (f && zframe_size(f) >= 2) {
        uint16_t e;
        memcpy(&e, zframe_data(f), 2);
        ev = e;
    }
    zmsg_destroy(&m);
    return ev;
}

IT_STATIC void
it_send(it_agent_t *a, const wq_msg_t *msg)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    wq_err_t err;
    if (wq_msg_encode(msg, &buf, &size, &err) != WQ_OK)
        fail_msg("encode %s: %s", wq_msg_type_name(msg->type), err.text);
    assert_true(zmq_send(zsock_resolve(a->dealer), buf, size, 0) == (int) size);
    free(buf);
}

IT_STATIC void
it_send_raw(it_agent_t *a, const void *data, size_t size)
{
    assert_true(zmq_send(zsock_resolve(a->dealer), data, size, 0) == (int) size);
}

/*  Next message within timeout_ms, or NULL. */
IT_STATIC wq_msg_t *
it_recv(it_agent_t *a, int timeout_ms)
{
    zpoller_t *p = zpoller_new(a->dealer, NULL);
    void *which = zpoller_wait(p, timeout_ms);
    zpoller_destroy(&p);
    if (!which)
        return NULL;
    zframe_t *f = zframe_recv(a->dealer);
    assert_non_null(f);
    wq_msg_t *msg = NULL;
    wq_err_t err;
    if (wq_msg_decode(zframe_data(f), zframe_size(f), &msg, &err) != WQ_OK)
        fail_msg("collector sent an undecodable message: %s", err.text);
    zframe_destroy(&f);
    return msg;
}

IT_STATIC wq_msg_t *
it_expect(it_agent_t *a, wq_msg_type_t type)
{
    wq_msg_t *msg = it_recv(a, IT_TIMEOUT_MS);
    if (!msg)
        ts_fail("no %s from the collector within %d s", wq_msg_type_name(type),
                IT_TIMEOUT_MS / 1000);
    if (msg->type != type) {
        if (msg->type == WQ_MSG_ERROR)
            fail_msg("expected %s, got ERROR %s: %s", wq_msg_type_name(type), wq_errname((int) msg->error.code),
                     msg->error.text);
        fail_msg("expected %s, got %s", wq_msg_type_name(type), wq_msg_type_name(msg->type));
    }
    return msg;
}

IT_STATIC void
it_send_hello(it_agent_t *a, const char *claimed_agent, uint64_t last_seq, uint64_t queued)
{
    wq_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = WQ_MSG_HELLO;
    m.hello.agent = (char *) (claimed_agent ? claimed_agent : a->agent);
    m.hello.inc = a->inc;
    m.hello.software = "it-agent 0";
    m.hello.last_seq = last_seq;
    m.hello.queued = queued;
    it_send(a, &m);
}

/*  HELLO -> WELCOME; returns the collector's mark. */
IT_STATIC uint64_t
it_hello(it_agent_t *a)
{
    it_send_hello(a, NULL, a->last_seq, 0);
    wq_msg_t *w = it_expect(a, WQ_MSG_WELCOME);
    assert_int_equal(w->welcome.inc, a->inc);
    assert_true(w->welcome.credit >= 1);
    uint64_t hwm = w->welcome.hwm;
    wq_msg_destroy(&w);
    return hwm;
}

/*  ---- records ------------------------------------------------------------ */

/*  A valid credit code for enterprise number n (registered in Shijiazhuang;
    the registration place says nothing of where the enterprise is). */
IT_STATIC void
it_credit_code(unsigned n, char out[19])
{
    char first17[18];
    snprintf(first17, sizeof first17, "91130102MA%07u", n % 10000000u);
    char c = wq_creditcode_checkchar(first17);
    assert_true(c != 0);
    snprintf(out, 19, "%s%c", first17, c);
    assert_int_equal(wq_creditcode_check(out, NULL), WQ_OK);
}

IT_STATIC void
it_set(wq_record_t *r, const char *field, const char *value)
{
    wq_err_t err;
    if (wq_record_set_text(r, field, value, &err) != WQ_OK)
        fail_msg("set %s=%s: %s", field, value, err.text);
}

/*  Encode a record of the agent's stream: an enterprise registration when
    visit is false, else a field visit to it. county: where it is. */
IT_STATIC wq_blob_t
it_record(const it_agent_t *a, uint64_t seq, const char *county, unsigned ent, bool visit)
{
    wq_record_t *r = wq_record_new(visit ? WQ_REC_VISIT : WQ_REC_ENTERPRISE);
    assert_non_null(r);
    wq_record_set_identity(r, a->agent, a->inc, seq, 1559347200000ull + seq);
    char code[19];
    it_credit_code(ent, code);
    it_set(r, "date", "2019-06-01");
    it_set(r, "county", county);
    it_set(r, "ent", code);
    if (visit) {
        it_set(r, "cadres", "张三,李四");
        it_set(r, "method", "field_visit");
        it_set(r, "findings", "废气收集设施未正常运行");
    } else {
        char name[64];
        snprintf(name, sizeof name, "河北测试企业%u有限公司", ent);
        it_set(r, "name", name);
        it_set(r, "industry", "C3110");
    }
    wq_err_t err;
    if (wq_record_validate(r, &err) != WQ_OK && strcmp(county, a->county) == 0)
        fail_msg("test record invalid: %s: %s", err.field, err.text);
    uint8_t *buf = NULL;
    size_t size = 0;
    assert_int_equal(wq_record_encode(r, &buf, &size), WQ_OK);
    wq_record_destroy(&r);
    wq_blob_t b = {buf, size};
    return b;
}

/*  The campaign of the tests: in the stream of an agent, record seq is a
    registration of enterprise base + (seq - 1) / 4 when (seq - 1) % 4 == 0,
    else a visit to it. So n records hold ceil(n / 4) enterprises. */
IT_STATIC wq_blob_t
it_campaign_record(const it_agent_t *a, uint64_t seq, unsigned base)
{
    unsigned ent = base + (unsigned) ((seq - 1) / 4);
    return it_record(a, seq, a->county, ent, (seq - 1) % 4 != 0);
}

IT_STATIC void
it_send_batch_blobs(it_agent_t *a, uint64_t first, wq_blob_t *blobs, size_t n)
{
    wq_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = WQ_MSG_BATCH;
    m.batch.inc = a->inc;
    m.batch.first_seq = first;
    m.batch.count = n;
    m.batch.records = blobs;
    it_send(a, &m);
    for (size_t i = 0; i < n; i++)
        free((void *) blobs[i].data);
}

/*  Send campaign records first..last as one batch. */
IT_STATIC void
it_send_campaign(it_agent_t *a, uint64_t first, uint64_t last, unsigned base)
{
    size_t n = (size_t) (last - first + 1);
    wq_blob_t *blobs = calloc(n, sizeof *blobs);
    assert_non_null(blobs);
    for (size_t i = 0; i < n; i++)
        blobs[i] = it_campaign_record(a, first + i, base);
    it_send_batch_blobs(a, first, blobs, n);
    free(blobs);
}

/*  Send first..last as one batch and expect an ACK with mark last and no
    quarantine. */
IT_STATIC void
it_batch_acked(it_agent_t *a, uint64_t first, uint64_t last, unsigned base)
{
    it_send_campaign(a, first, last, base);
    wq_msg_t *ack = it_expect(a, WQ_MSG_ACK);
    assert_int_equal(ack->ack.inc, a->inc);
    assert_int_equal(ack->ack.hwm, last);
    assert_int_equal(ack->ack.count, 0);
    wq_msg_destroy(&ack);
}

/*  ---- JSON output of wanqi-query ----------------------------------------- */

typedef struct {
    wq_json_object_t **rows;
    size_t count;
} it_rows_t;

/*  Split a JSON array of flat objects (wq_table_write's JSON) into rows. */
IT_STATIC it_rows_t
it_json_rows(const char *text)
{
    it_rows_t r = {NULL, 0};
    assert_non_null(text);
    const char *p = strchr(text, '[');
    if (!p)
        fail_msg("not a JSON array: %s", text);
    bool in_str = false, esc = false;
    const char *start = NULL;
    for (; *p; p++) {
        if (in_str) {
            if (esc)
                esc = false;
            else if (*p == '\\')
                esc = true;
            else if (*p == '"')
                in_str = false;
            continue;
        }
        if (*p == '"')
            in_str = true;
        else if (*p == '{')
            start = p;
        else if (*p == '}' && start) {
            wq_json_object_t *obj = NULL;
            wq_err_t err;
            if (wq_json_parse_object(start, (size_t) (p - start + 1), &obj, &err) != WQ_OK)
                fail_msg("bad JSON row: %s", err.text);
            r.rows = realloc(r.rows, (r.count + 1) * sizeof *r.rows);
            assert_non_null(r.rows);
            r.rows[r.count++] = obj;
            start = NULL;
        }
    }
    return r;
}

IT_STATIC void
it_rows_free(it_rows_t *r)
{
    for (size_t i = 0; i < r->count; i++)
        wq_json_object_destroy(&r->rows[i]);
    free(r->rows);
    r->rows = NULL;
    r->count = 0;
}

/*  Member text (string or number) of a row, or NULL. */
IT_STATIC const char *
it_cell(const wq_json_object_t *row, const char *col)
{
    const wq_json_member_t *m = wq_json_get(row, col);
    if (!m || (m->kind != WQ_JSON_STRING && m->kind != WQ_JSON_NUMBER))
        return NULL;
    return m->text;
}

/*  The rows whose column col equals value. */
IT_STATIC size_t
it_rows_where(const it_rows_t *r, const char *col, const char *value, const wq_json_object_t **first)
{
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++) {
        const char *v = it_cell(r->rows[i], col);
        if (v && strcmp(v, value) == 0) {
            if (n == 0 && first)
                *first = r->rows[i];
            n++;
        }
    }
    return n;
}

IT_STATIC long long
it_int(const wq_json_object_t *row, const char *col)
{
    const char *v = it_cell(row, col);
    if (!v)
        fail_msg("no column %s in the row", col);
    return atoll(v);
}

#endif
