"""A customer signs up on the public page, gets a notice, and leaves: by SMS, email and Telegram.

The real SDKs talk to the simulators; inbound webhooks are signed as the providers sign them.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notifier.sandbox.client import SandboxClient

from .customer_helpers import (
    TELEGRAM_SECRET,
    add_segment,
    planned,
    send_notice,
    sms_from,
    submit,
    subscription,
    telegram_post,
    telegram_text,
)

PHONE, TYPED = "+46701740650", "070-174 06 50"


@pytest.fixture
def site(app: Flask, demo: Any, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The demo company, offering the segment "pilot" on its sign-up page."""
    monkeypatch.setitem(app.config, "SUBSCRIBE_SEGMENTS", ["pilot"])
    monkeypatch.setitem(app.config, "TELEGRAM_WEBHOOK_SECRET", TELEGRAM_SECRET)
    add_segment(app, "pilot")
    return app


def _sign_up(client: FlaskClient, **fields: str) -> Any:
    data = {"name": "Sara Sandberg", "language": "sv", "segments": "pilot", **fields}
    return submit(client, "/subscribe?lang=sv", data)


def test_by_sms_sign_up_with_a_code_get_a_notice_and_leave_with_stopp(
        site: Flask, client: FlaskClient, sandbox: SandboxClient) -> None:
    started = _sign_up(client, phone=TYPED)
    assert started.status_code == 303
    pending = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "sexsiffrig kod" in pending
    [sms] = sandbox.messages(channel="sms", to=PHONE)
    code = re.search(r"\b(\d{6})\b", sms["body"]).group(1)  # type: ignore[union-attr]
    assert "Solvik Energi AB" in sms["body"] and "24 timmar" in sms["body"]
    assert subscription(site, "sms", PHONE) is None  # nothing before the code

    confirmed = submit(client, started.headers["Location"], {"code": code}, page=pending)
    assert "Ditt nummer är bekräftat" in confirmed.get_data(as_text=True)
    assert subscription(site, "sms", PHONE) == ("active", None, "subscribe_page")

    notice = send_notice(site, ("sms",), ("pilot",))
    assert planned(site, notice) == {("sms", PHONE, "sent")}
    assert len(sandbox.messages(channel="sms", to=PHONE)) == 2

    answer = sms_from(client, PHONE, "Stopp", "SM" + "7" * 32).get_data(as_text=True)
    assert "Du får inga fler meddelanden från Solvik Energi AB här." in answer
    assert subscription(site, "sms", PHONE) == ("opted_out", "replied STOPP by SMS",
                                                "subscribe_page")
    assert planned(site, send_notice(site, ("sms",), ("pilot",))) == set()


def test_a_wrong_code_is_refused_and_five_wrong_codes_spend_the_sign_up(
        site: Flask, client: FlaskClient, sandbox: SandboxClient) -> None:
    started = _sign_up(client, phone=TYPED)
    path = started.headers["Location"]
    page = client.get(path).get_data(as_text=True)
    wrong = submit(client, path, {"code": "000000"}, page=page)
    assert wrong.status_code == 400 and "Koden stämmer inte" in wrong.get_data(as_text=True)
    for _attempt in range(4):
        last = submit(client, path, {"code": "000000"}, page=page)
    assert "Koden kan inte längre användas" in last.get_data(as_text=True)
    code = re.search(r"\b(\d{6})\b", sandbox.messages(channel="sms")[0]["body"]).group(1)  # type: ignore[union-attr]
    assert submit(client, path, {"code": code}, page=page).status_code == 400
    assert subscription(site, "sms", PHONE) is None


def test_by_email_confirm_with_the_link_get_a_notice_and_leave_with_one_click(
        site: Flask, client: FlaskClient, sandbox: SandboxClient) -> None:
    started = _sign_up(client, email="Sara.Sandberg@Example.se", language="en")
    assert "?lang=en" in started.headers["Location"]
    [mail] = sandbox.messages(channel="email", to="Sara.Sandberg@example.se")
    assert mail["subject"] == "Confirm that you want notices from Solvik Energi AB"
    link = re.search(r"(https?://\S+/subscribe/email/\S+)", mail["body"]).group(1)  # type: ignore[union-attr]
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}").get_data(as_text=True)
    assert subscription(site, "email", "Sara.Sandberg@example.se") is None  # a GET confirms nothing
    done = submit(client, f"/{path}", {}, page=page)
    assert "Your email address is confirmed" in done.get_data(as_text=True)

    send_notice(site, ("email",), ("pilot",))
    notice_mail = sandbox.messages(channel="email", to="Sara.Sandberg@example.se")[-1]
    headers = notice_mail["meta"]["headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(.+)>", headers["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]
    assert url.startswith(site.config["PUBLIC_URL"] + "/unsubscribe/")
    assert "sandberg" not in url.lower()  # no address in the link

    fresh = site.test_client()  # the mail provider: no cookie, no CSRF token, just the POST
    unsubscribe = url.removeprefix(site.config["PUBLIC_URL"])
    one_click = fresh.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert subscription(site, "email", "Sara.Sandberg@example.se") == (
        "opted_out", "one-click unsubscribe link in an email", "subscribe_page")
    page = fresh.get(unsubscribe).get_data(as_text=True)
    assert "Unsubscribe" in page  # the page in the subscriber's language (English)


def test_by_telegram_start_the_bot_with_the_page_token_get_a_notice_and_stop(
        site: Flask, client: FlaskClient, sandbox: SandboxClient) -> None:
    started = _sign_up(client, telegram="yes")
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    command = re.search(r'<code class="command">(/start [\w-]+)</code>', page).group(1)  # type: ignore[union-attr]
    assert "https://t.me/notifier_sandbox_bot?start=" in page

    telegram_post(client, telegram_text(501, 4242, command))
    assert subscription(site, "telegram", "4242") == ("active", None, "subscribe_page")
    [welcome] = sandbox.messages(channel="telegram", to="4242")
    assert "på svenska" in welcome["body"]

    send_notice(site, ("telegram",), ("pilot",))
    assert len(sandbox.messages(channel="telegram", to="4242")) == 2
    telegram_post(client, telegram_text(502, 4242, "/stop"))
    assert subscription(site, "telegram", "4242") == ("opted_out", "/stop to the Telegram bot",
                                                      "subscribe_page")
    assert planned(site, send_notice(site, ("telegram",), ("pilot",))) == set()


def test_a_customer_who_blocked_the_bot_is_blocked_there_and_nowhere_else(
        site: Flask, sandbox: SandboxClient) -> None:
    sandbox.fault("telegram", "blocked", addresses=["900000000"])  # Kim, the first staff member
    send_notice(site, ("sms", "email", "telegram"), ("staff",))
    assert subscription(site, "telegram", "900000000") == ("blocked", "blocked the Telegram bot",
                                                           "import")
    assert subscription(site, "sms", "+46701740690") == ("active", None, "import")
    assert subscription(site, "email", "beredskap1@solvik.example") == ("active", None, "import")
