/*  qcache - short-lived, shared query results (see qcache.h). */
#include "collector/dash/qcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "web/wbuf.h"

struct dash_qref_t {
    wq_table_t *t;
    size_t refs;          /* under the cache's lock */
};

typedef struct {
    char *key;            /* NULL: free slot */
    dash_qref_t *ref;     /* the last result, NULL while none */
    int64_t at;           /* when ref was published */
    bool busy;            /* a thread claimed it and computes it */
} s_entry_t;

struct dash_qcache_t {
    pthread_mutex_t lock;
    pthread_cond_t done;  /* a claim ended (published or abandoned) */
    s_entry_t *e;
    size_t n;
    unsigned ttl;
    uint64_t computed, waited;
};

static int64_t s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

dash_qcache_t *dash_qcache_new(size_t entries, unsigned ttl_seconds)
{
    dash_qcache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->e = calloc(entries ? entries : 1, sizeof(s_entry_t));
    pthread_condattr_t ca;
    bool attr = pthread_condattr_init(&ca) == 0;
    if (attr)
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (!self->e || !attr || pthread_mutex_init(&self->lock, NULL) != 0) {
        if (attr)
            pthread_condattr_destroy(&ca);
        free(self->e);
        free(self);
        return NULL;
    }
    if (pthread_cond_init(&self->done, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        pthread_mutex_destroy(&self->lock);
        free(self->e);
        free(self);
        return NULL;
    }
    pthread_condattr_destroy(&ca);
    self->n = entries ? entries : 1;
    self->ttl = ttl_seconds;
    return self;
}

/*  Drop one reference; under the lock. */
static void s_unref(dash_qref_t **ref)
{
    if (*ref && --(*ref)->refs == 0) {
        wq_table_destroy(&(*ref)->t);
        free(*ref);
    }
    *ref = NULL;
}

void dash_qcache_destroy(dash_qcache_t **self)
{
    if (!self || !*self)
        return;
    for (size_t i = 0; i < (*self)->n; i++) {
        free((*self)->e[i].key);
        s_unref(&(*self)->e[i].ref);
    }
    free((*self)->e);
    pthread_cond_destroy(&(*self)->done);
    pthread_mutex_destroy(&(*self)->lock);
    free(*self);
    *self = NULL;
}

wq_table_t *dash_table_copy(const wq_table_t *t)
{
    size_t nc = wq_table_ncols(t), nr = wq_table_nrows(t);
    const char **cols = calloc(nc ? nc : 1, sizeof *cols);
    if (!cols)
        return NULL;
    for (size_t c = 0; c < nc; c++)
        cols[c] = wq_table_col(t, c);
    wq_table_t *out = wq_table_new(nc, cols);
    free(cols);
    int rc = out ? WQ_OK : WQ_E_NOMEM;
    for (size_t r = 0; r < nr && rc == WQ_OK; r++) {
        size_t row;
        rc = wq_table_add_row(out, &row);
        for (size_t c = 0; c < nc && rc == WQ_OK; c++) {
            const wq_cell_t *cell = wq_table_cell(t, r, c);
            if (cell->kind == WQ_CELL_INT)
                rc = wq_table_set_int(out, row, c, cell->i);
            else if (cell->kind == WQ_CELL_STR)
                rc = wq_table_set_str(out, row, c, cell->s);
        }
    }
    if (rc != WQ_OK)
        wq_table_destroy(&out);
    return out;
}

/*  name US key=value US ... (US = 0x1f, which no parameter contains). */
static char *s_key(const char *name, const wq_param_t *p, size_t n)
{
    wq_wbuf_t b = {0};
    wq_wbuf_puts(&b, name);
    for (size_t i = 0; i < n; i++)
        wq_wbuf_printf(&b, "\x1f%s=%s", p[i].key, p[i].value);
    size_t len;
    return wq_wbuf_take(&b, &len);
}

static s_entry_t *s_find(dash_qcache_t *self, const char *key)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->e[i].key && strcmp(self->e[i].key, key) == 0)
            return &self->e[i];
    return NULL;
}

static bool s_fresh(const dash_qcache_t *self, const s_entry_t *e, int64_t now)
{
    return e->ref && now - e->at < (int64_t)self->ttl;
}

/*  A slot for a new key: a free one, else the oldest one nobody computes;
    NULL if every slot is being computed. Under the lock; takes key. */
static s_entry_t *s_slot(dash_qcache_t *self, char *key)
{
    s_entry_t *pick = NULL;
    for (size_t i = 0; i < self->n; i++) {
        s_entry_t *e = &self->e[i];
        if (!e->key) {
            pick = e;
            break;
        }
        if (!e->busy && (!pick || e->at < pick->at))
            pick = e;
    }
    if (!pick) {
        free(key);
        return NULL;
    }
    free(pick->key);
    s_unref(&pick->ref);
    pick->key = key;
    pick->at = 0;
    pick->busy = false;
    return pick;
}

