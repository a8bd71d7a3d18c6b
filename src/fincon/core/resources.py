"""Resources: what connector authors implement (handlers) and what users call (collections).

A :class:`ResourceHandler` implements one canonical resource for one system as flows.
:class:`ResourceCollection` and :class:`AsyncResourceCollection` are the user-facing
``erp.vendors``: they check input before anything is sent and drive the handler's flows
through the connector. Both share :class:`ListPlan`, so paging logic exists once.
"""

from __future__ import annotations

import os
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from fincon.core.flow import Flow
from fincon.core.pagination import Page, PageWalker, State, query_fingerprint
from fincon.errors import Unsupported, ValidationError

if TYPE_CHECKING:
    from fincon.core.prefetch import TaskPrefetch, ThreadPrefetch
    from fincon.models import Record

__all__ = [
    "PREFETCH_AFTER_WAIT",
    "AsyncListing",
    "AsyncResourceCollection",
    "FetchedPage",
    "ListPlan",
    "ListQuery",
    "Listing",
    "PrefetchMode",
    "ResourceCollection",
    "ResourceHandler",
    "prefetch_with_a_spare_cpu",
]

R = TypeVar("R", bound="Record")
T = TypeVar("T")

OPERATIONS = ("list", "get", "create", "update", "delete")

#: When a listing prefetches: always (True), never (False), or once two pages in a row have
#: each kept it waiting for the server at least :data:`PREFETCH_AFTER_WAIT` seconds (``"auto"``).
PrefetchMode = bool | Literal["auto"]

#: ``prefetch="auto"``: the wait for one page (wall time minus the fetching thread's CPU
#: time) from which fetching the next page in the background pays for its thread. A loopback
#: server answers within a few milliseconds; a real API takes tens to hundreds.
PREFETCH_AFTER_WAIT = 0.02


def prefetch_with_a_spare_cpu() -> PrefetchMode:
    """``True`` when this process may run on more than one CPU, else ``"auto"``.

    A default for a resource whose fetch does most of its work outside the GIL (an XML
    parse: libxml2 releases it). On a second CPU that work overlaps the mapping of the page
    before even when the server answers at once, which ``"auto"`` (it counts only waiting)
    would not see; on one CPU it could only compete with the mapping.
    """
    try:
        cpus = len(os.sched_getaffinity(0))  # the CPUs this process may use (Linux)
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return True if cpus > 1 else "auto"


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a listing asks for, already checked."""

    updated_since: datetime | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    page_size: int = 100


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A page as fetched, before mapping: what a prefetching listing hands between threads.

    ``items`` are the vendor payloads, or already canonical records when ``mapped`` (a
    handler that implements only :meth:`ResourceHandler.list_page`).
    """

    items: Sequence[Any]
    next_state: State | None
    mapped: bool = False


