/*  =========================================================================
    server - HTTP(S) server on libmicrohttpd (see server.h)

    libmicrohttpd calls s_access several times per request: first with no
    body (we set up the request state and decide early on oversized
    bodies), then with each piece of the body (fed to the post processor or
    the raw buffer, bounded), then once more with no data: only then is the
    session checked, the route run and the response queued. s_completed
    frees the state whatever happened to the connection.

    Accounts are re-read when their file changes (s_accounts_refresh: its
    modification time, size or inode differ from the last load; looked at
    on each request, at most once a second), so adding or removing a user
    needs no restart. The new set replaces the old under a lock; sessions
    of an account that was removed, or whose role, area or password
    changed, end at once, and every request checks that its session's
    account still exists as it was (a session never outlives its account).
    =========================================================================
*/
#include "web/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include "common/i18n.h"
#include "common/log.h"
#include "web/cpubudget.h"
#include "web/ratelimit.h"
#include "web/router.h"

#define S_MAX_HEADERS 8
#define S_CPU_BURST_S 1.0                  /* CPU-seconds a ceiling lets be saved up */
#define S_RESP_LIMIT ((size_t)256 << 20)   /* largest page or export we build */
#define S_CSP "default-src 'self'; img-src 'self' data:; object-src 'none'; " \
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct wq_web_t {
    wq_web_config_t cfg;            /* strings below are our copies */
    char *listen, *tls_cert, *tls_key, *accounts_path, *cookie_name, *login_page;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    bool loopback;
    char *cert_pem, *key_pem;
    wq_router_t *router;
    wq_accounts_t *accounts;        /* replaced on reload: read under acc_lock */
    pthread_rwlock_t acc_lock;
    bool acc_lock_init;
    pthread_mutex_t acc_reload;     /* one reload at a time */
    struct stat acc_st;             /* the file as last loaded (st_ino 0: absent) */
    _Atomic int64_t acc_checked;    /* monotonic second of the last look */
    wq_sessions_t *sessions;
    wq_ratelimit_t *limits;
    wq_cpubudget_t *budget;         /* NULL: no CPU ceiling */
    struct MHD_Daemon *daemon;
    uint16_t port;
};

struct wq_web_resp_t {
    unsigned status;
    char *type;
    wq_wbuf_t body;
    char *hname[S_MAX_HEADERS], *hvalue[S_MAX_HEADERS];
    size_t nheaders;
    const void *static_data;     /* persistent body (assets) instead of body */
    size_t static_len;
};

struct wq_web_req_t {
    wq_web_t *web;
    struct MHD_Connection *conn;
    const char *method, *url;        /* libmicrohttpd's, live for the request */
    wq_form_t *form;
    struct MHD_PostProcessor *pp;
    wq_wbuf_t raw;
    bool has_raw, too_large, bad_form;
    wq_route_match_t match;
    bool matched;
    wq_session_t session;
    bool has_session;
    char client[INET6_ADDRSTRLEN + 8];
};

/* ---------------------------------------------------------------- config */

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static bool s_dup_ok(const char *src, const char *copy)
{
    return !src || copy;
}

