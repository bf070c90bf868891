"""Importing subscriber files as companies export them: lists stay clean, bad input is reported."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select, update

from notifier import audience, db
from notifier.cli import main
from notifier.errors import NotifierError
from notifier.models import AuditEvent, Segment, Subscriber, SubscriberSegment, Subscription

# A Swedish Excel "CSV": Swedish headers, semicolons, Windows-1252, numbers as people type
# them, Excel's empty trailing row.
EXCEL = ("Kundnummer;Namn;Språk;Telefon;E-post;Telegram;Segment\r\n"
         "K1;Åsa Öberg;sv;070-123 45 67;asa@example.se;;privat|region-syd\r\n"
         "K2;Göran Ek;svenska;+46 70 123 45 68;;424242;företag\r\n"
         "K3;Emily Clarke;en;0046701234569;emily@example.se;;privat\r\n"
         ";;;;;;\r\n").encode("cp1252")


@pytest.fixture(autouse=True)
def _signed_in(cli_admin: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The subscriber commands act as an admin account (its password from the environment)."""
    for name, value in cli_admin.items():
        monkeypatch.setenv(name, value)


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["subscribers", *args])


def _file(tmp_path: Path, content: bytes | str, name: str = "kunder.csv") -> str:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return str(path)


def _people(app: Flask) -> dict[str, dict[str, Any]]:
    with app.app_context(), db.transaction() as s:
        out: dict[str, dict[str, Any]] = {}
        for sub in s.scalars(select(Subscriber)):
            rows = s.execute(select(Subscription.channel, Subscription.address,
                                    Subscription.status)
                             .where(Subscription.subscriber_id == sub.id))
            segments = set(s.scalars(select(Segment.key).join(
                SubscriberSegment, SubscriberSegment.segment_id == Segment.id)
                .where(SubscriberSegment.subscriber_id == sub.id)))
            out[sub.name] = {"language": sub.language, "external_id": sub.external_id,
                             "addresses": sorted((c, a, st) for c, a, st in rows),
                             "segments": segments}
        return out


def _import(app: Flask, text: str, **kwargs: Any) -> audience.ImportReport:
    with app.app_context():
        return audience.import_file(io.BytesIO(text.encode()), **kwargs)


def test_the_same_swedish_excel_file_twice_adds_nobody_the_second_time(
        app: Flask, env: dict[str, str], tmp_path: Path) -> None:
    path = _file(tmp_path, EXCEL)
    first = _cli("import", path)
    assert first.exit_code == 0, first.output
    assert "3 added, 0 updated, 0 refused, 0 unchanged" in first.output
    assert "note: read as Windows-1252 (not UTF-8)" in first.output
    assert "1 empty rows skipped" in first.output
    before = _people(app)

    second = _cli("import", path)
    assert second.exit_code == 0, second.output
    assert "0 added, 0 updated, 0 refused, 3 unchanged" in second.output
    assert _people(app) == before
    assert before["Åsa Öberg"] == {
        "language": "sv", "external_id": "K1", "segments": {"privat", "region-syd"},
        "addresses": [("email", "asa@example.se", "active"), ("sms", "+46701234567", "active")]}
    assert before["Göran Ek"]["addresses"] == [("sms", "+46701234568", "active"),
                                               ("telegram", "424242", "active")]


def test_a_file_with_only_some_columns_leaves_the_others_alone(
        app: Flask, env: dict[str, str], tmp_path: Path) -> None:
    _cli("import", _file(tmp_path, EXCEL))
    before = _people(app)
    result = _cli("import", _file(tmp_path, "external_id,name,phone\n"
                                  "K1,Åsa Öberg,070-999 88 77\n"
                                  "K2,Göran Ek,+46 70 123 45 68\n", "numbers.csv"))
    assert "0 added, 1 updated, 0 refused, 1 unchanged" in result.output, result.output
    after = _people(app)
    assert after["Åsa Öberg"]["addresses"] == [("email", "asa@example.se", "active"),
                                               ("sms", "+46709998877", "active")]
    for name in before:
        assert after[name]["segments"] == before[name]["segments"]
        assert [a for a in after[name]["addresses"] if a[0] != "sms"] == \
            [a for a in before[name]["addresses"] if a[0] != "sms"]


