"""What the Feature space pane exports besides its figure: CSV of the map, the retrieval scores and the
pooling comparison (the tables themselves come from :mod:`cnnviz.core.per_dataset.feature_tables`)."""

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QWidget

from cnnviz.core.per_dataset import feature_tables
from cnnviz.core.per_dataset.retrieval import PoolingScore
from cnnviz.gui.panes.features.job import MapResult
from cnnviz.gui.panes.save_dialog import save_with_dialog


def map_table(result: MapResult | None) -> str:
    """The map's CSV (index, file, label, x, y); ValueError without a map."""
    if result is None:
        raise ValueError("there is no map to export")
    return feature_tables.map_csv(result.features, result.embedding.xy)


def scores_table(result: MapResult | None) -> str:
    """The map's retrieval scores as CSV; ValueError without scores."""
    if result is None or result.scores is None:
        raise ValueError("there are no retrieval scores to export")
    return feature_tables.scores_csv(result.scores)


def comparison_table(comparison: Sequence[PoolingScore]) -> str:
    """The pooling comparison as CSV; ValueError without one."""
    if not comparison:
        raise ValueError("there is no pooling comparison to export")
    return feature_tables.pooling_csv(comparison)


def write(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path``; returns the path."""
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path


def ask_and_write(parent: QWidget, what: str, stem: str, table: Callable[[], str],
                  report: Callable[[str], None]) -> Path | None:
    """Ask for a CSV file (suggested ``cnnviz-<stem>-<what>.csv``) and write ``table()`` there; a failure
    is shown in a dialog. Returns the path written, None if cancelled or failed."""
    written = save_with_dialog(parent, f"Export the {what} as CSV", f"cnnviz-{stem}-{what}.csv", "CSV (*.csv)",
                               lambda path: write(path, table()), "Could not export the CSV")
    if written is None:
        return None
    report(f"Saved {written}")
    return written
