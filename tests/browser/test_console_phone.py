"""The operator console on a 390 px phone: no sideways scrolling, big enough buttons, live counts."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from notifier import db, deliveries, dispatch
from notifier.models import Delivery, Notice

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}



@pytest.fixture
def operator(page: Page, live: str, demo: Any) -> Page:
    """A phone-sized page logged in as the demo operator."""
    page.set_viewport_size(PHONE)
    page.goto(f"{live}/login")
    page.fill("input[name=email]", "operator@solvik.example")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live}/")
    return page


def _sending(app: Flask) -> Notice:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, ["sms", "email"])
    with app.app_context(), db.transaction() as s:
        return dispatch.confirm(s, req, "test")  # no worker: it stays "sending"


def _reachable(page: Page, name: str) -> None:
    box = page.get_by_role("button", name=name).first.bounding_box()
    assert box is not None, name
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], \
        (name, box)


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _no_serious_accessibility_issues(page: Page) -> None:
    violations = Axe().run(page).response["violations"]
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations
            if v["impact"] in ("serious", "critical")] == []


def test_contact_channels_fit_a_phone(operator: Page, live: str) -> None:
    operator.goto(f"{live}/contacts")
    _no_sideways_scroll(operator)
    _reachable(operator, "Mark down Customer service")
    state = operator.locator("tr.state-up td[data-label=State]").first.bounding_box()
    assert state is not None and state["x"] + state["width"] <= PHONE["width"]
    _no_serious_accessibility_issues(operator)


def test_a_notice_fits_a_phone_and_its_counts_update_live(
        app: Flask, operator: Page, live: str) -> None:
    notice = _sending(app)
    operator.goto(f"{live}/notices/{notice.id}")
    _no_sideways_scroll(operator)
    for name in ("Pause", "Cancel what is not sent", "Send the rest of SMS by email instead"):
        _reachable(operator, name)
    cell = operator.locator('tr[data-channel="sms"] td[data-status="sent"]')
    box = cell.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    _no_serious_accessibility_issues(operator)

    with app.app_context(), db.transaction() as s:  # three SMS go out, as a worker records it
        ids = s.scalars(select(Delivery.id).where(Delivery.notice_id == notice.id,
                                                  Delivery.channel == "sms").limit(3)).all()
        # Through the delivery state machine, as a worker would: claimed, then sent.
        deliveries.machine.move(s, "claim", Delivery.id.in_(ids))
        deliveries.machine.move(s, "sent", Delivery.id.in_(ids))
    # A locator assertion, not wait_for_function: the console's CSP forbids eval in the page.
    expect(operator.locator("tr[data-channel=sms] td[data-status=sent]")).to_have_text("3")
    assert cell.evaluate("c => getComputedStyle(c, '::before').content") == '"sent"'


def test_preview_opens_at_a_summary_whose_confirm_is_on_screen(operator: Page, live: str) -> None:
    operator.goto(f"{live}/send/phone-lines-down")
    operator.check("input[name=var-contacts][value=vaxel]")
    operator.get_by_role("button", name="Preview", exact=True).click()
    operator.wait_for_url("**#preview")
    _no_sideways_scroll(operator)
    confirm = operator.get_by_role("button", name="Confirm and send to 94")
    box = confirm.first.bounding_box()
    assert box is not None and box["height"] >= 44
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"]  # in view, no scrolling
