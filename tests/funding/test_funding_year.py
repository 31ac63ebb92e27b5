"""Issue 15: the current contract year, every role's maximum, input dates, role-mix target,
and who gains and loses. Fixture as in ``test_funding.py`` (NORTH, SOUTH, CITY)."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import pytest

import cli
from pcnopt import funding
from pcnopt.run import RunConfig, run_optimise
from pcnopt.settings import SettingError
from tests.conftest import PROJECT

FIX = PROJECT / "tests" / "fixtures" / "funding"
PRACTICES = FIX / "practices.csv"
REAL = FIX / "assignments_real.csv"
PROPOSED = FIX / "assignments_proposed.csv"


@pytest.fixture(scope="module")
def rates() -> funding.Rates:
    return funding.rates_from_file()


@pytest.fixture(scope="module")
def practices() -> pd.DataFrame:
    return pd.read_csv(PRACTICES)


def _maximum(rates, year, role, area="national"):
    return rates.year(year).roles[role].latest().for_area(area)


@pytest.mark.parametrize(
    ("today", "year"),
    [
        (dt.date(2026, 3, 31), "2025/26"),
        (dt.date(2026, 4, 1), "2026/27"),
        (dt.date(2026, 12, 31), "2026/27"),
        (dt.date(2027, 1, 1), "2026/27"),
        (dt.date(2099, 4, 1), "2099/00"),
    ],
)
def test_default_year_is_the_contract_year_containing_the_date(today, year):
    assert funding.default_year(today=today) == year


def test_2026_27_is_in_the_rates_file_and_provisional(rates):
    y = rates.year("2026/27")
    assert y.provisional and "provisional" in y.status_note
    assert y.national_pot_gbp.value == 1_754_000_000 and y.national_pot_gbp.status == "provisional"
    assert any("CASP" in r for r in y.removed)


# DES on-costs: NI above the secondary threshold + 14.38% employer pension (no levy)
ONCOSTS = {"2024/25": (0.138, 9100.0), "2025/26": (0.15, 5000.0), "2026/27": (0.15, 5000.0)}


def _pay(value, year):
    ni, thr = ONCOSTS[year]
    return (value + ni * thr) / (1 + ni + 0.1438)


def _max(pay, year):
    ni, thr = ONCOSTS[year]
    return pay * (1 + 0.1438) + ni * (pay - thr)


@pytest.mark.parametrize(
    "role", ["clinical_pharmacist", "pharmacy_technician", "advanced_practitioner"]
)
@pytest.mark.parametrize("area", ["national", "outer_london", "inner_london"])
def test_the_on_cost_rule_reproduces_the_published_2025_26_maxima(rates, role, area):
    """2025/26 maxima = 2024/25 pay with 2025/26 on-costs, to within £1 (all read figures)."""
    before = _maximum(rates, "2024/25", role, area)
    after = _maximum(rates, "2025/26", role, area)
    assert rates.year("2025/26").roles[role].latest().status == "read"
    assert _max(_pay(before, "2024/25"), "2025/26") == pytest.approx(after, abs=1.0)
    assert funding.max_per_wte_from_pay(
        pay=_pay(before, "2024/25"), ni_rate=0.15, ni_threshold=5000
    ) == pytest.approx(after, abs=1.0)


def test_every_common_role_has_a_maximum_in_2024_25_to_2026_27(rates):
    common = [
        "clinical_pharmacist",
        "pharmacy_technician",
        "social_prescribing_link_worker",
        "care_coordinator",
        "advanced_practitioner",
        "first_contact_physiotherapist",
    ]
    for year in ("2024/25", "2025/26", "2026/27"):
        for role in common:
            top = rates.year(year).roles[role].latest()
            assert top is not None and top.value > 0 and top.sources, (year, role)
            assert top.status in {"read", "derived", "provisional"}, (year, role)
    # the derived care coordinator follows from the read July 2023 figure (£33,396) x 1.055
    cc = _pay(33_396, "2024/25") * 1.055
    assert _maximum(rates, "2024/25", "care_coordinator") == pytest.approx(
        _max(cc, "2024/25"), abs=1
    )
    assert _maximum(rates, "2025/26", "care_coordinator") == pytest.approx(
        _max(cc, "2025/26"), abs=1
    )
    # 2026/27: 2025/26 pay x 1.036 (AfC 2025/26) with unchanged on-costs, provisional
    for role in common:
        expected = _max(_pay(_maximum(rates, "2025/26", role), "2025/26") * 1.036, "2026/27")
        assert _maximum(rates, "2026/27", role) == pytest.approx(expected, abs=1), role
        assert rates.year("2026/27").roles[role].latest().status == "provisional"


def test_a_provisional_or_missing_figure_is_reported_never_invented(practices, rates, tmp_path):
    result = funding.funding_from_assignments(
        practices=practices,
        assignments=pd.read_csv(REAL),
        year="2026/27",
        rates=rates,
        plan_roles=True,
    )
    assert result.provisional and any("PROVISIONAL" in n for n in result.notes)
    assert "PROVISIONAL" in result.headline
    lines = result.lines.set_index("line")
    assert lines.loc["contract_year", "status"] == "provisional"
    # core funding and enhanced access for 2026/27 are not published: NaN and MISSING
    for line in ("core_funding", "enhanced_access"):
        assert result.pcns[f"{line}_gbp"].isna().all()
        assert result.pcns[f"{line}_basis"].str.startswith("MISSING").all()
        assert lines.loc[line, "status"] == "not_found"
    # the dietitian has no maximum: left out of the mix, reported in the basis file
    assert "dietitian" not in set(result.role_mix["role"])
    assert lines.loc["max_per_wte:dietitian", "status"] == "not_found"
    assert lines.loc["max_per_wte:dietitian", "basis"].startswith("MISSING")
    # the GP's (top of the 2025/26 salaried range) is provisional and says so
    assert lines.loc["max_per_wte:general_practitioner", "status"] == "provisional"
    assert lines.loc["max_per_wte:clinical_pharmacist", "status"] == "provisional"
    assert lines.loc["max_per_wte:clinical_pharmacist", "date"] == "2026-04-01"
    out = funding.write_funding(tmp_path / "out", result=result)
    basis = pd.read_csv(out / "funding_basis.csv")
    assert {"line", "status", "date", "sources"} <= set(basis.columns)
    assert (basis.loc[basis["line"] == "contract_year", "status"] == "provisional").all()


def test_a_local_variation_overrides_only_the_figures_it_gives(tmp_path, rates, practices):
    own = tmp_path / "local.yaml"
    own.write_text(
        'schema_version: 1\nbase: national\nsources: {icb_lva: "https://example.org/lva"}\n'
        'years:\n  "2026/27":\n    arrs:\n      per_weighted_patient: '
        "{value: 28.5, status: read, sources: [icb_lva]}\n"
    )
    layered = funding.rates_from_file(own)
    assert layered.year("2026/27").per_weighted_patient.value == 28.5
    assert layered.year("2026/27").national_pot_gbp == rates.year("2026/27").national_pot_gbp
    assert layered.year("2026/27").roles == rates.year("2026/27").roles
    assert layered.year("2025/26") == rates.year("2025/26")
    result = funding.funding_from_assignments(
        practices=practices,
        assignments=pd.read_csv(REAL),
        year="2026/27",
        rates=layered,
        plan_roles=False,
    )
    assert result.pcns["arrs_sum_gbp"].sum() == pytest.approx(
        28.5 * practices["weighted_population"].sum()
    )


def test_input_dates_older_than_the_des_date_are_said_per_figure(practices, rates):
    result = funding.funding_from_assignments(
        practices=practices,
        assignments=pd.read_csv(REAL),
        year="2026/27",
        rates=rates,
        plan_roles=False,
        input_dates={"list_size": "2021-01-01", "weighted_population": "2026-01-01"},
    )
    inputs = result.inputs.set_index("input")
    assert inputs.loc["list_size", "older"] and not inputs.loc["weighted_population", "older"]
    assert inputs.loc["membership", "date"] == ""
    older = [n for n in result.notes if n.startswith("OLDER INPUT")]
    assert len(older) == 1 and "2021-01-01 is older than 2026-01-01" in older[0]


def test_a_pcn_far_from_its_places_ratio_is_flagged_with_its_practices(rates):
    # P3 merged after the weighted file was made: 30,712 registered, 12,690 weighted
    practices = pd.DataFrame(
        {
            "practice_code": ["P1", "P2", "P3", "P4", "P5"],
            "list_size": [10_000, 12_000, 30_712, 9_000, 11_000],
            "weighted_population": [10_500, 11_500, 12_690, 9_300, 10_800],
            "place": ["X", "X", "X", "X", "X"],
        }
    )
    assign = pd.DataFrame(
        {"practice_code": practices["practice_code"], "pcn_id": ["A", "A", "B", "B", "C"]}
    )
    result = funding.funding_from_assignments(
        practices=practices,
        assignments=assign,
        year="2025/26",
        rates=rates,
        plan_roles=False,
        place_column="place",
    )
    place = (practices["weighted_population"] / practices["list_size"]).median()
    relative = {
        p: (
            practices.loc[assign["pcn_id"] == p, "weighted_population"].sum()
            / practices.loc[assign["pcn_id"] == p, "list_size"].sum()
        )
        / place
        for p in "ABC"
    }
    expected = {p for p, r in relative.items() if not 0.75 <= r <= 4 / 3}
    assert expected == {"B"}
    assert set(result.ratio_flags["pcn_id"]) == expected
    assert result.ratio_flags.iloc[0]["practices"] == "P3"
    assert any(n.startswith("RATIO: PCN B") and "P3" in n for n in result.notes)


def test_the_estimate_headline_names_pcns_patients_and_why(practices, rates):
    some = practices.copy()
    some.loc[some["practice_code"] == "P00002", "weighted_population"] = math.nan
    result = funding.funding_from_assignments(
        practices=some, assignments=pd.read_csv(REAL), year="2025/26", rates=rates, plan_roles=False
    )
    registered = int(some.loc[some["practice_code"] == "P00002", "list_size"].iloc[0])
    assert "ESTIMATE for 1 of 3 PCN(s)" in result.headline
    assert f"{registered:,} registered patients without a weighted population" in result.headline
    assert "NORTH" in result.headline and "P00002" in result.headline


def test_the_default_target_is_the_national_mix_and_says_so(practices, rates):
    result = funding.funding_from_assignments(
        practices=practices, assignments=pd.read_csv(REAL), year="2025/26", rates=rates
    )
    assert "national mix of ARRS staff in post" in result.settings["target_source"]
    mix = rates.workforce_mix
    fte = {r: v for r, v in mix.fte if r in {m for m in result.role_mix["role"]}}
    share = {r: v / sum(fte.values()) for r, v in fte.items()}
    for pcn, group in result.role_mix.groupby("pcn_id"):
        wte = group.set_index("role")["wte"]
        assert wte.sum() > 0
        for role, s in share.items():
            assert abs(wte[role] - s * wte.sum()) <= 0.5 + 1e-9, (pcn, role)
    # the complaint: no plan of only the cheapest role
    assert (
        result.role_mix.groupby("pcn_id")["wte"].max()
        < result.role_mix.groupby("pcn_id")["wte"].sum()
    ).all()
    assert any(n.startswith("Unspent:") for n in result.notes)


def test_london_area_costs_roles_at_their_london_maxima(practices, rates):
    result = funding.funding_from_assignments(
        practices=practices,
        assignments=pd.read_csv(REAL),
        year="2025/26",
        rates=rates,
        area="inner_london",
        target="max_wte",
    )
    costs = result.role_mix.drop_duplicates("role").set_index("role")["max_per_wte_gbp"]
    assert costs["clinical_pharmacist"] == 77_545 and costs["pharmacy_technician"] == 52_172


def test_compare_matches_pcns_by_shared_patients(practices, rates):
    renamed = pd.read_csv(REAL).replace({"pcn_id": {"NORTH": "N1", "SOUTH": "S1", "CITY": "C1"}})
    comp = funding.compare_configurations(
        practices=practices,
        before=pd.read_csv(REAL),
        after=renamed,
        year="2025/26",
        rates=rates,
        plan_roles=False,
    )
    assert comp.practices_changing_pcn == 0
    assert dict(zip(comp.matched["pcn_after"], comp.matched["matched_before"], strict=True)) == {
        "C1": "CITY",
        "N1": "NORTH",
        "S1": "SOUTH",
    }
    assert (comp.matched["arrs_sum_gbp_change"].abs() < 1e-6).all()
    proposed = funding.compare_configurations(
        practices=practices,
        before=pd.read_csv(REAL),
        after=pd.read_csv(PROPOSED),
        year="2025/26",
        rates=rates,
        plan_roles=False,
    )
    # the ARRS sum is conserved per weighted patient: no practice gains or loses ARRS money
    assert (proposed.practices["arrs_share_change_gbp"].abs() < 1e-6).all()
    per = proposed.matched["arrs_sum_per_weighted_after_gbp"].tolist()
    assert per == pytest.approx([26.631] * len(per))
    assert any("ARRS sum" in c for c in proposed.conserved)
    assert any("role mix" in c for c in proposed.not_conserved)


# --- every role's maximum, London weightings (issue 15, part 2) ------------------------------

COMMON = [
    "clinical_pharmacist",
    "social_prescribing_link_worker",
    "care_coordinator",
    "first_contact_physiotherapist",
]


@pytest.mark.parametrize("year", ["2024/25", "2025/26", "2026/27"])
def test_the_role_mix_of_a_40_000_patient_pcn_has_the_common_roles(rates, year):
    """The issue's complaint: "32 WTE healthcare support worker; 0.5 WTE new to general
    practice nurse" for a 40,000-patient PCN. Every common ARRS role is now costed and planned."""
    practices = pd.DataFrame(
        {
            "practice_code": ["Q1", "Q2", "Q3", "Q4"],
            "list_size": [10_000] * 4,
            "weighted_population": [10_000.0] * 4,
        }
    )
    assign = pd.DataFrame({"practice_code": practices["practice_code"], "pcn_id": "FORTY"})
    result = funding.funding_from_assignments(
        practices=practices, assignments=assign, year=year, rates=rates
    )
    wte = result.role_mix.set_index("role")["wte"]
    for role in COMMON:
        assert wte.get(role, 0) >= 1, (year, role, wte.to_dict())
    assert wte.max() < wte.sum() / 2  # no plan of mostly one role
    lines = result.lines.set_index("line")
    for role in COMMON:
        assert lines.loc[f"max_per_wte:{role}", "status"] in {"read", "derived", "provisional"}
        assert lines.loc[f"max_per_wte:{role}", "sources"]


