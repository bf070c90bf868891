"""Signing up on the public page: double opt-in by a code over SMS, a link by email, or the bot.

Nothing is sent to an address before its owner confirms it, except the one message that asks.
Whether an address was already subscribed changes nothing anyone can see: every sign-up gets
the same answer and the same message. Tokens and the code are stored only as HMACs.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, consent
from .addresses import AddressError, normalise_email, normalise_phone
from .channels import make_adapter
from .channels.base import Message, Result
from .clock import utcnow
from .errors import NotifierError
from .models import LANGUAGES, Signup
from .texts import Text, _l
from .texts import gettext as _

log = logging.getLogger(__name__)
TTL = timedelta(hours=24)
MAX_TRIES = 5
MAX_NAME = 200


class SignupError(NotifierError):
    """A sign-up form field is not usable; names the field and says what to do."""

    def __init__(self, field: str, text: Text) -> None:
        self.field, self.text = field, text
        super().__init__(f"{field}: {text}")


@dataclass(frozen=True)
class Request:
    """What a person filled in on the sign-up page."""

    name: str
    language: str
    phone: str
    email: str
    telegram: bool
    segments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Started:
    """A sign-up saved and waiting: what to send and what to show (never stored in clear)."""

    page_token: str
    telegram_token: str | None
    email_token: str | None
    code: str | None
    phone: str | None
    email: str | None
    language: str


class Confirmed(str, Enum):
    """What became of a confirmation attempt."""

    OK = "ok"
    WRONG = "wrong"
    SPENT = "spent"  # expired, too many tries, or unknown


def digest(token: str) -> str:
    """Return the HMAC under which a token is stored and looked up."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def _check(req: Request) -> tuple[str | None, str | None]:
    if not req.name.strip() or len(req.name) > MAX_NAME:
        raise SignupError("name", Text(_l("Write your name (at most 200 characters).")))
    if req.language not in LANGUAGES:
        raise SignupError("language", Text(_l("Choose Swedish or English.")))
    offered = set(current_app.config["SUBSCRIBE_SEGMENTS"])
    if any(k not in offered for k in req.segments):
        raise SignupError("segments", Text(_l("Choose among the groups shown.")))
    if not (req.phone.strip() or req.email.strip() or req.telegram):
        raise SignupError("phone", Text(_l("Give a mobile number, an email address or choose "
                                           "Telegram (or more than one).")))
    try:
        phone = normalise_phone(req.phone, current_app.config["SUBSCRIBE_COUNTRIES"]) \
            if req.phone.strip() else None
    except AddressError as exc:
        raise SignupError("phone", exc.text) from None
    try:
        email = normalise_email(req.email) if req.email.strip() else None
    except AddressError as exc:
        raise SignupError("email", exc.text) from None
    return phone, email


def start(s: Session, req: Request) -> Started:
    """Save a sign-up; raise SignupError for a field that is not usable."""
    phone, email = _check(req)
    page, tg, mail = (secrets.token_urlsafe(24) for _i in range(3))
    code = f"{secrets.randbelow(10**6):06d}" if phone else None
    now = utcnow()
    s.add(Signup(page_token=digest(page), telegram_token=digest(tg) if req.telegram else None,
                 email_token=digest(mail) if email else None, name=req.name.strip(),
                 language=req.language, segments=list(req.segments), phone=phone, email=email,
                 code_hash=digest(f"{page}:{code}") if code else None, created_at=now,
                 expires_at=now + TTL))
    audit.record(s, "signup.start", "", who="public", channels=[
        c for c, given in (("sms", phone), ("email", email), ("telegram", req.telegram)) if given])
    return Started(page, tg if req.telegram else None, mail if email else None, code, phone,
                   email, req.language)


