"""Logging for every process: plain text for people, or one JSON object per line for machines.

NOTIFIER_LOG_FORMAT=json gives each line the time, level, logger, message, and, where known,
the request id (taken from X-Request-Id or made up, and echoed in the response) and the notice
id (from the URL or the queue job). Messages are scrubbed of phone numbers and email addresses
as a last line of defence: no module logs personal data on purpose.
"""
from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PERSONAL = re.compile(r"\+?\d[\d ()-]{6,}\d|[\w.+-]+@[\w-]+\.[\w.-]+")
REQUEST_ID = re.compile(r"^[\w.-]{1,64}$")


class Context(logging.Filter):
    """Add request_id and notice_id to every record, and scrub personal data from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id") if has_request_context() else None
        record.notice_id = _notice_id()
        message = record.getMessage()
        scrubbed = PERSONAL.sub("<redacted>", message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def _notice_id() -> int | None:
    if has_request_context():
        value = (request.view_args or {}).get("notice_id")
        return int(value) if isinstance(value, int) else None
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # noqa: BLE001 - no RQ context: not a job
        return None
    if job is not None and job.args and isinstance(job.args[0], int):
        return int(job.args[0])  # deliver_batch(notice_id, ...)
    return None


def handler(fmt: str) -> logging.Handler:
    """Return a stderr handler in the chosen format."""
    out = logging.StreamHandler()
    if fmt == "json":
        out.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(notice_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False))
    else:
        out.setFormatter(logging.Formatter(TEXT_FORMAT))
    out.addFilter(Context())
    return out


def configure(app: Flask) -> None:
    """Set up the root logger once per process, and request ids for the app."""
    root = logging.getLogger()
    if not any(isinstance(f, Context) for h in root.handlers for f in h.filters):
        for old in list(root.handlers):
            if type(old) is logging.StreamHandler:  # basicConfig's; keep pytest's and files
                root.removeHandler(old)
        root.addHandler(handler(app.config.get("LOG_FORMAT", "text")))
    root.setLevel(app.config["LOG_LEVEL"])
    app.before_request(_request_id)
    app.after_request(_echo_request_id)


def _request_id() -> None:
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex


def _echo_request_id(resp: Response) -> Response:
    if g.get("request_id"):
        resp.headers["X-Request-Id"] = g.request_id
    return resp


def fields(record: Any) -> dict[str, Any]:
    """Return the context fields of a record (for tests and tools)."""
    return {"request_id": getattr(record, "request_id", None),
            "notice_id": getattr(record, "notice_id", None)}
