/*  =========================================================================
    web_load - does the dashboard slow ingest? and how fast are its pages?

    1. Generates N events (default 10^6) for agents in 20 Hebei counties
       and ingests them into a fresh store (batches of 1000).
       With --store DIR the store is kept and later runs reuse it.
    2. Starts the real wanqi-web program on that store (read-only, its own
       process, port 0), logs in, and starts U simulated users (default 20
       threads) that click through the pages (province and city overview,
       problem ledger, overdue filter, sync status, enterprise search)
       without pause while they are active.
    3. R rounds (default 4), each two phases of M events (default 50 000,
       batches of 100, each batch a durable commit, as the collector does):
       A with the users idle, B with them clicking; the order alternates
       (A B, B A, A B, ...) so that a drift of the machine's speed over the
       run falls on both. Per round: rate A, rate B, B/A, the load average,
       the store's growth in each phase, and the oldest snapshot a reader
       of wanqi-web held during each phase (sampled from LMDB's reader
       table every 10 ms: in commits behind the newest, and in seconds);
       and where the ingest thread's time went (on a CPU, waiting on a run
       queue, blocked); then the median B/A, and page latency (p50, p99,
       max) per page.
    Prints figures only; asserts nothing. The machine's other load shows in
    the figures: run it on a quiet machine for numbers to quote.

    Usage: web_load --help
    =========================================================================
*/
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collector/central.h"
#include "collector/cstore.h"
#include "collector/ledger.h"
#include "common/creditcode.h"
#include "common/date.h"
#include "common/record.h"
#include "web/accounts.h"

static const char *const s_counties[20] = {
    "130102", "130104", "130105", "130107", "130108", "130109", "130110", "130111", "130121",
    "130123", "130202", "130203", "130204", "130205", "130207", "130208", "130209", "130224",
    "130225", "130227"};

static uint64_t s_rng = 88172645463325252ull;
static uint32_t s_rnd(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng % n);
}

/*  CPU seconds of the calling thread. */
static double s_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*  CPU seconds (user + system, all threads) of process pid, or -1. */
static double s_proc_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/*  Seconds the calling thread waited on a run queue (runnable, not
    running), from /proc/thread-self/schedstat; -1 if not available. */
static double s_thread_rqwait(void)
{
    unsigned long long run = 0, wait = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (!f)
        return -1;
    int got = fscanf(f, "%llu %llu", &run, &wait);
    fclose(f);
    return got == 2 ? (double)wait / 1e9 : -1;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noreturn)) static void s_die(const char *what, const char *why)
{
    fprintf(stderr, "web_load: %s: %s\n", what, why);
    exit(1);
}

/*  ---- events ------------------------------------------------------------ */

typedef struct {
    char agent[33];
    const char *county;
    uint32_t inc;
    uint64_t next;           /* next seq to generate */
    char pids[256][WQ_EVENT_ID_MAX];
    size_t npids;
} s_stream_t;

static void s_set(wq_record_t *r, const char *f, const char *v)
{
    wq_err_t err;
    if (wq_record_set_text(r, f, v, &err) != WQ_OK)
        s_die(f, err.text);
}

/*  One encoded event for stream s (enterprise, visit, problem, plan,
    progress, service), into *blob (malloc'd). */
