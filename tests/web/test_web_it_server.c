/*  The web layer over a real socket on 127.0.0.1: login and its rate
    limit, the session cookie's attributes, redirects without a session,
    CSRF and Origin checks, body limits, multipart upload, security
    headers, static assets, 404/405, logout, configuration refusals, and
    HTTPS with a throw-away certificate (when openssl is installed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "common/log.h"
#include "tests/support/testsupport.h"
#include "web/server.h"

typedef struct {
    int status;
    char *head;   /* status line and headers */
    char *body;
} s_resp_t;

static void s_resp_free(s_resp_t *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/*  One HTTP/1.1 request with Connection: close; reads to EOF (10 s cap). */
static s_resp_t s_http(uint16_t port, const char *method, const char *path, const char *headers,
                       const char *body, size_t body_len)
{
    s_resp_t r = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        fail_msg("connect to 127.0.0.1:%u failed", port);
    char *req = ts_strf("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s"
                        "Content-Length: %zu\r\n\r\n",
                        method, path, port, headers ? headers : "", body ? body_len : 0);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    if (body && body_len)
        assert_int_equal(write(fd, body, body_len), (ssize_t)body_len);
    free(req);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    close(fd);
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep)
        fail_msg("no complete response to %s %s: '%s'", method, path, buf);
    *sep = '\0';
    r.head = strdup(buf);
    r.body = strdup(sep + 4);
    r.status = atoi(buf + 9);
    free(buf);
    return r;
}

/*  Value of header name (first), malloc'd, or NULL. */
static char *s_header(const s_resp_t *r, const char *name)
{
    char *key = ts_strf("\r\n%s: ", name);
    const char *p = strcasestr(r->head, key);
    char *out = NULL;
    if (p) {
        p += strlen(key);
        out = strndup(p, strcspn(p, "\r\n"));
    }
    free(key);
    return out;
}

/* ----------------------------------------------------------- handlers */

static void h_login_page(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void)req;
    (void)arg;
    wq_wbuf_puts(wq_web_out(resp), "login page");
}

static void h_login(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void)arg;
    wq_err_t err;
    int rc = wq_web_login(req, resp, wq_web_form(req, "name"), wq_web_form(req, "password"), &err);
    if (rc == WQ_OK)
        wq_web_redirect(resp, "/");
    else
        wq_web_error(resp, rc == WQ_E_BUSY ? 429 : 401, err.text);
}

static void h_home(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void)arg;
    const wq_session_t *s = wq_web_session(req);
    wq_wbuf_printf(wq_web_out(resp), "hello %s csrf=%s", s->who.name, wq_web_csrf(req));
}

static void h_echo(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void)arg;
    wq_wbuf_printf(wq_web_out(resp), "v=%s", wq_web_form(req, "v"));
}

static void h_upload(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void)arg;
    const wq_form_field_t *f = wq_form_field(wq_web_form_all(req), "file");
    if (!f || !f->filename)
        wq_web_error(resp, 400, "no file");
    else
        wq_wbuf_printf(wq_web_out(resp), "%s %zu %s", f->filename, f->len, f->value);
}

static void h_logout(wq_web_req_t *req, wq_web_resp_t *resp, void *arg)
{
    (void)arg;
    wq_web_logout(req, resp);
    wq_web_redirect(resp, "/login");
}

static const unsigned char s_js[] = "console.log(1);";
static const wq_asset_t s_assets[] = {{"app.js", s_js, sizeof s_js - 1}};

