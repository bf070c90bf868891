"""The one delivery state machine: every change of a delivery's status lives in this package.

`machine` holds the table of allowed transitions and the guarded UPDATE every change goes
through; `planning` creates and cancels deliveries, `sending` is a worker's claim on a batch,
`outcomes` records what providers answered and reported later, `repair` is the reconciler's.
Workers, the reconciler, the console, the command line and the webhooks call these functions;
nothing else writes `delivery.status` (tests/test_deliveries.py checks it).
"""
from __future__ import annotations

from .machine import (
    EDGES,
    OPEN,
    TRANSITIONS,
    UNSENT,
    IllegalTransitionError,
    Transition,
    check,
    strict,
)
from .outcomes import Policy, Receipt, Recorded, matching, policy_of, receive, record
from .planning import (
    add_on_channel,
    cancel,
    cancel_unsent,
    covered,
    plan,
    queued_ids,
    unsent_ids,
)
from .repair import Repaired, fall_back, repair
from .sending import Claim, Claimed, claim, hold, release, renew, still_owned, stop

__all__ = [
    "EDGES",
    "OPEN",
    "TRANSITIONS",
    "UNSENT",
    "Claim",
    "Claimed",
    "IllegalTransitionError",
    "Policy",
    "Receipt",
    "Recorded",
    "Repaired",
    "Transition",
    "add_on_channel",
    "cancel",
    "cancel_unsent",
    "check",
    "claim",
    "covered",
    "fall_back",
    "hold",
    "matching",
    "plan",
    "policy_of",
    "queued_ids",
    "receive",
    "record",
    "release",
    "renew",
    "repair",
    "still_owned",
    "stop",
    "strict",
    "unsent_ids",
]
