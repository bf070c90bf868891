"""The language switch on every console page, remembered in the session and on the account."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from notifier import db
from notifier.models import User

from ..conftest import AuthActions


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


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
