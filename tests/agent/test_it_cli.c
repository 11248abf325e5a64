/*  Integration: the wanqi-agent command line, run as a real program in a
    temporary directory: init (permissions, refusal to overwrite, a new
    incarnation), record (defaults, precise errors, exit codes), import,
    the outbox bound, list, show, status, --help everywhere, and the data
    directory from $WANQI_AGENT_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/agent/agent_samples.h"
#include "tests/support/testsupport.h"

#define KEY "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

typedef struct {
    char *tmp, *dir;
    char *out, *err;
} ctx_t;

/*  Run wanqi-agent with args (NULL-terminated) and --dir; returns the exit
    status, output in c->out / c->err. */
static int
s_agent(ctx_t *c, const char *first, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *) ts_bin("wanqi-agent");
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 60; a = va_arg(ap, const char *))
        argv[n++] = (char *) a;
    va_end(ap);
    argv[n++] = "--dir";
    argv[n++] = c->dir;
    argv[n] = NULL;
    free(c->out);
    free(c->err);
    c->out = c->err = NULL;
    return ts_run(argv, NULL, &c->out, &c->err, 20000, NULL);
}

static int
s_setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    c->tmp = ts_tmpdir();
    c->dir = ts_strf("%s/agent", c->tmp);
    *state = c;
    return 0;
}

static int
s_teardown(void **state)
{
    ctx_t *c = *state;
    ts_tmpdir_remove(&c->tmp);
    free(c->dir);
    free(c->out);
    free(c->err);
    free(c);
    return 0;
}

static void
s_init(ctx_t *c, const char *extra)
{
    int rc = extra ? s_agent(c, "init", "--agent-id", AS_AGENT, "--county", AS_COUNTY, "--collector",
                             "tcp://127.0.0.1:5570", "--collector-key", KEY, "--config", extra, NULL)
                   : s_agent(c, "init", "--agent-id", AS_AGENT, "--county", AS_COUNTY, "--collector",
                             "tcp://127.0.0.1:5570", "--collector-key", KEY, NULL);
    if (rc != 0)
        fail_msg("init: %d %s", rc, c->err);
}

