"""Where a dataset comes from, as the Dataset and Feature space panes show it: "Folder…", "Fashion-MNIST test"
(only where that dataset is installed), a summary of the dataset (images, classes, skipped files) and a
button listing the skipped files with their reasons (:class:`SourceRow`)."""

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.data import datasets
from cnnviz.core.data.datasets import ImageDataset

MAX_TIP_LINES = 30
SUMMARY_WIDTH = 80
"""Least width of the summary, in pixels."""


def summary_text(ds: ImageDataset) -> str:
    """"name: N images, K classes" (or "no labels"), with the count of skipped files."""
    classes = f"{len(ds.classes)} classes" if ds.labels is not None else "no labels"
    skipped = f", {len(ds.skipped)} skipped" if ds.skipped else ""
    return f"<b>{escape(ds.name)}</b>: {len(ds)} images, {classes}{skipped}"


def skipped_lines(ds: ImageDataset) -> list[str]:
    """One line per skipped file: "path: reason"."""
    return [f"{s.path}: {s.reason}" for s in ds.skipped]


class SkippedDialog(QDialog):
    """The files of a dataset that were left out, with the reason for each (deleted when closed)."""

    def __init__(self, ds: ImageDataset, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"Skipped files of {ds.name}")
        self.text = QPlainTextEdit("\n".join(skipped_lines(ds)))
        self.text.setReadOnly(True)
        self.text.setMinimumSize(520, 240)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{len(ds.skipped)} files under {escape(str(ds.root))} could not be used:"))
        layout.addWidget(self.text)
        layout.addWidget(buttons)


class SourceRow(QWidget):
    """The dataset source controls; emits ``folder_requested()`` and ``fashion_mnist_requested()``."""

    folder_requested = Signal()
    fashion_mnist_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: ImageDataset | None = None
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("Scan an image folder: one subfolder per class, or a flat folder "
                                      "(no labels); subfolders are searched")
        self.mnist_button = QPushButton("Fashion-MNIST test")
        self.mnist_button.setToolTip("The installed Fashion-MNIST test set (10 000 labelled images)")
        self.mnist_button.setVisible(datasets.fashion_mnist_available())
        self.summary = QLabel("Choose an image folder to scan.")
        self.summary.setMinimumWidth(SUMMARY_WIDTH)
        self.skipped_button = QPushButton("Skipped…")
        self.skipped_button.setToolTip("List the files that were left out, with the reasons")
        self.skipped_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.folder_button, self.mnist_button):
            layout.addWidget(widget)
        layout.addWidget(self.summary, 1)
        layout.addWidget(self.skipped_button)
        self.folder_button.clicked.connect(self.folder_requested.emit)
        self.mnist_button.clicked.connect(self.fashion_mnist_requested.emit)
        self.skipped_button.clicked.connect(self.show_skipped)

    def show_dataset(self, ds: ImageDataset | None) -> None:
        """Summarise ``ds`` (None: none chosen)."""
        self.dataset = ds
        if ds is None:
            self.summary.setText("Choose an image folder to scan.")
            self.summary.setToolTip("")
            self.skipped_button.hide()
            return
        self.summary.setText(summary_text(ds))
        lines = skipped_lines(ds)
        more = [f"… and {len(lines) - MAX_TIP_LINES} more"] if len(lines) > MAX_TIP_LINES else []
        self.summary.setToolTip("\n".join([str(ds.root), *lines[:MAX_TIP_LINES], *more]))
        self.skipped_button.setText(f"Skipped ({len(lines)})…")
        self.skipped_button.setVisible(bool(lines))

    def show_skipped(self) -> SkippedDialog | None:
        """Open the list of skipped files (window-modal); None when nothing was skipped."""
        if self.dataset is None or not self.dataset.skipped:
            return None
        dialog = SkippedDialog(self.dataset, self)
        dialog.open()
        return dialog
