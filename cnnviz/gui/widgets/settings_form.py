"""A form built from an analysis's frozen ``Settings`` dataclass: one control per field, chosen by the
field's type and :class:`~cnnviz.core.settings.Meta`, that reads back typed, checked settings.

:func:`widget_for` gives a field's control: a check box for a bool; a spin box for a number (range from
``low``/``high``, suffix from ``unit``; an optional number shows ``Meta.none`` as the special value text
one step below the least value, which reads back as None); a combo box for a text with choices (item data
= the value; an optional one starts with a None item); a line edit for free text and for tuples
(comma-separated, parsed as ``cnnviz run --set`` parses them). Every control gets the field's label as
its accessible name and its help and accepted values as its tooltip.

:class:`SettingsForm` lays such controls out (a pane may give its own control for a field: a widget
:func:`~cnnviz.gui.widgets.control_values.read` and ``write`` handle, or a
:class:`~cnnviz.gui.widgets.control_values.Custom`), gives :meth:`SettingsForm.values` and
:meth:`SettingsForm.settings`, sets settings back reporting problems per field, emits ``changed`` with
the field's name and registers its controls in a pane's registry
(:class:`~cnnviz.gui.runtime.control_state.Controls`) as typed, JSON-ready settings.
"""

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Protocol, TypeGuard

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.settings import Info, checked, info, infos, parse_text
from cnnviz.gui.widgets.control_values import Control, Custom, Value, changed_signal, read, write

INT_LIMIT = 2**31 - 1
"""Bound of an integer spin box whose setting has none (Qt's spin boxes hold 32-bit integers)."""
FLOAT_LIMIT = 1e9
"""Bound of a number spin box whose setting has none."""
MAX_DECIMALS = 6
"""Most decimals a number spin box shows."""
SEPARATOR = ", "
"""Between the items of a tuple setting in its line edit."""

Titles = Mapping[Any, str]
"""Shown text by value: a combo box's item titles, and (key None) the text shown for None."""


class Registry(Protocol):
    """What :meth:`SettingsForm.register` registers controls in (a pane's
    :class:`~cnnviz.gui.runtime.control_state.Controls`): its ``key`` names its widgets."""

    key: str

    def add(self, name: str, control: Control) -> Any:
        """Register ``control`` as setting ``name``."""


def tooltip(entry: Info) -> str:
    """The tooltip of setting ``entry``: its help, then what it accepts (:meth:`Info.describe`)."""
    return f"{entry.meta.help}\n({entry.describe()})"


def none_text(entry: Info, titles: Titles | None = None) -> str:
    """What an optional setting shows for None: the title given for None, else ``Meta.none``, else "auto"."""
    return (titles or {}).get(None) or entry.meta.none or "auto"


def widget_for(entry: Info, titles: Titles | None = None) -> QWidget:
    """A control for setting ``entry`` (see the module docstring) showing its default; ``titles`` (value ->
    text) names a combo box's items and (key None) the None value."""
    widget: QWidget
    if entry.item is not None:
        widget = QLineEdit()
        widget.setPlaceholderText(none_text(entry, titles) if entry.optional else "comma-separated")
    elif entry.base is bool:
        widget = QCheckBox(entry.meta.label)
    elif entry.base in (int, float):
        widget = _int_spin(entry) if entry.base is int else _float_spin(entry)
        widget.setSpecialValueText(none_text(entry, titles) if entry.optional else "")
        if entry.meta.unit:
            widget.setSuffix(" " + entry.meta.unit)
        widget.setKeyboardTracking(False)  # valueChanged once the number is typed, not at every key
    elif entry.meta.choices:
        widget = _combo(entry, titles or {})
    else:
        widget = QLineEdit()
        if entry.optional:
            widget.setPlaceholderText(none_text(entry, titles))
    widget.setToolTip(tooltip(entry))
    widget.setAccessibleName(entry.meta.label)
    show_value(entry, widget, entry.default)
    return widget


def _int_spin(entry: Info) -> QSpinBox:
    spin = QSpinBox()
    low = -INT_LIMIT if entry.meta.low is None else math.ceil(entry.meta.low)
    high = INT_LIMIT if entry.meta.high is None else math.floor(entry.meta.high)
    set_spin_range(spin, low, high, entry.optional)
    return spin


def _float_spin(entry: Info) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    low = -FLOAT_LIMIT if entry.meta.low is None else float(entry.meta.low)
    high = FLOAT_LIMIT if entry.meta.high is None else float(entry.meta.high)
    step = float_step(low, high, entry.default)
    shown = [step, low] + ([entry.default] if entry.default is not None else [])
    spin.setDecimals(max(2, *map(_decimals, shown)))
    spin.setSingleStep(step)
    set_spin_range(spin, low, high, entry.optional)
    return spin


