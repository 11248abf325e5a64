/*  =========================================================================
    serve - the county workbench's HTTP server (see serve.h, docs/WEB.md)

    One libmicrohttpd daemon with one internal polling thread: requests are
    answered one at a time, which a county office's few cadres never
    notice, and it keeps every LMDB call on one thread. A request body is
    collected by MHD's post processor into (key, value) pairs, capped at
    S_BODY_MAX bytes; then the route runs and answers at once.

    CSRF: every POST must carry the header X-CSRF-Token with the token that
    GET /api/session gives. A page of another site cannot read it (no CORS
    headers are ever sent), so it cannot make the cadre's browser post a
    record.
    =========================================================================
*/
#include "agent/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/config.h"
#include "agent/outbox.h"
#include "agent/workbench.h"
#include "common/creditcode.h"
#include "common/date.h"
#include "common/json.h"
#include "common/log.h"

#define S_BODY_MAX (8u * 1024 * 1024)  /* bytes of one request body */
#define S_PAIRS_MAX 256

/*  The embedded pages (generated from agent/www by embed_www.cmake). */
typedef struct {
    const char *path;
    const char *mime;
    const unsigned char *data;
    size_t len;
} wq_www_file_t;
extern const wq_www_file_t wq_www_files[];
extern const size_t wq_www_count;

typedef struct {
    wq_agent_config_t cfg;
    wq_outbox_t *box;
    char csrf[65];
    char today_override[11];    /* WANQI_TODAY, for tests of deadlines; "" normally */
} s_server_t;

typedef struct {
    struct MHD_PostProcessor *pp;
    char *keys[S_PAIRS_MAX];
    char *vals[S_PAIRS_MAX];
    size_t lens[S_PAIRS_MAX];
    size_t n;
    size_t total;
    bool too_big;
    bool oom;
} s_req_t;

static void
s_today(const s_server_t *srv, char out[11])
{
    if (srv->today_override[0])
        memcpy(out, srv->today_override, 11);
    else
        wq_date_today(out);
}

/*  ---- responses ------------------------------------------------------------ */

static enum MHD_Result
s_send(struct MHD_Connection *c, unsigned status, const char *mime, void *data, size_t len,
       enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", mime);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
s_send_json(struct MHD_Connection *c, unsigned status, char *buf, size_t len)
{
    return s_send(c, status, "application/json; charset=utf-8", buf, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result
s_send_error(struct MHD_Connection *c, unsigned status, const char *text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return MHD_NO;
    fputs("{\"ok\":false,\"error\":", f);
    wq_json_write_string(f, text);
    fputc('}', f);
    if (fclose(f) != 0) {
        free(buf);
        return MHD_NO;
    }
    return s_send_json(c, status, buf, len);
}

/*  ---- POST bodies ------------------------------------------------------------ */

static enum MHD_Result
s_post_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
            const char *content_type, const char *transfer_encoding, const char *data,
            uint64_t off, size_t size)
{
    s_req_t *rq = cls;
    (void) kind;
    (void) filename;
    (void) content_type;
    (void) transfer_encoding;
    rq->total += size;
    if (rq->total > S_BODY_MAX) {
        rq->too_big = true;
        return MHD_NO;
    }
    size_t i = rq->n;
    if (off > 0 && rq->n > 0 && strcmp(rq->keys[rq->n - 1], key) == 0)
        i = rq->n - 1;     /* the next chunk of the same value */
    else {
        if (rq->n >= S_PAIRS_MAX) {
            rq->too_big = true;
            return MHD_NO;
        }
        rq->keys[i] = strdup(key);
        rq->vals[i] = calloc(1, 1);
        rq->lens[i] = 0;
        rq->n++;
        if (!rq->keys[i] || !rq->vals[i]) {
            rq->oom = true;
            return MHD_NO;
        }
    }
    char *p = realloc(rq->vals[i], rq->lens[i] + size + 1);
    if (!p) {
        rq->oom = true;
        return MHD_NO;
    }
    memcpy(p + rq->lens[i], data, size);
    rq->lens[i] += size;
    p[rq->lens[i]] = '\0';
    rq->vals[i] = p;
    return MHD_YES;
}

static void
s_req_free(s_req_t *rq)
{
    if (!rq)
        return;
    if (rq->pp)
        MHD_destroy_post_processor(rq->pp);
    for (size_t i = 0; i < rq->n; i++) {
        free(rq->keys[i]);
        free(rq->vals[i]);
    }
    free(rq);
}

static const char *
s_form_get(const s_req_t *rq, const char *key)
{
    for (size_t i = 0; i < rq->n; i++)
        if (strcmp(rq->keys[i], key) == 0)
            return rq->vals[i];
    return NULL;
}

static void
s_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void) cls;
    (void) c;
    (void) t;
    s_req_free(*con_cls);
    *con_cls = NULL;
}

