"""Receptive-field geometry (:class:`Field`) followed through the torch calls of a forward pass.

A ``TorchFunctionMode`` (:class:`FieldTracker`) sees every torch call and carries each tensor's field
with the two axes that hold its grid (the last two, or where a permutation moved them: channels-last
blocks such as ConvNeXt's): convolutions and poolings grow it, paddings (``F.pad`` in any mode, also
inside a module's own ``forward`` as in TensorFlow "SAME" convolutions) and crops (slicing,
``narrow``) shift it, global and adaptive poolings resample it; elementwise ops, additions,
normalisations, channels-last linear layers and concatenations give the union of the fields of the
inputs on the result's grid. A per-channel scale broadcast from a 1×1 map (a squeeze-and-excitation
gate, as in EfficientNet and RegNet) is not on that grid, so it does not widen the field: a unit's
field is that of the convolutional path, although its gate has seen the whole image.
An op whose geometry is not traced and that changes the spatial grid (a transposed convolution,
upsampling, a reshape of a channels-last map, …) gives an estimate marked ``uncertain``, and
everything computed from it stays uncertain.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from cnnviz.core.model.forward import tensors_in


@dataclass(frozen=True)
class Field:
    """Receptive-field geometry of a feature map, per axis (height, width), in input pixels.

    ``size``: side of the input patch one unit sees; ``jump``: input pixels between neighbouring
    units; ``start``: input-pixel coordinate of the centre of unit (0, 0) (may be fractional or
    negative where padding is involved). ``uncertain``: the forward pass went through an op whose
    geometry is only estimated (e.g. a transposed convolution or an upsampling), so the three are
    approximations.
    """

    size: tuple[float, float]
    jump: tuple[float, float]
    start: tuple[float, float]
    uncertain: bool = False

    def box(self, position: tuple[int, int], input_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of unit ``position`` = (row, col) clipped to the input; bottom and
        right are exclusive."""
        bounds = []
        for axis, index in enumerate(position):
            centre = self.start[axis] + index * self.jump[axis]
            half = (self.size[axis] - 1) / 2
            low = max(0, math.floor(centre - half))
            high = min(input_size[axis], math.floor(centre + half) + 1)
            bounds.append((low, high))
        (top, bottom), (left, right) = bounds
        return top, left, bottom, right


_POOLS = {"max_pool2d", "_max_pool2d", "max_pool2d_with_indices", "avg_pool2d"}
_EXACT_SHRINKS = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices",
                  "_adaptive_max_pool2d", "mean", "sum", "amax", "amin", "max", "min", "nanmean", "nansum",
                  "logsumexp", "pixel_unshuffle"}
"""Ops that shrink the grid by pooling r×r windows with stride r (exact when r is a whole number)."""
_UNTRACED = {"conv1d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "fold",
             "grid_sample", "roll", "flip", "fliplr", "flipud", "rot90", "max_unpool2d", "deform_conv2d"}
"""Ops whose geometry is not traced even where they keep the grid's size: their fields are uncertain."""

Rule = Callable[[Field, torch.Tensor, tuple, dict], Field | None]


class FieldTracker(TorchFunctionMode):
    """Carries a :class:`Field` for every tensor of 3 or more axes through the torch calls of one
    forward pass, starting from input ``x`` (field 1 px, jump 1, start 0), with the axes of its grid."""

    def __init__(self, x: torch.Tensor) -> None:
        super().__init__()
        self.fields: dict[int, tuple[torch.Tensor, Field, tuple[int, int]]] = {}
        self.set(x, Field((1.0, 1.0), (1.0, 1.0), (0.0, 0.0)))

    def set(self, tensor: torch.Tensor, field: Field | None, axes: tuple[int, int] | None = None) -> None:
        """Record ``field`` for ``tensor`` with its grid on ``axes`` (None: the last two; a None field
        records nothing)."""
        if field is not None:
            self.fields[id(tensor)] = (tensor, field, axes or _last_two(tensor))

    def get(self, tensor: Any) -> Field | None:
        """The field recorded for ``tensor``, None for anything else."""
        entry = self.entry(tensor)
        return entry[0] if entry is not None else None

    def entry(self, tensor: Any) -> tuple[Field, tuple[int, int]] | None:
        """(field, grid axes) recorded for ``tensor``, None for anything else."""
        entry = self.fields.get(id(tensor)) if isinstance(tensor, torch.Tensor) else None
        return (entry[1], entry[2]) if entry is not None and entry[0] is tensor else None

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        inputs = [(t, *e) for t in tensors_in((args, kwargs)) if (e := self.entry(t)) is not None]
        results = [r for r in tensors_in(out) if r.dim() >= 3]
        if inputs and results:
            self._follow(getattr(func, "__name__", ""), args, kwargs, inputs, results)
        return out

    def _follow(self, name: str, args: tuple, kwargs: dict, inputs: list[tuple[torch.Tensor, Field, tuple[int, int]]],
                results: list[torch.Tensor]) -> None:
        """Record the fields of ``results`` of torch call ``name`` from the tracked ``inputs``."""
        source, field, axes = max(inputs, key=lambda entry: entry[1].size)
        if any(f.uncertain for _, f, _ in inputs):
            field = replace(field, uncertain=True)
        if name in _PERMUTES:
            self.set(results[0], *_permuted(field, axes, source.dim(), args, kwargs))
            return
        standard = source.dim() >= 3 and axes == _last_two(source)
        rule = _RULES.get(name) if standard else None
        traced = rule(field, source, args, kwargs) if rule is not None else None
        if traced is not None:
            self.set(results[0], traced)
            return
        for result in results:
            grid = [(f, a) for t, f, a in inputs if _same_grid(t, a, result)]
            if grid:
                union = _union([f for f, _ in grid])
                self.set(result, replace(union, uncertain=True) if name in _UNTRACED else union, grid[0][1])
            elif source.dim() >= 3:
                estimate = field if standard else replace(field, uncertain=True)
                self.set(result, _resampled_field(estimate, source.shape[-2:], result.shape[-2:], name))


