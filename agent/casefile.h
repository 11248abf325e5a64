/*  =========================================================================
    casefile - `wanqi-agent show` and `wanqi-agent list`, from local data

    The outbox keeps every record (acknowledged ones are the county's
    archive), so an enterprise's case file (一企一册) can be printed with the
    link down. Both commands walk the outbox with one cursor; memory holds
    only the matching records (for `show`, plus the corrections and
    retractions met on the way, until it knows which are aimed at the
    enterprise).
    =========================================================================
*/
#ifndef WQ_AGENT_CASEFILE_H_INCLUDED
#define WQ_AGENT_CASEFILE_H_INCLUDED

#include <stdio.h>
#include "agent/outbox.h"
#include "common/error.h"
#include "common/record.h"
#include "common/table.h"

/*  Print the case file of enterprise ent (credit code) to out: profile
    (latest enterprise record), classification history, visits, problems
    each with its plans and progress, services, consultations each with its
    answers, then corrections and retractions; each section in (date, id)
    order; retracted events marked, corrections also listed under the event
    they correct with the values they set. Undecodable records are reported on
    stderr and skipped. Errors: WQ_E_NOTFOUND (no record of ent), outbox
    errors. */
int wq_casefile_show(wq_outbox_t *box, const char *ent, FILE *out, wq_err_t *err);

typedef struct {
    wq_rec_type_t type;     /* WQ_REC_NONE: any */
    const char *from;       /* activity date >= from, NULL: no bound */
    const char *to;         /* activity date <= to, NULL: no bound */
    const char *ent;        /* credit code, NULL: any */
} wq_list_filter_t;

/*  List matching records as a table (id, type, date, ent, state, summary)
    in key order. state: "acked" or "queued" for the current incarnation,
    "archive" for older ones. */
int wq_casefile_list(wq_outbox_t *box, const wq_list_filter_t *filter, wq_format_t format,
                     FILE *out, wq_err_t *err);

#endif
