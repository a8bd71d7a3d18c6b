"""The pieces under the contracts, without vendor specs: locating, YAML, patches, form decoding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from fincon.testing.specs import OPENAPI_PATCHES, SpecNotFound, require_spec, spec_path, specs_dir
from fincon.testing.specs._documents import load_yaml
from fincon.testing.specs._errors import Problem, SpecViolation
from fincon.testing.specs._forms import FormDecodeError, coerce, decode_pairs
from fincon.testing.specs._patches import apply_openapi_patches
from fincon.testing.specs._schemas import SchemaSet

# --- locating ----------------------------------------------------------------------------------------


def test_fincon_specs_points_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "api.yaml").write_text("openapi: 3.0.0\n")
    monkeypatch.setenv("FINCON_SPECS", str(tmp_path))
    assert specs_dir() == tmp_path
    assert spec_path("vendor/api.yaml") == tmp_path / "vendor" / "api.yaml"
    with pytest.raises(SpecNotFound, match=r"vendor spec 'vendor/other\.yaml' not found under"):
        spec_path("vendor/other.yaml")


def test_a_missing_folder_skips_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINCON_SPECS", str(tmp_path / "absent"))
    assert specs_dir() is None
    with pytest.raises(
        pytest.skip.Exception, match=r"vendor specs folder not found: looked at \$FINCON_SPECS="
    ):
        require_spec("stripe/spec3.yaml")


def test_without_the_variable_the_folder_beside_the_repository_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FINCON_SPECS", raising=False)
    repo = Path(__file__).resolve().parents[2]
    expected = repo.parent / "shared" / "specs"
    assert specs_dir() == (expected if expected.is_dir() else None)


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = (
        "import sys, fincon.testing.specs\n"
        "heavy = {'yaml', 'lxml', 'openapi_core', 'jsonschema', 'referencing', 'openapi_schema_validator'}\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# --- YAML --------------------------------------------------------------------------------------------

TRICKY = """
base: &base {limit: 100, ratio: 1.5, hex: 0x1F, octal: 017, big: 1_000, inf: .inf}
copy: *base
flags: [yes, No, on, OFF, true, ~, null, '']
quoted: ["5", 'true', "null"]
date: 2001-12-14
stamp: 2001-12-14t21:59:43.10-05:00
codes: {200: ok, '404': missing}
text: |
  two
  lines