static wq_web_t *s_server(const char *dir, const char *cert, const char *key)
{
    char *accounts = ts_strf("%s/accounts", dir);
    wq_accounts_t *a = NULL;
    wq_err_t err;
    assert_int_equal(wq_accounts_open(accounts, &a, &err), WQ_OK);
    if (!wq_accounts_find(a, "alice")) {
        assert_int_equal(wq_accounts_add(a, "alice", "alice password", "city", "130100", &err), WQ_OK);
        assert_int_equal(wq_accounts_save(a, &err), WQ_OK);
    }
    wq_accounts_destroy(&a);
    wq_web_config_t cfg = {.listen = "127.0.0.1:0", .threads = 2, .max_body = 1024,
                           .accounts_path = accounts, .require_login = true,
                           .login_max_failures = 2, .assets = s_assets, .nassets = 1,
                           .tls_cert = cert, .tls_key = key, .cookie_name = "t_sess"};
    wq_web_t *w = NULL;
    int rc = wq_web_new(&cfg, &w, &err);
    if (rc != WQ_OK)
        fail_msg("wq_web_new: %s", err.text);
    free(accounts);
    assert_int_equal(wq_web_route(w, "GET", "/login", h_login_page, NULL, WQ_WEB_PUBLIC, &err), WQ_OK);
    assert_int_equal(wq_web_route(w, "POST", "/login", h_login, NULL, WQ_WEB_PUBLIC | WQ_WEB_NO_CSRF,
                                  &err), WQ_OK);
    assert_int_equal(wq_web_route(w, "GET", "/", h_home, NULL, 0, &err), WQ_OK);
    assert_int_equal(wq_web_route(w, "POST", "/echo", h_echo, NULL, 0, &err), WQ_OK);
    assert_int_equal(wq_web_route(w, "POST", "/upload", h_upload, NULL, 0, &err), WQ_OK);
    assert_int_equal(wq_web_route(w, "POST", "/logout", h_logout, NULL, 0, &err), WQ_OK);
    if (wq_web_start(w, &err) != WQ_OK)
        fail_msg("wq_web_start: %s", err.text);
    assert_true(wq_web_port(w) > 0);
    return w;
}

