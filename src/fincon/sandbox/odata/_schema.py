"""What the emulator engine reads from ``$metadata``: entity sets, keys, properties, navigation.

The engine's own reader (the client's lives in :mod:`fincon.protocols.odata`, the test contract's in
:mod:`fincon.testing.specs`): three independent readers keep a bug in one from being agreed with by
the others. Parsed with a hardened lxml parser: no entities, no network, no DTD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BoundAction",
    "EdmProperty",
    "EntitySetSchema",
    "EntityTypeSchema",
    "Navigation",
    "ServiceSchema",
    "read_schema",
]

_V2_METADATA = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"


@dataclass(frozen=True, slots=True)
class EdmProperty:
    """A primitive property (complex and collection types are carried as opaque values)."""

    name: str
    type: str
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True, slots=True)
class Navigation:
    """A navigation property and the entity type it leads to.

    ``constraints`` are the V4 referential constraints as ``(property, referenced property)``
    pairs: the source's ``property`` equals the target's ``referenced property``
    (``purchaseInvoiceLines``: ``("id", "documentId")``). ``contained``: ``ContainsTarget``.
    """

    name: str
    target_type: str
    many: bool
    constraints: tuple[tuple[str, str], ...] = ()
    contained: bool = False


@dataclass(frozen=True, slots=True)
class BoundAction:
    """A V4 action bound to an entity type (``Microsoft.NAV.post`` on ``purchaseInvoice``)."""

    name: str
    namespace: str
    binding_type: str
    collection: bool = False


@dataclass(slots=True)
class EntityTypeSchema:
    """An entity type with its keys, properties in declaration order, and navigation."""

    name: str
    qualified_name: str
    keys: tuple[str, ...]
    properties: dict[str, EdmProperty] = field(default_factory=dict)
    navigation: dict[str, Navigation] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EntitySetSchema:
    """An entity set and its entity type; what V4 ``Capabilities`` annotations allow on it."""

    name: str
    type: EntityTypeSchema
    insertable: bool = True
    updatable: bool = True
    deletable: bool = True


@dataclass(slots=True)
class ServiceSchema:
    """One service's metadata: the OData version, its entity sets, and the document as served."""

    version: str
    namespace: str
    container: str
    entity_sets: dict[str, EntitySetSchema]
    types: dict[str, EntityTypeSchema]
    document: bytes
    #: Enum types by qualified name: their member names.
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Bound actions by the qualified name of the entity type they bind to, then by name.
    actions: dict[str, dict[str, BoundAction]] = field(default_factory=dict)
    _set_of_type: dict[str, EntitySetSchema | None] = field(default_factory=dict, repr=False)

    @property
    def is_v4(self) -> bool:
        return self.version.startswith("4")

    def set_for_type(self, qualified_name: str) -> EntitySetSchema | None:
        """The first entity set holding entities of ``qualified_name`` (navigation targets)."""
        if not self._set_of_type:  # built once: a schema's entity sets never change
            for entity_set in reversed(list(self.entity_sets.values())):
                self._set_of_type[entity_set.type.qualified_name] = entity_set
            self._set_of_type[""] = None  # built, even when there is no entity set
        return self._set_of_type.get(qualified_name)


_CAPABILITIES = {
    "Org.OData.Capabilities.V1.InsertRestrictions": ("Insertable", "insertable"),
    "Org.OData.Capabilities.V1.UpdateRestrictions": ("Updatable", "updatable"),
    "Org.OData.Capabilities.V1.DeleteRestrictions": ("Deletable", "deletable"),
}


