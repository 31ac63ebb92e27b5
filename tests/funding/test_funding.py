"""Funding: rates file, per-PCN money, role mix, comparison, and the ``funding`` command.

The fixture (``tests/fixtures/funding``) is six practices in three PCNs::

    NORTH  P00001 12,000 (w 11,500.50)  P00002  9,000 (w  9,800.25)   21,000 registered
    SOUTH  P00003 30,000 (w 29,000.00)  P00004 25,000 (w 26,000.75)   55,000
    CITY   P00005 60,000 (w 61,000.00)  P00006 45,000 (w 44,000.00)  105,000 (a "large" PCN)

and ``assignments_proposed.csv`` moves P00002 and P00004 between NORTH and SOUTH and splits CITY.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from pcnopt import funding
from pcnopt.errors import InputError, OptionError
from tests.conftest import PROJECT

FIX = PROJECT / "tests" / "fixtures" / "funding"
PRACTICES = FIX / "practices.csv"
REAL = FIX / "assignments_real.csv"
PROPOSED = FIX / "assignments_proposed.csv"
WEIGHTED = {"NORTH": 11500.5 + 9800.25, "SOUTH": 29000 + 26000.75, "CITY": 61000 + 44000}
REGISTERED = {"NORTH": 21000, "SOUTH": 55000, "CITY": 105000}

#: £ per weighted patient by year, as stated in shared/reference/arrs.yaml (2019/20: per role).
PER_WEIGHTED_PATIENT = {
    "2019/20": None,
    "2020/21": 7.131,
    "2021/22": 12.372,
    "2022/23": 16.70,
    "2023/24": 22.671,
    "2024/25": 22.894,
    "2025/26": 26.631,
}


@pytest.fixture(scope="module")
def rates() -> funding.Rates:
    return funding.rates_from_file()


@pytest.fixture(scope="module")
def practices() -> pd.DataFrame:
    return pd.read_csv(PRACTICES)


def _assign(path=REAL) -> pd.DataFrame:
    return pd.read_csv(path)


def _by_pcn(result: funding.FundingResult, column: str) -> dict[str, float]:
    return result.pcns.set_index("pcn_id")[column].to_dict()


# ---------------------------------------------------------------------------- rates file


def test_shipped_rates_cover_every_year_and_name_their_sources(rates):
    assert tuple(rates.years) == funding.YEARS
    for name, year in rates.years.items():
        if year.per_weighted_patient.value is not None:
            assert year.per_weighted_patient.sources, name
            assert all(k in rates.sources for k in year.per_weighted_patient.sources)
        for role in year.roles.values():
            for m in role.max_per_wte:
                assert m.sources and m.value > 0, (name, role.role)
    assert all(u.startswith("http") for u in rates.sources.values())


def test_shipped_rates_match_the_reference_file(rates, shared_dir):
    reference = yaml.safe_load((shared_dir / "reference" / "arrs.yaml").read_text())
    for name in funding.YEARS:
        # the reference names a year that is not final "YYYY/YY (provisional)"
        ref_year = reference["years"].get(name) or reference["years"][f"{name} (provisional)"]
        assert (name not in reference["years"]) == rates.year(name).provisional, name
        ref = ref_year["per_weighted_patient"]
        ours = rates.year(name).per_weighted_patient
        if ref is None:
            assert ours.value is None, name
        else:
            assert ours.value == ref["value"] and ours.status == ref["status"], name
        ref_max = ref_year.get("max_per_wte", {})
        for role, item in ref_max.items():
            if not isinstance(item, dict) or role == "note":
                continue
            figures = {v for k, v in item.items() if k == "value" or k.startswith("value_")} - {
                None
            }
            ours_role = rates.year(name).roles.get(role)
            got = {m.value for m in ours_role.max_per_wte} if ours_role else set()
            assert figures <= got, (name, role, figures, got)


def test_unknown_year_is_an_option_error_naming_the_years(rates):
    with pytest.raises(OptionError, match=r"'2030/31' is not in the rates file.*2025/26"):
        rates.year("2030/31")


def test_negative_amounts_are_reported_with_their_lines():
    with pytest.raises(InputError) as err:
        funding.rates_from_file(FIX / "rates_negative.yaml")
    text = str(err.value)
    assert "2 problems" in text
    assert "line 6" in text and "per_weighted_patient.value: is -27.5" in text
    assert "line 9" in text and "max_per_wte.0.value: is -35000:" in text
    assert "cannot be negative" in text and "Fix:" in text


def test_missing_fields_are_all_reported_together():
    with pytest.raises(InputError) as err:
        funding.rates_from_file(FIX / "rates_missing_fields.yaml")
    text = str(err.value)
    assert "per_weighted_patient.value: is missing" in text
    assert "max_per_wte.0.from: is missing" in text
    assert "entitlements: is missing" in text


def test_a_users_rates_file_models_a_future_year(practices):
    own = funding.rates_from_file(FIX / "rates_future.yaml")
    result = funding.funding_from_assignments(
        practices=practices, assignments=_assign(), year="2026/27", rates=own
    )
    assert _by_pcn(result, "arrs_sum_gbp") == pytest.approx(
        {k: 30.0 * w for k, w in WEIGHTED.items()}
    )
    mix = result.role_mix.pivot(index="pcn_id", columns="role", values="wte")
    assert (
        mix.loc["CITY", "clinical_pharmacist"] <= 4 and mix.loc["NORTH", "clinical_pharmacist"] <= 2
    )


# ---------------------------------------------------------------------------- ARRS sums


@pytest.mark.parametrize("year", [y for y, v in PER_WEIGHTED_PATIENT.items() if v])
def test_arrs_sum_is_the_years_rate_times_weighted_population(year, practices, rates):
    result = funding.funding_from_assignments(
        practices=practices, assignments=_assign(), year=year, rates=rates, plan_roles=False
    )
    rate = PER_WEIGHTED_PATIENT[year]
    assert _by_pcn(result, "arrs_sum_gbp") == pytest.approx(
        {k: rate * w for k, w in WEIGHTED.items()}, rel=1e-12
    )
    total = result.pcns["arrs_sum_gbp"].sum()
    assert total == pytest.approx(rate * practices["weighted_population"].sum(), rel=1e-12)
    assert not result.estimate
    assert result.pcns["arrs_sum_basis"].str.contains(f"£{rate:g} × PCN weighted").all()


def test_2025_26_worked_example(practices, rates):
    """£26.631 × 105,000.00 weighted = £2,796,255.00 for CITY."""
    result = funding.funding_from_assignments(
        practices=practices, assignments=_assign(), year="2025/26", rates=rates, plan_roles=False
    )
    assert _by_pcn(result, "arrs_sum_gbp")["CITY"] == pytest.approx(2_796_255.00)
    # core PCN funding: £2.266 × registered + £0.733 × adjusted (weighted stands in)
    assert _by_pcn(result, "core_funding_gbp")["CITY"] == pytest.approx(
        2.266 * 105_000 + 0.733 * 105_000
    )
    assert math.isnan(_by_pcn(result, "clinical_director_gbp")["CITY"])
    assert (result.pcns["clinical_director_basis"] == "included in core_funding_gbp").all()
    assert (result.pcns["missing_lines"] == "care_home_premium").all()
    assert result.pcns["care_home_premium_basis"].str.startswith("MISSING").all()


def test_2023_24_entitlements_use_their_stated_bases(practices, rates):
    result = funding.funding_from_assignments(
        practices=practices, assignments=_assign(), year="2023/24", rates=rates, plan_roles=False
    )
    north = result.pcns.set_index("pcn_id").loc["NORTH"]
    assert north["arrs_sum_gbp"] == pytest.approx(22.671 * WEIGHTED["NORTH"])
    assert north["core_funding_gbp"] == pytest.approx(1.50 * 21_000)
    assert north["clinical_director_gbp"] == pytest.approx(0.729 * 21_000)
    assert north["enhanced_access_gbp"] == pytest.approx(7.578 * WEIGHTED["NORTH"])
    assert math.isnan(north["capacity_access_support_gbp"])  # sources conflict: not applied
    known = [
        "arrs_sum_gbp",
        "core_funding_gbp",
        "clinical_director_gbp",
        "leadership_and_management_gbp",
        "enhanced_access_gbp",
    ]
    assert north["total_known_gbp"] == pytest.approx(north[known].sum())
    assert any("capacity and access support" in m for m in result.missing)


def test_2019_20_is_the_per_role_allowance(practices, rates):
    result = funding.funding_from_assignments(
        practices=practices, assignments=_assign(), year="2019/20", rates=rates
    )
    assert set(result.pcns["arrs_sum_gbp"]) == {37_810 + 34_113}
    mix = result.role_mix.pivot(index="pcn_id", columns="role", values="wte")
    assert (mix["clinical_pharmacist"] == 1).all()
    assert (mix["social_prescribing_link_worker"] == 1).all()
    assert (result.pcns["unspent_gbp"].abs() < 1e-6).all()
    assert any("national pot" in m for m in result.missing)


def test_2024_25_gp_sum_is_shown_separately(practices, rates):
    result = funding.funding_from_assignments(
        practices=practices, assignments=_assign(), year="2024/25", rates=rates
    )
    assert _by_pcn(result, "gp_arrs_sum_gbp")["SOUTH"] == pytest.approx(1.303 * WEIGHTED["SOUTH"])
    assert "general_practitioner" not in set(result.role_mix["role"])


def test_no_weighted_population_uses_registered_list_warns_once_and_marks_estimates(
    practices, rates
):
    plain = practices.drop(columns="weighted_population")
    result = funding.funding_from_assignments(
        practices=plain, assignments=_assign(), year="2025/26", rates=rates, plan_roles=False
    )
    assert _by_pcn(result, "arrs_sum_gbp") == pytest.approx(
        {k: 26.631 * r for k, r in REGISTERED.items()}
    )
    assert result.estimate and result.pcns["estimate"].all()
    estimate_warnings = [w for w in result.warnings if "ESTIMATE" in w]
    assert (
        len(estimate_warnings) == 1
        and "No practice has a weighted population" in estimate_warnings[0]
    )
    assert result.pcns["arrs_sum_basis"].str.contains("ESTIMATE").all()


def test_partly_missing_weighted_population_marks_only_those_pcns(practices, rates):
    some = practices.copy()
    some.loc[some["practice_code"] == "P00002", "weighted_population"] = np.nan
    result = funding.funding_from_assignments(
        practices=some, assignments=_assign(), year="2025/26", rates=rates, plan_roles=False
    )
    assert _by_pcn(result, "estimate") == {"CITY": False, "NORTH": True, "SOUTH": False}
    assert _by_pcn(result, "arrs_sum_gbp")["NORTH"] == pytest.approx(26.631 * (11500.5 + 9000))


def test_assignment_naming_unknown_practices_is_reported_with_rows(practices, rates):
    with pytest.raises(InputError) as err:
        funding.funding_from_assignments(
            practices=practices,
            assignments=_assign(FIX / "assignments_unknown.csv"),
            year="2025/26",
            rates=rates,
            assignments_file="assignments_unknown.csv",
            practices_file="practices.csv",
        )
    text = str(err.value)
    assert "assignments_unknown.csv, rows 4, 7, column 'practice_code'" in text
    assert "P09999, Q12345" in text and "practices.csv" in text and "Fix:" in text


# ---------------------------------------------------------------------------- role mix


def test_role_mix_respects_money_and_caps(practices, rates):
    result = funding.funding_from_assignments(
        practices=practices, assignments=_assign(), year="2020/21", rates=rates
    )
    mix = result.role_mix
    spent = mix.groupby("pcn_id")["cost_gbp"].sum()
    sums = result.pcns.set_index("pcn_id")["arrs_sum_gbp"]
    assert (spent <= sums + 1e-6).all()
    assert _by_pcn(result, "unspent_gbp") == pytest.approx((sums - spent).to_dict())
    tech = mix[mix["role"] == "pharmacy_technician"].set_index("pcn_id")
    # 1 WTE per PCN, 2 when over 100,000 (CITY has 105,000 registered)
    assert tech.loc["CITY", "cap_wte"] == 2 and tech.loc["NORTH", "cap_wte"] == 1
    assert (tech["wte"] <= tech["cap_wte"]).all()
    assert (mix["wte"] * 2 == (mix["wte"] * 2).round()).all()  # half posts


def test_role_mix_maximises_wte_against_brute_force():
    costs = {"a": 33_396.0, "b": 40_159.0, "c": 62_340.0}
    caps = {"a": 3.0}
    budget = 250_000.0
    wte = funding.solve_role_mix(budget=budget, costs=costs, caps=caps, step=0.5)
    best = max(
        (
            (x, y, z)
            for x, y, z in itertools.product(range(7), range(13), range(9))
            if 0.5 * (x * costs["a"] + y * costs["b"] + z * costs["c"]) <= budget
        ),
        key=lambda t: (sum(t), 0.5 * (t[0] * costs["a"] + t[1] * costs["b"] + t[2] * costs["c"])),
    )
    assert sum(wte.values()) == 0.5 * sum(best)
    spend = sum(costs[r] * w for r, w in wte.items())
    assert spend == pytest.approx(
        0.5 * (best[0] * costs["a"] + best[1] * costs["b"] + best[2] * costs["c"])
    )
    assert wte["a"] <= 3


def test_minimum_target_is_met(practices):
    own = funding.rates_from_file(FIX / "rates_future.yaml")
    target = funding.TargetMix.parse("clinical_pharmacist>=1, social_prescribing_link_worker>=1")
    result = funding.funding_from_assignments(
        practices=practices, assignments=_assign(), year="2026/27", rates=own, target=target
    )
    mix = result.role_mix.pivot(index="pcn_id", columns="role", values="wte")
    assert (mix["clinical_pharmacist"] >= 1).all()
    assert (mix["social_prescribing_link_worker"] >= 1).all()


def test_share_target_keeps_each_role_within_one_step(practices):
    own = funding.rates_from_file(FIX / "rates_future.yaml")
    target = funding.TargetMix.parse("clinical_pharmacist=25%,care_coordinator=75%")
    result = funding.funding_from_assignments(
        practices=practices, assignments=_assign(), year="2026/27", rates=own, target=target
    )
    for pcn, group in result.role_mix.groupby("pcn_id"):
        wte = group.set_index("role")["wte"]
        total = wte.sum()
        assert total > 0 and wte["social_prescribing_link_worker"] == 0
        assert abs(wte["clinical_pharmacist"] - 0.25 * total) <= 0.5 + 1e-9, pcn
        assert abs(wte["care_coordinator"] - 0.75 * total) <= 0.5 + 1e-9, pcn


def test_unaffordable_target_names_every_pcn(practices):
    own = funding.rates_from_file(FIX / "rates_future.yaml")
    target = funding.TargetMix.parse("care_coordinator>=60")  # £1.8m: NORTH and SOUTH cannot
    with pytest.raises(InputError, match=r"cannot be afforded by 2 PCN\(s\): NORTH: .*SOUTH: "):
        funding.funding_from_assignments(
            practices=practices, assignments=_assign(), year="2026/27", rates=own, target=target
        )


def test_target_naming_an_uncosted_role_says_the_figure_is_missing(practices, rates):
    target = funding.TargetMix.parse("dietitian>=1")
    with pytest.raises(OptionError, match="no maximum £ per WTE in 2025/26: dietitian"):
        funding.funding_from_assignments(
            practices=practices, assignments=_assign(), year="2025/26", rates=rates, target=target
        )


@pytest.mark.parametrize("text", ["pharmacist>>1", "a=50%,b>=1", "a=30%,b=30%"])
def test_bad_target_text_is_an_option_error(text):
    with pytest.raises(OptionError):
        funding.TargetMix.parse(text)


# ---------------------------------------------------------------------------- comparison


def test_comparison_moves_and_identical_totals(practices, rates):
    comp = funding.compare_configurations(
        practices=practices,
        before=_assign(REAL),
        after=_assign(PROPOSED),
        year="2025/26",
        rates=rates,
    )
    moved = comp.practices.set_index("practice_code")["moved"]
    assert sorted(moved[moved].index) == ["P00002", "P00004", "P00006"]
    assert comp.same_population
    totals = comp.totals.set_index("measure")
    for measure in ("registered", "weighted", "arrs_sum_gbp", "total_known_gbp"):
        assert totals.loc[measure, "difference"] == pytest.approx(0, abs=1e-6), measure
    pcns = comp.pcns.set_index("pcn_id")
    assert math.isnan(pcns.loc["EAST", "arrs_sum_gbp_before"])
    assert pcns.loc["EAST", "arrs_sum_change_gbp"] == pytest.approx(26.631 * 44_000)
    assert comp.pcns["arrs_sum_change_gbp"].sum() == pytest.approx(0, abs=1e-6)


# ---------------------------------------------------------------------------- properties


@st.composite
def configurations(draw):
    n = draw(st.integers(1, 25))
    registered = draw(st.lists(st.integers(0, 40_000), min_size=n, max_size=n))
    factor = draw(st.lists(st.floats(0.7, 1.3), min_size=n, max_size=n))
    known = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    k = draw(st.integers(1, 6))
    before = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    after = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    codes = [f"P{i:05d}" for i in range(n)]
    practices = pd.DataFrame(
        {
            "practice_code": codes,
            "list_size": registered,
            "weighted_population": [
                r * f if ok else np.nan for r, f, ok in zip(registered, factor, known, strict=True)
            ],
        }
    )
    return (
        practices,
        pd.DataFrame({"practice_code": codes, "pcn_id": [f"N{i}" for i in before]}),
        pd.DataFrame({"practice_code": codes, "pcn_id": [f"N{i}" for i in after]}),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configurations(), st.sampled_from([y for y, v in PER_WEIGHTED_PATIENT.items() if v]))
def test_property_funding_adds_up(config, year):
    practices, before, after = config
    rates = funding.default_rates()
    comp = funding.compare_configurations(
        practices=practices, before=before, after=after, year=year, rates=rates, plan_roles=False
    )
    used = practices["weighted_population"].fillna(practices["list_size"]).sum()
    rate = PER_WEIGHTED_PATIENT[year]
    for res in (comp.before, comp.after):
        assert res.pcns["arrs_sum_gbp"].sum() == pytest.approx(rate * used, abs=1e-6)
        assert res.pcns["registered"].sum() == practices["list_size"].sum()
        money = [c for c in res.pcns.columns if c.endswith("_gbp") and c != "total_known_gbp"]
        assert np.allclose(res.pcns[money].sum(axis=1, min_count=1), res.pcns["total_known_gbp"])
    totals = comp.totals.set_index("measure")["difference"]
    assert abs(totals["arrs_sum_gbp"]) <= 1e-6 * max(1.0, rate * used)
    assert abs(totals["total_known_gbp"]) <= 1e-6 * max(1.0, rate * used * 3)


@settings(max_examples=30, deadline=None)
@given(
    st.floats(0, 2_000_000),
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.floats(20_000, 110_000), min_size=1),
    st.sampled_from([0.5, 1.0]),
    st.floats(0, 5),
)
def test_property_role_mix_within_money_and_caps(budget, costs, step, cap):
    caps = {next(iter(costs)): cap}
    wte = funding.solve_role_mix(budget=budget, costs=costs, caps=caps, step=step)
    spent = sum(costs[r] * w for r, w in wte.items())
    assert spent <= budget + 1e-6
    assert all(w >= 0 and abs(w / step - round(w / step)) < 1e-9 for w in wte.values())
    assert all(wte[r] <= c + 1e-9 for r, c in caps.items())
    # no role could take one more step with the money left (maximal), unless capped
    for r, c in costs.items():
        if r not in caps or wte[r] + step <= caps[r] + 1e-9:
            assert budget - spent < c * step + 1e-6


# ---------------------------------------------------------------------------- command line


def _cli(tmp_path, *extra, out="out"):
    target = tmp_path / out
    code = cli.main(
        [
            "funding",
            "--practices",
            str(PRACTICES),
            "--assignments",
            str(REAL),
            "--out",
            str(target),
            *extra,
        ]
    )
    return code, target


def test_cli_writes_funding_role_mix_and_comparison(tmp_path, capsys):
    code, out = _cli(tmp_path, "--year", "2025/26", "--compare", str(PROPOSED))
    assert code == 0
    for name in (
        "funding.csv",
        "role_mix.csv",
        "funding_basis.csv",
        "comparison_practices.csv",
        "comparison_pcns.csv",
        "comparison_totals.csv",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "funding.csv")
    assert list(table.columns[:7]) == [
        "pcn_id",
        "n_practices",
        "registered",
        "weighted",
        "estimate",
        "population_basis",
        "arrs_sum_gbp",
    ]
    assert {
        "core_funding_gbp",
        "clinical_director_gbp",
        "arrs_sum_basis",
        "core_funding_basis",
        "unspent_gbp",
        "planned_wte",
    } <= set(table.columns)
    assert table["arrs_sum_gbp"].sum() == pytest.approx(26.631 * sum(WEIGHTED.values()), abs=0.02)
    basis = pd.read_csv(out / "funding_basis.csv")
    assert basis.loc[basis["line"] == "arrs_sum", "sources"].str.contains("https://").all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["comparison"]["same_population"] is True
    printed = capsys.readouterr()
    assert "missing from the rates file" in printed.out
    assert "no maximum £ per WTE" in printed.err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--year", "2031/32"], "contract year '2031/32' is not in the rates file"),
        (["--year", "2026/27", "--rates", str(FIX / "rates_negative.yaml")], "cannot be negative"),
        (["--year", "2026/27", "--rates", str(FIX / "rates_missing_fields.yaml")], "is missing"),
        (
            [
                "--year",
                "2026/27",
                "--rates",
                str(FIX / "rates_future.yaml"),
                "--target-mix",
                "care_coordinator>=30",
            ],
            "cannot be afforded",
        ),
        (
            ["--year", "2025/26", "--assignments", str(FIX / "assignments_unknown.csv")],
            "not in the practices table",
        ),
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, extra, message):
    code, out = _cli(tmp_path, *extra)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.shared
def test_england_2020_21_national_total_is_near_the_published_pot(shared_dir, rates):
    """Dec 2019 PCNs with 2018/19 weighted lists × £7.131 against the published £430m."""
    table = pd.read_csv(shared_dir / "data/england/practices_england_joined.csv", dtype=str)
    table = table[table["pcn2019_code"].fillna("") != ""]
    practices = pd.DataFrame(
        {
            "practice_code": table["practice_code"],
            "list_size": pd.to_numeric(table["registered_2018_19"]),
            "weighted_population": pd.to_numeric(table["weighted_2018_19"]),
        }
    )
    result = funding.funding_from_assignments(
        practices=practices,
        assignments=table[["practice_code", "pcn2019_code"]].rename(
            columns={"pcn2019_code": "pcn_id"}
        ),
        year="2020/21",
        rates=rates,
        plan_roles=False,
    )
    assert len(result.pcns) == 1250
    ratio = result.pcns["arrs_sum_gbp"].sum() / 430e6
    assert 0.9 < ratio < 1.05


def test_partners_changed_does_not_depend_on_pcn_names(practices, rates):
    renamed = _assign(REAL).replace({"pcn_id": {"NORTH": "N1", "SOUTH": "S1", "CITY": "C1"}})
    comp = funding.compare_configurations(
        practices=practices,
        before=_assign(REAL),
        after=renamed,
        year="2023/24",
        rates=rates,
        plan_roles=False,
    )
    assert comp.practices["moved"].all() and not comp.practices["partners_changed"].any()
    proposed = funding.compare_configurations(
        practices=practices,
        before=_assign(REAL),
        after=_assign(PROPOSED),
        year="2023/24",
        rates=rates,
        plan_roles=False,
    )
    changed = proposed.practices.set_index("practice_code")["partners_changed"]
    assert sorted(changed[changed].index) == [
        "P00001",
        "P00002",
        "P00003",
        "P00004",
        "P00005",
        "P00006",
    ]
