"""How fast is the loopback sandbox server, next to the client that calls it?

A plain ``httpx.Client`` pages through the reference emulator served on loopback. The
server measures its own time per request (parse + handle + write, ``perf_counter_ns``);
the client measures the whole round trip; the client's share is the difference. The
issue asks that the server's share stays under a third, so a benchmark of clients run
against the sandbox measures the clients, not the sandbox.

By default the server runs in its own process (``--mode process``), as it does under
``fincon sandbox serve``: in one process the two threads would take turns on the GIL and
each would be charged for the other's turns. ``--mode thread`` serves from a thread of
the benchmark process and reports the server thread's CPU time instead.

CPU times are reported too (the server thread's ``thread_time``, the client process's
``process_time``): on a busy machine wall times include waiting for a core, and the CPU
share is the steadier number.

    PYTHONPATH=src python benchmarks/bench_sandbox_server.py
    PYTHONPATH=src python benchmarks/bench_sandbox_server.py --limit 100 --json
    PYTHONPATH=src python benchmarks/bench_sandbox_server.py --path /v1/me   # as bench_transport.py
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

import httpx

from fincon.sandbox import ServerStats, serve
from fincon.testing.reference import ReferenceEmulator


def _serve_in_child(size: int, pipe: Connection) -> None:
    emulator = ReferenceEmulator(size=size)
    with serve(emulator) as server:
        pipe.send((server.base_url, emulator.api_key))
        while (command := pipe.recv()) != "stop":
            if command == "reset":
                server.stats.reset()
            pipe.send(ServerStats(**vars(server.stats)))


def _page_through(client: httpx.Client, path: str, limit: int, requests: int) -> None:
    if path == "/v1/me":  # the call the transport-overhead benchmark makes
        for _ in range(requests):
            client.get(path).raise_for_status().json()
        return
    cursor: str | None = None
    for _ in range(requests):
        params = {"limit": str(limit)}
        if cursor is not None:
            params["starting_after"] = cursor
        body = client.get(path, params=params).raise_for_status().json()
        cursor = body["data"][-1]["id"] if body["has_more"] else None


def run(*, requests: int, limit: int, size: int, warmup: int, path: str, mode: str) -> dict[str, Any]:
    """Run the benchmark; return the numbers."""
    if mode == "process":
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        child = context.Process(target=_serve_in_child, args=(size, theirs), daemon=True)
        child.start()
        base_url, api_key = ours.recv()
    else:
        emulator = ReferenceEmulator(size=size)
        server = serve(emulator)
        base_url, api_key = server.base_url, emulator.api_key
    try:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}) as client:
            _page_through(client, path, limit, warmup)
            if mode == "process":
                ours.send("reset")
                ours.recv()
            else:
                server.stats.reset()
            started = time.perf_counter_ns()
            started_cpu = time.process_time_ns()
            _page_through(client, path, limit, requests)
            elapsed_ns = time.perf_counter_ns() - started
            process_cpu_ns = time.process_time_ns() - started_cpu
        if mode == "process":
            ours.send("stats")
            stats: ServerStats = ours.recv()
            server_us = stats.busy_us_per_request
        else:
            stats = server.stats
            server_us = stats.busy_cpu_us_per_request  # wall time would include GIL waits
    finally:
        if mode == "process":
            ours.send("stop")
            child.join(10)
        else:
            server.stop()
    total_us = elapsed_ns / 1000 / requests
    server_cpu_us = stats.busy_cpu_us_per_request
    # In thread mode the process's CPU time includes the server thread's.
    client_cpu_us = process_cpu_ns / 1000 / requests - (server_cpu_us if mode == "thread" else 0.0)
    return {
        "mode": mode,
        "path": path,
        "requests": requests,
        "page_size": limit,
        "requests_per_second": round(requests / (elapsed_ns / 1e9), 1),
        "total_us_per_request": round(total_us, 1),
        "server_us_per_request": round(server_us, 1),
        "server_cpu_us_per_request": round(server_cpu_us, 1),
        "client_us_per_request": round(total_us - server_us, 1),
        "client_cpu_us_per_request": round(client_cpu_us, 1),
        "server_share": round(server_us / total_us, 3),
        "server_cpu_share": round(server_cpu_us / (server_cpu_us + client_cpu_us), 3),
        "connections": stats.connections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--limit", type=int, default=10, help="records per page")
    parser.add_argument("--size", type=int, default=1_000_000, help="records per resource")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--path", default="/v1/vendors", choices=["/v1/vendors", "/v1/bills", "/v1/me"])
    parser.add_argument("--mode", default="process", choices=["process", "thread"])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    arguments = parser.parse_args()
    result = run(
        requests=arguments.requests,
        limit=arguments.limit,
        size=arguments.size,
        warmup=arguments.warmup,
        path=arguments.path,
        mode=arguments.mode,
    )
    if arguments.json:
        print(json.dumps(result))
        return
    query = "" if arguments.path == "/v1/me" else f"?limit={arguments.limit}"
    print(
        f"{result['requests']} x GET {result['path']}{query} "
        f"({result['mode']} mode, {result['connections']} connection): {result['requests_per_second']} req/s"
    )
    print(f"  total  {result['total_us_per_request']:8.1f} us/request (client round trip)")
    print(f"  server {result['server_us_per_request']:8.1f} us/request (parse + handle + write)")
    print(f"  client {result['client_us_per_request']:8.1f} us/request (the rest)")
    print(f"  server share {result['server_share']:.1%} (the issue asks for under 33.3%)")
    print(
        f"  CPU time: server {result['server_cpu_us_per_request']:.1f} us, "
        f"client {result['client_cpu_us_per_request']:.1f} us per request, "
        f"server share {result['server_cpu_share']:.1%}"
    )


if __name__ == "__main__":
    main()
