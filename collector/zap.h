/*  =========================================================================
    zap - the collector's ZAP handler: admits exactly the CURVE keys of the
    peers file

    libzmq asks a ZAP handler (ZeroMQ RFC 27, inproc://zeromq.zap.01) to
    admit or refuse each CURVE handshake. CZMQ's zauth does the same but
    logs every decision at its normal level (three lines per handshake,
    allowed ones included) or none at all; the collector wants refusals at
    its normal level with the key and the address (the operator authorizes
    a key from that line: issue 11) and admissions only at debug level, in
    its own log format. The decision is the same as zauth's with a
    certificate store: the client's long-term public key must be listed.
    The reply's user id is the key in Z85, which libzmq gives to every
    message of that connection as its "User-Id" property.

    Refusals are logged once per key and address per minute (with how many
    were refused since), so a client retrying a refused key cannot flood
    the log.
    =========================================================================
*/
#ifndef WQ_ZAP_H_INCLUDED
#define WQ_ZAP_H_INCLUDED

#include <czmq.h>
#include "collector/peers.h"
#include "common/error.h"

/*  Start the handler for the keys in peers (copied: the caller keeps
    peers) and the ZAP domain domain. Only one handler may run in a
    process at a time (it binds inproc://zeromq.zap.01): destroy the old
    one first (zactor_destroy). Errors: WQ_E_NOMEM, WQ_E_IO (the endpoint
    is taken). */
int wq_zap_start(const wq_peers_t *peers, const char *domain, zactor_t **out, wq_err_t *err);

/*  Put the keys of peers in force in the running handler zap (a reload of
    the peers file): from its return on, handshakes are decided by the new
    list; no handshake is refused for lack of a handler meanwhile. Errors:
    WQ_E_NOMEM, WQ_E_IO. */
int wq_zap_reload(zactor_t *zap, const wq_peers_t *peers, wq_err_t *err);

#endif
