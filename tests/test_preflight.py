"""Sanity before sending: warnings an operator can act on, the SMS budget, the dry run, the chooser."""
from __future__ import annotations

import re
import subprocess
from datetime import datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from notifier import clock, contacts, db, dispatch, preflight
from notifier.models import Template, TemplateVersion

from .conftest import OPERATOR_ENV, AuthActions, notifier_cmd

SEND = "/send/phone-lines-down"
LONG_URL = "https://www.solvik.example/driftinformation/telefoni/2026-11-28/status-och-alternativ"


def _prepare(app: Flask, values: dict[str, Any], **options: Any) -> dispatch.Preview:
    options.setdefault("channels", ["sms"])
    with app.app_context():
        return dispatch.prepare(db.session(), dispatch.NoticeRequest("phone-lines-down", values,
                                                                     **options))


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_an_expected_fix_time_already_past_is_pointed_out(app: Flask, demo: Any) -> None:
    preview = _prepare(app, {"contacts": ["vaxel"], "eta": "13:00"})
    at = datetime(2026, 11, 28, 14, 40, tzinfo=clock.ZONE)
    with app.test_request_context("/?lang=en"):
        [warning] = preflight.past_times(preview, now=at)
        assert warning.startswith("“Expected fix” is 13:00, which has already passed (it is 14:40)")
        assert preflight.past_times(preview, now=at.replace(hour=12)) == []
    with app.test_request_context("/?lang=sv"):
        assert preflight.past_times(preview, now=at)[0].startswith("”Beräknat klart” är 13:00")


def test_the_approver_budget_is_measured_at_approval_and_the_preview_names_the_field_to_drop(
        app: Flask, demo: Any) -> None:
    with app.app_context():
        version = db.session().scalar(select(TemplateVersion).join(Template).where(
            Template.key == "phone-lines-down", TemplateVersion.state == "approved"))
        assert version is not None and version.sms_budget == 2
    preview = _prepare(app, {"contacts": ["kundservice", "support", "vaxel"], "eta": "13:00",
                             "info_url": LONG_URL})
    assert preview.rendered["sv"]["sms"].sms.segments == 3  # type: ignore[union-attr]
    with app.test_request_context("/?lang=en"):
        warnings = preflight.over_budget(preview, 2)
    assert any("The Swedish SMS is 3 segments, more than the 2 the approved template allows"
               in w and "Leave out “Expected fix” or “Service status page” (optional)" in w
               for w in warnings), warnings
    assert not any("shorten it" in w for w in warnings)


