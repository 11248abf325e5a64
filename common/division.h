/*  =========================================================================
    division - Hebei's GB/T 2260 administrative divisions

    Compiled in from the CSV files in common/data (no file is read at run time): the
    divisions in force today, those of the 2019 campaign (Xingtai's 2020
    reorganisation retired three codes and renamed two), and the NBS statistics-only functional zones (xx7x).
    Codes are 6 ASCII digits PPCCDD; city = PPCC00, province = PP0000. Every
    rollup is a prefix operation, so a retired 2019 county still rolls up to
    its city.
    =========================================================================
*/
#ifndef WQ_DIVISION_H_INCLUDED
#define WQ_DIVISION_H_INCLUDED

#include <stdbool.h>
#include "common/error.h"

typedef enum {
    WQ_LEVEL_PROVINCE = 1,
    WQ_LEVEL_CITY = 2,
    WQ_LEVEL_COUNTY = 3,    /* district, county, county-level city */
    WQ_LEVEL_ZONE = 4       /* NBS functional zone (not in GB/T 2260) */
} wq_level_t;

typedef struct {
    char code[7];
    const char *name;       /* UTF-8, static */
    wq_level_t level;
    char parent[7];         /* "" for the province */
    bool current;           /* in today's list */
    bool in_2019;           /* in the 2019 campaign's list */
    const char *retired_to; /* for codes retired in 2020: new code(s), e.g. "130502;130503"; else NULL */
} wq_division_t;

/*  Look a code up. Returns a static entry or NULL if unknown. */
const wq_division_t *wq_division_find(const char *code);

/*  Check that code is a county-level unit (county or zone) valid on the
    activity date (YYYY-MM-DD): current codes always; codes retired in the
    2020 reorganisation for dates up to 2020-12-31. Returns WQ_OK,
    WQ_E_FORMAT (not 6 digits) or WQ_E_COUNTY (unknown, not county level, or
    retired by that date; text says which and names the new code). */
int wq_division_check_county(const char *code, const char *date, wq_err_t *err);

/*  Parent code at a level: for 130102, CITY -> "130100", PROVINCE ->
    "130000", COUNTY -> "130102". out must hold 7 bytes. */
void wq_division_rollup(const char *code, wq_level_t level, char out[7]);

/*  Iterate all entries (both lists, deduplicated by code, sorted by code).
    Returns the entry at index i or NULL past the end. */
const wq_division_t *wq_division_at(size_t i);

/*  Parse "province" / "city" / "county"; returns 0 if unknown. */
wq_level_t wq_level_parse(const char *s);
const char *wq_level_name(wq_level_t level);

#endif
