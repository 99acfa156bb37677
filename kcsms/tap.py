"""
C{twistd kcsms}: command-line options and the service they make.

A configuration error ends the command with one line naming
C{[section] key} and a non-zero exit, before anything listens.
"""

from twisted.application.service import IService
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
    Make the central system that C{twistd kcsms} runs.
    """
    import txaio

    from kcsms.service import makeService as makeCentralSystem

    # Autobahn logs every frame at debug level, and twistd shows every level.
    txaio.use_twisted()
    txaio.set_global_log_level("info")  # type: ignore[attr-defined]
    try:
        return makeCentralSystem(options.config)
    except ConfigError as e:
        raise SystemExit(f"kcsms: {options['config']}: {e}") from None