def test_a_delivery_channel_nobody_has_and_a_contact_channel_down_are_pointed_out(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    with app.app_context(), db.transaction() as s:
        contacts.set_state(s, "kundservice", "down")
    auth.login("operator@solvik.example")
    page = client.get(SEND).get_data(as_text=True)
    shown = client.post(SEND, data={"csrf_token": _token(page), "var-contacts": ["vaxel"],
                                    "channels": ["sms", "telegram"], "segments": ["region-mitt"],
                                    "action": "preview"}).get_data(as_text=True)
    assert "Nobody gets it by Telegram: no subscriber in the chosen segments has a Telegram " \
           "subscription." in shown
    assert "Customer service is marked down: it is not offered in this notice" in shown


def test_ticking_drill_leaves_the_banner_out_instead_of_failing(
        client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("operator@solvik.example")
    page = client.get(SEND).get_data(as_text=True)
    resp = client.post(SEND, data={"csrf_token": _token(page), "var-contacts": ["vaxel"],
                                   "channels": ["sms", "banner"], "segments": ["staff"],
                                   "drill": "1", "action": "preview"})
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "DRILL" in text and "ÖVNING: " in text
    assert "plus the website banner" not in text and "<h4>Website banner</h4>" not in text


def test_a_follow_up_form_says_truthfully_whom_it_goes_to(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, ["sms"],
                                 ["region-syd"])
    with app.app_context(), db.transaction() as s:
        first = dispatch.confirm(s, req, "test")
    auth.login("operator@solvik.example")
    page = client.get(f"/send/update?incident={first.incident_id}").get_data(as_text=True)
    assert "none = every subscriber" not in page
    assert f"Pre-ticked: the segments the first notice of incident #{first.incident_id} went to" \
           in page


def test_the_chooser_puts_the_likeliest_first_and_searches(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("operator@solvik.example")
    quiet = client.get("/send").get_data(as_text=True)
    keys = re.findall(r'href="/send/([a-z-]+)"', quiet)
    assert keys[0] == "phone-lines-down"
    assert keys.index("update") > keys.index("planned-maintenance")

    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, ["sms"])
    with app.app_context(), db.transaction() as s:
        notice = dispatch.confirm(s, req, "test")
    during = client.get("/send").get_data(as_text=True)
    keys = re.findall(r'href="/send/([a-z-]+)\?incident=', during)
    assert keys[:2] == ["update", "all-clear"]
    assert f"/send/update?incident={notice.incident_id}" in during

    found = client.get("/send?q=maintenance").get_data(as_text=True)
    assert re.findall(r'<a class="big" href="/send/([a-z-]+)', found) == ["planned-maintenance"]
    sv = client.get("/send", headers={"Accept-Language": "sv"}).get_data(as_text=True)
    assert "Telefonnumren 020 och 0771 går inte att nå" in sv and "Skicka meddelande" in sv


def test_send_dry_run_prints_the_preview_and_sends_nothing(
        app: Flask, env: dict[str, str], demo: Any) -> None:
    import os

    out = subprocess.run(notifier_cmd("send", "phone-lines-down", "--var",
                                      "contacts=kundservice,support,vaxel", "--var", "eta=13:00",
                                      "--var", f"info_url={LONG_URL}", "--channels", "sms,email",
                                      "--dry-run"),
                         env={**os.environ, **env, **OPERATOR_ENV}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "--- sv sms ---" in text and "--- en email ---" in text
    assert re.search(r"^\(GSM-7, \d+ characters, 3 segment\(s\)\)$", text, re.MULTILINE)
    assert re.search(r"^sms\s+43 \(\d+ Swedish, \d+ English\), \d+ segments at 200/s", text,
                     re.MULTILINE)
    assert "warning: The Swedish SMS is 3 segments" in text
    assert text.rstrip().endswith("dry run: nothing was sent")
    with app.app_context():
        from notifier.models import Notice

        assert db.session().scalar(select(Notice.id)) is None


def test_an_empty_required_field_and_a_drill_without_segment_are_said_in_swedish(
        client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("operator@solvik.example")
    sv = {"Accept-Language": "sv"}
    page = client.get(SEND, headers=sv).get_data(as_text=True)
    empty = client.post(SEND, headers=sv, data={"csrf_token": _token(page), "channels": ["sms"],
                                                "action": "preview"})
    assert empty.status_code == 422
    assert "”Kontaktvägar som fungerar” är obligatoriskt: fyll i det." in empty.get_data(
        as_text=True)
    drill = client.post(SEND, headers=sv, data={"csrf_token": _token(page), "channels": ["sms"],
                                                "var-contacts": ["vaxel"], "drill": "1",
                                                "var-eta": "12:34", "action": "preview"})
    text = drill.get_data(as_text=True)
    assert drill.status_code == 422 and "En övning går till en testgrupp" in text
    assert 'value="12:34"' in text  # what was typed is kept


def test_the_shipped_templates_name_the_configured_company(
        app: Flask, demo: Any) -> None:
    app.config["ORGANISATION"] = "Nordvind Tele AB"
    preview = _prepare(app, {"contacts": ["vaxel"]}, channels=["sms", "email"])
    assert preview.rendered["sv"]["sms"].text.startswith("Nordvind Tele AB: ")
    assert preview.rendered["en"]["email"].text.rstrip().endswith("Customer service, Nordvind Tele AB")
    assert "Solvik" not in preview.rendered["sv"]["sms"].text


def test_an_editor_writes_a_new_template_that_waits_for_approval(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("editor@solvik.example")
    form = client.get("/templates/new").get_data(as_text=True)
    taken = client.post("/templates/new", data={"csrf_token": _token(form),
                                                "key": "phone-lines-down",
                                                "source": "phone-lines-down"})
    assert taken.status_code == 422 and "exists already" in taken.get_data(as_text=True)
    made = client.post("/templates/new", data={"csrf_token": _token(form), "key": "storm-outage",
                                               "source": "phone-lines-down"})
    assert made.status_code == 302 and made.headers["Location"] == "/templates/storm-outage/1/edit"
    auth.logout()
    auth.login("approver@solvik.example")
    listing = client.get("/templates").get_data(as_text=True)
    waiting = listing[listing.index("Waiting for approval"):listing.index("</section>")]
    assert "storm-outage v1" in waiting and "you can approve it" in waiting
    assert "storm-outage v1" in client.get("/").get_data(as_text=True)
