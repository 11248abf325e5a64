/*  =========================================================================
    wq-faultlink - a fault-injecting TCP link for the wanqi fault suite

    The fault suite (issue 6) must show that nothing is lost or counted twice
    when the link between agents and collector is slow, lossy or down. This
    program sits between them: it listens on a loopback port, forwards every
    accepted connection to a loopback target port, and in between adds the
    faults a weak county link has: latency, a bandwidth cap, random resets
    (per direction, so that e.g. only acks are lost), resets on command, a
    stall (accept and read, deliver nothing) and a cut (link down).

    Design: one thread, one ppoll(2) loop, non-blocking sockets. Each
    connection has two pipes (up: client -> target, down: target -> client),
    each a fixed-size ring buffer plus a fixed-size queue of chunks (one chunk
    per read). A chunk is delivered when its due time (read time + latency)
    has come, in order, as fast as the pipe's token bucket allows. A full pipe
    stops reading its source, so memory is bounded by
    max_conns * 2 * (buffer + chunk slots) whatever the peers do.

    Settings are changed at run time by one-line commands on a control port
    (TCP on 127.0.0.1), each answered by one line, "ok ..." or "error: ...".
    See README.md in this directory for options and commands.

    Only loopback addresses are accepted, to listen on or to forward to: the
    tool is for tests and must never become an open relay.

    Random decisions (drops) come from a seeded xorshift64* generator
    (--seed), so a run with the same seed and the same traffic injects the
    same faults.
    =========================================================================
*/
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define FL_UP 0   /* client -> target (agent -> collector) */
#define FL_DOWN 1 /* target -> client (collector -> agent: acks) */

#define FL_MAX_CTL 8            /* control clients at once */
#define FL_CTL_LINE 256         /* longest control line */
#define FL_MAX_CONNS_LIMIT 1024 /* hard cap for --max-conns */
#define FL_CHUNK_SLOTS 256      /* chunks queued per pipe */
#define FL_TOKEN_QUANTUM 1024   /* bytes worth waiting for when rate-limited */

/*  Exit codes */
#define FL_EXIT_OK 0
#define FL_EXIT_RUNTIME 1
#define FL_EXIT_USAGE 2

typedef struct {
    size_t len;     /* bytes of this chunk not yet delivered */
    int64_t due_us; /* monotonic time at which it may be delivered */
} fl_chunk_t;

/*  One direction of one connection. */
typedef struct {
    uint8_t *buf;   /* ring of cap bytes */
    size_t cap;
    size_t head;    /* first undelivered byte */
    size_t used;    /* undelivered bytes */
    fl_chunk_t chunks[FL_CHUNK_SLOTS];
    size_t chead, cused;
    int64_t last_due_us; /* due time of the newest chunk: keeps order when latency drops */
    double tokens;  /* token bucket, bytes */
    int64_t tok_us; /* last refill */
    int64_t hole_until_us; /* --loss: a lost piece is resent then (see s_pipe_refill) */
    bool resending;  /* --loss: the next piece to go is a lost one's resend */
    int64_t open_us; /* nothing read before then is delivered before then + latency: the
                        TCP handshake a real link would have cost (see s_accept) */
    bool eof;       /* source closed its side */
    bool shut;      /* EOF passed on (shutdown(SHUT_WR) on the destination) */
} fl_pipe_t;

typedef struct {
    uint64_t id;
    int cfd;          /* accepted client */
    int tfd;          /* to the target */
    bool connecting;  /* tfd's connect() not complete */
    fl_pipe_t pipe[2];
    bool dead;        /* closed in this loop round: compacted away after it */
} fl_conn_t;

/*  Faults of one direction. */
typedef struct {
    int64_t latency_us;
    uint64_t bps;  /* 0: unlimited */
    double drop;   /* probability of a reset per chunk */
    double loss;   /* probability that a piece is lost and sent again (TCP retransmission) */
    bool stall;
} fl_dirset_t;

typedef struct {
    char *buf;
    size_t len;
    int fd;
} fl_ctl_t;

typedef struct {
    uint64_t conns;           /* connections accepted and forwarded */
    uint64_t refused;         /* accepted and reset at once (cut, limit) */
    uint64_t target_failures; /* target connect failed */
    uint64_t read[2];         /* bytes read from the source, per direction */
    uint64_t sent[2];         /* bytes delivered to the destination */
    uint64_t resets;          /* connections reset by a fault (drop, reset, cut) */
    uint64_t delayed;         /* chunks given a non-zero latency */
    uint64_t chunks[2];       /* chunks read per direction */
    uint64_t lost[2];         /* bytes lost and sent again (--loss) */
} fl_stats_t;

typedef struct {
    /* configuration */
    struct sockaddr_storage listen_addr, target_addr, control_addr;
    socklen_t listen_len, target_len, control_len;
    const char *ready_file;
    uint64_t seed;
    size_t buffer;
    size_t chunk_max;
    int max_conns;
    bool quiet;
    fl_dirset_t dir[2];
    bool cut;
    /* state */
    int lfd, cfd;
    fl_conn_t **conns;
    int nconns;
    fl_ctl_t ctl[FL_MAX_CTL];
    uint64_t rng;
    uint64_t next_id;
    fl_stats_t st;
} fl_t;

static volatile sig_atomic_t s_terminate;
static bool s_quiet;

static void s_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_log(const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%02d:%02d:%02d.%03ld wq-faultlink[%d]: %s\n", tm.tm_hour, tm.tm_min,
            tm.tm_sec, ts.tv_nsec / 1000000L, (int) getpid(), line);
}

