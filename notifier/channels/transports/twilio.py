"""Twilio's HTTP client, rebased onto another root URL (sandbox, edge, proxy), logging nothing."""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from requests.adapters import HTTPAdapter
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

log = logging.getLogger(__name__)


class TwilioTransport(TwilioHttpClient):  # type: ignore[misc]
    """The HTTP client under Twilio's SDK: another root URL, a pool per adapter, no logs."""

    def __init__(self, api_url: str | None = None, *, pool_size: int = 10,
                 timeout: float | None = None) -> None:
        super().__init__(pool_connections=True, timeout=timeout, logger=log)
        self._root = urlsplit(api_url) if api_url else None
        self._local = threading.local()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size)
        assert self.session is not None
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Send the request to the configured root, keeping path and query."""
        if self._root is not None:
            parts = urlsplit(url)
            url = urlunsplit((self._root.scheme, self._root.netloc, parts.path, parts.query, ""))
        response: Response = self.answer(method, url, *args, **kwargs)
        self._local.headers = dict(response.headers or {})
        return response

    def answer(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Exchange one request with the provider (a fake transport answers here instead)."""
        return super().request(method, url, *args, **kwargs)

    def last_headers(self) -> Mapping[str, str]:
        """Return the headers of this thread's last response (the SDK's errors drop Retry-After)."""
        return getattr(self._local, "headers", {})

    def log_request(self, kwargs: dict[str, Any]) -> None:
        """Log nothing: request logs would carry addresses."""

    def log_response(self, status_code: int, response: Any) -> None:
        """Log nothing: response logs would carry addresses."""

    def close(self) -> None:
        """Release the connection pool."""
        if self.session is not None:
            self.session.close()
