"""The Invariance pane's computed curves as JSON values, for sessions: each :class:`Curve` with its name,
colour and :class:`~cnnviz.core.per_image.invariance.InvarianceResult` (arrays as lists, NaN as null)."""

import math
from typing import Any

import numpy as np

from cnnviz.core.per_image import invariance
from cnnviz.core.per_image.invariance import InvarianceResult
from cnnviz.gui.panes.invariance.plots import Curve


def _numbers(array: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(float(v)) else None for v in np.asarray(array, dtype=np.float64)]


def _array(values: Any, length: int, what: str) -> np.ndarray:
    if not isinstance(values, list) or len(values) != length:
        raise ValueError(f"{what} should be a list of {length} numbers")
    try:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} should hold numbers") from None


def curve_to_dict(curve: Curve) -> dict[str, Any]:
    """``curve`` as a JSON-ready dict."""
    r = curve.result
    return {"name": curve.name, "colour": curve.colour, "kind": r.kind, "values": _numbers(r.values),
            "prob": _numbers(r.prob), "top_class": [int(v) for v in r.top_class],
            "distance": {k: _numbers(v) for k, v in r.distance.items()},
            "relative_distance": {k: _numbers(v) for k, v in r.relative_distance.items()},
            "target": int(r.target), "crop": bool(r.crop), "done": int(r.done), "total": int(r.total),
            "classes": list(r.classes)}


def curve_from_dict(value: Any) -> Curve:
    """The curve :func:`curve_to_dict` made; raises ValueError for anything else."""
    try:
        kind, n = str(value["kind"]), len(value["values"])
        if kind not in invariance.KINDS:
            raise ValueError(f"unknown transform {kind!r}")
        values = _array(value["values"], n, "values")
        result = InvarianceResult(
            kind=kind, values=values, prob=_array(value["prob"], n, "prob"),
            top_class=np.array([int(v) for v in value["top_class"]], dtype=np.int64),
            distance={str(k): _array(v, n, f"distance {k}") for k, v in dict(value["distance"]).items()},
            relative_distance={str(k): _array(v, n, f"relative distance {k}")
                               for k, v in dict(value["relative_distance"]).items()},
            target=int(value["target"]), crop=bool(value["crop"]), done=int(value["done"]),
            total=int(value["total"]), classes=[str(c) for c in value["classes"]])
        if len(result.top_class) != n:
            raise ValueError(f"top_class should be a list of {n} classes")
        return Curve(str(value["name"]), result, str(value["colour"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a saved invariance curve: {error}") from None
