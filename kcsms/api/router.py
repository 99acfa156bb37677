"""
Routes of the operator API: each handler declares its method, path,
parameters, answers and the role it needs once, and both the dispatcher
(L{match}) and the OpenAPI document read that declaration, so the two cannot
disagree.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from kcsms.model import API_ROLES

__all__ = [
    "DisabledApi",
    "declaredRoutes",
    "PREFIX",
    "ApiError",
    "QueryParameter",
    "Route",
    "route",
    "routesOf",
    "match",
]

#: Every route is under this path.
PREFIX = "/api/v1"


class ApiError(Exception):
    """
    An answer other than success: rendered as C{{"error", "message", ...}}.

    @ivar extra: more fields for the body.
    """

    def __init__(self, status: int, error: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message, **self.extra}


@dataclass(frozen=True)
class QueryParameter:
    name: str
    schema: dict[str, Any]
    description: str


@dataclass(frozen=True)
class Route:
    """
    One method on one path.

    @ivar path: relative to L{PREFIX}, with C{{name}} path parameters.
    @ivar responses: status -> (description, component schema name or L{None}).
    @ivar requestBody: the component schema name of the JSON body, if any.
    @ivar role: the operator role (L{API_ROLES}) a caller needs.
    """

    method: str
    path: str
    summary: str
    responses: dict[int, tuple[str, str | None]]
    requestBody: str | None = None
    query: tuple[QueryParameter, ...] = ()
    handler: str = ""
    pattern: re.Pattern[str] = field(default=re.compile(""), compare=False)
    role: str = "read"

    @property
    def pathParameters(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


def route(
    method: str,
    path: str,
    summary: str,
    responses: dict[int, tuple[str, str | None]],
    requestBody: str | None = None,
    query: tuple[QueryParameter, ...] = (),
    role: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """
    Declare a handler method of L{kcsms.api.routes.OperatorApi} as a route.

    @param role: the role a caller needs; by default C{read} for C{GET} and
        C{operate} for the other methods.
    """
    if role is None:
        role = "read" if method == "GET" else "operate"
    if role not in API_ROLES:
        raise ValueError(f"role must be one of {', '.join(API_ROLES)}, not {role!r}")

    def declare(handler: Callable[..., Any]) -> Callable[..., Any]:
        parts = re.split(r"{(\w+)}", PREFIX + path)
        # Even parts are literal text, odd ones parameter names.
        pattern = re.compile(
            "^"
            + "".join(
                f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
            )
            + "$"
        )
        handler.route = Route(  # type: ignore[attr-defined]
            method, path, summary, responses, requestBody, query, handler.__name__, pattern, role
        )
        return handler

    return declare


Handler = Callable[..., Any]


def declaredRoutes(apiClass: type) -> list[tuple[str, Route]]:
    """
    @return: C{(method name, route)} of every route a class declares, in order.
    """
    return [
        (name, member.route)
        for name, member in apiClass.__dict__.items()
        if callable(member) and hasattr(member, "route")
    ]


class DisabledApi:
    """
    The routes of a feature profile that is installed but not enabled: each
    answers 403 C{ProfileDisabled}, as the calls route does for its actions.

    @param profile: the profile's name.
    @param apiClass: the class that serves its routes when it is enabled.
    """

    def __init__(self, profile: str, apiClass: type) -> None:
        self.profile = profile
        self.apiClass = apiClass

    def boundRoutes(self) -> list[tuple[Route, Handler]]:
        return [
            (
                replace(
                    declared,
                    responses={
                        **declared.responses,
                        403: (f"the {self.profile} profile is not enabled", "Error"),
                    },
                ),
                self._refuse,
            )
            for _, declared in declaredRoutes(self.apiClass)
        ]

    async def _refuse(self, request: Any, **parameters: str) -> Any:
        raise ApiError(403, "ProfileDisabled", f"the {self.profile} profile is not enabled")


def routesOf(apis: Iterable[object]) -> list[tuple[Route, Handler]]:
    """
    @param apis: objects with L{route}-declared methods (or, like
        L{DisabledApi}, a C{boundRoutes()} of their own).
    @return: every route they declare with its bound handler, in declaration order.
    """
    routes: list[tuple[Route, Handler]] = []
    for api in apis:
        if isinstance(api, DisabledApi):
            routes += api.boundRoutes()
        else:
            routes += [
                (declared, getattr(api, name)) for name, declared in declaredRoutes(type(api))
            ]
    return routes


def match(
    routes: list[tuple[Route, Handler]], method: str, path: str
) -> tuple[Route, Handler, dict[str, str]]:
    """
    Find the route and handler for a request.

    @param path: the request path, still percent-encoded.
    @return: the route, its handler and its path parameters, percent-decoded.
    @raise ApiError: 404 when no route has that path, 405 when none has that method.
    """
    allowed = []
    for candidate, handler in routes:
        found = candidate.pattern.match(path)
        if found is not None:
            if candidate.method == method:
                parameters = {name: unquote(value) for name, value in found.groupdict().items()}
                return candidate, handler, parameters
            allowed.append(candidate.method)
    if allowed:
        raise ApiError(
            405, "MethodNotAllowed", f"{method} is not allowed here", allowed=sorted(allowed)
        )
    raise ApiError(404, "UnknownRoute", f"no such route: {path}")
