"""Fuzzing the API from its own OpenAPI document: no server error, no answer that breaks the schema.

schemathesis generates requests for every operation of /api/v1/openapi.json (valid ones and
broken ones) and checks each answer: never a 5xx, status code, content type, headers and body
as documented. It runs against the real app, database and Redis, with an admin's token so every
operation is reachable.
"""
from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from notifier import db, tokens

EXAMPLES = 25
# A request can fit the schema and still ask for something that does not exist or does not fit
# (an unknown template, values a template refuses): that is a 422 with the reason, not a bug.
EXCLUDED = [positive_data_acceptance]


def test_no_server_error_and_every_answer_fits_the_document(app: Flask, demo: Any) -> None:
    with app.app_context(), db.transaction() as s:
        headers = {"Authorization": "Bearer " + tokens.create(s, "admin@solvik.example",
                                                               "fuzz").secret}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

        fuzz()
