"""Seed data of the Business Central emulator: one company's entities, generated on demand.

Shapes come from BC's v2.0 ``$metadata`` (the engine serialises every declared property, in
declared order); the factories here only choose values, and fill every non-nullable property.
Ids are GUIDs, one family per entity set (:func:`guid_scheme`); BC's blank enum member is
``_x0020_``. Documents and their lines are laid out as :mod:`._bc_documents` describes;
dimension set lines (one per invoice line) sit at ``2 * line`` (purchase) and ``2 * line + 1``
(sales) of the ``dimensionSetLines`` entity set.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from fincon.connectors.dynamics._bc_documents import (
    DOCUMENTS,
    DocumentKind,
    document_of_line,
    first_line,
    guid_scheme,
    line_amounts,
    line_count,
    totals,
)
from fincon.core.clock import Clock
from fincon.sandbox import IdScheme, RecordSeed, SeedRandom
from fincon.sandbox.odata import ODataService

__all__ = [
    "COMPANY_ID",
    "COMPANY_NAME",
    "LOCAL_CURRENCY",
    "NIL_GUID",
    "BusinessCentralSeed",
]

LOCAL_CURRENCY = "USD"
NIL_GUID = "00000000-0000-0000-0000-000000000000"
COMPANY_IDS = guid_scheme(0xC0C0A000)
COMPANY_ID = COMPANY_IDS.format(0)
COMPANY_NAME = "CRONUS USA, Inc."
VENDOR_IDS = guid_scheme(0x7E4D)
CUSTOMER_IDS = guid_scheme(0xC057)
ACCOUNT_IDS = guid_scheme(0xACC0)
DIMENSION_LINE_IDS = guid_scheme(0xD1E0)
_DOC_CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP", "JPY")
_PARTIES = 50  # documents and payments refer to the first 50 vendors and customers
_ACCOUNTS = 40


def _address(random: SeedRandom) -> dict[str, str]:
    country = random.choice(("US", "US", "GB", "DE"))
    address = random.address(country)
    return {
        "addressLine1": address["line1"],
        "addressLine2": "",
        "city": address["city"][:30],
        "state": "",
        "postalCode": address["postal_code"],
        "country": country,
    }


class BusinessCentralSeed:
    """Seeds the stores of one BC service (the company ``COMPANY_ID``)."""

    def __init__(self, service: ODataService, *, seed: int, size: int, clock: Clock) -> None:
        self.service = service
        self.seed_value = seed
        self.size = size
        self.clock = clock
        self._defaults: dict[str, dict[str, Any]] = {}
        # A document's lines are built to total it, and read again right after when it is
        # expanded: the last few documents' lines are kept (bounded) so that is done once.
        self._recent_lines: OrderedDict[tuple[str, int], list[dict[str, Any]]] = OrderedDict()
        self._line_random = {kind.lines: SeedRandom(seed, kind.lines) for kind in DOCUMENTS.values()}
        self._currency_random = {
            kind.entity_set: SeedRandom(seed, kind.entity_set, "currency") for kind in DOCUMENTS.values()
        }

    def complete(self, entity_set: str, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with a value for every non-nullable property it lacks."""
        defaults = self._defaults.get(entity_set)
        if defaults is None:
            defaults = self._defaults[entity_set] = self.service.defaults(entity_set)
        missing = [name for name in defaults if data.get(name) is None]
        for name in missing:
            data[name] = defaults[name]
        return data

    def seed_all(self) -> None:
        size = self.size
        self._seed("companies", self._company, 1, COMPANY_IDS)
        self._seed("companyInformation", self._company_information, 1, guid_scheme(0xC0C0A001))
        self._seed("vendors", self._vendor, size, VENDOR_IDS)
        self._seed("customers", self._customer, size, CUSTOMER_IDS)
        self._seed("vendorPayments", self._payment("vendor"), size, guid_scheme(0x7A10))
        self._seed("customerPayments", self._payment("customer"), size, guid_scheme(0xC0A1))
        self._seed("accounts", self._account, size, ACCOUNT_IDS)
        self._seed("generalLedgerEntries", self._gl_entry, size, guid_scheme(0x61E0))
        self._seed("bankAccounts", self._bank_account, size, guid_scheme(0xBA4C))
        for kind in DOCUMENTS.values():
            self._seed(kind.entity_set, self._document_factory(kind), size, kind.ids)
            self._seed(
                kind.lines,
                self._line_factory(kind),
                first_line(size),
                kind.line_ids,
                children=self._lines_of(kind),
            )
        self._seed(
            "dimensionSetLines",
            self._dimension_line,
            2 * first_line(size),
            DIMENSION_LINE_IDS,
            children=self._dimensions_of,
        )

    def _seed(
        self,
        entity_set: str,
        factory: Callable[[RecordSeed], dict[str, Any]],
        size: int,
        ids: IdScheme,
        *,
        children: Callable[[Mapping[str, Any]], Iterable[str] | None] | None = None,
    ) -> None:
        stamped = "lastModifiedDateTime" in self.service.entity_set(entity_set).type.properties
        defaults = self.service.defaults(entity_set)

        def build(seed: RecordSeed) -> dict[str, Any]:
            data = {"id": seed.id, **factory(seed)}
            if stamped:
                data["lastModifiedDateTime"] = seed.created_at
            for name, value in defaults.items():
                if data.get(name) is None:
                    data[name] = value
            return data

        self.service.seed(
            entity_set,
            factory=build,
            size=size,
            ids=ids,
            seed=self.seed_value,
            clock=self.clock,
            children=children,
            key_ordered=True,
        )

    # -- navigation indexes -----------------------------------------------------------------------

    def _lines_of(self, kind: DocumentKind) -> Callable[[Mapping[str, Any]], Iterable[str] | None]:
        def children(values: Mapping[str, Any]) -> Iterable[str] | None:
            if "documentId" not in values:
                return None
            index = kind.ids.parse(str(values["documentId"]))
            if index is None or index >= self.size:
                return []
            start = first_line(index)
            return [kind.line_ids.format(start + slot) for slot in range(line_count(index))]

        return children

    def _dimensions_of(self, values: Mapping[str, Any]) -> Iterable[str] | None:
        if "parentId" not in values:
            return None
        parent = str(values["parentId"])
        lines = first_line(self.size)
        for offset, kind in enumerate((DOCUMENTS["purchaseInvoices"], DOCUMENTS["salesInvoices"])):
            position = kind.line_ids.parse(parent)
            if position is not None and position < lines:
                return [DIMENSION_LINE_IDS.format(2 * position + offset)]
        return []

    # -- the company ------------------------------------------------------------------------------

    def _company(self, seed: RecordSeed) -> dict[str, Any]:
        created = datetime(2023, 6, 1, tzinfo=timezone.utc)
        return {
            "systemVersion": "24.0.16410.0",
            "name": COMPANY_NAME[:30],
            "displayName": COMPANY_NAME,
            "businessProfileId": "",
            "systemCreatedAt": created,
            "systemModifiedAt": created,
        }

    def _company_information(self, seed: RecordSeed) -> dict[str, Any]:
        return {
            "displayName": COMPANY_NAME,
            **_address(seed.random),
            "phoneNumber": seed.random.phone(),
            "email": "info@cronus.example",
            "currencyCode": LOCAL_CURRENCY,
            "currentFiscalYearStartDate": date(2026, 1, 1),
        }

    # -- parties ------------------------------------------------------------------------------------

    def _party(self, seed: RecordSeed, prefix: str) -> dict[str, Any]:
        random = seed.random
        name = random.company_name()
        return {
            "number": f"{prefix}{seed.index + 10000:05d}",
            "displayName": name[:100],
            **_address(random),
            "phoneNumber": random.phone(),
            "email": random.email(name)[:80],
            "website": "",
            "taxRegistrationNumber": random.tax_id("US"),
            "currencyId": NIL_GUID,
            "currencyCode": LOCAL_CURRENCY,
            "paymentTermsId": NIL_GUID,
            "paymentMethodId": NIL_GUID,
            "taxLiable": random.chance(0.5),
            "blocked": "All" if random.chance(0.05) else "_x0020_",
        }

    def _vendor(self, seed: RecordSeed) -> dict[str, Any]:
        data = self._party(seed, "V")
        data["irs1099Code"] = ""
        data["balance"] = seed.random.amount(LOCAL_CURRENCY, 0, 50_000)
        return data

    def _customer(self, seed: RecordSeed) -> dict[str, Any]:
        data = self._party(seed, "C")
        data.update(
            {
                "type": "Company",
                "salespersonCode": "",
                "balanceDue": seed.random.amount(LOCAL_CURRENCY, 0, 20_000),
                "creditLimit": Decimal(0),
                "taxAreaId": NIL_GUID,
                "taxAreaDisplayName": "",
                "shipmentMethodId": NIL_GUID,
            }
        )
        return data

    def party_of(self, party: str, index: int) -> dict[str, Any]:
        """The id, number and name of seeded vendor or customer ``index`` (documents cite them)."""
        ids = VENDOR_IDS if party == "vendor" else CUSTOMER_IDS
        record = self.service.store("vendors" if party == "vendor" else "customers").collection.get(
            ids.format(index)
        )
        prefix = "V" if party == "vendor" else "C"
        name = record.data.get("displayName") if record is not None else ""
        return {"id": ids.format(index), "number": f"{prefix}{index + 10000:05d}", "name": name}

    # -- documents and lines ------------------------------------------------------------------------

    def _currency(self, kind: DocumentKind, document: int) -> str:
        if kind.party == "customer" or kind.entity_set == "purchaseInvoices":
            return self._currency_random[kind.entity_set].derive(document).choice(_DOC_CURRENCIES)
        return LOCAL_CURRENCY

    def _lines(self, kind: DocumentKind, document: int) -> list[dict[str, Any]]:
        """The seeded lines of ``document`` (shared: callers copy before changing one)."""
        key = (kind.lines, document)
        lines = self._recent_lines.get(key)
        if lines is None:
            lines = [self._line(kind, document, slot) for slot in range(line_count(document))]
            self._recent_lines[key] = lines
            if len(self._recent_lines) > 4096:
                self._recent_lines.popitem(last=False)
        return lines

    def _line(self, kind: DocumentKind, document: int, slot: int) -> dict[str, Any]:
        position = first_line(document) + slot
        random = self._line_random[kind.lines].derive(position)
        line: dict[str, Any] = {
            "id": kind.line_ids.format(position),
            "documentId": kind.ids.format(document),
            "sequence": (slot + 1) * 10000,
        }
        if kind.price_key is None:
            line.update(
                {
                    "lineType": "Item",
                    "lineObjectNumber": f"ITEM-{random.below(100):03d}",
                    "description": "Goods",
                    "quantity": Decimal(random.between(1, 50)),
                }
            )
            return line
        currency = self._currency(kind, document)
        account = random.below(_ACCOUNTS)
        line.update(
            {
                "lineType": "Account",
                "accountId": ACCOUNT_IDS.format(account),
                "lineObjectNumber": f"{1000 + account * 10}",
                "description": random.choice(
                    ("Office supplies", "Consulting", "Freight", "Software licence", "Repairs")
                ),
                "quantity": Decimal(random.between(1, 20)),
                kind.price_key: random.amount(currency, 1, 2_000),
                "taxCode": random.choice(("TAXABLE", "NONTAXABLE")),
                "discountAmount": Decimal(0),
                "discountPercent": Decimal(0),
            }
        )
        line.update(line_amounts(line, currency, kind.price_key))
        return line

    def _line_factory(self, kind: DocumentKind) -> Callable[[RecordSeed], dict[str, Any]]:
        def factory(seed: RecordSeed) -> dict[str, Any]:
            document, slot = document_of_line(seed.index)
            return dict(self._lines(kind, document)[slot])

        return factory

    def _document_factory(self, kind: DocumentKind) -> Callable[[RecordSeed], dict[str, Any]]:
        def factory(seed: RecordSeed) -> dict[str, Any]:
            return self._document(kind, seed)

        return factory

    def _document(self, kind: DocumentKind, seed: RecordSeed) -> dict[str, Any]:
        random = seed.random
        party = self.party_of(kind.party, random.below(min(_PARTIES, max(self.size, 1))))
        issued = seed.created_at.date()
        currency = self._currency(kind, seed.index)
        data: dict[str, Any] = {
            "number": f"{kind.number_prefix}{seed.index + 100000:06d}",
            "postingDate": issued,
            "currencyCode": currency,
            f"{kind.party}Number": party["number"],
            f"{kind.party}Name": party["name"],
        }
        if kind.entity_set == "purchaseReceipts":
            data.update(
                {
                    "invoiceDate": issued,
                    "payToVendorNumber": party["number"],
                    "orderNumber": f"PO{random.below(1000) + 100000:06d}",
                }
            )
            return data
        data.update(
            {
                f"{kind.party}Id": party["id"],
                "currencyId": NIL_GUID,
                "pricesIncludeTax": False,
                "discountAmount": Decimal(0),
                "discountAppliedBeforeTax": False,
            }
        )
        if kind.entity_set == "purchaseOrders":
            data.update(
                {
                    "orderDate": issued,
                    "requestedReceiptDate": date.fromordinal(issued.toordinal() + 14),
                    "status": random.choice(("Draft", "Open", "Open")),
                    "fullyReceived": False,
                    "payToVendorNumber": party["number"],
                }
            )
        else:
            data.update(
                {
                    "invoiceDate": issued,
                    "dueDate": date.fromordinal(issued.toordinal() + 30),
                    "status": random.choice(("Draft", "Open", "Open", "Paid")),
                }
            )
            if kind.party == "vendor":
                data["vendorInvoiceNumber"] = f"INV-{random.between(1000, 99999)}"
                data["payToVendorNumber"] = party["number"]
            else:
                data["externalDocumentNumber"] = f"EXT-{random.between(1000, 99999)}"
                data["billToCustomerNumber"] = party["number"]
        data.update(totals(self._lines(kind, seed.index)))
        if kind.remaining:
            data["remainingAmount"] = (
                Decimal(0) if data["status"] == "Paid" else data["totalAmountIncludingTax"]
            )
        return data

    def _dimension_line(self, seed: RecordSeed) -> dict[str, Any]:
        position, purchase = divmod(seed.index, 2)
        kind = DOCUMENTS["salesInvoices" if purchase else "purchaseInvoices"]
        value = seed.random.choice(("ADM", "SALES", "PROD"))
        return {
            "code": "DEPARTMENT",
            "displayName": "Department",
            "parentId": kind.line_ids.format(position),
            "parentType": "Sales_x0020_Invoice_x0020_Line"
            if purchase
            else "Purchase_x0020_Invoice_x0020_Line",
            "valueCode": value,
            "valueDisplayName": value.title(),
        }

    # -- payments, accounts, ledger ---------------------------------------------------------------

    def _payment(self, party: str) -> Callable[[RecordSeed], dict[str, Any]]:
        def factory(seed: RecordSeed) -> dict[str, Any]:
            random = seed.random
            who = self.party_of(party, random.below(min(_PARTIES, max(self.size, 1))))
            return {
                "journalId": guid_scheme(0x10A1).format(0),
                "journalDisplayName": "PAYMENT" if party == "vendor" else "CASHRCPT",
                "lineNumber": (seed.index + 1) * 10000,
                f"{party}Id": who["id"],
                f"{party}Number": who["number"],
                "postingDate": seed.created_at.date(),
                "documentNumber": f"PAY{seed.index + 1:06d}",
                "externalDocumentNumber": f"REF-{random.between(1000, 9999)}",
                "amount": random.amount(LOCAL_CURRENCY, 10, 10_000),
                "appliesToInvoiceId": NIL_GUID,
                "appliesToInvoiceNumber": "",
                "description": "Payment",
                "comment": "",
            }

        return factory

    def _account(self, seed: RecordSeed) -> dict[str, Any]:
        random = seed.random
        category = random.choice(
            ("Assets", "Liabilities", "Equity", "Income", "Cost_x0020_of_x0020_Goods_x0020_Sold", "Expense")
        )
        return {
            "number": f"{1000 + seed.index * 10}",
            "displayName": f"{category.replace('_x0020_', ' ')} {seed.index + 1}",
            "category": category,
            "subCategory": "",
            "blocked": random.chance(0.05),
            "accountType": "Posting",
            "directPosting": True,
            "netChange": random.amount(LOCAL_CURRENCY, 0, 100_000),
            "consolidationTranslationMethod": "",
            "consolidationDebitAccount": "",
            "consolidationCreditAccount": "",
            "excludeFromConsolidation": False,
        }

    def _gl_entry(self, seed: RecordSeed) -> dict[str, Any]:
        # Entries come in pairs (debit, credit) of one document with the same amount.
        pair = SeedRandom(self.seed_value, "gl-pair", seed.index // 2)
        amount = pair.amount(LOCAL_CURRENCY, 10, 50_000)
        debit = seed.index % 2 == 0
        posted = pair.date_between(date(2024, 1, 1), date(2025, 11, 30))
        account = pair.below(_ACCOUNTS) if debit else _ACCOUNTS + pair.below(10)
        return {
            "entryNumber": seed.index + 1,
            "postingDate": posted,
            "documentNumber": f"G{seed.index // 2 + 1:06d}",
            "documentType": "_x0020_",
            "accountId": ACCOUNT_IDS.format(account),
            "accountNumber": f"{1000 + account * 10}",
            "description": "General journal",
            "debitAmount": amount if debit else Decimal(0),
            "creditAmount": Decimal(0) if debit else amount,
            "additionalCurrencyDebitAmount": Decimal(0),
            "additionalCurrencyCreditAmount": Decimal(0),
        }

    def _bank_account(self, seed: RecordSeed) -> dict[str, Any]:
        random = seed.random
        return {
            "number": f"BANK{seed.index + 1:03d}",
            "displayName": f"{random.choice(('Operating', 'Payroll', 'Savings'))} account {seed.index + 1}",
            "bankAccountNumber": random.string("0123456789", 10),
            "blocked": False,
            "currencyCode": LOCAL_CURRENCY,
            "currencyId": NIL_GUID,
            "iban": random.iban("DE"),
            "intercompanyEnabled": False,
        }
