/*  LMDB helpers (common/store.c) on a real temporary directory: creating
    the directory owner-only, reopening, a non-directory path, a file that
    is not LMDB, a tiny map filling up (MDB_MAP_FULL -> WQ_E_FULL), the
    code mapping, and big-endian keys. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/store.h"
#include "tests/support/testsupport.h"

static int
s_setup(void **state)
{
    *state = ts_tmpdir();
    return 0;
}

static int
s_teardown(void **state)
{
    char *dir = *state;
    ts_tmpdir_remove(&dir);
    return 0;
}

static void
test_open_creates_dir(void **state)
{
    char *dir = ts_strf("%s/a/b/outbox", (char *) *state);
    MDB_env *env = NULL;
    wq_err_t err;
    wq_err_clear(&err);
    mode_t old = umask(022);
    int rc = wq_store_open(dir, 1 << 20, 4, &env, &err);
    umask(old);
    assert_int_equal(rc, WQ_OK);
    assert_non_null(env);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    char *parent = ts_strf("%s/a", (char *) *state);
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    unsigned flags = 0;
    assert_int_equal(mdb_env_get_flags(env, &flags), 0);
    assert_true(flags & MDB_NOTLS);
    assert_false(flags & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP | MDB_MAPASYNC));
    /* Named databases work (max_dbs honoured) and data survives a reopen. */
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "events", MDB_CREATE, &dbi), 0);
    uint8_t k[8];
    wq_be64_put(k, 42);
    MDB_val key = {8, k}, val = {5, "hello"};
    assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    env = NULL;

    assert_int_equal(wq_store_open(dir, 1 << 20, 4, &env, &err), WQ_OK);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "events", 0, &dbi), 0);
    MDB_val got;
    assert_int_equal(mdb_get(txn, dbi, &key, &got), 0);
    assert_int_equal(got.mv_size, 5);
    assert_memory_equal(got.mv_data, "hello", 5);
    wq_be64_put(k, 43);
    int mrc = mdb_get(txn, dbi, &key, &got);
    assert_int_equal(wq_store_err(mrc, "mdb_get", &err), WQ_E_NOTFOUND);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    free(parent);
    free(dir);
}

static void
test_open_errors(void **state)
{
    wq_err_t err;
    MDB_env *env = (MDB_env *) &env;
    /* The path is a regular file. */
    char *file = ts_strf("%s/plainfile", (char *) *state);
    ts_write_file(file, "x");
    assert_int_equal(wq_store_open(file, 1 << 20, 4, &env, &err), WQ_E_IO);
    assert_null(env);
    assert_string_equal(err.field, "dir");
    assert_non_null(strstr(err.text, file));
    assert_non_null(strstr(err.text, "not a directory"));
    /* A component of the path is a regular file. */
    char *below = ts_strf("%s/plainfile/store", (char *) *state);
    assert_int_equal(wq_store_open(below, 1 << 20, 4, &env, &err), WQ_E_IO);
    assert_non_null(strstr(err.text, "mkdir"));
    assert_non_null(strstr(err.text, "Not a directory"));
    /* A data.mdb that is not an LMDB file. */
    char *dir = ts_strf("%s/garbage", (char *) *state);
    assert_int_equal(mkdir(dir, 0700), 0);
    char *data = ts_strf("%s/data.mdb", dir);
    int fd = open(data, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    char junk[8192];
    memset(junk, 'J', sizeof junk);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t) sizeof junk);
    close(fd);
    assert_int_equal(wq_store_open(dir, 1 << 20, 4, &env, &err), WQ_E_CORRUPT);
    assert_null(env);
    assert_non_null(strstr(err.text, "mdb_env_open("));
    assert_non_null(strstr(err.text, dir));
    /* Permission denied, when not running as root (root ignores modes). */
    if (geteuid() != 0) {
        char *locked = ts_strf("%s/locked", (char *) *state);
        assert_int_equal(mkdir(locked, 0500), 0);
        char *inside = ts_strf("%s/store", locked);
        assert_int_equal(wq_store_open(inside, 1 << 20, 4, &env, &err), WQ_E_IO);
        assert_non_null(strstr(err.text, "Permission denied"));
        free(inside);
        free(locked);
    }
    assert_int_equal(wq_store_open("", 1 << 20, 4, &env, &err), WQ_E_IO);
    free(data);
    free(dir);
    free(below);
    free(file);
}

