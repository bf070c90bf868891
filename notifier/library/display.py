"""Display: phones, times, choices and contact channels as templates see them in sv and en."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import phonenumbers

from .spec import TIMEZONE, ContactOption, TemplateSpec, Values, Variable

SV_DAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SV_MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
             "september", "oktober", "november", "december")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")


class PhoneText(str):
    """A phone number shown in one language; `.href` is its tel: link, `.e164` the number."""

    e164: str
    href: str

    @classmethod
    def of(cls, e164: str, language: str) -> PhoneText:
        shown = cls(format_phone(e164, language))
        shown.e164, shown.href = e164, f"tel:{e164}"
        return shown


class TimeText(str):
    """A time shown in one language; `.date`, `.time`, `.clock` and `.iso` give the parts."""

    date: str
    time: str
    clock: str
    iso: str


class ChoiceText(str):
    """A choice shown as its label in one language; `.key` is the option's value."""

    key: str


@dataclass(frozen=True)
class ContactView:
    """A contact channel as a template sees it, in the message's language."""

    key: str
    kind: str
    label: str
    value: str
    href: str

    def __str__(self) -> str:
        return f"{self.label}: {self.value}"


def format_phone(e164: str, language: str) -> str:
    """Format an E.164 number: Swedish national form in sv, international in en."""
    number = phonenumbers.parse(e164, None)
    nsn = phonenumbers.national_significant_number(number)
    if number.country_code == 46 and nsn.startswith("77") and len(nsn) == 9:
        # phonenumbers groups 0771 numbers as 077-1xx; Swedes write 0771-xx xx xx.
        groups = f"{nsn[3:5]} {nsn[5:7]} {nsn[7:]}"
        return f"0{nsn[:3]}-{groups}" if language == "sv" else f"+46 {nsn[:3]} {groups}"
    national = language == "sv" and number.country_code == 46
    style = phonenumbers.PhoneNumberFormat.NATIONAL if national else \
        phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def _clock(moment: time, language: str) -> str:
    if language == "sv":
        return f"{moment.hour:02d}.{moment.minute:02d}"
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {suffix}"


def format_time(moment: time, language: str) -> TimeText:
    """Show a time of day: `kl. 13.00` in sv, `1:00 pm` in en."""
    clock = _clock(moment, language)
    shown = TimeText(f"kl. {clock}" if language == "sv" else clock)
    shown.date, shown.time, shown.clock = "", str(shown), clock
    shown.iso = moment.strftime("%H:%M")
    return shown


def format_datetime(moment: datetime, language: str) -> TimeText:
    """Show a date and time: `söndag 6 december kl. 02.00` / `Sunday 6 December at 2:00 am`."""
    local = moment.astimezone(TIMEZONE)
    clock = _clock(local.time(), language)
    if language == "sv":
        day = f"{SV_DAYS[local.weekday()]} {local.day} {SV_MONTHS[local.month - 1]}"
        shown, at = TimeText(f"{day} kl. {clock}"), f"kl. {clock}"
    else:
        day = f"{EN_DAYS[local.weekday()]} {local.day} {EN_MONTHS[local.month - 1]}"
        shown, at = TimeText(f"{day} at {clock}"), clock
    shown.date, shown.time, shown.clock = day, at, clock
    shown.iso = local.isoformat(timespec="minutes")
    return shown


def _contact_view(option: ContactOption, language: str) -> ContactView:
    value, href = option.value, ""
    if option.kind == "phone":
        value, href = format_phone(option.value, language), f"tel:{option.value}"
    elif option.kind == "email":
        href = f"mailto:{option.value}"
    elif option.kind in ("chat", "webform", "social"):
        href = option.value
    return ContactView(option.key, option.kind, option.label[language], value, href)


def _display(variable: Variable, value: Any, language: str) -> Any:
    """Turn a canonical value into what templates see in one language."""
    if value is None:
        return None
    if variable.type == "phone":
        return PhoneText.of(value, language)
    if variable.type == "time":
        return format_time(value, language)
    if variable.type == "datetime":
        return format_datetime(value, language)
    if variable.type == "contacts":
        return [_contact_view(option, language) for option in value]
    if variable.type == "choice":
        option = next(o for o in variable.options if o.value == value)
        shown = ChoiceText(option.label[language])
        shown.key = option.value
        return shown
    return str(value)


def _context(spec: TemplateSpec, values: Values, language: str) -> dict[str, Any]:
    return {v.name: _display(v, values.items[v.name], language)
            for v in spec.variables if v.name in values.items}
