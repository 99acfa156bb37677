"""
C{twistd kcsms}: command-line options and the service they make.

A configuration error ends the command with one line naming
C{[section] key} and a non-zero exit, before anything listens.
"""

from twisted.application.service import IService, MultiService
from twisted.python import usage

from kcsms.config import Config, ConfigError, fromFile

__all__ = ["Options", "makeService"]


class Options(usage.Options):
    """
    C{twistd kcsms [--config FILE]}
    """

    synopsis = "[--config FILE]"
    optParameters = [
        ["config", "c", "etc/kcsms.ini", "The INI configuration file."],
    ]

    config: Config

    def postOptions(self) -> None:
        try:
            self.config = fromFile(self["config"])
        except ConfigError as e:
            raise SystemExit(f"kcsms: {e}") from None


def makeService(options: Options) -> IService:
    """
    Make what C{twistd kcsms} runs: the central system, and the garbage
    collector on the reactor's schedule (the process is kcsms's own).
    """
    import txaio
    from twisted.internet import reactor

    from kcsms.collector import GarbageCollector
    from kcsms.service import makeService as makeCentralSystem

    # Autobahn logs every frame at debug level, and twistd shows every level.
    txaio.use_twisted()
    txaio.set_global_log_level("info")  # type: ignore[attr-defined]
    try:
        centralSystem = makeCentralSystem(options.config, reactor)
    except ConfigError as e:
        raise SystemExit(f"kcsms: {options['config']}: {e}") from None
    process = MultiService()
    centralSystem.setServiceParent(process)
    GarbageCollector(reactor).setServiceParent(process)
    return process
