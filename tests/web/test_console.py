"""What the console pages show a user: estimates, the preview summary, rendered templates, labels."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notifier import db, dispatch
from notifier.models import Notice
from notifier.web.formatting import duration

from ..conftest import AuthActions

SEND = "/send/phone-lines-down"


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _preview(client: FlaskClient, contacts: list[str]) -> str:
    page = client.get(SEND).get_data(as_text=True)
    resp = client.post(SEND, data={"csrf_token": _token(page), "var-contacts": contacts,
                                   "var-eta": "13:00", "channels": ["sms", "email", "telegram"],
                                   "action": "preview"})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _notice(app: Flask, **extra: Any) -> Notice:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, ["sms", "email"],
                                 **extra)
    with app.app_context(), db.transaction() as s:
        return dispatch.confirm(s, req, "test")


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.2, "about 1 s"), (8.6, "about 9 s"), (59, "about 59 s"), (90, "about 2 min"),
    (3600, "about 1 h"), (9600, "about 2 h 40 min"),
])
def test_durations_read_as_a_person_would_say_them(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_the_sms_estimate_counts_segments_at_the_configured_rate(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config["RATES"], "sms", 10.0)
    auth.login("operator@solvik.example")
    page = _preview(client, ["kundservice", "support", "vaxel"])

    segments = [int(n) for n in re.findall(r"GSM-7, \d+ characters, (\d+) segment", page)]
    assert segments == [2, 2]  # the Swedish and the English SMS
    row = page[page.index('<tr><th scope="row">SMS</th>'):].split("</tr>")[0]
    sv, en = (int(n) for n in re.findall(r'data-label="(?:Swedish|English)">(\d+)<', row))
    assert sv + en == 43
    assert "about 9 s" in row and "(86 segments at 10 segments/s)" in row
    assert "5 s at 10/s" not in page


def test_preview_jumps_to_a_summary_with_confirm_above_the_full_preview(
        client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("operator@solvik.example")
    form = client.get(SEND).get_data(as_text=True)
    assert f'formaction="{SEND}#preview"' in form and 'id="preview"' not in form

    page = _preview(client, ["vaxel"])
    assert f'formaction="{SEND}#preview"' in page
    summary = page[page.index('id="preview"'):page.index('<article class="variant">')]
    assert 'value="confirm"' in summary and "Confirm and send to 94" in summary
    assert "<strong>SMS</strong>: 43 (" in summary
    assert page.count('value="confirm"') == 2  # and again below the messages


def test_a_version_shows_each_message_rendered_with_sample_values(
        client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("approver@solvik.example")
    page = client.get("/templates/phone-lines-down/1").get_data(as_text=True)
    rendered, source = page.split("<details", 1)
    rendered = rendered[rendered.index('id="rendered"'):]
    assert "{{" not in rendered and "{%" not in rendered
    assert "kl. 13.00" in rendered and "1:00 pm" in rendered  # eta = 13:00 in each language
    assert re.search(r"GSM-7 · \d+ characters · \d+ segments? \(", rendered)
    assert "https://solvikenergi.se/driftinfo" in rendered  # the sample link
    assert "{{" in source  # the template source stays available, folded


def test_tables_label_every_cell_for_a_phone(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    notice = _notice(app)
    auth.login("operator@solvik.example")
    contacts = client.get("/contacts").get_data(as_text=True)
    row = contacts[contacts.index("Customer service"):].split("</tr>")[0]
    assert 'data-label="Value"' in row and 'data-label="State"' in row and "Mark down" in row

    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    sms = page[page.index('<tr data-channel="sms">'):].split("</tr>")[0]
    assert '<td data-status="queued" data-label="queued">43</td>' in sms
    assert 'data-status="retry_wait" data-label="waiting for the provider" class="zero"' in sms


def test_times_say_they_are_swedish_time(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    notice = _notice(app)
    auth.login("viewer@solvik.example")
    for path in ("/", f"/notices/{notice.id}", f"/incidents/{notice.incident_id}"):
        page = client.get(path).get_data(as_text=True)
        assert "All times are Swedish time" in page, path
        shown = re.sub(r'datetime="[^"]*"', "", page)  # machine-readable times are fine
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", shown), path


def test_a_drill_is_unmistakable_on_the_dashboard_and_its_page(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    real = _notice(app)
    drill = _notice(app, segments=["staff"], drill=True)
    auth.login("viewer@solvik.example")

    page = client.get(f"/notices/{drill.id}").get_data(as_text=True)
    assert "<strong>This is a drill</strong>: only the test segment staff got it" in page
    assert "This is a drill" not in client.get(f"/notices/{real.id}").get_data(as_text=True)
    assert "This is a drill" in client.get(f"/incidents/{drill.incident_id}").get_data(as_text=True)

    dashboard = client.get("/").get_data(as_text=True)
    card = dashboard[dashboard.rindex('<div class="card drill">'):]
    assert f"Notice {drill.id}:" in card.split("</div>")[0]
    assert "drill to staff only" in card
    assert dashboard.count('<div class="card drill">') == 1


def test_console_pages_need_no_inline_script_or_style(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    """A strict Content-Security-Policy (script-src and style-src 'self') breaks none of them."""
    notice = _notice(app)
    auth.login("admin@solvik.example")
    paths = ["/", "/send", SEND, f"/notices/{notice.id}", f"/incidents/{notice.incident_id}",
             f"/incidents/{notice.incident_id}/report", "/contacts", "/contacts/new", "/users",
             "/audit", "/sandbox", "/templates", "/templates/new",
             "/templates/phone-lines-down/1", "/templates/phone-lines-down/1/edit", "/status"]
    for path in paths:
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert not re.search(r"<style|\sstyle=", page), path
