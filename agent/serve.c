/*  =========================================================================
    serve - the county workbench's HTTP side (see serve.h, docs/WEB.md)

    Everything HTTP is the shared web layer's (web/server.h: libmicrohttpd,
    routes, bounded forms, sessions with CSRF tokens, accounts, login rate
    limits, security headers, HTTPS). This file only says what each route
    answers, from agent/workbench.c, and runs the server with one thread:
    a county office's few cadres never notice, and every LMDB call stays
    on one thread.

    Pages are one HTML page with a small script (agent/www, compiled in as
    /static/...), which asks the JSON routes below. State-changing requests
    are POSTs and carry the session's CSRF token (X-CSRF-Token, given by
    GET /api/session); the web layer refuses any other.

    Accounts (DIR/web-accounts, Argon2id, `wanqi-agent user add NAME`) are
    required when serving beyond loopback (which also needs HTTPS) or as
    soon as one exists; on loopback without accounts the web layer gives
    anonymous sessions, which still carry CSRF tokens.
    =========================================================================
*/
#include "agent/serve.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "agent/config.h"
#include "agent/importer.h"
#include "agent/outbox.h"
#include "agent/workbench.h"
#include "common/creditcode.h"
#include "common/date.h"
#include "common/i18n.h"
#include "common/json.h"
#include "common/log.h"
#include "web/accounts.h"
#include "web/server.h"

#define S_ACCOUNTS_FILE "web-accounts"
#define S_BODY_MAX (8u * 1024 * 1024)  /* bytes of one request body (forms, uploads) */

/*  The pages (agent/www), compiled in by wq_web_embed_assets. */
extern const wq_asset_t wq_wb_assets[];
extern const size_t wq_wb_assets_count;

typedef struct {
    wq_agent_config_t cfg;
    wq_outbox_t *box;
    char today_override[11];    /* WANQI_TODAY, for tests of deadlines; "" normally */
} s_server_t;

static void
s_today(const s_server_t *srv, char out[11])
{
    if (srv->today_override[0])
        memcpy(out, srv->today_override, 11);
    else
        wq_date_today(out);
}

/*  ---- responses ------------------------------------------------------------ */

/*  A JSON page: fn writes to a memstream, whose text becomes the body. */
typedef unsigned (s_json_fn)(s_server_t *srv, const wq_wb_t *wb, wq_web_req_t *req, FILE *f);

static void
s_json(s_server_t *srv, wq_web_req_t *req, wq_web_resp_t *resp, bool snapshot, s_json_fn *fn)
{
    wq_wb_t *wb = NULL;
    wq_err_t e;
    char *buf = NULL;
    size_t len = 0;
    char msg[512];
    if (snapshot && wq_wb_load(srv->box, &wb, &e) != WQ_OK) {
        wq_log(WQ_LOG_ERROR, "serve: reading the outbox: %s", wq_err_format(&e, msg, sizeof msg));
        wq_web_error(resp, 500, "读取本机记录失败，请查看日志");
        return;
    }
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        wq_wb_destroy(&wb);
        wq_web_error(resp, 500, "内存不足");
        return;
    }
    unsigned status = fn(srv, wb, req, f);
    wq_wb_destroy(&wb);
    if (fclose(f) != 0) {
        free(buf);
        wq_web_error(resp, 500, "内存不足");
        return;
    }
    wq_web_status(resp, status);
    wq_web_type(resp, "application/json; charset=utf-8");
    wq_wbuf_put(wq_web_out(resp), buf, len);
    free(buf);
}

static void
s_asset(wq_web_resp_t *resp, const char *path)
{
    const wq_asset_t *a = wq_assets_find(wq_wb_assets, wq_wb_assets_count, path);
    if (!a) {
        wq_web_error(resp, 404, "没有这个页面");
        return;
    }
    wq_web_type(resp, wq_assets_type(path));
    wq_wbuf_put(wq_web_out(resp), a->data, a->len);
}