dash_qref_t *dash_qcache_acquire(dash_qcache_t *self, const char *name, const wq_param_t *p,
                                 size_t n, unsigned wait_seconds, bool *claim)
{
    *claim = false;
    if (!self || !self->ttl)
        return NULL;
    char *key = s_key(name, p, n);
    if (!key)
        return NULL;
    dash_qref_t *out = NULL;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_seconds;
    bool waited = false;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        s_entry_t *e = s_find(self, key);
        if (e && s_fresh(self, e, s_now())) {
            out = e->ref;
            out->refs++;
            break;
        }
        if (e && e->busy) {
            if (!waited) {
                waited = true;
                self->waited++;
            }
            int wrc = pthread_cond_timedwait(&self->done, &self->lock, &until);
            if (wrc == ETIMEDOUT)
                break;   /* compute it ourselves, uncached */
            continue;
        }
        if (!e) {
            e = s_slot(self, key);
            key = NULL;
            if (!e)
                break;
        }
        e->busy = true;
        *claim = true;
        break;
    }
    pthread_mutex_unlock(&self->lock);
    free(key);
    return out;
}

dash_qref_t *dash_qcache_publish(dash_qcache_t *self, const char *name, const wq_param_t *p,
                                 size_t n, wq_table_t *t)
{
    char *key = s_key(name, p, n);
    dash_qref_t *ref = calloc(1, sizeof *ref);
    if (!key || !ref || !t) {
        free(key);
        free(ref);
        wq_table_destroy(&t);
        dash_qcache_abandon(self, name, p, n);
        return NULL;
    }
    ref->t = t;
    ref->refs = 1;   /* the caller's */
    pthread_mutex_lock(&self->lock);
    s_entry_t *e = s_find(self, key);
    if (!e) {
        e = s_slot(self, key);
        key = NULL;
    }
    if (e) {
        s_unref(&e->ref);
        e->ref = ref;
        ref->refs++;   /* the cache's */
        e->at = s_now();
        e->busy = false;
    }
    self->computed++;
    pthread_cond_broadcast(&self->done);
    pthread_mutex_unlock(&self->lock);
    free(key);
    return ref;
}

void dash_qcache_abandon(dash_qcache_t *self, const char *name, const wq_param_t *p, size_t n)
{
    char *key = s_key(name, p, n);
    pthread_mutex_lock(&self->lock);
    s_entry_t *e = key ? s_find(self, key) : NULL;
    if (e)
        e->busy = false;
    else   /* no memory for the key: free every claim, the waiters retry */
        for (size_t i = 0; i < self->n; i++)
            self->e[i].busy = false;
    pthread_cond_broadcast(&self->done);
    pthread_mutex_unlock(&self->lock);
    free(key);
}

const wq_table_t *dash_qref_table(const dash_qref_t *ref)
{
    return ref->t;
}

void dash_qcache_release(dash_qcache_t *self, dash_qref_t **ref)
{
    if (!ref || !*ref)
        return;
    pthread_mutex_lock(&self->lock);
    s_unref(ref);
    pthread_mutex_unlock(&self->lock);
}

wq_table_t *dash_qcache_get(dash_qcache_t *self, const char *name, const wq_param_t *p, size_t n)
{
    if (!self->ttl)
        return NULL;
    char *key = s_key(name, p, n);
    dash_qref_t *ref = NULL;
    if (!key)
        return NULL;
    pthread_mutex_lock(&self->lock);
    s_entry_t *e = s_find(self, key);
    if (e && s_fresh(self, e, s_now())) {
        ref = e->ref;
        ref->refs++;
    }
    pthread_mutex_unlock(&self->lock);
    free(key);
    wq_table_t *out = ref ? dash_table_copy(ref->t) : NULL;
    dash_qcache_release(self, &ref);
    return out;
}

void dash_qcache_put(dash_qcache_t *self, const char *name, const wq_param_t *p, size_t n,
                     const wq_table_t *t)
{
    if (!self->ttl)
        return;
    wq_table_t *copy = dash_table_copy(t);
    if (!copy)
        return;
    dash_qref_t *ref = dash_qcache_publish(self, name, p, n, copy);
    dash_qcache_release(self, &ref);
}

void dash_qcache_counts(dash_qcache_t *self, uint64_t *computed, uint64_t *waited)
{
    pthread_mutex_lock(&self->lock);
    *computed = self->computed;
    *waited = self->waited;
    pthread_mutex_unlock(&self->lock);
}
