"""SAP Gateway CSRF protection, client side: fetch a token on a safe request, keep it and the
session cookies, send both with every modifying request, refetch once on ``403 Required``."""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import SimpleCookie

import httpx

from fincon.core.flow import Acquire, DualLock, Flow
from fincon.core.transport import Call, Requestor

__all__ = ["CsrfSession", "csrf_required"]


def csrf_required(response: httpx.Response) -> bool:
    """Whether ``response`` is Gateway's refusal of a missing or stale CSRF token."""
    return response.status_code == 403 and response.headers.get("x-csrf-token", "").lower() == "required"


class CsrfSession:
    """The CSRF token and session cookies of one connector (shared by threads and tasks)."""

    def __init__(self, requestor: Requestor, fetch_path: Callable[[], str]) -> None:
        self._requestor = requestor
        self._fetch_path = fetch_path
        self._lock = DualLock()
        self.token: str | None = None
        self.cookies: dict[str, str] = {}
        self.fetches = 0

    def headers(self) -> dict[str, str]:
        """What a modifying request sends: the token and the session cookies."""
        headers = {"x-csrf-token": self.token or ""}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return headers

    def ensure(self, *, stale: str | None = None) -> Flow[None]:
        """Fetch a token unless one is held (``stale``: the token that was just refused)."""
        yield Acquire(self._lock)
        try:
            if self.token is not None and self.token != stale:
                return
            response = yield from self._requestor.call(
                Call("HEAD", self._fetch_path(), headers={"x-csrf-token": "Fetch"})
            )
            self.fetches += 1
            token = response.headers.get("x-csrf-token")
            if not token or token.lower() == "required":
                from fincon.errors import AuthError

                raise AuthError("SAP did not hand out a CSRF token", system="sap", code="csrf_fetch_failed")
            for header in response.headers.get_list("set-cookie"):
                cookie: SimpleCookie = SimpleCookie()
                cookie.load(header)
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
            self.token = token
        finally:
            self._lock.release()
