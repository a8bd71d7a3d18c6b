"""OData V4 JSON ``$batch``: ``{"requests": [...]}`` in, ``{"responses": [...]}`` out.

Each request runs through the emulator like a request of its own (its hooks authenticate
it; the batch's headers are inherited, the request's own win). Requests sharing an
``atomicityGroup`` succeed or fail together: when one fails, the group's writes are undone
and every request of the group answers with that failure. A request whose ``dependsOn``
names a failed request or group answers ``424 Failed Dependency``. A ``url`` may be relative
to the service root, an absolute path, an absolute URL, or start with ``$<id>`` (the
``Location`` of an earlier request's answer).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from fincon.core.jsonenc import dumps as exact_dumps
from fincon.sandbox.odata._errors import ODataError

if TYPE_CHECKING:
    from fincon.sandbox.odata._service import ODataService, RequestContext

__all__ = ["run_json_batch"]

_PASSED_HEADERS = frozenset(
    {"etag", "location", "content-type", "odata-entityid", "preference-applied", "retry-after"}
)
_NOT_INHERITED = frozenset({"content-length", "content-type", "transfer-encoding", "host"})


def _requests(body: Any, limit: int | None) -> list[Mapping[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise ODataError(400, "INVALID_BATCH", "A JSON batch needs a 'requests' array")
    items: list[Mapping[str, Any]] = body["requests"]
    if limit is not None and len(items) > limit:
        raise ODataError(400, "INVALID_BATCH", f"A batch holds at most {limit} requests")
    ids: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("method"), str) or not item.get("url"):
            raise ODataError(400, "INVALID_BATCH", "Every batch request needs an id, a method and a url")
        if "id" not in item or str(item["id"]) in ids:
            raise ODataError(400, "INVALID_BATCH", "Every batch request needs an id of its own")
        ids.add(str(item["id"]))
    return items


def _url(ctx: RequestContext, root: str, url: str, locations: Mapping[str, str]) -> str:
    if url.startswith("$"):
        reference, _, rest = url[1:].partition("/")
        if reference not in locations:
            raise ODataError(400, "INVALID_BATCH", f"${reference} names no earlier answer with a Location")
        return locations[reference] + (f"/{rest}" if rest else "")
    if url.startswith(("http://", "https://")):
        return url
    if url.startswith("/"):
        return ctx.origin + url
    return f"{ctx.origin}{root}/{url}"


def _entry(item_id: str, response: httpx.Response) -> dict[str, Any]:
    response.read()
    entry: dict[str, Any] = {
        "id": item_id,
        "status": response.status_code,
        "headers": {k: v for k, v in response.headers.items() if k.lower() in _PASSED_HEADERS},
    }
    if response.content:
        if "json" in response.headers.get("content-type", ""):
            entry["body"] = json.loads(response.content, parse_float=Decimal)
        else:
            entry["body"] = response.content.decode("utf-8", "replace")
    return entry


def run_json_batch(
    service: ODataService,
    ctx: RequestContext,
    request: httpx.Request,
    dispatch: Callable[[httpx.Request], httpx.Response],
    body: Any,
) -> dict[str, Any]:
    """Run the batch ``body``; the answer's JSON body."""
    items = _requests(body, service.max_batch_requests)
    inherited = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_INHERITED}
    entries: dict[str, dict[str, Any]] = {}
    locations: dict[str, str] = {}
    failed: set[str] = set()  # ids and atomicity groups that failed
    groups: dict[str, list[Callable[[], None]]] = {}
    group_members: dict[str, list[str]] = {}
    group_failures: dict[str, dict[str, Any]] = {}
    for item in items:
        item_id = str(item["id"])
        group = item.get("atomicityGroup")
        group = str(group) if group is not None else None
        if group is not None:
            group_members.setdefault(group, []).append(item_id)
        depends = [str(name) for name in item.get("dependsOn") or []]
        if group is not None and group in group_failures:
            entries[item_id] = {**group_failures[group], "id": item_id}
            failed.add(item_id)
            continue
        if any(name in failed for name in depends):
            entries[item_id] = {"id": item_id, "status": 424, "headers": {}}
            failed.add(item_id)
            continue
        content = exact_dumps(item["body"]) if item.get("body") is not None else b""
        headers = {**inherited, **{str(k): str(v) for k, v in (item.get("headers") or {}).items()}}
        if content:
            headers.setdefault("Content-Type", "application/json")
        inner = httpx.Request(
            str(item["method"]).upper(),
            _url(ctx, service.root, str(item["url"]), locations),
            headers=headers,
            content=content,
        )
        inner.extensions["odata_batch"] = True
        journal = groups.setdefault(group, []) if group is not None else None
        service.begin_journal(journal)
        try:
            response = dispatch(inner)
        finally:
            service.begin_journal(None)
        entry = _entry(item_id, response)
        entries[item_id] = entry
        if "location" in response.headers:
            locations[item_id] = response.headers["location"]
        if response.status_code >= 400:
            failed.add(item_id)
            if group is not None:
                failed.add(group)
                group_failures[group] = entry
                for undo in reversed(groups.get(group, [])):
                    undo()
                for member in group_members[group]:
                    entries[member] = {**entry, "id": member}
                    failed.add(member)
                    locations.pop(member, None)
    return {"responses": [entries[str(item["id"])] for item in items]}
