"""Fault runs: nothing accepted is lost, nobody is given up on while providers recover.

Three scenarios (--scenario):

- kill (default): providers failing 20% of calls, and workers killed with -9 during the notice;
- half: 300 recipients, every provider failing half of its calls (5xx), no kills;
- outage: 300 recipients, the SMS provider answering every call with a 5xx for --outage seconds
  (default 180), then recovering.

The kill scenario:

10,000 subscriptions spread over SMS, email and Telegram. Every simulator fails about 20% of
calls: three sandbox faults per channel (HTTP 5xx; 429 with Retry-After 1; a timeout -- the
call is held for --timeout-seconds, then answered 503/502), each firing on 7.2% of the calls
that reach it, so 1 - 0.928^3 = 20% of calls fail. Two `notifier worker` processes run; every
--kill-every seconds one of them is killed with SIGKILL and a new one started, --kills times.
Then the run waits for the notice to finish and compares the database with what the sandbox
received:

- lost: a delivery recorded as sent (or still open) that nobody received, or a planned
  recipient with nothing received and no permanent failure recorded -- must be 0;
- failed: deliveries given up on (recorded as failed, with the reason) -- must be 0 when the
  providers recover before the delivery deadline;
- duplicates: recipients who received the notice more than once.

    python benchmarks/faults.py                 # SQLite, about a minute
    python benchmarks/faults.py --scenario half --size 300
    python benchmarks/faults.py --scenario outage --size 300 --outage 180
    python benchmarks/faults.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import sys
import time

import _harness as h

from notifier.channels import SUBSCRIPTION_CHANNELS as CHANNELS

PER_FAULT = 0.072


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("NOTIFIER_BENCH_DATABASE_URL"))
    p.add_argument("--size", type=int, default=10_000)
    p.add_argument("--kills", type=int, default=4)
    p.add_argument("--kill-every", type=float, default=3.0)
    p.add_argument("--lease", default="5")
    p.add_argument("--reconcile-every", default="1")
    p.add_argument("--timeout-seconds", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scenario", choices=("kill", "half", "outage"), default="kill")
    p.add_argument("--outage", type=float, default=180.0, help="seconds of SMS 5xx (outage)")
    args = p.parse_args()
    if args.scenario != "kill":
        args.kills = 0
    env = {"NOTIFIER_LEASE_SECONDS": args.lease, "NOTIFIER_RECONCILE_EVERY": args.reconcile_every,
           "NOTIFIER_SMS_RATE": "300", "NOTIFIER_EMAIL_RATE": "2000",
           "NOTIFIER_TELEGRAM_RATE": "300"}
    rng = random.Random(args.seed)
    h.print_machine()
    what = {"kill": f"faults on ~20% of calls; {args.kills} kills every {args.kill_every:g} s",
            "half": "every provider fails half of its calls (5xx)",
            "outage": f"the SMS provider answers 5xx for {args.outage:g} s"}[args.scenario]
    print(f"faults ({args.scenario}): {args.size:,} subscriptions over {', '.join(CHANNELS)}; "
          f"{what}; lease {args.lease} s, "
          f"reconcile every {args.reconcile_every} s; rates {env['NOTIFIER_SMS_RATE']}/"
          f"{env['NOTIFIER_EMAIL_RATE']}/{env['NOTIFIER_TELEGRAM_RATE']} per s\n", flush=True)
    with h.deadline(900, "faults"), h.Bench(args.database_url, env=env) as bench:
        bench.audience(args.size, CHANNELS)
        _inject(bench, args)
        live = [bench.start_worker(), bench.start_worker()]
        bench.wait_workers_ready(2)
        r = bench.confirm(CHANNELS)
        t0 = time.monotonic()
        kills = []
        from notifier import dispatch

        if args.scenario == "outage":
            time.sleep(args.outage)
            bench.sandbox_post("/sandbox/faults", None, method="DELETE")
            print(f"  the SMS provider recovers at {time.monotonic() - t0:.0f} s", flush=True)
        while len(kills) < args.kills:
            time.sleep(args.kill_every)
            if dispatch.is_finished(bench.progress(r["notice_id"])):
                break
            victim = rng.choice(live)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            live.remove(victim)
            live.append(bench.start_worker())
            kills.append(round(time.monotonic() - t0, 1))
            print(f"  killed worker pid {victim.pid} at {kills[-1]} s", flush=True)
        counts = bench.wait_finished(r["notice_id"], timeout=840)
        elapsed = time.monotonic() - t0
        time.sleep(0.5)

        from sqlalchemy import select

        from notifier import db
        from notifier.models import Delivery

        with bench.app.app_context():
            rows = db.session().execute(select(Delivery.channel, Delivery.address, Delivery.status,
                                               Delivery.attempts, Delivery.error)
                                        .where(Delivery.notice_id == r["notice_id"])).all()
            db.session().close()
        stats = bench.sandbox_get("/sandbox/stats")
        table_rows = []
        total_lost = total_dup = 0
        for ch in CHANNELS:
            received = collections.Counter(m["to"] for m in bench.sandbox_messages(ch))
            planned = [row for row in rows if row.channel == ch]
            failed = [row for row in planned if row.status == "failed"]
            lost = [row for row in planned if row.address not in received
                    and row.status not in ("failed", "skipped")]
            unplanned = set(received) - {row.address for row in planned}
            dups = sum(1 for n in received.values() if n > 1)
            extra = sum(n - 1 for n in received.values() if n > 1)
            total_lost += len(lost) + len(unplanned)
            total_dup += dups
            st = stats["status"].get(ch, {})
            faulted = sum(n for code, n in st.items() if code not in ("200", "201", "202"))
            calls = stats["calls"].get(ch, 0)
            table_rows.append([ch, h.fmt(len(planned)), h.fmt(counts.get(ch, {}).get("sent", 0)),
                               len(failed), len(lost) + len(unplanned), dups, extra,
                               f"{faulted:,}/{calls:,} ({faulted / max(1, calls):.0%})",
                               ", ".join(f"{k}: {v}" for k, v in sorted(st.items()))])
            reasons = collections.Counter((row.error or "")[:60] for row in failed)
            if reasons:
                print(f"  {ch} failed: {dict(reasons)}", flush=True)
        print(f"\nfinished in {elapsed:.1f} s after {len(kills)} kills at {kills} s; "
              f"lost {total_lost}, recipients with duplicates {total_dup}\n")
        print(h.table(["channel", "planned", "sent", "failed (gave up)", "lost",
                       "recipients with duplicates", "extra messages",
                       "provider calls faulted", "HTTP statuses at the sandbox"], table_rows))
        given_up = sum(1 for row in rows if row.status == "failed")
    return 0 if total_lost == 0 and given_up == 0 else 1


def _inject(bench: h.Bench, args: argparse.Namespace) -> None:
    """Register the scenario's faults with the sandbox."""
    for ch in CHANNELS:
        if args.scenario == "half":
            bench.sandbox_post("/sandbox/faults", {"channel": ch, "kind": "error_5xx", "rate": 0.5})
        elif args.scenario == "outage" and ch == "sms":
            bench.sandbox_post("/sandbox/faults", {"channel": ch, "kind": "error_5xx"})
        elif args.scenario == "kill":
            bench.sandbox_post("/sandbox/faults", {"channel": ch, "kind": "error_5xx",
                                                   "rate": PER_FAULT})
            bench.sandbox_post("/sandbox/faults", {"channel": ch, "kind": "rate_limit",
                                                   "rate": PER_FAULT, "retry_after": 1})
            bench.sandbox_post("/sandbox/faults", {"channel": ch, "kind": "timeout",
                                                   "rate": PER_FAULT,
                                                   "seconds": args.timeout_seconds})


if __name__ == "__main__":
    sys.exit(main())
