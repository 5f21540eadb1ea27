"""CSV text: one helper for tables of rows and one for a numeric array (the data written beside figures)."""

import csv
import io
from collections.abc import Iterable, Sequence

import numpy as np

MAX_CSV_CELLS = 2_000_000
"""Largest array (in values) written as CSV; bigger ones go to ``.npy`` only."""


def cell(value: object) -> str:
    """One CSV cell: floats with 9 significant digits (enough to read a float32 back), the rest as text."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.9g}"
    return str(value)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV table (``\\n`` line ends, quoted where needed) with ``header`` and ``rows``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def array_csv(name: str, array: np.ndarray) -> str | None:
    """``array`` as CSV: a 1-D array as ``index,<name>`` rows, a 2-D one as ``row,<name>[0],…`` rows;
    None for other shapes, non-numeric arrays and more than :data:`MAX_CSV_CELLS` values."""
    values = np.asarray(array)
    if values.ndim not in (1, 2) or values.size > MAX_CSV_CELLS or values.dtype.kind not in "biuf":
        return None
    rows = values.reshape(len(values), -1).tolist() if values.size else []
    if values.ndim == 1:
        header = ["index", name]
    else:
        header = ["row", *(f"{name}[{j}]" for j in range(values.shape[1]))]
    return csv_text(header, ([i, *row] for i, row in enumerate(rows)))
