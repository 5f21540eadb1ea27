"""The settings column of the Deep dream pane: objective, step, octaves, regularisation, start, size
and the layer cycle, in collapsible sections (:attr:`DreamControls.sections`): the common settings
(layer, objective, step size, iterations, octaves) open, the rest collapsed.

Each section is a stacked :class:`~cnnviz.gui.widgets.settings_form.SettingsForm` of the dream analysis's
:class:`~cnnviz.analyses.dream.Settings` fields (:data:`SECTIONS`); the pane's own controls are the layer
picker, the class (the app's target), a log slider for the step size, the guide image among the samples
or an opened file, and the layer cycle table (:class:`CycleEditor`). :meth:`DreamControls.settings` builds
whole new frozen settings of them; ``changed()`` is emitted whenever the user changes one, so the pane can
swap the new settings into the running dream, which reads them from its next step.
"""

from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from cnnviz.analyses.dream import Settings, parse_cycle
from cnnviz.core.data import images
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.widgets.collapsible import Section
from cnnviz.gui.widgets.control_values import Control, Custom
from cnnviz.gui.widgets.dialogs import show_error
from cnnviz.gui.widgets.layer_picker import LayerChoice, LayerPicker
from cnnviz.gui.widgets.log_spin_box import LogSlider, LogSpinBox
from cnnviz.gui.widgets.settings_form import SettingsForm

OBJECTIVE_TITLES = {
    "l2": ("L2 norm ‖a‖²", "Maximise the squared L2 norm of the whole layer response"),
    "channel": ("One channel", "Maximise the mean activation of one channel"),
    "class": ("Class logit", "Maximise one class's pre-softmax score (the whole network runs)"),
    "guided": ("Guide image", "Maximise the dot product with the layer's response to a guide image"),
}
TITLES = {"objective": {key: title for key, (title, _tip) in OBJECTIVE_TITLES.items()},
          "start": {"image": "Current image", "uniform": "Uniform noise", "gaussian": "Gaussian noise"},
          "work_at": {"model": "Model input size", "full": "Full image resolution"}}
"""Shown titles of the combo boxes' values, by field."""
SECTIONS = {
    "Objective": ("objective", "channel", "squared", "guide", "best_match", "prob_every"),
    "Step and octaves": ("step_size", "normalize", "iterations", "octaves", "octave_scale"),
    "Regularisation": ("jitter", "blur_every", "blur_sigma", "decay", "clamp"),
    "Start and size": ("start", "seed", "work_at", "tile", "overlap"),
    "Layer cycle": ("cycle",),
}
"""The settings column's sections and the fields of each, in order (the layer and class are added to the
first)."""
EXPANDED = ("Objective", "Step and octaves")


def _row_of(rows: QFormLayout, control: Control) -> int:
    """The row of ``rows`` that holds ``control``."""
    position = cast(tuple[int, QFormLayout.ItemRole], rows.getWidgetPosition(cast(QWidget, control)))
    return position[0]


def _take(rows: QFormLayout, control: Control) -> tuple[int, QWidget, QLabel | None]:
    """Take the row that holds ``control`` out of ``rows`` (its widgets are kept): the row's index, the control
    and its label (None for a check box)."""
    widget = cast(QWidget, control)
    row, label = _row_of(rows, widget), cast(QLabel | None, rows.labelForField(widget))
    rows.takeRow(row)
    return row, widget, label


def _side_by_side(*widgets: QWidget) -> QWidget:
    """``widgets`` in one row, sharing its width."""
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1)
    return holder


