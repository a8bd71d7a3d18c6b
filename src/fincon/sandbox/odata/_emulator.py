"""``ODataEmulator``: an emulator serving several OData services, with hooks for vendor specifics."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from fincon.core.clock import Clock
from fincon.sandbox._emulator import Emulator
from fincon.sandbox._faults import FaultPlan
from fincon.sandbox.odata._errors import ODataError, standard_error_body
from fincon.sandbox.odata._schema import ServiceSchema, read_schema
from fincon.sandbox.odata._service import ODataService, RequestContext

__all__ = ["ODataEmulator"]


class ODataEmulator(Emulator):
    """Serves :class:`ODataService` s by path prefix. Vendor emulators subclass it and override:

    - :meth:`before` (authentication, CSRF, required headers): return a response to stop there;
    - :meth:`after` (vendor headers on every answer, e.g. SAP's ``sap-message``);
    - :meth:`error_body` (the vendor's additions to the standard OData error body).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        size: int = 100,
        clock: Clock | None = None,
        faults: FaultPlan | None = None,
        cycle_after_pages: int | None = None,
    ) -> None:
        super().__init__(
            seed=seed, size=size, clock=clock, faults=faults, cycle_after_pages=cycle_after_pages
        )
        self.services: dict[str, ODataService] = {}

    # ``fincon.sandbox.serve`` sets ``base_url`` to its loopback address when it starts serving.
    # A served sandbox answers clients that list many thousands of entities, often again (as in
    # benchmarks): its serialised entities are then cached, so the clients are measured rather
    # than the emulator. In process (tests) the cache stays off unless asked for.
    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value
        if value.startswith(("http://127.", "http://[::1]", "http://localhost")):
            self.serving()

    def serving(self) -> None:
        """Called when a loopback server starts serving this emulator: turn the fragment caches
        on (room for every seeded entity of the largest entity set, twice)."""
        limit = max(
            10_000,
            2 * max((len(store) for s in self.services.values() for store in s.stores.values()), default=0),
        )
        for service in self.services.values():
            if not service.fragment_limit:
                service.fragment_limit = limit

    def add_service(
        self,
        root: str,
        metadata: bytes | str | Path | ServiceSchema,
        *,
        max_page_size: int = 1000,
        fragment_cache: int = 0,
    ) -> ODataService:
        """Mount the service described by ``metadata`` (an EDMX path, its bytes, or a schema
        already read, which services may share) at ``root``."""
        schema = metadata if isinstance(metadata, ServiceSchema) else read_schema(metadata)
        service = ODataService(root, schema, max_page_size=max_page_size, fragment_cache=fragment_cache)
        service.cycle = self._cycles
        service.subrequest = self.subrequest
        self.services[service.root] = service
        return service

    def subrequest(self, request: httpx.Request) -> httpx.Response:
        """One request of a ``$batch``, run like a request of its own (hooks included, faults
        not: the batch as a whole met those)."""
        from fincon.sandbox._responses import Abort

        try:
            return self.dispatch(request)
        except Abort as abort:
            return abort.response
        except Exception:
            return self.internal_error(request)

    def _cycles(self, entity_set: str, continues: bool) -> bool:
        # Emulator.paging_cursor counts pages per listing and says when to send the client back.
        return self.paging_cursor(entity_set, "next" if continues else None) is None and continues

    def service_for(self, path: str) -> tuple[ODataService, str] | None:
        """The service whose root prefixes ``path``, and the rest of the path."""
        for root in sorted(self.services, key=len, reverse=True):
            if path == root or path.startswith(root + "/"):
                return self.services[root], path[len(root) :]
        return None

    # -- hooks -------------------------------------------------------------------------------------

    def before(self, request: httpx.Request, service: ODataService | None) -> httpx.Response | None:
        """Called first for every request; a response returned here is the answer."""
        return None

    def after(
        self, request: httpx.Request, service: ODataService | None, response: httpx.Response
    ) -> httpx.Response:
        """Called with every answer (errors included) before it leaves."""
        return response

    def error_body(
        self, request: httpx.Request, service: ODataService | None, error: ODataError
    ) -> dict[str, Any]:
        """The error body; by default the standard one of the service's OData version."""
        v4 = service.v4 if service is not None else False
        return standard_error_body(error, v4=v4)

    # -- plumbing ----------------------------------------------------------------------------------

    def error_response(
        self,
        request: httpx.Request,
        service: ODataService | None,
        error: ODataError,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """``error`` as an OData error response."""
        body = self.error_body(request, service, error)
        v4 = service.v4 if service is not None else False
        context = RequestContext("", v4, False)
        version = {"OData-Version": "4.0"} if v4 else {"DataServiceVersion": "1.0"}
        return httpx.Response(
            error.status,
            headers={"Content-Type": "application/json", **version, **(headers or {})},
            content=context.encode(body),
        )

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        found = self.service_for(request.url.path)
        service = found[0] if found is not None else None
        try:
            early = self.before(request, service)
            if early is not None:
                return self.after(request, service, early)
            if found is None:
                raise ODataError(404, "RESOURCE_NOT_FOUND", f"No service at {request.url.path}")
            response = service.handle(request, found[1])  # type: ignore[union-attr]
        except ODataError as error:
            response = self.error_response(request, service, error)
        return self.after(request, service, response)

    def internal_error(self, request: httpx.Request) -> httpx.Response:
        found = self.service_for(request.url.path)
        error = ODataError(500, "INTERNAL_ERROR", "Internal server error")
        return self.error_response(request, found[0] if found else None, error)