static void s_gen(s_stream_t *s, int si, size_t nents, wq_blob_t *blob)
{
    static const wq_rec_type_t mix[] = {WQ_REC_ENTERPRISE, WQ_REC_VISIT, WQ_REC_VISIT,
                                        WQ_REC_PROBLEM, WQ_REC_PLAN, WQ_REC_PROGRESS,
                                        WQ_REC_SERVICE};
    wq_rec_type_t type = mix[s_rnd(sizeof mix / sizeof mix[0])];
    if ((type == WQ_REC_PLAN || type == WQ_REC_PROGRESS) && s->npids == 0)
        type = WQ_REC_PROBLEM;
    wq_record_t *r = wq_record_new(type);
    uint64_t seq = s->next++;
    char date[11], dl[11], first[18], code[19], id[WQ_EVENT_ID_MAX];
    wq_date_from_days(wq_date_days("2019-02-01") + (int32_t)s_rnd(330), date);
    wq_date_from_days(wq_date_days(date) + 30 + (int32_t)s_rnd(90), dl);
    snprintf(first, sizeof first, "91130100MA%02u%05u", (unsigned)si % 100u,
             (unsigned)s_rnd((uint32_t)nents) % 100000u);
    memcpy(code, first, 17);
    code[17] = wq_creditcode_checkchar(first);
    code[18] = '\0';
    wq_record_set_identity(r, s->agent, s->inc, seq, 1546300800000ull + seq);
    s_set(r, "date", date);
    s_set(r, "county", s->county);
    s_set(r, "ent", code);
    wq_event_id_format(s->agent, s->inc, seq, id);
    switch (type) {
    case WQ_REC_ENTERPRISE: s_set(r, "name", "某某化工有限公司"); s_set(r, "industry", "C2614"); break;
    case WQ_REC_VISIT:
        s_set(r, "cadres", "张三,李四");
        s_set(r, "method", wq_enum_name(WQ_F_METHOD, 1 + (int)s_rnd(4)));
        s_set(r, "findings", "现场检查发现废气收集不完善。");
        break;
    case WQ_REC_PROBLEM:
        s_set(r, "category", wq_enum_name(WQ_F_CATEGORY, 1 + (int)s_rnd(9)));
        s_set(r, "severity", "general");
        s_set(r, "description", "无组织排放");
        snprintf(s->pids[s->npids++ % 256], WQ_EVENT_ID_MAX, "%s", id);
        break;
    case WQ_REC_PLAN:
        s_set(r, "problem", s->pids[s_rnd((uint32_t)(s->npids < 256 ? s->npids : 256))]);
        s_set(r, "measures", "加装收集装置");
        s_set(r, "deadline", dl);
        break;
    case WQ_REC_PROGRESS:
        s_set(r, "problem", s->pids[s_rnd((uint32_t)(s->npids < 256 ? s->npids : 256))]);
        s_set(r, "status", wq_enum_name(WQ_F_STATUS, 1 + (int)s_rnd(5)));
        break;
    default:
        s_set(r, "kind", wq_enum_name(WQ_F_KIND, 1 + (int)s_rnd(5)));
        s_set(r, "content", "送政策上门");
        break;
    }
    uint8_t *buf;
    size_t size;
    wq_err_t err;
    if (wq_record_validate(r, &err) != WQ_OK || wq_record_encode(r, &buf, &size) != WQ_OK)
        s_die("generated record", err.text);
    wq_record_destroy(&r);
    blob->data = buf;
    blob->size = size;
}

/*  Ingest `count` new events in batches of bs; returns events/s. */
static double s_ingest(wq_central_t *c, s_stream_t *streams, size_t count, size_t bs, size_t nents)
{
    wq_blob_t *batch = calloc(bs, sizeof *batch);
    size_t done = 0;
    double t0 = s_now();
    while (done < count) {
        int si = (int)s_rnd(20);
        s_stream_t *s = &streams[si];
        size_t k = count - done < bs ? count - done : bs;
        uint64_t first = s->next;
        for (size_t i = 0; i < k; i++)
            s_gen(s, si, nents, &batch[i]);
        wq_ingest_result_t res;
        wq_err_t err;
        uint64_t now_ms = (uint64_t)time(NULL) * 1000;
        if (wq_central_ingest(c, s->agent, s->county, s->inc, first, batch, k, now_ms, &res,
                              &err) != WQ_OK)
            s_die("ingest", err.text);
        wq_ingest_result_clear(&res);
        for (size_t i = 0; i < k; i++)
            free((void *)batch[i].data);
        done += k;
    }
    free(batch);
    return (double)done / (s_now() - t0);
}

/*  ---- HTTP client ------------------------------------------------------- */

static uint16_t s_port;
static char s_cookie[160];

/*  One request; returns the status (0 on a socket error); body discarded
    except the Set-Cookie header when cookie_out is given. */
