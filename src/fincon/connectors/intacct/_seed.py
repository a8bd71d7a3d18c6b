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
    #: Each line's fields rendered once, like :attr:`inner`.
    lines_inner: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.inner:
            self.inner = render_fields(self.fields)
        if self.lines and not self.lines_inner:
            self.lines_inner = [render_fields(line) for line in self.lines]


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
_LINE_PARENTS = ("RECORDKEY", "BATCHNO", "PAYMENTKEY", "DOCHDRNO")


#: How each identity field of seeded record ``seed`` is made (``fields``: its template's).
_IDENTITY_VALUES: dict[str, Callable[[RecordSeed, dict[str, str]], str]] = {
    "RECORDNO": lambda seed, fields: seed.id,
    "VENDORID": lambda seed, fields: f"V{seed.index + 1:06d}",
    "CUSTOMERID": lambda seed, fields: f"C{seed.index + 1:06d}",
    "RECORDID": lambda seed, fields: f"{fields['RECORDID'].split('-')[0]}-{seed.index + 1:06d}",
    "BATCHNO": lambda seed, fields: seed.id,
    "DOCID": lambda seed, fields: f"Purchase Order-PO{seed.index + 1:06d}",
    "DOCNO": lambda seed, fields: f"PO{seed.index + 1:06d}",
    "ACCOUNTNO": lambda seed, fields: f"{999 + seed.index + 1:04d}",
    "BANKACCOUNTID": lambda seed, fields: f"CHK{seed.index + 1:03d}",
    "WHENMODIFIED": lambda seed, fields: format_timestamp(seed.created_at),
}


@dataclass(frozen=True)
class _Slot:
    """A pool slot: its template, and its rendering split around the identity fields."""

    template: ObjectData
    #: The identity fields the template has, in the template's field order.
    names: tuple[str, ...]
    #: The rendered template cut at each identity value (one more piece than names).
    pieces: tuple[str, ...]
    #: The same for each line, cut at its RECORDNO and its parent's key.
    lines: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]

    @classmethod
    def of(cls, template: ObjectData) -> _Slot:
        names, pieces = _split(template.fields, _IDENTITY_VALUES)
        line_keys = ("RECORDNO", *_LINE_PARENTS)
        return cls(template, names, pieces, tuple(_split(line, line_keys) for line in template.lines))


def _split(fields: dict[str, str], identity: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The identity fields among ``fields`` and the rendering cut at their values."""
    names = tuple(name for name in fields if name in identity)
    marked = render_fields({**fields, **dict.fromkeys(names, "\x00")})
    return names, tuple(marked.split("\x00"))


def _splice(pieces: tuple[str, ...], values: list[str]) -> str:
    # Identity values are digits, letters, '-', '/', ':' and spaces: nothing to escape.
    return pieces[0] + "".join(value + piece for value, piece in zip(values, pieces[1:], strict=True))


def pooled(
    factory: Callable[[RecordSeed], ObjectData], pool_size: int = POOL_SIZE
) -> Callable[[RecordSeed], ObjectData]:
    """``factory`` made cheap: values drawn once per pool slot, identity fields per record.

    A record past the pool costs a few string formats, a dict merge and one string join:
    the served sandbox spends its time on the protocol, not on making up vendors.
    """
    slots: dict[int, _Slot] = {}

    def build(seed: RecordSeed) -> ObjectData:
        if seed.index < pool_size:
            data = factory(seed)
            slots.setdefault(seed.index, _Slot.of(data))
            return data
        number = seed.index % pool_size
        slot = slots.get(number)
        if slot is None:
            template = factory(RecordSeed(number, str(number + 1), seed.created_at, seed.random))
            slot = slots[number] = _Slot.of(template)
        fields = slot.template.fields
        values = [_IDENTITY_VALUES[name](seed, fields) for name in slot.names]
        lines: list[dict[str, str]] = []
        lines_inner: list[str] = []
        for index, (line, (names, pieces)) in enumerate(zip(slot.template.lines, slot.lines, strict=True), 1):
            own = {name: f"{seed.id}{index:02d}" if name == "RECORDNO" else seed.id for name in names}
            lines.append({**line, **own})
            lines_inner.append(_splice(pieces, list(own.values())))
        fields = {**fields, **dict(zip(slot.names, values, strict=True))}
        return ObjectData(fields, lines, _splice(slot.pieces, values), lines_inner)

    return build


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
