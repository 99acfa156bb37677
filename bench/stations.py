"""
Simulated charge points: one client process (L{workerMain}) runs many
stations on one asyncio loop and reports what it measured to the process
that started it.

A worker goes through four phases, each started or ended by a message on
its pipe: on C{"boot"} it connects and boots all its stations at once (a cold reconnect
storm) and reports C{"booted"}; on C{"warm"} each station goes a random number
of steps into its mix (L{CYCLES}), unmeasured, and it reports C{"warmed"}; on
C{"go"} it drives a mix until a deadline,
lets the last CALLs be answered, and reports C{"done"}; on C{"close"} it
closes its connections and exits.  Each station has at most one CALL
outstanding.  A mix is a generator of CALLs (L{MIXES}); it is sent the answer
to each (the CALLRESULT payload, or L{None} for a CALLERROR, a timeout or a
dropped connection) and records what the central system acknowledged in the
worker's L{Ledger}, so that the database can be checked afterwards.
"""

import asyncio
import json
import random
import resource
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.wsclient import WebSocketClient

__all__ = ["WorkerPlan", "Ledger", "MIXES", "workerMain", "raiseFileLimit", "idTagFor"]

#: A mix yields (action, payload) and is sent the answer's payload or None.
Mix = Generator[tuple[str, dict[str, Any]], dict[str, Any] | None, None]

BOOT = {"chargePointVendor": "kcsms-bench", "chargePointModel": "Simulated"}

#: Connection attempts per station in the storm before it counts as failed.
CONNECT_ATTEMPTS = 5

#: MeterValues per transaction in the session mix.
METER_VALUES_PER_SESSION = 5
#: Messages in one session of L{sessionMix}.
SESSION_MESSAGES = 6 + METER_VALUES_PER_SESSION


@dataclass(frozen=True)
class WorkerPlan:
    """
    What one client process does.

    @ivar interval: seconds between the starts of a station's CALLs (a fixed
        offered rate), or L{None} for a closed loop (the next CALL as soon as
        the answer is in).
    """

    host: str
    port: int
    path: str
    chargePointIds: tuple[str, ...]
    mix: str
    interval: float | None
    callTimeout: float


@dataclass
class Ledger:
    """
    What the central system acknowledged, to compare with its database.

    @ivar meterSamples: transactionId -> sampled values acknowledged by
        MeterValues.
    """

    started: list[int] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)
    meterSamples: Counter[int] = field(default_factory=Counter)
    statusNotifications: int = 0


def idTagFor(chargePointId: str) -> str:
    """
    @return: the id tag a simulated station presents (the benchmark stores
        one per station as Accepted before kcsms starts).
    """
    return f"TAG-{chargePointId}"


def _now() -> str:
    stamp = datetime.now(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def heartbeatMix(chargePointId: str, ledger: Ledger) -> Mix:
    """
    Heartbeats only.
    """
    while True:
        yield "Heartbeat", {}


def authorizeMix(chargePointId: str, ledger: Ledger) -> Mix:
    """
    Authorize with the station's (known, Accepted) id tag.
    """
    request = {"idTag": idTagFor(chargePointId)}
    while True:
        yield "Authorize", request


def _status(status: str) -> dict[str, Any]:
    return {"connectorId": 1, "errorCode": "NoError", "status": status, "timestamp": _now()}


def sessionMix(chargePointId: str, ledger: Ledger) -> Mix:
    """
    Charging sessions, one after another: Authorize, StatusNotification
    Preparing, StartTransaction, StatusNotification Charging, a few
    MeterValues, StopTransaction, StatusNotification Available.
    """
    idTag = idTagFor(chargePointId)
    meter = 0

    def status(name: str) -> Mix:
        if (yield "StatusNotification", _status(name)) is not None:
            ledger.statusNotifications += 1

    while True:
        yield "Authorize", {"idTag": idTag}
        yield from status("Preparing")
        started = yield (
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": idTag,
                "meterStart": meter,
                "timestamp": _now(),
            },
        )
        if started is None:
            continue
        transactionId = started["transactionId"]
        ledger.started.append(transactionId)
        yield from status("Charging")
        for _ in range(METER_VALUES_PER_SESSION):
            meter += 250
            sampled = [
                {"value": str(meter), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
            ]
            answer = yield (
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": transactionId,
                    "meterValue": [{"timestamp": _now(), "sampledValue": sampled}],
                },
            )
            if answer is not None:
                ledger.meterSamples[transactionId] += len(sampled)
        stopped = yield (
            "StopTransaction",
            {
                "transactionId": transactionId,
                "idTag": idTag,
                "meterStop": meter,
                "timestamp": _now(),
                "reason": "Local",
            },
        )
        if stopped is not None:
            ledger.stopped.append(transactionId)
        yield from status("Available")
        meter += 1


