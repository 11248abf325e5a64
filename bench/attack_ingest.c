/*  =========================================================================
    attack_ingest - per-batch cost of a normal batch after each attack

    Issue 10, finding 2: 30 batches of 1 000 corrections dated 2000-01-01
    raised the batch time from 63 ms to 6.4 s; another county's retractions
    of a future date made every later batch touching that enterprise slow.
    This program times one normal batch (1 000 generated records of one
    county: enterprises, visits, problems, plans, progress, corrections ...)
    ingested into a store in a temp directory (every batch a durable
    commit): on an empty store, then after each attack, each attack sent as
    30 batches of 1 000 records by a hostile agent:
      corrections   1 000 corrections per batch of one victim event
      retractions   another county's retractions (future date) of the
                    victim enterprise's events
      pending       corrections of events the collector does not hold
      foreign       another county's visits to the victim enterprise
      quota         an agent with a quota (64 MiB here) floods 4 KB
                    quarantined records until its batches are refused
                    (E_QUOTA), then keeps sending
    The normal batch after an attack also touches the victim enterprise.
    Then the attacks on the collector's connections (issue 10, findings 4,
    5, 9), against a real server (wq_server in a thread, CURVE, 127.0.0.1),
    the normal batch sent over the network by an authorised agent (HELLO,
    BATCH, ACK) while the attack goes on:
      unauth        400 TCP connections from one address that never
                    authenticate (256 are held, the rest closed at once)
      multipart     an authorised key sending 256 MiB multi-frame messages
                    over and over (each connection closed at buffer_max)
      revoked       a key with 32 connections sending HELLOs, revoked by a
                    reload (its connections closed) and still reconnecting
    (for multipart also after it stops: during it the attacker's CURVE
    encryption shares this process and the machine's 2 cores).
    Each figure is the best of 3 normal batches (the machine is shared).
    Prints figures (ms, ratio to the empty store), asserts nothing; the
    target is a ratio within 2. Usage: attack_ingest [ATTACK_BATCHES]
    (default 30); attack_ingest --help.
    =========================================================================
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <czmq.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include "bench/benchargs.h"
#include "collector/central.h"
#include "collector/peers.h"
#include "collector/server.h"
#include "common/generate.h"
#include "proto/msg.h"
#include "common/json.h"
#include "common/log.h"
#include "common/record.h"

#define S_BATCH 1000
#define S_TRIES 3

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
s_die(const char *what, const wq_err_t *err)
{
    fprintf(stderr, "attack_ingest: %s: %s\n", what, err ? err->text : "");
    exit(1);
}

/*  Records of a generated campaign of county (seed), as parsed records
    (content only), the first S_BATCH lines. "@N" stays as text. */
typedef struct {
    wq_record_t *r[S_BATCH];
    size_t n;
} s_lines_t;

static void
s_generate(const char *county, uint64_t seed, s_lines_t *out)
{
    char *buf = NULL;
    size_t len = 0;
    wq_err_t err;
    FILE *f = open_memstream(&buf, &len);
    if (!f || wq_generate(f, county, NULL, NULL, seed, 120, NULL, &err) != WQ_OK)
        s_die("generate", &err);
    fclose(f);
    out->n = 0;
    for (char *line = strtok(buf, "\n"); line && out->n < S_BATCH; line = strtok(NULL, "\n")) {
        wq_json_object_t *obj = NULL;
        if (wq_json_parse_object(line, strlen(line), &obj, &err) != WQ_OK ||
            wq_record_from_json(obj, &out->r[out->n], &err) != WQ_OK)
            s_die("parse generated line", &err);
        wq_json_object_destroy(&obj);
        out->n++;
    }
    free(buf);
}

/*  Give lines their identity in stream (agent, inc) from seq 1, resolve
    "@N", encode into blobs. */
