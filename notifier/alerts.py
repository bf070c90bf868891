"""Monitoring alerts in: Alertmanager's webhook or a small generic JSON, turned into draft incidents.

Each alert is remembered by its source's fingerprint, so Alertmanager's repeats change nothing.
A firing alert that matches a rule opens a draft incident proposing the contact channels down
(those named, and every one depending on the failed dependency) and the rule's template; a
resolved one proposes the all-clear (or withdraws a draft nobody confirmed). Payloads are capped
in size and count before anything is stored.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, contacts, dispatch, drafts, library
from .alertrules import NAME_LABELS, Rule, RuleSet
from .clock import utcnow
from .errors import NotifierError
from .models import Alert, Incident

MAX_ALERTS = 200
MAX_LABELS = 64
MAX_TEXT = 1024


class AlertError(NotifierError):
    """An alert payload cannot be read."""


@dataclass(frozen=True)
class AlertIn:
    """One alert as received: where from, its identity, firing or resolved, and its labels."""

    source: str
    fingerprint: str
    status: str
    labels: Mapping[str, str]
    summary: str = ""


@dataclass(frozen=True)
class Outcome:
    """What receiving one alert did."""

    fingerprint: str
    result: str  # draft | duplicate | no_rule | all_clear_proposed | withdrawn | ignored
    incident_id: int | None = None
    proposal_id: int | None = None
    drill_notice_id: int | None = None


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise AlertError(f"{where} must be a string of at most {MAX_TEXT} characters.")
    return value


def _labels(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_LABELS:
        raise AlertError(f"{where} must be an object of at most {MAX_LABELS} string labels.")
    return {_text(k, where): _text(v, f"{where}.{k}") for k, v in raw.items()}


def _status(value: Any, where: str) -> str:
    if value not in ("firing", "resolved"):
        raise AlertError(f"{where} must be \"firing\" or \"resolved\", not {value!r}.")
    return str(value)


def fingerprint_of(labels: Mapping[str, str]) -> str:
    """Return a stable identity for an alert that brings none: a digest of its labels."""
    return hashlib.sha256(json.dumps(dict(sorted(labels.items()))).encode()).hexdigest()[:32]


def parse_alertmanager(body: Any) -> list[AlertIn]:
    """Read Alertmanager's webhook payload (version 4): one AlertIn per alert."""
    if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
        raise AlertError("Not an Alertmanager webhook payload: expected an object with `alerts` "
                         "(a list), as Alertmanager's webhook_config sends.")
    if len(body["alerts"]) > MAX_ALERTS:
        raise AlertError(f"At most {MAX_ALERTS} alerts per request: set max_alerts in "
                         "Alertmanager's webhook_config.")
    common = _labels(body.get("commonLabels"), "commonLabels")
    found = []
    for i, raw in enumerate(body["alerts"]):
        where = f"alerts[{i}]"
        if not isinstance(raw, dict):
            raise AlertError(f"{where} must be an object.")
        labels = {**common, **_labels(raw.get("labels"), f"{where}.labels")}
        annotations = _labels(raw.get("annotations"), f"{where}.annotations")
        fp = raw.get("fingerprint")
        fp = _text(fp, f"{where}.fingerprint")[:128] if fp else fingerprint_of(labels)
        found.append(AlertIn("alertmanager", fp, _status(raw.get("status"), f"{where}.status"),
                             labels, annotations.get("summary", "")))
    return found


def parse_generic(body: Any) -> list[AlertIn]:
    """Read the generic payload: {"status": "firing", "labels": {...}, "summary": "..."}."""
    if not isinstance(body, dict):
        raise AlertError('Expected an object like {"status": "firing", "labels": '
                         '{"alertname": "..."}, "summary": "...", "fingerprint": "..."}.')
    labels = _labels(body.get("labels"), "labels")
    if not labels:
        raise AlertError("labels must name the alert, e.g. {\"alertname\": \"PhonesDown\"}.")
    fp = body.get("fingerprint")
    fp = _text(fp, "fingerprint")[:128] if fp else fingerprint_of(labels)
    summary = _text(body.get("summary", ""), "summary")
    return [AlertIn("generic", fp, _status(body.get("status", "firing"), "status"), labels, summary)]


