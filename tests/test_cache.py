"""
Tests for L{kcsms.storage.cache}: id tags kept in memory.
"""

from twisted.internet.task import Clock

from kcsms.model import IdTag
from kcsms.storage import cache
from kcsms.storage.cache import IdTagCache

TAG = IdTag("AB12", "Accepted")


def test_keptUntilOlderThanItsSeconds():
    """
    What a read found is used for C{seconds}, whatever the case of the id
    tag asked for; then it is read again.
    """
    clock = Clock()
    tags = IdTagCache(60, clock)
    assert tags.get("AB12") == (False, None)
    tags.keep("AB12", TAG, tags.generation)
    clock.advance(59.9)
    assert tags.get("ab12") == (True, TAG)
    clock.advance(0.1)
    assert tags.get("AB12") == (False, None)


def test_unknownIdTagsAreKeptToo():
    """
    That there is no such id tag is kept like a tag.
    """
    tags = IdTagCache(60, Clock())
    tags.keep("NOPE", None, tags.generation)
    assert tags.get("NOPE") == (True, None)


def test_forgottenIdTagIsReadAgain():
    """
    After L{IdTagCache.forget} the id tag is read again, and a read that
    began before is not kept: it may hold what the change replaced.
    """
    tags = IdTagCache(60, Clock())
    tags.keep("AB12", TAG, tags.generation)
    before = tags.generation
    tags.forget("ab12")
    assert tags.get("AB12") == (False, None)
    tags.keep("AB12", TAG, before)
    assert tags.get("AB12") == (False, None)
    tags.keep("AB12", IdTag("AB12", "Blocked"), tags.generation)
    assert tags.get("AB12") == (True, IdTag("AB12", "Blocked"))


def test_zeroSecondsKeepsNothing():
    """
    With C{0} seconds every read goes to the database; no clock is needed.
    """
    tags = IdTagCache()
    tags.keep("AB12", TAG, tags.generation)
    assert tags.get("AB12") == (False, None)


def test_oldestEntryGoesWhenFull(monkeypatch):
    """
    At most L{cache.MAX_ENTRIES} id tags are kept: the one kept first goes.
    """
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    tags = IdTagCache(60, Clock())
    for name in ("A", "B", "C", "A", "D"):
        tags.keep(name, IdTag(name, "Accepted"), tags.generation)
    assert [tags.get(name)[0] for name in ("A", "B", "C", "D")] == [True, False, True, True]
