"""Figures that describe a configuration, for reports and benchmarks.

They work on any configuration (an optimised one or a real one from ePCN) and use the
independent validator for the rule checks.
"""

from __future__ import annotations

import pandas as pd

from pcnopt.model.hubs import distance_matrix, hub_of
from pcnopt.validation import validate_configuration


def hub_distances(
    practices: pd.DataFrame, assignments: pd.DataFrame, *, population: str = "list_size"
) -> pd.DataFrame:
    """Distance from each practice to its PCN's hub.

    The hub is the member that minimises the patient-weighted distance to it (on a tie, the
    first in ``assignments`` order).

    Parameters
    ----------
    practices
        ``practice_code``, the ``population`` column and point geometry in metres.
    assignments
        ``practice_code`` and ``pcn_id``.

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``pcn_id``, ``hub``, ``distance_m``.
    """
    info = practices.set_index("practice_code")
    rows = []
    for pcn_id, group in assignments.dropna(subset=["pcn_id"]).groupby("pcn_id", sort=True):
        members = [c for c in group["practice_code"] if c in info.index]
        if not members:
            continue
        sub = info.loc[members]
        dist = distance_matrix(sub.geometry.x.to_numpy(), sub.geometry.y.to_numpy())
        hub = hub_of(range(len(members)), sub[population].to_numpy(float)[:, None] * dist)
        rows += [
            {"practice_code": c, "pcn_id": pcn_id, "hub": members[hub], "distance_m": dist[k, hub]}
            for k, c in enumerate(members)
        ]
    return pd.DataFrame(rows, columns=["practice_code", "pcn_id", "hub", "distance_m"])


def configuration_metrics(
    *,
    practices: pd.DataFrame,
    assignments: pd.DataFrame,
    edges: pd.DataFrame,
    min_size: float,
    max_size: float,
    population: str = "list_size",
) -> dict[str, float]:
    """Headline figures of a configuration.

    Returns
    -------
    dict
        ``pcns``, ``practices_unassigned``, ``share_pcns_in_band``, ``share_patients_in_band``
        (patients in PCNs within the band, over all patients),
        ``share_patients_in_band_or_exception``,
        ``pcns_not_contiguous``, ``pcns_crossing_places``, ``mean_distance_m``
        (patient-weighted distance to the PCN hub) and ``rules_broken``.
    """
    report = validate_configuration(
        practices=practices,
        assignments=assignments,
        edges=edges,
        min_size=min_size,
        max_size=max_size,
        population=population,
    )
    pcns = report.pcns
    patients = float(practices[population].sum())
    in_band = pcns["in_band"]
    allowed = in_band | (pcns["exception"] != "")
    distances = hub_distances(practices, assignments, population=population)
    weights = distances["practice_code"].map(practices.set_index("practice_code")[population])
    return {
        "pcns": len(pcns),
        "practices_unassigned": len(report.missing),
        "share_pcns_in_band": float(in_band.mean()) if len(pcns) else float("nan"),
        "share_patients_in_band": float(pcns.loc[in_band, "population"].sum() / patients),
        "share_patients_in_band_or_exception": float(
            pcns.loc[allowed, "population"].sum() / patients
        ),
        "pcns_not_contiguous": int((pcns["n_components"] > 1).sum()),
        "pcns_crossing_places": int(pcns["place_id"].str.contains(";").sum()),
        "mean_distance_m": float((weights * distances["distance_m"]).sum() / weights.sum()),
        "rules_broken": len(report.problems),
    }


def mean_distance_by_place(
    practices: pd.DataFrame, assignments: pd.DataFrame, *, population: str = "list_size"
) -> pd.Series:
    """Patient-weighted mean distance to the PCN hub, per place of the practice."""
    distances = hub_distances(practices, assignments, population=population)
    info = practices.set_index("practice_code")
    distances["place_id"] = distances["practice_code"].map(info["place_id"])
    distances["w"] = distances["practice_code"].map(info[population])
    grouped = distances.assign(wd=distances["w"] * distances["distance_m"]).groupby("place_id")
    return grouped["wd"].sum() / grouped["w"].sum()
