"""The monitoring webhook: Alertmanager's payload, or a small generic JSON, opens draft incidents."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from ... import alertrules, alerts, db, oncall
from .problems import Problem, answer_problems, needs, who

blp = Blueprint("alerts", __name__, url_prefix="/api/v1/alerts",
                description="Monitoring alerts in: a draft incident awaiting one human click")
answer_problems(blp)
MAX_BYTES = 1024 * 1024


class OutcomeOut(ma.Schema):
    fingerprint = ma.fields.String()
    result = ma.fields.String(metadata={"description": "draft | duplicate | no_rule | "
                                                      "all_clear_proposed | withdrawn | ignored"})
    incident_id = ma.fields.Integer(allow_none=True)
    proposal_id = ma.fields.Integer(allow_none=True)
    drill_notice_id = ma.fields.Integer(allow_none=True)


class ReceivedOut(ma.Schema):
    received = ma.fields.Integer()
    outcomes = ma.fields.List(ma.fields.Nested(OutcomeOut))


ALERTMANAGER_BODY = {"content": {"application/json": {"schema": {
    "type": "object", "required": ["alerts"],
    "description": "Prometheus Alertmanager's webhook payload (version 4)",
    "properties": {
        "version": {"type": "string"}, "status": {"type": "string"},
        "receiver": {"type": "string"}, "groupKey": {"type": "string"},
        "commonLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "alerts": {"type": "array", "maxItems": alerts.MAX_ALERTS, "items": {
            "type": "object", "required": ["status"],
            "properties": {
                "status": {"enum": ["firing", "resolved"]},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                "fingerprint": {"type": "string"},
                "startsAt": {"type": "string"}, "endsAt": {"type": "string"}}}}}}}},
    "required": True}
GENERIC_BODY = {"content": {"application/json": {"schema": {
    "type": "object", "required": ["labels"],
    "properties": {
        "status": {"enum": ["firing", "resolved"], "default": "firing"},
        "labels": {"type": "object", "minProperties": 1,
                   "additionalProperties": {"type": "string", "maxLength": alerts.MAX_TEXT}},
        "summary": {"type": "string", "maxLength": alerts.MAX_TEXT},
        "fingerprint": {"type": "string", "maxLength": alerts.MAX_TEXT}}}}},
    "required": True}


def _body() -> Any:
    if (request.content_length or 0) > MAX_BYTES:
        raise Problem(413, "too-large", "The payload is too large",
                      f"Send at most {MAX_BYTES // 1024} KiB per request.")
    body = request.get_json(silent=True)
    if body is None:
        raise Problem(400, "not-json", "The body is not JSON",
                      "Send Content-Type: application/json with a JSON object.")
    return body


def _receive(parsed: list[alerts.AlertIn]) -> dict[str, Any]:
    rules = alertrules.load(current_app.config.get("ALERT_RULES"))
    outcomes = []
    for alert in parsed:
        for attempt in (1, 2):
            try:
                with db.transaction() as s:
                    outcome = alerts.receive(s, alert, rules, who())
                break
            except IntegrityError:  # the same alert arrived twice at once: the retry sees it
                if attempt == 2:
                    raise
        outcome = oncall.after_alert(outcome, alert, rules, who())
        outcomes.append(outcome.__dict__)
    return {"received": len(parsed), "outcomes": outcomes}


def _parsed(parse: Any) -> list[alerts.AlertIn]:
    try:
        return list(parse(_body()))
    except alerts.AlertError as exc:
        raise Problem(422, "alert-payload", "The alert payload cannot be read", str(exc)) from None


@blp.post("/alertmanager")
@blp.doc(requestBody=ALERTMANAGER_BODY)
@blp.response(202, ReceivedOut)
@needs("send")
def alertmanager() -> dict[str, Any]:
    """Receive Prometheus Alertmanager's webhook: each firing alert may open a draft incident."""
    return _receive(_parsed(alerts.parse_alertmanager))


@blp.post("/generic")
@blp.doc(requestBody=GENERIC_BODY)
@blp.response(202, ReceivedOut)
@needs("send")
def generic() -> dict[str, Any]:
    """Receive one alert as a small JSON object from any monitoring system."""
    return _receive(_parsed(alerts.parse_generic))
