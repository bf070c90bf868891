"""Simulator of the Telegram Bot API methods the notifier uses (updates come from the control API)."""
from __future__ import annotations

import html
import json
import math
import re
import time
from html.parser import HTMLParser
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from .state import REQUEST_FAULT_KINDS, Fault, SandboxState

bp = Blueprint("sandbox_telegram", __name__)

TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
CHAT_ID = re.compile(r"^(-?\d+|@[A-Za-z][A-Za-z0-9_]{3,31})$")
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
                "a", "tg-emoji", "code", "pre", "blockquote"}
MAX_TEXT = 4096
# Telegram accepts only these named entities, numeric ones, and "<" only as a tag opener.
BAD_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
BAD_LESS_THAN = re.compile(r"<(?![a-zA-Z/])")


class EntityError(Exception):
    """Telegram could not parse the entities of an HTML text."""


class _TelegramHTML(HTMLParser):
    """Check a text against Telegram's HTML subset and collect its plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: list[str] = []

    def _offset(self) -> int:
        return self.getpos()[1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise EntityError(f'Unsupported start tag "{tag}" at byte offset {self._offset()}')
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise EntityError(f'Unexpected end tag at byte offset {self._offset()}')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _check_escapes(text: str) -> None:
    amp, lt = BAD_AMPERSAND.search(text), BAD_LESS_THAN.search(text)
    if amp is not None:
        offset = len(text[:amp.start()].encode())
        raise EntityError(f"Can't find end of the entity starting at byte offset {offset}")
    if lt is not None:
        offset = len(text[:lt.start()].encode())
        raise EntityError(f'Unsupported start tag "" at byte offset {offset}')


def plain_text(text: str, parse_mode: str | None) -> str:
    """Return what the recipient reads, or raise EntityError for bad HTML."""
    if (parse_mode or "").upper() != "HTML":
        return text
    _check_escapes(text)
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return html.unescape("".join(parser.text))


def fail(status: int, description: str, retry_after: float | None = None) -> Response:
    """Answer with the Bot API's error body."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": math.ceil(retry_after)}
    resp = jsonify(body)
    resp.status_code = status
    return resp


def ok(result: Any, description: str | None = None) -> Response:
    """Answer with the Bot API's success body."""
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return jsonify(body)


def _state() -> SandboxState:
    return current_app.extensions["sandbox"]  # type: ignore[no-any-return]


def _params() -> dict[str, Any]:
    params: dict[str, Any] = {**request.args.to_dict(), **request.form.to_dict()}
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        params.update(data)
    return params


