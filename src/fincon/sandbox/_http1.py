"""An incremental HTTP/1.1 request parser for the loopback server.

Feed it bytes as they arrive; it returns every complete request, in order, and keeps
the rest (so pipelined requests are answered one by one, in sequence). Bodies may be
framed by ``Content-Length`` or ``Transfer-Encoding: chunked``. Ambiguous framing (both,
or conflicting lengths) is refused, as request smuggling defences require.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HTTPParseError", "ParsedRequest", "RequestParser"]

_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _TRAILER = range(5)
_MAX_LINE = 8192  # a chunk-size or trailer line longer than this is hostile
_HEX = frozenset(b"0123456789abcdefABCDEF")
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class HTTPParseError(Exception):
    """The bytes are not an acceptable request; ``status`` is the answer to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class ParsedRequest:
    """One request off the wire. Header names keep the client's spelling; the body is
    de-chunked."""

    method: str
    target: str
    version: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool
    chunked: bool = False


class RequestParser:
    """Turns a byte stream into :class:`ParsedRequest` objects."""

    def __init__(self, *, max_head_bytes: int = 65536, max_body_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_head_bytes = max_head_bytes
        self.max_body_bytes = max_body_bytes
        self._buffer = bytearray()
        self._state = _HEAD
        self._current: ParsedRequest | None = None
        self._body = bytearray()
        self._remaining = 0
        #: True while a request that sent ``Expect: 100-continue`` waits for its body;
        #: the server answers ``100 Continue`` once and clears it.
        self.expects_continue = False

    @property
    def idle(self) -> bool:
        """Whether no partial request is buffered."""
        return self._state == _HEAD and not self._buffer

    def feed(self, data: bytes) -> list[ParsedRequest]:
        """Add ``data``; return the requests it completed. Raises :class:`HTTPParseError`."""
        self._buffer += data
        completed: list[ParsedRequest] = []
        while True:
            if self._state == _HEAD:
                if not self._parse_head():
                    break
                if self._state == _HEAD:  # no body: the request is complete
                    completed.append(self._finish())
            elif self._state == _BODY:
                if not self._take_body():
                    break
                completed.append(self._finish())
            elif self._state == _CHUNK_SIZE:
                if not self._parse_chunk_size():
                    break
            elif self._state == _CHUNK_DATA:
                if not self._take_chunk():
                    break
            else:  # trailers of a chunked body
                if not self._skip_trailers():
                    break
                completed.append(self._finish())
        return completed

    def _finish(self) -> ParsedRequest:
        request = self._current
        assert request is not None
        request.body = bytes(self._body)
        self._body.clear()
        self._current = None
        self._state = _HEAD
        self.expects_continue = False
        return request

    def _parse_head(self) -> bool:
        buffer = self._buffer
        # RFC 9112 2.2: ignore empty lines before a request line.
        while buffer[:2] == b"\r\n":
            del buffer[:2]
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > self.max_head_bytes:
                raise HTTPParseError(431, "request header fields too large")
            return False
        if end > self.max_head_bytes:
            raise HTTPParseError(431, "request header fields too large")
        lines = bytes(buffer[:end]).split(b"\r\n")
        del buffer[: end + 4]
        parts = lines[0].split(b" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise HTTPParseError(400, "malformed request line")
        method, target, version = parts
        if not set(method) <= _TOKEN:
            raise HTTPParseError(400, "malformed method")
        if version not in (b"HTTP/1.1", b"HTTP/1.0"):
            if version.startswith(b"HTTP/"):
                raise HTTPParseError(505, "HTTP version not supported")
            raise HTTPParseError(400, "malformed request line")
        headers: list[tuple[bytes, bytes]] = []
        content_lengths: set[bytes] = set()
        transfer_codings: list[bytes] = []
        connection_tokens: set[bytes] = set()
        expects_continue = False
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or not set(name) <= _TOKEN:
                # Also refuses obsolete line folding (a line starting with whitespace).
                raise HTTPParseError(400, "malformed header line")
            value = value.strip(b" \t")
            headers.append((name, value))
            lowered = name.lower()
            if lowered == b"content-length":
                content_lengths.update(item.strip() for item in value.split(b","))
            elif lowered == b"transfer-encoding":
                transfer_codings.extend(item.strip().lower() for item in value.split(b",") if item.strip())
            elif lowered == b"connection":
                connection_tokens.update(item.strip().lower() for item in value.split(b","))
            elif lowered == b"expect":
                if value.lower() != b"100-continue":
                    raise HTTPParseError(417, "only Expect: 100-continue is supported")
                expects_continue = True
        if version == b"HTTP/1.1":
            keep_alive = b"close" not in connection_tokens
        else:
            keep_alive = b"keep-alive" in connection_tokens
        self._current = ParsedRequest(
            method.decode("ascii"),
            target.decode("latin-1"),
            version.decode("ascii"),
            headers,
            b"",
            keep_alive,
        )
        if transfer_codings:
            if content_lengths:
                raise HTTPParseError(400, "both Content-Length and Transfer-Encoding")
            if transfer_codings != [b"chunked"]:
                raise HTTPParseError(501, "only the chunked transfer coding is supported")
            self._current.chunked = True
            self._state = _CHUNK_SIZE
            self.expects_continue = expects_continue
            return True
        if len(content_lengths) > 1:
            raise HTTPParseError(400, "conflicting Content-Length values")
        if content_lengths:
            (length,) = content_lengths
            if not length.isdigit():
                raise HTTPParseError(400, "invalid Content-Length")
            self._remaining = int(length)
            if self._remaining > self.max_body_bytes:
                raise HTTPParseError(413, "request body too large")
            if self._remaining:
                self._state = _BODY
                self.expects_continue = expects_continue
        return True

    def _take_body(self) -> bool:
        buffer = self._buffer
        if len(buffer) < self._remaining:
            # Move what arrived so far to the body, so the buffer stays small.
            self._body += buffer
            self._remaining -= len(buffer)
            buffer.clear()
            return False
        self._body += buffer[: self._remaining]
        del buffer[: self._remaining]
        self._remaining = 0
        return True

    def _line(self) -> bytes | None:
        buffer = self._buffer
        end = buffer.find(b"\r\n")
        if end < 0:
            if len(buffer) > _MAX_LINE:
                raise HTTPParseError(400, "line too long in a chunked body")
            return None
        line = bytes(buffer[:end])
        del buffer[: end + 2]
        return line

    def _parse_chunk_size(self) -> bool:
        line = self._line()
        if line is None:
            return False
        size_text = line.split(b";", 1)[0].strip(b" \t")
        # int(..., 16) alone would also take "0x1f", "+1f" and "1_f".
        if not size_text or len(size_text) > 16 or not set(size_text) <= _HEX:
            raise HTTPParseError(400, "invalid chunk size")
        size = int(size_text, 16)
        if len(self._body) + size > self.max_body_bytes:
            raise HTTPParseError(413, "request body too large")
        self.expects_continue = False
        if size == 0:
            self._state = _TRAILER
        else:
            self._remaining = size
            self._state = _CHUNK_DATA
        return True

    def _take_chunk(self) -> bool:
        buffer = self._buffer
        if len(buffer) < self._remaining + 2:
            return False
        if buffer[self._remaining : self._remaining + 2] != b"\r\n":
            raise HTTPParseError(400, "chunk data not followed by CRLF")
        self._body += buffer[: self._remaining]
        del buffer[: self._remaining + 2]
        self._remaining = 0
        self._state = _CHUNK_SIZE
        return True

    def _skip_trailers(self) -> bool:
        # Trailer fields carry nothing an emulator needs; read up to the empty line.
        while True:
            line = self._line()
            if line is None:
                return False
            if not line:
                self._state = _HEAD
                return True
