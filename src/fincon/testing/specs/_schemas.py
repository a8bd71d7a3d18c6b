"""Validating values against schemas inside an OpenAPI document, and wording the failures.

Uses openapi-schema-validator's OAS 3.0 validators (jsonschema underneath; the same ones
openapi-core uses), with the whole document registered once so ``$ref`` resolves in place.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

from fincon.testing.specs._errors import Problem, short_repr
from fincon.testing.specs._patches import resolve_pointer

__all__ = ["SchemaSet", "escape_pointer", "problems_from_errors"]

BASE_URI = "urn:fincon:spec"
_WEAK = ("anyOf", "oneOf")


def escape_pointer(part: object) -> str:
    """One JSON pointer segment."""
    return str(part).replace("~", "~0").replace("/", "~1")


class SchemaSet:
    """Compiled validators for schemas of one document, by JSON pointer, built on first use."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._validators: dict[tuple[str, str], Any] = {}
        self._registry: Any = None
        self._lock = threading.Lock()

    def deref(self, schema: Any) -> Any:
        """Follow local ``$ref`` chains to the schema itself (a dangling one gives ``{}``)."""
        hops = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and hops < 50:
            try:
                schema = resolve_pointer(self.document, schema["$ref"])
            except LookupError:
                return {}
            hops += 1
        return schema

    def locate(self, node: Any, pointer: str) -> tuple[Any, str]:
        """``node`` (found at ``pointer``) with its ``$ref`` chain followed, and where it ended."""
        hops = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and hops < 50:
            pointer = node["$ref"].lstrip("#")
            try:
                node = resolve_pointer(self.document, node["$ref"])
            except LookupError:
                return {}, pointer
            hops += 1
        return node, pointer

    def _registry_for(self) -> Any:
        if self._registry is None:
            from referencing import Registry
            from referencing.jsonschema import DRAFT4

            self._registry = Registry().with_resource(BASE_URI, DRAFT4.create_resource(self.document))
        return self._registry

    def validator(self, pointer: str, *, direction: str) -> Any:
        """A validator for the schema at ``pointer``: ``direction`` is ``"write"`` for requests
        (readOnly properties refused) or ``"read"`` for responses (writeOnly refused)."""
        key = (pointer, direction)
        found = self._validators.get(key)
        if found is not None:
            return found
        from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker

        cls = OAS30WriteValidator if direction == "write" else OAS30ReadValidator
        with self._lock:
            validator = cls(
                {"$ref": f"{BASE_URI}#{pointer}"},
                registry=self._registry_for(),
                format_checker=oas30_format_checker,
            )
            self._validators[key] = validator
        return validator

    def check(self, pointer: str, instance: Any, *, direction: str, prefix: str) -> list[Problem]:
        """Problems with ``instance`` against the schema at ``pointer``, located under ``prefix``."""
        errors = self.validator(pointer, direction=direction).iter_errors(instance)
        return problems_from_errors(errors, prefix)


def problems_from_errors(errors: Iterable[Any], prefix: str) -> list[Problem]:
    """jsonschema errors as :class:`Problem` s, choosing the most plausible branch of each anyOf."""
    problems: list[Problem] = []
    for error in errors:
        for leaf in _leaves(error):
            path = "".join("/" + escape_pointer(part) for part in leaf.absolute_path)
            problems.append(Problem(prefix + path, _reason(leaf)))
    return problems


def _branch_fits(branch: list[Any], depth: int) -> bool:
    # A branch whose own type/enum/required rejects the value at the anyOf's level is not the one meant.
    return not any(
        len(error.absolute_path) == depth and error.validator in ("type", "enum", "required")
        for error in branch
    )


def _leaves(error: Any) -> Iterator[Any]:
    """The errors worth showing under ``error``: for anyOf/oneOf, those of the likeliest branch."""
    if error.validator not in _WEAK or not error.context:
        yield error
        return
    branches: dict[Any, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    depth = len(error.absolute_path)
    fitting = [branch for branch in branches.values() if _branch_fits(branch, depth)]
    if not fitting:
        yield error
        return
    best = min(fitting, key=lambda branch: (len(branch), -max(len(e.absolute_path) for e in branch)))
    for sub in best:
        yield from _leaves(sub)


def _reason(error: Any) -> str:
    keyword = error.validator
    instance = error.instance
    if keyword == "type":
        return f"{short_repr(instance)} is not of type {error.validator_value!r}"
    if keyword == "enum":
        allowed = [value for value in error.validator_value]
        shown = ", ".join(repr(value) for value in allowed[:10])
        more = f", … ({len(allowed)} values)" if len(allowed) > 10 else ""
        return f"{short_repr(instance)} is not one of [{shown}{more}]"
    if keyword in _WEAK:
        return f"{short_repr(instance)} matches none of the {len(error.validator_value)} allowed schemas"
    if keyword in ("required", "additionalProperties", "maxLength", "minLength", "pattern", "format"):
        return str(error.message)
    return f"{keyword}: {error.message}"
