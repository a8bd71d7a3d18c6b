"""OData ``$batch``: many operations in one HTTP request, writes grouped in atomic change sets.

Two wire forms:

- ``multipart/mixed`` (V2 and V4): :meth:`Batch.build` writes CRLF-delimited parts with
  random boundaries, change sets as nested ``multipart/mixed`` parts whose operations carry
  ``Content-Transfer-Encoding: binary`` and a ``Content-ID``;
- V4 JSON (``{"requests": [...]}``, Dynamics 365): :meth:`Batch.build_json`, change sets
  becoming ``atomicityGroup`` s.

:func:`parse_batch_response` reads either answer back into one :class:`OperationResult` per
operation, in request order. A change set fails as a whole: when the server answers a change
set with a single error response (V2) or fails an atomicity group (V4), every operation of
that change set gets the error and ``ok`` false.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from fincon.core.jsonenc import dumps as json_dumps
from fincon.errors import FinconError, ServerError, ValidationError
from fincon.protocols.odata._version import ODataVersion
from fincon.protocols.odata.errors import parse_odata_error

__all__ = [
    "Batch",
    "BatchRequest",
    "BatchResponse",
    "ChangeSet",
    "OperationResult",
    "parse_batch_response",
    "raise_for_failures",
]

CRLF = b"\r\n"
_TOKEN = re.compile(r"^[A-Za-z]+$")
_BOUNDARY_PARAM = re.compile(r'boundary\s*=\s*("([^"]+)"|[^;\s]+)', re.IGNORECASE)
_STATUS_LINE = re.compile(rb"^HTTP/\d(?:\.\d)?\s+(\d{3})(?:\s+(.*))?$")


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One operation: ``url`` is relative to the service root (``A_Supplier('1')``).

    ``body`` is JSON-able (encoded with exact decimals) or bytes sent as they are.
    """

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Writes applied all or nothing."""

    requests: tuple[BatchRequest, ...]


@dataclass(frozen=True, slots=True)
class BatchResponse:
    """One response inside a batch answer; header names are lower-case."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_id: str | None = None

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON with exact decimals (None for an empty body)."""
        if not self.body.strip():
            return None
        return json.loads(self.body, parse_float=Decimal)


@dataclass(frozen=True, slots=True)
class OperationResult:
    """The outcome of one operation of the batch."""

    request: BatchRequest
    response: BatchResponse
    #: Index of the change set the operation belonged to (None for a read outside one).
    changeset: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the operation succeeded (false for every member of a failed change set)."""
        return self.response.ok

    def error(self, *, system: str | None = None) -> FinconError | None:
        """The fincon error for a failed operation (parsed from its OData error body), or None."""
        if self.ok:
            return None
        response = httpx.Response(
            self.response.status, headers=dict(self.response.headers), content=self.response.body
        )
        return parse_odata_error(response, system=system)


def _check_line(value: str, what: str) -> str:
    # A CR or LF would end the line early and let a value write its own headers or requests.
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        raise ValidationError(f"the batch {what} {value!r} contains a line break", field=what)
    return value


def _encode_body(request: BatchRequest) -> tuple[bytes, dict[str, str]]:
    if request.body is None:
        return b"", {}
    if isinstance(request.body, (bytes, bytearray)):
        return bytes(request.body), {}
    try:
        return json_dumps(request.body), {"Content-Type": "application/json"}
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"a batch body cannot be encoded: {exc}", field="body") from None


