"""The Dynamics connector against SAP's fe-mockserver serving Business Central's v2.0 $metadata.

A third-party OData V4 server (not our emulator): list with filters and server-driven paging,
get, create, update with the record's ETag (``If-Match``), delete.
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


@pytest.mark.xfail(
    strict=True,
    reason="fe-mockserver answers a PATCH through the contained companies(...)/vendors(...) "
    "navigation with the parent company, not the vendor (seen with @sap-ux/fe-mockserver-core "
    "as pinned in tests/peer); unresolved",
)
def test_create_update_with_etag_and_delete(bc_server: PeerServer) -> None:
    with _connect(bc_server) as bc:
        created = bc.vendors.create(Vendor(name="Peer Supplies", email="ap@peer.example"))
        # fe-mockserver stores the create (201 with the entity) but assigns no Guid key, which
        # BC does; the update and delete below use a record whose id was given when it was made.
        assert (created.name, created.email) == ("Peer Supplies", "ap@peer.example")
        new_id = "0000000a-0000-0000-0000-0000000000ab"
        made = httpx.post(
            f"{bc_server.base_url}{BC_API}/companies({COMPANY})/vendors",
            json={"id": new_id, "number": "V9999", "displayName": "Peer Two"},
        )
        assert made.status_code == 201
        created = bc.vendors.get(new_id)
        updated = bc.vendors.update(created.id, {"email": "billing@peer.example"})
        assert updated.email == "billing@peer.example"
        assert bc.vendors.get(created.id).email == "billing@peer.example"
        bc.vendors.delete(created.id)
        with pytest.raises(fincon.NotFound):
            bc.vendors.get(created.id)
