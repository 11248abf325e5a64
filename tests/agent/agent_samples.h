/*  agent_samples - small helpers shared by the agent tests (header only:
    every tests/agent/test_*.c is its own program). */
#ifndef WQ_AGENT_SAMPLES_H_INCLUDED
#define WQ_AGENT_SAMPLES_H_INCLUDED

#include <stdio.h>
#include <stdlib.h>
#include "agent/outbox.h"
#include "common/record.h"

#define AS_AGENT "130102-01"
#define AS_COUNTY "130102"
#define AS_ENT "91130102MA0000001Y"     /* valid check character */
#define AS_ENT2 "91130102MA00000022"

/*  A valid enterprise record (content only: the outbox sets the identity). */
static inline wq_record_t *
as_enterprise(const char *name)
{
    wq_err_t err;
    wq_record_t *r = wq_record_new(WQ_REC_ENTERPRISE);
    if (!r)
        abort();
    if (wq_record_set_text(r, "date", "2019-05-10", &err) || wq_record_set_text(r, "county", AS_COUNTY, &err) ||
        wq_record_set_text(r, "ent", AS_ENT, &err) || wq_record_set_text(r, "name", name, &err) ||
        wq_record_set_text(r, "industry", "C2614", &err)) {
        fprintf(stderr, "as_enterprise: %s: %s\n", err.field, err.text);
        abort();
    }
    return r;
}

static inline wq_outbox_t *
as_open(const char *dir, uint64_t max_queued, uint64_t max_bytes)
{
    wq_outbox_limits_t lim = {max_queued, max_bytes, 64u << 20};
    wq_outbox_t *box = NULL;
    wq_err_t err;
    if (wq_outbox_open(dir, &lim, &box, &err) != WQ_OK) {
        fprintf(stderr, "as_open %s: %s\n", dir, err.text);
        abort();
    }
    return box;
}

#endif
