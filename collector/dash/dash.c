/*  =========================================================================
    dash - the dashboard's handlers (see dash.h)

    Each handler: who is asking (the session's account), which area they
    may see (dash_scope: a request outside it is refused with 403), the
    queries for the page (each in its own short read transaction), then
    either the page or the export. Pages are plain HTML with the figures in
    tables (with data-col / data-area attributes so the tests can compare
    every cell with wanqi-query); charts read their data from a JSON block
    (the CSP allows no inline script) and are drawn by /static/dash.js.
    =========================================================================
*/
#include "collector/dash/dash.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "collector/dash/export.h"
#include "collector/dash/labels.h"
#include "collector/dash/scope.h"
#include "collector/ledger.h"
#include "collector/peers.h"
#include "common/creditcode.h"
#include "common/date.h"
#include "common/division.h"
#include "common/i18n.h"
#include "common/log.h"
#include "web/jsonw.h"

#define S_PAGE_ROWS 2000   /* rows shown on an unpaged page; exports have them all */

/*  ---- small helpers ------------------------------------------------------ */

static const wq_account_t *s_who(wq_web_req_t *req)
{
    const wq_session_t *s = wq_web_session(req);
    return s && !s->anonymous ? &s->who : NULL;
}

static const char *s_role_label(const char *role)
{
    return !strcmp(role, "province") ? "省级" : !strcmp(role, "city") ? "市级" : "县级";
}

static const char *s_area_name(const char *code)
{
    const wq_division_t *d = wq_division_find(code);
    return d ? d->name : code;
}

/*  The area a request may see, or an error page (403/400) and false. */
static bool s_area(wq_web_req_t *req, wq_web_resp_t *resp, char area[7])
{
    const wq_account_t *who = s_who(req);
    wq_err_t err;
    if (!who) {
        wq_web_error(resp, 401, "请先登录。");
        return false;
    }
    int rc = dash_scope(who, wq_web_query(req, "area"), area, &err);
    if (rc == WQ_E_AUTH) {
        wq_warn(_("web: %s asked for area %s outside %s: refused"), who->name,
                wq_web_query(req, "area") ? wq_web_query(req, "area") : "", who->area);
        wq_web_error(resp, 403, "无权查看该地区的数据。");
        return false;
    }
    if (rc != WQ_OK) {
        wq_web_error(resp, 400, "地区代码无效。");
        return false;
    }
    return true;
}

static double s_secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/*  How long a request waits for another that computes the same result
    (qcache.h) before it runs the query itself. */
#define S_WAIT_S 30

/*  A query's result: shared from the cache (ref) or the request's own (own). */
typedef struct {
    const wq_table_t *t;
    dash_qref_t *ref;
    wq_table_t *own;
} s_res_t;

static void s_res_free(dash_app_t *app, s_res_t *res)
{
    dash_qcache_release(app->cache, &res->ref);
    wq_table_destroy(&res->own);
    res->t = NULL;
}

/*  Run a query, timing it for /metrics, or take its result from the cache
    (shared, read-only), or wait for the request computing it. params:
    NULL-terminated key, value pairs (a NULL or empty value leaves the
    parameter out). */
