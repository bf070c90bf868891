"""The `notifier` command: run the processes, manage data, send notices without the console."""
from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask

from .errors import NotifierError

F = TypeVar("F", bound=Callable[..., Any])


def app() -> Flask:
    """Create the app for one CLI command; its connections close when the command ends."""
    from . import create_app

    a = create_app()
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(lambda: _close(a))
    return a


def _close(a: Flask) -> None:
    a.extensions["notifier.engine"].dispose()
    conn = a.extensions.get("notifier.redis")
    if conn is not None:
        conn.close()


def fails_clearly(fn: F) -> F:
    """Turn a NotifierError into a one-line message and exit status 2."""
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotifierError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    return wrapped  # type: ignore[return-value]


@click.group(help="notifier: crisis notices by SMS, email, Telegram and a website banner.")
def main() -> None:
    """Group every command."""


@main.command(help="Start everything: Valkey, database, console, workers, sandbox providers.")
@fails_clearly
def up() -> None:
    from .runner import run

    run()


@main.command(help="Serve the web console (gunicorn).")
@click.option("--workers", default=2, show_default=True)
@fails_clearly
def web(workers: int) -> None:
    import os

    a = app()
    bind = f"{a.config['HOST']}:{a.config['PORT']}"
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                               "--threads", "4", "--bind", bind, "--access-logfile", "-",
                               "notifier:create_app()"])


@main.command(help="Run an RQ worker (with the scheduler and the reconciler).")
@click.option("--queues", "queue_names", default="banner,control,email,telegram,sms",
              show_default=True, help="Comma-separated queue names, in priority order.")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@fails_clearly
def worker(queue_names: str, burst: bool) -> None:
    from .runner import run_worker

    run_worker(app(), [q.strip() for q in queue_names.split(",") if q.strip()], burst)


@main.command(help="Run the provider simulators (Twilio, SendGrid, Telegram). They accept the "
              "sandbox's dummy credentials and any NOTIFIER_* credentials set where they run.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: NOTIFIER_SANDBOX_PORT (8025)")
@fails_clearly
def sandbox(host: str, port: int | None) -> None:
    from .config import load
    from .sandbox.app import create_sandbox_app
    from .sandbox.server import serve

    cfg = load()
    # Credentials set in this environment are accepted too, so a team can share one set of
    # simulators and point their notifiers at it with their usual settings.
    own = {name: dict(p.credentials) for name, p in cfg["PROVIDERS"].items() if not p.sandbox}
    serve(host, port or cfg["SANDBOX_PORT"], create_sandbox_app(own))


@main.group(help="Database commands.")
def db() -> None:
    """Group database commands."""


@db.command("upgrade", help="Apply migrations.")
@fails_clearly
def db_upgrade() -> None:
    from . import db as database

    database.upgrade(app().config["DATABASE_URL"])
    click.echo("database is up to date")


@main.group(help="Console accounts.")
def users() -> None:
    """Group account commands."""


@users.command("create", help="Create an account; asks for the password.")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["viewer", "operator", "editor",
                                                          "approver", "admin"]))
@click.password_option()
@fails_clearly
def users_create(email: str, role: str, password: str) -> None:
    from . import auth
    from . import db as database

    with app().app_context(), database.transaction() as s:
        auth.create_user(s, email, role, password)
    click.echo(f"created {role} {email}")


@users.command("list", help="List accounts with their role.")
@fails_clearly
def users_list() -> None:
    from sqlalchemy import select

    from . import db as database
    from .models import User

    with app().app_context(), database.transaction() as s:
        for user in s.scalars(select(User).order_by(User.role, User.email)):
            click.echo(f"{user.email:36} {user.role:9} {'active' if user.active else 'disabled'}")


@users.command("password", help="Set a new password for an account (e.g. a lost demo password).")
@click.argument("email")
@click.password_option()
@fails_clearly
def users_password(email: str, password: str) -> None:
    from . import auth
    from . import db as database

    with app().app_context(), database.transaction() as s:
        auth.set_password(s, email, password)
    click.echo(f"new password set for {email}")


@main.group(help="The message library.")
def templates() -> None:
    """Group template commands."""


@templates.command("import", help="Load template files as drafts (unchanged content keeps its approval).")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@fails_clearly
def templates_import(folder: Path) -> None:
    from . import audit, versions
    from . import db as database

    with app().app_context(), database.transaction() as s:
        report = versions.import_dir(s, folder, audit.actor())
    for key in report.created:
        click.echo(f"draft    {key}")
    for key in report.unchanged:
        click.echo(f"same     {key}")


@templates.command("check", help="Validate template files without importing them.")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@fails_clearly
def templates_check(folder: Path) -> None:
    from . import library

    specs = library.load_dir(folder)
    click.echo(f"{len(specs)} templates are valid")


