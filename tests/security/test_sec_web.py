#!/usr/bin/env python3
"""Attacks on the logins of the web services (issue 10, "the web services'
logins once they exist"), with the standard library's http.client against
real processes on 127.0.0.1 (ephemeral ports):

wanqi-web (the province dashboard), on a store a real collector filled from
two real agents (长安区 of 石家庄 and 路北区 of 唐山):
  - a forged session cookie, a logged-out one and one from before a restart
    are refused (login page / 401), never served;
  - a POST without the CSRF token, or with another user's token, is refused
    (403) and the session stays;
  - a county account's cookie does not reach its city's figures; a city
    account reaches no other city's area, page, export or enterprise by URL
    or request parameter, while the province account does (so the refusal
    is the scope, not missing data);
  - password guessing: after 5 failures the account's and the address's
    further attempts, the right password included, get 429.
wanqi-agent serve (the county workbench), on that 长安区 agent's outbox:
  - a forged and a logged-out cookie are refused; a POST /api/record without
    the CSRF token or with another user's token is refused and records
    nothing (the outbox's last seq is unchanged); with the right token the
    same request is accepted (so the refusals are the token);
  - password guessing gets 429 after 5 failures.
"""
import http.client
import json
import os
import re
import secrets
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from wqproc import Guard, bin_path as b, free_port, run_ok as run  # noqa: E402

AGENTS = {"130102": "130102-01", "130203": "130203-01"}
PASSWORDS = {"prov": "province pass 1", "sjz": "shijiazhuang 22", "changan": "changan pass 3",
             "王芳": "wangfang pass 4", "李娜": "lina pass 55"}


