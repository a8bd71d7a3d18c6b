"""Finance and Operations data entities of the emulator (legal entity ``usmf``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fincon.connectors.dynamics._entity_store import EntitySet, WriteError
from fincon.sandbox import IdScheme, RecordSeed

__all__ = ["DATA_AREA", "fo_entity_sets"]

DATA_AREA = "usmf"
_MAIN_ACCOUNTS = 60


def _party(
    seed: RecordSeed, *, name: str, email: str, phone: str, currency: str, group: str
) -> dict[str, Any]:
    random = seed.random
    company = random.company_name()
    address = random.address("US")
    return {
        name: company,
        group: random.choice(("10", "20", "30")),
        currency: "USD",
        email: random.email(company),
        phone: random.phone(),
        "AddressStreet": address["line1"],
        "AddressCity": address["city"],
        "AddressState": "",
        "AddressZipCode": address["postal_code"],
        "AddressCountryRegionId": "US",
        "TaxExemptNumber": random.tax_id("US"),
        "OnHoldStatus": "All" if random.chance(0.05) else "No",
    }


def _vendor(seed: RecordSeed) -> dict[str, Any]:
    return _party(
        seed,
        name="VendorOrganizationName",
        email="PrimaryEmailAddress",
        phone="PrimaryPhoneNumber",
        currency="CurrencyCode",
        group="VendorGroupId",
    )


def _customer(seed: RecordSeed) -> dict[str, Any]:
    return _party(
        seed,
        name="OrganizationName",
        email="PrimaryContactEmail",
        phone="PrimaryContactPhone",
        currency="SalesCurrencyCode",
        group="CustomerGroupId",
    )


def _complete_invoice(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    if not data.get("InvoiceAccount"):
        raise WriteError(400, "BadRequest", "InvoiceAccount is required.")
    data.setdefault("Currency", "USD")
    lines = []
    for number, line in enumerate(data.get("VendorInvoiceLines") or [], start=1):
        line = dict(line)
        line.setdefault("LineNumber", number)
        quantity = Decimal(line.get("ReceiveNow") or 0)
        price = Decimal(line.get("UnitPrice") or 0)
        line["LineAmount"] = (quantity * price).quantize(Decimal("0.01"))
        lines.append(line)
    data["VendorInvoiceLines"] = lines
    return data


def _invoice(seed: RecordSeed) -> dict[str, Any]:
    random = seed.random
    issued = seed.created_at.date()
    return _complete_invoice(
        {
            "InvoiceNumber": f"INV-{random.between(1000, 99999)}",
            "InvoiceAccount": f"V{random.below(50) + 1:06d}",
            "InvoiceDate": issued,
            "DueDate": issued,
            "Currency": "USD",
            "InvoiceDescription": random.choice(("Office supplies", "Consulting", "Freight")),
            "VendorInvoiceLines": [
                {
                    "LineNumber": n + 1,
                    "Text": "Services",
                    "MainAccountDisplayValue": f"{600100 + random.below(20)}",
                    "ReceiveNow": Decimal(random.between(1, 10)),
                    "UnitPrice": random.amount("USD", 1, 1_000),
                }
                for n in range(random.between(1, 3))
            ],
        },
        True,
    )


def _journal(seed: RecordSeed) -> dict[str, Any]:
    random = seed.random
    amount = random.amount("USD", 10, 20_000)
    when = seed.created_at.date()
    line = {"AccountType": "Ledger", "CurrencyCode": "USD", "TransDate": when, "Text": "Accrual"}
    return {
        "JournalName": "GenJrn",
        "Description": "General journal",
        "IsPosted": random.choice(("Yes", "No")),
        "LedgerJournalLines": [
            {
                **line,
                "LineNumber": 1,
                "AccountDisplayValue": "600100",
                "DebitAmount": amount,
                "CreditAmount": 0,
            },
            {
                **line,
                "LineNumber": 2,
                "AccountDisplayValue": "200100",
                "DebitAmount": 0,
                "CreditAmount": amount,
            },
        ],
    }


def _main_account(seed: RecordSeed) -> dict[str, Any]:
    kind = seed.random.choice(("Asset", "Liability", "Equity", "Revenue", "Expense"))
    return {
        "Name": f"{kind} account {seed.index + 1}",
        "Type": kind,
        "IsSuspended": "No",
        "ChartOfAccounts": "Shared",
    }


def fo_entity_sets(seed_value: int) -> dict[str, EntitySet]:
    """The data entities of one F&O environment (created empty; the emulator seeds them)."""
    party = frozenset(
        {"AddressStreet", "AddressCity", "AddressState", "AddressZipCode", "AddressCountryRegionId"}
        | {"TaxExemptNumber", "OnHoldStatus"}
    )
    scope = {"dataAreaId": DATA_AREA}
    sets = [
        EntitySet(
            "VendorsV2",
            IdScheme("V", 6),
            _vendor,
            party
            | {
                "VendorOrganizationName",
                "VendorGroupId",
                "CurrencyCode",
                "PrimaryEmailAddress",
                "PrimaryPhoneNumber",
            },
            key="VendorAccountNumber",
            modified=None,
            scope=scope,
        ),
        EntitySet(
            "CustomersV3",
            IdScheme("C", 6),
            _customer,
            party
            | {
                "OrganizationName",
                "CustomerGroupId",
                "SalesCurrencyCode",
                "PrimaryContactEmail",
                "PrimaryContactPhone",
            },
            key="CustomerAccount",
            modified=None,
            scope=scope,
        ),
        EntitySet(
            "VendorInvoiceHeaders",
            IdScheme("APINV", 6),
            _invoice,
            frozenset(
                {
                    "InvoiceNumber",
                    "InvoiceAccount",
                    "InvoiceDate",
                    "DueDate",
                    "Currency",
                    "InvoiceDescription",
                }
            ),
            key="HeaderReference",
            modified=None,
            lines="VendorInvoiceLines",
            line_properties=frozenset(
                {
                    "LineNumber",
                    "Text",
                    "ItemNumber",
                    "MainAccountDisplayValue",
                    "ReceiveNow",
                    "UnitPrice",
                    "LineAmount",
                }
            ),
            complete=_complete_invoice,
            scope=scope,
            operations=frozenset({"list", "get", "create"}),
        ),
        EntitySet(
            "LedgerJournalHeaders",
            IdScheme("JB", 6),
            _journal,
            frozenset({"JournalName", "Description", "IsPosted"}),
            key="JournalBatchNumber",
            modified=None,
            lines="LedgerJournalLines",
            scope=scope,
            operations=frozenset({"list", "get"}),
        ),
        EntitySet(
            "MainAccounts",
            IdScheme("", 6, start=100100),
            _main_account,
            frozenset({"Name", "Type", "IsSuspended", "ChartOfAccounts"}),
            key="MainAccountId",
            modified=None,
            operations=frozenset({"list", "get"}),
        ),
    ]
    del seed_value
    return {entity.name: entity for entity in sets}
