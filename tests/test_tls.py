"""
Tests for L{kcsms.tls} and the TLS security profiles: real handshakes
against a running C{twistd kcsms} with certificates these tests make
(RSA and ECDSA server certificates, station certificates from a trusted and
an untrusted CA), and the C{[tls]} configuration checks.
"""

import base64
import http.client
import json
import socket
import ssl
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from kcsms.config import ConfigError, fromString
from tests.test_twistd import Kcsms, freePort

#: The four suites OCTT checks (TC_086/087), in OpenSSL's names.
OCTT_CIPHERS = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
]
PASSWORD = "abcdefghijklmnop"
TOKEN = "admin-token"


def _name(commonName):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, commonName)])


def issue(directory, name, key, commonName, issuer=None, ca=False):
    """
    Write C{name}.pem and C{name}.key: a certificate for C{key}, signed by
    C{issuer} (a C{(certificate, key)} pair) or by itself.

    @return: C{(certificate, key)}.
    """
    now = datetime.now(UTC)
    issuerCertificate, issuerKey = issuer or (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(commonName))
        .issuer_name(issuerCertificate.subject if issuerCertificate else _name(commonName))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    certificate = builder.sign(issuerKey, hashes.SHA256())
    (directory / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """
    A CA, RSA and ECDSA server certificates it signs, station certificates
    (CN CP3 and OTHER) from it, and one (CN CP3) from an untrusted CA.
    """
    directory = tmp_path_factory.mktemp("pki")
    ca = issue(directory, "ca", ec.generate_private_key(ec.SECP256R1()), "kcsms test CA", ca=True)
    issue(directory, "rsa", rsa.generate_private_key(65537, 2048), "localhost", ca)
    issue(directory, "ecdsa", ec.generate_private_key(ec.SECP256R1()), "localhost", ca)
    for name, commonName in (("cp3", "CP3"), ("other", "OTHER")):
        issue(directory, name, ec.generate_private_key(ec.SECP256R1()), commonName, ca)
    rogue = issue(directory, "rogue", ec.generate_private_key(ec.SECP256R1()), "rogue", ca=True)
    issue(directory, "rogue-cp3", ec.generate_private_key(ec.SECP256R1()), "CP3", rogue)
    return directory


@pytest.fixture(scope="module")
def server(pki, tmp_path_factory):
    """
    A running kcsms with a plain and a TLS station endpoint and a TLS API;
    CP2 is at profile 2 and CP3 at profile 3.
    """
    kcsms = Kcsms(tmp_path_factory.mktemp("kcsms"), "")
    kcsms.tlsPort = freePort()
    kcsms.configPath.write_text(
        f"[ocpp]\nendpoint = tcp:{kcsms.port}:interface=127.0.0.1\n"
        f"tls_endpoint = tcp:{kcsms.tlsPort}:interface=127.0.0.1\n"
        "[storage]\ndatabase = sqlite:var/kcsms.sqlite\n"
        f"[api]\nendpoint =\ntls_endpoint = tcp:{kcsms.apiPort}:interface=127.0.0.1\n"
        f"token = {TOKEN}\n"
        f"[tls]\ncertificate = {pki / 'rsa.pem'} {pki / 'rsa.key'}\n"
        f"    {pki / 'ecdsa.pem'} {pki / 'ecdsa.key'}\n"
        f"client_ca = {pki / 'ca.pem'}\n"
    )
    kcsms.run()
    for chargePointId, profile in (("CP2", 2), ("CP3", 3)):
        assert (
            api(
                pki,
                kcsms,
                "PUT",
                f"/chargepoints/{chargePointId}/security",
                {"securityProfile": profile},
            )[0]
            == 200
        )
    assert api(pki, kcsms, "PUT", "/chargepoints/CP2/password", {"password": PASSWORD})[0] == 204
    yield kcsms
    kcsms.stop()


def clientContext(pki, certificate=None, ciphers=None, version=ssl.TLSVersion.TLSv1_2):
    """
    A client context that trusts the test CA, with a fixed TLS version.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(pki / "ca.pem")
    context.check_hostname = False
    context.minimum_version = context.maximum_version = version
    if ciphers:
        context.set_ciphers(ciphers)
    if certificate:
        context.load_cert_chain(pki / f"{certificate}.pem", pki / f"{certificate}.key")
    return context


def api(pki, kcsms, method, path, body=None):
    """
    One request to the API over TLS, as admin.
    """
    connection = http.client.HTTPSConnection(
        "127.0.0.1", kcsms.apiPort, context=clientContext(pki), timeout=10
    )
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    connection.request(method, "/api/v1" + path, json.dumps(body) if body else None, headers)
    response = connection.getresponse()
    content = response.read()
    connection.close()
    return response.status, json.loads(content) if content else None


def upgrade(port, chargePointId, context=None, password=None):
    """
    Send a WebSocket upgrade request, over TLS with C{context}.

    @return: the HTTP status of the answer and the TLS socket's cipher.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if context is not None:
        sock = context.wrap_socket(sock, server_hostname="localhost")
    lines = [
        f"GET /ocpp/{chargePointId} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: ocpp1.6",
    ]
    if password is not None:
        credentials = base64.b64encode(f"{chargePointId}:{password}".encode()).decode()
        lines.append(f"Authorization: Basic {credentials}")
    with sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = sock.recv(4096)
        cipher = sock.cipher()[0] if context is not None else None
    assert answer, "the connection closed without an answer"
    return int(answer.split()[1]), cipher


@pytest.mark.parametrize("cipher", OCTT_CIPHERS)
def test_octtCipherSuitesAreAccepted(pki, server, cipher):
    """
    TC_086: each suite OCTT requires, offered alone over TLS 1.2, is
    negotiated (the ECDSA ones with the ECDSA certificate, the RSA ones with
    the RSA certificate) and the station then upgrades.
    """
    context = clientContext(pki, ciphers=cipher)
    assert upgrade(server.tlsPort, "CP001", context) == (101, cipher)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_oldTlsIsRefused(pki, server, version):
    """
    TLS 1.0 and 1.1 are refused by the server with a protocol version alert.
    """
    context = clientContext(pki, ciphers="DEFAULT:@SECLEVEL=0", version=version)
    with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION"):
        upgrade(server.tlsPort, "CP001", context)


def test_profile2NeedsTlsAndPassword(pki, server):
    """
    A profile 2 station is refused on the plain endpoint, even with its
    password (403), and without its password over TLS (401); over TLS with
    its password it upgrades.
    """
    assert upgrade(server.port, "CP2", password=PASSWORD)[0] == 403
    assert upgrade(server.tlsPort, "CP2", clientContext(pki))[0] == 401
    assert upgrade(server.tlsPort, "CP2", clientContext(pki), "wrong-password-1")[0] == 401
    assert upgrade(server.tlsPort, "CP2", clientContext(pki), PASSWORD)[0] == 101


@pytest.mark.parametrize("certificate, status", [("cp3", 101), ("other", 403), (None, 403)])
def test_profile3ClientCertificate(pki, server, certificate, status):
    """
    TC_087: a profile 3 station upgrades with a certificate from the
    configured CA whose CN is its id; with another CN or none it gets 403.
    """
    context = clientContext(pki, certificate, version=ssl.TLSVersion.TLSv1_3)
    assert upgrade(server.tlsPort, "CP3", context)[0] == status


def test_profile3CertificateFromAnotherCaIsRefused(pki, server):
    """
    A certificate that does not chain to C{[tls] client_ca} fails the handshake.
    """
    context = clientContext(pki, "rogue-cp3")
    with pytest.raises(ssl.SSLError, match="UNKNOWN_CA"):
        upgrade(server.tlsPort, "CP3", context)


def test_profile3IsRefusedOnPlainEndpoint(server):
    """
    A profile 3 station cannot connect without TLS.
    """
    assert upgrade(server.port, "CP3")[0] == 403


def test_raisingProfileRefusesTheOldOne(pki, server):
    """
    TC_083: once a station's profile is raised from 1 to 2, its profile 1
    connection (plain, with its password) is refused and TLS is accepted.
    """
    assert api(pki, server, "PUT", "/chargepoints/CP4/password", {"password": PASSWORD})[0] == 204
    assert api(pki, server, "PUT", "/chargepoints/CP4/security", {"securityProfile": 1})[0] == 200
    assert upgrade(server.port, "CP4", password=PASSWORD)[0] == 101
    assert api(pki, server, "PUT", "/chargepoints/CP4/security", {"securityProfile": 2})[0] == 200
    assert upgrade(server.port, "CP4", password=PASSWORD)[0] == 403
    assert upgrade(server.tlsPort, "CP4", clientContext(pki), PASSWORD)[0] == 101


def test_subprotocolNegotiationOverTls(pki, server):
    """
    TC_088 holds over TLS too: the answer names exactly ocpp1.6.
    """
    sock = clientContext(pki).wrap_socket(
        socket.create_connection(("127.0.0.1", server.tlsPort), timeout=10)
    )
    with sock:
        sock.sendall(
            b"GET /ocpp/CP001 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: ocpp0.1,ocpp1.6\r\n\r\n"
        )
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 101")
    assert "\r\nSec-WebSocket-Protocol: ocpp1.6\r\n" in answer


def test_apiOverTlsNeedsItsToken(pki, server):
    """
    The API answers over TLS, and still needs a token there.
    """
    connection = http.client.HTTPSConnection(
        "127.0.0.1", server.apiPort, context=clientContext(pki), timeout=10
    )
    connection.request("GET", "/api/v1/chargepoints")
    assert connection.getresponse().status == 401
    connection.close()


@pytest.mark.parametrize(
    "text, message",
    [
        ("[ocpp]\ntls_endpoint = tcp:9443\n", "[ocpp] tls_endpoint: needs [tls] certificate"),
        ("[api]\ntls_endpoint = tcp:8443\n", "[api] tls_endpoint: needs [tls] certificate"),
        ("[tls]\nclient_ca = ca.pem\n", "[tls] client_ca: needs [tls] certificate"),
        ("[tls]\ncertificate = nothing.pem\n", "[tls] certificate: cannot use nothing.pem with"),
        ("[tls]\ncertificate = a b c\n", "[tls] certificate: one certificate file and its key"),
        ("[ocpp]\nsecurity_profile = 4\n", "[ocpp] security_profile: must be 0, 1, 2 or 3"),
    ],
)
def test_badTlsConfiguration(text, message):
    """
    A TLS endpoint without a certificate, a file that cannot be used or a
    bad profile stops kcsms with a message naming the key.
    """
    with pytest.raises(ConfigError) as raised:
        fromString(text)
    assert message in str(raised.value)


def test_keyThatDoesNotMatchAndBadCa(pki):
    """
    A key of another certificate, or a CA file that is not PEM, is named.
    """
    with pytest.raises(ConfigError, match=r"\[tls\] certificate: cannot use .*rsa.pem with"):
        fromString(f"[tls]\ncertificate = {pki / 'rsa.pem'} {pki / 'ecdsa.key'}\n")
    (pki / "junk.pem").write_text("junk")
    with pytest.raises(ConfigError, match=r"\[tls\] client_ca: cannot read the CA certificates"):
        fromString(
            f"[tls]\ncertificate = {pki / 'rsa.pem'} {pki / 'rsa.key'}\n"
            f"client_ca = {pki / 'junk.pem'}\n"
        )