static void
test_map_full(void **state)
{
    char *dir = ts_strf("%s/tiny", (char *) *state);
    MDB_env *env = NULL;
    wq_err_t err;
    /* 64 KiB: 16 pages of 4 KiB, of which a few are meta and root pages. */
    assert_int_equal(wq_store_open(dir, 64 * 1024, 2, &env, &err), WQ_OK);
    char value[1000];
    memset(value, 'v', sizeof value);
    int mrc = 0;
    uint64_t i;
    for (i = 0; i < 1000 && mrc == 0; i++) {
        MDB_txn *txn = NULL;
        assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
        MDB_dbi dbi;
        assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
        uint8_t k[8];
        wq_be64_put(k, i);
        MDB_val key = {8, k}, val = {sizeof value, value};
        mrc = mdb_put(txn, dbi, &key, &val, 0);
        if (mrc == 0)
            mrc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    /* It filled up long before 1000 values of 1000 bytes. */
    assert_true(i < 1000);
    assert_int_equal(mrc, MDB_MAP_FULL);
    wq_err_clear(&err);
    assert_int_equal(wq_store_err(mrc, "mdb_put(outbox)", &err), WQ_E_FULL);
    assert_int_equal(err.code, WQ_E_FULL);
    assert_string_equal(err.field, "store");
    assert_non_null(strstr(err.text, "mdb_put(outbox)"));
    assert_non_null(strstr(err.text, "map size"));
    /* Earlier commits are intact after the failure. */
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_stat st;
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    assert_int_equal(mdb_stat(txn, dbi, &st), 0);
    assert_int_equal(st.ms_entries, i - 1);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    free(dir);
}

static void
test_err_mapping(void **state)
{
    (void) state;
    static const struct {
        int mdb;
        int wq;
    } map[] = {
        {0, WQ_OK},
        {MDB_MAP_FULL, WQ_E_FULL},
        {MDB_TXN_FULL, WQ_E_FULL},
        {MDB_NOTFOUND, WQ_E_NOTFOUND},
        {MDB_CORRUPTED, WQ_E_CORRUPT},
        {MDB_PAGE_NOTFOUND, WQ_E_CORRUPT},
        {MDB_INVALID, WQ_E_CORRUPT},
        {MDB_READERS_FULL, WQ_E_IO},
        {MDB_VERSION_MISMATCH, WQ_E_IO},
        {MDB_BAD_TXN, WQ_E_IO},
        {EIO, WQ_E_IO},
        {ENOSPC, WQ_E_IO},
        {EACCES, WQ_E_IO},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        wq_err_t err;
        wq_err_clear(&err);
        assert_int_equal(wq_store_err(map[i].mdb, "mdb_txn_commit", &err), map[i].wq);
        assert_int_equal(err.code, map[i].wq);
        if (map[i].wq != WQ_OK)
            assert_non_null(strstr(err.text, "mdb_txn_commit"));
        assert_int_equal(wq_store_err(map[i].mdb, NULL, NULL), map[i].wq);
    }
    wq_err_t err;
    wq_store_err(ENOSPC, "mdb_put", &err);
    assert_non_null(strstr(err.text, "No space left on device"));
}

static void
test_big_endian(void **state)
{
    (void) state;
    uint8_t b8[8];
    wq_be64_put(b8, 0x0102030405060708ull);
    assert_memory_equal(b8, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_true(wq_be64_get(b8) == 0x0102030405060708ull);
    wq_be64_put(b8, UINT64_MAX);
    assert_true(wq_be64_get(b8) == UINT64_MAX);
    uint8_t b4[4];
    wq_be32_put(b4, 0xA1B2C3D4u);
    assert_memory_equal(b4, "\xA1\xB2\xC3\xD4", 4);
    assert_int_equal(wq_be32_get(b4), 0xA1B2C3D4u);
    /* Byte order sorts as numbers: 255 < 256 < 65536 < 2^40. */
    static const uint64_t v[] = {0, 1, 255, 256, 65535, 65536, 1ull << 40, UINT64_MAX - 1};
    for (size_t i = 1; i < sizeof v / sizeof v[0]; i++) {
        uint8_t a[8], b[8];
        wq_be64_put(a, v[i - 1]);
        wq_be64_put(b, v[i]);
        assert_true(memcmp(a, b, 8) < 0);
    }
}

/*  The map lock: a re-map (wq_store_adopt_mapsize) waits for every reader
    of another thread to leave; nested read locks in one thread count; a
    re-map from a thread that holds the read lock gives it back after. */
typedef struct {
    atomic_int stage;   /* reader: 1 holds the lock, 2 told to leave */
    atomic_int adopted;
    MDB_env *env;
} s_maplock_t;

static bool
s_reader_in(void *arg)
{
    return atomic_load(&((s_maplock_t *) arg)->stage) == 1;
}

static bool
s_adopted(void *arg)
{
    return atomic_load(&((s_maplock_t *) arg)->adopted) == 1;
}

static void *
s_reader(void *arg)
{
    s_maplock_t *m = arg;
    wq_store_read_lock();
    wq_store_read_lock();           /* nested: counts, does not lock twice */
    wq_store_read_unlock();
    atomic_store(&m->stage, 1);
    for (int i = 0; i < 60000 && atomic_load(&m->stage) != 2; i++)   /* at most ~60 s */
        usleep(1000);
    wq_store_read_unlock();
    return NULL;
}

static void *
s_remapper(void *arg)
{
    s_maplock_t *m = arg;
    assert_int_equal(wq_store_adopt_mapsize(m->env), 0);
    atomic_store(&m->adopted, 1);
    return NULL;
}

static void
test_map_lock(void **state)
{
    char *dir = ts_strf("%s/maplock", (char *) *state);
    s_maplock_t m = {0};
    wq_err_t err;
    assert_int_equal(wq_store_open(dir, 1 << 20, 4, &m.env, &err), WQ_OK);
    pthread_t r, w;
    assert_int_equal(pthread_create(&r, NULL, s_reader, &m), 0);
    if (!ts_wait_until(s_reader_in, &m, 60000))
        fail_msg("the reader thread did not take the read lock in 60 s");
    assert_int_equal(pthread_create(&w, NULL, s_remapper, &m), 0);
    usleep(200 * 1000);
    /* The reader still holds the lock (once, after its nested pair): the
       re-map must still be waiting. */
    assert_int_equal(atomic_load(&m.adopted), 0);
    atomic_store(&m.stage, 2);
    if (!ts_wait_until(s_adopted, &m, 60000))
        fail_msg("the re-map did not happen in 60 s after the reader left");
    assert_int_equal(pthread_join(r, NULL), 0);
    assert_int_equal(pthread_join(w, NULL), 0);
    /* A thread holding the read lock re-maps itself and holds it again:
       a re-map of another thread then waits until it lets go. */
    wq_store_read_lock();
    assert_int_equal(wq_store_adopt_mapsize(m.env), 0);
    atomic_store(&m.adopted, 0);
    assert_int_equal(pthread_create(&w, NULL, s_remapper, &m), 0);
    usleep(200 * 1000);
    assert_int_equal(atomic_load(&m.adopted), 0);
    wq_store_read_unlock();
    assert_int_equal(pthread_join(w, NULL), 0);
    assert_int_equal(atomic_load(&m.adopted), 1);
    mdb_env_close(m.env);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_dir, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_map_full, s_setup, s_teardown),
        cmocka_unit_test(test_err_mapping),
        cmocka_unit_test(test_big_endian),
        cmocka_unit_test_setup_teardown(test_map_lock, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
