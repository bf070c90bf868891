"""A web team pastes the README snippet into a plain page on another origin: the banner shows."""
from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from notifier import audit, banner, contacts, db, dispatch

from .conftest import Site

pytestmark = pytest.mark.browser
CARD = "[data-notifier-banner] >> [role]"



def _outage(app: Flask) -> None:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel", "chatt", "epost"]},
                                 ["banner"])
    with app.app_context():
        with db.transaction() as s:
            dispatch.confirm(s, req, audit.actor())
        with db.transaction() as s:
            banner.publish(s)


def _readme_snippet(live: str) -> str:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r'<script async src="(https://notifier\.example\.se/banner\.js)"></script>',
                        readme)
    assert snippet, "the README no longer shows the one-line snippet"
    return snippet.group(1).replace("https://notifier.example.se", live)


@pytest.mark.parametrize("lang, headline, link", [
    ("sv", "020", "Växel 08-123 45 67"), ("en", "020", "Switchboard +46 8 123 45 67")])
def test_the_readme_snippet_shows_the_live_banner_in_the_page_language(
        app: Flask, demo: Any, live: str, site: Site, page: Page, problems: Any,
        lang: str, headline: str, link: str) -> None:
    _outage(app)
    host = site.page(lang=lang, script=_readme_snippet(live),
                     csp=f"default-src 'none'; script-src {live}; "
                         f"connect-src {live}")
    page.goto(host)
    expect(page.locator(CARD)).to_be_visible()
    assert headline in page.locator(CARD).inner_text()
    links = page.locator(f"{CARD} a")
    expect(links.first).to_have_text(link)
    assert links.first.get_attribute("href") == "tel:+4681234567"
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        "tel:+4681234567", "https://www.solvik.example/chatt", "mailto:kundservice@solvik.example"]


def test_a_contact_channel_marked_down_leaves_the_banner_at_the_next_check(
        app: Flask, demo: Any, live: str, site: Site, page: Page) -> None:
    _outage(app)
    host = site.page(lang="sv", attrs={"interval": "5"}, script=_readme_snippet(live),
                     csp=f"default-src 'none'; script-src {live}; "
                         f"connect-src {live}")
    page.goto(host)
    expect(page.locator(f"{CARD} a")).to_have_count(3)
    with app.app_context(), db.transaction() as s:
        contacts.set_state(s, "chatt", "down")
        banner.publish(s)
    expect(page.locator(f"{CARD} a")).to_have_count(2, timeout=15000)
