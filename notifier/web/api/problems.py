"""RFC 9457 problem details for the API, the bearer-token check and permission checks."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import marshmallow as ma
from flask import Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ... import accounts, db, tokens
from ...errors import NotifierError

PROBLEM_TYPE = "application/problem+json"
BASE = "urn:notifier:problem:"
F = TypeVar("F", bound=Callable[..., Any])


class ProblemSchema(ma.Schema):
    """A problem (RFC 9457): a stable type, a title, the status and what to do about it."""

    type = ma.fields.String(required=True, metadata={"description": "Stable URI of the kind of problem"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(metadata={"description": "What is wrong and what to do"})
    instance = ma.fields.String()
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(),
                            metadata={"description": "Field name -> what is wrong with it"})


@dataclass
class Problem(Exception):
    """A problem to answer with; raise it from a view or return its response."""

    status: int
    kind: str
    title: str
    detail: str
    errors: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        """Return the problem as an application/problem+json response."""
        body: dict[str, Any] = {"type": BASE + self.kind, "title": self.title,
                                "status": self.status, "detail": self.detail,
                                "instance": request.path}
        if self.errors:
            body["errors"] = self.errors
        resp = jsonify(body)
        resp.status_code = self.status
        resp.mimetype = PROBLEM_TYPE
        resp.headers.update(self.headers)
        return resp


def _words(messages: Any) -> dict[str, Any]:
    """Flatten webargs' {"json": {"field": [...]}} into {"field": "..."}."""
    if not isinstance(messages, dict):
        return {"body": messages}
    if set(messages) <= {"json", "query", "headers", "form", "files", "view_args"}:
        flat: dict[str, Any] = {}
        for per in messages.values():
            flat.update(per if isinstance(per, dict) else {"body": per})
        return flat
    return messages


def from_http(error: HTTPException) -> Problem:
    """Turn an HTTP error (also a failed validation) into a problem."""
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    if code == 422 and "messages" in data:
        return Problem(422, "validation", "The request does not fit",
                       "Some fields are missing or wrong: see errors, fix them and send again.",
                       _words(data["messages"]))
    detail = {404: "There is no such resource: check the id or key in the URL.",
              405: "This URL does not take that method: see /api/v1/openapi.json.",
              500: "Something failed on the server; nothing was half-done. Try again, and "
                   "tell an admin if it persists."}.get(code, error.description or error.name)
    return Problem(code, error.name.lower().replace(" ", "-"), error.name, detail,
                   headers=dict(data.get("headers", {})))


STATUS_OF = {"TokenError": 401, "IdempotencyError": 409, "ControlError": 409,
             "ApprovalError": 403, "DraftError": 409}


def from_error(exc: NotifierError) -> Problem:
    """Turn a domain error into a problem with its own words (they say what to do)."""
    name = type(exc).__name__
    errors = dict(getattr(exc, "errors", {}) or {})
    status = STATUS_OF.get(name, 422)
    kind = name.removesuffix("Error").lower() or "notifier"
    return Problem(status, kind, "The request cannot be carried out", str(exc), errors)


def authenticate() -> Problem | None:
    """Set g.user from the bearer token, or return the problem that refuses the call."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="notifier"'}
    if scheme.lower() != "bearer" or not secret.strip():
        return Problem(401, "unauthenticated", "A token is needed",
                       "Send Authorization: Bearer <token>. Create a token with `notifier tokens "
                       "create EMAIL --name NAME` or on the console's API tokens page.",
                       headers=challenge)
    try:
        user, token = tokens.authenticate(db.session(), secret)
    except tokens.TokenError as exc:
        return Problem(401, "unauthenticated", "The token is not accepted", str(exc),
                       headers=challenge)
    g.user, g.api_token_id, g.api_token_prefix = user, token.id, token.prefix
    if tokens.stale(token):
        with db.transaction() as s:
            tokens.touch(s, token.id)
    return None


def needs(permission: str) -> Callable[[F], F]:
    """Refuse a view unless the token's account holds the permission (the console's rule)."""
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not accounts.may(g.get("user"), permission):
                raise Problem(403, "forbidden", "Not allowed for this account",
                              f"{g.user.email} is {g.user.role}: this needs the '{permission}' "
                              "permission. Use a token of an account that has it.")
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorator


def who() -> str:
    """Name the caller in the audit log: the account and the token it used."""
    return f"user:{g.user.email} (API token {g.api_token_prefix}...)"


def answer_problems(bp: Any) -> None:
    """Make a blueprint answer Problem and NotifierError as problem details."""
    bp.register_error_handler(Problem, lambda p: p.response())
    bp.register_error_handler(NotifierError, lambda e: from_error(e).response())
