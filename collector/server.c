/*  =========================================================================
    server - the collector's ingest and query sockets (see server.h)

    The loop polls both ROUTER sockets and handles one message at a time:
    receive [routing id][payload], take the sender's CURVE key from the
    payload's "User-Id" property (set by our ZAP handler, zauth), map it to
    a peer from the peers file, decode the payload strictly (proto/msg.h),
    act, reply to the same routing id. Nothing that arrives from the
    network can end the loop or crash it: every failure becomes an ERROR
    reply (or a RESULT with a status, for queries) and a log line.

    Agent sessions. A routing id (one connection) becomes a session at
    HELLO: the stream (agent, inc) it announced. BATCH and PING are valid
    only in a session of the same incarnation, else E_STATE, which tells the
    agent to start again at HELLO (as after a collector restart, when every
    routing id is new). Sessions silent for session_idle_ms are forgotten.

    Durability. wq_central_ingest commits the batch durably before it
    returns; only then is the ACK sent. If the ACK cannot be delivered the
    agent times out, says HELLO again and learns the mark from WELCOME.
    =========================================================================
*/
#include "collector/server.h"
#include "collector/peers.h"
#include "common/date.h"
#include "common/log.h"
#include "proto/curve.h"
#include "proto/zbatch.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_ZAP_DOMAIN "wanqi"
#define S_POLL_MS 500
#define S_DRAIN 64              /* messages per socket per poll round */
#define S_MAX_SESSIONS 100000
#define S_STATS_EVERY_MS 60000
#define S_MAX_ROUTING_ID 256

typedef struct {
    char key[WQ_KEY_Z85_LEN + 1];   /* the CURVE key of the connection */
    char agent[WQ_PEER_NAME_MAX + 1];
    uint32_t inc;
    uint64_t last_mono;
} s_session_t;

struct wq_server_t {
    wq_server_opts_t opts;
    char *peers_path;
    wq_central_t *central;
    wq_peers_t *peers;
    zcert_t *cert;
    zactor_t *auth;
    zsock_t *ingest;
    zsock_t *query;
    zhashx_t *sessions;         /* hex routing id -> s_session_t* */
    wq_server_stats_t stats;
    wq_server_stats_t logged;   /* stats at the last periodic log line */
    uint64_t last_sweep;
    uint64_t last_stats;
};

/*  One received message: routing id and payload (the payload keeps its
    metadata, the "User-Id"). */
typedef struct {
    zmq_msg_t rid;
    zmq_msg_t body;
    int parts;                  /* frames after the routing id */
    char rid_hex[2 * S_MAX_ROUTING_ID + 1];
    char key[WQ_KEY_Z85_LEN + 1];
} s_in_t;

static void
s_session_free(void **item)
{
    if (item && *item) {
        free(*item);
        *item = NULL;
    }
}

/*  ---- the ZAP handler ---------------------------------------------------- */

/*  Start a zauth actor that admits exactly the keys in peers (agents and
    clients alike: which socket each may use is checked per message). */
static int
s_auth_start(const wq_peers_t *peers, bool verbose, zactor_t **out, wq_err_t *err)
{
    zcertstore_t *store = zcertstore_new(NULL);
    if (!store)
        return wq_err_set(err, WQ_E_NOMEM, NULL, "cannot create the certificate store");
    uint8_t zero[32] = {0};
    for (size_t i = 0; i < wq_peers_count(peers); i++) {
        uint8_t pub[32];
        if (!zmq_z85_decode(pub, wq_peers_at(peers, i)->key))
            continue;   /* wq_peers_load checked every key: cannot happen */
        zcert_t *cert = zcert_new_from(pub, zero);
        if (!cert) {
            zcertstore_destroy(&store);
            return wq_err_set(err, WQ_E_NOMEM, NULL, "cannot create a certificate");
        }
        zcertstore_insert(store, &cert);
    }
    /* zauth takes the store and destroys it with the actor. */
    *out = zactor_new(zauth, store);
    if (!*out) {
        zcertstore_destroy(&store);
        return wq_err_set(err, WQ_E_IO, NULL, "cannot start the ZAP authentication handler (zauth)");
    }
    if (verbose) {
        zstr_send(*out, "VERBOSE");
        zsock_wait(*out);
    }
    return WQ_OK;
}

