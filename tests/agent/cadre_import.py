#!/usr/bin/python3
"""A cadre's import, end to end (issue 11, "Done when").

With LANG=zh_CN.UTF-8, as a county cadre works:
  1. `wanqi-agent template` writes the .xlsx; openpyxl fills it like Excel
     would: Chinese values, Excel date cells, drop-down labels, a trailing
     blank row (formatted but empty cells) and the notes row left in place.
  2. A CSV saved by Chinese Excel: GBK, CRLF, Chinese headers and an English
     one in capitals, dates as 2019/5/8, 2019年5月9日, 2019.5.10, a trailing
     empty row.
  3. Both are imported, then both again: the second time nothing is stored,
     every row is reported in Chinese as already recorded with its id, and
     the outbox holds each record exactly once (checked record by record
     with `list --format json`).
  4. A row with a wrong value is refused naming the file, line, column as
     written and value, in Chinese; after the cadre corrects the file, the
     re-import stores only that row.
  5. A collector on 127.0.0.1 receives them; `status` then says in words that
     everything reached the province ("全部 12 条记录已送达省平台").
Runs the real wanqi-agent and wanqi-collector; leaves nothing behind.
"""
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import sys
import tempfile

import openpyxl
from openpyxl.styles import Font

BIN = os.environ.get("WANQI_BIN_DIR", "build/bin")
AGENT = os.path.join(BIN, "wanqi-agent")
COLLECTOR = os.path.join(BIN, "wanqi-collector")
ENT1 = "91130102MA0000001Y"
ENT2 = "91130102MA00000022"
ENV = dict(os.environ, LANG="zh_CN.UTF-8", LANGUAGE="zh_CN", LC_ALL="")
ENV.pop("LC_ALL")


