"""Tests of :mod:`pcnopt.io.nhs`: reading the published NHS/ONS/OS files and joining them.

The fixtures in ``tests/fixtures/nhs`` copy each file's published layout and quirks (see
``make_fixtures.py`` there for the table of practices and what should happen to each).
"""

from __future__ import annotations

import gzip
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pcnopt.errors import InputError
from pcnopt.io.nhs import JoinReport, NhsJoin, locality, post_town, practices_from_nhs_files

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "nhs"
EPRACCUR = FIX / "epraccur.csv"
LIST_SIZES = FIX / "gp-reg-pat-prac-all.csv"
CODEPOINT_LATLON = FIX / "codepoint_latlon.csv.gz"
PAYMENTS = FIX / "nhspaymentsgp-18-19-csv.csv"
PCN_MAP = FIX / "gp-reg-pat-prac-map.csv"
EPCN_2019 = FIX / "ePCN-2019.xlsx"
EPCN_2024 = FIX / "ePCN-2024.xlsx"
ONSPD = FIX / "onspd.csv"


def _metres(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * 6_371_000 * np.arcsin(np.sqrt(a))


def _join(**kwargs: Path | None) -> NhsJoin:
    options: dict[str, Path | None] = {
        "epraccur": EPRACCUR,
        "list_sizes": LIST_SIZES,
        "postcodes": CODEPOINT_LATLON,
    }
    options.update(kwargs)
    return practices_from_nhs_files(**options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def full() -> NhsJoin:
    return _join(epcn=EPCN_2024, payments=PAYMENTS, pcn_map=PCN_MAP)


# --- the fixtures really carry the published quirks ------------------------------------------


def test_fixtures_have_the_published_quirks() -> None:
    list_bytes = LIST_SIZES.read_bytes()
    assert list_bytes.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    assert b"\r\n" in list_bytes and b",a81002," in list_bytes and b'"12,345"' in list_bytes
    payment_bytes = PAYMENTS.read_bytes()
    assert b"\xc9" in payment_bytes  # latin-1 É
    with pytest.raises(UnicodeDecodeError):
        payment_bytes.decode("utf-8")
    assert EPRACCUR.read_text().splitlines()[0].count('","') == 26  # 27 quoted columns


# --- the join on the hand-made files ----------------------------------------------------------


def test_join_matches_expected_table(full: NhsJoin) -> None:
    expected = pd.read_csv(FIX / "expected_practices.csv", dtype={"list_size": "int64"})
    got = full.practices
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(
        got.drop(columns=["lat", "lon", "weighted_population"]).astype(object).fillna("-"),
        expected.drop(columns=["lat", "lon", "weighted_population"]).astype(object).fillna("-"),
    )
    np.testing.assert_allclose(got["lat"], expected["lat"], atol=1e-6)
    np.testing.assert_allclose(got["lon"], expected["lon"], atol=1e-6)
    np.testing.assert_allclose(got["weighted_population"], expected["weighted_population"])
    assert got["list_size"].dtype == "int64"
    assert got["weighted_population"].dtype == "float64"


def test_report_lists_every_practice_left_out_with_its_reason(full: NhsJoin) -> None:
    report = full.report
    assert report.n_epraccur_rows == 10
    assert report.n_active_gp == 7
    assert report.n_list_size_rows == 9
    assert report.n_kept == 4
    assert report.no_list_size == ("A81005",)
    assert report.no_coordinates == ("A81007", "A81008")
    assert report.sector_geocoded == ("A81006",)
    assert report.closed_or_inactive == ("A81003",)
    assert report.not_gp_practice == ("Y00001",)
    assert report.list_size_not_in_epraccur == ("Z99999",)
    assert report.no_weighted == ("A81004", "A81006")
    assert report.no_pcn == ("A81006",)
    assert report.pcn_from_map == ("A81004",)
    assert report.adds_up()
    kept = set(full.practices["practice_code"])
    left_out = set(report.no_list_size) | set(report.no_coordinates)
    assert not kept & left_out


def test_report_text_is_readable(full: NhsJoin) -> None:
    text = full.report.to_text()
    assert "kept: 4" in text
    assert "A81005" in text and "A81007" in text and "Z99999" in text
    assert str(EPRACCUR) in text
    assert full.report.counts()["no_coordinates"] == 2


def test_optional_files_absent_leave_columns_missing() -> None:
    result = _join()
    assert result.practices["weighted_population"].isna().all()
    assert result.practices["current_pcn"].isna().all()
    assert result.report.no_weighted is None
    assert result.report.no_pcn is None
    assert "weighted" not in result.report.to_text()


def test_inputs_are_not_changed_and_codes_upper_case(full: NhsJoin) -> None:
    assert (full.practices["practice_code"] == full.practices["practice_code"].str.upper()).all()
    assert "A81002" in set(full.practices["practice_code"])  # lower case in the list-size file
    assert full.practices["practice_code"].is_monotonic_increasing


# --- PCNs -------------------------------------------------------------------------------------


def test_epcn_2019_names_come_from_details_sheet_not_vlookup_formulas() -> None:
    result = _join(epcn=EPCN_2019)
    pcns = result.practices.set_index("practice_code")
    assert pcns.loc["A81001", "current_pcn"] == "U00001"
    assert pcns.loc["A81001", "current_pcn_name"] == "STOCKTON PCN"
    assert pcns.loc["A81004", "current_pcn_name"] == "CITY PCN"
    assert not pcns["current_pcn_name"].dropna().str.startswith("=").any()
    assert result.report.no_pcn == ("A81006",)
    assert result.report.pcn_from_map is None


def test_epcn_2024_uses_the_current_relationship_only() -> None:
    result = _join(epcn=EPCN_2024)
    pcns = result.practices.set_index("practice_code")["current_pcn"]
    assert pcns["A81001"] == "U00009"  # moved from U00001 in 2023
    assert pd.isna(pcns["A81004"])  # its only relationship ended in 2022
    assert result.report.no_pcn == ("A81004", "A81006")


def test_map_alone_skips_unallocated() -> None:
    result = _join(pcn_map=PCN_MAP)
    pcns = result.practices.set_index("practice_code")
    assert pcns.loc["A81004", "current_pcn"] == "U00007"
    assert pcns.loc["A81004", "pcn_source"] == "map"
    assert pd.isna(pcns.loc["A81006", "current_pcn"])  # 'Unallocated'
    assert result.report.no_pcn == ("A81001", "A81006")


# --- postcode files ---------------------------------------------------------------------------


def _raw_codepoint_zip(tmp_path: Path) -> Path:
    """The published Code-Point Open zip layout: Doc/ (with a header CSV) and Data/CSV/."""
    path = tmp_path / "codepo_gb.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "Doc/Code-Point_Open_Column_Headers.csv",
            "PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC\r\nPostcode,Positional_quality_indicator,Eastings\r\n",
        )
        archive.write(FIX / "codepoint_raw_ts.csv", "Data/CSV/ts.csv")
        archive.write(FIX / "codepoint_raw_b.csv", "Data/CSV/b.csv")
    return path


def _raw_codepoint_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "CSV"
    folder.mkdir()
    shutil.copy(FIX / "codepoint_raw_ts.csv", folder / "ts.csv")
    shutil.copy(FIX / "codepoint_raw_b.csv", folder / "b.csv")
    return folder


def _raw_codepoint_single(tmp_path: Path) -> Path:
    path = tmp_path / "codepo_ts_b.csv"
    path.write_bytes(
        (FIX / "codepoint_raw_ts.csv").read_bytes() + (FIX / "codepoint_raw_b.csv").read_bytes()
    )
    return path


@pytest.mark.parametrize(
    ("make", "tolerance_m"),
    [
        (lambda tmp: CODEPOINT_LATLON, 0.1),
        (lambda tmp: ONSPD, 0.1),
        (_raw_codepoint_single, 10.0),
        (_raw_codepoint_folder, 10.0),
        (_raw_codepoint_zip, 10.0),
    ],
    ids=[
        "codepoint-latlon-gz",
        "onspd",
        "codepoint-raw-csv",
        "codepoint-raw-folder",
        "codepoint-zip",
    ],
)
def test_every_postcode_format_gives_the_same_places(
    tmp_path: Path, make: object, tolerance_m: float
) -> None:
    postcodes = make(tmp_path)  # type: ignore[operator]
    result = _join(postcodes=postcodes)
    expected = pd.read_csv(FIX / "expected_practices.csv")
    got = result.practices
    assert list(got["practice_code"]) == list(expected["practice_code"])
    assert list(got["geocode"]) == list(expected["geocode"])
    distance = _metres(got["lat"], got["lon"], expected["lat"], expected["lon"])
    # Raw Code-Point is converted from British National Grid here; the derived lat/lon used a
    # Helmert transform (about 5 m), so the two agree to within a few metres.
    assert distance.max() < tolerance_m
    assert result.report.no_coordinates == ("A81007", "A81008")


def test_postcode_matching_ignores_spaces_and_case(tmp_path: Path) -> None:
    text = EPRACCUR.read_text().replace('"TS18 1HU"', '"ts181hu "')
    epraccur = tmp_path / "epraccur.csv"
    epraccur.write_text(text)
    practices = _join(epraccur=epraccur).practices.set_index("practice_code")
    assert practices.loc["A81001", "geocode"] == "postcode"
    assert practices.loc["A81001", "postcode"] == "TS18 1HU"


def test_sector_centroid_is_the_mean_of_the_sectors_postcodes() -> None:
    row = _join().practices.set_index("practice_code").loc["A81006"]
    # TS18 1 in the fixture: TS18 1AA, TS18 1AF, TS18 1HU
    assert row["lat"] == pytest.approx(np.mean([54.561855, 54.56256, 54.56168]))
    assert row["lon"] == pytest.approx(np.mean([-1.313291, -1.312382, -1.318938]))


def test_zipped_and_gzipped_files_as_downloaded(tmp_path: Path) -> None:
    """ODS publishes epraccur.zip; a list-size file may be kept gzipped."""
    epraccur_zip = tmp_path / "epraccur.zip"
    with zipfile.ZipFile(epraccur_zip, "w") as archive:
        archive.write(EPRACCUR, "epraccur.csv")
    list_gz = tmp_path / "gp-reg-pat-prac-all.csv.gz"
    list_gz.write_bytes(gzip.compress(LIST_SIZES.read_bytes()))
    result = _join(epraccur=epraccur_zip, list_sizes=list_gz)
    assert list(result.practices["practice_code"]) == ["A81001", "A81002", "A81004", "A81006"]


def test_windows_1252_payments_file(tmp_path: Path) -> None:
    text = PAYMENTS.read_bytes().decode("latin-1").replace("CAFÉ", "ST MARY’S")
    path = tmp_path / "payments.csv"
    path.write_bytes(text.encode("cp1252"))  # a curly apostrophe: byte 0x92
    result = _join(payments=path)
    weighted = result.practices.set_index("practice_code")["weighted_population"]
    assert weighted["A81002"] == pytest.approx(22363.06)


def test_welsh_practices_are_explained(tmp_path: Path) -> None:
    row = EPRACCUR.read_text().splitlines()[0].replace("A81001", "W00005")
    path = tmp_path / "epraccur.csv"
    path.write_text(EPRACCUR.read_text() + row + "\n")
    report = _join(epraccur=path).report
    assert "W00005" in report.no_list_size
    assert "Welsh (W) practices, not in England's list-size file: 1]" in report.to_text()


# --- wrong, missing and unreadable files ------------------------------------------------------


def test_list_size_file_given_as_epraccur_is_named() -> None:
    with pytest.raises(InputError) as err:
        _join(epraccur=LIST_SIZES)
    text = str(err.value)
    assert str(LIST_SIZES) in text
    assert "epraccur.csv" in text and "list-size" in text
    assert "Fix:" in text


def test_epraccur_given_as_list_sizes_is_named() -> None:
    with pytest.raises(InputError) as err:
        _join(list_sizes=EPRACCUR)
    assert str(EPRACCUR) in str(err.value)
    assert "NUMBER_OF_PATIENTS" in str(err.value)


def test_payments_given_as_postcodes_is_named() -> None:
    with pytest.raises(InputError) as err:
        _join(postcodes=PAYMENTS)
    assert str(PAYMENTS) in str(err.value)
    assert "postcode" in str(err.value) and "Payments" in str(err.value)


def test_list_sizes_given_as_epcn_is_named() -> None:
    with pytest.raises(InputError) as err:
        _join(epcn=LIST_SIZES)
    assert str(LIST_SIZES) in str(err.value) and "list-size" in str(err.value)


def test_workbook_given_as_epraccur_is_named() -> None:
    with pytest.raises(InputError, match="Excel workbook"):
        _join(epraccur=EPCN_2024)


def test_map_given_as_payments_is_named() -> None:
    with pytest.raises(InputError, match="practice-to-PCN map"):
        _join(payments=PCN_MAP)


@pytest.mark.parametrize("role", ["epraccur", "list_sizes", "postcodes", "epcn", "payments"])
def test_missing_file(tmp_path: Path, role: str) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="not found") as err:
        _join(**{role: missing})
    assert str(missing) in str(err.value)


