"""Shared set-up for the benchmarks: Valkey, a scratch database, the sandbox, worker processes.

Not a benchmark itself: run on its own (as `make bench` does) it prints a note and exits.
`python benchmarks/_harness.py sandbox PORT [--limit sms=50 ...]` serves the provider sandbox,
optionally behind a per-channel rate limit that answers 429 the way each provider does.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG_SCRATCH = "notifier_bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
TEMPLATE = "phone-lines-down"
VALUES = {"contacts": ["vaxel", "chatt"]}


# --------------------------------------------------------------------------- machine, output

def machine() -> dict[str, str]:
    """Describe the machine the figures come from."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    import sqlite3

    return {"nproc": str(os.cpu_count()), "cpu": model, "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Format rows as a Markdown table (what docs/performance.md shows)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    return "\n".join([line(cells[0]), "| " + " | ".join("-" * w for w in widths) + " |",
                      *(line(r) for r in cells[1:])])


def print_machine() -> None:
    m = machine()
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, {m['ram']} RAM; Python {m['python']}, "
          f"SQLite {m['sqlite']}", flush=True)


def fmt(n: float, digits: int = 0) -> str:
    return f"{n:,.{digits}f}"


# --------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc/<pid>/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib() -> float:
    """Current resident set size of this process in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def maxrss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- databases

def _pg_admin_url(url: str) -> str:
    return url


def create_pg_scratch(server_url: str, name: str) -> str:
    """Create (or recreate) a scratch database on the server; return its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_scratch(server_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def generate_audience(engine: Any, n: int, channels: Sequence[str] = ("sms", "email", "telegram"),
                      chunk: int = 250_000) -> float:
    """Insert n subscribers with one active subscription each, set-based; return seconds.

    Subscriber i subscribes on channels[i % len(channels)]: SMS +4670<1000000+i>, email
    u<i>@example.se, Telegram chat 100000000+i. One in five writes English.
    """
    from sqlalchemy import text

    started = time.perf_counter()
    pg = engine.dialect.name == "postgresql"
    now: Any = datetime.now(UTC) if pg else datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    k = len(channels)
    chan = "CASE " + " ".join(f"WHEN i % {k} = {j} THEN '{c}'" for j, c in enumerate(channels)) \
        + " END"
    addr_of = {"sms": "'+4670' || (1000000 + i)", "email": "'u' || i || '@example.se'",
               "telegram": "(100000000 + i)"}
    addr = "CASE " + " ".join(f"WHEN i % {k} = {j} THEN {addr_of[c]}"
                              for j, c in enumerate(channels)) + " END"
    if pg:
        addr = addr.replace("(100000000 + i)", "(100000000 + i)::text")
    with engine.begin() as conn:
        base = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM subscriber")).scalar_one())
        for lo in range(1, n + 1, chunk):
            hi = min(n, lo + chunk - 1)
            if pg:
                series = f"SELECT generate_series({base + lo}, {base + hi}) AS i"
                prefix = f"WITH c AS ({series}) "
            else:
                prefix = (f"WITH RECURSIVE c(i) AS (SELECT {base + lo} UNION ALL SELECT i + 1 "
                          f"FROM c WHERE i < {base + hi}) ")
            conn.execute(text(prefix + "INSERT INTO subscriber (id, name, language, created_at) "
                              "SELECT i, 'Bench ' || i, CASE WHEN i % 5 = 0 THEN 'en' ELSE 'sv' "
                              "END, :now FROM c"), {"now": now})
            conn.execute(text(prefix + "INSERT INTO subscription (subscriber_id, channel, "
                              "address, status, created_at, updated_at) "
                              f"SELECT i, {chan}, {addr}, 'active', :now, :now FROM c"),
                         {"now": now})
        if pg:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('subscriber', 'id'), "
                              f"{base + n})"))
    with engine.connect() as conn:
        if pg:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


# --------------------------------------------------------------------------- the sandbox

