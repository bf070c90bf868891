"""Sample values for a template: the longest case, every optional field filled in.

The editor's preview shows a template with them, and approval measures the SMS with them:
the segments the approver saw become the template's SMS budget.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from . import clock, library

SAMPLES = {"text": "Sundsvall", "phone": "+46812345678", "time": "13:00",
           "url": "https://solvikenergi.se/driftinfo", "email": "kundservice@solvikenergi.se"}
# Used when the registry has no working contact channel to show.
SAMPLE_CONTACTS = {
    "sample-phone": library.ContactOption("sample-phone", "phone",
                                          {"sv": "Växeln", "en": "Switchboard"}, "+46812345678", "up"),
    "sample-chat": library.ContactOption("sample-chat", "chat", {"sv": "Chatt", "en": "Chat"},
                                         "https://solvikenergi.se/chatt", "up"),
}


def registry_or_samples(registry: Mapping[str, library.ContactOption]
                        ) -> Mapping[str, library.ContactOption]:
    """Return the registry, or sample contact channels when none of it works right now."""
    return registry if any(o.state == "up" for o in registry.values()) else SAMPLE_CONTACTS


def sample_values(spec: library.TemplateSpec,
                  registry: Mapping[str, library.ContactOption]) -> dict[str, str | list[str]]:
    """Return a realistic value for every variable, optional ones included (the longest case)."""
    values: dict[str, str | list[str]] = {}
    for var in spec.variables:
        if var.default is not None:
            values[var.name] = list(var.default) if isinstance(var.default, tuple) else var.default
        elif var.type == "choice":
            values[var.name] = var.options[0].value
        elif var.type == "contacts":
            values[var.name] = [k for k, o in registry.items() if o.state == "up"][:3]
        elif var.type == "datetime":
            tomorrow = clock.to_local(clock.utcnow()) + timedelta(days=1)
            values[var.name] = tomorrow.strftime("%Y-%m-%d 02:00")
        else:
            values[var.name] = SAMPLES[var.type][:var.max_length or None]
    return values


def worst_sms_segments(spec: library.TemplateSpec,
                       registry: Mapping[str, library.ContactOption],
                       organisation: str = library.DEFAULT_ORGANISATION) -> int:
    """Return the most SMS segments of the template in any language, with the sample values."""
    registry = registry_or_samples(registry)
    values = library.validate_values(spec, sample_values(spec, registry), registry)
    segments = [library.render(spec, values, lang, "sms", organisation=organisation).sms
                for lang in library.LANGUAGES]
    return max(info.segments for info in segments if info is not None)