@templates.command("export", help="Write the approved templates as files.")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@fails_clearly
def templates_export(folder: Path) -> None:
    from . import db as database
    from . import versions

    with app().app_context(), database.transaction() as s:
        for path in versions.export_dir(s, folder):
            click.echo(str(path))


@templates.command("list", help="List templates: state, author and approver of every version.")
@fails_clearly
def templates_list() -> None:
    from sqlalchemy import select

    from . import db as database
    from . import versions
    from .models import Template

    with app().app_context(), database.transaction() as s:
        for template in s.scalars(select(Template).order_by(Template.key)):
            steps = versions.history(s, template.key)
            for v in reversed(template.versions):
                decided = [st for st in steps.get(v.number, [])
                           if st.action in ("approve", "reject")]
                by = (f"{decided[-1].action.rstrip('e')}ed by {decided[-1].who}"
                      if decided else "")
                click.echo(f"{template.key:24} v{v.number:<3} {v.state:9} by {v.author:32} {by}")


@templates.command("show", help="Show a template's fields: what to give with --var.")
@click.argument("key")
@fails_clearly
def templates_show(key: str) -> None:
    from . import db as database
    from . import dispatch, library

    with app().app_context(), database.transaction() as s:
        spec = library.parse_spec(dispatch.approved_version(s, key).content)
        click.echo(f"{spec.key}: {spec.title['en']} / {spec.title['sv']} ({spec.kind})")
        for v in spec.variables:
            need = "required" if v.required else "optional"
            click.echo(f"  --var {v.name}=...  {v.label['en']} ({need}): takes {_variable_help(s, v)}")


@templates.command("approve", help="Approve a draft as the operating-system user (four-eyes).")
@click.argument("key")
@click.option("--version", "number", type=int, default=None, help="Version (default: the draft)")
@click.option("--comment", default="", help="A note for the audit log")
@fails_clearly
def templates_approve(key: str, number: int | None, comment: str) -> None:
    from . import audit, versions
    from . import db as database

    with app().app_context(), database.transaction() as s:
        version = versions.find(s, key, number)
        versions.approve(s, version, audit.actor(), comment)
        click.echo(f"approved {key} v{version.number} as {audit.actor()}")


@templates.command("reject", help="Reject a draft with a comment saying what must change.")
@click.argument("key")
@click.option("--version", "number", type=int, default=None, help="Version (default: the draft)")
@click.option("--comment", required=True, help="What the author must change")
@fails_clearly
def templates_reject(key: str, number: int | None, comment: str) -> None:
    from . import audit, versions
    from . import db as database

    with app().app_context(), database.transaction() as s:
        version = versions.find(s, key, number)
        versions.reject(s, version, audit.actor(), comment)
        click.echo(f"rejected {key} v{version.number} as {audit.actor()}")


@main.group(help="The contact-channel registry (the company's own phone numbers, chat, ...).")
def contacts() -> None:
    """Group contact-channel commands."""


@contacts.command("list", help="List contact channels and their state.")
@fails_clearly
def contacts_list() -> None:
    from . import contacts as registry
    from . import db as database

    with app().app_context(), database.transaction() as s:
        for c in registry.all_contacts(s):
            click.echo(f"{c.key:16} {c.state:8} {c.kind:8} {c.value:40} {c.label_sv} / {c.label_en}")


@contacts.command("set", help="Mark a contact channel up, down or unknown.")
@click.argument("key")
@click.argument("state", type=click.Choice(["up", "down", "unknown"]))
@fails_clearly
def contacts_set(key: str, state: str) -> None:
    from . import contacts as registry
    from . import db as database
    from . import queues

    a = app()
    with a.app_context():
        with database.transaction() as s:
            registry.set_state(s, key, state)
        queues.queue("banner").enqueue("workers.jobs.publish_banner")
    click.echo(f"{key} is {state}")


@contacts.command("add", help="Register or update a contact channel.")
@click.argument("key")
@click.option("--kind", required=True, type=click.Choice(["phone", "chat", "email", "webform",
                                                          "office", "social"]))
@click.option("--sv", "label_sv", required=True, help="Label in Swedish")
@click.option("--en", "label_en", required=True, help="Label in English")
@click.option("--value", required=True, help="Number, address or https link")
@click.option("--state", default="up", type=click.Choice(["up", "down", "unknown"]))
@fails_clearly
def contacts_add(key: str, kind: str, label_sv: str, label_en: str, value: str, state: str) -> None:
    from . import contacts as registry
    from . import db as database

    with app().app_context(), database.transaction() as s:
        registry.register(s, registry.ContactDefinition(key, kind, label_sv, label_en, value, state))
    click.echo(f"registered {key}")


@main.group(help="Subscribers.")
def subscribers() -> None:
    """Group subscriber commands."""


