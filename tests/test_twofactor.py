"""The second factor: enrolment, sign-in with a code or a recovery code, admin reset, per-role
requirement, the CLI, break-glass, and the migration that adds it."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text

from notifier import accounts, create_app, db, twofactor
from notifier.cli import main
from notifier.models import AuditEvent, User
from notifier.sandbox.client import SandboxClient

from .conftest import AuthActions

PASSWORD = "correct-horse-battery"


def _form_token(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def enrol(client: FlaskClient) -> tuple[str, list[str]]:
    """Set up the second factor through the account page; return the secret and codes."""
    page = client.get("/account").get_data(as_text=True)
    assert "<svg" in page and "<script" not in page.split("<main", 1)[1]
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)  # type: ignore[union-attr]
    resp = client.post("/account/2fa", data={"code": pyotp.TOTP(secret).now(),
                                             "csrf_token": _form_token(client, "/account")})
    assert resp.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>",
                       resp.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def _code_step(client: FlaskClient, code: str) -> Any:
    return client.post("/login/code", data={"code": code,
                                            "csrf_token": _form_token(client, "/login/code")})


@pytest.fixture
def approver(app: Flask) -> str:
    with app.app_context(), db.transaction() as s:
        accounts.create_user(s, "approver@solvik.example", "approver", PASSWORD)
    return "approver@solvik.example"


def test_enrol_then_sign_in_with_a_code_or_a_recovery_code_once(
        app: Flask, client: FlaskClient, auth: AuthActions, approver: str) -> None:
    auth.login(approver)
    secret, codes = enrol(client)
    assert client.get("/").status_code == 200  # this session goes on
    auth.logout()

    first = auth.login(approver)
    assert first.status_code == 302 and first.headers["Location"] == "/login/code"
    assert client.get("/").status_code == 302  # not signed in before the code
    assert _code_step(client, "000000").status_code == 401
    # The code enrolment used cannot be used again (no replay).
    assert _code_step(client, pyotp.TOTP(secret).now()).status_code == 401
    assert _code_step(client, codes[0]).status_code == 302
    assert client.get("/").status_code == 200
    auth.logout()
    auth.login(approver)
    assert _code_step(client, codes[0]).status_code == 401  # each recovery code works once
    assert _code_step(client, codes[1].upper().replace("-", " ")).status_code == 302
    with app.app_context():
        user = db.session().scalar(select(User).where(User.email == approver))
        assert user is not None and len(user.recovery_codes or []) == 8
        assert secret not in str(user.totp_secret)  # encrypted at rest
        assert not any(c.replace("-", "") in str(user.recovery_codes) for c in codes)


def test_an_admin_resets_a_second_factor_and_it_is_audited(
        app: Flask, client: FlaskClient, auth: AuthActions, approver: str) -> None:
    auth.login(approver)
    enrol(client)
    with app.app_context(), db.transaction() as s:
        accounts.create_user(s, "admin@solvik.example", "admin", PASSWORD)
        approver_id = s.scalar(select(User.id).where(User.email == approver))
    admin = app.test_client()
    AuthActions(admin).login("admin@solvik.example")
    page = admin.get("/account/users").get_data(as_text=True)
    assert approver in page and "Reset second factor" in page or "Återställ" in page
    resp = admin.post(f"/account/users/{approver_id}/reset-2fa",
                      data={"csrf_token": _form_token(admin, "/account/users")})
    assert resp.status_code == 302
    assert client.get("/").status_code == 302  # the approver's session has ended
    assert auth.login(approver).headers["Location"] == "/"  # the sandbox: optional again
    with app.app_context():
        event = db.session().scalars(select(AuditEvent).where(
            AuditEvent.action == "user.2fa_reset")).one()
    assert (event.actor, event.subject) == ("user:admin@solvik.example", f"user:{approver}")
    operator = app.test_client()
    with app.app_context(), db.transaction() as s:
        accounts.create_user(s, "operator@solvik.example", "operator", PASSWORD)
    AuthActions(operator).login("operator@solvik.example")
    assert operator.get("/account/users").status_code == 403


def test_a_role_an_admin_requires_must_enrol_before_anything_else(
        app: Flask, client: FlaskClient, auth: AuthActions, approver: str) -> None:
    with app.app_context(), db.transaction() as s:
        twofactor.set_policy(s, "approver", True, "test")
    resp = auth.login(approver)
    assert resp.headers["Location"] == "/account"
    assert client.get("/templates").headers["Location"] == "/account"
    enrol(client)
    assert client.get("/templates").status_code == 200


@pytest.fixture
def live(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A deployment with a real SendGrid account: not the sandbox demo."""
    monkeypatch.setenv("NOTIFIER_SENDGRID_API_KEY", "SG.real-looking.key")
    app = create_app({"TESTING": True})
    yield app
    app.extensions["notifier.engine"].dispose()


