/*  =========================================================================
    server - the collector's ingest and query sockets (see server.h)

    The loop polls both ROUTER sockets and handles one message at a time:
    receive [routing id][payload], take the sender's CURVE key from the
    payload's "User-Id" property (set by our ZAP handler, zap.h), map it to
    a peer from the peers file, decode the payload strictly (proto/msg.h),
    act, reply to the same routing id. Nothing that arrives from the
    network can end the loop or crash it: every failure becomes an ERROR
    reply (or a RESULT with a status, for queries) and a log line.

    Agent sessions. A routing id (one connection) becomes a session at
    HELLO: the stream (agent, inc) it announced. BATCH and PING are valid
    only in a session of the same incarnation, else E_STATE, which tells the
    agent to start again at HELLO (as after a collector restart, when every
    routing id is new). Sessions silent for session_idle_ms are forgotten.

    Durability and group commit. The ingest thread takes every BATCH that
    is waiting (up to S_GROUP_BATCHES batches or S_GROUP_RECORDS records),
    in arrival order, and ingests them in one write transaction with one
    durable commit (wq_central_ingest_group); each ACK is sent only after
    that commit returns. A HELLO or PING first flushes the group gathered
    so far, so every connection's messages are handled in order. If an ACK
    cannot be delivered the agent times out, says HELLO again and learns
    the mark from WELCOME.

    Queries never run on the ingest thread. A query thread (zactor
    s_querier) owns the query ROUTER socket and an inproc ROUTER
    backend; S_QUERY_WORKERS worker threads (zactors s_worker), each with
    a DEALER on the backend, run one query at a time in their own LMDB
    read transaction (readers never block the writer, nor it them). The
    query thread hands each QUERY to an idle worker (a worker says it is
    idle by sending a reply, or an empty READY at start) and forwards the
    worker's reply to the client; while no worker is idle, queries wait in
    the socket's queue. The peers list is shared under peers_lock (reload
    swaps it); counters are updated atomically.
    =========================================================================
*/
#include "collector/server.h"
#include "collector/conns.h"
#include "collector/peers.h"
#include "collector/zap.h"
#include "common/date.h"
#include "common/i18n.h"
#include "common/log.h"
#include "proto/curve.h"
#include "proto/zbatch.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define S_ZAP_DOMAIN "wanqi"
#define S_POLL_MS 500
#define S_DRAIN 64              /* messages per socket per poll round */
#define S_MAX_SESSIONS 100000
/*  Connections (sessions) one key may hold: a HELLO on a further one
    forgets the key's least recently active session, so one key can neither
    fill the session table nor lock its own agent out when it reconnects. */
#define S_MAX_SESSIONS_PER_KEY 4
#define S_STATS_EVERY_MS 60000
#define S_MAX_ROUTING_ID 256
#define S_GROUP_BATCHES 64      /* batches per group commit */
#define S_GROUP_RECORDS 8192    /* records per group commit */
#define S_QUERY_WORKERS 3       /* default query worker threads */
#define S_MAX_WORKERS 64
#define S_SNAPS 4               /* paged results kept for their next pages */
#define S_SNAP_MS 60000         /* ... at most this long */
/*  Niceness of each query worker thread (Linux: nice is per thread). The
    ingest thread keeps 0: on a busy machine a loop of queries then takes
    a third of the CPU ingest would (weights 335 vs 1024), not half.
    docs/PERFORMANCE.md has the figures. */
#define S_QUERY_NICE 5

/*  Counters are bumped by the ingest, query and worker threads. */
#define S_COUNT(self, field, n) __atomic_add_fetch(&(self)->stats.field, (uint64_t) (n), __ATOMIC_RELAXED)

typedef struct {
    char key[WQ_KEY_Z85_LEN + 1];   /* the CURVE key of the connection */
    char agent[WQ_PEER_NAME_MAX + 1];
    uint32_t inc;
    uint64_t last_mono;
} s_session_t;

/*  One received message: routing id and payload (the payload keeps its
    metadata, the "User-Id"). */
typedef struct {
    zmq_msg_t rid;
    zmq_msg_t body;
    int parts;                  /* frames after the routing id (and a REQ delimiter) */
    bool req;                   /* came with a REQ envelope: reply with one */
    char rid_hex[2 * S_MAX_ROUTING_ID + 1];
    char key[WQ_KEY_Z85_LEN + 1];
} s_in_t;

/*  A BATCH waiting for the group commit: its message (routing id kept for
    the ACK; msg points into nothing of it) and its sender. */
typedef struct {
    s_in_t in;
    wq_peer_t peer;
    wq_msg_t *msg;
} s_pending_t;

struct wq_server_t {
    wq_server_opts_t opts;
    char *peers_path;
    wq_central_t *central;
    wq_peers_t *peers;
    zcert_t *cert;
    zactor_t *auth;
    pthread_mutex_t peers_lock; /* guards peers: workers read, reload swaps */
    bool lock_made;
    zsock_t *ingest;
    zsock_t *query;             /* until the query thread takes it */
    wq_conns_t *conns;          /* the sockets' TCP connections (conns.h) */
    zactor_t *querier;          /* the query thread, owns the query socket */
    size_t workers;
    pthread_mutex_t snap_lock;  /* guards snaps: the workers share them */
    bool snap_lock_made;
    struct {
        uint64_t id;            /* 0: free */
        char key[WQ_KEY_Z85_LEN + 1];   /* the client's: only it may read on */
        wq_table_t *table;
        uint64_t mono;
    } snaps[S_SNAPS];
    uint64_t snap_seq;
    zhashx_t *sessions;         /* hex routing id -> s_session_t* */
    s_pending_t *pending;       /* S_GROUP_BATCHES: the group being gathered */
    size_t npending, nrecords;
    wq_ingest_batch_t *group;   /* S_GROUP_BATCHES: its wq_central_ingest_group arguments */
    wq_server_stats_t stats;
    wq_server_stats_t logged;   /* stats at the last periodic log line */
    uint64_t last_sweep;
    uint64_t last_stats;
};


static void s_querier(zsock_t *pipe, void *args);
static void s_pending_release(s_pending_t *p);

static void
s_session_free(void **item)
{
    if (item && *item) {
        free(*item);
        *item = NULL;
    }
}

/*  ---- the ZAP handler ---------------------------------------------------- */

/*  Start the ZAP handler that admits exactly the keys in peers (agents and
    clients alike: which socket each may use is checked per message). Our
    own (zap.h), not CZMQ's zauth: refusals at the normal log level with
    key and address, admissions at debug level. */
static int
s_auth_start(const wq_peers_t *peers, zactor_t **out, wq_err_t *err)
{
    return wq_zap_start(peers, S_ZAP_DOMAIN, out, err);
}

/*  ---- sockets ------------------------------------------------------------ */

