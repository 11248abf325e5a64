/*  =========================================================================
    campaign_records - generated campaign records as they travel, for the
    zstd dictionary (scripts/train-zdict) and the weak-link bench

    `campaign_records samples DIR [RECORDS] [SEED]`: training samples for
    the zstd dictionary shipped in proto/dict/ (scripts/train-zdict).

    Generates campaigns with common/generate.c for several Hebei counties,
    turns each JSON line into a record the way `wanqi-agent import` does
    (line references "@N" become real event ids, identity fields set) and
    writes each record's exact wire bytes (the canonical msgpack map of
    common/record.h) to DIR/NNNNNN.rec: one sample per record, which is
    what `zstd --train` wants. Prints the number of samples and bytes.

    Default 20000 records, seed 1.

    `campaign_records json FILE AGENT INC`: the records of an import file
    (JSON Lines, e.g. from `wanqi-agent generate`) as the collector sees
    them, identity included (agent, inc, seq = line number, recorded), one
    compact JSON object per line on stdout, as common/record.c writes them:
    the "compact JSON" baseline of bench/weaklink.

    `campaign_records --help`: the usage. A bad argument: exit 2.
    =========================================================================
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benchargs.h"
#include "common/generate.h"
#include "common/json.h"
#include "common/record.h"

/*  Counties of several cities (different names, streets, industries). */
static const char *const s_counties[] = {"130102", "130304", "130521", "130602",
                                         "130702", "130821", "131002", "131102"};

/*  "@N" -> "AGENT/INC/N": within one county's file, line N has seq N. */
static int
s_resolve(wq_json_object_t *obj, const char *agent, uint32_t inc, uint64_t base)
{
    for (size_t i = 0; i < obj->count; i++) {
        wq_json_member_t *m = &obj->members[i];
        if (m->kind != WQ_JSON_STRING || m->text[0] != '@')
            continue;
        char id[WQ_EVENT_ID_MAX];
        snprintf(id, sizeof id, "%s/%08" PRIx32 "/%" PRIu64, agent, inc,
                 base + (uint64_t) strtoull(m->text + 1, NULL, 10));
        char *copy = strdup(id);
        if (!copy)
            return -1;
        free(m->text);
        m->text = copy;
    }
    return 0;
}

/*  One JSON line -> a record with its identity; NULL (message printed) on
    error. */
static wq_record_t *
s_record(const char *line, size_t n, const char *agent, uint32_t inc, uint64_t seq)
{
    wq_json_object_t *obj = NULL;
    wq_record_t *rec = NULL;
    wq_err_t err;
    if (wq_json_parse_object(line, n, &obj, &err) != WQ_OK || s_resolve(obj, agent, inc, 0)
        || wq_record_from_json(obj, &rec, &err) != WQ_OK) {
        fprintf(stderr, "campaign_records: line %" PRIu64 ": %s\n", seq, err.text);
        rec = NULL;
    } else {
        wq_record_set_identity(rec, agent, inc, seq, 1548979200000ull + seq * 3600000ull);
    }
    wq_json_object_destroy(&obj);
    return rec;
}

static int
s_json(const char *path, const char *agent, uint32_t inc)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t seq = 0;
    int rc = 1;
    if (!f) {
        perror(path);
        return 1;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        wq_record_t *rec = s_record(line, (size_t) n, agent, inc, ++seq);
        if (!rec)
            goto done;
        wq_record_write_json(rec, stdout);
        fputc('\n', stdout);
        wq_record_destroy(&rec);
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    free(line);
    fclose(f);
    return rc;
}

static const char s_usage[] =
    "usage: campaign_records samples DIR [RECORDS] [SEED]\n"
    "       campaign_records json FILE AGENT INC\n"
    "\n"
    "samples: generated campaign records of several Hebei counties, each record's wire\n"
    "  bytes in DIR/NNNNNN.rec (DIR must exist): the zstd dictionary's training samples\n"
    "  (scripts/train-zdict). RECORDS default 20000, SEED default 1.\n"
    "json: the records of an import file (JSON Lines, e.g. from wanqi-agent generate) as\n"
    "  the collector sees them, identity included (AGENT, INC in hex, seq = line number),\n"
    "  one compact JSON object per line on stdout (bench/weaklink's baseline).\n"
    "Exit status: 0 done, 1 failed, 2 bad usage.\n";

