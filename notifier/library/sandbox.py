"""The Jinja sandbox: the locked-down environment, capped rendering of one part, the job."""
from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, nodes
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from .spec import _PARTS, DRILL_PREFIX, OUTPUT_CAPS, RenderError, TemplateSpec

_SAFE_FILTERS = frozenset({
    "abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "first", "float",
    "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
    "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr", "sort",
    "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "wordcount",
})
# Limits that make a hostile template fail at once with a message naming what was too big;
# the child process of `jail` holds the hard limits on time and memory behind them.
MAX_LOOP_STEPS = 10_000  # loop iterations per rendered part, all loops together
MAX_REPEAT = 10_000  # characters or items made by repeating text or lists with *
MAX_NUMBER_BITS = 4096  # about 1,200 digits: far beyond any date, count or phone number
MAX_TEXT = 100_000  # characters a text method may produce
# str methods that pad to a width the template chooses, or format with widths and fills.
_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "format",
                            "format_map"})
_COUNTER = "_counted"


class LimitError(Exception):
    """A template asked for more work or memory than a message can need."""


@dataclass
class _Budget:
    """The loop iterations left for the part being rendered."""

    steps: int = MAX_LOOP_STEPS

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise LimitError(f"its loops run more than {MAX_LOOP_STEPS:,} times; loop over "
                             "shorter lists and do not nest loops over long ones")


_BUDGET: contextvars.ContextVar[_Budget] = contextvars.ContextVar("loop_budget")


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """Yield the items of a loop, charging each to the part's loop budget."""
    budget = _BUDGET.get(None) or _Budget()
    for item in iterable:
        budget.spend()
        yield item


class _CountLoops(NodeTransformer):
    """Wrap the iterable of every for loop in the counting filter."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _COUNTER, [], [], None, None, lineno=node.lineno)
        return node


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, refusing loops, numbers, padding and formatting that would eat time or memory."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        return super()._generate(_CountLoops().visit(source), name, filename, defer_init)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and not (_is_number(left) and _is_number(right)):
            raise LimitError("'%' formatting of text is not allowed; write the text as it "
                             "should read")
        if operator == "**" and _is_int(right) and (abs(right) > 64 or (
                _is_int(left) and abs(left).bit_length() * abs(right) > MAX_NUMBER_BITS)):
            raise LimitError("the power makes a number far larger than any message needs")
        if operator == "*" and _too_long(left, right):
            raise LimitError(f"repeating text or lists to more than {MAX_REPEAT:,} characters "
                             "or items is not allowed")
        if operator == "*" and _is_int(left) and _is_int(right) and \
                abs(left).bit_length() + abs(right).bit_length() > MAX_NUMBER_BITS:
            raise LimitError("the product is a number far larger than any message needs")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Any:
        # Jinja asks this of every attribute a template reads, before anything else.
        if isinstance(getattr(value, "__self__", None), str) and \
                getattr(value, "__name__", "") in _WIDTH_METHODS:
            raise LimitError(f"text.{value.__name__}() pads or formats text to a width the "
                             "template chooses, which is not allowed; write the text as it "
                             "should read")
        return super().wrap_str_format(value)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str) and getattr(obj, "__name__", "") == "replace":
            _check_replace(owner, args)
        return super().call(context, obj, *args, **kwargs)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _too_long(left: Any, right: Any) -> bool:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and _is_int(times):
            return bool(len(seq) * times > MAX_REPEAT)
    return False


def _check_replace(text: str, args: tuple[Any, ...]) -> None:
    """Refuse a text.replace() whose result would be far longer than any message."""
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        grows = text.count(args[0]) * (len(args[1]) - len(args[0])) if args[0] else \
            (len(text) + 1) * len(args[1])
        if len(text) + grows > MAX_TEXT:
            raise LimitError(f"text.replace() would make more than {MAX_TEXT:,} characters")


def _finalize(value: Any) -> Any:
    """Print an absent optional value as nothing, not as 'None'."""
    return "" if value is None else value


@functools.lru_cache(maxsize=2)
def _environment(autoescape: bool) -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=autoescape, finalize=_finalize,
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.globals.clear()  # templates reach their variables and nothing else
    env.filters = {name: f for name, f in env.filters.items() if name in _SAFE_FILTERS}
    env.filters[_COUNTER] = _counted
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
    token = _BUDGET.set(_Budget())
    try:
        for chunk in _compile(autoescape, source).generate(dict(context)):
            size += len(chunk)
            if size > cap * 4 + 1000:  # stop runaway loops before they fill memory
                break
            chunks.append(chunk)
    except LimitError as exc:
        raise RenderError(f"{place}: the template is too big to render: {exc}") from None
    except MemoryError:
        raise RenderError(f"{place}: the template is too big to render: it needs more memory "
                          "than a message can; shorten repeated text and lists") from None
    except SecurityError as exc:
        raise RenderError(f"{place}: the sandbox refused the template ({exc}); "
                          f"templates may only use their variables") from None
    except _RENDER_FAILURES as exc:
        raise RenderError(
            f"{place}: cannot render ({exc}); fix the template or the values") from None
    finally:
        _BUDGET.reset(token)
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