#define s_info(...)                                                                            \
    do {                                                                                       \
        if (!s_quiet)                                                                          \
            s_log(__VA_ARGS__);                                                                \
    } while (0)

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*  xorshift64*: small, seedable, good enough for fault decisions. */
static uint64_t s_rand(fl_t *fl)
{
    uint64_t x = fl->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    fl->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void s_seed(fl_t *fl, uint64_t seed)
{
    /* splitmix64 step: any seed (even 0) gives a non-zero state */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    fl->rng = z ? z : 1;
    fl->seed = seed;
}

/*  True with probability p (0 never, 1 always). */
static bool s_chance(fl_t *fl, double p)
{
    if (p <= 0.0)
        return false;
    if (p >= 1.0)
        return true;
    double u = (double) (s_rand(fl) >> 11) / 9007199254740992.0; /* [0,1) */
    return u < p;
}

/*  ---------------------------------------------------------------------
    Addresses: "PORT", "ADDR:PORT", "[V6ADDR]:PORT", "localhost:PORT".
    Numeric only (no DNS): the tool must behave the same everywhere. */

static bool s_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *) ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) ss;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return false;
}

static const char *s_addr_str(const struct sockaddr_storage *ss, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *) ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
        snprintf(buf, size, "%s:%d", host, port);
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
        snprintf(buf, size, "[%s]:%d", host, port);
    }
    return buf;
}

static int s_port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *) ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *) ss)->sin6_port);
}

/*  Parse spec into ss. Returns 0, or -1 with a sentence in why. */
static int s_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
                        char *why, size_t why_size)
{
    char host[128] = "127.0.0.1";
    const char *port_s = spec;
    const char *colon = strrchr(spec, ':');
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':' || (size_t) (close - spec - 1) >= sizeof host) {
            snprintf(why, why_size, "'%s' is not [IPV6]:PORT", spec);
            return -1;
        }
        memcpy(host, spec + 1, (size_t) (close - spec - 1));
        host[close - spec - 1] = '\0';
        port_s = close + 2;
    } else if (colon) {
        if ((size_t) (colon - spec) >= sizeof host || colon == spec) {
            snprintf(why, why_size, "'%s' is not ADDR:PORT", spec);
            return -1;
        }
        memcpy(host, spec, (size_t) (colon - spec));
        host[colon - spec] = '\0';
        port_s = colon + 1;
    }
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    char *end = NULL;
    errno = 0;
    long port = strtol(port_s, &end, 10);
    if (errno || !end || *end || end == port_s || port < 0 || port > 65535) {
        snprintf(why, why_size, "'%s': port must be a number 0..65535", spec);
        return -1;
    }
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *) ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t) port);
        *len = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t) port);
        *len = sizeof *a6;
    } else {
        snprintf(why, why_size,
                 "'%s': '%s' is not a numeric IP address (use 127.0.0.1, ::1 or localhost)",
                 spec, host);
        return -1;
    }
    if (!s_is_loopback(ss)) {
        snprintf(why, why_size,
                 "'%s' is not a loopback address: wq-faultlink only listens on and forwards "
                 "to 127.0.0.0/8 or ::1",
                 spec);
        return -1;
    }
    return 0;
}

/*  ---------------------------------------------------------------------
    Sockets */

static int s_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return 0;
}

/*  Close fd with an RST (SO_LINGER 0) instead of a FIN. */
static void s_close_rst(int *fd)
{
    if (*fd < 0)
        return;
    struct linger lg = {1, 0};
    setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(*fd);
    *fd = -1;
}

