"""Template versions: four-eyes approval, re-import, and which version a notice really sends."""
from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from notifier import accounts, db, dispatch, versions
from notifier.cli import main
from notifier.models import Template, TemplateVersion, User
from notifier.processes import demo

from .conftest import AuthActions

PASSWORD = "correct-horse-battery"
KEYS = sorted(p.stem for p in demo.TEMPLATES_DIR.glob("*.yaml"))
EDITOR = "user:editor@solvik.example"
MakeUser = Callable[[str, str], User]


@pytest.fixture
def make_user(app: Flask) -> MakeUser:
    """Create a console account (role, email) that can log in with PASSWORD."""
    def make(role: str, email: str) -> User:
        with app.app_context(), db.transaction() as s:
            return accounts.create_user(s, email, role, PASSWORD)
    return make


def _reviewer(app: Flask, role: str = "approver",
              email: str = "approver@solvik.example") -> User:
    """Add an account that only acts through the API (no password to log in with)."""
    with app.app_context(), db.transaction() as s:
        user = User(email=email, role=role, password_hash="!")
        s.add(user)
    return user


def _import(app: Flask, folder: Path = demo.TEMPLATES_DIR, author: str = EDITOR,
            author_id: int | None = None) -> versions.ImportReport:
    with app.app_context(), db.transaction() as s:
        return versions.import_dir(s, folder, author, author_id)


def _approve_all(app: Flask, approver: User) -> None:
    with app.app_context(), db.transaction() as s:
        for version in s.scalars(select(TemplateVersion).where(TemplateVersion.state == "draft")):
            versions.approve(s, version, s.get(User, approver.id))  # type: ignore[arg-type]


def _states(app: Flask, key: str) -> list[tuple[int, str]]:
    with app.app_context(), db.transaction() as s:
        return [(v.number, v.state) for v in s.scalars(
            select(TemplateVersion).join(Template).where(Template.key == key)
            .order_by(TemplateVersion.number))]


def _edited_copy(tmp_path: Path, key: str, old: str, new: str) -> Path:
    folder = tmp_path / "library"
    shutil.copytree(demo.TEMPLATES_DIR, folder, ignore=shutil.ignore_patterns("*.md"))
    path = folder / f"{key}.yaml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    return folder


def test_the_author_cannot_approve_their_own_version(app: Flask) -> None:
    author = _reviewer(app)
    _import(app, author=f"user:{author.email}", author_id=author.id)
    with app.app_context(), db.transaction() as s:
        version = s.scalars(select(TemplateVersion)).first()
        assert version is not None
        with pytest.raises(versions.ApprovalError,
                           match=r"someone else must approve it \(four-eyes\)"):
            versions.approve(s, version, s.get(User, author.id))  # type: ignore[arg-type]
    assert all(state == "draft" for key in KEYS for _, state in _states(app, key))


def test_an_editor_cannot_approve(app: Flask) -> None:
    editor = _reviewer(app, "editor", "editor2@solvik.example")
    _import(app)
    with app.app_context(), db.transaction() as s:
        version = s.scalars(select(TemplateVersion)).first()
        assert version is not None
        with pytest.raises(versions.ApprovalError,
                           match="editor2@solvik.example is editor: only an approver can approve"):
            versions.approve(s, version, s.get(User, editor.id))  # type: ignore[arg-type]


def test_in_the_console_an_approver_cannot_approve_their_own_draft(
        app: Flask, client: FlaskClient, auth: AuthActions, make_user: MakeUser) -> None:
    approver = make_user("approver", "approver@solvik.example")
    _import(app, author=f"user:{approver.email}", author_id=approver.id)
    auth.login(approver.email)
    page = "/templates/phone-lines-down/1"
    token = auth.csrf(page)

    resp = client.post(page + "/approve", data={"csrf_token": token}, follow_redirects=True)
    shown = resp.get_data(as_text=True)
    assert resp.request.path == page
    assert re.search(r'class="flash error"[^>]*>[^<]*someone else must approve it \(four-eyes\)',
                     shown)
    assert "state-draft" in shown
    assert _states(app, "phone-lines-down") == [(1, "draft")]


