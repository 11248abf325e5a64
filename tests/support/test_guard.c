/*  =========================================================================
    test_guard - the process guard of testsupport (testsupport.h) does what
    it says: whatever kills a test, its children die and its temp folders go.

    The "test" under scrutiny is this same program started in a helper
    mode (argv[1] = "--helper"): it makes a temp folder, starts `sleep 600`
    with its log in that folder, writes "ready CHILD_PID DIR" to its own
    log and waits. The cases then kill it in each way a test dies:
      - SIGTERM (ctest, a person): the handler kills the child, removes the
        folder, and the helper dies of SIGTERM;
      - SIGKILL (ctest's timeout): nothing runs in the helper, but the child
        gets SIGKILL from PR_SET_PDEATHSIG, and the next ts_tmpdir of any
        test removes the folder (its owner is gone);
      - its parent killed with SIGKILL (ctest killed): the helper gets
        SIGTERM from its own PR_SET_PDEATHSIG and cleans up (--middle mode
        is that parent);
      - the watchdog (WANQI_TEST_TIMEOUT=3): the helper prints the child's
        log tail, cleans up and exits 124.
    =========================================================================
*/
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "tests/support/testsupport.h"

#define WAIT_MS 30000

static char s_self[1024];

/*  Helper mode: the test being killed. */
__attribute__((noreturn)) static void s_helper(void)
{
    char *dir = ts_tmpdir();
    char *log = ts_strf("%s/sleep.log", dir);
    ts_write_file(log, "sleep: started by the guard test\n");
    char *argv[] = {"/bin/sleep", "600", NULL};
    pid_t child = ts_spawn(argv, log, NULL);
    printf("ready %d %s\n", (int) child, dir);
    fflush(stdout);
    for (;;)
        pause();
}

/*  Middle mode: a parent (like ctest) of a helper; it is the one killed. */
__attribute__((noreturn)) static void s_middle(const char *helper_log)
{
    char *argv[] = {s_self, "--helper", NULL};
    pid_t helper = ts_spawn(argv, helper_log, NULL);
    printf("helper %d\n", (int) helper);
    fflush(stdout);
    for (;;)
        pause();
}

typedef struct {
    const char *log;
    pid_t child;
    char dir[512];
} s_ready_t;

static bool s_is_ready(void *arg)
{
    s_ready_t *r = arg;
    char *text = ts_read_file(r->log);
    const char *p = text ? strstr(text, "ready ") : NULL;
    int pid = 0;
    bool ok = p && sscanf(p, "ready %d %511s", &pid, r->dir) == 2;
    r->child = pid;
    free(text);
    return ok;
}

/*  Gone: no such process, or a zombie nobody reaped yet (dead all the same). */
static bool s_gone(void *arg)
{
    pid_t pid = *(pid_t *) arg;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return true;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    char *stat = ts_read_file(path);
    const char *close = stat ? strrchr(stat, ')') : NULL;
    bool zombie = !stat || (close && close[1] == ' ' && (close[2] == 'Z' || close[2] == 'X'));
    free(stat);
    return zombie;
}

static bool s_dir_gone(void *arg)
{
    struct stat st;
    return stat((const char *) arg, &st) != 0 && errno == ENOENT;
}

/*  Start a helper (logging to dir/helper.log) and wait for "ready". */
static pid_t s_start_helper(const char *dir, s_ready_t *r, char *const env[])
{
    char *log = ts_strf("%s/helper.log", dir);
    char *argv[] = {s_self, "--helper", NULL};
    pid_t helper = ts_spawn(argv, log, env);
    r->log = log;
    if (!ts_wait_until(s_is_ready, r, WAIT_MS))
        ts_fail("the helper did not report ready within %d s (log %s)", WAIT_MS / 1000, log);
    return helper;
}

static void s_expect_clean(s_ready_t *r)
{
    if (!ts_wait_until(s_gone, &r->child, WAIT_MS))
        ts_fail("the helper's child %d still runs %d s after the helper died", (int) r->child,
                WAIT_MS / 1000);
    if (!ts_wait_until(s_dir_gone, r->dir, WAIT_MS))
        ts_fail("the helper's folder %s still exists %d s after it died", r->dir, WAIT_MS / 1000);
}

