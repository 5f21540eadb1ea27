"""Projecting one unit's activation back to pixel space (Zeiler & Fergus 2014 and relatives).

One unit of a layer (channel, and a spatial position for conv layers) is kept and every other
activation of that layer set to zero; the signal is then sent back to the input:

- ``"deconvnet"``: each ReLU passes ``relu(signal)`` backwards, ignoring where its forward input was
  negative; max-poolings route the signal through the switches recorded in the forward pass and
  convolutions use their transposed filters (Zeiler & Fergus, *Visualizing and Understanding
  Convolutional Networks*, 2014).
- ``"guided"``: guided backpropagation (Springenberg et al. 2015): a ReLU passes ``relu(signal)``
  only where its forward input was positive.
- ``"gradient"``: the plain gradient of the unit with respect to the input (saliency).

The signal sent back is 1 at the unit, so ``"gradient"`` equals ``torch.autograd.grad`` of the unit;
the paper's projection of the activation *value* is this times that (positive) value.

The deconvnet's ReLU rule never looks at the forward pass, so in a network without max pooling (e.g.
MobileNetV2: strided and depthwise convolutions, BatchNorm, ReLU6) nothing in its backward pass
depends on the image: a unit's projection is the same for every input, a fixed pattern of its
filters (a grid or stripes from the strides), while guided backpropagation still follows the image
(Nie, Zhang & Patel, *A theoretical explanation for perplexing behaviors of backpropagation-based
visualizations*, 2018). :attr:`Projection.image_independent` says when this holds and
:attr:`Projection.note` explains it.

ReLUs are intercepted at the level of torch calls with a ``TorchFunctionMode``: ``nn.ReLU`` modules
(in-place or not, reused or not), ``F.relu``/``torch.relu`` calls in a model's ``forward`` and
ReLU6/hardtanh clamps are all handled, and the model itself is never modified. A squeeze-and-excitation
gate (a sigmoid of a 1×1 map that scales each channel, as in EfficientNet and RegNet) is, for these two
methods, a per-channel constant recorded in the forward pass, like the deconvnet's pooling switches:
the signal goes back through the features it scales, not through the gate.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from cnnviz.core.data.inputs import one_image
from cnnviz.core.model.forward import forward_to
from cnnviz.core.model.hooks import eval_and_frozen
from cnnviz.core.model.layers import called_once, field_of
from cnnviz.core.model.loaded_model import LoadedModel

METHODS = ("deconvnet", "guided", "gradient")

_RELU = {"relu", "relu_"}
_CLAMPS = {"relu6", "hardtanh", "hardtanh_"}
_OTHER_NONLINEAR = {"silu", "silu_", "gelu", "sigmoid", "sigmoid_", "tanh", "tanh_", "hardswish",
                    "hardswish_", "hardsigmoid", "elu", "elu_", "leaky_relu", "leaky_relu_",
                    "selu", "selu_", "celu", "mish", "softplus", "prelu"}
_GATES = {"sigmoid", "hardsigmoid"}


@dataclass(frozen=True)
class Projection:
    """One unit's projection: its ``channel``, ``position`` (row, col) in the layer's output grid
    (None for a layer without one), ``activation`` value, the projected ``image`` [C, H, W] (input
    space, float32, CPU) and the unit's receptive-field ``box`` (top, left, bottom, right) in input
    pixels, bottom/right exclusive, clipped to the input. ``layer`` and ``method`` say how it was
    made; ``unhandled`` names the nonlinearities met on the way (e.g. ``"silu"``) that have no rule
    for ``method``, where the plain gradient passed instead (empty: the projection is exact).
    ``image_independent``: nothing on the backward path depends on the forward pass (a deconvnet
    projection with no max-pooling switch between the input and the layer), so the projection is the
    same for every image; :attr:`note` explains it."""

    channel: int
    position: tuple[int, int] | None
    activation: float
    image: torch.Tensor
    box: tuple[int, int, int, int]
    layer: str = ""
    method: str = "deconvnet"
    unhandled: tuple[str, ...] = ()
    image_independent: bool = False

    @property
    def warning(self) -> str:
        """A sentence saying why the projection is not exact, or "" when it is."""
        if not self.unhandled:
            return ""
        names = ", ".join(self.unhandled)
        verb = "has" if len(self.unhandled) == 1 else "have"
        return (f"Not exact for this model: {names} between the input and {self.layer or 'the layer'} "
                f"{verb} no {self.method} rule, so the plain gradient passes through there. "
                "The gradient method is exact.")

    @property
    def note(self) -> str:
        """Why the projection looks the same for every image (:attr:`image_independent`), or ""."""
        if not self.image_independent:
            return ""
        return (f"The same for every image: a deconvnet's ReLUs pass relu(signal) back without looking at the "
                f"forward pass, so only max-pooling switches let its projection follow the image, and there is "
                f"no max pooling between the input and {self.layer or 'the layer'}. This projection is fixed by "
                "the unit alone: its filters seen through the transposed convolutions, whose strides print a "
                "regular grid or stripes. This is the method's true output (Nie et al. 2018), not a fault; only "
                "the choice of the strongest unit depends on the image. Guided backpropagation and the "
                "gradient do follow the image.")


class _Rectified(torch.autograd.Function):
    """Clamp forward (ReLU, ReLU6, hardtanh) with a backward rule chosen by the projection method."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, low: float, high: float, method: str) -> torch.Tensor:
        ctx.method = method
        ctx.save_for_backward((x > low) & (x < high))
        return x.clamp(min=low, max=None if math.isinf(high) else high)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None, None]:
        (passing,) = ctx.saved_tensors
        if ctx.method == "deconvnet":
            return grad.clamp(min=0), None, None, None
        return grad.clamp(min=0) * passing, None, None, None


