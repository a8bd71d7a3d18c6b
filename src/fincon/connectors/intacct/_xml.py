"""XML in and out: a hardened parser for what Intacct sends, lxml builders for what we send.

Responses are parsed with entity resolution, network access and DTD loading off, and
libxml2's size limits on (``huge_tree=False``). Intacct never sends a document type
declaration, so any ``<!DOCTYPE`` is refused: before parsing when it is in the first
64 KiB (external entities and entity-expansion bombs fail in microseconds), and after
parsing wherever it was. Without a document type only the five predefined entities and
character references exist, which libxml2 always substitutes; any other reference
(``&x;``) is a well-formedness error. So a tree that passed both checks has no entity
nodes, and no walk over the tree is needed to prove it.

lxml parsers must not be shared between threads, and listings may be fetched in a
background thread: each thread gets its own parser (:func:`thread_parser`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from fincon.errors import ServerError

__all__ = [
    "element",
    "parse_xml",
    "release_root",
    "response_root",
    "serialize",
    "sub",
    "text_of",
    "thread_parser",
]

SYSTEM = "intacct"
#: Where a parsed response tree is kept on the response, so auth and errors parse once.
_TREE_KEY = "fincon.intacct.tree"
#: Refused before parsing: nothing Intacct sends declares a document type.
_DOCTYPE = b"<!DOCTYPE"
#: A bound on what is even looked at (a page of 2,000 records is a few MB).
MAX_BODY_BYTES = 256 * 1024 * 1024


def _parser() -> Any:
    """A new hardened parser (no entities, no network, no DTD, libxml2's size limits)."""
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


_LOCAL = threading.local()


def thread_parser() -> Any:
    """The calling thread's hardened parser (made on first use; never shared between threads)."""
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = _parser()
    return parser


def parse_xml(body: bytes, *, status: int | None = None, what: str = "response") -> Any:
    """The root element of ``body``, or a :class:`ServerError` saying why it was refused."""
    from lxml import etree

    if len(body) > MAX_BODY_BYTES:
        raise _malformed(f"the {what} is larger than {MAX_BODY_BYTES} bytes", status)
    head = body[:4096].lstrip()
    if _DOCTYPE in body[:65536].upper() or head.startswith(b"<!"):
        raise _malformed(f"the {what} declares a document type (entities are refused)", status)
    try:
        root = etree.fromstring(body, thread_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise _malformed(f"the {what} is not well-formed XML ({str(exc)[:120]})", status) from None
    if root is None:
        raise _malformed(f"the {what} is empty", status)
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        # A declaration past the first 64 KiB: the only way entity nodes could be in the tree.
        raise _malformed(f"the {what} declares a document type (entities are refused)", status)
    return root


def _malformed(message: str, status: int | None) -> ServerError:
    return ServerError(
        f"Intacct sent a body that cannot be accepted: {message}",
        system=SYSTEM,
        status=status,
        code="malformed_response",
        retryable=False,
    )


def response_root(response: httpx.Response) -> Any:
    """The parsed root of an Intacct response (parsed once, then cached on the response)."""
    cached = response.extensions.get(_TREE_KEY)
    if cached is not None:
        return cached
    root = parse_xml(response.content, status=response.status_code)
    response.extensions[_TREE_KEY] = root
    return root


def release_root(response: httpx.Response) -> Any:
    """The parsed root of ``response``, no longer cached on it.

    A response can outlive its use in a reference cycle (kept until the cyclic garbage
    collector runs): without the cached tree there, a page's tree is freed as soon as its
    records are, and never makes those collections traverse and free it.
    """
    root = response_root(response)
    response.extensions.pop(_TREE_KEY, None)
    return root


def text_of(node: Any, path: str, default: str | None = None) -> str | None:
    """The text of the first element at ``path`` under ``node`` (``default`` when absent)."""
    if node is None:
        return default
    found = node.find(path)
    if found is None:
        return default
    return found.text if found.text is not None else ""


def element(tag: str, text: Any = None, attrib: Mapping[str, str] | None = None) -> Any:
    """A new lxml element with optional text (str() of it) and attributes."""
    from lxml import etree

    node = etree.Element(tag, attrib=dict(attrib or {}))
    if text is not None:
        node.text = str(text)
    return node


def sub(parent: Any, tag: str, text: Any = None, attrib: Mapping[str, str] | None = None) -> Any:
    """A child element appended to ``parent``."""
    from lxml import etree

    node = etree.SubElement(parent, tag, attrib=dict(attrib or {}))
    if text is not None:
        node.text = str(text)
    return node


def children(parent: Any, nodes: Iterable[Any]) -> Any:
    """``parent`` with ``nodes`` appended (for building in one expression)."""
    for node in nodes:
        parent.append(node)
    return parent


def serialize(root: Any) -> bytes:
    """UTF-8 bytes with an XML declaration, as the gateway expects."""
    from lxml import etree

    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
