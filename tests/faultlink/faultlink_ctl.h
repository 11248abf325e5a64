/*  =========================================================================
    faultlink_ctl - start wq-faultlink from a test and steer it

    The fault suite puts wq-faultlink (see README.md here) between agents and
    the collector. These helpers start it through ts_spawn on ephemeral
    loopback ports, wait until it listens, send it control commands and read
    its counters. Like testsupport, every set-up failure ends the test with
    cmocka's fail_msg: a test whose link did not come up must never pass.

    Typical use:
        fl_link_t *link = fl_start(dir, collector_port, NULL);
        ... point the agent at 127.0.0.1:link->port ...
        fl_ok(link, "drop-down %g", 0.2);       // lose a fifth of the acks
        fl_ok(link, "cut on");                  // link down
        long long resets = fl_stat(link, "resets");
        assert_int_equal(fl_stop(&link), 0);
    =========================================================================
*/
#ifndef WQ_FAULTLINK_CTL_H_INCLUDED
#define WQ_FAULTLINK_CTL_H_INCLUDED

#include <sys/types.h>

typedef struct {
    pid_t pid;          /* the wq-faultlink process */
    int port;           /* where clients connect: 127.0.0.1:port */
    int control_port;   /* control channel: 127.0.0.1:control_port */
    int target_port;    /* where it forwards to */
    char *log_path;     /* its stderr (malloc'd): dir/faultlink-<port>.log */
} fl_link_t;

/*  Start wq-faultlink (found via ts_bin, i.e. $WANQI_BIN_DIR) listening on
    an ephemeral port of 127.0.0.1 and forwarding to 127.0.0.1:target_port.
    dir: an existing directory for its ready file and log. extra_args: a
    NULL-terminated list of further options, e.g. {"--latency", "50", NULL}
    (may be NULL). Waits (up to 10 s) until it listens. Returns a new link
    owned by the caller (fl_stop frees it). Fails the test if it does not
    start. */
fl_link_t *fl_start(const char *dir, int target_port, char *const extra_args[]);

/*  Stop the link (SIGTERM, then SIGKILL after 10 s), free it and set *link
    to NULL. Returns its exit status as ts_wait (0: clean exit). Safe on
    NULL / *link NULL (returns -1). */
int fl_stop(fl_link_t **link);

/*  Send one command line (printf-style, no newline) on a fresh control
    connection and return the reply line without its newline (malloc'd,
    caller frees). The reply starts with "ok" or "error: ". Fails the test
    if the control port cannot be reached or does not answer in 10 s. */
char *fl_cmd(fl_link_t *link, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*  As fl_cmd, but fails the test unless the reply starts with "ok". */
void fl_ok(fl_link_t *link, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*  One counter of the "stats" reply, e.g. "resets", "conns", "up_sent",
    "down_buffered" (see README.md). Fails the test if there is no such
    counter. */
long long fl_stat(fl_link_t *link, const char *name);

/*  The value of key in a "k=v k=v" reply line (e.g. one from fl_cmd(link,
    "stats")), or -1 if absent. */
long long fl_reply_value(const char *reply, const char *key);

#endif
