"""Known quirks in the vendors' specifications, patched in memory when a spec is loaded.

Each patch is harmless where its quirk is absent (it changes nothing and counts 0), so all of
them run on every spec; a contract's ``patches_applied`` says which ones changed something, and
how many places. ``docs/spec-checks.md`` explains each one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NULL_ALTERNATIVE",
    "OPENAPI_PATCHES",
    "XSD_PATCHES",
    "OpenAPIPatch",
    "Patch",
    "XsdPatch",
    "apply_openapi_patches",
    "apply_xsd_patches",
]

# A schema that accepts only null: needs no ``type``, so OpenAPI 3.0's validators accept it too.
NULL_ALTERNATIVE: dict[str, Any] = {"enum": [None]}

Node = dict[str, Any]


@dataclass(frozen=True)
class Patch:
    """A quirk fixed at load time.

    :param name: short identifier, as listed in ``patches_applied`` and the docs.
    :param applies_to: which specifications have the quirk.
    :param why: what is wrong and what the patch does.
    """

    name: str
    applies_to: str
    why: str


@dataclass(frozen=True)
class OpenAPIPatch(Patch):
    """A patch applied to every mapping of an OpenAPI document.

    :param fix: ``fix(node, document)`` changes ``node`` in place and returns how many changes it made.
    """

    fix: Callable[[Node, Node], int] = lambda node, document: 0


@dataclass(frozen=True)
class XsdPatch(Patch):
    """A patch applied once to a parsed XML Schema document (an lxml tree).

    :param fix: ``fix(tree)`` changes the tree in place and returns how many changes it made.
    """

    fix: Callable[[Any], int] = lambda tree: 0


# --- OpenAPI ----------------------------------------------------------------------------------------


def _string_keys(node: Node, document: Node) -> int:
    # YAML reads an unquoted `200:` as the integer 200; OpenAPI keys are strings.
    if all(isinstance(key, str) for key in node):
        return 0
    items = list(node.items())
    node.clear()
    node.update((key if isinstance(key, str) else str(key).lower(), value) for key, value in items)
    return sum(1 for key, _ in items if not isinstance(key, str))


def _has_null_alternative(alternatives: Any) -> bool:
    return isinstance(alternatives, list) and NULL_ALTERNATIVE in alternatives


def _nullable_ref(node: Node, document: Node) -> int:
    # OpenAPI 3.0 ignores every sibling of $ref, `nullable` included; the authors meant "or null".
    if node.get("nullable") is not True or "$ref" not in node:
        return 0
    target = {"$ref": node.pop("$ref")}
    del node["nullable"]
    node["anyOf"] = [target, dict(NULL_ALTERNATIVE)]
    return 1


def _nullable_combinator(node: Node, document: Node) -> int:
    # `nullable` only acts next to `type`; with anyOf/oneOf/allOf and no type, null is rejected.
    if node.get("nullable") is not True or "type" in node:
        return 0
    for keyword in ("anyOf", "oneOf"):
        alternatives = node.get(keyword)
        if isinstance(alternatives, list) and not _has_null_alternative(alternatives):
            alternatives.append(dict(NULL_ALTERNATIVE))
            return 1
    parts = node.get("allOf")
    if isinstance(parts, list):
        del node["allOf"]
        node["anyOf"] = [{"allOf": parts}, dict(NULL_ALTERNATIVE)]
        return 1
    return 0


def _nullable_enum(node: Node, document: Node) -> int:
    # `enum` is checked on its own: a nullable enum must list null to accept it (OpenAPI 3.0.3).
    enum = node.get("enum")
    if node.get("nullable") is True and isinstance(enum, list) and None not in enum:
        enum.append(None)
        return 1
    return 0


def _duplicate_enum(node: Node, document: Node) -> int:
    enum = node.get("enum")
    if not isinstance(enum, list) or len(enum) < 2:
        return 0
    unique: list[Any] = []
    for value in enum:
        if value not in unique:
            unique.append(value)
    if len(unique) == len(enum):
        return 0
    removed = len(enum) - len(unique)
    enum[:] = unique
    return removed


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The node a local ``#/a/b`` reference points at; raises ``LookupError`` when there is none."""
    node = document
    if pointer in ("", "#"):
        return node
    for raw in pointer.lstrip("#").lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise LookupError(pointer)
    return node


def _dangling_ref(node: Node, document: Node) -> int:
    # A local $ref to nothing would fail every check that touches it; accept anything there instead.
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#"):
        return 0
    try:
        resolve_pointer(document, ref)
    except LookupError:
        del node["$ref"]
        node["x-fincon-dangling-ref"] = ref
        return 1
    return 0