/*  ---- sockets ------------------------------------------------------------ */

static int
s_socket(wq_server_t *self, const char *endpoint, const char *what, zsock_t **out, wq_err_t *err)
{
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    if (!sock)
        return wq_err_set(err, WQ_E_IO, what, "cannot create the %s socket: %s", what, zmq_strerror(errno));
    zcert_apply(self->cert, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, S_ZAP_DOMAIN);
    /* Refuse every handshake while no ZAP handler runs (e.g. during a
       reload) instead of letting CURVE admit any key. */
    int one = 1;
    if (zmq_setsockopt(zsock_resolve(sock), 93 /* ZMQ_ZAP_ENFORCE_DOMAIN */, &one, sizeof one) != 0)
        wq_warn("%s socket: ZMQ_ZAP_ENFORCE_DOMAIN not supported by this libzmq (%s)", what,
                zmq_strerror(errno));
    zsock_set_router_mandatory(sock, 1);
    zsock_set_sndtimeo(sock, 0);
    zsock_set_linger(sock, 0);
    zsock_set_maxmsgsize(sock, (int64_t) WQ_MSG_MAX_BYTES + 4096);
    zsock_set_rcvhwm(sock, 10000);
    zsock_set_sndhwm(sock, 10000);
    zsock_set_tcp_keepalive(sock, 1);
    zsock_set_tcp_keepalive_idle(sock, 120);
    if (zsock_bind(sock, "%s", endpoint) < 0) {
        int e = errno;
        zsock_destroy(&sock);
        return wq_err_set(err, WQ_E_IO, what, "cannot bind the %s socket to %s: %s (is another collector running?)",
                          what, endpoint, zmq_strerror(e));
    }
    *out = sock;
    return WQ_OK;
}

int
wq_server_new(const wq_server_opts_t *opts, wq_server_t **out, wq_err_t *err)
{
    int rc = WQ_OK;
    *out = NULL;
    wq_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return wq_err_set(err, WQ_E_NOMEM, NULL, "out of memory");
    self->opts = *opts;
    self->central = opts->central;
    self->peers_path = strdup(opts->peers_path);
    self->sessions = zhashx_new();
    if (!self->peers_path || !self->sessions) {
        rc = wq_err_set(err, WQ_E_NOMEM, NULL, "out of memory");
        goto fail;
    }
    zhashx_set_destructor(self->sessions, s_session_free);
    self->opts.peers_path = self->peers_path;
    self->opts.ingest = self->opts.query = self->opts.cert_path = NULL;   /* not kept */

    rc = wq_curve_load_pair(opts->cert_path, &self->cert, err);
    if (rc != WQ_OK) {
        char text[400];
        wq_err_format(err, text, sizeof text);
        rc = wq_err_set(err, WQ_E_CONFIG, "cert", "the collector's key pair %s: %s (made by `wanqi-collector init`)",
                        opts->cert_path, text);
        goto fail;
    }
    rc = wq_peers_load(self->peers_path, &self->peers, err);
    if (rc != WQ_OK)
        goto fail;
    rc = s_auth_start(self->peers, self->opts.auth_verbose, &self->auth, err);
    if (rc != WQ_OK)
        goto fail;
    rc = s_socket(self, opts->ingest, "ingest", &self->ingest, err);
    if (rc != WQ_OK)
        goto fail;
    rc = s_socket(self, opts->query, "query", &self->query, err);
    if (rc != WQ_OK)
        goto fail;
    size_t agents = 0;
    for (size_t i = 0; i < wq_peers_count(self->peers); i++)
        agents += wq_peers_at(self->peers, i)->kind == WQ_PEER_AGENT;
    wq_info("listening: ingest %s, query %s; public key %s; %zu agents and %zu query clients authorized",
            opts->ingest, opts->query, zcert_public_txt(self->cert), agents, wq_peers_count(self->peers) - agents);
    self->last_sweep = self->last_stats = wq_mono_ms();
    *out = self;
    return WQ_OK;
fail:
    wq_server_destroy(&self);
    return rc;
}

