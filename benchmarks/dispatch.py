"""Dispatch throughput per channel: unlimited simulators, the engine's own cost, limited ones.

1. Unlimited: rates set very high, one channel at a time, through real `notifier worker`
   processes (one per run unless --workers says otherwise) and the sandbox as its own process.
   Reports messages per second, and CPU microseconds per delivery of the worker processes and
   of the sandbox, read from /proc/<pid>/stat.
2. Engine cost: the same batches run in this process by `workers.delivery.deliver_batch`, with
   the channel adapter wrapped to measure the CPU spent inside `adapter.send` (adapter, SDK,
   HTTP client). Everything else -- claim, lease, rate limiter, building messages, recording
   outcomes, completion check -- is the notifier's own cost per delivery.
3. Limited: the sandbox enforces a token bucket per channel (one second's burst) and answers
   429 as each provider does; the notifier is configured with the same rates. Reports the
   achieved rate / configured rate and the 429s the notifier caused.

    python benchmarks/dispatch.py            # quick sizes: about a minute
    python benchmarks/dispatch.py --full     # email 100,000, SMS and Telegram 10,000; limited runs of 20 s

--database-url runs on a PostgreSQL scratch database (notifier_bench) instead of SQLite;
--profile CHANNEL prints a cProfile of the in-process run of that channel.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from typing import Any

import _harness as h

UNLIMITED = {"NOTIFIER_SMS_RATE": "1000000", "NOTIFIER_EMAIL_RATE": "1000000",
             "NOTIFIER_TELEGRAM_RATE": "1000000"}
LIMITS = {"sms": 50.0, "email": 1000.0, "telegram": 25.0}


def _sent_times(bench: h.Bench, channel: str) -> list[float]:
    return sorted(h.parse_time(m["time"]) for m in bench.sandbox_messages(channel))


def unlimited(database_url: str | None, sizes: dict[str, int], workers: list[int]) -> list[list[str]]:
    rows = []
    with h.Bench(database_url, env=UNLIMITED) as bench:
        for ch, n in sizes.items():
            bench.audience(n, [ch])
        for channel, n in sizes.items():
            for w in workers:
                bench.sandbox_reset()
                procs = [bench.start_worker(channel) for _ in range(w)]
                bench.wait_workers_ready(len(bench.workers))
                cpu0 = [h.cpu_seconds(p.pid) for p in procs]
                sb0 = h.cpu_seconds(bench.sandbox.pid)  # type: ignore[union-attr]
                r = bench.confirm([channel])
                t_enq = time.time()
                counts = bench.wait_finished(r["notice_id"], timeout=900, poll=0.1)
                t_end = time.time()
                cpu = sum(h.cpu_seconds(p.pid) - c for p, c in zip(procs, cpu0))
                sb = h.cpu_seconds(bench.sandbox.pid) - sb0  # type: ignore[union-attr]
                times = _sent_times(bench, channel)
                sent = counts.get(channel, {}).get("sent", 0)
                span = (times[-1] - times[0]) if len(times) > 1 else float("nan")
                wall = t_end - t_enq
                rows.append([channel, w, h.fmt(sent), f"{wall:.2f}", h.fmt(sent / wall),
                             h.fmt(sent / wall / w), h.fmt(len(times) / span if span else 0),
                             h.fmt(cpu / max(1, sent) * 1e6), h.fmt(sb / max(1, sent) * 1e6)])
                print(f"  {channel} x{w} worker(s): {sent:,} sent in {wall:.2f} s "
                      f"({sent / wall:,.0f}/s); worker CPU {cpu / max(1, sent) * 1e6:,.0f} us, "
                      f"sandbox CPU {sb / max(1, sent) * 1e6:,.0f} us per delivery", flush=True)
                for p in procs:
                    p.terminate()
                    p.wait(15)
                    bench.workers.remove(p)
                _clear_workers(bench)
    return rows


def _clear_workers(bench: h.Bench) -> None:
    """Forget stopped workers' registrations so wait_workers_ready counts live ones only."""
    from rq import Worker

    from notifier import queues

    with bench.app.app_context():
        for w in Worker.all(connection=queues.redis()):
            w.register_death()


class _Timed:
    """Wrap an adapter: accumulate the process CPU and wall time spent inside send()."""

    cpu = 0.0
    wall = 0.0

    def __init__(self, inner: Any) -> None:
        self.inner, self.channel = inner, inner.channel

    def send(self, messages: Any) -> Any:
        c0, w0 = time.process_time(), time.perf_counter()
        try:
            return self.inner.send(messages)
        finally:
            _Timed.cpu += time.process_time() - c0
            _Timed.wall += time.perf_counter() - w0

    def close(self) -> None:
        self.inner.close()


