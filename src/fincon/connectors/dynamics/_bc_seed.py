"""Business Central API v2.0 entity sets of the emulator, seeded with realistic data.

Every property written here is declared in BC's v2.0 ``$metadata`` (the spec tests check
the emulator's answers against it). Ids are GUIDs; BC's blank enum member is ``_x0020_``.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fincon.connectors.dynamics._entity_store import EntitySet, WriteError
from fincon.sandbox import IdScheme, RecordSeed, SeedRandom, currency_exponent

__all__ = ["LOCAL_CURRENCY", "NIL_GUID", "bc_entity_sets", "guid_scheme"]

LOCAL_CURRENCY = "USD"
NIL_GUID = "00000000-0000-0000-0000-000000000000"
_TAX_PERCENT = {"TAXABLE": Decimal(8), "NONTAXABLE": Decimal(0), "": Decimal(0)}
_DOC_CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP", "JPY")


def guid_scheme(tag: int) -> IdScheme:
    """GUID-shaped ids, one family per entity set: ``{tag:08x}-0000-4000-8000-000000000001``."""
    return IdScheme(f"{tag:08x}-0000-4000-8000-", 12)


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), rounding=ROUND_HALF_UP)


def _address(random: SeedRandom, prefix: str = "") -> dict[str, str]:
    country = random.choice(("US", "US", "GB", "DE"))
    address = random.address(country)
    keys: tuple[str, ...] = ("addressLine1", "addressLine2", "city", "state", "postalCode", "country")
    if prefix:
        keys = tuple(
            f"{prefix}{k[0].upper()}{k[1:]}" for k in ("addressLine1", "addressLine2", "city", "state")
        )
        keys += (f"{prefix}PostCode", f"{prefix}Country")
    values = (address["line1"], "", address["city"][:30], "", address["postal_code"], country)
    return dict(zip(keys, values, strict=True))


def _party(seed: RecordSeed, number_prefix: str) -> dict[str, Any]:
    random = seed.random
    name = random.company_name()
    return {
        "number": f"{number_prefix}{seed.index + 10000:05d}",
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


def _vendor(seed: RecordSeed) -> dict[str, Any]:
    data = _party(seed, "V")
    data["irs1099Code"] = ""
    data["balance"] = seed.random.amount(LOCAL_CURRENCY, 0, 50_000)
    return data


def _customer(seed: RecordSeed) -> dict[str, Any]:
    data = _party(seed, "C")
    data["blocked"] = "_x0020_" if data["blocked"] == "_x0020_" else "All"
    data["type"] = "Company"
    data.update(
        {
            "salespersonCode": "",
            "balanceDue": seed.random.amount(LOCAL_CURRENCY, 0, 20_000),
            "creditLimit": Decimal(0),
            "taxAreaId": NIL_GUID,
            "taxAreaDisplayName": "",
            "shipmentMethodId": NIL_GUID,
        }
    )
    return data


def _line(
    random: SeedRandom, currency: str, sequence: int, price_key: str, extra: dict[str, Any]
) -> dict[str, Any]:
    quantity = Decimal(random.between(1, 20))
    price = random.amount(currency, 1, 2_000)
    tax_code = random.choice(("TAXABLE", "NONTAXABLE"))
    line = {
        "id": f"{random.next64() & 0xFFFFFFFF:08x}-1111-4000-8000-{random.next64() % 10**12:012d}",
        "sequence": sequence * 10000,
        "lineType": "Account",
        "accountId": guid_scheme(0xACC0).format(random.below(40)),
        "lineObjectNumber": f"{6000 + random.below(40) * 10}",
        "description": random.choice(
            ("Office supplies", "Consulting", "Freight", "Software licence", "Repairs")
        ),
        "quantity": quantity,
        price_key: price,
        "taxCode": tax_code,
        "dimensionSetLines": [{"code": "DEPARTMENT", "valueCode": random.choice(("ADM", "SALES", "PROD"))}],
        **extra,
    }
    return complete_line(line, currency, price_key)


def complete_line(line: dict[str, Any], currency: str, price_key: str) -> dict[str, Any]:
    """Compute a line's amounts as BC does: quantity x price, then tax by tax code (half-up)."""
    # JSON numbers without a fraction arrive as int; Edm.Decimal is kept as Decimal.
    quantity = Decimal(line.get("quantity") or 0)
    price = Decimal(line.get(price_key) or 0)
    line["quantity"] = quantity
    line[price_key] = price
    percent = _TAX_PERCENT.get(str(line.get("taxCode") or ""), Decimal(0))
    net = _round(quantity * price, currency)
    tax = _round(net * percent / 100, currency)
    line.update(
        {
            "amountExcludingTax": net,
            "taxPercent": percent,
            "totalTaxAmount": tax,
            "amountIncludingTax": net + tax,
        }
    )
    return line


