"""The conformance suite: the guarantees every connector must keep, tested against its sandbox.

Subclass :class:`ConformanceSuite` in a test module, name the system and fill in the
hooks that only the system's emulator can answer; pytest then runs every ``test_*``
method. Each test fails with a sentence saying what went wrong, not a bare ``assert``.

>>> class TestStripeConformance(ConformanceSuite):     # doctest: +SKIP
...     system = "stripe"
...     resource = "customer"
...     def expected_ids(self, emulator): ...
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from fincon.core.clock import FakeClock
from fincon.errors import FinconError, PaginationError, Unsupported

__all__ = ["ConformanceSuite"]

_HOSTILE_XML = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
    b'<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">'
    b'<!ENTITY x SYSTEM "http://127.0.0.1:9/fincon-xxe-canary">]>\n<r>&g;&x;</r>'
)


class ConformanceSuite:
    """Every connector passes these tests against its sandbox.

    Attributes to set: :attr:`system`, :attr:`resource` (a listable resource with
    ``get``), and the hooks below that raise ``NotImplementedError``. Time is a
    :class:`~fincon.core.clock.FakeClock` shared by the connector and the emulator, so
    throttling and backoff cost no real time.
    """

    system: ClassVar[str] = ""
    #: The resource listed in the paging tests.
    resource: ClassVar[str] = "vendor"
    #: Records in the emulator for the listing tests (the suite requires at least 10,000).
    records: ClassVar[int] = 10_000
    page_size: ClassVar[int | None] = 100
    seed: ClassVar[int] = 7
    #: Extra settings for ``fincon.connect`` (besides ``sandbox=`` and ``clock=``).
    connect_settings: ClassVar[Mapping[str, Any]] = {}
    #: Settings that make the connector use expiring credentials (tokens or sessions);
    #: ``None`` when the system's credentials never expire (the token test is skipped).
    expiring_credentials: ClassVar[Mapping[str, Any] | None] = None
    #: Seconds within which a malformed or hostile body must be refused.
    hostile_body_deadline: ClassVar[float] = 2.0

    # -- hooks only the system can answer ---------------------------------------------------

    def make_emulator(self, *, size: int, clock: FakeClock) -> Any:
        """A fresh emulator of the system with ``size`` records per resource."""
        from fincon.core.registry import get_system

        emulator_class = get_system(self.system).load_sandbox()
        return emulator_class(seed=self.seed, size=size, clock=clock)

    def expected_ids(self, emulator: Any) -> list[str]:
        """The ids of :attr:`resource` in the emulator, in the order listings return them."""
        raise NotImplementedError

    def new_record(self, resource: str) -> Any:
        """A valid new record of ``resource`` (for create tests); None if not creatable."""
        raise NotImplementedError

    def stored_matching(self, emulator: Any, resource: str, record: Any) -> int:
        """How many records in the emulator match ``record`` (the exactly-once check)."""
        raise NotImplementedError

    def sample_changes(self, resource: str) -> Mapping[str, Any]:
        """Field changes valid for an update of ``resource``."""
        raise NotImplementedError

    def feed_cursor_cycle(self, emulator: Any) -> None:
        """Make the emulator's paging go round in a cycle (e.g. ignore the cursor after N pages)."""
        raise NotImplementedError

    def expire_credentials(self, emulator: Any) -> None:
        """Expire every token or session the emulator has issued."""
        raise NotImplementedError

    def credential_issues(self, emulator: Any) -> int:
        """How many tokens or sessions the emulator has issued so far."""
        raise NotImplementedError

    # -- plumbing ---------------------------------------------------------------------------

    def connect(self, emulator: Any, clock: FakeClock, **settings: Any) -> Any:
        import fincon

        merged = {**self.connect_settings, **settings}
        merged.setdefault("share_limits", False)
        merged.setdefault("max_retries", 8)
        return fincon.connect(self.system, sandbox=emulator, clock=clock, **merged)

    @contextlib.contextmanager
    def _setup(self, size: int | None = None, **settings: Any) -> Iterator[tuple[Any, Any, FakeClock]]:
        if not self.system:
            raise AssertionError(f"{type(self).__name__} must set `system`")
        clock = FakeClock()
        emulator = self.make_emulator(size=self.records if size is None else size, clock=clock)
        connector = self.connect(emulator, clock, **settings)
        try:
            yield emulator, connector, clock
        finally:
            connector.close()

    def _collection(self, connector: Any, resource: str | None = None) -> Any:
        return connector.collection(resource or self.resource)

    # -- the tests ----------------------------------------------------------------------------

    def test_listing_under_faults_yields_every_record_once_in_order(self) -> None:
        """N records listed through 429s, 5xx bursts, timeouts and dropped connections: N, in order."""
        assert self.records >= 10_000, "the conformance suite lists at least 10,000 records"
        with self._setup() as (emulator, connector, _clock):
            expected = self.expected_ids(emulator)
            assert len(expected) == self.records, (
                f"the emulator holds {len(expected)} {self.resource} records, expected {self.records}"
            )
            from fincon.sandbox import FaultPlan

            emulator.faults = FaultPlan.storm(
                seed=self.seed,
                throttle=0.05,
                server_error=0.05,
                drop_before=0.02,
                drop_after=0.02,
                timeout=0.01,
            )
            got = [record.id for record in self._collection(connector).list(page_size=self.page_size)]
            injected = len(emulator.faults.injected)
        _assert_same_sequence(got, expected, what=f"{self.system} {self.resource} listing under faults")
        assert injected > 0, "no fault was injected: the test proved nothing"

    def test_listing_resumes_from_cursor_in_new_connector(self) -> None:
        """Stopped after some pages, resumed from the last cursor in a new connector: no gap, no repeat."""
        with self._setup() as (emulator, first, clock):
            expected = self.expected_ids(emulator)
            first_part: list[str] = []
            cursor = None
            pages = self._collection(first).list(page_size=self.page_size).pages()
            for index, page in enumerate(pages):
                first_part.extend(record.id for record in page.items)
                cursor = page.next_cursor
                if index == 2:
                    break
            assert cursor is not None, "the listing ended within three pages; use more records"
            second = self.connect(emulator, clock)
            try:
                rest = [
                    record.id
                    for record in self._collection(second).list(page_size=self.page_size, cursor=cursor)
                ]
            finally:
                second.close()
        _assert_same_sequence(
            first_part + rest, expected, what=f"{self.system} listing resumed from a cursor"
        )

    def test_expired_credentials_mid_listing_are_renewed_once(self) -> None:
        """A token or session that expires mid-listing is renewed once and the listing goes on."""
        if self.expiring_credentials is None:
            import pytest

            pytest.skip(f"{self.system} credentials do not expire (expiring_credentials is None)")
        with self._setup(**self.expiring_credentials) as (emulator, connector, _clock):
            expected = self.expected_ids(emulator)
            got: list[str] = []
            issued_before = 0
            pages = self._collection(connector).list(page_size=self.page_size).pages()
            try:
                for index, page in enumerate(pages):
                    got.extend(record.id for record in page.items)
                    if index == 1:
                        issued_before = self.credential_issues(emulator)
                        self.expire_credentials(emulator)
            except FinconError as error:
                raise AssertionError(
                    f"the listing failed after credentials expired (after {len(got)} records): "
                    f"{type(error).__name__}: {error}"
                ) from error
            issued = self.credential_issues(emulator) - issued_before
        assert issued == 1, (
            f"expired credentials were renewed {issued} times during the listing, expected once"
        )
        _assert_same_sequence(got, expected, what=f"{self.system} listing across a credential expiry")

    def test_create_with_lost_response_leaves_exactly_one_record(self) -> None:
        """The server applies a create, the answer is lost, the client retries: exactly one record."""
        record = self.new_record(self.resource)
        if record is None:
            import pytest

            pytest.skip(f"{self.system} cannot create {self.resource} records")
        with self._setup(size=10) as (emulator, connector, _clock):
            emulator.faults.drop_after(method="POST", times=1)
            try:
                created = self._collection(connector).create(record)
            except FinconError as error:
                stored = self.stored_matching(emulator, self.resource, record)
                raise AssertionError(
                    f"create with a lost response raised {type(error).__name__} ({error}); "
                    f"the emulator holds {stored} matching records"
                ) from error
            injected = emulator.faults.kinds()
            stored = self.stored_matching(emulator, self.resource, record)
        assert "drop_after" in injected, "the lost-response fault was never injected"
        assert stored == 1, (
            f"a create retried after a lost response left {stored} records, expected exactly 1"
        )
        assert created.id, "the created record came back without an id"

    def test_cursor_cycle_stops_with_clear_error(self) -> None:
        """A server that feeds a cursor cycle gets a PaginationError, not an endless loop."""
        with self._setup(size=2_000) as (emulator, connector, _clock):
            self.feed_cursor_cycle(emulator)
            bound = 2_000 // (self.page_size or 100) + 10
            pages = 0
            try:
                for _page in self._collection(connector).list(page_size=self.page_size).pages():
                    pages += 1
                    if pages > bound:
                        raise AssertionError(f"the listing did not stop: {pages} pages from a cycling server")
            except PaginationError as error:
                if "cycle" not in str(error).lower():
                    raise AssertionError(f"the PaginationError does not say why: {error}") from error
                return
        raise AssertionError(
            f"a cycling server's listing ended after {pages} pages without a PaginationError"
        )

    def test_malformed_and_hostile_bodies_raise_typed_errors(self) -> None:
        """Invalid JSON, truncated JSON and XML bombs with external entities: typed errors, quickly."""
        with self._setup(size=10) as (emulator, connector, _clock):
            for name, body in (
                ("invalid JSON", "invalid_json"),
                ("truncated JSON", "truncated_json"),
                ("an XML bomb with an external entity", _HOSTILE_XML),
            ):
                emulator.faults.clear()
                emulator.faults.malformed(body, times=None)
                started = time.perf_counter()
                try:
                    list(self._collection(connector).list(page_size=self.page_size, max_pages=1))
                except FinconError:
                    pass
                except Exception as error:
                    raise AssertionError(
                        f"{name} from the server raised {type(error).__name__}, not a fincon error"
                    ) from error
                else:
                    raise AssertionError(f"{name} from the server was accepted as a page")
                elapsed = time.perf_counter() - started
                assert elapsed < self.hostile_body_deadline, f"refusing {name} took {elapsed:.1f}s"

    def test_capabilities_match_what_works(self) -> None:
        """Every declared operation works on the sandbox; every other one raises Unsupported."""
        with self._setup(size=20) as (_emulator, connector, _clock):
            capabilities = connector.capabilities
            assert capabilities, f"{self.system} declares no capabilities"
            assert self.resource in capabilities, f"{self.resource} is not in {self.system}'s capabilities"
            for resource, operations in capabilities.items():
                self._exercise(connector, resource, set(operations))
            from fincon.models import RESOURCE_MODELS

            for resource in sorted(set(RESOURCE_MODELS) - set(capabilities)):
                try:
                    list(connector.collection(resource).list())
                except Unsupported as error:
                    if error.system != self.system:
                        raise AssertionError("Unsupported does not name the system") from error
                else:
                    raise AssertionError(
                        f"{resource} is not declared, but listing it did not raise Unsupported"
                    )

    def _exercise(self, connector: Any, resource: str, operations: set[str]) -> None:
        collection = connector.collection(resource)
        first = None
        for op in ("list", "get", "create", "update", "delete"):
            try:
                if op == "list":
                    first = next(iter(collection.list(max_pages=1)), None)
                elif op == "get":
                    if first is None:
                        raise AssertionError(f"cannot check get on {resource}: the listing was empty")
                    fetched = collection.get(first.id)
                    assert fetched.id == first.id, f"get({first.id!r}) on {resource} returned {fetched.id!r}"
                elif op == "create":
                    record = self.new_record(resource)
                    if record is None:
                        if op in operations:
                            raise AssertionError(f"{resource} declares create but new_record() gave None")
                        continue
                    first = collection.create(record)
                elif op == "update":
                    target = first.id if first is not None else "missing"
                    collection.update(target, self.sample_changes(resource))
                else:
                    collection.delete(first.id if first is not None else "missing")
            except Unsupported:
                if op in operations:
                    raise AssertionError(f"{resource}.{op} is declared but raised Unsupported") from None
                continue
            except NotImplementedError:
                raise
            except FinconError as error:
                if op in operations:
                    raise AssertionError(
                        f"{resource}.{op} is declared but failed: {type(error).__name__}: {error}"
                    ) from error
                raise AssertionError(
                    f"{resource}.{op} is not declared, but raised {type(error).__name__}, not Unsupported"
                ) from error
            else:
                if op not in operations:
                    raise AssertionError(f"{resource}.{op} works but is not declared in capabilities")


def _assert_same_sequence(got: list[str], expected: list[str], *, what: str) -> None:
    """Fail with a sentence: how many, which were skipped, repeated, or out of order."""
    if got == expected:
        return
    seen: set[str] = set()
    repeated = [item for item in got if item in seen or seen.add(item)]  # type: ignore[func-returns-value]
    missing = [item for item in expected if item not in seen]
    extra = [item for item in seen if item not in set(expected)]
    problems = []
    if missing:
        problems.append(f"{len(missing)} skipped (first: {missing[0]})")
    if repeated:
        problems.append(f"{len(repeated)} repeated (first: {repeated[0]})")
    if extra:
        problems.append(f"{len(extra)} unexpected")
    if not problems:
        index = next(i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b)
        problems.append(f"out of order from position {index} ({got[index]} where {expected[index]} belongs)")
    raise AssertionError(
        f"{what} yielded {len(got)} records, expected {len(expected)}: {'; '.join(problems)}"
    )
