"""OData errors raised inside the engine, and the standard error bodies of both versions."""

from __future__ import annotations

from typing import Any

__all__ = ["ODataError", "standard_error_body"]


class ODataError(Exception):
    """Raise inside a handler to answer with an OData error (the service renders the body)."""

    def __init__(self, status: int, code: str, message: str, *, target: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target


def standard_error_body(error: ODataError, *, v4: bool, language: str = "en") -> dict[str, Any]:
    """The standard error body: ``{"error": {"code", "message": {"lang", "value"}}}`` in V2,
    ``{"error": {"code", "message", "details"}}`` in V4."""
    if v4:
        body: dict[str, Any] = {"code": error.code, "message": error.message, "details": []}
        if error.target:
            body["target"] = error.target
        return {"error": body}
    return {"error": {"code": error.code, "message": {"lang": language, "value": error.message}}}
