"""
Several kcsms nodes sharing one PostgreSQL database.

Nodes share state only through PostgreSQL: each node renews a lease; the
presence table says which node holds each station's socket; requests
between nodes (a call for a station connected elsewhere, "close your stale
socket", events for observers) travel by LISTEN/NOTIFY, one channel per node
plus one for events.  Channels are database-wide while tables live in a
schema, so a channel's name is drawn from the schema too: deployments in
different schemas of one database never hear each other.  A body too large
for a notification is kept in the database and the notification carries its
id.  Events are broadcast in batches (every L{EVENT_BATCH_DELAY} seconds),
and only while other nodes are alive: a node learns of its peers from their
leases at every renewal, and at once from the hello a node sends when it
starts listening (answered by a hello of every node that hears it, which is
not answered in turn).
"""

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import psycopg2
from twisted.application.service import Service
from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from txpostgres import txpostgres

from kcsms import errors, events, model
from kcsms.timestamps import formatTimestamp, parseTimestamp

__all__ = ["Cluster", "ListeningConnection", "channelFor", "encodeValue", "decodeValue"]

#: Seconds a node's lease lasts, and how often it is renewed.
LEASE = 30.0
RENEW_INTERVAL = 10.0
#: Seconds a forwarded call waits beyond [ocpp] call_timeout.
FORWARD_MARGIN = 5.0
#: The largest notification payload sent inline (PostgreSQL's limit is 8000 bytes).
MAX_INLINE = 7000
#: Seconds kept message bodies are kept.
MESSAGE_KEEP = 3600.0
#: Seconds events wait to be broadcast together.
EVENT_BATCH_DELAY = 0.05


_VALUE_TYPES = {
    cls.__name__: cls
    for module in (events, model)
    for cls in vars(module).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls)
}
_CALL_ERRORS = {
    cls.__name__: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.CallFailed)
}


class ListeningConnection(txpostgres.Connection):
    """
    A txpostgres connection that LISTENs and also runs statements (a node's
    own NOTIFYs) without leaving notifications behind.

    Notifications that arrive with a statement's answer, in the same read
    from the socket, can stay inside libpq once psycopg2 has handed over
    the answer: the socket, read already, does not wake the reactor, and
    txpostgres only looks at what psycopg2 has collected.  They waited for
    the connection's next statement (a node's renewal, up to 10 s later),
    and a forwarded call could time out.  Polling the connection once more
    after every statement collects them.
    """

    def cursorFinished(self, cursor: Any) -> None:
        if not self._connection.closed:
            try:
                self._connection.poll()
            except psycopg2.Error:
                pass  # broken: its next statement fails, and the node listens anew
        super().cursorFinished(cursor)


