"""Accounts, login, roles checked on the server, CSRF protection."""
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
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, db
from .errors import NotifierError
from .models import Role, User

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])
# The public banner, status page, feeds and health checks: served to anyone, never logged in.
PUBLIC_PATHS = frozenset({"/banner.json", "/banner.js", "/status", "/feed.atom", "/cap.atom",
                          "/api/v2/status.json", "/api/v2/summary.json", "/healthz", "/readyz"})
PUBLIC_PREFIXES = ("/banner.", "/cap/")

# What each role may do; admin may do everything.
PERMISSIONS: dict[str, set[Role]] = {
    "view": set(Role),
    "send": {Role.OPERATOR, Role.ADMIN},
    "contacts": {Role.OPERATOR, Role.ADMIN},
    "edit": {Role.EDITOR, Role.ADMIN},
    "approve": {Role.APPROVER, Role.ADMIN},
    "admin": {Role.ADMIN},
}


class AccountError(NotifierError):
    """An account could not be created or changed."""


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
    user = user if user is not None else g.get("user")
    return user is not None and Role(user.role) in PERMISSIONS[permission]


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


def create_user(s: Session, email: str, role: str, password: str, name: str = "") -> User:
    """Add an account; the password is stored only as a salted hash."""
    email = email.strip().lower()
    if role not in {r.value for r in Role}:
        raise AccountError(f"Unknown role {role!r}: use one of {', '.join(r.value for r in Role)}.")
    if "@" not in email:
        raise AccountError(f"{email!r} is not an email address.")
    if len(password) < 10:
        raise AccountError("The password must be at least 10 characters long.")
    if s.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError(f"An account for {email} exists already.")
    user = User(email=email, role=role, name=name or email.split("@")[0],
                password_hash=generate_password_hash(password))
    s.add(user)
    audit.record(s, "user.create", f"user:{email}", role=role)
    return user


def set_password(s: Session, email: str, password: str) -> User:
    """Give an account a new password (stored only as a salted hash)."""
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AccountError(f"No account for {email}. `notifier users list` shows the accounts.")
    if len(password) < 10:
        raise AccountError("The password must be at least 10 characters long.")
    user.password_hash = generate_password_hash(password)
    audit.record(s, "user.password", f"user:{user.email}")
    return user


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
