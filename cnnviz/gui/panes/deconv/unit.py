"""Which unit the Deconvnet pane projects: a channel (None: the strongest on the image) and a position in its map
(None: the channel's strongest), following the shared selection, a click on the map, or the pane's settings.

The unit is part of the pane's settings as the deconv analysis's ``channel``, ``row`` and ``col`` (None: the
strongest), so that a session reopens the same projection: :meth:`UnitChoice.settings` gives them and
:meth:`UnitChoice.apply` sets them back (checked as the analysis checks them and against the layer's shape), in
place of the shared selection until that changes.
"""

from collections.abc import Callable

from cnnviz.analyses import deconv as unit_analysis
from cnnviz.core.settings import from_json
from cnnviz.gui.panes.parts.layer_binding import LayerBinding
from cnnviz.gui.panes.parts.settings_binding import ApplyExtraSettings
from cnnviz.gui.panes.tool_pane import same_request
from cnnviz.gui.runtime.control_state import Value
from cnnviz.gui.widgets.layer_picker import LayerChoice

UNIT_SETTINGS = ("channel", "row", "col")
Unit = tuple[int | None, tuple[int, int] | None]
"""A unit to project: (channel, (row, col)); None for the strongest."""


def unit_from_settings(values: dict[str, Value], choice: LayerChoice | None) -> tuple[Unit | None, dict[str, str]]:
    """The unit that settings ``channel``, ``row`` and ``col`` name (checked as the deconv analysis's and
    against the ``choice`` layer's shape [C] or [C, H, W]), or None and {name: reason} for what is wrong."""
    chosen, dropped = from_json(unit_analysis.Settings, values)
    if dropped:
        return None, {name if name != "*" else "row": reason for name, reason in dropped.items()}
    channel, row, col = chosen.channel, chosen.row, chosen.col
    if choice is None:
        return (channel, None if row is None or col is None else (row, col)), {}
    if channel is not None and channel >= choice.channels:
        return None, {"channel": f"{choice.name} has no channel {channel} ({choice.channels} channels)"}
    if row is None or col is None or choice.is_vector:
        return (channel, None), {}
    if not (row < choice.shape[1] and col < choice.shape[2]):
        return None, {"row": f"({row}, {col}) is outside {choice.name}'s {choice.shape[1]}×{choice.shape[2]} map"}
    return (channel, (row, col)), {}


class UnitChoice:
    """The unit of ``layers``' layer to project (see the module docstring): ``channel`` and ``position`` (None:
    the strongest). ``unknown(values, strict)`` answers settings of other names; ``changed()`` shows a new unit."""

    def __init__(self, layers: LayerBinding, unknown: ApplyExtraSettings, changed: Callable[[], None]) -> None:
        self.layers, self._unknown, self._changed = layers, unknown, changed
        self.channel: int | None = None
        self.position: tuple[int, int] | None = None
        self._selection_for: tuple | None = None
        self._restored: tuple[str, Unit] | None = None  # (layer, unit) set from settings, not yet shown

    def clear(self) -> None:
        """The strongest unit, following the shared selection again (a new model)."""
        self.channel = self.position = None
        self._selection_for = self._restored = None

    def settings(self) -> dict[str, Value]:
        """The unit projected (or about to be, from settings) as ``channel``, ``row`` and ``col`` (None: the
        strongest)."""
        channel, position = self._restored[1] if self._restored else (self.channel, self.position)
        row, col = (int(position[0]), int(position[1])) if position is not None else (None, None)
        return {"channel": None if channel is None else int(channel), "row": row, "col": col}

    def apply(self, values: dict[str, Value], strict: bool) -> dict[str, str]:
        """Project the unit of the layer named by ``channel``, ``row`` and ``col`` among ``values`` (in place of
        the shared selection, once the current input is there, unless the selection changes first); other names
        are unknown settings."""
        values = dict(values)
        unit = {name: values.pop(name) for name in UNIT_SETTINGS if name in values}
        problems = self._unknown(values, strict)
        if unit:
            restored, wrong = unit_from_settings(unit, self.layers.choice)
            problems |= wrong
            if restored is not None:
                self._restored, self._selection_for = (self.layers.layer, restored), None
                self._changed()
        return problems

    def choose_position(self, position: tuple[int, int] | None) -> None:
        """Project the unit at ``position`` (row, col) of the channel's map (None: its strongest position)."""
        self.position = position
        self._changed()

    def selection_changed(self) -> None:
        """The shared channel changed: follow it, not a unit set from settings."""
        self._restored = None

    def follow(self) -> None:
        """Take the shared channel and position (None: the strongest) when the layer, input, channel or shared
        position changed; the unit set from settings instead, the first time with an input."""
        state = self.layers.state
        channel = self.layers.state_channel()
        position = state.position if channel is not None else None
        key = (state.model, state.input_tensor, self.layers.layer, channel, position)
        if same_request(key, self._selection_for):
            return
        self._selection_for = key
        self.channel, self.position = channel, position
        if self._restored is not None and state.input_tensor is not None:
            (layer, unit), self._restored = self._restored, None
            if layer == self.layers.layer:
                self.channel, self.position = unit