static void
s_encode(s_lines_t *l, const char *agent, uint32_t inc, wq_blob_t *blobs)
{
    char ids[S_BATCH][WQ_EVENT_ID_MAX];
    for (size_t i = 0; i < l->n; i++) {
        wq_record_t *r = l->r[i];
        char *fields[] = {r->target, r->problem, r->consultation, r->visit};
        for (int k = 0; k < 4; k++) {
            unsigned long ln;
            if (wq_event_ref_is_line(fields[k], &ln) && ln >= 1 && ln <= i)
                memcpy(fields[k], ids[ln - 1], WQ_EVENT_ID_MAX);
        }
        wq_record_set_identity(r, agent, inc, i + 1, 1559347200000ull);
        wq_record_id(r, ids[i]);
        uint8_t *b = NULL;
        size_t sz = 0;
        if (wq_record_encode(r, &b, &sz) != WQ_OK)
            s_die("encode", NULL);
        blobs[i].data = b;
        blobs[i].size = sz;
    }
}

static double
s_ingest(wq_central_t *c, const char *agent, const char *county, uint32_t inc, uint64_t first,
         wq_blob_t *blobs, size_t n)
{
    wq_ingest_result_t res;
    wq_err_t err;
    double t0 = s_now();
    if (wq_central_ingest(c, agent, county, inc, first, blobs, n, 1559347200000ull, &res, &err) !=
        WQ_OK)
        s_die("ingest", &err);
    double t = s_now() - t0;
    wq_ingest_result_clear(&res);
    for (size_t i = 0; i < n; i++)
        free((void *) blobs[i].data);
    return t;
}

/*  The normal batch: a fresh stream of 130102-01 (its own campaign, seed),
    plus (when victim) one visit to the victim enterprise. */
static double
s_normal(wq_central_t *c, uint32_t inc, uint64_t seed, const char *victim)
{
    s_lines_t l;
    wq_blob_t blobs[S_BATCH];
    s_generate("130102", seed, &l);
    if (victim && l.n > 0) {    /* the last line becomes a visit to the victim */
        wq_record_t *v = wq_record_new(WQ_REC_VISIT);
        wq_err_t err;
        if (!v || wq_record_set_text(v, "date", "2019-06-01", &err) ||
            wq_record_set_text(v, "county", "130102", &err) ||
            wq_record_set_text(v, "ent", victim, &err) ||
            wq_record_set_text(v, "cadres", "张三", &err) ||
            wq_record_set_text(v, "method", "field_visit", &err) ||
            wq_record_set_text(v, "findings", "复查", &err))
            s_die("victim visit", &err);
        wq_record_destroy(&l.r[l.n - 1]);
        l.r[l.n - 1] = v;
    }
    s_encode(&l, "130102-01", inc, blobs);
    double t = s_ingest(c, "130102-01", "130102", inc, 1, blobs, l.n);
    for (size_t i = 0; i < l.n; i++)
        wq_record_destroy(&l.r[i]);
    return t;
}

/*  One attack batch of the hostile stream (agent of county), n records
    made by make(i). */
static wq_record_t *
s_attack_record(const char *kind, const char *county, const char *victim_ent,
                const char *victim_id, uint64_t i)
{
    wq_err_t err;
    wq_record_t *r = NULL;
    int bad = 0;
    if (!strcmp(kind, "corrections") || !strcmp(kind, "pending")) {
        r = wq_record_new(WQ_REC_CORRECTION);
        char missing[WQ_EVENT_ID_MAX];
        snprintf(missing, sizeof missing, "130102-09/00000001/%" PRIu64, 1000000 + i);
        bad = !r || wq_record_set_text(r, "date", "2000-01-01", &err) ||
              wq_record_set_text(r, "county", county, &err) ||
              wq_record_set_text(r, "ent", victim_ent, &err) ||
              wq_record_set_text(r, "target", !strcmp(kind, "pending") ? missing : victim_id, &err) ||
              wq_record_set_text(r, "of", "enterprise", &err) ||
              wq_record_set_text(r, "reason", "改", &err) ||
              wq_record_set_patch_text(r, "name", "改名企业", &err);
    } else if (!strcmp(kind, "retractions")) {
        r = wq_record_new(WQ_REC_RETRACTION);
        bad = !r || wq_record_set_text(r, "date", "2099-12-31", &err) ||
              wq_record_set_text(r, "county", county, &err) ||
              wq_record_set_text(r, "ent", victim_ent, &err) ||
              wq_record_set_text(r, "target", victim_id, &err) ||
              wq_record_set_text(r, "reason", "撤", &err);
    } else if (!strcmp(kind, "quota")) {
        /* Junk the collector quarantines (no such county), 4 KB each. */
        static char junk[4001];
        memset(junk, 'j', sizeof junk - 1);
        r = wq_record_new(WQ_REC_VISIT);
        bad = !r || wq_record_set_text(r, "date", "2019-06-02", &err) ||
              wq_record_set_text(r, "county", county, &err) ||
              wq_record_set_text(r, "ent", victim_ent, &err) ||
              wq_record_set_text(r, "cadres", "王五", &err) ||
              wq_record_set_text(r, "method", "field_visit", &err) ||
              wq_record_set_text(r, "findings", junk, &err);
        if (!bad)
            snprintf(r->county, sizeof r->county, "999999");
    } else {
        r = wq_record_new(WQ_REC_VISIT);
        bad = !r || wq_record_set_text(r, "date", "2019-06-02", &err) ||
              wq_record_set_text(r, "county", county, &err) ||
              wq_record_set_text(r, "ent", victim_ent, &err) ||
              wq_record_set_text(r, "cadres", "王五", &err) ||
              wq_record_set_text(r, "method", "field_visit", &err) ||
              wq_record_set_text(r, "findings", "无", &err);
    }
    if (bad)
        s_die(kind, &err);
    return r;
}

