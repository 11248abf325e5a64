#!/usr/bin/env python3
"""Where end-to-end ingest time goes: one drain, profiled (docs/PERFORMANCE.md, round 3).

    python3 bench/e2e_profile.py [--build build] [--agents 1] [--records 20000]
                                 [--callgrind DIR] [--perf FILE] [--keep]

A real collector (CURVE, durable LMDB) and --agents real agents, each with a backlog of
records/agents generated and imported first (as bench/run.py does), then drained while:

  --callgrind DIR  the collector and every agent run under valgrind --tool=callgrind (counts
                   zeroed when the agents start, dumped when the drain ends): instructions per
                   record of each process, repeatable on a loaded machine. Slow (~50x).
  --perf FILE      `perf record -e cpu-clock -g -a` for the length of the drain: the share of CPU
                   of each process and thread (perf report --sort comm,pid / --sort sym).

Both programs run with WANQI_LOG=debug, and the script reads the wait structure from their logs:
batches in flight at the agent when each is sent, how long a batch waits for its ACK, how many
batches and records share a group commit and how long the commit took (collector). Prints
figures, asserts nothing.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as suite  # noqa: E402  (bench/run.py: collector and agents set-up)

STAMP = r"(\d\d):(\d\d):(\d\d)\.(\d{3})"


def stamp_ms(m):
    h, mi, s, ms = (int(x) for x in m.groups()[:4])
    return ((h * 60 + mi) * 60 + s) * 1000 + ms


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def agent_levels(log):
    """zstd level -> batches sent at it (agents that log it)."""
    out = {}
    pat = re.compile(r"D: sent batch .* level (\d+)\)")
    with open(log, errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if m:
                out[int(m.group(1))] = out.get(int(m.group(1)), 0) + 1
    return out


def agent_waits(log):
    """(in flight when sent, ms from send to ACK) per batch, from a debug agent log."""
    sent, inflight, waits = [], [], []
    pat_s = re.compile(STAMP + r".* D: sent batch (\d+)\.\.(\d+)")
    pat_a = re.compile(STAMP + r".* D: ack (\d+)")
    with open(log, errors="replace") as f:
        for line in f:
            m = pat_s.search(line)
            if m:
                inflight.append(len(sent))
                sent.append((stamp_ms(m), int(m.group(6))))
                continue
            m = pat_a.search(line)
            if m:
                t, hwm = stamp_ms(m), int(m.group(5))
                while sent and sent[0][1] <= hwm:
                    waits.append(t - sent.pop(0)[0])
    return inflight, waits


def collector_groups(log):
    pat = re.compile(r"D: group commit: (\d+) batches, (\d+) records, (\d+) ms")
    out = []
    with open(log, errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if m:
                out.append(tuple(int(x) for x in m.groups()))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--agents", type=int, default=1)
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--callgrind", help="directory for callgrind.out.* of the collector and agents")
    ap.add_argument("--perf", help="perf.data file: perf record -e cpu-clock -g -a during the drain")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    os.environ["WANQI_LOG"] = "debug"
    b = suite.Bench(argparse.Namespace(build=args.build, keep=args.keep, smoke=False, json=None))
    vg = []
    if args.callgrind:
        os.makedirs(args.callgrind, exist_ok=True)
        vg = ["valgrind", "--tool=callgrind"]
    try:
        b.collector_init()
        b.collector_start_argv = None
        clog = os.path.join(b.tmp, "collector.log")
        argv = [b.bin + "/wanqi-collector", "run", "--dir", b.cdir]
        if vg:
            argv = vg + ["--callgrind-out-file=%s/collector.%%p" % args.callgrind] + argv
        b.col = b.start(argv, clog)
        deadline = time.time() + 120
        while True:
            try:
                b.agents_table()
                break
            except SystemExit:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        b.say("importing %d records for %d agent(s)" % (args.records, args.agents))
        agents = b.make_agents(args.agents, args.records)
        total = sum(a["last_seq"] for a in agents)
        perf = None
        if args.perf:
            perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-g", "-a", "-o", args.perf],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        if vg:
            subprocess.run(["callgrind_control", "-z", str(b.col.pid)], stdout=subprocess.DEVNULL)
        t0 = time.time()
        for a in agents:
            argv = [b.bin + "/wanqi-agent", "run", "--dir", a["dir"]]
            if vg:
                argv = vg + ["--callgrind-out-file=%s/agent-%s.%%p" % (args.callgrind, a["id"])] + argv
            a["proc"] = b.start(argv, a["dir"] + ".log")
        while True:
            try:
                marks = b.agents_table()
            except SystemExit:
                marks = {}
            if all(marks.get((a["id"], a["inc"]), 0) >= a["last_seq"] for a in agents):
                break
            time.sleep(0.5 if vg else 0.2)
        dt = time.time() - t0
        if vg:
            subprocess.run(["callgrind_control", "-d", str(b.col.pid)], stdout=subprocess.DEVNULL)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(60)
        for a in agents:
            b.stop(a["proc"])
        b.collector_stop()
        print("drain: %d records, %d agent(s), %.1f s = %.0f records/s (load %.1f)%s"
              % (total, len(agents), dt, total / dt, os.getloadavg()[0], " under callgrind" if vg else ""))
        inflight, waits = [], []
        for a in agents:
            i, w = agent_waits(a["dir"] + ".log")
            inflight += i
            waits += w
        if inflight:
            print("agent: %d batches sent, %.0f records each on average; in flight when sent: mean %.2f, "
                  "max %d" % (len(inflight), total / len(inflight), statistics.mean(inflight), max(inflight)))
        levels = {}
        for a in agents:
            for k, v in agent_levels(a["dir"] + ".log").items():
                levels[k] = levels.get(k, 0) + v
        if levels:
            print("agent: batches by zstd level: %s" % ", ".join("%d: %d" % kv for kv in sorted(levels.items())))
        if waits:
            print("agent: send to ACK ms: p50 %d, p90 %d, p99 %d, mean %.1f"
                  % (pct(waits, 50), pct(waits, 90), pct(waits, 99), statistics.mean(waits)))
        groups = collector_groups(clog)
        if groups:
            nb = [g[0] for g in groups]
            nr = [g[1] for g in groups]
            ms = [g[2] for g in groups]
            print("collector: %d group commits; batches per group mean %.2f (max %d); records per group "
                  "mean %.0f; ingest+commit ms per group p50 %d, p90 %d, mean %.1f, total %.1f s of %.1f s"
                  % (len(groups), statistics.mean(nb), max(nb), statistics.mean(nr), pct(ms, 50), pct(ms, 90),
                     statistics.mean(ms), sum(ms) / 1000.0, dt))
        if vg:
            print("callgrind files in %s: instructions per record = total Ir / %d (collector.PID.1: the "
                  "drain, from the agents' start to the last mark; agent-*: the agent's whole run)"
                  % (args.callgrind, total))
            for fn in sorted(os.listdir(args.callgrind)):
                path = os.path.join(args.callgrind, fn)
                ir = 0
                with open(path, errors="replace") as f:
                    for line in f:
                        if line.startswith("summary:") or line.startswith("totals:"):
                            ir = max(ir, int(line.split()[1]))
                if ir:
                    print("  %-40s %14d Ir  %8.0f per record" % (fn, ir, ir / total))
    finally:
        b.cleanup()


if __name__ == "__main__":
    main()
