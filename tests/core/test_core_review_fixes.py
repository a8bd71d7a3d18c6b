"""Regression tests for the core review's findings, on the reference connector and sandbox."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import pytest

import fincon
from fincon.core.registry import SystemSpec, register_system, unregister_system
from fincon.errors import RemoteValidationError, Unsupported
from fincon.models import Vendor
from fincon.testing.reference.connector import ReferenceConnector, VendorResource
from fincon.testing.reference.emulator import ReferenceEmulator


class VendorsWithoutDelete(VendorResource):
    unsupported = frozenset({"delete"})


class NoDeleteConnector(ReferenceConnector):
    system = "reference-nodelete"
    resources: ClassVar[Any] = {"vendor": VendorsWithoutDelete}


class NoKeyConnector(ReferenceConnector):
    system = "reference-nokey"
    idempotency_header = None


@pytest.fixture
def variants() -> Any:
    for connector in (NoDeleteConnector, NoKeyConnector):
        register_system(SystemSpec(name=connector.system, connector=connector, sandbox=ReferenceEmulator))
    yield
    for connector in (NoDeleteConnector, NoKeyConnector):
        unregister_system(connector.system)


def test_an_unsupported_operation_leaves_the_capabilities_and_sends_nothing(variants: None) -> None:
    emulator = ReferenceEmulator(size=3)
    with fincon.connect("reference-nodelete", sandbox=emulator) as erp:
        assert erp.capabilities["vendor"] == ("list", "get", "create", "update")
        before = emulator.requests_handled
        with pytest.raises(Unsupported) as raised:
            erp.vendors.delete("ven_00000001")
    assert raised.value.operation == "vendor.delete"
    assert emulator.requests_handled == before


def test_upsert_uses_distinct_keys_for_its_update_and_its_create() -> None:
    sent: list[tuple[str, str | None]] = []

    def record(request: httpx.Request) -> None:
        sent.append((request.method, request.headers.get("Idempotency-Key")))

    with fincon.connect(
        "reference", sandbox=ReferenceEmulator(size=3), event_hooks={"request": [record]}
    ) as erp:
        created = erp.write(
            "vendor",
            Vendor(id="ven_09999999", name="Upsert Ltd", currency="EUR"),
            mode="upsert",
            idempotency_key="k1",
        )
    assert created.name == "Upsert Ltd"
    assert sent == [("PATCH", "k1:update"), ("POST", "k1:create")]


def test_vendor_error_details_are_redacted() -> None:
    key = "sk_live_" + "echoed0123456789"

    def answer(request: httpx.Request) -> httpx.Response:
        error = {
            "type": "invalid_request_error",
            "message": f"bad request with key {key}",
            "echo": {"key": key},
        }
        return httpx.Response(400, json={"error": error})

    erp = fincon.connect(
        "reference", base_url="https://api.example.com", api_key=key, transport=httpx.MockTransport(answer)
    )
    with pytest.raises(RemoteValidationError) as raised:
        erp.vendors.get("ven_1")
    assert key not in raised.value.message
    assert key not in repr(raised.value.details)
    assert raised.value.details["echo"]["key"] == "***"


def test_audit_records_only_an_idempotency_key_that_was_sent(variants: None) -> None:
    events: list[Any] = []
    with fincon.connect("reference-nokey", sandbox=ReferenceEmulator(size=3), audit=[events.append]) as erp:
        erp.vendors.create(Vendor(name="Keyless Ltd", currency="EUR"), idempotency_key="ignored-key")
    with fincon.connect("reference", sandbox=ReferenceEmulator(size=3), audit=[events.append]) as erp:
        erp.vendors.create(Vendor(name="Keyed Ltd", currency="EUR"), idempotency_key="sent-key")
    assert [event.idempotency_key for event in events] == [None, "sent-key"]
