"""Message library: load YAML templates, validate typed variables, render in a sandbox."""
from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import phonenumbers
import yaml
from email_validator import EmailNotValidError, validate_email
from jinja2 import Environment, StrictUndefined, Template, meta, nodes
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from .errors import NotifierError
from .smsencoding import SmsInfo, analyse, is_gsm, normalise_gsm

LANGUAGES = ("sv", "en")
CHANNELS = ("sms", "email", "telegram", "banner")
KINDS = ("initial", "update", "all_clear", "maintenance")
SEVERITIES = ("critical", "warning", "info")
VARIABLE_TYPES = ("text", "phone", "time", "datetime", "url", "email", "choice", "contacts")
CONTACT_KINDS = ("phone", "chat", "email", "webform", "office", "social")
CONTACT_STATES = ("up", "down", "unknown")
TIMEZONE = ZoneInfo("Europe/Stockholm")
DEFAULT_ORGANISATION = "Solvik Energi AB"

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
_SPEC_KEYS = {"key", "title", "description", "kind", "severity", "variables", "content"}
_VARIABLE_KEYS = {"name", "type", "label", "required", "help", "max_length", "options", "default"}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_TAG_RE = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_BARE_AMP_RE = re.compile(r"&(?!(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);)")
_LINK_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_HTTP_RE = re.compile(r"\bhttp://[^\s<>\"']+", re.IGNORECASE)
_SAFE_FILTERS = frozenset({
    "abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "first", "float",
    "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
    "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr", "sort",
    "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "wordcount",
})

SV_DAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SV_MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
             "september", "oktober", "november", "december")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
EMAIL_FOOTER = {
    "sv": "Du får det här meddelandet eftersom du prenumererar på driftinformation från {org}.",
    "en": "You receive this message because you subscribe to service notices from {org}.",
}


class TemplateError(NotifierError):
    """A template file or spec is malformed; the message names where and what to fix."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class VariablesError(NotifierError):
    """One or more variable values are invalid; `errors` maps variable name to message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("Check these fields: " + " ".join(self.errors.values()))


class RenderError(NotifierError):
    """A template could not be rendered within the sandbox and the length caps."""


class _ValueProblem(NotifierError):
    """One value is invalid; collected into a VariablesError."""


# --------------------------------------------------------------------------- data


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


# --------------------------------------------------------------------------- parsing


def _where(source: str) -> str:
    return source or "template"


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    """Return data[key] or raise naming the missing key."""
    if key not in data or data[key] is None:
        raise TemplateError(f"{where}: '{key}' is missing; add it")
    return data[key]


def _bilingual(value: Any, where: str, what: str) -> dict[str, str]:
    """Check a {sv, en} mapping of non-empty strings."""
    if not isinstance(value, Mapping):
        raise TemplateError(f"{where}: {what} must have an 'sv' and an 'en' text")
    missing = [lang for lang in LANGUAGES if not str(value.get(lang) or "").strip()]
    if missing:
        raise TemplateError(f"{where}: {what} has no '{missing[0]}' text; write one")
    extra = set(value) - set(LANGUAGES)
    if extra:
        raise TemplateError(f"{where}: {what} has unknown language {min(extra)!r}; "
                            f"use only {', '.join(LANGUAGES)}")
    return {lang: str(value[lang]).strip() for lang in LANGUAGES}


def _unknown_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    """Refuse keys a reader would expect to matter (usually a typo)."""
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise TemplateError(f"{where}: unknown key {unknown[0]!r}; "
                            f"allowed keys are {', '.join(sorted(allowed))}")


def _one_of(value: Any, allowed: Sequence[str], where: str, what: str) -> str:
    if value not in allowed:
        raise TemplateError(f"{where}: {what} is {value!r}; use one of {', '.join(allowed)}")
    return str(value)