static double
s_attack(wq_central_t *c, const char *kind, const char *agent, const char *county, uint32_t inc,
         int batches, const char *victim_ent, const char *victim_id, size_t *quarantined, int *refused)
{
    double total = 0;
    uint64_t next = 1;
    *quarantined = 0;
    *refused = 0;
    for (int b = 0; b < batches; b++) {
        wq_blob_t blobs[S_BATCH];
        for (size_t i = 0; i < S_BATCH; i++) {
            uint64_t seq = next + i;
            wq_record_t *r = s_attack_record(kind, county, victim_ent, victim_id, seq);
            wq_record_set_identity(r, agent, inc, seq, 1559347200000ull);
            uint8_t *buf = NULL;
            size_t sz = 0;
            if (wq_record_encode(r, &buf, &sz) != WQ_OK)
                s_die("encode attack", NULL);
            wq_record_destroy(&r);
            blobs[i].data = buf;
            blobs[i].size = sz;
        }
        wq_ingest_result_t res;
        wq_err_t err;
        double t0 = s_now();
        int rc = wq_central_ingest(c, agent, county, inc, next, blobs, S_BATCH, 1559347200000ull, &res, &err);
        if (rc == WQ_E_QUOTA)
            (*refused)++;       /* refused whole: the agent would resend the same */
        else if (rc != WQ_OK)
            s_die("attack ingest", &err);
        else
            next += S_BATCH;
        total += s_now() - t0;
        *quarantined += res.nquarantined;
        wq_ingest_result_clear(&res);
        for (size_t i = 0; i < S_BATCH; i++)
            free((void *) blobs[i].data);
    }
    return total;
}

/*  ---- the attacks on the collector's connections ---------------------- */

typedef struct {
    wq_server_t *server;
    wq_central_t *central;
    pthread_t thread;
    volatile sig_atomic_t stop, reload;
    char ingest[64];
    char key[41];               /* the collector's public key */
    char peers[512];
    zcert_t *normal, *multi, *revoked;
} s_net_t;

static void *
s_net_run(void *arg)
{
    s_net_t *n = arg;
    wq_err_t err;
    if (wq_server_run(n->server, &n->stop, &n->reload, &err) != WQ_OK)
        fprintf(stderr, "attack_ingest: server: %s\n", err.text);
    return NULL;
}

static int
s_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *) &sa, &len) != 0)
        s_die("free port", NULL);
    close(fd);
    return ntohs(sa.sin_port);
}

static void
s_authorize(s_net_t *n, zcert_t *cert, const char *agent)
{
    wq_peer_t p;
    wq_err_t err;
    memset(&p, 0, sizeof p);
    p.kind = WQ_PEER_AGENT;
    snprintf(p.key, sizeof p.key, "%s", zcert_public_txt(cert));
    snprintf(p.id, sizeof p.id, "%s", agent);
    snprintf(p.county, sizeof p.county, "130102");
    if (wq_peers_append(n->peers, &p, &err) != WQ_OK)
        s_die("authorize", &err);
}

