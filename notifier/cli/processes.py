"""Run the processes: everything at once, the web console, a worker, the simulators."""
from __future__ import annotations

import sys

import click

from .base import app, fails_clearly


@click.command(help="Start everything: Valkey, database, console, workers, sandbox providers.")
@fails_clearly
def up() -> None:
    from ..processes.runner import run

    run()


@click.command(help="Serve the web console (gunicorn).")
@click.option("--workers", default=2, show_default=True)
@fails_clearly
def web(workers: int) -> None:
    import os

    a = app()
    bind = f"{a.config['HOST']}:{a.config['PORT']}"
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                               "--threads", "4", "--bind", bind, "--access-logfile", "-",
                               "notifier:create_app()"])


@click.command(help="Run an RQ worker (with the scheduler and the reconciler).")
@click.option("--queues", "queue_names", default="banner,control,email,telegram,sms,planning",
              show_default=True, help="Comma-separated queue names, in priority order.")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@fails_clearly
def worker(queue_names: str, burst: bool) -> None:
    from workers.worker import run_worker

    run_worker(app(), [q.strip() for q in queue_names.split(",") if q.strip()], burst)


@click.command(help="Run the provider simulators (Twilio, SendGrid, Telegram). They accept the "
              "sandbox's dummy credentials and any NOTIFIER_* credentials set where they run.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: NOTIFIER_SANDBOX_PORT (8025)")
@fails_clearly
def sandbox(host: str, port: int | None) -> None:
    from ..config import load
    from ..sandbox.app import create_sandbox_app
    from ..sandbox.server import serve

    cfg = load()
    # Credentials set in this environment are accepted too, so a team can share one set of
    # simulators and point their notifiers at it with their usual settings.
    own = {name: dict(p.credentials) for name, p in cfg["PROVIDERS"].items() if not p.sandbox}
    serve(host, port or cfg["SANDBOX_PORT"], create_sandbox_app(own))
