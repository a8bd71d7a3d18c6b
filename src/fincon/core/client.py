"""The connectors users hold: :class:`Connector` (blocking) and :class:`AsyncConnector`.

Both wrap one :class:`~fincon.core.connector.ConnectorCore` and one pooled httpx client,
and differ only in how they drive flows (:func:`~fincon.core.flow.run_sync` or
:func:`~fincon.core.flow.run_async`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import httpx

from fincon.core.connector import ConnectorCore, Identity
from fincon.core.flow import Flow, run_async, run_sync
from fincon.core.resources import (
    AsyncListing,
    AsyncResourceCollection,
    ResourceCollection,
    check_changes,
    check_id,
    check_record,
)
from fincon.core.transport import Call
from fincon.errors import NotFound, ValidationError

if TYPE_CHECKING:
    from fincon.models import (
        Account,
        Balance,
        BankAccount,
        BankTransaction,
        Bill,
        BillPayment,
        Customer,
        Invoice,
        JournalEntry,
        Payment,
        PaymentOrder,
        PurchaseOrder,
        Receipt,
        Record,
        Vendor,
    )

__all__ = ["AsyncConnector", "Connector"]

R = TypeVar("R", bound="Record")
T = TypeVar("T")
WriteMode = Literal["create", "update", "upsert"]


class _Sync(Generic[R]):
    """Descriptor giving a typed :class:`ResourceCollection` for one canonical resource."""

    def __init__(self, resource: str) -> None:
        self.resource = resource

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _Sync[R]: ...
    @overload
    def __get__(self, obj: Connector, owner: type[Any]) -> ResourceCollection[R]: ...
    def __get__(self, obj: Connector | None, owner: type[Any]) -> _Sync[R] | ResourceCollection[R]:
        if obj is None:
            return self
        return obj.collection(self.resource)


class _Async(Generic[R]):
    """Descriptor giving a typed :class:`AsyncResourceCollection` for one canonical resource."""

    def __init__(self, resource: str) -> None:
        self.resource = resource

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _Async[R]: ...
    @overload
    def __get__(self, obj: AsyncConnector, owner: type[Any]) -> AsyncResourceCollection[R]: ...
    def __get__(self, obj: AsyncConnector | None, owner: type[Any]) -> _Async[R] | AsyncResourceCollection[R]:
        if obj is None:
            return self
        return obj.collection(self.resource)


def _raw_call(
    method: str,
    path: str,
    *,
    params: Any,
    json: Any,
    data: Mapping[str, Any] | None,
    content: bytes | str | None,
    headers: Mapping[str, str] | None,
    idempotency_key: str | None,
    idempotent: bool | None,
    timeout: float | None,
) -> Call:
    return Call(
        method=method,
        url=path,
        params=params,
        json=json,
        data=data,
        content=content,
        headers=headers,
        idempotency_key=idempotency_key,
        idempotent=idempotent,
        timeout=timeout,
    )


class _ConnectorBase:
    _core: ConnectorCore

    @property
    def system(self) -> str:
        """The registered system name."""
        return self._core.system

    @property
    def capabilities(self) -> dict[str, tuple[str, ...]]:
        """Resource name -> the operations supported on it."""
        return self._core.capabilities

    @property
    def core(self) -> ConnectorCore:
        """The connector's engine (for connector authors and tests)."""
        return self._core

    def _check_mode(self, mode: str) -> None:
        if mode not in ("create", "update", "upsert"):
            raise ValidationError(
                f"mode must be 'create', 'update' or 'upsert', not {mode!r}", field="mode", system=self.system
            )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.system} {self._core.requestor.base_url}>"


