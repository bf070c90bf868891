"""Public feeds stay well-formed and honest: no XML-forbidden character, no notice that never
went to the banner."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import update as sql_update

from notifier import db, library
from notifier.models import Notice

from ..test_cap import SCHEMA
from .test_status import OUTAGE, outage, send

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ["\ufffe", "\uffff", "\ud800", "\x01", "\x0b", "\x85", "\x9f"]


@pytest.mark.parametrize("char", FORBIDDEN)
def test_a_value_with_an_xml_forbidden_character_is_refused(char: str) -> None:
    spec = library.load_file(ROOT / "templates" / "partial-outage.yaml")
    with pytest.raises(library.VariablesError) as caught:
        library.validate_values(spec, {"region": f"Skåne{char}s", "eta": "13:00"}, {})
    message = caught.value.errors["region"]
    assert f"U+{ord(char):04X}" in message and "position 6" in message


def test_feeds_and_cap_stay_valid_when_a_text_carries_forbidden_characters(
        app: Flask, client: FlaskClient, demo: Any) -> None:
    notice = outage(app)
    # A text that came in before values were checked, or through the template's own wording.
    dirty = "Vi har en störning\ufffe\x01\x85 just nu"
    with app.app_context(), db.transaction() as s:
        rendered = json.loads(json.dumps(notice.rendered))
        for lang in rendered:
            rendered[lang]["banner"]["headline"] = dirty
            rendered[lang]["banner"]["body"] = dirty
        s.execute(sql_update(Notice).where(Notice.id == notice.id).values(rendered=rendered))
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    for path in ("/feed.atom", "/feed.atom?lang=en", "/cap.atom", f"/cap/{notice.id}.xml"):
        resp = client.get(path)
        assert resp.status_code == 200
        doc = etree.fromstring(resp.data)  # strict parser: raises on a forbidden character
        assert "Vi har en störning just nu" in resp.get_data(as_text=True)
        if path.startswith("/cap/"):
            schema.assertValid(doc)


def test_a_notice_that_did_not_go_to_the_banner_is_not_public(app: Flask, client: FlaskClient,
                                                             demo: Any) -> None:
    staff = send(app, "phone-lines-down", {**OUTAGE, "eta": "17:45"}, channels=("email",),
                 segments=("staff",))
    for path in ("/status", "/status?lang=en", "/feed.atom", "/cap.atom",
                 "/api/v2/summary.json", "/api/v2/status.json"):
        body = client.get(path).get_data(as_text=True)
        assert "17:45" not in body and "17.45" not in body, path
        assert f"notice-{staff.id}" not in body and f"notice.{staff.id}" not in body, path
    assert client.get(f"/cap/{staff.id}.xml").status_code == 404
    summary = client.get("/api/v2/summary.json").get_json()
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"
