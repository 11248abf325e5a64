/*  =========================================================================
    sender - the agent's session with the collector (see sender.h)

    A single-threaded loop around zmq_poll with a short timeout (poll_ms):
    every turn it (re)connects when due, checks the link's liveness, looks
    at the outbox's last seq, sends batches while credit allows, sends a
    PING when nothing was sent for a heartbeat, and handles what arrived.
    The outbox is the only memory of what was sent: in-flight batches are
    just (first, last) pairs, and anything to resend is read again from
    LMDB, so memory stays bounded whatever the backlog.

    Weak links (issue 16): the HELLO offers compressed batches (ZBATCH,
    proto/zbatch.h) unless WANQI_PROTO_V1 is set; a collector that does not
    know them answers the 8-element HELLO with E_RANGE, and the sender says
    HELLO again without the offer (and keeps to v1 with that collector for
    S_LEGACY_MS). The pacer (agent/pacer.h) sizes each batch from the link's
    measured rate and round trip, and says when an unanswered batch
    deserves a PING to find a reset connection quickly. A reset of a
    working session's connection is seen at once by the socket monitor
    (disconnect event) and answered with a fresh socket without backoff
    (s_monitor_read).
    =========================================================================
*/
#include "agent/sender.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/date.h"
#include "common/i18n.h"
#include "common/log.h"
#include "agent/pacer.h"
#include "proto/msg.h"
#include "proto/zbatch.h"

#define S_MAX_CREDIT 64
#define S_CONTACT_MS 10000          /* store the contact time on PONG at most this often */
#define S_PLACEHOLDER_BYTE 0xc0     /* msgpack nil: never a valid record */
#define S_BATCH_BYTES (WQ_MSG_MAX_BYTES - 65536 - 8 * WQ_BATCH_MAX_RECORDS)
#define S_LEGACY_MS 3600000         /* a collector without ZBATCH: ask again after an hour */

typedef enum { S_DOWN, S_HELLO_SENT, S_READY } s_phase_t;

typedef struct {
    uint64_t first, last;
    wq_pacer_mark_t mark;           /* for the pacer's rate sample at its ACK */
} s_flight_t;

struct wq_sender_t {
    wq_outbox_t *box;
    wq_sender_opts_t opts;
    zsock_t *sock;
    s_phase_t phase;
    char agent[WQ_AGENT_ID_MAX + 1];
    uint32_t inc;
    uint64_t last_seq, acked, next_send;
    s_flight_t flight[S_MAX_CREDIT];
    size_t nflight;
    uint32_t credit, max_batch;
    uint64_t hb_ms;
    uint64_t last_recv, last_send, last_poll, next_attempt, pause_until;
    uint64_t backoff;
    uint64_t contact_stored;        /* when the contact time was last stored */
    /* Rewinds (see s_rewind). rewound_to: where the last rewind went (0:
       none in this session); an E_GAP naming it again while we resend past
       it answers a batch sent before that rewind. rewinds counts them; a
       PING remembers the count and the last seq sent before it, so that
       its PONG can tell whether everything sent before it was stored. */
    uint64_t rewound_to;
    uint64_t rewinds;
    uint64_t ping_upto, ping_rewinds;
    uint32_t pings_out;
    /* Backlog drain progress (s_progress): when the current drain began
       (0: none) and the acked mark then; the last progress line. */
    uint64_t drain_at, drain_from, prog_at, prog_acked;
    bool prog_said;
    /* The socket monitor of the current connection (s_monitor_read): what
       the transport saw, so that a dead link can be told apart: never
       reached, reached but the CURVE handshake never completed (wrong
       collector key, or a stalled or slow link), or our key refused by
       the collector (not authorized). */
    zsock_t *mon;
    unsigned mon_n;
    bool tcp_ok, hs_ok, hs_failed;
    bool dropped;                   /* the connection broke (ZMQ_EVENT_DISCONNECTED) */
    bool after_drop;                /* the next socket replaces a working session's */
    uint32_t auth_status;           /* ZAP status of a refused key, 0 none */
    uint32_t retries;
    /* Compression: offered in this HELLO; granted by WELCOME (dictionary);
       until when a v1 collector is not offered it again. */
    bool zstd_offered, zstd_on;
    uint32_t zstd_dict;
    uint64_t legacy_until;
    size_t last_sent_bytes;         /* frame size of the last message sent */
    wq_pacer_t *pacer;
};