/*  ---- the JSON routes ----------------------------------------------------- */

static unsigned
s_api_session(s_server_t *srv, const wq_wb_t *wb, wq_web_req_t *req, FILE *f)
{
    (void) wb;
    char today[11];
    const wq_session_t *s = wq_web_session(req);
    s_today(srv, today);
    fprintf(f, "{\"csrf\":\"%s\",\"agent\":", wq_web_csrf(req));
    wq_json_write_string(f, srv->cfg.agent_id);
    fprintf(f, ",\"county\":\"%s\",\"today\":\"%s\",\"user\":", srv->cfg.county, today);
    if (s && !s->anonymous)
        wq_json_write_string(f, s->who.name);
    else
        fputs("null", f);
    fputc('}', f);
    return 200;
}

static unsigned
s_api_fields(s_server_t *srv, const wq_wb_t *wb, wq_web_req_t *req, FILE *f)
{
    (void) srv;
    (void) wb;
    (void) req;
    wq_wb_write_fields(f);
    return 200;
}

static unsigned
s_api_sync(s_server_t *srv, const wq_wb_t *wb, wq_web_req_t *req, FILE *f)
{
    (void) wb;
    (void) req;
    wq_outbox_state_t st;
    wq_err_t e;
    if (wq_outbox_state(srv->box, &st, &e) != WQ_OK) {
        fputs("{\"ok\":false,\"text\":\"读取发送状态失败\"}", f);
        return 500;
    }
    wq_wb_write_sync(&st, wq_now_ms(), f);
    return 200;
}

static unsigned
s_api_ledger(s_server_t *srv, const wq_wb_t *wb, wq_web_req_t *req, FILE *f)
{
    (void) req;
    char today[11];
    s_today(srv, today);
    fprintf(f, "{\"today\":\"%s\",\"problems\":", today);
    wq_wb_write_ledger(wb, today, f);
    fputc('}', f);
    return 200;
}

static unsigned
s_api_casebook(s_server_t *srv, const wq_wb_t *wb, wq_web_req_t *req, FILE *f)
{
    const char *ent = wq_web_query(req, "ent");
    char today[11];
    s_today(srv, today);
    if (!ent || wq_wb_write_casebook(wb, ent, today, f) != WQ_OK) {
        fputs("{\"ok\":false,\"error\":\"本机没有这家企业的记录\"}", f);
        return 404;
    }
    return 200;
}

static unsigned
s_api_consultations(s_server_t *srv, const wq_wb_t *wb, wq_web_req_t *req, FILE *f)
{
    (void) srv;
    (void) req;
    wq_wb_write_open_consultations(wb, f);
    return 200;
}

static unsigned
s_api_enterprises(s_server_t *srv, const wq_wb_t *wb, wq_web_req_t *req, FILE *f)
{
    (void) srv;
    wq_wb_write_enterprises(wb, wq_web_query(req, "q"), 200, f);
    return 200;
}

static unsigned
s_api_records(s_server_t *srv, const wq_wb_t *wb, wq_web_req_t *req, FILE *f)
{
    (void) srv;
    const char *ent = wq_web_query(req, "ent");
    const char *type = wq_web_query(req, "type");
    wq_wb_write_records(wb, ent && ent[0] ? ent : NULL,
                        type && type[0] ? wq_rec_type_parse(type) : WQ_REC_NONE, f);
    return 200;
}

static unsigned
s_api_creditcode(s_server_t *srv, const wq_wb_t *wb, wq_web_req_t *req, FILE *f)
{
    (void) srv;
    (void) wb;
    const char *code = wq_web_query(req, "code");
    wq_err_t e;
    int rc = wq_creditcode_check(code ? code : "", &e);
    fprintf(f, "{\"ok\":%s", rc == WQ_OK ? "true" : "false");
    if (rc != WQ_OK) {
        fputs(",\"zh\":", f);
        wq_json_write_string(f, wq_wb_err_zh(rc));
        fputs(",\"text\":", f);
        wq_json_write_string(f, e.text);
    }
    fputc('}', f);
    return 200;
}