class CycleEditor(QWidget):
    """A table of (layer, step size) rows used in turn, one per step; empty: off.

    Emits ``changed()`` when a row is added, removed or edited.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choices: list[LayerChoice] = []
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Layer", "Step size"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMaximumHeight(110)
        self.table.setToolTip("Layers and step sizes used in turn, one per step (empty: use the layer "
                              "and step size above)")
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add a row with the layer and step size above")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected row (or the last)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.remove_button.clicked.connect(self.remove_row)

    def set_choices(self, choices: list[LayerChoice]) -> None:
        """Offer ``choices`` as layers; clears the rows (they belonged to the previous model)."""
        self.choices = list(choices)
        self.table.setRowCount(0)
        self.changed.emit()

    def add_row(self, layer: str, step_size: float) -> None:
        """Append a row for ``layer`` with ``step_size``."""
        if not self.choices:
            return
        row = self.table.rowCount()
        self.table.insertRow(row)
        combo = QComboBox()
        for choice in self.choices:
            combo.addItem(choice.name, choice.name)
        combo.setCurrentIndex(max(0, combo.findData(layer)))
        spin = LogSpinBox()
        spin.setValue(step_size)
        combo.currentIndexChanged.connect(lambda _index: self.changed.emit())
        spin.valueChanged.connect(lambda _value: self.changed.emit())
        self.table.setCellWidget(row, 0, combo)
        self.table.setCellWidget(row, 1, spin)
        self.changed.emit()

    def remove_row(self) -> None:
        """Remove the selected row, or the last one."""
        rows = self.table.rowCount()
        if not rows:
            return
        selected = self.table.currentRow()
        self.table.removeRow(selected if 0 <= selected < rows else rows - 1)
        self.changed.emit()

    def items(self) -> list[str]:
        """The rows as the dream analysis's ``cycle`` items, ``layer:step_size``."""
        return [f"{layer}:{step}" for layer, step in self.pairs()]

    def set_pairs(self, pairs: Any, choices: list[LayerChoice]) -> None:
        """Offer ``choices`` and make ``pairs`` ([layer, step size] each, layers among ``choices``) the rows;
        raises ValueError for anything else."""
        try:
            rows = [(str(layer), float(step)) for layer, step in pairs]
        except (TypeError, ValueError):
            raise ValueError(f"expected [layer, step size] pairs, not {pairs!r}") from None
        unknown = [layer for layer, _step in rows if layer not in {choice.name for choice in choices}]
        if unknown:
            raise ValueError(f"no layer {', '.join(map(repr, unknown))} to cycle through")
        self.set_choices(choices)
        for layer, step in rows:
            self.add_row(layer, step)

    def pairs(self) -> list[tuple[str, float]]:
        """The (layer, step size) rows, in order."""
        # add_row puts a layer combo box in column 0 and a step size box in column 1 of every row.
        return [(cast(QComboBox, self.table.cellWidget(row, 0)).currentData(),
                 cast(LogSpinBox, self.table.cellWidget(row, 1)).value())
                for row in range(self.table.rowCount())]