/*  ---- routes ------------------------------------------------------------------ */

/*  Open a memstream, load a snapshot if wanted, and hand both to fn. */
typedef int (s_page_fn)(s_server_t *srv, const wq_wb_t *wb, struct MHD_Connection *c, FILE *f);

static enum MHD_Result
s_page(s_server_t *srv, struct MHD_Connection *c, bool snapshot, s_page_fn *fn)
{
    wq_wb_t *wb = NULL;
    wq_err_t e;
    char *buf = NULL;
    size_t len = 0;
    if (snapshot && wq_wb_load(srv->box, &wb, &e) != WQ_OK) {
        char msg[512];
        wq_log(WQ_LOG_ERROR, "serve: reading the outbox: %s", wq_err_format(&e, msg, sizeof msg));
        return s_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "读取本机记录失败，请查看日志");
    }
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        wq_wb_destroy(&wb);
        return MHD_NO;
    }
    int status = fn(srv, wb, c, f);
    wq_wb_destroy(&wb);
    if (fclose(f) != 0) {
        free(buf);
        return MHD_NO;
    }
    return s_send_json(c, (unsigned) status, buf, len);
}

static int
s_api_session(s_server_t *srv, const wq_wb_t *wb, struct MHD_Connection *c, FILE *f)
{
    (void) wb;
    (void) c;
    char today[11];
    s_today(srv, today);
    fprintf(f, "{\"csrf\":\"%s\",\"agent\":", srv->csrf);
    wq_json_write_string(f, srv->cfg.agent_id);
    fprintf(f, ",\"county\":\"%s\",\"today\":\"%s\"}", srv->cfg.county, today);
    return MHD_HTTP_OK;
}

static int
s_api_fields(s_server_t *srv, const wq_wb_t *wb, struct MHD_Connection *c, FILE *f)
{
    (void) srv;
    (void) wb;
    (void) c;
    wq_wb_write_fields(f);
    return MHD_HTTP_OK;
}

