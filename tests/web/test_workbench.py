#!/usr/bin/env python3
"""The county workbench end to end, as a cadre uses it (issue 12, "Done when").

A real wanqi-collector and wanqi-agent on 127.0.0.1 (ephemeral ports), the
agent's `serve`, and Debian's headless Chromium driven by Selenium: register an
enterprise with a wrong then a right credit code; record a visit, a problem, a
plan with a past deadline, progress, a service, a consultation and its answer, a
classification, a correction and a retraction; an identical record is caught;
the ledger shows the overdue problem and the case book applies the correction.
Then `wanqi-agent list` must hold exactly what was entered, `wanqi-agent run`
syncs it, the page says everything reached the province, and wanqi-query's
figures agree. A screenshot of each page goes to $WANQI_ARTIFACTS (default
build/artifacts/workbench).

Every child runs in its own process group with PR_SET_PDEATHSIG, and is killed
in `finally`; every wait has a deadline and says what it waited for.
"""
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BIN = os.environ.get("WANQI_BIN_DIR") or os.path.join(os.path.dirname(__file__), "../../build/bin")
ART = os.environ.get("WANQI_ARTIFACTS") or os.path.join(BIN, "..", "artifacts", "workbench")
TODAY = "2019-12-31"       # the workbench's "today": the plan's deadline is past by then
ENT = "91130102MA07L5QK9L"
ENT_BAD = "91130102MA07L5QK9X"
WAIT = 30

_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _child_setup():
    os.setpgrp()
    _libc.prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG: die with the test


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, name, args, log, env=None):
        f = open(log, "wb")
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=f, env=env, preexec_fn=_child_setup)
        self.procs.append((name, p, f))
        return p

    def stop_all(self):
        """Stop every child (SIGTERM, then SIGKILL); returns {name: exit status}."""
        codes = {}
        for name, p, f in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                    p.wait(timeout=10)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    p.wait(timeout=10)
            codes[name] = p.returncode
            if p.stdout:
                p.stdout.close()
            f.close()
        self.procs = []
        return codes


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def run(args, env=None, check=True):
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def until(what, fn, timeout=WAIT):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %ds waiting for %s" % (timeout, what))
        time.sleep(0.2)


