"""
The operator API's routes: charge points, calls to stations, id tags,
transactions and the message log.

Each handler is declared with L{kcsms.api.router.route} and returns
C{(status, body)}; problems are raised as L{ApiError}s.  Field names are
OCPP's and times are formatted as the OCPP engine sends them.
"""

import json
from typing import Any

from twisted.python.reflect import namedAny
from twisted.web.server import Request

from kcsms.api.resource import readJson
from kcsms.api.router import ApiError, DisabledApi, QueryParameter, route
from kcsms.api.security import SecurityApi
from kcsms.api.validation import (
    MAX_ID_TAG_LENGTH,
    booleanArgument,
    callStation,
    checkFields,
    choice,
    idTagInfoFields,
    limitArgument,
    queryArgument,
)
from kcsms.events import IdTagChanged
from kcsms.model import (
    REGISTRATION_STATUSES,
    ChargePoint,
    ConnectorStatus,
    IdTag,
    MeterValue,
    Transaction,
)
from kcsms.protocol import MAX_CHARGEPOINT_ID_LENGTH
from kcsms.timestamps import formatTimestamp

__all__ = ["OperatorApi"]

#: The most messages one request returns, and the default.
MAX_MESSAGES = 10000
DEFAULT_MESSAGES = 100


def _time(stamp: Any) -> str | None:
    return formatTimestamp(stamp) if stamp is not None else None


def _connector(status: ConnectorStatus) -> dict[str, Any]:
    return {
        "connectorId": status.connectorId,
        "status": status.status,
        "errorCode": status.errorCode,
        "info": status.info,
        "timestamp": _time(status.timestamp or status.receivedAt),
    }


def _transaction(transaction: Transaction) -> dict[str, Any]:
    return {
        "transactionId": transaction.transactionId,
        "chargePointId": transaction.chargePointId,
        "connectorId": transaction.connectorId,
        "idTag": transaction.idTag,
        "meterStart": transaction.meterStart,
        "startTimestamp": _time(transaction.startTimestamp),
        "meterStop": transaction.meterStop,
        "stopTimestamp": _time(transaction.stopTimestamp),
        "stopReason": transaction.stopReason,
        "reservationId": transaction.reservationId,
        "idTagStatus": transaction.idTagStatus,
    }


def _meterValue(meterValue: MeterValue) -> dict[str, Any]:
    return {
        "timestamp": _time(meterValue.timestamp),
        "sampledValue": [
            {name: value for name, value in vars(sample).items() if value is not None}
            for sample in meterValue.sampledValue
        ],
    }


def _idTag(tag: IdTag) -> dict[str, Any]:
    return {
        "idTag": tag.idTag,
        "status": tag.status,
        "expiryDate": _time(tag.expiryDate),
        "parentIdTag": tag.parentIdTag,
    }


