"""Setting up the second factor and signing in with it, in Chromium, under the console's CSP."""
from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"


def _sign_in(page: Page, live: str, email: str) -> None:
    page.goto(f"{live}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")


def _serious(page: Page) -> list[Any]:
    violations = Axe().run(page).response["violations"]
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations
            if v["impact"] in ("serious", "critical")]


def test_enrol_with_the_qr_code_then_sign_in_with_a_code(page: Page, live: str,
                                                         demo: Any) -> None:
    _sign_in(page, live, "approver@solvik.example")
    page.wait_for_url(f"{live}/")
    page.get_by_role("link", name=re.compile("Sign-in security|Inloggningssäkerhet")).click()
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 120  # big enough to scan from a screen
    assert _serious(page) == []
    secret = page.locator("#totp-secret").inner_text()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("form[action$='/account/2fa'] button[type=submit]")
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    page.get_by_role("link", name=re.compile("go on|fortsätt")).click()
    page.wait_for_url(f"{live}/")

    page.locator("form.logout button").click()
    page.wait_for_url(f"{live}/login")
    _sign_in(page, live, "approver@solvik.example")
    page.wait_for_url(f"{live}/login/code")
    assert _serious(page) == []
    # The code used to enrol is spent; the next one (clock drift allowed) signs in.
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live}/")
    expect(page.locator("header .who")).to_contain_text("approver@solvik.example")


def test_a_wrong_code_says_so_and_a_recovery_code_gets_in(page: Page, live: str, demo: Any,
                                                          problems: Any) -> None:
    problems.allow.append("status of 401")  # Chromium logs the refused code's status
    _sign_in(page, live, "editor@solvik.example")
    page.wait_for_url(f"{live}/")
    page.goto(f"{live}/account")
    secret = page.locator("#totp-secret").inner_text()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("form[action$='/account/2fa'] button[type=submit]")
    first = page.locator("#recovery-codes li").first.inner_text()
    page.context.clear_cookies()
    _sign_in(page, live, "editor@solvik.example")
    page.wait_for_url(f"{live}/login/code")
    page.fill("input[name=code]", "000000")
    page.click("main button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text(re.compile("not right|stämmer inte"))
    page.fill("input[name=code]", first)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live}/")


def test_the_idle_warning_appears_and_one_click_keeps_the_session(
        page: Page, live: str, demo: Any, app: Any) -> None:
    app.config["SESSION_IDLE_MINUTES"] = 61 / 60  # a minute and a second: the warning is due
    _sign_in(page, live, "viewer@solvik.example")
    page.wait_for_url(f"{live}/")
    warning = page.locator("#idle-warning")
    expect(warning).to_be_visible(timeout=15000)
    page.get_by_role("button", name=re.compile("Stay signed in|Fortsätt vara inloggad")).click()
    expect(warning).to_be_hidden()
    page.goto(f"{live}/contacts")
    assert page.url == f"{live}/contacts"
