"""The Sage Intacct connector (XML Web Services API 3.0).

- session login with ``getAPISession`` (:class:`~fincon.connectors.intacct._auth.IntacctSession`),
  or an existing ``session_id``; ``entity_id`` opens the session in one entity;
- every call is one ``<function>`` with a fresh ``controlid`` in a request with a fresh control id;
- listings page with ``readByQuery`` + ``readMore`` (``resultId``, up to 1,000 a page), or with
  ``query`` ordered by ``RECORDNO`` (up to 2,000 a page) for ``updated_since`` reads on
  ``WHENMODIFIED``, each page after the last ``RECORDNO`` seen (never an offset, which skips or
  repeats records deleted or inserted between pages); cursors name the mechanism that made
  them (``{"via": "readMore" | "query", ...}``);
- ``readMore`` consumes server state, so it is never resent blindly: after a lost answer the
  listing continues with ``query`` after the last ``RECORDNO`` seen, which repeats safely;
- creates have no idempotency key: after a lost answer the record is looked up by its unique
  field, and the create is resent only when the lookup shows it was not applied (when it was,
  the stored record is returned).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr

from fincon.auth._base import AuthStrategy
from fincon.connectors.intacct import _functions as fn
from fincon.connectors.intacct import filters as F
from fincon.connectors.intacct._auth import IntacctSession
from fincon.connectors.intacct._calls import DataPage, FunctionCaller, data_page
from fincon.connectors.intacct._envelope import Login, Sender
from fincon.connectors.intacct._errors import intacct_error
from fincon.connectors.intacct._keys import record_key
from fincon.connectors.intacct._keyset import cursor_recordno, last_in_order, last_recordno
from fincon.connectors.intacct._result_sets import ResultSetPositions
from fincon.connectors.intacct._values import format_timestamp, parse_timestamp
from fincon.connectors.intacct._xml import element, text_of
from fincon.connectors.intacct.mapping import (
    MAPPERS,
    ObjectMapper,
)
from fincon.core.connector import ConnectorCore, ConnectorSettings, Identity
from fincon.core.flow import Flow
from fincon.core.mapping import iter_payloads, map_payloads
from fincon.core.pagination import State
from fincon.core.ratelimit import RateLimit
from fincon.core.resources import (
    FetchedPage,
    ListQuery,
    PrefetchMode,
    ResourceHandler,
    prefetch_with_a_spare_cpu,
)
from fincon.core.transport import AuditInfo
from fincon.errors import (
    ConfigError,
    Conflict,
    FinconError,
    NotFound,
    PaginationError,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = ["IntacctConnector", "IntacctResource", "IntacctSettings"]

SYSTEM = "intacct"
#: How many records a lookup after a lost create reads (more than that match: a Conflict).
LOOKUP_PAGE = 100
#: How far the server's clock may be behind ours: records created within this much before a
#: create started may still be the one it made (so they count as candidates).
CLOCK_SKEW = timedelta(minutes=10)


class IntacctSettings(ConnectorSettings):
    """Settings of ``fincon.connect("intacct", ...)``."""

    sender_id: str | None = Field(None, description="The Web Services sender id.")
    sender_password: SecretStr | None = Field(None, description="The Web Services sender password.")
    company_id: str | None = Field(None, description="The company id to log in to.")
    user_id: str | None = Field(None, description="The Web Services user.")
    user_password: SecretStr | None = Field(None, description="The user's password.")
    entity_id: str | None = Field(None, description="An entity (locationid) of a multi-entity company.")
    session_id: SecretStr | None = Field(None, description="An existing API session to use.")
    session_endpoint: str | None = Field(None, description="The endpoint URL that session belongs to.")


def _ambiguous(error: FinconError) -> bool:
    """A failure after which the server may or may not have acted on the request."""
    if isinstance(error, TransportError):
        return error.maybe_sent
    return isinstance(error, ServerError) and error.status is not None and error.status >= 500


class IntacctResource(ResourceHandler[Any]):
    """One Intacct object as a canonical resource: list, get, and (where mapped) create/update."""

    mechanism = "intacct"
    default_page_size = 1000
    max_page_size = fn.MAX_QUERY_PAGE
    mapper: ClassVar[ObjectMapper]
    #: The object listing this resource's lines, and the line field naming the parent's RECORDNO.
    line_object: ClassVar[str | None] = None
    line_parent_field: ClassVar[str] = "RECORDKEY"
    #: ``docparid`` for document objects (PODOCUMENT).
    docparid: ClassVar[str | None] = None
    #: How a create is looked up after a lost answer: fields of the payload to match on.
    unique_fields: ClassVar[tuple[str, ...]] = ()
    #: The timestamp the server sets when it creates a record (``MM/DD/YYYY HH:MM:SS``, GMT):
    #: after a lost create, records created before the call are not the one it made.
    created_field: ClassVar[str | None] = None
    unsupported = frozenset({"create", "update", "delete"})
    #: The next page's state (``resultId`` or offset) is known as soon as a page's XML has
    #: arrived, so the next page is fetched while this one is mapped: from the first page
    #: where the process has a second CPU (the page's XML is parsed outside the GIL, so the
    #: parse overlaps the mapping even when the gateway answers at once), else once pages
    #: keep the listing waiting (``list(prefetch=True/False)`` decides for one listing).
    #: readMore stays safe: see ``_result_sets``.
    prefetch: PrefetchMode = prefetch_with_a_spare_cpu()

    def __init__(self, core: IntacctConnector) -> None:
        self.core = core
        self.system = core.system
        self.calls = core.calls

    @property
    def object(self) -> str:
        return self.mapper.object

    # -- listing ------------------------------------------------------------------------
    #
    # A page is fetched (requests, XML parsed, lines attached, next state known) by
    # ``_fetch`` and mapped to records by ``_map``: the split a prefetching listing uses to
    # map one page while the next one travels.

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Any], State | None]]:
        records, next_state = yield from self._fetch(query, state)
        return self._map(records), next_state

    def fetch_page(self, query: ListQuery, state: State | None) -> Flow[FetchedPage]:
        records, next_state = yield from self._fetch(query, state)
        return FetchedPage(records, next_state)

    def map_page(self, query: ListQuery, page: FetchedPage) -> list[Any]:
        return self._map(list(page.items))

    def iter_page(self, query: ListQuery, page: FetchedPage) -> Iterator[Any]:
        return iter_payloads(self.mapper, page.items, system=self.system, resource=self.name)

    def _map(self, records: list[Any]) -> list[Any]:
        return map_payloads(self.mapper, records, system=self.system, resource=self.name)

    def _fetch(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Any], State | None]]:
        """The record elements of the page at ``state`` (lines attached) and the next state."""
        if state is None:
            if query.updated_since is not None or query.page_size > fn.MAX_READ_BY_QUERY_PAGE:
                return (yield from self._query(query, after=None))
            return (yield from self._read_by_query(query))
        if state.get("via") == "readMore":
            return (yield from self._read_more(query, state))
        if "after" in state:
            return (yield from self._query(query, after=cursor_recordno(state["after"])))
        # A cursor made before listings continued by RECORDNO: its offset is still honoured.
        return (yield from self._query(query, after=None, offset=int(state.get("offset", 0))))

    def _read_by_query(self, query: ListQuery) -> Flow[tuple[list[Any], State | None]]:
        body = fn.read_by_query(self.object, page_size=query.page_size)
        if self.docparid:
            body.append(element("docparid", self.docparid))
        result = yield from self.calls.call(body, audit=AuditInfo("read", self.name))
        page = data_page(result)
        next_state = self._read_more_state(page, 0, last_in_order(page.recordnos, 0))
        return (yield from self._with_lines(page, next_state))

    def _read_more_state(self, page: DataPage, position: int, after: int | None) -> State | None:
        """The state after a readByQuery/readMore page; ``after`` is its last RECORDNO when
        the result set has come in RECORDNO order (None when not: see ``_keyset``)."""
        if page.remaining <= 0:
            return None
        if not page.result_id:
            raise ServerError(
                f"Intacct said {page.remaining} records remain but gave no resultId", system=self.system
            )
        total = page.total if page.total is not None else position + page.count + page.remaining
        # The server now stands after this page: the next readMore of this listing may be sent.
        self.core.result_sets.record(page.result_id, position + page.count)
        return {
            "via": "readMore",
            "result_id": page.result_id,
            "total": total,
            "remaining": page.remaining,
            "after": after,
        }

    def _read_more(self, query: ListQuery, state: State) -> Flow[tuple[list[Any], State | None]]:
        position = int(state["total"]) - int(state["remaining"])
        if not self.core.result_sets.claim(str(state["result_id"]), position):
            # The server may stand elsewhere (a cursor from another process, or older than a
            # page already fetched ahead): query after the last RECORDNO repeats safely.
            return (yield from self._query_instead_of_read_more(query, state, position))
        try:
            # readMore advances the server's result set: sending it twice could skip a page.
            result = yield from self.calls.call(
                fn.read_more(str(state["result_id"])), idempotent=False, audit=AuditInfo("read", self.name)
            )
        except FinconError as error:
            if _ambiguous(error) or error.retryable or error.status == 200:
                # Lost, refused or expired: continue with query, which repeats safely.
                return (yield from self._query_instead_of_read_more(query, state, position))
            raise
        page = data_page(result)
        if page.remaining >= int(state["remaining"]):
            # No progress: the server went back in its result set (its pages would repeat).
            raise PaginationError(
                f"Intacct's readMore for {self.object} left numremaining at {page.remaining} "
                f"(was {state['remaining']}): a cursor cycle",
                system=self.system,
            )
        previous = state.get("after", 0)  # a cursor without "after" predates the check
        after = last_in_order(page.recordnos, None if previous is None else cursor_recordno(previous))
        next_state = self._read_more_state(page, position, after)
        if next_state is not None:
            next_state["total"] = state["total"]
        return (yield from self._with_lines(page, next_state))

    def _query_instead_of_read_more(
        self, query: ListQuery, state: State, position: int
    ) -> Flow[tuple[list[Any], State | None]]:
        """Continue a readMore listing with ``query`` after its last RECORDNO."""
        if "after" not in state:
            # A cursor made before listings continued by RECORDNO: at its offset, as then.
            return (yield from self._query(query, after=None, offset=position))
        if state["after"] is None:
            raise PaginationError(
                f"this {self.object} result set did not come in RECORDNO order, so it cannot be "
                "continued without readMore; start the listing again",
                system=self.system,
            )
        return (yield from self._query(query, after=cursor_recordno(state["after"])))

    def _query(
        self, query: ListQuery, *, after: int | None, offset: int = 0
    ) -> Flow[tuple[list[Any], State | None]]:
        """A page of ``query`` ordered by RECORDNO, after the RECORDNO ``after`` (or at a legacy offset)."""
        conditions = []
        if query.updated_since is not None:
            conditions.append(F.greater_or_equal("WHENMODIFIED", format_timestamp(query.updated_since)))
        if after is not None:
            conditions.append(F.greater_than("RECORDNO", after))
        where = None if not conditions else conditions[0] if len(conditions) == 1 else F.and_(*conditions)
        body = fn.query(
            self.object,
            filter=where,
            order_by=[("RECORDNO", True)],
            offset=offset,
            page_size=query.page_size,
        )
        if self.docparid:
            body.append(element("docparid", self.docparid))
        result = yield from self.calls.call(body, audit=AuditInfo("read", self.name))
        page = data_page(result)
        last = last_recordno(page.recordnos, after, object=self.object)
        if page.remaining > 0 and last is None:
            raise ServerError("Intacct sent an empty page with records remaining", system=self.system)
        next_state = {"via": "query", "after": last} if page.remaining > 0 else None
        return (yield from self._with_lines(page, next_state))

    def _with_lines(self, page: DataPage, next_state: State | None) -> Flow[tuple[list[Any], State | None]]:
        records = page.records
        if self.line_object is not None and records:
            yield from self._attach_lines(records)
        return records, next_state

    def _attach_lines(self, records: list[Any]) -> Flow[None]:
        """Fetch the lines of a page's documents (one ``query`` on the line object) and attach them."""
        container = self.mapper.lines_container or "LINES"
        by_key: dict[str, Any] = {}
        for record in records:
            key = text_of(record, "RECORDNO")
            if not key:
                raise ServerError(f"an Intacct {self.object} came without RECORDNO", system=self.system)
            inlined = record.find(container)
            if inlined is not None:
                # The line query is the one source of lines: lines the server also inlined
                # would otherwise be counted twice.
                record.remove(inlined)
            holder = element(container)
            record.append(holder)
            by_key[key] = holder
        offset = 0
        keys = list(by_key)
        while True:
            body = fn.query(
                self.line_object or "",
                filter=F.in_(self.line_parent_field, keys),
                order_by=[("RECORDNO", True)],
                offset=offset,
                page_size=fn.MAX_QUERY_PAGE,
            )
            result = yield from self.calls.call(body, audit=AuditInfo("read", self.name))
            page = data_page(result)
            for line in page.records:
                parent = text_of(line, self.line_parent_field)
                if parent not in by_key:
                    raise ServerError(
                        f"Intacct sent a {self.line_object} of {self.object} {parent!r}, not asked for",
                        system=self.system,
                    )
                by_key[parent].append(line)
            offset += page.count
            if page.remaining <= 0 or page.count == 0:
                return

    # -- single records -----------------------------------------------------------------

    def get(self, id: str) -> Flow[Any]:
        key_field = self.mapper.name_key or "RECORDNO"
        record_key(id, key_field, system=self.system)
        by_name = self.mapper.name_key is not None
        body = fn.read_by_name(self.object, [id]) if by_name else fn.read(self.object, [id])
        if self.docparid:
            body.append(element("docparid", self.docparid))
        result = yield from self.calls.call(body, audit=AuditInfo("read", self.name, record_id=id))
        page = data_page(result)
        # Only the record asked for, never another one the server matched.
        records = [record for record in page.records if text_of(record, key_field) == id]
        if not records:
            raise NotFound(f"no Intacct {self.object} {id!r}", system=self.system)
        return map_payloads(self.mapper, records[:1], system=self.system, resource=self.name)[0]

    def _lookup(self, payload: Any, started: datetime) -> Flow[str | None]:
        """The key of the one stored record matching ``payload`` on :attr:`unique_fields`, or None.

        Records created before ``started`` (less :data:`CLOCK_SKEW`) are not the lost create's;
        if more than one candidate remains, which one the create made cannot be told:
        :class:`Conflict`, and nothing is resent.
        """
        conditions = [F.equal_to(name, text_of(payload, name)) for name in self.unique_fields]
        where = conditions[0] if len(conditions) == 1 else F.and_(*conditions)
        key = self.mapper.name_key or "RECORDNO"
        fields = (key,) if self.created_field is None else (key, self.created_field)
        body = fn.query(
            self.object, fields=fields, filter=where, order_by=[("RECORDNO", True)], page_size=LOOKUP_PAGE
        )
        result = yield from self.calls.call(body, audit=AuditInfo("read", self.name))
        page = data_page(result)
        candidates = page.records
        if self.created_field is not None:
            since = started - CLOCK_SKEW
            candidates = [record for record in candidates if not self._created_before(record, since)]
        if len(candidates) > 1 or page.remaining > 0:
            matched = ", ".join(f"{name}={text_of(payload, name)!r}" for name in self.unique_fields)
            raise Conflict(
                f"a {self.object} create may have been applied, but {len(candidates)} or more records "
                f"match {matched}: not resent, check which one it made",
                system=self.system,
                details={"fields": list(self.unique_fields)},
            )
        return text_of(candidates[0], key) if candidates else None

    def _created_before(self, record: Any, since: datetime) -> bool:
        """Whether ``record`` provably existed before ``since`` (no timestamp: it may be new)."""
        created = parse_timestamp(text_of(record, self.created_field or ""), self.created_field or "")
        return created is not None and created < since

    def _create(self, payload: Any, audit: AuditInfo) -> Flow[Any]:
        lookup_possible = all(text_of(payload, name) for name in self.unique_fields) and self.unique_fields
        found: list[str] = []
        started = self.core.clock.now()

        def prove_not_applied(error: FinconError) -> Flow[bool]:
            key = yield from self._lookup(payload, started)
            if key is not None:
                found.append(key)
            return key is None

        try:
            result = yield from self.calls.call(
                fn.create(payload),
                idempotent=False,
                audit=audit,
                prove_not_applied=prove_not_applied if lookup_possible else None,
            )
        except FinconError:
            if found:
                # The create was applied and only its answer was lost: return what is stored.
                return (yield from self.get(found[-1]))
            raise
        page = data_page(result)
        if not page.records:
            raise ServerError(f"Intacct created a {self.object} but returned no key", system=self.system)
        key_field = self.mapper.name_key or "RECORDNO"
        key = text_of(page.records[0], key_field) or text_of(page.records[0], "RECORDNO")
        if not key:
            raise ServerError(
                f"Intacct created a {self.object} but returned no {key_field}", system=self.system
            )
        return (yield from self.get(key))


