"""The database: one engine per app, short sessions, migrations."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # A write transaction takes the lock at BEGIN, so two writers never deadlock on an upgrade
    # from a read lock; reads stay deferred and never block anyone (WAL).
    immediate = conn.get_execution_options().get("sqlite_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def init_app(app: Flask) -> None:
    """Attach an engine and a session factory to the app."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["notifier.engine"] = engine
    app.extensions["notifier.sessions"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["notifier.pid"] = os.getpid()
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    """Return the app's engine, disposing inherited connections after a fork."""
    app = current_app
    eng: Engine = app.extensions["notifier.engine"]
    if app.extensions["notifier.pid"] != os.getpid():
        eng.dispose(close=False)
        app.extensions["notifier.pid"] = os.getpid()
    return eng


def session() -> Session:
    """Return the session of the current app context."""
    if "db_session" not in g:
        engine()
        g.db_session = current_app.extensions["notifier.sessions"]()
    s: Session = g.db_session
    return s


@contextmanager
def transaction() -> Iterator[Session]:
    """Run a short write transaction in a session of its own."""
    engine()
    with current_app.extensions["notifier.sessions"]() as s, s.begin():
        s.connection(execution_options={"sqlite_immediate": True})
        yield s


def after_commit(s: Session, fn: Any) -> None:
    """Run fn once the session's transaction has committed (e.g. enqueue jobs for new rows)."""
    event.listen(s, "after_commit", lambda _s: fn(), once=True)


def _close_session(_exc: BaseException | None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()


def rowcount(result: Any) -> int:
    """Return how many rows an UPDATE/INSERT/DELETE touched (CursorResult.rowcount)."""
    return int(getattr(result, "rowcount", 0) or 0)


def alembic_config(url: str) -> Any:
    """Build an Alembic config pointing at the packaged migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Apply every migration to the database at url."""
    from alembic import command

    make_engine(url).dispose()  # creates the SQLite folder
    command.upgrade(alembic_config(url), "head")


def is_empty(eng: Engine) -> bool:
    """Tell whether the database holds no users yet (a fresh install)."""
    if not inspect(eng).has_table("user"):
        return True
    with eng.connect() as conn:
        return bool(conn.execute(text('SELECT COUNT(*) FROM "user"')).scalar_one() == 0)
