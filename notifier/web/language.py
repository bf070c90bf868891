"""The language switch on every console page: Swedish or English, remembered."""
from __future__ import annotations

from flask import Blueprint, abort, g, redirect, request, url_for
from werkzeug.wrappers import Response

from .. import administration, db, i18n

bp = Blueprint("language", __name__)


def safe_next(target: str, fallback: str) -> str:
    """Return a local path to go back to, never another site."""
    return target if target.startswith("/") and not target.startswith("//") else fallback


@bp.post("/language")
def choose() -> Response:
    """Switch the console's language for this session and, when logged in, for the account."""
    language = request.form.get("lang", "")
    if language not in i18n.LANGUAGES:
        abort(400, description="Choose sv or en.")
    i18n.remember(language)
    if g.get("user") is not None:
        with db.transaction() as s:
            administration.set_language(s, g.user.id, language)
    return redirect(safe_next(request.form.get("next", ""), url_for("console.dashboard")))
