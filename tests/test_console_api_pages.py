"""Console pages of the API area: a draft waiting for one click, one's own API tokens."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from notifier import db, tokens
from notifier.models import ContactChannel, Notice

from .conftest import AuthActions
from .test_alerts import RULES, payload


def _alert(app: Flask, client: FlaskClient) -> int:
    app.config["ALERT_RULES"] = str(RULES)
    with app.app_context(), db.transaction() as s:
        secret = tokens.create(s, "admin@solvik.example", "alertmanager").secret
    resp = client.post("/api/v1/alerts/alertmanager", json=payload(),
                       headers={"Authorization": f"Bearer {secret}"})
    return int(resp.get_json()["outcomes"][0]["incident_id"])


def test_a_waiting_draft_shows_on_every_page_and_one_click_sends_it(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    incident_id = _alert(app, client)
    auth.login("operator@solvik.example")
    home = client.get("/?lang=en").get_data(as_text=True)
    assert "Monitoring proposes a notice that waits for a person" in home
    assert f"/drafts/{incident_id}" in home
    page = client.get(f"/drafts/{incident_id}?lang=en").get_data(as_text=True)
    assert "not sent, not public" in page and "phone-lines-down" in page
    assert "Customer service</strong> (kundservice): up &rarr; <strong>down" in page
    token = auth.csrf(f"/drafts/{incident_id}")
    done = client.post(f"/drafts/{incident_id}/confirm", data={"csrf_token": token})
    assert done.status_code == 302 and "/notices/" in done.headers["Location"]
    with app.app_context():
        s = db.session()
        assert s.query(Notice).count() == 1
        assert s.query(ContactChannel).filter_by(key="kundservice").one().state == "down"
    assert "waits for a person" not in client.get("/?lang=en").get_data(as_text=True)


def test_a_viewer_sees_the_draft_but_cannot_send_it(app: Flask, client: FlaskClient,
                                                    auth: AuthActions, demo: Any) -> None:
    incident_id = _alert(app, client)
    auth.login("viewer@solvik.example")
    page = client.get(f"/drafts/{incident_id}?lang=en").get_data(as_text=True)
    assert "Mark the contact channels and send" not in page
    resp = client.post(f"/drafts/{incident_id}/confirm", data={"csrf_token": auth.csrf("/")})
    assert resp.status_code == 403


def test_a_token_is_shown_once_listed_with_its_prefix_and_revoked(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("operator@solvik.example")
    made = client.post("/account/tokens", data={"name": "monitoring",
                                                "csrf_token": auth.csrf("/account/tokens")})
    page = made.get_data(as_text=True)
    secret = re.search(r'<code class="secret">(ntf_[^<]+)</code>', page).group(1)
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {secret}"},
                      ).status_code == 200
    listing = client.get("/account/tokens?lang=en").get_data(as_text=True)
    assert secret not in listing and secret[:12] in listing
    token_id = re.search(r"/account/tokens/(\d+)/revoke", listing).group(1)
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": auth.csrf("/account/tokens")})
    assert "revoked" in client.get("/account/tokens?lang=en").get_data(as_text=True)
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {secret}"},
                      ).status_code == 401
