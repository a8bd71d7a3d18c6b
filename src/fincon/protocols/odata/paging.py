"""How an OData listing pages: server-driven next-links, client ``$top``/``$skip``, or both.

:class:`ODataPaging` is a :class:`fincon.core.pagination.PaginationStrategy` whose state is
small JSON (so cursors resume in a later process):

- ``{"next": url}``: follow the server's next-link (V2 ``__next``, V4 ``@odata.nextLink``);
- ``{"skip": n, "top": size, "got": k}``: client paging, the window ``$skip=n&$top=size``,
  ``k`` entities of which were already received through next-links inside the window;
- ``{"skip": n, "top": size, "got": k, "next": url}``: a next-link inside a window.

Modes:

- ``"auto"`` (default): ask for windows with ``$top``/``$skip`` (bounded memory even when the
  server does not page) and follow next-links inside a window (servers that cap ``$top``).
  A window that returns fewer than ``$top`` entities and no next-link ends the listing;
- ``"server"``: never send ``$top``; follow next-links only (V4 services with
  ``Prefer: odata.maxpagesize``). A server that does not page answers in one page.

Next-links are resolved against the URL of the page that carried them and followed only on
the connector's origin. A cycle ends with :class:`~fincon.errors.PaginationError`: repeated
states are caught by :class:`~fincon.core.pagination.PageWalker`, and a window that yields
more than its ``$top`` (a next-link going round) is refused here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from fincon.core.pagination import PaginationStrategy, State
from fincon.core.urls import require_same_origin
from fincon.errors import PaginationError
from fincon.protocols.odata.envelope import ODataPage

__all__ = ["ODataPaging", "resolve_next_link"]

MODES = ("auto", "server")


def resolve_next_link(
    link: str, page_url: str | httpx.URL, origin: httpx.URL, *, system: str | None = None
) -> str:
    """The absolute URL of ``link`` (relative to the page that sent it), refused off ``origin``.

    :raises PaginationError: when the link leads to another scheme, host or port.
    """
    absolute = httpx.URL(str(page_url)).join(link)
    return str(require_same_origin(str(absolute), origin, system=system))


class ODataPaging(PaginationStrategy):
    """Server-driven paging with a client-paging fallback (see the module docs)."""

    mechanism = "odata"

    def __init__(self, mode: str = "auto") -> None:
        if mode not in MODES:
            raise ValueError(f"paging mode must be one of {MODES}, not {mode!r}")
        self.mode = mode

    def follows_link(self, state: State | None) -> bool:
        """Whether the page at ``state`` is fetched from a next-link."""
        return bool(state and state.get("next"))

    def params(self, state: State | None, page_size: int) -> dict[str, Any]:
        """``$top``/``$skip`` for a new window (nothing when following a next-link or in server mode)."""
        if self.follows_link(state) or self.mode == "server":
            return {}
        skip = int(state["skip"]) if state else 0
        params: dict[str, Any] = {"$top": str(page_size)}
        if skip:
            params["$skip"] = str(skip)
        return params

    def window_size(self, state: State | None, page_size: int) -> int:
        """The ``$top`` of the window the page at ``state`` belongs to."""
        if state and "top" in state:
            return int(state["top"])
        return page_size

    def next_state(self, state: State | None, body: Any, items: Sequence[Any]) -> State | None:
        """The state after ``body`` (an :class:`ODataPage` whose ``next_link`` is already absolute)."""
        page: ODataPage = body
        return self.after(state, page, page_size=len(items), absolute_next=page.next_link)

    def after(
        self,
        state: State | None,
        page: ODataPage,
        *,
        page_size: int,
        absolute_next: str | None,
        system: str | None = None,
    ) -> State | None:
        """The state after ``page``, fetched at ``state`` with the listing's ``page_size``.

        ``absolute_next`` is the page's next-link resolved by :func:`resolve_next_link`.
        """
        if self.mode == "server":
            return {"next": absolute_next} if absolute_next else None
        skip = int(state["skip"]) if state else 0
        top = self.window_size(state, page_size)
        got = (int(state.get("got", 0)) if state else 0) + len(page.items)
        if got > top:
            raise PaginationError(
                f"the server sent {got} entities for a $top={top} window; its next-links go round "
                "or it ignores $top, so the listing stops instead of repeating records",
                system=system,
            )
        if absolute_next:
            return {"skip": skip, "top": top, "got": got, "next": absolute_next}
        if got < top:
            return None  # a short window: the collection is exhausted
        return {"skip": skip + got, "top": page_size, "got": 0}
