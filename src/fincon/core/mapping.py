"""The mapper contract: one place per connector and resource that converts payloads and records."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from fincon.errors import ServerError

__all__ = ["Mapper", "iter_payloads", "map_payloads", "record_validator", "validate_record"]

R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


@runtime_checkable
class Mapper(Protocol[R]):
    """Converts between a vendor payload and a canonical record, and round-trips.

    ``to_payload(to_record(p))`` keeps every field the system supports, and
    ``to_record(to_payload(r)) == r`` for every canonical field the system has.
    """

    def to_record(self, payload: Any) -> R:
        """The canonical record for one vendor payload (``raw`` keeps the payload)."""

    def to_payload(self, record: R) -> Any:
        """The vendor payload that creates ``record``."""

    def changes_payload(self, changes: Mapping[str, Any]) -> Any:
        """The vendor payload applying ``changes`` (canonical field -> value) in an update."""


def map_payloads(mapper: Mapper[R], payloads: Any, *, system: str, resource: str) -> list[R]:
    """Map a page of payloads; a payload that cannot be mapped is bad server output, said clearly."""
    return list(iter_payloads(mapper, payloads, system=system, resource=resource))


def iter_payloads(
    mapper: Mapper[R], payloads: Any, *, system: str, resource: str, drain: bool = False
) -> Iterator[R]:
    """:func:`map_payloads` one record at a time: each payload is mapped when it is reached.

    With ``drain=True`` and a list, each payload is taken out of the list before it is mapped
    (the list ends empty), so the page no longer holds a payload whose record the caller has
    dropped: a listing passes its own fetched page this way.
    """
    source = _drained(payloads) if drain and type(payloads) is list else payloads
    for index, payload in enumerate(source):
        try:
            record = mapper.to_record(payload)
        except Exception as exc:  # a mapping bug or hostile payload: name the record, never crash later
            ident = payload.get("id") if isinstance(payload, Mapping) else None
            raise ServerError(
                f"could not map {resource} {ident or f'#{index}'} from {system}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}",
                system=system,
                code="unmappable_record",
                retryable=False,
            ) from exc
        yield record


def _drained(items: list[Any]) -> Iterator[Any]:
    items.reverse()  # then each pop() from the end hands out the next item in order
    pop = items.pop
    while items:
        yield pop()


def validate_record(model: type[M], data: Any) -> M:
    """``model.model_validate(data)``: the same validator and checks, called directly.

    pydantic's ``model_validate`` forwards seven keyword defaults to the validator, about
    1 us on every record a listing maps. A model with its own ``model_validate`` is still
    validated through it.
    """
    if _inherits_model_validate(model):
        return model.__pydantic_validator__.validate_python(data)  # type: ignore[no-any-return]
    return model.model_validate(data)


def record_validator(model: type[M]) -> Callable[[Any], M]:
    """:func:`validate_record` for one model, as a function that looks the validator up once.

    A mapper keeps one per model: a listing validates every record through it, so the
    lookups ``validate_record`` makes on each call (about 1 us a record) are made on the
    first record only, once pydantic has built the model's validator (models defer that).
    """
    resolved: Callable[[Any], M] | None = None

    def validate(data: Any) -> M:
        nonlocal resolved
        if resolved is not None:
            return resolved(data)
        record = validate_record(model, data)  # builds a deferred validator first
        if _inherits_model_validate(model):
            resolved = model.__pydantic_validator__.validate_python
        else:
            resolved = model.model_validate
        return record

    return validate


@cache
def _inherits_model_validate(model: type[BaseModel]) -> bool:
    inherited = getattr(BaseModel.model_validate, "__func__", None)
    return getattr(model.model_validate, "__func__", None) is inherited
