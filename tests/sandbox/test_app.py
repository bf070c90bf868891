"""The provider simulators answer as the real APIs do, and their control API works."""
from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notifier.config import SANDBOX_CREDENTIALS
from notifier.sandbox import create_sandbox_app
from notifier.sandbox.client import SandboxClient, SandboxClientError
from notifier.sandbox.server import start_in_thread

SID = SANDBOX_CREDENTIALS["twilio"]["account_sid"]
TOKEN = SANDBOX_CREDENTIALS["twilio"]["auth_token"]
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
SG_AUTH = {"Authorization": f"Bearer {SANDBOX_CREDENTIALS['sendgrid']['api_key']}"}
BOT = f"/bot{SANDBOX_CREDENTIALS['telegram']['token']}"


@pytest.fixture
def app() -> Flask:
    return create_sandbox_app(seed=1)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def basic(user: str = SID, password: str = TOKEN) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def send_sms(client: FlaskClient, **form: str) -> Any:
    data = {"To": "+46701234567", "From": "Notifier", "Body": "Hej", **form}
    return client.post(MESSAGES, data=data, headers=basic())


def mail_body(*addresses: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "personalizations": [{"to": [{"email": a}], "custom_args": {"delivery_id": str(i)}}
                             for i, a in enumerate(addresses)],
        "from": {"email": "kundservice@example.se"}, "subject": "Avbrott",
        "content": [{"type": "text/plain", "value": "Hej"}, {"type": "text/html", "value": "<p>Hej</p>"}],
    }
    return {**body, **overrides}


def fault(client: FlaskClient, **body: Any) -> Any:
    return client.post("/sandbox/faults", json=body)


def messages(client: FlaskClient, **params: str) -> list[dict[str, Any]]:
    return list(client.get("/sandbox/messages", query_string=params).get_json()["messages"])


# --- Twilio -----------------------------------------------------------------------------------

