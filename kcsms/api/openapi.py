"""
The OpenAPI 3 document of the operator API, made from the routes' own
declarations (L{kcsms.api.router.route}) and the schemas below.
"""

from collections.abc import Iterable
from typing import Any

from kcsms import __version__
from kcsms.api.router import PREFIX, routesOf
from kcsms.model import AUTHORIZATION_STATUSES, REGISTRATION_STATUSES

__all__ = ["SCHEMAS", "openApiDocument"]


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}


_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object(
        ["error", "message"],
        error={"type": "string", "description": "a short code, e.g. NotFound"},
        message={"type": "string"},
    ),
    "Connector": _object(
        ["connectorId", "status", "errorCode"],
        connectorId=_INTEGER,
        status=_STRING,
        errorCode=_STRING,
        info=_nullable(_STRING),
        timestamp=_nullable(_TIME),
    ),
    "ChargePoint": _object(
        ["id", "registration", "connected", "connectors"],
        id=_STRING,
        registration=_nullable({"type": "string", "enum": list(REGISTRATION_STATUSES)}),
        connected={"type": "boolean"},
        chargePointVendor=_nullable(_STRING),
        chargePointModel=_nullable(_STRING),
        chargePointSerialNumber=_nullable(_STRING),
        chargeBoxSerialNumber=_nullable(_STRING),
        firmwareVersion=_nullable(_STRING),
        iccid=_nullable(_STRING),
        imsi=_nullable(_STRING),
        meterType=_nullable(_STRING),
        meterSerialNumber=_nullable(_STRING),
        lastBoot=_nullable(_TIME),
        lastSeen=_nullable(_TIME),
        connectors=_list("Connector"),
    ),
    "ChargePointList": _list("ChargePoint"),
    "Registration": _object(
        ["registration"], registration={"type": "string", "enum": list(REGISTRATION_STATUSES)}
    ),
    "Payload": {"type": "object", "description": "an OCPP 1.6 request payload"},
    "CallAnswer": _object(["payload"], payload={"type": "object"}),
    "CallError": _object(
        ["error", "message"],
        error={"type": "string", "enum": ["CallError", "ResponseInvalid"]},
        message=_STRING,
        errorCode=_STRING,
        errorDescription=_STRING,
        errorDetails={"type": "object"},
    ),
    "IdTagInfo": _object(
        ["status"],
        status={"type": "string", "enum": list(AUTHORIZATION_STATUSES)},
        expiryDate=_nullable(_TIME),
        parentIdTag=_nullable({"type": "string", "maxLength": 20}),
    ),
    "IdTag": _object(
        ["idTag", "status"],
        idTag=_STRING,
        status={"type": "string", "enum": list(AUTHORIZATION_STATUSES)},
        expiryDate=_nullable(_TIME),
        parentIdTag=_nullable(_STRING),
    ),
    "IdTagList": _list("IdTag"),
    "Transaction": _object(
        ["transactionId", "chargePointId", "connectorId", "idTag", "meterStart"],
        transactionId=_INTEGER,
        chargePointId=_STRING,
        connectorId=_INTEGER,
        idTag=_STRING,
        meterStart=_INTEGER,
        startTimestamp=_TIME,
        meterStop=_nullable(_INTEGER),
        stopTimestamp=_nullable(_TIME),
        stopReason=_nullable(_STRING),
        reservationId=_nullable(_INTEGER),
        idTagStatus=_STRING,
    ),
    "TransactionList": _list("Transaction"),
    "MeterValue": _object(
        ["timestamp", "sampledValue"],
        timestamp=_TIME,
        sampledValue={"type": "array", "items": {"type": "object"}},
    ),
    "TransactionWithMeterValues": {
        "allOf": [
            {"$ref": "#/components/schemas/Transaction"},
            _object(["meterValues"], meterValues=_list("MeterValue")),
        ]
    },
    "Message": _object(
        ["timestamp", "direction", "message"],
        timestamp=_TIME,
        direction={"type": "string", "enum": ["in", "out"]},
        message={"description": "the OCPP-J frame (a JSON array), or its text when not JSON"},
    ),
    "MessageList": _list("Message"),
}


def openApiDocument(apis: Iterable[object], schemas: dict[str, Any]) -> dict[str, Any]:
    """
    @param apis: the objects whose L{kcsms.api.router.route}s the API serves.
    @param schemas: component schemas beyond L{SCHEMAS}, from profiles.
    """
    paths: dict[str, dict[str, Any]] = {}
    for route, _ in routesOf(apis):
        operation: dict[str, Any] = {
            "operationId": route.handler,
            "summary": route.summary,
            "x-kcsms-role": route.role,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in route.pathParameters
            ]
            + [
                {
                    "name": q.name,
                    "in": "query",
                    "required": False,
                    "schema": q.schema,
                    "description": q.description,
                }
                for q in route.query
            ],
            "responses": {
                str(status): {
                    "description": description,
                    **(
                        {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": f"#/components/schemas/{schema}"}
                                }
                            }
                        }
                        if schema
                        else {}
                    ),
                }
                for status, (description, schema) in route.responses.items()
            },
        }
        if route.requestBody is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{route.requestBody}"}
                    }
                },
            }
        paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "kcsms operator API",
            "version": __version__,
            "description": "Drive an OCPP 1.6-J central system: charge points, calls to "
            "stations, id tags, transactions and the message log. Errors are "
            '{"error": "<code>", "message": "<text>"}; once a token exists, every '
            "request needs Authorization: Bearer <token> of a token whose role "
            "(x-kcsms-role: read, operate or admin) allows the operation.",
        },
        "components": {
            "schemas": {**SCHEMAS, **schemas},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}, {}],
        "paths": paths,
    }
