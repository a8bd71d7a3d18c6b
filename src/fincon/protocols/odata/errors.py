"""OData error bodies into fincon errors, for both versions, JSON and XML.

- V2 JSON: ``{"error": {"code", "message": {"lang", "value"}, "innererror": {"errordetails": [...]}}}``
  (SAP Gateway puts the specific messages in ``errordetails``);
- V2 XML (``application/xml``): ``<error><code/><message/><innererror>...</innererror></error>``;
- V4 JSON: ``{"error": {"code", "message", "target", "details": [...], "innererror"}}``.

:func:`parse_odata_error` picks the fincon error class from the status (like the core),
and fills ``code``, ``message`` and ``details``. ``details`` has one shape for both versions::

    {"code": ..., "message": ..., "target": ...,
     "details": [{"code", "message", "target", "severity"}, ...], "innererror": {...}}

A body that is neither (an HTML proxy page, garbage, nothing) still yields the status's error,
never an exception from the parser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from fincon.core.responses import error_for_status
from fincon.errors import FinconError
from fincon.protocols.odata._version import ODataVersion

__all__ = ["parse_error_body", "parse_odata_error"]

#: Error bodies larger than this are not parsed (the status still decides the error class).
MAX_ERROR_BODY = 1024 * 1024
#: How many detail messages are added to the error's message.
_DETAILS_IN_MESSAGE = 3


def parse_odata_error(
    response: httpx.Response,
    *,
    system: str | None,
    version: ODataVersion | None = None,
) -> FinconError | None:
    """The fincon error for a failed OData response, or None for a success status.

    :param version: unused for the shape (both are recognised), kept so that callers state
        what they expect.
    """
    if response.status_code < 400:
        return None
    parsed = parse_error_body(response.content, response.headers.get("content-type", ""))
    if parsed is None:
        return error_for_status(response, system=system)
    message = parsed.get("message") or f"HTTP {response.status_code} {response.reason_phrase or ''}".strip()
    extra = [
        item["message"]
        for item in parsed["details"]
        if item.get("message") and item.get("message") != parsed.get("message")
    ]
    if extra:
        message = f"{message} ({'; '.join(extra[:_DETAILS_IN_MESSAGE])})"
    return error_for_status(
        response,
        system=system,
        message=message,
        code=parsed.get("code") or None,
        details=parsed,
    )


def parse_error_body(content: bytes, content_type: str = "") -> dict[str, Any] | None:
    """Parse an OData error body (JSON or XML) into the common ``details`` shape, or None."""
    if not content or len(content) > MAX_ERROR_BODY:
        return None
    stripped = content.lstrip()
    if stripped.startswith(b"<") or "xml" in content_type.lower():
        return _from_xml(content)
    try:
        body = json.loads(content, parse_float=Decimal)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if not isinstance(error, Mapping):
        # Some gateways answer with odata.error (V3 JSON light).
        error = body.get("odata.error")
    if not isinstance(error, Mapping):
        return None
    return _normalise(error)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping):  # V2 {"lang": "en", "value": "..."}
        return _text(value.get("value"))
    if isinstance(value, (str, int, Decimal)) and not isinstance(value, bool):
        return str(value)
    return None


def _detail(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, Mapping):
        return None
    return {
        "code": _text(item.get("code")),
        "message": _text(item.get("message")),
        "target": _text(item.get("target") or item.get("propertyref")),
        "severity": _text(item.get("severity")),
    }


def _normalise(error: Mapping[str, Any]) -> dict[str, Any]:
    inner = error.get("innererror")
    raw_details: Any = error.get("details")
    if not isinstance(raw_details, list) and isinstance(inner, Mapping):
        raw_details = inner.get("errordetails")
    if isinstance(raw_details, Mapping):  # XML-derived single errordetail
        raw_details = [raw_details]
    details = [d for d in (_detail(item) for item in raw_details or []) if d is not None]
    return {
        "code": _text(error.get("code")),
        "message": _text(error.get("message")),
        "target": _text(error.get("target")),
        "details": details,
        "innererror": dict(inner) if isinstance(inner, Mapping) else None,
    }


def _from_xml(content: bytes) -> dict[str, Any] | None:
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(content, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None or _local(root) != "error":
        return None
    as_dict = _element_to_dict(root, depth=0)
    if not isinstance(as_dict, Mapping):
        return None
    inner = as_dict.get("innererror")
    if isinstance(inner, Mapping):
        holder = inner.get("errordetails")
        if isinstance(holder, Mapping):
            found = holder.get("errordetail")
            inner = {**inner, "errordetails": found if isinstance(found, list) else [found]}
            as_dict = {**as_dict, "innererror": inner}
    return _normalise(as_dict)


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _element_to_dict(element: Any, depth: int) -> Any:
    """Elements -> dicts (repeated children -> lists), leaves -> text. Depth-capped."""
    children = [child for child in element if isinstance(child.tag, str)]
    if not children or depth > 8:
        return (element.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        name = _local(child)
        value = _element_to_dict(child, depth + 1)
        if name in out:
            existing = out[name]
            out[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            out[name] = value
    return out
