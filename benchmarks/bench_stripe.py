"""Listing Stripe invoices: fincon vs the official ``stripe`` package vs raw httpx + json.

All three list the same invoices from one loopback sandbox server (``fincon sandbox
serve stripe`` in its own process), each client in a fresh child process so that peak
memory (``ru_maxrss``) is its own. fincon yields canonical ``Invoice`` records (exact
Decimal money, typed lines); ``stripe`` builds its ``StripeObject`` s through
``stripe.Invoice.list(limit=100).auto_paging_iter()`` with ``stripe.api_base`` on the
loopback server (stripe-python sends plain http to any api_base it is given); raw is
``httpx.Client.get`` + ``json.loads`` per page. fincon runs with ``proactive_limits=False``
(the benchmark measures client cost, not Stripe's 100 req/s allowance).

    python benchmarks/bench_stripe.py [--invoices 100000] [--rounds 3]

With several rounds the clients alternate (raw, fincon, stripe, raw, ...) and each figure is
the median of its rounds, so a burst of other work on a shared machine hits all three alike.
fincon lists with its defaults: ``prefetch="auto"``, which fetches the next page in a second
thread only once pages keep the listing waiting (this server serves unchanged pages from its
page cache within a few milliseconds, so it stays off); raw and stripe fetch page after page.
``fincon_sequential`` is fincon with ``prefetch=False``, for comparison in the same run.
The server renders each page once (the warm-up read) and serves the same bytes to every
client afterwards: the benchmark measures clients.

Goals (issue 8): fincon at least 10x faster than stripe, within 1.5x of raw, with lower
peak memory than stripe.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

from _common import client_rows, load_averages, medians, report, run_child
from _server import sandbox_server


def _child(mode: str, base_url: str, api_key: str, count: int) -> dict[str, float]:
    started = time.perf_counter()
    cpu = time.process_time()
    seen = 0
    if mode in ("fincon", "fincon_sequential"):
        import fincon

        prefetch = None if mode == "fincon" else False  # None: the resource's default ("auto")
        with fincon.connect("stripe", api_key=api_key, base_url=base_url, proactive_limits=False) as client:
            for invoice in client.invoices.list(page_size=100, prefetch=prefetch):
                seen += 1
                assert invoice.total is not None
    elif mode == "stripe":
        import stripe

        stripe.api_key = api_key
        stripe.api_base = base_url
        stripe.max_network_retries = 0
        for invoice in stripe.Invoice.list(limit=100).auto_paging_iter():
            seen += 1
            assert invoice.total is not None
    else:
        import httpx

        headers = {"Authorization": f"Bearer {api_key}", "Stripe-Version": "2023-08-16"}
        with httpx.Client(base_url=base_url, headers=headers) as http:
            params: dict[str, object] = {"limit": 100}
            while True:
                body = json.loads(http.get("/v1/invoices", params=params).content)
                for invoice in body["data"]:
                    seen += 1
                    assert invoice["total"] is not None
                if not body["has_more"]:
                    break
                params["starting_after"] = body["data"][-1]["id"]
    if seen != count:
        raise SystemExit(f"{mode} listed {seen} invoices, expected {count}")
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run(mode: str, base_url: str, api_key: str, count: int) -> dict[str, float]:
    return run_child(__file__, mode, base_url, api_key, str(count))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, base_url, api_key, count = sys.argv[2:6]
        print(json.dumps(_child(mode, base_url, api_key, int(count))))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    load_before = os.getloadavg()
    modes = ("raw", "fincon", "fincon_sequential", "stripe")
    rounds: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    with sandbox_server("stripe", size=args.invoices) as server:
        base_url, api_key = server["base_url"], server["credentials"]["api_key"]
        _run("raw", base_url, api_key, args.invoices)  # warm the server's caches and code paths
        for _ in range(args.rounds):
            for mode in modes:
                rounds[mode].append(_run(mode, base_url, api_key, args.invoices))
    load_after = os.getloadavg()
    results = medians(rounds)
    raw, ours, theirs = results["raw"], results["fincon"], results["stripe"]
    sequential = results["fincon_sequential"]
    rows = client_rows(results)
    ratios = {
        "stripe_over_fincon_wall": round(theirs["seconds"] / ours["seconds"], 2),
        "fincon_over_raw_wall": round(ours["seconds"] / raw["seconds"], 2),
        "stripe_over_fincon_cpu": round(theirs["cpu_seconds"] / ours["cpu_seconds"], 2),
        "fincon_over_raw_cpu": round(ours["cpu_seconds"] / raw["cpu_seconds"], 2),
        "sequential_over_default_wall": round(sequential["seconds"] / ours["seconds"], 2),
    }
    loads = load_averages(load_before, load_after)
    report(f"listing {args.invoices} Stripe invoices from a loopback sandbox server", rows,
           {"invoices": args.invoices, "rounds": args.rounds, **ratios, **loads})  # fmt: skip
    print(
        f"stripe / fincon = {ratios['stripe_over_fincon_wall']}x wall (goal >= 10x); "
        f"fincon / raw = {ratios['fincon_over_raw_wall']}x wall (goal <= 1.5x); "
        f"peak RSS fincon {ours['peak_rss_mb']:.0f} MB vs stripe {theirs['peak_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
