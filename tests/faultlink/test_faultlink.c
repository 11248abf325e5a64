/*  =========================================================================
    test_faultlink - wq-faultlink does what the fault suite relies on

    A real echo server (a thread of this test, on 127.0.0.1) sits behind a
    real wq-faultlink process; real TCP clients talk through it. We check
    that bytes pass unchanged, that latency and bandwidth faults make traffic
    at least as slow as configured (lower bounds only: no upper-bound timing),
    that drop / reset / cut / stall do exactly what README.md says, with
    exact counters from the link and from the server, that random drops are
    reproducible from the seed, and that non-loopback addresses are refused.
    =========================================================================
*/
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "tests/faultlink/faultlink_ctl.h"
#include "tests/support/testsupport.h"

#define IO_GUARD_MS 30000 /* hang guard only, never a pass/fail timing */

/*  ---------------------------------------------------------------------
    Echo server: one thread, poll, echoes every byte back; on EOF it closes
    after echoing all. Counts what it saw. */

#define ECHO_MAX 32
#define ECHO_BUF 65536

typedef struct {
    int fd;
    uint8_t buf[ECHO_BUF];
    size_t len;
    bool eof;
} echo_conn_t;

typedef struct {
    int lfd;
    int port;
    int wake[2];
    pthread_t thread;
    pthread_mutex_t mu;
    long long accepted, resets, eofs, received;
    echo_conn_t *conns[ECHO_MAX];
} echo_t;

static void s_echo_end(echo_t *e, int i, bool reset)
{
    pthread_mutex_lock(&e->mu);
    if (reset)
        e->resets++;
    else
        e->eofs++;
    pthread_mutex_unlock(&e->mu);
    close(e->conns[i]->fd);
    free(e->conns[i]);
    e->conns[i] = NULL;
}

static void *s_echo_run(void *arg)
{
    echo_t *e = arg;
    for (;;) {
        struct pollfd p[ECHO_MAX + 2];
        int idx[ECHO_MAX + 2];
        int n = 0;
        p[n] = (struct pollfd){e->wake[0], POLLIN, 0};
        idx[n++] = -2;
        p[n] = (struct pollfd){e->lfd, POLLIN, 0};
        idx[n++] = -1;
        for (int i = 0; i < ECHO_MAX; i++) {
            echo_conn_t *c = e->conns[i];
            if (!c)
                continue;
            short ev = 0;
            if (!c->eof && c->len < ECHO_BUF)
                ev |= POLLIN;
            if (c->len > 0)
                ev |= POLLOUT;
            p[n] = (struct pollfd){c->fd, ev, 0};
            idx[n++] = i;
        }
        if (poll(p, (nfds_t) n, -1) < 0)
            continue;
        if (p[0].revents)
            break;
        if (p[1].revents) {
            int fd = accept(e->lfd, NULL, NULL);
            if (fd >= 0) {
                int slot = -1;
                for (int i = 0; i < ECHO_MAX && slot < 0; i++)
                    if (!e->conns[i])
                        slot = i;
                echo_conn_t *c = slot >= 0 ? calloc(1, sizeof *c) : NULL;
                if (!c) {
                    close(fd);
                } else {
                    fcntl(fd, F_SETFL, O_NONBLOCK);
                    c->fd = fd;
                    e->conns[slot] = c;
                    pthread_mutex_lock(&e->mu);
                    e->accepted++;
                    pthread_mutex_unlock(&e->mu);
                }
            }
        }
        for (int j = 2; j < n; j++) {
            echo_conn_t *c = e->conns[idx[j]];
            if (!c || !p[j].revents)
                continue;
            if (!c->eof && c->len < ECHO_BUF) {
                ssize_t r = recv(c->fd, c->buf + c->len, ECHO_BUF - c->len, 0);
                if (r > 0) {
                    c->len += (size_t) r;
                    pthread_mutex_lock(&e->mu);
                    e->received += r;
                    pthread_mutex_unlock(&e->mu);
                } else if (r == 0) {
                    c->eof = true;
                } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    s_echo_end(e, idx[j], errno == ECONNRESET);
                    continue;
                }
            }
            if (c->len > 0) {
                ssize_t w = send(c->fd, c->buf, c->len, MSG_NOSIGNAL);
                if (w > 0) {
                    memmove(c->buf, c->buf + w, c->len - (size_t) w);
                    c->len -= (size_t) w;
                } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                    s_echo_end(e, idx[j], errno == ECONNRESET || errno == EPIPE);
                    continue;
                }
            }
            if (c->eof && c->len == 0)
                s_echo_end(e, idx[j], false);
        }
    }
    for (int i = 0; i < ECHO_MAX; i++)
        if (e->conns[i]) {
            close(e->conns[i]->fd);
            free(e->conns[i]);
        }
    return NULL;
}

