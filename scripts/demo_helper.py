#!/usr/bin/env python3
"""JSON and table chores of scripts/demo (Python 3 standard library only).

scripts/demo is the orchestration (bash); everything that reads JSON, splits a
campaign file or compares figures lives here, one subcommand each:

  ports N                         print N free TCP ports on 127.0.0.1
  counties N DIVISIONS_2019_CSV   pick N real Hebei counties from several cities
  split FILE K PART1 PART2        cut a generated campaign after line K
  resolve PART2 K IMPORT1_OUT     print PART2 with its "@N" references made
                                  absolute (N <= K: the id part 1 got on import)
  resolve-all DEMO_DIR            the same for every county of the demo
  progress DEMO_DIR [PHASE]       one progress line; exit 0 when every agent
                                  has sent everything (queued 0, all acked)
  acked AGENT_DIR                 print "acknowledged last_seq" of one agent
  table JSON[,JSON] [COL[=HEAD]...]  render wanqi-query JSON answers as one table
  roster DEMO_DIR                 print the demo's counties, links and campaign sizes
  count JSON                      print the number of rows of a JSON array
  ontime JSON[,JSON]              on-time rectification rate per row of summary answers
  grades JSON                     enterprises by current performance grade (绩效分级),
                                  rows that have any
  groups JSON                     the province by focus group and above designated
                                  size (summary --by group)
  field STATS NAME                print one value of a generator stats file
  check DEMO_DIR                  compare the collector's figures with what the
                                  generator recorded; exit 1 on any difference

DEMO_DIR holds agents.tsv (code, name, city, city_name, role, agent dir), the
generator's files under campaign/ and the query answers under report/.
The environment variable WQ_BIN names the directory of the wanqi programs.
"""
import datetime
import json
import os
import re
import socket
import subprocess
import sys
import unicodedata

# A spread of real counties over Hebei's eleven cities (GB/T 2260, 2019 table).
# 130521 (邢台县) was abolished in 2020: a 2019 campaign may use it and it still
# rolls up to 邢台市.
CURATED = [
    "130102", "130481", "130521", "130203", "130602", "130722", "130826", "130981",
    "131082", "131102", "130302", "130582", "130123", "130684", "130281", "130402",
    "130924", "130634", "130728", "130304", "130535", "131128",
]

REF = re.compile(r"^@([0-9]+)$")


def die(msg, code=2):
    print("demo_helper: " + msg, file=sys.stderr)
    sys.exit(code)


# ---- divisions ---------------------------------------------------------------