def _london_addon(pay, area, year, cap_pay):
    """HCAS (15% outer, 20% inner London of pay, up to a maximum) with on-costs."""
    ni, _ = ONCOSTS[year]
    share = 0.15 if area == "outer_london" else 0.20
    return min(share * pay, cap_pay[area]) * (1 + ni + 0.1438)


@pytest.mark.parametrize("year", ["2024/25", "2025/26", "2026/27"])
def test_the_london_rule_reproduces_every_read_london_maximum(rates, year):
    """Pharmacy technician: exactly 15%/20% of pay; clinical pharmacist and advanced
    practitioner: the same capped add-on. The rule then gives each derived London figure."""
    yr = rates.year(year)
    ni, _ = ONCOSTS[year]
    cp = yr.roles["clinical_pharmacist"].latest()
    cap_pay = {
        area: (cp.for_area(area) - cp.value) / (1 + ni + 0.1438)
        for area in ("outer_london", "inner_london")
    }
    roles = ["clinical_pharmacist", "advanced_practitioner", "pharmacy_technician"]
    if year != "2024/25":
        roles += [
            "new_to_general_practice_nurse",
            "experienced_general_practice_nurse",
            "consultant_nurse",
        ]
    roles.append("apprentice_physician_associate")
    for role in roles:
        top = yr.roles[role].latest()
        pay = _pay(top.value, year)
        for area in ("outer_london", "inner_london"):
            expected = top.value + _london_addon(pay, area, year, cap_pay)
            assert top.for_area(area) == pytest.approx(expected, abs=1.0), (role, area)
    # percentages, not the cap, for band 5; the cap, not the percentage, for the others
    pt = _pay(yr.roles["pharmacy_technician"].latest().value, year)
    assert 0.20 * pt < cap_pay["inner_london"]
    assert 0.15 * _pay(cp.value, year) > cap_pay["outer_london"]