class DreamControls(QWidget):
    """Every setting of a dream run; ``picker`` is the pane's layer picker, shown at the top.

    Signal ``changed()``: a setting the running dream reads changed. ``forms`` maps each section's title to
    its :class:`~cnnviz.gui.widgets.settings_form.SettingsForm`, ``sections`` to its
    :class:`~cnnviz.gui.widgets.collapsible.Section`; ``target`` is the class box, ``cycle`` the cycle table.
    """

    changed = Signal()

    def __init__(self, picker: LayerPicker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picker = picker
        picker.setMinimumContentsLength(8)  # fits the narrow column beside a scroll bar
        self._vector_layer = False
        self.target = QComboBox()
        self.target.setToolTip("Class whose logit the class objective maximises; its probability is plotted")
        self.target.setMaxVisibleItems(25)
        self.open_guide = QPushButton("Open file…")
        self.open_guide.setToolTip("Use an image file as guide")
        self.cycle = CycleEditor()
        guide = QComboBox()
        for sample in images.samples():
            guide.addItem(sample.title, str(sample.path))
        shrinkable(self.target, guide)
        overrides: dict[str, Control] = {
            "step_size": LogSlider(1e-6, 10.0, 0.02), "guide": guide,
            "cycle": Custom(self.cycle.items, self._set_cycle, self.cycle.changed)}
        initial = Settings(guide=str(guide.itemData(0) or ""))
        self.forms = {title: SettingsForm(Settings, fields=names, titles=TITLES, initial=initial, stacked=True,
                                          overrides={n: overrides[n] for n in names if n in overrides})
                      for title, names in SECTIONS.items()}
        self.sections = self._lay_out()
        self._tune()
        self._connect()
        self._update_enabled()

    def _lay_out(self) -> dict[str, Section]:
        """Each form in its section (rows paired by :meth:`_pair_rows`), the cycle table in the last."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(2)
        sections = {}
        for title, form in self.forms.items():
            box = Section(title, expanded=title in EXPANDED)
            body = QVBoxLayout(box.content())
            body.setContentsMargins(6, 0, 0, 4)
            body.addWidget(form)
            sections[title] = box
            layout.addWidget(box)
        body.addWidget(self.cycle)
        layout.addStretch(1)
        self._pair_rows()
        labels = [label for form in self.forms.values() for label in form.labels.values()
                  if label is not None and not label.isHidden()]
        width = max(label.sizeHint().width() for label in labels)
        for label in labels:  # one label column across the sections
            label.setMinimumWidth(width)
        return sections

    def _pair_rows(self) -> None:
        """The layer and class rows in the objective section (the class alone on its row, its squared-logit check
        box under it), and the best-match check box and the octave scale beside the controls they go with, so that
        the common settings fit a laptop's height."""
        rows = cast(QFormLayout, self.forms["Objective"].layout())
        rows.insertRow(0, "Layer", self.picker)
        _row, squared, _label = _take(rows, self.widget("squared"))
        rows.insertRow(_row_of(rows, self.widget("guide")), "Class", self.target)  # class names are long
        rows.insertRow(_row_of(rows, self.widget("guide")), "", squared)
        _row, best_match, _label = _take(rows, self.widget("best_match"))
        rows.insertRow(_row_of(rows, self.widget("guide")) + 1, "", _side_by_side(self.open_guide, best_match))
        short = self.forms["Objective"].label("prob_every")
        if short is not None:
            short.setText("Probability")  # the column is narrow; the tooltip tells the rest
        steps = cast(QFormLayout, self.forms["Step and octaves"].layout())
        _row, scale, scale_label = _take(steps, self.widget("octave_scale"))
        row, octaves, label = _take(steps, self.widget("octaves"))
        steps.insertRow(row, label or "", _side_by_side(octaves, scale))
        if scale_label is not None:
            scale_label.hide()  # the octaves' row names both

    def _tune(self) -> None:
        """The generated controls' extras: tooltips of the objectives, "never" for 0 steps, prefixes."""
        objective = cast(QComboBox, self.widget("objective"))
        for index in range(objective.count()):
            objective.setItemData(index, OBJECTIVE_TITLES[objective.itemData(index)][1], Qt.ItemDataRole.ToolTipRole)
        for name in ("prob_every", "blur_every"):
            spin = cast(QSpinBox, self.widget(name))
            spin.setSpecialValueText("never")
            spin.setPrefix("every ")
        shrinkable(objective, cast(QWidget, self.widget("start")), cast(QWidget, self.widget("work_at")))

    def _connect(self) -> None:
        for form in self.forms.values():
            form.changed.connect(self._changed)
        self.target.currentIndexChanged.connect(self._changed)
        self.open_guide.clicked.connect(self._open_guide_file)
        self.cycle.add_button.clicked.connect(
            lambda: self.cycle.add_row(self.picker.currentData() or "", self.value("step_size")))

    def form_of(self, name: str) -> SettingsForm:
        """The form that holds field ``name`` (KeyError naming the fields for another)."""
        form = next((form for form in self.forms.values() if name in form.entries), None)
        if form is None:
            raise KeyError(f"{name}: not a dream setting of this pane; fields: {', '.join(self.values())}")
        return form

    def widget(self, name: str) -> Control:
        """The control of field ``name``."""
        return self.form_of(name).widget(name)

    def value(self, name: str) -> Any:
        """The typed value of field ``name``."""
        return self.form_of(name).value(name)

    def values(self) -> dict[str, Any]:
        """Every field's typed value, by name (the layer and target are not among them)."""
        return {name: value for form in self.forms.values() for name, value in form.values().items()}

    def settings(self, layer: str) -> Settings:
        """Whole new frozen settings of the controls for ``layer`` and the chosen class; raises ValueError
        naming the field for settings that do not go together."""
        return Settings(**self.values(), layer=layer, target=self.target.currentData())

    def register(self, registry: Any) -> None:
        """Register every field of every form in ``registry`` (a pane's settings registry)."""
        for form in self.forms.values():
            form.register(registry)

    def set_classes(self, names: list[str], target: int) -> None:
        """List the class ``names`` and select ``target`` (-1: the first)."""
        self.target.blockSignals(True)
        self.target.clear()
        for index, name in enumerate(names):
            self.target.addItem(f"{index}: {name}", index)
        self.target.setCurrentIndex(max(0, min(target, len(names) - 1)))
        self.target.blockSignals(False)

    def set_target(self, target: int) -> None:
        """Select class ``target`` (programmatic; emits ``changed``)."""
        if 0 <= target < self.target.count():
            self.target.setCurrentIndex(target)

    def set_channels(self, channels: int) -> None:
        """Let the channel box range over a layer's ``channels``."""
        self.forms["Objective"].set_range("channel", 0, max(0, channels - 1))

    def set_vector_layer(self, vector: bool) -> None:
        """Whether the dreamed layer has no spatial grid (e.g. a fully connected layer): octaves, tiles and
        full resolution do not apply to it (the analysis dreams one octave at the model's input size), so
        their controls are disabled."""
        self._vector_layer = vector
        self._update_enabled()

    def guide_path(self) -> str:
        """The file of the chosen guide image (a sample's or an opened file), "" for none."""
        return str(self.value("guide") or "")

    def set_guide_file(self, path: str | Path) -> None:
        """Use the image file ``path`` as guide: listed (once) and chosen (raises ImageLoadError)."""
        images.load_image(path)
        guide = cast(QComboBox, self.widget("guide"))
        if guide.findData(str(path)) < 0:
            guide.addItem(Path(path).name, str(path))
        guide.setCurrentIndex(guide.findData(str(path)))

    @property
    def full_resolution(self) -> bool:
        """True when the dream runs on the original image at its own resolution (never for a vector layer)."""
        return self.value("work_at") == "full" and not self._vector_layer

    def _set_cycle(self, items: Any) -> None:
        """Show the cycle ``items`` (``layer:step_size`` each); ValueError for others or unknown layers."""
        self.cycle.set_pairs(parse_cycle(tuple(map(str, items))), self.picker.choices)

    def _changed(self, *_args: object) -> None:
        self._update_enabled()
        self.changed.emit()

    def _update_enabled(self) -> None:
        objective = self.value("objective")
        enabled = {"channel": objective == "channel", "squared": objective == "class",
                   "guide": objective == "guided", "best_match": objective == "guided",
                   "blur_sigma": self.value("blur_every") > 0,
                   "seed": self.value("start") != "image" or self.value("jitter") > 0,
                   "tile": self.full_resolution, "overlap": self.full_resolution,
                   "octaves": not self._vector_layer, "octave_scale": not self._vector_layer,
                   "work_at": not self._vector_layer}
        for name, on in enabled.items():
            cast(QWidget, self.widget(name)).setEnabled(on)
        self.open_guide.setEnabled(objective == "guided")
        self.forms["Start and size"].set_range("overlap", 0, self.value("tile") - 1)

    def _open_guide_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Guide image", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff)")
        if not path:
            return
        try:
            self.set_guide_file(path)
        except images.ImageLoadError as error:
            show_error(self, "Could not open the guide image", str(error))