class _ReluRules(TorchFunctionMode):
    """Replaces the backward pass of every ReLU-like call by the deconvnet or guided rule.

    In-place calls keep their in-place meaning: the input tensor receives the result. Other
    nonlinearities are recorded in ``unhandled`` (the projection is then not exact for the method).
    """

    def __init__(self, method: str) -> None:
        super().__init__()
        self.method = method
        self.unhandled: set[str] = set()

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in _RELU or name in _CLAMPS:
            x = args[0] if args else kwargs["input"]
            if isinstance(x, torch.Tensor) and x.requires_grad:
                low, high = _clamp_range(name, args, kwargs)
                result = _Rectified.apply(x, low, high, self.method)
                if _is_inplace(name, args, kwargs):
                    return x.copy_(result)
                return result
        elif name in _GATES and _is_channel_gate(args, kwargs):
            return func(*args, **kwargs).detach()
        elif name in _OTHER_NONLINEAR:
            self.unhandled.add(name)
        return func(*args, **kwargs)


def relu_rules(method: str) -> TorchFunctionMode:
    """A torch-function mode that gives every ReLU-like call in its block the backward rule of
    ``method`` (``"deconvnet"`` or ``"guided"``); its ``unhandled`` set names the other
    nonlinearities met (which keep their plain gradient). The model itself is not changed."""
    if method not in ("deconvnet", "guided"):
        raise ValueError(f"ReLU rules exist for 'deconvnet' and 'guided', not {method!r}")
    return _ReluRules(method)


def _is_channel_gate(args: tuple, kwargs: dict) -> bool:
    """True for an out-of-place sigmoid of a map [N, C, 1, 1]: a squeeze-and-excitation gate."""
    x = args[0] if args else kwargs.get("input")
    inplace = kwargs.get("inplace") or (len(args) > 1 and args[1] is True)
    return isinstance(x, torch.Tensor) and x.dim() == 4 and tuple(x.shape[-2:]) == (1, 1) and not inplace


def _is_inplace(name: str, args: tuple, kwargs: dict) -> bool:
    """True for ``relu_``-style calls and for ``inplace=True`` (keyword or last positional)."""
    if name.endswith("_") or kwargs.get("inplace"):
        return True
    return len(args) > 1 and isinstance(args[-1], bool) and args[-1]


