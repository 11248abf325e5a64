/*  =========================================================================
    router - method + path pattern -> handler

    Patterns are literal segments and {name} captures, separated by '/':
    "/api/county/{code}" matches "/api/county/130102" with code=130102. A
    final "*" segment matches the rest of the path (captured as "*"). A
    capture never matches an empty segment nor crosses a '/'. The first
    route added that matches wins. Method "*" matches any method. The
    router knows nothing of HTTP: the handler and flags are opaque to it.
    =========================================================================
*/
#ifndef WQ_ROUTER_H_INCLUDED
#define WQ_ROUTER_H_INCLUDED

#include <stddef.h>
#include "common/error.h"

#define WQ_ROUTE_PARAMS 8

typedef struct wq_router_t wq_router_t;

/*  A handler as the router keeps it: any function, cast to this type by the
    caller and back to its real type before the call (C allows exactly this
    round trip for function pointers). */
typedef void (*wq_route_fn)(void);

typedef struct {
    wq_route_fn handler;    /* as added */
    void *arg;              /* as added */
    unsigned flags;         /* as added */
    size_t nparams;
    const char *names[WQ_ROUTE_PARAMS];  /* point into the router */
    char *values[WQ_ROUTE_PARAMS];       /* owned by the match: wq_route_match_clear */
} wq_route_match_t;

wq_router_t *wq_router_new(void);
void wq_router_destroy(wq_router_t **self);

/*  Add a route. method e.g. "GET" (copied), pattern as above (copied).
    Errors: WQ_E_FORMAT (pattern not starting with '/', empty or unclosed
    {}, "*" not last, more than WQ_ROUTE_PARAMS captures), WQ_E_NOMEM. */
int wq_router_add(wq_router_t *self, const char *method, const char *pattern, wq_route_fn handler,
                  void *arg, unsigned flags, wq_err_t *err);

/*  Match method and path (without the query string). Returns WQ_OK and
    fills *m; WQ_E_NOTFOUND if no pattern matches the path; WQ_E_STATE if
    a pattern matches the path but not for this method (HTTP 405).
    WQ_E_NOMEM. Captured values are not percent-decoded (libmicrohttpd has
    decoded the path already). */
int wq_router_match(const wq_router_t *self, const char *method, const char *path,
                    wq_route_match_t *m);

/*  A capture's value by name, or NULL. */
const char *wq_route_param(const wq_route_match_t *m, const char *name);

/*  Free the captured values. */
void wq_route_match_clear(wq_route_match_t *m);

#endif
