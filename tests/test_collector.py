"""
Tests for L{kcsms.collector}: garbage collected on the reactor's schedule.
"""

from twisted.internet.task import Clock

from kcsms.collector import CHECK_INTERVAL, MIN_INTERVALS, GarbageCollector


class FakeGc:
    """
    The parts of the C{gc} module the collector uses, with counts set by the test.
    """

    def __init__(self) -> None:
        self.enabled = True
        self.counts = [0, 0, 0]
        self.collected: list[int] = []

    def isenabled(self) -> bool:
        return self.enabled

    def enable(self) -> None:
        self.enabled = True

    def disable(self) -> None:
        self.enabled = False

    def get_count(self) -> tuple[int, int, int]:
        return tuple(self.counts)  # type: ignore[return-value]

    def get_threshold(self) -> tuple[int, int, int]:
        return (700, 10, 10)

    def collect(self, generation: int) -> int:
        self.collected.append(generation)
        for younger in range(generation + 1):
            self.counts[younger] = 0
        if generation < 2:
            self.counts[generation + 1] += 1
        return 0


def started() -> tuple[Clock, FakeGc, GarbageCollector]:
    clock = Clock()
    gc = FakeGc()
    collector = GarbageCollector(clock, gc)
    collector.startService()
    return clock, gc, collector


def test_automaticCollectionIsOffWhileRunning():
    """
    Python's own collection is off while the collector runs and back on
    after it stops; a process that had it off keeps it off.
    """
    clock, gc, collector = started()
    assert not gc.enabled
    collector.stopService()
    assert gc.enabled
    assert clock.getDelayedCalls() == []
    gc.enabled = False
    collector.startService()
    collector.stopService()
    assert not gc.enabled


def test_youngGenerationIsCollectedAtMostEverySecond():
    """
    Generation 0 is collected once its count is over its threshold, but no
    sooner than L{MIN_INTERVALS}[0] after the last collection.
    """
    clock, gc, collector = started()
    gc.counts[0] = 5000
    clock.advance(CHECK_INTERVAL)
    assert gc.collected == []
    clock.advance(MIN_INTERVALS[0])
    assert gc.collected == [0]
    gc.counts[0] = 5000
    clock.advance(CHECK_INTERVAL)
    assert gc.collected == [0]
    gc.counts[0] = 10
    clock.advance(MIN_INTERVALS[0])
    assert gc.collected == [0]


def test_olderGenerationsWaitLonger():
    """
    An older generation over its threshold is collected (with the younger
    ones) once its own minimum interval has passed; until then the younger
    ones are collected as usual.
    """
    clock, gc, collector = started()
    gc.counts = [5000, 50, 50]
    clock.advance(MIN_INTERVALS[0])
    assert gc.collected == [0]
    gc.counts = [5000, 50, 50]
    clock.advance(MIN_INTERVALS[1])
    assert gc.collected == [0, 1]
    gc.counts = [5000, 50, 50]
    clock.advance(MIN_INTERVALS[2])
    assert gc.collected == [0, 1, 2]
    gc.counts = [5000, 50, 50]
    clock.advance(MIN_INTERVALS[0])
    assert gc.collected == [0, 1, 2, 0]
