"""What must hold for every input, tested as properties on random small worlds.

A world is 1-3 square places of 10 km side by side (British National Grid), 6-25 practices at
random sites (some sharing a site) with random list sizes, a random size band and sometimes a
practice left out by rule::

    +----------+----------+----------+
    | P1  .  . | P2 .     | P3  . .  |      . a practice; each place 10 x 10 km
    |  .     . |   .  . . |  .       |
    +----------+----------+----------+

The whole pipeline runs (``run_optimise`` then ``write_run``) and every written file is read back
and checked here, with our own code (our own breadth-first search for contiguity, the world's own
record of which place each practice was drawn in, the ARRS rate read from the rates file):

- every input practice is in exactly one PCN in assignments.csv, pcns.csv (``practices``),
  pcns.geojson, funding.csv (``n_practices``), catchments.geojson and map.html (its data),
  and a practice left out by rule is in none;
- every PCN is contiguous on adjacency.csv, lies within one place (and inside its polygon), and
  is within the band or carries a named exception;
- patients in equal patients out, per PCN and in total;
- each PCN's ARRS sum is the year's rate times its (weighted, else registered) population.

``check_run`` is used by ``benchmarks/trust_report.py`` too.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import hypothesis.strategies as st
import networkx as nx
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, example, given, settings
from shapely.geometry import box

from pcnopt.errors import OptionError
from pcnopt.jobs import write_run_with_maps as write_run
from pcnopt.run import RunConfig, run_optimise
from pcnopt.validation import validate_configuration
from tests.conftest import PROJECT

SIDE = 10_000.0
ORIGIN = (450_000.0, 300_000.0)
YEAR = "2025/26"
ARRS_RATE = yaml.safe_load((PROJECT / "pcnopt/rates/ncdes.yaml").read_text(encoding="utf-8"))[
    "years"
][YEAR]["arrs"]["per_weighted_patient"]["value"]


@dataclass(frozen=True)
class World:
    """Random inputs: practices (with the place each was drawn in) and options."""

    practices: pd.DataFrame
    n_places: int
    min_size: int
    max_size: int
    excluded: tuple[str, ...] = ()
    population: str = "registered"
    #: more RunConfig settings: objective, keep_apart, keep_together, approved_small_places
    options: tuple[tuple[str, object], ...] = ()

    def place_box(self, k: int):  # type: ignore[no-untyped-def]
        x0, y0 = ORIGIN
        return box(x0 + k * SIDE, y0, x0 + (k + 1) * SIDE, y0 + SIDE)

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write the practices CSV and the places GeoPackage into ``folder``."""
        practices = folder / "practices.csv"
        self.practices.drop(columns="place").to_csv(practices, index=False)
        places = folder / "places.gpkg"
        gpd.GeoDataFrame(
            {"pid": [f"P{k + 1}" for k in range(self.n_places)]},
            geometry=[self.place_box(k) for k in range(self.n_places)],
            crs="EPSG:27700",
        ).to_file(places)
        return practices, places


