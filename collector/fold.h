/*  =========================================================================
    fold - the state of one entity as a fold of its events

    An entity is an enterprise ("E:" + credit code), a problem ("P:" + the
    id of the event that opened it) or a consultation ("C:" + id). Its
    events come from the entity index; corrections and retractions that
    target its events are indexed with it. The fold is a pure function of
    that set of events:

      1. a retraction voids its target (a retraction of a retraction, or
         one from another county than the target's, has no effect);
      2. a correction that is not void, whose `of` is its target's type,
         whose target is not itself a correction or retraction and comes
         from the same county, patches the target as if the target had
         been recorded with those values; several corrections apply in
         fold order, the last wins. Fields that tie an event to its
         stream, county or entity (type, agent, inc, seq, recorded,
         county, ent, problem, consultation) are never patched;
      3. ownership (docs/SECURITY.md "Ownership"): a county's agents write
         only their county. A problem or consultation belongs to the county
         of the event that opened it; an enterprise belongs to the county
         of its first effective registration (`enterprise` record) in fold
         order, or, if it has none, of its first effective event, and from
         the date of each operator transfer (wq_fold_transfer_t, made with
         `wanqi-collector transfer`) on to the transfer's county. An
         effective base event from another county than its entity's owner
         on its date is FOREIGN: it counts nowhere but in the "foreign"
         counter of the county that sent it, and the state lists it
         (WQ_FOLD_FOREIGN_MAX of them) for staff (the `foreign` query);
      4. the effective events are ordered by (activity date as corrected,
         agent, inc, seq) and folded into the state and its county-level
         counter contributions (views.h). See docs/STORE.md for what each
         entity contributes.
    =========================================================================
*/
#ifndef WQ_FOLD_H_INCLUDED
#define WQ_FOLD_H_INCLUDED

#include <lmdb.h>
#include <stdbool.h>
#include "collector/cstore.h"
#include "collector/marks.h"
#include "collector/views.h"

typedef enum {
    WQ_EFFECT_EFFECTIVE = 0,   /* counted as recorded */
    WQ_EFFECT_CORRECTED = 1,   /* counted, with a correction's values */
    WQ_EFFECT_RETRACTED = 2,   /* void */
    WQ_EFFECT_IGNORED = 3,     /* a correction/retraction without effect */
    WQ_EFFECT_FOREIGN = 4      /* from another county than the entity's owner: counts nowhere */
} wq_effect_t;

/*  An operator's transfer of an enterprise to another county: from date on
    (inclusive) the enterprise belongs to county. Stored in the transfers
    database (key credit code + date, value county). */
typedef struct {
    char date[11];
    char county[7];
} wq_fold_transfer_t;

/*  A foreign event as the state lists it. */
typedef struct {
    char id[WQ_EVENT_ID_MAX];
    char county[7];                 /* the county that sent it */
    char owner[7];                  /* the entity's owner on the event's date */
    char date[11];
    uint8_t type;                   /* wq_rec_type_t */
} wq_fold_foreign_t;

/*  At most this many foreign events are listed per entity (all are counted). */
#define WQ_FOLD_FOREIGN_MAX 64

typedef struct {
    wq_record_t *rec;               /* owned; base events are patched in place */
    char id[WQ_EVENT_ID_MAX];
    wq_effect_t effect;
} wq_fold_item_t;

typedef struct {
    char kind;                      /* 'E', 'P', 'C' */
    bool exists;                    /* E: any effective event; P/C: the opening event is effective */
    char county[7];                 /* area the entity counts in */
    char month[8];                  /* P/C: month opened; E: month registered ("" if not) */
    char date[11];                  /* P/C: date opened */
    char ent[19];                   /* credit code */
    char name[208];                 /* E: enterprise name (latest profile) */
    int category, severity, status, klass, answered;
    int grade;                      /* E: current performance grade (wq_grade_t, 0 none) */
    char deadline[11];              /* P: current deadline ("" none) */
    char *plans;                    /* P: owned, NULL if none: plan date + deadline (20 bytes)
                                       per effective plan, in fold order: the deadline history */
    char rect_date[11];             /* P: day of the current rectification ("" if not resolved) */
    char *toggles;                  /* P: owned, NULL if none: YYYY-MM-DD dates, concatenated,
                                       on which the problem became resolved (rectified or
                                       verified), unresolved, resolved ... alternately */
    wq_contrib_t *contribs;         /* owned, normalized */
    size_t ncontribs;
    wq_mark_t *marks;               /* owned, normalized (marks.h) */
    size_t nmarks;
    uint64_t nforeign;              /* foreign events of the entity (all) */
    wq_fold_foreign_t *foreign;     /* owned: the first WQ_FOLD_FOREIGN_MAX in fold order */
    size_t nforeign_listed;
    /* What applying a later event needs (wq_fold_append; state version 4): */
    char last_date[11];             /* fold-order key of the entity's last event (corrected
                                       date, agent, inc, seq); "" if it holds none */
    char last_agent[WQ_AGENT_ID_MAX + 1];
    uint32_t last_inc;
    uint64_t last_seq;
    int focus;                      /* E: focus group of the latest registration (0 none) */
    bool above;                     /* E: above designated size, latest registration */
    char visit_month[8];            /* E: month of the first visit ("" if none) */
    char class_month[8];            /* E: month of the latest classification ("" if none) */
    char grade_month[8];            /* E: month of the latest grading ("" if none) */
} wq_fold_state_t;

