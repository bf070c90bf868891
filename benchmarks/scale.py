"""Scale beyond one machine: several workers as separate machines against one PostgreSQL and one Redis.

Each worker process gets what a machine of its own would have: its own settings (its own
instance folder), its own database and Redis connections, its own reconciler; they share only
the PostgreSQL database, the Redis database and the provider sandbox, which enforces the
providers' rate limits and answers 429 beyond them (as the real ones do). The same notice
(SMS, email and Telegram to the same audience) is sent first with one worker (the anchor) and
then with N, on fresh data. Printed per run: wall time, deliveries, the workers' CPU seconds
(from /proc), deliveries per worker-CPU-second and its ratio to the anchor, 429s caused (the
shared rate limits hold when this is 0), recipients who got the notice twice, and lost
deliveries. This machine has two cores: throughput per CPU-second is the figure, not the wall
time.

    python benchmarks/scale.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/nt_api \
        --redis-url redis://127.0.0.1:6379/13 --workers 4

The database named in the URL is dropped and recreated for each run (give one of your own);
the Redis database is flushed before each run.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h  # noqa: E402

LIMITS = {"sms": 60.0, "email": 2000.0, "telegram": 60.0}  # provider accounts, shared by all
SIZES = {"sms": 1000, "email": 10000, "telegram": 1000}


def run(server_url: str, redis_url: str, workers: int, sizes: dict[str, int]) -> dict[str, Any]:
    """Send one notice with `workers` worker processes; return what happened."""
    from redis import Redis
    from sqlalchemy.engine import make_url

    Redis.from_url(redis_url).flushdb()
    url = make_url(server_url)
    database = url.database or "nt_api"
    # Drop and create it from the server's maintenance database (not from inside itself).
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    env = {"NOTIFIER_REDIS_URL": redis_url, "NOTIFIER_SMS_RATE": str(LIMITS["sms"]),
           "NOTIFIER_EMAIL_RATE": str(LIMITS["email"]),
           "NOTIFIER_TELEGRAM_RATE": str(LIMITS["telegram"])}
    with h.Bench(admin, redis=False, limits=LIMITS, env=env, scratch=database) as bench:
        for channel, n in sizes.items():
            bench.audience(n, [channel])
        procs = []
        for i in range(workers):
            machine = bench.tmp / f"machine-{i + 1}"
            machine.mkdir()
            queues = "banner,control,sms,email,telegram" if i == 0 else "sms,email,telegram,control"
            procs.append(bench.start_worker(queues, env={"NOTIFIER_INSTANCE_DIR": str(machine)}))
        bench.wait_workers_ready(workers)
        cpu_before = {p.pid: h.cpu_seconds(p.pid) for p in procs}
        started = time.perf_counter()
        notice = bench.confirm(list(sizes))
        counts = bench.wait_finished(notice["notice_id"], timeout=1800)
        wall = time.perf_counter() - started
        cpu = sum(h.cpu_seconds(p.pid) - cpu_before[p.pid] for p in procs)
        refused = bench.sandbox_get("/bench/limits")["refused_429"]
        messages = bench.sandbox_messages()
    per_recipient = Counter((m["channel"], m["to"]) for m in messages)
    pace = {ch: _achieved(ch, [m for m in messages if m["channel"] == ch]) for ch in LIMITS}
    sent = sum(n for per in counts.values() for st, n in per.items() if st in ("sent", "delivered"))
    planned = sum(sum(per.values()) for per in counts.values())
    return {"workers": workers, "wall": wall, "sent": sent, "planned": planned, "cpu": cpu,
            "per_cpu_s": sent / cpu if cpu else float("nan"),
            "refused": sum(refused.values()),
            "duplicates": sum(1 for n in per_recipient.values() if n > 1),
            "lost": planned - sent - sum(per.get("failed", 0) for per in counts.values()),
            "received": len(per_recipient), "pace": pace}


def _achieved(channel: str, messages: list[dict[str, Any]]) -> float:
    """Return the achieved share of the provider limit: (units - one burst) / span / limit."""
    times = sorted(h.parse_time(m["time"]) for m in messages)
    if len(times) < 2 or times[-1] <= times[0]:
        return float("nan")
    units = sum(int(m["meta"].get("num_segments", 1)) for m in messages) if channel == "sms" \
        else len(messages)
    rate = LIMITS[channel]
    return (units - rate) / (times[-1] - times[0]) / rate


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get(
        "NOTIFIER_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/nt_api"))
    p.add_argument("--redis-url", default=os.environ.get("NOTIFIER_BENCH_REDIS_URL",
                                                         "redis://127.0.0.1:6379/13"))
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--scale", type=float, default=1.0, help="multiply the audience sizes")
    args = p.parse_args()
    sizes = {ch: int(n * args.scale) for ch, n in SIZES.items()}
    h.print_machine()
    print(f"audience {sizes}; provider limits {LIMITS} (segments, recipients, messages per s)",
          flush=True)
    with h.deadline(3600, "the scale benchmark"):
        results = [run(args.database_url, args.redis_url, n, sizes) for n in (1, args.workers)]
    anchor = results[0]["per_cpu_s"]
    rows = [[r["workers"], f"{r['wall']:.1f}", h.fmt(r["sent"]), f"{r['cpu']:.1f}",
             h.fmt(r["per_cpu_s"]), f"{r['per_cpu_s'] / anchor:.2f}", r["refused"],
             r["duplicates"], r["lost"], f"{r['pace']['sms']:.0%}",
             f"{r['pace']['telegram']:.0%}"] for r in results]
    print(h.table(["workers", "wall s", "sent", "worker CPU s", "sent per worker-CPU-s",
                   "ratio to 1 worker", "429s", "recipients with duplicates", "lost",
                   "SMS pace / limit", "Telegram pace / limit"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
