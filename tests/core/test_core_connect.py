"""fincon.connect / connect_async: settings from arguments and FINCON_<SYSTEM>_<SETTING> variables."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fincon_corekit import BASE_URL, NOKEY_SYSTEM, STRICT_SYSTEM, SYSTEM, FakeServer

import fincon
from fincon.core.clock import FakeClock
from fincon.errors import ConfigError, Unsupported
from fincon.models import Bill, Money, Vendor

Make = Callable[..., fincon.Connector]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("FINCON_CORE", "FINCON_CORESTRICT", "FINCON_CORENOKEY")):
            monkeypatch.delenv(name)


def test_unknown_setting_names_it_and_the_system(make: Make) -> None:
    with pytest.raises(ConfigError) as caught:
        make(colour="red")
    assert "colour" in str(caught.value)
    assert SYSTEM in str(caught.value)
    assert caught.value.system == SYSTEM


def test_missing_required_setting_names_it_and_the_variable(make: Make) -> None:
    with pytest.raises(ConfigError) as caught:
        make(STRICT_SYSTEM, api_key="k-123456789")
    message = str(caught.value)
    assert "'account'" in message
    assert "FINCON_CORESTRICT_ACCOUNT" in message
    assert STRICT_SYSTEM in message
    assert caught.value.system == STRICT_SYSTEM


def test_settings_from_the_environment(
    make: Make, monkeypatch: pytest.MonkeyPatch, server: FakeServer
) -> None:
    monkeypatch.setenv("FINCON_CORESTRICT_ACCOUNT", "acct-from-env")
    monkeypatch.setenv("FINCON_CORESTRICT_API_KEY", "env-api-key-5521")
    monkeypatch.setenv("FINCON_CORESTRICT_TIMEOUT", "12.5")
    monkeypatch.setenv("FINCON_CORESTRICT_MAX_RETRIES", "1")
    monkeypatch.setenv("FINCON_CORESTRICT_BASE_URL", "https://eu.coretest.example/api")
    erp = make(STRICT_SYSTEM)
    settings = erp.core.settings
    assert settings.account == "acct-from-env"  # type: ignore[attr-defined]
    assert settings.api_key.get_secret_value() == "env-api-key-5521"  # type: ignore[attr-defined]
    assert "env-api-key-5521" not in repr(settings)
    assert settings.timeout == 12.5
    assert settings.max_retries == 1
    erp.vendors.get("v001")
    request = server.requests[-1]
    assert request.url == "https://eu.coretest.example/api/v1/vendors/v001"
    assert request.extensions["timeout"]["read"] == 12.5


def test_explicit_settings_win_over_the_environment(make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINCON_CORESTRICT_ACCOUNT", "acct-from-env")
    erp = make(STRICT_SYSTEM, account="acct-explicit", api_key="key-1234567")
    assert erp.core.settings.account == "acct-explicit"  # type: ignore[attr-defined]


def test_unknown_environment_variable_is_a_config_error(make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINCON_CORETEST_TIMEOUTT", "5")
    with pytest.raises(ConfigError) as caught:
        make()
    assert "FINCON_CORETEST_TIMEOUTT" in str(caught.value)
    assert caught.value.system == SYSTEM


@pytest.mark.parametrize("name", ["AUTH", "TRANSPORT", "CLOCK", "AUDIT"])
def test_object_settings_cannot_come_from_the_environment(
    make: Make, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(f"FINCON_CORETEST_{name}", "x")
    with pytest.raises(ConfigError, match=f"FINCON_CORETEST_{name}"):
        make()


def test_other_systems_variables_are_ignored(make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINCON_CORENOKEY_COLOUR", "red")  # a typo for another system is its problem
    erp = make()
    assert erp.system == SYSTEM
    with pytest.raises(ConfigError):
        make(NOKEY_SYSTEM)


def test_invalid_values_name_the_setting_not_the_value(make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        make(timeout=-1)
    assert "timeout" in str(caught.value)
    monkeypatch.setenv("FINCON_CORETEST_MAX_RETRIES", "many-secret-retries")
    with pytest.raises(ConfigError) as from_env:
        make()
    assert "max_retries" in str(from_env.value)
    assert "many-secret-retries" not in str(from_env.value)


def test_base_url_and_timeout_are_accepted(make: Make, server: FakeServer) -> None:
    erp = make(base_url="https://proxy.internal.example/coretest/", timeout=3)
    erp.vendors.get("v001")
    assert server.requests[0].url == "https://proxy.internal.example/coretest/v1/vendors/v001"
    assert server.requests[0].extensions["timeout"] == {"connect": 3, "read": 3, "write": 3, "pool": 3}
    default = make()
    default.vendors.get("v001")
    assert str(server.requests[1].url).startswith(BASE_URL)
    assert server.requests[1].extensions["timeout"]["read"] == 30


def test_unknown_system_lists_the_known_ones(registered: None) -> None:
    with pytest.raises(ConfigError) as caught:
        fincon.connect("nosuchsystem")
    assert "nosuchsystem" in str(caught.value)
    assert SYSTEM in str(caught.value)
    assert NOKEY_SYSTEM in str(caught.value)


def test_sandbox_setting_must_be_true_or_an_emulator(make: Make) -> None:
    with pytest.raises((ConfigError, Unsupported)):
        make(sandbox="yes please")


@pytest.mark.anyio
async def test_connect_async_checks_settings_the_same_way(registered: None, server: FakeServer) -> None:
    with pytest.raises(ConfigError, match="colour"):
        fincon.connect_async(SYSTEM, colour="red")
    async with fincon.connect_async(SYSTEM, transport=server.transport(), clock=FakeClock()) as erp:
        assert isinstance(erp, fincon.AsyncConnector)
        assert (await erp.vendors.get("v001")).id == "v001"


# -- mapping without a connection --------------------------------------------------------------------------


def test_to_record_and_to_payload_dispatch(registered: None) -> None:
    vendor = fincon.to_record(SYSTEM, "vendor", {"id": "42", "name": "Acme", "currency": "usd", "x": 1})
    assert isinstance(vendor, Vendor)
    assert (vendor.id, vendor.name, vendor.currency, vendor.raw["x"]) == ("42", "Acme", "USD", 1)
    assert fincon.to_payload(SYSTEM, "vendor", vendor) == {"name": "Acme", "id": "42", "currency": "USD"}
    bill = Bill(id="b1", number="B-1", total=Money("10.50", "EUR"))
    payload = fincon.to_payload(SYSTEM, "bill", bill)
    assert payload == {"number": "B-1", "total": {"amount": Money("10.50", "EUR").amount, "currency": "EUR"}}
    round_trip = fincon.to_record(SYSTEM, "bill", {**payload, "id": "b1"})
    assert round_trip.total == bill.total
    assert round_trip.number == bill.number


def test_mapping_errors(registered: None) -> None:
    with pytest.raises(Unsupported) as caught:
        fincon.to_record(SYSTEM, "invoice", {})
    assert caught.value.system == SYSTEM
    assert "invoice" in str(caught.value)
    with pytest.raises(Unsupported):
        fincon.to_payload(NOKEY_SYSTEM, "vendor", Vendor(name="x"))  # registered without a mapping
    with pytest.raises(ConfigError):
        fincon.to_record("nosuchsystem", "vendor", {})
