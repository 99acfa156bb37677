"""
Tests for L{kcsms.collector}: full garbage collections on the reactor's schedule.
"""

from twisted.internet.task import Clock

from kcsms.collector import FULL_INTERVAL, NEVER, GarbageCollector


class FakeGc:
    """
    The parts of the C{gc} module the collector uses, with counts set by the test.
    """

    def __init__(self) -> None:
        self.thresholds = (700, 10, 10)
        self.counts = (0, 0, 0)
        self.collected = 0

    def get_threshold(self) -> tuple[int, int, int]:
        return self.thresholds

    def set_threshold(self, *thresholds: int) -> None:
        self.thresholds = thresholds  # type: ignore[assignment]

    def get_count(self) -> tuple[int, int, int]:
        return self.counts

    def collect(self) -> int:
        self.collected += 1
        self.counts = (0, 0, 0)
        return 0


def test_youngGenerationsStayWithPython():
    """
    While it runs, CPython still collects the young generations at their
    thresholds but never the oldest; stopping restores the thresholds.
    """
    clock = Clock()
    gc = FakeGc()
    collector = GarbageCollector(clock, gc)
    collector.startService()
    assert gc.thresholds == (700, 10, NEVER)
    collector.stopService()
    assert gc.thresholds == (700, 10, 10)
    assert clock.getDelayedCalls() == []


def test_fullCollectionsRunEveryInterval():
    """
    A full collection runs every L{FULL_INTERVAL} seconds, when objects have
    reached the oldest generation since the last one.
    """
    clock = Clock()
    gc = FakeGc()
    collector = GarbageCollector(clock, gc)
    collector.startService()
    gc.counts = (100, 5, 3)
    clock.advance(FULL_INTERVAL - 1)
    assert gc.collected == 0
    clock.advance(1)
    assert gc.collected == 1
    gc.counts = (300, 4, 0)
    clock.advance(FULL_INTERVAL)
    assert gc.collected == 1
    gc.counts = (0, 0, 1)
    clock.advance(FULL_INTERVAL)
    assert gc.collected == 2
    collector.stopService()
