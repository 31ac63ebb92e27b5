"""England funding benchmark: the national ARRS total against the published national pot.

Takes every practice of England in a PCN of December 2019 (ePCN) with its 2018/19 Carr-Hill
weighted list (NHS Payments to General Practice 2018/19), works out each PCN's ARRS sum with
the project's rates file for every contract year, and prints the national total beside the
published national pot for the year, with the ratio. 2020/21 is the year this configuration and
population date fit best (the DES uses weighted lists at 1 January 2020 for 2020/21); later years
apply their rate to the same 2018/19 weighted lists, so their ratios show population growth and
configuration change as well as the rate. A pot the reference does not give is shown as
missing. No role mix is planned (money only).

Usage::

    python benchmarks/funding_england.py

Needs ../shared/data. Prints Markdown; the machine and the wall time are named in the header.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._table import markdown  # noqa: E402
from pcnopt import funding  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
JOINED = SHARED / "england" / "practices_england_joined.csv"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.node()} ({cpu}, {os.cpu_count()} logical cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()})"
    )


def england_inputs() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Practices (registered and weighted 2018/19) and the December 2019 assignment."""
    table = pd.read_csv(JOINED, dtype=str, keep_default_na=False)
    in_pcn = table["pcn2019_code"] != ""
    weighted = pd.to_numeric(table["weighted_2018_19"].replace("", None))
    registered = pd.to_numeric(table["registered_2018_19"].replace("", None))
    usable = in_pcn & registered.notna()
    practices = pd.DataFrame(
        {
            "practice_code": table.loc[usable, "practice_code"],
            "list_size": registered[usable],
            "weighted_population": weighted[usable],
        }
    )
    assignments = pd.DataFrame(
        {
            "practice_code": table.loc[usable, "practice_code"],
            "pcn_id": table.loc[usable, "pcn2019_code"],
        }
    )
    counts = {
        "practices_in_pcns": int(in_pcn.sum()),
        "without_2018_19_lists": int((in_pcn & ~usable).sum()),
        "without_weighted": int((usable & weighted.isna()).sum()),
    }
    return practices, assignments, counts


#: Dates of the inputs (shared/data/england/SOURCE.md): 2018/19 lists, Dec 2019 PCNs.
INPUT_DATES = {
    "list_size": "2018-04-01",
    "weighted_population": "2018-04-01",
    "membership": "2019-12-31",
}


def _why(year: str, yr: funding.YearRates, ratio: float | None) -> str:
    """The reason a year's total differs from its pot (or that it matches)."""
    if ratio is None:
        return "no published pot to compare with"
    parts = []
    if yr.population_date and yr.population_date > INPUT_DATES["weighted_population"]:
        parts.append(
            f"weighted lists of 2018/19, not {yr.population_date[:4]} (England's list "
            "grew since, and the weighting is renormalised each year)"
        )
    if yr.per_weighted_patient.status != "read":
        parts.append(f"£ per weighted patient is {yr.per_weighted_patient.status}")
    if yr.provisional:
        parts.append("provisional year")
    if year == "2020/21":
        parts.insert(0, "like-for-like year (Dec 2019 PCNs, lists near 1 Jan 2020)")
    return "; ".join(parts) or "-"


def main(argv: list[str] | None = None) -> int:
    """Print the national totals table."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Needs ../shared/data; prints Markdown with the machine and wall time named.",
    )
    parser.parse_args(argv)
    if not JOINED.is_file():
        print(f"needs {JOINED}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    practices, assignments, counts = england_inputs()
    rates = funding.default_rates()
    rows = []
    for year in funding.YEARS:
        result = funding.funding_from_assignments(
            practices=practices,
            assignments=assignments,
            year=year,
            rates=rates,
            plan_roles=False,
            input_dates=INPUT_DATES,
        )
        yr = rates.year(year)
        total = float(result.pcns["arrs_sum_gbp"].sum())
        pot = yr.national_pot_gbp
        rate = yr.per_weighted_patient
        ratio = total / pot.value if pot.value else None
        rows.append(
            {
                "year": year,
                "pcns": len(result.pcns),
                "rate": f"£{rate.value:g}/weighted ({rate.status})"
                if rate.value is not None
                else "per-role allowance",
                "national_total_£m": round(total / 1e6, 1),
                "published_pot_£m": round(pot.value / 1e6, 1) if pot.value is not None else None,
                "pot_status": pot.status if pot.value is not None else f"missing: {pot.note}",
                "ratio": round(ratio, 3) if ratio is not None else None,
                "within_2%": "" if ratio is None else ("yes" if abs(ratio - 1) <= 0.02 else "no"),
                "why": _why(year, yr, ratio),
            }
        )
    elapsed = time.perf_counter() - started
    weighted = practices["weighted_population"].sum()
    print("# Funding benchmark: England, December 2019 PCNs, 2018/19 weighted lists\n")
    print(f"Machine: {_machine()}; wall time {elapsed:.1f} s for all years.\n")
    print(
        f"{counts['practices_in_pcns']:,} practices in 1,250 PCNs (Dec 2019); "
        f"{counts['without_2018_19_lists']} without a 2018/19 list are left out; "
        f"{counts['without_weighted']} without a weighted list use their registered list "
        f"(estimate). Weighted population {weighted:,.0f}; registered "
        f"{practices['list_size'].sum():,.0f}.\n"
    )
    print(markdown(pd.DataFrame(rows)))
    print(
        "\nratio = national total / published pot. 2020/21 is the like-for-like year "
        "(Dec 2019 PCNs, weighted lists near 1 Jan 2020). In later years the same 2018/19 "
        "weighted lists sum to less than England's weighted population at each year's "
        "1 January, so the totals fall short of the pots by roughly the list growth; the "
        "2 % test applies only where the population date matches."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
