"""
kcsms: an OCPP 1.6-J Central System built on Twisted and Autobahn.

Each OCPP feature profile is a plugin found through C{twisted/plugins/}; the
running central system is a L{twisted.application.service.IService} made by
L{kcsms.service.makeService} (what C{twistd kcsms} runs).
"""

from typing import Any

__all__ = ["__version__", "makeService"]

__version__ = "0.1.0"


def makeService(config: Any, reactor: Any = None) -> Any:
    """
    Make a central system to embed in a Twisted application: add the
    returned L{twisted.application.service.IService} to your own
    L{twisted.application.service.MultiService}.  It is also the
    L{kcsms.interfaces.ICentralSystem} (C{call}, C{subscribe}).

    @param config: a L{kcsms.config.Config}, e.g. from
        L{kcsms.config.fromString}.
    @param reactor: the reactor (the global one when L{None}).
    """
    from kcsms.service import makeService as makeCentralSystem

    return makeCentralSystem(config, reactor)
