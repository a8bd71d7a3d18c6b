"""``connector.native`` for SAP: OData queries on any entity set of any service, open items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from fincon.core.flow import Flow
from fincon.core.responses import parse_json
from fincon.core.transport import Call
from fincon.protocols.odata import ODataVersion
from fincon.protocols.odata.envelope import unwrap_collection
from fincon.protocols.odata.paging import resolve_next_link

if TYPE_CHECKING:
    from fincon.connectors.sap.connector import SapConnector

__all__ = ["SapNative"]

ROOT = "/sap/opu/odata/sap"


class SapNative:
    """SAP extras: ``query(service, entity_set, params)`` pages through any entity set;
    ``open_items(supplier=...)`` reads uncleared items from ``API_OPLACCTGDOCITEMCUBE_SRV``."""

    def __init__(self, core: SapConnector, run: Callable[[Flow[Any]], Any]) -> None:
        self._core = core
        self._run = run

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """``sap-message`` warnings seen so far."""
        return self._core.warnings

    def _page(self, url: str, params: dict[str, str] | None) -> Flow[tuple[list[dict[str, Any]], str | None]]:
        requestor = self._core.requestor
        response = yield from requestor.call(Call("GET", url, params=params))
        page = unwrap_collection(parse_json(response, system="sap"), ODataVersion.V2, system="sap")
        link = None
        if page.next_link:
            link = resolve_next_link(page.next_link, response.request.url, requestor.origin, system="sap")
        return page.items, link

    def query(
        self, service: str, entity_set: str, params: dict[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Raw entities of ``ROOT/service/entity_set`` with OData ``params`` (``$filter``, ``$select``,
        ``$expand``, ...), following server-driven paging. Build ``params`` with
        :class:`fincon.protocols.odata.Query` for checked names."""
        url: str | None = f"{ROOT}/{service}/{entity_set}"
        query: dict[str, str] | None = {"$format": "json", **(params or {})}
        while url is not None:
            items, url = self._run(self._page(url, query))
            query = None
            yield from items

    def open_items(
        self, *, supplier: str | None = None, company_code: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Uncleared supplier items (``IsCleared eq false``), as SAP sends them."""
        clauses = ["IsCleared eq false", "FinancialAccountType eq 'K'"]
        if supplier:
            clauses.append("Supplier eq '" + supplier.replace("'", "''") + "'")
        if company_code:
            clauses.append("CompanyCode eq '" + company_code.replace("'", "''") + "'")
        return self.query(
            "API_OPLACCTGDOCITEMCUBE_SRV", "A_OperationalAcctgDocItemCube", {"$filter": " and ".join(clauses)}
        )
