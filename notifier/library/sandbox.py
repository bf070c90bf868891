"""The Jinja sandbox: the locked-down environment, capped rendering of one part, the job."""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .spec import _PARTS, DRILL_PREFIX, OUTPUT_CAPS, RenderError, TemplateSpec

_SAFE_FILTERS = frozenset({
    "abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "first", "float",
    "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
    "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr", "sort",
    "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "wordcount",
})


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