static void s_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/*  Bind and listen on ss; fills in the actual port. Returns fd or -1. */
static int s_listen(struct sockaddr_storage *ss, socklen_t *len, const char *what)
{
    char a[80];
    int fd = socket(ss->ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        s_log("error: socket for %s: %s", what, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *) ss, *len) != 0) {
        s_log("error: cannot bind %s address %s: %s (is the port in use?)", what,
              s_addr_str(ss, a, sizeof a), strerror(errno));
        goto fail;
    }
    if (listen(fd, 128) != 0 || s_nonblock(fd) != 0) {
        s_log("error: listen on %s: %s", what, strerror(errno));
        goto fail;
    }
    if (getsockname(fd, (struct sockaddr *) ss, len) != 0) {
        s_log("error: getsockname on %s: %s", what, strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

/*  ---------------------------------------------------------------------
    Connections and pipes */

static void s_conn_free(fl_conn_t **pc)
{
    fl_conn_t *c = *pc;
    if (!c)
        return;
    s_close(&c->cfd);
    s_close(&c->tfd);
    free(c->pipe[FL_UP].buf);
    free(c->pipe[FL_DOWN].buf);
    free(c);
    *pc = NULL;
}

/*  Reset both sides of c now (RST). injected: counts as a fault. */
static void s_conn_reset(fl_t *fl, fl_conn_t *c, bool injected, const char *why)
{
    if (c->dead)
        return;
    s_close_rst(&c->cfd);
    s_close_rst(&c->tfd);
    c->dead = true;
    if (injected)
        fl->st.resets++;
    s_info("conn %" PRIu64 ": reset (%s)", c->id, why);
}

static void s_conn_close(fl_conn_t *c)
{
    s_close(&c->cfd);
    s_close(&c->tfd);
    c->dead = true;
    s_info("conn %" PRIu64 ": closed", c->id);
}

static int s_src_fd(const fl_conn_t *c, int d)
{
    return d == FL_UP ? c->cfd : c->tfd;
}

static int s_dst_fd(const fl_conn_t *c, int d)
{
    return d == FL_UP ? c->tfd : c->cfd;
}

static void s_pipe_refill(fl_t *fl, fl_pipe_t *p, int d, int64_t now)
{
    uint64_t bps = fl->dir[d].bps;
    if (bps == 0)
        return;
    if (now > p->tok_us) {
        double add = (double) (now - p->tok_us) * (double) bps / 8e6;
        p->tokens += add;
        double cap = fmax((double) bps / 80.0, (double) FL_TOKEN_QUANTUM); /* ~100 ms */
        /* The cap keeps an idle link from bursting. But time during which
           bytes were waiting for the link is not idle: a real link carries
           them meanwhile, so the bucket keeps that time (as far as bytes
           were held to use it) and delivers them now:
             - while a lost piece waits for its resend, the link goes on
               carrying what follows it (TCP with SACK); no refill happens
               during the hole (the head chunk is not due), so this
               interval is the one that spans it;
             - when this program wakes late (a loaded machine), the head
               chunk was due and waiting since the last refill, or since
               its due time if that came later. */
        const fl_chunk_t *head = p->cused > 0 ? &p->chunks[p->chead] : NULL;
        int64_t from = now;
        if (p->hole_until_us > p->tok_us)
            from = p->tok_us;
        else if (head)
            from = head->due_us > p->tok_us ? head->due_us : p->tok_us;
        if (now > from)
            cap += fmin((double) (now - from) * (double) bps / 8e6, (double) p->used);
        if (p->tokens > cap)
            p->tokens = cap;
    }
    p->tok_us = now;
}

/*  Can p read more from its source now? */
static bool s_pipe_can_read(const fl_pipe_t *p)
{
    return !p->eof && p->used < p->cap && p->cused < FL_CHUNK_SLOTS;
}

/*  Bytes of the head chunk that may go now (0: none), and when the pipe
    next wants to be woken if it is waiting for time (INT64_MAX: never). */
static size_t s_pipe_ready(fl_t *fl, const fl_conn_t *c, fl_pipe_t *p, int d, int64_t now,
                           int64_t *wake)
{
    *wake = INT64_MAX;
    if (p->cused == 0 || fl->dir[d].stall || c->connecting)
        return 0;
    const fl_chunk_t *ch = &p->chunks[p->chead];
    if (ch->due_us > now) {
        *wake = ch->due_us;
        return 0;
    }
    size_t n = ch->len;
    if (n > p->cap - p->head)
        n = p->cap - p->head; /* contiguous part of the ring */
    if (fl->dir[d].bps) {
        s_pipe_refill(fl, p, d, now);
        size_t want = n < FL_TOKEN_QUANTUM ? n : FL_TOKEN_QUANTUM;
        if (p->tokens < (double) want) {
            double us = ((double) want - p->tokens) * 8e6 / (double) fl->dir[d].bps;
            *wake = now + (int64_t) ceil(us);
            return 0;
        }
        if ((double) n > p->tokens)
            n = (size_t) p->tokens;
    }
    return n;
}

/*  Read one chunk from the source of direction d. Returns false if the
    connection ended (reset, error). */
static bool s_pipe_read(fl_t *fl, fl_conn_t *c, int d, int64_t now)
{
    fl_pipe_t *p = &c->pipe[d];
    if (!s_pipe_can_read(p))
        return true;
    if (p->used == 0)
        p->head = 0;
    size_t w = (p->head + p->used) % p->cap;
    size_t room = w >= p->head ? p->cap - w : p->head - w;
    if (room > fl->chunk_max)
        room = fl->chunk_max;
    ssize_t n = recv(s_src_fd(c, d), p->buf + w, room, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return true;
        /* the peer reset or failed: pass the reset on to the other side */
        s_info("conn %" PRIu64 ": %s side: %s", c->id, d == FL_UP ? "client" : "target",
               strerror(errno));
        s_conn_reset(fl, c, false, "peer error");
        return false;
    }
    if (n == 0) {
        p->eof = true;
        return true;
    }
    fl->st.read[d] += (uint64_t) n;
    fl->st.chunks[d]++;
    if (s_chance(fl, fl->dir[d].drop)) {
        s_conn_reset(fl, c, true, d == FL_UP ? "drop-up" : "drop-down");
        return false;
    }
    int64_t due = (now > p->open_us ? now : p->open_us) + fl->dir[d].latency_us;
    if (due < p->last_due_us)
        due = p->last_due_us;
    p->last_due_us = due;
    if (fl->dir[d].latency_us > 0)
        fl->st.delayed++;
    size_t slot = (p->chead + p->cused) % FL_CHUNK_SLOTS;
    p->chunks[slot].len = (size_t) n;
    p->chunks[slot].due_us = due;
    p->cused++;
    p->used += (size_t) n;
    return true;
}

/*  Deliver what may go now in direction d. Returns false if the
    connection ended. */
static bool s_pipe_write(fl_t *fl, fl_conn_t *c, int d, int64_t now)
{
    fl_pipe_t *p = &c->pipe[d];
    int64_t wake;
    for (;;) {
        size_t n = s_pipe_ready(fl, c, p, d, now, &wake);
        if (n == 0)
            break;
        if (fl->dir[d].loss > 0 && s_chance(fl, fl->dir[d].loss)) {
            /* This piece (a packet's worth) is lost on the wire: the link
               spent its time on it, and TCP's fast retransmit sends it again
               a round trip later. The receiving program gets nothing past
               the hole until then (in-order delivery), but the link keeps
               carrying what follows meanwhile (see s_pipe_refill). */
            int64_t rtt = fl->dir[FL_UP].latency_us + fl->dir[FL_DOWN].latency_us;
            if (rtt < 10000)
                rtt = 10000;
            if (fl->dir[d].bps)
                p->tokens -= (double) n;
            if (p->resending) {
                /* The resend is lost too: no duplicate ACKs tell the
                   sender, its retransmission timer does (Linux: about a
                   round trip + 200 ms), and its window collapses: the
                   link carries nothing of this connection meanwhile. */
                p->chunks[p->chead].due_us = now + rtt + 200000;
                p->hole_until_us = now;
            } else {
                p->chunks[p->chead].due_us = now + rtt;
                p->hole_until_us = p->chunks[p->chead].due_us;
            }
            p->resending = true;
            fl->st.lost[d] += n;
            continue;
        }
        ssize_t w = send(s_dst_fd(c, d), p->buf + p->head, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            s_info("conn %" PRIu64 ": sending to %s: %s", c->id,
                   d == FL_UP ? "target" : "client", strerror(errno));
            s_conn_reset(fl, c, false, "peer error");
            return false;
        }
        size_t k = (size_t) w;
        p->resending = false;
        p->head = (p->head + k) % p->cap;
        p->used -= k;
        p->chunks[p->chead].len -= k;
        if (p->chunks[p->chead].len == 0) {
            p->chead = (p->chead + 1) % FL_CHUNK_SLOTS;
            p->cused--;
        }
        if (fl->dir[d].bps)
            p->tokens -= (double) k;
        fl->st.sent[d] += k;
    }
    if (p->eof && p->used == 0 && !p->shut && !c->connecting) {
        shutdown(s_dst_fd(c, d), SHUT_WR);
        p->shut = true;
    }
    if (c->pipe[FL_UP].shut && c->pipe[FL_DOWN].shut) {
        s_conn_close(c);
        return false;
    }
    return true;
}

/*  Start forwarding a freshly accepted client. */
static void s_accept(fl_t *fl)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept(fl->lfd, (struct sockaddr *) &peer, &plen);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                s_log("error: accept: %s", strerror(errno));
            return;
        }
        if (fl->cut || fl->nconns >= fl->max_conns) {
            fl->st.refused++;
            s_info("refused a connection (%s)", fl->cut ? "link is cut" : "max-conns reached");
            s_close_rst(&fd);
            continue;
        }
        fl_conn_t *c = calloc(1, sizeof *c);
        if (!c)
            goto refuse;
        c->cfd = fd;
        c->tfd = -1;
        c->id = ++fl->next_id;
        int64_t now = s_now_us();
        /* On loopback the client's connect() returns at once; over the
           link it would take the SYN's and SYN-ACK's round trip, and the
           server's accept() one more way for the ACK. So what the client
           sends goes out a round trip late, and what the server sends back
           once it has accepted, a round trip and the up latency late. */
        int64_t lat_up = fl->dir[FL_UP].latency_us, lat_down = fl->dir[FL_DOWN].latency_us;
        c->pipe[FL_UP].open_us = now + lat_up + lat_down;
        c->pipe[FL_DOWN].open_us = now + 2 * lat_up + lat_down;
        for (int d = 0; d < 2; d++) {
            c->pipe[d].cap = fl->buffer;
            c->pipe[d].buf = malloc(fl->buffer);
            c->pipe[d].tok_us = now; /* bucket starts empty: no initial burst */
            if (!c->pipe[d].buf)
                goto refuse;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (s_nonblock(fd) != 0)
            goto refuse;
        c->tfd = socket(fl->target_addr.ss_family, SOCK_STREAM, 0);
        if (c->tfd < 0 || s_nonblock(c->tfd) != 0)
            goto refuse;
        setsockopt(c->tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->tfd, (struct sockaddr *) &fl->target_addr, fl->target_len) != 0) {
            if (errno != EINPROGRESS) {
                fl->st.target_failures++;
                s_info("conn %" PRIu64 ": target connect failed: %s", c->id, strerror(errno));
                goto refuse;
            }
            c->connecting = true;
        }
        fl->conns[fl->nconns++] = c;
        fl->st.conns++;
        s_info("conn %" PRIu64 ": accepted", c->id);
        continue;
    refuse:
        if (c) {
            s_close_rst(&c->cfd);
            s_conn_free(&c);
        } else {
            s_close_rst(&fd);
        }
    }
}

