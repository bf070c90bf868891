"""The Telegram bot's side of the conversation: /start (language buttons), /stop, /status, the rest.

`handle` turns one update (as Telegram sends it, a dict) into changes in the database and the
replies to send; `answer` sends them with python-telegram-bot. Updates arrive by webhook
(web/inbound.py) or by long polling (`notifier telegram poll`, `poll` below), and both go
through `handle_once`, de-duplicated on update_id.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Conflict, TelegramError
from telegram.request import HTTPXRequest

from . import consent, inbox, receipts, replies, signup
from .errors import NotifierError
from .models import LANGUAGES

log = logging.getLogger(__name__)
REAL_API = "https://api.telegram.org"
REPLY_TIMEOUT = 5.0
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
STOP = {"stop", "stopp", "avsluta"}
STATUS = {"status", "läge", "lage"}
HELP = {"help", "hjälp", "hjalp"}
BLOCKED = "blocked the Telegram bot"
STOPPED = "/stop to the Telegram bot"


@dataclass(frozen=True)
class Reply:
    """One thing to send back: a message (maybe with language buttons), or an edit of one."""

    chat_id: str
    text: str
    buttons: bool = False
    callback_id: str | None = None
    edit_message_id: int | None = None


class PollError(NotifierError):
    """Long polling cannot run; says what to do."""


def _hint(user: Any) -> str:
    code = str((user or {}).get("language_code", "")) if isinstance(user, dict) else ""
    return "en" if code.startswith("en") else "sv"


def _command(text: str) -> tuple[str, str]:
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0].split("@", 1)[0].lstrip("/").lower(), (parts[1] if len(parts) > 1 else "")


def handle(s: Session, update: dict[str, Any]) -> list[Reply]:
    """Apply one update; return the replies it deserves."""
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        if (member.get("new_chat_member") or {}).get("status") in ("kicked", "left"):
            chat_id = str((member.get("chat") or {}).get("id", ""))
            receipts.mark_address(s, "telegram", chat_id, "blocked", BLOCKED)
        return []
    query = update.get("callback_query")
    if isinstance(query, dict):
        return _button(s, query)
    message = update.get("message")
    if isinstance(message, dict) and isinstance(message.get("text"), str):
        return _message(s, message)
    return []


def _button(s: Session, query: dict[str, Any]) -> list[Reply]:
    """A language button: subscribe the chat in that language."""
    data = str(query.get("data") or "")
    message = query.get("message") or {}
    chat_id = str((message.get("chat") or {}).get("id") or (query.get("from") or {}).get("id"))
    lang = data.removeprefix("lang:")
    if not data.startswith("lang:") or lang not in LANGUAGES:
        return [Reply(chat_id, "", callback_id=str(query.get("id")))]
    consent.subscribe(s, consent.Yes("telegram", chat_id, "telegram_bot", lang,
                                     _name(query.get("from"))))
    return [Reply(chat_id, replies.subscribed(lang), callback_id=str(query.get("id")),
                  edit_message_id=message.get("message_id"))]


def _name(user: Any) -> str:
    if not isinstance(user, dict):
        return ""
    return " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()[:200]


def _message(s: Session, message: dict[str, Any]) -> list[Reply]:
    chat_id = str((message.get("chat") or {}).get("id", ""))
    lang = receipts.language_of(s, "telegram", chat_id, _hint(message.get("from")))
    command, rest = _command(message["text"])
    if command == "start" and rest:
        confirmed = signup.confirm_telegram(s, rest.strip(), chat_id)
        if confirmed:
            return [Reply(chat_id, replies.subscribed(confirmed))]
    if command == "start":
        return [Reply(chat_id, replies.welcome(lang), buttons=True)]
    if command in STOP:
        receipts.mark_address(s, "telegram", chat_id, "opted_out", STOPPED)
        return [Reply(chat_id, replies.stopped(lang))]
    if command in STATUS:
        return [Reply(chat_id, replies.status(s, lang))]
    if command in HELP:
        return [Reply(chat_id, replies.bot_help(lang))]
    inbox.record(s, "telegram", chat_id, message["text"])
    return [Reply(chat_id, replies.received(lang))]


def handle_once(update: dict[str, Any]) -> list[Reply]:
    """Handle an update unless it was handled before (a webhook retry, a repeated poll)."""
    update_id = update.get("update_id")
    if not isinstance(update_id, int):
        return []
    return receipts.once("telegram", str(update_id), lambda s: handle(s, update)) or []


# --- talking to Telegram ------------------------------------------------------------------------

def make_bot(timeout: float = REPLY_TIMEOUT, read_timeout: float | None = None) -> Bot:
    """Build a Bot for the configured API (sandbox or real), with timeouts."""
    settings = current_app.config["PROVIDERS"]["telegram"]
    request = HTTPXRequest(connection_pool_size=2, read_timeout=read_timeout or timeout,
                           write_timeout=timeout, connect_timeout=timeout, pool_timeout=timeout)
    return Bot(settings.credentials["token"], base_url=f"{settings.api_url or REAL_API}/bot",
               request=request, get_updates_request=request)


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Svenska", callback_data="lang:sv"),
                                  InlineKeyboardButton("English", callback_data="lang:en")]])


async def send(bot: Bot, outgoing: Sequence[Reply]) -> None:
    """Send replies through an initialised bot; a failure is logged (no chat id), not raised."""
    for r in outgoing:
        try:
            if r.callback_id:
                await bot.answer_callback_query(r.callback_id)
            if r.text and r.edit_message_id:
                await bot.edit_message_text(r.text, chat_id=r.chat_id,
                                            message_id=r.edit_message_id)
            elif r.text:
                await bot.send_message(r.chat_id, r.text,
                                       reply_markup=_keyboard() if r.buttons else None)
        except TelegramError as exc:
            log.warning("telegram reply not sent: %s", type(exc).__name__)


def answer(outgoing: Sequence[Reply]) -> None:
    """Send replies at once (webhook mode), on a bot that lives for this call only."""
    if not outgoing:
        return

    async def run() -> None:
        bot = make_bot()
        try:
            async with bot:
                await send(bot, outgoing)
        except TelegramError as exc:
            log.warning("telegram bot could not start: %s", type(exc).__name__)

    asyncio.run(run())


def start_link(token: str) -> dict[str, str]:
    """Return how to confirm a sign-up in Telegram: a t.me link and the command to send."""
    name = username()
    return {"command": f"/start {token}", "username": name or "",
            "url": f"https://t.me/{name}?start={token}" if name else ""}


def username() -> str | None:
    """Return the bot's username (getMe), cached per process; None while Telegram is unreachable."""
    cached = current_app.extensions.get("notifier.bot_username")
    if cached is not None and (cached[0] or time.monotonic() - cached[1] < 60):
        return str(cached[0]) or None

    async def get() -> str:
        bot = make_bot(timeout=3)
        async with bot:
            return str(bot.username)

    try:
        name = asyncio.run(get())
    except (TelegramError, OSError):
        name = ""
    current_app.extensions["notifier.bot_username"] = (name, time.monotonic())
    return name or None


