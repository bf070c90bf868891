"""Subscribers as an operator imports and reaches them: phone formats, CSV import, segments."""
from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from notifier import audience, db, dispatch
from notifier.errors import NotifierError
from notifier.models import (
    Delivery,
    Segment,
    Subscriber,
    SubscriberSegment,
    Subscription,
)

HEADER = "external_id,name,language,phone,email,telegram_chat_id,segments\n"


def _import(app: Flask, text: str) -> audience.ImportReport:
    with app.app_context(), db.transaction() as s:
        return audience.import_csv(s, text)


def _subscribers(app: Flask) -> dict[str, dict[str, Any]]:
    """Map each subscriber's name to its language, active (channel, address) pairs, segments."""
    with app.app_context(), db.transaction() as s:
        out: dict[str, dict[str, Any]] = {}
        for sub in s.scalars(select(Subscriber)):
            rows = s.execute(select(Subscription.channel, Subscription.address).where(
                Subscription.subscriber_id == sub.id, Subscription.status == "active"))
            addresses = sorted((channel, address) for channel, address in rows)
            segments = set(s.scalars(select(Segment.key).join(
                SubscriberSegment, SubscriberSegment.segment_id == Segment.id)
                .where(SubscriberSegment.subscriber_id == sub.id)))
            out[sub.name] = {"language": sub.language, "addresses": addresses,
                             "segments": segments, "external_id": sub.external_id}
        return out


def test_import_keeps_good_rows_and_reports_bad_ones_by_line_and_reason(app: Flask) -> None:
    report = _import(app, HEADER
                     + "C1,Anna Lindqvist,sv,070-123 45 67,anna@example.se,,\n"      # line 2
                     + "C2,Bad Phone,sv,08-123 45 67,,,\n"                            # line 3
                     + "C3,Bad Email,en,,not-an-email,,\n"                            # line 4
                     + "C4,Hans Müller,de,0701234568,,,\n"                            # line 5
                     + "C5,No Address,sv,,,,\n"                                       # line 6
                     + "C6,Bad Chat,sv,,,@erik,\n"                                    # line 7
                     + "C7,James Wilson,en,+46 70 123 45 69,,123456789,\n")           # line 8

    assert (report.added, report.updated) == (2, 0)
    reasons = dict(report.errors)
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert reasons[3].startswith("phone: ") and "cannot receive SMS" in reasons[3]
    assert reasons[4].startswith("email: ") and "'not-an-email' is not a valid email" in reasons[4]
    assert "language: 'de' is not one of sv, en" in reasons[5]
    assert "no phone, email or telegram_chat_id" in reasons[6]
    assert reasons[7].startswith("telegram_chat_id: ") and "'@erik'" in reasons[7]

    kept = _subscribers(app)
    assert set(kept) == {"Anna Lindqvist", "James Wilson"}
    assert kept["Anna Lindqvist"]["addresses"] == [("email", "anna@example.se"),
                                                   ("sms", "+46701234567")]
    assert kept["James Wilson"]["addresses"] == [("sms", "+46701234569"), ("telegram", "123456789")]
    assert kept["James Wilson"]["language"] == "en"


def test_a_header_without_a_required_column_is_a_clear_error(app: Flask) -> None:
    with pytest.raises(NotifierError) as exc:
        _import(app, "name,phone\nAnna,0701234567\n")
    message = str(exc.value)
    assert "The CSV header lacks language, email" in message
    assert "name,language,phone,email,telegram_chat_id,segments" in message
    assert _subscribers(app) == {}


def test_a_spreadsheet_byte_order_mark_does_not_hide_the_first_column(app: Flask) -> None:
    report = _import(app, "\ufeff" + HEADER + "C1,Anna,sv,0701234567,,,\n")
    assert (report.added, report.errors) == (1, [])


def test_reimport_with_external_id_updates_the_subscriber_instead_of_adding_one(app: Flask) -> None:
    _import(app, HEADER + "C1,Anna Lindqvist,sv,070-123 45 67,,,\n")
    report = _import(app, HEADER + "C1,Anna Lindqvist-Berg,en,+46 70 123 45 67,anna@example.se,,\n")

    assert (report.added, report.updated, report.errors) == (0, 1, [])
    assert _subscribers(app) == {"Anna Lindqvist-Berg": {
        "language": "en", "external_id": "C1", "segments": set(),
        "addresses": [("email", "anna@example.se"), ("sms", "+46701234567")]}}


