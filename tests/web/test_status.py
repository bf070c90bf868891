"""The public status page, its Atom feed and the Statuspage-compatible API, as the public sees them."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notifier import banner, contacts, db
from notifier.dispatch import NoticeRequest, confirm
from notifier.models import Incident, Notice


@pytest.fixture
def client(client: FlaskClient) -> FlaskClient:
    """A visitor without a language preference: the status page defaults to Swedish."""
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE", None)
    return client


ATOM = "{http://www.w3.org/2005/Atom}"
OUTAGE = {"contacts": ["vaxel", "chatt", "epost"], "eta": "13:00"}


def send(app: Flask, key: str, values: dict[str, Any], **options: Any) -> Notice:
    """Confirm a notice (banner included unless told otherwise) and publish the banner."""
    options.setdefault("channels", ("sms", "banner"))
    with app.app_context():
        with db.transaction() as s:
            notice = confirm(s, NoticeRequest(key, values, **options), "test")
            s.flush()
            notice_id, incident_id = notice.id, notice.incident_id
        with db.transaction() as s:
            banner.publish(s)
        notice = db.session().get(Notice, notice_id)
        assert notice is not None and notice.incident_id == incident_id
        return notice


def outage(app: Flask) -> Notice:
    return send(app, "phone-lines-down", OUTAGE)


def update(app: Flask, incident_id: int) -> Notice:
    return send(app, "update", {"status": "cause_found", "eta": "15:00"}, incident_id=incident_id)


def all_clear(app: Flask, incident_id: int) -> Notice:
    return send(app, "all-clear", {"restored": "phones"}, incident_id=incident_id)


def drill(app: Flask) -> Notice:
    return send(app, "phone-lines-down", {"contacts": ["vaxel"], "eta": "11:11"}, drill=True,
                segments=("staff",), channels=("sms",),
                incident_title="Övning: hemlig övning")


def page(client: FlaskClient, query: str = "", **headers: str) -> str:
    resp = client.get(f"/status{query}", headers=headers)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_all_is_well_page_in_swedish_by_default(client: FlaskClient, demo: Any) -> None:
    html = page(client)
    assert '<html lang="sv">' in html
    assert "Allt fungerar som vanligt." in html
    assert "Så når du oss" in html and 'href="tel:+4681234567"' in html
    assert '<main id="content">' in html and "<script" not in html
    assert 'href="/status?lang=en"' in html


def test_open_incident_in_swedish_and_english(app: Flask, client: FlaskClient, demo: Any) -> None:
    notice = outage(app)
    update(app, notice.incident_id)
    sv = page(client)
    assert "Pågående störningar" in sv and "<strong>Störning</strong>" in sv
    assert "Första beskedet" in sv and "Uppdatering" in sv
    assert "Det här berörs:" in sv
    assert sv.index("Uppdatering om störningen") < sv.index("Första beskedet")  # newest first
    assert "kl. 15.00" in sv
    assert f'id="notice-{notice.id}"' in sv
    en = page(client, "?lang=en")
    assert '<html lang="en">' in en and "Current disruptions" in en
    assert "Update on the disruption" in en and "Switchboard +46 8 123 45 67" in en
    assert "Current disruptions" in page(client, **{"Accept-Language": "en-GB,en;q=0.9"})
    assert "Pågående störningar" in page(client, "?lang=sv", **{"Accept-Language": "en"})


def test_times_are_in_swedish_time(app: Flask, client: FlaskClient, demo: Any) -> None:
    notice = outage(app)
    created = notice.created_at.replace(tzinfo=UTC) if notice.created_at.tzinfo is None \
        else notice.created_at
    local = created.astimezone(ZoneInfo("Europe/Stockholm"))
    html = page(client)
    assert f'datetime="{local.isoformat()}"' in html
    assert f"kl. {local:%H.%M}" in html


def test_drills_never_appear(app: Flask, client: FlaskClient, demo: Any) -> None:
    d = drill(app)
    for path in ("/status", "/status?lang=en", "/feed.atom", "/cap.atom",
                 "/api/v2/summary.json", "/api/v2/status.json"):
        body = client.get(path).get_data(as_text=True)
        assert "övning" not in body.lower() and "11.11" not in body and "11:11" not in body, path
        assert f"notice-{d.id}" not in body, path
    assert client.get(f"/cap/{d.id}.xml").status_code == 404
    summary = client.get("/api/v2/summary.json").get_json()
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"


def test_resolved_incident_moves_to_history(app: Flask, client: FlaskClient, demo: Any) -> None:
    notice = outage(app)
    all_clear(app, notice.incident_id)
    html = page(client)
    assert "Allt fungerar som vanligt." in html
    assert "Tidigare störningar (30 dagar)" in html and "Åtgärdat" in html
    assert "Våra telefonnummer fungerar igen" in html
    with app.app_context(), db.transaction() as s:
        incident = s.get(Incident, notice.incident_id)
        assert incident is not None and incident.closed_at is not None
        incident.closed_at = incident.closed_at - timedelta(days=31)
    assert "Inga störningar de senaste 30 dagarna." in page(client)


def test_contact_channel_marked_down_disappears(app: Flask, client: FlaskClient,
                                                 demo: Any) -> None:
    outage(app)
    assert "tel:+4681234567" in page(client)
    with app.app_context(), db.transaction() as s:
        contacts.set_state(s, "vaxel", "down")
    html = page(client)
    assert "tel:+4681234567" not in html and "Växel 08-123 45 67" not in html
    assert "https://www.solvik.example/chatt" in html
    components = {c["id"]: c["status"]
                  for c in client.get("/api/v2/summary.json").get_json()["components"]}
    assert components["contact-vaxel"] == "major_outage"
    assert components["contact-chatt"] == "operational"


def test_public_endpoints_are_cached_and_need_no_login(app: Flask, client: FlaskClient,
                                                       demo: Any) -> None:
    notice = outage(app)
    for path in ("/status", "/feed.atom", "/cap.atom", f"/cap/{notice.id}.xml",
                 "/api/v2/status.json", "/api/v2/summary.json"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["Cache-Control"] == "public, max-age=30", path
        etag = resp.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert "Set-Cookie" not in resp.headers, path


def test_no_personal_data_or_sandbox_details(app: Flask, client: FlaskClient, demo: Any) -> None:
    outage(app)
    for path in ("/status", "/feed.atom", "/api/v2/summary.json"):
        body = client.get(path).get_data(as_text=True)
        for secret in ("070-174", "+4670174", "@example.se", "operator@", "test", "SANDBOX",
                       "sandbox"):
            assert secret not in body, (path, secret)


def test_atom_feed_parses_and_lists_notices(app: Flask, client: FlaskClient, demo: Any) -> None:
    notice = outage(app)
    later = update(app, notice.incident_id)
    resp = client.get("/feed.atom")
    assert resp.mimetype == "application/atom+xml"
    feed = ET.fromstring(resp.data)
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"{app.config['PUBLIC_URL']}/status#notice-{n.id}" for n in (later, notice)]
    assert "020" in (entries[1].findtext(f"{ATOM}title") or "")
    english = ET.fromstring(client.get("/feed.atom?lang=en").data)
    assert "Update on the disruption" in (english.find(f"{ATOM}entry/{ATOM}title").text or "")
    index = ET.fromstring(client.get("/cap.atom").data)
    hrefs = [e.find(f"{ATOM}link").get("href") for e in index.findall(f"{ATOM}entry")]
    assert hrefs == [f"{app.config['PUBLIC_URL']}/cap/{n.id}.xml" for n in (later, notice)]


STATUSPAGE_PAGE = {"id", "name", "url", "time_zone", "updated_at"}
STATUSPAGE_COMPONENT = {"id", "name", "status", "created_at", "updated_at", "position",
                        "description", "showcase", "start_date", "group_id", "page_id", "group",
                        "only_show_if_degraded"}
STATUSPAGE_INCIDENT = {"id", "name", "status", "created_at", "updated_at", "monitoring_at",
                       "resolved_at", "impact", "shortlink", "started_at", "page_id",
                       "incident_updates", "components"}
STATUSPAGE_UPDATE = {"id", "status", "body", "incident_id", "created_at", "updated_at",
                     "display_at", "affected_components", "deliver_notifications",
                     "custom_tweet", "tweet_id"}


def test_statuspage_fields_when_all_is_well(client: FlaskClient, demo: Any) -> None:
    status = client.get("/api/v2/status.json").get_json()
    assert set(status) == {"page", "status"}
    assert set(status["page"]) == STATUSPAGE_PAGE
    assert status["page"]["time_zone"] == "Europe/Stockholm"
    assert status["status"] == {"indicator": "none", "description": "All Systems Operational"}
    summary = client.get("/api/v2/summary.json").get_json()
    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert all(set(c) == STATUSPAGE_COMPONENT for c in summary["components"])
    assert {c["status"] for c in summary["components"]} == {"operational"}


def test_statuspage_incident_and_indicator_mapping(app: Flask, client: FlaskClient,
                                                   demo: Any) -> None:
    notice = outage(app)  # critical
    summary = client.get("/api/v2/summary.json").get_json()
    assert summary["status"] == {"indicator": "critical", "description": "Major System Outage"}
    [incident] = summary["incidents"]
    assert set(incident) == STATUSPAGE_INCIDENT
    assert incident["status"] == "investigating" and incident["impact"] == "critical"
    update(app, notice.incident_id)  # warning, cause found
    summary = client.get("/api/v2/summary.json").get_json()
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    [incident] = summary["incidents"]
    assert incident["status"] == "identified"
    assert [set(u) for u in incident["incident_updates"]] == [STATUSPAGE_UPDATE] * 2
    assert [u["status"] for u in incident["incident_updates"]] == ["identified", "investigating"]
    all_clear(app, notice.incident_id)
    summary = client.get("/api/v2/summary.json").get_json()
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"


def test_planned_maintenance_is_a_scheduled_maintenance(app: Flask, client: FlaskClient,
                                                       demo: Any) -> None:
    send(app, "planned-maintenance", {"affected": "switchboard", "start": "2030-12-06 02:00",
                                       "end": "2030-12-06 04:00"})
    summary = client.get("/api/v2/summary.json").get_json()
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"
    [maint] = summary["scheduled_maintenances"]
    assert maint["status"] == "scheduled" and maint["impact"] == "maintenance"
    assert maint["scheduled_for"] == "2030-12-06T01:00:00.000Z"
    assert maint["scheduled_until"] == "2030-12-06T03:00:00.000Z"
    [entry] = json.loads(client.get("/banner.json").data)["banners"]
    assert (entry["starts_at"], entry["ends_at"]) == ("2030-12-06T01:00:00Z",
                                                      "2030-12-06T03:00:00Z")