def proposed_down(s: Session, rule: Rule, labels: Mapping[str, str]) -> dict[str, str]:
    """Return the contact channels to propose down: those named and those on the failed dependency."""
    keys = list(rule.contacts_down)
    for dependency in [rule.dependency, *(labels.get(n) for n in NAME_LABELS)]:
        if dependency:
            keys += [c.key for c in contacts.depending_on(s, dependency)]
    known = {c.key for c in contacts.all_contacts(s)}
    return {k: "down" for k in dict.fromkeys(keys) if k in known}


def suggested_values(s: Session, template: str, given: Mapping[str, Any],
                     states: Mapping[str, str]) -> dict[str, Any]:
    """Fill a template's variables: the rule's values, the working contact channels, defaults."""
    try:
        spec = library.parse_spec(dispatch.approved_version(s, template).content)
    except NotifierError:
        return dict(given)  # confirming says what is missing; the draft is still worth having
    working = [c.key for c in contacts.all_contacts(s)
               if states.get(c.key, c.state) == "up" and contacts.href(c.kind, c.value)]
    values: dict[str, Any] = {}
    for var in spec.variables:
        if var.name in given:
            values[var.name] = given[var.name]
        elif var.type == "contacts":
            values[var.name] = working[:3]
        elif var.default is not None:
            values[var.name] = list(var.default) if isinstance(var.default, tuple) else var.default
    return values


def _remember(s: Session, alert: AlertIn, rule: Rule | None) -> tuple[Alert, str | None]:
    """Store or update the alert; return it with its previous status (None: new)."""
    row = s.scalar(select(Alert).where(Alert.source == alert.source,
                                       Alert.fingerprint == alert.fingerprint)
                   .with_for_update())
    if row is None:
        row = Alert(source=alert.source, fingerprint=alert.fingerprint, status=alert.status,
                    rule=rule.name if rule else "", labels=dict(alert.labels))
        s.add(row)
        s.flush()
        return row, None
    previous = row.status
    row.status, row.updated_at, row.times_seen = alert.status, utcnow(), row.times_seen + 1
    return row, previous


def _firing(s: Session, alert: AlertIn, rule: Rule, row: Alert, who: str) -> Outcome:
    states = proposed_down(s, rule, alert.labels)
    values = suggested_values(s, rule.template, rule.values, states)
    reason = alert.summary or f"Alert {alert.labels.get('alertname', rule.name)} is firing."
    proposal = drafts.open_draft(s, alert.summary or reason, who, drafts.Suggestion(
        "open", rule.template, values, states, rule.segments, reason=reason))
    row.incident_id = proposal.incident_id
    return Outcome(alert.fingerprint, "draft", proposal.incident_id, proposal.id)


def _resolved(s: Session, alert: AlertIn, rule: Rule, row: Alert, who: str) -> Outcome:
    incident = s.get(Incident, row.incident_id) if row.incident_id else None
    if incident is None:
        return Outcome(alert.fingerprint, "ignored")
    if incident.state == "draft":
        for proposal in drafts.waiting(s, incident.id):
            proposal.state, proposal.decided_at, proposal.decided_by = "dismissed", utcnow(), who
        incident.state = "dismissed"
        audit.record(s, "incident.withdraw", f"incident:{incident.id}", who=who)
        return Outcome(alert.fingerprint, "withdrawn", incident.id)
    if incident.state != "open":
        return Outcome(alert.fingerprint, "ignored", incident.id)
    down = proposed_down(s, rule, alert.labels)
    values = suggested_values(s, rule.all_clear_template, rule.all_clear_values, {})
    proposal = drafts.propose(s, incident, drafts.Suggestion(
        "all_clear", rule.all_clear_template, values, {k: "up" for k in down},
        reason=alert.summary or "The alert is resolved."))
    return Outcome(alert.fingerprint, "all_clear_proposed", incident.id, proposal.id)


def receive(s: Session, alert: AlertIn, rules: RuleSet, who: str) -> Outcome:
    """Record one alert and propose what it means; a repeat of the same state does nothing."""
    rule = rules.first(alert.labels)
    row, previous = _remember(s, alert, rule)
    if previous == alert.status:
        return Outcome(alert.fingerprint, "duplicate", row.incident_id)
    if rule is None:
        return Outcome(alert.fingerprint, "no_rule")
    row.rule = rule.name
    if alert.status == "firing":
        return _firing(s, alert, rule, row, who)
    return _resolved(s, alert, rule, row, who)