MIXES: dict[str, Callable[[str, Ledger], Mix]] = {
    "heartbeat": heartbeatMix,
    "authorize": authorizeMix,
    "session": sessionMix,
}

#: Messages in one cycle of a mix whose messages differ (1 for the others):
#: before the load, each station goes a random number of them into its mix,
#: so that the stations are spread over its steps as a real fleet is,
#: instead of all sending the same action in the same second.
CYCLES = {"session": SESSION_MESSAGES}


class Tally:
    """
    One worker's measurements: latencies per action, answers and errors.
    """

    def __init__(self) -> None:
        self.latencies: defaultdict[str, list[float]] = defaultdict(list)
        self.callErrors: Counter[str] = Counter()
        self.timeouts: Counter[str] = Counter()
        self.lateAnswers = 0
        self.dropped = 0
        self.sendLags: list[float] = []

    def toDict(self) -> dict[str, Any]:
        return {
            "latencies": dict(self.latencies),
            "callErrors": dict(self.callErrors),
            "timeouts": dict(self.timeouts),
            "lateAnswers": self.lateAnswers,
            "dropped": self.dropped,
            "sendLags": self.sendLags,
        }


class Station:
    """
    One simulated charge point and its connection.
    """

    def __init__(self, worker: "Worker", chargePointId: str) -> None:
        self.worker = worker
        self.chargePointId = chargePointId
        self.client: WebSocketClient | None = None
        self.closing = False
        self._sequence = 0
        self._pending: tuple[str, str, float, asyncio.Future[Any]] | None = None
        self._calls = MIXES[worker.plan.mix](chargePointId, worker.ledger)
        self._request = next(self._calls)

    # Connection.

    async def connectAndBoot(self) -> float | None:
        """
        Connect (retrying a refused connection) and send BootNotification.

        @return: the monotonic time the boot was accepted, or L{None}.
        """
        plan = self.worker.plan
        loop = asyncio.get_running_loop()
        for attempt in range(CONNECT_ATTEMPTS):
            client = WebSocketClient(
                f"{plan.host}:{plan.port}",
                f"{plan.path}/{self.chargePointId}",
                "ocpp1.6",
                self._messageReceived,
                self._connectionClosed,
            )
            try:
                await loop.create_connection(lambda c=client: c, plan.host, plan.port)
                await asyncio.wait_for(client.opened, plan.callTimeout)
            except (TimeoutError, OSError, ConnectionError) as e:
                self.worker.connectFailures[type(e).__name__] += 1
                client.close()
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            self.client = client
            break
        else:
            return None
        answer = await self.call("BootNotification", BOOT)
        if answer is None or answer.get("status") != "Accepted":
            return None
        return time.monotonic()

    def close(self) -> None:
        self.closing = True
        if self.client is not None:
            self.client.close()

    def _connectionClosed(self, reason: str) -> None:
        if self.client is None or self.closing:
            return
        self.client = None
        self.worker.tally.dropped += 1
        self._settle(None)

    # CALLs.

    def call(self, action: str, payload: dict[str, Any]) -> "asyncio.Future[Any]":
        """
        Send a CALL.

        @return: a future of the CALLRESULT payload, or of L{None} when the
            answer is a CALLERROR, does not come in time, or the connection drops.
        """
        future = asyncio.get_running_loop().create_future()
        if self.client is None:
            future.set_result(None)
            return future
        self._sequence += 1
        uniqueId = str(self._sequence)
        self._pending = (uniqueId, action, time.monotonic(), future)
        self.client.sendText(json.dumps([2, uniqueId, action, payload]).encode())
        return future

    def _messageReceived(self, data: bytes) -> None:
        now = time.monotonic()
        message = json.loads(data)
        pending = self._pending
        if pending is None or message[1] != pending[0]:
            self.worker.tally.lateAnswers += 1
            return
        _, action, sentAt, _ = pending
        tally = self.worker.tally
        if message[0] == 3:
            tally.latencies[action].append(now - sentAt)
            self._settle(message[2])
        else:
            tally.callErrors[f"{action}:{message[2]}"] += 1
            self._settle(None)

    def _settle(self, answer: dict[str, Any] | None) -> None:
        if self._pending is not None:
            future = self._pending[3]
            self._pending = None
            future.set_result(answer)

    def expire(self, now: float) -> None:
        """
        Give up on the outstanding CALL if it has waited too long.
        """
        pending = self._pending
        if pending is not None and now - pending[2] > self.worker.plan.callTimeout:
            self.worker.tally.timeouts[pending[1]] += 1
            self._settle(None)

    # Load.

    async def warmUp(self) -> None:
        """
        Go a random number of steps (less than a cycle) into the mix, one
        CALL after another.
        """
        for _ in range(random.randrange(CYCLES.get(self.worker.plan.mix, 1))):
            self._request = self._calls.send(await self.call(*self._request))

    async def drive(self, deadline: float) -> None:
        """
        Send the mix's CALLs until C{deadline}, one outstanding at a time.
        """
        plan = self.worker.plan
        calls = self._calls
        request = self._request
        interval = plan.interval
        due = time.monotonic() + (random.uniform(0, interval) if interval else 0)
        sendLags = self.worker.tally.sendLags
        while self.client is not None:
            if interval:
                if due >= deadline:
                    return
                now = time.monotonic()
                if due > now:
                    await asyncio.sleep(due - now)
                    now = time.monotonic()
                sendLags.append(now - due)
                due += interval
            elif time.monotonic() >= deadline:
                return
            answer = await self.call(*request)
            request = calls.send(answer)