/*  POST /api/record: build with the CLI's setter and validator, look for
    the same record already stored, store it in one short write txn. The
    logged-in cadre is the record's "by" unless the form says otherwise. */
static unsigned
s_api_record(s_server_t *srv, const wq_wb_t *unused, wq_web_req_t *req, FILE *f)
{
    (void) unused;
    wq_wb_fielderr_t errs[WQ_WB_MAX_ERRORS];
    size_t nerrs = 0, n = 0;
    wq_record_t *rec = NULL;
    wq_err_t e;
    char today[11], id[WQ_EVENT_ID_MAX] = "", msg[512];
    unsigned status = 200;
    const wq_form_t *form = wq_web_form_all(req);
    size_t count = form ? wq_form_count(form) : 0;
    const char **keys = calloc(count + 2, sizeof *keys);
    const char **vals = calloc(count + 2, sizeof *vals);
    if (!keys || !vals) {
        fputs("{\"ok\":false,\"error\":\"内存不足\"}", f);
        status = 500;
        goto done;
    }
    const wq_session_t *s = wq_web_session(req);
    bool has_by = false;
    for (size_t i = 0; i < count; i++) {
        const wq_form_field_t *fl = wq_form_at(form, i);
        if (fl->filename || strcmp(fl->name, "csrf") == 0)
            continue;
        has_by |= strcmp(fl->name, "by") == 0 && fl->value[0];
        keys[n] = fl->name;
        vals[n++] = fl->value;
    }
    if (!has_by && s && !s->anonymous) {
        keys[n] = "by";
        vals[n++] = s->who.name;
    }
    s_today(srv, today);
    int rc = wq_wb_build(form ? wq_form_get(form, "type") : NULL, keys, vals, n, srv->cfg.county, today,
                         &rec, errs, &nerrs);
    if (rc == WQ_E_UNKNOWN || rc == WQ_E_NOMEM) {
        fprintf(f, "{\"ok\":false,\"error\":\"%s\"}", rc == WQ_E_NOMEM ? "内存不足" : "未知的记录类型");
        status = rc == WQ_E_NOMEM ? 500 : 400;
        goto done;
    }
    if (rc != WQ_OK) {
        fputs("{\"ok\":false,\"errors\":[", f);
        for (size_t i = 0; i < nerrs; i++) {
            fputs(i ? ",{" : "{", f);
            fputs("\"field\":", f);     /* not translated: JSON */
            wq_json_write_string(f, errs[i].field);
            fprintf(f, ",\"code\":\"%s\",\"zh\":", wq_errname(errs[i].code));
            wq_json_write_string(f, wq_wb_err_zh(errs[i].code));
            fputs(",\"text\":", f);
            wq_json_write_string(f, errs[i].text);
            fputc('}', f);
        }
        fputs("]}", f);
        status = 422;
        goto done;
    }
    const char *repeat = wq_form_get(form, "_repeat");
    if (!(repeat && strcmp(repeat, "1") == 0)) {
        /* The outbox's fingerprint index (agent/outbox.h), as `record` uses. */
        wq_outbox_match_t m;
        if (wq_outbox_find_same(srv->box, rec, NULL, &m, &e) != WQ_OK)
            goto fail;
        if (m.found) {
            char when[20];
            wq_time_format(m.recorded_ms, when);
            fputs("{\"ok\":false,\"duplicate\":", f);
            wq_json_write_string(f, m.id);
            fprintf(f, ",\"recorded\":\"%s\"}", when);
            status = 409;
            goto done;
        }
    }
    if (wq_outbox_append(srv->box, rec, id, &e) != WQ_OK)
        goto fail;
    wq_log(WQ_LOG_INFO, "serve: %s stored %s %s", s && !s->anonymous ? s->who.name : "(loopback)",
           wq_rec_type_name(rec->type), id);
    fputs("{\"ok\":true,\"id\":", f);
    wq_json_write_string(f, id);
    fputs(",\"type\":", f);
    wq_json_write_string(f, wq_rec_type_name(rec->type));
    fputs("}", f);
    goto done;
fail:
    wq_log(WQ_LOG_ERROR, "serve: storing a record: %s", wq_err_format(&e, msg, sizeof msg));
    fputs("{\"ok\":false,\"error\":", f);
    snprintf(msg, sizeof msg, "没有保存：%s（%s）", wq_wb_err_zh(e.code), e.text);
    wq_json_write_string(f, msg);
    fputc('}', f);
    status = e.code == WQ_E_FULL ? 507 : 500;
done:
    free(keys);
    free(vals);
    wq_record_destroy(&rec);
    return status;
}


