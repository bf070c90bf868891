"""Planning: deliveries created per second, beside a plain INSERT ... SELECT of as many rows.

Each (database, audience size) runs in a fresh child process so that its peak RSS is its own.
The child generates the audience set-based (not measured), then, in the same run:

1. the anchor: a plain `INSERT ... SELECT` of one row per subscription into a bare table with
   one unique index on (notice_id, channel, address) -- what the database itself can do;
2. the notifier: `dispatch.confirm` (which plans the first range and commits) and then the
   planning jobs' work, `planner.plan_range` range by range, each range its own transaction,
   exactly as the `plan_notice` jobs run it (without Redis: enqueueing is not measured here);
3. the same confirm again under tracemalloc, rolled back, for the peak of Python allocations.

The ratio notifier / anchor is what holds on a shared, noisy machine.

    python benchmarks/planning.py                       # SQLite, 100,000
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

BARE = {
    "sqlite": "CREATE TABLE bare (id INTEGER PRIMARY KEY, notice_id INTEGER NOT NULL, "
              "channel VARCHAR(16) NOT NULL, address VARCHAR(254) NOT NULL, "
              "language VARCHAR(2) NOT NULL, subscription_id INTEGER, status VARCHAR(16) NOT NULL)",
    "postgresql": "CREATE TABLE bare (id SERIAL PRIMARY KEY, notice_id INTEGER NOT NULL, "
                  "channel VARCHAR(16) NOT NULL, address VARCHAR(254) NOT NULL, "
                  "language VARCHAR(2) NOT NULL, subscription_id INTEGER, "
                  "status VARCHAR(16) NOT NULL)",
}


def anchor(bench: h.Bench) -> tuple[int, float]:
    """Insert one row per subscription into a bare table with one unique index; time it."""
    from sqlalchemy import text

    engine = bench.engine()
    with engine.begin() as conn:
        conn.execute(text(BARE[engine.dialect.name]))
        conn.execute(text("CREATE UNIQUE INDEX uq_bare ON bare (notice_id, channel, address)"))
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO bare (notice_id, channel, address, language, "
                          "subscription_id, status) SELECT 1, channel, address, 'sv', id, "
                          "'queued' FROM subscription"))
    elapsed = time.perf_counter() - t0
    with engine.connect() as conn:
        rows = int(conn.execute(text("SELECT COUNT(*) FROM bare")).scalar_one())
    return rows, elapsed


def plan_all(bench: h.Bench) -> tuple[int, float, int]:
    """Confirm, then plan range by range as the jobs do; return (deliveries, seconds, ranges)."""
    from notifier import db, dispatch, planner
    from notifier.models import Notice

    req = dispatch.NoticeRequest(h.TEMPLATE, h.VALUES, ["sms", "email", "telegram"])
    ranges = 1
    with bench.app.app_context():
        t0 = time.perf_counter()
        with db.transaction() as s:
            notice_id = dispatch.confirm(s, req, "cli:benchmark").id
        more = True
        while more:
            with db.transaction() as s:
                notice = s.get(Notice, notice_id)
                assert notice is not None
                planner.plan_range(s, notice, bench.app.config["PLANNING_RANGE"])
                more = notice.planning
            ranges += 1
        elapsed = time.perf_counter() - t0
        planned = sum(sum(v.values()) for v in dispatch.progress(db.session(), notice_id)
                      .values())
        db.session().close()
    return planned, elapsed, ranges


def child(database_url: str | None, size: int) -> dict[str, object]:
    from notifier import db, dispatch

    with h.Bench(database_url, sandbox=False, redis=False) as bench:
        gen = bench.audience(size)
        rss_before, maxrss_before = h.rss_mib(), h.maxrss_mib()
        raw_rows, raw_s = anchor(bench)
        planned, elapsed, ranges = plan_all(bench)
        maxrss_after = h.maxrss_mib()
        req = dispatch.NoticeRequest(h.TEMPLATE, h.VALUES, ["sms", "email", "telegram"])
        with bench.app.app_context():
            tracemalloc.start()
            s = db.session()
            try:
                dispatch.confirm(s, req, "cli:benchmark")
                s.flush()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                s.rollback()
                tracemalloc.stop()
    return {"db": bench.database_kind, "size": size, "deliveries": planned, "ranges": ranges,
            "generate_s": round(gen, 2), "plan_s": round(elapsed, 3), "per_s": planned / elapsed,
            "raw_rows": raw_rows, "raw_s": round(raw_s, 3), "raw_per_s": raw_rows / raw_s,
            "rss_before_mib": round(rss_before, 1), "maxrss_before_mib": round(maxrss_before, 1),
            "maxrss_after_mib": round(maxrss_after, 1),
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
    print("planning: confirm plus every planning range (INSERT ... SELECT ... ON CONFLICT DO "
          "NOTHING RETURNING, one transaction per range), beside a plain INSERT ... SELECT of "
          "as many rows into a bare table with one unique index\n", flush=True)
    rows = []
    for database in databases:
        for size in sizes:
            out = subprocess.run([sys.executable, __file__, "--child", database, str(size)],
                                 capture_output=True, text=True, timeout=3600)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
            if out.returncode != 0 or not line:
                print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
                return 1
            r = json.loads(line[0][7:])
            ratio = r["per_s"] / r["raw_per_s"]
            rows.append([r["db"], h.fmt(r["size"]), h.fmt(r["deliveries"]), str(r["ranges"]),
                         f"{r['plan_s']:.2f}", h.fmt(r["per_s"]), h.fmt(r["raw_per_s"]),
                         f"{ratio:.0%}", f"{r['tracemalloc_peak_mib']:.2f}",
                         f"{r['maxrss_before_mib']:.0f} -> {r['maxrss_after_mib']:.0f}"])
            print(f"  {r['db']} {size:,}: {r['per_s']:,.0f} deliveries/s, plain INSERT ... "
                  f"SELECT {r['raw_per_s']:,.0f} rows/s ({ratio:.0%})", flush=True)
    print()
    print(h.table(["database", "subscriptions", "deliveries", "ranges", "planning s",
                   "deliveries/s", "plain INSERT ... SELECT rows/s", "ratio",
                   "tracemalloc peak MiB (confirm)", "maxrss MiB before -> after"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