static zsock_t *
s_dealer(s_net_t *n, zcert_t *cert, int reconnect_ms)
{
    zsock_t *d = zsock_new(ZMQ_DEALER);
    if (!d)
        s_die("dealer", NULL);
    zsock_set_linger(d, 0);
    zsock_set_reconnect_ivl(d, reconnect_ms);
    zsock_set_sndtimeo(d, 0);
    zcert_apply(cert, d);
    zsock_set_curve_serverkey(d, n->key);
    if (zsock_connect(d, "%s", n->ingest) != 0)
        s_die("connect", NULL);
    return d;
}

static void
s_send_msg(zsock_t *d, const wq_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    wq_err_t err;
    if (wq_msg_encode(m, &buf, &size, &err) != WQ_OK)
        s_die("encode message", &err);
    zmq_send(zsock_resolve(d), buf, size, ZMQ_DONTWAIT);    /* a lost one is answered by no reply */
    free(buf);
}

static void
s_hello(zsock_t *d, const char *agent, uint32_t inc)
{
    wq_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = WQ_MSG_HELLO;
    m.hello.agent = (char *) agent;
    m.hello.inc = inc;
    m.hello.software = "attack_ingest";
    s_send_msg(d, &m);
}

/*  Next message of type, waiting at most 120 s (an upper bound, not a
    measurement); NULL if none. */
static wq_msg_t *
s_expect(zsock_t *d, wq_msg_type_t type)
{
    zpoller_t *p = zpoller_new(d, NULL);
    for (int i = 0; i < 100; i++) {
        if (!zpoller_wait(p, 120000))
            break;
        zframe_t *f = zframe_recv(d);
        wq_msg_t *m = NULL;
        wq_err_t err;
        if (f && wq_msg_decode(zframe_data(f), zframe_size(f), &m, &err) == WQ_OK && m->type == type) {
            zframe_destroy(&f);
            zpoller_destroy(&p);
            return m;
        }
        if (m && m->type == WQ_MSG_ERROR)
            fprintf(stderr, "attack_ingest: collector says %s: %s\n", wq_errname((int) m->error.code),
                    m->error.text);
        wq_msg_destroy(&m);
        zframe_destroy(&f);
    }
    zpoller_destroy(&p);
    return NULL;
}

/*  One normal batch over the network on the normal agent's connection:
    HELLO for a fresh incarnation, then BATCH -> ACK, timed. */
static double
s_net_normal(zsock_t *d, uint32_t inc, uint64_t seed)
{
    s_hello(d, "130102-01", inc);
    wq_msg_t *w = s_expect(d, WQ_MSG_WELCOME);
    if (!w)
        s_die("no WELCOME for the normal agent", NULL);
    wq_msg_destroy(&w);
    s_lines_t l;
    wq_blob_t blobs[S_BATCH];
    s_generate("130102", seed, &l);
    s_encode(&l, "130102-01", inc, blobs);
    wq_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = WQ_MSG_BATCH;
    m.batch.inc = inc;
    m.batch.first_seq = 1;
    m.batch.count = l.n;
    m.batch.records = blobs;
    double t0 = s_now();
    s_send_msg(d, &m);
    wq_msg_t *ack = s_expect(d, WQ_MSG_ACK);
    double t = s_now() - t0;
    if (!ack)
        s_die("no ACK for the normal batch", NULL);
    wq_msg_destroy(&ack);
    for (size_t i = 0; i < l.n; i++) {
        free((void *) blobs[i].data);
        wq_record_destroy(&l.r[i]);
    }
    return t;
}

static double
s_net_best(zsock_t *d, uint32_t *inc)
{
    double best = 1e9;
    for (int i = 0; i < S_TRIES; i++) {
        double t = s_net_normal(d, *inc, 100 + *inc);
        (*inc)++;
        best = t < best ? t : best;
    }
    return best;
}

static long
s_vmhwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/*  The multipart attacker: 256 MiB messages of 1 MiB frames, over and
    over, reconnecting when the collector closes the connection. */
typedef struct {
    s_net_t *net;
    volatile int stop;
    int closed;                 /* DISCONNECTED events seen */
    uint64_t sent_mb;
} s_multi_t;