/*  ---- import by upload ------------------------------------------------------ */

static const char *
s_outcome(wq_row_outcome_t o)
{
    switch (o) {
    case WQ_ROW_STORED: return "stored";
    case WQ_ROW_WOULD_STORE: return "good";
    case WQ_ROW_DUPLICATE: return "duplicate";
    case WQ_ROW_BAD: return "bad";
    default: return "note";
    }
}

typedef struct {
    FILE *f;
    size_t n;
} s_rows_t;

static void
s_import_row(const wq_import_row_report_t *r, void *arg)
{
    s_rows_t *rows = arg;
    FILE *f = rows->f;
    fputs(rows->n++ ? ",{" : "{", f);
    fputs("\"sheet\":", f);     /* not translated: JSON */
    if (r->sheet)
        wq_json_write_string(f, r->sheet);
    else
        fputs("null", f);
    fprintf(f, ",\"line\":%lu,\"outcome\":\"%s\",\"type\":", r->line, s_outcome(r->outcome));
    wq_json_write_string(f, r->type ? wq_rec_type_name(r->type) : "");
    fputs(",\"id\":", f);
    if (r->id)
        wq_json_write_string(f, r->id);
    else
        fputs("null", f);
    fprintf(f, ",\"same_as\":%lu,\"field\":", r->same_as);
    wq_json_write_string(f, r->err ? r->err->field : "");
    fputs(",\"message\":", f);
    wq_json_write_string(f, r->message ? r->message : "");
    fputc('}', f);
}

/*  POST /api/import (multipart: file, mode=preview|store): every row's
    outcome, with the importer `wanqi-agent import` uses. A preview stores
    nothing; "store" stores the good rows (duplicates are skipped with the
    id they already have). */
static unsigned
s_api_import(s_server_t *srv, const wq_wb_t *unused, wq_web_req_t *req, FILE *f)
{
    (void) unused;
    const wq_form_t *form = wq_web_form_all(req);
    const wq_form_field_t *file = form ? wq_form_field(form, "file") : NULL;
    const char *mode = form ? wq_form_get(form, "mode") : NULL;
    bool store = mode && strcmp(mode, "store") == 0;
    if (!file || !file->filename || !file->len) {
        fputs("{\"ok\":false,\"error\":\"请选择要导入的 CSV 或 .xlsx 文件\"}", f);
        return 400;
    }
    s_rows_t rows = {f, 0};
    wq_import_opts_t o = {.preview = !store, .county = srv->cfg.county, .report = s_import_row,
                          .report_arg = &rows};
    wq_import_result_t res;
    wq_err_t e;
    char msg[512];
    memset(&res, 0, sizeof res);
    fputs("{\"rows\":[", f);
    int rc = wq_import_buffer(srv->box, file->filename, file->value, file->len, &o, &res, &e);
    fprintf(f, "],\"stored\":%s,\"lines\":%zu,\"good\":%zu,\"duplicates\":%zu,\"bad\":%zu",
            store ? "true" : "false", res.lines, res.stored, res.duplicates, res.bad);
    bool whole = rc == WQ_E_IO || rc == WQ_E_FULL || rc == WQ_E_NOMEM ||
                 (rc != WQ_OK && res.lines == 0 && res.bad == 0);
    fputs(",\"error\":", f);
    if (whole) {
        snprintf(msg, sizeof msg, "%s", e.text[0] ? e.text : wq_wb_err_zh(rc));
        wq_json_write_string(f, msg);
    } else
        fputs("null", f);
    fputc('}', f);
    wq_log(WQ_LOG_INFO, "serve: import%s of %s: %zu rows, %zu %s, %zu already recorded, %zu bad",
           store ? "" : " preview", file->filename, res.lines, res.stored, store ? "stored" : "good",
           res.duplicates, res.bad);
    return whole ? 422 : 200;
}

