#!/usr/bin/env python3
"""Where a weak-link drain's time goes: a timeline from one bench/weaklink run.

    WEAKLINK_KEEP=1 bench/weaklink --records 100000   (its drain logs at debug)
    python3 bench/weaklink_timeline.py DIR [--bps 64000] [--timeline FILE]

DIR is the directory bench/weaklink kept (it says "weaklink: kept DIR"). Reads
the agent's debug log of the drain (backlog.log: "sent batch A..B (R record
bytes, W on the wire)", "ack N") and the bench's backlog.times (start, resets,
end, as wall-clock ms). Writes the per-batch timeline (seq range, wire bytes,
sent, acknowledged, resent or not) to FILE if asked, and prints an account of
the drain's seconds:
  - from the fault link's counters (bench/weaklink writes them beside the
    times): the link time of the records' bytes, of other bytes up (the
    parts of batches crossing the link at a reset, handshakes, PINGs), of
    the lost copies (--loss), and the idle rest;
  - from the agent's log, its sends replayed through a queue served at the
    link's rate (without the loss; a reset empties the queue): the link time
    of the batches acknowledged and of those sent again, and where the queue
    ran empty: at the start (before the first batch), after a reset (until
    the first batch after it), at the end, and other gaps (waiting for ACKs:
    the credit did not cover the round trip, or the agent was slow to read
    and compress).
Figures, not verdicts: nothing is asserted.
"""
import argparse
import datetime
import os
import re
import sys

SENT = re.compile(r"sent batch (\d+)\.\.(\d+) \((\d+) record bytes, (\d+) on the wire[^)]*\)")
ACK = re.compile(r" D: ack (\d+) ")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3}) ")


