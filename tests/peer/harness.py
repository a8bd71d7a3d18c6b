"""Install, start and always stop the third-party mock servers used by the peer tests.

Prism (``@stoplight/prism-cli``) serves OpenAPI specs and ``fe_mockserver.js`` wraps
``@sap-ux/fe-mockserver-core`` for OData EDMX. Both come from ``package-lock.json`` in this folder via
``npm ci``, run on 127.0.0.1 only, in their own process group, and are stopped whatever happens.
See docs/testing-peers.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, Protocol

import httpx
import pytest

PEER_DIR = Path(__file__).resolve().parent
REPO_ROOT = PEER_DIR.parent.parent
LOCKFILE = PEER_DIR / "package-lock.json"
NODE_MODULES = PEER_DIR / "node_modules"
# Written after a successful `npm ci`; holds the hash of the lockfile it installed.
INSTALL_MARKER = NODE_MODULES / ".fincon-npm-ci"
FE_WRAPPER = PEER_DIR / "fe_mockserver.js"
PRISM_ENTRY = NODE_MODULES / "@stoplight" / "prism-cli" / "dist" / "index.js"
FE_CORE_ENTRY = NODE_MODULES / "@sap-ux" / "fe-mockserver-core" / "dist" / "index.js"
# Prism 5.14.2 (the newest Prism that still runs on Node 20) declares node >= 18.20.1.
MIN_NODE = (18, 20, 1)
LOOPBACK = "127.0.0.1"

NPM_CI_TIMEOUT = 900.0
PRISM_START_TIMEOUT = 120.0
FE_START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class PeerServerError(RuntimeError):
    """A peer server could not be installed, started or stopped; `pid` names the process if there was one."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> NoReturn:
    """Skip locally, but fail in CI: there a missing tool means a broken pipeline, not a choice."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


# --- specs ------------------------------------------------------------------------------------------


def specs_dir() -> Path:
    configured = os.environ.get("FINCON_SPECS")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "specs"


def spec_path(relpath: str) -> Path:
    """Absolute path of a vendor spec, skipping the test when the specs are not there (fresh clone)."""
    root = specs_dir()
    if not root.is_dir():
        pytest.skip(f"vendor specs not found at {root} (set FINCON_SPECS to the shared/specs folder)")
    path = root / relpath
    if not path.is_file():
        pytest.skip(f"vendor spec {relpath} not found under {root}")
    return path


# --- node and npm -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeTools:
    node: str
    npm: str
    version: tuple[int, int, int]


def _node_version(node: str) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)", out.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def find_node() -> NodeTools | str:
    """The node and npm on PATH, or the reason they cannot be used."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if path is None)
        return f"{missing} not found on PATH; peer tests need Node.js >= {'.'.join(map(str, MIN_NODE))}"
    version = _node_version(node)
    if version is None:
        return f"could not run {node} --version"
    if version < MIN_NODE:
        return (
            f"Node.js {'.'.join(map(str, version))} at {node} is too old; "
            f"the pinned Prism needs >= {'.'.join(map(str, MIN_NODE))}"
        )
    return NodeTools(node=node, npm=npm, version=version)


def require_node() -> NodeTools:
    found = find_node()
    if isinstance(found, str):
        unavailable(found)
    return found


def _lock_digest() -> str:
    return hashlib.sha256(LOCKFILE.read_bytes()).hexdigest()