/*  ---- handlers (the web layer's signature) ------------------------------------ */

#define S_JSON_ROUTE(name, snapshot, fn)                                              \
    static void name(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)               \
    {                                                                                   \
        s_json(arg, req, resp, snapshot, fn);                                           \
    }
S_JSON_ROUTE(h_session, false, s_api_session)
S_JSON_ROUTE(h_fields, false, s_api_fields)
S_JSON_ROUTE(h_sync, false, s_api_sync)
S_JSON_ROUTE(h_ledger, true, s_api_ledger)
S_JSON_ROUTE(h_casebook, true, s_api_casebook)
S_JSON_ROUTE(h_consultations, true, s_api_consultations)
S_JSON_ROUTE(h_enterprises, true, s_api_enterprises)
S_JSON_ROUTE(h_records, true, s_api_records)
S_JSON_ROUTE(h_creditcode, false, s_api_creditcode)
S_JSON_ROUTE(h_record, false, s_api_record)
S_JSON_ROUTE(h_import, false, s_api_import)
#undef S_JSON_ROUTE

static void
h_index(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void) req;
    (void) arg;
    s_asset(resp, "index.html");
}

static void
s_login_form(wq_web_resp_t *resp, const char *message)
{
    wq_wbuf_t *o = wq_web_out(resp);
    wq_web_type(resp, "text/html; charset=utf-8");
    wq_wbuf_puts(o, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<title>登录 · 万企县级工作台</title>"
                    "<link rel=\"stylesheet\" href=\"/static/app.css\"></head>"
                    "<body class=\"login\"><main><h1>万企 · 县级工作台</h1>"
                    "<form method=\"post\" action=\"/login\" id=\"login-form\">");
    if (message) {
        wq_wbuf_puts(o, "<p class=\"box bad\" id=\"login-error\">");
        wq_wbuf_html(o, message);
        wq_wbuf_puts(o, "</p>");
    }
    wq_wbuf_puts(o, "<label class=\"f\" for=\"name\">账号</label>"
                    "<input type=\"text\" name=\"name\" id=\"name\" autocomplete=\"username\" required>"
                    "<label class=\"f\" for=\"password\">密码</label>"
                    "<input type=\"password\" name=\"password\" id=\"password\" "
                    "autocomplete=\"current-password\" required>"
                    "<div><button type=\"submit\" id=\"login\">登录</button></div></form></main>"
                    "</body></html>\n");
}

static void
h_login_page(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void) req;
    (void) arg;
    s_login_form(resp, NULL);
}

static void
h_login(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void) arg;
    wq_err_t e;
    int rc = wq_web_login(req, resp, wq_web_form(req, "name"), wq_web_form(req, "password"), &e);
    if (rc == WQ_OK) {
        wq_web_redirect(resp, "/");
        return;
    }
    wq_web_status(resp, rc == WQ_E_BUSY ? 429 : 401);
    s_login_form(resp, rc == WQ_E_BUSY ? "登录失败次数过多，请稍后再试。"
                       : rc == WQ_E_STATE ? "本工作台没有设置账号，不需要登录。"
                                          : "账号或密码错误。");
}