class ResourceHandler(Generic[R]):
    """One canonical resource of one system, written as flows.

    Override the operations the system supports; :attr:`operations` is derived from
    which methods are overridden, so ``capabilities`` always match what actually works.

    Listing takes :meth:`list_page`. A handler may also split a page into
    :meth:`fetch_page` (I/O and the next state) and :meth:`map_page` (payloads to records),
    so that a prefetching listing maps one page while the next is fetched.
    """

    #: Canonical resource name (``"vendor"``).
    name: str = ""
    #: Recorded in cursors: which paging mechanism :meth:`list_page` uses.
    mechanism: str = "abstract"
    default_page_size: int = 100
    max_page_size: int = 100
    #: Filters :meth:`list_page` understands (others are refused before anything is sent).
    filter_names: frozenset[str] = frozenset()
    #: Operations a subclass inherits but the system cannot do (left out of the capabilities).
    unsupported: frozenset[str] = frozenset()
    #: Whether listings fetch the next page while the current one is mapped and consumed:
    #: True, False or ``"auto"`` (see :data:`PrefetchMode`; ``list(prefetch=...)`` overrides it).
    prefetch: PrefetchMode = False

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[R], State | None]]:
        """Fetch the page at ``state`` (None: the first); return its records and the next state."""
        raise NotImplementedError

    def fetch_page(self, query: ListQuery, state: State | None) -> Flow[FetchedPage]:
        """Fetch the page at ``state`` without mapping it; by default :meth:`list_page`, mapped."""
        records, next_state = yield from self.list_page(query, state)
        return FetchedPage(records, next_state, mapped=True)

    def map_page(self, query: ListQuery, page: FetchedPage) -> list[R]:
        """The records of a fetched page (a handler that overrides :meth:`fetch_page` maps here)."""
        if not page.mapped:
            raise NotImplementedError(f"{type(self).__name__} fetches raw pages but does not map them")
        return list(page.items)

    def iter_page(self, query: ListQuery, page: FetchedPage) -> Iterator[R]:
        """The records of a fetched page one at a time, for a listing iterated record by record.

        By default :meth:`map_page`'s list. A handler that maps each payload on its own
        should map here as the listing reaches each one (see
        :func:`~fincon.core.mapping.iter_payloads`): records the caller has finished with are
        then freed young, instead of a page of them outliving several garbage collections.
        """
        return iter(self.map_page(query, page))

    def get(self, id: str) -> Flow[R]:
        """Fetch one record by the system's id."""
        raise NotImplementedError

    def create(self, record: R, idempotency_key: str | None) -> Flow[R]:
        """Create ``record``; return it as stored."""
        raise NotImplementedError

    def update(self, id: str, changes: Mapping[str, Any], idempotency_key: str | None) -> Flow[R]:
        """Apply ``changes`` (canonical field names, validated values); return the record as stored."""
        raise NotImplementedError

    def delete(self, id: str) -> Flow[None]:
        """Delete (or deactivate, where the system cannot delete) the record."""
        raise NotImplementedError

    @classmethod
    def supported_operations(cls) -> tuple[str, ...]:
        """The operations this handler class implements (those it overrides)."""
        method_of = {"list": "list_page"}
        return tuple(
            op
            for op in OPERATIONS
            if op not in cls.unsupported
            and getattr(cls, method_of.get(op, op)) is not getattr(ResourceHandler, method_of.get(op, op))
        )

    @property
    def operations(self) -> tuple[str, ...]:
        return self.supported_operations()


# -- input checks shared by sync and async ------------------------------------------------


def _model_for(resource: str) -> type[Record]:
    from fincon.models import RESOURCE_MODELS

    return RESOURCE_MODELS[resource]


@lru_cache(maxsize=512)
def _field_adapter(model: type[Record], name: str) -> Any:
    from pydantic import TypeAdapter

    # Typed as optional by newer pydantic; every declared field has an annotation.
    annotation: Any = model.model_fields[name].annotation
    return TypeAdapter(annotation)


def _pydantic_problem(exc: Exception) -> tuple[str, str]:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(part) for part in first.get("loc", ())) or "record"
        return loc, str(first.get("msg", "invalid"))
    return "record", str(exc)


def check_record(system: str, resource: str, record: Any) -> Record:
    """``record`` as the resource's model, or a :class:`ValidationError` naming the field and system."""
    model = _model_for(resource)
    if isinstance(record, model):
        return record
    if isinstance(record, Mapping):
        try:
            return model.model_validate(dict(record))
        except Exception as exc:  # pydantic's ValidationError, or ours raised by a validator
            where, why = _pydantic_problem(exc)
            raise ValidationError(
                f"{resource}.{where}: {why}", field=f"{resource}.{where}", system=system
            ) from None
    raise ValidationError(
        f"expected a {model.__name__} (or a mapping of its fields) for {resource}, "
        f"got {type(record).__name__}",
        field=resource,
        system=system,
    )


def check_changes(system: str, resource: str, changes: Any) -> dict[str, Any]:
    """Validate an update's changes field by field (partial updates can't use the whole model)."""
    model = _model_for(resource)
    if isinstance(changes, model):
        return {name: getattr(changes, name) for name in changes.model_fields_set}
    if not isinstance(changes, Mapping) or not changes:
        raise ValidationError(
            f"changes to a {resource} must be a non-empty mapping of {model.__name__} fields",
            field="changes",
            system=system,
        )
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in model.model_fields or name in ("id", "source", "raw"):
            raise ValidationError(
                f"{name!r} is not a field of {model.__name__} that can be changed",
                field=f"{resource}.{name}",
                system=system,
            )
        try:
            checked[name] = _field_adapter(model, name).validate_python(value)
        except Exception as exc:
            _, why = _pydantic_problem(exc)
            raise ValidationError(
                f"{resource}.{name}: {why}", field=f"{resource}.{name}", system=system
            ) from None
    return checked