def read_divisions(path):
    rows = {}
    with open(path, encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        if header[:4] != ["code", "name", "level", "parent_code"]:
            die("%s: unexpected header %r" % (path, header))
        for line in f:
            parts = line.rstrip("\n").split(",")
            if len(parts) >= 4:
                rows[parts[0]] = (parts[1], parts[2], parts[3])
    return rows


def cmd_counties(args):
    n, path = int(args[0]), args[1]
    div = read_divisions(path)
    picked = [c for c in CURATED if c in div and div[c][1] == "county"]
    # More than the curated list: every other county of the 2019 table, round
    # robin over the cities so that each city gets its share.
    by_city = {}
    for code, (_name, level, parent) in sorted(div.items()):
        if level == "county" and code not in picked:
            by_city.setdefault(parent, []).append(code)
    while len(picked) < n and any(by_city.values()):
        for city in sorted(by_city):
            if by_city[city] and len(picked) < n:
                picked.append(by_city[city].pop(0))
    if len(picked) < n:
        die("only %d counties available, %d asked" % (len(picked), n))
    for code in picked[:n]:
        name, _level, city = div[code]
        print("%s\t%s\t%s\t%s" % (code, name, city, div.get(city, ("?",))[0]))


# ---- ports ---------------------------------------------------------------------

def cmd_ports(args):
    """Free ports below the kernel's ephemeral range (32768+ on Linux), so that
    no outgoing connection takes one while the collector restarts on it."""
    import random
    rng = random.SystemRandom()
    socks = []
    while len(socks) < int(args[0]):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", rng.randrange(20000, 32000)))
            s.listen(1)
            socks.append(s)
        except OSError:
            s.close()
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


# ---- campaign files ------------------------------------------------------------

def cmd_split(args):
    path, k, out1, out2 = args[0], int(args[1]), args[2], args[3]
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    with open(out1, "w", encoding="utf-8") as f:
        f.writelines(lines[:k])
    with open(out2, "w", encoding="utf-8") as f:
        f.writelines(lines[k:])


def cmd_resolve(args):
    """Part 2 of a campaign refers to part-1 lines by "@N": replace those by
    the ids the agent printed when it imported part 1 ("LINE<TAB>ID"), and
    renumber references inside part 2."""
    part2, k, imported = args[0], int(args[1]), args[2]
    ids = {}
    with open(imported, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and parts[0].isdigit():
                ids[int(parts[0])] = parts[1]
    if len(ids) != k:
        die("%s: %d ids for the %d lines of part 1" % (imported, len(ids), k), 1)

    def fix(v):
        if isinstance(v, str):
            m = REF.match(v)
            if m:
                n = int(m.group(1))
                return ids[n] if n <= k else "@%d" % (n - k)
        return v

    out = open(args[3], "w", encoding="utf-8") if len(args) > 3 else sys.stdout
    with open(part2, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            obj = json.loads(line)
            obj = {key: fix(val) for key, val in obj.items()}
            out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    if out is not sys.stdout:
        out.close()


def cmd_resolve_all(args):
    """resolve-all DEMO_DIR: resolve every county's part 2 (one process for all)."""
    demo = args[0]
    for a in read_agents(demo):
        base = os.path.join(demo, "campaign", a["code"])
        with open(base + ".part1.jsonl", encoding="utf-8") as f:
            k = sum(1 for _ in f)
        cmd_resolve([base + ".part2.raw.jsonl", str(k), base + ".part1.ids",
                     base + ".part2.jsonl"])


# ---- agents --------------------------------------------------------------------

def wq(prog):
    return os.path.join(os.environ.get("WQ_BIN", ""), prog)


def agent_status(agent_dir):
    r = subprocess.run([wq("wanqi-agent"), "status", "--format", "json", "--dir", agent_dir],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout.decode("utf-8"))
    except ValueError:
        return None


def read_agents(demo):
    agents = []
    with open(os.path.join(demo, "agents.tsv"), encoding="utf-8") as f:
        for line in f:
            code, name, city, city_name, role, adir = line.rstrip("\n").split("\t")
            agents.append(dict(code=code, name=name, city=city, city_name=city_name,
                               role=role, dir=adir))
    return agents


def read_stats(demo, code):
    stats = {}
    with open(os.path.join(demo, "campaign", code + ".stats"), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                stats[parts[0]] = int(parts[1]) if re.match(r"^-?[0-9]+$", parts[1]) else parts[1]
            elif len(parts) == 1:
                stats[parts[0]] = ""
    return stats


def cmd_acked(args):
    st = agent_status(args[0])
    if st is None:
        print("0 0")
    else:
        print("%d %d" % (st.get("acknowledged") or 0, st.get("last_seq") or 0))


# The demo's phases (scripts/demo passes the English name) as a Chinese reader sees them.
PHASES_ZH = {"syncing": "同步中", "collector killed": "省平台已强制停止", "all recorded": "全部已录入",
             "collector back": "省平台已恢复"}


def cmd_progress(args):
    demo = args[0]
    phase = args[1] if len(args) > 1 else ""
    agents = read_agents(demo)
    total = acked = recorded = synced = 0
    behind = []
    for a in agents:
        want = read_stats(demo, a["code"])["records"]
        total += want
        st = agent_status(a["dir"])
        if st is None:
            behind.append(a["code"] + "?")
            continue
        ack = min(st.get("acknowledged") or 0, st.get("last_seq") or 0)
        acked += ack
        recorded += st.get("last_seq") or 0
        if st.get("queued") == 0 and ack == want and st.get("last_seq") == want:
            synced += 1
        elif (st.get("last_seq") or 0) > ack:
            behind.append("%s:%d" % (a["code"], (st.get("last_seq") or 0) - ack))
    pct = 100.0 * acked / total if total else 100.0
    line = tr("acknowledged %5d/%d records (%5.1f%%), recorded %d, %2d/%d counties synced",
              "已确认 %5d/%d 条（%5.1f%%），已录入 %d 条，%2d/%d 个区县已同步") % (
        acked, total, pct, recorded, synced, len(agents))
    if behind and len(behind) <= 6:
        line += tr("; queued: ", "；待发送：") + " ".join(behind)
    phase = tr(phase, PHASES_ZH.get(phase, phase))
    print(("%s " % pad(phase, 22) if phase else "") + line)
    sys.exit(0 if synced == len(agents) else 1)


# ---- tables --------------------------------------------------------------------

def width(s):
    w = 0
    for ch in s:
        if unicodedata.combining(ch):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


def pad(text, cols, right=False):
    """text padded with spaces to cols terminal columns (a CJK character takes two), on the
    left when right-aligned."""
    fill = " " * max(0, cols - width(text))
    return fill + text if right else text + fill


def cell(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def chinese():
    """True under a Chinese locale, as the programs decide (LC_ALL, LC_MESSAGES, LANG)."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        v = os.environ.get(var)
        if v:
            return v.startswith("zh")
    return False


def tr(english, chinese_text):
    """The text in the reader's language (scripts/demo's tr_)."""
    return chinese_text if chinese() else english


# The demo's tables in the reader's language: the same Chinese headers as
# wanqi-query's tables (common/labels.c) where the column is the same.
ZH_HEADS = {
    "code": "地区代码", "name": "地区", "enterprises": "登记企业", "visited": "走访企业",
    "visits": "走访次数", "problems": "发现问题", "open": "待整改", "in_progress": "整改中",
    "rectified": "已整改", "verified": "已核验", "overdue": "逾期未整改", "plans": "整改计划",
    "services": "服务次数", "consultations": "咨询", "answered": "已答复咨询",
    "median_days": "天数中位数", "support": "支持类", "strict": "严管类", "shut_down": "关停类",
    "punished": "处罚类", "on_time": "按期整改", "late": "逾期整改", "on_time_rate": "按期率",
    "group": "企业类别",
}


def heads_for_reader(heads):
    return [ZH_HEADS.get(h, h) for h in heads] if chinese() else heads


def render(rows, cols, heads, out=sys.stdout):
    heads = heads_for_reader(heads)
    table = [heads] + [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(width(row[i]) for row in table) for i in range(len(cols))]
    numeric = [all(re.match(r"^-?[0-9.]+$|^-$", row[i]) for row in table[1:]) and table[1:]
               for i in range(len(cols))]
    for n, row in enumerate(table):
        parts = []
        for i, v in enumerate(row):
            parts.append(pad(v, widths[i], right=bool(numeric[i])))
        out.write("  ".join(parts).rstrip() + "\n")
        if n == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def cmd_table(args):
    rows = []
    for path in args[0].split(","):
        with open(path, encoding="utf-8") as f:
            rows.extend(json.load(f))
    specs = args[1:] or list(rows[0].keys()) if rows else args[1:]
    cols = [s.split("=", 1)[0] for s in specs]
    heads = [s.split("=", 1)[1] if "=" in s else s for s in specs]
    render(rows, cols, heads)


# ---- the check -----------------------------------------------------------------

GRADE_COLS = {"A": "a", "B": "b", "B-": "b_minus", "C": "c", "D": "d", "leading": "leading"}
GRADE_HEADS = {"a": "A级", "b": "B级", "b_minus": "B-级", "c": "C级", "d": "D级",
               "leading": "引领性"}


def expected_columns(stats):
    """The summary columns the generator's stats predict, column -> value."""
    exp = {
        "enterprises_registered": stats["enterprises"],
        "enterprises_visited": stats["enterprises_visited"],
        "visits": stats["visits"],
        "problems": stats["problems"],
        "plans": stats["plans"],
        "overdue": stats["overdue"],
        "services": stats["services"],
        "consultations": stats["consultations"],
        "consultations_answered": stats["consultations_answered"],
        "rectified_on_time": stats["rectified_on_time"],
        "rectified_late": stats["rectified_late"],
    }
    for key, val in stats.items():
        if not isinstance(val, int) or "." not in key:
            continue
        group, sub = key.split(".", 1)
        if group == "visits_by_method":
            exp["visits_" + sub] = val
        elif group == "problems_by_category":
            exp["problems_" + sub] = val
        elif group == "services_by_kind":
            exp["services_" + sub] = val
        elif group == "enterprises_by_class":
            exp["class_" + sub] = val
        elif group == "enterprises_by_grade":
            exp["grade_" + GRADE_COLS[sub]] = val
        elif group == "problems_by_status":
            # The collector's views count a reopened problem as open.
            col = "problems_open" if sub in ("open", "reopened") else "problems_" + sub
            exp[col] = exp.get(col, 0) + val
    return exp


def answer_days(path):
    """Days from question to answer for every answer line of a campaign file."""
    dates, days = {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            obj = json.loads(line)
            dates[n] = obj["date"]
            if obj["type"] == "answer":
                m = REF.match(obj["consultation"])
                q = datetime.date.fromisoformat(dates[int(m.group(1))])
                a = datetime.date.fromisoformat(obj["date"])
                days.append((a - q).days)
    return days


def lower_median(days):
    if not days:
        return None
    return sorted(days)[(len(days) + 1) // 2 - 1]


def load_json(demo, name):
    with open(os.path.join(demo, "report", name), encoding="utf-8") as f:
        return json.load(f)


def cmd_check(args):
    demo = args[0]
    agents = read_agents(demo)
    problems = []     # precise messages, one per difference
    notes = []

    def differ(where, col, want, got, how=""):
        problems.append("%s: %s: the generator recorded %s%s, the collector shows %s"
                        % (where, col, want, how, got))

    stats = {a["code"]: read_stats(demo, a["code"]) for a in agents}
    days = {a["code"]: answer_days(os.path.join(demo, "campaign", a["code"] + ".jsonl"))
            for a in agents}
    for a in agents:
        if sum(days[a["code"]]) != stats[a["code"]]["answer_days_total"]:
            problems.append("%s: the campaign file's answers add up to %d days, its stats say %d"
                            % (a["code"], sum(days[a["code"]]),
                               stats[a["code"]]["answer_days_total"]))
    total_records = sum(s["records"] for s in stats.values())

    # 1. Summary by county, city and province against the generator's stats.
    areas = {}        # area code -> (label, expected columns, answer days)
    for a in agents:
        exp = expected_columns(stats[a["code"]])
        areas[a["code"]] = ("%s %s" % (a["code"], a["name"]), exp, list(days[a["code"]]))
        for code, label in ((a["city"], "%s %s" % (a["city"], a["city_name"])),
                            ("130000", "130000 河北省")):
            _l, agg, dd = areas.setdefault(code, (label, {}, []))
            for k, v in exp.items():
                agg[k] = agg.get(k, 0) + v
            dd.extend(days[a["code"]])
    known = set(expected_columns(stats[agents[0]["code"]]))
    checked_cols = set()
    unknown_cols = set()
    nrows = 0
    for level in ("county", "city", "province"):
        rows = load_json(demo, "summary-%s.json" % level)
        seen = set()
        for row in rows:
            code = row.get("area")
            if code in seen:
                problems.append("summary --level %s: area %s appears twice" % (level, code))
            seen.add(code)
            label, exp, dd = areas.get(code, ("%s %s" % (code, row.get("area_name", "")), {}, []))
            nrows += 1
            for col, got in row.items():
                if col in ("area", "area_name", "level"):
                    continue
                if col == "answer_days_median":
                    want = lower_median(dd)
                    if got != want:
                        differ(label, col, want, got, " (lower median of %d answers)" % len(dd))
                    continue
                if not isinstance(got, int) or col not in known:
                    unknown_cols.add(col)
                    continue
                checked_cols.add(col)
                want = exp.get(col, 0)
                if got != want:
                    how = " (open + reopened)" if col == "problems_open" else ""
                    differ(label + " [" + level + "]", col, want, got, how)
        for code, (label, _exp, _dd) in areas.items():
            lvl = "province" if code == "130000" else ("city" if code.endswith("00") else "county")
            if lvl == level and code not in seen:
                problems.append("summary --level %s has no row for %s" % (level, label))
    for col in sorted(unknown_cols):
        notes.append(tr("column %s is not predicted by the generator's stats: not compared",
                        "列 %s 不在生成数据的统计中：未比对") % col)

    # 2. The collector's streams (agents) against the campaign sizes.
    streams = load_json(demo, "agents.json")
    by_agent = {}
    for s in streams:
        by_agent.setdefault(s["agent"], []).append(s)
    for a in agents:
        aid = a["code"] + "-01"
        want = stats[a["code"]]["records"]
        rows = by_agent.pop(aid, [])
        if len(rows) != 1:
            problems.append("agents: %s has %d streams at the collector, expected 1" % (aid, len(rows)))
            continue
        s = rows[0]
        for col, exp in (("hwm", want), ("stored", want), ("quarantined", 0),
                         ("last_seq", want), ("backlog", 0)):
            if s.get(col) != exp:
                problems.append("agents: %s %s is %s, expected %d (%d records generated)"
                                % (aid, col, s.get(col), exp, want))
    for aid in sorted(by_agent):
        problems.append("agents: the collector has a stream from %s, which the demo never ran" % aid)

    # 3. Every agent's own status.
    for a in agents:
        want = stats[a["code"]]["records"]
        st = agent_status(a["dir"])
        if st is None:
            problems.append("%s: wanqi-agent status failed" % a["code"])
            continue
        for col, exp in (("last_seq", want), ("acknowledged", want), ("queued", 0),
                         ("records", want), ("collector_hwm", want),
                         ("quarantined_count", 0), ("skipped_count", 0)):
            if st.get(col) != exp:
                problems.append("%s agent status: %s is %s, expected %d"
                                % (a["code"], col, st.get(col), exp))

    # 4. verify: every view recomputed from the events.
    with open(os.path.join(demo, "report", "verify.txt"), encoding="utf-8") as f:
        vtext = f.read()
    with open(os.path.join(demo, "report", "verify.rc"), encoding="utf-8") as f:
        vrc = f.read().strip()
    m = re.search(r"([0-9]+) events, ([0-9]+) quarantined, ([0-9]+) streams", vtext)
    if vrc != "0":
        problems.append("wanqi-collector verify exited %s: %s" % (vrc, vtext.strip()[-500:]))
    if not m:
        problems.append("wanqi-collector verify: no 'N events, N quarantined, N streams' in %r"
                        % vtext.strip()[-200:])
    else:
        ev, q, ns = (int(x) for x in m.groups())
        if ev != total_records:
            problems.append("verify: the store holds %d events, the generator made %d records"
                            % (ev, total_records))
        if q != 0:
            problems.append("verify: %d records quarantined, expected 0" % q)
        if ns != len(agents):
            problems.append("verify: %d streams, expected %d" % (ns, len(agents)))

    # 5. The case file shown has every event of that enterprise, once.
    with open(os.path.join(demo, "report", "casefile.code"), encoding="utf-8") as f:
        code, county = f.read().split()
    want_rows = 0
    with open(os.path.join(demo, "campaign", county + ".jsonl"), encoding="utf-8") as f:
        for line in f:
            if json.loads(line).get("ent") == code:
                want_rows += 1
    case = load_json(demo, "casefile.json")
    ids = [r.get("id") for r in case]
    if len(case) != want_rows or len(set(ids)) != len(ids):
        problems.append("enterprise %s: the case file has %d events (%d distinct), the generator "
                        "recorded %d lines for it" % (code, len(case), len(set(ids)), want_rows))

    for n in notes:
        print(tr("  note: ", "  说明：") + n)
    if problems:
        for p in problems:
            print("  DIFFERENCE: " + p)
        print("check: %d difference(s)" % len(problems))
        sys.exit(1)
    print(tr("  summary: %d area rows x %d columns equal to the generator's figures (county, city, province)",
             "  汇总：%d 行地区 × %d 列，与生成数据的数字一致（区县、市、省）") % (nrows, len(checked_cols) + 1))
    print(tr("  streams: %d agents, each hwm = stored = records generated, 0 quarantined, 0 backlog",
             "  数据流：%d 个采集端，每个的最高序号 = 已存储 = 生成的记录数，0 条隔离，0 条待发送") % len(agents))
    print(tr("  agents:  every outbox fully acknowledged, nothing queued, skipped or quarantined",
             "  采集端：发件箱全部已确认，无排队、跳过或隔离的记录"))
    # verify's line was asked for in English (it is parsed above): the Chinese one from m's figures.
    print(tr("  verify:  %s" % vtext.strip().splitlines()[-1],
             "  verify：%s 条事件，%s 条隔离，%s 个数据流，视图与重算结果一致" % m.groups()))
    print(tr("  case file %s: %d events, each once", "  一企一册 %s：%d 条事件，每条一次") % (code, len(case)))
    print(tr("check: every one of the %d generated records is counted exactly once",
             "核对：生成的 %d 条记录每条恰好计入一次") % total_records)


ROLE_TEXT = {"good": "good link, always on", "slow": "64 kbit/s, 150 ms, resets",
             "down": "link down, restored later", "off": "switched off, on later"}


def cmd_roster(args):
    """roster DEMO_DIR: the counties of the demo, their link and campaign size."""
    demo = args[0]
    rows = []
    for a in read_agents(demo):
        st = read_stats(demo, a["code"])
        rows.append({"county": a["code"], "name": a["name"], "city": a["city_name"],
                     "agent": a["code"] + "-01", "link": ROLE_TEXT.get(a["role"], a["role"]),
                     "enterprises": st["enterprises"], "records": st["records"]})
    render(rows, ["county", "name", "city", "agent", "link", "enterprises", "records"],
           ["county", "name", "city", "agent", "link", "enterprises", "records"])


def cmd_count(args):
    with open(args[0], encoding="utf-8") as f:
        print(len(json.load(f)))


def _rows(paths):
    rows = []
    for path in paths.split(","):
        with open(path, encoding="utf-8") as f:
            rows.extend(json.load(f))
    return rows


def cmd_ontime(args):
    """ontime JSON[,JSON]: rectified on time / late and the on-time rate per row."""
    out = []
    for r in _rows(args[0]):
        on, late = r.get("rectified_on_time") or 0, r.get("rectified_late") or 0
        rate = "%.1f%%" % (100.0 * on / (on + late)) if on + late else None
        out.append(dict(r, rate=rate))
    render(out, ["area", "area_name", "rectified_on_time", "rectified_late", "rate",
                 "rectify_days_median", "overdue"],
           ["code", "name", "on_time", "late", "on_time_rate", "median_days", "overdue"])


def cmd_grades(args):
    """grades JSON: enterprises by current grade, rows with any grade."""
    cols = ["grade_" + c for c in GRADE_HEADS]
    rows = [r for r in _rows(args[0]) if any(r.get(c) for c in cols)]
    render(rows, ["area", "area_name"] + cols,
           ["code", "name"] + [GRADE_HEADS[c[6:]] for c in cols])


GROUPS = [("discharger", "重点排污"), ("strategic_emerging", "战略性新兴"),
          ("advanced_manufacturing", "先进制造"), ("tech_sme", "科技型中小"),
          ("above_size", "规模以上")]


def cmd_groups(args):
    """groups JSON: one province row with --by group: one line per group."""
    rows = _rows(args[0])
    if len(rows) != 1:
        die("groups: want one row (the province), got %d" % len(rows), 1)
    r, out = rows[0], []
    for g, head in GROUPS:
        on, late = r.get("rectified_on_time_" + g) or 0, r.get("rectified_late_" + g) or 0
        out.append({"group": head, "registered": r.get("enterprises_registered_" + g),
                    "visited": r.get("enterprises_visited_" + g),
                    "problems": r.get("problems_" + g), "on_time": on, "late": late,
                    "rate": "%.1f%%" % (100.0 * on / (on + late)) if on + late else None,
                    "overdue": r.get("overdue_" + g)})
    render(out, ["group", "registered", "visited", "problems", "on_time", "late", "rate",
                 "overdue"],
           ["group", "enterprises", "visited", "problems", "on_time", "late", "on_time_rate",
            "overdue"])


def cmd_field(args):
    """field STATS_FILE NAME: print one value of a generator stats file."""
    for line in open(args[0], encoding="utf-8"):
        parts = line.split()
        if parts and parts[0] == args[1]:
            print(parts[1] if len(parts) > 1 else "")
            return
    die("%s: no %s" % (args[0], args[1]), 1)


def main():
    cmds = {"ports": cmd_ports, "counties": cmd_counties, "split": cmd_split,
            "resolve": cmd_resolve, "resolve-all": cmd_resolve_all, "progress": cmd_progress, "acked": cmd_acked,
            "table": cmd_table, "check": cmd_check, "count": cmd_count, "roster": cmd_roster,
            "field": cmd_field, "ontime": cmd_ontime, "grades": cmd_grades,
            "groups": cmd_groups}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die("usage: demo_helper.py %s ..." % "|".join(cmds))
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
