"""A typed, immutable OData query builder and key predicates, for V2 and V4.

::

    q = (Query(ODataVersion.V2)
         .filter(F("Supplier") == "1000", F("CreationDate") >= datetime(2026, 1, 1, tzinfo=UTC))
         .select("Supplier", "SupplierName").orderby("Supplier").top(50).count())
    q.to_query_string()   # $filter=Supplier%20eq%20'1000'%20and%20...

Values are always rendered through :func:`fincon.protocols.odata.codecs.literal` and then
percent-encoded, and property names must be identifiers: no value can add an operator, a
parameter or a fragment to the query. Given an :class:`~fincon.protocols.odata.metadata.EntityType`
(:meth:`Query.for_entity_set`), property names are checked against it (a clear
``ValidationError`` naming the property, the entity set and the system) and each literal takes
the property's Edm type. :func:`key_predicate` renders ``('100')`` or
``(CompanyCode='1010',FiscalYear='2026')``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fincon.errors import Unsupported, ValidationError
from fincon.protocols.odata._version import ODataVersion
from fincon.protocols.odata.codecs import infer_edm_type, literal
from fincon.protocols.odata.metadata import EntityType, Property, ServiceMetadata

__all__ = [
    "And",
    "Comparison",
    "Expr",
    "F",
    "In",
    "Not",
    "Or",
    "Query",
    "Raw",
    "StringFunction",
    "and_",
    "asc",
    "desc",
    "key_predicate",
    "not_",
    "or_",
    "quote_query_value",
]

_SEGMENT = r"[^\W\d]\w*"
_PATH = re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT})*$")
_SELECT_ITEM = re.compile(rf"^(?:\*|{_SEGMENT}(?:/(?:{_SEGMENT}|\*))*|{_SEGMENT}(?:\.{_SEGMENT})+(?:/\*)?)$")
_CUSTOM_OPTION = re.compile(r"^[A-Za-z_][\w.\-]*$")
_OWN_OPTIONS = frozenset(
    {"$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$count", "$inlinecount", "$search"}
)
#: Characters left as they are in query values: everything else, ``&=#%?+`` and spaces
#: included, is percent-encoded.
_QUERY_SAFE = "'(),/:*$@!;"
#: In a key predicate (a path segment) ``/`` must be encoded too.
_PATH_SAFE = "'(),:*$@!;="
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}


def quote_query_value(value: str) -> str:
    """Percent-encode a query option value (spaces as ``%20``, never ``+``)."""
    return quote(value, safe=_QUERY_SAFE)


@dataclass(frozen=True, slots=True)
class _Context:
    version: ODataVersion
    entity_type: EntityType | None
    metadata: ServiceMetadata | None
    entity_set: str | None
    system: str | None

    def where(self) -> str:
        parts = []
        if self.entity_set:
            parts.append(f"entity set {self.entity_set}")
        elif self.entity_type is not None:
            parts.append(f"entity type {self.entity_type.name}")
        if self.system:
            parts.append(f"of {self.system}")
        return f" ({' '.join(parts)})" if parts else ""

    def fail(self, message: str, field: str | None) -> ValidationError:
        return ValidationError(f"{message}{self.where()}", field=field, system=self.system)

    def check_path(self, path: str, *, purpose: str) -> Property | None:
        """Check a property path's syntax and, with metadata, that it exists.

        Returns the final property when it is structural and known.
        """
        if not isinstance(path, str) or not _PATH.match(path):
            raise self.fail(f"{path!r} is not a valid OData property name or path", field=str(path))
        if self.entity_type is None:
            return None
        members: Mapping[str, Property] = self.entity_type.properties
        navigation = self.entity_type.navigation
        segments = path.split("/")
        for index, segment in enumerate(segments):
            last = index == len(segments) - 1
            if segment in members:
                prop = members[segment]
                if last:
                    return prop
                complex_type = self.metadata.complex_type(prop.item_type) if self.metadata else None
                if complex_type is None:
                    return None
                members, navigation = complex_type.properties, complex_type.navigation
            elif segment in navigation:
                if last:
                    if purpose == "filter":
                        raise self.fail(
                            f"{path!r} is a navigation property, not a value to {purpose}", field=path
                        )
                    return None
                nav = navigation[segment]
                target = self.metadata.find_entity_type(nav.target_type or "") if self.metadata else None
                if target is None:
                    return None
                members, navigation = target.properties, target.navigation
            else:
                raise self.fail(f"unknown property {segment!r} in {purpose} {path!r}", field=path)
        return None

    def render_value(self, path: str, value: Any, prop: Property | None, edm_type: str | None) -> str:
        chosen = edm_type
        if chosen is None and prop is not None and not prop.is_collection:
            chosen = prop.edm_type
        if chosen is None:
            if value is None:
                return "null"
            try:
                chosen = infer_edm_type(value, self.version)
            except ValidationError as exc:
                raise self.fail(f"{exc.message} (property {path!r})", field=path) from None
        return literal(chosen, value, self.version, field=path, system=self.system)


class Expr:
    """A boolean filter expression. Combine with ``&``, ``|`` and ``~``."""

    def render(self, ctx: _Context) -> str:
        """The expression as OData ``$filter`` text (not yet percent-encoded)."""
        raise NotImplementedError

    def __and__(self, other: Expr) -> Expr:
        return And((self, other))

    def __or__(self, other: Expr) -> Expr:
        return Or((self, other))

    def __invert__(self) -> Expr:
        return Not(self)

    def __bool__(self) -> bool:
        # ``a == b and c`` would silently drop ``a == b``: force ``&``.
        raise TypeError("use & and | (not `and`/`or`) to combine OData filter expressions")


@dataclass(frozen=True, slots=True, eq=False)
class Comparison(Expr):
    """``path op value`` with ``op`` one of ``eq ne gt ge lt le``."""

    path: str
    op: str
    value: Any
    edm_type: str | None = None

    def render(self, ctx: _Context) -> str:
        if self.op not in _COMPARISONS:
            raise ctx.fail(f"unknown comparison operator {self.op!r}", field=self.path)
        prop = ctx.check_path(self.path, purpose="filter")
        if prop is not None and not prop.filterable:
            raise ctx.fail(
                f"property {self.path!r} is not filterable (sap:filterable=false)", field=self.path
            )
        if self.value is None and self.op not in ("eq", "ne"):
            raise ctx.fail(f"cannot compare {self.path!r} with null using {self.op}", field=self.path)
        return f"{self.path} {self.op} {ctx.render_value(self.path, self.value, prop, self.edm_type)}"


@dataclass(frozen=True, slots=True, eq=False)
class StringFunction(Expr):
    """``contains``/``startswith``/``endswith`` (V2 ``substringof`` for contains)."""

    function: str
    path: str
    value: str

    def render(self, ctx: _Context) -> str:
        prop = ctx.check_path(self.path, purpose="filter")
        if prop is not None and not prop.filterable:
            raise ctx.fail(
                f"property {self.path!r} is not filterable (sap:filterable=false)", field=self.path
            )
        if prop is not None and prop.edm_type != "Edm.String":
            raise ctx.fail(
                f"{self.function} needs a string property; {self.path!r} is {prop.edm_type}", self.path
            )
        if not isinstance(self.value, str):
            raise ctx.fail(f"{self.function} needs a str value for {self.path!r}", field=self.path)
        text = literal("Edm.String", self.value, ctx.version, field=self.path, system=ctx.system)
        if ctx.version.is_v4:
            return f"{self.function}({self.path},{text})"
        if self.function == "contains":
            return f"substringof({text},{self.path}) eq true"
        return f"{self.function}({self.path},{text}) eq true"


@dataclass(frozen=True, slots=True, eq=False)
class In(Expr):
    """``path in (a, b)`` (V4); V2 has no ``in``, so it becomes ``(path eq a or path eq b)``."""

    path: str
    values: tuple[Any, ...]
    edm_type: str | None = None

    def render(self, ctx: _Context) -> str:
        if not self.values:
            raise ctx.fail(f"an `in` filter on {self.path!r} needs at least one value", field=self.path)
        prop = ctx.check_path(self.path, purpose="filter")
        if prop is not None and not prop.filterable:
            raise ctx.fail(
                f"property {self.path!r} is not filterable (sap:filterable=false)", field=self.path
            )
        rendered = [ctx.render_value(self.path, value, prop, self.edm_type) for value in self.values]
        if ctx.version.is_v4:
            return f"{self.path} in ({','.join(rendered)})"
        return "(" + " or ".join(f"{self.path} eq {item}" for item in rendered) + ")"


@dataclass(frozen=True, slots=True, eq=False)
class And(Expr):
    """All of ``parts``."""

    parts: tuple[Expr, ...]

    def render(self, ctx: _Context) -> str:
        return _join(self.parts, "and", ctx)


@dataclass(frozen=True, slots=True, eq=False)
class Or(Expr):
    """Any of ``parts``."""

    parts: tuple[Expr, ...]

    def render(self, ctx: _Context) -> str:
        return _join(self.parts, "or", ctx)


@dataclass(frozen=True, slots=True, eq=False)
class Not(Expr):
    """The negation of ``part``."""

    part: Expr

    def render(self, ctx: _Context) -> str:
        return f"not ({_expr(self.part, ctx)})"


@dataclass(frozen=True, slots=True, eq=False)
class Raw(Expr):
    """Filter text used as written: for what the builder cannot express (``any``/``all``).

    Never put user input in it; it is the one place where nothing is quoted for you.
    """

    text: str

    def render(self, ctx: _Context) -> str:
        return f"({self.text})"


def _expr(part: Any, ctx: _Context) -> str:
    if not isinstance(part, Expr):
        raise ctx.fail(f"{part!r} is not a filter expression (build one with F(...))", field=None)
    return part.render(ctx)


def _join(parts: Sequence[Expr], word: str, ctx: _Context) -> str:
    if not parts:
        raise ctx.fail(f"an empty `{word}` filter", field=None)
    if len(parts) == 1:
        return _expr(parts[0], ctx)
    return f" {word} ".join(f"({_expr(part, ctx)})" for part in parts)


def and_(*parts: Expr) -> Expr:
    """All of ``parts`` (``a & b & c``)."""
    return And(tuple(parts))


def or_(*parts: Expr) -> Expr:
    """Any of ``parts`` (``a | b | c``)."""
    return Or(tuple(parts))


def not_(part: Expr) -> Expr:
    """The negation of ``part`` (``~a``)."""
    return Not(part)


class F:
    """A property (or ``Nav/Property`` path) in a filter: ``F("Supplier") == "1000"``.

    ``edm_type`` forces the literal's type (``F("LastChangeDateTime", "Edm.DateTimeOffset")``)
    when there is no metadata to say it.
    """

    __slots__ = ("edm_type", "path")
    # Comparisons build expressions, so F cannot be hashed.
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, path: str, edm_type: str | None = None) -> None:
        self.path = path
        self.edm_type = edm_type

    def __repr__(self) -> str:
        return f"F({self.path!r})"

    def _compare(self, op: str, value: Any) -> Comparison:
        return Comparison(self.path, op, value, self.edm_type)

    def __eq__(self, value: object) -> Comparison:  # type: ignore[override]
        return self._compare("eq", value)

    def __ne__(self, value: object) -> Comparison:  # type: ignore[override]
        return self._compare("ne", value)

    def __gt__(self, value: Any) -> Comparison:
        return self._compare("gt", value)

    def __ge__(self, value: Any) -> Comparison:
        return self._compare("ge", value)

    def __lt__(self, value: Any) -> Comparison:
        return self._compare("lt", value)

    def __le__(self, value: Any) -> Comparison:
        return self._compare("le", value)

    def contains(self, value: str) -> StringFunction:
        """``contains(path, value)`` (V2: ``substringof(value, path)``)."""
        return StringFunction("contains", self.path, value)

    def startswith(self, value: str) -> StringFunction:
        """``startswith(path, value)``."""
        return StringFunction("startswith", self.path, value)

    def endswith(self, value: str) -> StringFunction:
        """``endswith(path, value)``."""
        return StringFunction("endswith", self.path, value)

    def in_(self, values: Iterable[Any]) -> In:
        """``path in (...)`` (V2: a chain of ``or``)."""
        return In(self.path, tuple(values), self.edm_type)


def asc(path: str) -> str:
    """An ascending ``$orderby`` item."""
    return f"{path} asc"


def desc(path: str) -> str:
    """A descending ``$orderby`` item."""
    return f"{path} desc"


def _non_negative(value: int, name: str, system: str | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be a non-negative int, not {value!r}", field=name, system=system)
    return value


@dataclass(frozen=True, slots=True)
class Query:
    """An immutable OData query: each method returns a new query.

    Build one with ``Query(version)`` or, to check names and type literals from the
    metadata, :meth:`for_entity_set`.
    """

    version: ODataVersion = ODataVersion.V4
    entity_type: EntityType | None = None
    metadata: ServiceMetadata | None = None
    entity_set: str | None = None
    system: str | None = None
    filters: tuple[Expr, ...] = ()
    selected: tuple[str, ...] = ()
    expanded: tuple[str, ...] = ()
    ordering: tuple[str, ...] = ()
    limit: int | None = None
    offset: int | None = None
    with_count: bool = False
    search_text: str | None = None
    custom: tuple[tuple[str, str], ...] = ()

    @classmethod
    def for_entity_set(
        cls, metadata: ServiceMetadata, entity_set: str, *, system: str | None = None
    ) -> Query:
        """A query on ``entity_set`` that checks names against its entity type.

        :raises NotFound: when the entity set is not in the metadata.
        """
        return cls(
            version=metadata.version,
            entity_type=metadata.entity_type_of(entity_set),
            metadata=metadata,
            entity_set=entity_set,
            system=system,
        )

    @property
    def _ctx(self) -> _Context:
        return _Context(self.version, self.entity_type, self.metadata, self.entity_set, self.system)

    def filter(self, *expressions: Expr, **equals: Any) -> Query:
        """Add filters, all of which must hold (``filter(Supplier="1000")`` means ``eq``)."""
        added = tuple(expressions) + tuple(Comparison(name, "eq", value) for name, value in equals.items())
        for expression in added:
            if not isinstance(expression, Expr):
                raise self._ctx.fail(
                    f"{expression!r} is not a filter expression (build one with F(...))", None
                )
        return dataclasses.replace(self, filters=self.filters + added)

    def select(self, *names: str) -> Query:
        """Add properties to ``$select``."""
        for name in names:
            if not isinstance(name, str) or not _SELECT_ITEM.match(name):
                raise self._ctx.fail(f"{name!r} is not a valid $select item", field=str(name))
            if "." not in name and name != "*":
                self._ctx.check_path(name.removesuffix("/*"), purpose="select")
        return dataclasses.replace(self, selected=self.selected + tuple(names))

    def expand(self, *paths: str) -> Query:
        """Add navigation paths to ``$expand`` (``to_Item``, ``to_Item/to_Account``).

        V4 items may carry nested options in parentheses: ``Lines($expand=Dimensions)``,
        ``Lines($select=Id,Amount;$expand=Dimensions)`` (``$select`` and ``$expand`` only).
        """
        for path in paths:
            navigation, options = _split_expand_item(path, self._ctx)
            if options is not None and not self.version.is_v4:
                raise self._ctx.fail(f"nested $expand options are OData V4 only: {path!r}", field=path)
            self._ctx.check_path(navigation, purpose="expand")
            self._check_navigation(navigation)
            if options is not None:
                _check_nested_options(options, self._ctx)
        return dataclasses.replace(self, expanded=self.expanded + tuple(paths))

    def orderby(self, *items: str) -> Query:
        """Add ``$orderby`` items: ``"Name"``, ``"Name desc"`` (or :func:`desc`)."""
        for item in items:
            path, _, direction = item.partition(" ") if isinstance(item, str) else (item, "", "")
            if direction not in ("", "asc", "desc"):
                raise self._ctx.fail(f"{item!r} is not a valid $orderby item", field=str(item))
            prop = self._ctx.check_path(path, purpose="orderby")
            if prop is not None and not prop.sortable:
                raise self._ctx.fail(f"property {path!r} is not sortable (sap:sortable=false)", field=path)
        return dataclasses.replace(self, ordering=self.ordering + tuple(items))

    def top(self, n: int) -> Query:
        """At most ``n`` entities (``$top``)."""
        return dataclasses.replace(self, limit=_non_negative(n, "$top", self.system))

    def skip(self, n: int) -> Query:
        """Skip the first ``n`` entities (``$skip``)."""
        return dataclasses.replace(self, offset=_non_negative(n, "$skip", self.system))

    def count(self, enabled: bool = True) -> Query:
        """Ask for the total count with the page (V2 ``$inlinecount=allpages``, V4 ``$count=true``)."""
        return dataclasses.replace(self, with_count=enabled)

    def search(self, text: str) -> Query:
        """Free-text ``$search`` (V4 only), sent as one quoted phrase.

        :raises Unsupported: on V2, which has no ``$search`` (SAP services take a custom
            ``search`` option: ``.option("search", text)``).
        """
        if not self.version.is_v4:
            raise Unsupported(
                "$search is OData V4; on SAP V2 services use .option('search', text)",
                system=self.system,
                operation="search",
            )
        if not isinstance(text, str):
            raise self._ctx.fail("$search needs a str", field="$search")
        return dataclasses.replace(self, search_text=text)

    def option(self, name: str, value: str) -> Query:
        """Add a custom query option (``sap-language=EN``) or ``$format``-like system option."""
        bare = name.removeprefix("$")
        if not isinstance(value, str) or not _CUSTOM_OPTION.match(bare) or name in _OWN_OPTIONS:
            raise self._ctx.fail(f"{name!r} cannot be set as a custom query option", field=name)
        return dataclasses.replace(self, custom=(*self.custom, (name, value)))

    def _check_navigation(self, path: str) -> None:
        entity_type = self.entity_type
        if entity_type is None:
            return
        first = path.split("/", 1)[0]
        if first not in entity_type.navigation:
            raise self._ctx.fail(f"{first!r} is not a navigation property to $expand", field=path)

    def filter_text(self) -> str | None:
        """The ``$filter`` value, or None when there is no filter."""
        if not self.filters:
            return None
        return _join(self.filters, "and", self._ctx)

    def params(self) -> dict[str, str]:
        """The query options, not yet percent-encoded, in a stable order."""
        out: dict[str, str] = {}
        text = self.filter_text()
        if text is not None:
            out["$filter"] = text
        if self.selected:
            out["$select"] = ",".join(self.selected)
        if self.expanded:
            out["$expand"] = ",".join(self.expanded)
        if self.ordering:
            out["$orderby"] = ",".join(self.ordering)
        if self.limit is not None:
            out["$top"] = str(self.limit)
        if self.offset is not None:
            out["$skip"] = str(self.offset)
        if self.with_count:
            if self.version.is_v4:
                out["$count"] = "true"
            else:
                out["$inlinecount"] = "allpages"
        if self.search_text is not None:
            out["$search"] = '"' + self.search_text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        for name, value in self.custom:
            out[name] = value
        return out

    def to_query_string(self) -> str:
        """The percent-encoded query string (no leading ``?``)."""
        return "&".join(
            f"{quote(name, safe='$')}={quote_query_value(value)}" for name, value in self.params().items()
        )


def _split_expand_item(item: str, ctx: _Context) -> tuple[str, str | None]:
    """``Nav(options)`` -> ``("Nav", "options")``; ``Nav`` -> ``("Nav", None)``."""
    if not isinstance(item, str):
        raise ctx.fail(f"{item!r} is not a valid $expand item", field=str(item))
    head, paren, rest = item.partition("(")
    if not paren:
        return item, None
    if not rest.endswith(")"):
        raise ctx.fail(f"{item!r} is not a valid $expand item", field=item)
    return head, rest[:-1]


def _check_nested_options(options: str, ctx: _Context) -> None:
    # Nested options are developer-written constants, but they still may not smuggle in
    # another query option, a fragment or a literal: names only, checked recursively.
    for option in _split_top_level(options, ";"):
        name, equals, value = option.partition("=")
        if not equals or name not in ("$select", "$expand") or not value:
            raise ctx.fail(f"unsupported nested $expand option {option!r}", field=option)
        for item in _split_top_level(value, ","):
            if name == "$select":
                if not _SELECT_ITEM.match(item):
                    raise ctx.fail(f"{item!r} is not a valid nested $select item", field=item)
                continue
            navigation, inner = _split_expand_item(item, ctx)
            if not _PATH.match(navigation):
                raise ctx.fail(f"{navigation!r} is not a valid nested $expand path", field=item)
            if inner is not None:
                _check_nested_options(inner, ctx)


def _split_top_level(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside parentheses (unbalanced ones are refused)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                break
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise ValidationError(f"unbalanced parentheses in $expand options {text!r}", field="$expand")
    parts.append("".join(current))
    return parts


def key_predicate(
    entity_type_or_keys: EntityType | Sequence[str] | Mapping[str, str],
    key_values: Any,
    version: ODataVersion,
    *,
    system: str | None = None,
    encode: bool = True,
) -> str:
    """The key predicate of one entity: ``('100')`` or ``(CompanyCode='1010',FiscalYear='2026')``.

    :param entity_type_or_keys: an entity type (literals take its key types), key names
        (literals typed from the values), or a mapping key name -> Edm type.
    :param key_values: a single value for a single key, or a mapping key name -> value (a
        sequence in key order is accepted too).
    :param encode: percent-encode for use in a URL path (``/`` in a key becomes ``%2F``).
    :raises ValidationError: when keys are missing, unknown, or values do not fit.
    """
    types: dict[str, str | None]
    if isinstance(entity_type_or_keys, EntityType):
        props = entity_type_or_keys.properties
        types = {name: props[name].edm_type if name in props else None for name in entity_type_or_keys.keys}
    elif isinstance(entity_type_or_keys, Mapping):
        types = dict(entity_type_or_keys)
    else:
        types = {name: None for name in entity_type_or_keys}
    names = list(types)
    if not names:
        raise ValidationError("the entity type has no key", system=system)
    for name in names:
        if not _PATH.match(name) or "/" in name:
            raise ValidationError(f"{name!r} is not a valid key property name", field=name, system=system)
    if isinstance(key_values, Mapping):
        values = dict(key_values)
    elif isinstance(key_values, (tuple, list)):
        if len(key_values) != len(names):
            raise ValidationError(
                f"expected {len(names)} key values ({', '.join(names)}), got {len(key_values)}", system=system
            )
        values = dict(zip(names, key_values, strict=True))
    elif len(names) == 1:
        values = {names[0]: key_values}
    else:
        raise ValidationError(f"a composite key needs values for {', '.join(names)}", system=system)
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValidationError(f"{unknown[0]!r} is not a key property", field=unknown[0], system=system)
    missing = [name for name in names if values.get(name) is None]
    if missing:
        raise ValidationError(f"key property {missing[0]!r} has no value", field=missing[0], system=system)
    rendered = []
    for name in names:
        value = values[name]
        edm_type = types[name] or _infer_key_type(value, version, name, system)
        rendered.append((name, literal(edm_type, value, version, field=name, system=system)))
    inner = rendered[0][1] if len(rendered) == 1 else ",".join(f"{name}={text}" for name, text in rendered)
    if encode:
        inner = quote(inner, safe=_PATH_SAFE)
    return f"({inner})"


def _infer_key_type(value: Any, version: ODataVersion, name: str, system: str | None) -> str:
    try:
        return infer_edm_type(value, version)
    except ValidationError as exc:
        raise ValidationError(exc.message, field=name, system=system) from None
