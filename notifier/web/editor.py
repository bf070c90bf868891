"""The template pages of the console: list, view, edit with live preview, approve/reject, diff."""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from .. import contacts, db, library, versions
from ..errors import NotifierError
from ..i18n import gettext as _
from ..library import jail
from ..library.smsencoding import analyse
from ..models import LANGUAGES, Template, TemplateVersion
from ..samples import SAMPLE_CONTACTS, sample_values
from .auth import require

bp = Blueprint("editor", __name__, url_prefix="/templates")

# (delivery channel, part) in the order a communicator reads them; form fields are lang-ch-part.
PARTS = (("sms", "text"), ("email", "subject"), ("email", "text"), ("telegram", "text"),
         ("banner", "headline"), ("banner", "body"))
KIND_HEADINGS = {"initial": _l("First notices"), "update": _l("Updates"),
                 "all_clear": _l("All-clears"), "maintenance": _l("Planned maintenance")}
def _version(key: str, number: int, s: Session | None = None) -> TemplateVersion:
    found = (s or db.session()).scalar(select(TemplateVersion).join(Template).where(
        Template.key == key, TemplateVersion.number == number))
    return found if found is not None else abort(404)


@bp.get("")
@require("view")
def index() -> str:
    """List templates grouped by scenario kind, each version with its state, who and when."""
    s = db.session()
    groups: dict[str, list[tuple[Template, library.TemplateSpec]]] = {k: [] for k in KIND_HEADINGS}
    for template in s.scalars(select(Template).order_by(Template.key)):
        if template.versions:
            spec = library.parse_spec(template.versions[-1].content)
            groups.setdefault(spec.kind, []).append((template, spec))
    steps = {t.key: versions.history(s, t.key) for per in groups.values() for t, _spec in per}
    drafts = s.scalars(select(TemplateVersion).where(TemplateVersion.state == "draft")
                       .order_by(TemplateVersion.created_at)).all()
    return render_template("templates.html", groups=groups, headings=KIND_HEADINGS, steps=steps,
                           drafts=drafts)


@bp.route("/new", methods=["GET", "POST"])
@require("edit")
def new() -> Any:
    """Write a new template, starting from a copy of an existing one; it is a draft."""
    s = db.session()
    sources = s.scalars(select(Template).order_by(Template.key)).all()
    if request.method == "GET":
        return render_template("template_new.html", sources=sources, form={})
    key = request.form.get("key", "").strip()
    try:
        with db.transaction() as tx:
            created = versions.create(tx, key, request.form.get("source", ""), g.user)
            number = created.number
    except NotifierError as exc:
        flash(str(exc), "error")
        return render_template("template_new.html", sources=sources, form=request.form), 422
    flash(_("The new template %(key)s is draft version %(n)s: change its wording, then ask an "
            "approver to approve it.", key=key, n=number), "ok")
    return redirect(url_for("editor.edit", key=key, number=number))


@bp.get("/<key>/<int:number>")
@require("view")
def version(key: str, number: int) -> str:
    """Show one version with every variant, its variables and its history."""
    found = _version(key, number)
    spec = library.parse_spec(found.content)
    try:
        samples, variants = sample_preview(spec)
        problems: list[str] = []
    except library.TemplateError as exc:
        samples, variants, problems = {}, {}, list(exc.problems)
    except NotifierError as exc:
        samples, variants, problems = {}, {}, [str(exc)]
    return render_template("template.html", version=found, spec=spec, samples=samples,
                           variants=variants, problems=problems,
                           steps=versions.history(db.session(), key).get(number, []),
                           others=[v.number for v in found.template.versions if v.number != number])


