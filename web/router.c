/*  router - method + path pattern -> handler (see router.h). Routes are few
    (tens), so a linear scan over pre-split patterns is all it needs. */
#include "web/router.h"
#include "common/i18n.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *text;     /* segment text, or capture name */
    bool capture;
    bool rest;      /* "*" */
} s_seg_t;

typedef struct {
    char *method;
    s_seg_t *segs;
    size_t nsegs;
    wq_route_fn handler;
    void *arg;
    unsigned flags;
} s_route_t;

struct wq_router_t {
    s_route_t *routes;
    size_t count;
};

wq_router_t *wq_router_new(void)
{
    return calloc(1, sizeof(wq_router_t));
}

static void s_route_free(s_route_t *r)
{
    for (size_t i = 0; i < r->nsegs; i++)
        free(r->segs[i].text);
    free(r->segs);
    free(r->method);
}

void wq_router_destroy(wq_router_t **self)
{
    if (!self || !*self)
        return;
    for (size_t i = 0; i < (*self)->count; i++)
        s_route_free(&(*self)->routes[i]);
    free((*self)->routes);
    free(*self);
    *self = NULL;
}

int wq_router_add(wq_router_t *self, const char *method, const char *pattern, wq_route_fn handler,
                  void *arg, unsigned flags, wq_err_t *err)
{
    int rc = WQ_OK;
    s_route_t r = {.handler = handler, .arg = arg, .flags = flags};
    if (!pattern || pattern[0] != '/')
        return wq_err_set(err, WQ_E_FORMAT, "pattern", _("route pattern '%s' must start with '/'"),
                          pattern ? pattern : "(null)");
    size_t ncaps = 0;
    r.method = strdup(method);
    r.segs = calloc(strlen(pattern) + 1, sizeof(s_seg_t));
    if (!r.method || !r.segs) {
        rc = wq_err_set(err, WQ_E_NOMEM, "pattern", _("no memory for route %s"), pattern);
        goto fail;
    }
    const char *p = pattern + 1;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        s_seg_t *s = &r.segs[r.nsegs];
        if (n >= 2 && p[0] == '{') {
            if (p[n - 1] != '}' || n == 2) {
                rc = wq_err_set(err, WQ_E_FORMAT, "pattern", _("route '%s': bad capture"), pattern);
                goto fail;
            }
            if (++ncaps > WQ_ROUTE_PARAMS) {
                rc = wq_err_set(err, WQ_E_FORMAT, "pattern", _("route '%s': more than %d captures"),
                                pattern, WQ_ROUTE_PARAMS);
                goto fail;
            }
            s->capture = true;
            s->text = strndup(p + 1, n - 2);
        } else if (n == 1 && p[0] == '*') {
            if (end) {
                rc = wq_err_set(err, WQ_E_FORMAT, "pattern", _("route '%s': '*' must be last"), pattern);
                goto fail;
            }
            s->rest = true;
            s->text = strdup("*");
        } else {
            if (memchr(p, '{', n) || memchr(p, '}', n)) {
                rc = wq_err_set(err, WQ_E_FORMAT, "pattern", _("route '%s': bad capture"), pattern);
                goto fail;
            }
            s->text = strndup(p, n);
        }
        r.nsegs++;
        if (!s->text) {
            rc = wq_err_set(err, WQ_E_NOMEM, "pattern", _("no memory for route %s"), pattern);
            goto fail;
        }
        p += n;
        if (*p == '/') {
            p++;
            if (!*p) {  /* trailing slash: an empty last segment */
                r.segs[r.nsegs].text = strdup("");
                if (!r.segs[r.nsegs].text) {
                    rc = wq_err_set(err, WQ_E_NOMEM, "pattern", _("no memory for route %s"), pattern);
                    goto fail;
                }
                r.nsegs++;
            }
        }
    }
    s_route_t *grown = realloc(self->routes, (self->count + 1) * sizeof *grown);
    if (!grown) {
        rc = wq_err_set(err, WQ_E_NOMEM, "pattern", _("no memory for route %s"), pattern);
        goto fail;
    }
    self->routes = grown;
    self->routes[self->count++] = r;
    return WQ_OK;
fail:
    s_route_free(&r);
    return rc;
}

/*  Does route r match path? Fills m's captures on success. The path "/"
    has no segments, like the pattern "/"; otherwise both split on '/'. */
static int s_match(const s_route_t *r, const char *path, wq_route_match_t *m, bool *ok)
{
    *ok = false;
    m->nparams = 0;
    if (path[0] != '/')
        return WQ_OK;
    const char *p = path + 1;
    size_t i = 0;
    if (*p == '\0' && !(r->nsegs == 1 && r->segs[0].rest)) {
        *ok = (r->nsegs == 0);
        return WQ_OK;
    }
    for (;;) {
        if (i == r->nsegs)
            return WQ_OK;   /* the path has more segments */
        const s_seg_t *s = &r->segs[i];
        if (s->rest) {
            m->names[m->nparams] = s->text;
            m->values[m->nparams] = strdup(p);
            if (!m->values[m->nparams])
                return WQ_E_NOMEM;
            m->nparams++;
            *ok = true;
            return WQ_OK;
        }
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (s->capture) {
            if (n == 0)
                return WQ_OK;
            m->names[m->nparams] = s->text;
            m->values[m->nparams] = strndup(p, n);
            if (!m->values[m->nparams])
                return WQ_E_NOMEM;
            m->nparams++;
        } else if (strlen(s->text) != n || memcmp(s->text, p, n) != 0) {
            return WQ_OK;
        }
        i++;
        if (!end)
            break;
        p = end + 1;
    }
    *ok = (i == r->nsegs);
    return WQ_OK;
}

int wq_router_match(const wq_router_t *self, const char *method, const char *path,
                    wq_route_match_t *m)
{
    bool path_seen = false;
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < self->count; i++) {
        const s_route_t *r = &self->routes[i];
        bool ok = false;
        int rc = s_match(r, path, m, &ok);
        if (rc != WQ_OK || !ok) {
            wq_route_match_clear(m);
            if (rc != WQ_OK)
                return rc;
            continue;
        }
        if (strcmp(r->method, "*") != 0 && strcmp(r->method, method) != 0) {
            path_seen = true;
            wq_route_match_clear(m);
            continue;
        }
        m->handler = r->handler;
        m->arg = r->arg;
        m->flags = r->flags;
        return WQ_OK;
    }
    return path_seen ? WQ_E_STATE : WQ_E_NOTFOUND;
}

const char *wq_route_param(const wq_route_match_t *m, const char *name)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->names[i], name) == 0)
            return m->values[i];
    return NULL;
}

void wq_route_match_clear(wq_route_match_t *m)
{
    for (size_t i = 0; i < m->nparams; i++) {
        free(m->values[i]);
        m->values[i] = NULL;
    }
    m->nparams = 0;
}
