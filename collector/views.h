/*  =========================================================================
    views - the aggregate counters of the central store

    A counter is keyed by (area, month, metric, sub):
        area   6 ASCII digits: a county, its city (PPCC00) or the province
        month  7 ASCII "YYYY-MM", the month of activity
        metric 1 byte (wq_metric_t), sub a be16 (method, category, status,
               kind, channel, class, or answer days; 0 when unused)
    and holds an int64. Every count is kept at all three levels, so that a
    query at any level reads only that level's rows; a counter that drops
    to 0 is deleted, so the stored views are a canonical function of the
    set of events (two stores with the same events are byte-identical).

    Folds (fold.h) produce county-level contributions; wq_views_apply
    applies the difference between an entity's old and new contributions
    at the three levels in the caller's write transaction.
    =========================================================================
*/
#ifndef WQ_VIEWS_H_INCLUDED
#define WQ_VIEWS_H_INCLUDED

#include <lmdb.h>
#include <stdint.h>
#include "collector/cstore.h"
#include "collector/marks.h"
#include "common/division.h"
#include "common/record.h"

#define WQ_VKEY_LEN 16

typedef enum {
    WQ_M_ENT_REGISTERED = 1,   /* enterprises registered, by month of first profile */
    WQ_M_ENT_VISITED = 2,      /* enterprises visited, by month of first visit */
    WQ_M_VISITS = 3,           /* visits, sub = method */
    WQ_M_PROBLEMS = 4,         /* problems, sub = category, by month opened */
    WQ_M_PROB_STATUS = 5,      /* problems by current status (1..4), by month opened */
    WQ_M_PLANS = 6,            /* plans made, by month of the plan */
    WQ_M_SERVICES = 7,         /* services, sub = kind */
    WQ_M_CONSULT = 8,          /* consultations received, sub = channel */
    WQ_M_ANSWERED = 9,         /* consultations answered, by month received */
    WQ_M_ANSWER_DAYS = 10,     /* histogram: sub = days to first answer */
    WQ_M_CLASS = 11,           /* enterprises by current class, by month of that class */
    WQ_M_FOREIGN = 12,         /* events refused as foreign (fold.h), in the sending county,
                                  by month of the event, sub = record type */
    WQ_M_RECT_OPEN = 13,       /* since store format 5: the open rectification
                                  spells ('R' marks ending WQ_MARK_OPEN_END), by
                                  month opened, sub = days to rectification
                                  (formats 2..4 kept none; format 1 kept the days
                                  to rectification here) */
    WQ_M_GRADE = 14,           /* enterprises by current performance grade, by month of it */
    WQ_M_GROUP_REG = 15,       /* registered, sub = group (WQ_GROUP_*), by month registered */
    WQ_M_GROUP_VISITED = 16,   /* visited, sub = group, by month of first visit */
    /* Timelines (problems by month opened): a +1 on the day a problem starts
       to count, a -1 on the day it stops; the count as of D is the sum of
       the changes up to D. Each change is kept twice: by month (sub = month
       index, wq_monidx) and by day (sub = day index, wq_dayidx), so that the
       sum as of D is two short cursor ranges per month opened: the monthly
       rows before D's month and the daily rows of D's month up to D. The
       timeline metrics come last, so a plain sum skips them with one seek. */
    WQ_M_OD_MON = 17,          /* overdue */
    WQ_M_OD_DAY = 18,
    WQ_M_OT_MON = 19,          /* rectified on time */
    WQ_M_OT_DAY = 20,
    WQ_M_LT_MON = 21,          /* rectified late */
    WQ_M_LT_DAY = 22,
    WQ_M_COUNT = 23
} wq_metric_t;

#define WQ_M_TIMELINE_FIRST WQ_M_OD_MON

/*  Groups of --by group: a focus group (1..4, wq_focus_t) or above size. */
#define WQ_GROUP_ABOVE_SIZE 8
#define WQ_GROUP_COUNT 9

/*  Day index of a date (days since 2000-01-01; fits 16 bits to 2099) and
    month index ((year - 2000) * 12 + month - 1). */
unsigned wq_dayidx(const char *date);
unsigned wq_monidx(const char *date_or_month);

typedef struct {
    uint8_t key[WQ_VKEY_LEN];
    int64_t n;
} wq_contrib_t;

/*  Make a counter key. */
void wq_vkey_make(uint8_t out[WQ_VKEY_LEN], const char *area, const char *month, int metric,
                  unsigned sub);
/*  The same counter one level up: area replaced by its city or province. */
void wq_vkey_rollup(const uint8_t in[WQ_VKEY_LEN], wq_level_t level, uint8_t out[WQ_VKEY_LEN]);
/*  "130102 2019-03 visits/2" for reports. */
void wq_vkey_format(const uint8_t key[WQ_VKEY_LEN], char *out, size_t size);

/*  Sort by key and merge equal keys (summing), dropping zero sums.
    Returns the new count. */
size_t wq_contrib_normalize(wq_contrib_t *c, size_t n);

/*  Apply new - old (both normalized county-level lists) to the stored
    counters at county, city and province level. Errors: WQ_E_FULL, WQ_E_IO,
    WQ_E_CORRUPT (a stored counter is not 8 bytes). */
int wq_views_apply(MDB_txn *txn, wq_central_t *c, const wq_contrib_t *old, size_t nold,
                   const wq_contrib_t *nw, size_t nnew, wq_err_t *err);

/*  Counter differences summed in memory over one write transaction, so
    that each counter is read and written once per transaction rather than
    once per event (ingest: wq_views_acc_diff per entity fold, then
    wq_views_acc_flush at the end of a batch, or of a group commit's
    batches, before the commit). The stored result is the same
    as wq_views_apply's for each difference in turn: a counter's final
    value is its stored value plus the sum, deleted at 0. Zero it with
    {0}; owns its arrays (wq_views_acc_free). */
