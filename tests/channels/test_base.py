"""What every adapter shares: reading Retry-After, scrubbing provider error texts."""
from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest

from notifier.channels.base import retry_after, scrub


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"Retry-After": "3"}, 3.0),
    ({"retry-after": "120"}, 120.0),
    ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past: now
    ({"Retry-After": "soon"}, None),
    ({"Retry-After": ""}, None),
    ({}, None),
    (None, None),
])
def test_retry_after_reads_seconds_and_dates(headers: dict[str, str] | None,
                                             seconds: float | None) -> None:
    assert retry_after(headers) == seconds


def test_retry_after_reads_a_future_http_date_as_seconds_from_now() -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(minutes=2), usegmt=True)

    wait = retry_after({"Retry-After": later})

    assert wait is not None and 100 < wait <= 120


def test_scrub_removes_phone_numbers() -> None:
    assert scrub("The 'To' number +46 70 123 45 67 is not valid") == \
        "The 'To' number <number> is not valid"
    assert scrub("Error 21211 at 2024") == "Error 21211 at 2024"
