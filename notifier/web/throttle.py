"""Sign-in throttling (the app's Flask-Limiter on Redis) that cannot be turned into a lock-out.

Failed attempts are counted per client address and per account, with limits that grow from a
minute to an hour, and answered 429 with Retry-After. A browser that has signed in to an
account before holds a signed device cookie for it (OWASP's "device cookies"): its attempts
are counted on that device alone, so someone guessing an operator's password from elsewhere
slows themselves down, never the operator at their own laptop. For the day sign-in itself
fails there is `notifier break-glass`.
"""
from __future__ import annotations

import secrets
from typing import Any

from flask import Response, current_app, request, session
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse

from .limiter import limiter

DEVICE_COOKIE = "notifier_device"
DEVICE_DAYS = 180
# Failed attempts allowed before 429: the delay grows with the count.
ADDRESS_LIMIT = "20 per minute;100 per hour"
ACCOUNT_LIMIT = "5 per minute;10 per 10 minutes;20 per hour"
DEVICE_LIMIT = "10 per minute;30 per hour"
CODE_LIMIT = "5 per minute;15 per hour"

def failed(resp: Response) -> bool:
    """Count an attempt only when it failed (a right password costs nothing)."""
    return resp.status_code == 401


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="notifier-device")


def _device() -> dict[str, Any] | None:
    raw = request.cookies.get(DEVICE_COOKIE, "")
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def _email() -> str:
    return request.form.get("email", "").strip().lower()


def trusted_device() -> bool:
    """Tell whether this browser signed in to the account it now names (or is finishing)."""
    device = _device()
    wanted = _email() or str(session.get("pending_email", ""))
    return device is not None and device.get("e") == wanted


def untrusted_device() -> bool:
    """The opposite of trusted_device, for Flask-Limiter's exempt_when."""
    return not trusted_device()


def account_key() -> str:
    """Count failures per account named in the form."""
    return f"account:{_email()}"


def device_key() -> str:
    """Count failures per trusted device."""
    device = _device() or {}
    return f"device:{device.get('n', '')}"


def pending_key() -> str:
    """Count wrong second-factor codes per account waiting for its code."""
    return f"code:{session.get('pending_email', '')}"


def remember_device(resp: BaseResponse, email: str) -> None:
    """Give the browser a signed device cookie for this account."""
    token = _serializer().dumps({"e": email, "n": secrets.token_urlsafe(12)})
    resp.set_cookie(DEVICE_COOKIE, token, max_age=DEVICE_DAYS * 86400, path="/login",
                    secure=bool(current_app.config["SESSION_COOKIE_SECURE"]), httponly=True,
                    samesite="Lax")


def login_limits(view: Any) -> Any:
    """Apply the address, account and device limits to a sign-in view (POST only)."""
    for limit in (
        limiter.limit(ADDRESS_LIMIT, methods=["POST"], deduct_when=failed,
                      exempt_when=trusted_device, scope="login-address"),
        limiter.limit(ACCOUNT_LIMIT, key_func=account_key, methods=["POST"], deduct_when=failed,
                      exempt_when=trusted_device, scope="login-account"),
        limiter.limit(DEVICE_LIMIT, key_func=device_key, methods=["POST"], deduct_when=failed,
                      exempt_when=untrusted_device, scope="login-device"),
    ):
        view = limit(view)
    return view


def code_limits(view: Any) -> Any:
    """Apply the limits of the second-factor step (POST only)."""
    return limiter.limit(CODE_LIMIT, key_func=pending_key, methods=["POST"], deduct_when=failed,
                         scope="login-code")(view)
