"""Dynamics 365 OData error bodies -> fincon errors."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from fincon.core.responses import error_for_status
from fincon.errors import FinconError

__all__ = ["parse_odata_error"]

SYSTEM = "dynamics"


def parse_odata_error(response: httpx.Response) -> FinconError | None:
    """The fincon error for a 4xx/5xx with an OData ``{"error": {"code", "message"}}`` body.

    BC adds ``CorrelationId: ...`` to messages; it is kept. 2xx answers are never errors here.
    """
    status = response.status_code
    if status < 400:
        return None
    body: Any = None
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except (ValueError, RecursionError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return error_for_status(response, system=SYSTEM)
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    text = f"{code}: {message}" if code and message else (message or code)
    return error_for_status(response, system=SYSTEM, message=text, code=code, details=error)
