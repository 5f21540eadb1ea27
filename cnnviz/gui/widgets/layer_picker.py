"""Which layers a tool pane offers, and the combo box that picks one.

:func:`layer_choices` lists every module the forward pass calls (leaf layers and blocks such as
ResNet's ``layer3.1``) whose output is a vector [C] or a stack of maps [C, H, W], in call order; it
runs a traced forward pass the first time (cached on the model), so call it off the GUI thread.
Channels-last outputs [H, W, C] (the permute, LayerNorm, Linear and GELU layers inside ConvNeXt's
blocks) are not offered: the tool panes read the first axis as channels. The Architecture table
lists them; their block's depthwise convolution and the block itself give [C, H, W] maps.
"""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QSizePolicy, QWidget

from cnnviz.core.per_image.layer_choices import LayerChoice, conv_choices, layer_choices

__all__ = ["LayerChoice", "LayerPicker", "conv_choices", "layer_choices"]


class LayerPicker(QComboBox):
    """A combo box of :class:`LayerChoice` items; emits ``layer_chosen(name)`` when the user picks
    one (or :meth:`step` moves), not when the program calls :meth:`select`."""

    layer_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choices: list[LayerChoice] = []
        self.setMaxVisibleItems(30)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(24)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Layer (PgUp/PgDn: previous/next)")
        self.activated.connect(self._activated)

    def _activated(self, index: int) -> None:
        self.layer_chosen.emit(self.choices[index].name)

    def set_choices(self, choices: list[LayerChoice]) -> None:
        """List ``choices`` (nothing selected until :meth:`select`)."""
        self.blockSignals(True)
        self.clear()
        self.choices = list(choices)
        for choice in self.choices:
            self.addItem(choice.label, choice.name)
            calls = (f"; called {choice.calls}× per forward pass, the last call is shown"
                     if choice.calls > 1 else "")
            tip = f"{choice.name}: {choice.type}, output {choice.shape_text}{calls}"
            self.setItemData(self.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.setCurrentIndex(-1)
        self.blockSignals(False)

    def choice(self, name: str) -> LayerChoice | None:
        """The listed choice called ``name``, or None."""
        return next((c for c in self.choices if c.name == name), None)

    def current(self) -> LayerChoice | None:
        """The selected choice, or None."""
        index = self.currentIndex()
        return self.choices[index] if 0 <= index < len(self.choices) else None

    def select(self, name: str) -> bool:
        """Select layer ``name`` without emitting; False if it is not listed."""
        index = self.findData(name)
        if index < 0:
            return False
        self.blockSignals(True)
        self.setCurrentIndex(index)
        self.blockSignals(False)
        return True

    def step(self, delta: int) -> bool:
        """Select the layer ``delta`` places away (clamped) and emit ``layer_chosen``; False if none moved."""
        if not self.choices:
            return False
        index = min(max(self.currentIndex() + delta, 0), len(self.choices) - 1)
        if index == self.currentIndex():
            return False
        self.setCurrentIndex(index)
        self.layer_chosen.emit(self.choices[index].name)
        return True
