"""
Tests for L{kcsms.config}: the INI surface and its errors.
"""

import pytest

from kcsms.config import ConfigError, fromFile, fromString


def test_defaults():
    """
    An empty file gives the documented defaults.
    """
    config = fromString("")
    assert config.ocpp.endpoints == ("tcp:9000",)
    assert config.ocpp.path == "/ocpp"
    assert config.ocpp.heartbeatInterval == 300
    assert config.ocpp.callTimeout == 60
    assert config.ocpp.unknownChargePoints == "accept"
    assert config.storage.database == "sqlite:var/kcsms.sqlite"
    assert config.profiles.enabled[0] == "Core"
    assert config.storage.messageLogDays == 7
    assert config.storage.idTagCacheSeconds == 60
    assert config.api.endpoints == ("tcp:8080:interface=127.0.0.1",)
    assert config.api.token == ""


def test_postgresqlDatabase():
    """
    A PostgreSQL URL (with options) and a pool size are accepted.
    """
    config = fromString(
        "[storage]\ndatabase = postgresql://kcsms:pw@db:5432/kcsms?sslmode=require\npool_size = 9\n"
    )
    assert config.storage.database == "postgresql://kcsms:pw@db:5432/kcsms?sslmode=require"
    assert config.storage.poolSize == 9


def test_idTagCacheSeconds():
    """
    C{[storage] id_tag_cache_seconds} takes whole seconds; C{0} turns the cache off.
    """
    assert fromString("[storage]\nid_tag_cache_seconds = 5").storage.idTagCacheSeconds == 5
    assert fromString("[storage]\nid_tag_cache_seconds = 0").storage.idTagCacheSeconds == 0


def test_nodeIdDefaultsToHostAndPid():
    """
    Without C{[cluster] node_id} a node is named after its host and process.
    """
    import os
    import socket

    assert fromString("").cluster.nodeId == f"{socket.gethostname()}-{os.getpid()}"
    assert fromString("[cluster]\nnode_id = eu-1\n").cluster.nodeId == "eu-1"


def test_emptyApiEndpointDisablesTheApi():
    """
    C{[api] endpoint} may be empty: no API.
    """
    assert fromString("[api]\nendpoint =\n").api.endpoints == ()


def test_shippedConfigurationIsValid():
    """
    C{etc/kcsms.ini} parses and says what the defaults say; the profile
    sections it ships are accepted by their profiles.
    """
    from kcsms.testing import MemoryCentralSystem

    shipped = fromFile("etc/kcsms.ini")
    defaults = fromString("")
    assert (shipped.ocpp, shipped.storage, shipped.api, shipped.cluster) == (
        defaults.ocpp,
        defaults.storage,
        defaults.api,
        defaults.cluster,
    )
    assert shipped.profiles.enabled == defaults.profiles.enabled
    assert shipped.files == defaults.files
    text = (
        open("etc/kcsms.ini")
        .read()
        .replace("database = sqlite:var/kcsms.sqlite", "database = memory:")
    )
    MemoryCentralSystem(text)


def test_filesKeys():
    """
    C{[files]}: hosting is off by default; URLs lose a trailing slash.
    """
    defaults = fromString("").files
    assert (defaults.endpoints, defaults.ftpEndpoints) == ((), ())
    assert (defaults.publicUrl, defaults.ftpPublicUrl) == ("", "")
    assert (defaults.directory, defaults.maxFileSize) == ("var/files", 268435456)
    files = fromString(
        "[files]\nendpoint = tcp:8081\npublic_url = https://files.example/kcsms/\n"
        "ftp_endpoint = tcp:2121\nftp_public_url = ftp://files.example:21\n"
        "directory = /srv/kcsms\nmax_file_size = 1000\n"
    ).files
    assert files.endpoints == ("tcp:8081",)
    assert files.publicUrl == "https://files.example/kcsms"
    assert (files.ftpEndpoints, files.ftpPublicUrl) == (("tcp:2121",), "ftp://files.example:21")
    assert (files.directory, files.maxFileSize) == ("/srv/kcsms", 1000)


def test_everyKey():
    """
    Every key is read, several endpoints one per line, inline comments dropped.
    """
    config = fromString(
        """
[ocpp]
endpoint = tcp:9000   ; plain
    tcp:9001:interface=127.0.0.1
path = /ws/
heartbeat_interval = 60
call_timeout = 2.5
unknown_chargepoints = pending
[storage]
database = memory:
[profiles]
enabled = Core, Acme
[profile:Acme]
colour = blue
"""
    )
    assert config.ocpp.endpoints == ("tcp:9000", "tcp:9001:interface=127.0.0.1")
    assert config.ocpp.path == "/ws"
    assert config.ocpp.heartbeatInterval == 60
    assert config.ocpp.callTimeout == 2.5
    assert config.ocpp.unknownChargePoints == "pending"
    assert config.storage.database == "memory:"
    assert config.profiles.enabled == ("Core", "Acme")
    assert dict(config.profiles.optionsFor("Acme")) == {"colour": "blue"}
    assert dict(config.profiles.optionsFor("Other")) == {}


