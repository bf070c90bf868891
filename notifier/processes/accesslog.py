"""gunicorn's access log without secrets: webhook secrets and tokens in URLs never reach it."""
from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

# Paths whose last segment is a secret (the Telegram webhook's, unsubscribe and API tokens).
_SECRET_PATH = re.compile(r"^(/(?:webhooks/telegram|unsubscribe|u|api/v1/tokens)/)[^/?\s]+")
# Any other long random-looking segment: tokens are 20 or more URL-safe characters.
_TOKEN = re.compile(r"(?<=/)[A-Za-z0-9_\-.~%]{20,}(?=/|$)")
_REDACTED = "[redacted]"
# Request headers that carry credentials, should a log format name them.
_SECRET_HEADERS = ("cookie", "authorization", "x-telegram-bot-api-secret-token",
                   "x-twilio-signature", "x-twilio-email-event-webhook-signature")


def redact(path: str) -> str:
    """Return a path (or URL) without its query and with secret segments replaced."""
    path = path.split("?", 1)[0]
    return _TOKEN.sub(_REDACTED, _SECRET_PATH.sub(rf"\1{_REDACTED}", path))


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with the path, query, referrer and credential headers cleaned."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any
              ) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        path = redact(str(environ.get("RAW_URI") or environ.get("PATH_INFO") or ""))
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["U"] = redact(str(environ.get("PATH_INFO") or ""))
        atoms["q"] = ""
        atoms["f"] = redact(str(atoms.get("f") or "-"))
        for name in _SECRET_HEADERS:
            if f"{{{name}}}i" in atoms:
                atoms[f"{{{name}}}i"] = _REDACTED
        return atoms