/*  Load an entity's events (index + events) into a new array *items of *n
    (each decoded). Errors: WQ_E_CORRUPT (an indexed event is missing or
    does not decode), WQ_E_IO, WQ_E_NOMEM. *n == 0 if the entity is unknown. */
int wq_fold_load(MDB_txn *txn, wq_central_t *c, const char *entity, wq_fold_item_t **items,
                 size_t *n, wq_err_t *err);
void wq_fold_items_free(wq_fold_item_t **items, size_t n);

/*  Apply corrections and retractions, order the items in fold order (all of
    them, corrections by their own date) and compute the state into a zeroed
    *st. Errors: WQ_E_NOMEM. */
int wq_fold_compute(const char *entity, wq_fold_item_t *items, size_t n, wq_fold_state_t *st,
                    wq_err_t *err);

/*  The same, with the operator transfers of the entity (an enterprise;
    ignored for other entities), ntransfers may be 0. */
int wq_fold_compute_owned(const char *entity, wq_fold_item_t *items, size_t n,
                          const wq_fold_transfer_t *transfers, size_t ntransfers,
                          wq_fold_state_t *st, wq_err_t *err);

/*  Load the transfers of an entity (none unless an enterprise), in date
    order, into a new array *out of *n (NULL, 0 if none). Errors: WQ_E_IO,
    WQ_E_CORRUPT, WQ_E_NOMEM. */
int wq_fold_transfers_load(MDB_txn *txn, wq_central_t *c, const char *entity,
                           wq_fold_transfer_t **out, size_t *n, wq_err_t *err);

/*  Load (events and transfers) + compute. */
int wq_fold_entity(MDB_txn *txn, wq_central_t *c, const char *entity, wq_fold_state_t *st,
                   wq_err_t *err);

/*  Incremental fold: apply one new event rec (id its event id) of entity
    to st, the entity's stored state, when the result is by construction
    the one a full fold of all its events would give: rec is a base event
    (not a correction or retraction), the state exists (an enterprise with
    an effective event, a problem or consultation whose opening event is
    there), rec sorts after the state's last event in fold order, and it
    rewrites no history: for an enterprise, ntransfers is 0 (no operator
    transfer), rec is no registration of an unregistered enterprise (which
    would decide its owner) and no visit on the date of the last event
    (which could form a group of double entries). The caller guarantees
    that no correction or retraction among the entity's events targets rec
    (the store places those only after their target, and then folds in
    full: central.c s_release_waiters). Then *applied is true and
    st holds the new state, contributions and marks normalized; else
    *applied is false and st is unchanged: fold the entity in full
    (wq_fold_entity). Errors: WQ_E_NOMEM (st is then unusable: clear it). */
int wq_fold_append(const char *entity, wq_fold_state_t *st, const wq_record_t *rec,
                   const char *id, size_t ntransfers, bool *applied, wq_err_t *err);

void wq_fold_state_clear(wq_fold_state_t *st);

/*  Canonical blob of a state (the states database) and back. Decode
    errors: WQ_E_CORRUPT, WQ_E_NOMEM. */
void wq_fold_state_encode(const wq_fold_state_t *st, wq_buf_t *out);
int wq_fold_state_decode(const void *data, size_t size, wq_fold_state_t *st, wq_err_t *err);

/*  A problem's deadline history (st->plans) read as of the end of date:
    the deadline in force (that of the latest plan made on or before date,
    in fold order; "" if none), the first deadline in force, and how many
    times the deadline in force changed (extensions or reductions) up to
    date. */
void wq_fold_deadline_at(const char *plans, const char *date, char inforce[11], char first[11],
                         int *changes);

/*  A problem's state (st, kind 'P') at the end of date, by the one
    definition of docs/STORE.md section 3 that its timelines use: overdue
    (opened, not resolved, a deadline in force that is before date), or
    rectified on time / late (resolved, on or before / after the deadline
    in force on the day of that rectification; none in force: on time).
    All false for a problem not opened by date or that does not exist. */
void wq_fold_problem_at(const wq_fold_state_t *st, const char *date, bool *overdue, bool *on_time,
                        bool *late);

/*  Whether a problem with these toggles (len bytes, a multiple of 10) was
    rectified or verified at the end of day date: an odd number of toggles
    on or before date. */
bool wq_fold_resolved_at(const char *toggles, size_t len, const char *date);

#endif
