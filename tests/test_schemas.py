"""
Tests for L{kcsms.schemas}: the official OCPP 1.6 schemas and the CALLERROR
code each violation earns.
"""

import pytest

from kcsms.ocppj import OcppError
from kcsms.schemas import hasSchema, validateRequest, validateResponse

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One"}


@pytest.mark.parametrize(
    "action, payload, code",
    [
        ("BootNotification", {"chargePointVendor": "Acme"}, "ProtocolError"),
        ("BootNotification", {**BOOT, "extra": 1}, "FormationViolation"),
        ("BootNotification", {**BOOT, "chargePointVendor": 5}, "TypeConstraintViolation"),
        ("BootNotification", {**BOOT, "chargePointVendor": "x" * 21}, "TypeConstraintViolation"),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"},
            "PropertyConstraintViolation",
        ),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "now"},
            "PropertyConstraintViolation",
        ),
    ],
)
def test_violationCodes(action, payload, code):
    """
    Each kind of violation maps to the CALLERROR code OCPP-J 1.6 prescribes.
    """
    with pytest.raises(OcppError) as info:
        validateRequest(action, payload)
    assert info.value.errorCode == code
    assert action in info.value.description


def test_timestampWithoutOffsetIsValid():
    """
    Real chargers send times without an offset; they are valid.
    """
    validateRequest(
        "StatusNotification",
        {
            "connectorId": 0,
            "errorCode": "NoError",
            "status": "Available",
            "timestamp": "2026-01-01T00:00:00",
        },
    )


def test_limitWithOneDecimalIsAMultipleOfOneTenth():
    """
    C{limit: 21.4} is valid (C{multipleOf: 0.1}); C{21.45} is not.
    """
    profile = {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}],
            },
        },
    }
    validateRequest("SetChargingProfile", profile)
    profile["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = 21.45
    with pytest.raises(OcppError):
        validateRequest("SetChargingProfile", profile)


def test_responses():
    """
    Responses are checked against the C{<Action>Response} schema.
    """
    validateResponse("Heartbeat", {"currentTime": "2026-01-01T00:00:00.000Z"})
    with pytest.raises(OcppError) as info:
        validateResponse("Heartbeat", {})
    assert info.value.errorCode == "ProtocolError"


def test_hasSchema():
    """
    Every OCPP 1.6 action has a schema; made-up ones do not.
    """
    assert hasSchema("StopTransaction")
    assert hasSchema("TriggerMessage")
    assert not hasSchema("FooBar")
    assert not hasSchema("../setup")
