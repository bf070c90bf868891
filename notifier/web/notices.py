"""A notice after sending: live progress, failures in plain words, who missed it, what to do."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import audit, clock, control, db, enqueueing, progress, tracking, vocabulary
from ..deliveries import UNSENT
from ..errors import NotifierError
from ..i18n import gettext as _
from ..i18n import ngettext
from ..models import SUBSCRIPTION_CHANNELS as CHANNELS
from ..models import Notice
from .auth import require
from .console import circuits
from .downloads import csv_response
from .formatting import duration

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.app_template_global()
def progress_words(p: tracking.ChannelProgress) -> str:
    """Say how far a delivery channel is: what is left, how fast, how long still."""
    if not p.open:
        return _("done: %(n)s of %(total)s went out", n=p.total - p.counts.get("cancelled", 0)
                 - p.counts.get("skipped", 0) - p.counts.get("failed", 0), total=p.total)
    words = ngettext("%(num)d left of %(total)s", "%(num)d left of %(total)s", p.open,
                     total=p.total)
    if p.rate:
        words += " · " + _("%(rate)s per second", rate=round(p.rate, 1))
    if p.seconds_left:
        words += " · " + _("%(time)s to go", time=duration(p.seconds_left))
    return words


@bp.app_template_global()
def waiting_words(w: progress.Waiting, notice: Notice) -> str:
    """Say who fails since when, how many wait, the next try, until when, and the fallback."""
    words = _("The %(channel)s provider is failing since %(since)s: %(n)s waiting, next try "
              "%(next)s (%(why)s). Retried until %(until)s.",
              channel=vocabulary.name(vocabulary.CHANNEL, w.channel),
              since=clock.local(w.since)[-5:] if w.since else "-", n=w.count,
              next=clock.local(w.next_try)[-5:] if w.next_try else "-", why=w.reason or "-",
              until=clock.local(notice.deadline()))
    target = notice.fallback.get(w.channel)
    if target:
        words += " " + _("After %(minutes)s minutes of failures they go by %(channel)s.",
                         minutes=int(current_app.config["FALLBACK_AFTER"]),
                         channel=vocabulary.name(vocabulary.CHANNEL, target))
    return words


@bp.app_template_global()
def bar_words(p: tracking.ChannelProgress) -> str:
    """Describe a progress bar for screen readers: each status and its count."""
    parts = [f"{vocabulary.name(vocabulary.STATUS, st)} {n}" for st, n in p.counts.items() if n]
    return f"{vocabulary.name(vocabulary.CHANNEL, p.channel)}: " + ", ".join(parts)


def _notice(notice_id: int) -> Notice:
    return db.session().get(Notice, notice_id) or abort(404)


def _actions(notice: Notice, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Say which controls can act on the notice now (the page shows only those)."""
    unsent = {ch for ch, per in counts.items() if any(per.get(st, 0) for st in UNSENT)}
    live = notice.state in ("sending", "paused")
    return {"pause": notice.state == "sending" and bool(unsent),
            "resume": notice.state == "paused",
            "cancel": notice.state == "scheduled" or (live and bool(unsent)),
            "reroute": [ch for ch in ("sms", "telegram") if live and ch in unsent],
            "follow_up": notice.incident.state == "open"}


@bp.get("/<int:notice_id>")
@require("view")
def show(notice_id: int) -> str:
    """Follow one notice: progress per channel, failures, who did not get it and why."""
    s = db.session()
    n = _notice(notice_id)
    counts = progress.progress(s, n.id)
    search, channel = request.args.get("q", ""), request.args.get("channel", "")
    missed = tracking.missed(s, n.id, search, channel, request.args.get("page", 1, type=int))
    return render_template(
        "notice.html", notice=n, counts=counts, circuits=circuits(),
        channels=tracking.per_channel(s, n, current_app.config["RATES"]),
        failures=tracking.failures(s, n.id), missed=missed, q=search, channel=channel,
        waiting=progress.waiting(s, n.id),
        reachable=tracking.reachable(s, n) if n.state in tracking.RESENDABLE else {},
        actions=_actions(n, counts), missed_total=sum(
            per.get(st, 0) for per in counts.values() for st in tracking.MISSED))


@bp.get("/<int:notice_id>/progress.json")
@require("view")
def progress_json(notice_id: int) -> Any:
    """Return per-channel counts, rate and time left for the live view (texts translated)."""
    s = db.session()
    n = _notice(notice_id)
    counts = progress.progress(s, n.id)
    first, last = progress.timestamps(s, n.id)
    finished = progress.is_finished(counts)
    per = tracking.per_channel(s, n, current_app.config["RATES"])
    missed = sum(c.get(st, 0) for c in counts.values() for st in tracking.MISSED)
    return jsonify(state=n.state, state_name=vocabulary.name(vocabulary.NOTICE_STATE, n.state),
                   counts=counts, finished=finished, missed=missed,
                   waiting=[waiting_words(w, n) for w in progress.waiting(s, n.id)],
                   channels={p.channel: {**p.to_json(), "words": progress_words(p),
                                         "label": bar_words(p)} for p in per},
                   first_sent=clock.local(first, seconds=True) if first else None,
                   last_sent=clock.local(last, seconds=True) if last else None,
                   summary=_summary(n.state, finished, last))