static void
h_logout(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void) arg;
    wq_web_logout(req, resp);
    wq_web_redirect(resp, "/login");
}

static int
s_routes(wq_web_t *web, s_server_t *srv, wq_err_t *err)
{
    static const struct {
        const char *method, *path;
        wq_web_handler_fn fn;
        unsigned flags;
    } routes[] = {
        {"GET", "/login", h_login_page, WQ_WEB_PUBLIC},
        {"POST", "/login", h_login, WQ_WEB_PUBLIC | WQ_WEB_NO_CSRF},
        {"POST", "/logout", h_logout, 0},
        {"GET", "/", h_index, 0},
        {"GET", "/api/session", h_session, 0},
        {"GET", "/api/fields", h_fields, 0},
        {"GET", "/api/sync", h_sync, 0},
        {"GET", "/api/ledger", h_ledger, 0},
        {"GET", "/api/casebook", h_casebook, 0},
        {"GET", "/api/consultations", h_consultations, 0},
        {"GET", "/api/enterprises", h_enterprises, 0},
        {"GET", "/api/records", h_records, 0},
        {"GET", "/api/creditcode", h_creditcode, 0},
        {"POST", "/api/record", h_record, 0},
        {"POST", "/api/import", h_import, 0},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int rc = wq_web_route(web, routes[i].method, routes[i].path, routes[i].fn, srv,
                              routes[i].flags, err);
        if (rc != WQ_OK)
            return rc;
    }
    return WQ_OK;
}

/*  ---- the commands ---------------------------------------------------------------- */

