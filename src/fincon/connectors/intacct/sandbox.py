"""The Intacct sandbox: an emulator of the XML gateway, speaking the same XML.

- ``POST /ia/xml/xmlgw.phtml``; sender credentials checked in every ``control``;
- ``getAPISession`` with a ``<login>`` opens a session (``sessiontimeout`` after
  ``session_ttl`` seconds, ``locationid`` for an entity) and returns its ``endpoint``;
  ``expire_sessions()`` ends every live session (the next call fails authentication);
- ``readByQuery`` (pagesize up to 1,000) opens a result set, ``readMore`` continues it by
  ``resultId`` until ``numremaining`` is 0 (result sets belong to the company, so a new
  session can continue one); ``query`` pages by ``offset`` (up to 2,000) with XML filters
  (``RECORDNO`` compared as a number, ``RECORDNO >`` served from the collection's order);
  ``read`` by ``RECORDNO``, ``readByName`` by business key, ``inspect``;
- ``create`` for VENDOR, CUSTOMER, APBILL, ARINVOICE and GLBATCH (balanced), ``update`` and
  ``delete`` (by ``RECORDNO``) for VENDOR and CUSTOMER, ``update`` of draft APBILL and
  ARINVOICE (``ACTION`` Draft keeps it a draft, anything else posts it); duplicate business
  keys are refused as Intacct does (references from documents are not checked on delete);
- pages of collections nobody has changed are rendered once and then served from a
  bounded page cache, so serving a listing again costs little;
- unknown object names get Intacct's error, and every value echoed is escaped;
- failures are HTTP 200 with ``status`` failure and ``errormessage/error`` at the control,
  authentication or result level; injected throttling is HTTP 429 with ``GW-0010``.

Error numbers follow Intacct's families (``XL03`` gateway and XML, ``BL`` business logic,
``GW`` gateway); the exact numbers for sandbox-only conditions are the sandbox's own.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape

import httpx

from fincon.connectors.intacct._envelope import GATEWAY_PATH
from fincon.connectors.intacct._seed import ObjectData, render_fields, seed_factories
from fincon.connectors.intacct._values import flatten, format_timestamp, parse_date, parse_timestamp
from fincon.connectors.intacct._xml import parse_xml, text_of
from fincon.errors import FinconError
from fincon.sandbox import Emulator, IdScheme, PageCache, SeededCollection
from fincon.sandbox._faults import ResponseFault, ServerErrorFault, ThrottleFault

__all__ = ["IntacctEmulator"]

_LINES = {
    "APBILL": "APBILLITEMS",
    "ARINVOICE": "ARINVOICEITEMS",
    "GLBATCH": "ENTRIES",
    "APPYMT": "APPYMTDETAILS",
    "ARPYMT": "ARPYMTDETAILS",
    "PODOCUMENT": "PODOCUMENTENTRIES",
}
#: Line object -> (parent object, the line field holding the parent's RECORDNO).
_LINE_OBJECTS = {
    "APBILLITEM": ("APBILL", "RECORDKEY"),
    "ARINVOICEITEM": ("ARINVOICE", "RECORDKEY"),
    "GLENTRY": ("GLBATCH", "BATCHNO"),
    "APPYMTDETAIL": ("APPYMT", "PAYMENTKEY"),
    "ARPYMTDETAIL": ("ARPYMT", "PAYMENTKEY"),
    "PODOCUMENTENTRY": ("PODOCUMENT", "DOCHDRNO"),
}
#: Object -> (business key field, its id scheme for seeded records).
_NAME_KEYS = {
    "VENDOR": ("VENDORID", IdScheme("V", 6)),
    "CUSTOMER": ("CUSTOMERID", IdScheme("C", 6)),
    "GLACCOUNT": ("ACCOUNTNO", IdScheme("", 4, start=1000)),
    "CHECKINGACCOUNT": ("BANKACCOUNTID", IdScheme("CHK", 3)),
}
_MAX_RESULT_SETS = 1000


class _Failure(Exception):
    """A function (or the whole request) fails with Intacct errors."""

    def __init__(self, errorno: str, description2: str, *, correction: str = "") -> None:
        super().__init__(description2)
        self.errorno = errorno
        self.description2 = description2
        self.correction = correction

    def xml(self) -> str:
        return (
            f"<errormessage><error><errorno>{escape(self.errorno)}</errorno><description></description>"
            f"<description2>{escape(self.description2)}</description2>"
            f"<correction>{escape(self.correction)}</correction></error></errormessage>"
        )


@dataclass
class _Session:
    expires_at: datetime
    location: str


@dataclass
class _ResultSet:
    object: str
    tag: str
    only: set[str] | None
    position: int
    total: int
    page_size: int
    where: Callable[[Any], bool] | None
    pages: int = 0


def _xml_response(body: str, status: int = 200) -> httpx.Response:
    content = ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")
    return httpx.Response(
        status,
        headers={"Content-Type": "text/xml; charset=UTF-8", "Content-Length": str(len(content))},
        stream=httpx.ByteStream(content),
    )


class IntacctEmulator(Emulator):
    """An in-memory Intacct company behind the XML gateway.

    :param session_ttl: seconds a session lives.
    :param endpoint_path: the path of the endpoint ``getAPISession`` returns (on the
        request's own origin), so tests can see calls move to it.
    """

    system = "intacct"
    sender_id = "fincon_sandbox"
    sender_password = "sandbox-sender-password"  # noqa: S105 - made-up sandbox credentials
    company_id = "FINCON-SANDBOX"
    user_id = "ws_fincon"
    user_password = "sandbox-user-password"  # noqa: S105
    entities = ("US", "GB", "DE")

    def __init__(
        self, *, session_ttl: float = 3600.0, endpoint_path: str = GATEWAY_PATH, **options: Any
    ) -> None:
        super().__init__(**options)
        self.session_ttl = session_ttl
        self.endpoint_path = endpoint_path
        self.sessions: dict[str, _Session] = {}
        #: How many sessions ``getAPISession`` has opened.
        self.sessions_issued = 0
        self.result_sets: OrderedDict[str, _ResultSet] = OrderedDict()
        #: Every function name received, in order (tests check what clients send).
        self.functions_received: list[str] = []
        #: The path of every request received.
        self.paths_received: list[str] = []
        self.collections: dict[str, SeededCollection[ObjectData]] = {
            name: SeededCollection(
                name, factory, seed=self.seed, size=self.size, ids=IdScheme("", 0, start=1), clock=self.clock
            )
            for name, factory in seed_factories().items()
        }
        self._names: dict[str, dict[str, str]] = {name: {} for name in _NAME_KEYS}
        #: Rendered pages of collections nobody has changed (see :meth:`_rendered_page`).
        self.page_cache: PageCache[tuple[str, int]] = PageCache()

    @property
    def vendors(self) -> SeededCollection[ObjectData]:
        """The VENDOR collection."""
        return self.collections["VENDOR"]

    def credentials(self) -> dict[str, str]:
        return {
            "sender_id": self.sender_id,
            "sender_password": self.sender_password,
            "company_id": self.company_id,
            "user_id": self.user_id,
            "user_password": self.user_password,
        }

    def expire_sessions(self) -> None:
        """End every live session: the next call with one fails authentication."""
        past = self.clock.now() - timedelta(seconds=1)
        for session in self.sessions.values():
            session.expires_at = past

    # -- faults shaped like the gateway -----------------------------------------------------

    def fault_response(self, fault: ResponseFault, request: httpx.Request) -> httpx.Response:
        if isinstance(fault, ThrottleFault):
            response = _xml_response(
                "<response><control><status>failure</status></control>"
                + _Failure("GW-0010", "Rate limit exceeded: too many requests; retry later.").xml()
                + "</response>",
                status=fault.status,
            )
            response.headers["Retry-After"] = fault.retry_after_header(self.clock)
            return response
        if isinstance(fault, ServerErrorFault):
            body = b"<html><body><h1>Service Unavailable</h1></body></html>"
            return httpx.Response(fault.status, headers={"Content-Type": "text/html"}, content=body)
        return super().fault_response(fault, request)

    def internal_error(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            500, headers={"Content-Type": "text/html"}, content=b"<html>Internal error</html>"
        )

    # -- the gateway ------------------------------------------------------------------------

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        self.paths_received.append(request.url.path)
        if request.method != "POST" or request.url.path not in (GATEWAY_PATH, self.endpoint_path):
            return httpx.Response(
                404, headers={"Content-Type": "text/html"}, content=b"<html>Not found</html>"
            )
        try:
            root = parse_xml(request.content, what="request")
        except FinconError:
            return self._control_failure(
                "", _Failure("XL03000003", "XML Parse error: the request is not valid XML.")
            )
        control = root.find("control")
        control_id = text_of(control, "controlid", "") or ""
        if root.tag != "request" or control is None:
            return self._control_failure(
                control_id, _Failure("XL03000003", "XML Parse schema error: no <control>.")
            )
        if (
            text_of(control, "senderid") != self.sender_id
            or text_of(control, "password") != self.sender_password
        ):
            return self._control_failure(
                control_id,
                _Failure(
                    "XL03000005",
                    "Incorrect Intacct XML Partner ID or password.",
                    correction="Check the sender.",
                ),
            )
        if text_of(control, "dtdversion") != "3.0":
            return self._control_failure(
                control_id, _Failure("XL03000003", "Only dtdversion 3.0 is served here.")
            )
        head = (
            f"<control><status>success</status><senderid>{escape(self.sender_id)}</senderid>"
            f"<controlid>{escape(control_id)}</controlid><uniqueid>false</uniqueid><dtdversion>3.0</dtdversion></control>"
        )
        operations = [self._operation(operation, request) for operation in root.iterfind("operation")]
        return _xml_response(f"<response>{head}{''.join(operations)}</response>")

    def _control_failure(self, control_id: str, failure: _Failure) -> httpx.Response:
        return _xml_response(
            f"<response><control><status>failure</status><senderid>{escape(self.sender_id)}</senderid>"
            f"<controlid>{escape(control_id)}</controlid><uniqueid>false</uniqueid><dtdversion>3.0</dtdversion>"
            f"</control>{failure.xml()}</response>"
        )

    def _operation(self, operation: Any, request: httpx.Request) -> str:
        auth = operation.find("authentication")
        login = auth.find("login") if auth is not None else None
        now = self.clock.now()
        location = ""
        session_id: str | None = None
        failure = None
        if login is not None:
            location = text_of(login, "locationid", "") or ""
            if (
                text_of(login, "userid") != self.user_id
                or text_of(login, "companyid") != self.company_id
                or text_of(login, "password") != self.user_password
            ):
                failure = _Failure(
                    "XL03000006", "Sign-in information is incorrect. Please check your request."
                )
            elif location and location not in self.entities:
                failure = _Failure(
                    "XL03000006", f"Invalid entity (locationid) {location!r} for this company."
                )
        else:
            session_id = text_of(auth, "sessionid", "") or ""
            session = self.sessions.get(session_id)
            if session is None or session.expires_at <= now:
                failure = _Failure(
                    "XL03000006", "Invalid session: the session has expired or does not exist."
                )
            else:
                location = session.location
        if failure is not None:
            refused = "<authentication><status>failure</status></authentication>"
            return f"<operation>{refused}{failure.xml()}</operation>"
        expires = (
            self.sessions[session_id].expires_at if session_id else now + timedelta(seconds=self.session_ttl)
        )
        parts = [
            f"<operation><authentication><status>success</status><userid>{escape(self.user_id)}</userid>"
            f"<companyid>{escape(self.company_id)}</companyid><locationid>{escape(location)}</locationid>"
            f"<sessiontimestamp>{now.isoformat()}</sessiontimestamp>"
            f"<sessiontimeout>{expires.isoformat()}</sessiontimeout></authentication>"
        ]
        for function in operation.iterfind("content/function"):
            parts.append(self._function(function, request, location, session_id))
        parts.append("</operation>")
        return "".join(parts)

    def _function(self, function: Any, request: httpx.Request, location: str, session_id: str | None) -> str:
        control_id = escape(function.get("controlid") or "")
        body = next((child for child in function if isinstance(child.tag, str)), None)
        name = body.tag if body is not None else ""
        self.functions_received.append(name)
        handler = {
            "getAPISession": self._get_api_session,
            "readByQuery": self._read_by_query,
            "readMore": self._read_more,
            "query": self._query,
            "read": self._read,
            "readByName": self._read_by_name,
            "create": self._create,
            "update": self._update,
            "delete": self._delete,
            "inspect": self._inspect,
        }.get(name)
        try:
            if handler is None:
                raise _Failure("XL03000009", f"The function {name!r} is not served by the sandbox.")
            data = handler(body, request=request, location=location, session_id=session_id)
        except _Failure as failure:
            return (
                f"<result><status>failure</status><function>{escape(name)}</function>"
                f"<controlid>{control_id}</controlid>{failure.xml()}</result>"
            )
        return (
            f"<result><status>success</status><function>{escape(name)}</function>"
            f"<controlid>{control_id}</controlid>{data}</result>"
        )

    # -- sessions ---------------------------------------------------------------------------

    def _get_api_session(
        self, body: Any, *, request: httpx.Request, location: str, session_id: str | None
    ) -> str:
        wanted = text_of(body, "locationid", "") or location
        if wanted and wanted not in self.entities:
            raise _Failure("XL03000006", f"Invalid entity (locationid) {wanted!r}.")
        if session_id is None:
            session_id = secrets.token_urlsafe(24)
            self.sessions[session_id] = _Session(
                self.clock.now() + timedelta(seconds=self.session_ttl), wanted
            )
            self.sessions_issued += 1
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        return (
            f"<data><api><sessionid>{escape(session_id)}</sessionid>"
            f"<endpoint>{escape(origin + self.endpoint_path)}</endpoint>"
            f"<locationid>{escape(wanted)}</locationid></api></data>"
        )

    # -- reads ------------------------------------------------------------------------------

    def _collection(self, obj: str) -> SeededCollection[ObjectData]:
        collection = self.collections.get(obj)
        if collection is None:
            raise _Failure("BL01001973", f"Object definition {obj} not found.")
        return collection

    def _object(self, body: Any) -> str:
        """The ``<object>`` a function names, if it is one the sandbox holds.

        The name becomes a tag and a ``listtype`` in the answer, so only known names (plain
        letters and underscores) ever get there; anything else gets Intacct's error.
        """
        obj = text_of(body, "object", "") or ""
        if obj not in self.collections and obj not in _LINE_OBJECTS:
            raise _Failure("BL01001973", f"Object definition {obj} not found.")
        return obj

    @staticmethod
    def _fields(text: str | None) -> set[str] | None:
        names = [name.strip() for name in (text or "*").split(",") if name.strip()]
        return None if not names or "*" in names else set(names)

    def _render(self, data: ObjectData, tag: str, only: set[str] | None, obj: str) -> str:
        inner = data.inner if only is None else render_fields(data.fields, only)
        lines = ""
        container = _LINES.get(obj)
        if container is not None and data.lines and only is None and tag == obj:
            item = container[:-1].lower()
            lines = f"<{container}>" + "".join(f"<{item}>{inner}</{item}>" for inner in data.lines_inner)
            lines += f"</{container}>"
        return f"<{tag}>{inner}{lines}</{tag}>"

    def _rendered_page(
        self, obj: str, tag: str, only: set[str] | None, offset: int, size: int, where: Any
    ) -> tuple[str, int]:
        """The rendered records of a page and their count.

        A page of a collection nobody has changed, read without a filter, is the same every
        time: it is rendered once and served from :attr:`page_cache` afterwards, so serving
        a listing again costs a string copy, not a rebuild of every record (the benchmark
        then measures the clients, not the emulator).
        """
        collection = self.collections[obj]
        pristine = where is None and collection.changes == 0
        key = (obj, tag, None if only is None else tuple(sorted(only)), offset, size)
        if pristine:
            cached = self.page_cache.get(key)
            if cached is not None:
                return cached
        page = collection.page(size, offset=offset, where=where)
        rendered = "".join(self._render(item.data, tag, only, obj) for item in page.items), len(page.items)
        if pristine:
            self.page_cache.put(key, rendered, len(rendered[0]))
        return rendered

    def _read_by_query(self, body: Any, **_: Any) -> str:
        obj = self._object(body)
        collection = self._collection(obj)
        size = int(text_of(body, "pagesize", "100") or "100")
        if not 1 <= size <= 1000:
            raise _Failure("BL01001973", "pagesize must be from 1 to 1000 for readByQuery.")
        where = self._query_string(text_of(body, "query", "") or "", obj)
        where = self._with_docpar(where, body)
        total = collection.count() if where is None else sum(1 for _ in collection.iter(where=where))
        result = _ResultSet(obj, obj.lower(), self._fields(text_of(body, "fields")), 0, total, size, where)
        result_id = secrets.token_hex(12)
        self.result_sets[result_id] = result
        while len(self.result_sets) > _MAX_RESULT_SETS:
            self.result_sets.popitem(last=False)
        return self._serve(result_id, result)

    def _serve(self, result_id: str, result: _ResultSet) -> str:
        cursor = self.paging_cursor(
            ("readMore", result_id), None if result.pages == 0 else str(result.position)
        )
        if cursor is None and result.pages:
            result.position = 0  # the deliberate cycle: back to the first page
        result.pages += 1
        rendered, count = self._rendered_page(
            result.object, result.tag, result.only, result.position, result.page_size, result.where
        )
        result.position += count
        remaining = max(result.total - result.position, 0)
        if remaining == 0:
            self.result_sets.pop(result_id, None)
        return (
            f'<data listtype="{result.tag}" count="{count}" totalcount="{result.total}" '
            f'numremaining="{remaining}" resultId="{result_id if remaining else ""}">{rendered}</data>'
        )

    def _read_more(self, body: Any, **_: Any) -> str:
        result_id = text_of(body, "resultId", "") or ""
        result = self.result_sets.get(result_id)
        if result is None:
            raise _Failure("BL03000130", f"Invalid or expired resultId {result_id[:40]!r} for readMore.")
        return self._serve(result_id, result)

    def _query_string(self, query: str, obj: str) -> Callable[[Any], bool] | None:
        text = query.strip()
        if not text:
            return None
        field, sep, value = text.partition("=")
        value = value.strip()
        if (
            not sep
            or not field.strip().replace(".", "").isalnum()
            or len(value) < 2
            or value[0] != value[-1] != "'"
        ):
            raise _Failure(
                "BL01001973", "The sandbox understands readByQuery queries of the form FIELD = 'value'."
            )
        name, wanted = field.strip(), value[1:-1].replace("''", "'")
        return lambda record: record.data.fields.get(name) == wanted

    @staticmethod
    def _with_docpar(where: Callable[[Any], bool] | None, body: Any) -> Callable[[Any], bool] | None:
        docpar = text_of(body, "docparid")
        if not docpar:
            return where
        if where is None:
            return lambda record: record.data.fields.get("DOCPARID", docpar) == docpar
        return lambda record: record.data.fields.get("DOCPARID", docpar) == docpar and where(record)

    def _query(self, body: Any, **_: Any) -> str:
        obj = self._object(body)
        size = int(text_of(body, "pagesize", "100") or "100")
        offset = int(text_of(body, "offset", "0") or "0")
        if not 1 <= size <= 2000 or offset < 0:
            raise _Failure("BL01001973", "pagesize must be from 1 to 2000 and offset zero or more.")
        selected = {node.text or "" for node in body.iterfind("select/field")}
        only = None if "*" in selected or not selected else selected
        for order in body.iterfind("orderby/order"):
            if text_of(order, "field") != "RECORDNO" or order.find("descending") is not None:
                raise _Failure("BL01001973", "The sandbox orders by RECORDNO ascending only.")
        condition = body.find("filter")
        condition = next(iter(condition), None) if condition is not None else None
        if obj in _LINE_OBJECTS:
            return self._query_lines(obj, condition, only, offset, size)
        collection = self._collection(obj)
        since, after, rest = self._split_filter(condition)
        tests = [self._predicate(part) for part in rest]
        where = None if not tests else (lambda record: all(test(record) for test in tests))
        where = self._with_docpar(where, body)
        if where is None and since is None and after is None:
            total = collection.count()
            rendered, count = self._rendered_page(obj, obj, only, offset, size, None)
        elif where is None and after is None:
            total = collection.count(updated_since=since)
            page = collection.page(size, offset=offset, updated_since=since)
            count = len(page.items)
            rendered = "".join(self._render(item.data, obj, only, obj) for item in page.items)
        else:
            return self._query_after(obj, only, offset, size, since=since, after=after, where=where)
        remaining = max(total - offset - count, 0)
        return (
            f'<data listtype="{obj}" totalcount="{total}" offset="{offset}" count="{count}" '
            f'numremaining="{remaining}">{rendered}</data>'
        )

    def _query_after(
        self,
        obj: str,
        only: set[str] | None,
        offset: int,
        size: int,
        *,
        since: datetime | None,
        after: int | None,
        where: Callable[[Any], bool] | None,
    ) -> str:
        """A filtered ``query`` page: records above the RECORDNO ``after`` are walked in order
        (their indexes only, so skipping the ones below costs nothing)."""
        collection = self.collections[obj]
        # Sandbox RECORDNOs are the collection's ids: RECORDNO n is index n - 1.
        start = 0 if after is None else after
        chosen: list[Any] = []
        skipped = remaining = 0
        for index in collection.indexes(start=start, updated_since=since):
            if where is None and (skipped < offset or len(chosen) == size):
                # Counted, not built: building every record after the page would make
                # each page cost the whole collection.
                if skipped < offset:
                    skipped += 1
                else:
                    remaining += 1
                continue
            record = collection.get(collection.ids.format(index))
            if record is None or (where is not None and not where(record)):
                continue
            if skipped < offset:
                skipped += 1
            elif len(chosen) < size:
                chosen.append(record)
            else:
                remaining += 1
        rendered = "".join(self._render(record.data, obj, only, obj) for record in chosen)
        total = skipped + len(chosen) + remaining
        return (
            f'<data listtype="{obj}" totalcount="{total}" offset="{offset}" count="{len(chosen)}" '
            f'numremaining="{remaining}">{rendered}</data>'
        )

    def _query_lines(self, obj: str, condition: Any, only: set[str] | None, offset: int, size: int) -> str:
        parent, field = _LINE_OBJECTS[obj]
        if (
            condition is None
            or condition.tag not in ("in", "equalto")
            or text_of(condition, "field") != field
        ):
            raise _Failure("BL01001973", f"The sandbox reads {obj} by an 'in' filter on {field}.")
        collection = self.collections[parent]
        lines: list[tuple[dict[str, str], str]] = []
        for key in (node.text or "" for node in condition.iterfind("value")):
            record = collection.get(key)
            if record is not None:
                lines.extend(zip(record.data.lines, record.data.lines_inner, strict=True))
        chosen = lines[offset : offset + size]
        rendered = "".join(
            f"<{obj}>{inner if only is None else render_fields(line, only)}</{obj}>" for line, inner in chosen
        )
        remaining = max(len(lines) - offset - len(chosen), 0)
        return (
            f'<data listtype="{obj}" totalcount="{len(lines)}" offset="{offset}" count="{len(chosen)}" '
            f'numremaining="{remaining}">{rendered}</data>'
        )

    @classmethod
    def _split_filter(cls, condition: Any) -> tuple[datetime | None, int | None, list[Any]]:
        """``WHENMODIFIED >=`` and ``RECORDNO >`` (alone or in a top-level ``and``), served from
        the collection's order, and the filter's other conditions (all must hold)."""
        if condition is None:
            return None, None, []
        parts = (
            [child for child in condition if isinstance(child.tag, str)]
            if condition.tag == "and"
            else [condition]
        )
        since: datetime | None = None
        after: int | None = None
        rest: list[Any] = []
        for part in parts:
            field = text_of(part, "field")
            if since is None and part.tag == "greaterthanorequalto" and field == "WHENMODIFIED":
                since = cls._since(part)
            elif after is None and part.tag == "greaterthan" and field == "RECORDNO":
                after = _recordno_value(text_of(part, "value"))
            else:
                rest.append(part)
        return since, after, rest

    @staticmethod
    def _since(condition: Any) -> datetime | None:
        try:
            return parse_timestamp(text_of(condition, "value"), "WHENMODIFIED")
        except ValueError:
            raise _Failure("BL01001973", "WHENMODIFIED values are MM/DD/YYYY HH:MM:SS.") from None

    def _predicate(self, node: Any) -> Callable[[Any], bool]:
        tag = node.tag
        if tag in ("and", "or"):
            parts = [self._predicate(child) for child in node if isinstance(child.tag, str)]
            combine = all if tag == "and" else any
            return lambda record: combine(part(record) for part in parts)
        field = text_of(node, "field", "") or ""
        values = [child.text or "" for child in node.iterfind("value")]
        compare: dict[str, Callable[[Any, list[Any]], bool]] = {
            "equalto": lambda have, want: have == want[0],
            "notequalto": lambda have, want: have != want[0],
            "greaterthan": lambda have, want: have > want[0],
            "greaterthanorequalto": lambda have, want: have >= want[0],
            "lessthan": lambda have, want: have < want[0],
            "lessthanorequalto": lambda have, want: have <= want[0],
            "between": lambda have, want: want[0] <= have <= want[1],
            "in": lambda have, want: have in want,
        }
        if tag == "isnull":
            return lambda record: not record.data.fields.get(field)
        if tag not in compare:
            raise _Failure("BL01001973", f"The sandbox does not filter with <{tag}>.")
        test = compare[tag]
        wanted = [
            _recordno_value(value) if field == "RECORDNO" else _comparable(field, value) for value in values
        ]
        return lambda record: test(_comparable(field, record.data.fields.get(field, "")), wanted)

    def _read(self, body: Any, **_: Any) -> str:
        obj = self._object(body)
        collection = self._collection(obj)
        only = self._fields(text_of(body, "fields"))
        keys = [key.strip() for key in (text_of(body, "keys", "") or "").split(",") if key.strip()]
        found = [record for record in (collection.get(key) for key in keys) if record is not None]
        rendered = "".join(self._render(record.data, obj, only, obj) for record in found)
        return f'<data listtype="{obj}" count="{len(found)}">{rendered}</data>'

    def _recordno_by_name(self, obj: str, name: str) -> str | None:
        key, scheme = _NAME_KEYS[obj]
        created = self._names[obj].get(name)
        if created is not None:
            return created
        index = scheme.parse(name)
        collection = self.collections[obj]
        if index is None or index >= collection.size:
            return None
        record = collection.get(str(index + 1))
        return record.id if record is not None and record.data.fields.get(key) == name else None

    def _read_by_name(self, body: Any, **_: Any) -> str:
        obj = self._object(body)
        collection = self._collection(obj)
        if obj not in _NAME_KEYS:
            raise _Failure("BL01001973", f"{obj} has no name key for readByName.")
        only = self._fields(text_of(body, "fields"))
        rendered = []
        for name in (text_of(body, "keys", "") or "").split(","):
            recordno = self._recordno_by_name(obj, name.strip())
            record = collection.get(recordno) if recordno else None
            if record is not None:
                rendered.append(self._render(record.data, obj, only, obj))
        return f'<data listtype="{obj}" count="{len(rendered)}">{"".join(rendered)}</data>'

    def _inspect(self, body: Any, **_: Any) -> str:
        obj = self._object(body)
        collection = self._collection(obj)
        sample = next(iter(collection.iter()), None)
        names = list(sample.data.fields) if sample is not None else []
        fields = "".join(f"<Field>{escape(name)}</Field>" for name in names)
        described = f'<Type Name="{obj}" DocumentType=""><Fields>{fields}</Fields></Type>'
        return f'<data listtype="All" count="1">{described}</data>'

    # -- writes -----------------------------------------------------------------------------

    def _create(self, body: Any, **_: Any) -> str:
        node = next((child for child in body if isinstance(child.tag, str)), None)
        if node is None:
            raise _Failure("BL01001973", "create needs an object element.")
        obj = node.tag
        if obj not in ("VENDOR", "CUSTOMER", "APBILL", "ARINVOICE", "GLBATCH"):
            raise _Failure("BL01001973", f"The sandbox does not create {obj}.")
        collection = self._collection(obj)
        container = _LINES.get(obj)
        fields = flatten(node, skip=container or "")
        lines = (
            [flatten(line) for line in node.find(container)]
            if container and node.find(container) is not None
            else []
        )
        recordno = collection.next_id
        now = self.clock.now()
        if obj in _NAME_KEYS:
            key = _NAME_KEYS[obj][0]
            if not fields.get("NAME"):
                raise _Failure("BL34000061", f"Required field NAME is missing for {obj}.")
            name = fields.get(key) or f"{key[0]}-{recordno}"
            if self._recordno_by_name(obj, name) is not None:
                raise _Failure("BL34000061", f"Another {obj} with the given value(s) {name} already exists.")
            fields = {
                "RECORDNO": recordno,
                key: name,
                "STATUS": "active",
                **fields,
                "WHENMODIFIED": format_timestamp(now),
            }
            self._names[obj][name] = recordno
        elif obj == "GLBATCH":
            fields, lines = self._batch(fields, lines, recordno, now)
        else:
            fields, lines = self._document(obj, fields, lines, recordno, now)
        collection.create(ObjectData(fields, lines), at=now)
        echo = {
            k: fields[k]
            for k in ("RECORDNO", *(_NAME_KEYS[obj][:1] if obj in _NAME_KEYS else ()))
            if k in fields
        }
        return (
            f'<data listtype="objects" count="1"><{obj.lower()}>{render_fields(echo)}</{obj.lower()}></data>'
        )

    def _document(
        self, obj: str, fields: dict[str, str], lines: list[dict[str, str]], recordno: str, now: datetime
    ) -> tuple[dict[str, str], list[dict[str, str]]]:
        party = "VENDORID" if obj == "APBILL" else "CUSTOMERID"
        party_object = "VENDOR" if obj == "APBILL" else "CUSTOMER"
        party_recordno = self._recordno_by_name(party_object, fields.get(party, ""))
        if party_recordno is None:
            raise _Failure("BL03000018", f"Invalid {party} {fields.get(party, '')!r}.")
        party_record = self.collections[party_object].get(party_recordno)
        try:
            parse_date(fields.get("WHENCREATED"), "WHENCREATED")
            parse_date(fields.get("WHENDUE"), "WHENDUE")
        except ValueError as exc:
            raise _Failure("BL01001973", str(exc)) from None
        if not lines:
            raise _Failure("BL01001973", f"{obj} needs at least one line.")
        total = Decimal(0)
        stored = []
        for number, line in enumerate(lines, start=1):
            amount = _amount(line.get("TRX_AMOUNT"), f"line {number} TRX_AMOUNT")
            total += amount
            stored.append(
                {
                    "RECORDNO": f"{recordno}{number:02d}",
                    "RECORDKEY": recordno,
                    "LINE_NO": str(number),
                    **line,
                    "AMOUNT": format(amount, "f"),
                }
            )
        currency = fields.get("CURRENCY") or "USD"
        draft = fields.pop("ACTION", "") == "Draft"
        name_field = "VENDORNAME" if obj == "APBILL" else "CUSTOMERNAME"
        header = {
            "RECORDNO": recordno,
            **fields,
            name_field: party_record.data.fields.get("NAME", "") if party_record is not None else "",
            "CURRENCY": currency,
            "BASECURR": "USD",
            "TOTALENTERED": format(total, "f"),
            "TRX_TOTALENTERED": format(total, "f"),
            "TOTALDUE": format(total, "f"),
            "TRX_TOTALDUE": format(total, "f"),
            "STATE": "Draft" if draft else "Posted",
            "AUWHENCREATED": format_timestamp(now),
            "WHENMODIFIED": format_timestamp(now),
        }
        return header, stored

    def _batch(
        self, fields: dict[str, str], lines: list[dict[str, str]], recordno: str, now: datetime
    ) -> tuple[dict[str, str], list[dict[str, str]]]:
        try:
            parse_date(fields.get("BATCH_DATE"), "BATCH_DATE")
        except ValueError as exc:
            raise _Failure("BL01001973", str(exc)) from None
        net: dict[str, Decimal] = {}
        stored = []
        for number, line in enumerate(lines, start=1):
            amount = _amount(line.get("TRX_AMOUNT"), f"entry {number} TRX_AMOUNT")
            side = line.get("TR_TYPE")
            if side not in ("1", "-1"):
                raise _Failure("BL01001973", f"entry {number}: TR_TYPE must be 1 or -1.")
            currency = line.get("CURRENCY") or "USD"
            net[currency] = net.get(currency, Decimal(0)) + (amount if side == "1" else -amount)
            stored.append(
                {
                    "RECORDNO": f"{recordno}{number:02d}",
                    "BATCHNO": recordno,
                    "LINE_NO": str(number),
                    **line,
                    "AMOUNT": format(amount, "f"),
                    "CURRENCY": currency,
                }
            )
        if len(stored) < 2 or any(net.values()):
            raise _Failure("BL03000033", "The transaction is not balanced: debits and credits differ.")
        header = {
            "RECORDNO": recordno,
            "BATCHNO": recordno,
            "JOURNAL": "GJ",
            "BASECURR": "USD",
            "STATE": "Posted",
            **fields,
            "WHENMODIFIED": format_timestamp(now),
        }
        return header, stored

    def _update(self, body: Any, **_: Any) -> str:
        node = next((child for child in body if isinstance(child.tag, str)), None)
        if node is not None and node.tag in ("APBILL", "ARINVOICE"):
            return self._update_draft(node)
        if node is None or node.tag not in ("VENDOR", "CUSTOMER"):
            raise _Failure(
                "BL01001973", "The sandbox updates VENDOR, CUSTOMER and draft APBILL, ARINVOICE only."
            )
        obj = node.tag
        key = _NAME_KEYS[obj][0]
        changes = flatten(node)
        name = changes.get(key, "")
        recordno = self._recordno_by_name(obj, name)
        record = self.collections[obj].get(recordno) if recordno else None
        if record is None:
            raise _Failure("BL01001973", f"Could not find {obj} {name!r} to update.")
        fields = {**record.data.fields, **changes, "WHENMODIFIED": format_timestamp(self.clock.now())}
        self.collections[obj].update(record.id, ObjectData(fields, record.data.lines))
        tag = obj.lower()
        return f'<data listtype="objects" count="1"><{tag}><RECORDNO>{record.id}</RECORDNO></{tag}></data>'

    def _update_draft(self, node: Any) -> str:
        """A draft bill or invoice: header fields set, lines replaced when given, totals redone."""
        obj = node.tag
        container = _LINES[obj]
        recordno = text_of(node, "RECORDNO", "") or ""
        record = self.collections[obj].get(recordno) if recordno.isdigit() else None
        if record is None:
            raise _Failure("BL01001973", f"Could not find {obj} {recordno!r} to update.")
        if record.data.fields.get("STATE") != "Draft":
            raise _Failure(
                "BL01001973",
                f"{obj} {recordno} is {record.data.fields.get('STATE')}: only drafts can be updated.",
            )
        changes = flatten(node, skip=container)
        changes.pop("RECORDNO")
        holder = node.find(container)
        lines = [flatten(line) for line in holder] if holder is not None else record.data.lines
        computed = ("TOTALENTERED", "TRX_TOTALENTERED", "TOTALDUE", "TRX_TOTALDUE", "STATE", "WHENMODIFIED")
        fields = {k: v for k, v in record.data.fields.items() if k not in computed and k != "RECORDNO"}
        fields.update(changes)
        now = self.clock.now()
        header, stored = self._document(obj, fields, lines, recordno, now)
        self.collections[obj].update(record.id, ObjectData(header, stored), at=now)
        tag = obj.lower()
        return f'<data listtype="objects" count="1"><{tag}><RECORDNO>{recordno}</RECORDNO></{tag}></data>'

    def _delete(self, body: Any, **_: Any) -> str:
        obj = self._object(body)
        if obj not in ("VENDOR", "CUSTOMER"):
            raise _Failure("BL01001973", "The sandbox deletes VENDOR and CUSTOMER only.")
        collection = self.collections[obj]
        keys = [key.strip() for key in (text_of(body, "keys", "") or "").split(",") if key.strip()]
        found = [collection.get(key) for key in keys]
        missing = [key for key, record in zip(keys, found, strict=True) if record is None]
        if not keys or missing:
            raise _Failure(
                "BL01001973", f"Could not find {obj} {', '.join(missing) or '(no keys)'} to delete."
            )
        key_field = _NAME_KEYS[obj][0]
        for record in found:
            assert record is not None
            collection.delete(record.id)
            self._names[obj].pop(record.data.fields.get(key_field, ""), None)
        tag = obj.lower()
        echoed = "".join(f"<{tag}><RECORDNO>{escape(key)}</RECORDNO></{tag}>" for key in keys)
        return f'<data listtype="objects" count="{len(keys)}">{echoed}</data>'

    def records(self, obj: str) -> Iterator[ObjectData]:
        """Every stored object of ``obj``, in order (for tests)."""
        for record in self.collections[obj].iter():
            yield record.data


def _amount(text: str | None, what: str) -> Decimal:
    try:
        value = Decimal(text or "")
    except InvalidOperation:
        raise _Failure("BL01001973", f"{what} is not an amount.") from None
    if not value.is_finite() or value < 0:
        raise _Failure("BL01001973", f"{what} must be a positive amount.")
    return value


def _recordno_value(text: str | None) -> int:
    """A ``RECORDNO`` in a filter: an integer, compared as one (``"10" > "9"``)."""
    if not text or not text.isascii() or not text.isdigit():
        raise _Failure("BL01001973", f"RECORDNO values are integers, not {(text or '')[:40]!r}.")
    return int(text)


def _comparable(field: str, value: str) -> Any:
    if field == "RECORDNO":
        return int(value) if value.isascii() and value.isdigit() else -1
    if field.startswith("WHEN") and len(value) == 19:
        try:
            return parse_timestamp(value, field)
        except ValueError:
            return value
    return value