def engine_cost(database_url: str | None, sizes: dict[str, int],
                profile: str | None) -> list[list[str]]:
    from sqlalchemy import select

    from notifier import db, enqueueing
    from notifier.models import Delivery
    from workers import delivery

    real_make = delivery.make_adapter
    delivery.make_adapter = lambda *a, **k: _Timed(real_make(*a, **k))  # type: ignore[assignment]
    rows = []
    try:
        with h.Bench(database_url, env=UNLIMITED) as bench:
            for ch, n in sizes.items():
                bench.audience(n, [ch])
            for channel in sizes:
                r = bench.confirm([channel], enqueue=False)
                with bench.app.app_context():
                    ids = list(db.session().scalars(select(Delivery.id).where(
                        Delivery.notice_id == r["notice_id"]).order_by(Delivery.id)))
                    size = enqueueing.batch_size(channel, bench.app.config["RATES"][channel])
                    ranges = enqueueing.id_ranges(ids, size)
                    db.session().close()
                _Timed.cpu = _Timed.wall = 0.0
                prof = None
                if profile == channel:
                    import cProfile

                    prof = cProfile.Profile()
                    prof.enable()
                c0, w0 = time.process_time(), time.perf_counter()
                totals: collections.Counter[str] = collections.Counter()
                for first, last in ranges:
                    with bench.app.app_context():
                        totals.update(delivery.deliver_batch(r["notice_id"], channel, first, last))
                cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                if prof is not None:
                    prof.disable()
                    import pstats

                    print(f"\ncProfile of the in-process {channel} run (top 30 by own time):")
                    pstats.Stats(prof).sort_stats("tottime").print_stats(30)
                n = totals.get("sent", 0)
                own = cpu - _Timed.cpu
                rows.append([channel, h.fmt(n), len(ranges), h.fmt(cpu / n * 1e6),
                             h.fmt(_Timed.cpu / n * 1e6), h.fmt(own / n * 1e6),
                             h.fmt((wall - _Timed.wall) / n * 1e6), h.fmt(n / wall)])
                print(f"  {channel}: notifier's own CPU {own / n * 1e6:,.0f} us per delivery; "
                      f"adapter+SDK {_Timed.cpu / n * 1e6:,.0f} us", flush=True)
    finally:
        delivery.make_adapter = real_make  # type: ignore[assignment]
    return rows


def limited(database_url: str | None, sizes: dict[str, int]) -> list[list[str]]:
    env = {"NOTIFIER_SMS_RATE": str(LIMITS["sms"]), "NOTIFIER_EMAIL_RATE": str(LIMITS["email"]),
           "NOTIFIER_TELEGRAM_RATE": str(LIMITS["telegram"])}
    rows = []
    with h.Bench(database_url, env=env, limits=LIMITS) as bench:
        for ch, n in sizes.items():
            bench.audience(n, [ch])
        for ch in sizes:
            bench.start_worker(ch)
        bench.wait_workers_ready(len(sizes))
        notices = {ch: bench.confirm([ch])["notice_id"] for ch in sizes}
        for ch, notice_id in notices.items():
            bench.wait_finished(notice_id, timeout=900)
        refused = bench.sandbox_get("/bench/limits")["refused_429"]
        stats = bench.sandbox_get("/sandbox/stats")
        for ch in sizes:
            msgs = bench.sandbox_messages(ch)
            times = sorted(h.parse_time(m["time"]) for m in msgs)
            units = sum(int(m["meta"].get("num_segments", 1)) for m in msgs) if ch == "sms" \
                else len(msgs)
            span = times[-1] - times[0]
            rate = LIMITS[ch]
            # A token bucket (rate r, burst b = r) admits at most b + r*T units in T seconds.
            achieved = (units - rate) / span if span > 0 else float("nan")
            unit = {"sms": "segments", "email": "recipients", "telegram": "messages"}[ch]
            provider_429 = stats.get("status", {}).get(ch, {}).get("429", 0)
            rows.append([ch, f"{rate:g} {unit}/s", h.fmt(units), f"{span:.1f}",
                         h.fmt(achieved, 1), f"{achieved / rate:.1%}",
                         refused.get(ch, 0) + provider_429])
            print(f"  {ch}: {achieved:,.1f}/{rate:g} {unit}/s = {achieved / rate:.1%}; "
                  f"429s caused: {refused.get(ch, 0) + provider_429}", flush=True)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--full", action="store_true")
    p.add_argument("--database-url", default=os.environ.get("NOTIFIER_BENCH_DATABASE_URL"))
    p.add_argument("--workers", default="1", help="worker process counts to try, e.g. 1,2")
    p.add_argument("--profile", choices=("sms", "email", "telegram"))
    p.add_argument("--only", default="unlimited,engine,limited")
    args = p.parse_args()
    full = args.full
    sizes = {"email": 100_000, "sms": 10_000, "telegram": 10_000} if full else \
        {"email": 20_000, "sms": 2_000, "telegram": 2_000}
    limited_sizes = {"sms": int(LIMITS["sms"] * (20 if full else 5)),
                     "email": int(LIMITS["email"] * (20 if full else 5)),
                     "telegram": int(LIMITS["telegram"] * (20 if full else 5))}
    workers = [int(x) for x in args.workers.split(",")]
    only = set(args.only.split(","))
    h.print_machine()
    db_name = "PostgreSQL" if args.database_url else "SQLite"
    print(f"dispatch on {db_name}; sizes {sizes}; limited run sizes {limited_sizes}\n", flush=True)
    out = []
    with h.deadline(1800, "dispatch"):
        if "unlimited" in only:
            print("unlimited simulators (rates 1,000,000/s), real worker processes:", flush=True)
            rows = unlimited(args.database_url, sizes, workers)
            out.append(h.table(["channel", "workers", "sent", "wall s", "msgs/s",
                                "msgs/s per worker", "msgs/s at the sandbox",
                                "worker CPU us/delivery", "sandbox CPU us/delivery"], rows))
        if "engine" in only:
            print("engine cost, in-process deliver_batch:", flush=True)
            rows = engine_cost(args.database_url, sizes, args.profile)
            out.append(h.table(["channel", "sent", "batches", "total CPU us/delivery",
                                "adapter+SDK+HTTP CPU us", "notifier's own CPU us",
                                "notifier's own wall us", "msgs/s in one process"], rows))
        if "limited" in only:
            print("limited simulators (sandbox enforces the rate, 429 beyond it):", flush=True)
            rows = limited(args.database_url, limited_sizes)
            out.append(h.table(["channel", "configured", "units sent", "span s",
                                "achieved/s", "achieved / configured", "429s caused"], rows))
    print()
    print("\n\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
