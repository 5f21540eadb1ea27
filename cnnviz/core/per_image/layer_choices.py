"""Which layers the analyses offer: every module the forward pass calls whose output is a vector [C] or a
stack of maps [C, H, W], in call order (:func:`layer_choices`), and the convolutions among them.

:func:`layer_choices` runs a traced forward pass the first time (cached on the model). Channels-last outputs
[H, W, C] (the permute, LayerNorm, Linear and GELU layers inside ConvNeXt's blocks) are not offered: the
analyses read the first axis as channels. The Architecture table lists them; their block's depthwise
convolution and the block itself give [C, H, W] maps.
"""

from dataclasses import dataclass

from cnnviz.core.model import layers
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_image import filters


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