OPENAPI_PATCHES: tuple[OpenAPIPatch, ...] = (
    OpenAPIPatch(
        "string-keys",
        "Dynamics 365 BC v1.0 openapi.yaml (unquoted response codes such as 200:)",
        "YAML reads unquoted 200: as an integer; keys are turned back into strings.",
        _string_keys,
    ),
    OpenAPIPatch(
        "nullable-ref",
        "Dynamics 365 BC v1.0 openapi.yaml ($ref with nullable: true beside it)",
        "OpenAPI 3.0 ignores siblings of $ref, so nullable is lost; rewritten as anyOf [$ref, null].",
        _nullable_ref,
    ),
    OpenAPIPatch(
        "nullable-combinator",
        "Stripe (anyOf), SAP API Hub Business Partner (allOf), SAP Purchase Order (anyOf)",
        "nullable: true next to anyOf/oneOf/allOf without type does not admit null in a JSON Schema "
        "validator; a null alternative is added explicitly.",
        _nullable_combinator,
    ),
    OpenAPIPatch(
        "nullable-enum",
        "Stripe (nullable enums such as invoice.automatic_tax.status)",
        "enum is checked on its own, so a nullable enum rejects null unless null is listed; it is added.",
        _nullable_enum,
    ),
    OpenAPIPatch(
        "duplicate-enum",
        "OBIE v4.0 payment-initiation (OBFrequency6Code lists WEEK twice)",
        "Harmless for validation (membership is the same) but invalid JSON Schema; duplicates are dropped.",
        _duplicate_enum,
    ),
    OpenAPIPatch(
        "dangling-ref",
        "Berlin Group confirmation-of-funds consent 2.0 (#/components/schemas/tppMessageGeneric)",
        "A local $ref to a schema that does not exist is replaced by an accept-anything schema, "
        "marked x-fincon-dangling-ref.",
        _dangling_ref,
    ),
)


def apply_openapi_patches(document: Node, patches: Iterable[OpenAPIPatch]) -> dict[str, int]:
    """Apply ``patches`` to every mapping of ``document`` in one walk; returns changes per patch."""
    chosen = tuple(patches)
    counts = {patch.name: 0 for patch in chosen}
    seen: set[int] = set()
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            for patch in chosen:
                counts[patch.name] += patch.fix(node, document)
            stack.extend(value for value in node.values() if isinstance(value, (dict, list)))
        elif isinstance(node, list):
            stack.extend(value for value in node if isinstance(value, (dict, list)))
    return {name: count for name, count in counts.items() if count}


# --- XML Schema -------------------------------------------------------------------------------------

XS = "{http://www.w3.org/2001/XMLSchema}"


def _intacct_arguments(tree: Any) -> int:
    # <arguments> offers a choice of <get_accountbalancesbydimensions/> or any element; xs:any also
    # matches that element, which breaks the Unique Particle Attribution rule and libxml2 refuses
    # the schema. One lax wildcard keeps the intent: any element, and the known one still checked.
    changed = 0
    for element in tree.getroot().iterfind(f"{XS}element[@name='arguments']"):
        complex_type = element.find(f"{XS}complexType")
        if complex_type is None:
            continue
        sequence = complex_type.find(f"{XS}sequence")
        if sequence is None or sequence.find(f"{XS}choice/{XS}sequence/{XS}any") is None:
            continue
        complex_type.remove(sequence)
        loose = complex_type.makeelement(f"{XS}sequence", {"minOccurs": "0", "maxOccurs": "unbounded"})
        loose.append(loose.makeelement(f"{XS}any", {"processContents": "lax"}))
        complex_type.insert(0, loose)
        changed += 1
    return changed


XSD_PATCHES: tuple[XsdPatch, ...] = (
    XsdPatch(
        "intacct-arguments-upa",
        "Sage Intacct v3.0 api.xsd (element 'arguments', used by readReport)",
        "A choice between one element and xs:any is not deterministic, so libxml2 rejects the whole "
        "schema; replaced by a lax wildcard sequence (the named element is still validated).",
        _intacct_arguments,
    ),
)


def apply_xsd_patches(tree: Any, patches: Iterable[XsdPatch]) -> dict[str, int]:
    """Apply ``patches`` to a parsed XML Schema; returns changes per patch that changed something."""
    counts = {patch.name: patch.fix(tree) for patch in patches}
    return {name: count for name, count in counts.items() if count}