void
wq_server_destroy(wq_server_t **selfp)
{
    if (!selfp || !*selfp)
        return;
    wq_server_t *self = *selfp;
    zsock_destroy(&self->ingest);
    zsock_destroy(&self->query);
    zactor_destroy(&self->auth);
    zcert_destroy(&self->cert);
    wq_peers_destroy(&self->peers);
    zhashx_destroy(&self->sessions);
    free(self->peers_path);
    free(self);
    *selfp = NULL;
}

int
wq_server_reload_peers(wq_server_t *self, wq_err_t *err)
{
    wq_peers_t *peers = NULL;
    zactor_t *auth = NULL;
    int rc = wq_peers_load(self->peers_path, &peers, err);
    if (rc != WQ_OK)
        return rc;
    /* Only one ZAP handler may exist: stop the old one first. In between,
       ZAP_ENFORCE_DOMAIN makes handshakes fail (clients retry). */
    zactor_destroy(&self->auth);
    rc = s_auth_start(peers, self->opts.auth_verbose, &auth, err);
    if (rc != WQ_OK) {
        /* Keep the old list in force. */
        wq_peers_destroy(&peers);
        wq_err_t e2;
        if (s_auth_start(self->peers, self->opts.auth_verbose, &self->auth, &e2) != WQ_OK)
            wq_error("ZAP handler could not be restarted: %s; no peer can connect until restart", e2.text);
        return rc;
    }
    self->auth = auth;
    wq_peers_destroy(&self->peers);
    self->peers = peers;
    wq_info("peers reloaded from %s: %zu authorized", self->peers_path, wq_peers_count(peers));
    return WQ_OK;
}

void
wq_server_stats(const wq_server_t *self, wq_server_stats_t *stats)
{
    *stats = self->stats;
}

/*  ---- replies ------------------------------------------------------------ */

/*  Send an encoded reply to the message's routing id. A reply that cannot
    be delivered is logged and dropped (see the file header). */
static void
s_send_buf(wq_server_t *self, zsock_t *sock, s_in_t *in, int type, const uint8_t *buf, size_t size)
{
    void *handle = zsock_resolve(sock);
    int rc = zmq_send(handle, zmq_msg_data(&in->rid), zmq_msg_size(&in->rid), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0)
        rc = zmq_send(handle, buf, size, ZMQ_DONTWAIT);
    if (rc < 0) {
        self->stats.undeliverable++;
        wq_warn("%s to %s not delivered (%s): the peer has gone or is not reading; it will time out and "
                "reconnect",
                wq_msg_type_name(type), in->key, zmq_strerror(errno));
    }
}

/*  Encode and send msg. Returns the encoder's code (the reply is not sent
    if it cannot be encoded; that is logged). */
static int
s_send(wq_server_t *self, zsock_t *sock, s_in_t *in, const wq_msg_t *msg)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    wq_err_t err;
    wq_err_clear(&err);
    int rc = wq_msg_encode(msg, &buf, &size, &err);
    if (rc != WQ_OK) {
        char text[400];
        wq_error("cannot encode %s for %s: %s", wq_msg_type_name(msg->type), in->key,
                 wq_err_format(&err, text, sizeof text));
        return rc;
    }
    s_send_buf(self, sock, in, msg->type, buf, size);
    free(buf);
    return WQ_OK;
}

static void
s_send_error(wq_server_t *self, zsock_t *sock, s_in_t *in, int code, uint64_t expected, const char *text)
{
    wq_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.type = WQ_MSG_ERROR;
    msg.error.code = (uint32_t) code;
    msg.error.expected_seq = expected;
    char buf[WQ_TEXT_MAX];
    snprintf(buf, sizeof buf, "%s", text);
    msg.error.text = buf;
    self->stats.errors_sent++;
    s_send(self, sock, in, &msg);
}

static void
s_send_err(wq_server_t *self, zsock_t *sock, s_in_t *in, const wq_err_t *err)
{
    char text[WQ_TEXT_MAX];
    wq_err_format(err, text, sizeof text);
    s_send_error(self, sock, in, err->code ? err->code : WQ_E_INTERNAL, 0, text);
}

/*  ---- receiving ---------------------------------------------------------- */

/*  Receive one message without blocking. Returns 1 if one was received
    (in filled: close its parts with s_in_close), 0 if none is waiting,
    -1 on a socket error. */
