"""The allowed transitions of a delivery, and the one way to make one: a guarded set-based UPDATE.

This table is the source of truth (docs/architecture.md lists it). Every function that changes a
delivery's status goes through `move()`, which names the transition, takes the states it may
leave from the table and refuses anything else; `check()` lets tests verify that every UPDATE
the engine ran went along an edge of the table.
"""
from __future__ import annotations

import operator
from typing import Any, NamedTuple

from sqlalchemy import Engine, Update, event, inspect, or_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.sql.visitors import iterate

from .. import db
from ..errors import NotifierError
from ..models import Delivery, DeliveryStatus, utcnow

Q, S, T = DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value, DeliveryStatus.SENT.value
W, F, K = DeliveryStatus.RETRY_WAIT.value, DeliveryStatus.FAILED.value, DeliveryStatus.SKIPPED.value
C, D, U = (DeliveryStatus.CANCELLED.value, DeliveryStatus.DELIVERED.value,
           DeliveryStatus.UNDELIVERED.value)


class Transition(NamedTuple):
    """One edge (or a few edges into one state) of the delivery state machine."""

    name: str
    leaves: tuple[str, ...]
    enters: str
    why: str


TRANSITIONS: dict[str, Transition] = {t.name: t for t in (
    Transition("plan", (), Q, "a notice is confirmed, or rerouted to another channel"),
    Transition("claim", (Q,), S, "a worker takes a batch under a claim token and a lease"),
    Transition("release", (S,), Q, "the notice was paused: unsent deliveries go back"),
    Transition("stop", (S,), C, "the notice was cancelled or superseded while in flight"),
    Transition("hold", (S,), W, "the provider's circuit is open: wait without using an attempt"),
    Transition("sent", (S,), T, "the provider accepted the message"),
    Transition("retry", (S,), W, "a transient failure: try again later"),
    Transition("fail", (S,), F, "a permanent failure, with the provider's code"),
    Transition("skip", (S,), K, "the recipient opted out or blocked us"),
    Transition("requeue", (W,), Q, "the retry is due"),
    Transition("expire", (S,), Q, "the claim's lease ran out: the worker is gone"),
    Transition("give_up", (W,), F, "still failing at the notice's delivery deadline"),
    Transition("cancel", (Q, W), C, "cancelled, superseded or sent by another channel instead"),
    Transition("accepted", (S,), T, "a receipt overtook the worker's own record of the send"),
    Transition("delivered", (S, T), D, "the provider confirmed delivery"),
    Transition("undelivered", (S, T), U, "the provider reported the message undelivered"),
)}
EDGES = frozenset((a, t.enters) for t in TRANSITIONS.values() for a in t.leaves)
END_STATES = frozenset({T, D, U, F, K, C}) - {T}  # sent still waits for a receipt
UNSENT = (Q, W)
TABLE = Delivery.__tablename__
OPEN = (Q, S, W)


def move(s: Session, name: str, *where: Any, **values: Any) -> int:
    """Run one transition over the deliveries matching `where`; return how many moved."""
    return db.rowcount(s.execute(statement(name, *where, **values)))


def statement(name: str, *where: Any, **values: Any) -> Update:
    """Build the guarded UPDATE of a transition (callers may add RETURNING)."""
    t = TRANSITIONS[name]
    # Equalities, not IN: an expanding IN cannot run as an executemany (bulk outcomes do).
    guard = or_(*(Delivery.status == state for state in t.leaves))
    return (update(Delivery).where(guard, *where)
            .values(status=t.enters, updated_at=values.pop("updated_at", None) or utcnow(),
                    **values)
            .execution_options(delivery_transition=name))


def check(stmt: Any) -> str | None:
    """Say what is wrong with an UPDATE of delivery statuses, or None when it follows an edge."""
    if not isinstance(stmt, Update) or getattr(stmt.table, "name", None) != TABLE:
        return None
    values = {getattr(c, "key", c): v for c, v in (stmt._values or {}).items()}
    if "status" not in values:
        return None
    name = stmt.get_execution_options().get("delivery_transition")
    if name not in TRANSITIONS:
        return f"an UPDATE of delivery.status outside notifier.deliveries: {stmt}"
    t = TRANSITIONS[name]
    enters = getattr(values["status"], "value", values["status"])
    guarded = {getattr(e.right, "value", None) for e in iterate(stmt.whereclause)
               if isinstance(e, BinaryExpression) and _is_status(e.left)
               and e.operator is operator.eq}
    if enters != t.enters or guarded != set(t.leaves):
        return (f"transition {name} must go {t.leaves} -> {t.enters}, "
                f"this UPDATE goes {sorted(map(str, guarded))} -> {enters}")
    return None


def _is_status(column: Any) -> bool:
    # ORM statements carry annotated copies of the table's columns: compare by name.
    return (getattr(column, "key", None) == "status"
            and getattr(getattr(column, "table", None), "name", None) == TABLE)


def strict(engine: Engine) -> None:
    """Refuse, on this engine, any UPDATE of delivery.status that is not an edge of the table."""
    @event.listens_for(engine, "before_execute")
    def _refuse(_conn: Any, clause: Any, *_args: Any) -> None:
        problem = check(clause)
        if problem:
            raise IllegalTransitionError(problem)


@event.listens_for(Delivery.status, "set")
def _no_status_assignment(target: Delivery, value: Any, old: Any, _initiator: Any) -> None:
    """Refuse `delivery.status = ...` on a stored delivery: transitions are UPDATEs from here."""
    if inspect(target).persistent and value != old:
        raise IllegalTransitionError(
            f"delivery {target.id}: status {old} -> {value} assigned directly; use a transition "
            "of notifier.deliveries")


class IllegalTransitionError(NotifierError):
    """Code tried to change a delivery's status outside the state machine."""
