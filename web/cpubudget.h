/*  =========================================================================
    cpubudget - a ceiling on the CPU time a whole process uses, as a share
    of one core, kept by making request threads wait

    Why: on the collector host the dashboard shares the machine with
    ingest. SCHED_IDLE keeps it off a core ingest wants, but not off the
    caches, the memory bus and the disk's completions: measured on 2 cores
    (docs/DASHBOARD.md), every core-second the pages take costs durable
    ingest about 12-17 % of its rate, whatever their priority. A budget
    bounds that cost: under any load the process averages at most `percent`
    of one core; past it, requests wait (pages get slower), ingest does not.

    It is a token bucket over the process's CPU clock (all threads): the
    budget fills at percent/100 CPU-seconds per wall second up to `burst_s`
    CPU-seconds, so a person's page after a quiet minute never waits; what
    requests spend is taken from it after the fact, and a request that
    finds it in debt sleeps until the debt is paid.
    =========================================================================
*/
#ifndef WQ_WEB_CPUBUDGET_H
#define WQ_WEB_CPUBUDGET_H

#include <stdbool.h>

typedef struct wq_cpubudget_t wq_cpubudget_t;

#define WQ_CPUBUDGET_MAX_PERCENT 6400   /* 64 cores */

/*  New budget of percent (1..WQ_CPUBUDGET_MAX_PERCENT) of one core, with a burst of burst_s
    CPU-seconds (> 0). NULL on bad arguments or out of memory. The caller
    owns it: wq_cpubudget_destroy. */
wq_cpubudget_t *wq_cpubudget_new(unsigned percent, double burst_s);

/*  Destroy *self_p (if any) and set it to NULL. No thread may be in
    wq_cpubudget_wait. */
void wq_cpubudget_destroy(wq_cpubudget_t **self_p);

/*  Called by a request thread before it does the request's work: returns
    at once while the process is within its budget, else sleeps until it
    is (re-checking every 0.2 s at most). Returns the wall seconds it
    waited (0 when it did not).
    Thread-safe. */
double wq_cpubudget_wait(wq_cpubudget_t *self);

/*  Shutting down: every wq_cpubudget_wait returns within 0.2 s and later
    ones at once, so that the server's threads can be joined. */
void wq_cpubudget_release(wq_cpubudget_t *self);

/*  Wall seconds the callers of wq_cpubudget_wait have waited, in all.
    Thread-safe. */
double wq_cpubudget_waited(wq_cpubudget_t *self);

/*  CPU-seconds left in the budget now (negative: in debt). For tests and
    metrics. Thread-safe. */
double wq_cpubudget_balance(wq_cpubudget_t *self);

#endif
