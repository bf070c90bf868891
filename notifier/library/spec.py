"""Library data: the template, variable and message types, their constants and errors."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from ..clock import ZONE
from ..errors import NotifierError
from .smsencoding import SmsInfo

KINDS = ("initial", "update", "all_clear", "maintenance")
SEVERITIES = ("critical", "warning", "info")
VARIABLE_TYPES = ("text", "phone", "time", "datetime", "url", "email", "choice", "contacts")
CONTACT_KINDS = ("phone", "chat", "email", "webform", "office", "social")
CONTACT_STATES = ("up", "down", "unknown")
TIMEZONE = ZONE  # Swedish time, from the one clock module
DEFAULT_ORGANISATION = "Solvik Energi AB"
# Names every template may use without declaring them: {{ organisation }} is the company.
BUILT_INS = ("organisation",)

MAX_SOURCE_BYTES = 4096  # per language x channel variant
DEFAULT_TEXT_LENGTH = 200
MAX_TEXT_LENGTH = 1000
# Output caps per (channel, part), in characters: SMS stays affordable, Telegram's own
# limit is 4,096, and the banner must fit a strip on a phone screen.
OUTPUT_CAPS = {
    ("sms", "text"): 1000, ("telegram", "text"): 4096,
    ("banner", "headline"): 120, ("banner", "body"): 600,
    ("email", "subject"): 200, ("email", "text"): 20000,
}
HEADLINE_WARN_LENGTH = 80  # longer headlines wrap onto a second line on most phones
SMS_WARN_SEGMENTS = 2
DRILL_PREFIX = {"sv": "ÖVNING: ", "en": "DRILL: "}
TELEGRAM_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre"})
LINK_SCHEMES = ("https:", "tel:", "mailto:")

_PARTS = {"sms": ("text",), "email": ("subject", "text"), "telegram": ("text",),
          "banner": ("headline", "body")}
_TAG_RE = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_BARE_AMP_RE = re.compile(r"&(?!(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);)")


class TemplateError(NotifierError):
    """A template file or spec is malformed; the message names where and what to fix."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems,))


class VariablesError(NotifierError):
    """One or more variable values are invalid; `errors` maps variable name to message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("Check these fields: " + " ".join(self.errors.values()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errors,))


class RenderError(NotifierError):
    """A template could not be rendered within the sandbox and the length caps."""


class _ValueProblem(NotifierError):
    """One value is invalid; collected into a VariablesError."""


@dataclass(frozen=True)
class Option:
    """One fixed answer of a `choice` variable."""

    value: str
    label: dict[str, str]


@dataclass(frozen=True)
class Variable:
    """A typed blank in a template that the operator fills in."""

    name: str
    type: str
    label: dict[str, str]
    required: bool = True
    help: dict[str, str] = field(default_factory=dict)
    max_length: int | None = None
    options: tuple[Option, ...] = ()
    default: str | tuple[str, ...] | None = None


@dataclass(frozen=True)
class Variant:
    """The wording of one template in one language, a source per delivery channel."""

    sms: str
    email_subject: str
    email_text: str
    telegram: str
    banner_headline: str
    banner_body: str

    def parts(self, channel: str) -> dict[str, str]:
        """Return part name -> template source for one delivery channel."""
        return {part: str(getattr(self, _attr(channel, part))) for part in _PARTS[channel]}


@dataclass(frozen=True)
class TemplateSpec:
    """One pre-written message for one scenario, in every language and delivery channel."""

    key: str
    title: dict[str, str]
    description: dict[str, str]
    kind: str
    severity: str
    variables: tuple[Variable, ...]
    content: dict[str, Variant]

    def variable(self, name: str) -> Variable:
        """Return the variable called name."""
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)


@dataclass(frozen=True)
class ContactOption:
    """One of the company's contact channels, as the registry supplies it."""

    key: str
    kind: str  # phone | chat | email | webform | office | social
    label: dict[str, str]
    value: str  # E.164 number, https URL, email address or street address
    state: str = "unknown"  # up | down | unknown


@dataclass(frozen=True)
class Values:
    """Validated variable values in canonical form (E.164, aware datetimes, contact options)."""

    items: dict[str, Any]

    def to_raw(self) -> dict[str, str | list[str]]:
        """Return canonical strings that `validate_values` accepts again."""
        raw: dict[str, str | list[str]] = {}
        for name, value in self.items.items():
            if value is None:
                continue
            if isinstance(value, tuple):
                raw[name] = [option.key for option in value]
            elif isinstance(value, datetime):
                raw[name] = value.isoformat(timespec="minutes")
            elif isinstance(value, time):
                raw[name] = value.strftime("%H:%M")
            else:
                raw[name] = str(value)
        return raw


@dataclass
class RenderedMessage:
    """One language x delivery channel, rendered exactly as it will be sent."""

    language: str
    channel: str
    text: str
    subject: str | None = None
    html: str | None = None
    headline: str | None = None
    body: str | None = None
    sms: SmsInfo | None = None
    warnings: list[str] = field(default_factory=list)
    drill: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict for the notice snapshot."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "sms"}
        data["warnings"] = list(self.warnings)
        data["sms"] = self.sms.to_dict() if self.sms else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RenderedMessage:
        """Rebuild from `to_dict()` output."""
        sms = data.get("sms")
        return cls(
            language=str(data["language"]), channel=str(data["channel"]), text=str(data["text"]),
            subject=data.get("subject"), html=data.get("html"), headline=data.get("headline"),
            body=data.get("body"), sms=SmsInfo.from_dict(sms) if sms else None,
            warnings=[str(w) for w in data.get("warnings") or []], drill=bool(data.get("drill")),
        )


def _attr(channel: str, part: str) -> str:
    """Name the Variant attribute holding one part of one channel."""
    return channel if channel in ("sms", "telegram") else f"{channel}_{part}"
