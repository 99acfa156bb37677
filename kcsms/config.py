"""
The INI configuration, read into frozen objects.

Every section and key is declared here with its parser and default; an
unknown section or key, or a bad value, is a L{ConfigError} that names
C{[section] key} and what is wrong, so that a typo never passes silently.
Sections named C{[profile:<Name>]} hold a plugin's own options and are handed
to that plugin unparsed.
"""

import configparser
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "ConfigError",
    "Config",
    "OcppConfig",
    "StorageConfig",
    "ApiConfig",
    "ClusterConfig",
    "TlsConfig",
    "FilesConfig",
    "SmartChargingConfig",
    "ProfilesConfig",
    "fromString",
    "fromFile",
]

UNKNOWN_CHARGEPOINT_POLICIES = ("accept", "pending", "reject")
PROFILE_SECTION_PREFIX = "profile:"


class ConfigError(Exception):
    """
    A configuration problem, rendered as one line.
    """

    def __init__(self, section: str, key: str | None, message: str, source: str = "") -> None:
        where = f"[{section}] {key}" if key else f"[{section}]"
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{where}: {message}")
        self.section = section
        self.key = key


@dataclass(frozen=True)
class OcppConfig:
    """
    C{[ocpp]}: how stations reach us and how we talk to them.
    """

    endpoints: tuple[str, ...] = ("tcp:9000",)
    path: str = "/ocpp"
    heartbeatInterval: int = 300
    callTimeout: float = 60.0
    unknownChargePoints: str = "accept"
    tlsEndpoints: tuple[str, ...] = ()
    securityProfile: int = 0


@dataclass(frozen=True)
class StorageConfig:
    """
    C{[storage]}: where state is kept.
    """

    database: str = "sqlite:var/kcsms.sqlite"
    messageLogDays: int = 7
    poolSize: int = 5
    idTagCacheSeconds: int = 60


@dataclass(frozen=True)
class ApiConfig:
    """
    C{[api]}: the operator REST API.

    @ivar endpoints: where it listens; empty disables it.
    @ivar token: when set, every request needs C{Authorization: Bearer <token>}.
    @ivar tlsEndpoints: where it listens with TLS (C{[tls]}).
    """

    endpoints: tuple[str, ...] = ("tcp:8080:interface=127.0.0.1",)
    token: str = ""
    tlsEndpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class TlsConfig:
    """
    C{[tls]}: the certificates of the C{tls_endpoint}s.

    @ivar certificates: C{(certificate file, private key file)} pairs.
    @ivar clientCa: the CA file client certificates must chain to, if any.
    """

    certificates: tuple[tuple[str, str], ...] = ()
    clientCa: str | None = None


def defaultNodeId() -> str:
    """
    @return: this process's node id when none is configured: host name and pid.
    """
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class ClusterConfig:
    """
    C{[cluster]}: this node among several sharing one PostgreSQL database.
    """

    nodeId: str = field(default_factory=defaultNodeId)


@dataclass(frozen=True)
class FilesConfig:
    """
    C{[files]}: the files kcsms hosts for FirmwareManagement (firmware
    images stations download, diagnostics they upload).

    @ivar endpoints: where stations reach them over HTTP; empty: no HTTP.
    @ivar publicUrl: the base URL of C{endpoints} in the addresses handed to
        stations; empty: C{http://<host>:<port>} of the first one.
    @ivar ftpEndpoints: where stations upload diagnostics over FTP; empty: no FTP.
    @ivar ftpPublicUrl: the same for C{ftpEndpoints} (C{ftp://host:port}).
    @ivar directory: where the files are kept.
    @ivar maxFileSize: the largest file accepted, in bytes.
    """

    endpoints: tuple[str, ...] = ()
    publicUrl: str = ""
    ftpEndpoints: tuple[str, ...] = ()
    ftpPublicUrl: str = ""
    directory: str = "var/files"
    maxFileSize: int = 256 * 1024 * 1024


@dataclass(frozen=True)
class SmartChargingConfig:
    """
    C{[smartcharging]}: how kcsms computes composite schedules.

    @ivar voltage: the nominal voltage of a phase, in volts, to convert
        limits between amperes (per phase) and watts.
    """

    voltage: float = 230.0


@dataclass(frozen=True)
class ProfilesConfig:
    """
    C{[profiles]} and the C{[profile:<Name>]} sections.
    """

    enabled: tuple[str, ...] = (
        "Core",
        "LocalAuthListManagement",
        "Reservation",
        "RemoteTrigger",
        "FirmwareManagement",
        "SmartCharging",
    )
    options: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))

    def optionsFor(self, name: str) -> Mapping[str, str]:
        """
        @return: the C{[profile:<name>]} section, empty when there is none.
        """
        return self.options.get(name, MappingProxyType({}))


