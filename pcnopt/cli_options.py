"""The command line's options: value parsers and the option groups the commands share.

Each run setting's option is named by :data:`pcnopt.settings.SETTINGS` (``dest`` is the
:class:`pcnopt.settings.RunConfig` field); :mod:`pcnopt.cli` builds the commands from these.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pcnopt.settings import SETTINGS, RunConfig


def _setting(group: Any, field: str, **kwargs: Any) -> None:
    """Add the command-line option of one run setting (name, destination and default)."""
    default = RunConfig.model_fields[field].get_default(call_default_factory=True)
    if kwargs.get("action") == "append":
        default = []
    kwargs.setdefault("default", default)
    group.add_argument(SETTINGS[field].flag, dest=field, **kwargs)


def _code(text: str) -> str:
    return text.strip().upper()


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _year(text: str) -> str | None:
    return None if text.lower() == "none" else text


def column_pair(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not CANONICAL=COLUMN (e.g. list_size=Patients)"
        )
    canonical, column = text.split("=", 1)
    return canonical.strip(), column.strip()


def input_date(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not INPUT=YYYY-MM-DD (e.g. weighted_population=2019-01-01)"
        )
    name, date = text.split("=", 1)
    return name.strip(), date.strip()


def _objective(text: str) -> str | tuple[tuple[str, float], ...]:
    """``compact`` or ``compact=1,boundary=50`` (weights) or ``compact,boundary`` (order)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) == 1 and "=" not in parts[0]:
        return parts[0]
    pairs = []
    for part in parts:
        name, _, weight = part.partition("=")
        try:
            pairs.append((name.strip(), float(weight) if weight else 1.0))
        except ValueError:
            message = f"weight '{weight}' of {name} is not a number"
            raise argparse.ArgumentTypeError(message) from None
    return tuple(pairs)


def _codes(text: str) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for c in text.split(",") if c.strip())
    if len(codes) < 2:
        message = f"'{text}' needs two or more practice codes, comma-separated"
        raise argparse.ArgumentTypeError(message)
    return codes


def _fix(text: str) -> tuple[str, str]:
    code, sep, label = text.partition("=")
    if not sep or not code.strip() or not label.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not CODE=LABEL (e.g. C84001=north)")
    return code.strip().upper(), label.strip()


def _n_pcns(text: str) -> int | str:
    if text == "fewest":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number or 'fewest'") from None


