/*  =========================================================================
    server - the collector's network side: ingest and query ROUTER sockets

    Two ROUTER sockets with CURVE, both authenticated by one ZAP handler (zap.h) fed
    from the authorized-peers file (peers.h): the ingest socket speaks the
    agent session of proto/PROTOCOL.md (HELLO/WELCOME, BATCH/ACK, PING/PONG,
    ERROR), the query socket QUERY/RESULT. The sender of every message is
    the CURVE key proved by the handshake (the frame's "User-Id"), mapped to
    an agent id and county, or a client name, by the peers file; what a
    message says about its sender is only checked against that.

    The thread that calls wq_server_run serves the ingest socket: the
    BATCHes waiting at one moment are ingested in one durable write
    transaction in the central store (central.h, group commit) and each is
    acknowledged only after it commits. Queries never run on that thread:
    a query thread owns the query socket and hands each QUERY to one of
    query_workers threads, each running it in its own LMDB read transaction
    (readers never block the writer), so a query never waits for a batch
    and a batch never waits for a query.

    ROUTER sockets drop what they cannot deliver: sends use
    ZMQ_ROUTER_MANDATORY with a zero send timeout, and a reply that cannot
    be delivered (peer gone, or its queue full) is logged and dropped. That
    loses nothing: an ACK follows a commit, and an agent that misses it
    times out, says HELLO again and learns the mark from WELCOME.
    =========================================================================
*/
#ifndef WQ_SERVER_H_INCLUDED
#define WQ_SERVER_H_INCLUDED

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "common/error.h"
#include "collector/central.h"

typedef struct {
    const char *ingest;         /* endpoint to bind for agents */
    const char *query;          /* endpoint to bind for query clients */
    const char *peers_path;     /* authorized-peers file */
    const char *cert_path;      /* collector certificate (zcert; the secret is at cert_path + "_secret") */
    wq_central_t *central;      /* the store (borrowed; outlives the server) */
    uint32_t credit;            /* WELCOME fields */
    uint32_t max_batch;
    uint32_t heartbeat_ms;
    uint32_t session_idle_ms;   /* forget sessions silent this long */
    uint32_t query_workers;     /* query worker threads (0: default 3) */
    uint32_t unauth_per_address; /* connections per source address not yet authenticated (0: no limit; conns.h) */
    uint64_t buffer_max;        /* bytes of incomplete messages all peers may make libzmq hold (0: none; conns.h) */
} wq_server_opts_t;

typedef struct wq_server_t wq_server_t;

/*  Load the peers and the collector's key, start the ZAP handler, create
    and bind both sockets, start the query thread and its workers. On success *out is new. Errors: WQ_E_CONFIG
    (peers file or certificate unusable), WQ_E_IO (bind failed: text names
    the endpoint and the reason), WQ_E_NOMEM. */
int wq_server_new(const wq_server_opts_t *opts, wq_server_t **out, wq_err_t *err);

/*  Stop the ZAP handler, close the sockets (pending replies are dropped:
    linger 0), free; sets *self to NULL; safe on NULL. */
void wq_server_destroy(wq_server_t **self);

/*  Serve the ingest socket until *stop becomes non-zero (checked at least
    every 500 ms and after every message; queries are served by the query
    thread from wq_server_new until wq_server_destroy), re-reading the peers file whenever *reload is
    non-zero (then clearing it). A message never ends the loop: bad input
    gets an ERROR reply. Returns WQ_OK when stopped, or an error if the
    sockets fail (WQ_E_IO). */
int wq_server_run(wq_server_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload, wq_err_t *err);

/*  Re-read the peers file: the ZAP handler then admits exactly the keys now
    listed, and messages on open connections from keys no longer listed are
    refused (E_AUTH). On error the old list stays in force. Errors: as
    wq_peers_load. */
int wq_server_reload_peers(wq_server_t *self, wq_err_t *err);

/*  Counters since start, for logs and tests. */
typedef struct {
    uint64_t messages;          /* received on both sockets */
    uint64_t batches;           /* acknowledged */
    uint64_t records_stored;
    uint64_t records_duplicate;
    uint64_t records_quarantined;
    uint64_t errors_sent;       /* ERROR replies */
    uint64_t queries;
    uint64_t undeliverable;     /* replies dropped by ROUTER */
    uint64_t groups;            /* group commits (each one write txn, one fsync) */
} wq_server_stats_t;
void wq_server_stats(const wq_server_t *self, wq_server_stats_t *stats);

#endif
