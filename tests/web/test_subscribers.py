"""Subscribers in the console: search, one person's page, fixes, upload, export, the status line."""
from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from notifier import db
from notifier.models import AuditEvent, Subscriber, Subscription
from notifier.sandbox.client import SandboxClient

from ..customer_helpers import send_notice


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A Swedish visitor: these pages are checked in the language most customers read."""
    swedish = app.test_client()
    swedish.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv"
    return swedish



def _id(app: Flask, name: str) -> int:
    with app.app_context():
        return int(db.session().scalar(select(Subscriber.id).where(Subscriber.name == name)))


@pytest.mark.parametrize("query", ["lindqvist", "070-174 06 05", "+46701740605", "06 05",
                                   "anna.0@example.se", "C10000"])
def test_search_finds_a_subscriber_by_name_number_email_or_customer_number(
        client: FlaskClient, demo: Any, auth: Any, query: str) -> None:
    auth.login("viewer@solvik.example")
    page = client.get("/subscribers", query_string={"q": query}).get_data(as_text=True)
    assert "Anna Lindqvist" in page
    assert "Erik Johansson" not in page


def test_a_persons_page_shows_states_with_reasons_and_what_they_received(
        app: Flask, client: FlaskClient, demo: Any, auth: Any, sandbox: SandboxClient) -> None:
    send_notice(app, ("sms", "telegram"), ("staff",))
    kim = _id(app, "Kim Beredskap")
    with app.app_context(), db.transaction() as s:
        s.execute(update(Subscription).where(Subscription.subscriber_id == kim,
                                             Subscription.channel == "telegram")
                  .values(status="blocked", status_reason="blocked the Telegram bot"))
    auth.login("viewer@solvik.example")
    page = client.get(f"/subscribers/{kim}").get_data(as_text=True)
    assert "blocked the Telegram bot" in page and "<strong>blocked</strong>" in page
    assert "<strong>active</strong>" in page  # SMS and email still active
    assert "#1 phone-lines-down" in page and 'data-status="sent"' in page
    assert "import" in page  # the consent's source
    assert "Fix the address" not in page and "Erase" not in page  # a viewer only looks


def test_an_operator_fixes_a_bounced_address_and_it_is_sent_to_again(
        app: Flask, client: FlaskClient, demo: Any, auth: Any) -> None:
    kim = _id(app, "Kim Beredskap")
    with app.app_context(), db.transaction() as s:
        sub = s.scalar(select(Subscription).where(Subscription.subscriber_id == kim,
                                                  Subscription.channel == "email"))
        sub.status, sub.status_reason = "bounced", "SendGrid bounce: 5.1.1"
        sub_id = sub.id
    auth.login("operator@solvik.example")
    token = auth.csrf(f"/subscribers/{kim}")
    bad = client.post(f"/subscribers/subscriptions/{sub_id}/address",
                      data={"address": "kim@", "csrf_token": token}, follow_redirects=True)
    assert "&#39;kim@&#39; är ingen giltig e-postadress" in bad.get_data(as_text=True)
    good = client.post(f"/subscribers/subscriptions/{sub_id}/address",
                       data={"address": "Kim.Beredskap@Solvik.example", "csrf_token": token},
                       follow_redirects=True)
    assert "Adressen är rättad." in good.get_data(as_text=True)
    with app.app_context():
        sub = db.session().get(Subscription, sub_id)
        assert (sub.address, sub.status) == ("Kim.Beredskap@solvik.example", "active")
        event = db.session().scalar(select(AuditEvent).where(
            AuditEvent.action == "subscription.fix"))
        assert event is not None and "solvik" not in json.dumps(event.detail)


def test_the_export_goes_through_the_one_csv_writer(app: Flask, client: FlaskClient, demo: Any,
                                                   auth: Any) -> None:
    auth.login("operator@solvik.example")
    assert client.get("/subscribers/export.csv").status_code == 403
    auth.logout()
    auth.login("admin@solvik.example")
    resp = client.get("/subscribers/export.csv")
    body = resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv" and body.startswith("\ufeffsubscriber_id,external_id,name")
    assert "+46701740690" in body and "staff" in body and "import" in body
    assert re.search(r",\d{4}-\d\d-\d\d \d\d:\d\d,", body)  # consent time, Swedish time


def test_an_upload_shows_the_same_report_and_it_can_be_downloaded(
        app: Flask, client: FlaskClient, demo: Any, auth: Any) -> None:
    auth.login("operator@solvik.example")
    csv_bytes = ("Namn;Telefon;E-post\nNy Kund;070-174 06 70;ny@example.se\n"
                 "Fast;08-123 45 67;fast@example.se\nTrasig;070-1;\n;;\n").encode("cp1252")

    def upload(dry: bool) -> str:
        data: dict[str, Any] = {"file": (io.BytesIO(csv_bytes), "kunder.csv"),
                                "csrf_token": auth.csrf("/subscribers/import")}
        if dry:
            data["dry_run"] = "yes"
        return client.post("/subscribers/import", data=data,
                           content_type="multipart/form-data").get_data(as_text=True)

    dry = upload(True)
    assert "provkörning, inget sparat: 2 skulle läggas till" in dry
    assert _count(app, "Ny Kund") == 0
    page = upload(False)
    assert "2 tillagda, 0 ändrade, 1 avvisade, 0 oförändrade" in page
    assert "08-123 45 67" in page and "Windows-1252" in page
    assert _count(app, "Ny Kund") == 1 and _count(app, "Fast") == 1
    issues = re.search(r'name="issues" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    import html

    report = client.post("/subscribers/import/report.csv",
                         data={"issues": html.unescape(issues),
                               "csrf_token": auth.csrf("/subscribers/import")})
    text = report.get_data(as_text=True)
    assert report.mimetype == "text/csv" and text.startswith("\ufeff")
    assert "'070-1'" in text and "08-123 45 67" in text


def _count(app: Flask, name: str) -> int:
    with app.app_context():
        return len(db.session().scalars(select(Subscriber.id).where(Subscriber.name == name))
                   .all())


def test_a_broken_upload_is_a_clear_error(client: FlaskClient, demo: Any, auth: Any) -> None:
    auth.login("operator@solvik.example")
    resp = client.post("/subscribers/import", content_type="multipart/form-data", data={
        "file": (io.BytesIO(b"PK\x03\x04xlsx"), "kunder.xlsx"),
        "csrf_token": auth.csrf("/subscribers/import")})
    assert resp.status_code == 400
    assert "Excel" in resp.get_data(as_text=True)


def test_the_sandbox_status_line_page_needs_a_login(client: FlaskClient, demo: Any) -> None:
    assert client.get("/statusline").status_code == 302
