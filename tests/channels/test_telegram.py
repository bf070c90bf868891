"""The Telegram adapter drives python-telegram-bot against the sandbox."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from telegram.error import TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from notifier.channels.base import AdapterSettings, Message, Result
from notifier.channels.telegram import TelegramAdapter
from notifier.sandbox.client import SandboxClient

Settings = Callable[..., AdapterSettings]


def tg(delivery_id: int, chat: str | None = None,
       text: str = "<b>Avbrott:</b> våra 020-nummer är nere &amp; vi jobbar på det.") -> Message:
    return Message(delivery_id, chat or str(1000 + delivery_id), "sv", text)


@pytest.fixture
def adapter(make_settings: Settings) -> TelegramAdapter:
    return TelegramAdapter(make_settings("telegram", concurrency=5, timeout=3))


def test_recipient_reads_the_rendered_html(adapter: TelegramAdapter,
                                           sandbox: SandboxClient) -> None:
    [outcome] = adapter.send([tg(1)])

    assert outcome.result is Result.SENT
    [received] = sandbox.messages(channel="telegram", to="1001")
    assert received["body"] == "Avbrott: våra 020-nummer är nere & vi jobbar på det."
    assert received["meta"]["parse_mode"] == "HTML"
    assert outcome.provider_id == f"1001:{received['provider_id']}"


def test_many_messages_concurrently_and_across_calls(adapter: TelegramAdapter,
                                                     sandbox: SandboxClient) -> None:
    first = adapter.send([tg(i) for i in range(1, 41)])
    second = adapter.send([tg(i) for i in range(41, 51)])

    assert [o.delivery_id for o in first + second] == list(range(1, 51))
    assert all(o.result is Result.SENT for o in first + second)
    assert len(sandbox.messages(channel="telegram")) == 50


def test_blocked_bot_is_an_opt_out(adapter: TelegramAdapter, sandbox: SandboxClient) -> None:
    sandbox.fault("telegram", "blocked", addresses=["1001"])

    outcomes = adapter.send([tg(1), tg(2)])

    assert [(o.result, o.error_code) for o in outcomes] == \
        [(Result.OPTED_OUT, "403"), (Result.SENT, None)]


@pytest.mark.parametrize(("message", "fragment"), [
    (tg(1, chat="no such chat"), "chat not found"),
    (tg(1, text="<div>unsupported</div>"), "parse entities"),
    (tg(1, text="<b>never closed"), "parse entities"),
])
def test_bad_requests_fail_permanently(adapter: TelegramAdapter, sandbox: SandboxClient,
                                       message: Message, fragment: str) -> None:
    [outcome] = adapter.send([message])

    assert (outcome.result, outcome.error_code) == (Result.FAILED, "400")
    assert fragment in (outcome.error or "").lower()
    assert sandbox.messages() == []


def test_flood_control_is_retried_after_the_providers_delay(
        adapter: TelegramAdapter, sandbox: SandboxClient) -> None:
    sandbox.fault("telegram", "rate_limit", retry_after=4, count=1)

    [outcome] = adapter.send([tg(1)])

    assert (outcome.result, outcome.error_code, outcome.retry_after) == (Result.RETRY, "429", 4.0)
    assert adapter.send([tg(1)])[0].result is Result.SENT


def test_server_error_is_retryable(adapter: TelegramAdapter, sandbox: SandboxClient) -> None:
    sandbox.fault("telegram", "error_5xx")

    [outcome] = adapter.send([tg(1)])

    assert outcome.result is Result.RETRY


def test_timeout_is_retryable(make_settings: Settings, sandbox: SandboxClient) -> None:
    adapter = TelegramAdapter(make_settings("telegram", timeout=0.3))
    sandbox.fault("telegram", "timeout", seconds=1)

    [outcome] = adapter.send([tg(1)])

    assert (outcome.result, outcome.error_code) == (Result.RETRY, "timeout")


def test_unreachable_api_is_retryable(make_settings: Settings, closed_port_url: str) -> None:
    adapter = TelegramAdapter(make_settings("telegram", api_url=closed_port_url, timeout=0.5))

    outcomes = adapter.send([tg(1), tg(2)])

    assert {o.result for o in outcomes} == {Result.RETRY}


def test_rejected_token_fails_every_message_with_a_configuration_hint(
        make_settings: Settings, sandbox: SandboxClient) -> None:
    adapter = TelegramAdapter(make_settings("telegram", token="not-a-token", timeout=3))

    outcomes = adapter.send([tg(1), tg(2)])

    assert {(o.result, o.error_code) for o in outcomes} == {(Result.FAILED, "401")}
    assert "NOTIFIER_TELEGRAM_BOT_TOKEN" in (outcomes[0].error or "")
    assert sandbox.messages() == []


def test_empty_batch_sends_nothing(adapter: TelegramAdapter, sandbox: SandboxClient) -> None:
    assert adapter.send([]) == []
    assert sandbox.stats()["calls"] == {}


# Classification from the Bot API's documented answers, through PTB and a fake transport.

BOT = {"id": 1, "is_bot": True, "first_name": "Solvik", "username": "solvik_bot"}


class FakeBotApi(BaseRequest):
    """Answer getMe and sendMessage with canned Bot API bodies (PTB's own transport seam)."""

    def __init__(self, status: int = 200, body: dict[str, Any] | None = None,
                 get_me: tuple[int, dict[str, Any]] = (200, {"ok": True, "result": BOT}),
                 error: TelegramError | None = None) -> None:
        self.status, self.body, self.get_me, self.error = status, body, get_me, error
        self.calls: list[str] = []

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        self.calls.append(endpoint)
        if endpoint == "getMe":
            return self.get_me[0], json.dumps(self.get_me[1]).encode()
        if self.error is not None:
            raise self.error
        chat = int((request_data.parameters if request_data else {})["chat_id"])
        body = self.body or {"ok": True, "result": {
            "message_id": len(self.calls), "date": 0, "chat": {"id": chat, "type": "private"}}}
        return self.status, json.dumps(body).encode()


def bot_error(code: int, description: str, **parameters: int) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description,
            **({"parameters": parameters} if parameters else {})}