class Batch:
    """A ``$batch`` under construction: reads and change sets, in order."""

    def __init__(self, version: ODataVersion, *, boundary: str | None = None) -> None:
        self.version = version
        self.boundary = boundary or f"batch_{uuid.uuid4().hex}"
        self.items: list[BatchRequest | ChangeSet] = []

    def add(self, request: BatchRequest) -> Batch:
        """Add a read outside any change set (GET only: writes belong in change sets)."""
        if request.method.upper() != "GET":
            raise ValidationError("only GET requests go outside a change set in a $batch", field="method")
        self.items.append(request)
        return self

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Batch:
        """Add a read."""
        return self.add(BatchRequest("GET", url, headers=dict(headers or {})))

    def changeset(self, *requests: BatchRequest) -> Batch:
        """Add writes applied all or nothing; each gets a Content-ID unless it has one."""
        if not requests:
            raise ValidationError("a change set needs at least one request", field="changeset")
        numbered: list[BatchRequest] = []
        for request in requests:
            if request.method.upper() == "GET":
                raise ValidationError("a change set holds writes, not GET requests", field="method")
            content_id = request.content_id or str(self._operation_count() + len(numbered) + 1)
            numbered.append(
                BatchRequest(request.method, request.url, request.body, dict(request.headers), content_id)
            )
        self.items.append(ChangeSet(tuple(numbered)))
        return self

    def _operation_count(self) -> int:
        return sum(len(item.requests) if isinstance(item, ChangeSet) else 1 for item in self.items)

    @property
    def operations(self) -> list[tuple[BatchRequest, int | None]]:
        """Every operation with the index of its change set (None outside one), in order."""
        out: list[tuple[BatchRequest, int | None]] = []
        changeset_index = 0
        for item in self.items:
            if isinstance(item, ChangeSet):
                out.extend((request, changeset_index) for request in item.requests)
                changeset_index += 1
            else:
                out.append((item, None))
        return out

    # -- multipart/mixed --------------------------------------------------------------------

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` of :meth:`build`'s body."""
        return f"multipart/mixed; boundary={self.boundary}"

    def build(self) -> tuple[bytes, str]:
        """The ``multipart/mixed`` body and its content type."""
        if not self.items:
            raise ValidationError("a $batch needs at least one request", field="batch")
        out: list[bytes] = []
        bodies: list[bytes] = []
        for item in self.items:
            out.append(b"--" + self.boundary.encode() + CRLF)
            if isinstance(item, ChangeSet):
                inner = f"changeset_{uuid.uuid4().hex}"
                out.append(f"Content-Type: multipart/mixed; boundary={inner}".encode() + CRLF + CRLF)
                for request in item.requests:
                    out.append(b"--" + inner.encode() + CRLF)
                    part, body = self._http_part(request)
                    out.append(part)
                    bodies.append(body)
                out.append(b"--" + inner.encode() + b"--" + CRLF)
            else:
                part, body = self._http_part(item)
                out.append(part)
                bodies.append(body)
        out.append(b"--" + self.boundary.encode() + b"--" + CRLF)
        content = b"".join(out)
        for body in bodies:
            if self.boundary.encode() in body:
                raise ValidationError("a batch body contains the batch boundary", field="body")
        return content, self.content_type

    def _http_part(self, request: BatchRequest) -> tuple[bytes, bytes]:
        method = _check_line(request.method.upper(), "method")
        if not _TOKEN.match(method):
            raise ValidationError(f"{method!r} is not an HTTP method", field="method")
        url = _check_line(request.url, "url")
        if " " in url:
            raise ValidationError(f"the batch url {url!r} contains a space (percent-encode it)", field="url")
        body, body_headers = _encode_body(request)
        lines = [b"Content-Type: application/http", b"Content-Transfer-Encoding: binary"]
        if request.content_id:
            lines.append(b"Content-ID: " + _check_line(request.content_id, "content_id").encode())
        head = [f"{method} {url} HTTP/1.1".encode()]
        headers = {"Accept": "application/json", **body_headers, **dict(request.headers)}
        if body:
            headers["Content-Length"] = str(len(body))
        for name, value in headers.items():
            head.append(
                f"{_check_line(name, 'header name')}: {_check_line(str(value), 'header value')}".encode()
            )
        part = CRLF.join(lines) + CRLF + CRLF + CRLF.join(head) + CRLF + CRLF + body + CRLF
        return part, body

    # -- V4 JSON batch ------------------------------------------------------------------------

    def build_json(self) -> tuple[bytes, str]:
        """The V4 JSON batch body (``{"requests": [...]}``) and ``application/json``."""
        if not self.version.is_v4:
            raise ValidationError("JSON $batch is OData V4 only; use build() for V2", field="batch")
        if not self.items:
            raise ValidationError("a $batch needs at least one request", field="batch")
        requests: list[dict[str, Any]] = []
        for index, (request, changeset) in enumerate(self.operations):
            entry: dict[str, Any] = {
                "id": request.content_id or f"r{index + 1}",
                "method": _check_line(request.method.upper(), "method"),
                "url": _check_line(request.url, "url"),
                "headers": {"Accept": "application/json", **dict(request.headers)},
            }
            if changeset is not None:
                entry["atomicityGroup"] = f"g{changeset + 1}"
            if request.body is not None:
                if isinstance(request.body, (bytes, bytearray)):
                    raise ValidationError("a JSON $batch carries JSON bodies, not bytes", field="body")
                entry["headers"].setdefault("Content-Type", "application/json")
                entry["body"] = request.body
            requests.append(entry)
        try:
            return json_dumps({"requests": requests}), "application/json"
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"a batch body cannot be encoded: {exc}", field="body") from None

    def json_ids(self) -> list[str]:
        """The ``id`` of each operation in :meth:`build_json`, in order."""
        return [request.content_id or f"r{index + 1}" for index, (request, _) in enumerate(self.operations)]


# -- parsing -----------------------------------------------------------------------------------


def _malformed(message: str, system: str | None) -> ServerError:
    return ServerError(f"cannot read the $batch response: {message}", system=system, code="malformed_batch")


def _boundary_of(content_type: str) -> str | None:
    match = _BOUNDARY_PARAM.search(content_type)
    if not match:
        return None
    return match.group(2) or match.group(1)


def _split_multipart(body: bytes, boundary: str) -> list[bytes]:
    """The parts between ``--boundary`` lines (the preamble and epilogue dropped)."""
    delimiter = re.escape(b"--" + boundary.encode())
    pattern = re.compile(rb"(?:^|\r?\n)" + delimiter + rb"(--)?[ \t]*(?:\r?\n|$)")
    pieces = pattern.split(body)
    parts: list[bytes] = []
    # pieces: preamble, marker, part, marker, part, ..., "--", epilogue
    for index in range(1, len(pieces) - 1, 2):
        if pieces[index] == b"--":
            return parts
        parts.append(pieces[index + 1])
    raise ValueError("no closing boundary")


def _split_head(data: bytes) -> tuple[dict[str, str], bytes]:
    match = re.search(rb"\r?\n\r?\n", data)
    if match is None:
        head, rest = data, b""
    else:
        head, rest = data[: match.start()], data[match.end() :]
    headers: dict[str, str] = {}
    for line in re.split(rb"\r?\n", head):
        if not line.strip():
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError(f"not a header line: {line[:60]!r}")
        headers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
    return headers, rest


def _http_response(data: bytes, content_id: str | None) -> BatchResponse:
    line_end = re.search(rb"\r?\n", data)
    status_line = data[: line_end.start()] if line_end else data
    match = _STATUS_LINE.match(status_line.strip())
    if not match:
        raise ValueError(f"not an HTTP status line: {status_line[:60]!r}")
    headers, body = _split_head(data[line_end.end() :] if line_end else b"")
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) <= len(body):
        body = body[: int(length)]
    return BatchResponse(int(match.group(1)), headers, body, content_id or headers.get("content-id"))


def _parse_part(data: bytes) -> BatchResponse | list[BatchResponse]:
    headers, rest = _split_head(data)
    content_type = headers.get("content-type", "")
    if content_type.lower().startswith("multipart/mixed"):
        boundary = _boundary_of(content_type)
        if boundary is None:
            raise ValueError("a change set without a boundary")
        responses = []
        for part in _split_multipart(rest, boundary):
            inner_headers, inner = _split_head(part)
            responses.append(_http_response(inner, inner_headers.get("content-id")))
        return responses
    return _http_response(rest, headers.get("content-id"))


def parse_batch_response(
    batch: Batch,
    content: bytes,
    content_type: str,
    *,
    system: str | None = None,
) -> list[OperationResult]:
    """One result per operation of ``batch``, in order, from the server's answer.

    :raises ServerError: (code ``malformed_batch``) when the answer cannot be read or does
        not match the batch.
    """
    try:
        if content_type.lower().startswith("application/json"):
            return _parse_json(batch, content, system)
        boundary = _boundary_of(content_type)
        if boundary is None:
            raise ValueError("the content type has no boundary")
        parts = [_parse_part(part) for part in _split_multipart(content, boundary)]
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _malformed(str(exc), system) from None
    if len(parts) != len(batch.items):
        raise _malformed(f"{len(parts)} parts answer {len(batch.items)} requests", system)
    results: list[OperationResult] = []
    changeset_index = 0
    for item, part in zip(batch.items, parts, strict=True):
        if isinstance(item, ChangeSet):
            results.extend(_changeset_results(item, part, changeset_index, system))
            changeset_index += 1
        else:
            if isinstance(part, list):
                raise _malformed("a change set answers a single request", system)
            results.append(OperationResult(item, part))
    return results


def _changeset_results(
    changeset: ChangeSet, part: BatchResponse | list[BatchResponse], index: int, system: str | None
) -> list[OperationResult]:
    if isinstance(part, BatchResponse):
        # The whole change set failed (or, for a successful one, a server that does not nest).
        if part.ok and len(changeset.requests) > 1:
            raise _malformed("a change set of several writes was answered by one response", system)
        return [OperationResult(request, part, index) for request in changeset.requests]
    if len(part) != len(changeset.requests):
        if any(not response.ok for response in part):
            failed = next(response for response in part if not response.ok)
            return [OperationResult(request, failed, index) for request in changeset.requests]
        raise _malformed(f"{len(part)} responses answer a change set of {len(changeset.requests)}", system)
    by_id = {response.content_id: response for response in part if response.content_id}
    results: list[OperationResult] = []
    for position, request in enumerate(changeset.requests):
        matched = by_id.get(request.content_id) if request.content_id else None
        response = matched if matched is not None else part[position]
        results.append(OperationResult(request, response, index))
    if any(not result.ok for result in results):
        # All or nothing: a failure anywhere means nothing in the change set was applied.
        failed = next(result.response for result in results if not result.ok)
        return [OperationResult(r.request, r.response if not r.ok else failed, index) for r in results]
    return results


def _parse_json(batch: Batch, content: bytes, system: str | None) -> list[OperationResult]:
    body = json.loads(content, parse_float=Decimal)
    if not isinstance(body, Mapping) or not isinstance(body.get("responses"), list):
        raise ValueError("a JSON batch answer has no 'responses' list")
    by_id: dict[str, BatchResponse] = {}
    for entry in body["responses"]:
        if not isinstance(entry, Mapping) or "id" not in entry or not isinstance(entry.get("status"), int):
            raise ValueError("a JSON batch response without id or status")
        headers = {str(k).lower(): str(v) for k, v in (entry.get("headers") or {}).items()}
        raw = entry.get("body")
        payload = b"" if raw is None else (raw.encode() if isinstance(raw, str) else json_dumps(raw))
        by_id[str(entry["id"])] = BatchResponse(int(entry["status"]), headers, payload, str(entry["id"]))
    ids = batch.json_ids()
    operations = batch.operations
    failed_groups: dict[int, BatchResponse] = {}
    for (_, changeset), op_id in zip(operations, ids, strict=True):
        response = by_id.get(op_id)
        if changeset is not None and response is not None and not response.ok:
            failed_groups.setdefault(changeset, response)
    results: list[OperationResult] = []
    for (request, changeset), op_id in zip(operations, ids, strict=True):
        response = by_id.get(op_id)
        if changeset is not None and changeset in failed_groups:
            failure = failed_groups[changeset]
            response = response if response is not None and not response.ok else failure
        if response is None:
            raise ValueError(f"no response for request {op_id!r}")
        results.append(OperationResult(request, response, changeset))
    return results


def raise_for_failures(results: Sequence[OperationResult], *, system: str | None = None) -> None:
    """Raise the first failed operation's fincon error, if any."""
    for result in results:
        error = result.error(system=system)
        if error is not None:
            raise error
