"""Intacct objects <-> canonical records: the one place this mapping lives.

A payload is the object's XML element (``<VENDOR>...</VENDOR>``, or its lower-case
``readByQuery`` spelling), as an lxml element, bytes or text. Nested fields are read by
dotted path (``DISPLAYCONTACT.EMAIL1``), so the nested ``readByQuery`` shape and the flat
``query`` shape map alike. Amounts are exact ``Decimal`` from the text; document amounts
use the transaction-currency fields (``TRX_TOTALENTERED``, ``TRX_AMOUNT``) in ``CURRENCY``,
falling back to the base-currency ones (``TOTALENTERED``, ``AMOUNT``) in ``BASECURR``: each
amount with its own currency. Dates are
``MM/DD/YYYY``; ``WHENMODIFIED`` is a GMT timestamp.

Ids: parties, accounts and bank accounts use their business key (``VENDORID``,
``CUSTOMERID``, ``ACCOUNTNO``, ``BANKACCOUNTID``), which is what documents refer to;
documents use ``RECORDNO``, which ``read`` takes. ``source.id`` is always ``RECORDNO``.
Line dimensions: ``DEPARTMENTID``, ``LOCATIONID``, ``CLASSID`` and ``PROJECTID`` become
``department``, ``location``, ``class`` and ``project``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple

from lxml import etree

from fincon.connectors.intacct._field_routes import Routes, collect, routes_for
from fincon.connectors.intacct._values import (
    flatten,
    format_amount,
    format_date,
    parse_amount,
    parse_date,
    parse_timestamp,
)
from fincon.connectors.intacct._xml import element, parse_xml, sub
from fincon.core.mapping import record_validator, validate_record
from fincon.errors import ValidationError
from fincon.models import (
    Account,
    Allocation,
    BankAccount,
    Bill,
    BillPayment,
    Customer,
    Invoice,
    JournalEntry,
    JournalLine,
    LineItem,
    Money,
    Payment,
    PurchaseOrder,
    Ref,
    Source,
    Vendor,
)

__all__ = [
    "DIMENSIONS",
    "MAPPERS",
    "AccountMapper",
    "BankAccountMapper",
    "BillMapper",
    "BillPaymentMapper",
    "CustomerMapper",
    "InvoiceMapper",
    "JournalEntryMapper",
    "ObjectMapper",
    "PaymentMapper",
    "PurchaseOrderMapper",
    "VendorMapper",
]

SYSTEM = "intacct"
#: Intacct line dimension field -> canonical dimension name.
DIMENSIONS = {
    "DEPARTMENTID": "department",
    "LOCATIONID": "location",
    "CLASSID": "class",
    "PROJECTID": "project",
}
_DIMENSION_FIELDS = {name: field for field, name in DIMENSIONS.items()}

Fields = dict[str, str]


def _element_of(payload: Any) -> Any:
    if isinstance(payload, etree._Element):
        return payload  # an element: the listing's case, so tested first (one C type check)
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray)):
        return parse_xml(bytes(payload), what="payload")
    raise TypeError(
        f"an Intacct payload is XML (an lxml element, bytes or text), not {type(payload).__name__}"
    )


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _put(parent: Any, path: str, value: Any) -> None:
    """Set ``A.B.C`` under ``parent``, creating or reusing the intermediate elements."""
    if value is None:
        return
    *heads, leaf = path.split(".")
    node = parent
    for head in heads:
        found = node.find(head)
        node = found if found is not None else sub(node, head)
    sub(node, leaf, value)


class _Currencies(NamedTuple):
    """A record's transaction currency (``CURRENCY``) and base currency (``BASECURR``).

    An empty ``CURRENCY`` means the transaction is in the base currency.
    """

    transaction: str | None
    base: str | None


def _currencies(fields: Fields, base: str | None = None) -> _Currencies:
    base = fields.get("BASECURR") or base or None
    return _Currencies(fields.get("CURRENCY") or base, base)


def _amount(
    fields: Fields, trx_field: str, base_field: str, currencies: _Currencies
) -> tuple[Decimal, str] | None:
    """The amount with its own currency: the ``TRX_*`` field in the transaction currency, else the
    base field in the base currency (never a base amount labelled with the transaction currency)."""
    for name, currency in ((trx_field, currencies.transaction), (base_field, currencies.base)):
        value = parse_amount(fields.get(name), name)
        if value is not None:
            return (value, currency) if currency else None
    return None


def _money(fields: Fields, trx_field: str, base_field: str, currencies: _Currencies) -> Money | None:
    found = _amount(fields, trx_field, base_field, currencies)
    return None if found is None else Money(found[0], found[1])


def _money_data(
    fields: Fields, trx_field: str, base_field: str, currencies: _Currencies
) -> dict[str, Any] | None:
    """Like :func:`_money`, as plain data for one ``model_validate`` of the whole record."""
    found = _amount(fields, trx_field, base_field, currencies)
    return None if found is None else {"amount": found[0], "currency": found[1]}


def _dimensions(fields: Fields) -> dict[str, str]:
    return {name: fields[field] for field, name in DIMENSIONS.items() if fields.get(field)}


def _put_dimensions(node: Any, dimensions: Mapping[str, str]) -> None:
    for name, value in dimensions.items():
        field = _DIMENSION_FIELDS.get(name)
        if field is None:
            raise ValidationError(
                f"Intacct has no line dimension {name!r} (it maps {', '.join(_DIMENSION_FIELDS)})",
                field="dimensions",
                system=SYSTEM,
            )
        sub(node, field, value)


class ObjectMapper:
    """Shared by every Intacct object mapper: parsing, ``source`` and ``updated_at``."""

    #: The Intacct object (``VENDOR``).
    object: ClassVar[str] = ""
    #: The element holding lines (``APBILLITEMS``), for objects with lines.
    lines_container: ClassVar[str | None] = None
    #: The element tag of one line when we write it (``APBILLITEM``).
    line_tag: ClassVar[str | None] = None
    #: The field naming the record for people (``VENDORID``), used by lookups and ``read`` by name.
    name_key: ClassVar[str | None] = None

    def to_record(self, payload: Any) -> Any:
        """The canonical record for one object element."""
        node = _element_of(payload)
        lines: list[Fields] = []
        container = self.lines_container
        if container is not None:
            holder = node.find(container)
            if holder is not None:
                lines = [flatten(line) for line in holder if isinstance(line.tag, str)]
        fields = flatten(node, skip=container or "")
        return self.from_fields(fields, lines, node)

    def from_fields(self, fields: Fields, lines: list[Fields], raw: Any) -> Any:
        """The record from flattened fields (and lines)."""
        raise NotImplementedError

    def _common(self, fields: Fields, raw: Any) -> dict[str, Any]:
        recordno = fields.get("RECORDNO") or None
        return {
            "source": Source(system=SYSTEM, resource=self.object, id=recordno),
            "updated_at": parse_timestamp(fields.get("WHENMODIFIED"), "WHENMODIFIED"),
            "raw": raw,
        }

    def to_payload(self, record: Any) -> Any:
        """The ``<OBJECT>`` element that creates ``record``."""
        raise NotImplementedError

    def changes_payload(self, changes: Mapping[str, Any]) -> Any:
        """An ``<OBJECT>`` element with only the changed fields (the handler adds the key)."""
        raise ValidationError(f"{self.object} records cannot be updated here", field="changes", system=SYSTEM)


# -- parties ----------------------------------------------------------------------------


_COMPANYNAME = "DISPLAYCONTACT.COMPANYNAME"
_EMAIL1 = "DISPLAYCONTACT.EMAIL1"
_PHONE1 = "DISPLAYCONTACT.PHONE1"
_ADDRESS = "DISPLAYCONTACT.MAILADDRESS."

#: What a party is read from: Intacct field -> a canonical field, copied as it is (empty is
#: None), or a ``_`` slot that :meth:`_PartyMapper._record` finishes. The one table of the
#: mapping: ``from_fields`` and ``to_record`` (the listing's path) both read through it, and
#: ``_record`` names every slot (a slot added here must be added there).
_PARTY_FIELDS = {
    "NAME": "_name",
    "STATUS": "_status",
    "ONHOLD": "_onhold",
    "RECORDNO": "_recordno",
    "WHENMODIFIED": "_when",
    "TAXID": "tax_id",
    "CURRENCY": "currency",
    _COMPANYNAME: "legal_name",
    _EMAIL1: "email",
    _PHONE1: "phone",
    _ADDRESS + "ADDRESS1": "_line1",
    _ADDRESS + "ADDRESS2": "_line2",
    _ADDRESS + "CITY": "_city",
    _ADDRESS + "STATE": "_region",
    _ADDRESS + "ZIP": "_postal_code",
    _ADDRESS + "COUNTRYCODE": "_country",
}


class _PartyMapper(ObjectMapper):
    model: ClassVar[type[Vendor] | type[Customer]]
    #: ``_PARTY_FIELDS`` with the name key (``VENDORID``) -> ``_key``; its routes; every slot empty.
    _table: ClassVar[dict[str, str]]
    _routes: ClassVar[Routes]
    _empty: ClassVar[dict[str, None]]
    #: ``validate_record`` for ``model``, its lookups made once.
    _validate: ClassVar[staticmethod[[Any], Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._table = {cls.name_key or "": "_key", **_PARTY_FIELDS}
        cls._routes = routes_for(cls._table)
        cls._empty = dict.fromkeys(cls._table.values())
        cls._validate = staticmethod(record_validator(cls.model))

    def to_record(self, payload: Any) -> Any:
        # Straight from the element to the slots (the listing's hot path: no flattened copy).
        node = _element_of(payload)
        return self._record(collect(node, self._routes, dict(self._empty)), node)

    def from_fields(self, fields: Fields, lines: list[Fields], raw: Any) -> Any:
        return self._record({slot: fields.get(name) or None for name, slot in self._table.items()}, raw)

    def _record(self, slots: dict[str, Any], raw: Any) -> Any:
        """The record from filled slots (every slot present; text or None)."""
        # One validation of plain data built in one dict display: pydantic builds the nested
        # values in one pass (the listing's hot path, so no copy or pop per field).
        key = slots["_key"]
        status = "blocked" if slots["_onhold"] == "true" else slots["_status"]
        line1, city = slots["_line1"], slots["_city"]
        address = {
            "line1": line1,
            "line2": slots["_line2"],
            "city": city,
            "region": slots["_region"],
            "postal_code": slots["_postal_code"],
            "country": slots["_country"],
        }
        data = {
            "id": key,
            "name": slots["_name"] or key or "",
            "legal_name": slots["legal_name"],
            "tax_id": slots["tax_id"],
            "email": slots["email"],
            "phone": slots["phone"],
            "addresses": [address] if line1 or city else [],
            "currency": slots["currency"],
            "status": status,  # Intacct's "active" and "inactive" are canonical; others stay as sent
            "source": {"system": SYSTEM, "resource": self.object, "id": slots["_recordno"]},
            "updated_at": parse_timestamp(slots["_when"], "WHENMODIFIED"),
            "raw": raw,
        }
        return self._validate(data)

    def _fields(self, record: Any) -> list[tuple[str, Any]]:
        address = record.addresses[0] if record.addresses else None
        status = _text(record.status) if record.status is not None else None
        pairs: list[tuple[str, Any]] = [
            ("NAME", record.name),
            ("TAXID", record.tax_id),
            ("CURRENCY", record.currency),
            ("STATUS", status if status in ("active", "inactive") else None),
            ("ONHOLD", "true" if status == "blocked" else None),
            ("DISPLAYCONTACT.PRINTAS", record.name if record.name else None),
            ("DISPLAYCONTACT.COMPANYNAME", record.legal_name),
            ("DISPLAYCONTACT.EMAIL1", record.email),
            ("DISPLAYCONTACT.PHONE1", record.phone),
        ]
        if address is not None:
            pairs += [
                ("DISPLAYCONTACT.MAILADDRESS.ADDRESS1", address.line1),
                ("DISPLAYCONTACT.MAILADDRESS.ADDRESS2", address.line2),
                ("DISPLAYCONTACT.MAILADDRESS.CITY", address.city),
                ("DISPLAYCONTACT.MAILADDRESS.STATE", address.region),
                ("DISPLAYCONTACT.MAILADDRESS.ZIP", address.postal_code),
                ("DISPLAYCONTACT.MAILADDRESS.COUNTRYCODE", address.country),
            ]
        return pairs

    def to_payload(self, record: Any) -> Any:
        node = element(self.object)
        if record.id:
            sub(node, self.name_key or "", record.id)
        for path, value in self._fields(record):
            _put(node, path, value)
        return node

    def changes_payload(self, changes: Mapping[str, Any]) -> Any:
        allowed = {"name", "tax_id", "currency", "status", "legal_name", "email", "phone", "addresses"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise ValidationError(
                f"Intacct {self.object} updates do not cover {unknown[0]!r}",
                field=unknown[0],
                system=SYSTEM,
            )
        template = self.model.model_construct(name="", **{k: v for k, v in changes.items()})
        wanted = {
            "name": ["NAME"],
            "tax_id": ["TAXID"],
            "currency": ["CURRENCY"],
            "status": ["STATUS", "ONHOLD"],
            "legal_name": ["DISPLAYCONTACT.COMPANYNAME"],
            "email": ["DISPLAYCONTACT.EMAIL1"],
            "phone": ["DISPLAYCONTACT.PHONE1"],
            "addresses": [
                f"DISPLAYCONTACT.MAILADDRESS.{p}"
                for p in ("ADDRESS1", "ADDRESS2", "CITY", "STATE", "ZIP", "COUNTRYCODE")
            ],
        }
        paths = {path for name in changes for path in wanted[name]}
        node = element(self.object)
        for path, value in self._fields(template):
            if path in paths:
                _put(node, path, value if value is not None else "")
        return node


class VendorMapper(_PartyMapper):
    """``VENDOR``: id is ``VENDORID``."""

    object = "VENDOR"
    name_key = "VENDORID"
    model = Vendor


class CustomerMapper(_PartyMapper):
    """``CUSTOMER``: id is ``CUSTOMERID``."""

    object = "CUSTOMER"
    name_key = "CUSTOMERID"
    model = Customer


# -- AP and AR documents ----------------------------------------------------------------

_DOCUMENT_STATES = {
    "draft": "draft",
    "submitted": "pending_approval",
    "posted": "open",
    "partially paid": "partially_paid",
    "paid": "paid",
    "selected": "open",
    "reversed": "void",
    "voided": "void",
}
_STATE_OF_STATUS = {"draft": "Draft", "pending_approval": "Submitted", "open": "Posted"}


def _party_field(attr: str, value: Ref | None) -> dict[str, Any]:
    return {attr: value}


class _DocumentMapper(ObjectMapper):
    model: ClassVar[type[Bill] | type[Invoice]]
    party_field: ClassVar[str]
    party_name_field: ClassVar[str]
    party_attr: ClassVar[str]

    # Plain data validated once per document: pydantic builds the lines, amounts and refs
    # in one pass (a constructor per nested value costs a validation call each).

    def _line(self, line: Fields, currencies: _Currencies) -> dict[str, Any]:
        account = line.get("ACCOUNTNO")
        return {
            "id": line.get("RECORDNO") or None,
            "line_number": int(line["LINE_NO"]) if line.get("LINE_NO") else None,
            "description": line.get("ENTRYDESCRIPTION") or None,
            "amount": _money_data(line, "TRX_AMOUNT", "AMOUNT", currencies),
            "account": {"id": account, "name": line.get("ACCOUNTTITLE") or None} if account else None,
            "dimensions": _dimensions(line),
        }

    def from_fields(self, fields: Fields, lines: list[Fields], raw: Any) -> Any:
        currencies = _currencies(fields)
        party_id = fields.get(self.party_field)
        state = (fields.get("STATE") or "").lower()
        return validate_record(
            self.model,
            {
                "id": fields.get("RECORDNO") or None,
                "number": fields.get("RECORDID") or None,
                "issue_date": parse_date(fields.get("WHENCREATED"), "WHENCREATED"),
                "due_date": parse_date(fields.get("WHENDUE"), "WHENDUE"),
                "currency": currencies.transaction,
                "total": _money_data(fields, "TRX_TOTALENTERED", "TOTALENTERED", currencies),
                "balance": _money_data(fields, "TRX_TOTALDUE", "TOTALDUE", currencies),
                "status": _DOCUMENT_STATES.get(state, fields.get("STATE")) if state else None,
                "memo": fields.get("DESCRIPTION") or None,
                "lines": [self._line(line, currencies) for line in lines],
                self.party_attr: (
                    {"id": party_id, "name": fields.get(self.party_name_field) or None} if party_id else None
                ),
                "source": {"system": SYSTEM, "resource": self.object, "id": fields.get("RECORDNO") or None},
                "updated_at": parse_timestamp(fields.get("WHENMODIFIED"), "WHENMODIFIED"),
                "raw": raw,
            },
        )

    def to_payload(self, record: Any) -> Any:
        party = getattr(record, self.party_attr)
        if party is None or not party.id:
            raise ValidationError(
                f"an Intacct {self.object} needs {self.party_attr}.id ({self.party_field})",
                field=f"{self.model.resource}.{self.party_attr}",
                system=SYSTEM,
            )
        if record.issue_date is None:
            raise ValidationError(
                f"an Intacct {self.object} needs issue_date",
                field=f"{self.model.resource}.issue_date",
                system=SYSTEM,
            )
        if not record.lines:
            raise ValidationError(
                f"an Intacct {self.object} needs at least one line",
                field=f"{self.model.resource}.lines",
                system=SYSTEM,
            )
        node = element(self.object)
        sub(node, self.party_field, party.id)
        sub(node, "WHENCREATED", format_date(record.issue_date))
        if record.due_date is not None:
            sub(node, "WHENDUE", format_date(record.due_date))
        if record.number:
            sub(node, "RECORDID", record.number)
        if record.currency:
            sub(node, "CURRENCY", record.currency)
        if record.memo:
            sub(node, "DESCRIPTION", record.memo)
        status = _text(record.status) if record.status is not None else None
        if status in _STATE_OF_STATUS:
            sub(node, "ACTION", _STATE_OF_STATUS[status])
        items = sub(node, self.lines_container or "")
        for index, line in enumerate(record.lines):
            items.append(self._line_payload(line, index))
        return node

    #: Canonical fields an update of a draft may change.
    updatable: ClassVar[frozenset[str]] = frozenset(
        {"number", "issue_date", "due_date", "memo", "lines", "status"}
    )

    def changes_payload(self, changes: Mapping[str, Any]) -> Any:
        """The ``<APBILL>`` (``<ARINVOICE>``) of an update of a draft: the changed header
        fields, all lines when ``lines`` is given (they replace the stored ones), and
        ``ACTION`` ``Draft`` (keep it a draft) or ``Posted`` for ``status="open"``."""
        unknown = sorted(set(changes) - self.updatable)
        if unknown:
            raise ValidationError(
                f"Intacct {self.object} updates do not cover {unknown[0]!r}", field=unknown[0], system=SYSTEM
            )
        node = element(self.object)
        if "number" in changes:
            sub(node, "RECORDID", changes["number"] or "")
        for name, tag in (("issue_date", "WHENCREATED"), ("due_date", "WHENDUE")):
            if name in changes:
                value = changes[name]
                if value is None and name == "issue_date":
                    raise ValidationError(
                        f"an Intacct {self.object} needs issue_date", field=name, system=SYSTEM
                    )
                sub(node, tag, format_date(value) if value is not None else "")
        if "memo" in changes:
            sub(node, "DESCRIPTION", changes["memo"] or "")
        status = changes.get("status")
        status = _text(status) if status is not None else "draft"
        if status not in ("draft", "open"):
            raise ValidationError(
                f"an update keeps an Intacct {self.object} a draft or posts it ('open'), not {status!r}",
                field="status",
                system=SYSTEM,
            )
        sub(node, "ACTION", _STATE_OF_STATUS[status])
        if "lines" in changes:
            lines = list(changes["lines"] or [])
            if not lines:
                raise ValidationError(
                    f"an Intacct {self.object} needs at least one line", field="lines", system=SYSTEM
                )
            currencies = {money.currency for line in lines for _, money in line.amounts()}
            if len(currencies) != 1:
                raise ValidationError(
                    f"the lines of an Intacct {self.object} have one currency, not {sorted(currencies)}",
                    field="lines",
                    system=SYSTEM,
                )
            # Lines carry amounts only: the document's currency is set with them, so the
            # amounts can never be read in another currency.
            sub(node, "CURRENCY", currencies.pop())
            items = sub(node, self.lines_container or "")
            for index, line in enumerate(lines):
                items.append(self._line_payload(line, index))
        return node

    def _line_payload(self, line: LineItem, index: int) -> Any:
        where = f"{self.model.resource}.lines.{index}"
        if line.account is None or not line.account.id:
            raise ValidationError(
                "each Intacct line needs account.id (ACCOUNTNO)", field=f"{where}.account", system=SYSTEM
            )
        amount = line.amount
        if amount is None and line.unit_price is not None:
            amount = line.unit_price * (line.quantity if line.quantity is not None else Decimal(1))
        if amount is None:
            raise ValidationError("each Intacct line needs an amount", field=f"{where}.amount", system=SYSTEM)
        node = element(self.line_tag or "")
        sub(node, "ACCOUNTNO", line.account.id)
        sub(node, "TRX_AMOUNT", format_amount(amount.amount))
        if line.description:
            sub(node, "ENTRYDESCRIPTION", line.description)
        _put_dimensions(node, line.dimensions)
        return node


class BillMapper(_DocumentMapper):
    """``APBILL`` with ``APBILLITEMS`` lines."""

    object = "APBILL"
    lines_container = "APBILLITEMS"
    line_tag = "APBILLITEM"
    model = Bill
    party_field = "VENDORID"
    party_name_field = "VENDORNAME"
    party_attr = "vendor"


class InvoiceMapper(_DocumentMapper):
    """``ARINVOICE`` with ``ARINVOICEITEMS`` lines."""

    object = "ARINVOICE"
    lines_container = "ARINVOICEITEMS"
    line_tag = "ARINVOICEITEM"
    model = Invoice
    party_field = "CUSTOMERID"
    party_name_field = "CUSTOMERNAME"
    party_attr = "customer"


# -- payments ---------------------------------------------------------------------------

_PAYMENT_METHODS = {
    "printed check": "check",
    "check": "check",
    "manual check": "check",
    "eft": "ach",
    "ach": "ach",
    "cash": "cash",
    "credit card": "card",
    "charge card": "card",
    "wire": "wire",
}
_PAYMENT_STATES = {
    "complete": "completed",
    "paid": "completed",
    "draft": "pending",
    "voided": "void",
    "void": "void",
}


class _PaymentMapper(ObjectMapper):
    model: ClassVar[type[BillPayment] | type[Payment]]
    party_field: ClassVar[str]
    party_name_field: ClassVar[str]
    party_attr: ClassVar[str]
    date_field: ClassVar[str]
    document_type: ClassVar[str]

    def from_fields(self, fields: Fields, lines: list[Fields], raw: Any) -> Any:
        currencies = _currencies(fields)
        amount = _money(fields, "TRX_TOTALENTERED", "TOTALENTERED", currencies)
        if amount is None:
            raise ValueError(f"{self.object} {fields.get('RECORDNO')} has no amount")
        allocations = []
        for line in lines:
            applied = _money(line, "TRX_PAYMENTAMOUNT", "PAYMENTAMOUNT", currencies)
            if applied is not None and line.get("RECORDKEY"):
                allocations.append(
                    Allocation(
                        document=Ref(line["RECORDKEY"]), document_type=self.document_type, amount=applied
                    )
                )
        method = (fields.get("PAYMENTMETHOD") or "").lower()
        state = (fields.get("STATE") or "").lower()
        party_id = fields.get(self.party_field)
        return self.model(
            id=fields.get("RECORDNO") or None,
            date=parse_date(fields.get(self.date_field), self.date_field),
            amount=amount,
            method=_PAYMENT_METHODS.get(method, fields.get("PAYMENTMETHOD")) if method else None,
            reference=fields.get("DOCNUMBER") or None,
            bank_account=Ref(fields["FINANCIALENTITY"]) if fields.get("FINANCIALENTITY") else None,
            status=_PAYMENT_STATES.get(state, fields.get("STATE")) if state else None,
            allocations=allocations,
            **_party_field(
                self.party_attr,
                Ref(party_id, fields.get(self.party_name_field) or None) if party_id else None,
            ),
            **self._common(fields, raw),
        )


class BillPaymentMapper(_PaymentMapper):
    """``APPYMT`` with ``APPYMTDETAILS`` (the bills paid)."""

    object = "APPYMT"
    lines_container = "APPYMTDETAILS"
    model = BillPayment
    party_field = "VENDORID"
    party_name_field = "VENDORNAME"
    party_attr = "vendor"
    date_field = "PAYMENTDATE"
    document_type = "bill"


class PaymentMapper(_PaymentMapper):
    """``ARPYMT`` with ``ARPYMTDETAILS`` (the invoices paid)."""

    object = "ARPYMT"
    lines_container = "ARPYMTDETAILS"
    model = Payment
    party_field = "CUSTOMERID"
    party_name_field = "CUSTOMERNAME"
    party_attr = "customer"
    date_field = "RECEIPTDATE"
    document_type = "invoice"


# -- general ledger ---------------------------------------------------------------------

_BATCH_STATES = {"posted": "posted", "draft": "draft", "reversed": "reversed", "reversal pending": "posted"}


class JournalEntryMapper(ObjectMapper):
    """``GLBATCH`` with ``ENTRIES`` (``GLENTRY`` lines: ``TR_TYPE`` 1 is a debit, -1 a credit)."""

    object = "GLBATCH"
    lines_container = "ENTRIES"
    line_tag = "GLENTRY"
    #: The journal new entries go to when the caller names none.
    default_journal = "GJ"

    def _line(self, line: Fields, base_currency: str | None) -> JournalLine:
        amount = _money(line, "TRX_AMOUNT", "AMOUNT", _currencies(line, base_currency))
        if amount is None:
            raise ValueError(f"GLENTRY {line.get('RECORDNO')} has no amount")
        debit = line.get("TR_TYPE") == "1"
        if not debit and line.get("TR_TYPE") != "-1":
            raise ValueError(
                f"GLENTRY {line.get('RECORDNO')} has TR_TYPE {line.get('TR_TYPE')!r}, not 1 or -1"
            )
        return JournalLine(
            account=Ref(line.get("ACCOUNTNO") or None, line.get("ACCOUNTTITLE") or None),
            debit=amount if debit else None,
            credit=None if debit else amount,
            description=line.get("DESCRIPTION") or None,
            dimensions=_dimensions(line),
        )

    def from_fields(self, fields: Fields, lines: list[Fields], raw: Any) -> Any:
        state = (fields.get("STATE") or "").lower()
        base_currency = fields.get("BASECURR") or None
        return JournalEntry(
            id=fields.get("RECORDNO") or None,
            number=fields.get("BATCHNO") or None,
            date=parse_date(fields.get("BATCH_DATE"), "BATCH_DATE"),
            memo=fields.get("BATCH_TITLE") or None,
            status=_BATCH_STATES.get(state, fields.get("STATE")) if state else None,
            lines=[self._line(line, base_currency) for line in lines],
            **self._common(fields, raw),
        )

    def to_payload(self, record: Any) -> Any:
        if record.date is None:
            raise ValidationError(
                "an Intacct journal entry needs a date", field="journal_entry.date", system=SYSTEM
            )
        if len(record.lines) < 2:
            raise ValidationError(
                "an Intacct journal entry needs at least two lines",
                field="journal_entry.lines",
                system=SYSTEM,
            )
        node = element(self.object)
        sub(node, "JOURNAL", self.default_journal)
        sub(node, "BATCH_DATE", format_date(record.date))
        sub(node, "BATCH_TITLE", record.memo or record.number or "fincon journal entry")
        status = _text(record.status) if record.status is not None else None
        if status == "draft":
            sub(node, "STATE", "Draft")
        entries = sub(node, "ENTRIES")
        for index, line in enumerate(record.lines):
            money = line.debit if line.debit is not None else line.credit
            if (line.debit is not None and line.credit is not None) or money is None:
                raise ValidationError(
                    "an Intacct journal line is a debit or a credit, not both",
                    field=f"journal_entry.lines.{index}",
                    system=SYSTEM,
                )
            if money.amount < 0:
                raise ValidationError(
                    "Intacct journal amounts are positive (the side says debit or credit)",
                    field=f"journal_entry.lines.{index}",
                    system=SYSTEM,
                )
            if not line.account.id:
                raise ValidationError(
                    "each journal line needs account.id (ACCOUNTNO)",
                    field=f"journal_entry.lines.{index}.account",
                    system=SYSTEM,
                )
            entry = sub(entries, "GLENTRY")
            sub(entry, "ACCOUNTNO", line.account.id)
            sub(entry, "TR_TYPE", "1" if line.debit is not None else "-1")
            sub(entry, "TRX_AMOUNT", format_amount(money.amount))
            sub(entry, "CURRENCY", money.currency)
            if line.description:
                sub(entry, "DESCRIPTION", line.description)
            _put_dimensions(entry, line.dimensions)
        return node


class AccountMapper(ObjectMapper):
    """``GLACCOUNT``: id and number are ``ACCOUNTNO``; the class from ``ACCOUNTTYPE`` and ``NORMALBALANCE``.

    A balance-sheet account with a credit balance reads as a liability: Intacct's header
    fields cannot tell equity apart (its ``CATEGORY``, when set, is kept in ``raw``).
    """

    object = "GLACCOUNT"
    name_key = "ACCOUNTNO"
    _CLASSES: ClassVar[dict[tuple[str, str], str]] = {
        ("balancesheet", "debit"): "asset",
        ("balancesheet", "credit"): "liability",
        ("incomestatement", "credit"): "income",
        ("incomestatement", "debit"): "expense",
    }

    def from_fields(self, fields: Fields, lines: list[Fields], raw: Any) -> Any:
        kind = ((fields.get("ACCOUNTTYPE") or "").lower(), (fields.get("NORMALBALANCE") or "").lower())
        status = fields.get("STATUS")
        return Account(
            id=fields.get("ACCOUNTNO") or None,
            number=fields.get("ACCOUNTNO") or None,
            name=fields.get("TITLE") or fields.get("ACCOUNTNO") or "",
            classification=self._CLASSES.get(kind),
            active=None if not status else status == "active",
            **self._common(fields, raw),
        )


class BankAccountMapper(ObjectMapper):
    """``CHECKINGACCOUNT``: id is ``BANKACCOUNTID``."""

    object = "CHECKINGACCOUNT"
    name_key = "BANKACCOUNTID"

    def from_fields(self, fields: Fields, lines: list[Fields], raw: Any) -> Any:
        status = fields.get("STATUS")
        return BankAccount(
            id=fields.get("BANKACCOUNTID") or None,
            name=fields.get("BANKACCOUNTID") or None,
            type="checking",
            currency=fields.get("CURRENCY") or None,
            account_number=fields.get("BANKACCOUNTNO") or None,
            routing_number=fields.get("ROUTINGNO") or None,
            bank_name=fields.get("BANKNAME") or None,
            gl_account=Ref(fields["GLACCOUNTNO"]) if fields.get("GLACCOUNTNO") else None,
            active=None if not status else status == "active",
            **self._common(fields, raw),
        )


_PO_STATES = {
    "draft": "draft",
    "pending": "open",
    "partially converted": "partially_received",
    "converted": "received",
    "closed": "closed",
    "canceled": "cancelled",
    "cancelled": "cancelled",
}


class PurchaseOrderMapper(ObjectMapper):
    """``PODOCUMENT`` of the ``Purchase Order`` type, with ``PODOCUMENTENTRIES``."""

    object = "PODOCUMENT"
    lines_container = "PODOCUMENTENTRIES"
    #: The transaction definition (``docparid``) listed as purchase orders.
    document_type = "Purchase Order"

    def from_fields(self, fields: Fields, lines: list[Fields], raw: Any) -> Any:
        currencies = _currencies(fields)
        state = (fields.get("STATE") or "").lower()
        vendor = fields.get("VENDORID")
        items = []
        for line in lines:
            quantity = parse_amount(line.get("QUANTITY"), "QUANTITY")
            items.append(
                LineItem(
                    id=line.get("RECORDNO") or None,
                    line_number=int(line["LINE_NO"]) if line.get("LINE_NO") else None,
                    description=line.get("ITEMDESC") or None,
                    item=Ref(line["ITEMID"]) if line.get("ITEMID") else None,
                    quantity=quantity,
                    unit_price=_money(line, "UIPRICE", "PRICE", currencies),
                    amount=_money(line, "TRX_VALUE", "TOTAL", currencies),
                    dimensions=_dimensions(line),
                )
            )
        return PurchaseOrder(
            id=fields.get("RECORDNO") or None,
            number=fields.get("DOCNO") or fields.get("DOCID") or None,
            vendor=Ref(vendor, fields.get("CUSTVENDNAME") or None) if vendor else None,
            issue_date=parse_date(fields.get("WHENCREATED"), "WHENCREATED"),
            expected_date=parse_date(fields.get("WHENDUE"), "WHENDUE"),
            currency=currencies.transaction,
            total=_money(fields, "TRX_TOTAL", "TOTAL", currencies),
            status=_PO_STATES.get(state, fields.get("STATE")) if state else None,
            memo=fields.get("MESSAGE") or None,
            lines=items,
            **self._common(fields, raw),
        )


#: Canonical resource -> mapper (``fincon.to_record("intacct", "vendor", xml)``).
MAPPERS: dict[str, ObjectMapper] = {
    "vendor": VendorMapper(),
    "customer": CustomerMapper(),
    "bill": BillMapper(),
    "invoice": InvoiceMapper(),
    "bill_payment": BillPaymentMapper(),
    "payment": PaymentMapper(),
    "journal_entry": JournalEntryMapper(),
    "account": AccountMapper(),
    "purchase_order": PurchaseOrderMapper(),
    "bank_account": BankAccountMapper(),
}
