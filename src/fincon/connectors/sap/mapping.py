"""SAP S/4HANA OData V2 entities <-> canonical records: the one place this mapping lives.

Payloads are entities as SAP sends them in verbose JSON (``Edm.Decimal`` as strings,
``Edm.DateTime`` as ``/Date(ms)/``), with the navigation properties the connector expands.

- ``vendor``: ``A_BusinessPartner`` (id = ``BusinessPartner``, which is the supplier number) with
  ``to_Supplier`` (``SupplierName``, ``VATRegistration``, blocks), ``to_BusinessPartnerAddress``
  and ``to_BusinessPartnerBank`` (``IBAN``, ``SWIFTCode``). ``name`` is ``OrganizationBPName1``
  (the organisation's name line 1), ``legal_name`` the full name; ``updated_at`` is
  ``LastChangeDate`` + ``LastChangeTime`` (UTC).
- ``customer``: ``A_Customer`` (``CustomerName``, ``VATRegistration``/``TaxNumber1``).
- ``bill``: ``A_SupplierInvoice``, id ``"<SupplierInvoice>/<FiscalYear>"`` (the composite key),
  ``total`` = ``InvoiceGrossAmount``, lines from ``to_SupplierInvoiceItemGLAcct``, ``tax`` from
  ``to_SupplierInvoiceTax``; a credit line (``DebitCreditCode`` ``H``) is a negative amount.
- ``purchase_order``: ``A_PurchaseOrder`` with ``to_PurchaseOrderItem``; ``updated_at`` =
  ``LastChangeDateTime``.
- ``account``: ``A_GLAccountInChartOfAccounts`` with ``to_Text`` (the name in the logon language).
- ``journal_entry``: the ``GLAccountLineItem`` s of one accounting document
  (``{"CompanyCode", "FiscalYear", "AccountingDocument", "lines": [...]}``): ``S`` lines are
  debits, ``H`` lines credits (``AmountInTransactionCurrency`` is signed; its absolute value is used).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from fincon.models import (
    Account,
    Address,
    BankDetails,
    Bill,
    Customer,
    JournalEntry,
    JournalLine,
    LineItem,
    Money,
    PurchaseOrder,
    Ref,
    Source,
    Vendor,
)
from fincon.transform import format_sap_date, format_sap_datetime, parse_sap_date, parse_sap_datetime

__all__ = [
    "MAPPERS",
    "AccountMapper",
    "BillMapper",
    "CustomerMapper",
    "JournalEntryMapper",
    "PurchaseOrderMapper",
    "VendorMapper",
    "bill_id",
    "split_bill_id",
]

SYSTEM = "sap"
JSON = dict[str, Any]
_DURATION = re.compile(r"PT(\d+)H(\d+)M(\d+)S")


def _results(value: Any) -> list[Mapping[str, Any]]:
    # Read only: the entities are not copied (the record's ``raw`` holds the whole payload).
    if isinstance(value, Mapping):
        value = value.get("results")
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _one(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping) and "__deferred" not in value:
        return value
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, (bool, float)):
        raise TypeError("an Edm.Decimal arrives as a string (or an exact JSON number), never a float")
    return Decimal(str(value))


def _money(value: Any, currency: Any) -> Money | None:
    amount = _decimal(value)
    return None if amount is None or not _text(currency) else Money(amount, str(currency))


def _date(value: Any) -> date | None:
    return parse_sap_date(value) if _text(value) else None


def _datetime(value: Any) -> datetime | None:
    if not _text(value):
        return None
    if str(value).startswith("/Date("):
        return parse_sap_datetime(value)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    # Edm.DateTime carries no offset; SAP Gateway sends such timestamps in UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _duration(value: Any) -> timedelta:
    found = _DURATION.fullmatch(str(value or ""))
    if found is None:
        return timedelta(0)
    hours, minutes, seconds = (int(part) for part in found.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _duration_text(value: datetime) -> str:
    return f"PT{value.hour:02d}H{value.minute:02d}M{value.second:02d}S"


def _drop_none(payload: JSON) -> JSON:
    return {key: value for key, value in payload.items() if value is not None}


def _amount_text(value: Money | None) -> str | None:
    return None if value is None else format(value.amount, "f")


# -- parties -------------------------------------------------------------------------------------------


def _address(entity: Mapping[str, Any]) -> Address:
    street = " ".join(
        part for part in (_text(entity.get("HouseNumber")), _text(entity.get("StreetName"))) if part
    )
    return Address(
        line1=street or None,
        city=_text(entity.get("CityName")),
        region=_text(entity.get("Region")),
        postal_code=_text(entity.get("PostalCode")),
        country=_text(entity.get("Country")),
    )


def _address_payload(address: Address) -> JSON:
    number, _, street = (address.line1 or "").partition(" ")
    if not number.isdigit():  # "Main St" without a house number
        number, street = "", address.line1 or ""
    return _drop_none(
        {
            "HouseNumber": number or None,
            "StreetName": street or None,
            "CityName": address.city,
            "Region": address.region,
            "PostalCode": address.postal_code,
            "Country": address.country,
            "Language": "EN",
        }
    )


def _bank(entity: Mapping[str, Any]) -> BankDetails:
    return BankDetails(
        account_holder=_text(entity.get("BankAccountHolderName")),
        iban=_text(entity.get("IBAN")),
        bic=_text(entity.get("SWIFTCode")),
        account_number=_text(entity.get("BankAccount")),
        bank_name=_text(entity.get("BankName")),
        country=_text(entity.get("BankCountryKey")),
    )


def _bank_payload(bank: BankDetails, index: int) -> JSON:
    return _drop_none(
        {
            "BankIdentification": f"{index + 1:04d}",
            "BankCountryKey": bank.country or (bank.iban[:2] if bank.iban else None),
            "BankName": bank.bank_name,
            "SWIFTCode": bank.bic,
            "BankAccountHolderName": bank.account_holder,
            "IBAN": bank.iban,
            "BankAccount": bank.account_number,
        }
    )


class VendorMapper:
    """``A_BusinessPartner`` with ``to_Supplier``, addresses and banks <-> :class:`Vendor`."""

    def to_record(self, payload: Mapping[str, Any]) -> Vendor:
        supplier = _one(payload.get("to_Supplier")) or {}
        number = str(payload.get("Supplier") or supplier.get("Supplier") or payload["BusinessPartner"])
        name = _text(payload.get("OrganizationBPName1")) or _text(supplier.get("SupplierName")) or number
        legal = _text(payload.get("BusinessPartnerFullName"))
        changed = _datetime(payload.get("LastChangeDate"))
        if changed is not None:
            changed = changed.astimezone(timezone.utc) + _duration(payload.get("LastChangeTime"))
        blocked = bool(payload.get("BusinessPartnerIsBlocked")) or bool(supplier.get("PostingIsBlocked"))
        return Vendor(
            id=number,
            external_id=_text(payload.get("BusinessPartnerIDByExtSystem")),
            source=Source(system=SYSTEM, resource="A_BusinessPartner", id=str(payload["BusinessPartner"])),
            updated_at=changed,
            name=name,
            legal_name=legal if legal != name else None,
            tax_id=_text(supplier.get("VATRegistration")) or _text(supplier.get("TaxNumber1")),
            addresses=[_address(item) for item in _results(payload.get("to_BusinessPartnerAddress"))],
            bank_accounts=[_bank(item) for item in _results(payload.get("to_BusinessPartnerBank"))],
            status="blocked" if blocked else "active",
            raw=dict(payload),
        )

    def to_payload(self, record: Vendor) -> JSON:
        """The deep insert creating a supplier: a business partner in the supplier role."""
        legal = record.legal_name or record.name
        payload: JSON = {
            "BusinessPartnerCategory": "2",
            "BusinessPartnerGrouping": "BP02",
            "OrganizationBPName1": record.name[:40],
            "BusinessPartnerFullName": legal[:81],
            "BusinessPartnerIsBlocked": record.status is not None and str(record.status) == "blocked",
            "to_Supplier": _drop_none({"SupplierName": record.name[:80], "VATRegistration": record.tax_id}),
        }
        if record.id:
            payload["BusinessPartner"] = record.id
            payload["to_Supplier"]["Supplier"] = record.id
        if record.external_id:
            payload["BusinessPartnerIDByExtSystem"] = record.external_id
        if record.addresses:
            payload["to_BusinessPartnerAddress"] = {
                "results": [_address_payload(a) for a in record.addresses]
            }
        if record.bank_accounts:
            payload["to_BusinessPartnerBank"] = {
                "results": [_bank_payload(bank, index) for index, bank in enumerate(record.bank_accounts)]
            }
        if record.updated_at is not None:
            moment = record.updated_at.astimezone(timezone.utc)
            payload["LastChangeDate"] = format_sap_date(moment.date())
            payload["LastChangeTime"] = _duration_text(moment)
        return payload

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        """A ``MERGE`` body for ``A_BusinessPartner`` (only header fields can be merged)."""
        out: JSON = {}
        for name, value in changes.items():
            if name == "name":
                out["OrganizationBPName1"] = str(value)[:40]
            elif name == "legal_name":
                out["BusinessPartnerFullName"] = None if value is None else str(value)[:81]
            elif name == "external_id":
                out["BusinessPartnerIDByExtSystem"] = value
            elif name == "status":
                out["BusinessPartnerIsBlocked"] = value is not None and str(value) == "blocked"
            else:
                raise ValueError(f"SAP cannot change vendor.{name} through A_BusinessPartner")
        return out


class CustomerMapper:
    """``A_Customer`` <-> :class:`Customer`."""

    def to_record(self, payload: Mapping[str, Any]) -> Customer:
        number = str(payload["Customer"])
        name = _text(payload.get("CustomerName")) or number
        full = _text(payload.get("CustomerFullName"))
        return Customer(
            id=number,
            source=Source(system=SYSTEM, resource="A_Customer", id=number),
            name=name,
            legal_name=full if full != name else None,
            tax_id=_text(payload.get("VATRegistration")) or _text(payload.get("TaxNumber1")),
            status="blocked" if payload.get("PostingIsBlocked") else "active",
            raw=dict(payload),
        )

    def to_payload(self, record: Customer) -> JSON:
        return _drop_none(
            {
                "Customer": record.id,
                "CustomerName": record.name[:80],
                "CustomerFullName": record.legal_name,
                "VATRegistration": record.tax_id,
                "PostingIsBlocked": record.status is not None and str(record.status) == "blocked",
            }
        )

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        fields = {"name": "CustomerName", "legal_name": "CustomerFullName", "tax_id": "VATRegistration"}
        out: JSON = {}
        for name, value in changes.items():
            if name not in fields:
                raise ValueError(f"SAP cannot change customer.{name} through A_Customer")
            out[fields[name]] = value
        return out


# -- documents -----------------------------------------------------------------------------------------


def bill_id(supplier_invoice: str, fiscal_year: str) -> str:
    """The canonical id of a supplier invoice: ``"5105600001/2024"`` (its two key fields)."""
    return f"{supplier_invoice}/{fiscal_year}"


def split_bill_id(value: str) -> tuple[str, str]:
    """``"5105600001/2024"`` -> ``("5105600001", "2024")``; ``ValueError`` for another shape."""
    invoice, slash, year = value.partition("/")
    if not slash or not invoice or len(year) != 4 or not year.isdigit():
        raise ValueError(f"an SAP bill id is '<SupplierInvoice>/<FiscalYear>', not {value!r}")
    return invoice, year


def _signed(amount: Decimal | None, code: Any) -> Decimal | None:
    return None if amount is None else (-amount if code == "H" else amount)


def _company_code(record: Bill) -> str:
    """The company code a bill posts to: the lines' ``company_code`` dimension (or, for a
    record read from SAP, its ``CompanyCode``). Never guessed: a wrong one posts to another company."""
    codes = {line.dimensions["company_code"] for line in record.lines if line.dimensions.get("company_code")}
    if not codes and record.raw and _text(record.raw.get("CompanyCode")):
        codes = {str(record.raw["CompanyCode"])}
    if len(codes) != 1:
        raise ValueError(
            "an SAP supplier invoice needs exactly one company code: set dimensions['company_code'] "
            f"on its lines (found {sorted(codes) or 'none'})"
        )
    return codes.pop()


def _tax_code(record: Bill) -> str:
    code = next((line.tax_code for line in record.lines if line.tax_code), None)
    if code is None:
        raise ValueError("an SAP supplier invoice with tax needs a tax_code on one of its lines")
    return code


class BillMapper:
    """``A_SupplierInvoice`` with G/L account items and tax <-> :class:`Bill`."""

    def to_record(self, payload: Mapping[str, Any]) -> Bill:
        currency = _text(payload.get("DocumentCurrency"))
        lines = []
        for item in _results(payload.get("to_SupplierInvoiceItemGLAcct")):
            amount = _signed(_decimal(item.get("SupplierInvoiceItemAmount")), item.get("DebitCreditCode"))
            item_currency = _text(item.get("DocumentCurrency")) or currency
            dimensions = {
                key: str(item[field])
                for key, field in (
                    ("company_code", "CompanyCode"),
                    ("cost_center", "CostCenter"),
                    ("profit_center", "ProfitCenter"),
                )
                if _text(item.get(field))
            }
            lines.append(
                LineItem(
                    id=_text(item.get("SupplierInvoiceItem")),
                    line_number=int(item["SupplierInvoiceItem"])
                    if str(item.get("SupplierInvoiceItem", "")).isdigit()
                    else None,
                    description=_text(item.get("SupplierInvoiceItemText")),
                    amount=None if amount is None or item_currency is None else Money(amount, item_currency),
                    account=Ref(str(item["GLAccount"])) if _text(item.get("GLAccount")) else None,
                    tax_code=_text(item.get("TaxCode")),
                    dimensions=dimensions,
                )
            )
        taxes = _results(payload.get("to_SupplierInvoiceTax"))
        tax = None
        if taxes and currency:
            tax = Money(
                sum((_decimal(item.get("TaxAmount")) or Decimal(0) for item in taxes), Decimal(0)), currency
            )
        subtotal = None
        if lines and currency and all(line.amount is not None for line in lines):
            subtotal = Money(sum((line.amount.amount for line in lines if line.amount), Decimal(0)), currency)
        invoice, year = str(payload["SupplierInvoice"]), str(payload["FiscalYear"])
        status = {"5": "open", "A": "draft", "B": "draft", "D": "draft", "E": "draft"}.get(
            str(payload.get("SupplierInvoiceStatus") or ""), _text(payload.get("SupplierInvoiceStatus"))
        )
        if payload.get("IsReversed"):
            status = "void"
        return Bill(
            id=bill_id(invoice, year),
            external_id=_text(payload.get("SupplierInvoiceIDByInvcgParty")),
            source=Source(system=SYSTEM, resource="A_SupplierInvoice", id=invoice),
            number=_text(payload.get("SupplierInvoiceIDByInvcgParty")) or invoice,
            vendor=Ref(str(payload["InvoicingParty"])) if _text(payload.get("InvoicingParty")) else None,
            issue_date=_date(payload.get("DocumentDate")),
            currency=currency,
            lines=lines,
            subtotal=subtotal,
            tax=tax,
            total=_money(payload.get("InvoiceGrossAmount"), currency),
            status=status,
            memo=_text(payload.get("DocumentHeaderText")),
            raw=dict(payload),
        )

    def to_payload(self, record: Bill) -> JSON:
        """The deep insert posting a supplier invoice with G/L account items."""
        if record.vendor is None or not record.vendor.id:
            raise ValueError("an SAP supplier invoice needs vendor (the invoicing party)")
        if record.total is None or record.issue_date is None:
            raise ValueError("an SAP supplier invoice needs total and issue_date")
        currency = record.currency or record.total.currency
        company = _company_code(record)
        payload: JSON = _drop_none(
            {
                "CompanyCode": company,
                "DocumentDate": format_sap_date(record.issue_date),
                "PostingDate": format_sap_date(record.issue_date),
                "InvoicingParty": record.vendor.id,
                "SupplierInvoiceIDByInvcgParty": record.number,
                "DocumentCurrency": currency,
                "InvoiceGrossAmount": _amount_text(record.total),
                "DocumentHeaderText": record.memo,
                "TaxIsCalculatedAutomatically": False,
            }
        )
        items = []
        for index, line in enumerate(record.lines):
            if line.amount is None:
                raise ValueError(f"lines.{index}.amount is required for an SAP G/L account item")
            items.append(
                _drop_none(
                    {
                        "SupplierInvoiceItem": line.id or f"{index + 1}",
                        "CompanyCode": company,
                        "GLAccount": line.account.id if line.account else None,
                        "CostCenter": line.dimensions.get("cost_center"),
                        "ProfitCenter": line.dimensions.get("profit_center"),
                        "DocumentCurrency": line.amount.currency,
                        "SupplierInvoiceItemAmount": format(abs(line.amount.amount), "f"),
                        "DebitCreditCode": "H" if line.amount.amount < 0 else "S",
                        "TaxCode": line.tax_code,
                        "SupplierInvoiceItemText": line.description,
                    }
                )
            )
        if items:
            payload["to_SupplierInvoiceItemGLAcct"] = {"results": items}
        if record.tax is not None:
            payload["to_SupplierInvoiceTax"] = {
                "results": [
                    {
                        "TaxCode": _tax_code(record),
                        "SupplierInvoiceTaxCounter": "1",
                        "DocumentCurrency": record.tax.currency,
                        "TaxAmount": _amount_text(record.tax),
                    }
                ]
            }
        return payload

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        raise ValueError("posted SAP supplier invoices cannot be changed (reverse and repost them)")


class PurchaseOrderMapper:
    """``A_PurchaseOrder`` with ``to_PurchaseOrderItem`` <-> :class:`PurchaseOrder`."""

    def to_record(self, payload: Mapping[str, Any]) -> PurchaseOrder:
        currency = _text(payload.get("DocumentCurrency"))
        lines = []
        for item in _results(payload.get("to_PurchaseOrderItem")):
            quantity = _decimal(item.get("OrderQuantity"))
            price = _decimal(item.get("NetPriceAmount"))
            per = _decimal(item.get("NetPriceQuantity")) or Decimal(1)
            item_currency = _text(item.get("DocumentCurrency")) or currency
            unit_price = (
                None
                if price is None or item_currency is None
                else Money(price / per if per != 1 else price, item_currency)
            )
            amount = None
            if unit_price is not None and quantity is not None:
                amount = Money(unit_price.amount * quantity, unit_price.currency)
            lines.append(
                LineItem(
                    id=_text(item.get("PurchaseOrderItem")),
                    line_number=int(item["PurchaseOrderItem"])
                    if str(item.get("PurchaseOrderItem", "")).isdigit()
                    else None,
                    description=_text(item.get("PurchaseOrderItemText")),
                    quantity=quantity,
                    unit_price=unit_price,
                    amount=amount,
                    tax_code=_text(item.get("TaxCode")),
                    item=Ref(str(item["Material"])) if _text(item.get("Material")) else None,
                )
            )
        number = str(payload["PurchaseOrder"])
        deleted = _text(payload.get("PurchasingDocumentDeletionCode"))
        return PurchaseOrder(
            id=number,
            source=Source(system=SYSTEM, resource="A_PurchaseOrder", id=number),
            updated_at=_datetime(payload.get("LastChangeDateTime")),
            number=number,
            vendor=Ref(str(payload["Supplier"])) if _text(payload.get("Supplier")) else None,
            issue_date=_date(payload.get("PurchaseOrderDate")),
            currency=currency,
            lines=lines,
            status="cancelled" if deleted else "open",
            raw=dict(payload),
        )

    def to_payload(self, record: PurchaseOrder) -> JSON:
        payload: JSON = _drop_none(
            {
                "PurchaseOrder": record.id,
                "CompanyCode": "1010",
                "PurchaseOrderType": "NB",
                "PurchasingOrganization": "1010",
                "PurchasingGroup": "001",
                "Supplier": record.vendor.id if record.vendor else None,
                "PurchaseOrderDate": format_sap_date(record.issue_date) if record.issue_date else None,
                "DocumentCurrency": record.currency,
                "LastChangeDateTime": format_sap_datetime(record.updated_at, with_offset=True)
                if record.updated_at
                else None,
            }
        )
        items = [
            _drop_none(
                {
                    "PurchaseOrderItem": line.id or f"{(index + 1) * 10}",
                    "PurchaseOrderItemText": line.description,
                    "Plant": "1010",
                    "OrderQuantity": format(line.quantity, "f") if line.quantity is not None else None,
                    "PurchaseOrderQuantityUnit": "EA",
                    "DocumentCurrency": line.unit_price.currency if line.unit_price else None,
                    "NetPriceAmount": _amount_text(line.unit_price),
                    "NetPriceQuantity": "1" if line.unit_price else None,
                    "TaxCode": line.tax_code,
                    "Material": line.item.id if line.item else None,
                }
            )
            for index, line in enumerate(record.lines)
        ]
        if items:
            payload["to_PurchaseOrderItem"] = {"results": items}
        return payload

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        raise ValueError("change SAP purchase orders item by item through native")


# -- ledger -------------------------------------------------------------------------------------------


class AccountMapper:
    """``A_GLAccountInChartOfAccounts`` with ``to_Text`` <-> :class:`Account`."""

    def to_record(self, payload: Mapping[str, Any]) -> Account:
        number = str(payload["GLAccount"])
        texts = _results(payload.get("to_Text"))
        text = next((item for item in texts if item.get("Language") == "EN"), texts[0] if texts else {})
        balance_sheet = payload.get("IsBalanceSheetAccount")
        classification = None
        first = number.lstrip("0")[:1]
        if balance_sheet is True:
            classification = {"1": "asset", "2": "liability", "3": "equity"}.get(first, "asset")
        elif balance_sheet is False:
            classification = "income" if first in ("4", "5", "7") else "expense"
        return Account(
            id=f"{payload['ChartOfAccounts']}/{number}",
            source=Source(system=SYSTEM, resource="A_GLAccountInChartOfAccounts", id=number),
            updated_at=_datetime(payload.get("LastChangeDateTime")),
            number=number,
            name=_text(text.get("GLAccountLongName")) or _text(text.get("GLAccountName")) or number,
            classification=classification,
            type=_text(payload.get("GLAccountType")),
            active=not (
                payload.get("AccountIsBlockedForPosting") or payload.get("AccountIsMarkedForDeletion")
            ),
            raw=dict(payload),
        )

    def to_payload(self, record: Account) -> JSON:
        chart, _, number = (record.id or "YCOA/").partition("/")
        payload: JSON = _drop_none(
            {
                "ChartOfAccounts": chart or "YCOA",
                "GLAccount": number or record.number,
                "IsBalanceSheetAccount": None
                if record.classification is None
                else str(record.classification) in ("asset", "liability", "equity"),
                "GLAccountType": None if record.type is None else str(record.type),
                "AccountIsBlockedForPosting": None if record.active is None else not record.active,
                "LastChangeDateTime": format_sap_datetime(record.updated_at, with_offset=True)
                if record.updated_at
                else None,
            }
        )
        payload["to_Text"] = {"results": [{"Language": "EN", "GLAccountLongName": record.name}]}
        return payload

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        raise ValueError("the G/L account API is read-only here")


def journal_document_key(line: Mapping[str, Any]) -> tuple[str, str, str]:
    """The accounting document a ledger line belongs to: company code, fiscal year, number."""
    return (str(line.get("CompanyCode")), str(line.get("FiscalYear")), str(line.get("AccountingDocument")))


class JournalEntryMapper:
    """The ``GLAccountLineItem`` s of one accounting document <-> :class:`JournalEntry`."""

    def to_record(self, payload: Mapping[str, Any]) -> JournalEntry:
        lines = []
        updated = None
        posted = None
        for item in payload.get("lines") or []:
            currency = _text(item.get("TransactionCurrency"))
            amount = _decimal(item.get("AmountInTransactionCurrency"))
            if amount is None or currency is None:
                raise ValueError("a journal line without an amount in transaction currency")
            money = Money(abs(amount), currency)
            debit = item.get("DebitCreditCode") == "S"
            dimensions = {
                key: str(item[field])
                for key, field in (("cost_center", "CostCenter"),)
                if _text(item.get(field))
            }
            lines.append(
                JournalLine(
                    account=Ref(str(item["GLAccount"])),
                    debit=money if debit else None,
                    credit=None if debit else money,
                    description=_text(item.get("DocumentItemText")),
                    dimensions=dimensions,
                )
            )
            changed = _datetime(item.get("LastChangeDateTime"))
            if changed is not None and (updated is None or changed > updated):
                updated = changed
            posted = posted or _date(item.get("PostingDate"))
        company, year, document = (
            str(payload["CompanyCode"]),
            str(payload["FiscalYear"]),
            str(payload["AccountingDocument"]),
        )
        return JournalEntry(
            id=f"{company}/{year}/{document}",
            source=Source(system=SYSTEM, resource="GLAccountLineItem", id=document),
            updated_at=updated,
            date=posted,
            number=document,
            status="posted",
            lines=lines,
            raw=dict(payload),
        )

    def to_payload(self, record: JournalEntry) -> JSON:
        company, year, document = ([*(record.id or "//").split("/"), "", "", ""])[:3]
        items = []
        for index, line in enumerate(record.lines):
            money = line.debit if line.debit is not None else line.credit
            assert money is not None  # a JournalLine always has a side
            signed = money.amount if line.debit is not None else -money.amount
            items.append(
                _drop_none(
                    {
                        "CompanyCode": company,
                        "FiscalYear": year,
                        "AccountingDocument": document,
                        "LedgerGLLineItem": f"{index + 1:06d}",
                        "GLAccount": line.account.id,
                        "DebitCreditCode": "S" if line.debit is not None else "H",
                        "TransactionCurrency": money.currency,
                        "AmountInTransactionCurrency": format(signed, "f"),
                        "DocumentItemText": line.description,
                        "CostCenter": line.dimensions.get("cost_center"),
                        "PostingDate": format_sap_date(record.date) if record.date else None,
                        "LastChangeDateTime": format_sap_datetime(record.updated_at, with_offset=True)
                        if record.updated_at
                        else None,
                    }
                )
            )
        return {"CompanyCode": company, "FiscalYear": year, "AccountingDocument": document, "lines": items}

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        raise ValueError("posted journal entries cannot be changed")


MAPPERS: dict[str, Any] = {
    "vendor": VendorMapper(),
    "customer": CustomerMapper(),
    "bill": BillMapper(),
    "purchase_order": PurchaseOrderMapper(),
    "account": AccountMapper(),
    "journal_entry": JournalEntryMapper(),
}
"""Resource name -> mapper (used by ``fincon.to_record("sap", ...)`` and the connector)."""
