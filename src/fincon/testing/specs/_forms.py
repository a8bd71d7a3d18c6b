"""Decoding Stripe-style bracketed form keys into nested values, typed by the schema.

Stripe's API sends ``metadata[order]=6735``, ``items[0][price]=price_1`` and ``expand[]=customer``
in query strings and ``application/x-www-form-urlencoded`` bodies, and its spec declares them as
``style: deepObject`` objects and arrays, nested to any depth and mixed with ``anyOf``.
openapi-core's deepObject support stops at one level of plain objects, so fincon decodes the
keys itself (the Rails/PHP convention Stripe's SDKs use) and then validates the nested value
against the schema with jsonschema. Form values are all strings, so each is turned into the
integer, number or boolean the schema asks for where it reads as one; ``""`` stays a string
(Stripe's "unset this field").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fincon.testing.specs._schemas import SchemaSet

__all__ = ["FormDecodeError", "coerce", "decode_pairs", "split_key"]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_INT = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


class FormDecodeError(ValueError):
    """Bracketed keys that contradict each other, e.g. ``a=1`` and ``a[b]=2``."""


def split_key(key: str) -> tuple[str, list[str]]:
    """``"items[0][price]"`` → ``("items", ["0", "price"])``; ``"expand[]"`` → ``("expand", [""])``."""
    match = _KEY.match(key)
    if match is None:
        return key, []
    return match.group(1), _SEGMENT.findall(match.group(2))


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest decoded ``(key, value)`` pairs: plain keys give a string (a list when repeated),
    ``a[b]`` a dict, ``a[]`` a list; numeric segments stay dict keys until :func:`coerce`."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        name, segments = split_key(key)
        if not segments:
            _put_plain(root, name, value, key)
            continue
        container: Any = root
        slot: Any = name
        for segment in segments:
            child = _child(container, slot)
            if segment == "":
                if child is None:
                    child = _set(container, slot, [])
                if not isinstance(child, list):
                    raise FormDecodeError(f"{key!r} appends to {name!r}, which is not a list")
                container, slot = child, len(child)
            else:
                if child is None:
                    child = _set(container, slot, {})
                if not isinstance(child, dict):
                    raise FormDecodeError(f"{key!r} nests inside a value that is not an object")
                container, slot = child, segment
        if _child(container, slot) is not None:
            raise FormDecodeError(f"{key!r} is given more than once")
        _set(container, slot, value)
    return root


def _put_plain(root: dict[str, Any], name: str, value: str, key: str) -> None:
    existing = root.get(name)
    if existing is None:
        root[name] = value
    elif isinstance(existing, str):
        root[name] = [existing, value]
    elif isinstance(existing, list) and all(isinstance(item, str) for item in existing):
        existing.append(value)
    else:
        raise FormDecodeError(f"{key!r} is given both plain and with brackets")


def _child(container: Any, slot: Any) -> Any:
    if isinstance(container, list):
        return container[slot] if slot < len(container) else None
    return container.get(slot)


def _set(container: Any, slot: Any, value: Any) -> Any:
    if isinstance(container, list):
        container.append(value)
    else:
        container[slot] = value
    return value


# --- typing by schema -------------------------------------------------------------------------------


def _alternatives(schema: Any, schemas: SchemaSet, depth: int = 0) -> list[dict[str, Any]]:
    """The concrete schemas a value may match: anyOf/oneOf/allOf flattened, $refs followed."""
    schema = schemas.deref(schema)
    if not isinstance(schema, dict) or depth > 20:
        return []
    found: list[dict[str, Any]] = []
    for keyword in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(keyword) or ():
            found.extend(_alternatives(part, schemas, depth + 1))
    if not found or any(key in schema for key in ("type", "properties", "items")):
        found.append(schema)
    return found


def _types(alternatives: list[dict[str, Any]]) -> set[str]:
    kinds: set[str] = set()
    for alternative in alternatives:
        kind = alternative.get("type")
        if isinstance(kind, str):
            kinds.add(kind)
        elif "properties" in alternative or "additionalProperties" in alternative:
            kinds.add("object")
        elif "items" in alternative:
            kinds.add("array")
    return kinds


def _typed_scalar(text: str, kinds: set[str]) -> Any:
    # Typed alternatives first: Stripe pairs them with a string one, e.g. anyOf [integer, enum [""]].
    if text == "":
        return text
    if "integer" in kinds and _INT.match(text):
        return int(text)
    if "number" in kinds and _NUMBER.match(text):
        return float(text) if any(mark in text for mark in ".eE") else int(text)
    if "boolean" in kinds and text in ("true", "false"):
        return text == "true"
    return text


def coerce(value: Any, schema: Any, schemas: SchemaSet) -> Any:
    """``value`` from :func:`decode_pairs`, typed as ``schema`` expects (left as is where it cannot be)."""
    alternatives = _alternatives(schema, schemas)
    kinds = _types(alternatives)
    if isinstance(value, str):
        if "array" in kinds and not kinds & {"string", "integer", "number", "boolean"} and value != "":
            return [coerce(value, _merged("items", alternatives), schemas)]
        return _typed_scalar(value, kinds)
    if isinstance(value, list):
        items = _merged("items", alternatives)
        return [coerce(item, items, schemas) for item in value]
    if isinstance(value, dict):
        if "array" in kinds and value and all(key.isdigit() for key in value):
            items = _merged("items", alternatives)
            return [coerce(value[key], items, schemas) for key in sorted(value, key=int)]
        return {key: coerce(item, _property(key, alternatives), schemas) for key, item in value.items()}
    return value


def _merged(keyword: str, alternatives: list[dict[str, Any]]) -> dict[str, Any]:
    parts = [alt[keyword] for alt in alternatives if isinstance(alt.get(keyword), dict)]
    return {"anyOf": parts} if parts else {}


def _property(name: str, alternatives: list[dict[str, Any]]) -> dict[str, Any]:
    parts: list[Any] = []
    for alternative in alternatives:
        properties = alternative.get("properties")
        if isinstance(properties, dict) and name in properties:
            parts.append(properties[name])
        elif isinstance(alternative.get("additionalProperties"), dict):
            parts.append(alternative["additionalProperties"])
    return {"anyOf": parts} if parts else {}
