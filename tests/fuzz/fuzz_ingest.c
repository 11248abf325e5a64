/*  fuzz_ingest - libFuzzer target: ingest into a real central store in a
    temporary folder, then verify.

    The input is JSON Lines; each line becomes a record of one of three
    agents (the line's first byte picks it: two of county 130102, one of
    130627, so ownership across counties is exercised). "@N" in an event-id
    field means the record of line N, as in `import`. Each input is one
    batch per agent; after it, verify must find the incremental views equal
    to a recomputation from the events: any difference aborts. The store is
    recreated every S_RESET inputs so that verify stays fast. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "collector/central.h"
#include "collector/cstore.h"
#include "common/json.h"
#include "common/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_RESET 20
#define S_MAX_LINES 64

static const struct {
    const char *agent, *county;
} s_agents[3] = {{"130102-01", "130102"}, {"130102-02", "130102"}, {"130627-01", "130627"}};

static char s_dir[64], s_store[80];
static wq_central_t *s_c;
static unsigned s_runs;
static uint32_t s_inc = 1;

static void
s_cleanup(void)
{
    wq_central_destroy(&s_c);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (s_dir[0] && system(cmd) != 0)
        fprintf(stderr, "fuzz_ingest: could not remove %s\n", s_dir);
}

static void
s_open(void)
{
    wq_err_t err;
    char cmd[128];
    wq_central_destroy(&s_c);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", s_store, s_store);
    if (system(cmd) != 0 || wq_central_open(s_store, 256u << 20, &s_c, &err) != WQ_OK) {
        fprintf(stderr, "fuzz_ingest: cannot make a store in %s\n", s_store);
        abort();
    }
    /* Durability is not under test here: no fsync per batch (the store is
       thrown away), so that the fuzzer runs hundreds of inputs a second. */
    if (mdb_env_set_flags(s_c->env, MDB_NOSYNC, 1) != 0)
        abort();
}

/*  Replace "@N" by the id of line N (if it made a record). */
static void
s_resolve_ref(char field[WQ_EVENT_ID_MAX], char ids[][WQ_EVENT_ID_MAX], size_t nlines)
{
    unsigned long line;
    if (!wq_event_ref_is_line(field, &line))
        return;
    if (line >= 1 && line <= nlines && ids[line - 1][0])
        memcpy(field, ids[line - 1], WQ_EVENT_ID_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_dir[0]) {
        snprintf(s_dir, sizeof s_dir, "/dev/shm/wq-fuzz-ingest-XXXXXX");
        if (!mkdtemp(s_dir))
            abort();
        snprintf(s_store, sizeof s_store, "%s/store", s_dir);
        atexit(s_cleanup);
        s_open();
    }
    if (++s_runs % S_RESET == 0)
        s_open();
    s_inc++;    /* a fresh stream per input: seq starts at 1 */
    static char ids[S_MAX_LINES][WQ_EVENT_ID_MAX];
    wq_blob_t blobs[3][S_MAX_LINES];
    size_t nb[3] = {0, 0, 0}, nlines = 0;
    memset(ids, 0, sizeof ids);
    size_t off = 0;
    while (off < size && nlines < S_MAX_LINES) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t len = nl ? (size_t) (nl - (data + off)) : size - off;
        const uint8_t *line = data + off;
        off += len + 1;
        nlines++;
        if (len < 2)
            continue;
        int a = line[0] % 3;
        wq_json_object_t *obj = NULL;
        wq_record_t *rec = NULL;
        wq_err_t err;
        if (wq_json_parse_object((const char *) line + 1, len - 1, &obj, &err) != WQ_OK)
            continue;
        if (wq_record_from_json(obj, &rec, &err) == WQ_OK) {
            s_resolve_ref(rec->target, ids, nlines);
            s_resolve_ref(rec->problem, ids, nlines);
            s_resolve_ref(rec->consultation, ids, nlines);
            s_resolve_ref(rec->visit, ids, nlines);
            if (!(rec->present & (1ull << WQ_F_COUNTY)))
                (void) wq_record_set_text(rec, "county", s_agents[a].county, &err);
            uint64_t seq = nb[a] + 1;
            wq_record_set_identity(rec, s_agents[a].agent, s_inc, seq, 1555555555000ull);
            uint8_t *buf = NULL;
            size_t n = 0;
            if (wq_record_encode(rec, &buf, &n) == WQ_OK) {
                blobs[a][nb[a]].data = buf;
                blobs[a][nb[a]].size = n;
                nb[a]++;
                wq_record_id(rec, ids[nlines - 1]);
            }
            wq_record_destroy(&rec);
        }
        wq_json_object_destroy(&obj);
    }
    for (int a = 0; a < 3; a++) {
        wq_ingest_result_t res;
        wq_err_t err;
        if (nb[a] == 0)
            continue;
        int rc = wq_central_ingest(s_c, s_agents[a].agent, s_agents[a].county, s_inc, 1, blobs[a],
                                   nb[a], 1555555555000ull, &res, &err);
        if (rc != WQ_OK && rc != WQ_E_FULL) {
            fprintf(stderr, "fuzz_ingest: ingest failed: %s\n", err.text);
            abort();
        }
        wq_ingest_result_clear(&res);
        for (size_t i = 0; i < nb[a]; i++)
            free((void *) blobs[a][i].data);
    }
    uint64_t diffs = 0;
    wq_err_t err;
    if (wq_central_verify(s_c, stderr, &diffs, &err) != WQ_OK || diffs != 0) {
        fprintf(stderr, "fuzz_ingest: verify found %llu differences\n", (unsigned long long) diffs);
        abort();
    }
    return 0;
}
