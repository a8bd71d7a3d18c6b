"""How long ``import fincon`` takes, next to httpx + pydantic alone and ``import stripe``.

Goal (issue 2): fincon at most 1.2x the import of httpx plus pydantic, and faster than stripe.
Each number is the median of fresh interpreters timing the import from inside.

    python benchmarks/bench_import.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import importlib.util

from _common import median, report, run_python


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    base = median(run_python("import httpx, pydantic", args.repeat))
    fincon = median(run_python("import fincon", args.repeat))
    # What a first call costs in addition: connect() loads the core and the models.
    fincon_connect = median(run_python("import fincon; fincon.connect; fincon.models.Vendor", args.repeat))
    rows = [
        ("import httpx, pydantic", base * 1000, "ms"),
        ("import fincon", fincon * 1000, "ms"),
        ("import fincon + core + models", fincon_connect * 1000, "ms"),
    ]
    extra: dict[str, object] = {"ratio_fincon_vs_httpx_pydantic": round(fincon / base, 3)}
    if importlib.util.find_spec("stripe") is not None:
        stripe = median(run_python("import stripe", args.repeat))
        rows.append(("import stripe", stripe * 1000, "ms"))
        extra["ratio_fincon_vs_stripe"] = round(fincon / stripe, 3)
    else:
        extra["stripe"] = "not installed (pip install -e '.[bench]')"
    report("import time (median)", rows, extra)
    print(f"fincon / (httpx + pydantic) = {fincon / base:.2f}x (goal <= 1.20x)")
    if "ratio_fincon_vs_stripe" in extra:
        print(f"fincon / stripe = {extra['ratio_fincon_vs_stripe']}x (goal < 1.00x)")


if __name__ == "__main__":
    main()
