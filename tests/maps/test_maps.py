"""Engagement maps as a person sees them.

The maps are opened in real headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
installed by ``.ci/run``): no JavaScript errors, one SVG path per PCN area and per practice,
popups that open on click, a search box that finds practices, and names from input files that
show as text and run nothing. Browser tests skip when Chromium is missing locally and fail in
CI (``CI=true``).

The fixture is two places side by side with eight practices and two configurations::

    8 km +-----------------------+-----------------------+
         |      X00001    A0004  |      B0002      B0004 |     X00001 is called
         |                       |                       |     <img src=x onerror=alert(1)>
         |  A0001       A0003    |  B0001      B0003     |
    0    +-----------------------+-----------------------+
         0   place PA (hostile) 12 km    place PB       24 km

    "Real": A1 = A0001+X00001, A2 = A0003+A0004, hostile-id = B0001+B0002, B2 = B0003+B0004
    "Proposed": A = all of PA (above band), B-1 = B0001+B0003, B-2 = B0002+B0004
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPoint, box

import cli
from benchmarks._chromium import headless_chromium, missing
from pcnopt import maps
from pcnopt.errors import InputError, OptionError
from pcnopt.run import RunConfig, run_optimise
from tests.conftest import PROJECT

X0, Y0 = 450_000.0, 300_000.0
XSS = "<img src=x onerror=alert(1)>"
HOSTILE_PCN = "B1</script><script>alert(2)</script>"
HOSTILE_PLACE = "North <svg onload=alert(3)>"
HOSTILE_CONFIG = "Real <b onmouseover=alert(4)>2019</b>"
HOSTILE_MIX = "2 WTE pharmacist; <iframe src=javascript:alert(5)>"

PRACTICES = [
    # code, name, list size, x km, y km, real PCN, proposed PCN
    ("A0001", "Abbey Surgery", 18_000, 1.0, 2.0, "A1", "A"),
    ("X00001", XSS, 14_000, 3.0, 6.0, "A1", "A"),
    ("A0003", "Castle Medical Centre", 16_000, 8.0, 2.0, "A2", "A"),
    ("A0004", "Dale Practice", 17_000, 10.0, 6.0, "A2", "A"),
    ("B0001", "Elm Tree Surgery", 15_000, 14.0, 2.0, HOSTILE_PCN, "B-1"),
    ("B0002", "Fenside Practice", 16_000, 16.0, 6.0, HOSTILE_PCN, "B-2"),
    ("B0003", "Grange Surgery", 9_000, 20.0, 2.0, "B2", "B-1"),
    ("B0004", "Heath Lane Practice", 8_000, 22.0, 6.0, "B2", "B-2"),
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("map_inputs")
    table = pd.DataFrame(
        [
            {
                "practice_code": c,
                "name": n,
                "list_size": s,
                "easting": X0 + 1000 * x,
                "northing": Y0 + 1000 * y,
                "current_pcn": real,
            }
            for c, n, s, x, y, real, _ in PRACTICES
        ]
    )
    table.to_csv(folder / "practices.csv", index=False)
    pd.DataFrame(
        {"practice_code": [p[0] for p in PRACTICES], "pcn_id": [p[6] for p in PRACTICES]}
    ).to_csv(folder / "proposed.csv", index=False)
    places = gpd.GeoDataFrame(
        {"place_id": ["PA", "PB"], "place_name": [HOSTILE_PLACE, "South"]},
        geometry=[
            box(X0, Y0, X0 + 12_000, Y0 + 8_000),
            box(X0 + 12_000, Y0, X0 + 24_000, Y0 + 8_000),
        ],
        crs="EPSG:27700",
    )
    places.to_file(folder / "places.geojson", driver="GeoJSON")
    return {
        "practices": folder / "practices.csv",
        "proposed": folder / "proposed.csv",
        "places": folder / "places.geojson",
        "folder": folder,
    }


@pytest.fixture(scope="module")
def inputs(files) -> maps.MapInputs:
    return maps.configurations_from_files(
        practices=files["practices"],
        places=files["places"],
        place_column="place_id",
        assignments=[(HOSTILE_CONFIG, files["practices"]), ("Proposed", files["proposed"])],
    )


FUNDING = pd.DataFrame(
    {
        "pcn_id": ["A1", "A2"],
        "arrs_sum_gbp": [852_000.4, 880_000.0],
        "core_funding_gbp": [48_000.0, None],
        "role_mix": [HOSTILE_MIX, "1 WTE care coordinator"],
    }
)


@pytest.fixture(scope="module")
def offline_map(inputs, tmp_path_factory) -> tuple[Path, str]:
    """The two configurations, the first with funding, no base tiles."""
    real = dataclasses.replace(inputs.configurations[0], funding=FUNDING)
    fmap = maps.map_from_configurations(
        [real, inputs.configurations[1]],
        practices=inputs.practices,
        places=inputs.places,
        tiles=False,
        title="Test <map>",
    )
    path = maps.write_map(fmap, tmp_path_factory.mktemp("map") / "map.html")
    return path, fmap.get_name()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium via chromedriver; window.alert records instead of showing."""
    absent = missing()
    if absent:
        message = (
            f"headless Chromium tests need {', '.join(absent)} (apt-get install chromium "
            "chromium-driver; pip install -e '.[test]')"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; .ci/run must install them")
        pytest.skip(message)
    driver = headless_chromium(width=1280, height=900)
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": (
                "window.__alerts = []; "
                "window.alert = function (m) { window.__alerts.push(String(m)); };"
            )
        },
    )
    yield driver
    driver.quit()