static int
s_socket(wq_server_t *self, const char *endpoint, const char *what, zsock_t **out, wq_err_t *err)
{
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    if (!sock)
        return wq_err_set(err, WQ_E_IO, what, _("cannot create the %s socket: %s"), what, zmq_strerror(errno));
    zcert_apply(self->cert, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, S_ZAP_DOMAIN);
    /* Refuse every handshake while no ZAP handler runs (e.g. during a
       reload) instead of letting CURVE admit any key. */
    int one = 1;
    if (zmq_setsockopt(zsock_resolve(sock), 93 /* ZMQ_ZAP_ENFORCE_DOMAIN */, &one, sizeof one) != 0)
        wq_warn(_("%s socket: ZMQ_ZAP_ENFORCE_DOMAIN not supported by this libzmq (%s)"), what,
                zmq_strerror(errno));
    zsock_set_router_mandatory(sock, 1);
    zsock_set_sndtimeo(sock, 0);
    zsock_set_linger(sock, 0);
    zsock_set_maxmsgsize(sock, (int64_t) WQ_MSG_MAX_BYTES + 4096);
    /* A connection that has not finished the CURVE handshake is dropped
       after 10 s (libzmq's default is 30 s), so that unauthenticated
       connections are not held long (issue 10); a slow county link still
       completes a handshake of a few round trips well within it. */
    zsock_set_handshake_ivl(sock, 10000);
    zsock_set_rcvhwm(sock, 10000);
    zsock_set_sndhwm(sock, 10000);
    zsock_set_tcp_keepalive(sock, 1);
    zsock_set_tcp_keepalive_idle(sock, 120);
    if (zsock_bind(sock, "%s", endpoint) < 0) {
        int e = errno;
        zsock_destroy(&sock);
        return wq_err_set(err, WQ_E_IO, what, _("cannot bind the %s socket to %s: %s (is another collector running?)"),
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
        return wq_err_set(err, WQ_E_NOMEM, NULL, _("out of memory"));
    self->opts = *opts;
    self->central = opts->central;
    self->peers_path = strdup(opts->peers_path);
    self->sessions = zhashx_new();
    self->pending = calloc(S_GROUP_BATCHES, sizeof *self->pending);
    self->group = calloc(S_GROUP_BATCHES, sizeof *self->group);
    if (pthread_mutex_init(&self->peers_lock, NULL) == 0)
        self->lock_made = true;
    if (pthread_mutex_init(&self->snap_lock, NULL) == 0)
        self->snap_lock_made = true;
    if (!self->peers_path || !self->sessions || !self->pending || !self->group || !self->lock_made
        || !self->snap_lock_made) {
        rc = wq_err_set(err, WQ_E_NOMEM, NULL, _("out of memory"));
        goto fail;
    }
    zhashx_set_destructor(self->sessions, s_session_free);
    self->opts.peers_path = self->peers_path;
    self->opts.ingest = self->opts.query = self->opts.cert_path = NULL;   /* not kept */

    rc = wq_curve_load_pair(opts->cert_path, &self->cert, err);
    if (rc != WQ_OK) {
        char text[400];
        wq_err_format(err, text, sizeof text);
        rc = wq_err_set(err, WQ_E_CONFIG, "cert", _("the collector's key pair %s: %s (made by `wanqi-collector init`)"),
                        opts->cert_path, text);
        goto fail;
    }
    rc = wq_peers_load(self->peers_path, &self->peers, err);
    if (rc != WQ_OK)
        goto fail;
    rc = s_auth_start(self->peers, &self->auth, err);
    if (rc != WQ_OK)
        goto fail;
    rc = s_socket(self, opts->ingest, "ingest", &self->ingest, err);
    if (rc != WQ_OK)
        goto fail;
    rc = s_socket(self, opts->query, "query", &self->query, err);
    if (rc != WQ_OK)
        goto fail;
    /* Follow the connections (per-address limit, revoked keys' connections
       closed, bytes buffered bounded: conns.h); both monitors before the
       query thread takes its socket. */
    rc = wq_conns_new(opts->unauth_per_address, opts->buffer_max, &self->conns, err);
    if (rc == WQ_OK)
        rc = wq_conns_watch(self->conns, zsys_init(), zsock_resolve(self->ingest), "ingest", err);
    if (rc == WQ_OK)
        rc = wq_conns_watch(self->conns, zsys_init(), zsock_resolve(self->query), "query", err);
    if (rc == WQ_OK)
        rc = wq_conns_start(self->conns, err);
    if (rc != WQ_OK)
        goto fail;
    self->workers = opts->query_workers ? opts->query_workers : S_QUERY_WORKERS;
    if (self->workers > S_MAX_WORKERS)
        self->workers = S_MAX_WORKERS;
    /* The query thread takes the query socket (zactor_new is the memory
       barrier a socket needs to change threads). */
    self->querier = zactor_new(s_querier, self);
    if (!self->querier) {
        rc = wq_err_set(err, WQ_E_IO, "query", _("cannot start the query thread"));
        goto fail;
    }
    size_t agents = 0;
    for (size_t i = 0; i < wq_peers_count(self->peers); i++)
        agents += wq_peers_at(self->peers, i)->kind == WQ_PEER_AGENT;
    wq_info(_("listening: ingest %s, query %s (%zu query workers); public key %s; %zu agents and %zu query clients "
            "authorized"),
            opts->ingest, opts->query, self->workers, zcert_public_txt(self->cert), agents,
            wq_peers_count(self->peers) - agents);
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
    zactor_destroy(&self->querier);     /* stops the workers, closes the query socket */
    for (size_t i = 0; self->pending && i < self->npending; i++)
        s_pending_release(&self->pending[i]);
    free(self->pending);
    free(self->group);
    wq_conns_destroy(&self->conns);    /* the watchdog first: it may shut connections down */
    zsock_destroy(&self->ingest);
    zsock_destroy(&self->query);
    zactor_destroy(&self->auth);
    zcert_destroy(&self->cert);
    wq_peers_destroy(&self->peers);
    zhashx_destroy(&self->sessions);
    if (self->lock_made)
        pthread_mutex_destroy(&self->peers_lock);
    for (size_t i = 0; i < S_SNAPS; i++)
        wq_table_destroy(&self->snaps[i].table);
    if (self->snap_lock_made)
        pthread_mutex_destroy(&self->snap_lock);
    free(self->peers_path);
    free(self);
    *selfp = NULL;
}

int
wq_server_reload_peers(wq_server_t *self, wq_err_t *err)
{
    wq_peers_t *peers = NULL;
    int rc = wq_peers_load(self->peers_path, &peers, err);
    if (rc != WQ_OK)
        return rc;
    /* The running ZAP handler takes the new list (no gap in which
       handshakes would fail, no second handler on its endpoint). */
    rc = wq_zap_reload(self->auth, peers, err);
    if (rc != WQ_OK) {
        wq_peers_destroy(&peers);   /* the old list stays in force */
        return rc;
    }
    pthread_mutex_lock(&self->peers_lock);
    wq_peers_t *old = self->peers;
    self->peers = peers;
    pthread_mutex_unlock(&self->peers_lock);
    wq_peers_destroy(&old);
    wq_info(_("peers reloaded from %s: %zu authorized"), self->peers_path, wq_peers_count(peers));
    /* A revoked key's open connections are closed now, idle or not. */
    size_t closed = wq_conns_close_unlisted(self->conns, peers);
    if (closed > 0)
        wq_info(_("closed %zu connections of keys no longer in %s"), closed, self->peers_path);
    return WQ_OK;
}

void
wq_server_stats(const wq_server_t *self, wq_server_stats_t *stats)
{
    const wq_server_stats_t *s = &self->stats;
    stats->messages = __atomic_load_n(&s->messages, __ATOMIC_RELAXED);
    stats->batches = __atomic_load_n(&s->batches, __ATOMIC_RELAXED);
    stats->records_stored = __atomic_load_n(&s->records_stored, __ATOMIC_RELAXED);
    stats->records_duplicate = __atomic_load_n(&s->records_duplicate, __ATOMIC_RELAXED);
    stats->records_quarantined = __atomic_load_n(&s->records_quarantined, __ATOMIC_RELAXED);
    stats->errors_sent = __atomic_load_n(&s->errors_sent, __ATOMIC_RELAXED);
    stats->queries = __atomic_load_n(&s->queries, __ATOMIC_RELAXED);
    stats->undeliverable = __atomic_load_n(&s->undeliverable, __ATOMIC_RELAXED);
    stats->groups = __atomic_load_n(&s->groups, __ATOMIC_RELAXED);
}

/*  Copy the peer with this key into *out (query workers run while the
    ingest thread may reload the list). */
static bool
s_peer_find(wq_server_t *self, const char *key, wq_peer_t *out)
{
    pthread_mutex_lock(&self->peers_lock);
    const wq_peer_t *p = wq_peers_find_key(self->peers, key);
    if (p)
        *out = *p;
    pthread_mutex_unlock(&self->peers_lock);
    return p != NULL;
}

/*  ---- replies ------------------------------------------------------------ */

/*  Send an encoded reply to the message's routing id. A reply that cannot
    be delivered is logged and dropped (see the file header). */
static void
s_send_buf(wq_server_t *self, zsock_t *sock, s_in_t *in, int type, const uint8_t *buf, size_t size)
{
    void *handle = zsock_resolve(sock);
    int rc = zmq_send(handle, zmq_msg_data(&in->rid), zmq_msg_size(&in->rid), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0 && in->req)
        rc = zmq_send(handle, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0)
        rc = zmq_send(handle, buf, size, ZMQ_DONTWAIT);
    if (rc < 0) {
        S_COUNT(self, undeliverable, 1);
        wq_warn(_("%s to %s not delivered (%s): the peer has gone or is not reading; it will time out and "
                "reconnect"),
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
        wq_error(_("cannot encode %s for %s: %s"), wq_msg_type_name(msg->type), in->key,
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
    S_COUNT(self, errors_sent, 1);
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
    /* Read every further part; keep the first as the body. A REQ client's
       message is [empty delimiter][body]: the delimiter is dropped, and the
       reply gets one back (in->req), so that REQ clients work
       (proto/PROTOCOL.md section 2). Further parts are counted and freed as
       they are read: the collector keeps one frame per message. */
    bool more = zmq_msg_more(&in->rid);
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, handle, 0) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (in->parts == 0 && !in->req && zmq_msg_size(&part) == 0 && more) {
            in->req = true;         /* the REQ envelope's delimiter */
            zmq_msg_close(&part);
            continue;
        }
        if (in->parts == 0)
            zmq_msg_move(&in->body, &part);
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

/*  Check the framing and decode. On failure it is logged, NULL is
    returned and *err says why (the caller replies with it). */
static wq_msg_t *
s_decode(s_in_t *in, const char *who, wq_err_t *err)
{
    wq_err_clear(err);
    if (in->parts != 1) {
        wq_warn(_("%s: message of %d frames, expected 1: refused"), who, in->parts);
        wq_err_set(err, WQ_E_RANGE, NULL, _("a message must be exactly one frame (proto/PROTOCOL.md)"));
        return NULL;
    }
    wq_msg_t *msg = NULL;
    if (wq_msg_decode(zmq_msg_data(&in->body), zmq_msg_size(&in->body), &msg, err) != WQ_OK) {
        char text[400];
        wq_warn(_("%s: undecodable message of %zu bytes: %s"), who, zmq_msg_size(&in->body),
                wq_err_format(err, text, sizeof text));
        return NULL;
    }
    return msg;
}

/*  ---- the ingest socket -------------------------------------------------- */

/*  Before key opens one more session: if it holds S_MAX_SESSIONS_PER_KEY
    already, forget its least recently active one (its connection, if
    still open, then gets E_STATE and says HELLO again). */
static void
s_limit_key_sessions(wq_server_t *self, const char *key)
{
    size_t n = 0;
    const char *oldest = NULL;
    uint64_t oldest_mono = UINT64_MAX;
    for (s_session_t *s = zhashx_first(self->sessions); s; s = zhashx_next(self->sessions)) {
        if (strcmp(s->key, key) != 0)
            continue;
        n++;
        if (s->last_mono < oldest_mono) {
            oldest_mono = s->last_mono;
            oldest = zhashx_cursor(self->sessions);
        }
    }
    if (n >= S_MAX_SESSIONS_PER_KEY && oldest) {
        char victim[2 * S_MAX_ROUTING_ID + 1];
        snprintf(victim, sizeof victim, "%s", oldest);
        wq_warn(_("key %s holds %zu sessions: forgetting its least recently active one"), key, n);
        zhashx_delete(self->sessions, victim);
    }
}

/*  A key that is no longer authorized: forget every session it holds (the
    caller also closes its connections: conns.h). */
static void
s_forget_key(wq_server_t *self, const char *key)
{
    zlistx_t *gone = zlistx_new();
    if (!gone)
        return;
    zlistx_set_duplicator(gone, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor(gone, (zlistx_destructor_fn *) zstr_free);
    for (s_session_t *s = zhashx_first(self->sessions); s; s = zhashx_next(self->sessions))
        if (strcmp(s->key, key) == 0)
            zlistx_add_end(gone, (void *) zhashx_cursor(self->sessions));
    for (const char *k = zlistx_first(gone); k; k = zlistx_next(gone))
        zhashx_delete(self->sessions, k);
    zlistx_destroy(&gone);
}

static void s_flush(wq_server_t *self);

static void
s_on_hello(wq_server_t *self, s_in_t *in, const wq_peer_t *peer, const wq_msg_t *msg)
{
    wq_err_t err;
    wq_err_clear(&err);
    char text[WQ_TEXT_MAX];
    if (strcmp(msg->hello.agent, peer->id) != 0) {
        wq_warn(_("HELLO from key %s claims agent \"%s\" but the key is authorized for agent %s: refused"), in->key,
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
        wq_error(_("HELLO from agent %s: store error: %s"), peer->id, wq_err_format(&err, text, sizeof text));
        s_send_err(self, self->ingest, in, &err);
        return;
    }
    s_session_t *session = zhashx_lookup(self->sessions, in->rid_hex);
    if (!session)
        s_limit_key_sessions(self, in->key);
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
        wq_warn(_("agent %s inc %08x says its outbox ends at seq %" PRIu64 " but the collector holds up to %" PRIu64
                ": if its outbox was restored from a backup, re-initialise the agent (new incarnation), "
                "else its next records would be taken for duplicates"),
                peer->id, msg->hello.inc, msg->hello.last_seq, hwm);
    wq_info(_("agent %s (county %s) connected: %s, inc %08x, its last seq %" PRIu64 ", %" PRIu64
            " queued; collector mark %" PRIu64),
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
        s_flush(self);          /* replies in the order of the messages */
        wq_debug("%s from agent %s before HELLO: E_STATE", what, peer->id);
        snprintf(text, sizeof text, "%s before HELLO on this connection (collector restarted?): send HELLO", what);
        s_send_error(self, self->ingest, in, WQ_E_STATE, 0, text);
        return NULL;
    }
    if (session->inc != inc) {
        s_flush(self);
        wq_warn(_("%s from agent %s for inc %08x, but HELLO said inc %08x: E_STATE"), what, peer->id, inc,
                session->inc);
        snprintf(text, sizeof text, "%s for incarnation %08x, but this connection said HELLO for %08x: send HELLO",
                 what, inc, session->inc);
        s_send_error(self, self->ingest, in, WQ_E_STATE, 0, text);
        return NULL;
    }
    session->last_mono = wq_mono_ms();
    return session;
}

/*  Reply to one batch of a group after the group's commit: ACK (the
    batch is durable), or the ERROR its outcome calls for. */
static void
s_batch_reply(wq_server_t *self, s_pending_t *p, wq_ingest_batch_t *b)
{
    const wq_msg_t *msg = p->msg;
    const wq_peer_t *peer = &p->peer;
    s_in_t *in = &p->in;
    wq_ingest_result_t *res = &b->res;
    char text[WQ_TEXT_MAX];
    uint64_t first = msg->batch.first_seq;
    uint64_t last = first + msg->batch.count - 1;
    if (b->rc == WQ_OK) {
        S_COUNT(self, batches, 1);
        S_COUNT(self, records_stored, res->stored);
        S_COUNT(self, records_duplicate, res->duplicates);
        S_COUNT(self, records_quarantined, res->nquarantined);
        wq_debug("agent %s inc %08x: batch %" PRIu64 "..%" PRIu64 ": %zu stored, %zu duplicates, %zu quarantined; "
                 "mark %" PRIu64,
                 peer->id, msg->batch.inc, first, last, res->stored, res->duplicates, res->nquarantined, res->hwm);
        for (size_t i = 0; i < res->nquarantined; i++)
            wq_info(_("agent %s inc %08x seq %" PRIu64 " quarantined (%s): %s"), peer->id, msg->batch.inc,
                    res->quarantined[i].seq, wq_errname((int) res->quarantined[i].code),
                    res->quarantined[i].reason ? res->quarantined[i].reason : "");
        wq_msg_t reply;
        memset(&reply, 0, sizeof reply);
        reply.type = WQ_MSG_ACK;
        reply.ack.inc = msg->batch.inc;
        reply.ack.hwm = res->hwm;
        reply.ack.count = res->nquarantined;
        reply.ack.quarantined = res->quarantined;
        if (s_send(self, self->ingest, in, &reply) != WQ_OK) {
            /* Committed but not encodable (a reason over the limits?):
               the ACK must still go, or the agent would resend forever.
               Send the codes' names as reasons. */
            for (size_t i = 0; i < res->nquarantined; i++) {
                free(res->quarantined[i].reason);
                res->quarantined[i].reason = strdup(wq_errname((int) res->quarantined[i].code));
            }
            s_send(self, self->ingest, in, &reply);
        }
    } else if (b->rc == WQ_E_GAP) {
        wq_info(_("agent %s inc %08x: batch starts at %" PRIu64 " but the mark is %" PRIu64 ": E_GAP, expecting %" PRIu64),
                peer->id, msg->batch.inc, first, res->hwm, res->hwm + 1);
        snprintf(text, sizeof text, _("batch starts at seq %" PRIu64 "; the collector holds up to %" PRIu64
                 ": resend from %" PRIu64), first, res->hwm, res->hwm + 1);
        s_send_error(self, self->ingest, in, WQ_E_GAP, res->hwm + 1, text);
    } else if (b->rc == WQ_E_QUOTA) {
        /* Refused whole, never dropped: the agent keeps the batch, shows the
           code in `status` and resends (docs/SECURITY.md, per-agent quota). */
        wq_warn(_("agent %s (key %s): batch %" PRIu64 "..%" PRIu64 " refused, over its store quota: %s"), peer->id,
                in->key, first, last, b->err.text);
        s_send_error(self, self->ingest, in, WQ_E_QUOTA, 0, b->err.text);
    } else if (b->rc == WQ_E_FULL) {
        wq_error(_("STORE FULL: batch %" PRIu64 "..%" PRIu64 " from agent %s NOT stored (nothing acknowledged): %s. "
                 "Raise map_size in collector.conf (or --map-size) and restart the collector; agents keep "
                 "their records and resend."),
                 first, last, peer->id, wq_err_format(&b->err, text, sizeof text));
        s_send_error(self, self->ingest, in, WQ_E_FULL, 0,
                     "the collector's store is full; nothing of this batch was stored: retry later");
    } else {
        wq_error(_("batch %" PRIu64 "..%" PRIu64 " from agent %s not stored: %s"), first, last, peer->id,
                 wq_err_format(&b->err, text, sizeof text));
        s_send_err(self, self->ingest, in, &b->err);
    }
}

static void
s_pending_release(s_pending_t *p)
{
    wq_msg_destroy(&p->msg);
    s_in_close(&p->in);
}

/*  Ingest the gathered batches in one transaction and one durable commit,
    then acknowledge each (see the file header). */
static void
s_flush(wq_server_t *self)
{
    if (self->npending == 0)
        return;
    for (size_t i = 0; i < self->npending; i++) {
        s_pending_t *p = &self->pending[i];
        wq_ingest_batch_t *b = &self->group[i];
        memset(b, 0, sizeof *b);
        b->agent = p->peer.id;
        b->county = p->peer.county;
        b->inc = p->msg->batch.inc;
        b->first_seq = p->msg->batch.first_seq;
        b->records = p->msg->batch.records;
        b->count = p->msg->batch.count;
    }
    uint64_t t0 = wq_mono_ms();
    wq_central_ingest_group(self->central, self->group, self->npending, wq_now_ms());
    S_COUNT(self, groups, 1);
    wq_debug("group commit: %zu batches, %zu records, %" PRIu64 " ms", self->npending, self->nrecords,
             wq_mono_ms() - t0);
    for (size_t i = 0; i < self->npending; i++) {
        s_batch_reply(self, &self->pending[i], &self->group[i]);
        wq_ingest_result_clear(&self->group[i].res);
        s_pending_release(&self->pending[i]);
    }
    self->npending = self->nrecords = 0;
}

/*  Keep a BATCH of a valid session for the group commit (takes in's
    frames; in is left empty). */
static void
s_gather(wq_server_t *self, s_in_t *in, const wq_peer_t *peer, wq_msg_t **msg)
{
    s_pending_t *p = &self->pending[self->npending++];
    memset(p, 0, sizeof *p);
    zmq_msg_init(&p->in.rid);
    zmq_msg_init(&p->in.body);
    zmq_msg_move(&p->in.rid, &in->rid);
    zmq_msg_move(&p->in.body, &in->body);
    p->in.parts = in->parts;
    memcpy(p->in.rid_hex, in->rid_hex, sizeof p->in.rid_hex);
    memcpy(p->in.key, in->key, sizeof p->in.key);
    p->peer = *peer;
    p->msg = *msg;
    *msg = NULL;
    self->nrecords += p->msg->batch.count;
    if (self->npending == S_GROUP_BATCHES || self->nrecords >= S_GROUP_RECORDS)
        s_flush(self);
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
        wq_error(_("PING from agent %s: store error: %s"), peer->id, wq_err_format(&err, text, sizeof text));
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
        s_flush(self);
        wq_warn(_("ingest: message from key %s, which is %s: refused"), in->key[0] ? in->key : _("(none)"),
                peer ? _("authorized as a query client, not an agent") : _("no longer authorized"));
        snprintf(text, sizeof text, "key %s is not authorized as an agent on this collector", in->key);
        s_send_error(self, self->ingest, in, WQ_E_AUTH, 0, text);
        s_forget_key(self, in->key);
        if (!peer)
            wq_conns_close_key(self->conns, in->key, _("its key is no longer authorized"));
        return;
    }
    char who[128];
    snprintf(who, sizeof who, _("agent %s"), peer->id);
    wq_err_t err;
    wq_msg_t *msg = s_decode(in, who, &err);
    if (msg && msg->type == WQ_MSG_BATCH) {
        if (s_session(self, in, peer, msg->batch.inc, "BATCH"))
            s_gather(self, in, peer, &msg);
        wq_msg_destroy(&msg);
        return;
    }
    /* Anything else is answered after the batches before it. */
    s_flush(self);
    if (!msg) {
        s_send_err(self, self->ingest, in, &err);
        return;
    }
    switch (msg->type) {
    case WQ_MSG_HELLO: s_on_hello(self, in, peer, msg); break;
    case WQ_MSG_PING: s_on_ping(self, in, peer, msg); break;
    default:
        wq_warn(_("%s sent %s on the ingest socket: refused"), who, wq_msg_type_name(msg->type));
        snprintf(text, sizeof text, "%s is not valid on the ingest socket (HELLO, BATCH, PING are)",
                 wq_msg_type_name(msg->type));
        s_send_error(self, self->ingest, in, WQ_E_STATE, 0, text);
        break;
    }
    wq_msg_destroy(&msg);
}

/*  ---- the query socket --------------------------------------------------- */

/*  Send a RESULT. next is NULL for an unpaged answer, else the page's
    continuation ("" on the last page). */
static void
s_send_result(wq_server_t *self, zsock_t *sock, s_in_t *in, uint64_t request_id, int status, const char *text,
              wq_table_t *table, const char *next)
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
    reply.result.next = (char *) next;
    uint8_t *enc = NULL;
    size_t size = 0;
    wq_err_t err;
    wq_err_clear(&err);
    if (wq_msg_encode(&reply, &enc, &size, &err) == WQ_OK) {
        s_send_buf(self, sock, in, WQ_MSG_RESULT, enc, size);
        free(enc);
        return;
    }
    /* A result over the message limits: say so instead of dropping it. */
    char etext[400];
    wq_warn(_("query result not sendable: %s"), wq_err_format(&err, etext, sizeof etext));
    snprintf(buf, sizeof buf, _("the result is too large to send (%s): ask for it in pages (the \"limit\" "
             "parameter; wanqi-query does), or narrow the query (summary: --area/--level/--from/--to; "
             "overdue: --area; quarantine: --area/--agent; foreign: --area)"), err.text);
    reply.result.status = (uint32_t) (err.code ? err.code : WQ_E_RANGE);
    reply.result.table = NULL;
    if (next)
        reply.result.next = "";
    s_send(self, sock, in, &reply);
}

/*  Paging (proto/PROTOCOL.md 7.3): "limit" (rows per page) and "cursor"
    (the previous page's next). The first page's query result is kept
    (S_SNAPS of them, S_SNAP_MS at most) and the next pages are cut from
    it, so the pages of one answer come from one read transaction: the
    cursor is "s" ID "." OFFSET. When the result is gone (expired or
    pushed out), the query runs again and the page is cut at OFFSET; a
    cursor "r" OFFSET asks for that directly. */
typedef struct {
    bool paged;
    size_t limit, first;
    uint64_t snap;              /* 0: none */
    size_t nparams;             /* the query's own parameters, in params */
    wq_param_t params[WQ_QUERY_MAX_PARAMS];
} s_page_t;

static int
s_page_parse(const wq_msg_t *msg, s_page_t *pg, wq_err_t *err)
{
    memset(pg, 0, sizeof *pg);
    const char *limit = NULL, *cursor = NULL;
    for (size_t i = 0; i < msg->query.count && i < WQ_QUERY_MAX_PARAMS; i++) {
        const wq_param_t *p = &msg->query.params[i];
        if (strcmp(p->key, "limit") == 0)
            limit = p->value;
        else if (strcmp(p->key, "cursor") == 0)
            cursor = p->value;
        else
            pg->params[pg->nparams++] = *p;
    }
    pg->paged = limit != NULL;
    if (cursor && !limit)
        return wq_err_set(err, WQ_E_MISSING, "limit", _("a \"cursor\" needs a \"limit\" (rows per page)"));
    if (limit) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(limit, &end, 10);
        if (limit[0] < '0' || limit[0] > '9' || *end || errno || v < 1 || v > WQ_RESULT_MAX_ROWS)
            return wq_err_set(err, WQ_E_FORMAT, "limit", _("limit: \"%s\" is not a number of rows 1..%u"), limit,
                              (unsigned) WQ_RESULT_MAX_ROWS);
        pg->limit = (size_t) v;
    }
    if (cursor && cursor[0]) {
        char *end = NULL;
        const char *p = cursor + 1;
        unsigned long long id = 0, v = 0;
        bool ok = (cursor[0] == 'r' || cursor[0] == 's') && *p >= '0' && *p <= '9';
        errno = 0;
        if (ok && cursor[0] == 's') {
            id = strtoull(p, &end, 10);
            ok = *end == '.' && end[1] >= '0' && end[1] <= '9' && id > 0;
            p = end + 1;
        }
        if (ok) {
            v = strtoull(p, &end, 10);
            ok = !*end && !errno && v <= SIZE_MAX;
        }
        if (!ok)
            return wq_err_set(err, WQ_E_FORMAT, "cursor",
                              _("cursor: \"%.64s\" is not one this collector gave (send the RESULT's next as it is)"),
                              cursor);
        pg->first = (size_t) v;
        pg->snap = id;
    }
    return WQ_OK;
}

/*  Rows first.. of the kept result snap of client key, at most limit, as a
    new table; *total its rows. NULL if it is no longer kept. The last page
    releases it. */
static wq_table_t *
s_snap_page(wq_server_t *self, uint64_t snap, const char *key, size_t first, size_t limit, size_t *total)
{
    wq_table_t *page = NULL, *gone = NULL;
    uint64_t now = wq_mono_ms();
    pthread_mutex_lock(&self->snap_lock);
    for (size_t i = 0; i < S_SNAPS; i++) {
        if (self->snaps[i].id != snap || strcmp(self->snaps[i].key, key) != 0
            || now - self->snaps[i].mono > S_SNAP_MS)
            continue;
        *total = wq_table_nrows(self->snaps[i].table);
        page = wq_table_slice(self->snaps[i].table, first, limit);
        if (page && first + limit >= *total) {
            gone = self->snaps[i].table;
            self->snaps[i].table = NULL;
            self->snaps[i].id = 0;
        }
        break;
    }
    pthread_mutex_unlock(&self->snap_lock);
    wq_table_destroy(&gone);
    return page;
}

/*  Keep *table (taken) for the next pages of client key; returns its id. */
static uint64_t
s_snap_keep(wq_server_t *self, const char *key, wq_table_t **table)
{
    wq_table_t *gone = NULL;
    uint64_t now = wq_mono_ms();
    pthread_mutex_lock(&self->snap_lock);
    size_t slot = 0;
    for (size_t i = 0; i < S_SNAPS; i++) {
        if (self->snaps[i].id == 0 || now - self->snaps[i].mono > S_SNAP_MS) {
            slot = i;
            break;
        }
        if (self->snaps[i].mono < self->snaps[slot].mono)
            slot = i;           /* else the oldest makes room */
    }
    gone = self->snaps[slot].table;
    uint64_t id = ++self->snap_seq;
    self->snaps[slot].id = id;
    snprintf(self->snaps[slot].key, sizeof self->snaps[slot].key, "%s", key);
    self->snaps[slot].table = *table;
    self->snaps[slot].mono = now;
    *table = NULL;
    pthread_mutex_unlock(&self->snap_lock);
    wq_table_destroy(&gone);
    return id;
}

/*  Send one page: rows holds the rows of the whole result from offset
    first on (at most the page's limit); total is the whole result's rows,
    snap the kept result's id (0: none). Fewer rows are sent if they would
    not fit in one frame; next says where to go on; note is the query's
    note (a bounded reply says what it left out), "" if none. */
static void
s_send_page(wq_server_t *self, zsock_t *sock, s_in_t *in, uint64_t rid, const wq_table_t *rows, size_t first,
            size_t total, uint64_t snap, const char *note)
{
    size_t n = wq_table_nrows(rows);
    while (true) {
        wq_table_t *page = wq_table_slice(rows, 0, n);
        if (!page) {
            s_send_result(self, sock, in, rid, WQ_E_NOMEM, "out of memory for a page of the result", NULL, "");
            return;
        }
        char next[48] = "";
        if (first + n < total && snap)
            snprintf(next, sizeof next, "s%" PRIu64 ".%zu", snap, first + n);
        else if (first + n < total)
            snprintf(next, sizeof next, "r%zu", first + n);
        wq_msg_t reply;
        memset(&reply, 0, sizeof reply);
        reply.type = WQ_MSG_RESULT;
        reply.result.request_id = rid;
        reply.result.text = (char *) (note ? note : "");   /* a bounded query's note */
        reply.result.table = page;
        reply.result.next = next;
        uint8_t *enc = NULL;
        size_t size = 0;
        wq_err_t err;
        int rc = wq_msg_encode(&reply, &enc, &size, &err);
        wq_table_destroy(&page);
        if (rc == WQ_OK) {
            s_send_buf(self, sock, in, WQ_MSG_RESULT, enc, size);
            free(enc);
            return;
        }
        if (rc != WQ_E_RANGE || n <= 1) {
            char text[400];
            s_send_result(self, sock, in, rid, rc, wq_err_format(&err, text, sizeof text), NULL, "");
            return;
        }
        n /= 2;                 /* over the frame's limit: a smaller page */
    }
}

/*  Run one QUERY in a worker thread and reply on sock (the worker's
    DEALER: the query thread forwards the reply to the client). */
static void
s_handle_query(wq_server_t *self, zsock_t *sock, s_in_t *in)
{
    wq_peer_t peer;
    bool known = s_peer_find(self, in->key, &peer);
    char text[WQ_TEXT_MAX];
    char who[128];
    snprintf(who, sizeof who, _("query client %s"), known ? peer.id : in->key);
    /* The key's role first, before any decoding: a key that is not a query
       client costs the collector nothing more than this ERROR (it cannot
       know the request id without decoding, so the refusal is an ERROR,
       not a RESULT: proto/PROTOCOL.md section 7). */
    if (!known || peer.kind != WQ_PEER_CLIENT) {
        wq_warn(_("query from key %s, which is %s: refused"), in->key,
                known ? _("authorized as an agent, not a query client") : _("no longer authorized"));
        snprintf(text, sizeof text,
                 "key %s is not authorized as a query client (agents' keys may not query): "
                 "run `wanqi-collector authorize client --key KEY --name NAME` on the collector",
                 in->key);
        s_send_error(self, sock, in, WQ_E_AUTH, 0, text);
        if (!known)
            wq_conns_close_key(self->conns, in->key, _("its key is no longer authorized"));
        return;
    }
    wq_err_t err;
    wq_msg_t *msg = s_decode(in, who, &err);
    if (!msg) {
        s_send_err(self, sock, in, &err);
        return;
    }
    if (msg->type != WQ_MSG_QUERY) {
        wq_warn(_("%s sent %s on the query socket: refused"), who, wq_msg_type_name(msg->type));
        snprintf(text, sizeof text, "%s is not valid on the query socket (QUERY is)", wq_msg_type_name(msg->type));
        s_send_error(self, sock, in, WQ_E_STATE, 0, text);
        goto done;
    }
    uint64_t rid = msg->query.request_id;
    S_COUNT(self, queries, 1);
    wq_err_clear(&err);
    wq_table_t *table = NULL;
    uint64_t t0 = wq_mono_ms();
    s_page_t pg;
    size_t total = 0;
    wq_table_t *page = NULL;
    int rc = s_page_parse(msg, &pg, &err);
    if (rc == WQ_OK && pg.snap)
        page = s_snap_page(self, pg.snap, in->key, pg.first, pg.limit, &total);
    if (page) {
        wq_debug("%s: %s -> page of %zu rows from a kept result", who, msg->query.name, wq_table_nrows(page));
        s_send_page(self, sock, in, rid, page, pg.first, total, pg.snap, "");
        wq_table_destroy(&page);
        goto done;
    }
    if (rc == WQ_OK)
        rc = wq_central_query(self->central, msg->query.name, pg.params, pg.nparams, &table, &err);
    if (rc == WQ_OK && pg.paged) {
        total = wq_table_nrows(table);
        page = wq_table_slice(table, pg.first, pg.limit);
        if (!page) {
            rc = wq_err_set(&err, WQ_E_NOMEM, NULL, _("out of memory for a page of the result"));
        } else {
            /* More pages to come: keep the result for them. */
            uint64_t snap = pg.first + pg.limit < total ? s_snap_keep(self, in->key, &table) : 0;
            s_send_page(self, sock, in, rid, page, pg.first, total, snap, err.text);
            wq_table_destroy(&page);
            goto done_table;
        }
    }
    if (rc == WQ_OK) {
        wq_debug("%s: %s -> %zu rows in %" PRIu64 " ms", who, msg->query.name, wq_table_nrows(table),
                 wq_mono_ms() - t0);
        s_send_result(self, sock, in, rid, WQ_OK, err.text, table, NULL);   /* the note, "" if none */
    } else {
        wq_err_format(&err, text, sizeof text);
        if (rc == WQ_E_IO || rc == WQ_E_CORRUPT || rc == WQ_E_NOMEM || rc == WQ_E_INTERNAL)
            wq_error(_("%s: query %s failed: %s"), who, msg->query.name, text);
        else
            wq_debug("%s: query %s refused: %s", who, msg->query.name, text);
        s_send_result(self, sock, in, rid, rc, text, NULL, pg.paged ? "" : NULL);
    }
done_table:
    wq_table_destroy(&table);
done:
    wq_msg_destroy(&msg);
}

/*  ---- the query thread and its workers ----------------------------------- */

typedef struct {
    wq_server_t *server;
    char backend[64];           /* inproc endpoint of the query thread's backend */
} s_worker_args_t;

/*  Lower the calling worker thread's scheduling priority (S_QUERY_NICE):
    queries yield the CPU to ingest when both want it. Failing to is not
    fatal: the worker runs at the ingest thread's priority. */
static void
s_worker_nice(void)
{
    errno = 0;
    if (setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid), S_QUERY_NICE) != 0)
        wq_warn(_("query worker: cannot lower its priority (nice %d): %s; it runs at the ingest "
                "thread's"), S_QUERY_NICE, strerror(errno));
}

/*  Receive one more frame of a multipart message into m; false if there
    is none. */
static bool
s_recv_more(void *handle, zmq_msg_t *m, bool more)
{
    return more && zmq_msg_recv(m, handle, 0) >= 0;
}

/*  A query worker: DEALER on the backend; says READY (an empty frame),
    then for each [rid][req][key][body] runs the query and replies
    [rid][reply], or [rid][""][reply] when req ("R") says the client is a
    REQ socket that needs its envelope's delimiter back.
    The query thread never sends a worker a second job before its reply. */
static void
s_worker(zsock_t *pipe, void *argp)
{
    s_worker_args_t *args = argp;
    wq_server_t *self = args->server;
    zsock_t *dealer = zsock_new_dealer(args->backend);
    zsock_signal(pipe, 0);
    if (!dealer) {
        wq_error(_("query worker: cannot connect to %s: %s; it does not run"), args->backend, zmq_strerror(errno));
        zsock_wait(pipe);      /* $TERM */
        return;
    }
    zsock_set_linger(dealer, 0);
    void *handle = zsock_resolve(dealer);
    if (zmq_send(handle, "", 0, 0) < 0)
        wq_error(_("query worker: cannot say READY: %s"), zmq_strerror(errno));
    zmq_pollitem_t items[2] = {
        {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
        {handle, 0, ZMQ_POLLIN, 0},
    };
    /* A name for top -H, perf and bench/run.py; without one it is "wanqi-collecto". */
    (void) pthread_setname_np(pthread_self(), "wq-query-work");
    s_worker_nice();
    while (true) {
        if (zmq_poll(items, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            break;              /* $TERM */
        if (!(items[1].revents & ZMQ_POLLIN))
            continue;
        s_in_t in;
        memset(&in, 0, sizeof in);
        zmq_msg_t key, req;
        zmq_msg_init(&in.rid);
        zmq_msg_init(&in.body);
        zmq_msg_init(&key);
        zmq_msg_init(&req);
        bool ok = zmq_msg_recv(&in.rid, handle, 0) >= 0;
        ok = ok && s_recv_more(handle, &req, zmq_msg_more(&in.rid));
        ok = ok && s_recv_more(handle, &key, zmq_msg_more(&req));
        ok = ok && s_recv_more(handle, &in.body, zmq_msg_more(&key));
        if (ok && !zmq_msg_more(&in.body)) {
            in.parts = 1;
            in.req = zmq_msg_size(&req) == 1;
            size_t n = zmq_msg_size(&key);
            if (n > WQ_KEY_Z85_LEN)
                n = WQ_KEY_Z85_LEN;
            memcpy(in.key, zmq_msg_data(&key), n);
            s_handle_query(self, dealer, &in);
        } else {
            /* Cannot happen (the query thread frames every job): drop
               the rest and say idle again so the thread does not lose us. */
            while (zsock_rcvmore(dealer)) {
                zmq_msg_t rest;
                zmq_msg_init(&rest);
                zmq_msg_recv(&rest, handle, 0);
                zmq_msg_close(&rest);
            }
            wq_error(_("query worker: malformed job from the query thread: dropped"));
            zmq_send(handle, "", 0, 0);
        }
        zmq_msg_close(&key);
        zmq_msg_close(&req);
        s_in_close(&in);
    }
    zsock_destroy(&dealer);
}

/*  Forward a job [rid][req][key][body] from the client socket to the
    worker whose identity is wid (req: "R" for a REQ client, else empty). */
static void
s_dispatch(void *backend, const uint8_t *wid, size_t widlen, s_in_t *in)
{
    if (zmq_send(backend, wid, widlen, ZMQ_SNDMORE) < 0
        || zmq_send(backend, zmq_msg_data(&in->rid), zmq_msg_size(&in->rid), ZMQ_SNDMORE) < 0
        || zmq_send(backend, "R", in->req ? 1 : 0, ZMQ_SNDMORE) < 0
        || zmq_send(backend, in->key, strlen(in->key), ZMQ_SNDMORE) < 0
        || zmq_msg_send(&in->body, backend, 0) < 0)
        wq_error(_("query thread: cannot pass a query to a worker: %s"), zmq_strerror(errno));
}

typedef struct {
    uint8_t id[S_MAX_ROUTING_ID];
    size_t len;
} s_wid_t;

/*  The query thread: owns the client-facing query socket (passed in
    self->query) and the workers; see the file header. */
static void
s_querier(zsock_t *pipe, void *argp)
{
    wq_server_t *self = argp;
    zsock_t *front = self->query;
    zsock_t *backend = zsock_new(ZMQ_ROUTER);
    zactor_t *workers[S_MAX_WORKERS] = {NULL};
    s_worker_args_t wargs;
    s_wid_t idle[S_MAX_WORKERS];
    size_t nidle = 0, nworkers = 0;
    memset(&wargs, 0, sizeof wargs);
    wargs.server = self;
    snprintf(wargs.backend, sizeof wargs.backend, "inproc://wq-query-%p", (void *) self);
    if (!backend || zsock_bind(backend, "%s", wargs.backend) < 0) {
        wq_error(_("query thread: cannot bind %s: %s; queries are not served"), wargs.backend, zmq_strerror(errno));
        goto done;
    }
    zsock_set_linger(backend, 0);
    zsock_set_router_mandatory(backend, 1);
    (void) pthread_setname_np(pthread_self(), "wq-query");
    for (size_t i = 0; i < self->workers; i++) {
        workers[i] = zactor_new(s_worker, &wargs);
        if (!workers[i]) {
            wq_error(_("query thread: cannot start query worker %zu; %zu run"), i + 1, nworkers);
            break;
        }
        nworkers++;
    }
done:
    zsock_signal(pipe, 0);
    void *fh = zsock_resolve(front), *bh = backend ? zsock_resolve(backend) : NULL;
    while (bh) {
        zmq_pollitem_t items[3] = {
            {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
            {bh, 0, ZMQ_POLLIN, 0},
            {fh, 0, ZMQ_POLLIN, 0},
        };
        /* Take new queries only while a worker is idle: the rest wait in
           the socket's queue (its high-water mark bounds them). */
        int n = zmq_poll(items, nidle > 0 ? 3 : 2, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            break;              /* $TERM */
        if (items[1].revents & ZMQ_POLLIN) {
            /* [wid][rid][reply], [wid][rid][""][reply] (a REQ client's
               envelope) or [wid][""] (READY) */
            zmq_msg_t wid, rid, reply;
            zmq_msg_init(&wid);
            zmq_msg_init(&rid);
            zmq_msg_init(&reply);
            if (zmq_msg_recv(&wid, bh, 0) >= 0 && zmq_msg_more(&wid) && zmq_msg_recv(&rid, bh, 0) >= 0) {
                /* Every frame after wid goes to the client as it came. */
                bool more = zmq_msg_more(&rid), sent = true;
                if (more) {
                    sent = zmq_msg_send(&rid, fh, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0;
                    while (more && zmq_msg_recv(&reply, bh, 0) >= 0) {
                        more = zmq_msg_more(&reply);
                        if (sent)
                            sent = zmq_msg_send(&reply, fh, (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) >= 0;
                    }
                    if (!sent) {
                        S_COUNT(self, undeliverable, 1);
                        wq_warn(_("RESULT not delivered (%s): the client has gone or is not reading"),
                                zmq_strerror(errno));
                    }
                }
                if (nidle < S_MAX_WORKERS && zmq_msg_size(&wid) <= S_MAX_ROUTING_ID) {
                    idle[nidle].len = zmq_msg_size(&wid);
                    memcpy(idle[nidle].id, zmq_msg_data(&wid), idle[nidle].len);
                    nidle++;
                }
            }
            zmq_msg_close(&wid);
            zmq_msg_close(&rid);
            zmq_msg_close(&reply);
        }
        while (nidle > 0 && (items[2].revents & ZMQ_POLLIN)) {
            s_in_t in;
            int r = s_recv(front, &in);
            if (r <= 0) {
                if (r < 0 && errno == ETERM)
                    goto stop;
                break;
            }
            S_COUNT(self, messages, 1);
            wq_conns_seen(self->conns, &in.body, in.key);
            if (in.parts != 1) {
                /* Workers get one frame: refuse other framings here. */
                wq_warn(_("query socket: message of %d frames from key %s, expected 1: refused"), in.parts,
                        in.key[0] ? in.key : _("(none)"));
                s_send_error(self, front, &in, WQ_E_RANGE, 0,
                             "a message must be exactly one frame (proto/PROTOCOL.md)");
                s_in_close(&in);
                continue;
            }
            nidle--;
            s_dispatch(bh, idle[nidle].id, idle[nidle].len, &in);
            s_in_close(&in);
        }
    }
stop:
    for (size_t i = 0; i < nworkers; i++)
        zactor_destroy(&workers[i]);
    zsock_destroy(&backend);
    zsock_destroy(&self->query);
}

/*  ---- the loop ----------------------------------------------------------- */

static void
s_housekeeping(wq_server_t *self)
{
    uint64_t now = wq_mono_ms();
    if (now - self->last_sweep >= 10000) {
        self->last_sweep = now;
        int dead = 0;
        wq_err_t rerr;
        if (wq_central_reader_check(self->central, &dead, &rerr) != WQ_OK)
            wq_warn(_("clearing stale LMDB reader slots failed: %s"), rerr.text);
        else if (dead > 0)
            wq_info(_("freed %d LMDB reader slots of dead processes"), dead);
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
            wq_info(_("last minute: %" PRIu64 " batches acked in %" PRIu64 " group commits, %" PRIu64 " records stored, %" PRIu64
                    " duplicates, %" PRIu64 " quarantined, %" PRIu64 " errors sent, %" PRIu64 " queries, %" PRIu64
                    " replies undeliverable; %zu agent connections"),
                    s->batches - l->batches, s->groups - l->groups, s->records_stored - l->records_stored,
                    s->records_duplicate - l->records_duplicate, s->records_quarantined - l->records_quarantined,
                    s->errors_sent - l->errors_sent, s->queries - l->queries, s->undeliverable - l->undeliverable,
                    zhashx_size(self->sessions));
        *l = *s;
    }
}

int
wq_server_run(wq_server_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload, wq_err_t *err)
{
    int rc = WQ_OK;
    while (!*stop) {
        if (reload && *reload) {
            *reload = 0;
            wq_err_t rerr;
            wq_err_clear(&rerr);
            if (wq_server_reload_peers(self, &rerr) != WQ_OK)
                wq_error(_("peers not reloaded, the previous list stays in force: %s"), rerr.text);
        }
        zmq_pollitem_t items[1] = {{zsock_resolve(self->ingest), 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 1, S_POLL_MS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ETERM)
                break;
            rc = wq_err_set(err, WQ_E_IO, "poll", _("zmq_poll failed: %s"), zmq_strerror(errno));
            break;
        }
        /* Everything waiting now (up to S_DRAIN) forms one group commit. */
        for (int k = 0; n > 0 && k < S_DRAIN && !*stop; k++) {
            s_in_t in;
            int r = s_recv(self->ingest, &in);
            if (r == 0)
                break;
            if (r < 0) {
                if (errno != ETERM)
                    rc = wq_err_set(err, WQ_E_IO, "recv", _("receive on the ingest socket failed: %s"),
                                    zmq_strerror(errno));
                goto out;
            }
            S_COUNT(self, messages, 1);
            wq_conns_seen(self->conns, &in.body, in.key);
            s_handle_ingest(self, &in);
            s_in_close(&in);
        }
        s_flush(self);
        s_housekeeping(self);
    }
out:
    s_flush(self);
    return rc;
}