/*  "HOST:PORT" -> sockaddr; HOST is an IPv4 literal or [IPv6]. */
static int s_parse_listen(wq_web_t *self, wq_err_t *err)
{
    const char *l = self->listen;
    char host[64];
    const char *colon;
    if (l[0] == '[') {
        const char *close = strchr(l, ']');
        if (!close || close[1] != ':' || (size_t)(close - l - 1) >= sizeof host)
            goto bad;
        memcpy(host, l + 1, (size_t)(close - l - 1));
        host[close - l - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(l, ':');
        if (!colon || (size_t)(colon - l) >= sizeof host)
            goto bad;
        memcpy(host, l, (size_t)(colon - l));
        host[colon - l] = '\0';
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        goto bad;
    memset(&self->addr, 0, sizeof self->addr);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&self->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&self->addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        self->addrlen = sizeof *a4;
        self->loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        self->addrlen = sizeof *a6;
        self->loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
    } else {
        goto bad;
    }
    return WQ_OK;
bad:
    return wq_err_set(err, WQ_E_CONFIG, "listen",
                      _("listen address '%s' is not HOST:PORT with an IP address "
                      "(e.g. 127.0.0.1:8480 or [::1]:8480)"), l);
}

static char *s_read_file(const char *path, wq_err_t *err)
{
    char *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        wq_err_set(err, WQ_E_CONFIG, "tls", _("cannot read %s: %s"), path, strerror(errno));
        return NULL;
    }
    wq_wbuf_t b = {.limit = 1 << 20};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        wq_wbuf_put(&b, chunk, n);
    if (ferror(f) || b.oom)
        wq_err_set(err, WQ_E_CONFIG, "tls", _("cannot read %s (I/O error or over 1 MiB)"), path);
    else
        data = wq_wbuf_take(&b, &n);
    wq_wbuf_free(&b);
    fclose(f);
    return data;
}

int wq_web_new(const wq_web_config_t *cfg, wq_web_t **out, wq_err_t *err)
{
    int rc = WQ_OK;
    *out = NULL;
    wq_web_t *self = calloc(1, sizeof *self);
    if (!self)
        return wq_err_set(err, WQ_E_NOMEM, NULL, _("no memory for the web server"));
    self->cfg = *cfg;
    self->listen = s_dup(cfg->listen ? cfg->listen : "127.0.0.1:0");
    self->tls_cert = s_dup(cfg->tls_cert);
    self->tls_key = s_dup(cfg->tls_key);
    self->accounts_path = s_dup(cfg->accounts_path);
    self->cookie_name = s_dup(cfg->cookie_name ? cfg->cookie_name : "wq_session");
    self->login_page = s_dup(cfg->login_page ? cfg->login_page : "/login");
    if (!self->listen || !s_dup_ok(cfg->tls_cert, self->tls_cert) ||
        !s_dup_ok(cfg->tls_key, self->tls_key) ||
        !s_dup_ok(cfg->accounts_path, self->accounts_path) || !self->cookie_name ||
        !self->login_page) {
        rc = wq_err_set(err, WQ_E_NOMEM, NULL, _("no memory for the web server"));
        goto done;
    }
    wq_web_config_t *c = &self->cfg;
    c->listen = self->listen;
    c->tls_cert = self->tls_cert;
    c->tls_key = self->tls_key;
    c->accounts_path = self->accounts_path;
    c->cookie_name = self->cookie_name;
    c->login_page = self->login_page;
    if (!c->threads)
        c->threads = 4;
    if (!c->max_body)
        c->max_body = 1 << 20;
    if (!c->timeout_s)
        c->timeout_s = 30;
    if (!c->session_idle_s)
        c->session_idle_s = 1800;
    if (!c->max_sessions)
        c->max_sessions = 1024;
    if (!c->login_max_failures)
        c->login_max_failures = 5;
    if (!c->login_window_s)
        c->login_window_s = 300;
    if ((rc = s_parse_listen(self, err)) != WQ_OK)
        goto done;
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        rc = wq_err_set(err, WQ_E_CONFIG, "tls", _("give both a TLS certificate and its key, or neither"));
        goto done;
    }
    if (!self->loopback && !c->tls_cert) {
        rc = wq_err_set(err, WQ_E_CONFIG, "listen",
                        _("%s is beyond loopback: HTTPS is required there; give a certificate "
                        "and key (see docs/DEPLOY.md) or listen on 127.0.0.1"), c->listen);
        goto done;
    }
    if (!self->loopback && !c->require_login) {
        rc = wq_err_set(err, WQ_E_CONFIG, "listen",
                        _("%s is beyond loopback: logins are required there; add accounts"), c->listen);
        goto done;
    }
    if (c->require_login && !c->accounts_path) {
        rc = wq_err_set(err, WQ_E_CONFIG, "accounts", _("logins required but no accounts file given"));
        goto done;
    }
    if (pthread_rwlock_init(&self->acc_lock, NULL) != 0) {
        rc = wq_err_set(err, WQ_E_NOMEM, NULL, _("no memory for the web server"));
        goto done;
    }
    pthread_mutex_init(&self->acc_reload, NULL);
    self->acc_lock_init = true;
    if (c->accounts_path) {
        /* stat before reading: a change between the two is seen next time. */
        if (stat(c->accounts_path, &self->acc_st) != 0)
            memset(&self->acc_st, 0, sizeof self->acc_st);
        if ((rc = wq_accounts_open(c->accounts_path, &self->accounts, err)) != WQ_OK)
            goto done;
    }
    self->router = wq_router_new();
    self->sessions = wq_sessions_new(c->max_sessions, c->session_idle_s);
    self->limits = wq_ratelimit_new(4096, c->login_max_failures, c->login_window_s);
    if (!self->router || !self->sessions || !self->limits) {
        rc = wq_err_set(err, WQ_E_NOMEM, NULL, _("no memory for the web server"));
        goto done;
    }
    if (c->cpu_percent > WQ_CPUBUDGET_MAX_PERCENT) {
        rc = wq_err_set(err, WQ_E_CONFIG, "cpu", _("the CPU ceiling is 0 (none) or 1..6400 %% of one core, not %u"),
                        c->cpu_percent);
        goto done;
    }
    /* A burst of one CPU-second: the costliest page (a city's whole ledger,
       uncached) fits in it, so a person who is alone never waits. */
    if (c->cpu_percent && !(self->budget = wq_cpubudget_new(c->cpu_percent, S_CPU_BURST_S))) {
        rc = wq_err_set(err, WQ_E_NOMEM, NULL, _("no memory for the web server"));
        goto done;
    }
