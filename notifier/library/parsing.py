"""Template specs: parse and check a template's structure, variables and channel sources."""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import TemplateError as JinjaError
from jinja2 import meta, nodes
from jinja2.exceptions import TemplateSyntaxError

from ..channels import DELIVERY_CHANNELS
from ..i18n import LANGUAGES
from .sandbox import _SAFE_FILTERS, _environment
from .smsencoding import is_gsm, normalise_gsm
from .spec import (
    _BARE_AMP_RE,
    _PARTS,
    _TAG_RE,
    BUILT_INS,
    DEFAULT_TEXT_LENGTH,
    KINDS,
    MAX_SOURCE_BYTES,
    MAX_TEXT_LENGTH,
    SEVERITIES,
    TELEGRAM_TAGS,
    VARIABLE_TYPES,
    Option,
    TemplateError,
    TemplateSpec,
    Variable,
    Variant,
    _attr,
    _ValueProblem,
)
from .values import _parse_value

_SPEC_KEYS = {"key", "title", "description", "kind", "severity", "variables", "content"}
_VARIABLE_KEYS = {"name", "type", "label", "required", "help", "max_length", "options", "default"}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


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
    problems = [problem for lang in LANGUAGES for channel in DELIVERY_CHANNELS
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
    _unknown_keys(data, set(DELIVERY_CHANNELS), where)
    found: dict[str, str] = {}
    for channel in DELIVERY_CHANNELS:
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
    # The organisation's name is there for every template (NOTIFIER_ORGANISATION).
    declared = frozenset(v.name for v in spec.variables) | frozenset(BUILT_INS)
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
    # Macros and recursive loops can call themselves without a loop to count: refused.
    if any(True for _ in ast.find_all((nodes.Macro, nodes.CallBlock))):
        problems.append(f"{label} defines a macro or a call block; write the text in place")
    if any(loop.recursive for loop in ast.find_all(nodes.For)):
        problems.append(f"{label} has a recursive loop; loop over a list instead")
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
