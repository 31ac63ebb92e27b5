"""The target shape of a role mix: the national mix of ARRS staff in post, or the user's."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from pcnopt.errors import OptionError


@dataclass(frozen=True)
class TargetMix:
    """A recruitment target: shares of WTE by role, or minimum WTE for named roles.

    Parameters
    ----------
    kind
        ``"share"`` (each named role within one step of its share of the WTE; only named roles
        recruited) or ``"minimum"`` (at least this many WTE of each named role, the rest of the
        money spent to maximise WTE).
    roles
        Role → share (0-1, summing to 1) or minimum WTE.
    """

    kind: Literal["share", "minimum"]
    roles: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        if self.kind not in ("share", "minimum"):
            raise OptionError(f"target mix kind '{self.kind}' is not 'share' or 'minimum'.")
        if not self.roles:
            raise OptionError("the target mix names no roles. Fix: name at least one role.")
        if any(v < 0 or not math.isfinite(v) for _, v in self.roles):
            raise OptionError("a target mix value is negative. Fix: give shares or WTE >= 0.")
        if self.kind == "share" and abs(sum(v for _, v in self.roles) - 1) > 0.011:
            total = sum(v for _, v in self.roles)
            raise OptionError(
                f"the target shares add up to {total:.0%}, not 100%. Fix: give "
                "shares of the WTE that add up to 100% (e.g. "
                "clinical_pharmacist=40%,care_coordinator=60%)."
            )

    @classmethod
    def parse(cls, text: str) -> TargetMix:
        """Read ``role>=1,role>=1`` (minimum WTE) or ``role=40%,role=60%`` (shares)."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        minimum, share = [], []
        for part in parts:
            m = re.fullmatch(r"([A-Za-z_ ]+?)\s*(>=|=)\s*([0-9.]+)\s*(%?)", part)
            if not m:
                raise OptionError(
                    f"target mix item '{part}' is not ROLE>=WTE or ROLE=SHARE. Fix: write e.g. "
                    "'clinical_pharmacist>=1,social_prescribing_link_worker>=1' or "
                    "'clinical_pharmacist=40%,care_coordinator=60%'."
                )
            role = m.group(1).strip().lower().replace(" ", "_")
            value = float(m.group(3))
            if m.group(2) == ">=":
                minimum.append((role, value))
            else:
                share.append((role, value / 100 if m.group(4) or value > 1 else value))
        if minimum and share:
            raise OptionError(
                "the target mix mixes minimums (>=) and shares (=). Fix: give "
                "either minimum WTE for named roles, or shares of every role."
            )
        return cls("minimum", tuple(minimum)) if minimum else cls("share", tuple(share))


# --------------------------------------------------------------------------------------------
# Per-PCN money
# --------------------------------------------------------------------------------------------
