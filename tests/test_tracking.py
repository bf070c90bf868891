"""After sending: progress, failures in plain words, who missed it, and reaching them another way."""
from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from notifier import db, dispatch, tracking
from notifier.clock import utcnow
from notifier.deliveries import machine
from notifier.models import Delivery, Notice, Subscriber, Subscription

from .conftest import AuthActions


def _sms_notice(app: Flask) -> Notice:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, ["sms"])
    with app.app_context(), db.transaction() as s:
        return dispatch.confirm(s, req, "user:operator@solvik.example")


def _fail_sms_of_people_with_email(app: Flask, notice: Notice, how_many: int) -> list[str]:
    """Mark some SMS as refused by Twilio (21211) for people who also have an email address."""
    with app.app_context(), db.transaction() as s:
        with_email = select(Subscription.subscriber_id).where(Subscription.channel == "email")
        rows = s.execute(select(Delivery.id, Subscriber.name)
                         .join(Subscription, Subscription.id == Delivery.subscription_id)
                         .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
                         .where(Delivery.notice_id == notice.id,
                                Subscription.subscriber_id.in_(with_email))
                         .order_by(Delivery.id).limit(how_many)).all()
        mine = Delivery.notice_id == notice.id
        machine.move(s, "claim", mine)
        machine.move(s, "fail", Delivery.id.in_([r[0] for r in rows]), error_code="21211",
                     error="Twilio 21211: invalid")
        machine.move(s, "sent", mine, sent_at=utcnow())
        s.execute(update(Notice).where(Notice.id == notice.id).values(state="completed"))
    return [r[1] for r in rows]


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_failures_read_as_plain_words_and_the_list_says_who_and_why(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    notice = _sms_notice(app)
    names = _fail_sms_of_people_with_email(app, notice, 3)
    auth.login("viewer@solvik.example")
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "Not a valid phone number" in page and "(code 21211)" in page
    for name in names:
        assert name in page
    assert "Send them the same notice by another channel" not in page  # a viewer cannot act

    found = client.get(f"/notices/{notice.id}?q={names[0].split()[0]}").get_data(as_text=True)
    missed = found[found.index('class="list stack missed"'):]
    assert names[0] in missed and names[1] not in missed

    sv = client.get(f"/notices/{notice.id}", headers={"Accept-Language": "sv"}).get_data(
        as_text=True)
    assert "Inget giltigt telefonnummer" in sv and "Vilka som inte fick det" in sv


def test_the_list_of_who_missed_it_exports_to_csv(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    notice = _sms_notice(app)
    names = _fail_sms_of_people_with_email(app, notice, 2)
    auth.login("viewer@solvik.example")
    resp = client.get(f"/notices/{notice.id}/missed.csv")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["name", "delivery channel", "address"]
    assert sorted(r[0] for r in rows[1:]) == sorted(names)
    assert all(r[3 + 2] == "Not a valid phone number" for r in rows[1:])
    assert all(re.fullmatch(r"\+46\d+", r[2]) for r in rows[1:])  # numbers stay usable


def test_the_list_pages_through_many(app: Flask, demo: Any) -> None:
    notice = _sms_notice(app)
    with app.app_context(), db.transaction() as s:
        mine = Delivery.notice_id == notice.id
        machine.move(s, "claim", mine)
        machine.move(s, "undelivered", mine, error_code="30005")
        first = tracking.missed(s, notice.id, page=1)
        last = tracking.missed(s, notice.id, page=2)
    assert (first.total, first.pages, len(first.rows), len(last.rows)) == (43, 1, 43, 43) \
        if tracking.PAGE_SIZE >= 43 else (first.total, first.pages) == (43, 2)
    assert first.rows[0].reason == "Unknown or inactive number"


def test_those_who_missed_it_get_it_by_email_once(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    notice = _sms_notice(app)
    names = _fail_sms_of_people_with_email(app, notice, 3)
    auth.login("operator@solvik.example")
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert '<option value="email">Email — 3 people</option>' in page
    assert "Pause" not in page and "Cancel what is not sent" not in page  # nothing left to act on

    shown = client.post(f"/notices/{notice.id}/resend", data={"csrf_token": _token(page),
                                                              "to": "email"},
                        follow_redirects=True).get_data(as_text=True)
    assert "3 people who did not get it get it by Email now." in shown
    with app.app_context():
        s = db.session()
        emails = s.scalars(select(Delivery).where(Delivery.notice_id == notice.id,
                                                  Delivery.channel == "email")).all()
        assert len(emails) == 3 and all(d.fallback_of and d.status == "queued" for d in emails)
        assert s.get(Notice, notice.id).state == "sending"  # type: ignore[union-attr]
        got = set(s.scalars(select(Subscriber.name).join(Subscription).where(
            Subscription.id.in_([d.subscription_id for d in emails]))))
    assert got == set(names)

    again = client.post(f"/notices/{notice.id}/resend", data={"csrf_token": _token(page),
                                                              "to": "email"},
                        follow_redirects=True).get_data(as_text=True)
    assert "Nobody who missed it can get it by Email" in again
    with app.app_context():
        assert len(db.session().scalars(select(Delivery.id).where(
            Delivery.notice_id == notice.id, Delivery.channel == "email")).all()) == 3


def test_a_superseded_notice_is_not_sent_again(app: Flask, demo: Any) -> None:
    import pytest

    notice = _sms_notice(app)
    _fail_sms_of_people_with_email(app, notice, 2)
    with app.app_context(), db.transaction() as s:
        s.execute(update(Notice).where(Notice.id == notice.id).values(state="superseded"))
    with app.app_context(), db.transaction() as s, pytest.raises(tracking.ResendError,
                                                                 match="replaced it"):
        tracking.resend(s, notice.id, "email", "test")


def test_progress_says_what_is_left_and_how_fast(app: Flask, demo: Any) -> None:
    notice = _sms_notice(app)
    with app.app_context(), db.transaction() as s:
        ids = s.scalars(select(Delivery.id).where(Delivery.notice_id == notice.id).limit(10)).all()
        machine.move(s, "claim", Delivery.id.in_(ids))
        machine.move(s, "sent", Delivery.id.in_(ids), sent_at=utcnow())
        [sms] = tracking.per_channel(s, s.get(Notice, notice.id), {"sms": 10.0})  # type: ignore[arg-type]
    assert (sms.total, sms.open) == (43, 33)
    assert sms.rate is not None and round(sms.rate * 30) == 10
    assert sms.seconds_left is not None and sms.seconds_left > 0
    bar = sms.bar()
    assert [part[0] for part in bar] == ["sent", "queued"]
    assert abs(sum(part[2] for part in bar) - 100) < 0.01