static char *
s_path(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

static void
s_serve_help(FILE *f)
{
    fputs(_("usage: wanqi-agent serve [--listen HOST:PORT] [--tls-cert PEM --tls-key PEM] [--dir D]\n"
            "\n"
            "Serve the county workbench (县级工作台): forms in Chinese for every record type,\n"
            "the problem ledger, each enterprise's case book, consultations awaiting an answer\n"
            "and the sync state, on this agent's outbox. Runs beside `wanqi-agent run`.\n"
            "--listen defaults to 127.0.0.1:8470 (this machine only); port 0 picks a free\n"
            "port. Prints \"listening on http://HOST:PORT/\" when ready. Stops on SIGINT/SIGTERM.\n"
            "Once an account exists (`wanqi-agent user add NAME`) everyone logs in. Listening beyond\n"
            "loopback (e.g. 0.0.0.0:8470 for the county LAN) needs accounts and HTTPS (--tls-cert,\n"
            "--tls-key). See docs/WEB.md.\n"), f);
}

int
wq_serve_cmd(int argc, char **argv, const char *dir_opt)
{
    const char *listen = WQ_SERVE_DEFAULT_LISTEN, *cert = NULL, *key = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        size_t n = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_serve_help(stdout);
            return 0;
        }
        if (strncmp(a, "--listen", (n = 8)) == 0)
            dst = &listen;
        else if (strncmp(a, "--tls-cert", (n = 10)) == 0)
            dst = &cert;
        else if (strncmp(a, "--tls-key", (n = 9)) == 0)
            dst = &key;
        if (dst && a[n] == '=')
            *dst = a + n + 1;
        else if (dst && a[n] == '\0' && i + 1 < argc)
            *dst = argv[++i];
        else {
            fprintf(stderr, _("wanqi-agent: serve: unknown option or missing value: %s (see --help)\n"), a);
            return 2;
        }
    }
    s_server_t srv;
    memset(&srv, 0, sizeof srv);
    const char *dir = wq_config_find_dir(dir_opt);
    wq_err_t e;
    char msg[512];
    int rc = 1;
    wq_web_t *web = NULL;
    wq_accounts_t *acc = NULL;
    char *accounts = s_path(dir, S_ACCOUNTS_FILE);
    char *path = s_path(dir, WQ_AGENT_OUTBOX_DIR);
    if (!accounts || !path) {
        fprintf(stderr, _("wanqi-agent: serve: out of memory\n"));
        goto done;
    }
    if (wq_config_load(dir, &srv.cfg, &e) != WQ_OK) {
        fprintf(stderr, _("wanqi-agent: serve: configuration: %s\n"), wq_err_format(&e, msg, sizeof msg));
        goto done;
    }
    const char *today = getenv("WANQI_TODAY");
    if (today && today[0]) {
        if (wq_date_check(today, &e) != WQ_OK) {
            fprintf(stderr, _("wanqi-agent: serve: WANQI_TODAY=%s is not a date YYYY-MM-DD\n"), today);
            rc = 2;
            goto done;
        }
        memcpy(srv.today_override, today, 11);
    }
    /* The workbench is for Chinese-speaking cadres: the validator's
       messages (gettext, common/i18n.h) are given in Chinese whatever the
       service's own locale. Without the zh_CN locale they stay English. */
    if (!setlocale(LC_MESSAGES, "zh_CN.UTF-8"))
        wq_log(WQ_LOG_WARN, "serve: locale zh_CN.UTF-8 missing (scripts/bootstrap makes it): "
               "field errors will carry English details");
    /* Logins are required as soon as one account exists. */
    if (wq_accounts_open(accounts, &acc, &e) != WQ_OK) {
        fprintf(stderr, _("wanqi-agent: serve: accounts: %s\n"), wq_err_format(&e, msg, sizeof msg));
        goto done;
    }
    bool login = wq_accounts_count(acc) > 0;
    wq_accounts_destroy(&acc);
    wq_outbox_limits_t lim = {srv.cfg.outbox_max_queued, srv.cfg.outbox_max_bytes,
                              srv.cfg.outbox_map_mb * 1024 * 1024};
    if (wq_outbox_open(path, &lim, &srv.box, &e) != WQ_OK) {
        fprintf(stderr, _("wanqi-agent: serve: outbox: %s\n"), wq_err_format(&e, msg, sizeof msg));
        goto done;
    }
    wq_web_config_t wc = {.listen = listen, .threads = 1, .max_body = S_BODY_MAX,
                          .tls_cert = cert, .tls_key = key, .accounts_path = accounts,
                          .require_login = login, .cookie_name = "wq_workbench",
                          .assets = wq_wb_assets, .nassets = wq_wb_assets_count};
    if (wq_web_new(&wc, &web, &e) != WQ_OK || s_routes(web, &srv, &e) != WQ_OK) {
        fprintf(stderr, _("wanqi-agent: serve: %s\n"), wq_err_format(&e, msg, sizeof msg));
        rc = e.code == WQ_E_CONFIG ? 2 : 1;
        goto done;
    }
    /* SIGINT/SIGTERM are taken by sigwait below; block them before the
       server makes its thread so that only this thread sees them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if (wq_web_start(web, &e) != WQ_OK) {
        fprintf(stderr, _("wanqi-agent: serve: %s\n"), wq_err_format(&e, msg, sizeof msg));
        goto done;
    }
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int) (strrchr(listen, ':') ? strrchr(listen, ':') - listen : 0),
             listen);
    /* not translated: scripts and tests read the address from this line */
    printf("listening on %s://%s:%u/\n", cert ? "https" : "http", host, (unsigned) wq_web_port(web));
    fflush(stdout);
    wq_log(WQ_LOG_INFO, "serve: workbench on port %u for agent %s (%s)", (unsigned) wq_web_port(web),
           srv.cfg.agent_id, login ? "accounts: everyone logs in" : "no accounts: loopback only");
    int sig = 0;
    sigwait(&sigs, &sig);
    wq_log(WQ_LOG_INFO, "serve: stopping (signal %d)", sig);
    rc = 0;
done:
    wq_web_destroy(&web);
    wq_outbox_destroy(&srv.box);
    free(accounts);
    free(path);
    return rc;
}

/*  The password: from the terminal without echo, or the first line of
    standard input (scripts, tests). 0 on success. */
