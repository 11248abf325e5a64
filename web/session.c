/*  session - in-memory login sessions with CSRF tokens (see session.h). A
    linear scan is enough for the few hundred staff of a province. */
#include "web/session.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    wq_session_t s;
    int64_t last_used;
    bool live;
} s_slot_t;

struct wq_sessions_t {
    pthread_mutex_t lock;
    s_slot_t *slots;
    size_t max;
    unsigned idle;
    int64_t (*now)(void);
};

static int64_t s_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static void s_random_hex(char out[WQ_TOKEN_HEX + 1])
{
    unsigned char b[WQ_TOKEN_HEX / 2];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, WQ_TOKEN_HEX + 1, b, sizeof b);
    sodium_memzero(b, sizeof b);
}

static bool s_token_eq(const char *a, const char *b)
{
    return strlen(b) == WQ_TOKEN_HEX && sodium_memcmp(a, b, WQ_TOKEN_HEX) == 0;
}

wq_sessions_t *wq_sessions_new(size_t max, unsigned idle_seconds)
{
    if (max == 0 || sodium_init() < 0)
        return NULL;
    wq_sessions_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = calloc(max, sizeof(s_slot_t));
    if (!self->slots || pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self->slots);
        free(self);
        return NULL;
    }
    self->max = max;
    self->idle = idle_seconds;
    self->now = s_monotonic;
    return self;
}

void wq_sessions_destroy(wq_sessions_t **self)
{
    if (!self || !*self)
        return;
    sodium_memzero((*self)->slots, (*self)->max * sizeof(s_slot_t));
    free((*self)->slots);
    pthread_mutex_destroy(&(*self)->lock);
    free(*self);
    *self = NULL;
}

void wq_sessions_set_clock(wq_sessions_t *self, int64_t (*now)(void))
{
    pthread_mutex_lock(&self->lock);
    self->now = now ? now : s_monotonic;
    pthread_mutex_unlock(&self->lock);
}

static bool s_expired(const wq_sessions_t *self, const s_slot_t *slot, int64_t now)
{
    return now - slot->last_used > (int64_t)self->idle;
}

int wq_sessions_create(wq_sessions_t *self, const wq_account_t *who, wq_session_t *out,
                       wq_err_t *err)
{
    (void)err;
    pthread_mutex_lock(&self->lock);
    int64_t now = self->now();
    s_slot_t *pick = NULL;
    for (size_t i = 0; i < self->max; i++) {
        s_slot_t *slot = &self->slots[i];
        if (!slot->live || s_expired(self, slot, now)) {
            pick = slot;
            break;
        }
        if (!pick || slot->last_used < pick->last_used)
            pick = slot;   /* least recently used, dropped if nothing is free */
    }
    memset(pick, 0, sizeof *pick);
    s_random_hex(pick->s.token);
    s_random_hex(pick->s.csrf);
    if (who)
        pick->s.who = *who;
    pick->s.anonymous = (who == NULL);
    pick->last_used = now;
    pick->live = true;
    *out = pick->s;
    pthread_mutex_unlock(&self->lock);
    return WQ_OK;
}

int wq_sessions_lookup(wq_sessions_t *self, const char *token, wq_session_t *out)
{
    int rc = WQ_E_NOTFOUND;
    if (!token || strlen(token) != WQ_TOKEN_HEX)
        return rc;
    pthread_mutex_lock(&self->lock);
    int64_t now = self->now();
    for (size_t i = 0; i < self->max; i++) {
        s_slot_t *slot = &self->slots[i];
        if (!slot->live || !s_token_eq(slot->s.token, token))
            continue;
        if (s_expired(self, slot, now)) {
            memset(slot, 0, sizeof *slot);
        } else {
            slot->last_used = now;
            *out = slot->s;
            rc = WQ_OK;
        }
        break;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void wq_sessions_end(wq_sessions_t *self, const char *token)
{
    if (!token || strlen(token) != WQ_TOKEN_HEX)
        return;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->max; i++)
        if (self->slots[i].live && s_token_eq(self->slots[i].s.token, token))
            sodium_memzero(&self->slots[i], sizeof self->slots[i]);
    pthread_mutex_unlock(&self->lock);
}

void wq_sessions_end_account(wq_sessions_t *self, const char *name)
{
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->max; i++)
        if (self->slots[i].live && !self->slots[i].s.anonymous &&
            strcmp(self->slots[i].s.who.name, name) == 0)
            sodium_memzero(&self->slots[i], sizeof self->slots[i]);
    pthread_mutex_unlock(&self->lock);
}

size_t wq_sessions_count(wq_sessions_t *self)
{
    size_t n = 0;
    pthread_mutex_lock(&self->lock);
    int64_t now = self->now();
    for (size_t i = 0; i < self->max; i++)
        if (self->slots[i].live && !s_expired(self, &self->slots[i], now))
            n++;
    pthread_mutex_unlock(&self->lock);
    return n;
}

bool wq_session_csrf_ok(const wq_session_t *s, const char *presented)
{
    return s && presented && s_token_eq(s->csrf, presented);
}
