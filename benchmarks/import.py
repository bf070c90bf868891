"""Subscriber import: rows per second of `notifier subscribers import`, and the memory it takes.

Each size runs in a fresh child process (its peak RSS is its own). The child writes a Swedish
Excel-style file (semicolons, Windows-1252, numbers as people type them, emails, segments), then:

1. the first import (every row added) and the second (the same file: every row unchanged), each
   through `audience.import_file` as the command runs it, with the process's peak RSS before and
   after the first, and tracemalloc's peak over a third, untimed dry run of the same file;
2. the anchor: Python's csv module reading the same file plus a plain executemany of the same
   rows into a bare table, in one transaction: about the least any import of the file can cost
   (run last, as it holds the whole file in memory).

    python benchmarks/import.py                  # SQLite, 10,000 and 100,000 rows
    python benchmarks/import.py --sizes 100000 --database-url postgresql+psycopg://...
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import _harness as h

STYLES = ("070-{a:03d} {b:02d} {c:02d}", "+46 70{a:03d}{b:02d}{c:02d}", "004670{a:03d}{b:02d}{c:02d}",
          "070{a:03d}{b:02d}{c:02d}")
REGIONS = ("region-norr", "region-mitt", "region-syd", "region-stockholm")


def write_file(path: Path, size: int) -> None:
    """Write size subscribers as a Swedish Excel export would."""
    with open(path, "w", encoding="cp1252", newline="") as f:
        f.write("Kundnummer;Namn;Språk;Telefon;E-post;Telegram;Segment\r\n")
        for i in range(size):
            a, b, c = divmod(i, 10_000)[0] % 1000, (i // 100) % 100, i % 100
            phone = STYLES[i % 4].format(a=a, b=b, c=c) if i % 7 != 3 else ""
            email = f"kund.{i}@exempel.se" if i % 3 != 1 or (i % 7 == 3 and i % 4) else ""
            chat = str(700000000 + i) if i % 4 == 0 else ""
            kind = "företag" if i % 5 == 0 else "privat"
            f.write(f"K{i};Kund Åström {i};{'sv' if i % 6 else 'en'};{phone};{email};{chat};"
                    f"{kind}|{REGIONS[i % 4]}\r\n")


def anchor(engine: object, path: Path) -> float:
    """Read the file with csv and executemany its rows into a bare table; return seconds."""
    from sqlalchemy import text

    t0 = time.perf_counter()
    with open(path, encoding="cp1252", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))[1:]
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text("CREATE TABLE anchor (a TEXT, b TEXT, c TEXT, d TEXT, e TEXT, f TEXT, "
                          "g TEXT)"))
        conn.execute(text("INSERT INTO anchor VALUES (:a, :b, :c, :d, :e, :f, :g)"),
                     [dict(zip("abcdefg", r, strict=True)) for r in rows])
    return time.perf_counter() - t0


def child(database_url: str | None, size: int) -> dict[str, object]:
    from notifier import audience, db

    with h.Bench(database_url, sandbox=False, redis=False) as bench:
        path = bench.tmp / "kunder.csv"
        write_file(path, size)
        file_mib = round(path.stat().st_size / 2**20, 1)
        with bench.app.app_context():
            rss_before = h.maxrss_mib()
            t0, c0 = time.perf_counter(), time.process_time()
            with open(path, "rb") as f:
                first = audience.import_file(f)
            first_s, first_cpu = time.perf_counter() - t0, time.process_time() - c0
            rss_after = h.maxrss_mib()
            t0 = time.perf_counter()
            with open(path, "rb") as f:
                second = audience.import_file(f)
            second_s = time.perf_counter() - t0
            # Once more under tracemalloc (a dry run of the same file; not timed).
            tracemalloc.start()
            with open(path, "rb") as f:
                audience.import_file(f, dry_run=True)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            anchor_s = anchor(db.engine(), path)  # last: it holds the whole file in memory
    return {"db": bench.database_kind, "size": size, "anchor_s": round(anchor_s, 2),
            "first_s": round(first_s, 2), "first_cpu_s": round(first_cpu, 2), "second_s": round(second_s, 2),
            "added": first.added, "refused": first.refused, "unchanged": second.unchanged,
            "second_added": second.added + second.updated,
            "tracemalloc_peak_mib": round(peak / 2**20, 1),
            "maxrss_before_mib": round(rss_before, 1), "maxrss_after_mib": round(rss_after, 1),
            "file_mib": file_mib}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("NOTIFIER_BENCH_DATABASE_URL"))
    p.add_argument("--sizes", default="10000,100000", help="comma-separated row counts")
    p.add_argument("--child", nargs=2, metavar=("DB", "SIZE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        url = None if args.child[0] == "sqlite" else args.child[0]
        print("RESULT " + json.dumps(child(url, int(args.child[1]))), flush=True)
        return 0
    h.print_machine()
    print("import: audience.import_file of a Swedish Excel export (semicolons, Windows-1252); "
          "anchor: csv.reader + executemany of the same rows into a bare table\n", flush=True)
    rows = []
    for database in ["sqlite"] + ([args.database_url] if args.database_url else []):
        for size in (int(x) for x in args.sizes.split(",")):
            out = subprocess.run([sys.executable, __file__, "--child", database, str(size)],
                                 capture_output=True, text=True, timeout=1800)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
            if out.returncode != 0 or not line:
                print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
                return 1
            r = json.loads(line[0][7:])
            rows.append([r["db"], h.fmt(r["size"]), f"{r['file_mib']}", f"{r['anchor_s']:.2f}",
                         f"{r['first_s']:.2f} ({r['first_cpu_s']:.2f})",
                         f"{r['first_s'] / r['anchor_s']:.1f}",
                         h.fmt(r["size"] / r["first_s"]), f"{r['second_s']:.2f}",
                         f"{r['added']:,} / {r['refused']:,}",
                         f"{r['unchanged']:,} / {r['second_added']:,}",
                         f"{r['tracemalloc_peak_mib']:.1f}",
                         f"{r['maxrss_before_mib']:.0f} -> {r['maxrss_after_mib']:.0f}"])
            print(f"  {r['db']} {size:,}: first import {r['first_s']:.1f} s "
                  f"({r['first_s'] / r['anchor_s']:.1f}x the anchor's {r['anchor_s']:.2f} s)",
                  flush=True)
    print()
    print(h.table(["database", "rows", "file MiB", "anchor s", "first import s (CPU s)", "ratio",
                   "rows/s", "re-import s", "added / refused", "unchanged / changed",
                   "tracemalloc peak MiB", "maxrss MiB before -> after"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
