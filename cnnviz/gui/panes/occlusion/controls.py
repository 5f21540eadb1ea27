"""The Occlusion pane's settings forms, built from the occlusion analysis's
:class:`~cnnviz.analyses.occlusion.Settings`: the occluder (what a run computes) and the display (how
the maps are drawn, applied to the maps shown without running again)."""

from collections.abc import Mapping

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QSlider, QSpinBox, QWidget

from cnnviz.analyses.occlusion import Settings
from cnnviz.core.settings import info
from cnnviz.gui.panes.occlusion.view import FILL_TITLES
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.widgets.colormaps import ColormapPicker
from cnnviz.gui.widgets.control_values import Value
from cnnviz.gui.widgets.settings_form import SettingsForm, widget_for

OCCLUDER_FIELDS = ("window", "stride", "fill", "seed", "batch_size")
"""The fields of the occluder form, in order, on one row (a laptop's pane keeps its height for the maps)."""
DISPLAY_FIELDS = ("colormap", "opacity")
DEFAULT_COLORMAP = "inferno"
"""The maps' colormap on screen until one is chosen."""


def batch_spin() -> QSpinBox:
    """The batch field's spin box, showing "auto" at 0."""
    spin = widget_for(info(Settings, "batch_size"))
    assert isinstance(spin, QSpinBox)
    spin.setSpecialValueText("auto")
    return spin


def occluder_form() -> SettingsForm:
    """Window and stride (px; optional: the model's default), fill, noise seed and batch on one row."""
    form = SettingsForm(Settings, fields=OCCLUDER_FIELDS, overrides={"batch_size": batch_spin()},
                        titles={"fill": FILL_TITLES}, per_row=len(OCCLUDER_FIELDS))
    shrinkable(*(widget for name in OCCLUDER_FIELDS if isinstance(widget := form.widget(name), QSpinBox)))
    return form


def set_quietly(form: SettingsForm, values: Mapping[str, Value]) -> None:
    """Show ``values`` in ``form`` without its controls' change signals: a model's defaults are not remembered
    as the user's choice (the remembered choice is set after them)."""
    blockers = [QSignalBlocker(widget) for name in values if isinstance(widget := form.widget(name), QWidget)]
    form.set_values(values)
    for blocker in blockers:
        blocker.unblock()


def opacity_slider() -> QSlider:
    """The opacity field's slider, 0…100 %."""
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setMinimumWidth(60)
    slider.setMaximumWidth(180)
    return slider


def display_form() -> SettingsForm:
    """The maps' colormap and opacity over the input (%)."""
    picker = ColormapPicker(DEFAULT_COLORMAP)
    shrinkable(picker)
    return SettingsForm(Settings, fields=DISPLAY_FIELDS, overrides={"colormap": picker, "opacity": opacity_slider()},
                        initial=Settings(colormap=DEFAULT_COLORMAP))
