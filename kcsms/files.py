"""
The files kcsms hosts for the FirmwareManagement profile: firmware images
that stations download and diagnostics that stations upload, kept under
C{[files] directory}, served over HTTP on C{[files] endpoint} and received
over FTP on C{[files] ftp_endpoint}.

Every byte received goes through a L{Spool}: counted against C{[files]
max_file_size}, hashed (sha256) as it arrives, kept in memory while small and
in the area's C{tmp/} directory beyond that, and renamed into place only once
complete.  An HTTP body is refused (413) as soon as its C{Content-Length}, or
what has arrived of it, passes the limit (L{UploadRequest}); an FTP upload is
cut off the same way.  Names are checked (L{checkFileName}) and a station's
directory name is its percent-encoded id, so that no upload escapes its
directory.

A diagnostics upload needs the token kcsms put in the address it handed to
the station: C{{public_url}/diagnostics/{token}/} over HTTP (PUT or POST the
file there, with its name appended or as multipart/form-data), or
C{ftp://diagnostics:{token}@host:port/} over FTP.  Firmware images are
public at C{{public_url}/firmware/{name}}.
"""

import email
import hmac
import io
import json
import os
import tempfile
from collections.abc import Callable, Coroutine
from hashlib import sha256
from typing import IO, Any
from urllib.parse import quote

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import Deferred, ensureDeferred, fail, succeed
from twisted.internet.interfaces import IConsumer
from twisted.logger import Logger
from twisted.protocols import ftp
from twisted.python.filepath import FilePath
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site
from zope.interface import implementer

from kcsms.api.resource import FileAnswer
from kcsms.api.router import ApiError
from kcsms.model import FirmwareJob

__all__ = [
    "MAX_NAME_LENGTH",
    "FTP_USER",
    "FileArea",
    "Spool",
    "TooLarge",
    "checkFileName",
    "UploadRequest",
    "FileHostResource",
    "makeFileSite",
    "makeFtpFactory",
]

#: The longest file name accepted.
MAX_NAME_LENGTH = 255
#: The FTP user name of every diagnostics upload; the password is the token.
FTP_USER = "diagnostics"
#: Bytes a spool keeps in memory before it moves to a file.
MEMORY_LIMIT = 100_000
#: Bytes read or copied at a time.
CHUNK = 64 * 1024


class TooLarge(Exception):
    """
    More than C{[files] max_file_size} bytes arrived.
    """


