#!/usr/bin/env python3
"""The per-agent store quota end to end, with the real programs on 127.0.0.1
(issue 10, finding 4: "one agent filled a store with quarantined junk").

A real wanqi-collector with agent_quota = 48K and a real wanqi-agent that
holds more than that: the collector accepts batches up to the quota, then
refuses the rest with E_QUOTA. Checked:
  - never silently dropped: the agent keeps its backlog (acknowledged <
    last_seq) and `wanqi-agent status` shows E_QUOTA as its last error;
  - the collector logs the refusal with the agent id and its key;
  - `wanqi-query agents` shows the agent's store_bytes (within the quota)
    and quota_refused;
  - the operator raises agent_quota and restarts the collector: the same
    agent process (never restarted) resends and its whole backlog is
    acknowledged; quota_refused is cleared.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from wqproc import Guard, bin_path as b, free_port, run_ok as run  # noqa: E402

AGENT, COUNTY = "130102-01", "130102"


def main():
    with Guard() as g:
        tmp = g.tmpdir()
        cdir, adir, qdir = (os.path.join(tmp, d) for d in ("collector", "agent", "query"))
        ingest, query = "tcp://127.0.0.1:%d" % free_port(), "tcp://127.0.0.1:%d" % free_port()
        key = run([b("wanqi-collector"), "init", "--dir", cdir, "--ingest", ingest, "--query", query,
                   "--map-size", "64M"]).splitlines()[0].strip()
        conf = os.path.join(cdir, "collector.conf")
        with open(conf, "a") as f:
            f.write("agent_quota = 48K\nmax_batch = 20\n")
        qkey = run([b("wanqi-query"), "keygen", "--dir", qdir]).splitlines()[0].strip()
        run([b("wanqi-collector"), "authorize", "client", "--dir", cdir, "--key", qkey, "--name", "staff"])
        out = run([b("wanqi-agent"), "init", "--dir", adir, "--agent-id", AGENT, "--county", COUNTY,
                   "--collector", ingest, "--collector-key", key, "--config", "poll_ms=50",
                   "--config", "heartbeat_ms=1000", "--config", "backoff_max_ms=2000"])
        akey = re.search(r"public key: (\S{40})", out).group(1)
        run([b("wanqi-collector"), "authorize", "agent", "--dir", cdir, "--key", akey, "--agent-id", AGENT,
             "--county", COUNTY])
        jsonl = os.path.join(tmp, "campaign.jsonl")
        with open(jsonl, "w", encoding="utf-8") as f:
            f.write(run([b("wanqi-agent"), "generate", "--county", COUNTY, "--enterprises", "40",
                         "--seed", "7"]))
        run([b("wanqi-agent"), "import", jsonl, "--dir", adir])

        def status():
            return json.loads(run([b("wanqi-agent"), "status", "--format", "json", "--dir", adir]))
        total = status()["last_seq"]
        assert total > 100, total

        def agents():
            rows = json.loads(run([b("wanqi-query"), "--dir", qdir, "--collector", query, "--collector-key",
                                   key, "--timeout", "30", "agents", "--format", "json"]))
            return [r for r in rows if r["agent"] == AGENT]

        clog = os.path.join(tmp, "collector.log")
        collector = g.start([b("wanqi-collector"), "run", "--dir", cdir], log=clog)
        agent = g.start([b("wanqi-agent"), "run", "--dir", adir], log=os.path.join(tmp, "agent.log"))
        seen = {}

        def refused():
            st = status()
            seen.update(st)
            return "E_QUOTA" in (st.get("last_error") or "") and 0 < st["acknowledged"] < total
        g.wait_until(refused, 120, "the agent to show E_QUOTA with part of its records acknowledged",
                     seen=lambda: {k: seen.get(k) for k in ("acknowledged", "last_error")})
        acked = status()["acknowledged"]
        log = open(clog, encoding="utf-8", errors="replace").read()
        assert re.search(r"agent %s \(key %s\): batch \d+\.\.\d+ refused, over its store quota" %
                         (re.escape(AGENT), re.escape(akey)), log), "the collector logs the refusal"
        rows = agents()
        assert rows and all(0 < r["store_bytes"] <= 48 * 1024 for r in rows), rows
        assert any(r.get("quota_refused") for r in rows), rows
        # Nothing lost while refused: the backlog is still the agent's.
        assert status()["acknowledged"] <= total and status()["last_seq"] == total

        # The operator raises the quota and restarts the collector.
        assert g.stop(collector) == 0
        with open(conf, "a") as f:
            f.write("agent_quota = 10M\n")
        collector = g.start([b("wanqi-collector"), "run", "--dir", cdir], log=clog)
        g.wait_until(lambda: status()["acknowledged"] == total, 180,
                     "the whole backlog to be acknowledged after the quota was raised",
                     seen=lambda: status()["acknowledged"])
        assert agent.poll() is None, "the agent kept running throughout"
        rows = agents()
        assert not any(r.get("quota_refused") for r in rows), rows
        assert sum(1 for r in rows if r["store_bytes"] > 48 * 1024) >= 1, rows
        assert g.stop(agent) == 0
        assert g.stop(collector) == 0
        out = run([b("wanqi-collector"), "verify", "--dir", cdir])
        print("acknowledged %d of %d before the raise, %d after; %s" % (acked, total, total, out.strip()))
    print("quota test passed")


if __name__ == "__main__":
    main()
