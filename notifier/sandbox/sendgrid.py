"""Simulator of SendGrid's v3 Mail Send endpoint."""
from __future__ import annotations

import math
import re
import secrets
import time
from typing import Any, cast

from flask import Blueprint, Response, current_app, jsonify, request

from .callbacks import SENDGRID_BOUNCE, Courier, sendgrid_event
from .state import Fault, SandboxState

bp = Blueprint("sandbox_sendgrid", __name__, url_prefix="/v3")

MAX_PERSONALIZATIONS = 1000
MAX_BYTES = 30 * 1024 * 1024
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REQUEST_FAULTS = ("error_5xx", "rate_limit", "timeout")
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"


class Refusal(Exception):
    """A reason to refuse the whole request with a 400."""

    def __init__(self, message: str, field: str | None, anchor: str) -> None:
        super().__init__(message)
        self.message, self.field, self.anchor = message, field, anchor


def errors(status: int, message: str, field: str | None = None, help_: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    """Answer with SendGrid's error body."""
    resp = jsonify({"errors": [{"message": message, "field": field, "help": help_}]})
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def _state() -> SandboxState:
    return current_app.extensions["sandbox"]  # type: ignore[no-any-return]


def _auth_error() -> Response | None:
    key = current_app.config["SANDBOX_CREDENTIALS"]["sendgrid"]["api_key"]
    if request.headers.get("Authorization", "") != f"Bearer {key}":
        return errors(401, "The provided authorization grant is invalid, expired, or revoked")
    return None


def _need(cond: bool, message: str, field: str | None, anchor: str) -> None:
    if not cond:
        raise Refusal(message, field, anchor)


def _check_addresses(body: dict[str, Any], bad: set[str]) -> None:
    for i, pers in enumerate(body["personalizations"]):
        _need(isinstance(pers, dict) and bool(pers.get("to")), "The to array is required for all "
              "personalization objects, and must have at least one email object with a valid "
              "email address.", f"personalizations.{i}.to", "message.personalizations.to")
        for j, rcpt in enumerate(pers["to"]):
            email = rcpt.get("email", "") if isinstance(rcpt, dict) else ""
            _need(bool(ADDRESS.match(email)) and email not in bad,
                  "Does not contain a valid address.", f"personalizations.{i}.to.{j}.email",
                  "message.personalizations.to")


def validate(body: Any, bad: set[str]) -> None:
    """Refuse a request body the real endpoint would refuse (first problem only)."""
    _need(isinstance(body, dict), "Bad Request", None, "message")
    pers = body.get("personalizations")
    _need(isinstance(pers, list) and len(pers) > 0, "The personalizations field is required and "
          "must have at least one personalization.", "personalizations", "message.personalizations")
    _need(len(pers) <= MAX_PERSONALIZATIONS, "The personalizations field must have at most "
          f"{MAX_PERSONALIZATIONS} items.", "personalizations", "message.personalizations")
    sender = body.get("from")
    _need(isinstance(sender, dict) and bool(ADDRESS.match(sender.get("email", ""))),
          "The from email does not contain a valid address.", "from.email", "message.from")
    _need(bool(body.get("subject")) or all(p.get("subject") for p in pers if isinstance(p, dict)),
          "The subject is required. You can get around this requirement if you use a template "
          "with a subject defined or if every personalization has a subject defined.", "subject",
          "message.subject")
    content = body.get("content")
    _need(isinstance(content, list) and len(content) > 0 and all(
        isinstance(c, dict) and c.get("type") and c.get("value") for c in content),
        "Unless a valid template_id is provided, the content parameter is required. There must be "
        "at least one defined content block.", "content", "message.content")
    _check_addresses(body, bad)


def _recipients(body: dict[str, Any]) -> list[str]:
    return [r.get("email", "") for p in body["personalizations"] for r in p.get("to", [])
            if isinstance(r, dict)]


def _fault_response(fault: Fault) -> Response | None:
    if fault.kind == "timeout":
        time.sleep(fault.seconds)
        return errors(503, "Service Unavailable")
    if fault.kind == "error_5xx":
        return errors(500, "Internal server error")
    if fault.kind == "rate_limit":
        wait = math.ceil(fault.retry_after)
        return errors(429, "too many requests", headers={
            "Retry-After": str(wait), "X-RateLimit-Reset": str(int(time.time()) + wait)})
    return None  # invalid is handled as a bad address; blocked/unsubscribed suppress


def _record(body: dict[str, Any], message_id: str, suppressed: set[str]) -> None:
    content = {c["type"]: c["value"] for c in body["content"]}
    for pers in body["personalizations"]:
        args = {**body.get("custom_args", {}), **pers.get("custom_args", {})}
        headers = {**body.get("headers", {}), **pers.get("headers", {})}
        for rcpt in pers["to"]:
            if rcpt["email"] in suppressed:
                continue  # SendGrid accepts and then drops suppressed recipients
            _state().record(
                channel="email", to=rcpt["email"], sender=body["from"]["email"],
                subject=pers.get("subject") or body.get("subject"),
                body=content.get("text/plain", ""), html=content.get("text/html"),
                language=args.get("language"), custom_args=args, provider_id=message_id,
                meta={"headers": headers} if headers else {})


def _fault_sets(recipients: list[str]) -> tuple[Fault | None, set[str], dict[str, str]]:
    """Draw a request-level fault, the recipients faulted as invalid, and the suppressed ones."""
    bad: set[str] = set()
    suppressed: dict[str, str] = {}  # address -> fault kind
    fault = _state().draw_fault("email", recipients, REQUEST_FAULTS)
    if fault is not None:
        return fault, bad, suppressed
    for address in recipients:
        fault = _state().draw_fault("email", [address], ("invalid", "blocked", "unsubscribed"))
        if fault is not None and fault.kind == "invalid":
            bad.add(address)
        elif fault is not None:
            suppressed[address] = fault.kind
    return None, bad, suppressed


def _events(body: dict[str, Any], message_id: str, suppressed: dict[str, str]) -> None:
    """Post what became of each recipient to the event webhook, as SendGrid does later."""
    courier: Courier = current_app.extensions["sandbox.courier"]
    if courier.event_webhook is None:
        return
    events = []
    for pers in body["personalizations"]:
        args = {**body.get("custom_args", {}), **pers.get("custom_args", {})}
        for email in (r["email"] for r in pers["to"]):
            if email in suppressed:
                reason = "Unsubscribed Address" if suppressed[email] == "unsubscribed" \
                    else "Bounced Address"
                events.append(sendgrid_event("dropped", email, message_id, args, reason=reason))
                continue
            events.append(sendgrid_event("processed", email, message_id, args))
            if _state().draw_fault("email", [email], ("undeliverable",)) is not None:
                events.append(sendgrid_event("bounce", email, message_id, args, **SENDGRID_BOUNCE))
            else:
                events.append(sendgrid_event("delivered", email, message_id, args))
    courier.sendgrid_events(events)


@bp.post("/mail/send")
def mail_send() -> Response:
    """Accept (202) or refuse a mail send request, as SendGrid would."""
    refused = _auth_error()
    if refused is not None:
        return refused
    if (request.content_length or 0) > MAX_BYTES:
        return errors(413, "Payload Too Large")
    body = request.get_json(silent=True)
    recipients = _recipients(body) if isinstance(body, dict) and isinstance(
        body.get("personalizations"), list) else []
    fault, bad, suppressed = _fault_sets(recipients or [""])
    if fault is not None:
        resp = _fault_response(fault)
        if resp is not None:
            return resp
    try:
        validate(body, bad)
    except Refusal as exc:
        return errors(400, exc.message, exc.field, f"{HELP}#{exc.anchor}")
    message_id = secrets.token_urlsafe(16)
    _record(cast(dict[str, Any], body), message_id, set(suppressed))  # validate() checked it
    _events(cast(dict[str, Any], body), message_id, suppressed)
    resp = Response(status=202)
    resp.headers["X-Message-Id"] = message_id
    return resp


SANDBOX_SCOPES = ("mail.send", "user.profile.read")


@bp.get("/scopes")
def scopes() -> Response:
    """List the API key's scopes, as SendGrid's GET /v3/scopes does (a readiness check)."""
    refused = _auth_error()
    if refused is not None:
        return refused
    return jsonify({"scopes": list(SANDBOX_SCOPES)})