def _last_two(tensor: torch.Tensor) -> tuple[int, int]:
    return tensor.dim() - 2, tensor.dim() - 1


def _same_grid(tensor: torch.Tensor, axes: tuple[int, int], result: torch.Tensor) -> bool:
    """True if ``result`` has ``tensor``'s grid on the same axes (an elementwise op, a concatenation
    along channels, a normalisation, a channels-last linear layer)."""
    return result.dim() == tensor.dim() and all(result.shape[a] == tensor.shape[a] for a in axes)


def _union(fields: list[Field]) -> Field:
    """The field of a unit that sees the units of several maps on one grid (a sum, a concatenation):
    per axis, the smallest input span covering all of theirs, on the finest of their jumps."""
    if len(fields) == 1:
        return fields[0]
    low = _pair(lambda a: min(f.start[a] - (f.size[a] - 1) / 2 for f in fields))
    high = _pair(lambda a: max(f.start[a] + (f.size[a] - 1) / 2 for f in fields))
    return Field(_pair(lambda a: high[a] - low[a] + 1), _pair(lambda a: min(f.jump[a] for f in fields)),
                 _pair(lambda a: (low[a] + high[a]) / 2), any(f.uncertain for f in fields))


def _argument(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def pair_of(value: Any) -> tuple[int, int]:
    """(h, w) of a kernel, stride, padding or dilation given as one int or a sequence of one or two."""
    if isinstance(value, int):
        return value, value
    values = tuple(int(v) for v in value)
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def _pair(value_of: Callable[[int], float]) -> tuple[float, float]:
    """(value_of(0), value_of(1)): one value per axis (height, width)."""
    return value_of(0), value_of(1)


def _advance(field: Field, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
             dilation: tuple[int, int]) -> Field:
    effective = [dilation[a] * (kernel[a] - 1) + 1 for a in range(2)]
    return Field(
        _pair(lambda a: field.size[a] + (effective[a] - 1) * field.jump[a]),
        _pair(lambda a: field.jump[a] * stride[a]),
        _pair(lambda a: field.start[a] + ((effective[a] - 1) / 2 - padding[a]) * field.jump[a]),
        field.uncertain)


def _shifted(field: Field, first: tuple[int, int], step: tuple[int, int] = (1, 1)) -> Field:
    """Field of a grid whose unit (0, 0) is unit ``first`` (row, col; negative inside a padding) of the
    old grid, with ``step`` old units between neighbours: same size, jump × step."""
    return Field(field.size, _pair(lambda a: field.jump[a] * step[a]),
                 _pair(lambda a: field.start[a] + first[a] * field.jump[a]), field.uncertain)


def _conv_field(field: Field, _source: torch.Tensor, args: tuple, kwargs: dict) -> Field:
    weight = _argument(args, kwargs, 1, "weight", None)
    kernel = (int(weight.shape[-2]), int(weight.shape[-1]))
    stride = pair_of(_argument(args, kwargs, 3, "stride", 1))
    dilation = pair_of(_argument(args, kwargs, 5, "dilation", 1))
    padding = _argument(args, kwargs, 4, "padding", 0)
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        padding = tuple(dilation[a] * (kernel[a] - 1) // 2 for a in range(2))
    return _advance(field, kernel, stride, pair_of(padding), dilation)


def _pool_field(field: Field, _source: torch.Tensor, args: tuple, kwargs: dict, dilated: bool = True) -> Field:
    kernel = pair_of(_argument(args, kwargs, 1, "kernel_size", 1))
    stride_value = _argument(args, kwargs, 2, "stride", None)
    stride = kernel if stride_value in (None, [], ()) else pair_of(stride_value)
    padding = pair_of(_argument(args, kwargs, 3, "padding", 0))
    dilation = pair_of(_argument(args, kwargs, 4, "dilation", 1)) if dilated else (1, 1)
    return _advance(field, kernel, stride, padding, dilation)


def _pad_field(field: Field, _source: torch.Tensor, args: tuple, kwargs: dict) -> Field:
    """``F.pad``/``constant_pad_nd``: the pad list runs (left, right, top, bottom, …) from the last axis;
    a negative amount crops. Circular padding wraps the border units' fields round: uncertain."""
    amounts = [int(p) for p in _argument(args, kwargs, 1, "pad", ())]
    before = (amounts[2] if len(amounts) > 2 else 0, amounts[0] if amounts else 0)
    shifted = _shifted(field, (-before[0], -before[1]))
    return replace(shifted, uncertain=True) if _argument(args, kwargs, 2, "mode", None) == "circular" else shifted


def _index_field(field: Field, source: torch.Tensor, args: tuple, kwargs: dict) -> Field | None:
    """``x[...]`` with ints, slices and at most one ``...``, keeping both spatial axes; None otherwise."""
    index = _argument(args, kwargs, 1, "idx", None)
    items = index if isinstance(index, tuple) else (index,)
    simple = all(i is Ellipsis or isinstance(i, slice) or (isinstance(i, int) and not isinstance(i, bool))
                 for i in items)
    ellipses = [k for k, i in enumerate(items) if i is Ellipsis]
    if not simple or len(ellipses) > 1:
        return None
    at = ellipses[0] if ellipses else len(items)
    fill = [slice(None)] * (source.dim() - len(items) + len(ellipses))
    full = [*items[:at], *fill, *items[at + len(ellipses):]]
    spatial = full[-2:]
    if len(full) != source.dim() or not all(isinstance(i, slice) for i in spatial):
        return None
    ranges = [item.indices(int(n)) for item, n in zip(spatial, source.shape[-2:])]
    return _shifted(field, (ranges[0][0], ranges[1][0]), (ranges[0][2], ranges[1][2]))


def _narrow_field(field: Field, source: torch.Tensor, args: tuple, kwargs: dict) -> Field:
    """``narrow(dim, start, length)``: a crop along one axis."""
    dim = int(_argument(args, kwargs, 1, "dim", 0)) % source.dim()
    start = int(_argument(args, kwargs, 2, "start", 0))
    first = [0, 0]
    axis = dim - (source.dim() - 2)
    if axis >= 0:
        first[axis] = start if start >= 0 else start + int(source.shape[dim])
    return _shifted(field, (first[0], first[1]))


def _permuted(field: Field, axes: tuple[int, int], rank: int, args: tuple,
              kwargs: dict) -> tuple[Field, tuple[int, int]]:
    """``permute``/``transpose`` of a tensor with ``rank`` axes and its grid on ``axes``: the same
    field on the axes the grid moves to; where height and width end up swapped as the last two
    axes, the field's axes swap too (the grid is then read as (height, width) again)."""
    order = list(range(rank))
    if "dims" in kwargs or (len(args) > 1 and not isinstance(args[1], int)) or len(args) > 3:
        dims = kwargs.get("dims", args[1] if len(args) == 2 else args[1:])
        order = [int(d) % rank for d in dims]
    else:
        first, second = (int(_argument(args, kwargs, k + 1, key, 0)) % rank for k, key in enumerate(("dim0", "dim1")))
        order[first], order[second] = order[second], order[first]
    moved = (order.index(axes[0]), order.index(axes[1]))
    if moved == (rank - 1, rank - 2):
        return Field(field.size[::-1], field.jump[::-1], field.start[::-1], field.uncertain), (rank - 2, rank - 1)
    return field, moved


def _resampled_field(field: Field, size_in: torch.Size, size_out: torch.Size, name: str = "") -> Field:
    """Field after an op without a rule of its own: the same field where the grid keeps its size,
    else a resampling by the size ratio r, treated as an r×r pooling window with stride r.

    That is exact for a global or adaptive pooling by a whole factor (a global pooling sees the whole
    input); every other change of the grid, and every op of :data:`_UNTRACED`, gives an uncertain field.
    """
    if tuple(size_in) == tuple(size_out):
        return replace(field, uncertain=True) if name in _UNTRACED else field
    kernel, stride = [], []
    for axis in range(2):
        ratio = size_in[axis] / max(1, size_out[axis])
        kernel.append(max(1, math.ceil(ratio)))
        stride.append(ratio)
    exact = name in _EXACT_SHRINKS and all(r >= 1 and float(r).is_integer() for r in stride)
    return Field(_pair(lambda a: field.size[a] + (kernel[a] - 1) * field.jump[a]),
                 _pair(lambda a: field.jump[a] * stride[a]),
                 _pair(lambda a: field.start[a] + (kernel[a] - 1) / 2 * field.jump[a]),
                 field.uncertain or not exact)


_RULES: dict[str, Rule] = {
    "conv2d": _conv_field,
    **dict.fromkeys(_POOLS - {"avg_pool2d"}, _pool_field),
    "avg_pool2d": lambda field, source, args, kwargs: _pool_field(field, source, args, kwargs, dilated=False),
    "pad": _pad_field, "constant_pad_nd": _pad_field,
    "__getitem__": _index_field,
    "narrow": _narrow_field,
}
_PERMUTES = {"permute", "transpose", "swapaxes", "swapdims"}
"""Ops that move axes: the grid's axes are followed (:func:`_permuted`)."""
