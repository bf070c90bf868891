"""Response headers on every page, and an access log without the secrets that travel in URLs."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from notifier import create_app
from notifier.processes.accesslog import redact

from ..conftest import AuthActions, wait_until

PAGES = Path(__file__).resolve().parents[2] / "notifier" / "pages"


def test_console_pages_send_csp_nosniff_and_referrer_policy(
        client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("admin@solvik.example")
    for path in ("/login", "/", "/templates", "/contacts", "/audit", "/status"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in resp.headers  # plain http here


# Self-contained documents that are downloaded (Content-Disposition: attachment) and opened from
# disk, to print or file: the console's CSP never applies to them, so they carry their own style.
DOWNLOADS = {"readiness_export.html", "report_file.html"}


def test_no_page_has_inline_script_or_style() -> None:
    for page in PAGES.glob("*.html"):
        if page.name in DOWNLOADS:
            assert "<script" not in page.read_text(encoding="utf-8"), page.name
            continue
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page.name
        assert "<style" not in html and " style=" not in html, page.name
        assert not re.search(r"\son[a-z]+=", html), page.name


def test_https_public_url_gives_hsts_and_secure_lax_cookies(env: dict[str, str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_PUBLIC_URL", "https://notifier.example.se")
    app = create_app({"TESTING": True})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
        resp = app.test_client().get("/login")
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        cookie = resp.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        app.extensions["notifier.engine"].dispose()


def test_public_endpoints_keep_their_cors_and_cache_headers(client: FlaskClient,
                                                            demo: Any) -> None:
    for path in ("/banner.json", "/banner.js", "/api/v2/status.json"):
        resp = client.get(path)
        assert resp.headers["Access-Control-Allow-Origin"] == "*", path
        assert resp.headers["Cache-Control"].startswith("public"), path
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "Set-Cookie" not in resp.headers
    assert client.get("/status").headers["Cache-Control"] == "public, max-age=30"


@pytest.mark.parametrize(("raw", "logged"), [
    ("/webhooks/telegram/s3cret-telegram-token", "/webhooks/telegram/[redacted]"),
    ("/webhooks/twilio/status?delivery=12", "/webhooks/twilio/status"),
    ("/unsubscribe/aGVsbG8td29ybGQtdG9rZW4tMTIz", "/unsubscribe/[redacted]"),
    ("/x/ABCDEFGHIJKLMNOPQRSTUVWXYZ012345/y", "/x/[redacted]/y"),
    ("/templates/phone-lines-down/1", "/templates/phone-lines-down/1"),
])
def test_secrets_in_paths_are_redacted(raw: str, logged: str) -> None:
    assert redact(raw) == logged


def test_notifier_web_writes_an_access_log_without_the_webhook_secret(
        env: dict[str, str], tmp_path: Path) -> None:
    secret = "tg-webhook-secret-do-not-log-0123456789"
    port = env["NOTIFIER_PORT"]
    log = tmp_path / "web.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "notifier", "web", "--workers", "1"],
                                env={**os.environ, **env, "NOTIFIER_TELEGRAM_WEBHOOK_SECRET": secret},
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=5).ok
        except requests.RequestException:
            return False

    try:
        wait_until(up, timeout=60, what="notifier web")
        requests.post(f"{base}/webhooks/telegram/{secret}?token={secret}", json={},
                      headers={"X-Telegram-Bot-Api-Secret-Token": secret}, timeout=10)
        wait_until(lambda: "/webhooks/telegram/[redacted]" in log.read_text(), timeout=30,
                   what="the access log line")
    finally:
        proc.terminate()
        proc.wait(20)
    assert secret not in log.read_text()


def test_the_app_sets_lax_httponly_cookies_over_http(app: Flask) -> None:
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is False