@pytest.mark.parametrize("year", ["2024/25", "2025/26", "2026/27"])
def test_a_london_maximum_that_cannot_be_derived_is_missing_and_reported(rates, practices, year):
    """Band 3 and 4 pay may sit below the HCAS minimum, which no source gives: no figure."""
    yr = rates.year(year)
    assert yr.roles["care_coordinator"].latest().for_area("inner_london") is None
    if "healthcare_support_worker" in yr.roles:
        assert yr.roles["healthcare_support_worker"].latest().for_area("outer_london") is None
    result = funding.funding_from_assignments(
        practices=practices,
        assignments=pd.read_csv(REAL),
        year=year,
        rates=rates,
        area="inner_london",
        target="max_wte",
    )
    lines = result.lines.set_index("line")
    assert lines.loc["max_per_wte:care_coordinator", "status"] == "not_found"
    assert lines.loc["max_per_wte:care_coordinator", "basis"].startswith("MISSING")
    assert "care_coordinator" not in set(result.role_mix["role"])
    assert any("care_coordinator" in w for w in result.warnings)
    if year == "2025/26":  # a derived London figure says so, though the national one is read
        assert lines.loc["max_per_wte:consultant_nurse", "status"] == "derived"


def test_every_reimbursable_role_is_listed_each_year_so_a_gap_is_reported(rates, practices):
    """A role reimbursable in 2025/26 and in 2024/25 is listed in both; one without a
    maximum is in funding_basis.csv as MISSING and named in the warnings, never priced."""
    later = set(rates.year("2025/26").roles) - {
        "consultant_nurse",
        "healthcare_support_worker",
        "new_to_general_practice_nurse",
        "experienced_general_practice_nurse",
    }  # the roles added in 2025/26
    assert later <= set(rates.year("2024/25").roles)
    assert set(rates.year("2025/26").roles) <= set(rates.year("2026/27").roles)
    result = funding.funding_from_assignments(
        practices=practices, assignments=pd.read_csv(REAL), year="2024/25", rates=rates
    )
    lines = result.lines.set_index("line")
    for role in ("dietitian", "health_and_wellbeing_coach", "mental_health_practitioner"):
        assert rates.year("2024/25").roles[role].latest() is None
        assert lines.loc[f"max_per_wte:{role}", "basis"].startswith("MISSING")
        assert lines.loc[f"max_per_wte:{role}", "amount"] == ""
        assert role not in set(result.role_mix["role"])
        assert any(role in w for w in result.warnings)


