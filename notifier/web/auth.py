"""Signing in and out (Flask-Login), sessions that end, roles checked on the server, CSRF.

A session cookie names its account and the account's session version; logout, a new
password, a reset second factor and "sign out everywhere" bump the version, so a copied
cookie stops working at once. A session also ends after a time without activity (the notice
page's polling does not count) and after an absolute time.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Request,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts, audit, db, twofactor
from ..models import User
from . import throttle

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()
F = TypeVar("F", bound=Callable[..., Any])
# The public banner, status page, feeds and health checks: served to anyone, never logged in.
PUBLIC_PATHS = frozenset({"/banner.json", "/banner.js", "/status", "/feed.atom", "/cap.atom",
                          "/api/v2/status.json", "/api/v2/summary.json", "/healthz", "/readyz",
                          "/subscribe"})
PUBLIC_PREFIXES = ("/banner.", "/cap/", "/subscribe/", "/unsubscribe/")
# Requests a page makes by itself: they neither count as activity nor need a second factor.
PASSIVE_ENDPOINTS = frozenset({"notices.progress_json", "auth.session_state", "static"})
# What a person who must enrol a second factor may still reach.
ENROL_ENDPOINTS = frozenset({"account.security", "account.enrol", "auth.logout", "static",
                             "auth.session_state", "auth.session_extend"})
PENDING_SECONDS = 300  # between a right password and the second factor


def init_app(app: Flask) -> None:
    """Set the cookie flags, CSRF, Flask-Login, throttling and the per-request user."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_URL"].startswith("https://")
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_MAX_HOURS"])
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    login_manager.init_app(app)
    app.session_interface = PublicSessionInterface()
    app.before_request(_load_user)
    app.register_blueprint(bp)
    app.register_error_handler(429, _too_many)
    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["idle_seconds"] = lambda: int(app.config["SESSION_IDLE_MINUTES"] * 60)


class PublicSessionInterface(SecureCookieSessionInterface):
    """Give the public endpoints no session: no cookie to verify, no user query, no Vary: Cookie."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
            return None  # Flask then uses a null session, which it never saves
        return super().open_session(app, request)


def _user(user_id: str) -> User | None:
    """Load the account of a session, only if the session's version is still the account's."""
    return load(db.session(), user_id)


login_manager.user_loader(_user)


def load(s: Any, user_id: str) -> User | None:
    """Return the active account named "id:version", or None when that version is over."""
    ident, _sep, version = user_id.partition(":")
    if not ident.isdigit() or not version.isdigit():
        return None
    user: User | None = s.get(User, int(ident))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def _load_user() -> Any:
    g.user = current_user._get_current_object() if current_user.is_authenticated else None
    if g.user is None:
        return None
    now = time.time()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_MAX_HOURS"] * 3600
    if now - session.get("seen_at", 0) > idle or now - session.get("login_at", 0) > absolute:
        _end_session()
        flash(_("You were signed out after a while without activity. Sign in again."), "warn")
        if request.endpoint in PASSIVE_ENDPOINTS:
            return None  # a page's own request: it answers "signed out" and the page moves on
        return redirect(url_for("auth.login", next=safe_next(request.full_path) or None))
    if request.endpoint not in PASSIVE_ENDPOINTS:
        session["seen_at"] = now
    if session.get("enrol") and request.endpoint not in ENROL_ENDPOINTS:
        flash(_("Your role must sign in with a second factor: set it up first."), "warn")
        return redirect(url_for("account.security"))
    return None


def _end_session() -> None:
    logout_user()
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
                return redirect(url_for("auth.login", next=safe_next(request.full_path)))
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorator


def safe_next(raw: str | None) -> str | None:
    """Return raw if it is a path on this site, else None (no open redirect, no header break)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return None
    if any(ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in raw):
        return None  # browsers drop tabs and newlines: "/\t/evil.example" means //evil.example
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return None
    return raw.removesuffix("?")