class _WritableParty(IntacctResource):
    unsupported = frozenset()

    def create(self, record: Any, idempotency_key: str | None) -> Flow[Any]:
        payload = self.mapper.to_payload(record)
        return (yield from self._create(payload, AuditInfo("create", self.name, record_id=record.id)))

    def update(self, id: str, changes: Mapping[str, Any], idempotency_key: str | None) -> Flow[Any]:
        record_key(id, self.mapper.name_key or "RECORDNO", system=self.system)
        payload = self.mapper.changes_payload(changes)
        payload.insert(0, element(self.mapper.name_key or "RECORDNO", id))
        # Setting fields to given values twice leaves the same record: safe to resend.
        yield from self.calls.call(
            fn.update(payload), idempotent=True, audit=AuditInfo("update", self.name, record_id=id)
        )
        return (yield from self.get(id))

    def delete(self, id: str) -> Flow[None]:
        """``delete`` by ``RECORDNO`` (looked up by the business key first)."""
        recordno = yield from self._recordno_of(id)
        if recordno is None:
            raise NotFound(f"no Intacct {self.object} {id!r}", system=self.system)
        gone: list[bool] = []

        def prove_not_applied(error: FinconError) -> Flow[bool]:
            still_there = (yield from self._recordno_of(id)) == recordno
            if not still_there:
                gone.append(True)
            return still_there

        try:
            yield from self.calls.call(
                fn.delete(self.object, [recordno]),
                idempotent=False,
                audit=AuditInfo("delete", self.name, record_id=id),
                prove_not_applied=prove_not_applied,
            )
        except FinconError:
            if gone:
                return None  # the delete was applied and only its answer was lost
            raise
        return None

    def _recordno_of(self, id: str) -> Flow[str | None]:
        """The ``RECORDNO`` of the record whose business key is ``id``, or None."""
        key_field = self.mapper.name_key or "RECORDNO"
        record_key(id, key_field, system=self.system)
        body = fn.read_by_name(self.object, [id], fields=("RECORDNO", key_field))
        result = yield from self.calls.call(body, audit=AuditInfo("read", self.name, record_id=id))
        page = data_page(result)
        # Only the record asked for: deleting another one the server matched is the worst case.
        for record in page.records:
            if text_of(record, key_field) == id:
                return text_of(record, "RECORDNO") or None
        return None