static int
s_read_password(char *buf, size_t size)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fputs(_("password: "), stderr);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(buf, (int) size, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!got)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static void
s_user_help(FILE *f)
{
    fputs(_("usage: wanqi-agent user add NAME [--dir D]\n"
            "       wanqi-agent user passwd NAME [--dir D]\n"
            "       wanqi-agent user remove NAME [--dir D]\n"
            "       wanqi-agent user list [--dir D]\n"
            "\n"
            "Accounts of the county workbench (`wanqi-agent serve`), kept in DIR/web-accounts (0600)\n"
            "with Argon2id password hashes (libsodium). The password is read from the terminal\n"
            "without echo, or as the first line of standard input; at least 8 bytes. Once an\n"
            "account exists, everyone logs in. A running serve reads accounts at start: restart it.\n"), f);
}

int
wq_user_cmd(int argc, char **argv, const char *dir_opt)
{
    bool help = false;  /* --help anywhere: `user add --help` is not an account "--help" */
    for (int i = 0; i < argc; i++)
        help = help || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
    if (argc < 1 || help) {
        s_user_help(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    const char *verb = argv[0], *name = argc > 1 ? argv[1] : NULL;
    bool list = strcmp(verb, "list") == 0;
    if ((!list && (!name || argc != 2)) || (list && argc != 1) ||
        (!list && strcmp(verb, "add") && strcmp(verb, "passwd") && strcmp(verb, "remove"))) {
        fprintf(stderr, _("wanqi-agent: user: expected add|passwd|remove NAME or list (see --help)\n"));
        return 2;
    }
    const char *dir = wq_config_find_dir(dir_opt);
    wq_agent_config_t cfg;
    wq_accounts_t *a = NULL;
    wq_err_t e;
    char msg[512], pw[WQ_PASSWORD_MAX + 2];
    int rc = 1;
    char *path = s_path(dir, S_ACCOUNTS_FILE);
    if (!path)
        return 1;
    if (wq_config_load(dir, &cfg, &e) != WQ_OK || wq_accounts_open(path, &a, &e) != WQ_OK) {
        fprintf(stderr, _("wanqi-agent: user: %s\n"), wq_err_format(&e, msg, sizeof msg));
        goto done;
    }
    if (list) {
        for (size_t i = 0; i < wq_accounts_count(a); i++)
            printf("%s\t%s\t%s\n", wq_accounts_at(a, i)->name, wq_accounts_at(a, i)->role,
                   wq_accounts_at(a, i)->area);
        rc = 0;
        goto done;
    }
    int r;
    if (strcmp(verb, "remove") == 0)
        r = wq_accounts_remove(a, name, &e);
    else {
        if (s_read_password(pw, sizeof pw) != 0) {
            fprintf(stderr, _("wanqi-agent: user: no password given\n"));
            goto done;
        }
        r = strcmp(verb, "add") == 0 ? wq_accounts_add(a, name, pw, "cadre", cfg.county, &e)
                                     : wq_accounts_set_password(a, name, pw, &e);
        memset(pw, 0, sizeof pw);
    }
    if (r != WQ_OK || wq_accounts_save(a, &e) != WQ_OK) {
        fprintf(stderr, _("wanqi-agent: user %s %s: %s\n"), verb, name, wq_err_format(&e, msg, sizeof msg));
        rc = e.code == WQ_E_FORMAT || e.code == WQ_E_STATE || e.code == WQ_E_NOTFOUND ? 2 : 1;
        goto done;
    }
    if (strcmp(verb, "remove") == 0)
        printf(_("account %s removed (%s); a running `wanqi-agent serve` reads accounts at start: "
                 "restart it\n"), name, path);
    else
        printf(_("account %s saved (%s); a running `wanqi-agent serve` reads accounts at start: "
                 "restart it\n"), name, path);
    rc = 0;
done:
    wq_accounts_destroy(&a);
    free(path);
    return rc;
}
