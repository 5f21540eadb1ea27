"""What the Invariance pane exports besides its figure: every image's curves as arrays and as one CSV."""

from pathlib import Path

import numpy as np

from cnnviz.analyses.invariance import ImageCurves, image_arrays
from cnnviz.core.per_image import invariance
from cnnviz.gui.panes.invariance.plots import Curve


def export_name(kind: str) -> str:
    """The file name an export of curves of transform ``kind`` suggests (no extension)."""
    return f"invariance-{kind}"


def curve_arrays(curves: list[Curve]) -> dict[str, np.ndarray]:
    """Each image's curves (:meth:`InvarianceResult.arrays`, each [n]) as ``image<k>-<name>``, k from 1 in the
    legend's order, as the invariance analysis's result names them (:func:`cnnviz.analyses.invariance.image_arrays`)."""
    return image_arrays([ImageCurves(curve.name, curve.result) for curve in curves])


def write_curves_csv(curves: list[Curve], path: Path) -> Path:
    """Write all ``curves`` as one CSV (:func:`cnnviz.core.per_image.invariance.curves_csv`) at ``path`` (its folder
    created); returns ``path``; raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(invariance.curves_csv([(curve.name, curve.result) for curve in curves]), encoding="utf-8")
    return path
