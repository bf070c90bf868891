"""Administration in the console: accounts, contact channels, the audit log, the sandbox inbox,
and the language every page speaks."""
from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from notifier import contacts, db, dispatch
from notifier.models import User

from .conftest import AuthActions


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_an_invited_person_sets_a_password_through_the_link_once(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("admin@solvik.example")
    token = _token(client.get("/users").get_data(as_text=True))
    page = client.post("/users", data={"csrf_token": token, "email": "Ann@Example.se",
                                       "name": "Ann", "role": "operator"}).get_data(as_text=True)
    assert "ann@example.se is invited" in page and "invited, no password yet" in page, \
        page[page.index("<main"):][:800]
    link = re.search(r'id="link" value="(http[^"]+)"', page).group(1)  # type: ignore[union-attr]
    path = link.split("//", 1)[1].split("/", 1)[1]
    auth.logout()

    form = client.get(f"/{path}").get_data(as_text=True)
    assert "For ann@example.se" in form
    short = client.post(f"/{path}", data={"csrf_token": _token(form), "password": "short",
                                          "again": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    done = client.post(f"/{path}", data={"csrf_token": _token(form), "password": "a long enough one",
                                         "again": "a long enough one"})
    assert done.status_code == 302
    assert auth.login("ann@example.se", "a long enough one").headers["Location"] == "/"
    auth.logout()
    used = client.get(f"/{path}")
    assert used.status_code == 400 and "used already" in used.get_data(as_text=True)


def test_roles_change_accounts_deactivate_and_the_last_admin_stays(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    with app.app_context():
        ids = {u.email: u.id for u in db.session().scalars(select(User))}
    auth.login("admin@solvik.example")
    token = _token(client.get("/users").get_data(as_text=True))
    shown = client.post(f"/users/{ids['viewer@solvik.example']}/role",
                        data={"csrf_token": token, "role": "operator"},
                        follow_redirects=True).get_data(as_text=True)
    assert "Saved: viewer@solvik.example." in shown
    alone = client.post(f"/users/{ids['admin@solvik.example']}/role",
                        data={"csrf_token": token, "role": "viewer"},
                        follow_redirects=True).get_data(as_text=True)
    assert "admin@solvik.example is the last active admin" in alone
    self_off = client.post(f"/users/{ids['admin@solvik.example']}/deactivate",
                           data={"csrf_token": token}, follow_redirects=True)
    assert "cannot deactivate your own account" in self_off.get_data(as_text=True)
    client.post(f"/users/{ids['editor@solvik.example']}/deactivate", data={"csrf_token": token})
    reset = client.post(f"/users/{ids['approver@solvik.example']}/reset",
                        data={"csrf_token": token}).get_data(as_text=True)
    assert "The old password of approver@solvik.example no longer works" in reset
    auth.logout()
    assert auth.login("editor@solvik.example").status_code == 200  # refused: form again
    assert auth.login("approver@solvik.example").status_code == 200
    assert auth.login("viewer@solvik.example").headers["Location"] == "/"
    assert client.get("/send").status_code == 200  # an operator now
    assert client.get("/users").status_code == 403


def test_an_admin_adds_edits_and_orders_contact_channels(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("admin@solvik.example")
    form = client.get("/contacts/new").get_data(as_text=True)
    bad = client.post("/contacts/new", data={"csrf_token": _token(form), "key": "Fax Line",
                                             "kind": "phone", "label_sv": "Fax",
                                             "label_en": "Fax", "value": "08-123 45 67"})
    assert bad.status_code == 422 and "lower-case letters" in bad.get_data(as_text=True)
    wrong = client.post("/contacts/new", data={"csrf_token": _token(form), "key": "fax",
                                               "kind": "phone", "label_sv": "Fax",
                                               "label_en": "Fax", "value": "not a number"})
    assert wrong.status_code == 422 and "not a valid phone number" in wrong.get_data(as_text=True)
    ok = client.post("/contacts/new", data={"csrf_token": _token(form), "key": "fax",
                                            "kind": "phone", "label_sv": "Fax",
                                            "label_en": "Fax", "value": "08-123 45 99"},
                     follow_redirects=True).get_data(as_text=True)
    assert "Saved the contact channel fax." in ok
    client.post("/contacts/fax/edit", data={"csrf_token": _token(ok), "kind": "phone",
                                            "label_sv": "Telefax", "label_en": "Telefax",
                                            "value": "08-123 45 98"})
    client.post("/contacts/fax/move", data={"csrf_token": _token(ok), "direction": "up"})
    with app.app_context():
        order = [c.key for c in contacts.all_contacts(db.session())]
        fax = next(c for c in contacts.all_contacts(db.session()) if c.key == "fax")
    assert order[-2:] == ["fax", "kontor"] and fax.value == "+4681234598"
    assert fax.label_en == "Telefax"
    auth.logout()
    auth.login("operator@solvik.example")
    assert client.get("/contacts/new").status_code == 403


def test_the_audit_log_reads_as_sentences_filters_and_exports(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("operator@solvik.example")
    token = _token(client.get("/contacts").get_data(as_text=True))
    client.post("/contacts/vaxel", data={"state": "down", "csrf_token": token})
    page = client.get("/audit?group=contact").get_data(as_text=True)
    assert "operator@solvik.example marked Switchboard down (was up)" in page
    assert "approved" not in page.split("<tbody>")[1]  # the filter keeps templates out
    assert "\\u00" not in page
    sv = client.get("/audit?group=contact", headers={"Accept-Language": "sv"}).get_data(
        as_text=True)
    assert "operator@solvik.example markerade Växel som ur funktion (var fungerar)" in sv
    everything = client.get("/audit").get_data(as_text=True)
    assert "approver@solvik.example approved phone-lines-down version 1" in everything
    data = client.get("/audit/audit.csv?group=contact&actor=operator").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    assert rows[0] == ["when (Swedish time)", "who", "what", "code", "subject"]
    assert [r[3] for r in rows[1:]] == ["contact.state"]
    bad = client.get("/audit?since=28/11/2026").get_data(as_text=True)
    assert "Write dates as YYYY-MM-DD" in bad


def test_the_sandbox_inbox_pages_and_filters(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any, sandbox: Any,
        worker: Any) -> None:
    from .conftest import wait_until

    worker()
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, ["sms", "email"])
    with app.app_context():
        confirmed = dispatch.confirm_idempotently(req, "test")
    wait_until(lambda: len(sandbox.messages()) == 43 + 36, timeout=90, what="every message")
    auth.login("viewer@solvik.example")
    first = client.get("/sandbox").get_data(as_text=True)
    assert "79 recipients · 79 messages" in first and "Page 1 of 4" in first
    emails = client.get("/sandbox?channel=email").get_data(as_text=True)
    assert "36 recipients" in emails and "<h2" in emails and "SMS ·" not in emails
    anna = client.get("/sandbox?to=070-174 06 05").get_data(as_text=True)  # as people type it
    assert "1 recipient · 1 message" in anna and "Anna Lindqvist" in anna
    assert "No message matches the filter." in client.get("/sandbox?to=nobody").get_data(
        as_text=True)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d · ", first)  # Swedish time, no ISO
    assert confirmed.notices


def test_every_console_page_offers_the_other_language_and_remembers_the_choice(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE", None)
    login = client.get("/login").get_data(as_text=True)
    assert '<html lang="sv">' in login and '<button type="submit" name="lang" value="en"' in login
    auth.login("operator@solvik.example")
    for path in ("/", "/send", "/contacts", "/templates", "/audit", "/sandbox"):
        page = client.get(path).get_data(as_text=True)
        assert '<html lang="sv">' in page and 'value="en"' in page, path
    page = client.get("/").get_data(as_text=True)
    switched = client.post("/language", data={"csrf_token": _token(page), "lang": "en",
                                              "next": "/contacts"})
    assert switched.headers["Location"] == "/contacts"
    assert "<h1>Contact channels</h1>" in client.get("/contacts").get_data(as_text=True)
    with app.app_context():
        user = db.session().scalar(select(User).where(User.email == "operator@solvik.example"))
        assert user is not None and user.language == "en"
    auth.logout()
    auth.login("operator@solvik.example")  # a new session: the account remembers
    page = client.get("/").get_data(as_text=True)
    assert "<h1>Overview</h1>" in page
    elsewhere = client.post("/language", data={"csrf_token": _token(page), "lang": "sv",
                                               "next": "https://evil.example/"})
    assert elsewhere.headers["Location"] == "/"
