"""What customers write and say to us: SMS keywords, the inbox, Telegram polling, the status line."""
from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from notifier import db
from notifier.cli import main
from notifier.models import ContactChannel, InboxMessage, Subscriber, Subscription
from notifier.sandbox.client import SandboxClient

from ..customer_helpers import (
    send_notice,
    sms_from,
    subscription,
    telegram_text,
    twilio_post,
)

STAFF = "+46701740690"  # the demo's first staff phone, Swedish-speaking


def _said(resp: Any) -> str | None:
    root = ET.fromstring(resp.get_data())
    message = root.find("Message")
    return None if message is None else message.text


def test_start_and_starta_opt_an_address_back_in_only_starta_is_answered_by_us(
        app: Flask, client: FlaskClient, demo: Any) -> None:
    sms_from(client, STAFF, "STOP", "SM" + "a" * 32)
    assert subscription(app, "sms", STAFF)[0] == "opted_out"  # type: ignore[index]
    assert _said(sms_from(client, STAFF, "START", "SM" + "b" * 32)) is None  # Twilio answers START
    assert subscription(app, "sms", STAFF)[:1] == ("active",)  # type: ignore[index]
    sms_from(client, STAFF, "stopp", "SM" + "c" * 32)
    again = _said(sms_from(client, STAFF, "Starta", "SM" + "d" * 32))
    assert again is not None and again.startswith("Du får meddelanden från Solvik Energi AB")
    assert subscription(app, "sms", STAFF) == ("active", None, "sms_keyword")


def test_start_from_an_unknown_mobile_subscribes_it(app: Flask, client: FlaskClient) -> None:
    sms_from(client, "+46701740660", "START", "SM" + "e" * 32)
    assert subscription(app, "sms", "+46701740660") == ("active", None, "sms_keyword")
    with app.app_context():
        assert db.session().scalar(select(Subscriber.language)) == "en"


def test_help_is_twilios_to_answer_hjalp_is_ours(app: Flask, client: FlaskClient,
                                                 demo: Any) -> None:
    assert _said(sms_from(client, STAFF, "HELP", "SM" + "f" * 32)) is None
    hjalp = _said(sms_from(client, STAFF, "hjälp", "SM" + "0" * 31 + "1"))
    assert hjalp == ("Solvik Energi AB skickar besked hit när kundtjänst inte går att nå. Svara "
                     "STATUS för läget just nu, STOPP för att sluta få meddelanden.")


def test_other_texts_land_in_the_inbox_and_are_acknowledged_once(
        app: Flask, client: FlaskClient, demo: Any) -> None:
    first = sms_from(client, STAFF, "Hur länge dröjer det?", "SM" + "0" * 31 + "2")
    assert "ditt meddelande har skickats vidare" in (_said(first) or "")
    replay = sms_from(client, STAFF, "Hur länge dröjer det?", "SM" + "0" * 31 + "2")
    assert _said(replay) is None
    with app.app_context():
        [message] = db.session().scalars(select(InboxMessage)).all()
        assert (message.channel, message.address, message.text) == (
            "sms", STAFF, "Hur länge dröjer det?")
        assert message.subscriber_id is not None
    assert subscription(app, "sms", STAFF)[0] == "active"  # type: ignore[index]


def test_the_console_inbox_shows_messages_and_marks_them_handled(
        app: Flask, client: FlaskClient, demo: Any, auth: Any) -> None:
    sms_from(client, STAFF, "Ring mig", "SM" + "0" * 31 + "3")
    auth.login("operator@solvik.example")
    page = client.get("/inbox").get_data(as_text=True)
    assert "Ring mig" in page and "070-174 06 90" in page
    with app.app_context():
        message_id = db.session().scalar(select(InboxMessage.id))
    client.post(f"/inbox/{message_id}/handled", data={"csrf_token": auth.csrf("/inbox")})
    assert "Ring mig" not in client.get("/inbox").get_data(as_text=True)
    assert "operator@solvik.example" in client.get("/inbox?handled=1").get_data(as_text=True)


# --- Telegram by long polling ------------------------------------------------------------------

