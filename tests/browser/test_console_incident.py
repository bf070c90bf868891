"""The README's story in a real browser, as an operator lives it, in Swedish and in English, on a
desktop and on a 360-pixel phone: the 020 and 0771 numbers go down, the notice goes out, one SMS
comes back undelivered and is sent again by email, an update, the all-clear brings the numbers
back. At every step the website banner, /status and /api/v2/summary.json say the same thing, and
axe-core finds no serious or critical issue on any console page on the way."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from notifier.sandbox.client import SandboxClient

from ..conftest import wait_until

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 360, "height": 740}
ANNA = "+46701740605"  # the demo's first customer: SMS and email, Swedish
WORDS = {
    "sv": {"locale": "sv-SE", "mark_down": "Markera ur funktion", "send": "Skicka meddelande",
           "preview": "Förhandsgranska", "finished": "Klart.", "unknown": "Okänt eller inaktivt nummer",
           "again": "Skicka igen", "again_done": "1 person som inte fick det får det nu via E-post.",
           "update": "Skicka en uppdatering", "all_clear": "Skicka klartecken",
           "marked_up": "Markerade som fungerande igen: Kundservice, Support.",
           "down_warning": "Kundservice är markerad som ur funktion",
           "report": "Rapport för kontinuitetsgenomgången", "report_h": "Händelserapport",
           "undelivered": "ej levererade", "story_down": "markerade Kundservice som ur funktion",
           "story_up": "markerade Kundservice som fungerar"},
    "en": {"locale": "en-GB", "mark_down": "Mark down", "send": "Send a notice",
           "preview": "Preview", "finished": "Finished.", "unknown": "Unknown or inactive number",
           "again": "Send it again", "again_done": "1 person who did not get it gets it by Email now.",
           "update": "Send an update", "all_clear": "Send the all-clear",
           "marked_up": "Marked up again: Customer service, Support.",
           "down_warning": "Customer service is marked down",
           "report": "Report for the continuity review", "report_h": "Incident report",
           "undelivered": "undelivered", "story_down": "marked Customer service down",
           "story_up": "marked Customer service up"},
}
NOTICE = re.compile(r".*/notices/\d+(#.*)?$")  # a redirect keeps the form's #preview
SHOTS = os.environ.get("NOTIFIER_TEST_SCREENSHOTS", "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(env: dict[str, str], sandbox: SandboxClient, monkeypatch: pytest.MonkeyPatch
        ) -> dict[str, str]:
    """A notifier the sandbox reports back to: Twilio receipts and signed SendGrid events."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    key = sandbox.sendgrid_event_webhook(f"{url}/webhooks/sendgrid/events")
    extra = {"NOTIFIER_PORT": str(port), "NOTIFIER_PUBLIC_URL": url,
             "NOTIFIER_SENDGRID_WEBHOOK_PUBLIC_KEY": key}
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    env.update(extra)
    return env


