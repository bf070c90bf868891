"""Sessions and sign-in as a bank would have them: throttling, revocation, timeouts, next=."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from notifier import accounts, db
from notifier.models import AuditEvent, User
from notifier.web.auth import safe_next

from ..conftest import AuthActions

PASSWORD = "correct-horse-battery"


@pytest.fixture
def operator(app: Flask) -> str:
    with app.app_context(), db.transaction() as s:
        accounts.create_user(s, "operator@solvik.example", "operator", PASSWORD)
    return "operator@solvik.example"


def _wrong(client: FlaskClient, auth: AuthActions, email: str, times: int) -> list[Any]:
    token = auth.csrf()
    return [client.post("/login", data={"email": email, "password": f"guess-{i}",
                                        "csrf_token": token}) for i in range(times)]


def test_thirty_wrong_passwords_are_answered_429_with_retry_after_before_the_30th(
        client: FlaskClient, auth: AuthActions, operator: str) -> None:
    answers = _wrong(client, auth, operator, 30)
    codes = [r.status_code for r in answers]
    assert codes[:5] == [401] * 5
    first = codes.index(429)
    assert first < 29
    refused = answers[first]
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in refused.get_data(as_text=True) or \
        "För många misslyckade försök" in refused.get_data(as_text=True)
    # The right password is refused too while the account is throttled from this browser.
    assert auth.login(operator, PASSWORD).status_code == 429


def test_an_attacker_cannot_lock_out_the_operators_own_browser(
        app: Flask, auth: AuthActions, operator: str) -> None:
    own = app.test_client()
    assert AuthActions(own).login(operator).status_code == 302  # signed in here before
    AuthActions(own).logout()
    attacker = app.test_client()
    assert 429 in [r.status_code for r in _wrong(attacker, AuthActions(attacker), operator, 12)]
    assert AuthActions(own).login(operator).status_code == 302
    assert own.get("/").status_code == 200


def test_a_cookie_replayed_after_logout_is_refused(app: Flask, client: FlaskClient,
                                                    auth: AuthActions, operator: str) -> None:
    auth.login(operator)
    stolen = client.get_cookie("session")
    assert stolen is not None
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("session", stolen.value)
    assert thief.get("/").status_code == 302


def test_a_new_password_and_sign_out_everywhere_end_other_sessions(
        app: Flask, client: FlaskClient, auth: AuthActions, operator: str) -> None:
    auth.login(operator)
    assert client.get("/").status_code == 200
    with app.app_context(), db.transaction() as s:
        accounts.set_password(s, operator, "another-long-password")
    assert client.get("/").status_code == 302
    auth.login(operator, "another-long-password")
    other = app.test_client()
    AuthActions(other).login(operator, "another-long-password")
    resp = client.post("/account/sign-out-everywhere", data={"csrf_token": auth.csrf("/")})
    assert resp.status_code == 302
    assert other.get("/").status_code == 302 and client.get("/").status_code == 302


def test_a_session_ends_after_idle_time_and_after_the_absolute_time(
        app: Flask, client: FlaskClient, auth: AuthActions, operator: str) -> None:
    auth.login(operator)
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 31 * 60
    resp = client.get("/contacts")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    auth.login(operator)
    with client.session_transaction() as session:
        session["login_at"] = time.time() - 13 * 3600
    assert client.get("/").status_code == 302


def test_background_polling_does_not_keep_a_session_alive(
        app: Flask, client: FlaskClient, auth: AuthActions, operator: str) -> None:
    auth.login(operator)
    idle_since = time.time() - 29 * 60
    with client.session_transaction() as session:
        session["seen_at"] = idle_since
    assert client.get("/session").get_json()["idle_left"] <= 60
    client.get("/notices/1/progress.json")
    with client.session_transaction() as session:
        assert session["seen_at"] == idle_since
    extended = client.post("/session/extend", headers={"X-CSRFToken": _token(client)})
    assert extended.get_json()["idle_left"] == 30 * 60
    assert client.get("/session").get_json()["idle_left"] > 29 * 60


def _token(client: FlaskClient) -> str:
    import re

    page = client.get("/").get_data(as_text=True)
    match = re.search(r'data-csrf="([^"]+)"', page)
    assert match
    return match.group(1)


@pytest.mark.parametrize("nxt", ["/%09/evil.example", "//evil.example", "/\\evil.example",
                                 "https://evil.example/", "/%0a/x", "/\x7f/x", "javascript:x"])
def test_next_never_leaves_the_site_and_never_breaks(client: FlaskClient, auth: AuthActions,
                                                     operator: str, nxt: str) -> None:
    resp = client.post(f"/login?next={nxt}", data={"email": operator, "password": PASSWORD,
                                                   "csrf_token": auth.csrf()})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_next_keeps_a_local_path() -> None:
    assert safe_next("/notices/4?tab=sms") == "/notices/4?tab=sms"
    assert safe_next("/send?") == "/send"
    assert safe_next("/\t/evil.example") is None


def _timed(fn: Callable[[], Any], n: int = 6) -> float:
    spent = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent)


def test_an_unknown_account_costs_the_same_password_check_as_a_known_one(
        app: Flask, operator: str) -> None:
    """Both paths run one password hash; compared with a ratio, not a wall-clock limit."""
    with app.app_context(), db.transaction() as s:
        accounts.authenticate(s, "nobody@solvik.example", "x")  # warm the decoy hash
        known = _timed(lambda: accounts.authenticate(s, operator, "wrong-password"))
        unknown = _timed(lambda: accounts.authenticate(s, "nobody@solvik.example", "x"))
    assert 0.5 < unknown / known < 2, (known, unknown)


def test_logins_and_failures_are_audited_without_the_password(
        app: Flask, client: FlaskClient, auth: AuthActions, operator: str) -> None:
    _wrong(client, auth, operator, 1)
    auth.login(operator)
    with app.app_context():
        events = [(e.action, e.actor) for e in db.session().scalars(
            select(AuditEvent).where(AuditEvent.action.like("user.log%")))]
        details = " ".join(str(e.detail) for e in db.session().scalars(select(AuditEvent)))
    assert ("user.login_failed", f"user:{operator}") in events
    assert ("user.login", f"user:{operator}") in events
    assert "guess-0" not in details and PASSWORD not in details


def test_an_expired_account_cannot_sign_in(app: Flask, auth: AuthActions,
                                           operator: str) -> None:
    from datetime import timedelta

    from notifier.models import utcnow

    with app.app_context(), db.transaction() as s:
        user = s.scalar(select(User).where(User.email == operator))
        assert user is not None
        user.expires_at = utcnow() - timedelta(minutes=1)
    assert auth.login(operator).status_code == 401


def test_the_session_check_of_an_ended_session_says_signed_out(
        client: FlaskClient, auth: AuthActions, operator: str) -> None:
    auth.login(operator)
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 31 * 60
    assert client.get("/session").get_json() == {"signed_in": False, "idle_left": 0}
    assert client.get("/").status_code == 302