def stamp_ms(line):
    m = STAMP.match(line)
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp()) * 1000 + int(m.group(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--bps", type=int, default=64000)
    ap.add_argument("--log", default="backlog.log")
    ap.add_argument("--timeline")
    a = ap.parse_args()
    rate = a.bps / 8.0 / 1000.0   # bytes per ms

    marks = {}
    resets = []
    with open(os.path.join(a.dir, a.log.replace(".log", ".times"))) as f:
        for line in f:
            k, v = line.split()
            if k == "reset":
                resets.append(int(v))
            else:
                marks[k] = int(v)
    sends, acks = [], []
    offset = None
    with open(os.path.join(a.dir, a.log), encoding="utf-8", errors="replace") as f:
        for line in f:
            t = stamp_ms(line)
            if t is None:
                continue
            if offset is None:
                # The agent logs local time, the bench epoch ms: the first
                # line comes within seconds of the start mark, so the offset
                # is their difference rounded to the quarter hour.
                q = 15 * 60 * 1000
                offset = round((t - marks["start"]) / q) * q
            t -= offset
            m = SENT.search(line)
            if m:
                sends.append([int(m.group(1)), int(m.group(2)), int(m.group(4)), t, None, False])
                continue
            m = ACK.search(line)
            if m:
                acks.append((int(m.group(1)), t))
    if not sends:
        sys.exit("weaklink_timeline: no 'sent batch' lines: was the run made with WEAKLINK_LOG=debug?")
    t0, t1 = marks["start"], marks["end"]

    # Each send's ACK: the first ACK covering its last seq after it was sent.
    # A send is wasted if its range was sent again before that ACK came.
    ai = 0
    for i, s in enumerate(sends):
        while ai < len(acks) and acks[ai][1] < s[3]:
            ai += 1
        j = ai
        while j < len(acks) and acks[j][0] < s[1]:
            j += 1
        s[4] = acks[j][1] if j < len(acks) else None
        for later in sends[i + 1:]:
            if s[4] is not None and later[3] > s[4]:
                break
            if later[0] <= s[1] and later[1] >= s[0]:
                s[5] = True
                break

    # Replay the sends through a queue served at the link's rate; a reset
    # empties it (what had not crossed the link cost no link time). Each
    # send's served bytes are what crossed the link of it.
    events = sorted([(s[3], 0, i) for i, s in enumerate(sends)] + [(r, 1, -1) for r in resets])
    queue = []          # [index, bytes left]
    clock = t0
    gaps = []
    served = [0.0] * len(sends)

    def serve(until):
        nonlocal clock
        while queue and clock < until:
            i, left = queue[0]
            take = min(left, (until - clock) * rate)
            served[i] += take
            clock += take / rate
            if take >= left - 1e-9:
                queue.pop(0)
            else:
                queue[0][1] = left - take
        if not queue and clock < until:
            gaps.append((clock, until))
            clock = until

    for t, kind, i in events:
        serve(t)
        if kind == 1:
            queue.clear()
        else:
            queue.append([i, float(sends[i][2])])
    serve(t1)
    last_ack = max(t for _, t in acks) if acks else t1
    end_gap = gaps.pop() if gaps and gaps[-1][1] == t1 else None

    useful = sum(served[i] for i, s in enumerate(sends) if not s[5]) / rate
    wasted = sum(served[i] for i, s in enumerate(sends) if s[5]) / rate
    total = t1 - t0
    after_reset = start = other = 0.0
    worst = []
    for g0, g1 in gaps:
        d = g1 - g0
        if g0 == t0:
            start += d
        elif any(g0 - 5000 <= r <= g1 for r in resets):
            after_reset += d
        else:
            other += d
            worst.append((d, g0))
    end = end_gap[1] - end_gap[0] if end_gap else 0.0

    if "up_sent" in marks:
        # The link's own counters: exact, where the replay above is a model.
        need, up, lost = marks["need"], marks["up_sent"], marks["up_lost"]
        print(f"drain {total / 1000:.1f} s; from the fault link's counters:")
        print(f"  {'the records (their stored batches, framed)':<52} {need / rate / 1000:8.1f} s  "
              f"{100 * need / rate / total:5.1f}%")
        print(f"  {'other bytes up: lost batches, handshakes, PINGs':<52} {(up - need) / rate / 1000:8.1f} s  "
              f"{100 * (up - need) / rate / total:5.1f}%")
        print(f"  {'lost copies (--loss: link time spent twice)':<52} {lost / rate / 1000:8.1f} s  "
              f"{100 * lost / rate / total:5.1f}%")
        idle = total - (up + lost) / rate
        print(f"  {'link idle':<52} {idle / 1000:8.1f} s  {100 * idle / total:5.1f}%")
        print("from the agent's log, replayed through a queue at the link's rate (no loss):")

    def line(what, ms):
        print(f"  {what:<52} {ms / 1000:8.1f} s  {100 * ms / total:5.1f}%")

    print(f"  {len(sends)} batch sends, {len(resets)} resets, "
          f"last ACK {(last_ack - t0) / 1000:.1f} s after the start")
    line("link time of the batches acknowledged", useful)
    line("link time of batches sent again (lost, rewound)", wasted)
    line("link idle: start (connect, handshakes)", start)
    line("link idle: after a reset (until the next batch)", after_reset)
    line("link idle: other gaps (waiting for ACKs, reading)", other)
    line("link idle: end (last batch to the bench seeing it)", end)
    worst.sort(reverse=True)
    if worst:
        print("  largest other gaps: " + ", ".join(f"{d / 1000:.2f} s at +{(g - t0) / 1000:.1f} s"
                                                   for d, g in worst[:8]))
    for r in resets:
        nxt = next((s for s in sends if s[3] >= r), None)
        lost = sum(served[i] for i, s in enumerate(sends)
                   if s[3] < r and s[5] and (s[4] is None or s[4] > r))
        print(f"  reset at +{(r - t0) / 1000:6.1f} s: next batch sent "
              f"{((nxt[3] - r) / 1000) if nxt else float('nan'):.2f} s later; "
              f"{lost:.0f} bytes of the batches lost had crossed the link in the replay")
    if a.timeline:
        with open(a.timeline, "w") as f:
            f.write("first\tlast\twire\tsent_s\tacked_s\tresent\n")
            for s in sends:
                f.write(f"{s[0]}\t{s[1]}\t{s[2]}\t{(s[3] - t0) / 1000:.3f}\t"
                        f"{'' if s[4] is None else f'{(s[4] - t0) / 1000:.3f}'}\t"
                        f"{'yes' if s[5] else ''}\n")


if __name__ == "__main__":
    main()
