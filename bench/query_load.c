/*  =========================================================================
    query_load - query latency against a running collector, as a client sees it

    Connects once to the collector's query socket with CURVE (a client key
    pair authorized on the collector), then sends one query after another
    for a number of seconds or of queries, each waiting for its RESULT
    (every page, as wanqi-query fetches them), and prints the latency
    percentiles as one JSON line on stdout:
        {"query":"summary","n":412,"p50_ms":1.9,"p99_ms":4.1,"max_ms":9.0,"rows":13}
    Run by bench/run.py idle and during a drain. Asserts nothing.

    In-process (--store): opens the store read-only and calls the query
    code itself (wq_central_query: one read transaction, the whole table,
    no socket, no paging), which is what issue 15's "summary p99 in-process"
    target measures; the same JSON line with "inprocess":true.

    Usage: query_load CLIENT_CERT COLLECTOR_KEY ENDPOINT SECONDS MAXN NAME [k=v ...]
           query_load --store STORE_DIR SECONDS MAXN NAME [k=v ...]
           query_load --help
    SECONDS 0: until SIGTERM; MAXN 0: no limit. A bad argument: exit 2.
    WANQI_LEDGER_CHUNK=N (in-process): index entries per snapshot of the
    ledger's walks (collector/ledger.h; 0: one transaction per query); the
    JSON line then has "snapshots": read transactions per query.
    =========================================================================
*/
#include <czmq.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benchargs.h"
#include "collector/central.h"
#include "collector/ledger.h"
#include "common/date.h"
#include "proto/msg.h"

/*  SIGTERM / SIGINT: finish the query under way, print, exit (bench/run.py
    runs a loop for as long as a drain lasts). */
static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    (void) sig;
    s_stop = 1;
}

static int
s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static int
s_param_cmp(const void *a, const void *b)
{
    return strcmp(((const wq_param_t *) a)->key, ((const wq_param_t *) b)->key);
}

/*  One query with all its pages; returns the rows, or -1 on failure. */
static long
s_one(zsock_t *dealer, const char *name, wq_param_t *base, size_t nbase, uint64_t *rid)
{
    char cursor[WQ_CURSOR_MAX + 1] = "";
    long rows = 0;
    for (;;) {
        wq_param_t params[WQ_QUERY_MAX_PARAMS];
        size_t n = nbase;
        memcpy(params, base, n * sizeof *params);
        params[n++] = (wq_param_t){"limit", "10000"};
        if (cursor[0])
            params[n++] = (wq_param_t){"cursor", cursor};
        qsort(params, n, sizeof *params, s_param_cmp);
        wq_msg_t msg;
        memset(&msg, 0, sizeof msg);
        msg.type = WQ_MSG_QUERY;
        msg.query.request_id = ++*rid;
        msg.query.name = (char *) name;
        msg.query.params = params;
        msg.query.count = n;
        uint8_t *buf = NULL;
        size_t size = 0;
        wq_err_t err;
        if (wq_msg_encode(&msg, &buf, &size, &err) != WQ_OK) {
            fprintf(stderr, "query_load: cannot encode: %s\n", err.text);
            return -1;
        }
        int rc = zmq_send(zsock_resolve(dealer), buf, size, 0);
        free(buf);
        if (rc < 0)
            return -1;
        wq_msg_t *reply = NULL;
        while (!reply) {
            zframe_t *f = zframe_recv(dealer);
            if (!f && s_stop)
                return -2;
            if (!f) {
                fprintf(stderr, "query_load: no answer within 30 s\n");
                return -1;
            }
            if (wq_msg_decode(zframe_data(f), zframe_size(f), &reply, &err) != WQ_OK) {
                zframe_destroy(&f);
                fprintf(stderr, "query_load: undecodable answer: %s\n", err.text);
                return -1;
            }
            zframe_destroy(&f);
            if (reply->type != WQ_MSG_RESULT || reply->result.request_id != *rid)
                wq_msg_destroy(&reply);
        }
        if (reply->result.status != WQ_OK) {
            fprintf(stderr, "query_load: %s: %s\n", name, reply->result.text);
            wq_msg_destroy(&reply);
            return -1;
        }
        rows += (long) wq_table_nrows(reply->result.table);
        bool more = reply->result.next && reply->result.next[0];
        if (more)
            snprintf(cursor, sizeof cursor, "%s", reply->result.next);
        wq_msg_destroy(&reply);
        if (!more)
            return rows;
    }
}

