"""Scrubbing request and response bodies: content codings, JSON, XML, form and multipart bodies.

Internal to :mod:`fincon.testing.cassettes`. Text-level rules run first because they keep the
body's formatting; the structural passes (a JSON walk, an lxml walk with a hardened parser) then
catch what the text rules cannot see, and re-serialise the body only if they changed something.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from typing import Any

from fincon.testing._cassette_rules import MASK, PASSPORT, PASSPORT_CHILDREN, CassetteLeak, normalise
from fincon.testing._cassette_text import TextRules

__all__ = ["decode_content", "scrub_body"]

_GZIP = zlib.MAX_WBITS | 16
_DECODABLE = frozenset({"gzip", "x-gzip", "deflate", "identity"})


def decode_content(data: bytes, codings: list[str]) -> bytes | None:
    """``data`` with its ``Content-Encoding`` codings (applied in order) undone.

    Returns ``None`` when the data is not actually encoded as declared (left as it is); raises
    :class:`CassetteLeak` for codings that cannot be decoded here (``br``, ``zstd``, ...) and for
    truncated streams, because a body that cannot be read cannot be checked for secrets.
    """
    unknown = [coding for coding in codings if coding not in _DECODABLE]
    if unknown:
        raise CassetteLeak(
            f"a body is encoded with Content-Encoding {', '.join(unknown)!s}, which cassette scrubbing "
            "cannot decode, so it cannot be checked for secrets; nothing was recorded. Make the client "
            "send 'Accept-Encoding: gzip, deflate' while recording."
        )
    for coding in reversed(codings):
        if coding == "identity":
            continue
        try:
            if coding == "deflate":
                try:
                    data = _inflate(data, zlib.MAX_WBITS)
                except zlib.error:
                    data = _inflate(data, -zlib.MAX_WBITS)  # raw deflate, as some servers send
            else:
                data = _inflate(data, _GZIP)
        except zlib.error:
            return None
    return data


def _inflate(data: bytes, wbits: int) -> bytes:
    chunks = []
    while data:
        stream = zlib.decompressobj(wbits)
        chunks.append(stream.decompress(data))
        chunks.append(stream.flush())
        if not stream.eof:
            raise CassetteLeak(
                "a compressed body is truncated, so it cannot be fully checked for secrets; "
                "nothing was recorded"
            )
        data = stream.unused_data  # gzip allows several members one after another
    return b"".join(chunks)


def scrub_body(
    data: bytes,
    content_type: str,
    text_rules: TextRules,
    finish_text: Callable[[str], str],
    finish_bytes: Callable[[bytes], bytes],
) -> bytes:
    """Scrub a decoded body. ``finish_*`` mask registered secrets, extra secrets and account ids."""
    if not data:
        return data
    media_type = content_type.lower()
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    is_xml = head == b"<" or "xml" in media_type
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if is_xml:
            data = _scrub_xml(data, text_rules)[0] or data
        return finish_bytes(data)
    text = finish_text(text)  # known secrets first: the rules below could cut through one
    if head in (b"{", b"["):
        text = _scrub_json_body(text, text_rules)
    elif is_xml:
        text = _scrub_xml_body(text, text_rules)
    else:
        text = text_rules.scrub(text)
        if boundary := _boundary(content_type):
            text = _scrub_multipart(text, boundary, text_rules)
        elif "x-www-form-urlencoded" in media_type or _looks_like_form(text):
            text = text_rules.scrub_pairs(text)
    return finish_text(text).encode("utf-8")


def _scrub_json_body(text: str, text_rules: TextRules) -> str:
    names: set[str] = set()

    def collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names.update(name for name, _ in pairs)
        return dict(pairs)

    try:
        json.loads(text, object_pairs_hook=collect)
    except ValueError:
        return text_rules.scrub(text)  # truncated or invalid: the text rules stand alone
    if not any(text_rules.names.is_json_field(name) for name in names):
        return text_rules.scrub(text, members=False)  # no sensitive member anywhere
    # Mask in place (keeping the formatting), then re-serialise only if the tree still needs it.
    return _scrub_json(text_rules.scrub(text), text_rules)


def _scrub_xml_body(text: str, text_rules: TextRules) -> str:
    text = text_rules.scrub(text, elements=False)
    scrubbed, encoding, parsed = _scrub_xml(text.encode("utf-8"), text_rules)
    if not parsed:
        return text_rules.scrub_elements(text)  # not well-formed: regular expressions instead
    return text if scrubbed is None else scrubbed.decode(encoding, errors="replace")


_FORM_START = re.compile(r"[\w.\-%+\[\]$]+=")
_BLANK = re.compile(r"\s")


def _looks_like_form(text: str) -> bool:
    """``a=1&b=2`` without a content type: starts with a name and "=", and has no blanks."""
    return _FORM_START.match(text) is not None and _BLANK.search(text) is None


def _scrub_json(text: str, text_rules: TextRules) -> str:
    try:
        document = json.loads(text)
    except ValueError:
        return text  # truncated or invalid: the text rules have done what can be done
    changed: list[bool] = []
    scrubbed = _walk_json(document, text_rules, changed)
    if not changed:
        return text
    return json.dumps(scrubbed, ensure_ascii=False)


def _walk_json(node: Any, text_rules: TextRules, changed: list[bool]) -> Any:
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if text_rules.names.is_json_field(str(key)):
                result[key] = _mask_values(value, changed)
            else:
                result[key] = _walk_json(value, text_rules, changed)
        return result
    if isinstance(node, list):
        return [_walk_json(item, text_rules, changed) for item in node]
    return node


def _mask_values(node: Any, changed: list[bool]) -> Any:
    """Under a sensitive name, every string and number is masked (``{"token": {"value": ...}}``)."""
    if isinstance(node, dict):
        return {key: _mask_values(value, changed) for key, value in node.items()}
    if isinstance(node, list):
        return [_mask_values(item, changed) for item in node]
    if isinstance(node, (str, int, float)) and not isinstance(node, bool) and node != MASK:
        changed.append(True)
        return MASK
    return node


def _scrub_xml(data: bytes, text_rules: TextRules) -> tuple[bytes | None, str, bool]:
    """Mask sensitive elements and attributes with lxml.

    Returns the scrubbed document in its own encoding (``None`` if nothing changed), that
    encoding, and whether the body was well-formed XML at all.
    """
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None, "utf-8", False
    if root is None:
        return None, "utf-8", False
    names = text_rules.names
    targets = []
    changed = False
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments, processing instructions, entity references
        local = normalise(etree.QName(element).localname)
        if names.is_xml_element(local) or (local in PASSPORT_CHILDREN and _inside_passport(element)):
            targets.append(element)
        for attribute, value in element.attrib.items():
            if value and value != MASK and names.is_xml_element(etree.QName(attribute).localname):
                element.set(attribute, MASK)
                changed = True
    for element in targets:
        if element.text == MASK and len(element) == 0:
            continue
        if element.text is None and len(element) == 0:
            continue  # empty: nothing to hide
        for child in list(element):
            element.remove(child)
        element.text = MASK
        changed = True
    tree = root.getroottree()
    encoding = tree.docinfo.encoding or "UTF-8"
    if not changed:
        return None, encoding, True
    declared = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml")
    result: bytes = etree.tostring(tree, encoding=encoding, xml_declaration=declared)
    return result, encoding, True


def _inside_passport(element: Any) -> bool:
    from lxml import etree

    for ancestor in element.iterancestors():
        if isinstance(ancestor.tag, str) and normalise(etree.QName(ancestor).localname) == PASSPORT:
            return True
    return False


_BOUNDARY = re.compile(r"boundary=\"?([^\";]+)\"?")
_PART_NAME = re.compile(r";\s*name=\"([^\"]*)\"")


def _boundary(content_type: str) -> str | None:
    if not content_type.lower().startswith("multipart/"):
        return None
    match = _BOUNDARY.search(content_type)
    return match.group(1) if match else None


def _scrub_multipart(text: str, boundary: str, text_rules: TextRules) -> str:
    delimiter = f"--{boundary}"
    preamble, *parts = text.split(delimiter)
    scrubbed = []
    for part in parts:
        headers, separator, content = part.partition("\r\n\r\n")
        name = _PART_NAME.search(headers)
        if separator and name and text_rules.names.is_field(name.group(1)):
            ending = "\r\n" if content.endswith("\r\n") else ""
            part = f"{headers}{separator}{MASK}{ending}"
        scrubbed.append(part)
    return delimiter.join([preamble, *scrubbed])
