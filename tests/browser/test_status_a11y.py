"""The public status page in a real browser: axe-core finds no serious or critical issue."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Page

from ..web.test_status import outage, update

pytestmark = pytest.mark.browser



@pytest.mark.parametrize("lang", ["sv", "en"])
def test_status_page_with_an_incident_has_no_serious_accessibility_issues(
        app: Flask, demo: Any, live: str, page: Page, lang: str) -> None:
    first = outage(app)
    update(app, first.incident_id)
    page.goto(f"{live}/status?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("main h1").count() == 1
    results = Axe().run(page)
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