def test_twilio_creates_a_queued_message_resource(client: FlaskClient) -> None:
    resp = send_sms(client, StatusCallback="https://n.example/cb", ValidityPeriod="600")

    assert resp.status_code == 201
    data = resp.get_json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", data["sid"])
    assert (data["status"], data["to"], data["from"], data["num_segments"]) == \
        ("queued", "+46701234567", "Notifier", "1")
    assert data["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{data['sid']}.json"
    [record] = messages(client, channel="sms")
    assert record["meta"] == {"status_callback": "https://n.example/cb", "validity_period": "600",
                              "num_segments": 1}


@pytest.mark.parametrize(("body", "segments"), [
    ("a" * 160, "1"), ("a" * 161, "2"), ("åäöÅÄÖé" * 20, "1"), ("€" * 80, "1"),
    ("€" * 81, "2"), ("ł" * 70, "1"), ("ł" * 71, "2"),
])
def test_twilio_counts_segments(client: FlaskClient, body: str, segments: str) -> None:
    assert send_sms(client, Body=body).get_json()["num_segments"] == segments


@pytest.mark.parametrize("headers", [{}, basic(password="wrong"), basic(user="AC" + "1" * 32)])
def test_twilio_refuses_bad_credentials(client: FlaskClient, headers: dict[str, str]) -> None:
    resp = client.post(MESSAGES, data={"To": "+46701234567", "From": "N", "Body": "x"},
                       headers=headers)

    assert resp.status_code == 401
    assert resp.get_json() == {"code": 20003, "message": "Authenticate",
                               "more_info": "https://www.twilio.com/docs/errors/20003",
                               "status": 401}


@pytest.mark.parametrize(("form", "code"), [
    ({"To": "0701234567"}, 21211), ({"To": "+46"}, 21211), ({"To": "+15005550009"}, 21614),
    ({"To": "+15005550004"}, 21610), ({"To": "+4681234567"}, 21635), ({"From": ""}, 21603),
    ({"Body": ""}, 21602), ({"Body": "x" * 1601}, 21617),
])
def test_twilio_refuses_bad_messages_with_its_error_body(client: FlaskClient,
                                                         form: dict[str, str], code: int) -> None:
    resp = send_sms(client, **form)

    assert resp.status_code == 400
    assert resp.get_json()["code"] == code
    assert resp.get_json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert messages(client) == []


def test_twilio_rate_limit_fault_answers_429_with_retry_after_then_stops(
        client: FlaskClient) -> None:
    fault(client, channel="sms", kind="rate_limit", count=1, retry_after=3)

    limited, accepted = send_sms(client), send_sms(client)

    assert (limited.status_code, limited.get_json()["code"]) == (429, 20429)
    assert limited.headers["Retry-After"] == "3"
    assert accepted.status_code == 201


def test_twilio_unknown_account_is_404(client: FlaskClient) -> None:
    assert client.post("/2010-04-01/Accounts/nope/Messages.json").status_code == 404


# --- SendGrid ---------------------------------------------------------------------------------

def test_sendgrid_accepts_and_records_one_message_per_recipient(client: FlaskClient) -> None:
    resp = client.post("/v3/mail/send", json=mail_body("a@example.se", "b@example.se"),
                       headers=SG_AUTH)

    assert resp.status_code == 202 and resp.data == b""
    records = messages(client, channel="email")
    assert [(r["to"], r["custom_args"]["delivery_id"]) for r in records] == \
        [("a@example.se", "0"), ("b@example.se", "1")]
    assert {r["provider_id"] for r in records} == {resp.headers["X-Message-Id"]}
    assert (records[0]["subject"], records[0]["body"], records[0]["html"]) == \
        ("Avbrott", "Hej", "<p>Hej</p>")


def test_sendgrid_refuses_a_wrong_key(client: FlaskClient) -> None:
    resp = client.post("/v3/mail/send", json=mail_body("a@example.se"),
                       headers={"Authorization": "Bearer SG.wrong"})

    assert resp.status_code == 401
    [error] = resp.get_json()["errors"]
    assert set(error) == {"message", "field", "help"}


def test_sendgrid_one_bad_address_refuses_the_whole_request(client: FlaskClient) -> None:
    resp = client.post("/v3/mail/send", json=mail_body("a@example.se", "broken"),
                       headers=SG_AUTH)

    assert resp.status_code == 400
    assert resp.get_json()["errors"][0]["field"] == "personalizations.1.to.0.email"
    assert messages(client) == []


@pytest.mark.parametrize(("overrides", "field"), [
    ({"subject": ""}, "subject"), ({"content": []}, "content"),
    ({"from": {"email": "nope"}}, "from.email"), ({"personalizations": []}, "personalizations"),
])
def test_sendgrid_refuses_malformed_requests(client: FlaskClient, overrides: dict[str, Any],
                                             field: str) -> None:
    resp = client.post("/v3/mail/send", json=mail_body("a@example.se", **overrides),
                       headers=SG_AUTH)

    assert resp.status_code == 400
    assert resp.get_json()["errors"][0]["field"] == field


def test_sendgrid_allows_at_most_1000_personalizations(client: FlaskClient) -> None:
    addresses = [f"k{i}@example.se" for i in range(1001)]

    too_many = client.post("/v3/mail/send", json=mail_body(*addresses), headers=SG_AUTH)
    enough = client.post("/v3/mail/send", json=mail_body(*addresses[:1000]), headers=SG_AUTH)

    assert (too_many.status_code, enough.status_code) == (400, 202)
    assert len(messages(client, channel="email")) == 1000


def test_sendgrid_faults(client: FlaskClient) -> None:
    fault(client, channel="email", kind="rate_limit", count=1, retry_after=2)
    fault(client, channel="email", kind="error_5xx", count=1)

    limited = client.post("/v3/mail/send", json=mail_body("a@example.se"), headers=SG_AUTH)
    broken = client.post("/v3/mail/send", json=mail_body("a@example.se"), headers=SG_AUTH)

    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "2")
    assert broken.status_code == 500 and "errors" in broken.get_json()


# --- Telegram ---------------------------------------------------------------------------------

def test_telegram_get_me(client: FlaskClient) -> None:
    body = client.get(f"{BOT}/getMe").get_json()

    assert body["ok"] is True and body["result"]["is_bot"] is True


@pytest.mark.parametrize("as_json", [True, False])
def test_telegram_send_message_returns_a_message(client: FlaskClient, as_json: bool) -> None:
    params = {"chat_id": "42", "text": "<b>Hej</b> &lt;3", "parse_mode": "HTML"}
    resp = client.post(f"{BOT}/sendMessage", **({"json": params} if as_json else {"data": params}))

    result = resp.get_json()["result"]
    assert (result["chat"]["id"], result["text"]) == (42, "Hej <3")
    assert isinstance(result["message_id"], int) and isinstance(result["date"], int)
    assert messages(client, channel="telegram", to="42")[0]["body"] == "Hej <3"


@pytest.mark.parametrize(("params", "status", "description"), [
    ({"chat_id": "nobody", "text": "x"}, 400, "Bad Request: chat not found"),
    ({"chat_id": "42", "text": "<p>x</p>", "parse_mode": "HTML"}, 400,
     "Bad Request: can't parse entities: Unsupported start tag \"p\" at byte offset 0"),
    ({"chat_id": "42", "text": "<i>x</b>", "parse_mode": "HTML"}, 400,
     "Bad Request: can't parse entities: Unexpected end tag at byte offset 4"),
    ({"chat_id": "42", "text": "Q&A", "parse_mode": "HTML"}, 400,
     "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 1"),
    ({"chat_id": "42", "text": "x < 5", "parse_mode": "HTML"}, 400,
     "Bad Request: can't parse entities: Unsupported start tag \"\" at byte offset 2"),
    ({"chat_id": "42", "text": "Q&A < 5"}, 200, None),
    ({"chat_id": "42", "text": ""}, 400, "Bad Request: message text is empty"),
])
def test_telegram_checks_requests_and_html(client: FlaskClient, params: dict[str, str], status: int,
                               description: str | None) -> None:
    resp = client.post(f"{BOT}/sendMessage", data=params)

    assert resp.status_code == status
    if description is not None:
        assert resp.get_json() == {"ok": False, "error_code": status, "description": description}


