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


def _in_process_overhead(n: int, rounds: int) -> tuple[float, float]:
    """Per-request client time with no network at all (a MockTransport answering at once)."""
    body = b'{"object": "account", "id": "acct_1", "name": "Bench Ltd"}'

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    headers = {"Authorization": "Bearer sk_bench_key_0123456789"}
    raw_client = httpx.Client(
        base_url="https://api.example.com", transport=httpx.MockTransport(answer), trust_env=False
    )
    connector = fincon.connect(
        "reference",
        base_url="https://api.example.com",
        api_key="sk_bench_key_0123456789",
        transport=httpx.MockTransport(answer),
        rate_limit=RateLimit(requests=1e9),
    )
    _time_raw(raw_client, 500, headers)
    _time_fincon(connector, 500)
    raw, ours = [], []
    for _ in range(rounds):
        raw.append(_time_raw(raw_client, n, headers))
        ours.append(_time_fincon(connector, n))
    return statistics.median(raw) * 1e6, statistics.median(ours) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000, help="requests per round and client")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    register()
    with sandbox_server(size=10) as server:
        base_url, api_key = server["base_url"], server["credentials"]["api_key"]
        headers = {"Authorization": f"Bearer {api_key}"}
        # The same client options fincon uses (no proxy or netrc lookups from the environment).
        raw_client = httpx.Client(base_url=base_url, trust_env=False, follow_redirects=False)
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
    raw_local, fincon_local = _in_process_overhead(args.requests, args.rounds)
    report(
        "client time per request with no network (in-process MockTransport, median of rounds)",
        [("raw httpx.Client", raw_local, "us"), ("fincon connector.request", fincon_local, "us")],
        {"overhead_us": round(fincon_local - raw_local, 1)},
    )
    print(
        f"fincon adds {fincon_local - raw_local:.1f} us per request on the client "
        f"({(fincon_local - raw_local) / raw_us * 100:.1f}% of a loopback round trip)"
    )


if __name__ == "__main__":
    main()
