"""Pagination: reusable strategies, opaque resumable cursors, and a loop guard.

A strategy turns "where we are" (a small JSON-able *state*) into request parameters and
reads the next state from a page. The :class:`PageWalker` wraps states into opaque cursor
strings (resumable in a later process), detects cycles, and honours ``max_pages``, so
pagination always ends whatever the server sends.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from fincon.core.urls import require_same_origin
from fincon.errors import PaginationError, ValidationError

__all__ = [
    "CursorPagination",
    "NextLinkPagination",
    "OffsetPagination",
    "Page",
    "PageTokenPagination",
    "PageWalker",
    "PaginationStrategy",
    "ResultIdPagination",
    "decode_cursor",
    "encode_cursor",
]

R = TypeVar("R")
State = dict[str, Any]

_CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """One page of a listing: its records and the cursor that resumes after it (None at the end)."""

    items: Sequence[R]
    next_cursor: str | None

    def __len__(self) -> int:
        return len(self.items)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _checksum(body: Mapping[str, Any]) -> str:
    # Not a signature (there is no key to sign with): it catches a cursor that was edited,
    # truncated or mangled in transit, which would otherwise resume with a gap or a repeat.
    return hashlib.sha256(_canonical(body).encode()).hexdigest()[:16]


def encode_cursor(mechanism: str, state: State, fingerprint: str) -> str:
    """An opaque, URL-safe cursor naming the mechanism that made it."""
    body = json.loads(_canonical({"v": _CURSOR_VERSION, "m": mechanism, "s": state, "q": fingerprint}))
    payload = _canonical({**body, "h": _checksum(body)})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, system: str | None = None) -> tuple[str, State, str]:
    """Return ``(mechanism, state, fingerprint)`` or raise :class:`ValidationError`."""
    try:
        if not isinstance(cursor, str):
            raise TypeError("a cursor is a string")
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if (
            not isinstance(data, dict)
            or data.get("v") != _CURSOR_VERSION
            or not isinstance(data.get("s"), dict)
        ):
            raise ValueError("unknown cursor layout")
        found = data.pop("h", None)
        if found != _checksum(data):
            raise ValueError("cursor checksum mismatch")
        return str(data["m"]), data["s"], str(data.get("q", ""))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, KeyError, RecursionError) as exc:
        raise ValidationError(
            "cursor is not a fincon cursor (pass the next_cursor of a page unchanged)",
            field="cursor",
            system=system,
        ) from exc


def query_fingerprint(resource: str, query: Mapping[str, Any]) -> str:
    """A short digest of what a listing asked for, so a cursor can't resume a different listing."""
    text = json.dumps({"r": resource, **query}, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class PaginationStrategy(ABC):
    """How one family of APIs pages. Strategies are stateless and shared."""

    #: Recorded in cursors so a resumed listing knows how it was produced.
    mechanism: str = "abstract"

    @abstractmethod
    def params(self, state: State | None, page_size: int) -> dict[str, Any]:
        """Query parameters that fetch the page at ``state`` (``None``: the first page)."""

    @abstractmethod
    def next_state(self, state: State | None, body: Any, items: Sequence[Any]) -> State | None:
        """The state after this page, or ``None`` if it was the last."""


class CursorPagination(PaginationStrategy):
    """``starting_after=<last id>`` with a ``has_more`` flag (Stripe and its many imitators)."""

    mechanism = "starting_after"

    def __init__(
        self,
        *,
        cursor_param: str = "starting_after",
        limit_param: str = "limit",
        has_more_field: str = "has_more",
        id_field: str = "id",
    ) -> None:
        self.cursor_param = cursor_param
        self.limit_param = limit_param
        self.has_more_field = has_more_field
        self.id_field = id_field

    def params(self, state: State | None, page_size: int) -> dict[str, Any]:
        params: dict[str, Any] = {self.limit_param: page_size}
        if state is not None:
            params[self.cursor_param] = state["after"]
        return params

    def next_state(self, state: State | None, body: Any, items: Sequence[Any]) -> State | None:
        if not (isinstance(body, Mapping) and body.get(self.has_more_field)):
            return None
        if not items:
            raise PaginationError(f"the server said {self.has_more_field}=true on an empty page")
        last = items[-1]
        last_id = last.get(self.id_field) if isinstance(last, Mapping) else getattr(last, self.id_field, None)
        if last_id in (None, ""):
            raise PaginationError(f"the last record of a page has no {self.id_field!r} to continue after")
        return {"after": str(last_id)}


class NextLinkPagination(PaginationStrategy):
    """The server returns the URL of the next page (OData ``__next``/``@odata.nextLink``, HAL, ...).

    The link is followed only on the connector's origin (checked by :meth:`link_for`).
    """

    mechanism = "next_link"

    def __init__(self, *, link_path: Sequence[str] = ("@odata.nextLink",)) -> None:
        self.link_path = tuple(link_path)

    def params(self, state: State | None, page_size: int) -> dict[str, Any]:
        return {}

    def next_state(self, state: State | None, body: Any, items: Sequence[Any]) -> State | None:
        node: Any = body
        for key in self.link_path:
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
        if not node:
            return None
        return {"url": str(node)}

    @staticmethod
    def link_for(state: State, origin: httpx.URL, *, system: str | None = None) -> str:
        """The absolute next-page URL, refused if it leaves ``origin``."""
        return str(require_same_origin(str(state["url"]), origin, system=system))


class OffsetPagination(PaginationStrategy):
    """``offset`` + ``limit`` with a ``hasMore`` flag or a total count (or a short page as the end)."""

    mechanism = "offset"

    def __init__(
        self,
        *,
        offset_param: str = "offset",
        limit_param: str = "limit",
        has_more_field: str | None = "hasMore",
        total_field: str | None = None,
    ) -> None:
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.has_more_field = has_more_field
        self.total_field = total_field

    def params(self, state: State | None, page_size: int) -> dict[str, Any]:
        offset = int(state["offset"]) if state else 0
        return {self.offset_param: offset, self.limit_param: page_size}

    def next_state(self, state: State | None, body: Any, items: Sequence[Any]) -> State | None:
        offset = int(state["offset"]) if state else 0
        next_offset = offset + len(items)
        if not items:
            return None
        if isinstance(body, Mapping):
            if self.has_more_field and self.has_more_field in body:
                return {"offset": next_offset} if body[self.has_more_field] else None
            if self.total_field and self.total_field in body:
                return {"offset": next_offset} if next_offset < int(body[self.total_field]) else None
        return {"offset": next_offset}


class PageTokenPagination(PaginationStrategy):
    """An opaque ``nextPageToken`` sent back as ``pageToken`` (Google style, many bank APIs)."""

    mechanism = "page_token"

    def __init__(
        self,
        *,
        token_param: str = "pageToken",  # noqa: S107
        token_field: str = "nextPageToken",  # noqa: S107
        size_param: str = "pageSize",
    ) -> None:
        self.token_param = token_param
        self.token_field = token_field
        self.size_param = size_param

    def params(self, state: State | None, page_size: int) -> dict[str, Any]:
        params: dict[str, Any] = {self.size_param: page_size}
        if state is not None:
            params[self.token_param] = state["token"]
        return params

    def next_state(self, state: State | None, body: Any, items: Sequence[Any]) -> State | None:
        token = body.get(self.token_field) if isinstance(body, Mapping) else None
        return {"token": str(token)} if token else None


class ResultIdPagination(PaginationStrategy):
    """Server-held result sets continued by id until nothing remains (Intacct ``readMore``).

    The connector builds the continuation request itself (it is often a different call);
    the state is ``{"result_id": ..., "remaining": n}``.
    """

    mechanism = "result_id"

    def __init__(self, *, result_id_field: str = "resultId", remaining_field: str = "numremaining") -> None:
        self.result_id_field = result_id_field
        self.remaining_field = remaining_field

    def params(self, state: State | None, page_size: int) -> dict[str, Any]:
        return {}

    def next_state(self, state: State | None, body: Any, items: Sequence[Any]) -> State | None:
        if not isinstance(body, Mapping):
            return None
        remaining = int(body.get(self.remaining_field) or 0)
        result_id = body.get(self.result_id_field)
        if remaining <= 0 or not result_id:
            return None
        return {"result_id": str(result_id), "remaining": remaining}


class PageWalker:
    """Guards one listing: resumes from a cursor, detects cycles, stops at ``max_pages``."""

    def __init__(
        self,
        *,
        mechanism: str,
        fingerprint: str,
        cursor: str | None = None,
        max_pages: int | None = None,
        system: str | None = None,
    ) -> None:
        if max_pages is not None and max_pages < 1:
            raise ValidationError("max_pages must be at least 1", field="max_pages", system=system)
        self.mechanism = mechanism
        self.fingerprint = fingerprint
        self.max_pages = max_pages
        self.system = system
        self.pages = 0
        # Digests of every state seen; a million records at 100 a page is 10,000 small strings.
        self._seen: set[str] = set()
        self.state: State | None = None
        if cursor is not None:
            found_mechanism, state, found_fingerprint = decode_cursor(cursor, system=system)
            if found_mechanism != mechanism:
                raise ValidationError(
                    f"cursor was made by {found_mechanism!r} paging, but this listing pages by {mechanism!r}",
                    field="cursor",
                    system=system,
                )
            if found_fingerprint != fingerprint:
                raise ValidationError(
                    "cursor belongs to a listing with other filters; resume with the same "
                    "resource, updated_since and filters it was made with",
                    field="cursor",
                    system=system,
                )
            self.state = state
            self._seen.add(self._digest(state))

    @staticmethod
    def _digest(state: State) -> str:
        return json.dumps(state, sort_keys=True, default=str, separators=(",", ":"))

    @property
    def finished(self) -> bool:
        return self.max_pages is not None and self.pages >= self.max_pages

    def advance(self, next_state: State | None) -> str | None:
        """Record a fetched page; return the cursor resuming after it (None at the end)."""
        self.pages += 1
        if next_state is None:
            self.state = None
            return None
        digest = self._digest(next_state)
        if digest in self._seen:
            raise PaginationError(
                f"the server's paging went round in a cycle after {self.pages} pages "
                f"({self.mechanism} state repeated); stopping instead of looping forever",
                system=self.system,
            )
        self._seen.add(digest)
        self.state = next_state
        return encode_cursor(self.mechanism, next_state, self.fingerprint)
