"""CAP 1.2 alerts: every document validates against the OASIS schema and links its incident."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from notifier.models import Notice

from .web.test_status import all_clear, outage, send, update

SCHEMA = Path(__file__).resolve().parent / "data" / "CAP-v1.2.xsd"  # the OASIS schema
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    if not SCHEMA.exists():
        pytest.fail(f"the CAP 1.2 schema is missing at {SCHEMA}", pytrace=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def alert(client: FlaskClient, schema: etree.XMLSchema, notice: Notice) -> Any:
    resp = client.get(f"/cap/{notice.id}.xml")
    assert resp.status_code == 200
    assert resp.mimetype == "application/cap+xml"
    doc = etree.fromstring(resp.data)
    schema.assertValid(doc)
    return doc


def text(doc: Any, path: str) -> str:
    return str(doc.findtext(path.replace("cap:", CAP)))


def test_every_alert_of_an_incident_validates(app: Flask, client: FlaskClient, demo: Any,
                                              schema: etree.XMLSchema) -> None:
    first = outage(app)
    notices = [first, update(app, first.incident_id), all_clear(app, first.incident_id),
               send(app, "planned-maintenance", {"affected": "chat", "start": "2030-01-02 02:00",
                                                 "end": "2030-01-02 03:00"})]
    for notice in notices:
        doc = alert(client, schema, notice)
        assert text(doc, "cap:status") == "Actual" and text(doc, "cap:scope") == "Public"
        assert [i.findtext(f"{CAP}language") for i in doc.findall(f"{CAP}info")] == [
            "sv-SE", "en-US"]
        assert {i.findtext(f"{CAP}category") for i in doc.findall(f"{CAP}info")} == {"Infra"}
    index = etree.fromstring(client.get("/cap.atom").data)
    hrefs = index.findall("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}link")
    assert len(hrefs) == len(notices)
    for link in hrefs:
        path = link.get("href").removeprefix(app.config["PUBLIC_URL"])
        schema.assertValid(etree.fromstring(client.get(path).data))


def test_first_alert_is_an_alert_with_severity_and_working_contacts(
        app: Flask, client: FlaskClient, demo: Any, schema: etree.XMLSchema) -> None:
    doc = alert(client, schema, outage(app))
    assert text(doc, "cap:msgType") == "Alert"
    assert doc.find(f"{CAP}references") is None
    assert text(doc, "cap:sender") == "127.0.0.1"
    sv, en = doc.findall(f"{CAP}info")
    assert (sv.findtext(f"{CAP}urgency"), sv.findtext(f"{CAP}severity"),
            sv.findtext(f"{CAP}certainty")) == ("Immediate", "Severe", "Observed")
    assert "020" in (sv.findtext(f"{CAP}headline") or "")
    assert "tel:+4681234567" in (sv.findtext(f"{CAP}instruction") or "")
    assert "Switchboard +46 8 123 45 67" in (en.findtext(f"{CAP}instruction") or "")
    assert en.findtext(f"{CAP}web") == f"{app.config['PUBLIC_URL']}/status?lang=en"


def test_update_references_the_original(app: Flask, client: FlaskClient, demo: Any,
                                        schema: etree.XMLSchema) -> None:
    first = outage(app)
    original = alert(client, schema, first)
    doc = alert(client, schema, update(app, first.incident_id))
    assert text(doc, "cap:msgType") == "Update"
    sender, identifier, sent = text(doc, "cap:references").split(",")
    assert (sender, identifier, sent) == (text(original, "cap:sender"),
                                          text(original, "cap:identifier"),
                                          text(original, "cap:sent"))
    assert text(doc, "cap:incidents") == text(original, "cap:incidents")


def test_all_clear_is_an_update_with_response_type_all_clear(
        app: Flask, client: FlaskClient, demo: Any, schema: etree.XMLSchema) -> None:
    first = outage(app)
    second = update(app, first.incident_id)
    doc = alert(client, schema, all_clear(app, first.incident_id))
    assert text(doc, "cap:msgType") == "Update"
    refs = text(doc, "cap:references").split(" ")
    assert [r.split(",")[1] for r in refs] == [f"127.0.0.1.notice.{n.id}" for n in (first, second)]
    for info in doc.findall(f"{CAP}info"):
        assert info.findtext(f"{CAP}responseType") == "AllClear"
        assert info.findtext(f"{CAP}urgency") == "Past"


def test_identifier_is_stable(app: Flask, client: FlaskClient, demo: Any,
                              schema: etree.XMLSchema) -> None:
    notice = outage(app)
    one, two = alert(client, schema, notice), alert(client, schema, notice)
    assert text(one, "cap:identifier") == text(two, "cap:identifier") == \
        f"127.0.0.1.notice.{notice.id}"
    assert text(one, "cap:sent") == text(two, "cap:sent")
    assert client.get("/cap/999999.xml").status_code == 404