class Vendors(_WritableParty):
    """``VENDOR``."""

    name = "vendor"
    mapper = MAPPERS["vendor"]
    unique_fields = ("VENDORID",)


class Customers(_WritableParty):
    """``CUSTOMER``."""

    name = "customer"
    mapper = MAPPERS["customer"]
    unique_fields = ("CUSTOMERID",)


class _WritableDocument(IntacctResource):
    unsupported = frozenset({"delete"})

    def update(self, id: str, changes: Mapping[str, Any], idempotency_key: str | None) -> Flow[Any]:
        """Change a draft (Intacct refuses updates of posted documents here).

        Setting fields and replacing all lines can be resent safely. Posting it
        (``status="open"``) cannot, once applied: after a lost answer the document is looked
        up, and the update is resent only while it is still a draft.
        """
        if not id.isdigit():
            raise ValidationError(
                f"an Intacct {self.object} is updated by RECORDNO (digits), not {id!r}",
                field="id",
                system=self.system,
            )
        payload = self.mapper.changes_payload(changes)
        payload.insert(0, element("RECORDNO", id))
        posting = text_of(payload, "ACTION") != "Draft"
        applied: list[bool] = []

        def still_draft(error: FinconError) -> Flow[bool]:
            body = fn.query(self.object, fields=("RECORDNO", "STATE"), filter=F.equal_to("RECORDNO", id))
            result = yield from self.calls.call(body, audit=AuditInfo("read", self.name, record_id=id))
            page = data_page(result)
            draft = bool(page.records) and text_of(page.records[0], "STATE") == "Draft"
            if not draft:
                applied.append(True)
            return draft

        try:
            yield from self.calls.call(
                fn.update(payload),
                idempotent=not posting,
                audit=AuditInfo("update", self.name, record_id=id),
                prove_not_applied=still_draft if posting else None,
            )
        except FinconError:
            if not applied:
                raise
            # Posted by the first attempt; only its answer was lost.
        return (yield from self.get(id))

    def create(self, record: Any, idempotency_key: str | None) -> Flow[Any]:
        payload = self.mapper.to_payload(record)
        total = getattr(record, "total", None)
        audit = AuditInfo(
            "create",
            self.name,
            amount=None if total is None else total.amount,
            currency=None if total is None else total.currency,
        )
        return (yield from self._create(payload, audit))


