"""Distinct colours for class indices, shared by the screen's and the report figures' class maps.

:data:`PALETTE` is a fixed list of categorical colours picked greedily for the largest smallest CIEDE2000
colour difference to those before it, among vivid colours (CIELAB chroma ≥ 30) of lightness 30–78 (visible
on white and over images): any two differ by ΔE₀₀ ≥ 19, the first ten by ≥ 26.
"""

from collections.abc import Iterable

PALETTE = ("#1e69e1", "#b4c300", "#ff4b00", "#005a2d", "#00d2e1", "#ff96e1", "#96004b", "#693c0f", "#1ea569",
           "#c300f0", "#ffa500", "#a5b4ff", "#78781e", "#ff2d69", "#008796", "#f0a596", "#5a3c87", "#b4000f",
           "#a56996", "#00a5f0")
"""Categorical colours (sRGB hex), most distinct first; see above."""


def order_of_appearance(classes: Iterable[int]) -> dict[int, str]:
    """Colours (hex) of the classes (indices ≥ 0; -1 is skipped) in ``classes``: :data:`PALETTE` entries in
    order of each class's first appearance (repeating after the last)."""
    colours: dict[int, str] = {}
    for index in classes:
        index = int(index)
        if index >= 0 and index not in colours:
            colours[index] = PALETTE[len(colours) % len(PALETTE)]
    return colours