@pytest.mark.parametrize(("status", "body", "result", "code", "retry_after"), [
    (403, bot_error(403, "Forbidden: bot was blocked by the user"), Result.OPTED_OUT, "403", None),
    (403, bot_error(403, "Forbidden: user is deactivated"), Result.OPTED_OUT, "403", None),
    (400, bot_error(400, "Bad Request: chat not found"), Result.FAILED, "400", None),
    (429, bot_error(429, "Too Many Requests: retry after 7", retry_after=7), Result.RETRY, "429",
     7.0),
    (502, bot_error(502, "Bad Gateway"), Result.RETRY, "network", None),
    (500, bot_error(500, "Internal Server Error"), Result.RETRY, "network", None),
])
def test_documented_answers_are_classified(make_settings: Settings, status: int,
                                           body: dict[str, Any], result: Result, code: str,
                                           retry_after: float | None) -> None:
    adapter = TelegramAdapter(make_settings("telegram"), transport=FakeBotApi(status, body))

    [outcome] = adapter.send([tg(1)])
    adapter.close()

    assert (outcome.result, outcome.error_code, outcome.retry_after, outcome.call) == \
        (result, code, retry_after, 1)


def test_no_answer_is_retryable(make_settings: Settings) -> None:
    adapter = TelegramAdapter(make_settings("telegram"), transport=FakeBotApi(error=TimedOut()))

    outcomes = adapter.send([tg(1), tg(2)])
    adapter.close()

    assert [(o.result, o.error_code, o.call) for o in outcomes] == \
        [(Result.RETRY, "timeout", 1), (Result.RETRY, "timeout", 2)]


def test_a_rejected_token_is_one_failed_call_and_is_not_repeated_in_the_error(
        make_settings: Settings) -> None:
    fake = FakeBotApi(get_me=(401, bot_error(401, "Unauthorized")))
    adapter = TelegramAdapter(make_settings("telegram", token="123:secret"), transport=fake)

    outcomes = adapter.send([tg(1), tg(2)])
    adapter.close()

    assert {(o.result, o.error_code, o.call) for o in outcomes} == {(Result.FAILED, "401", 1)}
    assert "secret" not in (outcomes[0].error or "") and fake.calls == ["getMe"]


def test_the_bot_starts_once_and_each_message_is_one_call(make_settings: Settings) -> None:
    fake = FakeBotApi()
    adapter = TelegramAdapter(make_settings("telegram"), transport=fake)

    first = adapter.send([tg(1), tg(2)])
    second = adapter.send([tg(3)])
    adapter.close()

    assert [o.call for o in first + second] == [1, 2, 1]
    assert fake.calls == ["getMe", "sendMessage", "sendMessage", "sendMessage"]