done:
    if (rc == WQ_OK)
        *out = self;
    else
        wq_web_destroy(&self);
    return rc;
}

void wq_web_destroy(wq_web_t **self)
{
    if (!self || !*self)
        return;
    wq_web_t *w = *self;
    if (w->budget)
        wq_cpubudget_release(w->budget);   /* no request thread stays waiting */
    if (w->daemon)
        MHD_stop_daemon(w->daemon);
    wq_router_destroy(&w->router);
    wq_accounts_destroy(&w->accounts);
    if (w->acc_lock_init) {
        pthread_rwlock_destroy(&w->acc_lock);
        pthread_mutex_destroy(&w->acc_reload);
    }
    wq_sessions_destroy(&w->sessions);
    wq_ratelimit_destroy(&w->limits);
    wq_cpubudget_destroy(&w->budget);
    free(w->listen);
    free(w->tls_cert);
    free(w->tls_key);
    free(w->accounts_path);
    free(w->cookie_name);
    free(w->login_page);
    free(w->cert_pem);
    if (w->key_pem) {
        memset(w->key_pem, 0, strlen(w->key_pem));
        free(w->key_pem);
    }
    free(w);
    *self = NULL;
}

int wq_web_route(wq_web_t *self, const char *method, const char *pattern, wq_web_handler_fn fn,
                 void *arg, unsigned flags, wq_err_t *err)
{
    return wq_router_add(self->router, method, pattern, (wq_route_fn)fn, arg, flags, err);
}

wq_accounts_t *wq_web_accounts(wq_web_t *self) { return self->accounts; }
wq_sessions_t *wq_web_sessions(wq_web_t *self) { return self->sessions; }
uint16_t wq_web_port(const wq_web_t *self) { return self->port; }

/* ------------------------------------------------------------- responses */

void wq_web_status(wq_web_resp_t *resp, unsigned code) { resp->status = code; }
wq_wbuf_t *wq_web_out(wq_web_resp_t *resp) { return &resp->body; }

