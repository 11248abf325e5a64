/*  =========================================================================
    zap - the collector's ZAP handler (see zap.h)

    The actor owns a REP socket bound to inproc://zeromq.zap.01 and a copy
    of the listed keys (key -> "agent ID" / "client NAME" for the debug
    line). A request is [version "1.0"][request id][domain][address]
    [routing id][mechanism][credentials...]; the reply [version][request
    id][status code][status text][user id][metadata]. Anything malformed
    is answered 400 (or 500 if it cannot be parsed at all): libzmq then
    refuses the handshake.
    =========================================================================
*/
#include "collector/zap.h"
#include "common/log.h"

#include <inttypes.h>
#include <string.h>

#define S_ENDPOINT "inproc://zeromq.zap.01"
#define S_LOG_EVERY_MS 60000
#define S_MAX_LOGGED 10000          /* refusal log throttle entries kept */

typedef struct {
    zsock_t *rep;               /* bound by wq_zap_start, used by the actor */
    bool bound;
    zhashx_t *keys;             /* Z85 key -> "agent ID" / "client NAME" */
    zhashx_t *logged;           /* "key address" -> s_refused_t */
    char domain[64];
} s_self_t;

typedef struct {
    uint64_t last_ms;
    uint64_t since;             /* refused since the last line */
} s_refused_t;

static void
s_free(void **item)
{
    if (item && *item) {
        free(*item);
        *item = NULL;
    }
}

static void
s_self_destroy(s_self_t **selfp)
{
    if (!*selfp)
        return;
    /* Unbind first: the endpoint is free when this returns (a closed
       socket releases it later, in libzmq's reaper thread), so the next
       handler (a reload) can bind it at once. */
    if ((*selfp)->rep && (*selfp)->bound && zsock_unbind((*selfp)->rep, "%s", S_ENDPOINT) != 0)
        wq_warn("ZAP handler: cannot unbind %s: %s", S_ENDPOINT, zmq_strerror(errno));
    zsock_destroy(&(*selfp)->rep);
    zhashx_destroy(&(*selfp)->keys);
    zhashx_destroy(&(*selfp)->logged);
    free(*selfp);
    *selfp = NULL;
}

static void
s_reply(zsock_t *rep, const char *request_id, const char *code, const char *text, const char *user)
{
    if (zstr_sendx(rep, "1.0", request_id, code, text, user, "", NULL) != 0)
        wq_warn("ZAP handler: cannot send its reply: %s", zmq_strerror(errno));
}

static void
s_refused(s_self_t *self, const char *key, const char *address, const char *why)
{
    char k[160];
    snprintf(k, sizeof k, "%s %s", key, address);
    s_refused_t *r = zhashx_lookup(self->logged, k);
    uint64_t now = zclock_mono();
    if (!r) {
        if (zhashx_size(self->logged) >= S_MAX_LOGGED)
            zhashx_purge(self->logged);
        r = calloc(1, sizeof *r);
        if (r && zhashx_insert(self->logged, k, r) != 0) {
            free(r);
            r = NULL;
        }
    }
    if (r) {
        r->since++;
        if (r->last_ms != 0 && now - r->last_ms < S_LOG_EVERY_MS)
            return;
    }
    /* "denied (CURVE) client_key=" is the wording operators and
       tests/agent/link_diagnosis.sh look for (it was zauth's). */
    wq_warn("handshake denied (CURVE) client_key=%s from %s: %s (authorize it with `wanqi-collector authorize`, "
            "then reload)%s",
            key, address, why, r && r->since > 1 ? "; refused again since the last such line" : "");
    if (r) {
        r->last_ms = now;
        r->since = 0;
    }
}

/*  Handle one request on rep. */
static void
s_handle(s_self_t *self, zsock_t *rep)
{
    zmsg_t *req = zmsg_recv(rep);
    if (!req)
        return;
    char *version = zmsg_popstr(req), *request_id = zmsg_popstr(req), *domain = zmsg_popstr(req),
         *address = zmsg_popstr(req), *routing = zmsg_popstr(req), *mechanism = zmsg_popstr(req);
    zframe_t *cred = zmsg_pop(req);
    if (!version || !request_id || !domain || !address || !mechanism || strcmp(version, "1.0") != 0) {
        wq_warn("ZAP handler: malformed request from libzmq: refused");
        s_reply(rep, request_id ? request_id : "", "500", "Internal error", "");
        goto done;
    }
    if (strcmp(mechanism, "CURVE") != 0 || !cred || zframe_size(cred) != 32) {
        wq_warn("handshake from %s refused: mechanism %s (only CURVE is accepted)", address, mechanism);
        s_reply(rep, request_id, "400", "No access", "");
        goto done;
    }
    char key[41];
    if (!zmq_z85_encode(key, zframe_data(cred), 32)) {
        s_reply(rep, request_id, "500", "Internal error", "");
        goto done;
    }
    if (strcmp(domain, self->domain) != 0) {
        s_refused(self, key, address, "wrong ZAP domain");
        s_reply(rep, request_id, "400", "No access", "");
        goto done;
    }
    const char *who = zhashx_lookup(self->keys, key);
    if (!who) {
        s_refused(self, key, address, "the key is not in the peers file");
        s_reply(rep, request_id, "400", "No access", "");
        goto done;
    }
    wq_debug("handshake allowed: key %s (%s) from %s", key, who, address);
    s_reply(rep, request_id, "200", "OK", key);
done:
    zframe_destroy(&cred);
    free(version);
    free(request_id);
    free(domain);
    free(address);
    free(routing);
    free(mechanism);
    zmsg_destroy(&req);
}

