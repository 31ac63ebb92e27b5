"""Checks of option values that the command line and scenario files share.

Each raises :class:`~pcnopt.errors.OptionError` naming the option as the user wrote it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pcnopt.errors import OptionError


def check_number(value: float, *, option: str, minimum: float | None = None) -> float:
    """``value`` if it is a finite number (at least ``minimum``), else :class:`OptionError`.

    ``nan`` and ``inf`` are refused: they are not amounts anyone means, and JSON cannot
    hold them.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise OptionError(f"{option} must be a finite number, not {value!r}.")
    if minimum is not None and value < minimum:
        raise OptionError(f"{option} must be >= {minimum:g}, not {value!r}.")
    return float(value)


def check_known_places(named: Iterable[str], known: Iterable[object], *, option: str) -> None:
    """Refuse place ids in ``named`` that are not among the ``known`` places with practices.

    A rule naming a place that does not exist would be ignored silently (a typo in
    ``--approve-small`` would approve nothing).
    """
    ids = {str(k) for k in known}
    unknown = [n for n in dict.fromkeys(named) if n not in ids]
    if unknown:
        shown = ", ".join(sorted(ids)[:10]) + (" …" if len(ids) > 10 else "")
        raise OptionError(
            f"{option} names {', '.join(repr(u) for u in unknown)}, not a place with practices "
            f"in this run; the places are: {shown}. Check the spelling (place ids are "
            "case-sensitive)."
        )
