"""The Telegram adapter drives python-telegram-bot against the sandbox."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from notifier.channels.base import Message, Result
from notifier.channels.telegram import TelegramAdapter
from notifier.config import ProviderSettings
from notifier.sandbox.client import SandboxClient

Settings = Callable[..., ProviderSettings]


def tg(delivery_id: int, chat: str | None = None,
       text: str = "<b>Avbrott:</b> våra 020-nummer är nere &amp; vi jobbar på det.") -> Message:
    return Message(delivery_id, chat or str(1000 + delivery_id), "sv", text)


@pytest.fixture
def adapter(make_settings: Settings) -> TelegramAdapter:
    return TelegramAdapter(make_settings("telegram"), concurrency=5, timeout=3)


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
    adapter = TelegramAdapter(make_settings("telegram"), timeout=0.3)
    sandbox.fault("telegram", "timeout", seconds=1)

    [outcome] = adapter.send([tg(1)])

    assert (outcome.result, outcome.error_code) == (Result.RETRY, "timeout")


def test_unreachable_api_is_retryable(make_settings: Settings, closed_port_url: str) -> None:
    adapter = TelegramAdapter(make_settings("telegram", api_url=closed_port_url), timeout=0.5)

    outcomes = adapter.send([tg(1), tg(2)])

    assert {o.result for o in outcomes} == {Result.RETRY}


def test_rejected_token_fails_every_message_with_a_configuration_hint(
        make_settings: Settings, sandbox: SandboxClient) -> None:
    adapter = TelegramAdapter(make_settings("telegram", token="not-a-token"), timeout=3)

    outcomes = adapter.send([tg(1), tg(2)])

    assert {(o.result, o.error_code) for o in outcomes} == {(Result.FAILED, "401")}
    assert "NOTIFIER_TELEGRAM_BOT_TOKEN" in (outcomes[0].error or "")
    assert sandbox.messages() == []


def test_empty_batch_sends_nothing(adapter: TelegramAdapter, sandbox: SandboxClient) -> None:
    assert adapter.send([]) == []
    assert sandbox.stats()["calls"] == {}
