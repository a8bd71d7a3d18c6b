"""The Dynamics connector against SAP's fe-mockserver serving Business Central's v2.0 $metadata.

A third-party OData V4 server (not our emulator): list with filters and server-driven paging,
get, create, update and delete (through a small write wrapper that says what it adds and why:
see :class:`BusinessCentralWrites`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

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


def _entity(body: bytes) -> dict[str, Any]:
    parsed = json.loads(body, parse_float=Decimal)
    return parsed if isinstance(parsed, dict) else {}


def content_etag(entity: dict[str, Any]) -> str:
    """A weak ETag over the entity's data (annotations left out), as the wrapper hands out."""
    data = {k: v for k, v in entity.items() if not k.startswith("@")}
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f'W/"{digest[:20]}"'


def _bc_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


class BusinessCentralWrites(httpx.BaseTransport):
    """What this test's harness adds to fe-mockserver for writes, because BC does it and the
    mock server does not (seen with @sap-ux/fe-mockserver-core as pinned in tests/peer):

    - BC assigns the GUID key of a created entity; fe-mockserver stores a POST without ``id``
      with no key at all, so the wrapper adds a fresh ``id`` to a create that has none;
    - fe-mockserver applies a PATCH through the contained ``companies(...)/vendors(...)``
      navigation to the parent company (and corrupts it), and keeps the contained collection
      apart from the ``vendors`` entity set; the wrapper sends vendor writes and reads by key
      to the ``vendors`` entity set of the same ``$metadata`` instead.

    - BC versions every entity with an ETag (``@odata.etag``) and refuses a PATCH or DELETE
      whose ``If-Match`` is stale (412) or missing (428); fe-mockserver sends no ETags for BC's
      metadata (it has no concurrency annotation), so the wrapper derives a weak ETag from the
      entity's content, adds it to single-entity answers and enforces ``If-Match`` on writes.
    """

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.rewritten: list[str] = []
        #: The ``If-Match`` header of every PATCH and DELETE, in order.
        self.if_match: list[str | None] = []
        #: The ETag of every entity answer, in order.
        self.etags: list[str] = []

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
        url = request.url.copy_with(path=path)
        if request.method in ("PATCH", "DELETE") and path.startswith(f"{BC_API}/vendors("):
            refused = self._check_if_match(url, request.headers.get("If-Match"))
            if refused is not None:
                return refused
        forwarded = httpx.Request(request.method, url, headers=headers, content=content)
        return self._with_etag(self.inner.handle_request(forwarded))

    def _check_if_match(self, url: httpx.URL, if_match: str | None) -> httpx.Response | None:
        self.if_match.append(if_match)
        if if_match is None:
            return _bc_error(428, "Precondition_Required", "If-Match is required for this request")
        current = self.inner.handle_request(httpx.Request("GET", url))
        current.read()
        if current.status_code != 200:
            return None  # let the mock server answer (404 and the like)
        if if_match != "*" and if_match != content_etag(_entity(current.content)):
            return _bc_error(412, "Precondition_Failed", "Another user has modified the record")
        return None

    def _with_etag(self, response: httpx.Response) -> httpx.Response:
        response.read()
        if response.status_code not in (200, 201) or not response.content:
            return response
        entity = _entity(response.content)
        if "value" in entity or "id" not in entity:
            return response  # a collection, or not an entity
        entity["@odata.etag"] = content_etag(entity)
        self.etags.append(entity["@odata.etag"])
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding", "transfer-encoding", "etag")
        }
        headers["ETag"] = entity["@odata.etag"]
        body = json.dumps(entity, default=str).encode()
        return httpx.Response(response.status_code, headers=headers, content=body)

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
        read_etag = wrapper.etags[-1]
        updated = bc.vendors.update(created.id, {"email": "billing@peer.example"})
        assert updated.email == "billing@peer.example"
        # The update carried the ETag of the version it was based on, not a blind ``*``.
        assert wrapper.if_match == [read_etag]
        assert bc.vendors.get(created.id).email == "billing@peer.example"

        # Someone else changes the vendor: an update based on the older version is refused.
        url = f"{bc_server.base_url}{BC_API}/vendors({created.id})"
        behind = wrapper.inner.handle_request(
            httpx.Request("PATCH", url, json={"phoneNumber": "+1 555 0100"}, headers={"If-Match": "*"})
        )
        assert behind.status_code in (200, 204)
        with pytest.raises(fincon.Conflict):
            bc.vendors.update(created.id, {"email": "late@peer.example"})
        assert bc.vendors.get(created.id).email == "billing@peer.example"

        bc.vendors.delete(created.id)
        assert wrapper.if_match[-1] == wrapper.etags[-1]  # the delete used the fresh version's ETag
        with pytest.raises(fincon.NotFound):
            bc.vendors.get(created.id)
    assert wrapper.rewritten  # every write went through the wrapper's entity-set mapping
    assert {entry.split(" ")[0] for entry in wrapper.rewritten} >= {"POST", "PATCH", "DELETE", "GET"}
