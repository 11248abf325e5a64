/*  =========================================================================
    harness - plumbing of the fault suite (see harness.h)

    Only real programs and their documented outputs are used: the agent's
    `status --format json` and `list --format json`, the collector's
    `wanqi-query agents|enterprise --format json` and `verify`, and the
    collector's debug log for the duplicates it absorbed. JSON arrays from
    --format json hold one flat object per line, which common/json.h reads.
    =========================================================================
*/
#include "harness.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "common/json.h"
#include "tests/support/testsupport.h"

#define FX_RUN_MS 120000    /* upper bound for one command-line tool run */

/* ---- environment ---------------------------------------------------- */

bool fx_light(void)
{
    const char *v = getenv("WANQI_FAULT_LIGHT");
    return v && *v && strcmp(v, "0") != 0;
}

long fx_env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end)
        ts_fail("%s=%s is not a number", name, v);
    return n;
}

long fx_soak_seconds(void)
{
    return fx_env_long("WANQI_SOAK_SECONDS", 0);
}

static uint64_t s_rng;

uint32_t fx_rand(void)
{
    if (!s_rng) {
        long seed = fx_env_long("WANQI_FAULT_SEED", 0);
        if (!seed)
            seed = (long) (time(NULL) ^ (getpid() << 8));
        fprintf(stderr, "[fault] random seed %ld (rerun with WANQI_FAULT_SEED=%ld)\n", seed, seed);
        s_rng = (uint64_t) seed * 2654435761u + 1;
    }
    /* splitmix64 */
    uint64_t z = (s_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t) ((z ^ (z >> 31)) >> 32);
}

int fx_rand_between(int lo, int hi)
{
    return lo + (int) (fx_rand() % (uint32_t) (hi - lo + 1));
}

int64_t fx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- processes this program started --------------------------------- */

/*  A failed assertion leaves the test through cmocka's longjmp, past
    fx_teardown: every long-running process started here is tracked, and
    the next fx_init (and exit) SIGKILLs what a failed scenario left. A pid
    is untracked as soon as it is reaped, so an unrelated process that
    reuses the number is never signalled. */
#define S_MAX_TRACKED 64
static pid_t s_tracked[S_MAX_TRACKED];
static void s_untrack(pid_t pid);

static void s_track(pid_t pid)
{
    for (int i = 0; i < S_MAX_TRACKED; i++)
        if (s_tracked[i] == 0) {
            s_tracked[i] = pid;
            return;
        }
}

void fx_untrack(pid_t pid)
{
    s_untrack(pid);
}

static void s_untrack(pid_t pid)
{
    for (int i = 0; i < S_MAX_TRACKED; i++)
        if (s_tracked[i] == pid)
            s_tracked[i] = 0;
}

static void s_kill_tracked(void)
{
    for (int i = 0; i < S_MAX_TRACKED; i++)
        if (s_tracked[i] > 0) {
            kill(s_tracked[i], SIGKILL);
            ts_wait(s_tracked[i], 5000);
            s_tracked[i] = 0;
        }
}

/* ---- small helpers -------------------------------------------------- */

