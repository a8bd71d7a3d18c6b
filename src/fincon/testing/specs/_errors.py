"""What a failed contract check raises: :class:`SpecViolation`, readable in pytest's output."""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Problem", "SpecLoadError", "SpecViolation", "short_repr"]

MAX_PROBLEMS_SHOWN = 5
MAX_REASON_CHARS = 300

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxdict = 4
_repr.maxlist = 4
_repr.maxlevel = 2


def short_repr(value: object) -> str:
    """``repr`` cut down so that a 40 kB invoice does not flood the test report."""
    return _repr.repr(value)


def _clip(text: str, limit: int = MAX_REASON_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One disagreement with the contract.

    :param location: where, as a JSON pointer into the message (``/body/items/0/price``,
        ``/query/limit``, ``/headers/x-fapi-interaction-id``, ``/status``) or an XML line and path.
    :param reason: what is wrong, in words.
    """

    location: str
    reason: str

    def __str__(self) -> str:
        return f"at {self.location or '/'}: {_clip(self.reason)}"


class SpecViolation(AssertionError):
    """A request or response disagrees with the vendor's specification.

    An :class:`AssertionError`, so pytest reports it like a failed ``assert``. The message names
    the contract, the operation, and the first few problems (location and reason), kept short.

    :ivar contract: which specification (title, version, file).
    :ivar operation: what was checked, e.g.
        ``GET /v1/customers/{customer} (GetCustomersCustomer) response 200``.
    :ivar problems: every problem found, not only those shown in the message.
    """

    def __init__(self, contract: str, operation: str, problems: Sequence[Problem]) -> None:
        self.contract = contract
        self.operation = operation
        self.problems = tuple(problems) or (Problem("", "unspecified violation"),)
        super().__init__(self._message())

    @property
    def location(self) -> str:
        """Location of the first problem."""
        return self.problems[0].location

    @property
    def reason(self) -> str:
        """Reason of the first problem."""
        return self.problems[0].reason

    def _message(self) -> str:
        lines = [f"{self.operation} violates {self.contract}:"]
        lines += [f"  {problem}" for problem in self.problems[:MAX_PROBLEMS_SHOWN]]
        hidden = len(self.problems) - MAX_PROBLEMS_SHOWN
        if hidden > 0:
            lines.append(f"  … and {hidden} more problem{'s' if hidden > 1 else ''}")
        return "\n".join(lines)


class SpecLoadError(RuntimeError):
    """A specification could not be loaded or compiled (not a violation by the message checked)."""
