"""Where rotated tokens are persisted: a callback, or an object with ``save``/``load``."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from fincon.auth._base import Token
from fincon.auth._secrets import register
from fincon.errors import ConfigError, ValidationError

__all__ = ["FileTokenStore", "TokenSaver", "TokenStore", "adapt_store"]


@runtime_checkable
class TokenStore(Protocol):
    """Persists an OAuth token set so that a rotated refresh token survives a restart.

    ``save`` is called (synchronously, inside the refresh) every time a refresh returns
    new tokens; ``load`` is called once, when the strategy is created, and wins over the
    tokens given to the constructor (they may have been rotated since).
    """

    def save(self, token: Token) -> None:
        """Persist ``token`` (access token, expiry and refresh token)."""

    def load(self) -> Token | None:
        """Return the last saved token, or ``None`` if nothing was saved yet."""


#: A plain callback: called with the new tokens every time they rotate.
TokenSaver = Callable[[Token], None]


class _Adapter:
    __slots__ = ("_load", "_save")

    def __init__(self, save: TokenSaver, load: Callable[[], Token | None] | None) -> None:
        self._save = save
        self._load = load

    def save(self, token: Token) -> None:
        self._save(token)

    def load(self) -> Token | None:
        return self._load() if self._load is not None else None


def adapt_store(value: object, *, owner: str) -> _Adapter | None:
    """Accept a :class:`TokenStore`, an object with only ``save``, or a callback."""
    if value is None:
        return None
    save = getattr(value, "save", None)
    if callable(save):
        load = getattr(value, "load", None)
        return _Adapter(save, load if callable(load) else None)
    if callable(value):
        return _Adapter(value, None)
    raise ValidationError(
        f"{owner}: token_store must be a callable or an object with save(token)", field="token_store"
    )


def _token_from(data: dict[str, object]) -> Token:
    value = data["access_token"]
    refresh = data.get("refresh_token")
    expires = data.get("expires_at")
    scope = data.get("scope")
    return Token(
        value=str(value) if value else "",
        expires_at=datetime.fromisoformat(str(expires)) if expires else None,
        refresh_token=str(refresh) if refresh else None,
        token_type=str(data.get("token_type") or "Bearer"),
        scope=str(scope) if scope else None,
    )


class FileTokenStore:
    """A JSON file readable only by its owner (mode 0600), replaced atomically on every save.

    The file holds live credentials: keep it out of version control and backups you share.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def save(self, token: Token) -> None:
        data = {
            "access_token": token.value,
            "refresh_token": token.refresh_token,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "token_type": token.token_type,
            "scope": token.scope,
        }
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        # Created with 0600 from the start, so the secret is never readable by others.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def load(self) -> Token | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        token = None
        # Parse errors quote the file (tokens included): raise outside the handler instead.
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            token = _token_from(json.loads(text))
        if token is None:
            raise ConfigError(f"FileTokenStore: {self.path} is not a token file written by fincon")
        if token.expires_at is not None and token.expires_at.tzinfo is None:
            raise ConfigError(f"FileTokenStore: {self.path} holds an expiry without a time zone")
        register(token.value, token.refresh_token)
        return token

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"
