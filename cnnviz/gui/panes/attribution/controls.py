"""The controls of the Attribution pane: what to compare (methods side by side or one method for several
classes), which classes, and how the maps are drawn.

:class:`CompareControls` holds the mode, the method check boxes (at most :data:`MAX_PANELS` checked)
and, for the classes mode, the method and the class pickers (:class:`ClassRow`); :class:`DisplayRow`
holds the colormap, the opacity and signed or absolute display. They only hold choices; the pane
decides what to compute.
"""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from cnnviz.core.per_image import attribution
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.widgets.colormaps import DIVERGING, ColormapPicker
from cnnviz.gui.widgets.layouts import option_combo

MAX_PANELS = 4
"""Most maps shown side by side."""
METHOD_TITLES = {
    "gradcam": "Grad-CAM", "gradcam_pp": "Grad-CAM++", "gradcampp": "Grad-CAM++", "gradcam++": "Grad-CAM++",
    "scorecam": "Score-CAM", "score_cam": "Score-CAM", "layercam": "LayerCAM", "layer_cam": "LayerCAM",
    "gradient": "Gradient", "guided": "Guided backprop", "deconvnet": "Deconvnet",
    "gradient_x_input": "Gradient × input", "occlusion": "Occlusion", "integrated_gradients": "Integrated gradients",
    "smoothgrad": "SmoothGrad", "smoothgrad_sq": "SmoothGrad²", "smoothgrad2": "SmoothGrad²",
    "smoothgrad_squared": "SmoothGrad²",
}
"""Titles of the methods the core offers; a method not listed here is titled from its name."""
DEFAULT_METHODS = ("gradcam", "integrated_gradients", "smoothgrad", "gradient")
"""Checked at first (those the core offers)."""
MODES = {"methods": "Methods side by side", "classes": "One method, several classes"}
DISPLAYS = {"abs": "Absolute", "signed": "Signed (0 at the centre)"}
DEFAULT_COLORMAP = "inferno"


def method_title(method: str) -> str:
    """The title of ``method`` for captions, check boxes and legends."""
    return METHOD_TITLES.get(method, method.replace("_", " ").capitalize())


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

    def follow(self) -> None:
        """Follow the target and the next most probable classes again (as *Top 4*; emits ``changed``)."""
        self.following = True
        self.changed.emit()

    def _picked(self) -> None:
        self.following = False
        self.changed.emit()


class CompareControls(QWidget):
    """The mode, the method check boxes (methods mode) or the method and classes (classes mode);
    ``changed`` when the user changes any of them."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode_combo = option_combo(MODES, "Compare up to four methods for the target class, or one method "
                                              "for up to four classes (does the map depend on the class?)")
        self.method_combo = option_combo({m: method_title(m) for m in attribution.METHODS},
                                         "The method whose maps are compared across classes")
        self.checks = {m: QCheckBox(method_title(m)) for m in attribution.METHODS}
        self.class_row = ClassRow()
        shrinkable(self.mode_combo, self.method_combo)
        self._lay_out()
        self.set_checked([m for m in DEFAULT_METHODS if m in self.checks])
        self.set_class_method("gradcam" if "gradcam" in self.checks else attribution.METHODS[0])
        self.mode_combo.currentIndexChanged.connect(lambda _i: self._mode_changed())
        self.method_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        for box in self.checks.values():
            box.toggled.connect(lambda _on: self._checks_changed())
        self.class_row.changed.connect(self.changed.emit)
        self._mode_changed(emit=False)

    def _lay_out(self) -> None:
        self.check_box_area = QWidget()
        grid = QGridLayout(self.check_box_area)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(2)
        columns = 4
        for number, (method, box) in enumerate(self.checks.items()):
            box.setToolTip(f"Show {method_title(method)} (at most {MAX_PANELS} methods)")
            grid.addWidget(box, number // columns, number % columns)
        self.method_label = QLabel("Method")
        top = QHBoxLayout()
        for widget in (QLabel("Compare"), self.mode_combo, self.method_label, self.method_combo):
            top.addWidget(widget)
        top.addStretch(1)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top, 0, 0)
        layout.addWidget(self.check_box_area, 1, 0)
        layout.addWidget(self.class_row, 2, 0)

    @property
    def mode(self) -> str:
        """``"methods"`` or ``"classes"``."""
        return str(self.mode_combo.currentData())

    @property
    def class_method(self) -> str:
        """The method of the classes mode."""
        return str(self.method_combo.currentData())

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
        """Choose ``mode`` (emits ``changed`` if it changes)."""
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(mode)))

    def set_class_method(self, method: str) -> None:
        """Choose the method of the classes mode (emits ``changed`` if it changes)."""
        index = self.method_combo.findData(method)
        if index >= 0:
            self.method_combo.setCurrentIndex(index)

    def methods(self) -> list[str]:
        """The methods whose maps are shown: the checked ones, or the classes mode's method."""
        return self.checked() if self.mode == "methods" else [self.class_method]

    def _limit(self) -> None:
        full = len(self.checked()) >= MAX_PANELS
        for box in self.checks.values():
            box.setEnabled(box.isChecked() or not full)

    def _checks_changed(self) -> None:
        self._limit()
        self.changed.emit()

    def _mode_changed(self, emit: bool = True) -> None:
        classes = self.mode == "classes"
        self.check_box_area.setVisible(not classes)
        self.class_row.setVisible(classes)
        self.method_label.setVisible(classes)
        self.method_combo.setVisible(classes)
        if emit:
            self.changed.emit()


class DisplayRow(QWidget):
    """Colormap, opacity over the input and signed or absolute display; ``changed`` on any change.
    Choosing signed display switches to the diverging colormap, absolute display back from it."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display_combo = option_combo(DISPLAYS, "Absolute: |map| from 0; signed: negative evidence "
                                                    "against the class below the centre of the colormap")
        self.colormap_picker = ColormapPicker(DEFAULT_COLORMAP)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(60)
        self.opacity_slider.setToolTip("Opacity of the maps over the input")
        self.opacity_slider.setMinimumWidth(60)
        self.opacity_slider.setMaximumWidth(180)
        shrinkable(self.display_combo, self.colormap_picker)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("Show"), self.display_combo, QLabel("Colormap"), self.colormap_picker,
                       QLabel("Opacity"), self.opacity_slider):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.display_combo.currentIndexChanged.connect(lambda _i: self._display_changed())
        self.colormap_picker.colormap_changed.connect(lambda _name: self.changed.emit())
        self.opacity_slider.valueChanged.connect(lambda _v: self.changed.emit())

    @property
    def display(self) -> str:
        """``"abs"`` or ``"signed"``."""
        return str(self.display_combo.currentData())

    @property
    def opacity(self) -> float:
        """Opacity of the maps, in [0, 1]."""
        return self.opacity_slider.value() / 100

    def set_display(self, display: str) -> None:
        """Choose ``"abs"`` or ``"signed"`` display."""
        self.display_combo.setCurrentIndex(max(0, self.display_combo.findData(display)))

    def _display_changed(self) -> None:
        picker = self.colormap_picker
        if self.display == "signed":
            picker.set_name(DIVERGING)
        elif picker.name() == DIVERGING:
            picker.set_name(DEFAULT_COLORMAP)
        self.changed.emit()
