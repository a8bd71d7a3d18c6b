"""``$metadata`` (EDMX) parsing into a typed service model, and a per-service cache.

:func:`parse_metadata` reads EDMX 1.0 (OData V2, SAP Gateway) and EDMX 4.0 (OData V4,
Dynamics 365) with a hardened lxml parser into a :class:`ServiceMetadata`: entity sets,
entity types with keys, properties with their Edm type and facets, navigation properties
(V2 through association ends, V4 through ``Collection(...)`` types), complex and enum types,
function/action imports and bound operations (Business Central ``Microsoft.NAV.post``), and
SAP annotations (``sap:creatable``, ``sap:updatable``, ``sap:filterable``, ``sap:label``, ...).

:class:`MetadataCache` keeps one parsed document per service URL, so a connector fetches
``$metadata`` once.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fincon.errors import NotFound, ServerError
from fincon.protocols.odata._version import ODataVersion

__all__ = [
    "ComplexType",
    "EntitySet",
    "EntityType",
    "EnumType",
    "FunctionImport",
    "MetadataCache",
    "NavigationProperty",
    "Operation",
    "Parameter",
    "Property",
    "ServiceMetadata",
    "parse_metadata",
]

SAP_NAMESPACE = "http://www.sap.com/Protocols/SAPData"
_METADATA_NS_V2 = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
#: Refuse documents larger than this before parsing (the largest real SAP EDMX is a few MB).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def _flag(value: str | None, default: bool = True) -> bool:
    if value is None:
        return default
    return value.strip().lower() != "false"


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else None


@dataclass(frozen=True, slots=True)
class Property:
    """A structural property of an entity or complex type.

    ``edm_type`` is qualified (``Edm.Decimal``, ``NS.Address``, ``Collection(Edm.String)``);
    ``scale`` is ``None`` for ``Variable``/``Floating``. The ``creatable``/``updatable``/
    ``filterable``/``sortable`` flags come from SAP annotations and default to true;
    ``sap`` holds every ``sap:*`` attribute as written.
    """

    name: str
    edm_type: str
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    creatable: bool = True
    updatable: bool = True
    filterable: bool = True
    sortable: bool = True
    label: str | None = None
    #: V2 ``ConcurrencyMode="Fixed"``: the property takes part in the ETag.
    concurrency: bool = False
    sap: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def is_collection(self) -> bool:
        """Whether the property holds a collection."""
        return self.edm_type.startswith("Collection(")

    @property
    def item_type(self) -> str:
        """The type of one item (the type itself when not a collection)."""
        return self.edm_type[len("Collection(") : -1] if self.is_collection else self.edm_type

    @property
    def is_primitive(self) -> bool:
        """Whether the (item) type is an ``Edm.*`` primitive."""
        return self.item_type.startswith("Edm.")


@dataclass(frozen=True, slots=True)
class NavigationProperty:
    """A navigation property: the qualified target entity type and whether it leads to many."""

    name: str
    target_type: str | None
    many: bool
    #: V4 ``ContainsTarget``: the targets live inside this entity (Business Central lines).
    contains_target: bool = False


@dataclass(frozen=True, slots=True)
class EntityType:
    """An entity type with inherited keys and members merged in.

    ``keys`` lists the key properties in declaration order (composite keys have several).
    """

    name: str
    namespace: str
    keys: tuple[str, ...]
    properties: Mapping[str, Property] = field(repr=False)
    navigation: Mapping[str, NavigationProperty] = field(default_factory=dict, repr=False)
    base_type: str | None = None
    open_type: bool = False
    label: str | None = None
    sap: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def qualified_name(self) -> str:
        """``Namespace.Name``."""
        return f"{self.namespace}.{self.name}"

    @property
    def key_properties(self) -> tuple[Property, ...]:
        """The key properties, in key order."""
        return tuple(self.properties[name] for name in self.keys if name in self.properties)

    @property
    def etag_properties(self) -> tuple[str, ...]:
        """Properties marked ``ConcurrencyMode="Fixed"`` (V2)."""
        return tuple(name for name, prop in self.properties.items() if prop.concurrency)


@dataclass(frozen=True, slots=True)
class ComplexType:
    """A complex (structured, keyless) type."""

    name: str
    namespace: str
    properties: Mapping[str, Property] = field(repr=False)
    navigation: Mapping[str, NavigationProperty] = field(default_factory=dict, repr=False)
    base_type: str | None = None

    @property
    def qualified_name(self) -> str:
        """``Namespace.Name``."""
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True, slots=True)
class EnumType:
    """A V4 enumeration: member name -> value (``is_flags`` allows combinations)."""

    name: str
    namespace: str
    members: Mapping[str, int]
    is_flags: bool = False
    underlying_type: str = "Edm.Int32"

    @property
    def qualified_name(self) -> str:
        """``Namespace.Name``."""
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True, slots=True)
class EntitySet:
    """An entity set of the container; ``entity_type`` is qualified.

    The flags come from SAP annotations on the set and default to true.
    """

    name: str
    entity_type: str
    creatable: bool = True
    updatable: bool = True
    deletable: bool = True
    searchable: bool = False
    pageable: bool = True
    #: V4 navigation property bindings: navigation path -> target entity set.
    bindings: Mapping[str, str] = field(default_factory=dict, repr=False)
    sap: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class Parameter:
    """A parameter of a function or action."""

    name: str
    edm_type: str
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class Operation:
    """A V4 function or action declared in a schema.

    Bound operations (``is_bound``) take their binding parameter first; ``binding_type`` is
    that parameter's type (``Microsoft.NAV.purchaseInvoice`` for BC's ``post``).
    """

    name: str
    namespace: str
    kind: str  # "function" or "action"
    is_bound: bool
    parameters: tuple[Parameter, ...] = ()
    return_type: str | None = None

    @property
    def qualified_name(self) -> str:
        """``Namespace.Name``, as used in a bound call's URL segment."""
        return f"{self.namespace}.{self.name}"

    @property
    def binding_type(self) -> str | None:
        """The type an operation is bound to (the first parameter's), if bound."""
        if not self.is_bound or not self.parameters:
            return None
        return self.parameters[0].edm_type