def parse_spec(data: Mapping[str, Any], source: str = "") -> TemplateSpec:
    """Validate the structure of one template and build its TemplateSpec."""
    where = _where(source)
    if not isinstance(data, Mapping):
        keys = ", ".join(sorted(_SPEC_KEYS))
        raise TemplateError(f"{where}: a template must be a mapping with {keys}")
    _unknown_keys(data, _SPEC_KEYS, where)
    key = str(_require(data, "key", where))
    if not _KEY_RE.match(key):
        raise TemplateError(f"{where}: key {key!r} must be lower-case letters, digits and '-'")
    spec = TemplateSpec(
        key=key,
        title=_bilingual(_require(data, "title", where), where, "title"),
        description=_bilingual(_require(data, "description", where), where, "description"),
        kind=_one_of(_require(data, "kind", where), KINDS, where, "kind"),
        severity=_one_of(_require(data, "severity", where), SEVERITIES, where, "severity"),
        variables=_parse_variables(data.get("variables") or [], where),
        content=_parse_content(_require(data, "content", where), where),
    )
    problems = [problem for lang in LANGUAGES for channel in CHANNELS
                for problem in _check_variant(spec, lang, channel, where)]
    if problems:
        raise TemplateError(problems)
    return spec


def _parse_variables(items: Any, where: str) -> tuple[Variable, ...]:
    """Parse the variables list, refusing duplicates."""
    if not isinstance(items, list):
        raise TemplateError(f"{where}: 'variables' must be a list")
    variables = tuple(_parse_variable(item, f"{where}: variables[{i}]")
                      for i, item in enumerate(items))
    names = [v.name for v in variables]
    for name in names:
        if names.count(name) > 1:
            raise TemplateError(f"{where}: variable {name!r} is declared twice; keep one")
    return variables


def _parse_variable(item: Any, where: str) -> Variable:
    """Parse one variable declaration and check its type options."""
    if not isinstance(item, Mapping):
        raise TemplateError(f"{where}: a variable must be a mapping with name, type and label")
    _unknown_keys(item, _VARIABLE_KEYS, where)
    name = str(_require(item, "name", where))
    if not _NAME_RE.match(name):
        raise TemplateError(f"{where}: name {name!r} must be lower-case letters, digits and '_'")
    where = f"{where} ({name})"
    kind = _one_of(_require(item, "type", where), VARIABLE_TYPES, where, "type")
    help_ = item.get("help") or {}
    variable = Variable(
        name=name, type=kind, label=_bilingual(_require(item, "label", where), where, "label"),
        required=_flag(item.get("required", True), where),
        help={lang: str(help_) for lang in LANGUAGES} if isinstance(help_, str)
        else _bilingual(help_, where, "help") if help_ else {},
        max_length=_max_length(item, kind, where),
        options=_options(item, kind, where),
        default=_raw_default(item.get("default"), where),
    )
    _check_default(variable, where)
    return variable


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise TemplateError(f"{where}: required must be true or false")
    return value


def _max_length(item: Mapping[str, Any], kind: str, where: str) -> int | None:
    """Return the text variable's limit, refusing it on other types."""
    if kind != "text":
        if "max_length" in item:
            raise TemplateError(f"{where}: max_length only applies to text variables; remove it")
        return None
    limit = item.get("max_length", DEFAULT_TEXT_LENGTH)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_TEXT_LENGTH:
        raise TemplateError(
            f"{where}: max_length must be a whole number from 1 to {MAX_TEXT_LENGTH}")
    return limit


def _options(item: Mapping[str, Any], kind: str, where: str) -> tuple[Option, ...]:
    """Parse the options of a choice variable."""
    raw = item.get("options")
    if kind != "choice":
        if raw:
            raise TemplateError(f"{where}: options only apply to choice variables; remove them")
        return ()
    if not isinstance(raw, list) or not raw:
        raise TemplateError(f"{where}: a choice variable needs a list of options (value and label)")
    options = []
    for i, option in enumerate(raw):
        if not isinstance(option, Mapping) or "value" not in option:
            raise TemplateError(f"{where}: options[{i}] needs a value and a label {{sv, en}}")
        options.append(Option(str(option["value"]),
                              _bilingual(option.get("label"), where, f"options[{i}].label")))
    return tuple(options)


def _raw_default(value: Any, where: str) -> str | tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise TemplateError(f"{where}: default must be a text or a list of texts")


def _check_default(variable: Variable, where: str) -> None:
    """Check a default value with the variable's own validator."""
    if variable.default is None or variable.type == "contacts":
        return
    try:
        _parse_value(variable, variable.default, {})
    except _ValueProblem as exc:
        raise TemplateError(f"{where}: the default is not valid: {exc}") from None