static void
test_it_init(void **state)
{
    ctx_t *c = *state;
    s_init(c, NULL);
    assert_non_null(strstr(c->out, "incarnation: "));
    assert_non_null(strstr(c->out, "public key: "));
    struct stat st;
    assert_int_equal(stat(c->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char *secret = ts_strf("%s/agent.cert_secret", c->dir);
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(secret);
    char *conf = ts_strf("%s/agent.conf", c->dir);
    char *before = ts_read_file(conf);
    /* A second init refuses and changes nothing. */
    assert_int_equal(s_agent(c, "init", "--agent-id", "other", "--county", AS_COUNTY, "--collector",
                             "tcp://127.0.0.1:5570", "--collector-key", KEY, NULL), 1);
    assert_non_null(strstr(c->err, "already exists"));
    char *after = ts_read_file(conf);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(conf);
    /* Record one, then a new incarnation: seqs start again at 1. */
    assert_int_equal(s_agent(c, "record", "enterprise", "--ent", AS_ENT, "--name", "恒泰", "--industry",
                             "C", NULL), 0);
    char first_id[80];
    snprintf(first_id, sizeof first_id, "%s", c->out);
    assert_non_null(strstr(first_id, AS_AGENT "/"));
    assert_non_null(strstr(first_id, "/1\n"));
    /* One record was never acknowledged: abandoning it needs its number. */
    assert_int_not_equal(s_agent(c, "init", "--force-new-incarnation", NULL), 0);
    assert_non_null(strstr(c->err, "--abandon-backlog 1"));
    assert_int_not_equal(s_agent(c, "init", "--force-new-incarnation", "--abandon-backlog", "2", NULL), 0);
    assert_int_equal(s_agent(c, "init", "--force-new-incarnation", "--abandon-backlog", "1", NULL), 0);
    assert_non_null(strstr(c->err, "1 records of incarnation"));
    /* generate --stats never overwrites the outbox (issue 10, finding 8). */
    char *mdb = ts_strf("%s/outbox/data.mdb", c->dir);
    struct stat mdb_before, mdb_after;
    assert_int_equal(stat(mdb, &mdb_before), 0);
    char *gen[] = {(char *) ts_bin("wanqi-agent"), "generate", "--county", AS_COUNTY,
                   "--enterprises", "1", "--stats", mdb, NULL};
    char *gout = NULL, *gerr = NULL;
    assert_int_not_equal(ts_run(gen, NULL, &gout, &gerr, 20000, NULL), 0);
    assert_non_null(strstr(gerr, "refusing"));
    assert_int_equal(stat(mdb, &mdb_after), 0);
    assert_int_equal(mdb_before.st_size, mdb_after.st_size);
    assert_int_equal(mdb_before.st_mtime, mdb_after.st_mtime);
    free(gout);
    free(gerr);
    free(mdb);
    assert_int_equal(s_agent(c, "record", "enterprise", "--ent", AS_ENT, "--name", "恒泰二", "--industry",
                             "C", NULL), 0);
    assert_non_null(strstr(c->out, "/1\n"));
    assert_string_not_equal(c->out, first_id);
    assert_int_equal(s_agent(c, "list", "--format", "csv", NULL), 0);
    assert_non_null(strstr(c->out, ",archive,"));
    assert_non_null(strstr(c->out, ",queued,"));
}

static void
test_it_init_bad_input(void **state)
{
    ctx_t *c = *state;
    assert_int_equal(s_agent(c, "init", "--agent-id", AS_AGENT, "--county", "130100", "--collector",
                             "tcp://127.0.0.1:5570", "--collector-key", KEY, NULL), 2);
    assert_non_null(strstr(c->err, "county"));
    assert_int_equal(s_agent(c, "init", "--agent-id", AS_AGENT, "--county", AS_COUNTY, "--collector",
                             "tcp://127.0.0.1:5570", "--collector-key", "nokey", NULL), 2);
    assert_non_null(strstr(c->err, "collector-key"));
    assert_int_equal(s_agent(c, "init", "--agent-id", AS_AGENT, NULL), 2);
    assert_int_equal(s_agent(c, "init", "--bogus", "x", NULL), 2);
    struct stat st;
    char *conf = ts_strf("%s/agent.conf", c->dir);
    assert_int_not_equal(stat(conf, &st), 0);
    free(conf);
    /* Commands on a directory without an agent say to run init. */
    assert_int_equal(s_agent(c, "status", NULL), 1);
    assert_non_null(strstr(c->err, "wanqi-agent init"));
}

static void
test_it_record(void **state)
{
    ctx_t *c = *state;
    s_init(c, NULL);
    assert_int_equal(s_agent(c, "record", "visit", "--ent", AS_ENT, "--cadres", "张三", "--cadres",
                             "李四", "--method", "symposium", "--date", "2019-06-01", NULL), 0);
    char visit[80];
    snprintf(visit, sizeof visit, "%s", c->out);
    visit[strcspn(visit, "\n")] = '\0';
    assert_int_equal(s_agent(c, "record", "problem", "--ent", AS_ENT, "--category", "water",
                             "--severity", "minor", "--description", "污水", "--visit", visit, NULL), 0);
    assert_int_equal(s_agent(c, "record", "problem", "--ent", AS_ENT, "--category", "lava",
                             "--severity", "minor", "--description", "x", NULL), 2);
    assert_non_null(strstr(c->err, "category"));
    assert_int_equal(s_agent(c, "record", "meeting", "--ent", AS_ENT, NULL), 2);
    assert_non_null(strstr(c->err, "unknown record type"));
    assert_int_equal(s_agent(c, "record", "visit", "--ent", AS_ENT, "--method", "symposium", NULL), 2);
    assert_non_null(strstr(c->err, "cadres"));
    assert_int_equal(s_agent(c, "record", "visit", "--ent", AS_ENT, "--cadres", "a", "--method",
                             "symposium", "--county", "130104", NULL), 2);
    assert_non_null(strstr(c->err, "E_FOREIGN"));
    assert_int_equal(s_agent(c, "record", "visit", "--ent", NULL), 2);
    assert_int_equal(s_agent(c, "list", "--type", "problem", "--format", "csv", NULL), 0);
    size_t rows = 0;
    for (char *p = c->out; *p; p++)
        rows += *p == '\n';
    assert_int_equal(rows, 2);
    assert_int_equal(s_agent(c, "list", "--from", "2019-06-02", "--to", "2019-06-01", "--format",
                             "csv", NULL), 0);
    rows = 0;
    for (char *p = c->out; *p; p++)
        rows += *p == '\n';
    assert_int_equal(rows, 1);
    assert_int_equal(s_agent(c, "list", "--from", "2019-02-30", NULL), 2);
    assert_int_equal(s_agent(c, "show", AS_ENT, NULL), 0);
    assert_non_null(strstr(c->out, "Visits\n"));
    assert_non_null(strstr(c->out, "symposium by 张三, 李四"));
    assert_non_null(strstr(c->out, "water, minor: 污水"));
    /* A correction is applied (as the province's case file does) and shown
       under its target; a retracted event leaves the sections. */
    assert_int_equal(s_agent(c, "record", "correction", "--target", visit, "--set.findings", "补记",
                             "--of", "visit", "--reason", "漏记", NULL), 0);
    char problem[80];
    assert_int_equal(s_agent(c, "list", "--type", "problem", "--format", "csv", NULL), 0);
    const char *pl = strstr(c->out, AS_AGENT "/");
    assert_non_null(pl);
    snprintf(problem, sizeof problem, "%.*s", (int) strcspn(pl, ","), pl);
    assert_int_equal(s_agent(c, "record", "retraction", "--target", problem, "--reason", "重复",
                             NULL), 0);
    assert_int_equal(s_agent(c, "show", AS_ENT, NULL), 0);
    assert_non_null(strstr(c->out, "corrected: {\"type\":\"visit\",\"findings\":\"补记\"} (漏记)"));
    assert_non_null(strstr(c->out, "\n      补记\n"));          /* the corrected findings */
    assert_null(strstr(c->out, "water, minor"));             /* retracted */
    assert_non_null(strstr(c->out, "retraction of " AS_AGENT "/"));
    assert_int_equal(s_agent(c, "show", AS_ENT2, NULL), 1);
    assert_non_null(strstr(c->err, "no record"));
    assert_int_equal(s_agent(c, "status", NULL), 0);
    assert_non_null(strstr(c->out, "queued:             4\n"));
    assert_non_null(strstr(c->out, "last contact:       never\n"));
}

static void
test_it_outbox_full(void **state)
{
    ctx_t *c = *state;
    s_init(c, "outbox_max_queued=2");
    assert_int_equal(s_agent(c, "record", "enterprise", "--ent", AS_ENT, "--name", "甲",
                             "--industry", "C", NULL), 0);
    /* the same again is skipped (exit 3, the existing id), unless --repeat */
    assert_int_equal(s_agent(c, "record", "enterprise", "--ent", AS_ENT, "--name", "甲",
                             "--industry", "C", NULL), 3);
    assert_non_null(strstr(c->out, AS_AGENT "/"));
    assert_non_null(strstr(c->err, "already stored as"));
    assert_int_equal(s_agent(c, "record", "enterprise", "--ent", AS_ENT, "--name=甲",
                             "--industry", "C", "--repeat", NULL), 0);
    assert_int_equal(s_agent(c, "record", "enterprise", "--ent", AS_ENT, "--name", "乙",
                             "--industry", "C", NULL), 1);
    assert_non_null(strstr(c->err, "the outbox is full"));
    assert_string_equal(c->out, "");
    assert_int_equal(s_agent(c, "status", "--format", "json", NULL), 0);
    assert_non_null(strstr(c->out, "\"last_seq\":2,"));
}

static void
test_it_import(void **state)
{
    ctx_t *c = *state;
    s_init(c, NULL);
    char *path = ts_strf("%s/in.jsonl", c->tmp);
    ts_write_file(path, "{\"type\":\"enterprise\",\"date\":\"2019-05-10\",\"ent\":\"" AS_ENT
                        "\",\"name\":\"恒泰\",\"industry\":\"C\"}\n"
                        "{\"type\":\"enterprise\",\"date\":\"2019-05-10\"}\n");
    assert_int_equal(s_agent(c, "import", path, NULL), 1);
    assert_non_null(strstr(c->out, "1\t" AS_AGENT "/"));
    assert_non_null(strstr(c->err, "in.jsonl:2: "));
    assert_int_equal(s_agent(c, "import", path, "--all-or-nothing", NULL), 1);
    assert_string_equal(c->out, "");
    assert_int_equal(s_agent(c, "import", path, "--format", "xml", NULL), 2);
    assert_int_equal(s_agent(c, "import", NULL), 2);
    free(path);
}

static void
test_it_help_and_env_dir(void **state)
{
    ctx_t *c = *state;
    const char *cmds[] = {"init", "record", "import", "run", "status", "show", "list", "config"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        assert_int_equal(s_agent(c, cmds[i], "--help", NULL), 0);
        assert_non_null(strstr(c->out, "usage: wanqi-agent"));
    }
    assert_int_equal(s_agent(c, "--help", NULL), 0);
    assert_int_equal(s_agent(c, "frobnicate", NULL), 2);
    assert_int_equal(s_agent(c, "record", "plan", "--help", NULL), 0);
    assert_non_null(strstr(c->out, "deadline"));
    s_init(c, NULL);
    char *env = ts_strf("WANQI_AGENT_DIR=%s", c->dir);
    char *const extra[] = {env, NULL};
    char *argv[] = {(char *) ts_bin("wanqi-agent"), "config", NULL};
    char *out = NULL;
    assert_int_equal(ts_run(argv, NULL, &out, NULL, 20000, extra), 0);
    assert_non_null(strstr(out, "agent_id = " AS_AGENT "\n"));
    free(out);
    free(env);
}

/*  A record naming another agent's event is accepted and listed by status
    as waiting for the collector; one naming this agent's own is not. */
static void
test_it_status_waiting_refs(void **state)
{
    ctx_t *c = *state;
    s_init(c, NULL);
    assert_int_equal(s_agent(c, "status", NULL), 0);
    assert_non_null(strstr(c->out, "other agents' events:\n  none\n"));
    assert_int_equal(s_agent(c, "record", "enterprise", "--ent", AS_ENT, "--name", "恒泰",
                             "--industry", "C", NULL), 0);
    char own[80];
    snprintf(own, sizeof own, "%.*s", (int) strcspn(c->out, "\n"), c->out);
    assert_int_equal(s_agent(c, "record", "retraction", "--target", own, "--reason", "重复", NULL),
                     0);
    if (s_agent(c, "record", "retraction", "--target", "130102-99/0000abcd/5", "--reason", "重复",
                NULL) != 0)
        fail_msg("a retraction of another agent's event was refused: %s", c->err);
    char mine[80];
    snprintf(mine, sizeof mine, "%.*s", (int) strcspn(c->out, "\n"), c->out);
    assert_int_equal(s_agent(c, "status", NULL), 0);
    char *line = ts_strf("  %s (retraction) refers to 130102-99/0000abcd/5\n", mine);
    if (!strstr(c->out, line))
        fail_msg("status does not list %s as waiting:\n%s", mine, c->out);
    assert_null(strstr(c->out, "refers to " AS_AGENT "/"));   /* its own event: checked locally */
    assert_int_equal(s_agent(c, "status", "--format", "json", NULL), 0);
    char *js = ts_strf("\"waiting_refs\":[{\"id\":\"%s\",\"type\":\"retraction\",\"ref\":"
                       "\"130102-99/0000abcd/5\"}],\"waiting_refs_count\":1", mine);
    if (!strstr(c->out, js))
        fail_msg("status --format json lacks %s:\n%s", js, c->out);
    free(js);
    free(line);
}

typedef struct {
    const char *path;
    const char *not_pid;    /* a pid text the lock file must differ from, or NULL */
} s_lockfile_t;

/*  The lock file names a running run (a pid, other than not_pid). */
static bool
s_lock_has_pid(void *arg)
{
    s_lockfile_t *l = arg;
    char *t = ts_read_file(l->path);
    bool ok = t && atol(t) > 0 && (!l->not_pid || strcmp(t, l->not_pid) != 0);
    free(t);
    return ok;
}

/*  `run` twice on one outbox: the second refuses, naming the first's pid;
    once the first stops, its lock file is gone and run starts again. The
    collector address has nothing listening: run keeps retrying meanwhile. */
static void
test_it_run_lock(void **state)
{
    ctx_t *c = *state;
    s_init(c, NULL);
    char *bin = (char *) ts_bin("wanqi-agent");
    char *log = ts_strf("%s/run1.log", c->tmp);
    char *lockpath = ts_strf("%s/run.lock", c->dir);
    char *argv[] = {bin, "run", "--dir", c->dir, NULL};
    pid_t first = ts_spawn(argv, log, NULL);
    s_lockfile_t l = {lockpath, NULL};
    if (!ts_wait_until(s_lock_has_pid, &l, 20000)) {
        ts_stop(first);
        fail_msg("waited 20 s for the first run to write its pid into %s", lockpath);
    }
    char *pid = ts_strf("%ld\n", (long) first);
    char *held = ts_read_file(lockpath);
    assert_string_equal(held, pid);
    int rc = s_agent(c, "run", NULL);
    char *want = ts_strf("pid %ld)", (long) first);
    bool named = c->err && strstr(c->err, want) && strstr(c->err, "already");
    assert_int_equal(ts_wait(first, 0), -1);    /* the first still runs */
    assert_int_equal(ts_stop(first), 0);
    assert_int_equal(rc, 1);
    if (!named)
        fail_msg("the second run did not name pid %ld: %s", (long) first, c->err);
    /* A clean exit removes the lock file (the refused second run did not). */
    if (access(lockpath, F_OK) == 0)
        fail_msg("%s is still there after run stopped cleanly", lockpath);
    /* The first is gone: run starts again and takes the lock. */
    pid_t again = ts_spawn(argv, log, NULL);
    l.not_pid = held;
    bool took = ts_wait_until(s_lock_has_pid, &l, 20000);
    assert_int_equal(ts_stop(again), 0);
    if (!took)
        fail_msg("waited 20 s for a new run to take the lock after the first stopped");
    if (access(lockpath, F_OK) == 0)
        fail_msg("%s is still there after the second run stopped cleanly", lockpath);
    free(want);
    free(held);
    free(pid);
    free(lockpath);
    free(log);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_it_init, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_init_bad_input, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_record, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_outbox_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_import, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_help_and_env_dir, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_run_lock, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_it_status_waiting_refs, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
