"""Public pages for customers: sign up (double opt-in), confirm, and one-click unsubscribe.

No login and no session: CSRF protection is a signed double-submit cookie (formtoken), and
throttling is per client and per address (an HMAC of it, never the address, keys the counter).
Every sign-up gets the same answer, so the page tells nobody who is subscribed.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, redirect, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import db, i18n, signup, unsubscribe
from ..addresses import AddressError, normalise_email, normalise_phone
from . import formtoken
from .limiter import limiter

bp = Blueprint("subscribe", __name__)
PER_CLIENT = "10 per hour"
PER_ADDRESS = "3 per hour"
CODE_TRIES = "30 per hour"


def init_app(app: Flask) -> None:
    """Serve the public pages; their forms carry their own CSRF token, not the console's."""
    from .auth import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the URLs hold tokens
    return formtoken.remember(response)


def _lang() -> str:
    return i18n.current_language()


def _page(name: str, status: int = 200, **context: Any) -> tuple[str, int]:
    lang = request.environ.get("notifier.lang") or _lang()
    with force_locale(lang):
        return render_template(f"public/{name}.html", lang=lang,
                               other="en" if lang == "sv" else "sv",
                               organisation=current_app.config["ORGANISATION"],
                               form_token=formtoken.form_value(), **context), status


def _address_key(kind: str) -> str:
    """Key a throttle by an HMAC of the typed address: counts per person, stores no address."""
    raw = request.form.get(kind, "").strip()
    try:
        value = normalise_phone(raw) if kind == "phone" else normalise_email(raw)
    except AddressError:
        value = raw.lower()
    key = str(current_app.config["SECRET_KEY"]).encode()
    return f"{kind}:" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def _no(kind: str) -> Any:
    return lambda: not request.form.get(kind, "").strip()


@bp.errorhandler(429)
def _too_many(_exc: Exception) -> tuple[str, int]:
    return _page("message", 429, title=_("Please wait a while"),
                 text=_("Too many attempts from here or for this address. Wait an hour and "
                        "try again."))


def _expired_form() -> tuple[str, int]:
    return _page("message", 400, title=_("The form has expired"),
                 text=_("Reload the page and send the form again."))


@bp.get("/subscribe")
def form() -> tuple[str, int]:
    """Show the sign-up form."""
    return _page("subscribe", values={}, chosen=[], error=None)


def _request() -> signup.Request:
    f = request.form
    return signup.Request(name=f.get("name", "")[:400], language=f.get("language", _lang()),
                          phone=f.get("phone", "")[:64], email=f.get("email", "")[:320],
                          telegram=f.get("telegram") == "yes",
                          segments=tuple(f.getlist("segments")[:50]))


@bp.post("/subscribe")
@limiter.limit(PER_CLIENT)
@limiter.limit(PER_ADDRESS, key_func=lambda: _address_key("phone"), exempt_when=_no("phone"))
@limiter.limit(PER_ADDRESS, key_func=lambda: _address_key("email"), exempt_when=_no("email"))
def start() -> Any:
    """Save a sign-up, send the code and the link, and show what to do next."""
    if not formtoken.valid():
        return _expired_form()
    req = _request()
    try:
        with db.transaction() as s:
            started = signup.start(s, req)
    except signup.SignupError as exc:
        return _page("subscribe", 400, values=request.form, error=exc,
                     chosen=request.form.getlist("segments"))
    signup.send(started)
    telegram = f"&t={started.telegram_token}" if started.telegram_token else ""
    return redirect(f"/subscribe/{started.page_token}?lang={req.language}{telegram}", code=303)


@bp.get("/subscribe/<token>")
def pending(token: str) -> tuple[str, int]:
    """Show the code form, the Telegram link and the email reminder of a sign-up."""
    from .. import bot

    found = signup.pending(db.session(), token)
    if found is None:
        return _page("message", 404, title=_("This sign-up has expired"),
                     text=_("Sign up again: a sign-up must be confirmed within 24 hours."))
    telegram = None
    given = request.args.get("t", "")
    if found.telegram_token and given and signup.digest(given) == found.telegram_token:
        telegram = bot.start_link(given)
    return _page("pending", signup=found, telegram=telegram, token=token, wrong=False)


@bp.post("/subscribe/<token>")
@limiter.limit(CODE_TRIES)
def code(token: str) -> Any:
    """Confirm a phone number with its code."""
    if not formtoken.valid():
        return _expired_form()
    with db.transaction() as s:
        result = signup.confirm_code(s, token, request.form.get("code", "")[:20])
    if result is signup.Confirmed.OK:
        return _page("message", title=_("Your number is confirmed"),
                     text=_("You will get our notices by SMS when customer service cannot be "
                            "reached. Reply STOP to any of them to leave."))
    if result is signup.Confirmed.WRONG:
        found = signup.pending(db.session(), token)
        return _page("pending", 400, signup=found, telegram=None, token=token, wrong=True)
    return _page("message", 400, title=_("This code can no longer be used"),
                 text=_("Too many wrong codes, or the sign-up has expired. Sign up again."))


@bp.get("/subscribe/email/<token>")
def email_page(token: str) -> tuple[str, int]:
    """Ask for a click to confirm an email address (a link scanner's visit confirms nothing)."""
    return _page("confirm_email", token=token)


@bp.post("/subscribe/email/<token>")
@limiter.limit(CODE_TRIES)
def email_confirm(token: str) -> Any:
    """Confirm an email address."""
    if not formtoken.valid():
        return _expired_form()
    with db.transaction() as s:
        result = signup.confirm_email(s, token)
    if result is not signup.Confirmed.OK:
        return _page("message", 404, title=_("This link has expired"),
                     text=_("Sign up again: a sign-up must be confirmed within 24 hours."))
    return _page("message", title=_("Your email address is confirmed"),
                 text=_("You will get our notices by email when customer service cannot be "
                        "reached. Every email has a link to leave."))


def _unsubscribe_language(subscription_id: int | None) -> None:
    if subscription_id is not None and "lang" not in request.args:
        lang = unsubscribe.language_of(db.session(), subscription_id)
        if lang:
            request.environ["notifier.lang"] = lang


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> tuple[str, int]:
    """Ask to confirm leaving (a GET changes nothing: mail scanners follow links)."""
    subscription_id = unsubscribe.subscription_of(token)
    if subscription_id is None:
        abort(404)
    _unsubscribe_language(subscription_id)
    return _page("unsubscribe", token=token, done=False)


@bp.post("/unsubscribe/<token>")
def unsubscribe_now(token: str) -> Any:
    """Leave: RFC 8058 one-click POST from the mail program, or the page's button."""
    subscription_id = unsubscribe.subscription_of(token)
    if subscription_id is None:
        abort(404)
    _unsubscribe_language(subscription_id)
    with db.transaction() as s:
        unsubscribe.leave(s, subscription_id)
    if request.form.get("List-Unsubscribe") == "One-Click":
        return Response("unsubscribed\n", mimetype="text/plain")
    return _page("unsubscribe", token=token, done=True)
