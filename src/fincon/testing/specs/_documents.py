"""Reading big JSON/YAML specification documents quickly.

PyYAML's ``CSafeLoader`` parses in C but builds every node and resolves every scalar in
Python; on Stripe's 4 MB spec3.yaml that is 5 to 10 s. Here libyaml's C parser feeds events
straight into dicts and lists, and plain scalars are typed with PyYAML's own YAML 1.1 resolver
table and constructors, so the result is equal to ``yaml.load(..., CSafeLoader)`` in about a
fifth of the time. Anything unusual (explicit tags, merge keys, several documents) falls back
to ``CSafeLoader`` itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["load_document", "load_yaml"]


class _Unsupported(Exception):
    """The fast path met a YAML feature it leaves to PyYAML."""


_NO_KEY = object()


def load_document(path: Path) -> Any:
    """Parse a ``.json`` file with :mod:`json`, anything else as YAML (JSON is YAML too)."""
    data = path.read_bytes()
    if path.suffix.lower() == ".json":
        return json.loads(data)
    return load_yaml(data)


def load_yaml(data: bytes | str) -> Any:
    """Load one YAML document with the safe schema, as fast as libyaml allows."""
    import yaml

    if not getattr(yaml, "__with_libyaml__", False):
        return yaml.load(data, Loader=yaml.SafeLoader)
    try:
        return _load_events(data)
    except _Unsupported:
        return yaml.load(data, Loader=yaml.CSafeLoader)


def _scalar_resolver() -> Any:
    """A function typing one plain scalar the way PyYAML's SafeLoader would."""
    import yaml
    from yaml.constructor import SafeConstructor
    from yaml.nodes import ScalarNode

    table: dict[str, list[tuple[str, Any]]] = yaml.SafeLoader.yaml_implicit_resolvers
    constructors = SafeConstructor.yaml_constructors
    constructor = SafeConstructor()
    str_tag = "tag:yaml.org,2002:str"
    memo: dict[str, Any] = {}

    def resolve(value: str) -> Any:
        try:
            return memo[value]
        except KeyError:
            pass
        result: Any = value
        for tag, regexp in table.get(value[:1], ()):
            if regexp.match(value):
                if tag in ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"):
                    raise _Unsupported(tag)
                if tag != str_tag:
                    result = constructors[tag](constructor, ScalarNode(tag, value))
                break
        memo[value] = result
        return result

    return resolve


def _load_events(data: bytes | str) -> Any:
    from yaml import _yaml
    from yaml.events import (
        AliasEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    resolve = _scalar_resolver()
    parser = _yaml.CParser(data)
    stack: list[Any] = []
    keys: list[Any] = []
    anchors: dict[str, Any] = {}
    root: Any = None
    documents = 0
    try:
        while True:
            event: Any = parser.get_event()
            if event is None:
                break
            kind = type(event)
            value: Any
            if kind is ScalarEvent:
                if event.tag not in (None, "!"):
                    raise _Unsupported(event.tag)
                value = resolve(event.value) if event.implicit[0] else event.value
                if event.anchor:
                    anchors[event.anchor] = value
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.tag is not None:
                    raise _Unsupported(event.tag)
                value = {} if kind is MappingStartEvent else []
                if event.anchor:
                    anchors[event.anchor] = value
                stack.append(value)
                keys.append(_NO_KEY)
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                value = stack.pop()
                keys.pop()
            elif kind is AliasEvent:
                value = anchors[event.anchor]
            else:
                if kind is DocumentStartEvent:
                    documents += 1
                    if documents > 1:
                        raise _Unsupported("several documents")
                continue
            if not stack:
                root = value
                continue
            top = stack[-1]
            if type(top) is list:
                top.append(value)
            elif keys[-1] is _NO_KEY:
                if isinstance(value, (dict, list)):
                    raise _Unsupported("complex mapping key")
                keys[-1] = value
            else:
                top[keys[-1]] = value
                keys[-1] = _NO_KEY
    finally:
        parser.dispose()
    return root