static void s_connected(fl_t *fl, fl_conn_t *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->tfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        fl->st.target_failures++;
        s_info("conn %" PRIu64 ": target connect failed: %s", c->id, strerror(err));
        s_conn_reset(fl, c, false, "target unreachable");
        return;
    }
    c->connecting = false;
}

static void s_reset_all(fl_t *fl, const char *why)
{
    for (int i = 0; i < fl->nconns; i++)
        s_conn_reset(fl, fl->conns[i], true, why);
}

static void s_compact(fl_t *fl)
{
    int k = 0;
    for (int i = 0; i < fl->nconns; i++) {
        if (fl->conns[i]->dead)
            s_conn_free(&fl->conns[i]);
        else
            fl->conns[k++] = fl->conns[i];
    }
    fl->nconns = k;
}

/*  ---------------------------------------------------------------------
    Control channel */

static void s_stats_line(fl_t *fl, char *out, size_t size)
{
    uint64_t buffered[2] = {0, 0};
    int active = 0;
    for (int i = 0; i < fl->nconns; i++) {
        if (fl->conns[i]->dead) /* reset in this round, freed at its end */
            continue;
        active++;
        for (int d = 0; d < 2; d++)
            buffered[d] += fl->conns[i]->pipe[d].used;
    }
    snprintf(out, size,
             "ok conns=%" PRIu64 " active=%d refused=%" PRIu64 " target_failures=%" PRIu64
             " resets=%" PRIu64 " delayed=%" PRIu64 " up_chunks=%" PRIu64 " up_read=%" PRIu64
             " up_sent=%" PRIu64 " up_buffered=%" PRIu64 " down_chunks=%" PRIu64
             " down_read=%" PRIu64 " down_sent=%" PRIu64 " down_buffered=%" PRIu64
             " up_lost=%" PRIu64 " down_lost=%" PRIu64,
             fl->st.conns, active, fl->st.refused, fl->st.target_failures, fl->st.resets,
             fl->st.delayed, fl->st.chunks[FL_UP], fl->st.read[FL_UP], fl->st.sent[FL_UP],
             buffered[FL_UP], fl->st.chunks[FL_DOWN], fl->st.read[FL_DOWN],
             fl->st.sent[FL_DOWN], buffered[FL_DOWN], fl->st.lost[FL_UP], fl->st.lost[FL_DOWN]);
}

static void s_config_line(fl_t *fl, char *out, size_t size)
{
    snprintf(out, size,
             "ok latency-up=%" PRId64 " latency-down=%" PRId64 " bandwidth-up=%" PRIu64
             " bandwidth-down=%" PRIu64 " drop-up=%g drop-down=%g stall-up=%s stall-down=%s"
             " cut=%s seed=%" PRIu64 " buffer=%zu chunk=%zu max-conns=%d",
             fl->dir[FL_UP].latency_us / 1000, fl->dir[FL_DOWN].latency_us / 1000,
             fl->dir[FL_UP].bps, fl->dir[FL_DOWN].bps, fl->dir[FL_UP].drop,
             fl->dir[FL_DOWN].drop, fl->dir[FL_UP].stall ? "on" : "off",
             fl->dir[FL_DOWN].stall ? "on" : "off", fl->cut ? "on" : "off", fl->seed,
             fl->buffer, fl->chunk_max, fl->max_conns);
}

