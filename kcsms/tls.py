"""
TLS for the station and operator endpoints (C{[tls]}): one or more server
certificates (RSA and ECDSA together), TLS 1.2 at least, the cipher suites
the OCPP 1.6 Security Whitepaper requires, and optionally verified client
certificates (security profile 3).

Twisted's C{ssl:} endpoint cannot verify client certificates, so TLS
endpoints are plain stream endpoints whose factory is wrapped in
L{TLSMemoryBIOFactory} with L{ServerTls}.
"""

from typing import Any

from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator, ISSLTransport
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import implementer

__all__ = ["CIPHERS", "TlsFileError", "ServerTls", "tlsFactory", "clientCommonName", "isSecure"]

#: TLS 1.2 suites, the Whitepaper's four (A00.FR.317/421) first.  Python's
#: default server context leaves out the two RSA key-exchange ones, which
#: OCTT checks.  TLS 1.3 keeps OpenSSL's own suites.
CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
    ]
)


class TlsFileError(ValueError):
    """
    A C{[tls]} file cannot be used.

    @ivar option: the C{[tls]} key that names it.
    """

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@implementer(IOpenSSLServerConnectionCreator)
class ServerTls:
    """
    The server side of TLS connections.

    @param certificates: C{(certificate file, private key file)} pairs, PEM;
        a certificate file may hold its chain after it.  One per key type.
    @param clientCa: a PEM file of the CA certificates that client
        certificates must chain to; when L{None}, none is asked for.
    @raise TlsFileError: when a file cannot be read or a key does not match.
    """

    def __init__(self, certificates: tuple[tuple[str, str], ...], clientCa: str | None) -> None:
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE)
        context.set_cipher_list(CIPHERS.encode("ascii"))
        for certificate, key in certificates:
            try:
                context.use_certificate_chain_file(certificate)
                context.use_privatekey_file(key)
                context.check_privatekey()
            except SSL.Error as e:
                raise TlsFileError(
                    "certificate", f"cannot use {certificate} with {key}: {_reason(e)}"
                ) from None
        if clientCa is not None:
            try:
                context.load_verify_locations(clientCa)
            except SSL.Error as e:
                raise TlsFileError(
                    "client_ca", f"cannot read the CA certificates {clientCa}: {_reason(e)}"
                ) from None
            # Asked for, not required: profile 2 stations share the endpoint.
            context.set_verify(SSL.VERIFY_PEER, lambda connection, x509, error, depth, ok: bool(ok))
            context.set_session_id(b"kcsms")
        self._context = context

    def serverConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        return SSL.Connection(self._context, None)


def _reason(error: SSL.Error) -> str:
    details = error.args[0] if error.args else []
    if isinstance(details, list) and details:
        return "; ".join(str(detail[-1]) for detail in details)
    return str(error) or "not PEM"


def tlsFactory(tls: ServerTls, factory: Any) -> TLSMemoryBIOFactory:
    """
    @return: C{factory} served over TLS, to listen with on a plain stream endpoint.
    """
    return TLSMemoryBIOFactory(tls, False, factory)


def isSecure(transport: Any) -> bool:
    """
    @return: whether a protocol's transport is a TLS connection.
    """
    return ISSLTransport.providedBy(transport)


def clientCommonName(transport: Any) -> str | None:
    """
    @return: the CN of the client certificate a TLS transport verified, or L{None}.
    """
    if not isSecure(transport):
        return None
    certificate = transport.getPeerCertificate()
    if certificate is None:
        return None
    commonName: str | None = certificate.get_subject().commonName
    return commonName