static int s_http(const char *method, const char *path, const char *body, char *cookie_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int status = 0;
    char req[1024];
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto done;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\nCookie: %s\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, s_port, s_cookie, body ? strlen(body) : 0, body ? body : "");
    if (write(fd, req, (size_t)n) != n)
        goto done;
    char buf[65536];
    ssize_t got, total = 0;
    char head[4096] = "";
    while ((got = read(fd, buf, sizeof buf)) > 0) {
        if (total < (ssize_t)sizeof head - 1) {
            size_t k = (size_t)got < sizeof head - 1 - (size_t)total ? (size_t)got
                                                                      : sizeof head - 1 - (size_t)total;
            memcpy(head + total, buf, k);
            head[total + (ssize_t)k] = '\0';
        }
        total += got;
    }
    if (strncmp(head, "HTTP/1.", 7) == 0)
        status = atoi(head + 9);
    if (cookie_out) {
        const char *c = strstr(head, "Set-Cookie: ");
        if (c) {
            c += 12;
            size_t len = strcspn(c, ";\r\n");
            snprintf(cookie_out, 160, "%.*s", (int)len, c);
        }
    }
done:
    close(fd);
    return status;
}

static const char *const s_pages[] = {
    "/?area=130000&asof=2019-12-31", "/?area=130100&asof=2019-12-31",
    "/problems?area=130100&asof=2019-12-31", "/problems?area=130000&overdue=yes&asof=2019-12-31",
    "/sync?area=130000", "/enterprises?area=130102&q=91130100MA00"};
#define S_NPAGES (sizeof s_pages / sizeof s_pages[0])
#define S_MAXLAT 200000

typedef struct {
    double lat[S_NPAGES][S_MAXLAT / S_NPAGES];
    size_t n[S_NPAGES];
    pthread_mutex_t lock;
    size_t errors;
} s_lat_t;

/*  Shared with the clients' process (MAP_SHARED): the simulated browsers
    run in a process of their own, as real ones run on other machines, so
    that nothing of theirs (address space, allocator, file table) is shared
    with the ingest thread's process. */
typedef struct {
    s_lat_t lat;
    atomic_bool stop, active;
    atomic_int inflight;
} s_shared_t;
static s_shared_t *s_sh;
static bool s_idle_clients = true;
static unsigned s_think_ms;   /* a user's pause after each page (0: none, the flood) */