wq_sender_t *
wq_sender_new(wq_outbox_t *box, const wq_sender_opts_t *opts)
{
    wq_sender_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->box = box;
    self->opts = *opts;
    self->backoff = opts->backoff_min_ms;
    self->hb_ms = opts->heartbeat_ms;
    self->pacer = wq_pacer_new(&(wq_pacer_opts_t){.max_bytes = S_BATCH_BYTES});
    if (!self->pacer) {
        free(self);
        return NULL;
    }
    return self;
}

void
wq_sender_destroy(wq_sender_t **self)
{
    if (!self || !*self)
        return;
    zsock_destroy(&(*self)->sock);
    zsock_destroy(&(*self)->mon);
    wq_pacer_destroy(&(*self)->pacer);
    free(*self);
    *self = NULL;
}

static void
s_note_error(wq_sender_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_note_error(wq_sender_t *self, const char *fmt, ...)
{
    char text[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    wq_warn("%s", text);
    wq_err_t err;
    if (wq_outbox_note_error(self->box, text, &err) != WQ_OK)
        wq_error(_("cannot store the last error in the outbox: %s"), err.text);
}

/*  Close the socket and schedule the next attempt with jittered backoff. */
static void
s_disconnect(wq_sender_t *self, uint64_t now)
{
    if (self->sock && self->mon)
        zmq_socket_monitor(zsock_resolve(self->sock), NULL, 0);    /* stop; best effort */
    zsock_destroy(&self->mon);
    zsock_destroy(&self->sock);
    self->phase = S_DOWN;
    self->nflight = 0;
    double jitter = 0.75 + 0.5 * ((double) random() / (double) RAND_MAX);
    uint64_t delay = (uint64_t) ((double) self->backoff * jitter);
    self->next_attempt = now + delay;
    wq_info(_("reconnecting in %" PRIu64 " ms"), delay);
    self->backoff *= 2;
    if (self->backoff > self->opts.backoff_max_ms)
        self->backoff = self->opts.backoff_max_ms;
}

static int
s_send_msg(wq_sender_t *self, const wq_msg_t *msg)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    wq_err_t err;
    int rc = wq_msg_encode(msg, &buf, &size, &err);
    if (rc != WQ_OK) {
        wq_error(_("cannot encode %s: %s"), wq_msg_type_name(msg->type), err.text);
        return rc;
    }
    int zrc = zmq_send(zsock_resolve(self->sock), buf, size, ZMQ_DONTWAIT);
    free(buf);
    if (zrc < 0) {
        if (errno == EAGAIN)
            return WQ_E_BUSY;
        wq_warn(_("zmq_send(%s): %s"), wq_msg_type_name(msg->type), zmq_strerror(errno));
        return WQ_E_IO;
    }
    self->last_send = wq_mono_ms();
    self->last_sent_bytes = size;
    return WQ_OK;
}

static int
s_refresh(wq_sender_t *self, wq_err_t *err)
{
    uint64_t last;
    int rc = wq_outbox_last_seq(self->box, &last, err);
    if (rc == WQ_OK)
        self->last_seq = last;
    self->last_poll = wq_mono_ms();
    return rc;
}

/*  Forget what is in flight and send again from seq `to`. */
static void
s_rewind(wq_sender_t *self, uint64_t to)
{
    self->nflight = 0;
    self->next_send = to;
    self->rewound_to = to;
    self->rewinds++;
}

static int
s_send_hello(wq_sender_t *self)
{
    wq_msg_t m = {.type = WQ_MSG_HELLO};
    m.hello.agent = self->agent;
    m.hello.inc = self->inc;
    m.hello.software = "wanqi-agent " WANQI_VERSION;
    m.hello.last_seq = self->last_seq;
    m.hello.queued = self->last_seq > self->acked ? self->last_seq - self->acked : 0;
    self->zstd_offered = !wq_msg_v1_only() && wq_mono_ms() >= self->legacy_until;
    self->zstd_on = false;
    if (self->zstd_offered) {
        m.hello.zstd_offer = true;
        m.hello.nzstd = wq_zbatch_dicts(m.hello.zstd, WQ_ZSTD_OFFER_MAX);
    }
    self->phase = S_HELLO_SENT;
    self->nflight = 0;
    self->rewound_to = 0;
    self->pings_out = 0;
    return s_send_msg(self, &m);
}

static int
s_connect(wq_sender_t *self, uint64_t now, wq_err_t *err)
{
    wq_outbox_state_t st;
    int rc = wq_outbox_state(self->box, &st, err);
    if (rc != WQ_OK)
        return rc;
    if (st.inc == 0)
        return wq_err_set(err, WQ_E_STATE, "inc",
                          _("the outbox has no incarnation: run `wanqi-agent init` first"));
    memcpy(self->agent, st.agent, sizeof self->agent);
    self->inc = st.inc;
    self->last_seq = st.last_seq;
    self->acked = st.acked;
    self->hb_ms = self->opts.heartbeat_ms;
    self->sock = zsock_new(ZMQ_DEALER);
    if (!self->sock) {
        s_note_error(self, _("cannot create a ZeroMQ socket: %s"), zmq_strerror(errno));
        s_disconnect(self, now);
        return WQ_OK;
    }
    zsock_set_linger(self->sock, 0);
    zcert_apply(self->opts.cert, self->sock);
    zsock_set_curve_serverkey(self->sock, self->opts.server_key);
    zsock_set_sndhwm(self->sock, 4 * S_MAX_CREDIT);
    zsock_set_rcvhwm(self->sock, 4 * S_MAX_CREDIT);
    zsock_set_maxmsgsize(self->sock, (int64_t) WQ_MSG_MAX_BYTES + 1024);
    /* Watch the transport; without a monitor the link is still used, its
       failures just told less precisely. */
    self->tcp_ok = self->hs_ok = self->hs_failed = self->dropped = false;
    if (self->after_drop) {
        /* Made at once after a working session's connection broke: if
           this one gets nowhere, the link died (the collector went away),
           which is what s_why_dead should say, not that it was never
           reached. The next socket, after backoff, is diagnosed afresh. */
        self->tcp_ok = self->hs_ok = true;
        self->after_drop = false;
    }
    self->auth_status = self->retries = 0;
    char mep[64];
    snprintf(mep, sizeof mep, "inproc://wanqi-agent-monitor-%u", ++self->mon_n);
    if (zmq_socket_monitor(zsock_resolve(self->sock), mep,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
                           ZMQ_EVENT_DISCONNECTED |
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0)
        self->mon = zsock_new_pair(mep);    /* ">" by default: connects */
    else
        wq_warn(_("cannot monitor the socket: %s"), zmq_strerror(errno));
    if (zsock_connect(self->sock, "%s", self->opts.endpoint) != 0) {
        s_note_error(self, _("cannot connect to %s: %s"), self->opts.endpoint, zmq_strerror(errno));
        s_disconnect(self, now);
        return WQ_OK;
    }
    wq_info(_("connecting to %s as %s incarnation %08" PRIx32 " (last seq %" PRIu64
            ", acknowledged %" PRIu64 ")"), self->opts.endpoint, self->agent, self->inc,
            self->last_seq, self->acked);
    self->last_recv = now;
    if (s_send_hello(self) != WQ_OK)
        s_disconnect(self, now);
    return WQ_OK;
}

/*  ---- batches ------------------------------------------------------------ */

typedef struct {
    wq_blob_t *blobs;
    size_t n;
    uint64_t bad_seq[16];           /* first few placeholders, to note after the read */
    char bad_why[16][80];
    size_t nbad;
    bool oom;
} s_collect_t;

static int
s_collect(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    (void) inc;
    s_collect_t *c = arg;
    const char *why = NULL;
    if (!data)
        why = _("missing from the outbox");
    else if (size == 0)
        why = _("empty value in the outbox");
    else if (size > WQ_RECORD_MAX_BYTES)
        why = _("larger than the record size limit");
    uint8_t *copy = malloc(why ? 1 : size);
    if (!copy) {
        c->oom = true;
        return 1;
    }
    if (why) {
        copy[0] = S_PLACEHOLDER_BYTE;
        size = 1;
        if (c->nbad < 16) {
            c->bad_seq[c->nbad] = seq;
            snprintf(c->bad_why[c->nbad], sizeof c->bad_why[0], "%s", why);
            c->nbad++;
        }
    } else
        memcpy(copy, data, size);
    c->blobs[c->n].data = copy;
    c->blobs[c->n].size = size;
    c->n++;
    return 0;
}

/*  Send one batch from next_send. Returns WQ_OK (sent or nothing to send),
    WQ_E_BUSY (socket full, try later), other: fatal outbox error. */
static int
s_send_batch(wq_sender_t *self, wq_err_t *err)
{
    int rc;
    uint64_t upto = self->next_send + self->max_batch - 1;
    if (upto > self->last_seq)
        upto = self->last_seq;
    s_collect_t c = {0};
    c.blobs = calloc(self->max_batch, sizeof *c.blobs);
    if (!c.blobs)
        return wq_err_set(err, WQ_E_NOMEM, "", _("out of memory for a batch"));
    size_t count = 0;
    size_t raw = 0;
    rc = wq_outbox_read(self->box, self->inc, self->next_send, upto, self->max_batch,
                        wq_pacer_batch_bytes(self->pacer, self->credit), s_collect, &c, &count, err);
    if (rc != WQ_OK)
        goto fail;
    if (c.oom) {
        rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory reading a batch"));
        goto fail;
    }
    if (c.n == 0)
        goto fail;
    for (size_t i = 0; i < c.nbad; i++) {
        char reason[240];
        snprintf(reason, sizeof reason, _("record %" PRIu64 " %s: sent as a placeholder that the "
                 "collector quarantines"), c.bad_seq[i], c.bad_why[i]);
        wq_error("%s", reason);
        wq_err_t e2;
        if (wq_outbox_note_skipped(self->box, self->inc, c.bad_seq[i], reason, &e2) != WQ_OK)
            wq_error(_("cannot note the skipped record: %s"), e2.text);
    }
    wq_msg_t m = {.type = WQ_MSG_BATCH};
    m.batch.inc = self->inc;
    m.batch.first_seq = self->next_send;
    m.batch.count = c.n;
    m.batch.records = c.blobs;
    m.batch.zstd = self->zstd_on;
    m.batch.dict = self->zstd_dict;
    m.batch.zlevel = wq_pacer_level(self->pacer);
    for (size_t i = 0; i < c.n; i++)
        raw += c.blobs[i].size;
    struct timespec t0, t1;     /* the thread's CPU time: compressing is what it measures */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    rc = s_send_msg(self, &m);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    if (rc == WQ_OK && m.batch.zstd)
        wq_pacer_compressed(self->pacer, m.batch.zlevel, raw,
                            (uint64_t) ((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
    if (rc == WQ_OK) {
        self->flight[self->nflight].first = self->next_send;
        self->flight[self->nflight].last = self->next_send + c.n - 1;
        wq_pacer_sent(self->pacer, self->last_send, raw, self->last_sent_bytes, self->nflight,
                      &self->flight[self->nflight].mark);
        self->nflight++;
        wq_debug("sent batch %" PRIu64 "..%" PRIu64 " (%zu record bytes, %zu on the wire, level %d)",
                 self->next_send, self->next_send + c.n - 1, raw, self->last_sent_bytes, m.batch.zlevel);
        self->next_send += c.n;
    } else if (rc != WQ_E_BUSY) {
        /* Encoding or socket trouble: drop the link and start over. */
        s_note_error(self, _("cannot send batch from seq %" PRIu64 ": %s"), self->next_send,
                     wq_strerror(rc));
        s_disconnect(self, wq_mono_ms());
        rc = WQ_OK;
    }
fail:
    for (size_t i = 0; i < c.n; i++)
        free((void *) c.blobs[i].data);
    free(c.blobs);
    return rc;
}

/*  ---- incoming ------------------------------------------------------------ */

/*  The collector told us its durable mark. Store it; detect a restored
    collector (mark below ours) and a mark beyond our outbox. Returns
    false if the session must stop. */
static bool
s_mark(wq_sender_t *self, uint64_t hwm, const wq_quarantined_t *q, size_t nq, uint64_t now)
{
    wq_err_t err;
    if (hwm > self->last_seq) {
        int rc = s_refresh(self, &err);
        if (rc != WQ_OK || hwm > self->last_seq) {
            s_note_error(self, _("the collector holds seq up to %" PRIu64 " of %s/%08" PRIx32
                         " but this outbox ends at %" PRIu64 ": the outbox was restored from "
                         "an older copy or another machine uses this identity. New records "
                         "would be taken for duplicates; run `wanqi-agent init "
                         "--force-new-incarnation`"), hwm, self->agent, self->inc, self->last_seq);
            self->backoff = self->opts.backoff_max_ms;
            s_disconnect(self, now);
            return false;
        }
    }
    if (hwm < self->acked) {
        wq_warn(_("the collector's mark %" PRIu64 " is below our acknowledged mark %" PRIu64
                " (collector restored from a backup?): resending from %" PRIu64), hwm,
                self->acked, hwm + 1);
        s_rewind(self, hwm + 1);
    }
    self->contact_stored = now;
    if (wq_outbox_ack(self->box, self->inc, hwm, q, nq, &err) != WQ_OK) {
        wq_error(_("cannot store the acknowledgement of %" PRIu64 ": %s"), hwm, err.text);
        return true;   /* the collector has it; we learn the mark again at the next HELLO */
    }
    for (size_t i = 0; i < nq; i++)
        wq_warn(_("record %s/%08" PRIx32 "/%" PRIu64 " quarantined by the collector: %s (%s)"),
                self->agent, self->inc, q[i].seq, q[i].reason ? q[i].reason : "",
                wq_errname((int) q[i].code));
    self->acked = hwm;
    return true;
}

static void
s_handle(wq_sender_t *self, const wq_msg_t *m, uint64_t now)
{
    switch (m->type) {
    case WQ_MSG_WELCOME:
        if (self->phase != S_HELLO_SENT) {
            wq_warn(_("WELCOME outside the handshake: ignored"));
            return;
        }
        if (m->welcome.inc != self->inc) {
            s_note_error(self, _("WELCOME for incarnation %08" PRIx32 ", ours is %08" PRIx32
                         ": reconnecting"), m->welcome.inc, self->inc);
            s_disconnect(self, now);
            return;
        }
        self->credit = m->welcome.credit < 1 ? 1 : m->welcome.credit;
        if (self->credit > S_MAX_CREDIT)
            self->credit = S_MAX_CREDIT;
        self->max_batch = m->welcome.max_batch < 1 ? 1 : m->welcome.max_batch;
        if (self->max_batch > WQ_BATCH_MAX_RECORDS)
            self->max_batch = WQ_BATCH_MAX_RECORDS;
        self->hb_ms = m->welcome.heartbeat_ms < 50 ? 50 : m->welcome.heartbeat_ms;
        self->zstd_on = self->zstd_offered && m->welcome.zstd_answer && m->welcome.zstd_on
                        && wq_zbatch_has_dict(m->welcome.zstd_dict);
        self->zstd_dict = self->zstd_on ? m->welcome.zstd_dict : 0;
        wq_info(_("welcome: collector holds up to seq %" PRIu64 " (credit %" PRIu32
                ", batch %" PRIu32 ", heartbeat %" PRIu64 " ms, %s)"), m->welcome.hwm, self->credit,
                self->max_batch, self->hb_ms,
                self->zstd_on ? (self->zstd_dict ? _("zstd with dictionary") : "zstd")
                              : _("uncompressed"));
        if (!s_mark(self, m->welcome.hwm, NULL, 0, now))
            return;
        self->next_send = m->welcome.hwm + 1;
        self->nflight = 0;
        self->phase = S_READY;
        /* A disconnect seen during the handshake was of a connection
           before the one this WELCOME came on (ZeroMQ reconnected). */
        self->dropped = false;
        self->backoff = self->opts.backoff_min_ms;
        self->pause_until = 0;
        return;
    case WQ_MSG_ACK:
        if (self->phase != S_READY || m->ack.inc != self->inc) {
            wq_warn(_("unexpected ACK (incarnation %08" PRIx32 "): ignored"), m->ack.inc);
            return;
        }
        if (!s_mark(self, m->ack.hwm, m->ack.quarantined, m->ack.count, now))
            return;
        {
            size_t keep = 0;
            for (size_t i = 0; i < self->nflight; i++) {
                if (self->flight[i].last > m->ack.hwm)
                    self->flight[keep++] = self->flight[i];
                else
                    wq_pacer_acked(self->pacer, &self->flight[i].mark, now);
            }
            self->nflight = keep;
        }
        if (self->next_send <= m->ack.hwm)
            self->next_send = m->ack.hwm + 1;
        wq_debug("ack %" PRIu64 " (%zu quarantined)", m->ack.hwm, m->ack.count);
        return;
    case WQ_MSG_PONG:
        /* The mark (and the contact time, at most every S_CONTACT_MS to
           spare the disk a sync per heartbeat) is stored like an ACK's. */
        if (self->phase != S_READY || m->pong.inc != self->inc)
            return;
        if (self->pings_out > 0)
            self->pings_out--;
        if ((m->pong.hwm != self->acked || now - self->contact_stored >= S_CONTACT_MS) &&
            !s_mark(self, m->pong.hwm, NULL, 0, now))
            return;
        /* The collector answers in order: this PONG (of the last PING, with
           no rewind since) comes after every batch sent before that PING
           was handled. A mark below them means some were lost, or their
           E_GAP was taken for the echo of an earlier one (see below):
           resend from the mark, so that an ignored E_GAP never stalls. */
        if (self->pings_out == 0 && self->ping_rewinds == self->rewinds &&
            m->pong.hwm < self->ping_upto && m->pong.hwm + 1 < self->next_send) {
            wq_warn(_("the collector holds up to seq %" PRIu64 " after the heartbeat, but %" PRIu64
                    " was sent before it: resending from %" PRIu64), m->pong.hwm, self->ping_upto,
                    m->pong.hwm + 1);
            s_rewind(self, m->pong.hwm + 1);
        }
        return;
    case WQ_MSG_ERROR:
        if (m->error.code == WQ_E_GAP && self->phase == S_READY) {
            uint64_t expected = m->error.expected_seq < 1 ? 1 : m->error.expected_seq;
            /* Each batch in flight past a gap earns its own E_GAP. The
               first one rewinds; the others name the seq we already went
               back to and arrive while we resend past it: resending again
               would only repeat the range. Ignoring one wrongly (our
               resend was lost too) cannot stall: the next PONG shows the
               mark below what was sent and rewinds (see WQ_MSG_PONG), and
               a dead link or the next HELLO starts from the mark anyway. */
            if (expected == self->rewound_to && self->next_send > expected) {
                wq_debug("collector expects seq %" PRIu64 " (gap), already resending from there",
                         expected);
                return;
            }
            wq_warn(_("collector expects seq %" PRIu64 " (gap): resending from there"), expected);
            self->nflight = 0;
            if (expected - 1 != self->acked && !s_mark(self, expected - 1, NULL, 0, now))
                return;
            s_rewind(self, expected);
            return;
        }
        if (m->error.code == WQ_E_FULL) {
            s_note_error(self, _("the collector's store is full (%s): waiting %" PRIu64
                         " ms before resending"), m->error.text, self->backoff);
            s_rewind(self, self->acked + 1);
            self->pause_until = now + self->backoff;
            self->backoff = self->backoff * 2 > self->opts.backoff_max_ms
                                ? self->opts.backoff_max_ms : self->backoff * 2;
            return;
        }
        if (m->error.code == WQ_E_QUOTA) {
            /* Nothing stored: the agent's share of the collector's store is
               used up until its operator raises it. Keep everything and
               resend after the backoff, as for E_FULL (PROTOCOL.md 6.7). */
            s_note_error(self, _("E_QUOTA: the collector refuses this agent's records, over its store quota "
                                 "(%s); nothing is lost: waiting %" PRIu64 " ms before resending (the "
                                 "collector's operator raises agent_quota)"), m->error.text, self->backoff);
            s_rewind(self, self->acked + 1);
            self->pause_until = now + self->backoff;
            self->backoff = self->backoff * 2 > self->opts.backoff_max_ms
                                ? self->opts.backoff_max_ms : self->backoff * 2;
            return;
        }
        if (self->phase == S_HELLO_SENT && self->zstd_offered && m->error.code == WQ_E_RANGE) {
            /* A collector of the protocol before compression refuses the
               8-element HELLO (its arity check): say HELLO as it knows. */
            wq_info(_("the collector does not know compressed batches (%s): sending them "
                    "uncompressed"), m->error.text);
            self->legacy_until = now + S_LEGACY_MS;
            if (s_send_hello(self) != WQ_OK)
                s_disconnect(self, now);
            return;
        }
        if (m->error.code == WQ_E_STATE && self->phase == S_HELLO_SENT) {
            /* The answer to a batch or PING sent before our HELLO (a new
               connection after a reset): the HELLO is on its way already;
               another would only rewind again and resend twice. */
            wq_debug("collector says %s: HELLO already sent", m->error.text);
            return;
        }
        if (m->error.code == WQ_E_STATE) {
            wq_warn(_("collector says %s: starting again at HELLO"), m->error.text);
            if (s_send_hello(self) != WQ_OK)
                s_disconnect(self, now);
            return;
        }
        s_note_error(self, _("collector error %s: %s"), wq_errname((int) m->error.code),
                     m->error.text);
        s_disconnect(self, now);
        return;
    default:
        wq_warn(_("unexpected %s from the collector: ignored"), wq_msg_type_name(m->type));
        return;
    }
}

/*  While a backlog drains, say every opts.progress_ms how far it got, how fast
    and when it should be done, so that whoever watches a long catch-up
    after an outage sees it move; then say once that it is drained. Silent
    for the few records of everyday use (they are acked within seconds),
    and while the link is down (the reconnect messages say why). */
static void
s_progress(wq_sender_t *self, uint64_t now)
{
    uint64_t left = self->last_seq > self->acked ? self->last_seq - self->acked : 0;
    if (self->drain_at == 0) {
        if (left == 0)
            return;
        self->drain_at = self->prog_at = now;
        self->drain_from = self->prog_acked = self->acked;
        self->prog_said = false;
        return;
    }
    if (left == 0) {
        if (self->prog_said)
            wq_info(_("backlog drained: %" PRIu64 " records acknowledged in %" PRIu64 " s"),
                    self->acked - self->drain_from, (now - self->drain_at) / 1000);
        self->drain_at = 0;
        return;
    }
    if (self->phase != S_READY || self->acked < self->prog_acked) {
        self->prog_at = now;    /* measure the rate over time connected only */
        self->prog_acked = self->acked;
        return;
    }
    if (now - self->prog_at < (self->opts.progress_ms ? self->opts.progress_ms : 10000))
        return;
    uint64_t total = self->last_seq - self->drain_from, done = self->acked - self->drain_from;
    double rate = (double) (self->acked - self->prog_acked) * 1000.0 / (double) (now - self->prog_at);
    if (rate > 0) {
        uint64_t eta = (uint64_t) ((double) left / rate + 0.5);
        wq_info(_("backlog: %" PRIu64 " of %" PRIu64 " records acknowledged, %" PRIu64
                  " to go, %.1f records/s, done in about %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64),
                done, total, left, rate, eta / 3600, eta / 60 % 60, eta % 60);
    } else
        wq_info(_("backlog: %" PRIu64 " of %" PRIu64 " records acknowledged, %" PRIu64
                  " to go, none acknowledged in the last %.1f s"),
                done, total, left, (double) (now - self->prog_at) / 1000.0);
    self->prog_said = true;
    self->prog_at = now;
    self->prog_acked = self->acked;
}

static void
s_receive(wq_sender_t *self)
{
    while (self->sock) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        int n = zmq_msg_recv(&frame, zsock_resolve(self->sock), ZMQ_DONTWAIT);
        if (n < 0) {
            zmq_msg_close(&frame);
            return;
        }
        uint64_t now = wq_mono_ms();
        self->last_recv = now;
        bool more = zmq_msg_more(&frame);
        wq_msg_t *m = NULL;
        wq_err_t err;
        if (more) {
            wq_warn(_("multi-frame message from the collector: ignored"));
            zmq_msg_close(&frame);
            continue;
        }
        int rc = wq_msg_decode(zmq_msg_data(&frame), zmq_msg_size(&frame), &m, &err);
        zmq_msg_close(&frame);
        if (rc != WQ_OK) {
            wq_warn(_("undecodable message from the collector: %s: ignored"), err.text);
            continue;
        }
        s_handle(self, m, now);
        wq_msg_destroy(&m);
    }
}

/*  Read the monitor's pending events. A refused key is known at once: note
    it and drop the link (true); the rest is kept for s_why_dead. */
static bool
s_monitor_read(wq_sender_t *self, uint64_t now)
{
    while (self->mon && (zsock_events(self->mon) & ZMQ_POLLIN)) {
        zmsg_t *m = zmsg_recv(self->mon);
        if (!m)
            break;
        zframe_t *f = zmsg_first(m);
        if (f && zframe_size(f) >= 6) {
            uint16_t ev;
            uint32_t value;
            memcpy(&ev, zframe_data(f), 2);
            memcpy(&value, zframe_data(f) + 2, 4);
            if (ev == ZMQ_EVENT_CONNECTED)
                self->tcp_ok = true;
            else if (ev == ZMQ_EVENT_CONNECT_RETRIED)
                self->retries++;
            else if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                self->hs_ok = true;
            else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                self->auth_status = value ? value : 1;
            else if (ev == ZMQ_EVENT_DISCONNECTED)
                self->dropped = true;
            else
                self->hs_failed = true;
        }
        zmsg_destroy(&m);
    }
    if (self->dropped && self->phase == S_READY) {
        /* The connection of a working session broke (a reset): ZeroMQ
           would reconnect by itself, but then send what its queue still
           holds before our HELLO, batches the collector refuses (E_STATE)
           at the cost of link time, and we would learn of it only from
           that answer. A fresh socket at once, without backoff: the link
           worked a moment ago. */
        wq_info(_("connection to %s lost: reconnecting at once"), self->opts.endpoint);
        self->backoff = 0;
        s_disconnect(self, now);
        self->backoff = self->opts.backoff_min_ms;
        self->after_drop = true;
        return true;
    }
    if (self->auth_status) {
        wq_info(_("the collector refused our key (ZAP status %" PRIu32 ")"), self->auth_status);
        s_note_error(self, _("%s refused this agent's key (not authorized): its operator must run "
                     "`wanqi-collector authorize agent --key '%s' --agent-id %s --county CODE`"),
                     self->opts.endpoint, zcert_public_txt(self->opts.cert), self->agent);
        s_disconnect(self, now);
        return true;
    }
    return false;
}

/*  Why a link gave no answer, from what the monitor saw. */
static void
s_why_dead(wq_sender_t *self, uint64_t silent_ms)
{
    if (self->mon && !self->tcp_ok)
        s_note_error(self, _("cannot reach %s (no connection in %" PRIu64 " ms, %" PRIu32 " attempts): "
                     "is the collector running, is the address right, is the port open?"),
                     self->opts.endpoint, silent_ms, self->retries + 1);
    else if (self->mon && !self->hs_ok)
        /* Connected, no handshake: a wrong collector key and a link that
           stalls (or is too slow for 3 heartbeats) look the same from here.
           Kept short: the outbox stores 300 bytes of it, also in Chinese. */
        s_note_error(self, _("reached %s, but the encrypted handshake did not complete in %" PRIu64 " ms: "
                     "a wrong collector_key in agent.conf (compare with `wanqi-collector key` there) "
                     "or a stalled or slow link (check ping, packet loss, proxies; raise heartbeat_ms "
                     "on a slow line)"), self->opts.endpoint, silent_ms);
    else
        s_note_error(self, _("no answer from %s for %" PRIu64 " ms: link dead (collector "
                     "down or unreachable, or this agent's key not authorized there)"),
                     self->opts.endpoint, silent_ms);
}

int
wq_sender_run(wq_sender_t *self, const volatile sig_atomic_t *stop, wq_err_t *err)
{
    int rc = WQ_OK;
    srandom((unsigned) (wq_now_ms() ^ (uint64_t) getpid()));
    while (!*stop) {
        uint64_t now = wq_mono_ms();
        if (self->phase == S_DOWN && now >= self->next_attempt) {
            rc = s_connect(self, now, err);
            if (rc != WQ_OK)
                goto done;
        }
        if (self->phase != S_DOWN && !s_monitor_read(self, now) &&
            now - self->last_recv > 3 * self->hb_ms) {
            s_why_dead(self, now - self->last_recv);
            s_disconnect(self, now);
        }
        if (now - self->last_poll >= self->opts.poll_ms) {
            rc = s_refresh(self, err);
            if (rc != WQ_OK)
                goto done;
        }
        if (self->phase == S_READY && now >= self->pause_until) {
            while (self->sock && self->phase == S_READY && self->nflight < self->credit &&
                   self->next_send <= self->last_seq) {
                rc = s_send_batch(self, err);
                if (rc == WQ_E_BUSY)
                    break;
                if (rc != WQ_OK)
                    goto done;
            }
            rc = WQ_OK;
        }
        /* A PING every heartbeat when idle; sooner when a batch is overdue
           (the pacer knows how long the link needs), because ZeroMQ
           reconnects a reset connection silently and only an answer
           (E_STATE on the new connection) tells us to say HELLO again. */
        uint64_t probe = wq_pacer_probe_ms(self->pacer, self->hb_ms);
        bool overdue = self->nflight > 0 && now - self->last_send >= probe
                       && now - self->last_recv >= probe;
        if (self->phase == S_READY && (now - self->last_send >= self->hb_ms || overdue)) {
            wq_msg_t m = {.type = WQ_MSG_PING};
            m.ping.inc = self->inc;
            m.ping.last_seq = self->last_seq;
            m.ping.queued = self->last_seq > self->acked ? self->last_seq - self->acked : 0;
            int prc = s_send_msg(self, &m);
            if (prc == WQ_OK) {
                self->ping_upto = self->next_send - 1;
                self->ping_rewinds = self->rewinds;
                self->pings_out++;
            } else if (prc == WQ_E_IO)
                s_disconnect(self, now);
        }
        s_progress(self, now);
        long timeout = (long) self->opts.poll_ms;
        if (self->sock) {
            zmq_pollitem_t items[2] = {{zsock_resolve(self->sock), 0, ZMQ_POLLIN, 0},
                                       {self->mon ? zsock_resolve(self->mon) : NULL, 0,
                                        ZMQ_POLLIN, 0}};
            int prc = zmq_poll(items, self->mon ? 2 : 1, timeout);
            if (prc < 0 && errno != EINTR) {
                rc = wq_err_set(err, WQ_E_IO, "", _("zmq_poll: %s"), zmq_strerror(errno));
                goto done;
            }
            if (prc > 0 && (items[0].revents & ZMQ_POLLIN))
                s_receive(self);
        } else {
            uint64_t wait = self->next_attempt > now ? self->next_attempt - now : 0;
            if (wait > (uint64_t) timeout)
                wait = (uint64_t) timeout;
            poll(NULL, 0, (int) wait);
        }
    }
done:
    zsock_destroy(&self->mon);
    zsock_destroy(&self->sock);
    self->phase = S_DOWN;
    return rc;
}
