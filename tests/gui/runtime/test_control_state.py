"""Controls: a pane's named settings read, set back, rejected when invalid and remembered."""

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from cnnviz.gui.runtime.control_state import Controls, Custom
from cnnviz.gui.widgets.colormaps import ColormapPicker
from cnnviz.gui.widgets.log_spin_box import LogSlider


def make(qtbot) -> tuple[Controls, dict]:
    spin, double, check, combo = QSpinBox(), QDoubleSpinBox(), QCheckBox(), QComboBox()
    spin.setRange(1, 100)
    spin.setValue(8)
    double.setRange(0.0, 1.0)
    combo.addItem("Mean colour", "mean")
    combo.addItem("Black", "black")
    log = LogSlider(1e-4, 10.0, 0.02)
    picked: list = []
    custom = Custom(lambda: picked[-1] if picked else [1, 2], picked.append)
    widgets = {"window": spin, "fraction": double, "grey": check, "fill": combo, "step": log,
               "colormap": ColormapPicker(), "cycle": custom}
    for w in widgets.values():
        if not isinstance(w, Custom):
            qtbot.addWidget(w)
    controls = Controls("test")
    for name, w in widgets.items():
        controls.add(name, w)
    return controls, widgets


def test_state_and_apply_round_trip(qtbot):
    controls, widgets = make(qtbot)
    assert controls.state() == {"window": 8, "fraction": 0.0, "grey": False, "fill": "mean", "step": 0.02,
                                "colormap": widgets["colormap"].name(), "cycle": [1, 2]}
    new = {"window": 11, "fraction": 0.5, "grey": True, "fill": "black", "step": 0.5, "cycle": [3]}
    assert controls.apply(new) == {}
    state = controls.state()
    assert {k: state[k] for k in new} == new
    assert widgets["fill"].currentText() == "Black"
    assert controls.defaults["window"] == 8


def test_bad_values_are_reported_and_unknown_names_refused(qtbot):
    controls, widgets = make(qtbot)
    problems = controls.apply({"window": 1000, "fill": "pink", "grey": "maybe"})
    assert set(problems) == {"window", "fill", "grey"}
    assert "outside" in problems["window"] and "black" in problems["fill"]
    assert widgets["window"].value() == 8
    with pytest.raises(KeyError, match="settings: window"):
        controls.apply({"nonsense": 1})
    assert controls.apply({"nonsense": 1}, strict=False) == {"nonsense": "no such setting"}


def test_changes_are_remembered_and_restored(qtbot, tmp_path):
    first, widgets = make(qtbot)
    first.restore_remembered()
    widgets["window"].setValue(42)
    widgets["fill"].setCurrentIndex(1)
    second, again = make(qtbot)
    second.restore_remembered()
    assert again["window"].value() == 42 and again["fill"].currentData() == "black"
