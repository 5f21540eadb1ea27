"""The layer list of the Dataset pane: the model's layers with a check box each (the layers a scan tracks),
and All/None buttons. The dataset source row is shared with the Feature space pane
(:mod:`cnnviz.gui.widgets.dataset_source`)."""

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from cnnviz.gui.widgets.layer_picker import LayerChoice

LIST_WIDTH = 120
BUTTON_WIDTH = 48
"""Least width of the layer list and width of its All/None buttons, in pixels."""
WIDEST_LIST = 300
"""Widest the layer list grows, in pixels, for its longest entry (a longer one scrolls)."""
ROW_EXTRA = 48
"""Pixels a row takes beside its text: the check box, the frame and the vertical scroll bar."""


class LayerChecklist(QWidget):
    """The layers a scan tracks: one checkable row per layer, and All/None buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setToolTip("Layers the scan tracks (default: the ReLU after each "
                                "convolution, else the convolution)")
        self.all_button = QPushButton("All")
        self.all_button.setToolTip("Check every layer")
        self.none_button = QPushButton("None")
        self.none_button.setToolTip("Uncheck every layer")
        self.list.setMinimumWidth(LIST_WIDTH)
        for button in (self.all_button, self.none_button):
            button.setMaximumWidth(BUTTON_WIDTH)
        buttons = QHBoxLayout()
        buttons.addWidget(self.all_button)
        buttons.addWidget(self.none_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Layers to scan</b>"))
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.all_button.clicked.connect(lambda: self.check_all(True))
        self.none_button.clicked.connect(lambda: self.check_all(False))

    def set_layers(self, choices: Sequence[LayerChoice], checked: Sequence[str]) -> None:
        """List ``choices`` (name and type; the output shape in the tooltip), those named in ``checked`` ticked; the
        list widens to show the longest entry (up to :data:`WIDEST_LIST`)."""
        self.list.clear()
        for choice in choices:
            item = QListWidgetItem(f"{choice.name} · {choice.type}")
            item.setToolTip(f"{choice.name}  ·  {choice.type}  ·  output {choice.shape_text}")
            item.setData(Qt.ItemDataRole.UserRole, choice.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if choice.name in checked else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        metrics = self.list.fontMetrics()
        widest = max((metrics.horizontalAdvance(self.list.item(i).text()) for i in range(self.list.count())), default=0)
        self.list.setMinimumWidth(max(LIST_WIDTH, min(WIDEST_LIST, widest + ROW_EXTRA)))

    def layers(self) -> list[str]:
        """Every listed layer, in order."""
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def checked(self) -> list[str]:
        """The ticked layers, in order."""
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def check_all(self, on: bool) -> None:
        """Tick (``on``) or untick every layer."""
        state = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        for i in range(self.list.count()):
            self.list.item(i).setCheckState(state)
