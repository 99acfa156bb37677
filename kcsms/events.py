"""
Events a host application can observe instead of polling: stations
connecting and disconnecting, boots, status changes, transactions and meter
values.

Each event is published only after what it reports is committed to the
store.  Observers are plain callables subscribed with
L{kcsms.interfaces.ICentralSystem.subscribe}; an observer that raises is
logged and never disturbs the station or the other observers.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from twisted.logger import Logger

from kcsms.model import (
    ChargePoint,
    ConnectorStatus,
    FirmwareJob,
    MeterValue,
    Reservation,
    Transaction,
)

__all__ = [
    "StationConnected",
    "StationDisconnected",
    "BootNotificationReceived",
    "StatusChanged",
    "TransactionStarted",
    "TransactionStopped",
    "MeterValuesReceived",
    "CallAnswered",
    "ReservationChanged",
    "FirmwareJobChanged",
    "IdTagChanged",
    "Event",
    "Observer",
    "EventBus",
]


@dataclass(frozen=True)
class StationConnected:
    chargePointId: str


@dataclass(frozen=True)
class StationDisconnected:
    chargePointId: str


@dataclass(frozen=True)
class BootNotificationReceived:
    """
    @ivar status: what the station was answered.
    @ivar chargePoint: the registered charge point, or L{None} when it is not registered.
    """

    chargePointId: str
    status: str
    chargePoint: ChargePoint | None


@dataclass(frozen=True)
class StatusChanged:
    status: ConnectorStatus


@dataclass(frozen=True)
class TransactionStarted:
    transaction: Transaction


@dataclass(frozen=True)
class TransactionStopped:
    """
    @ivar transaction: the stopped transaction, or L{None} when its id was
        not known (the stop is kept as an unmatched stop).
    """

    chargePointId: str
    transactionId: int
    transaction: Transaction | None


@dataclass(frozen=True)
class MeterValuesReceived:
    chargePointId: str
    connectorId: int
    transactionId: int | None
    meterValues: Sequence[MeterValue]


@dataclass(frozen=True)
class CallAnswered:
    """
    A station answered a call of the central system's with a CALLRESULT
    (through the API or the Python C{call}), on the node that holds it.

    @ivar request: the payload sent.
    @ivar response: the station's answer.
    """

    chargePointId: str
    action: str
    request: dict[str, Any]
    response: dict[str, Any]


@dataclass(frozen=True)
class ReservationChanged:
    """
    A reservation was recorded with the station's answer to its ReserveNow,
    or ended (C{Used}, C{Cancelled}, C{Expired}).
    """

    reservation: Reservation


@dataclass(frozen=True)
class FirmwareJobChanged:
    """
    A firmware update or diagnostics job was requested, progressed (the
    station reported a status, answered, booted), failed or timed out.
    """

    job: FirmwareJob


@dataclass(frozen=True)
class IdTagChanged:
    """
    An id tag was created, replaced or deleted through the operator API.
    Every node forgets what it kept of it in memory
    (C{[storage] id_tag_cache_seconds}); a host application that changes
    id tags through the store itself publishes this event for the other
    nodes of a cluster.
    """

    idTag: str


Event = (
    StationConnected
    | StationDisconnected
    | BootNotificationReceived
    | StatusChanged
    | TransactionStarted
    | TransactionStopped
    | MeterValuesReceived
    | CallAnswered
    | ReservationChanged
    | FirmwareJobChanged
    | IdTagChanged
)
Observer = Callable[[Event], object]


class EventBus:
    """
    Delivers published events to every subscribed observer, in order.
    """

    log = Logger()

    def __init__(self) -> None:
        self._observers: list[Observer] = []

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """
        @return: a callable that unsubscribes C{observer}.
        """
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    def publish(self, event: Event) -> None:
        for observer in list(self._observers):
            try:
                observer(event)
            except Exception:
                self.log.failure(
                    "Observer {observer!r} failed on {event!r}", observer=observer, event=event
                )
