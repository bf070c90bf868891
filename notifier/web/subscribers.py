"""Subscribers in the console: search, one person's page, fixes, import, export, GDPR, inbox."""
from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from .. import audience, audit, csvout, db, inbox, privacy
from ..audience import directory
from ..errors import NotifierError
from .auth import require

# Named after the domain it shows: "subscribers" is the API's blueprint (/api/v1/subscribers).
bp = Blueprint("audience", __name__)
UPLOAD_LIMIT = 32 * 1024 * 1024   # about 300,000 rows
IMPORT_SECONDS = 60               # the command line has no limit
REPORT_HEADER = ("line", "kind", "reason")


def _who() -> str:
    return str(g.user.email)


@bp.get("/subscribers")
@require("view")
def index() -> str:
    """Search subscribers by name, number or email."""
    query = request.args.get("q", "")
    return render_template("subscribers/index.html", query=query,
                           found=directory.search(db.session(), query))


@bp.get("/subscribers/<int:subscriber_id>")
@require("view")
def person(subscriber_id: int) -> str:
    """Show one subscriber: subscriptions and why they are not active, segments, what they got."""
    found = directory.person(db.session(), subscriber_id)
    if found is None:
        abort(404)
    return render_template("subscribers/person.html", p=found)


def _back(subscription_id: int) -> Any:
    from ..models import Subscription

    sub = db.session().get(Subscription, subscription_id)
    target = url_for("audience.person", subscriber_id=sub.subscriber_id) if sub \
        else url_for("audience.index")
    return redirect(target, code=303)


@bp.post("/subscribers/subscriptions/<int:subscription_id>/address")
@require("send")
def fix_address(subscription_id: int) -> Any:
    """Correct an address."""
    try:
        with db.transaction() as s:
            directory.fix_address(s, subscription_id, request.form.get("address", "")[:300])
        flash(_("The address is corrected."), "ok")
    except directory.DirectoryError as exc:
        flash(exc.text.translated(), "error")
    return _back(subscription_id)


@bp.post("/subscribers/subscriptions/<int:subscription_id>/opt-out")
@require("send")
def opt_out(subscription_id: int) -> Any:
    """Opt an address out because the customer asked a person to."""
    try:
        with db.transaction() as s:
            directory.opt_out(s, subscription_id, _who())
        flash(_("The address gets no more notices."), "ok")
    except directory.DirectoryError as exc:
        flash(exc.text.translated(), "error")
    return _back(subscription_id)


@bp.get("/subscribers/export.csv")
@require("admin")
def export_csv() -> Response:
    """Download every subscription as CSV (through the one CSV writer), audited."""
    with db.transaction() as s:
        audit.record(s, "subscribers.export", "")
    rows = directory.export_rows()  # reads in a session of its own while the download runs
    return Response(stream_with_context(iter(csvout.stream(directory.EXPORT_HEADER, rows))),
                    mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=subscribers.csv"})


@bp.get("/subscribers/<int:subscriber_id>/export.json")
@require("admin")
def export_person(subscriber_id: int) -> Response:
    """Download everything held about one person (GDPR access), audited."""
    try:
        data = privacy.export(db.session(), subscriber_id)
    except privacy.PersonNotFoundError:
        abort(404)
    with db.transaction() as s:
        audit.record(s, "subscriber.export", f"subscriber:{subscriber_id}")
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition":
                             f"attachment; filename=subscriber-{subscriber_id}.json"})


@bp.post("/subscribers/<int:subscriber_id>/erase")
@require("admin")
def erase(subscriber_id: int) -> Any:
    """Erase a person (GDPR): their rows are deleted; the per-notice totals stay."""
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the erasure."), "error")
        return redirect(url_for("audience.person", subscriber_id=subscriber_id), code=303)
    try:
        with db.transaction() as s:
            done = privacy.erase(s, subscriber_id)
    except privacy.PersonNotFoundError:
        abort(404)
    privacy.compact()
    flash(_("Subscriber #%(id)d is erased: %(subs)d subscriptions, %(deliveries)d deliveries and "
            "%(messages)d messages deleted.", id=subscriber_id, subs=done.subscriptions,
            deliveries=done.deliveries, messages=done.messages), "ok")
    return redirect(url_for("audience.index"), code=303)


@bp.route("/subscribers/import", methods=["GET", "POST"])
@require("send")
def upload() -> Any:
    """Upload a CSV file; show the same report as the command line, downloadable."""
    if request.method == "GET":
        return render_template("subscribers/import.html", report=None)
    request.max_content_length = UPLOAD_LIMIT
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("Choose a CSV file to import."), "error")
        return render_template("subscribers/import.html", report=None), 400
    try:
        report = audience.import_file(file.stream, dry_run=request.form.get("dry_run") == "yes",
                                      time_limit=IMPORT_SECONDS)
    except NotifierError as exc:
        text = exc.text.translated() if hasattr(exc, "text") else str(exc)
        flash(text, "error")
        return render_template("subscribers/import.html", report=None), 400
    issues = [[i.line, _("refused") if i.refused else _("warning"), i.text.translated()]
              for i in report.issues]
    return render_template("subscribers/import.html", report=report, issues=issues,
                           issues_json=json.dumps(issues, ensure_ascii=False),
                           limit=IMPORT_SECONDS)


@bp.post("/subscribers/import/report.csv")
@require("send")
def report_csv() -> Response:
    """Give back the report just shown as CSV (nothing is stored: the page sends it back)."""
    try:
        issues = json.loads(request.form.get("issues", "[]"))
    except ValueError:
        abort(400)
    rows = [[str(c)[:2000] for c in row[:3]] for row in issues
            if isinstance(row, list)][: 10 * 1000]
    return Response(csvout.stream([_("line"), _("kind"), _("reason")], rows), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=import-report.csv"})


@bp.get("/inbox")
@require("view")
def inbox_page() -> str:
    """Show what customers wrote by SMS or Telegram that was not a keyword."""
    handled = request.args.get("handled") == "1"
    return render_template("subscribers/inbox.html", handled=handled,
                           messages=inbox.messages(db.session(), handled=handled))


@bp.post("/inbox/<int:message_id>/handled")
@require("send")
def inbox_handled(message_id: int) -> Any:
    """Mark a message handled."""
    with db.transaction() as s:
        if not inbox.mark_handled(s, message_id, _who()):
            abort(404)
    return redirect(url_for("audience.inbox_page"), code=303)


@bp.route("/statusline", methods=["GET", "POST"])
@require("view")
def statusline() -> Any:
    """Play a call to the status line through the sandbox (nothing real is called)."""
    if not current_app.config["SANDBOX"]:
        abort(404)
    transcript: list[dict[str, str]] | None = None
    error = None
    if request.method == "POST":
        from ..sandbox.client import SandboxClient, SandboxClientError

        url = current_app.config["PROVIDERS"]["twilio"].api_url
        try:
            with SandboxClient(str(url)) as sandbox:
                transcript = sandbox.call(f"{current_app.config['PUBLIC_URL']}/webhooks/twilio/voice",
                                          caller=request.form.get("caller", "+46701740699"),
                                          press=request.form.get("press") or None)
        except SandboxClientError as exc:
            error = str(exc)
    return render_template("subscribers/statusline.html", transcript=transcript, error=error,
                           number=current_app.config.get("VOICE_NUMBER"))
