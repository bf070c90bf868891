"""Variable values: check raw input against each typed variable and give its canonical form."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, time
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from .. import clock
from ..addresses import AddressError, normalise_email
from .spec import (
    CONTACT_KINDS,
    DEFAULT_TEXT_LENGTH,
    ContactOption,
    TemplateSpec,
    Values,
    Variable,
    VariablesError,
    _ValueProblem,
)


def validate_values(spec: TemplateSpec, raw: Mapping[str, str | list[str]],
                    contacts: Mapping[str, ContactOption]) -> Values:
    """Check every value against its variable, collecting all problems before raising."""
    errors: dict[str, str] = {}
    items: dict[str, Any] = {}
    for name in sorted(set(raw) - {v.name for v in spec.variables}):
        errors[name] = f"{name!r} is not a field of the template {spec.key!r}; remove it."
    for variable in spec.variables:
        given: Any = raw.get(variable.name)
        if _blank(given):
            given = variable.default
        label = variable.label["en"]
        if _blank(given):
            items[variable.name] = None
            if variable.required:
                errors[variable.name] = f'"{label}" is required; fill it in.'
            continue
        try:
            items[variable.name] = _parse_value(variable, given, contacts)
        except _ValueProblem as exc:
            errors[variable.name] = f'"{label}": {exc}'
    if errors:
        raise VariablesError(errors)
    return Values(items)


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return not [v for v in value if str(v).strip()]


def _single(value: Any) -> str:
    if not isinstance(value, str):
        raise _ValueProblem("give one value, not a list.")
    return value.strip()


def _parse_value(variable: Variable, value: Any, contacts: Mapping[str, ContactOption]) -> Any:
    """Turn one raw value into its canonical form or raise what to do about it."""
    if variable.type == "contacts":
        return _parse_contacts(value, contacts)
    text = _single(value)
    if variable.type == "choice":
        return _parse_choice(variable, text)
    if variable.type == "text":
        return _parse_text(text, variable.max_length or DEFAULT_TEXT_LENGTH)
    return _PARSERS[variable.type](text)


def _parse_text(text: str, limit: int) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if any(ord(c) < 32 and c != "\n" for c in text):
        raise _ValueProblem("remove the control characters (tabs or invisible characters).")
    if len(text) > limit:
        raise _ValueProblem(f"is {len(text)} characters; shorten it to at most {limit}.")
    return text


def _parse_choice(variable: Variable, text: str) -> str:
    values = [o.value for o in variable.options]
    if text not in values:
        raise _ValueProblem(f"{text!r} is not one of the choices; pick one of {', '.join(values)}.")
    return text


def _parse_phone(text: str) -> str:
    """Return the E.164 form of a Swedish or international number."""
    try:
        number = phonenumbers.parse(text, "SE")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise _ValueProblem(f"{text!r} is not a valid phone number; write it like 08-123 45 67 "
                            f"or +46 8 123 45 67.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_url(text: str) -> str:
    """Accept a complete https:// address only."""
    parts = urlsplit(text)
    if parts.scheme.lower() != "https":
        raise _ValueProblem(f"{text!r} must start with https:// (other links are refused); "
                            f"for example https://solvikenergi.se/driftinfo.")
    if not parts.hostname or "." not in parts.hostname or any(c.isspace() for c in text) \
            or "@" in parts.netloc or len(text) > 500:
        raise _ValueProblem(f"{text!r} is not a complete web address; copy it from the browser.")
    return text


def _parse_email(text: str) -> str:
    try:
        return normalise_email(text)
    except AddressError as exc:
        raise _ValueProblem(f"{exc}.") from None


def _parse_time(text: str) -> time:
    """Accept HH:MM, HH.MM or an ISO datetime (converted to Swedish time)."""
    match = re.fullmatch(r"(?:kl\.?\s*)?(\d{1,2})[:.](\d{2})", text, re.IGNORECASE)
    if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
        return time(int(match.group(1)), int(match.group(2)))
    if "-" in text:
        return _parse_datetime(text).time()
    raise _ValueProblem(f"{text!r} is not a time; write it as HH:MM, for example 13:00.")


def _parse_datetime(text: str) -> datetime:
    """Accept YYYY-MM-DD HH:MM or ISO 8601, naive times meaning Europe/Stockholm."""
    cleaned = re.sub(r"(\d{1,2})\.(\d{2})$", r"\1:\2", text.strip())
    try:
        if not re.search(r"\d[T ]\d{1,2}:\d{2}", cleaned):
            raise ValueError(cleaned)
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise _ValueProblem(f"{text!r} is not a date and time; write it as YYYY-MM-DD HH:MM, "
                            f"for example 2026-12-06 02:00.") from None
    try:
        return clock.swedish(parsed.replace(second=0, microsecond=0))
    except clock.TimeInputError:
        raise _ValueProblem(f"{text!r} does not exist in Swedish time (the clocks go forward); "
                            f"pick another time.") from None


def _parse_contacts(value: Any, contacts: Mapping[str, ContactOption]) -> tuple[ContactOption, ...]:
    """Resolve registry keys to working contact channels, refusing down or unknown ones."""
    keys = [k.strip() for k in (value.split(",") if isinstance(value, str) else value) if k.strip()]
    chosen: list[ContactOption] = []
    problems: list[str] = []
    for key in dict.fromkeys(keys):
        option = contacts.get(key)
        if option is None:
            problems.append(
                f"{key!r} is not in the contact registry; pick a registered contact channel")
        elif option.state != "up":
            what = "marked down" if option.state == "down" else "of unknown state"
            problems.append(f"{option.label['en']} ({key}) is {what}; choose one that works or "
                            f"mark it up in the registry first")
        else:
            chosen.append(_checked_contact(option))
    if problems:
        raise _ValueProblem("; ".join(problems) + ".")
    return tuple(chosen)


def _checked_contact(option: ContactOption) -> ContactOption:
    """Check that a registry entry's value fits its kind."""
    if option.kind not in CONTACT_KINDS:
        raise _ValueProblem(
            f"{option.key} has unknown kind {option.kind!r}; fix it in the registry")
    if option.kind == "phone":
        return _replace_value(option, _parse_phone(option.value))
    if option.kind == "email":
        return _replace_value(option, _parse_email(option.value))
    if option.kind in ("chat", "webform", "social"):
        return _replace_value(option, _parse_url(option.value))
    return option


def _replace_value(option: ContactOption, value: str) -> ContactOption:
    return ContactOption(option.key, option.kind, dict(option.label), value, option.state)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "phone": _parse_phone, "url": _parse_url, "email": _parse_email,
    "time": _parse_time, "datetime": _parse_datetime,
}
