"""The layer table of a model (shapes, parameter counts, receptive fields) and activation capture.

Receptive fields are followed through the real forward pass by :mod:`cnnviz.core.model.receptive`: a
``TorchFunctionMode`` sees every torch call (convolutions, poolings, paddings, crops, additions,
concatenations, functional ReLUs, permutes) and carries each tensor's receptive field, so branching
networks (ResNet, GoogLeNet, Inception, DenseNet), channels-last blocks (ConvNeXt) and convolutions
that pad inside their own ``forward`` get the right numbers too.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cnnviz.core.model.forward import first_tensor, forward_to
from cnnviz.core.model.hooks import HookSet, eval_and_frozen
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.model.receptive import Field, FieldTracker, pair_of
from cnnviz.core.tables import csv_text

UNCERTAIN_MARK = "≈"
"""Prefix of a receptive field or jump cell whose field is only estimated (:attr:`Field.uncertain`)."""


@dataclass(frozen=True)
class LayerRow:
    """One row of the layer table.

    ``output_shape`` excludes the batch axis (None if the forward pass did not call the layer);
    ``kernel``/``stride``/``padding`` are (h, w) pairs or None; ``receptive_field`` and ``jump`` are in
    input pixels (the larger of the two axes) or None where the output has no spatial grid;
    ``calls`` counts how often one forward pass called the layer (shapes and fields are of the last).
    Where :attr:`field_uncertain`, the two are estimates (the table marks them with "≈").
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

    @property
    def field_uncertain(self) -> bool:
        """True where the forward pass to this layer went through an op whose receptive-field
        geometry is only estimated (:attr:`Field.uncertain`)."""
        return self.field is not None and self.field.uncertain


def _module_geometry(module: nn.Module) -> tuple[Any, Any, Any]:
    if not isinstance(module, (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd,
                               nn.modules.pooling._AvgPoolNd)):
        return None, None, None
    kernel = pair_of(module.kernel_size)
    stride_value = module.stride
    stride = kernel if stride_value in (None, [], ()) else pair_of(stride_value)
    padding = module.padding
    if isinstance(padding, str):
        padding = (0, 0) if padding == "valid" else tuple((k - 1) // 2 for k in kernel)
    return kernel, stride, pair_of(padding)


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
    tracker = FieldTracker(x)
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

    def geometry(value: int | None) -> str:
        if value is None:
            return ""
        return f"{UNCERTAIN_MARK}{value}" if row.field_uncertain else str(value)

    shape = "×".join(map(str, row.output_shape)) if row.output_shape else ""
    return [row.name, row.type, shape, str(row.weights), str(row.biases), str(row.params),
            pair(row.kernel), pair(row.stride), pair(row.padding), geometry(row.receptive_field), geometry(row.jump)]


HEADERS = ["Layer", "Type", "Output shape", "Weights", "Biases", "Params", "Kernel", "Stride",
           "Padding", "Receptive field (px)", "Jump (px)"]


def table_cells(rows: list[LayerRow]) -> list[list[str]]:
    """The table as text cells (one list per row, columns as :data:`HEADERS`), plus a totals row;
    estimated receptive fields and jumps start with :data:`UNCERTAIN_MARK`."""
    sums = totals(rows)
    total_row = ["Total", "", "", str(sums["weights"]), str(sums["biases"]), str(sums["params"]),
                 "", "", "", "", ""]
    return [_cells(r) for r in rows] + [total_row]


def to_csv(rows: list[LayerRow]) -> str:
    """The table with a header and totals row as CSV text."""
    return csv_text(HEADERS, table_cells(rows))


def to_markdown(rows: list[LayerRow]) -> str:
    """The table with a header and totals row as a Markdown table."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_cells(rows)]
    return "\n".join(lines) + "\n"