void wq_web_type(wq_web_resp_t *resp, const char *content_type)
{
    char *t = strdup(content_type);
    if (!t) {
        resp->body.oom = true;
        return;
    }
    free(resp->type);
    resp->type = t;
}

void wq_web_add_header(wq_web_resp_t *resp, const char *name, const char *value)
{
    if (resp->nheaders == S_MAX_HEADERS) {
        wq_warn(_("web: header %s dropped: more than %d headers"), name, S_MAX_HEADERS);
        return;
    }
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        resp->body.oom = true;
        return;
    }
    resp->hname[resp->nheaders] = n;
    resp->hvalue[resp->nheaders++] = v;
}

void wq_web_redirect(wq_web_resp_t *resp, const char *location)
{
    resp->status = 303;
    wq_web_add_header(resp, "Location", location);
}

void wq_web_error(wq_web_resp_t *resp, unsigned code, const char *message)
{
    resp->status = code;
    wq_web_type(resp, "text/plain; charset=utf-8");
    wq_wbuf_free(&resp->body);
    wq_wbuf_puts(&resp->body, message);
    wq_wbuf_puts(&resp->body, "\n");
}

void wq_web_download(wq_web_resp_t *resp, const char *filename, const char *content_type)
{
    wq_wbuf_t v = {0};
    wq_wbuf_puts(&v, "attachment; filename=\"export\"; filename*=UTF-8''");
    wq_wbuf_urlenc(&v, filename);
    wq_web_type(resp, content_type);
    if (v.oom)
        resp->body.oom = true;
    else
        wq_web_add_header(resp, "Content-Disposition", v.data);
    wq_wbuf_free(&v);
}

static void s_resp_free(wq_web_resp_t *resp)
{
    free(resp->type);
    wq_wbuf_free(&resp->body);
    for (size_t i = 0; i < resp->nheaders; i++) {
        free(resp->hname[i]);
        free(resp->hvalue[i]);
    }
}

/* -------------------------------------------------------------- requests */

const char *wq_web_method(const wq_web_req_t *req) { return req->method; }
const char *wq_web_path(const wq_web_req_t *req) { return req->url; }
const wq_form_t *wq_web_form_all(const wq_web_req_t *req) { return req->form; }
const char *wq_web_client(const wq_web_req_t *req) { return req->client; }
void wq_web_cpu_ceiling(const wq_web_req_t *req, unsigned *percent, double *waited_s)
{
    *percent = req->web->budget ? req->web->cfg.cpu_percent : 0;
    *waited_s = req->web->budget ? wq_cpubudget_waited(req->web->budget) : 0.0;
}

bool wq_web_is_https(const wq_web_req_t *req) { return req->web->cfg.tls_cert != NULL; }

const char *wq_web_param(const wq_web_req_t *req, const char *name)
{
    return req->matched ? wq_route_param(&req->match, name) : NULL;
}