static int s_query_res(dash_app_t *app, const char *name, const char *const *kv, s_res_t *res,
                       wq_err_t *err)
{
    wq_param_t p[16];
    size_t n = 0;
    memset(res, 0, sizeof *res);
    for (size_t i = 0; kv && kv[i] && n < 16; i += 2)
        if (kv[i + 1] && kv[i + 1][0])
            p[n++] = (wq_param_t){(char *)kv[i], (char *)kv[i + 1]};
    bool claim = false;
    if (app->cache && (res->ref = dash_qcache_acquire(app->cache, name, p, n, S_WAIT_S, &claim))) {
        res->t = dash_qref_table(res->ref);
        return WQ_OK;
    }
    struct timespec t0, t1;
    wq_table_t *t = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = wq_central_query(app->central, name, p, n, &t, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    dash_metrics_observe(app->metrics, name, s_secs(&t0, &t1));
    if (rc != WQ_OK) {
        if (claim)
            dash_qcache_abandon(app->cache, name, p, n);
        return rc;
    }
    if (!claim) {
        res->own = t;
        res->t = t;
        return WQ_OK;
    }
    if (!(res->ref = dash_qcache_publish(app->cache, name, p, n, t)))
        return wq_err_set(err, WQ_E_NOMEM, "query", "%s", _("out of memory"));
    res->t = dash_qref_table(res->ref);
    return WQ_OK;
}

/*  As s_query_res, the result a table of the caller's own (to change). */
static int s_query(dash_app_t *app, const char *name, const char *const *kv, wq_table_t **out,
                   wq_err_t *err)
{
    s_res_t res;
    *out = NULL;
    int rc = s_query_res(app, name, kv, &res, err);
    if (rc != WQ_OK)
        return rc;
    if (res.own) {
        *out = res.own;
        res.own = NULL;
    } else if (!(*out = dash_table_copy(res.t))) {
        rc = wq_err_set(err, WQ_E_NOMEM, "query", "%s", _("out of memory"));
    }
    s_res_free(app, &res);
    return rc;
}

static void s_query_failed(wq_web_resp_t *resp, const char *name, const wq_err_t *err)
{
    char text[512];
    wq_err_format(err, text, sizeof text);
    if (err->code == WQ_E_FORMAT || err->code == WQ_E_UNKNOWN || err->code == WQ_E_MISSING) {
        wq_wbuf_t m = {0};
        wq_wbuf_printf(&m, "查询参数有误：%s", text);
        wq_web_error(resp, 400, m.oom ? "查询参数有误。" : m.data);
        wq_wbuf_free(&m);
        return;
    }
    wq_error(_("web: query %s failed: %s"), name, text);
    wq_web_error(resp, 500, "查询失败，请稍后重试或联系运维人员。");
}

static const wq_cell_t *s_cell(const wq_table_t *t, size_t r, const char *col)
{
    int c = wq_table_find_col(t, col);
    return c >= 0 ? wq_table_cell(t, r, (size_t)c) : NULL;
}

static const char *s_cstr(const wq_table_t *t, size_t r, const char *col)
{
    const wq_cell_t *c = s_cell(t, r, col);
    return c && c->kind == WQ_CELL_STR ? c->s : NULL;
}

static int64_t s_cint(const wq_table_t *t, size_t r, const char *col)
{
    const wq_cell_t *c = s_cell(t, r, col);
    return c && c->kind == WQ_CELL_INT ? c->i : 0;
}

/*  A table of the given columns of src with Chinese headers and labels:
    what the exports write. NULL on no memory. */
static wq_table_t *s_display(const wq_table_t *src, const char *const *cols, size_t ncols)
{
    const char *heads[64];
    if (ncols > 64)
        return NULL;
    for (size_t c = 0; c < ncols; c++)
        heads[c] = dash_col_label(cols[c]);
    wq_table_t *t = wq_table_new(ncols, heads);
    for (size_t r = 0; t && r < wq_table_nrows(src); r++) {
        size_t row;
        if (wq_table_add_row(t, &row) != WQ_OK)
            goto fail;
        for (size_t c = 0; c < ncols; c++) {
            const wq_cell_t *cell = s_cell(src, r, cols[c]);
            int rc = WQ_OK;
            if (cell && cell->kind == WQ_CELL_INT)
                rc = wq_table_set_int(t, row, c, cell->i);
            else if (cell && cell->kind == WQ_CELL_STR)
                rc = wq_table_set_str(t, row, c, dash_value_label(cols[c], cell->s));
            if (rc != WQ_OK)
                goto fail;
        }
    }
    return t;
fail:
    wq_table_destroy(&t);
    return NULL;
}

/*  Rows on one page of the ledger and the enterprise search. */
static size_t s_per_page(const dash_app_t *app)
{
    return app->page_rows ? app->page_rows : DASH_PAGE_ROWS_DEFAULT;
}

/*  If ?format=csv|xlsx (and ?table= is this table's id, or absent), answer
    with the export and return true. */
static bool s_export(dash_app_t *app, wq_web_req_t *req, wq_web_resp_t *resp, const char *id,
                     const wq_table_t *src, const char *const *cols, size_t ncols,
                     const char *title, const char *area)
{
    const char *fmt = wq_web_query(req, "format");
    const char *which = wq_web_query(req, "table");
    if (!fmt || (which && strcmp(which, id) != 0))
        return false;
    bool csv = !strcmp(fmt, "csv"), xlsx = !strcmp(fmt, "xlsx");
    if (!csv && !xlsx)
        return false;
    wq_table_t *t = s_display(src, cols, ncols);
    if (!t) {
        wq_web_error(resp, 500, "导出失败：内存不足。");
        return true;
    }
    char name[160];
    snprintf(name, sizeof name, "%s-%s.%s", title, area, csv ? "csv" : "xlsx");
    if (csv) {
        dash_export_csv(t, wq_web_out(resp));
        wq_web_download(resp, name, "text/csv; charset=utf-8");
    } else {
        wq_err_t err;
        if (dash_export_xlsx(t, title, app->tmpdir, wq_web_out(resp), &err) != WQ_OK) {
            wq_error(_("web: xlsx export of %s failed: %s"), title, err.text);
            wq_web_error(resp, 500, "导出 Excel 失败。");
        } else {
            wq_web_download(resp, name,
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        }
    }
    wq_table_destroy(&t);
    return true;
}

/*  ---- page frame --------------------------------------------------------- */

static void s_begin(wq_web_req_t *req, wq_web_resp_t *resp, const char *title, const char *tab,
                    const char *area)
{
    wq_wbuf_t *o = wq_web_out(resp);
    const wq_account_t *who = s_who(req);
    wq_wbuf_puts(o, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    wq_wbuf_html(o, title);
    wq_wbuf_puts(o, " · 万企帮扶平台</title><link rel=\"stylesheet\" href=\"/static/dash.css\">"
                    "<script src=\"/static/chart.min.js\" defer></script>"
                    "<script src=\"/static/dash.js\" defer></script></head><body>\n<header>"
                    "<div class=\"brand\">河北省万家企业环保帮扶 · 数据平台</div><nav>");
    static const struct {
        const char *tab, *href, *label;
    } tabs[] = {{"overview", "/", "全省概览"}, {"problems", "/problems", "问题台账"},
                {"enterprises", "/enterprises", "企业"}, {"sync", "/sync", "同步状态"},
                {"quarantine", "/quarantine", "隔离与待补"}};
    for (size_t i = 0; i < sizeof tabs / sizeof tabs[0]; i++) {
        wq_wbuf_printf(o, "<a id=\"nav-%s\" href=\"%s?area=%s\"%s>%s</a>", tabs[i].tab, tabs[i].href,
                       area ? area : "", strcmp(tab, tabs[i].tab) == 0 ? " class=\"active\"" : "",
                       tabs[i].label);
    }
    wq_wbuf_puts(o, "</nav>");
    if (who) {
        wq_wbuf_puts(o, "<div class=\"user\"><span id=\"who\">");
        wq_wbuf_html(o, who->name);
        wq_wbuf_printf(o, "（%s · ", s_role_label(who->role));
        wq_wbuf_html(o, s_area_name(who->area));
        wq_wbuf_puts(o, "）</span><form method=\"post\" action=\"/logout\">"
                        "<input type=\"hidden\" name=\"csrf\" value=\"");
        wq_wbuf_html(o, wq_web_csrf(req));
        wq_wbuf_puts(o, "\"><button type=\"submit\" id=\"logout\">退出</button></form></div>");
    }
    wq_wbuf_puts(o, "</header>\n<main>\n");
}

static void s_end(wq_web_resp_t *resp)
{
    wq_wbuf_puts(wq_web_out(resp), "</main>\n<footer>数据来自省平台中心库（只读）。"
                                   "</footer></body></html>\n");
}

/*  Export links for table id: the current URL's query plus format/table. */
static void s_export_links(wq_web_req_t *req, wq_wbuf_t *o, const char *id, const char *query)
{
    (void)req;
    wq_wbuf_printf(o, "<div class=\"exports\"><a class=\"export-csv\" id=\"export-%s-csv\" "
                      "href=\"?%s%sformat=csv&amp;table=%s\">导出 CSV</a> "
                      "<a class=\"export-xlsx\" id=\"export-%s-xlsx\" href=\"?%s%sformat=xlsx&amp;"
                      "table=%s\">导出 Excel</a></div>\n",
                   id, query, *query ? "&amp;" : "", id, id, query, *query ? "&amp;" : "", id);
}

typedef enum { S_LINK_NONE, S_LINK_AREA, S_LINK_ENT } s_link_t;

/*  One page of a long list: rows [first, first + count) of total, page
    `page` (1-based) of `pages`. */
typedef struct {
    size_t total, first, count, page, pages;
} s_page_t;

/*  The page ?page= asks for among total rows, per rows a page. A number
    past the end is the last page; anything else that is not a page number
    (empty, 0, negative, not a number) is the first: a bad link shows a
    page, never an error. */
static s_page_t s_page_of(wq_web_req_t *req, size_t total, size_t per)
{
    s_page_t pg = {.total = total, .pages = total ? (total - 1) / per + 1 : 1, .page = 1};
    const char *v = wq_web_query(req, "page");
    if (v && *v >= '0' && *v <= '9') {
        size_t n = 0;
        bool digits = true;
        for (const char *p = v; *p && digits; p++) {
            if (*p < '0' || *p > '9')
                digits = false;
            else if (n <= pg.pages)   /* past the last page: stays past it, no overflow */
                n = n * 10 + (size_t)(*p - '0');
        }
        if (digits && n >= 1)
            pg.page = n > pg.pages ? pg.pages : n;
    }
    pg.first = (pg.page - 1) * per;
    pg.count = total > pg.first ? (total - pg.first < per ? total - pg.first : per) : 0;
    return pg;
}

/*  The row count and the page links of a paged table: 共 N 行 · 第 x/y 页,
    首页 上一页 下一页 末页, each link the page's own query (base: the area
    and every filter, URL-encoded, & as &amp;) with page=N. */
static void s_pager(wq_wbuf_t *o, const char *id, const char *path, const char *base,
                    const s_page_t *pg)
{
    wq_wbuf_printf(o, "<nav class=\"pager\" id=\"%s-pager\"><span class=\"note\" id=\"%s-count\" "
                      "data-total=\"%zu\" data-page=\"%zu\" data-pages=\"%zu\">共 %zu 行 · 第 %zu/%zu 页",
                   id, id, pg->total, pg->page, pg->pages, pg->total, pg->page, pg->pages);
    if (pg->count)
        wq_wbuf_printf(o, "（本页第 %zu–%zu 行）", pg->first + 1, pg->first + pg->count);
    wq_wbuf_puts(o, "</span>");
    const struct {
        const char *key, *label;
        size_t to;
        bool on;
    } links[] = {{"first", "首页", 1, pg->page > 1},
                 {"prev", "上一页", pg->page - 1, pg->page > 1},
                 {"next", "下一页", pg->page + 1, pg->page < pg->pages},
                 {"last", "末页", pg->pages, pg->page < pg->pages}};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        if (links[i].on)
            wq_wbuf_printf(o, " <a id=\"%s-%s\" href=\"%s?%s%spage=%zu\">%s</a>", id, links[i].key,
                           path, base, *base ? "&amp;" : "", links[i].to, links[i].label);
        else
            wq_wbuf_printf(o, " <span class=\"off\" id=\"%s-%s\">%s</span>", id, links[i].key,
                           links[i].label);
    }
    wq_wbuf_puts(o, "</nav>\n");
}

/*  An HTML table of cols of src. link_col gets a link (drill-down to the
    row's area, or the enterprise's case file). red_col: a yes/no column
    that paints the row red ("overdue"). pg: the rows of one page (the
    caller writes the pager), or NULL: the first S_PAGE_ROWS and the count. */
static void s_table(wq_wbuf_t *o, const char *id, const wq_table_t *src, const char *const *cols,
                    size_t ncols, const char *link_col, s_link_t link, const char *red_col,
                    const s_page_t *pg)
{
    size_t nr = wq_table_nrows(src);
    size_t from = pg ? pg->first : 0, to = pg ? pg->first + pg->count : nr;
    if (!pg && to > S_PAGE_ROWS)
        to = S_PAGE_ROWS;
    wq_wbuf_printf(o, "<table id=\"%s\" class=\"data\"><thead><tr>", id);
    for (size_t c = 0; c < ncols; c++)
        wq_wbuf_printf(o, "<th data-col=\"%s\">%s</th>", cols[c], dash_col_label(cols[c]));
    wq_wbuf_puts(o, "</tr></thead><tbody>\n");
    for (size_t r = from; r < to && r < nr; r++) {
        const char *area = s_cstr(src, r, "area");
        const char *red = red_col ? s_cstr(src, r, red_col) : NULL;
        wq_wbuf_puts(o, "<tr");
        if (area)
            wq_wbuf_printf(o, " data-area=\"%s\"", area);
        if (red && !strcmp(red, "yes"))
            wq_wbuf_puts(o, " class=\"red\"");
        wq_wbuf_puts(o, ">");
        for (size_t c = 0; c < ncols; c++) {
            const wq_cell_t *cell = s_cell(src, r, cols[c]);
            bool num = cell && cell->kind == WQ_CELL_INT;
            wq_wbuf_printf(o, "<td data-col=\"%s\"%s>", cols[c], num ? " class=\"num\"" : "");
            if (!cell || cell->kind == WQ_CELL_NULL) {
                wq_wbuf_puts(o, "");
            } else if (num) {
                wq_wbuf_printf(o, "%" PRId64, cell->i);
            } else if (link_col && !strcmp(cols[c], link_col) && link == S_LINK_AREA && area) {
                wq_wbuf_printf(o, "<a class=\"drill\" href=\"/?area=%s\">", area);
                wq_wbuf_html(o, cell->s);
                wq_wbuf_puts(o, "</a>");
            } else if (link_col && !strcmp(cols[c], link_col) && link == S_LINK_ENT &&
                       s_cstr(src, r, "ent")) {
                wq_wbuf_puts(o, "<a class=\"case\" href=\"/enterprise/");
                wq_wbuf_urlenc(o, s_cstr(src, r, "ent"));
                wq_wbuf_puts(o, "\">");
                wq_wbuf_html(o, dash_value_label(cols[c], cell->s));
                wq_wbuf_puts(o, "</a>");
            } else {
                wq_wbuf_html(o, dash_value_label(cols[c], cell->s));
            }
            wq_wbuf_puts(o, "</td>");
        }
        wq_wbuf_puts(o, "</tr>\n");
    }
    wq_wbuf_puts(o, "</tbody></table>\n");
    if (pg)
        return;
    if (nr > S_PAGE_ROWS)
        wq_wbuf_printf(o, "<p class=\"note\">共 %zu 行，页面显示前 %d 行；导出文件包含全部。</p>\n",
                       nr, S_PAGE_ROWS);
    else
        wq_wbuf_printf(o, "<p class=\"note\" id=\"%s-count\">共 %zu 行。</p>\n", id, nr);
}

/*  ---- login -------------------------------------------------------------- */

static void s_login_form(wq_web_req_t *req, wq_web_resp_t *resp, const char *message)
{
    wq_wbuf_t *o = wq_web_out(resp);
    wq_wbuf_puts(o, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                    "<title>登录 · 万企帮扶平台</title><link rel=\"stylesheet\" href=\"/static/dash.css\">"
                    "</head><body class=\"login\"><main><h1>河北省万家企业环保帮扶 · 数据平台</h1>"
                    "<form method=\"post\" action=\"/login\" id=\"login-form\">");
    if (message) {
        wq_wbuf_puts(o, "<p class=\"error\" id=\"login-error\">");
        wq_wbuf_html(o, message);
        wq_wbuf_puts(o, "</p>");
    }
    const char *next = wq_web_query(req, "next");
    if (!next)
        next = wq_web_form(req, "next");
    wq_wbuf_puts(o, "<input type=\"hidden\" name=\"next\" value=\"");
    wq_wbuf_html(o, next ? next : "/");
    wq_wbuf_puts(o, "\"><label>账号 <input name=\"name\" id=\"name\" autocomplete=\"username\" "
                    "required></label><label>密码 <input name=\"password\" id=\"password\" "
                    "type=\"password\" autocomplete=\"current-password\" required></label>"
                    "<button type=\"submit\" id=\"login\">登录</button></form></main></body></html>\n");
}

static void h_login_page(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void)arg;
    s_login_form(req, resp, NULL);
}

static void h_login(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void)arg;
    wq_err_t err;
    int rc = wq_web_login(req, resp, wq_web_form(req, "name"), wq_web_form(req, "password"), &err);
    if (rc == WQ_OK) {
        const char *next = wq_web_form(req, "next");
        /* Only a path on this site: never "//host" nor a scheme. */
        bool local = next && next[0] == '/' && next[1] != '/' && next[1] != '\\' &&
                     !strpbrk(next, "\r\n");
        wq_web_redirect(resp, local ? next : "/");
        return;
    }
    wq_web_status(resp, rc == WQ_E_BUSY ? 429 : 401);
    s_login_form(req, resp, rc == WQ_E_BUSY ? "登录失败次数过多，请稍后再试。" : "账号或密码错误。");
}

