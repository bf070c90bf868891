"""One's own sign-in security (second factor, recovery codes, sign out everywhere), and the
admin's page of accounts: reset a second factor, end sessions, require 2FA per role."""
from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_user
from sqlalchemy import select

from .. import accounts, db, twofactor
from ..models import Role, User
from .auth import require

bp = Blueprint("account", __name__, url_prefix="/account")


def _me(s: Any) -> User:
    user: User | None = s.get(User, g.user.id)
    return user if user is not None else abort(403)


def _key() -> str:
    return str(current_app.config["SECRET_KEY"])


@bp.get("")
@require("view")
def security() -> str:
    """Show the state of one's second factor, with the QR code while setting it up."""
    with db.transaction() as s:
        me = _me(s)
        qr = secret = None
        if not me.totp_enabled:
            secret = _pending_secret(me)
            qr = twofactor.qr_svg(twofactor.provisioning_uri(me, secret))
        required = twofactor.required(s, me, current_app.config["SANDBOX"])
        codes_left = len(me.recovery_codes or [])
    return render_template("account.html", me=me, qr=qr, secret=secret, required=required,
                           codes_left=codes_left)


def _pending_secret(me: User) -> str:
    """Return the secret being set up, or a new one (also when the old one cannot be read)."""
    if me.totp_secret:
        try:
            return twofactor.secret_of(me, _key())
        except twofactor.SecondFactorError:
            pass
    return twofactor.begin(me, _key())


@bp.post("/2fa")
@require("view")
def enrol() -> Any:
    """Turn the second factor on with a first code from the app; show the recovery codes."""
    with db.transaction() as s:
        me = _me(s)
        try:
            codes = twofactor.confirm(s, me, request.form.get("code", ""), _key())
        except twofactor.SecondFactorError as exc:
            flash(str(exc), "error")
            return redirect(url_for("account.security"))
        version = me.get_id()
    _keep_signed_in(version)
    return render_template("account_codes.html", codes=codes)


def _keep_signed_in(user_id: str) -> None:
    """Carry this session over to the account's new session version."""
    from .auth import load

    db.session().rollback()  # a new read: this request read the account before it changed
    user = load(db.session(), user_id)
    if user is not None:
        login_user(user)
        g.user = user
    session.pop("enrol", None)


@bp.post("/recovery-codes")
@require("view")
def recovery_codes() -> Any:
    """Replace one's recovery codes with a new set (the old ones stop working)."""
    with db.transaction() as s:
        me = _me(s)
        if not me.totp_enabled:
            abort(400)
        codes = twofactor.new_recovery_codes(me, _key())
    return render_template("account_codes.html", codes=codes)


@bp.post("/sign-out-everywhere")
@require("view")
def sign_out_everywhere() -> Any:
    """End every session of one's own account, this one included."""
    with db.transaction() as s:
        me = _me(s)
        accounts.sign_out_everywhere(s, me, f"user:{me.email}")
    session.clear()
    flash(_("Every session of your account has ended, this one too. Sign in again."), "ok")
    return redirect(url_for("auth.login"))


@bp.get("/users")
@require("admin")
def users() -> str:
    """List the accounts with their second factor, and the 2FA requirement per role."""
    s = db.session()
    found = list(s.scalars(select(User).order_by(User.role, User.email)))
    return render_template("users.html", users=found, roles=[r.value for r in Role],
                           policies=twofactor.policies(s, current_app.config["SANDBOX"]))


@bp.post("/users/<int:user_id>/reset-2fa")
@require("admin")
def reset_2fa(user_id: int) -> Any:
    """Remove another person's second factor (they enrol again at their next sign-in)."""
    with db.transaction() as s:
        user = s.get(User, user_id) or abort(404)
        twofactor.reset(s, user, f"user:{g.user.email}")
        email = user.email
    flash(_("The second factor of %(email)s is removed and their sessions have ended.",
            email=email), "ok")
    return redirect(url_for("account.users"))


@bp.post("/users/<int:user_id>/sign-out")
@require("admin")
def sign_out_user(user_id: int) -> Any:
    """End every session of another account."""
    with db.transaction() as s:
        user = s.get(User, user_id) or abort(404)
        accounts.sign_out_everywhere(s, user, f"user:{g.user.email}")
        email = user.email
    flash(_("Every session of %(email)s has ended.", email=email), "ok")
    return redirect(url_for("account.users"))


@bp.post("/users/<int:user_id>/disable")
@require("admin")
def disable(user_id: int) -> Any:
    """Disable another account (a break-glass account nobody asked for, someone who left)."""
    if user_id == g.user.id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("account.users"))
    with db.transaction() as s:
        user = s.get(User, user_id) or abort(404)
        accounts.disable(s, user, f"user:{g.user.email}")
        email = user.email
    flash(_("%(email)s is disabled and signed out.", email=email), "ok")
    return redirect(url_for("account.users"))


@bp.post("/policy")
@require("admin")
def policy() -> Any:
    """Require a second factor for the roles ticked, and not for the others."""
    chosen = set(request.form.getlist("required"))
    with db.transaction() as s:
        current = twofactor.policies(s, current_app.config["SANDBOX"])
        for role, needed in current.items():
            if (role in chosen) != needed:
                twofactor.set_policy(s, role, role in chosen, f"user:{g.user.email}")
    flash(_("The second-factor requirement per role is saved; it applies at the next sign-in."),
          "ok")
    return redirect(url_for("account.users"))
