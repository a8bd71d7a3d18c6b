"""``connector.native`` for Intacct: ``readByQuery``, ``readMore``, ``query``, ``inspect`` and raw functions.

Every method returns what ``run`` returns: the value for a sync connector, an awaitable for
an async one. Records come back as lxml elements (the system's own shape); map them with
``fincon.to_record("intacct", resource, element)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fincon.connectors.intacct import _functions as fn
from fincon.connectors.intacct._calls import DataPage, data_page
from fincon.core.flow import Flow
from fincon.core.transport import AuditInfo
from fincon.errors import ValidationError

if TYPE_CHECKING:
    from fincon.connectors.intacct.connector import IntacctConnector

__all__ = ["DataPage", "IntacctNative"]


class IntacctNative:
    """Intacct's own functions, bound to one connector."""

    def __init__(self, core: IntacctConnector, run: Callable[[Flow[Any]], Any]) -> None:
        self._core = core
        self._run = run

    def _page(self, body: Any, *, idempotent: bool = True) -> Flow[DataPage]:
        result = yield from self._core.calls.call(body, idempotent=idempotent, audit=AuditInfo("read"))
        return data_page(result)

    def read_by_query(
        self, object: str, query: str = "", *, fields: Sequence[str] | str = "*", page_size: int = 1000
    ) -> Any:
        """The first :class:`DataPage` of ``readByQuery`` (``query`` in Intacct's query language);
        continue with :meth:`read_more` and its ``result_id`` while ``remaining`` > 0."""
        return self._run(
            self._page(fn.read_by_query(object, query=query, fields=fields, page_size=page_size))
        )

    def read_more(self, result_id: str) -> Any:
        """The next :class:`DataPage` of a result set (sent once: it advances the server's position)."""
        if not isinstance(result_id, str) or not result_id:
            raise ValidationError("result_id is the resultId of a page", field="result_id", system="intacct")
        return self._run(self._page(fn.read_more(result_id), idempotent=False))

    def query(
        self,
        object: str,
        *,
        fields: Sequence[str] = ("*",),
        filter: Any = None,
        order_by: Sequence[tuple[str, bool]] = (),
        offset: int = 0,
        page_size: int = 1000,
    ) -> Any:
        """A :class:`DataPage` of ``query`` (``filter`` from :mod:`fincon.connectors.intacct.filters`)."""
        body = fn.query(
            object, fields=fields, filter=filter, order_by=order_by, offset=offset, page_size=page_size
        )
        return self._run(self._page(body))

    def inspect(self, object: str, *, detail: bool = False) -> Any:
        """The ``<data>`` element describing an object's fields."""
        return self._run(self._inspect(object, detail))

    def _inspect(self, object: str, detail: bool) -> Flow[Any]:
        result = yield from self._core.calls.call(fn.inspect(object, detail=detail), audit=AuditInfo("read"))
        return result.find("data")

    def call(self, function: Any, *, idempotent: bool = False) -> Any:
        """Send any function element (``<create>``, ``<readReport>``, ...); returns its ``<result>``.

        Writes are not resent after an ambiguous failure unless ``idempotent=True``.
        """
        if not hasattr(function, "tag"):
            raise ValidationError("function is an lxml element", field="function", system="intacct")
        return self._run(self._core.calls.call(function, idempotent=idempotent, audit=AuditInfo("request")))
