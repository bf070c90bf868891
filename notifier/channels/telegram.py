"""Telegram messages through the Bot API, with python-telegram-bot."""
from __future__ import annotations

import asyncio
import datetime as dtm
import logging
from collections.abc import Sequence

from telegram import Bot
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest

from .base import AdapterSettings, Failure, Message, Outcome, Result, scrub
from .transports.telegram import BotLoop, http_request

log = logging.getLogger(__name__)


def classify(error: TelegramError) -> Failure:
    """Read a python-telegram-bot error (the Bot API's answer, or none) as retry, opted out or failed."""
    if isinstance(error, RetryAfter):  # flood control, with the wait the API asks for
        return Failure(Result.RETRY, "429", "flood control", _retry_seconds(error))
    if isinstance(error, Forbidden):  # blocked by the user, or kicked from the group
        return Failure(Result.OPTED_OUT, "403", scrub(error.message))
    if isinstance(error, InvalidToken):  # its message would carry the token: not kept
        return Failure(Result.FAILED, "401",
                       "Telegram refused the bot token: check NOTIFIER_TELEGRAM_BOT_TOKEN")
    if isinstance(error, BadRequest):
        return Failure(Result.FAILED, "400", scrub(error.message))
    if isinstance(error, TimedOut):
        return Failure(Result.RETRY, "timeout", "timed out")
    if isinstance(error, NetworkError):  # also PTB's reading of a 5xx
        return Failure(Result.RETRY, "network", scrub(error.message))
    return Failure(Result.FAILED, type(error).__name__, scrub(error.message))


def _retry_seconds(error: RetryAfter) -> float:
    # Read the wait without tripping RetryAfter's int-vs-timedelta deprecation warning.
    value = getattr(error, "_retry_after", None)
    return value.total_seconds() if isinstance(value, dtm.timedelta) else 1.0


class TelegramAdapter:
    """Send Telegram messages (HTML parse mode), one call per message, many at once."""

    channel = "telegram"

    def __init__(self, settings: AdapterSettings, transport: BaseRequest | None = None) -> None:
        self._concurrency = max(1, settings.concurrency)
        request = transport or http_request(self._concurrency, settings.timeout)
        self._bot = BotLoop(settings.provider.credentials["token"], settings.provider.api_url,
                            request)

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send every message; return one outcome per message, in order."""
        if not messages:
            return []
        try:
            return self._bot.run(lambda bot: self._send_all(bot, messages))
        except TelegramError as exc:  # the getMe that starts the bot: every message alike
            log.warning("telegram bot could not start: %s", type(exc).__name__)
            return [classify(exc).outcome(m.delivery_id, 1) for m in messages]

    async def _send_all(self, bot: Bot, messages: Sequence[Message]) -> list[Outcome]:
        gate = asyncio.Semaphore(self._concurrency)
        return list(await asyncio.gather(*(self._send_one(bot, gate, call, m)
                                           for call, m in enumerate(messages, start=1))))

    async def _send_one(self, bot: Bot, gate: asyncio.Semaphore, call: int,
                        message: Message) -> Outcome:
        async with gate:
            try:
                sent = await bot.send_message(chat_id=message.address, text=message.text,
                                              parse_mode="HTML")
            except TelegramError as exc:
                log.info("telegram refused delivery %d: %s", message.delivery_id,
                         type(exc).__name__)
                return classify(exc).outcome(message.delivery_id, call)
        return Outcome(message.delivery_id, Result.SENT, call=call,
                       provider_id=f"{sent.chat.id}:{sent.message_id}")

    def close(self) -> None:
        """Shut the Bot down and stop its event loop's thread."""
        self._bot.close()
