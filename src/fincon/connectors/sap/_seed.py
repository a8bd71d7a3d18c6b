"""Seeded S/4HANA data for the SAP sandbox: business partners, invoices, orders, ledger.

Every factory builds entity ``index`` of one entity set from a :class:`~fincon.sandbox.RecordSeed`
as stored values (``Decimal`` amounts with the currency's decimals, aware datetimes). Related
entities are derived from the same index, so a supplier's address, an invoice's items and a
journal entry's lines exist without being stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fincon.sandbox import IdScheme, RecordSeed, SeedRandom, currency_exponent

__all__ = ["SapSeed"]

Entity = dict[str, Any]

BP_BASE = 10_000_001
INVOICE_BASE = 5_105_600_001
PO_BASE = 4_500_000_001
DOCUMENT_BASE = 100_000_001
OPEN_ITEM_BASE = 1_900_000_001
GL_BASE = 10_010_000
COMPANY_CODE = "1010"
CHART = "YCOA"
_TAX_RATES = {"DE": Decimal("0.19"), "FR": Decimal("0.20"), "NL": Decimal("0.21"), "GB": Decimal("0.20")}
_TAX_CODES = {"DE": "V1", "FR": "V2", "NL": "V3", "GB": "V4", "US": "I0", "JP": "J1"}
_EXPENSE_ACCOUNTS = ("0061000000", "0063000000", "0065000000", "0066000000", "0068000000")
_AP_ACCOUNT = "0021100000"
_BANK_ACCOUNT = "0011001000"
_ACCOUNT_NAMES = (
    "Bank Main Account", "Receivables Domestic", "Inventory Raw Materials", "Payables Domestic",
    "Share Capital", "Revenue Domestic", "Consumption Raw Material", "Office Supplies",
    "Travel Expenses", "Consulting Fees", "Rent Expense", "Interest Income",
)  # fmt: skip
_PAYMENT_TERMS = ("0001", "0002", "ZB30", "NT30", "NT60")
_RECENT_PARTS = 4096  # shared parts kept: several pages of partners, invoices or orders


def _midnight(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc)


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), rounding=ROUND_HALF_UP)


class _Recent:
    """The latest ``limit`` values built by key (read-only values: callers never change them)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._values: dict[tuple[str, int], Any] = {}

    def get(self, key: tuple[str, int], build: Callable[[int], Any]) -> Any:
        value = self._values.get(key)
        if value is None:
            value = self._values[key] = build(key[1])
            if len(self._values) > self.limit:
                del self._values[next(iter(self._values))]  # the oldest (insertion order)
        return value


