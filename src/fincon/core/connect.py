"""``fincon.connect`` / ``fincon.connect_async``: settings in, a ready connector out."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import ValidationError as PydanticValidationError

from fincon.core.client import AsyncConnector, Connector
from fincon.core.connector import ConnectorCore, ConnectorSettings
from fincon.core.registry import SystemSpec, get_system
from fincon.errors import ConfigError

__all__ = ["connect", "connect_async", "load_settings", "to_payload", "to_record"]

ENV_PREFIX = "FINCON_"


def _env_name(system: str, setting: str) -> str:
    return f"{ENV_PREFIX}{system.upper().replace('-', '_')}_{setting.upper()}"


def load_settings(
    model: type[ConnectorSettings],
    system: str,
    given: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> ConnectorSettings:
    """Merge explicit settings with ``FINCON_<SYSTEM>_<SETTING>`` variables and validate them.

    Unknown settings (and unknown ``FINCON_<SYSTEM>_*`` variables, usually typos) raise
    :class:`ConfigError` naming them; values never appear in messages (they may be secrets).
    """
    environ = os.environ if environ is None else environ
    fields = model.model_fields
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r} for {system} (settings: {', '.join(sorted(fields))})",
            system=system,
        )
    values = dict(given)
    prefix = _env_name(system, "")
    for name, value in environ.items():
        if not name.startswith(prefix):
            continue
        setting = name[len(prefix) :].lower()
        if setting not in fields or setting in model.not_from_env:
            raise ConfigError(
                f"environment variable {name} does not name a setting of {system} that can come "
                "from the environment",
                system=system,
            )
        values.setdefault(setting, value)
    try:
        return model.model_validate(values)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        if first["type"] == "missing":
            raise ConfigError(
                f"{system} needs the setting {where!r} "
                f"(or the environment variable {_env_name(system, where)})",
                system=system,
            ) from None
        raise ConfigError(f"setting {where!r} of {system}: {first['msg']}", system=system) from None


def _prepare(
    system: str, settings: dict[str, Any]
) -> tuple[SystemSpec, type[ConnectorCore], ConnectorSettings, Any]:
    spec = get_system(system)
    core_class = spec.load_connector()
    sandbox = settings.pop("sandbox", None)
    emulator = None
    if sandbox is not None and sandbox is not False:
        from fincon.sandbox import Emulator, SandboxTransport

        if sandbox is True:
            emulator = spec.load_sandbox()()
        elif isinstance(sandbox, Emulator):
            emulator = sandbox
        else:
            raise ConfigError("sandbox must be True or a fincon.sandbox.Emulator", system=system)
        if "transport" in settings:
            raise ConfigError("sandbox and transport cannot be combined", system=system)
        settings = {**emulator.credentials(), "base_url": emulator.base_url, **settings}
        settings["transport"] = SandboxTransport(emulator)
    values = load_settings(core_class.settings_model, spec.name, settings)
    return spec, core_class, values, emulator


def _client_options(values: ConnectorSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "timeout": httpx.Timeout(values.timeout),
        "follow_redirects": False,  # a redirect could carry credentials elsewhere
        "trust_env": False,
    }
    if values.transport is not None:
        options["transport"] = values.transport
    else:
        options["verify"] = values.verify
        if values.proxy:
            options["proxy"] = values.proxy
    return options


def connect(system: str, **settings: Any) -> Connector:
    """A blocking connector to ``system`` (see ``fincon.systems()`` for names).

    ``sandbox=True`` connects to the system's in-process emulator: no network, no credentials.
    """
    _, core_class, values, emulator = _prepare(system, dict(settings))
    core = core_class(values)
    return Connector(core, httpx.Client(**_client_options(values)), sandbox=emulator)


def connect_async(system: str, **settings: Any) -> AsyncConnector:
    """The awaitable twin of :func:`connect`: ``async with fincon.connect_async(...) as erp``."""
    _, core_class, values, emulator = _prepare(system, dict(settings))
    core = core_class(values)
    return AsyncConnector(core, httpx.AsyncClient(**_client_options(values)), sandbox=emulator)


def to_record(system: str, resource: str, payload: Any) -> Any:
    """Map one vendor payload (a dict, or XML for XML systems) to a canonical record. No connection needed."""
    return get_system(system).mapper(resource).to_record(payload)


def to_payload(system: str, resource: str, record: Any) -> Any:
    """Map a canonical record to the vendor's own representation. No connection needed."""
    return get_system(system).mapper(resource).to_payload(record)