class _RateLimitMiddleware:
    """Answer 429 (in each provider's own shape) when a channel exceeds its configured rate.

    A token bucket per channel: `rate` units per second, holding at most one second's worth
    (the same burst the notifier's own limiter allows). SMS counts segments, Telegram one unit
    per call, email one per recipient. Refused calls are counted at /bench/limits.
    """

    def __init__(self, app: Any, limits: Mapping[str, float]) -> None:
        self.app, self.limits = app, dict(limits)
        self.lock = threading.Lock()
        self.tokens = dict(self.limits)
        self.stamp = {c: time.monotonic() for c in self.limits}
        self.refused = {c: 0 for c in self.limits}
        self.admitted = {c: 0.0 for c in self.limits}

    @staticmethod
    def _channel(path: str) -> str | None:
        if path.startswith("/2010-04-01/") and path.endswith("/Messages.json"):
            return "sms"
        if path == "/v3/mail/send":
            return "email"
        if path.startswith("/bot") and path.endswith("/sendMessage"):
            return "telegram"
        return None

    def _take(self, channel: str, n: float) -> bool:
        rate = self.limits[channel]
        with self.lock:
            now = time.monotonic()
            self.tokens[channel] = min(rate, self.tokens[channel]
                                       + (now - self.stamp[channel]) * rate)
            self.stamp[channel] = now
            if self.tokens[channel] + 1e-9 < n:
                self.refused[channel] += 1
                return False
            self.tokens[channel] -= n
            self.admitted[channel] += n
            return True

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/bench/limits":
            body = json.dumps({"limits": self.limits, "refused_429": self.refused,
                               "admitted": self.admitted}).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        channel = self._channel(path)
        if channel is None or channel not in self.limits or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        units = 1.0
        if channel in ("sms", "email"):
            import io
            from urllib.parse import parse_qs

            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(raw)
            with contextlib.suppress(ValueError, TypeError, AttributeError, KeyError, IndexError):
                if channel == "email":
                    units = float(sum(len(p.get("to", []))
                                      for p in json.loads(raw)["personalizations"]))
                else:  # Twilio's allowance counts segments
                    from notifier.library.smsencoding import analyse

                    units = float(analyse(parse_qs(raw.decode())["Body"][0]).segments)
        if self._take(channel, units):
            return self.app(environ, start_response)
        body, headers = self._refusal(channel)
        start_response("429 Too Many Requests", [("Content-Type", "application/json"),
                                                  ("Retry-After", "1"), *headers])
        return [body]

    @staticmethod
    def _refusal(channel: str) -> tuple[bytes, list[tuple[str, str]]]:
        if channel == "sms":
            return json.dumps({"code": 20429, "message": "Too Many Requests", "status": 429,
                               "more_info": "https://www.twilio.com/docs/errors/20429"}).encode(), []
        if channel == "email":
            return json.dumps({"errors": [{"message": "too many requests", "field": None,
                                           "help": None}]}).encode(), \
                [("X-RateLimit-Reset", str(int(time.time()) + 1))]
        return json.dumps({"ok": False, "error_code": 429, "description":
                           "Too Many Requests: retry after 1",
                           "parameters": {"retry_after": 1}}).encode(), []


def serve_sandbox(port: int, limits: Mapping[str, float]) -> None:
    """Serve the sandbox (threaded werkzeug, keep-alive), optionally rate-limited."""
    from werkzeug.serving import make_server

    from notifier.sandbox.app import create_sandbox_app
    from notifier.sandbox.server import _QuietHandler

    app: Any = create_sandbox_app(seed=1)
    if limits:
        app.wsgi_app = _RateLimitMiddleware(app.wsgi_app, limits)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


# --------------------------------------------------------------------------- the bench env

