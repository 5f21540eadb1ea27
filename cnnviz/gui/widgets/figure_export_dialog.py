"""The *Export figure* dialog: the file, the formats, the width (mm or px), the DPI and the caption strip.

:class:`FigureExportDialog` only asks; :class:`~cnnviz.gui.widgets.figure_export.FigureExport` writes.
The chosen file's suffix is dropped: every format checked is written beside it under the same stem
(``fig.png``, ``fig.svg``, ``fig.pdf``, ``fig-<array>.npy``, ``fig-<array>.csv``).
"""

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from cnnviz.gui.widgets.figure_render import ExportOptions

FORMAT_TITLES = {"png": "PNG", "svg": "SVG", "pdf": "PDF", "npy": "data .npy", "csv": "data CSV"}
"""Every export format (file suffix → check box title), figures first."""
DATA_FORMATS = ("npy", "csv")
SUFFIXES = tuple(f".{suffix}" for suffix in FORMAT_TITLES)
MAX_WIDTH_MM = 2000.0
MAX_WIDTH_PX = 20000


def export_stem(path: str | Path) -> Path:
    """``path`` without a suffix of an export format (``fig.png`` → ``fig``; ``fig.v2`` stays)."""
    path = Path(path).expanduser()
    return path.with_suffix("") if path.suffix.lower() in SUFFIXES else path


@dataclass(frozen=True)
class ExportChoice:
    """What the dialog was answered: the file stem, the formats (suffixes) and the options."""

    stem: Path
    formats: tuple[str, ...]
    options: ExportOptions


class FigureExportDialog(QDialog):
    """Asks where and how to export a figure. ``suggested``: the file proposed; ``formats``: the
    formats checked at first (PNG when none of them is offered); ``data_formats``: the data formats the pane
    offers (others disabled)."""

    def __init__(self, suggested: Path, formats: tuple[str, ...], options: ExportOptions,
                 data_formats: tuple[str, ...] = DATA_FORMATS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export figure")
        self.file = QLineEdit(str(suggested))
        self.file.setMinimumWidth(380)
        self.browse_button = QPushButton("Browse…")
        self.checks = {suffix: QCheckBox(title) for suffix, title in FORMAT_TITLES.items()}
        for suffix, check in self.checks.items():
            offered = suffix not in DATA_FORMATS or suffix in data_formats
            check.setEnabled(offered)
            check.setChecked(offered and suffix in formats)
        if not self.formats():
            self.checks["png"].setChecked(True)
        self.width_spin = QDoubleSpinBox()
        self.unit_combo = QComboBox()
        self.unit_combo.addItems(["mm", "px"])
        self.dpi_spin = QSpinBox()
        self.dpi_spin.setRange(30, 2400)
        self.dpi_spin.setSuffix(" dpi")
        self.caption_check = QCheckBox("Caption strip under the figure (model, image, parameters)")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self._build()
        self.set_options(options)
        self.unit_combo.currentTextChanged.connect(self._unit_changed)
        self.browse_button.clicked.connect(lambda: self.browse())
        for check in self.checks.values():
            check.toggled.connect(self._update_save)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._update_save()

    def _build(self) -> None:
        file_row = QHBoxLayout()
        file_row.addWidget(self.file, 1)
        file_row.addWidget(self.browse_button)
        format_row = QHBoxLayout()
        for check in self.checks.values():
            format_row.addWidget(check)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_spin, 1)
        size_row.addWidget(self.unit_combo)
        size_row.addWidget(self.dpi_spin)
        layout = QFormLayout(self)
        layout.addRow("File", file_row)
        layout.addRow("Formats", format_row)
        layout.addRow("Width", size_row)
        layout.addRow("", self.caption_check)
        layout.addRow(self.buttons)

    def set_options(self, options: ExportOptions) -> None:
        """Show ``options`` (width in px when it gives one, else in mm)."""
        self.unit_combo.blockSignals(True)
        self.unit_combo.setCurrentText("px" if options.width_px else "mm")
        self.unit_combo.blockSignals(False)
        self._unit_changed(self.unit_combo.currentText(), options)
        self.dpi_spin.setValue(int(options.dpi))
        self.caption_check.setChecked(options.caption)

    def options(self) -> ExportOptions:
        """The options chosen."""
        dpi = self.dpi_spin.value()
        if self.unit_combo.currentText() == "px":
            return ExportOptions(dpi=dpi, width_px=int(self.width_spin.value()), caption=self.caption_check.isChecked())
        return ExportOptions(width_mm=self.width_spin.value(), dpi=dpi, caption=self.caption_check.isChecked())

    def formats(self) -> tuple[str, ...]:
        """The formats checked, in :data:`FORMAT_TITLES` order."""
        return tuple(suffix for suffix, check in self.checks.items() if check.isChecked() and check.isEnabled())

    def choice(self) -> ExportChoice:
        """The stem, formats and options chosen."""
        return ExportChoice(export_stem(self.file.text().strip()), self.formats(), self.options())

    def browse(self) -> None:
        """Ask for the file in a file dialog (its type, if it names a format, is checked too)."""
        path, _filter = QFileDialog.getSaveFileName(self, "Export figure", self.file.text(),
                                                    "Figures (*.png *.svg *.pdf);;All files (*)")
        if not path:
            return
        self.file.setText(path)
        suffix = Path(path).suffix.lower().lstrip(".")
        if suffix in self.checks and self.checks[suffix].isEnabled():
            self.checks[suffix].setChecked(True)

    def _unit_changed(self, unit: str, options: ExportOptions | None = None) -> None:
        current = options or self.options_for_unit_change(unit)
        self.width_spin.blockSignals(True)
        if unit == "px":
            self.width_spin.setDecimals(0)
            self.width_spin.setRange(16, MAX_WIDTH_PX)
            self.width_spin.setValue(current.pixel_width())
        else:
            self.width_spin.setDecimals(1)
            self.width_spin.setRange(10.0, MAX_WIDTH_MM)
            self.width_spin.setValue(current.physical_width_mm())
        self.width_spin.setSuffix(f" {unit}")
        self.width_spin.blockSignals(False)

    def options_for_unit_change(self, unit: str) -> ExportOptions:
        """The options shown before the unit changed to ``unit`` (the width in the other unit)."""
        dpi, width = self.dpi_spin.value(), self.width_spin.value()
        if unit == "px":
            return ExportOptions(width_mm=width, dpi=dpi)
        return ExportOptions(dpi=dpi, width_px=max(1, int(width)))

    def _update_save(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(bool(self.formats()))
