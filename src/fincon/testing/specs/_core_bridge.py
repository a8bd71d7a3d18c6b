"""Response validation through openapi-core, on a route fincon already matched.

openapi-core finds operations by full URL and server, which fails for emulators on other hosts
and for servers with blank template variables (SAP's ``https://{host}:{port}/...``). It lets a
validator take its own path finder, so fincon passes one that returns the operation it matched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from fincon.testing.specs._errors import Problem
from fincon.testing.specs._routes import Route
from fincon.testing.specs._schemas import problems_from_errors

__all__ = ["CoreResponseChecker"]

_ORIGIN = "https://fincon.invalid"


class _RoutedRequest:
    """The openapi-core request protocol, reduced to what response validation reads."""

    def __init__(self, route: Route) -> None:
        from openapi_core.datatypes import RequestParameters

        self.host_url = _ORIGIN
        self.path = route.template
        self.path_pattern = route.template
        self.method = route.method
        self.parameters = RequestParameters()
        self.content_type = ""
        self.body: bytes | None = None


class _ResponseAdapter:
    """An :class:`httpx.Response` as openapi-core's response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "").lower()
        self.headers: Mapping[str, str] = response.headers
        self.data: bytes | None = response.content or None


def _finder_class() -> type:
    from openapi_core.templating.datatypes import TemplateResult
    from openapi_core.templating.paths.datatypes import PathOperationServer

    class RoutedFinder:
        def __init__(self, spec: Any, base_url: str | None = None) -> None:
            self.spec = spec

        def find(self, method: str, name: str) -> Any:
            template = name[len(_ORIGIN) :] if name.startswith(_ORIGIN) else name
            path = self.spec / "paths" / template
            return PathOperationServer(
                path, path / method, None, TemplateResult(template, {}), TemplateResult("", {})
            )

    return RoutedFinder


class CoreResponseChecker:
    """openapi-core's OpenAPI 3.0 response validator over one (patched) document."""

    def __init__(self, document: dict[str, Any]) -> None:
        from jsonschema_path import SchemaPath
        from openapi_core import V30ResponseValidator

        self._validator = V30ResponseValidator(
            SchemaPath.from_dict(document), path_finder_cls=_finder_class()
        )

    def problems(self, route: Route, response: httpx.Response) -> list[Problem]:
        """Everything openapi-core finds wrong with ``response`` to ``route``, as problems."""
        errors = self._validator.iter_errors(_RoutedRequest(route), _ResponseAdapter(response))
        found: list[Problem] = []
        for error in errors:
            found += _translate(error, route, response)
        return found


def _translate(error: Exception, route: Route, response: httpx.Response) -> list[Problem]:
    from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
    from openapi_core.templating.responses.exceptions import ResponseNotFound
    from openapi_core.validation.response.exceptions import (
        HeaderValidationError,
        InvalidData,
        MissingData,
        MissingRequiredHeader,
    )
    from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

    if isinstance(error, ResponseNotFound):
        documented = ", ".join(str(code) for code in error.availableresponses)
        return [
            Problem("/status", f"status {response.status_code} is not documented (documented: {documented})")
        ]
    if isinstance(error, MissingData):
        return [Problem("/body", "the response has no body, but the spec documents one")]
    if isinstance(error, MissingRequiredHeader):
        return [Problem(f"/headers/{error.name}", "a required response header is missing")]
    cause = error.__cause__
    if isinstance(error, HeaderValidationError):
        where = f"/headers/{error.name}"
        if isinstance(cause, InvalidSchemaValue):
            return problems_from_errors(cause.schema_errors, where)
        return [Problem(where, str(cause or error))]
    if isinstance(error, InvalidData):
        if isinstance(cause, MediaTypeNotFound):
            documented = ", ".join(cause.availableMimetypes)
            got = response.headers.get("content-type", "(none)")
            return [
                Problem(
                    "/headers/content-type", f"{got!r} is not a documented type (documented: {documented})"
                )
            ]
        if isinstance(cause, InvalidSchemaValue):
            return problems_from_errors(cause.schema_errors, "/body")
        return [Problem("/body", f"cannot be read as documented: {cause or error}")]
    return [Problem("", f"{type(error).__name__}: {error}")]
