"""The incident report for the continuity review: console in both languages, CSV, the command line."""
from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from notifier import db, dispatch, reports, totals
from notifier.deliveries import machine
from notifier.models import Delivery, Notice

from .conftest import AuthActions, notifier_cmd


def _incident(app: Flask, drill: bool = False) -> Notice:
    """An incident whose SMS went out over a minute: 3 failed (21211), the rest delivered."""
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, ["sms", "email"],
                                 ["staff"] if drill else None, drill=drill)
    with app.app_context(), db.transaction() as s:
        notice = dispatch.confirm(s, req, "user:operator@solvik.example")
        start = notice.created_at
        ids = s.scalars(select(Delivery.id).where(Delivery.notice_id == notice.id,
                                                  Delivery.channel == "sms")
                        .order_by(Delivery.id)).all()
        machine.move(s, "claim", Delivery.notice_id == notice.id)
        for i, delivery_id in enumerate(ids):
            this = Delivery.id == delivery_id
            if i < (1 if drill else 3):
                machine.move(s, "fail", this, error_code="21211", error="Twilio 21211")
            else:
                machine.move(s, "sent", this, sent_at=start + timedelta(seconds=2 * i))
                machine.move(s, "delivered", this)
        machine.move(s, "sent", Delivery.notice_id == notice.id, Delivery.channel == "email",
                     sent_at=start + timedelta(seconds=5))
        return notice


def test_the_report_counts_each_notice_and_channel_with_times_and_reasons(
        app: Flask, demo: Any) -> None:
    notice = _incident(app)
    with app.test_request_context("/?lang=en"):
        built = reports.build(db.session(), notice.incident_id)
        [part] = built.notices
        sms = next(line for line in part.lines if line.channel == "sms")
        assert (sms.total, sms.count("delivered"), sms.count("failed")) == (43, 40, 3)
        assert sms.failures == [("Not a valid phone number", 3)]
        assert part.after(sms.reached["90"]) is not None
        assert sms.reached["100"] is None  # three never went out: 100 per cent was not reached
        header, rows = reports.header(), list(reports.rows(built))
    assert len(rows) == 2 and header[7] == "delivery channel"
    row = dict(zip(header, rows[1], strict=True))
    assert row["delivery channel"] == "SMS" and row["deliveries"] == 43
    assert row["delivered"] == 40 and row["failed"] == 3
    assert row["why not delivered"] == "Not a valid phone number: 3"
    assert row["90 per cent sent after"].count(":") == 2 and row["100 per cent sent after"] == ""


def test_the_report_survives_pruning_of_the_deliveries(app: Flask, demo: Any) -> None:
    notice = _incident(app)
    with app.test_request_context("/?lang=en"):
        before = list(reports.rows(reports.build(db.session(), notice.incident_id)))
    with app.app_context(), db.transaction() as s:
        totals.freeze(s, [notice.id])
        s.execute(delete(Delivery).where(Delivery.notice_id == notice.id))
    with app.test_request_context("/?lang=en"):
        after = list(reports.rows(reports.build(db.session(), notice.incident_id)))
    assert after == before


def test_the_console_shows_the_report_in_swedish_and_english(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    notice = _incident(app)
    auth.login("viewer@solvik.example")
    incident = client.get(f"/incidents/{notice.incident_id}").get_data(as_text=True)
    assert "Report for the continuity review" in incident
    en = client.get(f"/incidents/{notice.incident_id}/report").get_data(as_text=True)
    assert "Incident report" in en and "Not a valid phone number — 3" in en
    sv = client.get(f"/incidents/{notice.incident_id}/report",
                    headers={"Accept-Language": "sv"}).get_data(as_text=True)
    assert "Händelserapport" in sv and "Inget giltigt telefonnummer — 3" in sv
    data = client.get(f"/incidents/{notice.incident_id}/report.csv",
                      headers={"Accept-Language": "sv"}).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    assert rows[0][:3] == ["händelse", "övning", "meddelande"] and len(rows) == 3


def test_a_drill_report_says_it_was_a_drill(app: Flask, client: FlaskClient, auth: AuthActions,
                                            demo: Any) -> None:
    notice = _incident(app, drill=True)
    auth.login("viewer@solvik.example")
    page = client.get(f"/incidents/{notice.incident_id}/report").get_data(as_text=True)
    assert "Drill report" in page and "an exercise of the continuity plan" in page


def test_notifier_report_writes_csv_html_and_the_recipients(
        app: Flask, env: dict[str, str], demo: Any, tmp_path: Path) -> None:
    notice = _incident(app)
    run = {"env": {**os.environ, **env}, "capture_output": True, "text": True, "timeout": 120,
           "cwd": tmp_path}
    out = subprocess.run(notifier_cmd("report", str(notice.incident_id), "--format", "csv"),
                         **run)  # type: ignore[call-overload]
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout.lstrip("\ufeff"))))
    assert rows[0][0] == "incident" and [r[7] for r in rows[1:]] == ["Email", "SMS"]

    target = tmp_path / "report.html"
    html = subprocess.run(notifier_cmd("report", str(notice.incident_id), "--output",
                                       str(target), "--recipients", "--lang", "sv"), **run)  # type: ignore[call-overload]
    assert html.returncode == 0, html.stderr
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<style>" in page and "Händelserapport" in page
    recipients = list(csv.reader(io.StringIO(
        (tmp_path / "report-recipients.csv").read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert recipients[0][:4] == ["meddelande", "kanal", "namn", "adress"]
    assert len(recipients) == 1 + 43 + 36

    missing = subprocess.run(notifier_cmd("report", "99"), **run)  # type: ignore[call-overload]
    assert missing.returncode == 2 and "No incident 99" in missing.stderr