static void test_sigterm(void **state)
{
    (void) state;
    char *dir = ts_tmpdir();
    s_ready_t r = {0};
    pid_t helper = s_start_helper(dir, &r, NULL);
    ts_kill(helper, SIGTERM);
    assert_int_equal(ts_wait(helper, WAIT_MS), 128 + SIGTERM);
    s_expect_clean(&r);
    free((char *) r.log);
    ts_tmpdir_remove(&dir);
}

static void test_sigkill(void **state)
{
    (void) state;
    char *dir = ts_tmpdir();
    s_ready_t r = {0};
    pid_t helper = s_start_helper(dir, &r, NULL);
    ts_kill(helper, SIGKILL);
    assert_int_equal(ts_wait(helper, WAIT_MS), 128 + SIGKILL);
    if (!ts_wait_until(s_gone, &r.child, WAIT_MS))
        ts_fail("the child %d of a SIGKILLed helper still runs after %d s (PR_SET_PDEATHSIG)",
                (int) r.child, WAIT_MS / 1000);
    /* Its folder stays until some test makes a new one: this program has
       swept once already, so sweep through a new helper process. */
    s_ready_t r2 = {0};
    pid_t helper2 = s_start_helper(dir, &r2, NULL);
    if (!ts_wait_until(s_dir_gone, r.dir, WAIT_MS))
        ts_fail("the folder %s of a SIGKILLed helper was not swept", r.dir);
    ts_kill(helper2, SIGTERM);
    assert_int_equal(ts_wait(helper2, WAIT_MS), 128 + SIGTERM);
    s_expect_clean(&r2);
    free((char *) r.log);
    free((char *) r2.log);
    ts_tmpdir_remove(&dir);
}

static void test_parent_killed(void **state)
{
    (void) state;
    char *dir = ts_tmpdir();
    char *mlog = ts_strf("%s/middle.log", dir);
    s_ready_t r = {0};
    r.log = ts_strf("%s/helper.log", dir);
    char *argv[] = {s_self, "--middle", (char *) r.log, NULL};
    pid_t middle = ts_spawn(argv, mlog, NULL);
    if (!ts_wait_until(s_is_ready, &r, WAIT_MS))
        ts_fail("the helper did not report ready within %d s (log %s)", WAIT_MS / 1000, r.log);
    char *text = ts_read_file(mlog);
    int helper = 0;
    assert_non_null(text);
    assert_int_equal(sscanf(text, "helper %d", &helper), 1);
    free(text);
    ts_kill(middle, SIGKILL);   /* as `kill -9` of ctest */
    assert_int_equal(ts_wait(middle, WAIT_MS), 128 + SIGKILL);
    pid_t h = helper;
    if (!ts_wait_until(s_gone, &h, WAIT_MS))
        ts_fail("the helper %d still runs %d s after its parent was killed", helper,
                WAIT_MS / 1000);
    s_expect_clean(&r);
    free(mlog);
    free((char *) r.log);
    ts_tmpdir_remove(&dir);
}

static void test_watchdog(void **state)
{
    (void) state;
    char *dir = ts_tmpdir();
    char *log = ts_strf("%s/helper.log", dir);
    char *argv[] = {s_self, "--helper", NULL};
    char *env[] = {"WANQI_TEST_TIMEOUT=3", NULL};
    pid_t helper = ts_spawn(argv, log, env);
    assert_int_equal(ts_wait(helper, WAIT_MS), 124);
    char *text = ts_read_file(log);
    assert_non_null(text);
    assert_non_null(strstr(text, "WATCHDOG"));
    /* On a very loaded machine the watchdog may fire before the helper
       started its child; when it had, the child and folder are gone and
       the child's log tail was printed. */
    s_ready_t r = {log, 0, ""};
    if (s_is_ready(&r)) {
        s_expect_clean(&r);
        assert_non_null(strstr(text, "sleep: started by the guard test"));
    }
    free(text);
    free(log);
    ts_tmpdir_remove(&dir);
}

int main(int argc, char **argv)
{
    if (!realpath("/proc/self/exe", s_self))
        return 1;
    if (argc > 1 && strcmp(argv[1], "--helper") == 0)
        s_helper();
    if (argc > 2 && strcmp(argv[1], "--middle") == 0)
        s_middle(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigterm),
        cmocka_unit_test(test_sigkill),
        cmocka_unit_test(test_parent_killed),
        cmocka_unit_test(test_watchdog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
