"""The audit log in the console: sentences in the reader's language, filters, CSV."""
from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ..conftest import AuthActions


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_the_audit_log_reads_as_sentences_filters_and_exports(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("operator@solvik.example")
    token = _token(client.get("/contacts").get_data(as_text=True))
    client.post("/contacts/vaxel", data={"state": "down", "csrf_token": token})
    page = client.get("/audit?group=contact").get_data(as_text=True)
    assert "operator@solvik.example marked Switchboard down (was up)" in page
    assert "approved" not in page.split("<tbody>")[1]  # the filter keeps templates out
    assert "\\u00" not in page
    sv = client.get("/audit?group=contact", headers={"Accept-Language": "sv"}).get_data(
        as_text=True)
    assert "operator@solvik.example markerade Växel som ur funktion (var fungerar)" in sv
    everything = client.get("/audit").get_data(as_text=True)
    assert "approver@solvik.example approved phone-lines-down version 1" in everything
    data = client.get("/audit/audit.csv?group=contact&actor=operator").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    assert rows[0] == ["when (Swedish time)", "who", "what", "code", "subject"]
    assert [r[3] for r in rows[1:]] == ["contact.state"]
    bad = client.get("/audit?since=28/11/2026").get_data(as_text=True)
    assert "Write dates as YYYY-MM-DD" in bad
