"""The email adapter drives the real SendGrid SDK against the sandbox."""
from __future__ import annotations

import email.utils
import json
import urllib.error
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notifier.channels.base import AdapterSettings, Message, Result
from notifier.channels.email import EmailAdapter
from notifier.channels.transports.sendgrid import Reply, SendGridTransport
from notifier.sandbox.client import SandboxClient

Settings = Callable[..., AdapterSettings]


def mail(delivery_id: int, address: str | None = None, *, subject: str | None = "Avbrott",
         text: str = "Våra 020-nummer är nere.", language: str = "sv") -> Message:
    return Message(delivery_id, address or f"kund{delivery_id}@example.se", language, text,
                   subject=subject, html=f"<p>{text}</p>")


@pytest.fixture
def adapter(make_settings: Settings) -> Iterator[EmailAdapter]:
    email_adapter = EmailAdapter(make_settings("sendgrid", timeout=3))
    yield email_adapter
    email_adapter.close()


def calls(sandbox: SandboxClient) -> int:
    return int(sandbox.stats()["calls"].get("email", 0))


def test_recipients_receive_subject_text_html_and_delivery_id(
        adapter: EmailAdapter, sandbox: SandboxClient) -> None:
    outcomes = adapter.send([mail(1), mail(2, language="en", text="Lines are down",
                                          subject="Outage")])

    assert [o.result for o in outcomes] == [Result.SENT, Result.SENT]
    [received] = sandbox.messages(channel="email", to="kund2@example.se")
    assert (received["subject"], received["body"], received["html"]) == \
        ("Outage", "Lines are down", "<p>Lines are down</p>")
    assert received["from"] == "kundservice@example.se"
    assert received["custom_args"]["delivery_id"] == "2"
    assert received["language"] == "en"
    # One X-Message-Id per request, shared by its recipients (events carry the delivery id).
    assert outcomes[1].provider_id == received["provider_id"].split(".")[0]


def test_identical_content_goes_in_one_request(adapter: EmailAdapter,
                                               sandbox: SandboxClient) -> None:
    messages = [mail(i) for i in range(1, 6)] + [mail(6, text="Other text")]

    outcomes = adapter.send(messages)

    assert all(o.result is Result.SENT for o in outcomes)
    assert calls(sandbox) == 2


def test_more_than_1000_recipients_are_split_into_requests(adapter: EmailAdapter,
                                                           sandbox: SandboxClient) -> None:
    outcomes = adapter.send([mail(i) for i in range(1, 2502)])

    assert all(o.result is Result.SENT for o in outcomes)
    assert calls(sandbox) == 3
    assert len(sandbox.messages(channel="email")) == 2501


def test_invalid_address_fails_without_a_request(adapter: EmailAdapter,
                                                 sandbox: SandboxClient) -> None:
    [outcome] = adapter.send([mail(1, "not-an-address")])

    assert (outcome.result, outcome.error_code) == (Result.FAILED, "invalid_address")
    assert calls(sandbox) == 0


def test_refused_addresses_are_isolated_and_the_others_still_receive(
        adapter: EmailAdapter, sandbox: SandboxClient) -> None:
    bad = ["kund5@example.se", "kund13@example.se"]
    sandbox.fault("email", "invalid", addresses=bad)

    outcomes = adapter.send([mail(i) for i in range(1, 21)])

    failed = {o.delivery_id: o.error_code for o in outcomes if o.result is Result.FAILED}
    assert failed == {5: "400", 13: "400"}
    received = {m["to"] for m in sandbox.messages(channel="email")}
    assert len(received) == 18 and not received & set(bad)
    assert all(o.error and "@" not in o.error for o in outcomes if o.error)


def test_request_level_400_is_not_split(adapter: EmailAdapter, sandbox: SandboxClient) -> None:
    outcomes = adapter.send([mail(i, subject=None) for i in range(1, 9)])

    assert {(o.result, o.error_code) for o in outcomes} == {(Result.FAILED, "400")}
    assert calls(sandbox) == 1


def test_rate_limit_retries_the_whole_group_after_the_providers_delay(
        adapter: EmailAdapter, sandbox: SandboxClient) -> None:
    sandbox.fault("email", "rate_limit", count=1, retry_after=3)

    outcomes = adapter.send([mail(1), mail(2)])

    assert {(o.result, o.error_code, o.retry_after) for o in outcomes} == \
        {(Result.RETRY, "429", 3.0)}
    assert adapter.send([mail(1)])[0].result is Result.SENT


def test_server_error_is_retryable(adapter: EmailAdapter, sandbox: SandboxClient) -> None:
    sandbox.fault("email", "error_5xx")

    [outcome] = adapter.send([mail(1)])

    assert (outcome.result, outcome.error_code) == (Result.RETRY, "500")
    assert sandbox.messages() == []


def test_timeout_is_retryable(make_settings: Settings, sandbox: SandboxClient) -> None:
    adapter = EmailAdapter(make_settings("sendgrid", timeout=0.3))
    sandbox.fault("email", "timeout", seconds=1)

    [outcome] = adapter.send([mail(1)])

    assert (outcome.result, outcome.error_code) == (Result.RETRY, "timeout")


def test_unreachable_provider_is_retryable(make_settings: Settings, closed_port_url: str) -> None:
    adapter = EmailAdapter(make_settings("sendgrid", api_url=closed_port_url, timeout=0.5))

    [outcome] = adapter.send([mail(1)])

    assert (outcome.result, outcome.error_code) == (Result.RETRY, "network")


