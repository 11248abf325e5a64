/*  =========================================================================
    testsupport - helpers for tests that run the real wanqi programs

    Integration tests start real processes (wanqi-collector, wanqi-agent)
    on 127.0.0.1 with ephemeral ports, in a fresh temporary directory, and
    stop them. These helpers keep that plumbing out of the tests.
    Everything here aborts the test (via cmocka's fail_msg) on a setup
    failure: a test whose set-up failed must never pass.
    =========================================================================
*/
#ifndef WQ_TESTSUPPORT_H_INCLUDED
#define WQ_TESTSUPPORT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*  New temporary directory /tmp/wanqi-test-XXXXXX (malloc'd path). Removed
    by ts_tmpdir_remove unless WANQI_KEEP_TMP is set in the environment. */
char *ts_tmpdir(void);
void ts_tmpdir_remove(char **path);

/*  Full path of a wanqi program, from $WANQI_BIN_DIR (set by ctest).
    Static buffer per call site: copy if you keep it. */
const char *ts_bin(const char *program);

/*  A free TCP port on 127.0.0.1 (bound and released; small race accepted). */
int ts_free_port(void);

/*  Start argv[0] (a path) with argv, stdout+stderr appended to log_path
    (may be NULL: inherited). extra_env: NULL-terminated "K=V" list added to
    the environment (may be NULL). Returns the pid. */
pid_t ts_spawn(char *const argv[], const char *log_path, char *const extra_env[]);

/*  Send sig to pid (if > 0). */
void ts_kill(pid_t pid, int sig);

/*  Wait for pid up to timeout_ms. Returns the exit status (0..255), 128+sig
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

/*  Poll: call cond(arg) every 50 ms until true or timeout_ms passes.
    Returns true if cond became true. */
bool ts_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms);

#endif