def test_without_external_id_a_row_matches_by_phone_or_email(app: Flask) -> None:
    _import(app, "name,phone,email\nAnna Lind,070-123 45 67,\nErik Berg,,erik@example.se\n")
    report = _import(app, "name,phone,email\nAnna Lind-Berg,+46701234567,anna@example.se\n"
                          "Erik Berg,0701234599,erik@example.se\n")
    assert (report.added, report.updated) == (0, 2)
    people = _people(app)
    assert set(people) == {"Anna Lind-Berg", "Erik Berg"}
    assert people["Erik Berg"]["addresses"] == [("email", "erik@example.se", "active"),
                                                ("sms", "+46701234599", "active")]


def test_a_row_whose_phone_and_email_belong_to_two_people_is_a_conflict(app: Flask) -> None:
    _import(app, "name,phone,email\nAnna,0701234567,anna@example.se\nErik,0701234568,erik@example.se\n")
    report = _import(app, "name,phone,email\nAnna,0701234567,erik@example.se\n")
    assert report.refused == 1 and report.updated == 0
    [(line, reason)] = report.errors
    assert line == 2
    assert "the phone belongs to subscriber #" in reason and "and the email to subscriber #" in reason
    assert _people(app)["Anna"]["addresses"] == [("email", "anna@example.se", "active"),
                                                 ("sms", "+46701234567", "active")]


def test_two_people_sharing_a_number_stay_two_and_a_reimport_changes_nothing(app: Flask) -> None:
    text = "name,phone,email\nMaria Karlsson,0701234567,maria@example.se\nOlle Karlsson,0701234567,\n"
    first = _import(app, text)
    second = _import(app, text)
    assert (first.added, first.refused) == (2, 0)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 2)
    assert _people(app)["Olle Karlsson"]["addresses"] == [("sms", "+46701234567", "active")]


def test_the_same_row_twice_in_one_file_is_reported_once(app: Flask) -> None:
    report = _import(app, "external_id,name,phone\nC1,Anna,0701234567\nC1,Anna,0701234567\n"
                          "C2,Per,0701234500\nC2,Per,0701234500\n")
    assert report.added == 2
    assert [line for line, _r in report.errors] == [3, 5]
    assert "external_id 'C1' is on an earlier line of this file too" in report.errors[0][1]


def test_a_landline_is_reported_and_the_row_keeps_its_email(app: Flask) -> None:
    report = _import(app, "name,phone,email\nKontoret,08-123 45 67,info@example.se\n")
    assert (report.added, report.refused) == (1, 0)
    [(line, warning)] = report.warnings
    assert line == 2
    assert warning == ("phone: '08-123 45 67' is not a mobile number and cannot receive SMS; "
                       "the row's other addresses are kept")
    assert _people(app)["Kontoret"]["addresses"] == [("email", "info@example.se", "active")]


def test_an_empty_cell_removes_an_imported_address_but_not_one_the_person_gave(app: Flask) -> None:
    _import(app, "external_id,name,phone,email\nC1,Anna,0701234567,anna@example.se\n")
    with app.app_context(), db.transaction() as s:
        s.execute(update(Subscription).where(Subscription.channel == "email")
                  .values(consent_source="subscribe_page"))
    _import(app, "external_id,name,phone,email\nC1,Anna,,\n")
    assert _people(app)["Anna"]["addresses"] == [("email", "anna@example.se", "active")]


