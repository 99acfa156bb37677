"""
The OCPP 1.6 feature profiles, one module each.
"""

from collections.abc import Coroutine, Mapping
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger

from kcsms.config import ConfigError

__all__ = ["refuseOptions", "ObservingProfile"]


def refuseOptions(name: str, options: Mapping[str, str]) -> None:
    """
    Check the options of a profile that has none.

    @raise ConfigError: naming C{[profile:<name>]} and a key, when there is one.
    """
    if options:
        raise ConfigError(f"profile:{name}", min(options), f"unknown key ({name} has no options)")


class ObservingProfile(Service):
    """
    A profile that is a service observing the central system's events:
    while it runs, every event goes to its C{_observe(event)}.

    @ivar centralSystem: the L{kcsms.interfaces.ICentralSystem}.
    """

    log = Logger()

    def __init__(self, centralSystem: Any) -> None:
        self.centralSystem = centralSystem
        self._unsubscribe: Any = None

    @property
    def _store(self) -> Any:
        return self.centralSystem.store

    def _observe(self, event: Any) -> None:
        """
        Learn from an event; must not raise (work goes L{_inBackground}).
        """

    def _inBackground(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        """
        Run C{work}, logging its failure as C{what}.
        """
        ensureDeferred(work).addErrback(lambda f: self.log.failure(what, f))

    def startService(self) -> None:
        super().startService()
        self._unsubscribe = self.centralSystem.subscribe(self._observe)

    def stopService(self) -> None:
        super().stopService()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