@st.composite
def worlds(draw: st.DrawFn, *, max_practices: int = 25) -> World:
    n_places = draw(st.integers(1, 3))
    total = draw(st.integers(6, max_practices))
    place_of = sorted(draw(st.lists(st.integers(0, n_places - 1), min_size=total, max_size=total)))
    weighted = draw(st.booleans())
    rows = []
    coordinate = st.floats(300, SIDE - 300, allow_nan=False)
    for i, k in enumerate(place_of):
        same_site = i > 0 and place_of[i - 1] == k and draw(st.integers(0, 9)) == 0
        if same_site:
            x, y = rows[-1]["easting"], rows[-1]["northing"]
        else:
            x = round(ORIGIN[0] + k * SIDE + draw(coordinate), 1)
            y = round(ORIGIN[1] + draw(coordinate), 1)
        size = draw(st.integers(0, 30_000))
        rows.append(
            {
                "practice_code": f"X{i:03d}",
                "name": f"Practice {i}",
                "easting": x,
                "northing": y,
                "list_size": size,
                **(
                    {"weighted_population": round(size * draw(st.floats(0.8, 1.2)), 2)}
                    if weighted
                    else {}
                ),
                "place": f"P{k + 1}",
            }
        )
    practices = pd.DataFrame(rows)
    min_size = draw(st.sampled_from([0, 10_000, 20_000, 30_000]))
    max_size = min_size + draw(st.sampled_from([10_000, 20_000, 30_000]))
    excluded = tuple(
        draw(st.lists(st.sampled_from(list(practices["practice_code"])), max_size=1, unique=True))
    )
    population = "weighted" if weighted and draw(st.booleans()) else "registered"
    options: list[tuple[str, object]] = []
    objective = draw(st.sampled_from(["compact", "compact", "boundary", "compact+boundary"]))
    if objective == "compact+boundary":
        options.append(("objective", (("compact", 1.0), ("boundary", 50.0))))
    elif objective != "compact":
        options.append(("objective", objective))
    free = practices[~practices["practice_code"].isin(excluded)]
    for rule in ("keep_apart", "keep_together"):
        place = draw(st.sampled_from(sorted(set(free["place"]))))
        codes = sorted(free.loc[free["place"] == place, "practice_code"])
        if len(codes) >= 2 and draw(st.integers(0, 3)) == 0:
            pair = tuple(
                sorted(draw(st.lists(st.sampled_from(codes), min_size=2, max_size=2, unique=True)))
            )
            if (rule, (pair,)) != ("keep_together", dict(options).get("keep_apart")):
                options.append((rule, (pair,)))
    if draw(st.integers(0, 3)) == 0:
        options.append(("approved_small_places", ("P1",)))
    return World(practices, n_places, min_size, max_size, excluded, population, tuple(options))


def run_world(world: World, folder: Path) -> Path:
    """Run the pipeline on ``world`` and write its outputs to ``folder/out``."""
    practices, places = world.write(folder)
    config = RunConfig(
        practices=practices,
        places=places,
        place_column="pid",
        jobs=1,
        time_limit=10,
        min_size=world.min_size,
        max_size=world.max_size,
        excluded=world.excluded,
        population=world.population,
        funding_year=YEAR,
        **dict(world.options),
    )
    return write_run(run_optimise(config), folder / "out")


@dataclass
class Checks:
    """Counts the checks made and keeps the ones that failed."""

    run: int = 0
    failures: list[str] = field(default_factory=list)

    def __call__(self, ok: bool, what: str) -> None:
        self.run += 1
        if not ok:
            self.failures.append(what)


def components(members: list[str], edges: pd.DataFrame) -> int:
    """Connected parts of ``members`` on the adjacency (our own breadth-first search)."""
    inside = set(members)
    neighbours: dict[str, set[str]] = {m: set() for m in members}
    for a, b in edges[["a", "b"]].itertuples(index=False):
        if a in inside and b in inside:
            neighbours[a].add(b)
            neighbours[b].add(a)
    seen: set[str] = set()
    parts = 0
    for start in members:
        if start in seen:
            continue
        parts += 1
        queue = deque([start])
        seen.add(start)
        while queue:
            for nxt in neighbours[queue.popleft()] - seen:
                seen.add(nxt)
                queue.append(nxt)
    return parts


def map_data(page: str) -> dict:
    """The data embedded in map.html (the argument of ``pcnoptMap``)."""
    match = re.search(r"= pcnoptMap\(\w+,\s*", page)
    assert match, "map.html has no pcnoptMap(...) call"
    data, _ = json.JSONDecoder().raw_decode(page, match.end())
    return data


