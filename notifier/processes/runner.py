"""`notifier up`: start every process, print what to do next, stop them all on Ctrl-C."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from .. import config, db, queues
from ..errors import NotifierError
from . import embedded

log = logging.getLogger("notifier.up")
# gunicorn's logger with secrets in URLs (the Telegram webhook's, tokens) redacted from the
# access log: `notifier web` writes one; `notifier up` only when GUNICORN_CMD_ARGS asks for it.
REDACTING_LOGGER = ("--logger-class", "notifier.processes.accesslog.RedactingLogger")


class Output:
    """Relay the children's output to the terminal, and to the log only once stopping began.

    Stopping makes every child say goodbye in its own words (gunicorn, RQ, the simulators);
    those lines go to instance/notifier.log, and the terminal gets one line per process.
    """

    def __init__(self, log_path: Path) -> None:
        self.stopping = threading.Event()
        self.log_path = log_path

    def relay(self, stream: IO[bytes]) -> None:
        """Copy one child's lines until it closes its output."""
        with open(self.log_path, "ab") as log_file:
            for line in iter(stream.readline, b""):
                log_file.write(line)
                log_file.flush()
                if not self.stopping.is_set():
                    sys.stdout.buffer.write(line)
                    sys.stdout.flush()


def _spawn(name: str, args: list[str], env: dict[str, str],
           output: Output) -> subprocess.Popen[bytes]:
    # A session of its own: Ctrl-C in the terminal reaches only `notifier up`, which then
    # stops each child in turn instead of every child printing a KeyboardInterrupt.
    proc = subprocess.Popen([sys.executable, "-m", *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True,
                            preexec_fn=embedded.die_with_parent)  # noqa: PLW1509 - single-threaded here
    assert proc.stdout is not None
    threading.Thread(target=output.relay, args=(proc.stdout,), name=f"relay-{name}",
                     daemon=True).start()
    log.info("started %s (pid %s)", name, proc.pid)
    return proc


def _check_port(host: str, port: int, setting: str) -> None:
    """Refuse to start when a port is taken, naming the setting that moves it."""
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise NotifierError(f"Port {port} on {host} is already in use (another notifier, or "
                                f"another program). Stop it, or set {setting} to a free port.") from None


def _runs_sandbox(cfg: dict[str, object]) -> bool:
    """Tell whether any provider points at the built-in sandbox this run must start."""
    sandbox_url = f"http://{config.SANDBOX_HOST}:{cfg['SANDBOX_PORT']}"
    return any(p.api_url == sandbox_url for p in cfg["PROVIDERS"].values())  # type: ignore[attr-defined]


def _preflight(cfg: dict[str, object]) -> None:
    """Fail fast, before starting anything, on the mistakes a newcomer makes."""
    _check_port(str(cfg["HOST"]), int(str(cfg["PORT"])), "NOTIFIER_PORT")
    if _runs_sandbox(cfg):
        _check_port(config.SANDBOX_HOST, int(str(cfg["SANDBOX_PORT"])), "NOTIFIER_SANDBOX_PORT")


def _children(cfg: dict[str, object], env: dict[str, str],
              output: Output, stop: threading.Event) -> dict[str, subprocess.Popen[bytes]]:
    procs: dict[str, subprocess.Popen[bytes]] = {}
    if _runs_sandbox(cfg):
        procs["sandbox"] = _spawn("sandbox", ["notifier", "sandbox"], env, output)
        env = {**env, **_sandbox_events(cfg, procs, stop)}
    procs["web"] = _spawn("web", ["gunicorn", "--workers", "2", "--threads", "4", "--bind",
                                  f"{cfg['HOST']}:{cfg['PORT']}", "--graceful-timeout", "5",
                                  "--no-control-socket", *REDACTING_LOGGER, "notifier:create_app()"],
                           env, output)
    for i, order in enumerate(queues.worker_orders(int(str(cfg["WORKERS"])))):
        name = "banner worker" if i == 0 else f"worker {i}"
        label = name if i == 0 else f"{name} ({order[2]} first)"
        procs[name] = _spawn(label, ["notifier", "worker", "--queues", ",".join(order)], env,
                             output)
    return procs


def _sandbox_events(cfg: dict[str, object], procs: dict[str, subprocess.Popen[bytes]],
                    stop: threading.Event) -> dict[str, str]:
    """Have the SendGrid simulator report email events to this console, signed with a key of
    its own, as SendGrid's signed event webhook would: the demo's emails end `delivered`."""
    providers: Any = cfg["PROVIDERS"]
    sandbox_url = f"http://{config.SANDBOX_HOST}:{cfg['SANDBOX_PORT']}"
    if providers["sendgrid"].api_url != sandbox_url or cfg.get("SENDGRID_WEBHOOK_PUBLIC_KEY"):
        return {}
    _wait_for([f"{sandbox_url}/sandbox/"], procs, stop)
    from ..sandbox.client import SandboxClient

    try:
        with SandboxClient(sandbox_url) as client:
            key = client.sendgrid_event_webhook(f"{cfg['PUBLIC_URL']}/webhooks/sendgrid/events")
    except NotifierError as exc:
        log.warning("email events stay off in the sandbox: %s", exc)
        return {}
    return {"NOTIFIER_SENDGRID_WEBHOOK_PUBLIC_KEY": key}


def _seed_demo(cfg: dict[str, object]) -> str | None:
    """Seed the demo into an empty sandbox database; return the message to print."""
    if not cfg["SANDBOX"]:
        return None
    engine = db.make_engine(str(cfg["DATABASE_URL"]))
    try:
        if not db.is_empty(engine):
            return None
    finally:
        engine.dispose()
    from .. import create_app
    from . import demo

    app = create_app()
    with app.app_context(), db.transaction() as s:
        accounts = demo.seed(s, cfg.get("DEMO_PASSWORD"))  # type: ignore[arg-type]
    lines = ["Demo accounts (password shown only this once):"]
    lines += [f"  {role:9} {email}" for role, email in accounts.emails.items()]
    lines.append(f"  password  {accounts.password}")
    return "\n".join(lines)


def _register_status_line(cfg: dict[str, object]) -> None:
    """Show NOTIFIER_VOICE_NUMBER as a contact channel (the status line), when it is set."""
    if not cfg.get("VOICE_NUMBER"):
        return
    from .. import create_app, voice

    app = create_app()
    with app.app_context(), db.transaction() as s:
        voice.register_contact(s)
    app.extensions["notifier.engine"].dispose()


def run() -> None:
    """Start Valkey, migrate, seed the demo, start the processes and supervise them."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin list buries what matters
    cfg = config.load()
    instance = Path(str(cfg["INSTANCE_DIR"]))
    instance.mkdir(parents=True, exist_ok=True)
    _preflight(cfg)
    # Ctrl-C at any moment, even while starting, ends in the same orderly stop below.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    valkey = embedded.start(instance) if cfg["REDIS_EMBEDDED"] else None
    output = Output(instance / "notifier.log")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        db.upgrade(str(cfg["DATABASE_URL"]))
        seeded = _seed_demo(cfg)
        _register_status_line(cfg)
        if not stop.is_set():
            procs = _children(cfg, dict(os.environ), output, stop)
            _wait_ready(cfg, procs, stop)
        if not stop.is_set():
            _announce(cfg, seeded)
            _supervise(procs, stop)
    finally:
        output.stopping.set()
        _stop(procs, valkey)


def _wait_ready(cfg: dict[str, object], procs: dict[str, subprocess.Popen[bytes]],
                stop: threading.Event) -> None:
    """Wait until the console (and the sandbox) answer, so the printed URL works when read."""
    urls = [f"http://{cfg['HOST']}:{cfg['PORT']}/healthz"]
    if "sandbox" in procs:
        urls.append(f"http://{config.SANDBOX_HOST}:{cfg['SANDBOX_PORT']}/sandbox/")
    _wait_for(urls, procs, stop)


def _wait_for(urls: list[str], procs: dict[str, subprocess.Popen[bytes]],
              stop: threading.Event) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    for url in urls:
        while time.monotonic() < deadline and not stop.is_set():
            if any(p.poll() is not None for p in procs.values()):
                return  # _supervise reports which one stopped
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                time.sleep(0.2)


def _announce(cfg: dict[str, object], seeded: str | None) -> None:
    url = f"http://{cfg['HOST']}:{cfg['PORT']}"
    mode = ("SANDBOX: nothing real is sent; messages land in the sandbox inbox."
            if cfg["SANDBOX"] else "LIVE: real providers are configured.")
    print(f"\nnotifier is running at {url}\n{mode}", flush=True)
    if seeded:
        print(seeded, flush=True)
    steps = ["Next:"]
    if cfg["SANDBOX"]:
        steps.append(f"  1. Open {url}/login and log in as operator@solvik.example.")
        steps.append("  2. Choose 'Send a notice', pick 'The 020 and 0771 numbers cannot be "
                     "reached', tick the contact channels that work, Preview, Confirm.")
        steps.append(f"  3. See what customers got in {url}/sandbox and the banner at "
                     f"{url}/banner.json; the public status page is {url}/status.")
        steps.append("  From another terminal in this folder (it asks for the demo password): "
                     ". .venv/bin/activate && notifier send phone-lines-down --var "
                     "contacts=vaxel,chatt,epost --yes --wait --as operator@solvik.example")
    else:
        steps.append("  Create the first admin with `notifier users create EMAIL --role admin`, "
                     f"sign in at {url}/login and set up the second factor; then add accounts "
                     "with `notifier users create EMAIL --role ROLE --as YOUR-EMAIL`.")
    steps.append("Ctrl-C stops everything.\n")
    print("\n".join(steps), flush=True)


def _supervise(procs: dict[str, subprocess.Popen[bytes]], stop: threading.Event) -> None:
    while not stop.wait(0.5):
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise NotifierError(f"{name} stopped unexpectedly (exit {proc.returncode}); "
                                    "see the log above. Stopping everything.")


def _stop(procs: dict[str, subprocess.Popen[bytes]], valkey: subprocess.Popen[bytes] | None) -> None:
    """Stop every child, then Valkey; say so in one line each."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for name, proc in procs.items():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
            print(f"stopped {name}", flush=True)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            print(f"stopped {name} (it did not stop within 10 s, so it was killed)", flush=True)
    if valkey is not None:
        valkey.terminate()
        try:
            valkey.wait(10)
        except subprocess.TimeoutExpired:
            valkey.kill()
        print("stopped valkey", flush=True)
    print("notifier stopped", flush=True)
