/*  =========================================================================
    ceilings - what this machine can do at best, measured in the same run
    as the figures they bound (bench/run.py)

    Each mode prints one JSON line on stdout. Events are taken from a
    central store that bench/run.py filled through real agents, so the
    records are the campaign's, not synthetic ones.

      ceilings raw DIR N           raw LMDB durable: N puts of 300 bytes,
                                   500 per durably committed transaction
      ceilings composite DIR STORE N
                                   ZeroMQ (CURVE, tcp loopback) -> decode
                                   the BATCH and each record -> LMDB put +
                                   3 counters -> durable commit -> ACK,
                                   500 records per batch, 4 in flight
      ceilings scan STORE          scan-decode-aggregate: one read txn over
                                   every stored event, decoded, counted by
                                   county and type (what verify must read)
      ceilings verify STORE [cold] verify (wq_central_verify_threads, 2
                                   threads, then 1) and then the scan above,
                                   in the same process: wall and CPU seconds
                                   of each and their ratios; "cold": first
                                   once more with the store's file dropped
                                   from the page cache
      ceilings sqlite DIR STORE    the same events in SQLite with indexes;
                                   times the province summary (counts by
                                   county and type), the province's totals
                                   (counts by type) and one county's

    Asserts nothing; exits non-zero only if it cannot run.
    =========================================================================
*/
#include <czmq.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/cstore.h"
#include "common/record.h"
#include "common/store.h"
#include "proto/msg.h"

#define S_BATCH 500
#define S_CREDIT 4

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double
s_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

__attribute__((noreturn)) static void
s_die(const char *what, int rc)
{
    fprintf(stderr, "ceilings: %s: %s\n", what, mdb_strerror(rc));
    exit(1);
}

static MDB_env *
s_env(const char *dir, MDB_dbi *a, MDB_dbi *b)
{
    MDB_env *env = NULL;
    wq_err_t err;
    if (wq_store_open(dir, (size_t) 8 << 30, 4, &env, &err) != WQ_OK) {
        fprintf(stderr, "ceilings: %s\n", err.text);
        exit(1);
    }
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc)
        s_die("txn", rc);
    if ((rc = mdb_dbi_open(txn, "events", MDB_CREATE, a)) || (rc = mdb_dbi_open(txn, "views", MDB_CREATE, b)))
        s_die("dbi", rc);
    if ((rc = mdb_txn_commit(txn)))
        s_die("commit", rc);
    return env;
}

/*  ---- raw ---------------------------------------------------------------- */

static int
s_raw(const char *dir, size_t n)
{
    MDB_dbi ev, views;
    MDB_env *env = s_env(dir, &ev, &views);
    uint8_t val[300];
    memset(val, 0x5a, sizeof val);
    double t0 = s_now();
    for (size_t i = 0; i < n;) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (rc)
            s_die("txn", rc);
        for (size_t k = 0; k < S_BATCH && i < n; k++, i++) {
            uint8_t key[8];
            wq_be64_put(key, i + 1);
            MDB_val kv = {8, key}, vv = {sizeof val, val};
            if ((rc = mdb_put(txn, ev, &kv, &vv, 0)))
                s_die("put", rc);
        }
        if ((rc = mdb_txn_commit(txn)))
            s_die("commit", rc);
    }
    double dt = s_now() - t0;
    printf("{\"figure\":\"raw_lmdb_durable\",\"events\":%zu,\"seconds\":%.3f,\"per_s\":%.0f}\n", n, dt, n / dt);
    mdb_env_close(env);
    return 0;
}

/*  ---- events of a central store ------------------------------------------ */

typedef struct {
    uint8_t **data;
    size_t *size;
    size_t n;
} s_events_t;

static void
s_load_events(const char *store, size_t max, s_events_t *out)
{
    wq_central_t *c = NULL;
    wq_err_t err;
    if (wq_central_open(store, 0, &c, &err) != WQ_OK) {
        fprintf(stderr, "ceilings: %s\n", err.text);
        exit(1);
    }
    memset(out, 0, sizeof *out);
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_stat st;
    int rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn);
    if (rc || (rc = mdb_stat(txn, c->events, &st)) || (rc = mdb_cursor_open(txn, c->events, &cur)))
        s_die("read", rc);
    if (max > st.ms_entries)
        max = st.ms_entries;
    out->data = calloc(max + 1, sizeof *out->data);
    out->size = calloc(max + 1, sizeof *out->size);
    if (!out->data || !out->size) {
        fprintf(stderr, "ceilings: out of memory for %zu events\n", max);
        exit(1);
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && out->n < max;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        out->data[out->n] = malloc(v.mv_size);
        memcpy(out->data[out->n], v.mv_data, v.mv_size);
        out->size[out->n++] = v.mv_size;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    wq_central_destroy(&c);
}