static echo_t *s_echo_start(void)
{
    echo_t *e = calloc(1, sizeof *e);
    assert_non_null(e);
    pthread_mutex_init(&e->mu, NULL);
    e->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(e->lfd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(e->lfd, (struct sockaddr *) &a, sizeof a), 0);
    assert_int_equal(listen(e->lfd, 64), 0);
    assert_int_equal(getsockname(e->lfd, (struct sockaddr *) &a, &len), 0);
    e->port = ntohs(a.sin_port);
    assert_int_equal(pipe(e->wake), 0);
    assert_int_equal(pthread_create(&e->thread, NULL, s_echo_run, e), 0);
    return e;
}

static void s_echo_stop(echo_t **pe)
{
    echo_t *e = *pe;
    ssize_t w = write(e->wake[1], "x", 1);
    assert_int_equal(w, 1);
    pthread_join(e->thread, NULL);
    close(e->wake[0]);
    close(e->wake[1]);
    close(e->lfd);
    pthread_mutex_destroy(&e->mu);
    free(e);
    *pe = NULL;
}

static long long s_echo_get(echo_t *e, const long long *field)
{
    pthread_mutex_lock(&e->mu);
    long long v = *field;
    pthread_mutex_unlock(&e->mu);
    return v;
}

typedef struct {
    echo_t *e;
    const long long *field;
    long long want;
} echo_wait_t;

static bool s_echo_reached(void *arg)
{
    echo_wait_t *w = arg;
    return s_echo_get(w->e, w->field) >= w->want;
}

/*  Wait until the echo counter reaches want (hang guard 10 s), then
    return its value, which the caller compares exactly. */
static long long s_echo_wait(echo_t *e, const long long *field, long long want)
{
    echo_wait_t w = {e, field, want};
    ts_wait_until(s_echo_reached, &w, 10000);
    return s_echo_get(e, field);
}

/*  ---------------------------------------------------------------------
    Client helpers */

typedef struct {
    char *dir;
    echo_t *echo;
    fl_link_t *link;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = ts_tmpdir();
    f->echo = s_echo_start();
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    if (f->link)
        assert_int_equal(fl_stop(&f->link), 0); /* SIGTERM: exit 0 */
    s_echo_stop(&f->echo);
    ts_tmpdir_remove(&f->dir);
    free(f);
    return 0;
}

static int64_t s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t) port);
    if (connect(fd, (struct sockaddr *) &a, sizeof a) != 0)
        fail_msg("connect to 127.0.0.1:%d: %s", port, strerror(errno));
    return fd;
}

static void s_fill(uint8_t *buf, size_t n, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t) (x >> 24);
    }
}

/*  Send n bytes, half-close, and read until EOF into in (capacity cap),
    writing and reading at the same time. Returns the bytes read, or
    -errno if the connection failed. */
static long long s_exchange(int fd, const uint8_t *out, size_t n, uint8_t *in, size_t cap)
{
    fcntl(fd, F_SETFL, O_NONBLOCK);
    size_t sent = 0, got = 0;
    bool shut = false;
    if (n == 0) {
        shutdown(fd, SHUT_WR);
        shut = true;
    }
    for (;;) {
        struct pollfd p = {fd, POLLIN | (shut ? 0 : POLLOUT), 0};
        int r = poll(&p, 1, IO_GUARD_MS);
        if (r == 0)
            fail_msg("exchange: no progress in %d ms (sent %zu/%zu, got %zu)", IO_GUARD_MS,
                     sent, n, got);
        if (!shut && (p.revents & POLLOUT)) {
            ssize_t w = send(fd, out + sent, n - sent, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN)
                return -errno;
            if (w > 0)
                sent += (size_t) w;
            if (sent == n) {
                shutdown(fd, SHUT_WR);
                shut = true;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            if (got == cap)
                fail_msg("exchange: more bytes came back than were sent");
            ssize_t k = recv(fd, in + got, cap - got, 0);
            if (k < 0 && errno != EAGAIN)
                return -errno;
            if (k == 0)
                return (long long) got;
            if (k > 0)
                got += (size_t) k;
        }
    }
}

/*  Block until the connection ends; returns 0 on EOF, the errno on error
    (ECONNRESET for a reset). Any data is a failure. */
static int s_await_end(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, IO_GUARD_MS) != 1)
        fail_msg("connection did not end within %d ms", IO_GUARD_MS);
    char c;
    ssize_t r = recv(fd, &c, 1, 0);
    if (r > 0)
        fail_msg("expected the connection to end, got data");
    return r == 0 ? 0 : errno;
}