def _parse_content(content: Any, where: str) -> dict[str, Variant]:
    """Parse content.{sv,en} into Variants, one source per channel part."""
    if not isinstance(content, Mapping):
        raise TemplateError(f"{where}: 'content' must have 'sv' and 'en'")
    _unknown_keys(content, set(LANGUAGES), f"{where}: content")
    return {lang: _parse_variant(content.get(lang), f"{where}: content.{lang}")
            for lang in LANGUAGES}


def _parse_variant(data: Any, where: str) -> Variant:
    """Parse one language's channel sources."""
    if not isinstance(data, Mapping):
        raise TemplateError(f"{where} is missing; write sms, email, telegram and banner")
    _unknown_keys(data, set(CHANNELS), where)
    found: dict[str, str] = {}
    for channel in CHANNELS:
        value = data.get(channel)
        for part in _PARTS[channel]:
            text = value if channel in ("sms", "telegram") else (
                value.get(part) if isinstance(value, Mapping) else None)
            label = channel if channel in ("sms", "telegram") else f"{channel}.{part}"
            if not isinstance(text, str) or not text.strip():
                raise TemplateError(f"{where}.{label} is missing or empty; write the text")
            found[_attr(channel, part)] = text.strip()
        if isinstance(value, Mapping):
            _unknown_keys(value, set(_PARTS[channel]), f"{where}.{channel}")
    return Variant(**found)


# --------------------------------------------------------------------------- checks


def _check_variant(spec: TemplateSpec, language: str, channel: str, where: str) -> list[str]:
    """List what is wrong with one language x channel variant of a spec."""
    place = f"{where}: content.{language}.{channel}"
    parts = spec.content[language].parts(channel)
    size = sum(len(source.encode("utf-8")) for source in parts.values())
    if size > MAX_SOURCE_BYTES:
        return [f"{place} is {size} bytes; shorten it to at most {MAX_SOURCE_BYTES}"]
    declared = frozenset(v.name for v in spec.variables)
    problems: list[str] = []
    for part, source in parts.items():
        label = place if len(parts) == 1 else f"{place}.{part}"
        problems += _check_source(source, declared, channel, label)
    return problems


@functools.lru_cache(maxsize=1024)
def _check_source(source: str, declared: frozenset[str], channel: str,
                  label: str) -> tuple[str, ...]:
    """Compile one source and check names, filters and markup for its channel."""
    try:
        ast = _environment(channel == "telegram").parse(source)
    except TemplateSyntaxError as exc:
        return (f"{label}, line {exc.lineno}: {exc.message}; check the {{{{ }}}} and {{% %}} tags",)
    problems = _check_nodes(ast, label) + _check_markup(source, channel, label)
    if problems:  # an unknown filter would also stop the name analysis below
        return tuple(problems)
    try:
        undeclared = meta.find_undeclared_variables(ast) - declared
    except JinjaError as exc:
        return (f"{label}: {exc}; fix the template",)
    return tuple(f"{label} uses {name!r}, which is not a declared variable; declare it under "
                 f"'variables' or fix the spelling" for name in sorted(undeclared))


def _check_nodes(ast: nodes.Template, label: str) -> list[str]:
    """Refuse includes, private attributes and filters outside the allowed set."""
    problems = []
    loads = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
    if any(True for _ in ast.find_all(loads)):
        problems.append(f"{label} includes or imports another template; write the text in place")
    for getattr_ in ast.find_all(nodes.Getattr):
        if str(getattr_.attr).startswith("_"):
            problems.append(
                f"{label} reads {getattr_.attr!r}; names starting with '_' are not allowed")
    for filter_ in ast.find_all(nodes.Filter):
        if filter_.name not in _SAFE_FILTERS:
            problems.append(f"{label} uses the filter {filter_.name!r}, which is not allowed; "
                            f"allowed: {', '.join(sorted(_SAFE_FILTERS))}")
    return problems


def _check_markup(source: str, channel: str, label: str) -> list[str]:
    """Check the template's own text against what the channel may carry."""
    tags = {m.group(2).lower() for m in _TAG_RE.finditer(source)}
    if channel == "telegram":
        bad = sorted(tags - TELEGRAM_TAGS)
        allowed = ", ".join(sorted(TELEGRAM_TAGS))
        problems = [f"{label} uses <{bad[0]}>; Telegram allows only {allowed}"] if bad else []
        if _BARE_AMP_RE.search(source):
            problems.append(f"{label} has a bare '&'; write it as &amp;")
        return problems
    if tags:
        return [f"{label} contains HTML tags (<{min(tags)}>); this is plain text: remove them"]
    if channel == "sms" and not is_gsm(normalise_gsm(source)):
        odd = "".join(sorted({c for c in normalise_gsm(source) if not is_gsm(c)}))
        return [(f"{label} has characters outside GSM-7 ({odd}); they make every SMS twice "
                 f"as long: replace or remove them")]
    return []