static void *
s_multi_run(void *arg)
{
    s_multi_t *m = arg;
    static uint8_t frame[1 << 20];
    memset(frame, 'x', sizeof frame);
    zsock_t *d = zsock_new(ZMQ_DEALER);
    zsock_t *mon = zsock_new(ZMQ_PAIR);
    if (!d || !mon)
        s_die("attacker sockets", NULL);
    /* One message queued at a time: what is sent is what the collector gets. */
    zsock_set_sndhwm(d, 1);
    zsock_set_linger(d, 0);
    zsock_set_reconnect_ivl(d, 100);
    zcert_apply(m->net->multi, d);
    zsock_set_curve_serverkey(d, m->net->key);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://attack-multi-%p", (void *) m);
    if (zmq_socket_monitor(zsock_resolve(d), ep, ZMQ_EVENT_DISCONNECTED) != 0 || zsock_connect(mon, "%s", ep) != 0 ||
        zsock_connect(d, "%s", m->net->ingest) != 0)
        s_die("attacker connect", NULL);
    void *h = zsock_resolve(d);
    zmq_pollitem_t item = {zsock_resolve(mon), 0, ZMQ_POLLIN, 0};
    int f = 0;
    while (!m->stop) {
        zmq_msg_t msg;
        zmq_msg_init_data(&msg, frame, sizeof frame, NULL, NULL);
        if (zmq_msg_send(&msg, h, f + 1 < 256 ? ZMQ_SNDMORE | ZMQ_DONTWAIT : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            zclock_sleep(10);   /* its pipe is full (or no connection yet): wait */
        } else {
            m->sent_mb++;
            f = (f + 1) % 256;
        }
        while (zmq_poll(&item, 1, 0) > 0) {
            zmsg_t *e = zmsg_recv(mon);
            zmsg_destroy(&e);
            m->closed++;
        }
    }
    zmq_socket_monitor(h, NULL, 0);
    zsock_destroy(&mon);
    zsock_destroy(&d);
    return NULL;
}

static void
s_remove_line(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);
    char line[512];
    while (f && o && fgets(line, sizeof line, f))
        if (!strstr(line, key))
            fputs(line, o);
    if (f)
        fclose(f);
    if (o)
        fclose(o);
    f = fopen(path, "w");
    if (!f || !text || fputs(text, f) < 0 || fclose(f) != 0)
        s_die("rewrite the peers file", NULL);
    free(text);
}

