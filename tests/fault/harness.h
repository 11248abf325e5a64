/*  =========================================================================
    harness - plumbing of the fault suite (issue 6)

    Every fault scenario runs the REAL programs: one `wanqi-collector run`
    (data dir, key pair, peers, store), one or more `wanqi-agent run` in
    their own data dirs, optionally a wq-faultlink between them, and the
    command-line tools (`wanqi-agent import/status/list`, `wanqi-query`,
    `wanqi-collector verify`) to record and to look. The harness starts,
    kills and restarts them, and at the end of a scenario checks the one
    invariant the suite exists for:

        the collector holds EXACTLY the records the agents accepted:
        for every agent and incarnation, the ids in its outbox
        (`wanqi-agent list`) are 1..last contiguous, the collector's mark
        and stored count for that stream (`wanqi-query agents`) equal them,
        every id appears exactly once in the collector's enterprise
        timelines (`wanqi-query enterprise CODE`), and `wanqi-collector
        verify` finds the incremental views equal to a recomputation.

    Every set-up failure ends the test with cmocka's fail_msg: a scenario
    whose set-up failed must never pass. Timeouts are upper bounds for
    "it never happened", never measurements.

    Environment (all optional):
      WANQI_FAULT_LIGHT=1   set by CMake in the sanitizer build: fewer
                            iterations and smaller backlogs;
      WANQI_SOAK_SECONDS=N  soak mode: the random-kill scenarios repeat
                            rounds for N seconds and print their totals;
      WANQI_FAULT_SEED=N    seed of the random kill times (else time-based;
                            the seed is printed so a failure can be rerun);
      WANQI_BACKLOG_RECORDS, WANQI_BACKLOG_BPS: the outage scenario's size
                            and link rate (soak: e.g. 100000 and 1000000).
    =========================================================================
*/
#ifndef WQ_FAULT_HARNESS_H_INCLUDED
#define WQ_FAULT_HARNESS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/faultlink/faultlink_ctl.h"

#define FX_MAX_AGENTS 8

typedef struct {
    char id[33];
    char county[7];
    char *dir;          /* agent data dir */
    char *log;          /* its `run` log (appended across restarts) */
    pid_t pid;          /* running `wanqi-agent run`, or 0 */
    bool via_link;      /* connects through fx->link */
} fx_agent_t;

typedef struct {
    char *tmp;          /* scenario's temporary directory */
    char *cdir;         /* collector data dir */
    char *qdir;         /* query client dir */
    char *clog;         /* collector log (appended across restarts) */
    int ingest_port;
    int query_port;
    char key[41];       /* collector's public key */
    pid_t cpid;         /* running collector, or 0 */
    int cstarts;        /* how many times it was started */
    fl_link_t *link;    /* optional fault link in front of the ingest port */
    fx_agent_t agents[FX_MAX_AGENTS];
    int nagents;
    int64_t t0;         /* fx_init's time, for the scenario's runtime */
} fx_t;

/*  What a final check found. lost: accepted by an agent, not at the
    collector. dup: at the collector more than once, or there but never
    accepted. */
typedef struct {
    long records;       /* records the agents hold (all incarnations) */
    long stored;        /* records the collector holds for them */
    long quarantined;   /* of which quarantined by the collector */
    long lost;
    long dup;
} fx_totals_t;

/* ---- environment ---------------------------------------------------- */

/*  True in the sanitizer build (WANQI_FAULT_LIGHT set). */
bool fx_light(void);
/*  Soak seconds (0 = not soaking). */
long fx_soak_seconds(void);
/*  Seeded once per process (WANQI_FAULT_SEED or time); prints the seed. */
uint32_t fx_rand(void);
/*  Uniform in [lo, hi]. */
int fx_rand_between(int lo, int hi);
/*  Milliseconds on CLOCK_MONOTONIC. */
int64_t fx_now_ms(void);
/*  Integer from the environment, or dflt. */
long fx_env_long(const char *name, long dflt);

/* ---- set-up --------------------------------------------------------- */

/*  New temp dir, `wanqi-collector init` on ephemeral loopback ports with
    conf_extra ("key = value\n" lines, may be NULL) appended to its
    collector.conf, and a query client key pair authorized. The collector
    is NOT started yet (add agents first). map_size may be NULL. */
void fx_init(fx_t *fx, const char *map_size, const char *conf_extra);

/*  Start a wq-faultlink in front of the ingest port (before adding agents
    that use it). args: NULL-terminated extra options, may be NULL. */
void fx_link_start(fx_t *fx, char *const args[]);

