/*  =========================================================================
    store - LMDB environment opening, error mapping, big-endian keys

    The agent's outbox and the collector's central store both live in LMDB.
    They open their environments here so that both get the same choices:
    an owner-only directory (records name enterprises and cadres), MDB_NOTLS
    (read transactions are not tied to a thread), and fully durable commits
    (no NOSYNC flags: an acknowledged record must survive power loss).
    wq_store_err is the one place that turns LMDB codes into wq_rc_t, so
    that MDB_MAP_FULL is an ordinary WQ_E_FULL everywhere, never a crash.
    =========================================================================
*/
#include "common/store.h"
#include "common/i18n.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

/*  mkdir -p with mode 0700 for every directory created. */
static int
s_mkdirs(const char *dir, wq_err_t *err)
{
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return wq_err_set(err, WQ_E_IO, "dir",
                          _("store directory path is empty or longer than %zu bytes: choose "
                          "another path"), sizeof path - 1);
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            return wq_err_set(err, WQ_E_IO, "dir",
                              _("cannot create directory %s (mkdir: %s): check the path and its "
                              "permissions"), path, strerror(e));
        }
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        int e = errno;
        return wq_err_set(err, WQ_E_IO, "dir", _("cannot stat %s (%s): check the path"), dir,
                          strerror(e));
    }
    if (!S_ISDIR(st.st_mode))
        return wq_err_set(err, WQ_E_IO, "dir",
                          _("%s exists and is not a directory: give a directory for the store"),
                          dir);
    return WQ_OK;
}

int
wq_store_open(const char *dir, size_t map_bytes, unsigned max_dbs, MDB_env **env, wq_err_t *err)
{
    MDB_env *e = NULL;
    int rc;
    if (!dir || !env)
        return wq_err_set(err, WQ_E_INTERNAL, "dir", _("wq_store_open called without a path"));
    *env = NULL;
    rc = s_mkdirs(dir, err);
    if (rc != WQ_OK)
        goto fail;
    int mrc = mdb_env_create(&e);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_env_create", err);
        goto fail;
    }
    mrc = mdb_env_set_mapsize(e, map_bytes);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_env_set_mapsize", err);
        goto fail;
    }
    mrc = mdb_env_set_maxdbs(e, (MDB_dbi) max_dbs);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_env_set_maxdbs", err);
        goto fail;
    }
    mrc = mdb_env_open(e, dir, MDB_NOTLS, 0600);
    if (mrc != 0) {
        /* Name the path too: the operator needs to know which store. */
        char what[160];
        snprintf(what, sizeof what, "mdb_env_open(%s)", dir);
        rc = wq_store_err(mrc, what, err);
        goto fail;
    }
    /* Reader slots of processes that died (a killed verify or mdb_copy)
       are never freed by LMDB itself: clear them at start (issue 10). */
    int dead = 0;
    mrc = mdb_reader_check(e, &dead);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_reader_check", err);
        goto fail;
    }
    *env = e;
    return WQ_OK;
fail:
    if (e)
        mdb_env_close(e);
    return rc;
}

int
wq_store_err(int rc, const char *what, wq_err_t *err)
{
    if (rc == 0)
        return WQ_OK;
    const char *call = what ? what : "LMDB";
    switch (rc) {
    case MDB_MAP_FULL:
        return wq_err_set(err, WQ_E_FULL, "store",
                          _("%s: the LMDB map is full (%s): raise the store's map size or free "
                          "space by pruning"), call, mdb_strerror(rc));
    case MDB_TXN_FULL:
        return wq_err_set(err, WQ_E_FULL, "store",
                          _("%s: the transaction has too many dirty pages (%s): write smaller "
                          "batches"), call, mdb_strerror(rc));
    case MDB_NOTFOUND:
        return wq_err_set(err, WQ_E_NOTFOUND, "store", _("%s: key not found"), call);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        return wq_err_set(err, WQ_E_CORRUPT, "store",
                          _("%s: the LMDB file is damaged or not an LMDB file (%s): restore the "
                          "store from a backup"), call, mdb_strerror(rc));
    default:
        return wq_err_set(err, WQ_E_IO, "store",
                          _("%s failed: %s (LMDB code %d): check disk space, permissions and "
                          "the log"), call, mdb_strerror(rc), rc);
    }
}

void
wq_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t) (v & 0xff);
        v >>= 8;
    }
}

uint64_t
wq_be64_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

void
wq_be32_put(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t) (v >> 24);
    out[1] = (uint8_t) (v >> 16);
    out[2] = (uint8_t) (v >> 8);
    out[3] = (uint8_t) v;
}

uint32_t
wq_be32_get(const uint8_t in[4])
{
    return ((uint32_t) in[0] << 24) | ((uint32_t) in[1] << 16) | ((uint32_t) in[2] << 8) |
           (uint32_t) in[3];
}

int
wq_store_txn_begin(MDB_env *env, unsigned flags, MDB_txn **txn)
{
    int mrc = mdb_txn_begin(env, NULL, flags, txn);
    if (mrc == MDB_READERS_FULL) {
        /* Slots held by dead processes: free them and try once more. */
        int dead = 0;
        if (mdb_reader_check(env, &dead) == 0 && dead > 0)
            mrc = mdb_txn_begin(env, NULL, flags, txn);
    }
    return mrc;
}

int
wq_store_reader_check(MDB_env *env, int *dead, wq_err_t *err)
{
    int n = 0;
    int mrc = mdb_reader_check(env, &n);
    if (dead)
        *dead = n;
    return mrc ? wq_store_err(mrc, "mdb_reader_check", err) : WQ_OK;
}

/*  ---- the map lock (store.h) ------------------------------------------- */

static pthread_rwlock_t s_map_lock;
static pthread_once_t s_map_once = PTHREAD_ONCE_INIT;
static _Thread_local unsigned s_map_depth;   /* this thread's nesting: taken once */

static void
s_map_lock_init(void)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    /* glibc prefers readers by default: a re-map would wait for as long as
       any reader is in; this kind lets it in once the current ones leave. */
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    if (pthread_rwlock_init(&s_map_lock, &a) != 0)
        abort();    /* only fails without memory at start: nothing works */
    pthread_rwlockattr_destroy(&a);
}

void
wq_store_read_lock(void)
{
    /* Nested uses (a query that reads stats) count, not lock again: a
       second rdlock behind a waiting re-map would deadlock. */
    if (s_map_depth++ > 0)
        return;
    pthread_once(&s_map_once, s_map_lock_init);
    if (pthread_rwlock_rdlock(&s_map_lock) != 0)
        abort();    /* EAGAIN: more than 2^31 readers; not a run-time condition */
}

void
wq_store_read_unlock(void)
{
    if (s_map_depth == 0 || --s_map_depth > 0)
        return;
    pthread_rwlock_unlock(&s_map_lock);
}

int
wq_store_adopt_mapsize(MDB_env *env)
{
    pthread_once(&s_map_once, s_map_lock_init);
    unsigned depth = s_map_depth;
    if (depth > 0) {
        s_map_depth = 0;
        pthread_rwlock_unlock(&s_map_lock);
    }
    if (pthread_rwlock_wrlock(&s_map_lock) != 0)
        abort();    /* EDEADLK: this thread holds it, excluded above */
    int mrc = mdb_env_set_mapsize(env, 0);
    pthread_rwlock_unlock(&s_map_lock);
    if (depth > 0) {
        if (pthread_rwlock_rdlock(&s_map_lock) != 0)
            abort();
        s_map_depth = depth;
    }
    return mrc;
}
