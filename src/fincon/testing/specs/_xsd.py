"""XML Schema contracts (lxml/libxml2), e.g. Sage Intacct's v3.0 ``api.xsd``."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fincon.testing.specs._errors import Problem, SpecLoadError, SpecViolation
from fincon.testing.specs._locate import describe_file
from fincon.testing.specs._patches import XSD_PATCHES, XsdPatch, apply_xsd_patches

__all__ = ["XmlSchemaContract"]

MAX_ERRORS = 20


def _parser() -> Any:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


@dataclass
class _Compiled:
    """A compiled schema shared by every contract on the same file, with the lock its error log needs."""

    schema: Any
    patches_applied: dict[str, int]
    load_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)


@functools.lru_cache(maxsize=16)
def _load(path: str, stamp: tuple[int, int], patches: tuple[XsdPatch, ...]) -> _Compiled:
    from lxml import etree

    started = time.perf_counter()
    try:
        tree = etree.parse(path, _parser())
    except (OSError, etree.XMLSyntaxError) as exc:
        raise SpecLoadError(f"cannot parse {path}: {exc}") from exc
    applied = apply_xsd_patches(tree, patches)
    try:
        schema = etree.XMLSchema(tree)
    except etree.XMLSchemaParseError as exc:
        raise SpecLoadError(f"libxml2 rejects the schema {path}: {exc}") from exc
    return _Compiled(schema, applied, time.perf_counter() - started)


class XmlSchemaContract:
    """An XML Schema to validate request and response documents with.

    Compiled once per process per file (and patches); validation is serialised with a lock
    because an lxml schema keeps the last run's error log on itself. Documents are parsed with
    entities and network access off.

    :param xsd_path: the ``.xsd`` file (``xs:include``/``xs:import`` resolve from the file system).
    :param patches: load-time patches (default: all known ones, see ``docs/spec-checks.md``).
    """

    def __init__(
        self, xsd_path: str | os.PathLike[str], *, patches: Iterable[XsdPatch] | None = None
    ) -> None:
        self.path = Path(xsd_path).resolve()
        try:
            status = self.path.stat()
        except OSError as exc:
            raise SpecLoadError(f"cannot read {self.path}: {exc}") from exc
        chosen = tuple(XSD_PATCHES if patches is None else patches)
        self._compiled = _load(str(self.path), (status.st_size, status.st_mtime_ns), chosen)
        self.load_seconds = self._compiled.load_seconds
        self.name = f"XML Schema {describe_file(self.path)}"

    def __repr__(self) -> str:
        return f"XmlSchemaContract({self.name})"

    @property
    def patches_applied(self) -> dict[str, int]:
        """Patch name to number of places changed, for patches that changed something."""
        return dict(self._compiled.patches_applied)

    def problems(self, document: bytes | str | Any) -> list[Problem]:
        """Every problem with ``document`` (XML bytes/text, an lxml element or tree); empty when valid."""
        from lxml import etree

        if isinstance(document, str):
            document = document.encode("utf-8")
        if isinstance(document, (bytes, bytearray)):
            try:
                document = etree.fromstring(bytes(document), _parser())
            except etree.XMLSyntaxError as exc:
                return [Problem(f"line {exc.lineno}", f"not well-formed XML: {exc.msg}")]
        root = document.getroot() if hasattr(document, "getroot") else document
        entities = [node for node in root.iter(etree.Entity)]
        if entities:
            # libxml2 cannot validate unexpanded references, and expanding them is what attacks want.
            names = ", ".join(sorted({f"&{node.name};" for node in entities}))
            return [Problem(f"line {entities[0].sourceline}", f"entity references are not expanded: {names}")]
        compiled = self._compiled
        with compiled.lock:
            valid = compiled.schema.validate(document)
            log = list(compiled.schema.error_log) if not valid else []
        return [Problem(_where(entry), str(entry.message)) for entry in log]

    def validate(self, document: bytes | str | Any, *, what: str = "document") -> None:
        """Validate ``document``.

        :raises SpecViolation: listing the first errors with line numbers and element paths.
        """
        problems = self.problems(document)
        if problems:
            raise SpecViolation(self.name, what, problems[:MAX_ERRORS])

    def check_request(self, request: httpx.Request) -> None:
        """Validate the XML body of a request."""
        self.validate(request.content, what=f"{request.method} {request.url.path} request body")

    def check_response(self, response: httpx.Response, request: httpx.Request | None = None) -> None:
        """Validate the XML body of a response (read it first)."""
        request = request if request is not None else response.request
        what = f"{request.method} {request.url.path} response {response.status_code} body"
        self.validate(response.content, what=what)


def _where(entry: Any) -> str:
    parts = []
    if entry.line:
        parts.append(f"line {entry.line}")
    if getattr(entry, "path", None):
        parts.append(str(entry.path))
    return ", ".join(parts)
