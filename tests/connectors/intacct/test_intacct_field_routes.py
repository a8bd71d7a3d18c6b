"""Reading a table's fields straight from an element gives what ``flatten`` gives for them."""

from __future__ import annotations

import random

import pytest
from lxml import etree

from fincon.connectors.intacct._field_routes import collect, routes_for
from fincon.connectors.intacct._values import flatten
from fincon.connectors.intacct._xml import parse_xml

TABLE = {
    "NAME": "name",
    "A.B": "ab",
    "A.C.D": "acd",
    "A.C.E": "ace",
    "X.Y": "xy",
}


def _expected(node: etree._Element) -> dict[str, str | None]:
    """What a mapper reading ``flatten``'s output through TABLE sees (empty text is None)."""
    fields = flatten(node)
    return {slot: fields[name] or None for name, slot in TABLE.items() if name in fields}


@pytest.mark.parametrize(
    "xml",
    [
        b"<r><NAME>n</NAME><A><B>b</B><C><D>d</D><E/></C></A></r>",
        b"<r><A.B>flat</A.B><A.C.D>flat d</A.C.D><A><C.E>mixed</C.E></A></r>",  # the query shape
        b"<r><A.C><D>dotted container</D></A.C></r>",
        b"<r><NAME>first</NAME><NAME>last wins</NAME><NAME/></r>",  # the last, even when empty
        b"<r><NAME>text<!-- c --></NAME><A><!-- c --><B>b</B><?pi x?></A></r>",  # a comment child
        b"<r><NAME><X>a container, not a value</X></NAME><X><Y><Z>deeper</Z></Y></X></r>",
        b"<r><UNKNOWN><A><B>not under A at the top</B></A></UNKNOWN><A.>odd name</A.></r>",
        b"<r><NAME>  spaced &amp; <![CDATA[<cdata>]]> </NAME><A><B></B></A></r>",
        b"<r/>",
    ],
)
def test_collect_reads_what_flatten_gives(xml: bytes) -> None:
    node = parse_xml(xml)
    assert collect(node, routes_for(TABLE), {}) == _expected(node)


def test_collect_matches_flatten_on_random_trees() -> None:
    tags = ["NAME", "A", "B", "C", "D", "E", "X", "Y", "A.B", "A.C", "C.D", "A.C.E", "Z"]
    rng = random.Random(7)

    def grow(parent: etree._Element, depth: int) -> None:
        for _ in range(rng.randint(0, 4)):
            roll = rng.random()
            if roll < 0.1:
                parent.append(etree.Comment("c"))
                continue
            child = etree.SubElement(parent, rng.choice(tags))
            if depth < 3 and roll < 0.5:
                grow(child, depth + 1)
            else:
                child.text = rng.choice(["", "v", "w x"])

    routes = routes_for(TABLE)
    checked = 0
    for _ in range(400):
        root = etree.Element("r")
        grow(root, 0)
        expected = _expected(root)
        assert collect(root, routes, {}) == expected, etree.tostring(root)
        checked += bool(expected)
    assert checked > 50  # many trees hold some of the fields: the comparison is not vacuous