static int
s_recv(zsock_t *sock, s_in_t *in)
{
    void *handle = zsock_resolve(sock);
    memset(in, 0, sizeof *in);
    zmq_msg_init(&in->rid);
    zmq_msg_init(&in->body);
    if (zmq_msg_recv(&in->rid, handle, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&in->rid);
        zmq_msg_close(&in->body);
        if (e == EAGAIN || e == EINTR)
            return 0;
        errno = e;
        return -1;
    }
    /* Read every further part; keep the first as the body. */
    bool more = zmq_msg_more(&in->rid);
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(in->parts == 0 ? &in->body : &part, handle, 0) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(in->parts == 0 ? &in->body : &part);
        zmq_msg_close(&part);
        in->parts++;
    }
    size_t n = zmq_msg_size(&in->rid);
    if (n > S_MAX_ROUTING_ID)
        n = S_MAX_ROUTING_ID;
    const uint8_t *p = zmq_msg_data(&in->rid);
    for (size_t i = 0; i < n; i++)
        snprintf(in->rid_hex + 2 * i, 3, "%02x", p[i]);
    const char *user = in->parts > 0 ? zmq_msg_gets(&in->body, "User-Id") : NULL;
    snprintf(in->key, sizeof in->key, "%s", user ? user : "");
    return 1;
}

static void
s_in_close(s_in_t *in)
{
    zmq_msg_close(&in->rid);
    zmq_msg_close(&in->body);
}

/*  Check the framing and decode. On failure an ERROR has been sent and
    NULL is returned. */
static wq_msg_t *
s_decode(wq_server_t *self, zsock_t *sock, s_in_t *in, const char *who)
{
    wq_err_t err;
    wq_err_clear(&err);
    if (in->parts != 1) {
        wq_warn("%s: message of %d frames, expected 1: refused", who, in->parts);
        s_send_error(self, sock, in, WQ_E_RANGE, 0, "a message must be exactly one frame (proto/PROTOCOL.md)");
        return NULL;
    }
    wq_msg_t *msg = NULL;
    if (wq_msg_decode(zmq_msg_data(&in->body), zmq_msg_size(&in->body), &msg, &err) != WQ_OK) {
        char text[400];
        wq_warn("%s: undecodable message of %zu bytes: %s", who, zmq_msg_size(&in->body),
                wq_err_format(&err, text, sizeof text));
        s_send_err(self, sock, in, &err);
        return NULL;
    }
    return msg;
}

/*  ---- the ingest socket -------------------------------------------------- */