class Bench:
    """Everything a run needs, started in a temporary folder and removed at the end."""

    def __init__(self, database_url: str | None = None, *, sandbox: bool = True,
                 redis: bool = True, limits: Mapping[str, float] | None = None,
                 env: Mapping[str, str] | None = None, scratch: str = DEFAULT_PG_SCRATCH) -> None:
        self.server_url, self.scratch = database_url, scratch
        self.want_sandbox, self.want_redis = sandbox, redis
        self.limits = dict(limits or {})
        self.extra_env = dict(env or {})
        self.tmp = Path(tempfile.mkdtemp(prefix="nb-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.valkey: subprocess.Popen[bytes] | None = None
        self.sandbox: subprocess.Popen[bytes] | None = None
        self.sandbox_url = ""
        self.app: Any = None
        self.env: dict[str, str] = {}

    # -- lifecycle
    def __enter__(self) -> Bench:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def database_kind(self) -> str:
        return "PostgreSQL" if self.server_url else "SQLite"

    def start(self) -> None:
        from notifier import create_app, db
        from notifier.processes import embedded

        for name in list(os.environ):
            if name.startswith("NOTIFIER_"):
                del os.environ[name]
        instance = self.tmp / "instance"
        instance.mkdir()
        if self.server_url:
            url = create_pg_scratch(self.server_url, self.scratch)
        else:
            url = f"sqlite:///{self.tmp / 'bench.db'}"
        db.upgrade(url)
        redis_url = f"unix://{embedded.socket_path(instance)}"
        if self.want_redis:
            self.valkey = embedded.start(instance)
        if self.want_sandbox:
            port = free_port()
            args = [sys.executable, str(Path(__file__).resolve()), "sandbox", str(port)]
            for ch, rate in self.limits.items():
                args += ["--limit", f"{ch}={rate}"]
            self.sandbox = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                            stdout=open(self.tmp / "sandbox.log", "ab"),
                                            stderr=subprocess.STDOUT)
            self.sandbox_url = f"http://127.0.0.1:{port}"
            self._wait_sandbox()
        self.env = {
            "NOTIFIER_INSTANCE_DIR": str(instance), "NOTIFIER_DATABASE_URL": url,
            "NOTIFIER_REDIS_URL": redis_url, "NOTIFIER_SECRET_KEY": "benchmark-secret",
            "NOTIFIER_LOG_LEVEL": "WARNING",
            "NOTIFIER_TWILIO_API_URL": self.sandbox_url or "http://127.0.0.1:9",
            "NOTIFIER_SENDGRID_API_URL": self.sandbox_url or "http://127.0.0.1:9",
            "NOTIFIER_TELEGRAM_API_URL": self.sandbox_url or "http://127.0.0.1:9",
            **self.extra_env,
        }
        os.environ.update(self.env)
        self.app = create_app()
        self.seed()

    def _wait_sandbox(self) -> None:
        import httpx

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.sandbox_url + "/sandbox/stats", timeout=1).status_code == 200:
                    return
            if self.sandbox is not None and self.sandbox.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("the sandbox did not start; see " + str(self.tmp / "sandbox.log"))

    def stop(self) -> None:
        for proc in [*self.workers, *self.procs]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, *self.procs]:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.app is not None:
            with contextlib.suppress(Exception):
                self.app.extensions["notifier.engine"].dispose()
        for proc in (self.sandbox, self.valkey):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.server_url:
            with contextlib.suppress(Exception):
                drop_pg_scratch(self.server_url, self.scratch)
        if os.environ.get("BENCH_KEEP"):
            print(f"(kept {self.tmp})")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- data
    def seed(self) -> None:
        """Accounts, contact channels and the approved template library; no subscribers."""
        from sqlalchemy import text

        from notifier import db
        from notifier.processes import demo

        with self.app.app_context():
            with db.transaction() as s:
                demo.seed(s, "benchmark-password")
            with db.transaction() as s:
                for t in ("subscriber_segment", "subscription", "subscriber"):
                    s.execute(text(f"DELETE FROM {t}"))

    def engine(self) -> Any:
        return self.app.extensions["notifier.engine"]

    def audience(self, n: int, channels: Sequence[str] = ("sms", "email", "telegram")) -> float:
        return generate_audience(self.engine(), n, channels)

    # -- workers
    def start_worker(self, queues: str = "banner,control,email,telegram,sms",
                     env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"worker-{len(self.workers) + 1}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "notifier", "worker", "--queues", queues],
                                env={**os.environ, **self.env, **(env or {})},
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=str(self.tmp))
        self.workers.append(proc)
        return proc

    def wait_workers_ready(self, n: int, timeout: float = 30) -> None:
        """Wait until n RQ workers are registered (idle and listening)."""
        from rq import Worker

        from notifier import queues

        deadline = time.monotonic() + timeout
        with self.app.app_context():
            while time.monotonic() < deadline:
                if len(Worker.all(connection=queues.redis())) >= n:
                    time.sleep(0.3)  # past registration, into the blocking dequeue
                    return
                time.sleep(0.05)
        raise RuntimeError(f"{n} workers did not register in {timeout}s; see {self.tmp}")

    # -- notices
    def confirm(self, channels: Sequence[str] = ("sms", "email", "telegram"),
                enqueue: bool = True) -> dict[str, Any]:
        """Confirm a notice and enqueue its jobs; return the notice id and timings."""
        from notifier import db, dispatch, enqueueing

        req = dispatch.NoticeRequest(TEMPLATE, VALUES, list(channels))
        with self.app.app_context():
            t0 = time.perf_counter()
            with db.transaction() as s:
                notice = dispatch.confirm(s, req, "cli:benchmark")
            t1 = time.perf_counter()
            jobs = 0
            if enqueue:
                with db.transaction() as s:
                    jobs = enqueueing.enqueue(s, notice)
            t2 = time.perf_counter()
        return {"notice_id": notice.id, "confirm_s": t1 - t0, "enqueue_s": t2 - t1,
                "jobs": jobs, "t0_wall": time.time() - (time.perf_counter() - t0)}

    def progress(self, notice_id: int) -> dict[str, dict[str, int]]:
        from notifier import db, dispatch

        with self.app.app_context(), db.transaction() as s:
            return dispatch.progress(s, notice_id)

    def wait_finished(self, notice_id: int, timeout: float, poll: float = 0.25) -> dict[str, Any]:
        from notifier import dispatch

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = self.progress(notice_id)
            if dispatch.is_finished(counts):
                return counts
            time.sleep(poll)
        raise TimeoutError(f"notice {notice_id} not finished after {timeout}s: "
                           f"{self.progress(notice_id)}")

    # -- sandbox control
    def sandbox_get(self, path: str, **params: Any) -> Any:
        import httpx

        return httpx.get(self.sandbox_url + path, params=params, timeout=120).json()

    def sandbox_messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        params = {"channel": channel} if channel else {}
        return list(self.sandbox_get("/sandbox/messages", **params)["messages"])

    def sandbox_post(self, path: str, body: Any, method: str = "POST") -> Any:
        import httpx

        return httpx.request(method, self.sandbox_url + path, json=body, timeout=30).json()

    def sandbox_reset(self) -> None:
        import httpx

        httpx.delete(self.sandbox_url + "/sandbox/messages", timeout=30)
        httpx.delete(self.sandbox_url + "/sandbox/faults", timeout=30)


def parse_time(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@contextlib.contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Abort the whole run (not hang) when something takes far too long."""
    def _alarm(*_: object) -> None:
        raise TimeoutError(f"{what} took more than {seconds}s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(seconds))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "sandbox":
        limits: dict[str, float] = {}
        rest = argv[2:]
        while rest[:1] == ["--limit"] and len(rest) >= 2:
            ch, rate = rest[1].split("=", 1)
            limits[ch] = float(rate)
            rest = rest[2:]
        serve_sandbox(int(argv[1]), limits)
        return 0
    print("benchmarks/_harness.py: shared set-up for the benchmarks, nothing to measure here.")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
