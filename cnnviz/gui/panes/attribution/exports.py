"""What the Attribution pane exports besides its figure, from the attribution analysis's result: the maps as .npy
files and the metrics and curves tables (:meth:`~cnnviz.analyses.attribution.AttributionAnalysis.tables`) as CSV.
"""

from pathlib import Path

import numpy as np

from cnnviz.analyses.attribution import AttributionAnalysis

RAW = "-raw"
"""The name ending of a method's own output among the result's arrays (left to ``cnnviz run``)."""


def map_arrays(result: AttributionAnalysis | None) -> dict[str, np.ndarray]:
    """Each computed map [H, W] (float32) as ``<n>-<method>-class<target>`` (``+`` written ``plus``), for .npy
    files; empty without a result."""
    if result is None:
        return {}
    return {name: array for name, array in result.arrays().items() if not name.endswith(RAW)}


def write_tables(result: AttributionAnalysis, stem: Path) -> list[Path]:
    """Write ``<stem>-metrics.csv`` and ``<stem>-curves.csv`` (``stem``: a path without suffix); returns the paths
    written. Raises OSError."""
    written = []
    for name, text in result.tables().items():
        path = stem.with_name(f"{stem.name}-{name}.csv")
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def save_data(result: AttributionAnalysis, path: str | Path) -> list[Path]:
    """Write the maps as ``<stem>-<name>.npy`` (see :func:`map_arrays`) and the tables (:func:`write_tables`) beside
    ``path`` (a suffix .npy, .csv or .png is dropped); returns the paths written. Raises OSError."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".npy", ".csv", ".png") else path
    written = []
    for name, array in map_arrays(result).items():
        target = stem.with_name(f"{stem.name}-{name}.npy")
        np.save(target, array)
        written.append(target)
    return written + write_tables(result, stem)
