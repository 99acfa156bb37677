"""
Id tags kept in memory by the store, so that a station's Authorize,
StartTransaction and StopTransaction need not each read its id tag from the
database (on PostgreSQL, a round trip each).

Every change made through the store (L{kcsms.storage.store.Store.putIdTag},
C{deleteIdTag}) takes effect at once; in a cluster the node that made it
tells the others (L{kcsms.events.IdTagChanged}).  A change made some other
way, directly in the database, is seen once the entry is older than
C{[storage] id_tag_cache_seconds}.
"""

from typing import Any

from twisted.internet.interfaces import IReactorTime

from kcsms.model import IdTag

__all__ = ["IdTagCache", "MAX_ENTRIES"]

#: Id tags kept at most; the oldest entry goes first.
MAX_ENTRIES = 100_000


class IdTagCache:
    """
    Id tags (or that there is no such id tag) as read from the database,
    for at most C{seconds}.

    A read that started before the cache was told of a change is not kept
    (L{generation}): it may hold what the change replaced.

    @param seconds: how long an entry is used; C{0} keeps nothing.
    @param clock: tells the time (needed when C{seconds} is not C{0}).
    """

    def __init__(self, seconds: float = 0, clock: IReactorTime | None = None) -> None:
        assert clock is not None or not seconds, "a cache that keeps entries needs a clock"
        self._seconds = seconds
        self._clock: Any = clock
        # id tag key -> (read at, the id tag or None)
        self._entries: dict[str, tuple[float, IdTag | None]] = {}
        self.generation = 0

    def get(self, idTag: str) -> tuple[bool, IdTag | None]:
        """
        @return: C{(True, tag)} when C{idTag} is known here (C{tag} is
            L{None} when there is no such id tag), else C{(False, None)}.
        """
        key = idTag.lower()
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if self._clock.seconds() - entry[0] >= self._seconds:
            del self._entries[key]
            return False, None
        return True, entry[1]

    def keep(self, idTag: str, tag: IdTag | None, generation: int) -> None:
        """
        Remember what a read of C{idTag} found.

        @param generation: L{generation} when the read began.
        """
        if generation != self.generation or not self._seconds:
            return
        key = idTag.lower()
        self._entries.pop(key, None)
        if len(self._entries) >= MAX_ENTRIES:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (self._clock.seconds(), tag)

    def forget(self, idTag: str) -> None:
        """
        C{idTag} changed: read it again next time.
        """
        self.generation += 1
        self._entries.pop(idTag.lower(), None)
