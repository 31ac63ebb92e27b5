"""The neighbourhoods map in headless Chromium: each level a layer, figures as the units CSVs.

Uses the browser of ``tests/maps/test_maps.py`` (skipped, or failed on CI, without Chromium).
"""

from __future__ import annotations

import pandas as pd
import pytest

import cli
from tests.maps.test_maps import browser, open_map, popup_text, script_errors, wait_for
from tests.test_neighbourhoods import DEMO

__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture(scope="module")
def grouped(tmp_path_factory):
    """Today's demo PCNs grouped whole into neighbourhoods, with funding, map offline."""
    out = tmp_path_factory.mktemp("hoods") / "out"
    args = ["neighbourhoods", "--band", "100000-250000", "--group-pcns", str(DEMO)]
    args += ["--pcn-column", "current_pcn", "--no-tiles", "--out", str(out)]
    assert cli.main(args) == 0
    return out


def _main(driver) -> str:
    return driver.execute_script(
        "return Object.keys(window).find(k => k.startsWith('pcnopt') && window[k].goPcn);"
    )


def _popups(driver) -> dict[str, str]:
    """Every unit's popup text of the layer shown, by the unit's id (its popup heading)."""
    main = _main(driver)
    texts = {}
    for i in range(driver.execute_script(f"return {main}.drawn().areas;")):
        driver.execute_script(f"{main}.goPcn({i});")
        heading = wait_for(
            lambda: driver.execute_script(
                "var h = document.querySelector('.leaflet-popup-content h4');"
                "return h && h.textContent;"
            ),
            "no popup opened",
        )
        popup_text(driver)  # shown
        # the whole popup (it scrolls: WebDriver's text would give only the part in view)
        texts[heading] = driver.execute_script(
            "return document.querySelector('.leaflet-popup-content').innerText;"
        ).replace("\t", " ")
        driver.execute_script("document.querySelector('.leaflet-popup-close-button').click();")
        wait_for(lambda: not driver.find_elements("css selector", ".leaflet-popup"), "popup stays")
    return texts


def test_each_level_is_a_layer_and_popups_give_the_units_figures(browser, grouped, tmp_path):
    hoods = pd.read_csv(grouped / "units_neighbourhood.csv", dtype={"neighbourhood_id": str})
    pcns = pd.read_csv(grouped / "units_pcn.csv", dtype={"pcn_id": str})
    log = open_map(browser, grouped / "map.html")
    assert script_errors(log) == []
    labels = [
        label.text.strip()
        for label in browser.find_elements("css selector", ".leaflet-control-layers-overlays label")
    ]
    assert labels[:2] == ["Neighbourhoods", "PCNs"]
    # the neighbourhoods first: their boundaries over the PCNs' colours
    assert len(browser.find_elements("css selector", "path.pcn-area")) == len(hoods)
    under = browser.find_elements("css selector", "path.pcn-area-under")
    assert len(under) == len(pcns) and len({p.get_attribute("fill") for p in under}) >= 3
    browser.save_screenshot(str(tmp_path / "neighbourhoods.png"))
    texts = _popups(browser)
    assert set(texts) == set(hoods["neighbourhood_id"])
    for row in hoods.itertuples():
        text = texts[row.neighbourhood_id]
        assert f"Registered patients {row.patients:,.0f}\n" in text
        assert f"Practices {row.n_practices}\n" in text
        assert f"ARRS sum of its PCNs £{row.arrs_sum_gbp:,.0f}\n" in text
        members = pcns[pcns["neighbourhood_id"] == row.neighbourhood_id]
        assert f"PCNs ({len(members)}) Patients\n" in text
        for pcn in members.itertuples():
            assert f"\n{pcn.pcn_id} {pcn.patients:,.0f}\n" in text
    # the PCNs alone, one click away
    next(
        label
        for label in browser.find_elements("css selector", ".leaflet-control-layers-overlays label")
        if label.text.strip() == "PCNs"
    ).click()
    wait_for(
        lambda: len(browser.find_elements("css selector", "path.pcn-area")) == len(pcns),
        "the PCN layer did not replace the neighbourhoods",
    )
    assert browser.find_elements("css selector", "path.pcn-area-under") == []
    texts = _popups(browser)
    for row in pcns.itertuples():
        text = texts[row.pcn_id]
        assert f"Registered patients {row.patients:,.0f}\n" in text
        assert f"ARRS sum £{row.arrs_sum_gbp:,.0f}\n" in text
    assert script_errors(browser.get_log("browser")) == []
