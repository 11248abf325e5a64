/*  =========================================================================
    test_pacer - batch sizing from the measured link (agent/pacer.h)

    A simulated link (a rate in bytes/s and a one-way latency) carries the
    batches the pacer asks for, one after another with `credit` in flight;
    each ACK comes back when the link has carried the batch plus the
    round trip. The pacer must settle on about one second of link time per
    batch on a slow link, the frame limit on a fast one, longer batches
    when the round trip is long next to the credit, convert wire bytes to
    record bytes with the compression ratio it sees, and probe after a
    bounded time. Pure arithmetic: no clock, no sockets.
    =========================================================================
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "agent/pacer.h"

#define S_MAX (4u * 1024 * 1024)

/*  Run `batches` batches over a link of `rate` bytes/s and one-way latency
    `lat_ms`, with `credit` in flight and compression `ratio` (wire/raw);
    returns the pacer (caller destroys). */
static wq_pacer_t *
s_simulate(double rate, uint64_t lat_ms, uint32_t credit, double ratio, int batches)
{
    wq_pacer_t *p = wq_pacer_new(&(wq_pacer_opts_t){.max_bytes = S_MAX});
    assert_non_null(p);
    wq_pacer_mark_t marks[64];
    uint64_t acks[64];
    size_t first = 0, n = 0;
    double link_free = 1000;     /* ms: when the link can start the next byte */
    uint64_t now = 1000;
    for (int b = 0; b < batches;) {
        /* Send while credit allows. */
        while (n < credit && b < batches) {
            size_t raw = wq_pacer_batch_bytes(p, credit);
            size_t wire = (size_t) ((double) raw * ratio);
            if (wire < 1)
                wire = 1;
            size_t slot = (first + n) % 64;
            wq_pacer_sent(p, now, raw, wire, n, &marks[slot]);
            double start = link_free > (double) now + (double) lat_ms ? link_free
                                                                       : (double) now + (double) lat_ms;
            link_free = start + (double) wire / rate * 1000.0;
            acks[slot] = (uint64_t) link_free + lat_ms;
            n++;
            b++;
        }
        /* The oldest ACK arrives. */
        now = acks[first];
        wq_pacer_acked(p, &marks[first], now);
        first = (first + 1) % 64;
        n--;
    }
    return p;
}

static void
test_starts_small(void **state)
{
    (void) state;
    wq_pacer_t *p = wq_pacer_new(&(wq_pacer_opts_t){.max_bytes = S_MAX});
    assert_int_equal(wq_pacer_batch_bytes(p, 4), 8192);
    assert_true(wq_pacer_rate(p) == 0);
    assert_int_equal(wq_pacer_rtt_ms(p), 0);
    assert_int_equal(wq_pacer_probe_ms(p, 10000), 10000);   /* unknown link: the heartbeat */
    wq_pacer_destroy(&p);
    wq_pacer_destroy(&p);
    assert_null(p);
}

static void
test_slow_link_one_second(void **state)
{
    (void) state;
    /* 64 kbit/s, 150 ms each way, credit 4, no compression. */
    wq_pacer_t *p = s_simulate(8000, 150, 4, 1.0, 40);
    double rate = wq_pacer_rate(p);
    assert_true(rate > 7000 && rate <= 8100);
    size_t bytes = wq_pacer_batch_bytes(p, 4);
    assert_true(bytes > 7000 && bytes < 9000);      /* about 1 s of link time */
    uint64_t probe = wq_pacer_probe_ms(p, 10000);
    assert_true(probe >= 1000 && probe < 10000);
    wq_pacer_destroy(&p);
}

static void
test_compression_ratio(void **state)
{
    (void) state;
    /* 10:1 compression: ten times the record bytes for the same wire time. */
    wq_pacer_t *p = s_simulate(8000, 150, 4, 0.1, 40);
    size_t bytes = wq_pacer_batch_bytes(p, 4);
    assert_true(bytes > 70000 && bytes < 90000);
    wq_pacer_destroy(&p);
}

