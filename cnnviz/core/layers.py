"""The layer table of a model (shapes, parameter counts, receptive fields) and activation capture.

Receptive fields are followed through the real forward pass: a ``TorchFunctionMode`` sees every torch
call (convolutions, poolings, additions, concatenations, functional ReLUs, permutes) and carries each
tensor's receptive field, so branching networks (ResNet, GoogLeNet, Inception, DenseNet) and
channels-last blocks (ConvNeXt) get the right numbers too. A per-channel scale broadcast from a 1×1
map (a squeeze-and-excitation gate, as in EfficientNet and RegNet) does not widen the field: a unit's
field is that of the convolutional path, although its gate has seen the whole image.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from cnnviz.core.forward import first_tensor, forward_to, tensors_in
from cnnviz.core.hooks import HookSet, eval_and_frozen
from cnnviz.core.loaded_model import LoadedModel


@dataclass(frozen=True)
class Field:
    """Receptive-field geometry of a feature map, per axis (height, width), in input pixels.

    ``size``: side of the input patch one unit sees; ``jump``: input pixels between neighbouring
    units; ``start``: input-pixel coordinate of the centre of unit (0, 0) (may be fractional or
    negative where padding is involved).
    """

    size: tuple[float, float]
    jump: tuple[float, float]
    start: tuple[float, float]

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


@dataclass(frozen=True)
class LayerRow:
    """One row of the layer table.

    ``output_shape`` excludes the batch axis (None if the forward pass did not call the layer);
    ``kernel``/``stride``/``padding`` are (h, w) pairs or None; ``receptive_field`` and ``jump`` are in
    input pixels (the larger of the two axes) or None where the output has no spatial grid;
    ``calls`` counts how often one forward pass called the layer (shapes and fields are of the last).
    """

    name: str
    type: str
    output_shape: tuple[int, ...] | None
    weights: int
    biases: int
    params: int
    kernel: tuple[int, int] | None
    stride: tuple[int, int] | None
    padding: tuple[int, int] | None
    receptive_field: int | None
    jump: int | None
    field: Field | None = None
    calls: int = 1


_POOLS = {"max_pool2d", "_max_pool2d", "max_pool2d_with_indices", "avg_pool2d"}
_ADAPTIVE = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices",
             "_adaptive_max_pool2d"}


class _FieldTracker(TorchFunctionMode):
    """Carries a :class:`Field` for every tensor with a spatial grid through the torch calls of one
    forward pass, with the axes that hold that grid (height, width): the last two, or where a
    ``permute`` moved them (channels-last blocks such as ConvNeXt's)."""

    def __init__(self, x: torch.Tensor) -> None:
        super().__init__()
        self.fields: dict[int, tuple[torch.Tensor, Field, tuple[int, int]]] = {}
        self.set(x, Field((1.0, 1.0), (1.0, 1.0), (0.0, 0.0)), (x.dim() - 2, x.dim() - 1))

    def set(self, tensor: torch.Tensor, field: Field | None, axes: tuple[int, int]) -> None:
        if field is not None:
            self.fields[id(tensor)] = (tensor, field, axes)

    def entry(self, tensor: Any) -> tuple[Field, tuple[int, int]] | None:
        """(field, grid axes) of ``tensor``, or None for a tensor without a tracked grid."""
        entry = self.fields.get(id(tensor)) if isinstance(tensor, torch.Tensor) else None
        return (entry[1], entry[2]) if entry is not None and entry[0] is tensor else None

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        inputs = [(t, e) for t in tensors_in((args, kwargs)) if (e := self.entry(t)) is not None]
        if not inputs:
            return out
        name = getattr(func, "__name__", "")
        for result in tensors_in(out):
            if result.dim() >= 3:
                self._follow(name, args, kwargs, inputs, result)
                break
        return out

    def _follow(self, name: str, args: tuple, kwargs: dict,
                inputs: list[tuple[torch.Tensor, tuple[Field, tuple[int, int]]]], result: torch.Tensor) -> None:
        """Set the field of ``result``, made by torch call ``name`` from the tracked ``inputs``: the
        union of the fields of the inputs on its grid, or the largest input's field carried through
        a convolution, a pooling or a resampling."""
        grid = [(t, f, axes) for t, (f, axes) in inputs if _same_grid(t, axes, result)]
        if name == "permute":
            source, (field, axes) = inputs[0]
            self.set(result, field, _permuted(axes, source.dim(), args, kwargs))
        elif grid and name not in _POOLS and name != "conv2d":
            self.set(result, _union([f for _, f, _ in grid]), grid[0][2])
        else:
            source, (field, axes) = max(inputs, key=lambda pair: pair[1][0].size)
            if source.dim() < 3 or axes != (source.dim() - 2, source.dim() - 1):
                return
            if name == "conv2d":
                field = _conv_field(field, args, kwargs)
            elif name in _POOLS:
                field = _pool_field(field, args, kwargs, dilated=name != "avg_pool2d")
            else:
                field = _resampled_field(field, source.shape[-2:], result.shape[-2:])
            self.set(result, field, (result.dim() - 2, result.dim() - 1))


def _union(fields: list[Field]) -> Field:
    """The field of a unit that sees the units of several maps on one grid (a sum, a concatenation):
    per axis, the smallest input span covering all of theirs, on the finest of their jumps."""
    if len(fields) == 1:
        return fields[0]
    low = _pair(lambda a: min(f.start[a] - (f.size[a] - 1) / 2 for f in fields))
    high = _pair(lambda a: max(f.start[a] + (f.size[a] - 1) / 2 for f in fields))
    return Field(_pair(lambda a: high[a] - low[a] + 1), _pair(lambda a: min(f.jump[a] for f in fields)),
                 _pair(lambda a: (low[a] + high[a]) / 2))


def _same_grid(tensor: torch.Tensor, axes: tuple[int, int], result: torch.Tensor) -> bool:
    """True if ``result`` has ``tensor``'s grid on the same axes (an elementwise op, a concatenation,
    a normalisation or a channels-last linear layer)."""
    return (result.dim() == tensor.dim() and tensor.dim() >= 3
            and all(result.shape[a] == tensor.shape[a] for a in axes))


def _permuted(axes: tuple[int, int], rank: int, args: tuple, kwargs: dict) -> tuple[int, int]:
    """Where ``Tensor.permute(dims)`` / ``torch.permute`` (dims given as one sequence or one by one)
    puts grid ``axes`` of a tensor with ``rank`` axes."""
    dims = kwargs.get("dims", args[1:])
    if len(dims) == 1 and not isinstance(dims[0], int):
        dims = dims[0]
    order = [int(d) % rank for d in dims]
    return order.index(axes[0]), order.index(axes[1])


def _argument(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _pair_of(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    values = tuple(int(v) for v in value)
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def _advance(field: Field, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
             dilation: tuple[int, int]) -> Field:
    effective = [dilation[a] * (kernel[a] - 1) + 1 for a in range(2)]
    return Field(
        _pair(lambda a: field.size[a] + (effective[a] - 1) * field.jump[a]),
        _pair(lambda a: field.jump[a] * stride[a]),
        _pair(lambda a: field.start[a] + ((effective[a] - 1) / 2 - padding[a]) * field.jump[a]))


def _pair(value_of: Callable[[int], float]) -> tuple[float, float]:
    """(value_of(0), value_of(1)): one value per axis (height, width)."""
    return value_of(0), value_of(1)


def _conv_field(field: Field, args: tuple, kwargs: dict) -> Field:
    weight = _argument(args, kwargs, 1, "weight", None)
    kernel = (int(weight.shape[-2]), int(weight.shape[-1]))
    stride = _pair_of(_argument(args, kwargs, 3, "stride", 1))
    dilation = _pair_of(_argument(args, kwargs, 5, "dilation", 1))
    padding = _argument(args, kwargs, 4, "padding", 0)
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        padding = tuple(dilation[a] * (kernel[a] - 1) // 2 for a in range(2))
    return _advance(field, kernel, stride, _pair_of(padding), dilation)


def _pool_field(field: Field, args: tuple, kwargs: dict, dilated: bool) -> Field:
    kernel = _pair_of(_argument(args, kwargs, 1, "kernel_size", 1))
    stride_value = _argument(args, kwargs, 2, "stride", None)
    stride = kernel if stride_value in (None, [], ()) else _pair_of(stride_value)
    padding = _pair_of(_argument(args, kwargs, 3, "padding", 0))
    dilation = _pair_of(_argument(args, kwargs, 4, "dilation", 1)) if dilated else (1, 1)
    return _advance(field, kernel, stride, padding, dilation)


def _resampled_field(field: Field, size_in: torch.Size, size_out: torch.Size) -> Field:
    """Field after an op that keeps (elementwise, concatenation) or resamples the spatial grid.

    A shrink by a factor r (adaptive or global pooling, mean over space) is treated as an r×r pooling
    window with stride r, so a global pooling sees the whole input.
    """
    if tuple(size_in) == tuple(size_out):
        return field
    kernel, stride = [], []
    for axis in range(2):
        ratio = size_in[axis] / max(1, size_out[axis])
        kernel.append(max(1, math.ceil(ratio)))
        stride.append(ratio)
    return Field(_pair(lambda a: field.size[a] + (kernel[a] - 1) * field.jump[a]),
                 _pair(lambda a: field.jump[a] * stride[a]),
                 _pair(lambda a: field.start[a] + (kernel[a] - 1) / 2 * field.jump[a]))


def _module_geometry(module: nn.Module) -> tuple[Any, Any, Any]:
    if not isinstance(module, (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd,
                               nn.modules.pooling._AvgPoolNd)):
        return None, None, None
    kernel = _pair_of(module.kernel_size)
    stride_value = module.stride
    stride = kernel if stride_value in (None, [], ()) else _pair_of(stride_value)
    padding = module.padding
    if isinstance(padding, str):
        padding = (0, 0) if padding == "valid" else tuple((k - 1) // 2 for k in kernel)
    return kernel, stride, _pair_of(padding)


@dataclass(frozen=True)
class LayerTrace:
    """What one forward pass showed of a module: ``calls``, the last call's ``output_shape``
    (without batch) and its receptive-field geometry ``field`` (None where not spatial).
    ``channels_last``: True where that output is [H, W, C] (the grid moved by a permute, as inside
    ConvNeXt's blocks) rather than [C, H, W]."""

    calls: int
    output_shape: tuple[int, ...] | None
    field: Field | None
    channels_last: bool = False


def trace(model: LoadedModel | nn.Module, *, input_size: tuple[int, int] | None = None,
          in_channels: int | None = None) -> dict[str, LayerTrace]:
    """Every submodule the forward pass calls (containers too), in call order, with its trace.

    One forward pass in eval mode on a zero input [1, C, H, W]; ``input_size``/``in_channels``
    default to the model's (a bare ``nn.Module`` needs both). Cached on a :class:`LoadedModel`.
    """
    if isinstance(model, LoadedModel):
        size = input_size or model.input_size
        input_size = (int(size[0]), int(size[1]))
        in_channels = in_channels or model.in_channels
        key = ("trace", input_size, in_channels)
        if key not in model.cache:
            model.cache[key] = trace(model.module, input_size=input_size, in_channels=in_channels)
        return dict(model.cache[key])
    if input_size is None or in_channels is None:
        raise ValueError("a bare nn.Module needs input_size and in_channels")
    module = model
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    x = torch.zeros(1, in_channels, *input_size, device=device)
    tracker = _FieldTracker(x)
    seen: dict[str, dict[str, Any]] = {}

    def recorder(name: str):
        def record(_sub: nn.Module, _inputs: Any, output: Any) -> None:
            tensor = first_tensor(output)
            entry = seen.setdefault(name, {"calls": 0})
            entry["calls"] += 1
            entry["shape"] = tuple(tensor.shape[1:]) if tensor is not None else None
            grid = tracker.entry(tensor) if tensor is not None and tensor.dim() >= 3 else None
            entry["field"] = grid[0] if grid else None
            entry["channels_last"] = grid is not None and tensor is not None and tensor.dim() == 4 and grid[1] == (1, 2)

        return record

    def entered(name: str):
        def enter(_sub: nn.Module, _inputs: Any) -> None:
            seen.setdefault(name, {"calls": 0})

        return enter

    with HookSet() as hooks, eval_and_frozen(module), torch.no_grad():
        for name, sub in module.named_modules():
            if name:
                hooks.add(sub.register_forward_pre_hook(entered(name)))
                hooks.add(sub.register_forward_hook(recorder(name)))
        with tracker:
            module(x)
    return {name: LayerTrace(e["calls"], e.get("shape"), e.get("field"), e.get("channels_last", False))
            for name, e in seen.items()}


def layer_table(model: LoadedModel | nn.Module, *, input_size: tuple[int, int] | None = None,
                in_channels: int | None = None) -> list[LayerRow]:
    """One row per layer (leaf module, or any module holding parameters itself), in forward order.

    ``input_size`` (H, W) defaults to the model's; for a bare ``nn.Module`` give ``input_size`` and
    ``in_channels``. Layers the forward pass never calls (e.g. auxiliary heads in eval mode) come
    last with ``output_shape`` None, so the parameter totals equal torch's count.
    """
    traced = trace(model, input_size=input_size, in_channels=in_channels)
    module = model.module if isinstance(model, LoadedModel) else model
    listed = {name: sub for name, sub in module.named_modules() if name and (
        not any(True for _ in sub.children()) or any(True for _ in sub.parameters(recurse=False)))}
    ordered = [name for name in traced if name in listed]
    ordered += [name for name in listed if name not in traced]
    return [_row(name, listed[name], traced.get(name)) for name in ordered]


def _row(name: str, module: nn.Module, traced: LayerTrace | None) -> LayerRow:
    own = dict(module.named_parameters(recurse=False))
    weights = own["weight"].numel() if "weight" in own else 0
    biases = own["bias"].numel() if "bias" in own else 0
    kernel, stride, padding = _module_geometry(module)
    field = traced.field if traced else None
    return LayerRow(
        name=name, type=type(module).__name__,
        output_shape=traced.output_shape if traced else None,
        weights=weights, biases=biases, params=sum(p.numel() for p in own.values()),
        kernel=kernel, stride=stride, padding=padding,
        receptive_field=round(max(field.size)) if field else None,
        jump=round(max(field.jump)) if field else None,
        field=field, calls=traced.calls if traced else 0,
    )


def called_once(model: LoadedModel, layer: str) -> bool:
    """True unless one forward pass calls ``layer`` several times (a reused module); from the cached
    :func:`trace`. A layer the trace did not see counts as called once."""
    traced = trace(model).get(layer)
    return traced is None or traced.calls <= 1


def field_of(model: LoadedModel, layer: str) -> Field | None:
    """Receptive-field geometry of ``layer``'s output (None for non-spatial outputs)."""
    traced = trace(model)
    if layer not in traced:
        raise KeyError(f"the forward pass of {model.name} does not call {layer!r}")
    return traced[layer].field


def capture(model: LoadedModel, x: torch.Tensor, *, layers: str | Sequence[str], stop_early: bool = False,
            keep_graph: bool = False) -> dict[str, torch.Tensor]:
    """Outputs of ``layers`` (one name or several) for input ``x`` [N, C, H, W], in one forward pass
    in eval mode (the module's modes and ``requires_grad`` flags are restored after).

    Tensors are copies (an in-place ReLU after a conv does not change the conv's captured output),
    detached unless ``keep_graph``; for a layer called several times, the last call's output is kept.
    ``stop_early`` ends the pass after every named layer has run once (faster for early layers).
    Raises KeyError for a name that is not a submodule or that the forward pass did not call.
    """
    return forward_to(model, x, layers=layers, stop_early=stop_early, keep_graph=keep_graph).outputs


def totals(rows: list[LayerRow]) -> dict[str, int]:
    """Sums of weights, biases and params over the table."""
    return {key: sum(getattr(r, key) for r in rows) for key in ("weights", "biases", "params")}


def _cells(row: LayerRow) -> list[str]:
    def pair(value: tuple[int, int] | None) -> str:
        if value is None:
            return ""
        return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"

    shape = "×".join(map(str, row.output_shape)) if row.output_shape else ""
    return [row.name, row.type, shape, str(row.weights), str(row.biases), str(row.params),
            pair(row.kernel), pair(row.stride), pair(row.padding),
            "" if row.receptive_field is None else str(row.receptive_field),
            "" if row.jump is None else str(row.jump)]


HEADERS = ["Layer", "Type", "Output shape", "Weights", "Biases", "Params", "Kernel", "Stride",
           "Padding", "Receptive field (px)", "Jump (px)"]


def table_cells(rows: list[LayerRow]) -> list[list[str]]:
    """The table as text cells (one list per row, columns as :data:`HEADERS`), plus a totals row."""
    sums = totals(rows)
    total_row = ["Total", "", "", str(sums["weights"]), str(sums["biases"]), str(sums["params"]),
                 "", "", "", "", ""]
    return [_cells(r) for r in rows] + [total_row]


def to_csv(rows: list[LayerRow]) -> str:
    """The table with a header and totals row as CSV text."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADERS)
    writer.writerows(table_cells(rows))
    return buffer.getvalue()


def to_markdown(rows: list[LayerRow]) -> str:
    """The table with a header and totals row as a Markdown table."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_cells(rows)]
    return "\n".join(lines) + "\n"
