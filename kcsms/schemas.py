"""
Validation of OCPP 1.6 payloads against the official JSON schemas.

The schemas are data shipped by the C{ocpp} package (C{ocpp/v16/schemas});
each is compiled once, on first use, with fastjsonschema.  A violation becomes
an L{kcsms.ocppj.OcppError} with the CALLERROR code OCPP-J 1.6 prescribes for
it.  C{date-time} fields accept any RFC 3339 time and also times without an
offset (taken as UTC), which real chargers send.
"""

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema

from kcsms.ocppj import OcppError
from kcsms.timestamps import isTimestamp

__all__ = ["validateRequest", "validateResponse", "hasSchema"]

_FORMATS = {"date-time": isTimestamp}

#: fastjsonschema rule -> OCPP-J 1.6 CALLERROR code.
_RULE_ERRORS = {
    "type": "TypeConstraintViolation",
    "maxLength": "TypeConstraintViolation",
    "required": "ProtocolError",
    "additionalProperties": "FormationViolation",
    "enum": "PropertyConstraintViolation",
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    "exclusiveMinimum": "PropertyConstraintViolation",
    "exclusiveMaximum": "PropertyConstraintViolation",
    "multipleOf": "PropertyConstraintViolation",
    "format": "PropertyConstraintViolation",
    "pattern": "PropertyConstraintViolation",
    "minLength": "PropertyConstraintViolation",
    "minItems": "OccurenceConstraintViolation",
    "maxItems": "OccurenceConstraintViolation",
    "uniqueItems": "OccurenceConstraintViolation",
}


def _schemaFile(name: str) -> Any:
    return resources.files("ocpp.v16").joinpath("schemas", f"{name}.json")


@cache
def _schemaNames() -> frozenset[str]:
    folder = resources.files("ocpp.v16").joinpath("schemas")
    return frozenset(
        entry.name[: -len(".json")] for entry in folder.iterdir() if entry.name.endswith(".json")
    )


def hasSchema(action: str) -> bool:
    """
    @return: whether OCPP 1.6 has a schema for C{action}'s request.
    """
    return action in _schemaNames()


@cache
def _validator(name: str) -> Callable[[Any], Any]:
    schema = json.loads(_schemaFile(name).read_text(encoding="utf-8-sig"))
    return fastjsonschema.compile(schema, formats=_FORMATS)  # type: ignore[no-any-return]


def _validate(name: str, payload: dict[str, Any]) -> None:
    try:
        _validator(name)(payload)
    except fastjsonschema.JsonSchemaValueException as e:
        errorCode = _RULE_ERRORS.get(e.rule or "", "FormationViolation")
        field = (e.name or "data").replace("data.", "", 1).replace("data", "payload", 1)
        raise OcppError(
            errorCode,
            f"{name}: {e.message.replace(e.name or 'data', field, 1)}",
            {"field": field},
        ) from None


def validateRequest(action: str, payload: dict[str, Any]) -> None:
    """
    Check a CALL payload.

    @raise OcppError: with the CALLERROR code for the first violation.
    """
    _validate(action, payload)


def validateResponse(action: str, payload: dict[str, Any]) -> None:
    """
    Check the CALLRESULT payload that answers C{action}.

    @raise OcppError: with the CALLERROR code for the first violation.
    """
    _validate(f"{action}Response", payload)