static void
s_on_hello(wq_server_t *self, s_in_t *in, const wq_peer_t *peer, const wq_msg_t *msg)
{
    wq_err_t err;
    wq_err_clear(&err);
    char text[WQ_TEXT_MAX];
    if (strcmp(msg->hello.agent, peer->id) != 0) {
        wq_warn("HELLO from key %s claims agent \"%s\" but the key is authorized for agent %s: refused", in->key,
                msg->hello.agent, peer->id);
        snprintf(text, sizeof text,
                 "this key is authorized for agent %s, not \"%s\": check the agent's configuration "
                 "or its entry in the collector's peers file",
                 peer->id, msg->hello.agent);
        s_send_error(self, self->ingest, in, WQ_E_AUTH, 0, text);
        return;
    }
    if (msg->hello.inc == 0) {
        s_send_error(self, self->ingest, in, WQ_E_RANGE, 0, "hello.inc: an incarnation is never 0");
        return;
    }
    uint64_t now = wq_now_ms();
    uint64_t hwm = 0;
    int rc = wq_central_touch(self->central, peer->id, peer->county, msg->hello.inc, msg->hello.last_seq,
                              msg->hello.queued, now, &err);
    if (rc == WQ_OK)
        rc = wq_central_hwm(self->central, peer->id, msg->hello.inc, &hwm, &err);
    if (rc != WQ_OK) {
        wq_error("HELLO from agent %s: store error: %s", peer->id, wq_err_format(&err, text, sizeof text));
        s_send_err(self, self->ingest, in, &err);
        return;
    }
    s_session_t *session = zhashx_lookup(self->sessions, in->rid_hex);
    if (!session) {
        if (zhashx_size(self->sessions) >= S_MAX_SESSIONS) {
            s_send_error(self, self->ingest, in, WQ_E_BUSY, 0, "too many connections; retry later");
            return;
        }
        session = calloc(1, sizeof *session);
        if (!session || zhashx_insert(self->sessions, in->rid_hex, session) != 0) {
            free(session);
            s_send_error(self, self->ingest, in, WQ_E_NOMEM, 0, "collector out of memory; retry later");
            return;
        }
    }
    snprintf(session->key, sizeof session->key, "%s", in->key);
    snprintf(session->agent, sizeof session->agent, "%s", peer->id);
    session->inc = msg->hello.inc;
    session->last_mono = wq_mono_ms();
    if (msg->hello.last_seq < hwm)
        wq_warn("agent %s inc %08x says its outbox ends at seq %" PRIu64 " but the collector holds up to %" PRIu64
                ": if its outbox was restored from a backup, re-initialise the agent (new incarnation), "
                "else its next records would be taken for duplicates",
                peer->id, msg->hello.inc, msg->hello.last_seq, hwm);
    wq_info("agent %s (county %s) connected: %s, inc %08x, its last seq %" PRIu64 ", %" PRIu64
            " queued; collector mark %" PRIu64,
            peer->id, peer->county, msg->hello.software, msg->hello.inc, msg->hello.last_seq, msg->hello.queued,
            hwm);
    wq_msg_t reply;
    memset(&reply, 0, sizeof reply);
    reply.type = WQ_MSG_WELCOME;
    reply.welcome.inc = msg->hello.inc;
    reply.welcome.hwm = hwm;
    reply.welcome.credit = self->opts.credit;
    reply.welcome.max_batch = self->opts.max_batch;
    reply.welcome.heartbeat_ms = self->opts.heartbeat_ms;
    /* Compressed batches, only for an agent that offered them (PROTOCOL.md 6.3). */
    reply.welcome.zstd_answer = msg->hello.zstd_offer;
    reply.welcome.zstd_on = msg->hello.zstd_offer
                            && wq_zbatch_choose(msg->hello.zstd, msg->hello.nzstd, &reply.welcome.zstd_dict);
    s_send(self, self->ingest, in, &reply);
}

/*  The session of this connection for incarnation inc, or NULL after an
    E_STATE reply. */
static s_session_t *
s_session(wq_server_t *self, s_in_t *in, const wq_peer_t *peer, uint32_t inc, const char *what)
{
    s_session_t *session = zhashx_lookup(self->sessions, in->rid_hex);
    char text[WQ_TEXT_MAX];
    if (!session || strcmp(session->key, in->key) != 0) {
        wq_debug("%s from agent %s before HELLO: E_STATE", what, peer->id);
        snprintf(text, sizeof text, "%s before HELLO on this connection (collector restarted?): send HELLO", what);
        s_send_error(self, self->ingest, in, WQ_E_STATE, 0, text);
        return NULL;
    }
    if (session->inc != inc) {
        wq_warn("%s from agent %s for inc %08x, but HELLO said inc %08x: E_STATE", what, peer->id, inc,
                session->inc);
        snprintf(text, sizeof text, "%s for incarnation %08x, but this connection said HELLO for %08x: send HELLO",
                 what, inc, session->inc);
        s_send_error(self, self->ingest, in, WQ_E_STATE, 0, text);
        return NULL;
    }
    session->last_mono = wq_mono_ms();
    return session;
}