@bp.route("/<key>/<int:number>/edit", methods=["GET", "POST"])
@require("edit")
def edit(key: str, number: int) -> Any:
    """Edit a version's wording; saving makes a new draft and keeps the approved one in use."""
    base = _version(key, number)
    if request.method == "GET":
        return render_template("template_edit.html", version=base, fields=form_fields(base.content),
                               problems=[], editor_texts=editor_texts())
    try:
        with db.transaction() as s:
            created = versions.save_edit(s, _version(key, number, s), form_data(request.form),
                                         g.user)
            new_number = created.number if created else None
    except library.TemplateError as exc:
        return render_template("template_edit.html", version=base, fields=request.form,
                               problems=exc.problems, editor_texts=editor_texts()), 422
    if new_number is None:
        flash(_("Nothing changed: the wording is the same as a draft or the approved version."),
              "warn")
        return redirect(url_for("editor.version", key=key, number=number))
    flash(_("Saved as draft version %(n)s. The approved version stays in use until an "
            "approver approves this one.", n=new_number), "ok")
    return redirect(url_for("editor.version", key=key, number=new_number))


def editor_texts() -> dict[str, str]:
    """Return the texts the live preview script shows, in the reader's language."""
    from .. import vocabulary

    return {"sv": "Svenska", "en": "English", "characters": _("characters"), "units": _("units"),
            "segment": _("segment"), "segments": _("segments"), "per_segment": _("per segment"),
            "changed": _("GSM-safe normalisation changed the text:"),
            "before": _("Before (as written):"), "after": _("After (as sent):"),
            "subject": _("Subject:"), "headline": _("Headline:"), "warning": _("Warning:"),
            "invalid": _("Not valid yet:"), "samples": _("Sample values:"),
            "unavailable": _("The preview is unavailable right now; you can still save."),
            **{f"channel_{c}": vocabulary.name(vocabulary.CHANNEL, c)
               for c in vocabulary.CHANNEL}}


@bp.post("/<key>/preview")
@require("edit")
def preview(key: str) -> Any:
    """Render the edited form with sample values: every language x channel, SMS counts."""
    try:
        spec = library.parse_spec({**form_data(request.form), "key": key}, source=key)
        samples, variants = sample_preview(spec)
    except library.TemplateError as exc:
        return jsonify(ok=False, problems=exc.problems), 422
    except library.JailBusyError as exc:
        return jsonify(ok=False, problems=[str(exc)]), 503, {"Retry-After": "2"}
    except NotifierError as exc:
        return jsonify(ok=False, problems=[str(exc)]), 422
    return jsonify(ok=True, problems=[], samples=samples, variants=variants)