def test_wrong_api_key_fails_as_a_configuration_error(make_settings: Settings,
                                                      sandbox: SandboxClient) -> None:
    adapter = EmailAdapter(make_settings("sendgrid", api_key="SG.wrong"))

    outcomes = adapter.send([mail(1), mail(2)])

    assert {(o.result, o.error_code) for o in outcomes} == {(Result.FAILED, "401")}
    assert "NOTIFIER_SENDGRID_API_KEY" in (outcomes[0].error or "")
    assert calls(sandbox) == 1


def test_suppressed_recipient_is_accepted_but_receives_nothing(
        adapter: EmailAdapter, sandbox: SandboxClient) -> None:
    sandbox.fault("email", "unsubscribed", addresses=["kund1@example.se"])

    outcomes = adapter.send([mail(1), mail(2)])

    assert [o.result for o in outcomes] == [Result.SENT, Result.SENT]
    assert [m["to"] for m in sandbox.messages(channel="email")] == ["kund2@example.se"]


# Classification from SendGrid's documented answers, through a fake transport.

class FakeSendGrid(SendGridTransport):
    """Answer Mail Send requests from a function of the request body, or raise a network error."""

    def __init__(self, answer: Callable[[dict[str, Any]], Reply] | None = None,
                 error: OSError | None = None) -> None:
        super().__init__(None, "SG.fake")
        self.answer = answer or (lambda body: Reply(202, {"X-Message-Id": "msg"}))
        self.error = error
        self.bodies: list[dict[str, Any]] = []

    def post(self, body: Mapping[str, Any]) -> Reply:
        self.bodies.append(dict(body))
        if self.error is not None:
            raise self.error
        return self.answer(dict(body))


def refusal(status: int, message: str, field: str | None = None,
            headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, headers or {},
                 json.dumps({"errors": [{"message": message, "field": field}]}).encode())


@pytest.mark.parametrize(("reply", "result", "retry_after"), [
    (refusal(429, "too many requests", headers={"Retry-After": "5"}), Result.RETRY, 5.0),
    (refusal(500, "internal error"), Result.RETRY, None),
    (refusal(503, "unavailable"), Result.RETRY, None),
    (refusal(413, "payload too large"), Result.FAILED, None),
    (Reply(200), Result.FAILED, None),  # not SendGrid's 202: never taken as sent
])
def test_documented_answers_are_classified(make_settings: Settings, reply: Reply,
                                           result: Result, retry_after: float | None) -> None:
    fake = FakeSendGrid(lambda body: reply)

    outcomes = EmailAdapter(make_settings("sendgrid"), transport=fake).send([mail(1), mail(2)])

    assert {(o.result, o.error_code, o.retry_after, o.call) for o in outcomes} == \
        {(result, str(reply.status), retry_after, 1)}


def test_retry_after_as_an_http_date(make_settings: Settings) -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    fake = FakeSendGrid(lambda body: refusal(429, "slow down", headers={"retry-after": later}))

    [outcome] = EmailAdapter(make_settings("sendgrid"), transport=fake).send([mail(1)])

    assert outcome.retry_after is not None and 60 < outcome.retry_after <= 90


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_names_the_setting_to_check(make_settings: Settings, status: int) -> None:
    fake = FakeSendGrid(lambda body: refusal(status, "The provided authorization grant is invalid"))

    [outcome] = EmailAdapter(make_settings("sendgrid"), transport=fake).send([mail(1)])

    assert (outcome.result, outcome.error_code) == (Result.FAILED, str(status))
    assert "NOTIFIER_SENDGRID_API_KEY" in (outcome.error or "")


@pytest.mark.parametrize(("error", "code"), [
    (TimeoutError("timed out"), "timeout"),
    (urllib.error.URLError(TimeoutError()), "timeout"),
    (ConnectionRefusedError(), "network"),
])
def test_no_answer_is_retryable(make_settings: Settings, error: OSError, code: str) -> None:
    fake = FakeSendGrid(error=error)

    outcomes = EmailAdapter(make_settings("sendgrid"), transport=fake).send([mail(1), mail(2)])

    assert {(o.result, o.error_code, o.call) for o in outcomes} == {(Result.RETRY, code, 1)}


def test_a_bad_recipient_is_found_by_halving_and_every_request_is_a_call(
        make_settings: Settings) -> None:
    def answer(body: dict[str, Any]) -> Reply:
        to = [p["to"][0]["email"] for p in body["personalizations"]]
        if "kund3@example.se" in to:
            return refusal(400, "Does not contain a valid address.",
                           f"personalizations.{to.index('kund3@example.se')}.to.0.email")
        return Reply(202, {"X-Message-Id": f"msg{len(to)}"})
    fake = FakeSendGrid(answer)

    outcomes = EmailAdapter(make_settings("sendgrid"), transport=fake).send(
        [mail(i) for i in range(1, 5)])

    assert [(o.result, o.call) for o in outcomes] == \
        [(Result.SENT, 2)] * 2 + [(Result.FAILED, 4), (Result.SENT, 5)]
    assert len(fake.bodies) == 5 and "kund3" not in (outcomes[2].error or "")


def test_a_400_about_the_content_is_not_split(make_settings: Settings) -> None:
    fake = FakeSendGrid(lambda body: refusal(400, "The subject is required.", "subject"))

    outcomes = EmailAdapter(make_settings("sendgrid"), transport=fake).send(
        [mail(i) for i in range(1, 5)])

    assert {(o.result, o.error_code, o.call) for o in outcomes} == {(Result.FAILED, "400", 1)}
    assert len(fake.bodies) == 1
