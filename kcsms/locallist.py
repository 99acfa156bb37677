"""
Local authorization lists: what to send a station to bring its list from
what it has installed to what the operator wants, in as few entries as
possible.

Pure functions over lists as dicts C{idTag -> idTagInfo} (the OCPP JSON
object: C{status}, optional C{expiryDate} and C{parentIdTag}).  The plan is
a Differential with only the changed entries (a removal is an entry without
C{idTagInfo}) unless nothing is known of the station's list or a Full is no
larger; an update longer than the station's C{SendLocalListMaxLength} is
split into several messages with increasing versions.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LocalList", "Update", "planSync", "applyUpdate", "nextVersion"]

#: C{idTag -> idTagInfo}
LocalList = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Update:
    """
    One SendLocalList.req.

    @ivar entries: C{(idTag, idTagInfo or None)} pairs; L{None} removes the tag
        (only in a Differential).
    """

    updateType: str
    listVersion: int
    entries: tuple[tuple[str, Mapping[str, Any] | None], ...]

    def toRequest(self) -> dict[str, Any]:
        """
        @return: the SendLocalList.req payload.
        """
        return {
            "listVersion": self.listVersion,
            "updateType": self.updateType,
            "localAuthorizationList": [
                {"idTag": idTag, **({"idTagInfo": dict(info)} if info is not None else {})}
                for idTag, info in self.entries
            ],
        }


def nextVersion(installedVersion: int, reportedVersion: int | None = None) -> int:
    """
    The version for the next update: above anything installed or reported,
    and never 0 or -1.
    """
    return max(installedVersion, reportedVersion or 0, 0) + 1


def _chunks(entries: list[Any], size: int) -> list[list[Any]]:
    return [entries[i : i + size] for i in range(0, len(entries), size)] or [[]]


def planSync(
    installed: LocalList | None,
    desired: LocalList,
    version: int,
    maxLength: int,
    forceFull: bool = False,
) -> list[Update]:
    """
    The SendLocalList messages that turn C{installed} into C{desired}.

    @param installed: the list the station has, or L{None} when unknown.
    @param version: the first listVersion to use (see L{nextVersion}).
    @param maxLength: the most entries one message may carry.
    @param forceFull: send a Full update whatever is installed (after a
        VersionMismatch).
    @return: the messages in order; none when the station is up to date.
    """
    if maxLength < 1:
        raise ValueError("maxLength must be at least 1")
    if installed is not None and not forceFull and dict(installed) == dict(desired):
        return []
    full = sorted(desired.items())
    changes: list[tuple[str, Mapping[str, Any] | None]] = []
    if installed is not None:
        changes = [(idTag, info) for idTag, info in full if installed.get(idTag) != info] + [
            (idTag, None) for idTag in sorted(installed) if idTag not in desired
        ]
    if forceFull or installed is None or len(full) <= len(changes):
        first, *rest = _chunks(full, maxLength)
        updates = [Update("Full", version, tuple(first))]
    else:
        rest = _chunks(changes, maxLength)
        updates = []
    for offset, chunk in enumerate(rest, start=len(updates)):
        updates.append(Update("Differential", version + offset, tuple(chunk)))
    return updates


def applyUpdate(installed: LocalList | None, update: Update) -> dict[str, Mapping[str, Any]]:
    """
    The list a station has after accepting C{update}.
    """
    result = {} if update.updateType == "Full" else dict(installed or {})
    for idTag, info in update.entries:
        if info is None:
            result.pop(idTag, None)
        else:
            result[idTag] = info
    return result