def check_run(world: World, out: Path, checks: Checks) -> None:
    """Check every invariant on the files written to ``out``."""
    given = world.practices.set_index("practice_code")
    codes = sorted(given.index)
    kept = sorted(set(codes) - set(world.excluded))
    text = {"practice_code": str, "pcn_id": str, "a": str, "b": str}

    assignments = pd.read_csv(out / "assignments.csv", dtype=text)
    checks(
        sorted(assignments["practice_code"]) == codes,
        "assignments.csv: not every input practice exactly once",
    )
    placed = assignments.dropna(subset=["pcn_id"])
    checks(
        sorted(placed["practice_code"]) == kept,
        "assignments.csv: a practice not left out by rule has no PCN, or vice versa",
    )
    checks(
        all(
            given.at[c, "place"] == p
            for c, p in zip(assignments["practice_code"], assignments["place_id"], strict=True)
        ),
        "assignments.csv: a practice is in a place it was not drawn in",
    )

    pcns = pd.read_csv(
        out / "pcns.csv", dtype={"pcn_id": str, "practices": str}, keep_default_na=False
    )
    members = {p: m.split(";") for p, m in zip(pcns["pcn_id"], pcns["practices"], strict=True)}
    listed = sorted(c for m in members.values() for c in m)
    checks(listed == kept, "pcns.csv: the 'practices' column does not hold each practice once")
    checks(
        list(pcns["n_practices"]) == [len(m) for m in members.values()],
        "pcns.csv: n_practices does not count the practices",
    )
    pcn_of = dict(zip(placed["practice_code"], placed["pcn_id"], strict=True))
    checks(
        all(pcn_of.get(c) == p for p, m in members.items() for c in m),
        "pcns.csv and assignments.csv disagree on a practice's PCN",
    )

    # patients in = patients out, per PCN and in total
    sizes = {p: int(given.loc[m, "list_size"].sum()) for p, m in members.items()}
    checks(
        dict(zip(pcns["pcn_id"], pcns["list_size"], strict=True)) == sizes,
        "pcns.csv: a PCN's list size is not the sum of its practices'",
    )
    checks(
        int(assignments["list_size"].sum()) == int(given["list_size"].sum()),
        "assignments.csv: patients in != patients out",
    )
    summary = json.loads((out / "summary.json").read_text())
    checks(
        summary["practices_in"] == len(codes)
        and summary["practices_out"] == len(kept)
        and summary["patients"] == int(given["list_size"].sum()),
        "summary.json: practice or patient counts differ from the input",
    )

    # contiguous, one place, inside it, in band or a named exception
    edges = pd.read_csv(out / "adjacency.csv", dtype=text)
    validation = pd.read_csv(out / "validation.csv", dtype={"pcn_id": str}).set_index("pcn_id")
    band_weights = given["weighted_population" if world.population == "weighted" else "list_size"]
    # a commissioner's rule is kept, or (when no plan can keep it) reported as broken
    for rule, groups in world.options:
        for group in groups if rule in ("keep_apart", "keep_together") else ():
            pcns_of = {pcn_of.get(c) for c in group}
            rule_kept = len(pcns_of) == (len(group) if rule == "keep_apart" else 1)
            reported = not summary["valid"] and any(
                all(c in p for c in group) for p in summary["rules_broken"]
            )
            checks(
                rule_kept or reported,
                f"{rule} {group} broken silently: PCNs {sorted(map(str, pcns_of))}",
            )
    for row in pcns.itertuples(index=False):
        m = members[row.pcn_id]
        parts = components(m, edges)
        checks(parts == 1, f"PCN {row.pcn_id} is not contiguous ({parts} parts)")
        checks(
            int(validation.at[row.pcn_id, "n_components"]) == parts,
            f"PCN {row.pcn_id}: the validator counts other parts than our search",
        )
        places = set(given.loc[m, "place"])
        checks(places == {row.place_id}, f"PCN {row.pcn_id} spans places {sorted(places)}")
        size = float(band_weights[m].sum())
        in_band = world.min_size <= size <= world.max_size
        checks(
            in_band or row.exception != "",
            f"PCN {row.pcn_id} ({size:,.2f}) is out of band with no named exception",
        )
        checks(bool(row.in_band) == in_band, f"PCN {row.pcn_id}: in_band is wrong")

    areas = gpd.read_file(out / "pcns.geojson").to_crs("EPSG:27700")
    checks(
        sorted(areas["pcn_id"]) == sorted(members), "pcns.geojson: not one area per PCN of pcns.csv"
    )
    checks(int(areas["n_practices"].sum()) == len(kept), "pcns.geojson: practices lost")
    for pcn_id, place_id, geometry in areas[["pcn_id", "place_id", "geometry"]].itertuples(
        index=False
    ):
        region = world.place_box(int(place_id[1:]) - 1)
        checks(
            geometry is not None and geometry.is_valid and not geometry.is_empty,
            f"pcns.geojson: PCN {pcn_id} has no valid area",
        )
        # GeoJSON keeps 6 decimals of a degree (~0.1 m): allow 1 m at the border
        checks(
            geometry.difference(region.buffer(1.0)).area < 1.0,
            f"pcns.geojson: PCN {pcn_id} reaches outside its place",
        )
    cells = gpd.read_file(out / "catchments.geojson")
    checks(sorted(cells["practice_code"]) == codes, "catchments.geojson: not one cell each")

    funding = pd.read_csv(out / "funding.csv", dtype={"pcn_id": str}).set_index("pcn_id")
    checks(sorted(funding.index) == sorted(members), "funding.csv: not one row per PCN")
    checks(int(funding["n_practices"].sum()) == len(kept), "funding.csv: practices lost")
    checks(
        int(funding["registered"].sum()) == int(given.loc[kept, "list_size"].sum()),
        "funding.csv: registered patients lost",
    )
    weights = given["weighted_population"] if "weighted_population" in given else given["list_size"]
    for pcn_id, m in members.items():
        expected = ARRS_RATE * float(weights[m].sum())
        checks(
            abs(float(funding.at[pcn_id, "arrs_sum_gbp"]) - expected) <= 0.011,
            f"funding.csv: PCN {pcn_id} ARRS {funding.at[pcn_id, 'arrs_sum_gbp']} != "
            f"{ARRS_RATE} x population = {expected:.2f}",
        )
    checks(
        abs(float(funding["arrs_sum_gbp"].sum()) - ARRS_RATE * float(weights[kept].sum()))
        <= 0.011 * len(members),
        "funding.csv: ARRS total != rate x population",
    )

    data = map_data((out / "map.html").read_text(encoding="utf-8"))
    on_map = data["practices"]["code"]
    checks(sorted(on_map) == codes, "map.html: not every practice exactly once")
    config = data["configs"][0]
    ids = [p["id"] for p in config["pcns"]]
    checks(sorted(ids) == sorted(members), "map.html: not one entry per PCN")
    shown = {c: (ids[k] if k >= 0 else None) for c, k in zip(on_map, config["pcnOf"], strict=True)}
    checks(shown == {c: pcn_of.get(c) for c in codes}, "map.html: a practice in the wrong PCN")


