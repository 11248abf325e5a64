#!/usr/bin/env python3
"""The province dashboard end to end, in a real headless Chromium.

A real wanqi-collector on 127.0.0.1 (ephemeral ports) is filled by real
wanqi-agent processes (generate -> import -> run), for 长安区 and 桥西区 of
石家庄 and 路北区 of 唐山; one more agent (新华区) is authorised but never runs.
Then wanqi-web serves the store read-only and Selenium logs in as province,
city and county staff and checks:
  - every figure on the overview (headline and every area row, at province and
    city level) equals `wanqi-query summary` for the same area and date;
  - drill-down province -> city -> county, then an enterprise's case book has
    as many rows as `wanqi-query enterprise CODE`;
  - 同步状态 shows the never-connected agent and the agent-less counties, red;
  - a city account is refused another city's county and enterprise by URL;
  - the CSV and .xlsx exports (read with csv and openpyxl) hold the same
    figures as wanqi-query.
Screenshots go to $WANQI_ARTIFACTS (default build/artifacts/web).
"""
import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from wqproc import Guard, free_port  # noqa: E402

import openpyxl  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,  # noqa: E402
                                        WebDriverException)
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

BIN = os.environ.get("WANQI_BIN_DIR") or sys.exit("WANQI_BIN_DIR is not set (run through ctest)")
ART = os.environ.get("WANQI_ARTIFACTS") or os.path.join(os.path.dirname(BIN), "artifacts", "web")
ENTERPRISES = os.environ.get("WANQI_WEB_ENTERPRISES", "15")
RUNNING = {"130102": "130102-01", "130104": "130104-01", "130203": "130203-01"}
NEVER = ("130105", "130105-01")
# An agent set up for 130109 but authorised by the collector for 130108: every
# record it sends is outside its county, so quarantined (隔离与待补 shows them).
ASTRAY = ("130109", "130108", "130108-01")
# A correction from 长安区 whose target (an event of the never-connected
# agent) never arrives: waiting in pending (待补).
PENDING_TARGET = "130105-01/0000abcd/5"
ASOF = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))  # China date, as the programs
# Rows on a page of the ledger and the enterprise search (wanqi-web --page-rows):
# small, so that the test's ledgers have several pages.
PAGE_ROWS = 10
PASSWORDS = {"prov": "province pass 1", "sjz": "shijiazhuang 22", "changan": "changan pass 3"}


def run(argv, stdin=None, check=True):
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p.stdout


def b(name):
    return os.path.join(BIN, name)


