"""Telegram messages through the Bot API, with python-telegram-bot."""
from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

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
        self._thread: _LoopThread | None = None
        self._bot_ready: Bot | None = None

    def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send every message; return one outcome per message, in order."""
        if not messages:
            return []
        outcomes: list[Outcome] = self._loop().run(self._send_all(messages))
        return [replace(o, call=i) for i, o in enumerate(outcomes)]  # one call per message

    def _loop(self) -> _LoopThread:
        # One event loop (on a thread of its own) and one Bot for the adapter's life: a batch
        # sends many small chunks, and a Bot per chunk would cost a getMe and a new connection
        # pool each time. The Bot lives and dies on that one loop, as httpx pools require.
        if self._thread is None:
            self._thread = _LoopThread()
        return self._thread

    def _bot(self) -> Bot:
        t = self._timeout
        request = HTTPXRequest(connection_pool_size=self._concurrency + 1, read_timeout=t,
                               write_timeout=t, connect_timeout=t, pool_timeout=t)
        return Bot(self._token, base_url=self._base_url, request=request)

    async def _send_all(self, messages: Sequence[Message]) -> list[Outcome]:
        if self._bot_ready is None:
            bot = self._bot()
            try:
                await bot.initialize()  # getMe: checks the token once for the adapter's life
            except TelegramError as exc:
                log.warning("telegram bot could not start: %s", type(exc).__name__)
                return [classify(m.delivery_id, exc) for m in messages]
            self._bot_ready = bot
        gate = asyncio.Semaphore(self._concurrency)
        return list(await asyncio.gather(*(self._send_one(self._bot_ready, gate, m)
                                           for m in messages)))

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
        """Shut the Bot down on its loop and stop the loop's thread."""
        if self._thread is None:
            return
        if self._bot_ready is not None:
            bot, self._bot_ready = self._bot_ready, None
            try:
                self._thread.run(bot.shutdown())
            except Exception:
                log.debug("telegram bot shutdown failed", exc_info=True)
        self._thread.stop()
        self._thread = None


class _LoopThread:
    """An asyncio event loop running on a daemon thread; coroutines are submitted to it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="telegram-loop",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        """Stop and close the loop."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