/*  One query in-process; returns the rows, or -1 on failure. */
static long
s_one_local(wq_central_t *c, const char *name, wq_param_t *params, size_t np)
{
    wq_table_t *t = NULL;
    wq_err_t err;
    if (wq_central_query(c, name, params, np, &t, &err) != WQ_OK) {
        fprintf(stderr, "query_load: %s: %s\n", name, err.text);
        return -1;
    }
    long rows = (long) wq_table_nrows(t);
    wq_table_destroy(&t);
    return rows;
}

static const char s_usage[] =
    "usage: query_load CLIENT_CERT COLLECTOR_KEY ENDPOINT SECONDS MAXN NAME [KEY=VALUE ...]\n"
    "       query_load --store STORE_DIR SECONDS MAXN NAME [KEY=VALUE ...]\n"
    "\n"
    "Query latency as a client sees it: one CURVE connection to the collector's query\n"
    "ENDPOINT (CLIENT_CERT: a client certificate authorized on it; COLLECTOR_KEY: the\n"
    "collector's public key), queries NAME (summary, overdue, enterprise ...) one after\n"
    "another, every page, and prints one JSON line: n, p50_ms, p99_ms, max_ms, rows.\n"
    "--store: the query code in-process on STORE_DIR opened read-only (no socket, no\n"
    "paging), with the queries' own CPU time; the line has \"inprocess\":true.\n"
    "\n"
    "  SECONDS    how long to run, e.g. 10 or 2.5 (0: until SIGTERM or SIGINT)\n"
    "  MAXN       at most this many timed queries (0: no limit)\n"
    "  KEY=VALUE  query parameters, e.g. level=county asof=2019-12-31\n"
    "\n"
    "The first query (handshake, warm-up) is not timed. Run by bench/run.py; asserts\n"
    "nothing. Exit status: 0 figures printed, 1 a query failed, 2 bad usage.\n"
    "Environment: WANQI_LEDGER_CHUNK=N (with --store): index entries per snapshot of the\n"
    "ledger's walks (0: one read transaction per query).\n";