def check_id(system: str, resource: str, id: Any) -> str:
    if isinstance(id, int) and not isinstance(id, bool):
        id = str(id)
    if not isinstance(id, str) or not id.strip():
        raise ValidationError(f"a {resource} id must be a non-empty string", field="id", system=system)
    return id


class ListPlan(Generic[R]):
    """The state of one listing, shared by the sync and async iterators."""

    def __init__(
        self,
        system: str,
        handler: ResourceHandler[R],
        *,
        updated_since: datetime | None,
        filters: Mapping[str, Any] | None,
        page_size: int | None,
        cursor: str | None,
        max_pages: int | None,
        prefetch: PrefetchMode | None = None,
    ) -> None:
        if updated_since is not None and (
            not isinstance(updated_since, datetime) or updated_since.tzinfo is None
        ):
            raise ValidationError(
                "updated_since must be a timezone-aware datetime (e.g. datetime(2026, 1, 1, tzinfo=UTC))",
                field="updated_since",
                system=system,
            )
        size = handler.default_page_size if page_size is None else page_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= handler.max_page_size:
            raise ValidationError(
                f"page_size must be an integer from 1 to {handler.max_page_size} for {handler.name}",
                field="page_size",
                system=system,
            )
        filters = dict(filters or {})
        unknown = sorted(set(filters) - handler.filter_names)
        if unknown:
            known = ", ".join(sorted(handler.filter_names)) or "none"
            raise ValidationError(
                f"unknown filter {unknown[0]!r} for {handler.name} (supported: {known})",
                field=f"filters.{unknown[0]}",
                system=system,
            )
        self.handler = handler
        self.query = ListQuery(updated_since=updated_since, filters=filters, page_size=size)
        # The page size may change on resume (a cursor marks a position, not a page shape).
        fingerprint = query_fingerprint(handler.name, {"updated_since": updated_since, "filters": filters})
        self.walker = PageWalker(
            mechanism=handler.mechanism,
            fingerprint=fingerprint,
            cursor=cursor,
            max_pages=max_pages,
            system=system,
        )
        if prefetch is not None and not isinstance(prefetch, bool) and prefetch != "auto":
            raise ValidationError(
                "prefetch must be True, False, 'auto' or None", field="prefetch", system=system
            )
        #: Whether the listing fetches the next page while the current one is mapped.
        self.prefetch: PrefetchMode = handler.prefetch if prefetch is None else prefetch
        self._last_wait = 0.0  # no page fetched yet
        self._started = False
        self._done = False

    # A listing's steps: fetch (in the background when prefetching), then accept (here, so
    # cursors, the cycle guard and max_pages see pages in order), then map.

    def next_fetch(self) -> Flow[FetchedPage] | None:
        """The flow fetching the next page unmapped, or None when the listing is over."""
        if self._done or self.walker.finished:
            return None
        return self.handler.fetch_page(self.query, self.walker.state)

    def accept_fetched(self, page: FetchedPage) -> str | None:
        """Record a fetched page; return the cursor resuming after it (None at the end)."""
        cursor = self.walker.advance(page.next_state)
        if cursor is None:
            self._done = True
        return cursor

    def map(self, page: FetchedPage) -> list[R]:
        return self.handler.map_page(self.query, page)

    def prefetches_after(self, waited: float | None) -> bool:
        """Whether to fetch the next page in the background, the last two fetches having
        waited at least ``waited`` seconds each for the server (None: the last page was
        itself fetched in the background, which goes on)."""
        if self.prefetch == "auto":
            return waited is None or waited >= PREFETCH_AFTER_WAIT
        return bool(self.prefetch)

    def fetches_next_in_background(self, waited: float | None) -> bool:
        """Whether the page after the one just fetched, which waited ``waited`` seconds for the
        server (None: fetched in the background), is fetched in the background."""
        # The shorter of the last two waits decides: one slow page (a cold start, a token
        # refresh) is no slow server.
        earlier, self._last_wait = self._last_wait, (self._last_wait if waited is None else waited)
        return self.prefetches_after(None if waited is None else min(waited, earlier))

    def iter(self, page: FetchedPage) -> Iterator[R]:
        return self.handler.iter_page(self.query, page)

    def start(self) -> None:
        """Mark the listing begun: a listing is iterated once."""
        if self._started:
            raise ValidationError("a listing can be iterated only once; call list() again", field="listing")
        self._started = True