# --- input dates carried from optimise and funding (issue 15, part 3) ------------------------


def test_funding_command_says_per_figure_which_inputs_are_older(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(
        [
            "funding",
            "--practices",
            str(PRACTICES),
            "--assignments",
            str(REAL),
            "--year",
            "2025/26",
            "--input-date",
            "list_size=2021-01-01",
            "--input-date",
            "weighted_population=2019-01-01",
            "--input-date",
            "membership=2025-03-01",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    basis = pd.read_csv(out / "funding_basis.csv", keep_default_na=False).set_index("line")
    assert basis.loc["input:list_size", "date"] == "2021-01-01"
    assert basis.loc["input:membership", "status"] == "ok"
    # the ARRS sum is paid on weighted populations only; core funding on both
    arrs = basis.loc["arrs_sum", "note"]
    assert "weighted populations dated 2019-01-01, older than 2025-01-01" in arrs
    assert "registered lists" not in arrs
    core = basis.loc["core_funding", "note"]
    assert "registered lists dated 2021-01-01" in core and "weighted populations" in core
    notes = json.loads((out / "summary.json").read_text())["notes"]
    older = [n for n in notes if n.startswith("OLDER INPUT")]
    assert len(older) == 2
    assert any("2019-01-01" in n and "arrs_sum" in n and "core_funding" in n for n in older)
    assert not any("membership" in n.lower() for n in older)
    printed = capsys.readouterr().out
    assert printed.count("OLDER INPUT") == 2  # said on the terminal too


def test_a_bad_input_date_is_refused_naming_the_option(tmp_path, capsys):
    code = cli.main(
        [
            "funding",
            "--practices",
            str(PRACTICES),
            "--assignments",
            str(REAL),
            "--input-date",
            "weighted=2019",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "'weighted' is not an input with a date" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_optimise_carries_the_input_dates_into_its_funding(tmp_path):
    table = pd.read_csv(PRACTICES).assign(place="X")
    path = tmp_path / "practices.csv"
    table.to_csv(path, index=False)
    config = RunConfig(
        practices=path,
        place_field="place",
        min_size=20_000,
        max_size=60_000,
        funding_year="2025/26",
        input_dates=(("weighted_population", "2019-01-01"), ("membership", "2025-02-01")),
        jobs=1,
    )
    result = run_optimise(config)
    inputs = result.funding.inputs.set_index("input")
    assert inputs.loc["weighted_population", "date"] == "2019-01-01"
    assert inputs.loc["weighted_population", "older"]
    assert not inputs.loc["membership", "older"]
    assert any(
        n.startswith("OLDER INPUT") and "arrs_sum" in n for n in result.summary["funding"]["notes"]
    )
    with pytest.raises(SettingError, match="--input-date"):
        RunConfig(input_dates=(("list_size", "January 2021"),))


def test_the_ratio_flag_compares_a_pcn_with_its_own_place_by_default(rates):
    """An older place (X) has more weighted patients per registered one than a younger place
    (Y): its PCN is not far from its own place, so it is not flagged; the PCN with a stale
    practice is. The place comes from ``place_id`` (as optimise's practices carry it)."""
    practices = pd.DataFrame(
        {
            "practice_code": ["X1", "X2", "Y1", "Y2", "Y3", "Y4"],
            "list_size": [10_000, 10_000, 10_000, 10_000, 30_000, 10_000],
            "weighted_population": [15_000, 15_500, 10_000, 10_200, 12_000, 9_900],
            "place_id": ["X", "X", "Y", "Y", "Y", "Y"],
        }
    )
    assign = pd.DataFrame(
        {
            "practice_code": practices["practice_code"],
            "pcn_id": ["OLD", "OLD", "YOUNG", "YOUNG", "STALE", "STALE"],
        }
    )
    result = funding.funding_from_assignments(
        practices=practices, assignments=assign, year="2025/26", rates=rates, plan_roles=False
    )
    assert set(result.ratio_flags["pcn_id"]) == {"STALE"}
    assert result.ratio_flags.iloc[0]["place"] == "Y"
    assert result.ratio_flags.iloc[0]["practices"] == "Y3"


# --- maxima found by the money3 session (enhanced nurse, band 7 roles, GP) -------------------

AREAS = ("national", "outer_london", "inner_london")


def test_the_enhanced_nurse_read_in_2024_gives_its_read_2025_26_maximum(rates):
    """April 2024 (read, 2023/24 pay) x 1.055 with 2025/26 on-costs = the read 2025/26 figure;
    the October 2024 and 2026/27 figures follow by the same rule."""
    april = rates.year("2024/25").roles["enhanced_nurse"].max_per_wte[0]
    assert (april.value, april.status, april.start) == (60_401, "read", dt.date(2024, 4, 1))
    assert (april.outer_london, april.inner_london) == (67_369, 70_330)
    read_2025 = rates.year("2025/26").roles["enhanced_nurse"].latest()
    assert read_2025.status == "read" and read_2025.status_for_area("inner_london") == "derived"
    pay = _pay(april.value, "2024/25") * 1.055
    assert _max(pay, "2025/26") == pytest.approx(read_2025.value, abs=1.0)
    october = rates.year("2024/25").roles["enhanced_nurse"].latest()
    assert october.status == "derived"
    assert october.value == pytest.approx(_max(pay, "2024/25"), abs=1.0)
    y26 = rates.year("2026/27").roles["enhanced_nurse"].latest()
    assert y26.status == "provisional"
    assert y26.value == pytest.approx(_max(_pay(read_2025.value, "2025/26") * 1.036, "2026/27"), 1)


@pytest.mark.parametrize("year", ["2024/25", "2025/26", "2026/27"])
@pytest.mark.parametrize("role", ["physician_associate", "paramedic"])
def test_band_7_roles_take_the_band_7_maximum_and_say_so(rates, year, role):
    band7 = rates.year(year).roles["enhanced_nurse"].latest()
    top = rates.year(year).roles[role].latest()
    for area in AREAS:
        assert top.for_area(area) == band7.for_area(area), area
    assert top.status == ("provisional" if year == "2026/27" else "derived")
    assert "band 7" in top.note and top.sources


def test_the_gp_maxima_found_london_2024_25_and_the_2026_27_top_of_range(rates):
    gp24 = rates.year("2024/25").roles["general_practitioner"].latest()
    assert gp24.for_area("outer_london") == gp24.for_area("inner_london") == 95_233
    assert gp24.status_for_area("inner_london") == "read"
    # the rule turns the read 2025/26 salary into the read 2025/26 maximum ...
    gp25 = rates.year("2025/26").roles["general_practitioner"].latest()
    assert _max(82_418, "2025/26") == pytest.approx(gp25.value, abs=1.0)
    assert gp25.for_area("inner_london") is None  # the 2025/26 London figure was not found
    # ... and the top of the 2025/26 DDRB range (2023/24 read, +6%, +4%) into the 2026/27 one
    gp26 = rates.year("2026/27").roles["general_practitioner"].latest()
    assert gp26.status == "provisional" and "top of the salaried GP pay range" in gp26.note
    assert gp26.value == pytest.approx(_max(104_086 * 1.06 * 1.04, "2026/27"), abs=1.0)


@pytest.mark.parametrize("area", AREAS)
def test_every_role_of_every_year_is_priced_with_a_source_or_reported_missing(
    rates, practices, area
):
    """Each role a year lists is in funding_basis.csv: with the figure, its status, sources
    and effective date, or as MISSING with no amount; a role without a figure is never priced."""
    known = {"read", "derived", "indicative", "uncertain", "provisional"}
    for year in rates.years:
        yr = rates.year(year)
        result = funding.funding_from_assignments(
            practices=practices,
            assignments=pd.read_csv(REAL),
            year=year,
            rates=rates,
            area=area,
            target="max_wte",
        )
        lines = result.lines.set_index("line")
        for role, spec in yr.roles.items():
            line = lines.loc[f"max_per_wte:{role}"]
            top = spec.latest()
            value = None if top is None else top.for_area(area)
            if value is None:
                assert line["basis"].startswith("MISSING"), (year, role)
                assert line["amount"] == "" and line["status"] == "not_found", (year, role)
                assert role not in set(result.role_mix["role"]), (year, role)
            else:
                assert f"{value:,.0f}" in line["amount"], (year, role)
                assert line["status"] in known and line["status"] == top.status_for_area(area)
                assert line["sources"].startswith("http"), (year, role)
                assert line["date"] == top.start.isoformat(), (year, role)
