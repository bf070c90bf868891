"""An incident as one story, and an all-clear after which the banner, /status and the API agree."""
from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from notifier import banner, contacts, db, dispatch
from notifier.models import ContactChannel

from .conftest import OPERATOR_ENV, AuthActions, notifier_cmd, wait_until

ALL_CLEAR = "/send/all-clear"


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def _outage(app: Flask, client: FlaskClient, auth: AuthActions) -> int:
    """Mark 020 and 0771 down in the console, send the outage notice; return the incident id."""
    auth.login("operator@solvik.example")
    token = _token(client.get("/contacts").get_data(as_text=True))
    for key in ("kundservice", "support"):
        client.post(f"/contacts/{key}", data={"state": "down", "csrf_token": token})
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel", "chatt"]},
                                 ["sms", "banner"])
    with app.app_context(), db.transaction() as s:
        notice = dispatch.confirm(s, req, "user:operator@solvik.example")
        banner.publish(s)
        return notice.incident_id


def _publish(app: Flask) -> None:
    with app.app_context(), db.transaction() as s:
        banner.publish(s)


def test_the_incident_page_tells_the_story_in_order(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    incident = _outage(app, client, auth)
    page = client.get(f"/incidents/{incident}").get_data(as_text=True)
    story = page[page.index('class="timeline story"'):]
    down = story.index("operator@solvik.example marked Customer service down (was up)")
    notice = story.index("Notice 1: first notice")
    shown = story.index("The website banner shows notice 1")
    assert down < notice < shown
    sv = client.get(f"/incidents/{incident}", headers={"Accept-Language": "sv"}).get_data(
        as_text=True)
    assert "markerade Kundservice som ur funktion (var fungerar)" in sv


def _summary(client: FlaskClient) -> dict[str, Any]:
    return json.loads(client.get("/api/v2/summary.json").data)


def test_the_all_clear_marks_the_channels_back_up_so_every_public_page_agrees(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    incident = _outage(app, client, auth)
    assert _summary(client)["status"]["indicator"] == "critical"
    form = client.get(f"{ALL_CLEAR}?incident={incident}").get_data(as_text=True)
    restore = form[form.index("Contact channels that are back"):]
    assert re.search(r'name="restore" value="kundservice" checked', restore)
    assert re.search(r'name="restore" value="support" checked', restore)

    data = {"csrf_token": _token(form), "var-restored": "phones", "incident_id": str(incident),
            "channels": ["sms", "banner"], "restore": ["kundservice", "support"],
            "action": "preview"}
    preview = client.post(ALL_CLEAR, data=data).get_data(as_text=True)
    assert "still marked down" not in preview
    data.update(action="confirm", preview_hash=re.search(
        r'name="preview_hash" value="([^"]+)"', preview).group(1))  # type: ignore[union-attr]
    done = client.post(ALL_CLEAR, data=data, follow_redirects=True).get_data(as_text=True)
    assert "Marked up again: Customer service, Support." in done
    _publish(app)

    with app.app_context():
        states = {c.key: c.state for c in contacts.all_contacts(db.session())}
    assert set(states.values()) == {"up"}
    summary = _summary(client)
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert {c["status"] for c in summary["components"]} == {"operational"}
    assert summary["incidents"] == []
    status = client.get("/status?lang=en").get_data(as_text=True)
    assert "Everything is working as usual." in status and "tel:+4620123456" in status
    doc = wait_until(lambda: (d := json.loads(client.get("/banner.json").data))["banners"] and d,
                     timeout=5, what="the resolved banner")
    assert doc["banners"][0]["resolved"] is True


def test_without_an_incident_the_status_page_says_what_is_down(
        app: Flask, client: FlaskClient, demo: Any) -> None:
    with app.app_context(), db.transaction() as s:
        contacts.set_state(s, "kundservice", "down")
    status = client.get("/status?lang=en").get_data(as_text=True)
    assert "These do not work right now:" in status and "Customer service" in status
    assert "Everything is working as usual." not in status
    assert _summary(client)["status"]["indicator"] == "minor"


def test_the_command_line_all_clear_marks_up_what_went_down_in_the_incident(
        app: Flask, env: dict[str, str], client: FlaskClient, auth: AuthActions,
        demo: Any) -> None:
    incident = _outage(app, client, auth)
    out = subprocess.run(notifier_cmd("send", "all-clear", "--incident", str(incident), "--var",
                                      "restored=phones", "--yes"),
                         env={**os.environ, **env, **OPERATOR_ENV}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "marked up again: kundservice, support" in out.stdout
    with app.app_context():
        assert set(db.session().scalars(select(ContactChannel.state))) == {"up"}
