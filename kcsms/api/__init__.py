"""
The operator API: REST/JSON over HTTP under C{/api/v1}, served by
twisted.web on the central system's reactor.

L{makeSite} builds the C{twisted.web} site that
L{kcsms.service.CentralSystemService} listens with on C{[api] endpoint}.
"""

from typing import Any

from twisted.web.server import Site

from kcsms.api.resource import ApiResource
from kcsms.api.routes import OperatorApi
from kcsms.tokens import OperatorTokens

__all__ = ["makeSite"]


def makeSite(centralSystem: Any) -> Site:
    """
    @param centralSystem: the L{kcsms.service.CentralSystemService} to operate.
    """
    api = OperatorApi(centralSystem)
    operators = OperatorTokens(centralSystem.store, centralSystem.config.api.token)
    site = Site(ApiResource(api, operators))
    for extension in api.apis:
        requestFactory = getattr(extension, "requestFactory", None)
        if requestFactory is not None:
            site.requestFactory = requestFactory
    return site