static void
s_on_batch(wq_server_t *self, s_in_t *in, const wq_peer_t *peer, const wq_msg_t *msg)
{
    if (!s_session(self, in, peer, msg->batch.inc, "BATCH"))
        return;
    wq_err_t err;
    wq_err_clear(&err);
    char text[WQ_TEXT_MAX];
    wq_ingest_result_t res;
    memset(&res, 0, sizeof res);
    uint64_t first = msg->batch.first_seq;
    uint64_t last = first + msg->batch.count - 1;
    int rc = wq_central_ingest(self->central, peer->id, peer->county, msg->batch.inc, first, msg->batch.records,
                               msg->batch.count, wq_now_ms(), &res, &err);
    if (rc == WQ_OK) {
        self->stats.batches++;
        self->stats.records_stored += res.stored;
        self->stats.records_duplicate += res.duplicates;
        self->stats.records_quarantined += res.nquarantined;
        wq_debug("agent %s inc %08x: batch %" PRIu64 "..%" PRIu64 ": %zu stored, %zu duplicates, %zu quarantined; "
                 "mark %" PRIu64,
                 peer->id, msg->batch.inc, first, last, res.stored, res.duplicates, res.nquarantined, res.hwm);
        for (size_t i = 0; i < res.nquarantined; i++)
            wq_info("agent %s inc %08x seq %" PRIu64 " quarantined (%s): %s", peer->id, msg->batch.inc,
                    res.quarantined[i].seq, wq_errname((int) res.quarantined[i].code),
                    res.quarantined[i].reason ? res.quarantined[i].reason : "");
        wq_msg_t reply;
        memset(&reply, 0, sizeof reply);
        reply.type = WQ_MSG_ACK;
        reply.ack.inc = msg->batch.inc;
        reply.ack.hwm = res.hwm;
        reply.ack.count = res.nquarantined;
        reply.ack.quarantined = res.quarantined;
        if (s_send(self, self->ingest, in, &reply) != WQ_OK) {
            /* Committed but not encodable (a reason over the limits?):
               the ACK must still go, or the agent would resend forever.
               Send the codes' names as reasons. */
            for (size_t i = 0; i < res.nquarantined; i++) {
                free(res.quarantined[i].reason);
                res.quarantined[i].reason = strdup(wq_errname((int) res.quarantined[i].code));
            }
            s_send(self, self->ingest, in, &reply);
        }
    } else if (rc == WQ_E_GAP) {
        wq_info("agent %s inc %08x: batch starts at %" PRIu64 " but the mark is %" PRIu64 ": E_GAP, expecting %" PRIu64,
                peer->id, msg->batch.inc, first, res.hwm, res.hwm + 1);
        snprintf(text, sizeof text, "batch starts at seq %" PRIu64 "; the collector holds up to %" PRIu64
                 ": resend from %" PRIu64, first, res.hwm, res.hwm + 1);
        s_send_error(self, self->ingest, in, WQ_E_GAP, res.hwm + 1, text);
    } else if (rc == WQ_E_FULL) {
        wq_error("STORE FULL: batch %" PRIu64 "..%" PRIu64 " from agent %s NOT stored (nothing acknowledged): %s. "
                 "Raise map_size in collector.conf (or --map-size) and restart the collector; agents keep "
                 "their records and resend.",
                 first, last, peer->id, wq_err_format(&err, text, sizeof text));
        s_send_error(self, self->ingest, in, WQ_E_FULL, 0,
                     "the collector's store is full; nothing of this batch was stored: retry later");
    } else {
        wq_error("batch %" PRIu64 "..%" PRIu64 " from agent %s not stored: %s", first, last, peer->id,
                 wq_err_format(&err, text, sizeof text));
        s_send_err(self, self->ingest, in, &err);
    }
    wq_ingest_result_clear(&res);
}

static void
s_on_ping(wq_server_t *self, s_in_t *in, const wq_peer_t *peer, const wq_msg_t *msg)
{
    if (!s_session(self, in, peer, msg->ping.inc, "PING"))
        return;
    wq_err_t err;
    wq_err_clear(&err);
    uint64_t hwm = 0;
    int rc = wq_central_touch(self->central, peer->id, peer->county, msg->ping.inc, msg->ping.last_seq,
                              msg->ping.queued, wq_now_ms(), &err);
    if (rc == WQ_OK)
        rc = wq_central_hwm(self->central, peer->id, msg->ping.inc, &hwm, &err);
    if (rc != WQ_OK) {
        char text[400];
        wq_error("PING from agent %s: store error: %s", peer->id, wq_err_format(&err, text, sizeof text));
        s_send_err(self, self->ingest, in, &err);
        return;
    }
    wq_msg_t reply;
    memset(&reply, 0, sizeof reply);
    reply.type = WQ_MSG_PONG;
    reply.pong.inc = msg->ping.inc;
    reply.pong.hwm = hwm;
    s_send(self, self->ingest, in, &reply);
}

