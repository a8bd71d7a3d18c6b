"""A base for systems that log in once and then send a session id (Sage Intacct, Bill.com)."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import httpx

from fincon.auth._base import AuthStrategy, Token, TokenManager
from fincon.auth._secrets import Retired, register
from fincon.auth._token_auth import IssuedTo
from fincon.core.clock import Clock
from fincon.core.flow import Flow
from fincon.core.urls import require_safe_url
from fincon.errors import AuthError, ConfigError

__all__ = ["Session", "SessionAuth", "replace_content"]


@dataclass(slots=True)
class Session:
    """A logged-in session: its ``id`` (a secret), when it expires, and where to send calls.

    ``endpoint`` is set when the login moves the connector to another URL (Intacct returns
    the endpoint of the customer's data centre); ``extra`` holds anything else the login
    returned that later calls need. Neither ``id`` nor ``extra`` appears in the repr.
    """

    id: str = field(repr=False)
    expires_at: datetime | None = None
    endpoint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


def replace_content(request: httpx.Request, content: bytes) -> None:
    """Replace ``request``'s body in place (for systems that carry the session id in the body)."""
    request.stream = httpx.ByteStream(content)
    request._content = content
    request.headers["Content-Length"] = str(len(content))


class SessionAuth(AuthStrategy, abc.ABC):
    """Log in once, share the session across every thread and task, log in again when it expires.

    A subclass implements:

    - :meth:`login_flow`: yield ``Send(login request)`` and return a :class:`Session`
      (raise :class:`~fincon.errors.AuthError` if the login is refused);
    - :meth:`apply`: put the session on a request (a header, a cookie, or the body with
      :func:`replace_content`);
    - optionally :meth:`is_session_expired`, to recognise the system's "session expired"
      answer (default: HTTP 401), and :meth:`credential_values`, to list the login's secrets.

    Logins go through a :class:`~fincon.auth.TokenManager`: one login however many callers
    need a session, a new one ``early`` seconds before ``expires_at``, and after an expired
    session answer exactly one re-login (shared by every request that saw the same expired
    session). If ``Session.endpoint`` is set, requests to the connector's base URL are sent
    there instead; ``endpoint_hosts`` (suffixes such as ``"intacct.com"``) limits where a
    login may send them.
    """

    #: Host suffixes a session endpoint must match (empty: any https host).
    endpoint_hosts: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, early: float = 60.0) -> None:
        self._manager = TokenManager(self._login_token, early=early)
        self._issued: IssuedTo[Token] = IssuedTo()
        self._base_url: str | None = None
        self._retired = Retired()

    @abc.abstractmethod
    def login_flow(self) -> Flow[Session]:
        """Log in and return the new session."""

    @abc.abstractmethod
    def apply(self, request: httpx.Request, session: Session) -> None:
        """Add ``session`` to ``request`` (in place)."""

    def is_session_expired(self, response: httpx.Response) -> bool:
        """Whether ``response`` says the session expired or is invalid."""
        return response.status_code == 401

    def should_refresh(self, response: httpx.Response) -> bool:
        """Whether the transport should call :meth:`refresh_flow` after ``response``.

        Same as :meth:`is_session_expired`; for transports that ask the strategy rather than
        only reacting to HTTP 401.
        """
        return self.is_session_expired(response)

    def credential_values(self) -> Iterable[str]:
        """The login's secrets (passwords, keys); subclasses list theirs here."""
        return ()

    @property
    def session(self) -> Session | None:
        """The current session, if logged in."""
        token = self._manager.token
        if token is None:
            return None
        session: Session = token.extra["session"]
        return session

    @property
    def base_url(self) -> str | None:
        """The connector's base URL (without a trailing slash), once bound; for building the login request."""
        return self._base_url

    @property
    def logins(self) -> int:
        """How many logins this strategy has made (diagnostics and tests)."""
        return self._manager.fetches

    def bind(self, *, clock: Clock, base_url: str | None = None) -> None:
        super().bind(clock=clock, base_url=base_url)
        self._manager.clock = clock
        self._base_url = base_url.rstrip("/") if base_url else None

    def _login_token(self, current: Token | None) -> Flow[Token]:
        session = yield from self.login_flow()
        owner = type(self).__name__
        if not isinstance(session, Session) or not session.id:
            raise AuthError(f"{owner}: the login returned no session id", code="no_session")
        register(session.id)
        if not all(0x21 <= ord(c) <= 0x7E for c in session.id):
            raise AuthError(
                f"{owner}: the login returned a session id that is not printable ASCII", code="no_session"
            )
        if session.endpoint is not None:
            self._check_endpoint(session.endpoint)
        if current is not None and current.value != session.id:
            self._retired.retire(current.value)
        return Token(value=session.id, expires_at=session.expires_at, extra={"session": session})

    def _check_endpoint(self, endpoint: str) -> None:
        owner = type(self).__name__
        url = require_safe_url(endpoint, setting=f"{owner}: the session endpoint")
        host = url.host.lower()
        allowed = self.endpoint_hosts
        if allowed and not any(host == h or host.endswith("." + h) for h in allowed):
            # A login answer must not be able to send our credentials to a host of its choosing.
            raise ConfigError(f"{owner}: the login moved the session to {host}, which is not an allowed host")

    def session_flow(self, *, stale: Session | None = None) -> Flow[Session]:
        """A usable session: the current one, or a new login if there is none, it is
        expiring, or it is ``stale`` (the one a request was just refused with)."""
        token = yield from self._session_token(stale)
        session: Session = token.extra["session"]
        return session

    def _session_token(self, stale: Session | None) -> Flow[Token]:
        current = self._manager.token
        stale_token = None
        if stale is not None and current is not None and current.extra.get("session") is stale:
            stale_token = current
        # If another caller already replaced the stale session, this reuses the new one.
        return (yield from self._manager.token_flow(stale=stale_token))

    def route(self, request: httpx.Request, session: Session) -> None:
        """Send ``request`` to the session's endpoint, if it has one."""
        if session.endpoint is None:
            return
        target = httpx.URL(session.endpoint)
        current = str(request.url)
        base = self._base_url
        if base is None:
            new = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        elif current == base or current.startswith((base + "/", base + "?")):
            rest = current[len(base) :]
            new = httpx.URL(session.endpoint.rstrip("/") + rest) if rest else target
        else:
            return  # not a call to the connector's API: leave it where it was going
        request.url = new
        # httpx fixed the Host header when the request was built.
        request.headers["Host"] = new.netloc.decode("ascii")

    def auth_flow(self, request: httpx.Request) -> Flow[None]:
        token = yield from self._session_token(None)
        session: Session = token.extra["session"]
        self.route(request, session)
        self.apply(request, session)
        self._issued.remember(request, token)

    def refresh_flow(self, request: httpx.Request, response: httpx.Response) -> Flow[bool]:
        if not self.is_session_expired(response):
            return False
        used = self._issued.get(request)
        stale = used.extra["session"] if used is not None else self.session
        yield from self.session_flow(stale=stale)
        return True

    def secret_values(self) -> Iterable[str]:
        values = [v for v in self.credential_values() if v]
        session = self.session
        if session is not None:
            values.append(session.id)
        return values

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
