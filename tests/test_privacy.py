"""Personal data (GDPR): export, erasure that leaves no trace, consent on record, retention."""
from __future__ import annotations

import json
import logging
import re
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import func, select, text, update

from notifier import db, dispatch, retention
from notifier.cli import main
from notifier.clock import utcnow
from notifier.models import (
    AuditEvent,
    Base,
    Delivery,
    InboxMessage,
    Notice,
    NoticeTotal,
    Signup,
    Subscriber,
    Subscription,
)
from notifier.sandbox.client import SandboxClient

from .conftest import ADMIN_ENV, TEST_DB, wait_until
from .customer_helpers import (
    TELEGRAM_SECRET,
    add_segment,
    sms_from,
    submit,
    telegram_post,
    telegram_text,
)

PHONE, EMAIL, CHAT = "+46701740655", "vera.vinter@example.se", "5550001"
TRACES = ("701740655", "70-174 06 55", "vera.vinter", "Vera Vinter", CHAT)

@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A Swedish browser: the pages a customer and an operator see, in Swedish."""
    swedish = app.test_client()
    swedish.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv"
    return swedish



def _sign_up(app: Flask, client: FlaskClient, sandbox: SandboxClient) -> int:
    """Vera signs up by SMS, email and Telegram and confirms all three."""
    add_segment(app, "pilot")
    app.config.update(SUBSCRIBE_SEGMENTS=["pilot"], TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET)
    started = submit(client, "/subscribe", {"name": "Vera Vinter", "language": "sv",
                                            "phone": "070-174 06 55", "email": EMAIL,
                                            "telegram": "yes", "segments": "pilot"})
    path = started.headers["Location"]
    page = client.get(path).get_data(as_text=True)
    code = re.search(r"\b(\d{6})\b", sandbox.messages(channel="sms", to=PHONE)[0]["body"])
    submit(client, path, {"code": code.group(1)}, page=page)  # type: ignore[union-attr]
    link = re.search(r"/subscribe/email/\S+", sandbox.messages(channel="email", to=EMAIL)[0]["body"])
    submit(client, link.group(0), {})  # type: ignore[union-attr]
    command = re.search(r'<code class="command">(/start [\w-]+)</code>', page).group(1)  # type: ignore[union-attr]
    telegram_post(client, telegram_text(901, int(CHAT), command))
    with app.app_context():
        return int(db.session().scalar(select(Subscriber.id).where(
            Subscriber.name == "Vera Vinter")))


def _database_text(app: Flask) -> str:
    """Every row of every table as text."""
    with app.app_context():
        s = db.session()
        return "\n".join(str(row) for table in Base.metadata.sorted_tables
                         for row in s.execute(table.select()))


def _database_files(app: Flask) -> bytes:
    path = Path(app.config["DATABASE_URL"].split("///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def _redis_contents(url: str) -> bytes:
    """Every key and value in Redis (RQ's compressed job data unpacked)."""
    r = Redis.from_url(url)
    out = []
    for key in r.scan_iter(count=1000):
        out.append(key)
        kind = r.type(key)
        values: list[Any] = {
            b"string": lambda: [r.get(key)], b"hash": lambda: list(r.hgetall(key).items()),
            b"list": lambda: r.lrange(key, 0, -1), b"set": lambda: list(r.smembers(key)),
            b"zset": lambda: r.zrange(key, 0, -1),
            b"stream": lambda: [str(e).encode() for e in r.xrange(key)],
        }.get(kind, list)()
        for value in values:
            for part in value if isinstance(value, tuple) else (value,):
                raw = part if isinstance(part, bytes) else str(part).encode()
                out.append(raw)
                try:
                    out.append(zlib.decompress(raw))
                except zlib.error:
                    pass
    return b"\n".join(out)


def _traces(haystack: str | bytes) -> list[str]:
    text_ = haystack.decode("utf-8", "replace") if isinstance(haystack, bytes) else haystack
    return [t for t in TRACES if t.lower() in text_.lower()]


def test_erasure_leaves_no_trace_in_the_database_redis_or_the_logs(
        app: Flask, client: FlaskClient, demo: Any, sandbox: SandboxClient, worker: Any,
        auth: Any, env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    worker()
    vera = _sign_up(app, client, sandbox)
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]},
                                 ["sms", "email", "telegram"], ["pilot"])
    with app.app_context(), db.transaction() as s:
        notice = dispatch.confirm(s, req, "user:operator@solvik.example")
        dispatch.enqueue(s, notice)
    wait_until(lambda: len(sandbox.messages(to=PHONE)) == 2 and
               len(sandbox.messages(to=EMAIL)) == 2 and len(sandbox.messages(to=CHAT)) == 2,
               what="the notice on three channels")
    sms_from(client, PHONE, "Ring mig på 070-174 06 55", "SM" + "9" * 32)
    sms_from(client, PHONE, "STATUS", "SM" + "8" * 32)
    assert _traces(_database_text(app))  # the test would find them

    auth.login("admin@solvik.example")
    erased = client.post(f"/subscribers/{vera}/erase",
                         data={"confirm": "yes", "csrf_token": auth.csrf(f"/subscribers/{vera}")})
    assert erased.status_code == 303
    assert "Mottagare #%d är raderad" % vera in client.get(erased.headers["Location"]).get_data(
        as_text=True)

    assert _traces(_database_text(app)) == []
    if not TEST_DB:
        assert _traces(_database_files(app)) == []
    assert _traces(_redis_contents(env["NOTIFIER_REDIS_URL"])) == []
    logs = caplog.text + "".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))
    assert _traces(logs) == []
    with app.app_context():
        s = db.session()
        totals = {t.channel: t for t in s.scalars(select(NoticeTotal).where(
            NoticeTotal.notice_id == notice.id))}
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "subscriber.erase"))
    assert {c: t.frozen for c, t in totals.items()} == {"sms": True, "email": True,
                                                         "telegram": True}
    assert sum(totals["sms"].counts.values()) == 1  # the report still counts Vera's SMS
    assert event is not None and event.subject == f"subscriber:{vera}"
    assert event.actor == "user:admin@solvik.example" and event.detail["deliveries"] == 3