def test_the_bot_answers_by_long_polling_through_get_updates(
        app: Flask, env: dict[str, str], sandbox: SandboxClient) -> None:
    for text in ("/start", "Hej, fungerar chatten?"):
        sandbox.telegram_update({"message": telegram_text(0, 888, text)["message"]})
    result = CliRunner().invoke(main, ["telegram", "poll", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 updates answered" in result.output
    replies = [m["body"] for m in sandbox.messages(channel="telegram", to="888")]
    assert "Välj språk" in replies[0] and "skickats vidare" in replies[1]
    with app.app_context():
        assert db.session().scalar(select(InboxMessage.text)) == "Hej, fungerar chatten?"
    again = CliRunner().invoke(main, ["telegram", "poll", "--once"])
    assert "0 updates answered" in again.output  # confirmed updates are not fetched again


def test_polling_while_a_webhook_is_set_says_what_to_do(
        app: Flask, env: dict[str, str], sandbox: SandboxClient) -> None:
    import httpx

    token = app.config["PROVIDERS"]["telegram"].credentials["token"]
    httpx.post(f"{env['NOTIFIER_TELEGRAM_API_URL']}/bot{token}/setWebhook",
               data={"url": "https://notifier.example.se/webhooks/telegram/x"})
    refused = CliRunner().invoke(main, ["telegram", "poll", "--once"])
    assert refused.exit_code == 2
    assert "notifier telegram poll --drop-webhook" in refused.output
    dropped = CliRunner().invoke(main, ["telegram", "poll", "--once", "--drop-webhook"])
    assert dropped.exit_code == 0, dropped.output


# --- the status line -----------------------------------------------------------------------------

def _voice(client: FlaskClient, path: str = "/webhooks/twilio/voice", **extra: str) -> Any:
    return twilio_post(client, path, {"CallSid": "CA" + "1" * 32, "From": "+46701740661",
                                      "To": "+46812345678", "CallStatus": "in-progress", **extra})


def _says(resp: Any) -> list[tuple[str | None, str]]:
    root = ET.fromstring(resp.get_data())
    return [(el.get("language"), el.text or "") for el in root.iter("Say")]


def test_the_status_line_says_all_is_well_in_swedish_then_english(
        app: Flask, client: FlaskClient, demo: Any) -> None:
    resp = _voice(client)
    assert resp.status_code == 200 and resp.mimetype == "text/xml"
    root = ET.fromstring(resp.get_data())
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == f"{app.config['PUBLIC_URL']}/webhooks/twilio/voice/menu"
    said = _says(resp)
    assert [lang for lang, _t in said[:2]] == ["sv-SE", "en-GB"]
    assert "Vi känner inte till någon störning just nu" in said[0][1]
    assert "0 8, 1 2 3, 4 5, 6 7" in said[0][1]  # the switchboard, digit by digit
    assert "Tryck 1" in said[0][1] and "Press 2" in said[1][1]
    assert "no known disruption" in said[1][1]


def test_during_an_incident_the_line_reads_the_notice_and_press_1_texts_it(
        app: Flask, client: FlaskClient, demo: Any, sandbox: SandboxClient) -> None:
    send_notice(app, ("banner",), ())
    said = _says(_voice(client))
    assert said[0][1].startswith("Vi går inte att nå på 020- och 0771-numren just nu. Felet")
    menu = "/webhooks/twilio/voice/menu"
    pressed = _voice(client, menu, Digits="1")
    assert _says(pressed) == [("sv-SE", "Vi har skickat ett sms till dig. Hej då.")]
    [sms] = sandbox.messages(channel="sms", to="+46701740661")
    assert "08-123 45 67" in sms["body"]
    assert _says(_voice(client, menu, Digits="1"))[0][1] == "Tack för att du ringde. Hej då."
    assert len(sandbox.messages(channel="sms", to="+46701740661")) == 1  # a retry texts nobody


def test_the_status_line_refuses_unsigned_calls_and_texts_no_foreign_number(
        app: Flask, client: FlaskClient, demo: Any, sandbox: SandboxClient) -> None:
    assert client.post("/webhooks/twilio/voice", data={"CallSid": "CA1"}).status_code == 403
    pressed = twilio_post(client, "/webhooks/twilio/voice/menu",
                          {"CallSid": "CA" + "2" * 32, "From": "+882351234567", "Digits": "2"})
    assert _says(pressed) == [("en-GB", "We could not send a text message to your number. "
                                        "Goodbye.")]
    assert sandbox.messages(channel="sms") == []


@pytest.fixture
def live(app: Flask, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Serve the app over HTTP as its public URL, for the sandbox to call."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.port}"
    monkeypatch.setitem(app.config, "PUBLIC_URL", url)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_sandbox_plays_a_call_for_the_demo(app: Flask, demo: Any, live: str,
                                               sandbox: SandboxClient) -> None:
    heard = sandbox.call(f"{live}/webhooks/twilio/voice", caller="+46701740662", press="2")
    assert [h["language"] for h in heard] == ["sv-SE", "en-GB", "sv-SE", "en-GB", "en-GB"]
    assert heard[-1]["text"] == "We have sent you a text message. Goodbye."
    assert len(sandbox.messages(channel="sms", to="+46701740662")) == 1


def test_the_voice_number_is_a_contact_channel_on_the_status_page(
        app: Flask, env: dict[str, str], demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_VOICE_NUMBER", "08-555 123 45")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        line = db.session().scalar(select(ContactChannel).where(
            ContactChannel.key == "statuslinje"))
        assert line is not None and line.value == "+46855512345"
    page = app.test_client().get("/status").get_data(as_text=True)
    assert "Telefonsvar om läget" in page
    with app.app_context():
        assert db.session().scalar(select(Subscription.id).limit(1)) is not None