/*  `wanqi-agent init` (fast test timings: poll 50 ms, backoff 100..1000 ms,
    heartbeat 1000 ms) plus config (NULL-terminated "KEY=VALUE", may be
    NULL), and `wanqi-collector authorize agent`. A running collector is
    sent SIGHUP and given time to reload. Returns the agent's index. */
int fx_agent_add(fx_t *fx, const char *id, const char *county, bool via_link,
                 char *const config[]);

/*  Start the collector (WANQI_LOG=debug) and wait until it serves. With a
    larger map: map_size not NULL overrides collector.conf's. */
void fx_collector_start(fx_t *fx, const char *map_size);
/*  SIGKILL the collector and reap it. */
void fx_collector_kill(fx_t *fx);
/*  SIGTERM; asserts a clean exit 0. */
void fx_collector_stop(fx_t *fx);

/*  Start / SIGKILL / SIGTERM (asserting exit 0) one agent's `run`. */
void fx_agent_start(fx_t *fx, int i);
void fx_agent_kill(fx_t *fx, int i);
void fx_agent_stop(fx_t *fx, int i);

/*  Forget a tracked process the test reaped itself (e.g. an agent's `run`
    that exited on its own and was waited for with ts_wait). */
void fx_untrack(pid_t pid);

/*  Stop everything still running (link, agents, collector: SIGTERM, all
    must exit 0), print the scenario's runtime, remove the temp dir
    (unless WANQI_KEEP_TMP), free. */
void fx_teardown(fx_t *fx);

/* ---- records -------------------------------------------------------- */

/*  `wanqi-agent generate` into path (stats into stats_path if not NULL).
    Returns the number of lines. */
long fx_generate(fx_t *fx, const char *county, int enterprises, int seed, const char *path,
                 const char *stats_path);

/*  Keep only the lines of in that reference no other line ("@N"), so that
    any slice of them imports on its own. Returns the number kept. */
long fx_standalone_lines(const char *in, const char *out);

/*  Write lines [from, from+n) of in (0-based) to out. Returns how many. */
long fx_slice_lines(const char *in, long from, long n, const char *out);

/*  `wanqi-agent import path` to completion. Returns its exit status; *out
    (may be NULL) gets its stdout ("LINE<TAB>ID" lines). */
int fx_import(fx_t *fx, int i, const char *path, char **out, char **err);

/*  Value of "key":NUMBER in the agent's `status --format json`; -1 if
    null. Fails the test if status fails or the key is missing. */
long long fx_status_num(fx_t *fx, int i, const char *key);
/*  The agent's current incarnation (8 hex digits) into inc[9]. */
void fx_status_inc(fx_t *fx, int i, char inc[9]);

/* ---- the collector's side ------------------------------------------- */

/*  Run wanqi-query with the given arguments (NULL-terminated, after the
    connection options); returns its exit status and stdout in *out. */
int fx_query(fx_t *fx, char **out, char *const args[]);

/*  The collector's "hwm" / "stored" / "quarantined" for (agent id, inc)
    from `wanqi-query agents --format json`; -1 if the stream is unknown. */
long long fx_collector_stream(fx_t *fx, const char *agent, const char *inc, const char *col);

/*  Wait (up to timeout_ms, an upper bound) until every agent's current
    incarnation is fully acknowledged: status acknowledged == last_seq and
    the collector's mark == last_seq. Fails the test on timeout. */
void fx_wait_drained(fx_t *fx, int timeout_ms);

/*  `wanqi-collector verify`: its exit status (0 = views equal). */
int fx_verify(fx_t *fx);

/*  The exactness check described at the top. per_id: also compare the ids
    one by one through the enterprise timelines (costs one query per
    enterprise). expect_quarantined: how many records the collector should
    have quarantined in total (seqs missing from `list`, i.e. damaged or
    lost in the outbox, must be among them). Asserts every equality (and verify == 0);
    fills *t (may be NULL) for reporting. */
void fx_check_exact(fx_t *fx, bool per_id, long expect_quarantined, fx_totals_t *t);

/*  Sum of "N duplicates" over the collector's debug batch log lines. */
long fx_collector_duplicates(fx_t *fx);

/*  VmHWM (peak resident set) of pid in KiB from /proc/PID/status, or -1. */
long fx_vmhwm_kb(pid_t pid);

/*  Any "Field:   N kB" line of /proc/PID/status (e.g. "RssAnon"), or -1. */
long fx_proc_status_kb(pid_t pid, const char *field);

/*  Count occurrences of needle in the file at path (0 if unreadable). */
long fx_count_in_file(const char *path, const char *needle);

#endif