def _capabilities(entity_set: object) -> dict[str, bool]:
    """What an ``EntitySet``'s ``Capabilities`` annotations say (absent: allowed)."""
    allowed: dict[str, bool] = {}
    for annotation in entity_set:  # type: ignore[attr-defined]
        term = _CAPABILITIES.get(annotation.get("Term") or "")
        if term is None:
            continue
        for value in annotation.iter():
            if _local(value.tag) == "PropertyValue" and value.get("Property") == term[0]:
                allowed[term[1]] = (value.get("Bool") or "true").lower() != "false"
    return allowed


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def read_schema(source: bytes | str | Path) -> ServiceSchema:
    """Parse an EDMX document (V2 ``Edmx Version="1.0"`` or V4 ``"4.0"``)."""
    from lxml import etree

    document = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    root = etree.fromstring(document, parser)
    edmx_version = root.get("Version") or "1.0"
    schemas = [element for element in root.iter() if _local(element.tag) == "Schema"]
    if not schemas:
        raise ValueError("no <Schema> in the metadata document")
    version = "4.0" if edmx_version.startswith("4") else "2.0"
    if version == "2.0":
        for element in root.iter():
            if _local(element.tag) == "DataServices":
                version = element.get(f"{{{_V2_METADATA}}}DataServiceVersion") or "2.0"
    associations: dict[str, dict[str, tuple[str, bool]]] = {}
    types: dict[str, EntityTypeSchema] = {}
    aliases: dict[str, str] = {}
    for schema in schemas:
        namespace = schema.get("Namespace") or ""
        if schema.get("Alias"):
            aliases[schema.get("Alias") or ""] = namespace
        for element in schema:
            if _local(element.tag) == "Association":
                ends = {
                    end.get("Role") or "": (end.get("Type") or "", (end.get("Multiplicity") or "") == "*")
                    for end in element
                    if _local(end.tag) == "End"
                }
                associations[f"{namespace}.{element.get('Name')}"] = ends

    def qualify(name: str) -> str:
        prefix, _, rest = name.rpartition(".")
        return f"{aliases.get(prefix, prefix)}.{rest}" if prefix else name

    bases: dict[str, str] = {}
    enums: dict[str, tuple[str, ...]] = {}
    actions: dict[str, dict[str, BoundAction]] = {}
    for schema in schemas:
        namespace = schema.get("Namespace") or ""
        for element in schema:
            kind = _local(element.tag)
            if kind == "EnumType":
                members = tuple(m.get("Name") or "" for m in element if _local(m.tag) == "Member")
                enums[f"{namespace}.{element.get('Name')}"] = members
            elif kind == "Action" and (element.get("IsBound") or "").lower() == "true":
                binding = next((p.get("Type") or "" for p in element if _local(p.tag) == "Parameter"), "")
                collection = binding.startswith("Collection(")
                binding = qualify(binding[11:-1] if collection else binding)
                action = BoundAction(element.get("Name") or "", namespace, binding, collection)
                actions.setdefault(binding, {})[action.name] = action
            if kind != "EntityType":
                continue
            qualified = f"{namespace}.{element.get('Name')}"
            keys: list[str] = []
            entity = EntityTypeSchema(element.get("Name") or "", qualified, ())
            if element.get("BaseType"):
                bases[qualified] = qualify(element.get("BaseType") or "")
            for child in element:
                kind = _local(child.tag)
                if kind == "Key":
                    keys = [ref.get("Name") or "" for ref in child if _local(ref.tag) == "PropertyRef"]
                elif kind == "Property":
                    name = child.get("Name") or ""
                    entity.properties[name] = EdmProperty(
                        name,
                        child.get("Type") or "Edm.String",
                        (child.get("Nullable") or "true").lower() != "false",
                        _int(child.get("MaxLength")),
                        _int(child.get("Precision")),
                        _int(child.get("Scale")),
                    )
                elif kind == "NavigationProperty":
                    name = child.get("Name") or ""
                    if child.get("Type"):  # V4
                        target = child.get("Type") or ""
                        many = target.startswith("Collection(")
                        target = qualify(target[11:-1] if many else target)
                        constraints = tuple(
                            (ref.get("Property") or "", ref.get("ReferencedProperty") or "")
                            for ref in child
                            if _local(ref.tag) == "ReferentialConstraint"
                        )
                        contained = (child.get("ContainsTarget") or "").lower() == "true"
                        entity.navigation[name] = Navigation(name, target, many, constraints, contained)
                        continue
                    # V2: through the association's end
                    ends = associations.get(qualify(child.get("Relationship") or ""), {})
                    target, many = ends.get(child.get("ToRole") or "", ("", False))
                    entity.navigation[name] = Navigation(name, qualify(target), many)
            entity.keys = tuple(keys)
            types[qualified] = entity
    for qualified, base in bases.items():  # inherited keys and members, base first
        chain = [base]
        while chain[-1] in bases and len(chain) < 16:
            chain.append(bases[chain[-1]])
        derived = types[qualified]
        for ancestor in reversed([types[name] for name in chain if name in types]):
            derived.keys = derived.keys or ancestor.keys
            derived.properties = {**ancestor.properties, **derived.properties}
            derived.navigation = {**ancestor.navigation, **derived.navigation}
    entity_sets: dict[str, EntitySetSchema] = {}
    namespace = container_name = ""
    for schema in schemas:
        for element in schema:
            if _local(element.tag) != "EntityContainer":
                continue
            namespace = namespace or (schema.get("Namespace") or "")
            container_name = container_name or (element.get("Name") or "")
            for child in element:
                if _local(child.tag) == "EntitySet":
                    entity_type = types.get(qualify(child.get("EntityType") or ""))
                    if entity_type is not None:
                        name = child.get("Name") or ""
                        entity_sets[name] = EntitySetSchema(name, entity_type, **_capabilities(child))
    return ServiceSchema(version, namespace, container_name, entity_sets, types, document, enums, actions)