/*  One byte there and back. Returns 0 if it came back, else the errno (or
    -1 for EOF). */
static int s_ping(int fd)
{
    char c = 'p', r;
    if (send(fd, &c, 1, MSG_NOSIGNAL) != 1)
        return errno;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, IO_GUARD_MS) != 1)
        fail_msg("ping: no answer within %d ms", IO_GUARD_MS);
    ssize_t k = recv(fd, &r, 1, 0);
    if (k == 1) {
        assert_int_equal(r, 'p');
        return 0;
    }
    return k == 0 ? -1 : errno;
}

/*  ---------------------------------------------------------------------
    Tests */

static void test_passthrough_unchanged(void **state)
{
    fixture_t *f = *state;
    f->link = fl_start(f->dir, f->echo->port, NULL);
    size_t sizes[] = {4u << 20, 1, 0, 100000};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *out = malloc(n + 1), *in = malloc(n + 1);
        assert_non_null(out);
        assert_non_null(in);
        s_fill(out, n, 1000 + i);
        int fd = s_connect(f->link->port);
        long long got = s_exchange(fd, out, n, in, n + 1);
        close(fd);
        assert_int_equal(got, (long long) n);
        assert_memory_equal(in, out, n);
        free(out);
        free(in);
        total += n;
    }
    assert_int_equal(fl_stat(f->link, "conns"), 4);
    assert_int_equal(fl_stat(f->link, "active"), 0);
    assert_int_equal(fl_stat(f->link, "up_read"), (long long) total);
    assert_int_equal(fl_stat(f->link, "up_sent"), (long long) total);
    assert_int_equal(fl_stat(f->link, "down_read"), (long long) total);
    assert_int_equal(fl_stat(f->link, "down_sent"), (long long) total);
    assert_int_equal(fl_stat(f->link, "resets"), 0);
    assert_int_equal(fl_stat(f->link, "delayed"), 0);
    assert_int_equal(s_echo_wait(f->echo, &f->echo->eofs, 4), 4);
    assert_int_equal(s_echo_get(f->echo, &f->echo->resets), 0);
    assert_int_equal(s_echo_get(f->echo, &f->echo->received), (long long) total);
}

static void test_concurrent_connections(void **state)
{
    fixture_t *f = *state;
    f->link = fl_start(f->dir, f->echo->port, NULL);
    enum { N = 8, SZ = 200000 };
    int fd[N];
    for (int i = 0; i < N; i++)
        fd[i] = s_connect(f->link->port);
    /* interleave: a ping on each, in turn, several times */
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < N; i++)
            assert_int_equal(s_ping(fd[i]), 0);
    assert_int_equal(fl_stat(f->link, "active"), N);
    uint8_t *out = malloc(SZ), *in = malloc(SZ + 1);
    assert_non_null(out);
    assert_non_null(in);
    for (int i = 0; i < N; i++) {
        s_fill(out, SZ, 7 + (uint64_t) i);
        assert_int_equal(s_exchange(fd[i], out, SZ, in, SZ + 1), SZ);
        assert_memory_equal(in, out, SZ);
        close(fd[i]);
    }
    free(out);
    free(in);
    assert_int_equal(fl_stat(f->link, "up_sent"), N * (5 + SZ));
    assert_int_equal(fl_stat(f->link, "down_sent"), N * (5 + SZ));
}

