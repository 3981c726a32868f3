"""Study designs (DESIGNS: explicit registry, one module each): MOS and 2AFC.

What a design decides is listed in base.Design; a study names its design in study.json.
"""
from __future__ import annotations

from colorbench.registry import Registry
from colorbench.study.designs import mos, twoafc
from colorbench.study.designs.base import Design

DESIGNS: Registry[Design] = Registry("study design")
for _design in (mos.DESIGN, twoafc.DESIGN):
    DESIGNS.register(_design.name, _design, _design.summary)