def add_solver(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("optimisation")
    _setting(
        group,
        "objective",
        type=_objective,
        help="compact (default: patient-weighted distance to the PCN hub), "
        "boundary (border length between PCNs), disruption (patients moving from "
        "current_pcn); combine with weights, e.g. compact=1,boundary=50, or list "
        "names with --lexicographic to optimise them in order",
    )
    _setting(
        group,
        "lexicographic",
        action="store_true",
        help="optimise the listed objectives one after another",
    )
    _setting(
        group, "squared", action="store_true", help="use squared distances in the compact objective"
    )
    _setting(group, "n_pcns", type=_n_pcns, help="PCNs per place: a number, or 'fewest'")
    _setting(
        group,
        "total_pcns",
        type=_n_pcns,
        metavar="N|fewest",
        help="PCNs of the whole area, shared out between places at the least total objective "
        "(or 'fewest': each place at its fewest); not with --n-pcns",
    )
    _setting(group, "min_pcns", type=int, help="at least this many PCNs per place")
    _setting(group, "max_pcns", type=int, help="at most this many PCNs per place")
    _setting(
        group,
        "time_limit",
        type=float,
        metavar="SECONDS",
        help="per place; the best configuration found is returned with its gap",
    )
    _setting(group, "solver", help="cbc (default, bundled), highs, or any PuLP solver name")
    _setting(
        group,
        "mip_gap",
        type=float,
        help="stop when proven within this relative gap (default 0: optimal)",
    )
    _setting(group, "jobs", type=int, help="places solved in parallel (default 0: every core)")
    _setting(
        group,
        "keep_compliant",
        action="store_true",
        help="keep every current PCN that is in band, contiguous and inside one place exactly "
        "as it is; redesign only the others (with --objective disruption: a least-disruption "
        "refresh)",
    )
    money = parser.add_argument_group("funding")
    _setting(
        money,
        "funding_year",
        type=_year,
        help="contract year of the ARRS sums and entitlements written with the "
        "configuration (default: the contract year containing today's date; 'none' to skip)",
    )
    _setting(money, "rates", type=Path, help="rates file replacing the shipped one (same schema)")
    _setting(money, "input_dates", type=input_date, action="append", **INPUT_DATE)
    add_rules(parser)


#: ``--input-date`` as ``optimise`` and ``funding`` both take it.
INPUT_DATE: dict[str, Any] = {
    "metavar": "INPUT=YYYY-MM-DD",
    "help": "date of an input: list_size (the lists' extract date), weighted_population, "
    "membership (the PCN membership); repeat for each. The funding tables say, per figure, "
    "when one is older than 1 January of the year the contract year starts",
}


def add_rules(parser: argparse.ArgumentParser) -> None:
    """The commissioners' rules, shared by ``optimise`` (to obey) and ``validate`` (to check)."""
    rules = parser.add_argument_group(
        "commissioners' rules", "optimise obeys them; validate reports where they are broken"
    )
    _setting(
        rules,
        "keep_together",
        type=_codes,
        action="append",
        metavar="CODE,CODE[,...]",
        help="these practices share a PCN (repeatable)",
    )
    _setting(
        rules,
        "keep_apart",
        type=_codes,
        action="append",
        metavar="CODE,CODE[,...]",
        help="these practices are in different PCNs",
    )
    _setting(
        rules,
        "fixed",
        type=_fix,
        action="append",
        metavar="CODE=LABEL",
        help="put a practice in a named PCN; equal labels share a PCN",
    )
    _setting(
        rules,
        "excluded",
        type=_code,
        action="append",
        metavar="CODE",
        help="leave a practice out of every PCN (repeatable)",
    )
    _setting(
        parser,
        "special",
        type=_code,
        action="append",
        metavar="CODE",
        help="a special service (no catchment of its own: attached to the PCN of its nearest "
        "practice); special allocation, homeless, asylum, prison and small university services "
        "are found by their names (repeatable)",
    )
    _setting(
        rules,
        "approved_small_places",
        action="append",
        metavar="PLACE",
        help="PCNs below --min-size are approved in this place where unavoidable",
    )


def add_levels(parser: argparse.ArgumentParser) -> None:
    """``--level NAME=MIN-MAX``, repeated, outermost first (nested levels)."""
    _setting(
        parser,
        "levels",
        action="append",
        metavar="NAME=MIN-MAX",
        help="a level of nested units, outermost first, repeated (two or more), e.g. "
        "--level neighbourhood=200000-350000 --level pcn=30000-50000: each unit of a level "
        "lies inside one unit of the level above; the innermost level's band replaces "
        "--min-size/--max-size",
    )


def add_inputs(parser: argparse.ArgumentParser, *, practices_required: bool) -> None:
    _setting(
        parser,
        "practices",
        type=Path,
        required=practices_required,
        help="practices table (CSV, GeoJSON, GeoPackage, Parquet)"
        + ("" if practices_required else "; default: the embedded demo in data/"),
    )
    _setting(parser, "places", type=Path, help="place boundaries (any polygon file, any CRS)")
    _setting(parser, "place_column", help="id column of the places file (e.g. SICBL23CD)")
    _setting(
        parser,
        "place_field",
        help="take each practice's place from this column of the practices table",
    )
    _setting(
        parser,
        "columns",
        type=column_pair,
        action="append",
        metavar="CANONICAL=COLUMN",
        help="map a practices column explicitly, e.g. list_size=Patients (repeatable)",
    )
    _setting(
        parser,
        "current_pcn",
        metavar="COLUMN",
        help="the practices table's column of each practice's current PCN (default: "
        "current_pcn, or the newest dated column such as pcn2024_10_code)",
    )
    _setting(
        parser,
        "current_pcn_name",
        metavar="COLUMN",
        help="the column of the current PCN's name (default: the X_name beside X_code)",
    )
    _setting(parser, "min_size", type=float, help="smallest PCN (patients)")
    _setting(parser, "max_size", type=float, help="largest PCN (patients)")
    _setting(
        parser,
        "population",
        choices=["registered", "weighted"],
        help="population for the size band (default: registered list)",
    )
    _setting(
        parser,
        "area",
        type=_ids,
        action="extend",
        default=[],
        metavar="CODE[,CODE…]",
        help="only these places (ids of the places file or of --place-field): one area of "
        "England straight from the national table",
    )
    _setting(
        parser,
        "snap_distance_m",
        type=float,
        metavar="METRES",
        help="snap practices up to this far outside every place (default 5000)",
    )
    _setting(
        parser,
        "repair_geometries",
        action="store_true",
        help="repair invalid place polygons instead of stopping",
    )
