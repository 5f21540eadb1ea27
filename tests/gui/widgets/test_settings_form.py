"""The settings form built from an analysis's ``Settings``: every field of every analysis round-trips
through its control, None through the special value, tuples through comma-separated text; ranges come
from the field's metadata, bad values are reported per field, a pane's own control is used, ``changed``
names the field and the controls register in a pane's registry as typed, JSON-ready settings."""

import dataclasses
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
)

from cnnviz.analyses import attribution, deconv, dream, invariance, occlusion, registry
from cnnviz.core.settings import Info, info, infos
from cnnviz.gui.runtime.control_state import Controls, Custom
from cnnviz.gui.widgets.settings_form import SettingsForm, widget_for

UNCHANGED = {"scan": {"channels"}}
"""Fields left at their defaults by :func:`changed_settings` (scan: units are picked by page or by channels,
and page changed first)."""
TEXT_ITEMS = ("conv1:0.5", "conv2:1")
"""Items of a free-text tuple (well-formed for every such field, the dream cycle's layer:step included)."""


def other_value(entry: Info, value: Any) -> Any:
    """A value of ``entry`` other than ``value`` (a number inside its range, another choice, None or not)."""
    meta, kind = entry.meta, entry.item or entry.base
    if entry.optional and value is not None:
        return None
    if entry.item is not None:
        if meta.choices:
            return tuple(reversed(meta.choices[:2]))
        return (1, 2) if kind is int else (0.5, 1.5) if kind is float else TEXT_ITEMS
    if kind is bool:
        return not value
    if meta.choices:
        return next(c for c in meta.choices if c != value)
    if kind is str:
        return TEXT_ITEMS[0]
    low = 0 if meta.low is None else meta.low
    high = low + 100 if meta.high is None else meta.high
    middle = (low + high) // 2 if kind is int else round((low + high) / 2, 2)
    return middle if middle != value else low


def changed_settings(cls: type) -> tuple[Any, set[str]]:
    """Settings of ``cls`` with as many fields as possible changed from the defaults (one at a time while
    the settings check, then the rest together), and the names of those left at their defaults."""
    current, left = cls(), infos(cls)
    progress = True
    while left and progress:
        progress = False
        for entry in list(left):
            try:
                current = dataclasses.replace(current, **{entry.name: other_value(entry, getattr(current, entry.name))})
            except ValueError:
                continue
            left.remove(entry)
            progress = True
    try:  # fields that only change together (a unit's row and column)
        current = dataclasses.replace(current, **{e.name: other_value(e, getattr(current, e.name)) for e in left})
        left = []
    except ValueError:
        pass
    return current, {entry.name for entry in left}


@pytest.fixture
def form(qtbot):
    def make(cls: type, **kwargs: Any) -> SettingsForm:
        built = SettingsForm(cls, **kwargs)
        qtbot.addWidget(built)
        return built

    return make


@pytest.mark.parametrize("name", registry.names())
def test_every_analysis_round_trips_its_defaults_and_other_settings(form, name):
    cls = registry.get(name).settings
    shown = form(cls)
    assert shown.names == tuple(entry.name for entry in infos(cls))
    assert shown.settings() == cls()
    other, unchanged = changed_settings(cls)
    assert unchanged == UNCHANGED.get(name, set())
    assert shown.set_settings(other) == {}
    assert shown.settings() == other
    assert all(shown.value(entry.name) == getattr(other, entry.name) for entry in infos(cls))
    assert shown.set_settings(cls()) == {}
    assert shown.settings() == cls()


@pytest.fixture(scope="module")
def model():
    from cnnviz.core.model import models

    return models.load_default()


@pytest.mark.parametrize("name", registry.names())
def test_model_resolved_defaults_round_trip(form, model, name):
    analysis = registry.get(name)
    resolved = analysis.settings_for(model)
    assert form(analysis.settings, initial=resolved).settings() == resolved


def test_an_optional_number_shows_its_none_text_and_reads_back_none(form):
    shown = form(occlusion.Settings)
    window = shown.widget("window")
    assert isinstance(window, QSpinBox)
    assert window.specialValueText() == "a seventh of the input" and window.text() == "a seventh of the input"
    assert window.value() == window.minimum() == 0 and shown.value("window") is None
    assert shown.set_values({"window": 9, "stride": "4"}) == {}
    assert shown.values()["window"] == 9 and shown.value("stride") == 4 and window.text() == "9 px"
    assert shown.set_values({"window": None, "stride": "auto"}) == {}
    assert shown.value("window") is None and shown.value("stride") is None and window.value() == 0
    start = form(invariance.Settings, titles={"start": {None: "auto"}}).widget("start")
    assert isinstance(start, QDoubleSpinBox) and start.text() == "auto"


