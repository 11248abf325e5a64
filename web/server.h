/*  =========================================================================
    server - an HTTP(S) server for wanqi's pages, on libmicrohttpd

    One wq_web_t per program: it listens on one address, runs requests on a
    pool of threads (libmicrohttpd's internal polling threads, never one
    thread per connection), and hands each request to the handler its
    route names (router.h). Around every handler it does, in order:
      - bounds: request bodies over max_body get 413 (Content-Length is
        checked before reading; forms and uploads are counted as they
        arrive, see form.h); connections idle over timeout_s are closed;
      - session: the session cookie is looked up (session.h); without one,
        a route not marked WQ_WEB_PUBLIC gets a redirect to the login page
        (GET) or 401. With require_login off (loopback only), an anonymous
        session is created instead, so forms still get CSRF tokens;
      - CSRF: POST, PUT, PATCH and DELETE must carry the session's token
        (form field "csrf" or header X-CSRF-Token) unless the route is
        marked WQ_WEB_NO_CSRF (the login form, which has no session yet),
        and must not come from another Origin;
      - headers: every response carries Content-Security-Policy
        (default-src 'self': no inline script or style, nothing from other
        hosts), X-Content-Type-Options nosniff, X-Frame-Options DENY,
        Referrer-Policy same-origin, and Cache-Control no-store (pages
        hold personal data) except /static/.
    Accounts: the file is re-read when it changes (looked at on requests,
    at most once a second, and at each login); the sessions of an account
    removed or changed (role, area, password) end at once.
    HTTPS: with tls_cert and tls_key set the server speaks only TLS
    (GnuTLS inside libmicrohttpd). Listening on anything but a loopback
    address without them is refused at start (WQ_E_CONFIG).
    GET /static/PATH serves the compiled-in assets (assets.h).
    =========================================================================
*/
#ifndef WQ_SERVER_H_INCLUDED
#define WQ_SERVER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"
#include "web/accounts.h"
#include "web/assets.h"
#include "web/form.h"
#include "web/session.h"
#include "web/wbuf.h"

typedef struct wq_web_t wq_web_t;
typedef struct wq_web_req_t wq_web_req_t;
typedef struct wq_web_resp_t wq_web_resp_t;

/*  A handler fills resp from req; it never blocks for long (it runs on one
    of the pool's threads). arg is what was given to wq_web_route. */
typedef void (*wq_web_handler_fn)(wq_web_req_t *req, wq_web_resp_t *resp, void *arg);

enum {
    WQ_WEB_PUBLIC = 1,   /* reachable without a login (login page, assets) */
    WQ_WEB_NO_CSRF = 2   /* state-changing but without CSRF check: login only */
};

typedef struct {
    const char *listen;         /* "HOST:PORT", HOST an IPv4 literal or [IPv6]; port 0: ephemeral */
    unsigned threads;           /* pool size; 0: 4 */
    size_t max_body;            /* bytes per request body (forms, uploads); 0: 1 MiB */
    unsigned timeout_s;         /* idle connection timeout; 0: 30 */
    const char *tls_cert;       /* PEM paths; both or neither */
    const char *tls_key;
    const char *accounts_path;  /* accounts file (accounts.h); NULL: no accounts */
    bool require_login;         /* false: anonymous sessions (refused beyond loopback) */
    const char *cookie_name;    /* NULL: "wq_session"; one per program on a host */
    const char *login_page;     /* where a GET without session goes; NULL: "/login" */
    unsigned session_idle_s;    /* 0: 1800 */
    size_t max_sessions;        /* 0: 1024 */
    unsigned login_max_failures;/* per address and per name in the window; 0: 5 */
    unsigned login_window_s;    /* 0: 300 */
    unsigned cpu_percent;       /* ceiling on the process's CPU, % of one core
                                   (cpubudget.h): requests wait past it; 0: none */
    const wq_asset_t *assets;   /* served under /static/; may be NULL */
    size_t nassets;
} wq_web_config_t;

/*  New server (not yet listening): checks the configuration and loads the
    accounts. cfg's strings are copied. Errors: WQ_E_CONFIG (text says
    which setting: bad listen address, only one of cert/key, login
    required without accounts, beyond loopback without TLS or without
    login), errors of wq_accounts_open, WQ_E_NOMEM. */