const char *wq_web_query(const wq_web_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *wq_web_form(const wq_web_req_t *req, const char *name)
{
    return req->form ? wq_form_get(req->form, name) : NULL;
}

const char *wq_web_header(const wq_web_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *wq_web_body(const wq_web_req_t *req, size_t *len)
{
    if (!req->has_raw)
        return NULL;
    *len = req->raw.len;
    return req->raw.data ? req->raw.data : "";
}

const wq_session_t *wq_web_session(const wq_web_req_t *req)
{
    return req->has_session ? &req->session : NULL;
}

const char *wq_web_csrf(const wq_web_req_t *req)
{
    return req->has_session ? req->session.csrf : "";
}

static int64_t s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static void s_set_cookie(wq_web_req_t *req, wq_web_resp_t *resp, const char *token)
{
    char c[256];
    snprintf(c, sizeof c, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", req->web->cookie_name,
             token ? token : "", req->web->cfg.tls_cert ? "; Secure" : "",
             token ? "" : "; Max-Age=0");
    wq_web_add_header(resp, "Set-Cookie", c);
}

static bool s_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*  Re-read the accounts file if it changed since the last load (looked at
    once a second at most, or now when force). A file that cannot be read
    or parsed keeps the accounts as they were (logged; looked at again when
    the file changes). */
static void s_accounts_refresh(wq_web_t *w, bool force)
{
    if (!w->cfg.accounts_path)   /* accounts exist iff a path was given (never NULL after) */
        return;
    int64_t now = s_now();
    if (!force && atomic_load(&w->acc_checked) == now)
        return;
    atomic_store(&w->acc_checked, now);
    struct stat st;
    if (stat(w->cfg.accounts_path, &st) != 0)
        memset(&st, 0, sizeof st);          /* removed: no accounts */
    pthread_mutex_lock(&w->acc_reload);
    if (s_same_file(&st, &w->acc_st)) {
        pthread_mutex_unlock(&w->acc_reload);
        return;
    }
    wq_accounts_t *fresh = NULL, *old;
    wq_err_t err;
    char text[512];
    w->acc_st = st;
    if (wq_accounts_open(w->cfg.accounts_path, &fresh, &err) != WQ_OK) {
        wq_error(_("web: the accounts file %s changed but cannot be read; keeping the accounts "
                   "loaded before: %s"), w->cfg.accounts_path, wq_err_format(&err, text, sizeof text));
        pthread_mutex_unlock(&w->acc_reload);
        return;
    }
    pthread_rwlock_wrlock(&w->acc_lock);
    old = w->accounts;
    w->accounts = fresh;
    pthread_rwlock_unlock(&w->acc_lock);
    /* Only this thread (holding acc_reload) replaces or frees the sets. */
    for (size_t i = 0; i < wq_accounts_count(old); i++) {
        const char *name = wq_accounts_at(old, i)->name;
        if (!wq_accounts_unchanged(old, fresh, name)) {
            wq_sessions_end_account(w->sessions, name);
            if (wq_accounts_find(fresh, name))
                wq_info(_("web: account '%s' changed in %s: its sessions ended"), name,
                        w->cfg.accounts_path);
            else
                wq_info(_("web: account '%s' removed from %s: its sessions ended"), name,
                        w->cfg.accounts_path);
        }
    }
    wq_info(_("web: accounts re-read from %s (%zu accounts)"), w->cfg.accounts_path,
            wq_accounts_count(fresh));
    wq_accounts_destroy(&old);
    pthread_mutex_unlock(&w->acc_reload);
}

/*  Whether a logged-in session's account still exists with its role and
    area (closes the gap between a reload and the end of its sessions). */
static bool s_account_current(wq_web_t *w, const wq_session_t *s)
{
    if (s->anonymous || !w->cfg.accounts_path)
        return true;
    pthread_rwlock_rdlock(&w->acc_lock);
    const wq_account_t *a = wq_accounts_find(w->accounts, s->who.name);
    bool ok = a && strcmp(a->role, s->who.role) == 0 && strcmp(a->area, s->who.area) == 0;
    pthread_rwlock_unlock(&w->acc_lock);
    return ok;
}

int wq_web_login(wq_web_req_t *req, wq_web_resp_t *resp, const char *name, const char *password,
                 wq_err_t *err)
{
    wq_web_t *w = req->web;
    if (!w->cfg.accounts_path)
        return wq_err_set(err, WQ_E_STATE, NULL, _("this server has no accounts"));
    char kaddr[96], kname[96];
    snprintf(kaddr, sizeof kaddr, "addr:%s", req->client);
    snprintf(kname, sizeof kname, "name:%s", name ? name : "");
    int64_t now = s_now();
    s_accounts_refresh(w, true);
    unsigned wait_a = 0, wait_n = 0;
    bool ba = wq_ratelimit_blocked(w->limits, kaddr, now, &wait_a);
    bool bn = wq_ratelimit_blocked(w->limits, kname, now, &wait_n);
    if (ba || bn) {
        unsigned wait = wait_a > wait_n ? wait_a : wait_n;
        wq_warn(_("web: login refused for '%s' from %s: too many failures (retry in %u s)"),
                name ? name : "", req->client, wait);
        return wq_err_set(err, WQ_E_BUSY, "name", _("too many failed logins; retry in %u s"), wait);
    }
    wq_account_t who;
    pthread_rwlock_rdlock(&w->acc_lock);
    int rc = wq_accounts_verify(w->accounts, name, password, &who, err);
    pthread_rwlock_unlock(&w->acc_lock);
    if (rc != WQ_OK) {
        if (rc == WQ_E_AUTH) {
            wq_ratelimit_fail(w->limits, kaddr, now);
            wq_ratelimit_fail(w->limits, kname, now);
        }
        wq_warn(_("web: login failed for '%s' from %s"), name ? name : "", req->client);
        return rc;
    }
    wq_ratelimit_clear(w->limits, kname);
    wq_ratelimit_clear(w->limits, kaddr);
    if (req->has_session)
        wq_sessions_end(w->sessions, req->session.token);
    if ((rc = wq_sessions_create(w->sessions, &who, &req->session, err)) != WQ_OK)
        return rc;
    req->has_session = true;
    s_set_cookie(req, resp, req->session.token);
    wq_info(_("web: login '%s' (%s %s) from %s"), who.name, who.role, who.area, req->client);
    return WQ_OK;
}

void wq_web_logout(wq_web_req_t *req, wq_web_resp_t *resp)
{
    if (req->has_session) {
        if (!req->session.anonymous)
            wq_info(_("web: logout '%s' from %s"), req->session.who.name, req->client);
        wq_sessions_end(req->web->sessions, req->session.token);
        req->has_session = false;
    }
    s_set_cookie(req, resp, NULL);
}

/* ------------------------------------------------------ libmicrohttpd glue */

static enum MHD_Result s_post_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *filename, const char *content_type,
                                   const char *transfer_encoding, const char *data, uint64_t off,
                                   size_t size)
{
    (void)kind;
    (void)transfer_encoding;
    wq_web_req_t *req = cls;
    wq_err_t err;
    int rc = wq_form_add(req->form, key ? key : "", filename, content_type, off, data, size, &err);
    if (rc == WQ_E_RANGE)
        req->too_large = true;
    else if (rc != WQ_OK)
        req->bad_form = true;
    return rc == WQ_OK ? MHD_YES : MHD_NO;
}

static bool s_has_body(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0;
}

static void s_client_text(wq_web_req_t *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    strcpy(req->client, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->client,
                  sizeof req->client);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, req->client,
                  sizeof req->client);
}

