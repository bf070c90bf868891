"""Every NOTIFIER_* setting in one place, read when the app is created (never at import)."""
from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NotifierError

SANDBOX_HOST = "127.0.0.1"
DEFAULT_SANDBOX_PORT = 8025

# Name -> (default, description). The README's configuration table is generated from this.
SETTINGS: dict[str, tuple[str, str]] = {
    "NOTIFIER_INSTANCE_DIR": ("./instance", "Folder for the SQLite database, the Valkey data, socket and log, the banner export"),
    "NOTIFIER_DATABASE_URL": ("sqlite:///<instance>/notifier.db", "SQLAlchemy URL; PostgreSQL in production (`postgresql+psycopg://...`)"),
    "NOTIFIER_REDIS_URL": ("embedded Valkey on `unix://<instance>/valkey.sock`", "Redis/Valkey for the queues; unset starts the embedded server"),
    "NOTIFIER_SECRET_KEY": ("random per demo instance", "Signs sessions and CSRF tokens; required outside the sandbox demo"),
    "NOTIFIER_PUBLIC_URL": ("http://127.0.0.1:<port>", "Public base URL of this deployment (links, the banner snippet)"),
    "NOTIFIER_ORGANISATION": ("Solvik Energi AB (the demo)", "The company's name, as messages and the email layout show it"),
    "NOTIFIER_HOST": ("127.0.0.1", "Address the web console listens on"),
    "NOTIFIER_PORT": ("8000", "Port of the web console"),
    "NOTIFIER_WORKERS": ("3", "RQ worker processes started by `notifier up` besides the banner worker (each puts another delivery channel first)"),
    "NOTIFIER_BANNER_EXPORT_DIR": ("<instance>/banner", "Folder where banner.json and banner.js are written on every change"),
    "NOTIFIER_BANNER_PURGE_URL": ("", "Optional URL POSTed after every banner export (e.g. a CDN purge hook)"),
    "NOTIFIER_BANNER_RESOLVED_MINUTES": ("120", "How long the banner shows the all-clear of the latest resolved incident (0: removed at once); it never comes back once a newer incident opens"),
    "NOTIFIER_SANDBOX_PORT": ("8025", "Port of the built-in provider simulators"),
    "NOTIFIER_DEMO_PASSWORD": ("random, printed once", "Password of the demo accounts seeded on the first sandbox run"),
    "NOTIFIER_TWILIO_API_URL": ("see provider table", "Root URL of the Twilio API (`scheme://host[:port]`)"),
    "NOTIFIER_TWILIO_ACCOUNT_SID": ("", "Twilio account SID"),
    "NOTIFIER_TWILIO_AUTH_TOKEN": ("", "Twilio auth token"),
    "NOTIFIER_TWILIO_FROM": ("", "Sender number or alphanumeric id"),
    "NOTIFIER_TWILIO_MESSAGING_SERVICE_SID": ("", "Messaging Service SID (instead of a sender)"),
    "NOTIFIER_SENDGRID_API_URL": ("see provider table", "Root URL of the SendGrid API"),
    "NOTIFIER_SENDGRID_API_KEY": ("", "SendGrid API key"),
    "NOTIFIER_SENDGRID_FROM": ("", "Sender address of notice emails"),
    "NOTIFIER_TELEGRAM_API_URL": ("see provider table", "Root URL of the Telegram Bot API"),
    "NOTIFIER_TELEGRAM_BOT_TOKEN": ("", "Telegram bot token"),
    "NOTIFIER_SENDGRID_WEBHOOK_PUBLIC_KEY": ("", "Verification key of SendGrid's signed event webhook (base64, as SendGrid shows it); unset refuses every event"),
    "NOTIFIER_TELEGRAM_WEBHOOK_SECRET": ("", "Secret token of the Telegram webhook (in its URL and header); unset refuses every update"),
    "NOTIFIER_SMS_RATE": ("10", "SMS segments per second allowed by the SMS provider account"),
    "NOTIFIER_EMAIL_RATE": ("1000", "Email recipients per second"),
    "NOTIFIER_TELEGRAM_RATE": ("25", "Telegram messages per second per bot"),
    "NOTIFIER_DELIVERY_DEADLINE": ("120", "Minutes after a notice starts during which transient provider failures are retried (per notice: `notifier send --deadline`, or the send form)"),
    "NOTIFIER_FALLBACK_AFTER": ("10", "Minutes of transient failures after which a delivery goes by the notice's fallback channel (if it has one)"),
    "NOTIFIER_PLANNING_RANGE": ("5000", "Subscriptions planned per step: confirm plans the first few thousand and sends them at once, jobs plan the rest step by step"),
    "NOTIFIER_LEASE_SECONDS": ("60", "How long a worker owns a claimed delivery before the reconciler hands it to another"),
    "NOTIFIER_RECONCILE_EVERY": ("5", "Seconds between reconciler passes"),
    "NOTIFIER_LOG_LEVEL": ("INFO", "Log level of every process"),
    "NOTIFIER_LOG_FORMAT": ("text", "`text` for people, `json` for one JSON object per line (with request and notice ids, no personal data)"),
    "NOTIFIER_ALERT_RULES": ("", "YAML file mapping monitoring alert labels to contact channels and a suggested template (see docs/api.md); unset: alerts are recorded, no draft is opened"),
    "NOTIFIER_METRICS_ALLOW": ("127.0.0.1/32,::1/128", "Addresses (CIDR, comma-separated) that may read /metrics without a token; others need an API token"),
    "NOTIFIER_READINESS_VERIFIED_DAYS": ("90", "A contact channel not checked for this many days is a gap in the readiness report"),
    "NOTIFIER_SESSION_IDLE_MINUTES": ("30", "A console session ends after this many minutes without activity (the console warns a minute before)"),
    "NOTIFIER_SESSION_MAX_HOURS": ("12", "A console session ends this many hours after signing in, active or not"),
    "NOTIFIER_AS": ("", "The account a `notifier` command acts as (instead of `--as EMAIL`)"),
    "NOTIFIER_PASSWORD": ("", "That account's password, for scripts (otherwise the command asks)"),
    "NOTIFIER_TOTP": ("", "That account's current second-factor code, for scripts (otherwise the command asks when the account has one)"),
    "NOTIFIER_TOKEN": ("", "A personal API token a `notifier` command signs in with instead of a password (automation)"),
    "NOTIFIER_SUBSCRIBE_COUNTRIES": ("SE", "Countries (ISO codes, comma-separated) whose mobile numbers may sign up on the public page (SMS-pumping fraud targets far-away numbers)"),
    "NOTIFIER_SUBSCRIBE_SEGMENTS": ("", "Segments a customer may choose on the public sign-up page (comma-separated keys); empty offers none"),
    "NOTIFIER_VOICE_NUMBER": ("", "The phone number whose Twilio voice webhook reads the current status (`/webhooks/twilio/voice`); shown as the contact channel `statuslinje`"),
    "NOTIFIER_RETENTION_DAYS": ("365", "Delivery details, inbox messages and expired sign-ups older than this many days are deleted (per-notice totals are kept)"),
}

