"""A python-telegram-bot Bot on an asyncio event loop of its own thread, so sync code can use it."""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

log = logging.getLogger(__name__)

REAL_API = "https://api.telegram.org"
T = TypeVar("T")


def http_request(concurrency: int, timeout: float) -> HTTPXRequest:
    """Return PTB's own HTTP transport with a pool for `concurrency` calls and one timeout."""
    return HTTPXRequest(connection_pool_size=concurrency + 1, read_timeout=timeout,
                        write_timeout=timeout, connect_timeout=timeout, pool_timeout=timeout)


class BotLoop:
    """One event loop thread and one Bot for an adapter's life.

    A batch sends many small chunks; a Bot per chunk would cost a getMe and a new connection
    pool each time. The Bot lives and dies on this one loop, as httpx pools require.
    """

    def __init__(self, token: str, api_url: str | None, request: BaseRequest) -> None:
        self._token, self._base_url, self._request = token, f"{api_url or REAL_API}/bot", request
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._bot: Bot | None = None

    def run(self, work: Callable[[Bot], Awaitable[T]]) -> T:
        """Run `work(bot)` on the loop and wait; a failing getMe (bad token, no API) raises TelegramError."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="telegram-loop",
                                            daemon=True)
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(self._with_bot(work), self._loop).result()

    async def _with_bot(self, work: Callable[[Bot], Awaitable[T]]) -> T:
        if self._bot is None:
            self._bot = Bot(self._token, base_url=self._base_url, request=self._request)
        await self._bot.initialize()  # getMe, until it has succeeded once: checks the token
        return await work(self._bot)

    def close(self) -> None:
        """Shut the Bot down on its loop, then stop the loop and its thread."""
        if self._loop is None or self._thread is None:
            return
        if self._bot is not None:
            bot, self._bot = self._bot, None
            try:
                asyncio.run_coroutine_threadsafe(bot.shutdown(), self._loop).result()
            except Exception:  # closing after a broken connection: nothing left to release
                log.debug("telegram bot shutdown failed", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = self._thread = None