/*  ---- composite ----------------------------------------------------------- */

typedef struct {
    const s_events_t *ev;
    char endpoint[64];
    char server_pub[41];
    size_t acked;
} s_sender_t;

static void
s_sender(zsock_t *pipe, void *argp)
{
    s_sender_t *s = argp;
    zcert_t *cert = zcert_new();
    zsock_t *d = zsock_new(ZMQ_DEALER);
    zcert_apply(cert, d);
    zsock_set_curve_serverkey(d, s->server_pub);
    zsock_set_rcvtimeo(d, 30000);
    zsock_connect(d, "%s", s->endpoint);
    zsock_signal(pipe, 0);
    size_t sent = 0, inflight = 0, nb = (s->ev->n + S_BATCH - 1) / S_BATCH;
    wq_blob_t *blobs = calloc(S_BATCH, sizeof *blobs);
    while (s->acked < nb) {
        while (inflight < S_CREDIT && sent < nb) {
            size_t first = sent * S_BATCH, n = s->ev->n - first < S_BATCH ? s->ev->n - first : S_BATCH;
            for (size_t i = 0; i < n; i++)
                blobs[i] = (wq_blob_t){s->ev->data[first + i], s->ev->size[first + i]};
            wq_msg_t m;
            memset(&m, 0, sizeof m);
            m.type = WQ_MSG_BATCH;
            m.batch.inc = 1;
            m.batch.first_seq = first + 1;
            m.batch.count = n;
            m.batch.records = blobs;
            uint8_t *buf;
            size_t size;
            wq_err_t err;
            if (wq_msg_encode(&m, &buf, &size, &err) != WQ_OK) {
                fprintf(stderr, "ceilings: encode: %s\n", err.text);
                exit(1);
            }
            zmq_send(zsock_resolve(d), buf, size, 0);
            free(buf);
            sent++;
            inflight++;
        }
        zframe_t *f = zframe_recv(d);
        if (!f) {
            fprintf(stderr, "ceilings: composite: no ACK within 30 s\n");
            exit(1);
        }
        zframe_destroy(&f);
        s->acked++;
        inflight--;
    }
    free(blobs);
    zsock_destroy(&d);
    zcert_destroy(&cert);
    char *term = zstr_recv(pipe);  /* $TERM */
    zstr_free(&term);
}

static void
s_counter(MDB_txn *txn, MDB_dbi dbi, const char *key)
{
    MDB_val k = {strlen(key), (void *) key}, v;
    int64_t n = 0;
    if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size == 8)
        memcpy(&n, v.mv_data, 8);
    n++;
    v = (MDB_val){8, &n};
    int rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc)
        s_die("counter", rc);
}

