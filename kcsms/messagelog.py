"""
The message log: every OCPP-J frame in and out, per station, kept for
C{[storage] message_log_days}.

Frames are buffered and written in batches off the answer path, so logging
never delays a station's answer; a batch is written when it is full or a
second after its first frame, whichever comes first (the store keeps each
batch as one chunk per station).  Frames are stamped to the millisecond.
Old frames are pruned at start and every hour.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from twisted.application.internet import TimerService
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger

from kcsms.model import LoggedMessage

__all__ = ["MessageLog"]

#: Frames per batch written at once.
BATCH_SIZE = 10000
#: Seconds a frame waits at most before its batch is written.
FLUSH_DELAY = 1.0
#: Seconds between prunings of old frames.
PRUNE_INTERVAL = 3600.0


class MessageLog(TimerService):
    """
    Buffers frames and writes them to the store in batches.

    @param centralSystem: the L{kcsms.interfaces.ICentralSystem} whose store
        and clock it uses.
    @param days: how many days of frames to keep.
    """

    log = Logger()

    def __init__(self, centralSystem: Any, days: int) -> None:
        super().__init__(PRUNE_INTERVAL, self.prune)
        self.clock: Any = centralSystem.clock
        self._centralSystem = centralSystem
        self._keep = timedelta(days=days)
        self._buffer: list[LoggedMessage] = []
        self._timer: IDelayedCall | None = None
        self._millisecond = -1
        self._stamp = datetime.fromtimestamp(0, UTC)

    def record(self, chargePointId: str, direction: str, frame: str | bytes) -> None:
        """
        Log one frame (C{direction} C{in} or C{out}).
        """
        if isinstance(frame, bytes):
            frame = frame.decode("utf-8", errors="replace")
        self._buffer.append(LoggedMessage(chargePointId, self._now(), direction, frame))
        if len(self._buffer) >= BATCH_SIZE:
            self.flush()
        elif self._timer is None:
            self._timer = self.clock.callLater(FLUSH_DELAY, self.flush)

    def _now(self) -> datetime:
        # Frames of the same millisecond share one datetime.
        millisecond = int(self.clock.seconds() * 1000)
        if millisecond != self._millisecond:
            self._millisecond = millisecond
            self._stamp = datetime.fromtimestamp(millisecond / 1000, UTC)
        return self._stamp

    def flush(self) -> Deferred:
        """
        Write what is buffered now.

        @return: a Deferred that fires once it is written (or its failure logged).
        """
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        batch, self._buffer = self._buffer, []
        store = self._centralSystem.store
        if not batch or store is None:
            return succeed(None)
        d = store.appendMessages(batch)
        d.addErrback(
            lambda f: self.log.failure("Lost {count} logged messages", f, count=len(batch))
        )
        return d

    def prune(self) -> Deferred | None:
        """
        Forget frames older than the configured number of days.
        """
        store = self._centralSystem.store
        if store is None:
            return None
        d = store.pruneMessages(self._centralSystem.now() - self._keep)
        d.addCallbacks(self._pruned, lambda f: self.log.failure("Pruning the message log", f))
        return d

    def _pruned(self, count: int) -> None:
        if count:
            self.log.info("Pruned {count} logged messages", count=count)

    def stopService(self) -> Deferred:
        d = maybeDeferred(super().stopService)
        d.addCallback(lambda _: self.flush())
        return d