@pytest.fixture
def console(app: Flask, env: dict[str, str]) -> Iterator[str]:
    """Serve the notifier on the port its public URL names."""
    server = make_server("127.0.0.1", int(env["NOTIFIER_PORT"]), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield env["NOTIFIER_PUBLIC_URL"]
    server.shutdown()
    thread.join(5)


@pytest.fixture(params=[("sv", "desktop"), ("en", "phone"), ("en", "desktop"), ("sv", "phone")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def person(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[Page, str, str]]:
    """A browser in the person's language and size; any console error fails the test."""
    lang, size = request.param
    context = browser.new_context(locale=WORDS[lang]["locale"],
                                  viewport=DESKTOP if size == "desktop" else PHONE)
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    yield page, lang, size
    context.close()
    assert errors == []


def _axe(page: Page) -> None:
    violations = Axe().run(page).response["violations"]
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations
            if v["impact"] in ("serious", "critical")] == [], page.url


def _fits(page: Page, size: str) -> None:
    if size == "phone":
        wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 40))""")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (page.url,
                                                                                         wide)


def _visit(page: Page, size: str, shot: str = "") -> None:
    """Check what every console page must be: accessible, no sideways scrolling on a phone."""
    _axe(page)
    _fits(page, size)
    if SHOTS and shot:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{shot}.png"), full_page=False)


def _public(page: Page, base: str) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    """Read what the public sees: the banner document, the status page, the Statuspage API."""
    def banners() -> list[dict[str, Any]]:
        return list(json.loads(page.request.get(f"{base}/banner.json").text())["banners"])
    status = page.request.get(f"{base}/status?lang=en").text()
    summary = json.loads(page.request.get(f"{base}/api/v2/summary.json").text())
    return banners(), status, summary


def _agree(page: Page, base: str, expect_banner: str, indicator: str, down: set[str],
           timeout: float = 20) -> None:
    """Wait until the banner, /status and the API agree on the state of things."""
    def agreed() -> bool:
        banners, status, summary = _public(page, base)
        broken = {c["id"].removeprefix("contact-") for c in summary["components"]
                  if c["status"] != "operational"}
        if broken != down or summary["status"]["indicator"] != indicator:
            return False
        if expect_banner == "none":
            quiet = ("Everything is working as usual." in status) == (not down)
            return banners == [] and quiet and not summary["incidents"]
        if not banners:
            return False
        resolved = expect_banner == "resolved"
        open_ = "Current disruptions" in status
        shown = {link["href"] for b in banners for link in b["links"]}
        return (banners[0]["resolved"] == resolved and open_ != resolved
                and bool(summary["incidents"]) != resolved
                and not any(f"tel:+46{n}" in shown for n in ("20123456", "771123456")))
    wait_until(agreed, timeout=timeout, what=f"the banner, /status and the API to agree "
                                             f"({expect_banner}, {indicator}, {sorted(down)})")


def _confirm(page: Page, words: dict[str, str]) -> None:
    page.get_by_role("button", name=words["preview"], exact=True).click()
    page.wait_for_url("**#preview")
    page.locator("#preview button[value=confirm]").first.click()
    page.wait_for_url(NOTICE)


def test_an_incident_from_first_notice_to_all_clear(
        app: Flask, demo: Any, worker: Any, sandbox: SandboxClient, console: str,
        person: tuple[Page, str, str]) -> None:
    page, lang, size = person
    words = WORDS[lang]
    worker()
    sandbox.fault("sms", "undeliverable", addresses=[ANNA])
    shot = SHOTS and lang == "en" and size == "desktop"

    page.goto(f"{console}/login")
    assert page.locator("html").get_attribute("lang") == lang
    _visit(page, size)
    page.fill("input[name=email]", "operator@solvik.example")
    page.fill("input[name=password]", "correct-horse-battery")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{console}/")
    _visit(page, size)
    _agree(page, console, "none", "none", set())

    # 08:15 the 020 and 0771 numbers stop answering.
    page.goto(f"{console}/contacts")
    for label in ("Kundservice" if lang == "sv" else "Customer service", "Support"):
        page.get_by_role("button", name=f"{words['mark_down']} {label}").click()
        page.wait_for_load_state()
    _visit(page, size, "contacts" if shot else "")
    _agree(page, console, "none", "minor", {"kundservice", "support"})

    # 08:18 the first notice, by SMS, Telegram and the banner.
    page.get_by_role("link", name=words["send"], exact=True).first.click()
    _visit(page, size, "send-choose" if shot else "")
    page.locator("a.big[href='/send/phone-lines-down']").click()
    for key in ("vaxel", "chatt", "epost"):
        page.check(f"input[name=var-contacts][value={key}]")
    page.uncheck("input[name=channels][value=email]")
    page.get_by_role("button", name=words["preview"], exact=True).click()
    page.wait_for_url("**#preview")
    expect(page.locator("#preview .summary")).to_contain_text(words["down_warning"])
    _visit(page, size, "send-preview" if shot else "")
    page.locator("#preview button[value=confirm]").first.click()
    page.wait_for_url(NOTICE)
    notice_url = page.url.split("#")[0]
    expect(page.locator("[data-live=summary]")).to_contain_text(words["finished"], timeout=90000)
    _agree(page, console, "open", "critical", {"kundservice", "support"})

    # Anna's SMS comes back undelivered: she gets the notice by email instead.
    wait_until(lambda: page.goto(notice_url) and words["unknown"] in page.content(), timeout=60,
               what="the undelivered receipt")
    _visit(page, size, "notice" if shot else "phone-notice-sv" if SHOTS and size == "phone"
           and lang == "sv" else "")
    expect(page.locator("table.missed")).to_contain_text("Anna Lindqvist")
    page.select_option("#resend-to", "email")
    page.get_by_role("button", name=words["again"], exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text(words["again_done"])
    wait_until(lambda: sandbox.messages(channel="email", to="anna.0@example.se"), timeout=60,
               what="Anna's email")

    # 09:30 an update.
    page.get_by_role("link", name=words["update"], exact=True).first.click()
    page.select_option("#var-status", "cause_found")
    page.fill("#var-eta", "23:59")
    _confirm(page, words)
    _agree(page, console, "open", "major", {"kundservice", "support"})

    # 12:40 the all-clear brings the numbers back, everywhere at once.
    page.get_by_role("link", name=words["all_clear"], exact=True).first.click()
    expect(page.locator("input[name=restore][value=kundservice]")).to_be_checked()
    expect(page.locator("input[name=restore][value=support]")).to_be_checked()
    page.select_option("#var-restored", "phones")
    _visit(page, size)
    _confirm(page, words)
    expect(page.locator("main")).to_contain_text(words["marked_up"])
    _agree(page, console, "resolved", "none", set())

    # Afterwards: the story and the report for the continuity review.
    page.locator("main p a[href^='/incidents/']").first.click()
    story = page.locator("ol.story")
    expect(story).to_contain_text(words["story_down"])
    expect(story).to_contain_text(words["story_up"])
    _visit(page, size, "incident" if shot else "")
    page.get_by_role("link", name=words["report"], exact=True).click()
    expect(page.locator("h1")).to_contain_text(words["report_h"])
    expect(page.locator("main table").first).to_contain_text("1")
    _visit(page, size, "report" if shot else "")
    for path in ("/", "/audit", "/templates", "/sandbox"):
        page.goto(f"{console}{path}")
        _visit(page, size, {"/": "overview", "/audit": "audit"}.get(path, "") if shot else "")


def test_the_admin_pages_have_no_serious_accessibility_issues(
        app: Flask, demo: Any, console: str, person: tuple[Page, str, str]) -> None:
    page, _lang, size = person
    page.goto(f"{console}/login")
    page.fill("input[name=email]", "admin@solvik.example")
    page.fill("input[name=password]", "correct-horse-battery")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{console}/")
    for path in ("/users", "/contacts", "/contacts/new", "/contacts/vaxel/edit", "/templates/new",
                 "/templates/phone-lines-down/1", "/templates/phone-lines-down/1/edit",
                 "/send/update", "/audit?group=contact"):
        page.goto(f"{console}{path}")
        _visit(page, size)
