"""OData contracts from ``$metadata``: payloads and URLs checked against entity types.

V2 (SAP S/4HANA) payloads are "verbose JSON": ``{"d": {...}}`` or ``{"d": {"results": [...]}}``,
``__metadata``, ``__deferred`` navigation, ``/Date(ms)/`` dates, Int64 and Decimal as strings.
V4 (Dynamics 365 Business Central) payloads are ``{"value": [...]}`` or one entity, with
``@odata.*`` annotations, ISO dates, numbers (strings under ``IEEE754Compatible=true``).
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from fincon.testing.specs._edm import check_primitive
from fincon.testing.specs._edmx import EdmProperty, Model, StructuredType, parse_edmx
from fincon.testing.specs._errors import Problem, SpecLoadError, SpecViolation, short_repr
from fincon.testing.specs._locate import describe_file
from fincon.testing.specs._odata_url import Target, check_url
from fincon.testing.specs._schemas import escape_pointer

__all__ = ["ODataContract"]


@functools.lru_cache(maxsize=64)
def _load(path: str, stamp: tuple[int, int]) -> tuple[Model, float]:
    started = time.perf_counter()
    model = parse_edmx(Path(path))
    return model, time.perf_counter() - started


class ODataContract:
    """An OData service's ``$metadata`` (EDMX V2 or V4) to hold payloads and URLs to.

    Parsed once per process per file (lxml, hardened: no entities, no network).

    :param edmx_path: the ``$metadata`` document.
    """

    def __init__(self, edmx_path: str | os.PathLike[str]) -> None:
        self.path = Path(edmx_path).resolve()
        try:
            status = self.path.stat()
        except OSError as exc:
            raise SpecLoadError(f"cannot read {self.path}: {exc}") from exc
        self.model, self.load_seconds = _load(str(self.path), (status.st_size, status.st_mtime_ns))
        flavour = "V4" if self.model.is_v4 else "V2"
        self.name = (
            f"OData {flavour} $metadata {'/'.join(self.model.namespaces)} ({describe_file(self.path)})"
        )

    def __repr__(self) -> str:
        return f"ODataContract({self.name})"

    @property
    def version(self) -> str:
        """The OData version: ``"2.0"`` style for EDMX 1.0 services, ``"4.0"`` for EDMX 4.0."""
        return self.model.odata_version

    @property
    def entity_sets(self) -> dict[str, str]:
        """Entity set name to qualified entity type name."""
        return {name: entity_set.entity_type for name, entity_set in self.model.entity_sets.items()}

    def entity_type(self, entity_set: str) -> StructuredType:
        """The entity type of an entity set.

        :raises KeyError: naming the sets there are, when there is no such set.
        """
        found = self.model.entity_sets.get(entity_set)
        if found is None:
            raise KeyError(f"no entity set {entity_set!r}; the service has {sorted(self.model.entity_sets)}")
        return self.model.types[found.entity_type]

    # --- payloads --------------------------------------------------------------------------------

    def validate_entity(
        self,
        entity_set: str,
        entity: Mapping[str, Any],
        *,
        require_keys: bool = True,
        ieee754: bool | None = None,
    ) -> None:
        """Validate one entity (already unwrapped from ``d`` / ``value``) of ``entity_set``.

        :param require_keys: every key property must be present (off for create/update bodies).
        :param ieee754: V4 only, see :func:`fincon.testing.specs._edm.check_primitive`.
        :raises SpecViolation: on unknown properties, wrong shapes, missing keys, MaxLength.
        """
        problems = self._entity_problems(self.entity_type(entity_set), entity, "", require_keys, ieee754)
        if problems:
            raise SpecViolation(self.name, f"entity of {entity_set}", problems)

    def validate_payload(
        self,
        entity_set: str,
        body: Any,
        *,
        require_keys: bool = True,
        ieee754: bool | None = None,
    ) -> int:
        """Validate a whole response body for ``entity_set``: one entity or a collection, in the
        envelope of the service's OData version.

        :returns: how many entities were checked.
        :raises SpecViolation: listing every problem.
        """
        entity_type = self.entity_type(entity_set)
        problems, count = self._payload_problems(entity_type, body, None, require_keys, ieee754)
        if problems:
            raise SpecViolation(self.name, f"payload of {entity_set}", problems)
        return count

    def _payload_problems(
        self,
        entity_type: StructuredType,
        body: Any,
        many: bool | None,
        require_keys: bool,
        ieee754: bool | None,
    ) -> tuple[list[Problem], int]:
        """``many``: the URL addressed a collection (``True``), one entity (``False``), or unknown."""
        if not isinstance(body, dict):
            return [Problem("", f"{short_repr(body)} is not a JSON object")], 0
        if self.model.is_v4:
            found = self._v4_entities(body, many)
        elif "d" not in body:
            return [Problem("", 'an OData V2 payload is wrapped in {"d": …}')], 0
        else:
            found = self._v2_entities(body["d"], many)
        if isinstance(found, Problem):
            return [found], 0
        entities, prefix = found
        problems: list[Problem] = []
        for index, entity in enumerate(entities):
            where = f"{prefix}/{index}" if prefix.endswith(("results", "value")) else prefix
            problems += self._entity_problems(entity_type, entity, where, require_keys, ieee754)
        return problems, len(entities)

    def _v2_entities(self, data: Any, many: bool | None) -> Problem | tuple[list[Any], str]:
        is_collection = isinstance(data, list) or (
            isinstance(data, dict) and isinstance(data.get("results"), list)
        )
        if many is True and not is_collection:
            return Problem("/d", 'a collection was addressed; V2 answers {"d": {"results": […]}}')
        if many is False or not is_collection:
            if not isinstance(data, dict):
                return Problem("/d", f"{short_repr(data)} is not an entity")
            return [data], "/d"
        if isinstance(data, list):  # OData V1 collections, still read by V2 clients
            return data, "/d/results"
        extra = set(data) - {"results", "__count", "__next", "__delta"}
        if extra:
            return Problem("/d", f"unexpected members beside results: {sorted(extra)}")
        return list(data["results"]), "/d/results"

    def _v4_entities(self, body: dict[str, Any], many: bool | None) -> Problem | tuple[list[Any], str]:
        is_collection = isinstance(body.get("value"), list)
        if many is True and not is_collection:
            return Problem("", 'a collection was addressed; V4 answers {"value": […]}')
        if many is False or not is_collection:
            return [body], ""
        extra = {key for key in body if key != "value" and not key.startswith("@")}
        if extra:
            return Problem("", f"unexpected members beside value: {sorted(extra)}")
        return list(body["value"]), "/value"

    def _entity_problems(
        self,
        structured: StructuredType,
        entity: Any,
        where: str,
        require_keys: bool,
        ieee754: bool | None,
        depth: int = 0,
    ) -> list[Problem]:
        if not isinstance(entity, dict):
            return [Problem(where or "/", f"{short_repr(entity)} is not an object ({structured.name})")]
        v4 = self.model.is_v4
        problems: list[Problem] = []
        for name, value in entity.items():
            here = f"{where}/{escape_pointer(name)}"
            if v4 and "@" in name:
                owner = name.split("@", 1)[0]
                if owner and owner not in structured.properties and owner not in structured.navigation:
                    problems.append(
                        Problem(here, f"annotates {owner!r}, which {structured.name} does not have")
                    )
                continue
            if not v4 and name == "__metadata":
                problems += self._metadata_problems(structured, value, here)
                continue
            if name in structured.properties:
                problems += self._value_problems(structured.properties[name], value, here, ieee754, depth)
            elif name in structured.navigation:
                problems += self._navigation_problems(structured, name, value, here, ieee754, depth)
            elif not structured.open_type:
                problems.append(Problem(here, f"{structured.name} has no property {name!r}"))
        if require_keys and structured.is_entity:
            for key in structured.keys:
                if key not in entity:
                    problems.append(
                        Problem(f"{where}/{escape_pointer(key)}", f"key property {key!r} is missing")
                    )
        return problems

    def _metadata_problems(self, structured: StructuredType, value: Any, where: str) -> list[Problem]:
        if not isinstance(value, dict):
            return [Problem(where, "__metadata is not an object")]
        declared = value.get("type")
        if declared is not None and declared != structured.qualified_name:
            return [Problem(f"{where}/type", f"{declared!r} is not {structured.qualified_name!r}")]
        return []

    def _navigation_problems(
        self, structured: StructuredType, name: str, value: Any, where: str, ieee754: bool | None, depth: int
    ) -> list[Problem]:
        nav = structured.navigation[name]
        target = self.model.types.get(nav.target or "")
        if value is None or target is None or depth > 5:
            return []
        if isinstance(value, dict) and "__deferred" in value and not self.model.is_v4:
            return []
        if nav.many:
            # V2 wraps expanded collections in {"results": [...]}; bare lists are the V1 form.
            wrapped = isinstance(value, dict) and not self.model.is_v4
            items = value.get("results") if wrapped else value
            if not isinstance(items, list):
                shape = "a list" if self.model.is_v4 else "{'results': […]}"
                return [Problem(where, f"expanded {name} leads to many and must be {shape}")]
            prefix = f"{where}/results" if wrapped else where
            found: list[Problem] = []
            for index, item in enumerate(items):
                found += self._entity_problems(target, item, f"{prefix}/{index}", False, ieee754, depth + 1)
            return found
        return self._entity_problems(target, value, where, False, ieee754, depth + 1)

    def _value_problems(
        self, prop: EdmProperty, value: Any, where: str, ieee754: bool | None, depth: int
    ) -> list[Problem]:
        if value is None:
            return [] if prop.nullable else [Problem(where, f'null, but {prop.name} is Nullable="false"')]
        if prop.is_collection:
            if not isinstance(value, list):
                return [Problem(where, f"{short_repr(value)} is not a list ({prop.type})")]
            items = value
        else:
            items = [value]
        found: list[Problem] = []
        for index, item in enumerate(items):
            here = f"{where}/{index}" if prop.is_collection else where
            found += self._item_problems(prop, item, here, ieee754, depth)
        return found

    def _item_problems(
        self, prop: EdmProperty, item: Any, where: str, ieee754: bool | None, depth: int
    ) -> list[Problem]:
        type_name = prop.item_type
        complex_type = self.model.types.get(type_name)
        if complex_type is not None:
            if not self.model.is_v4 and isinstance(item, dict):
                item = {key: value for key, value in item.items() if key != "__metadata"}
            return self._entity_problems(complex_type, item, where, False, ieee754, depth + 1)
        enum = self.model.enums.get(type_name)
        if enum is not None:
            names = item.split(",") if isinstance(item, str) and enum.is_flags else [item]
            unknown = [name for name in names if name not in enum.members]
            if unknown:
                members = ", ".join(sorted(enum.members))
                return [Problem(where, f"{short_repr(item)} is not a member of {enum.name} ({members})")]
            return []
        reason = check_primitive(type_name, item, prop.facets, v4=self.model.is_v4, ieee754=ieee754)
        return [Problem(where, reason)] if reason else []

    # --- URLs and HTTP ---------------------------------------------------------------------------

    def check_url(self, url: str | httpx.URL) -> Target | None:
        """Validate a request URL: entity set, key predicate, navigation, and the property names in
        ``$filter``, ``$select``, ``$orderby`` and ``$expand`` (and the system options' names).

        :returns: what the URL addresses (``None`` when it names no entity set).
        :raises SpecViolation: listing every problem.
        """
        target_url = httpx.URL(url) if isinstance(url, str) else url
        target, problems = self._url(target_url)
        if problems:
            raise SpecViolation(self.name, f"URL {target_url.path}", problems)
        return target

    def _url(self, url: httpx.URL) -> tuple[Target | None, list[Problem]]:
        return check_url(self.model, url.raw_path.split(b"?")[0].decode("ascii"), url.query.decode("utf-8"))

    def check_request(self, request: httpx.Request) -> Target | None:
        """Validate a request's URL and, for JSON create/update bodies, the entity it sends."""
        target, problems = self._url(request.url)
        body = request.content
        is_json = "json" in request.headers.get("content-type", "application/json")
        if target is not None and target.type is not None and not target.raw and body and is_json:
            try:
                sent = json.loads(body)
            except ValueError as exc:
                problems.append(Problem("/body", f"not valid JSON: {exc}"))
            else:
                if not self.model.is_v4 and isinstance(sent, dict) and set(sent) == {"d"}:
                    sent = sent["d"]
                problems += self._entity_problems(target.type, sent, "/body", False, None)
        if problems:
            raise SpecViolation(self.name, f"{request.method} {request.url.path} request", problems)
        return target

    def check_response(self, response: httpx.Response, request: httpx.Request | None = None) -> Target | None:
        """Validate a JSON response against what its request addressed: entities of the target
        type for 2xx, the OData error envelope for 4xx/5xx. Read the response first."""
        request = request if request is not None else response.request
        target, problems = self._url(request.url)
        content_type = response.headers.get("content-type", "")
        if target is not None and not target.raw and "json" in content_type and response.content:
            try:
                body = response.json()
            except ValueError as exc:
                problems.append(Problem("/body", f"not valid JSON: {exc}"))
            else:
                many = target.many
                if many and request.method.upper() == "POST" and response.status_code == 201:
                    # A POST to a collection creates one entity, and 201 answers with that entity.
                    many = False
                problems += self._response_body_problems(
                    target, response.status_code, body, content_type, many
                )
        if problems:
            label = f"{request.method} {request.url.path} response {response.status_code}"
            raise SpecViolation(self.name, label, problems)
        return target

    def _response_body_problems(
        self, target: Target, status: int, body: Any, content_type: str, many: bool | None
    ) -> list[Problem]:
        if status >= 400:
            return _error_problems(body, self.model.is_v4)
        if target.type is None:
            return []
        ieee754 = (
            ("ieee754compatible=true" in content_type.lower().replace(" ", "")) if self.model.is_v4 else None
        )
        require_keys = "$select" not in target.options
        problems, _ = self._payload_problems(target.type, body, many, require_keys, ieee754)
        return [Problem("/body" + problem.location, problem.reason) for problem in problems]


def _error_problems(body: Any, v4: bool) -> list[Problem]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return [Problem("/body", 'an OData error response is {"error": {"code": …, "message": …}}')]
    problems = (
        [] if isinstance(error.get("code"), str) else [Problem("/body/error/code", "missing or not a string")]
    )
    message = error.get("message")
    if v4 and not isinstance(message, str):
        problems.append(Problem("/body/error/message", "OData V4 error messages are strings"))
    if not v4 and not (isinstance(message, dict) and isinstance(message.get("value"), str)):
        problems.append(Problem("/body/error/message", 'OData V2 error messages are {"lang": …, "value": …}'))
    return problems
