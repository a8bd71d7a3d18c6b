"""The cassette guard: a vcrpy persister that scrubs, checks for leaks, then writes atomically.

Internal to :mod:`fincon.testing.cassettes`, which re-exports :class:`CassetteGuard`.
"""

from __future__ import annotations

import io
import os
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fincon.core.redaction import redact
from fincon.errors import ConfigError
from fincon.testing._cassette_rules import CassetteLeak
from fincon.testing._cassette_scrub import CassetteScrubber
from fincon.testing._cassette_secrets import MIN_SECRET_LENGTH, SecretMatcher

__all__ = ["CassetteGuard"]

_MAX_LOCATIONS = 8


@dataclass(frozen=True)
class _Check:
    label: str
    text: Callable[[str], bool]
    data: Callable[[bytes], bool]


def _registered_in_text(text: str) -> bool:
    return redact(text) != text


def _registered_in_bytes(data: bytes) -> bool:
    text = data.decode("latin-1")
    return redact(text) != text


class CassetteGuard:
    """A vcrpy persister: scrubs every interaction, refuses leaks, and writes atomically.

    Before a cassette is saved it is scrubbed once more (so hooks that ran after recording cannot
    bring a secret back), serialised, and the serialised text, read back with the same
    serializer, is searched for each canary, each of the scrubber's extra secrets and every
    registered secret, in their encoded forms too (percent-, JSON-, XML-escaped, Base64,
    inside gzip). If any is found, :class:`CassetteLeak` is raised and nothing is written;
    otherwise the file is replaced atomically, so a failure never leaves half a cassette.

    Use it with your own vcrpy configuration: ``my_vcr.register_persister(CassetteGuard(...))``.

    Args:
        canaries: planted fake secrets that must never reach a cassette (at least 6 characters).
        scrubber: the scrubber applied before saving; ``None`` for the default one.
    """

    def __init__(self, canaries: Iterable[str] = (), *, scrubber: CassetteScrubber | None = None) -> None:
        self.canaries = tuple(canaries)
        for index, canary in enumerate(self.canaries):
            if not isinstance(canary, str) or len(canary) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    f"canaries[{index}] must be a string of at least {MIN_SECRET_LENGTH} characters"
                )
        self.scrubber = scrubber if scrubber is not None else CassetteScrubber()
        checks = [
            _Check(f"canary #{index + 1}", matcher.search, matcher.search_bytes)
            for index, matcher in enumerate(SecretMatcher([canary]) for canary in self.canaries)
        ]
        if self.scrubber.extra_secrets:
            extra = SecretMatcher(self.scrubber.extra_secrets)
            checks.append(_Check("a value from extra_secrets", extra.search, extra.search_bytes))
        self._checks = tuple(checks)
        # One pass over every value finds whether any guarded value is there; only then is each
        # checked on its own to say which (a cassette of large bodies and many canaries stays fast).
        every = SecretMatcher((*self.canaries, *self.scrubber.extra_secrets))
        self._any = _Check(
            "any",
            lambda text: every.search(text) or _registered_in_text(text),
            lambda data: every.search_bytes(data) or _registered_in_bytes(data),
        )
        self._registered = _Check("a registered secret", _registered_in_text, _registered_in_bytes)

    def load_cassette(self, cassette_path: str | os.PathLike[str], serializer: Any) -> Any:
        """Read a cassette (UTF-8), as vcrpy's filesystem persister does."""
        from vcr.persisters.filesystem import CassetteDecodeError, CassetteNotFoundError
        from vcr.serialize import deserialize

        path = Path(cassette_path)
        if not path.is_file():
            raise CassetteNotFoundError()
        try:
            data = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise CassetteDecodeError("Can't read the cassette: it is not UTF-8") from error
        if not data.strip():
            raise CassetteNotFoundError()
        return deserialize(data, serializer)

    def save_cassette(
        self, cassette_path: str | os.PathLike[str], cassette_dict: Any, serializer: Any
    ) -> None:
        """Scrub, serialise, check and write ``cassette_dict``; raise :class:`CassetteLeak` on a leak."""
        from vcr.serialize import serialize

        scrubbed = dict(cassette_dict)
        scrubbed["requests"] = [self.scrubber.scrub_request(request) for request in cassette_dict["requests"]]
        scrubbed["responses"] = [
            self.scrubber.scrub_response(response) for response in cassette_dict["responses"]
        ]
        data = serialize(scrubbed, serializer)
        path = Path(cassette_path)
        self.check(data, serializer, name=path.name)
        _write_atomically(path, data)

    def check(self, data: str, serializer: Any, *, name: str = "cassette") -> None:
        """Raise :class:`CassetteLeak` if the serialised cassette ``data`` holds a guarded value."""
        found: dict[str, list[str]] = {}
        checks = (*self._checks, self._registered)
        for path, leaf in _leaves(serializer.deserialize(data), ()):
            if _holds(self._any, leaf):
                for check in checks:
                    if _holds(check, leaf):
                        found.setdefault(check.label, []).append(self._where(path))
        if self._any.text(data):
            for check in checks:
                if check.label not in found and check.text(data):
                    found[check.label] = ["the serialised cassette"]
        if not found:
            return
        locations = [
            f"{label} in {where}" for label, places in found.items() for where in dict.fromkeys(places)
        ]
        shown = "; ".join(locations[:_MAX_LOCATIONS])
        more = f" (and {len(locations) - _MAX_LOCATIONS} more)" if len(locations) > _MAX_LOCATIONS else ""
        message = (
            f"cassette {self._safe(name, 'file')!r} was not written: {shown}{more} would still be in it "
            "after scrubbing. Add a rule for that place (scrub_fields=, scrub_headers=, scrub_xml_elements=, "
            "extra_secrets=; see docs/cassettes.md)."
        )
        if self._any.text(message):  # never let the message itself leak
            message = "a cassette was not written: a guarded secret would still be in it after scrubbing"
            locations = []
        raise CassetteLeak(message, locations=locations)

    def _where(self, path: tuple[Any, ...]) -> str:
        if len(path) >= 3 and path[0] == "interactions" and isinstance(path[1], int):
            where = f"interaction {path[1] + 1} {self._safe(str(path[2]), 'part')}"
            rest = path[3:]
            if rest[:1] == ("headers",) and len(rest) > 1:
                return f"{where} header {self._safe(str(rest[1]), 'name')!r}"
            if rest and isinstance(rest[0], str):
                return f"{where} {self._safe(rest[0], 'field')}"
            return where
        if path and isinstance(path[0], str):
            return f"the cassette's {self._safe(path[0], 'data')}"
        return "the cassette"

    def _safe(self, text: str, fallback: str) -> str:
        return fallback if self._any.text(text) else text


def _holds(check: _Check, leaf: str | bytes) -> bool:
    if isinstance(leaf, str):
        return check.text(leaf)
    return any(check.data(variant) for variant in _byte_variants(leaf))


def _byte_variants(data: bytes) -> Iterator[bytes]:
    yield data
    for wbits in (zlib.MAX_WBITS | 32, -zlib.MAX_WBITS):  # gzip or zlib (auto-detected), raw deflate
        with suppress(zlib.error):
            yield zlib.decompressobj(wbits).decompress(data)


def _leaves(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str | bytes]]:
    """Every string and bytes value (and dict key) in a deserialised cassette, with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, (str, bytes)):
                yield (*path, key), key
            yield from _leaves(value, (*path, key))
    elif isinstance(node, (list, tuple)):
        for index, item in enumerate(node):
            yield from _leaves(item, (*path, index))
    elif isinstance(node, (str, bytes)):
        yield path, node
    elif isinstance(node, bytearray):
        yield path, bytes(node)
    elif isinstance(node, io.BytesIO):
        yield path, node.getvalue()
    elif node is not None and not isinstance(node, bool):
        yield path, str(node)


def _write_atomically(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
