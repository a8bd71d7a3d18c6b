"""Shared helpers for the benchmark scripts (timing, reporting)."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence

__all__ = ["machine", "report", "run_python"]


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}"


def run_python(code: str, repeat: int) -> list[float]:
    """Wall seconds of ``repeat`` fresh interpreters each running ``code`` (timed inside the child)."""
    timer = "import time,sys;t=time.perf_counter();" + code + ";sys.stdout.write(repr(time.perf_counter()-t))"
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", timer], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip()))
    return times


def report(
    title: str, rows: Sequence[tuple[str, float, str]], extra: dict[str, object] | None = None
) -> None:
    """Print a small table and one JSON line (for the docs)."""
    print(f"\n{title}  ({machine()})")
    width = max(len(name) for name, _, _ in rows)
    for name, value, unit in rows:
        print(f"  {name:<{width}}  {value:12.3f} {unit}")
    print(json.dumps({"title": title, "rows": {n: v for n, v, _ in rows}, **(extra or {})}))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
