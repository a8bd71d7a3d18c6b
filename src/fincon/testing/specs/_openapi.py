"""OpenAPI 3.0 contracts: requests checked by fincon, responses by openapi-core.

Requests: the route is matched by path (any host), then parameters and bodies are decoded the
way OpenAPI styles say (plus Stripe's bracketed keys, see :mod:`._forms`) and validated with
openapi-schema-validator's OAS 3.0 validator (jsonschema). openapi-core's own request path is
not used because its deepObject and form-body decoding cannot read Stripe's nested keys.

Responses: openapi-core's ``V30ResponseValidator`` checks the status, content type, headers
and body against the same patched document.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from fincon.testing.specs._errors import Problem, SpecLoadError, SpecViolation
from fincon.testing.specs._forms import FormDecodeError, coerce, decode_pairs
from fincon.testing.specs._locate import describe_file
from fincon.testing.specs._patches import OPENAPI_PATCHES, OpenAPIPatch, apply_openapi_patches
from fincon.testing.specs._routes import RouteError, RouteMatch, Router
from fincon.testing.specs._schemas import SchemaSet, escape_pointer

__all__ = ["OpenAPIContract"]

_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_FORM = "application/x-www-form-urlencoded"


@dataclass
class _Loaded:
    """A parsed and patched document and what is derived from it; shared by equal contracts."""

    document: dict[str, Any]
    patches_applied: dict[str, int]
    load_seconds: float
    schemas: SchemaSet
    lock: threading.Lock = field(default_factory=threading.Lock)
    core: Any = None


@functools.lru_cache(maxsize=32)
def _load(path: str, stamp: tuple[int, int], patches: tuple[OpenAPIPatch, ...]) -> _Loaded:
    from fincon.testing.specs._documents import load_document

    started = time.perf_counter()
    try:
        document = load_document(Path(path))
    except Exception as exc:
        raise SpecLoadError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3.0"):
        found = document.get("openapi") if isinstance(document, dict) else type(document).__name__
        raise SpecLoadError(f"{path} is not an OpenAPI 3.0 document (openapi: {found!r})")
    applied = apply_openapi_patches(document, patches)
    return _Loaded(document, applied, time.perf_counter() - started, SchemaSet(document))


class OpenAPIContract:
    """An OpenAPI 3.0 specification to hold requests and responses to.

    Loading is cached per process by path, file size and modification time (and patches), so a
    test session parses each big spec once however many contracts or tests use it.

    :param path: the spec, YAML or JSON.
    :param patches: load-time patches (default: all known ones, see ``docs/spec-checks.md``).
    :param base_paths: path prefixes the API is served under (default: the paths of the spec's
        ``servers``); the host is never compared, so emulators can run anywhere.
    :param strict_query: report query parameters the operation does not declare.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        patches: Iterable[OpenAPIPatch] | None = None,
        base_paths: Sequence[str] | None = None,
        strict_query: bool = True,
    ) -> None:
        self.path = Path(path).resolve()
        try:
            status = self.path.stat()
        except OSError as exc:
            raise SpecLoadError(f"cannot read {self.path}: {exc}") from exc
        chosen = tuple(OPENAPI_PATCHES if patches is None else patches)
        self._loaded = _load(str(self.path), (status.st_size, status.st_mtime_ns), chosen)
        self._router = Router(self._loaded.document, base_paths)
        self.strict_query = strict_query
        info = self.document.get("info") or {}
        self.title = str(info.get("title", self.path.name))
        self.version = str(info.get("version", "?"))
        self.name = f"{self.title} {self.version} ({describe_file(self.path)})"

    def __repr__(self) -> str:
        return f"OpenAPIContract({self.name})"

    @property
    def document(self) -> dict[str, Any]:
        """The parsed, patched document (shared: do not change it)."""
        return self._loaded.document

    @property
    def patches_applied(self) -> dict[str, int]:
        """Patch name to number of places changed, for patches that changed something."""
        return dict(self._loaded.patches_applied)

    @property
    def load_seconds(self) -> float:
        """How long reading and patching the document took (once per process)."""
        return self._loaded.load_seconds

    def operation(self, method: str, url: str | httpx.URL) -> RouteMatch:
        """The operation a request would reach, with its path parameters.

        :raises SpecViolation: when the spec has no such path or method.
        """
        target = httpx.URL(url) if isinstance(url, str) else url
        try:
            return self._router.match(method, target.raw_path.split(b"?")[0].decode("ascii"))
        except RouteError as exc:
            reason = str(exc) + (f" (documented: {', '.join(exc.allowed)})" if exc.allowed else "")
            raise SpecViolation(
                self.name, f"{method.upper()} {target.path}", [Problem("/path", reason)]
            ) from None

    # --- requests -------------------------------------------------------------------------------

    def check_request(self, request: httpx.Request) -> RouteMatch:
        """Validate a request: operation exists, parameters and body match the spec.

        :returns: the matched operation.
        :raises SpecViolation: listing every problem found.
        """
        match = self.operation(request.method, request.url)
        problems = self._parameter_problems(match, request) + self._body_problems(match, request)
        if problems:
            raise SpecViolation(self.name, f"{match.route.label} request", problems)
        return match

    def _parameters(self, match: RouteMatch) -> list[tuple[dict[str, Any], str]]:
        """Path-item and operation parameters (the operation's win), each with its pointer."""
        chosen: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        route = match.route
        item_pointer = route.pointer.rsplit("/", 1)[0]
        for owner, pointer in ((route.path_item, item_pointer), (route.operation, route.pointer)):
            for index, raw in enumerate(owner.get("parameters") or ()):
                param, where = self._loaded.schemas.locate(raw, f"{pointer}/parameters/{index}")
                if isinstance(param, dict) and "name" in param and "in" in param:
                    chosen[(str(param["in"]), str(param["name"]))] = (param, where)
        return list(chosen.values())

    def _parameter_problems(self, match: RouteMatch, request: httpx.Request) -> list[Problem]:
        problems: list[Problem] = []
        try:
            query = decode_pairs(parse_qsl(request.url.query.decode("utf-8"), keep_blank_values=True))
        except FormDecodeError as exc:
            return [Problem("/query", str(exc))]
        cookies = SimpleCookie(request.headers.get("cookie", ""))
        declared_query: set[str] = set()
        for param, pointer in self._parameters(match):
            place, name = str(param["in"]), str(param["name"])
            if place == "query":
                declared_query.add(name)
            if place == "header" and name.lower() in _IGNORED_HEADERS:
                continue
            raw = _raw_parameter(place, name, match, query, request, cookies)
            location = f"/{place}/{escape_pointer(name)}"
            if raw is None:
                if param.get("required"):
                    problems.append(Problem(location, f"required {place} parameter {name!r} is missing"))
                continue
            problems += self._parameter_value_problems(param, pointer, raw, location)
        if self.strict_query:
            for name in query:
                if name not in declared_query:
                    problems.append(
                        Problem(f"/query/{escape_pointer(name)}", "not a documented query parameter")
                    )
        return problems

    def _parameter_value_problems(
        self, param: dict[str, Any], pointer: str, raw: Any, location: str
    ) -> list[Problem]:
        schemas = self._loaded.schemas
        content = param.get("content")
        if isinstance(content, dict) and content:
            media = next(iter(content))
            try:
                value = json.loads(raw) if "json" in media else raw
            except ValueError as exc:
                return [Problem(location, f"not valid JSON: {exc}")]
            schema_pointer = f"{pointer}/content/{escape_pointer(media)}/schema"
        else:
            schema_pointer = f"{pointer}/schema"
            schema = schemas.deref(param.get("schema") or {})
            value = coerce(_unstyle(param, raw, schema), schema, schemas)
        return schemas.check(schema_pointer, value, direction="write", prefix=location)

    def _body_problems(self, match: RouteMatch, request: httpx.Request) -> list[Problem]:
        operation = match.route.operation
        body = request.content
        raw = operation.get("requestBody")
        if raw is None:
            return [Problem("/body", "the operation takes no request body")] if body else []
        request_body, pointer = self._loaded.schemas.locate(raw, f"{match.route.pointer}/requestBody")
        if not body:
            return [Problem("/body", "a request body is required")] if request_body.get("required") else []
        content = request_body.get("content") or {}
        mime = request.headers.get("content-type", "").split(";")[0].strip().lower()
        media = _find_media(content, mime)
        if media is None:
            documented = ", ".join(content) or "none"
            return [
                Problem(
                    "/headers/content-type",
                    f"{mime or '(none)'!r} is not documented (documented: {documented})",
                )
            ]
        if "schema" not in (content[media] or {}):
            return []
        schema_pointer = f"{pointer}/content/{escape_pointer(media)}/schema"
        schemas = self._loaded.schemas
        if mime == _FORM:
            try:
                tree = decode_pairs(
                    parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
                )
            except (FormDecodeError, UnicodeDecodeError) as exc:
                return [Problem("/body", str(exc))]
            value = coerce(tree, content[media]["schema"], schemas)
        elif mime == "application/json" or mime.endswith("+json"):
            try:
                value = json.loads(body)
            except ValueError as exc:
                return [Problem("/body", f"not valid JSON: {exc}")]
        else:
            return []
        return schemas.check(schema_pointer, value, direction="write", prefix="/body")

    # --- responses ------------------------------------------------------------------------------

    def check_response(self, response: httpx.Response, request: httpx.Request | None = None) -> RouteMatch:
        """Validate a response (read it first): status documented, content type, headers and body,
        with openapi-core.

        :param request: the request it answers (default: ``response.request``).
        :raises SpecViolation: listing every problem found.
        """
        request = request if request is not None else response.request
        match = self.operation(request.method, request.url)
        problems = self._core().problems(match.route, response)
        if problems:
            raise SpecViolation(self.name, f"{match.route.label} response {response.status_code}", problems)
        return match

    def _core(self) -> Any:
        loaded = self._loaded
        if loaded.core is None:
            with loaded.lock:
                if loaded.core is None:
                    from fincon.testing.specs._core_bridge import CoreResponseChecker

                    loaded.core = CoreResponseChecker(loaded.document)
        return loaded.core

    def check_body(self, pointer: str, value: Any, *, direction: str = "read") -> None:
        """Validate any value against the schema at a JSON ``pointer`` of the document, e.g.
        ``"/components/schemas/customer"``; ``direction`` is ``"read"`` or ``"write"``."""
        problems = self._loaded.schemas.check(pointer, value, direction=direction, prefix="")
        if problems:
            raise SpecViolation(self.name, f"schema #{pointer}", problems)


