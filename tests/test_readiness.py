"""The readiness report: what is ready, what is not, and what closes each gap."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from notifier import db, readiness

from .conftest import AuthActions, notifier_cmd


def test_the_demo_is_ready_but_for_the_shared_operator_and_the_missing_drill(
        app: Flask, demo: Any, sandbox: Any) -> None:
    with app.test_request_context(), db.transaction() as s:
        report = readiness.report(s)
    gaps = {(c.area, c.name): str(c.detail) for c in report.gaps()}
    assert not report.ready
    assert set(gaps) == {("contacts", "depends:nordtel"), ("drill", "last")}, gaps
    assert "all 3 phone numbers (kundservice, support, vaxel) depend on nordtel" in \
        gaps[("contacts", "depends:nordtel")]
    ready = {(c.area, c.name) for c in report.checks if c.ok}
    assert {("channels", "sms"), ("channels", "email"), ("channels", "telegram"),
            ("templates", "phone-lines-down"), ("subscribers", "sms")} <= ready
    assert all(c.action for c in report.gaps())


def test_a_provider_that_does_not_answer_is_a_gap(app: Flask, demo: Any) -> None:
    from notifier.config import provider_settings

    app.config["PROVIDERS"] = provider_settings({"NOTIFIER_TELEGRAM_API_URL": "http://127.0.0.1:9"})
    with app.test_request_context(), db.transaction() as s:
        checks = {c.name: c for c in readiness.delivery_channels(s)}
    assert not checks["telegram"].ok and "getMe failed" in str(checks["telegram"].detail)


def test_the_command_lists_gaps_with_actions_and_exits_1(env: dict[str, str], demo: Any,
                                                         tmp_path: Path) -> None:
    out = subprocess.run(notifier_cmd("readiness", "--html", str(tmp_path / "r.html")),
                         check=False, env={**os.environ, **env},
                         capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1, out.stderr
    assert "GAP" in out.stdout and "depend on nordtel" in out.stdout
    assert "-> Send a drill" in out.stdout and "NOT READY: 2 gaps" in out.stdout
    assert "depend on nordtel" in (tmp_path / "r.html").read_text()


def test_the_console_page_and_the_printable_export(client: FlaskClient, auth: AuthActions,
                                                    demo: Any, sandbox: Any) -> None:
    auth.login("viewer@solvik.example")
    page = client.get("/readiness?lang=en").get_data(as_text=True)
    assert "2 gaps to close" in page and "depend on nordtel" in page
    sv = client.get("/readiness?lang=sv").get_data(as_text=True)
    assert "Beredskap" in sv
    export = client.get("/readiness/report.html")
    assert export.headers["Content-Disposition"].startswith("attachment")
    assert "<style>" in export.get_data(as_text=True)
