"""Checking an OData request URL against the model: resource path, key predicates and the
property names used in ``$filter``, ``$select``, ``$orderby`` and ``$expand``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from fincon.testing.specs._edmx import Model, StructuredType
from fincon.testing.specs._errors import Problem

__all__ = ["Target", "check_url"]

_SEGMENT = re.compile(r"^([^()]+)(?:\((.*)\))?$")
_SYSTEM_V2 = frozenset(
    {"$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$skiptoken", "$inlinecount", "$format"}
)
_SYSTEM_V4 = frozenset(
    {
        "$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$skiptoken", "$count", "$format",
        "$search", "$apply", "$compute", "$levels", "$deltatoken", "$index", "$schemaversion", "$id",
    }
)  # fmt: skip
_FILTER_WORDS = frozenset(
    {
        "eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "add", "sub", "mul", "div", "divby",
        "mod", "has", "in", "true", "false", "null", "asc", "desc",
    }
)  # fmt: skip
_FILTER_TOKEN = re.compile(
    r"""\s+
    |(?P<string>'(?:[^']|'')*')
    |(?P<typed>[A-Za-z][\w.]*'(?:[^']|'')*')
    |(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)
    |(?P<date>\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?)
    |(?P<number>-?\d+(\.\d+)?([eE][-+]?\d+)?[mMdDfFlL]?)
    |(?P<name>[@$]?[A-Za-z_][\w.]*(/[A-Za-z_$*][\w.]*)*)
    |(?P<other>.)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Target:
    """What a URL addresses: its type, whether a collection, and the query options given."""

    type: StructuredType | None
    many: bool
    raw: bool
    options: dict[str, str] = field(repr=False)


