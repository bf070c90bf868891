"""The public banner as a company web page and a CDN see it: the document, headers, export."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from notifier import audience, banner, contacts, db, dispatch
from notifier.models import Delivery, Incident, utcnow
from notifier.web import public

from .conftest import ROOT, wait_until

OUTAGE = {"contacts": ["vaxel", "chatt", "epost"], "eta": "13:00"}
SCHEMA = json.loads((ROOT / "docs" / "banner.schema.json").read_text())
STAFF_CSV = ("name,language,phone,email,telegram_chat_id,segments\n"
             "Kim Beredskap,sv,070-174 06 90,beredskap1@solvik.example,,staff\n")


@pytest.fixture
def env(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Export the banner to a folder of the test's own, as a static host would serve it."""
    folder = str(tmp_path / "public")
    monkeypatch.setenv("NOTIFIER_BANNER_EXPORT_DIR", folder)
    return {**env, "NOTIFIER_BANNER_EXPORT_DIR": folder}


def _send(app: Flask, key: str, values: dict[str, Any], **options: Any) -> int:
    """Confirm a notice and publish the banner, as the banner job does; return the incident id."""
    options.setdefault("channels", ["banner"])
    with app.app_context(), db.transaction() as s:
        notice = dispatch.confirm(s, dispatch.NoticeRequest(key, values, **options),
                                  "user:operator@solvik.example")
        banner.publish(s)
        return notice.incident_id


def _publish(app: Flask) -> None:
    with app.app_context(), db.transaction() as s:
        banner.publish(s)


def _shown(client: FlaskClient, check: Any = bool) -> dict[str, Any]:
    """Return the served document once it satisfies check (the server caches it for 1 s)."""
    def fetch() -> dict[str, Any] | None:
        doc: dict[str, Any] = json.loads(client.get("/banner.json").data)
        jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
        return doc if check(doc) else None
    return wait_until(fetch, timeout=5, what="the banner document to change")  # type: ignore[no-any-return]