static void h_logout(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void)arg;
    wq_web_logout(req, resp);
    wq_web_redirect(resp, "/login");
}

/*  ---- 全省概览 ------------------------------------------------------------ */

static const char *const s_headline[] = {
    "enterprises_registered", "enterprises_visited", "visits", "problems", "problems_rectified",
    "problems_verified", "overdue", "plans", "services", "consultations", "consultations_answered"};
#define S_NHEAD (sizeof s_headline / sizeof s_headline[0])

static const char *const s_area_cols[] = {
    "area_name", "area", "enterprises_registered", "enterprises_visited", "visits", "problems",
    "problems_rectified", "problems_verified", "overdue", "plans", "services", "consultations",
    "consultations_answered"};

static const char *const s_month_cols[] = {"month", "problems", "problems_rectified",
                                           "problems_verified", "visits", "services"};

/*  Months with activity for the area (level lv), from 2018-01 to asof's
    month, trimmed of empty months at both ends, at most 36. */
static wq_table_t *s_months(dash_app_t *app, const char *lv, const char *area, const char *asof,
                            const char *from, const char *to, wq_err_t *err, int *rc)
{
    static const char *const cols[] = {"month", "problems", "problems_rectified",
                                       "problems_verified", "visits", "services"};
    wq_table_t *t = wq_table_new(6, cols);
    if (!t) {
        *rc = wq_err_set(err, WQ_E_NOMEM, NULL, "no memory");
        return NULL;
    }
    int y0 = 2018, m0 = 1, y1 = atoi(asof), m1 = atoi(asof + 5);
    if (from && strlen(from) == 7) {
        y0 = atoi(from);
        m0 = atoi(from + 5);
    }
    if (to && strlen(to) == 7) {
        y1 = atoi(to);
        m1 = atoi(to + 5);
    }
    int64_t first = -1, last = -1;
    for (int y = y0, m = m0; (y < y1 || (y == y1 && m <= m1)) && y < 2100; m == 12 ? (y++, m = 1) : m++) {
        char month[16];
        snprintf(month, sizeof month, "%04d-%02d", y, m);
        /* asof far in the past: the monthly series needs no overdue count,
           and this keeps each month's read to its counters (the overdue
           column walks the deadline index up to asof). */
        (void)asof;
        const char *kv[] = {"level", lv, "area", area, "from", month, "to", month, "asof",
                            "2000-01-01", NULL};
        wq_table_t *s = NULL;
        if ((*rc = s_query(app, "summary", kv, &s, err)) != WQ_OK)
            break;
        size_t r;
        int64_t p = s_cint(s, 0, "problems"), v = s_cint(s, 0, "visits"), sv = s_cint(s, 0, "services");
        int64_t reg = s_cint(s, 0, "enterprises_registered");
        if (wq_table_add_row(t, &r) != WQ_OK || wq_table_set_str(t, r, 0, month) != WQ_OK ||
            wq_table_set_int(t, r, 1, p) != WQ_OK ||
            wq_table_set_int(t, r, 2, s_cint(s, 0, "problems_rectified")) != WQ_OK ||
            wq_table_set_int(t, r, 3, s_cint(s, 0, "problems_verified")) != WQ_OK ||
            wq_table_set_int(t, r, 4, v) != WQ_OK || wq_table_set_int(t, r, 5, sv) != WQ_OK)
            *rc = wq_err_set(err, WQ_E_NOMEM, NULL, "no memory");
        wq_table_destroy(&s);
        if (*rc != WQ_OK)
            break;
        if (p || v || sv || reg) {
            if (first < 0)
                first = (int64_t)r;
            last = (int64_t)r;
        }
    }
    if (*rc != WQ_OK) {
        wq_table_destroy(&t);
        return NULL;
    }
    /* Keep rows first..last (at most the last 36). */
    if (first >= 0 && last - first >= 36)
        first = last - 35;
    const char *keep[6] = {"month", "problems", "problems_rectified", "problems_verified", "visits",
                           "services"};
    wq_table_t *k = wq_table_new(6, keep);
    for (int64_t r = first; k && first >= 0 && r <= last; r++) {
        size_t nr;
        int src = wq_table_add_row(k, &nr);
        if (src == WQ_OK)
            src = wq_table_set_str(k, nr, 0, s_cstr(t, (size_t)r, "month"));
        for (size_t c = 1; c < 6 && src == WQ_OK; c++)
            src = wq_table_set_int(k, nr, c, s_cint(t, (size_t)r, keep[c]));
        if (src != WQ_OK) {
            wq_table_destroy(&k);
            break;
        }
    }
    wq_table_destroy(&t);
    if (!k)
        *rc = wq_err_set(err, WQ_E_NOMEM, NULL, "no memory");
    return k;
}

