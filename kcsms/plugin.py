"""
Feature-profile plugins: the lightweight plugin object that a dropin in
C{twisted/plugins/} exposes, and their discovery.

A plugin names its profile and the actions it owns and imports its
implementation only when a deployment enables it.  Discovery uses
C{getPlugins(IFeatureProfilePlugin)}, which swallows import errors; so an
enabled name with no plugin stops startup with a L{ConfigError} instead of
the profile silently vanishing.
"""

from collections.abc import Iterable

from twisted.plugin import IPlugin, getPlugins
from twisted.python.reflect import namedAny
from zope.interface import implementer

from kcsms.config import ConfigError
from kcsms.interfaces import IFeatureProfile, IFeatureProfilePlugin

__all__ = ["FeatureProfilePlugin", "findPlugins", "enabledPlugins"]


@implementer(IPlugin, IFeatureProfilePlugin)
class FeatureProfilePlugin:
    """
    An L{IFeatureProfilePlugin} whose profile class is named by a dotted path
    and imported only by L{makeProfile}.

    @param profileClass: dotted name of a callable C{(options, centralSystem)}
        returning an L{IFeatureProfile}.
    @param apiClass: dotted name of the class of the profile's C{api}, if it
        has one: when the profile is disabled its routes answer 403.
    """

    def __init__(
        self,
        name: str,
        profileClass: str,
        stationActions: Iterable[str] = (),
        centralActions: Iterable[str] = (),
        apiClass: str | None = None,
    ) -> None:
        self.name = name
        self.profileClass = profileClass
        self.apiClass = apiClass
        self.stationActions = tuple(stationActions)
        self.centralActions = tuple(centralActions)

    def __repr__(self) -> str:
        return f"<FeatureProfilePlugin {self.name}>"

    def makeProfile(self, options, centralSystem):  # type: ignore[no-untyped-def]
        profile = namedAny(self.profileClass)(options, centralSystem)
        if not IFeatureProfile.providedBy(profile):
            raise TypeError(f"{self.profileClass} does not provide IFeatureProfile")
        return profile


def findPlugins() -> dict[str, IFeatureProfilePlugin]:
    """
    @return: every installed feature-profile plugin, by name.
    """
    import twisted.plugins

    return {plugin.name: plugin for plugin in getPlugins(IFeatureProfilePlugin, twisted.plugins)}


def enabledPlugins(
    enabled: Iterable[str], plugins: dict[str, IFeatureProfilePlugin]
) -> list[IFeatureProfilePlugin]:
    """
    The plugins for the C{[profiles] enabled} names, in that order.

    @raise ConfigError: for a name with no plugin.
    """
    missing = [name for name in enabled if name not in plugins]
    if missing:
        raise ConfigError(
            "profiles",
            "enabled",
            f"no plugin for {', '.join(missing)} (installed: {', '.join(sorted(plugins))})",
        )
    return [plugins[name] for name in enabled]
