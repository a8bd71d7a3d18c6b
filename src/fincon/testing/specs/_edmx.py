"""Parsing OData ``$metadata`` (EDMX V2 ``Version="1.0"`` and V4 ``Version="4.0"``) into a model.

Only what payload and URL checks need: entity sets, entity/complex/enum types with their keys,
properties (Edm type, Nullable, MaxLength, Precision, Scale), navigation properties with their
target type and cardinality (V2 via Association ends), and function/action imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fincon.testing.specs._edm import Facets
from fincon.testing.specs._errors import SpecLoadError

__all__ = [
    "EdmProperty",
    "EntitySet",
    "EnumType",
    "Model",
    "NavigationProperty",
    "StructuredType",
    "parse_edmx",
]

_DATA_SERVICES_V2 = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"


@dataclass(frozen=True)
class EdmProperty:
    """A structural property: ``type`` is qualified (``Edm.String``, ``NS.Complex``, ``Collection(...)``)."""

    name: str
    type: str
    nullable: bool = True
    facets: Facets = field(default_factory=Facets)

    @property
    def is_collection(self) -> bool:
        """Whether the property holds a collection."""
        return self.type.startswith("Collection(")

    @property
    def item_type(self) -> str:
        """The type of one item (the type itself when not a collection)."""
        return self.type[len("Collection(") : -1] if self.is_collection else self.type


@dataclass(frozen=True)
class NavigationProperty:
    """A navigation property: its target entity type (qualified) and whether it leads to many."""

    name: str
    target: str | None
    many: bool


@dataclass
class StructuredType:
    """An entity or complex type, with inherited members merged in."""

    name: str
    qualified_name: str
    is_entity: bool
    keys: tuple[str, ...] = ()
    properties: dict[str, EdmProperty] = field(default_factory=dict, repr=False)
    navigation: dict[str, NavigationProperty] = field(default_factory=dict, repr=False)
    base_type: str | None = None
    open_type: bool = False


@dataclass(frozen=True)
class EnumType:
    """A V4 enumeration: member names (``IsFlags`` allows comma-separated combinations)."""

    name: str
    qualified_name: str
    members: frozenset[str]
    is_flags: bool = False


@dataclass(frozen=True)
class EntitySet:
    """An entity set of the container and the qualified name of its entity type."""

    name: str
    entity_type: str


@dataclass
class Model:
    """Everything parsed from one ``$metadata`` document."""

    edmx_version: str
    odata_version: str
    namespaces: tuple[str, ...]
    entity_sets: dict[str, EntitySet]
    types: dict[str, StructuredType]
    enums: dict[str, EnumType]
    imports: frozenset[str]

    @property
    def is_v4(self) -> bool:
        """OData V4 (EDMX 4.0), else V2 (EDMX 1.0)."""
        return self.edmx_version.startswith("4")


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name]


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text is not None and text.strip().isdigit() else None


def parse_edmx(path: Path) -> Model:
    """Parse an EDMX file with a hardened parser (no entities, no network).

    :raises SpecLoadError: when the file is not well-formed EDMX.
    """
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise SpecLoadError(f"cannot parse {path}: {exc}") from exc
    if _local(root) != "Edmx":
        raise SpecLoadError(f"{path} is not EDMX (root element {_local(root)!r})")
    edmx_version = root.get("Version", "")
    services = [child for child in root if _local(child) == "DataServices"]
    if not services:
        raise SpecLoadError(f"{path} has no edmx:DataServices")
    odata_version = services[0].get(f"{{{_DATA_SERVICES_V2}}}DataServiceVersion") or (
        "4.0" if edmx_version.startswith("4") else "2.0"
    )
    schemas = _children(services[0], "Schema")
    return _Builder(edmx_version, odata_version, schemas).build()


class _Builder:
    def __init__(self, edmx_version: str, odata_version: str, schemas: list[Any]) -> None:
        self.edmx_version = edmx_version
        self.odata_version = odata_version
        self.schemas = schemas
        self.aliases: dict[str, str] = {}
        for schema in schemas:
            alias = schema.get("Alias")
            if alias:
                self.aliases[alias] = schema.get("Namespace", "")
        self.associations: dict[str, dict[str, tuple[str, str]]] = {}

    def qualify(self, name: str | None) -> str:
        if not name:
            return ""
        if name.startswith("Collection(") and name.endswith(")"):
            return f"Collection({self.qualify(name[len('Collection(') : -1])})"
        head, _, tail = name.rpartition(".")
        return f"{self.aliases.get(head, head)}.{tail}" if head else name

    def build(self) -> Model:
        types: dict[str, StructuredType] = {}
        enums: dict[str, EnumType] = {}
        sets: dict[str, EntitySet] = {}
        imports: set[str] = set()
        for schema in self.schemas:
            namespace = schema.get("Namespace", "")
            for association in _children(schema, "Association"):
                ends = {
                    end.get("Role", ""): (self.qualify(end.get("Type")), end.get("Multiplicity", ""))
                    for end in _children(association, "End")
                }
                self.associations[f"{namespace}.{association.get('Name')}"] = ends
        for schema in self.schemas:
            namespace = schema.get("Namespace", "")
            for element in schema:
                kind = _local(element)
                if kind in ("EntityType", "ComplexType"):
                    built = self._structured(element, namespace, kind == "EntityType")
                    types[built.qualified_name] = built
                elif kind == "EnumType":
                    qualified = f"{namespace}.{element.get('Name')}"
                    members = frozenset(member.get("Name", "") for member in _children(element, "Member"))
                    flags = element.get("IsFlags", "false") == "true"
                    enums[qualified] = EnumType(element.get("Name", ""), qualified, members, flags)
                elif kind == "EntityContainer":
                    for child in element:
                        child_kind = _local(child)
                        if child_kind == "EntitySet":
                            name = child.get("Name", "")
                            sets[name] = EntitySet(name, self.qualify(child.get("EntityType")))
                        elif child_kind in ("FunctionImport", "ActionImport", "Singleton"):
                            imports.add(child.get("Name", ""))
        _inherit(types)
        return Model(
            self.edmx_version,
            self.odata_version,
            tuple(schema.get("Namespace", "") for schema in self.schemas),
            sets,
            types,
            enums,
            frozenset(imports),
        )

    def _structured(self, element: Any, namespace: str, is_entity: bool) -> StructuredType:
        name = element.get("Name", "")
        built = StructuredType(
            name,
            f"{namespace}.{name}",
            is_entity,
            base_type=self.qualify(element.get("BaseType")) or None,
            open_type=element.get("OpenType", "false") == "true",
        )
        for key in _children(element, "Key"):
            built.keys = tuple(ref.get("Name", "") for ref in _children(key, "PropertyRef"))
        for prop in _children(element, "Property"):
            scale = prop.get("Scale")
            facets = Facets(
                max_length=_int_or_none(prop.get("MaxLength")),
                precision=_int_or_none(prop.get("Precision")),
                # "Variable" and "Floating" put no limit on decimals.
                scale=_int_or_none(scale),
            )
            built.properties[prop.get("Name", "")] = EdmProperty(
                prop.get("Name", ""),
                self.qualify(prop.get("Type")),
                prop.get("Nullable", "true") != "false",
                facets,
            )
        for nav in _children(element, "NavigationProperty"):
            built.navigation[nav.get("Name", "")] = self._navigation(nav)
        return built

    def _navigation(self, nav: Any) -> NavigationProperty:
        name = nav.get("Name", "")
        if nav.get("Type"):  # V4
            target = self.qualify(nav.get("Type"))
            many = target.startswith("Collection(")
            return NavigationProperty(name, target[len("Collection(") : -1] if many else target, many)
        ends = self.associations.get(self.qualify(nav.get("Relationship")), {})
        target_type, multiplicity = ends.get(nav.get("ToRole", ""), ("", ""))
        return NavigationProperty(name, target_type or None, multiplicity == "*")


def _inherit(types: dict[str, StructuredType]) -> None:
    """Merge base types' keys and members into derived types (bases first)."""
    done: set[str] = set()

    def resolve(item: StructuredType, depth: int = 0) -> None:
        if item.qualified_name in done or depth > 20:
            return
        base = types.get(item.base_type or "")
        if base is not None:
            resolve(base, depth + 1)
            item.keys = item.keys or base.keys
            item.properties = {**base.properties, **item.properties}
            item.navigation = {**base.navigation, **item.navigation}
            item.open_type = item.open_type or base.open_type
        done.add(item.qualified_name)

    for item in types.values():
        resolve(item)
