"""Logging in to the console and what each role may do, as a browser sees it."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from werkzeug.security import check_password_hash

from notifier import accounts, db
from notifier.models import ContactChannel, User

from ..conftest import AuthActions

PASSWORD = "correct-horse-battery"
MakeUser = Callable[[str], str]


@pytest.fixture
def make_user(app: Flask) -> MakeUser:
    """Create an account with the given role and return its email address."""
    def make(role: str) -> str:
        email = f"{role}@solvik.example"
        with app.app_context(), db.transaction() as s:
            accounts.create_user(s, email, role, PASSWORD)
        return email
    return make


def _state(app: Flask, key: str) -> str:
    with app.app_context(), db.transaction() as s:
        return s.scalars(select(ContactChannel.state).where(ContactChannel.key == key)).one()


def test_an_anonymous_visitor_is_sent_to_the_login_page(client: FlaskClient) -> None:
    for path in ("/", "/send", "/contacts", "/templates", "/audit", "/notices/1"):
        resp = client.get(path)
        assert resp.status_code == 302, path
        assert resp.headers["Location"].startswith("/login?next=" + path)


def test_login_returns_to_the_page_asked_for(client: FlaskClient, auth: AuthActions,
                                            make_user: MakeUser) -> None:
    make_user("viewer")
    page = client.get("/contacts").headers["Location"]
    resp = client.post(page, data={"email": "Viewer@Solvik.example", "password": PASSWORD,
                                   "csrf_token": auth.csrf()})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/contacts"
    assert "<h1>Contact channels</h1>" in client.get("/contacts").get_data(as_text=True)


def test_login_never_redirects_to_another_site(client: FlaskClient, auth: AuthActions,
                                               make_user: MakeUser) -> None:
    email = make_user("viewer")
    for elsewhere in ("//evil.example/login", "https://evil.example/", "/\\evil.example"):
        resp = client.post("/login", query_string={"next": elsewhere},
                           data={"email": email, "password": PASSWORD, "csrf_token": auth.csrf()})
        location = resp.headers["Location"]
        assert resp.status_code == 302
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location
        auth.logout()


def test_a_wrong_password_shows_a_message_and_opens_no_session(client: FlaskClient,
                                                               auth: AuthActions,
                                                               make_user: MakeUser) -> None:
    email = make_user("operator")
    resp = auth.login(email, "correct-horse-batterY")
    assert resp.status_code == 401
    assert "Wrong email or password." in resp.get_data(as_text=True)  # an English browser
    assert client.get("/").status_code == 302
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_a_viewer_may_look_but_not_send_or_change_a_contact_channel(
        app: Flask, client: FlaskClient, auth: AuthActions, make_user: MakeUser,
        registry: None) -> None:
    auth.login(make_user("viewer"))
    page = client.get("/contacts").get_data(as_text=True)
    assert "Mark down" not in page
    assert "Send a notice" not in client.get("/").get_data(as_text=True)

    assert client.get("/send").status_code == 403
    resp = client.post("/contacts/kundservice", data={"state": "down", "csrf_token": auth.csrf("/")})
    assert resp.status_code == 403
    assert _state(app, "kundservice") == "up"


def test_an_operator_marks_a_contact_channel_down_through_the_form(
        app: Flask, client: FlaskClient, auth: AuthActions, make_user: MakeUser,
        registry: None) -> None:
    auth.login(make_user("operator"))
    token = auth.csrf("/contacts")
    resp = client.post("/contacts/kundservice", data={"state": "down", "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/contacts"

    page = client.get("/contacts").get_data(as_text=True)
    row = page[page.index("Customer service"):].split("</tr>")[0]
    assert "<strong>down</strong>" in row and "Mark up" in row
    assert _state(app, "kundservice") == "down"


def test_a_post_without_the_csrf_token_is_refused(app: Flask, client: FlaskClient,
                                                  auth: AuthActions, make_user: MakeUser,
                                                  registry: None) -> None:
    auth.login(make_user("operator"))
    resp = client.post("/contacts/kundservice", data={"state": "down"})
    assert resp.status_code == 400
    assert _state(app, "kundservice") == "up"
    assert client.post("/login", data={"email": "operator@solvik.example",
                                       "password": PASSWORD}).status_code == 400


def test_logout_ends_the_session(client: FlaskClient, auth: AuthActions,
                                 make_user: MakeUser) -> None:
    auth.login(make_user("viewer"))
    assert client.get("/").status_code == 200
    resp = auth.logout()
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_the_password_is_stored_only_as_a_salted_hash(app: Flask, make_user: MakeUser) -> None:
    make_user("viewer")
    with app.app_context(), db.transaction() as s:
        accounts.create_user(s, "twin@solvik.example", "viewer", PASSWORD)
        rows = s.execute(text('SELECT email, password_hash FROM "user"'))
        stored: dict[str, str] = {email: hashed for email, hashed in rows}
    first, second = stored["viewer@solvik.example"], stored["twin@solvik.example"]
    assert PASSWORD not in first and PASSWORD not in second
    assert first != second  # salted: the same password never gives the same hash
    assert check_password_hash(first, PASSWORD)


@pytest.mark.parametrize(("email", "role", "password", "message"), [
    ("ann@example.se", "operator", "short", "The password must be at least 10 characters long."),
    ("ann@example.se", "superuser", PASSWORD,
     "Unknown role 'superuser': use one of viewer, operator, editor, approver, admin."),
    ("ann.example.se", "operator", PASSWORD, "'ann.example.se' is not an email address."),
    (" Viewer@Solvik.example ", "operator", PASSWORD,
     "An account for viewer@solvik.example exists already."),
])
def test_create_user_refuses_with_a_clear_message(app: Flask, email: str, role: str,
                                                  password: str, message: str) -> None:
    with app.app_context(), db.transaction() as s:
        s.add(User(email="viewer@solvik.example", role="viewer", password_hash="!"))
    with app.app_context(), db.transaction() as s, pytest.raises(accounts.AccountError) as exc:
        accounts.create_user(s, email, role, password)
    assert str(exc.value) == message
