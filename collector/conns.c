/*  =========================================================================
    conns - the collector's TCP connections, seen from outside libzmq
    (see conns.h for why and how)

    The watchdog is a zactor: it owns the monitors' PAIR sockets (made by
    wq_conns_watch in the caller's thread; zactor_new is the barrier that
    hands them over) and wakes every S_CHECK_MS for the buffer check.

    The table is indexed by file descriptor (descriptors are small and
    dense); the per-address counts of not yet authenticated connections
    live in a hash by address text. Monitor events and messages come from
    different pipes and threads, so they may arrive in either order for
    one connection: a message may be seen before its ACCEPTED event (the
    entry is then made by the message and the event finds it), and an old
    connection's DISCONNECTED may come after a new connection on the same
    descriptor sent a message (the entry is then dropped and made again by
    that connection's next message; it only delays closing it, if revoked,
    until then).
    =========================================================================
*/
#include "collector/conns.h"
#include "collector/tcpinfo.h"
#include "common/i18n.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define S_MAX_FD (1 << 20)          /* descriptors above are not followed */
#define S_LOG_EVERY_MS 10000        /* refusals of one address: one line per 10 s */
#define S_CHECK_MS 200              /* buffer check interval */
#define S_MAX_MONITORS 2

typedef enum { S_NONE = 0, S_UNAUTH = 1, S_AUTHED = 2 } s_state_t;

typedef struct {
    s_state_t state;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    char addr[INET6_ADDRSTRLEN];
    char key[WQ_KEY_Z85_LEN + 1];   /* S_AUTHED: the key that sent on it */
    uint64_t base;              /* tcpi_bytes_received at its last message (0: none yet) */
} s_conn_t;

typedef struct {
    uint32_t unauth;            /* open, no message yet */
    uint64_t refused;           /* refused since the last log line */
    uint64_t logged_ms;
} s_addr_t;

struct wq_conns_t {
    pthread_mutex_t lock;
    uint32_t unauth_max;
    uint64_t buffer_max, buffer_conn;
    void *monitors_[S_MAX_MONITORS];    /* PAIR sockets: the watchdog's */
    char names[S_MAX_MONITORS][16];
    zactor_t *watchdog;
    s_conn_t *conns;
    size_t nconns;              /* entries allocated */
    zhashx_t *addrs;            /* address text -> s_addr_t */
    int monitors;               /* for unique inproc endpoints */
};

static void
s_addr_free(void **item)
{
    if (item && *item) {
        free(*item);
        *item = NULL;
    }
}

int
wq_conns_new(uint32_t unauth_max, uint64_t buffer_max, wq_conns_t **out, wq_err_t *err)
{
    *out = NULL;
    wq_conns_t *self = calloc(1, sizeof *self);
    if (!self)
        return wq_err_set(err, WQ_E_NOMEM, NULL, _("out of memory"));
    self->addrs = zhashx_new();
    if (!self->addrs || pthread_mutex_init(&self->lock, NULL) != 0) {
        zhashx_destroy(&self->addrs);
        free(self);
        return wq_err_set(err, WQ_E_NOMEM, NULL, _("out of memory"));
    }
    zhashx_set_destructor(self->addrs, s_addr_free);
    self->unauth_max = unauth_max;
    self->buffer_max = buffer_max;
    self->buffer_conn = buffer_max && buffer_max < WQ_CONNS_BUFFER_CONN ? buffer_max : WQ_CONNS_BUFFER_CONN;
    if (buffer_max == 0)
        self->buffer_conn = 0;
    *out = self;
    return WQ_OK;
}

void
wq_conns_destroy(wq_conns_t **selfp)
{
    if (!selfp || !*selfp)
        return;
    wq_conns_t *self = *selfp;
    zactor_destroy(&self->watchdog);
    for (int i = 0; i < self->monitors; i++)
        zmq_close(self->monitors_[i]);
    zhashx_destroy(&self->addrs);
    free(self->conns);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *selfp = NULL;
}