static void
s_network(const char *dir, wq_err_t *err)
{
    s_net_t n;
    memset(&n, 0, sizeof n);
    char store[512], cert[512];
    snprintf(store, sizeof store, "%s/net-store", dir);
    snprintf(cert, sizeof cert, "%s/collector.cert", dir);
    snprintf(n.peers, sizeof n.peers, "%s/peers", dir);
    if (mkdir(store, 0700) != 0 || wq_central_open(store, 0, &n.central, err) != WQ_OK)
        s_die("network store", err);
    zcert_t *cc = zcert_new();
    if (!cc || zcert_save(cc, cert) != 0)
        s_die("collector certificate", NULL);
    snprintf(n.key, sizeof n.key, "%s", zcert_public_txt(cc));
    zcert_destroy(&cc);
    n.normal = zcert_new();
    n.multi = zcert_new();
    n.revoked = zcert_new();
    if (wq_peers_create(n.peers, err) != WQ_OK)
        s_die("peers", err);
    s_authorize(&n, n.normal, "130102-01");
    s_authorize(&n, n.multi, "130102-70");
    s_authorize(&n, n.revoked, "130102-71");
    snprintf(n.ingest, sizeof n.ingest, "tcp://127.0.0.1:%d", s_free_port());
    char query[64];
    snprintf(query, sizeof query, "tcp://127.0.0.1:%d", s_free_port());
    wq_server_opts_t o = {.ingest = n.ingest, .query = query, .peers_path = n.peers, .cert_path = cert,
                          .central = n.central, .credit = 4, .max_batch = S_BATCH, .heartbeat_ms = 10000,
                          .session_idle_ms = 600000, .unauth_per_address = 256,
                          .buffer_max = (uint64_t) 512 << 20};
    if (wq_server_new(&o, &n.server, err) != WQ_OK)
        s_die("server", err);
    if (pthread_create(&n.thread, NULL, s_net_run, &n) != 0)
        s_die("server thread", NULL);

    zsock_t *d = s_dealer(&n, n.normal, 100);
    uint32_t inc = 1;
    double base = s_net_best(d, &inc);
    printf("over the network (CURVE, 127.0.0.1): normal 1000-record batch, HELLO..ACK, nearly empty "
           "store: %.1f ms (best of %d)\n", base * 1e3, S_TRIES);
    fflush(stdout);

    /* unauth: 400 connections from 127.0.0.1 that never authenticate. */
    enum { UNAUTH = 400 };
    int fds[UNAUTH], open_now = 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) atoi(strrchr(n.ingest, ':') + 1));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < UNAUTH; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *) &sa, sizeof sa) != 0)
            s_die("unauthenticated connection", NULL);
    }
    double t = s_net_best(d, &inc);
    for (int i = 0; i < UNAUTH; i++) {
        /* Closed by the collector: end of file once its greeting is read. */
        char buf[256];
        ssize_t r;
        while ((r = recv(fds[i], buf, sizeof buf, MSG_DONTWAIT)) > 0)
            ;
        open_now += r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        close(fds[i]);
    }
    printf("while %d unauthenticated connections come from one address (%d still open, the rest closed "
           "by unauth_per_address = 256): normal batch %.1f ms (%.2fx)\n", UNAUTH, open_now, t * 1e3, t / base);
    fflush(stdout);

    /* multipart: 256 MiB messages from an authorised key, non-stop. */
    s_multi_t m;
    memset(&m, 0, sizeof m);
    m.net = &n;
    long hwm0 = s_vmhwm_kb();
    pthread_t mt;
    if (pthread_create(&mt, NULL, s_multi_run, &m) != 0)
        s_die("attacker thread", NULL);
    zclock_sleep(2000);         /* let it get going */
    t = s_net_best(d, &inc);
    m.stop = 1;
    pthread_join(mt, NULL);
    /* During it, the attacker's encryption runs in this process, on the
       same 2 cores: the figure after it is the one the target is for. */
    double after = s_net_best(d, &inc);
    printf("while a key sends 256 MiB multi-frame messages non-stop (%" PRIu64 " MiB sent, its connection closed "
           "%d times by the collector; this process's VmHWM grew %ld MiB): normal batch %.1f ms (%.2fx); "
           "after it: %.1f ms (%.2fx)\n",
           m.sent_mb, m.closed, (s_vmhwm_kb() - hwm0) / 1024, t * 1e3, t / base, after * 1e3, after / base);
    fflush(stdout);

    /* revoked: 32 connections of one key, revoked by a reload. */
    enum { REVOKED = 32 };
    zsock_t *rv[REVOKED];
    for (int i = 0; i < REVOKED; i++) {
        rv[i] = s_dealer(&n, n.revoked, 100);
        s_hello(rv[i], "130102-71", 1);
    }
    for (int i = 0; i < REVOKED; i++) {
        wq_msg_t *w = s_expect(rv[i], WQ_MSG_WELCOME);
        wq_msg_destroy(&w);
    }
    s_remove_line(n.peers, zcert_public_txt(n.revoked));
    n.reload = 1;
    zclock_sleep(1000);
    for (int i = 0; i < REVOKED; i++)
        s_hello(rv[i], "130102-71", 1);     /* refused: E_AUTH if it arrives at all */
    t = s_net_best(d, &inc);
    printf("after a key with %d open connections is revoked (closed at the reload; they keep "
           "reconnecting): normal batch %.1f ms (%.2fx)\n", REVOKED, t * 1e3, t / base);
    fflush(stdout);
    for (int i = 0; i < REVOKED; i++)
        zsock_destroy(&rv[i]);
    zsock_destroy(&d);
    n.stop = 1;
    pthread_join(n.thread, NULL);
    wq_server_destroy(&n.server);
    wq_central_destroy(&n.central);
    zcert_destroy(&n.normal);
    zcert_destroy(&n.multi);
    zcert_destroy(&n.revoked);
}