static void
test_fast_link_large_batches(void **state)
{
    (void) state;
    /* 1 Gbit/s, 1 ms: the frame limit. */
    wq_pacer_t *p = s_simulate(125e6, 1, 4, 1.0, 40);
    assert_int_equal(wq_pacer_batch_bytes(p, 4), S_MAX);
    wq_pacer_destroy(&p);
}

static void
test_long_round_trip_fills_the_pipe(void **state)
{
    (void) state;
    /* 2.5 s each way, credit 2: one batch in flight must cover the 5 s
       round trip, so batches grow well past one second of link time (the
       rate is underestimated while the pipe is not full, so not to the
       full 5 s); with more credit they stay at about one second. */
    wq_pacer_t *p = s_simulate(8000, 2500, 2, 1.0, 60);
    size_t bytes = wq_pacer_batch_bytes(p, 2);
    size_t more_credit = wq_pacer_batch_bytes(p, 64);
    assert_true(bytes >= 2 * 8000);
    assert_true(more_credit * 2 <= bytes);
    wq_pacer_destroy(&p);
}

/*  The compression level (wq_pacer_level): feed `batches` compressions of
    100 kB of records at `speed` record bytes/s (the level's own speed:
    each step down is taken as 5x faster, as the pacer assumes). */
static int
s_levels(wq_pacer_t *p, double speed15, int batches)
{
    for (int i = 0; i < batches; i++) {
        int level = wq_pacer_level(p);
        double speed = level == 15 ? speed15 : level == 9 ? speed15 * 5 : speed15 * 25;
        wq_pacer_compressed(p, level, 100000, (uint64_t) (100000 / speed * 1e6));
    }
    return wq_pacer_level(p);
}

static void
test_level_follows_the_link(void **state)
{
    (void) state;
    /* Before any ACK: the highest level. */
    wq_pacer_t *p = wq_pacer_new(&(wq_pacer_opts_t){.max_bytes = S_MAX});
    assert_int_equal(wq_pacer_level(p), 15);
    assert_int_equal(s_levels(p, 1e6, 10), 15);     /* no rate known: no change */
    wq_pacer_destroy(&p);
    /* 64 kbit/s with 10:1 compression carries 80 kB of records a second:
       level 15 at 1 MB/s of CPU keeps up with room to spare. */
    p = s_simulate(8000, 150, 4, 0.1, 40);
    assert_int_equal(s_levels(p, 1e6, 20), 15);
    assert_int_equal(s_levels(p, 4e5, 20), 15);
    /* A CPU four times slower than the link needs: one step down. */
    assert_int_equal(s_levels(p, 2e5, 4), 9);
    wq_pacer_destroy(&p);
    /* A LAN (12.5 MB/s, 10:1): level 15 would be the bottleneck; 3 is not. */
    p = s_simulate(12.5e6, 1, 4, 0.1, 40);
    assert_int_equal(s_levels(p, 1e6, 20), 3);
    /* ... and it does not climb back while the link stays fast. */
    assert_int_equal(s_levels(p, 1e6, 20), 3);
    wq_pacer_destroy(&p);
    /* A CPU fast enough for the link at every level: back up to 15. */
    p = s_simulate(1e5, 1, 4, 0.1, 40);
    assert_int_equal(s_levels(p, 1e5, 20), 3);      /* slow CPU: down */
    assert_int_equal(s_levels(p, 5e7, 20), 15);     /* fast CPU: up again */
    wq_pacer_destroy(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_small),
        cmocka_unit_test(test_slow_link_one_second),
        cmocka_unit_test(test_compression_ratio),
        cmocka_unit_test(test_fast_link_large_batches),
        cmocka_unit_test(test_long_round_trip_fills_the_pipe),
        cmocka_unit_test(test_level_follows_the_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