class Listing(Generic[R]):
    """A lazy listing: iterate it for records, or call :meth:`pages` for pages with cursors.

    Nothing is fetched until iteration starts; memory holds one page at a time.
    """

    def __init__(self, plan: ListPlan[R], run: Callable[[Flow[Any]], Any]) -> None:
        self._plan = plan
        self._run = run
        self._closed = False
        self._prefetch: ThreadPrefetch[FetchedPage] | None = None
        #: The cursor resuming after the last page fetched so far (None before the first and at the end).
        self.next_cursor: str | None = None

    @property
    def prefetch(self) -> PrefetchMode:
        """Whether this listing fetches the next page while the current one is consumed."""
        return self._plan.prefetch

    def pages(self) -> Generator[Page[R], None, None]:
        """The pages, each with the cursor resuming after it (records mapped a page at a time)."""
        self._plan.start()
        fetched_pages = self._fetched_pages()
        try:
            for fetched, cursor in fetched_pages:
                page = Page(items=self._mapped(fetched), next_cursor=cursor)
                del fetched  # hold one raw page at a time
                self.next_cursor = cursor
                yield page
        finally:
            fetched_pages.close()

    def __iter__(self) -> Iterator[R]:
        self._plan.start()
        fetched_pages = self._fetched_pages()
        try:
            for fetched, cursor in fetched_pages:
                resume_here = self.next_cursor
                self.next_cursor = cursor
                try:
                    # Mapped as reached: a record the caller is done with is freed at once.
                    yield from self._sharing_gil(self._plan.iter(fetched))
                except Exception:
                    # A record that cannot be mapped: resuming must not skip the rest of its page.
                    self.next_cursor = resume_here
                    raise
                del fetched
        finally:
            fetched_pages.close()  # at once, not when the garbage collector gets to it

    def _mapped(self, fetched: FetchedPage) -> list[R]:
        """The records of a page, mapped as a whole (handing the GIL over while a prefetch runs)."""
        if self._prefetch is not None and self._prefetch.active:
            return list(self._sharing_gil(self._plan.iter(fetched)))
        return self._plan.map(fetched)

    def _sharing_gil(self, records: Iterator[R]) -> Iterator[R]:
        """``records``, letting the prefetch thread (when one is fetching) take the GIL now and then."""
        prefetch = self._prefetch
        return records if prefetch is None else prefetch.sharing_gil(records)

    def _fetched_pages(self) -> Generator[tuple[FetchedPage, str | None], None, None]:
        """Each page as fetched, with the cursor resuming after it; when the listing prefetches,
        the next page is fetched in a background thread while this one is consumed."""
        plan = self._plan
        flow = plan.next_fetch()
        if flow is None or self._closed:
            return
        waited: float | None
        fetched, waited = self._timed_run(flow)  # the first page here: a one-page listing starts no thread
        prefetch: ThreadPrefetch[FetchedPage] | None = None
        try:
            while True:
                cursor = plan.accept_fetched(fetched)
                following = plan.next_fetch()
                background = following is not None and plan.fetches_next_in_background(waited)
                if following is not None and background:
                    if prefetch is None:
                        from fincon.core.prefetch import ThreadPrefetch

                        prefetch = self._prefetch = ThreadPrefetch(
                            self._run, name=f"fincon-prefetch-{plan.handler.name}"
                        )
                    prefetch.start(following)  # page N+1 travels while page N is consumed
                yield fetched, cursor
                del fetched  # hold one raw page at a time
                if following is None or self._closed:  # a closed listing stops at the next page
                    return
                if prefetch is not None and background:
                    fetched, waited = prefetch.result(), None
                else:
                    fetched, waited = self._timed_run(following)
        finally:
            if prefetch is not None:
                prefetch.cancel()

    def _timed_run(self, flow: Flow[FetchedPage]) -> tuple[FetchedPage, float]:
        """The fetched page, and how long fetching it waited (wall time less this thread's CPU)."""
        started, cpu = time.perf_counter(), time.thread_time()
        fetched: FetchedPage = self._run(flow)
        return fetched, (time.perf_counter() - started) - (time.thread_time() - cpu)

    def close(self) -> None:
        """Stop the listing: a fetch under way in the background is cancelled and joined."""
        self._closed = True
        if self._prefetch is not None:
            self._prefetch.cancel()

    def __enter__(self) -> Listing[R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def to_pandas(self) -> Any:
        """All records as a pandas DataFrame (needs the ``pandas`` extra)."""
        from fincon._pandas import records_to_frame

        return records_to_frame(self)


class AsyncListing(Generic[R]):
    """The awaitable twin of :class:`Listing`: ``async for record in listing``."""

    def __init__(self, plan: ListPlan[R], run: Callable[[Flow[Any]], Awaitable[Any]]) -> None:
        self._plan = plan
        self._run = run
        self._closed = False
        self._prefetch: TaskPrefetch[FetchedPage] | None = None
        self.next_cursor: str | None = None

    @property
    def prefetch(self) -> PrefetchMode:
        """Whether this listing fetches the next page while the current one is consumed."""
        return self._plan.prefetch

    async def pages(self) -> AsyncGenerator[Page[R], None]:
        """The pages, each with the cursor resuming after it (records mapped a page at a time)."""
        self._plan.start()
        fetched_pages = self._fetched_pages()
        try:
            async for fetched, cursor in fetched_pages:
                page = Page(items=self._plan.map(fetched), next_cursor=cursor)
                del fetched
                self.next_cursor = cursor
                yield page
        finally:
            await fetched_pages.aclose()

    async def __aiter__(self) -> AsyncIterator[R]:
        self._plan.start()
        fetched_pages = self._fetched_pages()
        try:
            async for fetched, cursor in fetched_pages:
                resume_here = self.next_cursor
                self.next_cursor = cursor
                try:
                    for record in self._plan.iter(fetched):
                        yield record
                except Exception:
                    self.next_cursor = resume_here  # as in Listing.__iter__
                    raise
                del fetched
        finally:
            await fetched_pages.aclose()

    async def _fetched_pages(self) -> AsyncGenerator[tuple[FetchedPage, str | None], None]:
        plan = self._plan
        flow = plan.next_fetch()
        if flow is None or self._closed:
            return
        waited: float | None
        fetched, waited = await self._timed_run(flow)
        prefetch: TaskPrefetch[FetchedPage] | None = None
        try:
            while True:
                cursor = plan.accept_fetched(fetched)
                following = plan.next_fetch()
                background = following is not None and plan.fetches_next_in_background(waited)
                if following is not None and background:
                    if prefetch is None:
                        from fincon.core.prefetch import TaskPrefetch

                        prefetch = self._prefetch = TaskPrefetch(self._run)
                    prefetch.start(following)
                    await prefetch.started()  # let the request leave before mapping blocks the loop
                yield fetched, cursor
                del fetched
                if following is None or self._closed:
                    return
                if prefetch is not None and background:
                    fetched, waited = await prefetch.result(), None
                else:
                    fetched, waited = await self._timed_run(following)
        finally:
            if prefetch is not None:
                await prefetch.cancel()

    async def _timed_run(self, flow: Flow[FetchedPage]) -> tuple[FetchedPage, float]:
        # Other tasks' CPU while this one waits counts as CPU here: "auto" then prefetches later.
        started, cpu = time.perf_counter(), time.thread_time()
        fetched: FetchedPage = await self._run(flow)
        return fetched, (time.perf_counter() - started) - (time.thread_time() - cpu)

    async def aclose(self) -> None:
        """Stop the listing: a fetch under way in the background is cancelled and awaited."""
        self._closed = True
        if self._prefetch is not None:
            await self._prefetch.cancel()

    async def __aenter__(self) -> AsyncListing[R]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def to_pandas(self) -> Any:
        """All records as a pandas DataFrame (needs the ``pandas`` extra)."""
        from fincon._pandas import records_to_frame

        return records_to_frame([item async for item in self])


class _CollectionBase(Generic[R]):
    def __init__(self, system: str, resource: str, handler: ResourceHandler[R] | None) -> None:
        self.system = system
        self.resource = resource
        self._handler = handler

    @property
    def operations(self) -> tuple[str, ...]:
        """The operations this system supports on this resource."""
        return self._handler.operations if self._handler is not None else ()

    def _require(self, operation: str) -> ResourceHandler[R]:
        handler = self._handler
        if handler is None or operation not in handler.operations:
            raise Unsupported(
                f"{self.system} does not support {operation} on {self.resource}",
                system=self.system,
                operation=f"{self.resource}.{operation}",
            )
        return handler

    def _plan(self, **kwargs: Any) -> ListPlan[R]:
        return ListPlan(self.system, self._require("list"), **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.system}.{self.resource} {list(self.operations)}>"


class ResourceCollection(_CollectionBase[R]):
    """``connector.<resource>``: list, get, create, update and delete records."""

    def __init__(
        self, system: str, resource: str, handler: ResourceHandler[R] | None, run: Callable[[Flow[Any]], Any]
    ) -> None:
        super().__init__(system, resource, handler)
        self._run = run

    def list(
        self,
        *,
        updated_since: datetime | None = None,
        filters: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        max_pages: int | None = None,
        prefetch: PrefetchMode | None = None,
    ) -> Listing[R]:
        """A lazy listing; ``cursor`` resumes after the page that returned it.

        ``prefetch`` fetches the next page while the current one is consumed: True, False,
        ``"auto"`` (once a page has kept the listing waiting for the server), or None for the
        resource's default (see ``docs/pagination.md``).
        """
        plan = self._plan(
            updated_since=updated_since,
            filters=filters,
            page_size=page_size,
            cursor=cursor,
            max_pages=max_pages,
            prefetch=prefetch,
        )
        return Listing(plan, self._run)

    def get(self, id: str) -> R:
        """The record with the system's ``id``; :class:`~fincon.errors.NotFound` if absent."""
        handler = self._require("get")
        return self._run(handler.get(check_id(self.system, self.resource, id)))  # type: ignore[no-any-return]

    def create(self, record: R | Mapping[str, Any], *, idempotency_key: str | None = None) -> R:
        """Create a record; retries reuse one idempotency key, so it is created at most once."""
        handler = self._require("create")
        checked: Any = check_record(self.system, self.resource, record)
        return self._run(handler.create(checked, idempotency_key))  # type: ignore[no-any-return]

    def update(self, id: str, changes: Mapping[str, Any] | R, *, idempotency_key: str | None = None) -> R:
        """Change fields of a record; ``changes`` maps canonical field names to new values."""
        handler = self._require("update")
        record_id = check_id(self.system, self.resource, id)
        checked = check_changes(self.system, self.resource, changes)
        return self._run(handler.update(record_id, checked, idempotency_key))  # type: ignore[no-any-return]

    def delete(self, id: str) -> None:
        """Delete a record (or deactivate it, where the system cannot delete)."""
        handler = self._require("delete")
        self._run(handler.delete(check_id(self.system, self.resource, id)))


class AsyncResourceCollection(_CollectionBase[R]):
    """The awaitable twin of :class:`ResourceCollection`."""

    def __init__(
        self,
        system: str,
        resource: str,
        handler: ResourceHandler[R] | None,
        run: Callable[[Flow[Any]], Awaitable[Any]],
    ) -> None:
        super().__init__(system, resource, handler)
        self._run = run

    def list(
        self,
        *,
        updated_since: datetime | None = None,
        filters: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        max_pages: int | None = None,
        prefetch: PrefetchMode | None = None,
    ) -> AsyncListing[R]:
        """A lazy listing: ``async for record in collection.list()``."""
        plan = self._plan(
            updated_since=updated_since,
            filters=filters,
            page_size=page_size,
            cursor=cursor,
            max_pages=max_pages,
            prefetch=prefetch,
        )
        return AsyncListing(plan, self._run)

    async def get(self, id: str) -> R:
        handler = self._require("get")
        return await self._run(handler.get(check_id(self.system, self.resource, id)))  # type: ignore[no-any-return]

    async def create(self, record: R | Mapping[str, Any], *, idempotency_key: str | None = None) -> R:
        handler = self._require("create")
        checked: Any = check_record(self.system, self.resource, record)
        return await self._run(handler.create(checked, idempotency_key))  # type: ignore[no-any-return]

    async def update(
        self, id: str, changes: Mapping[str, Any] | R, *, idempotency_key: str | None = None
    ) -> R:
        handler = self._require("update")
        record_id = check_id(self.system, self.resource, id)
        checked = check_changes(self.system, self.resource, changes)
        return await self._run(handler.update(record_id, checked, idempotency_key))  # type: ignore[no-any-return]

    async def delete(self, id: str) -> None:
        handler = self._require("delete")
        await self._run(handler.delete(check_id(self.system, self.resource, id)))
