/*  The agent's configuration table: defaults, typed setting with limits,
    cross-key checks, save + load round trip (mode 0600), precise errors
    with the line number, and where the data directory is found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "agent/config.h"
#include "tests/support/testsupport.h"

#define KEY "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

static void
s_fill(wq_agent_config_t *cfg)
{
    wq_err_t err;
    wq_config_defaults(cfg);
    assert_int_equal(wq_config_set(cfg, "agent_id", "130102-01", &err), WQ_OK);
    assert_int_equal(wq_config_set(cfg, "county", "130102", &err), WQ_OK);
    assert_int_equal(wq_config_set(cfg, "collector", "tcp://127.0.0.1:5570", &err), WQ_OK);
    assert_int_equal(wq_config_set(cfg, "collector_key", KEY, &err), WQ_OK);
}

static void
test_defaults_and_set(void **state)
{
    (void) state;
    wq_agent_config_t cfg;
    wq_err_t err;
    wq_config_defaults(&cfg);
    assert_int_equal(cfg.heartbeat_ms, 5000);
    assert_int_equal(cfg.backoff_min_ms, 1000);
    assert_int_equal(cfg.backoff_max_ms, 60000);
    assert_int_equal(cfg.poll_ms, 200);
    assert_int_equal(cfg.outbox_max_queued, 1000000);
    assert_string_equal(cfg.log_level, "info");
    assert_string_equal(cfg.agent_id, "");
    /* Required keys missing. */
    assert_int_equal(wq_config_check(&cfg, &err), WQ_E_CONFIG);
    assert_string_equal(err.field, "agent_id");
    assert_int_equal(wq_config_set(&cfg, "heartbeat_ms", "250", &err), WQ_OK);
    assert_int_equal(cfg.heartbeat_ms, 250);
    assert_int_equal(wq_config_set(&cfg, "heartbeat_ms", "12x", &err), WQ_E_FORMAT);
    assert_int_equal(wq_config_set(&cfg, "heartbeat_ms", "1", &err), WQ_E_RANGE);
    assert_int_equal(wq_config_set(&cfg, "heartbeat_ms", "", &err), WQ_E_FORMAT);
    assert_int_equal(cfg.heartbeat_ms, 250);
    assert_int_equal(wq_config_set(&cfg, "hearbeat_ms", "250", &err), WQ_E_UNKNOWN);
    assert_non_null(strstr(err.text, "heartbeat_ms"));
}

static void
test_check(void **state)
{
    (void) state;
    wq_agent_config_t cfg;
    wq_err_t err;
    s_fill(&cfg);
    assert_int_equal(wq_config_check(&cfg, &err), WQ_OK);
    s_fill(&cfg);
    assert_int_equal(wq_config_set(&cfg, "county", "130100", &err), WQ_OK);  /* a city */
    assert_int_equal(wq_config_check(&cfg, &err), WQ_E_CONFIG);
    assert_string_equal(err.field, "county");
    s_fill(&cfg);
    assert_int_equal(wq_config_set(&cfg, "collector_key", "short", &err), WQ_OK);
    assert_int_equal(wq_config_check(&cfg, &err), WQ_E_CONFIG);
    assert_string_equal(err.field, "collector_key");
    s_fill(&cfg);
    assert_int_equal(wq_config_set(&cfg, "collector", "127.0.0.1:5570", &err), WQ_OK);
    assert_int_equal(wq_config_check(&cfg, &err), WQ_E_CONFIG);
    assert_string_equal(err.field, "collector");
    s_fill(&cfg);
    assert_int_equal(wq_config_set(&cfg, "backoff_min_ms", "70000", &err), WQ_OK);
    assert_int_equal(wq_config_check(&cfg, &err), WQ_E_CONFIG);
    assert_string_equal(err.field, "backoff_min_ms");
    s_fill(&cfg);
    assert_int_equal(wq_config_set(&cfg, "outbox_map_mb", "16", &err), WQ_OK);
    assert_int_equal(wq_config_check(&cfg, &err), WQ_E_CONFIG);
    assert_string_equal(err.field, "outbox_map_mb");
    s_fill(&cfg);
    assert_int_equal(wq_config_set(&cfg, "log_level", "loud", &err), WQ_OK);
    assert_int_equal(wq_config_check(&cfg, &err), WQ_E_CONFIG);
    s_fill(&cfg);
    assert_int_equal(wq_config_set(&cfg, "agent_id", "bad id!", &err), WQ_OK);
    assert_int_equal(wq_config_check(&cfg, &err), WQ_E_CONFIG);
    assert_string_equal(err.field, "agent_id");
}

static void
test_save_load(void **state)
{
    (void) state;
    char *dir = ts_tmpdir();
    wq_agent_config_t cfg, back;
    wq_err_t err;
    s_fill(&cfg);
    assert_int_equal(wq_config_set(&cfg, "poll_ms", "50", &err), WQ_OK);
    assert_int_equal(wq_config_save(dir, &cfg, &err), WQ_OK);
    char *path = ts_strf("%s/agent.conf", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(wq_config_load(dir, &back, &err), WQ_OK);
    assert_memory_equal(&cfg, &back, sizeof cfg);
    /* An unknown key is an error with its line number. */
    ts_write_file(path, "# comment\n\nagent_id = 130102-01\ncolour = red\n");
    assert_int_equal(wq_config_load(dir, &back, &err), WQ_E_CONFIG);
    assert_non_null(strstr(err.text, "line 4"));
    assert_string_equal(err.field, "colour");
    ts_write_file(path, "agent_id 130102-01\n");
    assert_int_equal(wq_config_load(dir, &back, &err), WQ_E_CONFIG);
    assert_non_null(strstr(err.text, "line 1"));
    /* Missing required key after a clean parse. */
    ts_write_file(path, "agent_id = 130102-01\n");
    assert_int_equal(wq_config_load(dir, &back, &err), WQ_E_CONFIG);
    assert_string_equal(err.field, "county");
    free(path);
    char *none = ts_strf("%s/none", dir);
    assert_int_equal(wq_config_load(none, &back, &err), WQ_E_IO);
    assert_non_null(strstr(err.text, "wanqi-agent init"));
    free(none);
    ts_tmpdir_remove(&dir);
}

static void
test_find_dir(void **state)
{
    (void) state;
    setenv(WQ_AGENT_DIR_ENV, "/srv/env-agent", 1);
    assert_string_equal(wq_config_find_dir("/opt/x"), "/opt/x");
    assert_string_equal(wq_config_find_dir(NULL), "/srv/env-agent");
    unsetenv(WQ_AGENT_DIR_ENV);
    assert_string_equal(wq_config_find_dir(NULL), "/var/lib/wanqi-agent");
    setenv(WQ_AGENT_DIR_ENV, "", 1);
    assert_string_equal(wq_config_find_dir(NULL), "/var/lib/wanqi-agent");
    unsetenv(WQ_AGENT_DIR_ENV);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_set),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_find_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