def test_an_optional_choice_has_a_none_item(form):
    shown = form(attribution.Settings, fields=("colormap", "display"))
    combo = shown.widget("colormap")
    assert isinstance(combo, QComboBox)
    assert combo.currentText() == "inferno for abs, diverging for signed" and shown.value("colormap") is None
    assert shown.set_values({"colormap": "viridis"}) == {} and shown.value("colormap") == "viridis"
    assert shown.set_values({"colormap": None}) == {} and shown.value("colormap") is None


def test_ranges_units_and_decimals_come_from_the_metadata(form):
    shown = form(occlusion.Settings)
    window, opacity, target = shown.widget("window"), shown.widget("opacity"), shown.widget("target")
    assert isinstance(window, QSpinBox) and isinstance(opacity, QSpinBox) and isinstance(target, QSpinBox)
    assert (window.minimum(), window.maximum(), window.suffix()) == (0, 4096, " px")  # 0: the None value
    assert (opacity.minimum(), opacity.maximum(), opacity.suffix(), opacity.value()) == (0, 100, " %", 70)
    assert (target.minimum(), target.maximum()) == (-1, 2**31 - 1)
    dreamt = form(dream.Settings)
    octave, step = dreamt.widget("octave_scale"), dreamt.widget("step_size")
    assert isinstance(octave, QDoubleSpinBox) and isinstance(step, QDoubleSpinBox)
    assert (octave.minimum(), octave.maximum(), octave.value()) == (1.05, 4.0, 1.4)
    assert step.decimals() == 6 and step.singleStep() == pytest.approx(0.01) and step.value() == 0.02


def test_bad_values_are_reported_per_field_and_change_nothing(form):
    shown = form(occlusion.Settings)
    problems = shown.set_values({"window": 5000, "stride": 0, "fill": "pink", "seed": -1, "opacity": 1.5,
                                 "nonsense": 1})
    assert set(problems) == {"window", "stride", "fill", "seed", "opacity", "nonsense"}
    assert "outside 1…4096 px" in problems["window"] and "outside" in problems["stride"]
    assert "mean" in problems["fill"] and "not in this form" in problems["nonsense"]
    assert shown.settings() == occlusion.Settings()


def test_a_range_narrowed_for_the_model_keeps_none_and_refuses_what_is_outside(form):
    shown = form(occlusion.Settings)
    shown.set_range("window", 1, 28)
    assert shown.value("window") is None
    assert "outside 1…28" in shown.set_values({"window": 40})["window"]
    assert shown.set_values({"window": 20}) == {} and shown.value("window") == 20
    shown.set_range("window", 1, 10)
    assert shown.value("window") == 10
    with pytest.raises(TypeError):
        shown.set_range("fill", 0, 1)


def test_tuples_are_comma_separated_text_parsed_as_on_the_command_line(form):
    shown = form(attribution.Settings, fields=("methods", "classes"))
    methods, classes = shown.widget("methods"), shown.widget("classes")
    assert isinstance(methods, QLineEdit) and isinstance(classes, QLineEdit)
    assert methods.text() == ", ".join(attribution.DEFAULT_METHODS)
    assert shown.set_values({"classes": [3, 1]}) == {} and classes.text() == "3, 1"
    assert shown.value("classes") == (3, 1)
    classes.setText("2,x")
    with pytest.raises(ValueError, match="classes"):
        shown.values()
    with pytest.raises(ValueError, match="classes"):
        shown.settings()
    assert shown.json_value("classes") == "2,x"
    assert "methods" in shown.set_values({"methods": "gradient, nonsense"})


def test_settings_take_fixed_values_for_fields_outside_the_form_and_check_them(form):
    shown = form(deconv.Settings, fields=("method", "row", "col"))
    assert shown.settings(layer="features.conv2") == deconv.Settings(layer="features.conv2")
    shown.set_values({"row": 3})
    with pytest.raises(ValueError, match="row, col"):
        shown.settings()
    shown.set_values({"col": 4})
    assert shown.settings(layer="x") == deconv.Settings(layer="x", row=3, col=4)