int
wq_conns_watch(wq_conns_t *self, void *ctx, void *handle, const char *name, wq_err_t *err)
{
    char ep[96];
    if (self->monitors >= S_MAX_MONITORS)
        return wq_err_set(err, WQ_E_RANGE, name, _("at most %d sockets are watched"), S_MAX_MONITORS);
    snprintf(ep, sizeof ep, "inproc://wq-conns-%p-%d", (void *) self, self->monitors);
    if (zmq_socket_monitor(handle, ep, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0)
        return wq_err_set(err, WQ_E_IO, name, _("cannot monitor the %s socket: %s"), name, zmq_strerror(errno));
    void *pair = zmq_socket(ctx, ZMQ_PAIR);
    int zero = 0;
    if (!pair || zmq_setsockopt(pair, ZMQ_LINGER, &zero, sizeof zero) != 0 || zmq_connect(pair, ep) != 0) {
        int e = errno;
        if (pair)
            zmq_close(pair);
        zmq_socket_monitor(handle, NULL, 0);
        return wq_err_set(err, WQ_E_IO, name, _("cannot connect to the %s socket's monitor: %s"), name,
                          zmq_strerror(e));
    }
    self->monitors_[self->monitors] = pair;
    snprintf(self->names[self->monitors], sizeof self->names[0], "%s", name);
    self->monitors++;
    return WQ_OK;
}

/*  The entry of fd, growing the table; NULL if fd is out of range or
    memory is short (the connection is then not followed). Locked. */
static s_conn_t *
s_entry(wq_conns_t *self, int fd)
{
    if (fd < 0 || fd >= S_MAX_FD)
        return NULL;
    if ((size_t) fd >= self->nconns) {
        size_t n = self->nconns ? self->nconns : 256;
        while (n <= (size_t) fd)
            n *= 2;
        s_conn_t *c = realloc(self->conns, n * sizeof *c);
        if (!c)
            return NULL;
        memset(c + self->nconns, 0, (n - self->nconns) * sizeof *c);
        self->conns = c;
        self->nconns = n;
    }
    return &self->conns[fd];
}

/*  The peer of fd now, and its address as text. */
static bool
s_peer(int fd, struct sockaddr_storage *peer, socklen_t *len, char addr[INET6_ADDRSTRLEN])
{
    *len = sizeof *peer;
    if (getpeername(fd, (struct sockaddr *) peer, len) != 0)
        return false;
    const void *a = NULL;
    if (peer->ss_family == AF_INET)
        a = &((struct sockaddr_in *) peer)->sin_addr;
    else if (peer->ss_family == AF_INET6)
        a = &((struct sockaddr_in6 *) peer)->sin6_addr;
    else
        return false;           /* not TCP/IP: not ours to follow */
    return inet_ntop(peer->ss_family, a, addr, INET6_ADDRSTRLEN) != NULL;
}

static bool
s_same_peer(const s_conn_t *c, const struct sockaddr_storage *peer, socklen_t len)
{
    return c->peerlen == len && memcmp(&c->peer, peer, len) == 0;
}

static s_addr_t *
s_addr(wq_conns_t *self, const char *addr)
{
    s_addr_t *a = zhashx_lookup(self->addrs, addr);
    if (!a) {
        a = calloc(1, sizeof *a);
        if (!a || zhashx_insert(self->addrs, addr, a) != 0) {
            free(a);
            return NULL;
        }
    }
    return a;
}

/*  An entry leaves the S_UNAUTH state: the address's count goes down. */
static void
s_unauth_done(wq_conns_t *self, s_conn_t *c)
{
    if (c->state != S_UNAUTH)
        return;
    s_addr_t *a = zhashx_lookup(self->addrs, c->addr);
    if (a && a->unauth > 0)
        a->unauth--;
    if (a && a->unauth == 0 && a->refused == 0)
        zhashx_delete(self->addrs, c->addr);
}

static void
s_on_accepted(wq_conns_t *self, int fd, const char *name)
{
    struct sockaddr_storage peer;
    socklen_t len;
    char addr[INET6_ADDRSTRLEN];
    if (!s_peer(fd, &peer, &len, addr))
        return;                 /* gone already: its DISCONNECTED follows */
    s_conn_t *c = s_entry(self, fd);
    if (!c)
        return;
    if (c->state == S_AUTHED && s_same_peer(c, &peer, len))
        return;                 /* its first message came before this event */
    s_unauth_done(self, c);
    memset(c, 0, sizeof *c);
    s_addr_t *a = s_addr(self, addr);
    if (!a)
        return;
    if (self->unauth_max > 0 && a->unauth >= self->unauth_max) {
        /* See conns.h: shutdown, not close; libzmq closes it. */
        shutdown(fd, SHUT_RDWR);
        a->refused++;
        uint64_t now = zclock_mono();
        if (a->logged_ms == 0 || now - a->logged_ms >= S_LOG_EVERY_MS) {
            wq_warn(_("%s: connection from %s refused: %u connections from that address have not "
                    "authenticated yet (unauth_per_address = %u in collector.conf; raise it if many "
                    "agents share that address); %" PRIu64 " refused from it since the last such line"),
                    name, addr, a->unauth, self->unauth_max, a->refused);
            a->logged_ms = now;
            a->refused = 0;
        }
        return;
    }
    c->state = S_UNAUTH;
    c->peer = peer;
    c->peerlen = len;
    memcpy(c->addr, addr, sizeof c->addr);
    a->unauth++;
}

static void
s_on_disconnected(wq_conns_t *self, int fd)
{
    if (fd < 0 || (size_t) fd >= self->nconns)
        return;
    s_conn_t *c = &self->conns[fd];
    s_unauth_done(self, c);
    memset(c, 0, sizeof *c);
}

/*  Handle every event waiting on monitor (does not block). */
static void
s_events(wq_conns_t *self, void *monitor, const char *name)
{
    for (int i = 0; i < 1000; i++) {
        zmq_msg_t ev, ep;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        /* libzmq 4.3: [u16 event, u32 value][endpoint] (host order). */
        uint16_t event = 0;
        uint32_t value = 0;
        bool ok = zmq_msg_size(&ev) == 6;
        if (ok) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (uint8_t *) zmq_msg_data(&ev) + 2, 4);
        }
        while (zmq_msg_more(&ev)) {
            zmq_msg_init(&ep);
            if (zmq_msg_recv(&ep, monitor, 0) < 0) {
                zmq_msg_close(&ep);
                break;
            }
            bool more = zmq_msg_more(&ep);
            zmq_msg_close(&ep);
            if (!more)
                break;
        }
        zmq_msg_close(&ev);
        if (!ok)
            continue;
        pthread_mutex_lock(&self->lock);
        if (event == ZMQ_EVENT_ACCEPTED)
            s_on_accepted(self, (int) value, name);
        else if (event == ZMQ_EVENT_DISCONNECTED)
            s_on_disconnected(self, (int) value);
        pthread_mutex_unlock(&self->lock);
    }
}

