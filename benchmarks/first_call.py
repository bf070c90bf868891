"""Time from confirm to the first provider call, with a 100,000-subscription audience.

Two `notifier worker` processes (as `notifier up` starts) are already running and idle. The
benchmark confirms a notice on SMS, email and Telegram (the audience spread evenly), enqueues
its batch jobs, and reads from the sandbox when it recorded its first message on each channel.
Times are wall-clock from the start of confirm. Rates are the defaults (SMS 10/s, email
1,000/s, Telegram 25/s); the run stops once every channel has sent something
(or after 30 s).

    python benchmarks/first_call.py                     # SQLite
    python benchmarks/first_call.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

--database-url adds a run on a scratch database (notifier_bench) created on that server.
--size changes the audience (default 100,000); --runs repeats each measurement, each on a
fresh database, Valkey, sandbox and workers.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import _harness as h

from notifier.channels import SUBSCRIPTION_CHANNELS as CHANNELS

WAIT = 30.0  # seconds to wait for the first message of each channel


def once(database_url: str | None, size: int) -> dict[str, float]:
    """One run on a fresh database, Valkey, sandbox and pair of idle workers."""
    with h.Bench(database_url) as bench:
        bench.audience(size)
        for _ in range(2):
            bench.start_worker()
        bench.wait_workers_ready(2)
        time.sleep(1)  # past the workers' first reconciler pass
        r = bench.confirm(CHANNELS)
        t0 = r["t0_wall"]
        firsts: dict[str, float] = {}
        deadline = time.monotonic() + WAIT
        while len(firsts) < len(CHANNELS) and time.monotonic() < deadline:
            for ch in CHANNELS:
                if ch not in firsts:
                    msgs = bench.sandbox_messages(ch)
                    if msgs:
                        firsts[ch] = min(h.parse_time(m["time"]) for m in msgs) - t0
            time.sleep(0.1)
    return {"confirm": r["confirm_s"], "enqueue": r["enqueue_s"], "jobs": r["jobs"],
            **{f"first_{ch}": firsts.get(ch, float("inf")) for ch in CHANNELS},
            "first_any": min(firsts.values()) if firsts else float("inf")}


def _s(v: float) -> str:
    return f"> {WAIT:g}" if v == float("inf") else f"{v:.3f}"


def run(database_url: str | None, size: int, runs: int) -> list[list[str]]:
    rows = []
    results = [once(database_url, size) for _ in range(runs)]
    kind = "PostgreSQL" if database_url else "SQLite"
    for key, label in (("confirm", "confirm (planning, commit)"), ("enqueue", "enqueue jobs"),
                       ("first_any", "confirm -> first provider call (any channel)"),
                       ("first_sms", "confirm -> first SMS"),
                       ("first_email", "confirm -> first email"),
                       ("first_telegram", "confirm -> first Telegram message")):
        values = sorted(r[key] for r in results)
        rows.append([kind, label, _s(statistics.median_low(values)), _s(values[0]),
                     _s(values[-1])])
    print(f"  {kind}: {results[0]['jobs']} jobs per notice; first call after "
          f"{_s(statistics.median_low(sorted(r['first_any'] for r in results)))} s (median)",
          flush=True)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("NOTIFIER_BENCH_DATABASE_URL"))
    p.add_argument("--size", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    h.print_machine()
    print(f"first call: {args.size:,} subscriptions, 2 idle workers, {args.runs} runs each\n",
          flush=True)
    rows = []
    for database in [None] + ([args.database_url] if args.database_url else []):
        with h.deadline(600, "first_call"):
            rows += run(database, args.size, args.runs)
    print()
    print(h.table(["database", "step", "median s", "min s", "max s"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
