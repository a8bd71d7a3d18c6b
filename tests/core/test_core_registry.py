"""The registry: register_system, entry points (group fincon.connectors), systems()."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fincon_corekit import SYSTEM, CoreTestConnector, FakeServer

import fincon
from fincon.core import registry
from fincon.core.clock import FakeClock
from fincon.core.registry import SystemSpec, get_system, register_system, systems, unregister_system
from fincon.errors import ConfigError, Unsupported


@dataclass
class FakeEntryPoint:
    name: str
    value: str
    target: Any

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


class PluginConnector(CoreTestConnector):
    system = "coreplugin"
    description = "a third-party connector"


class BareConnector(CoreTestConnector):
    system = ""  # the entry point's name is used


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeEntryPoint]]:
    found: list[FakeEntryPoint] = []
    groups: list[str] = []

    def fake_entry_points(*, group: str) -> list[FakeEntryPoint]:
        groups.append(group)
        return found

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    yield found
    assert set(groups) <= {"fincon.connectors"}
    for name in ("coreplugin", "corespec", "corebare", "corealias"):
        unregister_system(name)


def test_entry_point_with_a_connector_class(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("coreplugin", "plugin.module:PluginConnector", PluginConnector))
    spec = get_system("coreplugin")
    assert spec.load_connector() is PluginConnector
    assert spec.description == "a third-party connector"
    server = FakeServer(vendors=2)
    with fincon.connect("coreplugin", transport=server.transport(), clock=FakeClock()) as erp:
        assert erp.system == "coreplugin"
        assert [v.id for v in erp.vendors.list()] == ["v001", "v002"]


def test_entry_point_with_a_spec_and_aliases(entry_points: list[FakeEntryPoint]) -> None:
    spec = SystemSpec(
        name="corespec",
        connector="fincon_corekit:NoKeyConnector",  # loaded lazily, by import path
        description="spec plugin",
        status="beta",
        aliases=("corealias",),
    )
    entry_points.append(FakeEntryPoint("ignored-name", "plugin:SPEC", spec))
    assert get_system("corealias") is get_system("corespec")
    info = next(i for i in systems() if i.name == "corespec")
    assert (info.description, info.status, info.sandbox) == ("spec plugin", "beta", False)
    assert info.capabilities["vendor"] == ("list", "get", "create", "update", "delete")
    assert [i.name for i in systems()].count("corespec") == 1  # aliases are not listed twice


def test_entry_point_name_is_used_for_an_unnamed_connector(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("corebare", "plugin:Bare", BareConnector))
    assert get_system("corebare").load_connector() is BareConnector


def test_broken_plugin_does_not_break_the_others(
    entry_points: list[FakeEntryPoint], caplog: pytest.LogCaptureFixture
) -> None:
    entry_points.append(FakeEntryPoint("broken", "broken:X", ImportError("no module named broken_dep")))
    entry_points.append(FakeEntryPoint("coreplugin", "plugin:PluginConnector", PluginConnector))
    with caplog.at_level(logging.WARNING, logger="fincon.registry"):
        assert get_system("coreplugin").name == "coreplugin"
    assert any("broken" in r.getMessage() for r in caplog.records)
    with pytest.raises(ConfigError):
        get_system("broken")


def test_a_plugin_cannot_take_a_registered_name(
    registered: None, entry_points: list[FakeEntryPoint], caplog: pytest.LogCaptureFixture
) -> None:
    impostor = SystemSpec(name=SYSTEM, connector=PluginConnector)
    entry_points.append(FakeEntryPoint("impostor", "evil:SPEC", impostor))
    with caplog.at_level(logging.WARNING, logger="fincon.registry"):
        assert get_system(SYSTEM).connector is CoreTestConnector
    assert any("already taken" in r.getMessage() for r in caplog.records)


def test_entry_points_are_loaded_once(entry_points: list[FakeEntryPoint]) -> None:
    loads = []

    class Counting(FakeEntryPoint):
        def load(self) -> Any:
            loads.append(1)
            return PluginConnector

    entry_points.append(Counting("coreplugin", "plugin:PluginConnector", None))
    get_system("coreplugin")
    systems()
    get_system("coreplugin")
    assert loads == [1]


def test_systems_lists_capabilities(registered: None) -> None:
    info = {i.name: i for i in systems()}[SYSTEM]
    assert info.description == "core test"
    assert info.capabilities == {
        "vendor": ("list", "get", "create", "update", "delete"),
        "bill": ("list", "get", "create", "update", "delete"),
        "customer": ("list", "get"),
    }
    assert fincon.systems() == systems()


def test_systems_survives_an_unimportable_connector(registered: None) -> None:
    register_system(SystemSpec(name="coreghost", connector="no_such_module_xyz:Connector"))
    try:
        info = {i.name: i for i in systems()}
        assert info["coreghost"].capabilities == {}
        assert SYSTEM in info
    finally:
        unregister_system("coreghost")


def test_register_conflicts_and_unregister(registered: None) -> None:
    other = SystemSpec(name=SYSTEM, connector=PluginConnector)
    with pytest.raises(ConfigError, match="already registered"):
        register_system(other)
    same = get_system(SYSTEM)
    register_system(same)  # registering the same spec again is harmless
    register_system(SystemSpec(name="corealias2", connector=PluginConnector, aliases=("corealias3",)))
    assert get_system("corealias3").name == "corealias2"
    unregister_system("corealias2")
    with pytest.raises(ConfigError):
        get_system("corealias3")


def test_sandbox_needs_an_emulator(registered: None) -> None:
    with pytest.raises(Unsupported) as caught:
        get_system(SYSTEM).load_sandbox()
    assert caught.value.system == SYSTEM
    assert caught.value.operation == "sandbox"
