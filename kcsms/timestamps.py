"""
OCPP timestamps: parsing what stations send and formatting what we send.

Stations send ISO 8601 / RFC 3339 date-times, sometimes with fractional
seconds, sometimes with an offset other than C{Z}, and some real chargers send
no offset at all; those are taken as UTC.  Everything kcsms sends is UTC with
milliseconds and a C{Z}: C{2026-11-28T10:20:31.123Z}.
"""

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

__all__ = ["parseTimestamp", "formatTimestamp", "isTimestamp"]

#: What nearly every station sends (UTC, C{Z}, up to microseconds, no leap
#: second): parsed by L{datetime.fromisoformat}, several times quicker.
_CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:[0-5]\d(?:\.\d{1,6})?Z", re.ASCII)
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$",
    re.ASCII,  # RFC 3339 digits are ASCII; \d alone also takes other scripts' digits
)


def parseTimestamp(text: str) -> datetime:
    """
    Parse an OCPP date-time.

    @param text: an RFC 3339 date-time; a missing offset means UTC.
    @return: an aware L{datetime} in UTC.
    @raise ValueError: when C{text} is not a date-time.
    """
    if _CANONICAL.fullmatch(text):
        return datetime.fromisoformat(text)
    match = _TIMESTAMP.match(text)
    if match is None:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    year, month, day, hour, minute, second, fraction, _, sign, offH, offM = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    if second == "60":
        # A leap second; keep the instant inside the minute.
        second = "59"
        microsecond = 999999
    tz: timezone = UTC
    if sign is not None:
        offset = timedelta(hours=int(offH), minutes=int(offM))
        if offset >= timedelta(hours=24):
            raise ValueError(f"offset out of range: {text!r}")
        tz = timezone(-offset if sign == "-" else offset)
    stamp = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond, tz
    )
    return stamp.astimezone(UTC)


@lru_cache(maxsize=4096)
def isTimestamp(text: str) -> bool:
    """
    @return: whether C{text} is a date-time that L{parseTimestamp} accepts.
        (Remembered for the latest few thousand: the schema checks ask
        about the same times again and again.)
    """
    try:
        parseTimestamp(text)
    except ValueError:
        return False
    return True


def formatTimestamp(stamp: datetime) -> str:
    """
    Format a time the way kcsms sends it: UTC, milliseconds, C{Z}.

    @param stamp: an aware datetime (a naive one is taken as UTC).
    """
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    elif stamp.utcoffset():
        stamp = stamp.astimezone(UTC)
    # isoformat() ends an aware UTC time with "+00:00".
    return stamp.isoformat(timespec="milliseconds")[:-6] + "Z"