def test_outside_the_sandbox_admins_and_approvers_need_a_second_factor(live: Flask) -> None:
    with live.app_context(), db.transaction() as s:
        assert twofactor.policies(s, live.config["SANDBOX"]) == {
            "viewer": False, "operator": False, "editor": False, "approver": True, "admin": True}
        accounts.create_user(s, "admin@solvik.example", "admin", PASSWORD)
    client = live.test_client()
    assert AuthActions(client).login("admin@solvik.example").headers["Location"] == "/account"


def test_the_cli_asks_for_the_code_of_an_account_with_a_second_factor(
        app: Flask, client: FlaskClient, auth: AuthActions, approver: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    auth.login(approver)
    secret, _codes = enrol(client)
    monkeypatch.setenv("NOTIFIER_AS", approver)
    monkeypatch.setenv("NOTIFIER_PASSWORD", PASSWORD)
    wrong = CliRunner().invoke(main, ["templates", "reject", "x", "--comment", "c"],
                               input="123456\n")
    assert wrong.exit_code == 2 and "second-factor code of approver@solvik.example is not right" \
        in wrong.output
    # The code of now went into the enrolment; the next step's is still good (clock drift).
    monkeypatch.setenv("NOTIFIER_TOTP", pyotp.TOTP(secret).at(time.time() + 30))
    ok = CliRunner().invoke(main, ["templates", "reject", "x", "--comment", "c"])
    assert "No template 'x'" in ok.output  # signed in; the template does not exist


def test_break_glass_makes_one_time_limited_admin_and_tells_every_other_admin(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient) -> None:
    made = CliRunner().invoke(main, ["break-glass", "ops@solvik.example", "--hours", "2"])
    assert made.exit_code == 0, made.output
    password = re.search(r"password \(shown only now\): (\S+)", made.output).group(1)  # type: ignore[union-attr]
    assert "told by email: admin@solvik.example" in made.output
    mail = [m for m in sandbox.messages() if m["channel"] == "email"]
    assert [m["to"] for m in mail] == ["admin@solvik.example"]
    assert "break-glass admin ops@solvik.example" in mail[0]["subject"]
    client = app.test_client()
    assert AuthActions(client).login("ops@solvik.example", password).headers["Location"] == "/"
    assert client.get("/account/users").status_code == 200
    again = CliRunner().invoke(main, ["break-glass", "ops2@solvik.example"])
    assert again.exit_code == 0
    assert client.get("/").status_code == 302  # the first one has ended: only one at a time
    admin = app.test_client()
    AuthActions(admin).login("admin@solvik.example")
    with app.app_context():
        ops2 = db.session().scalar(select(User.id).where(User.email == "ops2@solvik.example"))
    admin.post(f"/account/users/{ops2}/disable",
               data={"csrf_token": _form_token(admin, "/account/users")})
    password2 = re.search(r"password \(shown only now\): (\S+)", again.output).group(1)  # type: ignore[union-attr]
    assert AuthActions(app.test_client()).login("ops2@solvik.example", password2).status_code == 401
    with app.app_context():
        actions = [e.action for e in db.session().scalars(select(AuditEvent))]
    assert actions.count("user.break_glass") == 2 and "user.break_glass_end" in actions


def test_the_migration_keeps_existing_accounts(tmp_path: Path) -> None:
    from alembic import command

    from notifier.db import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    script = ScriptDirectory.from_config(alembic_config(url)).get_revision("0005_sign_in")
    assert script is not None
    command.upgrade(alembic_config(url), str(script.down_revision))
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO \"user\" (email, name, role, password_hash, active, "
                          "created_at) VALUES ('ann@solvik.example', 'Ann', 'admin', 'x', 1, "
                          "'2026-11-01 08:00:00')"))
    upgrade(url)
    with engine.connect() as conn:
        row = conn.execute(text('SELECT email, role, session_version, totp_enabled, expires_at '
                                'FROM "user"')).one()
    engine.dispose()
    assert tuple(row) == ("ann@solvik.example", "admin", 1, 0, None)



def test_a_changed_secret_key_says_what_to_do_instead_of_failing(
        app: Flask, client: FlaskClient, auth: AuthActions, approver: str) -> None:
    auth.login(approver)
    enrol(client)
    with app.app_context(), db.transaction() as s:
        user = s.scalar(select(User).where(User.email == approver))
        assert user is not None
        with pytest.raises(twofactor.SecondFactorError, match="ask an admin to reset it"):
            twofactor.check_code(user, "123456", "a-new-secret-key")