def float_step(low: float, high: float, default: float | None) -> float:
    """The arrow-key step of a number in ``low``…``high``: a power of ten about a hundredth of the range
    (1 for an unbounded one), no coarser than the default's leading digit, in 1e-6…10."""
    step = 10.0 ** math.floor(math.log10((high - low) / 100)) if FLOAT_LIMIT > high > low > -FLOAT_LIMIT else 1.0
    if default:
        step = min(step, 10.0 ** math.floor(math.log10(abs(default))))
    return min(10.0, max(10.0**-MAX_DECIMALS, step))


def _decimals(number: float) -> int:
    """Decimals needed to show ``number`` exactly (at most :data:`MAX_DECIMALS`)."""
    return next((d for d in range(MAX_DECIMALS) if math.isclose(round(number, d), number, abs_tol=1e-12)),
                MAX_DECIMALS)


def _combo(entry: Info, titles: Titles) -> QComboBox:
    combo = QComboBox()
    if entry.optional:
        combo.addItem(none_text(entry, titles), None)
    for value in entry.meta.choices:
        combo.addItem(titles.get(value, str(value)), value)
    return combo


def set_spin_range(spin: QSpinBox | QDoubleSpinBox, low: float, high: float, with_none: bool) -> None:
    """Let ``spin`` take ``low``…``high``; ``with_none``: its least value, one step (1, or the single step of
    a number box) below ``low``, is the None value (shown as the special value text)."""
    gap = 1 if isinstance(spin, QSpinBox) else spin.singleStep()
    least = low - gap if with_none else low
    if isinstance(spin, QSpinBox):
        spin.setRange(max(-INT_LIMIT - 1, int(least)), min(INT_LIMIT, int(high)))
    else:
        spin.setRange(least, high)


def shows_none(entry: Info, control: Control) -> bool:
    """True if ``control`` shows None for setting ``entry``: an optional setting's spin box at its special
    value, its combo box at the None item, or its empty line edit."""
    if not entry.optional:
        return False
    if isinstance(control, (QSpinBox, QDoubleSpinBox)):
        return bool(control.specialValueText()) and control.value() == control.minimum()
    if isinstance(control, QComboBox):
        return control.currentIndex() >= 0 and control.currentData() is None
    return isinstance(control, QLineEdit) and not control.text().strip()


def field_value(entry: Info, control: Control) -> Any:
    """The value of setting ``entry`` that ``control`` shows, typed as the setting is (None for the none
    value, a tuple for a list); raises ValueError naming the field for text that does not parse."""
    if shows_none(entry, control):
        return None
    raw = read(control)
    if isinstance(raw, str) and (isinstance(control, QLineEdit) or entry.item is not None or entry.base is not str):
        return parse_text(entry, raw)
    return tuple(raw) if isinstance(raw, list) else raw


def show_value(entry: Info, control: Control, value: Value) -> None:
    """Show ``value`` (typed, JSON-ready, or command-line text) of setting ``entry`` in ``control`` as a
    user change would; raises ValueError naming the field for a value the setting or the control (a
    range narrowed by :func:`set_spin_range`, a combo box's items) does not take."""
    if isinstance(value, str) and (entry.item is not None or entry.base is not str or entry.optional):
        value = parse_text(entry, value)
    value = checked(entry, value)
    if isinstance(control, QLineEdit):
        control.setText(SEPARATOR.join(map(str, value)) if isinstance(value, tuple) else
                        "" if value is None else str(value))
    elif value is None and entry.optional and isinstance(control, (QSpinBox, QDoubleSpinBox, QComboBox)):
        _show_none(entry, control)
    else:
        if entry.optional and _spin_with_none(control):
            _check_above_none(entry, control, value)
        try:
            write(control, list(value) if isinstance(value, tuple) else value)
        except ValueError as error:
            raise ValueError(f"{entry.name}: {error}") from None


def _spin_with_none(control: Control) -> TypeGuard[QSpinBox | QDoubleSpinBox]:
    return isinstance(control, (QSpinBox, QDoubleSpinBox)) and bool(control.specialValueText())


def _show_none(entry: Info, control: QSpinBox | QDoubleSpinBox | QComboBox) -> None:
    if isinstance(control, QComboBox):
        index = next((i for i in range(control.count()) if control.itemData(i) is None), -1)
        if index < 0:
            raise ValueError(f"{entry.name}: a value is needed (the control offers no {none_text(entry)!r})")
        control.setCurrentIndex(index)
        control.activated.emit(index)
    elif not control.specialValueText():
        raise ValueError(f"{entry.name}: a value is needed (the control offers no {none_text(entry)!r})")
    else:
        to_minimum(control)


