"""The static PNG map of one configuration (matplotlib, no browser), for reports and slides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd

from pcnopt._errors import InputError, OptionError, Problem
from pcnopt.maps._write import atomic_write as _atomic_write
from pcnopt.maps.colours import COLOUR_BY, STATUS_COLOURS, pcn_colours
from pcnopt.maps.configurations import BNG, MapConfiguration, summary_line


def static_map_png(
    configuration: MapConfiguration,
    path: str | Path,
    *,
    practices: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame | None = None,
    colour_by: str = "pcn",
    title: str | None = None,
    dpi: int = 150,
    size_in: tuple[float, float] = (10.0, 10.0),
) -> Path:
    """Draw one configuration as a PNG for reports and slides (matplotlib, no browser).

    Parameters
    ----------
    configuration
        What to draw.
    path
        PNG file to write (atomically).
    practices, places
        As for :func:`map_from_configurations`.
    colour_by
        "pcn" or "status".
    title
        Figure title; default the configuration's name.
    dpi, size_in
        Resolution and size in inches.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if colour_by not in COLOUR_BY:
        raise OptionError(f"colour_by must be one of {', '.join(COLOUR_BY)}, not {colour_by!r}.")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InputError(Problem(str(path), "the static map is written as a PNG image.",
                                 "give a file name ending in .png."))
    pcns = configuration.pcns.to_crs(BNG)
    pcns = pcns[~pcns.geometry.is_empty & pcns.geometry.notna()]
    fills = (pcn_colours(pcns) if colour_by == "pcn"
             else [STATUS_COLOURS.get(s, "#BBBBBB") for s in pcns["band_status"]])
    figure = Figure(figsize=size_in, dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    pcns.plot(ax=ax, color=fills, edgecolor="white", linewidth=0.6)
    exceptions = pcns[pcns["exception"].fillna("") != ""]
    if len(exceptions):
        exceptions.boundary.plot(ax=ax, color="#222222", linewidth=1.0, linestyle="--")
    if places is not None and len(places):
        places.to_crs(BNG).boundary.plot(ax=ax, color="#222222", linewidth=1.2)
    points = practices.to_crs(BNG)
    sizes = points["list_size"].clip(lower=0).to_numpy(float)
    ax.scatter(points.geometry.x, points.geometry.y, s=2 + 60 * sizes / max(sizes.max(), 1.0),
               c="#333333", edgecolors="white", linewidths=0.4, zorder=3)
    ax.set_axis_off()
    ax.set_aspect("equal")
    s = configuration.summary
    heading = title or configuration.name
    ax.set_title(f"{heading}\n{summary_line(s)}", fontsize=11)
    handles: list[Any] = []
    if colour_by == "status":
        handles += [Patch(facecolor=c, edgecolor="white", label=k)
                    for k, c in STATUS_COLOURS.items() if k != "no PCN"]
    if len(exceptions):
        handles.append(Line2D([], [], color="#222222", linestyle="--", label="named exception"))
    handles.append(Line2D([], [], marker="o", linestyle="", color="#333333",
                          label="practice (area ∝ list size)"))
    ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=True)
    figure.tight_layout()
    _atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=dpi))
    return path
