/*  =========================================================================
    conns - the collector's TCP connections, seen from outside libzmq

    A ROUTER socket hides its connections: libzmq accepts them, runs the
    CURVE handshake and closes them in its I/O thread, and gives the
    application no call to close one peer. This module follows them
    through two facts libzmq 4.3 does give:

    - the socket monitor's ZMQ_EVENT_ACCEPTED and ZMQ_EVENT_DISCONNECTED,
      whose value is the connection's file descriptor;
    - the ZMQ_SRCFD property of every received frame (zmq_msg_get), the
      descriptor of the connection the message came on.

    With them it keeps, per descriptor, the peer's address (getpeername)
    and, once a message arrived on it, the CURVE key that sent it. That
    gives three things the collector could not do before (issue 10):

    - a limit on connections per source address that have not yet
      authenticated (accepted, no message received yet): a further one
      is closed at once and logged with the address;
    - closing every connection of a revoked key (at the reload that
      revoked it, and at any message it still sends);
    - a bound on the bytes peers make libzmq buffer. libzmq hands a
      multi-frame message to the application only once all its frames
      have arrived, and ZMQ_MAXMSGSIZE bounds a frame, not a message, so
      a peer can make it buffer without limit. What it buffers for one
      connection is at most what the kernel has received on it since the
      last message the application got from it (TCP_INFO's
      tcpi_bytes_received, Linux >= 4.1, read then and now). A watchdog
      thread reads that every S_CHECK_MS for every connection and closes
      a connection whose figure passes WQ_CONNS_BUFFER_CONN (or the
      largest ones while the sum over all connections passes the
      configured total). A connection that is sending a legitimate
      message passes neither: a message is at most 4 MiB, an agent has at
      most `credit` batches in flight.

    Closing is shutdown(fd, SHUT_RDWR), never close(fd): shutdown does not
    release the descriptor, so libzmq stays its only owner; the I/O thread
    sees end-of-file on its next read, exactly as if the peer had closed,
    and closes the descriptor itself (and reports DISCONNECTED). Before it
    shuts a descriptor down it checks that getpeername still gives the
    address recorded for it: a descriptor that libzmq closed and the kernel
    reused for another connection meanwhile has another peer (address and
    port), and is left alone.

    Thread safety: every function may be called from any thread (a mutex
    guards the table): the watchdog thread handles the monitor events and
    the buffer checks, the ingest and query threads report messages and
    close revoked keys' connections.
    =========================================================================
*/
#ifndef WQ_CONNS_H_INCLUDED
#define WQ_CONNS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>
#include "collector/peers.h"
#include "common/error.h"

typedef struct wq_conns_t wq_conns_t;

/*  What one connection may make libzmq buffer (see above): a few times the
    most an agent legitimately has in flight (credit x 4 MiB frames). */
#define WQ_CONNS_BUFFER_CONN ((uint64_t) 64 << 20)

/*  New table. unauth_max: connections per source address that may be
    open without having sent a message (0: no limit). buffer_max: bytes
    all connections together may make libzmq buffer (0: no bound; one
    connection at most min(WQ_CONNS_BUFFER_CONN, buffer_max)). Errors:
    WQ_E_NOMEM. */
int wq_conns_new(uint32_t unauth_max, uint64_t buffer_max, wq_conns_t **out, wq_err_t *err);

/*  Stop the watchdog, close the monitors' sockets, free; sets *self to
    NULL; safe on NULL. */
void wq_conns_destroy(wq_conns_t **self);

/*  Start the monitor of the ZeroMQ socket handle (ACCEPTED and
    DISCONNECTED events) for the watchdog (at most 2 sockets). Call it
    from the thread that owns handle, before wq_conns_start. name
    ("ingest", "query") goes into log lines. Errors: WQ_E_IO, WQ_E_RANGE
    (a third socket). */
int wq_conns_watch(wq_conns_t *self, void *ctx, void *handle, const char *name, wq_err_t *err);

/*  Start the watchdog thread (monitor events, buffer checks). Errors:
    WQ_E_IO. */
int wq_conns_start(wq_conns_t *self, wq_err_t *err);

/*  A message from key arrived; frame is its first payload frame, which
    carries ZMQ_SRCFD (with CURVE, libzmq 4.3.4 leaves the routing id
    frame a ROUTER prepends without it: seen on this machine). The connection counts as authenticated from now on, is
    remembered as key's, and what it has buffered starts again from 0.
    Returns the connection's descriptor, or -1 if libzmq did not say
    (not TCP). */
int wq_conns_seen(wq_conns_t *self, zmq_msg_t *frame, const char *key);

/*  Close every connection seen from key (see the file header for how).
    why goes into the log line. Returns how many were closed. */
size_t wq_conns_close_key(wq_conns_t *self, const char *key, const char *why);

/*  Close every connection seen from a key that peers does not list (after
    a reload). Returns how many were closed. */
size_t wq_conns_close_unlisted(wq_conns_t *self, const wq_peers_t *peers);

/*  Run the buffer check once now (the watchdog runs it every S_CHECK_MS).
    Returns how many connections it closed. */
size_t wq_conns_check(wq_conns_t *self);

#endif
