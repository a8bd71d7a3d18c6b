"""The SAP S/4HANA connector: OData V2 APIs with SAP Gateway's rules.

- HTTP Basic (communication user) or OAuth2 client credentials; ``sap-client`` and
  ``sap-language`` on every request;
- CSRF: a token fetched with ``x-csrf-token: Fetch`` on a safe request, kept with the session
  cookies, refetched once when a write gets ``403`` with ``x-csrf-token: Required``;
- ``sap-message`` headers parsed: ``error`` severity on a success is raised, warnings are kept
  on the connector (``connector.native.warnings``) and logged;
- resources (:mod:`fincon.connectors.sap._resources`) are shared ``ODataResource`` s: listings
  page with ``$top``/``$skip`` windows ordered by key (and follow ``__next`` inside a window) and
  prefetch; creates are never blindly retried (SAP has no idempotency keys): after an ambiguous
  failure the connector looks the record up by a unique field and returns it if it was created.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr

from fincon.auth._base import AuthStrategy
from fincon.connectors.sap._csrf import CsrfSession
from fincon.connectors.sap._resources import RESOURCES, ROOT
from fincon.core.connector import ConnectorCore, ConnectorSettings, Identity
from fincon.core.flow import Flow
from fincon.core.ratelimit import RateLimit
from fincon.core.resources import ResourceHandler
from fincon.core.transport import Call
from fincon.errors import ConfigError, FinconError
from fincon.protocols.odata import ODataVersion
from fincon.protocols.odata.errors import parse_odata_error

__all__ = ["SapConnector", "SapSettings"]

SYSTEM = "sap"
logger = logging.getLogger("fincon.sap")
_V2 = ODataVersion.V2


class SapSettings(ConnectorSettings):
    """Settings of ``fincon.connect("sap", ...)``."""

    user: str | None = Field(None, description="Communication user for HTTP Basic.")
    password: SecretStr | None = Field(None, description="The communication user's password.")
    client_id: str | None = Field(None, description="OAuth2 client id (instead of user/password).")
    client_secret: SecretStr | None = Field(None, description="OAuth2 client secret.")
    token_url: str | None = Field(
        None, description="OAuth2 token endpoint (default: <base_url>/oauth/token)."
    )
    sap_client: str = Field("100", description="The SAP client (Mandant) sent as sap-client.")
    language: str = Field("EN", description="Logon language sent as sap-language.")


def parse_sap_messages(response: httpx.Response) -> list[dict[str, Any]]:
    """The ``sap-message`` header as a list of messages (the main one and its ``details``)."""
    raw = response.headers.get("sap-message")
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        return [{"severity": "info", "message": raw}]
    if not isinstance(parsed, dict):
        return []
    messages = [parsed] + [item for item in parsed.get("details") or [] if isinstance(item, dict)]
    return messages


class SapConnector(ConnectorCore):
    """SAP S/4HANA (OData V2): vendors, customers, bills, purchase orders, accounts, journal entries."""

    system = SYSTEM
    description = "SAP S/4HANA Cloud and on-premise OData V2 APIs (business partners, invoices, ledger)"
    settings_model = SapSettings
    default_rate_limit = RateLimit(requests=20, per=1.0, burst=40, concurrency=8)
    resources: ClassVar[Mapping[str, type[ResourceHandler[Any]]]] = RESOURCES

    def __init__(self, settings: ConnectorSettings) -> None:
        super().__init__(settings)
        self.csrf = CsrfSession(self.requestor, lambda: f"{ROOT}/API_BUSINESS_PARTNER/")
        #: ``sap-message`` warnings and infos seen on successful answers (the latest 100).
        self.warnings: list[dict[str, Any]] = []
        # A prefetching listing parses answers in a second thread: no warning may be lost.
        self._warnings_lock = threading.Lock()

    def build_auth(self) -> AuthStrategy | None:
        from fincon.auth import Basic, OAuth2ClientCredentials

        settings: Any = self.settings
        if settings.auth is not None:
            return settings.auth  # type: ignore[no-any-return]
        if settings.client_id and settings.client_secret is not None:
            return OAuth2ClientCredentials(
                settings.client_id, settings.client_secret, settings.token_url or "/oauth/token"
            )
        if settings.user and settings.password is not None:
            return Basic(settings.user, settings.password)
        raise ConfigError(
            "sap needs user and password, client_id and client_secret, or auth=", system=self.system
        )

    def decorate(self, request: httpx.Request) -> None:
        settings: Any = self.settings
        if request.url.path.startswith(ROOT) and "sap-client" not in request.url.params:
            request.url = request.url.copy_merge_params({"sap-client": settings.sap_client})
        request.headers.setdefault("sap-language", settings.language)

    def parse_error(self, response: httpx.Response) -> FinconError | None:
        error = parse_odata_error(response, system=self.system, version=_V2)
        if error is not None:
            return error
        messages = parse_sap_messages(response)
        for message in messages:
            severity = str(message.get("severity", "")).lower()
            if severity in ("error", "abort"):
                from fincon.errors import RemoteValidationError

                return RemoteValidationError(
                    f"SAP reported an error on a {response.status_code}: {message.get('message')}",
                    system=self.system,
                    status=response.status_code,
                    code=str(message.get("code") or "sap-message"),
                    details={"sap-message": messages},
                )
        for message in messages:
            logger.warning(
                "SAP %s: %s (%s)", message.get("severity"), message.get("message"), message.get("code")
            )
            with self._warnings_lock:
                self.warnings = [*self.warnings[-99:], message]
        return None

    def account_key(self, base_url: str) -> str:
        settings: Any = self.settings
        return f"{base_url}#{settings.sap_client}"

    def check_flow(self) -> Flow[Identity]:
        settings: Any = self.settings
        yield from self.requestor.call(
            Call("GET", f"{ROOT}/API_BUSINESS_PARTNER/", params={"$format": "json"})
        )
        return Identity(
            system=self.system, account=settings.sap_client, user=settings.user or settings.client_id
        )

    def make_native(self, run: Callable[[Flow[Any]], Any]) -> Any:
        from fincon.connectors.sap.native import SapNative

        return SapNative(self, run)
