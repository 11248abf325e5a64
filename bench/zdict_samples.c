/*  =========================================================================
    zdict_samples - write generated campaign records as training samples
    for the zstd dictionary shipped in proto/dict/ (scripts/train-zdict)

    Generates campaigns with common/generate.c for several Hebei counties,
    turns each JSON line into a record the way `wanqi-agent import` does
    (line references "@N" become real event ids, identity fields set) and
    writes each record's exact wire bytes (the canonical msgpack map of
    common/record.h) to DIR/NNNNNN.rec: one sample per record, which is
    what `zstd --train` wants. Prints the number of samples and bytes.

    Usage: zdict_samples DIR [RECORDS] [SEED]   (default 20000 records, seed 1)
    =========================================================================
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: zdict_samples DIR [RECORDS] [SEED]\n");
        return 2;
    }
    const char *dir = argv[1];
    long want = argc > 2 ? atol(argv[2]) : 20000;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    long written = 0;
    uint64_t bytes = 0;
    int rc = 1;
    size_t ncounties = sizeof s_counties / sizeof s_counties[0];
    long per_county = want / (long) ncounties + 1;
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
            fprintf(stderr, "zdict_samples: generate %s: %s\n", s_counties[c], err.text);
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
            wq_json_object_t *obj = NULL;
            wq_record_t *rec = NULL;
            uint8_t *buf = NULL;
            size_t size = 0;
            seq++;
            if (wq_json_parse_object(line, n, &obj, &err) != WQ_OK || s_resolve(obj, agent, inc, 0)
                || wq_record_from_json(obj, &rec, &err) != WQ_OK) {
                fprintf(stderr, "zdict_samples: line %" PRIu64 " of %s: %s\n", seq, s_counties[c],
                        err.text);
                wq_json_object_destroy(&obj);
                free(text);
                goto fail;
            }
            wq_record_set_identity(rec, agent, inc, seq,
                                   1548979200000ull + seq * 3600000ull);
            int erc = wq_record_encode(rec, &buf, &size);
            wq_record_destroy(&rec);
            wq_json_object_destroy(&obj);
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
