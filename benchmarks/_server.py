"""Start ``fincon sandbox serve`` in its own process (so it doesn't share the client's GIL)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["sandbox_server"]


@contextlib.contextmanager
def sandbox_server(system: str = "reference", *, size: int = 100, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Yield the server's first line (``base_url``, ``credentials``, ...); stop it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fincon.cli", "sandbox", "serve", system, "--port", "0",
         "--size", str(size), "--seed", str(seed)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox server exited with {process.wait()}")
        yield json.loads(line)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
