"""Truncating text to a target field's length without breaking characters."""

from __future__ import annotations

import unicodedata

from fincon.errors import ValidationError

__all__ = ["truncate"]


def _cut_points(text: str) -> list[int]:
    """Indexes where ``text`` may be cut: not before a combining mark or a zero-width joiner sequence."""
    points = [0]
    for index in range(1, len(text) + 1):
        if index < len(text) and (unicodedata.combining(text[index]) or text[index] == "\u200d"):
            continue
        if text[index - 1] == "\u200d":
            continue
        points.append(index)
    return points


def truncate(
    text: str,
    max_length: int,
    *,
    marker: str = "",
    encoding: str | None = None,
    word_boundary: bool = False,
    field: str | None = None,
) -> str:
    """``text`` shortened to fit a field of ``max_length``, unchanged when it already fits.

    Length counts characters, or bytes in ``encoding`` when given (for systems that limit
    bytes, such as UTF-8 columns in SAP). A cut never splits an accent from its letter or
    a multi-byte character. ``marker`` (e.g. ``"…"``) is appended within the limit when text
    is cut; ``word_boundary`` cuts at the last space when there is one.
    """
    if max_length < 0:
        raise ValidationError(f"max_length must be >= 0, got {max_length}", field=field)

    def size(value: str) -> int:
        return len(value.encode(encoding)) if encoding else len(value)

    if size(text) <= max_length:
        return text
    room = max_length - size(marker)
    if room < 0:
        raise ValidationError(f"marker {marker!r} does not fit in {max_length}", field=field)
    cut = used = previous = 0
    for point in _cut_points(text)[1:]:
        used += size(text[previous:point])  # grow the size piece by piece: linear, not quadratic
        previous = point
        if used > room:
            break
        cut = point
    head = text[:cut]
    if word_boundary and " " in head.strip():
        head = head[: head.rstrip().rfind(" ")]
    return head.rstrip() + marker
