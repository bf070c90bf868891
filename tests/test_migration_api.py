"""Migration 0006_api keeps the contact channels it finds (they depend on nothing recorded yet)."""
from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from notifier import db

from .conftest import fresh_database_url

REVISION = "0006_api"


def test_contact_channels_survive_and_get_an_empty_dependency_list(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    revision = script.get_revision(REVISION)
    assert revision is not None
    url = fresh_database_url(tmp_path, revision=str(revision.down_revision))
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO contact_channel (id, key, kind, label_sv, label_en, value, state, "
            "position, updated_at) VALUES (1, 'vaxel', 'phone', 'Växel', 'Switchboard', "
            "'+4681234567', 'down', 0, '2026-11-28 08:15:00')"))
    command.upgrade(db.alembic_config(url), REVISION)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT key, state, depends_on, verified_at FROM contact_channel")
                           ).one()
    engine.dispose()
    depends = row.depends_on if isinstance(row.depends_on, list) else json.loads(row.depends_on)
    assert (row.key, row.state, depends, row.verified_at) == ("vaxel", "down", [], None)
