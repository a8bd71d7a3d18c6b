"""The Dynamics connector against SAP's fe-mockserver serving Business Central's v2.0 $metadata.

A third-party OData V4 server (not our emulator): list with filters and server-driven paging,
get, create, update and delete (through a small write wrapper that says what it adds and why:
see :class:`BusinessCentralWrites`).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from harness import FeMockserverFactory, PeerServer

import fincon
from fincon.auth import Bearer
from fincon.models import Vendor

pytestmark = pytest.mark.peer

BC_EDMX = "dynamics365-bc/api-v2.0/metadata.xml"
BC_API = "/api/v2.0"
COMPANY = "11111111-2222-3333-4444-555555555555"
VENDORS = [
    {
        "id": str(uuid.UUID(int=i)),
        "number": f"V{i:04d}",
        "displayName": f"Vendor {i}",
        "email": f"v{i}@example.com",
    }
    for i in range(1, 9)
]


@pytest.fixture(scope="module")
def bc_server(fe_mockserver: FeMockserverFactory, tmp_path_factory: pytest.TempPathFactory) -> PeerServer:
    data: Path = tmp_path_factory.mktemp("dynamics-peer")
    (data / "vendors.json").write_text(json.dumps(VENDORS))
    company = {"id": COMPANY, "name": "CRONUS", "displayName": "CRONUS Ltd", "vendors": VENDORS}
    (data / "companies.json").write_text(json.dumps([company]))
    return fe_mockserver({BC_API: BC_EDMX}, mockdata={BC_API: data}, page_size=3, fresh=True)


def _connect(server: PeerServer) -> fincon.Connector:
    return fincon.connect(
        "dynamics",
        base_url=f"{server.base_url}{BC_API}",
        company=COMPANY,
        auth=Bearer("peer-test-token"),
        local_currency="USD",
        share_limits=False,
    )


def test_list_with_filters_and_paging_then_get(bc_server: PeerServer) -> None:
    with _connect(bc_server) as bc:
        pages = list(bc.vendors.list(page_size=2).pages())
        names = [vendor.name for page in pages for vendor in page.items]
        assert names == [v["displayName"] for v in VENDORS]
        assert len(pages) == 4  # maxpagesize=2 honoured, nextLink followed to the end
        found = list(bc.vendors.list(filters={"name": "Vendor 6"}))
        assert [vendor.id for vendor in found] == [VENDORS[5]["id"]]
        one = bc.vendors.get(VENDORS[2]["id"])
        assert (one.name, one.email) == ("Vendor 3", "v3@example.com")


class BusinessCentralWrites(httpx.BaseTransport):
    """What this test's harness adds to fe-mockserver for writes, because BC does it and the
    mock server does not (seen with @sap-ux/fe-mockserver-core as pinned in tests/peer):

    - BC assigns the GUID key of a created entity; fe-mockserver stores a POST without ``id``
      with no key at all, so the wrapper adds a fresh ``id`` to a create that has none;
    - fe-mockserver applies a PATCH through the contained ``companies(...)/vendors(...)``
      navigation to the parent company (and corrupts it), and keeps the contained collection
      apart from the ``vendors`` entity set; the wrapper sends vendor writes and reads by key
      to the ``vendors`` entity set of the same ``$metadata`` instead.

    fe-mockserver sends no ETags for BC's metadata (no concurrency annotation), so the
    connector reads the entity before writing, finds none, and sends ``If-Match: *``; ETag
    round trips are covered against the emulator in ``tests/connectors/dynamics``.
    """

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.rewritten: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        prefix = f"{BC_API}/companies({COMPANY})/vendors"
        path = request.url.path
        content = request.content
        if request.method == "POST" and path == prefix:
            body = json.loads(content)
            body.setdefault("id", str(uuid.uuid4()))
            content = json.dumps(body).encode()
        if path.startswith(prefix) and (request.method != "GET" or path != prefix):
            path = f"{BC_API}/vendors{path[len(prefix) :]}"
            self.rewritten.append(f"{request.method} {path}")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        forwarded = httpx.Request(
            request.method, request.url.copy_with(path=path), headers=headers, content=content
        )
        return self.inner.handle_request(forwarded)

    def close(self) -> None:
        self.inner.close()


def test_create_update_and_delete(bc_server: PeerServer) -> None:
    wrapper = BusinessCentralWrites()
    with fincon.connect(
        "dynamics",
        base_url=f"{bc_server.base_url}{BC_API}",
        company=COMPANY,
        auth=Bearer("peer-test-token"),
        local_currency="USD",
        share_limits=False,
        transport=wrapper,
    ) as bc:
        created = bc.vendors.create(Vendor(name="Peer Supplies", email="ap@peer.example"))
        assert (created.name, created.email) == ("Peer Supplies", "ap@peer.example")
        assert str(uuid.UUID(created.id)) == created.id
        assert bc.vendors.get(created.id).name == "Peer Supplies"
        updated = bc.vendors.update(created.id, {"email": "billing@peer.example"})
        assert updated.email == "billing@peer.example"
        assert bc.vendors.get(created.id).email == "billing@peer.example"
        bc.vendors.delete(created.id)
        with pytest.raises(fincon.NotFound):
            bc.vendors.get(created.id)
    assert [entry.split(" ")[0] for entry in wrapper.rewritten] == [
        "POST",
        "GET",
        "GET",
        "PATCH",
        "GET",
        "GET",
        "DELETE",
        "GET",
    ]
