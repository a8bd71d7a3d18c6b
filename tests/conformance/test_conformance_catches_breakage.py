"""The conformance suite must fail, readably, when a connector breaks a guarantee.

Each variant below is the reference connector with one realistic bug; the matching suite
test is run against it and must fail with a sentence naming the problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from reference_suite import ReferenceSuite

from fincon.auth import OAuth2ClientCredentials
from fincon.core.registry import SystemSpec, register_system, unregister_system
from fincon.core.transport import Call
from fincon.testing.reference.connector import ReferenceConnector, ReferenceSettings, VendorResource
from fincon.testing.reference.emulator import ReferenceEmulator


class SkipsLastRecordOfEachPage(VendorResource):
    def list_page(self, query: Any, state: Any) -> Any:
        records, next_state = yield from super().list_page(query, state)
        return records[:-1], next_state


class ForgetsWhereItWasInANewProcess(VendorResource):
    # Keeps the real position in memory and puts only a page number in the cursor.
    mechanism = "page_number"

    def __init__(self, core: Any) -> None:
        super().__init__(core)
        self._after: str | None = None

    def list_page(self, query: Any, state: Any) -> Any:
        inner = {"after": self._after} if state is not None and self._after else None
        records, next_state = yield from super().list_page(query, inner)
        self._after = next_state["after"] if next_state else None
        page = (state or {}).get("page", 0) + 1
        return records, ({"page": page} if next_state else None)


class RetriesCreatesBlindly(VendorResource):
    def create(self, record: Any, idempotency_key: Any) -> Any:
        # Marks a keyless POST as idempotent, so a lost answer leads to a second create.
        response = yield from self.requestor.call(
            Call("POST", self.path, json=self.mapper.to_payload(record), idempotent=True)
        )
        return self._one(response)


class DefeatsTheCycleGuard(VendorResource):
    def list_page(self, query: Any, state: Any) -> Any:
        inner = {"after": state["after"]} if state else None
        records, next_state = yield from super().list_page(query, inner)
        count = (state or {}).get("n", 0) + 1
        return records, ({**next_state, "n": count} if next_state else None)


class ParsesJsonNaively(VendorResource):
    def list_page(self, query: Any, state: Any) -> Any:
        params = self.strategy.params(state, query.page_size)
        response = yield from self.requestor.call(Call("GET", self.path, params=params))
        body = json.loads(response.content)
        return [self.mapper.to_record(item) for item in body["data"]], self.strategy.next_state(
            state, body, body["data"]
        )


class DeclaresDeleteThatFails(VendorResource):
    def delete(self, id: str) -> Any:
        yield from self.requestor.call(Call("DELETE", f"/v1/vendor/{id}"))


class NeverRefreshes(OAuth2ClientCredentials):
    def refresh_flow(self, request: Any, response: Any) -> Any:
        yield from ()
        return False


def _variant(name: str, handler: type[VendorResource], **attributes: Any) -> type[ReferenceConnector]:
    return type(
        f"Broken{handler.__name__}",
        (ReferenceConnector,),
        {"system": name, "resources": {"vendor": handler}, **attributes},
    )


class _NoRefreshConnector(ReferenceConnector):
    system = "reference-no-refresh"

    def build_auth(self) -> Any:
        settings: ReferenceSettings = self.settings  # type: ignore[assignment]
        assert settings.client_id
        assert settings.client_secret
        return NeverRefreshes(
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            token_url=f"{(settings.base_url or '').rstrip('/')}/oauth/token",
        )


VARIANTS: dict[str, type[ReferenceConnector]] = {
    "reference-skips": _variant("reference-skips", SkipsLastRecordOfEachPage),
    "reference-forgets": _variant("reference-forgets", ForgetsWhereItWasInANewProcess),
    "reference-duplicates": _variant("reference-duplicates", RetriesCreatesBlindly, idempotency_header=None),
    "reference-cycles": _variant("reference-cycles", DefeatsTheCycleGuard),
    "reference-naive-json": _variant("reference-naive-json", ParsesJsonNaively),
    "reference-lies": _variant("reference-lies", DeclaresDeleteThatFails),
    "reference-no-refresh": _NoRefreshConnector,
}


@pytest.fixture(autouse=True, scope="module")
def _registered_variants() -> Iterator[None]:
    for name, connector in VARIANTS.items():
        register_system(SystemSpec(name=name, connector=connector, sandbox=ReferenceEmulator), replace=True)
    yield
    for name in VARIANTS:
        unregister_system(name)


def _suite(system: str) -> ReferenceSuite:
    class Suite(ReferenceSuite):
        pass

    Suite.system = system  # type: ignore[misc]
    return Suite()


@pytest.mark.parametrize(
    ("system", "test", "message"),
    [
        ("reference-skips", "test_listing_under_faults_yields_every_record_once_in_order", r"skipped"),
        ("reference-forgets", "test_listing_resumes_from_cursor_in_new_connector", r"repeated"),
        (
            "reference-no-refresh",
            "test_expired_credentials_mid_listing_are_renewed_once",
            r"failed after credentials",
        ),
        (
            "reference-duplicates",
            "test_create_with_lost_response_leaves_exactly_one_record",
            r"left 2 records",
        ),
        ("reference-cycles", "test_cursor_cycle_stops_with_clear_error", r"did not stop"),
        ("reference-naive-json", "test_malformed_and_hostile_bodies_raise_typed_errors", r"JSONDecodeError"),
        ("reference-lies", "test_capabilities_match_what_works", r"vendor\.delete is declared but failed"),
    ],
)
def test_suite_fails_readably_on_a_broken_connector(system: str, test: str, message: str) -> None:
    suite = _suite(system)
    with pytest.raises(AssertionError, match=message):
        getattr(suite, test)()


def test_the_same_tests_pass_on_the_unbroken_connector() -> None:
    # The control: every test used above passes against the real reference connector.
    suite = _suite("reference")
    suite.test_cursor_cycle_stops_with_clear_error()
    suite.test_create_with_lost_response_leaves_exactly_one_record()
    suite.test_malformed_and_hostile_bodies_raise_typed_errors()
    suite.test_capabilities_match_what_works()


class TestBrokenVariantsAreRealBugs:
    variants: ClassVar[dict[str, type[ReferenceConnector]]] = VARIANTS

    def test_each_variant_is_registered_with_the_reference_sandbox(self) -> None:
        from fincon.core.registry import get_system

        for name in self.variants:
            assert get_system(name).load_sandbox() is ReferenceEmulator