class Bills(_WritableDocument):
    """``APBILL`` with ``APBILLITEM`` lines; looked up by bill number and vendor after a lost create."""

    name = "bill"
    mapper = MAPPERS["bill"]
    line_object = "APBILLITEM"
    unique_fields = ("RECORDID", "VENDORID")
    created_field = "AUWHENCREATED"


class Invoices(_WritableDocument):
    """``ARINVOICE`` with ``ARINVOICEITEM`` lines; looked up by number and customer after a lost create."""

    name = "invoice"
    mapper = MAPPERS["invoice"]
    line_object = "ARINVOICEITEM"
    unique_fields = ("RECORDID", "CUSTOMERID")
    created_field = "AUWHENCREATED"


class JournalEntries(_WritableDocument):
    """``GLBATCH`` with ``GLENTRY`` lines (balanced entries only; no lookup key, so never resent blindly)."""

    unsupported = frozenset({"update", "delete"})
    name = "journal_entry"
    mapper = MAPPERS["journal_entry"]
    line_object = "GLENTRY"
    line_parent_field = "BATCHNO"


class BillPayments(IntacctResource):
    """``APPYMT`` with ``APPYMTDETAIL`` (bills paid)."""

    name = "bill_payment"
    mapper = MAPPERS["bill_payment"]
    line_object = "APPYMTDETAIL"
    line_parent_field = "PAYMENTKEY"


