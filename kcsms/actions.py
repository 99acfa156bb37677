"""
The actions of OCPP 1.6, which feature profile owns each, and who sends it.

A station action is one a charge point CALLs (the central system answers);
a central action is one the central system CALLs.  DataTransfer is both.
The profile plugins in C{twisted/plugins/} take their action lists from here.
"""

__all__ = ["PROFILES", "STATION_ACTIONS", "CENTRAL_ACTIONS", "profileOf"]

#: OCPP 1.6 feature profiles, as SupportedFeatureProfiles spells them.
PROFILES = (
    "Core",
    "FirmwareManagement",
    "LocalAuthListManagement",
    "Reservation",
    "SmartCharging",
    "RemoteTrigger",
)

#: Station -> central system actions, by profile.
STATION_ACTIONS: dict[str, tuple[str, ...]] = {
    "Core": (
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
    ),
    "FirmwareManagement": ("DiagnosticsStatusNotification", "FirmwareStatusNotification"),
    "LocalAuthListManagement": (),
    "Reservation": (),
    "SmartCharging": (),
    "RemoteTrigger": (),
}

#: Central system -> station actions, by profile.
CENTRAL_ACTIONS: dict[str, tuple[str, ...]] = {
    "Core": (
        "ChangeAvailability",
        "ChangeConfiguration",
        "ClearCache",
        "DataTransfer",
        "GetConfiguration",
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "Reset",
        "UnlockConnector",
    ),
    "FirmwareManagement": ("GetDiagnostics", "UpdateFirmware"),
    "LocalAuthListManagement": ("GetLocalListVersion", "SendLocalList"),
    "Reservation": ("CancelReservation", "ReserveNow"),
    "SmartCharging": ("ClearChargingProfile", "GetCompositeSchedule", "SetChargingProfile"),
    "RemoteTrigger": ("TriggerMessage",),
}


def profileOf(action: str, table: dict[str, tuple[str, ...]]) -> str | None:
    """
    @param table: L{STATION_ACTIONS} or L{CENTRAL_ACTIONS}.
    @return: the OCPP 1.6 profile that owns C{action} in that direction, or L{None}.
    """
    for profile, actions in table.items():
        if action in actions:
            return profile
    return None
