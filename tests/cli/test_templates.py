"""`notifier templates ...`: four-eyes from the command line, reject, list, export round trip."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select

from notifier import db, library, versions
from notifier.cli import main
from notifier.models import AuditEvent, Template, TemplateVersion

ROOT = Path(__file__).resolve().parents[2]
KEY = "phone-lines-down"


def run(monkeypatch: pytest.MonkeyPatch, os_user: str, *args: str) -> Result:
    """Run a `notifier` command in-process as the given operating-system user."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, os_user)
    return CliRunner().invoke(main, list(args))


def _states(app: Flask, key: str = KEY) -> dict[int, str]:
    with app.app_context():
        rows = db.session().execute(select(TemplateVersion.number, TemplateVersion.state)
                                    .join(Template).where(Template.key == key))
        return {number: state for number, state in rows}


def _draft_by(app: Flask, author: str) -> None:
    """Add a changed version of the phone-lines-down template as a draft by `author`."""
    spec = library.load_file(ROOT / "templates" / f"{KEY}.yaml")
    data = library.spec_to_data(spec)
    data["content"]["en"]["sms"] = data["content"]["en"]["sms"].replace("right now", "just now")
    with app.app_context(), db.transaction() as s:
        versions.import_specs(s, [library.parse_spec(data)], author)


def test_the_importing_os_user_cannot_approve_and_another_can(
        app: Flask, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    imported = run(monkeypatch, "ann", "templates", "import", str(ROOT / "templates"))
    assert imported.exit_code == 0 and f"draft    {KEY}" in imported.output

    refused = run(monkeypatch, "ann", "templates", "approve", KEY)
    assert refused.exit_code == 2
    assert (f"error: cli:ann wrote {KEY} version 1, so someone else must approve it "
            "(four-eyes).") in refused.output
    assert _states(app) == {1: "draft"}

    approved = run(monkeypatch, "bo", "templates", "approve", KEY, "--comment", "Read aloud.")
    assert approved.exit_code == 0, approved.output
    assert approved.output == f"approved {KEY} v1 as cli:bo\n"
    assert _states(app) == {1: "approved"}
    with app.app_context():
        event = db.session().scalars(select(AuditEvent).where(
            AuditEvent.action == "template.approve")).one()
    assert (event.actor, event.detail) == ("cli:bo", {"version": 1, "comment": "Read aloud."})


def test_a_draft_written_in_the_console_is_approved_from_the_cli(
        app: Flask, demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _draft_by(app, "user:editor@solvik.example")
    result = run(monkeypatch, "ann", "templates", "approve", KEY, "--version", "2")
    assert result.exit_code == 0, result.output
    assert _states(app) == {1: "retired", 2: "approved"}

    again = run(monkeypatch, "ann", "templates", "approve", KEY, "--version", "2")
    assert again.exit_code == 2 and "version 2 is approved, not a draft" in again.output
    missing = run(monkeypatch, "ann", "templates", "approve", KEY)
    assert missing.exit_code == 2 and f"Template {KEY!r} has no draft" in missing.output
    unknown = run(monkeypatch, "ann", "templates", "approve", "no-such-template")
    assert unknown.exit_code == 2 and "Known templates:" in unknown.output


def test_reject_needs_a_comment_and_keeps_the_approved_version(
        app: Flask, demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _draft_by(app, "user:editor@solvik.example")
    no_comment = run(monkeypatch, "ann", "templates", "reject", KEY)
    assert no_comment.exit_code == 2 and "--comment" in no_comment.output

    result = run(monkeypatch, "ann", "templates", "reject", KEY, "--comment", "Keep 'right now'.")
    assert result.exit_code == 0, result.output
    assert result.output == f"rejected {KEY} v2 as cli:ann\n"
    assert _states(app) == {1: "approved", 2: "rejected"}


def test_list_shows_state_author_and_approver_of_every_version(
        app: Flask, demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _draft_by(app, "user:editor@solvik.example")
    run(monkeypatch, "ann", "templates", "reject", KEY, "--comment", "No.")
    result = run(monkeypatch, "ann", "templates", "list")
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines() if line.startswith(KEY + " ")]
    assert lines == [
        [KEY, "v2", "rejected", "by", "user:editor@solvik.example", "rejected", "by", "cli:ann"],
        [KEY, "v1", "approved", "by", "user:editor@solvik.example", "approved", "by",
         "user:approver@solvik.example"],
    ]
    assert len(re.findall(r" v1 +approved ", result.output)) == 7  # the whole demo library


def test_export_then_import_changes_nothing(app: Flask, demo: Any, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _draft_by(app, "user:editor@solvik.example")  # a pending draft is not exported
    exported = run(monkeypatch, "ann", "templates", "export", str(tmp_path / "out"))
    assert exported.exit_code == 0, exported.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted(p.name for p in (ROOT / "templates").glob("*.yaml"))
    for path in (tmp_path / "out").iterdir():
        assert library.load_file(path) == library.load_file(ROOT / "templates" / path.name)

    before = _states(app)
    imported = run(monkeypatch, "ann", "templates", "import", str(tmp_path / "out"))
    assert imported.exit_code == 0, imported.output
    assert imported.output.count("same     ") == len(files) and "draft" not in imported.output
    assert _states(app) == before
