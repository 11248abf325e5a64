/*  =========================================================================
    sender - the agent's ZeroMQ session with the collector (`wanqi-agent run`)

    One DEALER socket, CURVE client, to the collector's ROUTER. The session
    follows proto/PROTOCOL.md section 2: HELLO/WELCOME to learn the
    collector's mark, contiguous BATCHes from mark + 1 with at most `credit`
    unacknowledged, ACKs stored durably in the outbox (mark + quarantined
    entries), E_GAP resends from expected_seq, a mark below ours (restored
    collector) resends from that mark, PING/PONG heartbeats, link dead after
    3 silent intervals, reconnect with jittered capped exponential backoff
    on a NEW socket (the old one is closed with linger 0, so nothing stale is
    ever delivered).

    New records are found by reading the outbox's last seq every poll_ms in
    a small read transaction (no busy loop, works across processes without
    any extra channel). Records that cannot be read (a hole, an empty or
    oversized value) are sent as a msgpack nil placeholder, which the
    collector quarantines, and noted in the outbox's `skipped` database:
    the stream stays contiguous and never blocks.
    =========================================================================
*/
#ifndef WQ_AGENT_SENDER_H_INCLUDED
#define WQ_AGENT_SENDER_H_INCLUDED

#include <czmq.h>
#include <signal.h>
#include <stdint.h>
#include "agent/outbox.h"
#include "common/error.h"

typedef struct {
    const char *endpoint;       /* tcp://HOST:PORT */
    const char *server_key;     /* collector's Z85 public key */
    zcert_t *cert;              /* the agent's key pair (borrowed) */
    uint64_t heartbeat_ms;      /* until WELCOME */
    uint64_t backoff_min_ms;
    uint64_t backoff_max_ms;
    uint64_t poll_ms;
    uint64_t progress_ms;       /* a progress line this often while a backlog drains */
} wq_sender_opts_t;

typedef struct wq_sender_t wq_sender_t;

/*  New sender over box (borrowed) with opts (copied; cert borrowed). NULL
    on OOM. */
wq_sender_t *wq_sender_new(wq_outbox_t *box, const wq_sender_opts_t *opts);

/*  Destroy; sets *self to NULL; safe on NULL. */
void wq_sender_destroy(wq_sender_t **self);

/*  Run the session until *stop becomes non-zero (a signal handler sets it).
    Network trouble is never an error here: it is logged, stored as the
    outbox's last error and retried. Returns WQ_OK on stop, or an error
    that makes going on pointless (outbox unreadable, not initialised). */
int wq_sender_run(wq_sender_t *self, const volatile sig_atomic_t *stop, wq_err_t *err);

#endif
