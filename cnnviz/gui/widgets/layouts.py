"""Small builders for the controls and layouts the panes and views repeat: option combos, wrapped
labels, margin-less columns, option rows and the atlas/detail splitter."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget


def option_combo(options: dict[str, str], tip: str = "", tips: dict[str, str] | None = None) -> QComboBox:
    """A combo box listing ``options`` (data key -> shown title) with tooltip ``tip``; ``tips`` (key ->
    text) are tooltips of single items."""
    combo = QComboBox()
    for key, title in options.items():
        combo.addItem(title, key)
        if tips and key in tips:
            combo.setItemData(combo.count() - 1, tips[key], Qt.ItemDataRole.ToolTipRole)
    combo.setToolTip(tip)
    return combo


def wrapped_label(selectable: bool = False) -> QLabel:
    """An empty word-wrapping label, its text selectable with the mouse if ``selectable``."""
    label = QLabel()
    label.setWordWrap(True)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def stack(holder: QWidget, *widgets: QWidget, stretch: tuple[int, ...] = (1,), spacing: int | None = None) -> None:
    """Lay ``widgets`` out in ``holder`` top to bottom without margins; those at positions ``stretch``
    share the spare height. ``spacing`` between them in pixels (None: the style's)."""
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    if spacing is not None:
        layout.setSpacing(spacing)
    for position, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if position in stretch else 0)


def column(*widgets: QWidget, stretch: tuple[int, ...] = (1,), spacing: int | None = None) -> QWidget:
    """A new widget holding ``widgets`` laid out by :func:`stack`."""
    holder = QWidget()
    stack(holder, *widgets, stretch=stretch, spacing=spacing)
    return holder


def option_row(*items: QWidget | str | int) -> QHBoxLayout:
    """A row of ``items`` left to right, then a stretch: a widget as it is, a string as a label, an
    int as that many pixels of space."""
    row = QHBoxLayout()
    for item in items:
        if isinstance(item, str):
            row.addWidget(QLabel(item))
        elif isinstance(item, int):
            row.addSpacing(item)
        else:
            row.addWidget(item)
    row.addStretch(1)
    return row


def grid_and_detail(grid: QWidget, detail: QWidget,
                    orientation: Qt.Orientation = Qt.Orientation.Horizontal) -> QSplitter:
    """A splitter with ``grid`` (3/5 of the width, or of the height for a vertical ``orientation``) before
    ``detail`` (2/5); neither collapses."""
    splitter = QSplitter(orientation)
    splitter.addWidget(grid)
    splitter.addWidget(detail)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 2)
    splitter.setSizes([3000, 2000])  # the split itself, not only the share of space beyond the size hints
    splitter.setChildrenCollapsible(False)
    return splitter