/*  Run a program to completion; stdout into *out (NULL: discarded). */
static int s_run(char **out, char **err, char *const argv[])
{
    char *o = NULL, *e = NULL;
    int rc = ts_run(argv, NULL, &o, &e, FX_RUN_MS, NULL);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

/*  Like s_run, failing the test unless it exits 0 (stderr shown). */
static char *s_run_ok(char *const argv[])
{
    char *out = NULL, *err = NULL;
    int rc = s_run(&out, &err, argv);
    if (rc != 0)
        fail_msg("%s %s exited %d: %s", argv[0], argv[1], rc, err ? err : "");
    free(err);
    return out;
}

static char *s_bin(const char *program)
{
    char *p = strdup(ts_bin(program));
    if (!p)
        ts_fail("out of memory");
    return p;
}

static void s_last_line_key(const char *out, char key[41])
{
    assert_non_null(out);
    const char *end = out + strlen(out);
    while (end > out && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    const char *start = end;
    while (start > out && start[-1] != '\n')
        start--;
    if (end - start != 40)
        ts_fail("expected a 40-character key line, got \"%s\"", out);
    memcpy(key, start, 40);
    key[40] = 0;
}

/*  The flat objects of a --format json array (one per line). Returns the
    count; *rows is a malloc'd array the caller frees with s_rows_free. */
static size_t s_json_rows(const char *text, wq_json_object_t ***rows)
{
    size_t n = 0, cap = 0;
    wq_json_object_t **v = NULL;
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t) (eol - p) : strlen(p);
        const char *s = p;
        while (len && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len && (s[len - 1] == ',' || s[len - 1] == '\r' || s[len - 1] == ' '))
            len--;
        if (len && *s == '{') {
            wq_err_t err = {0};
            wq_json_object_t *o = NULL;
            if (wq_json_parse_object(s, len, &o, &err) != WQ_OK)
                ts_fail("cannot parse JSON row \"%.*s\": %s", (int) len, s, err.text);
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                v = realloc(v, cap * sizeof *v);
                assert_non_null(v);
            }
            v[n++] = o;
        }
        p = eol ? eol + 1 : NULL;
    }
    *rows = v;
    return n;
}

static void s_rows_free(wq_json_object_t **rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wq_json_object_destroy(&rows[i]);
    free(rows);
}

static const char *s_str(const wq_json_object_t *o, const char *key)
{
    const wq_json_member_t *m = wq_json_get(o, key);
    if (!m || (m->kind != WQ_JSON_STRING && m->kind != WQ_JSON_NUMBER))
        return NULL;
    return m->text;
}

static long long s_num(const wq_json_object_t *o, const char *key)
{
    const wq_json_member_t *m = wq_json_get(o, key);
    if (!m)
        ts_fail("JSON row has no \"%s\"", key);
    if (m->kind == WQ_JSON_NULL)
        return -1;
    if (m->kind != WQ_JSON_NUMBER)
        ts_fail("JSON \"%s\" is not a number", key);
    return strtoll(m->text, NULL, 10);
}

long fx_count_in_file(const char *path, const char *needle)
{
    char *text = ts_read_file(path);
    long n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(text);
    return n;
}

/* ---- set-up --------------------------------------------------------- */

void fx_init(fx_t *fx, const char *map_size, const char *conf_extra)
{
    static bool registered;
    if (!registered) {
        atexit(s_kill_tracked);
        registered = true;
    }
    s_kill_tracked();   /* what an earlier failed scenario left running */
    memset(fx, 0, sizeof *fx);
    fx->t0 = fx_now_ms();
    fx->tmp = ts_tmpdir();
    fx->cdir = ts_strf("%s/collector", fx->tmp);
    fx->qdir = ts_strf("%s/query", fx->tmp);
    fx->clog = ts_strf("%s/collector.log", fx->tmp);
    fx->ingest_port = ts_free_port();
    do
        fx->query_port = ts_free_port();
    while (fx->query_port == fx->ingest_port);

    char *bin = s_bin("wanqi-collector");
    char *ingest = ts_strf("tcp://127.0.0.1:%d", fx->ingest_port);
    char *query = ts_strf("tcp://127.0.0.1:%d", fx->query_port);
    char *argv[] = {bin, "init", "--dir", fx->cdir, "--ingest", ingest, "--query", query,
                    map_size ? "--map-size" : NULL, (char *) map_size, NULL};
    char *out = s_run_ok(argv);
    s_last_line_key(out, fx->key);
    free(out);

    /* Fast heartbeats so a dead link is noticed in seconds, and small
       batches so that a backlog makes many of them. */
    char *conf_path = ts_strf("%s/collector.conf", fx->cdir);
    FILE *f = fopen(conf_path, "a");
    if (!f)
        ts_fail("open %s: %s", conf_path, strerror(errno));
    /* A scenario may set its own heartbeat in conf_extra. */
    if (!conf_extra || !strstr(conf_extra, "heartbeat_ms"))
        fprintf(f, "heartbeat_ms = 1000\n");
    fprintf(f, "%s", conf_extra ? conf_extra : "");
    if (fclose(f) != 0)
        ts_fail("write %s: %s", conf_path, strerror(errno));

    char *qbin = s_bin("wanqi-query");
    char *kargv[] = {qbin, "keygen", "--dir", fx->qdir, NULL};
    /* The key text, not the certificate's path: see /tmp/wanqi-bugs.md
       (a 40-character path is taken for a key). */
    char qkey[41];
    out = s_run_ok(kargv);
    s_last_line_key(out, qkey);
    free(out);
    char *aargv[] = {bin, "authorize", "client", "--dir", fx->cdir, "--key", qkey, "--name",
                     "fault-suite", NULL};
    free(s_run_ok(aargv));
    free(qbin);
    free(conf_path);
    free(ingest);
    free(query);
    free(bin);
}