@dataclass(frozen=True)
class Config:
    """
    The whole configuration of one central system.
    """

    ocpp: OcppConfig = field(default_factory=OcppConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    files: FilesConfig = field(default_factory=FilesConfig)
    smartcharging: SmartChargingConfig = field(default_factory=SmartChargingConfig)
    profiles: ProfilesConfig = field(default_factory=ProfilesConfig)


def _positiveInt(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise ValueError("must be a positive whole number")
    return int(text)


def _nonNegativeInt(text: str) -> int:
    if not text.isdigit():
        raise ValueError("must be a whole number, 0 or more")
    return int(text)


def _positiveFloat(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ValueError("must be a positive number of seconds")
    return value


def _voltage(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1000:
        raise ValueError("must be a number of volts above 0, at most 1000")
    return value


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text

    return parse


def _optionalEndpoints(text: str) -> tuple[str, ...]:
    from twisted.internet.endpoints import serverFromString

    endpoints = tuple(line.strip() for line in text.splitlines() if line.strip())
    for description in endpoints:
        try:
            # Parsing only: the endpoint is not listened on, so no reactor is needed.
            serverFromString(object(), description)
        except Exception as e:
            raise ValueError(f"bad endpoint {description!r}: {e}") from None
    return endpoints


def _endpoints(text: str) -> tuple[str, ...]:
    endpoints = _optionalEndpoints(text)
    if not endpoints:
        raise ValueError("needs at least one endpoint, e.g. tcp:9000")
    return endpoints


def _token(text: str) -> str:
    if any(c.isspace() for c in text):
        raise ValueError("must not contain white space")
    return text


def _path(text: str) -> str:
    if not text.startswith("/") or any(c in text for c in "?#% "):
        raise ValueError("must be a URL path starting with '/', e.g. /ocpp")
    return text.rstrip("/")


def _database(text: str) -> str:
    if not (
        text == "memory:"
        or (text.startswith("sqlite:") and len(text) > len("sqlite:"))
        or re.match(r"^postgres(ql)?://[^/]*/[^/?]+", text)
    ):
        raise ValueError("must be sqlite:PATH, memory: or postgresql://user@host:port/dbname")
    return text


def _nodeId(text: str) -> str:
    if not 0 < len(text) <= 100 or any(c.isspace() for c in text):
        raise ValueError("must be 1 to 100 characters without white space")
    return text


def _securityProfile(text: str) -> int:
    if text not in ("0", "1", "2", "3"):
        raise ValueError("must be 0, 1, 2 or 3")
    return int(text)


def _certificates(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for line in text.splitlines():
        files = line.split()
        if len(files) > 2:
            raise ValueError("one certificate file and its key file (if apart) per line")
        if files:
            pairs.append((files[0], files[-1]))
    return tuple(pairs)


def _baseUrl(*schemes: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text and not re.match(rf"^({'|'.join(schemes)})://[^/?#@\s]+(/[^?#\s]*)?$", text):
            raise ValueError(
                f"must be empty or a {' or '.join(schemes)} URL (scheme://host[:port][/path])"
            )
        return text.rstrip("/")

    return parse


def _directory(text: str) -> str:
    if not text:
        raise ValueError("must name a directory")
    return text


def _profileNames(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.replace("\n", ",").split(",") if name.strip())
    if "Core" not in names:
        raise ValueError("Core cannot be disabled")
    if len(set(names)) != len(names):
        raise ValueError("a profile is listed twice")
    return names


# section -> key -> (attribute, parser)
_SCHEMA: dict[str, dict[str, tuple[str, Callable[[str], Any]]]] = {
    "ocpp": {
        "endpoint": ("endpoints", _endpoints),
        "path": ("path", _path),
        "heartbeat_interval": ("heartbeatInterval", _positiveInt),
        "call_timeout": ("callTimeout", _positiveFloat),
        "unknown_chargepoints": (
            "unknownChargePoints",
            _choice(*UNKNOWN_CHARGEPOINT_POLICIES),
        ),
        "tls_endpoint": ("tlsEndpoints", _optionalEndpoints),
        "security_profile": ("securityProfile", _securityProfile),
    },
    "storage": {
        "database": ("database", _database),
        "message_log_days": ("messageLogDays", _positiveInt),
        "pool_size": ("poolSize", _positiveInt),
        "id_tag_cache_seconds": ("idTagCacheSeconds", _nonNegativeInt),
    },
    "api": {
        "endpoint": ("endpoints", _optionalEndpoints),
        "token": ("token", _token),
        "tls_endpoint": ("tlsEndpoints", _optionalEndpoints),
    },
    "tls": {
        "certificate": ("certificates", _certificates),
        "client_ca": ("clientCa", lambda text: text or None),
    },
    "cluster": {"node_id": ("nodeId", _nodeId)},
    "files": {
        "endpoint": ("endpoints", _optionalEndpoints),
        "public_url": ("publicUrl", _baseUrl("http", "https")),
        "ftp_endpoint": ("ftpEndpoints", _optionalEndpoints),
        "ftp_public_url": ("ftpPublicUrl", _baseUrl("ftp")),
        "directory": ("directory", _directory),
        "max_file_size": ("maxFileSize", _positiveInt),
    },
    "smartcharging": {"voltage": ("voltage", _voltage)},
    "profiles": {"enabled": ("enabled", _profileNames)},
}

_SECTION_TYPES: dict[str, type] = {
    "ocpp": OcppConfig,
    "storage": StorageConfig,
    "api": ApiConfig,
    "cluster": ClusterConfig,
    "tls": TlsConfig,
    "files": FilesConfig,
    "smartcharging": SmartChargingConfig,
    "profiles": ProfilesConfig,
}


def _parseSection(parser: configparser.ConfigParser, section: str, source: str) -> dict[str, Any]:
    keys = _SCHEMA[section]
    values: dict[str, Any] = {}
    if not parser.has_section(section):
        return values
    for key, text in parser.items(section):
        if key not in keys:
            raise ConfigError(
                section, key, f"unknown key (known: {', '.join(sorted(keys))})", source
            )
        attribute, parse = keys[key]
        try:
            values[attribute] = parse(text.strip())
        except ValueError as e:
            raise ConfigError(section, key, f"{e} (got {text.strip()!r})", source) from None
    return values


def fromString(text: str, source: str = "") -> Config:
    """
    Build a L{Config} from INI text; absent sections and keys take their defaults.

    @param source: where the text came from, for error messages.
    @raise ConfigError: for anything unknown or invalid.
    """
    parser = configparser.ConfigParser(
        interpolation=None, inline_comment_prefixes=(";",), default_section="\x00"
    )
    try:
        parser.read_string(text, source or "<string>")
    except configparser.DuplicateOptionError as e:
        raise ConfigError(e.section, e.option, "is set twice", source) from None
    except configparser.DuplicateSectionError as e:
        raise ConfigError(e.section, None, "appears twice", source) from None
    except configparser.Error as e:
        raise ConfigError("?", None, " ".join(str(e).split()), source) from None
    profileOptions = {}
    for section in parser.sections():
        if section.startswith(PROFILE_SECTION_PREFIX):
            name = section[len(PROFILE_SECTION_PREFIX) :].strip()
            profileOptions[name] = MappingProxyType(
                {key: value.strip() for key, value in parser.items(section)}
            )
        elif section not in _SCHEMA:
            raise ConfigError(
                section,
                None,
                f"unknown section (known: {', '.join(_SCHEMA)}, profile:<Name>)",
                source,
            )
    parts = {
        section: kind(**_parseSection(parser, section, source))
        for section, kind in _SECTION_TYPES.items()
    }
    parts["profiles"] = ProfilesConfig(
        enabled=parts["profiles"].enabled, options=MappingProxyType(profileOptions)
    )
    config = Config(**parts)
    _checkTls(config, source)
    return config


def _checkTls(config: Config, source: str) -> None:
    """
    @raise ConfigError: when a C{tls_endpoint} has no certificate, or the
        C{[tls]} files cannot be used.
    """
    for section, endpoints in (
        ("ocpp", config.ocpp.tlsEndpoints),
        ("api", config.api.tlsEndpoints),
    ):
        if endpoints and not config.tls.certificates:
            raise ConfigError(section, "tls_endpoint", "needs [tls] certificate", source)
    if config.tls.clientCa is not None and not config.tls.certificates:
        raise ConfigError("tls", "client_ca", "needs [tls] certificate", source)
    if config.tls.certificates:
        from kcsms.tls import ServerTls, TlsFileError

        try:
            ServerTls(config.tls.certificates, config.tls.clientCa)
        except TlsFileError as e:
            raise ConfigError("tls", e.option, str(e), source) from None


def fromFile(path: str) -> Config:
    """
    Read a L{Config} from an INI file.

    @raise ConfigError: when the file cannot be read, or for anything invalid in it.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError("?", None, f"cannot read the configuration: {e.strerror}", path) from None
    return fromString(text, path)
