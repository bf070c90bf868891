"""A simulated phone call to the status line, as Twilio would place it on the voice webhook.

The control API's POST /sandbox/twilio/calls posts a signed "call comes in" to the given URL,
reads the TwiML answer (every <Say>, the <Gather>), and, when a key is to be pressed, posts
the Digits to the <Gather>'s action. Only loopback URLs are called: nothing leaves the machine.
"""
from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urljoin

import httpx
from flask import Blueprint, Response, current_app, jsonify, request
from twilio.request_validator import RequestValidator

from .callbacks import is_loopback

bp = Blueprint("sandbox_voice", __name__, url_prefix="/sandbox")
MAX_STEPS = 3


def _signed_post(http: httpx.Client, url: str, form: dict[str, str]) -> ET.Element:
    token = current_app.config["SANDBOX_CREDENTIALS"]["twilio"]["auth_token"]
    signature = RequestValidator(token).compute_signature(url, form)
    resp = http.post(url, data=form, headers={"X-Twilio-Signature": signature})
    resp.raise_for_status()
    return ET.fromstring(resp.content)


def _said(twiml: ET.Element) -> list[dict[str, str]]:
    return [{"language": el.get("language", ""), "text": (el.text or "").strip()}
            for el in twiml.iter("Say")]


def play(url: str, caller: str, callee: str, press: str | None) -> list[dict[str, str]]:
    """Place the call; return what the caller hears, in order."""
    account = current_app.config["SANDBOX_CREDENTIALS"]["twilio"]["account_sid"]
    form = {"CallSid": "CA" + secrets.token_hex(16), "AccountSid": account, "From": caller,
            "To": callee, "CallStatus": "in-progress", "Direction": "inbound",
            "ApiVersion": "2010-04-01"}
    heard: list[dict[str, str]] = []
    with httpx.Client(timeout=10) as http:
        twiml = _signed_post(http, url, form)
        heard += _said(twiml)
        gather = twiml.find("Gather")
        if press and gather is not None and gather.get("action"):
            action = urljoin(url, gather.get("action", ""))
            if is_loopback(action):
                heard += _said(_signed_post(http, action, {**form, "Digits": press}))
    return heard


@bp.post("/twilio/calls")
def call() -> Response | tuple[Response, int]:
    """Simulate a call: {"url": voice webhook, "from": caller, "to": number, "press": "1"}."""
    body: Any = request.get_json(silent=True)
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return jsonify({"error": 'send {"url": "http(s)://.../webhooks/twilio/voice"}'}), 400
    if not is_loopback(url):
        return jsonify({"error": "the sandbox calls only this machine (a loopback URL)"}), 400
    try:
        heard = play(url, str(body.get("from") or "+46701740699"),
                     str(body.get("to") or "+46812345678"), body.get("press") or None)
    except (httpx.HTTPError, ET.ParseError) as exc:
        return jsonify({"error": f"the voice webhook did not answer with TwiML: {exc}"}), 502
    return jsonify({"transcript": heard, "sandbox": True})
