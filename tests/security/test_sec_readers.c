/*  =========================================================================
    test_sec_readers - killed readers do not lock everyone out

    Issue 10, finding 6: LMDB never frees the reader slot of a process that
    died inside a read transaction (a killed `verify` or `mdb_copy`); 126
    of them (the default table) gave MDB_READERS_FULL to every HELLO and
    query until the collector restarted. Now the collector frees slots of
    dead processes at start, every 10 s and when a read transaction finds
    the table full: after 126 readers are killed, a query and a HELLO are
    answered at once.
    =========================================================================
*/
#include "tests/collector/it_collector.h"

#include <lmdb.h>
#include <sys/wait.h>
#include <unistd.h>

#define A_ID "130102-01"
#define A_COUNTY "130102"
#define NREADERS 126        /* LMDB's default reader table */

/*  A child that opens the store, begins a read transaction, says so on fd
    and waits to be killed. */
static void
s_reader(const char *store, int fd)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    char ok = 'x';
    if (mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
        mdb_env_open(env, store, MDB_NOTLS | MDB_RDONLY, 0600) == 0 &&
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0)
        ok = 'r';
    if (write(fd, &ok, 1) != 1)
        _exit(1);
    for (;;)
        pause();
}

static void
test_killed_readers(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    it_start(&env);
    char *store = ts_strf("%s/store", env.cdir);
    pid_t kids[NREADERS];
    int held = 0;
    for (int i = 0; i < NREADERS; i++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            s_reader(store, fds[1]);
        }
        close(fds[1]);
        char c = 0;
        assert_int_equal(read(fds[0], &c, 1), 1);   /* blocks until the child has its slot */
        close(fds[0]);
        kids[i] = pid;
        held += c == 'r';
    }
    for (int i = 0; i < NREADERS; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    /* Most slots were taken (the collector may hold a few itself). */
    assert_true(held >= NREADERS - 8);

    char *out = NULL;
    assert_int_equal(it_query(&env, &out, NULL, "agents", "--format", "json", NULL, NULL, NULL),
                     0);
    free(out);
    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, 0x1234u);
    assert_int_equal(it_hello(&a), 0);
    it_batch_acked(&a, 1, 8, 1);
    it_agent_close(&a);
    zcert_destroy(&ca);
    free(store);
    it_stop(&env);
    it_teardown(&env);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
