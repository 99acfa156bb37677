"""
kcsms: an OCPP 1.6-J Central System built on Twisted and Autobahn.

Each OCPP feature profile is a plugin found through C{twisted/plugins/}; the
running central system is a L{twisted.application.service.IService} made by
L{kcsms.service.makeService} (what C{twistd kcsms} runs).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
