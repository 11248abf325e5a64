#!/usr/bin/env python3
"""wanqi benchmark suite: every figure beside its ceiling, measured in the same run.

    python3 bench/run.py [--build build] [--events 1000000] [--small 100000] [--json bench.json]
                         [--big-through-agents] [--keep] [--smoke]

Real programs only: a real wanqi-collector (CURVE, durable LMDB) and real wanqi-agent
processes on 127.0.0.1, each county's campaign from `wanqi-agent generate`, recorded with
`wanqi-agent import` before the agents start (a backlog), then drained. Prints a table and,
with --json, writes every figure as JSON. Asserts nothing: figures, not verdicts.

Steps (docs/PERFORMANCE.md explains each):
  1. end to end, durable and acknowledged, with 1, 10 and 50 agents (--small records each
     run); then the big store is filled up to --events records in-process (bench/big_store:
     the generator's campaigns for 50 more counties, ingested by the collector's own code,
     500 records a batch, group commits; no sockets, no agents), which the figures on the
     big store do not need and which took most of the suite's time through agents
     (--big-through-agents: the 50-agent run carries --events records instead, as before);
  2. queries p50/p99 on the big store, idle (bench/query_load: one CURVE connection, a
     query after another, every page fetched); `summary` province and `overdue` city also
     as the same two concurrent loops the drain runs, for as long as a drain lasts;
  3. --drain-rounds rounds (default 3) of: a drain of 10 more agents' backlog without
     queries and another with query loops running (alternating which goes first), then the
     same loops idle for as long as the drain with them took: ingest with queries vs
     without, and each query's p50/p99 during the drain against the same loops idle (same
     mix, same duration); each figure the median of the rounds' own ratios;
  4. on the big store, the collector stopped: `wanqi-collector verify`, and verify against
     scan-decode-aggregate in one process (bench/ceilings verify: wall and CPU time);
     `summary` in-process p50/p99 (bench/query_load --store: the query code on the store,
     no socket), beside the same figures from indexed SQLite;
  5. ceilings: raw LMDB durable, the composite ceiling, scan-decode-aggregate, indexed
     SQLite (bench/ceilings);
  6. agents' RssAnon (private memory) while draining and idle after.
Every row carries the 1-minute load average when it was measured, and the issue's target.
Every drain also prints who used the CPU while it ran (the collector's ingest thread and its
kernel share, its query threads, the agents, the suite's query clients, the machine's idle time)
and the bytes the collector wrote per record (`wchar`); both are in the JSON.
"""
import argparse
import calendar
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

RECORDS_PER_ENTERPRISE = 11.7   # what `wanqi-agent generate` makes on average