static int
s_composite(const char *dir, const char *store, size_t max)
{
    s_events_t ev;
    s_load_events(store, max, &ev);
    MDB_dbi evdb, views;
    MDB_env *env = s_env(dir, &evdb, &views);
    zcert_t *server = zcert_new();
    zsock_t *r = zsock_new(ZMQ_ROUTER);
    zcert_apply(server, r);
    zsock_set_curve_server(r, 1);
    zsock_set_maxmsgsize(r, (int64_t) WQ_MSG_MAX_BYTES + 4096);
    int port = zsock_bind(r, "tcp://127.0.0.1:*");
    s_sender_t s = {.ev = &ev};
    snprintf(s.endpoint, sizeof s.endpoint, "tcp://127.0.0.1:%d", port);
    snprintf(s.server_pub, sizeof s.server_pub, "%s", zcert_public_txt(server));
    double t0 = s_now();
    zactor_t *sender = zactor_new(s_sender, &s);
    size_t nb = (ev.n + S_BATCH - 1) / S_BATCH;
    for (size_t b = 0; b < nb; b++) {
        zframe_t *rid = zframe_recv(r);
        zframe_t *body = zframe_recv(r);
        wq_msg_t *m = NULL;
        wq_err_t err;
        if (!rid || !body || wq_msg_decode(zframe_data(body), zframe_size(body), &m, &err) != WQ_OK) {
            fprintf(stderr, "ceilings: composite: bad batch\n");
            return 1;
        }
        MDB_txn *txn;
        int rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (rc)
            s_die("txn", rc);
        for (size_t i = 0; i < m->batch.count; i++) {
            wq_record_t *rec = NULL;
            if (wq_record_decode(m->batch.records[i].data, m->batch.records[i].size, &rec, &err) != WQ_OK) {
                fprintf(stderr, "ceilings: record: %s\n", err.text);
                return 1;
            }
            uint8_t key[8];
            wq_be64_put(key, m->batch.first_seq + i);
            MDB_val kv = {8, key}, vv = {m->batch.records[i].size, (void *) m->batch.records[i].data};
            if ((rc = mdb_put(txn, evdb, &kv, &vv, 0)))
                s_die("put", rc);
            char ck[32];
            snprintf(ck, sizeof ck, "%.6s/%d", rec->county, (int) rec->type);
            s_counter(txn, views, ck);
            snprintf(ck, sizeof ck, "%.4s00/%d", rec->county, (int) rec->type);
            s_counter(txn, views, ck);
            snprintf(ck, sizeof ck, "130000/%d", (int) rec->type);
            s_counter(txn, views, ck);
            wq_record_destroy(&rec);
        }
        if ((rc = mdb_txn_commit(txn)))
            s_die("commit", rc);
        wq_msg_t ack;
        memset(&ack, 0, sizeof ack);
        ack.type = WQ_MSG_ACK;
        ack.ack.inc = 1;
        ack.ack.hwm = m->batch.first_seq + m->batch.count - 1;
        uint8_t *buf;
        size_t size;
        wq_msg_encode(&ack, &buf, &size, &err);
        zframe_send(&rid, r, ZFRAME_MORE);
        zmq_send(zsock_resolve(r), buf, size, 0);
        free(buf);
        zframe_destroy(&body);
        wq_msg_destroy(&m);
    }
    zactor_destroy(&sender);
    double dt = s_now() - t0;
    printf("{\"figure\":\"composite_ceiling\",\"events\":%zu,\"seconds\":%.3f,\"per_s\":%.0f}\n", ev.n, dt,
           ev.n / dt);
    zsock_destroy(&r);
    zcert_destroy(&server);
    mdb_env_close(env);
    for (size_t i = 0; i < ev.n; i++)
        free(ev.data[i]);
    free(ev.data);
    free(ev.size);
    return 0;
}

/*  ---- scan-decode-aggregate ------------------------------------------------ */

typedef struct {
    size_t events;
    double seconds, cpu;
    size_t counties;
} s_scan_t;

/*  One read transaction over every event, decoded, counted by county and
    type: the least verify must do. */
static void
s_scan_run(wq_central_t *c, s_scan_t *out)
{
    wq_err_t err;
    zhashx_t *agg = zhashx_new();
    double t0 = s_now(), c0 = s_cpu();
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn);
    if (rc || (rc = mdb_cursor_open(txn, c->events, &cur)))
        s_die("read", rc);
    MDB_val k, v;
    size_t n = 0;
    static int64_t counts[4096][16];
    size_t used = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        wq_record_t *rec = NULL;
        if (wq_record_decode(v.mv_data, v.mv_size, &rec, &err) != WQ_OK)
            continue;
        size_t slot = (size_t) (uintptr_t) zhashx_lookup(agg, rec->county);
        if (!slot && used < 4095) {
            slot = ++used;
            zhashx_insert(agg, rec->county, (void *) (uintptr_t) slot);
        }
        counts[slot][rec->type & 15]++;
        wq_record_destroy(&rec);
        n++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    out->seconds = s_now() - t0;
    out->cpu = s_cpu() - c0;
    out->events = n;
    out->counties = used;
    zhashx_destroy(&agg);
}

static int
s_scan(const char *store)
{
    wq_central_t *c = NULL;
    wq_err_t err;
    s_scan_t sc;
    if (wq_central_open(store, 0, &c, &err) != WQ_OK) {
        fprintf(stderr, "ceilings: %s\n", err.text);
        return 1;
    }
    s_scan_run(c, &sc);
    printf("{\"figure\":\"scan_decode_aggregate\",\"events\":%zu,\"seconds\":%.3f,\"cpu_seconds\":%.3f,"
           "\"counties\":%zu}\n",
           sc.events, sc.seconds, sc.cpu, sc.counties);
    wq_central_destroy(&c);
    return 0;
}

