"""A collapsible section of a settings column: superqt's :class:`~superqt.QCollapsible` (a flat
header button with an arrow above a body that folds away), fitted to a settings column."""

from PySide6.QtCore import QAbstractAnimation, QPropertyAnimation
from PySide6.QtWidgets import QWidget
from superqt import QCollapsible

UNLIMITED = 16_777_215
"""Qt's largest widget size (QWIDGETSIZE_MAX), in pixels."""


class Section(QCollapsible):
    """A section titled ``title``: :meth:`toggleButton` (the header; a click, or Space when it has
    the focus, unfolds or folds the body) above :meth:`content` (an empty widget: give it a layout);
    starts unfolded if ``expanded``. Emits ``toggled(bool)`` (True: unfolded).

    Beyond QCollapsible: no margins around the header and body, a bold title, a "▶"/"▼" arrow, the
    body hidden once folded (so it takes no space and Tab skips its widgets), and the body following
    the height of what it holds while unfolded (QCollapsible caps it at its height when unfolded).
    """

    def __init__(self, title: str, expanded: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(title, parent, expandedIcon="▼", collapsedIcon="▶")
        layout = self.layout()
        assert layout is not None
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        default = self.content()
        layout.removeWidget(default)
        default.deleteLater()
        self.setContent(QWidget())
        button = self.toggleButton()
        button.setStyleSheet("QPushButton { text-align: left; border: none; padding: 3px; font-weight: bold; }"
                             "QPushButton:focus { color: palette(highlight); }")
        button.setToolTip(f"Show or hide the {title.lower()} settings")
        fold = self.findChild(QPropertyAnimation)  # QCollapsible's, animating the body's maximum height
        assert fold is not None
        self._fold = fold
        fold.finished.connect(self._settle)
        self.toggled.connect(self._started)
        if expanded:
            self.expand(animate=False)
        else:
            self.collapse(animate=False)

    def _started(self, expanded: bool) -> None:
        """Show the body before it unfolds; settle at once without an animation."""
        if expanded:
            self.content().show()
        if self._fold.state() != QAbstractAnimation.State.Running:
            self._settle()

    def _settle(self) -> None:
        """Once folded, hide the body; once unfolded, let it follow its contents' height."""
        if self.isExpanded():
            self.content().setMaximumHeight(UNLIMITED)
        else:
            self.content().hide()