static void test_latency_lower_bound(void **state)
{
    fixture_t *f = *state;
    char *args[] = {"--latency", "150", NULL};
    f->link = fl_start(f->dir, f->echo->port, args);
    /* t0 before connect: the link times the handshake's round trip from its
       accept, which can come before a t0 taken after connect returns when
       this thread is preempted in between (seen under load: rtt < 600). */
    int64_t t0 = s_ms();
    int fd = s_connect(f->link->port);
    assert_int_equal(s_ping(fd), 0);
    int64_t rtt = s_ms() - t0;
    /* one chunk each way, each delayed 150 ms, on a new connection: after
       the TCP handshake's round trip (the client's data) and the server's
       accept one way later (its reply) */
    assert_true(rtt >= 600);
    assert_int_equal(fl_stat(f->link, "delayed"), 2);
    assert_int_equal(fl_stat(f->link, "up_chunks"), 1);
    assert_int_equal(fl_stat(f->link, "down_chunks"), 1);
    /* then a round trip is the two latencies */
    t0 = s_ms();
    assert_int_equal(s_ping(fd), 0);
    assert_true(s_ms() - t0 >= 300);
    assert_int_equal(fl_stat(f->link, "delayed"), 4);

    /* changed at run time, one direction only */
    fl_ok(f->link, "latency-up 0");
    fl_ok(f->link, "latency-down 200");
    t0 = s_ms();
    assert_int_equal(s_ping(fd), 0);
    rtt = s_ms() - t0;
    assert_true(rtt >= 200);
    assert_int_equal(fl_stat(f->link, "delayed"), 5);

    /* order is kept when the latency drops while chunks are queued */
    fl_ok(f->link, "latency 300");
    char a = 'a', b = 'b', r[2];
    assert_int_equal(send(fd, &a, 1, 0), 1);
    ts_sleep_ms(50); /* let 'a' be read as its own chunk before the latency changes */
    fl_ok(f->link, "latency 0");
    assert_int_equal(send(fd, &b, 1, 0), 1);
    size_t got = 0;
    while (got < 2) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, IO_GUARD_MS) != 1)
            ts_fail("latency drop: got %zu of 2 bytes back within %d ms", got, IO_GUARD_MS);
        ssize_t k = recv(fd, r + got, 2 - got, 0);
        assert_true(k > 0);
        got += (size_t) k;
    }
    assert_memory_equal(r, "ab", 2);
    close(fd);
}

static void test_bandwidth_lower_bound(void **state)
{
    fixture_t *f = *state;
    char *args[] = {"--bandwidth", "64000", NULL};
    f->link = fl_start(f->dir, f->echo->port, args);
    enum { SZ = 8000 }; /* 64 kbit/s = 8000 bytes/s: at least 1 s each way */
    uint8_t out[SZ], in[SZ + 1];
    s_fill(out, SZ, 99);
    int64_t t0 = s_ms(); /* before connect: the link's buckets start empty at accept */
    int fd = s_connect(f->link->port);
    assert_int_equal(s_exchange(fd, out, SZ, in, sizeof in), SZ);
    int64_t took = s_ms() - t0;
    close(fd);
    assert_memory_equal(in, out, SZ);
    assert_true(took >= 1000);

    /* changed at run time, per direction; with latency on top, still intact */
    fl_ok(f->link, "bandwidth-up 800000");  /* 100 kB/s */
    fl_ok(f->link, "bandwidth-down 0");
    fl_ok(f->link, "latency 20");
    enum { SZ2 = 60000 };
    uint8_t *out2 = malloc(SZ2), *in2 = malloc(SZ2 + 1);
    assert_non_null(out2);
    assert_non_null(in2);
    s_fill(out2, SZ2, 5);
    t0 = s_ms();
    fd = s_connect(f->link->port);
    assert_int_equal(s_exchange(fd, out2, SZ2, in2, SZ2 + 1), SZ2);
    took = s_ms() - t0;
    close(fd);
    assert_memory_equal(in2, out2, SZ2);
    assert_true(took >= 600);
    free(out2);
    free(in2);
    char *cfg = fl_cmd(f->link, "config");
    assert_int_equal(fl_reply_value(cfg, "bandwidth-up"), 800000);
    assert_int_equal(fl_reply_value(cfg, "bandwidth-down"), 0);
    assert_int_equal(fl_reply_value(cfg, "latency-up"), 20);
    free(cfg);
}

/*  drop-down 1: the request reaches the server, the reply never comes
    back, both sides are reset: an "ack lost after commit". */
/*  --loss: pieces are "lost" and resent (link time spent twice, delivery
    held for a round trip); the peers see every byte, in order, no reset. */
