"""The incident report for the continuity review: what was sent when, by whom, to how many.

Built from the per-notice totals (`totals.of_notice`), which outlive any later pruning or
erasure of deliveries, so a report reads the same a year later. A drill's report says so.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import auditlog, clock, reasons, totals, vocabulary
from .errors import NotifierError
from .i18n import gettext as _
from .models import Delivery, Incident, Notice, NoticeTotal, Subscriber, Subscription, utcnow

OUT = ("sent", "delivered", "undelivered")  # left for the provider
OPEN = ("queued", "sending", "retry_wait")


class ReportError(NotifierError):
    """No report can be made as asked."""


@dataclass(frozen=True)
class Line:
    """One notice on one delivery channel: how many, how fast, and what failed why."""

    channel: str
    counts: dict[str, int]
    failures: list[tuple[str, int]]
    first_sent_at: datetime | None
    reached: dict[str, datetime | None]  # "50", "90", "100" -> when that share had gone out

    @property
    def total(self) -> int:
        """Count every delivery planned on the channel."""
        return sum(self.counts.values())

    def count(self, *statuses: str) -> int:
        """Count the deliveries in these statuses."""
        return sum(self.counts.get(st, 0) for st in statuses)


@dataclass(frozen=True)
class NoticeReport:
    """One notice of the incident with its lines."""

    notice: Notice
    started_at: datetime
    lines: list[Line]

    def after(self, moment: datetime | None) -> timedelta | None:
        """Return how long after the notice started a moment came."""
        return None if moment is None else max(timedelta(0), moment - self.started_at)


@dataclass(frozen=True)
class Report:
    """Everything the continuity review reads about one incident."""

    incident: Incident
    notices: list[NoticeReport]
    made_at: datetime = field(default_factory=utcnow)

    @property
    def drill(self) -> bool:
        """Tell whether the incident was a drill."""
        return self.incident.drill


def _line(total: NoticeTotal) -> Line:
    failures: dict[str, int] = {}
    for key, n in (total.failures or {}).items():
        code, _sep, error = str(key).partition(": ")
        why = reasons.explain(total.channel, "failed", None if code == "-" else code, error)
        failures[why] = failures.get(why, 0) + int(n)
    return Line(total.channel, {k: int(v) for k, v in (total.counts or {}).items()},
                sorted(failures.items(), key=lambda kv: -kv[1]), total.first_sent_at,
                {"50": total.half_at, "90": total.most_at, "100": total.all_at})


def build(s: Session, incident_id: int) -> Report:
    """Collect the report of an incident from its notices' totals."""
    incident = s.get(Incident, incident_id)
    if incident is None:
        raise ReportError(f"No incident {incident_id}: `notifier status` lists the open ones.")
    notices = []
    for notice in incident.notices:
        lines = [_line(t) for t in totals.of_notice(s, notice.id).values()]
        notices.append(NoticeReport(notice, notice.scheduled_at or notice.created_at, lines))
    return Report(incident, notices)


def _duration(delta: timedelta | None) -> str:
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def header() -> list[str]:
    """Return the column names of the report CSV, in the current language."""
    return [_("incident"), _("drill"), _("notice"), _("kind"), _("template"), _("confirmed by"),
            _("started (Swedish time)"), _("delivery channel"), _("deliveries"), _("sent"),
            _("delivered"), _("failed"), _("undelivered"), _("skipped"), _("cancelled"),
            _("still open"), _("first sent"), _("50 per cent sent after"),
            _("90 per cent sent after"), _("100 per cent sent after"), _("why not delivered")]


def rows(report: Report) -> Iterator[list[object]]:
    """Yield one CSV row per notice x delivery channel."""
    for part in report.notices:
        n = part.notice
        for line in part.lines:
            yield [report.incident.id, _("yes") if report.drill else _("no"), n.id,
                   vocabulary.name(vocabulary.KIND, n.kind), n.template_key,
                   auditlog.who(n.created_by), clock.local(part.started_at, seconds=True),
                   vocabulary.name(vocabulary.CHANNEL, line.channel), line.total,
                   line.count(*OUT), line.count("delivered"), line.count("failed"),
                   line.count("undelivered"), line.count("skipped"), line.count("cancelled"),
                   line.count(*OPEN), clock.local(line.first_sent_at, seconds=True, empty=""),
                   *(_duration(part.after(line.reached[k])) for k in ("50", "90", "100")),
                   "; ".join(f"{why}: {count}" for why, count in line.failures)]


def recipients_header() -> list[str]:
    """Return the column names of the per-recipient CSV."""
    return [_("notice"), _("delivery channel"), _("name"), _("address"), _("language"),
            _("status"), _("why not delivered"), _("sent (Swedish time)"),
            _("delivered (Swedish time)")]


def recipients(s: Session, incident_id: int) -> Iterator[list[object]]:
    """Yield one row per delivery of the incident's notices (while the details are kept)."""
    notice_ids = select(Notice.id).where(Notice.incident_id == incident_id)
    query = (select(Delivery, Subscriber.name)
             .outerjoin(Subscription, Subscription.id == Delivery.subscription_id)
             .outerjoin(Subscriber, Subscriber.id == Subscription.subscriber_id)
             .where(Delivery.notice_id.in_(notice_ids))
             .order_by(Delivery.notice_id, Delivery.channel, Delivery.id)
             .execution_options(yield_per=1000))
    for d, name in s.execute(query):
        missed = d.status in ("failed", "undelivered", "skipped", "cancelled")
        yield [d.notice_id, vocabulary.name(vocabulary.CHANNEL, d.channel), name or "",
               d.address, d.language, vocabulary.name(vocabulary.STATUS, d.status),
               reasons.explain(d.channel, d.status, d.error_code, d.error) if missed else "",
               clock.local(d.sent_at, seconds=True, empty=""),
               clock.local(d.delivered_at, seconds=True, empty="")]