def checkFileName(name: str) -> str:
    """
    @return: C{name}, when it can name a file directly inside a directory.
    @raise ValueError: for an empty or too long name, one starting with a
        dot, or one with a path separator or a control character.
    """
    if (
        not 0 < len(name) <= MAX_NAME_LENGTH
        or name.startswith(".")
        or any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        raise ValueError(
            f"a file name has 1 to {MAX_NAME_LENGTH} characters, does not start with '.' "
            "and has no '/', '\\' or control characters"
        )
    return name


class FileArea:
    """
    The directory of hosted files: C{firmware/<name>},
    C{diagnostics/<percent-encoded chargePointId>/<file name>}, and C{tmp/}
    for files still arriving.  Directories are made when first needed.
    """

    def __init__(self, directory: str, maxFileSize: int) -> None:
        self.root = FilePath(os.path.abspath(directory))
        self.maxFileSize = maxFileSize

    def _directory(self, *names: str) -> FilePath:
        directory = self.root.descendant(names)
        if not directory.isdir():
            directory.makedirs(ignoreExistingDirectory=True)
        return directory

    def prepare(self) -> None:
        """
        Create the directories, and forget files left half-received.

        @raise OSError: when they cannot be created.
        """
        self._directory("firmware")
        self._directory("diagnostics")
        for leftover in self._directory("tmp").children():
            leftover.remove()

    def spoolFile(self) -> tuple[int, str]:
        """
        @return: the descriptor and path of a new file in C{tmp/}.
        """
        return tempfile.mkstemp(dir=self._directory("tmp").path, prefix="upload-")

    def firmwarePath(self, name: str) -> FilePath:
        """
        @raise ValueError: for a bad name.
        """
        return self._directory("firmware").child(checkFileName(name))

    def stationDirectory(self, chargePointId: str) -> FilePath:
        """
        The station's diagnostics directory.
        """
        return self._directory("diagnostics", quote(chargePointId, safe="").replace(".", "%2E"))

    def diagnosticsPath(self, chargePointId: str, fileName: str) -> FilePath:
        """
        @raise ValueError: for a bad name.
        """
        return self.stationDirectory(chargePointId).child(checkFileName(fileName))


class Spool:
    """
    A file being received: counted against the area's limit and hashed as it
    arrives; file-like, so that twisted.web can use it as a request's content.

    @ivar size: bytes received.
    """

    def __init__(self, area: FileArea) -> None:
        self._area = area
        self._file: IO[bytes] = io.BytesIO()
        self._path: str | None = None
        self._hash = sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def write(self, data: bytes) -> None:
        """
        @raise TooLarge: when this passes the limit (nothing more is kept).
        """
        self.size += len(data)
        if self.size > self._area.maxFileSize:
            raise TooLarge(f"larger than {self._area.maxFileSize} bytes")
        self._hash.update(data)
        if self._path is None and self.size > MEMORY_LIMIT:
            descriptor, self._path = self._area.spoolFile()
            inMemory = self._file.getvalue()  # type: ignore[attr-defined]
            self._file = os.fdopen(descriptor, "w+b")
            self._file.write(inMemory)
        self._file.write(data)

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def keep(self, target: FilePath) -> None:
        """
        Put what was received at C{target}, replacing what was there.
        """
        if self._path is None:
            descriptor, self._path = self._area.spoolFile()
            with os.fdopen(descriptor, "wb") as f:
                f.write(self._file.getvalue())  # type: ignore[attr-defined]
        self._file.close()
        os.replace(self._path, target.path)
        self._path = None

    def close(self) -> None:
        """
        Forget what was received unless it was kept.
        """
        self._file.close()
        if self._path is not None:
            os.unlink(self._path)
            self._path = None


def _jsonResponse(status: int, reason: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode("utf-8")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode("ascii") + data


class UploadRequest(Request):
    """
    A request whose body goes into a L{Spool} and is refused with 413 (and
    the connection closed) as soon as it is known to pass the area's limit,
    before more of it is stored.  Bodies are never parsed as forms.

    @ivar spool: the body.
    """

    def __init__(self, channel: Any, *args: Any, area: FileArea, **kwargs: Any) -> None:
        super().__init__(channel, *args, parsePOSTFormSubmission=False, **kwargs)
        self.area = area
        self.spool = Spool(area)
        self._refused = False

    def gotLength(self, length: int | None) -> None:
        self.content = self.spool  # type: ignore[assignment]
        self.notifyFinish().addBoth(lambda _: self.spool.close())
        if length is not None and length > self.area.maxFileSize:
            self._refuse()

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        try:
            self.spool.write(data)
        except TooLarge:
            self._refuse()

    def _refuse(self) -> None:
        self._refused = True
        self.spool.close()
        message = f"the body is larger than [files] max_file_size ({self.area.maxFileSize} bytes)"
        transport = self.channel.transport
        assert transport is not None
        transport.write(
            _jsonResponse(413, "Content Too Large", {"error": "TooLarge", "message": message})
        )
        self.channel.loseConnection()

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self._refused:
            super().requestReceived(command, path, version)


def uploadRequestFactory(area: FileArea) -> Callable[..., UploadRequest]:
    """
    @return: a C{Site.requestFactory} making L{UploadRequest}s for C{area}.
    """
    return lambda channel, *args, **kwargs: UploadRequest(channel, *args, area=area, **kwargs)


def copyMultipartFile(source: Any, boundary: bytes, target: Spool) -> str | None:
    """
    Copy the first file of a multipart/form-data body into C{target}, a
    chunk at a time.

    @return: the file's name as sent, or L{None} when the body has no file.
    @raise TooLarge: from C{target}.
    """
    delimiter = b"\r\n--" + boundary
    buffer = b"\r\n"

    def more() -> bool:
        nonlocal buffer
        chunk = source.read(CHUNK)
        buffer += chunk
        return bool(chunk)

    while True:
        index = buffer.find(delimiter)
        if index < 0:
            buffer = buffer[-len(delimiter) :]
            if not more():
                return None
            continue
        buffer = buffer[index + len(delimiter) :]
        while b"\r\n\r\n" not in buffer:
            if not more():
                return None
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        if head.startswith(b"--"):
            return None
        fileName = email.message_from_bytes(head.lstrip(b"\r\n") + b"\r\n\r\n").get_filename()
        if fileName is None:
            continue
        while (index := buffer.find(delimiter)) < 0:
            target.write(buffer[: -len(delimiter)])
            buffer = buffer[-len(delimiter) :]
            if not more():
                return None
        target.write(buffer[:index])
        return fileName


#: What happens to a diagnostics file once it is kept: C{(job, fileName,
#: spool)}.
Received = Callable[[FirmwareJob, str, Spool], Coroutine[Any, Any, None]]


class FileHostResource(Resource):
    """
    What stations reach on C{[files] endpoint}: C{GET /firmware/<name>} and
    C{PUT} or C{POST /diagnostics/<token>/[<file name>]}.  Errors are JSON
    like the operator API's.

    @param findJob: C{(token) -> Deferred} of the GetDiagnostics job with
        that upload token, or L{None}.
    @param received: called with each diagnostics file kept.
    """

    isLeaf = True
    log = Logger()

    def __init__(
        self,
        area: FileArea,
        findJob: Callable[[str], Deferred[FirmwareJob | None]],
        received: Received,
    ) -> None:
        super().__init__()
        self._area = area
        self._findJob = findJob
        self._received = received

    def render(self, request: Request) -> Any:  # type: ignore[override]
        ensureDeferred(self._respond(request))
        return NOT_DONE_YET

    async def _respond(self, request: Request) -> None:
        segments = [segment.decode("utf-8", "replace") for segment in request.postpath or []]
        method = request.method
        try:
            if method in (b"GET", b"HEAD") and len(segments) == 2 and segments[0] == "firmware":
                self._serveFirmware(request, segments[1])
                return
            if (
                method in (b"PUT", b"POST")
                and len(segments) in (2, 3)
                and segments[0] == "diagnostics"
            ):
                status, body = 201, await self._receiveDiagnostics(request, *segments[1:])
            else:
                raise ApiError(404, "NotFound", "no such file or upload address")
        except ApiError as e:
            status, body = e.status, e.body()
        except Exception:
            self.log.failure("{method} {path} failed", method=method, path=request.path)
            status, body = 500, {"error": "InternalError", "message": "the request failed"}
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", b"application/json")
        request.write(json.dumps(body).encode("utf-8"))
        request.finish()

    def _serveFirmware(self, request: Request, name: str) -> None:
        try:
            path = self._area.firmwarePath(name)
        except ValueError as e:
            raise ApiError(400, "BadFileName", str(e)) from None
        if not path.isfile():
            raise ApiError(404, "NotFound", f"no firmware image {name!r}")
        FileAnswer(path.path).render(request)

    async def _receiveDiagnostics(
        self, request: Request, token: str, fileName: str = ""
    ) -> dict[str, Any]:
        job = await self._findJob(token)
        if job is None:
            raise ApiError(404, "NotFound", "no such upload address")
        spool: Spool = request.spool  # type: ignore[attr-defined]
        contentType = request.getHeader(b"content-type") or b""
        if not fileName and contentType.startswith(b"multipart/form-data"):
            message = email.message_from_bytes(b"Content-Type: " + contentType + b"\r\n\r\n")
            boundary = message.get_param("boundary")
            if not isinstance(boundary, str):
                raise ApiError(400, "BadRequest", "multipart/form-data without a boundary")
            spool.seek(0)
            part = Spool(self._area)
            request.notifyFinish().addBoth(lambda _: part.close())
            try:
                fileName = copyMultipartFile(spool, boundary.encode("latin-1"), part) or ""
            except TooLarge as e:
                raise ApiError(413, "TooLarge", str(e)) from None
            if not fileName:
                raise ApiError(400, "BadRequest", "the multipart/form-data body has no file")
            spool = part
        fileName = fileName or job.fileName or f"diagnostics-{job.jobId}"
        try:
            checkFileName(fileName)
        except ValueError as e:
            raise ApiError(400, "BadFileName", str(e)) from None
        await self._received(job, fileName, spool)
        return {"fileName": fileName, "size": spool.size, "sha256": spool.sha256}


def makeFileSite(area: FileArea, resource: FileHostResource) -> Site:
    """
    @return: the site of C{[files] endpoint}.
    """
    site = Site(resource)
    site.requestFactory = uploadRequestFactory(area)  # type: ignore[assignment]
    site.displayTracebacks = False
    return site


# FTP


class _FileTooLargeError(ftp.FTPCmdError):
    errorCode = ftp.EXCEEDED_STORAGE_ALLOC

    def response(self) -> str:
        return f"{self.errorCode} Requested file action aborted: {self.errorMessage[0]}"


@implementer(IConsumer)
class _DiagnosticsConsumer:
    """
    Receives one FTP upload into a L{Spool}; past the limit it keeps nothing
    more, and the upload is refused when it ends.
    """

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.tooLarge = False

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """
        The data connection pushes; nothing to do.
        """

    def unregisterProducer(self) -> None:
        """
        Nothing to do.
        """

    def write(self, data: bytes) -> None:
        if self.tooLarge:
            return
        try:
            self.spool.write(data)
        except TooLarge:
            self.tooLarge = True
            self.spool.close()


@implementer(ftp.IWriteFile)
class _DiagnosticsWriter:
    def __init__(self, shell: "_DiagnosticsShell", fileName: str) -> None:
        self._shell = shell
        self._fileName = fileName
        self._consumer = _DiagnosticsConsumer(Spool(shell.area))

    def receive(self) -> Deferred[IConsumer]:
        return succeed(self._consumer)

    def close(self) -> Deferred[None]:
        if self._consumer.tooLarge:
            return fail(_FileTooLargeError(f"larger than {self._shell.area.maxFileSize} bytes"))
        return ensureDeferred(
            self._shell.received(self._shell.job, self._fileName, self._consumer.spool)
        )


class _DiagnosticsShell(ftp.FTPShell):
    """
    One GetDiagnostics job's FTP session: it sees its station's directory
    and may only store files directly in it.
    """

    def __init__(self, area: FileArea, job: FirmwareJob, received: Received) -> None:
        super().__init__(area.stationDirectory(job.chargePointId))
        self.area = area
        self.job = job
        self.received = received

    def openForWriting(self, path: list[str]) -> Deferred[ftp.IWriteFile]:
        try:
            if len(path) != 1:
                raise ValueError("not directly in the upload directory")
            fileName = checkFileName(path[0])
        except ValueError:
            return fail(ftp.PermissionDeniedError("/".join(path)))
        return succeed(_DiagnosticsWriter(self, fileName))

    def _refuse(self, path: Any, *args: Any) -> Deferred[None]:
        return fail(ftp.PermissionDeniedError("/".join(path)))

    openForReading = makeDirectory = removeDirectory = removeFile = rename = _refuse


@implementer(ICredentialsChecker)
class _UploadTokenChecker:
    """
    Accepts the user L{FTP_USER} with a job's upload token as the password.
    """

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, findJob: Callable[[str], Deferred[FirmwareJob | None]]) -> None:
        self._findJob = findJob

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        return ensureDeferred(self._check(credentials))

    async def _check(self, credentials: Any) -> FirmwareJob:
        user, token = (
            value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            for value in (credentials.username, credentials.password)
        )
        job = await self._findJob(token) if token else None
        if job is None or not hmac.compare_digest(user.encode(), FTP_USER.encode()):
            raise UnauthorizedLogin("unknown upload credentials")
        return job


@implementer(IRealm)
class _DiagnosticsRealm:
    def __init__(self, area: FileArea, received: Received) -> None:
        self._area = area
        self._received = received

    def requestAvatar(self, job: Any, mind: Any, *interfaces: Any) -> Any:
        """
        @param job: the L{FirmwareJob} whose credentials were given.
        """
        if ftp.IFTPShell not in interfaces:
            raise NotImplementedError("only FTP")
        return ftp.IFTPShell, _DiagnosticsShell(self._area, job, self._received), lambda: None


def makeFtpFactory(
    area: FileArea,
    findJob: Callable[[str], Deferred[FirmwareJob | None]],
    received: Received,
) -> ftp.FTPFactory:
    """
    @return: the FTP server of C{[files] ftp_endpoint}: no anonymous login;
        each GetDiagnostics job's credentials open its station's directory.
    """
    portal = Portal(_DiagnosticsRealm(area, received), [_UploadTokenChecker(findJob)])
    factory = ftp.FTPFactory(portal)
    factory.allowAnonymous = False
    return factory