int wq_web_new(const wq_web_config_t *cfg, wq_web_t **out, wq_err_t *err);

/*  Stop (if started) and free; sets *self to NULL; safe on NULL. */
void wq_web_destroy(wq_web_t **self);

/*  Add a route before start (router.h patterns). HEAD is served by GET
    routes. Errors as wq_router_add. */
int wq_web_route(wq_web_t *self, const char *method, const char *pattern, wq_web_handler_fn fn,
                 void *arg, unsigned flags, wq_err_t *err);

/*  Start listening. Errors: WQ_E_IO (cannot bind; text says the address),
    WQ_E_CONFIG (unreadable certificate or key). */
int wq_web_start(wq_web_t *self, wq_err_t *err);

/*  The port listened on (after start; the real one when 0 was asked). */
uint16_t wq_web_port(const wq_web_t *self);

/*  The accounts and sessions (NULL accounts when none configured). The
    accounts are re-read when their file changes (server.c): the pointer
    returned is valid only until the server starts. */
wq_accounts_t *wq_web_accounts(wq_web_t *self);
wq_sessions_t *wq_web_sessions(wq_web_t *self);

/*  ---- the request ---- */
const char *wq_web_method(const wq_web_req_t *req);
const char *wq_web_path(const wq_web_req_t *req);
/*  A route capture ({name}), a query-string argument, a body field, a
    request header: NULL when absent. */
const char *wq_web_param(const wq_web_req_t *req, const char *name);
const char *wq_web_query(const wq_web_req_t *req, const char *name);
const char *wq_web_form(const wq_web_req_t *req, const char *name);
const wq_form_t *wq_web_form_all(const wq_web_req_t *req);
const char *wq_web_header(const wq_web_req_t *req, const char *name);
/*  The raw body of a request that is not a form (e.g. JSON); NULL if none. */
const char *wq_web_body(const wq_web_req_t *req, size_t *len);
/*  The session (logged-in account, or anonymous); NULL on a public route
    without one. */
const wq_session_t *wq_web_session(const wq_web_req_t *req);
/*  The session's CSRF token for forms, or "". */
const char *wq_web_csrf(const wq_web_req_t *req);
/*  The client's address as text. */
const char *wq_web_client(const wq_web_req_t *req);
bool wq_web_is_https(const wq_web_req_t *req);
/*  The CPU ceiling of the server req came to (cpu_percent; 0: none) and the
    wall seconds its requests have waited for it since it started. */
void wq_web_cpu_ceiling(const wq_web_req_t *req, unsigned *percent, double *waited_s);

/*  Log in: checks the rate limits for the client address and the name,
    then the password; on success starts a session and sets its cookie on
    resp (ending the request's old session). Logs every attempt with the
    address. Errors: WQ_E_BUSY (rate limited; text says when to retry),
    WQ_E_AUTH (wrong name or password), WQ_E_STATE (no accounts
    configured), WQ_E_NOMEM. */
int wq_web_login(wq_web_req_t *req, wq_web_resp_t *resp, const char *name, const char *password,
                 wq_err_t *err);
/*  End the request's session and clear its cookie. */
void wq_web_logout(wq_web_req_t *req, wq_web_resp_t *resp);

/*  ---- the response (default: 200, text/html; charset=utf-8, empty) ---- */
void wq_web_status(wq_web_resp_t *resp, unsigned code);
void wq_web_type(wq_web_resp_t *resp, const char *content_type);  /* copied */
wq_wbuf_t *wq_web_out(wq_web_resp_t *resp);
/*  Add a header (copied). At most 8 per response; more are dropped with a
    warning in the log. */
void wq_web_add_header(wq_web_resp_t *resp, const char *name, const char *value);
/*  303 See Other to location (a path on this server). */
void wq_web_redirect(wq_web_resp_t *resp, const char *location);
/*  A plain-text error page: code and message (UTF-8, shown as is). */
void wq_web_error(wq_web_resp_t *resp, unsigned code, const char *message);
/*  Make the response a download named filename (UTF-8; sent as RFC 6266
    filename* so Chinese names survive) of content_type. */
void wq_web_download(wq_web_resp_t *resp, const char *filename, const char *content_type);

#endif