def channelFor(schema: str, nodeId: str | None = None) -> str:
    """
    @param schema: the schema of the nodes' tables.
    @return: the NOTIFY channel of a node, or with no node the channel of
        events, of the nodes that share C{schema} (an identifier whatever
        their names).
    """
    key = json.dumps([schema, nodeId])
    return "kcsms_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def encodeValue(value: Any) -> Any:
    """
    Turn an event (or any value object of kcsms.model) into JSON-able data.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "__type__": type(value).__name__,
            **{f.name: encodeValue(getattr(value, f.name)) for f in dataclasses.fields(value)},
        }
    if isinstance(value, datetime):
        return {"__time__": formatTimestamp(value)}
    if isinstance(value, list | tuple):
        return [encodeValue(item) for item in value]
    return value


def decodeValue(data: Any) -> Any:
    """
    The inverse of L{encodeValue}.
    """
    if isinstance(data, dict):
        if "__time__" in data:
            return parseTimestamp(data["__time__"])
        fields = {name: decodeValue(item) for name, item in data.items() if name != "__type__"}
        if "__type__" not in data:
            return fields
        kind = _VALUE_TYPES[data["__type__"]]
        for field in dataclasses.fields(kind):
            if isinstance(fields.get(field.name), list) and "tuple" in str(field.type):
                fields[field.name] = tuple(fields[field.name])
        return kind(**fields)
    if isinstance(data, list):
        return [decodeValue(item) for item in data]
    return data


def _failureBody(error: Exception) -> dict[str, Any]:
    body: dict[str, Any] = {"error": type(error).__name__, "message": str(error)}
    for name in ("errorCode", "errorDescription", "errorDetails", "payload"):
        if hasattr(error, name):
            body[name] = getattr(error, name)
    return body


def _failureFrom(body: dict[str, Any]) -> errors.CallFailed:
    kind = _CALL_ERRORS.get(body["error"], errors.CallFailed)
    if kind is errors.CallErrorReceived:
        return errors.CallErrorReceived(
            body["errorCode"], body["errorDescription"], body["errorDetails"]
        )
    if kind is errors.PayloadInvalid:
        return errors.PayloadInvalid(body["message"], body["errorCode"])
    if kind is errors.ResponseInvalid:
        return errors.ResponseInvalid(body["message"], body["payload"])
    return kind(body["message"])


class Cluster(Service):
    """
    This node's part in a cluster.

    @param centralSystem: the L{kcsms.service.CentralSystemService} of this node.
    @param nodeId: this node's id, unique in the cluster.
    @param url: the PostgreSQL URL the nodes share.
    """

    log = Logger()

    def __init__(self, centralSystem: Any, nodeId: str, url: str) -> None:
        self.centralSystem = centralSystem
        self.nodeId = nodeId
        self._url = url
        self._listener: Any = None
        # The schema of the nodes' tables, read when the listener connects.
        self._schema = ""
        self._waitingForListener: list[Deferred[None]] = []
        self._pending: dict[str, Deferred[Any]] = {}
        self._peers: set[str] = set()
        self._greeted = False
        self._events: list[Any] = []
        self._eventsFlush: IDelayedCall | None = None
        self._renewal = LoopingCall(lambda: ensureDeferred(self._renew()))
        self._renewal.clock = centralSystem.clock

    def _now(self) -> datetime:
        return self.centralSystem.now()  # type: ignore[no-any-return]

    # Service

    def startService(self) -> None:
        super().startService()
        d = self._renewal.start(RENEW_INTERVAL, now=True)
        d.addErrback(lambda f: self.log.failure("Renewing the cluster lease", f))

    def stopService(self) -> Deferred[None]:
        super().stopService()
        if self._renewal.running:
            self._renewal.stop()
        return ensureDeferred(self._stop())

    async def _stop(self) -> None:
        for d in list(self._pending.values()):
            d.errback(errors.NotConnected(f"node {self.nodeId} is stopping"))
        await self._broadcastEvents()
        try:
            await self.centralSystem.store.removeNode(self.nodeId)
        except Exception:
            self.log.failure("Leaving the cluster")
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    async def _renew(self) -> None:
        store = self.centralSystem.store
        try:
            await store.renewNode(self.nodeId, self._now() + timedelta(seconds=LEASE))
            self._peers = await store.liveNodes(self._now()) - {self.nodeId}
            await store.pruneClusterMessages(self._now() - timedelta(seconds=MESSAGE_KEEP))
        except Exception:
            self.log.failure("Renewing the lease of node {nodeId}", nodeId=self.nodeId)
        try:
            if self._listener is None:
                await self._listen()
            else:
                await self._listener.runOperation("SELECT 1")
        except Exception as e:
            self.log.warn("The cluster listener is down ({problem}); reconnecting", problem=e)
            if self._listener is not None:
                self._listener.close()
                self._listener = None

    async def _listen(self) -> None:
        listener = ListeningConnection(reactor=self.centralSystem._reactor)
        await listener.connect(self._url)
        [(self._schema,)] = await listener.runQuery("SELECT current_schema()")
        listener.addNotifyObserver(self._notified)
        for channel in (channelFor(self._schema, self.nodeId), channelFor(self._schema)):
            await listener.runOperation(f"LISTEN {channel}")
        self._listener = listener
        self.log.info("Node {nodeId} is in the cluster", nodeId=self.nodeId)
        await self._send(None, {"type": "hello", "node": self.nodeId})
        self._greeted = True
        waiting, self._waitingForListener = self._waitingForListener, []
        for d in waiting:
            d.callback(None)

    def whenListening(self) -> Deferred[None]:
        """
        @return: a Deferred that fires once this node receives other nodes'
            requests and events, and has said hello to them (events published
            before are not delivered here).
        """
        if self._greeted:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._waitingForListener.append(d)
        return d

    # Messages between nodes

    async def _send(self, nodeId: str | None, body: dict[str, Any]) -> None:
        """
        Notify node C{nodeId}, or with L{None} every node (events).
        """
        text = json.dumps(body)
        if len(text.encode()) > MAX_INLINE:
            messageId = await self.centralSystem.store.putClusterMessage(text, self._now())
            text = json.dumps({"ref": messageId})
        if self._listener is None:
            await self._listen()
        await self._listener.runOperation(
            "SELECT pg_notify(%s, %s)", (channelFor(self._schema, nodeId), text)
        )

    def _notified(self, notify: Any) -> Deferred[None]:
        return ensureDeferred(self._received(notify.payload))

    async def _received(self, text: str) -> None:
        try:
            body = json.loads(text)
            if "ref" in body:
                kept = await self.centralSystem.store.getClusterMessage(body["ref"])
                if kept is None:
                    self.log.warn(
                        "Cluster message {ref} is no longer kept (pruned?): dropped",
                        ref=body["ref"],
                    )
                    return
                body = json.loads(kept)
            await getattr(self, f"_received_{body['type']}")(body)
        except Exception:
            self.log.failure("Handling a cluster message {text!r}", text=text[:200])

    async def _received_call(self, body: dict[str, Any]) -> None:
        # Answered in the background: notifications read together are
        # handled one after another, and a station may take up to [ocpp]
        # call_timeout to answer, which would hold up the others.
        answering = ensureDeferred(self._answerCall(body))
        answering.addErrback(
            lambda f: self.log.failure("Answering a forwarded {action}", f, action=body["action"])
        )

    async def _answerCall(self, body: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"type": "answer", "requestId": body["requestId"]}
        try:
            reply["payload"] = await self.centralSystem.callHere(
                body["chargePointId"], body["action"], body["payload"]
            )
        except errors.CallFailed as e:
            reply["failure"] = _failureBody(e)
        await self._send(body["replyTo"], reply)

    async def _received_answer(self, body: dict[str, Any]) -> None:
        d = self._pending.pop(body["requestId"], None)
        if d is None:
            return
        if "failure" in body:
            d.errback(_failureFrom(body["failure"]))
        else:
            d.callback(body["payload"])

    async def _received_evict(self, body: dict[str, Any]) -> None:
        session = self.centralSystem.session(body["chargePointId"])
        if session is not None:
            self.log.info(
                "{chargePointId} moved to node {node}; closing its stale connection here",
                chargePointId=body["chargePointId"],
                node=body["node"],
            )
            session.close(1000, body.get("reason", "connected to another node"))

    async def _received_hello(self, body: dict[str, Any]) -> None:
        node = body["node"]
        if node == self.nodeId:
            return
        self._peers.add(node)
        if not body.get("reply"):
            # Answered even when its lease already told us of it: it may
            # have said hello before we listened, and not know of us.
            await self._send(None, {"type": "hello", "node": self.nodeId, "reply": True})

    async def _received_events(self, body: dict[str, Any]) -> None:
        if body["node"] != self.nodeId:
            self._peers.add(body["node"])
            for event in body["events"]:
                self.centralSystem.events.publish(decodeValue(event))

    # What the central system asks

    async def stationArrived(self, chargePointId: str) -> None:
        """
        This node now holds the station's socket: tell the node that held it.
        """
        previous = await self.centralSystem.store.setPresence(
            chargePointId, self.nodeId, self._now()
        )
        if previous is not None and previous != self.nodeId:
            await self.evict(previous, chargePointId, "connected to another node")

    async def stationLeft(self, chargePointId: str) -> None:
        await self.centralSystem.store.clearPresence(chargePointId, self.nodeId)

    async def evict(self, nodeId: str, chargePointId: str, reason: str) -> None:
        """
        Have C{nodeId} close its connection of the station.
        """
        await self._send(
            nodeId,
            {
                "type": "evict",
                "chargePointId": chargePointId,
                "node": self.nodeId,
                "reason": reason,
            },
        )

    async def locate(self, chargePointId: str) -> str | None:
        """
        @return: the live node holding the station's socket, or L{None}.
        """
        return await self.centralSystem.store.locate(chargePointId, self._now())  # type: ignore[no-any-return]

    async def connectedStations(self) -> set[str]:
        """
        @return: the stations connected to any live node.
        """
        return set(await self.centralSystem.store.listPresence(self._now()))

    async def forward(
        self, nodeId: str, chargePointId: str, action: str, payload: dict[str, Any]
    ) -> Any:
        """
        Have C{nodeId} call a station it holds, and wait for the outcome.

        @raise kcsms.errors.CallFailed: as the call failed there, or
            L{kcsms.errors.CallTimeout} when the node does not answer.
        """
        requestId = str(uuid4())
        answer: Deferred[Any] = Deferred()
        self._pending[requestId] = answer
        try:
            await self._send(
                nodeId,
                {
                    "type": "call",
                    "requestId": requestId,
                    "replyTo": self.nodeId,
                    "chargePointId": chargePointId,
                    "action": action,
                    "payload": payload,
                },
            )
            timeout = self.centralSystem.config.ocpp.callTimeout + FORWARD_MARGIN
            answer.addTimeout(timeout, self.centralSystem.clock)
            try:
                return await answer
            except Exception as e:
                if isinstance(e, errors.CallFailed):
                    raise
                raise errors.CallTimeout(
                    f"node {nodeId} did not answer {action} for {chargePointId}"
                ) from None
        finally:
            self._pending.pop(requestId, None)

    def broadcast(self, event: Any) -> None:
        """
        Deliver an event to the observers of every other node (none while
        this node is alone when the batch goes).
        """
        if not self.running:
            return
        self._events.append(event)
        if self._eventsFlush is None:
            self._eventsFlush = self.centralSystem.clock.callLater(
                EVENT_BATCH_DELAY, self._broadcastEvents
            )

    def _broadcastEvents(self) -> Deferred[None]:
        if self._eventsFlush is not None:
            if self._eventsFlush.active():
                self._eventsFlush.cancel()
            self._eventsFlush = None
        batch, self._events = self._events, []
        if not (batch and self._peers):
            return succeed(None)
        body = {"type": "events", "node": self.nodeId, "events": [encodeValue(e) for e in batch]}
        d = ensureDeferred(self._send(None, body))
        d.addErrback(lambda f: self.log.failure("Broadcasting {count} events", f, count=len(batch)))
        return d
