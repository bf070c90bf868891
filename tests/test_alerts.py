"""Monitoring alerts: a draft incident awaiting one click, never public until a person confirms."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier import alertrules, alerts, db, oncall, tokens
from notifier.models import ContactChannel, Incident, Notice
from notifier.sandbox.client import SandboxClient

RULES = Path(__file__).resolve().parent.parent / "deploy" / "alert-rules.example.yaml"


def payload(status: str = "firing", alertname: str = "TelecomINPlatformDown",
            fingerprint: str = "6a8f0c1d2e3f4a5b") -> dict[str, Any]:
    """Return an Alertmanager webhook payload (version 4) as Alertmanager sends it."""
    return {
        "version": "4", "groupKey": f'{{}}:{{alertname="{alertname}"}}', "truncatedAlerts": 0,
        "status": status, "receiver": "notifier",
        "groupLabels": {"alertname": alertname}, "commonLabels": {"alertname": alertname},
        "commonAnnotations": {"summary": "Calls to 020 and 0771 drop to zero"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{"status": status, "labels": {"alertname": alertname, "severity": "critical"},
                    "annotations": {"summary": "Calls to 020 and 0771 drop to zero"},
                    "startsAt": "2026-11-24T07:12:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.example/graph", "fingerprint": fingerprint}],
    }


@pytest.fixture
def monitoring(app: Flask, demo: Any) -> dict[str, str]:
    app.config["ALERT_RULES"] = str(RULES)
    with app.app_context(), db.transaction() as s:
        secret = tokens.create(s, "operator@solvik.example", "alertmanager").secret
    return {"Authorization": f"Bearer {secret}"}


def _states(app: Flask) -> dict[str, str]:
    with app.app_context():
        return {c.key: c.state for c in db.session().query(ContactChannel)}


def test_an_alert_opens_a_draft_with_the_template_and_the_channels_proposed_down(
        app: Flask, client: FlaskClient, monitoring: dict[str, str]) -> None:
    resp = client.post("/api/v1/alerts/alertmanager", json=payload(), headers=monitoring)
    assert resp.status_code == 202, resp.get_json()
    outcome = resp.get_json()["outcomes"][0]
    assert outcome["result"] == "draft"
    incident = client.get(f"/api/v1/incidents/{outcome['incident_id']}", headers=monitoring).get_json()
    assert incident["state"] == "draft" and incident["notice_ids"] == []
    proposal = incident["proposals"][0]
    assert proposal["template"] == "phone-lines-down"
    # every channel on the failed platform, and only those
    assert proposal["contact_states"] == {"kundservice": "down", "support": "down"}
    assert "kundservice" not in proposal["values"]["contacts"]
    assert _states(app)["kundservice"] == "up"  # nothing changed yet


def test_a_draft_never_appears_in_anything_public(
        app: Flask, client: FlaskClient, monitoring: dict[str, str]) -> None:
    client.post("/api/v1/alerts/alertmanager", json=payload(), headers=monitoring)
    with app.app_context(), db.transaction() as s:
        from notifier import banner
        banner.publish(s)
        assert banner.document(s)["banners"] == []
    for url in ("/banner.json", "/status?lang=en", "/feed.atom", "/cap.atom",
                "/api/v2/summary.json", "/api/v2/status.json"):
        body = client.get(url).get_data(as_text=True)
        assert "drop to zero" not in body and "020" not in body.replace("020-12", ""), url
    summary = client.get("/api/v2/summary.json").get_json()
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"
    assert all(c["status"] == "operational" for c in summary["components"])


def test_one_api_call_applies_the_proposal_and_sends_it_once(
        app: Flask, client: FlaskClient, monitoring: dict[str, str]) -> None:
    made = client.post("/api/v1/alerts/alertmanager", json=payload(),
                       headers=monitoring).get_json()["outcomes"][0]
    url = f"/api/v1/incidents/{made['incident_id']}/confirm"
    done = client.post(url, json={}, headers=monitoring)
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["contacts_changed"] == {"kundservice": "down", "support": "down"}
    assert _states(app)["kundservice"] == "down" and _states(app)["vaxel"] == "up"
    again = client.post(url, json={}, headers=monitoring).get_json()
    assert again["replayed"] is True and again["notice_ids"] == body["notice_ids"]
    with app.app_context():
        s = db.session()
        assert s.query(Notice).count() == 1
        assert s.get(Incident, made["incident_id"]).state == "open"
        notice = s.get(Notice, body["notice_ids"][0])
        assert notice.template_key == "phone-lines-down" and not notice.drill


def test_repeats_are_one_alert_and_the_resolved_alert_suggests_the_all_clear(
        app: Flask, client: FlaskClient, monitoring: dict[str, str]) -> None:
    first = client.post("/api/v1/alerts/alertmanager", json=payload(), headers=monitoring)
    repeat = client.post("/api/v1/alerts/alertmanager", json=payload(), headers=monitoring)
    assert repeat.get_json()["outcomes"][0]["result"] == "duplicate"
    incident_id = first.get_json()["outcomes"][0]["incident_id"]
    client.post(f"/api/v1/incidents/{incident_id}/confirm", json={}, headers=monitoring)
    resolved = client.post("/api/v1/alerts/alertmanager", json=payload("resolved"),
                           headers=monitoring).get_json()["outcomes"][0]
    assert resolved["result"] == "all_clear_proposed"
    shown = client.get(f"/api/v1/incidents/{incident_id}", headers=monitoring).get_json()
    clear = shown["proposals"][-1]
    assert clear["template"] == "all-clear" and clear["state"] == "waiting"
    assert clear["contact_states"] == {"kundservice": "up", "support": "up"}
    sent = client.post(f"/api/v1/incidents/{incident_id}/confirm", json={}, headers=monitoring)
    assert sent.status_code == 200, sent.get_json()
    assert _states(app)["kundservice"] == "up"
    assert client.get(f"/api/v1/incidents/{incident_id}",
                      headers=monitoring).get_json()["state"] == "closed"


def test_a_resolved_alert_withdraws_a_draft_nobody_confirmed(
        client: FlaskClient, monitoring: dict[str, str]) -> None:
    made = client.post("/api/v1/alerts/generic", headers=monitoring, json={
        "labels": {"alertname": "SupportLineSilent"}, "summary": "0771 silent"}).get_json()
    incident_id = made["outcomes"][0]["incident_id"]
    client.post("/api/v1/alerts/generic", headers=monitoring, json={
        "status": "resolved", "labels": {"alertname": "SupportLineSilent"}})
    assert client.get(f"/api/v1/incidents/{incident_id}",
                      headers=monitoring).get_json()["state"] == "dismissed"


def test_a_bad_payload_says_what_is_wrong(client: FlaskClient, monitoring: dict[str, str]) -> None:
    resp = client.post("/api/v1/alerts/alertmanager", json={"alerts": [{"status": "burning"}]},
                       headers=monitoring)
    assert resp.status_code == 422 and "firing" in resp.get_json()["detail"]
    assert client.post("/api/v1/alerts/generic", data="nope", headers=monitoring).status_code == 400


def test_an_alert_without_a_token_is_refused(client: FlaskClient) -> None:
    assert client.post("/api/v1/alerts/alertmanager", json=payload()).status_code == 401


def test_on_call_staff_are_told_by_sms_and_email(app: Flask, client: FlaskClient,
                                                  monitoring: dict[str, str],
                                                  sandbox: SandboxClient) -> None:
    made = client.post("/api/v1/alerts/alertmanager", json=payload(),
                       headers=monitoring).get_json()["outcomes"][0]
    with app.app_context():
        assert oncall.tell(made["proposal_id"], "staff") == 6
    texts = [m["body"] for m in sandbox.messages()]
    assert any(f"händelse {made['incident_id']}" in t for t in texts)
    assert any("Nothing has been sent" in t for t in texts)


def test_rules_refuse_what_they_cannot_read() -> None:
    with pytest.raises(alertrules.RuleError, match="template"):
        alertrules.parse("rules: [{match: {alertname: X}}]")
    with pytest.raises(alertrules.RuleError, match="unknown field"):
        alertrules.parse("rules: [{match: {a: b}, template: t, sendnow: true}]")
    with pytest.raises(alertrules.RuleError, match="YAML"):
        alertrules.parse("rules: [")
    assert alertrules.load(str(RULES)).first({"alertname": "TelecomOperatorDown"}) is not None


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=20)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=JSONISH | st.fixed_dictionaries({"alerts": st.lists(JSONISH, max_size=3)},
                                            optional={"commonLabels": JSONISH}))
def test_the_parsers_accept_or_refuse_clearly_whatever_arrives(body: Any) -> None:
    for parse in (alerts.parse_alertmanager, alerts.parse_generic):
        try:
            found = parse(body)
        except alerts.AlertError as exc:
            assert str(exc)
            continue
        for alert in found:
            assert alert.status in ("firing", "resolved") and len(alert.fingerprint) <= 128
            json.dumps(dict(alert.labels))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_the_rules_parser_accepts_or_refuses_clearly_whatever_text(text: str) -> None:
    try:
        alertrules.parse(text)
    except alertrules.RuleError as exc:
        assert str(exc)


def test_a_rule_may_send_its_notice_at_once_as_a_drill(app: Flask, client: FlaskClient,
                                                        monitoring: dict[str, str],
                                                        tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: drill\n    match: {alertname: DrillPhones}\n"
                     "    dependency: nordtel-in-platform\n    template: phone-lines-down\n"
                     "    drill_segment: staff\n")
    app.config["ALERT_RULES"] = str(rules)
    outcome = client.post("/api/v1/alerts/generic", headers=monitoring, json={
        "labels": {"alertname": "DrillPhones"}}).get_json()["outcomes"][0]
    assert outcome["result"] == "draft" and outcome["drill_notice_id"]
    with app.app_context():
        drill = db.session().get(Notice, outcome["drill_notice_id"])
        assert drill.drill and drill.segments == ["staff"] and "banner" not in drill.channels
        assert db.session().get(Incident, outcome["incident_id"]).state == "draft"
    assert _states(app)["kundservice"] == "up"


def test_an_alert_naming_a_dependency_proposes_every_channel_on_it(
        client: FlaskClient, monitoring: dict[str, str]) -> None:
    outcome = client.post("/api/v1/alerts/generic", headers=monitoring, json={
        "labels": {"alertname": "SupportLineSilent", "dependency": "nordtel"}}).get_json()
    incident = client.get(f"/api/v1/incidents/{outcome['outcomes'][0]['incident_id']}",
                          headers=monitoring).get_json()
    assert incident["proposals"][0]["contact_states"] == {
        "kundservice": "down", "support": "down", "vaxel": "down"}


def test_an_operator_marks_every_channel_on_a_failed_operator_down(app: Flask, demo: Any,
                                                                    env: dict[str, str]) -> None:
    import os
    import subprocess

    from .conftest import notifier_cmd

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(notifier_cmd("contacts", "fail", *args), check=False,
                              env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=120)

    shown = run("nordtel")
    assert "would mark down: kundservice, support, vaxel" in shown.stdout
    assert _states(app)["vaxel"] == "up"
    done = run("nordtel", "--yes")
    assert done.returncode == 0 and "marked down: kundservice, support, vaxel" in done.stdout
    assert _states(app)["vaxel"] == "down" and _states(app)["chatt"] == "up"
