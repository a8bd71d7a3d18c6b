"""fincon's per-request overhead next to a raw ``httpx.Client``, on the same loopback server.

Both clients send the same authenticated ``GET /v1/me`` to the reference sandbox served
by ``fincon sandbox serve`` in another process, in alternating rounds (so drift in the
machine's load hits both alike). fincon's path includes the rate limiter (with a limit
too high to ever wait), the circuit breaker, auth, retries set-up, error checks and
hooks. Goal (issue 2): at most 1.10x raw httpx.

    python benchmarks/bench_transport.py [--requests 3000] [--rounds 6]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

import fincon
from _common import report
from _server import sandbox_server
from fincon.core.ratelimit import RateLimit
from fincon.testing.reference.connector import register


def _time_raw(client: httpx.Client, n: int, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    for _ in range(n):
        response = client.get("/v1/me", headers=headers)
        response.raise_for_status()
    return (time.perf_counter() - started) / n


def _time_fincon(connector: fincon.Connector, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        connector.request("GET", "/v1/me")
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000, help="requests per round and client")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    register()
    with sandbox_server(size=10) as server:
        base_url, api_key = server["base_url"], server["credentials"]["api_key"]
        headers = {"Authorization": f"Bearer {api_key}"}
        raw_client = httpx.Client(base_url=base_url)
        connector = fincon.connect(
            "reference", base_url=base_url, api_key=api_key, rate_limit=RateLimit(requests=1e9)
        )
        _time_raw(raw_client, 200, headers)  # warm up connections and caches
        _time_fincon(connector, 200)
        raw, ours = [], []
        for _ in range(args.rounds):
            raw.append(_time_raw(raw_client, args.requests, headers))
            ours.append(_time_fincon(connector, args.requests))
        raw_client.close()
        connector.close()
    raw_us, fincon_us = statistics.median(raw) * 1e6, statistics.median(ours) * 1e6
    ratio = fincon_us / raw_us
    report(
        "per-request time, GET on a loopback sandbox server (median of rounds)",
        [("raw httpx.Client", raw_us, "us"), ("fincon connector.request", fincon_us, "us")],
        {"ratio": round(ratio, 3), "requests_per_round": args.requests, "rounds": args.rounds},
    )
    print(f"fincon / raw httpx = {ratio:.3f}x (goal <= 1.10x)")


if __name__ == "__main__":
    main()
