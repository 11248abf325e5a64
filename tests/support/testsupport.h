/*  =========================================================================
    testsupport - helpers for tests that run the real wanqi programs

    Integration tests start real processes (wanqi-collector, wanqi-agent)
    on 127.0.0.1 with ephemeral ports, in a fresh temporary directory, and
    stop them. These helpers keep that plumbing out of the tests.
    Everything here aborts the test (via cmocka's fail_msg) on a setup
    failure: a test whose set-up failed must never pass.

    THE GUARD (the one way tests start processes; see tests/README.md).
    Linking this file into a test program gives it, before main():
      - every child started by ts_spawn / ts_run leads its own process
        group, is registered here, and gets SIGKILL when the test process
        dies, however it dies (PR_SET_PDEATHSIG, set after fork and checked
        against the race with getppid);
      - at exit (a failed cmocka test included) every child still running
        is killed with its process group and reaped, and every temp folder
        of ts_tmpdir not yet removed is removed (WANQI_KEEP_TMP=1 keeps
        them); the same on SIGTERM, SIGINT and SIGHUP, after which the
        test dies of that signal;
      - the test process itself gets SIGTERM when its parent (ctest, a
        shell) dies, even by SIGKILL, so killing ctest also cleans up;
      - a watchdog: WANQI_TEST_TIMEOUT=N (seconds; tests/CMakeLists.txt
        sets it 10 s below ctest's TIMEOUT) ends a test still running
        after N s with the tail of every child's log, kills the children,
        removes the folders and exits 124. It is the safety net; every
        wait must still have its own, shorter deadline;
      - temp folders are /tmp/wanqi-test-PID-XXXXXX: the first ts_tmpdir of
        a test removes those whose owner PID is gone (a test killed by
        SIGKILL cannot clean up itself).
    Deadlines are wall-clock (CLOCK_MONOTONIC), never counts of polls: on
    a loaded machine a poll that runs a program can take seconds.
    =========================================================================
*/
#ifndef WQ_TESTSUPPORT_H_INCLUDED
#define WQ_TESTSUPPORT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*  New temporary directory /tmp/wanqi-test-PID-XXXXXX (malloc'd path).
    Removed by ts_tmpdir_remove, or at exit / on a signal if the test
    failed first, unless WANQI_KEEP_TMP is set in the environment. */
char *ts_tmpdir(void);
void ts_tmpdir_remove(char **path);

/*  Full path of a wanqi program, from $WANQI_BIN_DIR (set by ctest).
    Static buffer per call site: copy if you keep it. */
const char *ts_bin(const char *program);

/*  A free TCP port on 127.0.0.1 (bound and released; small race accepted). */
int ts_free_port(void);

/*  Start argv[0] (a path) with argv, stdout+stderr appended to log_path
    (may be NULL: inherited). extra_env: NULL-terminated "K=V" list added to
    the environment (may be NULL). Returns the pid. The child is guarded
    (see above) and log_path is remembered for ts_print_log_tails. Reap it
    with ts_wait / ts_stop (never waitpid directly: the guard must forget
    a pid once it is reaped, so that a reused pid is never killed). */
pid_t ts_spawn(char *const argv[], const char *log_path, char *const extra_env[]);

/*  Send sig to pid (if > 0). */
void ts_kill(pid_t pid, int sig);

/*  Wait for pid up to timeout_ms (wall clock). Returns the exit status (0..255), 128+sig
    if killed by a signal, or -1 on timeout (process still running). */
int ts_wait(pid_t pid, int timeout_ms);

/*  SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit status as ts_wait. */
int ts_stop(pid_t pid);

/*  Run argv to completion (at most timeout_ms), capturing stdout into a
    malloc'd NUL-terminated *out (may be NULL to discard) and stderr into
    *err_out (may be NULL). stdin from in_path (may be NULL: /dev/null).
    Returns the exit status as ts_wait (-1: timed out and killed). */
int ts_run(char *const argv[], const char *in_path, char **out, char **err_out, int timeout_ms,
           char *const extra_env[]);

/*  printf into a new malloc'd string. */
char *ts_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*  Write text to path (created/truncated). */
void ts_write_file(const char *path, const char *text);
/*  Read a whole file into a malloc'd NUL-terminated string, or NULL. */
char *ts_read_file(const char *path);

/*  Sleep ms milliseconds. */
void ts_sleep_ms(int ms);

/*  Poll: call cond(arg) every 50 ms until true or timeout_ms (wall clock)
    has passed. Returns true if cond became true. On false, fail with
    ts_fail, saying what was awaited and the figures cond saw last. */
bool ts_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms);

/*  Fail the test (cmocka fail_msg) with the message, after printing it
    and the tail of the log of every program ts_spawn started (in folders
    not yet removed). For expired waits: say what was awaited, for how
    long, and the figures seen last. */
void ts_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*  Print the tail of every child's log to stderr. */
void ts_print_log_tails(void);

/*  Kill every guarded child still running, remove every temp folder not
    yet removed (what exit does anyway); for a test's own teardown. */
void ts_cleanup(void);

#endif