static int s_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int s_parse_prob(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= 0.0 && v <= 1.0))
        return -1;
    *out = v;
    return 0;
}

static int s_parse_onoff(const char *s, bool *out)
{
    if (s && strcmp(s, "on") == 0)
        *out = true;
    else if (s && strcmp(s, "off") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

#define FL_MAX_LATENCY_MS 3600000ULL     /* an hour */
#define FL_MAX_BPS 100000000000ULL       /* 100 Gbit/s */

/*  Apply one setting "name value" (from a command line or an option).
    name is latency|bandwidth|drop|stall, optionally with -up / -down.
    Returns 0, or -1 with a reason in why. */
static int s_set(fl_t *fl, const char *name, const char *value, char *why, size_t why_size)
{
    int d0 = 0, d1 = 1;
    char base[32];
    snprintf(base, sizeof base, "%s", name);
    size_t bl = strlen(base);
    if (bl > 3 && strcmp(base + bl - 3, "-up") == 0) {
        base[bl - 3] = '\0';
        d1 = 0;
    } else if (bl > 5 && strcmp(base + bl - 5, "-down") == 0) {
        base[bl - 5] = '\0';
        d0 = 1;
    }
    int64_t now = s_now_us();
    if (strcmp(base, "latency") == 0) {
        uint64_t ms;
        if (s_parse_u64(value, FL_MAX_LATENCY_MS, &ms) != 0)
            goto bad;
        for (int d = d0; d <= d1; d++)
            fl->dir[d].latency_us = (int64_t) ms * 1000;
    } else if (strcmp(base, "bandwidth") == 0) {
        uint64_t bps;
        if (s_parse_u64(value, FL_MAX_BPS, &bps) != 0)
            goto bad;
        for (int d = d0; d <= d1; d++) {
            fl->dir[d].bps = bps;
            for (int i = 0; i < fl->nconns; i++) { /* new rate: start from an empty bucket */
                fl->conns[i]->pipe[d].tokens = 0;
                fl->conns[i]->pipe[d].tok_us = now;
            }
        }
    } else if (strcmp(base, "drop") == 0) {
        double p;
        if (s_parse_prob(value, &p) != 0)
            goto bad;
        for (int d = d0; d <= d1; d++)
            fl->dir[d].drop = p;
    } else if (strcmp(base, "loss") == 0) {
        double p;
        if (s_parse_prob(value, &p) != 0)
            goto bad;
        for (int d = d0; d <= d1; d++)
            fl->dir[d].loss = p;
    } else if (strcmp(base, "stall") == 0) {
        bool on;
        if (s_parse_onoff(value, &on) != 0)
            goto bad;
        for (int d = d0; d <= d1; d++)
            fl->dir[d].stall = on;
    } else {
        snprintf(why, why_size, "unknown command '%s' (try 'help')", name);
        return -1;
    }
    return 0;
bad:
    if (strcmp(base, "latency") == 0)
        snprintf(why, why_size, "%s: '%s' is not milliseconds 0..%llu", name,
                 value ? value : "", FL_MAX_LATENCY_MS);
    else if (strcmp(base, "bandwidth") == 0)
        snprintf(why, why_size, "%s: '%s' is not bits per second 0..%llu (0: unlimited)", name,
                 value ? value : "", FL_MAX_BPS);
    else if (strcmp(base, "drop") == 0 || strcmp(base, "loss") == 0)
        snprintf(why, why_size, "%s: '%s' is not a probability 0..1", name, value ? value : "");
    else
        snprintf(why, why_size, "%s: '%s' is not on or off", name, value ? value : "");
    return -1;
}

#define FL_HELP_COMMANDS                                                                       \
    "latency[-up|-down] MS, bandwidth[-up|-down] BPS, drop[-up|-down] P, loss[-up|-down] P, "  \
    "stall[-up|-down] on|off, cut on|off, reset, stats, config, seed N, ping, help, quit"

/*  Run one control command; reply (one line, no newline) into out.
    Returns false if the control connection should be closed after. */
static bool s_command(fl_t *fl, char *line, char *out, size_t size)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r", &save);
    char *arg = cmd ? strtok_r(NULL, " \t\r", &save) : NULL;
    char *extra = arg ? strtok_r(NULL, " \t\r", &save) : NULL;
    char why[200];
    bool keep = true;
    if (!cmd) {
        snprintf(out, size, "error: empty command (try 'help')");
        return true;
    }
    if (extra) {
        snprintf(out, size, "error: %s: too many arguments", cmd);
        return true;
    }
    static const char *const no_arg_cmds[] = {"stats", "config", "ping", "help", "quit",
                                              "reset"};
    for (size_t i = 0; i < sizeof no_arg_cmds / sizeof no_arg_cmds[0]; i++)
        if (arg && strcmp(cmd, no_arg_cmds[i]) == 0) {
            snprintf(out, size, "error: %s takes no argument", cmd);
            return true;
        }
    if (strcmp(cmd, "stats") == 0) {
        s_stats_line(fl, out, size);
    } else if (strcmp(cmd, "config") == 0) {
        s_config_line(fl, out, size);
    } else if (strcmp(cmd, "ping") == 0) {
        snprintf(out, size, "ok pong");
    } else if (strcmp(cmd, "help") == 0) {
        snprintf(out, size, "ok commands: " FL_HELP_COMMANDS);
    } else if (strcmp(cmd, "quit") == 0) {
        snprintf(out, size, "ok bye");
        keep = false;
    } else if (strcmp(cmd, "reset") == 0) {
        int n = 0;
        for (int i = 0; i < fl->nconns; i++)
            n += !fl->conns[i]->dead;
        s_reset_all(fl, "reset command");
        snprintf(out, size, "ok reset %d", n);
    } else if (strcmp(cmd, "cut") == 0) {
        bool on;
        if (s_parse_onoff(arg, &on) != 0) {
            snprintf(out, size, "error: cut: '%s' is not on or off", arg ? arg : "");
            return true;
        }
        fl->cut = on;
        if (on)
            s_reset_all(fl, "cut");
        snprintf(out, size, "ok");
    } else if (strcmp(cmd, "seed") == 0) {
        uint64_t seed;
        if (s_parse_u64(arg, UINT64_MAX, &seed) != 0) {
            snprintf(out, size, "error: seed: '%s' is not an unsigned integer", arg ? arg : "");
            return true;
        }
        s_seed(fl, seed);
        snprintf(out, size, "ok");
    } else if (s_set(fl, cmd, arg, why, sizeof why) == 0) {
        snprintf(out, size, "ok");
    } else {
        snprintf(out, size, "error: %s", why);
    }
    return keep;
}

static void s_ctl_drop(fl_ctl_t *k)
{
    s_close(&k->fd);
    free(k->buf);
    k->buf = NULL;
    k->len = 0;
}

static void s_ctl_accept(fl_t *fl)
{
    for (;;) {
        int fd = accept(fl->cfd, NULL, NULL);
        if (fd < 0)
            return;
        fl_ctl_t *k = NULL;
        for (int i = 0; i < FL_MAX_CTL; i++)
            if (fl->ctl[i].fd < 0) {
                k = &fl->ctl[i];
                break;
            }
        char *buf = k ? malloc(FL_CTL_LINE) : NULL;
        if (!k || !buf || s_nonblock(fd) != 0) {
            const char *msg = "error: too many control connections\n";
            ssize_t ignored = send(fd, msg, strlen(msg), MSG_NOSIGNAL);
            (void) ignored;
            free(buf);
            close(fd);
            continue;
        }
        k->fd = fd;
        k->buf = buf;
        k->len = 0;
    }
}

static void s_ctl_reply(fl_ctl_t *k, const char *reply)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s\n", reply);
    /* replies are short: a control client that does not read them is dropped */
    if (send(k->fd, line, (size_t) n, MSG_NOSIGNAL) != n)
        s_ctl_drop(k);
}