def run(*args, ok=(0,)):
    p = subprocess.run([AGENT, *args], env=ENV, capture_output=True, text=True, timeout=120)
    if p.returncode not in ok:
        sys.exit("FAIL: wanqi-agent %s exited %d\nstdout:\n%s\nstderr:\n%s"
                 % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collector(*args):
    p = subprocess.run([COLLECTOR, *args], env=ENV, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        sys.exit("FAIL: wanqi-collector %s exited %d\n%s%s"
                 % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def stop(proc, name):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            sys.exit("FAIL: %s did not stop within 30 s of SIGTERM" % name)


def check(cond, what, detail=""):
    if not cond:
        sys.exit("FAIL: %s\n%s" % (what, detail))
    print("ok:", what)


def fill_template(path, out):
    wb = openpyxl.load_workbook(path)
    ws = wb["企业"]
    ws.append([datetime.date(2019, 5, 6), ENT1, "石家庄恒泰化工有限公司", "C2614", "长安区建设北大街1号",
               "是", "规上排污企业", "王五", None, None])
    ws.append([datetime.date(2019, 5, 6), ENT2, "石家庄绿源纸业有限公司", "C2221", None,
               "否", "先进制造业", None, "李四", "E-2"])
    ws = wb["走访"]
    ws.append([datetime.datetime(2019, 5, 7), ENT1, "张三、李四", "实地走访",
               "废气收集不到位，危废台账不全"])
    ws.append([datetime.datetime(2019, 5, 7), ENT2, "张三", "执法检查", None])
    ws = wb["问题"]
    ws.append([datetime.date(2019, 5, 7), ENT1, "大气", "一般", "喷漆工序无组织排放"])
    ws = wb["服务"]
    ws.append([datetime.date(2019, 5, 8), ENT1, "送政策", "讲解挥发性有机物治理政策"])
    ws = wb["分类监管"]
    ws.append([datetime.date(2019, 5, 9), ENT2, "扶持", "守法经营，治理水平高"])
    # Excel's trailing blank row: cells that were formatted, then emptied.
    for name in ("企业", "走访"):
        sheet = wb[name]
        row = sheet.max_row + 1
        for col in range(1, 4):
            sheet.cell(row=row, column=col).font = Font(bold=True)
        sheet.cell(row=row, column=2, value=" ")
    wb.save(out)
    return 7     # records in the workbook


GBK_ROWS = [
    "记录类型,日期,统一社会信用代码,走访干部,METHOD,问题类别,严重程度,问题描述,服务类型,服务内容",
    "走访,2019/5/8,%s,王五,座谈,,,,," % ENT1,
    "问题,2019年5月9日,%s,,,固废,严重,危废贮存场所未防渗,," % ENT1,
    "服务,2019.5.10,%s,,,,,,送科技,推荐袋式除尘技术" % ENT2,
    ",,,,,,,,,",
]


def main():
    tmp = tempfile.mkdtemp(prefix="wq-cadre-")
    try:
        d = os.path.join(tmp, "agent")
        col = os.path.join(tmp, "collector")
        ingest = free_port()
        p = collector("init", "--dir", col, "--ingest", "tcp://127.0.0.1:%d" % ingest,
                      "--query", "tcp://127.0.0.1:%d" % free_port(), "--map-size", "64M")
        col_key = p.stdout.splitlines()[0].strip()
        check(len(col_key) == 40, "collector initialised", p.stdout)
        p = run("init", "--dir", d, "--agent-id", "130102-01", "--county", "130102",
                "--collector", "tcp://127.0.0.1:%d" % ingest, "--collector-key", col_key,
                "--config", "backoff_min_ms=200", "--config", "backoff_max_ms=1000")
        agent_key = [l.split(":", 1)[1].strip() for l in (p.stdout + p.stderr).splitlines()
                     if l.startswith("public key:")]
        check(len(agent_key) == 1 and len(agent_key[0]) == 40, "agent initialised", p.stdout)
        collector("authorize", "agent", "--dir", col, "--key", agent_key[0],
                  "--agent-id", "130102-01", "--county", "130102")
        tpl = os.path.join(tmp, "模板.xlsx")
        p = run("template", tpl)
        check(os.path.exists(tpl), "template .xlsx written", p.stderr)
        check("已生成" in p.stderr, "template speaks Chinese", p.stderr)
        xlsx = os.path.join(tmp, "五月台账.xlsx")
        n_xlsx = fill_template(tpl, xlsx)
        csv = os.path.join(tmp, "走访登记.csv")
        with open(csv, "wb") as f:
            f.write("\r\n".join(GBK_ROWS).encode("gbk") + b"\r\n")
        n_csv = 3

        # First import: every record stored once.
        p1 = run("import", "--dir", d, xlsx)
        stored1 = [l for l in p1.stdout.splitlines() if l.strip()]
        check(len(stored1) == n_xlsx, "xlsx: %d records stored" % n_xlsx, p1.stdout + p1.stderr)
        check("新存入 %d 条" % n_xlsx in p1.stderr, "xlsx: a true summary line in Chinese", p1.stderr)
        p2 = run("import", "--dir", d, csv)
        stored2 = [l for l in p2.stdout.splitlines() if l.strip()]
        check(len(stored2) == n_csv, "GBK CSV: %d records stored" % n_csv, p2.stdout + p2.stderr)

        # Second import of the same files: nothing stored, each row named.
        p3 = run("import", "--dir", d, xlsx)
        check(p3.stdout.strip() == "", "xlsx again: nothing stored", p3.stdout)
        check(p3.stderr.count("已记录为 130102-01/") == n_xlsx and "跳过" in p3.stderr,
              "xlsx again: every row reported as already recorded, with its id", p3.stderr)
        check("工作表“走访”第3行：已记录为 130102-01/" in p3.stderr,
              "xlsx again: sheet and row named", p3.stderr)
        check("新存入 0 条" in p3.stderr, "xlsx again: the summary says 0 stored", p3.stderr)
        p4 = run("import", "--dir", d, csv)
        check(p4.stdout.strip() == "", "GBK CSV again: nothing stored", p4.stdout)
        check("走访登记.csv 第2行：已记录为 130102-01/" in p4.stderr,
              "GBK CSV again: line 2 reported with its id", p4.stderr)

        # The outbox holds each record exactly once.
        p = run("export", "--dir", d)
        recs = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        check(len(recs) == n_xlsx + n_csv, "the outbox holds %d records" % (n_xlsx + n_csv),
              p.stdout)
        def key(r):
            return json.dumps({k: v for k, v in r.items()
                               if k not in ("agent", "inc", "seq", "recorded", "id")},
                              sort_keys=True, ensure_ascii=False)
        keys = [key(r) for r in recs]
        check(len(set(keys)) == len(keys), "no record twice", "\n".join(sorted(keys)))
        dates = sorted(r.get("date") for r in recs)
        check(dates == ["2019-05-06", "2019-05-06", "2019-05-07", "2019-05-07", "2019-05-07",
                        "2019-05-08", "2019-05-08", "2019-05-09", "2019-05-09", "2019-05-10"],
              "Excel dates and 2019/5/8, 2019年5月9日, 2019.5.10 read as dates", str(dates))
        visits = sorted(r.get("method") for r in recs if r.get("type") == "visit")
        check(visits == ["enforcement_inspection", "field_visit", "symposium"],
              "Chinese labels stored as codes", str(visits))
        ent = [r for r in recs if r.get("type") == "enterprise" and r.get("ent") == ENT1][0]
        check(ent.get("above_size") is True and ent.get("focus") == "discharger"
              and ent.get("name") == "石家庄恒泰化工有限公司", "enterprise values", str(ent))

        # A wrong value: refused with file, line, column as written, value, what to write.
        bad = os.path.join(tmp, "补录.csv")
        rows = ["日期,统一社会信用代码,走访干部,走访方式",
                "2019/6/1,%s,赵六,实地走访" % ENT2,
                "2019/6/2,%s,赵六,现场检查" % ENT2]
        with open(bad, "wb") as f:
            f.write("\r\n".join(rows).encode("gbk") + b"\r\n")
        p = run("import", "--dir", d, "--type", "走访", bad, ok=(1,))
        check("补录.csv 第3行：列“走访方式”的值“现场检查”" in p.stderr and "实地走访" in p.stderr,
              "a bad row names file, line, column, value and what to write", p.stderr)
        check(len(p.stdout.splitlines()) == 1, "the good row of it is stored", p.stdout)
        rows[2] = rows[2].replace("现场检查", "实地走访")
        with open(bad, "wb") as f:
            f.write("\r\n".join(rows).encode("gbk") + b"\r\n")
        p = run("import", "--dir", d, "--type", "走访", bad)
        out = [l for l in p.stdout.splitlines() if l.strip()]
        check(len(out) == 1 and out[0].startswith("3\t"),
              "the corrected file stores only the row refused before", p.stdout + p.stderr)
        p = run("export", "--dir", d)
        check(len([l for l in p.stdout.splitlines() if l.strip()]) == n_xlsx + n_csv + 2,
              "the outbox holds %d records" % (n_xlsx + n_csv + 2), p.stdout)
        total = n_xlsx + n_csv + 2
        p = run("status", "--dir", d)
        check("还有 %d 条记录等待送往省平台" % total in p.stdout, "status says in words what waits",
              p.stdout)

        # The province receives them; status then says all arrived.
        logs = open(os.path.join(tmp, "run.log"), "w")
        cproc = subprocess.Popen([COLLECTOR, "run", "--dir", col], env=ENV, stdout=logs,
                                 stderr=subprocess.STDOUT)
        aproc = subprocess.Popen([AGENT, "run", "--dir", d], env=ENV, stdout=logs,
                                 stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            words = ""
            while time.monotonic() < deadline:
                words = run("status", "--dir", d).stdout.splitlines()[0]
                if words.startswith("全部 %d 条记录已送达省平台（最后确认 " % total):
                    break
                time.sleep(0.3)
            check(words.startswith("全部 %d 条记录已送达省平台（最后确认 " % total),
                  "status: all delivered, in words (waited up to 120 s for the agent's "
                  "records to be acknowledged)", words)
        finally:
            stop(aproc, "wanqi-agent run")
            stop(cproc, "wanqi-collector run")
            logs.close()
        print("PASS: cadre import, twice, exactly once, all delivered")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
