"""Finding the vendors' specifications: ``$FINCON_SPECS``, else ``<repo>/../shared/specs``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

__all__ = ["SpecNotFound", "describe_file", "require_spec", "spec_path", "specs_dir"]

ENV_VAR = "FINCON_SPECS"


class SpecNotFound(FileNotFoundError):
    """A vendor specification (or the whole specs folder) is not on this machine."""


def _repo_roots() -> list[Path]:
    """Project roots to look beside: the nearest ``pyproject.toml`` above the working directory,
    and above this file (an editable install lives inside the repository)."""
    roots: list[Path] = []
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file():
                if folder not in roots:
                    roots.append(folder)
                break
    return roots


def specs_dir() -> Path | None:
    """The specs folder: ``$FINCON_SPECS`` when set, else ``shared/specs`` beside the project root.

    :returns: the folder, or ``None`` when it is not on this machine (a fresh clone).
    """
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_dir() else None
    for root in _repo_roots():
        candidate = root.parent / "shared" / "specs"
        if candidate.is_dir():
            return candidate
    return None


def _where() -> str:
    configured = os.environ.get(ENV_VAR)
    if configured:
        return f"${ENV_VAR}={configured}"
    roots = _repo_roots()
    tried = ", ".join(str(root.parent / "shared" / "specs") for root in roots) or "<repo>/../shared/specs"
    return f"{tried} (set ${ENV_VAR} to the specs folder)"


def spec_path(relative: str | os.PathLike[str]) -> Path:
    """The absolute path of one specification file, relative to the specs folder.

    :raises SpecNotFound: when the folder or the file is missing, saying where it looked.
    """
    root = specs_dir()
    if root is None:
        raise SpecNotFound(f"vendor specs folder not found: looked at {_where()}")
    path = root / relative
    if not path.is_file():
        raise SpecNotFound(f"vendor spec {os.fspath(relative)!r} not found under {root}")
    return path


def require_spec(relative: str | os.PathLike[str]) -> Path:
    """Like :func:`spec_path`, but skips the calling pytest test (with the reason) when it is missing."""
    try:
        return spec_path(relative)
    except SpecNotFound as exc:
        _skip(str(exc))


def _skip(reason: str) -> NoReturn:
    import pytest

    pytest.skip(reason)


def describe_file(path: Path) -> str:
    """A spec file named relative to the specs folder when it lives there (for messages)."""
    root = specs_dir()
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name
