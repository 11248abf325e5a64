/*  =========================================================================
    generate - a realistic, reproducible campaign for one county, as JSON
    Lines ready for `wanqi-agent import`

    For tests, benchmarks and the demo. From a seed it writes what one
    county office records over a campaign: enterprises (valid credit codes,
    Chinese names built from word lists, industries, above-size flags,
    focus groups), visits by every method, problems of every category and
    severity found on those visits, plans with deadlines (some missed, some
    revised), progress to in_progress / rectified / verified and some
    reopened, services of every kind, consultations (most answered, some
    not), classifications (including shutdown and punish, some enterprises
    reclassified), profile updates, a few corrections and a retraction.

    Output: one JSON object per line (record.h field names; a correction's
    fields as "set.FIELD"), no identity fields, "county" on every line.
    Event-id fields refer to earlier lines of the same output as "@N"
    (1-based line number): a problem's "visit", a plan's and a progress's
    "problem", an answer's "consultation", a correction's or retraction's
    "target". Lines are ordered by activity date (ties: the order in which
    the campaign happened), so a referenced line always comes first and a
    file cut at any line is a prefix of the campaign in time.

    Reproducible: the output depends only on (county, start_date, end_date,
    seed, enterprises), byte for byte, on every platform (own PRNG,
    splitmix64; no rand(), no clock, no locale). Different counties with
    the same seed give different campaigns, and credit codes never collide
    across counties (the generating county is encoded in the code's
    organisation part; the registration-region digits 3-8 are the county's
    own for most enterprises and another Hebei county's for some, as in
    real life).

    Every line passes wq_record_from_json + (after "@N" is replaced by the
    id of that line's record and the identity is set)
    wq_record_validate == WQ_OK.
    =========================================================================
*/
#ifndef WQ_GENERATE_H_INCLUDED
#define WQ_GENERATE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "common/error.h"
#include "common/record.h"

/*  Exact counts of what a generated campaign holds, for comparing with the
    collector's views once every line has been imported (in file order, by
    one agent) and delivered. "Fold order" is the order the collector folds
    an entity's events in: (activity date, seq), and seq follows line order.
    Unless said otherwise a count is over effective events: a retracted
    event is not counted (only services are ever retracted), and corrected
    values replace the original ones (only a plan's deadline, an
    enterprise's name and a visit's findings are ever corrected).

    With at least WQ_GENERATE_FULL_COVERAGE enterprises and the default
    dates (or any window of at least 300 days), every count
    indexed by an enum below is non-zero for every value (and
    consultations_unanswered, overdue, corrections, retractions,
    enterprise_updates, reclassified and plans_revised are non-zero). */
#define WQ_GENERATE_FULL_COVERAGE 12

typedef struct {
    /* lines */
    size_t records;                         /* lines written = records to import */
    size_t by_type[WQ_REC_TYPE_COUNT];      /* lines per record type (incl. retracted ones) */

    /* enterprises */
    size_t enterprises;                     /* distinct credit codes registered */
    size_t enterprise_updates;              /* extra "enterprise" lines (profile updates) */
    size_t enterprises_above_size;          /* registered with above_size true */
    size_t enterprises_by_focus[WQ_FOCUS_COUNT];    /* [0]: no focus group */
    size_t enterprises_visited;             /* distinct enterprises with >= 1 visit */
    char sample_ent[19];                    /* the enterprise with the most lines ("" if none) */

    /* visits, problems */
    size_t visits;                          /* visit lines */
    size_t visits_by_method[WQ_METHOD_COUNT];
    size_t problems;                        /* problem lines (each opens one problem) */
    size_t problems_by_category[WQ_CAT_COUNT];
    size_t problems_by_severity[WQ_SEV_COUNT];
    /* Current status of each problem: that of its last progress in fold
       order; [WQ_STATUS_OPEN] also counts problems with no progress. */
    size_t problems_by_status[WQ_STATUS_COUNT];
    size_t progress;                        /* progress lines */

    /* plans */
    size_t plans;                           /* plan lines */
    size_t problems_with_plan;              /* distinct problems with >= 1 plan */
    size_t plans_revised;                   /* problems with >= 2 plans */
    /* Overdue as of end_date: problems whose current deadline (that of
       their last plan in fold order, after corrections) is strictly before
       end_date and whose current status is neither rectified nor verified. */
    size_t overdue;

    /* services, consultations */
    size_t services;                        /* effective service lines (retracted excluded) */
    size_t services_by_kind[WQ_SERVICE_COUNT];
    size_t consultations;                   /* consultation lines */
    size_t consultations_by_channel[WQ_CHANNEL_COUNT];
    size_t consultations_answered;          /* consultations with an answer (each has at most one) */
    size_t consultations_unanswered;
    size_t answer_days_total;               /* sum over answers of answer date - question date, days */

    /* classifications */
    size_t classifications;                 /* classification lines */
    size_t reclassified;                    /* enterprises classified more than once */
    /* Current class of each classified enterprise (its last
       classification in fold order); unclassified enterprises not counted. */
    size_t enterprises_by_class[WQ_CLASS_COUNT];

    /* fixes */
    size_t corrections;                     /* correction lines */
    size_t retractions;                     /* retraction lines (each voids one service line) */

    /* on time or late, as of end_date: problems rectified or verified at
       the end, by whether the day they were (last) resolved was on or
       before the deadline in force that day (no deadline: on time) */
    size_t rectified_on_time, rectified_late;
    /* performance grades (绩效分级) */
    size_t gradings;                        /* grading lines */
    size_t enterprises_by_grade[WQ_GRADE_COUNT];    /* current grade of each graded enterprise */
} wq_generate_stats_t;

/*  Write a campaign for `county` (a GB/T 2260 county-level code valid on
    both dates, e.g. "130102"; a 2020-retired code needs end_date <=
    2020-12-31) with `enterprises` enterprises and activity dates in
    [start_date, end_date] (YYYY-MM-DD; NULL means the 2019 campaign:
    2019-02-01 .. 2019-12-31) to out, one JSON object per line ('\n').
    About 12 lines per enterprise on average. stats (may be NULL) is zeroed and
    filled. Memory: the campaign is built in memory before it is written
    (a few hundred bytes per line).

    Errors: WQ_E_FORMAT or WQ_E_COUNTY (bad county, field "county"),
    WQ_E_FORMAT (bad date, field "start_date"/"end_date"), WQ_E_RANGE
    (start after end, or more than 900000 enterprises), WQ_E_NOMEM,
    WQ_E_IO (writing out failed; part of the output may have been
    written). */
int wq_generate(FILE *out, const char *county, const char *start_date, const char *end_date,
                uint64_t seed, size_t enterprises, wq_generate_stats_t *stats, wq_err_t *err);

/*  Write stats as "name value" lines (e.g. "visits_by_method.symposium 12"),
    one per count, in a fixed order: for a demo script to compare with
    query output. Returns WQ_OK or WQ_E_IO. */
int wq_generate_stats_write(const wq_generate_stats_t *stats, FILE *out);

#endif
