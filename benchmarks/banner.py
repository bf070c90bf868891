"""Benchmark /banner.json: the notifier under gunicorn, a minimal Flask app, nginx on the export.

    python benchmarks/banner.py [--seconds 10] [--threads 2] [--connections 32] [--markdown]

Needs `wrk` and `nginx` on PATH (Debian: `apt-get install -y nginx wrk` as root). Everything
runs on 127.0.0.1 on free ports in a temporary folder: a seeded SQLite database with one
published banner, the notifier and a minimal Flask app returning the same bytes under the same
gunicorn settings, and nginx (with its own config file, not the system service) serving the
exported banner.json. Each target gets a short warm-up, then one bounded wrk run.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ["--workers", "2", "--threads", "4", "--worker-class", "gthread",
            "--log-level", "warning"]
SEED = """
from notifier import banner, create_app, db
from notifier.processes import demo
from notifier.dispatch import NoticeRequest, confirm
db.upgrade(db_url)
app = create_app()
with app.app_context():
    with db.transaction() as s:
        demo.seed(s, "benchmark-password")
    with db.transaction() as s:
        confirm(s, NoticeRequest("phone-lines-down", {"contacts": ["vaxel", "chatt", "epost"],
                                 "eta": "13:00"}, channels=("sms", "banner")), "benchmark")
    with db.transaction() as s:
        banner.publish(s)
"""
MINIMAL = """
from pathlib import Path
from flask import Flask, Response
BODY = Path({path!r}).read_bytes()
app = Flask(__name__)

@app.get("/banner.json")
def banner_json():
    resp = Response(BODY, mimetype="application/json")
    resp.set_etag({etag!r})
    resp.headers["Cache-Control"] = "public, max-age=15"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp
"""
NGINX = """
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
    types {{ application/json json; text/javascript js; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ add_header Cache-Control "public, max-age=15"; }}
    }}
}}
"""


def require_tools() -> None:
    """Stop with an install hint when wrk or nginx is missing."""
    missing = [t for t in ("wrk", "nginx") if shutil.which(t) is None and
               not Path(f"/usr/sbin/{t}").exists()]
    if missing:
        sys.exit(f"missing: {', '.join(missing)}. Install on Debian/Ubuntu as root with:\n"
                 f"    apt-get update && apt-get install -y nginx wrk")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return bytes(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextlib.contextmanager
def running(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process in its own process group; stop it (and only it) afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wrk(url: str, args: argparse.Namespace) -> tuple[float, float]:
    """Return (requests per second, p99 latency in ms) of one bounded wrk run."""
    subprocess.run(["wrk", "-t2", "-c8", "-d2s", url], capture_output=True, check=True)  # warm-up
    out = subprocess.run(["wrk", f"-t{args.threads}", f"-c{args.connections}",
                          f"-d{args.seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        print(out, file=sys.stderr)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def seed(folder: Path, env: dict[str, str]) -> Path:
    """Migrate a SQLite database, seed the demo, publish one banner; return the export folder."""
    code = f"db_url = {env['NOTIFIER_DATABASE_URL']!r}\n" + SEED
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True)
    return Path(env["NOTIFIER_BANNER_EXPORT_DIR"])


def bench(args: argparse.Namespace) -> list[tuple[str, float, float]]:
    folder = Path(tempfile.mkdtemp(prefix="notifier-bench-"))
    folder.chmod(0o755)  # nginx workers run as an unprivileged user
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")},
           "NOTIFIER_INSTANCE_DIR": str(folder / "instance"),
           "NOTIFIER_DATABASE_URL": f"sqlite:///{folder / 'notifier.db'}",
           "NOTIFIER_BANNER_EXPORT_DIR": str(folder / "export"),
           "NOTIFIER_REDIS_URL": "redis://127.0.0.1:1/0",  # never used by /banner.json
           "NOTIFIER_SECRET_KEY": "benchmark", "NOTIFIER_LOG_LEVEL": "WARNING",
           "NOTIFIER_TWILIO_API_URL": "http://127.0.0.1:9", "PYTHONPATH": str(ROOT)}
    env["NOTIFIER_SENDGRID_API_URL"] = env["NOTIFIER_TELEGRAM_API_URL"] = "http://127.0.0.1:9"
    export = seed(folder, env)
    body = (export / "banner.json").read_bytes()
    (folder / "minimal.py").write_text(textwrap.dedent(MINIMAL).format(
        path=str(export / "banner.json"), etag="x" * 32))
    (folder / "tmp").mkdir()
    ports = {name: free_port() for name in ("notifier", "minimal", "nginx")}
    (folder / "nginx.conf").write_text(NGINX.format(dir=folder, port=ports["nginx"], root=export))
    gunicorn = [sys.executable, "-m", "gunicorn", *GUNICORN]
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    targets = [
        ("notifier /banner.json (gunicorn)", [*gunicorn, "--bind", f"127.0.0.1:{ports['notifier']}",
                                              "notifier:create_app()"], ports["notifier"]),
        ("minimal Flask app (gunicorn)", [*gunicorn, "--chdir", str(folder), "--bind",
                                          f"127.0.0.1:{ports['minimal']}", "minimal:app"],
         ports["minimal"]),
        ("nginx, exported banner.json", [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"),
                                         "-g", "daemon off;"], ports["nginx"]),
    ]
    results = []
    for name, cmd, port in targets:
        url = f"http://127.0.0.1:{port}/banner.json"
        with running(cmd, env, folder / f"{port}.log"):
            served = wait_http(url)
            assert served == body, f"{name} serves other bytes than the export"
            rps, p99 = wrk(url, args)
        results.append((name, rps, p99))
    shutil.rmtree(folder, ignore_errors=True)
    return results


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs (nproc), {model}, Python {sys.version.split()[0]}"


def report(results: list[tuple[str, float, float]], args: argparse.Namespace) -> str:
    flask_rps = results[1][1]
    lines = ["| target | requests/s | p99 latency | vs minimal Flask |",
             "| --- | ---: | ---: | ---: |"]
    for name, rps, p99 in results:
        lines.append(f"| {name} | {rps:,.0f} | {p99:.2f} ms | {rps / flask_rps:.0%} |")
    return "\n".join([
        f"Machine: {machine()}.",
        f"Load: `wrk -t{args.threads} -c{args.connections} -d{args.seconds}s --latency` per target "
        f"on 127.0.0.1 (after a 2 s warm-up); gunicorn `{' '.join(GUNICORN)}` for both Flask "
        "apps; nginx with 2 worker processes.", "", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--markdown", action="store_true", help="print only the Markdown report")
    args = parser.parse_args()
    require_tools()
    results = bench(args)
    text = report(results, args)
    print(text)
    notifier, minimal = results[0][1], results[1][1]
    if not args.markdown:
        verdict = "within" if notifier >= 0.9 * minimal else "NOT within"
        print(f"\nThe notifier is {verdict} 10% of the minimal Flask app "
              f"({notifier / minimal:.0%}).")


if __name__ == "__main__":
    main()
