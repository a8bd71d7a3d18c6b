"""The commands behind ``fincon``: each returns an exit status."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timezone
from typing import Any

from fincon.cli._progress import Progress
from fincon.errors import ConfigError, ValidationError

__all__ = ["audit_verify_command", "check_command", "export_command", "serve_command", "systems_command"]


def _ensure_reference(system: str) -> None:
    # The reference system is not registered publicly; the CLI knows it for demos and benchmarks.
    if system == "reference":
        from fincon.testing.reference.connector import register

        register()


def _connect(system: str, settings: Mapping[str, Any], *, sandbox: bool) -> Any:
    import fincon

    _ensure_reference(system)
    if sandbox:
        return fincon.connect(system, sandbox=True, **settings)
    return fincon.connect(system, **settings)


def systems_command() -> int:
    import fincon

    infos = fincon.systems()
    if not infos:
        print("no systems registered yet (connectors land as their issues are built)")
        return 0
    for info in infos:
        resources = ", ".join(f"{name}[{'/'.join(ops)}]" for name, ops in sorted(info.capabilities.items()))
        sandbox = " sandbox" if info.sandbox else ""
        print(f"{info.name:<12} {info.status:<6}{sandbox:<8} {info.description}")
        if resources:
            print(f"{'':<12} {resources}")
    return 0


def check_command(system: str, settings: Mapping[str, Any], *, sandbox: bool) -> int:
    with _connect(system, settings, sandbox=sandbox) as connector:
        identity = connector.check()
    who = identity.user or identity.account
    if identity.user and identity.account:
        who = f"{identity.user} ({identity.account})"
    print(f"{system}: connected{' as ' + who if who else ''}")
    return 0


def _resource_name(resource: str) -> str:
    from fincon.models import RESOURCE_ATTRIBUTES, RESOURCE_MODELS

    if resource in RESOURCE_MODELS:
        return resource
    if resource in RESOURCE_ATTRIBUTES:
        return RESOURCE_ATTRIBUTES[resource]
    raise ValidationError(
        f"unknown resource {resource!r} (for example: {', '.join(sorted(RESOURCE_ATTRIBUTES))})",
        field="resource",
    )


def parse_since(text: str) -> datetime:
    """``2026-01-01`` (midnight UTC) or an ISO 8601 datetime with an offset or ``Z``."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"--since {text!r} is not an ISO 8601 date or datetime", field="since"
        ) from None
    if value.tzinfo is None:
        raise ValidationError("--since needs a timezone (add Z or an offset such as +01:00)", field="since")
    return value


def _flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, separators=(",", ":"), sort_keys=True)
        else:
            flat[name] = value
    return flat


def _columns(model: Any, prefix: str = "") -> list[str]:
    """CSV columns from the model (stable across pages): nested models become dotted columns."""
    from pydantic import BaseModel

    columns: list[str] = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        nested = _nested_model(info.annotation)
        if nested is not None and issubclass(nested, BaseModel):
            columns.extend(_columns(nested, f"{prefix}{name}."))
        else:
            columns.append(f"{prefix}{name}")
    return columns


def _nested_model(annotation: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def export_command(
    system: str,
    resource: str,
    *,
    fmt: str,
    since: str | None,
    out: str | None,
    page_size: int | None,
    settings: Mapping[str, Any],
    sandbox: bool,
) -> int:
    name = _resource_name(resource)
    updated_since = parse_since(since) if since else None
    if fmt == "parquet" and not out:
        raise ConfigError("--format parquet needs --out FILE")
    progress = Progress(f"exporting {system} {name}")
    with _connect(system, settings, sandbox=sandbox) as connector:
        listing = connector.collection(name).list(updated_since=updated_since, page_size=page_size)
        pages = _pages_as_rows(listing.pages(), progress)
        from fincon.models import RESOURCE_MODELS

        columns = _columns(RESOURCE_MODELS[name])
        if fmt == "parquet":
            assert out is not None
            count = _write_parquet(pages, out, columns)
        else:
            stream = open(out, "w", newline="", encoding="utf-8") if out else sys.stdout  # noqa: SIM115
            try:
                count = _write_csv(pages, stream, columns) if fmt == "csv" else _write_jsonl(pages, stream)
            finally:
                if out:
                    stream.close()
    progress.close()
    if out:
        print(f"exported {count} {name} records to {out}", file=sys.stderr)
    return 0


def _pages_as_rows(pages: Iterator[Any], progress: Progress) -> Iterator[list[dict[str, Any]]]:
    for page in pages:
        rows = [record.dump(mode="json") for record in page.items]
        progress.advance(len(rows))
        yield rows


def _write_jsonl(pages: Iterator[list[dict[str, Any]]], stream: Any) -> int:
    count = 0
    for rows in pages:
        for row in rows:
            stream.write(json.dumps(row, separators=(",", ":"), sort_keys=True) + "\n")
            count += 1
    return count


def _write_csv(pages: Iterator[list[dict[str, Any]]], stream: Any, columns: list[str]) -> int:
    writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for rows in pages:
        for row in rows:
            writer.writerow(_flatten(row))
            count += 1
    return count


def _write_parquet(pages: Iterator[list[dict[str, Any]]], path: str, columns: list[str]) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigError('--format parquet needs the pandas extra: pip install "fincon[pandas]"') from exc
    # Every column is a string: amounts stay exact decimal text, never float.
    schema = pa.schema([(column, pa.string()) for column in columns])
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        for rows in pages:
            flat = [_flatten(row) for row in rows]
            table = {
                column: [None if row.get(column) is None else str(row[column]) for row in flat]
                for column in columns
            }
            writer.write_table(pa.table(table, schema=schema))
            count += len(rows)
    return count


def serve_command(system: str, *, host: str, port: int, seed: int, size: int) -> int:
    from fincon.core.registry import get_system
    from fincon.sandbox import run_server

    _ensure_reference(system)
    emulator = get_system(system).load_sandbox()(seed=seed, size=size)
    run_server(emulator, host, port)
    return 0


def audit_verify_command(path: str) -> int:
    from fincon.core.audit import verify_audit_file

    try:
        result = verify_audit_file(path)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    if result.ok:
        print(f"{path}: {result.lines} entries, hash chain intact")
        return 0
    print(f"{path}: tampered at line {result.first_bad_line}: {result.reason}", file=sys.stderr)
    return 1
