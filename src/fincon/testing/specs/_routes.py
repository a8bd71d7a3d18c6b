"""Matching a request's method and path to an OpenAPI operation, whatever host served it.

Emulators run on other hosts than the vendor's, so only the path counts: a prefix taken from the
spec's ``servers`` (or given as ``base_paths``) is removed first, then literal paths are tried
before templated ones, and among templates those with fewer variables win (as OpenAPI asks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from fincon.testing.specs._schemas import escape_pointer

__all__ = ["HTTP_METHODS", "Route", "RouteError", "RouteMatch", "Router"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_VARIABLE = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class Route:
    """One operation of the spec."""

    template: str
    method: str
    operation: dict[str, Any] = field(repr=False, compare=False)
    path_item: dict[str, Any] = field(repr=False, compare=False)

    @property
    def pointer(self) -> str:
        """JSON pointer of the operation in the document."""
        return f"/paths/{escape_pointer(self.template)}/{self.method}"

    @property
    def operation_id(self) -> str | None:
        """The spec's ``operationId``, if any."""
        value = self.operation.get("operationId")
        return value if isinstance(value, str) else None

    @property
    def label(self) -> str:
        """``GET /v1/customers/{customer} (GetCustomersCustomer)``."""
        suffix = f" ({self.operation_id})" if self.operation_id else ""
        return f"{self.method.upper()} {self.template}{suffix}"


@dataclass(frozen=True)
class RouteMatch:
    """A route and the path parameters read from the request path (percent-decoded)."""

    route: Route
    path_params: dict[str, str]


class RouteError(LookupError):
    """No operation matches; ``allowed`` lists the methods the path has when only the method is wrong."""

    def __init__(self, message: str, allowed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.allowed = tuple(allowed)


def _prefix_pattern(server_url: str, variables: dict[str, Any]) -> str:
    """A regex for the path part of a server URL; variables without a usable default match a segment."""

    def fill(match: re.Match[str]) -> str:
        default = (variables.get(match.group(1)) or {}).get("default")
        return f"\0{default}\0" if default not in (None, "") else "\0\1\0"

    filled = _VARIABLE.sub(fill, server_url)
    path = urlsplit(filled).path if "://" in filled or filled.startswith("//") else filled
    pieces = path.rstrip("/").split("\0")
    out = []
    for index, piece in enumerate(pieces):
        if index % 2 == 1:
            out.append("[^/]+" if piece == "\1" else re.escape(piece))
        else:
            out.append(re.escape(piece))
    return "".join(out)


def _servers_prefixes(servers: Any) -> list[str]:
    prefixes: list[str] = []
    for server in servers if isinstance(servers, list) else ():
        url = server.get("url") if isinstance(server, dict) else None
        if isinstance(url, str):
            pattern = _prefix_pattern(url, server.get("variables") or {})
            if pattern not in prefixes:
                prefixes.append(pattern)
    return prefixes or [""]


def _template_regex(template: str) -> tuple[re.Pattern[str], list[str]]:
    names: list[str] = []
    out: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(template):
        out.append(re.escape(template[position : match.start()]))
        out.append(f"(?P<v{len(names)}>[^/]+?)")
        names.append(match.group(1))
        position = match.end()
    out.append(re.escape(template[position:]))
    return re.compile("^" + "".join(out) + "$"), names


def normalise_path(raw_path: str) -> str:
    """Percent-decode each segment but keep an encoded ``/`` inside a segment as ``%2F``."""
    return "/".join(unquote(segment).replace("/", "%2F") for segment in raw_path.split("/"))


class Router:
    """All operations of an OpenAPI document, ready to match requests."""

    def __init__(self, document: dict[str, Any], base_paths: Iterable[str] | None = None) -> None:
        explicit = [re.escape(path.rstrip("/")) for path in base_paths] if base_paths is not None else None
        default_prefixes = _servers_prefixes(document.get("servers"))
        self._literal: dict[str, list[tuple[list[str], dict[str, Any], str]]] = {}
        self._templated: list[
            tuple[int, int, re.Pattern[str], list[str], list[str], dict[str, Any], str]
        ] = []
        paths = document.get("paths") or {}
        for template, item in paths.items():
            if not isinstance(item, dict):
                continue
            prefixes = explicit if explicit is not None else default_prefixes
            if explicit is None and item.get("servers"):
                prefixes = _servers_prefixes(item["servers"])
            if "{" in template:
                regex, names = _template_regex(template)
                literal_chars = len(_VARIABLE.sub("", template))
                self._templated.append((len(names), -literal_chars, regex, names, prefixes, item, template))
            else:
                self._literal.setdefault(template, []).append((prefixes, item, template))
        self._templated.sort(key=lambda entry: (entry[0], entry[1]))
        self._compiled: dict[str, re.Pattern[str]] = {}
        every = [p for entries in self._literal.values() for entry in entries for p in entry[0]]
        self._all_prefixes = list(dict.fromkeys(every))

    def _rests(self, path: str, prefixes: list[str]) -> Iterable[str]:
        for prefix in prefixes:
            regex = self._compiled.get(prefix)
            if regex is None:
                regex = self._compiled[prefix] = re.compile(f"^{prefix}(?=/|$)")
            match = regex.match(path)
            if match is not None:
                yield path[match.end() :] or "/"

    def match(self, method: str, raw_path: str) -> RouteMatch:
        """The operation for ``method`` and the (undecoded) request path.

        :raises RouteError: when no path matches, or the path has no such method.
        """
        method = method.lower()
        path = normalise_path(raw_path)
        allowed: list[str] = []
        for _, item, template in self._candidates_literal(path):
            if method in item:
                return RouteMatch(Route(template, method, item[method], item), {})
            allowed += [name.upper() for name in HTTP_METHODS if name in item]
        for _, _, regex, names, prefixes, item, template in self._templated:
            for rest in self._rests(path, prefixes):
                found = regex.match(rest)
                if found is None:
                    continue
                if method not in item:
                    allowed += [name.upper() for name in HTTP_METHODS if name in item]
                    continue
                values = {name: unquote(found.group(f"v{i}")) for i, name in enumerate(names)}
                return RouteMatch(Route(template, method, item[method], item), values)
        if allowed:
            raise RouteError(f"{method.upper()} is not documented for {path}", sorted(set(allowed)))
        raise RouteError(f"no path of the spec matches {path}")

    def _candidates_literal(self, path: str) -> Iterable[tuple[list[str], dict[str, Any], str]]:
        for prefix in self._all_prefixes:
            for rest in self._rests(path, [prefix]):
                for prefixes, item, template in self._literal.get(rest, ()):
                    if prefix in prefixes:
                        yield prefixes, item, template
