"""Developer sessions: ``nox -s tests lint typecheck docs bench demo``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.11"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite (peer-server tests included when Node is available)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting check."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "src/fincon")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation; warnings are errors."""
    session.install("-e", ".[dev]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks, side by side in one run (needs the bench extra for the vendors' own SDKs)."""
    session.install("-e", ".[dev,bench]")
    for script in (
        "bench_transport.py",
        "bench_import.py",
        "bench_sandbox_server.py",
        "bench_listing_memory.py",
    ):
        session.run("python", f"benchmarks/{script}")
    session.run("python", "benchmarks/bench_models.py")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """``fincon demo`` in a clean environment."""
    session.install(".")
    session.run("fincon", "demo")
