"""
The central system as a Twisted service: the store, the enabled feature
profiles, and the OCPP-J listeners, started in that order and stopped in
reverse.

L{CentralSystemService} is also the L{ICentralSystem} that profiles and host
applications use: C{call(chargePointId, action, payload)} reaches a station.
"""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from twisted.application.service import IService, MultiService
from twisted.internet.defer import Deferred, DeferredList, ensureDeferred, maybeDeferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from kcsms.actions import CENTRAL_ACTIONS, STATION_ACTIONS
from kcsms.config import Config
from kcsms.dispatch import Dispatcher
from kcsms.errors import (
    CallErrorReceived,
    CallFailed,
    CallTimeout,
    NotConnected,
    PayloadInvalid,
    ProfileDisabled,
    UnknownAction,
    UnknownChargePoint,
)
from kcsms.events import (
    CallAnswered,
    EventBus,
    IdTagChanged,
    StationConnected,
    StationDisconnected,
)
from kcsms.interfaces import ICentralSystem, IFeatureProfilePlugin, IStore
from kcsms.messagelog import MessageLog
from kcsms.model import CallRecord
from kcsms.ocppj import OcppError
from kcsms.plugin import enabledPlugins, findPlugins
from kcsms.protocol import OcppServerFactory
from kcsms.registry import ChargePointRegistry
from kcsms.rpc import ChargePointSession, IFrameTransport
from kcsms.schemas import hasSchema, validateRequest
from kcsms.security import StationSecurity
from kcsms.storage import StorageError, openStore

__all__ = ["StartupError", "CentralSystemService", "makeService"]

#: Seconds to wait for stations to close their connections at shutdown.
SHUTDOWN_GRACE = 3.0

#: How each way a call ends is recorded.
_OUTCOMES: dict[type[CallFailed], str] = {
    CallErrorReceived: "CallError",
    CallTimeout: "Timeout",
    NotConnected: "NotConnected",
}


class StartupError(Exception):
    """
    The central system could not start (database, listening port...).
    """


def _synchronousResult(d: Deferred) -> Any:
    results: list[Any] = []
    d.addBoth(results.append)
    if not results:
        raise StartupError("listening did not complete at once")
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


