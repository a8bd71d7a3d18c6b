"""Peak client memory when listing 10,000 vs 1,000,000 sandbox records.

The reference sandbox runs in its own process (``fincon sandbox serve``); the client runs
in a fresh child process per size and reports its peak RSS and its tracemalloc peak
(Python allocations only) after iterating every record. Goal (issue 4): the 1,000,000
listing within 50 MB of the 10,000 one, because listings stream page by page.

    python benchmarks/bench_listing_memory.py [--large 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc

from _common import report
from _server import sandbox_server


def _child(base_url: str, api_key: str, trace: bool) -> None:
    import fincon
    from fincon.core.ratelimit import RateLimit
    from fincon.testing.reference.connector import register

    register()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    count = 0
    with fincon.connect(
        "reference", base_url=base_url, api_key=api_key, rate_limit=RateLimit(requests=1e9)
    ) as ref:
        for _vendor in ref.vendors.list(page_size=100):
            count += 1
    elapsed = time.perf_counter() - started
    peak_traced = tracemalloc.get_traced_memory()[1] if trace else 0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"count": count, "seconds": elapsed, "rss_mb": rss_kb / 1024, "traced_mb": peak_traced / 2**20}
        )
    )


def _measure(size: int, trace: bool) -> dict[str, float]:
    with sandbox_server(size=size) as server:
        out = subprocess.run(
            [sys.executable, __file__, "--child", server["base_url"], server["credentials"]["api_key"]]
            + (["--trace"] if trace else []),
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["count"] == size, f"listed {result['count']} records, expected {size}"
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--trace", action="store_true", help="also measure tracemalloc's peak (slower)")
    parser.add_argument("--child", nargs=2, metavar=("BASE_URL", "API_KEY"))
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.trace)
        return
    small, large = _measure(args.small, args.trace), _measure(args.large, args.trace)
    rows = [
        (f"peak RSS, {args.small:,} records", small["rss_mb"], "MB"),
        (f"peak RSS, {args.large:,} records", large["rss_mb"], "MB"),
        (f"seconds, {args.small:,} records", small["seconds"], "s"),
        (f"seconds, {args.large:,} records", large["seconds"], "s"),
    ]
    if args.trace:
        rows += [
            (f"tracemalloc peak, {args.small:,}", small["traced_mb"], "MB"),
            (f"tracemalloc peak, {args.large:,}", large["traced_mb"], "MB"),
        ]
    difference = large["rss_mb"] - small["rss_mb"]
    report(
        "client memory while listing (streamed page by page)",
        rows,
        {"rss_difference_mb": round(difference, 1)},
    )
    print(f"peak RSS difference: {difference:.1f} MB (goal <= 50 MB)")


if __name__ == "__main__":
    main()