void fx_link_start(fx_t *fx, char *const args[])
{
    fx->link = fl_start(fx->tmp, fx->ingest_port, args);
    s_track(fx->link->pid);
}

int fx_agent_add(fx_t *fx, const char *id, const char *county, bool via_link,
                 char *const config[])
{
    assert_true(fx->nagents < FX_MAX_AGENTS);
    assert_true(!via_link || fx->link);
    int i = fx->nagents++;
    fx_agent_t *a = &fx->agents[i];
    snprintf(a->id, sizeof a->id, "%s", id);
    snprintf(a->county, sizeof a->county, "%s", county);
    a->dir = ts_strf("%s/agent-%s", fx->tmp, id);
    a->log = ts_strf("%s/agent-%s.log", fx->tmp, id);
    a->via_link = via_link;

    char *bin = s_bin("wanqi-agent");
    char *ep = ts_strf("tcp://127.0.0.1:%d", via_link ? fx->link->port : fx->ingest_port);
    char *argv[64];
    int k = 0;
    argv[k++] = bin;
    argv[k++] = "init";
    argv[k++] = "--dir";
    argv[k++] = a->dir;
    argv[k++] = "--agent-id";
    argv[k++] = a->id;
    argv[k++] = "--county";
    argv[k++] = a->county;
    argv[k++] = "--collector";
    argv[k++] = ep;
    argv[k++] = "--collector-key";
    argv[k++] = fx->key;
    static char *const fast[] = {"poll_ms=50", "backoff_min_ms=100", "backoff_max_ms=1000",
                                 "heartbeat_ms=1000", NULL};
    for (int j = 0; fast[j]; j++) {
        argv[k++] = "--config";
        argv[k++] = fast[j];
    }
    for (int j = 0; config && config[j] && k < 60; j++) {
        argv[k++] = "--config";
        argv[k++] = config[j];
    }
    argv[k] = NULL;
    char *out = s_run_ok(argv);
    /* The key text from "public key: KEY" (not the cert's path: see harness.c fx_init). */
    const char *pk = strstr(out, "public key: ");
    if (!pk || strlen(pk) < 12 + 40)
        fail_msg("wanqi-agent init printed no public key: %s", out);
    char *cert = strndup(pk + 12, 40);
    free(out);

    char *cbin = s_bin("wanqi-collector");
    char *aargv[] = {cbin, "authorize", "agent", "--dir", fx->cdir, "--key", cert,
                     "--agent-id", a->id, "--county", a->county, NULL};
    free(s_run_ok(aargv));
    if (fx->cpid > 0) {
        long before = fx_count_in_file(fx->clog, "peers reloaded");
        ts_kill(fx->cpid, SIGHUP);
        int64_t deadline = fx_now_ms() + 30000;
        while (fx_count_in_file(fx->clog, "peers reloaded") == before) {
            if (fx_now_ms() > deadline)
                ts_fail("the collector did not log \"peers reloaded\" within 30 s of SIGHUP "
                        "(%ld such lines before, as many now; log %s)", before, fx->clog);
            ts_sleep_ms(50);
        }
    }
    free(cert);
    free(cbin);
    free(ep);
    free(bin);
    return i;
}