int
main(int argc, char **argv)
{
    if (bench_wants_help(argc, argv)) {
        fputs(s_usage, stdout);
        return 0;
    }
    const char *mode = argc > 1 ? argv[1] : NULL;
    if (!mode)
        return bench_usage_error("campaign_records", "say samples or json", NULL);
    if (strcmp(mode, "json") == 0) {
        long long inc;
        if (argc != 5)
            return bench_usage_error("campaign_records", "json takes FILE AGENT INC", NULL);
        if (!bench_parse_int(argv[4], 16, 1, 0xffffffffll, &inc))
            return bench_usage_error("campaign_records", "INC is an incarnation in hex (1..ffffffff), not", argv[4]);
        return s_json(argv[2], argv[3], (uint32_t) inc);
    }
    if (strcmp(mode, "samples") != 0)
        return bench_usage_error("campaign_records", "the mode is samples or json, not", mode);
    if (argc < 3 || argc > 5)
        return bench_usage_error("campaign_records", "samples takes DIR [RECORDS] [SEED]", NULL);
    const char *dir = argv[2];
    long long want = 20000, seed_arg = 1;
    if (argc > 3 && !bench_parse_int(argv[3], 10, 1, 100000000, &want))
        return bench_usage_error("campaign_records", "RECORDS is a whole number 1..100000000, not", argv[3]);
    if (argc > 4 && !bench_parse_int(argv[4], 10, 0, INT64_MAX, &seed_arg))
        return bench_usage_error("campaign_records", "SEED is a whole number, 0 or more, not", argv[4]);
    uint64_t seed = (uint64_t) seed_arg;
    long written = 0;
    uint64_t bytes = 0;
    int rc = 1;
    size_t ncounties = sizeof s_counties / sizeof s_counties[0];
    long per_county = (long) (want / (long long) ncounties) + 1;
    for (size_t c = 0; c < ncounties && written < want; c++) {
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        wq_err_t err;
        if (!mem)
            goto fail;
        /* ~11.6 records per enterprise */
        size_t ents = (size_t) (per_county / 11 + 1);
        if (wq_generate(mem, s_counties[c], NULL, NULL, seed + c, ents, NULL, &err) != WQ_OK) {
            fprintf(stderr, "campaign_records: generate %s: %s\n", s_counties[c], err.text);
            fclose(mem);
            free(text);
            goto fail;
        }
        fclose(mem);
        char agent[32];
        snprintf(agent, sizeof agent, "%s-%02zu", s_counties[c], c % 3 + 1);
        uint32_t inc = (uint32_t) (0x9f86d081u * (c + 1)) | 1u;
        uint64_t seq = 0;
        char *line = text, *end = text + len;
        while (line < end && written < want) {
            char *nl = memchr(line, '\n', (size_t) (end - line));
            size_t n = nl ? (size_t) (nl - line) : (size_t) (end - line);
            uint8_t *buf = NULL;
            size_t size = 0;
            seq++;
            wq_record_t *rec = s_record(line, n, agent, inc, seq);
            if (!rec) {
                free(text);
                goto fail;
            }
            int erc = wq_record_encode(rec, &buf, &size);
            wq_record_destroy(&rec);
            if (erc != WQ_OK) {
                free(text);
                goto fail;
            }
            char path[4096];
            snprintf(path, sizeof path, "%s/%06ld.rec", dir, written);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(buf, 1, size, f) != size || fclose(f) != 0) {
                perror(path);
                free(buf);
                free(text);
                goto fail;
            }
            free(buf);
            bytes += size;
            written++;
            line = nl ? nl + 1 : end;
        }
        free(text);
    }
    printf("%ld samples, %" PRIu64 " bytes (%.1f bytes per record)\n", written, bytes,
           written ? (double) bytes / (double) written : 0.0);
    rc = 0;
fail:
    return rc;
}
