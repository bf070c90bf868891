"""GET /metrics for Prometheus: from the configured addresses, or with an API token."""
from __future__ import annotations

import ipaddress

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .. import db, metrics, tokens
from ..errors import NotifierError

bp = Blueprint("metrics", __name__)


def _allowed() -> bool:
    """Let in the configured networks (Prometheus's address), or a valid API token."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        address = None
    if address is not None and any(address in ipaddress.ip_network(n)
                                   for n in current_app.config["METRICS_ALLOW"]):
        return True
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret:
        return False
    try:
        tokens.authenticate(db.session(), secret)
    except NotifierError:
        return False
    return True


@bp.get("/metrics")
def scrape() -> Response:
    """Answer the Prometheus text format."""
    if not _allowed():
        return Response("Forbidden: scrape from an address in NOTIFIER_METRICS_ALLOW, or send "
                        "Authorization: Bearer <API token>.\n", status=403, mimetype="text/plain")
    body = generate_latest(current_app.extensions["notifier.metrics"])
    resp = Response(body, headers={"Cache-Control": "no-store"})
    resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return resp


def init_app(app: Flask) -> None:
    """Register /metrics with the app's own collector registry."""
    app.extensions["notifier.metrics"] = metrics.registry(app)
    app.register_blueprint(bp)