def test_telegram_blocked_and_flood_faults(client: FlaskClient) -> None:
    fault(client, channel="telegram", kind="blocked", addresses=["7"])
    fault(client, channel="telegram", kind="rate_limit", addresses=["8"], retry_after=5)

    blocked = client.post(f"{BOT}/sendMessage", data={"chat_id": "7", "text": "x"})
    flooded = client.post(f"{BOT}/sendMessage", data={"chat_id": "8", "text": "x"})

    assert (blocked.status_code, blocked.get_json()["description"]) == \
        (403, "Forbidden: bot was blocked by the user")
    assert flooded.status_code == 429
    assert flooded.get_json()["parameters"] == {"retry_after": 5}


def test_telegram_refuses_a_malformed_token(client: FlaskClient) -> None:
    resp = client.get("/botnot-a-token/getMe")

    assert resp.status_code == 401
    assert resp.get_json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_telegram_webhook_round_trip(client: FlaskClient) -> None:
    hook = {"url": "https://n.example/telegram", "secret_token": "s3cret"}
    assert client.post(f"{BOT}/setWebhook", data=hook).get_json()["result"] is True
    assert client.get(f"{BOT}/getWebhookInfo").get_json()["result"]["url"] == hook["url"]
    assert client.get("/sandbox/webhooks").get_json()["webhooks"][
        SANDBOX_CREDENTIALS["telegram"]["token"]]["secret_token"] == "s3cret"
    assert client.post(f"{BOT}/deleteWebhook").get_json()["result"] is True
    assert client.get(f"{BOT}/getWebhookInfo").get_json()["result"]["url"] == ""


# --- Control API --------------------------------------------------------------------------------

def test_index_says_nothing_real_is_sent(client: FlaskClient) -> None:
    page = client.get("/sandbox/").get_data(as_text=True)

    assert "nothing real is sent" in page


@pytest.mark.parametrize("body", [
    {"channel": "fax", "kind": "error_5xx"}, {"channel": "sms", "kind": "explode"},
    {"channel": "sms", "kind": "error_5xx", "rate": 2}, {"channel": "sms", "kind": "timeout",
                                                        "addresses": "+4670"},
])
def test_malformed_fault_is_refused(client: FlaskClient, body: dict[str, Any]) -> None:
    resp = fault(client, **body)

    assert resp.status_code == 400 and resp.get_json()["error"]


def test_fault_rate_hits_a_share_of_calls(client: FlaskClient) -> None:
    fault(client, channel="sms", kind="error_5xx", rate=0.5)

    statuses = [send_sms(client).status_code for _ in range(200)]

    assert 60 < statuses.count(500) < 140
    assert client.get("/sandbox/stats").get_json()["status"]["sms"] == {
        "500": statuses.count(500), "201": statuses.count(201)}


def test_faults_list_and_clear(client: FlaskClient) -> None:
    fault(client, channel="sms", kind="blocked", addresses=["+46701234567"])

    assert [f["kind"] for f in client.get("/sandbox/faults").get_json()["faults"]] == ["blocked"]
    client.delete("/sandbox/faults")
    assert client.get("/sandbox/faults").get_json()["faults"] == []
    assert send_sms(client).status_code == 201


def test_reset_forgets_messages_and_counts(client: FlaskClient) -> None:
    send_sms(client)
    client.delete("/sandbox/messages")

    assert messages(client) == []
    assert client.get("/sandbox/stats").get_json()["calls"] == {}


def test_threaded_server_and_client() -> None:
    server = start_in_thread()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        with SandboxClient(server.url) as sandbox:
            sandbox.fault("sms", "unsubscribed", addresses=["+46700000001"])
            assert sandbox.faults()[0]["addresses"] == ["+46700000001"]
            sandbox.reset()
            assert sandbox.faults() == [] and sandbox.messages() == []
            assert sandbox.stats()["calls"] == {}
            with pytest.raises(SandboxClientError, match="kind must be one of"):
                sandbox.fault("sms", "explode")
    finally:
        server.stop()


def test_client_says_when_the_sandbox_is_not_running() -> None:
    with SandboxClient("http://127.0.0.1:1", timeout=0.5) as sandbox, \
            pytest.raises(SandboxClientError, match="Is it running"):
        sandbox.messages()
