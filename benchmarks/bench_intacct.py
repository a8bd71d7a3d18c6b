"""Reading Intacct vendors: fincon vs the ``sageintacctsdk`` package vs raw httpx + lxml.

All three read the same vendors from one loopback sandbox server (``fincon sandbox serve
intacct`` in its own process), each client in a fresh child process so that peak memory
(``ru_maxrss``) is its own.

- fincon: ``connector.vendors.list(page_size=1000)``: ``readByQuery`` + ``readMore``, every
  record a canonical ``Vendor`` (exact fields, aware ``updated_at``), with Intacct's default
  prefetch (on from the first page where the process may use a second CPU, else ``"auto"``:
  the next page is fetched and parsed in a background thread while this one is mapped, and
  the listing lets that thread take the GIL every 0.5 ms of mapping);
  ``fincon-no-prefetch`` is the same listing with ``prefetch=False``, ``fincon-prefetch``
  with ``prefetch=True`` (the same as the default on a machine with two CPUs or more);
- sageintacctsdk: ``sdk.vendors.get_all()``, the package's way to read every vendor
  (``query`` pages of 2,000 with its own field list, ``requests`` + ``xmltodict``). The
  package always starts at ``https://api.intacct.com``: the benchmark points its base
  class at the loopback gateway before logging in;
- raw: ``httpx.Client.post`` of an lxml-built ``readByQuery``/``readMore`` request, the
  response parsed with lxml and each record turned into a dict of its fields.

fincon runs with ``proactive_limits=False`` (the benchmark measures client cost, not
Intacct's allowance) and its default listing.

The server renders a page once and serves it again from its page cache (nothing is
written during the run), so after a warm-up read of each kind of page the server's share of
every wall time is small and the same for every client: the benchmark measures clients.
The clients then take turns (``--repeat`` rounds of raw, fincon, sageintacctsdk) and each
figure is the median of its rounds, so a burst of load from other work on the machine lands
on one round of each client, not on one client. The load average before and after the run
is printed with the results.

    python benchmarks/bench_intacct.py [--vendors 100000] [--repeat 3]   # from the repo root

``--switch-interval 0.0005`` adds a row: fincon with ``prefetch=True`` in a child that sets
``sys.setswitchinterval(0.0005)``. That is the application's choice, never fincon's (it is
process-wide): it shows why prefetch barely overlaps against a fast server. The prefetch
thread needs the GIL back after every 64 KiB socket read and after its parse, and waits up
to the switch interval (5 ms by default) each time while the main thread maps records.

``--page-latency 0.1`` measures something else: fincon alone, in process, with and without
prefetch, every request delayed by that many seconds (a real gateway's time per page), to
show what prefetch is for.

Goals (issue 7): fincon at least 2x faster than sageintacctsdk, within 1.5x of raw, with
lower peak memory than sageintacctsdk.
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

GATEWAY = "/ia/xml/xmlgw.phtml"


def _raw(base_url: str, credentials: dict[str, str]) -> int:
    import httpx
    from lxml import etree

    from fincon.connectors.intacct._values import flatten

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

    def envelope(auth: Any, body: Any) -> bytes:
        root = etree.Element("request")
        control = etree.SubElement(root, "control")
        for tag, text in (
            ("senderid", credentials["sender_id"]),
            ("password", credentials["sender_password"]),
            ("controlid", "bench"),
            ("uniqueid", "false"),
            ("dtdversion", "3.0"),
        ):
            etree.SubElement(control, tag).text = text
        operation = etree.SubElement(root, "operation")
        operation.append(auth)
        function = etree.SubElement(etree.SubElement(operation, "content"), "function", controlid="f")
        function.append(body)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    def element(tag: str, **children: str) -> Any:
        node = etree.Element(tag)
        for name, text in children.items():
            etree.SubElement(node, name).text = text
        return node

    seen = 0
    with httpx.Client(headers={"Content-Type": "application/xml"}) as http:
        login = element("login", userid=credentials["user_id"], companyid=credentials["company_id"],
                        password=credentials["user_password"])  # fmt: skip
        auth = element("authentication")
        auth.append(login)
        answer = etree.fromstring(
            http.post(base_url + GATEWAY, content=envelope(auth, element("getAPISession"))).content, parser
        )
        session = answer.findtext("operation/result/data/api/sessionid")
        endpoint = answer.findtext("operation/result/data/api/endpoint")
        body = element("readByQuery", object="VENDOR", fields="*", query="", pagesize="1000")
        while True:
            root = etree.fromstring(
                http.post(
                    endpoint, content=envelope(element("authentication", sessionid=session), body)
                ).content,
                parser,
            )
            data = root.find("operation/result/data")
            for record in data:
                fields = flatten(record)
                seen += 1
                assert fields["NAME"]
            if data.get("numremaining") == "0":
                return seen
            body = element("readMore", resultId=data.get("resultId"))


def _child(mode: str, base_url: str, credentials: dict[str, str], count: int) -> dict[str, float]:
    started = time.perf_counter()
    cpu = time.process_time()
    seen = 0
    if mode.startswith("fincon"):
        import fincon

        # None: the resource's default (True with a second CPU, else "auto")
        prefetch = {"fincon": None, "fincon-no-prefetch": False}.get(mode, True)
        if mode.startswith("fincon-prefetch-switch-"):
            # An application's own choice, shown apart: a shorter GIL switch interval lets the
            # prefetch thread take the GIL back sooner after each read and parse.
            sys.setswitchinterval(float(mode.rsplit("-", 1)[1]))
        with fincon.connect("intacct", base_url=base_url, proactive_limits=False, **credentials) as client:
            for vendor in client.vendors.list(page_size=1000, prefetch=prefetch):
                seen += 1
                assert vendor.name
    elif mode == "sageintacctsdk":
        from sageintacctsdk import SageIntacctSDK
        from sageintacctsdk.apis import api_base

        original = api_base.ApiBase.__init__

        def on_loopback(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            self._ApiBase__api_url = base_url + GATEWAY

        api_base.ApiBase.__init__ = on_loopback  # type: ignore[method-assign]
        sdk = SageIntacctSDK(**credentials)
        for vendor in sdk.vendors.get_all():
            seen += 1
            assert vendor["NAME"]
    else:
        seen = _raw(base_url, credentials)
    if seen != count:
        raise SystemExit(f"{mode} read {seen} vendors, expected {count}")
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _latency_run(count: int, latency: float) -> None:
    """fincon with and without prefetch against the in-process sandbox, each request delayed
    by ``latency`` seconds (Intacct's gateway takes that long or longer per page)."""
    import httpx

    import fincon
    from fincon.connectors.intacct.sandbox import IntacctEmulator
    from fincon.sandbox import SandboxTransport

    emulator = IntacctEmulator(seed=0, size=count)

    class Delayed(httpx.BaseTransport):
        def __init__(self, inner: httpx.BaseTransport) -> None:
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            time.sleep(latency)  # the gateway's own time: no CPU, like waiting on the network
            return self.inner.handle_request(request)

    settings = {**emulator.credentials(), "base_url": emulator.base_url, "proactive_limits": False}
    with fincon.connect("intacct", transport=Delayed(SandboxTransport(emulator)), **settings) as client:
        sum(1 for _ in client.vendors.list(page_size=1000, prefetch=False))  # render every page once
        rows = []
        modes: tuple[Any, ...] = (False, True, "auto")
        for prefetch in modes:
            started = time.perf_counter()
            seen = sum(1 for _ in client.vendors.list(page_size=1000, prefetch=prefetch))
            assert seen == count
            rows.append((f"fincon prefetch={prefetch!r} wall", time.perf_counter() - started, "s"))
    saves = round(1 - rows[1][1] / rows[0][1], 2)
    auto_saves = round(1 - rows[2][1] / rows[0][1], 2)
    title = f"reading {count} Intacct vendors, {latency * 1000:.0f} ms per page, in process"
    report(
        title,
        rows,
        {"vendors": count, "latency_s": latency, "prefetch_saves": saves, "auto_saves": auto_saves},
    )


def _run(mode: str, base_url: str, credentials: dict[str, str], count: int) -> dict[str, float]:
    return run_child(__file__, mode, base_url, json.dumps(credentials), str(count))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, base_url, credentials, count = sys.argv[2:6]
        print(json.dumps(_child(mode, base_url, json.loads(credentials), int(count))))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--vendors", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each figure is the median")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="also: fincon with prefetch=True in a child that sets sys.setswitchinterval to this",
    )
    parser.add_argument(
        "--page-latency",
        type=float,
        default=None,
        metavar="SECONDS",
        help="instead: fincon with and without prefetch, in process, each page delayed this long",
    )
    args = parser.parse_args()
    if args.page_latency is not None:
        _latency_run(args.vendors, args.page_latency)
        return
    load_before = os.getloadavg()
    modes: tuple[str, ...] = ("raw", "fincon", "fincon-no-prefetch", "fincon-prefetch", "sageintacctsdk")
    switched = None
    if args.switch_interval is not None:
        switched = f"fincon-prefetch-switch-{args.switch_interval:g}"
        modes += (switched,)
    rounds: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    with sandbox_server("intacct", size=args.vendors) as server:
        base_url, credentials = server["base_url"], server["credentials"]
        # Warm-up: the server renders each page once (raw and fincon read the same readMore
        # pages, sageintacctsdk reads query pages with its own field list), then serves copies.
        for mode in ("raw", "sageintacctsdk"):
            _run(mode, base_url, credentials, args.vendors)
        for _ in range(max(args.repeat, 1)):
            for mode in modes:
                rounds[mode].append(_run(mode, base_url, credentials, args.vendors))
    load_after = os.getloadavg()
    results = medians(rounds)
    raw, ours, theirs = results["raw"], results["fincon"], results["sageintacctsdk"]
    serial, ahead = results["fincon-no-prefetch"], results["fincon-prefetch"]
    rows = client_rows(results)
    ratios = {
        "sdk_over_fincon_wall": round(theirs["seconds"] / ours["seconds"], 2),
        "fincon_over_raw_wall": round(ours["seconds"] / raw["seconds"], 2),
        "sdk_over_fincon_cpu": round(theirs["cpu_seconds"] / ours["cpu_seconds"], 2),
        "fincon_over_raw_cpu": round(ours["cpu_seconds"] / raw["cpu_seconds"], 2),
        "sdk_over_fincon_no_prefetch_wall": round(theirs["seconds"] / serial["seconds"], 2),
        "fincon_no_prefetch_over_raw_wall": round(serial["seconds"] / raw["seconds"], 2),
        "sdk_over_fincon_prefetch_wall": round(theirs["seconds"] / ahead["seconds"], 2),
        "fincon_prefetch_over_raw_wall": round(ahead["seconds"] / raw["seconds"], 2),
    }
    if switched is not None:
        ratios["sdk_over_fincon_switched_wall"] = round(theirs["seconds"] / results[switched]["seconds"], 2)
        ratios["fincon_switched_over_raw_wall"] = round(results[switched]["seconds"] / raw["seconds"], 2)
    load = load_averages(load_before, load_after)
    report(f"reading {args.vendors} Intacct vendors from a loopback sandbox server", rows,
           {"vendors": args.vendors, "rounds": max(args.repeat, 1), **ratios, **load})  # fmt: skip
    print(
        f"sageintacctsdk / fincon = {ratios['sdk_over_fincon_wall']}x wall (goal >= 2x); "
        f"fincon / raw = {ratios['fincon_over_raw_wall']}x wall (goal <= 1.5x); "
        f"without prefetch {ratios['sdk_over_fincon_no_prefetch_wall']}x and "
        f"{ratios['fincon_no_prefetch_over_raw_wall']}x; "
        f"with prefetch=True {ratios['sdk_over_fincon_prefetch_wall']}x and "
        f"{ratios['fincon_prefetch_over_raw_wall']}x; "
        f"peak RSS fincon {ours['peak_rss_mb']:.0f} MB vs sageintacctsdk {theirs['peak_rss_mb']:.0f} MB; "
        f"load average (1, 5, 15 min) {load['load_before']} before, {load['load_after']} after"
    )


if __name__ == "__main__":
    main()
