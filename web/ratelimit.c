/*  ratelimit - fixed-window failure counter per key (see ratelimit.h). */
#include "web/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define S_KEY_MAX 96

typedef struct {
    char key[S_KEY_MAX];
    int64_t start;
    unsigned failures;
    bool used;
} s_slot_t;

struct wq_ratelimit_t {
    pthread_mutex_t lock;
    s_slot_t *slots;
    size_t n;
    unsigned max_failures, window;
};

wq_ratelimit_t *wq_ratelimit_new(size_t slots, unsigned max_failures, unsigned window_seconds)
{
    if (slots == 0 || max_failures == 0)
        return NULL;
    wq_ratelimit_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = calloc(slots, sizeof(s_slot_t));
    if (!self->slots || pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self->slots);
        free(self);
        return NULL;
    }
    self->n = slots;
    self->max_failures = max_failures;
    self->window = window_seconds;
    return self;
}

void wq_ratelimit_destroy(wq_ratelimit_t **self)
{
    if (!self || !*self)
        return;
    free((*self)->slots);
    pthread_mutex_destroy(&(*self)->lock);
    free(*self);
    *self = NULL;
}

/*  Keys longer than the slot are cut: a cut key still limits its prefix. */
static s_slot_t *s_find(wq_ratelimit_t *self, const char *key)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->slots[i].used && strncmp(self->slots[i].key, key, S_KEY_MAX - 1) == 0)
            return &self->slots[i];
    return NULL;
}

bool wq_ratelimit_blocked(wq_ratelimit_t *self, const char *key, int64_t now,
                          unsigned *retry_after)
{
    bool blocked = false;
    pthread_mutex_lock(&self->lock);
    s_slot_t *s = s_find(self, key);
    if (s && now - s->start >= (int64_t)self->window)
        memset(s, 0, sizeof *s);   /* window over */
    else if (s && s->failures >= self->max_failures) {
        blocked = true;
        if (retry_after)
            *retry_after = (unsigned)(s->start + self->window - now);
    }
    pthread_mutex_unlock(&self->lock);
    return blocked;
}

void wq_ratelimit_fail(wq_ratelimit_t *self, const char *key, int64_t now)
{
    pthread_mutex_lock(&self->lock);
    s_slot_t *s = s_find(self, key);
    if (s && now - s->start >= (int64_t)self->window)
        memset(s, 0, sizeof *s);
    else if (s) {
        s->failures++;
        goto done;
    }
    s_slot_t *pick = NULL;
    for (size_t i = 0; i < self->n; i++) {
        s_slot_t *c = &self->slots[i];
        if (!c->used) {
            pick = c;
            break;
        }
        if (!pick || c->start < pick->start)
            pick = c;
    }
    memset(pick, 0, sizeof *pick);
    strncpy(pick->key, key, S_KEY_MAX - 1);
    pick->start = now;
    pick->failures = 1;
    pick->used = true;
done:
    pthread_mutex_unlock(&self->lock);
}

void wq_ratelimit_clear(wq_ratelimit_t *self, const char *key)
{
    pthread_mutex_lock(&self->lock);
    s_slot_t *s = s_find(self, key);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&self->lock);
}
