"""Dotted paths into nested payloads: ``"lines.0.amount"``, ``"Vendor.Name"``, ``"items[2].sku"``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["MISSING", "PathError", "get_path", "parse_path", "set_path"]

_INDEX = re.compile(r"\[(\d+)\]")


class _Missing:
    """Marker for "no value here", distinct from an explicit ``None``."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()
"""The value of a path that does not exist in a record."""


class PathError(ValueError):
    """A path cannot be written into the target built so far (it crosses a non-container)."""


def parse_path(path: str) -> tuple[str | int, ...]:
    """``"lines[0].amount"`` or ``"lines.0.amount"`` -> ``("lines", 0, "amount")``."""
    if not isinstance(path, str) or not path.strip():
        raise PathError(f"a path must be non-empty text, got {path!r}")
    parts: list[str | int] = []
    for piece in _INDEX.sub(r".\1", path.strip()).split("."):
        if piece == "":
            raise PathError(f"path {path!r} has an empty segment")
        parts.append(int(piece) if piece.isdigit() else piece)
    return tuple(parts)


def get_path(data: Any, path: tuple[str | int, ...]) -> Any:
    """The value at ``path`` in nested mappings, sequences and objects, or ``MISSING``."""
    current = data
    for part in path:
        if isinstance(current, Mapping):
            if part in current:
                current = current[part]
            elif str(part) in current:
                current = current[str(part)]
            else:
                return MISSING
        elif (
            isinstance(current, Sequence) and not isinstance(current, (str, bytes)) and isinstance(part, int)
        ):
            if part >= len(current):
                return MISSING
            current = current[part]
        elif isinstance(part, str) and not part.startswith("_") and hasattr(current, part):
            current = getattr(current, part)
        else:
            return MISSING
    return current


def set_path(target: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Write ``value`` at ``path``, creating dicts (and lists for integer segments) on the way."""
    current: Any = target
    for position, part in enumerate(path):
        last = position == len(path) - 1
        child: Any = MISSING if last else ([] if isinstance(path[position + 1], int) else {})
        if isinstance(current, dict):
            key = str(part)
            if last:
                current[key] = value
            else:
                current = current.setdefault(key, child)
        elif isinstance(current, list) and isinstance(part, int):
            while len(current) <= part:
                current.append(None)
            if last:
                current[part] = value
            else:
                if current[part] is None:
                    current[part] = child
                current = current[part]
        else:
            shown = ".".join(str(p) for p in path[: position + 1])
            raise PathError(
                f"cannot write {shown}: the value there is a {type(current).__name__}, not a container"
            )
