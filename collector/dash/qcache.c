/*  qcache - short-lived query results (see qcache.h). */
#include "collector/dash/qcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "web/wbuf.h"

typedef struct {
    char *key;
    wq_table_t *t;
    int64_t at;
} s_entry_t;

struct dash_qcache_t {
    pthread_mutex_t lock;
    s_entry_t *e;
    size_t n;
    unsigned ttl;
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
    if (!self->e || pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self->e);
        free(self);
        return NULL;
    }
    self->n = entries ? entries : 1;
    self->ttl = ttl_seconds;
    return self;
}

void dash_qcache_destroy(dash_qcache_t **self)
{
    if (!self || !*self)
        return;
    for (size_t i = 0; i < (*self)->n; i++) {
        free((*self)->e[i].key);
        wq_table_destroy(&(*self)->e[i].t);
    }
    free((*self)->e);
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

wq_table_t *dash_qcache_get(dash_qcache_t *self, const char *name, const wq_param_t *p, size_t n)
{
    if (!self->ttl)
        return NULL;
    char *key = s_key(name, p, n);
    wq_table_t *out = NULL;
    if (!key)
        return NULL;
    pthread_mutex_lock(&self->lock);
    int64_t now = s_now();
    for (size_t i = 0; i < self->n; i++) {
        s_entry_t *e = &self->e[i];
        if (e->key && strcmp(e->key, key) == 0 && now - e->at < (int64_t)self->ttl) {
            out = dash_table_copy(e->t);
            break;
        }
    }
    pthread_mutex_unlock(&self->lock);
    free(key);
    return out;
}

void dash_qcache_put(dash_qcache_t *self, const char *name, const wq_param_t *p, size_t n,
                     const wq_table_t *t)
{
    if (!self->ttl)
        return;
    char *key = s_key(name, p, n);
    wq_table_t *copy = key ? dash_table_copy(t) : NULL;
    if (!copy) {
        free(key);
        return;
    }
    pthread_mutex_lock(&self->lock);
    s_entry_t *pick = &self->e[0];
    for (size_t i = 0; i < self->n; i++) {
        s_entry_t *e = &self->e[i];
        if (!e->key || strcmp(e->key, key) == 0) {
            pick = e;
            break;
        }
        if (e->at < pick->at)
            pick = e;
    }
    free(pick->key);
    wq_table_destroy(&pick->t);
    pick->key = key;
    pick->t = copy;
    pick->at = s_now();
    pthread_mutex_unlock(&self->lock);
}
