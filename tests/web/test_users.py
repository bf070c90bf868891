"""Accounts in the console: an invitation link, roles, deactivation, password reset links."""
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
    assert auth.login("editor@solvik.example").status_code == 401  # refused: the form again
    assert auth.login("approver@solvik.example").status_code == 401  # the old password
    assert auth.login("viewer@solvik.example").headers["Location"] == "/"
    assert client.get("/send").status_code == 200  # an operator now
    assert client.get("/users").status_code == 403
