"""Planning: deliveries created per second by `dispatch.confirm`, and the memory it takes.

Each (database, audience size) runs in a fresh child process so that its peak RSS is its own.
The child generates the audience set-based (not measured), then:

1. times `dispatch.confirm` plus its commit (the notice, every delivery, the audit event), and
2. confirms the same request again under tracemalloc, in a transaction that is rolled back, for
   the peak of Python allocations during confirm.

    python benchmarks/planning.py                       # SQLite, 100,000 (about half a minute)
    python benchmarks/planning.py --full --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

--full adds 1,000,000 subscriptions. --database-url names a PostgreSQL server reached through an
existing database; the benchmark creates its own scratch database (notifier_bench) there, and
drops it at the end. NOTIFIER_BENCH_DATABASE_URL works as well.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc

import _harness as h


def child(database_url: str | None, size: int) -> dict[str, object]:
    from notifier import db, dispatch

    with h.Bench(database_url, sandbox=False, redis=False) as bench:
        gen = bench.audience(size)
        rss_before, maxrss_before = h.rss_mib(), h.maxrss_mib()
        req = dispatch.NoticeRequest(h.TEMPLATE, h.VALUES, ["sms", "email", "telegram"])
        with bench.app.app_context():
            t0 = time.perf_counter()
            with db.transaction() as s:
                notice = dispatch.confirm(s, req, "cli:benchmark")
            elapsed = time.perf_counter() - t0
            planned = sum(sum(v.values()) for v in dispatch.progress(db.session(), notice.id)
                          .values())
            maxrss_after = h.maxrss_mib()
            # The same confirm under tracemalloc, rolled back (its timing is not reported).
            tracemalloc.start()
            s = db.session()
            try:
                dispatch.confirm(s, req, "cli:benchmark")
                s.flush()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                s.rollback()
                tracemalloc.stop()
    return {"db": bench.database_kind, "size": size, "deliveries": planned,
            "generate_s": round(gen, 2), "confirm_s": round(elapsed, 3),
            "per_s": planned / elapsed, "rss_before_mib": round(rss_before, 1),
            "maxrss_before_mib": round(maxrss_before, 1), "maxrss_after_mib": round(maxrss_after, 1),
            "tracemalloc_peak_mib": round(peak / 2**20, 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--full", action="store_true", help="also 1,000,000 subscriptions")
    p.add_argument("--database-url", default=os.environ.get("NOTIFIER_BENCH_DATABASE_URL"),
                   help="a PostgreSQL server (through an existing database) to run on as well")
    p.add_argument("--sizes", help="comma-separated audience sizes (overrides --full)")
    p.add_argument("--child", nargs=2, metavar=("DB", "SIZE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        url = None if args.child[0] == "sqlite" else args.child[0]
        print("RESULT " + json.dumps(child(url, int(args.child[1]))), flush=True)
        return 0

    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else \
        [100_000, 1_000_000] if args.full else [100_000]
    databases = ["sqlite"] + ([args.database_url] if args.database_url else [])
    h.print_machine()
    print("planning: dispatch.confirm (preview counts, INSERT ... SELECT of deliveries, "
          "supersede, audit) and its commit; audience spread over SMS, email and Telegram\n",
          flush=True)
    rows = []
    for database in databases:
        for size in sizes:
            out = subprocess.run([sys.executable, __file__, "--child", database, str(size)],
                                 capture_output=True, text=True, timeout=1800)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
            if out.returncode != 0 or not line:
                print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
                return 1
            r = json.loads(line[0][7:])
            rows.append([r["db"], h.fmt(r["size"]), h.fmt(r["deliveries"]), f"{r['confirm_s']:.2f}",
                         h.fmt(r["per_s"]), f"{r['tracemalloc_peak_mib']:.2f}",
                         f"{r['maxrss_before_mib']:.0f} -> {r['maxrss_after_mib']:.0f}",
                         f"{r['generate_s']:.1f}"])
            print(f"  {r['db']} {size:,}: {r['per_s']:,.0f} deliveries/s", flush=True)
    print()
    print(h.table(["database", "subscriptions", "deliveries", "confirm s", "deliveries/s",
                   "tracemalloc peak MiB", "maxrss MiB before -> after confirm",
                   "generation s (not measured)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
