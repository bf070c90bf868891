"""Operations: /metrics in Prometheus text from real workers, access rules, JSON logs."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from notifier import db, logs, tokens

from .conftest import wait_until


def _scrape(client: FlaskClient, **kw: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    resp = client.get("/metrics", **kw)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_metrics_count_what_real_workers_sent(app: Flask, client: FlaskClient, demo: Any,
                                              worker: Callable[..., Any], sandbox: Any) -> None:
    with app.app_context(), db.transaction() as s:
        secret = tokens.create(s, "operator@solvik.example", "ops").secret
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "metrics-run-1"}
    made = client.post("/api/v1/notices", headers=headers, json={
        "template": "phone-lines-down", "values": {"contacts": ["vaxel"]},
        "channels": ["sms", "email"]})
    notice_id = made.get_json()["notices"][0]["id"]
    worker()
    wait_until(lambda: client.get(f"/api/v1/notices/{notice_id}", headers=headers)
               .get_json()["finished"], what="the notice to finish")
    metrics = _scrape(client)
    sent = metrics["notifier_provider_results_total"]
    assert sent[(("code", ""), ("provider", "twilio"), ("result", "sent"))] > 0
    assert sent[(("code", ""), ("provider", "sendgrid"), ("result", "sent"))] > 0
    assert metrics["notifier_provider_call_seconds_count"][(("provider", "twilio"),)] > 0
    assert metrics["notifier_ratelimit_wait_seconds_count"][(("provider", "sendgrid"),)] > 0
    deliveries = metrics["notifier_deliveries"]
    assert sum(v for k, v in deliveries.items() if ("channel", "sms") in k) > 0
    assert (("queue", "sms"),) in metrics["notifier_queue_depth"]
    assert metrics["notifier_circuit_open"][(("provider", "twilio"),)] == 0
    assert metrics["notifier_time_to_first_message_seconds"][(("channel", "sms"),)] >= 0
    assert ("notifier_reconciler_actions_total") in metrics


def test_metrics_need_an_allowed_address_or_a_token(app: Flask, client: FlaskClient,
                                                    demo: Any) -> None:
    elsewhere = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    refused = client.get("/metrics", **elsewhere)
    assert refused.status_code == 403 and "NOTIFIER_METRICS_ALLOW" in refused.get_data(as_text=True)
    with app.app_context(), db.transaction() as s:
        secret = tokens.create(s, "viewer@solvik.example", "prometheus").secret
    _scrape(client, headers={"Authorization": f"Bearer {secret}"}, **elsewhere)
    assert client.get("/metrics", headers={"Authorization": "Bearer ntf_wrong"},
                      **elsewhere).status_code == 403


def test_json_logs_carry_request_and_notice_ids_and_no_personal_data(app: Flask) -> None:
    out = io.StringIO()
    handler = logs.handler("json")
    handler.setStream(out)  # type: ignore[attr-defined]
    log = logging.getLogger("notifier.test")
    log.addHandler(handler)
    try:
        with app.test_request_context("/notices/42", headers={"X-Request-Id": "req-123"}):
            app.preprocess_request()
            from flask import request
            request.view_args = {"notice_id": 42}
            log.warning("could not reach +46701740605 or anna.lindqvist@example.se")
    finally:
        log.removeHandler(handler)
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["request_id"] == "req-123" and line["notice_id"] == 42
    assert line["level"] == "WARNING" and line["logger"] == "notifier.test"
    assert "4670" not in line["message"] and "example.se" not in line["message"]


def test_every_response_echoes_its_request_id(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": "abc-1"}).headers["X-Request-Id"] == "abc-1"
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 32