def _argument(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def _clamp_range(name: str, args: tuple, kwargs: dict) -> tuple[float, float]:
    if name in _RELU:
        return 0.0, math.inf
    if name == "relu6":
        return 0.0, 6.0
    low = _argument(args, kwargs, 1, "min_val")
    high = _argument(args, kwargs, 2, "max_val")
    return float(-1.0 if low is None else low), float(1.0 if high is None else high)


def _units(activation: torch.Tensor, channels: list[int],
           positions: list[tuple[int, int] | None]) -> torch.Tensor:
    """Unit i of batch item i: activation[i, channel_i, row_i, col_i] (or [i, channel_i]) -> [K]."""
    picked = []
    for item, (channel, position) in enumerate(zip(channels, positions)):
        if activation.dim() == 4 and position is not None:
            picked.append(activation[item, channel, position[0], position[1]])
        elif activation.dim() == 2:
            picked.append(activation[item, channel])
        else:
            raise ValueError(f"cannot select units in an output of shape {tuple(activation.shape)}")
    return torch.stack(picked)


def strongest_unit(activation: torch.Tensor) -> tuple[int, tuple[int, int] | None]:
    """(channel, position) of the largest value in one item's activation [C, H, W] or [C]."""
    if activation.dim() == 1:
        return int(activation.argmax()), None
    flat = int(activation.flatten().argmax())
    channel, rest = divmod(flat, activation.shape[1] * activation.shape[2])
    return channel, divmod(rest, activation.shape[2])


def channel_argmax(activation: torch.Tensor, channel: int) -> tuple[int, int] | None:
    """Position (row, col) of the largest value of ``channel`` in activation [C, H, W]; None for [C]."""
    if activation.dim() == 1:
        return None
    values = activation[channel]
    return divmod(int(values.flatten().argmax()), values.shape[1])


def _backproject(model: LoadedModel, x: torch.Tensor, layer: str, method: str,
                 choose: Any) -> list[Projection]:
    """One forward pass to ``layer`` (with the method's ReLU rules), then one backward pass per unit
    that ``choose(activation[0]) -> (channels, positions)`` picks, reusing the forward graph.

    Returns one :class:`Projection` per chosen unit, each listing the nonlinearities without a rule.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    one_image(x, "a projection")
    stop = called_once(model, layer)
    rules = _ReluRules(method)
    with eval_and_frozen(model.module), torch.enable_grad():
        source = x.detach().to(model.device).requires_grad_(True)
        if method == "gradient":
            activation = forward_to(model, source, layers=layer, stop_early=stop, keep_graph=True)[layer]
        else:
            with rules:
                activation = forward_to(model, source, layers=layer, stop_early=stop, keep_graph=True)[layer]
        fixed = method == "deconvnet" and backward_ignores_input(activation)
        channels, positions = choose(activation[0].detach())
        units = _units(activation.expand(len(channels), *activation.shape[1:]), channels, positions)
        gradients = [torch.autograd.grad(unit, source, retain_graph=i < len(channels) - 1)[0][0]
                     for i, unit in enumerate(units)]
    unhandled = tuple(sorted(rules.unhandled))
    return [Projection(c, p, float(v), g.detach().float().cpu(), receptive_box(model, layer, p), layer, method,
                       unhandled, fixed) for c, p, v, g in zip(channels, positions, units.detach(), gradients)]


_FIXED_NODES = frozenset({
    "AccumulateGrad", "ConvolutionBackward", "AddBackward", "SubBackward", "NegBackward",
    "CatBackward", "StackBackward", "CloneBackward", "CopyBackwards", "ViewBackward", "UnsafeViewBackward",
    "ReshapeAliasBackward", "TBackward", "PermuteBackward", "TransposeBackward", "ExpandBackward",
    "SqueezeBackward", "UnsqueezeBackward", "SliceBackward", "SelectBackward", "SplitBackward",
    "SplitWithSizesBackward", "UnbindBackward", "ConstantPadNdBackward", "ReflectionPad2DBackward",
    "ReplicationPad2DBackward", "AvgPool2DBackward", "AdaptiveAvgPool2DBackward", "MeanBackward",
    "SumBackward", "UpsampleNearest2DBackward", "UpsampleBilinear2DBackward", "PixelShuffleBackward",
    "PixelUnshuffleBackward"})
"""Autograd nodes whose backward is a fixed linear map: it never reads the forward values."""
_PRODUCTS = frozenset({"MulBackward", "MmBackward", "BmmBackward", "AddmmBackward", "MatmulBackward",
                       "BaddbmmBackward", "MvBackward", "AddmvBackward"})
_BATCH_NORMS = frozenset({"NativeBatchNormBackward", "CudnnBatchNormBackward", "MiopenBatchNormBackward"})


def backward_ignores_input(output: torch.Tensor) -> bool:
    """True if the deconvnet backward pass from ``output`` to the input never reads the forward values,
    so it is the same for every input: every autograd node on the way is a fixed linear map
    (convolution, BatchNorm with its running statistics, addition, average pooling, padding, …), a
    product with one input-dependent factor, or the deconvnet's ReLU rule. A max pooling (its
    switches), an unhandled nonlinearity or any other node makes it False. Call it under the
    deconvnet rules, with the model's parameters frozen (as :func:`project_unit` does)."""
    seen: set[Any] = set()
    stack = [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if not _fixed_node(node):
            return False
        stack.extend(previous for previous, _ in node.next_functions)
    return True


def _fixed_node(node: Any) -> bool:
    name = type(node).__name__.rstrip("0123456789")
    inputs = [previous for previous, _ in node.next_functions]
    if name in _BATCH_NORMS:
        return not getattr(node, "_saved_training", False)
    if name in _PRODUCTS:
        return sum(previous is not None for previous in inputs) <= 1
    if name == "DivBackward":
        return len(inputs) < 2 or inputs[1] is None
    if name == "_RectifiedBackward":  # relu of the signal under the deconvnet rule; guided reads the mask
        return getattr(node, "method", None) == "deconvnet"
    return name in _FIXED_NODES


def project(model: LoadedModel, x: torch.Tensor, *, layer: str, channel: int | None = None,
            position: tuple[int, int] | None = None, method: str = "deconvnet") -> torch.Tensor:
    """Projection [C, H, W] (like ``x[0]``) of one unit of ``layer`` back to input space.

    ``x``: preprocessed input [1, C, H, W] (one image; a larger batch is a ValueError). ``channel``
    None picks the channel with the largest activation; ``position`` (row, col) in the layer's
    output grid, None picks that channel's argmax; ``method``: one of :data:`METHODS`.
    """
    return project_unit(model, x, layer=layer, channel=channel, position=position, method=method).image


def project_unit(model: LoadedModel, x: torch.Tensor, *, layer: str, channel: int | None = None,
                 position: tuple[int, int] | None = None, method: str = "deconvnet") -> Projection:
    """Like :func:`project`, returning the whole :class:`Projection` (unit, value, box and the
    nonlinearities without a rule for ``method``, from the same pass)."""

    def choose(activation: torch.Tensor) -> tuple[list[int], list[tuple[int, int] | None]]:
        chosen = channel if channel is not None else strongest_unit(activation)[0]
        if not 0 <= chosen < activation.shape[0]:
            raise IndexError(f"{layer} has {activation.shape[0]} channels; {chosen} is out of range")
        where = position if position is not None or activation.dim() == 1 else channel_argmax(activation, chosen)
        if where is not None and activation.dim() == 3 and not (
                0 <= where[0] < activation.shape[1] and 0 <= where[1] < activation.shape[2]):
            raise IndexError(f"position {where} is outside {layer}'s {activation.shape[1]}×{activation.shape[2]} grid")
        if where is None:
            return [chosen], [None]
        return [chosen], [(int(where[0]), int(where[1]))]

    return _backproject(model, x, layer, method, choose)[0]


def top_units(model: LoadedModel, x: torch.Tensor, *, layer: str, k: int = 9,
              method: str = "deconvnet") -> list[Projection]:
    """Projections of the ``k`` channels of ``layer`` with the largest activation on one image ``x``
    [1, C, H, W], each at its strongest position, strongest first (Fig. 2 of Zeiler & Fergus).
    ``k`` ≥ 1 (a ValueError otherwise); more than the layer's channels gives every channel."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"top_units: k must be a whole number of at least 1 unit, not {k!r}")

    def choose(activation: torch.Tensor) -> tuple[list[int], list[tuple[int, int] | None]]:
        peaks = activation.flatten(1).max(dim=1).values if activation.dim() == 3 else activation
        order = peaks.argsort(descending=True)[: min(k, activation.shape[0])].tolist()
        return order, [channel_argmax(activation, c) for c in order]

    return _backproject(model, x, layer, method, choose)


def unhandled_nonlinearities(model: LoadedModel, x: torch.Tensor, *, layer: str) -> list[str]:
    """Nonlinearities between the input and ``layer`` that have no deconvnet/guided rule (e.g. SiLU,
    GELU, sigmoid): for such models those two methods are not exact. Empty for ReLU networks.
    A projection lists the same in :attr:`Projection.unhandled`; this makes one for channel 0."""
    return list(project_unit(model, x, layer=layer, channel=0, method="guided").unhandled)


def receptive_box(model: LoadedModel, layer: str, position: tuple[int, int] | None) -> tuple[int, int, int, int]:
    """Input-pixel box (top, left, bottom, right) seen by unit ``position`` of ``layer``; the whole
    input for layers without a spatial grid."""
    height, width = model.input_size
    if position is None:
        return 0, 0, height, width
    field = field_of(model, layer)
    if field is None:
        return 0, 0, height, width
    return field.box(position, (height, width))


def to_display(image: torch.Tensor, mode: str = "symmetric") -> np.ndarray:
    """Projection [C, H, W] -> display array [H, W, C] in [0, 1].

    ``"symmetric"``: 0.5 + 0.5 · value / max|value| (grey = 0, so sign is visible);
    ``"abs"``: |value| / max|value|.
    """
    values = image.detach().float().cpu().numpy().transpose(1, 2, 0)
    scale = float(np.abs(values).max()) or 1.0
    if mode == "symmetric":
        return 0.5 + 0.5 * values / scale
    if mode == "abs":
        return np.abs(values) / scale
    raise ValueError(f"mode must be 'symmetric' or 'abs', not {mode!r}")


def crop(x: torch.Tensor, box: tuple[int, int, int, int]) -> torch.Tensor:
    """The part [C, h, w] of input [1, C, H, W] or [C, H, W] inside ``box`` (top, left, bottom, right)."""
    image = one_image(x, "crop")[0] if x.dim() == 4 else x
    top, left, bottom, right = box
    return image[:, top:bottom, left:right]



def crop_array(array: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The part [h, w(, C)] of an image array [H, W(, C)] inside ``box`` (top, left, bottom, right)."""
    top, left, bottom, right = box
    return array[top:bottom, left:right]


def field_tiles(crops: list[np.ndarray], boxes: list[tuple[int, int, int, int]],
                input_size: tuple[int, int]) -> np.ndarray:
    """Crops [h, w(, C)] of different sizes (receptive fields clipped at the input's border) as equal
    tiles [N, max h, max w(, C)] float32: each crop sits where its field ``box`` (top, left, bottom,
    right) lies in an input of ``input_size`` (height, width), against the border it was clipped at;
    the rest of each tile is NaN."""
    height = max(c.shape[0] for c in crops)
    width = max(c.shape[1] for c in crops)
    tiles = np.full((len(crops), height, width) + crops[0].shape[2:], np.nan, dtype=np.float32)
    for tile, crop, (top, left, bottom, right) in zip(tiles, crops, boxes):
        rows, cols = crop.shape[:2]
        row = height - rows if top == 0 and bottom < input_size[0] else 0
        col = width - cols if left == 0 and right < input_size[1] else 0
        tile[row:row + rows, col:col + cols] = crop
    return tiles
