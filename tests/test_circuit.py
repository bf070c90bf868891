"""The circuit breaker counts failed provider calls, not failed recipients."""
from __future__ import annotations

from typing import Any

from flask import Flask
from redis import Redis

from notifier import circuit
from notifier.channels.base import AdapterSettings, Message, Outcome, Result
from notifier.channels.email import EmailAdapter
from notifier.config import SANDBOX_CREDENTIALS, ProviderSettings
from notifier.sandbox.client import SandboxClient
from notifier.sandbox.server import SandboxServer


def test_one_refused_email_request_for_fifty_recipients_is_one_failure(
        env: dict[str, str], sandbox: SandboxClient, sandbox_server: SandboxServer) -> None:
    redis = Redis.from_url(env["NOTIFIER_REDIS_URL"])
    settings = ProviderSettings("sendgrid", sandbox_server.url, True, SANDBOX_CREDENTIALS["sendgrid"])
    adapter = EmailAdapter(AdapterSettings(settings))
    sandbox.fault("email", "error_5xx", count=1)
    outcomes = adapter.send([Message(i, f"kund{i}@example.se", "sv", "Nere", "Avbrott")
                             for i in range(1, 51)])
    adapter.close()
    assert {o.result for o in outcomes} == {Result.RETRY}
    state = circuit.observe(redis, "sendgrid", outcomes)
    assert state.failures == 1 and not state.is_open


def test_twenty_failed_calls_in_a_row_open_the_circuit_and_one_success_closes_it(
        app: Flask, env: dict[str, str], demo: Any) -> None:
    redis = Redis.from_url(env["NOTIFIER_REDIS_URL"])
    failed = [Outcome(i, Result.RETRY, error_code="20500", call=i) for i in range(19)]
    assert not circuit.observe(redis, "twilio", failed).is_open
    opened = circuit.observe(redis, "twilio", [Outcome(99, Result.RETRY, error_code="20500")])
    assert opened.is_open and opened.since > 0 and opened.last_error.startswith("20500")
    closed = circuit.observe(redis, "twilio", [Outcome(100, Result.SENT, provider_id="SM1")])
    assert closed.failures == 0 and not closed.failing


def test_a_429_with_retry_after_is_pacing_not_failing(env: dict[str, str]) -> None:
    redis = Redis.from_url(env["NOTIFIER_REDIS_URL"])
    paced = [Outcome(i, Result.RETRY, error_code="429", retry_after=2, call=i) for i in range(40)]
    assert circuit.observe(redis, "telegram", paced).failures == 0
