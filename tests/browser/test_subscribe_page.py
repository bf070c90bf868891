"""The public sign-up page in Chromium with JavaScript off: a customer signs up and confirms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page

from notifier.sandbox.client import SandboxClient

pytestmark = pytest.mark.browser


def test_a_customer_signs_up_and_confirms_the_code_without_javascript(
        app: Flask, live: str, browser: Browser, sandbox: SandboxClient) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live}/subscribe?lang=en")
        page.get_by_label("Your name").fill("Sara Sandberg")
        page.get_by_label("Mobile number (for SMS)").fill("070-174 06 57")
        page.get_by_label("English").check()
        page.get_by_role("button", name="Sign up").click()
        page.wait_for_url(re.compile(r"/subscribe/[\w-]+\?lang=en"))
        [sms] = sandbox.messages(channel="sms", to="+46701740657")
        code = re.search(r"\b(\d{6})\b", sms["body"]).group(1)  # type: ignore[union-attr]
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Confirm").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Your number is confirmed"
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_sign_up_page_has_no_serious_accessibility_issues(
        app: Flask, live: str, page: Page, lang: str) -> None:
    page.goto(f"{live}/subscribe?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    results = Axe().run(page)
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_the_person_page_shows_in_a_browser(app: Flask, demo: Any, live: str, page: Page) -> None:
    page.goto(f"{live}/login")
    page.fill("input[name=email]", "viewer@solvik.example")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("main button[type=submit]")  # the sign-in form, not the language switch
    page.goto(f"{live}/subscribers?q=Kim")
    page.get_by_role("link", name="Kim Beredskap").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Kim Beredskap"