static int
s_api_sync(s_server_t *srv, const wq_wb_t *wb, struct MHD_Connection *c, FILE *f)
{
    (void) wb;
    (void) c;
    wq_outbox_state_t st;
    wq_err_t e;
    if (wq_outbox_state(srv->box, &st, &e) != WQ_OK) {
        fputs("{\"ok\":false,\"text\":\"读取发送状态失败\"}", f);
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    wq_wb_write_sync(&st, wq_now_ms(), f);
    return MHD_HTTP_OK;
}

static int
s_api_ledger(s_server_t *srv, const wq_wb_t *wb, struct MHD_Connection *c, FILE *f)
{
    (void) c;
    char today[11];
    s_today(srv, today);
    fprintf(f, "{\"today\":\"%s\",\"problems\":", today);
    wq_wb_write_ledger(wb, today, f);
    fputc('}', f);
    return MHD_HTTP_OK;
}

static int
s_api_casebook(s_server_t *srv, const wq_wb_t *wb, struct MHD_Connection *c, FILE *f)
{
    const char *ent = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ent");
    char today[11];
    s_today(srv, today);
    if (!ent || wq_wb_write_casebook(wb, ent, today, f) != WQ_OK) {
        fputs("{\"ok\":false,\"error\":\"本机没有这家企业的记录\"}", f);
        return MHD_HTTP_NOT_FOUND;
    }
    return MHD_HTTP_OK;
}

static int
s_api_consultations(s_server_t *srv, const wq_wb_t *wb, struct MHD_Connection *c, FILE *f)
{
    (void) srv;
    (void) c;
    wq_wb_write_open_consultations(wb, f);
    return MHD_HTTP_OK;
}

static int
s_api_enterprises(s_server_t *srv, const wq_wb_t *wb, struct MHD_Connection *c, FILE *f)
{
    (void) srv;
    wq_wb_write_enterprises(wb, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q"), 200, f);
    return MHD_HTTP_OK;
}

static int
s_api_records(s_server_t *srv, const wq_wb_t *wb, struct MHD_Connection *c, FILE *f)
{
    (void) srv;
    const char *ent = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ent");
    const char *type = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type");
    wq_wb_write_records(wb, ent && ent[0] ? ent : NULL,
                        type && type[0] ? wq_rec_type_parse(type) : WQ_REC_NONE, f);
    return MHD_HTTP_OK;
}

static int
s_api_creditcode(s_server_t *srv, const wq_wb_t *wb, struct MHD_Connection *c, FILE *f)
{
    (void) srv;
    (void) wb;
    const char *code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "code");
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
    return MHD_HTTP_OK;
}

/*  POST /api/record: build, check for a same record, store. */
static enum MHD_Result
s_api_record(s_server_t *srv, struct MHD_Connection *c, const s_req_t *rq)
{
    wq_wb_fielderr_t errs[WQ_WB_MAX_ERRORS];
    size_t nerrs = 0;
    wq_record_t *rec = NULL;
    wq_wb_t *wb = NULL;
    wq_err_t e;
    char today[11], id[WQ_EVENT_ID_MAX] = "", msg[512];
    char *buf = NULL;
    size_t len = 0;
    unsigned status = MHD_HTTP_OK;
    s_today(srv, today);
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return MHD_NO;
    int rc = wq_wb_build(s_form_get(rq, "type"), (const char *const *) rq->keys,
                         (const char *const *) rq->vals, rq->n, srv->cfg.county, today, &rec, errs,
                         &nerrs);
    if (rc == WQ_E_UNKNOWN || rc == WQ_E_NOMEM) {
        fprintf(f, "{\"ok\":false,\"error\":\"%s\"}", rc == WQ_E_NOMEM ? "内存不足" : "未知的记录类型");
        status = rc == WQ_E_NOMEM ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_BAD_REQUEST;
        goto done;
    }
    if (rc != WQ_OK) {
        fputs("{\"ok\":false,\"errors\":[", f);
        for (size_t i = 0; i < nerrs; i++) {
            fputs(i ? ",{" : "{", f);
            fputs("\"field\":", f);
            wq_json_write_string(f, errs[i].field);
            fprintf(f, ",\"code\":\"%s\",\"zh\":", wq_errname(errs[i].code));
            wq_json_write_string(f, wq_wb_err_zh(errs[i].code));
            fputs(",\"text\":", f);
            wq_json_write_string(f, errs[i].text);
            fputc('}', f);
        }
        fputs("]}", f);
        status = MHD_HTTP_UNPROCESSABLE_CONTENT;
        goto done;
    }
    const char *repeat = s_form_get(rq, "_repeat");
    if (!(repeat && strcmp(repeat, "1") == 0)) {
        if (wq_wb_load(srv->box, &wb, &e) != WQ_OK)
            goto fail;
        uint64_t at = 0;
        const char *same = wq_wb_find_same(wb, rec, &at);
        if (same) {
            char when[20];
            wq_time_format(at, when);
            fputs("{\"ok\":false,\"duplicate\":", f);
            wq_json_write_string(f, same);
            fprintf(f, ",\"recorded\":\"%s\"}", when);
            status = MHD_HTTP_CONFLICT;
            goto done;
        }
        wq_wb_destroy(&wb);
    }
    if (wq_outbox_append(srv->box, rec, id, &e) != WQ_OK)
        goto fail;
    wq_log(WQ_LOG_INFO, "serve: stored %s %s", wq_rec_type_name(rec->type), id);
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
    status = e.code == WQ_E_FULL ? MHD_HTTP_INSUFFICIENT_STORAGE : MHD_HTTP_INTERNAL_SERVER_ERROR;
done:
    wq_wb_destroy(&wb);
    wq_record_destroy(&rec);
    if (fclose(f) != 0) {
        free(buf);
        return MHD_NO;
    }
    return s_send_json(c, status, buf, len);
}

static enum MHD_Result
s_static(struct MHD_Connection *c, const char *url)
{
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    for (size_t i = 0; i < wq_www_count; i++)
        if (strcmp(wq_www_files[i].path, url) == 0)
            return s_send(c, MHD_HTTP_OK, wq_www_files[i].mime, (void *) wq_www_files[i].data,
                          wq_www_files[i].len, MHD_RESPMEM_PERSISTENT);
    return s_send_error(c, MHD_HTTP_NOT_FOUND, "没有这个页面");
}

static const struct {
    const char *url;
    bool snapshot;
    s_page_fn *fn;
} s_gets[] = {
    {"/api/session", false, s_api_session},
    {"/api/fields", false, s_api_fields},
    {"/api/sync", false, s_api_sync},
    {"/api/ledger", true, s_api_ledger},
    {"/api/casebook", true, s_api_casebook},
    {"/api/consultations", true, s_api_consultations},
    {"/api/enterprises", true, s_api_enterprises},
    {"/api/records", true, s_api_records},
    {"/api/creditcode", false, s_api_creditcode},
};

static enum MHD_Result
s_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    s_server_t *srv = cls;
    (void) version;
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        for (size_t i = 0; i < sizeof s_gets / sizeof s_gets[0]; i++)
            if (strcmp(url, s_gets[i].url) == 0)
                return s_page(srv, c, s_gets[i].snapshot, s_gets[i].fn);
        return s_static(c, url);
    }
    if (strcmp(method, "POST") != 0)
        return s_send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "不支持的请求");
    s_req_t *rq = *con_cls;
    if (!rq) {
        const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token");
        if (!tok || strlen(tok) != 64 || sodium_memcmp(tok, srv->csrf, 64) != 0)
            return s_send_error(c, MHD_HTTP_FORBIDDEN, "页面已过期，请刷新页面后再提交");
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->pp = MHD_create_post_processor(c, 64 * 1024, s_post_iter, rq);
        if (!rq->pp) {
            free(rq);
            return s_send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "请以表单提交");
        }
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!rq->too_big && !rq->oom)
            MHD_post_process(rq->pp, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_big)
        return s_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "提交的内容太大");
    if (rq->oom)
        return s_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "内存不足");
    if (strcmp(url, "/api/record") == 0)
        return s_api_record(srv, c, rq);
    return s_send_error(c, MHD_HTTP_NOT_FOUND, "没有这个接口");
}

