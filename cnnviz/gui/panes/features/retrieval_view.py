"""The retrieval side of the Feature space pane: the nearest images to the current image (thumbnails
with similarity and ✓/✗ for the same label), the retrieval scores of the map's features (mAP,
precision at 1/5/15, AP per class) and the pooling comparison table."""

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QGridLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.per_dataset.features import Features
from cnnviz.core.per_dataset.retrieval import Match, PoolingScore, RetrievalScores
from cnnviz.gui.widgets.layouts import wrapped_label
from cnnviz.gui.widgets.thumbnails import ThumbGrid, Tile

TICK, CROSS = "✓", "✗"


def match_caption(match: Match, query_label: int | None) -> str:
    """"0.873 ✓": the similarity and whether the match has the query's label (nothing when unknown)."""
    mark = "" if match.label is None or query_label is None else (TICK if match.label == query_label else CROSS)
    return f"{match.similarity:.3f} {mark}".strip()


def match_tip(features: Features, match: Match) -> str:
    """File name and class of a match."""
    row = features.row_of(match.image)
    path = features.paths[row] if row is not None else str(match.image)
    label = "" if match.label is None else f" · {features.classes[match.label]}"
    return f"{path}{label} · similarity {match.similarity:.4f}"


def score_rows(scores: RetrievalScores) -> list[tuple[str, str]]:
    """(metric, value) rows of the scores table."""
    rows = [("mAP", f"{scores.mean_average_precision:.4f}")]
    rows += [(f"precision@{k}", f"{value:.4f}") for k, value in scores.precision_at.items()]
    rows += [(f"AP {name}", f"{value:.4f}") for name, value in scores.per_class.items()]
    return rows


def fill_table(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    """Put ``rows`` of text into ``table`` (row count adjusted)."""
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))


def make_table(headers: Sequence[str]) -> QTableWidget:
    """A read-only table with ``headers``, columns stretched."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.setMinimumHeight(50)
    return table


class RetrievalView(QWidget):
    """Query, nearest images, scores and pooling comparison; the pane connects the buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.query_label = wrapped_label()
        self.matches = ThumbGrid()
        self.matches.setMinimumHeight(80)
        self.kept_label = wrapped_label()
        self.kept_matches = ThumbGrid()
        self.kept_matches.setMinimumHeight(80)
        self.kept_matches.setToolTip("The same query in the kept map (another model or layer): before and after")
        self.scores_table = make_table(("Retrieval score", "Value"))
        self.scores_table.setToolTip("Every labelled image as a query against all the others")
        self.compare_button = QPushButton("Compare poolings")
        self.compare_button.setToolTip("Retrieval scores of the layer with average, max, GeM and flatten pooling")
        self.compare_table = make_table(("Pooling", "Size", "mAP", "ms / query"))
        self.scores_csv_button = QPushButton("Scores CSV…")
        self.scores_csv_button.setToolTip("Save the retrieval scores as CSV")
        self.compare_csv_button = QPushButton("Poolings CSV…")
        self.compare_csv_button.setToolTip("Save the pooling comparison as CSV")
        buttons = QGridLayout()  # two rows, so the titles stay whole in a narrow column
        buttons.addWidget(self.compare_button, 0, 0, 1, 2)
        buttons.addWidget(self.scores_csv_button, 1, 0)
        buttons.addWidget(self.compare_csv_button, 1, 1)
        for button in (self.compare_button, self.scores_csv_button, self.compare_csv_button):
            button.setMinimumWidth(40)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.query_label)
        layout.addWidget(self.matches, 2)
        layout.addWidget(self.kept_label)
        layout.addWidget(self.kept_matches, 2)
        layout.addWidget(self.scores_table, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.compare_table, 1)
        self.show_kept(None, [], None, [], "")
        self.show_scores(None)
        self.show_comparison([])

    def show_matches(self, features: Features | None, matches: Sequence[Match], query_label: int | None,
                     pictures: Sequence, query: str) -> None:
        """Show ``matches`` of ``features`` (``pictures``: their thumbnails) for the query described by
        ``query``."""
        self.query_label.setText(query)
        if features is None:
            self.matches.show_tiles([])
            return
        self.matches.show_tiles([Tile(m.image, picture, match_caption(m, query_label), match_tip(features, m))
                                 for m, picture in zip(matches, pictures)])

    def show_kept(self, features: Features | None, matches: Sequence[Match], query_label: int | None,
                  pictures: Sequence, query: str) -> None:
        """Show the same query's ``matches`` in the kept map (hidden when ``features`` is None)."""
        self.kept_label.setText(query)
        self.kept_label.setVisible(features is not None)
        self.kept_matches.setVisible(features is not None)
        self.kept_matches.show_tiles([] if features is None else [
            Tile(m.image, picture, match_caption(m, query_label), match_tip(features, m))
            for m, picture in zip(matches, pictures)])

    def show_scores(self, scores: RetrievalScores | None, note: str = "") -> None:
        """Show ``scores`` (None: ``note`` says why there are none)."""
        fill_table(self.scores_table, score_rows(scores) if scores is not None else [("—", note)])
        self.scores_csv_button.setEnabled(scores is not None)

    def show_comparison(self, results: Sequence[PoolingScore]) -> None:
        """Fill the comparison table with ``results``."""
        fill_table(self.compare_table, [(r.pooling, str(r.size), f"{r.scores.mean_average_precision:.4f}",
                                         f"{r.seconds_per_query * 1000.0:.2f}") for r in results])
        self.compare_csv_button.setEnabled(bool(results))

    def clear(self) -> None:
        """Show nothing."""
        self.show_matches(None, [], None, [], "")
        self.show_kept(None, [], None, [], "")
        self.show_scores(None, "Compute a map to see the retrieval scores.")
        self.show_comparison([])