@dataclass(frozen=True, slots=True)
class FunctionImport:
    """A container-level function or action import.

    V2: ``FunctionImport`` with its ``m:HttpMethod``, parameters and return type inline.
    V4: ``FunctionImport``/``ActionImport`` referring to the schema operation ``operation``.
    """

    name: str
    kind: str  # "function" or "action"
    http_method: str
    parameters: tuple[Parameter, ...] = ()
    return_type: str | None = None
    entity_set: str | None = None
    operation: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceMetadata:
    """Everything parsed from one ``$metadata`` document.

    Type mappings are keyed by qualified name; :meth:`entity_type` also accepts short
    names and alias-qualified names.
    """

    version: ODataVersion
    namespaces: tuple[str, ...]
    entity_sets: Mapping[str, EntitySet] = field(repr=False)
    entity_types: Mapping[str, EntityType] = field(repr=False)
    complex_types: Mapping[str, ComplexType] = field(default_factory=dict, repr=False)
    enum_types: Mapping[str, EnumType] = field(default_factory=dict, repr=False)
    operations: tuple[Operation, ...] = field(default=(), repr=False)
    function_imports: Mapping[str, FunctionImport] = field(default_factory=dict, repr=False)
    aliases: Mapping[str, str] = field(default_factory=dict, repr=False)
    source: str = ""

    @property
    def namespace(self) -> str:
        """The first schema's namespace (SAP services have exactly one)."""
        return self.namespaces[0] if self.namespaces else ""

    def qualify(self, name: str) -> str:
        """Resolve an alias-qualified name (``Alias.Type``) to ``Namespace.Type``."""
        if name.startswith("Collection(") and name.endswith(")"):
            return f"Collection({self.qualify(name[len('Collection(') : -1])})"
        head, _, tail = name.rpartition(".")
        return f"{self.aliases.get(head, head)}.{tail}" if head else name

    def find_entity_type(self, name: str) -> EntityType | None:
        """The entity type named ``name`` (qualified, alias-qualified or short), or None."""
        found = self.entity_types.get(name) or self.entity_types.get(self.qualify(name))
        if found is not None or "." in name:
            return found
        matches = [item for item in self.entity_types.values() if item.name == name]
        return matches[0] if len(matches) == 1 else None

    def entity_type(self, name: str) -> EntityType:
        """Like :meth:`find_entity_type`, raising :class:`~fincon.errors.NotFound` when absent."""
        found = self.find_entity_type(name)
        if found is None:
            raise NotFound(f"entity type {name!r} is not in the service metadata{self._where()}")
        return found

    def entity_set(self, name: str) -> EntitySet:
        """The entity set ``name``; raises :class:`~fincon.errors.NotFound` when absent."""
        found = self.entity_sets.get(name)
        if found is None:
            raise NotFound(f"entity set {name!r} is not in the service metadata{self._where()}")
        return found

    def entity_type_of(self, entity_set: str) -> EntityType:
        """The entity type of the entity set ``entity_set``."""
        return self.entity_type(self.entity_set(entity_set).entity_type)

    def complex_type(self, name: str) -> ComplexType | None:
        """The complex type named ``name`` (qualified or alias-qualified), or None."""
        return self.complex_types.get(name) or self.complex_types.get(self.qualify(name))

    def enum_type(self, name: str) -> EnumType | None:
        """The enum type named ``name`` (qualified or alias-qualified), or None."""
        return self.enum_types.get(name) or self.enum_types.get(self.qualify(name))

    def bound_operations(self, entity_type: str | EntityType) -> tuple[Operation, ...]:
        """Operations bound to ``entity_type`` (or a collection of it), e.g. BC's ``post``."""
        qualified = (
            entity_type.qualified_name if isinstance(entity_type, EntityType) else self.qualify(entity_type)
        )
        targets = {qualified, f"Collection({qualified})"}
        return tuple(
            op for op in self.operations if op.binding_type is not None and op.binding_type in targets
        )

    def _where(self) -> str:
        return f" ({self.source})" if self.source else ""