def test_a_panes_own_controls_are_used_read_and_set(form, qtbot):
    fill = QComboBox()
    for key in occlusion.FILLS:
        fill.addItem(key.title(), key)
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    seeds: list[int] = [5]
    seed = Custom(lambda: seeds[-1], seeds.append)
    shown = form(occlusion.Settings, fields=("fill", "opacity", "seed"),
                 overrides={"fill": fill, "opacity": slider, "seed": seed})
    assert shown.widget("fill") is fill and shown.widget("seed") is seed
    assert slider.value() == 70 and seeds[-1] == 0  # the form shows the defaults in them
    assert shown.label("fill").buddy() is fill and shown.pair("seed") == ()
    fill.setCurrentIndex(fill.findData("black"))
    slider.setValue(30)
    seeds.append(7)
    assert shown.values() == {"fill": "black", "opacity": 30, "seed": 7}
    assert shown.set_values({"fill": "noise", "opacity": 90, "seed": 11}) == {}
    assert (fill.currentData(), slider.value(), seeds[-1]) == ("noise", 90, 11)
    assert fill.accessibleName() == "Fill" and "dataset mean colour" in fill.toolTip()


def test_changed_names_the_field_for_user_edits_and_set_values(form, qtbot):
    shown = form(invariance.Settings)
    names: list[str] = []
    shown.changed.connect(names.append)
    crop = shown.widget("crop")
    assert isinstance(crop, QCheckBox)
    crop.click()
    kind = shown.widget("kind")
    assert isinstance(kind, QComboBox)
    kind.setCurrentIndex(kind.findData("scale"))
    layers = shown.widget("layers")
    assert isinstance(layers, QLineEdit)
    qtbot.keyClicks(layers, "features.conv1")
    qtbot.keyClick(layers, Qt.Key.Key_Return)
    layers.editingFinished.emit()  # focus leaving without a further edit: no second change
    assert names == ["crop", "kind", "layers"]
    assert shown.value("layers") == ("features.conv1",)
    names.clear()
    assert shown.set_values({"target": 3, "relative": False, "crop": False}) == {}
    assert names == ["target", "crop"]  # relative was already False


def test_tooltips_and_accessible_names_come_from_the_metadata(form, qtbot):
    shown = form(occlusion.Settings)
    for entry in infos(occlusion.Settings):
        widget = shown.widget(entry.name)
        assert entry.meta.help in widget.toolTip() and entry.describe() in widget.toolTip()
        assert widget.accessibleName() == entry.meta.label
    label = shown.label("window")
    assert label is not None and label.text() == "Window" and label.buddy() is shown.widget("window")
    lone = widget_for(info(occlusion.Settings, "stride"))
    qtbot.addWidget(lone)
    assert lone.accessibleName() == "Stride" and "none: a quarter of the window" in lone.toolTip()


def test_registered_controls_give_typed_json_settings(form):
    shown = form(invariance.Settings, fields=("kind", "start", "crop", "layers"))
    controls = Controls("invariance")
    shown.register(controls)
    assert controls.state() == {"kind": "rotation", "start": None, "crop": False, "layers": []}
    assert shown.widget("start").objectName() == "invariance_start"
    assert controls.apply({"start": -30, "layers": ["a", "b"], "crop": True}) == {}
    assert shown.values() == {"kind": "rotation", "start": -30.0, "crop": True, "layers": ("a", "b")}
    problems = controls.apply({"kind": "warp", "start": 5000})
    assert set(problems) == {"kind", "start"} and shown.value("start") == -30.0
    assert controls.apply({"start": None}) == {} and controls.state()["start"] is None


def test_layout_rows_and_stacked(form):
    shown = form(invariance.Settings, per_row=3)
    layout = shown.layout()
    assert layout.count() == 3  # 8 fields, 3 to a row
    first = layout.itemAt(0).layout()
    shown_first = [first.itemAt(i).widget() for i in range(first.count() - 1)]
    assert [w.text() for w in shown_first if isinstance(w, QLabel)] == ["Transform", "From", "To"]
    assert shown.label("crop") is None and shown.pair("crop") == (shown.widget("crop"),)
    run = QPushButton("Run")
    shown.add_widgets(run, row=0)
    assert first.itemAt(first.count() - 2).widget() is run and first.itemAt(first.count() - 1).spacerItem()
    column = form(occlusion.Settings, fields=("window", "fill"), stacked=True)
    assert isinstance(column.layout(), QFormLayout) and column.layout().rowCount() == 2
