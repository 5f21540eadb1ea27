"""A small "working…" indicator for a pane: an indeterminate bar and what is being computed."""

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget


class BusyIndicator(QWidget):
    """Hidden while idle; :meth:`set_busy` with a text shows it, with an empty text hides it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setFixedSize(70, 12)
        self.text = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.text)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.hide()

    def set_busy(self, text: str) -> None:
        """Show ``text`` (e.g. "Capturing layer3.1…") with the moving bar; "" hides the indicator."""
        self.text.setText(text)
        self.setVisible(bool(text))

    @property
    def busy(self) -> bool:
        """True while shown."""
        return not self.isHidden()
