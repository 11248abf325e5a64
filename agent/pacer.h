/*  =========================================================================
    pacer - sizes the agent's batches for the link it has

    A county's link may carry 64 kbit/s or a gigabit. A batch should take
    a couple of seconds of link time at most, so that a reset in the middle
    of one throws little away, and on a fast link batches should still be
    large (few commits, few round trips). The pacer measures the link from
    the ACKs, the way BBR does: each batch remembers how many bytes had
    been acknowledged, and when, at the time it was sent; its ACK gives a
    delivery-rate sample (bytes acknowledged since / time since), and the
    largest recent sample is the link's rate. The smallest recent time
    from sending a batch with nothing in flight to its ACK, less its own
    link time, is the round trip (a batch queued behind others would count
    its wait as latency). From them:
      - the next batch's size in wire bytes = rate x target time (1 s),
        between a floor (a few KiB) and the frame limit; converted to the
        record bytes to read from the outbox with the compression ratio
        seen on the last batches;
      - batches in flight are the collector's credit (WELCOME); when the
        round trip is long, batches grow so that credit - 1 of them cover
        it, and the pipe stays full over high latency;
      - the probe interval: when a batch is unanswered for longer than the
        link needs for it, a PING finds out quickly whether the connection
        was reset underneath (ZeroMQ reconnects silently; the collector
        answers E_STATE on a new connection).
    Before the first ACK it starts small (a batch of S_START bytes).
    Pure arithmetic: no I/O, no clock of its own (times are passed in).
    =========================================================================
*/
#ifndef WQ_AGENT_PACER_H_INCLUDED
#define WQ_AGENT_PACER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t target_ms;     /* link time one batch should take (default 1000) */
    size_t min_bytes;       /* smallest batch, wire bytes (default 2048) */
    size_t max_bytes;       /* largest batch, record bytes (the frame limit) */
} wq_pacer_opts_t;

/*  What the pacer remembers of a batch in flight (the sender keeps it). */
typedef struct {
    uint64_t sent_ms;           /* when it was sent */
    uint64_t delivered;         /* bytes acknowledged when it was sent */
    uint64_t delivered_ms;      /* time of the last ACK then (or sent_ms if idle) */
    size_t wire;                /* its frame's size */
    bool alone;                 /* nothing was in flight: a round-trip sample */
    double rate;                /* the rate estimate when it was sent */
} wq_pacer_mark_t;

typedef struct wq_pacer_t wq_pacer_t;

/*  New pacer; opts copied (zeros mean defaults). NULL on OOM. */
wq_pacer_t *wq_pacer_new(const wq_pacer_opts_t *opts);

/*  Destroy; sets *self to NULL; safe on NULL. */
void wq_pacer_destroy(wq_pacer_t **self);

/*  Record bytes (uncompressed) the next batch should read from the
    outbox, with `credit` batches allowed in flight. */
size_t wq_pacer_batch_bytes(const wq_pacer_t *self, uint32_t credit);

/*  How long an unanswered batch may wait before a PING probes the link,
    in ms, at most cap_ms. */
uint64_t wq_pacer_probe_ms(const wq_pacer_t *self, uint64_t cap_ms);

/*  A batch of `raw` record bytes went out as `wire` bytes at now_ms; fills
    *mark for wq_pacer_acked. inflight: batches in flight before this one. */
void wq_pacer_sent(wq_pacer_t *self, uint64_t now_ms, size_t raw, size_t wire, size_t inflight,
                   wq_pacer_mark_t *mark);

/*  The batch of *mark was acknowledged at now_ms. */
void wq_pacer_acked(wq_pacer_t *self, const wq_pacer_mark_t *mark, uint64_t now_ms);

/*  Compression level for the next batch (zstd, proto/zbatch.h): the
    highest (15) while the link is slow, lower (9, then 3) once compressing
    a batch takes more than a quarter of the time the link needs to carry
    it. On 64 kbit/s every byte counts and level 15 costs the CPU a few
    percent of the link time; on a LAN or loopback level 15 made the agent
    the bottleneck (about 300k instructions per record against 10k at
    level 3, for 30 % more bytes). */
int wq_pacer_level(const wq_pacer_t *self);

/*  A batch of raw record bytes was compressed at `level` in `us`
    microseconds of the sender thread's CPU time (encoding included, so
    that the machine's load does not count as a slow CPU): compare that
    speed with the link's (record bytes/s: the delivery rate over the
    compression ratio) and move the level down when compressing is slower
    than 4x what the link carries (as many steps as that takes, each taken
    as 5x faster), one step up when the next level up would still be 16x
    faster. A change is followed by a couple of batches without one. */
void wq_pacer_compressed(wq_pacer_t *self, int level, size_t raw, uint64_t us);

/*  The link's estimates, for logs and status: bytes/s (0: unknown yet),
    round trip ms (0: unknown yet). */
double wq_pacer_rate(const wq_pacer_t *self);
uint64_t wq_pacer_rtt_ms(const wq_pacer_t *self);

#endif
