"""Reading Intacct vendors: fincon vs the ``sageintacctsdk`` package vs raw httpx + lxml.

All three read the same vendors from one loopback sandbox server (``fincon sandbox serve
intacct`` in its own process), each client in a fresh child process so that peak memory
(``ru_maxrss``) is its own.

- fincon: ``connector.vendors.list(page_size=1000)``: ``readByQuery`` + ``readMore``, every
  record a canonical ``Vendor`` (exact fields, aware ``updated_at``);
- sageintacctsdk: ``sdk.vendors.get_all()``, the package's way to read every vendor
  (``query`` pages of 2,000 with its own field list, ``requests`` + ``xmltodict``). The
  package always starts at ``https://api.intacct.com``: the benchmark points its base
  class at the loopback gateway before logging in;
- raw: ``httpx.Client.post`` of an lxml-built ``readByQuery``/``readMore`` request, the
  response parsed with lxml and each record turned into a dict of its fields.

fincon runs with ``proactive_limits=False`` (the benchmark measures client cost, not
Intacct's allowance).

    python benchmarks/bench_intacct.py [--vendors 100000]

Goals (issue 7): fincon at least 2x faster than sageintacctsdk, within 1.5x of raw, with
lower peak memory than sageintacctsdk.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

from _common import report
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
    if mode == "fincon":
        import fincon

        with fincon.connect("intacct", base_url=base_url, proactive_limits=False, **credentials) as client:
            for vendor in client.vendors.list(page_size=1000):
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


def _run(mode: str, base_url: str, credentials: dict[str, str], count: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, base_url, json.dumps(credentials), str(count)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, base_url, credentials, count = sys.argv[2:6]
        print(json.dumps(_child(mode, base_url, json.loads(credentials), int(count))))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--vendors", type=int, default=100_000)
    args = parser.parse_args()
    with sandbox_server("intacct", size=args.vendors) as server:
        base_url, credentials = server["base_url"], server["credentials"]
        _run("raw", base_url, credentials, args.vendors)  # warm the server's caches and code paths
        modes = ("raw", "fincon", "sageintacctsdk")
        results = {mode: _run(mode, base_url, credentials, args.vendors) for mode in modes}
    raw, ours, theirs = results["raw"], results["fincon"], results["sageintacctsdk"]
    rows = []
    for mode, result in results.items():
        rows.append((f"{mode} wall", result["seconds"], "s"))
        rows.append((f"{mode} client CPU", result["cpu_seconds"], "s"))
        rows.append((f"{mode} peak RSS", result["peak_rss_mb"], "MB"))
    ratios = {
        "sdk_over_fincon_wall": round(theirs["seconds"] / ours["seconds"], 2),
        "fincon_over_raw_wall": round(ours["seconds"] / raw["seconds"], 2),
        "sdk_over_fincon_cpu": round(theirs["cpu_seconds"] / ours["cpu_seconds"], 2),
        "fincon_over_raw_cpu": round(ours["cpu_seconds"] / raw["cpu_seconds"], 2),
    }
    report(f"reading {args.vendors} Intacct vendors from a loopback sandbox server", rows,
           {"vendors": args.vendors, **ratios})  # fmt: skip
    print(
        f"sageintacctsdk / fincon = {ratios['sdk_over_fincon_wall']}x wall (goal >= 2x); "
        f"fincon / raw = {ratios['fincon_over_raw_wall']}x wall (goal <= 1.5x); "
        f"peak RSS fincon {ours['peak_rss_mb']:.0f} MB vs sageintacctsdk {theirs['peak_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
