"""The log-scale step-size slider moves in bounded multiplicative steps: a small drag makes a small
change (emitted once, on release), a click beside the handle one page step, whatever the width."""

import math

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider

from cnnviz.gui.widgets import log_spin_box
from cnnviz.gui.widgets.log_spin_box import LogSlider


@pytest.fixture
def step_slider(qtbot):
    """The dream pane's step-size control, as narrow as in its settings column."""
    control = LogSlider(1e-6, 10.0, 0.02)
    control.resize(180, 30)
    qtbot.addWidget(control)
    control.show()
    qtbot.waitExposed(control)
    return control


def handle(slider: QSlider) -> QRect:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    return slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle,
                                         slider)


def drag(qtbot, slider: QSlider, pixels: int, steps: int = 4) -> None:
    start = handle(slider).center()
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    for done in range(1, steps + 1):
        qtbot.mouseMove(slider, start + QPoint(round(pixels * done / steps), 0))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=start + QPoint(pixels, 0))


def test_a_small_drag_changes_the_step_size_by_a_bounded_factor_emitted_once(step_slider, qtbot):
    emitted = []
    step_slider.value_changed.connect(emitted.append)
    drag(qtbot, step_slider.slider, 20)
    assert 1.1 < step_slider.value() / 0.02 < 1.4
    per_decade = log_spin_box.TICKS_PER_DECADE
    ticks = round(20 * per_decade / log_spin_box.PIXELS_PER_DECADE)
    assert step_slider.value() == pytest.approx(10 ** (round(math.log10(0.02) * per_decade + ticks) / per_decade))
    assert emitted == [step_slider.value()]
    drag(qtbot, step_slider.slider, -40)
    assert 0.5 < step_slider.value() / 0.02 < 0.9 and len(emitted) == 2


def test_a_click_beside_the_handle_moves_one_page_step_toward_it(step_slider, qtbot):
    slider = step_slider.slider
    middle = handle(slider).center().y()
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() - 2, middle))
    assert 1.5 < step_slider.value() / 0.02 < 2.0  # one page step: ×1.78, not to the far end (10)
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(1, middle))
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(1, middle))
    assert 0.5 < step_slider.value() / 0.02 < 0.65


def test_a_small_drag_in_the_dream_column_changes_the_config_step_size_by_a_bounded_factor(
        loaded_window, show_pane, qtbot):
    pane = show_pane(loaded_window, "dream")
    configs = []
    pane.form.changed.connect(lambda: configs.append(pane.box().step_size))
    before = pane.box().step_size
    drag(qtbot, pane.form.widget("step_size").slider, 20)
    assert len(configs) == 1 and 1.1 < pane.box().step_size / before < 1.4
