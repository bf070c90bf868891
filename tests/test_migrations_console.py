"""The console migration: accounts and template versions survive it; the new columns start empty."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from notifier import db

from .conftest import fresh_database_url

REVISION = "0005_console"


def test_the_console_migration_keeps_accounts_and_template_versions(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    revision = script.get_revision(REVISION)
    assert revision is not None and isinstance(revision.down_revision, str)
    url = fresh_database_url(tmp_path, revision=revision.down_revision)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO \"user\" (id, email, name, role, password_hash, active, created_at) "
            "VALUES (1, 'ann@example.se', 'Ann', 'operator', 'x', true, '2026-11-27 10:00:00')"))
        conn.execute(text(
            "INSERT INTO template (id, key, created_at) VALUES (1, 'phone-lines-down', "
            "'2026-11-27 10:00:00')"))
        conn.execute(text(
            "INSERT INTO template_version (id, template_id, number, state, content, content_hash, "
            "author, created_at, comment) VALUES (1, 1, 1, 'approved', '{}', 'x', 'editor', "
            "'2026-11-27 10:00:00', 'ok')"))
    command.upgrade(db.alembic_config(url), REVISION)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT email, role, language FROM \"user\"")).one() == (
            "ann@example.se", "operator", None)
        assert conn.execute(text("SELECT state, comment, sms_budget FROM template_version")
                            ).one() == ("approved", "ok", None)
    engine.dispose()
