"""Templates: read them, and approve or reject a draft (four-eyes, exactly as in the console)."""
from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from ... import db, library, versions
from ...errors import NotifierError
from ...models import Template
from . import schemas
from .problems import Problem, answer_problems, needs

blp = Blueprint("templates", __name__, url_prefix="/api/v1/templates",
                description="Templates: pre-written, four-eyes approved messages")
answer_problems(blp)


def template_out(t: Template) -> dict[str, Any]:
    """Return a template with its versions and the fields of its newest version."""
    approved = [v for v in t.versions if v.state == "approved"]
    newest = approved[-1] if approved else (t.versions[-1] if t.versions else None)
    spec = None
    if newest is not None:
        try:
            spec = library.parse_spec(newest.content)
        except NotifierError:
            spec = None
    return {"key": t.key, "kind": spec.kind if spec else None,
            "title": dict(spec.title) if spec else {},
            "approved_version": approved[-1].number if approved else None,
            "variables": [{"name": v.name, "type": v.type, "required": v.required,
                           "label": dict(v.label)} for v in (spec.variables if spec else ())],
            "versions": t.versions}


def _template(key: str) -> Template:
    t = db.session().scalar(select(Template).where(Template.key == key))
    if t is None:
        raise Problem(404, "not-found", "No such template",
                      f"There is no template {key!r}: GET /api/v1/templates lists them.")
    return t


@blp.get("")
@blp.response(200, schemas.TemplateOut(many=True))
@needs("view")
def index() -> list[dict[str, Any]]:
    """List the templates with their versions and fields."""
    return [template_out(t) for t in db.session().scalars(select(Template).order_by(Template.key))]


@blp.get("/<key>")
@blp.response(200, schemas.TemplateOut)
@needs("view")
def show(key: str) -> dict[str, Any]:
    """Return one template: its versions and the fields a notice fills in."""
    return template_out(_template(key))


@blp.post("/<key>/versions/<int(max=2147483647):number>/<any(approve, reject):verdict>")
@blp.arguments(schemas.ReviewIn)
@blp.response(200, schemas.TemplateOut)
@needs("approve")
def review(body: dict[str, Any], key: str, number: int, verdict: str) -> dict[str, Any]:
    """Approve or reject a draft version; its author never may (four-eyes)."""
    _template(key)
    with db.transaction() as s:
        version = versions.find(s, key, number)
        user = s.merge(g.user)
        if verdict == "approve":
            versions.approve(s, version, user, body["comment"])
        else:
            versions.reject(s, version, user, body["comment"])
    db.session().rollback()  # a new read transaction sees the review (SQLite keeps a snapshot)
    return template_out(_template(key))
