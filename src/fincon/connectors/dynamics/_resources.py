"""Resource handlers over OData entity sets, shared by Business Central and F&O.

One :class:`EntityResource` per canonical resource: it builds URLs (company-scoped for BC,
``dataAreaId``-scoped for F&O), pages by ``@odata.nextLink`` with ``Prefer:
odata.maxpagesize``, writes with ETags, and creates each record at most once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from fincon.connectors.dynamics._odata_urls import and_filter, literal, quote_key
from fincon.connectors.dynamics.mapping import is_guid, writable
from fincon.core.flow import Flow
from fincon.core.mapping import map_payloads
from fincon.core.pagination import NextLinkPagination, State
from fincon.core.resources import ListQuery, ResourceHandler
from fincon.core.responses import parse_json
from fincon.core.transport import AuditInfo, Call
from fincon.errors import Conflict, FinconError, ServerError, ValidationError

if TYPE_CHECKING:
    from fincon.connectors.dynamics.connector import DynamicsConnector

__all__ = ["EntityResource", "GeneralLedgerEntries"]

#: How far before our request a recovered create may have been stamped (server clock skew).
_CLOCK_SKEW = timedelta(minutes=5)


class EntityResource(ResourceHandler[Any]):
    """CRUD on one OData entity set (``vendors``, ``VendorsV2``, ...)."""

    mechanism = "next_link"
    default_page_size = 100
    max_page_size = 1000
    entity_set: ClassVar[str] = ""
    #: Navigation property holding a document's lines (expanded on every read).
    lines: ClassVar[str | None] = None
    expand: ClassVar[str | None] = None
    #: Canonical filter name -> OData property.
    filter_props: ClassVar[Mapping[str, str]] = {}
    #: Property with the last-modified time (``updated_since``), if the entity has one.
    modified: ClassVar[str | None] = "lastModifiedDateTime"
    #: Properties compared to find a create whose answer was lost.
    match_props: ClassVar[tuple[str, ...]] = ()
    #: The natural key property (F&O); None for BC's GUID ``id``.
    natural_key: ClassVar[str | None] = None
    #: Whether the entity belongs to a company (BC company / F&O legal entity).
    company_scoped: ClassVar[bool] = True

    def __init__(self, core: DynamicsConnector) -> None:
        self.core = core
        self.requestor = core.requestor
        self.system = core.system
        self.mapper = core.mapper_for(self.name)

    @property
    def filter_names(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset(self.filter_props)

    # -- URLs ---------------------------------------------------------------------------------

    def collection_path(self) -> Flow[str]:
        """The entity set's path (BC: under ``companies({id})``)."""
        if self.core.flavor == "business_central" and self.company_scoped:
            company = yield from self.core.company_id_flow()
            return f"/companies({company})/{self.entity_set}"
        yield from ()
        return f"/{self.entity_set}"

    def key_segment(self, id: str) -> str:
        if self.natural_key is None:
            if not is_guid(id):
                raise ValidationError(
                    f"a Business Central {self.name} id is a GUID, not {id!r}", field="id", system=self.system
                )
            return f"({id})"
        parts = []
        if self.company_scoped:
            parts.append(f"dataAreaId={quote_key(self.core.company)}")
        parts.append(f"{self.natural_key}={quote_key(id)}")
        return "(" + ",".join(parts) + ")"

    def item_path(self, id: str) -> Flow[str]:
        segment = self.key_segment(id)
        base = yield from self.collection_path()
        return base + quote(segment, safe="()=',:-")

    # -- reading ------------------------------------------------------------------------------

    def read_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.expand:
            params["$expand"] = self.expand
        if self.natural_key is not None and self.company_scoped:
            params["cross-company"] = "true"
        return params

    def list_filter(self, query: ListQuery) -> str | None:
        terms: list[str | None] = []
        if self.natural_key is not None and self.company_scoped:
            terms.append(f"dataAreaId eq {quote_key(self.core.company)}")
        if query.updated_since is not None:
            if self.modified is None:
                raise ValidationError(
                    f"{self.entity_set} has no modification timestamp to filter on",
                    field="updated_since",
                    system=self.system,
                )
            terms.append(f"{self.modified} ge {literal(query.updated_since)}")
        for name, value in query.filters.items():
            try:
                terms.append(f"{self.filter_props[name]} eq {literal(value)}")
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    f"filter {name}: {exc}", field=f"filters.{name}", system=self.system
                ) from None
        return and_filter(*terms)

    def page_headers(self, page_size: int) -> dict[str, str]:
        return {"Prefer": f"odata.maxpagesize={page_size}"}

    def fetch_entities(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Any], State | None]]:
        """Raw entities of one page and the next state (``{"url": nextLink}``)."""
        if state is not None:
            url = NextLinkPagination.link_for(state, self.requestor.origin, system=self.system)
            params: dict[str, str] | None = None
        else:
            url = yield from self.collection_path()
            params = self.read_params()
            filter_text = self.list_filter(query)
            if filter_text:
                params["$filter"] = filter_text
        response = yield from self.requestor.call(
            Call(
                "GET",
                url,
                params=params,
                headers=self.page_headers(query.page_size),
                audit=AuditInfo("read", self.name),
            )
        )
        body = parse_json(response, system=self.system)
        items = body.get("value") if isinstance(body, Mapping) else None
        if not isinstance(items, list):
            raise ServerError(
                f"a {self.entity_set} listing from {self.system} has no 'value' array",
                system=self.system,
                code="malformed_response",
                retryable=False,
            )
        link = body.get("@odata.nextLink")
        return items, ({"url": str(link)} if link else None)

    def prepare(self) -> Flow[None]:
        """Learn what mapping needs first (BC payment and ledger lines: the local currency)."""
        if self.core.flavor == "business_central" and self.name in (
            "bill_payment",
            "payment",
            "journal_entry",
        ):
            yield from self.core.local_currency_flow()

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Any], State | None]]:
        yield from self.prepare()
        items, next_state = yield from self.fetch_entities(query, state)
        return map_payloads(self.mapper, items, system=self.system, resource=self.name), next_state

    def fetch_one(self, id: str) -> Flow[dict[str, Any]]:
        url = yield from self.item_path(id)
        response = yield from self.requestor.call(
            Call(
                "GET",
                url,
                params=self.read_params() or None,
                audit=AuditInfo("read", self.name, record_id=id),
            )
        )
        body = parse_json(response, system=self.system)
        if not isinstance(body, dict):
            raise ServerError(
                f"{self.entity_set}({id}) is not a JSON object", system=self.system, retryable=False
            )
        return body

    def get(self, id: str) -> Flow[Any]:
        yield from self.prepare()
        body = yield from self.fetch_one(id)
        return self._record(body)

    def _record(self, body: Any) -> Any:
        return map_payloads(self.mapper, [body], system=self.system, resource=self.name)[0]

    # -- writing ------------------------------------------------------------------------------

    def _mapped(self, build: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = build()
        except (TypeError, ValueError) as exc:
            raise ValidationError(str(exc), field=self.name, system=self.system) from None
        return result

    def create_body(self, record: Any) -> dict[str, Any]:
        payload = self._mapped(lambda: self.mapper.to_payload(record))
        body = writable(payload, self.entity_set)
        if self.natural_key is not None:
            body.pop("lastModifiedDateTime", None)
            body.pop("ModifiedDateTime", None)
            if self.company_scoped:
                body["dataAreaId"] = self.core.company
        return body

    def create(self, record: Any, idempotency_key: str | None) -> Flow[Any]:
        yield from self.prepare()
        body = self.create_body(record)
        url = yield from self.collection_path()
        since = self.core.clock.now() - _CLOCK_SKEW
        recovered: list[dict[str, Any]] = []

        def prove_not_applied(error: FinconError) -> Flow[bool]:
            # No idempotency keys in OData: after an ambiguous failure, look for the record.
            matches = yield from self._find_created(url, body, since)
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
        try:
            response = yield from self.requestor.call(
                Call(
                    "POST",
                    url,
                    json=body,
                    params={"$expand": self.expand} if self.expand else None,
                    headers={"Prefer": "return=representation"},
                    audit=audit,
                    prove_not_applied=prove_not_applied if self.match_props else None,
                )
            )
        except FinconError:
            if recovered:
                return self._record(recovered[0])
            raise
        created = self._record(parse_json(response, system=self.system))
        if self.lines and not getattr(created, "lines", None) and getattr(record, "lines", None):
            return (yield from self.get(str(created.id)))
        return created

    def _find_created(self, url: str, body: Mapping[str, Any], since: Any) -> Flow[list[dict[str, Any]]]:
        terms = [
            f"{name} eq {literal(body[name])}"
            for name in self.match_props
            if body.get(name) not in (None, "")
        ]
        if not terms:
            return []
        if self.modified is not None:
            terms.append(f"{self.modified} ge {literal(since)}")
        if self.natural_key is not None and self.company_scoped:
            terms.append(f"dataAreaId eq {quote_key(self.core.company)}")
        params = self.read_params()
        params["$filter"] = " and ".join(terms)
        response = yield from self.requestor.call(Call("GET", url, params=params))
        found = parse_json(response, system=self.system).get("value") or []
        scalars = {k: v for k, v in body.items() if not isinstance(v, (list, dict))}
        return [
            entity
            for entity in found
            if all(str(entity.get(k)) == str(v) for k, v in scalars.items() if k in entity and v is not None)
        ]

    def _if_match(self, id: str) -> Flow[str]:
        if self.core.settings_concurrency == "last_write_wins":
            yield from ()
            return "*"
        current = yield from self.fetch_one(id)
        return str(current.get("@odata.etag") or "*")

    def update(self, id: str, changes: Mapping[str, Any], idempotency_key: str | None) -> Flow[Any]:
        body = self._mapped(lambda: self.mapper.changes_payload(changes))
        url = yield from self.item_path(id)
        etag = yield from self._if_match(id)
        try:
            response = yield from self.requestor.call(
                Call(
                    "PATCH",
                    url,
                    json=body,
                    headers={"If-Match": etag, "Prefer": "return=representation"},
                    # Setting fields to given values twice changes nothing more.
                    idempotent=True,
                    audit=AuditInfo("update", self.name, record_id=id),
                )
            )
        except Conflict:
            # A retry after a lost answer finds its own write: same values, new ETag.
            current = yield from self.fetch_one(id)
            if all(str(current.get(k)) == str(v) for k, v in body.items()):
                return self._record(current)
            raise
        if response.status_code == 204 or not response.content:
            return (yield from self.get(id))
        return self._record(parse_json(response, system=self.system))

    def delete(self, id: str) -> Flow[None]:
        url = yield from self.item_path(id)
        etag = yield from self._if_match(id)
        yield from self.requestor.call(
            Call(
                "DELETE", url, headers={"If-Match": etag}, audit=AuditInfo("delete", self.name, record_id=id)
            )
        )


class GeneralLedgerEntries(EntityResource):
    """Posted journal entries read from ``generalLedgerEntries``, one record per document.

    Entries of one document are consecutive; a document split by a page boundary is held
    back (inside the cursor) and completed from the next page.
    """

    name = "journal_entry"
    entity_set = "generalLedgerEntries"
    expand = None
    unsupported = frozenset({"create", "update", "delete"})
    filter_props: ClassVar[Mapping[str, str]] = {
        "number": "documentNumber",
        "account_number": "accountNumber",
    }

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Any], State | None]]:
        yield from self.prepare()
        carry = list((state or {}).get("carry") or [])
        link_state = {"url": state["url"]} if state and state.get("url") else None
        if state is not None and link_state is None:
            items: list[Any] = []
            next_state: State | None = None
        else:
            items, next_state = yield from self.fetch_entities(query, link_state)
        groups = _group_entries([*carry, *items])
        held: list[Any] = []
        if next_state is not None and groups:
            held = groups.pop()["entries"]
        records = map_payloads(self.mapper, groups, system=self.system, resource=self.name)
        if next_state is None and not held:
            return records, None
        return records, {"url": (next_state or {}).get("url"), "carry": held}

    def get(self, id: str) -> Flow[Any]:
        posted, _, number = id.partition("/")
        if not posted or not number:
            raise ValidationError(
                "a Business Central journal entry id is '<postingDate>/<documentNumber>'",
                field="id",
                system=self.system,
            )
        yield from self.prepare()
        url = yield from self.collection_path()
        params = {"$filter": f"documentNumber eq {literal(number)} and postingDate eq {posted}"}
        response = yield from self.requestor.call(
            Call("GET", url, params=params, audit=AuditInfo("read", self.name))
        )
        entries = parse_json(response, system=self.system).get("value") or []
        groups = _group_entries(entries)
        if not groups:
            from fincon.errors import NotFound

            raise NotFound(f"no posted G/L entries for document {number} on {posted}", system=self.system)
        return self._record(groups[0])


def _group_entries(entries: list[Any]) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for entry in entries:
        key = (entry.get("documentNumber"), entry.get("postingDate"))
        if groups and (groups[-1]["documentNumber"], groups[-1]["postingDate"]) == key:
            groups[-1]["entries"].append(entry)
        else:
            groups.append({"documentNumber": key[0], "postingDate": key[1], "entries": [entry]})
    return groups