static void s_ctl_read(fl_t *fl, fl_ctl_t *k)
{
    ssize_t n = recv(k->fd, k->buf + k->len, FL_CTL_LINE - k->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        s_ctl_drop(k);
        return;
    }
    k->len += (size_t) n;
    for (;;) {
        char *nl = memchr(k->buf, '\n', k->len);
        if (!nl) {
            if (k->len == FL_CTL_LINE) {
                s_ctl_reply(k, "error: line too long");
                s_ctl_drop(k);
            }
            return;
        }
        *nl = '\0';
        size_t used = (size_t) (nl - k->buf) + 1;
        char line[FL_CTL_LINE];
        memcpy(line, k->buf, used);
        memmove(k->buf, k->buf + used, k->len - used);
        k->len -= used;
        char shown[FL_CTL_LINE];
        snprintf(shown, sizeof shown, "%s", line);
        char reply[1024];
        bool keep = s_command(fl, line, reply, sizeof reply);
        /* changes always go to the log; queries (tests poll "stats") only if not quiet */
        bool query = strncmp(shown, "stats", 5) == 0 || strncmp(shown, "config", 6) == 0 ||
                     strncmp(shown, "ping", 4) == 0 || strncmp(shown, "help", 4) == 0;
        if (query)
            s_info("control: %s -> %s", shown, reply);
        else
            s_log("control: %s -> %s", shown, reply);
        s_ctl_reply(k, reply);
        if (k->fd < 0)
            return;
        if (!keep) {
            s_ctl_drop(k);
            return;
        }
    }
}

/*  ---------------------------------------------------------------------
    Main loop */

typedef struct {
    int kind; /* 0 listen, 1 control listen, 2 control client, 3 conn client, 4 conn target */
    int index;
} fl_slot_t;

static int s_run(fl_t *fl)
{
    int max_fds = 2 + FL_MAX_CTL + 2 * fl->max_conns;
    struct pollfd *pfd = calloc((size_t) max_fds, sizeof *pfd);
    fl_slot_t *slot = calloc((size_t) max_fds, sizeof *slot);
    int rc = FL_EXIT_RUNTIME;
    if (!pfd || !slot) {
        s_log("error: out of memory");
        goto done;
    }
    sigset_t unblocked;
    sigprocmask(SIG_SETMASK, NULL, &unblocked);
    sigdelset(&unblocked, SIGTERM);
    sigdelset(&unblocked, SIGINT);

    while (!s_terminate) {
        int64_t now = s_now_us();
        int64_t wake = INT64_MAX;
        int n = 0;
        pfd[n] = (struct pollfd){fl->lfd, POLLIN, 0};
        slot[n++] = (fl_slot_t){0, 0};
        pfd[n] = (struct pollfd){fl->cfd, POLLIN, 0};
        slot[n++] = (fl_slot_t){1, 0};
        for (int i = 0; i < FL_MAX_CTL; i++)
            if (fl->ctl[i].fd >= 0) {
                pfd[n] = (struct pollfd){fl->ctl[i].fd, POLLIN, 0};
                slot[n++] = (fl_slot_t){2, i};
            }
        for (int i = 0; i < fl->nconns; i++) {
            fl_conn_t *c = fl->conns[i];
            short ev[2] = {0, 0}; /* [0] client fd, [1] target fd */
            for (int d = 0; d < 2; d++) {
                int64_t w;
                int src = d == FL_UP ? 0 : 1, dst = 1 - src;
                /* nothing is read before the target has accepted: a chunk, and
                   so a drop, always has both ends */
                if (s_pipe_can_read(&c->pipe[d]) && !c->connecting)
                    ev[src] |= POLLIN;
                if (s_pipe_ready(fl, c, &c->pipe[d], d, now, &w) > 0)
                    ev[dst] |= POLLOUT;
                if (w < wake)
                    wake = w;
            }
            if (c->connecting)
                ev[1] |= POLLOUT;
            /* an fd with nothing wanted is left out (fd -1): a hang-up we cannot act
               on yet (e.g. while stalled) must not make poll spin */
            pfd[n] = (struct pollfd){ev[0] ? c->cfd : -1, ev[0], 0};
            slot[n++] = (fl_slot_t){3, i};
            pfd[n] = (struct pollfd){ev[1] ? c->tfd : -1, ev[1], 0};
            slot[n++] = (fl_slot_t){4, i};
        }
        struct timespec ts, *tsp = NULL;
        if (wake != INT64_MAX) {
            int64_t dt = wake - now;
            if (dt < 0)
                dt = 0;
            ts.tv_sec = dt / 1000000;
            ts.tv_nsec = (dt % 1000000) * 1000;
            tsp = &ts;
        }
        int r = ppoll(pfd, (nfds_t) n, tsp, &unblocked);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            s_log("error: poll: %s", strerror(errno));
            goto done;
        }
        now = s_now_us();
        for (int j = 0; j < n; j++) {
            short re = pfd[j].revents;
            if (!re)
                continue;
            switch (slot[j].kind) {
            case 0:
                s_accept(fl);
                break;
            case 1:
                s_ctl_accept(fl);
                break;
            case 2:
                s_ctl_read(fl, &fl->ctl[slot[j].index]);
                break;
            default: {
                fl_conn_t *c = fl->conns[slot[j].index];
                if (c->dead)
                    break;
                bool is_client = slot[j].kind == 3;
                if (!is_client && c->connecting) {
                    s_connected(fl, c);
                    if (c->dead)
                        break;
                }
                if (re & (POLLIN | POLLHUP | POLLERR))
                    if (!s_pipe_read(fl, c, is_client ? FL_UP : FL_DOWN, now))
                        break;
                break;
            }
            }
        }
        /* deliver whatever is due on every live connection (after reads, so
           that a zero-latency chunk goes out in the same round) */
        for (int i = 0; i < fl->nconns; i++) {
            fl_conn_t *c = fl->conns[i];
            for (int d = 0; d < 2 && !c->dead; d++)
                s_pipe_write(fl, c, d, now);
        }
        s_compact(fl);
    }
    s_log("terminating on signal");
    rc = FL_EXIT_OK;