static void test_http(void **state)
{
    (void)state;
    char *dir = ts_tmpdir();
    wq_web_t *w = s_server(dir, NULL, NULL);
    uint16_t port = wq_web_port(w);

    /* no session: GET redirects to the login page, POST is refused */
    s_resp_t r = s_http(port, "GET", "/", NULL, NULL, 0);
    assert_int_equal(r.status, 303);
    char *v = s_header(&r, "Location");
    assert_string_equal(v, "/login?next=%2F");
    free(v);
    v = s_header(&r, "Content-Security-Policy");
    assert_non_null(strstr(v, "default-src 'self'"));
    free(v);
    v = s_header(&r, "X-Frame-Options");
    assert_string_equal(v, "DENY");
    free(v);
    v = s_header(&r, "X-Content-Type-Options");
    assert_string_equal(v, "nosniff");
    free(v);
    v = s_header(&r, "Referrer-Policy");
    assert_non_null(v);
    free(v);
    s_resp_free(&r);
    r = s_http(port, "POST", "/echo", NULL, "v=1", 3);
    assert_int_equal(r.status, 401);
    s_resp_free(&r);

    /* public pages, assets, 404, 405 */
    r = s_http(port, "GET", "/login", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "login page");
    s_resp_free(&r);
    r = s_http(port, "GET", "/static/app.js", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "console.log(1);");
    v = s_header(&r, "Content-Type");
    assert_string_equal(v, "text/javascript; charset=utf-8");
    free(v);
    s_resp_free(&r);
    r = s_http(port, "GET", "/static/none.js", NULL, NULL, 0);
    assert_int_equal(r.status, 404);
    s_resp_free(&r);
    r = s_http(port, "PUT", "/login", NULL, "", 0);
    assert_int_equal(r.status, 405);
    s_resp_free(&r);

    /* login: wrong password, then right */
    const char *form = "Content-Type: application/x-www-form-urlencoded\r\n";
    r = s_http(port, "POST", "/login", form, "name=alice&password=wrong+one", 29);
    assert_int_equal(r.status, 401);
    assert_null(s_header(&r, "Set-Cookie"));
    s_resp_free(&r);
    r = s_http(port, "POST", "/login", form, "name=alice&password=alice+password", 34);
    assert_int_equal(r.status, 303);
    char *cookie = s_header(&r, "Set-Cookie");
    assert_non_null(cookie);
    assert_non_null(strstr(cookie, "HttpOnly"));
    assert_non_null(strstr(cookie, "SameSite=Strict"));
    assert_null(strstr(cookie, "Secure"));
    *strchr(cookie, ';') = '\0';   /* "t_sess=TOKEN" */
    assert_int_equal(strlen(cookie), strlen("t_sess=") + WQ_TOKEN_HEX);
    s_resp_free(&r);
    char *hdr = ts_strf("Cookie: %s\r\n", cookie);
    r = s_http(port, "GET", "/", hdr, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "hello alice"));
    char csrf[WQ_TOKEN_HEX + 1];
    const char *c = strstr(r.body, "csrf=");
    assert_non_null(c);
    snprintf(csrf, sizeof csrf, "%s", c + 5);
    v = s_header(&r, "Cache-Control");
    assert_string_equal(v, "no-store");
    free(v);
    s_resp_free(&r);

    /* CSRF: missing, wrong, right (field or header); foreign Origin */
    char *fh = ts_strf("%sContent-Type: application/x-www-form-urlencoded\r\n", hdr);
    r = s_http(port, "POST", "/echo", fh, "v=1", 3);
    assert_int_equal(r.status, 403);
    s_resp_free(&r);
    char *body = ts_strf("v=1&csrf=%064d", 0);
    r = s_http(port, "POST", "/echo", fh, body, strlen(body));
    assert_int_equal(r.status, 403);
    s_resp_free(&r);
    free(body);
    body = ts_strf("v=%%E7%%9F%%B3&csrf=%s", csrf);
    r = s_http(port, "POST", "/echo", fh, body, strlen(body));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "v=石");
    s_resp_free(&r);
    char *evil = ts_strf("%sOrigin: http://evil.example\r\n", fh);
    r = s_http(port, "POST", "/echo", evil, body, strlen(body));
    assert_int_equal(r.status, 403);
    s_resp_free(&r);
    free(evil);
    free(body);
    char *hh = ts_strf("%sX-CSRF-Token: %s\r\nContent-Type: application/json\r\n", hdr, csrf);
    r = s_http(port, "POST", "/echo", hh, "{}", 2);
    assert_int_equal(r.status, 200);
    s_resp_free(&r);

    /* body limit: declared and actual */
    char big[2000];
    memset(big, 'a', sizeof big);
    memcpy(big, "v=", 2);
    r = s_http(port, "POST", "/echo", fh, big, sizeof big);
    assert_int_equal(r.status, 413);
    s_resp_free(&r);

    /* multipart upload */
    body = ts_strf("--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n"
                     "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
                     "Content-Type: text/csv\r\n\r\na,b\n1,2\r\n--XyZ--\r\n", csrf);
    char *mh = ts_strf("%sContent-Type: multipart/form-data; boundary=XyZ\r\n", hdr);
    r = s_http(port, "POST", "/upload", mh, body, strlen(body));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "a.csv 7 a,b\n1,2");
    s_resp_free(&r);
    free(body);
    free(mh);

    /* rate limit: two failures block the name even with the right password */
    for (int i = 0; i < 2; i++) {
        r = s_http(port, "POST", "/login", form, "name=alice&password=wrong+one", 29);
        assert_int_equal(r.status, 401);
        s_resp_free(&r);
    }
    r = s_http(port, "POST", "/login", form, "name=alice&password=alice+password", 34);
    assert_int_equal(r.status, 429);
    s_resp_free(&r);

    /* logout ends the session */
    body = ts_strf("csrf=%s", csrf);
    r = s_http(port, "POST", "/logout", fh, body, strlen(body));
    assert_int_equal(r.status, 303);
    v = s_header(&r, "Set-Cookie");
    assert_non_null(strstr(v, "Max-Age=0"));
    free(v);
    s_resp_free(&r);
    free(body);
    r = s_http(port, "GET", "/", hdr, NULL, 0);
    assert_int_equal(r.status, 303);
    s_resp_free(&r);

    free(hh);
    free(fh);
    free(hdr);
    free(cookie);
    wq_web_destroy(&w);
    assert_null(w);
    ts_tmpdir_remove(&dir);
}