class SapSeed:
    """The seeded data of one SAP sandbox (``size`` records per canonical resource)."""

    def __init__(self, seed: int, size: int) -> None:
        self.seed = seed
        self.size = size
        self.bp_ids = IdScheme("", 8, start=BP_BASE)
        self.supplier_ids = IdScheme("", 8, start=BP_BASE)
        self.customer_ids = IdScheme("", 8, start=BP_BASE + size)
        self.invoice_ids = IdScheme("", 10, start=INVOICE_BASE)
        self.po_ids = IdScheme("", 10, start=PO_BASE)
        self.gl_ids = IdScheme("", 10, start=GL_BASE)
        self.account_count = max(1, min(size, 500))
        #: Creation instant of seeded record ``index`` of a parent collection (set by the emulator),
        #: so children know their parent's fiscal year without building it.
        self.timelines: dict[str, Callable[[int], datetime]] = {}
        # A partner, its supplier role, address and bank (an invoice, its items and tax) are
        # built one after the other from the same parts: recent parts are kept, not rebuilt.
        self._recent = _Recent(_RECENT_PARTS)

    def moment_of(self, name: str, index: int) -> datetime:
        return self.timelines[name](index)

    def midnight_of(self, name: str, index: int) -> datetime:
        return _midnight(self.moment_of(name, index))

    # -- parties -----------------------------------------------------------------------------------

    def _party(self, bp_index: int) -> dict[str, str]:
        """Name, country, currency and the like of business partner ``bp_index`` (stable)."""
        party: dict[str, str] = self._recent.get(("party", bp_index), self._make_party)
        return party

    def _make_party(self, bp_index: int) -> dict[str, str]:
        random = SeedRandom(self.seed, "sap-party", bp_index)
        country = random.country()
        name = random.company_name()
        return {
            "name": name,
            "country": country,
            "currency": random.currency_for(country),
            "tax": random.tax_id(country),
            "phone": random.phone(),
            "email": random.email(name),
            "bic": random.bic(country if country in ("DE", "GB", "FR", "NL") else "DE"),
            "iban": random.iban(country if country in ("DE", "GB", "FR", "NL") else "DE"),
            "terms": random.choice(_PAYMENT_TERMS),
        }

    def _party_name(self, bp_index: int) -> str:
        """Just the name of business partner ``bp_index`` (the same as its party's): filters
        over partners build many that are never served, and the rest of a party costs more."""
        random = SeedRandom(self.seed, "sap-party", bp_index)
        random.country()  # drawn first, as in the whole party
        return random.company_name()

    def business_partner(self, seed: RecordSeed) -> Entity:
        party = {"name": self._party_name(seed.index)}
        number = seed.id
        supplier = seed.index < self.size
        changed = seed.created_at
        return {
            "BusinessPartner": number,
            "Customer": "" if supplier else number,
            "Supplier": number if supplier else "",
            "BusinessPartnerCategory": "2",
            "BusinessPartnerFullName": party["name"],
            "BusinessPartnerName": party["name"][:81],
            "BusinessPartnerGrouping": "BP02" if supplier else "BP03",
            "OrganizationBPName1": party["name"][:40],
            "OrganizationBPName2": "",
            "SearchTerm1": party["name"].split()[0].upper()[:20],
            "CreationDate": _midnight(seed.created_at),
            "CreatedByUser": "FINCON",
            "LastChangeDate": _midnight(changed),
            "LastChangeTime": timedelta(hours=changed.hour, minutes=changed.minute, seconds=changed.second),
            "BusinessPartnerIsBlocked": seed.index % 97 == 0,
            "IsNaturalPerson": "",
            "Language": "EN",
        }

    def supplier(self, seed: RecordSeed) -> Entity:
        party = self._party(seed.index)
        return {
            "Supplier": seed.id,
            "SupplierName": party["name"][:80],
            "SupplierFullName": party["name"],
            "SupplierAccountGroup": "SUPL",
            "CreationDate": _midnight(seed.created_at),
            "CreatedByUser": "FINCON",
            "VATRegistration": party["tax"] if party["country"] != "US" else "",
            "TaxNumber1": party["tax"] if party["country"] == "US" else "",
            "PaymentIsBlockedForSupplier": seed.index % 89 == 0,
            "PostingIsBlocked": seed.index % 97 == 0,
            "PurchasingIsBlocked": False,
            "DeletionIndicator": False,
        }

    def customer(self, seed: RecordSeed) -> Entity:
        party = self._party(self.size + seed.index)
        return {
            "Customer": seed.id,
            "CustomerName": party["name"][:80],
            "CustomerFullName": party["name"],
            "CustomerAccountGroup": "CUST",
            "CreationDate": _midnight(seed.created_at),
            "CreatedByUser": "FINCON",
            "VATRegistration": party["tax"] if party["country"] != "US" else "",
            "TaxNumber1": party["tax"] if party["country"] == "US" else "",
            "PostingIsBlocked": seed.index % 97 == 0,
            "DeletionIndicator": False,
        }

    def address(self, seed: RecordSeed) -> Entity:
        party = self._party(seed.index)
        random = SeedRandom(self.seed, "sap-address", seed.index)
        place = random.address(party["country"])
        number, _, street = place["line1"].partition(" ")
        return {
            "BusinessPartner": self.bp_ids.format(seed.index),
            "AddressID": f"{20_000_000 + seed.index}",
            "StreetName": street,
            "HouseNumber": number,
            "CityName": place["city"],
            "PostalCode": place["postal_code"],
            "Country": party["country"],
            "Region": "",
            "Language": "EN",
        }

    def bank(self, seed: RecordSeed) -> Entity:
        party = self._party(seed.index)
        iban = party["iban"]
        return {
            "BusinessPartner": self.bp_ids.format(seed.index),
            "BankIdentification": "0001",
            "BankCountryKey": iban[:2],
            "BankName": f"{party['name'].split()[0]} Bank",
            "BankNumber": iban[4:12],
            "SWIFTCode": party["bic"],
            "BankAccountHolderName": party["name"][:60],
            "IBAN": iban,
            "BankAccount": iban[-10:],
        }

    # -- supplier invoices -------------------------------------------------------------------------

    def _invoice_parts(self, index: int) -> tuple[str, str, list[Decimal], Decimal]:
        """Supplier, currency, item amounts and tax of invoice ``index``."""
        parts: tuple[str, str, list[Decimal], Decimal] = self._recent.get(
            ("invoice", index), self._make_invoice_parts
        )
        return parts

    def _make_invoice_parts(self, index: int) -> tuple[str, str, list[Decimal], Decimal]:
        random = SeedRandom(self.seed, "sap-invoice", index)
        supplier_index = (index * 7919) % max(self.size, 1)
        party = self._party(supplier_index)
        currency = party["currency"]
        items = [random.amount(currency, 20, 4000) for _ in range(2)]
        rate = _TAX_RATES.get(party["country"], Decimal("0.10"))
        tax = _round(sum(items, Decimal(0)) * rate, currency)
        return self.supplier_ids.format(supplier_index), currency, items, tax

    def supplier_invoice(self, seed: RecordSeed) -> Entity:
        supplier, currency, items, tax = self._invoice_parts(seed.index)
        document_date = _midnight(seed.created_at)
        random = SeedRandom(self.seed, "sap-invoice-header", seed.index)
        return {
            "SupplierInvoice": seed.id,
            "FiscalYear": f"{document_date.year}",
            "CompanyCode": COMPANY_CODE,
            "DocumentDate": document_date,
            "PostingDate": document_date,
            "CreationDate": document_date,
            "InvoicingParty": supplier,
            "SupplierInvoiceIDByInvcgParty": f"INV-{random.string('0123456789', 8)}",
            "DocumentCurrency": currency,
            "InvoiceGrossAmount": sum(items, Decimal(0)) + tax,
            "DocumentHeaderText": "Sandbox invoice",
            "PaymentTerms": random.choice(_PAYMENT_TERMS),
            "DueCalculationBaseDate": document_date,
            "NetPaymentDays": Decimal(30),
            "SupplierInvoiceStatus": "5",
            "TaxIsCalculatedAutomatically": False,
            "AccountingDocumentType": "RE",
            "SupplierInvoiceIsCreditMemo": "",
            "IsReversed": False,
        }

    def invoice_gl_item(self, seed: RecordSeed) -> Entity:
        invoice, item = divmod(seed.index, 2)
        created = self.midnight_of("invoice", invoice)
        _, currency, items, _ = self._invoice_parts(invoice)
        return {
            "SupplierInvoice": self.invoice_ids.format(invoice),
            "FiscalYear": f"{created.year}",
            "SupplierInvoiceItem": f"{item + 1}",
            "CompanyCode": COMPANY_CODE,
            "GLAccount": _EXPENSE_ACCOUNTS[(invoice + item) % len(_EXPENSE_ACCOUNTS)],
            "CostCenter": f"10101{(invoice % 9) + 1:03d}",
            "DocumentCurrency": currency,
            "SupplierInvoiceItemAmount": items[item],
            "TaxCode": "V1",
            "DebitCreditCode": "S",
            "SupplierInvoiceItemText": f"Service line {item + 1}",
        }

    def invoice_tax(self, seed: RecordSeed) -> Entity:
        created = self.midnight_of("invoice", seed.index)
        _, currency, items, tax = self._invoice_parts(seed.index)
        return {
            "SupplierInvoice": self.invoice_ids.format(seed.index),
            "FiscalYear": f"{created.year}",
            "TaxCode": "V1",
            "SupplierInvoiceTaxCounter": "1",
            "DocumentCurrency": currency,
            "TaxAmount": tax,
            "TaxBaseAmountInTransCrcy": sum(items, Decimal(0)),
        }

    # -- purchase orders ---------------------------------------------------------------------------

    def _order_parts(self, index: int) -> tuple[str, str, list[tuple[Decimal, Decimal]]]:
        parts: tuple[str, str, list[tuple[Decimal, Decimal]]] = self._recent.get(
            ("order", index), self._make_order_parts
        )
        return parts

    def _make_order_parts(self, index: int) -> tuple[str, str, list[tuple[Decimal, Decimal]]]:
        random = SeedRandom(self.seed, "sap-order", index)
        supplier_index = (index * 104_729) % max(self.size, 1)
        party = self._party(supplier_index)
        currency = party["currency"]
        lines = [(Decimal(random.between(1, 50)), random.amount(currency, 5, 800)) for _ in range(2)]
        return self.supplier_ids.format(supplier_index), currency, lines

    def purchase_order(self, seed: RecordSeed) -> Entity:
        supplier, currency, _ = self._order_parts(seed.index)
        return {
            "PurchaseOrder": seed.id,
            "CompanyCode": COMPANY_CODE,
            "PurchaseOrderType": "NB",
            "PurchasingProcessingStatus": "05",
            "CreatedByUser": "FINCON",
            "CreationDate": _midnight(seed.created_at),
            "LastChangeDateTime": seed.created_at,
            "Supplier": supplier,
            "Language": "EN",
            "PaymentTerms": "0001",
            "PurchasingOrganization": "1010",
            "PurchasingGroup": "001",
            "PurchaseOrderDate": _midnight(seed.created_at),
            "DocumentCurrency": currency,
        }

    def purchase_order_item(self, seed: RecordSeed) -> Entity:
        order, item = divmod(seed.index, 2)
        _, currency, lines = self._order_parts(order)
        quantity, price = lines[item]
        return {
            "PurchaseOrder": self.po_ids.format(order),
            "PurchaseOrderItem": f"{(item + 1) * 10}",
            "PurchaseOrderItemText": f"Material {order % 1000:03d}-{item + 1}",
            "Plant": "1010",
            "MaterialGroup": "L001",
            "OrderQuantity": quantity,
            "PurchaseOrderQuantityUnit": "EA",
            "DocumentCurrency": currency,
            "NetPriceAmount": price,
            "NetPriceQuantity": Decimal(1),
            "TaxCode": "V1",
            "IsCompletelyDelivered": False,
            "IsFinallyInvoiced": False,
            "AccountAssignmentCategory": "K",
        }

    # -- ledger ------------------------------------------------------------------------------------

    def gl_account(self, seed: RecordSeed) -> Entity:
        number = int(seed.id)
        first = int(seed.id.lstrip("0")[:1] or "0")
        balance_sheet = first in (1, 2, 3)
        return {
            "ChartOfAccounts": CHART,
            "GLAccount": seed.id,
            "IsBalanceSheetAccount": balance_sheet,
            "IsProfitLossAccount": not balance_sheet,
            "GLAccountGroup": "BS" if balance_sheet else "PL",
            "GLAccountType": "X" if balance_sheet else "P",
            "ProfitLossAccountType": "" if balance_sheet else "X",
            "AccountIsBlockedForPosting": number % 53 == 0,
            "AccountIsMarkedForDeletion": False,
            "CreationDate": _midnight(seed.created_at),
            "CreatedByUser": "FINCON",
            "LastChangeDateTime": seed.created_at,
        }

    def gl_account_text(self, seed: RecordSeed) -> Entity:
        return {
            "ChartOfAccounts": CHART,
            "GLAccount": self.gl_ids.format(seed.index),
            "Language": "EN",
            "GLAccountName": _ACCOUNT_NAMES[seed.index % len(_ACCOUNT_NAMES)][:20],
            "GLAccountLongName": f"{_ACCOUNT_NAMES[seed.index % len(_ACCOUNT_NAMES)]} {seed.index + 1}",
            "LastChangeDateTime": seed.created_at,
        }

    def gl_line_item(self, seed: RecordSeed) -> Entity:
        document, line = divmod(seed.index, 2)
        random = SeedRandom(self.seed, "sap-journal", document)
        currency = "EUR"
        amount = random.amount(currency, 10, 25_000)
        posted = self.moment_of("journal", document)
        debit = line == 0
        return {
            "ID": seed.id,
            "SourceLedger": "0L",
            "Ledger": "0L",
            "CompanyCode": COMPANY_CODE,
            "FiscalYear": f"{posted.year}",
            "AccountingDocument": f"{DOCUMENT_BASE + document}",
            "LedgerGLLineItem": f"{line + 1:06d}",
            "AccountingDocumentItem": f"{line + 1:03d}",
            "ChartOfAccounts": CHART,
            "GLAccount": _EXPENSE_ACCOUNTS[document % len(_EXPENSE_ACCOUNTS)] if debit else _BANK_ACCOUNT,
            "DebitCreditCode": "S" if debit else "H",
            "TransactionCurrency": currency,
            "AmountInTransactionCurrency": amount if debit else -amount,
            "CompanyCodeCurrency": currency,
            "AmountInCompanyCodeCurrency": amount if debit else -amount,
            "PostingDate": _midnight(posted),
            "DocumentDate": _midnight(posted),
            "AccountingDocumentType": "SA",
            "DocumentItemText": "Accrual" if debit else "Bank clearing",
            "CostCenter": f"10101{(document % 9) + 1:03d}" if debit else "",
            "LastChangeDateTime": posted,
            "CreationDateTime": posted,
            "IsReversal": False,
            "IsReversed": False,
        }

    def open_item(self, seed: RecordSeed) -> Entity:
        supplier, currency, items, tax = self._invoice_parts(seed.index)
        posted = _midnight(seed.created_at)
        gross = sum(items, Decimal(0)) + tax
        return {
            "CompanyCode": COMPANY_CODE,
            "FiscalYear": f"{posted.year}",
            "AccountingDocument": seed.id,
            "AccountingDocumentItem": "1",
            "ChartOfAccounts": CHART,
            "FinancialAccountType": "K",
            "DebitCreditCode": "H",
            "Supplier": supplier,
            "SupplierName": self._party((seed.index * 7919) % max(self.size, 1))["name"][:80],
            "GLAccount": _AP_ACCOUNT,
            "IsCleared": False,
            "PostingDate": posted,
            "DocumentDate": posted,
            "NetDueDate": posted + timedelta(days=30),
            "PaymentTerms": "0001",
            "TransactionCurrency": currency,
            "AmountInTransactionCurrency": -gross,
            "CompanyCodeCurrency": currency,
            "AmountInCompanyCodeCurrency": -gross,
            "AccountingDocumentType": "RE",
            "DocumentItemText": "Supplier invoice",
        }