done:
    free(pfd);
    free(slot);
    return rc;
}

/*  ---------------------------------------------------------------------
    Options: one table gives getopt_long and --help. */

typedef struct {
    const char *name;
    const char *arg; /* NULL: a flag */
    const char *help;
} fl_option_t;

static const fl_option_t s_options[] = {
    {"listen", "[ADDR:]PORT", "where clients (agents) connect; 0: any free port (required)"},
    {"target", "[ADDR:]PORT", "where connections are forwarded (the collector) (required)"},
    {"control", "[ADDR:]PORT", "control port for run-time commands (default 0: any free port)"},
    {"ready-file", "PATH", "once listening, write 'listen=P control=C' to PATH (atomically)"},
    {"seed", "N", "seed of the random generator for drops (default 1)"},
    {"latency", "MS", "delay added to each chunk, both directions (default 0)"},
    {"latency-up", "MS", "delay, client -> target only"},
    {"latency-down", "MS", "delay, target -> client only"},
    {"bandwidth", "BPS", "cap in bits per second per connection and direction (0: none)"},
    {"bandwidth-up", "BPS", "cap, client -> target only"},
    {"bandwidth-down", "BPS", "cap, target -> client only"},
    {"drop", "P", "probability 0..1 that a chunk resets its connection, both directions"},
    {"drop-up", "P", "reset probability for client -> target chunks only"},
    {"drop-down", "P", "reset probability for target -> client chunks only (lost acks)"},
    {"loss", "P", "probability 0..1 that a piece (<= 1 KiB) is lost: its link time spent twice, resent a round trip later"},
    {"loss-up", "P", "loss, client -> target only"},
    {"loss-down", "P", "loss, target -> client only"},
    {"stall", NULL, "start stalled: accept and read, deliver nothing"},
    {"stall-up", NULL, "start stalled client -> target only"},
    {"stall-down", NULL, "start stalled target -> client only"},
    {"cut", NULL, "start with the link cut: every connection is reset at once"},
    {"max-conns", "N", "connections forwarded at once, 1..1024 (default 64); more are reset"},
    {"buffer", "BYTES", "buffer per connection and direction, 1024..16777216 (default 65536)"},
    {"chunk", "BYTES", "largest read, i.e. chunk, 1..buffer (default 16384)"},
    {"quiet", NULL, "log only errors and control commands, not each connection"},
    {"help", NULL, "print this help and exit"},
};
#define FL_NOPTIONS (sizeof s_options / sizeof s_options[0])

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: wq-faultlink --listen [ADDR:]PORT --target [ADDR:]PORT [options]\n"
            "\n"
            "A fault-injecting TCP proxy for tests, loopback only (127.0.0.0/8, ::1).\n"
            "Logs to stderr. SIGTERM or SIGINT: exit 0. Exit 2: bad options.\n\n"
            "options:\n");
    for (size_t i = 0; i < FL_NOPTIONS; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", s_options[i].name, s_options[i].arg ? " " : "",
                 s_options[i].arg ? s_options[i].arg : "");
        fprintf(f, "  %-28s %s\n", left, s_options[i].help);
    }
    fprintf(f,
            "\ncontrol commands (one per line on the control port, answered 'ok ...' or\n"
            "'error: ...'):\n  " FL_HELP_COMMANDS "\n"
            "up = client -> target, down = target -> client. See tests/faultlink/README.md.\n");
}