def _frame(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class OperatorApi:
    """
    The handlers of the operator API for one central system.

    @ivar apis: this and the profiles' API objects, whose routes are all served.
    @ivar schemas: the profiles' OpenAPI component schemas.
    """

    def __init__(self, centralSystem: Any) -> None:
        self.centralSystem = centralSystem
        security = SecurityApi(centralSystem)
        self.apis: list[object] = [self, security]
        self.schemas: dict[str, Any] = dict(security.schemas)
        for profile in centralSystem.profiles:
            extension = getattr(profile, "api", None)
            if extension is not None:
                self.apis.append(extension)
                self.schemas.update(getattr(extension, "schemas", {}))
        for plugin in centralSystem.plugins.values():
            apiClass = getattr(plugin, "apiClass", None)
            if apiClass and plugin.name not in centralSystem.enabledProfiles:
                disabled = namedAny(apiClass)
                self.apis.append(DisabledApi(plugin.name, disabled))
                self.schemas.update(getattr(disabled, "schemas", {}))

    @property
    def _store(self) -> Any:
        return self.centralSystem.store

    async def _chargePointJson(
        self, chargePointId: str, chargePoint: ChargePoint | None, connected: bool | None = None
    ) -> dict[str, Any]:
        """
        @param connected: whether the station is connected, when already known.
        """
        if connected is None:
            connected = await self.centralSystem.isConnected(chargePointId)
        boot = chargePoint.boot if chargePoint is not None else None
        connectors = await self._store.getConnectorStatuses(chargePointId)
        return {
            "id": chargePointId,
            "registration": chargePoint.registration if chargePoint is not None else None,
            "connected": connected,
            "chargePointVendor": boot.chargePointVendor if boot else None,
            "chargePointModel": boot.chargePointModel if boot else None,
            "chargePointSerialNumber": boot.chargePointSerialNumber if boot else None,
            "chargeBoxSerialNumber": boot.chargeBoxSerialNumber if boot else None,
            "firmwareVersion": boot.firmwareVersion if boot else None,
            "iccid": boot.iccid if boot else None,
            "imsi": boot.imsi if boot else None,
            "meterType": boot.meterType if boot else None,
            "meterSerialNumber": boot.meterSerialNumber if boot else None,
            "lastBoot": _time(chargePoint.lastBoot) if chargePoint else None,
            "lastSeen": _time(chargePoint.lastSeen) if chargePoint else None,
            "connectors": [_connector(status) for status in connectors],
        }

    async def _knownChargePoint(self, chargePointId: str) -> ChargePoint | None:
        """
        The registered charge point, or L{None} for one connected but not registered.

        @raise ApiError: 404 when it is neither.
        """
        chargePoint = await self._store.getChargePoint(chargePointId)
        if chargePoint is None and not await self.centralSystem.isConnected(chargePointId):
            raise ApiError(404, "NotFound", f"no charge point {chargePointId!r}")
        return chargePoint  # type: ignore[no-any-return]

    # Charge points

    @route(
        "GET",
        "/chargepoints",
        "List the registered and the connected charge points.",
        {200: ("the charge points, by id", "ChargePointList")},
    )
    async def listChargePoints(self, request: Request) -> tuple[int, Any]:
        registered = {cp.chargePointId: cp for cp in await self._store.listChargePoints()}
        connected = await self.centralSystem.connectedStations()
        return 200, [
            await self._chargePointJson(
                chargePointId, registered.get(chargePointId), chargePointId in connected
            )
            for chargePointId in sorted(registered.keys() | connected)
        ]

    @route(
        "GET",
        "/chargepoints/{chargePointId}",
        "Show one charge point and its connectors.",
        {200: ("the charge point", "ChargePoint"), 404: ("no such charge point", "Error")},
    )
    async def getChargePoint(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        chargePoint = await self._knownChargePoint(chargePointId)
        return 200, await self._chargePointJson(chargePointId, chargePoint)

    @route(
        "PUT",
        "/chargepoints/{chargePointId}",
        "Register a charge point, or change its registration.",
        {
            200: ("updated", "ChargePoint"),
            201: ("registered", "ChargePoint"),
            400: ("bad body or id", "Error"),
        },
        requestBody="Registration",
    )
    async def putChargePoint(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        if len(chargePointId) > MAX_CHARGEPOINT_ID_LENGTH:
            raise ApiError(
                400,
                "BadRequest",
                f"a chargePointId has at most {MAX_CHARGEPOINT_ID_LENGTH} characters",
            )
        body = readJson(request)
        checkFields(body, {"registration"}, {"registration"})
        registration = choice(body, "registration", REGISTRATION_STATUSES)
        created = await self._store.setRegistration(chargePointId, registration)
        session = self.centralSystem.session(chargePointId)
        if session is not None:
            session.registration = registration
        chargePoint = await self._store.getChargePoint(chargePointId)
        return (201 if created else 200), await self._chargePointJson(chargePointId, chargePoint)

    @route(
        "DELETE",
        "/chargepoints/{chargePointId}",
        "Forget a charge point's registration and close its connection.",
        {204: ("deleted", None), 404: ("no such charge point", "Error")},
    )
    async def deleteChargePoint(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        deleted = await self._store.deleteChargePoint(chargePointId)
        if await self.centralSystem.isConnected(chargePointId):
            await self.centralSystem.disconnect(chargePointId, "removed by the operator")
        elif not deleted:
            raise ApiError(404, "NotFound", f"no charge point {chargePointId!r}")
        return 204, None

    @route(
        "POST",
        "/chargepoints/{chargePointId}/calls/{action}",
        "Send any central-system OCPP action of an enabled profile and wait for the answer. "
        "The body is the OCPP request payload, sent as given when it matches the action's schema.",
        {
            200: ("the station's answer", "CallAnswer"),
            400: ("bad JSON, or the payload breaks the action's schema", "Error"),
            403: ("the action's feature profile is not enabled", "Error"),
            404: ("no such charge point or action", "Error"),
            409: ("the charge point is not connected", "Error"),
            502: ("the station answered with a CALLERROR (or an invalid answer)", "CallError"),
            504: ("the station did not answer within [ocpp] call_timeout", "Error"),
        },
        requestBody="Payload",
    )
    async def postCall(self, request: Request, chargePointId: str, action: str) -> tuple[int, Any]:
        answer = await callStation(self.centralSystem, chargePointId, action, readJson(request))
        return 200, {"payload": answer}

    @route(
        "GET",
        "/chargepoints/{chargePointId}/messages",
        "The OCPP-J frames exchanged with a charge point, newest last.",
        {
            200: ("the frames", "MessageList"),
            400: ("bad limit", "Error"),
            404: ("no such charge point", "Error"),
        },
        query=(
            QueryParameter(
                "limit",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_MESSAGES,
                    "default": DEFAULT_MESSAGES,
                },
                "how many of the latest frames",
            ),
        ),
    )
    async def listMessages(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        limit = limitArgument(request, MAX_MESSAGES, DEFAULT_MESSAGES)
        await self.centralSystem.messageLog.flush()
        messages = await self._store.listMessages(chargePointId, limit)
        if not messages:
            await self._knownChargePoint(chargePointId)
        return 200, [
            {
                "timestamp": _time(message.timestamp),
                "direction": message.direction,
                "message": _frame(message.message),
            }
            for message in messages
        ]

    # Id tags

    @route("GET", "/idtags", "List the id tags.", {200: ("the id tags", "IdTagList")})
    async def listIdTags(self, request: Request) -> tuple[int, Any]:
        return 200, [_idTag(tag) for tag in await self._store.listIdTags()]

    @route(
        "GET",
        "/idtags/{idTag}",
        "Show one id tag (case-insensitive) as the database holds it now; this node's"
        " stations are answered with that from then on.",
        {200: ("the id tag", "IdTag"), 404: ("no such id tag", "Error")},
    )
    async def getIdTag(self, request: Request, idTag: str) -> tuple[int, Any]:
        # What the database holds now, which this node's stations get from then on.
        self._store.forgetIdTag(idTag)
        tag = await self._store.getIdTag(idTag)
        if tag is None:
            raise ApiError(404, "NotFound", f"no id tag {idTag!r}")
        return 200, _idTag(tag)

    @route(
        "PUT",
        "/idtags/{idTag}",
        "Create or replace an id tag and its IdTagInfo.",
        {
            200: ("replaced", "IdTag"),
            201: ("created", "IdTag"),
            400: ("bad body or id tag", "Error"),
        },
        requestBody="IdTagInfo",
    )
    async def putIdTag(self, request: Request, idTag: str) -> tuple[int, Any]:
        if not 0 < len(idTag) <= MAX_ID_TAG_LENGTH:
            raise ApiError(400, "BadRequest", f"an id tag has 1 to {MAX_ID_TAG_LENGTH} characters")
        tag = IdTag(idTag, *idTagInfoFields(readJson(request)))
        created = await self._store.putIdTag(tag)
        self.centralSystem.publish(IdTagChanged(tag.idTag))
        return (201 if created else 200), _idTag(tag)

    @route(
        "DELETE",
        "/idtags/{idTag}",
        "Delete an id tag.",
        {204: ("deleted", None), 404: ("no such id tag", "Error")},
    )
    async def deleteIdTag(self, request: Request, idTag: str) -> tuple[int, Any]:
        if not await self._store.deleteIdTag(idTag):
            raise ApiError(404, "NotFound", f"no id tag {idTag!r}")
        self.centralSystem.publish(IdTagChanged(idTag))
        return 204, None

    # Transactions

    @route(
        "GET",
        "/transactions",
        "List transactions, by transaction id.",
        {200: ("the transactions", "TransactionList"), 400: ("bad query", "Error")},
        query=(
            QueryParameter("chargepoint", {"type": "string"}, "only this charge point's"),
            QueryParameter(
                "active", {"type": "boolean"}, "only running (true) or only stopped (false) ones"
            ),
        ),
    )
    async def listTransactions(self, request: Request) -> tuple[int, Any]:
        transactions = await self._store.listTransactions(
            queryArgument(request, "chargepoint"), booleanArgument(request, "active")
        )
        return 200, [_transaction(transaction) for transaction in transactions]

    @route(
        "GET",
        "/transactions/{transactionId}",
        "Show one transaction with its meter values.",
        {
            200: ("the transaction", "TransactionWithMeterValues"),
            400: ("not a transaction id", "Error"),
            404: ("no such transaction", "Error"),
        },
    )
    async def getTransaction(self, request: Request, transactionId: str) -> tuple[int, Any]:
        try:
            number = int(transactionId)
        except ValueError:
            raise ApiError(400, "BadRequest", "a transactionId is an integer") from None
        transaction = await self._store.getTransaction(number)
        if transaction is None:
            raise ApiError(404, "NotFound", f"no transaction {number}")
        meterValues = await self._store.getMeterValues(number)
        return 200, {
            **_transaction(transaction),
            "meterValues": [_meterValue(meterValue) for meterValue in meterValues],
        }

    @route(
        "GET",
        "/openapi.json",
        "This API's OpenAPI 3 document.",
        {200: ("the OpenAPI document", None)},
    )
    async def getOpenApi(self, request: Request) -> tuple[int, Any]:
        from kcsms.api.openapi import openApiDocument

        return 200, openApiDocument(self.apis, self.schemas)