def _raw_parameter(
    place: str,
    name: str,
    match: RouteMatch,
    query: dict[str, Any],
    request: httpx.Request,
    cookies: SimpleCookie,
) -> Any:
    if place == "path":
        return match.path_params.get(name)
    if place == "query":
        return query.get(name)
    if place == "header":
        values = request.headers.get_list(name)
        return ",".join(values) if values else None
    if place == "cookie":
        morsel = cookies.get(name)
        return morsel.value if morsel is not None else None
    return None


def _unstyle(param: dict[str, Any], raw: Any, schema: Any) -> Any:
    """Split serialised arrays and objects per the parameter's style (deepObject arrives nested)."""
    if not isinstance(raw, str):
        return raw
    place = param.get("in")
    style = param.get("style") or ("form" if place in ("query", "cookie") else "simple")
    explode = param.get("explode", style == "form")
    kind = schema.get("type") if isinstance(schema, dict) else None
    separator = {"form": ",", "simple": ",", "spaceDelimited": " ", "pipeDelimited": "|"}.get(str(style))
    if separator is None or raw == "":
        return raw
    if kind == "array" and not (style == "form" and explode):
        return raw.split(separator)
    if kind == "object" and not explode:
        parts = raw.split(separator)
        return dict(zip(parts[::2], parts[1::2], strict=False))
    return raw


def _find_media(content: dict[str, Any], mime: str) -> str | None:
    if mime in content:
        return mime
    for key in content:
        if key.split(";")[0].strip().lower() == mime:
            return key
    wildcard = mime.split("/")[0] + "/*"
    if wildcard in content:
        return wildcard
    return "*/*" if "*/*" in content else None
