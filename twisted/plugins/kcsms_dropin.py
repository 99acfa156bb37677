"""
kcsms's twistd plugin (C{twistd kcsms}) and its feature-profile plugins.

Keep this module cheap to import: twistd imports every dropin to list its
subcommands, so nothing here imports the reactor, Autobahn or a profile's code.
"""

from twisted.application.service import ServiceMaker

from kcsms.actions import CENTRAL_ACTIONS, STATION_ACTIONS
from kcsms.plugin import FeatureProfilePlugin

kcsms = ServiceMaker("kcsms", "kcsms.tap", "An OCPP 1.6-J Central System (CSMS).", "kcsms")

core = FeatureProfilePlugin(
    "Core",
    "kcsms.profiles.core.CoreProfile",
    STATION_ACTIONS["Core"],
    CENTRAL_ACTIONS["Core"],
)

localAuthListManagement = FeatureProfilePlugin(
    "LocalAuthListManagement",
    "kcsms.profiles.localauthlist.LocalAuthListProfile",
    STATION_ACTIONS["LocalAuthListManagement"],
    CENTRAL_ACTIONS["LocalAuthListManagement"],
    apiClass="kcsms.api.locallists.LocalListApi",
)

reservation = FeatureProfilePlugin(
    "Reservation",
    "kcsms.profiles.reservation.ReservationProfile",
    STATION_ACTIONS["Reservation"],
    CENTRAL_ACTIONS["Reservation"],
    apiClass="kcsms.api.reservations.ReservationApi",
)

remoteTrigger = FeatureProfilePlugin(
    "RemoteTrigger",
    "kcsms.profiles.remotetrigger.RemoteTriggerProfile",
    STATION_ACTIONS["RemoteTrigger"],
    CENTRAL_ACTIONS["RemoteTrigger"],
    apiClass="kcsms.api.trigger.TriggerApi",
)

firmwareManagement = FeatureProfilePlugin(
    "FirmwareManagement",
    "kcsms.profiles.firmware.FirmwareProfile",
    STATION_ACTIONS["FirmwareManagement"],
    CENTRAL_ACTIONS["FirmwareManagement"],
    apiClass="kcsms.api.firmware.FirmwareApi",
)

smartCharging = FeatureProfilePlugin(
    "SmartCharging",
    "kcsms.profiles.smartcharging.SmartChargingProfile",
    STATION_ACTIONS["SmartCharging"],
    CENTRAL_ACTIONS["SmartCharging"],
    apiClass="kcsms.api.smartcharging.SmartChargingApi",
)