class Worker:
    """
    The stations of one client process.
    """

    def __init__(self, plan: WorkerPlan, pipe: Any) -> None:
        self.plan = plan
        self.pipe = pipe
        self.tally = Tally()
        self.ledger = Ledger()
        self.connectFailures: Counter[str] = Counter()
        self.stations = [Station(self, cpid) for cpid in plan.chargePointIds]

    async def _receive(self) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.pipe.recv)

    async def _expireCalls(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for station in self.stations:
                station.expire(now)

    async def run(self) -> None:
        expiring = asyncio.ensure_future(self._expireCalls())
        command = await self._receive()
        assert command == "boot", command
        cpu = time.process_time()
        stormStart = time.monotonic()
        booted = await asyncio.gather(*(s.connectAndBoot() for s in self.stations))
        bootedAt = [at for at in booted if at is not None]
        self.pipe.send(
            (
                "booted",
                {
                    "start": stormStart,
                    "lastBooted": max(bootedAt, default=None),
                    "booted": len(bootedAt),
                    "failed": len(booted) - len(bootedAt),
                    "connectFailures": dict(self.connectFailures),
                    "bootCallErrors": dict(self.tally.callErrors),
                    "clientCpu": time.process_time() - cpu,
                },
            )
        )
        command = await self._receive()
        assert command == "warm", command
        await asyncio.gather(*(s.warmUp() for s in self.stations))
        self.pipe.send(("warmed", {}))
        self.tally = Tally()
        command, duration = await self._receive()
        assert command == "go", command
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.gather(*(s.drive(wall + duration) for s in self.stations))
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        self.pipe.send(
            (
                "done",
                {
                    "tally": self.tally.toDict(),
                    "ledger": {
                        "started": self.ledger.started,
                        "stopped": self.ledger.stopped,
                        "meterSamples": dict(self.ledger.meterSamples),
                        "statusNotifications": self.ledger.statusNotifications,
                    },
                    "stations": len(self.stations),
                    "clientCpu": cpu,
                    "wall": wall,
                },
            )
        )
        command = await self._receive()
        assert command == "close", command
        expiring.cancel()
        for station in self.stations:
            station.close()
        await asyncio.sleep(0.2)


def raiseFileLimit() -> None:
    """
    Raise this process's soft limit of open files to its hard limit.
    """
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def workerMain(plan: WorkerPlan, pipe: Any) -> None:
    """
    The body of one client process.
    """
    raiseFileLimit()
    asyncio.run(Worker(plan, pipe).run())