def send(started: Started) -> None:
    """Send the SMS code and the email link, each in the person's language."""
    cfg = current_app.config
    org = cfg["ORGANISATION"]
    with force_locale(started.language):
        if started.phone and started.code:
            text = _("%(code)s is your code for notices from %(org)s. It is valid for 24 hours.",
                     code=started.code, org=org)
            _deliver("sms", "twilio", Message(0, started.phone, started.language, text))
        if started.email and started.email_token:
            link = f"{cfg['PUBLIC_URL']}/subscribe/email/{started.email_token}?lang={started.language}"
            _deliver("email", "sendgrid", _email(link, org, started))


def _email(link: str, org: str, started: Started) -> Message:
    subject = _("Confirm that you want notices from %(org)s", org=org)
    text = _("Someone (we hope you) asked to get notices from %(org)s at this address when "
             "customer service cannot be reached. Confirm here: %(link)s\n\nIf it was not "
             "you, do nothing: without a confirmation we send nothing more.", org=org, link=link)
    from markupsafe import escape

    html = (f"<p>{escape(text.split(link)[0])}<a href=\"{escape(link)}\">{escape(link)}</a>"
            f"{escape(text.split(link)[1])}</p>").replace("\n\n", "</p><p>")
    return Message(0, started.email or "", started.language, text, subject, html)


def _deliver(channel: str, provider: str, message: Message) -> None:
    cfg = current_app.config
    adapter = make_adapter(channel, cfg["PROVIDERS"][provider], cfg, callback_url=None, timeout=5)
    try:
        [outcome] = adapter.send([message])
    finally:
        adapter.close()
    if outcome.result is not Result.SENT:
        log.warning("sign-up confirmation by %s not sent: %s", channel, outcome.error_code)


def pending(s: Session, page_token: str) -> Signup | None:
    """Return a sign-up still waiting for confirmation, by its page token."""
    return _live(s, select(Signup).where(Signup.page_token == digest(page_token)))


def _live(s: Session, query: object) -> Signup | None:
    signup = s.scalar(query)  # type: ignore[call-overload]
    if signup is None or signup.expires_at <= utcnow():
        return None
    return signup  # type: ignore[no-any-return]


def confirm_code(s: Session, page_token: str, code: str) -> Confirmed:
    """Confirm the phone number with the code sent to it (MAX_TRIES tries)."""
    signup = pending(s, page_token)
    if signup is None or signup.phone is None or signup.code_hash is None \
            or signup.code_attempts >= MAX_TRIES:
        return Confirmed.SPENT
    if not hmac.compare_digest(signup.code_hash, digest(f"{page_token}:{code.strip()}")):
        signup.code_attempts += 1
        return Confirmed.WRONG if signup.code_attempts < MAX_TRIES else Confirmed.SPENT
    signup.code_hash, signup.phone_confirmed_at = None, utcnow()
    _join(s, signup, "sms", signup.phone)
    return Confirmed.OK


def confirm_email(s: Session, email_token: str) -> Confirmed:
    """Confirm the email address with the link sent to it."""
    signup = _live(s, select(Signup).where(Signup.email_token == digest(email_token)))
    if signup is None or signup.email is None:
        return Confirmed.SPENT
    if signup.email_confirmed_at is None:
        signup.email_confirmed_at = utcnow()
        _join(s, signup, "email", signup.email)
    return Confirmed.OK


def confirm_telegram(s: Session, telegram_token: str, chat_id: str) -> str | None:
    """Subscribe the chat that sent /start with a sign-up's token; return its language."""
    signup = _live(s, select(Signup).where(Signup.telegram_token == digest(telegram_token)))
    if signup is None:
        return None
    signup.telegram_token, signup.telegram_confirmed_at = None, utcnow()
    _join(s, signup, "telegram", chat_id)
    return signup.language


def _join(s: Session, signup: Signup, channel: str, address: str) -> None:
    yes = consent.Yes(channel, address, "subscribe_page", signup.language, signup.name)
    signup.subscriber_id = consent.subscribe(s, yes, signup.subscriber_id)
    consent.join_segments(s, signup.subscriber_id, signup.segments)
    audit.record(s, "signup.confirm", f"subscriber:{signup.subscriber_id}", who="public",
                 channel=channel)