/*  Drop the store's data file from the page cache (its clean pages: the
    collector stopped), for a cold-cache run. */
static void
s_evict(const char *store)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data.mdb", store);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    (void) fdatasync(fd);
    (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

typedef struct {
    double seconds, cpu;
    uint64_t diffs;
} s_vrun_t;

static int
s_verify_run(wq_central_t *c, int threads, s_vrun_t *out)
{
    wq_err_t err;
    double t0 = s_now(), c0 = s_cpu();
    if (wq_central_verify_threads(c, threads, NULL, &out->diffs, &err) != WQ_OK) {
        fprintf(stderr, "ceilings: verify: %s\n", err.text);
        return 1;
    }
    out->seconds = s_now() - t0;
    out->cpu = s_cpu() - c0;
    return 0;
}

/*  verify, then the scan, in one process on one store: the ratio of the
    two is the figure (wall and CPU; CPU holds better on a loaded machine).
    verify runs with two threads (as wanqi-collector verify on a machine
    with more than one CPU) and with one; with "cold" first once more with
    the store's file dropped from the page cache (wall time: reading the
    file is part of it). */
static int
s_verify(const char *store, bool cold)
{
    wq_central_t *c = NULL;
    wq_err_t err;
    s_scan_t sc;
    s_vrun_t v2, v1, vc = {0};
    if (cold) {
        s_evict(store);
        if (wq_central_open_readonly(store, &c, &err) != WQ_OK) {
            fprintf(stderr, "ceilings: %s\n", err.text);
            return 1;
        }
        if (s_verify_run(c, 2, &vc) != 0)
            return 1;
        wq_central_destroy(&c);
    }
    if (wq_central_open_readonly(store, &c, &err) != WQ_OK) {
        fprintf(stderr, "ceilings: %s\n", err.text);
        return 1;
    }
    s_scan_run(c, &sc);     /* once to warm the page cache, as verify finds it after a run */
    if (s_verify_run(c, 2, &v2) != 0 || s_verify_run(c, 1, &v1) != 0) {
        wq_central_destroy(&c);
        return 1;
    }
    s_scan_run(c, &sc);
    double ss = sc.seconds > 0 ? sc.seconds : 1e-9, sp = sc.cpu > 0 ? sc.cpu : 1e-9;
    printf("{\"figure\":\"verify\",\"events\":%zu,\"differences\":%" PRIu64 ",\"seconds\":%.3f,"
           "\"cpu_seconds\":%.3f,\"scan_seconds\":%.3f,\"scan_cpu_seconds\":%.3f,\"ratio\":%.2f,"
           "\"cpu_ratio\":%.2f,\"threads\":2,\"seconds_1\":%.3f,\"cpu_seconds_1\":%.3f,\"ratio_1\":%.2f,"
           "\"cpu_ratio_1\":%.2f,\"differences_1\":%" PRIu64,
           sc.events, v2.diffs, v2.seconds, v2.cpu, sc.seconds, sc.cpu, v2.seconds / ss, v2.cpu / sp,
           v1.seconds, v1.cpu, v1.seconds / ss, v1.cpu / sp, v1.diffs);
    if (cold)
        printf(",\"cold_seconds\":%.3f,\"cold_cpu_seconds\":%.3f", vc.seconds, vc.cpu);
    printf("}\n");
    wq_central_destroy(&c);
    return 0;
}

/*  ---- SQLite ---------------------------------------------------------------- */

static void
s_sql(sqlite3 *db, const char *sql)
{
    char *e = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK) {
        fprintf(stderr, "ceilings: sqlite: %s: %s\n", sql, e);
        exit(1);
    }
}

static double
s_time_query(sqlite3 *db, const char *sql, int reps, long *rows)
{
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        sqlite3_stmt *st;
        double t0 = s_now();
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            fprintf(stderr, "ceilings: sqlite: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
        *rows = 0;
        while (sqlite3_step(st) == SQLITE_ROW)
            (*rows)++;
        sqlite3_finalize(st);
        double dt = s_now() - t0;
        if (dt < best)
            best = dt;
    }
    return best;
}