def sample_preview(spec: library.TemplateSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the sample values and every language x channel rendered with them.

    A draft is untrusted: it renders in the jail (a child process with limits on time and
    memory, at most two at once per web process), never in a web thread.
    """
    registry = contacts.options(db.session())
    if not any(o.state == "up" for o in registry.values()):
        registry = SAMPLE_CONTACTS
    samples = sample_values(spec, registry)
    values = library.validate_values(spec, samples, registry)
    with jail.DRAFT_SLOTS:
        rendered, as_written = jail.run(library.render_preview, spec, values, limits=jail.DRAFT,
                                        organisation=current_app.config["ORGANISATION"])
    variants = {lang: {ch: _preview_message(m, as_written[lang]) for ch, m in per.items()}
                for lang, per in rendered.items()}
    return samples, variants


def _preview_message(message: library.RenderedMessage, before: str) -> dict[str, Any]:
    data = {k: v for k, v in message.to_dict().items() if k != "html"}
    if message.channel == "sms":
        data["gsm"] = {"before": before, "after": message.text, "changed": before != message.text,
                       "before_sms": analyse(before).to_dict()}
    return data


@bp.post("/<key>/<int:number>/approve")
@require("approve")
def approve(key: str, number: int) -> Any:
    """Approve a draft (four-eyes: not by its author)."""
    return _review(key, number, versions.approve, "approved")


@bp.post("/<key>/<int:number>/reject")
@require("approve")
def reject(key: str, number: int) -> Any:
    """Reject a draft with a comment; the approved version stays in use."""
    return _review(key, number, versions.reject, "rejected")


def _review(key: str, number: int, decide: Any, done: str) -> Any:
    try:
        with db.transaction() as s:
            decide(s, _version(key, number, s), g.user, request.form.get("comment", ""))
    except NotifierError as exc:
        flash(str(exc), "error")
    else:
        flash(_("%(key)s version %(n)s is approved.", key=key, n=number) if done == "approved"
              else _("%(key)s version %(n)s is rejected.", key=key, n=number), "ok")
    return redirect(url_for("editor.version", key=key, number=number))


@bp.get("/<key>/diff")
@require("view")
def diff(key: str) -> str:
    """Compare two versions per language x channel, line by line."""
    old = _version(key, request.args.get("from", type=int) or 0)
    new = _version(key, request.args.get("to", type=int) or 0)
    return render_template("template_diff.html", key=key, old=old, new=new,
                           sections=compare(old.content, new.content))


# --------------------------------------------------------------------------- form <-> content


def form_fields(content: Mapping[str, Any]) -> dict[str, str]:
    """Return the edit form's field values for a version's content."""
    fields = {"kind": content["kind"], "severity": content["severity"],
              "variables": yaml.safe_dump(content.get("variables") or [], allow_unicode=True,
                                          sort_keys=False, width=100)}
    for lang in LANGUAGES:
        fields[f"title-{lang}"] = content["title"][lang]
        fields[f"description-{lang}"] = content["description"][lang]
        for channel, part in PARTS:
            fields[f"{lang}-{channel}-{part}"] = _part(content["content"][lang], channel, part)
    return fields


def _part(variant: Mapping[str, Any], channel: str, part: str) -> str:
    value = variant.get(channel, "")
    return str(value.get(part, "") if isinstance(value, Mapping) else value)


def form_data(form: MultiDict[str, str]) -> dict[str, Any]:
    """Build template data (as in a YAML file, without the key) from the edit form."""
    def text(name: str) -> str:
        return form.get(name, "").replace("\r\n", "\n")

    variables = library.load_yaml(text("variables"), "Variables",
                                  library.MAX_VARIABLES_BYTES) or []
    content = {}
    for lang in LANGUAGES:
        parts = {(ch, part): text(f"{lang}-{ch}-{part}") for ch, part in PARTS}
        content[lang] = {"sms": parts["sms", "text"], "telegram": parts["telegram", "text"],
                         "email": {"subject": parts["email", "subject"],
                                   "text": parts["email", "text"]},
                         "banner": {"headline": parts["banner", "headline"],
                                    "body": parts["banner", "body"]}}
    return {"title": {lang: text(f"title-{lang}") for lang in LANGUAGES},
            "description": {lang: text(f"description-{lang}") for lang in LANGUAGES},
            "kind": form.get("kind", ""), "severity": form.get("severity", ""),
            "variables": variables, "content": content}


# --------------------------------------------------------------------------- diff


@dataclass(frozen=True)
class Line:
    """One line of a diff: kept, removed or added, with its line numbers."""

    change: str  # same | removed | added
    text: str
    old: int | None
    new: int | None


def _sections(content: Mapping[str, Any]) -> dict[str, str]:
    sections = {
        _("Title"): "\n".join(f"{lang}: {content['title'][lang]}" for lang in LANGUAGES),
        _("Description"): "\n".join(f"{lang}: {content['description'][lang]}"
                                     for lang in LANGUAGES),
        _("Kind and severity"): f"kind: {content['kind']}\nseverity: {content['severity']}",
        _("Variables"): yaml.safe_dump(content.get("variables") or [], allow_unicode=True,
                                    sort_keys=False, width=100),
    }
    for lang in LANGUAGES:
        for channel, part in PARTS:
            label = channel if channel in ("sms", "telegram") else f"{channel} {part}"
            sections[f"{lang} · {label}"] = _part(content["content"][lang], channel, part)
    return sections


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, list[Line]]]:
    """Return (section, lines) for every section; an unchanged section has no lines."""
    result = []
    before, after = _sections(old), _sections(new)
    for name in before:
        a, b = before[name].splitlines(), after[name].splitlines()
        result.append((name, [] if a == b else _lines(a, b)))
    return result


def _lines(a: list[str], b: list[str]) -> list[Line]:
    lines: list[Line] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            lines += [Line("same", a[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
            continue
        lines += [Line("removed", a[i], i + 1, None) for i in range(i1, i2)]
        lines += [Line("added", b[j], None, j + 1) for j in range(j1, j2)]
    return lines
