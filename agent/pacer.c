/*  =========================================================================
    pacer - sizes the agent's batches for the link it has (see pacer.h)

    Estimates are windowed: the rate is the largest of the last S_SAMPLES
    delivery-rate samples (a sample can only underestimate: an idle pipe
    adds a round trip to its interval), the round trip the smallest of the
    last S_SAMPLES send-to-ACK times of batches sent with nothing in
    flight, less their own link time (queueing is not latency). A link that gets slower is noticed
    within S_SAMPLES batches; one that gets faster at the next ACK.
    =========================================================================
*/
#include "agent/pacer.h"

#include <stdlib.h>

#define S_SAMPLES 8
#define S_START 8192            /* wire bytes of the first batch */
#define S_TARGET_MS 1000
#define S_MIN_BYTES 2048

struct wq_pacer_t {
    wq_pacer_opts_t opts;
    double rates[S_SAMPLES];    /* bytes/s, 0 = empty slot */
    uint64_t rtts[S_SAMPLES];   /* ms, 0 = empty slot */
    size_t next_rate, next_rtt;
    uint64_t delivered;         /* wire bytes acknowledged, ever */
    uint64_t delivered_ms;      /* time of the last ACK */
    double ratio;               /* wire / raw of recent batches */
    int level;                  /* zstd level of the next batch (wq_pacer_level) */
    unsigned hold;              /* batches before the level may change again */
};

/*  The levels the agent uses, slowest (smallest output) first, and how
    much faster each step down compresses, roughly (callgrind, a batch of
    500 generated records with the dictionary: level 15 about 300k
    instructions a record, 9 about 50k, 3 about 10k; bytes 21.7, 22.9 and
    28.5 a record). */
static const int s_levels[] = {15, 9, 3};
#define S_NLEVELS 3
#define S_STEP_SPEEDUP 5.0
#define S_LEVEL_HOLD 2

wq_pacer_t *
wq_pacer_new(const wq_pacer_opts_t *opts)
{
    wq_pacer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    if (!self->opts.target_ms)
        self->opts.target_ms = S_TARGET_MS;
    if (!self->opts.min_bytes)
        self->opts.min_bytes = S_MIN_BYTES;
    if (!self->opts.max_bytes)
        self->opts.max_bytes = 1024 * 1024;
    self->ratio = 1.0;
    self->level = s_levels[0];
    return self;
}

void
wq_pacer_destroy(wq_pacer_t **self)
{
    if (!self || !*self)
        return;
    free(*self);
    *self = NULL;
}

double
wq_pacer_rate(const wq_pacer_t *self)
{
    double best = 0;
    for (size_t i = 0; i < S_SAMPLES; i++)
        if (self->rates[i] > best)
            best = self->rates[i];
    return best;
}

uint64_t
wq_pacer_rtt_ms(const wq_pacer_t *self)
{
    uint64_t best = 0;
    for (size_t i = 0; i < S_SAMPLES; i++)
        if (self->rtts[i] && (!best || self->rtts[i] < best))
            best = self->rtts[i];
    return best;
}

/*  Wire bytes of the next batch. The credit (batches in flight) must
    cover a round trip, or the link idles between batches: with a long
    round trip, batches grow to rtt / (credit - 1) of link time. */
static double
s_wire_target(const wq_pacer_t *self, uint32_t credit)
{
    double rate = wq_pacer_rate(self);
    double ms = (double) self->opts.target_ms;
    double cover = (double) wq_pacer_rtt_ms(self) / (double) (credit > 1 ? credit - 1 : 1);
    if (cover > ms)
        ms = cover;
    double wire = rate > 0 ? rate * ms / 1000.0 : S_START;
    if (wire < (double) self->opts.min_bytes)
        wire = (double) self->opts.min_bytes;
    return wire;
}

size_t
wq_pacer_batch_bytes(const wq_pacer_t *self, uint32_t credit)
{
    double raw = s_wire_target(self, credit) / self->ratio;
    if (raw > (double) self->opts.max_bytes)
        return self->opts.max_bytes;
    return raw < 1 ? 1 : (size_t) raw;
}