# -- parsing ---------------------------------------------------------------------------------


def _hardened_parser() -> Any:
    from lxml import etree

    # No entity expansion, no DTD loading, no network, no huge trees: metadata comes from
    # the server and a hostile or compromised one must not read files or exhaust memory.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name]


def _sap_attributes(element: Any) -> dict[str, str]:
    prefix = f"{{{SAP_NAMESPACE}}}"
    return {key[len(prefix) :]: value for key, value in element.attrib.items() if key.startswith(prefix)}


def _malformed(message: str, source: str, system: str | None) -> ServerError:
    where = f" ({source})" if source else ""
    return ServerError(
        f"cannot parse the OData $metadata{where}: {message}",
        system=system,
        code="malformed_metadata",
        retryable=False,
    )


def parse_metadata(
    xml: bytes | str,
    *,
    source: str = "",
    system: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ServiceMetadata:
    """Parse a ``$metadata`` document (EDMX 1.0 for V2, 4.0 for V4).

    :param xml: the document as received.
    :param source: where it came from (a URL or file name), for error messages.
    :param system: the system name for errors.
    :param max_bytes: larger documents are refused before parsing.
    :raises ServerError: (code ``malformed_metadata``) when the document is not well-formed
        EDMX, carries a DTD (entity tricks such as XXE and "billion laughs" need one), or is
        too large.
    """
    from lxml import etree

    data = xml.encode("utf-8") if isinstance(xml, str) else bytes(xml)
    if len(data) > max_bytes:
        raise _malformed(f"the document is larger than {max_bytes} bytes", source, system)
    try:
        tree = etree.ElementTree(etree.fromstring(data, _hardened_parser()))
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise _malformed(f"not well-formed XML ({exc})", source, system) from None
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _malformed("a DOCTYPE is not allowed in EDMX", source, system)
    root = tree.getroot()
    if _local(root) != "Edmx":
        raise _malformed(f"the root element is {_local(root)!r}, not edmx:Edmx", source, system)
    services = _children(root, "DataServices")
    if not services:
        raise _malformed("there is no edmx:DataServices element", source, system)
    edmx_version = root.get("Version", "")
    version = ODataVersion.V4 if edmx_version.startswith("4") else ODataVersion.V2
    schemas = _children(services[0], "Schema")
    if not schemas:
        raise _malformed("there is no Schema element", source, system)
    return _Builder(version, schemas, source).build()


class _Builder:
    """Two passes: collect associations and aliases, then types, sets and operations."""

    def __init__(self, version: ODataVersion, schemas: list[Any], source: str) -> None:
        self.version = version
        self.schemas = schemas
        self.source = source
        self.aliases = {s.get("Alias"): s.get("Namespace", "") for s in schemas if s.get("Alias")}
        self.associations: dict[str, dict[str, tuple[str, str]]] = {}
        self.raw_entities: dict[str, tuple[Any, str]] = {}
        self.raw_complex: dict[str, tuple[Any, str]] = {}

    def qualify(self, name: str | None) -> str:
        if not name:
            return ""
        if name.startswith("Collection(") and name.endswith(")"):
            return f"Collection({self.qualify(name[len('Collection(') : -1])})"
        head, _, tail = name.rpartition(".")
        return f"{self.aliases.get(head, head)}.{tail}" if head else name

    def build(self) -> ServiceMetadata:
        enums: dict[str, EnumType] = {}
        operations: list[Operation] = []
        for schema in self.schemas:
            namespace = schema.get("Namespace", "")
            for element in schema:
                kind = _local(element)
                qualified = f"{namespace}.{element.get('Name', '')}"
                if kind == "Association":
                    self.associations[qualified] = {
                        end.get("Role", ""): (self.qualify(end.get("Type")), end.get("Multiplicity", ""))
                        for end in _children(element, "End")
                    }
                elif kind == "EntityType":
                    self.raw_entities[qualified] = (element, namespace)
                elif kind == "ComplexType":
                    self.raw_complex[qualified] = (element, namespace)
                elif kind == "EnumType":
                    enums[qualified] = self._enum(element, namespace)
                elif kind in ("Function", "Action"):
                    operations.append(self._operation(element, namespace, kind.lower()))
        entity_types = {name: self._entity(name) for name in self.raw_entities}
        complex_types = {name: self._complex(name) for name in self.raw_complex}
        entity_sets: dict[str, EntitySet] = {}
        imports: dict[str, FunctionImport] = {}
        for schema in self.schemas:
            for container in _children(schema, "EntityContainer"):
                for child in container:
                    kind = _local(child)
                    if kind == "EntitySet":
                        entity_sets[child.get("Name", "")] = self._entity_set(child)
                    elif kind in ("FunctionImport", "ActionImport"):
                        imports[child.get("Name", "")] = self._import(child, kind)
        return ServiceMetadata(
            version=self.version,
            namespaces=tuple(schema.get("Namespace", "") for schema in self.schemas),
            entity_sets=entity_sets,
            entity_types=entity_types,
            complex_types=complex_types,
            enum_types=enums,
            operations=tuple(operations),
            function_imports=imports,
            aliases=dict(self.aliases),
            source=self.source,
        )

    # -- members ---------------------------------------------------------------------------

    def _members(
        self, qualified: str, raw: dict[str, tuple[Any, str]], seen: frozenset[str] = frozenset()
    ) -> tuple[tuple[str, ...], dict[str, Property], dict[str, NavigationProperty]]:
        """Keys, properties and navigation of a type, base types' first (cycles cut)."""
        element, _ = raw[qualified]
        keys: tuple[str, ...] = ()
        properties: dict[str, Property] = {}
        navigation: dict[str, NavigationProperty] = {}
        base = self.qualify(element.get("BaseType"))
        if base and base in raw and base not in seen:
            keys, properties, navigation = self._members(base, raw, seen | {qualified})
        for key in _children(element, "Key"):
            keys = tuple(ref.get("Name", "") for ref in _children(key, "PropertyRef"))
        for prop in _children(element, "Property"):
            properties[prop.get("Name", "")] = self._property(prop)
        for nav in _children(element, "NavigationProperty"):
            navigation[nav.get("Name", "")] = self._navigation(nav)
        return keys, properties, navigation

    def _entity(self, qualified: str) -> EntityType:
        element, namespace = self.raw_entities[qualified]
        keys, properties, navigation = self._members(qualified, self.raw_entities)
        sap = _sap_attributes(element)
        return EntityType(
            name=element.get("Name", ""),
            namespace=namespace,
            keys=keys,
            properties=properties,
            navigation=navigation,
            base_type=self.qualify(element.get("BaseType")) or None,
            open_type=element.get("OpenType", "false") == "true",
            label=sap.get("label"),
            sap=sap,
        )

    def _complex(self, qualified: str) -> ComplexType:
        element, namespace = self.raw_complex[qualified]
        _, properties, navigation = self._members(qualified, self.raw_complex)
        return ComplexType(
            name=element.get("Name", ""),
            namespace=namespace,
            properties=properties,
            navigation=navigation,
            base_type=self.qualify(element.get("BaseType")) or None,
        )

    def _property(self, prop: Any) -> Property:
        sap = _sap_attributes(prop)
        return Property(
            name=prop.get("Name", ""),
            edm_type=self.qualify(prop.get("Type")),
            nullable=_flag(prop.get("Nullable")),
            max_length=_int_or_none(prop.get("MaxLength")),
            precision=_int_or_none(prop.get("Precision")),
            scale=_int_or_none(prop.get("Scale")),
            creatable=_flag(sap.get("creatable")),
            updatable=_flag(sap.get("updatable")),
            filterable=_flag(sap.get("filterable")),
            sortable=_flag(sap.get("sortable")),
            label=sap.get("label"),
            concurrency=prop.get("ConcurrencyMode") == "Fixed",
            sap=sap,
        )

    def _navigation(self, nav: Any) -> NavigationProperty:
        name = nav.get("Name", "")
        if nav.get("Type"):  # V4
            target = self.qualify(nav.get("Type"))
            many = target.startswith("Collection(")
            return NavigationProperty(
                name,
                target[len("Collection(") : -1] if many else target,
                many,
                contains_target=nav.get("ContainsTarget", "false") == "true",
            )
        ends = self.associations.get(self.qualify(nav.get("Relationship")), {})
        target_type, multiplicity = ends.get(nav.get("ToRole", ""), ("", ""))
        return NavigationProperty(name, target_type or None, multiplicity == "*")

    def _enum(self, element: Any, namespace: str) -> EnumType:
        members: dict[str, int] = {}
        next_value = 0
        for member in _children(element, "Member"):
            value = member.get("Value")
            number = int(value) if value is not None and value.lstrip("-").isdigit() else next_value
            members[member.get("Name", "")] = number
            next_value = number + 1
        return EnumType(
            name=element.get("Name", ""),
            namespace=namespace,
            members=members,
            is_flags=element.get("IsFlags", "false") == "true",
            underlying_type=element.get("UnderlyingType", "Edm.Int32"),
        )

    def _parameters(self, element: Any) -> tuple[Parameter, ...]:
        return tuple(
            Parameter(p.get("Name", ""), self.qualify(p.get("Type")), _flag(p.get("Nullable")))
            for p in _children(element, "Parameter")
        )

    def _operation(self, element: Any, namespace: str, kind: str) -> Operation:
        returns = _children(element, "ReturnType")
        return Operation(
            name=element.get("Name", ""),
            namespace=namespace,
            kind=kind,
            is_bound=element.get("IsBound", "false") == "true",
            parameters=self._parameters(element),
            return_type=self.qualify(returns[0].get("Type")) if returns else None,
        )

    def _entity_set(self, element: Any) -> EntitySet:
        sap = _sap_attributes(element)
        bindings = {
            b.get("Path", ""): b.get("Target", "") for b in _children(element, "NavigationPropertyBinding")
        }
        return EntitySet(
            name=element.get("Name", ""),
            entity_type=self.qualify(element.get("EntityType")),
            creatable=_flag(sap.get("creatable")),
            updatable=_flag(sap.get("updatable")),
            deletable=_flag(sap.get("deletable")),
            searchable=_flag(sap.get("searchable"), default=False),
            pageable=_flag(sap.get("pageable")),
            bindings=bindings,
            sap=sap,
        )

    def _import(self, element: Any, kind: str) -> FunctionImport:
        if kind == "ActionImport":
            return FunctionImport(
                name=element.get("Name", ""),
                kind="action",
                http_method="POST",
                entity_set=element.get("EntitySet"),
                operation=self.qualify(element.get("Action")),
            )
        if self.version.is_v4:
            return FunctionImport(
                name=element.get("Name", ""),
                kind="function",
                http_method="GET",
                entity_set=element.get("EntitySet"),
                operation=self.qualify(element.get("Function")),
            )
        method = (element.get(f"{{{_METADATA_NS_V2}}}HttpMethod") or "GET").upper()
        return FunctionImport(
            name=element.get("Name", ""),
            kind="function" if method == "GET" else "action",
            http_method=method,
            parameters=self._parameters(element),
            return_type=self.qualify(element.get("ReturnType")) or None,
            entity_set=element.get("EntitySet"),
        )


# -- cache -----------------------------------------------------------------------------------


class MetadataCache:
    """Parsed ``$metadata`` per service URL, kept for ``ttl`` seconds (LRU beyond ``maxsize``).

    Thread-safe; a miss loads through the caller's function, so one connector (or several
    sharing a cache) fetches each service's metadata once per ``ttl``.
    """

    def __init__(
        self, *, maxsize: int = 64, ttl: float = 3600.0, timer: Callable[[], float] | None = None
    ) -> None:
        import time

        from cachetools import TTLCache

        self._cache: TTLCache[str, ServiceMetadata] = TTLCache(
            maxsize=maxsize, ttl=ttl, timer=timer or time.monotonic
        )
        self._lock = threading.Lock()

    def get(self, service_url: str) -> ServiceMetadata | None:
        """The cached metadata of ``service_url``, or None."""
        with self._lock:
            return self._cache.get(service_url)

    def put(self, service_url: str, metadata: ServiceMetadata) -> None:
        """Store ``metadata`` for ``service_url``."""
        with self._lock:
            self._cache[service_url] = metadata

    def invalidate(self, service_url: str | None = None) -> None:
        """Forget one service (or all), e.g. after the service was redeployed."""
        with self._lock:
            if service_url is None:
                self._cache.clear()
            else:
                self._cache.pop(service_url, None)

    def get_or_load(self, service_url: str, load: Callable[[], ServiceMetadata]) -> ServiceMetadata:
        """The cached metadata, or ``load()``'s result, stored."""
        found = self.get(service_url)
        if found is None:
            found = load()
            self.put(service_url, found)
        return found

    async def aget_or_load(
        self, service_url: str, load: Callable[[], Awaitable[ServiceMetadata]]
    ) -> ServiceMetadata:
        """The async :meth:`get_or_load`."""
        found = self.get(service_url)
        if found is None:
            found = await load()
            self.put(service_url, found)
        return found

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)
