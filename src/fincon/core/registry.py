"""The registry of systems: built-ins and third-party connectors alike.

Built-in connectors and third-party packages alike register through the entry-point group
``fincon.connectors`` (fincon's own ``pyproject.toml`` lists the built-ins); an entry point
loads either a :class:`SystemSpec` or a :class:`~fincon.core.connector.ConnectorCore` subclass.
Nothing is imported until a system is used, so ``import fincon`` stays fast.
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from fincon.errors import ConfigError, Unsupported

if TYPE_CHECKING:
    from fincon.core.connector import ConnectorCore

__all__ = ["SystemInfo", "SystemSpec", "get_system", "register_system", "systems", "unregister_system"]

logger = logging.getLogger("fincon.registry")

ENTRY_POINT_GROUP = "fincon.connectors"


def _load(target: str | Any) -> Any:
    """Import ``"package.module:Name"`` (or return an already loaded object)."""
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


@dataclass(frozen=True)
class SystemSpec:
    """How to find a system's parts. Strings are import paths, loaded on first use."""

    name: str
    connector: str | type[ConnectorCore]
    #: A module (or object) with ``MAPPERS``: resource name -> mapper (``to_record``/``to_payload``).
    mapping: str | Any | None = None
    #: The in-process emulator class (a :class:`fincon.sandbox.Emulator`).
    sandbox: str | type | None = None
    description: str = ""
    status: str = "alpha"
    aliases: tuple[str, ...] = ()

    def load_connector(self) -> type[ConnectorCore]:
        return _load(self.connector)  # type: ignore[no-any-return]

    def load_sandbox(self) -> type:
        if self.sandbox is None:
            raise Unsupported(
                f"{self.name} has no sandbox emulator yet", system=self.name, operation="sandbox"
            )
        return _load(self.sandbox)  # type: ignore[no-any-return]

    def mapper(self, resource: str) -> Any:
        if self.mapping is None:
            raise Unsupported(f"{self.name} has no public mapping", system=self.name, operation="mapping")
        mappers = getattr(_load(self.mapping), "MAPPERS", {})
        if resource not in mappers:
            raise Unsupported(
                f"{self.name} does not map {resource!r} (it maps {', '.join(sorted(mappers)) or 'nothing'})",
                system=self.name,
                operation=f"{resource}.mapping",
            )
        return mappers[resource]


@dataclass(frozen=True)
class SystemInfo:
    """What ``fincon.systems()`` reports about one system."""

    name: str
    description: str
    status: str
    capabilities: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sandbox: bool = False


_registry: dict[str, SystemSpec] = {}
_lock = threading.Lock()
_entry_points_loaded = False


def register_system(spec: SystemSpec, *, replace: bool = False) -> None:
    """Add a system (third-party code usually registers through the entry-point group instead)."""
    with _lock:
        for name in (spec.name, *spec.aliases):
            if name in _registry and not replace and _registry[name] != spec:
                raise ConfigError(f"a system named {name!r} is already registered", system=name)
            _registry[name] = spec


def unregister_system(name: str) -> None:
    """Remove a system (tests, plugins being reloaded)."""
    with _lock:
        spec = _registry.pop(name, None)
        if spec is not None:
            for alias in spec.aliases:
                _registry.pop(alias, None)


def _ensure_loaded() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception as exc:  # a broken plugin must not break every other system
            logger.warning("could not load fincon connector %r: %s", entry.name, type(exc).__name__)
            continue
        if isinstance(loaded, SystemSpec):
            spec = loaded
        else:
            spec = SystemSpec(
                name=getattr(loaded, "system", entry.name) or entry.name,
                connector=loaded,
                description=getattr(loaded, "description", ""),
            )
        if spec.name in _registry:
            logger.warning("fincon connector %r from %s ignored: name already taken", spec.name, entry.value)
            continue
        register_system(spec)
    _entry_points_loaded = True


def get_system(name: str) -> SystemSpec:
    """The spec of a registered system; :class:`ConfigError` listing the known ones otherwise."""
    _ensure_loaded()
    spec = _registry.get(name)
    if spec is None:
        known = ", ".join(sorted({s.name for s in _registry.values()})) or "none registered"
        raise ConfigError(f"unknown system {name!r} (known: {known})", system=name)
    return spec


def systems() -> list[SystemInfo]:
    """Every registered system with its capabilities (loads each connector class)."""
    _ensure_loaded()
    infos = []
    for spec in sorted({s.name: s for s in _registry.values()}.values(), key=lambda s: s.name):
        capabilities: dict[str, tuple[str, ...]] = {}
        try:
            capabilities = spec.load_connector().declared_capabilities()
        except Exception as exc:  # report the others even if one cannot be imported
            logger.warning("could not load connector %r: %s", spec.name, type(exc).__name__)
        infos.append(
            SystemInfo(
                name=spec.name,
                description=spec.description,
                status=spec.status,
                capabilities=capabilities,
                sandbox=spec.sandbox is not None,
            )
        )
    return infos
