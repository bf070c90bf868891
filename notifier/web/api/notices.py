"""Notices: preview, create (once per Idempotency-Key), status, pause, resume, cancel."""
from __future__ import annotations

from typing import Any

from flask import g, request
from flask_smorest import Blueprint

from ... import control, db, dispatch, idempotency, progress, totals
from ...models import Notice
from . import schemas
from .problems import Problem, answer_problems, needs, who

blp = Blueprint("notices", __name__, url_prefix="/api/v1/notices",
                description="Notices: one send of an approved template to an audience")
answer_problems(blp)
KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY = {"in": "header", "name": KEY_HEADER, "required": True,
               "schema": {"type": "string", "minLength": 8, "maxLength": 100},
               "description": "A key of your own per notice (a UUID): sending the same request "
                              "again with it returns the first notice instead of a second one"}


def request_of(body: dict[str, Any]) -> dispatch.NoticeRequest:
    """Turn an API body into the request the console and the CLI make too."""
    return dispatch.NoticeRequest(
        body["template"], dict(body["values"]), body["channels"], body["segments"],
        drill=body["drill"], incident_id=body["incident_id"], fallback=dict(body["fallback"]),
        scheduled_at=body["scheduled_at"])


def preview_out(p: dispatch.Preview) -> dict[str, Any]:
    """Return a preview as the API shows it."""
    rendered = [{"language": lang, "channel": ch, "text": m.text, "subject": m.subject,
                 "headline": m.headline, "warnings": list(m.warnings),
                 "sms_segments": m.sms.segments if m.sms else None,
                 "sms_encoding": m.sms.encoding if m.sms else None}
                for lang, per in p.rendered.items() for ch, m in per.items()]
    return {"template": p.request.template_key, "version": p.version.number,
            "channels": list(p.request.channels or ()), "segments": list(p.request.segments or ()),
            "counts": p.counts, "total": p.total, "rendered": rendered, "warnings": p.warnings}


def notice_out(s: Any, notice: Notice) -> dict[str, Any]:
    """Return a notice with its progress per delivery channel."""
    per = totals.of_notice(s, notice.id)
    channels = {ch: {"counts": t.counts, "failures": t.failures,
                     "first_sent_at": t.first_sent_at, "half_at": t.half_at,
                     "most_at": t.most_at, "all_at": t.all_at} for ch, t in per.items()}
    counts = {ch: t.counts for ch, t in per.items()}
    return {**{k: getattr(notice, k) for k in (
        "id", "incident_id", "template_key", "kind", "severity", "state", "drill", "channels",
        "segments", "created_at", "created_by", "scheduled_at")},
        "finished": notice.state != "scheduled" and progress.is_finished(counts),
        "progress": channels}


@blp.post("/preview")
@blp.arguments(schemas.NoticeIn)
@blp.response(200, schemas.PreviewOut)
@needs("send")
def preview(body: dict[str, Any]) -> dict[str, Any]:
    """Render every language x delivery channel and count recipients, sending nothing."""
    return preview_out(dispatch.prepare(db.session(), request_of(body)))


@blp.post("")
@blp.arguments(schemas.NoticeIn)
@blp.response(201, schemas.NoticesOut)
@blp.alt_response(200, schema=schemas.NoticesOut, success=True,
                  description="Confirmed before with this Idempotency-Key: nothing new was sent")
@blp.doc(parameters=[IDEMPOTENCY])
@needs("send")
def create(body: dict[str, Any]) -> Any:
    """Confirm and send a notice (the console's Confirm); once per Idempotency-Key."""
    key = request.headers.get(KEY_HEADER, "").strip()
    if not 8 <= len(key) <= 100:
        raise Problem(400, "idempotency-key", "Idempotency-Key is missing",
                      f"Send a header {KEY_HEADER}: <a UUID of your own> (8 to 100 characters), "
                      "so a retried request cannot send the notice twice.")
    asked = idempotency.fingerprint({k: body[k] for k in sorted(body)})
    once = idempotency.Key("api", f"{g.user.id}:{key}", asked)  # keys are per account
    confirmed = dispatch.confirm_idempotently(request_of(body), who(), once, body["remind_at"])
    with db.transaction() as s:
        notices = [notice_out(s, s.get(Notice, n.id) or n) for n in confirmed.notices]
    return {"replayed": confirmed.replayed, "notices": notices}, 200 if confirmed.replayed else 201


@blp.get("/<int(max=2147483647):notice_id>")
@blp.response(200, schemas.NoticeOut)
@needs("view")
def show(notice_id: int) -> dict[str, Any]:
    """Return a notice with its progress: counts per channel and status, failures, milestones."""
    s = db.session()
    notice = s.get(Notice, notice_id)
    if notice is None:
        raise Problem(404, "not-found", "No such notice", f"There is no notice {notice_id}.")
    with db.transaction() as w:
        out = notice_out(w, w.get(Notice, notice_id) or notice)
    return out


@blp.post("/<int(max=2147483647):notice_id>/<any(pause, resume, cancel):action>")
@blp.response(200, schemas.ControlOut)
@needs("send")
def act(notice_id: int, action: str) -> dict[str, Any]:
    """Pause, resume or cancel a notice in flight."""
    return {"notice_id": notice_id, "message": control.act(notice_id, action, who())}
