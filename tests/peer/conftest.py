"""Session fixtures that start third-party mock servers (Prism, fe-mockserver) on loopback.

    def test_accounts(prism_server: PrismFactory) -> None:
        server = prism_server("obie/v4.0/account-info-openapi.yaml")
        httpx.get(server.base_url + "/accounts", headers={"Authorization": "Bearer x"})

    def test_suppliers(fe_mockserver: FeMockserverFactory) -> None:
        bp = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
        server = fe_mockserver({bp: "sap-s4hana/API_BUSINESS_PARTNER.edmx"}, page_size=100, csrf=True)

Spec paths are relative to the vendor specs folder ($FINCON_SPECS, else <repo>/../shared/specs); a
missing folder skips the test. Missing Node skips, except in CI where it fails. Every server is
stopped when the session ends, also after failures; identical servers are shared across tests.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator

import pytest
from harness import (
    FeMockserverFactory,
    NodeTools,
    PeerServerPool,
    PrismFactory,
    ensure_node_modules,
    require_node,
)


@pytest.fixture(scope="session")
def node_tools() -> NodeTools:
    """Node and npm, with tests/peer/node_modules installed from the lockfile (`npm ci`, once)."""
    tools = require_node()
    ensure_node_modules(tools)
    return tools


@pytest.fixture(scope="session")
def peer_servers(node_tools: NodeTools) -> Iterator[PeerServerPool]:
    pool = PeerServerPool(node_tools)
    # Fixture teardown is the normal path; atexit covers an interpreter that exits without it.
    atexit.register(pool.close)
    try:
        yield pool
    finally:
        atexit.unregister(pool.close)
        pool.close()


@pytest.fixture(scope="session")
def prism_server(peer_servers: PeerServerPool) -> PrismFactory:
    """`prism_server(spec_relpath, dynamic=False, errors=False)` -> a running Prism mock of that spec."""
    return peer_servers.prism


@pytest.fixture(scope="session")
def fe_mockserver(peer_servers: PeerServerPool) -> FeMockserverFactory:
    """`fe_mockserver({url_path: edmx_relpath}, page_size=0, csrf=False, ...)` -> a running wrapper."""
    return peer_servers.fe_mockserver