class Bench:
    """The browser on the workbench."""

    def __init__(self, url, profile):
        opts = webdriver.ChromeOptions()
        for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--lang=zh-CN", "--window-size=1280,1500",
                  "--user-data-dir=" + profile):
            opts.add_argument(a)
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        self.d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                                  options=opts)
        self.url = url
        self.shots = 0

    def wait(self, what, fn, timeout=WAIT):
        try:
            # Pickers are refilled when the enterprise is chosen: an element read
            # during a refill may be gone, which only means "not yet".
            return WebDriverWait(self.d, timeout, poll_frequency=0.2,
                                 ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
                                 ).until(lambda d: fn())
        except TimeoutException:
            self.shot("timeout")
            raise AssertionError("timed out after %ds waiting for %s (screenshot kept)" % (timeout, what))

    def go(self, hash_, page):
        self.d.get(self.url + hash_)
        self.wait("page %s" % page, lambda: self.d.find_element(By.TAG_NAME, "body").get_attribute("data-page") == page
                  and "正在" not in self.d.find_element(By.ID, "sync").text)

    def el(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def els(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def type(self, fid, text):
        e = self.el("#" + fid)
        e.clear()
        e.send_keys(text)

    def pick(self, fid, value):
        """Choose value in select #fid once the picker has it."""
        def chosen():
            if not any(o.get_attribute("value") == value for o in self.els("#%s option" % fid)):
                return False
            Select(self.el("#" + fid)).select_by_value(value)
            return Select(self.el("#" + fid)).first_selected_option.get_attribute("value") == value
        self.wait("option %s chosen in #%s" % (value, fid), chosen)

    def save(self):
        self.el("#save").click()
        self.wait("the answer to 保存", lambda: self.els("#saved, #rejected, #duplicate"))
        return self.els("#saved, #rejected, #duplicate")[0]

    def saved(self, what):
        box = self.save()
        if box.get_attribute("id") != "saved":
            self.shot("not-saved-" + what)
            raise AssertionError("%s was not saved: %s" % (what, box.text))
        assert "已安全写入本机磁盘" in box.text, box.text
        return box.get_attribute("data-id")

    def shot(self, name):
        self.shots += 1
        os.makedirs(ART, exist_ok=True)
        path = os.path.join(ART, "%02d-%s.png" % (self.shots, name))
        # The whole page: make the window as tall as the document.
        h = self.d.execute_script("return Math.max(document.body.scrollHeight, 900)")
        self.d.set_window_size(1280, min(int(h) + 40, 6000))
        self.d.save_screenshot(path)
        self.d.set_window_size(1280, 1500)
        return path

    def close(self):
        self.d.quit()


def upload(b, path, good, dup, bad, dup_of, name):
    """Upload path on the import page: the preview shows every row (good, already
    recorded with its id, bad with the reason in Chinese); then 导入无误的行 stores the
    good ones; the report is downloadable. Returns the id of the stored row."""
    b.go("#/import", "import")
    b.el("#import-file").send_keys(path)
    b.el("#import-check").click()
    b.wait("the preview of %s" % path, lambda: b.els("#import-preview, #import-error"))
    assert b.els("#import-preview"), b.el("#main").text
    rows = b.els("#import-rows tr[data-outcome]")
    got = [r.get_attribute("data-outcome") for r in rows]
    assert sorted(got) == sorted(["good"] * good + ["duplicate"] * dup + ["bad"] * bad), (got, b.el("#main").text)
    d = [r for r in rows if r.get_attribute("data-outcome") == "duplicate"][0]
    assert dup_of in d.text and "已记录" in d.text, d.text     # the message in Chinese (zh_CN catalog)
    badrow = [r for r in rows if r.get_attribute("data-outcome") == "bad"][0]
    assert any("\u4e00" <= c <= "\u9fff" for c in badrow.find_elements(By.TAG_NAME, "td")[4].text), badrow.text
    assert b.el("#import-report").get_attribute("download").endswith(".csv")
    b.shot("import-preview-" + name)
    b.el("#import-good").click()
    b.wait("the import of the good rows", lambda: b.els("#import-done"))
    stored = b.els("#import-rows tr[data-outcome=stored]")
    assert len(stored) == good, b.el("#main").text
    b.shot("import-done-" + name)
    return stored[0].find_element(By.CSS_SELECTOR, ".id").text


def form(b, type_, query=""):
    b.go("#/new/" + type_ + query, "new")
    b.wait("the %s form" % type_, lambda: b.els("#form[data-type=%s] #save" % type_))
    if type_ != "enterprise":
        b.wait("the enterprise picker", lambda: Select(b.el("#f-ent")).first_selected_option.get_attribute("value") == ENT)


def main():
    tmp = tempfile.mkdtemp(prefix="wanqi-web-")
    procs = Procs()
    bench = None
    try:
        ingest, query = free_ports(2)
        col = os.path.join(tmp, "collector")
        r = run([BIN + "/wanqi-collector", "init", "--dir", col, "--ingest", "tcp://127.0.0.1:%d" % ingest,
                 "--query", "tcp://127.0.0.1:%d" % query, "--map-size", "64M"])
        col_key = r.stdout.splitlines()[0].strip()
        qkey = run([BIN + "/wanqi-query", "keygen", "--dir", os.path.join(tmp, "query")]).stdout.splitlines()[0].strip()
        run([BIN + "/wanqi-collector", "authorize", "client", "--dir", col, "--key", qkey, "--name", "staff"])
        agent = os.path.join(tmp, "agent")
        r = run([BIN + "/wanqi-agent", "init", "--dir", agent, "--agent-id", "130102-01", "--county", "130102",
                 "--collector", "tcp://127.0.0.1:%d" % ingest, "--collector-key", col_key,
                 "--config", "heartbeat_ms=1000", "--config", "backoff_min_ms=100", "--config", "backoff_max_ms=1000"])
        akey = [l.split(": ", 1)[1] for l in r.stdout.splitlines() if l.startswith("public key: ")][0]
        run([BIN + "/wanqi-collector", "authorize", "agent", "--dir", col, "--key", akey,
             "--agent-id", "130102-01", "--county", "130102"])

        # An account: from then on everyone logs in (Argon2id hash in DIR/web-accounts).
        r = subprocess.run([BIN + "/wanqi-agent", "user", "add", "王芳", "--dir", agent], input="wangfang-2019\n",
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert oct(os.stat(os.path.join(agent, "web-accounts")).st_mode & 0o777) == "0o600"

        env = dict(os.environ, WANQI_TODAY=TODAY)
        serve = procs.start("serve", [BIN + "/wanqi-agent", "serve", "--dir", agent, "--listen", "127.0.0.1:0"],
                            os.path.join(tmp, "serve.log"), env=env)
        line = serve.stdout.readline().decode()
        assert line.startswith("listening on http://127.0.0.1:"), "serve said %r (log: %s)" % (
            line, open(os.path.join(tmp, "serve.log")).read())
        url = line.split(" on ", 1)[1].strip().rstrip("/") + "/"
        bench = Bench(url, os.path.join(tmp, "chromium"))
        b = bench
        ids = {}

        # -- log in: the pages need it once an account exists; a wrong password is refused
        b.d.get(url)
        b.wait("the login page", lambda: b.els("#login-form"))
        b.type("name", "王芳")
        b.type("password", "wrong-password")
        b.el("#login").click()
        b.wait("the refusal", lambda: b.els("#login-error"))
        assert "账号或密码错误" in b.el("#login-error").text
        b.type("name", "王芳")
        b.type("password", "wangfang-2019")
        b.el("#login").click()
        b.wait("the ledger after login", lambda: b.d.find_element(By.TAG_NAME, "body").get_attribute("data-page") == "ledger")
        assert "王芳" in b.el("#who").text
        # The cookie is HttpOnly and SameSite=Strict; a POST without the session's CSRF
        # token is refused, and without a session there is nothing to post to.
        cookie = b.d.get_cookie("wq_workbench")
        assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", cookie
        body = urllib.parse.urlencode({"type": "service", "ent": ENT, "kind": "law", "content": "伪造"}).encode()
        for headers, want in (({}, 401), ({"Cookie": "wq_workbench=" + cookie["value"]}, 403)):
            req = urllib.request.Request(url + "api/record", data=body, headers=headers, method="POST")
            try:
                urllib.request.urlopen(req, timeout=10)
                raise AssertionError("a POST without %s was accepted" % ("a session" if not headers else "the CSRF token"))
            except urllib.error.HTTPError as e:
                assert e.code == want, (headers, e.code)

        # -- the enterprise: a wrong credit code is caught as typed, then the right one
        form(b, "enterprise")
        b.type("f-ent", ENT_BAD)
        b.wait("the check-character warning beside the code", lambda: "校验位" in b.el("#e-ent").text)
        assert "第 18 位应为“L”" in b.el("#e-ent").text, b.el("#e-ent").text
        b.type("f-name", "石家庄市长安区恒信化工有限公司")
        b.type("f-industry", "C2614")
        b.type("f-date", "2019-03-01")
        box = b.save()
        assert box.get_attribute("id") == "rejected", box.text
        # The validator's own sentence, from the zh_CN catalog, beside the field.
        b.wait("the server's error beside the code", lambda: "校验" in b.el("#e-ent").text
               and "应为 'L'" in b.el("#e-ent").text)
        assert "invalid" in b.el("#f-ent").get_attribute("class")
        b.shot("enterprise-wrong-code")
        b.type("f-ent", ENT)
        b.wait("the code accepted", lambda: "校验通过" in b.el("#e-ent").text)
        b.type("f-address", "石家庄市长安区建设北大街 12 号")
        Select(b.el("#f-focus")).select_by_value("discharger")
        Select(b.el("#f-above_size")).select_by_value("true")
        b.type("f-cadre", "王芳")
        ids["enterprise"] = b.saved("enterprise")
        b.shot("enterprise-saved")

        # -- a visit, a problem found on it, a plan whose deadline has passed, progress
        form(b, "visit", "?ent=" + ENT)
        b.type("f-date", "2019-03-05")
        b.type("f-cadres", "王芳,李强")
        Select(b.el("#f-method")).select_by_value("field_visit")
        b.type("f-findings", "锅炉房无组织排放，台账不全。")
        ids["visit"] = b.saved("visit")

        form(b, "problem", "?ent=" + ENT)
        b.type("f-date", "2019-03-05")
        b.pick("f-visit", ids["visit"])
        Select(b.el("#f-category")).select_by_value("air")
        b.type("f-description", "锅炉房无组织排放")
        box = b.save()      # severity left out: refused, with the reason beside it
        assert box.get_attribute("id") == "rejected", box.text
        b.wait("the missing-field message", lambda: "必填" in b.el("#e-severity").text)
        b.shot("problem-missing-field")
        Select(b.el("#f-severity")).select_by_value("serious")
        ids["problem"] = b.saved("problem")

        form(b, "plan", "?ent=%s&problem=%s" % (ENT, ids["problem"]))
        b.pick("f-problem", ids["problem"])
        b.type("f-date", "2019-03-10")
        b.type("f-measures", "加装集气罩和布袋除尘，完善环保台账。")
        b.type("f-deadline", "2019-06-30")
        ids["plan"] = b.saved("plan")
        b.shot("plan-saved")

        form(b, "progress", "?ent=%s&problem=%s" % (ENT, ids["problem"]))
        b.pick("f-problem", ids["problem"])
        b.type("f-date", "2019-05-20")
        Select(b.el("#f-status")).select_by_value("in_progress")
        b.type("f-note", "设备已订购。")
        ids["progress"] = b.saved("progress")

        # -- services: one good, one mistaken (retracted below); a repeat is caught
        form(b, "service", "?ent=" + ENT)
        b.type("f-date", "2019-04-02")
        Select(b.el("#f-kind")).select_by_value("policy")
        b.type("f-content", "讲解《河北省大气污染防治条例》。")
        ids["service"] = b.saved("service")
        box = b.save()
        assert box.get_attribute("id") == "duplicate", box.text
        assert box.get_attribute("data-id") == ids["service"] and "记录过" in box.text, box.text
        b.shot("service-duplicate")
        form(b, "service", "?ent=" + ENT)
        b.type("f-date", "2019-04-03")
        Select(b.el("#f-kind")).select_by_value("law")
        b.type("f-content", "误录的一条服务。")
        ids["service2"] = b.saved("service2")

        # -- a consultation, then its answer from the "awaiting an answer" page
        form(b, "consultation", "?ent=" + ENT)
        b.type("f-date", "2019-04-10")
        Select(b.el("#f-channel")).select_by_value("reception_day")
        b.type("f-question", "超低排放改造有无补贴？")
        ids["consultation"] = b.saved("consultation")
        b.go("#/consultations", "consultations")
        b.wait("the consultation awaiting an answer", lambda: b.els("tr[data-id='%s']" % ids["consultation"]))
        b.shot("consultations-open")
        b.el("tr[data-id='%s'] a[href*='answer']" % ids["consultation"]).click()
        b.wait("the answer form", lambda: b.els("#form[data-type=answer] #save"))
        b.wait("the enterprise picker", lambda: Select(b.el("#f-ent")).first_selected_option.get_attribute("value") == ENT)
        b.pick("f-consultation", ids["consultation"])
        b.wait("the consultation chosen", lambda: Select(b.el("#f-consultation")).first_selected_option.get_attribute("value") == ids["consultation"])
        b.type("f-date", "2019-04-15")
        b.type("f-answer", "有，按省级专项资金办法申报。")
        ids["answer"] = b.saved("answer")
        b.go("#/consultations", "consultations")
        b.wait("no consultation awaiting an answer", lambda: "没有待答复的咨询" in b.el("#main").text)

        form(b, "classification", "?ent=" + ENT)
        b.type("f-date", "2019-04-20")
        Select(b.el("#f-class")).select_by_value("strict")
        b.type("f-reason", "高耗能行业，从严监管。")
        ids["classification"] = b.saved("classification")

        # -- a correction of the problem's description, a retraction of the mistaken service
        form(b, "correction", "?ent=" + ENT)
        b.pick("f-target", ids["problem"])
        b.wait("the corrected fields of a problem", lambda: b.els("#f-set-description"))
        b.type("f-date", "2019-03-06")
        b.type("f-set-description", "锅炉房及原料堆场无组织排放")
        b.type("f-reason", "现场复核后补充")
        b.shot("correction-form")
        ids["correction"] = b.saved("correction")

        form(b, "retraction", "?ent=" + ENT)
        b.pick("f-target", ids["service2"])
        b.type("f-date", "2019-04-03")
        b.type("f-reason", "误录")
        ids["retraction"] = b.saved("retraction")

        # -- import by upload: a GBK CSV as Chinese Excel saves it, then an .xlsx; each
        #    with a bad row and a duplicate (of a record entered above / of the CSV's row)
        csv_path = os.path.join(tmp, "服务记录.csv")
        with open(csv_path, "wb") as f:
            f.write(("记录类型,日期,统一社会信用代码,录入人,服务类型,服务内容\r\n"
                     "服务,2019/5/6,%s,王芳,送法律,宣讲《环境保护法》\r\n"
                     "服务,2019-04-02,%s,王芳,送政策,讲解《河北省大气污染防治条例》。\r\n"
                     "服务,2019-02-30,%s,王芳,送科技,日期不对的一行\r\n"
                     ",,,,,\r\n" % (ENT, ENT, ENT)).encode("gbk"))
        ids["csv"] = upload(b, csv_path, good=1, dup=1, bad=1, dup_of=ids["service"], name="csv")
        import openpyxl
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "走访"
        ws.append(["日期", "统一社会信用代码", "录入人", "走访干部", "走访方式", "发现情况"])
        ws.append(["2019-05-08", ENT, "王芳", "王芳,赵敏", "座谈", "与企业负责人座谈整改进度。"])
        ws.append(["2019-05-09", ENT, "王芳", "王芳", "上门喝茶", "方式写错的一行"])
        ws.append(["2019-03-05", ENT, "王芳", "王芳,李强", "实地走访", "锅炉房无组织排放，台账不全。"])
        xlsx_path = os.path.join(tmp, "走访记录.xlsx")
        wb.save(xlsx_path)
        ids["xlsx"] = upload(b, xlsx_path, good=1, dup=1, bad=1, dup_of=ids["visit"], name="xlsx")

        # -- the ledger: the problem is overdue (deadline 2019-06-30, today 2019-12-31)
        b.go("#/ledger", "ledger")
        row = b.wait("the problem in the ledger", lambda: b.els("#ledger tr[data-id='%s']" % ids["problem"]))[0]
        assert "overdue" in row.get_attribute("class"), row.get_attribute("class")
        assert "逾期 184 天" in row.text, row.text
        assert "锅炉房及原料堆场无组织排放" in row.text, row.text     # the correction applied
        assert "整改中" in row.text, row.text
        Select(b.el("#flt-status")).select_by_value("overdue")
        assert len(b.els("#ledger tbody tr")) == 1
        b.shot("ledger")

        # -- the case book: correction applied, retraction struck through
        b.go("#/book/" + ENT, "book")
        b.wait("the case book", lambda: b.els("#book .rec[data-id='%s']" % ids["problem"]))
        prob = b.el("#book .rec[data-id='%s']" % ids["problem"])
        assert "锅炉房及原料堆场无组织排放" in prob.text and "已更正" in prob.text, prob.text
        svc2 = b.el("#book .rec[data-id='%s']" % ids["service2"])
        assert "retracted" in svc2.get_attribute("class") and "已撤销" in svc2.text, svc2.text
        assert b.el("#book .rec[data-id='%s'] .body" % ids["service2"]).value_of_css_property("text-decoration-line") == "line-through"
        for k in ("plan", "progress", "answer"):
            assert b.els("#book .sub .rec[data-id='%s']" % ids[k]), k + " not under its problem/consultation"
        assert "从严从紧" in b.el("#book").text
        b.shot("casebook")
        assert "条待发送" in b.el("#sync").text, b.el("#sync").text

        # -- wanqi-agent list holds exactly what was entered
        lst = run([BIN + "/wanqi-agent", "list", "--dir", agent, "--format", "json"]).stdout
        rows = json.loads(lst)
        got = sorted(r["id"] for r in rows)
        shown = json.loads(run([BIN + "/wanqi-agent", "list", "--dir", agent, "--format", "json", "--type", "visit"]).stdout)
        assert len(shown) == 2, shown
        assert got == sorted(ids.values()), (got, ids)

        # -- sync to the real collector; the page says so; the province's figures agree
        procs.start("collector", [BIN + "/wanqi-collector", "run", "--dir", col], os.path.join(tmp, "collector.log"))
        procs.start("run", [BIN + "/wanqi-agent", "run", "--dir", agent], os.path.join(tmp, "run.log"))

        def synced():
            s = json.loads(run([BIN + "/wanqi-agent", "status", "--dir", agent, "--format", "json"]).stdout)
            return s["queued"] == 0 and s["acknowledged"] == len(ids)
        until("wanqi-agent run to deliver all %d records (see %s/run.log)" % (len(ids), tmp), synced, 120)
        b.go("#/ledger", "ledger")
        b.wait("the sync line to say everything reached the province", lambda: "全部已送达省平台" in b.el("#sync").text)
        b.shot("ledger-synced")

        q = [BIN + "/wanqi-query", "--dir", os.path.join(tmp, "query"), "--collector", "tcp://127.0.0.1:%d" % query,
             "--collector-key", col_key, "--format", "json"]
        summ = json.loads(run(q + ["summary", "--level", "county", "--area", "130102", "--asof", TODAY]).stdout)
        print("collector summary:", json.dumps(summ, ensure_ascii=False))
        over = json.loads(run(q + ["overdue", "--asof", TODAY]).stdout)
        print("collector overdue:", json.dumps(over, ensure_ascii=False))
        check_figures(summ, over, ids)
        # Every program stops cleanly on SIGTERM, and (in the sanitizer build) reports nothing.
        bench.close()
        bench = None
        codes = procs.stop_all()
        assert all(c == 0 for c in codes.values()), "a program did not exit cleanly: %r" % codes
        for name in ("serve", "run", "collector"):
            with open(os.path.join(tmp, name + ".log"), errors="replace") as f:
                text = f.read()
            assert "runtime error" not in text and "Sanitizer" not in text, "%s.log:\n%s" % (name, text[-3000:])
        print("ok: %d records entered in the browser, listed, synced and counted; screenshots in %s" % (len(ids), ART))
        return 0
    except BaseException:
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".log"):
                with open(os.path.join(tmp, name), errors="replace") as f:
                    print("---- %s (last lines) ----\n%s" % (name, "".join(f.readlines()[-15:])))
        raise
    finally:
        if bench:
            bench.close()
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


def check_figures(summ, over, ids):
    """The province's figures for the county equal what was entered in the browser:
    the retracted service and the bad rows are not counted, the duplicates once, the
    imported service and visit are, the answered consultation is, the problem is in
    progress (its last progress) and overdue by 184 days."""
    assert isinstance(summ, list) and len(summ) == 1, summ
    row = summ[0]
    want = {"enterprises_registered": 1, "enterprises_visited": 1, "visits": 2, "visits_field_visit": 1,
            "visits_symposium": 1, "problems": 1, "problems_air": 1, "problems_in_progress": 1,
            "problems_open": 0, "plans": 1, "overdue": 1, "services": 2, "services_policy": 1,
            "services_law": 1, "services_technology": 0, "consultations": 1, "consultations_answered": 1,
            "class_strict": 1}
    bad = {k: (row.get(k), v) for k, v in want.items() if row.get(k) != v}
    assert not bad, "collector figures differ from what was entered (got, want): %r" % bad
    assert len(over) == 1 and over[0]["problem"] == ids["problem"] and over[0]["days_overdue"] == 184, over


if __name__ == "__main__":
    sys.exit(main())