class Http:
    """One HTTP client; cookie is the session cookie it sends (or None)."""

    def __init__(self, port, cookie_name):
        self.port = port
        self.cookie_name = cookie_name
        self.cookie = None

    def request(self, method, path, form=None, headers=None, cookie="mine"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = dict(headers or {})
        value = self.cookie if cookie == "mine" else cookie
        if value:
            h["Cookie"] = "%s=%s" % (self.cookie_name, value)
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith(self.cookie_name + "="):
                self.cookie = v.split(";", 1)[0].split("=", 1)[1] or None
        c.close()
        return r.status, data.decode("utf-8", "replace"), hdrs

    def login(self, name, password):
        self.cookie = None
        st, body, h = self.request("POST", "/login", {"name": name, "password": password}, cookie=None)
        return st


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def is_login_redirect(st, h):
    return st == 303 and "/login" in h.get("location", "")


# ---- the store: a real collector filled by two real agents ----------------

class Env:
    def __init__(self, g):
        self.g = g
        self.tmp = g.tmpdir()
        self.cdir = os.path.join(self.tmp, "collector")
        self.ingest, self.query = free_port(), free_port()
        out = run([b("wanqi-collector"), "init", "--dir", self.cdir,
                      "--ingest", "tcp://127.0.0.1:%d" % self.ingest,
                      "--query", "tcp://127.0.0.1:%d" % self.query, "--map-size", "128M"])
        self.key = out.splitlines()[0].strip()
        self.agents, self.records, self.ents = {}, {}, {}
        for county, agent in AGENTS.items():
            d = os.path.join(self.tmp, "agent-" + county)
            out = run([b("wanqi-agent"), "init", "--dir", d, "--agent-id", agent, "--county", county,
                          "--collector", "tcp://127.0.0.1:%d" % self.ingest, "--collector-key", self.key,
                          "--config", "poll_ms=50", "--config", "heartbeat_ms=1000"])
            key = re.search(r"public key: (\S{40})", out).group(1)
            run([b("wanqi-collector"), "authorize", "agent", "--dir", self.cdir, "--key", key,
                    "--agent-id", agent, "--county", county])
            jsonl = os.path.join(self.tmp, "campaign-%s.jsonl" % county)
            text = run([b("wanqi-agent"), "generate", "--county", county, "--enterprises", "3",
                           "--seed", county[-2:]])
            with open(jsonl, "w", encoding="utf-8") as f:
                f.write(text)
            self.ents[county] = sorted({json.loads(l)["ent"] for l in text.splitlines()
                                        if l.strip() and json.loads(l).get("type") == "enterprise"})
            run([b("wanqi-agent"), "import", jsonl, "--dir", d])
            st = json.loads(run([b("wanqi-agent"), "status", "--format", "json", "--dir", d]))
            self.records[county] = st["last_seq"]
            self.agents[county] = d
        self.collector = g.start([b("wanqi-collector"), "run", "--dir", self.cdir],
                                 log=os.path.join(self.tmp, "collector.log"))
        procs = [g.start([b("wanqi-agent"), "run", "--dir", self.agents[c]],
                         log=os.path.join(self.tmp, "agent-%s.log" % c)) for c in AGENTS]

        def synced():
            for c in AGENTS:
                st = json.loads(run([b("wanqi-agent"), "status", "--format", "json", "--dir",
                                        self.agents[c]]))
                if st.get("acknowledged") != self.records[c]:
                    return False
            return True
        g.wait_until(synced, 180, "both agents to have their records acknowledged")
        for p in procs:
            g.stop(p)
        expect(self.ents["130203"], "the 路北区 campaign has an enterprise")

    def start_web(self, first=True):
        if first:
            for name, role, area in (("prov", "province", "130000"), ("sjz", "city", "130100"),
                                     ("changan", "county", "130102")):
                run([b("wanqi-web"), "user", "add", name, "--role", role, "--area", area,
                             "--dir", self.cdir], stdin=PASSWORDS[name] + "\n")
        log = os.path.join(self.tmp, "web.log")
        start = os.path.getsize(log) if os.path.exists(log) else 0
        self.web = self.g.start([b("wanqi-web"), "run", "--dir", self.cdir, "--listen", "127.0.0.1:0"],
                                log=log)
        port = []

        def said():
            with open(log, encoding="utf-8", errors="replace") as f:
                f.seek(start)
                m = re.search(r"listening on port (\d+)", f.read())
            if m:
                port.append(int(m.group(1)))
            return bool(m)
        self.g.wait_until(said, 30, "wanqi-web to print its port")
        return port[0]


def csrf_of(page):
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    expect(m, "a page has the session's CSRF token")
    return m.group(1)


def attack_dashboard(env):
    port = env.start_web()
    prov, sjz, changan = Http(port, "wq_dash"), Http(port, "wq_dash"), Http(port, "wq_dash")
    for h, name in ((prov, "prov"), (sjz, "sjz"), (changan, "changan")):
        expect(h.login(name, PASSWORDS[name]) == 303 and h.cookie, "%s logs in" % name)

    # -- forged cookies: the login page, never a page
    forged = Http(port, "wq_dash")
    for value in (secrets.token_hex(32), prov.cookie[:-2] + ("00" if prov.cookie[-2:] != "00" else "11"),
                  "", "x" * 300):
        st, body, h = forged.request("GET", "/?area=130000", cookie=value or None)
        expect(is_login_redirect(st, h), "forged cookie %r: %s" % (value[:16], st))
        st, _, _ = forged.request("POST", "/logout", {"csrf": "0" * 64}, cookie=value or None)
        expect(st == 401, "POST with a forged cookie: %s" % st)

    # -- no CSRF token, another user's token: 403, the session stays
    st, page, _ = prov.request("GET", "/")
    expect(st == 200, "province overview: %s" % st)
    prov_csrf = csrf_of(page)
    st, page, _ = sjz.request("GET", "/")
    sjz_csrf = csrf_of(page)
    expect(sjz_csrf != prov_csrf, "each session has its own CSRF token")
    st, _, _ = prov.request("POST", "/logout", {})
    expect(st == 403, "POST /logout without a CSRF token: %s" % st)
    st, _, _ = prov.request("POST", "/logout", {"csrf": sjz_csrf})
    expect(st == 403, "POST /logout with another user's CSRF token: %s" % st)
    st, _, _ = prov.request("POST", "/logout", {"csrf": prov_csrf},
                            headers={"Origin": "http://evil.example"})
    expect(st == 403, "POST /logout from another Origin: %s" % st)
    st, _, _ = prov.request("GET", "/")
    expect(st == 200, "the session survives refused POSTs: %s" % st)

    # -- scope: a county cookie never reaches its city; a city never another city
    for path in ("/?area=130100", "/?area=130000", "/problems?area=130100", "/sync?area=130100"):
        st, _, _ = changan.request("GET", path)
        expect(st == 403, "county account, %s: %s" % (path, st))
    ts_ent = env.ents["130203"][0]
    refused = ["/?area=130200", "/?area=130203", "/?area=130000", "/problems?area=130203",
               "/enterprises?area=130203", "/sync?area=130200", "/quarantine?area=130203",
               "/?area=130203&format=csv", "/problems?area=130203&format=xlsx",
               "/?area=13020", "/?area=1302", "/?area=130203%00", "/?area=%20130203",
               "/?area=130100&area=130203", "/?area=130203&area=130100"]
    for path in refused:
        st, body, _ = sjz.request("GET", path)
        expect(st != 200 or "路北区" not in body, "city account, %s: %s" % (path, st))
        expect(st in (400, 403) or (st == 200 and "路北区" not in body),
               "city account, %s: %s" % (path, st))
    st, body, _ = sjz.request("GET", "/enterprise/" + ts_ent)
    expect(st == 404, "city account, another city's enterprise %s: %s" % (ts_ent, st))
    st, body, _ = sjz.request("GET", "/enterprise/" + ts_ent + "?area=130203")
    expect(st == 404, "city account, enterprise with area=130203: %s" % st)
    st, body, _ = prov.request("GET", "/enterprise/" + ts_ent)
    expect(st == 200, "province account, the same enterprise: %s" % st)
    st, body, _ = prov.request("GET", "/?area=130203")
    expect(st == 200 and "路北区" in body, "province account, 路北区: %s" % st)
    st, body, _ = sjz.request("GET", "/?area=130102")
    expect(st == 200, "city account, its own county: %s" % st)

    # -- expired sessions: logged out, and from before a restart
    old = changan.cookie
    st, page, _ = changan.request("GET", "/")
    st, _, _ = changan.request("POST", "/logout", {"csrf": csrf_of(page)})
    expect(st in (200, 303), "logout: %s" % st)
    st, _, h = changan.request("GET", "/", cookie=old)
    expect(is_login_redirect(st, h), "a logged-out cookie: %s" % st)
    before = sjz.cookie
    env.g.stop(env.web)
    port = env.start_web(first=False)
    st, _, h = Http(port, "wq_dash").request("GET", "/", cookie=before)
    expect(is_login_redirect(st, h), "a cookie from before the restart: %s" % st)

    # -- password guessing: 429 after 5 failures, the right password too
    guess = Http(port, "wq_dash")
    for i in range(5):
        st = guess.login("sjz", "wrong %d" % i)
        expect(st == 401, "wrong password %d: %s" % (i + 1, st))
    st = guess.login("sjz", PASSWORDS["sjz"])
    expect(st == 429, "the right password after 5 failures: %s" % st)
    expect(guess.cookie is None, "no session after a refused login")
    st = guess.login("prov", PASSWORDS["prov"])
    expect(st == 429, "another account from the same address: %s" % st)
    log = open(os.path.join(env.tmp, "web.log"), encoding="utf-8", errors="replace").read()
    expect("127.0.0.1" in log, "the web log names the client address")
    env.g.stop(env.web)
    print("wanqi-web: forged/expired cookies, CSRF, scope and password guessing refused")


def attack_workbench(env):
    g = env.g
    d = env.agents["130102"]
    for name in ("王芳", "李娜"):
        run([b("wanqi-agent"), "user", "add", name, "--dir", d], stdin=PASSWORDS[name] + "\n")
    log = os.path.join(env.tmp, "serve.log")
    serve = g.start([b("wanqi-agent"), "serve", "--dir", d, "--listen", "127.0.0.1:0"], log=log)
    port = []

    def said():
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", open(log, encoding="utf-8",
                                                                       errors="replace").read())
        if m:
            port.append(int(m.group(1)))
        return bool(m)
    g.wait_until(said, 30, "wanqi-agent serve to print its address")
    port = port[0]

    def last_seq():
        return json.loads(run([b("wanqi-agent"), "status", "--format", "json", "--dir", d]))["last_seq"]

    wang, li = Http(port, "wq_workbench"), Http(port, "wq_workbench")
    expect(wang.login("王芳", PASSWORDS["王芳"]) == 303 and wang.cookie, "王芳 logs in")
    expect(li.login("李娜", PASSWORDS["李娜"]) == 303 and li.cookie, "李娜 logs in")
    st, body, _ = wang.request("GET", "/api/session")
    expect(st == 200, "/api/session: %s" % st)
    wang_csrf = json.loads(body)["csrf"]
    st, body, _ = li.request("GET", "/api/session")
    li_csrf = json.loads(body)["csrf"]
    visit = {"type": "visit", "ent": env.ents["130102"][0], "date": "2019-05-06",
             "cadres": "王芳", "method": "field_visit", "findings": "安全测试走访"}

    # -- forged cookie
    forged = Http(port, "wq_workbench")
    st, _, h = forged.request("GET", "/api/session", cookie=secrets.token_hex(32))
    expect(st in (401, 303), "forged cookie, GET /api/session: %s" % st)
    before = last_seq()
    st, _, _ = forged.request("POST", "/api/record", dict(visit, csrf=wang_csrf), cookie=secrets.token_hex(32))
    expect(st == 401, "forged cookie, POST /api/record: %s" % st)
    # -- no token, another user's token: refused, nothing recorded
    st, _, _ = wang.request("POST", "/api/record", visit)
    expect(st == 403, "POST /api/record without a CSRF token: %s" % st)
    st, _, _ = wang.request("POST", "/api/record", dict(visit, csrf=li_csrf))
    expect(st == 403, "POST /api/record with another user's CSRF token: %s" % st)
    expect(last_seq() == before, "nothing was recorded by the refused POSTs")
    # -- the right token: accepted (so the refusals were the token's)
    st, body, _ = wang.request("POST", "/api/record", dict(visit, csrf=wang_csrf))
    expect(st == 200 and json.loads(body).get("ok"), "POST /api/record with its token: %s %s" % (st, body))
    expect(last_seq() == before + 1, "the accepted POST recorded one record")
    # -- logged out: the cookie is dead
    old = li.cookie
    st, _, _ = li.request("POST", "/logout", {"csrf": li_csrf})
    expect(st in (200, 303), "logout: %s" % st)
    st, _, h = li.request("GET", "/api/session", cookie=old)
    expect(st in (401, 303), "a logged-out cookie: %s" % st)
    st, _, _ = li.request("POST", "/api/record", dict(visit, csrf=li_csrf), cookie=old)
    expect(st == 401, "POST with a logged-out cookie: %s" % st)
    # -- password guessing
    guess = Http(port, "wq_workbench")
    for i in range(5):
        st = guess.login("王芳", "guess %d" % i)
        expect(st == 401, "wrong password %d: %s" % (i + 1, st))
    st = guess.login("王芳", PASSWORDS["王芳"])
    expect(st == 429, "the right password after 5 failures: %s" % st)
    expect(last_seq() == before + 1, "nothing else was recorded")
    expect(g.stop(serve) == 0, "serve exits 0")
    print("wanqi-agent serve: forged/expired cookies, CSRF and password guessing refused")


def main():
    with Guard() as g:
        env = Env(g)
        attack_dashboard(env)
        attack_workbench(env)
        g.stop(env.collector)
    print("web security test passed")


if __name__ == "__main__":
    main()