def node_modules_current() -> bool:
    try:
        recorded = INSTALL_MARKER.read_text().strip()
    except OSError:
        return False
    return recorded == _lock_digest() and PRISM_ENTRY.is_file() and FE_CORE_ENTRY.is_file()


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Serialise `npm ci` across pytest-xdist workers and parallel runs of the same checkout."""
    key = hashlib.sha256(str(PEER_DIR).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"fincon-peer-npm-{key}.lock"
    with open(lock_path, "w") as handle:
        if sys.platform == "win32":  # pragma: no cover - CI runs on Linux
            yield
            return
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_node_modules(tools: NodeTools) -> float:
    """Run `npm ci` if node_modules is missing or older than the lockfile; returns seconds spent."""
    if node_modules_current():
        return 0.0
    with _install_lock():
        if node_modules_current():  # another worker installed while we waited
            return 0.0
        started = time.monotonic()
        env = dict(os.environ)
        # @scarf/scarf (a Prism dependency) phones home from its install script; nothing to gain in tests.
        env["SCARF_ANALYTICS"] = "false"
        env.setdefault("npm_config_fund", "false")
        env.setdefault("npm_config_audit", "false")
        try:
            result = subprocess.run(
                [tools.npm, "ci", "--no-audit", "--no-fund"],
                cwd=PEER_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PeerServerError(f"`npm ci` in {PEER_DIR} took more than {NPM_CI_TIMEOUT:.0f}s") from exc
        if result.returncode != 0:
            tail = _tail(result.stdout + result.stderr)
            raise PeerServerError(f"`npm ci` in {PEER_DIR} failed ({result.returncode}):\n{tail}")
        INSTALL_MARKER.write_text(_lock_digest() + "\n")
        return time.monotonic() - started


# --- processes --------------------------------------------------------------------------------------


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def process_group_alive(pgid: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else: cannot be ours, but is alive
        return True
    return True


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (a reaped or dead process counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): fall back to a signal probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class PeerServer:
    """A running mock server: where it listens and how to stop it."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0
    startup_seconds: float = 0.0
    ready_info: dict[str, object] = field(default_factory=dict)
    stopped: bool = field(default=False, init=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def output_tail(self, lines: int = 40) -> str:
        return _tail(self.output(), lines)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Terminate the whole process group, escalate to SIGKILL, and check nothing is left.

        Idempotent: a second call does nothing, so a group id the kernel has since reused is never signalled.
        """
        if self.stopped:
            return
        pgid = self.process.pid  # start_new_session=True makes the leader's pid the group id
        if sys.platform == "win32":  # pragma: no cover
            self.process.kill()
            self.process.wait(timeout)
            self.stopped = True
            return
        if self.process.poll() is None:  # leader not reaped yet, so the group id is still ours
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                self.process.wait(timeout)
        # Children (if any) may outlive the leader; they are in the same group.
        deadline = time.monotonic() + timeout
        while process_group_alive(pgid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise PeerServerError(
                    f"{self.name}: process group {pgid} still alive after SIGKILL", pid=pgid
                )
            time.sleep(0.02)  # reaping by init is asynchronous; this is a bounded poll, not a wait-for-ready
        self.stopped = True
        with contextlib.suppress(OSError):
            self.log_path.unlink()


def _spawn(name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> PeerServer:
    fd, log_name = tempfile.mkstemp(prefix=f"fincon-peer-{name}-", suffix=".log")
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=PEER_DIR,
            stdin=subprocess.DEVNULL,
            stdout=fd,  # a file, not a pipe: a chatty server can never block on a full pipe
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # own process group, so stop() reaches every child
        )
    finally:
        os.close(fd)
    return PeerServer(name=name, process=process, log_path=Path(log_name))


def _wait_until_ready(
    server: PeerServer, is_ready: Callable[[PeerServer], bool], timeout: float, started: float
) -> None:
    deadline = started + timeout
    while True:
        if is_ready(server):
            server.startup_seconds = time.monotonic() - started
            return
        if time.monotonic() > deadline:
            raise PeerServerError(
                f"{server.name} (pid {server.pid}) not ready after {timeout:.0f}s; output tail:\n"
                f"{server.output_tail()}",
                pid=server.pid,
            )
        try:
            # Returns at once if the server dies; otherwise this is the poll interval.
            code = server.process.wait(0.05)
        except subprocess.TimeoutExpired:
            continue
        raise PeerServerError(
            f"{server.name} (pid {server.pid}) exited with code {code} before it was ready; output tail:\n"
            f"{server.output_tail()}",
            pid=server.pid,
        )


def _http_answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2.0)
    except httpx.TransportError:
        return False
    return True


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class _Launch:
    """A server that has been spawned but is not known to be ready yet (lets several start at once)."""

    name: str
    argv_for_port: Callable[[int], Sequence[str]]
    is_ready: Callable[[PeerServer], bool]
    timeout: float
    port: int | None  # None: pick a free port, and pick again if another process takes it first
    attempts: int = 3
    server: PeerServer = field(init=False)
    started: float = field(init=False)

    def spawn(self) -> None:
        chosen = free_port() if self.port is None else self.port
        self.started = time.monotonic()
        self.server = _spawn(self.name, self.argv_for_port(chosen))
        self.server.port = chosen

    def finish(self) -> PeerServer:
        """Wait until ready; on any failure the server is stopped before the error propagates."""
        for attempt in range(self.attempts):
            if attempt:
                self.spawn()
            try:
                _wait_until_ready(self.server, self.is_ready, self.timeout, self.started)
                return self.server
            except PeerServerError:
                lost_port_race = self.port is None and "EADDRINUSE" in self.server.output()
                self.server.stop()
                if not lost_port_race or attempt == self.attempts - 1:
                    raise
            except BaseException:
                self.server.stop()
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")


def _launch(
    name: str,
    argv_for_port: Callable[[int], Sequence[str]],
    is_ready: Callable[[PeerServer], bool],
    timeout: float,
    port: int | None = None,
) -> _Launch:
    launch = _Launch(name, argv_for_port, is_ready, timeout, port, attempts=3 if port is None else 1)
    launch.spawn()
    return launch


def launch_prism(
    tools: NodeTools,
    spec: Path,
    *,
    dynamic: bool = False,
    errors: bool = False,
    extra_args: Sequence[str] = (),
    timeout: float = PRISM_START_TIMEOUT,
) -> _Launch:
    """Spawn `prism mock SPEC -h 127.0.0.1 -p PORT`; `.finish()` waits until its port answers HTTP."""

    def argv(port: int) -> list[str]:
        # Preloading the wrapper only installs its exit-with-parent watch inside Prism (see fe_mockserver.js).
        args = [tools.node, "--require", str(FE_WRAPPER), str(PRISM_ENTRY), "mock", str(spec)]
        args += ["-h", LOOPBACK, "-p", str(port)]
        if dynamic:
            args += ["--dynamic", "--seed", "fincon"]
        if errors:
            args.append("--errors")
        return args + list(extra_args)

    def ready(server: PeerServer) -> bool:
        # Prism only binds after the spec is parsed, so the first HTTP answer (even a 404) means ready.
        return _port_open(server.port) and _http_answers(server.base_url + "/")

    return _launch(f"prism-{spec.stem}", argv, ready, timeout)


def start_prism(
    tools: NodeTools,
    spec: Path,
    *,
    dynamic: bool = False,
    errors: bool = False,
    extra_args: Sequence[str] = (),
    timeout: float = PRISM_START_TIMEOUT,
) -> PeerServer:
    """Start Prism on SPEC and wait until it is ready."""
    return launch_prism(
        tools, spec, dynamic=dynamic, errors=errors, extra_args=extra_args, timeout=timeout
    ).finish()


def _readiness_line(server: PeerServer) -> dict[str, object] | None:
    for line in server.output().splitlines():
        if line.startswith("{") and '"event":"ready"' in line:
            try:
                info = json.loads(line)
            except ValueError:
                continue
            if isinstance(info, dict):
                return info
    return None


def start_fe_mockserver(
    tools: NodeTools,
    services: dict[str, Path],
    *,
    mockdata: dict[str, Path] | None = None,
    page_size: int = 0,
    csrf: bool = False,
    debug_endpoints: bool = False,
    leak_fix: bool = True,
    timeout: float = FE_START_TIMEOUT,
) -> PeerServer:
    """Start fe_mockserver.js serving `services` ({url_path: edmx_file}) on an OS-assigned port."""
    if not services:
        raise ValueError("at least one service is needed")
    # --expose-gc lets the debug endpoint report the heap after a full collection.
    node_flags = ["--expose-gc"] if debug_endpoints else []
    args = [tools.node, *node_flags, str(FE_WRAPPER), "--host", LOOPBACK, "--port", "0"]
    for url_path, edmx in services.items():
        args += ["--service", f"{url_path}={edmx}"]
    for url_path, folder in (mockdata or {}).items():
        args += ["--mockdata", f"{url_path}={folder}"]
    if page_size:
        args += ["--page-size", str(page_size)]
    if csrf:
        args.append("--csrf")
    if debug_endpoints:
        args.append("--debug-endpoints")
    if not leak_fix:
        args.append("--no-leak-fix")
    probe_path = next(iter(services)) + "/$metadata"

    def ready(server: PeerServer) -> bool:
        # Port 0 means no race for a "free" port: the wrapper reports the one the OS gave it.
        info = server.ready_info or _readiness_line(server)
        if not info:
            return False
        server.ready_info = info
        server.port = int(str(info["port"]))
        try:
            return httpx.get(server.base_url + probe_path, timeout=2.0).status_code == 200
        except httpx.TransportError:
            return False

    return _launch("fe-mockserver", lambda _port: args, ready, timeout, port=0).finish()


# --- a pool that owns every server it started ----------------------------------------------------


ServerKey = Hashable


@dataclass(frozen=True)
class PrismSpec:
    """One Prism server: a spec path relative to the specs folder, and Prism's mode flags."""

    relpath: str
    dynamic: bool = False  # generate bodies from the schemas (seeded) instead of the spec's examples
    errors: bool = False  # Prism's --errors: answer with an error when a request or response breaks the spec


class PeerServerPool:
    """Starts servers on demand, shares identical ones, and stops all of them in close()."""

    def __init__(self, tools: NodeTools) -> None:
        self.tools = tools
        self._shared: dict[ServerKey, PeerServer] = {}
        self._started: list[PeerServer] = []
        self._closed = False

    def _track(self, server: PeerServer) -> PeerServer:
        self._started.append(server)
        return server

    def prism(self, spec_relpath: str, *, dynamic: bool = False, errors: bool = False) -> PeerServer:
        return self.prism_many([PrismSpec(spec_relpath, dynamic=dynamic, errors=errors)])[0]

    def prism_many(self, specs: Sequence[PrismSpec]) -> list[PeerServer]:
        """Start the Prism servers not yet running all at once (Prism start-up is seconds of CPU each)."""
        if self._closed:
            raise PeerServerError("pool already closed")
        launches: dict[PrismSpec, _Launch] = {}
        try:
            for spec in specs:
                if spec not in self._shared and spec not in launches:
                    path = spec_path(spec.relpath)
                    launches[spec] = launch_prism(self.tools, path, dynamic=spec.dynamic, errors=spec.errors)
            for spec, launch in launches.items():
                self._shared[spec] = self._track(launch.finish())
        except BaseException:
            for spec, launch in launches.items():
                self._shared.pop(spec, None)
                launch.server.stop()
            raise
        return [self._shared[spec] for spec in specs]

    def fe_mockserver(
        self,
        services: Mapping[str, str],
        *,
        mockdata: Mapping[str, Path] | None = None,
        page_size: int = 0,
        csrf: bool = False,
        debug_endpoints: bool = False,
        leak_fix: bool = True,
        fresh: bool = False,
    ) -> PeerServer:
        """`services` maps URL paths to spec paths relative to the specs folder.

        Identical requests share one server unless `fresh` is set (for tests that change data or stop it).
        """
        if self._closed:
            raise PeerServerError("pool already closed")
        key: ServerKey = (
            "fe",
            tuple(sorted(services.items())),
            tuple(sorted((k, str(v)) for k, v in (mockdata or {}).items())),
            page_size,
            csrf,
            debug_endpoints,
            leak_fix,
        )
        if fresh or key not in self._shared:
            resolved = {url_path: spec_path(relpath) for url_path, relpath in services.items()}
            server = self._track(
                start_fe_mockserver(
                    self.tools,
                    resolved,
                    mockdata=dict(mockdata or {}),
                    page_size=page_size,
                    csrf=csrf,
                    debug_endpoints=debug_endpoints,
                    leak_fix=leak_fix,
                )
            )
            if fresh:
                return server
            self._shared[key] = server
        return self._shared[key]

    def close(self) -> None:
        """Stop every server (newest first); raise if any of them left a process behind."""
        self._closed = True
        problems: list[str] = []
        while self._started:
            server = self._started.pop()
            try:
                server.stop()
            except (PeerServerError, OSError, subprocess.SubprocessError) as exc:
                problems.append(f"{server.name} (pid {server.pid}): {exc}")
        self._shared.clear()
        if problems:
            raise PeerServerError("could not stop peer servers:\n" + "\n".join(problems))


# --- fixture signatures (conftest.py hands out PeerServerPool's bound methods) --------------------


class PrismFactory(Protocol):
    def __call__(self, spec_relpath: str, *, dynamic: bool = False, errors: bool = False) -> PeerServer: ...


class FeMockserverFactory(Protocol):
    def __call__(
        self,
        services: Mapping[str, str],
        *,
        mockdata: Mapping[str, Path] | None = None,
        page_size: int = 0,
        csrf: bool = False,
        debug_endpoints: bool = False,
        leak_fix: bool = True,
        fresh: bool = False,
    ) -> PeerServer: ...
