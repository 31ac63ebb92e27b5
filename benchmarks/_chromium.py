"""Headless Chromium through chromedriver, as the map tests and the map benchmark drive it.

Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and the selenium
package; each browser gets a new, empty profile so no user setting or extension touches a map.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def missing() -> list[str]:
    """What headless Chromium lacks on this machine (empty when it can start)."""
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        absent.append("the selenium package")
    return absent


def headless_chromium(*, width: int, height: int) -> Any:
    """A headless Chromium webdriver with a window of ``width`` × ``height`` pixels, keeping
    every browser console message (``driver.get_log("browser")``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tempfile.mkdtemp(prefix='pcnopt-chromium-')}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