int
wq_conns_seen(wq_conns_t *self, zmq_msg_t *frame, const char *key)
{
    int fd = zmq_msg_get(frame, ZMQ_SRCFD);
    if (fd < 0 || !key || !key[0])
        return fd;
    pthread_mutex_lock(&self->lock);
    s_conn_t *c = s_entry(self, fd);
    if (c && !(c->state == S_AUTHED && strcmp(c->key, key) == 0)) {
        struct sockaddr_storage peer;
        socklen_t len;
        char addr[INET6_ADDRSTRLEN];
        if (s_peer(fd, &peer, &len, addr)) {
            /* Not waiting any more (or a stale entry of an earlier
               connection on fd: its address's count goes down too). */
            s_unauth_done(self, c);
            c->state = S_AUTHED;
            c->base = 0;
            c->peer = peer;
            c->peerlen = len;
            memcpy(c->addr, addr, sizeof c->addr);
            snprintf(c->key, sizeof c->key, "%s", key);
            wq_debug("connection %d from %s: key %s", fd, c->addr, key);
        }
    }
    uint64_t received;
    if (c && c->state == S_AUTHED && wq_tcp_bytes_received(fd, &received))
        c->base = received;     /* what it buffers starts again from here (conns.h) */
    pthread_mutex_unlock(&self->lock);
    return fd;
}

/*  Shut fd down if it still is the connection c recorded. Locked. */
static bool
s_close(wq_conns_t *self, int fd, const char *why)
{
    s_conn_t *c = &self->conns[fd];
    struct sockaddr_storage peer;
    socklen_t len;
    char addr[INET6_ADDRSTRLEN];
    bool same = s_peer(fd, &peer, &len, addr) && s_same_peer(c, &peer, len);
    if (same && shutdown(fd, SHUT_RDWR) != 0)
        same = false;
    if (same)
        wq_warn(_("closed the connection of key %s from %s: %s"), c->key[0] ? c->key : _("(none yet)"), c->addr, why);
    s_unauth_done(self, c);
    memset(c, 0, sizeof *c);
    return same;
}