def open_map(driver, path: Path) -> list[dict]:
    """Load a map, wait until it is drawn; return the browser log of the load."""
    driver.get_log("browser")  # discard earlier pages' messages
    driver.get(path.resolve().as_uri())
    deadline = time.monotonic() + 30
    while not driver.execute_script("return window.pcnoptReady || null"):
        assert time.monotonic() < deadline, "the map did not finish drawing in 30 s"
        time.sleep(0.05)
    return driver.get_log("browser")


def script_errors(log: list[dict]) -> list[str]:
    """Errors other than resources that could not load (base tiles without internet)."""
    return [
        e["message"]
        for e in log
        if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]
    ]


def lonlat(x_km: float, y_km: float) -> tuple[float, float]:
    point = gpd.GeoSeries(
        gpd.points_from_xy([X0 + 1000 * x_km], [Y0 + 1000 * y_km]), crs="EPSG:27700"
    ).to_crs("EPSG:4326")
    return float(point.y.iloc[0]), float(point.x.iloc[0])


def click_at(driver, map_name: str, x_km: float, y_km: float, *, click: bool = True) -> None:
    """Click the map (or only hover) where a person would, at a point of the fixture's grid."""
    from selenium.webdriver.common.action_chains import ActionChains

    lat, lon = lonlat(x_km, y_km)
    x, y = driver.execute_script(
        f"var p = {map_name}.latLngToContainerPoint([arguments[0], arguments[1]]);"
        "return [p.x, p.y];",
        lat,
        lon,
    )
    container = driver.find_element("css selector", ".folium-map")
    size = container.size
    actions = ActionChains(driver).move_to_element_with_offset(
        container, int(x - size["width"] / 2), int(y - size["height"] / 2)
    )
    (actions.click() if click else actions).perform()


def wait_for(condition, what: str, seconds: float = 5.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return value


def popup_text(driver) -> str:
    """The visible text of the open popup (once its fade-in has made it visible)."""

    def text() -> str:
        popups = driver.find_elements("css selector", ".leaflet-popup-content")
        return popups[0].text if popups else ""

    return wait_for(text, "no popup opened")


def nothing_ran(driver) -> None:
    assert driver.execute_script("return window.__alerts") == []
    assert (
        driver.execute_script(
            "return document.querySelectorAll("
            "'img[src=\"x\"], iframe, svg[onload], b[onmouseover]')"
            ".length"
        )
        == 0
    )


# --------------------------------------------------------------------------- library


def test_configuration_from_files_has_band_status_hubs_and_areas(inputs):
    real, proposed = inputs.configurations
    table = real.pcns.set_index("pcn_id")
    assert sorted(table.index) == sorted({"A1", "A2", HOSTILE_PCN, "B2"})
    assert table.at["A1", "list_size"] == 32_000 and table.at["A1", "band_status"] == "in band"
    assert table.at["B2", "band_status"] == "below band"
    assert proposed.pcns.set_index("pcn_id").at["A", "band_status"] == "above band"
    assert table["n_practices"].sum() == len(PRACTICES)
    # each area is the union of its members' cells: the PCN areas tile the two places
    assert real.pcns.geometry.area.sum() == pytest.approx(2 * 12_000 * 8_000, rel=1e-6)
    assert real.summary["pcns"] == 4 and real.summary["share_pcns_in_band"] == 0.75
    hubs = real.assignments[real.assignments["is_hub"]]
    assert len(hubs) == 4 and (hubs["distance_to_hub_m"] == 0).all()


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_neighbouring_areas_never_share_a_colour(seed):
    rng = np.random.default_rng(seed)
    points = MultiPoint(rng.uniform(0, 50_000, size=(300, 2)))
    cells = shapely.voronoi_polygons(points, extend_to=box(0, 0, 50_000, 50_000))
    areas = gpd.GeoSeries(list(cells.geoms), crs="EPSG:27700").clip(box(0, 0, 50_000, 50_000))
    colours = maps.pcn_colours(areas)
    assert len(colours) == len(areas)
    assert set(colours) <= set(maps.PCN_PALETTE)
    left, right = areas.sindex.query(areas.values, predicate="intersects")
    clashes = [
        (i, j) for i, j in zip(left, right, strict=True) if i < j and colours[i] == colours[j]
    ]
    assert clashes == []
    assert len(set(colours)) <= 6  # greedy colouring of a planar map stays small


def test_colouring_refuses_a_palette_too_short():
    squares = gpd.GeoSeries([box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2), box(1, 1, 2, 2)])
    with pytest.raises(OptionError, match="needs 4 colours but the palette has 2"):
        maps.pcn_colours(squares, palette=["#000000", "#ffffff"])


