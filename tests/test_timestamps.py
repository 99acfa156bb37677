"""
Tests for L{kcsms.timestamps}.
"""

from datetime import UTC, datetime

import pytest

from kcsms.timestamps import formatTimestamp, isTimestamp, parseTimestamp


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-28T10:20:31Z", datetime(2026, 11, 28, 10, 20, 31, tzinfo=UTC)),
        ("2026-11-28T10:20:31.123Z", datetime(2026, 11, 28, 10, 20, 31, 123000, tzinfo=UTC)),
        ("2026-11-28T10:20:31.1234567Z", datetime(2026, 11, 28, 10, 20, 31, 123456, tzinfo=UTC)),
        ("2026-11-28T12:20:31+02:00", datetime(2026, 11, 28, 10, 20, 31, tzinfo=UTC)),
        ("2026-11-28T05:20:31-0500", datetime(2026, 11, 28, 10, 20, 31, tzinfo=UTC)),
        ("2026-11-28T10:20:31", datetime(2026, 11, 28, 10, 20, 31, tzinfo=UTC)),
    ],
)
def test_parseTimestampAcceptsOffsetsAndNoOffset(text, expected):
    """
    Offsets are applied, and a time without an offset is taken as UTC.
    """
    assert parseTimestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-11-28", "2026-13-01T00:00:00Z", "2026-11-28 10:20:31Z x"]
)
def test_parseTimestampRejectsNonTimes(text):
    """
    Anything that is not a date-time raises L{ValueError}.
    """
    with pytest.raises(ValueError):
        parseTimestamp(text)
    assert not isTimestamp(text)


def test_formatTimestampHasMillisecondsAndZ():
    """
    Times go out in UTC with exactly three fraction digits and a C{Z}.
    """
    stamp = parseTimestamp("2026-11-28T12:20:31.123456+02:00")
    assert formatTimestamp(stamp) == "2026-11-28T10:20:31.123Z"
    assert formatTimestamp(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"
