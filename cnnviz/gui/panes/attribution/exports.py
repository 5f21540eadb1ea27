"""What the Attribution pane exports besides its figure: the maps as .npy files and the metrics and
curves as CSV.

The metrics table has one row per map (method, target, layer, parameters, deletion and insertion AUC,
rank correlation and SSIM with every layer re-initialised, IG's completeness gap, the randomisation
flag); the curves table one row per point of every curve.
"""

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from cnnviz.gui.panes.attribution.jobs import PanelResult
from cnnviz.gui.panes.attribution.map_grid import final_record, insensitive

METRIC_COLUMNS = ("map", "method", "target", "class", "layer", "parameters", "deletion_auc", "insertion_auc",
                  "random_spearman", "random_ssim", "completeness_gap", "insensitive_to_weights")
CURVE_COLUMNS = ("map", "method", "target", "curve", "x", "value", "layers")


def _number(value: object) -> str:
    return "" if value is None else repr(float(value))  # type: ignore[arg-type]


def metrics_csv(results: Sequence[PanelResult], class_name: Callable[[int], str]) -> str:
    """The metrics of ``results`` (one row each, numbered from 1) as CSV text; empty cells where a
    metric is not computed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(METRIC_COLUMNS)
    for number, result in enumerate(results, 1):
        key, a, record = result.key, result.attribution, final_record(result)
        params = a.params if a is not None else key.kwargs
        writer.writerow([number, key.method, key.target, class_name(key.target), key.layer or "",
                         json.dumps(params, sort_keys=True, default=str),
                         _number(result.deletion.auc if result.deletion is not None else None),
                         _number(result.insertion.auc if result.insertion is not None else None),
                         _number(record.spearman if record is not None else None),
                         _number(record.ssim if record is not None else None),
                         _number(a.completeness_gap if a is not None else None),
                         "" if record is None else str(insensitive(result)).lower()])
    return out.getvalue()


def curves_csv(results: Sequence[PanelResult]) -> str:
    """Every point of every curve of ``results`` as CSV: deletion and insertion (x: share of pixels
    changed, value: target probability) and randomisation (x: step, 0 for the loaded model; value:
    Spearman ρ or SSIM with the original map, with the layers re-initialised so far)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CURVE_COLUMNS)
    for number, result in enumerate(results, 1):
        key = result.key
        for name in ("deletion", "insertion"):
            curve = getattr(result, name)
            if curve is not None:
                for x, p in zip(np.asarray(curve.fractions), np.asarray(curve.probabilities)):
                    writer.writerow([number, key.method, key.target, name, repr(float(x)), repr(float(p)), ""])
        for step, record in enumerate(result.randomisation or ()):
            layers = " ".join(record.layers)
            for name in ("spearman", "ssim"):
                writer.writerow([number, key.method, key.target, f"randomisation_{name}", step,
                                 repr(float(getattr(record, name))), layers])
    return out.getvalue()


def file_word(method: str) -> str:
    """``method`` as a file name part ("gradcam++" -> "gradcamplusplus")."""
    return method.replace("+", "plus")


def map_arrays(results: Sequence[PanelResult]) -> dict[str, np.ndarray]:
    """Each computed map [H, W] (float32) as ``<n>-<method>-class<target>`` (see :func:`file_word`), for
    .npy files."""
    return {f"{n}-{file_word(r.key.method)}-class{r.key.target}": r.attribution.map.numpy()
            for n, r in enumerate(results, 1) if r.attribution is not None}


def save_data(results: Sequence[PanelResult], path: str | Path, class_name: Callable[[int], str]) -> list[Path]:
    """Write the maps as ``<stem>-<name>.npy`` (see :func:`map_arrays`) and ``<stem>-metrics.csv``,
    ``<stem>-curves.csv`` beside ``path`` (a suffix is dropped); returns the paths written. Raises OSError."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".npy", ".csv", ".png") else path
    written = []
    for name, array in map_arrays(results).items():
        target = stem.with_name(f"{stem.name}-{name}.npy")
        np.save(target, array)
        written.append(target)
    return written + write_tables(results, stem, class_name)


def write_tables(results: Sequence[PanelResult], stem: Path, class_name: Callable[[int], str]) -> list[Path]:
    """Write ``<stem>-metrics.csv`` and ``<stem>-curves.csv`` (``stem``: a path without suffix); returns
    both paths. Raises OSError."""
    paths = [stem.with_name(f"{stem.name}-metrics.csv"), stem.with_name(f"{stem.name}-curves.csv")]
    paths[0].write_text(metrics_csv(results, class_name), encoding="utf-8")
    paths[1].write_text(curves_csv(results), encoding="utf-8")
    return paths