def _summary(state: str, finished: bool, last: Any) -> str:
    if finished:
        return _("Finished. Last message sent %(when)s.",
                 when=clock.local(last, seconds=True) if last else "-")
    if state == "paused":
        return _("Paused: nothing more is sent until you resume.")
    return _("Sending… (updates every 2 seconds)")


def _said(action: str, notice_id: int, outcome: Any) -> str:
    if action == "cancel":
        return _("Notice %(id)s is cancelled: %(n)s unsent deliveries stopped.", id=notice_id,
                 n=outcome)
    if action == "pause":
        return _("Notice %(id)s is paused.", id=notice_id)
    if action == "resume":
        return _("Notice %(id)s is resumed.", id=notice_id)
    cancelled, created = outcome
    return _("%(cancelled)s unsent deliveries cancelled; %(created)s go by %(to)s instead. "
             "Those with no %(to)s address stay on %(from)s.",
             cancelled=cancelled, created=created,
             to=vocabulary.name(vocabulary.CHANNEL, request.form.get("to", "email")),
             **{"from": vocabulary.name(vocabulary.CHANNEL, request.form.get("from", ""))})


@bp.post("/<int:notice_id>/<any(pause, resume, cancel, reroute):action>")
@require("send")
def act(notice_id: int, action: str) -> Any:
    """Pause, resume, cancel a notice in flight, or send the rest on another channel."""
    who, source, target = audit.actor(), request.form.get("from", ""), request.form.get("to",
                                                                                         "email")
    try:
        with db.transaction() as s:
            if action == "cancel":
                outcome: Any = control.cancel(s, notice_id, who)
            elif action == "reroute":
                outcome = control.send_rest_by(s, notice_id, source, target, who)
            else:
                outcome = (control.pause if action == "pause" else control.resume)(
                    s, notice_id, who)
        _enqueue(notice_id, action in ("resume", "reroute"))
        flash(_said(action, notice_id, outcome), "ok")
    except NotifierError as exc:
        flash(str(exc), "error")
    return redirect(url_for("notices.show", notice_id=notice_id))


def _enqueue(notice_id: int, deliveries: bool) -> None:
    from .. import queues

    if deliveries:
        with db.transaction() as s:
            enqueueing.enqueue_queued(s, s.get(Notice, notice_id))  # type: ignore[arg-type]
    queues.publish_banner_soon()


@bp.post("/<int:notice_id>/resend")
@require("send")
def resend(notice_id: int) -> Any:
    """Send those who did not get the notice the same notice by another channel they have."""
    target = request.form.get("to", "")
    try:
        if target not in CHANNELS:
            raise tracking.ResendError(_("Choose the delivery channel to send it by."))
        with db.transaction() as s:
            created = tracking.resend(s, notice_id, target, audit.actor())
        if created:
            _enqueue(notice_id, True)
        flash(ngettext("%(num)d person who did not get it gets it by %(channel)s now.",
                       "%(num)d people who did not get it get it by %(channel)s now.", created,
                       channel=vocabulary.name(vocabulary.CHANNEL, target)) if created else
              _("Nobody who missed it can get it by %(channel)s: they have no subscription "
                "there, or had it there already.",
                channel=vocabulary.name(vocabulary.CHANNEL, target)),
              "ok" if created else "warn")
    except NotifierError as exc:
        flash(str(exc), "error")
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.get("/<int:notice_id>/missed.csv")
@require("view")
def missed_csv(notice_id: int) -> Response:
    """Export who did not get the notice and why (the current search), for Excel."""
    n = _notice(notice_id)
    search, channel = request.args.get("q", ""), request.args.get("channel", "")
    header = [_("name"), _("delivery channel"), _("address"), _("language"), _("status"),
              _("why"), _("provider code"), _("when (Swedish time)"), _("other channels")]

    def rows(s: Any) -> Iterator[list[str]]:
        for m in tracking.all_missed(s, n.id, search, channel):
            yield [m.name, vocabulary.name(vocabulary.CHANNEL, m.channel), m.address,
                   vocabulary.name(vocabulary.LANGUAGE, m.language),
                   vocabulary.name(vocabulary.STATUS, m.status), m.reason, m.code or "",
                   clock.local(m.at, seconds=True, empty=""),
                   ", ".join(vocabulary.name(vocabulary.CHANNEL, c) for c in m.others)]
    return csv_response(f"notice-{n.id}-missed.csv", header, rows)