/*  Queue resp on the connection with the security headers. */
static enum MHD_Result s_send(wq_web_req_t *req, wq_web_resp_t *resp, bool is_static)
{
    struct MHD_Response *r;
    if (resp->static_data) {
        r = MHD_create_response_from_buffer(resp->static_len, (void *)resp->static_data,
                                            MHD_RESPMEM_PERSISTENT);
    } else {
        size_t len = 0;
        char *body = wq_wbuf_take(&resp->body, &len);
        if (!body) {
            wq_error(_("web: %s %s: response could not be built (out of memory or over %zu MiB)"),
                     req->method, req->url, S_RESP_LIMIT >> 20);
            resp->status = 500;
            free(resp->type);
            resp->type = NULL;
            static const char msg[] = "服务器内部错误：页面过大或内存不足。\n";
            r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        } else {
            r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
            if (!r)
                free(body);
        }
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type",
                            resp->type ? resp->type : "text/plain; charset=utf-8");
    MHD_add_response_header(r, "Content-Security-Policy", S_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    MHD_add_response_header(r, "Cache-Control", is_static ? "max-age=3600" : "no-store");
    if (req->web->cfg.tls_cert)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->hname[i], resp->hvalue[i]);
    enum MHD_Result ret = MHD_queue_response(req->conn, resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/*  Origin header, when present, must name this server (Host). */
static bool s_same_origin(wq_web_req_t *req)
{
    const char *origin = wq_web_header(req, "Origin");
    const char *host = wq_web_header(req, "Host");
    if (!origin || strcmp(origin, "null") == 0)
        return origin == NULL;
    const char *p = strstr(origin, "://");
    return host && p && strcmp(p + 3, host) == 0;
}

/*  Run the request once its body is complete. */
static void s_dispatch(wq_web_req_t *req, wq_web_resp_t *resp, bool *is_static)
{
    wq_web_t *w = req->web;
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    if (req->too_large) {
        wq_web_error(resp, 413, "请求内容过大。");
        return;
    }
    if (req->bad_form) {
        wq_web_error(resp, 400, "表单数据格式错误。");
        return;
    }
    if (strcmp(method, "GET") == 0 && strncmp(req->url, "/static/", 8) == 0) {
        const wq_asset_t *a = wq_assets_find(w->cfg.assets, w->cfg.nassets, req->url + 8);
        if (!a) {
            wq_web_error(resp, 404, "找不到该文件。");
            return;
        }
        wq_web_type(resp, wq_assets_type(a->path));
        resp->static_data = a->data;
        resp->static_len = a->len;
        *is_static = true;
        return;
    }
    int rc = wq_router_match(w->router, method, req->url, &req->match);
    if (rc == WQ_E_NOTFOUND) {
        wq_web_error(resp, 404, "找不到该页面。");
        return;
    }
    if (rc == WQ_E_STATE) {
        wq_web_error(resp, 405, "不支持该请求方法。");
        return;
    }
    if (rc != WQ_OK) {
        wq_web_error(resp, 500, "服务器内部错误：内存不足。");
        return;
    }
    req->matched = true;
    s_accounts_refresh(w, false);
    const char *cookie = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, w->cookie_name);
    if (cookie && wq_sessions_lookup(w->sessions, cookie, &req->session) == WQ_OK) {
        req->has_session = true;
        if (!s_account_current(w, &req->session)) {
            wq_info(_("web: session of '%s' ended: the account was removed or changed"),
                    req->session.who.name);
            wq_sessions_end(w->sessions, req->session.token);
            memset(&req->session, 0, sizeof req->session);
            req->has_session = false;
        }
    }
    if (!req->has_session && !w->cfg.require_login) {
        wq_err_t err;
        if (wq_sessions_create(w->sessions, NULL, &req->session, &err) == WQ_OK) {
            req->has_session = true;
            s_set_cookie(req, resp, req->session.token);
        }
    }
    if (!req->has_session && !(req->match.flags & WQ_WEB_PUBLIC)) {
        if (strcmp(method, "GET") == 0) {
            wq_wbuf_t loc = {0};
            wq_wbuf_puts(&loc, w->login_page);
            wq_wbuf_puts(&loc, "?next=");
            wq_wbuf_urlenc(&loc, req->url);
            if (loc.oom)
                wq_web_error(resp, 500, "服务器内部错误：内存不足。");
            else
                wq_web_redirect(resp, loc.data);
            wq_wbuf_free(&loc);
        } else {
            wq_web_error(resp, 401, "请先登录。");
        }
        return;
    }
    if (s_has_body(method) && !(req->match.flags & WQ_WEB_NO_CSRF)) {
        const char *token = wq_web_header(req, "X-CSRF-Token");
        if (!token)
            token = wq_web_form(req, "csrf");
        if (!req->has_session || !wq_session_csrf_ok(&req->session, token)) {
            wq_warn(_("web: %s %s from %s refused: missing or wrong CSRF token"), method, req->url,
                    req->client);
            wq_web_error(resp, 403, "表单已过期或来源不明，请刷新页面后重试。");
            return;
        }
    }
    if (s_has_body(method) && !s_same_origin(req)) {
        wq_warn(_("web: %s %s from %s refused: Origin %s is not this server"), method, req->url,
                req->client, wq_web_header(req, "Origin"));
        wq_web_error(resp, 403, "请求来源不是本站。");
        return;
    }
    wq_web_handler_fn fn = (wq_web_handler_fn)req->match.handler;
    fn(req, resp, req->match.arg);
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    (void)version;
    wq_web_t *w = cls;
    wq_web_req_t *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        req->web = w;
        req->conn = conn;
        req->method = method;
        req->url = url;
        req->raw.limit = w->cfg.max_body;
        s_client_text(req);
        if (s_has_body(method)) {
            const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && strtoull(cl, NULL, 10) > w->cfg.max_body) {
                req->too_large = true;
            } else {
                req->form = wq_form_new(w->cfg.max_body, 4096);
                if (!req->form)
                    return MHD_NO;
                req->pp = MHD_create_post_processor(conn, 16 * 1024, s_post_iter, req);
                req->has_raw = (req->pp == NULL);  /* not a form: keep the bytes */
            }
        }
        if (!req->too_large)
            return MHD_YES;   /* wait for the body (or the final call) */
    }
    if (*upload_data_size > 0) {
        if (!req->too_large) {
            if (req->pp) {
                if (MHD_post_process(req->pp, upload_data, *upload_data_size) != MHD_YES &&
                    !req->too_large)
                    req->bad_form = true;
            } else if (req->has_raw) {
                wq_wbuf_put(&req->raw, upload_data, *upload_data_size);
                if (req->raw.oom)
                    req->too_large = true;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    wq_web_resp_t resp = {.status = 200, .body = {.limit = S_RESP_LIMIT}};
    wq_web_type(&resp, "text/html; charset=utf-8");
    bool is_static = false;
    if (w->budget)
        wq_cpubudget_wait(w->budget);   /* past the CPU ceiling: this request waits */
    s_dispatch(req, &resp, &is_static);
    wq_debug("web: %s %s from %s -> %u", method, url, req->client, resp.status);
    enum MHD_Result ret = s_send(req, &resp, is_static);
    s_resp_free(&resp);
    return ret;
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    wq_web_req_t *req = *con_cls;
    if (!req)
        return;
    if (req->pp)
        MHD_destroy_post_processor(req->pp);
    wq_form_destroy(&req->form);
    wq_wbuf_free(&req->raw);
    wq_route_match_clear(&req->match);
    memset(&req->session, 0, sizeof req->session);
    free(req);
    *con_cls = NULL;
}

/*  libmicrohttpd's log callback: fmt comes from the library. */
__attribute__((format(printf, 2, 0))) static void
s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    wq_warn(_("web: libmicrohttpd: %s"), line);
}

int wq_web_start(wq_web_t *self, wq_err_t *err)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
    if (self->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (self->cfg.tls_cert) {
        self->cert_pem = s_read_file(self->cfg.tls_cert, err);
        if (!self->cert_pem)
            return err ? err->code : WQ_E_CONFIG;
        self->key_pem = s_read_file(self->cfg.tls_key, err);
        if (!self->key_pem)
            return err ? err->code : WQ_E_CONFIG;
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, self->cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, self->key_pem},
        {MHD_OPTION_END, 0, NULL}};
    self->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, s_access, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&self->addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)self->cfg.threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)self->cfg.timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)64,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_ARRAY, self->cfg.tls_cert ? tls_opts : &tls_opts[2],
        MHD_OPTION_END);
    if (!self->daemon)
        return wq_err_set(err, WQ_E_IO, "listen",
                          _("cannot listen on %s%s (address in use or not available; see the log)"),
                          self->cfg.listen, self->cfg.tls_cert ? " with TLS" : "");
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = di ? di->port : 0;
    wq_info(_("web: listening on %s (port %u, %s, %u threads)"), self->cfg.listen,
            (unsigned)self->port, self->cfg.tls_cert ? "HTTPS" : "HTTP", self->cfg.threads);
    return WQ_OK;
}
