"""Message library: load YAML templates, validate typed variables, render in a sandbox.

The modules import only the ones before them in this order, so there is no cycle:
smsencoding -> spec -> values -> sandbox -> parsing -> display -> layout -> render -> files.
"""
from __future__ import annotations

from ..i18n import LANGUAGES
from .display import (
    EN_DAYS,
    EN_MONTHS,
    SV_DAYS,
    SV_MONTHS,
    ChoiceText,
    ContactView,
    PhoneText,
    TimeText,
    format_datetime,
    format_phone,
    format_time,
)
from .files import content_hash, load_dir, load_file, spec_to_data
from .layout import EMAIL_FOOTER
from .parsing import parse_spec
from .render import render, render_all, render_sms_as_written
from .spec import (
    CONTACT_KINDS,
    CONTACT_STATES,
    DEFAULT_ORGANISATION,
    DEFAULT_TEXT_LENGTH,
    DRILL_PREFIX,
    HEADLINE_WARN_LENGTH,
    KINDS,
    LINK_SCHEMES,
    MAX_SOURCE_BYTES,
    MAX_TEXT_LENGTH,
    OUTPUT_CAPS,
    SEVERITIES,
    SMS_WARN_SEGMENTS,
    TELEGRAM_TAGS,
    TIMEZONE,
    VARIABLE_TYPES,
    ContactOption,
    Option,
    RenderedMessage,
    RenderError,
    TemplateError,
    TemplateSpec,
    Values,
    Variable,
    VariablesError,
    Variant,
)
from .values import validate_values

__all__ = [
    "CONTACT_KINDS", "CONTACT_STATES", "DEFAULT_ORGANISATION", "DEFAULT_TEXT_LENGTH",
    "DRILL_PREFIX", "EMAIL_FOOTER", "EN_DAYS", "EN_MONTHS", "HEADLINE_WARN_LENGTH", "KINDS",
    "LANGUAGES", "LINK_SCHEMES", "MAX_SOURCE_BYTES", "MAX_TEXT_LENGTH", "OUTPUT_CAPS",
    "SEVERITIES", "SMS_WARN_SEGMENTS", "SV_DAYS", "SV_MONTHS", "TELEGRAM_TAGS", "TIMEZONE",
    "VARIABLE_TYPES",
    "ChoiceText", "ContactOption", "ContactView", "Option", "PhoneText", "RenderError",
    "RenderedMessage", "TemplateError", "TemplateSpec", "TimeText", "Values", "Variable",
    "VariablesError", "Variant",
    "content_hash", "format_datetime", "format_phone", "format_time", "load_dir", "load_file",
    "parse_spec", "render", "render_all", "render_sms_as_written", "spec_to_data",
    "validate_values",
]