# --------------------------------------------------------------------------- files


def spec_to_data(spec: TemplateSpec) -> dict[str, Any]:
    """Return the YAML-ready data of a spec; `parse_spec` of it gives the spec back."""
    return {
        "key": spec.key, "title": dict(spec.title), "description": dict(spec.description),
        "kind": spec.kind, "severity": spec.severity,
        "variables": [_variable_to_data(v) for v in spec.variables],
        "content": {lang: _variant_to_data(spec.content[lang]) for lang in LANGUAGES},
    }


def _variable_to_data(variable: Variable) -> dict[str, Any]:
    data: dict[str, Any] = {"name": variable.name, "type": variable.type,
                            "label": dict(variable.label), "required": variable.required}
    if variable.help:
        data["help"] = dict(variable.help)
    if variable.max_length is not None:
        data["max_length"] = variable.max_length
    if variable.options:
        data["options"] = [{"value": o.value, "label": dict(o.label)} for o in variable.options]
    if variable.default is not None:
        default = variable.default
        data["default"] = list(default) if isinstance(default, tuple) else default
    return data


def _variant_to_data(variant: Variant) -> dict[str, Any]:
    return {
        "sms": variant.sms,
        "email": {"subject": variant.email_subject, "text": variant.email_text},
        "telegram": variant.telegram,
        "banner": {"headline": variant.banner_headline, "body": variant.banner_body},
    }