#: Each example runs the solver and writes every file (seconds): no shrinking, the failing world
#: is printed whole.
PIPELINE = settings(
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)


def run_and_check(world: World) -> None:
    """Run a world and check its outputs; random rules that contradict must be refused cleanly."""
    checks = Checks()
    with tempfile.TemporaryDirectory() as folder:
        try:
            out = run_world(world, Path(folder))
        except OptionError as exc:
            event("refused: contradictory rules")
            assert str(exc) and not (Path(folder) / "out").exists()
            return
        check_run(world, out, checks)
    assert not checks.failures, "\n".join(checks.failures)


def world_of(rows: str, n_places: int, min_size: int, max_size: int, **kwargs: object) -> World:
    """A world from lines of ``code easting northing list_size place``."""
    table = pd.DataFrame(
        [
            dict(
                zip(
                    ("practice_code", "easting", "northing", "list_size", "place"),
                    line.split(),
                    strict=True,
                )
            )
            for line in rows.strip().splitlines()
        ]
    ).astype({"easting": float, "northing": float, "list_size": int})
    table.insert(1, "name", table["practice_code"])
    return World(table, n_places, min_size, max_size, **kwargs)  # type: ignore[arg-type]


#: Found by these properties: keep-apart with a practice alone above the band (KeyError in model).
KEEP_APART_WITH_A_LARGE_PRACTICE = world_of(
    """
    X000 451500.3 302627.0 1268 P1
    X001 451627.0 301000.0 30000 P1
    X002 452000.0 308133.6 1 P1
    X003 455334.5 306941.9 595 P1
    X004 455334.5 306941.9 0 P1
    X005 455334.5 306941.9 2693 P1
    X006 450571.0 301596.4 841 P1
    X007 460300.0 300300.0 0 P2
    X008 460300.0 300300.0 0 P2
    X009 460300.0 300300.0 3085 P2
    X010 468252.7 300301.0 4008 P2
    """,
    2,
    0,
    10_000,
    options=(("keep_apart", (("X000", "X001"),)), ("approved_small_places", ("P1",))),
)


