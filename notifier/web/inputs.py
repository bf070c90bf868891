"""Refuse NUL characters in any request: PostgreSQL text cannot hold them, so they would be a 500."""
from __future__ import annotations

from flask import Flask, Response, request

NUL = "\x00"


def _has_nul() -> bool:
    if NUL in request.path or b"%00" in request.query_string.lower():
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    body = request.get_data(cache=True)
    if b"\x00" in body or b"\\u0000" in body:
        return True
    return any(NUL in v for v in request.form.values())


def _refuse() -> Response | None:
    if not _has_nul():
        return None
    message = "The request contains a NUL character (\\u0000): remove it and send again."
    if request.path.startswith("/api/v1/"):
        from .api.problems import Problem

        return Problem(400, "nul-character", "A NUL character is not accepted", message).response()
    return Response(message + "\n", status=400, mimetype="text/plain")


def init_app(app: Flask) -> None:
    """Check every request before any view reads it."""
    app.before_request(_refuse)
