"""Shared fixtures.

Real NHS/ONS data live in ``../shared/data`` beside the project. Tests that need it use the
``shared_dir`` fixture: they skip with a reason when it is absent, except in CI (``CI=true``),
where its absence is a failure.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pandas as pd
import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
DEMO_PRACTICES = PROJECT / "data" / "practices.csv"
DEMO_PLACES = PROJECT / "data" / "places.geojson"

# A test run started in the background by a shell without job control (a CI script's `cmd &`)
# begins with Ctrl-C ignored, and passes that on to every process it starts: the Ctrl-C tests
# (tests/test_interrupts.py, the trust tests) would then see no interrupt at all. A user's
# terminal gives Python its own handler; so do the tests.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ``../shared`` (skip, or fail in CI, when it is missing)."""
    if not (SHARED / "data").is_dir():
        message = f"real NHS/ONS data not found at {SHARED / 'data'}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must have ../shared beside the project")
        pytest.skip(f"{message}; place the shared/ folder beside the project to run this test")
    return SHARED


def demo_practices() -> pd.DataFrame:
    """The demo's practices table, every column as the text the file holds, to change a copy of."""
    return pd.read_csv(DEMO_PRACTICES, dtype=str)


def write_practices(table: pd.DataFrame, folder: Path, name: str = "practices.csv") -> Path:
    """Write ``table`` as ``folder/name`` (no index column) and return its path."""
    path = folder / name
    table.to_csv(path, index=False)
    return path


def optimise_argv(
    practices: Path,
    out: Path,
    *extra: str,
    places: Path | None = DEMO_PLACES,
    place_column: str = "place_id",
) -> list[str]:
    """The arguments of ``optimise --practices … --places … --place-column … --out …``.

    ``extra`` options follow the places; ``places=None`` leaves out ``--places`` and
    ``--place-column`` (for a run whose places come from a column of the practices table).
    """
    argv = ["optimise", "--practices", str(practices)]
    if places is not None:
        argv += ["--places", str(places), "--place-column", place_column]
    return [*argv, *extra, "--out", str(out)]
