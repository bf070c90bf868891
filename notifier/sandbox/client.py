"""A small client for the sandbox control API (tests, benchmarks, the console's inbox)."""
from __future__ import annotations

from typing import Any

import httpx

from notifier.errors import NotifierError


class SandboxClientError(NotifierError):
    """The sandbox control API refused a request or could not be reached."""


class SandboxClient:
    """Talk to the /sandbox/ control API of a running simulator."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.request(method, f"/sandbox{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise SandboxClientError(
                f"cannot reach the provider sandbox at {self._http.base_url}: {exc}. "
                "Is it running?") from exc
        if resp.status_code >= 400:
            raise SandboxClientError(f"sandbox refused {method} {path}: {resp.text}")
        return resp.json()

    def messages(self, channel: str | None = None, to: str | None = None) -> list[dict[str, Any]]:
        """List recorded messages, oldest first."""
        params = {k: v for k, v in (("channel", channel), ("to", to)) if v is not None}
        return list(self._call("GET", "/messages", params=params)["messages"])

    def reset(self) -> None:
        """Forget recorded messages, call counts and faults."""
        self._call("DELETE", "/messages")
        self._call("DELETE", "/faults")

    def fault(self, channel: str, kind: str, *, rate: float = 1.0, count: int | None = None,
              addresses: list[str] | None = None, retry_after: float = 1,
              seconds: float | None = None, problem: bool = False) -> dict[str, Any]:
        """Inject a fault; return it as the sandbox stored it."""
        body: dict[str, Any] = {"channel": channel, "kind": kind, "rate": rate, "count": count,
                                "addresses": addresses, "retry_after": retry_after,
                                "problem": problem}
        if seconds is not None:
            body["seconds"] = seconds
        return dict(self._call("POST", "/faults", json=body))

    def faults(self) -> list[dict[str, Any]]:
        """List injected faults."""
        return list(self._call("GET", "/faults")["faults"])

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._call("DELETE", "/faults")

    def stats(self) -> dict[str, Any]:
        """Return call counts per channel and HTTP status."""
        return dict(self._call("GET", "/stats"))

    def callbacks(self) -> list[dict[str, Any]]:
        """List the callbacks the simulators made, with the answers they got."""
        return list(self._call("GET", "/callbacks")["callbacks"])

    def sendgrid_event_webhook(self, url: str) -> str:
        """Have SendGrid events posted to url; return the base64 key that verifies them."""
        return str(self._call("PUT", "/sendgrid/event-webhook", json={"url": url})["public_key"])

    def call(self, url: str, *, caller: str = "+46701740699", to: str = "+46812345678",
             press: str | None = None) -> list[dict[str, str]]:
        """Simulate a call to a voice webhook; return what the caller hears ({language, text})."""
        body = {"url": url, "from": caller, "to": to, "press": press}
        return list(self._call("POST", "/twilio/calls", json=body, timeout=30)["transcript"])

    def telegram_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (what a person does in Telegram); return its update_id."""
        return int(self._call("POST", "/telegram/updates", json=update)["update_id"])

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def __enter__(self) -> SandboxClient:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