def to_minimum(spin: QSpinBox | QDoubleSpinBox) -> None:
    """Set ``spin`` to its least value (an optional setting's None value)."""
    if isinstance(spin, QSpinBox):
        spin.setValue(spin.minimum())
    else:
        spin.setValue(spin.minimum())


def _check_above_none(entry: Info, control: QSpinBox | QDoubleSpinBox, value: float) -> None:
    """Refuse a number at or below the None value of an optional setting's spin box, or above its maximum."""
    if not control.minimum() < value <= control.maximum():
        gap = 1 if isinstance(control, QSpinBox) else control.singleStep()
        raise ValueError(f"{entry.name}: {value:g} is outside {control.minimum() + gap:g}…{control.maximum():g}")


def field_rows(pairs: Sequence[Sequence[QWidget]], per_row: int | None = None) -> list[QHBoxLayout]:
    """Horizontal rows of ``pairs`` (each a field's label and control, or its check box alone), ``per_row``
    fields to a row (None: all in one), each ending in a stretch, for a pane's toolbar."""
    size = per_row or max(1, len(pairs))
    rows = []
    for start in range(0, max(1, len(pairs)), size):
        row = QHBoxLayout()
        for pair in pairs[start:start + size]:
            for widget in pair:
                row.addWidget(widget)
        row.addStretch(1)
        rows.append(row)
    return rows