static const char s_usage[] =
    "usage: attack_ingest [ATTACK_BATCHES]\n"
    "\n"
    "Per-batch cost of a normal 1000-record batch into a fresh store (temp directory),\n"
    "then after each attack of ATTACK_BATCHES x 1000 hostile records (default 30):\n"
    "corrections of one event, another county's retractions and visits, pending\n"
    "corrections, a quota flood; then against a real server on 127.0.0.1 while\n"
    "unauthenticated connections, 256 MiB multi-frame messages and a revoked key's\n"
    "reconnects go on. Prints ms and the ratio to the empty store (target: within 2x),\n"
    "best of 3 each; asserts nothing. Exit status: 0 done, 1 failed, 2 bad usage.\n";

int
main(int argc, char **argv)
{
    if (bench_wants_help(argc, argv)) {
        fputs(s_usage, stdout);
        return 0;
    }
    if (argc > 2)
        return bench_usage_error("attack_ingest", "one argument at most, not also", argv[2]);
    long long nb = 30;
    if (argc > 1 && !bench_parse_int(argv[1], 10, 1, 100000, &nb))
        return bench_usage_error("attack_ingest", "ATTACK_BATCHES is a whole number 1..100000, not", argv[1]);
    int batches = (int) nb;
    wq_log_init("attack_ingest", WQ_LOG_ERROR);    /* the server's warnings are the attacks' */
    char dir[] = "/tmp/wq-attack-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    wq_central_t *c = NULL;
    wq_err_t err;
    if (wq_central_open(dir, 0, &c, &err) != WQ_OK)
        s_die("open", &err);
    /* The victim: 130102's first generated enterprise, registered by the
       first normal batch (seq 1 of stream inc 1). */
    s_lines_t first;
    s_generate("130102", 1, &first);
    char victim_ent[19];
    snprintf(victim_ent, sizeof victim_ent, "%s", first.r[0]->ent);
    char victim_id[WQ_EVENT_ID_MAX];
    wq_event_id_format("130102-01", 1, 1, victim_id);
    for (size_t i = 0; i < first.n; i++)
        wq_record_destroy(&first.r[i]);

    /* The machine is shared: each figure is the best of S_TRIES normal
       batches (fresh streams and enterprises each time). */
    uint32_t inc = 1;
    double base = s_normal(c, inc++, 1, NULL);
    for (int i = 1; i < S_TRIES; i++) {
        double t = s_normal(c, inc, inc, victim_ent);
        inc++;
        base = t < base ? t : base;
    }
    printf("normal 1000-record batch, (nearly) empty store: %.1f ms (best of %d)\n", base * 1e3,
           S_TRIES);
    static const struct {
        const char *kind, *agent, *county;
    } attacks[] = {{"corrections", "130102-66", "130102"},
                   {"retractions", "130627-66", "130627"},
                   {"pending", "130102-67", "130102"},
                   {"foreign", "130627-67", "130627"},
                   {"quota", "130102-68", "130102"}};
    /* The quota attack: every agent has one (the normal agent's batches
       of this program stay far below it). */
    wq_central_set_agent_quota(c, (uint64_t) 64 << 20);
    for (size_t a = 0; a < sizeof attacks / sizeof attacks[0]; a++) {
        size_t q = 0;
        int refused = 0;
        double t = s_attack(c, attacks[a].kind, attacks[a].agent, attacks[a].county, 7, batches,
                            victim_ent, victim_id, &q, &refused);
        double n = 1e9;
        for (int i = 0; i < S_TRIES; i++) {
            double tn = s_normal(c, inc, inc, victim_ent);
            inc++;
            n = tn < n ? tn : n;
        }
        printf("after %d x 1000 %-11s (%s, %.1f s, %zu quarantined", batches, attacks[a].kind, attacks[a].county,
               t, q);
        if (refused)
            printf(", %d batches refused E_QUOTA", refused);
        printf("): normal batch %.1f ms (%.2fx)\n", n * 1e3, n / base);
        fflush(stdout);
    }
    uint64_t diffs = 0;
    if (wq_central_verify(c, NULL, &diffs, &err) != WQ_OK)
        s_die("verify", &err);
    printf("verify: %" PRIu64 " differences\n", diffs);
    wq_central_destroy(&c);
    s_network(dir, &err);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
