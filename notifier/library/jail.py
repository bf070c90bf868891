"""The jail: render a template in a child process with hard limits on CPU time, memory and size.

The sandbox refuses the known ways to make a template slow or big with a clear message; the
jail is the backstop for the ways nobody thought of. Each render runs in a fresh child forked
from a small, single-threaded fork server (a thread of gunicorn must not fork itself), with
RLIMIT_CPU and RLIMIT_AS set, a wall-clock deadline and a cap on the size of its answer, so a
hostile draft costs one child a second or two, never a web thread, the banner or /healthz.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import resource
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from .spec import RenderError

T = TypeVar("T")
_CONTEXT = multiprocessing.get_context("forkserver")


@dataclass(frozen=True)
class Limits:
    """What one render may use: CPU seconds, memory on top of the child's start, answer size."""

    cpu_seconds: int = 2
    memory_bytes: int = 256 * 1024 * 1024
    wall_seconds: float = 30.0
    answer_bytes: int = 4 * 1024 * 1024
    nice: int = 0  # drafts run at a lower priority than the web threads


CONFIRM = Limits()
DRAFT = Limits(nice=10)


class JailBusyError(RenderError):
    """Too many drafts are rendering in this process at once; try again in a moment."""


class _Slots:
    """At most n renders of drafts at once per process; more are refused at once, not queued.

    A refused preview costs nothing, while a queued one would hold a web thread that the
    banner and /healthz need.
    """

    def __init__(self, n: int) -> None:
        self._sem = threading.BoundedSemaphore(n)

    def __enter__(self) -> None:
        if not self._sem.acquire(blocking=False):
            raise JailBusyError("Several previews are being rendered right now; the preview "
                                "tries again when you type, or save and look at the draft.")

    def __exit__(self, *exc: object) -> None:
        self._sem.release()


DRAFT_SLOTS = _Slots(2)


def run(fn: Callable[..., T], *args: Any, limits: Limits = CONFIRM, **kwargs: Any) -> T:
    """Call fn(*args, **kwargs) in a limited child; raise RenderError naming what was too big."""
    # The fork server imports the library once (when it starts), so each child starts with it.
    _CONTEXT.set_forkserver_preload(["notifier.library"])
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_child, args=(sender, limits, fn, args, kwargs), daemon=True)
    try:
        child.start()
        sender.close()
        answer = _receive(receiver, limits)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if answer is None:
        raise _failure(child.exitcode, limits)
    kind, value = answer
    if kind == "ok":
        return value  # type: ignore[no-any-return]
    if isinstance(value, BaseException):
        raise value
    raise RenderError(str(value))


def _receive(receiver: Connection, limits: Limits) -> tuple[str, Any] | None:
    if not receiver.poll(limits.wall_seconds):
        return None
    try:
        data = receiver.recv_bytes(limits.answer_bytes)
    except (EOFError, OSError):  # the child died (CPU limit) or answered too much
        return None
    answer: tuple[str, Any] = pickle.loads(data)
    return answer


def _failure(exitcode: int | None, limits: Limits) -> RenderError:
    if exitcode in (-signal.SIGXCPU, -signal.SIGKILL) or exitcode is None:
        return RenderError(f"The template is too big to render: it needs more than "
                           f"{limits.cpu_seconds} s of processor time. Look for loops over long "
                           "lists and repeated text, and shorten them.")
    return RenderError(_TOO_LARGE)


_TOO_LARGE = ("The template is too big to render: its result is larger than any message can "
              "be. Shorten repeated text and lists.")


class _CpuTime(Exception):
    """The child used up its processor time."""


def _on_xcpu(signum: int, frame: Any) -> None:
    raise _CpuTime


def _child(sender: Connection, limits: Limits, fn: Callable[..., Any], args: tuple[Any, ...],
           kwargs: dict[str, Any]) -> None:
    """Set the limits, call fn and send back ("ok", result) or ("error", exception)."""
    _limit(limits)
    try:
        answer: tuple[str, Any] = ("ok", fn(*args, **kwargs))
    except _CpuTime:
        answer = ("error", RenderError(
            f"The template is too big to render: it needs more than {limits.cpu_seconds} s of "
            "processor time. Look for loops over long lists and repeated text, and shorten them."))
    except MemoryError:
        answer = ("error", RenderError(
            f"The template is too big to render: it needs more than "
            f"{limits.memory_bytes // 2**20} MB of memory. Shorten repeated text and lists."))
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        answer = ("error", exc)
    try:
        data = pickle.dumps(answer)
    except Exception:  # noqa: BLE001 - an exception that cannot travel travels as text
        data = pickle.dumps(("error", str(answer[1])))
    if len(data) > limits.answer_bytes:
        data = pickle.dumps(("error", _TOO_LARGE))
    sender.send_bytes(data)
    sender.close()


def _limit(limits: Limits) -> None:
    """Apply the limits to this child: no core files, CPU seconds, address space, priority."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXCPU, _on_xcpu)
    # The soft limit sends SIGXCPU (a clean error); the hard one, a second later, kills.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + limits.memory_bytes,) * 2)
    if limits.nice:
        os.nice(limits.nice)


def _address_space() -> int:
    """Return this process's current virtual memory size in bytes."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[0])
    return pages * resource.getpagesize()