@implementer(ICentralSystem)
class CentralSystemService(MultiService):
    """
    One central system.

    @param plugins: every installed feature-profile plugin, by name.
    """

    log = Logger()

    def __init__(
        self, config: Config, reactor: Any, plugins: dict[str, IFeatureProfilePlugin]
    ) -> None:
        super().__init__()
        self.config = config
        self.clock: IReactorTime = reactor
        self._reactor = reactor
        self.store: IStore | None = None
        self.registry = ChargePointRegistry()
        self.events = EventBus()
        self.subscribe = self.events.subscribe
        self.subscribe(self._forgetChangedIdTag)
        #: Listening ports by section: C{ocpp}, C{api}.
        self.listening: dict[str, list[IListeningPort]] = {}
        self._drained: Deferred | None = None
        #: The TLS settings, loaded once for every TLS endpoint.
        self._tls: Any = None
        self.messageLog = MessageLog(self, config.storage.messageLogDays)
        self.stationSecurity = StationSecurity(self, config.ocpp.securityProfile, reactor)
        self.messageLog.setServiceParent(self)

        #: Every installed feature-profile plugin, by name.
        self.plugins = plugins
        enabled = enabledPlugins(config.profiles.enabled, plugins)
        self.enabledProfiles = frozenset(plugin.name for plugin in enabled)
        self._centralOwners = {
            action: name for name, actions in CENTRAL_ACTIONS.items() for action in actions
        }
        for plugin in plugins.values():
            self._centralOwners.update(dict.fromkeys(plugin.centralActions, plugin.name))
        self.profiles = [
            plugin.makeProfile(config.profiles.optionsFor(plugin.name), self) for plugin in enabled
        ]
        for profile in self.profiles:
            if IService.providedBy(profile):
                profile.setServiceParent(self)
        #: This node's part in a cluster: only with PostgreSQL, which nodes share.
        self.cluster: Any = None
        if config.storage.database.startswith("postgres"):
            from kcsms.cluster import Cluster

            self.cluster = Cluster(self, config.cluster.nodeId, config.storage.database)
            self.cluster.setServiceParent(self)
        knownStationActions = {a for actions in STATION_ACTIONS.values() for a in actions}
        for plugin in plugins.values():
            knownStationActions.update(plugin.stationActions)
        self.dispatcher = Dispatcher(
            self.profiles,
            knownStationActions,
            {plugin.name: plugin.stationActions for plugin in enabled},
            rejectUnregistered=config.ocpp.unknownChargePoints == "reject",
        )

    def now(self) -> datetime:
        """
        The current time, from the injected clock.
        """
        return datetime.fromtimestamp(self.clock.seconds(), UTC)

    # Service

    def startService(self) -> None:
        """
        Open the store, start the profiles, then listen.  Synchronous, so that
        a failure stops C{twistd} before it runs.

        @raise StartupError: when the database or a listening port cannot be opened.
        """
        try:
            self.store = openStore(
                self.config.storage.database,
                self._reactor,
                self.config.storage.poolSize,
                self.config.storage.idTagCacheSeconds,
            )
        except StorageError as e:
            raise StartupError(f"[storage] database: {e}") from None
        super().startService()
        ocppFactory = OcppServerFactory(self, self.config.ocpp.path, reactor=self._reactor)
        self.listen("ocpp", self.config.ocpp.endpoints, ocppFactory)
        self._listenTls("ocpp", self.config.ocpp.tlsEndpoints, ocppFactory)
        if self.config.api.endpoints or self.config.api.tlsEndpoints:
            from kcsms.api import makeSite

            site = makeSite(self)
            self.listen("api", self.config.api.endpoints, site)
            self._listenTls("api", self.config.api.tlsEndpoints, site)
            if not self.config.api.token:
                self.log.warn(
                    "The operator API has no [api] token: until a token is created "
                    "(python -m kcsms.tokens), anyone who reaches it can control every "
                    "station; keep it on a loopback interface"
                )

    def listen(
        self, section: str, endpoints: tuple[str, ...], factory: Any, key: str = "endpoint"
    ) -> list[IListeningPort]:
        """
        See L{ICentralSystem.listen}: the ports close when the service stops.

        @param key: the configuration key the endpoints come from, for errors.
        @raise StartupError: when one cannot be listened on.
        """
        ports = self.listening.setdefault(section, [])
        before = len(ports)
        for description in endpoints:
            endpoint = serverFromString(self._reactor, description)
            try:
                ports.append(_synchronousResult(endpoint.listen(factory)))
            except Exception as e:
                self.log.critical(
                    "Cannot listen on {endpoint}: {problem}", endpoint=description, problem=e
                )
                self.stopService()
                raise StartupError(
                    f"[{section}] {key}: cannot listen on {description}: {e}"
                ) from None
            self.log.info(
                "{section} listening on {endpoint}", section=section, endpoint=description
            )
        return ports[before:]

    def _listenTls(self, section: str, endpoints: tuple[str, ...], factory: Any) -> None:
        if endpoints:
            from kcsms.tls import ServerTls, tlsFactory

            if self._tls is None:
                self._tls = ServerTls(self.config.tls.certificates, self.config.tls.clientCa)
            self.listen(section, endpoints, tlsFactory(self._tls, factory), "tls_endpoint")

    def stopService(self) -> Deferred:
        return ensureDeferred(self._stop())

    async def _stop(self) -> None:
        ports = [port for ports in self.listening.values() for port in ports]
        self.listening = {}
        await DeferredList([maybeDeferred(port.stopListening) for port in ports])
        if len(self.registry):
            self._drained = Deferred()
            for session in self.registry:
                session.close(1001, "central system shutting down")
            self._drained.addTimeout(SHUTDOWN_GRACE, self._reactor)
            try:
                await self._drained
            except Exception:
                self.log.warn("Some stations did not close their connection in time")
        if self.running:
            await super().stopService()
        if self.store is not None:
            store, self.store = self.store, None
            await store.close()

    # Stations

    def stationConnected(
        self, chargePointId: str, transport: IFrameTransport
    ) -> ChargePointSession:
        """
        A station completed the WebSocket handshake.

        @return: its session.
        """
        session = ChargePointSession(
            chargePointId,
            transport,
            self.dispatcher,
            self.clock,
            self.config.ocpp.callTimeout,
            self.messageLog.record,
        )
        previous = self.registry.register(session)
        if previous is not None:
            self.log.info(
                "{chargePointId} reconnected; closing its old connection",
                chargePointId=chargePointId,
            )
            previous.close(1000, "replaced by a new connection")
        else:
            self.log.info("{chargePointId} connected", chargePointId=chargePointId)
        assert self.store is not None
        d = self.store.getChargePoint(chargePointId)
        d.addCallback(lambda cp: cp.registration if cp is not None else None)
        d.addErrback(
            lambda f: self.log.failure("Loading {chargePointId}", f, chargePointId=chargePointId)
        )
        d.addCallback(session.start)
        self.publish(StationConnected(chargePointId))
        self._inCluster("stationArrived", chargePointId)
        return session

    def _inCluster(self, method: str, chargePointId: str) -> None:
        if self.cluster is not None:
            d = ensureDeferred(getattr(self.cluster, method)(chargePointId))
            d.addErrback(
                lambda f: self.log.failure(
                    "Cluster presence of {chargePointId}", f, chargePointId=chargePointId
                )
            )

    def stationDisconnected(self, session: ChargePointSession) -> None:
        """
        A station's connection closed.
        """
        if self.registry.unregister(session):
            self.log.info("{chargePointId} disconnected", chargePointId=session.chargePointId)
            self.publish(StationDisconnected(session.chargePointId))
            self._inCluster("stationLeft", session.chargePointId)
        session.connectionLost()
        if self._drained is not None and not len(self.registry) and not self._drained.called:
            self._drained.callback(None)

    def session(self, chargePointId: str) -> ChargePointSession | None:
        return self.registry.get(chargePointId)

    def _forgetChangedIdTag(self, event: Any) -> None:
        # Changed here or, in a cluster, on another node.
        if isinstance(event, IdTagChanged) and self.store is not None:
            self.store.forgetIdTag(event.idTag)

    def publish(self, event: Any) -> None:
        """
        See L{ICentralSystem.publish}: observers on every node get it.
        """
        self.events.publish(event)
        if self.cluster is not None:
            self.cluster.broadcast(event)

    async def connectedStations(self) -> set[str]:
        """
        @return: the stations connected to this node or, in a cluster, to any live node.
        """
        here = {session.chargePointId for session in self.registry}
        if self.cluster is None:
            return here
        return here | await self.cluster.connectedStations()

    async def isConnected(self, chargePointId: str) -> bool:
        """
        @return: whether the station is connected to this node or another live one.
        """
        if self.registry.get(chargePointId) is not None:
            return True
        return self.cluster is not None and await self.cluster.locate(chargePointId) is not None

    async def disconnect(self, chargePointId: str, reason: str) -> None:
        """
        Close the station's connection, on whichever node holds it.
        """
        session = self.registry.get(chargePointId)
        if session is not None:
            session.close(1000, reason)
        elif self.cluster is not None:
            node = await self.cluster.locate(chargePointId)
            if node is not None:
                await self.cluster.evict(node, chargePointId, reason)

    # Calls to stations

    def call(self, chargePointId: str, action: str, payload: dict[str, Any]) -> Deferred:
        """
        See L{ICentralSystem.call}: a station connected to another node is
        called through that node.
        """
        return ensureDeferred(self._call(chargePointId, action, payload, forward=True))

    def callHere(self, chargePointId: str, action: str, payload: dict[str, Any]) -> Deferred:
        """
        Call a station only if it is connected to this node.
        """
        return ensureDeferred(self._call(chargePointId, action, payload, forward=False))

    async def _call(
        self, chargePointId: str, action: str, payload: dict[str, Any], forward: bool
    ) -> Any:
        owner = self._centralOwners.get(action)
        if owner is None:
            raise UnknownAction(f"{action!r} is not an action the central system sends")
        if owner not in self.enabledProfiles:
            raise ProfileDisabled(f"{action} belongs to {owner}, which is not enabled")
        if hasSchema(action):
            try:
                validateRequest(action, payload)
            except OcppError as e:
                raise PayloadInvalid(e.description, e.errorCode) from None
        session = self.registry.get(chargePointId)
        if session is None and forward and self.cluster is not None:
            node = await self.cluster.locate(chargePointId)
            if node is not None and node != self.cluster.nodeId:
                return await self.cluster.forward(node, chargePointId, action, payload)
        if session is None:
            assert self.store is not None
            if await self.store.getChargePoint(chargePointId) is None:
                raise UnknownChargePoint(f"no charge point {chargePointId!r}")
            raise NotConnected(f"{chargePointId} is not connected")
        record = CallRecord(
            chargePointId, str(uuid4()), action, payload, self.now(), outcome="Answered"
        )
        try:
            response = await session.call(action, payload, record.uniqueId)
        except CallFailed as e:
            await self._record(record, outcome=_OUTCOMES.get(type(e), "Invalid"), error=_errorOf(e))
            raise
        await self._record(record, response=response)
        self.publish(CallAnswered(chargePointId, action, payload, response))
        return response

    async def _record(self, record: CallRecord, **outcome: Any) -> None:
        assert self.store is not None
        try:
            await self.store.recordCall(replace(record, answeredAt=self.now(), **outcome))
        except Exception:
            self.log.failure(
                "Recording {action} to {chargePointId}",
                action=record.action,
                chargePointId=record.chargePointId,
            )


def _errorOf(error: CallFailed) -> dict[str, Any]:
    if isinstance(error, CallErrorReceived):
        return {
            "errorCode": error.errorCode,
            "errorDescription": error.errorDescription,
            "errorDetails": error.errorDetails,
        }
    return {"errorDescription": str(error)}


def makeService(config: Config, reactor: Any = None) -> CentralSystemService:
    """
    Make the central system service for C{config}; add it to your own
    L{MultiService} to embed kcsms in a Twisted application.

    @param reactor: the reactor (the global one when L{None}).
    @raise kcsms.config.ConfigError: when an enabled profile has no plugin or
        rejects its options.
    """
    if reactor is None:
        from twisted.internet import reactor
    return CentralSystemService(config, reactor, findPlugins())
