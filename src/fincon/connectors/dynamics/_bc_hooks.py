"""What Business Central's server does on writes, as engine hooks (see ``WriteHooks``).

- properties BC computes are refused in writes (``BadRequest``): totals, line amounts,
  ``status``, ``lastModifiedDateTime``, balances;
- ``lastModifiedDateTime`` is stamped, numbers come from number series (``V10042``,
  ``PI100017``), a document's vendor or customer is completed from the one named
  (``vendorId`` or ``vendorNumber``), and new documents are drafts;
- a line's amounts are computed from quantity, price and tax code in its document's currency,
  and a document's totals from its lines, after every write to either;
- only drafts are deleted; ``Microsoft.NAV.post`` turns a draft into an open document.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from fincon.connectors.dynamics._bc_documents import DOCUMENTS, LINE_SETS, DocumentKind, line_amounts, totals
from fincon.connectors.dynamics._bc_seed import CUSTOMER_IDS, LOCAL_CURRENCY, VENDOR_IDS
from fincon.core.clock import Clock
from fincon.sandbox import Record
from fincon.sandbox.odata import ODataError, ODataService, WriteHooks

__all__ = ["BusinessCentralHooks"]

Entity = dict[str, Any]

_DOCUMENT_COMPUTED = frozenset(
    {"totalAmountExcludingTax", "totalTaxAmount", "totalAmountIncludingTax", "remainingAmount", "status"}
)
_LINE_COMPUTED = frozenset(
    {"amountExcludingTax", "taxPercent", "totalTaxAmount", "amountIncludingTax", "netAmount"}
    | {"netTaxAmount", "netAmountIncludingTax"}
)
#: Properties BC computes, by entity set (``lastModifiedDateTime`` everywhere).
READ_ONLY: dict[str, frozenset[str]] = {
    "vendors": frozenset({"balance"}),
    "customers": frozenset({"balanceDue"}),
    "vendorPayments": frozenset({"journalDisplayName", "appliesToInvoiceNumber"}),
    "customerPayments": frozenset({"journalDisplayName", "appliesToInvoiceNumber"}),
    **{name: _DOCUMENT_COMPUTED | {f"{kind.party}Name"} for name, kind in DOCUMENTS.items()},
    **{name: _LINE_COMPUTED for name in LINE_SETS},
}
_NUMBER_PREFIX = {"vendors": "V", "customers": "C"}


class BusinessCentralHooks(WriteHooks):
    """BC's server-side logic for the emulator's writes."""

    def __init__(self, clock: Clock, posted: list[tuple[str, str]]) -> None:
        self.clock = clock
        #: ``(entity set, id)`` of every document posted, in order.
        self.posted = posted

    # -- before storing ---------------------------------------------------------------------------

    def prepare(
        self,
        service: ODataService,
        entity_set: str,
        entity: Entity,
        current: Record[Entity] | None,
        sent: frozenset[str],
    ) -> Entity:
        refused = sorted(sent & (READ_ONLY.get(entity_set, frozenset()) | {"lastModifiedDateTime"}))
        if current is None and "id" in sent:
            refused.insert(0, "id")
        if refused:
            raise ODataError(400, "READ_ONLY", f"The property '{refused[0]}' is read-only", target=refused[0])
        entity = dict(entity)
        if "lastModifiedDateTime" in service.entity_set(entity_set).type.properties:
            entity["lastModifiedDateTime"] = self.clock.now()
        if current is None and entity_set in _NUMBER_PREFIX and not entity.get("number"):
            entity["number"] = (
                f"{_NUMBER_PREFIX[entity_set]}{self._next_index(service, entity_set) + 10000:05d}"
            )
        if entity_set in DOCUMENTS:
            self._document(service, DOCUMENTS[entity_set], entity, current)
        elif entity_set in LINE_SETS:
            self._line(service, LINE_SETS[entity_set], entity, current)
        elif entity_set in ("vendorPayments", "customerPayments"):
            if entity.get("amount") is None:
                raise ODataError(400, "REQUIRED", "amount is required", target="amount")
            entity.setdefault("postingDate", self.clock.now().date())
        return entity

    @staticmethod
    def _next_index(service: ODataService, entity_set: str) -> int:
        collection = service.store(entity_set).collection
        return collection.ids.parse(collection.next_id) or 0

    def _document(
        self, service: ODataService, kind: DocumentKind, entity: Entity, current: Record[Entity] | None
    ) -> None:
        party = kind.party
        found = self._party(service, party, entity.get(f"{party}Id"), entity.get(f"{party}Number"))
        if found is None:
            raise ODataError(
                400,
                "REQUIRED",
                f"{party}Id or {party}Number must name an existing {party}",
                target=f"{party}Id",
            )
        if f"{party}Id" in service.entity_set(kind.entity_set).type.properties:
            entity[f"{party}Id"] = found.data["id"]
        entity[f"{party}Number"] = found.data["number"]
        entity[f"{party}Name"] = found.data.get("displayName")
        for bill_to in ("payToVendorNumber", "billToCustomerNumber"):
            if bill_to in service.entity_set(kind.entity_set).type.properties and not entity.get(bill_to):
                entity[bill_to] = found.data["number"]
        if current is None:
            entity.setdefault("currencyCode", LOCAL_CURRENCY)
            entity["status"] = "Draft"
            index = self._next_index(service, kind.entity_set)
            entity.setdefault("number", f"{kind.number_prefix}{index + 100000:06d}")
            if "postingDate" in service.entity_set(kind.entity_set).type.properties:
                entity.setdefault("postingDate", entity.get("invoiceDate") or self.clock.now().date())
            if kind.totals:
                entity.update(totals([]))
                if kind.remaining:
                    entity["remainingAmount"] = Decimal(0)

    @staticmethod
    def _party(service: ODataService, party: str, party_id: Any, number: Any) -> Record[Entity] | None:
        store = service.store("vendors" if party == "vendor" else "customers")
        if party_id:
            return store.find((str(party_id),))
        if number:
            ids = VENDOR_IDS if party == "vendor" else CUSTOMER_IDS
            prefix = "V" if party == "vendor" else "C"
            text = str(number)
            # Seeded numbers follow the ids; created ones need a look.
            if text.startswith(prefix) and text[1:].isdigit():
                record = store.find((ids.format(int(text[1:]) - 10000),))
                if record is not None and record.data.get("number") == text:
                    return record
            found = store.matching({"number": text})
            return found[0] if found else None
        return None

    def _line(
        self, service: ODataService, kind: DocumentKind, entity: Entity, current: Record[Entity] | None
    ) -> None:
        document = service.store(kind.entity_set).find((str(entity.get("documentId") or ""),))
        if document is None:
            raise ODataError(400, "REQUIRED", "A line needs the document it belongs to", target="documentId")
        if current is None and entity.get("sequence") is None:
            siblings = service.store(kind.lines).matching({"documentId": document.data["id"]})
            last = max(((s.data.get("sequence") or 0) for s in siblings), default=0)
            entity["sequence"] = 10000 * (1 + last // 10000)
        if kind.price_key is not None:
            currency = str(document.data.get("currencyCode") or LOCAL_CURRENCY)
            entity["quantity"] = Decimal(entity.get("quantity") or 0)
            entity[kind.price_key] = Decimal(entity.get(kind.price_key) or 0)
            entity.update(line_amounts(entity, currency, kind.price_key))

    # -- after storing ----------------------------------------------------------------------------

    def written(self, service: ODataService, entity_set: str, record: Record[Entity]) -> None:
        if entity_set in DOCUMENTS:
            self._total(service, DOCUMENTS[entity_set], record)
        elif entity_set in LINE_SETS:
            self._total_of_line(service, LINE_SETS[entity_set], record)

    def deleting(self, service: ODataService, entity_set: str, record: Record[Entity]) -> None:
        if entity_set in DOCUMENTS and record.data.get("status") not in (None, "Draft"):
            raise ODataError(400, "NOT_A_DRAFT", f"Only draft {entity_set} can be deleted")
        if entity_set in LINE_SETS:
            self._draft_document(service, LINE_SETS[entity_set], record)

    def deleted(self, service: ODataService, entity_set: str, record: Record[Entity]) -> None:
        if entity_set in LINE_SETS:
            self._total_of_line(service, LINE_SETS[entity_set], record)

    def _draft_document(self, service: ODataService, kind: DocumentKind, line: Record[Entity]) -> None:
        document = service.store(kind.entity_set).find((str(line.data.get("documentId") or ""),))
        if document is not None and document.data.get("status") not in (None, "Draft"):
            raise ODataError(400, "NOT_A_DRAFT", "The lines of a posted document cannot be changed")

    def _total_of_line(self, service: ODataService, kind: DocumentKind, line: Record[Entity]) -> None:
        document = service.store(kind.entity_set).find((str(line.data.get("documentId") or ""),))
        if document is not None:
            self._total(service, kind, document)

    def _total(self, service: ODataService, kind: DocumentKind, document: Record[Entity]) -> None:
        if not kind.totals:
            return
        lines = service.store(kind.lines).matching({"documentId": document.data["id"]})
        computed: dict[str, Any] = totals(line.data for line in lines)
        if kind.remaining:
            paid = document.data.get("status") == "Paid"
            computed["remainingAmount"] = Decimal(0) if paid else computed["totalAmountIncludingTax"]
        if all(document.data.get(name) == value for name, value in computed.items()):
            return
        store = service.store(kind.entity_set)
        store.update(document, {**document.data, **computed, "lastModifiedDateTime": self.clock.now()})

    # -- Microsoft.NAV.post -----------------------------------------------------------------------

    def post_action(self) -> Callable[[ODataService, str, Record[Entity], Any], httpx.Response | None]:
        """The handler of ``Microsoft.NAV.post``: a draft becomes an open (posted) document."""

        def post(service: ODataService, entity_set: str, record: Record[Entity], body: Any) -> None:
            if record.data.get("status") != "Draft":
                raise ODataError(400, "ALREADY_POSTED", "The document is already posted")
            if not service.store(DOCUMENTS[entity_set].lines).matching({"documentId": record.data["id"]}):
                raise ODataError(
                    400, "NOTHING_TO_POST", "There is nothing to post: the document has no lines"
                )
            changed = {**record.data, "status": "Open", "lastModifiedDateTime": self.clock.now()}
            if "postingDate" in changed and changed["postingDate"] is None:
                changed["postingDate"] = self.clock.now().date()
            service.store(entity_set).update(record, changed)
            self.posted.append((entity_set, record.id))

        return post
