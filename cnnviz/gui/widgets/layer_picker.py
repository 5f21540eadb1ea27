"""Which layers a tool pane offers, and the combo box that picks one.

:func:`layer_choices` lists every module the forward pass calls (leaf layers and blocks such as
ResNet's ``layer3.1``) whose output is a vector [C] or a stack of maps [C, H, W], in call order; it
runs a traced forward pass the first time (cached on the model), so call it off the GUI thread.
Channels-last outputs [H, W, C] (the permute, LayerNorm, Linear and GELU layers inside ConvNeXt's
blocks) are not offered: the tool panes read the first axis as channels. The Architecture table
lists them; their block's depthwise convolution and the block itself give [C, H, W] maps.
"""

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QSizePolicy, QWidget

from cnnviz.core import filters, layers
from cnnviz.core.models import LoadedModel


@dataclass(frozen=True)
class LayerChoice:
    """A layer a pane can show: dotted ``name``, module ``type``, one image's output ``shape``
    ([C] or [C, H, W]), how many ``calls`` one forward pass makes (the last one is shown), and
    ``class_scores``: True where the output units are the model's classes."""

    name: str
    type: str
    shape: tuple[int, ...]
    calls: int = 1
    class_scores: bool = False

    @property
    def is_vector(self) -> bool:
        """True for a 1-D output [C]."""
        return len(self.shape) == 1

    @property
    def channels(self) -> int:
        """Number of channels (units for a vector)."""
        return self.shape[0]

    @property
    def shape_text(self) -> str:
        """The shape as ``C×H×W`` (or ``C``)."""
        return "×".join(str(v) for v in self.shape)

    @property
    def label(self) -> str:
        """The picker text: name, type and shape."""
        return f"{self.name}  ·  {self.type}  ·  {self.shape_text}"


def layer_choices(model: LoadedModel) -> list[LayerChoice]:
    """Every called module with a [C] or [C, H, W] output, in forward order (containers first);
    channels-last [H, W, C] outputs are left out."""
    traced = layers.trace(model)
    modules = dict(model.module.named_modules())
    scores = _class_score_layers(traced, modules, len(model.categories))
    return [LayerChoice(name, type(modules[name]).__name__, tuple(entry.output_shape), entry.calls,
                        name in scores)
            for name, entry in traced.items()
            if entry.output_shape is not None and len(entry.output_shape) in (1, 3) and not entry.channels_last]


def conv_choices(model: LoadedModel) -> list[LayerChoice]:
    """The 2-D convolution layers among :func:`layer_choices`."""
    convs = set(filters.conv_layers(model))
    return [choice for choice in layer_choices(model) if choice.name in convs]


def _class_score_layers(traced: dict[str, layers.LayerTrace], modules: dict, classes: int) -> set[str]:
    """Layers whose output is the class scores: the trailing leaf layers with a [classes] output
    (the logits, a final softmax) and the blocks that end with them."""
    if classes <= 0:
        return set()
    leaves = [name for name in traced if not any(True for _ in modules[name].children())]
    trailing: list[str] = []
    for name in reversed(leaves):
        if traced[name].output_shape != (classes,):
            break
        trailing.append(name)
    blocks = {name for name, entry in traced.items() if entry.output_shape == (classes,)
              and any(leaf.startswith(name + ".") for leaf in trailing)}
    return set(trailing) | blocks


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
