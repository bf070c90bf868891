"""The JSON API under /api/v1, described by the OpenAPI 3.1 document generated from this code.

flask-smorest builds `/api/v1/openapi.json` from the marshmallow schemas and decorators of the
views, so the document cannot drift from what the views accept and answer. Every caller
presents a personal API token (`Authorization: Bearer ntf_...`) and acts with its account's
role; errors are RFC 9457 problem details. `/api/v2/*.json` is the read-only
Statuspage-compatible API of notifier.web.status, not this one.
"""
from __future__ import annotations

import http
from typing import Any

from flask import Flask, g, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from .. import auth as console_auth
from .. import limiter as limits
from .problems import PROBLEM_TYPE, Problem, ProblemSchema, authenticate, from_http

PREFIX = "/api/v1"
OPENAPI = f"{PREFIX}/openapi.json"
PUBLIC = frozenset({OPENAPI})


class NotifierApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, answering problem details only under /api/v1 (the console keeps its pages)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        self._app.register_error_handler(HTTPException, _http_error)

    def _register_responses(self) -> None:
        # As flask-smorest's, but errors are documented as application/problem+json.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "A problem (RFC 9457): what is wrong and what to do",
                   "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_TYPE)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


def _http_error(error: HTTPException) -> Any:
    """Answer an HTTP error as a problem under /api/v1, and as before everywhere else."""
    if not request.path.startswith(PREFIX + "/") and request.path != PREFIX:
        return error
    return from_http(error).response()


def _authenticate() -> Any:
    """Act as the account of the bearer token; the session cookie never counts here."""
    if not request.path.startswith(PREFIX + "/") or request.path in PUBLIC:
        return None
    g.user = None
    problem: Problem | None = authenticate()
    return problem.response() if problem is not None else None


def init_app(app: Flask) -> None:
    """Register the API blueprints, the document, the token check and the problem answers."""
    from . import alerts, banner, contacts, incidents, notices, subscribers, templates

    app.config.setdefault("API_TITLE", "notifier")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "The notifier's own API. Authenticate with a personal API token "
                                "(`notifier tokens create EMAIL --name NAME`)."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "description": "A personal API token: Authorization: Bearer ntf_..."}}},
    })
    api = NotifierApi(app)
    app.before_request(_authenticate)
    for module in (incidents, notices, templates, contacts, subscribers, banner, alerts):
        console_auth.csrf.exempt(module.blp)  # bearer tokens, never cookies: no CSRF to fear
        limits.limiter.limit("600 per minute")(module.blp)
        # Named apart from the console pages of the same areas (notices, incidents, contacts).
        api.register_blueprint(module.blp, name=f"api_{module.blp.name}")
    app.extensions["notifier.api"] = api
