"""The Export screenshot dialog: what to capture (window, tab or dock) and the PNG file name."""

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)


def default_folder() -> Path:
    """The user's pictures folder if it exists, else the home folder."""
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(pictures) if pictures and Path(pictures).is_dir() else Path.home()


class ExportDialog(QDialog):
    """Choose a capture target among ``targets`` (title -> key) and a file name, proposed in ``folder``
    (default :func:`default_folder`)."""

    def __init__(self, targets: dict[str, str], current: str, parent: QWidget | None = None, *,
                 folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export screenshot")
        self.target = QComboBox()
        for title, key in targets.items():
            self.target.addItem(title, key)
        self.target.setCurrentIndex(max(0, self.target.findData(current)))
        self.file = QLineEdit(str((folder or default_folder()) / f"cnnviz-{current}.png"))
        self.file.setMinimumWidth(380)
        browse = QPushButton("Browse…")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file, 1)
        file_row.addWidget(browse)
        layout = QFormLayout(self)
        layout.addRow("Capture", self.target)
        layout.addRow("File", file_row)
        layout.addRow(buttons)
        browse.clicked.connect(self._browse)
        self.target.currentIndexChanged.connect(self._rename)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

    def key(self) -> str:
        """The key of the chosen target (``"window"`` or a pane key)."""
        return str(self.target.currentData())

    def path(self) -> Path:
        """The chosen file, with ``.png`` added if it has no suffix."""
        path = Path(self.file.text().strip()).expanduser()
        return path if path.suffix else path.with_suffix(".png")

    def _rename(self) -> None:
        folder = self.path().parent
        self.file.setText(str(folder / f"cnnviz-{self.key()}.png"))

    def _browse(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, "Export screenshot", str(self.path()),
                                                    "PNG images (*.png)")
        if path:
            self.file.setText(path)