def test_a_household_keeps_its_shared_number_when_one_member_is_erased(
        app: Flask, env: dict[str, str], cli_admin: dict[str, str]) -> None:
    from notifier import audience

    with app.app_context(), db.transaction() as s:
        audience.import_csv(s, "external_id,name,phone,email\nH1,Maria,0701740656,maria@example.se\n"
                               "H2,Olle,0701740656,olle@example.se\n")
    result = CliRunner(env=ADMIN_ENV).invoke(main, ["subscribers", "erase", "--external-id", "H1", "--yes"])
    assert result.exit_code == 0, result.output
    assert "subscriber #1 erased: 2 subscriptions" in result.output
    with app.app_context():
        left = db.session().execute(select(Subscription.channel, Subscription.address)).all()
    assert sorted(left) == [("email", "olle@example.se"), ("sms", "+46701740656")]


def test_a_person_can_have_everything_we_hold_as_json(app: Flask, client: FlaskClient,
                                                     demo: Any, auth: Any) -> None:
    result = CliRunner(env=ADMIN_ENV).invoke(main, ["subscribers", "export", "--phone", "070-174 06 90"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["subscriber"]["name"] == "Kim Beredskap"
    assert {(x["channel"], x["consent_source"]) for x in data["subscriptions"]} == {
        ("sms", "import"), ("email", "import"), ("telegram", "import")}
    assert all(x["consented_at"] for x in data["subscriptions"])
    assert data["segments"] == ["staff"]

    auth.login("operator@solvik.example")
    assert client.get(f"/subscribers/{data['subscriber']['id']}/export.json").status_code == 403
    auth.logout()
    auth.login("admin@solvik.example")
    download = client.get(f"/subscribers/{data['subscriber']['id']}/export.json")
    assert download.status_code == 200 and download.json["subscriber"]["name"] == "Kim Beredskap"
    with app.app_context():
        actions = list(db.session().scalars(select(AuditEvent.action).where(
            AuditEvent.action == "subscriber.export")))
    assert len(actions) == 2
    missing = CliRunner(env=ADMIN_ENV).invoke(main, ["subscribers", "export", "--email", "nobody@example.se"])
    assert missing.exit_code == 2 and "No subscriber matches" in missing.output


def test_retention_prunes_old_details_and_keeps_the_totals(app: Flask, demo: Any,
                                                           sandbox: SandboxClient) -> None:
    from .customer_helpers import send_notice

    old = send_notice(app, ("sms",), ("staff",))
    recent = send_notice(app, ("sms",), ("staff",))
    with app.app_context(), db.transaction() as s:
        s.execute(update(Notice).where(Notice.id == old)
                  .values(created_at=utcnow() - timedelta(days=400)))
        s.add(InboxMessage(channel="sms", address="+46701740690", text="gammalt",
                           received_at=utcnow() - timedelta(days=400)))
        s.add(Signup(page_token="x" * 64, name="Gone", language="sv", segments=[],
                     created_at=utcnow() - timedelta(days=2),
                     expires_at=utcnow() - timedelta(days=1)))
    with app.app_context():
        done = retention.prune()
        assert (done.notices, done.deliveries, done.messages, done.signups) == (1, 3, 1, 1)
        s = db.session()
        counts = dict(s.execute(select(Delivery.notice_id, func.count())
                                .group_by(Delivery.notice_id)).all())
        total = s.get(NoticeTotal, (old, "sms"))
    assert counts == {recent: 3}
    assert total is not None and total.frozen and total.counts == {"sent": 3}
    with app.app_context():
        assert retention.prune().notices == 0  # nothing left to prune


def test_pruning_runs_at_most_hourly_across_workers(app: Flask, env: dict[str, str]) -> None:
    r = Redis.from_url(env["NOTIFIER_REDIS_URL"])
    with app.app_context():
        assert retention.prune_if_due(r) is not None
        assert retention.prune_if_due(r) is None
    assert 3500 < int(r.ttl(retention.LOCK)) <= 3600


def test_sqlite_overwrites_deleted_content(app: Flask) -> None:
    if TEST_DB:
        pytest.skip("a SQLite pragma; PostgreSQL reclaims deleted rows with VACUUM")
    with app.app_context(), db.engine().connect() as conn:
        assert conn.execute(text("PRAGMA secure_delete")).scalar_one() == 1
