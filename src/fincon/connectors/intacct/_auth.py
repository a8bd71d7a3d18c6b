"""``IntacctSession``: ``getAPISession`` once, the session id in every request body after that.

- the login goes to the connector's gateway URL; later calls go to the ``endpoint`` the
  session returns (the company's data centre), which must be on ``intacct.com`` or on the
  gateway's own host (a sandbox on loopback);
- the session is reused until ``sessiontimeout`` (renewed a minute early), and an
  authentication failure on a session-authenticated call logs in again, once;
- ``entity_id`` opens the session in one entity of a multi-entity company (``locationid``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import httpx
from pydantic import SecretStr

from fincon.auth._session import Session, SessionAuth, replace_content
from fincon.connectors.intacct._envelope import GATEWAY_PATH, Login, Sender, build_request, function
from fincon.connectors.intacct._errors import intacct_error, is_session_failure
from fincon.connectors.intacct._functions import get_api_session
from fincon.connectors.intacct._xml import parse_xml, release_root, serialize, text_of
from fincon.core.clock import Clock
from fincon.core.flow import Flow, Send
from fincon.errors import AuthError, ConfigError, FinconError

__all__ = ["IntacctSession"]

SYSTEM = "intacct"
#: Used when the login answer gives no timeout (Intacct's default idle timeout is longer).
DEFAULT_SESSION_SECONDS = 30 * 60


class IntacctSession(SessionAuth):
    """Session login for the Intacct XML gateway.

    :param sender: the Web Services sender id and password.
    :param login: company credentials; without them only ``session_id`` can be used (and
        an expired session is an :class:`~fincon.errors.AuthError`).
    :param session_id: an existing session to use first.
    :param endpoint: the URL that session belongs to (default: the gateway URL).
    """

    endpoint_hosts = ("intacct.com",)

    def __init__(
        self,
        sender: Sender,
        login: Login | None = None,
        *,
        session_id: SecretStr | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(early=60.0)
        if login is None and session_id is None:
            raise ConfigError("intacct needs user credentials or a session_id", system=SYSTEM)
        self.sender = sender
        self.login = login
        self._given_session = session_id
        self._given_endpoint = endpoint
        #: What the last login said about the session (user, company, entity).
        self.identity: dict[str, str] = {}

    def bind(self, *, clock: Clock, base_url: str | None = None) -> None:
        super().bind(clock=clock, base_url=base_url)
        if self._given_session is not None and self._manager.token is None:
            from fincon.auth._base import Token

            session = Session(id=self._given_session.get_secret_value(), endpoint=self._given_endpoint)
            if session.endpoint is not None:
                self._check_endpoint(session.endpoint)
            self._manager.set_token(Token(value=session.id, extra={"session": session}))

    @property
    def gateway_url(self) -> str:
        """Where logins are sent."""
        return f"{self.base_url or 'https://api.intacct.com'}{GATEWAY_PATH}"

    def login_flow(self) -> Flow[Session]:
        if self.login is None:
            raise AuthError(
                "the Intacct session expired and no user credentials were given to log in again",
                system=SYSTEM,
                code="session_expired",
            )
        body = build_request(self.sender, [function(get_api_session(self.login.entity_id))], login=self.login)
        request = httpx.Request(
            "POST", self.gateway_url, content=body, headers={"Content-Type": "application/xml"}
        )
        sent_at = self.clock.now()
        response = yield Send(request)
        try:
            error = intacct_error(response)
        except FinconError as exc:
            raise AuthError(f"the Intacct login answer was refused: {exc.message}", system=SYSTEM) from None
        if error is not None:
            if isinstance(error, AuthError):
                raise error
            raise AuthError(f"the Intacct login failed: {error.message}", system=SYSTEM, code=error.code)
        root = release_root(response)  # read here once; not kept on the response
        api = root.find("operation/result/data/api")
        session_id = text_of(api, "sessionid")
        if not session_id:
            raise AuthError("the Intacct login returned no session id", system=SYSTEM, code="no_session")
        auth = root.find("operation/authentication")
        self.identity = {
            "user": text_of(auth, "userid", "") or "",
            "company": text_of(auth, "companyid", "") or "",
            "entity": text_of(api, "locationid", "") or "",
        }
        return Session(
            id=session_id,
            expires_at=_timeout(text_of(auth, "sessiontimeout"), sent_at),
            endpoint=text_of(api, "endpoint") or None,
            extra={"locationid": text_of(api, "locationid", "")},
        )

    def _check_endpoint(self, endpoint: str) -> None:
        gateway = httpx.URL(self.gateway_url)
        target = httpx.URL(endpoint)
        if target.host == gateway.host and target.scheme == gateway.scheme:
            return  # the same host we were configured with (a proxy, a sandbox on loopback)
        super()._check_endpoint(endpoint)

    def route(self, request: httpx.Request, session: Session) -> None:
        # Intacct's endpoint is the whole gateway URL, not a base to append paths to.
        if session.endpoint is None or str(request.url) != self.gateway_url:
            return
        target = httpx.URL(session.endpoint)
        request.url = target
        request.headers["Host"] = target.netloc.decode("ascii")

    def apply(self, request: httpx.Request, session: Session) -> None:
        """Put the session id into ``<authentication><sessionid>`` of the request body."""
        body = request.content
        if b"<sessionid" not in body:
            return  # a login request, or not ours
        root = parse_xml(body, what="request")
        node = root.find("operation/authentication/sessionid")
        if node is None:
            return
        node.text = session.id
        replace_content(request, serialize(root))

    def is_session_expired(self, response: httpx.Response) -> bool:
        return is_session_failure(response)

    def credential_values(self) -> Iterable[str]:
        values = [self.sender.password.get_secret_value()]
        if self.login is not None:
            values.append(self.login.password.get_secret_value())
        if self._given_session is not None:
            values.append(self._given_session.get_secret_value())
        return values

    def __repr__(self) -> str:
        entity = self.login.entity_id if self.login is not None else None
        return f"IntacctSession(sender_id={self.sender.sender_id!r}, entity_id={entity!r})"


def _timeout(text: str | None, sent_at: datetime) -> datetime:
    if text:
        try:
            value = datetime.fromisoformat(text.strip())
        except ValueError:
            value = None
        if value is not None:
            return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    return sent_at + timedelta(seconds=DEFAULT_SESSION_SECONDS)
