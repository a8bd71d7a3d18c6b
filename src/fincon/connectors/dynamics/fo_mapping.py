"""Finance and Operations data entities <-> canonical records.

F&O exposes data entities at ``{environment}/data/{EntitySet}``, keyed by natural keys
within a legal entity (``dataAreaId``). The canonical ``id`` is the natural key
(``VendorAccountNumber``, ``CustomerAccount``, ``HeaderReference``, ``JournalBatchNumber``,
``MainAccountId``); the legal entity stays in ``raw["dataAreaId"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fincon.connectors.dynamics._values import exact_decimal, money, parse_date, parse_datetime, text
from fincon.models import (
    Account,
    Address,
    Bill,
    Customer,
    JournalEntry,
    JournalLine,
    LineItem,
    Money,
    Ref,
    Source,
    Vendor,
)

__all__ = [
    "FO_ENTITIES",
    "FO_MAPPERS",
    "FoAccountMapper",
    "FoBillMapper",
    "FoCustomerMapper",
    "FoEntity",
    "FoJournalEntryMapper",
    "FoVendorMapper",
]

SYSTEM = "dynamics"


class FoEntity:
    """One F&O data entity: its set name, natural key and line entity (if any)."""

    def __init__(
        self,
        entity_set: str,
        key: str,
        *,
        modified: str | None = None,
        lines: str | None = None,
        line_key: str = "LineNumber",
        company_scoped: bool = True,
    ) -> None:
        self.entity_set = entity_set
        self.key = key
        self.modified = modified
        self.lines = lines
        self.line_key = line_key
        self.company_scoped = company_scoped


#: The data entities the connector maps, by canonical resource.
FO_ENTITIES: dict[str, FoEntity] = {
    "vendor": FoEntity("VendorsV2", "VendorAccountNumber"),
    "customer": FoEntity("CustomersV3", "CustomerAccount"),
    "bill": FoEntity("VendorInvoiceHeaders", "HeaderReference", lines="VendorInvoiceLines"),
    "journal_entry": FoEntity("LedgerJournalHeaders", "JournalBatchNumber", lines="LedgerJournalLines"),
    "account": FoEntity("MainAccounts", "MainAccountId", company_scoped=False),
}

_ON_HOLD_ACTIVE = ("", "No", "Never")


def _put(payload: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        payload[key] = value


def _source(resource: str, key: str | None) -> Source:
    return Source(system=SYSTEM, resource=resource, id=key)


class _FoMapper:
    resource: ClassVar[str] = ""
    #: Canonical field -> entity properties an update writes.
    field_keys: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    @property
    def entity(self) -> FoEntity:
        return FO_ENTITIES[self.resource]

    def to_record(self, payload: Any) -> Any:
        raise NotImplementedError

    def to_payload(self, record: Any) -> dict[str, Any]:
        raise NotImplementedError

    def changes_payload(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Entity properties for canonical ``changes``; fields F&O cannot change are refused."""
        unknown = [name for name in changes if name not in self.field_keys]
        if unknown:
            raise ValueError(f"Finance and Operations cannot change {self.resource}.{unknown[0]}")
        model = {"vendor": Vendor, "customer": Customer}[self.resource]
        full = self.to_payload(model.model_construct(**{"name": "", **changes}))
        return {key: full[key] for name in changes for key in self.field_keys[name] if key in full}