class Payments(IntacctResource):
    """``ARPYMT`` with ``ARPYMTDETAIL`` (invoices paid)."""

    name = "payment"
    mapper = MAPPERS["payment"]
    line_object = "ARPYMTDETAIL"
    line_parent_field = "PAYMENTKEY"


class Accounts(IntacctResource):
    """``GLACCOUNT``."""

    name = "account"
    mapper = MAPPERS["account"]


class PurchaseOrders(IntacctResource):
    """``PODOCUMENT`` of the ``Purchase Order`` transaction definition, with its entries."""

    name = "purchase_order"
    mapper = MAPPERS["purchase_order"]
    line_object = "PODOCUMENTENTRY"
    line_parent_field = "DOCHDRNO"
    docparid = "Purchase Order"


class BankAccounts(IntacctResource):
    """``CHECKINGACCOUNT``."""

    name = "bank_account"
    mapper = MAPPERS["bank_account"]


class IntacctConnector(ConnectorCore):
    """Sage Intacct: parties, AP/AR documents, payments, the ledger, purchase orders, bank accounts."""

    system = SYSTEM
    description = "Sage Intacct (XML API 3.0): vendors, customers, bills, invoices, payments, GL, POs"
    settings_model = IntacctSettings
    default_base_url = "https://api.intacct.com"
    # Intacct's performance tiers allow 2 concurrent requests per company at the lowest tier.
    default_rate_limit = RateLimit(requests=10, per=1.0, burst=10, concurrency=2)
    resources: ClassVar[Mapping[str, type[ResourceHandler[Any]]]] = {
        "vendor": Vendors,
        "customer": Customers,
        "bill": Bills,
        "invoice": Invoices,
        "bill_payment": BillPayments,
        "payment": Payments,
        "journal_entry": JournalEntries,
        "account": Accounts,
        "purchase_order": PurchaseOrders,
        "bank_account": BankAccounts,
    }

    @property
    def result_sets(self) -> ResultSetPositions:
        """Where this connector's ``readMore`` result sets stand (see ``_result_sets``)."""
        positions: ResultSetPositions | None = self.__dict__.get("_result_sets")
        if positions is None:
            positions = self.__dict__.setdefault("_result_sets", ResultSetPositions())
        return positions

    @property
    def calls(self) -> FunctionCaller:
        """Sends one function per request through this connector's requestor."""
        caller: FunctionCaller | None = self.__dict__.get("_calls")
        if caller is None:
            caller = self.__dict__["_calls"] = FunctionCaller(self.requestor, lambda: self.sender)
        return caller

    @property
    def sender(self) -> Sender:
        settings: Any = self.settings
        return Sender(settings.sender_id, settings.sender_password)

    def build_auth(self) -> AuthStrategy | None:
        settings: Any = self.settings
        if settings.auth is not None:
            return settings.auth  # type: ignore[no-any-return]
        if not settings.sender_id or settings.sender_password is None:
            raise ConfigError("intacct needs sender_id and sender_password", system=self.system)
        login = None
        if settings.user_id or settings.company_id or settings.user_password is not None:
            if not (settings.user_id and settings.company_id and settings.user_password is not None):
                raise ConfigError(
                    "intacct needs user_id, company_id and user_password together", system=self.system
                )
            login = Login(settings.user_id, settings.company_id, settings.user_password, settings.entity_id)
        if login is None and settings.session_id is None:
            raise ConfigError(
                "intacct needs user_id, company_id and user_password, or a session_id", system=self.system
            )
        sender = Sender(settings.sender_id, settings.sender_password)
        return IntacctSession(
            sender, login, session_id=settings.session_id, endpoint=settings.session_endpoint
        )

    def parse_error(self, response: httpx.Response) -> FinconError | None:
        return intacct_error(response)

    def account_key(self, base_url: str) -> str:
        settings: Any = self.settings
        return f"{base_url}#{settings.company_id or 'session'}"

    def check_flow(self) -> Flow[Identity]:
        result = yield from self.calls.call(fn.get_api_session(), audit=AuditInfo("read", "session"))
        api = result.find("data/api")
        auth: Any = self.auth
        identity = getattr(auth, "identity", {}) or {}
        settings: Any = self.settings
        return Identity(
            system=self.system,
            account=identity.get("company") or settings.company_id,
            user=identity.get("user") or settings.user_id,
            details={"entity": text_of(api, "locationid", "") or identity.get("entity") or None},
        )

    def make_native(self, run: Callable[[Flow[Any]], Any]) -> Any:
        from fincon.connectors.intacct.native import IntacctNative

        return IntacctNative(self, run)