def content_hash(spec: TemplateSpec) -> str:
    """Return the sha256 of the spec's canonical JSON: equal wording, equal hash."""
    canonical = json.dumps(spec_to_data(spec), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# libyaml's loader is ten times faster; both are the safe loader.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_file(path: str | Path) -> TemplateSpec:
    """Load and validate one YAML template file; its key must match the file name."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise TemplateError(
            f"{path}: is not valid YAML{line}; check indentation and quotes") from None
    spec = parse_spec(data, str(path))
    if spec.key != path.stem:
        raise TemplateError(f"{path}: key {spec.key!r} differs from the file name; "
                            f"rename the file to {spec.key}.yaml or change the key")
    return spec


def load_dir(directory: str | Path) -> list[TemplateSpec]:
    """Load every *.yaml template in a folder, reporting every broken file at once."""
    specs: list[TemplateSpec] = []
    problems: list[str] = []
    for path in sorted(Path(directory).glob("*.y*ml")):
        try:
            specs.append(load_file(path))
        except TemplateError as exc:
            problems += exc.problems
    if problems:
        raise TemplateError(problems)
    return specs


# --------------------------------------------------------------------------- values


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
        return str(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise _ValueProblem(f"{text!r} is not a valid email address ({exc}).") from None


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
    if parsed.tzinfo is not None:
        return parsed.astimezone(TIMEZONE).replace(second=0, microsecond=0)
    local = parsed.replace(tzinfo=TIMEZONE, second=0, microsecond=0)
    # A naive time that does not survive a round trip through UTC falls in the spring gap.
    naive = local.replace(tzinfo=None)
    if local.astimezone(UTC).astimezone(TIMEZONE).replace(tzinfo=None) != naive:
        raise _ValueProblem(f"{text!r} does not exist in Swedish time (the clocks go forward); "
                            f"pick another time.")
    return local


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


# --------------------------------------------------------------------------- display


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


# --------------------------------------------------------------------------- sandbox


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, refusing arithmetic that would eat memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("powers above 64 are not allowed")
        if operator == "*" and _too_long(left, right):
            raise SecurityError("repeating text or lists that often is not allowed")
        return super().call_binop(context, operator, left, right)


def _too_long(left: Any, right: Any) -> bool:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
            return len(seq) * times > 10_000
    return False


def _finalize(value: Any) -> Any:
    """Print an absent optional value as nothing, not as 'None'."""
    return "" if value is None else value


@functools.lru_cache(maxsize=2)
def _environment(autoescape: bool) -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=autoescape, finalize=_finalize,
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.globals.clear()  # templates reach their variables and nothing else
    env.filters = {name: f for name, f in env.filters.items() if name in _SAFE_FILTERS}
    return env


@functools.lru_cache(maxsize=512)
def _compile(autoescape: bool, source: str) -> Template:
    return _environment(autoescape).from_string(source)


_RENDER_FAILURES = (JinjaError, TypeError, ValueError, ArithmeticError, LookupError,
                    AttributeError, RecursionError)


def _render_part(source: str, context: Mapping[str, Any], autoescape: bool, place: str,
                 cap: int) -> str:
    """Render one source, stopping as soon as the output is far past its cap."""
    chunks: list[str] = []
    size = 0
    try:
        for chunk in _compile(autoescape, source).generate(dict(context)):
            size += len(chunk)
            if size > cap * 4 + 1000:  # stop runaway loops before they fill memory
                break
            chunks.append(chunk)
    except SecurityError as exc:
        raise RenderError(f"{place}: the sandbox refused the template ({exc}); "
                          f"templates may only use their variables") from None
    except _RENDER_FAILURES as exc:
        raise RenderError(
            f"{place}: cannot render ({exc}); fix the template or the values") from None
    return _tidy("".join(chunks))


def _tidy(text: str) -> str:
    """Drop trailing spaces and the blank lines left where optional parts were skipped."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _capped(text: str, place: str, cap: int, what: str) -> str:
    if len(text) > cap:
        raise RenderError(f"{place}: the {what} is {len(text)} characters, more than {cap}; "
                          f"shorten the template or the values")
    return text


# --------------------------------------------------------------------------- render


@dataclass(frozen=True)
class _Job:
    """Everything one channel renderer needs."""

    spec: TemplateSpec
    language: str
    channel: str
    context: Mapping[str, Any]
    drill: bool
    organisation: str

    def part(self, name: str, autoescape: bool = False) -> str:
        place = f"{self.spec.key}: content.{self.language}.{self.channel}"
        place += f".{name}" if len(_PARTS[self.channel]) > 1 else ""
        cap = OUTPUT_CAPS[(self.channel, name)]
        source = self.spec.content[self.language].parts(self.channel)[name]
        text = _render_part(source, self.context, autoescape, place, cap)
        return _capped(self.prefix() + text, place, cap, name)

    def prefix(self) -> str:
        return DRILL_PREFIX[self.language] if self.drill else ""


def render(spec: TemplateSpec, values: Values, language: str, channel: str, *,
           drill: bool = False, organisation: str = DEFAULT_ORGANISATION) -> RenderedMessage:
    """Render one language x delivery channel of a template with validated values."""
    if language not in spec.content:
        raise RenderError(f"{spec.key}: no {language!r} text; use one of {', '.join(LANGUAGES)}")
    if channel not in _RENDERERS:
        raise RenderError(f"{spec.key}: unknown delivery channel {channel!r}; "
                          f"use one of {', '.join(CHANNELS)}")
    job = _Job(spec, language, channel, _context(spec, values, language), drill, organisation)
    message = _RENDERERS[channel](job)
    message.drill = drill
    return message


def render_all(spec: TemplateSpec, values: Values, *, drill: bool = False,
               organisation: str = DEFAULT_ORGANISATION) -> dict[str, dict[str, RenderedMessage]]:
    """Render every language and delivery channel: language -> channel -> message."""
    return {lang: {ch: render(spec, values, lang, ch, drill=drill, organisation=organisation)
                   for ch in CHANNELS} for lang in LANGUAGES}


def render_sms_as_written(spec: TemplateSpec, values: Values, language: str) -> str:
    """Render an SMS without the GSM-safe normalisation, to show the editor what it changes."""
    job = _Job(spec, language, "sms", _context(spec, values, language), False,
               DEFAULT_ORGANISATION)
    return job.part("text")


def _render_sms(job: _Job) -> RenderedMessage:
    text = normalise_gsm(job.part("text"))
    info = analyse(text)
    warnings = _link_warnings(text)
    if info.segments > SMS_WARN_SEGMENTS:
        warnings.append(f"The SMS is {info.segments} segments (more than {SMS_WARN_SEGMENTS}); "
                        f"each segment is paid and may arrive out of order: shorten it.")
    if info.encoding == "UCS-2":
        odd = "".join(sorted({c for c in text if not is_gsm(c)}))
        warnings.append(f"The SMS uses UCS-2 because of {odd!r}: only {info.per_segment} "
                        f"characters fit a segment; replace those characters.")
    return RenderedMessage(job.language, "sms", text, sms=info, warnings=warnings)


def _render_email(job: _Job) -> RenderedMessage:
    subject = " ".join(job.part("subject").split())
    text = job.part("text")
    html = _email_html(job, subject, text)
    return RenderedMessage(job.language, "email", text, subject=subject, html=html,
                           warnings=_link_warnings(subject + "\n" + text))


def _render_telegram(job: _Job) -> RenderedMessage:
    text = job.part("text", autoescape=True)
    _check_telegram_output(text, f"{job.spec.key}: content.{job.language}.telegram")
    return RenderedMessage(job.language, "telegram", text, warnings=_link_warnings(text))


def _render_banner(job: _Job) -> RenderedMessage:
    headline = " ".join(job.part("headline").split())
    body = job.part("body")
    warnings = _link_warnings(headline + "\n" + body)
    if len(headline) > HEADLINE_WARN_LENGTH:
        warnings.append(f"The banner headline is {len(headline)} characters; over "
                        f"{HEADLINE_WARN_LENGTH} it wraps on phones: shorten it.")
    return RenderedMessage(job.language, "banner", body, headline=headline, body=body,
                           warnings=warnings)


_RENDERERS: dict[str, Callable[[_Job], RenderedMessage]] = {
    "sms": _render_sms, "email": _render_email, "telegram": _render_telegram,
    "banner": _render_banner,
}


def _link_warnings(text: str) -> list[str]:
    return [f"The link {link} is not https; use an https:// address."
            for link in dict.fromkeys(_HTTP_RE.findall(text))]


def _check_telegram_output(text: str, place: str) -> None:
    """Refuse Telegram output with tags or links outside Telegram's HTML subset."""
    for match in _TAG_RE.finditer(text):
        closing, tag, attrs = match.group(1), match.group(2).lower(), match.group(3).strip()
        if tag not in TELEGRAM_TAGS:
            raise RenderError(f"{place}: <{tag}> is not allowed in Telegram; use "
                              f"{', '.join(sorted(TELEGRAM_TAGS))}")
        if attrs and (closing or tag != "a" or not _safe_href(attrs)):
            raise RenderError(f"{place}: <{tag} {attrs}> has attributes Telegram refuses; "
                              f"links need href=\"https://...\"")
    if "<" in _TAG_RE.sub("", text) or ">" in _TAG_RE.sub("", text) or _BARE_AMP_RE.search(text):
        raise RenderError(f"{place}: stray '<', '>' or '&' in the template text; "
                          f"write &lt; &gt; &amp;")


def _safe_href(attrs: str) -> bool:
    match = re.fullmatch(r'href\s*=\s*"([^"]*)"', attrs)
    return match is not None and match.group(1).lower().startswith(LINK_SCHEMES)


# --------------------------------------------------------------------------- email html


@functools.lru_cache(maxsize=1)
def _layout() -> Template:
    """Compile the email layout once; it is our own file, so a plain environment will do."""
    source = (Path(__file__).parent / "layouts" / "email.html").read_text(encoding="utf-8")
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True)
    return env.from_string(source)


def _email_html(job: _Job, subject: str, text: str) -> str:
    """Wrap the plain text in the accessible email layout, escaped and with live links."""
    return _layout().render(
        language=job.language, subject=subject, organisation=job.organisation,
        severity=job.spec.severity, paragraphs=list(_paragraphs(text)), drill=job.drill,
        footer=EMAIL_FOOTER[job.language].format(org=job.organisation),
    )


def _paragraphs(text: str) -> Iterable[Markup]:
    """Split plain text into escaped HTML paragraphs, turning addresses into links."""
    for block in re.split(r"\n\s*\n", text):
        html = _LINK_RE.sub(_link, str(escape(block)))
        yield Markup(html.replace("\n", "<br>\n"))


def _link(match: re.Match[str]) -> str:
    url = match.group(0).rstrip(".,;:!?)")
    rest = match.group(0)[len(url):]
    href = url if "://" in url else f"https://{url}"
    return f'<a href="{href}" style="color:#0b5cad;">{url}</a>{rest}'