static void *s_user(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    /* The simulated browsers stand for people on other machines: by default
       their threads only get CPU ingest does not want, so that what the
       rates compare is the server's cost on the collector host, not the
       client's (--clients normal: they compete like any thread). */
    if (s_idle_clients) {
        struct sched_param sp = {.sched_priority = 0};
        if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
            fprintf(stderr, "web_load: the clients cannot run under SCHED_IDLE\n");
    }
    while (!atomic_load(&s_sh->stop)) {
        if (!atomic_load(&s_sh->active)) {
            usleep(5000);
            continue;
        }
        atomic_fetch_add(&s_sh->inflight, 1);
        size_t p = (size_t)rand_r(&seed) % S_NPAGES;
        double t0 = s_now();
        int st = s_http("GET", s_pages[p], NULL, NULL);
        double dt = s_now() - t0;
        atomic_fetch_sub(&s_sh->inflight, 1);
        pthread_mutex_lock(&s_sh->lat.lock);
        if (st != 200)
            s_sh->lat.errors++;
        else if (s_sh->lat.n[p] < S_MAXLAT / S_NPAGES)
            s_sh->lat.lat[p][s_sh->lat.n[p]++] = dt;
        pthread_mutex_unlock(&s_sh->lat.lock);
        if (s_think_ms)   /* reading the page before the next click */
            usleep(s_think_ms * 1000u);
    }
    return NULL;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/*  The 1-minute load average, as uptime prints it. */
static double s_load(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

/*  ---- the oldest snapshot wanqi-web holds ------------------------------- */

/*  Every 10 ms the sampler reads LMDB's reader table (mdb_reader_list) and
    notes, for the readers of other processes (wanqi-web), how far behind
    the newest commit their snapshot is and since when the bench has seen
    that reader hold it. The phase's maxima are what a reader pins: LMDB
    cannot reuse a page freed after the oldest snapshot still read. */
typedef struct {
    long pid;
    unsigned long long thread, txnid;
    double since;
} s_reader_t;

static struct {
    MDB_env *env;
    pthread_mutex_t lock;
    s_reader_t seen[256];
    size_t nseen;
    uint64_t max_lag;        /* commits, this phase */
    double max_age;          /* seconds, this phase */
    uint64_t last_txnid;     /* of the current sample */
    double now;
    s_reader_t cur[256];
    size_t ncur;
} s_rd;

static int s_reader_line(const char *msg, void *ctx)
{
    (void)ctx;
    long pid;
    unsigned long long thread, txnid;
    if (sscanf(msg, "%ld %llx %llu", &pid, &thread, &txnid) != 3 || pid == (long)getpid())
        return 0;   /* the header, a reset slot ("-"), or the bench's own reader */
    if (s_rd.ncur < 256)
        s_rd.cur[s_rd.ncur++] = (s_reader_t){pid, thread, txnid, s_rd.now};
    return 0;
}

static void *s_sampler(void *arg)
{
    (void)arg;
    while (!atomic_load(&s_sh->stop)) {
        MDB_envinfo info;
        if (mdb_env_info(s_rd.env, &info) == 0) {
            pthread_mutex_lock(&s_rd.lock);
            s_rd.now = s_now();
            s_rd.ncur = 0;
            s_rd.last_txnid = (uint64_t)info.me_last_txnid;
            mdb_reader_list(s_rd.env, s_reader_line, NULL);
            for (size_t i = 0; i < s_rd.ncur; i++) {
                s_reader_t *r = &s_rd.cur[i];
                for (size_t j = 0; j < s_rd.nseen; j++)
                    if (s_rd.seen[j].pid == r->pid && s_rd.seen[j].thread == r->thread &&
                        s_rd.seen[j].txnid == r->txnid)
                        r->since = s_rd.seen[j].since;   /* the same snapshot as before */
                uint64_t lag = s_rd.last_txnid > r->txnid ? s_rd.last_txnid - r->txnid : 0;
                if (lag > s_rd.max_lag)
                    s_rd.max_lag = lag;
                if (s_rd.now - r->since > s_rd.max_age)
                    s_rd.max_age = s_rd.now - r->since;
            }
            memcpy(s_rd.seen, s_rd.cur, s_rd.ncur * sizeof s_rd.cur[0]);
            s_rd.nseen = s_rd.ncur;
            pthread_mutex_unlock(&s_rd.lock);
        }
        usleep(10000);
    }
    return NULL;
}

/*  The phase's maxima so far, and reset them. */
static void s_reader_take(uint64_t *lag, double *age)
{
    pthread_mutex_lock(&s_rd.lock);
    *lag = s_rd.max_lag;
    *age = s_rd.max_age;
    s_rd.max_lag = 0;
    s_rd.max_age = 0;
    pthread_mutex_unlock(&s_rd.lock);
}

/*  ---- page data: the queries behind each page, run directly ------------ */

static void s_q(wq_central_t *c, const char *name, const char *const *kv)
{
    wq_param_t p[8];
    size_t n = 0;
    for (size_t i = 0; kv[i] && n < 8; i += 2)
        p[n++] = (wq_param_t){(char *)kv[i], (char *)kv[i + 1]};
    wq_table_t *t = NULL;
    wq_err_t err;
    if (wq_central_query(c, name, p, n, &t, &err) != WQ_OK)
        s_die(name, err.text);
    wq_table_destroy(&t);
}

/*  The overview: headline, one row per child area, one summary per month
    (as collector/dash/dash.c asks them). */
static void s_overview(wq_central_t *c, const char *level, const char *child, const char *area)
{
    const char *h[] = {"level", level, "area", area, "asof", "2019-12-31", NULL};
    const char *r[] = {"level", child, "area", area, "asof", "2019-12-31", NULL};
    s_q(c, "summary", h);
    s_q(c, "summary", r);
    for (int m = 1; m <= 12; m++) {
        char month[8];
        snprintf(month, sizeof month, "2019-%02d", m);
        const char *kv[] = {"level", level, "area", area, "from", month, "to", month,
                            "asof", "2000-01-01", NULL};
        s_q(c, "summary", kv);
    }
}

static void s_page_data(wq_central_t *c, size_t p)
{
    static const char *const k2[] = {"area", "130100", "asof", "2019-12-31", NULL};
    static const char *const k3[] = {"area", "130000", "overdue", "yes", "asof", "2019-12-31", NULL};
    static const char *const k4[] = {"area", "130000", NULL};
    static const char *const k5[] = {"area", "130102", "q", "91130100MA00", NULL};
    switch (p) {
    case 0: s_overview(c, "province", "city", "130000"); break;
    case 1: s_overview(c, "city", "county", "130100"); break;
    case 2: s_q(c, "problems", k2); break;
    case 3: s_q(c, "problems", k3); break;
    case 4: s_q(c, "agents", k4); break;
    default: s_q(c, "enterprises", k5); break;
    }
}

static void s_usage(FILE *out, int code)
{
    fprintf(out,
            "usage: web_load [--store DIR] [--rounds R] [--web-arg=ARG]... [--clients normal]\n"
            "                [--think-ms MS] [N] [M] [USERS]\n"
            "Does wanqi-web slow ingest? Ingest with and without USERS simulated users clicking\n"
            "through the dashboard, in alternating phases; prints figures, asserts nothing.\n"
            "  N      events in the store before measuring (default 10^6)\n"
            "  M      events ingested per phase (default 50 000, batches of 100, durable commits)\n"
            "  USERS  simulated users clicking during the loaded phases (default 20, at most 64)\n"
            "  --store DIR  keep the store in DIR (filled with N events on the first run,\n"
            "               reused as it is by later runs: new agent ids each run)\n"
            "  --rounds R   R rounds of two phases (default 4): A (no web load) and B (USERS\n"
            "               clicking), in the order A B, B A, A B, ... so that drift cancels\n"
            "  --web-arg=A  pass A to `wanqi-web run` (e.g. --web-arg=--sched=normal)\n"
            "  --clients normal  the simulated browsers' threads compete for the CPU like\n"
            "               any other (default: idle class, as browsers on other machines)\n"
            "  --think-ms MS  each user reads a page MS milliseconds before the next click\n"
            "               (default 0: clicks without pause, a flood no person makes)\n"
            "  WANQI_BIN_DIR  where wanqi-web is (default: next to this program)\n"
            "Per round: ingest rate A and B (events/s) with the 1-minute load average at the\n"
            "start of each phase, B/A, ingest per CPU second of the ingest thread, wanqi-web's\n"
            "and the clients' CPU seconds in B, the store's growth in A and B, and the oldest\n"
            "snapshot a reader of wanqi-web held in A and B (commits behind the newest /\n"
            "seconds held), and\n"
            "where the ingest thread's time went in A and B: on a CPU, waiting on a run queue\n"
            "(the CPU was taken by other threads), blocked (fsync, page faults, locks).\n"
            "Then the median B/A (target: at least 95%%), page latency over HTTP (p50, p99,\n"
            "max) per page during the B phases, and each page's queries run directly.\n");
    exit(code);
}

int main(int argc, char **argv)
{
    const char *keep = NULL, *webargs[16];
    int nwebargs = 0, rounds = 4, npos = 0;
    char *pos[3] = {NULL, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            s_usage(stdout, 0);
        else if (!strcmp(argv[i], "--store") && i + 1 < argc)
            keep = argv[++i];
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
            s_idle_clients = strcmp(argv[++i], "normal") != 0;
        else if (!strcmp(argv[i], "--think-ms") && i + 1 < argc)
            s_think_ms = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strncmp(argv[i], "--web-arg=", 10) && nwebargs < 15)
            webargs[nwebargs++] = argv[i] + 10;
        else if (argv[i][0] != '-' && npos < 3)
            pos[npos++] = argv[i];
        else
            s_usage(stderr, 2);
    }
    if (rounds < 1 || rounds > 50)
        s_usage(stderr, 2);
    size_t n = pos[0] ? (size_t)strtoull(pos[0], NULL, 10) : 1000000;
    size_t m = pos[1] ? (size_t)strtoull(pos[1], NULL, 10) : 50000;
    int users = pos[2] ? atoi(pos[2]) : 20;
    size_t nents = n / 20 / 7 + 1;
    char bindir[512];
    if (getenv("WANQI_BIN_DIR"))
        snprintf(bindir, sizeof bindir, "%s", getenv("WANQI_BIN_DIR"));
    else {
        ssize_t l = readlink("/proc/self/exe", bindir, sizeof bindir - 1);
        bindir[l > 0 ? l : 0] = '\0';
        char *slash = strrchr(bindir, '/');
        if (slash)
            *slash = '\0';
    }
    char dir[600] = "/tmp/wanqi-bench-web-XXXXXX";
    if (keep) {
        snprintf(dir, sizeof dir, "%s", keep);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            s_die(dir, strerror(errno));
    } else if (!mkdtemp(dir)) {
        s_die("mkdtemp", strerror(errno));
    }
    char store[700], accounts[700], web[700], runs[700];
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(accounts, sizeof accounts, "%s/web-accounts", dir);
    snprintf(runs, sizeof runs, "%s/runs", dir);
    snprintf(web, sizeof web, "%s/wanqi-web", bindir);
    /* A kept store: this run's agents are new ones (run number in the id). */
    int run = 0;
    FILE *rf = fopen(runs, "r");
    if (rf) {
        if (fscanf(rf, "%d", &run) != 1)
            run = 0;
        fclose(rf);
    }
    bool fill = run == 0;
    run++;
    if (keep && (rf = fopen(runs, "w")) != NULL) {
        fprintf(rf, "%d\n", run);
        fclose(rf);
    }
    s_rng += (uint64_t)run * 0x9E3779B97F4A7C15ull;
    s_stream_t *streams = calloc(20, sizeof *streams);
    for (int i = 0; i < 20; i++) {
        snprintf(streams[i].agent, sizeof streams[i].agent, "%s-r%d", s_counties[i], run);
        streams[i].county = s_counties[i];
        streams[i].inc = 0x1000u + (uint32_t)i;
        streams[i].next = 1;
    }
    wq_central_t *c = NULL;
    wq_err_t err;
    if (wq_central_open(store, (size_t)32 << 30, &c, &err) != WQ_OK)
        s_die("open", err.text);
    if (fill) {
        double r0 = s_ingest(c, streams, n, 1000, nents);
        printf("filled the store: %zu events at %.0f events/s (batches of 1000)\n", n, r0);
    } else {
        printf("reusing the store in %s (run %d)\n", dir, run);
    }
    fflush(stdout);

    wq_accounts_t *a = NULL;
    if (wq_accounts_open(accounts, &a, &err) != WQ_OK ||
        (!wq_accounts_find(a, "bench") &&
         (wq_accounts_add(a, "bench", "bench password", "province", "130000", &err) != WQ_OK ||
          wq_accounts_save(a, &err) != WQ_OK)))
        s_die("accounts", err.text);
    wq_accounts_destroy(&a);
    int pfd[2];
    if (pipe(pfd) != 0)
        s_die("pipe", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[0]);
        setenv("WANQI_LOG", "warn", 1);
        const char *av[24] = {web, "run", "--dir", dir, "--listen", "127.0.0.1:0"};
        for (int i = 0; i < nwebargs; i++)
            av[6 + i] = webargs[i];
        av[6 + nwebargs] = NULL;
        execv(web, (char *const *)av);
        _exit(127);
    }
    close(pfd[1]);
    FILE *pf = fdopen(pfd[0], "r");
    char line[256] = "";
    while (fgets(line, sizeof line, pf) && !strstr(line, "listening on port"))
        ;
    char *pp = strstr(line, "port ");
    if (!pp)
        s_die(web, "did not start (is WANQI_BIN_DIR right?)");
    s_port = (uint16_t)atoi(pp + 5);
    char cookie[160] = "";
    int st = s_http("POST", "/login", "name=bench&password=bench+password", cookie);
    if (st != 303 || !cookie[0])
        s_die("login", "no session");
    snprintf(s_cookie, sizeof s_cookie, "%s", cookie);
    s_sh = mmap(NULL, sizeof *s_sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s_sh == MAP_FAILED)
        s_die("mmap", strerror(errno));
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s_sh->lat.lock, &ma);
    pthread_mutexattr_destroy(&ma);
    if (users > 64)
        users = 64;
    fflush(stdout);
    pid_t cpid = fork();   /* the clients' process: it touches no store */
    if (cpid < 0)
        s_die("fork", strerror(errno));
    if (cpid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pthread_t th[64];
        for (int i = 0; i < users; i++)
            pthread_create(&th[i], NULL, s_user, (void *)(uintptr_t)(i + 1 + 1000 * run));
        for (int i = 0; i < users; i++)
            pthread_join(th[i], NULL);
        _exit(0);
    }
    /* Rounds of two phases, A (no web load) and B (users clicking), in
       alternating order: each pair gives a ratio measured under (nearly)
       the same machine load, and a drift over the run falls on A and B
       alike. Besides the wall-clock rates: events per CPU second of the
       ingest thread (what the web load costs ingest through caches, memory
       and the store, whatever else the machine runs), the CPU the server
       got, the store's growth and the oldest snapshot wanqi-web held. */
    s_rd.env = c->env;
    pthread_mutex_init(&s_rd.lock, NULL);
    pthread_t sampler;
    pthread_create(&sampler, NULL, s_sampler, NULL);
    double ratio[50], cratio[50];
    printf("round order  ingest A (load)        ingest B, %2d users (load)  B/A     per ingest CPU-s A / B (ratio)"
           "   web / clients CPU-s  growth MB A / B   oldest snapshot A / B: commits, s"
           "   ingest s A / B: cpu+runq+blocked\n", users);
    for (int r = 0; r < rounds; r++) {
        bool b_first = r % 2 == 1;
        double rate[2] = {0, 0}, load[2] = {0, 0}, cpu[2] = {0, 0}, growth[2] = {0, 0}, age[2] = {0, 0};
        double wall[2] = {0, 0}, rq[2] = {0, 0};
        uint64_t lag[2] = {0, 0};
        double wcpu = 0, ccpu = 0;
        for (int ph = 0; ph < 2; ph++) {
            int b = b_first ? ph == 0 : ph == 1;   /* 1: this phase is B */
            uint64_t u0 = 0, u1 = 0, map = 0;
            if (wq_central_env_info(c, &u0, &map, &err) != WQ_OK)
                s_die("env_info", err.text);
            if (b)
                atomic_store(&s_sh->active, true);
            uint64_t dl;
            double da;
            s_reader_take(&dl, &da);
            double w0 = s_proc_cpu(pid), c0 = s_proc_cpu(cpid);
            load[b] = s_load();
            cpu[b] = s_thread_cpu();
            rq[b] = s_thread_rqwait();
            wall[b] = s_now();
            rate[b] = s_ingest(c, streams, m, 100, nents);
            wall[b] = s_now() - wall[b];
            cpu[b] = s_thread_cpu() - cpu[b];
            rq[b] = s_thread_rqwait() - rq[b];
            s_reader_take(&lag[b], &age[b]);
            if (b) {
                atomic_store(&s_sh->active, false);
                wcpu = s_proc_cpu(pid) - w0;
                ccpu = s_proc_cpu(cpid) - c0;
                while (atomic_load(&s_sh->inflight) > 0)   /* no request left behind in the next phase */
                    usleep(10000);
            }
            if (wq_central_env_info(c, &u1, &map, &err) != WQ_OK)
                s_die("env_info", err.text);
            growth[b] = (double)(u1 - u0) / 1e6;
        }
        ratio[r] = rate[1] / rate[0];
        cratio[r] = cpu[0] / cpu[1];
        printf("%5d %-5s  %8.0f events/s (%5.2f)  %8.0f events/s (%5.2f)  %5.1f%%  %8.0f / %8.0f (%5.1f%%)"
               "   %6.1f / %5.1f  %6.1f / %6.1f   %6" PRIu64 " %6.2f / %6" PRIu64 " %6.2f"
               "   %.1f+%.1f+%.1f / %.1f+%.1f+%.1f\n",
               r + 1, b_first ? "B A" : "A B", rate[0], load[0], rate[1], load[1], 100.0 * ratio[r],
               (double)m / cpu[0], (double)m / cpu[1], 100.0 * cratio[r], wcpu, ccpu, growth[0], growth[1],
               lag[0], age[0], lag[1], age[1], cpu[0], rq[0], wall[0] - cpu[0] - rq[0], cpu[1], rq[1],
               wall[1] - cpu[1] - rq[1]);
        fflush(stdout);
    }
    qsort(cratio, (size_t)rounds, sizeof cratio[0], s_cmp);
    printf("ingest per CPU second with web load / without, median: %.1f%%\n",
           100.0 * (rounds % 2 ? cratio[rounds / 2] : (cratio[rounds / 2 - 1] + cratio[rounds / 2]) / 2));
    atomic_store(&s_sh->stop, true);
    if (waitpid(cpid, NULL, 0) != cpid)
        s_die("waitpid (clients)", strerror(errno));
    pthread_join(sampler, NULL);
    qsort(ratio, (size_t)rounds, sizeof ratio[0], s_cmp);
    /* With an even number of rounds, the mean of the two middle ones. */
    double med = rounds % 2 ? ratio[rounds / 2] : (ratio[rounds / 2 - 1] + ratio[rounds / 2]) / 2;
    printf("ingest with web load / without (B/A), median of %d rounds: %.1f%% (target: at least 95%%)\n",
           rounds, 100.0 * med);
    wq_central_stats_t stats;
    if (wq_central_stats(c, &stats, &err) != WQ_OK)
        s_die("stats", err.text);
    printf("page latency over HTTP at %" PRIu64 " events in the store, during the loaded phases "
           "(%zu errors):\n", stats.events, s_sh->lat.errors);
    for (size_t p = 0; p < S_NPAGES; p++) {
        size_t k = s_sh->lat.n[p];
        if (!k)
            continue;
        qsort(s_sh->lat.lat[p], k, sizeof(double), s_cmp);
        printf("  %-52s n=%5zu p50 %8.1f ms  p99 %8.1f ms  max %8.1f ms\n", s_pages[p], k,
               s_sh->lat.lat[p][k / 2] * 1e3, s_sh->lat.lat[p][(k * 99) / 100] * 1e3,
               s_sh->lat.lat[p][k - 1] * 1e3);
    }
    /* Page data: each page's queries run directly on the store (one thread,
       normal priority, no ingest, no cache): what a page costs to compute. */
    printf("page data at %" PRIu64 " events (each page's queries run directly, 100 times or 20 s):\n",
           stats.events);
    for (size_t p = 0; p < S_NPAGES; p++) {
        double lat[100], start = s_now();
        size_t k = 0;
        while (k < 100 && (k < 5 || s_now() - start < 20)) {
            double t0 = s_now();
            s_page_data(c, p);
            lat[k++] = s_now() - t0;
        }
        qsort(lat, k, sizeof lat[0], s_cmp);
        printf("  %-52s n=%3zu p50 %8.1f ms  p99 %8.1f ms  (load %.2f)\n", s_pages[p], k,
               lat[k / 2] * 1e3, lat[(k * 99) / 100] * 1e3, s_load());
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    fclose(pf);
    wq_central_destroy(&c);
    free(streams);
    if (!keep) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "web_load: could not remove %s\n", dir);
    }
    return 0;
}
