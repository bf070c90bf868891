"""The customers migration: subscriptions made before it keep their state and get a consent."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from notifier import db

from .conftest import fresh_database_url

REVISION = "0007_customers"


def test_existing_subscriptions_get_the_imports_consent_and_keep_their_state(
        tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    revision = script.get_revision(REVISION)
    assert revision is not None
    url = fresh_database_url(tmp_path, revision=str(revision.down_revision))
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO subscriber (id, external_id, name, language, created_at) "
                          "VALUES (1, 'C1', 'Anna', 'sv', '2026-10-01 09:00:00')"))
        conn.execute(text(
            "INSERT INTO subscription (id, subscriber_id, channel, address, status, created_at, "
            "updated_at) VALUES (1, 1, 'sms', '+46701234567', 'opted_out', "
            "'2026-10-01 09:00:00', '2026-10-02 10:00:00'), (2, 1, 'email', 'anna@example.se', "
            "'active', '2026-10-01 09:00:00', '2026-10-01 09:00:00')"))
    command.upgrade(db.alembic_config(url), REVISION)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT channel, status, consent_source, consented_at, "
                                 "status_reason FROM subscription ORDER BY id")).all()
    engine.dispose()
    assert [(c, st, src, str(at)[:19], why) for c, st, src, at, why in rows] == [
        ("sms", "opted_out", "import", "2026-10-01 09:00:00", None),
        ("email", "active", "import", "2026-10-01 09:00:00", None)]
