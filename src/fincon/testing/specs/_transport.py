"""An httpx transport that holds every exchange passing through it to a contract."""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable

import httpx

from fincon.testing.specs._errors import SpecViolation

__all__ = ["Contract", "SpecCheckingTransport"]


@runtime_checkable
class Contract(Protocol):
    """What :class:`SpecCheckingTransport` needs: OpenAPI, OData and XML Schema contracts all fit."""

    name: str

    def check_request(self, request: httpx.Request) -> Any:
        """Raise :class:`SpecViolation` when the request breaks the contract."""

    def check_response(self, response: httpx.Response, request: httpx.Request | None = None) -> Any:
        """Raise :class:`SpecViolation` when the (read) response breaks the contract."""


class SpecCheckingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wrap ``inner`` (e.g. a sandbox transport) and validate every request and response.

    A violating request is not sent. With ``raise_at_once`` (the default) the violation is raised
    from the client call; otherwise it is collected in :attr:`violations` and the exchange goes
    on, so a test can run a whole workflow and then call :meth:`assert_clean`. Transport errors
    from ``inner`` (timeouts, dropped connections) pass through unchecked.

    :ivar checked: how many messages (requests plus responses) were validated, so a test can
        assert that checking happened at all.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport | httpx.AsyncBaseTransport,
        contract: Contract,
        *,
        check_requests: bool = True,
        check_responses: bool = True,
        raise_at_once: bool = True,
    ) -> None:
        self.inner = inner
        self.contract = contract
        self.check_requests = check_requests
        self.check_responses = check_responses
        self.raise_at_once = raise_at_once
        self.violations: list[SpecViolation] = []
        self.requests_checked = 0
        self.responses_checked = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SpecCheckingTransport({self.inner!r}, {self.contract.name})"

    @property
    def checked(self) -> int:
        """Requests plus responses validated so far."""
        return self.requests_checked + self.responses_checked

    def assert_clean(self) -> None:
        """Raise the first collected violation (with a count of the others), if any."""
        if not self.violations:
            return
        first = self.violations[0]
        if len(self.violations) == 1:
            raise first
        others = len(self.violations) - 1
        raise SpecViolation(
            first.contract, f"{first.operation} (and {others} more violating exchanges)", first.problems
        )

    def _run(self, kind: str, check: Any, *args: Any) -> None:
        try:
            check(*args)
        except SpecViolation as violation:
            with self._lock:
                self.violations.append(violation)
            if self.raise_at_once:
                raise
        finally:
            with self._lock:
                if kind == "request":
                    self.requests_checked += 1
                else:
                    self.responses_checked += 1

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Validate, forward to the inner sync transport, validate the response."""
        if not isinstance(self.inner, httpx.BaseTransport):
            raise TypeError(f"{self.inner!r} is not a sync transport")
        if self.check_requests:
            request.read()
            self._run("request", self.contract.check_request, request)
        response = self.inner.handle_request(request)
        if self.check_responses:
            response.read()
            self._run("response", self.contract.check_response, response, request)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Validate, forward to the inner async transport, validate the response."""
        if not isinstance(self.inner, httpx.AsyncBaseTransport):
            raise TypeError(f"{self.inner!r} is not an async transport")
        if self.check_requests:
            await request.aread()
            self._run("request", self.contract.check_request, request)
        response = await self.inner.handle_async_request(request)
        if self.check_responses:
            await response.aread()
            self._run("response", self.contract.check_response, response, request)
        return response

    def close(self) -> None:
        """Close the inner transport."""
        if isinstance(self.inner, httpx.BaseTransport):
            self.inner.close()

    async def aclose(self) -> None:
        """Close the inner transport."""
        if isinstance(self.inner, httpx.AsyncBaseTransport):
            await self.inner.aclose()
