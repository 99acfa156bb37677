"""
The profile behind the test plugin in C{tests/plugins/kcsms_acme.py}.
"""

from zope.interface import implementer

from kcsms.config import ConfigError
from kcsms.interfaces import IFeatureProfile


@implementer(IFeatureProfile)
class AcmeProfile:
    """
    Answers DataTransfer for vendorId C{com.acme} and the made-up C{AcmeHello}.
    """

    name = "AcmeVendor"
    vendorIds = ("com.acme",)

    def __init__(self, options, centralSystem):
        unknown = set(options) - {"greeting"}
        if unknown:
            raise ConfigError("profile:AcmeVendor", sorted(unknown)[0], "unknown key")
        self.greeting = options.get("greeting", "hello")

    def ocpp_DataTransfer(self, session, request):
        return {"status": "Accepted", "data": f"{self.greeting} {session.chargePointId}"}

    def ocpp_AcmeHello(self, session, request):
        return {"greeting": self.greeting}
