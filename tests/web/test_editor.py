"""The template pages of the console: edit with live preview, four-eyes review, diff, roles."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from notifier import db, dispatch
from notifier.models import AuditEvent, Template, TemplateVersion
from notifier.web.editor import form_fields

from ..conftest import AuthActions

KEY = "phone-lines-down"
OLD_SMS_START = "{{ organisation }}: Our 020 and 0771 numbers cannot be reached right now"
NEW_SMS_START = "{{ organisation }}: Our 020 and 0771 numbers are down just now"


def _version(app: Flask, number: int) -> TemplateVersion:
    with app.app_context():
        return db.session().scalars(select(TemplateVersion).join(Template).where(
            Template.key == KEY, TemplateVersion.number == number)).one()


def _numbers(app: Flask) -> list[int]:
    with app.app_context():
        return list(db.session().scalars(select(TemplateVersion.number).join(Template).where(
            Template.key == KEY).order_by(TemplateVersion.number)))


def _form(client: FlaskClient, path: str) -> dict[str, Any]:
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, f"no form on {path}"
    return {"csrf_token": token.group(1)}


def _edited_fields(app: Flask, **changes: str) -> dict[str, str]:
    fields = form_fields(_version(app, 1).content)
    fields["en-sms-text"] = fields["en-sms-text"].replace(OLD_SMS_START, NEW_SMS_START)
    fields.update(changes)
    return fields


def _edit(client: FlaskClient, app: Flask, **changes: str) -> Any:
    data = {**_form(client, f"/templates/{KEY}/1/edit"), **_edited_fields(app, **changes)}
    return client.post(f"/templates/{KEY}/1/edit", data=data)


def _audit(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_list_groups_templates_by_kind_with_state_and_approver(
        client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("viewer@solvik.example")
    page = client.get("/templates").get_data(as_text=True)
    assert page.index("First notices") < page.index("Updates") < page.index("All-clear")
    assert "The 020 and 0771 numbers cannot be reached" in page
    assert "approved, in use" in page
    assert "approved by user:approver@solvik.example" in page


def test_a_version_shows_its_variables_variants_and_history(
        client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("viewer@solvik.example")
    page = client.get(f"/templates/{KEY}/1").get_data(as_text=True)
    assert "<code>eta</code>" in page and "no, optional" in page
    assert "Our 020 and 0771 phone numbers cannot be reached right now" in page  # email subject
    assert "Imported as a draft by user:editor@solvik.example" in page
    assert "Approved by user:approver@solvik.example" in page
    assert "Edit (makes a new draft)" not in page and "Approve version" not in page


def test_editing_makes_a_draft_and_the_approved_version_stays_in_use(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("editor@solvik.example")
    saved = _edit(client, app)
    assert saved.status_code == 302 and saved.headers["Location"] == f"/templates/{KEY}/2"
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Saved as draft version 2" in page and NEW_SMS_START in page

    draft = _version(app, 2)
    assert (draft.state, draft.author) == ("draft", "user:editor@solvik.example")
    with app.app_context():
        assert dispatch.approved_version(db.session(), KEY).number == 1
    edit = _audit(app, "template.edit")
    assert [(e.actor, e.detail["version"], e.detail["based_on"]) for e in edit] == [
        ("user:editor@solvik.example", 2, 1)]

    again = _edit(client, app)  # the same wording again is no new version
    assert again.headers["Location"] == f"/templates/{KEY}/1"
    assert _numbers(app) == [1, 2]


def test_a_broken_edit_is_refused_with_what_to_fix(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("editor@solvik.example")
    resp = _edit(client, app, **{"sv-sms-text": "Solvik Energi: {{ eta_typo }}"})
    assert resp.status_code == 422
    assert "eta_typo" in resp.get_data(as_text=True)
    assert _numbers(app) == [1]


def test_the_author_cannot_approve_their_own_draft(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("admin@solvik.example")  # an admin may edit and approve, but not both
    _edit(client, app)
    resp = client.post(f"/templates/{KEY}/2/approve",
                       data={**_form(client, f"/templates/{KEY}/2"), "comment": "fine"},
                       follow_redirects=True)
    assert "user:admin@solvik.example wrote phone-lines-down version 2, so someone else must " \
           "approve it (four-eyes)" in resp.get_data(as_text=True)
    assert "You wrote this version, so someone else must approve it" in resp.get_data(as_text=True)
    assert _version(app, 2).state == "draft"
    assert _audit(app, "template.approve")[-1].detail["version"] == 1


def test_an_approver_approves_a_draft_which_then_is_sent(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("editor@solvik.example")
    _edit(client, app)
    auth.logout()
    auth.login("approver@solvik.example")
    resp = client.post(f"/templates/{KEY}/2/approve",
                       data={**_form(client, f"/templates/{KEY}/2"), "comment": "Read aloud."},
                       follow_redirects=True)
    assert "phone-lines-down version 2 is approved" in resp.get_data(as_text=True)
    assert (_version(app, 1).state, _version(app, 2).state) == ("retired", "approved")
    with app.app_context():
        assert dispatch.approved_version(db.session(), KEY).number == 2
    approve = _audit(app, "template.approve")[-1]
    assert (approve.actor, approve.detail) == ("user:approver@solvik.example",
                                               {"version": 2, "comment": "Read aloud."})
    page = client.get(f"/templates/{KEY}/2").get_data(as_text=True)
    assert "Approved by user:approver@solvik.example" in page and "Read aloud." in page


def test_an_approver_rejects_a_draft_with_a_comment(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("editor@solvik.example")
    _edit(client, app)
    auth.logout()
    auth.login("approver@solvik.example")
    token = _form(client, f"/templates/{KEY}/2")
    silent = client.post(f"/templates/{KEY}/2/reject", data={**token, "comment": " "},
                         follow_redirects=True)
    assert "Say why in a comment" in silent.get_data(as_text=True)
    assert _version(app, 2).state == "draft"

    resp = client.post(f"/templates/{KEY}/2/reject",
                       data={**token, "comment": "Keep 'cannot be reached'."}, follow_redirects=True)
    assert "phone-lines-down version 2 is rejected" in resp.get_data(as_text=True)
    assert (_version(app, 1).state, _version(app, 2).state) == ("approved", "rejected")
    assert _version(app, 2).comment == "Keep 'cannot be reached'."
    reject = _audit(app, "template.reject")
    assert [(e.actor, e.detail["version"]) for e in reject] == [
        ("user:approver@solvik.example", 2)]
    listed = client.get("/templates").get_data(as_text=True)
    assert "rejected by user:approver@solvik.example" in listed


def test_the_diff_shows_the_changed_line_in_words(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("editor@solvik.example")
    _edit(client, app)
    page = client.get(f"/templates/{KEY}/diff", query_string={"from": 1, "to": 2})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h2 id=\"diff-1\">en · sms</h2>" in text
    removed = re.search(r"− removed</td>\s*<td><del><pre>([^<]*)</pre>", text)
    added = re.search(r"\+ added</td>\s*<td><ins><pre>([^<]*)</pre>", text)
    assert removed and removed.group(1).startswith(OLD_SMS_START)
    assert added and added.group(1).startswith(NEW_SMS_START)
    assert "Unchanged: Title, Description" in text and "sv · sms" in text


def test_the_preview_counts_segments_and_shows_the_gsm_safe_normalisation(
        app: Flask, client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("editor@solvik.example")
    token = _form(client, f"/templates/{KEY}/1/edit")
    fields = _edited_fields(app, **{"sv-sms-text": "Solvik Energi: Vi når inte “växeln” – "
                                                    "ring {{ contacts|first }}, klart {{ eta }}…"})
    resp = client.post(f"/templates/{KEY}/preview", data={**token, **fields})
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["ok"] and set(data["samples"]) == {"contacts", "eta", "info_url"}
    sms = data["variants"]["sv"]["sms"]
    assert sms["text"] == ('Solvik Energi: Vi når inte "växeln" - ring Kundservice: 020-12 34 56, '
                           'klart kl. 13.00...')
    assert sms["sms"]["encoding"] == "GSM-7" and sms["sms"]["segments"] == 1
    assert sms["gsm"]["changed"] and "“växeln” –" in sms["gsm"]["before"]
    assert sms["gsm"]["before_sms"]["encoding"] == "UCS-2"
    en = data["variants"]["en"]["sms"]
    assert en["sms"]["segments"] == 2 and not en["gsm"]["changed"]
    assert data["variants"]["en"]["banner"]["headline"].startswith("Our 020 and 0771")

    broken = client.post(f"/templates/{KEY}/preview",
                         data={**token, **fields, "variables": "- name: [unclosed"})
    assert broken.status_code == 422
    assert "Variables: is not valid YAML" in broken.get_json()["problems"][0]


def test_the_edit_page_loads_the_preview_script_and_no_inline_script(
        client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("editor@solvik.example")
    page = client.get(f"/templates/{KEY}/1/edit").get_data(as_text=True)
    assert 'src="/static/editor.js"' in page and 'data-preview-url="/templates/' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    with client.get("/static/editor.js") as script:
        assert script.status_code == 200


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_may_not_edit_or_review(
        client: FlaskClient, auth: AuthActions, demo: Any, role: str) -> None:
    auth.login(f"{role}@solvik.example")
    token = _form(client, f"/templates/{KEY}/1")
    assert client.get(f"/templates/{KEY}/1/edit").status_code == 403
    assert client.post(f"/templates/{KEY}/1/edit", data=token).status_code == 403
    assert client.post(f"/templates/{KEY}/preview", data=token).status_code == 403
    assert client.post(f"/templates/{KEY}/1/approve", data=token).status_code == 403
    assert client.post(f"/templates/{KEY}/1/reject", data={**token, "comment": "no"}) \
        .status_code == 403


def test_an_editor_may_not_review(client: FlaskClient, auth: AuthActions, demo: Any) -> None:
    auth.login("editor@solvik.example")
    token = _form(client, f"/templates/{KEY}/1")
    assert client.post(f"/templates/{KEY}/1/approve", data=token).status_code == 403