class SettingsForm(QWidget):
    """The controls of the fields ``fields`` (names, in order; default: every field) of the settings class
    ``settings_cls``, laid out in rows of ``per_row`` fields (None: one row; ``stacked``: a label column
    instead), showing ``initial`` (default: the class's defaults). ``overrides``: a pane's own control for a
    field (a widget read and set by type, or a :class:`Custom`; a Custom is not laid out: the pane places
    its widget); ``titles``: {field: {value: shown text}} for combo box items and (key None) a None value.
    ``changed(name)`` is emitted when a field's value changes, by the user or by :meth:`set_values`."""

    changed = Signal(str)

    def __init__(self, settings_cls: type, *, fields: Sequence[str] | None = None,
                 overrides: Mapping[str, Control] | None = None, titles: Mapping[str, Titles] | None = None,
                 initial: Any = None, per_row: int | None = None, stacked: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings_cls = settings_cls
        names = [entry.name for entry in infos(settings_cls)] if fields is None else list(fields)
        self.entries: dict[str, Info] = {name: info(settings_cls, name) for name in names}
        self.controls: dict[str, Control] = {}
        self.labels: dict[str, QLabel | None] = {}
        self._writing = False
        for name, entry in self.entries.items():
            given = overrides or {}
            self._adopt(entry, given[name] if name in given else widget_for(entry, (titles or {}).get(name)))
        problems = self.set_settings(initial if initial is not None else settings_cls())
        if problems:
            raise ValueError("; ".join(problems.values()))
        self._lay_out(per_row, stacked)

    def _adopt(self, entry: Info, control: Control) -> None:
        self.controls[entry.name] = control
        label = None
        if isinstance(control, QWidget):
            control.setToolTip(control.toolTip() or tooltip(entry))
            control.setAccessibleName(control.accessibleName() or entry.meta.label)
            if not (isinstance(control, QAbstractButton) and control.text()):
                label = QLabel(entry.meta.label)
                label.setBuddy(control)
                label.setToolTip(control.toolTip())
        self.labels[entry.name] = label
        signal = changed_signal(control)
        if signal is not None:
            signal.connect(lambda *_args, name=entry.name: self._relay(name))

    def _relay(self, name: str) -> None:
        control = self.controls[name]
        if isinstance(control, QLineEdit):
            if not control.isModified():  # editing finished without an edit
                return
            control.setModified(False)
        if not self._writing:
            self.changed.emit(name)

    def _lay_out(self, per_row: int | None, stacked: bool) -> None:
        pairs = [pair for pair in map(self.pair, self.names) if pair]
        if stacked:
            form = QFormLayout(self)
            form.setContentsMargins(0, 0, 0, 0)
            for pair in pairs:
                form.addRow(*pair)
            return
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        for row in field_rows(pairs, per_row):
            column.addLayout(row)

    @property
    def names(self) -> tuple[str, ...]:
        """The fields in the form, in order."""
        return tuple(self.entries)

    def widget(self, name: str) -> Control:
        """The control of field ``name`` (a widget, or a pane's :class:`Custom`)."""
        return self.controls[self._known(name)]

    def label(self, name: str) -> QLabel | None:
        """The label of field ``name`` (its :attr:`Meta.label`, the control its buddy); None for a check box
        (its own text is the label) and a :class:`Custom`."""
        return self.labels[self._known(name)]

    def pair(self, name: str) -> tuple[QWidget, ...]:
        """What shows field ``name``: (label, control), (check box,), or () for a :class:`Custom`."""
        control, label = self.controls[self._known(name)], self.labels[name]
        if not isinstance(control, QWidget):
            return ()
        return (control,) if label is None else (label, control)

    def add_widgets(self, *widgets: QWidget, row: int = -1) -> None:
        """Add a pane's ``widgets`` (a Run button, an Auto check box) at the end of row ``row`` (before its
        stretch), or as rows of their own in a stacked form."""
        layout = self.layout()
        if isinstance(layout, QFormLayout):
            for widget in widgets:
                layout.addRow(widget)
            return
        assert isinstance(layout, QVBoxLayout)
        item = layout.itemAt(row % layout.count())
        line = item.layout() if item is not None else None
        assert isinstance(line, QHBoxLayout)
        for widget in widgets:
            line.insertWidget(line.count() - 1, widget)

    def value(self, name: str) -> Any:
        """The typed value of field ``name`` (None for the none value, a tuple for a list); ValueError naming
        the field for text that does not parse."""
        return field_value(self.entries[self._known(name)], self.controls[name])

    def values(self) -> dict[str, Any]:
        """Every field's typed value by name (see :meth:`value`)."""
        return {name: self.value(name) for name in self.names}

    def json_value(self, name: str) -> Value:
        """The value of field ``name`` as a session stores it (tuples as lists; text that does not parse as
        it is, which loading drops)."""
        try:
            value = self.value(name)
        except ValueError:
            return read(self.controls[name])
        return list(value) if isinstance(value, tuple) else value

    def settings(self, **fixed: Any) -> Any:
        """The settings the form shows, with ``fixed`` values for other fields (e.g. ``layer``; they win
        over the form's); raises the settings class's ValueError naming the field."""
        return self.settings_cls(**(self.values() | fixed))

    def set_value(self, name: str, value: Value) -> None:
        """Show ``value`` (typed, JSON-ready or command-line text) in field ``name``, emitting ``changed``
        if it changes; ValueError naming the field for a value it does not take (nothing changes then)."""
        before = self.json_value(self._known(name))
        self._writing = True
        try:
            show_value(self.entries[name], self.controls[name], value)
        finally:
            self._writing = False
        if self.json_value(name) != before:
            self.changed.emit(name)

    def set_values(self, values: Mapping[str, Value]) -> dict[str, str]:
        """Set the fields named in ``values`` (see :meth:`set_value`); returns {name: reason} for those that
        could not be set (unknown names included), the others are set."""
        problems = {}
        for name, value in values.items():
            try:
                self.set_value(name, value)
            except (KeyError, TypeError, ValueError) as error:
                problems[name] = error.args[0] if isinstance(error, KeyError) else str(error)
        return problems

    def set_settings(self, settings: Any) -> dict[str, str]:
        """Show the fields of ``settings`` (an instance of the settings class) that are in the form; returns
        {name: reason} for those that could not be shown (see :meth:`set_values`)."""
        return self.set_values({name: getattr(settings, name) for name in self.names})

    def set_range(self, name: str, low: float, high: float) -> None:
        """Narrow the spin box of number field ``name`` to ``low``…``high`` (within the field's own range, e.g.
        a window no larger than the input); a value outside moves to the nearest end, None stays None."""
        entry, spin = self.entries[self._known(name)], self.controls[name]
        if not isinstance(spin, (QSpinBox, QDoubleSpinBox)):
            raise TypeError(f"{name}: the control is a {type(spin).__name__}, not a spin box")
        was_none = shows_none(entry, spin)
        with_none = entry.optional and bool(spin.specialValueText())
        set_spin_range(spin, low, high, with_none)
        if was_none:
            to_minimum(spin)

    def control(self, name: str) -> Custom:
        """Field ``name`` as a setting for a pane's registry: read as :meth:`json_value`, set by
        :meth:`set_value`, its change signal the control's own."""
        control = self.controls[self._known(name)]
        return Custom(partial(self.json_value, name), partial(self.set_value, name), changed_signal(control))

    def register(self, registry: Registry) -> None:
        """Register every field under its name in ``registry`` (a pane's ``Controls``), naming each widget
        ``<registry key>_<name>`` unless it has a name."""
        for name in self.names:
            widget = self.controls[name]
            if isinstance(widget, QWidget) and not widget.objectName():
                widget.setObjectName(f"{registry.key}_{name}")
            registry.add(name, self.control(name))

    def _known(self, name: str) -> str:
        if name not in self.entries:
            raise KeyError(f"{name}: not in this form; fields: {', '.join(self.names)}")
        return name
