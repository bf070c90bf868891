"""CSRF protection for public forms, which have no login session: a signed double-submit cookie.

The page sets a random value in a cookie and puts the same value, signed with the app's secret
and time-stamped, in the form. A POST is accepted only when the form's value is ours, fresh, and
matches the cookie, which another site can neither read nor set (OWASP: signed double-submit).
"""
from __future__ import annotations

import hmac
import secrets

from flask import Response, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

SALT = "notifier.public-form"
MAX_AGE = 2 * 3600
FIELD = "form_token"


def _cookie_name() -> str:
    # The __Host- prefix makes browsers refuse a cookie set by a subdomain or over plain HTTP.
    return "__Host-notifier-form" if _secure() else "notifier-form"


def _secure() -> bool:
    return str(current_app.config["PUBLIC_URL"]).startswith("https://")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def form_value() -> str:
    """Return the value to put in a form's hidden field (the cookie is set by `remember`)."""
    nonce = request.cookies.get(_cookie_name()) or secrets.token_urlsafe(24)
    request.environ["notifier.form_nonce"] = nonce
    return str(_serializer().dumps(nonce))


def remember(response: Response) -> Response:
    """Set the cookie whose value the page's forms carry."""
    nonce = request.environ.get("notifier.form_nonce")
    if nonce and request.cookies.get(_cookie_name()) != nonce:
        response.set_cookie(_cookie_name(), nonce, max_age=MAX_AGE, path="/", secure=_secure(),
                            httponly=True, samesite="Strict")
    return response


def valid() -> bool:
    """Tell whether this POST carries a form value we signed that matches its cookie."""
    cookie = request.cookies.get(_cookie_name(), "")
    try:
        nonce = _serializer().loads(request.form.get(FIELD, ""), max_age=MAX_AGE)
    except BadData:
        return False
    return bool(cookie) and isinstance(nonce, str) and hmac.compare_digest(nonce, cookie)