def _document(seed: RecordSeed, *, party: str, lines_key: str, price_key: str) -> dict[str, Any]:
    random = seed.random
    currency = random.choice(_DOC_CURRENCIES)
    issued = seed.created_at.date()
    data: dict[str, Any] = {
        "number": f"{'PI' if party == 'vendor' else 'SI'}{seed.index + 100000:06d}",
        "invoiceDate": issued,
        "postingDate": issued,
        "dueDate": date.fromordinal(issued.toordinal() + 30),
        f"{party}Id": guid_scheme(0x7E4D if party == "vendor" else 0xC057).format(random.below(max(1, 50))),
        f"{party}Number": f"{'V' if party == 'vendor' else 'C'}{10000 + random.below(50):05d}",
        f"{party}Name": random.company_name(),
        "currencyId": NIL_GUID,
        "currencyCode": currency,
        "pricesIncludeTax": False,
        "discountAmount": Decimal(0),
        "discountAppliedBeforeTax": False,
        "status": random.choice(("Draft", "Open", "Open", "Paid")),
        lines_key: [
            _line(random, currency, n + 1, price_key, {"documentId": seed.id})
            for n in range(random.between(1, 3))
        ],
    }
    if party == "vendor":
        data["vendorInvoiceNumber"] = f"INV-{random.between(1000, 99999)}"
    return data


class _Documents:
    """Totals of documents with lines, for seeding and after writes."""

    def __init__(self, party: str, lines_key: str, price_key: str, *, remaining: bool) -> None:
        self.party = party
        self.lines_key = lines_key
        self.price_key = price_key
        self.remaining = remaining

    def seed(self, seed: RecordSeed) -> dict[str, Any]:
        return self.complete(
            _document(seed, party=self.party, lines_key=self.lines_key, price_key=self.price_key), True
        )

    def complete(self, data: dict[str, Any], creating: bool) -> dict[str, Any]:
        if not (data.get(f"{self.party}Id") or data.get(f"{self.party}Number")):
            raise WriteError(400, "BadRequest", f"{self.party}Id or {self.party}Number is required.")
        currency = str(data.get("currencyCode") or LOCAL_CURRENCY)
        data.setdefault("currencyCode", currency)
        data.setdefault("status", "Draft")
        lines = [
            complete_line(dict(line), currency, self.price_key) for line in data.get(self.lines_key) or []
        ]
        for number, line in enumerate(lines, start=1):
            line.setdefault("sequence", number * 10000)
            line.setdefault("id", str(uuid.uuid4()))
        data[self.lines_key] = lines
        net = sum((Decimal(line["amountExcludingTax"]) for line in lines), Decimal(0))
        tax = sum((Decimal(line["totalTaxAmount"]) for line in lines), Decimal(0))
        data["totalAmountExcludingTax"] = net
        data["totalTaxAmount"] = tax
        data["totalAmountIncludingTax"] = net + tax
        if self.remaining:
            paid = data.get("status") == "Paid"
            data["remainingAmount"] = Decimal(0) if paid else net + tax
        return data


