"""The second factor: TOTP (RFC 6238) secrets encrypted at rest, one-time recovery codes.

The TOTP secret is encrypted with a key derived from NOTIFIER_SECRET_KEY (HKDF-SHA256 into
Fernet), so a copy of the database alone does not give the codes. Recovery codes are random
and stored only as keyed hashes; each works once. A new secret key makes stored secrets
unreadable: the people affected enrol again after an admin resets their second factor.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from . import audit
from .errors import NotifierError
from .models import Role, RolePolicy, User, utcnow

ISSUER = "notifier"
RECOVERY_CODES = 10
# Roles that must use a second factor unless an admin decides otherwise (outside the sandbox).
DEFAULT_REQUIRED = frozenset({Role.ADMIN.value, Role.APPROVER.value})


class SecondFactorError(NotifierError):
    """A second factor could not be set up or checked."""


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"notifier-totp",
               info=b"totp secret at rest").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _pepper(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"notifier-recovery",
                info=b"recovery code hash").derive(secret_key.encode())


def required(s: Session, user: User, sandbox: bool) -> bool:
    """Tell whether the user's role must sign in with a second factor."""
    policy = s.get(RolePolicy, user.role)
    if policy is not None:
        return bool(policy.totp_required)
    return not sandbox and user.role in DEFAULT_REQUIRED


def must_enrol(s: Session, user: User, sandbox: bool) -> bool:
    """Tell whether the user has no second factor yet but their role needs one.

    A break-glass account (one with an end) never has to: it exists for the day when signing
    in with the second factor is what fails.
    """
    return not user.totp_enabled and user.expires_at is None and required(s, user, sandbox)


def policies(s: Session, sandbox: bool) -> dict[str, bool]:
    """Return role -> whether a second factor is required, defaults included."""
    return {role.value: required(s, User(role=role.value), sandbox) for role in Role}


def set_policy(s: Session, role: str, needed: bool, who: str) -> None:
    """Require (or stop requiring) a second factor for a role."""
    if role not in {r.value for r in Role}:
        raise SecondFactorError(f"Unknown role {role!r}.")
    policy = s.get(RolePolicy, role) or RolePolicy(role=role)
    policy.totp_required = needed
    s.add(policy)
    audit.record(s, "role.2fa_required" if needed else "role.2fa_optional", f"role:{role}",
                 who=who)


def begin(user: User, secret_key: str) -> str:
    """Give the user a new, not yet confirmed TOTP secret and return it (base32)."""
    secret = pyotp.random_base32()
    user.totp_secret = _fernet(secret_key).encrypt(secret.encode()).decode()
    user.totp_enabled = False
    return secret


def secret_of(user: User, secret_key: str) -> str:
    """Return the user's TOTP secret in clear, or say what to do when it cannot be read."""
    if not user.totp_secret:
        raise SecondFactorError("No second factor is set up for this account.")
    try:
        return _fernet(secret_key).decrypt(user.totp_secret.encode()).decode()
    except InvalidToken:
        raise SecondFactorError("The second factor cannot be read (NOTIFIER_SECRET_KEY has "
                                "changed): ask an admin to reset it, then enrol again.") from None


def provisioning_uri(user: User, secret: str) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """Return the QR code of a URI as inline SVG markup (no script, no style)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, border=2, title="QR"))


def check_code(user: User, code: str, secret_key: str) -> bool:
    """Check a six-digit code (one step of clock drift allowed); each code works once."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(secret_of(user, secret_key))
    now = totp.timecode(utcnow())
    for step in (now, now - 1, now + 1):
        # A code already used (or an older one) is refused: a code seen over a shoulder or
        # in a proxy log cannot be replayed.
        if step > user.totp_last_step and hmac.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            return True
    return False


def confirm(s: Session, user: User, code: str, secret_key: str) -> list[str]:
    """Turn the pending secret on once the user proves it with a code; return recovery codes."""
    if not check_code(user, code, secret_key):
        raise SecondFactorError("That code is not right: type the six digits your app shows "
                                "now (check that the phone's clock is right).")
    user.totp_enabled = True
    codes = new_recovery_codes(user, secret_key)
    user.session_version += 1  # other sessions signed in without the factor end
    audit.record(s, "user.2fa_enable", f"user:{user.email}", who=f"user:{user.email}")
    return codes


def new_recovery_codes(user: User, secret_key: str) -> list[str]:
    """Make a fresh set of one-time recovery codes; only their keyed hashes are stored."""
    codes = ["-".join(secrets.token_hex(5)[i:i + 5] for i in (0, 5))
             for _ in range(RECOVERY_CODES)]
    user.recovery_codes = [_digest(c, secret_key) for c in codes]
    return codes


def _digest(code: str, secret_key: str) -> str:
    clean = "".join(code.lower().split()).replace("-", "")
    return hmac.new(_pepper(secret_key), clean.encode(), hashlib.sha256).hexdigest()


def use_recovery_code(s: Session, user: User, code: str, secret_key: str) -> bool:
    """Accept one unused recovery code and strike it off."""
    digest = _digest(code, secret_key)
    left = list(user.recovery_codes or [])
    match = next((d for d in left if hmac.compare_digest(d, digest)), None)
    if match is None:
        return False
    left.remove(match)
    user.recovery_codes = left
    audit.record(s, "user.recovery_code", f"user:{user.email}", who=f"user:{user.email}",
                 left=len(left))
    return True


def reset(s: Session, user: User, who: str) -> None:
    """Remove a user's second factor (an admin's act, audited); their sessions end."""
    user.totp_secret, user.totp_enabled, user.recovery_codes = None, False, None
    user.totp_last_step = 0
    user.session_version += 1
    audit.record(s, "user.2fa_reset", f"user:{user.email}", who=who)
