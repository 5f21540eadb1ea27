"""What the Attribution pane remembers between runs (QSettings, under ``attribution/``): the mode, the
methods checked, the classes mode's method, every method's parameters, whether the curves are computed,
and the display (signed or absolute, colormap, opacity). The randomisation test, being slow, is never
switched on by itself."""

import json

from cnnviz.gui.panes.attribution.controls import CompareControls, DisplayRow
from cnnviz.gui.panes.attribution.params import ParamForm
from cnnviz.gui.runtime import settings_store

PREFIX = "attribution/"


def save_compare(compare: CompareControls) -> None:
    """Remember the mode, the methods checked and the classes mode's method."""
    settings_store.save_text(PREFIX + "mode", compare.mode)
    settings_store.save_text(PREFIX + "methods", ",".join(compare.checked()))
    settings_store.save_text(PREFIX + "class_method", compare.class_method)


def save_params(form: ParamForm) -> None:
    """Remember the parameters of ``form``'s method."""
    settings_store.save_text(f"{PREFIX}params/{form.method}", json.dumps(form.values()))


def save_display(row: DisplayRow, metrics: bool) -> None:
    """Remember the display and whether the curves are computed."""
    settings_store.save_text(PREFIX + "display", row.display)
    settings_store.save_text(PREFIX + "colormap", row.colormap_picker.name())
    settings_store.save_float(PREFIX + "opacity", row.opacity)
    settings_store.save_text(PREFIX + "metrics", "true" if metrics else "false")


def restore(compare: CompareControls, forms: dict[str, ParamForm], row: DisplayRow) -> bool:
    """Set the controls to what was remembered (the defaults where nothing was); returns whether the
    curves are computed."""
    methods = settings_store.load_text(PREFIX + "methods", "")
    if methods:
        compare.set_checked(methods.split(","))
    compare.set_class_method(settings_store.load_text(PREFIX + "class_method", compare.class_method))
    compare.set_mode(settings_store.load_text(PREFIX + "mode", compare.mode))
    for method, form in forms.items():
        text = settings_store.load_text(f"{PREFIX}params/{method}", "")
        try:
            values = json.loads(text) if text else {}
        except ValueError:
            values = {}
        if isinstance(values, dict):
            form.set_values(values)
    row.set_display(settings_store.load_text(PREFIX + "display", row.display))
    try:
        row.colormap_picker.set_name(settings_store.load_text(PREFIX + "colormap", row.colormap_picker.name()))
    except KeyError:
        pass
    row.opacity_slider.setValue(round(100 * settings_store.load_float(PREFIX + "opacity", row.opacity)))
    return settings_store.load_text(PREFIX + "metrics", "true") != "false"