uint64_t
wq_pacer_probe_ms(const wq_pacer_t *self, uint64_t cap_ms)
{
    double rate = wq_pacer_rate(self);
    uint64_t rtt = wq_pacer_rtt_ms(self);
    uint64_t probe = cap_ms;
    if (rate > 0 && rtt > 0) {
        /* With the pipe full an ACK comes every batch's link time; the
           round trip (which includes one batch) covers the idle case. */
        double batch_ms = s_wire_target(self, 2) / rate * 1000.0;
        probe = (uint64_t) (batch_ms / 2) + rtt;
        if (probe < 1000)
            probe = 1000;
    }
    return probe < cap_ms ? probe : cap_ms;
}

void
wq_pacer_sent(wq_pacer_t *self, uint64_t now_ms, size_t raw, size_t wire, size_t inflight,
              wq_pacer_mark_t *mark)
{
    if (raw > 0) {
        double r = (double) wire / (double) raw;
        /* The ratio of small batches varies: follow it smoothly. */
        self->ratio = self->ratio == 1.0 ? r : 0.7 * self->ratio + 0.3 * r;
        if (self->ratio < 0.01)
            self->ratio = 0.01;
    }
    mark->sent_ms = now_ms;
    mark->wire = wire;
    mark->alone = inflight == 0;
    mark->rate = wq_pacer_rate(self);
    mark->delivered = self->delivered;
    /* With nothing in flight the link was idle: the interval starts now. */
    mark->delivered_ms = inflight == 0 || !self->delivered_ms ? now_ms : self->delivered_ms;
}

void
wq_pacer_acked(wq_pacer_t *self, const wq_pacer_mark_t *mark, uint64_t now_ms)
{
    self->delivered += mark->wire;
    self->delivered_ms = now_ms;
    uint64_t interval = now_ms > mark->delivered_ms ? now_ms - mark->delivered_ms : 1;
    double rate = (double) (self->delivered - mark->delivered) * 1000.0 / (double) interval;
    self->rates[self->next_rate] = rate;
    self->next_rate = (self->next_rate + 1) % S_SAMPLES;
    /* The round trip, only from a batch sent with nothing ahead of it:
       behind other batches, its wait in their queue would count as
       latency, and batches sized to cover that latency would grow without
       end. Its own link time (at the rate known when it was sent) is taken
       off. */
    if (mark->alone) {
        double since = (double) (now_ms > mark->sent_ms ? now_ms - mark->sent_ms : 0);
        double own = mark->rate > 0 ? (double) mark->wire * 1000.0 / mark->rate : 0;
        self->rtts[self->next_rtt] = since - own >= 1.0 ? (uint64_t) (since - own) : 1;
        self->next_rtt = (self->next_rtt + 1) % S_SAMPLES;
    }
}

int
wq_pacer_level(const wq_pacer_t *self)
{
    return self->level;
}

void
wq_pacer_compressed(wq_pacer_t *self, int level, size_t raw, uint64_t us)
{
    if (self->hold > 0) {
        self->hold--;
        return;
    }
    double rate = wq_pacer_rate(self);
    if (rate <= 0 || raw == 0 || level != self->level)
        return;
    double link_raw = rate / self->ratio;               /* record bytes/s the link carries */
    double speed = (double) raw * 1e6 / (double) (us ? us : 1);     /* record bytes/s compressed */
    size_t i = 0;
    while (i + 1 < S_NLEVELS && s_levels[i] != self->level)
        i++;
    if (speed < 4.0 * link_raw && i + 1 < S_NLEVELS) {
        /* Down as far as needed at once (a short drain of a few batches
           must not spend them stepping): each step about 5x faster. */
        do {
            i++;
            speed *= S_STEP_SPEEDUP;
        } while (speed < 4.0 * link_raw && i + 1 < S_NLEVELS);
        self->level = s_levels[i];
        self->hold = S_LEVEL_HOLD;
    } else if (i > 0 && speed / S_STEP_SPEEDUP >= 16.0 * link_raw) {
        self->level = s_levels[i - 1];
        self->hold = S_LEVEL_HOLD;
    }
}