static void
s_handle_ingest(wq_server_t *self, s_in_t *in)
{
    const wq_peer_t *peer = wq_peers_find_key(self->peers, in->key);
    char text[WQ_TEXT_MAX];
    if (!peer || peer->kind != WQ_PEER_AGENT) {
        wq_warn("ingest: message from key %s, which is %s: refused", in->key[0] ? in->key : "(none)",
                peer ? "authorized as a query client, not an agent" : "no longer authorized");
        snprintf(text, sizeof text, "key %s is not authorized as an agent on this collector", in->key);
        s_send_error(self, self->ingest, in, WQ_E_AUTH, 0, text);
        return;
    }
    char who[128];
    snprintf(who, sizeof who, "agent %s", peer->id);
    wq_msg_t *msg = s_decode(self, self->ingest, in, who);
    if (!msg)
        return;
    switch (msg->type) {
    case WQ_MSG_HELLO: s_on_hello(self, in, peer, msg); break;
    case WQ_MSG_BATCH: s_on_batch(self, in, peer, msg); break;
    case WQ_MSG_PING: s_on_ping(self, in, peer, msg); break;
    default:
        wq_warn("%s sent %s on the ingest socket: refused", who, wq_msg_type_name(msg->type));
        snprintf(text, sizeof text, "%s is not valid on the ingest socket (HELLO, BATCH, PING are)",
                 wq_msg_type_name(msg->type));
        s_send_error(self, self->ingest, in, WQ_E_STATE, 0, text);
        break;
    }
    wq_msg_destroy(&msg);
}

/*  ---- the query socket --------------------------------------------------- */

static void
s_send_result(wq_server_t *self, s_in_t *in, uint64_t request_id, int status, const char *text, wq_table_t *table)
{
    wq_msg_t reply;
    memset(&reply, 0, sizeof reply);
    reply.type = WQ_MSG_RESULT;
    reply.result.request_id = request_id;
    reply.result.status = (uint32_t) status;
    char buf[WQ_TEXT_MAX];
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    reply.result.text = buf;
    reply.result.table = status == WQ_OK ? table : NULL;
    uint8_t *enc = NULL;
    size_t size = 0;
    wq_err_t err;
    wq_err_clear(&err);
    if (wq_msg_encode(&reply, &enc, &size, &err) == WQ_OK) {
        s_send_buf(self, self->query, in, WQ_MSG_RESULT, enc, size);
        free(enc);
        return;
    }
    /* A result over the message limits: say so instead of dropping it. */
    char etext[400];
    wq_warn("query result not sendable: %s", wq_err_format(&err, etext, sizeof etext));
    snprintf(buf, sizeof buf, "the result is too large to send (%s): narrow the query (--area, --from, --to)",
             err.text);
    reply.result.status = (uint32_t) (err.code ? err.code : WQ_E_RANGE);
    reply.result.table = NULL;
    s_send(self, self->query, in, &reply);
}

static void
s_handle_query(wq_server_t *self, s_in_t *in)
{
    const wq_peer_t *peer = wq_peers_find_key(self->peers, in->key);
    char text[WQ_TEXT_MAX];
    char who[128];
    snprintf(who, sizeof who, "query client %s", peer ? peer->id : in->key);
    wq_msg_t *msg = s_decode(self, self->query, in, who);
    if (!msg)
        return;
    if (msg->type != WQ_MSG_QUERY) {
        wq_warn("%s sent %s on the query socket: refused", who, wq_msg_type_name(msg->type));
        snprintf(text, sizeof text, "%s is not valid on the query socket (QUERY is)", wq_msg_type_name(msg->type));
        s_send_error(self, self->query, in, WQ_E_STATE, 0, text);
        goto done;
    }
    uint64_t rid = msg->query.request_id;
    if (!peer || peer->kind != WQ_PEER_CLIENT) {
        wq_warn("query from key %s, which is %s: refused", in->key,
                peer ? "authorized as an agent, not a query client" : "no longer authorized");
        snprintf(text, sizeof text,
                 "key %s is not authorized as a query client (agents' keys may not query): "
                 "run `wanqi-collector authorize client --key KEY --name NAME` on the collector",
                 in->key);
        s_send_result(self, in, rid, WQ_E_AUTH, text, NULL);
        goto done;
    }
    self->stats.queries++;
    wq_err_t err;
    wq_err_clear(&err);
    wq_table_t *table = NULL;
    uint64_t t0 = wq_mono_ms();
    int rc = wq_central_query(self->central, msg->query.name, msg->query.params, msg->query.count, &table, &err);
    if (rc == WQ_OK) {
        wq_debug("%s: %s -> %zu rows in %" PRIu64 " ms", who, msg->query.name, wq_table_nrows(table),
                 wq_mono_ms() - t0);
        s_send_result(self, in, rid, WQ_OK, "", table);
    } else {
        wq_err_format(&err, text, sizeof text);
        if (rc == WQ_E_IO || rc == WQ_E_CORRUPT || rc == WQ_E_NOMEM || rc == WQ_E_INTERNAL)
            wq_error("%s: query %s failed: %s", who, msg->query.name, text);
        else
            wq_debug("%s: query %s refused: %s", who, msg->query.name, text);
        s_send_result(self, in, rid, rc, text, NULL);
    }
    wq_table_destroy(&table);
done:
    wq_msg_destroy(&msg);
}

