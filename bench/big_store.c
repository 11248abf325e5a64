/*  =========================================================================
    big_store - fill a central store with campaign records in-process, for
    the figures that need a big store but not agents (bench/run.py)

    big_store STORE RECORDS SEED AGENT [AGENT ...]

    For each AGENT ("COUNTY-NN", the county is the part before the '-'):
    a campaign of about RECORDS / number-of-agents records made by the
    generator of `wanqi-agent generate` (common/generate.c, seed SEED + its
    position), each line turned into a record the way `wanqi-agent import`
    does ("@N" becomes line N's event id, identity set: seq = line number;
    unlike import, a line repeating an earlier one is stored, not skipped).
    Then the agents' streams are ingested into the central store at STORE
    (created if missing; a collector's `DIR/store`, the collector stopped)
    round robin, 500 records a batch, 16 batches per group commit
    (wq_central_ingest_group): what the collector does for 50 agents
    draining at once, without the sockets, CURVE and the agents' own work.
    The commits are not synced one by one (MDB_NOSYNC; one sync at the
    end): the store is a bench fixture, and fsyncs made this I/O-bound.
    The campaigns are made on two threads. The end-to-end figures are measured through real
    agents elsewhere; this only builds the store the query, verify and
    SQLite figures are taken on, in a fraction of the time.

    Prints one JSON line: records stored, seconds, records/s. Asserts
    nothing; exits non-zero only if it cannot run.
    =========================================================================
*/
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/benchargs.h"
#include "collector/central.h"
#include "collector/cstore.h"
#include "common/generate.h"
#include "common/json.h"
#include "common/record.h"

#define S_BATCH 500
#define S_GROUP 16
#define S_MAP ((size_t) 16 << 30)

typedef struct {
    char agent[WQ_AGENT_ID_MAX + 1];
    char county[8];
    uint32_t inc;
    wq_blob_t *recs;
    size_t n, cap, sent;
} s_stream_t;

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*  "@N" -> "AGENT/INC/N" (line N has seq N). */
static int
s_resolve(wq_json_object_t *obj, const char *agent, uint32_t inc)
{
    for (size_t i = 0; i < obj->count; i++) {
        wq_json_member_t *m = &obj->members[i];
        if (m->kind != WQ_JSON_STRING || m->text[0] != '@')
            continue;
        char id[WQ_EVENT_ID_MAX];
        snprintf(id, sizeof id, "%s/%08" PRIx32 "/%" PRIu64, agent, inc,
                 (uint64_t) strtoull(m->text + 1, NULL, 10));
        char *copy = strdup(id);
        if (!copy)
            return -1;
        free(m->text);
        m->text = copy;
    }
    return 0;
}

static int
s_push(s_stream_t *s, uint8_t *buf, size_t size)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        wq_blob_t *nr = realloc(s->recs, ncap * sizeof *nr);
        if (!nr)
            return -1;
        s->recs = nr;
        s->cap = ncap;
    }
    s->recs[s->n++] = (wq_blob_t){buf, size};
    return 0;
}

/*  The agent's campaign, as import would record it. */
static int
s_campaign(s_stream_t *s, uint64_t seed, size_t records)
{
    char *text = NULL;
    size_t len = 0;
    wq_err_t err;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return -1;
    size_t ents = (size_t) ((double) records / 11.7 + 0.5);
    if (wq_generate(mem, s->county, NULL, NULL, seed, ents ? ents : 1, NULL, &err) != WQ_OK) {
        fprintf(stderr, "big_store: generate %s: %s\n", s->county, err.text);
        fclose(mem);
        free(text);
        return -1;
    }
    fclose(mem);
    uint64_t seq = 0;
    int rc = 0;
    for (char *line = text, *end = text + len; line < end && rc == 0;) {
        char *nl = memchr(line, '\n', (size_t) (end - line));
        size_t n = nl ? (size_t) (nl - line) : (size_t) (end - line);
        wq_json_object_t *obj = NULL;
        wq_record_t *rec = NULL;
        uint8_t *buf = NULL;
        size_t size = 0;
        seq++;
        if (wq_json_parse_object(line, n, &obj, &err) != WQ_OK || s_resolve(obj, s->agent, s->inc)
            || wq_record_from_json(obj, &rec, &err) != WQ_OK) {
            fprintf(stderr, "big_store: %s line %" PRIu64 ": %s\n", s->agent, seq, err.text);
            rc = -1;
        } else {
            wq_record_set_identity(rec, s->agent, s->inc, seq, 1548979200000ull + seq * 60000ull);
            if (wq_record_encode(rec, &buf, &size) != WQ_OK || s_push(s, buf, size) != 0) {
                free(buf);
                rc = -1;
            }
        }
        wq_record_destroy(&rec);
        wq_json_object_destroy(&obj);
        line = nl ? nl + 1 : end;
    }
    free(text);
    return rc;
}

typedef struct {
    s_stream_t *st;
    size_t first, step, n, per;
    uint64_t seed;
    int rc;
} s_gen_t;

/*  Every step-th agent from first. */
static void *
s_gen_main(void *arg)
{
    s_gen_t *g = arg;
    for (size_t i = g->first; i < g->n && g->rc == 0; i += g->step)
        g->rc = s_campaign(&g->st[i], g->seed + i, g->per);
    return NULL;
}

