"""Listing SAP suppliers: fincon vs ``pyodata`` (SAP's own Python OData client) vs raw httpx + json.

All three read the same suppliers from one loopback sandbox server (``fincon sandbox serve sap``
in its own process, its fragment cache on: a served sandbox caches serialised entities), each
client in a fresh child process so that peak memory (``ru_maxrss``) is its own. Every client asks
for the same thing: ``A_BusinessPartner`` with ``$filter=Supplier ne ''`` and
``$expand=to_Supplier,to_BusinessPartnerAddress,to_BusinessPartnerBank`` in ``$top``/``$skip``
windows of 1,000 ordered by the key, with ``sap-client`` on every request.

- fincon: ``connector.vendors.list(page_size=1000)``: every supplier a canonical ``Vendor``
  (addresses, bank accounts, aware ``updated_at``), prefetching (SAP's default): the next
  window is fetched in a second thread while the current one is mapped (``--sequential`` adds
  a fourth client, ``fincon_sequential``: the same listing with ``prefetch=False``);
- pyodata: ``A_BusinessPartner.get_entities().filter(...).expand(...).top(1000).skip(n)``
  through a ``requests`` session (pyodata reads ``$metadata`` first and builds typed entity
  proxies); each supplier's name and IBANs are read from the proxies;
- raw: ``httpx.Client.get`` + ``json.loads`` per window, each supplier's name and IBANs read
  from the dicts.

fincon runs with ``proactive_limits=False`` (the benchmark measures client cost, not SAP's
allowance).

    python benchmarks/bench_sap.py [--suppliers 100000] [--rounds 1] [--sequential]

(from the repository root or from ``benchmarks/``).

With several rounds the clients alternate (raw, fincon, pyodata, raw, ...) and each figure is
the median of its rounds. Goals (issue 5): fincon at least as fast as pyodata, within 1.5x of
raw.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from typing import Any

from _common import client_rows, load_averages, medians, report, run_child
from _server import sandbox_server

SERVICE = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
EXPAND = "to_Supplier,to_BusinessPartnerAddress,to_BusinessPartnerBank"
WINDOW = 1000
#: Seconds per request. The emulator evaluates ``$filter`` over every partner before ``$skip``,
#: so a window near the end of 100,000 suppliers takes seconds (httpx's default is 5).
TIMEOUT = 120.0


def _raw(base_url: str, credentials: dict[str, str]) -> int:
    import httpx

    seen = 0
    params = {
        "$format": "json",
        "$filter": "Supplier ne ''",
        "$expand": EXPAND,
        "$orderby": "BusinessPartner",
        "$top": str(WINDOW),
        "sap-client": credentials["sap_client"],
    }
    with httpx.Client(auth=(credentials["user"], credentials["password"]), timeout=TIMEOUT) as http:
        skip = 0
        while True:
            response = http.get(
                f"{base_url}{SERVICE}/A_BusinessPartner", params={**params, "$skip": str(skip)}
            )
            response.raise_for_status()
            results = json.loads(response.content)["d"]["results"]
            for partner in results:
                assert partner["OrganizationBPName1"]
                _ibans = [bank["IBAN"] for bank in partner["to_BusinessPartnerBank"]["results"]]
                seen += 1
            if len(results) < WINDOW:
                return seen
            skip += WINDOW


def _pyodata(base_url: str, credentials: dict[str, str]) -> int:
    import pyodata
    import requests

    client = credentials["sap_client"]

    class SapSession(requests.Session):
        # pyodata sends its own query string, so session params are lost: add sap-client here.
        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
            text = url if isinstance(url, str) else url.decode()
            text += ("&" if "?" in text else "?") + f"sap-client={client}"
            return super().request(method, text, *args, **kwargs)

    session = SapSession()  # requests has no timeout unless asked: it waits as long as it takes
    session.auth = (credentials["user"], credentials["password"])
    service = pyodata.Client(f"{base_url}{SERVICE}/", session)
    seen = 0
    skip = 0
    while True:
        page = (
            service.entity_sets.A_BusinessPartner.get_entities()
            .filter("Supplier ne ''")
            .expand(EXPAND)
            .order_by("BusinessPartner")
            .top(WINDOW)
            .skip(skip)
            .execute()
        )
        for partner in page:
            assert partner.OrganizationBPName1
            _ibans = [bank.IBAN for bank in partner.to_BusinessPartnerBank]
            seen += 1
        if len(page) < WINDOW:
            return seen
        skip += WINDOW


def _child(mode: str, base_url: str, credentials: dict[str, str], count: int) -> dict[str, float]:
    started = time.perf_counter()
    cpu = time.process_time()
    seen = 0
    if mode in ("fincon", "fincon_sequential"):
        import fincon

        with fincon.connect(
            "sap", base_url=base_url, proactive_limits=False, timeout=TIMEOUT, **credentials
        ) as sap:
            for vendor in sap.vendors.list(page_size=WINDOW, prefetch=mode == "fincon"):
                seen += 1
                assert vendor.name
    elif mode == "pyodata":
        seen = _pyodata(base_url, credentials)
    else:
        seen = _raw(base_url, credentials)
    if seen != count:
        raise SystemExit(f"{mode} read {seen} suppliers, expected {count}")
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run(mode: str, base_url: str, credentials: dict[str, str], count: int) -> dict[str, float]:
    return run_child(__file__, mode, base_url, json.dumps(credentials), str(count))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, base_url, credentials, count = sys.argv[2:6]
        print(json.dumps(_child(mode, base_url, json.loads(credentials), int(count))))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--sequential", action="store_true", help="also run fincon without prefetch (fincon_sequential)"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    modes: tuple[str, ...] = ("raw", "fincon", "pyodata")
    if args.sequential:
        modes += ("fincon_sequential",)
    rounds: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    with sandbox_server("sap", size=args.suppliers) as server:
        base_url, credentials = server["base_url"], server["credentials"]
        _run("raw", base_url, credentials, args.suppliers)  # fills the server's fragment cache
        for _ in range(args.rounds):
            for mode in modes:
                rounds[mode].append(_run(mode, base_url, credentials, args.suppliers))
    results = medians(rounds)
    raw, ours, theirs = results["raw"], results["fincon"], results["pyodata"]
    rows = client_rows(results)
    ratios = {
        "pyodata_over_fincon_wall": round(theirs["seconds"] / ours["seconds"], 2),
        "fincon_over_raw_wall": round(ours["seconds"] / raw["seconds"], 2),
        "pyodata_over_fincon_cpu": round(theirs["cpu_seconds"] / ours["cpu_seconds"], 2),
        "fincon_over_raw_cpu": round(ours["cpu_seconds"] / raw["cpu_seconds"], 2),
    }
    if "fincon_sequential" in results:
        sequential = results["fincon_sequential"]
        ratios["sequential_over_prefetch_wall"] = round(sequential["seconds"] / ours["seconds"], 2)
    load_after = os.getloadavg()
    loads = load_averages(load_before, load_after)
    extra = {"suppliers": args.suppliers, "rounds": args.rounds, **ratios, **loads}
    report(f"listing {args.suppliers} SAP suppliers from a loopback sandbox server", rows, extra)
    print(
        f"pyodata / fincon = {ratios['pyodata_over_fincon_wall']}x wall (goal >= 1x); "
        f"fincon / raw = {ratios['fincon_over_raw_wall']}x wall (goal <= 1.5x); "
        f"load average {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end"
    )


if __name__ == "__main__":
    main()
