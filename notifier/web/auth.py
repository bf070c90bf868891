"""Login and logout, roles checked on the server, CSRF protection."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    Request,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from werkzeug.security import check_password_hash

from .. import accounts, db
from ..models import User

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])
# The public banner, status page, feeds and health checks: served to anyone, never logged in.
PUBLIC_PATHS = frozenset({"/banner.json", "/banner.js", "/status", "/feed.atom", "/cap.atom",
                          "/api/v2/status.json", "/api/v2/summary.json", "/healthz", "/readyz",
                          "/subscribe"})
PUBLIC_PREFIXES = ("/banner.", "/cap/", "/subscribe/", "/unsubscribe/")


def init_app(app: Flask) -> None:
    """Register login routes, CSRF protection and the current-user loader."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_SECURE", app.config["PUBLIC_URL"].startswith("https"))
    csrf.init_app(app)
    app.session_interface = PublicSessionInterface()
    app.before_request(_load_user)
    app.register_blueprint(bp)
    app.jinja_env.globals["can"] = can


class PublicSessionInterface(SecureCookieSessionInterface):
    """Give the public endpoints no session: no cookie to verify, no user query, no Vary: Cookie."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
            return None  # Flask then uses a null session, which it never saves
        return super().open_session(app, request)


def _load_user() -> None:
    user_id = session.get("user_id")
    g.user = db.session().get(User, user_id) if user_id else None
    if g.user is not None and not g.user.active:
        session.clear()
        g.user = None


def can(permission: str, user: User | None = None) -> bool:
    """Tell whether the user (default: the logged-in one) holds a permission."""
    return accounts.may(user if user is not None else g.get("user"), permission)


def require(permission: str) -> Callable[[F], F]:
    """Refuse a view unless the logged-in user holds the permission."""
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.get("user") is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the login form and log a user in."""
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        user = db.session().scalar(select(User).where(User.email == email))
        if user and user.active and check_password_hash(user.password_hash,
                                                        request.form.get("password", "")):
            session.clear()
            session["user_id"] = user.id
            session.permanent = True
            nxt = request.args.get("next", "")
            return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//")
                            else url_for("console.dashboard"))
        flash("Wrong email or password. / Fel e-postadress eller lösenord.", "error")
    return render_template("login.html")


@bp.post("/logout")
def logout() -> Any:
    """Log out."""
    session.clear()
    return redirect(url_for("auth.login"))
