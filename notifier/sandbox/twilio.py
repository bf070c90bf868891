"""Simulator of Twilio's Programmable Messaging API (2010-04-01 Messages resource)."""
from __future__ import annotations

import math
import re
import secrets
import time
from email.utils import formatdate
from typing import Any

import phonenumbers
from flask import Blueprint, Response, current_app, jsonify, request

from notifier.library.smsencoding import analyse

from .callbacks import Courier
from .state import REQUEST_FAULT_KINDS, Fault, SandboxState

bp = Blueprint("sandbox_twilio", __name__, url_prefix="/2010-04-01")

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BODY = 1600

# Twilio's documented magic test numbers, so tests can hit each error without faults.
MAGIC_NUMBERS = {"+15005550001": 21211, "+15005550004": 21610, "+15005550009": 21614}

ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    20503: (503, "Service Unavailable"),
    21211: (400, "Invalid 'To' Phone Number"),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21635: (400, "'To' number cannot be a landline"),
}
FAULT_CODES = {"error_5xx": 20500, "rate_limit": 20429, "invalid": 21211, "blocked": 21610,
               "unsubscribed": 21610, "not_mobile": 21614, "landline": 21635}


def num_segments(body: str) -> int:
    """Count SMS segments as Twilio bills them (GSM-7 160/153, UCS-2 70/67)."""
    return analyse(body).segments


def error(code: int, headers: dict[str, str] | None = None, *, to: str = "",
          problem: bool = False) -> Response:
    """Answer with Twilio's legacy error body (or its RFC-9457 problem body)."""
    status, message = ERRORS[code]
    if code == 21211 and to:
        message = f"The 'To' number {to} is not a valid phone number."  # the real text has it
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    body = {"type": more_info, "title": message, "status": status, "code": code} if problem \
        else {"code": code, "message": message, "more_info": more_info, "status": status}
    resp = jsonify(body)
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def _state() -> SandboxState:
    return current_app.extensions["sandbox"]  # type: ignore[no-any-return]


def _auth_error(account_sid: str) -> Response | None:
    auth = request.authorization
    token = current_app.config["SANDBOX_CREDENTIALS"]["twilio"]["auth_token"]
    if auth is None or auth.username != account_sid or auth.password != token:
        return error(20003, {"WWW-Authenticate": 'Basic realm="Twilio API"'})
    return None


def _recipient_error(to: str) -> int | None:
    if to in MAGIC_NUMBERS:
        return MAGIC_NUMBERS[to]
    if not E164.match(to):
        return 21211
    try:
        number = phonenumbers.parse(to)
    except phonenumbers.NumberParseException:
        return 21211
    if not phonenumbers.is_possible_number(number):
        return 21211
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE:
        return 21635
    return None


def _request_error(form: dict[str, str]) -> Response | None:
    to = form.get("To", "")
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return error(21603)
    if not form.get("Body"):
        return error(21602)
    if len(form["Body"]) > MAX_BODY:
        return error(21617)
    code = _recipient_error(to)
    return error(code, to=to) if code else None


def _fault_response(fault: Fault, to: str) -> Response:
    if fault.kind == "timeout":
        time.sleep(fault.seconds)
        return error(20503)
    headers = {"Retry-After": str(math.ceil(fault.retry_after))} \
        if fault.kind == "rate_limit" else None
    return error(FAULT_CODES[fault.kind], headers, to=to, problem=fault.problem)


def _resource(account_sid: str, form: dict[str, str], sid: str) -> dict[str, Any]:
    now = formatdate(usegmt=False).replace("-0000", "+0000")
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
    return {
        "account_sid": account_sid, "api_version": "2010-04-01", "body": form["Body"],
        "date_created": now, "date_sent": None, "date_updated": now,
        "direction": "outbound-api", "error_code": None, "error_message": None,
        "from": form.get("From") or None, "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0", "num_segments": str(num_segments(form["Body"])),
        "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"}, "to": form["To"], "uri": f"{uri}.json",
    }


@bp.post("/Accounts/<account_sid>/Messages.json")
def create_message(account_sid: str) -> Response:
    """Accept or refuse one outbound message, as Twilio would."""
    if not ACCOUNT_SID.match(account_sid):
        return error(20404)
    refused = _auth_error(account_sid)
    if refused is not None:
        return refused
    form = request.form.to_dict()
    refused = _request_error(form)
    if refused is not None:
        return refused
    fault = _state().draw_fault("sms", [form["To"]], REQUEST_FAULT_KINDS)
    if fault is not None:
        return _fault_response(fault, form["To"])
    sid = "SM" + secrets.token_hex(16)
    body = _resource(account_sid, form, sid)
    _state().record(channel="sms", to=form["To"], sender=body["from"] or body["messaging_service_sid"],
                    body=form["Body"], provider_id=sid, meta={
                        "status_callback": form.get("StatusCallback"),
                        "validity_period": form.get("ValidityPeriod"),
                        "num_segments": int(body["num_segments"])})
    if form.get("StatusCallback"):
        _call_back(form, body)
    resp = jsonify(body)
    resp.status_code = 201
    return resp


def _call_back(form: dict[str, str], resource: dict[str, Any]) -> None:
    """Report the message's fate to its StatusCallback, signed as Twilio signs it."""
    courier: Courier = current_app.extensions["sandbox.courier"]
    undeliverable = _state().draw_fault("sms", [form["To"]], ("undeliverable",)) is not None
    sender = {"MessagingServiceSid": form["MessagingServiceSid"]} \
        if form.get("MessagingServiceSid") else {}
    message = {"AccountSid": resource["account_sid"], "ApiVersion": "2010-04-01",
               "MessageSid": resource["sid"], "SmsSid": resource["sid"],
               "From": resource["from"] or "", "To": form["To"], **sender}
    token = current_app.config["SANDBOX_CREDENTIALS"]["twilio"]["auth_token"]
    courier.twilio_status(form["StatusCallback"], token, message, undeliverable)


@bp.get("/Accounts/<account_sid>.json")
def fetch_account(account_sid: str) -> Response:
    """Answer Twilio's account fetch (what a readiness check calls: harmless, no message)."""
    if not ACCOUNT_SID.match(account_sid):
        return error(20404)
    refused = _auth_error(account_sid)
    if refused is not None:
        return refused
    now = formatdate(usegmt=False).replace("-0000", "+0000")
    uri = f"/2010-04-01/Accounts/{account_sid}"
    return jsonify({
        "sid": account_sid, "owner_account_sid": account_sid,
        "friendly_name": "Notifier sandbox account", "status": "active", "type": "Full",
        "date_created": now, "date_updated": now, "uri": f"{uri}.json",
        "subresource_uris": {"messages": f"{uri}/Messages.json"}})
