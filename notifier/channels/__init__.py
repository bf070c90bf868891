"""How a notice reaches people: one adapter per delivery channel, alike (see base.py)."""
from __future__ import annotations

from .registry import ADAPTERS, make_adapter

__all__ = ["ADAPTERS", "make_adapter"]