static void test_loss_resends_in_order(void **state)
{
    fixture_t *f = *state;
    char *args[] = {"--bandwidth", "800000", "--loss", "0.3", "--latency", "10", "--seed", "5",
                    NULL};
    f->link = fl_start(f->dir, f->echo->port, args);
    enum { SZ = 40000 };
    uint8_t *out = malloc(SZ), *in = malloc(SZ + 1);
    assert_non_null(out);
    assert_non_null(in);
    s_fill(out, SZ, 16);
    int fd = s_connect(f->link->port);
    assert_int_equal(s_exchange(fd, out, SZ, in, SZ + 1), SZ);
    close(fd);
    assert_memory_equal(in, out, SZ);
    assert_int_equal(fl_stat(f->link, "resets"), 0);
    assert_true(fl_stat(f->link, "up_lost") > 0);
    assert_true(fl_stat(f->link, "down_lost") > 0);
    assert_int_equal(fl_stat(f->link, "up_sent"), SZ);
    free(out);
    free(in);
    fl_ok(f->link, "loss-up 0");
    fl_ok(f->link, "loss-down 0.5");
    char *cfg = fl_cmd(f->link, "config");
    assert_non_null(strstr(cfg, "ok "));
    free(cfg);
    char *bad = fl_cmd(f->link, "loss 2");
    assert_non_null(strstr(bad, "error: loss: '2' is not a probability 0..1"));
    free(bad);
}

static void test_drop_down_loses_replies(void **state)
{
    fixture_t *f = *state;
    char *args[] = {"--drop-down", "1", NULL};
    f->link = fl_start(f->dir, f->echo->port, args);
    int fd = s_connect(f->link->port);
    assert_int_equal(send(fd, "hello", 5, 0), 5);
    assert_int_equal(s_await_end(fd), ECONNRESET);
    close(fd);
    assert_int_equal(s_echo_wait(f->echo, &f->echo->resets, 1), 1);
    assert_int_equal(s_echo_get(f->echo, &f->echo->received), 5);
    assert_int_equal(fl_stat(f->link, "resets"), 1);
    assert_int_equal(fl_stat(f->link, "up_sent"), 5);
    assert_int_equal(fl_stat(f->link, "down_read"), 5);
    assert_int_equal(fl_stat(f->link, "down_sent"), 0);
    assert_int_equal(fl_stat(f->link, "active"), 0);
}

/*  drop-up 1: the request never reaches the server. */
static void test_drop_up_loses_requests(void **state)
{
    fixture_t *f = *state;
    char *args[] = {"--drop-up", "1", NULL};
    f->link = fl_start(f->dir, f->echo->port, args);
    int fd = s_connect(f->link->port);
    assert_int_equal(send(fd, "hello", 5, 0), 5);
    assert_int_equal(s_await_end(fd), ECONNRESET);
    close(fd);
    assert_int_equal(s_echo_wait(f->echo, &f->echo->resets, 1), 1);
    assert_int_equal(s_echo_get(f->echo, &f->echo->received), 0);
    assert_int_equal(fl_stat(f->link, "resets"), 1);
    assert_int_equal(fl_stat(f->link, "up_read"), 5);
    assert_int_equal(fl_stat(f->link, "up_sent"), 0);

    /* drop 0: never */
    fl_ok(f->link, "drop 0");
    fd = s_connect(f->link->port);
    for (int i = 0; i < 20; i++)
        assert_int_equal(s_ping(fd), 0);
    close(fd);
    assert_int_equal(fl_stat(f->link, "resets"), 1);
}

/*  Ping-pong on 20 connections with drop 0.05: how far each got must be
    the same in two runs with the same seed (set by option, then by
    command), and the link's reset count must match what the clients saw. */
#define DROP_CONNS 20
#define DROP_PINGS 10
static void s_drop_run(fl_link_t *link, int out[DROP_CONNS])
{
    int resets = 0;
    for (int i = 0; i < DROP_CONNS; i++) {
        int fd = s_connect(link->port);
        int k = 0;
        for (; k < DROP_PINGS; k++) {
            int rc = s_ping(fd);
            if (rc != 0) {
                assert_int_equal(rc, ECONNRESET);
                resets++;
                break;
            }
        }
        out[i] = k;
        if (k == DROP_PINGS) { /* a clean close: wait for it before the next one */
            shutdown(fd, SHUT_WR);
            assert_int_equal(s_await_end(fd), 0);
        }
        close(fd);
    }
    assert_int_equal(fl_stat(link, "resets"), resets);
}

