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
        ("2026-11-28T10:20:31.5Z", datetime(2026, 11, 28, 10, 20, 31, 500000, tzinfo=UTC)),
        ("2026-11-28T10:20:31.000001Z", datetime(2026, 11, 28, 10, 20, 31, 1, tzinfo=UTC)),
        ("2026-11-28t10:20:31.2z", datetime(2026, 11, 28, 10, 20, 31, 200000, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_parseTimestampAcceptsOffsetsAndNoOffset(text, expected):
    """
    Offsets are applied, and a time without an offset is taken as UTC.
    """
    parsed = parseTimestamp(text)
    assert (parsed, parsed.tzinfo) == (expected, UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-11-28",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00.000Z",
        "2026-11-28T24:00:00.000Z",
        "2026-11-28 10:20:31Z x",
        "\u0662\u0660\u0662\u0666-11-28T10:20:31Z",
    ],
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