static const char *s_level_of(const char *area, const char **child)
{
    const wq_division_t *d = wq_division_find(area);
    *child = NULL;
    if (d && d->level == WQ_LEVEL_PROVINCE) {
        *child = "city";
        return "province";
    }
    if (d && d->level == WQ_LEVEL_CITY) {
        *child = "county";
        return "city";
    }
    return "county";
}

static void s_chart_series(wq_jsonw_t *w, const char *label, const wq_table_t *t, const char *col,
                           const char *col2)
{
    wq_jsonw_obj(w);
    wq_jsonw_key(w, "label");
    wq_jsonw_str(w, label);
    wq_jsonw_key(w, "data");
    wq_jsonw_arr(w);
    for (size_t r = 0; r < wq_table_nrows(t); r++)
        wq_jsonw_int(w, s_cint(t, r, col) + (col2 ? s_cint(t, r, col2) : 0));
    wq_jsonw_end(w);
    wq_jsonw_end(w);
}

static void s_chart_labels(wq_jsonw_t *w, const wq_table_t *t, const char *col)
{
    wq_jsonw_key(w, "labels");
    wq_jsonw_arr(w);
    for (size_t r = 0; r < wq_table_nrows(t); r++)
        wq_jsonw_str(w, s_cstr(t, r, col));
    wq_jsonw_end(w);
}