@settings(PIPELINE, max_examples=6)
@example(world=KEEP_APART_WITH_A_LARGE_PRACTICE)
@given(world=worlds(max_practices=14))
def test_every_output_keeps_every_practice_and_every_rule(world: World) -> None:
    run_and_check(world)


@pytest.mark.slow
@settings(PIPELINE, max_examples=25)
@given(world=worlds(max_practices=25))
def test_every_output_keeps_every_practice_and_every_rule_larger(world: World) -> None:
    run_and_check(world)


# ------------------------------------------------------------- the validator, against our own


def test_the_validator_reports_broken_commissioner_rules() -> None:
    """Found by these properties: a keep-apart rule broken by a fallback passed as valid."""
    practices = pd.DataFrame(
        {"practice_code": list("ABCD"), "place_id": ["P"] * 4, "list_size": [10_000] * 4}
    )
    edges = pd.DataFrame({"a": ["A", "B", "C"], "b": ["B", "C", "D"]})
    assignments = pd.DataFrame({"practice_code": list("ABCD"), "pcn_id": ["n1", "n1", "n2", "n2"]})

    def problems(**rules: object) -> tuple[str, ...]:
        return validate_configuration(
            practices=practices,
            assignments=assignments,
            edges=edges,
            min_size=0,
            max_size=50_000,
            **rules,  # type: ignore[arg-type]
        ).problems

    assert (
        problems(
            keep_apart=(("A", "C"),),
            keep_together=(("A", "B"),),
            fixed=(("A", "x"), ("B", "x"), ("C", "y")),
        )
        == ()
    )
    assert problems(keep_apart=(("A", "B"),)) == (
        "rule broken: A and B must be in different PCNs but share n1",
    )
    assert problems(keep_together=(("A", "D"),)) == (
        "rule broken: A, D must share a PCN but are in n1, n2",
    )
    assert len(problems(fixed=(("A", "x"), ("C", "x"), ("B", "y")))) == 2  # split x, x meets y