def _split_top(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside quotes and parentheses."""
    parts: list[str] = []
    depth, quoted, start = 0, False, 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _key_problems(predicate: str, entity: StructuredType, where: str, v4: bool) -> list[Problem]:
    parts = [part.strip() for part in _split_top(predicate, ",") if part.strip()]
    keys = entity.keys
    if not parts:
        return [Problem(where, "empty key predicate")]
    if len(parts) == 1 and "=" not in parts[0].split("'")[0]:
        if len(keys) != 1:
            return [Problem(where, f"{entity.name} has a composite key {list(keys)}; name every part")]
        return _literal_problems(parts[0], entity, keys[0], where, v4)
    named: dict[str, str] = {}
    for part in parts:
        name, _, literal = part.partition("=")
        named[name.strip()] = literal.strip()
    problems = [
        Problem(where, f"{name!r} is not a key of {entity.name}") for name in named if name not in keys
    ]
    problems += [
        Problem(where, f"key part {key!r} of {entity.name} is missing") for key in keys if key not in named
    ]
    for name, literal in named.items():
        if name in keys:
            problems += _literal_problems(literal, entity, name, where, v4)
    return problems


def _literal_problems(literal: str, entity: StructuredType, key: str, where: str, v4: bool) -> list[Problem]:
    prop = entity.properties.get(key)
    if prop is None:
        return []
    kind = prop.type
    quoted = literal.startswith("'") and literal.endswith("'") and len(literal) >= 2
    if kind == "Edm.String" and not quoted:
        return [Problem(where, f"key {key} is Edm.String, so its value must be quoted: {literal}")]
    if kind == "Edm.Guid":
        bare = re.fullmatch(r"[0-9a-fA-F-]{36}", literal) is not None
        v2_form = re.fullmatch(r"guid'[0-9a-fA-F-]{36}'", literal) is not None
        if (v4 and not bare) or (not v4 and not v2_form):
            shape = "a bare GUID" if v4 else "guid'…'"
            return [
                Problem(
                    where,
                    f"key {key} is Edm.Guid, written {shape} in OData {'V4' if v4 else 'V2'}: {literal}",
                )
            ]
    if kind in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte") and not re.fullmatch(r"-?\d+L?", literal):
        return [Problem(where, f"key {key} is {kind}: {literal} is not an integer literal")]
    return []


def _resolve_path(model: Model, start: StructuredType, path: str, *, navigation: bool = False) -> str | None:
    """``None`` when ``a/b/c`` names members from ``start`` on, else the reason it does not;
    with ``navigation``, every segment must be a navigation property (``$expand``)."""
    current: StructuredType | None = start
    segments = [segment for segment in path.split("/") if segment]
    for index, segment in enumerate(segments):
        if current is None:
            return None
        if segment == "*" or segment.startswith("$") or "." in segment:
            return None  # wildcards, $count/$ref and type casts are not followed
        if navigation and segment not in current.navigation and not current.open_type:
            return f"{segment!r} is not a navigation property of {current.name}"
        if segment in current.properties:
            item_type = current.properties[segment].item_type
            current = model.types.get(item_type)
            if current is None and index < len(segments) - 1:
                return f"{'/'.join(segments[: index + 1])} is a primitive property and has no members"
        elif segment in current.navigation:
            current = model.types.get(current.navigation[segment].target or "")
        elif current.open_type:
            return None
        else:
            return f"{current.name} has no property {segment!r}"
    return None


def _filter_paths(expression: str) -> Iterator[str]:
    """Property paths used in a ``$filter`` (literals, operators, functions, aliases skipped)."""
    tokens = [m for m in _FILTER_TOKEN.finditer(expression) if m.lastgroup]
    lambda_variables: set[str] = {"$it", "$root", "$this"}
    for index, token in enumerate(tokens):
        if token.lastgroup != "name":
            continue
        text = token.group()
        following = tokens[index + 1].group() if index + 1 < len(tokens) else ""
        if text.startswith("@") or text in _FILTER_WORDS:
            continue
        first = text.split("/")[0]
        if first in lambda_variables:
            continue
        if following == ":":
            lambda_variables.add(text)
            continue
        if following == "(":
            head, _, last = text.rpartition("/")
            if head and last in ("any", "all"):
                yield head
            continue
        yield text


def _expand_paths(expression: str, v4: bool) -> Iterator[str]:
    for item in _split_top(expression, ","):
        name = item.strip()
        if v4 and "(" in name:
            name = name[: name.index("(")]
        if name and name != "*":
            yield name.removesuffix("/$ref")


def check_url(model: Model, raw_path: str, query: str) -> tuple[Target | None, list[Problem]]:
    """Check a request's path and query against the model.

    The service root is whatever comes before the first segment naming an entity set, a
    function/action import, ``$metadata`` or ``$batch``.
    """
    v4 = model.is_v4
    segments = [unquote(segment) for segment in raw_path.split("/") if segment]
    start = next(
        (
            index
            for index, segment in enumerate(segments)
            if (
                (match := _SEGMENT.match(segment)) is not None
                and (match.group(1) in model.entity_sets or match.group(1) in model.imports)
            )
            or segment in ("$metadata", "$batch")
        ),
        None,
    )
    if start is None:
        return None, [Problem("/path", f"no entity set of the service in {raw_path}")]
    if segments[start] in ("$metadata", "$batch"):
        return Target(None, False, True, {}), []
    problems: list[Problem] = []
    current: StructuredType | None = None
    many = False
    raw = False
    for position, segment in enumerate(segments[start:]):
        where = f"/path/{position}"
        match = _SEGMENT.match(segment)
        if match is None:
            problems.append(Problem(where, f"cannot read segment {segment!r}"))
            break
        name, predicate = match.group(1), match.group(2)
        if position == 0:
            if name in model.imports and name not in model.entity_sets:
                return Target(None, False, True, {}), []
            current = model.types.get(model.entity_sets[name].entity_type)
            many = True
        elif name in ("$count", "$value", "$ref", "$links"):
            raw = name != "$ref"
            break
        elif current is None:
            break
        elif name in current.navigation:
            nav = current.navigation[name]
            current, many = model.types.get(nav.target or ""), nav.many
        elif name in current.properties:
            prop = current.properties[name]
            current, many, raw = model.types.get(prop.item_type), prop.is_collection, True
        elif "." in name:
            return Target(None, False, True, {}), problems  # bound action/function or type cast
        else:
            problems.append(Problem(where, f"{current.name} has no navigation or property {name!r}"))
            current = None
            break
        if predicate is not None and current is not None:
            if not many:
                problems.append(Problem(where, f"{name} is single-valued and takes no key"))
            else:
                problems += _key_problems(predicate, current, where, v4)
                many = False
    options = dict(parse_qsl(query, keep_blank_values=True))
    problems += _option_problems(model, current, options, v4)
    return Target(current, many, raw, options), problems


def _option_problems(
    model: Model, target: StructuredType | None, options: dict[str, str], v4: bool
) -> list[Problem]:
    problems: list[Problem] = []
    allowed = _SYSTEM_V4 if v4 else _SYSTEM_V2
    for name, value in options.items():
        where = f"/query/{name}"
        if name.startswith("$") and name not in allowed:
            problems.append(Problem(where, f"not a system query option of OData {'V4' if v4 else 'V2'}"))
        elif name in ("$top", "$skip") and not value.isdigit():
            problems.append(Problem(where, f"{value!r} is not a non-negative integer"))
        elif name == "$inlinecount" and value not in ("allpages", "none"):
            problems.append(Problem(where, f"{value!r} is not allpages or none"))
        elif name == "$count" and value not in ("true", "false"):
            problems.append(Problem(where, f"{value!r} is not true or false"))
    if target is None:
        return problems
    paths: list[tuple[str, str]] = []
    if "$filter" in options:
        paths += [("$filter", path) for path in _filter_paths(options["$filter"])]
    for name in ("$select", "$orderby"):
        for item in _split_top(options.get(name, ""), ","):
            path = item.strip().split(" ")[0]
            if path and path != "*":
                paths.append((name, path))
    paths += [("$expand", path) for path in _expand_paths(options.get("$expand", ""), v4)]
    for option, path in paths:
        reason = _resolve_path(model, target, path, navigation=option == "$expand")
        if reason is not None:
            problems.append(Problem(f"/query/{option}", reason))
    return problems