static void
s_zap(zsock_t *pipe, void *arg)
{
    s_self_t *self = arg;
    zsock_t *rep = self->rep;
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, rep, NULL);
    while (poller) {
        void *which = zpoller_wait(poller, -1);
        if (which == rep) {
            s_handle(self, rep);
            continue;
        }
        if (which != pipe)
            break;              /* interrupted */
        char *cmd = NULL;
        void *keys = NULL;
        if (zsock_recv(pipe, "sp", &cmd, &keys) != 0 || !cmd || strcmp(cmd, "KEYS") != 0) {
            free(cmd);
            break;              /* $TERM */
        }
        free(cmd);
        zhashx_destroy(&self->keys);
        self->keys = keys;
        zsock_signal(pipe, 0);
    }
    zpoller_destroy(&poller);
    s_self_destroy(&self);
}

/*  A new key table for peers (Z85 key -> "agent ID" / "client NAME"), or
    NULL if memory is short. */
static zhashx_t *
s_keys_new(const wq_peers_t *peers)
{
    zhashx_t *keys = zhashx_new();
    if (!keys)
        return NULL;
    zhashx_set_destructor(keys, s_free);
    for (size_t i = 0; i < wq_peers_count(peers); i++) {
        const wq_peer_t *p = wq_peers_at(peers, i);
        char *who = zsys_sprintf("%s %s", p->kind == WQ_PEER_AGENT ? "agent" : "client", p->id);
        if (!who || zhashx_insert(keys, p->key, who) != 0) {
            free(who);
            zhashx_destroy(&keys);
            return NULL;
        }
    }
    return keys;
}

int
wq_zap_reload(zactor_t *zap, const wq_peers_t *peers, wq_err_t *err)
{
    zhashx_t *keys = s_keys_new(peers);
    if (!keys)
        return wq_err_set(err, WQ_E_NOMEM, NULL, "out of memory");
    /* The actor takes the table and answers once it is in force. */
    if (zsock_send(zap, "sp", "KEYS", keys) != 0) {
        zhashx_destroy(&keys);
        return wq_err_set(err, WQ_E_IO, NULL, "cannot reach the ZAP handler");
    }
    zsock_wait(zap);
    return WQ_OK;
}

int
wq_zap_start(const wq_peers_t *peers, const char *domain, zactor_t **out, wq_err_t *err)
{
    *out = NULL;
    s_self_t *self = calloc(1, sizeof *self);
    if (!self)
        return wq_err_set(err, WQ_E_NOMEM, NULL, "out of memory");
    self->keys = s_keys_new(peers);
    self->logged = zhashx_new();
    if (!self->keys || !self->logged)
        goto nomem;
    zhashx_set_destructor(self->logged, s_free);
    snprintf(self->domain, sizeof self->domain, "%s", domain);
    /* Bound here, so that a taken endpoint is an error of this call; the
       actor takes the socket (zactor_new is the barrier) and self. */
    self->rep = zsock_new(ZMQ_REP);
    if (!self->rep)
        goto nomem;
    zsock_set_linger(self->rep, 0);
    /* The previous handler's endpoint may still be on its way out: retry
       for up to a second. */
    int rc = -1, e = 0;
    for (int i = 0; i < 100 && rc != 0; i++) {
        rc = zsock_bind(self->rep, "%s", S_ENDPOINT);
        e = errno;
        if (rc != 0 && e == EADDRINUSE)
            zclock_sleep(10);
        else if (rc != 0)
            break;
    }
    if (rc != 0) {
        s_self_destroy(&self);
        return wq_err_set(err, WQ_E_IO, NULL, "the ZAP handler cannot bind %s: %s", S_ENDPOINT, zmq_strerror(e));
    }
    self->bound = true;
    *out = zactor_new(s_zap, self);
    if (!*out) {
        s_self_destroy(&self);
        return wq_err_set(err, WQ_E_IO, NULL, "cannot start the ZAP handler");
    }
    return WQ_OK;
nomem:
    s_self_destroy(&self);
    return wq_err_set(err, WQ_E_NOMEM, NULL, "out of memory");
}
