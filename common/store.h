/*  =========================================================================
    store - LMDB helpers shared by the agent's outbox and the central store

    Opening an environment the same way everywhere (directory created with
    owner-only permissions, MDB_NOTLS so read transactions may move between
    threads, durable commits: no MDB_NOSYNC / MDB_NOMETASYNC), turning LMDB
    return codes into wq_rc_t with a sentence that names the call and the
    path, and big-endian integer keys (LMDB compares keys as bytes).
    =========================================================================
*/
#ifndef WQ_STORE_H_INCLUDED
#define WQ_STORE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>
#include "common/error.h"

/*  Create dir if needed (0700) and open an LMDB environment in it with
    map_bytes of map and up to max_dbs named databases, and free the reader
    slots of dead processes (mdb_reader_check). *env is new; close
    with mdb_env_close. Errors: WQ_E_IO (text names the path, the call, the
    LMDB/errno text and what to do), WQ_E_FULL. */
int wq_store_open(const char *dir, size_t map_bytes, unsigned max_dbs, MDB_env **env, wq_err_t *err);

/*  Map an LMDB return code from call `what` to a wq_rc_t and fill err:
    MDB_MAP_FULL / MDB_TXN_FULL -> WQ_E_FULL, MDB_NOTFOUND -> WQ_E_NOTFOUND,
    MDB_CORRUPTED / MDB_PAGE_NOTFOUND / MDB_INVALID -> WQ_E_CORRUPT, else
    WQ_E_IO. Returns WQ_OK for rc == 0. */
int wq_store_err(int rc, const char *what, wq_err_t *err);

/*  mdb_txn_begin(env, NULL, flags, txn); on MDB_READERS_FULL (every reader
    slot taken, e.g. by killed readers) free the slots of dead processes
    and try once more. Returns the LMDB code. */
int wq_store_txn_begin(MDB_env *env, unsigned flags, MDB_txn **txn);

/*  The map lock: LMDB allows mdb_env_set_mapsize only while no transaction
    of the process is active, but a reader process (wanqi-web) must adopt a
    larger map when the collector grew it (MDB_MAP_RESIZED) while its other
    threads read. So every read transaction of a process that may adopt a
    new size runs between wq_store_read_lock and wq_store_read_unlock (held
    shared; nested calls in one thread count, not lock again), and
    wq_store_adopt_mapsize takes the lock exclusively to re-map.
    Writer-preferring: a thread waiting to re-map is not starved by a
    stream of readers. The lock is per process (one store per reader
    process); the collector, the only writer, never needs to re-map. */
void wq_store_read_lock(void);
void wq_store_read_unlock(void);
/*  Adopt the map size another process set (mdb_env_set_mapsize(env, 0)).
    The calling thread must have no active transaction; if it holds the
    read lock it is released for the re-map and taken again before return.
    Waits for the other threads' read transactions under the lock to end.
    Returns the LMDB code. */
int wq_store_adopt_mapsize(MDB_env *env);

/*  Free the reader slots of dead processes; *dead (may be NULL) gets how
    many. For a periodic sweep. Errors: WQ_E_IO. */
int wq_store_reader_check(MDB_env *env, int *dead, wq_err_t *err);

/*  Big-endian keys. */
void wq_be64_put(uint8_t out[8], uint64_t v);
uint64_t wq_be64_get(const uint8_t in[8]);
void wq_be32_put(uint8_t out[4], uint32_t v);
uint32_t wq_be32_get(const uint8_t in[4]);

#endif
