"""Time from confirm to the first provider call on every channel, with a large audience.

The worker processes `notifier up` starts (a banner worker and three channel workers, each
putting another delivery channel first) are already running and idle. The benchmark confirms a
notice on SMS, email and Telegram (the audience spread evenly), enqueues its jobs, and reads
from the sandbox when it recorded its first message on each channel. Then, while that notice is
still going out, it confirms an update to the same incident and times the update's first
message per channel the same way. Times are wall-clock from the start of confirm. Rates are
the defaults (SMS 10/s, email 1,000/s, Telegram 25/s).

    python benchmarks/first_call.py                     # SQLite
    python benchmarks/first_call.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

--database-url adds a run on a scratch database (notifier_bench) created on that server.
--sizes sets the audiences (default 100000; e.g. 100000,1000000); --runs repeats each
measurement (default 3, the median is reported), each on a fresh database, Valkey, sandbox and
workers.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

import _harness as h

from notifier.channels import SUBSCRIPTION_CHANNELS as CHANNELS

WAIT = 30.0  # seconds to wait for the first message of each channel


def _firsts(bench: h.Bench, r: dict[str, Any]) -> dict[str, float]:
    """Wait for the notice's first message on each channel; return seconds after confirm."""
    firsts: dict[str, float] = {}
    deadline = time.monotonic() + WAIT
    while len(firsts) < len(CHANNELS) and time.monotonic() < deadline:
        for ch in CHANNELS:
            if ch not in firsts:
                times = [h.parse_time(m["time"]) for m in bench.sandbox_messages(ch)
                         if h._plain(m["body"]) in r["texts"]]
                if times:
                    firsts[ch] = min(times) - r["t0_wall"]
        time.sleep(0.05)
    return firsts


def once(database_url: str | None, size: int) -> dict[str, float]:
    """One run on a fresh database, Valkey, sandbox and the processes of `notifier up`."""
    with h.Bench(database_url) as bench:
        bench.audience(size)
        bench.start_processes()
        time.sleep(1)  # past the workers' first reconciler pass
        r = bench.confirm(CHANNELS, plan_all=False)
        firsts = _firsts(bench, r)
        u = bench.confirm(CHANNELS, template="update", values={"status": "cause_found"},
                          incident=r["incident_id"], plan_all=False)
        update = _firsts(bench, u)
    inf = float("inf")
    return {"confirm": r["confirm_s"], "enqueue": r["enqueue_s"], "jobs": r["jobs"],
            **{f"first_{ch}": firsts.get(ch, inf) for ch in CHANNELS},
            "first_all": max(firsts.get(ch, inf) for ch in CHANNELS),
            **{f"update_{ch}": update.get(ch, inf) for ch in CHANNELS},
            "update_all": max(update.get(ch, inf) for ch in CHANNELS)}


def _s(v: float) -> str:
    return f"> {WAIT:g}" if v == float("inf") else f"{v:.3f}"


def run(database_url: str | None, size: int, runs: int) -> list[list[str]]:
    rows = []
    results = [once(database_url, size) for _ in range(runs)]
    kind = "PostgreSQL" if database_url else "SQLite"
    for key, label in (("confirm", "confirm (first range planned, commit)"),
                       ("enqueue", "enqueue jobs"),
                       ("first_all", "confirm -> first call on every channel"),
                       ("first_sms", "confirm -> first SMS"),
                       ("first_email", "confirm -> first email"),
                       ("first_telegram", "confirm -> first Telegram message"),
                       ("update_all", "update mid-flight -> first call on every channel"),
                       ("update_sms", "update -> first SMS"),
                       ("update_email", "update -> first email"),
                       ("update_telegram", "update -> first Telegram message")):
        values = sorted(r[key] for r in results)
        rows.append([kind, label, _s(statistics.median_low(values)), _s(values[0]),
                     _s(values[-1])])
    print(f"  {kind} {size:,}: first call on every channel after "
          f"{_s(statistics.median_low(sorted(r['first_all'] for r in results)))} s (median)",
          flush=True)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("NOTIFIER_BENCH_DATABASE_URL"))
    p.add_argument("--sizes", default="100000", help="comma-separated audience sizes")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    h.print_machine()
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"first call: {args.sizes} subscriptions, the processes of `notifier up`, "
          f"{args.runs} runs each\n", flush=True)
    rows = []
    for database in [None] + ([args.database_url] if args.database_url else []):
        for size in sizes:
            with h.deadline(1800, "first_call"):
                rows += [[h.fmt(size), *row] for row in run(database, size, args.runs)]
    print()
    print(h.table(["subscriptions", "database", "step", "median s", "min s", "max s"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
