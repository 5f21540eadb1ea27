"""The controls of the Attribution pane: what to compare (methods side by side or one method for several
classes), which classes, and how the maps are drawn, as forms of the attribution analysis's
:class:`~cnnviz.analyses.attribution.Settings`.

:class:`CompareControls` holds the form of ``mode``, ``methods``, ``class_method`` and ``classes``: the method
check boxes (at most :data:`MAX_PANELS` checked) and, for the classes mode, the class pickers (:class:`ClassRow`)
are the pane's own controls of ``methods`` and ``classes``. :class:`DisplayRow` holds the form of ``display``,
``colormap`` and ``opacity``. They only hold choices; the pane decides what to compute.
"""

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from cnnviz.analyses.attribution import ABS_COLORMAP, MAX_MAPS, SIGNED_COLORMAP, Settings, method_title
from cnnviz.core.per_image import attribution
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.widgets.colormaps import ColormapPicker
from cnnviz.gui.widgets.control_values import Custom, Value
from cnnviz.gui.widgets.settings_form import SettingsForm

MAX_PANELS = MAX_MAPS
"""Most maps shown side by side."""
MODES = {"methods": "Methods side by side", "classes": "One method, several classes"}
DISPLAYS = {"abs": "Absolute", "signed": "Signed (0 at the centre)"}


@dataclass(frozen=True)
class Look:
    """How maps are drawn: ``display`` ("abs" or "signed"), ``colormap`` key and ``opacity`` in [0, 1]."""

    display: str
    colormap: str
    opacity: float


class ClassRow(QWidget):
    """Up to :data:`MAX_PANELS` class pickers. They follow the pane's target and the next most probable
    classes (``following``) until the user picks a class; *Top 4* follows again. ``changed`` on a user edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.following = True
        self.combos = [QComboBox() for _ in range(MAX_PANELS)]
        self.top_button = QPushButton(f"Top {MAX_PANELS}")
        self.top_button.setToolTip(f"The target class and the next most probable ones ({MAX_PANELS} in all)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Classes"))
        for number, combo in enumerate(self.combos, 1):
            combo.setToolTip(f"Target class of map {number}")
            combo.activated.connect(lambda _i: self._picked())
            layout.addWidget(combo, 1)
            shrinkable(combo)
        layout.addWidget(self.top_button)
        self.top_button.clicked.connect(lambda: self.follow())

    def set_classes(self, names: list[str]) -> None:
        """List the model's class ``names`` in every picker (as many pickers as classes, at most four)."""
        for number, combo in enumerate(self.combos):
            combo.blockSignals(True)
            combo.clear()
            for index, name in enumerate(names):
                combo.addItem(f"{index}: {name}", index)
            combo.setVisible(number < len(names))
            combo.blockSignals(False)
        self.following = True

    def targets(self) -> list[int]:
        """The classes picked (output indices), one per visible picker."""
        return [int(c.currentData()) for c in self.combos if not c.isHidden() and c.currentIndex() >= 0]

    def set_targets(self, targets: list[int]) -> None:
        """Pick ``targets`` (without ``changed``)."""
        for combo, target in zip(self.combos, targets):
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(target))
            combo.blockSignals(False)

    def picked(self) -> list[int]:
        """The ``classes`` setting: the classes picked, empty while the pickers follow the target."""
        return [] if self.following else self.targets()

    def follow(self) -> None:
        """Follow the target and the next most probable classes again (as *Top 4*; emits ``changed``)."""
        self.following = True
        self.changed.emit()

    def _picked(self) -> None:
        self.following = False
        self.changed.emit()


def class_indices(classes: Value, count: int) -> list[int]:
    """``classes`` (a list of output indices, or text separated by commas) checked against the ``count`` classes of
    the model; raises ValueError."""
    try:
        indices = [int(c) for c in (classes.split(",") if isinstance(classes, str) else classes)]
    except (TypeError, ValueError):
        raise ValueError(f"expected class indices, not {classes!r}") from None
    if not all(0 <= i < count for i in indices):
        raise ValueError(f"class indices run from 0 to {count - 1}, not {indices}")
    return indices