typedef struct wq_views_acc_t {
    uint64_t (*keys)[2];    /* a key's 16 bytes as two words; {0, 0}: empty */
    int64_t *d;
    size_t n, cap;          /* open addressing: cap a power of 2, n used */
} wq_views_acc_t;

/*  Add new - old (as wq_views_apply) at the three levels to acc.
    Errors: WQ_E_NOMEM (acc keeps what it had). */
int wq_views_acc_diff(wq_views_acc_t *acc, const wq_contrib_t *old, size_t nold,
                      const wq_contrib_t *nw, size_t nnew, wq_err_t *err);

/*  Apply every non-zero sum of acc to the stored counters,
    then empty acc (its arrays kept for reuse). Errors as wq_views_apply. */
int wq_views_acc_flush(MDB_txn *txn, wq_central_t *c, wq_views_acc_t *acc, wq_err_t *err);

/*  Forget acc's sums (after an aborted transaction); arrays kept. */
void wq_views_acc_reset(wq_views_acc_t *acc);

/*  Free acc's arrays; safe on an empty one. */
void wq_views_acc_free(wq_views_acc_t *acc);

/*  The rectification spells kept for the summary (store format 5), derived
    from the 'R' marks (marks.h) alone: an open spell ('R' ... end
    WQ_MARK_OPEN_END, days <= 65535) is a WQ_M_RECT_OPEN counter at the
    three levels plus an 'S' mark at the three levels
        'S' area(6) start(10) month(7) days(5)
    (start-ordered, so that a summary as of a past date reads only the
    spells that start after it); any other spell is an 'X' mark with the
    'R' layout (county level only). Both follow the 'R' marks: ingest
    applies the derived difference of an entity's old and new marks in the
    same transaction, the upgrade to format 5 derives them from the stored
    'R' marks, verify from the recomputed ones. */

/*  Add the tallies of n spells of R mark r: the county-level counter into
    *ctr (*has_ctr set) and the marks into ms. A mark that is not an 'R'
    mark of 39 bytes adds nothing. */
void wq_rect_derive(const wq_mark_t *r, int64_t n, wq_contrib_t *ctr, bool *has_ctr,
                    wq_marks_t *ms);

/*  Apply the derived tallies of new - old (normalized mark lists: only
    their 'R' marks count) to the counters and marks in txn.
    Errors: WQ_E_NOMEM, and those of wq_views_apply / wq_marks_apply. */
int wq_rect_apply(MDB_txn *txn, wq_central_t *c, const wq_mark_t *old, size_t nold,
                  const wq_mark_t *nw, size_t nnew, wq_err_t *err);

/*  Sums of one area's counters over the months from..to (inclusive). */
typedef struct {
    int64_t registered, visited, visits, plans, services, consultations, answered, problems;
    int64_t foreign;        /* events this area sent that were refused as foreign */
    int64_t by_method[WQ_METHOD_COUNT];
    int64_t by_category[WQ_CAT_COUNT];
    int64_t by_status[WQ_STATUS_COUNT];
    int64_t by_kind[WQ_SERVICE_COUNT];
    int64_t by_channel[WQ_CHANNEL_COUNT];
    int64_t by_class[WQ_CLASS_COUNT];
    int64_t *days;          /* histogram of days to answer, ndays entries, owned */
    size_t ndays;
    int64_t by_grade[WQ_GRADE_COUNT];
    int64_t group_registered[WQ_GROUP_COUNT], group_visited[WQ_GROUP_COUNT];
    int64_t *rdays;         /* histogram of days to rectification of the problems
                               rectified at the end of asof ('R' marks), owned */
    size_t nrdays;
    int64_t overdue, on_time, late;     /* as of the date given to wq_views_sum_asof */
} wq_view_sums_t;

/*  Read area's counters for months from..to ("YYYY-MM"; "" = unbounded)
    into a zeroed *sums. Cost: one cursor range over the rows of that area
    and period. Errors: WQ_E_IO, WQ_E_CORRUPT, WQ_E_NOMEM. */
int wq_views_sum(MDB_txn *txn, wq_central_t *c, const char *area, const char *from, const char *to,
                 wq_view_sums_t *sums, wq_err_t *err);
/*  The same, plus the timelines as of asof ("YYYY-MM-DD"): overdue,
    on_time and late count the problems opened in from..to that were in
    that state at the end of asof, and rdays holds their days to
    rectification (without asof, wq_views_sum, these stay 0 and rdays
    empty). Cost: the range above, plus six short ranges per month that
    has timeline rows, read with the same cursor (a range that starts
    where the cursor stands needs no seek: three seeks per month as of
    today), then one seek past the month's timeline rows unless the last
    range reached the next month; the days to
    rectification are the WQ_M_RECT_OPEN counters read in that range, less
    the area's 'S' marks that start after asof (one range, empty when asof
    is today), plus the area's 'X' marks holding asof (one range over the
    closed spells, read only when the timelines count more rectified
    problems than open spells hold asof) (docs/STORE.md section 4). */
int wq_views_sum_asof(MDB_txn *txn, wq_central_t *c, const char *area, const char *from,
                      const char *to, const char *asof, wq_view_sums_t *sums, wq_err_t *err);
void wq_view_sums_clear(wq_view_sums_t *sums);
/*  Lower median of the days histogram; -1 if empty. */
int64_t wq_view_sums_median(const wq_view_sums_t *sums);
/*  Lower median of the days-to-rectification histogram; -1 if empty. */
int64_t wq_view_sums_rect_median(const wq_view_sums_t *sums);

#endif
