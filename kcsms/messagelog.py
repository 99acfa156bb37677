"""
The message log: every OCPP-J frame in and out, per station, kept for
C{[storage] message_log_days}.

Frames are buffered and written in batches off the answer path, so logging
never delays a station's answer; a batch is written when it is full or
L{FLUSH_DELAY} seconds after its first frame, whichever comes first.  The
store keeps each write as one chunk per station; a batch is written
L{STATIONS_PER_WRITE} stations at a time, one write after another, as the
database's idle work, so that the writes of the stations' own messages
never wait long behind it (with SQLite, which writes in the reactor thread,
neither do the stations' answers).  Frames are stamped to the millisecond.
Old frames are pruned at start and every hour, L{PRUNE_PIECE} chunks at a
time, also as idle work.
"""

from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from twisted.application.internet import TimerService
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger

from kcsms.model import LoggedMessage

__all__ = ["MessageLog"]

#: Frames in a batch at most.
BATCH_SIZE = 20000
#: Stations whose frames are written in one write at most: with SQLite, a
#: write of 250 stations' frames held the reactor 8-19 ms under load.
STATIONS_PER_WRITE = 100
#: Seconds a frame waits at most before its batch is written.
FLUSH_DELAY = 10.0
#: Seconds between prunings of old frames.
PRUNE_INTERVAL = 3600.0
#: Writes (chunks) whose frames one pruning step forgets at most: an hour
#: of a busy node's log is millions of chunks, and deleting them at once
#: held SQLite's one writer for seconds (500,000 chunks: 3 s) while every
#: station's write waited; a piece of 2,000 took up to 25 ms, which SQLite
#: spends in the reactor thread.
PRUNE_PIECE = 500


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
        self._buffer: dict[str, list[LoggedMessage]] = {}
        self._buffered = 0
        self._timer: IDelayedCall | None = None
        # Writes not made yet, in order, and the Deferreds of flushes to fire between them.
        self._writes: deque[list[LoggedMessage] | Deferred[None]] = deque()
        self._writing = False
        self._millisecond = -1
        self._stopping = False
        self._stamp = datetime.fromtimestamp(0, UTC)

    def record(self, chargePointId: str, direction: str, frame: str | bytes) -> None:
        """
        Log one frame (C{direction} C{in} or C{out}).
        """
        if isinstance(frame, bytes):
            frame = frame.decode("utf-8", errors="replace")
        frames = self._buffer.get(chargePointId)
        if frames is None:
            frames = self._buffer[chargePointId] = []
        frames.append(LoggedMessage(chargePointId, self._now(), direction, frame))
        self._buffered += 1
        if self._buffered >= BATCH_SIZE:
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

    def flush(self) -> Deferred[None]:
        """
        Write what is buffered now.

        @return: a Deferred that fires once it is written (or its failure
            logged), after everything buffered before.
        """
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        stations = list(self._buffer.values())
        self._buffer, self._buffered = {}, 0
        for start in range(0, len(stations), STATIONS_PER_WRITE):
            self._writes.append(
                [
                    frame
                    for frames in stations[start : start + STATIONS_PER_WRITE]
                    for frame in frames
                ]
            )
        flushed: Deferred[None] = Deferred()
        self._writes.append(flushed)
        if not self._writing:
            self._writing = True
            Deferred.fromCoroutine(self._writeAll())
        return flushed

    async def _writeAll(self) -> None:
        while self._writes:
            write = self._writes.popleft()
            if isinstance(write, Deferred):
                write.callback(None)
                continue
            store = self._centralSystem.store
            if store is None:
                continue
            try:
                await store.appendMessages(write)
            except Exception:
                self.log.failure("Lost {count} logged messages", count=len(write))
        self._writing = False

    def prune(self) -> Deferred[None]:
        """
        Forget frames older than the configured number of days, L{PRUNE_PIECE}
        writes at a time.
        """
        d = Deferred.fromCoroutine(self._prune(self._centralSystem.now() - self._keep))
        d.addErrback(lambda f: self.log.failure("Pruning the message log", f))
        return d

    async def _prune(self, before: datetime) -> None:
        count = 0
        # Stopping does not wait for the rest: the next start prunes it.
        while not self._stopping and (store := self._centralSystem.store) is not None:
            forgotten = await store.pruneMessages(before, PRUNE_PIECE)
            if not forgotten:
                break
            count += forgotten
        if count:
            self.log.info("Pruned {count} logged messages", count=count)

    def startService(self) -> None:
        self._stopping = False
        super().startService()

    def stopService(self) -> Deferred:
        self._stopping = True
        d = maybeDeferred(super().stopService)
        d.addCallback(lambda _: self.flush())
        return d