int
main(int argc, char **argv)
{
    if (bench_wants_help(argc, argv)) {
        fputs(s_usage, stdout);
        return 0;
    }
    bool local = argc > 1 && strcmp(argv[1], "--store") == 0;
    /* Only the first argument can be an option (a Z85 key may start with "-"). */
    if (argc > 1 && !local && argv[1][0] == '-')
        return bench_usage_error("query_load", "unknown option", argv[1]);
    if (argc < 7 - (local ? 1 : 0))
        return bench_usage_error("query_load", "missing arguments", NULL);
    int a = local ? 3 : 4;          /* where SECONDS is */
    double seconds;
    long long maxn;
    if (!bench_parse_double(argv[a], 0, 1e7, &seconds))
        return bench_usage_error("query_load", "SECONDS is a number of seconds, 0 or more, not", argv[a]);
    if (!bench_parse_int(argv[a + 1], 10, 0, 1000000000, &maxn))
        return bench_usage_error("query_load", "MAXN is a whole number, 0 or more, not", argv[a + 1]);
    const char *name = argv[a + 2];
    wq_param_t params[WQ_QUERY_MAX_PARAMS];
    size_t np = 0;
    for (int i = a + 3; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i])
            return bench_usage_error("query_load", "a query parameter is KEY=VALUE, not", argv[i]);
        if (np == WQ_QUERY_MAX_PARAMS - 2)      /* room for limit and cursor */
            return bench_usage_error("query_load", "too many query parameters from", argv[i]);
        *eq = '\0';
        params[np++] = (wq_param_t){argv[i], eq + 1};
    }
    zsys_handler_set(NULL);
    zsys_init();
    zsys_set_logstream(NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    zcert_t *cert = NULL;
    zsock_t *dealer = NULL;
    wq_central_t *store = NULL;
    wq_err_t oerr;
    if (local && wq_central_open_readonly(argv[2], &store, &oerr) != WQ_OK) {
        fprintf(stderr, "query_load: cannot open %s: %s\n", argv[2], oerr.text);
        return 1;
    }
    if (!local && !(cert = zcert_load(argv[1]))) {
        fprintf(stderr, "query_load: cannot load %s\n", argv[1]);
        return 1;
    }
    if (getenv("WANQI_LEDGER_CHUNK"))
        wq_ledger_set_chunk((size_t) strtoul(getenv("WANQI_LEDGER_CHUNK"), NULL, 10));
    if (!local) {
        dealer = zsock_new(ZMQ_DEALER);
        zsock_set_linger(dealer, 0);
        zsock_set_rcvtimeo(dealer, 30000);
        zsock_set_maxmsgsize(dealer, (int64_t) WQ_MSG_MAX_BYTES + 4096);
        zcert_apply(cert, dealer);
        zsock_set_curve_serverkey(dealer, argv[2]);
        if (zsock_connect(dealer, "%s", argv[3]) != 0) {
            fprintf(stderr, "query_load: cannot connect to %s\n", argv[3]);
            zsock_destroy(&dealer);
            zcert_destroy(&cert);
            return 1;
        }
    }
    size_t cap = 1024, n = 0;
    uint64_t *lat = malloc(cap * sizeof *lat);
    uint64_t *cpu = malloc(cap * sizeof *cpu);      /* in-process: the query's own CPU time */
    if (!lat || !cpu) {
        free(lat);
        free(cpu);
        zsock_destroy(&dealer);
        zcert_destroy(&cert);
        wq_central_destroy(&store);
        return 1;
    }
    uint64_t rid = 0;
    long rows = 0;
    int ret = 0;
    uint64_t renew0 = 0;
    uint64_t end = wq_mono_ms() + (uint64_t) (seconds * 1000);
    /* The first query also pays the CURVE handshake (in-process: warms the
       map's pages): not counted. */
    if ((local ? s_one_local(store, name, params, np) : s_one(dealer, name, params, np, &rid)) < 0) {
        ret = 1;
        goto done;
    }
    renew0 = wq_ledger_renewals();
    /* At least one timed query, however slow. */
    while (!s_stop && (n == 0 || seconds <= 0 || wq_mono_ms() < end) && (maxn <= 0 || (long) n < maxn)) {
        struct timespec t0, t1, c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rows = local ? s_one_local(store, name, params, np) : s_one(dealer, name, params, np, &rid);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        if (rows == -2)
            break;              /* stopped during a query: not counted */
        if (rows < 0) {
            ret = 1;
            goto done;
        }
        if (n == cap) {
            cap *= 2;
            uint64_t *l2 = realloc(lat, cap * sizeof *lat);
            if (!l2) {
                ret = 1;
                goto done;
            }
            lat = l2;
            l2 = realloc(cpu, cap * sizeof *cpu);
            if (!l2) {
                ret = 1;
                goto done;
            }
            cpu = l2;
        }
        cpu[n] = (uint64_t) (c1.tv_sec - c0.tv_sec) * 1000000000ull + (uint64_t) c1.tv_nsec
                 - (uint64_t) c0.tv_nsec;
        lat[n++] = (uint64_t) (t1.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t) t1.tv_nsec
                   - (uint64_t) t0.tv_nsec;
    }
    if (n == 0) {
        ret = 1;
        goto done;
    }
    qsort(lat, n, sizeof *lat, s_cmp_u64);
    qsort(cpu, n, sizeof *cpu, s_cmp_u64);
    size_t i99 = (n * 99) / 100 < n ? (n * 99) / 100 : n - 1;
    char cpus[160] = "";
    if (local)          /* the wall time less what the scheduler took: what the code costs */
        snprintf(cpus, sizeof cpus, ",\"cpu_p50_ms\":%.4f,\"cpu_p99_ms\":%.4f,\"snapshots\":%.1f",
                 cpu[n / 2] / 1e6, cpu[i99] / 1e6,
                 1.0 + (double) (wq_ledger_renewals() - renew0) / (double) n);
    printf("{\"query\":\"%s\",\"n\":%zu,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"max_ms\":%.4f,\"rows\":%ld%s%s}\n",
           name, n, lat[n / 2] / 1e6, lat[i99] / 1e6, lat[n - 1] / 1e6, rows,
           local ? ",\"inprocess\":true" : "", cpus);
done:
    free(lat);
    free(cpu);
    zsock_destroy(&dealer);
    zcert_destroy(&cert);
    wq_central_destroy(&store);
    return ret;
}