def counties(root):
    out = []
    with open(os.path.join(root, "common", "data", "hebei-divisions-2019.csv"), encoding="utf-8") as f:
        for line in f:
            p = line.strip().split(",")
            if len(p) >= 3 and p[2] == "county":
                out.append(p[0])
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Bench:
    def __init__(self, args):
        self.args = args
        self.root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.bin = os.path.join(os.path.abspath(args.build), "bin")
        self.tmp = tempfile.mkdtemp(prefix="wanqi-bench-")
        self.procs = []
        self.figures = {}
        self.steps = {}         # seconds each step of the suite took
        self.rows = []          # (figure, value, unit, ceiling text, ratio)
        self.counties = counties(self.root)
        self.next_county = 0
        self.seed = 1
        self.t_start = time.time()

    # ---- processes ----------------------------------------------------------------------

    def run(self, *argv, **kw):
        r = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, **kw)
        if r.returncode != 0:
            raise SystemExit("bench: %s failed (%d): %s" % (" ".join(map(str, argv[:3])), r.returncode,
                                                             r.stderr.strip()[-500:]))
        return r.stdout

    def start(self, argv, log, env=None):
        p = subprocess.Popen([str(a) for a in argv], stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def cleanup(self):
        for p in self.procs:
            self.stop(p)
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def say(self, text):
        print("[bench %s] %s" % (time.strftime("%H:%M:%S"), text), file=sys.stderr, flush=True)

    # ---- collector and agents --------------------------------------------------------------

    def collector_init(self):
        self.cdir = os.path.join(self.tmp, "collector")
        self.iport, self.qport = free_port(), free_port()
        out = self.run(self.bin + "/wanqi-collector", "init", "--dir", self.cdir,
                       "--ingest", "tcp://127.0.0.1:%d" % self.iport,
                       "--query", "tcp://127.0.0.1:%d" % self.qport, "--map-size", "16G")
        self.ckey = out.strip().splitlines()[0]
        qdir = os.path.join(self.tmp, "query")
        out = self.run(self.bin + "/wanqi-query", "keygen", "--dir", qdir)
        self.run(self.bin + "/wanqi-collector", "authorize", "client", "--dir", self.cdir, "--key",
                 out.strip().splitlines()[0], "--name", "bench")
        self.qcert = os.path.join(qdir, "client.cert")
        self.qdir = qdir

    def collector_start(self):
        self.col = self.start([self.bin + "/wanqi-collector", "run", "--dir", self.cdir],
                              os.path.join(self.tmp, "collector.log"))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                self.agents_table()
                return
            except SystemExit:
                time.sleep(0.2)
        raise SystemExit("bench: the collector did not answer within 30 s (log %s/collector.log)" % self.tmp)

    def collector_stop(self):
        self.stop(self.col)

    def agents_table(self):
        out = self.run(self.bin + "/wanqi-query", "--dir", self.qdir, "--collector",
                       "tcp://127.0.0.1:%d" % self.qport, "--collector-key", self.ckey, "--timeout", "5",
                       "agents", "--format", "json")
        return {(r["agent"], r["inc"]): r["hwm"] for r in json.loads(out)}

    def make_agents(self, k, events):
        """k new agents, each with about events/k records imported (a backlog)."""
        agents = []
        per = max(1, events // k)
        ents = max(1, int(round(per / RECORDS_PER_ENTERPRISE)))
        jobs = []
        for _ in range(k):
            code = self.counties[self.next_county % len(self.counties)]
            n = self.next_county // len(self.counties)
            self.next_county += 1
            aid = "%s-%02d" % (code, n + 1)
            d = os.path.join(self.tmp, "agents", aid)
            out = self.run(self.bin + "/wanqi-agent", "init", "--dir", d, "--agent-id", aid, "--county", code,
                           "--collector", "tcp://127.0.0.1:%d" % self.iport, "--collector-key", self.ckey,
                           "--config", "outbox_map_mb=2048", "--config", "outbox_max_bytes=1073741824")
            key = [l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("public key: ")][0]
            self.run(self.bin + "/wanqi-collector", "authorize", "agent", "--dir", self.cdir, "--key", key,
                     "--agent-id", aid, "--county", code)
            camp = d + ".jsonl"
            self.seed += 1
            with open(camp, "w") as f:
                subprocess.run([self.bin + "/wanqi-agent", "generate", "--county", code, "--enterprises",
                                str(ents), "--seed", str(self.seed)], stdout=f, stderr=subprocess.DEVNULL,
                               check=True)
            agents.append({"id": aid, "dir": d, "camp": camp})
        # The running collector reads the new peers on SIGHUP.
        if getattr(self, "col", None) is not None and self.col.poll() is None:
            self.col.send_signal(signal.SIGHUP)
            time.sleep(1.0)
        # Import on two workers (2 cores), each taking the next agent when done.
        todo = list(agents)
        lock = threading.Lock()
        errors = []

        def imp():
            while True:
                with lock:
                    if not todo or errors:
                        return
                    a = todo.pop(0)
                try:
                    subprocess.run([self.bin + "/wanqi-agent", "import", a["camp"], "--dir", a["dir"]],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                    st = json.loads(self.run(self.bin + "/wanqi-agent", "status", "--format", "json",
                                             "--dir", a["dir"]))
                except (subprocess.CalledProcessError, SystemExit) as e:
                    errors.append(e)
                    return
                a["last_seq"], a["inc"] = st["last_seq"], st["incarnation"]
                os.unlink(a["camp"])
        ts = [threading.Thread(target=imp) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            raise SystemExit("bench: import failed: %s" % errors[0])
        return agents

    def agent_ids(self, k):
        """k agent ids of counties not used yet (as make_agents names them), no agents made."""
        ids = []
        for _ in range(k):
            code = self.counties[self.next_county % len(self.counties)]
            n = self.next_county // len(self.counties)
            self.next_county += 1
            ids.append("%s-%02d" % (code, n + 1))
        return ids

    def step(self, name, t0):
        self.steps[name] = round(time.time() - t0, 1)
        self.say("  step %s: %.1f s" % (name, self.steps[name]))

    def drain(self, agents, label):
        """Start the agents, wait until the collector's marks reach their outboxes; returns
        (records, seconds, max RssAnon kB while draining, RssAnon kB idle after)."""
        total = sum(a["last_seq"] for a in agents)
        # The agents log each ACK (debug): the drain ends at the last agent's ACK of its last
        # record, read from their logs afterwards. The collector's marks are polled only to know
        # that it is over, every 0.5 s: each poll is a new wanqi-query process and a CURVE
        # handshake, and polling every 0.1 s took as much CPU as an agent (docs/PERFORMANCE.md).
        env = dict(os.environ, WANQI_LOG="debug")
        cpu0, idle0, wb0 = thread_cpu(self.procs), machine_idle(), write_bytes(self.col.pid)
        t0 = time.time()
        for a in agents:
            a["proc"] = self.start([self.bin + "/wanqi-agent", "run", "--dir", a["dir"]], a["dir"] + ".log",
                                   env=env)
        rss_max = 0
        deadline = t0 + 1800
        turn = 0
        while True:
            for a in agents:
                rss_max = max(rss_max, rss_anon(a["proc"].pid))
            turn += 1
            if turn % 5 == 0:
                try:
                    marks = self.agents_table()
                except SystemExit as e:     # a slow answer on a loaded machine: ask again
                    self.say("  %s: agents table not read (%s): asking again" % (label, str(e)[:80]))
                    marks = {}
                if all(marks.get((a["id"], a["inc"]), 0) >= a["last_seq"] for a in agents):
                    break
            if time.time() > deadline:
                raise SystemExit("bench: %s not drained in 30 min" % label)
            time.sleep(0.1)
        dt = time.time() - t0
        ends = [acked_at(a["dir"] + ".log", a["last_seq"]) for a in agents]
        if all(ends) and max(ends) > t0:
            dt = max(ends) - t0
        self.last_cpu = cpu_groups(cpu0, thread_cpu(self.procs))
        self.last_cpu["machine idle"] = round(machine_idle() - idle0, 2)
        self.last_cpu["collector bytes written per record"] = round((write_bytes(self.col.pid) - wb0) / max(total, 1))
        self.last_cpu["wall"] = round(time.time() - t0, 2)
        time.sleep(1.0)
        idle = max(rss_anon(a["proc"].pid) for a in agents)
        for a in agents:
            self.stop(a["proc"])
        return total, dt, rss_max, idle

    # ---- figures -----------------------------------------------------------------------------

    def fig(self, name, value, unit, ceiling=None, ceiling_name="", ratio=None, target="", n=None):
        load = os.getloadavg()[0]
        self.figures[name] = {"value": value, "unit": unit, "load": round(load, 2)}
        if n is not None:
            # p99 of fewer than 100 samples is their maximum: say so.
            self.figures[name]["n"] = n
            unit = "%s (n=%d%s)" % (unit, n, ", p99=max" if n < 100 and name.endswith("p99") else "")
        if target:
            self.figures[name]["target"] = target
        if ceiling is not None:
            self.figures[name]["ceiling"] = ceiling
            self.figures[name]["ceiling_name"] = ceiling_name
        if ratio is None and ceiling:
            ratio = value / ceiling
        if ratio is not None:
            self.figures[name]["ratio"] = round(ratio, 3)
        self.rows.append((name, value, unit, "%s %s" % (fmt(ceiling), ceiling_name) if ceiling else "",
                          "%.2f×" % ratio if ratio is not None else "", target, "%.1f" % load))

    def query_load(self, seconds, name, *params):
        out = self.run(self.bin + "/query_load", self.qcert, self.ckey, "tcp://127.0.0.1:%d" % self.qport,
                       seconds, 0, name, *params)
        return json.loads(out)

    def query_inprocess(self, seconds, name, *params):
        out = self.run(self.bin + "/query_load", "--store", os.path.join(self.cdir, "store"), seconds, 0,
                       name, *params)
        return json.loads(out)

    def query_loops(self, mix):
        """One query_load per query of mix, each a loop until stopped (stop_loops)."""
        loops = {}
        for label, *q in mix:
            loops[label] = subprocess.Popen([self.bin + "/query_load", self.qcert, self.ckey,
                                             "tcp://127.0.0.1:%d" % self.qport, "0", "0"] + q,
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self.procs.append(loops[label])
        return loops

    def stop_loops(self, loops):
        res = {}
        for label, p in loops.items():
            p.send_signal(signal.SIGTERM)
            out = p.communicate(timeout=60)[0]
            if out.strip():
                res[label] = json.loads(out)
        return res

    def main(self):
        a = self.args
        small = a.small if not a.smoke else 1000
        big = a.events if not a.smoke else 5000
        qsec = 1 if a.smoke else a.query_seconds
        counts = [1, 2] if a.smoke else [1, 10]
        bigk = 3 if a.smoke else 50
        self.machine()
        self.collector_init()
        self.collector_start()

        # 1. end to end
        e2e = {}
        stored = 0
        for k in counts + ([] if a.big_through_agents else [bigk]):
            t0 = time.time()
            self.say("end to end: %d agent(s), %d records: importing" % (k, small))
            ag = self.make_agents(k, small)
            self.step("import_%d_agents" % k, t0)
            t0 = time.time()
            n, dt, rss, idle = self.drain(ag, "%d agents" % k)
            e2e[k] = n / dt
            stored += n
            if k == bigk:
                rss_drain, rss_idle = rss, idle
            self.figures["drain_%d_agents_cpu_seconds" % k] = self.last_cpu
            self.say("  %d records in %.1f s; CPU s: %s" % (n, dt, ", ".join(
                "%s %.1f" % kv for kv in self.last_cpu.items())))
            self.step("drain_%d_agents" % k, t0)
        t0 = time.time()
        if a.big_through_agents:
            self.say("end to end: %d agents, %d records (the big store): importing" % (bigk, big))
            ag = self.make_agents(bigk, big)
            self.step("import_%d_agents" % bigk, t0)
            t0 = time.time()
            n, dt, rss_drain, rss_idle = self.drain(ag, "%d agents" % bigk)
            e2e[bigk] = n / dt
            stored += n
            self.say("  %d records in %.1f s" % (n, dt))
            self.step("drain_%d_agents" % bigk, t0)
            self.collector_stop()
        else:
            # The big store: the rest of --events in-process, the collector stopped.
            self.collector_stop()
            more = max(0, big - stored)
            self.say("big store: %d more records of %d counties, in-process (bench/big_store)" % (more, bigk))
            if more:
                bs = json.loads(self.run(self.bin + "/big_store", os.path.join(self.cdir, "store"), more,
                                         self.seed + 1000, *self.agent_ids(bigk)))
                stored += bs["stored"]
                self.figures["big_store"] = bs
            self.step("big_store", t0)

        # 5a. the composite ceiling on this run's records (the store holds them now)
        t0 = time.time()
        cdir = os.path.join(self.tmp, "ceil")
        comp = json.loads(self.run(self.bin + "/ceilings", "composite", cdir + "-c",
                                   os.path.join(self.cdir, "store"), small * 2))["per_s"]
        raw = json.loads(self.run(self.bin + "/ceilings", "raw", cdir + "-r", small * 2))["per_s"]
        shutil.rmtree(cdir + "-c", ignore_errors=True)
        shutil.rmtree(cdir + "-r", ignore_errors=True)
        for k in sorted(e2e):
            self.fig("ingest_e2e_%d_agents" % k, round(e2e[k]), "records/s", comp, "composite ceiling",
                     target="≥ 0.5×")
        self.fig("composite_ceiling", comp, "records/s", raw, "raw LMDB durable")
        self.step("ceilings_ingest", t0)
        self.collector_start()

        # 2. queries idle, one at a time
        t0 = time.time()
        queries = [("summary_province", "summary", "level=province"),
                   ("summary_counties", "summary", "level=county"),
                   ("overdue_city", "overdue", "area=130100"),
                   ("overdue_province", "overdue", "area=130000"),
                   ("agents", "agents")]
        idle = {}
        for label, *q in queries:
            try:
                idle[label] = self.query_load(qsec, *q)
            except SystemExit as e:
                self.say("  idle %s failed: %s" % (label, e))
                idle[label] = {"p50_ms": float("nan"), "p99_ms": float("nan"), "n": 0}
                continue
            self.say("  idle %s: %s" % (label, idle[label]))
        self.step("queries_idle", t0)

        # 3. drains without and with query loops, and the same loops idle for as long as the
        # drain with them took: --drain-rounds rounds, alternating which drain goes first so
        # that drift (the store grows, the page cache warms) cancels; each figure is the median
        # of the rounds' own ratios (one 5 s drain is too short a sample to judge a p99 by).
        k3 = 2 if a.smoke else 10
        rounds = 1 if a.smoke else max(1, a.drain_rounds)
        mix = [("summary_province", "summary", "level=province"),
               ("overdue_city", "overdue", "area=130100")]
        per_round = []
        for r in range(rounds):
            rr = {}
            for phase in (("without", "with") if r % 2 == 0 else ("with", "without")):
                t0 = time.time()
                self.say("round %d: drain %s query loops: %d agents, %d records" % (r + 1, phase, k3, small))
                ag = self.make_agents(k3, small)
                loops = self.query_loops(mix) if phase == "with" else None
                n, dt, _, _ = self.drain(ag, "drain %s queries" % phase)
                if loops:
                    rr["during"] = self.stop_loops(loops)
                rr[phase] = (n, dt)
                rr["cpu_" + phase] = self.last_cpu
                self.say("  %d records in %.1f s; CPU s: %s" % (n, dt, ", ".join(
                    "%s %.1f" % kv for kv in self.last_cpu.items())))
                stored += n
                self.step("drain_%s_queries_%d" % (phase, r + 1), t0)
            t0 = time.time()
            secs = max(rr["with"][1], qsec)
            self.say("round %d: the drain's query loops, idle, %.0f s" % (r + 1, secs))
            loops = self.query_loops(mix)
            time.sleep(secs)
            rr["idle_mix"] = self.stop_loops(loops)
            self.step("queries_idle_mix_%d" % (r + 1), t0)
            per_round.append(rr)
        self.figures["drain_rounds"] = [
            {"without_per_s": round(rr["without"][0] / rr["without"][1]),
             "with_per_s": round(rr["with"][0] / rr["with"][1]),
             "during": rr.get("during", {}), "idle_mix": rr.get("idle_mix", {}),
             "cpu_seconds_without": rr["cpu_without"], "cpu_seconds_with": rr["cpu_with"]}
            for rr in per_round]
        rate_without = statistics.median(rr["without"][0] / rr["without"][1] for rr in per_round)
        rate_with = statistics.median(rr["with"][0] / rr["with"][1] for rr in per_round)
        self.fig("ingest_with_query_loop", round(rate_with), "records/s", round(rate_without),
                 "without queries (medians of %d rounds)" % rounds,
                 ratio=statistics.median((rr["with"][0] / rr["with"][1]) / (rr["without"][0] / rr["without"][1])
                                         for rr in per_round), target="≥ 0.9×")
        for label, q in idle.items():
            self.fig("query_%s_idle_p50" % label, q["p50_ms"], "ms", n=q.get("n"))
            self.fig("query_%s_idle_p99" % label, q["p99_ms"], "ms", n=q.get("n"))
        for label in (m[0] for m in mix):
            pairs = [(rr["during"][label], rr["idle_mix"][label]) for rr in per_round
                     if label in rr.get("during", {}) and label in rr.get("idle_mix", {})]
            if not pairs:
                continue
            # n: the fewest samples of a round (a p99 of under 100 is that round's maximum)
            n_during = min(d.get("n", 0) for d, _ in pairs)
            n_idle = min(i.get("n", 0) for _, i in pairs)

            def med(key, side, pairs=pairs):
                """The median over the rounds of key in the drain's (side 0) or idle's (1) result."""
                return statistics.median(pair[side][key] for pair in pairs)
            self.fig("query_%s_idle_mix_p50" % label, med("p50_ms", 1), "ms", n=n_idle)
            self.fig("query_%s_idle_mix_p99" % label, med("p99_ms", 1), "ms", n=n_idle)
            self.fig("query_%s_drain_p50" % label, med("p50_ms", 0), "ms", med("p50_ms", 1),
                     "idle p50, same loops", n=n_during,
                     ratio=statistics.median(d["p50_ms"] / i["p50_ms"] for d, i in pairs))
            self.fig("query_%s_drain_p99" % label, med("p99_ms", 0), "ms", med("p99_ms", 1),
                     "idle p99, same loops", n=n_during, target="≤ 2×",
                     ratio=statistics.median(d["p99_ms"] / i["p99_ms"] for d, i in pairs))
        self.collector_stop()

        # 4. verify, in-process summaries and their ceilings, on the big store
        store = os.path.join(self.cdir, "store")
        self.say("verify")
        t0 = time.time()
        self.run(self.bin + "/wanqi-collector", "verify", "--dir", self.cdir, "--quiet")
        vt = time.time() - t0
        vf = json.loads(self.run(self.bin + "/ceilings", "verify", store))
        self.fig("events_stored", vf["events"], "events")
        self.fig("verify_seconds", round(vt, 2), "s", vf["scan_seconds"], "scan-decode-aggregate",
                 ratio=vt / max(vf["scan_seconds"], 1e-6), target="≤ 2 s at 10^6")
        # The store holds more than 10^6 events by now (the drains add theirs); verify's work
        # is linear in the events, so the target is also read per 10^6.
        self.fig("verify_seconds_per_million", round(vt * 1e6 / vf["events"], 2), "s", target="≤ 2 s at 10^6")
        self.fig("verify_inprocess_seconds", vf["seconds"], "s", vf["scan_seconds"],
                 "scan-decode-aggregate, s", ratio=vf["ratio"], target="≤ 2 s at 10^6")
        self.fig("verify_inprocess_cpu_seconds", vf["cpu_seconds"], "s CPU", vf["scan_cpu_seconds"],
                 "scan-decode-aggregate, CPU s", ratio=vf["cpu_ratio"])
        self.fig("verify_inprocess_1thread_seconds", vf["seconds_1"], "s", vf["scan_seconds"],
                 "scan-decode-aggregate, s", ratio=vf["ratio_1"])
        self.fig("verify_inprocess_1thread_cpu_seconds", vf["cpu_seconds_1"], "s CPU", vf["scan_cpu_seconds"],
                 "scan-decode-aggregate, CPU s", ratio=vf["cpu_ratio_1"])
        self.step("verify", t0)
        t0 = time.time()
        self.say("summary in-process")
        inproc = {}
        for label, *q in [("summary_province", "summary", "level=province"),
                          ("summary_counties", "summary", "level=county")]:
            inproc[label] = self.query_inprocess(qsec, *q)
        sq = json.loads(self.run(self.bin + "/ceilings", "sqlite", self.tmp, store))
        pp = inproc["summary_province"]
        self.fig("summary_province_inprocess_p50", pp["p50_ms"], "ms")
        self.fig("summary_province_inprocess_p99", pp["p99_ms"], "ms", target="≤ 0.5 ms")
        # The query's own CPU time: the wall p99 less what the scheduler took (on a loaded
        # machine a 0.05 ms query preempted once waits a time slice).
        self.fig("summary_province_inprocess_cpu_p99", pp["cpu_p99_ms"], "ms CPU", target="≤ 0.5 ms")
        self.fig("sqlite_province_totals", sq["province_ms"], "ms", pp["p99_ms"],
                 "summary province p99 in-process", ratio=sq["province_ms"] / max(pp["p99_ms"], 1e-6),
                 target="≥ 1000×")
        self.fig("sqlite_province_totals_vs_cpu", sq["province_ms"], "ms", pp["cpu_p99_ms"],
                 "summary province CPU p99 in-process",
                 ratio=sq["province_ms"] / max(pp["cpu_p99_ms"], 1e-6), target="≥ 1000×")
        cp = inproc["summary_counties"]
        self.fig("summary_counties_inprocess_p50", cp["p50_ms"], "ms")
        self.fig("summary_counties_inprocess_p99", cp["p99_ms"], "ms")
        self.fig("sqlite_province_by_county", sq["province_by_county_ms"], "ms", cp["p99_ms"],
                 "summary level=county p99 in-process",
                 ratio=sq["province_by_county_ms"] / max(cp["p99_ms"], 1e-6))
        self.fig("sqlite_province_by_county_vs_wire", sq["province_by_county_ms"], "ms",
                 idle["summary_counties"]["p50_ms"], "summary level=county p50 over the wire",
                 ratio=sq["province_by_county_ms"] / max(idle["summary_counties"]["p50_ms"], 1e-6))
        self.step("summary_sqlite", t0)
        self.fig("agent_rss_anon_draining_max", rss_drain, "kB", 4096, "target", target="≤ 4096 kB")
        self.fig("agent_rss_anon_idle", rss_idle, "kB", 4096, "target", target="≤ 4096 kB")
        self.figures["suite_seconds"] = round(time.time() - self.t_start, 1)
        self.figures["steps_seconds"] = self.steps
        self.store_stat()
        self.report()

    def machine(self):
        cpu = ""
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        self.figures["machine"] = {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
                                   "tmp": self.tmp, "smoke": self.args.smoke}

    def store_stat(self):
        """Bytes per event by database (mdb_stat -a), for write amplification."""
        try:
            out = subprocess.run(["mdb_stat", "-a", os.path.join(self.cdir, "store")], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True).stdout
        except OSError:
            return
        dbs, cur, ps = {}, None, 4096
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("Status of "):
                cur = line[len("Status of "):]
            elif cur and ":" in line:
                k, v = line.split(":", 1)
                try:
                    dbs.setdefault(cur, {})[k.strip()] = int(v.strip())
                except ValueError:
                    pass
        ev = self.figures.get("events_stored", {}).get("value", 1) or 1
        per = {}
        for name, st in dbs.items():
            pages = st.get("Branch pages", 0) + st.get("Leaf pages", 0) + st.get("Overflow pages", 0)
            per[name] = {"entries": st.get("Entries", 0), "bytes_per_event": round(pages * ps / ev, 1)}
        self.figures["store_bytes_per_event"] = per

    def report(self):
        print("%-40s %14s %-10s %-46s %-9s %-14s %s" % ("figure", "value", "unit", "ceiling / reference", "ratio",
                                                         "target", "load"))
        for name, value, unit, ceil, ratio, target, load in self.rows:
            print("%-40s %14s %-10s %-46s %-9s %-14s %s" % (name, fmt(value), unit, ceil, ratio, target, load))
        if "suite_seconds" in self.figures:
            print("\nsuite: %.0f s; steps: %s" % (self.figures["suite_seconds"],
                                                  ", ".join("%s %.0f s" % kv for kv in self.steps.items())))
        if "store_bytes_per_event" in self.figures:
            print("\nstore pages per event by database (mdb_stat -a):")
            for name, st in sorted(self.figures["store_bytes_per_event"].items()):
                print("  %-12s %10d entries %8.1f bytes/event" % (name, st["entries"], st["bytes_per_event"]))
        if self.args.json:
            with open(self.args.json, "w") as f:
                json.dump(self.figures, f, indent=1, sort_keys=True)
            print("\nJSON: %s" % self.args.json)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def thread_cpu(procs):
    """CPU seconds of every thread of the live processes procs, as {(pid, tid): (program,
    thread name, user + system seconds, system seconds)}: from /proc/PID/task/TID/stat."""
    out = {}
    for p in procs:
        if p.poll() is not None:
            continue
        prog = os.path.basename(str(p.args[0]))
        try:
            tids = os.listdir("/proc/%d/task" % p.pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/stat" % (p.pid, tid)) as f:
                    st = f.read()
            except OSError:
                continue
            name = st[st.index("(") + 1:st.rindex(")")]
            fields = st[st.rindex(")") + 2:].split()
            out[(p.pid, int(tid))] = (prog, name, (int(fields[11]) + int(fields[12])) / CLK_TCK,
                                      int(fields[12]) / CLK_TCK)
    return out


def proc_field(path, key):
    """The number after "key:" in a /proc file of "key: value" lines (status, io), 0 if the
    file or the key is not there (a process that has ended)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def write_bytes(pid):
    """Bytes the process has passed to write(2) and pwrite(2) (/proc/PID/io wchar: for the
    collector, LMDB's dirty pages and meta pages at each commit), 0 if unknown. Not
    write_bytes, which the kernel counts when a page is dirtied and which read 5x the
    bytes that reached the disk here (/sys/block/*/stat)."""
    return proc_field("/proc/%d/io" % pid, "wchar")


def machine_idle():
    """Seconds the machine's CPUs have been idle (idle + iowait, all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return (int(fields[4]) + int(fields[5])) / CLK_TCK


def cpu_groups(before, after):
    """Who used the CPU between two thread_cpu snapshots: seconds by group (the collector's
    main thread is its ingest thread; its other threads by name; agents and query clients
    together), largest first. Threads that ended between the two are not counted."""
    groups = {}
    for key, (prog, name, sec, sys_sec) in after.items():
        pid, tid = key
        _, _, sec0, sys0 = before.get(key, (prog, name, 0.0, 0.0))   # a thread started since: all of it
        used = sec - sec0
        if prog == "wanqi-collector" and pid == tid:
            # the kernel's share: pwrite and fdatasync of the pages each commit dirtied
            groups["collector ingest thread, in the kernel"] = sys_sec - sys0
        if prog == "wanqi-collector":
            g = "collector ingest thread" if pid == tid else "collector " + name
        elif prog == "wanqi-agent":
            g = "agents"
        elif prog == "query_load":
            g = "query clients (bench)"
        else:
            g = prog
        groups[g] = groups.get(g, 0.0) + used
    return dict(sorted(((g, round(v, 2)) for g, v in groups.items()), key=lambda kv: -kv[1]))


def acked_at(log, last_seq):
    """Time (epoch s) of the agent's first ACK covering last_seq, from its debug log, or None.
    Log times are China Standard Time (UTC+8), to the millisecond."""
    try:
        with open(log, errors="replace") as f:
            for line in f:
                i = line.find(" D: ack ")
                if i < 0:
                    continue
                try:
                    hwm = int(line[i + 8:].split()[0])
                except (ValueError, IndexError):
                    continue
                if hwm >= last_seq:
                    st = time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
                    return calendar.timegm(st) + int(line[20:23]) / 1000.0 - 8 * 3600
    except (OSError, ValueError):
        pass
    return None


def rss_anon(pid):
    """The process's private resident memory, kB (0 if it has ended)."""
    return proc_field("/proc/%d/status" % pid, "RssAnon")


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "%.3f" % v if v < 100 else "%.0f" % v
    return str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="CMake build directory (default build)")
    ap.add_argument("--events", type=int, default=1000000, help="records in the big store (default 10^6)")
    ap.add_argument("--small", type=int, default=100000,
                    help="records of each other end-to-end run and drain (default 100000)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--smoke", action="store_true", help="a tiny run that only checks the suite works")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--query-seconds", type=int, default=10,
                    help="seconds of each idle query loop (default 10; `overdue` at 10^6 takes 0.2-1 s a query)")
    ap.add_argument("--drain-rounds", type=int, default=3,
                    help="rounds of the two drains (without and with query loops, alternating "
                         "order) and the loops idle; figures are medians of the rounds (default 3)")
    ap.add_argument("--big-through-agents", action="store_true",
                    help="fill the big store through 50 real agents (--events records), as the end-to-end "
                         "50-agent figure, instead of --small records through them and the rest in-process")
    args = ap.parse_args()
    b = Bench(args)
    try:
        b.main()
    finally:
        b.cleanup()


if __name__ == "__main__":
    main()
