"""A collapsible section of a settings column: a flat header button with an arrow, and a body shown
or hidden by clicking it."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSizePolicy, QToolButton, QVBoxLayout, QWidget


class Section(QWidget):
    """A section titled ``title``: ``button`` (the header; a click shows or hides the body) above
    ``body`` (give it a layout); starts shown if ``expanded``. Emits ``expanded_changed(bool)``."""

    expanded_changed = Signal(bool)

    def __init__(self, title: str, expanded: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QToolButton()
        self.button.setText(title)
        self.button.setCheckable(True)
        self.button.setAutoRaise(True)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.button.setStyleSheet("QToolButton { font-weight: bold; text-align: left; }")
        self.button.setToolTip(f"Show or hide the {title.lower()} settings")
        self.body = QWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.button)
        layout.addWidget(self.body)
        self.button.toggled.connect(self._toggled)
        self.button.setChecked(expanded)
        self._toggled(expanded)

    @property
    def expanded(self) -> bool:
        """True while the body is shown."""
        return self.button.isChecked()

    def set_expanded(self, expanded: bool) -> None:
        """Show (True) or hide the body."""
        self.button.setChecked(expanded)

    def _toggled(self, expanded: bool) -> None:
        self.button.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.body.setVisible(expanded)
        self.expanded_changed.emit(expanded)
