"""The console page of one's own API tokens: create (shown once), see last use, revoke."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import audit, db, tokens
from ..errors import NotifierError
from .auth import require

bp = Blueprint("tokens", __name__)


@bp.get("/account/tokens")
@require("view")
def page(secret: str | None = None, status: int = 200) -> tuple[str, int]:
    """List the logged-in account's tokens."""
    mine = tokens.of_user(db.session(), g.user.email)
    return render_template("tokens.html", tokens=[t for t, _u in mine], secret=secret), status


@bp.post("/account/tokens")
@require("view")
def create() -> Any:
    """Create a token for the logged-in account and show it this once."""
    try:
        with db.transaction() as s:
            new = tokens.create(s, g.user.email, request.form.get("name", ""), who=audit.actor())
    except NotifierError as exc:
        flash(str(exc), "error")
        return page(status=422)
    db.session().rollback()  # see the new token in the list (SQLite keeps a read snapshot)
    return page(secret=new.secret)


@bp.post("/account/tokens/<int:token_id>/revoke")
@require("view")
def revoke(token_id: int) -> Any:
    """Revoke one of the account's tokens at once."""
    try:
        with db.transaction() as s:
            tokens.revoke(s, token_id, by=s.merge(g.user), who=audit.actor())
        flash(_("The token is revoked: calls with it are refused from now on."), "ok")
    except NotifierError as exc:
        flash(str(exc), "error")
    return redirect(url_for("tokens.page"))