size_t
wq_conns_close_key(wq_conns_t *self, const char *key, const char *why)
{
    size_t n = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t fd = 0; fd < self->nconns; fd++)
        if (self->conns[fd].state == S_AUTHED && strcmp(self->conns[fd].key, key) == 0)
            n += s_close(self, (int) fd, why);
    pthread_mutex_unlock(&self->lock);
    return n;
}

size_t
wq_conns_close_unlisted(wq_conns_t *self, const wq_peers_t *peers)
{
    size_t n = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t fd = 0; fd < self->nconns; fd++)
        if (self->conns[fd].state == S_AUTHED && !wq_peers_find_key(peers, self->conns[fd].key))
            n += s_close(self, (int) fd, _("its key is no longer in the peers file (revoked)"));
    pthread_mutex_unlock(&self->lock);
    return n;
}

/*  Bytes connection fd may have made libzmq buffer (conns.h); 0 if the
    kernel does not say. Locked. */
static uint64_t
s_buffered(const s_conn_t *c, int fd)
{
    uint64_t received;
    if (!wq_tcp_bytes_received(fd, &received))
        return 0;
    return received > c->base ? received - c->base : 0;
}

size_t
wq_conns_check(wq_conns_t *self)
{
    size_t closed = 0;
    if (self->buffer_max == 0)
        return 0;
    pthread_mutex_lock(&self->lock);
    uint64_t total = 0;
    int largest = -1;
    uint64_t largest_n = 0;
    char why[160];
    for (size_t fd = 0; fd < self->nconns; fd++) {
        if (self->conns[fd].state == S_NONE)
            continue;
        uint64_t n = s_buffered(&self->conns[fd], (int) fd);
        if (n > self->buffer_conn) {
            snprintf(why, sizeof why, _("it sent %" PRIu64 " bytes without completing a message (at most %" PRIu64
                     " may wait: buffer_max in collector.conf)"), n, self->buffer_conn);
            closed += s_close(self, (int) fd, why);
            continue;
        }
        total += n;
        if (n > largest_n) {
            largest_n = n;
            largest = (int) fd;
        }
    }
    /* Over the total: the largest goes (one per check: the next check
       sees the rest). */
    if (total > self->buffer_max && largest >= 0) {
        snprintf(why, sizeof why, _("connections hold %" PRIu64 " bytes of incomplete messages, over buffer_max = %"
                 PRIu64 "; this one %" PRIu64), total, self->buffer_max, largest_n);
        closed += s_close(self, largest, why);
    }
    pthread_mutex_unlock(&self->lock);
    return closed;
}

static void
s_watchdog(zsock_t *pipe, void *arg)
{
    wq_conns_t *self = arg;
    zsock_signal(pipe, 0);
    zmq_pollitem_t items[1 + S_MAX_MONITORS];
    items[0] = (zmq_pollitem_t) {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0};
    for (int i = 0; i < self->monitors; i++)
        items[1 + i] = (zmq_pollitem_t) {self->monitors_[i], 0, ZMQ_POLLIN, 0};
    uint64_t next = zclock_mono() + S_CHECK_MS;
    while (true) {
        int64_t wait = (int64_t) next - zclock_mono();
        int n = zmq_poll(items, 1 + self->monitors, wait > 0 ? (long) wait : 0);
        if (n < 0 && errno != EINTR)
            break;              /* ETERM */
        if (n > 0 && (items[0].revents & ZMQ_POLLIN))
            break;              /* $TERM */
        for (int i = 0; n > 0 && i < self->monitors; i++)
            if (items[1 + i].revents & ZMQ_POLLIN)
                s_events(self, self->monitors_[i], self->names[i]);
        if ((int64_t) (zclock_mono() - next) >= 0) {
            wq_conns_check(self);
            next = zclock_mono() + S_CHECK_MS;
        }
    }
}

int
wq_conns_start(wq_conns_t *self, wq_err_t *err)
{
    self->watchdog = zactor_new(s_watchdog, self);
    if (!self->watchdog)
        return wq_err_set(err, WQ_E_IO, NULL, _("cannot start the connection watchdog thread"));
    return WQ_OK;
}