@subscribers.command("import", help="Import subscribers from CSV "
                     "(name,language,phone,email,telegram_chat_id,segments[,external_id]; several "
                     "segments in one cell separated by |).")
@click.argument("file", type=click.File("rb"))
@fails_clearly
def subscribers_import(file: Any) -> None:
    from . import audience
    from . import db as database

    text, note = audience.decode(file.read())
    with app().app_context(), database.transaction() as s:
        report = audience.import_csv(s, text)
    for remark in ([note] if note else []) + report.notes:
        click.echo(f"note: {remark}")
    for line, reason in report.errors:
        click.echo(f"line {line}: {reason}", err=True)
    if report.new_segments:
        click.echo(f"new segments: {', '.join(report.new_segments)} (check them for typos)")
    click.echo(f"{report.added} added, {report.updated} updated, {len(report.errors)} refused")
    if report.errors:
        sys.exit(1)


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {}
    for pair in pairs:
        if "=" not in pair:
            raise NotifierError(f"--var {pair!r}: write NAME=VALUE.")
        name, value = pair.split("=", 1)
        values[name.strip()] = value
    return values


@main.command(help="Send a notice from an approved template.")
@click.argument("template_key")
@click.option("--var", "variables", multiple=True, help="NAME=VALUE (lists comma-separated)")
@click.option("--segment", "segments", multiple=True, help="Segment key; several are a union")
@click.option("--channels", default=None,
              help="Comma-separated delivery channels [default: those of the incident's first "
                   "notice with --incident, else sms,email,telegram,banner; a drill: no banner]")
@click.option("--everyone", is_flag=True,
              help="Every active subscription, even for a follow-up to an incident whose "
                   "first notice went to some segments")
@click.option("--incident", "incident_id", type=int, default=None, help="Add to an open incident")
@click.option("--drill", is_flag=True, help="Send as a drill (never public)")
@click.option("--fallback", "fallbacks", multiple=True,
              help="FROM:TO, e.g. sms:email (failed SMS go by email) or telegram:sms (blocked)")
@click.option("--at", "at", default=None, help="Send later: YYYY-MM-DD HH:MM, Swedish time")
@click.option("--remind-at", default=None, help="Send it again as a reminder at this time")
@click.option("--yes", is_flag=True, help="Confirm (required)")
@click.option("--wait", is_flag=True, help="Wait until every delivery is done")
@fails_clearly
def send(template_key: str, variables: tuple[str, ...], segments: tuple[str, ...],
         channels: str | None, everyone: bool,
         incident_id: int | None, drill: bool, fallbacks: tuple[str, ...], at: str | None,
         remind_at: str | None, yes: bool, wait: bool) -> None:
    from . import audit, dispatch, library
    from . import db as database
    from .models import Notice

    if not yes:
        raise NotifierError("Add --yes to confirm that this notice goes out now.")
    if any(":" not in f for f in fallbacks):
        raise NotifierError("--fallback takes FROM:TO, e.g. sms:email.")
    if everyone and segments:
        raise NotifierError("--everyone and --segment contradict each other: use one.")
    req = dispatch.NoticeRequest(template_key, _parse_vars(variables),
                                 [c.strip() for c in channels.split(",") if c.strip()]
                                 if channels else None,
                                 [] if everyone else (list(segments) or None), drill, incident_id,
                                 fallback=dict(f.split(":", 1) for f in fallbacks),
                                 scheduled_at=dispatch.parse_local(at) if at else None)
    a = app()
    with a.app_context():
        try:
            with database.transaction() as s:
                notices = dispatch.confirm_with_reminder(
                    s, req, audit.actor(), dispatch.parse_local(remind_at) if remind_at else None)
        except library.VariablesError as exc:
            raise NotifierError(_explain(template_key, exc)) from None
        for notice in notices:
            with database.transaction() as s:
                dispatch.enqueue(s, s.get(Notice, notice.id))  # type: ignore[arg-type]
            when = (f", scheduled for {notice.scheduled_at.astimezone(dispatch.STOCKHOLM):%Y-%m-%d %H:%M}"
                    if notice.state == "scheduled" and notice.scheduled_at else "")
            click.echo(f"notice {notice.id} (incident {notice.incident_id}) confirmed{when}")
        if wait:
            if notices[0].state == "scheduled":
                raise NotifierError("--wait cannot wait for a scheduled notice; "
                                    f"use `notifier status {notices[0].id}` later.")
            sys.exit(_wait(notices[0].id))


