"""Console accounts for admins: invite, change role, deactivate, password reset links.

The owner of an invitation or a reset sets a password at /welcome/<token> without logging in.
"""
from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from .. import accounts, administration, db
from ..errors import NotifierError
from ..i18n import gettext as _
from ..models import Role, User
from .auth import require

bp = Blueprint("users", __name__)


def _link(user: User) -> str:
    token = administration.link_token(current_app.config["SECRET_KEY"], user)
    return url_for("users.welcome", token=token, _external=True)


def _list(link: tuple[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    s = db.session()
    s.commit()  # end the read snapshot taken before this request wrote: show what it wrote
    users = s.scalars(select(User).order_by(User.active.desc(), User.email)).all()
    return render_template("users_admin.html", users=users, roles=[r.value for r in Role], link=link,
                           days=administration.LINK_DAYS), status


@bp.get("/users")
@require("admin")
def index() -> Any:
    """List the accounts with their role and state."""
    return _list()


@bp.post("/users")
@require("admin")
def invite() -> Any:
    """Create an account and show the link its owner sets a password with."""
    form = request.form
    try:
        with db.transaction() as s:
            user = administration.invite(s, form.get("email", ""), form.get("role", ""),
                                         form.get("name", "").strip())
            link = _link(user)
            email = user.email
    except NotifierError as exc:
        flash(str(exc), "error")
        return _list(status=422)
    flash(_("%(email)s is invited. Send them the link below.", email=email), "ok")
    return _list((email, link))


@bp.post("/users/<int:user_id>/<any(role, deactivate, reactivate, reset):action>")
@require("admin")
def change(user_id: int, action: str) -> Any:
    """Change an account's role, (de)activate it, or make a password reset link."""
    try:
        with db.transaction() as s:
            if action == "role":
                user = administration.set_role(s, user_id, request.form.get("role", ""))
            elif action == "reset":
                user = administration.reset_password(s, user_id)
                link = _link(user)
            else:
                user = administration.set_active(s, user_id, action == "reactivate", g.user)
            email = user.email
    except NotifierError as exc:
        flash(str(exc), "error")
        return redirect(url_for("users.index"))
    if action == "reset":
        flash(_("The old password of %(email)s no longer works. Send them the link below.",
                email=email), "ok")
        return _list((email, link))
    flash(_("Saved: %(email)s.", email=email), "ok")
    return redirect(url_for("users.index"))


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def welcome(token: str) -> Any:
    """Let the owner of an invitation or reset link choose a password."""
    secret = current_app.config["SECRET_KEY"]
    try:
        user = administration.user_of(db.session(), secret, token)
    except NotifierError as exc:
        return render_template("welcome.html", problem=str(exc), account=None), 400
    if request.method == "GET":
        return render_template("welcome.html", problem="", account=user)
    password = request.form.get("password", "")
    if password != request.form.get("again", ""):
        flash(_("The two passwords differ: type the same one twice."), "error")
        return render_template("welcome.html", problem="", account=user), 422
    try:
        with db.transaction() as s:
            administration.set_password(s, secret, token, password)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return render_template("welcome.html", problem="", account=user), 422
    flash(_("Your password is set: log in with it."), "ok")
    return redirect(url_for("auth.login"))
