"""Public endpoints: the banner document and script, health checks."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request
from sqlalchemy import text

from .. import banner, db, queues

bp = Blueprint("public", __name__)

JSON_CACHE = "public, max-age=15, stale-while-revalidate=60, stale-if-error=86400"


def _cors(resp: Response) -> Response:
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/banner.json")
def banner_json() -> Response:
    """Serve the precomputed banner document with ETag revalidation."""
    body, etag = current_app.extensions["notifier.banner"].get(
        current_app.extensions["notifier.sessions"])
    if request.if_none_match.contains(etag):
        resp = Response(status=304)
    else:
        resp = Response(body, mimetype="application/json")
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = JSON_CACHE
    return _cors(resp)


class BannerFastPath:
    """Serve GET /banner.json before Flask: the same bytes and headers, without Flask's per-request work.

    The banner is what a traffic spike hits during an outage; the Flask route above stays for
    url_for and as the reference the tests compare with.
    """

    def __init__(self, app: Flask, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app
        self.cache = app.extensions["notifier.banner"]
        self.sessions = app.extensions["notifier.sessions"]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") != "/banner.json" or method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        body, etag = self.cache.get(self.sessions)
        quoted = f'"{etag}"'
        headers = [("ETag", quoted), ("Cache-Control", JSON_CACHE),
                   ("Access-Control-Allow-Origin", "*"), ("X-Content-Type-Options", "nosniff")]
        match = environ.get("HTTP_IF_NONE_MATCH", "")
        if quoted in match or match.strip() == "*":
            start_response("304 NOT MODIFIED", headers)
            return [b""]
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [body if method == "GET" else b""]


@lru_cache(maxsize=1)
def _script() -> tuple[bytes, str]:
    data = banner.SCRIPT.read_bytes()
    return data, banner.script_version(data)


def script_version() -> str:
    """Return the version of banner.js used in its immutable URL."""
    return _script()[1]


def _script_response(cache: str) -> Response:
    data, version = _script()
    resp = Response(data, mimetype="text/javascript")
    resp.set_etag(version)
    resp.headers["Cache-Control"] = cache
    _cors(resp).make_conditional(request)
    return resp


@bp.get("/banner.js")
def banner_js() -> Response:
    """Serve the stable loader URL (short cache, so fixes reach every site)."""
    return _script_response("public, max-age=300, stale-while-revalidate=3600")


@bp.get("/banner.<version>.js")
def banner_js_pinned(version: str) -> Response:
    """Serve the immutable versioned script (for Subresource Integrity pinning)."""
    if version != script_version():
        abort(404)
    return _script_response("public, max-age=31536000, immutable")


@bp.get("/healthz")
def healthz() -> dict[str, Any]:
    """Say the process is up."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    """Say whether the database and Redis are reachable."""
    checks: dict[str, str] = {}
    try:
        with db.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as not ready
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        queues.redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ready else "unavailable", **checks}, 200 if ready else 503
