"""The static PNG map of one configuration (matplotlib, no browser), for reports and slides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from pcnopt.errors import InputError, OptionError, Problem
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
        raise InputError(
            Problem(
                str(path),
                "the static map is written as a PNG image.",
                "give a file name ending in .png.",
            )
        )
    pcns = configuration.pcns.to_crs(BNG)
    pcns = pcns[~pcns.geometry.is_empty & pcns.geometry.notna()]
    fills = (
        pcn_colours(pcns)
        if colour_by == "pcn"
        else [STATUS_COLOURS.get(s, "#BBBBBB") for s in pcns["band_status"]]
    )
    points = practices.to_crs(BNG)
    regions = places.to_crs(BNG) if places is not None and len(places) else None
    exceptions = pcns[pcns["exception"].fillna("") != ""]
    full = pcns.total_bounds if len(pcns) else points.total_bounds
    window = densest_window(points, extent=float(full[2] - full[0]))
    # with an inset: the map on the left, the enlarged busiest part on the right
    figure = Figure(figsize=(size_in[0] * 1.4, size_in[1]) if window else size_in, dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.01, 0.02, 0.66, 0.88)) if window else figure.add_subplot()
    _draw(ax, pcns, fills, exceptions, regions, points, marker_scale=60.0)
    ax.set_axis_off()
    ax.set_aspect("equal")
    x0, x1 = ax.get_xlim()
    _labels(ax, pcns, min_width=(x1 - x0) / 25.0, fontsize=7)
    if window is not None:
        inset = figure.add_axes((0.69, 0.30, 0.30, 0.55))
        _draw(inset, pcns, fills, exceptions, regions, points, marker_scale=120.0)
        inset.set_xlim(window[0], window[2])
        inset.set_ylim(window[1], window[3])
        inset.set_aspect("equal")
        inset.set_xticks([])
        inset.set_yticks([])
        inset.set_xlabel("")
        inset.set_ylabel("")
        inset.set_facecolor("#f3f3f0")
        _labels(inset, pcns, min_width=(window[2] - window[0]) / 12.0, fontsize=7, within=window)
        ax.indicate_inset_zoom(inset, edgecolor="#222222")
        inset.set_title("The busiest part, enlarged", fontsize=9)
    s = configuration.summary
    heading = _plain(title or configuration.name)
    ax.set_title(f"{heading}\n{summary_line(s)}", fontsize=11)
    handles: list[Any] = []
    if colour_by == "status":
        handles += [
            Patch(facecolor=c, edgecolor="white", label=k)
            for k, c in STATUS_COLOURS.items()
            if k != "no PCN"
        ]
    if len(exceptions):
        handles.append(Line2D([], [], color="#222222", linestyle="--", label="named exception"))
    handles.append(
        Line2D(
            [], [], marker="o", linestyle="", color="#333333", label="practice (area ∝ list size)"
        )
    )
    ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=True)
    if window is None:
        figure.tight_layout()
    _atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=dpi))
    return path


def _draw(
    ax: Any,
    pcns: gpd.GeoDataFrame,
    fills: list[str],
    exceptions: gpd.GeoDataFrame,
    regions: gpd.GeoDataFrame | None,
    points: gpd.GeoDataFrame,
    *,
    marker_scale: float,
) -> None:
    """PCN areas, exceptions, place outlines and practices on one axes."""
    pcns.plot(ax=ax, color=fills, edgecolor="white", linewidth=0.6)
    if len(exceptions):
        exceptions.boundary.plot(ax=ax, color="#222222", linewidth=1.0, linestyle="--")
    if regions is not None:
        regions.boundary.plot(ax=ax, color="#222222", linewidth=1.2)
    sizes = points["list_size"].clip(lower=0).to_numpy(float)
    ax.scatter(
        points.geometry.x,
        points.geometry.y,
        s=2 + marker_scale * sizes / max(sizes.max(), 1.0),
        c="#333333",
        edgecolors="white",
        linewidths=0.4,
        zorder=3,
    )


def _labels(
    ax: Any,
    pcns: gpd.GeoDataFrame,
    *,
    min_width: float,
    fontsize: float,
    within: tuple[float, float, float, float] | None = None,
) -> None:
    """Write each PCN's name (its label, else its id) where its area is wide enough."""
    import matplotlib.patheffects as effects
    import shapely
    import shapely.ops

    halo = [effects.withStroke(linewidth=2.5, foreground="white")]
    clip = shapely.box(*within) if within is not None else None
    for row in pcns.itertuples(index=False):
        area = row.geometry if clip is None else row.geometry.intersection(clip)
        if area is None or area.is_empty:
            continue
        polygons = [g for g in shapely.get_parts(area) if g.geom_type == "Polygon"]
        if not polygons:
            continue
        part = max(polygons, key=lambda g: g.area)
        minx, _, maxx, _ = part.bounds
        if maxx - minx < min_width:
            continue
        at = shapely.ops.polylabel(part, tolerance=max(1.0, (maxx - minx) / 50.0))
        name = _plain(str(row.pcn_label or "") or str(row.pcn_id))
        ax.text(
            at.x,
            at.y,
            name,
            ha="center",
            va="center",
            fontsize=fontsize,
            fontweight="bold",
            color="#111111",
            path_effects=halo,
            zorder=4,
            clip_on=True,
        )


def densest_window(
    points: gpd.GeoDataFrame, *, extent: float, min_practices: int = 8
) -> tuple[float, float, float, float] | None:
    """The square around the densest cluster of practices, for an enlarged inset.

    The square's side is a sixth of the map's width; it is centred on the practice with most
    others within that square. ``None`` when no square holds ``min_practices`` practices and
    at least three times the practices an even spread would put in it (nothing to enlarge).
    """
    xy = np.column_stack([points.geometry.x.to_numpy(float), points.geometry.y.to_numpy(float)])
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) < min_practices or extent <= 0:
        return None
    half = extent / 12.0
    counts = np.concatenate(
        [  # practices within the square around each, in blocks of rows
            (np.abs(xy[k : k + 512, None, :] - xy[None, :, :]).max(axis=2) <= half).sum(axis=1)
            for k in range(0, len(xy), 512)
        ]
    )
    best = int(np.argmax(counts))
    spread = len(xy) * (2 * half) ** 2 / max(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1]), 1.0)
    if counts[best] < max(min_practices, 3 * spread):
        return None
    cx, cy = xy[best]
    return (cx - half, cy - half, cx + half, cy + half)


def _plain(text: str) -> str:
    """Text that matplotlib draws as written: ``$`` would start mathematics (mathtext)."""
    return text.replace("$", r"\$")