def _bot_user(token: str) -> dict[str, Any]:
    return {"id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": "Notifier sandbox",
            "username": "notifier_sandbox_bot", "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False}


def _chat(chat_id: str) -> dict[str, Any]:
    if chat_id.startswith("@"):
        return {"id": -1000000000000 - abs(hash(chat_id)) % 10**9, "type": "channel",
                "title": chat_id[1:], "username": chat_id[1:]}
    number = int(chat_id)
    if number < 0:
        return {"id": number, "type": "group", "title": "Sandbox group"}
    return {"id": number, "type": "private", "first_name": "Sandbox", "last_name": "Recipient"}


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "timeout":
        time.sleep(fault.seconds)
        return fail(502, "Bad Gateway")
    return {
        "error_5xx": lambda: fail(500, "Internal Server Error"),
        "rate_limit": lambda: fail(429, f"Too Many Requests: retry after "
                                        f"{math.ceil(fault.retry_after)}", fault.retry_after),
        "invalid": lambda: fail(400, "Bad Request: chat not found"),
    }.get(fault.kind, lambda: fail(403, "Forbidden: bot was blocked by the user"))()


def _send_message(token: str, params: dict[str, Any]) -> Response:
    chat_id, text = str(params.get("chat_id", "")).strip(), params.get("text")
    if not chat_id:
        return fail(400, "Bad Request: chat_id is empty")
    if not text:
        return fail(400, "Bad Request: message text is empty")
    if not CHAT_ID.match(chat_id):
        return fail(400, "Bad Request: chat not found")
    try:
        plain = plain_text(str(text), params.get("parse_mode"))
    except EntityError as exc:
        return fail(400, f"Bad Request: can't parse entities: {exc}")
    if len(plain) > MAX_TEXT:
        return fail(400, "Bad Request: message is too long")
    fault = _state().draw_fault("telegram", [chat_id], REQUEST_FAULT_KINDS)
    if fault is not None:
        return _fault_response(fault)
    message_id = _state().next_id()
    meta: dict[str, Any] = {"parse_mode": params.get("parse_mode")}
    markup = _markup(params.get("reply_markup"))
    if markup is not None:
        meta["reply_markup"] = markup
    _state().record(channel="telegram", to=chat_id, sender=_bot_user(token)["username"],
                    body=plain, html=str(text) if params.get("parse_mode") else None,
                    provider_id=str(message_id), meta=meta)
    return ok({"message_id": message_id, "from": _bot_user(token), "chat": _chat(chat_id),
               "date": int(time.time()), "text": plain})


def _webhook(token: str, method: str, params: dict[str, Any]) -> Response:
    hooks = _state().webhooks
    if method == "setWebhook":
        if not str(params.get("url", "")).startswith("https://") and params.get("url"):
            return fail(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        hooks[token] = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
        return ok(True, "Webhook was set")
    if method == "deleteWebhook":
        existed = hooks.pop(token, None)
        return ok(True, "Webhook was deleted" if existed else "Webhook is already deleted")
    url = hooks.get(token, {}).get("url", "")
    return ok({"url": url, "has_custom_certificate": False, "pending_update_count": 0,
               **({"max_connections": 40} if url else {})})


def _markup(raw: Any) -> dict[str, Any] | None:
    """Read reply_markup as the SDK sends it (a JSON string in a form, or an object)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return raw if isinstance(raw, dict) else None


def _get_updates(token: str, params: dict[str, Any]) -> Response:
    if _state().webhooks.get(token, {}).get("url"):
        return fail(409, "Conflict: can't use getUpdates method while webhook is active; use "
                         "deleteWebhook to delete the webhook first")
    try:
        offset = int(params["offset"]) if params.get("offset") not in (None, "") else None
        limit = min(100, max(1, int(params.get("limit") or 100)))
        wait = min(50.0, max(0.0, float(params.get("timeout") or 0)))
    except (TypeError, ValueError):
        return fail(400, "Bad Request: offset, limit and timeout must be numbers")
    return ok(_state().take_updates(offset, limit, wait))


def _edit_message(token: str, params: dict[str, Any]) -> Response:
    chat_id, text = str(params.get("chat_id", "")).strip(), params.get("text")
    if not chat_id or not params.get("message_id") or not text:
        return fail(400, "Bad Request: chat_id, message_id and text are required")
    _state().record(channel="telegram", to=chat_id, sender=_bot_user(token)["username"],
                    body=str(text), provider_id=str(params["message_id"]),
                    meta={"edit_of": str(params["message_id"])})
    return ok({"message_id": int(params["message_id"]), "from": _bot_user(token),
               "chat": _chat(chat_id), "date": int(time.time()), "text": str(text)})


@bp.route("/bot<token>/<method>", methods=["GET", "POST"])
def bot_method(token: str, method: str) -> Response:
    """Answer one Bot API method call."""
    if not TOKEN.match(token):
        return fail(401, "Unauthorized")
    params = _params()
    if method == "getMe":
        return ok(_bot_user(token))
    if method == "sendMessage":
        return _send_message(token, params)
    if method in ("setWebhook", "deleteWebhook", "getWebhookInfo"):
        return _webhook(token, method, params)
    if method == "getUpdates":
        return _get_updates(token, params)
    if method == "answerCallbackQuery":
        return ok(True) if params.get("callback_query_id") else \
            fail(400, "Bad Request: query is too old and response timeout expired or query ID "
                      "is invalid")
    if method == "editMessageText":
        return _edit_message(token, params)
    return fail(404, "Not Found")
