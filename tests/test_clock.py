"""Time as a person sees and types it: Swedish local time, one format, stored as aware UTC."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifier import clock


def test_a_stored_moment_is_shown_in_swedish_time_summer_and_winter() -> None:
    assert clock.local(datetime(2026, 7, 1, 6, 12, tzinfo=UTC)) == "2026-07-01 08:12"
    assert clock.local(datetime(2026, 12, 6, 1, 0)) == "2026-12-06 02:00"  # naive: UTC
    assert clock.local(None) == "-"


def test_a_typed_time_is_read_as_swedish_time_and_stored_as_utc() -> None:
    assert clock.parse_local("2026-12-06 02:00") == datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
    assert clock.parse_local("2026-07-01T08:12") == datetime(2026, 7, 1, 6, 12, tzinfo=UTC)


def test_a_time_in_the_hour_the_clocks_skip_is_refused_with_what_to_do() -> None:
    with pytest.raises(clock.TimeInputError, match="does not exist in Swedish time.*pick another"):
        clock.parse_local("2026-03-29 02:30")


def test_text_that_is_not_a_time_says_how_to_write_one() -> None:
    with pytest.raises(clock.TimeInputError, match="write YYYY-MM-DD HH:MM"):
        clock.parse_local("i morgon")
