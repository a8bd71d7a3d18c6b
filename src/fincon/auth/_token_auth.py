"""The shared machinery of strategies that fetch a token and send it as a bearer credential."""

from __future__ import annotations

import abc
import threading
import weakref
from collections.abc import Iterable
from typing import Generic, TypeVar

import httpx

from fincon.auth._base import AuthStrategy, Token, TokenManager
from fincon.auth._secrets import Retired
from fincon.core.clock import Clock
from fincon.core.flow import Flow

__all__ = ["TokenAuth"]

V = TypeVar("V")


class IssuedTo(Generic[V]):
    """Remembers which credential authorised which request, so a 401 renews only that one.

    Weak keys: a request that is gone needs no answer. A plain lock suffices because it is
    never held across a ``yield``.
    """

    __slots__ = ("_lock", "_map")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._map: weakref.WeakKeyDictionary[httpx.Request, V] = weakref.WeakKeyDictionary()

    def remember(self, request: httpx.Request, value: V) -> None:
        with self._lock:
            self._map[request] = value

    def get(self, request: httpx.Request) -> V | None:
        with self._lock:
            return self._map.get(request)


class TokenAuth(AuthStrategy, abc.ABC):
    """Base for strategies that obtain a token from an endpoint and send ``Authorization: Bearer``.

    Subclasses implement :meth:`fetch_flow`; this class shares one token per instance
    through a :class:`~fincon.auth.TokenManager` (renewed ``early`` seconds before expiry,
    once however many threads and tasks are waiting) and renews it once after a 401.
    """

    def __init__(self, *, early: float = 60.0) -> None:
        self._manager = TokenManager(self._renew, early=early)
        self._issued: IssuedTo[Token] = IssuedTo()
        self._retired = Retired()

    @abc.abstractmethod
    def fetch_flow(self, current: Token | None) -> Flow[Token]:
        """Obtain a new token (``current`` is the one being replaced, if any)."""

    def _renew(self, current: Token | None) -> Flow[Token]:
        token = yield from self.fetch_flow(current)
        if current is not None:
            # Old values stay masked for a while (requests in flight), then are forgotten.
            old = [
                v
                for v in (current.value, current.refresh_token)
                if v not in (token.value, token.refresh_token)
            ]
            self._retired.retire(*old)
        return token

    @property
    def token(self) -> Token | None:
        """The current token, if one was fetched (its value is hidden from its repr)."""
        return self._manager.token

    @property
    def fetches(self) -> int:
        """How many tokens this strategy has fetched (diagnostics and tests)."""
        return self._manager.fetches

    def bind(self, *, clock: Clock, base_url: str | None = None) -> None:
        super().bind(clock=clock, base_url=base_url)
        self._manager.clock = clock

    def apply_token(self, request: httpx.Request, token: Token) -> None:
        """Put ``token`` on ``request``; override for systems that want another header."""
        request.headers["Authorization"] = f"Bearer {token.value}"

    def auth_flow(self, request: httpx.Request) -> Flow[None]:
        token = yield from self._manager.token_flow()
        self.apply_token(request, token)
        self._issued.remember(request, token)

    def refresh_flow(self, request: httpx.Request, response: httpx.Response) -> Flow[bool]:
        # Renew only if the rejected token is still the current one; if another caller
        # already replaced it, the new token is simply reused. One fetch, no loop.
        rejected = self._issued.get(request) or self._manager.token
        yield from self._manager.token_flow(stale=rejected)
        return True

    def token_secrets(self) -> list[str]:
        """The current access and refresh tokens (for :meth:`secret_values`)."""
        token = self._manager.token
        if token is None:
            return []
        return [v for v in (token.value, token.refresh_token) if v]

    def secret_values(self) -> Iterable[str]:
        return self.token_secrets()