/*  ---- the command ---------------------------------------------------------------- */

static int
s_parse_listen(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t) (colon - s) >= sizeof host || !colon[1])
        return -1;
    memcpy(host, s, (size_t) (colon - s));
    host[colon - s] = '\0';
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || *end || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t) port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return -1;
    return 0;
}

static const char s_help[] =
    "usage: wanqi-agent serve [--listen HOST:PORT] [--dir D]\n"
    "\n"
    "Serve the county workbench (县级工作台): forms in Chinese for every record type,\n"
    "the problem ledger, each enterprise's case book, consultations awaiting an answer\n"
    "and the sync state, on this agent's outbox. Runs beside `wanqi-agent run`.\n"
    "--listen defaults to " WQ_SERVE_DEFAULT_LISTEN " (this machine only); port 0 picks a free\n"
    "port. Prints \"listening on http://HOST:PORT/\" when ready. Stops on SIGINT/SIGTERM.\n"
    "Listening beyond loopback needs accounts (docs/WEB.md).\n";

int
wq_serve_cmd(int argc, char **argv, const char *dir_opt)
{
    const char *listen = WQ_SERVE_DEFAULT_LISTEN;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(s_help, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen = argv[++i];
        else if (strncmp(argv[i], "--listen=", 9) == 0)
            listen = argv[i] + 9;
        else {
            fprintf(stderr, "wanqi-agent: serve: unknown option %s (see --help)\n", argv[i]);
            return 2;
        }
    }
    struct sockaddr_in sa;
    if (s_parse_listen(listen, &sa) != 0) {
        fprintf(stderr, "wanqi-agent: serve: --listen %s: give an IPv4 address and a port, "
                "e.g. 127.0.0.1:8470\n", listen);
        return 2;
    }
    if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "wanqi-agent: serve: --listen %s is reachable from other machines, which "
                "needs accounts; this build serves loopback (127.x.x.x) only\n", listen);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "wanqi-agent: serve: libsodium failed to initialise\n");
        return 1;
    }
    s_server_t srv;
    memset(&srv, 0, sizeof srv);
    const char *dir = wq_config_find_dir(dir_opt);
    wq_err_t e;
    char msg[512];
    int rc = 1;
    struct MHD_Daemon *d = NULL;
    if (wq_config_load(dir, &srv.cfg, &e) != WQ_OK) {
        fprintf(stderr, "wanqi-agent: serve: configuration: %s\n", wq_err_format(&e, msg, sizeof msg));
        return 1;
    }
    const char *today = getenv("WANQI_TODAY");
    if (today && today[0]) {
        if (wq_date_check(today, &e) != WQ_OK) {
            fprintf(stderr, "wanqi-agent: serve: WANQI_TODAY=%s is not a date YYYY-MM-DD\n", today);
            return 2;
        }
        memcpy(srv.today_override, today, 11);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, WQ_AGENT_OUTBOX_DIR);
    wq_outbox_limits_t lim = {srv.cfg.outbox_max_queued, srv.cfg.outbox_max_bytes,
                              srv.cfg.outbox_map_mb * 1024 * 1024};
    if (wq_outbox_open(path, &lim, &srv.box, &e) != WQ_OK) {
        fprintf(stderr, "wanqi-agent: serve: outbox: %s\n", wq_err_format(&e, msg, sizeof msg));
        return 1;
    }
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(srv.csrf, sizeof srv.csrf, raw, sizeof raw);
    /* SIGINT/SIGTERM are taken by sigwait below; block them before MHD makes
       its thread so that only this thread sees them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         s_handler, &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                         MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 60,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 256 * 1024,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned) 64, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "wanqi-agent: serve: cannot listen on %s (in use, or not an address of "
                "this machine?)\n", listen);
        goto done;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    printf("listening on http://%s:%u/\n", host, info ? (unsigned) info->port : 0u);
    fflush(stdout);
    wq_log(WQ_LOG_INFO, "serve: workbench on http://%s:%u/ for agent %s", host,
           info ? (unsigned) info->port : 0u, srv.cfg.agent_id);
    int sig = 0;
    sigwait(&sigs, &sig);
    wq_log(WQ_LOG_INFO, "serve: stopping (signal %d)", sig);
    rc = 0;
done:
    if (d)
        MHD_stop_daemon(d);
    wq_outbox_destroy(&srv.box);
    return rc;
}