static void test_drop_reproducible_from_seed(void **state)
{
    fixture_t *f = *state;
    char *args1[] = {"--drop", "0.05", "--seed", "42", NULL};
    int a[DROP_CONNS], b[DROP_CONNS];
    f->link = fl_start(f->dir, f->echo->port, args1);
    s_drop_run(f->link, a);
    assert_int_equal(fl_stop(&f->link), 0);

    char *args2[] = {"--drop", "0.05", "--seed", "7", NULL};
    f->link = fl_start(f->dir, f->echo->port, args2);
    fl_ok(f->link, "seed 42");
    s_drop_run(f->link, b);
    assert_memory_equal(a, b, sizeof a);
    /* p = 0.05 per chunk, 20 chunks per clean connection: some connections
       are reset, some are not (the schedule is fixed by the seed and the
       traffic, so this cannot flake) */
    int clean = 0;
    for (int i = 0; i < DROP_CONNS; i++)
        clean += a[i] == DROP_PINGS;
    assert_true(clean > 0);
    assert_true(clean < DROP_CONNS);
}

static void test_reset_command(void **state)
{
    fixture_t *f = *state;
    f->link = fl_start(f->dir, f->echo->port, NULL);
    int fd[3];
    for (int i = 0; i < 3; i++) {
        fd[i] = s_connect(f->link->port);
        assert_int_equal(s_ping(fd[i]), 0);
    }
    char *reply = fl_cmd(f->link, "reset");
    assert_string_equal(reply, "ok reset 3");
    free(reply);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s_await_end(fd[i]), ECONNRESET);
        close(fd[i]);
    }
    assert_int_equal(s_echo_wait(f->echo, &f->echo->resets, 3), 3);
    assert_int_equal(fl_stat(f->link, "resets"), 3);
    assert_int_equal(fl_stat(f->link, "active"), 0);
    /* the link itself stays up */
    int again = s_connect(f->link->port);
    assert_int_equal(s_ping(again), 0);
    close(again);
    assert_int_equal(fl_stat(f->link, "conns"), 4);
}

static void test_cut(void **state)
{
    fixture_t *f = *state;
    f->link = fl_start(f->dir, f->echo->port, NULL);
    int fd = s_connect(f->link->port);
    assert_int_equal(s_ping(fd), 0);
    fl_ok(f->link, "cut on");
    assert_int_equal(s_await_end(fd), ECONNRESET); /* existing: reset */
    close(fd);
    for (int i = 0; i < 3; i++) { /* new ones: reset at once, never forwarded */
        fd = s_connect(f->link->port);
        assert_int_equal(s_await_end(fd), ECONNRESET);
        close(fd);
    }
    assert_int_equal(fl_stat(f->link, "refused"), 3);
    assert_int_equal(fl_stat(f->link, "resets"), 1);
    assert_int_equal(fl_stat(f->link, "conns"), 1);
    assert_int_equal(s_echo_get(f->echo, &f->echo->accepted), 1);
    fl_ok(f->link, "cut off");
    fd = s_connect(f->link->port);
    assert_int_equal(s_ping(fd), 0);
    close(fd);
    assert_int_equal(fl_stat(f->link, "conns"), 2);
    assert_int_equal(s_echo_wait(f->echo, &f->echo->accepted, 2), 2);
}

static void test_cut_at_start(void **state)
{
    fixture_t *f = *state;
    char *args[] = {"--cut", NULL};
    f->link = fl_start(f->dir, f->echo->port, args);
    int fd = s_connect(f->link->port);
    assert_int_equal(s_await_end(fd), ECONNRESET);
    close(fd);
    fl_ok(f->link, "cut off");
    fd = s_connect(f->link->port);
    assert_int_equal(s_ping(fd), 0);
    close(fd);
    assert_int_equal(fl_stat(f->link, "refused"), 1);
}

typedef struct {
    fl_link_t *link;
    const char *name;
    long long want;
} stat_wait_t;

static bool s_stat_reached(void *arg)
{
    stat_wait_t *w = arg;
    return fl_stat(w->link, w->name) >= w->want;
}

static long long s_stat_wait(fl_link_t *link, const char *name, long long want)
{
    stat_wait_t w = {link, name, want};
    ts_wait_until(s_stat_reached, &w, 10000);
    return fl_stat(link, name);
}

/*  stall: the link reads until its fixed buffer is full, delivers nothing,
    then stops reading (memory bounded); after "stall off" all arrives. */
