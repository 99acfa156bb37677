"""
Operator API route of the RemoteTrigger profile: ask a station to send one
of its messages now (TriggerMessage).
"""

from typing import Any

from twisted.web.server import Request

from kcsms.api.resource import readJson
from kcsms.api.router import route
from kcsms.api.validation import CALL_RESPONSES, callStation, checkFields, choice

__all__ = ["REQUESTED_MESSAGES", "TriggerApi"]

#: TriggerMessage's MessageTrigger values.
REQUESTED_MESSAGES = (
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
)


class TriggerApi:
    """
    The route; it sends through C{centralSystem}, an L{kcsms.interfaces.ICentralSystem}.
    """

    schemas = {
        "TriggerRequest": {
            "type": "object",
            "required": ["requestedMessage"],
            "properties": {
                "requestedMessage": {"type": "string", "enum": list(REQUESTED_MESSAGES)},
                "connectorId": {
                    "type": "integer",
                    "description": "sent as given, even beyond the station's connectors",
                },
            },
        },
        "TriggerAnswer": {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": ["Accepted", "Rejected", "NotImplemented"]}
            },
        },
    }

    def __init__(self, centralSystem: Any) -> None:
        self.centralSystem = centralSystem

    @route(
        "POST",
        "/chargepoints/{chargePointId}/trigger",
        "Ask a station to send a message now: sends TriggerMessage and answers the "
        "station's status. The message it then sends is answered as any other.",
        {
            200: ("the station's TriggerMessage answer", "TriggerAnswer"),
            400: ("bad body, or it breaks TriggerMessage's schema", "Error"),
            **CALL_RESPONSES,
        },
        requestBody="TriggerRequest",
    )
    async def postTrigger(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        body = readJson(request)
        checkFields(body, {"requestedMessage", "connectorId"}, {"requestedMessage"})
        choice(body, "requestedMessage", REQUESTED_MESSAGES)
        return 200, await callStation(self.centralSystem, chargePointId, "TriggerMessage", body)