"""


def test_the_fast_yaml_loader_equals_pyyaml_safe_load() -> None:
    loaded = load_yaml(TRICKY)
    assert loaded == yaml.safe_load(TRICKY)
    assert loaded["copy"] is loaded["base"]  # an alias is the same object, as in PyYAML


@pytest.mark.parametrize("text", ["a: !!str 5\n", "<<: {a: 1}\nb: 2\n", "? [a, b]\n: c\n"])
def test_unusual_yaml_falls_back_to_pyyaml(text: str) -> None:
    try:
        expected: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            load_yaml(text)
    else:
        assert load_yaml(text) == expected


def test_the_fast_loader_agrees_with_pyyaml_on_a_real_spec() -> None:
    path = require_spec("obie/v4.0/account-info-openapi.yaml")
    data = path.read_bytes()
    assert load_yaml(data) == yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


# --- patches -----------------------------------------------------------------------------------------


def patched(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    applied = apply_openapi_patches(document, OPENAPI_PATCHES)
    return document, applied


def test_each_openapi_patch_on_a_small_document() -> None:
    document, applied = patched(
        {
            "openapi": "3.0.0",
            "paths": {},
            "components": {
                "schemas": {
                    "address": {"type": "object", "properties": {"city": {"type": "string"}}},
                    "expandable": {"nullable": True, "anyOf": [{"$ref": "#/components/schemas/address"}]},
                    "wrapped": {"nullable": True, "allOf": [{"$ref": "#/components/schemas/address"}]},
                    "sibling": {"$ref": "#/components/schemas/address", "nullable": True},
                    "status": {"type": "string", "nullable": True, "enum": ["open", "paid"]},
                    "frequency": {"type": "string", "enum": ["DAIL", "WEEK", "WEEK"]},
                    "broken": {"$ref": "#/components/schemas/nowhere"},
                },
                "responses": {200: {"description": "YAML made this key an int"}},
            },
        }
    )
    assert applied == {
        "string-keys": 1,
        "nullable-ref": 1,
        "nullable-combinator": 2,
        "nullable-enum": 1,
        "duplicate-enum": 1,
        "dangling-ref": 1,
    }
    schemas = SchemaSet(document)
    for name in ("expandable", "wrapped", "sibling", "status"):
        assert schemas.check(f"/components/schemas/{name}", None, direction="read", prefix="") == [], name
    assert schemas.check("/components/schemas/expandable", {"city": 5}, direction="read", prefix="/body") == [
        Problem("/body/city", "5 is not of type 'string'")
    ]
    assert document["components"]["schemas"]["frequency"]["enum"] == ["DAIL", "WEEK"]
    assert document["components"]["schemas"]["broken"] == {
        "x-fincon-dangling-ref": "#/components/schemas/nowhere"
    }
    assert "200" in document["components"]["responses"]
    assert apply_openapi_patches(document, OPENAPI_PATCHES) == {}, "patches apply once"


# --- form decoding -----------------------------------------------------------------------------------

FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "amount": {"type": "integer"},
        "capture": {"type": "boolean"},
        "rate": {"type": "number"},
        "metadata": {
            "anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"enum": [""]}]
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"price": {"type": "string"}, "quantity": {"type": "integer"}},
            },
        },
        "expand": {"type": "array", "items": {"type": "string"}},
        "created": {
            "anyOf": [{"type": "object", "properties": {"gte": {"type": "integer"}}}, {"type": "integer"}]
        },
    },
}


def test_bracketed_keys_become_typed_nested_values() -> None:
    pairs = [
        ("amount", "1000"),
        ("capture", "false"),
        ("rate", "0.5"),
        ("metadata[order]", "6735"),
        ("items[0][price]", "price_1"),
        ("items[0][quantity]", "2"),
        ("items[1][price]", "price_2"),
        ("expand[]", "customer"),
        ("expand[]", "invoice"),
        ("created[gte]", "1690000000"),
    ]
    value = coerce(decode_pairs(pairs), FORM_SCHEMA, SchemaSet({}))
    assert value == {
        "amount": 1000,
        "capture": False,
        "rate": 0.5,
        "metadata": {"order": "6735"},
        "items": [{"price": "price_1", "quantity": 2}, {"price": "price_2"}],
        "expand": ["customer", "invoice"],
        "created": {"gte": 1690000000},
    }


def test_unreadable_values_stay_strings_for_the_validator_to_reject() -> None:
    value = coerce(
        decode_pairs([("amount", "ten"), ("created", "5"), ("metadata", "")]), FORM_SCHEMA, SchemaSet({})
    )
    assert value == {"amount": "ten", "created": 5, "metadata": ""}


@pytest.mark.parametrize(
    "pairs",
    [
        [("a", "1"), ("a[b]", "2")],
        [("a[b]", "1"), ("a[b][c]", "2")],
        [("a[b]", "1"), ("a[b]", "2")],
    ],
)
def test_contradicting_keys_are_refused(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(FormDecodeError):
        decode_pairs(pairs)


def test_violation_messages_stay_short() -> None:
    problems = [Problem(f"/body/{index}", "x" * 5000) for index in range(12)]
    message = str(SpecViolation("Some API 1.0 (some.yaml)", "GET /things response 200", problems))
    assert message.splitlines()[0] == "GET /things response 200 violates Some API 1.0 (some.yaml):"
    assert len(message.splitlines()) == 7
    assert message.endswith("… and 7 more problems")
    assert len(message) < 2000
