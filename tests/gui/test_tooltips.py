"""Every visible, enabled input control of every pane (and of the window around them) explains itself in a tooltip.

A control counts as explained when it, the label it is the buddy of, or a widget it is part of (below the pane:
a log slider's spin box, a combo box's line edit) has a non-empty tooltip, as Qt shows the nearest ancestor's
tooltip when a widget has none. Folded settings sections are unfolded first, so their controls are checked too.
"""

from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLabel, QLineEdit, QSlider, QWidget

from cnnviz.gui.app.registry import all_panes
from cnnviz.gui.widgets.collapsible import Section

CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QSlider)
"""The input controls checked (QCheckBox is a QAbstractButton)."""


def explanation(control: QWidget, stop: QWidget, buddies: dict[int, QLabel]) -> str:
    """The tooltip the user sees over ``control``: its own, its buddy label's or its nearest ancestor's below
    ``stop`` ("" when there is none)."""
    widget: QWidget | None = control
    while widget is not None and widget is not stop:
        label = buddies.get(id(widget))
        tip = widget.toolTip().strip() or (label.toolTip().strip() if label is not None else "")
        if tip:
            return tip
        widget = widget.parentWidget()
    return ""


def describe(control: QWidget) -> str:
    """The control's text, or its object name for one without text."""
    text = control.text() if isinstance(control, (QAbstractButton, QLineEdit)) else ""
    return text or control.objectName()


def unexplained(root: QWidget, skip: tuple[QWidget, ...] = ()) -> tuple[list[str], int]:
    """The visible, enabled controls under ``root`` (not under ``skip``) without a tooltip, described, and how
    many controls were checked."""
    labels = [label for label in root.findChildren(QLabel) if label.buddy() is not None]
    buddies = {id(label.buddy()): label for label in labels}
    controls = [control for control in root.findChildren(QWidget) if isinstance(control, CONTROLS)
                and control.isVisible() and control.isEnabled()
                and not any(part is control or part.isAncestorOf(control) for part in skip)]
    missing = [f"{type(control).__name__} {describe(control)!r} in {type(control.parentWidget()).__name__}"
               for control in controls if not explanation(control, root, buddies)]
    return missing, len(controls)


def test_every_visible_control_of_every_pane_has_a_tooltip(loaded_window, qtbot):
    window = loaded_window
    missing: list[str] = []
    checked = 0
    for pane_info in all_panes():
        window.bring_to_front(pane_info.key)
        pane = window.panes[pane_info.key]
        qtbot.waitUntil(lambda pane=pane: window.controller.settled and getattr(pane, "settled", True),
                        timeout=60_000)
        for section in pane.findChildren(Section):
            section.expand(animate=False)
        qtbot.wait(20)
        found, count = unexplained(pane)
        missing += [f"{pane_info.key}: {text}" for text in found]
        checked += count
    found, count = unexplained(window, skip=tuple(window.panes.values()))
    missing += [f"window: {text}" for text in found]
    assert not missing, "controls without a tooltip:\n" + "\n".join(missing)
    assert checked + count > 100
    assert window.panes["model"].load_button.toolTip() and window.panes["architecture"].filter.toolTip()
