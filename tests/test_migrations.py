"""Migrations: the models match the migrated schema, and each upgrade keeps the data it finds."""
from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from notifier import db
from notifier.models import Base

from .conftest import fresh_database_url


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(db.alembic_config("sqlite://"))


def test_there_is_one_head_and_every_revision_chains_to_it() -> None:
    script = _script()
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}; re-chain them"
    assert len(list(script.walk_revisions())) >= 2


def test_the_models_match_the_migrated_schema(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def _seed(url: str) -> None:
    """Write an incident with a notice still going out, as the first schema had them."""
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO incident (id, title, state, drill, opened_at, opened_by) "
            "VALUES (1, 'Lines down', 'open', false, '2026-11-28 08:15:00', 'operator')"))
        conn.execute(text(
            "INSERT INTO template (id, key, created_at) VALUES (1, 'phone-lines-down', "
            "'2026-11-27 10:00:00')"))
        conn.execute(text(
            "INSERT INTO template_version (id, template_id, number, state, content, content_hash, "
            "author, created_at, comment) VALUES (1, 1, 1, 'approved', '{}', 'x', 'editor', "
            "'2026-11-27 10:00:00', '')"))
        conn.execute(text(
            "INSERT INTO notice (id, incident_id, template_version_id, template_key, kind, "
            "severity, \"values\", rendered, channels, segments, drill, state, created_at, "
            "created_by, fallback) VALUES (1, 1, 1, 'phone-lines-down', 'initial', 'critical', "
            "'{}', '{}', '[\"sms\"]', '[]', false, 'sending', '2026-11-28 08:18:00', "
            "'operator', '{}')"))
        conn.execute(text(
            "INSERT INTO delivery (notice_id, channel, address, language, status, attempts, "
            "sent_at) VALUES (1, 'sms', '+46701234567', 'sv', 'sent', 1, "
            "'2026-11-28 08:18:05')"))
    engine.dispose()


@pytest.mark.parametrize("revision", ["0002", "0003", "0004"])
def test_an_engine_migration_keeps_notices_and_deliveries(tmp_path: Path, revision: str) -> None:
    from alembic import command

    script = _script().get_revision(revision)
    assert script is not None
    url = fresh_database_url(tmp_path, revision=str(script.down_revision))
    _seed(url)
    command.upgrade(db.alembic_config(url), revision)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM delivery")).scalar_one() == "sent"
        assert conn.execute(text("SELECT state FROM notice")).scalar_one() == "sending"
        if revision == "0003":  # a notice in flight gets its deadline: two hours from its start
            deadline = conn.execute(text("SELECT deadline_at FROM notice")).scalar_one()
            assert str(deadline).startswith("2026-11-28 10:18")
    engine.dispose()