def test_all_missing_files_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        _join(postcodes=tmp_path / "codepo.csv", payments=tmp_path / "pay.csv")
    assert [Path(p.file).name for p in err.value.problems] == ["codepo.csv", "pay.csv"]
    assert str(err.value).startswith("2 problems found:")


@pytest.mark.parametrize("role", ["epraccur", "list_sizes", "postcodes", "payments", "pcn_map"])
def test_empty_file(tmp_path: Path, role: str) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty") as err:
        _join(**{role: empty})
    assert str(empty) in str(err.value)


def test_utf16_file_is_refused_with_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(LIST_SIZES.read_text(encoding="utf-8-sig").encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16") as err:
        _join(list_sizes=path)
    assert "CSV UTF-8" in str(err.value)


def test_bad_list_sizes_are_reported_together_with_rows(tmp_path: Path) -> None:
    lines = LIST_SIZES.read_text(encoding="utf-8-sig").splitlines()
    lines[2] = lines[2].replace("14738", "many")
    lines.append(lines[1])  # A81001 again
    path = tmp_path / "list.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        _join(list_sizes=path)
    problems = err.value.problems
    assert len(problems) == 2
    assert problems[0].rows == (3,) and problems[0].column == "NUMBER_OF_PATIENTS"
    assert problems[1].rows == (2, 11)


def test_epraccur_with_too_few_columns(tmp_path: Path) -> None:
    path = tmp_path / "epraccur.csv"
    path.write_text('"A81001","THE DENSHAM SURGERY","TS18 1HU"\n')
    with pytest.raises(InputError, match="has 3 columns"):
        _join(epraccur=path)


def test_epraccur_bad_status_rows_are_named(tmp_path: Path) -> None:
    lines = EPRACCUR.read_text().splitlines()
    cells = lines[3].split(",")
    cells[12] = '"X"'
    lines[3] = ",".join(cells)
    path = tmp_path / "epraccur.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        _join(epraccur=path)
    assert err.value.problems[0].rows == (4,)
    assert err.value.problems[0].column == "13"


# --- the real all-England files ---------------------------------------------------------------


@pytest.mark.shared
def test_england_join(shared_dir: Path) -> None:
    nhs = shared_dir / "data" / "nhs-files"
    start = time.perf_counter()
    result = practices_from_nhs_files(
        epraccur=nhs / "epraccur-2023-01" / "epraccur.csv",
        list_sizes=nhs / "gp-reg-pat-prac-all-2021-01" / "gp-reg-pat-prac-all.csv",
        postcodes=nhs / "codepoint-open-2014-08" / "codepo_gb_2014-08_latlon.csv.gz",
        epcn=nhs / "epcn-2024-10" / "ePCN.xlsx",
        payments=nhs / "payments-2018-19" / "nhspaymentsgp-18-19-csv.csv",
        pcn_map=nhs / "gp-reg-pat-prac-map-2022-01" / "gp-reg-pat-prac-map.csv",
    )
    seconds = time.perf_counter() - start
    assert seconds < 30, f"England join took {seconds:.1f} s"
    report: JoinReport = result.report
    practices = result.practices

    # Coverage: every active GP practice is kept or left out with one reason.
    assert report.n_active_gp > 6_500
    assert report.n_kept > 6_400
    assert report.adds_up()
    assert len(practices) == report.n_kept
    assert practices["practice_code"].is_unique
    assert len(report.no_coordinates) < 10
    assert len(report.sector_geocoded) < 100
    assert len(report.list_size_not_in_epraccur) == 0
    assert report.no_weighted is not None and len(report.no_weighted) < 100
    assert report.no_pcn is not None and len(report.no_pcn) < 50
    for reason in (report.no_list_size, report.no_coordinates):
        assert not set(reason) & set(practices["practice_code"])
    # Every list-size practice is kept or has a reason.
    list_codes = set(
        pd.read_csv(nhs / "gp-reg-pat-prac-all-2021-01" / "gp-reg-pat-prac-all.csv")["CODE"]
    )
    accounted = (
        set(practices["practice_code"])
        | set(report.no_coordinates)
        | set(report.closed_or_inactive)
        | set(report.not_gp_practice)
        | set(report.list_size_not_in_epraccur)
    )
    assert list_codes <= accounted

    # Values are sensible.
    assert practices["lat"].between(49.8, 55.9).all()
    assert practices["lon"].between(-6.5, 1.8).all()
    assert 55e6 < practices["list_size"].sum() < 61e6
    assert set(practices["geocode"]) == {"postcode", "postcode_sector"}
    assert practices["current_pcn"].dropna().str.fullmatch(r"U\d{5}").all()

    # Agreement with the reference join made independently (shared/data/england/SOURCE.md).
    ref = pd.read_csv(
        shared_dir / "data" / "england" / "practices_england_joined.csv",
        dtype={"practice_code": str, "postcode": str, "pcn2024_10_code": str},
    )
    both = practices.merge(ref, on="practice_code", suffixes=("", "_ref"), validate="1:1")
    assert len(both) == len(practices)
    assert (both["list_size"] == both["list_size_2021_01"]).all()
    same_postcode = both["postcode"].str.replace(" ", "") == both["postcode_ref"].str.replace(
        " ", ""
    )
    assert same_postcode.mean() > 0.97  # the rest moved between the 2021 and 2023 files
    metres = _metres(
        both.loc[same_postcode, "lat"],
        both.loc[same_postcode, "lon"],
        both.loc[same_postcode, "lat_ref"],
        both.loc[same_postcode, "lon_ref"],
    )
    assert metres.max() < 5
    weighted = both.dropna(subset=["weighted_population", "weighted_2018_19"])
    np.testing.assert_allclose(weighted["weighted_population"], weighted["weighted_2018_19"])
    from_epcn = both[both["pcn_source"] == "epcn"]
    assert (from_epcn["current_pcn"] == from_epcn["pcn2024_10_code"]).all()


@pytest.mark.parametrize(
    ("lines", "town"),
    [
        (["LAWSON STREET", "STOCKTON-ON-TEES", "CLEVELAND", ""], "Stockton-on-Tees"),
        (["ROMFORD, ESSEX", "", "", ""], "Romford"),
        (["", "NEWCASTLE UPON TYNE", "TYNE AND WEAR", ""], "Newcastle upon Tyne"),
        (["FORE STREET", "ST.IVES", "CORNWALL", ""], "St.Ives"),
        (["KING'S LYNN", "NORFOLK", None, ""], "King's Lynn"),
        (["", "", "", ""], ""),
        (["KENT", "", "", ""], ""),
    ],
)
def test_the_post_town_is_the_last_address_line_that_is_no_county(lines, town) -> None:
    assert post_town(lines) == town


@pytest.mark.parametrize(
    ("lines", "place"),
    [
        (["REGENT STREET, LONG EATON", "NOTTINGHAM", "", ""], "Long Eaton"),
        (["85-91 DERBY RD,SANDIACRE", "NOTTINGHAM", "NOTTINGHAMSHIRE", ""], "Sandiacre"),
        (["CHURCH STREET", "RUDDINGTON", "NOTTINGHAM", ""], "Ruddington"),
        (["171 CARLTON ROAD", "NOTTINGHAM", "NOTTINGHAMSHIRE", ""], ""),
        (["MANCHESTER SQUARE HC", "MANCHESTER SQUARE", "LONDON", ""], ""),
        (["TILTON ROAD, BURBAGE", "NR.HINCKLEY", "LEICESTERSHIRE", ""], "Burbage"),
        (["", "STOCKTON-ON-TEES", "CLEVELAND", ""], ""),
    ],
)
def test_the_locality_is_the_part_before_the_post_town_that_is_no_street(lines, place) -> None:
    assert locality(lines) == place
    assert post_town(["TILTON ROAD, BURBAGE", "NR.HINCKLEY", "LEICESTERSHIRE"]) == "Hinckley"


def test_every_active_practice_of_england_gets_a_town(shared_dir: Path) -> None:
    """The documented rule on epraccur as published: a town for every active GP practice."""
    from pcnopt.io.nhs import COUNTIES

    epraccur = shared_dir / "data/nhs-files/epraccur-2023-01/epraccur.csv"
    frame = pd.read_csv(epraccur, header=None, dtype=str, keep_default_na=False)
    active = frame[(frame[12] == "A") & (frame[25].str.strip() == "4")]
    towns = [post_town(row) for row in active[[5, 6, 7, 8]].itertuples(index=False)]
    assert all(towns)
    assert not {t.upper() for t in towns} & COUNTIES
    assert towns.count("London") > 500  # the capital's practices, by its post town