static void h_overview(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    dash_app_t *app = arg;
    char area[7], asof[11];
    if (!s_area(req, resp, area))
        return;
    const char *asof_q = wq_web_query(req, "asof");
    if (asof_q && wq_date_check(asof_q, NULL) == WQ_OK)
        snprintf(asof, sizeof asof, "%s", asof_q);
    else
        wq_date_today(asof);
    const char *from = wq_web_query(req, "from"), *to = wq_web_query(req, "to");
    const char *child = NULL;
    const char *lv = s_level_of(area, &child);
    wq_table_t *head = NULL, *rows = NULL, *months = NULL;
    wq_err_t err;
    const char *kv[] = {"level", lv, "area", area, "from", from, "to", to, "asof", asof, NULL};
    int rc = s_query(app, "summary", kv, &head, &err);
    if (rc == WQ_OK && child) {
        const char *kc[] = {"level", child, "area", area, "from", from, "to", to, "asof", asof, NULL};
        rc = s_query(app, "summary", kc, &rows, &err);
    }
    if (rc == WQ_OK)
        months = s_months(app, lv, area, asof, from, to, &err, &rc);
    if (rc != WQ_OK) {
        s_query_failed(resp, "summary", &err);
        goto done;
    }
    if (s_export(app, req, resp, "headline", head, s_headline, S_NHEAD, "概览", area) ||
        (rows && s_export(app, req, resp, "areas", rows, s_area_cols,
                          sizeof s_area_cols / sizeof s_area_cols[0], "分地区", area)) ||
        s_export(app, req, resp, "months", months, s_month_cols, 6, "分月", area))
        goto done;
    char title[128];
    snprintf(title, sizeof title, "%s概览", s_area_name(area));
    s_begin(req, resp, title, "overview", area);
    wq_wbuf_t *o = wq_web_out(resp);
    /* Breadcrumb: province > city > county, each within the account's scope. */
    wq_wbuf_puts(o, "<p class=\"crumbs\" id=\"crumbs\">");
    char up[7];
    const wq_account_t *who = s_who(req);
    for (wq_level_t l = WQ_LEVEL_PROVINCE; l <= WQ_LEVEL_COUNTY; l++) {
        wq_division_rollup(area, l, up);
        const wq_division_t *d = wq_division_find(up);
        if (!d || d->level > WQ_LEVEL_ZONE)
            continue;
        if (strcmp(up, area) == 0) {
            wq_wbuf_printf(o, "<strong>%s</strong>", d->name);
            break;
        }
        char dummy[7];
        if (dash_scope(who, up, dummy, NULL) == WQ_OK)
            wq_wbuf_printf(o, "<a href=\"/?area=%s\">%s</a> › ", up, d->name);
    }
    wq_wbuf_printf(o, "</p><h1>%s</h1>\n", title);
    wq_wbuf_puts(o, "<form class=\"filters\" method=\"get\" action=\"/\">");
    wq_wbuf_printf(o, "<input type=\"hidden\" name=\"area\" value=\"%s\">", area);
    wq_wbuf_puts(o, "<label>起始月份 <input name=\"from\" placeholder=\"YYYY-MM\" value=\"");
    wq_wbuf_html(o, from);
    wq_wbuf_puts(o, "\"></label><label>截止月份 <input name=\"to\" placeholder=\"YYYY-MM\" value=\"");
    wq_wbuf_html(o, to);
    wq_wbuf_printf(o, "\"></label><label>统计日期 <input name=\"asof\" value=\"%s\"></label>"
                      "<button type=\"submit\">查询</button></form>\n", asof);
    wq_wbuf_puts(o, "<section class=\"cards\" id=\"headline\">");
    for (size_t i = 0; i < S_NHEAD; i++)
        wq_wbuf_printf(o, "<div class=\"card\"><div class=\"v\" data-col=\"%s\">%" PRId64
                          "</div><div class=\"k\">%s</div></div>",
                       s_headline[i], s_cint(head, 0, s_headline[i]), dash_col_label(s_headline[i]));
    wq_wbuf_puts(o, "</section>\n");
    wq_wbuf_t q = {0};
    wq_wbuf_printf(&q, "area=%s", area);
    if (from && *from) {
        wq_wbuf_puts(&q, "&amp;from=");
        wq_wbuf_urlenc(&q, from);
    }
    if (to && *to) {
        wq_wbuf_puts(&q, "&amp;to=");
        wq_wbuf_urlenc(&q, to);
    }
    wq_wbuf_printf(&q, "&amp;asof=%s", asof);
    const char *qs = q.oom ? "" : q.data;
    s_export_links(req, o, "headline", qs);
    /* Chart data (drawn by dash.js). */
    wq_wbuf_t js = {0};
    wq_jsonw_t w;
    wq_jsonw_init(&w, &js);
    wq_jsonw_obj(&w);
    if (rows) {
        wq_jsonw_key(&w, "areas");
        wq_jsonw_obj(&w);
        s_chart_labels(&w, rows, "area_name");
        wq_jsonw_key(&w, "datasets");
        wq_jsonw_arr(&w);
        s_chart_series(&w, "发现问题", rows, "problems", NULL);
        s_chart_series(&w, "已整改（含核验）", rows, "problems_rectified", "problems_verified");
        s_chart_series(&w, "逾期未整改", rows, "overdue", NULL);
        wq_jsonw_end(&w);
        wq_jsonw_end(&w);
    }
    wq_jsonw_key(&w, "months");
    wq_jsonw_obj(&w);
    s_chart_labels(&w, months, "month");
    wq_jsonw_key(&w, "datasets");
    wq_jsonw_arr(&w);
    s_chart_series(&w, "发现问题", months, "problems", NULL);
    s_chart_series(&w, "已整改（含核验）", months, "problems_rectified", "problems_verified");
    s_chart_series(&w, "走访次数", months, "visits", NULL);
    s_chart_series(&w, "服务次数", months, "services", NULL);
    wq_jsonw_end(&w);
    wq_jsonw_end(&w);
    wq_jsonw_end(&w);
    wq_wbuf_puts(o, "<script type=\"application/json\" id=\"chart-data\">");
    wq_wbuf_puts(o, js.oom ? "{}" : js.data);
    wq_wbuf_puts(o, "</script>\n");
    wq_wbuf_free(&js);
    if (rows) {
        wq_wbuf_printf(o, "<h2>分%s情况</h2><div class=\"chart\"><canvas id=\"chart-areas\"></canvas></div>\n",
                       !strcmp(child, "city") ? "市" : "区县");
        s_table(o, "areas", rows, s_area_cols, sizeof s_area_cols / sizeof s_area_cols[0],
                "area_name", S_LINK_AREA, NULL, NULL);
        s_export_links(req, o, "areas", qs);
    } else {
        wq_wbuf_printf(o, "<p><a id=\"county-problems\" href=\"/problems?area=%s\">查看本区县问题台账</a> · "
                          "<a href=\"/enterprises?area=%s\">本区县企业</a></p>\n", area, area);
    }
    wq_wbuf_puts(o, "<h2>分月情况</h2><div class=\"chart\"><canvas id=\"chart-months\"></canvas></div>\n");
    s_table(o, "months", months, s_month_cols, 6, NULL, S_LINK_NONE, NULL, NULL);
    s_export_links(req, o, "months", qs);
    wq_wbuf_free(&q);
    s_end(resp);
done:
    wq_table_destroy(&head);
    wq_table_destroy(&rows);
    wq_table_destroy(&months);
}

/*  ---- 问题台账 ------------------------------------------------------------ */

static const char *const s_problem_cols[] = {"problem", "enterprise_name", "ent", "county_name",
                                             "category", "severity", "opened", "deadline",
                                             "days_overdue", "status", "overdue"};

static void s_select(wq_wbuf_t *o, const char *name, const char *label, const char *current,
                     const char *const *values)
{
    wq_wbuf_printf(o, "<label>%s <select name=\"%s\" id=\"f-%s\"><option value=\"\">全部</option>",
                   label, name, name);
    for (size_t i = 0; values[i]; i++)
        wq_wbuf_printf(o, "<option value=\"%s\"%s>%s</option>", values[i],
                       current && !strcmp(current, values[i]) ? " selected" : "",
                       dash_value_label(name, values[i]));
    wq_wbuf_puts(o, "</select></label>");
}