static void test_stall_bounded_then_delivers(void **state)
{
    fixture_t *f = *state;
    char *args[] = {"--buffer", "65536", "--chunk", "16384", "--stall", NULL};
    f->link = fl_start(f->dir, f->echo->port, args);
    enum { SZ = 32 << 20 }; /* far more than the socket buffers can hold */
    uint8_t *out = malloc(SZ), *in = malloc(SZ + 1);
    assert_non_null(out);
    assert_non_null(in);
    s_fill(out, SZ, 3);
    int fd = s_connect(f->link->port);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    size_t sent = 0;
    /* write until the link's buffer is full and the kernel's are too */
    assert_int_equal(s_stat_wait(f->link, "active", 1), 1);
    for (;;) {
        ssize_t w = send(fd, out + sent, SZ - sent, MSG_NOSIGNAL);
        if (w > 0) {
            sent += (size_t) w;
            continue;
        }
        assert_int_equal(errno, EAGAIN);
        if (fl_stat(f->link, "up_buffered") == 65536) {
            /* full: the link stops reading, so this stays blocked */
            struct pollfd p = {fd, POLLOUT, 0};
            if (poll(&p, 1, 200) == 0)
                break;
        } else {
            ts_sleep_ms(10);
        }
    }
    assert_true(sent < SZ);
    assert_int_equal(fl_stat(f->link, "up_buffered"), 65536);
    assert_int_equal(fl_stat(f->link, "up_read"), 65536);
    assert_int_equal(fl_stat(f->link, "up_sent"), 0);
    assert_int_equal(s_echo_get(f->echo, &f->echo->received), 0);

    fl_ok(f->link, "stall off");
    /* the rest goes, and all of it comes back unchanged and in order */
    assert_int_equal(s_exchange(fd, out + sent, SZ - sent, in, SZ + 1), SZ);
    assert_memory_equal(in, out, SZ);
    assert_int_equal(fl_stat(f->link, "up_sent"), SZ);
    assert_int_equal(fl_stat(f->link, "down_sent"), SZ);
    free(out);
    free(in);
    close(fd);
}

static void test_stall_down_holds_replies(void **state)
{
    fixture_t *f = *state;
    f->link = fl_start(f->dir, f->echo->port, NULL);
    int fd = s_connect(f->link->port);
    assert_int_equal(s_ping(fd), 0);
    fl_ok(f->link, "stall-down on");
    assert_int_equal(send(fd, "x", 1, 0), 1);
    /* the request gets through and the reply is read by the link, held */
    assert_int_equal(s_echo_wait(f->echo, &f->echo->received, 2), 2);
    assert_int_equal(s_stat_wait(f->link, "down_buffered", 1), 1);
    assert_int_equal(fl_stat(f->link, "down_sent"), 1);
    fl_ok(f->link, "stall-down off");
    char c;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, IO_GUARD_MS) != 1)
        ts_fail("stall-down off: the held byte did not arrive within %d ms", IO_GUARD_MS);
    assert_int_equal(recv(fd, &c, 1, 0), 1);
    assert_int_equal(c, 'x');
    assert_int_equal(fl_stat(f->link, "down_sent"), 2);
    assert_int_equal(fl_stat(f->link, "down_buffered"), 0);
    close(fd);
}

static void test_max_conns(void **state)
{
    fixture_t *f = *state;
    char *args[] = {"--max-conns", "2", NULL};
    f->link = fl_start(f->dir, f->echo->port, args);
    int a = s_connect(f->link->port), b = s_connect(f->link->port);
    assert_int_equal(s_ping(a), 0);
    assert_int_equal(s_ping(b), 0);
    int c = s_connect(f->link->port);
    assert_int_equal(s_await_end(c), ECONNRESET);
    close(c);
    assert_int_equal(fl_stat(f->link, "refused"), 1);
    assert_int_equal(fl_stat(f->link, "active"), 2);
    close(a);
    close(b);
}

static void test_target_down(void **state)
{
    fixture_t *f = *state;
    int dead_port = ts_free_port(); /* nothing listens there */
    f->link = fl_start(f->dir, dead_port, NULL);
    int fd = s_connect(f->link->port);
    assert_int_equal(s_await_end(fd), ECONNRESET);
    close(fd);
    assert_int_equal(fl_stat(f->link, "target_failures"), 1);
    assert_int_equal(fl_stat(f->link, "resets"), 0);
}

