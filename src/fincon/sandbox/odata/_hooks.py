"""Where a vendor emulator adds its server-side logic to the engine's writes and actions.

The engine checks a write against the metadata and stores it; what the vendor's server
computes (totals, document numbers, modification stamps), refuses (read-only properties,
deleting a posted document) or does in an action (``Microsoft.NAV.post``) is the emulator's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from fincon.sandbox._store import Record

if TYPE_CHECKING:
    from fincon.sandbox.odata._service import ODataService

__all__ = ["ActionHandler", "WriteHooks"]

Entity = dict[str, Any]

ActionHandler = Callable[["ODataService", str, Record[Entity], Any], "httpx.Response | None"]
"""A bound action: ``(service, entity set, the bound entity, the JSON body or None)``; its
answer, or None for ``204 No Content``. Raise :class:`ODataError` to refuse."""


class WriteHooks:
    """No-op hooks; subclass and set ``service.hooks``. Each may raise ``ODataError``.

    - :meth:`prepare`: the entity about to be stored (decoded, merged with the current one on
      update, the parent's referential values set on deep insert); return what to store.
    - :meth:`written`: after an entity and everything deep-inserted with it is stored (recompute
      aggregates such as a document's totals from its lines).
    - :meth:`deleting` / :meth:`deleted`: around a delete.
    """

    def prepare(
        self,
        service: ODataService,
        entity_set: str,
        entity: Entity,
        current: Record[Entity] | None,
        sent: frozenset[str],
    ) -> Entity:
        """``sent``: the properties the client wrote (so read-only ones can be refused)."""
        return entity

    def written(self, service: ODataService, entity_set: str, record: Record[Entity]) -> None:
        return None

    def deleting(self, service: ODataService, entity_set: str, record: Record[Entity]) -> None:
        return None

    def deleted(self, service: ODataService, entity_set: str, record: Record[Entity]) -> None:
        return None
