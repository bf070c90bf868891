"""The SMS adapter drives the real Twilio SDK against the sandbox."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from twilio.http.response import Response

from notifier.channels.base import AdapterSettings, Message, Result
from notifier.channels.sms import SmsAdapter
from notifier.channels.transports.twilio import TwilioTransport
from notifier.sandbox.client import SandboxClient

Settings = Callable[..., AdapterSettings]


def sms(delivery_id: int, to: str = "+46701234567", text: str = "Våra 020-nummer är nere.") -> Message:
    return Message(delivery_id, to, "sv", text)


@pytest.fixture
def adapter(make_settings: Settings) -> Iterator[SmsAdapter]:
    sms_adapter = SmsAdapter(make_settings("twilio", callback_url="https://n.example/cb",
                                           validity=900, timeout=3))
    yield sms_adapter
    sms_adapter.close()


def test_sent_messages_reach_recipients_with_callback_and_validity(
        adapter: SmsAdapter, sandbox: SandboxClient) -> None:
    outcomes = adapter.send([sms(1, "+46701234567"), sms(2, "+46701234568", "Lines are down")])

    assert [o.result for o in outcomes] == [Result.SENT, Result.SENT]
    assert all(re.fullmatch(r"SM[0-9a-f]{32}", o.provider_id or "") for o in outcomes)
    received = sandbox.messages(channel="sms", to="+46701234568")
    assert len(received) == 1
    assert received[0]["body"] == "Lines are down"
    assert received[0]["from"] == "Notifier"
    assert received[0]["provider_id"] == outcomes[1].provider_id
    assert received[0]["meta"]["status_callback"] == "https://n.example/cb?delivery=2"
    assert received[0]["meta"]["validity_period"] == "900"


def test_messaging_service_replaces_sender(make_settings: Settings, sandbox: SandboxClient) -> None:
    adapter = SmsAdapter(make_settings("twilio", messaging_service_sid="MG" + "a" * 32))

    assert adapter.send([sms(1)])[0].result is Result.SENT
    assert sandbox.messages(channel="sms")[0]["from"] == "MG" + "a" * 32
    adapter.close()


@pytest.mark.parametrize(("to", "result", "code"), [
    ("0701234567", Result.FAILED, "21211"),         # not E.164
    ("+15005550001", Result.FAILED, "21211"),       # Twilio's magic invalid number
    ("+15005550009", Result.FAILED, "21614"),       # not a mobile number
    ("+4681234567", Result.FAILED, "21635"),        # a Stockholm landline
    ("+15005550004", Result.OPTED_OUT, "21610"),    # replied STOP
])
def test_permanent_errors_and_opt_out(adapter: SmsAdapter, sandbox: SandboxClient, to: str,
                                      result: Result, code: str) -> None:
    [outcome] = adapter.send([sms(7, to)])

    assert (outcome.result, outcome.error_code) == (result, code)
    assert to not in (outcome.error or "")
    assert sandbox.messages(channel="sms") == []


@pytest.mark.parametrize(("kind", "result", "code"), [
    ("unsubscribed", Result.OPTED_OUT, "21610"),
    ("invalid", Result.FAILED, "21211"),
    ("landline", Result.FAILED, "21635"),
])
def test_faulted_recipient_is_classified_and_others_still_receive(
        adapter: SmsAdapter, sandbox: SandboxClient, kind: str, result: Result, code: str) -> None:
    sandbox.fault("sms", kind, addresses=["+46701111111"])

    outcomes = adapter.send([sms(1, "+46701111111"), sms(2, "+46702222222")])

    assert [(o.result, o.error_code) for o in outcomes] == [(result, code), (Result.SENT, None)]
    assert [m["to"] for m in sandbox.messages(channel="sms")] == ["+46702222222"]


def test_rate_limit_is_retried_after_the_providers_delay(adapter: SmsAdapter,
                                                         sandbox: SandboxClient) -> None:
    sandbox.fault("sms", "rate_limit", count=1, retry_after=2)

    [first] = adapter.send([sms(1)])
    [second] = adapter.send([sms(1)])

    assert (first.result, first.error_code, first.retry_after) == (Result.RETRY, "20429", 2.0)
    assert second.result is Result.SENT
    assert len(sandbox.messages(channel="sms")) == 1


@pytest.mark.parametrize(("kind", "result", "code"), [
    ("rate_limit", Result.RETRY, "20429"), ("error_5xx", Result.RETRY, "20500"),
    ("invalid", Result.FAILED, "21211"), ("unsubscribed", Result.OPTED_OUT, "21610"),
])
def test_rfc9457_errors_are_classified_alike(adapter: SmsAdapter, sandbox: SandboxClient,
                                             kind: str, result: Result, code: str) -> None:
    sandbox.fault("sms", kind, problem=True)

    [outcome] = adapter.send([sms(1)])

    assert (outcome.result, outcome.error_code) == (result, code)
    assert "+46701234567" not in (outcome.error or "")


def test_server_error_is_retryable(adapter: SmsAdapter, sandbox: SandboxClient) -> None:
    sandbox.fault("sms", "error_5xx")

    [outcome] = adapter.send([sms(1)])

    assert (outcome.result, outcome.error_code) == (Result.RETRY, "20500")


def test_timeout_is_retryable(make_settings: Settings, sandbox: SandboxClient) -> None:
    adapter = SmsAdapter(make_settings("twilio", timeout=0.3))
    sandbox.fault("sms", "timeout", seconds=1)

    [outcome] = adapter.send([sms(1)])

    assert (outcome.result, outcome.error_code) == (Result.RETRY, "timeout")
    adapter.close()


def test_unreachable_provider_is_retryable(make_settings: Settings, closed_port_url: str) -> None:
    adapter = SmsAdapter(make_settings("twilio", api_url=closed_port_url, timeout=0.5))

    outcomes = adapter.send([sms(1), sms(2)])

    assert [(o.result, o.error_code) for o in outcomes] == [(Result.RETRY, "network")] * 2
    adapter.close()


def test_wrong_auth_token_fails_with_a_configuration_hint(make_settings: Settings,
                                                          sandbox: SandboxClient) -> None:
    adapter = SmsAdapter(make_settings("twilio", auth_token="wrong"))

    [outcome] = adapter.send([sms(1)])

    assert (outcome.result, outcome.error_code) == (Result.FAILED, "20003")
    assert "NOTIFIER_TWILIO" in (outcome.error or "")
    assert sandbox.messages() == []
    adapter.close()


def test_one_outcome_per_message_in_order(adapter: SmsAdapter, sandbox: SandboxClient) -> None:
    sandbox.fault("sms", "error_5xx", addresses=["+46703333333"])
    messages = [sms(i, f"+4670{i:07d}") for i in range(1, 21)]
    messages[4] = sms(5, "+46703333333")
    messages[9] = sms(10, "not a number")

    outcomes = adapter.send(messages)

    assert [o.delivery_id for o in outcomes] == list(range(1, 21))
    assert outcomes[4].result is Result.RETRY and outcomes[9].result is Result.FAILED
    assert sum(o.result is Result.SENT for o in outcomes) == 18
    assert len(sandbox.messages(channel="sms")) == 18


# Classification from Twilio's documented answers, through the real SDK and a fake transport.

class FakeTwilio(TwilioTransport):
    """Answer every Messages request with one canned HTTP response, or raise a network error."""

    def __init__(self, status: int = 201, body: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, error: Exception | None = None) -> None:
        super().__init__()
        self.status, self.body, self.headers, self.error = status, body, headers, error
        self.requests = 0

    def answer(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        self.requests += 1
        if self.error is not None:
            raise self.error
        body = self.body or {"sid": f"SM{self.requests:032x}", "status": "queued"}
        return Response(self.status, json.dumps(body), self.headers or {})


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}


@pytest.mark.parametrize(("status", "code", "result", "retry_after"), [
    (400, 21211, Result.FAILED, None),       # invalid 'To' number
    (400, 21614, Result.FAILED, None),       # not a mobile number
    (400, 21610, Result.OPTED_OUT, None),    # the recipient replied STOP
    (429, 20429, Result.RETRY, 7.0),         # too many requests, with Retry-After
    (503, 20503, Result.RETRY, None),        # Twilio unavailable
    (500, 20500, Result.RETRY, None),        # Twilio's internal error
])
def test_documented_errors_are_classified(make_settings: Settings, status: int, code: int,
                                          result: Result, retry_after: float | None) -> None:
    fake = FakeTwilio(status, twilio_error(status, code, "The 'To' number +46 70 123 45 67 is bad"),
                      {"Retry-After": "7"} if retry_after else None)
    adapter = SmsAdapter(make_settings("twilio", concurrency=1), transport=fake)

    [outcome] = adapter.send([sms(1)])

    assert (outcome.result, outcome.error_code, outcome.retry_after) == \
        (result, str(code), retry_after)
    assert "70 123" not in (outcome.error or "") and outcome.call == 1


def test_rejected_credentials_name_the_setting_to_check(make_settings: Settings) -> None:
    fake = FakeTwilio(401, twilio_error(401, 20003, "Authenticate"))

    [outcome] = SmsAdapter(make_settings("twilio"), transport=fake).send([sms(1)])

    assert (outcome.result, outcome.error_code) == (Result.FAILED, "20003")
    assert "NOTIFIER_TWILIO" in (outcome.error or "")


@pytest.mark.parametrize(("error", "code"), [
    (requests.ConnectTimeout("slow"), "timeout"),
    (requests.ConnectionError("refused"), "network"),
])
def test_no_answer_is_retryable(make_settings: Settings, error: Exception, code: str) -> None:
    [outcome] = SmsAdapter(make_settings("twilio"), transport=FakeTwilio(error=error)).send([sms(1)])

    assert (outcome.result, outcome.error_code) == (Result.RETRY, code)


def test_each_message_is_one_call(make_settings: Settings) -> None:
    fake = FakeTwilio()
    adapter = SmsAdapter(make_settings("twilio", concurrency=4), transport=fake)

    outcomes = adapter.send([sms(i, f"+4670{i:07d}") for i in range(1, 7)])

    assert [o.call for o in outcomes] == [1, 2, 3, 4, 5, 6]
    assert all(o.result is Result.SENT for o in outcomes) and fake.requests == 6