# --- long polling -------------------------------------------------------------------------------

async def _poll_round(app: Flask, bot: Bot, offset: int | None,
                      wait: int) -> tuple[int | None, int]:
    try:
        updates = await bot.get_updates(offset=offset, timeout=wait,
                                        allowed_updates=list(ALLOWED_UPDATES))
    except Conflict:
        raise PollError("A webhook is set for this bot, and Telegram answers no polling while it "
                        "is: run `notifier telegram poll --drop-webhook` to delete it, or keep "
                        "the webhook and stop polling.") from None
    for update in updates:
        offset = update.update_id + 1
        with app.app_context():
            outgoing = handle_once(update.to_dict())
        await send(bot, outgoing)
    return offset, len(updates)


def poll(app: Flask, *, once: bool = False, drop_webhook: bool = False, wait: int = 25) -> int:
    """Fetch updates with getUpdates and answer them, until interrupted (or one round, `once`)."""
    with app.app_context():
        bot = make_bot(timeout=10, read_timeout=wait + 10)

    async def run() -> int:
        handled = 0
        async with bot:
            if drop_webhook:
                await bot.delete_webhook()
            offset: int | None = None
            while True:
                offset, n = await _poll_round(app, bot, offset, 0 if once else wait)
                handled += n
                if once:
                    if offset is not None:  # confirm what was handled, as the next poll would
                        await bot.get_updates(offset=offset, timeout=0)
                    return handled

    return asyncio.run(run())

