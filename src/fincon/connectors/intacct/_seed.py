"""Seeded Intacct objects for the sandbox: flat field dicts (dotted names) and lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from fincon.connectors.intacct._values import format_date, format_timestamp
from fincon.sandbox import RecordSeed

__all__ = ["ObjectData", "render_fields", "seed_factories"]

_DEPARTMENTS = ("ADM", "ENG", "FIN", "OPS", "SLS")
_LOCATIONS = ("US-NY", "US-CA", "GB-LDN", "DE-BER")
_CLASSES = ("RETAIL", "WHOLESALE")
_EXPENSE_ACCOUNTS = ("6000", "6100", "6200", "6300")
_INCOME_ACCOUNTS = ("4000", "4100")
_ACCOUNT_WORDS = ("Cash", "Payables", "Revenue", "Travel", "Rent", "Supplies")


@dataclass
class ObjectData:
    """One stored object: its fields (dotted names, wire text), its lines, and its rendered XML."""

    fields: dict[str, str]
    lines: list[dict[str, str]] = field(default_factory=list)
    #: The fields rendered once (``*`` reads cost a string join, not a rebuild).
    inner: str = ""

    def __post_init__(self) -> None:
        if not self.inner:
            self.inner = render_fields(self.fields)


_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
#: Field-name tuples -> per-field (opening markup, closing markup), built once per shape.
_SHAPES: dict[tuple[str, ...], list[tuple[str, str, str]]] = {}


def _shape(names: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """For each field: the markup before its value, after it, and when it is empty."""
    parts: list[tuple[str, str, str]] = []
    open_path: list[str] = []
    for index, name in enumerate(names):
        *heads, leaf = name.split(".")
        common = 0
        while common < min(len(heads), len(open_path)) and heads[common] == open_path[common]:
            common += 1
        before = "".join(f"</{tag}>" for tag in reversed(open_path[common:]))
        before += "".join(f"<{tag}>" for tag in heads[common:])
        open_path = heads
        after = ""
        if index == len(names) - 1:
            after = "".join(f"</{tag}>" for tag in reversed(open_path))
        parts.append((f"{before}<{leaf}>", f"</{leaf}>{after}", f"{before}<{leaf}/>{after}"))
    return parts


def render_fields(fields: dict[str, str], only: set[str] | None = None) -> str:
    """``{"A.B": "x", "C": "y"}`` -> ``<A><B>x</B></A><C>y</C>`` (escaped), optionally only some fields."""
    if only is not None:
        fields = {name: value for name, value in fields.items() if name in only}
    names = tuple(fields)
    shape = _SHAPES.get(names)
    if shape is None:
        shape = _SHAPES[names] = _shape(names)
        if len(_SHAPES) > 4096:
            _SHAPES.clear()  # created records have free shapes; keep the cache bounded
    return "".join(
        f"{opening}{_escape(value)}{closing}" if value else empty
        for (opening, closing, empty), value in zip(shape, fields.values(), strict=True)
    )


def _escape(value: str) -> str:
    # Most values need no escaping; translate() is slow enough to test for first.
    if "&" in value or "<" in value or ">" in value:
        return value.translate(_ESCAPES)
    return value


def _common(seed: RecordSeed) -> dict[str, str]:
    return {"RECORDNO": seed.id}


def _party(seed: RecordSeed, key: str, prefix: str) -> ObjectData:
    r = seed.random
    name = r.company_name()
    country = r.country()
    address = r.address(country)
    fields = {
        "RECORDNO": seed.id,
        key: f"{prefix}{seed.index + 1:06d}",
        "NAME": name,
        "STATUS": "active" if r.below(20) else "inactive",
        "TAXID": r.tax_id(country),
        "CURRENCY": r.currency_for(country),
        "TERMNAME": r.choice(("Net 30", "Net 15", "2% 10 Net 30", "Due on receipt")),
        "ONHOLD": "false",
        "DISPLAYCONTACT.PRINTAS": name,
        "DISPLAYCONTACT.COMPANYNAME": name,
        "DISPLAYCONTACT.EMAIL1": r.email(name),
        "DISPLAYCONTACT.PHONE1": r.phone(),
        "DISPLAYCONTACT.MAILADDRESS.ADDRESS1": address["line1"],
        "DISPLAYCONTACT.MAILADDRESS.CITY": address["city"],
        "DISPLAYCONTACT.MAILADDRESS.ZIP": address["postal_code"],
        "DISPLAYCONTACT.MAILADDRESS.COUNTRYCODE": country,
        "WHENMODIFIED": format_timestamp(seed.created_at),
    }
    return ObjectData(fields)


def _document(
    seed: RecordSeed, party: str, party_name: str, prefix: str, accounts: tuple[str, ...]
) -> ObjectData:
    r = seed.random
    currency = r.choice(("USD", "USD", "USD", "EUR", "GBP"))
    issued = seed.created_at.date()
    lines = []
    total = Decimal(0)
    for number in range(1, r.between(1, 3) + 1):
        amount = r.amount(currency, 10, 5000)
        total += amount
        lines.append(
            {
                "RECORDNO": f"{seed.id}{number:02d}",
                "RECORDKEY": seed.id,
                "LINE_NO": str(number),
                "ACCOUNTNO": r.choice(accounts),
                "ENTRYDESCRIPTION": f"Line {number}",
                "AMOUNT": format(amount, "f"),
                "TRX_AMOUNT": format(amount, "f"),
                "DEPARTMENTID": r.choice(_DEPARTMENTS),
                "LOCATIONID": r.choice(_LOCATIONS),
                "CLASSID": r.choice(_CLASSES),
            }
        )
    paid = r.below(3)
    due = Decimal(0) if paid == 2 else total
    fields = {
        "RECORDNO": seed.id,
        "RECORDID": f"{prefix}-{seed.index + 1:06d}",
        party: f"{party[0]}{r.below(1000) + 1:06d}",
        party_name: r.company_name(),
        "WHENCREATED": format_date(issued),
        "WHENDUE": format_date(r.date_between(issued, issued + timedelta(days=365))),
        "CURRENCY": currency,
        "BASECURR": "USD",
        "TOTALENTERED": format(total, "f"),
        "TRX_TOTALENTERED": format(total, "f"),
        "TOTALDUE": format(due, "f"),
        "TRX_TOTALDUE": format(due, "f"),
        "STATE": "Paid" if paid == 2 else "Posted",
        "DESCRIPTION": f"Seeded {prefix} {seed.index + 1}",
        "WHENMODIFIED": format_timestamp(seed.created_at),
    }
    return ObjectData(fields, lines)


def _payment(seed: RecordSeed, party: str, date_field: str, applied_to: str) -> ObjectData:
    r = seed.random
    amount = r.amount("USD", 10, 5000)
    return ObjectData(
        {
            "RECORDNO": seed.id,
            party: f"{party[0]}{r.below(1000) + 1:06d}",
            date_field: format_date(seed.created_at.date()),
            "CURRENCY": "USD",
            "BASECURR": "USD",
            "TOTALENTERED": format(amount, "f"),
            "TRX_TOTALENTERED": format(amount, "f"),
            "PAYMENTMETHOD": r.choice(("Printed Check", "EFT", "Cash", "Credit Card")),
            "DOCNUMBER": f"{r.below(99999) + 1:05d}",
            "FINANCIALENTITY": "CHK001",
            "STATE": "Complete",
            "WHENMODIFIED": format_timestamp(seed.created_at),
        },
        [
            {
                "RECORDNO": f"{seed.id}01",
                "PAYMENTKEY": seed.id,
                "RECORDKEY": str(r.below(1000) + 1),
                "TRX_PAYMENTAMOUNT": format(amount, "f"),
                "PAYMENTAMOUNT": format(amount, "f"),
            }
        ],
    )


def _batch(seed: RecordSeed) -> ObjectData:
    r = seed.random
    amount = r.amount("USD", 10, 50000)
    lines = []
    for number, (account, side) in enumerate(((r.choice(_EXPENSE_ACCOUNTS), "1"), ("2000", "-1")), start=1):
        lines.append(
            {
                "RECORDNO": f"{seed.id}{number:02d}",
                "BATCHNO": seed.id,
                "LINE_NO": str(number),
                "ACCOUNTNO": account,
                "TR_TYPE": side,
                "AMOUNT": format(amount, "f"),
                "TRX_AMOUNT": format(amount, "f"),
                "CURRENCY": "USD",
                "DESCRIPTION": "Accrual" if side == "1" else "Offset",
                "DEPARTMENTID": r.choice(_DEPARTMENTS),
            }
        )
    return ObjectData(
        {
            "RECORDNO": seed.id,
            "BATCHNO": seed.id,
            "JOURNAL": "GJ",
            "BATCH_DATE": format_date(seed.created_at.date()),
            "BATCH_TITLE": f"Seeded journal entry {seed.index + 1}",
            "BASECURR": "USD",
            "STATE": "Posted",
            "WHENMODIFIED": format_timestamp(seed.created_at),
        },
        lines,
    )


def _account(seed: RecordSeed) -> ObjectData:
    r = seed.random
    kind, balance = r.choice(
        (
            ("balancesheet", "debit"),
            ("balancesheet", "credit"),
            ("incomestatement", "credit"),
            ("incomestatement", "debit"),
        )
    )
    return ObjectData(
        {
            "RECORDNO": seed.id,
            "ACCOUNTNO": f"{1000 + seed.index:04d}",
            "TITLE": f"{r.choice(_ACCOUNT_WORDS)} {seed.index + 1}",
            "ACCOUNTTYPE": kind,
            "NORMALBALANCE": balance,
            "STATUS": "active",
            "WHENMODIFIED": format_timestamp(seed.created_at),
        }
    )


def _purchase_order(seed: RecordSeed) -> ObjectData:
    r = seed.random
    issued = seed.created_at.date()
    lines = []
    total = Decimal(0)
    for number in range(1, r.between(1, 3) + 1):
        quantity = r.between(1, 20)
        price = r.amount("USD", 1, 500)
        value = price * quantity
        total += value
        lines.append(
            {
                "RECORDNO": f"{seed.id}{number:02d}",
                "DOCHDRNO": seed.id,
                "LINE_NO": str(number),
                "ITEMID": f"ITEM-{r.below(500) + 1:04d}",
                "ITEMDESC": f"Item line {number}",
                "QUANTITY": str(quantity),
                "UIPRICE": format(price, "f"),
                "TOTAL": format(value, "f"),
                "DEPARTMENTID": r.choice(_DEPARTMENTS),
            }
        )
    return ObjectData(
        {
            "RECORDNO": seed.id,
            "DOCID": f"Purchase Order-PO{seed.index + 1:06d}",
            "DOCNO": f"PO{seed.index + 1:06d}",
            "DOCPARID": "Purchase Order",
            "VENDORID": f"V{r.below(1000) + 1:06d}",
            "CUSTVENDNAME": r.company_name(),
            "WHENCREATED": format_date(issued),
            "CURRENCY": "USD",
            "TOTAL": format(total, "f"),
            "TRX_TOTAL": format(total, "f"),
            "STATE": r.choice(("Pending", "Partially Converted", "Converted", "Closed")),
            "MESSAGE": "Seeded purchase order",
            "WHENMODIFIED": format_timestamp(seed.created_at),
        },
        lines,
    )


def _checking(seed: RecordSeed) -> ObjectData:
    r = seed.random
    return ObjectData(
        {
            "RECORDNO": seed.id,
            "BANKACCOUNTID": f"CHK{seed.index + 1:03d}",
            "BANKACCOUNTNO": r.string("0123456789", 10),
            "GLACCOUNTNO": "1010",
            "BANKNAME": r.choice(("First National", "Harbor Bank", "Summit Trust")),
            "ROUTINGNO": "021000021",
            "CURRENCY": "USD",
            "STATUS": "active",
            "WHENMODIFIED": format_timestamp(seed.created_at),
        }
    )


#: Seeded records reuse this many distinct sets of values (cycling by index), so a seeded
#: record costs a dict copy and a string join, not a fresh draw of every value.
POOL_SIZE = 1024
#: Fields that identify a record (made from its own index and time, never pooled).
_IDENTITY = ("RECORDNO", "VENDORID", "CUSTOMERID", "RECORDID", "BATCHNO", "DOCID", "DOCNO", "ACCOUNTNO",
             "BANKACCOUNTID", "WHENMODIFIED")  # fmt: skip
_LINE_PARENTS = ("RECORDKEY", "BATCHNO", "PAYMENTKEY", "DOCHDRNO")


def pooled(
    factory: Callable[[RecordSeed], ObjectData], pool_size: int = POOL_SIZE
) -> Callable[[RecordSeed], ObjectData]:
    """``factory`` made cheap: values drawn once per pool slot, identity fields per record."""
    pool: dict[int, ObjectData] = {}
    #: Per slot: the rendered template split around its identity fields.
    rendered: dict[int, tuple[list[str], list[str]]] = {}

    def build(seed: RecordSeed) -> ObjectData:
        own = factory(seed) if seed.index < pool_size else None
        if own is not None:
            pool.setdefault(seed.index, own)
            return own
        template = pool.get(seed.index % pool_size)
        if template is None:
            template = factory(
                RecordSeed(
                    seed.index % pool_size, str(seed.index % pool_size + 1), seed.created_at, seed.random
                )
            )
            pool[seed.index % pool_size] = template
        identity = factory_identity(seed, template)
        fields = {**template.fields, **identity}
        lines = [
            {**line, "RECORDNO": f"{seed.id}{number:02d}", **{k: seed.id for k in _LINE_PARENTS if k in line}}
            for number, line in enumerate(template.lines, start=1)
        ]
        slot = seed.index % pool_size
        split = rendered.get(slot)
        if split is None:
            names = [name for name in template.fields if name in identity]
            marked = render_fields({**template.fields, **dict.fromkeys(names, "\x00")})
            split = rendered[slot] = (marked.split("\x00"), names)
        pieces, names = split
        # Identity values are digits, letters, '-', '/', ':' and spaces: nothing to escape.
        inner = pieces[0] + "".join(
            identity[name] + piece for name, piece in zip(names, pieces[1:], strict=True)
        )
        return ObjectData(fields, lines, inner)

    return build


def factory_identity(seed: RecordSeed, template: ObjectData) -> dict[str, str]:
    """The identity fields of seeded record ``seed`` in ``template``'s layout."""
    number = seed.index + 1
    own = {
        "RECORDNO": seed.id,
        "VENDORID": f"V{number:06d}",
        "CUSTOMERID": f"C{number:06d}",
        "BATCHNO": seed.id,
        "DOCNO": f"PO{number:06d}",
        "DOCID": f"Purchase Order-PO{number:06d}",
        "ACCOUNTNO": f"{999 + number:04d}",
        "BANKACCOUNTID": f"CHK{number:03d}",
        "WHENMODIFIED": format_timestamp(seed.created_at),
    }
    fields = template.fields
    if "RECORDID" in fields:
        own["RECORDID"] = f"{fields['RECORDID'].split('-')[0]}-{number:06d}"
    return {name: own[name] for name in _IDENTITY if name in fields and name in own}


def seed_factories() -> dict[str, Any]:
    """Object name -> factory of seeded :class:`ObjectData` (values pooled, see :func:`pooled`)."""
    return {name: pooled(factory) for name, factory in _factories().items()}


def _factories() -> dict[str, Any]:
    return {
        "VENDOR": lambda seed: _party(seed, "VENDORID", "V"),
        "CUSTOMER": lambda seed: _party(seed, "CUSTOMERID", "C"),
        "APBILL": lambda seed: _document(seed, "VENDORID", "VENDORNAME", "BILL", _EXPENSE_ACCOUNTS),
        "ARINVOICE": lambda seed: _document(seed, "CUSTOMERID", "CUSTOMERNAME", "INV", _INCOME_ACCOUNTS),
        "APPYMT": lambda seed: _payment(seed, "VENDORID", "PAYMENTDATE", "APBILL"),
        "ARPYMT": lambda seed: _payment(seed, "CUSTOMERID", "RECEIPTDATE", "ARINVOICE"),
        "GLBATCH": _batch,
        "GLACCOUNT": _account,
        "PODOCUMENT": _purchase_order,
        "CHECKINGACCOUNT": _checking,
    }