def _payment(party: str) -> Any:
    def factory(seed: RecordSeed) -> dict[str, Any]:
        random = seed.random
        return {
            "journalId": guid_scheme(0x10A1).format(0),
            "journalDisplayName": "PAYMENT" if party == "vendor" else "CASHRCPT",
            "lineNumber": (seed.index + 1) * 10000,
            f"{party}Id": guid_scheme(0x7E4D if party == "vendor" else 0xC057).format(random.below(50)),
            f"{party}Number": f"{'V' if party == 'vendor' else 'C'}{10000 + random.below(50):05d}",
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


def _payment_complete(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    if data.get("amount") is None:
        raise WriteError(400, "BadRequest", "amount is required.")
    data["amount"] = Decimal(data["amount"])
    data.setdefault("journalId", guid_scheme(0x10A1).format(0))
    data.setdefault("postingDate", date(2026, 1, 1))
    return data


def _account(seed: RecordSeed) -> dict[str, Any]:
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


def _gl_entry(seed_value: int) -> Any:
    def factory(seed: RecordSeed) -> dict[str, Any]:
        # Entries come in pairs (debit, credit) of one document with the same amount.
        pair = SeedRandom(seed_value, "gl-pair", seed.index // 2)
        amount = pair.amount(LOCAL_CURRENCY, 10, 50_000)
        debit = seed.index % 2 == 0
        posted = pair.date_between(date(2024, 1, 1), date(2025, 11, 30))
        account = pair.below(40) if debit else 40 + pair.below(10)
        return {
            "entryNumber": seed.index + 1,
            "postingDate": posted,
            "documentNumber": f"G{seed.index // 2 + 1:06d}",
            "documentType": "_x0020_",
            "accountId": guid_scheme(0xACC0).format(account),
            "accountNumber": f"{1000 + account * 10}",
            "description": "General journal",
            "debitAmount": amount if debit else Decimal(0),
            "creditAmount": Decimal(0) if debit else amount,
            "additionalCurrencyDebitAmount": Decimal(0),
            "additionalCurrencyCreditAmount": Decimal(0),
        }

    return factory


def _purchase_order(seed: RecordSeed) -> dict[str, Any]:
    data = _document(seed, party="vendor", lines_key="purchaseOrderLines", price_key="directUnitCost")
    data.pop("vendorInvoiceNumber", None)
    data["number"] = f"PO{seed.index + 1000:06d}"
    data["orderDate"] = data.pop("invoiceDate")
    data.pop("dueDate")
    data["requestedReceiptDate"] = date.fromordinal(data["orderDate"].toordinal() + 14)
    data["status"] = data["status"] if data["status"] in ("Draft", "Open") else "Open"
    data["fullyReceived"] = False
    data["payToVendorNumber"] = data["vendorNumber"]
    lines = data["purchaseOrderLines"]
    net = sum((line["amountExcludingTax"] for line in lines), Decimal(0))
    tax = sum((line["totalTaxAmount"] for line in lines), Decimal(0))
    data.update({"totalAmountExcludingTax": net, "totalTaxAmount": tax, "totalAmountIncludingTax": net + tax})
    return data


def _receipt(seed: RecordSeed) -> dict[str, Any]:
    random = seed.random
    return {
        "number": f"RCPT{seed.index + 1:06d}",
        "postingDate": seed.created_at.date(),
        "vendorNumber": f"V{10000 + random.below(50):05d}",
        "vendorName": random.company_name(),
        "payToVendorNumber": f"V{10000 + random.below(50):05d}",
        "currencyCode": LOCAL_CURRENCY,
        "orderNumber": f"PO{random.below(1000) + 1000:06d}",
        "purchaseReceiptLines": [
            {
                "id": f"{seed.index:08x}-3333-4000-8000-{n:012d}",
                "documentId": seed.id,
                "sequence": (n + 1) * 10000,
                "lineType": "Item",
                "lineObjectNumber": f"ITEM-{random.below(100):03d}",
                "description": "Goods",
                "quantity": Decimal(random.between(1, 50)),
            }
            for n in range(random.between(1, 3))
        ],
    }


def _bank_account(seed: RecordSeed) -> dict[str, Any]:
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


def _props(sample: dict[str, Any], *extra: str) -> frozenset[str]:
    return frozenset({*sample, *extra})


_PARTY_PROPS = [
    "number",
    "displayName",
    "addressLine1",
    "addressLine2",
    "city",
    "state",
    "country",
    "postalCode",
    "phoneNumber",
    "email",
    "website",
    "taxRegistrationNumber",
    "currencyId",
    "currencyCode",
    "paymentTermsId",
    "paymentMethodId",
    "taxLiable",
    "blocked",
]
_LINE_PROPS = frozenset(
    [
        "id",
        "documentId",
        "sequence",
        "itemId",
        "accountId",
        "lineType",
        "lineObjectNumber",
        "description",
        "description2",
        "unitOfMeasureId",
        "unitOfMeasureCode",
        "quantity",
        "discountAmount",
        "discountPercent",
        "taxCode",
        "dimensionSetLines",
    ]
)


def bc_entity_sets(seed_value: int) -> dict[str, EntitySet]:
    """The entity sets of one BC company (created empty; the emulator seeds them)."""
    bills = _Documents("vendor", "purchaseInvoiceLines", "unitCost", remaining=False)
    invoices = _Documents("customer", "salesInvoiceLines", "unitPrice", remaining=True)
    doc_props = [
        "number",
        "invoiceDate",
        "postingDate",
        "dueDate",
        "currencyId",
        "currencyCode",
        "pricesIncludeTax",
        "discountAmount",
        "discountAppliedBeforeTax",
        "totalAmountExcludingTax",
        "totalTaxAmount",
        "totalAmountIncludingTax",
        "status",
        "orderId",
        "orderNumber",
        "shortcutDimension1Code",
        "shortcutDimension2Code",
    ]
    doc_read_only = frozenset(
        {"totalAmountExcludingTax", "totalTaxAmount", "totalAmountIncludingTax", "remainingAmount", "status"}
    )
    sets = [
        EntitySet(
            "vendors",
            guid_scheme(0x7E4D),
            _vendor,
            frozenset({*_PARTY_PROPS, "irs1099Code", "balance"}),
            read_only=frozenset({"balance"}),
        ),
        EntitySet(
            "customers",
            guid_scheme(0xC057),
            _customer,
            frozenset(
                {
                    *_PARTY_PROPS,
                    "type",
                    "salespersonCode",
                    "balanceDue",
                    "creditLimit",
                    "taxAreaId",
                    "taxAreaDisplayName",
                    "shipmentMethodId",
                }
            ),
            read_only=frozenset({"balanceDue"}),
        ),
        EntitySet(
            "purchaseInvoices",
            guid_scheme(0xB111),
            bills.seed,
            frozenset(
                {*doc_props, "vendorInvoiceNumber", "vendorId", "vendorNumber", "vendorName", "purchaser"}
            ),
            lines="purchaseInvoiceLines",
            line_properties=_LINE_PROPS | {"unitCost"},
            read_only=doc_read_only | {"vendorName"},
            complete=bills.complete,
        ),
        EntitySet(
            "salesInvoices",
            guid_scheme(0x5A1E),
            invoices.seed,
            frozenset(
                {
                    *doc_props,
                    "externalDocumentNumber",
                    "customerId",
                    "customerNumber",
                    "customerName",
                    "remainingAmount",
                }
            ),
            lines="salesInvoiceLines",
            line_properties=_LINE_PROPS | {"unitPrice"},
            read_only=doc_read_only | {"customerName"},
            complete=invoices.complete,
        ),
        EntitySet(
            "vendorPayments",
            guid_scheme(0x7A10),
            _payment("vendor"),
            frozenset(
                [
                    "journalId",
                    "journalDisplayName",
                    "lineNumber",
                    "vendorId",
                    "vendorNumber",
                    "postingDate",
                    "documentNumber",
                    "externalDocumentNumber",
                    "amount",
                    "appliesToInvoiceId",
                    "appliesToInvoiceNumber",
                    "description",
                    "comment",
                ]
            ),
            read_only=frozenset({"appliesToInvoiceNumber", "journalDisplayName"}),
            complete=_payment_complete,
            operations=frozenset({"list", "get", "create", "update", "delete"}),
        ),
        EntitySet(
            "customerPayments",
            guid_scheme(0xC0A1),
            _payment("customer"),
            frozenset(
                [
                    "journalId",
                    "journalDisplayName",
                    "lineNumber",
                    "customerId",
                    "customerNumber",
                    "postingDate",
                    "documentNumber",
                    "externalDocumentNumber",
                    "amount",
                    "appliesToInvoiceId",
                    "appliesToInvoiceNumber",
                    "description",
                    "comment",
                ]
            ),
            read_only=frozenset({"appliesToInvoiceNumber", "journalDisplayName"}),
            complete=_payment_complete,
        ),
        EntitySet(
            "accounts",
            guid_scheme(0xACC0),
            _account,
            frozenset(_account_keys()),
            operations=frozenset({"list", "get"}),
        ),
        EntitySet(
            "generalLedgerEntries",
            guid_scheme(0x61E0),
            _gl_entry(seed_value),
            frozenset(
                [
                    "entryNumber",
                    "postingDate",
                    "documentNumber",
                    "documentType",
                    "accountId",
                    "accountNumber",
                    "description",
                    "debitAmount",
                    "creditAmount",
                    "additionalCurrencyDebitAmount",
                    "additionalCurrencyCreditAmount",
                ]
            ),
            operations=frozenset({"list", "get"}),
        ),
        EntitySet(
            "purchaseOrders",
            guid_scheme(0x9000),
            _purchase_order,
            frozenset(
                {
                    *doc_props,
                    "orderDate",
                    "vendorId",
                    "vendorNumber",
                    "vendorName",
                    "payToVendorNumber",
                    "requestedReceiptDate",
                    "fullyReceived",
                }
            ),
            lines="purchaseOrderLines",
            line_properties=_LINE_PROPS | {"directUnitCost"},
            operations=frozenset({"list", "get"}),
        ),
        EntitySet(
            "purchaseReceipts",
            guid_scheme(0x2EC0),
            _receipt,
            frozenset(
                [
                    "number",
                    "postingDate",
                    "vendorNumber",
                    "vendorName",
                    "payToVendorNumber",
                    "currencyCode",
                    "orderNumber",
                ]
            ),
            lines="purchaseReceiptLines",
            operations=frozenset({"list", "get"}),
        ),
        EntitySet(
            "bankAccounts",
            guid_scheme(0xBA4C),
            _bank_account,
            frozenset(
                [
                    "number",
                    "displayName",
                    "bankAccountNumber",
                    "blocked",
                    "currencyCode",
                    "currencyId",
                    "iban",
                    "intercompanyEnabled",
                ]
            ),
            operations=frozenset({"list", "get"}),
        ),
    ]
    return {entity.name: entity for entity in sets}


def _account_keys() -> list[str]:
    return [
        "number",
        "displayName",
        "category",
        "subCategory",
        "blocked",
        "accountType",
        "directPosting",
        "netChange",
        "consolidationTranslationMethod",
        "consolidationDebitAccount",
        "consolidationCreditAccount",
        "excludeFromConsolidation",
    ]
