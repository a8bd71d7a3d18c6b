"""Parsing printed amounts (``"$1,234.56"``, ``"(1,234.56)"``, ``"-1 234,56 EUR"``) into exact Decimals.

The rule is: never guess. ``"1,234"`` is 1234 in New York and 1.234 in Berlin, so without a
``locale`` it is an error; with one, the locale's decimal separator decides. Everything else
that can only be read one way (``"1.234,56"``, ``"1,5"``, ``"12.34"``, ``"1 234,56"``) is read
that way. Digit groups are checked (``"1,23.4"`` is refused), and the result keeps the printed
scale (``"1.50"`` -> ``Decimal("1.50")``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from fincon.errors import ValidationError
from fincon.models import CURRENCY_EXPONENTS, Money

__all__ = ["format_amount", "parse_amount", "parse_money"]

# Languages writing a decimal comma; the rest of those listed write a decimal point.
_COMMA = (
    "af az be bg bs ca cs da de el es et eu fi fo fr gl hr hu hy id is it ka kk ky lt lv mk mn nb nl "
    "nn no pl pt ro ru sk sl sq sr sv tr uk uz vi"
)
_POINT = "en ja zh ko th he hi ms fil tl ga mt sw bn ta te ur ar fa"
_COMMA_LANGUAGES: Final = frozenset(_COMMA.split())
_POINT_LANGUAGES: Final = frozenset(_POINT.split())
# Regions that differ from their language's habit.
_POINT_REGIONS: Final = frozenset({"CH", "LI", "MX"})  # de_CH 1'234.56, es_MX 1,234.56
_INDIAN_GROUPING_REGIONS: Final = frozenset({"IN"})  # en_IN 1,23,456.78

_UNAMBIGUOUS_SYMBOLS: Final = {
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₪": "ILS",
    "₫": "VND",
    "₱": "PHP",
    "฿": "THB",
    "₦": "NGN",
    "₴": "UAH",
    "US$": "USD",
    "R$": "BRL",
}
_CURRENCY_TOKEN = re.compile(r"US\$|CA\$|AU\$|NZ\$|HK\$|[CAR]\$|[$€£¥₹₩₽₺₪₫₱฿₦₴]|[A-Za-z]{3}")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_NUMBER_CHARS = re.compile(r"[0-9.,' \u2019]*[0-9][0-9.,' \u2019]*|[.,][0-9]+")
_GROUP_CHARS = " '\u2019.,"


class _Printed:
    """A printed amount split into sign, currency token and the bare number."""

    def __init__(self, number: str, negative: bool, currency: str | None) -> None:
        self.number = number
        self.negative = negative
        self.currency = currency


def _peel(text: str, field: str | None) -> _Printed:
    rest = _SPACES.sub(" ", text.replace("\u2212", "-")).strip()
    negative_marks = 0
    currency: str | None = None
    changed = True
    while changed and rest:
        changed = False
        if rest.startswith("(") and rest.endswith(")"):
            rest, negative_marks, changed = rest[1:-1].strip(), negative_marks + 1, True
        for sign in ("-", "+"):
            if rest.startswith(sign):
                rest, changed = rest[1:].strip(), True
                negative_marks += sign == "-"
            if rest.endswith(sign):  # SAP and mainframe exports print "1,234.56-"
                rest, changed = rest[:-1].strip(), True
                negative_marks += sign == "-"
        for match in (
            _CURRENCY_TOKEN.match(rest),
            _CURRENCY_TOKEN.search(rest + "\0", max(len(rest) - 3, 0)),
        ):
            token = match.group(0) if match else None
            if token is None or not (rest.startswith(token) or rest.endswith(token)):
                continue
            if token.isalpha() and token.upper() not in CURRENCY_EXPONENTS:
                continue
            if currency is not None:
                raise ValidationError(f"{text!r} names a currency twice", field=field)
            currency = token.upper() if token.isalpha() else token
            rest = (rest[len(token) :] if rest.startswith(token) else rest[: -len(token)]).strip()
            changed = True
            break
    if negative_marks > 1:
        raise ValidationError(f"{text!r} has more than one minus sign or parenthesis", field=field)
    return _Printed(rest, negative_marks == 1, currency)


def _decimal_separator(locale: str, field: str | None) -> tuple[str, bool]:
    language, _, region = locale.replace("-", "_").partition("_")
    language, region = language.lower(), region[:2].upper()
    indian = region in _INDIAN_GROUPING_REGIONS
    if region in _POINT_REGIONS:
        return ".", indian
    if language in _COMMA_LANGUAGES:
        return ",", indian
    if language in _POINT_LANGUAGES:
        return ".", indian
    raise ValidationError(
        f"unknown locale {locale!r} (expected a tag such as 'en_US' or 'de_DE')", field=field
    )


def _valid_groups(integer: str, indian: bool) -> bool:
    separators = {char for char in integer if char in _GROUP_CHARS}
    if not separators:
        return True
    if len(separators) > 1:
        return False
    groups = integer.split(separators.pop())
    if not groups[0] or groups[0] == "0" or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:]):
        # Indian grouping: the last group has three digits, those before it two.
        return (
            indian
            and 1 <= len(groups[0]) <= 2
            and all(len(g) == 2 for g in groups[1:-1])
            and len(groups[-1]) == 3
        )
    return True


def _infer_separator(number: str, text: str, field: str | None) -> str | None:
    """The decimal separator of a number printed without a locale, or ``None`` for an integer."""
    marks = [char for char in number if char in ".,"]
    if not marks:
        return None
    last = marks[-1]
    if len(set(marks)) == 2:
        return last  # "1.234,56" and "1,234.56" can only be read one way
    if len(marks) > 1:
        return None  # "1,234,567": a repeated mark groups digits
    integer, fraction = number.split(last)
    # Only "d,ddd" .. "ddd,ddd" can be read both ways; "1234,567", "0,125" and "1 234,567" cannot.
    if len(fraction) != 3 or integer == "0" or not integer.isdigit() or len(integer) > 3:
        return last
    raise ValidationError(
        f"{text!r} is ambiguous: {last!r} may separate thousands or decimals; pass locale= to decide",
        field=field,
    )


def parse_amount(
    text: str | int | Decimal, locale: str | None = None, *, field: str | None = None
) -> Decimal:
    """The exact ``Decimal`` a printed amount stands for.

    Understands currency symbols and ISO codes on either side, ``-`` before or after, and
    accounting parentheses. ``locale`` (``"en_US"``, ``"de-DE"``, ``"fr_FR"``, ``"de_CH"``,
    ``"en_IN"``) fixes the decimal separator; without it ambiguous input raises
    ``ValidationError`` rather than being guessed. ``int`` and ``Decimal`` pass through; ``float``
    is refused.
    """
    if isinstance(text, (bool, float)) or not isinstance(text, (str, int, Decimal)):
        raise ValidationError(
            f"cannot parse an amount from {type(text).__name__} {text!r}; pass the printed text", field=field
        )
    if not isinstance(text, str):
        return Decimal(text)
    return _parse(text, locale, field)[0]


def _parse(text: str, locale: str | None, field: str | None) -> tuple[Decimal, str | None]:
    printed = _peel(text, field)
    number = printed.number
    if not _NUMBER_CHARS.fullmatch(number) or number[-1] not in "0123456789":
        raise ValidationError(f"{text!r} is not a printed amount", field=field)
    separator: str | None
    indian = False
    if locale is not None:
        separator, indian = _decimal_separator(locale, field)
        if number.count(separator) > 1:
            raise ValidationError(f"{text!r} has more than one decimal separator {separator!r}", field=field)
    else:
        separator = _infer_separator(number, text, field)
    integer, _, fraction = number.partition(separator) if separator else (number, "", "")
    if not fraction.isdigit() and fraction:
        raise ValidationError(f"{text!r} has separators after the decimal separator", field=field)
    if not _valid_groups(integer, indian):
        raise ValidationError(f"{text!r} has misplaced digit-group separators", field=field)
    digits = "".join(char for char in integer if char.isdigit()) or "0"
    value = Decimal(f"{'-' if printed.negative else ''}{digits}{'.' + fraction if fraction else ''}")
    return value, printed.currency


def parse_money(
    text: str, currency: str | None = None, locale: str | None = None, *, field: str | None = None
) -> Money:
    """A printed amount with its currency as ``Money``: ``parse_money("-1 234,56 EUR")``.

    The currency comes from an ISO code or an unambiguous symbol (``€``, ``£``, ``R$``) in
    the text, or from ``currency``; ``$`` and ``¥`` alone need ``currency``. A text naming a
    different currency than ``currency`` is refused.
    """
    value, token = _parse(text, locale, field)
    found = _UNAMBIGUOUS_SYMBOLS.get(token, token) if token else None
    if found is not None and found not in CURRENCY_EXPONENTS:
        if currency is None:
            raise ValidationError(f"{text!r}: the symbol {token!r} is ambiguous; pass currency=", field=field)
        found = None
    if found is not None and currency is not None and found != currency.strip().upper():
        raise ValidationError(f"{text!r} is in {found}, not {currency.upper()}", field=field)
    code = found or currency
    if code is None:
        raise ValidationError(f"{text!r} names no currency; pass currency=", field=field)
    return Money(value, code)


def format_amount(value: Decimal, locale: str | None = None, *, grouping: bool = True) -> str:
    """Print ``value`` the way ``locale`` writes numbers (``"1,234.56"``, ``"1.234,56"``, ``"1'234.56"``).

    The inverse of :func:`parse_amount` for the same locale; the scale of ``value`` is kept.
    """
    separator, indian = _decimal_separator(locale or "en_US", "locale")
    _, region = (locale or "").replace("-", "_").partition("_")[::2]
    group = "'" if region[:2].upper() in {"CH", "LI"} else ("." if separator == "," else ",")
    plain = f"{abs(value):f}"
    integer, _, fraction = plain.partition(".")
    if grouping:
        if indian and len(integer) > 3:
            head, tail = integer[:-3], integer[-3:]
            pairs = [head[max(i - 2, 0) : i] for i in range(len(head), 0, -2)][::-1]
            integer = group.join([*pairs, tail])
        else:
            integer = f"{int(integer):,}".replace(",", group)
    sign = "-" if value.is_signed() and value != 0 else ""
    return f"{sign}{integer}{separator + fraction if fraction else ''}"