def test_reimport_with_a_changed_number_stops_sending_to_the_old_number(app: Flask) -> None:
    _import(app, HEADER + "C1,Anna,sv,070-123 45 67,,,\n")
    _import(app, HEADER + "C1,Anna,sv,070-999 88 77,,,\n")
    assert _subscribers(app)["Anna"]["addresses"] == [("sms", "+46709998877")]


def test_reimport_keeps_an_opt_out_and_replaces_the_segments(app: Flask) -> None:
    _import(app, HEADER + "C1,Anna,sv,070-123 45 67,anna@example.se,,business|region-norr\n")
    with app.app_context(), db.transaction() as s:
        s.execute(update(Subscription).where(Subscription.channel == "sms")
                  .values(status="opted_out"))
    _import(app, HEADER + "C1,Anna,sv,+46701234567,anna@example.se,,business|region-syd\n")

    anna = _subscribers(app)["Anna"]
    assert anna["addresses"] == [("email", "anna@example.se")]  # the SMS opt-out still holds
    assert anna["segments"] == {"business", "region-syd"}


def test_segments_are_separated_by_a_bar_and_created_on_first_use(app: Flask) -> None:
    report = _import(app, HEADER + "C1,Anna,sv,0701234567,,,business | region-norr\n"
                     + "C2,Erik,sv,0701234568,,,region-norr\n")
    assert report.errors == []
    kept = _subscribers(app)
    assert kept["Anna"]["segments"] == {"business", "region-norr"}
    assert kept["Erik"]["segments"] == {"region-norr"}


# --------------------------------------------------------------------------- planning a notice


def _confirm(app: Flask, segments: list[str]) -> list[tuple[str, str]]:
    """Confirm a phone-lines-down notice to the segments; return its (channel, address) rows."""
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]},
                                 ["sms", "email", "telegram"], segments)
    with app.app_context(), db.transaction() as s:
        notice = dispatch.confirm(s, req, "user:operator@solvik.example")
        rows = s.execute(select(Delivery.channel, Delivery.address)
                         .where(Delivery.notice_id == notice.id)).all()
    return sorted((c, a) for c, a in rows)


def test_two_subscribers_sharing_a_number_get_one_delivery(app: Flask, approved: None) -> None:
    _import(app, HEADER + "H1,Maria Karlsson,sv,070-123 45 67,maria@example.se,,household\n"
            + "H2,Olle Karlsson,sv,+46 70 123 45 67,olle@example.se,,household\n")
    assert _confirm(app, ["household"]) == [
        ("email", "maria@example.se"), ("email", "olle@example.se"), ("sms", "+46701234567")]


def test_several_segments_are_a_union_and_an_opted_out_subscription_is_not_planned(
        app: Flask, approved: None) -> None:
    _import(app, HEADER + "N1,Norr,sv,0701234561,,,north\n"
            + "Y1,Syd,sv,0701234562,,,south\n"
            + "B1,Both,sv,0701234563,,,north|south\n"
            + "O1,Other,sv,0701234564,,,west\n"
            + "X1,Opted Out,sv,0701234565,,,north\n")
    with app.app_context(), db.transaction() as s:
        s.execute(update(Subscription).where(Subscription.address == "+46701234565")
                  .values(status="opted_out"))

    assert _confirm(app, ["north", "south"]) == [
        ("sms", "+46701234561"), ("sms", "+46701234562"), ("sms", "+46701234563")]


def test_an_unknown_segment_is_a_clear_error_naming_the_known_ones(app: Flask, approved: None) -> None:
    _import(app, HEADER + "K1,Kim Beredskap,sv,0701234561,,,staff\n"
            + "A1,Anna,sv,0701234562,,,region-norr|north\n")
    with pytest.raises(NotifierError) as exc:
        _confirm(app, ["staff", "regoin-norr"])
    message = str(exc.value)
    assert "Unknown segment regoin-norr." in message
    assert "Known segments: north, region-norr, staff." in message
    with app.app_context(), db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 0


def test_an_opt_out_survives_an_import_that_drops_and_later_restores_the_number(app: Flask) -> None:
    _import(app, HEADER + "C1,Anna,sv,070-123 45 67,anna@example.se,,\n")
    with app.app_context(), db.transaction() as s:
        s.execute(update(Subscription).where(Subscription.channel == "sms")
                  .values(status="opted_out"))
    _import(app, HEADER + "C1,Anna,sv,,anna@example.se,,\n")  # the number left the export
    _import(app, HEADER + "C1,Anna,sv,0701234567,anna@example.se,,\n")  # and came back
    assert _subscribers(app)["Anna"]["addresses"] == [("email", "anna@example.se")]
