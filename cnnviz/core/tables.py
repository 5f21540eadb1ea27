"""CSV text: one helper for tables of rows and one for a numeric array (the data written beside figures).

Every CSV the core and the analyses write goes through :func:`csv_text`: comma-separated, ``\\n`` line ends,
a header row first, cells quoted where they hold a comma, a quote or a line break (as Python's :mod:`csv`
reads them back). How a number is written is chosen per table (:func:`cell`).
"""

import csv
import io
import math
from collections.abc import Iterable, Sequence

import numpy as np

MAX_CSV_CELLS = 2_000_000
"""Largest array (in values) written as CSV; bigger ones go to ``.npy`` only."""

ROUND_TRIP = None
"""``digits`` for floats written as the shortest text that reads back as the same float64 (``repr``)."""


def cell(value: object, *, digits: int | None = 9, nan: str = "nan") -> str:
    """One CSV cell's text: a float with ``digits`` significant digits (9 is enough to read a float32 back;
    :data:`ROUND_TRIP` for the shortest text that reads back as the same float64), NaN as ``nan`` (e.g. ``""``
    to leave it empty), None as ``""`` (as :mod:`csv` writes it), anything else (ints, text) as ``str``."""
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return nan
        return repr(number) if digits is None else f"{number:.{digits}g}"
    return "" if value is None else str(value)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]], *, digits: int | None = 9,
             nan: str = "nan") -> str:
    """A CSV table (``\\n`` line ends, quoted where needed) with ``header`` and ``rows``, each value written
    by :func:`cell` with ``digits`` and ``nan``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([cell(v, digits=digits, nan=nan) for v in row] for row in rows)
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
