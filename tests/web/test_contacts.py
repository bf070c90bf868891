"""The contact channels in the console: admins add, edit and order them."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from notifier import contacts, db

from ..conftest import AuthActions


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_an_admin_adds_edits_and_orders_contact_channels(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("admin@solvik.example")
    form = client.get("/contacts/new").get_data(as_text=True)
    bad = client.post("/contacts/new", data={"csrf_token": _token(form), "key": "Fax Line",
                                             "kind": "phone", "label_sv": "Fax",
                                             "label_en": "Fax", "value": "08-123 45 67"})
    assert bad.status_code == 422 and "lower-case letters" in bad.get_data(as_text=True)
    wrong = client.post("/contacts/new", data={"csrf_token": _token(form), "key": "fax",
                                               "kind": "phone", "label_sv": "Fax",
                                               "label_en": "Fax", "value": "not a number"})
    assert wrong.status_code == 422 and "not a valid phone number" in wrong.get_data(as_text=True)
    ok = client.post("/contacts/new", data={"csrf_token": _token(form), "key": "fax",
                                            "kind": "phone", "label_sv": "Fax",
                                            "label_en": "Fax", "value": "08-123 45 99"},
                     follow_redirects=True).get_data(as_text=True)
    assert "Saved the contact channel fax." in ok
    client.post("/contacts/fax/edit", data={"csrf_token": _token(ok), "kind": "phone",
                                            "label_sv": "Telefax", "label_en": "Telefax",
                                            "value": "08-123 45 98"})
    client.post("/contacts/fax/move", data={"csrf_token": _token(ok), "direction": "up"})
    with app.app_context():
        order = [c.key for c in contacts.all_contacts(db.session())]
        fax = next(c for c in contacts.all_contacts(db.session()) if c.key == "fax")
    assert order[-2:] == ["fax", "kontor"] and fax.value == "+4681234598"
    assert fax.label_en == "Telefax"
    auth.logout()
    auth.login("operator@solvik.example")
    assert client.get("/contacts/new").status_code == 403