static int
s_sqlite(const char *dir, const char *store)
{
    s_events_t ev;
    s_load_events(store, SIZE_MAX / 64, &ev);
    char path[4096];
    snprintf(path, sizeof path, "%s/events.sqlite", dir);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 1;
    s_sql(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    s_sql(db, "CREATE TABLE events(county TEXT, city TEXT, month TEXT, type INTEGER, ent TEXT, date TEXT)");
    s_sql(db, "BEGIN");
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO events VALUES(?,?,?,?,?,?)", -1, &ins, NULL);
    for (size_t i = 0; i < ev.n; i++) {
        wq_record_t *rec = NULL;
        wq_err_t err;
        if (wq_record_decode(ev.data[i], ev.size[i], &rec, &err) != WQ_OK)
            continue;
        char city[7];
        snprintf(city, sizeof city, "%.4s00", rec->county);
        sqlite3_bind_text(ins, 1, rec->county, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, city, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, rec->date, 7, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 4, (int) rec->type);
        sqlite3_bind_text(ins, 5, rec->ent, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 6, rec->date, -1, SQLITE_TRANSIENT);
        sqlite3_step(ins);
        sqlite3_reset(ins);
        wq_record_destroy(&rec);
    }
    sqlite3_finalize(ins);
    s_sql(db, "COMMIT");
    s_sql(db, "CREATE INDEX ev_county ON events(county, type, month)");
    s_sql(db, "CREATE INDEX ev_city ON events(city, type, month)");
    s_sql(db, "ANALYZE");
    long rows = 0;
    double prov = s_time_query(db,
                               "SELECT county, type, count(*), count(DISTINCT ent) FROM events "
                               "GROUP BY county, type",
                               3, &rows);
    long prow = 0;
    double province = s_time_query(db,
                                   "SELECT type, count(*), count(DISTINCT ent) FROM events GROUP BY type",
                                   3, &prow);
    long crow = 0;
    double county = s_time_query(db,
                                 "SELECT type, count(*), count(DISTINCT ent) FROM events WHERE county='130102' "
                                 "GROUP BY type",
                                 5, &crow);
    printf("{\"figure\":\"sqlite_indexed\",\"events\":%zu,\"province_ms\":%.3f,\"province_by_county_ms\":%.3f,"
           "\"rows\":%ld,\"one_county_ms\":%.3f}\n",
           ev.n, province * 1000, prov * 1000, rows, county * 1000);
    sqlite3_close(db);
    for (size_t i = 0; i < ev.n; i++)
        free(ev.data[i]);
    free(ev.data);
    free(ev.size);
    return 0;
}

static const char s_usage[] =
    "usage: ceilings MODE ARGS (each mode prints one JSON line; asserts nothing)\n"
    "  raw DIR N              raw LMDB durable: N puts of 300 bytes, 500 per durable commit\n"
    "  composite DIR STORE N  ZeroMQ with CURVE over tcp loopback -> decode the BATCH and each\n"
    "                         record -> LMDB put + 3 counters -> durable commit -> ACK (500 a\n"
    "                         batch, 4 in flight), N of STORE's records; no compression, no\n"
    "                         validation, no fold: the least end-to-end ingest can cost\n"
    "  scan STORE             scan-decode-aggregate over every stored event\n"
    "  verify STORE [cold]    wq_central_verify (two threads, then one), then the scan, in one\n"
    "                         process (wall, CPU); cold: also with the store evicted from the\n"
    "                         page cache first\n"
    "  sqlite DIR STORE       the same events in SQLite with indexes; times the summaries\n"
    "  --help                 this text\n";

int
main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(s_usage, stdout);
        return 0;
    }
    zsys_init();
    zsys_set_logstream(NULL);
    if (argc >= 4 && strcmp(argv[1], "raw") == 0)
        return s_raw(argv[2], (size_t) strtoull(argv[3], NULL, 10));
    if (argc >= 5 && strcmp(argv[1], "composite") == 0)
        return s_composite(argv[2], argv[3], (size_t) strtoull(argv[4], NULL, 10));
    if (argc >= 3 && strcmp(argv[1], "scan") == 0)
        return s_scan(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "verify") == 0)
        return s_verify(argv[2], argc >= 4 && strcmp(argv[3], "cold") == 0);
    if (argc >= 4 && strcmp(argv[1], "sqlite") == 0)
        return s_sqlite(argv[2], argv[3]);
    fputs(s_usage, stderr);
    return 2;
}
