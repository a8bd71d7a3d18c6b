"""The reference connector: a small JSON REST system that proves the framework.

It is what the conformance suite is first run against, and what ``fincon demo`` shows
before real sandboxes exist. It is not in the public registry: :func:`register` adds it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from fincon.core.connector import ConnectorCore, ConnectorSettings, Identity
from fincon.core.flow import Flow
from fincon.core.pagination import CursorPagination
from fincon.core.ratelimit import RateLimit
from fincon.core.registry import SystemSpec, register_system
from fincon.core.responses import error_for_status, parse_json
from fincon.core.rest import RestResource
from fincon.core.transport import Call
from fincon.errors import (
    AuthError,
    ConfigError,
    Conflict,
    FinconError,
    NotFound,
    RateLimited,
    RemoteValidationError,
)
from fincon.testing.reference.mapping import BillMapper, VendorMapper

__all__ = ["REFERENCE_SPEC", "ReferenceConnector", "ReferenceSettings", "register"]

_ERROR_TYPES: dict[str, type[FinconError]] = {
    "authentication_error": AuthError,
    "invalid_request_error": RemoteValidationError,
    "idempotency_error": Conflict,
    "rate_limit_error": RateLimited,
    "not_found": NotFound,
}


class ReferenceSettings(ConnectorSettings):
    """Reference settings: an API key, or OAuth2 client credentials."""

    api_key: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None


class VendorResource(RestResource[Any]):
    name = "vendor"
    path = "/v1/vendors"
    mapper = VendorMapper()
    strategy = CursorPagination()
    updated_since_param = "updated_since"
    default_page_size = 100
    max_page_size = 100


class BillResource(RestResource[Any]):
    name = "bill"
    path = "/v1/bills"
    mapper = BillMapper()
    strategy = CursorPagination()
    updated_since_param = "updated_since"
    default_page_size = 100
    max_page_size = 100


class ReferenceConnector(ConnectorCore):
    """Connector for the reference system (JSON REST, cursor paging, API-key or OAuth2 auth)."""

    system = "reference"
    description = "Reference JSON REST system used to prove the framework (tests and demo only)"
    settings_model = ReferenceSettings
    idempotency_header = "Idempotency-Key"
    default_rate_limit = RateLimit(requests=200, per=1.0, burst=50, concurrency=8)
    resources: ClassVar[Any] = {"vendor": VendorResource, "bill": BillResource}

    def build_auth(self) -> Any:
        from fincon.auth import APIKey, OAuth2ClientCredentials

        settings: Any = self.settings
        if settings.auth is not None:
            return settings.auth
        if settings.api_key is not None:
            return APIKey(settings.api_key.get_secret_value())
        if settings.client_id and settings.client_secret:
            base = (settings.base_url or "").rstrip("/")
            return OAuth2ClientCredentials(
                client_id=settings.client_id,
                client_secret=settings.client_secret.get_secret_value(),
                token_url=f"{base}/oauth/token",
            )
        raise ConfigError("reference needs api_key, or client_id and client_secret", system=self.system)

    def parse_error(self, response: httpx.Response) -> FinconError | None:
        if response.status_code < 400:
            return None
        try:
            body = parse_json(response, system=self.system)
            error = body["error"]
            kind, message = str(error.get("type", "")), str(error.get("message", ""))
        except (FinconError, KeyError, TypeError, AttributeError):
            return error_for_status(response, system=self.system)
        generic = error_for_status(
            response, system=self.system, message=message or None, code=error.get("code")
        )
        cls = _ERROR_TYPES.get(kind)
        if cls is None or response.status_code == 404:
            generic.details = error
            return generic
        return cls(
            message or generic.message,
            system=self.system,
            status=response.status_code,
            code=error.get("code") or kind,
            request_id=generic.request_id,
            retryable=generic.retryable,
            details=error,
        )

    def check_flow(self) -> Flow[Identity]:
        response = yield from self.requestor.call(Call("GET", "/v1/me"))
        body = parse_json(response, system=self.system)
        return Identity(system=self.system, account=body.get("id"), user=body.get("name"), details=body)


REFERENCE_SPEC = SystemSpec(
    name="reference",
    connector=ReferenceConnector,
    mapping="fincon.testing.reference.mapping",
    sandbox="fincon.testing.reference.emulator:ReferenceEmulator",
    description=ReferenceConnector.description,
    status="test",
)


def register() -> None:
    """Add the reference system to the registry (idempotent)."""
    register_system(REFERENCE_SPEC, replace=True)