/*  Log in as name; returns "t_sess=TOKEN" (malloc'd) or NULL on refusal. */
static char *s_login(uint16_t port, const char *name, const char *password)
{
    char *body = ts_strf("name=%s&password=%s", name, password);
    s_resp_t r = s_http(port, "POST", "/login",
                        "Content-Type: application/x-www-form-urlencoded\r\n", body, strlen(body));
    char *cookie = r.status == 303 ? s_header(&r, "Set-Cookie") : NULL;
    if (cookie)
        *strchr(cookie, ';') = '\0';
    s_resp_free(&r);
    free(body);
    return cookie;
}

static int s_get_status(uint16_t port, const char *cookie)
{
    char *hdr = ts_strf("Cookie: %s\r\n", cookie);
    s_resp_t r = s_http(port, "GET", "/", hdr, NULL, 0);
    int st = r.status;
    s_resp_free(&r);
    free(hdr);
    return st;
}

static int64_t s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  The accounts file is re-read while the server runs: a user added
    logs in without a restart, a removed user's session ends and cannot
    log in again, a changed password ends the sessions too. */
static void test_accounts_reload(void **state)
{
    (void)state;
    char *dir = ts_tmpdir();
    wq_web_t *w = s_server(dir, NULL, NULL);
    uint16_t port = wq_web_port(w);
    char *path = ts_strf("%s/accounts", dir);
    wq_accounts_t *a = NULL;
    wq_err_t err;

    char *alice = s_login(port, "alice", "alice+password");
    assert_non_null(alice);
    assert_int_equal(s_get_status(port, alice), 200);
    assert_null(s_login(port, "bob", "bob+password"));

    /* add bob: a login reads the changed file at once */
    assert_int_equal(wq_accounts_open(path, &a, &err), WQ_OK);
    assert_int_equal(wq_accounts_add(a, "bob", "bob password", "county", "130102", &err), WQ_OK);
    assert_int_equal(wq_accounts_save(a, &err), WQ_OK);
    wq_accounts_destroy(&a);
    char *bob = s_login(port, "bob", "bob+password");
    if (!bob)
        fail_msg("bob, added to %s, could not log in without a restart", path);
    assert_int_equal(s_get_status(port, bob), 200);
    assert_int_equal(s_get_status(port, alice), 200);

    /* remove alice: her session ends (the file is looked at once a
       second: wait for it, 10 s at most) */
    assert_int_equal(wq_accounts_open(path, &a, &err), WQ_OK);
    assert_int_equal(wq_accounts_remove(a, "alice", &err), WQ_OK);
    assert_int_equal(wq_accounts_save(a, &err), WQ_OK);
    wq_accounts_destroy(&a);
    int64_t deadline = s_ms() + 10000;
    int st;
    while ((st = s_get_status(port, alice)) == 200 && s_ms() < deadline)
        usleep(100 * 1000);
    if (st != 303)
        fail_msg("alice's session still answered %d 10 s after she was removed from %s", st, path);
    assert_null(s_login(port, "alice", "alice+password"));
    assert_int_equal(s_get_status(port, bob), 200);

    /* a new password for bob ends his session; the new one logs in */
    assert_int_equal(wq_accounts_open(path, &a, &err), WQ_OK);
    assert_int_equal(wq_accounts_set_password(a, "bob", "bob new password", &err), WQ_OK);
    assert_int_equal(wq_accounts_save(a, &err), WQ_OK);
    wq_accounts_destroy(&a);
    char *bob2 = s_login(port, "bob", "bob+new+password");
    if (!bob2)
        fail_msg("bob's new password was not taken from %s", path);
    assert_int_equal(s_get_status(port, bob), 303);
    assert_int_equal(s_get_status(port, bob2), 200);

    /* an unreadable file keeps the accounts loaded before */
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("not an account line\n", f);
    fclose(f);
    assert_null(s_login(port, "alice", "alice+password"));
    assert_int_equal(s_get_status(port, bob2), 200);

    free(bob2);
    free(bob);
    free(alice);
    free(path);
    wq_web_destroy(&w);
    ts_tmpdir_remove(&dir);
}

