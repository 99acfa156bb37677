"""
Python's full garbage collections, run on the reactor's schedule.

CPython runs a full collection (of its oldest generation) whenever enough
objects have survived into it, and a full collection over the objects of
thousands of connections stops the reactor for 100 ms and more -- several
times a minute under load, as every message keeps a few objects alive for
the milliseconds until its commit.  Every station whose message arrives
meanwhile waits.  L{GarbageCollector} leaves the young generations to
CPython (their collections are short) and runs the full collections itself,
at most every L{FULL_INTERVAL} seconds, so that a long pause is rare.

C{twistd kcsms} runs one; a host application that embeds kcsms decides for
its own process and can add one to its application (see the README).
"""

import gc
from typing import Any

from twisted.application.service import Service
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall

__all__ = ["GarbageCollector", "FULL_INTERVAL", "NEVER"]

#: Seconds between two full collections at most.
FULL_INTERVAL = 60.0

#: A threshold the oldest generation's count never reaches.
NEVER = 2**31 - 1


class GarbageCollector(Service):
    """
    While running, CPython collects only the young generations by itself;
    a full collection runs every L{FULL_INTERVAL} seconds when the young
    generations' collections have moved objects into the oldest since the
    last one.  Stopping gives CPython back its own thresholds.

    @param clock: the reactor whose timer it uses.
    @param gcModule: the C{gc} module, or a stand-in for tests.
    """

    def __init__(self, clock: IReactorTime, gcModule: Any = gc) -> None:
        self._gc = gcModule
        self._thresholds: tuple[int, ...] = ()
        self._collect = LoopingCall(self.collectFull)
        self._collect.clock = clock

    def startService(self) -> None:
        super().startService()
        self._thresholds = self._gc.get_threshold()
        young, middle = self._thresholds[:2]
        self._gc.set_threshold(young, middle, NEVER)
        self._collect.start(FULL_INTERVAL, now=False)

    def stopService(self) -> None:
        super().stopService()
        if self._collect.running:
            self._collect.stop()
        self._gc.set_threshold(*self._thresholds)

    def collectFull(self) -> None:
        """
        Collect every generation, unless nothing has reached the oldest
        since the last time.
        """
        if self._gc.get_count()[2] > 0:
            self._gc.collect()
