"""Intacct responses -> fincon errors: ``control``, ``authentication`` and every ``result`` checked.

An HTTP 200 can carry a failure at three levels, each with an ``errormessage`` holding one
or more ``error`` (``errorno``, ``description``, ``description2``, ``correction``):

- ``control/status`` failure: nothing ran (bad sender credentials, XML refused, or the
  gateway throttling with ``GW-0010``);
- ``operation/authentication/status`` failure: no function ran (bad login, expired session);
- ``result/status`` failure: that function failed (the others may have succeeded).
"""

from __future__ import annotations

from typing import Any

import httpx

from fincon.connectors.intacct._xml import response_root, text_of
from fincon.core.responses import RETRYABLE_STATUSES, error_for_status, request_id_of
from fincon.errors import (
    AuthError,
    FinconError,
    NotFound,
    PermissionDenied,
    RateLimited,
    RemoteValidationError,
    ServerError,
)

__all__ = ["THROTTLE_CODES", "errors_of", "intacct_error", "is_session_failure"]

SYSTEM = "intacct"
#: Gateway throttling: refused before processing, so any request may be sent again.
THROTTLE_CODES = frozenset({"GW-0010"})
_OFFLINE_HINTS = ("temporarily off-line", "temporarily offline", "service unavailable")
_PERMISSION_HINTS = ("do not have permission", "not authorized", "insufficient privilege")
_NOT_FOUND_HINTS = ("could not find", "not found", "does not exist", "no record")


def errors_of(holder: Any) -> list[dict[str, str]]:
    """Every ``errormessage/error`` under ``holder`` as dicts (all four fields, '' when absent)."""
    if holder is None:
        return []
    found = []
    for error in holder.iterfind("errormessage/error"):
        found.append(
            {
                "errorno": text_of(error, "errorno", "") or "",
                "description": text_of(error, "description", "") or "",
                "description2": text_of(error, "description2", "") or "",
                "correction": text_of(error, "correction", "") or "",
            }
        )
    return found


def _message(level: str, errors: list[dict[str, str]], function: str | None = None) -> str:
    where = f"{function} failed" if function else f"the request failed at the {level} level"
    parts = []
    for error in errors:
        words = " ".join(
            text
            for text in (error["description"], error["description2"], error["correction"])
            if text and text.strip()
        )
        parts.append(f"{error['errorno'] or '?'}: {words}" if words else error["errorno"] or "?")
    return f"Intacct: {where}: {'; '.join(parts) or 'no error message given'}"


def _class_for(level: str, errors: list[dict[str, str]]) -> tuple[type[FinconError], bool]:
    codes = {error["errorno"] for error in errors}
    text = " ".join(f"{e['description']} {e['description2']}" for e in errors).lower()
    if codes & THROTTLE_CODES or "rate limit" in text:
        return RateLimited, True
    if any(hint in text for hint in _OFFLINE_HINTS):
        return ServerError, True
    if level == "authentication" or (level == "control" and any(c.startswith("XL03") for c in codes)):
        if any(hint in text for hint in _PERMISSION_HINTS):
            return PermissionDenied, False
        return AuthError, False
    if any(hint in text for hint in _PERMISSION_HINTS):
        return PermissionDenied, False
    if any(hint in text for hint in _NOT_FOUND_HINTS):
        return NotFound, False
    if level == "control":
        return ServerError, False
    return RemoteValidationError, False


def _build(
    level: str,
    errors: list[dict[str, str]],
    response: httpx.Response,
    *,
    function: str | None = None,
    control_id: str | None = None,
) -> FinconError:
    cls, retryable = _class_for(level, errors)
    details: dict[str, Any] = {"level": level, "errors": errors}
    if function:
        details["function"] = function
    if control_id:
        details["controlid"] = control_id
    return cls(
        _message(level, errors, function),
        system=SYSTEM,
        status=response.status_code,
        code=errors[0]["errorno"] if errors and errors[0]["errorno"] else None,
        request_id=request_id_of(response),
        retryable=retryable,
        details=details,
    )


def is_session_failure(response: httpx.Response) -> bool:
    """Whether the gateway refused a session-authenticated request at the authentication level."""
    if response.status_code != 200:
        return False
    try:
        root = response_root(response)
    except FinconError:
        return False
    if text_of(root, "control/status") != "success":
        return False
    auth = root.find("operation/authentication")
    if auth is None or text_of(auth, "status") != "failure":
        return False
    sent = response.request.content if response.request is not None else b""
    return b"<sessionid>" in sent


def intacct_error(response: httpx.Response) -> FinconError | None:
    """The fincon error in an Intacct response, or None when every level succeeded."""
    status = response.status_code
    content_type = response.headers.get("content-type", "")
    if status >= 400 and "xml" not in content_type:
        error = error_for_status(response, system=SYSTEM)
        error.retryable = status in RETRYABLE_STATUSES
        return error
    root = response_root(response)
    if root.tag != "response":
        raise ServerError(
            f"Intacct sent <{root.tag}>, not <response>",
            system=SYSTEM,
            status=status,
            code="malformed_response",
            retryable=False,
        )
    if text_of(root, "control/status") != "success":
        error = _build("control", errors_of(root), response)
        if status >= 400:
            error.retryable = error.retryable or status in RETRYABLE_STATUSES
        return error
    if status >= 400:
        error = error_for_status(response, system=SYSTEM)
        error.retryable = status in RETRYABLE_STATUSES
        return error
    operation = root.find("operation")
    if operation is None:
        return None  # a control-only answer (none of ours), nothing more to check
    auth = operation.find("authentication")
    if auth is not None and text_of(auth, "status") != "success":
        return _build("authentication", errors_of(operation), response)
    for result in operation.iterfind("result"):
        if text_of(result, "status") != "success":
            return _build(
                "result",
                errors_of(result),
                response,
                function=text_of(result, "function"),
                control_id=text_of(result, "controlid"),
            )
    return None