/*  ---- the loop ----------------------------------------------------------- */

static void
s_housekeeping(wq_server_t *self)
{
    uint64_t now = wq_mono_ms();
    if (now - self->last_sweep >= 10000) {
        self->last_sweep = now;
        zlistx_t *stale = zlistx_new();
        if (stale) {
            zlistx_set_duplicator(stale, (zlistx_duplicator_fn *) strdup);
            zlistx_set_destructor(stale, (zlistx_destructor_fn *) zstr_free);
            for (s_session_t *s = zhashx_first(self->sessions); s; s = zhashx_next(self->sessions))
                if (now - s->last_mono > self->opts.session_idle_ms)
                    zlistx_add_end(stale, (void *) zhashx_cursor(self->sessions));
            for (const char *k = zlistx_first(stale); k; k = zlistx_next(stale))
                zhashx_delete(self->sessions, k);
            zlistx_destroy(&stale);
        }
    }
    if (now - self->last_stats >= S_STATS_EVERY_MS) {
        self->last_stats = now;
        wq_server_stats_t *s = &self->stats, *l = &self->logged;
        if (s->messages != l->messages)
            wq_info("last minute: %" PRIu64 " batches acked, %" PRIu64 " records stored, %" PRIu64
                    " duplicates, %" PRIu64 " quarantined, %" PRIu64 " errors sent, %" PRIu64 " queries, %" PRIu64
                    " replies undeliverable; %zu agent connections",
                    s->batches - l->batches, s->records_stored - l->records_stored,
                    s->records_duplicate - l->records_duplicate, s->records_quarantined - l->records_quarantined,
                    s->errors_sent - l->errors_sent, s->queries - l->queries, s->undeliverable - l->undeliverable,
                    zhashx_size(self->sessions));
        *l = *s;
    }
}

int
wq_server_run(wq_server_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload, wq_err_t *err)
{
    while (!*stop) {
        if (reload && *reload) {
            *reload = 0;
            wq_err_t rerr;
            wq_err_clear(&rerr);
            if (wq_server_reload_peers(self, &rerr) != WQ_OK)
                wq_error("peers not reloaded, the previous list stays in force: %s", rerr.text);
        }
        zmq_pollitem_t items[2] = {
            {zsock_resolve(self->ingest), 0, ZMQ_POLLIN, 0},
            {zsock_resolve(self->query), 0, ZMQ_POLLIN, 0},
        };
        int n = zmq_poll(items, 2, S_POLL_MS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ETERM)
                break;
            return wq_err_set(err, WQ_E_IO, "poll", "zmq_poll failed: %s", zmq_strerror(errno));
        }
        for (int i = 0; i < 2 && n > 0; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            zsock_t *sock = i == 0 ? self->ingest : self->query;
            for (int k = 0; k < S_DRAIN && !*stop; k++) {
                s_in_t in;
                int r = s_recv(sock, &in);
                if (r == 0)
                    break;
                if (r < 0) {
                    if (errno == ETERM)
                        return WQ_OK;
                    return wq_err_set(err, WQ_E_IO, "recv", "receive on the %s socket failed: %s",
                                      i == 0 ? "ingest" : "query", zmq_strerror(errno));
                }
                self->stats.messages++;
                if (i == 0)
                    s_handle_ingest(self, &in);
                else
                    s_handle_query(self, &in);
                s_in_close(&in);
            }
        }
        s_housekeeping(self);
    }
    return WQ_OK;
}
