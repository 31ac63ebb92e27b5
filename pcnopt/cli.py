"""pcnopt command line: a thin layer that parses arguments and calls the library.

Run ``pcnopt --help`` (installed), ``python -m pcnopt --help``, or ``python cli.py --help`` in a
checkout. The run settings' options are named by :data:`pcnopt.settings.SETTINGS` and parsed
straight into :class:`pcnopt.settings.RunConfig` fields (``dest`` is the field, the default is
the schema's).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

# everything else is imported when a command needs it, so that Ctrl-C in the first moments of a
# command (main's try) still ends with one line and exit 130, and --help is quick
if TYPE_CHECKING:
    from pcnopt.neighbourhoods import CouncilAlignment
    from pcnopt.settings import RunConfig


def _config(args: argparse.Namespace) -> RunConfig:
    """The run settings given on the command line (each option's ``dest`` is its field)."""
    from pcnopt.settings import SETTINGS, RunConfig, levels_from_texts

    values = {field: getattr(args, field) for field in SETTINGS if hasattr(args, field)}
    if "levels" in values:  # --level NAME=MIN-MAX, repeated
        values["levels"] = levels_from_texts(values["levels"])
    return RunConfig(**values)


def cmd_optimise(args: argparse.Namespace) -> int:
    """Group practices into PCNs and write the outputs.

    With two or more --level options, design nested levels top-down instead (every unit of a
    level inside one unit of the level above), as 'pcnopt neighbourhoods --level ...' does.
    """
    from pcnopt.io.outputs import check_output_folder
    from pcnopt.jobs import write_run_with_maps
    from pcnopt.run import run_optimise
    from pcnopt.run.inputs import current_pcn_statement

    config = _config(args)
    check_output_folder(args.out)
    if config.levels:
        return _nested(config, band=None, out=args.out, tiles=True)
    print(current_pcn_statement(config))
    result = run_optimise(config, progress=sys.stderr.isatty())
    out = write_run_with_maps(result, args.out)
    s = result.summary
    print(
        f"{s['practices_in']} practices in {s['places']} place(s) -> {s['pcns']} PCNs "
        f"({s['pcns_in_band']} within {config.min_size:,.0f}-{config.max_size:,.0f}, "
        f"{s['named_exceptions']} named exceptions); method: {', '.join(s['method'])}"
    )
    if "total_pcns" in s:
        total = s["total_pcns"]
        proof = (
            "proven optimal"
            if total["proven_optimal"]
            else f"gap {'unknown' if total['gap'] is None else format(total['gap'], '.2%')}"
        )
        print(
            f"--total-pcns {total['asked']}: {total['total']} PCNs ("
            + ", ".join(f"{place} {k}" for place, k in total["by_place"].items())
            + f"); allocation {proof}"
        )
    if s["snapped_practices"]:
        print(
            f"{len(s['snapped_practices'])} practice(s) just outside every place were snapped "
            "to the nearest place (see summary.json)."
        )
    print(result.validation.to_text())
    print(f"outputs written to {out}/")
    return 0


def cmd_neighbourhoods(args: argparse.Namespace) -> int:
    """Neighbourhoods above PCNs: existing PCNs grouped whole (--group-pcns), or both levels.

    --band gives the neighbourhoods above PCNs of --min-size to --max-size; or name every
    level with --level NAME=MIN-MAX, outermost first (two or more). Bottom-up, the given
    units are the innermost level.
    """
    from pcnopt import neighbourhoods
    from pcnopt.errors import OptionError
    from pcnopt.io.practices import current_pcn_columns_of_file
    from pcnopt.run.inputs import DEFAULT_PRACTICES

    band = None if args.band is None else neighbourhoods.parse_band(args.band, option="--band")
    if args.align_to is None and (args.align_objective or args.align_alone):
        raise OptionError(
            "--align-objective and --align-alone need --align-to FILE --align-column COL, "
            "the council areas to align the neighbourhoods with."
        )
    config = _config(args)
    neighbourhoods.levels_of(config, band)  # both or neither: say so before reading anything
    pcns_file, pcn_column = args.group_pcns, args.pcn_column
    if args.group_current:
        if args.group_pcns is not None:
            raise OptionError(
                "give --group-current (the practices table's current PCNs) or --group-pcns "
                "FILE, not both."
            )
        pcns_file = config.practices or DEFAULT_PRACTICES
        pcn_column = current_pcn_columns_of_file(pcns_file, columns=config.column_mapping).pcn
        if pcn_column is None:
            raise OptionError(
                f"--group-current: {pcns_file} has no current PCN column; name it with "
                "--current-pcn COLUMN."
            )
    align = (
        None
        if args.align_to is None
        else neighbourhoods.CouncilAlignment(
            args.align_to, args.align_column, args.align_objective, alone=args.align_alone
        )
    )
    return _nested(
        config,
        band=band,
        out=args.out,
        tiles=not args.no_tiles,
        pcns_file=pcns_file,
        pcn_column=pcn_column,
        align=align,
    )


def _nested(
    config: RunConfig,
    *,
    band: tuple[float, float] | None,
    out: Path,
    tiles: bool,
    pcns_file: Path | None = None,
    pcn_column: str | None = None,
    align: CouncilAlignment | None = None,
) -> int:
    """Run and write nested levels (neighbourhoods, or optimise with --level); print a line
    per level."""
    from pcnopt import neighbourhoods
    from pcnopt.io.outputs import check_output_folder

    check_output_folder(out)
    result = neighbourhoods.run_neighbourhoods(
        config,
        band=band,
        pcns_file=pcns_file,
        pcn_column=pcn_column,
        align=align,
        progress=sys.stderr.isatty(),
    )
    written = neighbourhoods.write_neighbourhoods(result, out, tiles=tiles)
    s = result.summary
    top = result.levels[0]
    print(
        f"{s['method']}: "
        + " holding ".join(
            f"{s[f'{level.name}s']} {level.noun} ({s[f'{level.name}s_in_band']} in band)"
            for level in result.levels
        )
        + f"; {top.noun} proven optimal in {s['places_proven']} of {s['places']} place(s)"
    )
    print(f"outputs written to {written}/")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Audit a configuration against every rule; exit 1 when any is broken.

    With --nest-column the file holds a second, outer level (e.g. the neighbourhoods of
    'pcnopt neighbourhoods'): its units are checked as well (contiguous, inside one place,
    within --nest-band), and every PCN must lie wholly inside one of them. Repeat
    --nest-column and --nest-band, from the PCNs outwards, for more levels: each level's
    units must lie wholly inside one unit of the next.
    """
    import pandas as pd

    from pcnopt import neighbourhoods
    from pcnopt.io.assignments import assignments_from_file, pcn_names_from_file
    from pcnopt.run import run_validate

    config = _config(args)
    nests = neighbourhoods.nest_levels(args.nest_column, args.nest_band)
    if args.report:
        from pcnopt.io.paths import check_output_file

        check_output_file(
            args.report, inputs=[args.practices, args.places, args.assignments], option="--report"
        )
    assignments = assignments_from_file(args.assignments, pcn_column=args.pcn_column)
    outers = [
        neighbourhoods.outer_units_from_file(args.assignments, column=column) for column, _ in nests
    ]
    names = pcn_names_from_file(args.assignments, pcn_column=args.pcn_column)
    report = run_validate(config, assignments=assignments, names=names)
    print(report.to_text())
    table = report.pcns
    ok = report.ok
    inner, inner_name = assignments, "PCN"
    for k, ((column, band), outer) in enumerate(zip(nests, outers, strict=True)):
        outer_name = neighbourhoods.level_name(column)
        nesting = neighbourhoods.validate_nesting(
            config,
            assignments=inner[["practice_code", "pcn_id"]].merge(
                outer, on="practice_code", how="left"
            ),
            band=band,
            outer_name=outer_name,
            inner_name=inner_name,
        )
        print(nesting.to_text())
        found = nesting.table(inner=report.pcns)
        table = found if k == 0 else pd.concat([table, found[found["level"] == outer_name]])
        ok = ok and nesting.ok
        inner, inner_name = outer.rename(columns={"outer": "pcn_id"}), outer_name
    if args.report:
        from pcnopt.io.outputs import write_table

        write_table(table, args.report)
        print(f"per-unit report written to {args.report}")
    return 0 if ok else 1


def cmd_prepare_nhs(args: argparse.Namespace) -> int:
    """Join the published NHS files into one practices table."""
    from pcnopt.io.nhs import practices_from_nhs_files
    from pcnopt.io.outputs import write_table
    from pcnopt.io.paths import check_output_file

    check_output_file(
        args.out,
        inputs=[
            args.epraccur,
            args.list_sizes,
            args.postcodes,
            args.epcn,
            args.payments,
            args.pcn_map,
        ],
        option="--out",
    )
    joined = practices_from_nhs_files(
        epraccur=args.epraccur,
        list_sizes=args.list_sizes,
        postcodes=args.postcodes,
        epcn=args.epcn,
        payments=args.payments,
        pcn_map=args.pcn_map,
    )
    write_table(joined.practices, args.out)
    print(joined.report.to_text())
    print(f"{len(joined.practices)} practices written to {args.out}")
    return 0


def cmd_funding(args: argparse.Namespace) -> int:
    """Each PCN's ARRS sum, entitlements and a role mix it can recruit, for one contract year."""
    from pcnopt import funding
    from pcnopt.io.assignments import assignments_from_file
    from pcnopt.io.outputs import check_output_folder
    from pcnopt.io.practices import practices_from_file

    check_output_folder(args.out)
    if args.year is None:
        args.year = funding.default_year()  # the contract year containing today's date
    rates = funding.rates_from_file(args.rates)
    rates.year(args.year)
    target = funding.TargetMix.parse(args.target_mix) if args.target_mix else None
    practices = practices_from_file(args.practices, columns=dict(args.columns))
    assignments = assignments_from_file(args.assignments, pcn_column=args.pcn_column)
    options = {
        "year": args.year,
        "rates": rates,
        "wte_step": args.wte_step,
        "target": target,
        "area": args.area,
        "practices_file": str(args.practices),
        "input_dates": funding.input_dates_from_pairs(args.input_dates),
    }
    result = funding.funding_from_assignments(
        practices=practices,
        assignments=assignments,
        assignments_file=str(args.assignments),
        **options,
    )
    comparison = None
    if args.compare:
        before = assignments_from_file(
            args.compare, pcn_column=args.compare_pcn_column or args.pcn_column
        )
        comparison = funding.compare_configurations(
            practices=practices,
            before=before,
            after=assignments,
            before_file=str(args.compare),
            after_file=str(args.assignments),
            **options,
        )
    out = funding.write_funding(args.out, result=result, comparison=comparison)
    for warning in result.warnings:
        print(f"pcnopt: warning: {warning}", file=sys.stderr)
    s = result.summary()
    print(
        f"{args.year}: {s['pcns']} PCNs, {s['practices']} practices; ARRS sums "
        f"£{s['totals_gbp']['arrs_sum_gbp']:,.0f}{' (ESTIMATE)' if s['estimate'] else ''}; "
        f"all known lines £{s['totals_gbp']['total_known_gbp']:,.0f}"
    )
    if result.headline:
        print(result.headline)
    for note in result.notes:  # inputs older than the DES date, PCNs far from their place
        if note.startswith(("OLDER INPUT", "RATIO")):
            print(note)
    for item in result.missing:
        print(f"missing from the rates file: {item}")
    if comparison is not None:
        moves = comparison.practices
        print(
            f"compared with {args.compare}: {comparison.practices_changing_pcn} practice(s) move "
            "to a different PCN (PCNs matched by shared patients), "
            f"{int(moves['partners_changed'].sum())} have different PCN partners; "
            f"totals {'identical' if comparison.same_population else 'differ'} "
            "(see comparison_totals.csv)"
        )
    print(f"outputs written to {out}/")
    return 0


def _named_file(text: str) -> tuple[str, Path]:
    """``FILE`` or ``NAME=FILE`` (the layer name; default: the file name without extension)."""
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or Path(text).exists():
        return Path(text).stem, Path(text)
    return name.strip(), Path(path.strip())


def cmd_map(args: argparse.Namespace) -> int:
    """Draw configurations as an interactive HTML map (one file) and a PNG beside it."""
    from pcnopt import maps
    from pcnopt.io import outputs, paths
    from pcnopt.settings import column_mapping

    given = [args.practices, args.places, *(f for _, f in [args.assignments, *args.compare])]
    paths.check_output_file(args.out, inputs=given, option="--out")
    paths.check_output_file(
        args.png or args.out.with_suffix(".png"), inputs=given, option="--png", suffix=".png"
    )
    inputs = maps.configurations_from_files(
        practices=args.practices,
        assignments=[args.assignments, *args.compare],
        places=args.places,
        place_column=args.place_column,
        place_field=args.place_field,
        pcn_column=args.pcn_column,
        columns=column_mapping(
            columns=args.columns,
            current_pcn=args.current_pcn,
            current_pcn_name=args.current_pcn_name,
        ),
        min_size=args.min_size,
        max_size=args.max_size,
        population=args.population,
        snap_distance_m=args.snap_distance_m,
        repair_geometries=args.repair_geometries,
        area=args.area,
    )
    fmap = maps.map_from_configurations(
        inputs.configurations,
        practices=inputs.practices,
        places=inputs.places,
        tiles=not args.no_tiles,
        colour_by=args.colour_by,
        title=args.title,
    )
    png = args.png or args.out.with_suffix(".png")

    def write_html(path: Path) -> None:
        maps.write_map(fmap, path)

    def write_png(path: Path) -> None:
        maps.static_map_png(
            inputs.configurations[0],
            path,
            practices=inputs.practices,
            places=inputs.places,
            colour_by=args.colour_by,
            title=args.title,
        )

    outputs.write_files({args.out: write_html, png: write_png})  # both, or neither
    for configuration in inputs.configurations:
        print(f"{configuration.name}: {maps.summary_line(configuration.summary)}")
    print(f"map written to {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) and {png}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run scenario files (what-if runs), each into DIR/<name>/, locally or on a Dask cluster."""
    from pcnopt import scenarios

    batch = scenarios.scenarios_from_files(args.scenarios)
    report = scenarios.run_scenarios(
        batch,
        out=args.out,
        scheduler=args.scheduler,
        jobs=args.jobs,
        progress=sys.stderr.isatty() and not args.no_progress,
        resume=not args.no_resume,
    )
    for run in report.runs:
        s = run.summary
        state = "finished before, skipped" if run.status == "skipped" else f"{run.seconds:.1f} s"
        if "levels" in s:  # a nested design ([[level]] tables)
            counts = ", ".join(
                f"{s[f'{n}s']} {n} ({s[f'{n}s_in_band']} in band)" for n in s["levels"]
            )
            print(f"{run.name}: {counts} ({state}) -> {run.folder}/")
            continue
        print(
            f"{run.name}: {s['pcns']} PCNs, {s['pcns_in_band']} in band, "
            f"{'valid' if s['valid'] else 'RULES BROKEN'} ({state}) -> {run.folder}/"
        )
    print(
        f"{len(report.runs)} scenario(s) on {report.engine}: {report.places_solved} place(s) "
        f"solved, {report.places_reused} reused, {report.seconds:.1f} s"
    )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare scenario runs: a table (CSV and HTML) and one map with a layer per scenario."""
    from pcnopt import scenarios
    from pcnopt.io.outputs import check_apart_from_inputs, check_output_folder

    check_apart_from_inputs(args.out, args.runs, option="--out")
    check_output_folder(args.out)
    comparison = scenarios.comparison_from_runs(args.runs)
    out = scenarios.write_comparison(comparison, args.out, tiles=not args.no_tiles)
    print(comparison.table.drop(columns=["folder"]).to_string(index=False))
    print(
        f"comparison written to {out}/ (compare.csv, compare.html, practices.csv, pcns.csv, "
        "map.html)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915  (every command, in order)
    """The argument parser of every pcnopt command."""
    from pcnopt.cli_options import (
        INPUT_DATE,
        add_inputs,
        add_levels,
        add_rules,
        add_solver,
        column_pair,
        input_date,
    )

    parser = argparse.ArgumentParser(
        prog="pcnopt",
        description="Design Primary Care Networks: contiguous groups of GP practices within the "
        "size band, inside place boundaries.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    optimise = sub.add_parser(
        "optimise",
        help="group practices into PCNs and write the outputs",
        description=cmd_optimise.__doc__,
    )
    add_inputs(optimise, practices_required=False)
    add_solver(optimise)
    add_levels(optimise)
    optimise.add_argument("--out", type=Path, required=True, help="output folder")
    optimise.set_defaults(func=cmd_optimise)

    hoods = sub.add_parser(
        "neighbourhoods",
        help="neighbourhood footprints above PCNs: group given PCNs, or design both levels",
        description=cmd_neighbourhoods.__doc__,
    )
    add_inputs(hoods, practices_required=False)
    add_solver(hoods)
    hoods.add_argument(
        "--band",
        metavar="MIN-MAX",
        help="the neighbourhoods' size band, e.g. 200000-350000 (--min-size/--max-size are "
        "the PCNs'); or name every level with --level",
    )
    add_levels(hoods)
    hoods.add_argument(
        "--group-pcns",
        type=Path,
        metavar="FILE",
        help="bottom-up: group these PCNs whole (a practices table or assignments.csv); "
        "without it both levels are designed (top-down)",
    )
    hoods.add_argument(
        "--group-current",
        action="store_true",
        help="bottom-up from the practices table's current PCNs (the column optimise finds, "
        "or --current-pcn): --group-pcns on the practices table itself",
    )
    hoods.add_argument(
        "--pcn-column", help="PCN column of --group-pcns (default: pcn_id, else current_pcn)"
    )
    hoods.add_argument(
        "--align-to",
        type=Path,
        metavar="FILE",
        help="a polygon layer (local authorities, wards…): each unit's share of patients in "
        "its main area and the areas it spans",
    )
    hoods.add_argument("--align-column", help="id column of --align-to")
    hoods.add_argument(
        "--align-objective",
        choices=["outside", "split"],
        help="align the neighbourhoods with the --align-to areas: fewest patients outside "
        "their neighbourhood's main area (outside) or fewest area boundaries crossed (split), "
        "lexicographic after compactness",
    )
    hoods.add_argument(
        "--align-alone",
        action="store_true",
        help="with --align-objective: alignment alone (compactness only breaks ties)",
    )
    hoods.add_argument(
        "--no-tiles", action="store_true", help="no base-map tiles: the map works with no internet"
    )
    hoods.add_argument("--out", type=Path, required=True, help="output folder")
    hoods.set_defaults(func=cmd_neighbourhoods)

    validate = sub.add_parser(
        "validate",
        help="audit a configuration against every rule",
        description=cmd_validate.__doc__,
    )
    add_inputs(validate, practices_required=True)
    validate.add_argument(
        "--assignments",
        type=Path,
        required=True,
        help="practice -> PCN table (CSV; e.g. an optimise assignments.csv, or "
        "the practices file itself with --pcn-column current_pcn)",
    )
    validate.add_argument(
        "--pcn-column",
        help="PCN column of the assignments file (default: pcn_id, else current_pcn)",
    )
    validate.add_argument(
        "--nest-column",
        metavar="COLUMN",
        action="append",
        help="the outer level's column of the assignments file (e.g. neighbourhood_id): its "
        "units are checked too, and every PCN must lie wholly inside one; repeat it, from the "
        "PCNs outwards, for more levels (each inside one unit of the next)",
    )
    validate.add_argument(
        "--nest-band",
        metavar="MIN-MAX",
        action="append",
        help="the outer level's size band (with --nest-column; one per --nest-column, in order)",
    )
    validate.add_argument("--report", type=Path, help="write the per-unit findings to this CSV")
    add_rules(validate)
    validate.set_defaults(func=cmd_validate)

    nhs = sub.add_parser(
        "prepare-nhs",
        help="build a practices table from the published NHS files",
        description=cmd_prepare_nhs.__doc__,
    )
    nhs.add_argument("--epraccur", type=Path, required=True, help="epraccur.csv (as published)")
    nhs.add_argument("--list-sizes", type=Path, required=True, help="gp-reg-pat-prac-all.csv")
    nhs.add_argument(
        "--postcodes",
        type=Path,
        required=True,
        help="postcode centroids: OS Code-Point Open or ONS NSPL/ONSPD (.csv/.gz)",
    )
    nhs.add_argument("--epcn", type=Path, help="ePCN.xlsx (current PCN membership)")
    nhs.add_argument(
        "--payments", type=Path, help="NHS Payments to General Practice CSV (weighted populations)"
    )
    nhs.add_argument("--pcn-map", type=Path, help="gp-reg-pat-prac-map.csv (practice -> PCN)")
    nhs.add_argument(
        "--out",
        type=Path,
        required=True,
        help="practices table to write (.csv, .geojson, .gpkg, .parquet)",
    )
    nhs.set_defaults(func=cmd_prepare_nhs)

    money = sub.add_parser(
        "funding",
        help="ARRS sum, entitlements and role mix of each PCN",
        description=cmd_funding.__doc__,
    )
    money.add_argument(
        "--practices",
        type=Path,
        required=True,
        help="practices table (list_size; weighted_population for exact sums)",
    )
    money.add_argument(
        "--column",
        dest="columns",
        type=column_pair,
        action="append",
        default=[],
        metavar="CANONICAL=COLUMN",
        help="map a practices column, e.g. weighted_population=Weighted",
    )
    money.add_argument(
        "--assignments",
        type=Path,
        required=True,
        help="practice -> PCN table (e.g. an optimise assignments.csv)",
    )
    money.add_argument(
        "--pcn-column",
        help="PCN column of the assignments file (default: pcn_id, else current_pcn)",
    )
    money.add_argument(
        "--year",
        default=None,
        help="contract year, 2019/20 to 2026/27 (default: the one containing today's date)",
    )
    money.add_argument(
        "--rates",
        type=Path,
        help="your own rates file (schema: pcnopt/rates/README.md); "
        "default: the project's pcnopt/rates/ncdes.yaml",
    )
    money.add_argument(
        "--wte-step", type=float, default=0.5, help="role-mix granularity in WTE (default 0.5)"
    )
    money.add_argument(
        "--target-mix",
        metavar="ROLE>=WTE,... | ROLE=SHARE%,...",
        help="minimum WTE of named roles (clinical_pharmacist>=1,...) or shares "
        "of the WTE (clinical_pharmacist=40%%,care_coordinator=60%%); default: "
        "maximise total WTE",
    )
    money.add_argument(
        "--area",
        choices=["national", "inner_london", "outer_london"],
        default="national",
        help="which maximum £ per WTE to use",
    )
    money.add_argument(
        "--compare",
        type=Path,
        metavar="ASSIGNMENTS",
        help="a second configuration (before, e.g. the real one) to compare with",
    )
    money.add_argument("--compare-pcn-column", help="PCN column of the --compare file")
    money.add_argument(
        "--input-date",
        dest="input_dates",
        type=input_date,
        action="append",
        default=[],
        **INPUT_DATE,
    )
    money.add_argument("--out", type=Path, required=True, help="output folder")
    money.set_defaults(func=cmd_funding)

    draw = sub.add_parser(
        "map",
        help="draw configurations as an interactive HTML map and a PNG",
        description=cmd_map.__doc__,
    )
    add_inputs(draw, practices_required=True)
    draw.add_argument(
        "--assignments",
        type=_named_file,
        required=True,
        metavar="[NAME=]FILE",
        help="practice -> PCN table (e.g. an optimise assignments.csv, or the "
        "practices file itself for its current_pcn); NAME labels the layer",
    )
    draw.add_argument(
        "--pcn-column",
        help="PCN column of the --assignments file (default: pcn_id, else current_pcn)",
    )
    draw.add_argument(
        "--compare",
        type=_named_file,
        action="append",
        default=[],
        metavar="[NAME=]FILE",
        help="another configuration, as a layer to switch to (repeatable)",
    )
    draw.add_argument(
        "--colour-by",
        choices=["pcn", "status"],
        default="pcn",
        help="pcn: neighbouring PCNs differ (default); status: below/in/above band",
    )
    draw.add_argument(
        "--no-tiles", action="store_true", help="no base-map tiles: the map works with no internet"
    )
    draw.add_argument("--title", default="Primary Care Networks", help="page title")
    draw.add_argument("--png", type=Path, help="static PNG (default: beside --out, .png)")
    draw.add_argument("--out", type=Path, required=True, help="HTML file to write (map.html)")
    draw.set_defaults(func=cmd_map)

    run = sub.add_parser(
        "run",
        help="run scenario files (what-if runs) into DIR/<name>/",
        description=cmd_run.__doc__,
    )
    run.add_argument(
        "scenarios",
        type=Path,
        nargs="+",
        metavar="SCENARIO.toml",
        help="scenario files (examples/*.toml; schema in pcnopt/scenarios/__init__.py)",
    )
    run.add_argument("--out", type=Path, required=True, help="batch folder")
    run.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="solve on a Dask cluster: a scheduler address (tcp://host:8786), or "
        "'local' to start a LocalCluster (default: local processes)",
    )
    run.add_argument(
        "--jobs",
        type=int,
        default=0,
        help="local processes, or LocalCluster workers (default 0: every core; "
        "2 workers for --scheduler local)",
    )
    run.add_argument(
        "--no-resume",
        action="store_true",
        help="run every scenario again, even those finished in --out",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.set_defaults(func=cmd_run)

    compare = sub.add_parser(
        "compare",
        help="compare scenario runs: table, HTML and map",
        description=cmd_compare.__doc__,
    )
    compare.add_argument(
        "runs", type=Path, nargs="+", metavar="DIR", help="run folders; the first is the baseline"
    )
    compare.add_argument("--out", type=Path, required=True, help="folder for the comparison")
    compare.add_argument(
        "--no-tiles", action="store_true", help="no base-map tiles: the map works with no internet"
    )
    compare.set_defaults(func=cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a command, print errors without a traceback, return the exit code."""
    from pcnopt._interrupts import sigint_held
    from pcnopt.errors import PcnoptError

    args = None
    try:
        # Ctrl-C waits for the parser's imports (pydantic's compiled core cannot be interrupted
        # while it loads), then ends here as anywhere else
        with sigint_held():
            args = build_parser().parse_args(argv)
        return int(args.func(args))
    except PcnoptError as exc:
        print(f"pcnopt: error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except OSError as exc:  # a full disk, a read-only folder: one line, exit 1
        from pcnopt.io.outputs import describe_write_error

        message = describe_write_error(exc)
        if message is None:
            raise
        print(f"pcnopt: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args is not None and args.func is cmd_run:
            print(
                "pcnopt: interrupted. Scenarios already finished are written; nothing of the "
                "unfinished ones. Run the same command again to resume: solved places are "
                "taken from the cache.",
                file=sys.stderr,
            )
        else:
            print("pcnopt: interrupted; nothing was written.", file=sys.stderr)
        return 130


def run() -> None:
    """Console entry (``pcnopt``, ``python -m pcnopt``, ``python cli.py``): run, then exit.

    Once :func:`main` has returned the work is done or refused: a Ctrl-C landing on the way
    out (Python's shutdown joins threads and runs exit handlers) must not turn the exit code
    into a death by signal with a traceback, so SIGINT is ignored from then on.
    """
    import signal

    try:
        code = main()
    except KeyboardInterrupt:  # in the instant between main's handler and its return
        print("pcnopt: interrupted.", file=sys.stderr)
        code = 130
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    run()
