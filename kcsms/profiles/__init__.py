"""
The OCPP 1.6 feature profiles, one module each.
"""

from collections.abc import Mapping

from kcsms.config import ConfigError

__all__ = ["refuseOptions"]


def refuseOptions(name: str, options: Mapping[str, str]) -> None:
    """
    Check the options of a profile that has none.

    @raise ConfigError: naming C{[profile:<name>]} and a key, when there is one.
    """
    if options:
        raise ConfigError(f"profile:{name}", min(options), f"unknown key ({name} has no options)")