class CompareControls(QWidget):
    """The mode, the method check boxes (methods mode) or the method and classes (classes mode); ``form``: their
    :class:`SettingsForm`. ``changed`` when the user checks a method or picks classes (the form's ``changed``
    tells every change). ``class_names()``: the current model's class names (None without a model)."""

    changed = Signal()

    def __init__(self, class_names: Callable[[], list[str] | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._class_names = class_names
        self.checks = {m: QCheckBox(method_title(m)) for m in attribution.METHODS}
        self.class_row = ClassRow()
        methods = Custom(self.checked, self._set_methods, self.changed)
        classes = Custom(self.class_row.picked, self._set_classes, self.class_row.changed)
        titles = {"mode": MODES, "class_method": {m: method_title(m) for m in attribution.METHODS}}
        self.form = SettingsForm(Settings, fields=("mode", "class_method", "methods", "classes"),
                                 overrides={"methods": methods, "classes": classes}, titles=titles)
        self.mode_combo, self.method_combo = self.form.widget("mode"), self.form.widget("class_method")
        assert isinstance(self.mode_combo, QComboBox) and isinstance(self.method_combo, QComboBox)
        shrinkable(self.mode_combo, self.method_combo)
        self._lay_out()
        for box in self.checks.values():
            box.toggled.connect(lambda _on: self._checks_changed())
        self.class_row.changed.connect(self.changed.emit)
        self.form.changed.connect(lambda name: self._mode_changed() if name == "mode" else None)
        self._limit()
        self._mode_changed()

    def _lay_out(self) -> None:
        self.check_box_area = QWidget()
        grid = QGridLayout(self.check_box_area)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(2)
        columns = 4
        for number, (method, box) in enumerate(self.checks.items()):
            box.setToolTip(f"Show {method_title(method)} (at most {MAX_PANELS} methods)")
            grid.addWidget(box, number // columns, number % columns)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form, 0, 0)
        layout.addWidget(self.check_box_area, 1, 0)
        layout.addWidget(self.class_row, 2, 0)

    @property
    def mode(self) -> str:
        """``"methods"`` or ``"classes"``."""
        return str(self.form.value("mode"))

    @property
    def class_method(self) -> str:
        """The method of the classes mode."""
        return str(self.form.value("class_method"))

    def checked(self) -> list[str]:
        """The methods checked, in the core's order."""
        return [m for m, box in self.checks.items() if box.isChecked()]

    def set_checked(self, methods: list[str]) -> None:
        """Check ``methods`` (the first :data:`MAX_PANELS` the core offers) and uncheck the others,
        without ``changed``."""
        wanted = [m for m in methods if m in self.checks][:MAX_PANELS]
        for method, box in self.checks.items():
            box.blockSignals(True)
            box.setChecked(method in wanted)
            box.blockSignals(False)
        self._limit()

    def set_mode(self, mode: str) -> None:
        """Choose ``mode`` (the form emits ``changed`` if it changes)."""
        self.form.set_value("mode", mode)

    def set_class_method(self, method: str) -> None:
        """Choose the method of the classes mode (the form emits ``changed`` if it changes)."""
        self.form.set_value("class_method", method)

    def methods(self) -> list[str]:
        """The methods whose maps are shown: the checked ones, or the classes mode's method."""
        return self.checked() if self.mode == "methods" else [self.class_method]

    def follow_predictions(self, names: list[str], target: int, ranked: list[int]) -> None:
        """List the model's class ``names`` in the class pickers and, while they follow, pick the ``target`` and the
        next most probable classes (``ranked``: output indices, most probable first)."""
        row = self.class_row
        if row.combos[0].count() != len(names):
            row.set_classes(names)
        if row.following and target >= 0:
            row.set_targets([target, *(index for index in ranked if index != target)][:MAX_PANELS])

    def _set_methods(self, methods: Value) -> None:
        """Check ``methods`` (a list, or names separated by commas), at most four."""
        names = [str(name).strip() for name in (methods.split(",") if isinstance(methods, str) else methods)]
        unknown = [name for name in names if name not in self.checks]
        if unknown:
            raise ValueError(f"unknown method {', '.join(map(repr, unknown))}; methods: {', '.join(self.checks)}")
        self.set_checked(names)

    def _set_classes(self, classes: Value) -> None:
        """Pick ``classes`` (output indices) in the classes mode's pickers; empty: follow the target and the next
        most probable classes."""
        row, names = self.class_row, self._class_names()
        if not classes:
            row.following = True
            return
        if names is None:
            raise ValueError("no model to pick classes of")
        indices = class_indices(classes, len(names))
        if row.combos[0].count() != len(names):
            row.set_classes(names)
        row.set_targets(indices[:MAX_PANELS])
        row.following = False

    def _limit(self) -> None:
        full = len(self.checked()) >= MAX_PANELS
        for box in self.checks.values():
            box.setEnabled(box.isChecked() or not full)

    def _checks_changed(self) -> None:
        self._limit()
        self.changed.emit()

    def _mode_changed(self) -> None:
        classes = self.mode == "classes"
        self.check_box_area.setVisible(not classes)
        self.class_row.setVisible(classes)
        for widget in self.form.pair("class_method"):
            widget.setVisible(classes)


class DisplayRow(QWidget):
    """Colormap, opacity over the input and signed or absolute display (``form``: their :class:`SettingsForm`,
    whose ``changed`` tells a change). Choosing signed display switches to the diverging colormap, absolute
    display back from it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colormap_picker = ColormapPicker(ABS_COLORMAP)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Opacity of the maps over the input")
        self.opacity_slider.setMinimumWidth(60)
        self.opacity_slider.setMaximumWidth(180)
        self.form = SettingsForm(Settings, fields=("display", "colormap", "opacity"), titles={"display": DISPLAYS},
                                 overrides={"colormap": self.colormap_picker, "opacity": self.opacity_slider},
                                 initial=Settings(colormap=ABS_COLORMAP))
        self.display_combo = self.form.widget("display")
        assert isinstance(self.display_combo, QComboBox)
        shrinkable(self.display_combo, self.colormap_picker)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form)
        self.form.changed.connect(lambda name: self._display_changed() if name == "display" else None)

    @property
    def display(self) -> str:
        """``"abs"`` or ``"signed"``."""
        return str(self.form.value("display"))

    @property
    def opacity(self) -> float:
        """Opacity of the maps, in [0, 1]."""
        return self.opacity_slider.value() / 100

    def look(self) -> Look:
        """How the maps are drawn now."""
        return Look(self.display, self.colormap_picker.name(), self.opacity)

    def set_display(self, display: str) -> None:
        """Choose ``"abs"`` or ``"signed"`` display."""
        self.form.set_value("display", display)

    def _display_changed(self) -> None:
        picker = self.colormap_picker
        if self.display == "signed":
            picker.set_name(SIGNED_COLORMAP)
        elif picker.name() == SIGNED_COLORMAP:
            picker.set_name(ABS_COLORMAP)