int
main(int argc, char **argv)
{
    if (bench_wants_help(argc, argv)) {
        printf("usage: big_store STORE RECORDS SEED AGENT [AGENT ...]\n"
               "  Fills the central store at STORE (created if missing; a collector's DIR/store,\n"
               "  the collector stopped) with about RECORDS generated campaign records of the\n"
               "  agents AGENT (COUNTY-NN, e.g. 130102-01), seed SEED, in-process; prints one\n"
               "  JSON line. bench/run.py uses it for the big store.\n");
        return 0;
    }
    if (argc < 5)
        return bench_usage_error("big_store", "expected STORE RECORDS SEED AGENT...", NULL);
    long long nrec = 0, nseed = 0;
    if (!bench_parse_int(argv[2], 10, 1, 100000000, &nrec))
        return bench_usage_error("big_store", "RECORDS is not a number from 1 to 10^8:", argv[2]);
    if (!bench_parse_int(argv[3], 10, 0, 1000000000, &nseed))
        return bench_usage_error("big_store", "SEED is not a number from 0 to 10^9:", argv[3]);
    const char *store = argv[1];
    size_t records = (size_t) nrec;
    uint64_t seed = (uint64_t) nseed;
    size_t nag = (size_t) (argc - 4);
    s_stream_t *st = calloc(nag, sizeof *st);
    if (!st)
        return 1;
    double g0 = s_now();
    size_t total = 0;
    for (size_t i = 0; i < nag; i++) {
        s_stream_t *s = &st[i];
        const char *a = argv[4 + i], *dash = strchr(a, '-');
        if (!dash || dash - a != 6 || strlen(a) > WQ_AGENT_ID_MAX)
            return bench_usage_error("big_store", "an agent is not COUNTY-NN:", a);
        snprintf(s->agent, sizeof s->agent, "%s", a);
        memcpy(s->county, a, 6);
        s->inc = (uint32_t) (0x9e3779b9u * (uint32_t) (i + 1 + seed)) | 1u;
    }
    s_gen_t g[2] = {{st, 0, 2, nag, records / nag, seed, 0}, {st, 1, 2, nag, records / nag, seed, 0}};
    pthread_t th;
    bool two = pthread_create(&th, NULL, s_gen_main, &g[1]) == 0;
    if (!two)
        g[0].step = 1;
    s_gen_main(&g[0]);
    if (two)
        pthread_join(th, NULL);
    if (g[0].rc != 0 || g[1].rc != 0)
        return 1;
    for (size_t i = 0; i < nag; i++)
        total += st[i].n;
    double gen = s_now() - g0;

    wq_central_t *c = NULL;
    wq_err_t err;
    if (wq_central_open(store, S_MAP, &c, &err) != WQ_OK) {
        fprintf(stderr, "big_store: %s\n", err.text);
        return 1;
    }
    int mrc = mdb_env_set_flags(c->env, MDB_NOSYNC, 1);
    if (mrc != 0) {
        fprintf(stderr, "big_store: mdb_env_set_flags: %s\n", mdb_strerror(mrc));
        return 1;
    }
    wq_ingest_batch_t group[S_GROUP];
    size_t stored = 0, quarantined = 0, next = 0, left = total;
    double t0 = s_now();
    while (left > 0) {
        size_t ng = 0;
        for (size_t tries = 0; tries < nag && ng < S_GROUP; tries++, next = (next + 1) % nag) {
            s_stream_t *s = &st[next];
            if (s->sent == s->n)
                continue;
            size_t k = s->n - s->sent < S_BATCH ? s->n - s->sent : S_BATCH;
            memset(&group[ng], 0, sizeof group[ng]);
            group[ng].agent = s->agent;
            group[ng].county = s->county;
            group[ng].inc = s->inc;
            group[ng].first_seq = s->sent + 1;
            group[ng].records = s->recs + s->sent;
            group[ng].count = k;
            s->sent += k;
            left -= k;
            ng++;
        }
        wq_central_ingest_group(c, group, ng, 1600000000000ull);
        for (size_t i = 0; i < ng; i++) {
            if (group[i].rc != WQ_OK) {
                fprintf(stderr, "big_store: ingest %s: %s\n", group[i].agent, group[i].err.text);
                return 1;
            }
            stored += group[i].res.stored;
            quarantined += group[i].res.nquarantined;
            wq_ingest_result_clear(&group[i].res);
        }
    }
    mrc = mdb_env_sync(c->env, 1);
    if (mrc != 0) {
        fprintf(stderr, "big_store: mdb_env_sync: %s\n", mdb_strerror(mrc));
        return 1;
    }
    double dt = s_now() - t0;
    wq_central_destroy(&c);
    printf("{\"figure\":\"big_store\",\"agents\":%zu,\"records\":%zu,\"stored\":%zu,\"quarantined\":%zu,"
           "\"generate_seconds\":%.2f,\"seconds\":%.2f,\"per_s\":%.0f}\n",
           nag, total, stored, quarantined, gen, dt, dt > 0 ? (double) total / dt : 0.0);
    for (size_t i = 0; i < nag; i++) {
        for (size_t j = 0; j < st[i].n; j++)
            free((void *) st[i].recs[j].data);
        free(st[i].recs);
    }
    free(st);
    return 0;
}
