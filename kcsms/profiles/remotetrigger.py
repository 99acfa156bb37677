"""
The RemoteTrigger feature profile: TriggerMessage, sent as the operator
gives it (through its own route or the calls route).

It answers no station action of its own: the message a station sends
because it was triggered is answered by the profile that owns it, exactly
as an untriggered one (a triggered BootNotification by Core, a triggered
FirmwareStatusNotification by FirmwareManagement, or NotSupported while that
profile is not enabled).
"""

from collections.abc import Mapping

from zope.interface import implementer

from kcsms.interfaces import ICentralSystem, IFeatureProfile
from kcsms.profiles import refuseOptions

__all__ = ["RemoteTriggerProfile"]


@implementer(IFeatureProfile)
class RemoteTriggerProfile:
    """
    The RemoteTrigger profile of one central system.
    """

    name = "RemoteTrigger"
    vendorIds: tuple[str, ...] = ()

    def __init__(self, options: Mapping[str, str], centralSystem: ICentralSystem) -> None:
        from kcsms.api.trigger import TriggerApi

        refuseOptions(self.name, options)
        self.api = TriggerApi(centralSystem)