@pytest.mark.parametrize(
    "text, where",
    [
        ("[ocpp]\nheartbeat_interval = soon", "[ocpp] heartbeat_interval:"),
        ("[ocpp]\nheartbeat_interval = 0", "[ocpp] heartbeat_interval:"),
        ("[ocpp]\ncall_timeout = -1", "[ocpp] call_timeout:"),
        ("[ocpp]\ncall_timeout = nan", "[ocpp] call_timeout:"),
        ("[ocpp]\nunknown_chargepoints = maybe", "[ocpp] unknown_chargepoints:"),
        ("[ocpp]\nendpoint = tcp:notaport", "[ocpp] endpoint:"),
        ("[ocpp]\nendpoint = carrierpigeon:9000", "[ocpp] endpoint:"),
        ("[ocpp]\nendpoint =", "[ocpp] endpoint:"),
        ("[ocpp]\npath = ocpp", "[ocpp] path:"),
        ("[ocpp]\nheartbeat = 5", "[ocpp] heartbeat:"),
        ("[ocpp]\npath = /a\npath = /b", "[ocpp] path:"),
        ("[storage]\ndatabase = mysql://x", "[storage] database:"),
        ("[storage]\ndatabase = postgresql://host", "[storage] database:"),
        ("[storage]\npool_size = none", "[storage] pool_size:"),
        ("[storage]\nid_tag_cache_seconds = -1", "[storage] id_tag_cache_seconds:"),
        ("[storage]\nid_tag_cache_seconds = 1.5", "[storage] id_tag_cache_seconds:"),
        ("[cluster]\nnode_id = two words", "[cluster] node_id:"),
        ("[profiles]\nenabled = SmartCharging", "[profiles] enabled:"),
        ("[profiles]\nenabled = Core, Core", "[profiles] enabled:"),
        ("[bogus]\nport = 1", "[bogus]:"),
        ("[api]\nport = 1", "[api] port:"),
        ("[api]\nendpoint = tcp:x", "[api] endpoint:"),
        ("[api]\ntoken = two words", "[api] token:"),
        ("[storage]\nmessage_log_days = 0", "[storage] message_log_days:"),
        ("[files]\nendpoint = tcp:x", "[files] endpoint:"),
        ("[files]\nftp_endpoint = carrierpigeon:21", "[files] ftp_endpoint:"),
        ("[files]\npublic_url = ftp://host", "[files] public_url:"),
        ("[files]\npublic_url = http://user@host", "[files] public_url:"),
        ("[files]\npublic_url = http://host?x=1", "[files] public_url:"),
        ("[files]\nftp_public_url = http://host", "[files] ftp_public_url:"),
        ("[files]\ndirectory =", "[files] directory:"),
        ("[files]\nmax_file_size = 0", "[files] max_file_size:"),
        ("[files]\nmax_file_size = 1MB", "[files] max_file_size:"),
        ("[files]\nport = 21", "[files] port:"),
    ],
)
def test_errorsNameSectionAndKey(text, where):
    """
    A bad value or an unknown key or section is one line naming C{[section] key}.
    """
    with pytest.raises(ConfigError) as info:
        fromString(text, "x.ini")
    message = str(info.value)
    assert message.startswith(f"x.ini: {where}")
    assert "\n" not in message


def test_missingFile(tmp_path):
    """
    A file that cannot be read is a L{ConfigError} naming it.
    """
    with pytest.raises(ConfigError) as info:
        fromFile(str(tmp_path / "nope.ini"))
    assert "nope.ini" in str(info.value)


def test_smartChargingVoltage():
    """
    C{[smartcharging] voltage} is 230 V by default and takes any number of
    volts above 0 and at most 1000.
    """
    assert fromString("").smartcharging.voltage == 230.0
    assert fromString("[smartcharging]\nvoltage = 110.5\n").smartcharging.voltage == 110.5


@pytest.mark.parametrize("value", ["0", "-230", "1001", "abc", "nan", "inf", ""])
def test_badVoltageNamesSectionAndKey(value):
    """
    A voltage that is not a number of volts in (0, 1000] stops the configuration.
    """
    with pytest.raises(ConfigError) as raised:
        fromString(f"[smartcharging]\nvoltage = {value}\n")
    assert str(raised.value) == (
        f"[smartcharging] voltage: must be a number of volts above 0, at most 1000 (got {value!r})"
    )