def test_without_an_incident_the_banner_is_a_valid_empty_document(app: Flask,
                                                                    client: FlaskClient) -> None:
    resp = client.get("/banner.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert _shown(client)["banners"] == []
    never = resp.headers["ETag"]
    assert client.get("/banner.json").headers["ETag"] == never  # stable before any publication

    _publish(app)  # nothing open: still empty, now with the time of publication
    doc = _shown(client, lambda d: d["updated"] != "1970-01-01T00:00:00Z")
    assert doc["banners"] == []


def test_a_confirmed_notice_shows_both_languages_and_the_working_contact_channels(
        app: Flask, client: FlaskClient, approved: None) -> None:
    incident = _send(app, "phone-lines-down", OUTAGE)
    [shown] = _shown(client, lambda d: d["banners"])["banners"]

    assert shown["incident_id"] == incident and shown["id"] == f"incident-{incident}"
    assert (shown["severity"], shown["resolved"]) == ("critical", False)
    assert shown["text"]["sv"]["headline"] == "Vi går inte att nå på 020- och 0771-numren just nu"
    assert "beräknas vara åtgärdat kl. 13.00" in shown["text"]["sv"]["body"]
    assert shown["text"]["en"]["headline"] == "Our 020 and 0771 numbers cannot be reached right now"
    assert "expected to be fixed by 1:00 pm" in shown["text"]["en"]["body"]
    assert shown["links"] == [
        {"kind": "phone", "href": "tel:+4681234567",
         "label": {"sv": "Växel 08-123 45 67", "en": "Switchboard +46 8 123 45 67"}},
        {"kind": "chat", "href": "https://www.solvik.example/chatt",
         "label": {"sv": "Chatta med oss", "en": "Chat with us"}},
        {"kind": "email", "href": "mailto:kundservice@solvik.example",
         "label": {"sv": "E-post", "en": "Email"}},
    ]


def test_the_document_is_revalidated_by_etag_and_cached_by_shared_caches(
        app: Flask, client: FlaskClient, approved: None) -> None:
    first = client.get("/banner.json")
    etag = first.headers["ETag"]
    cache = first.headers["Cache-Control"]
    assert "max-age=15" in cache and "stale-while-revalidate=" in cache
    assert "stale-if-error=" in cache and cache.startswith("public")
    assert first.headers["Access-Control-Allow-Origin"] == "*"

    unchanged = client.get("/banner.json", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["ETag"] == etag
    assert unchanged.headers["Access-Control-Allow-Origin"] == "*"

    _send(app, "phone-lines-down", OUTAGE)
    changed = wait_until(lambda: (r := client.get("/banner.json", headers={"If-None-Match": etag}))
                         .status_code == 200 and r, timeout=5, what="a new ETag")
    assert changed.headers["ETag"] != etag and json.loads(changed.data)["banners"]


def test_a_contact_channel_marked_down_disappears_from_the_links_after_publish(
        app: Flask, client: FlaskClient, approved: None) -> None:
    _send(app, "phone-lines-down", OUTAGE)
    with app.app_context(), db.transaction() as s:
        contacts.set_state(s, "chatt", "down")
        banner.publish(s)
    doc = _shown(client, lambda d: d["banners"] and len(d["banners"][0]["links"]) == 2)
    assert [link["href"] for link in doc["banners"][0]["links"]] == [
        "tel:+4681234567", "mailto:kundservice@solvik.example"]


def test_a_drill_including_the_banner_is_refused_with_a_clear_error(app: Flask,
                                                                    approved: None) -> None:
    with app.app_context(), db.transaction() as s:
        audience.import_csv(s, STAFF_CSV)
    with pytest.raises(dispatch.DispatchError) as exc:
        _send(app, "phone-lines-down", OUTAGE, segments=["staff"], drill=True,
              channels=["sms", "banner"])
    assert str(exc.value) == ("A drill never appears on the public banner: "
                              "leave the banner out.")


def test_a_drill_without_the_banner_leaves_the_banner_empty(app: Flask, client: FlaskClient,
                                                            approved: None) -> None:
    with app.app_context(), db.transaction() as s:
        audience.import_csv(s, STAFF_CSV)
    _send(app, "phone-lines-down", OUTAGE, segments=["staff"], drill=True, channels=["sms"])
    assert _shown(client)["banners"] == []


def test_a_drill_cannot_be_added_to_a_real_incident(app: Flask, approved: None) -> None:
    with app.app_context(), db.transaction() as s:
        audience.import_csv(s, STAFF_CSV + "Anna Kund,sv,0701234567,,,\n")
    incident = _send(app, "phone-lines-down", OUTAGE, channels=["sms", "banner"])
    try:
        _send(app, "phone-lines-down", OUTAGE, segments=["staff"], drill=True, channels=["sms"],
              incident_id=incident)
    except dispatch.DispatchError:
        pass
    with app.app_context(), db.transaction() as s:
        customer = s.scalar(select(Delivery.status).where(Delivery.address == "+46701234567"))
    assert customer == "queued"


def test_a_real_notice_cannot_be_hidden_in_a_drill_incident(app: Flask, client: FlaskClient,
                                                            approved: None) -> None:
    with app.app_context(), db.transaction() as s:
        audience.import_csv(s, STAFF_CSV)
    drill = _send(app, "phone-lines-down", OUTAGE, segments=["staff"], drill=True, channels=["sms"])
    try:
        _send(app, "phone-lines-down", OUTAGE, incident_id=drill)
    except dispatch.DispatchError:
        return  # refused: the operator sends it as a new incident instead
    assert _shown(client)["banners"] != []  # the first read after publishing: no cached copy


def test_the_exported_files_equal_what_is_served(app: Flask, client: FlaskClient,
                                                 env: dict[str, str], approved: None) -> None:
    _send(app, "phone-lines-down", OUTAGE)
    served = wait_until(lambda: (data := client.get("/banner.json").data) != b"" and
                        json.loads(data)["banners"] and data, timeout=5, what="the banner")
    folder = Path(env["NOTIFIER_BANNER_EXPORT_DIR"])
    assert (folder / "banner.json").read_bytes() == served
    assert (folder / "banner.js").read_bytes() == client.get("/banner.js").data


def test_the_script_is_served_with_a_short_cache_and_a_pinned_immutable_version(
        client: FlaskClient) -> None:
    stable = client.get("/banner.js")
    assert stable.status_code == 200 and stable.mimetype == "text/javascript"
    assert stable.headers["Cache-Control"] == "public, max-age=300, stale-while-revalidate=3600"
    assert stable.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/banner.js", headers={"If-None-Match": stable.headers["ETag"]}
                      ).status_code == 304

    pinned = client.get(f"/banner.{public.script_version()}.js")
    assert pinned.status_code == 200 and pinned.data == stable.data
    assert pinned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert pinned.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/banner.000000000000.js").status_code == 404


def test_the_all_clear_shows_the_banner_resolved_and_closes_the_incident(
        app: Flask, client: FlaskClient, approved: None) -> None:
    incident = _send(app, "phone-lines-down", OUTAGE)
    _send(app, "all-clear", {"restored": "phones"}, incident_id=incident)

    doc = _shown(client, lambda d: d["banners"] and d["banners"][0]["resolved"])
    [shown] = doc["banners"]
    assert shown["incident_id"] == incident and shown["severity"] == "info"
    assert shown["text"]["sv"]["headline"] == "Våra telefonnummer fungerar igen"
    assert shown["text"]["en"]["headline"] == "Our phone numbers work again"
    assert shown["links"] == []
    with app.app_context(), db.transaction() as s:
        closed = s.get(Incident, incident)
        assert closed is not None and closed.state == "closed" and closed.closed_at is not None
        s.execute(update(Incident).values(closed_at=utcnow() - timedelta(hours=3)))
        banner.publish(s)
    assert _shown(client, lambda d: not d["banners"])["banners"] == []  # gone after two hours


def test_health_and_readiness_answer(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_readiness_says_which_dependency_is_unreachable(
        env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from notifier import create_app

    monkeypatch.setenv("NOTIFIER_REDIS_URL", f"unix://{tmp_path}/no-such.sock")
    app = create_app({"TESTING": True})
    try:
        ready = app.test_client().get("/readyz")
    finally:
        app.extensions["notifier.engine"].dispose()
    assert ready.status_code == 503
    assert ready.get_json()["status"] == "unavailable"
    assert ready.get_json()["database"] == "ok"
    assert ready.get_json()["redis"].startswith("error: ")


def test_an_update_keeps_the_channels_offered_before_and_puts_its_own_first(
        app: Flask, client: FlaskClient, approved: None) -> None:
    incident = _send(app, "phone-lines-down", {"contacts": ["vaxel", "epost"]})
    _send(app, "phone-lines-down", {"contacts": ["chatt"]}, incident_id=incident)
    shown = _shown(client, lambda d: d["banners"] and d["banners"][0]["links"][0]["kind"] == "chat")
    assert [link["href"] for link in shown["banners"][0]["links"]] == [
        "https://www.solvik.example/chatt", "tel:+4681234567", "mailto:kundservice@solvik.example"]


def test_a_new_disruption_replaces_a_recent_all_clear_on_the_banner(
        app: Flask, client: FlaskClient, approved: None) -> None:
    first = _send(app, "phone-lines-down", OUTAGE)
    _send(app, "all-clear", {"restored": "phones"}, incident_id=first)
    assert _shown(client, lambda d: d["banners"] and d["banners"][0]["resolved"])
    second = _send(app, "phone-lines-down", OUTAGE)
    shown = _shown(client, lambda d: d["banners"] and not d["banners"][0]["resolved"])
    assert [b["incident_id"] for b in shown["banners"]] == [second]


def test_three_all_clears_in_a_row_show_one_banner_and_old_ones_never_return(
        app: Flask, client: FlaskClient, approved: None) -> None:
    closed = []
    for _ in range(3):
        incident = _send(app, "phone-lines-down", OUTAGE)
        _send(app, "all-clear", {"restored": "phones"}, incident_id=incident)
        closed.append(incident)
        shown = _shown(client, lambda d, i=incident: [b["incident_id"] for b in d["banners"]] == [i])
        assert shown["banners"][0]["resolved"]
    # A fourth disruption opens and closes: only its own all-clear shows, none of the earlier.
    fourth = _send(app, "phone-lines-down", OUTAGE)
    assert [b["incident_id"] for b in _shown(
        client, lambda d: d["banners"] and not d["banners"][0]["resolved"])["banners"]] == [fourth]
    _send(app, "all-clear", {"restored": "phones"}, incident_id=fourth)
    shown = _shown(client, lambda d: d["banners"] and d["banners"][0]["resolved"])
    assert [b["incident_id"] for b in shown["banners"]] == [fourth]


def test_a_resolved_banner_disappears_after_the_configured_time(
        app: Flask, client: FlaskClient, approved: None) -> None:
    app.config["BANNER_RESOLVED_MINUTES"] = 30.0
    incident = _send(app, "phone-lines-down", OUTAGE)
    _send(app, "all-clear", {"restored": "phones"}, incident_id=incident)
    assert _shown(client, lambda d: d["banners"] and d["banners"][0]["resolved"])
    with app.app_context(), db.transaction() as s:
        s.execute(update(Incident).values(closed_at=utcnow() - timedelta(minutes=31)))
        banner.publish(s)
    assert _shown(client, lambda d: not d["banners"])["banners"] == []


def test_with_zero_minutes_the_all_clear_removes_the_banner_at_once(
        app: Flask, client: FlaskClient, approved: None) -> None:
    app.config["BANNER_RESOLVED_MINUTES"] = 0.0
    incident = _send(app, "phone-lines-down", OUTAGE)
    assert _shown(client, lambda d: d["banners"])
    _send(app, "all-clear", {"restored": "phones"}, incident_id=incident)
    assert _shown(client, lambda d: not d["banners"])["banners"] == []