@st.composite
def configurations(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A random graph of practices in 1-2 places and any assignment of them to PCNs."""
    n = draw(st.integers(2, 12))
    codes = [f"C{i:02d}" for i in range(n)]
    place = [draw(st.sampled_from(["A", "B"])) for _ in codes]
    size = [draw(st.integers(0, 40_000)) for _ in codes]
    pairs = [(a, b) for i, a in enumerate(codes) for b in codes[i + 1 :]]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    edges = pd.DataFrame(chosen, columns=["a", "b"])
    pcn = [draw(st.sampled_from(["n1", "n2", "n3", "n4"])) for _ in codes]
    practices = pd.DataFrame({"practice_code": codes, "place_id": place, "list_size": size})
    return practices, pd.DataFrame({"practice_code": codes, "pcn_id": pcn}), edges


@settings(max_examples=150, deadline=None)
@given(configuration=configurations())
def test_the_validator_agrees_with_our_own_checks(configuration) -> None:
    """Contiguity, places and band, as the validator sees them and as we compute them."""
    practices, assignments, edges = configuration
    report = validate_configuration(
        practices=practices, assignments=assignments, edges=edges, min_size=30_000, max_size=50_000
    )
    info = practices.set_index("practice_code")
    graph = nx.Graph(list(edges.itertuples(index=False, name=None)))
    graph.add_nodes_from(info.index)
    by_pcn = report.pcns.set_index("pcn_id")
    for pcn_id, group in assignments.groupby("pcn_id"):
        members = list(group["practice_code"])
        row = by_pcn.loc[pcn_id]
        assert row["n_components"] == components(members, edges)
        crosses = len(set(info.loc[members, "place_id"])) > 1
        assert ("crosses places" in row["problems"]) == crosses
        assert ("not contiguous" in row["problems"]) == (components(members, edges) > 1)
        size = int(info.loc[members, "list_size"].sum())
        if not 30_000 <= size <= 50_000:
            assert row["exception"] != "" or "the band" in row["problems"]
        if row["exception"] == "single practice above maximum: own PCN":
            assert len(members) == 1 and size > 50_000
        if row["exception"].startswith("below minimum, needs"):
            # a whole connected part of its place, too small for the band
            # (a practice above the maximum is a PCN of its own, so it joins no island)
            place = info.at[members[0], "place_id"]
            joinable = info.index[(info["place_id"] == place) & (info["list_size"] <= 50_000)]
            part = nx.node_connected_component(graph.subgraph(joinable), members[0])
            assert set(part) == set(members) and size < 30_000
    assert report.ok == all(by_pcn["problems"] == "")


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """Outputs broken by hand (a practice lost, a PCN split, money changed) are caught."""
    rows = [
        {
            "practice_code": f"X{i:03d}",
            "name": f"Practice {i}",
            "easting": ORIGIN[0] + 1_000 + 2_000 * i,
            "northing": ORIGIN[1] + 5_000,
            "list_size": 10_000,
            "place": "P1",
        }
        for i in range(4)
    ]
    world = World(pd.DataFrame(rows), 1, 15_000, 25_000)
    out = run_world(world, tmp_path)
    clean = Checks()
    check_run(world, out, clean)
    assert clean.run > 30 and not clean.failures, clean.failures

    assignments = pd.read_csv(out / "assignments.csv")
    assignments.iloc[1:].to_csv(out / "assignments.csv", index=False)
    pcns = pd.read_csv(out / "pcns.csv", keep_default_na=False)
    first = pcns.at[0, "practices"].split(";")
    pcns.at[0, "practices"] = ";".join([first[0], "X003" if first[0] != "X003" else "X000"])
    pcns.to_csv(out / "pcns.csv", index=False)
    funding = pd.read_csv(out / "funding.csv")
    funding.loc[0, "arrs_sum_gbp"] += 1.0
    funding.to_csv(out / "funding.csv", index=False)
    page = (out / "map.html").read_text(encoding="utf-8")
    (out / "map.html").write_text(page.replace('"X002"', '"X001"', 1), encoding="utf-8")
    broken = Checks()
    check_run(world, out, broken)
    found = "\n".join(broken.failures)
    for expected in (
        "assignments.csv: not every input practice exactly once",
        "pcns.csv: the 'practices' column does not hold each practice once",
        "is not contiguous",
        "funding.csv: PCN",
        "map.html: not every practice",
    ):
        assert expected in found, found