def test_in_the_console_a_second_approver_approves(
        app: Flask, client: FlaskClient, auth: AuthActions, make_user: MakeUser) -> None:
    _import(app)
    auth.login(make_user("approver", "approver@solvik.example").email)
    page = "/templates/phone-lines-down/1"
    resp = client.post(page + "/approve", data={"csrf_token": auth.csrf(page), "comment": "OK"},
                       follow_redirects=True)
    assert "phone-lines-down version 1 is approved." in resp.get_data(as_text=True)
    assert _states(app, "phone-lines-down") == [(1, "approved")]


@pytest.mark.parametrize("role", ["editor", "operator"])
def test_an_editor_or_operator_gets_403_on_the_approve_route(
        app: Flask, client: FlaskClient, auth: AuthActions, make_user: MakeUser,
        role: str) -> None:
    _import(app)
    auth.login(make_user(role, f"{role}@solvik.example").email)
    page = "/templates/phone-lines-down/1"
    assert ">Approve</button>" not in client.get(page).get_data(as_text=True)
    resp = client.post(page + "/approve", data={"csrf_token": auth.csrf(page)})
    assert resp.status_code == 403
    assert _states(app, "phone-lines-down") == [(1, "draft")]


def test_reimporting_unchanged_files_keeps_the_approval(app: Flask) -> None:
    assert _import(app).created == KEYS
    _approve_all(app, _reviewer(app))

    again = _import(app)
    assert (again.created, again.unchanged) == ([], KEYS)
    assert all(_states(app, key) == [(1, "approved")] for key in KEYS)


def test_an_edited_file_becomes_a_draft_while_the_approved_version_is_still_sent(
        app: Flask, tmp_path: Path, registry: None) -> None:
    _import(app)
    _approve_all(app, _reviewer(app))
    folder = _edited_copy(tmp_path, "phone-lines-down", "Vi går inte att nå på 020",
                          "Ni kan inte nå oss på 020")

    report = _import(app, folder)
    assert (report.created, len(report.unchanged)) == (["phone-lines-down"], len(KEYS) - 1)
    assert _states(app, "phone-lines-down") == [(1, "approved"), (2, "draft")]

    with app.app_context(), db.transaction() as s:
        assert dispatch.approved_version(s, "phone-lines-down").number == 1
        notice = dispatch.confirm(s, dispatch.NoticeRequest(
            "phone-lines-down", {"contacts": ["vaxel"]}, ["banner"]), "user:operator@solvik.example")
        sent = s.get(TemplateVersion, notice.template_version_id)
        assert sent is not None and sent.number == 1
        assert notice.rendered["sv"]["banner"]["headline"].startswith("Vi går inte att nå")


def test_a_template_with_only_a_draft_cannot_be_sent(app: Flask, registry: None) -> None:
    _import(app)
    with app.app_context(), db.transaction() as s, pytest.raises(dispatch.DispatchError) as exc:
        dispatch.confirm(s, dispatch.NoticeRequest(
            "phone-lines-down", {"contacts": ["vaxel"]}, ["banner"]), "user:operator@x")
    assert str(exc.value) == ("Template 'phone-lines-down' has no approved version: a draft "
                              "cannot be sent. Ask an approver to approve it first.")


def test_the_exported_approved_set_reimports_as_unchanged(
        app: Flask, tmp_path: Path, env: dict[str, str]) -> None:
    _import(app)
    _approve_all(app, _reviewer(app))
    folder = _edited_copy(tmp_path, "all-clear", "Tack för ditt tålamod!",
                          "Tack för att du väntade!")
    _import(app, folder)  # a draft of all-clear: not part of the approved set

    runner = CliRunner()
    exported = runner.invoke(main, ["templates", "export", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    assert sorted(Path(line).stem for line in exported.output.split()) == KEYS
    assert "Tack för att du väntade!" not in (tmp_path / "export" / "all-clear.yaml").read_text()

    reimported = runner.invoke(main, ["templates", "import", str(tmp_path / "export")])
    assert reimported.exit_code == 0, reimported.output
    assert sorted(line.split()[-1] for line in reimported.output.splitlines()
                  if line.startswith("same")) == KEYS
    assert _states(app, "phone-lines-down") == [(1, "approved")]
