/*  =========================================================================
    cpubudget - a ceiling on a process's CPU time (see cpubudget.h)
    =========================================================================
*/
#include "web/cpubudget.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct wq_cpubudget_t {
    pthread_mutex_t lock;
    double rate;        /* CPU-seconds granted per wall second */
    double burst;       /* the most that can be saved up */
    double tokens;      /* CPU-seconds left (negative: debt) */
    double last_wall;   /* monotonic seconds at the last update */
    double last_cpu;    /* the process's CPU seconds then */
    double waited;      /* wall seconds callers have waited, in all */
    atomic_bool released;   /* shutting down: nobody waits any more */
};

static double s_clock(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;   /* both clocks exist on Linux: not reached */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*  Grant what the wall time since the last update earned, take what the
    process spent. Called with the lock held. */
static void s_update(wq_cpubudget_t *self)
{
    double wall = s_clock(CLOCK_MONOTONIC), cpu = s_clock(CLOCK_PROCESS_CPUTIME_ID);
    self->tokens += (wall - self->last_wall) * self->rate - (cpu - self->last_cpu);
    if (self->tokens > self->burst)
        self->tokens = self->burst;
    self->last_wall = wall;
    self->last_cpu = cpu;
}

wq_cpubudget_t *wq_cpubudget_new(unsigned percent, double burst_s)
{
    if (percent < 1 || percent > WQ_CPUBUDGET_MAX_PERCENT || !(burst_s > 0))
        return NULL;
    wq_cpubudget_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    self->rate = percent / 100.0;
    self->burst = burst_s;
    self->tokens = burst_s;
    self->last_wall = s_clock(CLOCK_MONOTONIC);
    self->last_cpu = s_clock(CLOCK_PROCESS_CPUTIME_ID);
    return self;
}

void wq_cpubudget_destroy(wq_cpubudget_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_mutex_destroy(&(*self_p)->lock);
    free(*self_p);
    *self_p = NULL;
}

double wq_cpubudget_wait(wq_cpubudget_t *self)
{
    double start = 0;
    for (;;) {
        pthread_mutex_lock(&self->lock);
        s_update(self);
        double debt = -self->tokens;
        double rate = self->rate, now = self->last_wall;
        pthread_mutex_unlock(&self->lock);
        if (debt <= 0 || atomic_load(&self->released)) {
            if (!start)
                return 0.0;
            pthread_mutex_lock(&self->lock);
            self->waited += now - start;
            pthread_mutex_unlock(&self->lock);
            return now - start;
        }
        if (!start)
            start = now;
        /* Sleep until the debt is paid, at most 0.2 s at a time: what the
           other threads spend meanwhile is seen at the next look, and a
           shutdown (wq_cpubudget_release) within 0.2 s. */
        double s = debt / rate;
        if (s > 0.2)
            s = 0.2;
        struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;   /* interrupted: sleep the rest */
    }
}

double wq_cpubudget_waited(wq_cpubudget_t *self)
{
    pthread_mutex_lock(&self->lock);
    double w = self->waited;
    pthread_mutex_unlock(&self->lock);
    return w;
}

double wq_cpubudget_balance(wq_cpubudget_t *self)
{
    pthread_mutex_lock(&self->lock);
    s_update(self);
    double t = self->tokens;
    pthread_mutex_unlock(&self->lock);
    return t;
}

void wq_cpubudget_release(wq_cpubudget_t *self)
{
    atomic_store(&self->released, true);
}
