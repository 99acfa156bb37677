"""
Python's cyclic garbage collector, run on the reactor's schedule.

CPython collects the oldest generation whenever enough objects have
survived into it, and a full collection over the objects of thousands of
connections stops the reactor for 100 ms and more, several times a minute
under load: every station whose message arrives meanwhile waits.
L{GarbageCollector} switches automatic collection off and collects from a
timer instead, each generation only when CPython would have (its count is
over its threshold) and no more often than L{MIN_INTERVALS} allows, so that
the long pauses are rare and objects that live a few tenths of a second (a
message waiting for its commit) die young instead of being promoted.

C{twistd kcsms} runs one; a host application that embeds kcsms decides for
its own process and can add one to its application (see the README).
"""

import gc
from collections.abc import Callable

from twisted.application.service import Service
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall

__all__ = ["GarbageCollector", "MIN_INTERVALS", "CHECK_INTERVAL"]

#: Seconds between the checks of the generation counts.
CHECK_INTERVAL = 0.1

#: The fewest seconds between two collections of generation 0, 1 and 2.
MIN_INTERVALS = (1.0, 10.0, 60.0)


class GarbageCollector(Service):
    """
    Collects garbage from a timer while running, with Python's automatic
    collection off; restores automatic collection when stopped.

    @param clock: the reactor whose time and timer it uses.
    @param gcModule: the C{gc} module, or a stand-in for tests.
    """

    def __init__(self, clock: IReactorTime, gcModule: object = gc) -> None:
        self._clock = clock
        self._gc = gcModule
        self._last = [0.0, 0.0, 0.0]
        self._wasEnabled = True
        self._check = LoopingCall(self.collectDue)
        self._check.clock = clock

    def startService(self) -> None:
        super().startService()
        self._wasEnabled = self._gc.isenabled()  # type: ignore[attr-defined]
        self._gc.disable()  # type: ignore[attr-defined]
        now = self._clock.seconds()
        self._last = [now, now, now]
        self._check.start(CHECK_INTERVAL, now=False)

    def stopService(self) -> None:
        super().stopService()
        if self._check.running:
            self._check.stop()
        if self._wasEnabled:
            self._gc.enable()  # type: ignore[attr-defined]

    def collectDue(self) -> None:
        """
        Collect the oldest generation that is over its threshold and whose
        minimum interval has passed (a collection includes the younger ones).
        """
        counts = self._gc.get_count()  # type: ignore[attr-defined]
        thresholds = self._gc.get_threshold()  # type: ignore[attr-defined]
        now = self._clock.seconds()
        collect: Callable[[int], int] = self._gc.collect  # type: ignore[attr-defined]
        for generation in (2, 1, 0):
            if (
                counts[generation] > thresholds[generation]
                and now - self._last[generation] >= MIN_INTERVALS[generation]
            ):
                collect(generation)
                for younger in range(generation + 1):
                    self._last[younger] = now
                return
