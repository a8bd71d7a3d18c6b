"""OData JSON response envelopes, for both versions.

- V2 (verbose JSON): ``{"d": {"results": [...], "__next": url, "__count": "42"}}`` for
  collections (``{"d": [...]}`` from older services), ``{"d": {...}}`` for one entity, and
  ``__metadata.etag`` on entities;
- V4: ``{"value": [...], "@odata.nextLink": url, "@odata.count": 42, "@odata.deltaLink": url}``
  for collections, the entity itself for one entity, and ``@odata.etag``.

:func:`unwrap_collection` returns an :class:`ODataPage`; :func:`unwrap_entity` the entity;
:func:`etag_of` the entity's ETag in either version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fincon.errors import ServerError
from fincon.protocols.odata._version import ODataVersion

__all__ = [
    "ODataPage",
    "etag_of",
    "expanded_items",
    "strip_annotations",
    "unwrap_collection",
    "unwrap_entity",
]


@dataclass(frozen=True, slots=True)
class ODataPage:
    """One page of a collection: the entities as received, and what the server said about the rest."""

    items: list[dict[str, Any]]
    next_link: str | None = None
    count: int | None = None
    delta_link: str | None = None
    #: The envelope's other members (V4 ``@odata.context``, ...), for debugging.
    annotations: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.items)


def _malformed(message: str, system: str | None) -> ServerError:
    return ServerError(message, system=system, code="malformed_response", retryable=False)


def _count(value: Any, system: str | None) -> int | None:
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = Decimal(str(value).strip())
        if number != number.to_integral_value() or number < 0:
            raise ValueError
        return int(number)
    except (ValueError, ArithmeticError):
        raise _malformed(f"the OData count {value!r} is not a non-negative integer", system) from None


def _link(value: Any, name: str, system: str | None) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _malformed(f"the OData {name} is not a string", system)
    return value


def _entities(items: Any, system: str | None) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _malformed("an OData collection does not hold a list of entities", system)
    return items


def unwrap_collection(body: Any, version: ODataVersion, *, system: str | None = None) -> ODataPage:
    """Read a collection response.

    :raises ServerError: (code ``malformed_response``) when the envelope is not the version's.
    """
    if not isinstance(body, Mapping):
        raise _malformed("an OData collection response is not a JSON object", system)
    if version.is_v4:
        if "value" not in body:
            raise _malformed("an OData V4 collection response has no 'value'", system)
        return ODataPage(
            items=_entities(body["value"], system),
            next_link=_link(body.get("@odata.nextLink"), "@odata.nextLink", system),
            count=_count(body.get("@odata.count"), system),
            delta_link=_link(body.get("@odata.deltaLink"), "@odata.deltaLink", system),
            annotations={k: v for k, v in body.items() if k != "value"},
        )
    inner = body.get("d")
    if isinstance(inner, list):  # OData V1-style verbose JSON: {"d": [...]}
        return ODataPage(items=_entities(inner, system))
    if not isinstance(inner, Mapping) or "results" not in inner:
        raise _malformed("an OData V2 collection response has no 'd.results'", system)
    return ODataPage(
        items=_entities(inner["results"], system),
        next_link=_link(inner.get("__next"), "__next", system),
        count=_count(inner.get("__count"), system),
        delta_link=_link(inner.get("__delta"), "__delta", system),
        annotations={k: v for k, v in inner.items() if k != "results"},
    )


def unwrap_entity(body: Any, version: ODataVersion, *, system: str | None = None) -> dict[str, Any]:
    """Read a single-entity response (V2 ``d``, V4 the body itself).

    :raises ServerError: (code ``malformed_response``) when there is no entity.
    """
    if not isinstance(body, dict):
        raise _malformed("an OData entity response is not a JSON object", system)
    if version.is_v4:
        if "value" in body and isinstance(body["value"], list):
            raise _malformed("expected one OData entity, got a collection", system)
        return body
    inner = body.get("d")
    if not isinstance(inner, dict):
        raise _malformed("an OData V2 entity response has no 'd' object", system)
    if "results" in inner and isinstance(inner["results"], list):
        raise _malformed("expected one OData entity, got a collection", system)
    return inner


def etag_of(entity: Mapping[str, Any], version: ODataVersion | None = None) -> str | None:
    """The entity's ETag (V2 ``__metadata.etag``, V4 ``@odata.etag``), or None."""
    if version is None or version.is_v4:
        tag = entity.get("@odata.etag")
        if isinstance(tag, str) and tag:
            return tag
    if version is None or not version.is_v4:
        meta = entity.get("__metadata")
        if isinstance(meta, Mapping):
            tag = meta.get("etag")
            if isinstance(tag, str) and tag:
                return tag
    return None


def expanded_items(value: Any) -> list[dict[str, Any]] | None:
    """The entities of an expanded to-many navigation (V2 ``{"results": [...]}``, V4 a list).

    Returns None for a deferred (not expanded) V2 navigation ``{"__deferred": ...}``.
    """
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    if isinstance(value, Mapping):
        results = value.get("results")
        if isinstance(results, list):
            return [item for item in results if isinstance(item, dict)]
    return None


def strip_annotations(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The entity without protocol members (``__metadata``, ``@odata.*``, deferred navigation)."""
    out: dict[str, Any] = {}
    for key, value in entity.items():
        if key == "__metadata" or key.startswith("@") or "@odata." in key:
            continue
        if isinstance(value, Mapping) and set(value) == {"__deferred"}:
            continue
        out[key] = value
    return out
