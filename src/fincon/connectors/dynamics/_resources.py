"""Resource handlers over Dynamics 365 entity sets, on the shared OData layer.

:class:`DynamicsResource` is an :class:`~fincon.protocols.odata.ODataResource` (V4, server-driven
paging with ``Prefer: odata.maxpagesize``, ETags, ``IEEE754Compatible``) with what Dynamics adds:

- Business Central entity sets live under ``companies({id})``; a company given by name is
  looked up once before the first call (:meth:`DynamicsResource.prepare`);
- Finance and Operations keys are natural keys scoped by ``dataAreaId``, reads send
  ``cross-company=true``, writes carry ``dataAreaId``;
- creates cannot carry idempotency keys: after an ambiguous failure the record is looked up
  by the fields sent (:meth:`DynamicsResource.find_created`), so a create is applied once;
- updates send the ETag last read (or read it first); a 412 after a retried update is
  accepted only when the record already holds the new values.

:class:`GeneralLedgerEntries` groups posted G/L entries into one journal entry per document.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from fincon.connectors.dynamics.mapping import writable
from fincon.core.flow import Flow
from fincon.core.pagination import State
from fincon.core.resources import ListQuery
from fincon.core.responses import parse_json
from fincon.core.transport import AuditInfo, Call
from fincon.errors import Conflict, FinconError, NotFound, ValidationError
from fincon.protocols.odata import F, ODataVersion, Query, decode, unwrap_collection, unwrap_entity
from fincon.protocols.odata.query import Expr

if TYPE_CHECKING:
    from fincon.connectors.dynamics.connector import DynamicsConnector

from fincon.protocols.odata.resource import ODataResource

__all__ = ["DynamicsResource", "GeneralLedgerEntries"]

#: How far before our request a recovered create may have been stamped (server clock skew).
_CLOCK_SKEW = timedelta(minutes=5)
#: Resources whose Business Central payloads carry no currency: mapping needs the local one.
_LOCAL_CURRENCY_RESOURCES = frozenset({"bill_payment", "payment", "journal_entry"})


class DynamicsResource(ODataResource[Any]):
    """CRUD on one Dynamics 365 entity set (``vendors``, ``VendorsV2``, ...)."""

    version = ODataVersion.V4
    paging = "server"
    idempotent_updates = True  # same values twice change nothing more; ETags guard the rest
    key_types: ClassVar[Mapping[str, str]] = {"id": "Edm.Guid"}
    updated_field: ClassVar[str | None] = "lastModifiedDateTime"
    updated_field_type: ClassVar[str | None] = "Edm.DateTimeOffset"
    #: Navigation property holding a document's lines (expanded on every read).
    lines: ClassVar[str | None] = None
    #: Properties compared to find a create whose answer was lost.
    match_fields: ClassVar[tuple[str, ...]] = ()
    #: The natural key property (F&O); None for BC's GUID ``id``.
    natural_key: ClassVar[str | None] = None
    #: Whether the entity belongs to a company (BC company / F&O legal entity).
    company_scoped: ClassVar[bool] = True

    def __init__(self, core: DynamicsConnector) -> None:
        super().__init__(core)
        self.dynamics = core
        self.mapper = core.mapper_for(self.name)

    @property
    def business_central(self) -> bool:
        return self.dynamics.flavor == "business_central"

    @property
    def legal_entity_scoped(self) -> bool:
        """F&O entities keyed and filtered by ``dataAreaId``."""
        return self.natural_key is not None and self.company_scoped

    # -- hooks of the shared resource ---------------------------------------------------------

    def prepare(self, operation: str) -> Flow[None]:
        if not self.business_central:
            return
        if self.company_scoped:
            yield from self.dynamics.company_id_flow()
        if self.name in _LOCAL_CURRENCY_RESOURCES:
            yield from self.dynamics.local_currency_flow()

    def collection_path(self) -> str:
        if self.business_central and self.company_scoped:
            return f"/companies({self.dynamics.company_id})/{self.entity_set}"
        return f"/{self.entity_set}"

    def key_values(self, id: str) -> dict[str, Any]:
        if self.legal_entity_scoped:
            return {"dataAreaId": self.dynamics.company, str(self.natural_key): id}
        return {self.key_fields[0]: id}

    def request_headers(self, operation: str) -> dict[str, str]:
        headers = super().request_headers(operation)
        headers["Accept"] = self.dynamics.accept
        if "Content-Type" in headers:
            headers["Content-Type"] = self.dynamics.content_type
        return headers

    def _scoped(self, query: Query) -> Query:
        if not self.legal_entity_scoped:
            return query
        return query.filter(F("dataAreaId") == self.dynamics.company).option("cross-company", "true")

    def list_query(self, query: ListQuery) -> Query:
        return self._scoped(super().list_query(query))

    def read_query(self) -> Query:
        return self._scoped(super().read_query())

    def if_match(self, path: str, id: str) -> Flow[str]:
        if self.dynamics.concurrency == "last_write_wins":
            return "*"
        known = self.etags.recall(path)
        if known is not None:
            return known
        # Never "*" by default: read the ETag so a change made since is a Conflict.
        current = yield from self.entity_flow(id)
        return self.etags.recall(path) or str(current.get("@odata.etag") or "*")

    def create_payload(self, record: Any) -> dict[str, Any]:
        body = writable(super().create_payload(record), self.entity_set)
        if self.natural_key is not None:
            body.pop("lastModifiedDateTime", None)
            body.pop("ModifiedDateTime", None)
            if self.company_scoped:
                body["dataAreaId"] = self.dynamics.company
        return body

    # -- writes -------------------------------------------------------------------------------

    def create(self, record: Any, idempotency_key: str | None) -> Flow[Any]:
        yield from self.prepare("create")
        body = self.create_payload(record)
        path = self.collection_path()
        since = self.dynamics.clock.now() - _CLOCK_SKEW
        recovered: list[dict[str, Any]] = []

        def prove_not_applied(error: FinconError) -> Flow[bool]:
            # OData has no idempotency keys: after an ambiguous failure, look for the record.
            matches = yield from self.find_created(body, since)
            if len(matches) == 1:
                recovered.append(matches[0])
                return False
            return not matches

        total = getattr(record, "total", None) or getattr(record, "amount", None)
        audit = AuditInfo(
            "create",
            self.name,
            amount=getattr(total, "amount", None),
            currency=getattr(total, "currency", None),
        )
        expand = Query(self.version).expand(*self.expand) if self.expand else Query(self.version)
        try:
            response = yield from self.requestor.call(
                Call(
                    "POST",
                    self._with_query(path, expand),
                    json=body,
                    headers=self.request_headers("create"),
                    audit=audit,
                    prove_not_applied=prove_not_applied if self.match_fields else None,
                )
            )
        except FinconError:
            if recovered:
                return self._map([recovered[0]])[0]
            raise
        entity = unwrap_entity(parse_json(response, system=self.system), self.version, system=self.system)
        created = self._map([entity])[0]
        if self.lines and not getattr(created, "lines", None) and getattr(record, "lines", None):
            return (yield from self.get(str(created.id)))
        return created

    def find_created(self, body: Mapping[str, Any], since: Any) -> Flow[list[dict[str, Any]]]:
        """Stored entities holding every scalar of ``body`` (modified since ``since``)."""
        terms: list[Expr] = [
            F(name, self.property_types.get(name)) == self._typed(name, body[name])
            for name in self.match_fields
            if body.get(name) not in (None, "")
        ]
        if not terms:
            return []
        if self.updated_field is not None:
            terms.append(F(self.updated_field, self.updated_field_type) >= since)
        query = self._scoped(Query(self.version, system=self.system).filter(*terms))
        if self.expand:
            query = query.expand(*self.expand)
        response = yield from self.requestor.call(
            Call("GET", self._with_query(self.collection_path(), query), headers=self.request_headers("list"))
        )
        found = unwrap_collection(parse_json(response, system=self.system), self.version, system=self.system)
        scalars = {k: v for k, v in body.items() if not isinstance(v, (list, dict)) and v is not None}
        return [
            entity
            for entity in found.items
            if all(str(entity.get(k)) == str(v) for k, v in scalars.items() if k in entity)
        ]

    def _typed(self, name: str, value: Any) -> Any:
        edm_type = self.property_types.get(name)
        if edm_type is None or not isinstance(value, str):
            return value
        return decode(edm_type, value, self.version, field=name, system=self.system)

    def update(self, id: str, changes: Mapping[str, Any], idempotency_key: str | None) -> Flow[Any]:
        try:
            return (yield from super().update(id, changes, idempotency_key))
        except Conflict:
            # A retry after a lost answer finds its own write: same values, new ETag.
            body = self.update_payload(changes)
            current = yield from self.entity_flow(id)
            if all(str(current.get(k)) == str(v) for k, v in body.items()):
                return self._map([current])[0]
            raise


class GeneralLedgerEntries(DynamicsResource):
    """Posted journal entries read from ``generalLedgerEntries``, one record per document.

    Entries of one document are consecutive; a document split by a page boundary is held
    back (inside the cursor) and completed from the next page.
    """

    name = "journal_entry"
    entity_set = "generalLedgerEntries"
    unsupported = frozenset({"create", "update", "delete"})
    filter_fields: ClassVar[Mapping[str, str]] = {
        "number": "documentNumber",
        "account_number": "accountNumber",
    }

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Any], State | None]]:
        carry = list((state or {}).get("carry") or [])
        link_state = {"next": state["next"]} if state and state.get("next") else None
        if state is not None and link_state is None:
            items: list[Any] = []
            next_state: State | None = None
        else:
            items, next_state = yield from self.fetch_entities(query, link_state)
        groups = _group_entries([*carry, *items])
        held: list[Any] = []
        if next_state is not None and groups:
            held = groups.pop()["entries"]
        records = self._map(groups)
        if next_state is None and not held:
            return records, None
        return records, {"next": (next_state or {}).get("next"), "carry": held}

    def get(self, id: str) -> Flow[Any]:
        posted, _, number = id.partition("/")
        try:
            posting_date = date.fromisoformat(posted)
        except ValueError:
            posting_date = None
        if posting_date is None or not number:
            raise ValidationError(
                "a Business Central journal entry id is '<postingDate>/<documentNumber>'",
                field="id",
                system=self.system,
            )
        yield from self.prepare("get")
        query = Query(self.version, system=self.system).filter(
            F("documentNumber") == number, F("postingDate") == posting_date
        )
        response = yield from self.requestor.call(
            Call(
                "GET",
                self._with_query(self.collection_path(), query),
                headers=self.request_headers("get"),
                audit=AuditInfo("read", self.name, record_id=id),
            )
        )
        page = unwrap_collection(parse_json(response, system=self.system), self.version, system=self.system)
        groups = _group_entries(page.items)
        if not groups:
            raise NotFound(f"no posted G/L entries for document {number} on {posted}", system=self.system)
        return self._map(groups[:1])[0]


def _group_entries(entries: list[Any]) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for entry in entries:
        key = (entry.get("documentNumber"), entry.get("postingDate"))
        if groups and (groups[-1]["documentNumber"], groups[-1]["postingDate"]) == key:
            groups[-1]["entries"].append(entry)
        else:
            groups.append({"documentNumber": key[0], "postingDate": key[1], "entries": [entry]})
    return groups
