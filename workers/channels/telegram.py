"""Telegram messages through the Bot API, with python-telegram-bot."""
from __future__ import annotations

import asyncio
import concurrent.futures
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
from telegram.request import HTTPXRequest

from notifier.config import ProviderSettings

from .base import Message, Outcome, Result

log = logging.getLogger(__name__)

REAL_API = "https://api.telegram.org"


def _retry_seconds(exc: RetryAfter) -> float:
    """Read RetryAfter's wait without tripping its int-vs-timedelta deprecation warning."""
    value = getattr(exc, "_retry_after", None)
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return 1.0


def classify(delivery_id: int, exc: TelegramError) -> Outcome:
    """Turn a python-telegram-bot error into an outcome."""
    if isinstance(exc, RetryAfter):
        return Outcome(delivery_id, Result.RETRY, error_code="429", error="flood control",
                       retry_after=_retry_seconds(exc))
    if isinstance(exc, Forbidden):
        return Outcome(delivery_id, Result.OPTED_OUT, error_code="403", error=exc.message)
    if isinstance(exc, InvalidToken):
        return Outcome(delivery_id, Result.FAILED, error_code="401",
                       error="Telegram refused the bot token: check NOTIFIER_TELEGRAM_BOT_TOKEN")
    if isinstance(exc, BadRequest):
        return Outcome(delivery_id, Result.FAILED, error_code="400", error=exc.message)
    if isinstance(exc, TimedOut):
        return Outcome(delivery_id, Result.RETRY, error_code="timeout", error="timed out")
    if isinstance(exc, NetworkError):
        return Outcome(delivery_id, Result.RETRY, error_code="network", error=exc.message)
    return Outcome(delivery_id, Result.FAILED, error_code=type(exc).__name__, error=exc.message)


class TelegramAdapter:
    """Send Telegram messages (HTML parse mode) and classify the Bot API's answers."""

    channel = "telegram"

    def __init__(self, settings: ProviderSettings, *, concurrency: int = 25,
                 timeout: float = 10) -> None:
        self._token = settings.credentials["token"]
        self._base_url = f"{settings.api_url or REAL_API}/bot"
        self._concurrency = max(1, concurrency)
        self._timeout = timeout

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send every message; return one outcome per message, in order."""
        if not messages:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._send_all(messages))
        # Called from code that already runs an event loop in this thread (an async server,
        # a test harness): run ours on a thread of its own instead of failing.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self._send_all(messages)).result()

    def _bot(self) -> Bot:
        # A fresh Bot (and connection pool) per event loop: httpx pools are bound to their loop.
        t = self._timeout
        request = HTTPXRequest(connection_pool_size=self._concurrency + 1, read_timeout=t,
                               write_timeout=t, connect_timeout=t, pool_timeout=t)
        return Bot(self._token, base_url=self._base_url, request=request)

    async def _send_all(self, messages: Sequence[Message]) -> list[Outcome]:
        bot = self._bot()
        try:
            await bot.initialize()  # getMe: checks the token once for the whole batch
        except TelegramError as exc:
            log.warning("telegram bot could not start: %s", type(exc).__name__)
            return [classify(m.delivery_id, exc) for m in messages]
        try:
            gate = asyncio.Semaphore(self._concurrency)
            return list(await asyncio.gather(*(self._send_one(bot, gate, m) for m in messages)))
        finally:
            await bot.shutdown()

    async def _send_one(self, bot: Bot, gate: asyncio.Semaphore, message: Message) -> Outcome:
        async with gate:
            try:
                sent = await bot.send_message(chat_id=message.address, text=message.text,
                                              parse_mode="HTML")
            except TelegramError as exc:
                log.info("telegram refused delivery %d: %s", message.delivery_id,
                         type(exc).__name__)
                return classify(message.delivery_id, exc)
        return Outcome(message.delivery_id, Result.SENT,
                       provider_id=f"{sent.chat.id}:{sent.message_id}")

    def close(self) -> None:
        """Release connections (each send() closes its own pool; nothing is held between)."""