static void h_problems(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    dash_app_t *app = arg;
    char area[7];
    if (!s_area(req, resp, area))
        return;
    const char *status = wq_web_query(req, "status"), *category = wq_web_query(req, "category");
    const char *severity = wq_web_query(req, "severity"), *overdue = wq_web_query(req, "overdue");
    const char *asof = wq_web_query(req, "asof");
    s_res_t res;
    wq_err_t err;
    const char *kv[] = {"area", area, "status", status, "category", category, "severity", severity,
                        "overdue", overdue, "asof", asof, NULL};
    if (s_query_res(app, "problems", kv, &res, &err) != WQ_OK) {
        s_query_failed(resp, "problems", &err);
        return;
    }
    const wq_table_t *t = res.t;
    if (s_export(app, req, resp, "problems", t, s_problem_cols,
                 sizeof s_problem_cols / sizeof s_problem_cols[0], "问题台账", area))
        goto done;
    char title[128];
    snprintf(title, sizeof title, "%s问题台账", s_area_name(area));
    s_begin(req, resp, title, "problems", area);
    wq_wbuf_t *o = wq_web_out(resp);
    wq_wbuf_printf(o, "<h1>%s</h1><form class=\"filters\" method=\"get\" action=\"/problems\">"
                      "<input type=\"hidden\" name=\"area\" value=\"%s\">", title, area);
    /* A reopened problem is open again (docs/STORE.md §3): no filter of its own. */
    static const char *const st[] = {"open", "in_progress", "rectified", "verified", NULL};
    static const char *const cat[] = {"air", "water", "solid_waste", "noise", "soil", "permits",
                                      "monitoring", "over_standard", "other", NULL};
    static const char *const sev[] = {"minor", "general", "serious", NULL};
    static const char *const yn[] = {"yes", "no", NULL};
    s_select(o, "status", "状态", status, st);
    s_select(o, "category", "类别", category, cat);
    s_select(o, "severity", "严重程度", severity, sev);
    s_select(o, "overdue", "逾期", overdue, yn);
    wq_wbuf_puts(o, "<label>统计日期 <input name=\"asof\" placeholder=\"YYYY-MM-DD\" value=\"");
    wq_wbuf_html(o, asof);
    wq_wbuf_puts(o, "\"></label><button type=\"submit\" id=\"filter\">筛选</button></form>\n"
                    "<p class=\"note\">状态为统计日期当日的状态；逾期指统计日期当日已过当时有效的整改期限且尚未整改完成。</p>\n");
    wq_wbuf_t q = {0};
    wq_wbuf_printf(&q, "area=%s", area);
    const char *keys[] = {"status", "category", "severity", "overdue", "asof"};
    const char *vals[] = {status, category, severity, overdue, asof};
    for (size_t i = 0; i < 5; i++)
        if (vals[i] && *vals[i]) {
            wq_wbuf_printf(&q, "&amp;%s=", keys[i]);
            wq_wbuf_urlenc(&q, vals[i]);
        }
    s_page_t pg = s_page_of(req, wq_table_nrows(t), s_per_page(app));
    s_pager(o, "problems", "/problems", q.oom ? "" : q.data, &pg);
    s_table(o, "problems", t, s_problem_cols, sizeof s_problem_cols / sizeof s_problem_cols[0],
            "enterprise_name", S_LINK_ENT, "overdue", &pg);
    s_pager(o, "problems-bottom", "/problems", q.oom ? "" : q.data, &pg);
    s_export_links(req, o, "problems", q.oom ? "" : q.data);
    wq_wbuf_free(&q);
    s_end(resp);
done:
    s_res_free(app, &res);
}

/*  ---- 企业 ---------------------------------------------------------------- */

static const char *const s_ent_cols[] = {"name", "ent", "county_name", "registered", "class"};
static const char *const s_case_cols[] = {"date", "type", "summary", "status", "effect", "id"};

static void h_enterprises(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    dash_app_t *app = arg;
    char area[7];
    if (!s_area(req, resp, area))
        return;
    const char *q = wq_web_query(req, "q");
    s_res_t res;
    wq_err_t err;
    const char *kv[] = {"area", area, "q", q, NULL};
    if (s_query_res(app, "enterprises", kv, &res, &err) != WQ_OK) {
        s_query_failed(resp, "enterprises", &err);
        return;
    }
    const wq_table_t *t = res.t;
    if (s_export(app, req, resp, "enterprises", t, s_ent_cols, 5, "企业", area))
        goto done;
    char title[128];
    snprintf(title, sizeof title, "%s企业", s_area_name(area));
    s_begin(req, resp, title, "enterprises", area);
    wq_wbuf_t *o = wq_web_out(resp);
    wq_wbuf_printf(o, "<h1>%s</h1><form class=\"filters\" method=\"get\" action=\"/enterprises\">"
                      "<input type=\"hidden\" name=\"area\" value=\"%s\"><label>企业名称或统一社会信用代码 "
                      "<input name=\"q\" id=\"q\" value=\"", title, area);
    wq_wbuf_html(o, q);
    wq_wbuf_puts(o, "\"></label><button type=\"submit\" id=\"search\">搜索</button></form>\n");
    wq_wbuf_t qs = {0};
    wq_wbuf_printf(&qs, "area=%s", area);
    if (q && *q) {
        wq_wbuf_puts(&qs, "&amp;q=");
        wq_wbuf_urlenc(&qs, q);
    }
    s_page_t pg = s_page_of(req, wq_table_nrows(t), s_per_page(app));
    s_pager(o, "enterprises", "/enterprises", qs.oom ? "" : qs.data, &pg);
    s_table(o, "enterprises", t, s_ent_cols, 5, "name", S_LINK_ENT, NULL, &pg);
    s_pager(o, "enterprises-bottom", "/enterprises", qs.oom ? "" : qs.data, &pg);
    s_export_links(req, o, "enterprises", qs.oom ? "" : qs.data);
    wq_wbuf_free(&qs);
    s_end(resp);
done:
    s_res_free(app, &res);
}

static void h_enterprise(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    dash_app_t *app = arg;
    const wq_account_t *who = s_who(req);
    const char *code = wq_web_param(req, "code");
    wq_table_t *ent = NULL, *t = NULL;
    wq_err_t err;
    if (!who) {
        wq_web_error(resp, 401, "请先登录。");
        return;
    }
    if (!code || wq_creditcode_check(code, NULL) != WQ_OK) {
        wq_web_error(resp, 400, "统一社会信用代码无效。");
        return;
    }
    /* The enterprise must be in the account's area: look it up there. */
    const char *kv[] = {"area", who->area, "q", code, "limit", "1", NULL};
    if (s_query(app, "enterprises", kv, &ent, &err) != WQ_OK) {
        s_query_failed(resp, "enterprises", &err);
        return;
    }
    const char *county = wq_table_nrows(ent) ? s_cstr(ent, 0, "county") : NULL;
    if (!county || strcmp(s_cstr(ent, 0, "ent"), code) != 0 || !dash_in_scope(who, county)) {
        wq_warn(_("web: %s asked for enterprise %s outside %s (or unknown): refused"), who->name, code,
                who->area);
        wq_web_error(resp, 404, "本辖区内没有这家企业。");
        goto done;
    }
    const char *kc[] = {"code", code, NULL};
    if (s_query(app, "enterprise", kc, &t, &err) != WQ_OK) {
        s_query_failed(resp, "enterprise", &err);
        goto done;
    }
    /* The summaries in Chinese, on the page and in the exports. */
    int sc = wq_table_find_col(t, "summary");
    for (size_t r = 0; sc >= 0 && r < wq_table_nrows(t); r++) {
        char line[2048];
        if (!s_cstr(t, r, "summary"))
            continue;
        dash_summary_label(s_cstr(t, r, "type"), s_cstr(t, r, "summary"), line, sizeof line);
        if (wq_table_set_str(t, r, (size_t)sc, line) != WQ_OK) {
            wq_web_error(resp, 500, "服务器内部错误：内存不足。");
            goto done;
        }
    }
    const char *name = s_cstr(ent, 0, "name");
    char title[300];
    snprintf(title, sizeof title, "%s 一企一册", name ? name : code);
    if (s_export(app, req, resp, "case", t, s_case_cols, 6, "一企一册", code))
        goto done;
    s_begin(req, resp, title, "enterprises", county);
    wq_wbuf_t *o = wq_web_out(resp);
    wq_wbuf_puts(o, "<h1 id=\"case-title\">");
    wq_wbuf_html(o, title);
    wq_wbuf_puts(o, "</h1><dl class=\"profile\"><dt>统一社会信用代码</dt><dd id=\"case-code\">");
    wq_wbuf_html(o, code);
    wq_wbuf_printf(o, "</dd><dt>所属区县</dt><dd>%s</dd><dt>分类</dt><dd>", s_area_name(county));
    const char *klass = s_cstr(ent, 0, "class");
    wq_wbuf_html(o, klass ? dash_value_label("class", klass) : "未分类");
    wq_wbuf_puts(o, "</dd></dl><p class=\"noprint\"><button type=\"button\" id=\"print\" "
                    "class=\"print\">打印</button></p>\n");
    s_table(o, "case", t, s_case_cols, 6, NULL, S_LINK_NONE, NULL, NULL);
    s_export_links(req, o, "case", "");
    s_end(resp);
done:
    wq_table_destroy(&ent);
    wq_table_destroy(&t);
}

