"""
The twisted.web resource that serves the operator API: bearer-token
authentication, each route's role, routing, JSON in and out, errors as JSON
bodies (never a traceback), and the audit log of calls that may change
something.
"""

import json
import os
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger
from twisted.protocols.basic import FileSender
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from kcsms.api.router import ApiError, match, routesOf
from kcsms.model import AuditEntry
from kcsms.tokens import Operator, OperatorTokens

__all__ = ["ApiResource", "FileAnswer", "readJson"]

#: The largest request body read, in bytes.
MAX_BODY = 1024 * 1024

#: Methods that change nothing, and are not audited.
SAFE_METHODS = (b"GET", b"HEAD")


@dataclass(frozen=True)
class FileAnswer:
    """
    A handler's answer that is a file on disk, streamed as it is (not as
    JSON), a chunk at a time.
    """

    path: str
    contentType: str = "application/octet-stream"

    def render(self, request: Request) -> None:
        """
        Send the file as the answer to C{request}, and finish it.
        """
        lost: list[object] = []
        request.notifyFinish().addErrback(lost.append)
        source = open(self.path, "rb")
        request.setHeader(b"Content-Type", self.contentType.encode("ascii"))
        request.setHeader(b"Content-Length", b"%d" % os.fstat(source.fileno()).st_size)

        def done(result: object) -> None:
            source.close()
            if not lost:
                request.finish()

        if request.method == b"HEAD":
            done(None)
        else:
            FileSender().beginFileTransfer(source, request).addBoth(done)


def readJson(request: Request) -> dict[str, Any]:
    """
    The request's JSON object body.

    @raise ApiError: 400 when it is missing, not JSON or not an object.
    """
    content = request.content
    raw = content.read(MAX_BODY + 1) if content is not None else b""
    if len(raw) > MAX_BODY:
        raise ApiError(413, "BodyTooLarge", f"the body is larger than {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except ValueError as e:
        raise ApiError(400, "BadJson", f"the body is not JSON: {e}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "BadJson", "the body must be a JSON object")
    return body


class ApiResource(Resource):
    """
    Serves every route of an L{kcsms.api.routes.OperatorApi} and of the
    profiles' APIs it was given.

    @param operators: identifies each request's caller.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, api: Any, operators: OperatorTokens) -> None:
        super().__init__()
        self._routes = routesOf(api.apis)
        self._operators = operators
        self._centralSystem = api.centralSystem

    def render(self, request: Request) -> Any:
        ensureDeferred(self._respond(request))
        return NOT_DONE_YET

    async def _respond(self, request: Request) -> None:
        finished: list[object] = []
        request.notifyFinish().addBoth(lambda result: finished.append(result))
        operator = None
        try:
            operator = await self._authenticate(request)
            route, handler, parameters = match(
                self._routes,
                request.method.decode("ascii", "replace"),
                request.path.decode("ascii", "replace"),
            )
            role = route.role
            if not operator.may(role):
                raise ApiError(
                    403,
                    "Forbidden",
                    f"this needs the {role} role; {operator.name} has {operator.role}",
                )
            status, body = await handler(request, **parameters)
        except ApiError as e:
            status, body = e.status, e.body()
            if e.status == 401:
                request.setHeader(b"WWW-Authenticate", b'Bearer realm="kcsms"')
        except Exception:
            self.log.failure("{method} {path} failed", method=request.method, path=request.path)
            status, body = 500, {"error": "InternalError", "message": "the request failed"}
        if operator is not None and request.method not in SAFE_METHODS:
            await self._audit(request, operator, status)
        if finished:
            return
        if isinstance(body, FileAnswer):
            body.render(request)
            return
        request.setResponseCode(status)
        if body is not None:
            request.setHeader(b"Content-Type", b"application/json")
            request.write(json.dumps(body).encode("utf-8"))
        request.finish()

    async def _authenticate(self, request: Request) -> Operator:
        operator = await self._operators.identify(request.getHeader(b"authorization"))
        if operator is None:
            raise ApiError(401, "Unauthorized", "send Authorization: Bearer <token>")
        return operator

    async def _audit(self, request: Request, operator: Operator, status: int) -> None:
        entry = AuditEntry(
            self._centralSystem.now(),
            operator.name,
            request.method.decode("ascii", "replace"),
            request.path.decode("ascii", "replace"),
            status,
        )
        try:
            await self._centralSystem.store.recordAudit(entry)
        except Exception:
            self.log.failure(
                "Recording {method} {path} in the audit log", method=entry.method, path=entry.path
            )