class Connector(_ConnectorBase):
    """A blocking connector to one system. Use it as a context manager (it owns a pooled client)."""

    vendors: _Sync[Vendor] = _Sync("vendor")
    customers: _Sync[Customer] = _Sync("customer")
    bills: _Sync[Bill] = _Sync("bill")
    invoices: _Sync[Invoice] = _Sync("invoice")
    bill_payments: _Sync[BillPayment] = _Sync("bill_payment")
    payments: _Sync[Payment] = _Sync("payment")
    journal_entries: _Sync[JournalEntry] = _Sync("journal_entry")
    accounts: _Sync[Account] = _Sync("account")
    purchase_orders: _Sync[PurchaseOrder] = _Sync("purchase_order")
    receipts: _Sync[Receipt] = _Sync("receipt")
    bank_accounts: _Sync[BankAccount] = _Sync("bank_account")
    bank_transactions: _Sync[BankTransaction] = _Sync("bank_transaction")
    balances: _Sync[Balance] = _Sync("balance")
    payment_orders: _Sync[PaymentOrder] = _Sync("payment_order")

    def __init__(self, core: ConnectorCore, client: httpx.Client, *, sandbox: Any = None) -> None:
        self._core = core
        self._client = client
        self._collections: dict[str, ResourceCollection[Any]] = {}
        self._native: Any = None
        #: The in-process emulator when connected with ``sandbox=``, else None.
        self.sandbox = sandbox

    def run(self, flow: Flow[T]) -> T:
        """Drive a flow of this connector (for ``native`` extras and connector authors)."""
        return run_sync(
            flow,
            self._client,
            clock=self._core.clock,
            concurrency=self._core.limits.concurrency,
            system=self._core.system,
        )

    def collection(self, resource: str) -> ResourceCollection[Any]:
        """The collection for ``resource`` (a resource name such as ``"vendor"``)."""
        found = self._collections.get(resource)
        if found is None:
            _known_resource(resource, self.system)
            found = ResourceCollection(self.system, resource, self._core.handlers.get(resource), self.run)
            self._collections[resource] = found
        return found

    def check(self) -> Identity:
        """Authenticate and make one cheap call; :class:`~fincon.errors.AuthError` says why it failed."""
        return self.run(self._core.check_flow())

    def read(self, resource: str, id: str | None = None, **list_options: Any) -> Any:
        """Generic read: the record with ``id``, or a lazy listing with ``list_options``."""
        collection = self.collection(resource)
        if id is not None:
            if list_options:
                raise ValidationError(
                    "read() takes an id or list options, not both", field="id", system=self.system
                )
            return collection.get(id)
        return collection.list(**list_options)

    def write(
        self,
        resource: str,
        record: Any,
        mode: WriteMode = "create",
        *,
        idempotency_key: str | None = None,
    ) -> Any:
        """Generic write: create, update (by ``record.id``), or upsert (update, or create if absent)."""
        self._check_mode(mode)
        collection = self.collection(resource)
        checked = check_record(self.system, resource, record)
        if mode == "create":
            return collection.create(checked, idempotency_key=idempotency_key)
        record_id = check_id(self.system, resource, checked.id)
        changes = check_changes(self.system, resource, _changes_of(checked))
        if mode == "update":
            return collection.update(record_id, changes, idempotency_key=idempotency_key)
        update_key, create_key = _upsert_keys(idempotency_key)
        try:
            return collection.update(record_id, changes, idempotency_key=update_key)
        except NotFound:
            return collection.create(checked, idempotency_key=create_key)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """The escape hatch: a raw call through the same auth, retries, limits and audit."""
        call = _raw_call(
            method,
            path,
            params=params,
            json=json,
            data=data,
            content=content,
            headers=headers,
            idempotency_key=idempotency_key,
            idempotent=idempotent,
            timeout=timeout,
        )
        return self.run(self._core.requestor.call(call))

    @property
    def native(self) -> Any:
        """The system's own extras (query languages, webhooks, ...)."""
        if self._native is None:
            self._native = self._core.make_native(self.run)
        return self._native

    def close(self) -> None:
        """Close the pooled HTTP client."""
        self._client.close()

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncConnector(_ConnectorBase):
    """The awaitable twin of :class:`Connector`: ``async with fincon.connect_async(...) as erp``."""

    vendors: _Async[Vendor] = _Async("vendor")
    customers: _Async[Customer] = _Async("customer")
    bills: _Async[Bill] = _Async("bill")
    invoices: _Async[Invoice] = _Async("invoice")
    bill_payments: _Async[BillPayment] = _Async("bill_payment")
    payments: _Async[Payment] = _Async("payment")
    journal_entries: _Async[JournalEntry] = _Async("journal_entry")
    accounts: _Async[Account] = _Async("account")
    purchase_orders: _Async[PurchaseOrder] = _Async("purchase_order")
    receipts: _Async[Receipt] = _Async("receipt")
    bank_accounts: _Async[BankAccount] = _Async("bank_account")
    bank_transactions: _Async[BankTransaction] = _Async("bank_transaction")
    balances: _Async[Balance] = _Async("balance")
    payment_orders: _Async[PaymentOrder] = _Async("payment_order")

    def __init__(self, core: ConnectorCore, client: httpx.AsyncClient, *, sandbox: Any = None) -> None:
        self._core = core
        self._client = client
        self._collections: dict[str, AsyncResourceCollection[Any]] = {}
        self._native: Any = None
        self.sandbox = sandbox

    async def run(self, flow: Flow[T]) -> T:
        """Drive a flow of this connector."""
        return await run_async(
            flow,
            self._client,
            clock=self._core.clock,
            concurrency=self._core.limits.concurrency,
            system=self._core.system,
        )

    def collection(self, resource: str) -> AsyncResourceCollection[Any]:
        found = self._collections.get(resource)
        if found is None:
            _known_resource(resource, self.system)
            found = AsyncResourceCollection(
                self.system, resource, self._core.handlers.get(resource), self.run
            )
            self._collections[resource] = found
        return found

    async def check(self) -> Identity:
        return await self.run(self._core.check_flow())

    async def read(self, resource: str, id: str | None = None, **list_options: Any) -> Any:
        """Generic read: the record with ``id`` (awaited), or an :class:`AsyncListing`."""
        collection = self.collection(resource)
        if id is not None:
            if list_options:
                raise ValidationError(
                    "read() takes an id or list options, not both", field="id", system=self.system
                )
            return await collection.get(id)
        listing: AsyncListing[Any] = collection.list(**list_options)
        return listing

    async def write(
        self,
        resource: str,
        record: Any,
        mode: WriteMode = "create",
        *,
        idempotency_key: str | None = None,
    ) -> Any:
        self._check_mode(mode)
        collection = self.collection(resource)
        checked = check_record(self.system, resource, record)
        if mode == "create":
            return await collection.create(checked, idempotency_key=idempotency_key)
        record_id = check_id(self.system, resource, checked.id)
        changes = check_changes(self.system, resource, _changes_of(checked))
        if mode == "update":
            return await collection.update(record_id, changes, idempotency_key=idempotency_key)
        update_key, create_key = _upsert_keys(idempotency_key)
        try:
            return await collection.update(record_id, changes, idempotency_key=update_key)
        except NotFound:
            return await collection.create(checked, idempotency_key=create_key)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        call = _raw_call(
            method,
            path,
            params=params,
            json=json,
            data=data,
            content=content,
            headers=headers,
            idempotency_key=idempotency_key,
            idempotent=idempotent,
            timeout=timeout,
        )
        return await self.run(self._core.requestor.call(call))

    @property
    def native(self) -> Any:
        if self._native is None:
            self._native = self._core.make_native(self.run)
        return self._native

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> AsyncConnector:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _known_resource(resource: str, system: str) -> None:
    from fincon.models import RESOURCE_MODELS

    if resource not in RESOURCE_MODELS:
        raise ValidationError(
            f"unknown resource {resource!r}; canonical resources are {', '.join(sorted(RESOURCE_MODELS))}",
            field="resource",
            system=system,
        )


def _upsert_keys(key: str | None) -> tuple[str | None, str | None]:
    """Distinct keys for an upsert's update and create: a system replays a key's first answer
    (the update's 404) or refuses a key reused for another request."""
    if key is None:
        return None, None
    return f"{key}:update", f"{key}:create"


def _changes_of(record: Record) -> dict[str, Any]:
    skip = {"id", "source", "raw", "updated_at"}
    return {name: getattr(record, name) for name in record.model_fields_set if name not in skip}
