"""Notices: send, follow, pause, resume, cancel, reroute."""
from __future__ import annotations

import sys
import time
from typing import Any

import click

from ..channels import SUBSCRIPTION_CHANNELS
from ..errors import NotifierError
from .base import acts_as, app, fails_clearly
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
@click.option("--dry-run", is_flag=True,
              help="Print the preview (every language x channel, counts, segments, time, "
                   "warnings) and send nothing")
@click.option("--wait", is_flag=True, help="Wait until every delivery is done, then for receipts")
@click.option("--receipts-timeout", default=60.0, show_default=True, type=click.FloatRange(0),
              help="With --wait: seconds to wait for delivery receipts once everything is sent")
@click.option("--restore", default=None,
              help="All-clear: comma-separated contact channels to mark up again [default: those "
                   "marked down during the incident; 'none' for none]")
@click.option("--deadline", type=click.IntRange(1, 1440), default=None,
              help="Minutes to keep retrying a failing provider [default: "
                   "NOTIFIER_DELIVERY_DEADLINE, 120]")
@click.option("--idempotency-key", default=None,
              help="Confirm at most once per key [default: derived from the arguments, so the same "
                   "command again within 10 minutes returns the first notice]")
@fails_clearly
@acts_as("send")
def send(template_key: str, variables: tuple[str, ...], segments: tuple[str, ...],
         channels: str | None, everyone: bool,
         incident_id: int | None, drill: bool, fallbacks: tuple[str, ...], at: str | None,
         remind_at: str | None, yes: bool, dry_run: bool, wait: bool, receipts_timeout: float,
         restore: str | None, deadline: int | None, idempotency_key: str | None) -> None:
    from .. import audit, clock, dispatch, idempotency, library

    if not yes and not dry_run:
        raise NotifierError("Add --yes to confirm that this notice goes out now "
                            "(or --dry-run to see the preview only).")
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
        if dry_run:
            _dry_run(template_key, req, restore)
            return
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
        if not confirmed.replayed and notices[0].kind == "all_clear":
            _restore(notices[0].incident_id, restore)
        if wait:
            if notices[0].state == "scheduled":
                raise NotifierError("--wait cannot wait for a scheduled notice; "
                                    f"use `notifier status {notices[0].id}` later.")
            sys.exit(_wait(notices[0].id, receipts_timeout))


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


def _wait(notice_id: int, receipts_timeout: float) -> int:
    """Wait until nothing is left to send, then for receipts; 1 when some did not get it."""
    from .. import db as database
    from .. import progress

    while True:
        with database.transaction() as s:
            counts = progress.progress(s, notice_id)
        if progress.is_finished(counts):
            break
        time.sleep(0.5)
    awaited = _receipts_expected()
    deadline = time.monotonic() + receipts_timeout
    while time.monotonic() < deadline and any(counts.get(ch, {}).get("sent") for ch in awaited):
        time.sleep(0.5)
        with database.transaction() as s:
            counts = progress.progress(s, notice_id)
    _print_counts(counts)
    missed = sum(per.get(st, 0) for per in counts.values() for st in ("failed", "undelivered"))
    return 1 if missed else 0


def _receipts_expected() -> list[str]:
    """Name the delivery channels whose provider reports back (so waiting for receipts helps)."""
    from flask import current_app

    cfg = current_app.config
    sms = cfg.get("PUBLIC_URL_EXPLICIT") or cfg["PROVIDERS"]["twilio"].sandbox
    return (["sms"] if sms else []) + (["email"] if cfg.get("SENDGRID_WEBHOOK_PUBLIC_KEY") else [])


def _restore(incident_id: int, restore: str | None) -> None:
    """Mark up the contact channels an all-clear says are back (default: those marked down)."""
    from .. import db as database
    from .. import queues, timeline
    from ..models import Incident

    with database.transaction() as s:
        incident = s.get(Incident, incident_id)
        if restore is None:
            keys = [c.key for c in timeline.down_during(s, incident)] if incident else []
        else:
            keys = [k.strip() for k in restore.split(",") if k.strip() and k.strip() != "none"]
        changed = timeline.restore(s, keys)
    if changed:
        queues.publish_banner_soon()
        click.echo(f"marked up again: {', '.join(changed)}")


def _dry_run(template_key: str, req: Any, restore: str | None) -> None:
    """Print what the console's preview shows, and send nothing."""

    from .. import db as database
    from .. import dispatch, library, preflight

    s = database.session()
    try:
        preview = dispatch.prepare(s, req)
    except library.VariablesError as exc:
        raise NotifierError(_explain(template_key, exc)) from None
    restoring = [k.strip() for k in (restore or "").split(",") if k.strip()]
    checks = preflight.check(s, preview, restoring)
    for lang, per in preview.rendered.items():
        for channel, message in per.items():
            click.echo(f"--- {lang} {channel} ---")
            if message.subject:
                click.echo(f"Subject: {message.subject}")
            if message.headline:
                click.echo(message.headline)
            click.echo(message.text)
            if message.sms:
                click.echo(f"({message.sms.encoding}, {message.sms.characters} characters, "
                           f"{message.sms.segments} segment(s))")
    click.echo("--- audience and time ---")
    for channel, e in preflight.estimates(s, preview).items():
        langs = preview.counts[channel]
        unit = "segments" if channel == "sms" else "messages"
        ahead = f" after {e.ahead:g} {unit} queued ahead" if e.ahead else ""
        click.echo(f"{channel:9} {e.recipients} ({langs.get('sv', 0)} Swedish, {langs.get('en', 0)} "
                   f"English), {e.units:g} {unit} at {e.rate:g}/s{ahead}: about {e.seconds:.0f} s")
    if "banner" in (preview.request.channels or ()):
        click.echo("banner    the website banner")
    for warning in checks.warnings:
        click.echo(f"warning: {warning}")
    click.echo("dry run: nothing was sent")


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
@acts_as("send")
def pause(notice_id: int) -> None:
    _control(notice_id, "pause")


@click.command(help="Resume a paused notice.")
@click.argument("notice_id", type=int)
@fails_clearly
@acts_as("send")
def resume(notice_id: int) -> None:
    _control(notice_id, "resume")


@click.command(help="Cancel what is not yet sent of a notice.")
@click.argument("notice_id", type=int)
@fails_clearly
@acts_as("send")
def cancel(notice_id: int) -> None:
    _control(notice_id, "cancel")


@click.command(help="Send what is unsent on one delivery channel by another instead.")
@click.argument("notice_id", type=int)
@click.option("--from", "source", required=True, type=click.Choice(SUBSCRIPTION_CHANNELS))
@click.option("--to", "target", default="email", show_default=True,
              type=click.Choice(SUBSCRIPTION_CHANNELS))
@fails_clearly
@acts_as("send")
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