static void test_config_refusals(void **state)
{
    (void)state;
    wq_web_t *w = NULL;
    wq_err_t err;
    wq_web_config_t cfg = {.listen = "0.0.0.0:0", .require_login = true, .accounts_path = "/nonexistent/a"};
    assert_int_equal(wq_web_new(&cfg, &w, &err), WQ_E_CONFIG);
    assert_non_null(strstr(err.text, "HTTPS"));
    cfg = (wq_web_config_t){.listen = "127.0.0.1:0", .require_login = true};
    assert_int_equal(wq_web_new(&cfg, &w, &err), WQ_E_CONFIG);
    cfg = (wq_web_config_t){.listen = "localhost:80"};
    assert_int_equal(wq_web_new(&cfg, &w, &err), WQ_E_CONFIG);
    cfg = (wq_web_config_t){.listen = "127.0.0.1:99999"};
    assert_int_equal(wq_web_new(&cfg, &w, &err), WQ_E_CONFIG);
    cfg = (wq_web_config_t){.listen = "127.0.0.1:0", .tls_cert = "c.pem"};
    assert_int_equal(wq_web_new(&cfg, &w, &err), WQ_E_CONFIG);
    assert_null(w);
    /* loopback without accounts: anonymous sessions */
    cfg = (wq_web_config_t){.listen = "[::1]:0"};
    assert_int_equal(wq_web_new(&cfg, &w, &err), WQ_OK);
    wq_web_destroy(&w);
}

static void test_https(void **state)
{
    (void)state;
    if (access("/usr/bin/openssl", X_OK) != 0)
        skip();
    char *dir = ts_tmpdir();
    char *cert = ts_strf("%s/cert.pem", dir), *key = ts_strf("%s/key.pem", dir);
    char *subj = ts_strf("-subj");
    char *argv[] = {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", key, "-out", cert, subj, "/CN=127.0.0.1", NULL};
    char *errout = NULL;
    int st = ts_run(argv, NULL, NULL, &errout, 60000, NULL);
    if (st != 0)
        fail_msg("openssl req failed (%d): %s", st, errout);
    free(errout);
    wq_web_t *w = s_server(dir, cert, key);
    /* Python's ssl module is the client (no verification: self-signed). */
    char *script = ts_strf(
        "import ssl,urllib.request,sys\n"
        "ctx=ssl._create_unverified_context()\n"
        "r=urllib.request.urlopen('https://127.0.0.1:%u/login',context=ctx,timeout=20)\n"
        "sys.stdout.write(str(r.status)+' '+r.read().decode()+' '+r.headers['Strict-Transport-Security'])\n",
        wq_web_port(w));
    char *pargv[] = {"/usr/bin/python3", "-c", script, NULL};
    char *out = NULL;
    st = ts_run(pargv, NULL, &out, &errout, 60000, NULL);
    if (st != 0)
        fail_msg("HTTPS request failed (%d): %s", st, errout);
    assert_string_equal(out, "200 login page max-age=31536000");
    /* plain HTTP to the TLS port gets no HTTP answer */
    free(out);
    free(errout);
    free(script);
    wq_web_destroy(&w);
    free(subj);
    free(cert);
    free(key);
    ts_tmpdir_remove(&dir);
}

int main(void)
{
    wq_log_init("test_web_it_server", WQ_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_accounts_reload),
        cmocka_unit_test(test_config_refusals),
        cmocka_unit_test(test_https),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
