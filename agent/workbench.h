/*  =========================================================================
    workbench - what the county workbench's pages show, from the outbox

    `wanqi-agent serve` (agent/serve.c) answers each page from here. A page
    loads a snapshot of the outbox (one short read transaction; every record
    decoded, corrections applied, retractions marked, in fold order (date,
    agent, inc, seq) like the collector's fold), writes what it needs as
    JSON and frees the snapshot: nothing is cached between requests, so a
    page always shows what `record`, `import` and `run` have just written.

    The JSON is written to a FILE (an open_memstream in the server). Enum
    values and field names are the wire codes; the labels (wq_enum_label,
    wq_field_label beside the field table in common/record.c) come with the
    field table's metadata (wq_wb_write_fields), so the pages, the CSV
    headers and the CLI can never disagree.

    Forms: wq_wb_build turns the (name, value) pairs of a submitted form
    into a record with the same setter and validator as `wanqi-agent
    record` (common/record.c, agent/importer.c) and collects an error per
    field, so that the page can show each beside its field.
    =========================================================================
*/
#ifndef WQ_AGENT_WORKBENCH_H_INCLUDED
#define WQ_AGENT_WORKBENCH_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "agent/outbox.h"
#include "common/error.h"
#include "common/record.h"

typedef struct wq_wb_t wq_wb_t;

/*  Load the snapshot of box (every record of every incarnation).
    Undecodable records are skipped (and counted: wq_wb_undecodable). *out is
    new. Errors: outbox errors, WQ_E_NOMEM. */
int wq_wb_load(wq_outbox_t *box, wq_wb_t **out, wq_err_t *err);

/*  Free; *self = NULL; safe on NULL. */
void wq_wb_destroy(wq_wb_t **self);

/*  Records that could not be decoded while loading. */
size_t wq_wb_undecodable(const wq_wb_t *self);

/*  ---- pages (JSON to f) ---------------------------------------------------- */

/*  The field table for every record type a person enters:
    [{"type","label","fields":[{"name","label","kind","required","min","max",
    "multiline","patchable","choices":[{"value","label"}]}]}]. Identity fields
    and county (the agent's own) are left out. */
void wq_wb_write_fields(FILE *f);

/*  The sync state in words: {"ok":bool,"queued":N,"text":"全部已送达省平台"
    or "23 条待发送，最早 3 天前；原因：…","last_contact":...}. */
void wq_wb_write_sync(const wq_outbox_state_t *st, uint64_t now_ms, FILE *f);

/*  The county's problem ledger (问题台账): every problem not retracted, with
    its enterprise's name, current status (the last progress), current
    deadline (the last plan) and days left (negative: overdue) as of today
    ("YYYY-MM-DD"). Filtering and sorting are done by the page. */
void wq_wb_write_ledger(const wq_wb_t *self, const char *today, FILE *f);

/*  One enterprise's case book (一企一册): {"ent","profile":{..}|null,
    "records":[...]} where records are every event of the enterprise and
    the plans, progress and answers of its problems and consultations, each
    as {"id","state","retracted":bool,"corrections":[{"id","date","reason",
    "set":{..}}],"rec":{fields, corrections applied}}, in fold order.
    Returns WQ_E_NOTFOUND (nothing written) if no record names ent. */
int wq_wb_write_casebook(const wq_wb_t *self, const char *ent, const char *today, FILE *f);

/*  Consultations with no answer yet (neither retracted). */
void wq_wb_write_open_consultations(const wq_wb_t *self, FILE *f);

/*  Enterprises whose name contains q or whose code starts with q (q "" or
    NULL: all), at most limit, in credit-code order: [{"ent","name","industry"}]
    (name and industry from the latest profile; null without one). */
void wq_wb_write_enterprises(const wq_wb_t *self, const char *q, size_t limit, FILE *f);

/*  Records of ent (NULL: any) of type (WQ_REC_NONE: any but corrections
    and retractions), not retracted, newest first: [{"id","type","date",
    "rec"}] (rec with corrections applied). For the pickers. */
void wq_wb_write_records(const wq_wb_t *self, const char *ent, wq_rec_type_t type, FILE *f);

/*  ---- entering records ----------------------------------------------------- */

typedef struct {
    char field[48];     /* the form's field name ("set.name" for a patch) */
    int code;           /* wq_rc_t */
    char text[320];     /* the validator's sentence */
} wq_wb_fielderr_t;

#define WQ_WB_MAX_ERRORS 32

/*  Build a record of type from a form's pairs (empty values are absent;
    "set.FIELD" is a correction's patch; "cadres" is comma-separated). date
    defaults to today, county to (and must be) county. Every field is
    tried, so that every wrong field gets its error; required fields left
    empty get WQ_E_MISSING each. On success (*nerrs == 0) *out is a new
    record ready for wq_outbox_append. Returns WQ_OK, WQ_E_FORMAT if some
    field is wrong (see errs), WQ_E_UNKNOWN (bad type), WQ_E_NOMEM. */
int wq_wb_build(const char *type, const char *const *keys, const char *const *vals, size_t n,
                const char *county, const char *today, wq_record_t **out,
                wq_wb_fielderr_t errs[WQ_WB_MAX_ERRORS], size_t *nerrs);

/*  A short Chinese sentence for an error code, as shown beside a field. */
const char *wq_wb_err_zh(int code);

#endif