typedef struct {
    fx_t *fx;
    char *needle;
} s_started_t;

static bool s_collector_up(void *arg)
{
    s_started_t *s = arg;
    if (ts_wait(s->fx->cpid, 0) != -1)
        ts_fail("the collector exited at start; log %s", s->fx->clog);
    return fx_count_in_file(s->fx->clog, s->needle) > 0;
}

void fx_collector_start(fx_t *fx, const char *map_size)
{
    assert_int_equal(fx->cpid, 0);
    char *bin = s_bin("wanqi-collector");
    char *argv[] = {bin, "run", "--dir", fx->cdir, map_size ? "--map-size" : NULL,
                    (char *) map_size, NULL};
    char *env[] = {"WANQI_LOG=debug", NULL};
    fx->cpid = ts_spawn(argv, fx->clog, env);
    s_track(fx->cpid);
    fx->cstarts++;
    s_started_t s = {fx, ts_strf("running (pid %d)", (int) fx->cpid)};
    if (!ts_wait_until(s_collector_up, &s, 30000))
        ts_fail("the collector did not log \"%s\" within 30 s of its start (log %s)",
                s.needle, fx->clog);
    free(s.needle);
    free(bin);
}

void fx_collector_kill(fx_t *fx)
{
    assert_true(fx->cpid > 0);
    ts_kill(fx->cpid, SIGKILL);
    int rc = ts_wait(fx->cpid, 10000);
    s_untrack(fx->cpid);
    fx->cpid = 0;
    assert_int_equal(rc, 128 + SIGKILL);
}

void fx_collector_stop(fx_t *fx)
{
    assert_true(fx->cpid > 0);
    int rc = ts_stop(fx->cpid);
    s_untrack(fx->cpid);
    fx->cpid = 0;
    if (rc != 0)
        ts_fail("the collector exited %d on SIGTERM; log %s", rc, fx->clog);
}

void fx_agent_start(fx_t *fx, int i)
{
    fx_agent_t *a = &fx->agents[i];
    assert_int_equal(a->pid, 0);
    char *bin = s_bin("wanqi-agent");
    char *argv[] = {bin, "run", "--dir", a->dir, NULL};
    a->pid = ts_spawn(argv, a->log, NULL);
    s_track(a->pid);
    free(bin);
}

void fx_agent_kill(fx_t *fx, int i)
{
    fx_agent_t *a = &fx->agents[i];
    assert_true(a->pid > 0);
    ts_kill(a->pid, SIGKILL);
    int rc = ts_wait(a->pid, 10000);
    s_untrack(a->pid);
    a->pid = 0;
    /* It may have died on its own before the kill: that is a failure. */
    if (rc != 128 + SIGKILL)
        ts_fail("agent %s run ended with %d before SIGKILL; log %s", a->id, rc, a->log);
}

void fx_agent_stop(fx_t *fx, int i)
{
    fx_agent_t *a = &fx->agents[i];
    assert_true(a->pid > 0);
    int rc = ts_stop(a->pid);
    s_untrack(a->pid);
    a->pid = 0;
    if (rc != 0)
        ts_fail("agent %s run exited %d on SIGTERM; log %s", a->id, rc, a->log);
}

void fx_teardown(fx_t *fx)
{
    for (int i = 0; i < fx->nagents; i++) {
        if (fx->agents[i].pid > 0)
            fx_agent_stop(fx, i);
    }
    if (fx->link) {
        pid_t lp = fx->link->pid;
        int rc = fl_stop(&fx->link);
        s_untrack(lp);
        assert_int_equal(rc, 0);
    }
    if (fx->cpid > 0)
        fx_collector_stop(fx);
    for (int i = 0; i < fx->nagents; i++) {
        free(fx->agents[i].dir);
        free(fx->agents[i].log);
    }
    fprintf(stderr, "[fault] scenario runtime %.1f s\n", (fx_now_ms() - fx->t0) / 1000.0);
    ts_tmpdir_remove(&fx->tmp);
    free(fx->cdir);
    free(fx->qdir);
    free(fx->clog);
    memset(fx, 0, sizeof *fx);
}

