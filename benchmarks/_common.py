"""Shared helpers for the benchmark scripts (timing, reporting)."""

from __future__ import annotations

import compileall
import functools
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence

__all__ = ["client_rows", "load_averages", "machine", "medians", "report", "run_child", "run_python"]


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


@functools.cache
def _fincon_byte_compiled() -> None:
    # Every dependency was byte-compiled when pip installed it; fincon run from a checkout is
    # compiled on import, and not at all where PYTHONDONTWRITEBYTECODE is set (this machine):
    # then every child would compile fincon's sources again, a cost no installed fincon has.
    spec = importlib.util.find_spec("fincon")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)


def run_child(script: str, mode: str, *args: str) -> dict[str, float]:
    """Run ``script --child mode args...`` in a fresh interpreter (so peak memory is the client's
    own); its last line of output is a JSON object of figures. fincon is byte-compiled first,
    as an installed package is."""
    _fincon_byte_compiled()
    out = subprocess.run(
        [sys.executable, script, "--child", mode, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"the {mode} client failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


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


def medians(rounds: Mapping[str, Sequence[Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """Per client, the median of each measurement over its rounds."""
    return {
        mode: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for mode, runs in rounds.items()
    }


def client_rows(results: Mapping[str, Mapping[str, float]]) -> list[tuple[str, float, str]]:
    """Wall, client CPU and peak RSS rows of every client, for :func:`report`."""
    rows: list[tuple[str, float, str]] = []
    for mode, result in results.items():
        rows.append((f"{mode} wall", result["seconds"], "s"))
        rows.append((f"{mode} client CPU", result["cpu_seconds"], "s"))
        rows.append((f"{mode} peak RSS", result["peak_rss_mb"], "MB"))
    return rows


def load_averages(before: Sequence[float], after: Sequence[float]) -> dict[str, list[float]]:
    """The machine's load averages (1, 5, 15 min) before and after, rounded, for the report."""
    return {"load_before": [round(x, 2) for x in before], "load_after": [round(x, 2) for x in after]}