def test_an_opt_out_survives_every_reimport(app: Flask) -> None:
    _import(app, "external_id,name,phone\nC1,Anna,0701234567\n")
    with app.app_context(), db.transaction() as s:
        s.execute(update(Subscription).values(status="opted_out"))
    report = _import(app, "external_id,name,phone\nC1,Anna,0701234567\n")
    assert report.unchanged == 1
    assert _people(app)["Anna"]["addresses"] == [("sms", "+46701234567", "opted_out")]


def test_a_dry_run_reports_and_writes_nothing(app: Flask, env: dict[str, str],
                                              tmp_path: Path) -> None:
    result = _cli("import", "--dry-run", _file(tmp_path, EXCEL))
    assert result.exit_code == 0, result.output
    assert "dry run, nothing written: 3 would be added" in result.output
    assert "new segments: företag, privat, region-syd" in result.output
    with app.app_context():
        s = db.session()
        assert s.scalar(select(func.count()).select_from(Subscriber)) == 0
        assert s.scalar(select(func.count()).select_from(Segment)) == 0
        # (the only audit event is the admin account the command signs in with)
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action != "user.create")) == 0


def test_malformed_lines_get_line_numbers_and_the_good_rows_are_kept(app: Flask) -> None:
    text = ("name,phone,segments,external_id\n"
            "Anna,0701234501,a,\n"                                     # 2
            f"Big,0701234502,,{'x' * 200_000}\n"                       # 3 a 200 KB cell
            "Nul,0701234503,\x00,\n"                                   # 4
            f"Many,0701234504,{'|'.join('s' for _i in range(1000))},\n"    # 5
            f"Long,0701234505,{'k' * 65},\n"                           # 6
            f"Id,0701234506,,{'i' * 121}\n"                            # 7
            '"Broken,0701234507,,\n'                                   # 8 a quote never closed
            "Erik,0701234508,b,\n"                                     # 9
            'Per "P" Ek,0701234509,,\n'                                # 10 a quote inside is fine
            '"Stray" x,0701234510,,\n')                                # 11
    report = _import(app, text)
    reasons = dict(report.errors)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 11]
    assert "200" in reasons[3] and "at most" in reasons[3]
    assert "NUL" in reasons[4]
    assert reasons[5] == "segments: 1000 segments in one cell; at most 50"
    assert reasons[6] == "segments: a segment name is 65 characters long; at most 64"
    assert reasons[7] == "external_id: the cell is 121 characters long; at most 120"
    assert reasons[8].startswith("the quoting is broken")
    assert set(_people(app)) == {"Anna", "Erik", 'Per "P" Ek'}


def test_a_workbook_or_an_empty_file_is_refused_before_anything_is_written(app: Flask) -> None:
    with app.app_context(), pytest.raises(NotifierError, match="This is an Excel workbook"):
        audience.import_file(io.BytesIO(b"PK\x03\x04rest-of-zip"))
    with pytest.raises(NotifierError, match="The file is empty"):
        _import(app, "")
    with pytest.raises(NotifierError, match="Two columns mean phone: 'telefon' and 'mobil'"):
        _import(app, "namn,telefon,mobil\n")


def test_a_time_limit_stops_between_chunks_and_says_where(app: Flask) -> None:
    rows = "".join(f"C{i},Person {i},07012{i:05d}\n" for i in range(2500))
    report = _import(app, "external_id,name,phone\n" + rows, time_limit=0)
    assert report.stopped_at == 2 and report.added == 0
    report = _import(app, "external_id,name,phone\n" + rows)
    assert report.added == 2500


def test_the_import_is_audited_without_personal_data(app: Flask) -> None:
    _import(app, "name,phone\nAnna,0701234567\n")
    with app.app_context():
        event = db.session().scalar(select(AuditEvent).where(
            AuditEvent.action == "subscribers.import"))
        assert event is not None and event.detail["added"] == 1
        assert "0701234567" not in str(event.detail) and "+46701234567" not in str(event.detail)