class Env:
    def __init__(self, g):
        self.g = g
        self.tmp = g.tmpdir()
        self.cdir = os.path.join(self.tmp, "collector")
        self.ingest, self.query = free_port(), free_port()
        out = run([b("wanqi-collector"), "init", "--dir", self.cdir,
                   "--ingest", "tcp://127.0.0.1:%d" % self.ingest,
                   "--query", "tcp://127.0.0.1:%d" % self.query, "--map-size", "256M"])
        self.key = out.splitlines()[0].strip()
        assert len(self.key) == 40, out
        self.qdir = os.path.join(self.tmp, "query")
        qkey = run([b("wanqi-query"), "keygen", "--dir", self.qdir]).splitlines()[0].strip()
        run([b("wanqi-collector"), "authorize", "client", "--dir", self.cdir, "--key", qkey,
             "--name", "webtest"])
        self.agents = {}
        for county, agent in list(RUNNING.items()) + [NEVER]:
            d = os.path.join(self.tmp, "agent-" + county)
            out = run([b("wanqi-agent"), "init", "--dir", d, "--agent-id", agent, "--county", county,
                       "--collector", "tcp://127.0.0.1:%d" % self.ingest, "--collector-key", self.key,
                       "--config", "poll_ms=50", "--config", "heartbeat_ms=1000"])
            key = re.search(r"public key: (\S{40})", out).group(1)
            run([b("wanqi-collector"), "authorize", "agent", "--dir", self.cdir, "--key", key,
                 "--agent-id", agent, "--county", county])
            self.agents[county] = d
        d = os.path.join(self.tmp, "agent-astray")
        out = run([b("wanqi-agent"), "init", "--dir", d, "--agent-id", ASTRAY[2], "--county", ASTRAY[0],
                   "--collector", "tcp://127.0.0.1:%d" % self.ingest, "--collector-key", self.key,
                   "--config", "poll_ms=50", "--config", "heartbeat_ms=1000"])
        key = re.search(r"public key: (\S{40})", out).group(1)
        run([b("wanqi-collector"), "authorize", "agent", "--dir", self.cdir, "--key", key,
             "--agent-id", ASTRAY[2], "--county", ASTRAY[1]])
        self.agents["astray"] = d
        self.collector = g.start([b("wanqi-collector"), "run", "--dir", self.cdir],
                                 log=os.path.join(self.tmp, "collector.log"))
        self.records = {}
        for county in RUNNING:
            jsonl = os.path.join(self.tmp, "campaign-%s.jsonl" % county)
            with open(jsonl, "w") as f:
                subprocess.run([b("wanqi-agent"), "generate", "--county", county, "--enterprises",
                                ENTERPRISES, "--seed", county[-2:]], stdout=f, check=True, timeout=120)
            if county == "130102":
                with open(jsonl, "a") as f:
                    f.write(json.dumps({"type": "correction", "date": "2019-04-06", "county": county,
                                        "target": PENDING_TARGET, "by": "韩芳", "of": "plan",
                                        "reason": "整改期限录入错误，予以更正",
                                        "set.deadline": "2019-06-06"}, ensure_ascii=False) + "\n")
            run([b("wanqi-agent"), "import", jsonl, "--dir", self.agents[county]])
            # What the agent holds (an import may skip lines it already has).
            st = json.loads(run([b("wanqi-agent"), "status", "--format", "json", "--dir",
                                 self.agents[county]]))
            self.records[county] = st["last_seq"]
            assert st["last_seq"] > 0, st
        jsonl = os.path.join(self.tmp, "campaign-astray.jsonl")
        with open(jsonl, "w") as f:
            subprocess.run([b("wanqi-agent"), "generate", "--county", ASTRAY[0], "--enterprises", "1",
                            "--seed", "9"], stdout=f, check=True, timeout=120)
        run([b("wanqi-agent"), "import", jsonl, "--dir", self.agents["astray"]])
        st = json.loads(run([b("wanqi-agent"), "status", "--format", "json", "--dir",
                             self.agents["astray"]]))
        self.astray_records = st["last_seq"]
        procs = [g.start([b("wanqi-agent"), "run", "--dir", self.agents[c]],
                         log=os.path.join(self.tmp, "agent-%s.log" % c)) for c in list(RUNNING) + ["astray"]]
        self.records_all = dict(self.records, astray=self.astray_records)

        def synced():
            for c in self.records_all:
                st = json.loads(run([b("wanqi-agent"), "status", "--format", "json", "--dir",
                                     self.agents[c]]))
                if st.get("queued") != 0 or st.get("acknowledged") != self.records_all[c]:
                    return False
            return True
        g.wait_until(synced, 180, "every agent to have its whole campaign acknowledged")
        for p in procs:
            g.stop(p)
        self.web = None

    def wq(self, *args):
        out = run([b("wanqi-query"), "--dir", self.qdir, "--collector",
                   "tcp://127.0.0.1:%d" % self.query, "--collector-key", self.key,
                   "--timeout", "30"] + list(args) + ["--format", "json"])
        return json.loads(out)

    def start_web(self):
        for name, role, area in (("prov", "province", "130000"), ("sjz", "city", "130100"),
                                 ("changan", "county", "130102")):
            run([b("wanqi-web"), "user", "add", name, "--role", role, "--area", area, "--dir",
                 self.cdir], stdin=PASSWORDS[name] + "\n")
        log = os.path.join(self.tmp, "web.log")
        # By default every thread of wanqi-web runs under SCHED_IDLE (policy 5
        # in /proc/PID/task/TID/stat) so that it never takes CPU from ingest:
        # check it, on every thread, once the request threads exist.
        idle_log = os.path.join(self.tmp, "web-idle.log")
        p = self.g.start([b("wanqi-web"), "run", "--dir", self.cdir, "--listen", "127.0.0.1:0"],
                         log=idle_log)
        # An idle-class process gets almost no CPU while the machine is saturated
        # by normal-priority work (other suites, a CPU burner): a long deadline.
        self.g.wait_until(lambda: "listening on port" in open(idle_log, encoding="utf-8").read(), 180,
                          "wanqi-web (SCHED_IDLE) to print its port")
        policies = {}
        for tid in os.listdir("/proc/%d/task" % p.pid):
            with open("/proc/%d/task/%s/stat" % (p.pid, tid)) as f:
                policies[tid] = int(f.read().rsplit(")", 1)[1].split()[38])
        assert len(policies) > 4 and set(policies.values()) == {5}, policies
        # ... and its disk reads at the lowest best-effort level (--io low):
        # behind the collector's, never starved (docs/DASHBOARD.md).
        classes = {tid: subprocess.run(["ionice", "-p", tid], capture_output=True, text=True,
                                       timeout=30).stdout.strip() for tid in policies}
        assert set(classes.values()) == {"best-effort: prio 7"}, classes
        # Its clean exit on SIGTERM is what is checked next, not its priority:
        # under a CPU burner an idle-class process may not run within any grace
        # period, so its threads are made ordinary before it is stopped.
        for tid in policies:
            try:
                os.sched_setscheduler(int(tid), os.SCHED_OTHER, os.sched_param(0))
            except ProcessLookupError:
                pass  # a thread that has ended
            except PermissionError:
                pass  # not root and RLIMIT_NICE 0: it stops at its own pace
        assert self.g.stop(p) == 0
        # The pages below run at normal priority: on a test machine loaded by
        # other suites an idle-class server may wait minutes for a core.
        self.web = self.g.start([b("wanqi-web"), "run", "--dir", self.cdir, "--listen", "127.0.0.1:0",
                                 "--sched", "normal", "--page-rows", str(PAGE_ROWS)], log=log)

        found = []

        def port():
            m = re.search(r"listening on port (\d+)", open(log, encoding="utf-8").read())
            if m:
                found.append(int(m.group(1)))
            return bool(m)
        self.g.wait_until(port, 30, "wanqi-web to print its port")
        self.port = found[0]
        self.base = "http://127.0.0.1:%d" % self.port


