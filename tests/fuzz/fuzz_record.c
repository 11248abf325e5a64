/*  fuzz_record - libFuzzer target: the record decoder and validator
    (common/record.c).

    Any byte string is a record inside a BATCH. Decode strictly, validate,
    and for a decoded record check that its canonical encoding decodes to
    the same bytes again (so the stored form is stable), and that writing it
    as JSON does not fault. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wq_record_t *rec = NULL, *again = NULL;
    uint8_t *buf = NULL, *buf2 = NULL;
    size_t n = 0, n2 = 0;
    wq_err_t err;
    if (wq_record_decode(data, size, &rec, &err) != WQ_OK)
        return 0;
    (void) wq_record_validate(rec, &err);
    char id[WQ_EVENT_ID_MAX], ent[WQ_EVENT_ID_MAX + 2];
    wq_record_id(rec, id);
    wq_record_entity(rec, ent);
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        wq_record_write_json(rec, null);
        fclose(null);
    }
    int rc = wq_record_encode(rec, &buf, &n);
    if (rc == WQ_OK) {
        if (wq_record_decode(buf, n, &again, &err) != WQ_OK)
            abort();    /* our canonical encoding does not decode */
        if (wq_record_encode(again, &buf2, &n2) != WQ_OK || n2 != n || memcmp(buf, buf2, n) != 0)
            abort();    /* re-encoding a decoded canonical encoding changed it */
    } else if (rc != WQ_E_RANGE) {
        abort();
    }
    free(buf);
    free(buf2);
    wq_record_destroy(&rec);
    wq_record_destroy(&again);
    return 0;
}
