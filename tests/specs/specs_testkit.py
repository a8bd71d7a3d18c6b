"""Shared names for the spec-check tests (a module with a unique name, unlike conftest)."""

from __future__ import annotations

STRIPE_2023 = "stripe/2023-09-12_api-2023-08-16"
STRIPE_2022 = "stripe/2022-04-12"
OBIE_AISP = "https://ob.example/open-banking/v4.0/aisp"