def browser(g, tmp):
    port = free_port()
    g.start(["/usr/bin/chromedriver", "--port=%d" % port], log=os.path.join(tmp, "chromedriver.log"))
    g.wait_until(lambda: _open(port), 30, "chromedriver to listen")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=zh-CN",
              "--user-data-dir=" + os.path.join(tmp, "chrome-profile")):
        opts.add_argument(a)
    return webdriver.Remote(command_executor="http://127.0.0.1:%d" % port, options=opts)


def _open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def login(d, env, name):
    d.delete_all_cookies()
    d.get(env.base + "/login")
    d.find_element(By.ID, "name").send_keys(name)
    d.find_element(By.ID, "password").send_keys(PASSWORDS[name])
    follow(d, By.ID, "login")
    assert name in d.find_element(By.ID, "who").text


def ready(d):
    """The page's script has run (dash.js marks <body data-ready>).  A body read
    while a navigation replaces the document is stale, which only means "not yet"."""
    WebDriverWait(d, 30, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(
        lambda x: x.find_element(By.TAG_NAME, "body").get_attribute("data-ready"),
        "waited 30 s for the page at %s to be ready (body data-ready)" % d.current_url)


def leave(d, how, what):
    """Click a link or button that loads a new page and wait until the old
    document is gone. click() returns before the navigation starts: reading
    the page at once would read the old one (or a stale element of it)."""
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(how, what).click()
    WebDriverWait(d, 30).until(lambda x: gone(old),
                               "waited 30 s for a click on %s to load a new page (still at %s)" % (what, d.current_url))


def gone(element):
    """True once element's document has been replaced. ChromeDriver says so with a
    StaleElementReferenceException, or (chromium 156, caught mid-navigation) with a plain
    WebDriverException "Node with given id does not belong to the document": both mean gone
    (EC.staleness_of knows only the first). Any other error is raised."""
    try:
        element.is_enabled()
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        if "does not belong to the document" in str(e):
            return True
        raise


def follow(d, how, what):
    """leave(), then wait for the new page's script (ready)."""
    leave(d, how, what)
    ready(d)


def shot(d, name):
    """The whole page (the window made as tall as the page, up to 4000 px)."""
    os.makedirs(ART, exist_ok=True)
    height = min(int(d.execute_script("return Math.max(document.body.scrollHeight, "
                                      "document.documentElement.scrollHeight)")) + 20, 4000)
    d.set_window_size(1400, max(height, 1000))
    WebDriverWait(d, 30).until(lambda x: x.execute_script("return window.innerHeight") >= height - 200,
                               "waited 30 s for the window to grow to the page's height (%d px)" % height)
    time.sleep(0.3)  # charts resize with the window: let them redraw
    d.save_screenshot(os.path.join(ART, name + ".png"))
    d.set_window_size(1400, 1000)


def num(v):
    return 0 if v in (None, "") else int(v)


def check_overview(d, env, area, level, child):
    """Headline and every area row equal wanqi-query summary."""
    head = env.wq("summary", "--level", level, "--area", area, "--asof", ASOF)
    assert len(head) == 1, head
    cards = d.find_elements(By.CSS_SELECTOR, "#headline .v")
    assert len(cards) >= 10
    for c in cards:
        col = c.get_attribute("data-col")
        assert num(c.text) == num(head[0][col]), (area, col, c.text, head[0][col])
    if not child:
        return head[0]
    rows = env.wq("summary", "--level", child, "--area", area, "--asof", ASOF)
    trs = d.find_elements(By.CSS_SELECTOR, "#areas tbody tr")
    assert len(trs) == len(rows), (len(trs), len(rows))
    by = {r["area"]: r for r in rows}
    checked = 0
    for tr in trs:
        r = by[tr.get_attribute("data-area")]
        for td in tr.find_elements(By.CSS_SELECTOR, "td.num"):
            col = td.get_attribute("data-col")
            assert num(td.text) == num(r[col]), (tr.get_attribute("data-area"), col, td.text, r[col])
            checked += 1
    assert checked > 0
    return head[0]


def fetch(env, d, path):
    """GET path with the browser's session cookie (for exports)."""
    cookie = "; ".join("%s=%s" % (c["name"], c["value"]) for c in d.get_cookies())
    req = urllib.request.Request(env.base + path, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def main():
    with Guard() as g:
        env = Env(g)
        env.start_web()
        d = browser(g, env.tmp)
        try:
            scenario(env, d)
        finally:
            d.quit()
        code = g.stop(env.web)
        assert code == 0, "wanqi-web exited %s" % code
        # The store was opened read-only: verify still finds no difference.
        g.stop(env.collector)
        out = run([b("wanqi-collector"), "verify", "--dir", env.cdir])
        print(out.strip())
    print("dashboard test passed")


def scenario(env, d):
    # -- no session: the login page
    d.get(env.base + "/")
    assert "/login" in d.current_url
    d.find_element(By.ID, "name").send_keys("prov")
    d.find_element(By.ID, "password").send_keys("wrong password")
    leave(d, By.ID, "login")   # the login page again (no page script: not ready())
    assert "账号或密码错误" in d.find_element(By.ID, "login-error").text

    # -- province: overview = wanqi-query summary, at province and city level
    login(d, env, "prov")
    d.get(env.base + "/?asof=" + ASOF)
    ready(d)
    head = check_overview(d, env, "130000", "province", "city")
    assert head["problems"] > 0
    head_problems = head["problems"]
    time.sleep(0.3)  # charts are drawn without animation; let the canvas paint
    shot(d, "overview-province")
    follow(d, By.CSS_SELECTOR, "#areas tr[data-area='130100'] a.drill")
    assert "area=130100" in d.current_url
    d.get(env.base + "/?area=130100&asof=" + ASOF)
    ready(d)
    check_overview(d, env, "130100", "city", "county")
    shot(d, "overview-city")
    follow(d, By.CSS_SELECTOR, "#areas tr[data-area='130102'] a.drill")
    d.get(env.base + "/?area=130102&asof=" + ASOF)
    ready(d)
    check_overview(d, env, "130102", "county", None)

    # -- drill down to an enterprise's case book
    follow(d, By.ID, "nav-enterprises")
    first = d.find_element(By.CSS_SELECTOR, "#enterprises tbody tr td[data-col='ent']").text
    d.find_element(By.ID, "q").send_keys(first[:10])
    follow(d, By.ID, "search")
    follow(d, By.CSS_SELECTOR, "#enterprises tbody tr a.case")
    code = d.find_element(By.ID, "case-code").text
    case = env.wq("enterprise", code)
    assert len(d.find_elements(By.CSS_SELECTOR, "#case tbody tr")) == len(case)
    shot(d, "case-book")

    # -- problem ledger: overdue filter equals the overdue query, page by page
    # (下一页 keeps the filters; the count is the whole filtered set's)
    d.get(env.base + "/problems?area=130100&overdue=yes&asof=" + ASOF)
    ready(d)
    over = env.wq("overdue", "--area", "130100", "--asof", ASOF)
    assert len(over) > PAGE_ROWS, "the test's city ledger should have more than one page (%d rows)" % len(over)
    pages = (len(over) + PAGE_ROWS - 1) // PAGE_ROWS
    seen = []
    for page in range(1, pages + 1):
        cnt = d.find_element(By.ID, "problems-count")
        assert (int(cnt.get_attribute("data-total")), int(cnt.get_attribute("data-page")),
                int(cnt.get_attribute("data-pages"))) == (len(over), page, pages), cnt.text
        assert ("共 %d 行" % len(over)) in cnt.text and ("第 %d/%d 页" % (page, pages)) in cnt.text, cnt.text
        rows = d.find_elements(By.CSS_SELECTOR, "#problems tbody tr")
        assert len(rows) == min(PAGE_ROWS, len(over) - (page - 1) * PAGE_ROWS), (page, len(rows))
        assert all("red" in r.get_attribute("class") for r in rows)
        seen += [r.find_element(By.CSS_SELECTOR, "td[data-col='problem']").text for r in rows]
        if page == 1:
            assert d.find_element(By.ID, "problems-prev").tag_name == "span"  # no page before
            shot(d, "problems")
        if page < pages:
            follow(d, By.ID, "problems-next")
            url = d.current_url
            assert "overdue=yes" in url and ("asof=" + ASOF) in url and "area=130100" in url, url
            assert ("page=%d" % (page + 1)) in url, url
            if page == 1:
                shot(d, "problems-page2")
        else:
            assert d.find_element(By.ID, "problems-next").tag_name == "span"  # the last page
    assert len(seen) == len(set(seen)) == len(over)
    assert sorted(seen) == sorted(o["problem"] for o in over)
    # 末页 and 首页 links; a page number out of range or not a number shows a
    # page (clamped), never an error
    follow(d, By.ID, "problems-first")
    assert d.find_element(By.ID, "problems-count").get_attribute("data-page") == "1"
    follow(d, By.ID, "problems-last")
    assert d.find_element(By.ID, "problems-count").get_attribute("data-page") == str(pages)
    for bad, want in (("0", 1), ("-3", 1), ("abc", 1), ("", 1), ("2x", 1), (str(pages + 5), pages),
                      ("99999999999999999999999999", pages)):
        d.get(env.base + "/problems?area=130100&overdue=yes&asof=%s&page=%s" % (ASOF, bad))
        ready(d)
        assert d.find_element(By.ID, "problems-count").get_attribute("data-page") == str(want), bad
        assert len(d.find_elements(By.CSS_SELECTOR, "#problems tbody tr")) > 0, bad

    # -- sync status: never-connected agent, agent-less counties, in red
    d.get(env.base + "/sync?area=130100")
    ready(d)
    text = d.find_element(By.ID, "sync").text
    never = [tr for tr in d.find_elements(By.CSS_SELECTOR, "#sync tbody tr")
             if NEVER[1] in tr.text]
    assert len(never) == 1 and "从未连接" in never[0].text and "red" in never[0].get_attribute("class")
    noagent = [tr for tr in d.find_elements(By.CSS_SELECTOR, "#sync tbody tr") if "无采集端" in tr.text]
    assert any("井陉矿区" in tr.text for tr in noagent), text
    assert all("red" in tr.get_attribute("class") for tr in noagent)
    assert "130102-01" in text and "130104-01" in text and "130203-01" not in text
    shot(d, "sync")

    # -- quarantine and pending: both tables, the same rows as wanqi-query
    d.get(env.base + "/quarantine?area=130000")
    ready(d)
    quar = env.wq("quarantine")
    assert len(quar) == env.astray_records, (len(quar), env.astray_records)
    assert len(d.find_elements(By.CSS_SELECTOR, "#quarantine tbody tr")) == len(quar)
    qtext = d.find_element(By.ID, "quarantine").text
    assert ASTRAY[2] in qtext, qtext[:300]
    pend = d.find_elements(By.CSS_SELECTOR, "#pending tbody tr")
    assert len(pend) == 1 and PENDING_TARGET in pend[0].text, [p.text for p in pend]
    shot(d, "quarantine")

    # -- exports open with the same figures (csv and openpyxl)
    rows = env.wq("summary", "--level", "city", "--area", "130000", "--asof", ASOF)
    st, body, hdr = fetch(env, d, "/?area=130000&asof=%s&format=csv&table=areas" % ASOF)
    assert st == 200 and body.startswith(b"\xef\xbb\xbf"), (st, body[:80])
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    head = table[0]
    assert "发现问题" in head and "地区代码" in head
    pi, ai = head.index("发现问题"), head.index("地区代码")
    got = {r[ai]: int(r[pi]) for r in table[1:]}
    assert got == {r["area"]: r["problems"] for r in rows}, (got, rows)
    st, body, hdr = fetch(env, d, "/?area=130000&asof=%s&format=xlsx&table=areas" % ASOF)
    assert st == 200
    wb = openpyxl.load_workbook(io.BytesIO(body))
    ws = wb.active
    xrows = list(ws.iter_rows(values_only=True))
    assert list(xrows[0]) == head
    assert {r[ai]: int(r[pi]) for r in xrows[1:]} == got
    # the exports have every row, whatever page the link was on
    for extra in ("", "&page=2"):
        st, body, _ = fetch(env, d, "/problems?area=130100&overdue=yes&asof=%s%s&format=csv" % (ASOF, extra))
        assert st == 200, st
        table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert len(table) == len(over) + 1, (extra, len(table), len(over))
        pcol = table[0].index("问题编号")
        assert sorted(r[pcol] for r in table[1:]) == sorted(o["problem"] for o in over)
        st, body, _ = fetch(env, d, "/problems?area=130100&overdue=yes&asof=%s%s&format=xlsx" % (ASOF, extra))
        assert st == 200, st
        xrows = list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
        assert len(xrows) == len(over) + 1, (extra, len(xrows), len(over))

    # -- /metrics (loopback)
    st, body, _ = fetch(env, d, "/metrics")
    text = body.decode()
    total = sum(env.records.values())
    assert st == 200 and ("wanqi_records_ingested_total %d" % total) in text, text[:400]
    assert 'wanqi_agent_backlog{agent="130102-01"' in text
    assert "wanqi_web_query_seconds_bucket" in text
    assert "wanqi_web_cpu_ceiling_cores 0.50\n" in text   # the default --cpu-percent 50
    assert re.search(r"^wanqi_web_cpu_wait_seconds_total \d+\.\d{3}$", text, re.M), text[-600:]

    # -- wanqi-query summary: column groups, totals row, area alone, from after to
    base = [b("wanqi-query"), "--dir", env.qdir, "--collector", "tcp://127.0.0.1:%d" % env.query,
            "--collector-key", env.key, "--timeout", "30"]
    out = run(base + ["summary", "--level", "city", "--columns", "problems", "--asof", ASOF,
                      "--format", "csv"])
    table = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    assert table[0][:3] == ["area", "area_name", "level"], table[0]
    assert all(c.startswith(("problems", "plans", "overdue")) for c in table[0][3:]), table[0]
    assert "visits" not in table[0] and "services" not in table[0]
    assert table[-1][0] == "total" and table[-1][1] == "合计"
    pi = table[0].index("problems")
    assert int(table[-1][pi]) == sum(int(r[pi]) for r in table[1:-1]) == head_problems
    one = env.wq("summary", "--area", "130100", "--asof", ASOF)
    assert len(one) == 1 and one[0]["level"] == "city" and one[0]["area"] == "130100"
    bad = subprocess.run(base + ["summary", "--from", "2019-06", "--to", "2019-05"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "after" in bad.stderr, (bad.returncode, bad.stderr)

    # -- city account: its counties only, whatever the URL says
    login(d, env, "sjz")
    d.get(env.base + "/")
    ready(d)
    assert "石家庄市" in d.find_element(By.TAG_NAME, "h1").text
    check_overview(d, env, "130100", "city", "county")
    for path in ("/?area=130200", "/?area=130203", "/?area=130000", "/problems?area=130203",
                 "/sync?area=130200", "/quarantine?area=130000", "/enterprises?area=130203",
                 "/problems?area=130203&page=2", "/problems?area=130000&overdue=yes&page=9999",
                 "/enterprises?area=130203&page=2", "/enterprises?page=2&area=130000",
                 "/problems?area=130203&page=2&format=csv"):
        d.get(env.base + path)
        assert "无权查看" in d.find_element(By.TAG_NAME, "body").text, path
        st, _, _ = fetch(env, d, path)
        assert st == 403, (path, st)
    tangshan = env.wq("summary", "--level", "county", "--area", "130203")
    assert tangshan  # the other city has data the city account must not reach
    ts_ent = [r for r in env.wq("overdue", "--area", "130203", "--asof", ASOF)]
    ts_case = ts_ent[0]["ent"] if ts_ent else None
    if ts_case:
        st, _, _ = fetch(env, d, "/enterprise/" + ts_case)
        assert st == 404, st
    d.get(env.base + "/problems")
    ready(d)
    counties = {td.text for td in d.find_elements(By.CSS_SELECTOR, "#problems td[data-col='county_name']")}
    assert counties and counties <= {"长安区", "桥西区"}, counties
    shot(d, "problems-city")
    d.get(env.base + "/sync")
    ready(d)
    shot(d, "sync-city")
    d.get(env.base + "/quarantine")
    ready(d)
    shot(d, "quarantine-city")

    # -- county account: itself only
    login(d, env, "changan")
    d.get(env.base + "/")
    ready(d)
    check_overview(d, env, "130102", "county", None)
    d.get(env.base + "/?area=130104")
    assert "无权查看" in d.find_element(By.TAG_NAME, "body").text
    d.get(env.base + "/")
    ready(d)
    time.sleep(0.3)  # let the canvas paint
    shot(d, "overview-county")
    d.get(env.base + "/sync")
    ready(d)
    assert "130104-01" not in d.find_element(By.ID, "sync").text
    shot(d, "sync-county")
    d.get(env.base + "/problems?asof=" + ASOF)
    ready(d)
    shot(d, "problems-county")
    d.get(env.base + "/quarantine")
    ready(d)
    shot(d, "quarantine-county")
    follow(d, By.ID, "nav-enterprises")
    shot(d, "enterprises-county")
    follow(d, By.CSS_SELECTOR, "#enterprises tbody tr a.case")
    shot(d, "case-book-county")

    # -- logout
    d.find_element(By.ID, "logout").click()
    WebDriverWait(d, 30).until(lambda x: "/login" in x.current_url)

    # -- accounts are re-read while wanqi-web runs: a user added logs in, a
    #    user removed is logged out at the next page (no restart)
    run([b("wanqi-web"), "user", "add", "qiaoxi", "--role", "county", "--area", "130104", "--dir",
         env.cdir], stdin="qiaoxi pass 44\n")
    PASSWORDS["qiaoxi"] = "qiaoxi pass 44"
    login(d, env, "qiaoxi")
    d.get(env.base + "/")
    ready(d)
    assert "桥西区" in d.find_element(By.TAG_NAME, "h1").text
    run([b("wanqi-web"), "user", "remove", "qiaoxi", "--dir", env.cdir])

    def logged_out():
        d.get(env.base + "/")
        return "/login" in d.current_url
    env.g.wait_until(logged_out, 30, "the removed account's session to end (the next page goes "
                     "to the login page)", seen=lambda: d.current_url)


if __name__ == "__main__":
    main()
