"""Shared fixtures.

Real NHS/ONS data live in ``../shared/data`` beside the project. Tests that need it use the
``shared_dir`` fixture: they skip with a reason when it is absent, except in CI (``CI=true``),
where its absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ``../shared`` (skip, or fail in CI, when it is missing)."""
    if not (SHARED / "data").is_dir():
        message = f"real NHS/ONS data not found at {SHARED / 'data'}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must have ../shared beside the project")
        pytest.skip(f"{message}; place the shared/ folder beside the project to run this test")
    return SHARED