/* ---- records -------------------------------------------------------- */

static long s_count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        ts_fail("open %s: %s", path, strerror(errno));
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

long fx_generate(fx_t *fx, const char *county, int enterprises, int seed, const char *path,
                 const char *stats_path)
{
    (void) fx;
    char *bin = s_bin("wanqi-agent");
    char *ents = ts_strf("%d", enterprises);
    char *sd = ts_strf("%d", seed);
    char *argv[] = {bin, "generate", "--county", (char *) county, "--enterprises", ents,
                    "--seed", sd, stats_path ? "--stats" : NULL, (char *) stats_path, NULL};
    char *out = s_run_ok(argv);
    ts_write_file(path, out);
    free(out);
    free(sd);
    free(ents);
    free(bin);
    return s_count_lines(path);
}

long fx_standalone_lines(const char *in, const char *out)
{
    FILE *f = fopen(in, "r"), *g = fopen(out, "w");
    if (!f || !g)
        ts_fail("open %s / %s: %s", in, out, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    long kept = 0;
    while (getline(&line, &cap, f) > 0) {
        if (strstr(line, "\"@"))
            continue;
        fputs(line, g);
        kept++;
    }
    free(line);
    fclose(f);
    if (fclose(g) != 0)
        ts_fail("write %s", out);
    return kept;
}

long fx_slice_lines(const char *in, long from, long n, const char *out)
{
    FILE *f = fopen(in, "r"), *g = fopen(out, "w");
    if (!f || !g)
        ts_fail("open %s / %s: %s", in, out, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    long no = 0, written = 0;
    while (getline(&line, &cap, f) > 0) {
        if (no >= from && no < from + n) {
            fputs(line, g);
            written++;
        }
        no++;
    }
    free(line);
    fclose(f);
    if (fclose(g) != 0)
        ts_fail("write %s", out);
    return written;
}

int fx_import(fx_t *fx, int i, const char *path, char **out, char **err)
{
    char *bin = s_bin("wanqi-agent");
    char *argv[] = {bin, "import", (char *) path, "--repeat", "--dir", fx->agents[i].dir, NULL};
    int rc = s_run(out, err, argv);
    free(bin);
    return rc;
}

static char *s_status(fx_t *fx, int i)
{
    char *bin = s_bin("wanqi-agent");
    char *argv[] = {bin, "status", "--format", "json", "--dir", fx->agents[i].dir, NULL};
    char *out = s_run_ok(argv);
    free(bin);
    return out;
}

static const char *s_json_key(const char *text, const char *key)
{
    char *pat = ts_strf("\"%s\":", key);
    const char *p = strstr(text, pat);
    if (!p)
        fail_msg("no \"%s\" in %s", key, text);
    p += strlen(pat);
    free(pat);
    return p;
}

long long fx_status_num(fx_t *fx, int i, const char *key)
{
    char *text = s_status(fx, i);
    const char *p = s_json_key(text, key);
    long long v = strncmp(p, "null", 4) == 0 ? -1 : strtoll(p, NULL, 10);
    free(text);
    return v;
}

void fx_status_inc(fx_t *fx, int i, char inc[9])
{
    char *text = s_status(fx, i);
    const char *p = s_json_key(text, "incarnation");
    if (p[0] != '"' || strlen(p) < 10 || p[9] != '"')
        ts_fail("bad incarnation in %s", text);
    memcpy(inc, p + 1, 8);
    inc[8] = 0;
    free(text);
}

/* ---- the collector's side ------------------------------------------- */

int fx_query(fx_t *fx, char **out, char *const args[])
{
    char *bin = s_bin("wanqi-query");
    char *ep = ts_strf("tcp://127.0.0.1:%d", fx->query_port);
    char *argv[32];
    int k = 0;
    argv[k++] = bin;
    argv[k++] = "--dir";
    argv[k++] = fx->qdir;
    argv[k++] = "--collector";
    argv[k++] = ep;
    argv[k++] = "--collector-key";
    argv[k++] = fx->key;
    argv[k++] = "--timeout";
    argv[k++] = "60";
    for (int j = 0; args[j] && k < 31; j++)
        argv[k++] = args[j];
    argv[k] = NULL;
    char *err = NULL;
    int rc = s_run(out, &err, argv);
    if (rc != 0)
        fprintf(stderr, "[fault] wanqi-query %s exited %d: %s", args[0], rc, err ? err : "");
    free(err);
    free(ep);
    free(bin);
    return rc;
}

long long fx_collector_stream(fx_t *fx, const char *agent, const char *inc, const char *col)
{
    char *out = NULL;
    char *args[] = {"agents", "--format", "json", NULL};
    if (fx_query(fx, &out, args) != 0)
        ts_fail("wanqi-query agents failed");
    wq_json_object_t **rows;
    size_t n = s_json_rows(out, &rows);
    long long v = -1;
    for (size_t r = 0; r < n; r++) {
        const char *a = s_str(rows[r], "agent"), *in = s_str(rows[r], "inc");
        if (a && in && !strcmp(a, agent) && !strcmp(in, inc))
            v = s_num(rows[r], col);
    }
    s_rows_free(rows, n);
    free(out);
    return v;
}

typedef struct {
    fx_t *fx;
    int pending;    /* index of an agent not yet drained, for the message */
    long long last, acked, hwm;     /* its figures, last seen */
} s_drain_t;

static bool s_drained(void *arg)
{
    s_drain_t *d = arg;
    for (int i = 0; i < d->fx->nagents; i++) {
        long long last = fx_status_num(d->fx, i, "last_seq");
        long long acked = fx_status_num(d->fx, i, "acknowledged");
        char inc[9];
        fx_status_inc(d->fx, i, inc);
        long long hwm = fx_collector_stream(d->fx, d->fx->agents[i].id, inc, "hwm");
        if (acked != last || hwm != last) {
            d->pending = i;
            d->last = last;
            d->acked = acked;
            d->hwm = hwm;
            return false;
        }
    }
    return true;
}

void fx_wait_drained(fx_t *fx, int timeout_ms)
{
    s_drain_t d = {fx, -1, 0, 0, 0};
    /* ts_wait_until polls every 50 ms; each poll runs several processes. */
    int64_t deadline = fx_now_ms() + timeout_ms;
    while (!s_drained(&d)) {
        if (fx_now_ms() > deadline)
            ts_fail("agent %s not drained within %d s: last seen last_seq %lld, acknowledged "
                    "%lld, collector mark %lld (log %s, collector log %s)",
                    fx->agents[d.pending].id, timeout_ms / 1000, d.last, d.acked, d.hwm,
                    fx->agents[d.pending].log, fx->clog);
        ts_sleep_ms(200);
    }
}

int fx_verify(fx_t *fx)
{
    char *bin = s_bin("wanqi-collector");
    char *argv[] = {bin, "verify", "--dir", fx->cdir, NULL};
    char *out = NULL, *err = NULL;
    int rc = s_run(&out, &err, argv);
    if (rc != 0)
        fprintf(stderr, "[fault] verify exited %d:\n%s%s", rc, out ? out : "", err ? err : "");
    free(out);
    free(err);
    free(bin);
    return rc;
}

/* One id seen in an agent's outbox, and how often the collector has it. */
typedef struct {
    char *id;
    int seen;
} s_id_t;

static int s_id_cmp(const void *a, const void *b)
{
    return strcmp(((const s_id_t *) a)->id, ((const s_id_t *) b)->id);
}

void fx_check_exact(fx_t *fx, bool per_id, long expect_quarantined, fx_totals_t *t)
{
    fx_totals_t tot = {0};
    s_id_t *ids = NULL;
    size_t nids = 0, capids = 0;
    char **ents = NULL;
    size_t nents = 0, capents = 0;
    long unlisted = 0;

    for (int i = 0; i < fx->nagents; i++) {
        fx_agent_t *a = &fx->agents[i];
        char *bin = s_bin("wanqi-agent");
        char *argv[] = {bin, "list", "--format", "json", "--dir", a->dir, NULL};
        char *out = s_run_ok(argv);
        free(bin);
        wq_json_object_t **rows;
        size_t n = s_json_rows(out, &rows);
        free(out);

        /* Per incarnation: the seqs seen (must be exactly 1..max). */
        struct {
            char inc[16];
            long count;
            long long max;
        } incs[16];
        int nincs = 0;
        for (size_t r = 0; r < n; r++) {
            const char *id = s_str(rows[r], "id");
            char agent[64], inc[16];
            unsigned long long seq;
            if (!id || sscanf(id, "%63[^/]/%15[^/]/%llu", agent, inc, &seq) != 3)
                ts_fail("bad id in agent %s list: %s", a->id, id ? id : "(none)");
            assert_string_equal(agent, a->id);
            int k;
            for (k = 0; k < nincs; k++)
                if (!strcmp(incs[k].inc, inc))
                    break;
            if (k == nincs) {
                assert_true(nincs < 16);
                snprintf(incs[k].inc, sizeof incs[k].inc, "%s", inc);
                incs[k].count = 0;
                incs[k].max = 0;
                nincs++;
            }
            incs[k].count++;
            if ((long long) seq > incs[k].max)
                incs[k].max = (long long) seq;
            if (nids == capids) {
                capids = capids ? capids * 2 : 1024;
                ids = realloc(ids, capids * sizeof *ids);
                assert_non_null(ids);
            }
            ids[nids].id = strdup(id);
            ids[nids].seen = 0;
            nids++;
            const char *ent = s_str(rows[r], "ent");
            if (per_id && ent && *ent) {
                size_t e;
                for (e = 0; e < nents; e++)
                    if (!strcmp(ents[e], ent))
                        break;
                if (e == nents) {
                    if (nents == capents) {
                        capents = capents ? capents * 2 : 256;
                        ents = realloc(ents, capents * sizeof *ents);
                        assert_non_null(ents);
                    }
                    ents[nents++] = strdup(ent);
                }
            }
        }
        s_rows_free(rows, n);

        for (int k = 0; k < nincs; k++) {
            /* The outbox's own invariant: seqs 1..max, each once. Seqs
               `list` cannot show (a damaged or missing record, which the
               collector must then have quarantined) are counted apart. */
            if (incs[k].count > incs[k].max)
                ts_fail("agent %s inc %s: %ld records but last seq %lld", a->id, incs[k].inc,
                         incs[k].count, incs[k].max);
            unlisted += incs[k].max - incs[k].count;
            incs[k].count = incs[k].max;
            long long hwm = fx_collector_stream(fx, a->id, incs[k].inc, "hwm");
            long long stored = fx_collector_stream(fx, a->id, incs[k].inc, "stored");
            long long quar = fx_collector_stream(fx, a->id, incs[k].inc, "quarantined");
            fprintf(stderr,
                    "[fault] agent %s inc %s: outbox %ld records; collector hwm %lld, stored %lld, "
                    "quarantined %lld\n",
                    a->id, incs[k].inc, incs[k].count, hwm, stored, quar);
            tot.records += incs[k].count;
            if (stored > 0)
                tot.stored += stored;
            if (quar > 0)
                tot.quarantined += quar;
            long long held = (stored > 0 ? stored : 0) + (quar > 0 ? quar : 0);
            if (held < incs[k].count)
                tot.lost += incs[k].count - held;
            if (held > incs[k].count)
                tot.dup += held - incs[k].count;
            assert_int_equal(hwm, incs[k].max);
        }
    }

    if (per_id) {
        /* No ids at all (every import killed before it stored anything):
           ids is NULL, and qsort/bsearch must not be given NULL. */
        if (nids > 0)
            qsort(ids, nids, sizeof *ids, s_id_cmp);
        long in_timelines = 0, unknown = 0;
        for (size_t e = 0; e < nents; e++) {
            char *out = NULL;
            char *args[] = {"enterprise", ents[e], "--format", "json", NULL};
            if (fx_query(fx, &out, args) != 0)
                ts_fail("wanqi-query enterprise %s failed", ents[e]);
            wq_json_object_t **rows;
            size_t n = s_json_rows(out, &rows);
            for (size_t r = 0; r < n; r++) {
                const char *id = s_str(rows[r], "id");
                assert_non_null(id);
                s_id_t key = {(char *) id, 0};
                s_id_t *hit = nids > 0 ? bsearch(&key, ids, nids, sizeof *ids, s_id_cmp) : NULL;
                in_timelines++;
                if (hit)
                    hit->seen++;
                else {
                    fprintf(stderr, "[fault] collector has %s, which no agent holds\n", id);
                    unknown++;
                }
            }
            s_rows_free(rows, n);
            free(out);
        }
        long missing = 0, twice = 0;
        for (size_t k = 0; k < nids; k++) {
            if (ids[k].seen == 0)
                missing++;
            if (ids[k].seen > 1)
                twice += ids[k].seen - 1;
        }
        fprintf(stderr,
                "[fault] per id: %zu ids in outboxes, %ld in %zu enterprise timelines; %ld missing "
                "(%ld quarantined expected), %ld twice, %ld unknown\n",
                nids, in_timelines, nents, missing, expect_quarantined, twice, unknown);
        /* Quarantined records are not in the views, so not in timelines;
           those `list` could not show are not among the ids at all. */
        long expect_missing = expect_quarantined - unlisted;
        if (missing > expect_missing)
            tot.lost += missing - expect_missing;
        tot.dup += twice + unknown;
        assert_int_equal(missing, expect_missing);
        assert_int_equal(twice, 0);
        assert_int_equal(unknown, 0);
    }
    for (size_t k = 0; k < nids; k++)
        free(ids[k].id);
    free(ids);
    for (size_t e = 0; e < nents; e++)
        free(ents[e]);
    free(ents);

    fprintf(stderr, "[fault] totals: %ld records accepted, %ld stored, %ld quarantined, %ld lost, "
                    "%ld duplicated\n",
            tot.records, tot.stored, tot.quarantined, tot.lost, tot.dup);
    if (t)
        *t = tot;
    assert_true(unlisted <= expect_quarantined);
    assert_int_equal(tot.lost, 0);
    assert_int_equal(tot.dup, 0);
    assert_int_equal(tot.quarantined, expect_quarantined);
    assert_int_equal(tot.stored + tot.quarantined, tot.records);
    assert_int_equal(fx_verify(fx), 0);
}

long fx_collector_duplicates(fx_t *fx)
{
    /* Debug batch lines: "agent A inc I: batch F..L: S stored, D duplicates, ..." */
    char *text = ts_read_file(fx->clog);
    long total = 0;
    for (char *line = text; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = 0;
        const char *b = strstr(line, ": batch ");
        const char *d = b ? strstr(b, " stored, ") : NULL;
        if (d)
            total += strtol(d + strlen(" stored, "), NULL, 10);
        line = eol ? eol + 1 : NULL;
    }
    free(text);
    return total;
}

long fx_proc_status_kb(pid_t pid, const char *field)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    char *text = ts_read_file(path);
    if (!text)
        return -1;
    char *pat = ts_strf("\n%s:", field);
    const char *p = strstr(text, pat);
    long kb = p ? strtol(p + strlen(pat), NULL, 10) : -1;
    free(pat);
    free(text);
    return kb;
}

long fx_vmhwm_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    char *text = ts_read_file(path);
    if (!text)
        return -1;
    const char *p = strstr(text, "VmHWM:");
    long kb = p ? strtol(p + 6, NULL, 10) : -1;
    free(text);
    return kb;
}