def test_html_is_one_file_and_carries_no_raw_hostile_text(offline_map):
    path, _ = offline_map
    text = path.read_text(encoding="utf-8")
    assert "<script src=" not in text and "<link" not in text  # Leaflet is inlined
    assert "tile.openstreetmap" not in text and "cartocdn" not in text  # no tiles asked for
    for hostile in (XSS, HOSTILE_PCN, HOSTILE_PLACE, HOSTILE_CONFIG, HOSTILE_MIX, "<map>"):
        assert hostile not in text
    assert not list(path.parent.glob(".map.html*"))  # the atomic write left no temporary file


def test_bad_options_and_inputs_are_refused_with_a_fix(inputs, tmp_path):
    config = inputs.configurations[0]
    with pytest.raises(OptionError, match="colour_by must be one of pcn, status"):
        maps.map_from_configurations([config], practices=inputs.practices, colour_by="rainbow")
    with pytest.raises(OptionError, match="names must differ"):
        maps.map_from_configurations([config, config], practices=inputs.practices)
    with pytest.raises(InputError, match=r"'pcn_id'.*give one row per PCN"):
        dataclasses.replace(config, funding=pd.DataFrame({"pcn": ["A1"], "arrs_sum_gbp": [1.0]}))
    fmap = maps.map_from_configurations([config], practices=inputs.practices, tiles=False)
    with pytest.raises(InputError, match=r"map\.txt: a map is written as an HTML page"):
        maps.write_map(fmap, tmp_path / "map.txt")
    assert not (tmp_path / "map.txt").exists()


def test_funding_result_becomes_a_role_mix_line():
    result = SimpleNamespace(
        pcns=pd.DataFrame({"pcn_id": ["A1", "A2"], "arrs_sum_gbp": [1.0, 2.0]}),
        role_mix=pd.DataFrame(
            {
                "pcn_id": ["A1", "A1", "A2"],
                "role": ["clinical_pharmacist", "care_coordinator", "paramedic"],
                "wte": [2.0, 1.5, 0.0],
            }
        ),
    )
    table = maps.funding_table(result).set_index("pcn_id")
    assert table.at["A1", "role_mix"] == "2 WTE clinical pharmacist; 1.5 WTE care coordinator"
    assert table.at["A2", "role_mix"] == "none planned"


def test_static_png_of_a_configuration(inputs, tmp_path):
    from matplotlib.image import imread

    path = maps.static_map_png(
        inputs.configurations[0],
        tmp_path / "map.png",
        practices=inputs.practices,
        places=inputs.places,
        colour_by="status",
        dpi=80,
    )
    image = imread(path)
    assert image.shape[0] >= 600 and image.shape[1] >= 600
    assert image[..., :3].std() > 0.05  # something was drawn


def test_map_of_an_optimise_run_with_funding(files, tmp_path):
    result = run_optimise(
        RunConfig(
            practices=files["practices"],
            places=files["places"],
            place_column="place_id",
            min_size=15_000,
            max_size=40_000,
            jobs=1,
        )
    )
    funding = pd.DataFrame({"pcn_id": result.pcns["pcn_id"], "arrs_sum_gbp": 1_000.0})
    fmap = maps.map_from_run(result, funding=funding, tiles=False)
    text = maps.write_map(fmap, tmp_path / "map.html").read_text(encoding="utf-8")
    assert "Proposed (pcnopt)" in text and "ARRS sum" in text and "£1,000" in text


