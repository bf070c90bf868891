"""The JSON API: tokens, problem details, notices once per key, four-eyes, subscribers, the document."""
from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from notifier import db, tokens, versions
from notifier.models import Notice, TemplateVersion

PROBLEM = "application/problem+json"


def token_for(app: Flask, email: str) -> str:
    with app.app_context(), db.transaction() as s:
        return tokens.create(s, email, "tests").secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def operator(app: Flask, demo: Any) -> dict[str, str]:
    return bearer(token_for(app, "operator@solvik.example"))


@pytest.fixture
def admin(app: Flask, demo: Any) -> dict[str, str]:
    return bearer(token_for(app, "admin@solvik.example"))


NOTICE = {"template": "phone-lines-down", "values": {"contacts": ["vaxel", "chatt"]},
          "channels": ["sms", "email"]}


def test_the_document_is_openapi_3_1_and_covers_every_api_route(app: Flask, client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    import re

    routes = {re.sub(r"<(?:[^:>]+:)?([a-z_]+)>", r"{\1}", r.rule)
              for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    routes.discard("/api/v1/openapi.json")
    assert routes <= set(doc["paths"]), routes - set(doc["paths"])


def test_without_a_token_the_api_answers_a_problem_saying_how_to_get_one(client: FlaskClient) -> None:
    resp = client.get("/api/v1/incidents")
    assert resp.status_code == 401 and resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["type"] == "urn:notifier:problem:unauthenticated"
    assert "notifier tokens create" in body["detail"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_stops_working_at_once(app: Flask, client: FlaskClient, demo: Any) -> None:
    with app.app_context(), db.transaction() as s:
        new = tokens.create(s, "viewer@solvik.example", "dashboard")
    assert client.get("/api/v1/contacts", headers=bearer(new.secret)).status_code == 200
    with app.app_context(), db.transaction() as s:
        tokens.revoke(s, new.token.id)
        stored = s.get(type(new.token), new.token.id)
        assert stored.digest != new.secret and new.secret not in stored.prefix + "x"
        assert stored.last_used_at is not None
    resp = client.get("/api/v1/contacts", headers=bearer(new.secret))
    assert resp.status_code == 401 and "revoked" in resp.get_json()["detail"]


def test_a_viewer_token_may_read_but_not_send(app: Flask, client: FlaskClient, demo: Any) -> None:
    viewer = bearer(token_for(app, "viewer@solvik.example"))
    assert client.get("/api/v1/templates", headers=viewer).status_code == 200
    resp = client.post("/api/v1/notices", json=NOTICE, headers={**viewer, "Idempotency-Key": "k" * 20})
    assert resp.status_code == 403 and resp.mimetype == PROBLEM
    assert "viewer" in resp.get_json()["detail"]


def test_a_notice_is_sent_once_per_idempotency_key(app: Flask, client: FlaskClient,
                                                    operator: dict[str, str]) -> None:
    headers = {**operator, "Idempotency-Key": "2f0c6f1e-first-send"}
    first = client.post("/api/v1/notices", json=NOTICE, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/notices", json=NOTICE, headers=headers)
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    notice_id = first.get_json()["notices"][0]["id"]
    assert again.get_json()["notices"][0]["id"] == notice_id
    with app.app_context():
        assert db.session().query(Notice).count() == 1
        assert db.session().get(Notice, notice_id).created_by.startswith(
            "user:operator@solvik.example (API token ntf_")
    other = client.post("/api/v1/notices", json={**NOTICE, "channels": ["sms"]}, headers=headers)
    assert other.status_code == 409 and other.mimetype == PROBLEM
    shown = client.get(f"/api/v1/notices/{notice_id}", headers=operator).get_json()
    assert set(shown["progress"]) == {"sms", "email"} and shown["template"] == "phone-lines-down"
    assert shown["created_at"].endswith("Z")


def test_a_notice_without_a_key_is_refused_with_what_to_send(client: FlaskClient,
                                                            operator: dict[str, str]) -> None:
    resp = client.post("/api/v1/notices", json=NOTICE, headers=operator)
    assert resp.status_code == 400 and "Idempotency-Key" in resp.get_json()["detail"]


def test_bad_values_name_the_field_and_what_to_do(client: FlaskClient,
                                                  operator: dict[str, str]) -> None:
    resp = client.post("/api/v1/notices/preview", headers=operator, json={
        **NOTICE, "values": {"contacts": ["nowhere"]}})
    assert resp.status_code == 422 and resp.mimetype == PROBLEM
    assert "contacts" in resp.get_json()["errors"]
    typo = client.post("/api/v1/notices/preview", headers=operator, json={**NOTICE, "chanels": []})
    assert typo.status_code == 422 and "chanels" in typo.get_json()["errors"]


def test_the_preview_renders_every_language_and_counts_recipients(
        client: FlaskClient, operator: dict[str, str]) -> None:
    body = client.post("/api/v1/notices/preview", json=NOTICE, headers=operator).get_json()
    assert {(r["language"], r["channel"]) for r in body["rendered"]} == {
        ("sv", "sms"), ("sv", "email"), ("en", "sms"), ("en", "email")}
    assert body["total"] > 0 and body["counts"]["sms"]["sv"] > 0


def test_pause_resume_cancel(client: FlaskClient, operator: dict[str, str]) -> None:
    made = client.post("/api/v1/notices", json=NOTICE,
                       headers={**operator, "Idempotency-Key": "pause-resume-cancel"}).get_json()
    notice_id = made["notices"][0]["id"]
    assert client.post(f"/api/v1/notices/{notice_id}/pause", headers=operator).status_code == 200
    assert client.post(f"/api/v1/notices/{notice_id}/resume", headers=operator).status_code == 200
    assert client.post(f"/api/v1/notices/{notice_id}/cancel", headers=operator).status_code == 200
    again = client.post(f"/api/v1/notices/{notice_id}/cancel", headers=operator)
    assert again.status_code == 409 and "nothing left to cancel" in again.get_json()["detail"]


def test_four_eyes_holds_in_the_api_as_in_the_console(app: Flask, client: FlaskClient,
                                                      demo: Any) -> None:
    approver = bearer(token_for(app, "approver@solvik.example"))
    editor = bearer(token_for(app, "editor@solvik.example"))
    with app.app_context(), db.transaction() as s:
        base = versions.find(s, "update", 1)
        data = dict(base.content)
        data["title"] = {**data["title"], "en": data["title"]["en"] + " (revised)"}
        from sqlalchemy import select

        from notifier.models import User
        author = s.scalar(select(User).where(User.email == "approver@solvik.example"))
        draft = versions.save_edit(s, base, data, author)
        number = draft.number
    own = client.post(f"/api/v1/templates/update/versions/{number}/approve", json={},
                      headers=approver)
    assert own.status_code == 403 and "four-eyes" in own.get_json()["detail"]
    not_approver = client.post(f"/api/v1/templates/update/versions/{number}/approve", json={},
                               headers=editor)
    assert not_approver.status_code == 403
    admin = bearer(token_for(app, "admin@solvik.example"))
    done = client.post(f"/api/v1/templates/update/versions/{number}/approve",
                       json={"comment": "ok"}, headers=admin)
    assert done.status_code == 200 and done.get_json()["approved_version"] == number
    with app.app_context():
        assert db.session().query(TemplateVersion).filter_by(number=number, state="approved").count() == 1


def test_subscribers_can_be_created_changed_exported_and_deleted(
        client: FlaskClient, admin: dict[str, str], operator: dict[str, str]) -> None:
    body = {"name": "Test Person", "language": "en", "phone": "070-174 06 80",
            "email": "test.person@example.se", "segments": ["private"]}
    assert client.post("/api/v1/subscribers", json=body, headers=operator).status_code == 403
    made = client.post("/api/v1/subscribers", json=body, headers=admin)
    assert made.status_code == 201, made.get_json()
    sub = made.get_json()
    assert {(s["channel"], s["address"]) for s in sub["subscriptions"]} == {
        ("sms", "+46701740680"), ("email", "test.person@example.se")}
    changed = client.put(f"/api/v1/subscribers/{sub['id']}", headers=admin,
                         json={**body, "email": "", "segments": ["business"]}).get_json()
    assert [s["channel"] for s in changed["subscriptions"]] == ["sms"]
    assert changed["segments"] == ["business"]
    csv = client.get("/api/v1/subscribers/export.csv", headers=admin)
    assert csv.mimetype == "text/csv" and "+46701740680" in csv.get_data(as_text=True)
    bad = client.post("/api/v1/subscribers", headers=admin, json={**body, "phone": "08-123 45 67"})
    assert bad.status_code == 422 and "phone" in bad.get_json()["errors"]
    assert client.delete(f"/api/v1/subscribers/{sub['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/subscribers/{sub['id']}", headers=admin).status_code == 404


def test_contacts_state_and_banner(client: FlaskClient, operator: dict[str, str]) -> None:
    contacts = client.get("/api/v1/contacts", headers=operator).get_json()
    assert {c["key"] for c in contacts} >= {"kundservice", "vaxel"}
    assert "nordtel" in next(c for c in contacts if c["key"] == "vaxel")["depends_on"]
    down = client.put("/api/v1/contacts/kundservice/state", json={"state": "down"}, headers=operator)
    assert down.status_code == 200 and down.get_json()["state"] == "down"
    bad = client.put("/api/v1/contacts/kundservice/state", json={"state": "broken"}, headers=operator)
    assert bad.status_code == 422 and "state" in bad.get_json()["errors"]
    assert client.get("/api/v1/banner", headers=operator).get_json()["banners"] == []


def test_an_unknown_api_url_is_a_problem_and_console_errors_stay_pages(client: FlaskClient) -> None:
    resp = client.get("/api/v1/nothing-here", headers={"Authorization": "Bearer x"})
    assert resp.mimetype == PROBLEM
    assert client.get("/no-such-page").mimetype == "text/html"


def test_the_readme_lists_every_url_the_notifier_serves(app: Flask) -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Every URL and who may call it", 1)[1].split("\n## ", 1)[0]
    listed = {re.sub(r"<[^>]+>", "<>", u) for u in re.findall(r"`(/[^`]*)`", table)}
    for rule in app.url_map.iter_rules():
        shape = re.sub(r"<[^>]+>", "<>", rule.rule)
        assert shape in listed, f"{rule.rule} is not in the README's URL table"


def test_a_nul_character_is_refused_clearly_everywhere(client: FlaskClient,
                                                       operator: dict[str, str]) -> None:
    resp = client.post("/api/v1/notices/preview", headers=operator,
                       json={**NOTICE, "values": {"contacts": ["vaxel\x00"]}})
    assert resp.status_code == 400 and resp.mimetype == PROBLEM
    assert "NUL" in resp.get_json()["detail"]
    assert client.get("/api/v1/templates/a%00b", headers=operator).status_code == 400
    assert client.post("/webhooks/twilio/inbound", data={"Body": "STOP\x00"}).status_code == 400
