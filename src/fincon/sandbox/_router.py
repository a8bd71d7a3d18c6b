"""Method + path-template routing for emulators: ``router.add("GET", "/v1/vendors/{id}", fn)``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from fincon.sandbox._responses import json_response

__all__ = ["Handler", "Route", "Router"]

Handler = Callable[[httpx.Request, Mapping[str, str]], httpx.Response]
"""A route handler: the request and the path parameters the template captured."""

_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(path))?\}")


def _compile(template: str) -> re.Pattern[str]:
    """``/v1/{resource}/{id}`` -> a regex; ``{name}`` is one segment, ``{name:path}`` the rest."""
    if not template.startswith("/"):
        raise ValueError(f"a path template starts with '/': {template!r}")
    pattern: list[str] = []
    position = 0
    for match in _PARAMETER.finditer(template):
        pattern.append(re.escape(template[position : match.start()]))
        segment = ".+" if match.group(2) else "[^/]+"
        pattern.append(f"(?P<{match.group(1)}>{segment})")
        position = match.end()
    pattern.append(re.escape(template[position:]))
    return re.compile("".join(pattern))


@dataclass(frozen=True)
class Route:
    """One registered route."""

    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


def _default_not_found(request: httpx.Request) -> httpx.Response:
    return json_response(
        {
            "error": {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL ({request.method}: {request.url.path})",
            }
        },
        status=404,
    )


def _default_not_allowed(request: httpx.Request, allowed: list[str]) -> httpx.Response:
    response = json_response(
        {"error": {"type": "invalid_request_error", "message": f"{request.method} is not allowed here"}},
        status=405,
    )
    response.headers["Allow"] = ", ".join(allowed)
    return response


class Router:
    """Dispatches requests to handlers by method and path template, first match wins.

    Unknown paths get ``not_found(request)`` (a 404 JSON error unless given) and known
    paths with another method get ``method_not_allowed(request, allowed)`` (405 + ``Allow``),
    so each emulator can answer these the way its vendor does.
    """

    def __init__(
        self,
        *,
        not_found: Callable[[httpx.Request], httpx.Response] = _default_not_found,
        method_not_allowed: Callable[[httpx.Request, list[str]], httpx.Response] = _default_not_allowed,
    ) -> None:
        self.routes: list[Route] = []
        self._not_found = not_found
        self._not_allowed = method_not_allowed

    def add(self, method: str, template: str, handler: Handler) -> Route:
        """Register ``handler`` for ``method`` (or ``"*"`` for any) on ``template``."""
        route = Route(method.upper(), template, _compile(template), handler)
        self.routes.append(route)
        return route

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`."""

        def register(handler: Handler) -> Handler:
            self.add(method, template, handler)
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | list[str]:
        """The route and parameters for ``method`` and ``path``, or the methods allowed on
        ``path`` (empty when nothing matches it)."""
        allowed: list[str] = []
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method in (method, "*"):
                return route, found.groupdict()
            allowed.append(route.method)
        return allowed

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        """Run the handler that matches ``request``."""
        matched = self.match(request.method, request.url.path)
        if isinstance(matched, list):
            return self._not_allowed(request, matched) if matched else self._not_found(request)
        route, parameters = matched
        return route.handler(request, parameters)
