/*  Logging (common/log.c): line format, levels, WANQI_LOG, one line per
    call. stderr is redirected to a file for the duration of each test. */
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"
#include "tests/support/testsupport.h"

typedef struct {
    char *dir;
    char *path;
    int saved;
} s_capture_t;

static void
s_begin(s_capture_t *c)
{
    c->dir = ts_tmpdir();
    c->path = ts_strf("%s/stderr.log", c->dir);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
}

/*  Restore stderr and return what was written (caller frees). */
static char *
s_end(s_capture_t *c)
{
    fflush(stderr);
    assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
    close(c->saved);
    char *text = ts_read_file(c->path);
    assert_non_null(text);
    free(c->path);
    ts_tmpdir_remove(&c->dir);
    return text;
}

static size_t
s_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void
test_format_and_levels(void **state)
{
    (void) state;
    unsetenv("WANQI_LOG");
    s_capture_t c;
    s_begin(&c);
    wq_log_init("/usr/bin/wanqi-agent", WQ_LOG_INFO);
    wq_debug("hidden %d", 1);
    wq_info("outbox opened: %d records", 17);
    wq_warn("县 %s", "邢台县");
    wq_error("multi\nline\n");
    char *out = s_end(&c);
    assert_int_equal(s_lines(out), 3);
    assert_null(strstr(out, "hidden"));
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} "
                             "wanqi-agent\\[[0-9]+\\] I: outbox opened: 17 records\n"
                             "[0-9-]{10} [0-9:]{8}\\.[0-9]{3} wanqi-agent\\[[0-9]+\\] W: 县 邢台县\n"
                             "[0-9-]{10} [0-9:]{8}\\.[0-9]{3} wanqi-agent\\[[0-9]+\\] E: multi line\n$",
                             REG_EXTENDED),
                     0);
    if (regexec(&re, out, 0, NULL, 0) != 0)
        fail_msg("unexpected log output:\n%s", out);
    regfree(&re);
    char pid[32];
    snprintf(pid, sizeof pid, "[%ld]", (long) getpid());
    assert_non_null(strstr(out, pid));
    free(out);

    s_begin(&c);
    wq_log_init("wanqi-collector", WQ_LOG_ERROR);
    wq_info("no");
    wq_warn("no");
    wq_error("yes");
    out = s_end(&c);
    assert_int_equal(s_lines(out), 1);
    assert_non_null(strstr(out, "wanqi-collector["));
    assert_non_null(strstr(out, "] E: yes\n"));
    free(out);
}

static void
test_env_override(void **state)
{
    (void) state;
    s_capture_t c;
    setenv("WANQI_LOG", "debug", 1);
    s_begin(&c);
    wq_log_init("t", WQ_LOG_ERROR);
    wq_debug("dbg");
    wq_info("inf");
    char *out = s_end(&c);
    assert_int_equal(s_lines(out), 2);
    assert_non_null(strstr(out, "] D: dbg\n"));
    free(out);

    setenv("WANQI_LOG", "warn", 1);
    s_begin(&c);
    wq_log_init("t", WQ_LOG_DEBUG);
    wq_info("inf");
    wq_warn("wrn");
    out = s_end(&c);
    assert_int_equal(s_lines(out), 1);
    assert_non_null(strstr(out, "] W: wrn\n"));
    free(out);

    /* An unknown value leaves the program's threshold. */
    setenv("WANQI_LOG", "loud", 1);
    s_begin(&c);
    wq_log_init("t", WQ_LOG_INFO);
    wq_debug("dbg");
    wq_info("inf");
    out = s_end(&c);
    assert_int_equal(s_lines(out), 1);
    free(out);
    unsetenv("WANQI_LOG");
}

static void
test_long_line(void **state)
{
    (void) state;
    s_capture_t c;
    unsetenv("WANQI_LOG");
    s_begin(&c);
    wq_log_init("t", WQ_LOG_INFO);
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    wq_info("%s", big);
    wq_info("after");
    char *out = s_end(&c);
    /* Cut, but still one line each. */
    assert_int_equal(s_lines(out), 2);
    assert_true(strlen(out) < 2100 + 64);
    assert_non_null(strstr(out, "] I: after\n"));
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_levels),
        cmocka_unit_test(test_env_override),
        cmocka_unit_test(test_long_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
