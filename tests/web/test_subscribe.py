"""The public sign-up page: no login, no JavaScript, no way to learn who is subscribed."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notifier.sandbox.client import SandboxClient

from ..customer_helpers import (
    TELEGRAM_SECRET,
    form_token,
    submit,
    subscription,
    telegram_button,
    telegram_post,
    telegram_text,
)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A Swedish visitor: these pages are checked in the language most customers read."""
    swedish = app.test_client()
    swedish.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv"
    return swedish



def test_the_page_works_without_javascript_or_a_session_in_both_languages(
        client: FlaskClient) -> None:
    sv = client.get("/subscribe")
    page = sv.get_data(as_text=True)
    assert sv.status_code == 200 and '<html lang="sv">' in page
    assert "Få besked när kundtjänst inte går att nå" in page
    assert "<script" not in page and "style=" not in page and "<style" not in page
    cookies = sv.headers.getlist("Set-Cookie")
    assert not any(c.startswith("session=") for c in cookies)  # no login session here
    assert any("HttpOnly" in c and "SameSite=Strict" in c for c in cookies)
    en = client.get("/subscribe?lang=en").get_data(as_text=True)
    assert "Get notices when customer service cannot be reached" in en and '<html lang="en">' in en


def test_a_post_without_our_form_token_and_its_cookie_is_refused(
        client: FlaskClient, app: Flask, sandbox: SandboxClient) -> None:
    data = {"name": "Anna", "phone": "0701740651", "language": "sv"}
    assert client.post("/subscribe", data=data).status_code == 400
    token = form_token(client.get("/subscribe").get_data(as_text=True))
    stranger = app.test_client()  # another browser: our token, but not its cookie
    refused = stranger.post("/subscribe", data={**data, "form_token": token})
    assert refused.status_code == 400
    assert "Formuläret har gått ut" in refused.get_data(as_text=True)
    assert sandbox.messages() == []


@pytest.mark.parametrize(("fields", "error"), [
    ({"phone": "08-123 45 67"}, "är inget mobilnummer och kan inte ta emot sms"),
    ({"phone": "+47 412 34 567"}, "är inget mobilnummer från SE"),
    ({"email": "anna@"}, "är ingen giltig e-postadress"),
    ({}, "Ange ett mobilnummer, en e-postadress eller välj Telegram"),
    ({"phone": "0701740651", "segments": "staff"}, "Välj bland grupperna som visas."),
])
def test_unusable_input_is_named_and_nothing_is_sent(
        client: FlaskClient, sandbox: SandboxClient, fields: dict[str, str], error: str) -> None:
    resp = submit(client, "/subscribe", {"name": "Anna", "language": "sv", **fields})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert error in page and 'role="alert"' in page
    assert ('aria-invalid="true"' in page) is ("segments" not in fields)
    assert sandbox.messages() == []


def test_an_address_already_subscribed_gets_the_same_answer_as_a_new_one(
        client: FlaskClient, app: Flask, demo: Any, sandbox: SandboxClient) -> None:
    known = submit(client, "/subscribe", {"name": "X", "language": "sv",
                                          "phone": "070-174 06 90"})  # the demo's staff phone
    new = submit(client, "/subscribe", {"name": "X", "language": "sv", "phone": "0701740652"})
    assert known.status_code == new.status_code == 303
    pages = []
    for resp in (known, new):
        path = resp.headers["Location"].split("?")[0]
        page = client.get(path).get_data(as_text=True)
        pages.append(re.sub(r'name="form_token" value="[^"]+"', "", page.replace(path, "")))
    assert pages[0] == pages[1] and "sexsiffrig kod" in pages[0]
    assert len(sandbox.messages(channel="sms", to="+46701740690")) == 1  # a code, as for anyone
    assert len(sandbox.messages(channel="sms", to="+46701740652")) == 1


def test_sign_ups_are_throttled_per_address_and_per_client(
        client: FlaskClient, app: Flask, sandbox: SandboxClient) -> None:
    page = client.get("/subscribe").get_data(as_text=True)
    for _i in range(3):
        ok = submit(client, "/subscribe", {"name": "A", "language": "sv",
                                           "phone": "0701740653"}, page=page)
        assert ok.status_code == 303
    fourth = submit(client, "/subscribe", {"name": "A", "language": "sv",
                                           "phone": "070-174 06 53"}, page=page)
    assert fourth.status_code == 429
    assert "Vänta en timme" in fourth.get_data(as_text=True)
    assert len(sandbox.messages(channel="sms", to="+46701740653")) == 3
    statuses = [submit(client, "/subscribe", {"name": "B", "language": "sv",
                                              "email": f"b{i}@example.se"}, page=page).status_code
                for i in range(8)]
    assert statuses.count(429) >= 1  # ten sign-ups an hour from one client


def test_an_expired_or_unknown_sign_up_page_says_what_to_do(client: FlaskClient) -> None:
    resp = client.get("/subscribe/not-a-real-token")
    assert resp.status_code == 404
    assert "Anmäl dig igen" in resp.get_data(as_text=True)
    assert client.get("/unsubscribe/forged-token").status_code == 404
    assert client.post("/unsubscribe/forged-token", data={"List-Unsubscribe": "One-Click"}
                       ).status_code == 404


def test_the_bot_asks_for_a_language_with_buttons_and_subscribes_on_a_press(
        app: Flask, client: FlaskClient, sandbox: SandboxClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TELEGRAM_WEBHOOK_SECRET", TELEGRAM_SECRET)
    telegram_post(client, telegram_text(601, 777, "/start", lang="en"))
    [hello] = sandbox.messages(channel="telegram", to="777")
    assert "Choose your language" in hello["body"]
    buttons = hello["meta"]["reply_markup"]["inline_keyboard"][0]
    assert [(b["text"], b["callback_data"]) for b in buttons] == [("Svenska", "lang:sv"),
                                                                   ("English", "lang:en")]
    assert subscription(app, "telegram", "777") is None  # nothing before a choice

    telegram_post(client, telegram_button(602, 777, "lang:en", int(hello["provider_id"])))
    assert subscription(app, "telegram", "777") == ("active", None, "telegram_bot")
    edited = sandbox.messages(channel="telegram", to="777")[-1]
    assert edited["meta"]["edit_of"] == hello["provider_id"]
    assert "in English" in edited["body"]

    telegram_post(client, telegram_button(603, 777, "lang:sv", int(hello["provider_id"])))
    assert "på svenska" in sandbox.messages(channel="telegram", to="777")[-1]["body"]