SANDBOX_CREDENTIALS = {
    "twilio": {"account_sid": "AC" + "0" * 32, "auth_token": "sandbox-auth-token", "sender": "Notifier"},
    "sendgrid": {"api_key": "SG.sandbox.key", "sender": "kundservice@example.se"},
    "telegram": {"token": "123456:SANDBOX-bot-token"},
}


@dataclass(frozen=True)
class ProviderSettings:
    """How one provider is reached: its root URL (None = the real provider) and credentials."""

    name: str
    api_url: str | None
    sandbox: bool
    credentials: Mapping[str, str]

    def describe(self) -> str:
        """Say in a few words where messages go, for banners and logs (no secrets)."""
        if self.sandbox:
            return f"sandbox simulator at {self.api_url}"
        return f"{self.name} at {self.api_url or 'the real API'}"


def _env(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()


def _provider(name: str, environ: Mapping[str, str], sandbox_url: str,
              creds: dict[str, str]) -> ProviderSettings:
    prefix = f"NOTIFIER_{name.upper()}_"
    url = _env(environ, prefix + "API_URL").rstrip("/") or None
    required = {"twilio": ("account_sid", "auth_token"), "sendgrid": ("api_key",),
                "telegram": ("token",)}[name]
    has_creds = all(creds.get(k) for k in required)
    if url and (not re.match(r"^https?://[^/]+$", url)):
        raise NotifierError(
            f"{prefix}API_URL must be a root URL like https://host:port without a path, got {url!r}")
    if has_creds:
        return ProviderSettings(name, url, False, creds)
    filled = {**SANDBOX_CREDENTIALS[name], **{k: v for k, v in creds.items() if v}}
    return ProviderSettings(name, url or sandbox_url, True, filled)


def provider_settings(environ: Mapping[str, str]) -> dict[str, ProviderSettings]:
    """Pick, per provider, the real API or the sandbox, by the precedence in the README."""
    port = _whole(environ, "NOTIFIER_SANDBOX_PORT", DEFAULT_SANDBOX_PORT)
    sandbox_url = f"http://{SANDBOX_HOST}:{port}"
    def e(name: str) -> str:
        return _env(environ, name)

    return {
        "twilio": _provider("twilio", environ, sandbox_url, {
            "account_sid": e("NOTIFIER_TWILIO_ACCOUNT_SID"), "auth_token": e("NOTIFIER_TWILIO_AUTH_TOKEN"),
            "sender": e("NOTIFIER_TWILIO_FROM"),
            "messaging_service_sid": e("NOTIFIER_TWILIO_MESSAGING_SERVICE_SID")}),
        "sendgrid": _provider("sendgrid", environ, sandbox_url, {
            "api_key": e("NOTIFIER_SENDGRID_API_KEY"), "sender": e("NOTIFIER_SENDGRID_FROM")}),
        "telegram": _provider("telegram", environ, sandbox_url, {
            "token": e("NOTIFIER_TELEGRAM_BOT_TOKEN")}),
    }


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = _env(environ, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise NotifierError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise NotifierError(f"{name} must be a finite number, got {raw!r}")
    return value


def _positive(environ: Mapping[str, str], name: str, default: float) -> float:
    value = _number(environ, name, default)
    if value <= 0:
        raise NotifierError(f"{name} must be greater than 0, got {_env(environ, name)!r}")
    return value


def _not_negative(environ: Mapping[str, str], name: str, default: float) -> float:
    value = _number(environ, name, default)
    if value < 0:
        raise NotifierError(f"{name} must be 0 or more, got {_env(environ, name)!r}")
    return value


def _whole(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = _env(environ, name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise NotifierError(f"{name} must be a whole number greater than 0, got {raw!r}")
    return int(raw)


def _choice(environ: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    raw = _env(environ, name).lower() or allowed[0]
    if raw not in allowed:
        raise NotifierError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def _networks(environ: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    import ipaddress

    raw = _env(environ, name) if name in environ else default
    found = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise NotifierError(f"{name}: {part!r} is not an address or network like "
                                "10.0.0.0/8; separate several with commas") from None
    return tuple(found)


def _check_credentials(environ: Mapping[str, str]) -> None:
    """Refuse a provider configured halfway: it would silently use the sandbox in a crisis."""
    groups = {"Twilio": ("NOTIFIER_TWILIO_ACCOUNT_SID", "NOTIFIER_TWILIO_AUTH_TOKEN")}
    for provider, names in groups.items():
        present = [n for n in names if _env(environ, n)]
        if present and len(present) != len(names):
            missing = [n for n in names if n not in present]
            raise NotifierError(f"{provider} is configured halfway: {', '.join(present)} is set "
                                f"but {', '.join(missing)} is not. Set both, or neither for the "
                                "sandbox.")


@dataclass(frozen=True)
class CliCredentials:
    """Who a `notifier` command acts as, from the environment (never kept in the app config)."""

    as_email: str
    password: str = field(repr=False, default="")
    totp: str = field(repr=False, default="")
    token: str = field(repr=False, default="")


def cli_credentials(environ: Mapping[str, str] | None = None) -> CliCredentials:
    """Read NOTIFIER_AS, NOTIFIER_PASSWORD, NOTIFIER_TOTP and NOTIFIER_TOKEN when a command starts."""
    environ = os.environ if environ is None else environ
    return CliCredentials(_env(environ, "NOTIFIER_AS"), environ.get("NOTIFIER_PASSWORD", ""),
                          _env(environ, "NOTIFIER_TOTP"), _env(environ, "NOTIFIER_TOKEN"))


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the environment into Flask config keys."""
    environ = os.environ if environ is None else environ
    instance = Path(_env(environ, "NOTIFIER_INSTANCE_DIR") or "instance").resolve()
    port = _whole(environ, "NOTIFIER_PORT", 8000)
    _check_credentials(environ)
    providers = provider_settings(environ)
    return {
        "INSTANCE_DIR": str(instance),
        "DATABASE_URL": _env(environ, "NOTIFIER_DATABASE_URL") or f"sqlite:///{instance / 'notifier.db'}",
        "REDIS_URL": _env(environ, "NOTIFIER_REDIS_URL") or f"unix://{instance / 'valkey.sock'}",
        "REDIS_EMBEDDED": not _env(environ, "NOTIFIER_REDIS_URL"),
        "SECRET_KEY": _env(environ, "NOTIFIER_SECRET_KEY") or None,
        "HOST": _env(environ, "NOTIFIER_HOST") or "127.0.0.1",
        "PORT": port,
        "PUBLIC_URL": (_env(environ, "NOTIFIER_PUBLIC_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
        # Providers can only call back a URL someone chose; the localhost default is not one.
        "PUBLIC_URL_EXPLICIT": bool(_env(environ, "NOTIFIER_PUBLIC_URL")),
        "WORKERS": _whole(environ, "NOTIFIER_WORKERS", 3),
        "BANNER_EXPORT_DIR": _env(environ, "NOTIFIER_BANNER_EXPORT_DIR") or str(instance / "banner"),
        "BANNER_PURGE_URL": _env(environ, "NOTIFIER_BANNER_PURGE_URL") or None,
        "BANNER_RESOLVED_MINUTES": _not_negative(environ, "NOTIFIER_BANNER_RESOLVED_MINUTES", 120.0),
        "ORGANISATION": _env(environ, "NOTIFIER_ORGANISATION") or "Solvik Energi AB",
        "SANDBOX_PORT": _whole(environ, "NOTIFIER_SANDBOX_PORT", DEFAULT_SANDBOX_PORT),
        "DEMO_PASSWORD": _env(environ, "NOTIFIER_DEMO_PASSWORD") or None,
        "PROVIDERS": providers,
        "SANDBOX": all(p.sandbox for p in providers.values()),
        "RATES": {
            "sms": _positive(environ, "NOTIFIER_SMS_RATE", 10.0),
            "email": _positive(environ, "NOTIFIER_EMAIL_RATE", 1000.0),
            "telegram": _positive(environ, "NOTIFIER_TELEGRAM_RATE", 25.0),
        },
        "DELIVERY_DEADLINE": _whole(environ, "NOTIFIER_DELIVERY_DEADLINE", 120),
        "FALLBACK_AFTER": _positive(environ, "NOTIFIER_FALLBACK_AFTER", 10.0),
        "PLANNING_RANGE": _whole(environ, "NOTIFIER_PLANNING_RANGE", 5000),
        "LEASE_SECONDS": _positive(environ, "NOTIFIER_LEASE_SECONDS", 60.0),
        "RECONCILE_EVERY": _positive(environ, "NOTIFIER_RECONCILE_EVERY", 5.0),
        "LOG_LEVEL": _env(environ, "NOTIFIER_LOG_LEVEL") or "INFO",
        "LOG_FORMAT": _choice(environ, "NOTIFIER_LOG_FORMAT", ("text", "json")),
        "ALERT_RULES": _env(environ, "NOTIFIER_ALERT_RULES") or None,
        "METRICS_ALLOW": _networks(environ, "NOTIFIER_METRICS_ALLOW", "127.0.0.1/32,::1/128"),
        "READINESS_VERIFIED_DAYS": _whole(environ, "NOTIFIER_READINESS_VERIFIED_DAYS", 90),
        "SESSION_IDLE_MINUTES": _positive(environ, "NOTIFIER_SESSION_IDLE_MINUTES", 30.0),
        "SESSION_MAX_HOURS": _positive(environ, "NOTIFIER_SESSION_MAX_HOURS", 12.0),
        "SENDGRID_WEBHOOK_PUBLIC_KEY": _env(environ, "NOTIFIER_SENDGRID_WEBHOOK_PUBLIC_KEY") or None,
        "TELEGRAM_WEBHOOK_SECRET": _env(environ, "NOTIFIER_TELEGRAM_WEBHOOK_SECRET") or None,
        **_customer_settings(environ),
    }


def _keys(environ: Mapping[str, str], name: str, default: str = "") -> list[str]:
    return [k.strip() for k in (_env(environ, name) or default).split(",") if k.strip()]


def _customer_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read the settings of the public sign-up, the status line and retention."""
    countries = [c.upper() for c in _keys(environ, "NOTIFIER_SUBSCRIBE_COUNTRIES", "SE")]
    bad = [c for c in countries if not re.fullmatch(r"[A-Z]{2}", c)]
    if bad:
        raise NotifierError(f"NOTIFIER_SUBSCRIBE_COUNTRIES takes two-letter country codes like "
                            f"SE,NO,FI; {', '.join(bad)} is not one.")
    voice = _env(environ, "NOTIFIER_VOICE_NUMBER")
    if voice and not re.fullmatch(r"\+?[\d\s-]{6,20}", voice):
        raise NotifierError(f"NOTIFIER_VOICE_NUMBER must be a phone number like +46812345678, "
                            f"got {voice!r}.")
    return {
        "SUBSCRIBE_COUNTRIES": countries,
        "SUBSCRIBE_SEGMENTS": _keys(environ, "NOTIFIER_SUBSCRIBE_SEGMENTS"),
        "VOICE_NUMBER": voice or None,
        "RETENTION_DAYS": _whole(environ, "NOTIFIER_RETENTION_DAYS", 365),
    }
