"""Template files: YAML load and dump, and the content hash of a spec's wording."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from ..i18n import LANGUAGES
from .parsing import parse_spec
from .spec import TemplateError, TemplateSpec, Variable, Variant


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
