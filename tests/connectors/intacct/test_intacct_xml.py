"""The hardened XML parser: what it refuses, what it keeps exact, and one parser per thread."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from fincon.connectors.intacct._xml import parse_xml, thread_parser
from fincon.errors import ServerError

#: More prolog than the pre-parse check looks at, so only the post-parse check can see the DTD.
_LONG_PROLOG = b'<?xml version="1.0"?>' + b"<!-- " + b"x" * 70_000 + b" -->"


@pytest.mark.parametrize(
    "declaration",
    [
        b'<!DOCTYPE r [<!ENTITY x "expanded">]><r>&x;</r>',
        b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/fincon-canary"><r>plain</r>',
        b"<!DOCTYPE r><r>plain</r>",
    ],
)
def test_a_document_type_beyond_the_pre_check_is_refused_after_parsing(declaration: bytes) -> None:
    with pytest.raises(ServerError, match="document type") as caught:
        parse_xml(_LONG_PROLOG + declaration)
    assert caught.value.code == "malformed_response"


def test_an_entity_reference_without_a_document_type_is_malformed() -> None:
    with pytest.raises(ServerError, match="not well-formed") as caught:
        parse_xml(b"<response><x>&secret;</x></response>")
    assert caught.value.code == "malformed_response"
    with pytest.raises(ServerError, match="not well-formed"):
        parse_xml(b"<response><x a='&secret;'/></response>")


def test_predefined_entities_and_character_references_are_text() -> None:
    root = parse_xml(b"<r><a>Smith &amp; Sons &lt;UK&gt;</a><b>&#8364;1&#x2C;5</b></r>")
    assert root.findtext("a") == "Smith & Sons <UK>"
    assert root.findtext("b") == "\u20ac1,5"


def test_each_thread_has_its_own_parser() -> None:
    mine = thread_parser()
    assert thread_parser() is mine  # reused within a thread
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(thread_parser()))
    worker.start()
    worker.join()
    assert seen
    assert seen[0] is not mine


def test_parsing_from_many_threads_at_once_gives_each_its_own_document() -> None:
    def parse(number: int) -> list[str]:
        body = (
            "<response><data>"
            + "".join(f"<v><ID>{number}-{i}</ID></v>" for i in range(300))
            + "</data></response>"
        ).encode()
        return [node.text for node in parse_xml(body).iter("ID")]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(parse, range(64)))
    for number, ids in enumerate(results):
        assert ids == [f"{number}-{i}" for i in range(300)]
