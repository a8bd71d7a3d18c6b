"""Stripe's form encoding: nested keys in ``application/x-www-form-urlencoded`` bodies.

Stripe reads ``metadata[order]=6735``, ``items[0][price]=price_1`` and ``expand[]=customer``
(the Rails convention). :func:`encode_form` writes them; :func:`decode_form` reads them
back (the sandbox uses it). Floats are refused: amounts travel as integer minor units or
exact decimal strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["FORM_CONTENT_TYPE", "decode_form", "encode_form", "form_pairs"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        raise TypeError("refusing to form-encode a float: send amounts as int minor units or Decimal")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("refusing to form-encode a non-finite Decimal")
        return format(value, "f")
    if value is None:
        return ""  # Stripe's way of unsetting a field
    if isinstance(value, (str, int)):
        return str(value)
    raise TypeError(f"cannot form-encode {type(value).__name__}")


def form_pairs(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(key, value)`` pairs with bracketed keys, in the mapping's order."""
    for name, value in data.items():
        key = f"{prefix}[{name}]" if prefix else str(name)
        if isinstance(value, Mapping):
            yield from form_pairs(value, key)
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            for index, item in enumerate(value):
                item_key = f"{key}[{index}]"
                if isinstance(item, Mapping):
                    yield from form_pairs(item, item_key)
                else:
                    yield item_key, _scalar(item)
        else:
            yield key, _scalar(value)


def encode_form(data: Mapping[str, Any]) -> str:
    """``{"metadata": {"a": "1"}}`` -> ``metadata%5Ba%5D=1`` (and ``items[0][price]=p`` for lists)."""
    return urlencode(list(form_pairs(data)))


def decode_form(text: str) -> dict[str, Any]:
    """Nest a form body: ``a[b]=1`` -> ``{"a": {"b": "1"}}``; ``a[]=x`` and ``a[0]=x`` -> lists.

    Raises ``ValueError`` for keys that contradict each other (``a=1&a[b]=2``).
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, strict_parsing=False):
        match = _KEY.match(key)
        if match is None:
            raise ValueError(f"malformed form key {key!r}")
        name, segments = match.group(1), _SEGMENT.findall(match.group(2))
        node: Any = root
        slot: Any = name
        for segment in segments:
            child = node.get(slot) if isinstance(node, dict) else None
            if child is None:
                child = {}
                node[slot] = child
            if not isinstance(child, dict):
                raise ValueError(f"form key {key!r} nests inside a plain value")
            node, slot = child, (str(len(child)) if segment == "" else segment)
        if slot in node:
            raise ValueError(f"form key {key!r} is given more than once")
        node[slot] = value
    nested: dict[str, Any] = _lists(root)
    return nested


def _lists(node: Any) -> Any:
    # Dicts whose keys are exactly 0..n-1 were arrays on the wire.
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        keys = sorted(converted, key=int)
        if [int(key) for key in keys] == list(range(len(keys))):
            return [converted[key] for key in keys]
    return converted