def _variable_help(s: Any, variable: Any) -> str:
    """Say what a variable takes, in --var terms."""
    from . import contacts

    if variable.type == "contacts":
        keys = [f"{c.key} ({c.label_en})" for c in contacts.all_contacts(s) if c.state == "up"]
        return "comma-separated keys of working contact channels: " + ", ".join(keys)
    if variable.type == "choice":
        return "one of " + ", ".join(f"{o.value} ({o.label['en']})" for o in variable.options)
    return {"time": "HH:MM", "datetime": "YYYY-MM-DD HH:MM (Swedish time)",
            "phone": "a phone number, e.g. 08-123 45 67", "url": "an https:// address",
            "email": "an email address"}.get(variable.type, f"text (at most {variable.max_length})")


def _explain(key: str, exc: Any) -> str:
    """Turn a VariablesError into lines naming each --var and what it takes."""
    from . import db as database
    from . import dispatch, library

    s = database.session()
    spec = library.parse_spec(dispatch.approved_version(s, key).content)
    lines = ["the values do not fit the template:"]
    for name, message in exc.errors.items():
        known = {v.name: v for v in spec.variables}
        hint = (f"takes {_variable_help(s, known[name])}" if name in known else
                f"fields of {key}: {', '.join(known) or 'none'}")
        lines.append(f"  --var {name}=...: {message} ({hint})")
    return "\n".join(lines)


def _wait(notice_id: int) -> int:
    from . import db as database
    from . import dispatch

    while True:
        with database.transaction() as s:
            counts = dispatch.progress(s, notice_id)
        if dispatch.is_finished(counts):
            _print_counts(counts)
            failed = sum(per.get("failed", 0) for per in counts.values())
            return 1 if failed else 0
        time.sleep(0.5)


def _overview(s: Any) -> None:
    from sqlalchemy import select

    from . import dispatch
    from .models import Incident, Notice

    incidents = s.scalars(select(Incident).where(Incident.state == "open").order_by(Incident.id))
    for inc in incidents:
        click.echo(f"incident {inc.id} open{' (drill)' if inc.drill else ''}: {inc.title}")
    for n in s.scalars(select(Notice).order_by(Notice.id.desc()).limit(10)):
        counts = dispatch.progress(s, n.id)
        total = sum(sum(per.values()) for per in counts.values())
        click.echo(f"notice {n.id:<5} {n.template_key:22} {n.state:11} incident {n.incident_id:<4} "
                   f"{total} deliveries{' DRILL' if n.drill else ''}")


def _print_counts(counts: dict[str, dict[str, int]]) -> None:
    for channel in sorted(counts):
        detail = ", ".join(f"{status} {n}" for status, n in sorted(counts[channel].items()))
        click.echo(f"{channel:9} {detail}")


def _control(notice_id: int, action: str, source: str = "", target: str = "email") -> None:
    from . import audit, control

    with app().app_context():
        click.echo(control.act(notice_id, action, audit.actor(), source, target))


@main.command(help="Pause a notice being sent (resume goes on where it stopped).")
@click.argument("notice_id", type=int)
@fails_clearly
def pause(notice_id: int) -> None:
    _control(notice_id, "pause")


@main.command(help="Resume a paused notice.")
@click.argument("notice_id", type=int)
@fails_clearly
def resume(notice_id: int) -> None:
    _control(notice_id, "resume")


@main.command(help="Cancel what is not yet sent of a notice.")
@click.argument("notice_id", type=int)
@fails_clearly
def cancel(notice_id: int) -> None:
    _control(notice_id, "cancel")


@main.command(help="Send what is unsent on one delivery channel by another instead.")
@click.argument("notice_id", type=int)
@click.option("--from", "source", required=True, type=click.Choice(["sms", "email", "telegram"]))
@click.option("--to", "target", default="email", show_default=True,
              type=click.Choice(["sms", "email", "telegram"]))
@fails_clearly
def reroute(notice_id: int, source: str, target: str) -> None:
    _control(notice_id, "reroute", source, target)


@main.command(help="Show a notice's progress per delivery channel and status; without an id, "
                   "the open incidents and the latest notices.")
@click.argument("notice_id", type=int, required=False)
@fails_clearly
def status(notice_id: int | None) -> None:
    from . import db as database
    from . import dispatch
    from .models import Notice

    with app().app_context(), database.transaction() as s:
        if notice_id is None:
            _overview(s)
            return
        notice = s.get(Notice, notice_id)
        if notice is None:
            raise NotifierError(f"No notice {notice_id}.")
        click.echo(f"notice {notice.id} {notice.template_key} ({notice.state}), "
                   f"incident {notice.incident_id}, by {notice.created_by}")
        first, last = dispatch.timestamps(s, notice_id)
        if first and last:
            fmt = "%Y-%m-%d %H:%M:%S"
            click.echo(f"first sent {first.astimezone(dispatch.STOCKHOLM):{fmt}}, "
                       f"last sent {last.astimezone(dispatch.STOCKHOLM):{fmt}} (Swedish time)")
        _print_counts(dispatch.progress(s, notice_id))
