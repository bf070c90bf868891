"""Alert rules: which monitoring alert means which contact channels are down and which template to suggest.

The rules are a YAML file named by NOTIFIER_ALERT_RULES, read with `yaml.safe_load` (no tags,
no code) and capped in size and count, since they are content that someone else writes:

    oncall_segment: staff          # told (SMS and email) when an alert opens a draft
    rules:
      - name: in-platform-down
        match: {alertname: TelecomINPlatformDown}   # every label must equal
        dependency: nordtel-in-platform             # every contact channel needing it: down
        contacts_down: [kundservice]                # and these too
        template: phone-lines-down
        values: {eta: ""}                           # the rest come from the template
        all_clear_template: all-clear
        all_clear_values: {restored: phones}
        drill_segment: staff                        # optional: send it as a drill at once
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import NotifierError

MAX_BYTES = 256 * 1024
MAX_RULES = 500
NAME_LABELS = ("dependency", "notifier_dependency")  # an alert may name the failed dependency


class RuleError(NotifierError):
    """The alert rules file is unreadable or a rule is malformed."""


@dataclass(frozen=True)
class Rule:
    """One mapping from alert labels to a proposal."""

    name: str
    match: Mapping[str, str]
    template: str
    dependency: str | None = None
    contacts_down: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)
    segments: tuple[str, ...] = ()
    all_clear_template: str = "all-clear"
    all_clear_values: Mapping[str, Any] = field(default_factory=dict)
    drill_segment: str | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Tell whether every label of the rule has the alert's value."""
        return all(labels.get(k) == v for k, v in self.match.items())


@dataclass(frozen=True)
class RuleSet:
    """The rules in file order, and whom to tell about a new draft."""

    rules: tuple[Rule, ...] = ()
    oncall_segment: str | None = None

    def first(self, labels: Mapping[str, str]) -> Rule | None:
        """Return the first rule the labels match."""
        return next((r for r in self.rules if r.matches(labels)), None)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{where} must be a list of names.")
    return tuple(value)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise RuleError(f"{where} must be a mapping of names to values.")
    return dict(value)


def parse_rule(raw: Any, number: int) -> Rule:
    """Build one rule, naming the rule and field that is wrong."""
    if not isinstance(raw, dict):
        raise RuleError(f"Rule {number} must be a mapping with name, match and template.")
    name = str(raw.get("name") or f"rule-{number}")
    where = f"Rule {name!r}"
    match = {k: str(v) for k, v in _mapping(raw.get("match"), f"{where}: match").items()}
    if not match or not isinstance(raw.get("template"), str):
        raise RuleError(f"{where} needs match (labels and values) and template (a template key).")
    known = {"name", "match", "template", "dependency", "contacts_down", "values", "segments",
             "all_clear_template", "all_clear_values", "drill_segment"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RuleError(f"{where}: unknown field {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
    return Rule(name, match, raw["template"], raw.get("dependency"),
                _strings(raw.get("contacts_down"), f"{where}: contacts_down"),
                _mapping(raw.get("values"), f"{where}: values"),
                _strings(raw.get("segments"), f"{where}: segments"),
                str(raw.get("all_clear_template") or "all-clear"),
                _mapping(raw.get("all_clear_values"), f"{where}: all_clear_values"),
                raw.get("drill_segment"))


def parse(text: str) -> RuleSet:
    """Parse the rules file's text."""
    if len(text.encode()) > MAX_BYTES:
        raise RuleError(f"The alert rules file is larger than {MAX_BYTES // 1024} KiB: split it "
                        "or remove unused rules.")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise RuleError(f"The alert rules file is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RuleError("The alert rules file must be a mapping with `rules:` (a list).")
    rules = data.get("rules") or []
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise RuleError(f"`rules` must be a list of at most {MAX_RULES} rules.")
    oncall = data.get("oncall_segment")
    return RuleSet(tuple(parse_rule(r, i + 1) for i, r in enumerate(rules)),
                   str(oncall) if oncall else None)


def load(path: str | None) -> RuleSet:
    """Read the rules file named by NOTIFIER_ALERT_RULES (none: no rules)."""
    if not path:
        return RuleSet()
    file = Path(path)
    try:
        return parse(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleError(f"NOTIFIER_ALERT_RULES names {path}, which cannot be read "
                        f"({exc.strerror}): fix the path or unset it.") from None
