"""What the Feature space pane exports besides its figure: CSV of the map, the retrieval scores and the
pooling comparison (the tables themselves come from :mod:`cnnviz.core.per_dataset.feature_tables`)."""

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from cnnviz.analyses.feature_space import FeatureSpaceResult
from cnnviz.core.per_dataset import feature_tables
from cnnviz.core.per_dataset.retrieval import PoolingScore
from cnnviz.gui.panes.save_dialog import save_with_dialog


def map_table(result: FeatureSpaceResult | None) -> str:
    """The map's CSV (index, file, label, x, y); ValueError without a map."""
    if result is None:
        raise ValueError("there is no map to export")
    return feature_tables.map_csv(result.features, result.embedding.xy)


def scores_table(result: FeatureSpaceResult | None) -> str:
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


class MapExports(QObject):
    """The CSV exports of the map ``current()`` (None: none) and the pooling ``comparison()``; ``owner``
    parents the file dialogs, ``report(text)`` says what was saved."""

    def __init__(self, owner: QWidget, current: Callable[[], FeatureSpaceResult | None],
                 comparison: Callable[[], Sequence[PoolingScore]], report: Callable[[str], None]) -> None:
        super().__init__(owner)
        self.owner, self.current, self.comparison, self.report = owner, current, comparison, report

    def name(self) -> str:
        """The file name stem an export suggests: ``features-<layer>-<pooling>-<method>``."""
        result = self.current()
        if result is None:
            return "features"
        return f"features-{result.features.layer}-{result.features.pooling}-{result.embedding.method}"

    def map_csv(self, path: str | Path) -> Path:
        """Write the current map's coordinates and labels as CSV to ``path``."""
        return write(path, map_table(self.current()))

    def scores_csv(self, path: str | Path) -> Path:
        """Write the current map's retrieval scores as CSV to ``path``."""
        return write(path, scores_table(self.current()))

    def comparison_csv(self, path: str | Path) -> Path:
        """Write the pooling comparison as CSV to ``path``."""
        return write(path, comparison_table(self.comparison()))

    def beside(self, png: Path) -> list[Path]:
        """The current map's CSV beside an exported figure ``png`` (``<stem>-map.csv``)."""
        if self.current() is None:
            return []
        return [self.map_csv(png.with_name(f"{png.stem}-map.csv"))]

    def ask(self, what: str) -> Path | None:
        """Ask where to save the ``"map"``, ``"scores"`` or ``"poolings"`` CSV and write it there."""
        tables = {"map": lambda: map_table(self.current()), "scores": lambda: scores_table(self.current()),
                  "poolings": lambda: comparison_table(self.comparison())}
        return ask_and_write(self.owner, what, self.name(), tables[what], self.report)