def _too_many(exc: Any) -> tuple[str, int]:
    retry = getattr(exc, "retry_after", None) or 60
    message = _("Too many failed attempts. Wait %(seconds)s seconds and try again; or sign in "
                "from the browser you usually use.", seconds=int(retry))
    template = "login_code.html" if request.endpoint == "auth.code" else "login.html"
    return render_template(template, error=message), 429


@bp.route("/login", methods=["GET", "POST"])
@throttle.login_limits
def login() -> Any:
    """Show the sign-in form and check the password (then the second factor, if any)."""
    if request.method == "GET":
        return render_template("login.html")
    email = request.form.get("email", "").strip().lower()
    with db.transaction() as s:
        user = accounts.authenticate(s, email, request.form.get("password", ""))
        if user is None:
            _record_failure(s, email)
            return render_template("login.html", error=_("Wrong email or password.")), 401
        must_enrol = twofactor.must_enrol(s, user, current_app.config["SANDBOX"])
        user_id, with_code = user.get_id(), user.totp_enabled
    nxt = safe_next(request.args.get("next"))
    session.clear()
    if with_code:
        session.update(pending=user_id, pending_email=email, pending_at=time.time(),
                       next=nxt or "")
        return redirect(url_for("auth.code"))
    return _finish(user_id, email, nxt, enrol=must_enrol)


def _record_failure(s: Any, email: str) -> None:
    if accounts.exists(s, email):
        audit.record(s, "user.login_failed", f"user:{email}", who=f"user:{email}",
                     address=request.remote_addr)


def _finish(user_id: str, email: str, nxt: str | None, enrol: bool = False) -> BaseResponse:
    user = _user(user_id)
    if user is None:
        abort(401)
    session.clear()
    login_user(user)
    now = time.time()
    session.update(login_at=now, seen_at=now, enrol=enrol)
    session.permanent = True
    with db.transaction() as s:
        audit.record(s, "user.login", f"user:{email}", who=f"user:{email}")
    resp = redirect(url_for("account.security") if enrol else nxt or url_for("console.dashboard"))
    throttle.remember_device(resp, email)
    return resp


@bp.route("/login/code", methods=["GET", "POST"])
@throttle.code_limits
def code() -> Any:
    """Ask for the second factor: a code from the app, or a recovery code."""
    pending = str(session.get("pending", ""))
    if not pending or time.time() - session.get("pending_at", 0) > PENDING_SECONDS:
        session.clear()
        flash(_("Sign in again: the code was not given within five minutes."), "warn")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("login_code.html")
    given, key = request.form.get("code", ""), current_app.config["SECRET_KEY"]
    try:
        with db.transaction() as s:
            user = load(s, pending)
            ok = user is not None and (twofactor.use_recovery_code(s, user, given, key)
                                       or twofactor.check_code(user, given, key))
    except twofactor.SecondFactorError as exc:  # the secret key changed: only a code is lost
        return render_template("login_code.html", error=str(exc)), 401
    if not ok:
        return render_template("login_code.html",
                               error=_("That code is not right. Type the six digits your app "
                                       "shows now, or one of your recovery codes.")), 401
    return _finish(pending, str(session["pending_email"]), safe_next(session.get("next")))


@bp.post("/logout")
def logout() -> Any:
    """Sign out: this session and every copy of its cookie stop working."""
    user = g.get("user")
    if user is not None:
        with db.transaction() as s:
            accounts.sign_out_everywhere(s, s.merge(user), f"user:{user.email}")
    _end_session()
    return redirect(url_for("auth.login"))


@bp.get("/session")
def session_state() -> Any:
    """Say how long this session has left without activity (does not count as activity)."""
    if g.get("user") is None:
        return jsonify(signed_in=False, idle_left=0)
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    return jsonify(signed_in=True, idle_left=max(0, int(session["seen_at"] + idle - time.time())))


@bp.post("/session/extend")
def session_extend() -> Any:
    """Count as activity: the one click that keeps a session going."""
    if g.get("user") is None:
        return jsonify(signed_in=False, idle_left=0), 401
    return jsonify(signed_in=True,
                   idle_left=int(current_app.config["SESSION_IDLE_MINUTES"] * 60))