class FoVendorMapper(_FoMapper):
    """``VendorsV2`` <-> :class:`~fincon.models.Vendor` (``OnHoldStatus`` other than No is blocked)."""

    resource = "vendor"
    name_key: ClassVar[str] = "VendorOrganizationName"
    email_key: ClassVar[str] = "PrimaryEmailAddress"
    phone_key: ClassVar[str] = "PrimaryPhoneNumber"
    currency_key: ClassVar[str] = "CurrencyCode"
    tax_key: ClassVar[str] = "TaxExemptNumber"
    field_keys: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "name": ("VendorOrganizationName",),
        "email": ("PrimaryEmailAddress",),
        "phone": ("PrimaryPhoneNumber",),
        "currency": ("CurrencyCode",),
        "tax_id": ("TaxExemptNumber",),
        "status": ("OnHoldStatus",),
        "addresses": (
            "AddressStreet",
            "AddressCity",
            "AddressState",
            "AddressZipCode",
            "AddressCountryRegionId",
        ),
    }

    def to_record(self, payload: Mapping[str, Any]) -> Any:
        key = text(payload.get(self.entity.key))
        street = text(payload.get("AddressStreet"))
        line1, _, line2 = (street or "").partition("\n")
        address = Address(
            line1=line1 or None,
            line2=line2 or None,
            city=text(payload.get("AddressCity")),
            region=text(payload.get("AddressState")),
            postal_code=text(payload.get("AddressZipCode")),
            country=text(payload.get("AddressCountryRegionId")),
        )
        hold = payload.get("OnHoldStatus")
        model = Vendor if self.resource == "vendor" else Customer
        return model(
            id=key,
            name=str(payload.get(self.name_key) or ""),
            tax_id=text(payload.get(self.tax_key)),
            email=text(payload.get(self.email_key)),
            phone=text(payload.get(self.phone_key)),
            addresses=[address] if any(dict(address).values()) else [],
            currency=text(payload.get(self.currency_key)),
            status=None if hold is None else ("active" if hold in _ON_HOLD_ACTIVE else "blocked"),
            updated_at=parse_datetime(payload.get("ModifiedDateTime")),
            source=_source(self.resource, key),
            raw=dict(payload),
        )

    def to_payload(self, record: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        _put(payload, self.entity.key, record.id)
        payload[self.name_key] = record.name
        payload[self.email_key] = record.email or ""
        payload[self.phone_key] = record.phone or ""
        payload[self.currency_key] = record.currency or ""
        payload[self.tax_key] = record.tax_id or ""
        if len(record.addresses or []) > 1:
            raise ValueError("the F&O entity holds one primary address")
        address = record.addresses[0] if record.addresses else Address()
        street = "\n".join(part for part in (address.line1, address.line2) if part)
        payload.update(
            {
                "AddressStreet": street,
                "AddressCity": address.city or "",
                "AddressState": address.region or "",
                "AddressZipCode": address.postal_code or "",
                "AddressCountryRegionId": address.country or "",
            }
        )
        if record.status is not None:
            status = str(getattr(record.status, "value", record.status))
            if status not in ("active", "blocked"):
                raise ValueError(f"F&O cannot mark a party {status!r} (use active or blocked)")
            payload["OnHoldStatus"] = "No" if status == "active" else "All"
        if record.updated_at is not None:
            payload["ModifiedDateTime"] = record.updated_at
        return payload


class FoCustomerMapper(FoVendorMapper):
    """``CustomersV3`` <-> :class:`~fincon.models.Customer`."""

    resource = "customer"
    name_key = "OrganizationName"
    email_key = "PrimaryContactEmail"
    phone_key = "PrimaryContactPhone"
    currency_key = "SalesCurrencyCode"
    tax_key = "TaxExemptNumber"
    field_keys: ClassVar[Mapping[str, tuple[str, ...]]] = {
        **FoVendorMapper.field_keys,
        "name": ("OrganizationName",),
        "email": ("PrimaryContactEmail",),
        "phone": ("PrimaryContactPhone",),
        "currency": ("SalesCurrencyCode",),
    }


class FoBillMapper(_FoMapper):
    """``VendorInvoiceHeaders`` (+ ``VendorInvoiceLines``) <-> :class:`~fincon.models.Bill`.

    Pending vendor invoices: ``InvoiceNumber`` is the vendor's number, ``InvoiceAccount``
    the vendor; line amounts are ``LineAmount`` (``ReceiveNow`` x ``UnitPrice``).
    """

    resource = "bill"

    def to_record(self, payload: Mapping[str, Any]) -> Bill:
        key = text(payload.get("HeaderReference"))
        currency = text(payload.get("Currency"))
        lines = []
        for line in payload.get("VendorInvoiceLines") or []:
            where = f"VendorInvoiceLines.{line.get('LineNumber')}"
            account = text(line.get("MainAccountDisplayValue"))
            item = text(line.get("ItemNumber"))
            lines.append(
                LineItem(
                    line_number=line.get("LineNumber"),
                    description=text(line.get("Text")),
                    item=Ref(id=item) if item else None,
                    account=Ref(id=account) if account else None,
                    quantity=exact_decimal(line.get("ReceiveNow"), field=f"{where}.ReceiveNow"),
                    unit_price=money(line.get("UnitPrice"), currency, field=f"{where}.UnitPrice"),
                    amount=money(line.get("LineAmount"), currency, field=f"{where}.LineAmount"),
                )
            )
        return Bill(
            id=key,
            number=text(payload.get("InvoiceNumber")),
            vendor=Ref(id=text(payload.get("InvoiceAccount"))),
            issue_date=parse_date(payload.get("InvoiceDate")),
            due_date=parse_date(payload.get("DueDate")),
            currency=currency,
            lines=lines,
            memo=text(payload.get("InvoiceDescription")),
            source=_source("bill", key),
            raw=dict(payload),
        )

    def to_payload(self, record: Bill) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        _put(payload, "HeaderReference", record.id)
        _put(payload, "InvoiceNumber", record.number)
        if record.vendor is not None:
            _put(payload, "InvoiceAccount", record.vendor.id)
        _put(payload, "InvoiceDate", record.issue_date)
        _put(payload, "DueDate", record.due_date)
        _put(payload, "Currency", record.currency)
        _put(payload, "InvoiceDescription", record.memo)
        if record.total is not None or record.tax is not None or record.balance is not None:
            raise ValueError("F&O computes a pending invoice's totals from its lines; leave them out")
        lines = []
        for number, line in enumerate(record.lines, start=1):
            entry: dict[str, Any] = {"LineNumber": line.line_number or number}
            _put(entry, "Text", line.description)
            if line.item is not None:
                _put(entry, "ItemNumber", line.item.id)
            if line.account is not None:
                _put(entry, "MainAccountDisplayValue", line.account.id)
            _put(entry, "ReceiveNow", line.quantity)
            if line.unit_price is not None:
                entry["UnitPrice"] = line.unit_price.amount
            if line.amount is not None:
                entry["LineAmount"] = line.amount.amount
            lines.append(entry)
        if lines:
            payload["VendorInvoiceLines"] = lines
        return payload


class FoJournalEntryMapper(_FoMapper):
    """``LedgerJournalHeaders`` (+ ``LedgerJournalLines``) <-> :class:`~fincon.models.JournalEntry`."""

    resource = "journal_entry"

    def to_record(self, payload: Mapping[str, Any]) -> JournalEntry:
        key = text(payload.get("JournalBatchNumber"))
        lines = []
        dates = []
        for line in payload.get("LedgerJournalLines") or []:
            currency = text(line.get("CurrencyCode"))
            debit = exact_decimal(line.get("DebitAmount"), field="LedgerJournalLines.DebitAmount") or 0
            credit = exact_decimal(line.get("CreditAmount"), field="LedgerJournalLines.CreditAmount") or 0
            if (debit or credit) and not currency:
                raise ValueError("a journal line has an amount but no CurrencyCode")
            dates.append(parse_date(line.get("TransDate")))
            lines.append(
                JournalLine(
                    account=Ref(id=text(line.get("AccountDisplayValue"))),
                    debit=Money(debit, currency) if debit and currency else None,
                    credit=Money(credit, currency) if credit and currency else None,
                    description=text(line.get("Text")),
                )
            )
        posted = payload.get("IsPosted")
        return JournalEntry(
            id=key,
            number=key,
            date=dates[0] if dates else None,
            memo=text(payload.get("Description")),
            status=None if posted is None else ("posted" if posted in ("Yes", True) else "draft"),
            lines=lines,
            source=_source("journal_entry", key),
            raw=dict(payload),
        )

    def to_payload(self, record: JournalEntry) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        _put(payload, "JournalBatchNumber", record.id or record.number)
        _put(payload, "Description", record.memo)
        if record.status is not None:
            payload["IsPosted"] = (
                "Yes" if str(getattr(record.status, "value", record.status)) == "posted" else "No"
            )
        lines = []
        for number, line in enumerate(record.lines, start=1):
            amount = line.debit or line.credit
            entry: dict[str, Any] = {
                "LineNumber": number,
                "AccountType": "Ledger",
                "AccountDisplayValue": line.account.id,
                "DebitAmount": line.debit.amount if line.debit is not None else 0,
                "CreditAmount": line.credit.amount if line.credit is not None else 0,
            }
            _put(entry, "CurrencyCode", amount.currency if amount is not None else None)
            _put(entry, "TransDate", record.date)
            _put(entry, "Text", line.description)
            lines.append(entry)
        if lines:
            payload["LedgerJournalLines"] = lines
        return payload


_MAIN_ACCOUNT_TYPE = {
    "Asset": "asset",
    "Liability": "liability",
    "Equity": "equity",
    "Revenue": "income",
    "Expense": "expense",
}


class FoAccountMapper(_FoMapper):
    """``MainAccounts`` <-> :class:`~fincon.models.Account` (``Type``: Asset, Liability, ...)."""

    resource = "account"

    def to_record(self, payload: Mapping[str, Any]) -> Account:
        key = text(payload.get("MainAccountId"))
        kind = text(payload.get("Type"))
        suspended = payload.get("IsSuspended")
        return Account(
            id=key,
            number=key,
            name=str(payload.get("Name") or ""),
            classification=_MAIN_ACCOUNT_TYPE.get(kind or "", kind),
            active=None if suspended is None else suspended in ("No", False),
            source=_source("account", key),
            raw=dict(payload),
        )

    def to_payload(self, record: Account) -> dict[str, Any]:
        payload: dict[str, Any] = {"MainAccountId": record.id or record.number, "Name": record.name}
        if record.classification is not None:
            value = str(getattr(record.classification, "value", record.classification))
            names = {canonical: member for member, canonical in _MAIN_ACCOUNT_TYPE.items()}
            payload["Type"] = names.get(value, value)
        if record.active is not None:
            payload["IsSuspended"] = "No" if record.active else "Yes"
        return payload


#: Finance and Operations mappers by canonical resource.
FO_MAPPERS: dict[str, Any] = {
    "vendor": FoVendorMapper(),
    "customer": FoCustomerMapper(),
    "bill": FoBillMapper(),
    "journal_entry": FoJournalEntryMapper(),
    "account": FoAccountMapper(),
}
