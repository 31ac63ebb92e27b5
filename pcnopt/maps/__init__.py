"""Engagement maps: interactive HTML (Folium/Leaflet) and static PNG of PCN configurations.

A map shows one or more *configurations* (the real PCNs, the proposed ones, each scenario) as
layers a reader switches between. Each PCN's area is the union of its practices' catchment
cells, filled so that neighbouring PCNs never share a colour (greedy colouring of the PCN
adjacency with a colour-blind-safe palette), or by size status. Place boundaries are drawn as
outlines and practices as circles whose area is proportional to the list size. Hovering shows a
PCN's name, population, practices and band status; clicking opens its member practices, the
funding figures when a funding table is given, and any exception note. A summary panel, a legend
and a search box for practice names or codes complete the page.

The HTML is one self-contained file: Leaflet is inlined (``pcnopt/_vendor/leaflet``), the data
are embedded as JSON, and nothing but optional base tiles is fetched, so ``tiles=False`` gives a
map that works with no internet. Every string that comes from an input file (names, codes,
notes, configuration names) reaches the page as data and is HTML-escaped before display.

Modules: :mod:`~pcnopt.maps.configurations` (what is drawn), :mod:`~pcnopt.maps.colours`,
:mod:`~pcnopt.maps.interactive` (the HTML page; its JavaScript and CSS are in ``assets/``) and
:mod:`~pcnopt.maps.static` (the PNG).

Typical use::

    from pcnopt.maps import map_from_run, write_map
    write_map(map_from_run(result), "out/map.html")
"""

from pcnopt.maps.colours import (
    COLOUR_BY,
    PCN_PALETTE,
    STATUS_COLOURS,
    adjacency_of_areas,
    pcn_colours,
)
from pcnopt.maps.configurations import (
    MapConfiguration,
    MapInputs,
    configuration_from_assignments,
    configuration_from_run,
    configurations_from_files,
    funding_table,
    pcn_areas,
    summary_line,
)
from pcnopt.maps.interactive import (
    CANVAS_PRACTICES,
    FUNDING_LABELS,
    ROLE_MIX_COLUMNS,
    _page_data,
    map_from_configurations,
    map_from_run,
    write_map,
)
from pcnopt.maps.static import static_map_png

__all__ = [
    "CANVAS_PRACTICES",
    "COLOUR_BY",
    "FUNDING_LABELS",
    "PCN_PALETTE",
    "ROLE_MIX_COLUMNS",
    "STATUS_COLOURS",
    "MapConfiguration",
    "MapInputs",
    "_page_data",
    "adjacency_of_areas",
    "configuration_from_assignments",
    "configuration_from_run",
    "configurations_from_files",
    "funding_table",
    "map_from_configurations",
    "map_from_run",
    "pcn_areas",
    "pcn_colours",
    "static_map_png",
    "summary_line",
    "write_map",
]
