"""
A third-party feature-profile plugin, as a vendor would ship one: it answers
DataTransfer for its own vendorId and a station action of its own.  Only
visible to tests that add this folder to C{twisted.plugins.__path__}.
"""

from kcsms.plugin import FeatureProfilePlugin

acme = FeatureProfilePlugin(
    "AcmeVendor",
    "tests.acmeprofile.AcmeProfile",
    stationActions=("AcmeHello",),
)