static void test_control_errors(void **state)
{
    fixture_t *f = *state;
    f->link = fl_start(f->dir, f->echo->port, NULL);
    const char *bad[] = {"bogus",       "drop 1.5",    "drop -0.1",  "drop x",
                         "latency abc", "latency -5",  "bandwidth",  "cut maybe",
                         "stall",       "stats now",   "reset all",  "latency-sideways 5",
                         "seed -1",     "latency 1 2", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *reply = fl_cmd(f->link, "%s", bad[i]);
        if (strncmp(reply, "error: ", 7) != 0)
            fail_msg("command '%s' should be refused, got '%s'", bad[i], reply);
        free(reply);
    }
    char *reply = fl_cmd(f->link, "ping");
    assert_string_equal(reply, "ok pong");
    free(reply);
    fl_ok(f->link, "latency-up 5");
    fl_ok(f->link, "drop-down 0.25");
    fl_ok(f->link, "stall-up on");
    fl_ok(f->link, "stall-up off");
    reply = fl_cmd(f->link, "config");
    assert_int_equal(fl_reply_value(reply, "latency-up"), 5);
    assert_int_equal(fl_reply_value(reply, "latency-down"), 0);
    assert_non_null(strstr(reply, " drop-down=0.25 "));
    assert_non_null(strstr(reply, " drop-up=0 "));
    assert_non_null(strstr(reply, " stall-up=off "));
    free(reply);
    /* nothing above disturbed the link */
    fl_ok(f->link, "latency 0");
    fl_ok(f->link, "drop 0");
    int fd = s_connect(f->link->port);
    assert_int_equal(s_ping(fd), 0);
    close(fd);
}

static void test_refuses_non_loopback(void **state)
{
    fixture_t *f = *state;
    const char *bin = ts_bin("wq-faultlink");
    const char *cases[][2] = {
        {"127.0.0.1:0", "10.1.2.3:5570"},   {"127.0.0.1:0", "192.168.0.1:80"},
        {"0.0.0.0:0", "127.0.0.1:5570"},    {"127.0.0.1:0", "[2001:db8::1]:80"},
        {"[::]:0", "127.0.0.1:5570"},       {"127.0.0.1:0", "example.com:80"},
        {"127.0.0.1:0", "127.0.0.1:70000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[] = {(char *) bin, "--listen", (char *) cases[i][0], "--target",
                        (char *) cases[i][1], NULL};
        char *err = NULL;
        int rc = ts_run(argv, NULL, NULL, &err, 10000, NULL);
        if (rc != 2)
            fail_msg("--listen %s --target %s: exit %d, want 2; stderr: %s", cases[i][0],
                     cases[i][1], rc, err ? err : "");
        assert_non_null(err);
        assert_non_null(strstr(err, "error: "));
        free(err);
    }
    char *argv[] = {(char *) bin, "--listen", "127.0.0.1:0", "--target", "127.0.0.1:1",
                    "--control", "8.8.8.8:0", NULL};
    char *err = NULL;
    assert_int_equal(ts_run(argv, NULL, NULL, &err, 10000, NULL), 2);
    assert_non_null(strstr(err, "not a loopback address"));
    free(err);
    /* ::1 and other 127/8 addresses are fine */
    char *ok_args[] = {"--target", "[::1]:9", NULL};
    f->link = fl_start(f->dir, f->echo->port, ok_args);
    char *reply = fl_cmd(f->link, "ping");
    assert_string_equal(reply, "ok pong");
    free(reply);
}

static void test_help_and_usage(void **state)
{
    (void) state;
    const char *bin = ts_bin("wq-faultlink");
    char *help[] = {(char *) bin, "--help", NULL};
    char *out = NULL;
    assert_int_equal(ts_run(help, NULL, &out, NULL, 10000, NULL), 0);
    assert_non_null(strstr(out, "usage: wq-faultlink"));
    assert_non_null(strstr(out, "--drop-down"));
    free(out);
    char *missing[] = {(char *) bin, "--listen", "0", NULL};
    assert_int_equal(ts_run(missing, NULL, NULL, NULL, 10000, NULL), 2);
    char *unknown[] = {(char *) bin, "--listen", "0", "--target", "1", "--frobnicate", NULL};
    assert_int_equal(ts_run(unknown, NULL, NULL, NULL, 10000, NULL), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_passthrough_unchanged, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_connections, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_latency_lower_bound, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bandwidth_lower_bound, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_loss_resends_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_drop_down_loses_replies, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_drop_up_loses_requests, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_drop_reproducible_from_seed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reset_command, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cut, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cut_at_start, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stall_bounded_then_delivers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stall_down_holds_replies, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_max_conns, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_target_down, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_control_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_non_loopback, s_setup, s_teardown),
        cmocka_unit_test(test_help_and_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
