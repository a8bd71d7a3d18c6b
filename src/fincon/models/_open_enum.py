"""Open enumerations: a known value becomes the enum member, an unknown one stays a string.

Finance systems add statuses and types between releases; a record must still load when a
vendor sends a value we have never seen. ``OpenEnum[BillStatus]`` is the one annotation
that gives that behaviour to any field.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, TypeVar, Union

from pydantic import Field

__all__ = ["CanonicalEnum", "OpenEnum"]

_SEPARATORS = re.compile(r"[\s_\-]+")


def _fold(value: str) -> str:
    return _SEPARATORS.sub("", value).casefold()


class CanonicalEnum(str, Enum):
    """Base of fincon's string enums; lookup forgives case and separators.

    ``BillStatus("Partially Paid")``, ``BillStatus("partiallyPaid")`` and
    ``BillStatus("PARTIALLY_PAID")`` are all ``BillStatus.PARTIALLY_PAID``.
    """

    @classmethod
    def _missing_(cls, value: object) -> CanonicalEnum | None:
        if not isinstance(value, str):
            return None
        folded = _fold(value)
        for member in cls:
            if _fold(member.value) == folded:
                return member
        return None

    def __str__(self) -> str:
        return str(self.value)


E = TypeVar("E", bound=Enum)

OpenEnum = Annotated[Union[E, str], Field(union_mode="left_to_right")]  # noqa: UP007 (generic alias needs Union)
"""``OpenEnum[SomeEnum]``: the member when the value is known, else the value kept as a ``str``."""