static int s_options_parse(fl_t *fl, int argc, char **argv)
{
    struct option lopts[FL_NOPTIONS + 1];
    for (size_t i = 0; i < FL_NOPTIONS; i++)
        lopts[i] = (struct option){s_options[i].name,
                                   s_options[i].arg ? required_argument : no_argument, NULL,
                                   (int) (256 + i)};
    lopts[FL_NOPTIONS] = (struct option){NULL, 0, NULL, 0};
    bool have_listen = false, have_target = false;
    char why[300];
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        if (ch < 256 || ch >= 256 + (int) FL_NOPTIONS) {
            s_log("error: unknown option or missing value: %s (see --help)",
                  argv[optind - 1]);
            return FL_EXIT_USAGE;
        }
        const char *name = s_options[ch - 256].name;
        uint64_t v;
        if (strcmp(name, "help") == 0) {
            s_usage(stdout);
            return -1;
        } else if (strcmp(name, "listen") == 0) {
            if (s_parse_addr(optarg, &fl->listen_addr, &fl->listen_len, why, sizeof why) != 0)
                goto bad;
            have_listen = true;
        } else if (strcmp(name, "target") == 0) {
            if (s_parse_addr(optarg, &fl->target_addr, &fl->target_len, why, sizeof why) != 0)
                goto bad;
            have_target = true;
        } else if (strcmp(name, "control") == 0) {
            if (s_parse_addr(optarg, &fl->control_addr, &fl->control_len, why, sizeof why) != 0)
                goto bad;
        } else if (strcmp(name, "ready-file") == 0) {
            fl->ready_file = optarg;
        } else if (strcmp(name, "seed") == 0) {
            if (s_parse_u64(optarg, UINT64_MAX, &v) != 0) {
                snprintf(why, sizeof why, "'%s' is not an unsigned integer", optarg);
                goto bad;
            }
            s_seed(fl, v);
        } else if (strncmp(name, "stall", 5) == 0) {
            if (s_set(fl, name, "on", why, sizeof why) != 0)
                goto bad;
        } else if (strcmp(name, "cut") == 0) {
            fl->cut = true;
        } else if (strcmp(name, "quiet") == 0) {
            fl->quiet = true;
        } else if (strcmp(name, "max-conns") == 0) {
            if (s_parse_u64(optarg, FL_MAX_CONNS_LIMIT, &v) != 0 || v < 1) {
                snprintf(why, sizeof why, "'%s' is not 1..%d", optarg, FL_MAX_CONNS_LIMIT);
                goto bad;
            }
            fl->max_conns = (int) v;
        } else if (strcmp(name, "buffer") == 0) {
            if (s_parse_u64(optarg, 16777216, &v) != 0 || v < 1024) {
                snprintf(why, sizeof why, "'%s' is not 1024..16777216", optarg);
                goto bad;
            }
            fl->buffer = (size_t) v;
        } else if (strcmp(name, "chunk") == 0) {
            if (s_parse_u64(optarg, 16777216, &v) != 0 || v < 1) {
                snprintf(why, sizeof why, "'%s' is not 1..16777216", optarg);
                goto bad;
            }
            fl->chunk_max = (size_t) v;
        } else if (s_set(fl, name, optarg, why, sizeof why) != 0) {
            goto bad;
        }
        continue;
    bad:
        s_log("error: --%s: %s", name, why);
        return FL_EXIT_USAGE;
    }
    if (optind < argc) {
        s_log("error: unexpected argument '%s' (see --help)", argv[optind]);
        return FL_EXIT_USAGE;
    }
    if (!have_listen || !have_target) {
        s_log("error: --listen and --target are required (see --help)");
        return FL_EXIT_USAGE;
    }
    if (fl->chunk_max > fl->buffer) {
        s_log("error: --chunk %zu is larger than --buffer %zu", fl->chunk_max, fl->buffer);
        return FL_EXIT_USAGE;
    }
    return FL_EXIT_OK;
}

static int s_write_ready(const char *path, int listen_port, int control_port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        s_log("error: cannot write ready file %s: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "listen=%d control=%d\n", listen_port, control_port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        s_log("error: cannot write ready file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void s_on_signal(int sig)
{
    (void) sig;
    s_terminate = 1;
}

int main(int argc, char **argv)
{
    fl_t fl;
    memset(&fl, 0, sizeof fl);
    fl.lfd = fl.cfd = -1;
    fl.buffer = 65536;
    fl.chunk_max = 16384;
    fl.max_conns = 64;
    s_seed(&fl, 1);
    char why[200];
    s_parse_addr("127.0.0.1:0", &fl.control_addr, &fl.control_len, why, sizeof why);
    for (int i = 0; i < FL_MAX_CTL; i++)
        fl.ctl[i].fd = -1;

    int rc = s_options_parse(&fl, argc, argv);
    if (rc != FL_EXIT_OK)
        return rc < 0 ? FL_EXIT_OK : rc;
    s_quiet = fl.quiet;

    /* SIGTERM/SIGINT are blocked except inside ppoll: no lost wake-up */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = FL_EXIT_RUNTIME;
    fl.conns = calloc((size_t) fl.max_conns, sizeof *fl.conns);
    if (!fl.conns) {
        s_log("error: out of memory");
        goto done;
    }
    fl.lfd = s_listen(&fl.listen_addr, &fl.listen_len, "listen");
    if (fl.lfd < 0)
        goto done;
    fl.cfd = s_listen(&fl.control_addr, &fl.control_len, "control");
    if (fl.cfd < 0)
        goto done;
    char a[80], b[80], c[80];
    s_log("listening on %s -> %s, control on %s, seed %" PRIu64,
          s_addr_str(&fl.listen_addr, a, sizeof a), s_addr_str(&fl.target_addr, b, sizeof b),
          s_addr_str(&fl.control_addr, c, sizeof c), fl.seed);
    char cfg[1024];
    s_config_line(&fl, cfg, sizeof cfg);
    s_log("settings: %s", cfg + 3);
    if (fl.ready_file &&
        s_write_ready(fl.ready_file, s_port_of(&fl.listen_addr), s_port_of(&fl.control_addr)) != 0)
        goto done;
    rc = s_run(&fl);
    char st[1024];
    s_stats_line(&fl, st, sizeof st);
    s_log("stats: %s", st + 3);
done:
    for (int i = 0; i < fl.nconns; i++)
        s_conn_free(&fl.conns[i]);
    free(fl.conns);
    for (int i = 0; i < FL_MAX_CTL; i++)
        if (fl.ctl[i].fd >= 0)
            s_ctl_drop(&fl.ctl[i]);
    s_close(&fl.lfd);
    s_close(&fl.cfd);
    return rc;
}
