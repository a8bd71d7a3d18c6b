"""``Record``: the base of every canonical record, and ``Source``, where a record came from."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic_core import to_jsonable_python

__all__ = ["Record", "Source"]


class Source(BaseModel):
    """The system, resource and id a record was read from."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    system: str
    """Registered system name, e.g. ``"netsuite"``."""
    resource: str
    """The system's own resource name, e.g. ``"vendorBill"``."""
    id: str | None = None
    """The system's own id of the record."""


class Record(BaseModel):
    """Base of every canonical record.

    Unknown keyword fields are an error, so that a typo is caught; vendor fields with no
    canonical home stay in ``raw``. ``raw`` is left out of ``model_dump()`` and
    ``model_dump_json()`` unless ``context={"include_raw": True}`` is passed (or
    ``dump(include_raw=True)`` is used): it can be large and may hold data the caller did not ask for.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    resource: ClassVar[str]
    """The canonical resource name of the record class (``"bill"``)."""

    id: str | None = None
    """The system's id of the record."""
    external_id: str | None = None
    """An id the caller or another system gave the record (migration key, integration id)."""
    source: Source | None = None
    """Where the record was read from."""
    updated_at: AwareDatetime | None = None
    """When the system last changed the record; always timezone-aware."""
    raw: Any = Field(default=None, exclude=True)
    """The vendor payload as received (a dict, or XML for XML systems)."""

    @model_serializer(mode="wrap")
    def _with_raw_on_request(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        context = info.context
        if isinstance(data, dict) and isinstance(context, dict) and context.get("include_raw"):
            data["raw"] = to_jsonable_python(self.raw, fallback=str) if info.mode_is_json() else self.raw
        return data

    def dump(self, include_raw: bool = False, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The record as a dict (``mode="json"``: JSON-ready, amounts as strings), ``raw`` only on request."""
        result: dict[str, Any] = self.model_dump(mode=mode, context={"include_raw": include_raw})
        return result