/*  ---- 同步状态 ------------------------------------------------------------ */

/*  "YYYY-MM-DD HH:MM:SS" China time -> Unix seconds; 0 if not. */
static int64_t s_china_epoch(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || !strptime(s, "%Y-%m-%d %H:%M:%S", &tm))
        return 0;
    return (int64_t)timegm(&tm) - 8 * 3600;
}

static const char *const s_sync_cols[] = {"county", "county_name", "agent", "sync_state",
                                          "last_contact", "silent_days", "backlog", "stored",
                                          "quarantined"};

/*  Add one sync row; agent / contact may be NULL. */
static int s_sync_row(wq_table_t *t, const char *county, const char *agent, const char *state,
                      const char *contact, int64_t silent, int64_t backlog, int64_t stored,
                      int64_t quarantined, bool red)
{
    size_t r;
    int rc = wq_table_add_row(t, &r);
    if (rc == WQ_OK)
        rc = wq_table_set_str(t, r, 0, county);
    if (rc == WQ_OK)
        rc = wq_table_set_str(t, r, 1, s_area_name(county));
    if (rc == WQ_OK)
        rc = wq_table_set_str(t, r, 2, agent);
    if (rc == WQ_OK)
        rc = wq_table_set_str(t, r, 3, state);
    if (rc == WQ_OK)
        rc = wq_table_set_str(t, r, 4, contact);
    if (rc == WQ_OK && silent >= 0)
        rc = wq_table_set_int(t, r, 5, silent);
    if (rc == WQ_OK && agent && contact)
        rc = wq_table_set_int(t, r, 6, backlog);
    if (rc == WQ_OK && agent && contact)
        rc = wq_table_set_int(t, r, 7, stored);
    if (rc == WQ_OK && agent && contact)
        rc = wq_table_set_int(t, r, 8, quarantined);
    if (rc == WQ_OK)
        rc = wq_table_set_str(t, r, 9, red ? "yes" : "no");
    return rc;
}

static void h_sync(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    dash_app_t *app = arg;
    char area[7], prefix[7];
    if (!s_area(req, resp, area))
        return;
    dash_prefix(area, prefix);
    size_t plen = strlen(prefix);
    unsigned days = app->silent_days;
    const char *dq = wq_web_query(req, "days");
    if (dq && atoi(dq) > 0 && atoi(dq) < 3650)
        days = (unsigned)atoi(dq);
    wq_table_t *t = NULL;
    s_res_t res;
    wq_peers_t *peers = NULL;
    wq_err_t err;
    const char *kv[] = {"area", area, NULL};
    if (s_query_res(app, "agents", kv, &res, &err) != WQ_OK) {
        s_query_failed(resp, "agents", &err);
        return;
    }
    const wq_table_t *agents = res.t;
    int prc = wq_peers_load(app->peers_path, &peers, &err);
    if (prc != WQ_OK)
        wq_warn(_("web: cannot read the peers file %s: %s (never-connected agents not shown)"),
                app->peers_path, err.text);
    static const char *const cols[] = {"county", "county_name", "agent", "sync_state",
                                       "last_contact", "silent_days", "backlog", "stored",
                                       "quarantined", "red"};
    t = wq_table_new(10, cols);
    if (!t) {
        wq_web_error(resp, 500, "内存不足。");
        goto done;
    }
    int64_t now = (int64_t)time(NULL);
    int rc = WQ_OK;
    /* Every current county-level unit under the area, plus any county that has
       an agent (zones, retired codes), in code order. */
    for (size_t i = 0; rc == WQ_OK; i++) {
        const wq_division_t *d = wq_division_at(i);
        if (!d)
            break;
        if (strncmp(d->code, prefix, plen) != 0 ||
            !(d->level == WQ_LEVEL_COUNTY || d->level == WQ_LEVEL_ZONE))
            continue;
        bool any = false;
        /* streams of this county, one row per agent (its newest incarnation) */
        for (size_t r = 0; r < wq_table_nrows(agents) && rc == WQ_OK; r++) {
            const char *c = s_cstr(agents, r, "county");
            const char *ag = s_cstr(agents, r, "agent");
            if (!c || strcmp(c, d->code) != 0)
                continue;
            if (r + 1 < wq_table_nrows(agents) && s_cstr(agents, r + 1, "agent") &&
                !strcmp(s_cstr(agents, r + 1, "agent"), ag))
                continue;   /* an older incarnation: the next row is newer */
            any = true;
            const char *contact = s_cstr(agents, r, "last_contact");
            int64_t at = s_china_epoch(contact);
            int64_t silent = at ? (now - at) / 86400 : -1;
            bool red = !at || silent >= (int64_t)days;
            char state[64];
            if (!at)
                snprintf(state, sizeof state, "从未联系");
            else if (red)
                snprintf(state, sizeof state, "已沉默 %" PRId64 " 天", silent);
            else
                snprintf(state, sizeof state, "正常");
            /* What the agent last reported as queued, less what was acknowledged
               since (records up to the mark cannot still be waiting). */
            int64_t backlog = s_cint(agents, r, "backlog");
            int64_t unacked = s_cint(agents, r, "last_seq") - s_cint(agents, r, "hwm");
            if (unacked < backlog)
                backlog = unacked < 0 ? 0 : unacked;
            rc = s_sync_row(t, d->code, ag, state, contact, silent, backlog,
                            s_cint(agents, r, "stored"), s_cint(agents, r, "quarantined"), red);
        }
        /* authorised agents that never sent anything */
        for (size_t p = 0; peers && p < wq_peers_count(peers) && rc == WQ_OK; p++) {
            const wq_peer_t *peer = wq_peers_at(peers, p);
            if (peer->kind != WQ_PEER_AGENT || strcmp(peer->county, d->code) != 0)
                continue;
            bool seen = false;
            for (size_t r = 0; r < wq_table_nrows(agents) && !seen; r++)
                seen = s_cstr(agents, r, "agent") && !strcmp(s_cstr(agents, r, "agent"), peer->id);
            if (seen)
                continue;
            any = true;
            rc = s_sync_row(t, d->code, peer->id, "已授权，从未连接", NULL, -1, 0, 0, 0, true);
        }
        if (!any && d->level == WQ_LEVEL_COUNTY && d->current && rc == WQ_OK)
            rc = s_sync_row(t, d->code, NULL, "无采集端", NULL, -1, 0, 0, 0, true);
    }
    if (rc != WQ_OK) {
        wq_web_error(resp, 500, "内存不足。");
        goto done;
    }
    if (s_export(app, req, resp, "sync", t, s_sync_cols, 9, "同步状态", area))
        goto done;
    char title[128];
    snprintf(title, sizeof title, "%s同步状态", s_area_name(area));
    s_begin(req, resp, title, "sync", area);
    wq_wbuf_t *o = wq_web_out(resp);
    wq_wbuf_printf(o, "<h1>%s</h1><form class=\"filters\" method=\"get\" action=\"/sync\">"
                      "<input type=\"hidden\" name=\"area\" value=\"%s\"><label>超过 <input name=\"days\" "
                      "size=\"3\" value=\"%u\"> 天未联系标红</label><button type=\"submit\">刷新</button>"
                      "</form>\n", title, area, days);
    s_table(o, "sync", t, s_sync_cols, 9, NULL, S_LINK_NONE, "red", NULL);
    char qs[64];
    snprintf(qs, sizeof qs, "area=%s&amp;days=%u", area, days);
    s_export_links(req, o, "sync", qs);
    s_end(resp);
done:
    wq_peers_destroy(&peers);
    s_res_free(app, &res);
    wq_table_destroy(&t);
}

