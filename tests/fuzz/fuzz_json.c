/*  fuzz_json - libFuzzer target: the JSON reader (common/json.c) and
    records built from it (wq_record_from_json), what `import` does per
    JSON Lines line. */
#include <stdint.h>
#include <stdlib.h>
#include "common/json.h"
#include "common/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wq_json_object_t *obj = NULL;
    wq_record_t *rec = NULL;
    wq_err_t err;
    if (wq_json_parse_object((const char *) data, size, &obj, &err) != WQ_OK)
        return 0;
    (void) wq_json_get(obj, "type");
    if (wq_record_from_json(obj, &rec, &err) == WQ_OK) {
        (void) wq_record_validate_content(rec, &err);
        wq_record_destroy(&rec);
    }
    wq_json_object_destroy(&obj);
    return 0;
}
