"""A settings section (superqt's QCollapsible) unfolds and folds on a click or Space, takes no space
but its header while folded, keeps Tab out of its folded body and follows what it holds while
unfolded."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from cnnviz.gui.widgets.collapsible import Section

WAIT_MS = 2000


@pytest.fixture
def column(qtbot):
    """A settings column: an unfolded section of three spin boxes above a folded one of two fields."""
    window = QWidget()
    layout = QVBoxLayout(window)
    sections = (Section("Step", expanded=True), Section("More", expanded=False))
    for section, widget in zip(sections, (QSpinBox, QLineEdit), strict=True):
        form = QFormLayout(section.content())
        for row in range(3 if widget is QSpinBox else 2):
            form.addRow(f"Field {row}", widget())
        layout.addWidget(section)
    layout.addStretch(1)
    window.resize(300, 400)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield sections
    window.close()


def fields(section: Section) -> list[QWidget]:
    """The field widgets of ``section``'s form, top to bottom."""
    form = section.content().layout()
    return [form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget() for row in range(form.rowCount())]


def header_height(section: Section) -> int:
    return section.toggleButton().height()


def test_the_sections_start_as_asked_with_their_titles(column):
    step, more = column
    assert (step.text(), more.text()) == ("Step", "More")
    assert (step.isExpanded(), more.isExpanded()) == (True, False)
    assert step.toggleButton().isChecked() and not more.toggleButton().isChecked()
    assert all(f.isVisible() for f in fields(step)) and not any(f.isVisible() for f in fields(more))
    assert step.content().height() == step.content().sizeHint().height() > 3 * fields(step)[0].height()
    assert more.height() == header_height(more)
    assert more.toggleButton().toolTip() == "Show or hide the more settings"
    assert more.toggleButton().font().bold()


def test_a_click_unfolds_and_folds_the_body(column, qtbot):
    _step, more = column
    seen: list[bool] = []
    more.toggled.connect(seen.append)
    folded = more.height()
    more.toggleButton().click()
    assert more.isExpanded() and seen == [True] and all(f.isVisible() for f in fields(more))
    body = more.content().sizeHint().height()
    qtbot.waitUntil(lambda: more.height() == folded + body, timeout=WAIT_MS)
    assert more.content().height() == body
    more.toggleButton().click()
    assert not more.isExpanded() and seen == [True, False]
    qtbot.waitUntil(lambda: more.content().isHidden(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: more.height() == folded, timeout=WAIT_MS)
    assert not any(f.isVisible() for f in fields(more))


def test_space_on_the_header_unfolds_and_tab_skips_a_folded_body(column, qtbot):
    step, more = column
    step.window().activateWindow()
    qtbot.waitActive(step.window())
    last = fields(step)[-1]
    last.setFocus()
    qtbot.waitUntil(last.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(last, Qt.Key.Key_Tab)
    assert more.toggleButton().hasFocus()
    qtbot.keyClick(more.toggleButton(), Qt.Key.Key_Tab)
    assert step.toggleButton().hasFocus()  # round to the top, past the folded fields
    qtbot.keyClick(step.toggleButton(), Qt.Key.Key_Backtab)
    assert more.toggleButton().hasFocus()
    qtbot.keyClick(more.toggleButton(), Qt.Key.Key_Space)
    assert more.isExpanded()
    qtbot.keyClick(more.toggleButton(), Qt.Key.Key_Tab)
    assert fields(more)[0].hasFocus()


def test_an_unfolded_body_follows_what_it_holds(column, qtbot):
    step, _more = column
    before = step.height()
    extra = QSpinBox()
    step.content().layout().addRow("Added", extra)
    qtbot.waitUntil(lambda: step.height() > before and extra.isVisible(), timeout=WAIT_MS)
    assert step.content().height() == step.content().sizeHint().height()
    assert extra.height() == extra.sizeHint().height()
    step.toggleButton().click()
    step.toggleButton().click()
    qtbot.waitUntil(lambda: step.content().height() == step.content().sizeHint().height(), timeout=WAIT_MS)
    extra.hide()
    qtbot.waitUntil(lambda: step.height() < before + extra.height(), timeout=WAIT_MS)
    assert step.content().height() == step.content().sizeHint().height()