def test_cli_map_writes_html_and_png(files, tmp_path, capsys):
    out = tmp_path / "map.html"
    code = cli.main(
        [
            "map",
            "--practices",
            str(files["practices"]),
            "--places",
            str(files["places"]),
            "--place-column",
            "place_id",
            "--assignments",
            f"Proposed={files['proposed']}",
            "--compare",
            f"Real={files['practices']}",
            "--no-tiles",
            "--colour-by",
            "status",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert out.is_file() and out.with_suffix(".png").is_file()
    printed = capsys.readouterr().out
    assert "Proposed: 3 PCNs" in printed and "Real: 4 PCNs" in printed


def test_cli_map_names_the_file_and_column_of_unknown_practices(files, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("practice_code,pcn_id\nA0001,A\nZZZ999,A\n")
    code = cli.main(
        [
            "map",
            "--practices",
            str(files["practices"]),
            "--places",
            str(files["places"]),
            "--place-column",
            "place_id",
            "--assignments",
            str(bad),
            "--out",
            str(tmp_path / "map.html"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "bad.csv, row 3, column 'practice_code'" in err and "ZZZ999" in err
    assert not (tmp_path / "map.html").exists()


# --------------------------------------------------------------------------- in the browser


def test_map_draws_every_pcn_and_practice_without_errors(browser, offline_map, inputs, tmp_path):
    path, _ = offline_map
    log = open_map(browser, path)
    assert script_errors(log) == []
    assert [e for e in log if e["level"] == "SEVERE"] == []  # offline: nothing failed to load
    pcn_paths = browser.find_elements("css selector", "path.pcn-area")
    assert len(pcn_paths) == len(inputs.configurations[0].pcns) == 4
    assert len(browser.find_elements("css selector", "path.practice-marker")) == len(PRACTICES)
    assert len(browser.find_elements("css selector", "path.place-outline")) == 2
    # neighbouring PCNs have different fills
    fills = {p.get_attribute("fill") for p in pcn_paths}
    assert len(fills) >= 2
    summary = browser.find_element("css selector", ".pcnopt-summary").text
    assert "PCNs in size band" in summary and "75%" in summary
    legend = browser.find_element("css selector", ".pcnopt-legend").text
    assert "neighbouring PCNs never share a colour" in legend
    shot = tmp_path / "map.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_clicking_a_pcn_opens_its_members_and_funding(browser, offline_map, tmp_path):
    path, name = offline_map
    open_map(browser, path)
    click_at(browser, name, 0.5, 4.0)  # inside A1, away from its practices and the panels
    text = popup_text(browser)
    assert text.startswith("A1")
    assert "Registered patients 32,000" in text and "Size band in band" in text
    assert "Abbey Surgery" in text and XSS in text  # members, the hostile name as text
    assert "ARRS sum £852,000" in text and "Core PCN funding £48,000" in text
    assert f"Suggested role mix {HOSTILE_MIX}" in text
    browser.save_screenshot(str(tmp_path / "pcn_popup.png"))
    nothing_ran(browser)


def test_hovering_a_pcn_shows_name_population_practices_and_status(browser, offline_map):
    path, name = offline_map
    open_map(browser, path)
    click_at(browser, name, 23.5, 4.0, click=False)  # B2
    tip = wait_for(
        lambda: " ".join(t.text for t in browser.find_elements("css selector", ".leaflet-tooltip")),
        "no tooltip on hover",
    )
    assert tip == "B2\n17,000 patients (band basis)\n2 practices · below band"
    assert browser.find_elements("css selector", ".leaflet-popup") == []  # hovering opens none


def test_clicking_a_practice_opens_its_details(browser, offline_map):
    path, name = offline_map
    open_map(browser, path)
    click_at(browser, name, 10.0, 6.0)  # Dale Practice, A2
    text = popup_text(browser)
    assert text.startswith("Dale Practice")
    assert "Code A0004" in text and "List size 17,000" in text and "PCN A2" in text
    assert "Distance to PCN hub" in text


def test_pcn_without_funding_says_so(browser, offline_map):
    path, name = offline_map
    open_map(browser, path)
    click_at(browser, name, 23.5, 4.0)  # B2 has no row in the funding table
    assert "Funding not in the funding table" in popup_text(browser)


def test_hostile_names_show_as_text_and_run_nothing(browser, offline_map, tmp_path):
    from selenium.webdriver.common.keys import Keys

    path, name = offline_map
    open_map(browser, path)
    control = browser.find_element("css selector", ".leaflet-control-layers").text
    assert HOSTILE_CONFIG in control
    search = browser.find_element("css selector", ".pcnopt-search input")
    search.send_keys("x0000")
    results = browser.find_elements("css selector", ".pcnopt-search li")
    assert [r.text for r in results] == [f"{XSS} (X00001)"]
    search.send_keys(Keys.ENTER)
    text = popup_text(browser)
    assert text.startswith(XSS) and "PCN A1" in text
    nothing_ran(browser)
    open_map(browser, path)  # the search zoomed in: start again from the whole map
    click_at(browser, name, 13.0, 4.0)  # the PCN with a hostile id, in the hostile place
    text = popup_text(browser)
    assert text.startswith(HOSTILE_PCN) and "Place South" in text
    browser.save_screenshot(str(tmp_path / "hostile.png"))
    nothing_ran(browser)
    assert script_errors(browser.get_log("browser")) == []


def test_switching_configuration_shows_one_at_a_time(browser, offline_map):
    path, name = offline_map
    open_map(browser, path)
    labels = browser.find_elements("css selector", ".leaflet-control-layers-overlays label")
    proposed = next(label for label in labels if label.text.strip() == "Proposed")
    proposed.click()
    wait_for(
        lambda: len(browser.find_elements("css selector", "path.pcn-area")) == 3,
        "the proposed PCNs did not replace the real ones",
    )
    assert len(browser.find_elements("css selector", "path.practice-marker")) == len(PRACTICES)
    boxes = {
        label.text.strip(): label.find_element("css selector", "input").is_selected()
        for label in browser.find_elements("css selector", ".leaflet-control-layers-overlays label")
    }
    assert boxes == {HOSTILE_CONFIG: False, "Proposed": True, "Place boundaries": True}
    click_at(browser, name, 6.0, 4.0)
    assert popup_text(browser).startswith("A") and "Size band above band" in popup_text(browser)


def test_colour_by_status_uses_the_status_colours(browser, inputs, tmp_path):
    fmap = maps.map_from_configurations(
        inputs.configurations[:1],
        practices=inputs.practices,
        places=inputs.places,
        tiles=False,
        colour_by="status",
    )
    open_map(browser, maps.write_map(fmap, tmp_path / "status.html"))
    fills = sorted(
        p.get_attribute("fill").upper()
        for p in browser.find_elements("css selector", "path.pcn-area")
    )
    assert fills == sorted(
        [maps.STATUS_COLOURS["in band"]] * 3 + [maps.STATUS_COLOURS["below band"]]
    )
    assert "below band" in browser.find_element("css selector", ".pcnopt-legend").text


def test_map_with_base_tiles_runs_without_script_errors(browser, inputs, tmp_path):
    fmap = maps.map_from_configurations(
        inputs.configurations, practices=inputs.practices, places=inputs.places, tiles=True
    )
    log = open_map(browser, maps.write_map(fmap, tmp_path / "tiles.html"))
    assert script_errors(log) == []  # tiles may fail to load here (no internet); scripts may not
    bases = browser.find_element("css selector", ".leaflet-control-layers-base").text
    assert "OpenStreetMap" in bases and "No base map" in bases
    assert len(browser.find_elements("css selector", "path.pcn-area")) == 4


# --------------------------------------------------------------------------- published figures


def test_current_pcn_figures_are_right_when_practices_have_no_pcn(tmp_path):
    """Every PCN's popup figures equal the validator's, with opted-out practices in the table.

    The demo's current configuration with three practices blanked (opted out, closed, a
    special service) at the start, middle and end of the table.
    """
    from pcnopt.run import run_validate
    from tests.conftest import PROJECT

    table = pd.read_csv(PROJECT / "data/practices.csv", dtype={"current_pcn": "string"})
    blank = [0, len(table) // 2, len(table) - 1]
    table.loc[blank, "current_pcn"] = pd.NA
    path = tmp_path / "practices.csv"
    table.to_csv(path, index=False)
    inputs = maps.configurations_from_files(
        practices=path,
        assignments=[("Current", path)],
        places=PROJECT / "data/places.geojson",
        place_column="place_id",
    )
    current = inputs.configurations[0]
    known = table.dropna(subset=["current_pcn"]).rename(columns={"current_pcn": "pcn_id"})
    config = RunConfig(
        practices=path, places=PROJECT / "data/places.geojson", place_column="place_id"
    )
    report = run_validate(config, assignments=known[["practice_code", "pcn_id"]])
    truth = report.pcns.set_index("pcn_id")
    page = maps._page_data(
        [current],
        inputs.practices.to_crs("EPSG:27700"),
        inputs.places,
        colour_by="pcn",
        title="t",
        simplify_m=0.0,
    )
    shown = {row["id"]: row for row in page["configs"][0]["pcns"]}
    assert sorted(shown) == sorted(truth.index) and len(shown) == known["pcn_id"].nunique()
    place_names = dict(zip(inputs.places["place_id"], inputs.places["place_name"], strict=True))
    for pcn_id, row in shown.items():
        members = known[known["pcn_id"] == pcn_id]
        assert row["list"] == members["list_size"].sum() == truth.at[pcn_id, "population"]
        assert row["n"] == truth.at[pcn_id, "n_practices"] == len(members)
        assert row["status"] == ("in band" if truth.at[pcn_id, "in_band"] else row["status"])
        assert (row["status"] == "in band") == bool(truth.at[pcn_id, "in_band"])
        assert row["place"] == "; ".join(
            place_names[p] for p in str(truth.at[pcn_id, "place_id"]).split(";")
        )
    share = float(truth["in_band"].mean())
    assert current.summary["share_pcns_in_band"] == pytest.approx(share, abs=1e-4)
    # each practice's PCN in the page is its own
    codes = list(inputs.practices["practice_code"])
    ids = [row["id"] for row in page["configs"][0]["pcns"]]
    pcn_of = dict(zip(table["practice_code"], table["current_pcn"], strict=True))
    for code, k in zip(codes, page["configs"][0]["pcnOf"], strict=True):
        assert (ids[k] if k >= 0 else None) == (None if pd.isna(pcn_of[code]) else pcn_of[code])


def test_practices_on_one_site_in_different_pcns_get_areas_that_do_not_overlap():
    """Three practices share a site (one cell); two PCNs there get wedges of the cell.

    Grid of four cells, practice S1/S2/S3 at the centre of cell C (1 km squares)::

        +----+----+
        | C  | D  |     PCN "north" = S1 + D0001, PCN "south" = S2 + S3 + E0001
        +----+----+
        | E  |
        +----+
    """
    cells = {
        "C": box(0, 1000, 1000, 2000),
        "D": box(1000, 1000, 2000, 2000),
        "E": box(0, 0, 1000, 1000),
    }
    rows = [
        ("S1", "C", 12_000, "north"),
        ("S2", "C", 6_000, "south"),
        ("S3", "C", 6_000, "south"),
        ("D0001", "D", 10_000, "north"),
        ("E0001", "E", 9_000, "south"),
    ]
    centre = {"C": (500, 1500), "D": (1500, 1500), "E": (500, 500)}
    catchments = gpd.GeoDataFrame(
        {"practice_code": [r[0] for r in rows]},
        geometry=[cells[r[1]] for r in rows],
        crs="EPSG:27700",
    )
    practices = gpd.GeoDataFrame(
        {"practice_code": [r[0] for r in rows], "list_size": [r[2] for r in rows]},
        geometry=gpd.points_from_xy(
            [centre[r[1]][0] for r in rows], [centre[r[1]][1] for r in rows]
        ),
        crs="EPSG:27700",
    )
    assignments = pd.DataFrame(
        {"practice_code": [r[0] for r in rows], "pcn_id": [r[3] for r in rows]}
    )
    areas = maps.pcn_areas(catchments, assignments, practices=practices).set_index("pcn_id")
    north, south = areas.geometry["north"], areas.geometry["south"]
    assert north.intersection(south).area == pytest.approx(0.0, abs=1e-6)
    assert north.union(south).area == pytest.approx(3e6, rel=1e-9)  # the three cells, no gap
    # each PCN's share of the shared cell C follows its patients there (12,000 against 12,000)
    assert north.intersection(cells["C"]).area == pytest.approx(0.5e6, rel=1e-6)
    assert south.intersection(cells["C"]).area == pytest.approx(0.5e6, rel=1e-6)
    assert north.contains(cells["D"].buffer(-1)) and south.contains(cells["E"].buffer(-1))


@pytest.fixture(scope="module")
def demo_map(tmp_path_factory) -> Path:
    """``optimise`` on the embedded demo: the proposed and the current PCNs, with postcodes."""
    out = tmp_path_factory.mktemp("demo_map") / "out"
    assert cli.main(["optimise", "--out", str(out)]) == 0
    return out


def visible_labels(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.pcn-label'))"
        ".filter(function (e) { return e.style.display !== 'none'; })"
        ".map(function (e) { return e.textContent; });"
    )


def test_each_pcn_is_labelled_at_a_readable_zoom(browser, demo_map, tmp_path):
    open_map(browser, demo_map / "map.html")
    pcns = pd.read_csv(demo_map / "pcns.csv", dtype=str)
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('.pcn-label')).map(e => e.textContent);"
    )
    assert sorted(labels) == sorted(pcns["pcn_label"])  # each PCN by its name
    shown = visible_labels(browser)
    # the whole area in view: the larger areas carry their names, the small ones wait
    assert 0 < len(shown) < len(labels)
    map_name = browser.execute_script(
        "return Object.keys(window).find(k => k.startsWith('map_') && window[k].getZoom);"
    )
    zoom = browser.execute_script(f"return {map_name}.getZoom();")
    browser.execute_script(f"{map_name}.setZoom({zoom + 3}, {{animate: false}});")
    wait_for(
        lambda: len(visible_labels(browser)) == len(labels),
        "zoomed in, not every PCN showed its name",
    )
    browser.save_screenshot(str(tmp_path / "labels.png"))
    assert script_errors(browser.get_log("browser")) == []


def test_search_finds_a_postcode_a_pcn_and_a_place(browser, demo_map):
    from selenium.webdriver.common.keys import Keys

    practices = pd.read_csv(PROJECT / "data/practices.csv", dtype=str)
    first = practices.iloc[0]
    open_map(browser, demo_map / "map.html")
    search = browser.find_element("css selector", ".pcnopt-search input")

    def results(query: str) -> list[str]:
        search.clear()
        search.send_keys(query)
        return [r.text for r in browser.find_elements("css selector", ".pcnopt-search li")]

    assert results(first["postcode"].lower().replace(" ", "")) == [
        f"{first['name']} ({first['practice_code']})"
    ]
    assert "Place: Wyvernford" in results("Wyvernford")
    row = pd.read_csv(demo_map / "pcns.csv", dtype=str).iloc[3]
    pcn, name = row["pcn_id"], row["pcn_label"]
    assert results(pcn)[0] == f"PCN: {name} ({pcn})"
    assert results(name)[0] == f"PCN: {name} ({pcn})"
    search.send_keys(Keys.ENTER)
    assert "Registered patients" in popup_text(browser)  # the PCN's popup opened
    assert (
        browser.execute_script(
            "return document.querySelector('.leaflet-popup-content h4').textContent"
        )
        == f"{name} ({pcn})"
    )


def test_a_practice_popup_gives_its_pcn_in_every_configuration(browser, demo_map):
    from selenium.webdriver.common.keys import Keys

    practices = pd.read_csv(PROJECT / "data/practices.csv", dtype=str)
    first = practices.iloc[0]
    proposed = pd.read_csv(demo_map / "assignments.csv", dtype=str).set_index("practice_code")
    open_map(browser, demo_map / "map.html")
    search = browser.find_element("css selector", ".pcnopt-search input")
    search.send_keys(first["practice_code"])
    search.send_keys(Keys.ENTER)
    text = popup_text(browser)
    assert f"({proposed.at[first['practice_code'], 'pcn_id']})" in text.split("PCN ", 1)[1]
    assert f"PCN in Current PCNs {first['current_pcn']}" in text
    assert f"Postcode {first['postcode']}" in text


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_inset_shows_the_densest_square_of_practices(seed):
    """Brute force: no practice-centred square of the same side holds more practices."""
    from pcnopt.maps.static import densest_window

    rng = np.random.default_rng(seed)
    spread = rng.uniform(0, 60_000, size=(60, 2))
    town = rng.normal(loc=(20_000, 40_000), scale=800, size=(25, 2))
    xy = np.vstack([spread, town])
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:27700")
    window = densest_window(points, extent=60_000)
    assert window is not None
    half = (window[2] - window[0]) / 2
    inside = (
        (xy[:, 0] >= window[0])
        & (xy[:, 0] <= window[2])
        & (xy[:, 1] >= window[1])
        & (xy[:, 1] <= window[3])
    ).sum()
    best = max(int((np.abs(xy - p).max(axis=1) <= half).sum()) for p in xy)
    assert inside == best and inside >= 25
    gx, gy = np.meshgrid(np.arange(0, 60_000, 6_000), np.arange(0, 60_000, 6_000))
    even = gpd.GeoDataFrame(geometry=gpd.points_from_xy(gx.ravel(), gy.ravel()), crs="EPSG:27700")
    assert densest_window(even, extent=60_000) is None  # nothing stands out: no inset


def test_png_has_the_users_title_even_with_mathtext_in_it(inputs, tmp_path):
    title = r"North $\frac{a$ PCNs"
    path = maps.static_map_png(
        inputs.configurations[0],
        tmp_path / "m.png",
        practices=inputs.practices,
        places=inputs.places,
        title=title,
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_current_pcns_carry_their_names_from_the_file(files, tmp_path):
    """A table with ePCN's name column beside the code column shows PCNs by name."""
    table = pd.read_csv(files["practices"], dtype=str)
    table = table.rename(columns={"current_pcn": "pcn2019_code"})
    names = {"A1": "Abbey & Dale PCN", "A2": "Castle PCN", HOSTILE_PCN: XSS, "B2": "Grange PCN"}
    table["pcn2019_name"] = table["pcn2019_code"].map(names)
    path = tmp_path / "named.csv"
    table.to_csv(path, index=False)
    inputs = maps.configurations_from_files(
        practices=path,
        places=files["places"],
        place_column="place_id",
        assignments=[("2019", path)],
        pcn_column="pcn2019_code",
    )
    shown = dict(
        zip(
            inputs.configurations[0].pcns["pcn_id"],
            inputs.configurations[0].pcns["pcn_label"],
            strict=True,
        )
    )
    assert shown == names
    assert (
        maps.configurations_from_files(
            practices=files["practices"],
            places=files["places"],
            place_column="place_id",
            assignments=[("Real", files["practices"])],
        )
        .configurations[0]
        .pcns["pcn_label"]
        .eq("")
        .all()
    )  # no name column: ids only


def page_data(path: Path) -> dict:
    """The data a map page draws (the object its script passes to ``pcnoptMap``)."""
    html = path.read_text(encoding="utf-8")
    start = html.index("{", html.index("= pcnoptMap("))
    return json.JSONDecoder().raw_decode(html, start)[0]


def test_the_current_layer_shows_each_pcns_funding_as_the_funding_command_gives_it(
    demo_map, tmp_path
):
    from tests.conftest import PROJECT

    practices = PROJECT / "data/practices.csv"
    out = tmp_path / "funding"
    year = json.loads((demo_map / "summary.json").read_text())["funding"]["year"]
    args = ["funding", "--practices", str(practices), "--assignments", str(practices)]
    assert cli.main([*args, "--pcn-column", "current_pcn", "--year", year, "--out", str(out)]) == 0
    truth = pd.read_csv(out / "funding.csv", dtype={"pcn_id": str}).set_index("pcn_id")
    layers = {c["name"]: c for c in page_data(demo_map / "map.html")["configs"]}
    current = layers["Current PCNs"]
    assert sorted(p["id"] for p in current["pcns"]) == sorted(truth.index)
    for p in current["pcns"]:
        shown = dict(p["fund"])
        assert shown["ARRS sum"] == f"£{truth.at[p['id'], 'arrs_sum_gbp']:,.0f}"


def test_search_finds_a_town_and_shows_its_practices(browser, tmp_path):
    """A town of the practices' addresses (any spelling of it) brings all its practices in view."""

    from tests.conftest import demo_practices, optimise_argv, write_practices

    table = demo_practices()
    # five neighbouring practices of one town, spelt two ways, and a hostile town name
    at = table[["lat", "lon"]].astype(float)
    near = list(((at - at.iloc[0]) ** 2).sum(axis=1).nsmallest(5).index)
    table["town"] = "Elsewhere"
    table.loc[near[:3], "town"] = "Kirkby-in-Wendle"
    table.loc[near[3:], "town"] = "KIRKBY IN WENDLE"
    table.loc[50, "town"] = '<b onmouseover="alert(1)">Wold</b>'
    table.loc[near[:2], "locality"] = "Wendle Green"
    out = tmp_path / "out"
    assert cli.main(optimise_argv(write_practices(table, tmp_path), out)) == 0
    open_map(browser, out / "map.html")
    search = browser.find_element("css selector", ".pcnopt-search input")
    search.send_keys("kirkby")
    items = browser.find_elements("css selector", ".pcnopt-search li")
    # the PCN named after the town (its hub's), then the town itself, once for both spellings
    assert [r.text for r in items if r.text.startswith("Town:")] == [
        "Town: Kirkby-in-Wendle (5 practices)"
    ]
    town = next(r for r in items if r.text.startswith("Town:"))
    map_name = browser.execute_script(
        "return Object.keys(window).find(k => k.startsWith('map_') && window[k].getZoom);"
    )
    before = browser.execute_script(f"return {map_name}.getZoom();")
    town.click()
    wait_for(
        lambda: browser.execute_script(f"return {map_name}.getZoom();") > before,
        "the map did not zoom to the town",
    )
    lat_lon = at.loc[near].to_numpy().tolist()
    inside = browser.execute_script(
        f"var b = {map_name}.getBounds();"
        "return arguments[0].map(function (p) { return b.contains(p); });",
        lat_lon,
    )
    assert inside == [True] * 5
    search.clear()
    search.send_keys("wendle g")
    hits = [r.text for r in browser.find_elements("css selector", ".pcnopt-search li")]
    assert "Locality: Wendle Green (2 practices)" in hits
    search.clear()
    search.send_keys("<b")
    nothing_ran(browser)
    assert "Town: <b onmouseover" in browser.find_element("css selector", ".pcnopt-search").text