/*  ---- 隔离与待补 ---------------------------------------------------------- */

static const char *const s_quar_cols[] = {"agent", "seq", "county", "code", "reason", "received",
                                          "record"};
static const char *const s_pend_cols[] = {"waiting", "waiting_for", "agent", "county_name"};

static void h_quarantine(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    dash_app_t *app = arg;
    char area[7];
    if (!s_area(req, resp, area))
        return;
    wq_table_t *qt = NULL, *pt = NULL;
    wq_err_t err;
    const char *kv[] = {"area", area, NULL};
    if (s_query(app, "quarantine", kv, &qt, &err) != WQ_OK ||
        s_query(app, "pending", kv, &pt, &err) != WQ_OK) {
        s_query_failed(resp, "quarantine", &err);
        goto done;
    }
    if (s_export(app, req, resp, "quarantine", qt, s_quar_cols, 7, "隔离记录", area) ||
        s_export(app, req, resp, "pending", pt, s_pend_cols, 4, "待补记录", area))
        goto done;
    char title[128];
    snprintf(title, sizeof title, "%s隔离与待补", s_area_name(area));
    s_begin(req, resp, title, "quarantine", area);
    wq_wbuf_t *o = wq_web_out(resp);
    wq_wbuf_printf(o, "<h1>%s</h1><h2>隔离的记录</h2><p class=\"note\">中心库拒收的记录及原因，"
                      "需由所在区县更正后重新录入。</p>\n", title);
    /* On the page a record is shown by its first characters (the collector's
       reason stays as written, in the log's language); the exports have it whole. */
    int rcol = wq_table_find_col(qt, "record");
    for (size_t r = 0; rcol >= 0 && r < wq_table_nrows(qt); r++) {
        const char *rec = s_cstr(qt, r, "record");
        if (!rec || strlen(rec) <= 120)
            continue;
        size_t cut = 117;
        while (cut > 0 && ((unsigned char)rec[cut] & 0xC0) == 0x80)
            cut--;   /* not inside a UTF-8 character */
        char shortened[128];
        snprintf(shortened, sizeof shortened, "%.*s…", (int)cut, rec);
        if (wq_table_set_str(qt, r, (size_t)rcol, shortened) != WQ_OK)
            break;   /* out of memory: the row keeps the whole record */
    }
    s_table(o, "quarantine", qt, s_quar_cols, 7, NULL, S_LINK_NONE, NULL, NULL);
    char qs[32];
    snprintf(qs, sizeof qs, "area=%s", area);
    s_export_links(req, o, "quarantine", qs);
    wq_wbuf_puts(o, "<h2>待补的记录</h2><p class=\"note\">更正或后续记录已到，但所引用的原记录尚未到达中心库。</p>\n");
    s_table(o, "pending", pt, s_pend_cols, 4, NULL, S_LINK_NONE, NULL, NULL);
    s_export_links(req, o, "pending", qs);
    s_end(resp);
done:
    wq_table_destroy(&qt);
    wq_table_destroy(&pt);
}

/*  ---- /metrics ----------------------------------------------------------- */

static void h_metrics(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    dash_app_t *app = arg;
    const char *client = wq_web_client(req);
    const wq_account_t *who = s_who(req);
    bool local = !strncmp(client, "127.", 4) || !strcmp(client, "::1");
    if (!local && !(who && !strcmp(who->role, "province"))) {
        wq_web_error(resp, 403, "metrics are served to loopback clients (or a province account)");
        return;
    }
    wq_err_t err;
    wq_web_type(resp, "text/plain; version=0.0.4; charset=utf-8");
    if (dash_metrics_write(app->metrics, app->central, wq_web_out(resp), &err) != WQ_OK) {
        wq_error(_("web: /metrics: %s"), err.text);
        wq_web_error(resp, 500, "metrics unavailable: see the log");
        return;
    }
    /* How much the shared results and the short snapshots do (docs/DASHBOARD.md). */
    uint64_t computed = 0, waited = 0;
    if (app->cache)
        dash_qcache_counts(app->cache, &computed, &waited);
    wq_wbuf_printf(wq_web_out(resp),
                   "# HELP wanqi_web_results_computed_total Query results computed and shared.\n"
                   "# TYPE wanqi_web_results_computed_total counter\n"
                   "wanqi_web_results_computed_total %" PRIu64 "\n"
                   "# HELP wanqi_web_result_waits_total Requests that waited for a result another "
                   "request was computing.\n"
                   "# TYPE wanqi_web_result_waits_total counter\n"
                   "wanqi_web_result_waits_total %" PRIu64 "\n"
                   "# HELP wanqi_web_snapshots_renewed_total Fresh snapshots taken within long "
                   "list walks.\n"
                   "# TYPE wanqi_web_snapshots_renewed_total counter\n"
                   "wanqi_web_snapshots_renewed_total %" PRIu64 "\n",
                   computed, waited, wq_ledger_renewals());
    /* The CPU ceiling (--cpu-percent): time waited for it that keeps growing
       means the pages want more than they are given: raise it, or accept
       slower pages to keep ingest's rate (docs/DASHBOARD.md). */
    unsigned percent;
    double cpu_waited;
    wq_web_cpu_ceiling(req, &percent, &cpu_waited);
    wq_wbuf_printf(wq_web_out(resp),
                   "# HELP wanqi_web_cpu_ceiling_cores The pages' CPU ceiling in cores "
                   "(--cpu-percent / 100; 0: none).\n"
                   "# TYPE wanqi_web_cpu_ceiling_cores gauge\n"
                   "wanqi_web_cpu_ceiling_cores %.2f\n"
                   "# HELP wanqi_web_cpu_wait_seconds_total Seconds requests waited for the CPU "
                   "ceiling.\n"
                   "# TYPE wanqi_web_cpu_wait_seconds_total counter\n"
                   "wanqi_web_cpu_wait_seconds_total %.3f\n",
                   percent / 100.0, cpu_waited);
}

int dash_routes(wq_web_t *web, dash_app_t *app, wq_err_t *err)
{
    int rc = wq_web_route(web, "GET", "/login", h_login_page, app, WQ_WEB_PUBLIC, err);
    if (rc == WQ_OK)
        rc = wq_web_route(web, "POST", "/login", h_login, app, WQ_WEB_PUBLIC | WQ_WEB_NO_CSRF, err);
    if (rc == WQ_OK)
        rc = wq_web_route(web, "POST", "/logout", h_logout, app, 0, err);
    if (rc == WQ_OK)
        rc = wq_web_route(web, "GET", "/", h_overview, app, 0, err);
    if (rc == WQ_OK)
        rc = wq_web_route(web, "GET", "/problems", h_problems, app, 0, err);
    if (rc == WQ_OK)
        rc = wq_web_route(web, "GET", "/enterprises", h_enterprises, app, 0, err);
    if (rc == WQ_OK)
        rc = wq_web_route(web, "GET", "/enterprise/{code}", h_enterprise, app, 0, err);
    if (rc == WQ_OK)
        rc = wq_web_route(web, "GET", "/sync", h_sync, app, 0, err);
    if (rc == WQ_OK)
        rc = wq_web_route(web, "GET", "/quarantine", h_quarantine, app, 0, err);
    if (rc == WQ_OK)
        rc = wq_web_route(web, "GET", "/metrics", h_metrics, app, WQ_WEB_PUBLIC, err);
    return rc;
}
