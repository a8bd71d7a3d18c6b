"""The tree stays clean: ruff, mypy --strict, the docs build, and a lazy ``import fincon``.

These run as part of the suite so that a green CI means a clean tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run(*command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_ruff_is_clean() -> None:
    result = _run(sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_mypy_strict_is_clean() -> None:
    result = _run(sys.executable, "-m", "mypy", "--strict", "src/fincon")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_docs_build_strict(tmp_path: object) -> None:
    if shutil.which("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[dev]')")
    result = _run("mkdocs", "build", "--strict", "--site-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_import_fincon_loads_no_heavy_or_optional_dependency() -> None:
    # authlib, lxml, zeep, pandas, stdnum, yaml and the connectors load only when used.
    code = (
        "import sys, fincon\n"
        "heavy = {'authlib', 'lxml', 'zeep', 'pandas', 'stdnum', 'yaml', 'cryptography', 'joserfc'}\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & heavy)\n"
        "loaded += sorted(m for m in sys.modules if m.startswith('fincon.connectors.'))\n"
        "print(','.join(loaded))\n"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"import fincon loaded {result.stdout.strip()}"


def test_connecting_with_an_api_key_loads_no_oauth_or_xml_library() -> None:
    code = (
        "import sys, fincon\n"
        "from fincon.testing.reference.connector import register\n"
        "register()\n"
        "c = fincon.connect('reference', sandbox=True)\n"
        "c.check()\n"
        "heavy = {'authlib', 'lxml', 'zeep', 'joserfc'}\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"an API-key connection loaded {result.stdout.strip()}"
