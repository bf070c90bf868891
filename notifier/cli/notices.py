"""Notices: send, follow, pause, resume, cancel, reroute."""
from __future__ import annotations

import sys
import time
from typing import Any

import click

from ..channels import SUBSCRIPTION_CHANNELS
from ..errors import NotifierError
from .base import app, fails_clearly
from .templates import variable_help


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {}
    for pair in pairs:
        if "=" not in pair:
            raise NotifierError(f"--var {pair!r}: write NAME=VALUE.")
        name, value = pair.split("=", 1)
        values[name.strip()] = value
    return values


@click.command(help="Send a notice from an approved template.")
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
@click.option("--deadline", type=click.IntRange(1, 1440), default=None,
              help="Minutes to keep retrying a failing provider [default: "
                   "NOTIFIER_DELIVERY_DEADLINE, 120]")
@click.option("--idempotency-key", default=None,
              help="Confirm at most once per key [default: derived from the arguments, so the same "
                   "command again within 10 minutes returns the first notice]")
@fails_clearly
def send(template_key: str, variables: tuple[str, ...], segments: tuple[str, ...],
         channels: str | None, everyone: bool,
         incident_id: int | None, drill: bool, fallbacks: tuple[str, ...], at: str | None,
         remind_at: str | None, yes: bool, wait: bool, deadline: int | None,
         idempotency_key: str | None) -> None:
    from .. import audit, clock, dispatch, idempotency, library

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
                                 scheduled_at=clock.parse_local(at) if at else None,
                                 deadline_minutes=deadline)
    asked = idempotency.fingerprint(template_key, sorted(variables), sorted(segments), channels,
                                    everyone, incident_id, drill, sorted(fallbacks), at, remind_at,
                                    deadline)
    once = idempotency.Key("cli", idempotency_key or asked, asked)
    with app().app_context():
        try:
            confirmed = dispatch.confirm_idempotently(
                req, audit.actor(), once, clock.parse_local(remind_at) if remind_at else None)
        except library.VariablesError as exc:
            raise NotifierError(_explain(template_key, exc)) from None
        notices = confirmed.notices
        for notice in notices:
            when = (f", scheduled for {clock.local(notice.scheduled_at)} (Swedish time)"
                    if notice.state == "scheduled" and notice.scheduled_at else "")
            if confirmed.replayed:
                click.echo(f"notice {notice.id} was already confirmed by the same command within "
                           "10 minutes: nothing was sent twice (give --idempotency-key to send "
                           "it again on purpose)")
            else:
                click.echo(f"notice {notice.id} (incident {notice.incident_id}) confirmed{when}")
        if wait:
            if notices[0].state == "scheduled":
                raise NotifierError("--wait cannot wait for a scheduled notice; "
                                    f"use `notifier status {notices[0].id}` later.")
            sys.exit(_wait(notices[0].id))


def _explain(key: str, exc: Any) -> str:
    """Turn a VariablesError into lines naming each --var and what it takes."""
    from .. import db as database
    from .. import dispatch, library

    s = database.session()
    spec = library.parse_spec(dispatch.approved_version(s, key).content)
    lines = ["the values do not fit the template:"]
    for name, message in exc.errors.items():
        known = {v.name: v for v in spec.variables}
        hint = (f"takes {variable_help(s, known[name])}" if name in known else
                f"fields of {key}: {', '.join(known) or 'none'}")
        lines.append(f"  --var {name}=...: {message} ({hint})")
    return "\n".join(lines)


def _wait(notice_id: int) -> int:
    from .. import db as database
    from .. import progress

    while True:
        with database.transaction() as s:
            counts = progress.progress(s, notice_id)
        if progress.is_finished(counts):
            _print_counts(counts)
            failed = sum(per.get("failed", 0) for per in counts.values())
            return 1 if failed else 0
        time.sleep(0.5)


def _overview(s: Any) -> None:
    from sqlalchemy import select

    from .. import progress
    from ..models import Incident, Notice

    incidents = s.scalars(select(Incident).where(Incident.state == "open").order_by(Incident.id))
    for inc in incidents:
        click.echo(f"incident {inc.id} open{' (drill)' if inc.drill else ''}: {inc.title}")
    for n in s.scalars(select(Notice).order_by(Notice.id.desc()).limit(10)):
        counts = progress.progress(s, n.id)
        total = sum(sum(per.values()) for per in counts.values())
        click.echo(f"notice {n.id:<5} {n.template_key:22} {n.state:11} incident {n.incident_id:<4} "
                   f"{total} deliveries{' DRILL' if n.drill else ''}")


def _print_counts(counts: dict[str, dict[str, int]]) -> None:
    for channel in sorted(counts):
        detail = ", ".join(f"{status} {n}" for status, n in sorted(counts[channel].items()))
        click.echo(f"{channel:9} {detail}")


def _control(notice_id: int, action: str, source: str = "", target: str = "email") -> None:
    from .. import audit, control

    with app().app_context():
        click.echo(control.act(notice_id, action, audit.actor(), source, target))


@click.command(help="Pause a notice being sent (resume goes on where it stopped).")
@click.argument("notice_id", type=int)
@fails_clearly
def pause(notice_id: int) -> None:
    _control(notice_id, "pause")


@click.command(help="Resume a paused notice.")
@click.argument("notice_id", type=int)
@fails_clearly
def resume(notice_id: int) -> None:
    _control(notice_id, "resume")


@click.command(help="Cancel what is not yet sent of a notice.")
@click.argument("notice_id", type=int)
@fails_clearly
def cancel(notice_id: int) -> None:
    _control(notice_id, "cancel")


@click.command(help="Send what is unsent on one delivery channel by another instead.")
@click.argument("notice_id", type=int)
@click.option("--from", "source", required=True, type=click.Choice(SUBSCRIPTION_CHANNELS))
@click.option("--to", "target", default="email", show_default=True,
              type=click.Choice(SUBSCRIPTION_CHANNELS))
@fails_clearly
def reroute(notice_id: int, source: str, target: str) -> None:
    _control(notice_id, "reroute", source, target)


@click.command(help="Show a notice's progress per delivery channel and status; without an id, "
                   "the open incidents and the latest notices.")
@click.argument("notice_id", type=int, required=False)
@fails_clearly
def status(notice_id: int | None) -> None:
    from .. import clock, estimate, progress
    from .. import db as database
    from ..models import Notice

    with app().app_context(), database.transaction() as s:
        if notice_id is None:
            _overview(s)
            return
        notice = s.get(Notice, notice_id)
        if notice is None:
            raise NotifierError(f"No notice {notice_id}.")
        click.echo(f"notice {notice.id} {notice.template_key} ({notice.state}), "
                   f"incident {notice.incident_id}, by {notice.created_by}")
        first, last = progress.timestamps(s, notice_id)
        if first and last:
            click.echo(f"first sent {clock.local(first, seconds=True)}, "
                       f"last sent {clock.local(last, seconds=True)} (Swedish time)")
        _print_counts(progress.progress(s, notice_id))
        for w in progress.waiting(s, notice_id):
            click.echo(f"waiting: {w.describe()} (Swedish time)")
        for e in estimate.for_notice(s, notice).values():
            live = f", now {e.live:.1f}/s" if e.live is not None else ""
            click.echo(f"{e.channel:9} {e.recipients:,} to go, about {_duration(e.seconds)} at "
                       f"{e.rate:g}/s{live}")


def _duration(seconds: float) -> str:
    """Say how long as a person would: 40 s, 3 min, 2 h 5 min."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
